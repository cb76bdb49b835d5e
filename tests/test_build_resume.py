"""Per-block outputs in a work folder (resume) and blocks on a Dask cluster (lidar._blockcache, lidar._dask)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import shapely

import lidar.build as lb

FPS = [shapely.box(x0, y0, x0 + 10, y0 + 8) for x0 in (10, 50, 90) for y0 in (15, 60, 100)]


@pytest.fixture(scope="module")
def las_path(tmp_path_factory):
    import laspy

    rng = np.random.default_rng(9)
    n = 40000
    x, y = rng.uniform(0, 120, n), rng.uniform(0, 120, n)
    roof = shapely.contains_xy(shapely.union_all(FPS), x, y)
    h = laspy.LasHeader(point_format=1, version="1.2")
    h.scales, h.offsets = np.array([0.001] * 3), np.zeros(3)
    las = laspy.LasData(h)
    las.x, las.y = x, y
    # flat roofs at 6 m, and one with a 3 m step (LoD1.3 parts)
    las.z = 0.02 * x + 0.5 * np.sin(y / 15) + np.where(roof, 6.0 + np.where((x > 55) & (y < 30), 3.0, 0.0), 0.0)
    las.classification = np.where(roof, 6, 2).astype(np.uint8)
    p = tmp_path_factory.mktemp("resume") / "g.las"
    las.write(str(p))
    return p


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(lb, "SINGLE_READ_POINTS", 0)  # spilled
    monkeypatch.setattr(lb, "BLOCK_M", 30.0)  # 9 footprint blocks + ground-only cells


def _build(las, **kw):
    st: dict = {}
    kw.setdefault("terrain", True)
    m = lb.build_model([las], footprints=FPS, crs="EPSG:28992", progress=False, stats=st, **kw)
    return m, st


def _buildings(m):
    out = {}
    for bid in m.building_ids():
        o = m.city_objects[bid]
        geo = []
        for g in o["geometry"]:
            idx = [i for s in g["boundaries"][0] for ring in s for i in ring]
            geo.append((g["lod"], m.vertices[idx]))
        out[bid] = (o["attributes"], geo)
    return out


def _same_buildings(a, b):
    ba, bb = _buildings(a), _buildings(b)
    assert ba.keys() == bb.keys()
    for bid in ba:
        assert ba[bid][0] == bb[bid][0], bid
        assert [lod for lod, _ in ba[bid][1]] == [lod for lod, _ in bb[bid][1]], bid
        for (_, va), (_, vb) in zip(ba[bid][1], bb[bid][1], strict=True):
            np.testing.assert_array_equal(va, vb)


def _tin_vertices(m):
    tin = m.city_objects["terrain"]["geometry"][0]["boundaries"]
    return m.vertices[np.unique([r[0] for r in tin])]


def test_rerun_reuses_every_block_and_gives_the_same_model(las_path, tmp_path, small_blocks, monkeypatch):
    ref, st0 = _build(las_path)
    wd = tmp_path / "work"
    m1, st1 = _build(las_path, workdir=wd)
    n_files = len(list(wd.glob("block_*.pkl")))
    assert st1["blocks_reused"] == 0 and n_files >= 9
    _same_buildings(ref, m1)

    def no_spill(*a, **k):
        raise AssertionError("a re-run must not read the points again")

    monkeypatch.setattr("lidar.spill.spill_blocks", no_spill)
    monkeypatch.setattr("lidar.execution.tile_pool.TilePool.spill", no_spill)  # the workers' spill
    m2, st2 = _build(las_path, workdir=wd)
    assert st2["blocks_reused"] == n_files
    _same_buildings(ref, m2)
    np.testing.assert_allclose(_tin_vertices(m2), _tin_vertices(ref), atol=1e-9)
    assert not [p for p in wd.iterdir() if not p.name.startswith("block_") and p.name != "tiles.jsonl"]  # no temporary left
    log = [json.loads(line) for line in (wd / "tiles.jsonl").read_text().splitlines()]
    assert [r["status"] for r in log] == ["ok"] * n_files + ["reused"] * n_files  # one line per tile per run
    assert sum(r["n_buildings"] for r in log[:n_files]) == len(FPS)


def test_interrupted_build_resumes(las_path, tmp_path, small_blocks, monkeypatch):
    ref, _ = _build(las_path, terrain=False)
    wd = tmp_path / "work"
    calls = []
    real = lb._classes

    def fail_third(pc, ortho=None):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the user stops the build in the third block
        return real(pc, ortho)

    monkeypatch.setattr(lb, "_classes", fail_third)
    with pytest.raises(KeyboardInterrupt):  # in this process, where the patched classifier runs
        _build(las_path, terrain=False, workdir=wd, hard_time_limit=False)
    assert len(list(wd.glob("block_*.pkl"))) == 2
    monkeypatch.setattr(lb, "_classes", real)
    m, st = _build(las_path, terrain=False, workdir=wd)
    assert st["blocks_reused"] == 2
    _same_buildings(ref, m)


def test_changed_input_or_option_is_not_reused(las_path, tmp_path, small_blocks):
    wd = tmp_path / "work"
    _build(las_path, terrain=False, workdir=wd)
    _, st = _build(las_path, terrain=False, workdir=wd, lods=("1.2", "1.3"))  # another option
    assert st["blocks_reused"] == 0
    copy = tmp_path / "g.las"
    copy.write_bytes(las_path.read_bytes())
    _, st = _build(copy, terrain=False, workdir=wd)  # another file name
    assert st["blocks_reused"] == 0
    _, st = _build(copy, terrain=False, workdir=wd)
    assert st["blocks_reused"] == 9
    t = copy.stat().st_mtime_ns
    os.utime(copy, ns=(t + 10**9, t + 10**9))  # the same file, modified
    _, st = _build(copy, terrain=False, workdir=wd)
    assert st["blocks_reused"] == 0


def test_dask_cluster_gives_the_local_result(las_path, tmp_path, small_blocks):
    distributed = pytest.importorskip("distributed")
    ref, _ = _build(las_path)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        m, st = _build(las_path, scheduler=client, workdir=tmp_path / "work")
    assert st["blocks_reused"] == 0 and len(list((tmp_path / "work").glob("block_*.pkl"))) >= 9
    _same_buildings(ref, m)
    # the terrain merges blocks in completion order: equal up to the order of float sums
    np.testing.assert_allclose(_tin_vertices(m), _tin_vertices(ref), atol=1e-9)


@pytest.mark.filterwarnings("ignore:.*not longitudes/latitudes")
def test_cli_workdir_resumes(las_path, tmp_path, small_blocks, cli_runner):
    import json

    fp = tmp_path / "fp.geojson"
    fp.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": f"b{i}"}, "geometry": shapely.geometry.mapping(g)}
        for i, g in enumerate(FPS)]}))
    args = ["-q", "build", "--points", las_path, "--footprints", fp, "--footprint-id-field", "id", "--crs", "EPSG:28992",
            "--lod", "1.2", "--no-terrain", "--workdir", tmp_path / "work"]
    r1 = cli_runner(*args, "--out", tmp_path / "a.city.json")
    assert r1.exit_code == 0 and "reused" not in r1.output
    r2 = cli_runner(*args, "--out", tmp_path / "b.city.json")
    assert r2.exit_code == 0 and "9 blocks reused" in r2.output
    assert (tmp_path / "a.city.json").read_bytes() == (tmp_path / "b.city.json").read_bytes()


def test_without_footprints_the_extraction_is_reused_too(las_path, tmp_path, monkeypatch):
    """No footprints: the extracted ones are kept in the work folder, and the blocks after them."""
    wd = tmp_path / "work"
    st1: dict = {}
    m1 = lb.build_model([las_path], footprints=None, crs="EPSG:28992", progress=False, stats=st1, workdir=wd,
                        terrain=False)
    assert len(m1.building_ids()) >= len(FPS)  # the roof with a 3 m step may come out as two
    assert len(list(wd.glob("footprints_*.pkl"))) == 1

    def no_extraction(*a, **k):
        raise AssertionError("footprints extracted again")

    monkeypatch.setattr(lb, "_extract_footprints", no_extraction)
    st2: dict = {}
    m2 = lb.build_model([las_path], footprints=None, crs="EPSG:28992", progress=False, stats=st2, workdir=wd,
                        terrain=False)
    assert st2["blocks_reused"] >= 1
    b1, b2 = _buildings(m1), _buildings(m2)
    assert b1.keys() == b2.keys()
    for k in b1:
        assert b1[k][0] == b2[k][0]
        for (l1, v1), (l2, v2) in zip(b1[k][1], b2[k][1], strict=True):
            assert l1 == l2 and np.array_equal(v1, v2)
