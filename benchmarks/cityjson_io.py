"""CityJSON read/write speed and memory, beside cjio's load of the same files.

Usage::

    .venv/bin/python benchmarks/cityjson_io.py [--n-buildings 50000] [--repeat 3]

Cases: the largest real sample (``vienna_lod2.city.jsonl``; also written as ``.city.json`` so
cjio can load it), the largest real ``.city.json`` (``zurich_subset_lod2``), and a synthetic
model of ``--n-buildings`` LoD2 buildings (boxes and gable-roof houses, one Solid each with
semantics) generated in memory and written to a temporary ``.city.json``.

Times are CPU seconds (``time.process_time``, best of ``--repeat``), which stay meaningful when
other jobs share the machine. For each file: our ``read`` time and objects/s, peak traced memory of
the read (tracemalloc, a separate run), cjio's load (``cjio.cityjson.reader``: JSON parse, with
and without its duplicate-key check, which its CLI does by default) and the ratio. Also our
write time and, for the synthetic model, ``validate`` time.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "data" / "cityjson_samples"


# --------------------------------------------------------------------------- synthetic model
def synthetic_model(n_buildings: int, seed: int = 1):
    """``n_buildings`` LoD2.2 Solids on a grid: boxes (flat roofs) and gable houses, half each."""
    from citymodel.model import CityModel

    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_buildings)))
    i = np.arange(n_buildings)
    x0 = 500000.0 + (i % side) * 25.0 + rng.uniform(0, 5, n_buildings)
    y0 = 5000000.0 + (i // side) * 25.0 + rng.uniform(0, 5, n_buildings)
    dx = rng.uniform(6, 18, n_buildings)
    dy = rng.uniform(6, 15, n_buildings)
    h = rng.uniform(3, 20, n_buildings)
    ridge = rng.uniform(1.5, 5, n_buildings)
    gable = rng.random(n_buildings) < 0.5
    z0 = np.zeros(n_buildings)
    # 10 vertices per building (boxes leave the 2 ridge vertices unused... so give boxes 8)
    corners = np.stack([np.stack([x0, y0], 1), np.stack([x0 + dx, y0], 1),
                        np.stack([x0 + dx, y0 + dy], 1), np.stack([x0, y0 + dy], 1)], 1)  # (n, 4, 2)
    bottom = np.concatenate([corners, np.repeat(z0[:, None, None], 4, 1)], 2)
    top = np.concatenate([corners, np.repeat(h[:, None, None], 4, 1)], 2)
    ridge_pts = np.stack([np.stack([x0, y0 + dy / 2, h + ridge], 1), np.stack([x0 + dx, y0 + dy / 2, h + ridge], 1)], 1)
    nv = np.where(gable, 10, 8)
    base = np.concatenate([[0], np.cumsum(nv)[:-1]])
    verts = np.concatenate([bottom, top, ridge_pts], 1)  # (n, 10, 3)
    keep = np.ones((n_buildings, 10), bool)
    keep[~gable, 8:] = False
    vertices = verts[keep]
    box_faces = [[[0, 3, 2, 1]], [[4, 5, 6, 7]], [[0, 1, 5, 4]], [[1, 2, 6, 5]], [[2, 3, 7, 6]], [[3, 0, 4, 7]]]
    box_sem = [0, 1, 2, 2, 2, 2]
    # gable: ridge along x at mid y; roofs slope to the long sides, gable walls are pentagons
    gable_faces = [[[0, 3, 2, 1]], [[4, 5, 9, 8]], [[6, 7, 8, 9]], [[0, 1, 5, 4]], [[1, 2, 6, 9, 5]],
                   [[2, 3, 7, 6]], [[3, 0, 4, 8, 7]]]
    gable_sem = [0, 1, 1, 2, 2, 2, 2]
    surfaces = [{"type": "GroundSurface"}, {"type": "RoofSurface"}, {"type": "WallSurface"}]
    m = CityModel(vertices=vertices, epsg=32632)
    objs = m.city_objects
    for k in range(n_buildings):
        b = int(base[k])
        faces, sem = (gable_faces, gable_sem) if gable[k] else (box_faces, box_sem)
        objs[f"bldg_{k:06d}"] = {
            "type": "Building",
            "attributes": {"height_m": round(float(h[k]), 2), "roofType": "gable" if gable[k] else "flat"},
            "geometry": [{
                "type": "Solid", "lod": "2.2",
                "boundaries": [[[[v + b for v in ring] for ring in face] for face in faces]],
                "semantics": {"surfaces": surfaces, "values": [sem]},
            }],
        }
    return m


# --------------------------------------------------------------------------- timing helpers
def best_of(fn, repeat: int) -> tuple[float, object]:
    """Best CPU time [s] of ``repeat`` runs (process time: robust on a shared, loaded machine)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        out = None
        gc.collect()
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def peak_mib(fn) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def cjio_load(path: Path, ignore_duplicate_keys: bool):
    from cjio import cityjson

    with open(path, encoding="utf-8") as fh:
        return cityjson.reader(fh, ignore_duplicate_keys=ignore_duplicate_keys)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-buildings", type=int, default=50000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    from citymodel.io import read, write
    from citymodel.validation import validate

    tmp = Path(tempfile.mkdtemp(prefix="cm_bench_"))
    cases: list[tuple[str, Path, Path | None]] = []
    if SAMPLES.exists():
        vienna = SAMPLES / "vienna_lod2.city.jsonl"
        vienna_json = write(read(vienna), tmp / "vienna_lod2.city.json")
        cases.append(("vienna_lod2.city.jsonl (largest sample)", vienna, vienna_json))
        cases.append(("vienna_lod2 as .city.json", vienna_json, vienna_json))
        zurich = SAMPLES / "zurich_subset_lod2.city.json"
        cases.append(("zurich_subset_lod2.city.json", zurich, zurich))
    t0 = time.perf_counter()
    synth = synthetic_model(args.n_buildings)
    t_gen = time.perf_counter() - t0
    t_write_synth, synth_path = best_of(lambda: write(synth, tmp / "synth.city.json", overwrite=True), 1)
    cases.append((f"synthetic {args.n_buildings} buildings .city.json", synth_path, synth_path))
    synth_seq = write(synth, tmp / "synth.city.jsonl")
    cases.append((f"synthetic {args.n_buildings} buildings .city.jsonl", synth_seq, None))

    rows = []
    for label, path, cj_path in cases:
        size_mib = path.stat().st_size / 2**20
        t_ours, model = best_of(lambda p=path: read(p), args.repeat)
        n_obj = len(model)
        mem = peak_mib(lambda p=path: read(p))
        t_w, _ = best_of(lambda m=model, p=path: write(m, tmp / ("w_" + p.name), overwrite=True), args.repeat)
        row = {"case": label, "MiB": size_mib, "objects": n_obj, "read_s": t_ours, "obj_per_s": n_obj / t_ours,
               "peak_MiB": mem, "write_s": t_w, "cjio_s": np.nan, "cjio_nodup_s": np.nan, "cjio_MiB": np.nan}
        if cj_path is not None:
            row["cjio_s"], _ = best_of(lambda p=cj_path: cjio_load(p, False), args.repeat)
            row["cjio_nodup_s"], _ = best_of(lambda p=cj_path: cjio_load(p, True), args.repeat)
            row["cjio_MiB"] = peak_mib(lambda p=cj_path: cjio_load(p, False))
        rows.append(row)
        del model
    print(f"synthetic model: {args.n_buildings} buildings generated in {t_gen:.2f} s, "
          f"{synth.n_vertices} vertices; written in {t_write_synth:.2f} s ({synth_path.stat().st_size / 2**20:.1f} MiB)")
    validate(synth.copy() if args.n_buildings < 100 else synthetic_model(50))  # warm the numba kernels
    t_val, rep = best_of(lambda: validate(synth), 1)
    print(f"validate(synthetic): {t_val:.2f} s ({args.n_buildings / t_val:,.0f} buildings/s), "
          f"{rep.n_shells} shells, {rep.n_polygons} polygons, valid={rep.valid}")
    hdr = (f"{'case':<44} {'MiB':>6} {'objects':>8} {'read s':>7} {'obj/s':>9} {'peak MiB':>8} {'write s':>7} "
           f"{'cjio s':>7} {'cjio nodup s':>12} {'cjio MiB':>8} {'x cjio':>7} {'x nodup':>7}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        ratio = r["cjio_s"] / r["read_s"]
        ratio2 = r["cjio_nodup_s"] / r["read_s"]
        print(f"{r['case']:<44} {r['MiB']:>6.1f} {r['objects']:>8} {r['read_s']:>7.3f} {r['obj_per_s']:>9,.0f} "
              f"{r['peak_MiB']:>8.1f} {r['write_s']:>7.3f} {r['cjio_s']:>7.3f} {r['cjio_nodup_s']:>12.3f} "
              f"{r['cjio_MiB']:>8.1f} {ratio:>7.1f} {ratio2:>7.1f}")
    print("times: CPU seconds, best of --repeat. peak MiB: tracemalloc peak during the read "
          "(orjson's transient parse buffers included).")
    print("x cjio = cjio load time (default, duplicate-key check as its CLI) / our read time; "
          "x nodup = same with cjio's ignore_duplicate_keys=True. cjio keeps integer vertices; we de-quantise.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
