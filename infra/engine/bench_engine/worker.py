"""A long-lived engine worker: `/usr/bin/python3 -m bench_engine.worker --threads N`.

Speaks frames (bench_engine.frames) on stdin/stdout: one request frame in, one reply frame
out, in order. Requests (header 'op'):

  hello                          -> {ok, pid, torch, device, importSeconds, threads, python}
  load {dataset, inputShape, classes, buffers: [{n, xBytes, yBytes}]}, payload = x then y of
       each buffer: decode and keep in memory (appends; 'clear' empties)
                                 -> {ok, examples, totalExamples, buffers, spans: [data]}
  load_file {dataset, path}: as load, from an engine data file (src/engine/data-file.ts)
  clear {dataset?}               -> {ok, examples}   (no dataset: every dataset)
  init {config, seed, inputShape?, classes?, modelOut?}: a fresh model; written to modelOut,
       else returned as the payload -> {ok, modelBytesOut, spans}
  train {config, seed, modelIn: path|null, modelOut: path, epoch, dataset?, modelVersion?,
       segment?}: load the checkpoint (or create from seed), train once over every in-memory
       buffer of the dataset ('train'), write modelOut atomically with its header's `units` =
       modelVersion (default: the loaded version + 1) and `lastUnits` = this unit's result
                                 -> {ok, lossSum, examples, steps, modelVersion, modelBytesIn,
                                     modelBytesOut, spans: [model-hop | engine-init, train, model-hop]}
  validate {config, modelIn, dataset?}  ('valid') -> {ok, lossSum, correct, examples, spans}
  train_bytes / validate_bytes: as train / validate with the model as the request payload
       (empty: create from seed) and, for train_bytes, the new model as the reply payload
  set_threads {threads}          -> {ok, threads}
  ddp_init {rank, world, masterPort, masterAddr?, backend?, timeoutSeconds?}: join the
       data-parallel process group (bench_engine.ddp; every rank must be sent it concurrently,
       before 'load' on a multi-GPU host)
                                 -> {ok, rank, world, backend, device, initSeconds, spans: [engine-init]}
  ddp_train {config, seed, epoch, dataset?}: one epoch of config over the loaded shard in lock
       step with the other ranks (every rank must be sent it); the replica lives in memory
                                 -> {ok, lossSum, examples, steps, batches, localBatches,
                                     droppedExamples, allreduceBytes, gradientBytes, controlBytes,
                                     allreduceCalls, allreduceSeconds, paramCount, backend,
                                     spans: [engine-init (first epoch), train]}
  ddp_validate {config, epoch?, dataset?}  ('valid') -> as validate, from the in-memory replica
  ddp_checksum {config}          -> {ok, checksum, steps, paramCount}  (equal on every rank)
  ddp_close                      -> {ok}: leave the group, drop the replicas
  exit                           -> {ok}, then the process ends
  debug_exit {code}              test hook: the process dies at once without a reply

Any exception -> {ok: false, error, traceback}; the worker keeps serving. Everything else
the process prints goes to stderr: stdout is reserved for frames.
"""

import os
import sys
import time

_import_start = time.time()
try:
    import torch
except ImportError as _error:  # said plainly; the TypeScript side maps exit code 3
    sys.stderr.write(
        'BENCH_ENGINE_MISSING: %s cannot import torch (%s). Install the engine: '
        'bash infra/setup.sh (or apt-get install python3-torch python3-numpy libopenblas0-openmp)\n'
        % (sys.executable, _error)
    )
    sys.stderr.flush()
    sys.exit(3)
import numpy  # noqa: F401  (part of the engine's import cost; torch.frombuffer needs no numpy)

from . import __version__
from .frames import FrameError, read_header, read_payload, write_frame_fd
from .models import architecture_key
from .runtime import describe_device, set_threads
from .trainer import Trainer, decode_buffers, now_ms

IMPORT_SECONDS = time.time() - _import_start
EXIT_MISSING_TORCH = 3



def _count_unit(trainer, header, result):
    """The model's version (sub-epochs trained; the request's modelVersion when it says) and this
    unit's result go into the checkpoint header, so a resume can tell which version a file holds."""
    version = header.get('modelVersion')
    trainer.units = int(version) if version is not None else trainer.units + 1
    trainer.last_units = [{'segment': header.get('segment'), 'lossSum': result['loss_sum'],
                           'examples': result['examples']}]


