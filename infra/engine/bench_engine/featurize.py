"""Featurisation and packing of raw rows into buffers: the in-DBMS ETL (docs/architecture.md, "Data").

Called by the aggregates of infra/sql/10-pack.sql, one aggregate call per buffer:

    bench_pack_criteo(label, ints, cats, int_buckets, hash_buckets ORDER BY shuffle key)
    bench_pack_image(label, image, image_size ORDER BY shuffle key)

The transition functions only append the row's values to Python lists kept in PL/Python's GD
(the aggregate's SQL state is a bigint key into GD); the final function builds the whole buffer
at once with numpy and returns (n, x, y): x = n * prod(feature shape) float32 little-endian, y = n
int32 little-endian (the packed layout of docs/architecture.md, "Data").

Criteo (the paper's artifact; workloads/featurize.ts is the TypeScript twin and must agree value
for value):
  integer feature value v -> bucket 0 when missing, else
                             min(B - 1, 1 + #{j in [0, B-2) : 1.5**j - 0.51 <= v})
  categorical hex string s -> bucket 0 when missing (NULL or ''), else 1 + crc32(s) % (H - 1)
  x = 13 one-hot blocks of B, then 26 one-hot blocks of H (dimension 13 B + 26 H)
ImageNet: uint8 size x size x 3 (channels last) -> float32 3 x size x size in [0, 1].
"""

import zlib
from typing import Any, List, MutableMapping, Optional, Sequence, Tuple

import numpy as np

INT_FEATURES = 13
CAT_FEATURES = 26
_GD_KEY = 'bench_pack'
# (n, x bytes, y bytes) of one packed buffer.
Packed = Tuple[int, bytes, bytes]


# ---------------------------------------------------------------------------------------------
# Pure featurisation (no database): used by the aggregates and by tests.

def int_boundaries(int_buckets: int) -> np.ndarray:
    if int_buckets < 2:
        raise ValueError('int_buckets must be at least 2, got %d' % int_buckets)
    return np.array([1.5 ** j - 0.51 for j in range(int_buckets - 2)], dtype=np.float64)


def int_buckets_of(ints_rows: Sequence[Optional[Sequence[Optional[int]]]], int_buckets: int) -> np.ndarray:
    """(n, 13) int64 bucket indices of integer features; rows are lists with None for missing."""
    n = len(ints_rows)
    rows = [r if r is not None else [None] * INT_FEATURES for r in ints_rows]
    values = np.array(rows, dtype=np.float64).reshape(n, INT_FEATURES)  # None -> nan
    count = np.searchsorted(int_boundaries(int_buckets), values, side='right')
    buckets = np.minimum(int_buckets - 1, 1 + count)
    buckets[np.isnan(values)] = 0
    return buckets.astype(np.int64)


def cat_buckets_of(cats_rows: Sequence[Optional[Sequence[Optional[str]]]], hash_buckets: int) -> np.ndarray:
    """(n, 26) int64 bucket indices of categorical features; '' or None is missing."""
    if hash_buckets < 2:
        raise ValueError('hash_buckets must be at least 2, got %d' % hash_buckets)
    n = len(cats_rows)
    out = np.zeros((n, CAT_FEATURES), dtype=np.int64)
    modulus = hash_buckets - 1
    crc = zlib.crc32
    for i, row in enumerate(cats_rows):
        if row is None:
            continue
        if len(row) != CAT_FEATURES:
            raise ValueError('a Criteo row has %d categorical features, expected %d' % (len(row), CAT_FEATURES))
        out_row = out[i]
        for f, s in enumerate(row):
            if s:
                out_row[f] = 1 + crc(s.encode('utf-8')) % modulus
    return out


def criteo_features(ints_rows: Sequence, cats_rows: Sequence, int_buckets: int, hash_buckets: int) -> np.ndarray:
    """(n, 13 B + 26 H) float32 one-hot features."""
    n = len(ints_rows)
    dim = INT_FEATURES * int_buckets + CAT_FEATURES * hash_buckets
    x = np.zeros((n, dim), dtype=np.float32)
    if n == 0:
        return x
    rows = np.arange(n)[:, None]
    int_offsets = np.arange(INT_FEATURES, dtype=np.int64) * int_buckets
    cat_offsets = INT_FEATURES * int_buckets + np.arange(CAT_FEATURES, dtype=np.int64) * hash_buckets
    x[rows, int_offsets + int_buckets_of(ints_rows, int_buckets)] = 1.0
    x[rows, cat_offsets + cat_buckets_of(cats_rows, hash_buckets)] = 1.0
    return x


