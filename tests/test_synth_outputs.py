"""Synthetic district files: LiDAR agrees with the truth, NDVI, footprints, zones, determinism, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from citymodel.errors import OutputExistsError

SIZE_M = 140.0
DENSITY = 8.0
NOISE_M = 0.05
SEED = 11


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory):
    from citymodel.synth import generate

    out = tmp_path_factory.mktemp("synth")
    res = generate(out, seed=SEED, size_m=SIZE_M, density_pts_m2=DENSITY, noise_m=NOISE_M)
    return out, res


@pytest.fixture(scope="session")
def las(synth_dir):
    import laspy

    return laspy.read(synth_dir[1].laz)


@pytest.fixture(scope="session")
def truth_tables(synth_dir):
    r = synth_dir[1]
    return (pd.read_csv(r.truth_roofplanes_csv), pd.read_csv(r.truth_trees_csv),
            pd.read_csv(r.truth_superstructures_csv), pd.read_csv(r.truth_buildings_csv))


def test_all_files_written(synth_dir):
    out, res = synth_dir
    for role, p in res.paths().items():
        assert p.exists() and p.stat().st_size > 0, role
        assert p.parent == out
    assert not list(out.glob(".*part*"))  # no temporary files left


def test_laz_header_crs_and_density(las):
    assert las.header.version.major == 1 and las.header.version.minor == 4
    assert las.header.point_format.id == 6
    assert np.allclose(las.header.scales, 0.001)
    crs = las.header.parse_crs()
    assert crs is not None and crs.to_epsg() == 32632
    density = len(las.points) / SIZE_M**2
    assert DENSITY * 0.92 < density < DENSITY * 1.08
    assert set(np.unique(las.classification)) <= {2, 3, 4, 5, 6}
    assert {2, 5, 6} <= set(np.unique(las.classification))
    assert las.return_number.max() >= 2  # multiple returns in vegetation
    assert np.all(np.asarray(las.return_number) <= np.asarray(las.number_of_returns))
    assert np.unique(las.point_source_id).size >= 1
    scan_deg = np.asarray(las.scan_angle) * 0.006  # LAS 1.4: 0.006 degree units
    assert np.ptp(scan_deg) > 5.0 and np.abs(scan_deg).max() <= 22.5


def test_points_on_roof_planes_within_noise(las, truth_tables):
    """Building points inside a roof plane's outline lie on that plane within 3 sigma."""
    planes, trees, supers, _ = truth_tables
    xyz = np.column_stack([las.x, las.y, las.z])
    bld = np.asarray(las.classification) == 6
    excl = [shapely.buffer(shapely.from_wkt(w), 0.6) for w in supers["outline_wkt"]]
    excl += [shapely.Point(x, y).buffer(r / 2 + 0.5) for x, y, r in
             trees[["x_m", "y_m", "crown_diameter_m"]].to_numpy()]
    excl_u = shapely.union_all(excl) if excl else shapely.Polygon()
    dists = []
    n_planes = 0
    for row in planes.itertuples():
        poly = shapely.buffer(shapely.from_wkt(row.outline_wkt), -0.3)
        if poly.is_empty:
            continue
        poly = shapely.difference(poly, excl_u)
        sel = bld & shapely.contains_xy(poly, xyz[:, 0], xyz[:, 1])
        if not sel.any():
            continue
        p = xyz[sel] - [row.px_m, row.py_m, row.pz_m]
        dp = p @ np.array([row.nx, row.ny, row.nz])
        if dp.size >= 30:  # each plane on its own
            assert np.mean(np.abs(dp) < 3 * NOISE_M) > 0.97, row.plane_id
            assert abs(float(np.median(dp))) < 0.5 * NOISE_M, row.plane_id
            n_planes += 1
        dists.append(dp)
    assert n_planes >= 0.5 * len(planes)
    d = np.concatenate(dists)
    assert d.size > 1000
    assert np.mean(np.abs(d) < 3 * NOISE_M) > 0.99
    rms = float(np.sqrt(np.mean(d**2)))
    assert 0.6 * NOISE_M < rms < 1.1 * NOISE_M
    assert abs(float(np.mean(d))) < 0.1 * NOISE_M


