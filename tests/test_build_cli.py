"""``citymodel build`` end to end on the Amsterdam AHN tiles with BAG footprints (CSV)."""

from __future__ import annotations

import json

import pytest
import shapely

from citymodel.io.cityjson import read
from citymodel.validation import validate
from tests.conftest import shared_path

pytestmark = pytest.mark.shared_data


@pytest.fixture
def amsterdam():
    laz = sorted(shared_path("amsterdam_ahn_tiles").glob("*.laz"))
    return [str(p) for p in laz], str(shared_path("amsterdam_ahn_tiles", "bag_buildings_demo.csv"))


def _invoke(*args):
    from click.testing import CliRunner

    from citymodel.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def test_build_writes_a_valid_model(amsterdam, tmp_path):
    laz, csv = amsterdam
    out = tmp_path / "ams.city.json"
    r = _invoke("-q", "build", "--points", *laz, "--footprints", csv, "--crs", "EPSG:7415", "--out", out)
    assert r.exit_code == 0, r.output
    assert "Wrote" in r.output and "skipped" in r.output
    m = read(out)
    assert m.epsg == 7415
    assert len(m.building_ids()) == 31
    assert m.ids_of_type("TINRelief")
    assert validate(m).valid


def test_dtm_geotiff(amsterdam, tmp_path):
    laz, csv = amsterdam
    dtm = tmp_path / "dtm.tif"
    r = _invoke("-q", "build", "--points", laz[0], "--footprints", csv, "--crs", "EPSG:7415", "--dtm", dtm,
                "--no-terrain", "--lod", "1.2", "--out", tmp_path / "a.city.json")
    assert r.exit_code == 0, r.output
    import rasterio

    with rasterio.open(dtm) as ds:
        assert ds.count == 1 and ds.res[0] > 0
        assert -5 < float(ds.read(1).mean()) < 5  # Amsterdam streets about NAP -1 to +1 m


def test_existing_output_is_kept(amsterdam, tmp_path):
    laz, csv = amsterdam
    out = tmp_path / "ams.city.json"
    out.write_text("keep me")
    r = _invoke("build", "--points", laz[0], "--footprints", csv, "--crs", "EPSG:7415", "--out", out)
    assert r.exit_code == 1 and "--overwrite" in r.output
    assert out.read_text() == "keep me"
    r = _invoke("-q", "build", "--points", laz[0], "--footprints", csv, "--crs", "EPSG:7415", "--lod", "1.2",
                "--no-terrain", "--no-trees", "--out", out, "--overwrite")
    assert r.exit_code == 0, r.output
    m = read(out)
    # the buildings at the one LoD asked for (green areas are LoD1 PlantCover, added by default)
    assert {g["lod"] for i in m.building_ids() for g in m.city_objects[i].get("geometry", [])} == {"1.2"}


def test_jsonl_output(amsterdam, tmp_path):
    laz, csv = amsterdam
    out = tmp_path / "ams.city.jsonl"
    r = _invoke("-q", "build", "--points", laz[1], "--footprints", csv, "--crs", "EPSG:7415", "--no-terrain",
                "--out", out)
    assert r.exit_code == 0, r.output
    first = json.loads(out.read_text().splitlines()[0])
    assert first["type"] == "CityJSON"


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--footprint-id-field", "bag_id"), "does not exist; the fields are: bgt_type"),
        ((), "--crs"),
        (("--lod", "3.1"), "unknown LoD 3.1"),
    ],
)
def test_bad_input_writes_nothing(amsterdam, tmp_path, extra, message):
    laz, csv = amsterdam
    out = tmp_path / "bad.city.json"
    crs = () if message == "--crs" else ("--crs", "EPSG:7415")
    r = _invoke("build", "--points", laz[0], "--footprints", csv, *crs, *extra, "--out", out)
    assert r.exit_code == 1
    assert message in r.output
    assert not out.exists() and not list(tmp_path.iterdir())


def test_footprints_elsewhere(amsterdam, tmp_path):
    laz, _ = amsterdam
    far = tmp_path / "far.geojson"
    poly = shapely.box(100000, 400000, 100020, 400010)
    far.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "a"}, "geometry": shapely.geometry.mapping(poly)}]}))
    out = tmp_path / "far.city.json"
    r = _invoke("build", "--points", laz[0], "--footprints", far, "--crs", "EPSG:7415", "--out", out)
    assert r.exit_code == 1
    assert "none of the 1 footprints overlaps" in r.output and "check the footprints' CRS" in r.output
    assert not out.exists()


def test_corrupt_laz(tmp_path, amsterdam):
    _, csv = amsterdam
    bad = tmp_path / "cut.laz"
    src = shared_path("amsterdam_ahn_tiles", "ahn_2386_9702.laz").read_bytes()
    bad.write_bytes(src[: len(src) // 3])
    out = tmp_path / "o.city.json"
    r = _invoke("build", "--points", bad, "--footprints", csv, "--crs", "EPSG:7415", "--out", out)
    assert r.exit_code == 1 and "cut.laz" in r.output
    assert not out.exists()
