"""Flat model state and the checkpoint format: what makes a model hop cheap.

A Trainer keeps its model's parameters and its Adam moments in three contiguous float32
tensors (FlatState); every parameter, and every Adam moment, is a view into them. A checkpoint
is therefore little more than those three tensors written out as they lie in memory, and
reading one is a read straight into them (no pickling, no zip records, no deep copies). On
the Criteo MLP (7.8 M parameters, 94 MB with optimizer state) this is several times faster
than torch.save/torch.load of the state dicts; on small models it removes a fixed ~2-3 ms per
hop that would otherwise be a visible share of a short sub-epoch.

A checkpoint is one frame (bench_engine.frames): u32 LE header length, JSON header, u64 LE
payload length, payload. Header:
  {format: 'bench-engine-checkpoint', version: 2, arch, config, steps, units, lastUnits,
   paramCount, paramStep: [Adam's step per parameter], buffers: [{name, dtype, shape, offset, bytes}],
   sections: {params: [offset, bytes], exp_avg: [...], exp_avg_sq: [...], buffers: [...]}}
units is the model's version: the number of sub-epochs it has trained (0 for a fresh model;
absent in older files, read as 0); lastUnits lists the results of the sub-epochs that made this
version ({segment, lossSum, examples}), so a resume that finds a model one version ahead of its
event log can record that unit instead of training it twice (docs/indb.md).
Payload: params | exp_avg | exp_avg_sq (float32 LE, parameter order of model.parameters())
| buffers (batch norm running statistics and counters, each 8-byte aligned).
Weights AND optimizer state travel together: hopping without the optimizer state would break
equivalence to sequential SGD.
"""

import json
import sys
from typing import BinaryIO, Dict, List, Optional, Tuple, Union

import torch

from . import CHECKPOINT_FORMAT, CHECKPOINT_VERSION
from .frames import U32, U64, FrameError, encode_prefix, read_header, read_into

FLOAT_SECTIONS = ('params', 'exp_avg', 'exp_avg_sq')
BytesLike = Union[bytes, bytearray, memoryview]

_DTYPES = {
    'float32': torch.float32,
    'float64': torch.float64,
    'float16': torch.float16,
    'int64': torch.int64,
    'int32': torch.int32,
}
_DTYPE_NAMES = {v: k for k, v in _DTYPES.items()}

if sys.byteorder != 'little':  # pragma: no cover
    raise ImportError('bench_engine checkpoints are little-endian; this host is big-endian')


def _bytes_of(tensor):
    """A CPU tensor's memory as a byte memoryview (no copy for contiguous CPU tensors)."""
    t = tensor.detach()
    if t.device.type != 'cpu':
        t = t.cpu()
    t = t.contiguous().reshape(-1)
    if t.numel() == 0:
        return memoryview(b'')
    return memoryview(t.numpy()).cast('B')


def _writable_bytes_of(tensor):
    """A contiguous CPU tensor's memory as a writable byte memoryview."""
    return memoryview(tensor.numpy()).cast('B')


