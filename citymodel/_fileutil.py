"""Atomic output files: write to a temporary file in the same folder, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from citymodel.errors import OutputExistsError

__all__ = ["atomic_path", "check_output"]


def check_output(path: str | os.PathLike, overwrite: bool) -> Path:
    """Return ``path`` as a Path, refusing to replace an existing file unless ``overwrite``.

    Raises
    ------
    OutputExistsError
        When the file exists and ``overwrite`` is False.
    """
    p = Path(path)
    if p.exists() and not overwrite:
        raise OutputExistsError(f"{p}: output exists; pass overwrite=True (CLI: --overwrite) to replace it")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary file keeps the final suffix (some writers, GDAL's among them, pick the
    format from it). On any exception the temporary file is removed and ``path`` is untouched.
    """
    final = check_output(path, overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(final.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".part{suffix}", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # writers that refuse existing files (GDAL) create it themselves
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
