"""The binary frame shared by the worker protocol and the engine data file:

    u32 LE header length | UTF-8 JSON header | u64 LE payload length | payload bytes

Mirrors src/engine/protocol.ts. Payloads are read into one writable bytearray, so tensors
decoded from it are views (no copy, no read-only warning)."""

import json
import os
import struct
from typing import BinaryIO, List, Optional, Sequence, Tuple, Union

U32 = struct.Struct('<I')
U64 = struct.Struct('<Q')
MAX_HEADER = 64 * 1024 * 1024

BytesLike = Union[bytes, bytearray, memoryview]
# One bytes-like object or a list of them, written one after another.
Payload = Union[BytesLike, Sequence[BytesLike]]


class FrameError(Exception):
    pass


def read_into(f: BinaryIO, view: memoryview) -> int:
    """Fill view from the raw file f; returns the count read (short only at EOF)."""
    got = 0
    total = len(view)
    while got < total:
        k = f.readinto(view[got:])
        if not k:
            break
        got += k
    return got


def _read_exact(f: BinaryIO, n: int, what: str) -> bytearray:
    buf = bytearray(n)
    got = read_into(f, memoryview(buf))
    if got != n:
        raise FrameError('stream ended inside a frame (%s: %d of %d bytes)' % (what, got, n))
    return buf


def read_header(f: BinaryIO) -> Optional[Tuple[dict, int]]:
    """Read a frame's header from a binary file object (raw or buffered). Returns (header dict,
    payload length), or None on a clean end of stream before a frame starts."""
    first = bytearray(4)
    got = read_into(f, memoryview(first))
    if got == 0:
        return None
    if got != 4:
        raise FrameError('stream ended inside a frame header length')
    (header_len,) = U32.unpack(first)
    if header_len > MAX_HEADER:
        raise FrameError('frame header of %d bytes is too large (corrupt stream?)' % header_len)
    header = decode_header(_read_exact(f, header_len, 'header'))
    (payload_len,) = U64.unpack(_read_exact(f, 8, 'payload length'))
    return header, payload_len


def read_payload(f: BinaryIO, payload_len: int) -> bytearray:
    """Read a frame's payload (after read_header) into a new bytearray."""
    return _read_exact(f, payload_len, 'payload') if payload_len else bytearray()


def read_frame(f: BinaryIO) -> Optional[Tuple[dict, bytearray]]:
    """Read one frame: (header dict, payload bytearray), or None at a clean end of stream."""
    got = read_header(f)
    if got is None:
        return None
    header, payload_len = got
    return header, read_payload(f, payload_len)


def _chunks(payload: Optional[Payload]) -> List[memoryview]:
    if payload is None:
        return []
    if isinstance(payload, (list, tuple)):
        return [memoryview(p).cast('B') for p in payload]
    return [memoryview(payload).cast('B')]


def _finite(value):
    """Non-finite floats as the strings 'NaN', 'Infinity', '-Infinity' (JSON has no literal
    for them; src/engine/protocol.ts turns these strings back into numbers)."""
    if isinstance(value, float):
        if value != value:
            return 'NaN'
        if value in (float('inf'), float('-inf')):
            return 'Infinity' if value > 0 else '-Infinity'
        return value
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def encode_header(header: dict) -> bytes:
    try:
        text = json.dumps(header, separators=(',', ':'), allow_nan=False)
    except ValueError:  # a diverged loss: NaN or infinity
        text = json.dumps(_finite(header), separators=(',', ':'), allow_nan=False)
    return text.encode('utf-8')


def decode_header(data: Union[bytes, bytearray]) -> dict:
    return json.loads(data.decode('utf-8'))


def encode_prefix(header: dict, payload_len: int) -> bytes:
    data = encode_header(header)
    return U32.pack(len(data)) + data + U64.pack(payload_len)


def _write_all(fd: int, view: memoryview) -> None:
    while len(view):
        k = os.write(fd, view)
        view = view[k:]


def write_frame_fd(fd: int, header: dict, payload: Optional[Payload] = None) -> int:
    """Write one frame to a file descriptor (blocking). payload: bytes-like or a list of them.
    Returns the bytes written."""
    chunks = _chunks(payload)
    size = sum(len(c) for c in chunks)
    prefix = encode_prefix(header, size)
    if size and size <= 65536:
        _write_all(fd, memoryview(prefix + b''.join(chunks)))
    else:
        _write_all(fd, memoryview(prefix))
        for c in chunks:
            _write_all(fd, c)
    return len(prefix) + size


def write_frame(f: BinaryIO, header: dict, payload: Optional[Payload] = None) -> int:
    """Write one frame to a binary file object. Returns the bytes written."""
    chunks = _chunks(payload)
    size = sum(len(c) for c in chunks)
    prefix = encode_prefix(header, size)
    f.write(prefix)
    for c in chunks:
        f.write(c)
    return len(prefix) + size