class FlatState:
    """Parameters and Adam moments of one model as three flat float32 tensors, with the model's
    parameters turned into views of the first (the model trains exactly as before)."""

    def __init__(self, model: torch.nn.Module, dev: Optional[torch.device] = None):
        """Flatten model's parameters. A model built on the 'meta' device (no memory) gets its
        parameters and buffers allocated here, on dev, uninitialised: for a model whose state
        a checkpoint is about to fill (one allocation instead of two)."""
        named = list(model.named_parameters())
        for name, p in named:
            if p.dtype != torch.float32:
                raise ValueError('flat state needs float32 parameters, %s is %s' % (name, p.dtype))
        on_meta = any(p.is_meta for _, p in named)
        if dev is None:
            dev = named[0][1].device if named and not on_meta else torch.device('cpu')
        total = sum(p.numel() for _, p in named)
        self.count = total
        self.params = torch.empty(total, dtype=torch.float32, device=dev)
        self.exp_avg = torch.zeros(total, dtype=torch.float32, device=dev)
        self.exp_avg_sq = torch.zeros(total, dtype=torch.float32, device=dev)
        self.slices = []
        offset = 0
        with torch.no_grad():
            for name, p in named:
                n = p.numel()
                view = self.params[offset:offset + n].view(p.shape)
                if on_meta:
                    owner, _, attr = name.rpartition('.')
                    module = model.get_submodule(owner) if owner else model
                    module._parameters[attr] = torch.nn.Parameter(view, requires_grad=p.requires_grad)
                else:
                    view.copy_(p.data)
                    p.data = view
                self.slices.append((offset, n))
                offset += n
            if on_meta:
                for name, b in list(model.named_buffers()):
                    owner, _, attr = name.rpartition('.')
                    module = model.get_submodule(owner) if owner else model
                    module._buffers[attr] = torch.zeros(b.shape, dtype=b.dtype, device=dev)
        self.params_list = [p for _, p in model.named_parameters()]
        # Adam keeps its step count as a (CPU, float) tensor per parameter.
        self.step = [torch.tensor(0.0) for _ in self.params_list]
        self.buffers = [(name, b) for name, b in model.named_buffers()]

    def attach(self, optimizer: torch.optim.Optimizer) -> None:
        """Point an Adam optimizer's per-parameter state at the flat moments (what Adam would
        create lazily, with the values the flat tensors hold)."""
        for p, (offset, n), step in zip(self.params_list, self.slices, self.step):
            optimizer.state[p] = {
                'step': step,
                'exp_avg': self.exp_avg[offset:offset + n].view_as(p),
                'exp_avg_sq': self.exp_avg_sq[offset:offset + n].view_as(p),
            }

    def reset_optimizer(self) -> None:
        self.exp_avg.zero_()
        self.exp_avg_sq.zero_()
        for s in self.step:
            s.fill_(0.0)

    # -- writing -------------------------------------------------------------------------

    def _buffer_layout(self):
        items = []
        offset = 0
        for name, b in self.buffers:
            size = b.numel() * b.element_size()
            items.append({
                'name': name,
                'dtype': _DTYPE_NAMES[b.dtype],
                'shape': list(b.shape),
                'offset': offset,
                'bytes': size,
            })
            offset += (size + 7) // 8 * 8
        return items, offset

    def chunks(self, meta: dict) -> Tuple[bytes, List[memoryview]]:
        """(prefix bytes, [payload memoryviews]) of a checkpoint of this state. The views alias
        live tensors on the CPU: write them before training goes on."""
        items, buffers_bytes = self._buffer_layout()
        float_bytes = self.count * 4
        header = dict(meta)
        header.update({
            'format': CHECKPOINT_FORMAT,
            'version': CHECKPOINT_VERSION,
            'paramCount': self.count,
            'paramStep': [float(s) for s in self.step],
            'buffers': items,
            'sections': {
                'params': [0, float_bytes],
                'exp_avg': [float_bytes, float_bytes],
                'exp_avg_sq': [2 * float_bytes, float_bytes],
                'buffers': [3 * float_bytes, buffers_bytes],
            },
        })
        payload = [_bytes_of(self.params), _bytes_of(self.exp_avg), _bytes_of(self.exp_avg_sq)]
        if buffers_bytes:
            packed = bytearray(buffers_bytes)
            for item, (_, b) in zip(items, self.buffers):
                packed[item['offset']:item['offset'] + item['bytes']] = _bytes_of(b)
            payload.append(memoryview(packed))
        size = sum(len(c) for c in payload)
        return encode_prefix(header, size), payload

    # -- reading -------------------------------------------------------------------------

    def _check(self, header):
        if header.get('format') != CHECKPOINT_FORMAT:
            raise ValueError('not a bench_engine checkpoint')
        if header.get('version') != CHECKPOINT_VERSION:
            raise ValueError('checkpoint version %r, this engine reads %r'
                             % (header.get('version'), CHECKPOINT_VERSION))
        if header.get('paramCount') != self.count:
            raise ValueError('checkpoint holds %r parameters, the model has %d'
                             % (header.get('paramCount'), self.count))
        mine = [(name, list(b.shape), _DTYPE_NAMES[b.dtype]) for name, b in self.buffers]
        theirs = [(i['name'], i['shape'], i['dtype']) for i in header.get('buffers', [])]
        if mine != theirs:
            raise ValueError('checkpoint buffers do not match the model')
        if len(header.get('paramStep', [])) != len(self.step):
            raise ValueError('checkpoint optimizer state does not match the model parameters')

    def _finish(self, header, buffer_bytes):
        for s, value in zip(self.step, header['paramStep']):
            s.fill_(float(value))
        with torch.no_grad():
            for item, (_, b) in zip(header['buffers'], self.buffers):
                raw = buffer_bytes[item['offset']:item['offset'] + item['bytes']]
                if item['bytes']:
                    src = torch.frombuffer(raw, dtype=_DTYPES[item['dtype']]).view(b.shape)
                    b.copy_(src)

    def read_from_file(self, f: BinaryIO) -> dict:
        """Fill this state from a checkpoint file object (unbuffered is best): float sections
        are read straight into the flat tensors on the CPU. Returns the checkpoint header."""
        return self.read_sections(f, read_file_header(f))

    def read_sections(self, f: BinaryIO, header: dict) -> dict:
        """read_from_file after read_file_header."""
        self._check(header)
        sections = header['sections']
        for name in FLOAT_SECTIONS:
            offset, size = sections[name]
            target = getattr(self, name)
            if size != self.count * 4:
                raise ValueError('checkpoint section %s has %d bytes' % (name, size))
            if target.device.type == 'cpu':
                _read_exactly(f, _writable_bytes_of(target), name)
            else:
                staging = torch.empty(self.count, dtype=torch.float32)
                _read_exactly(f, _writable_bytes_of(staging), name)
                target.copy_(staging)
        buffer_bytes = bytearray(sections['buffers'][1])
        _read_exactly(f, memoryview(buffer_bytes), 'buffers')
        self._finish(header, memoryview(buffer_bytes))
        return header

    def read_from_bytes(self, blob: BytesLike) -> dict:
        """Fill this state from a checkpoint held in memory (bytes, bytearray, memoryview).
        Returns the checkpoint header."""
        header, payload = parse(blob)
        self._check(header)
        sections = header['sections']
        for name in FLOAT_SECTIONS:
            offset, size = sections[name]
            if size != self.count * 4:
                raise ValueError('checkpoint section %s has %d bytes' % (name, size))
            if size:
                src = torch.frombuffer(payload[offset:offset + size], dtype=torch.float32)
                getattr(self, name).copy_(src)
        offset, size = sections['buffers']
        self._finish(header, payload[offset:offset + size])
        return header


