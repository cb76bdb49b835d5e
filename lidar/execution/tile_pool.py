"""Whole tiles of a spilled build in worker processes, each building under a hard time limit kept
by this process.

Each of the ``workers`` processes (``forkserver``, warmed up once, kept for later builds in this
process) first spills input files, one file per message, into part files per tile
(:func:`lidar.execution.spill.spill_file`, so that the files are read by all workers at once),
then takes whole tiles: it loads a tile's points from its part files, classifies them and
reconstructs its buildings one after the other in its own process (``tile_fn``, given by
:mod:`lidar.execution.run`), telling this process when each building begins and sending each
result as soon as it is done. Only small messages and the results cross the pipes, never the
points.

This process routes the messages: it sends the next tile to a free worker, keeps the results, and
kills a worker whose building runs past its hard limit; the tile then goes again to a new worker,
without the buildings already done and with that building's highest LoD dropped (as
:class:`lidar.execution._timelimit.HardLimitRunner` does for one building). Tiles come back in
plan order whatever order they finish in (at most :data:`TILES_AHEAD_PER_WORKER` per worker are
started past the oldest unfinished one), so that the terrain and the streamed output do not
depend on the number of workers.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from citymodel.errors import CityModelError, ReconstructionError
from lidar.execution import spill
from lidar.execution._timelimit import MAX_START_FAILURES, kept, main_script_hidden, stop_workers

__all__ = ["TilePool", "TileDone", "pool", "TILES_AHEAD_PER_WORKER"]

#: Tiles started past the oldest unfinished one, per worker (bounds the finished tiles held here).
TILES_AHEAD_PER_WORKER = 2


def _worker_main(conn: Connection, warmup: Callable[[], Any] | None, tile_fn: Callable[..., Any]) -> None:
    if warmup is not None:
        try:
            warmup()
        except Exception:  # noqa: BLE001 (a failed warm-up only costs time in the first building)
            pass
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        c0 = time.process_time()
        try:
            if msg[0] == "call":
                conn.send(("called", msg[1](*msg[2]), time.process_time() - c0))
            else:
                tile_fn(functools.partial(_send, conn, c0), *msg[1:])
        except Exception as exc:  # noqa: BLE001 - the tile (or the spill) fails, the worker goes on
            conn.send(("error", exc if msg[0] == "call" else f"{type(exc).__name__}: {exc}"))


def _send(conn: Connection, c0: float, m: tuple) -> None:
    """Send a tile's message; its last one with the tile's CPU time [s] appended."""
    conn.send(m if m[0] != "tile" else (*m, time.process_time() - c0))


class _Worker:
    def __init__(self, ctx, warmup, tile_fn) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, warmup, tile_fn), daemon=True)
        with main_script_hidden():
            self.proc.start()
        child.close()
        self.ready = False
        self.task: Any = None  # what it is working on (a file number, a tile position)
        self.building: tuple[int, float, float] | None = None  # (footprint index, start, hard limit [s])

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()


@dataclasses.dataclass
class TileDone:
    """One tile as it came back from the workers.

    Attributes
    ----------
    job : object
        Its job (a :class:`lidar.execution.plan.BlockJob`).
    results : dict of int to object
        Its buildings' results by footprint index.
    ground : ndarray or None
        Its own ground points [m] (n, 3).
    n_points : int
        Points it loaded.
    classes_desc : str or None
        How its points were classified.
    seconds : float
        Wall time from its first start to its end [s].
    error : str
        Why it failed ("" when it did not).
    notes : dict of int to list of str
        Per building stopped at its hard limit: what was stopped (for ``mark_timeouts``).
    lost_s : dict of int to float
        Per such building: the seconds lost in killed workers.
    """

    job: Any
    results: dict[int, Any]
    ground: Any
    n_points: int
    classes_desc: str | None
    seconds: float
    error: str = ""
    notes: dict[int, list[str]] = dataclasses.field(default_factory=dict)
    lost_s: dict[int, float] = dataclasses.field(default_factory=dict)


class TilePool:
    """``n_workers`` processes that spill files and run whole tiles (see the module docstring).

    Parameters
    ----------
    n_workers : int
        Worker processes.
    warmup : callable, optional
        Run once in each new worker (numba kernels loaded) before it takes work.
    tile_fn : callable
        Module-level ``tile_fn(send, job, skip, lods_of, hooks)``, run in a worker per tile: it
        sends ``("begin", i, hard_limit_s)`` before and ``("built", i, result)`` after each
        building not in ``skip`` (``lods_of``: LoDs of buildings to build with fewer LoDs), then
        ``("tile", ground, n_points, classes_desc)`` (the pool appends the tile's CPU time).
    """

    def __init__(self, n_workers: int, warmup: Callable[[], Any] | None, tile_fn: Callable[..., Any]) -> None:
        self.warmup, self.tile_fn = warmup, tile_fn
        self.ctx = multiprocessing.get_context("forkserver")
        self.workers = [_Worker(self.ctx, warmup, tile_fn) for _ in range(max(1, int(n_workers)))]
        self.n_start_failures = 0
        self.n_killed = 0
        #: CPU time of the workers [s] in the last spill(), map() and tiles() (tiles killed midway not counted).
        self.cpu_s = {"spill": 0.0, "tiles": 0.0}

    def close(self) -> None:
        """Stop the workers."""
        stop_workers(self.workers)
        self.workers = []

    def _replace(self, k: int) -> None:
        self.workers[k].kill()
        self.workers[k] = _Worker(self.ctx, self.warmup, self.tile_fn)
        self.n_killed += 1

    def _died_at_start(self, k: int) -> None:
        self.n_start_failures += 1
        if self.n_start_failures > MAX_START_FAILURES * len(self.workers):
            raise ReconstructionError(
                f"the build's worker processes died while starting, {self.n_start_failures} times (exit code "
                f"{self.workers[k].proc.exitcode}); build in this process: build_model(..., workers=1, "
                "hard_time_limit=False)") from None
        self._replace(k)

    def _recv(self, timeout: float | None) -> Iterator[tuple[int, Any]]:
        """``(worker number, message)`` of the workers that answered within ``timeout`` [s];
        message None when the worker died (it is not replaced here)."""
        conns = [w.conn for w in self.workers]
        for conn in wait(conns, timeout=timeout):
            k = conns.index(conn)
            try:
                yield k, conn.recv()
            except (EOFError, OSError):
                yield k, None

    def _abandon(self) -> None:
        """Workers busy when a run stops midway (an error in the caller) are replaced: no stale
        message may stay in a pipe."""
        for k, w in enumerate(self.workers):
            if w.task is not None:
                w.task, w.building = None, None
                self._replace(k)

    def spill(self, infos: Sequence[Any], bboxes_m: Any, directory: str, *, classes: Sequence[int] | None,
              chunk_size: int, advance: Callable[[int], Any] | None = None) -> list[list[str]]:
        """Spill every file (:func:`lidar.execution.spill.spill_file`), one per worker at a time.

        Returns
        -------
        list of list of str
            Per block, its part files in file order (empty when no point fell in it).

        Raises
        ------
        PointCloudError
            A file could not be read (the error raised in the worker).
        CityModelError
            A worker died while spilling a file (out of memory?).
        """
        fn = functools.partial(spill.spill_file, classes=classes, chunk_size=chunk_size)
        args = [(info, f, bboxes_m, str(directory)) for f, info in enumerate(infos)]
        got = []
        for f, blocks in enumerate(self.map(fn, args, cpu_key="spill",
                                            what=lambda a: f"while spilling {a[0].path}",
                                            hint="use fewer --workers")):
            got.append(blocks)
            if advance is not None:
                advance(infos[f].n_points)
        n_blocks = len(spill.check_bboxes(bboxes_m))
        parts: list[list[str]] = [[] for _ in range(n_blocks)]
        for f in range(len(infos)):
            for b in got[f]:
                parts[b].append(str(spill.part_path(directory, b, f)))
        return parts

    def map(self, fn: Callable[..., Any], args: Sequence[tuple], advance: Callable[[int], Any] | None = None, *,
            cpu_key: str = "map", what: Callable[[tuple], str] | None = None,
            hint: str = "use fewer --workers or a smaller --tile-size-m") -> Iterator[Any]:
        """``fn(*a)`` for every ``a`` of ``args`` in the workers (no time limit); yield the results
        in the order of ``args``. ``fn`` and its arguments are pickled: pass paths, not points.
        The workers' CPU time goes to ``cpu_s[cpu_key]``; ``what(a)`` names a call in the error
        when its worker dies, ``hint`` says what to do then.

        Raises
        ------
        Exception
            The first error raised by ``fn`` (as it was raised in the worker).
        CityModelError
            A worker died (out of memory?).
        """
        n = len(args)
        done: dict[int, Any] = {}
        nxt, y = 0, 0
        window = TILES_AHEAD_PER_WORKER * len(self.workers)
        self.cpu_s[cpu_key] = 0.0
        try:
            while y < n:
                if y in done:
                    yield done.pop(y)
                    y += 1
                    continue
                for w in self.workers:
                    if w.ready and w.task is None and nxt < n and nxt - y < window:
                        w.conn.send(("call", fn, args[nxt]))
                        w.task, nxt = nxt, nxt + 1
                for k, msg in self._recv(None):
                    w = self.workers[k]
                    if msg is None:
                        if w.task is None:
                            self._died_at_start(k)
                            continue
                        doing = what(args[w.task]) if what is not None else f"in {getattr(fn, '__name__', fn)}"
                        raise CityModelError(f"a worker process died {doing} (out of memory?); {hint}")
                    if msg[0] == "ready":
                        w.ready = True
                    elif msg[0] == "called":
                        done[w.task] = msg[1]
                        self.cpu_s[cpu_key] += msg[2]
                        w.task = None
                        if advance is not None:
                            advance(1)
                    elif msg[0] == "error":
                        w.task = None
                        raise msg[1]
        finally:
            self._abandon()

    def tiles(self, jobs: Sequence[Any], *, hard_limit: bool, hooks: Any = None,
              fail: Callable[[Any], str] | None = None,
              advance: Callable[[int], Any] | None = None) -> Iterator[TileDone]:
        """Run every tile job; yield each :class:`TileDone` in the order of ``jobs``.

        Parameters
        ----------
        jobs : sequence of BlockJob
            The tiles.
        hard_limit : bool
            Kill a worker whose building runs past the limit it announced.
        hooks : object
            Passed to every ``tile_fn`` (test hooks).
        fail : callable, optional
            ``fail(job)``: a reason to fail that tile without running it ("" to run it).
        advance : callable, optional
            Called with 1 per building built (progress).
        """
        jobs = list(jobs)
        n = len(jobs)
        state = [TileDone(j, {}, None, 0, None, 0.0) for j in jobs]
        lods_of: list[dict[int, tuple[str, ...]]] = [{} for _ in jobs]
        t0: list[float | None] = [None] * n
        finished: dict[int, TileDone] = {}
        retry: deque[int] = deque()
        nxt, y = 0, 0
        window = TILES_AHEAD_PER_WORKER * len(self.workers)
        self.cpu_s["tiles"] = 0.0

        def end(p: int, error: str = "") -> None:
            s = state[p]
            s.error, s.seconds = error, time.perf_counter() - (t0[p] or time.perf_counter())
            finished[p] = s

        def killed(k: int, why: str | None) -> None:
            w = self.workers[k]
            p, (i, _, limit) = w.task, w.building
            job = jobs[p]
            lods = lods_of[p].get(i, tuple(job.lods))
            s = state[p]
            s.notes.setdefault(i, []).append(f"LoD{max(lods)} " + (why or f"stopped at the hard time limit of {limit:g} s (worker process ended)"))
            s.lost_s[i] = s.lost_s.get(i, 0.0) + (limit if math.isfinite(limit) else 0.0)
            lower = tuple(x for x in lods if x != max(lods))
            w.task, w.building = None, None
            self._replace(k)
            if lods == ("1.2",):  # the last LoD killed its worker too: the tile fails
                end(p, f"building {i}: its worker process died at LoD1.2")
                return
            lods_of[p][i] = ("1.2",) if lower in ((), ("1.2",)) else lower
            retry.appendleft(p)

        try:
            while y < n:
                if y in finished:
                    yield finished.pop(y)
                    y += 1
                    continue
                for w in self.workers:  # give every idle worker a tile
                    while w.ready and w.task is None:
                        if retry:
                            p = retry.popleft()
                        elif nxt < n and nxt - y < window:
                            p, nxt = nxt, nxt + 1
                            why = fail(jobs[p]) if fail is not None else ""
                            if why:
                                end(p, why)
                                continue
                        else:
                            break
                        if t0[p] is None:
                            t0[p] = time.perf_counter()
                        w.conn.send(("tile", jobs[p], set(state[p].results), dict(lods_of[p]), hooks))
                        w.task = p
                if y in finished:
                    continue
                now = time.perf_counter()
                waits = [w.building[1] + w.building[2] - now for w in self.workers
                         if w.building is not None and math.isfinite(w.building[2])]
                for k, msg in self._recv(max(0.0, min(waits)) if waits else None):
                    w = self.workers[k]
                    if msg is None:  # the worker died (killed by the OS, a crash in C)
                        if w.task is None:
                            self._died_at_start(k)
                        elif w.building is not None:
                            killed(k, "the worker process died")
                        else:
                            p = w.task
                            w.task = None
                            self._replace(k)
                            end(p, "the worker process died (out of memory?); use fewer --workers or a smaller "
                                   "--tile-size-m")
                        continue
                    tag = msg[0]
                    if tag == "ready":
                        w.ready = True
                    elif tag == "begin":
                        p, i = w.task, msg[1]
                        limit = msg[2] if hard_limit and lods_of[p].get(i) != ("1.2",) else math.inf
                        w.building = (i, time.perf_counter(), limit)
                    elif tag == "built":
                        state[w.task].results[msg[1]] = msg[2]
                        w.building = None
                        if advance is not None:
                            advance(1)
                    elif tag == "tile":
                        s = state[w.task]
                        s.ground, s.n_points, s.classes_desc = msg[1], msg[2], msg[3]
                        self.cpu_s["tiles"] += msg[4]
                        end(w.task)
                        w.task = None
                    elif tag == "error":
                        end(w.task, msg[1])
                        w.task, w.building = None, None
                now = time.perf_counter()
                for k, w in enumerate(self.workers):
                    if w.building is not None and now - w.building[1] > w.building[2]:
                        killed(k, None)
        finally:
            self._abandon()


def pool(n_workers: int, warmup: Callable[[], Any] | None, tile_fn: Callable[..., Any]) -> TilePool:
    """The process's pool of ``n_workers`` (started on first use, kept for later builds)."""
    return kept(("tiles", warmup, tile_fn, int(n_workers)), lambda: TilePool(n_workers, warmup, tile_fn))
