"""The engine inside PostgreSQL: transition and final functions of the training and validation
aggregates (infra/sql/20-train.sql), model initialisation and averaging.

A model comes from one of three sources, named by the aggregate's first argument:
  {"table": name}           the segment's local models table (UDAF): read once, written back once
  {"file": path, "seed": s} a checkpoint in the shared model store (CTQ): read (or created from the
                            seed when absent) once, written back atomically once
  inline bytea              the model itself as an argument (MA, CTQ with models in the DB): the
                            trained model is returned by the final function
Whatever the source, the model stays in the backend's memory (PL/Python's GD) for the whole
aggregate and is never re-serialised per buffer. Every interval is measured here and returned as
spans with the aggregate's result:
  engine-init  importing torch in this backend (once per backend)
  model-hop    reading / writing the model and (de)serialising it
  data         the gap between two transition calls (the DBMS scanning, de-TOASTing and converting
               the next buffer) plus the engine's decoding of it
  train/valid  the engine's own optimisation / evaluation loop
"""
import json
import os
import struct
import time

_pending_import_span = []


def _now_ms():
    return time.time() * 1000.0


def _engine(GD, threads):
    """The trainer module, imported once per backend; the import's cost is reported once."""
    if 'bench_engine_trainer' not in GD:
        start = _now_ms()
        from bench_engine import trainer, runtime
        runtime.set_threads(int(threads))
        GD['bench_engine_trainer'] = trainer
        _pending_import_span.append({'kind': 'engine-init', 'start': start, 'end': _now_ms()})
    return GD['bench_engine_trainer']


def _plan(GD, plpy, key, sql, types):
    plans = GD.setdefault('bench_plans', {})
    if key not in plans:
        plans[key] = plpy.prepare(sql, types)
    return plans[key]


def _quote_ident(name):
    """A table of the public schema: postgres_fdw runs remote statements with search_path =
    pg_catalog, so names must be qualified."""
    return 'public."' + name.replace('"', '""') + '"'


class _Entry:
    """One aggregate's running state."""

    def __init__(self, model, source, config_id, spans):
        self.model = model
        self.source = source
        self.config = config_id
        self.spans = spans
        self.loss_sum = 0.0
        self.correct = 0
        self.examples = 0
        self.last_end = _now_ms()


def _open(GD, plpy, kind, source, config_id, spec, meta_json, inline_model):
    meta = json.loads(meta_json)
    trainer_mod = _engine(GD, meta.get('threads', 1))
    config = json.loads(spec)
    shape, classes = meta['inputShape'], meta['classes']
    start = _now_ms()
    size = 0
    # A finished aggregate's trainer is recycled (no model rebuilt per statement); popped so that
    # two groups of one statement, aggregated interleaved, never share it.
    spare = GD.pop('bench_spare_trainer', None)
    if inline_model is not None:
        size = len(inline_model)
        model = trainer_mod.Trainer.from_bytes(inline_model, config, shape, classes, reuse=spare)
    elif 'table' in source:
        table = source['table']
        plan = _plan(GD, plpy, 'load:' + table, 'SELECT state FROM %s WHERE config = $1' % _quote_ident(table), ['int4'])
        rows = plpy.execute(plan, [config_id])
        if len(rows) != 1:
            raise RuntimeError('model %d is not on this segment (%d rows in %s)' % (config_id, len(rows), table))
        size = len(rows[0]['state'])
        model = trainer_mod.Trainer.from_bytes(rows[0]['state'], config, shape, classes, reuse=spare)
    elif 'file' in source:
        path = source['file']
        if os.path.exists(path):
            size = os.path.getsize(path)
            model = trainer_mod.Trainer.load(path, config, shape, classes, reuse=spare)
        elif kind == 'train':
            model = trainer_mod.Trainer.create(config, shape, classes, int(source['seed']))
        else:
            raise RuntimeError('no checkpoint for config %d at %s' % (config_id, path))
    else:
        raise ValueError('unknown model source %r' % (source,))
    spans = list(_pending_import_span)
    del _pending_import_span[:]
    spans.append({'kind': 'model-hop', 'start': start, 'end': _now_ms(), 'bytes': size})
    return _Entry(model, source, config_id, spans)


