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
  param_count {configs, inputShape, classes}
                                 -> {ok, paramCounts: [the parameter count of each config's model]}
  ddp_init {rank, world, masterPort, masterAddr?, backend?, timeoutSeconds?, allreduce?: 'ddp' |
       'flat'}: join the data-parallel process group (bench_engine.ddp; every rank must be sent it
       concurrently, before 'load' on a multi-GPU host)
                                 -> {ok, rank, world, backend, allreduce, device, initSeconds,
                                     spans: [engine-init]}
  ddp_train {config, seed, epoch, dataset?}: one epoch of config over the loaded shard in lock
       step with the other ranks (every rank must be sent it); the replica lives in memory
                                 -> {ok, lossSum, examples, steps, batches, localBatches,
                                     droppedExamples, allreduce, allreduceBytes, gradientBytes,
                                     controlBytes, broadcastBytes, allreduceCalls, gradientCalls,
                                     allreduceSeconds, paramCount, backend,
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
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

_import_start = time.time()
try:
    import torch
except ImportError as _error:  # said plainly; the TypeScript side maps exit code 3
    sys.stderr.write(
        'BENCH_ENGINE_MISSING: %s cannot import torch (%s). Install the engine: '
        'bash infra/setup.sh (or apt-get install python3-torch python3-torchvision python3-numpy libopenblas0-openmp)\n'
        % (sys.executable, _error)
    )
    sys.stderr.flush()
    sys.exit(3)
import numpy  # noqa: F401  (part of the engine's import cost; torch.frombuffer needs no numpy)

from . import __version__
from .frames import FrameError, Payload, read_header, read_payload, write_frame_fd
from .models import architecture_key, parameter_count_of
from .runtime import describe_device, set_threads
from .trainer import Batch, Trainer, decode_buffers
from .util import now_ms

if TYPE_CHECKING:
    from .ddp import DdpState

IMPORT_SECONDS = time.time() - _import_start
EXIT_MISSING_TORCH = 3



# The ops that train or validate one model on a loaded dataset: (task, where the model comes
# from). The model comes from the checkpoint file `modelIn` ('path'; a trained model goes to the
# file `modelOut`) or is the request's payload ('payload'; a trained model is the reply's).
# Without a model, training starts from a fresh one made from `seed`.
MODEL_OPS = {
    'train': ('train', 'path'),
    'validate': ('validate', 'path'),
    'train_bytes': ('train', 'payload'),
    'validate_bytes': ('validate', 'payload'),
}


def _count_unit(trainer: 'Trainer', header: dict, result: dict) -> None:
    """The model's version (sub-epochs trained; the request's modelVersion when it says) and this
    unit's result go into the checkpoint header, so a resume can tell which version a file holds."""
    version = header.get('modelVersion')
    trainer.units = int(version) if version is not None else trainer.units + 1
    trainer.last_units = [{'segment': header.get('segment'), 'lossSum': result['loss_sum'],
                           'examples': result['examples']}]


def validate_reply(header: dict, result: dict, bytes_in: int, spans: List[dict]) -> dict:
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
    def __init__(self, input_shape: Sequence[int], classes: int):
        self.input_shape = [int(d) for d in input_shape]
        self.classes = int(classes)
        self.buffers: List[Batch] = []  # views of the payloads kept below
        self.payloads: List[bytearray] = []
        self.examples = 0


Reply = Tuple[dict, Optional[Payload]]


class Worker:
    def __init__(self, threads: int):
        self.threads = set_threads(threads)
        self.datasets: Dict[str, Dataset] = {}
        # Trainers whose requests finished, by architecture: the next request for the same
        # architecture loads its checkpoint into the same module instead of building one.
        self.idle_trainers: Dict[tuple, Trainer] = {}
        # Membership of a data-parallel group (bench_engine.ddp.DdpState), after 'ddp_init'.
        self.ddp: Optional['DdpState'] = None

    # -- helpers -------------------------------------------------------------------------

    def dataset(self, name: str) -> Dataset:
        data = self.datasets.get(name)
        if data is None or not data.buffers:
            raise ValueError("no '%s' data loaded in this worker (send 'load' first)" % name)
        return data

    def _take_idle(self, config: dict, data: Dataset) -> Optional[Trainer]:
        key = architecture_key(config, data.input_shape, data.classes)
        return self.idle_trainers.pop(key, None)

    def _keep_idle(self, trainer: Trainer) -> None:
        self.idle_trainers.pop(trainer.arch_key, None)
        self.idle_trainers[trainer.arch_key] = trainer
        while len(self.idle_trainers) > 2:
            self.idle_trainers.pop(next(iter(self.idle_trainers)))

    def _model_in(self, header: dict, payload: bytearray, source: str, data: Dataset, task: str,
                  received: float, spans: List[dict]) -> Tuple[Trainer, int]:
        """The request's model (and the bytes read for it): from the checkpoint at modelIn or in
        the payload ('model-hop'), else, for training, a fresh one from seed ('engine-init')."""
        config = header['config']
        model_in = header.get('modelIn') if source == 'path' else (payload if len(payload) else None)
        if model_in is None or model_in == '':
            if task != 'train':
                raise ValueError('modelIn is required' if source == 'path' else 'the model payload is empty')
            start = now_ms()
            trainer = Trainer.create(config, data.input_shape, data.classes, header.get('seed', 0))
            spans.append({'kind': 'engine-init', 'start': start, 'end': now_ms()})
            return trainer, 0
        start = now_ms() if source == 'path' else received
        reuse = self._take_idle(config, data)
        if source == 'path':
            trainer = Trainer.load(model_in, config, data.input_shape, data.classes, reuse=reuse)
            bytes_in = os.path.getsize(model_in)
        else:
            trainer = Trainer.from_bytes(model_in, config, data.input_shape, data.classes, reuse=reuse)
            bytes_in = len(model_in)
        spans.append({'kind': 'model-hop', 'start': start, 'end': now_ms()})
        return trainer, bytes_in

    def model_op(self, op: str, header: dict, payload: bytearray, received: float) -> Reply:
        """One of MODEL_OPS: train or validate the request's model once over every in-memory
        buffer of the dataset (default 'train' / 'valid')."""
        task, source = MODEL_OPS[op]
        data = self.dataset(header.get('dataset', 'train' if task == 'train' else 'valid'))
        spans: List[dict] = []
        trainer, bytes_in = self._model_in(header, payload, source, data, task, received, spans)
        del payload
        if task == 'validate':
            result = trainer.validate_buffers(data.buffers)
            self._keep_idle(trainer)
            return validate_reply(header, result, bytes_in, spans + result['spans']), None
        result = trainer.train_buffers(data.buffers)
        spans.extend(result['spans'])
        _count_unit(trainer, header, result)
        start = now_ms()
        out: Optional[Payload] = None
        if source == 'path':
            bytes_out = trainer.save(header['modelOut'])
        else:
            out = trainer.to_chunks()
            bytes_out = sum(len(c) for c in out)
        spans.append({'kind': 'model-hop', 'start': start, 'end': now_ms()})
        self._keep_idle(trainer)
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
        }, out

    # -- operations ----------------------------------------------------------------------

    def op_hello(self, header: dict, payload: bytearray, received: float) -> Reply:
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

    def op_set_threads(self, header: dict, payload: bytearray, received: float) -> Reply:
        self.threads = set_threads(header['threads'])
        return {'ok': True, 'threads': self.threads}, None

    def op_load(self, header: dict, payload: bytearray, received: float) -> Reply:
        return self._load(header['dataset'], header, payload, received)

    def op_load_file(self, header: dict, payload: bytearray, received: float) -> Reply:
        from .rawloop import read_data_file

        file_header, file_payload = read_data_file(header['path'])
        return self._load(header['dataset'], file_header, file_payload, received)

    def _load(self, name: str, header: dict, payload: bytearray, received: float) -> Reply:
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

    def op_clear(self, header: dict, payload: bytearray, received: float) -> Reply:
        name = header.get('dataset')
        names = [name] if name else list(self.datasets)
        examples = 0
        for n in names:
            data = self.datasets.pop(n, None)
            if data is not None:
                examples += data.examples
        return {'ok': True, 'examples': examples}, None

    def op_init(self, header: dict, payload: bytearray, received: float) -> Reply:
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

    def op_param_count(self, header: dict, payload: bytearray, received: float) -> Reply:
        """The parameter count of each config's model on inputShape x classes."""
        shape, classes = header['inputShape'], header['classes']
        return {'ok': True, 'paramCounts': [parameter_count_of(c, shape, classes) for c in header['configs']]}, None

    # -- data parallel (bench_engine.ddp) -----------------------------------------------------

    def _ddp_state(self) -> 'DdpState':
        if self.ddp is None:
            raise ValueError("this worker is in no data-parallel group (send 'ddp_init' first)")
        return self.ddp

    def op_ddp_init(self, header: dict, payload: bytearray, received: float) -> Reply:
        from .ddp import DEFAULT_TIMEOUT_SECONDS, DdpState

        if self.ddp is not None:
            raise ValueError("this worker is already rank %d of %d (send 'ddp_close' first)"
                             % (self.ddp.rank, self.ddp.world))
        start = now_ms()
        self.ddp = DdpState(
            header['rank'],
            header['world'],
            header['masterPort'],
            master_addr=header.get('masterAddr') or '127.0.0.1',
            backend=header.get('backend'),
            timeout_seconds=header.get('timeoutSeconds') or DEFAULT_TIMEOUT_SECONDS,
            allreduce=header.get('allreduce') or 'ddp',
        )
        return {
            'ok': True,
            'rank': self.ddp.rank,
            'world': self.ddp.world,
            'backend': self.ddp.backend,
            'allreduce': self.ddp.allreduce,
            'device': describe_device(),
            'initSeconds': self.ddp.init_seconds,
            'spans': [{'kind': 'engine-init', 'start': start, 'end': now_ms()}],
        }, None

    def op_ddp_train(self, header: dict, payload: bytearray, received: float) -> Reply:
        state = self._ddp_state()
        data = self.dataset(header.get('dataset', 'train'))
        result = state.train(header['config'], header.get('seed', 0), data, header.get('epoch'))
        result['ok'] = True
        return result, None

    def op_ddp_validate(self, header: dict, payload: bytearray, received: float) -> Reply:
        state = self._ddp_state()
        data = self.dataset(header.get('dataset', 'valid'))
        result = state.validate(header['config'], data)
        return validate_reply(header, result, 0, result['spans']), None

    def op_ddp_checksum(self, header: dict, payload: bytearray, received: float) -> Reply:
        result = self._ddp_state().checksum(header['config'])
        result['ok'] = True
        return result, None

    def op_ddp_close(self, header: dict, payload: bytearray, received: float) -> Reply:
        if self.ddp is not None:
            state, self.ddp = self.ddp, None
            state.close()
        return {'ok': True}, None

    def op_exit(self, header: dict, payload: bytearray, received: float) -> Reply:
        return {'ok': True}, None

    def op_debug_exit(self, header: dict, payload: bytearray, received: float) -> Reply:
        code = int(header.get('code', 70))
        sys.stderr.write('bench_engine.worker: debug_exit requested, exiting with code %d\n' % code)
        sys.stderr.flush()
        os._exit(code)

    def handle(self, header: dict, payload: bytearray, received: float) -> Reply:
        op = header.get('op')
        if op in MODEL_OPS:
            return self.model_op(op, header, payload, received)
        method = getattr(self, 'op_%s' % op, None) if isinstance(op, str) else None
        if method is None:
            raise ValueError('unknown op %r' % (op,))
        return method(header, payload, received)


def _enlarge_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, 'F_SETPIPE_SZ', 1031), 1 << 20)
    except (OSError, ImportError, ValueError):
        pass


def _die_with_parent() -> None:
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(1)
    except Exception:
        pass


def _error_reply(error: BaseException) -> dict:
    import traceback

    return {
        'ok': False,
        'error': '%s: %s' % (type(error).__name__, error),
        'traceback': traceback.format_exc(),
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
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