def _train_reply(header, result, bytes_in, bytes_out, spans, trainer):
    return {
        'ok': True,
        'epoch': header.get('epoch'),
        'lossSum': result['loss_sum'],
        'examples': result['examples'],
        'steps': result['steps'],
        'modelVersion': trainer.units,
        'modelBytesIn': bytes_in,
        'modelBytesOut': bytes_out,
        'spans': spans,
    }


def _validate_reply(header, result, bytes_in, spans):
    return {
        'ok': True,
        'epoch': header.get('epoch'),
        'lossSum': result['loss_sum'],
        'correct': result['correct'],
        'examples': result['examples'],
        'modelBytesIn': bytes_in,
        'spans': spans,
    }


class Dataset:
    def __init__(self, input_shape, classes):
        self.input_shape = [int(d) for d in input_shape]
        self.classes = int(classes)
        self.buffers = []  # (X, Y) pairs, views of the payloads kept below
        self.payloads = []
        self.examples = 0


class Worker:
    def __init__(self, threads):
        self.threads = set_threads(threads)
        self.datasets = {}
        # Trainers whose requests finished, by architecture: the next request for the same
        # architecture loads its checkpoint into the same module instead of building one.
        self.idle_trainers = {}
        # Membership of a data-parallel group (bench_engine.ddp.DdpState), after 'ddp_init'.
        self.ddp = None

    # -- helpers -------------------------------------------------------------------------

    def dataset(self, name):
        data = self.datasets.get(name)
        if data is None or not data.buffers:
            raise ValueError("no '%s' data loaded in this worker (send 'load' first)" % name)
        return data

    def _take_idle(self, config, data):
        key = architecture_key(config, data.input_shape, data.classes)
        return self.idle_trainers.pop(key, None)

    def _keep_idle(self, trainer):
        self.idle_trainers.pop(trainer.arch_key, None)
        self.idle_trainers[trainer.arch_key] = trainer
        while len(self.idle_trainers) > 2:
            self.idle_trainers.pop(next(iter(self.idle_trainers)))

    def _trainer_from_path(self, header, data, spans, seed_ok):
        config = header['config']
        model_in = header.get('modelIn')
        start = now_ms()
        if model_in:
            trainer = Trainer.load(model_in, config, data.input_shape, data.classes,
                                   reuse=self._take_idle(config, data))
            bytes_in = os.path.getsize(model_in)
            spans.append({'kind': 'model-hop', 'start': start, 'end': now_ms()})
        elif seed_ok:
            trainer = Trainer.create(config, data.input_shape, data.classes, header.get('seed', 0))
            bytes_in = 0
            spans.append({'kind': 'engine-init', 'start': start, 'end': now_ms()})
        else:
            raise ValueError('modelIn is required')
        return trainer, bytes_in

    def _trainer_from_payload(self, header, payload, data, spans, received, seed_ok):
        config = header['config']
        if len(payload):
            trainer = Trainer.from_bytes(payload, config, data.input_shape, data.classes,
                                         reuse=self._take_idle(config, data))
            spans.append({'kind': 'model-hop', 'start': received, 'end': now_ms()})
        elif seed_ok:
            start = now_ms()
            trainer = Trainer.create(config, data.input_shape, data.classes, header.get('seed', 0))
            spans.append({'kind': 'engine-init', 'start': start, 'end': now_ms()})
        else:
            raise ValueError('the model payload is empty')
        return trainer, len(payload)

    # -- operations ----------------------------------------------------------------------

    def op_hello(self, header, payload, received):
        return {
            'ok': True,
            'pid': os.getpid(),
            'torch': torch.__version__,
            'device': describe_device(),
            'importSeconds': IMPORT_SECONDS,
            'threads': torch.get_num_threads(),
            'python': sys.version.split()[0],
            'engine': __version__,
        }, None

    def op_set_threads(self, header, payload, received):
        self.threads = set_threads(header['threads'])
        return {'ok': True, 'threads': self.threads}, None

    def op_load(self, header, payload, received):
        return self._load(header['dataset'], header, payload, received)

    def op_load_file(self, header, payload, received):
        from .rawloop import read_data_file

        file_header, file_payload = read_data_file(header['path'])
        return self._load(header['dataset'], file_header, file_payload, received)

    def _load(self, name, header, payload, received):
        input_shape = [int(d) for d in header['inputShape']]
        classes = int(header['classes'])
        data = self.datasets.get(name)
        if data is None:
            data = self.datasets[name] = Dataset(input_shape, classes)
        elif data.input_shape != input_shape or data.classes != classes:
            raise ValueError("dataset '%s' holds shape %r x %d classes; clear it before loading %r x %d"
                             % (name, data.input_shape, data.classes, input_shape, classes))
        buffers = decode_buffers(payload, header['buffers'], input_shape)
        examples = sum(int(X.shape[0]) for X, _ in buffers)
        data.buffers.extend(buffers)
        data.payloads.append(payload)
        data.examples += examples
        return {
            'ok': True,
            'examples': examples,
            'totalExamples': data.examples,
            'buffers': len(data.buffers),
            'spans': [{'kind': 'data', 'start': received, 'end': now_ms()}],
        }, None

    def op_clear(self, header, payload, received):
        name = header.get('dataset')
        names = [name] if name else list(self.datasets)
        examples = 0
        for n in names:
            data = self.datasets.pop(n, None)
            if data is not None:
                examples += data.examples
        return {'ok': True, 'examples': examples}, None

    def op_init(self, header, payload, received):
        data = self.datasets.get(header.get('dataset', 'train'))
        input_shape = header.get('inputShape') or (data and data.input_shape)
        classes = header.get('classes') or (data and data.classes)
        if not input_shape or not classes:
            raise ValueError('init needs inputShape and classes (or loaded train data)')
        start = now_ms()
        trainer = Trainer.create(header['config'], input_shape, classes, header.get('seed', 0))
        spans = [{'kind': 'engine-init', 'start': start, 'end': now_ms()}]
        model_out = header.get('modelOut')
        if model_out:
            start = now_ms()
            size = trainer.save(model_out)
            spans.append({'kind': 'model-hop', 'start': start, 'end': now_ms()})
            self._keep_idle(trainer)
            return {'ok': True, 'modelBytesOut': size, 'spans': spans}, None
        chunks = trainer.to_chunks()
        self._keep_idle(trainer)
        return {'ok': True, 'modelBytesOut': sum(len(c) for c in chunks), 'spans': spans}, chunks

    def op_train(self, header, payload, received):
        data = self.dataset(header.get('dataset', 'train'))
        spans = []
        trainer, bytes_in = self._trainer_from_path(header, data, spans, seed_ok=True)
        result = trainer.train_buffers(data.buffers)
        spans.extend(result['spans'])
        _count_unit(trainer, header, result)
        start = now_ms()
        bytes_out = trainer.save(header['modelOut'])
        spans.append({'kind': 'model-hop', 'start': start, 'end': now_ms()})
        self._keep_idle(trainer)
        return _train_reply(header, result, bytes_in, bytes_out, spans, trainer), None

    def op_validate(self, header, payload, received):
        data = self.dataset(header.get('dataset', 'valid'))
        spans = []
        trainer, bytes_in = self._trainer_from_path(header, data, spans, seed_ok=False)
        result = trainer.validate_buffers(data.buffers)
        spans.extend(result['spans'])
        self._keep_idle(trainer)
        return _validate_reply(header, result, bytes_in, spans), None

    def op_train_bytes(self, header, payload, received):
        data = self.dataset(header.get('dataset', 'train'))
        spans = []
        trainer, bytes_in = self._trainer_from_payload(header, payload, data, spans, received, seed_ok=True)
        del payload
        result = trainer.train_buffers(data.buffers)
        spans.extend(result['spans'])
        _count_unit(trainer, header, result)
        start = now_ms()
        chunks = trainer.to_chunks()
        spans.append({'kind': 'model-hop', 'start': start, 'end': now_ms()})
        self._keep_idle(trainer)
        return _train_reply(header, result, bytes_in, sum(len(c) for c in chunks), spans, trainer), chunks

    def op_validate_bytes(self, header, payload, received):
        data = self.dataset(header.get('dataset', 'valid'))
        spans = []
        trainer, bytes_in = self._trainer_from_payload(header, payload, data, spans, received, seed_ok=False)
        result = trainer.validate_buffers(data.buffers)
        spans.extend(result['spans'])
        self._keep_idle(trainer)
        return _validate_reply(header, result, bytes_in, spans), None

    # -- data parallel (bench_engine.ddp) -----------------------------------------------------

    def _ddp_state(self):
        if self.ddp is None:
            raise ValueError("this worker is in no data-parallel group (send 'ddp_init' first)")
        return self.ddp

    def op_ddp_init(self, header, payload, received):
        from .ddp import DEFAULT_TIMEOUT_SECONDS, DdpState

        if self.ddp is not None:
            raise ValueError("this worker is already rank %d of %d (send 'ddp_close' first)" % (self.ddp.rank, self.ddp.world))
        start = now_ms()
        self.ddp = DdpState(
            header['rank'],
            header['world'],
            header['masterPort'],
            master_addr=header.get('masterAddr') or '127.0.0.1',
            backend=header.get('backend'),
            timeout_seconds=header.get('timeoutSeconds') or DEFAULT_TIMEOUT_SECONDS,
        )
        return {
            'ok': True,
            'rank': self.ddp.rank,
            'world': self.ddp.world,
            'backend': self.ddp.backend,
            'device': describe_device(),
            'initSeconds': self.ddp.init_seconds,
            'spans': [{'kind': 'engine-init', 'start': start, 'end': now_ms()}],
        }, None

    def op_ddp_train(self, header, payload, received):
        state = self._ddp_state()
        data = self.dataset(header.get('dataset', 'train'))
        result = state.train(header['config'], header.get('seed', 0), data, header.get('epoch'))
        result['ok'] = True
        return result, None

    def op_ddp_validate(self, header, payload, received):
        state = self._ddp_state()
        data = self.dataset(header.get('dataset', 'valid'))
        result = state.validate(header['config'], data)
        return _validate_reply(header, result, 0, result['spans']), None

    def op_ddp_checksum(self, header, payload, received):
        result = self._ddp_state().checksum(header['config'])
        result['ok'] = True
        return result, None

    def op_ddp_close(self, header, payload, received):
        if self.ddp is not None:
            state, self.ddp = self.ddp, None
            state.close()
        return {'ok': True}, None

    def op_exit(self, header, payload, received):
        return {'ok': True}, None

    def op_debug_exit(self, header, payload, received):
        code = int(header.get('code', 70))
        sys.stderr.write('bench_engine.worker: debug_exit requested, exiting with code %d\n' % code)
        sys.stderr.flush()
        os._exit(code)

    def handle(self, header, payload, received):
        op = header.get('op')
        method = getattr(self, 'op_%s' % op, None) if isinstance(op, str) else None
        if method is None:
            raise ValueError('unknown op %r' % (op,))
        return method(header, payload, received)