def read_file_header(f: BinaryIO) -> dict:
    """The header of a checkpoint file object, leaving f at the payload."""
    got = read_header(f)
    if got is None:
        raise ValueError('checkpoint file is empty')
    header = got[0]
    if not isinstance(header, dict) or header.get('format') != CHECKPOINT_FORMAT:
        raise ValueError('not a bench_engine checkpoint')
    return header


def _read_exactly(f, view, what):
    if read_into(f, view) != len(view):
        raise ValueError('checkpoint ends inside section %s' % what)


def parse(blob: BytesLike) -> Tuple[dict, memoryview]:
    """(header, payload memoryview) of a checkpoint held in memory."""
    view = memoryview(blob)
    if view.ndim != 1 or view.format != 'B':
        view = view.cast('B')
    if len(view) < 4:
        raise ValueError('not a bench_engine checkpoint (%d bytes)' % len(view))
    (header_len,) = U32.unpack(view[:4])
    if 4 + header_len + 8 > len(view):
        raise ValueError('not a bench_engine checkpoint (bad header length)')
    try:
        header = json.loads(bytes(view[4:4 + header_len]).decode('utf-8'))
    except (UnicodeDecodeError, ValueError):
        raise ValueError('not a bench_engine checkpoint (header is not JSON)') from None
    (payload_len,) = U64.unpack(view[4 + header_len:12 + header_len])
    payload = view[12 + header_len:]
    if len(payload) != payload_len:
        raise ValueError('checkpoint payload holds %d bytes, header says %d' % (len(payload), payload_len))
    if not isinstance(header, dict) or header.get('format') != CHECKPOINT_FORMAT:
        raise ValueError('not a bench_engine checkpoint')
    return header, payload


def section_tensors(blob: BytesLike) -> Tuple[dict, Dict[str, torch.Tensor], memoryview]:
    """(header, {section name: float32 tensor view}, buffer payload view) of a checkpoint in
    memory, for tools that work on checkpoints without a model (averaging)."""
    header, payload = parse(blob)
    out = {}
    for name in FLOAT_SECTIONS:
        offset, size = header['sections'][name]
        out[name] = torch.frombuffer(payload[offset:offset + size], dtype=torch.float32) if size else torch.empty(0)
    offset, size = header['sections']['buffers']
    return header, out, payload[offset:offset + size]


def buffer_tensors(header: dict, buffer_bytes: BytesLike) -> Dict[str, torch.Tensor]:
    """The buffers of a checkpoint as tensors (views), by name."""
    out = {}
    for item in header['buffers']:
        raw = buffer_bytes[item['offset']:item['offset'] + item['bytes']]
        dtype = _DTYPES[item['dtype']]
        tensor = torch.frombuffer(raw, dtype=dtype) if item['bytes'] else torch.empty(0, dtype=dtype)
        out[item['name']] = tensor.view(item['shape'])
    return out


def build(header: dict, sections: Dict[str, torch.Tensor], buffers: Dict[str, torch.Tensor]) -> bytes:
    """A checkpoint (bytes) from a header and float sections / buffers (as section_tensors and
    buffer_tensors return them, possibly modified)."""
    header = dict(header)
    count = int(header['paramCount'])
    payload = []
    for name in FLOAT_SECTIONS:
        t = sections[name].to(torch.float32).contiguous()
        if t.numel() != count:
            raise ValueError('section %s holds %d values, expected %d' % (name, t.numel(), count))
        payload.append(_bytes_of(t))
    size = header['sections']['buffers'][1]
    packed = bytearray(size)
    for item in header['buffers']:
        if item['bytes']:
            value = buffers[item['name']].to(_DTYPES[item['dtype']])
            packed[item['offset']:item['offset'] + item['bytes']] = _bytes_of(value)
    payload.append(memoryview(packed))
    total = sum(len(c) for c in payload)
    return b''.join([encode_prefix(header, total)] + payload)


__all__ = ['FlatState', 'parse', 'section_tensors', 'buffer_tensors', 'build', 'FrameError']
