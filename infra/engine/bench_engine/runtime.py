"""Process-wide settings: threads, denormals, the allocator and the device models and batches live on.

torch may default to 1 thread whatever the core count, so every entry point (worker, raw loop,
PL/Python) sets threads explicitly (docs/architecture.md, "Vocabulary").

Denormal floats are flushed to zero on the CPU (as TensorFlow does by default), from the moment
this module is imported, in the importing thread and in the threads it starts afterwards (torch's
intra-op pool inherits the mode). An arithmetic operation on a denormal costs tens to hundreds of
cycles on x86 cores; small learning rates with L2 drift Adam's moments into that range, so a
config's third criteo/small epoch ran 3x slower than its first, and how often a run met denormals
depended on its trajectory (the shard order), not on the approach (docs/engine.md, "Denormals").
"""

import ctypes
import os

import torch

_interop_set = False
_device = None

#: Whether this CPU flushes denormals to zero (torch reports False where it cannot, e.g. no DAZ).
FLUSH_DENORMAL = bool(torch.set_flush_denormal(True))

# glibc's mallopt parameters (malloc.h) and the largest mmap threshold it accepts on 64-bit.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 1024 * 1024


def _keep_tensors_on_the_heap() -> bool:
    """Serve allocations up to 32 MiB from the heap, not from fresh mmaps (docs/engine.md,
    "Allocation"). glibc mmaps every block over its threshold (128 KiB at start) and unmaps it on
    free, so a training step's gradients and activations were new zeroed pages every step: 530,000
    page faults in a criteo/small epoch. glibc raises the threshold by itself once a large mmapped
    block is freed, which a loaded checkpoint does and a fresh model does not, so a process trained
    up to 27% faster after its first checkpoint. Set once, here, for every entry point; a threshold
    the user set (MALLOC_MMAP_THRESHOLD_, GLIBC_TUNABLES) is left alone. False where the C library
    has no mallopt (not glibc) or refused."""
    if 'MALLOC_MMAP_THRESHOLD_' in os.environ or 'mmap_threshold' in os.environ.get('GLIBC_TUNABLES', ''):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # The trim threshold twice the mmap threshold, as glibc's own adjustment sets it.
    return mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, 2 * _MMAP_THRESHOLD) == 1


#: Whether allocations up to 32 MiB now come from the heap (glibc's mallopt took the thresholds).
HEAP_ALLOCATION = _keep_tensors_on_the_heap()


def set_threads(n: int) -> int:
    """Set torch's intra-op threads to n (every call) and inter-op threads (once per process:
    torch refuses a second call, or one after inter-op work started). Returns the intra-op
    count in effect."""
    global _interop_set
    n = max(1, int(n))
    torch.set_num_threads(n)
    if not _interop_set:
        _interop_set = True
        try:
            torch.set_num_interop_threads(n)
        except RuntimeError:
            # Already set (e.g. by an earlier import in this backend) or parallel work started.
            pass
    return torch.get_num_threads()


def threads_from_env(default: int = 1) -> int:
    """The thread count the TypeScript side asked for (BENCH_ENGINE_THREADS, then
    OMP_NUM_THREADS), else default."""
    for name in ('BENCH_ENGINE_THREADS', 'OMP_NUM_THREADS'):
        value = os.environ.get(name)
        if value:
            try:
                return max(1, int(value))
            except ValueError:
                pass
    return default


def device() -> torch.device:
    """CUDA when torch sees a GPU, else CPU (decided once per process)."""
    global _device
    if _device is None:
        forced = os.environ.get('BENCH_ENGINE_DEVICE')
        if forced:
            _device = torch.device(forced)
        elif torch.cuda.is_available():
            _device = torch.device('cuda')
        else:
            _device = torch.device('cpu')
    return _device


def describe_device() -> str:
    """A short name of the device, e.g. 'cpu' or 'cuda:0 (NVIDIA H100 80GB HBM3)'."""
    dev = device()
    if dev.type == 'cuda':
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        return 'cuda:%d (%s)' % (index, torch.cuda.get_device_name(index))
    return dev.type


def synchronize() -> None:
    """Wait for queued GPU work, so a span's end is when the work ended (no-op on CPU)."""
    if device().type == 'cuda':
        torch.cuda.synchronize()
