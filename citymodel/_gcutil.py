"""Pause Python's cyclic garbage collector while building many small containers.

Parsing a CityJSON file creates millions of lists and dicts, none of them garbage; every few
hundred allocations the collector walks the whole (growing) heap, which makes parsing a
30 MB file ~10x slower (measured: orjson 2.6 s with the collector, 0.32 s without, on a
20,000-building file). Reference counting still frees everything as usual.

On the way out the new objects are moved straight to the oldest generation
(``gc.freeze()`` + ``gc.unfreeze()``, two list splices): otherwise the first young-generation
collection after the block would walk all of them once more (~0.3 s for 50,000 buildings)
only to promote them anyway.
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
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def without_gc(fn: F) -> F:
    """Decorator form of :func:`paused_gc`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with paused_gc():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
