"""Benchmark: shaded annual irradiation for ~100,000 sensors x 8,760 hours, against raw Embree
and Radiance's ``rcontrib`` on the same scene.

Usage::

    .venv/bin/python benchmarks/solar.py [--sensors 100000] [--size-m 400] [--seed 7]
        [--radiance-sensors 2000] [--no-radiance] [--trees]

Scene: the synthetic district (``citymodel.synth``: buildings, terrain; trees with ``--trees``),
sensor spacing chosen to give about ``--sensors`` sensors on roofs and walls, clear-sky year at
the district's site (pvlib Ineichen). Prints, for the whole solver (sensors, sky and sun rays,
accumulation, hourly building groups): wall time, sensor-hours/s, rays/s, against Embree's raw
occlusion throughput on the same scene (random rays, same threads), the peak resident memory,
and the ratio of per-sensor time against Radiance ``rcontrib`` (pyradiance's binaries) computing
the same annual irradiation (2-phase daylight coefficients: -ab 1 on black surfaces, Tregenza
sky bins, ``gendaymtx`` sky matrix from the same weather) on a subsample of the sensors.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# benchmarks/energy.py would shadow the ``energy`` package when run as a script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def _radiance_env() -> dict[str, str]:
    import pyradiance

    root = Path(pyradiance.__file__).parent
    env = dict(os.environ)
    env["PATH"] = f"{root / 'bin'}:{env.get('PATH', '')}"
    env["RAYPATH"] = f".:{root / 'lib'}"
    return env


def radiance_annual(
    scene, points, normals, weather, meta, *, ad: int = 1024, n_proc: int = 2
) -> dict:
    """Annual irradiation [kWh/m2] of sensors with rcontrib (2-phase) on the opaque scene."""
    env = _radiance_env()
    tmp = Path(tempfile.mkdtemp(prefix="solar_rad_"))
    tri = scene.opaque_triangles.astype(np.float64)  # local coordinates
    t0 = time.perf_counter()
    with open(tmp / "scene.rad", "w") as fh:
        fh.write("void plastic black 0 0 5 0 0 0 0 0\n")
        lines = [
            f"black polygon t{i} 0 0 9 " + " ".join(f"{c:.4f}" for c in tri[i].ravel())
            for i in range(tri.shape[0])
        ]
        fh.write("\n".join(lines) + "\n")
        fh.write("void glow skyglow 0 0 4 1 1 1 0\nskyglow source sky 0 0 4 0 0 1 180\n")
    with open(tmp / "scene.oct", "wb") as fh:
        subprocess.run(["oconv", str(tmp / "scene.rad")], stdout=fh, check=True, env=env, cwd=tmp)
    pts = np.column_stack([points - scene.origin, normals])
    np.savetxt(tmp / "pts.txt", pts, fmt="%.5f")
    t_prep = time.perf_counter() - t0
    t0 = time.perf_counter()
    with open(tmp / "pts.txt", "rb") as fin:
        out = subprocess.run(
            [
                "rcontrib",
                "-h",
                "-faf",
                "-I+",
                "-ab",
                "1",
                "-ad",
                str(ad),
                "-lw",
                "1e-5",
                "-n",
                str(n_proc),
                "-e",
                "MF:1",
                "-f",
                "reinhartb.cal",
                "-b",
                "rbin+1",
                "-bn",
                "Nrbins+1",
                "-m",
                "skyglow",
                "scene.oct",
            ],
            stdin=fin,
            capture_output=True,
            check=True,
            env=env,
            cwd=tmp,
        ).stdout
    t_rc = time.perf_counter() - t0
    # bin 0 = ground (reinhartb.cal's -1, shifted), 1..145 = Tregenza patches: gendaymtx's rows
    dc = np.frombuffer(out, dtype=np.float32).reshape(len(points), 146, 3).mean(axis=2)
    # sky matrix from the same weather (mid-hour, DNI/DHI), Perez all-weather in gendaymtx
    t0 = time.perf_counter()
    mid = weather.index - np.timedelta64(30, "m")
    with open(tmp / "sky.wea", "w") as fh:
        fh.write(
            f"place bench\nlatitude {meta['latitude']:.4f}\nlongitude {-meta['longitude']:.4f}\n"
            f"time_zone {-15 * meta['tz_offset_h']:.1f}\nsite_elevation {meta['altitude_m']:.1f}\n"
            "weather_data_file_units 1\n"
        )
        rows = np.column_stack(
            [
                mid.month,
                mid.day,
                mid.hour + mid.minute / 60.0,
                weather["dni_w_m2"].to_numpy(),
                weather["dhi_w_m2"].to_numpy(),
            ]
        )
        np.savetxt(fh, rows, fmt=["%d", "%d", "%.3f", "%.1f", "%.1f"])
    sky = subprocess.run(
        ["gendaymtx", "-h", "-m", "1", "-O1", "-of", "sky.wea"],
        capture_output=True,
        check=True,
        env=env,
        cwd=tmp,
    ).stdout
    skym = (
        np.frombuffer(sky, dtype=np.float32).reshape(146, -1, 3).mean(axis=2)
    )  # (patch, hour) W/m2/sr
    annual = dc.astype(np.float64) @ skym.sum(axis=1).astype(np.float64) / 1000.0
    t_sky = time.perf_counter() - t0
    return {
        "annual_kwh_m2": annual,
        "prep_s": t_prep,
        "rcontrib_s": t_rc,
        "sky_s": t_sky,
        "rays": len(points) * ad,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sensors", type=int, default=100_000)
    ap.add_argument("--size-m", type=float, default=400.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--radiance-sensors", type=int, default=2000)
    ap.add_argument("--no-radiance", action="store_true")
    ap.add_argument(
        "--trees", action="store_true", help="trees as occluders (Radiance comparison then off)"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--albedo", type=float, default=0.0, help="0 = black surroundings, as the Radiance scene"
    )
    args = ap.parse_args()

    from citymodel.model import BUILDING_TYPES
    from citymodel.surfaces import surface_table
    from citymodel.synth import district_to_citymodel, make_district
    from energy.solar import irradiate
    from energy.solar.irradiate import surface_kind
    from energy.solar.scene import build_scene
    from energy.solar.sensors import sample_sensors
    from energy.weather import load_weather

    model = district_to_citymodel(make_district(args.seed, args.size_m))
    weather = load_weather("clearsky", model)
    t = surface_table(model, object_types=list(BUILDING_TYPES))
    rows = np.flatnonzero(surface_kind(t) >= 0)
    n2 = len(sample_sensors(t.select(rows), 2.0))
    spacing = 2.0 * np.sqrt(n2 / args.sensors)
    for _ in range(3):  # refine: the count is not exactly proportional to 1/spacing^2
        n = len(sample_sensors(t.select(rows), spacing))
        spacing *= np.sqrt(n / args.sensors)
    # warm-up (numba cache load, imports) on a coarse run, outside the timing
    irradiate(
        model, weather, sensor_spacing_m=8.0, include_trees=args.trees, n_threads=args.threads
    )

    load0 = os.getloadavg()
    c0 = time.process_time()
    t0 = time.perf_counter()
    res = irradiate(
        model,
        weather,
        sensor_spacing_m=spacing,
        include_trees=args.trees,
        n_threads=args.threads,
        building_hourly=True,
        albedo=args.albedo,
    )
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    load1 = os.getloadavg()
    st = res.stats
    n = st["n_sensors"]
    nh = len(res.times)
    scene = build_scene(model, include_trees=args.trees, n_threads=args.threads)
    raw = scene.raw_throughput(2_000_000)
    print(
        f"scene: {st['n_opaque_triangles']:,} opaque + {st['n_tree_triangles']:,} tree-crown triangles; "
        f"{n:,} sensors (spacing {spacing:.2f} m) on {st['n_surfaces']:,} surfaces; {nh} hours, "
        f"{st['n_sun_hours']} sun-up hours in {st['n_sun_bins']} sun bins; {st['n_sky_rays_per_sensor']} sky rays/sensor"
    )
    print(
        f"solver wall time: {wall:.1f} s  (setup {st['setup_s']:.1f} s, ray casting {st['rays_s']:.1f} s of which "
        f"Embree {st['embree_s']:.1f} s, accumulation {st['accumulate_s']:.1f} s)"
    )
    print(f"sensor-hours/s: {n * nh / wall / 1e6:.1f} M  ({n:,} x {nh:,} in {wall:.1f} s); CPU {cpu:.1f} s "
          f"(all threads); load average {load0[0]:.1f} -> {load1[0]:.1f} (1 min)")
    if "sun_sampling_step" in st:
        print(f"direct sun: rays to {st['n_sun_samples']:,} of {st['n_sun_bins']:,} sun bins per sensor (every "
              f"{st['sun_sampling_step']}th along the analemmas), {st['n_sun_inferred']:,} sensor-bin pairs inferred")
    print(
        f"rays: {st['n_rays']:,} -> {st['n_rays'] / wall / 1e6:.2f} M rays/s end to end, "
        f"{st['n_rays'] / st['embree_s'] / 1e6:.2f} M rays/s inside Embree; raw Embree on this scene "
        f"{raw / 1e6:.2f} M rays/s ({args.threads} threads) -> end-to-end efficiency {st['n_rays'] / wall / raw:.0%}"
    )
    print(
        f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB "
        f"({st['n_blocks']} sensor blocks)"
    )
    print(
        f"goal <= 60 s for 100,000 sensors x 8,760 hours: {'met' if wall <= 60 and n >= 0.95e5 else 'NOT met'}"
    )
    if args.no_radiance or args.trees:
        return
    rng = np.random.default_rng(0)
    sub = np.sort(rng.choice(n, min(args.radiance_sensors, n), replace=False))
    try:
        rad = radiance_annual(
            scene,
            res.sensors.points[sub],
            res.sensors.normals[sub],
            weather[0],
            weather[1],
            n_proc=args.threads,
        )
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        print(f"Radiance rcontrib could not run: {exc}")
        return
    rad_s = rad["prep_s"] + rad["rcontrib_s"] + rad["sky_s"]
    ours_per = wall / n
    rad_per = rad_s / len(sub)
    mine = res.sensor_annual_kwh_m2[sub].astype(np.float64)
    lit = mine > 1.0  # closed-off sensors (party walls) get ~0 in both
    rel = rad["annual_kwh_m2"][lit] / mine[lit] - 1
    print(
        f"Radiance rcontrib (2-phase, -ab 1 -ad 1024, {args.threads} processes) on {len(sub):,} of the sensors: "
        f"{rad_s:.1f} s (scene+oconv {rad['prep_s']:.1f} s, rcontrib {rad['rcontrib_s']:.1f} s, gendaymtx+product "
        f"{rad['sky_s']:.1f} s) = {rad_per * 1e3:.2f} ms/sensor vs ours {ours_per * 1e3:.3f} ms/sensor "
        f"-> ours is {rad_per / ours_per:.0f}x faster per sensor; rcontrib for all {n:,} sensors would take "
        f"~{rad_per * n:.0f} s"
    )
    print(
        f"annual irradiation, Radiance / ours - 1 on the subsample: median {np.median(rel):+.1%}, "
        f"5th..95th pct {np.percentile(rel, 5):+.1%} .. {np.percentile(rel, 95):+.1%} (Radiance: Perez all-weather "
        f"sky with the sun smeared into the 145 patches, no sharp shadows; ours: Perez 1990 + sun bins of 1 deg; "
        f"{(~lit).sum()} closed-off sensors left out)"
    )


if __name__ == "__main__":
    main()
