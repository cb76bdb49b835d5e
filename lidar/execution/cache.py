"""Per-block outputs of the build kept in a work folder, so that an interrupted build resumes.

Each block's output (its buildings' results and, for the terrain, its ground points) is written
atomically to ``<workdir>/block_<key>.pkl``, where the key is a SHA-256 of everything the output
depends on: the input files (resolved path, size, modification time), the options, and the block
(its footprints' indices and geometries, its box and those of the blocks before it). A re-run with
the same inputs and options finds the file and skips the block; a changed input or option gives
other keys, so stale outputs are never used (they stay in the folder until it is emptied).

The files are pickles: only open a work folder you (or your cluster) wrote.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from citymodel._fileutil import atomic_path
from citymodel.errors import InputError

#: Bumped whenever the content of a block output changes meaning.
FORMAT = 1


def file_signature(path: str | os.PathLike) -> tuple[str, int, int]:
    """(resolved path, size [bytes], modification time [ns]) of an input file."""
    p = Path(path).resolve()
    st = p.stat()
    return str(p), int(st.st_size), int(st.st_mtime_ns)


def run_key(files: Iterable[str | os.PathLike], options: dict[str, Any]) -> str:
    """Hex key of a run's inputs (files by signature) and options (any repr-stable values)."""
    h = hashlib.sha256(f"citymodel-build-block v{FORMAT}".encode())
    for f in files:
        h.update(repr(file_signature(f)).encode())
    h.update(repr(sorted(options.items())).encode())
    return h.hexdigest()


def block_key(run: str, indices: Iterable[int], wkbs: Iterable[bytes], boxes_m: np.ndarray) -> str:
    """Hex key of one block: the run's key, its footprints and the boxes that decide its points."""
    h = hashlib.sha256(run.encode())
    for i, w in zip(indices, wkbs, strict=True):
        h.update(int(i).to_bytes(8, "little"))
        h.update(w)
    h.update(np.ascontiguousarray(boxes_m, dtype=np.float64).tobytes())
    return h.hexdigest()[:32]


def block_path(workdir: str | os.PathLike, key: str) -> Path:
    """Where block ``key``'s output lives in ``workdir``."""
    return Path(workdir) / f"block_{key}.pkl"


def prepare(workdir: str | os.PathLike) -> Path:
    """Create the work folder if needed; it must be a folder."""
    d = Path(workdir)
    if d.exists() and not d.is_dir():
        raise InputError(f"work folder {d} exists and is not a folder; pass a folder (CLI: --workdir DIR)")
    d.mkdir(parents=True, exist_ok=True)
    return d


def save(path: Path, out: Any) -> None:
    """Write one block's output atomically (temporary file, then rename)."""
    with atomic_path(path, overwrite=True) as tmp, open(tmp, "wb") as f:
        pickle.dump(out, f, protocol=pickle.HIGHEST_PROTOCOL)


def load(path: Path) -> Any | None:
    """One block's output, or None when absent or unreadable (then the block is built again)."""
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return None
