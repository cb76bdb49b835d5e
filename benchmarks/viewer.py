"""Viewer speed: scene build and frame times for 1,000 and 50,000 box buildings.

Run: ``.venv/bin/python benchmarks/viewer.py [N ...]`` (default 1000 50000). Prints, per size:
model generation (not part of the viewer), scene build (merged meshes), first frame off-screen
(includes the upload to the GPU), and the mean of 10 further frames with the camera rotating
(what interaction costs; ``frame_ms`` with 4x MSAA, ``noaa_ms`` without), plus the peak resident memory of the process.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

# this script is named like the package it measures: keep its folder off the import path
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


def main(sizes: list[int]) -> None:
    from viewer.boxes import box_grid
    from viewer.render import apply_camera, offscreen_backend, offscreen_plotter
    from viewer.scene import build_scene

    print(f"backend: {offscreen_backend()}")
    print(f"{'buildings':>10} {'triangles':>10} {'model_s':>8} {'scene_s':>8} {'frame1_s':>9} "
          f"{'frame_ms':>9} {'noaa_ms':>8} {'peak_rss_mb':>12}")
    for n in sizes:
        t0 = time.perf_counter()
        model = box_grid(n)
        t1 = time.perf_counter()
        scene = build_scene(model, color="irradiation_kwh_m2")
        t2 = time.perf_counter()
        p = offscreen_plotter(scene, window_size=(1600, 1000))
        p.screenshot(return_img=True)
        t3 = time.perf_counter()
        for _ in range(10):
            p.camera.azimuth += 10.0
            p.render()
        t4 = time.perf_counter()
        p.ren_win.SetMultiSamples(0)
        for _ in range(10):
            p.camera.azimuth += 10.0
            p.render()
        t5 = time.perf_counter()
        if n == sizes[0]:
            caps = p.ren_win.ReportCapabilities()
            gl = next((ln for ln in caps.splitlines() if "renderer string" in ln), "?")
            print(f"# {gl.strip()}")
        apply_camera(p, scene, "top")
        p.close()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tri = scene.layers["buildings"].mesh.n_cells
        print(f"{n:>10} {tri:>10} {t1 - t0:>8.2f} {t2 - t1:>8.2f} {t3 - t2:>9.2f} "
              f"{(t4 - t3) / 10 * 1000:>9.1f} {(t5 - t4) / 10 * 1000:>8.1f} {rss:>12.0f}", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 50000])