def test_classes_match_objects(synth_dir, las, truth_tables):
    """Ground points on the terrain, building points inside footprints, vegetation in crowns."""
    from scipy.spatial import cKDTree

    from citymodel.synth import make_district

    _, trees, _, _ = truth_tables
    d = make_district(SEED, SIZE_M)
    x, y, z = (np.asarray(a, dtype=np.float64) for a in (las.x, las.y, las.z))
    cls = np.asarray(las.classification)
    g = cls == 2
    dz = z[g] - d.terrain.height(x[g], y[g])
    assert np.mean(np.abs(dz) < 3 * NOISE_M + 0.02) > 0.99
    b = cls == 6
    fps = shapely.union_all([shapely.buffer(bb.footprint, 0.1) for bb in d.buildings])
    assert np.mean(shapely.contains_xy(fps, x[b], y[b])) > 0.999
    v = (cls >= 3) & (cls <= 5)
    assert v.sum() > 100
    # every vegetation point lies in a crown (ellipsoid or cone, 0.15 m tolerance) or on a trunk
    vx = np.column_stack([x[v], y[v], z[v]])
    kd = cKDTree(vx[:, :2])
    inside = np.zeros(len(vx), bool)
    for t in d.trees:
        near = np.asarray(kd.query_ball_point(t.xy, t.crown_diameter_m / 2 + 0.7), dtype=np.int64)
        if near.size:
            p = vx[near]
            trunk = (np.hypot(p[:, 0] - t.xy[0], p[:, 1] - t.xy[1]) < 0.6) & \
                (p[:, 2] < t.z_ground_m + t.crown_base_m + 0.5)
            inside[near] |= t.inside_crown(p, tol_m=0.15) | trunk
    assert np.mean(inside) > 0.99
    assert trees["crown_shape"].isin(["ellipsoid", "cone"]).all()
    # vegetation classes by height above ground
    hag = z[v] - d.terrain.height(x[v], y[v])
    assert np.all(hag[cls[v] == 5] > 1.8)


def test_walls_sparse_and_roofs_occlude(las, synth_dir):
    """No ground points under roofs (occlusion); few points on walls compared with roofs."""
    from citymodel.synth import make_district

    d = make_district(SEED, SIZE_M)
    x, y = np.asarray(las.x), np.asarray(las.y)
    cls = np.asarray(las.classification)
    inner = shapely.union_all([shapely.buffer(b.footprint, -0.5) for b in d.buildings])
    g = cls == 2
    assert np.mean(shapely.contains_xy(inner, x[g], y[g])) < 1e-4
    b = cls == 6
    near_edge = ~shapely.contains_xy(inner, x[b], y[b])
    assert 0.0 < np.mean(near_edge) < 0.25


def test_ndvi_separates_vegetation_from_roofs(synth_dir, truth_tables):
    import rasterio

    planes, trees, _, _ = truth_tables
    _, res = synth_dir
    with rasterio.open(res.ortho) as src:
        img = src.read().astype(np.float64)
        inv = ~src.transform
        assert src.count == 4 and src.crs.to_epsg() == 32632
    ndvi = (img[3] - img[0]) / np.maximum(img[3] + img[0], 1)

    def at(xs, ys):
        c, r = inv @ (np.asarray(xs), np.asarray(ys))
        return ndvi[np.asarray(r, int), np.asarray(c, int)]

    big = trees[(trees.kind != "shrub") & (trees.crown_diameter_m > 3)]
    assert np.median(at(big.x_m, big.y_m)) > 0.5
    from citymodel.synth import make_district

    d = make_district(SEED, SIZE_M)
    crowns = shapely.union_all([shapely.Point(t.xy).buffer(t.crown_diameter_m / 2 + 0.5) for t in d.trees])
    rng = np.random.default_rng(0)
    lawn_pts, roof_pts = [], []
    for g in d.green_areas:
        poly = shapely.difference(shapely.buffer(g.polygon, -1.0), crowns)
        if not poly.is_empty:
            xy = rng.uniform(*np.reshape(poly.bounds, (2, 2)), (200, 2))
            lawn_pts.append(xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])])
    for w in planes.outline_wkt:
        poly = shapely.difference(shapely.buffer(shapely.from_wkt(w), -0.5), crowns)
        if not poly.is_empty:
            roof_pts.append(np.asarray(poly.representative_point().coords))
    lawn = np.concatenate(lawn_pts)
    roof = np.concatenate(roof_pts)
    assert np.median(at(lawn[:, 0], lawn[:, 1])) > 0.5
    assert np.percentile(at(roof[:, 0], roof[:, 1]), 95) < 0.15


def test_footprints_equal_truth_ground_surfaces(synth_dir):
    from pyogrio.raw import read

    from citymodel.geometry import polygon_area_normal
    from citymodel.io.cityjson import read_cityjson

    _, res = synth_dir
    meta, _, geom, fields = read(res.footprints)
    names = list(meta["fields"])
    ids = fields[names.index("id")]
    assert set(names) >= {"id", "construction_year", "use"}
    assert set(fields[names.index("use")]) <= {"residential", "office", "commercial", "school"}
    assert "32632" in meta["crs"]
    model = read_cityjson(res.truth)
    area = {}
    for bid in model.building_ids():
        objs = [bid] + model[bid].get("children", [])
        a = 0.0
        for o in objs:
            for g in model.geometries(o):
                sem = g["semantics"]
                for surf, k in zip(g["boundaries"][0], sem["values"][0], strict=True):
                    if sem["surfaces"][k]["type"] == "GroundSurface":
                        a += polygon_area_normal([model.vertices[np.array(r)] for r in surf])[0]
        area[bid] = a
    fp_area = shapely.area(shapely.from_wkb(geom))
    assert len(ids) == len(area)
    for bid, a in zip(ids, fp_area, strict=True):
        # equal up to the 1 mm quantisation of the CityJSON file
        assert a == pytest.approx(area[bid], rel=1e-4, abs=0.02)


