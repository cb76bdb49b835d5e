"""Tiles of the build (issue #18): a building's output does not depend on the tile size, the
number of workers or the executor (local pool, Dask), a killed build resumes, a failed tile is
reported without losing the others, and the CityJSONSeq is streamed tile by tile.

Every comparison is on the Building features of the streamed ``.city.jsonl``: one line per
building holding its objects and only its own vertices, quantised with a transform fixed before
the run (lidar.execution.stream), so two equal lines are the same building, byte for byte.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from citymodel import synth
from citymodel.io.cityjson import read
from lidar.execution import plan as plan_mod
from lidar.execution import run as run_mod
from lidar.execution.tile_log import read_log

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """The synthetic district (11 buildings, 150 m x 150 m, 12 pts/m2, classified)."""
    return synth.generate(tmp_path_factory.mktemp("tiles_district"), seed=7, size_m=150.0, density_pts_m2=12.0)


def _args(d, out, *extra):
    return ["-q", "build", "--points", d.laz, "--footprints", d.footprints, "--footprint-id-field", "id",
            "--no-terrain", "--no-trees", "--lod", "1.2,2.2", *extra, "--out", out]


def _building_lines(path) -> list[bytes]:
    """The sorted Building feature lines of a streamed .city.jsonl."""
    lines = Path(path).read_bytes().splitlines()[1:]
    return sorted(x for x in lines if json.loads(x)["CityObjects"][json.loads(x)["id"]]["type"] == "Building")


@pytest.fixture(scope="module")
def reference(district, tmp_path_factory):
    """The district built as one tile (its default: 275 k points), one worker."""
    from click.testing import CliRunner

    from citymodel.cli import main

    out = tmp_path_factory.mktemp("tiles_ref") / "ref.city.jsonl"
    r = CliRunner().invoke(main, [str(a) for a in _args(district, out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "one tile, read at once" in r.output  # the default tile size and why
    return _building_lines(out)


def _coordinates(model, object_id: str) -> np.ndarray:
    """The distinct vertex coordinates (n, 3) of every geometry of one city object, sorted."""
    idx: list[int] = []

    def walk(b):
        for x in b:
            walk(x) if isinstance(x, list) else idx.append(x)

    for g in model.geometries(object_id):
        walk(g["boundaries"])
    return np.unique(model.vertices[np.asarray(idx, dtype=int)], axis=0)


def test_same_buildings_whatever_the_tile_size_and_workers(district, reference, tmp_path, cli_runner):
    assert len(reference) == 11
    out = tmp_path / "t40.city.jsonl"
    r = cli_runner(*_args(district, out, "--tile-size-m", "40", "--workers", "2", "--workdir", tmp_path / "w",
                          "--merge", tmp_path / "merged.city.json"))
    assert r.exit_code == 0, r.output
    log = read_log(tmp_path / "w")
    owning = [t for t in log if t["n_buildings"]]
    assert len(owning) >= 4 and sum(t["n_buildings"] for t in log) == 11  # each building in exactly one tile
    assert all(t["status"] == "ok" for t in log)
    assert _building_lines(out) == reference
    # the merge is the same model as one CityJSON file
    merged, streamed = read(tmp_path / "merged.city.json"), read(out)
    assert sorted(merged.building_ids()) == sorted(streamed.building_ids())
    # one file shares the vertices of touching buildings, the stream does not: compare coordinates
    for bid in streamed.building_ids():
        np.testing.assert_allclose(_coordinates(merged, bid), _coordinates(streamed, bid), atol=1e-9, err_msg=bid)


def test_dask_local_cluster_gives_the_local_buildings(district, reference, tmp_path):
    import distributed  # the dask extra (in the dev set): never skipped

    from citymodel._fileutil import atomic_path
    from lidar.build import build_model
    from lidar.execution.stream import SeqWriter
    from lidar.points.source import open_points

    src = open_points([district.laz])
    out = tmp_path / "dask.city.jsonl"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cl, \
            distributed.Client(cl) as client, atomic_path(out) as tmp, SeqWriter(tmp, src.epsg, src.extents) as seq:
        st: dict = {}
        model = build_model([district.laz], footprints=district.footprints, footprint_id_field="id",
                            lods=("1.2", "2.2"), terrain=False, progress=False, scheduler=client,
                            tile_size_m=75.0, on_tile=seq.tile, stats=st)
        seq.finish(model)
    assert st["tile_size_m"] == 75.0 and len(st["tiles"]) >= 4
    assert _building_lines(out) == reference


def test_failed_tile_is_reported_and_the_others_kept(district, reference, tmp_path, cli_runner, monkeypatch):
    wd, out = tmp_path / "w", tmp_path / "f.city.jsonl"
    args = _args(district, out, "--tile-size-m", "40", "--workdir", wd, "--overwrite")
    # the tile of the most buildings fails (as an unreadable tile input or a dead worker would)
    tiles = plan_mod.make_tiles(_footprints(district), 40.0)
    name, members = max(tiles, key=lambda t: len(t[1]))
    monkeypatch.setattr(run_mod, "TEST_FAIL_TILES", {name})
    r = cli_runner(*args)
    assert r.exit_code == 1
    assert f"tile {name}: {len(members)} buildings not built: RuntimeError" in " ".join(r.output.split())
    got = _building_lines(out)  # written all the same, the failed tile's buildings skipped with the reason
    failed = [x for x in got if json.loads(x)["CityObjects"][json.loads(x)["id"]]["attributes"]["status"] == "skipped"]
    assert len(failed) == len(members) and all(f"tile {name} failed".encode() in x for x in failed)
    assert set(got) - set(failed) <= set(reference) and len(set(got) & set(reference)) == 11 - len(members)
    log = read_log(wd)
    assert [t["status"] for t in log].count("failed") == 1
    # run again: the failed tile is retried, the others reused
    monkeypatch.setattr(run_mod, "TEST_FAIL_TILES", set())
    r = cli_runner(*args)
    assert r.exit_code == 0, r.output
    assert _building_lines(out) == reference
    again = read_log(wd)[len(log):]
    assert {t["tile"]: t["status"] for t in again if t["n_buildings"]}[name] == "ok"
    assert sum(t["status"] == "reused" for t in again) == len(log) - 1


def _footprints(d):
    from lidar.footprints.given import read_footprints

    return read_footprints(d.footprints, id_field="id")


def test_killed_build_resumes(district, reference, tmp_path, cli_runner):
    """Kill the build (its whole process group) after some tiles, then resume with the same workdir."""
    wd, out = tmp_path / "w", tmp_path / "k.city.jsonl"
    args = [str(a) for a in _args(district, out, "--tile-size-m", "40", "--workdir", wd)]
    ids = [f.id for f in _footprints(district)]
    # each building's LoD2.2 sleeps 0.4 s in its worker (lidar.execution.run.TEST_HANG_S), so that
    # the kill lands between tiles
    code = ("import sys, lidar.execution.run as r; r.TEST_HANG_S.update({i: 0.4 for i in sys.argv[1].split(',')}); "
            "from citymodel.cli import main; main(sys.argv[2:])")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", code, ",".join(ids), *args], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.monotonic()
        while len(list(wd.glob("block_*.pkl"))) < 2 and time.monotonic() - t0 < 120 and proc.poll() is None:
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = len(list(wd.glob("block_*.pkl")))
    n_tiles = len(read_log(wd))
    assert done >= 2 and done - 1 <= n_tiles <= done  # a tile saved, its log line not yet written
    assert not out.exists()  # no half output under the output's name
    r = cli_runner(*args)
    assert r.exit_code == 0, r.output
    log = read_log(wd)[n_tiles:]
    assert sum(t["status"] == "reused" for t in log) == done and any(t["status"] == "ok" for t in log)
    assert _building_lines(out) == reference


def test_tile_size_from_the_point_density():
    from lidar.points.source import PointSource

    class Info:
        def __init__(self, n):
            self.n_points = n

    def src(n, side_m):
        return PointSource(None, [], [Info(n)], None, 28992, [(0.0, 0.0, side_m, side_m)])

    t, why = plan_mod.choose_tile_size(src(1_000_000, 500), None, 2_000_000)
    assert t is None and "one tile" in why
    # 12 pts/m2 over 4 km2: sqrt(4e6 / 12) = 577 m, rounded down to 550 m
    t, why = plan_mod.choose_tile_size(src(48_000_000, 2000), None, 2_000_000)
    assert t == 550.0 and "12.0 pts/m2" in why
    t, _ = plan_mod.choose_tile_size(src(10**10, 2000), None, 2_000_000)  # very dense: the smallest tile
    assert t == plan_mod.TILE_SIDE_MIN_M
    t, why = plan_mod.choose_tile_size(src(1000, 500), 40.0, 2_000_000)  # given: used even for a small input
    assert t == 40.0 and "given" in why


def _iou(a, b) -> float:
    return a.intersection(b).area / a.union(b).area


def test_extraction_tile_by_tile_gives_the_whole_cloud_footprints(district, monkeypatch):
    """Footprints extracted tile by tile (buildings across tile edges whole) equal those of one read."""
    import lidar.build as lb
    from lidar.execution.extract_tiles import extract_tiled
    from lidar.footprints.extraction import extract_footprints
    from lidar.points.source import PointSource, open_points

    src = open_points([district.laz])
    whole = extract_footprints(src.read())
    real_read = PointSource.read

    def no_whole_read(self, bbox=None, **kw):
        assert bbox is not None, "the tiled extraction read the whole cloud"
        return real_read(self, bbox, **kw)

    monkeypatch.setattr(PointSource, "read", no_whole_read)
    # 40 m tiles with a 4 m buffer cut most buildings, extracted again from a larger box around
    # them. A party wall between touching houses may move a little (IoU 0.97), every other
    # outline is the same.
    notes: list[str] = []
    tiled = extract_tiled(src, tile_m=40.0, classify=lb.classify_block, buffer_m=4.0, notes=notes)
    assert len(tiled) == len(whole) == 11 and not notes
    iou = sorted(max(_iou(p, q) for q in whole) for p in tiled)
    assert iou[0] > 0.95 and iou[3] > 0.999, iou
    # the build without footprints: 100 m tiles (2 x 2), a 20 m buffer that holds the buildings crossing edges
    monkeypatch.setattr(lb, "FOOTPRINT_BUFFER_M", 20.0)
    st: dict = {}
    m = lb.build_model([district.laz], lods=("1.2",), terrain=False, progress=False, tile_size_m=100.0, stats=st)
    assert len(m.building_ids()) == 11 and st["statuses"]["ok"] == 11 and st["tile_size_m"] == 100.0
    assert not st["footprint_notes"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_hanging_building_in_a_worker_tile_falls_back(district, monkeypatch, workers):
    """Tiles run whole in worker processes (lidar.execution.tile_pool): a building that hangs is
    killed at its hard limit with its worker; its tile runs again without the buildings already
    built and with that building's LoD2.2 dropped; every other building is the normal one."""
    import lidar.build as lb

    tiles = plan_mod.make_tiles(_footprints(district), 40.0)
    name, members = max(tiles, key=lambda t: len(t[1]))
    assert len(members) >= 3
    ids = [f.id for f in _footprints(district)]
    hung = ids[members[1]]  # one built before it in its tile, one after

    def build(st):
        return lb.build_model([district.laz], footprints=district.footprints, footprint_id_field="id",
                              lods=("1.2", "1.3", "2.2"), terrain=False, progress=False, tile_size_m=40.0,
                              workers=workers, time_limit_s=1.0, stats=st)

    ref = build({})
    monkeypatch.setitem(run_mod.TEST_HANG_S, hung, 120.0)
    st: dict = {}
    t0 = time.perf_counter()
    m = build(st)
    assert time.perf_counter() - t0 < 60.0  # the 2 s hard limit and a worker restart, not 120 s
    a = m.city_objects[hung]["attributes"]
    assert a["status"] == "fallback"
    assert "LoD2.2 stopped at the hard time limit of 2 s" in a["status_reason"]
    assert sorted(g["lod"] for g in m.city_objects[hung]["geometry"]) == ["1.2", "1.3"]
    assert {t["tile"]: t["status"] for t in st["tiles"]}[name] == "ok"
    for bid in m.building_ids():
        g, g_ref = m.geometries(bid), ref.geometries(bid)
        if bid != hung:
            assert m.city_objects[bid]["attributes"] == ref.city_objects[bid]["attributes"], bid
        else:
            g_ref = [x for x in g_ref if x["lod"] != "2.2"]
        assert len(g) == len(g_ref)
        np.testing.assert_array_equal(_coordinates(m, bid), _coordinates(ref, bid) if bid != hung else
                                      np.unique(np.vstack([_lod_coordinates(ref, bid, lod) for lod in ("1.2", "1.3")]), axis=0))


def _lod_coordinates(model, object_id: str, lod: str) -> np.ndarray:
    idx: list[int] = []

    def walk(b):
        for x in b:
            walk(x) if isinstance(x, list) else idx.append(x)

    for g in model.geometries(object_id):
        if g["lod"] == lod:
            walk(g["boundaries"])
    return model.vertices[np.asarray(idx, dtype=int)]


def test_extraction_in_worker_processes_gives_the_same_footprints(district):
    """The files spilled and the tiles extracted by 2 worker processes (lidar.execution.tile_pool)
    give exactly the footprints of the extraction in this process."""
    import lidar.build as lb
    from lidar.execution.extract_tiles import extract_tiled
    from lidar.execution.run import worker_pool
    from lidar.points.source import open_points

    src = open_points([district.laz])
    here = extract_tiled(src, tile_m=40.0, classify=lb.classify_block, buffer_m=4.0)
    pooled = extract_tiled(src, tile_m=40.0, classify=lb.classify_block, buffer_m=4.0, pool=worker_pool(2))
    assert len(here) == len(pooled) == 11
    assert all(a.equals_exact(b, 0.0) for a, b in zip(here, pooled, strict=True))
