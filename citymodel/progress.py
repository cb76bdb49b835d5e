"""Progress bars (rich) shared by every long-running step."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["progress_bar", "console"]

#: The console all progress and summaries go to (stderr, so stdout stays for data / JSON).
console = Console(stderr=True)


@contextlib.contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress]:
    """A rich Progress with the toolkit's columns; disabled (no output) when ``enabled`` is False.

    Usage::

        with progress_bar() as p:
            task = p.add_task("Reconstructing", total=n)
            ...
            p.advance(task)
    """
    p = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )
    with p:
        yield p
