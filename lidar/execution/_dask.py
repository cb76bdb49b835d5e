"""Blocks of the build on a Dask distributed cluster (private; optional dependency ``dask``).

:func:`run_blocks` submits one task per block and yields the blocks' outputs as they complete,
so that the client holds only the outputs not yet merged. The connection is
:func:`citymodel.executors.dask_client`, shared with the solar and heat solvers. The block function and its jobs are
pickled to the workers: the input files (and the spill folder) must be reachable there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from citymodel import executors
from citymodel._optional import require


def run_blocks(scheduler: Any, jobs: Sequence[Any], fn: Callable[[Any], Any]) -> Iterator[Any]:
    """Run ``fn(job)`` for every job on a Dask cluster; yield the results in completion order.

    Parameters
    ----------
    scheduler : str or dask.distributed.Client
        Scheduler address (``"tcp://host:8786"``) or a connected client (kept open).
    jobs : sequence
        Picklable jobs.
    fn : callable
        Module-level function of one job.
    """
    distributed = require("distributed", extra="dask", feature="--scheduler (Dask)")
    with executors.dask_client(scheduler) as client:
        futures = client.map(fn, list(jobs), pure=False)
        for fut in distributed.as_completed(futures):
            out = fut.result()
            fut.release()
            yield out
