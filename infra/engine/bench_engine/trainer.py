"""Training one config on packed buffers: the code every approach runs.

Packed buffer (ETL output, see docs/architecture.md, "Data"): x = n * prod(input_shape) float32
little endian, y = n int32 little endian. Mini-batches of config['batchSize'] are taken in buffer
order inside each buffer (the last one of a buffer may be smaller), each trained
config.get('repeat', 1) times; Adam with lr=learningRate; cross-entropy; `l2` regularises as
config['regularizer'] says (make_optimizer, docs/engine.md).

A checkpoint (to_bytes/save) holds the weights AND the optimizer state, so training that hops
between processes equals sequential training in one process, bit for bit.
"""

import itertools
import os
import sys
import warnings
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from . import checkpoint
from .checkpoint import FlatState
from .checkpoint import parse as parse_checkpoint
from .models import architecture_key, build_model, kernel_parameters
from .runtime import device
from .util import now_ms, prod

# Tensors decoded from an immutable `bytes` (a PL/Python bytea) are read-only views; we never
# write to them, so torch's warning about it is noise.
warnings.filterwarnings('ignore', message='The given buffer is not writable')

_LITTLE = sys.byteorder == 'little'
_tmp_counter = itertools.count()

BytesLike = Union[bytes, bytearray, memoryview]
Batch = Tuple[torch.Tensor, torch.Tensor]

# How `l2` regularises (config['regularizer']); the first is the default.
REGULARIZERS = ('kernel-l2', 'adam', 'adamw')


def _bytes_view(b: Optional[BytesLike], what: str) -> memoryview:
    if b is None:
        raise ValueError('%s is missing' % what)
    view = memoryview(b)
    if view.ndim != 1 or view.format not in ('B', 'b', 'c'):
        view = view.cast('B')
    return view


def decode(x: BytesLike, y: BytesLike, n: int, input_shape: Sequence[int],
           dev: Optional[torch.device] = None) -> Batch:
    """Decode one packed buffer into (X float32 [n, *input_shape], Y int64 [n]) on dev (default:
    runtime.device()). On the CPU, X is a view of x's memory (no copy); Y is widened to int64
    (what cross-entropy wants), a copy of 8 bytes per example."""
    n = int(n)
    shape = [int(d) for d in input_shape]
    features = prod(shape)
    xv = _bytes_view(x, 'x')
    yv = _bytes_view(y, 'y')
    if len(xv) != n * features * 4:
        raise ValueError(
            'x holds %d bytes, expected n * prod(input_shape) * 4 = %d * %d * 4 = %d'
            % (len(xv), n, features, n * features * 4)
        )
    if len(yv) != n * 4:
        raise ValueError('y holds %d bytes, expected n * 4 = %d' % (len(yv), n * 4))
    dev = dev or device()
    if n == 0:
        X = torch.empty([0] + shape, dtype=torch.float32)
        Y = torch.empty([0], dtype=torch.int64)
    elif _LITTLE:
        X = torch.frombuffer(xv, dtype=torch.float32, count=n * features).view([n] + shape)
        Y = torch.frombuffer(yv, dtype=torch.int32, count=n).to(torch.int64)
    else:  # pragma: no cover - big-endian hosts
        import numpy as np

        X = torch.from_numpy(np.frombuffer(xv, dtype='<f4').astype(np.float32)).view([n] + shape)
        Y = torch.from_numpy(np.frombuffer(yv, dtype='<i4').astype(np.int64))
    if dev.type != 'cpu':
        X = X.to(dev)
        Y = Y.to(dev)
    return X, Y


def decode_buffers(payload: BytesLike, buffers: Sequence[dict], input_shape: Sequence[int],
                   dev: Optional[torch.device] = None) -> List[Batch]:
    """Decode the packed buffers laid out one after another in payload (x then y of each, as
    described by buffers = [{'n', 'xBytes', 'yBytes'}], the worker's 'load' message and the
    engine data file). Returns a list of (X, Y); on the CPU the X are views of payload."""
    view = _bytes_view(payload, 'payload')
    expected = sum(int(b['xBytes']) + int(b['yBytes']) for b in buffers)
    if expected != len(view):
        raise ValueError('buffers describe %d bytes, payload holds %d' % (expected, len(view)))
    out = []
    offset = 0
    for b in buffers:
        xb, yb = int(b['xBytes']), int(b['yBytes'])
        x = view[offset:offset + xb]
        y = view[offset + xb:offset + xb + yb]
        offset += xb + yb
        out.append(decode(x, y, b['n'], input_shape, dev))
    return out


def _config_number(config: dict, key: str, default: Optional[float] = None) -> float:
    value = config.get(key, default)
    if value is None:
        raise ValueError('config is missing %r' % key)
    return value


