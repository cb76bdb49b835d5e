"""Land cover and green areas (lidar.vegetation, citymodel.landcover) against exact synthetic truth.

The synthetic district's truth: the land cover seen from above (one vertical ray per cell against
the scene mesh, citymodel.synth.landcover_truth) and the PlantCover lawns plus the crowns'
discs. A small hand-made scene has lawns and paving at the same height with no intensity
information, and a hedge and a wall of the same height, which only the orthophoto separates.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

synth = pytest.importorskip("citymodel.synth", reason="the synthetic district generator is not installed")

from citymodel import landcover as lcm  # noqa: E402
from citymodel.errors import CRSError, InputError, OutputExistsError  # noqa: E402
from citymodel.model import CityModel  # noqa: E402
from citymodel.synth.landcover_truth import truth_green_polygons, truth_landcover  # noqa: E402
from citymodel.synth.ortho import ALBEDO_RGBN  # noqa: E402
from lidar.classify import classify_points  # noqa: E402
from lidar.footprints import read_footprints  # noqa: E402
from lidar.pointcloud import PointCloud, read_points  # noqa: E402
from lidar.vegetation.build_step import VegetationOptions, add_vegetation, check_ortho  # noqa: E402
from lidar.vegetation.greenareas import green_areas  # noqa: E402
from lidar.vegetation.greenness import parse_bands, read_greenness  # noqa: E402
from lidar.vegetation.landcover import classify_landcover, grid_for  # noqa: E402
from lidar.vegetation.tiles import run_landcover  # noqa: E402

SIZE_M = 200.0
#: Issue 14's floors.
MIN_IOU, MIN_ACCURACY = 0.85, 0.90


# ----------------------------------------------------------------------------- class table
def test_class_table_and_umep_mapping():
    t = lcm.class_table()
    assert list(t.code) == [1, 2, 3, 4, 5, 6, 7]
    assert {"impervious", "building", "tree_canopy", "shrubs", "grass_low_vegetation", "bare_soil", "water"} == set(t.name)
    assert ((t.albedo > 0) & (t.albedo < 1) & (t.emissivity > 0.9) & (t.emissivity <= 1)).all()
    # rational-method coefficients: sealed ground sheds most rain, pervious ground little
    assert (t[~t.pervious & (t.name != "water")].runoff_coefficient >= 0.7).all()
    assert (t[t.pervious].runoff_coefficient <= 0.3).all()
    codes = np.arange(8)
    assert lcm.to_umep(codes).tolist() == [0, 1, 2, 4, 5, 5, 6, 7]
    assert lcm.from_umep(np.arange(8)).tolist() == [0, 1, 2, 3, 3, 5, 6, 7]
    assert (lcm.from_umep(lcm.to_umep(codes)) == np.array([0, 1, 2, 3, 5, 5, 6, 7])).all()  # shrubs -> grass
    with pytest.raises(InputError, match="not UMEP land-cover classes"):
        lcm.from_umep(np.array([1, 9]))
    assert lcm.property_raster(np.array([[2, 5]]), "runoff_coefficient").tolist() == [[0.90, 0.15]]
    assert lcm.albedo_table()[lcm.GRASS] == 0.20
    # every ground surface named is one of the heat solver's layer stacks
    from microclimate.layers import LAND_COVER

    assert {c.ground for c in lcm.LANDCOVER_CLASSES} - {None} <= set(LAND_COVER)


def test_landcover_geotiff_roundtrip(tmp_path):
    import rasterio
    from affine import Affine

    codes = np.tile(np.arange(8, dtype=np.uint8), (4, 1))
    tr = Affine(0.5, 0, 1000.0, 0, -0.5, 2000.0)
    p = tmp_path / "lc.tif"
    lcm.write_landcover(p, codes, tr, 32632, tags={"inputs": "test"})
    back, meta = lcm.read_landcover(p)
    assert (back == codes).all() and meta["scheme"] == "citymodel" and meta["epsg"] == 32632
    with rasterio.open(p) as ds:
        assert ds.colormap(1)[5][:3] == (170, 220, 110)
        assert ds.tags(1)["class_5"] == "grass_low_vegetation" and ds.nodata == 0
    assert lcm.is_landcover_raster(p)
    # a UMEP raster (no tag) is read as UMEP classes
    u = tmp_path / "umep.tif"
    lcm.write_landcover(u, codes, tr, 32632, umep=True)
    back_u, meta_u = lcm.read_landcover(u)
    assert meta_u["scheme"] == "umep" and not lcm.is_landcover_raster(u)
    assert (back_u == lcm.from_umep(lcm.to_umep(codes))).all()
    with pytest.raises(OutputExistsError):
        lcm.write_landcover(p, codes, tr, 32632)


@pytest.mark.shared_data
def test_reads_umep_landcover_of_gothenburg():
    from tests.conftest import shared_path

    codes, meta = lcm.read_landcover(shared_path("heat_gothenburg", "kronenhuset", "landcover_KR.tif"))
    vals, counts = np.unique(codes, return_counts=True)
    print("Kronenhuset UMEP land cover as ours:", dict(zip(vals.tolist(), counts.tolist(), strict=True)))
    assert meta["scheme"] == "umep" and codes.shape == (223, 234)
    assert set(vals.tolist()) <= {0, 1, 2, 3, 5, 6, 7} and lcm.BUILDING in vals and lcm.IMPERVIOUS in vals


def test_solar_albedo_reads_our_landcover_by_default(tmp_path):
    from affine import Affine

    from energy.solar.albedo import sensor_albedo

    codes = np.full((100, 100), lcm.GRASS, np.uint8)
    codes[:, 50:] = lcm.WATER  # east half water
    p = tmp_path / "lc.tif"
    lcm.write_landcover(p, codes, Affine(1.0, 0, 0.0, 0, -1.0, 100.0), 32632)
    pts = np.array([[20.0, 50.0, 1.0], [80.0, 50.0, 1.0]])
    up = np.array([[0.0, 0.0, 1.0]] * 2)
    a = sensor_albedo(p, pts, up, np.zeros(2), 32632)  # no table given: the class table's albedo
    assert a == pytest.approx([0.20, 0.08], abs=1e-12)


# ----------------------------------------------------------------------------- synthetic district
@pytest.fixture(scope="module", params=[7, 23], ids=["seed7", "seed23"])
def district(request, tmp_path_factory):
    seed = request.param
    o = synth.generate(tmp_path_factory.mktemp(f"veg{seed}"), seed=seed, size_m=SIZE_M)
    dist = synth.make_district(seed=seed, size_m=SIZE_M)
    truth, _ = truth_landcover(dist, 0.5)
    return {"seed": seed, "dist": dist, "pc": read_points([o.laz]), "laz": o.laz, "ortho": o.ortho, "truth": truth,
            "fps": [f.geometry for f in read_footprints(o.footprints)], "tg": truth_green_polygons(dist)}


def _iou(a, b) -> float:
    return float(shapely.intersection(a, b).area / shapely.union(a, b).area)


def _scores(d, pc, ortho) -> dict:
    r = classify_landcover(pc, bounds=d["dist"].bounds, footprints=d["fps"], ortho=ortho)
    ga = green_areas(r)
    grass = ga[ga.plant_cover_class == "grass_low_vegetation"]
    cm = np.zeros((8, 8), np.int64)
    np.add.at(cm, (d["truth"].ravel(), r.codes.ravel()), 1)
    recall = {lcm.LANDCOVER_CLASSES[k - 1].name: round(cm[k, k] / max(cm[k].sum(), 1), 3) for k in (1, 2, 3, 4, 5)}
    return {
        "accuracy": float((r.codes == d["truth"]).mean()),
        "iou_green": _iou(shapely.union_all(ga.geometry.to_list()), d["tg"]["green"]),
        "iou_grass": _iou(shapely.union_all(grass.geometry.to_list()), d["tg"]["lawn_visible"]),
        "iou_grass_all_lawn": _iou(shapely.union_all(grass.geometry.to_list()), d["tg"]["lawn"]),
        "recall": recall, "areas": ga, "notes": r.notes,
    }


@pytest.mark.parametrize("with_ortho", [False, True], ids=["lidar", "lidar+ortho"])
def test_synthetic_green_areas_and_landcover(district, with_ortho):
    s = _scores(district, district["pc"], district["ortho"] if with_ortho else None)
    print(f"\nseed {district['seed']} {'with' if with_ortho else 'without'} ortho: cell accuracy "
          f"{s['accuracy']:.4f}, green IoU {s['iou_green']:.4f} (all green vs lawns + crowns), grass IoU "
          f"{s['iou_grass']:.4f} (vs lawns outside crowns; {s['iou_grass_all_lawn']:.4f} vs whole lawns), "
          f"recall {s['recall']}, {len(s['areas'])} areas; {s['notes']}")
    assert s["accuracy"] >= MIN_ACCURACY
    assert s["iou_green"] >= MIN_IOU
    assert s["iou_grass"] >= MIN_IOU
    assert s["iou_grass_all_lawn"] >= MIN_IOU  # even against whole lawns, parts of them under crowns
    ga = s["areas"]
    assert ga.area_m2.min() >= 4.0  # slivers dropped
    trees = ga[ga.plant_cover_class == "tree_canopy"]
    truth_h = np.median([t.height_m for t in district["dist"].trees if t.kind != "shrub"])
    # mean height of a crown's cells lies below its top: between the crown base and the top
    assert 0.4 * truth_h < np.median(trees.height_m) < truth_h
    if with_ortho:  # lawns' NDVI from the renderer's reflectances (shading cancels in the ratio)
        r, _, _, n = ALBEDO_RGBN["lawn"]
        grass = ga[ga.plant_cover_class == "grass_low_vegetation"]
        ndvi = np.average(grass.greenness, weights=grass.area_m2)
        assert ndvi == pytest.approx((n - r) / (n + r), abs=0.08)


def test_ortho_adds_on_unclassified_points(district):
    """Files without classes: the points are classified here (lidar.classify), the orthophoto
    then recovers shrubs and crowns that the geometric classifier leaves unclassified."""
    pc = district["pc"]
    runs = {}
    for name, ortho in (("lidar", None), ("lidar+ortho", district["ortho"])):
        cls = classify_points(PointCloud(pc.xyz, np.ones(len(pc), np.uint8), pc.return_number, pc.number_of_returns,
                                         pc.intensity, pc.epsg, []), ortho=ortho)
        p2 = PointCloud(pc.xyz, cls, pc.return_number, pc.number_of_returns, pc.intensity, pc.epsg, [])
        runs[name] = _scores(district, p2, ortho)
        print(f"\nunclassified points, {name}: accuracy {runs[name]['accuracy']:.4f}, green IoU "
              f"{runs[name]['iou_green']:.4f}, recall {runs[name]['recall']}")
    for s in runs.values():
        assert s["accuracy"] >= MIN_ACCURACY and s["iou_green"] >= MIN_IOU
    a, b = runs["lidar"]["recall"], runs["lidar+ortho"]["recall"]
    assert b["shrubs"] >= a["shrubs"] + 0.3
    assert b["tree_canopy"] >= a["tree_canopy"]


def test_tiled_run_matches_one_read(district):
    """Big inputs go tile by tile (spilled once): 16 tiles of 60 m give the same land cover."""
    d = district
    for ortho in (None, d["ortho"]):
        one, _ = run_landcover(d["laz"], bounds=d["dist"].bounds, footprints=d["fps"], ortho=ortho)
        tiled, has_veg = run_landcover(d["laz"], bounds=d["dist"].bounds, footprints=d["fps"], ortho=ortho,
                                       max_points=0, tile_m=60.0)
        agree = float((one.codes == tiled.codes).mean())
        acc = float((tiled.codes == d["truth"]).mean())
        print(f"\ntiled ({'with' if ortho else 'without'} ortho): accuracy {acc:.4f}, agreement with one read "
              f"{agree:.4f}; {tiled.notes[:2]}")
        assert has_veg and tiled.codes.shape == one.codes.shape and tiled.notes[0].startswith("classified in 16 tiles")
        assert agree >= 0.98 and acc >= MIN_ACCURACY
        assert np.abs(tiled.dtm[0] - np.median(tiled.dtm[0])).max() < 50  # one gap-free terrain grid


# ----------------------------------------------------------------------------- a hand-made scene
EPSG = 32632
X0, Y0 = 500000.0, 5000000.0


def _scene(rng=None) -> PointCloud:
    """40 x 40 m: lawn (x < 20) and paving (x >= 20) at z = 0 with one intensity everywhere; a
    1.5 m hedge (y 10..11) and a 1.5 m wall (y 30..30.4), both from x 4 to 16 and both
    unclassified single returns; a 6 m building (x 30..36, y 30..36)."""
    rng = np.random.default_rng(1) if rng is None else rng
    g = np.mgrid[0:40:0.25, 0:40:0.25].reshape(2, -1).T + rng.uniform(0, 0.25, (25600, 2))
    z = np.zeros(len(g))
    cls = np.full(len(g), 2, np.uint8)
    hedge = (g[:, 1] >= 10) & (g[:, 1] < 11) & (g[:, 0] >= 4) & (g[:, 0] < 16)
    wall = (g[:, 1] >= 30) & (g[:, 1] < 30.4) & (g[:, 0] >= 4) & (g[:, 0] < 16)
    bld = (g[:, 0] >= 30) & (g[:, 0] < 36) & (g[:, 1] >= 30) & (g[:, 1] < 36)
    z[hedge | wall] = 1.5 + rng.normal(0, 0.05, (hedge | wall).sum())
    cls[hedge | wall] = 1
    z[bld] = 6.0
    cls[bld] = 6
    xyz = np.column_stack([g[:, 0] + X0, g[:, 1] + Y0, z + 10.0])
    n = len(xyz)
    one = np.ones(n, np.uint8)
    return PointCloud(xyz, cls, one, one, np.full(n, 1000, np.uint16), EPSG, [])


def _write_ortho(path, *, dx=0.0, count=4, crs=True, res=0.25):
    import rasterio
    from affine import Affine
    from rasterio.enums import ColorInterp

    n = int(40 / res)
    yy, xx = np.mgrid[0:n, 0:n]
    x = (xx + 0.5) * res
    y = 40 - (yy + 0.5) * res
    refl = np.empty((4, n, n))
    lawn, paving, wall, shrub, tiles = (np.array(ALBEDO_RGBN[k])[:, None, None] for k in
                                        ("lawn", "paving", "wall", "shrub", "tiles"))
    refl[:] = np.where(x < 20, lawn, paving)
    refl[:] = np.where((y >= 10) & (y < 11) & (x >= 4) & (x < 16), shrub, refl)
    refl[:] = np.where((y >= 30) & (y < 30.4) & (x >= 4) & (x < 16), wall, refl)
    refl[:] = np.where((x >= 30) & (x < 36) & (y >= 30) & (y < 36), tiles, refl)
    img = np.clip(refl * 255 / 0.7, 0, 255).astype(np.uint8)[:count]
    prof = {"driver": "GTiff", "width": n, "height": n, "count": count, "dtype": "uint8",
            "transform": Affine(res, 0, X0 + dx, 0, -res, Y0 + 40)}
    if crs:
        prof["crs"] = f"EPSG:{EPSG}"
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(img)
        if count == 4:
            ds.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.undefined]
            ds.set_band_description(4, "nir")
    return str(path)


def _cells(r, x0, x1, y0, y1):
    """Land-cover codes of the cells whose centres lie in local box x0..x1, y0..y1 [m]."""
    (ny, nx) = r.codes.shape
    xc = r.transform.c + (np.arange(nx) + 0.5) * r.transform.a - X0
    yc = r.transform.f + (np.arange(ny) + 0.5) * r.transform.e - Y0
    return r.codes[np.ix_((yc > y0) & (yc < y1), (xc > x0) & (xc < x1))]


def test_ortho_separates_lawn_from_paving_and_hedge_from_wall(tmp_path):
    pc = _scene()
    bld = [shapely.box(X0 + 30, Y0 + 30, X0 + 36, Y0 + 36)]
    without = classify_landcover(pc, footprints=bld)
    with_o = classify_landcover(pc, footprints=bld, ortho=_write_ortho(tmp_path / "o.tif"))
    share = {}
    for name, r in (("lidar", without), ("lidar+ortho", with_o)):
        share[name] = {
            "lawn": float((_cells(r, 1, 19, 14, 28) == lcm.GRASS).mean()),
            "paving": float((_cells(r, 21, 29, 1, 28) == lcm.IMPERVIOUS).mean()),
            "hedge": float((_cells(r, 4.5, 15.5, 10.2, 10.8) == lcm.SHRUBS).mean()),
            "wall": float((_cells(r, 4.5, 15.5, 30.0, 30.4) != lcm.SHRUBS).mean()),
            "building": float((_cells(r, 30.5, 35.5, 30.5, 35.5) == lcm.BUILDING).mean()),
        }
        print(f"\nhand-made scene, {name}: share of cells right {share[name]}; {r.notes}")
    assert share["lidar"]["lawn"] == 0.0 and share["lidar"]["hedge"] == 0.0  # LiDAR alone cannot tell
    assert any("fallback" in n and "not bimodal" in n for n in without.notes)
    s = share["lidar+ortho"]
    assert s["lawn"] >= 0.98 and s["paving"] >= 0.98 and s["hedge"] >= 0.9 and s["wall"] == 1.0
    assert s["building"] == 1.0 and share["lidar"]["building"] == 1.0
    assert with_o.greenness_index == "ndvi"


def test_excess_green_without_nir(tmp_path):
    pc = _scene()
    r = classify_landcover(pc, ortho=_write_ortho(tmp_path / "rgb.tif", count=3))
    assert r.greenness_index == "exg" and any("excess green" in n for n in r.notes)
    assert (_cells(r, 1, 19, 14, 28) == lcm.GRASS).mean() >= 0.98
    assert (_cells(r, 21, 29, 1, 28) == lcm.IMPERVIOUS).mean() >= 0.98


# ----------------------------------------------------------------------------- bad input
def _grid():
    return grid_for((X0, Y0, X0 + 40, Y0 + 40), 0.5)


@pytest.mark.parametrize("case, error, match", [
    ("no_overlap", InputError, "does not overlap the points"),
    ("two_bands", InputError, r"has 2 band\(s\).*--bands R,G,B,NIR"),
    ("no_crs", CRSError, "has no CRS.*gdal_translate -a_srs"),
    ("not_raster", InputError, "not a readable raster"),
    ("bands_count", InputError, r"--bands lists 3 band\(s\) but the orthophoto has 4"),
])
def test_bad_orthophoto(tmp_path, case, error, match):
    p = tmp_path / "o.tif"
    bands = None
    if case == "no_overlap":
        _write_ortho(p, dx=10_000.0)
    elif case == "two_bands":
        _write_ortho(p, count=2)
    elif case == "no_crs":
        _write_ortho(p, crs=False)
    elif case == "not_raster":
        p.write_text("x,y\n1,2\n")
    else:
        _write_ortho(p)
        bands = "R,G,B"
    (ny, nx), tr = _grid()
    with pytest.raises(error, match=match) as info:
        read_greenness(p, tr, (ny, nx), EPSG, bands=bands)
    assert str(p) in str(info.value)
    # --ortho-optional: the build goes on without it, and says so
    ortho, notes = check_ortho(p, VegetationOptions(ortho_optional=True, bands=bands), EPSG, (X0, Y0, X0 + 40, Y0 + 40))
    assert ortho is None and len(notes) == 1 and notes[0].startswith("fallback: orthophoto not used")
    with pytest.raises(error):
        check_ortho(p, VegetationOptions(bands=bands), EPSG, (X0, Y0, X0 + 40, Y0 + 40))


def test_parse_bands():
    assert parse_bands("R,G,B,NIR") == ["red", "green", "blue", "nir"]
    assert parse_bands("nir, r, g, x") == ["nir", "red", "green", None]
    with pytest.raises(InputError, match="unknown band role 'Q'"):
        parse_bands("R,G,Q")
    with pytest.raises(InputError, match="given twice"):
        parse_bands("R,R,B")
    with pytest.raises(InputError, match="--bands R,G,B,NIR: band roles need an orthophoto"):
        check_ortho(None, VegetationOptions(bands="R,G,B,NIR"), EPSG, (X0, Y0, X0 + 40, Y0 + 40))


def test_add_vegetation_records_fallback(tmp_path, caplog):
    pc = _scene()
    p = tmp_path / "bad.tif"
    _write_ortho(p, dx=10_000.0)
    opts = VegetationOptions(ortho_optional=True, landcover_out=tmp_path / "lc.tif")
    bounds = (X0, Y0, X0 + 40, Y0 + 40)
    with caplog.at_level("WARNING"):
        ortho, notes = check_ortho(p, opts, EPSG, bounds)
    assert "orthophoto not used" in caplog.text
    model = CityModel(vertices=np.zeros((0, 3)), city_objects={}, epsg=EPSG)
    s = add_vegetation(model, pc, options=opts, ortho=ortho, notes=notes, bounds=bounds,
                       footprints=[shapely.box(X0 + 30, Y0 + 30, X0 + 36, Y0 + 36)])
    assert any(n.startswith("fallback: orthophoto not used") for n in s["notes"])
    import rasterio

    with rasterio.open(tmp_path / "lc.tif") as ds:
        assert "orthophoto not used" in ds.tags()["notes"]
    # no vegetation in the points and no orthophoto: no PlantCover, and the summary says why
    assert s["plant_covers"] == 0 and any("no PlantCover" in n for n in s["notes"])
    # with the orthophoto: the hedge and the lawn become PlantCover with their NDVI
    model2 = CityModel(vertices=np.zeros((0, 3)), city_objects={}, epsg=EPSG)
    s2 = add_vegetation(model2, pc, options=VegetationOptions(), ortho=_write_ortho(tmp_path / "ok.tif"),
                        bounds=bounds)
    kinds = sorted(o["attributes"]["plant_cover_class"] for o in model2.city_objects.values())
    assert s2["plant_covers"] == len(kinds) and kinds.count("shrubs") == 1 and "grass_low_vegetation" in kinds
    assert all(o["attributes"]["source"] == "lidar+ortho" for o in model2.city_objects.values())


def _write_las(pc: PointCloud, path) -> str:
    import laspy
    from pyproj import CRS

    h = laspy.LasHeader(point_format=6, version="1.4")
    h.scales = np.array([0.001, 0.001, 0.001])
    h.offsets = np.floor(pc.xyz.min(axis=0))
    h.add_crs(CRS.from_epsg(EPSG))
    las = laspy.LasData(h)
    las.x, las.y, las.z = pc.xyz.T
    las.classification = pc.classification
    las.return_number = pc.return_number
    las.number_of_returns = pc.number_of_returns
    las.intensity = pc.intensity
    las.write(str(path))
    return str(path)


def test_build_cli_landcover_and_ortho_optional(tmp_path, cli_runner):
    import pyogrio

    from citymodel.io.cityjson import read
    from citymodel.validation import validate

    las = _write_las(_scene(), tmp_path / "scene.las")
    fp = tmp_path / "fp.gpkg"
    pyogrio.raw.write(fp, geometry=np.array([shapely.box(X0 + 30, Y0 + 30, X0 + 36, Y0 + 36).wkb], dtype=object),
                      field_data=[np.array(["b1"], dtype=object)], fields=["id"], geometry_type="Polygon",
                      crs=f"EPSG:{EPSG}", driver="GPKG")
    bad = _write_ortho(tmp_path / "far.tif", dx=10_000.0)
    base = ["build", "--points", las, "--footprints", fp, "--footprint-id-field", "id", "--lod", "1.2",
            "--ortho", bad, "--landcover-out", tmp_path / "lc.tif", "--out", tmp_path / "m.city.json"]
    r = cli_runner(*base)
    assert r.exit_code == 1 and "does not overlap the points" in r.output and "far.tif" in r.output
    assert not (tmp_path / "m.city.json").exists()
    r = cli_runner(*base, "--ortho-optional")
    assert r.exit_code == 0, r.output
    assert "fallback: orthophoto not used" in " ".join(r.output.split())
    codes, meta = lcm.read_landcover(tmp_path / "lc.tif")
    assert "orthophoto not used" in meta["tags"]["notes"] and (codes == lcm.BUILDING).sum() == 144  # 6 x 6 m
    # a good orthophoto: lawn and hedge become PlantCover, the model stays valid
    r = cli_runner(*base[:-6], "--ortho", _write_ortho(tmp_path / "o.tif"), "--bands", "R,G,B,NIR",
                   "--landcover-out", tmp_path / "lc2.tif", "--out", tmp_path / "m2.city.json")
    assert r.exit_code == 0, r.output
    m = read(tmp_path / "m2.city.json")
    kinds = sorted(o["attributes"]["plant_cover_class"] for o in m.city_objects.values() if o["type"] == "PlantCover")
    assert kinds == ["grass_low_vegetation", "shrubs"] and validate(m).valid


def test_partial_orthophoto_falls_back_to_intensity_outside(tmp_path):
    pc = _scene()
    r = classify_landcover(pc, ortho=_write_ortho(tmp_path / "half.tif", dx=10.0))  # covers x >= 10 m only
    assert any("outside the orthophoto" in n and "not bimodal" in n for n in r.notes)
    assert (_cells(r, 11, 19, 14, 28) == lcm.GRASS).mean() >= 0.98  # lawn the ortho sees (its x 1..9 m)
    assert (_cells(r, 1, 9, 14, 28) == lcm.GRASS).mean() == 0.0  # lawn it does not: no intensity contrast


def test_orthophoto_in_another_crs_is_reprojected(tmp_path):
    """An orthophoto with a CRS definition other than the points' is warped onto the grid."""
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    src_path = _write_ortho(tmp_path / "utm32.tif")
    dst_path = tmp_path / "utm33.tif"
    with rasterio.open(src_path) as src:
        tr, w, h = calculate_default_transform(src.crs, "EPSG:32633", src.width, src.height, *src.bounds)
        prof = src.profile | {"crs": "EPSG:32633", "transform": tr, "width": w, "height": h}
        with rasterio.open(dst_path, "w", **prof) as dst:
            for b in range(1, 5):
                reproject(rasterio.band(src, b), rasterio.band(dst, b), resampling=Resampling.nearest)
            dst.colorinterp = src.colorinterp
            dst.set_band_description(4, "nir")
    r = classify_landcover(_scene(), ortho=dst_path)
    assert r.greenness_index == "ndvi"
    assert (_cells(r, 1, 19, 14, 28) == lcm.GRASS).mean() >= 0.95
    assert (_cells(r, 21, 29, 1, 28) == lcm.IMPERVIOUS).mean() >= 0.95