def _step(GD, plpy, kind, state, source_json, config_id, spec, meta_json, x, y, n, inline_model=None):
    now = _now_ms()
    if state is None:
        source = json.loads(source_json) if source_json else {}
        entry = _open(GD, plpy, kind, source, config_id, spec, meta_json, inline_model)
        state = '%s:%d:%d' % (kind, config_id, id(entry))
        GD[state] = entry
    else:
        entry = GD[state]
        entry.spans.append({'kind': 'data', 'start': entry.last_end, 'end': now})
    if kind == 'train':
        result = entry.model.train_buffer(x, y, n)
    else:
        result = entry.model.validate_buffer(x, y, n)
        entry.correct += result['correct']
    entry.loss_sum += result['loss_sum']
    entry.examples += result['examples']
    entry.spans.extend(result['spans'])
    entry.last_end = _now_ms()
    return state


def _save(GD, plpy, entry):
    """Write a trained model back to its table or file; returns its size."""
    start = _now_ms()
    if 'table' in entry.source:
        blob = entry.model.to_bytes()
        table = entry.source['table']
        plan = _plan(GD, plpy, 'save:' + table, 'UPDATE %s SET state = $1 WHERE config = $2' % _quote_ident(table), ['bytea', 'int4'])
        plpy.execute(plan, [blob, entry.config])
        size = len(blob)
    else:
        size = entry.model.save(entry.source['file'])
    entry.spans.append({'kind': 'model-hop', 'start': start, 'end': _now_ms(), 'bytes': size})
    return size


def _retire(GD, entry):
    GD['bench_spare_trainer'] = entry.model


def _result(entry, **extra):
    """The result as JSON the TS side parses with parseHeader (a diverged loss stays NaN/Infinity)."""
    from bench_engine.frames import encode_header
    out = {'config': entry.config, 'lossSum': entry.loss_sum, 'examples': entry.examples, 'spans': entry.spans}
    out.update(extra)
    return bytes(encode_header(out)).decode('utf-8')


def train_transition(GD, plpy, state, source, config_id, spec, meta, x, y, n):
    return _step(GD, plpy, 'train', state, source, config_id, spec, meta, x, y, n)


def train_final(GD, plpy, state):
    if state is None:
        return None
    entry = GD.pop(state)
    size = _save(GD, plpy, entry)
    _retire(GD, entry)
    return _result(entry, modelBytes=size)


def train_inline_transition(GD, plpy, state, model, config_id, spec, meta, x, y, n):
    return _step(GD, plpy, 'train', state, None, config_id, spec, meta, x, y, n, inline_model=model)


def train_inline_final(GD, plpy, state):
    """The result JSON and the trained model, framed: u32 LE JSON length, JSON, model bytes."""
    if state is None:
        return None
    entry = GD.pop(state)
    start = _now_ms()
    blob = entry.model.to_bytes()
    entry.spans.append({'kind': 'model-hop', 'start': start, 'end': _now_ms(), 'bytes': len(blob)})
    header = _result(entry, modelBytes=len(blob)).encode('utf-8')
    _retire(GD, entry)
    return struct.pack('<I', len(header)) + header + blob


def valid_transition(GD, plpy, state, source, config_id, spec, meta, x, y, n):
    return _step(GD, plpy, 'valid', state, source, config_id, spec, meta, x, y, n)


def valid_inline_transition(GD, plpy, state, model, config_id, spec, meta, x, y, n):
    return _step(GD, plpy, 'valid', state, None, config_id, spec, meta, x, y, n, inline_model=model)


def valid_final(GD, plpy, state):
    if state is None:
        return None
    entry = GD.pop(state)
    _retire(GD, entry)
    return _result(entry, correct=entry.correct)


def init_model(GD, spec, meta_json, seed):
    meta = json.loads(meta_json)
    trainer_mod = _engine(GD, meta.get('threads', 1))
    del _pending_import_span[:]
    return trainer_mod.Trainer.create(json.loads(spec), meta['inputShape'], meta['classes'], seed).to_bytes()


def average(GD, models, weights):
    trainer_mod = _engine(GD, 1)
    del _pending_import_span[:]
    return trainer_mod.average_bytes(models, weights)
