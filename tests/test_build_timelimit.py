"""Hard per-building time limit: a building that hangs is killed in its worker and falls back."""

from __future__ import annotations

import time

import numpy as np
import pytest

import lidar.build as lb
from citymodel.validation import validate
from lidar._timelimit import HardLimitRunner
from tests.test_build_geometry import three_building_cloud


@pytest.fixture(scope="module")
def three_buildings():
    return three_building_cloud()


def _lods(model, bid):
    return sorted(g["lod"] for g in model.city_objects[bid]["geometry"])


@pytest.mark.parametrize("workers", [1, 2])
def test_a_hanging_building_falls_back_and_the_run_finishes(three_buildings, monkeypatch, workers):
    pc, fps = three_buildings
    ref = lb.build_model(pc, footprints=fps, terrain=False, progress=False, workers=workers)
    monkeypatch.setitem(lb._TEST_HANG_S, "fp1", 120.0)  # LoD2.2 of fp1 "hangs" for 2 minutes
    t0 = time.perf_counter()
    m = lb.build_model(pc, footprints=fps, terrain=False, progress=False, workers=workers, time_limit_s=1.0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 30.0  # the 2 s hard limit, a worker restart (warm-up) and the fallback; not 120 s
    a = m.city_objects["fp1"]["attributes"]
    assert a["status"] == "fallback"
    assert "LoD2.2 stopped at the hard time limit of 2 s" in a["status_reason"]
    assert "built LoD1.2, LoD1.3" in a["status_reason"]
    assert _lods(m, "fp1") == ["1.2", "1.3"]
    assert a["rmse_lod22_m"] is None and a["rmse_lod13_m"] is not None
    # the LoD1.2/1.3 of the building that hung are those of the normal run
    for lod in ("1.2", "1.3"):
        g = [x for x in m.city_objects["fp1"]["geometry"] if x["lod"] == lod][0]
        g_ref = [x for x in ref.city_objects["fp1"]["geometry"] if x["lod"] == lod][0]
        got = m.vertices[[i for s in g["boundaries"][0] for ring in s for i in ring]]
        want = ref.vertices[[i for s in g_ref["boundaries"][0] for ring in s for i in ring]]
        np.testing.assert_allclose(got, want, atol=1e-9)
    for k in ("h_roof_70p_m", "rmse_lod12_m", "rmse_lod13_m", "h_ground_m"):
        assert a[k] == ref.city_objects["fp1"]["attributes"][k]
    for bid in ("fp0", "fp2"):  # the others are unaffected
        assert m.city_objects[bid]["attributes"] == ref.city_objects[bid]["attributes"]
        assert _lods(m, bid) == ["1.2", "1.3", "2.2"]
    assert validate(m).valid


def _sleepy(task):
    time.sleep(task)
    return task


def test_runner_kills_only_the_slow_task():
    r = HardLimitRunner(_sleepy, n_workers=1)
    try:
        got = {t: (out, why) for t, out, why in r.run([0.01, 30.0, 0.02, 0.03], lambda t: 1.0)}
    finally:
        r.close()
    assert got[30.0][0] is None and "hard time limit of 1 s" in got[30.0][1]
    assert {t: out for t, (out, _) in got.items() if t != 30.0} == {0.01: 0.01, 0.02: 0.02, 0.03: 0.03}
    assert r.n_killed == 1


def test_runner_resubmits_and_keeps_results_apart():
    """A kill while the other worker is busy; the fallback task is queued in the same run."""
    r = HardLimitRunner(_sleepy, n_workers=2)
    got = []
    try:
        for t, out, _why in r.run([30.0, 0.3, 0.31, 0.32, 0.33, 0.34], lambda t: 1.0):
            if out is None:
                r.resubmit(0.05)
            got.append((t, out))
    finally:
        r.close()
    assert sorted(got, key=lambda x: x[0]) == [(0.05, 0.05), (0.3, 0.3), (0.31, 0.31), (0.32, 0.32), (0.33, 0.33),
                                              (0.34, 0.34), (30.0, None)]


def test_a_script_without_main_guard_runs_once(tmp_path, three_buildings):
    """Workers start with ``forkserver``; the user's script (no ``if __name__ == "__main__":``)
    must not run again in each of them (it would rebuild, recurse, and never finish)."""
    import subprocess
    import sys

    pc, fps = three_buildings
    np.save(tmp_path / "xyz.npy", pc.xyz)
    np.save(tmp_path / "cls.npy", pc.classification)
    script = tmp_path / "study.py"
    script.write_text(
        "import numpy as np\n"
        "from shapely.geometry import box\n"
        "from lidar.build import build_model\n"
        "from lidar.pointcloud import PointCloud\n"
        "print('TOP LEVEL', flush=True)\n"
        f"pc = PointCloud.from_xyz(np.load({str(tmp_path / 'xyz.npy')!r}), "
        f"classification=np.load({str(tmp_path / 'cls.npy')!r}), epsg=32632)\n"
        f"fps = [box(*b) for b in {[tuple(f.bounds) for f in fps]!r}]\n"
        "m = build_model(pc, footprints=fps, terrain=False, progress=False, workers=2)\n"
        "print('BUILT', len(m.building_ids()), flush=True)\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("TOP LEVEL") == 1, out.stdout
    assert "BUILT 3" in out.stdout


def _die_at_start():
    import os

    os._exit(3)


def _identity(task):
    return task


def test_workers_that_cannot_start_give_a_clear_error():
    from citymodel.errors import ReconstructionError

    r = HardLimitRunner(_identity, n_workers=1, warmup=_die_at_start)
    try:
        with pytest.raises(ReconstructionError, match="hard_time_limit=False"):
            list(r.run([1, 2, 3], lambda t: 10.0))
    finally:
        r.close()
