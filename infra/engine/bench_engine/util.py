"""Helpers shared by every module of the engine, one copy each.

Imports nothing heavy (no torch): PL/Python backends and the worker's start-up import it before
they pay for torch."""

import time
from typing import Iterable, SupportsInt


def now_ms() -> float:
    """Wall-clock milliseconds since the Unix epoch (the unit of every span)."""
    return time.time() * 1000.0


def prod(shape: Iterable[SupportsInt]) -> int:
    """The product of a shape's dimensions (1 for an empty shape)."""
    out = 1
    for d in shape:
        out *= int(d)
    return out

