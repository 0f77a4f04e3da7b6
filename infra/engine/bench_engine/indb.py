"""The engine inside PostgreSQL: the one aggregate `bench_step` (infra/sql/20-train.sql) trains or
validates one model over a segment's packed buffers, wherever the model lives, plus the engine's
warm-up and model averaging (MA). See docs/indb.md for how the approaches use it.

A task, the aggregate's first argument (JSON, the same for every row of a group):
  kind         'train' or 'valid'
  config       the config id; spec: the config; meta: {inputShape, classes, threads}
  seed         initialises the model when its source holds none yet (at version 0)
  version      the version the task expects the model at (sub-epochs trained so far); a model
               found at another version is an error, never trained
  model        where the model lives:
                 {"table": name}  the segment's local models table, one row per config
                                  (config, state, version, units): udaf, ctq --models-in db, ma
                 {"file": path}   a checkpoint in the shared model store (ctq); its header's
                                  `units` is the version
  writeBack    train: write the trained model back to its source at version + 1, with the
               unit's result (a resume that finds the model ahead of its event log records it)
  returnModel  train: append the trained model to the result (ma averages them)
  cache        a data table name, or null: buffers come from this backend's cache of the
               table (x and y arrive NULL), filled by one scan of the table on the first miss
  segment      the segment this runs on, recorded with the version it makes

The result (bytea): u32 LE length of a JSON header, the header {config, version, lossSum,
examples, correct, modelBytes, spans}, then the trained model when returnModel. version is the
model's version after the task. Spans, all measured here:
  engine-init  importing torch in this backend (once; normally in the warm-up, bench_engine_warm)
  model-hop    reading and writing the model (labelled valid in a validation: part of it)
  data         the DBMS producing the next buffer (scan, de-TOAST, conversion) and decoding it,
               or filling the cache
  train/valid  the engine's own loops
"""
import json
import os
import struct
import time

_U32 = struct.Struct('<I')
_TRAINER = 'bench_engine_trainer'
_IMPORT_SPANS = 'bench_engine_import'
_CACHE = 'bench_buffer_cache'
_OPEN = 'bench_open_steps'
_SPARE = 'bench_spare_trainer'


class TaskError(Exception):
    """A task that must not run (model missing, at another version, ...): the message reaches
    the coordinator as the statement's error."""


def _now_ms():
    return time.time() * 1000.0


def _engine(GD, threads):
    """The trainer module, imported once per backend; the import's span is kept until reported."""
    trainer = GD.get(_TRAINER)
    if trainer is None:
        start = _now_ms()
        from bench_engine import runtime
        from bench_engine import trainer
        runtime.set_threads(int(threads))
        GD[_TRAINER] = trainer
        GD[_IMPORT_SPANS] = [{'kind': 'engine-init', 'start': start, 'end': _now_ms()}]
    return trainer


def _plan(GD, plpy, sql, types):
    plans = GD.setdefault('bench_plans', {})
    if sql not in plans:
        plans[sql] = plpy.prepare(sql, types)
    return plans[sql]


def _qualified(name):
    """A table of the public schema: postgres_fdw runs remote statements with search_path =
    pg_catalog, so names are qualified."""
    return 'public."' + name.replace('"', '""') + '"'


def warm(GD, meta_json):
    """Import the engine in this backend and set its threads (the run's start-up phase)."""
    meta = json.loads(meta_json)
    _engine(GD, meta.get('threads', 1))
    import torch
    spans = GD.pop(_IMPORT_SPANS, [])
    return json.dumps({'spans': spans, 'pid': os.getpid(), 'threads': torch.get_num_threads()})


class _Step:
    """One group's running state: the model, the task, the sums and the spans."""

    def __init__(self, task, trainer, statement, spans):
        self.task = task
        self.trainer = trainer
        self.statement = statement
        self.spans = spans
        self.train = task['kind'] == 'train'
        self.buffers = None
        self.loss_sum = 0.0
        self.correct = 0
        self.examples = 0
        self.last_end = _now_ms()


def _load_model(GD, plpy, engine, task, spare):
    """(Trainer, bytes read) of the task's model, at the version the task expects."""
    source = task['model']
    config_id = int(task['config'])
    expected = int(task['version'])
    spec = task['spec']
    shape, classes = task['meta']['inputShape'], task['meta']['classes']
    trainer = None
    state = None
    if 'table' in source:
        sql = 'SELECT state, version FROM %s WHERE config = $1' % _qualified(source['table'])
        rows = plpy.execute(_plan(GD, plpy, sql, ['int4']), [config_id])
        if len(rows) != 1:
            raise TaskError('the model of config %d is not on this segment (%d rows in %s)'
                            % (config_id, len(rows), source['table']))
        version, state = int(rows[0]['version']), rows[0]['state']
        where = 'in %s' % source['table']
    elif 'file' in source:
        path = source['file']
        version = 0
        if os.path.exists(path):
            trainer = engine.Trainer.load(path, spec, shape, classes, reuse=spare)
            version = trainer.units
        where = 'at %s' % path
    else:
        raise TaskError('unknown model source %r' % (source,))
    if version != expected:
        raise TaskError('the model of config %d %s is at version %d; the statement expects version %d'
                        % (config_id, where, version, expected))
    if trainer is not None:
        return trainer, os.path.getsize(source['file'])
    if state is not None:
        return engine.Trainer.from_bytes(state, spec, shape, classes, reuse=spare), len(state)
    if version != 0 or task['kind'] != 'train':
        raise TaskError('config %d has no model %s to %s at version %d'
                        % (config_id, where, 'train' if task['kind'] == 'train' else 'validate', version))
    return engine.Trainer.create(spec, shape, classes, int(task['seed'])), 0