def test_zones_cover_district(synth_dir):
    from pyogrio.raw import read

    _, res = synth_dir
    meta, _, geom, fields = read(res.zones)
    names = list(meta["fields"])
    polys = shapely.from_wkb(geom)
    assert 4 <= len(polys) <= 8
    assert shapely.union_all(polys).area == pytest.approx(SIZE_M**2, rel=1e-6)
    assert sum(shapely.area(polys)) == pytest.approx(SIZE_M**2, rel=1e-6)
    for col in ("share_over_75", "fragility_index"):
        v = fields[names.index(col)]
        assert np.all((v >= 0) & (v <= 1))
    assert fields[names.index("population")].sum() > 0


def test_same_seed_same_bytes(synth_dir, tmp_path, las):
    import laspy
    import rasterio

    from citymodel.synth import generate

    _, a = synth_dir
    b = generate(tmp_path, seed=SEED, size_m=SIZE_M, density_pts_m2=DENSITY, noise_m=NOISE_M)
    assert a.truth.read_bytes() == b.truth.read_bytes()
    assert a.truth_roofplanes_csv.read_bytes() == b.truth_roofplanes_csv.read_bytes()
    lb = laspy.read(b.laz)
    assert np.array_equal(las.points.array, lb.points.array)
    with rasterio.open(a.ortho) as s1, rasterio.open(b.ortho) as s2:
        assert np.array_equal(s1.read(), s2.read())
    with pytest.raises(OutputExistsError, match="overwrite"):
        generate(tmp_path, seed=SEED, size_m=SIZE_M)


def test_unclassified_and_footprint_defects(tmp_path):
    import laspy
    from pyogrio.raw import read

    from citymodel.synth import generate

    r = generate(tmp_path, seed=2, size_m=80.0, density_pts_m2=2.0, unclassified=True,
                 footprint_noise_m=0.5, footprint_missing_fraction=0.25, ortho_resolution_m=1.0)
    assert set(np.unique(laspy.read(r.laz).classification)) == {1}
    _, _, geom, fields = read(r.footprints)
    n_b = len(r.truth_model.building_ids())
    assert len(geom) == n_b - round(0.25 * n_b)
    assert all(shapely.is_valid(shapely.from_wkb(geom)))


def test_cli_synth(cli_runner, tmp_path):
    out = tmp_path / "d"
    res = cli_runner("synth", "--out", out, "--size-m", "70", "--density-pts-m2", "1", "--seed", "5")
    assert res.exit_code == 0, res.output
    assert (out / "points.laz").exists() and (out / "truth.city.json").exists()
    res = cli_runner("synth", "--out", out, "--size-m", "70")
    assert res.exit_code == 1
    res = cli_runner("synth", "--out", out, "--origin", "nonsense")
    assert res.exit_code == 2


def test_unclassified_has_the_same_points(synth_dir, las, tmp_path):
    """``unclassified`` changes only the classes: the classified run is the per-point truth."""
    import laspy

    from citymodel.synth import generate

    r = generate(tmp_path, seed=SEED, size_m=SIZE_M, density_pts_m2=DENSITY, noise_m=NOISE_M, unclassified=True)
    u = laspy.read(r.laz)
    assert np.array_equal(np.asarray(u.X), np.asarray(las.X))
    assert np.array_equal(np.asarray(u.Z), np.asarray(las.Z))
    assert set(np.unique(u.classification)) == {1}


def test_edge_returns_at_roof_edges(las):
    """Building points with several returns exist (beam across a roof edge), but few."""
    cls = np.asarray(las.classification)
    n_ret = np.asarray(las.number_of_returns)
    b = cls == 6
    share = np.mean(n_ret[b] > 1)
    assert 0.002 < share < 0.1


def test_demo_stage(tmp_path):
    from citymodel.demo import DemoContext
    from citymodel.synth.demo_stage import run

    ctx = DemoContext(out_dir=tmp_path, seed=3, size_m=90.0, quiet=True)
    run(ctx)
    for role in ("truth", "truth_buildings_csv", "laz", "footprints", "ortho", "zones"):
        assert ctx.paths[role].exists(), role
    assert ctx.truth is ctx.model and len(ctx.truth.building_ids()) > 0
    assert (ctx.figures_dir / "synth_district.png").stat().st_size > 10_000
    assert any("synth:" in s for s in ctx.summary)
    kinds = [b.kind for b in ctx.report.blocks]
    assert {"heading", "image", "table"} <= set(kinds)