def image_features(images: Sequence[bytes], image_size: int) -> np.ndarray:
    """(n, 3, size, size) float32 in [0, 1] from n raw uint8 HWC images (bytes)."""
    plane = image_size * image_size * 3
    for i, image in enumerate(images):
        if image is None or len(image) != plane:
            raise ValueError('image %d has %s bytes, expected %dx%dx3 = %d' % (
                i, 'no' if image is None else len(image), image_size, image_size, plane))
    raw = np.frombuffer(b''.join(images), dtype=np.uint8).reshape(len(images), image_size, image_size, 3)
    return np.ascontiguousarray(raw.transpose(0, 3, 1, 2)).astype(np.float32) / np.float32(255.0)


def labels_bytes(labels: Sequence[int]) -> bytes:
    return np.asarray([0 if v is None else v for v in labels], dtype='<i4').tobytes()


def pack_criteo_rows(labels: Sequence[int], ints_rows: Sequence, cats_rows: Sequence, int_buckets: int,
                     hash_buckets: int) -> Packed:
    x = criteo_features(ints_rows, cats_rows, int_buckets, hash_buckets)
    return len(labels), x.astype('<f4', copy=False).tobytes(), labels_bytes(labels)


def pack_image_rows(labels: Sequence[int], images: Sequence[bytes], image_size: int) -> Packed:
    x = image_features(images, image_size)
    return len(labels), x.astype('<f4', copy=False).tobytes(), labels_bytes(labels)


# ---------------------------------------------------------------------------------------------
# Aggregate plumbing: the SQL state is a key into GD, the rows wait in Python lists.

def _registry(GD):
    reg = GD.get(_GD_KEY)
    if reg is None:
        reg = {'next': 1, 'open': {}}
        GD[_GD_KEY] = reg
    return reg


def reset(GD: MutableMapping[str, Any]) -> int:
    """Forget buffers left half-built by an aborted statement in this backend."""
    dropped = len(_registry(GD)['open'])
    GD[_GD_KEY] = {'next': 1, 'open': {}}
    return dropped


def _open(GD, state, params):
    reg = _registry(GD)
    if state is None:
        state = reg['next']
        reg['next'] += 1
        reg['open'][state] = {'params': params, 'cols': ([], [], [])}
    return state, reg['open'][state]['cols']


def criteo_step(GD: MutableMapping[str, Any], state: Optional[int], label: int, ints: List[Optional[int]],
                cats: List[Optional[str]], int_buckets: int, hash_buckets: int) -> int:
    state, (labels, ints_rows, cats_rows) = _open(GD, state, (int_buckets, hash_buckets))
    labels.append(label)
    ints_rows.append(ints)
    cats_rows.append(cats)
    return state


def criteo_final(GD: MutableMapping[str, Any], state: Optional[int]) -> Optional[Packed]:
    if state is None:
        return None
    entry = _registry(GD)['open'].pop(state)
    labels, ints_rows, cats_rows = entry['cols']
    int_buckets, hash_buckets = entry['params']
    return pack_criteo_rows(labels, ints_rows, cats_rows, int_buckets, hash_buckets)


def image_step(GD: MutableMapping[str, Any], state: Optional[int], label: int, image: bytes,
               image_size: int) -> int:
    state, (labels, images, _unused) = _open(GD, state, (image_size,))
    labels.append(label)
    images.append(image)
    return state


def image_final(GD: MutableMapping[str, Any], state: Optional[int]) -> Optional[Packed]:
    if state is None:
        return None
    entry = _registry(GD)['open'].pop(state)
    labels, images, _unused = entry['cols']
    (image_size,) = entry['params']
    return pack_image_rows(labels, images, image_size)
