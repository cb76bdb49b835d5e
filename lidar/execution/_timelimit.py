"""Worker processes with a hard time limit per task (private; used by :mod:`lidar.build`).

A task that runs past its limit (for example a building stuck inside a numba kernel, where the
cooperative checks of :func:`lidar.reconstruct.building.reconstruct_building` never run) has its
worker process killed; the worker is replaced and the task is reported as timed out, so the
caller can fall back to a lower LoD. Workers are started once (``forkserver``: they do not
inherit the parent's numba threads), warmed up (numba kernels loaded) before their clock
starts, and kept for later runs in the same process (:func:`runner`), so that the common path
costs one pipe round trip per building, not a process.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from citymodel.errors import ReconstructionError

#: Tasks sent to a worker at a time. One: a worker is always reading when it is sent a task, so
#: big tasks and big results never block each other in the pipe; the parent prepares the next
#: task while the workers run instead.
DEPTH = 1


def _worker_main(conn: Connection, fn: Callable[[Any], Any], warmup: Callable[[], Any] | None) -> None:
    if warmup is not None:
        try:
            warmup()
        except Exception:  # noqa: BLE001 (a failed warm-up only costs time in the first task)
            pass
    conn.send(("ready", None))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        key, task = msg
        conn.send((key, fn(task)))


#: Workers that may die before they are ready (per worker slot) before :meth:`HardLimitRunner.run`
#: gives up with a clear error instead of starting them again and again.
MAX_START_FAILURES = 2


@contextlib.contextmanager
def main_script_hidden():
    """Hide the ``__main__`` script from multiprocessing while workers start.

    ``forkserver`` and ``spawn`` children import the parent's main script (so that functions
    defined there can be unpickled); a user's script that calls :func:`lidar.build.build_model`
    without an ``if __name__ == "__main__":`` guard would then run again in every worker. The
    workers only run module-level functions of this package, so they do not need it.
    """
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main is not None and k in main.__dict__}
    try:
        if main is not None:
            main.__dict__.pop("__file__", None)
            if "__spec__" in saved:
                main.__spec__ = None
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


def stop_workers(workers: Sequence[Any]) -> None:
    """Ask worker processes (each with ``conn`` and ``proc``) to stop; kill those still alive after 2 s."""
    for w in workers:
        try:
            w.conn.send(None)
        except (OSError, ValueError):
            pass
    for w in workers:
        w.proc.join(2)
        if w.proc.is_alive():
            w.proc.kill()


class _Worker:
    def __init__(self, ctx, fn, warmup) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, fn, warmup), daemon=True)
        with main_script_hidden():
            self.proc.start()
        child.close()
        self.ready = False
        self.inflight: deque[tuple[int, Any]] = deque()
        self.started = 0.0  # when the head of ``inflight`` began

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class HardLimitRunner:
    """A set of worker processes running ``fn(task)`` with a wall-clock limit per task.

    Parameters
    ----------
    fn : callable
        Module-level function (picklable) of one task.
    n_workers : int
        Worker processes.
    warmup : callable, optional
        Run once in each new worker before it takes tasks (not timed).
    """

    def __init__(self, fn: Callable[[Any], Any], n_workers: int = 1, warmup: Callable[[], Any] | None = None) -> None:
        self.fn, self.warmup = fn, warmup
        self.ctx = multiprocessing.get_context("forkserver")
        self.workers = [_Worker(self.ctx, fn, warmup) for _ in range(max(1, int(n_workers)))]
        self.n_killed = 0
        self.n_start_failures = 0
        self._retry: deque[Any] = deque()  # tasks to send first: resubmitted, of killed workers, prepared

    def resubmit(self, task: Any) -> None:
        """Queue one more task in the running :meth:`run` (for example a fallback of a timed-out one)."""
        self._retry.append(task)

    def close(self) -> None:
        stop_workers(self.workers)
        self.workers = []

    def _replace(self, k: int) -> None:
        self.workers[k].kill()
        self.workers[k] = _Worker(self.ctx, self.fn, self.warmup)
        self.n_killed += 1

    def run(self, tasks: Iterable[Any], limit_s: Callable[[Any], float]) -> Iterator[tuple[Any, Any, str | None]]:
        """Yield ``(task, result, None)`` per finished task, ``(task, None, why)`` per task whose
        worker was killed at its limit (or died); results come in completion order. While it runs,
        :meth:`resubmit` adds tasks; it ends when every task is done."""
        todo = iter(tasks)
        retry = self._retry
        retry.clear()
        exhausted = False
        key = 0

        def next_task():
            nonlocal exhausted
            if retry:
                return retry.popleft()
            if exhausted:
                return None
            try:
                return next(todo)
            except StopIteration:
                exhausted = True
                return None

        try:
            while True:
                for w in self.workers:  # keep every ready worker's pipe filled
                    while w.ready and len(w.inflight) < DEPTH:
                        t = next_task()
                        if t is None:
                            break
                        if not w.inflight:
                            w.started = time.perf_counter()
                        w.conn.send((key, t))
                        w.inflight.append((key, t))
                        key += 1
                busy = [w for w in self.workers if w.inflight or not w.ready]
                if not any(w.inflight for w in self.workers) and exhausted and not retry:
                    return
                if not retry and not exhausted:  # prepare the next task while the workers run
                    t = next_task()
                    if t is not None:
                        retry.append(t)
                now = time.perf_counter()
                waits = [w.started + limit_s(w.inflight[0][1]) - now for w in busy if w.inflight and w.ready]
                timeout = max(0.0, min(waits)) if waits else None
                for conn in wait([w.conn for w in busy], timeout=timeout):
                    k = next(i for i, w in enumerate(self.workers) if w.conn is conn)
                    w = self.workers[k]
                    try:
                        tag, out = conn.recv()
                    except (EOFError, OSError):  # the worker died (killed by the OS, a crash in C)
                        if w.inflight:
                            _, t = w.inflight.popleft()
                            retry.extend(t2 for _, t2 in w.inflight)
                            w.inflight.clear()
                            self._replace(k)
                            yield t, None, "the worker process died"
                        else:  # it died before it was ready: it cannot start here
                            self.n_start_failures += 1
                            if self.n_start_failures > MAX_START_FAILURES * len(self.workers):
                                raise ReconstructionError(
                                    "the worker processes that enforce the per-building time limit "
                                    f"died while starting, {self.n_start_failures} times (exit code "
                                    f"{w.proc.exitcode}); build without them: "
                                    "build_model(..., hard_time_limit=False)") from None
                            self._replace(k)
                        continue
                    if tag == "ready":
                        w.ready = True
                        continue
                    _, t = w.inflight.popleft()
                    w.started = time.perf_counter()
                    yield t, out, None
                now = time.perf_counter()
                for k, w in enumerate(self.workers):
                    if w.ready and w.inflight and now - w.started > limit_s(w.inflight[0][1]):
                        _, t = w.inflight.popleft()
                        retry.extend(t2 for _, t2 in w.inflight)
                        w.inflight.clear()
                        self._replace(k)
                        yield t, None, f"stopped at the hard time limit of {limit_s(t):g} s (worker process ended)"
        finally:  # abandoned midway (an error in the caller): no stale task may stay in a pipe
            for k, w in enumerate(self.workers):
                if w.inflight:
                    w.inflight.clear()
                    self._replace(k)


#: Worker pools kept for later builds of this process, by kind and arguments.
_KEPT: dict[tuple, Any] = {}


def kept(key: tuple, make: Callable[[], Any]) -> Any:
    """The process's pool for ``key`` (``make()`` on first use, or when a worker has died; kept
    until exit). A pool has ``workers`` (each with ``proc``) and ``close()``."""
    p = _KEPT.get(key)
    if p is None or any(not w.proc.is_alive() for w in p.workers):
        if p is not None:
            p.close()
        p = _KEPT[key] = make()
    return p


def kept_pools() -> list[Any]:
    """The pools :func:`kept` holds now (for measuring their workers)."""
    return list(_KEPT.values())


def runner(fn: Callable[[Any], Any], n_workers: int, warmup: Callable[[], Any] | None = None) -> HardLimitRunner:
    """The process's runner for ``fn`` with ``n_workers`` workers (started on first use, kept)."""
    return kept(("runner", fn, int(n_workers)), lambda: HardLimitRunner(fn, n_workers, warmup))


@atexit.register
def _close_all() -> None:
    for p in _KEPT.values():
        p.close()
    _KEPT.clear()
