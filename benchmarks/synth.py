"""Benchmark: time and peak memory of ``citymodel.synth.generate`` for a 400 m district.

Usage::

    .venv/bin/python benchmarks/synth.py [--size-m 400] [--density-pts-m2 12] [--seed 7]

Prints the time per step, the total, the number of points and the peak resident memory of the
process (``ru_maxrss``, includes the interpreter and imports) and the peak of numpy/Python
allocations traced by ``tracemalloc`` (``--trace``).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-m", type=float, default=400.0)
    ap.add_argument("--density-pts-m2", type=float, default=12.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--trace", action="store_true", help="also trace allocations (tracemalloc; slower)")
    args = ap.parse_args()

    import citymodel.synth as synth  # imports outside the timing

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as tmp:
        if args.trace:
            tracemalloc.start()
        t0 = time.perf_counter()
        out = synth.generate(tmp, seed=args.seed, size_m=args.size_m, density_pts_m2=args.density_pts_m2)
        total = time.perf_counter() - t0
        traced_peak = tracemalloc.get_traced_memory()[1] if args.trace else float("nan")
        tracemalloc.stop()
        sizes = {k: p.stat().st_size / 1e6 for k, p in out.paths().items()}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    c = out.counts
    print(f"district {args.size_m:g} m, {args.density_pts_m2:g} pts/m2, seed {args.seed}")
    for k, v in out.timings_s.items():
        print(f"  {k:<8s} {v:6.2f} s")
    print(f"  total    {total:6.2f} s" + ("  (tracemalloc on)" if args.trace else ""))
    print(f"points {c['points']:,} ({c['density_pts_m2']:.2f} pts/m2), buildings {c['buildings']}, "
          f"roof planes {c['roof_planes']}, trees {c['trees']}")
    print(f"peak RSS {rss:.0f} MiB (after imports {rss0:.0f} MiB); traced allocations peak {traced_peak / 2**20:.0f} MiB")
    print("file sizes [MB]: " + ", ".join(f"{k} {v:.2f}" for k, v in sizes.items()))


if __name__ == "__main__":
    main()