def _tuples(value: object) -> object:
    """JSON lists back into the tuples of an architecture key."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def regularizer_of(config: dict) -> str:
    """config['regularizer'], 'kernel-l2' when absent."""
    name = config.get('regularizer') or REGULARIZERS[0]
    if name not in REGULARIZERS:
        raise ValueError('unknown regularizer %r (expected one of %s)' % (name, ', '.join(REGULARIZERS)))
    return name


def make_optimizer(model: torch.nn.Module, config: dict) -> torch.optim.Optimizer:
    """Adam with lr=learningRate (foreach kernels: fewer Python steps per update), `l2` applied as
    config['regularizer'] says:

      kernel-l2  (default) Keras' kernel_regularizer, as the paper ran it: l2 * sum(w^2) over the
                 weights of linear and convolution layers (not biases, not batch norm) added to the
                 loss. Its gradient 2 * l2 * w is added to those weights' gradients by Adam's own
                 weight_decay = 2 * l2 on their parameter group (the other group has none), which
                 is the same update without one autograd term per layer. The reported losses are
                 the cross-entropy alone.
      adam       Adam's coupled weight decay, weight_decay = l2 on every parameter.
      adamw      AdamW's decoupled weight decay, weight_decay = l2 on every parameter.
    """
    lr = float(_config_number(config, 'learningRate'))
    l2 = float(config.get('l2') or 0.0)
    regularizer = regularizer_of(config)
    params = [p for p in model.parameters() if p.requires_grad]
    if regularizer == 'kernel-l2':
        kernels = {id(p) for p in kernel_parameters(model)}
        groups = [
            {'params': [p for p in params if id(p) in kernels], 'weight_decay': 2.0 * l2},
            {'params': [p for p in params if id(p) not in kernels], 'weight_decay': 0.0},
        ]
        return torch.optim.Adam([g for g in groups if g['params']], lr=lr, foreach=True)
    optimizer = torch.optim.AdamW if regularizer == 'adamw' else torch.optim.Adam
    return optimizer(params, lr=lr, weight_decay=l2, foreach=True)


class Trainer:
    """One config's model and optimizer. Not thread-safe; one live Trainer per model.

    The model's parameters and the Adam moments live in flat tensors (checkpoint.FlatState),
    which is what makes to_bytes/save/load cheap."""

    def __init__(self, model: torch.nn.Module, config: dict, input_shape: Sequence[int], classes: int,
                 dev: Optional[torch.device] = None):
        self.model = model
        self.input_shape = [int(d) for d in input_shape]
        self.classes = int(classes)
        self.arch_key = architecture_key(config, self.input_shape, self.classes)
        self.flat = FlatState(model, dev)
        self.steps = 0
        # The model's version (sub-epochs trained) and the results of the units that made it,
        # kept in the checkpoint header so a resume can tell which copy is current.
        self.units = 0
        self.last_units = []
        self.configure(config)

    # -- construction ------------------------------------------------------------------

    def configure(self, config: dict) -> None:
        """(Re)read the config's training knobs and make an optimizer for them; the Adam state
        (moments, steps) stays in the flat tensors."""
        key = architecture_key(config, self.input_shape, self.classes)
        if key != self.arch_key:
            raise ValueError('config %r does not fit this model (%r)' % (key, self.arch_key))
        self.config = dict(config)
        self.batch_size = int(_config_number(config, 'batchSize'))
        if self.batch_size < 1:
            raise ValueError('batchSize must be at least 1')
        self.repeat = max(1, int(config.get('repeat') or 1))
        self.optimizer = make_optimizer(self.model, config)
        self.flat.attach(self.optimizer)

    @classmethod
    def create(cls, config: dict, input_shape: Sequence[int], classes: int, seed: int) -> 'Trainer':
        """A fresh model initialised deterministically from seed (torch's global RNG is left as
        it was), with fresh optimizer state."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            model = build_model(config, input_shape, classes)
        return cls(model.to(device()), config, input_shape, classes)

    @classmethod
    def _empty(cls, config: dict, input_shape: Sequence[int], classes: int, reuse: Optional['Trainer']) -> 'Trainer':
        """A Trainer whose state a checkpoint is about to overwrite: the reused one when its
        architecture fits, else a new model (built on the 'meta' device where build_model can:
        no memory, no initialisation; torch's global RNG is left as it was)."""
        key = architecture_key(config, input_shape, classes)
        if reuse is not None and reuse.arch_key == key:
            reuse.configure(config)
            return reuse
        with torch.random.fork_rng(devices=[]):
            model = build_model(config, input_shape, classes, device='meta')
        return cls(model, config, input_shape, classes, dev=device())

    def _check_arch(self, header: dict) -> None:
        saved = _tuples(header.get('arch', ()))
        if saved != self.arch_key:
            raise ValueError('checkpoint is for %r, config asks for %r' % (saved, self.arch_key))

    @classmethod
    def from_bytes(cls, blob: BytesLike, config: dict, input_shape: Sequence[int], classes: int,
                   reuse: Optional['Trainer'] = None) -> 'Trainer':
        """A Trainer from to_bytes() output (bytes, bytearray or memoryview: not copied).
        reuse: a Trainer the caller is done with; when its architecture matches, its memory is
        recycled (no model is built)."""
        header, _ = parse_checkpoint(blob)
        trainer = cls._empty(config, input_shape, classes, reuse)
        trainer._check_arch(header)
        trainer.flat.read_from_bytes(blob)
        trainer._read_counters(header)
        return trainer

    @classmethod
    def load(cls, path: str, config: dict, input_shape: Sequence[int], classes: int,
             reuse: Optional['Trainer'] = None) -> 'Trainer':
        """A Trainer from a checkpoint file written by save() (read straight into the model's
        memory)."""
        with open(path, 'rb', buffering=0) as f:
            header = checkpoint.read_file_header(f)
            trainer = cls._empty(config, input_shape, classes, reuse)
            trainer._check_arch(header)
            trainer.flat.read_sections(f, header)
        trainer._read_counters(header)
        return trainer

    def _read_counters(self, header):
        self.steps = int(header.get('steps', 0))
        self.units = int(header.get('units', 0))
        self.last_units = list(header.get('lastUnits', []))

    # -- checkpoints -------------------------------------------------------------------

    def _meta(self) -> dict:
        return {'arch': list(self.arch_key), 'config': self.config, 'steps': self.steps,
                'units': self.units, 'lastUnits': self.last_units}

    def to_chunks(self) -> List[BytesLike]:
        """The checkpoint as a list of bytes-like chunks (the big ones alias the live tensors:
        use them before training goes on)."""
        prefix, payload = self.flat.chunks(self._meta())
        return [prefix] + payload

    def to_bytes(self) -> bytes:
        """The checkpoint (weights and optimizer state) as bytes."""
        return b''.join(self.to_chunks())

    def save(self, path: str) -> int:
        """Write the checkpoint to path atomically (temporary file in the same directory, then
        rename). Returns its size in bytes."""
        tmp = '%s.tmp-%d-%d' % (path, os.getpid(), next(_tmp_counter))
        size = 0
        try:
            with open(tmp, 'wb', buffering=0) as f:
                for chunk in self.to_chunks():
                    view = memoryview(chunk)
                    while len(view):
                        k = f.write(view)
                        size += k
                        view = view[k:]
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return size

    # -- training ----------------------------------------------------------------------

    def train_buffers(self, buffers: Iterable[Batch]) -> dict:
        """Train on already decoded (X, Y) pairs in order, once. Returns loss_sum (the loss of
        each mini-batch's first pass times its size), examples and one 'train' span."""
        start = now_ms()
        model = self.model
        optimizer = self.optimizer
        batch_size = self.batch_size
        repeat = self.repeat
        loss_fn = F.cross_entropy
        model.train()
        losses = []
        sizes = []
        steps = 0
        for X, Y in buffers:
            n = X.shape[0]
            for i in range(0, n, batch_size):
                xb = X[i:i + batch_size]
                yb = Y[i:i + batch_size]
                for r in range(repeat):
                    optimizer.zero_grad(set_to_none=True)
                    loss = loss_fn(model(xb), yb)
                    loss.backward()
                    optimizer.step()
                    if r == 0:
                        losses.append(loss.detach())
                        sizes.append(xb.shape[0])
                steps += repeat
        self.steps += steps
        if losses:
            weights = torch.tensor(sizes, dtype=torch.float64)
            loss_sum = float((torch.stack(losses).to('cpu', torch.float64) * weights).sum())
        else:
            loss_sum = 0.0
        end = now_ms()
        return {
            'loss_sum': loss_sum,
            'examples': int(sum(sizes)),
            'steps': steps,
            'spans': [{'kind': 'train', 'start': start, 'end': end}],
        }

    def train_tensors(self, X: torch.Tensor, Y: torch.Tensor) -> dict:
        """Train on one decoded buffer (see decode())."""
        return self.train_buffers([(X, Y)])

    def train_buffer(self, x: BytesLike, y: BytesLike, n: int) -> dict:
        """Decode one packed buffer ('data' span) and train on it ('train' span)."""
        start = now_ms()
        X, Y = decode(x, y, n, self.input_shape)
        decoded = now_ms()
        result = self.train_buffers([(X, Y)])
        result['spans'] = [{'kind': 'data', 'start': start, 'end': decoded}] + result['spans']
        return result

    def _valid_batch(self) -> int:
        # Evaluation does not depend on how examples are batched; bigger batches are faster
        # for the MLP. CNNs keep the training batch size (activation memory).
        if self.arch_key[0] == 'mlp':
            return max(self.batch_size, 1024)
        return self.batch_size

    def validate_buffers(self, buffers: Iterable[Batch]) -> dict:
        """Loss sum, correct count and examples over decoded (X, Y) pairs; no gradients, eval
        mode (batch norm uses its running statistics). One 'valid' span."""
        start = now_ms()
        model = self.model
        batch = self._valid_batch()
        was_training = model.training
        model.eval()
        dev = next(model.parameters()).device
        loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
        correct = torch.zeros((), dtype=torch.int64, device=dev)
        examples = 0
        try:
            with torch.inference_mode():
                for X, Y in buffers:
                    n = X.shape[0]
                    for i in range(0, n, batch):
                        xb = X[i:i + batch]
                        yb = Y[i:i + batch]
                        out = model(xb)
                        loss_sum += F.cross_entropy(out, yb, reduction='sum')
                        correct += (out.argmax(dim=1) == yb).sum()
                        examples += xb.shape[0]
        finally:
            model.train(was_training)
        loss_sum = float(loss_sum)  # one device sync, at the end
        correct = int(correct)
        end = now_ms()
        return {
            'loss_sum': float(loss_sum),
            'correct': int(correct),
            'examples': int(examples),
            'spans': [{'kind': 'valid', 'start': start, 'end': end}],
        }

    def validate_tensors(self, X: torch.Tensor, Y: torch.Tensor) -> dict:
        return self.validate_buffers([(X, Y)])

    def validate_buffer(self, x: BytesLike, y: BytesLike, n: int) -> dict:
        """Decode one packed buffer and evaluate on it (the decode counts as 'valid' time:
        validation is one component of the breakdown)."""
        start = now_ms()
        X, Y = decode(x, y, n, self.input_shape)
        result = self.validate_buffers([(X, Y)])
        result['spans'] = [{'kind': 'valid', 'start': start, 'end': result['spans'][0]['end']}]
        return result


