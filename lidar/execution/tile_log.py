"""The tile log of a build: one JSON line per tile as it finishes, in ``<workdir>/tiles.jsonl``.

Each line holds the tile's name, its number, its buildings and points, its wall time [s], its
status (``ok``, ``reused``, ``failed``) with the reason of a failure, and the start time of the
run (UTC, ISO 8601) that wrote it: runs append, so a resumed build's log shows both runs. The
lines are written and flushed one at a time, so the log of a killed build is readable up to the
last finished tile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["LOG_NAME", "TileLog", "open_log", "write", "read_log", "failed_summary"]

#: File name of the tile log in the work folder.
LOG_NAME = "tiles.jsonl"


@dataclasses.dataclass
class TileLog:
    """An open tile log and the start time of the run writing it."""

    fh: IO[str]
    run: str


@contextlib.contextmanager
def open_log(workdir: str | os.PathLike) -> Iterator[TileLog]:
    """The tile log of ``workdir``, opened for appending (the folder is created if needed)."""
    d = Path(workdir)
    d.mkdir(parents=True, exist_ok=True)
    run = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    with open(d / LOG_NAME, "a", encoding="utf-8") as fh:
        yield TileLog(fh, run)


def write(log: TileLog, report: Any) -> None:
    """Append one tile's report (a dataclass such as :class:`lidar.execution.run.TileReport`)."""
    row = dataclasses.asdict(report)
    row["seconds"] = round(float(row["seconds"]), 3)
    row["run"] = log.run
    log.fh.write(json.dumps(row) + "\n")
    log.fh.flush()


def read_log(workdir: str | os.PathLike) -> list[dict[str, Any]]:
    """The lines of ``<workdir>/tiles.jsonl`` (an unfinished last line is ignored)."""
    path = Path(workdir) / LOG_NAME
    rows = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                rows.append(json.loads(line))
    return rows


def failed_summary(reports: Sequence[Any], limit: int = 20) -> list[str]:
    """One line per failed tile (its name, buildings and reason), at most ``limit``, then a count
    of the rest."""
    failed = [r for r in reports if r.status == "failed"]
    lines = [f"tile {r.tile}: {r.n_buildings} buildings not built: {r.reason}" for r in failed[:limit]]
    if len(failed) > limit:
        lines.append(f"... and {len(failed) - limit} more failed tiles")
    return lines
