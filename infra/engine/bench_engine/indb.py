"""The engine inside PostgreSQL: transition and final functions of the training and validation
aggregates (infra/sql/20-train.sql) and model initialisation.

The model stays in the backend's memory (PL/Python's GD) for the whole aggregate: it is read once
from the segment's local models table when the first buffer arrives and written back once by the
final function, never re-serialised per buffer. Every interval is measured here and returned as
spans with the aggregate's result, so the harness can account for it:
  engine-init  importing torch in this backend (once per backend)
  model-hop    reading / writing the model row and (de)serialising it
  data         the gap between two transition calls: the DBMS scanning, de-TOASTing and converting
               the next buffer, plus the engine's decoding of it
  train/valid  the engine's own optimisation / evaluation loop
"""
import json
import time

_IMPORT_SPAN = None


def _now_ms():
    return time.time() * 1000.0


def _engine(GD):
    """Import the engine once per backend and remember what the import cost."""
    global _IMPORT_SPAN
    if 'bench_engine_trainer' not in GD:
        start = _now_ms()
        from bench_engine import trainer, runtime
        threads = int(GD.get('bench_threads', 1))
        runtime.set_threads(threads)
        GD['bench_engine_trainer'] = trainer
        _IMPORT_SPAN = {'kind': 'engine-init', 'start': start, 'end': _now_ms()}
    return GD['bench_engine_trainer']


def _take_import_span():
    global _IMPORT_SPAN
    span, _IMPORT_SPAN = _IMPORT_SPAN, None
    return [span] if span else []


def _plan(GD, plpy, key, sql, types):
    plans = GD.setdefault('bench_plans', {})
    if key not in plans:
        plans[key] = plpy.prepare(sql, types)
    return plans[key]


def _quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def _load(GD, plpy, models_table, config_id, spec, meta):
    trainer_mod = _engine(GD)
    start = _now_ms()
    plan = _plan(GD, plpy, 'load:' + models_table,
                 'SELECT state FROM %s WHERE config = $1' % _quote_ident(models_table), ['int4'])
    rows = plpy.execute(plan, [config_id])
    if len(rows) != 1:
        raise RuntimeError('model %d is not on this segment (%d rows in %s)' % (config_id, len(rows), models_table))
    blob = rows[0]['state']
    model = trainer_mod.Trainer.from_bytes(blob, json.loads(spec), meta['inputShape'], meta['classes'])
    return model, {'kind': 'model-hop', 'start': start, 'end': _now_ms(), 'bytes': len(blob)}


def train_transition(GD, plpy, state, models_table, config_id, spec, meta_json, x, y, n):
    now = _now_ms()
    if state is None:
        meta = json.loads(meta_json)
        GD['bench_threads'] = meta.get('threads', 1)
        spans = _take_import_span()
        model, load_span = _load(GD, plpy, models_table, config_id, spec, meta)
        spans.extend(_take_import_span())
        spans.append(load_span)
        key = 'train:%s:%d' % (models_table, config_id)
        GD[key] = {'model': model, 'spans': spans, 'loss_sum': 0.0, 'examples': 0, 'last_end': _now_ms(),
                   'config': config_id, 'table': models_table}
        state = key
    else:
        entry = GD[state]
        entry['spans'].append({'kind': 'data', 'start': entry['last_end'], 'end': now})
    entry = GD[state]
    result = entry['model'].train_buffer(x, y, n)
    entry['loss_sum'] += result['loss_sum']
    entry['examples'] += result['examples']
    entry['spans'].extend(result['spans'])
    entry['last_end'] = _now_ms()
    return state


def train_final(GD, plpy, state):
    if state is None:
        return None
    entry = GD.pop(state)
    start = _now_ms()
    blob = entry['model'].to_bytes()
    plan = _plan(GD, plpy, 'save:' + entry['table'],
                 'UPDATE %s SET state = $1 WHERE config = $2' % _quote_ident(entry['table']), ['bytea', 'int4'])
    plpy.execute(plan, [blob, entry['config']])
    entry['spans'].append({'kind': 'model-hop', 'start': start, 'end': _now_ms(), 'bytes': len(blob)})
    return json.dumps({'config': entry['config'], 'lossSum': entry['loss_sum'], 'examples': entry['examples'],
                       'modelBytes': len(blob), 'spans': entry['spans']})


def valid_transition(GD, plpy, state, models_table, config_id, spec, meta_json, x, y, n):
    now = _now_ms()
    if state is None:
        meta = json.loads(meta_json)
        GD['bench_threads'] = meta.get('threads', 1)
        spans = _take_import_span()
        model, load_span = _load(GD, plpy, models_table, config_id, spec, meta)
        spans.extend(_take_import_span())
        spans.append(load_span)
        key = 'valid:%s:%d' % (models_table, config_id)
        GD[key] = {'model': model, 'spans': spans, 'loss_sum': 0.0, 'correct': 0, 'examples': 0,
                   'last_end': _now_ms(), 'config': config_id}
        state = key
    else:
        entry = GD[state]
        entry['spans'].append({'kind': 'data', 'start': entry['last_end'], 'end': now})
    entry = GD[state]
    result = entry['model'].validate_buffer(x, y, n)
    entry['loss_sum'] += result['loss_sum']
    entry['correct'] += result['correct']
    entry['examples'] += result['examples']
    entry['spans'].extend(result['spans'])
    entry['last_end'] = _now_ms()
    return state


def valid_final(GD, plpy, state):
    if state is None:
        return None
    entry = GD.pop(state)
    return json.dumps({'config': entry['config'], 'lossSum': entry['loss_sum'], 'correct': entry['correct'],
                       'examples': entry['examples'], 'spans': entry['spans']})


def init_model(GD, spec, meta_json, seed):
    meta = json.loads(meta_json)
    trainer_mod = _engine(GD)
    return trainer_mod.Trainer.create(json.loads(spec), meta['inputShape'], meta['classes'], seed).to_bytes()