def average_bytes(blobs: Sequence[BytesLike], weights: Optional[Sequence[float]] = None) -> bytes:
    """Weighted average of checkpoints (model averaging, MA): parameters, Adam moments and
    floating buffers (batch norm statistics) are averaged; counters (Adam's step, batch norm's
    num_batches_tracked, the step total) take the maximum. Returns a checkpoint (bytes)."""
    if not blobs:
        raise ValueError('nothing to average')
    if weights is None:
        weights = [1.0] * len(blobs)
    total = float(sum(weights))
    if len(weights) != len(blobs) or total <= 0:
        raise ValueError('need one weight per checkpoint, summing to more than 0')
    parsed = [checkpoint.section_tensors(b) for b in blobs]
    header = dict(parsed[0][0])
    for h, _, _ in parsed[1:]:
        if h.get('arch') != header.get('arch') or h.get('paramCount') != header.get('paramCount'):
            raise ValueError('cannot average checkpoints of different architectures')
    factors = [float(w) / total for w in weights]
    sections = {}
    for name in checkpoint.FLOAT_SECTIONS:
        acc = torch.zeros(int(header['paramCount']), dtype=torch.float64)
        for (_, secs, _), f in zip(parsed, factors):
            acc += secs[name].to(torch.float64) * f
        sections[name] = acc.to(torch.float32)
    buffers = {}
    per_blob = [checkpoint.buffer_tensors(h, raw) for h, _, raw in parsed]
    for item in header['buffers']:
        values = [b[item['name']] for b in per_blob]
        if values[0].is_floating_point():
            acc = torch.zeros(values[0].shape, dtype=torch.float64)
            for v, f in zip(values, factors):
                acc += v.to(torch.float64) * f
            buffers[item['name']] = acc
        else:
            buffers[item['name']] = torch.stack(values).max(dim=0).values
    header['paramStep'] = [max(h['paramStep'][i] for h, _, _ in parsed) for i in range(len(header['paramStep']))]
    header['steps'] = max(int(h.get('steps', 0)) for h, _, _ in parsed)
    return checkpoint.build(header, sections, buffers)


def checkpoint_info(blob: BytesLike) -> dict:
    """The header of a checkpoint held in memory (arch, config, steps, sizes)."""
    header, _ = parse_checkpoint(blob)
    return header
