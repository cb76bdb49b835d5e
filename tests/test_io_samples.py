"""Every real CityJSON sample loads, has sensible info, round-trips and validates as before."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.info import file_info
from citymodel.io import read, write
from citymodel.io._boundaries import flatten_indices
from citymodel.validation import validate
from tests.conftest import shared_path

#: From ../shared/data/SOURCES.md: version, format, CRS, counts by type, LoDs, x/y ranges [m].
EXPECTED = {
    "denhaag_DH_01_subs.city.json": dict(
        version="1.1", format="CityJSON", epsg=None, types={"Building": 4, "BuildingPart": 8},
        lods={"2"}, x=(78612, 78696), y=(457782, 458155)),
    "rotterdam_subset.city.json": dict(
        version="2.0", format="CityJSON", epsg=None, types={"Building": 16}, lods={"2"},
        gtypes={"MultiSurface": 16}),
    "zurich_subset_lod2.city.json": dict(
        version="1.1", format="CityJSON", epsg=2056, types={"Building": 49, "BuildingPart": 161}, lods={"2"},
        gtypes={"MultiSurface": 161}),
    "3dbag_multi_lod_10buildings.city.json": dict(
        version="2.0", format="CityJSON", epsg=None, types={"Building": 10}, lods={"1.2", "1.3", "2.2"},
        gtypes={"Solid": 30}, x=(153301, 153776), y=(414163, 414688)),
    "3dbag_v210908_tile901_trimmed.city.jsonl": dict(
        version="1.1", format="CityJSONSeq", epsg=7415, types={"Building": 52, "BuildingPart": 52},
        lods={"0", "1.2", "1.3", "2.2"}, x=(81793, 81925)),
    "vienna_lod2.city.jsonl": dict(
        version="1.1", format="CityJSONSeq", epsg=None, types={"Building": 149, "BuildingPart": 443}, lods={"2"},
        gtypes={"MultiSurface": 490, "Solid": 490}, x=(987, 1510), y=(340492, 341048), z=(28, 85)),
}
NAMES = sorted(EXPECTED)


def sample(name):
    return shared_path("cityjson_samples", name)


@pytest.mark.shared_data
def test_every_sample_is_listed():
    folder = shared_path("cityjson_samples")
    assert sorted(p.name for p in folder.iterdir()) == NAMES


@pytest.mark.shared_data
@pytest.mark.parametrize("name", NAMES)
def test_info_matches_sources(name):
    info = file_info(sample(name))
    exp = EXPECTED[name]
    assert info["version"] == exp["version"]
    assert info["format"] == exp["format"]
    assert info["epsg"] == exp["epsg"]
    assert info["crs_source"] == ("metadata" if exp["epsg"] else "none")
    assert info["counts_by_type"] == exp["types"]
    assert set(info["counts_by_lod"]) == exp["lods"]
    if "gtypes" in exp:
        assert info["counts_by_geometry_type"] == exp["gtypes"]
    e = info["extent_m"]
    for axis, k in (("x", 0), ("y", 1), ("z", 2)):
        if axis in exp:
            lo, hi = exp[axis]
            assert e[k] == pytest.approx(lo, abs=1.0) and e[k + 3] == pytest.approx(hi, abs=1.0)


@pytest.mark.shared_data
def test_crs_override():
    info = file_info(sample("vienna_lod2.city.jsonl"), crs="EPSG:31256")
    assert info["epsg"] == 31256 and info["crs_source"] == "--crs"


def _coords(model, oid):
    return [model.vertices[flatten_indices(g["boundaries"])] for g in model.city_objects[oid].get("geometry") or ()]


@pytest.fixture(scope="module")
def originals():
    return {n: read(sample(n)) for n in NAMES}


@pytest.mark.shared_data
@pytest.mark.parametrize("suffix", [".city.json", ".city.jsonl"])
@pytest.mark.parametrize("name", NAMES)
def test_round_trip(originals, tmp_path, name, suffix):
    a = originals[name]
    out = write(a, tmp_path / f"rt{suffix}")
    b = read(out)
    assert list(b.city_objects) == list(a.city_objects) or set(b.city_objects) == set(a.city_objects)
    assert b.epsg == a.epsg
    step = 0.001  # the writer's default scale; none of the samples needs a finer one
    for oid, oa in a.city_objects.items():
        ob = b.city_objects[oid]
        assert ob.get("type") == oa.get("type")
        assert ob.get("attributes") == oa.get("attributes")
        assert sorted(ob.get("children") or []) == sorted(oa.get("children") or [])
        assert ob.get("parents") == oa.get("parents")
        ga, gb = oa.get("geometry") or [], ob.get("geometry") or []
        assert [(g["type"], g.get("lod"), g.get("semantics")) for g in gb] == \
               [(g["type"], g.get("lod"), g.get("semantics")) for g in ga]
        for ca, cb in zip(_coords(a, oid), _coords(b, oid), strict=True):
            assert ca.shape == cb.shape
            assert np.abs(ca - cb).max(initial=0.0) <= step / 2 + 1e-9
    for key in a.extra:
        assert b.extra.get(key) == a.extra[key]


@pytest.mark.shared_data
@pytest.mark.parametrize("name", NAMES)
def test_round_trip_keeps_validation(originals, tmp_path, name):
    """Quantisation at write time must neither create nor hide geometric errors."""
    a = originals[name]
    b = read(write(a, tmp_path / "rt.city.json"))
    ra, rb = validate(a), validate(b)
    geo = lambda r: sorted((e.object_id, e.geometry_index, e.code) for e in r.entries if e.code < 1000)  # noqa: E731
    assert geo(rb) == geo(ra)