def _enlarge_pipe(fd):
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, 'F_SETPIPE_SZ', 1031), 1 << 20)
    except (OSError, ImportError, ValueError):
        pass


def _die_with_parent():
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(1)
    except Exception:
        pass


def _error_reply(error):
    import traceback

    return {
        'ok': False,
        'error': '%s: %s' % (type(error).__name__, error),
        'traceback': traceback.format_exc(),
    }


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog='python3 -m bench_engine.worker')
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)

    # stdout carries frames only: keep a private descriptor for them and point fd 1 (and
    # anything a library prints) at stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    inp = os.fdopen(0, 'rb', buffering=0, closefd=False)
    _enlarge_pipe(0)
    _enlarge_pipe(out_fd)
    _die_with_parent()

    worker = Worker(args.threads)
    while True:
        try:
            got = read_header(inp)
            if got is None:
                return 0
            header, payload_len = got
            received = now_ms()
            payload = read_payload(inp, payload_len)
        except FrameError as error:
            sys.stderr.write('bench_engine.worker: bad input stream: %s\n' % error)
            return 1
        try:
            reply, out = worker.handle(header, payload, received)
        except Exception as error:  # the worker keeps serving
            reply, out = _error_reply(error), None
        del payload
        try:
            write_frame_fd(out_fd, reply, out)
        except BrokenPipeError:
            return 0
        except (TypeError, ValueError) as error:  # a reply JSON cannot encode
            write_frame_fd(out_fd, _error_reply(error), None)
        if header.get('op') == 'exit':
            return 0

if __name__ == '__main__':
    sys.exit(main())
