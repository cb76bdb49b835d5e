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


def run_blocks(scheduler: Any, jobs: Sequence[Any], fn: Callable[[Any], Any]) -> Iterator[tuple[Any, Any, str | None]]:
    """Run ``fn(job)`` for every job on a Dask cluster; yield ``(job, result, None)`` in
    completion order, or ``(job, None, reason)`` for a task that raised or was lost (a worker
    died): the other jobs go on.

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
        jobs = list(jobs)
        futures = client.map(fn, jobs, pure=False)
        job_of = {f.key: j for f, j in zip(futures, jobs, strict=True)}
        for fut in distributed.as_completed(futures):
            job = job_of[fut.key]
            try:
                out = fut.result()
            except Exception as exc:  # noqa: BLE001 - reported per tile, the others go on
                yield job, None, f"on the Dask cluster: {type(exc).__name__}: {exc}"
            else:
                yield job, out, None
            fut.release()
