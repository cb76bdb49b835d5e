"""Benchmark: the solar solver at city scale -- one million sensors x 8,760 hours, peak memory,
and an estimate of the time and cluster size to irradiate all of Bologna.

Usage::

    .venv/bin/python benchmarks/scale_solar.py [--sensors 1000000] [--size-m 400] [--seed 7]
        [--runs serial,processes] [--scheduler processes|threads|tcp://HOST:8786] [--workers 2]
        [--threads 1] [--serial-threads 2] [--sun-sampling-step N] [--bologna-km2 140] [--write-docs]

Scene: the synthetic district (``citymodel.synth``, buildings and terrain, seed 7), sensors on
its roofs and walls at the spacing that gives about ``--sensors`` (0.32 m for a million on the
400 m district), a clear-sky year at the district's site (pvlib Ineichen), the solver's
defaults (Tregenza sky + Perez horizon band, 1 degree sun bins), hourly building groups on.
``--runs`` are done one after the other on the same sensors: ``serial`` (the blocks here,
``--serial-threads`` Embree threads) and ``processes`` (the blocks on ``--scheduler`` through
:mod:`citymodel.executors`, ``--workers`` workers of ``--threads`` Embree threads; the JIT is
warmed outside the timing on a coarse run). Per run it prints the wall time, the CPU seconds of
the whole process tree (this process and every worker, sampled), sensor-hours/s, the peak
resident memory of the process tree and of the largest worker, and the load average before
and after (the machine is shared: wall times move with the load, CPU seconds much less).
``--sun-sampling-step`` overrides the solver's default (1 = a ray to every sun bin). Then the
Bologna estimate, from the last run:

* sensors per km2: the district's sensors at the default 1 m spacing over its area (a dense
  historic centre: an upper bound for a municipality that is also hills and fields);
* sensors for Bologna = that density x ``--bologna-km2``;
* core-seconds per sensor: measured here (wall time x cores used / sensors);
* a city run is tiles of sensors, each casting on its tile's scene plus a buffer (the scene a
  worker holds is the tile's, not the city's), so the cluster size for a wall time ``T`` is
  ``sensors x core-s per sensor / T`` cores, with the measured worker memory per 2 cores.

With ``--write-docs`` the figures replace this script's section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# benchmarks/energy.py would shadow the ``energy`` package when run as a script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Solar at city scale: `benchmarks/scale_solar.py`"


def _spacing_for(table, rows, target: int) -> float:
    from energy.solar.sensors import sample_sensors

    n2 = len(sample_sensors(table.select(rows), 2.0))
    spacing = 2.0 * math.sqrt(n2 / target)
    for _ in range(3):  # the count is not exactly proportional to 1/spacing^2
        n = len(sample_sensors(table.select(rows), spacing))
        spacing *= math.sqrt(n / target)
    return spacing


def _load() -> str:
    try:
        return ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


class PeakRSS:
    """Peak resident memory and CPU seconds of this process and of all its descendants (pool
    workers are grandchildren under forkserver, out of ``RUSAGE_CHILDREN``'s reach), sampled
    every 0.1 s (a descendant's CPU time counts up to its last sample). The RSS sum counts the
    pages that forked processes share once per process; the PSS sum counts them once."""

    def __init__(self) -> None:
        import threading

        import psutil

        self._me = psutil.Process()
        self.total_mib = 0.0
        self.pss_mib = 0.0  # proportional set size: pages shared between processes counted once
        self.worker_mib = 0.0
        self._cpu0 = self._cpu(self._me)
        self._kid_cpu: dict[int, float] = {}
        self._kid_cpu0: dict[int, float] = {}  # descendants already there (forkserver, ...)
        for k in self._me.children(recursive=True):
            try:
                self._kid_cpu0[k.pid] = self._kid_cpu[k.pid] = self._cpu(k)
            except psutil.Error:
                pass
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.1):
            try:
                kids = self._me.children(recursive=True)
                mem = [k.memory_full_info() for k in kids]
                rss = [m.rss for m in mem]
                pss = self._me.memory_full_info().pss + sum(m.pss for m in mem)
                self.pss_mib = max(self.pss_mib, pss / 2**20)
                for k in kids:
                    self._kid_cpu[k.pid] = max(self._kid_cpu.get(k.pid, 0.0), self._cpu(k))
            except psutil.Error:
                continue
            self.total_mib = max(self.total_mib, (self._me.memory_info().rss + sum(rss)) / 2**20)
            if rss:
                self.worker_mib = max(self.worker_mib, max(rss) / 2**20)

    @staticmethod
    def _cpu(p) -> float:
        t = p.cpu_times()
        return t.user + t.system

    def stop(self) -> None:
        self._stop.set()
        self._t.join()
        kids = sum(v - self._kid_cpu0.get(pid, 0.0) for pid, v in self._kid_cpu.items())
        self.cpu_s = self._cpu(self._me) - self._cpu0 + kids


def write_section(text: str) -> None:
    """Replace (or append) this script's section of docs/benchmarks.md, keeping the others."""
    path = ROOT / "docs" / "benchmarks.md"
    doc = path.read_text(encoding="utf-8")
    if SECTION in doc:
        head, rest = doc.split(SECTION, 1)
        nxt = rest.find("\n## ")
        tail = rest[nxt:] if nxt >= 0 else "\n"
        doc = head + SECTION + "\n\n" + text.strip() + "\n" + tail
    else:
        doc = doc.rstrip("\n") + "\n\n" + SECTION + "\n\n" + text.strip() + "\n"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sensors", type=int, default=1_000_000)
    ap.add_argument("--size-m", type=float, default=400.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", default="serial,processes",
                    help="comma-separated: serial (blocks here) and/or processes (on --scheduler)")
    ap.add_argument("--scheduler", default="processes",
                    help="processes, threads or a Dask scheduler address (the 'processes' run)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="Embree threads per worker")
    ap.add_argument("--serial-threads", type=int, default=2, help="Embree threads of the serial run")
    ap.add_argument("--sun-sampling-step", type=int, default=None,
                    help="the solver's sun_sampling_step (default: the solver's default)")
    ap.add_argument("--block-rays", type=int, default=4_000_000)
    ap.add_argument("--bologna-km2", type=float, default=140.0)
    ap.add_argument("--target-hours", type=float, default=1.0,
                    help="wall time of the Bologna run the cluster is sized for [h]")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()

    from citymodel.model import BUILDING_TYPES
    from citymodel.surfaces import surface_table
    from citymodel.synth import district_to_citymodel, make_district
    from energy.solar import irradiate
    from energy.solar.irradiate import surface_kind
    from energy.solar.sensors import sample_sensors
    from energy.weather import load_weather

    model = district_to_citymodel(make_district(args.seed, args.size_m))
    weather = load_weather("clearsky", model)
    t = surface_table(model, object_types=list(BUILDING_TYPES))
    rows = np.flatnonzero(surface_kind(t) >= 0)
    n_1m = len(sample_sensors(t.select(rows), 1.0))
    area_km2 = (args.size_m / 1000.0) ** 2
    spacing = _spacing_for(t, rows, args.sensors)
    extra = {} if args.sun_sampling_step is None else {"sun_sampling_step": args.sun_sampling_step}
    # warm-up (numba cache, imports) on a coarse run here, outside the timing
    irradiate(model, weather, sensor_spacing_m=8.0, n_threads=args.threads, **extra)
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         cwd=ROOT).stdout.strip()
    table = ["| run | load average (1, 5, 15 min) before -> after | wall time (goal < 60 s) | CPU s (process tree) "
             "| sensor-hours/s | rays | peak memory of the process tree: RSS sum, PSS sum (largest worker RSS) |",
             "|---|---|---|---|---|---|---|"]
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    for run in runs:
        if run == "serial":
            sched, workers, threads = None, 1, args.serial_threads
            label = f"serial here, {threads} Embree threads"
        elif run == "processes":
            sched, workers, threads = args.scheduler, args.workers, args.threads
            label = f"{args.scheduler}, {workers} workers x {threads} Embree thread(s)"
        else:
            raise SystemExit(f"unknown run {run!r} (serial, processes)")
        load0 = _load()
        peak = PeakRSS()
        t0 = time.perf_counter()
        res = irradiate(model, weather, sensor_spacing_m=spacing, building_hourly=True,
                        n_threads=threads, scheduler=sched, workers=workers,
                        block_rays=args.block_rays, **extra)
        wall = time.perf_counter() - t0
        peak.stop()
        load1 = _load()
        st = res.stats
        n = st["n_sensors"]
        nh = len(res.times)
        total_mib = max(peak.total_mib, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        worker = f" ({peak.worker_mib:,.0f} MiB)" if peak.worker_mib and sched is not None else ""
        table.append(
            f"| {label}, {st['n_blocks']} blocks | {load0} -> {load1} | **{wall:.1f} s** (setup "
            f"{st['setup_s']:.1f} s) | {peak.cpu_s:.0f} | {n * nh / wall / 1e6:.1f} M | "
            f"{st['n_rays'] / 1e9:.2f} G ({st['n_rays'] / wall / 1e6:.1f} M/s) | {total_mib:,.0f} MiB, "
            f"{max(peak.pss_mib, 1.0):,.0f} MiB{worker} |")
        print(table[-1], flush=True)
        last = (wall, st, n, nh, threads if sched is None else workers * threads, peak)
    wall, st, n, nh, cores, peak = last
    cores = min(os.cpu_count() or 1, cores)
    solve_s = wall - st["setup_s"]
    core_s_per_sensor = solve_s * cores / n
    dens = n_1m / area_km2
    city_sensors = dens * args.bologna_km2
    city_core_h = city_sensors * core_s_per_sensor / 3600.0
    cluster_cores = math.ceil(city_core_h / args.target_hours)
    step = st.get("sun_sampling_step", 1)
    samples = st.get("n_sun_samples", st["n_sun_bins"])
    lines = [
        f"`.venv/bin/python benchmarks/scale_solar.py --sensors {args.sensors} --runs {args.runs} "
        f"--scheduler {args.scheduler} --workers {args.workers} --threads {args.threads} --serial-threads "
        f"{args.serial_threads}" + ("" if args.sun_sampling_step is None else
                                    f" --sun-sampling-step {args.sun_sampling_step}")
        + f"` ({time.strftime('%Y-%m-%d %H:%M')} UTC, commit {rev}; {os.cpu_count()} cores shared with "
        "other jobs)",
        "",
        f"{n:,} sensors (spacing {spacing:.2f} m, {st['n_surfaces']:,} surfaces) x {nh:,} hours "
        f"({st['n_sun_hours']:,} sun-up hours in {st['n_sun_bins']:,} one-degree sun bins; direct-sun "
        f"rays to {samples:,} of them per sensor (sun sampling step {step} along the analemmas), "
        f"{st.get('n_sun_inferred', 0) / 1e6:,.0f} M sensor-bin pairs inferred from agreeing samples; "
        "Tregenza sky + Perez horizon band; hourly building groups on).",
        "",
        *table,
        "",
        f"Bologna estimate ({args.bologna_km2:g} km2, method in the script's docstring, from the last run): "
        f"the district has {n_1m:,} sensors at 1 m spacing on {area_km2:.2f} km2 = {dens / 1e3:,.0f} k "
        f"sensors/km2 (dense centre: an upper bound), so about {city_sensors / 1e6:,.0f} M sensors; at "
        f"{core_s_per_sensor * 1e3:.3f} core-ms per sensor-year ({cores} cores) that is "
        f"{city_core_h:,.1f} core-hours: {cluster_cores:,} cores (~{math.ceil(cluster_cores / 2):,} "
        f"two-core workers of ~{max(peak.worker_mib, 1.0) / 1024:.1f} GiB) for {args.target_hours:g} h of "
        f"wall time, or one such 2-core machine for {city_core_h / 2:,.0f} h. Each worker holds its "
        "tile's scene (sensor tile + a buffer of the tallest shadow), so memory per worker stays that "
        "of this run.",
    ]
    text = "\n".join(lines)
    print(text)
    print(f"goal < 60 s for {n:,} sensors x {nh:,} hours on 2 cores: {'met' if wall < 60 else 'NOT met'} "
          f"({wall:.1f} s, last run)")
    if args.write_docs:
        write_section(text)


if __name__ == "__main__":
    main()
