"""Independent jobs here, on a local pool or on a Dask cluster: one executor helper for every solver.

The build's blocks, the solar solver's sensor blocks and the heat solver's grid tiles are
independent jobs of one module-level function ``fn(shared, job)``: ``shared`` is sent once
per worker (a process pool's initializer, Dask's ``scatter(broadcast=True)``), each job is
sent with its task. :func:`run_jobs` yields the results **in job order** with a bounded
number of jobs in flight, so that a reduction over them adds in the same order whatever runs
them (the same floating-point answer here, on a pool and on a cluster) and the caller holds
only a few results at a time.

Where the jobs run (``scheduler``):

* ``None``: here, one after the other (``workers`` 1), or a process pool when ``workers > 1``;
* ``"processes"``: a local process pool (forkserver) of ``workers`` processes;
* ``"threads"``: a local thread pool of ``workers`` threads (for kernels that release the GIL);
* an address ``"tcp://HOST:8786"`` or a connected ``dask.distributed.Client``: the workers of
  that existing cluster (the optional ``dask`` extra; no scheduler of our own). The function,
  ``shared`` and the jobs are pickled to the workers: files they name must be reachable there.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from citymodel._optional import require
from citymodel.errors import CityModelError, InputError

__all__ = ["LOCAL_SCHEDULERS", "SCHEDULER_HELP", "describe", "dask_client", "run_jobs"]

#: Scheduler names that run on this machine (anything else is a Dask scheduler address).
LOCAL_SCHEDULERS = ("processes", "threads")
#: Help text of the CLI's ``--scheduler`` option, shared by the commands.
SCHEDULER_HELP = ("Where the jobs run: 'processes' or 'threads' (a local pool of --workers), or the "
                  "address of a running Dask scheduler (tcp://HOST:8786) whose workers run them. "
                  "Default: here, or a process pool when --workers > 1.")
#: Jobs in flight per worker (bounds the results held while an earlier job still runs).
JOBS_IN_FLIGHT_PER_WORKER = 2

_SHARED: dict[str, Any] = {}


def describe(scheduler: Any, workers: int) -> str:
    """Words for the log and the outputs' attributes: where :func:`run_jobs` runs the jobs."""
    kind = _kind(scheduler, workers)
    if kind == "serial":
        return "in this process"
    if kind in LOCAL_SCHEDULERS:
        return f"local {kind} pool of {int(workers)}"
    if isinstance(scheduler, str):
        return f"Dask cluster at {scheduler}"
    return f"Dask cluster of the client {scheduler!r}"


def _kind(scheduler: Any, workers: int) -> str:
    if scheduler is None or scheduler == "":
        return "processes" if int(workers) > 1 else "serial"
    if isinstance(scheduler, str) and scheduler in LOCAL_SCHEDULERS:
        return scheduler
    if isinstance(scheduler, str) and scheduler in ("serial", "local", "synchronous"):
        return "serial"
    return "dask"


@contextlib.contextmanager
def dask_client(scheduler: Any) -> Iterator[Any]:
    """A client of the Dask scheduler ``scheduler`` (an address, or a client kept open).

    Raises
    ------
    InputError
        The scheduler cannot be reached (names the address and the CLI option).
    MissingDependencyError
        ``distributed`` is not installed (the ``dask`` extra).
    """
    distributed = require("distributed", extra="dask", feature="--scheduler (Dask)")
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    try:
        client = distributed.Client(str(scheduler), timeout="30s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); check the address "
                         "(CLI: --scheduler tcp://HOST:8786, or processes / threads for a local pool) "
                         "and that the scheduler is running") from None
    try:
        yield client
    finally:
        client.close()


def _set_shared(token: str, shared: Any) -> None:
    _SHARED[token] = shared


def _call_shared(fn: Callable[[Any, Any], Any], token: str, job: Any) -> Any:
    return fn(_SHARED[token], job)


def run_jobs(
    fn: Callable[[Any, Any], Any],
    jobs: Iterable[Any],
    *,
    shared: Any = None,
    scheduler: Any = None,
    workers: int = 1,
) -> Iterator[Any]:
    """Run ``fn(shared, job)`` for every job; yield the results in job order.

    Parameters
    ----------
    fn : callable
        Module-level function (picklable by reference) of the shared object and one job.
    jobs : iterable
        Picklable jobs; consumed lazily (a bounded number is in flight).
    shared : object, optional
        Sent once to every worker (large read-only inputs). Workers may cache derived state on
        it (an Embree scene): it lives as long as the pool or the scattered data.
    scheduler : None, "processes", "threads", str or dask.distributed.Client
        Where the jobs run (see the module docstring).
    workers : int
        Workers of a local pool (ignored on a Dask cluster: its workers are the cluster's).

    Yields
    ------
    object
        ``fn(shared, job)`` of each job, in the order of ``jobs``.

    Raises
    ------
    CityModelError
        A local worker process died (out of memory?); an exception raised by ``fn`` is
        re-raised as it is.
    """
    kind = _kind(scheduler, workers)
    n = max(1, int(workers))
    if kind == "serial":
        for job in jobs:
            yield fn(shared, job)
        return
    if kind == "dask":
        with dask_client(scheduler) as client:
            n_threads = max(1, sum(client.nthreads().values()))
            shared_f = client.scatter(shared, broadcast=True, hash=False)
            try:
                yield from _windowed(lambda job: client.submit(fn, shared_f, job, pure=False),
                                     jobs, JOBS_IN_FLIGHT_PER_WORKER * n_threads)
            finally:
                shared_f.release()
        return
    ex: Executor
    token = uuid.uuid4().hex
    if kind == "threads":
        ex = ThreadPoolExecutor(n, initializer=_set_shared, initargs=(token, shared))
    else:
        ex = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("forkserver"),
                                 initializer=_set_shared, initargs=(token, shared))

    def submit(job: Any) -> Any:
        return ex.submit(_call_shared, fn, token, job)

    try:
        yield from _windowed(submit, jobs, JOBS_IN_FLIGHT_PER_WORKER * n)
    except BrokenProcessPool as exc:
        raise CityModelError(f"a worker process of the local pool died ({exc}): out of memory? "
                             "Use fewer --workers or smaller tiles / blocks") from None
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
        _SHARED.pop(token, None)


def _windowed(submit: Callable[[Any], Any], jobs: Iterable[Any], window: int) -> Iterator[Any]:
    """Results of futures in submission order, at most ``window`` submitted and not consumed."""
    it = iter(jobs)
    pending: deque[Any] = deque(submit(job) for job in itertools.islice(it, max(1, window)))
    try:
        while pending:
            fut = pending.popleft()
            out = fut.result()
            if hasattr(fut, "release"):
                fut.release()
            for job in itertools.islice(it, 1):
                pending.append(submit(job))
            yield out
    finally:
        for fut in pending:
            fut.cancel()