def _open(GD, plpy, task):
    engine = _engine(GD, task['meta'].get('threads', 1))
    # Groups a failed statement left open are dropped (one statement's groups share its timestamp).
    statement = plpy.execute(_plan(GD, plpy, 'SELECT statement_timestamp()::text AS t', []))[0]['t']
    open_steps = GD.setdefault(_OPEN, {})
    for key in [k for k, step in open_steps.items() if step.statement != statement]:
        del open_steps[key]
    spans = GD.pop(_IMPORT_SPANS, [])
    start = _now_ms()
    # A finished group's trainer is recycled (no model built per statement); popped so that two
    # groups of one statement, aggregated interleaved, never share it.
    trainer, size = _load_model(GD, plpy, engine, task, GD.pop(_SPARE, None))
    spans.append({'kind': 'model-hop' if task['kind'] == 'train' else 'valid', 'start': start, 'end': _now_ms(),
                  'bytes': size})
    return _Step(task, trainer, statement, spans)


def _cached_buffers(GD, plpy, step, table):
    """The backend's decoded buffers of `table` ({buffer_id: (X, Y)}), filled by one scan (a
    'data' span) when this backend has none or the table was made anew since."""
    engine = GD[_TRAINER]
    oid = plpy.execute(_plan(GD, plpy, 'SELECT to_regclass($1)::oid AS oid', ['text']), [_qualified(table)])[0]['oid']
    caches = GD.setdefault(_CACHE, {})
    cached = caches.get(table)
    if cached is not None and cached[0] == oid:
        return cached[1]
    start = _now_ms()
    shape = step.task['meta']['inputShape']
    buffers = {}
    size = 0
    cursor = plpy.cursor('SELECT buffer_id, x, y, n FROM %s' % _qualified(table))
    while True:
        rows = cursor.fetch(16)
        if not rows:
            break
        for row in rows:
            # decode() views the bytes (no copy); the tensors keep them alive.
            buffers[row['buffer_id']] = engine.decode(row['x'], row['y'], row['n'], shape)
            size += len(row['x']) + len(row['y'])
    caches[table] = (oid, buffers)
    step.spans.append({'kind': 'data', 'start': start, 'end': _now_ms(), 'bytes': size})
    return buffers


def _buffer(GD, plpy, step, buffer_id, x, y, n):
    table = step.task.get('cache')
    if table:
        if step.buffers is None:
            step.buffers = _cached_buffers(GD, plpy, step, table)
        if buffer_id not in step.buffers:
            raise TaskError('buffer %d is not in %s' % (buffer_id, table))
        return step.buffers[buffer_id]
    start = _now_ms()
    decoded = GD[_TRAINER].decode(x, y, n, step.task['meta']['inputShape'])
    step.spans.append({'kind': 'data' if step.train else 'valid', 'start': start, 'end': _now_ms()})
    return decoded


def step_transition(GD, plpy, state, task_json, buffer_id, x, y, n):
    now = _now_ms()
    if state is None:
        step = _open(GD, plpy, json.loads(task_json))
        state = 'bench_step:%d' % id(step)
        GD[_OPEN][state] = step
    else:
        step = GD[_OPEN][state]
        step.spans.append({'kind': 'data', 'start': step.last_end, 'end': now})
    X, Y = _buffer(GD, plpy, step, buffer_id, x, y, n)
    if step.train:
        result = step.trainer.train_buffers([(X, Y)])
    else:
        result = step.trainer.validate_buffers([(X, Y)])
        step.correct += result['correct']
    step.loss_sum += result['loss_sum']
    step.examples += result['examples']
    step.spans.extend(result['spans'])
    step.last_end = _now_ms()
    return state


def _write_back(GD, plpy, step, version):
    """Store the trained model at `version` where it came from; returns the bytes written."""
    task = step.task
    source = task['model']
    if 'file' in source:
        return step.trainer.save(source['file'])
    blob = step.trainer.to_bytes()
    sql = ('UPDATE %s SET state = $1, version = $2, units = $3::json WHERE config = $4 AND version = $5'
           % _qualified(source['table']))
    plan = _plan(GD, plpy, sql, ['bytea', 'int4', 'text', 'int4', 'int4'])
    units = json.dumps(step.trainer.last_units)
    done = plpy.execute(plan, [blob, version, units, int(task['config']), int(task['version'])])
    if done.nrows() != 1:
        raise TaskError('could not store config %d at version %d in %s (%d rows matched version %d)'
                        % (task['config'], version, source['table'], done.nrows(), task['version']))
    return len(blob)


def step_final(GD, plpy, state):
    if state is None:
        return None
    step = GD[_OPEN].pop(state)
    task = step.task
    trainer = step.trainer
    version = int(task['version'])
    blob = b''
    size = 0
    if step.train:
        version += 1
        trainer.units = version
        trainer.last_units = [{'segment': task['segment'], 'lossSum': step.loss_sum, 'examples': step.examples}]
        start = _now_ms()
        if task.get('writeBack'):
            size = _write_back(GD, plpy, step, version)
        if task.get('returnModel'):
            blob = trainer.to_bytes()
            size = len(blob)
        step.spans.append({'kind': 'model-hop', 'start': start, 'end': _now_ms(), 'bytes': size})
    GD[_SPARE] = trainer
    from bench_engine.frames import encode_header
    header = bytes(encode_header({
        'config': int(task['config']),
        'version': version,
        'lossSum': step.loss_sum,
        'examples': step.examples,
        'correct': step.correct,
        'modelBytes': size,
        'spans': step.spans,
    }))
    return _U32.pack(len(header)) + header + blob


def average(GD, models, weights):
    """Weighted average of checkpoints (MA), on the coordinator."""
    return _engine(GD, 1).average_bytes(models, weights)
