"""Pause Python's cyclic garbage collector while building many small containers.

Parsing a CityJSON file creates millions of lists and dicts, none of them garbage; every few
hundred allocations the collector walks the whole (growing) heap, which makes parsing a
30 MB file ~10x slower (measured: orjson 2.6 s with the collector, 0.32 s without, on a
20,000-building file). Reference counting still frees everything as usual.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator
from typing import TypeVar

__all__ = ["paused_gc", "without_gc"]

F = TypeVar("F", bound=Callable)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector inside the block (restored after, also on errors)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def without_gc(fn: F) -> F:
    """Decorator form of :func:`paused_gc`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with paused_gc():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
