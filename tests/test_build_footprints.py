"""Footprints: reading, id field, reprojection, repair, CSV polygons; point selection."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from citymodel.errors import FootprintError
from lidar.footprints import clean_footprint, read_footprints
from lidar.select import GridIndex, select_footprint_points
from tests.conftest import shared_path


def _delft_sqlite():
    return shared_path("delft_ahn3_bgt", "bgt", "bgt_pand.sqlite")


@pytest.mark.shared_data
def test_read_delft_with_id_field():
    fps = read_footprints(_delft_sqlite(), id_field="identificatiebagpnd", epsg=7415)
    assert len(fps) == 160
    assert all(f.usable for f in fps)
    assert len({f.id for f in fps}) == 160
    f0 = fps[0]
    assert f0.id == str(f0.attributes["identificatiebagpnd"])
    assert "gml_id" in f0.attributes and "bgt_status" in f0.attributes
    # RD New coordinates of Delft's old town
    x0, y0, x1, y1 = shapely.total_bounds([f.geometry for f in fps])
    assert 84000 < x0 < x1 < 86000 and 447000 < y0 < y1 < 448000


@pytest.mark.shared_data
def test_unknown_id_field_lists_fields():
    with pytest.raises(FootprintError) as e:
        read_footprints(_delft_sqlite(), id_field="no_such_field")
    msg = str(e.value)
    assert "no_such_field" in msg and "identificatiebagpnd" in msg and "bgt_pand.sqlite" in msg


@pytest.mark.shared_data
def test_reprojected_footprints_match(tmp_path):
    from pyproj import Transformer

    fps = read_footprints(_delft_sqlite(), id_field="identificatiebagpnd")[:10]
    tr = Transformer.from_crs(28992, 4326, always_xy=True)
    feats = []
    for f in fps:
        g = shapely.transform(f.geometry, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        feats.append({"type": "Feature", "properties": {"bag": f.id}, "geometry": shapely.geometry.mapping(g)})
    path = tmp_path / "fp_wgs84.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    back = read_footprints(path, id_field="bag", epsg=7415)  # compound RD New + NAP -> RD New
    for a, b in zip(fps, back, strict=True):
        assert a.id == b.id
        # round trip through WGS 84 (GeoJSON keeps 15 digits): same polygon within 1 cm
        assert shapely.hausdorff_distance(a.geometry, b.geometry) < 0.01


def test_repair_and_skip():
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    g, status, reason = clean_footprint(bowtie)
    assert status == "repaired" and "make_valid" in reason
    assert g.is_valid and g.area == pytest.approx(50.0)
    flat = Polygon([(0, 0), (10, 0), (20, 0)])
    g, status, reason = clean_footprint(flat)
    assert status == "skipped" and g is None and "zero area" in reason
    g, status, _ = clean_footprint(Polygon([(0, 0), (0.5, 0), (0.5, 0.5), (0, 0.5)]))
    assert status == "skipped"


@pytest.mark.shared_data
def test_csv_polygon_column():
    p = shared_path("amsterdam_ahn_tiles", "bag_buildings_demo.csv")
    fps = read_footprints(p)
    assert len(fps) == 31
    ok = [f for f in fps if f.usable]
    assert len(ok) >= 30
    assert all(119000 < f.geometry.centroid.x < 120500 for f in ok)
    assert "x_min" in fps[0].attributes


def test_grid_index_matches_brute_force():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (20000, 2))
    idx = GridIndex(xy, cell_m=7.0)
    for box in [(10, 10, 30, 25), (-5, -5, 3, 3), (95, 0, 120, 100), (200, 200, 300, 300)]:
        got = np.sort(idx.query_bbox(*box))
        want = np.flatnonzero((xy[:, 0] >= box[0]) & (xy[:, 0] <= box[2]) & (xy[:, 1] >= box[1]) & (xy[:, 1] <= box[3]))
        np.testing.assert_array_equal(got, want)
    poly = Polygon([(20, 20), (60, 25), (50, 70), (25, 60)])
    ins, ring = select_footprint_points(idx, poly, buffer_m=3.0)
    pts = shapely.points(xy)
    want_in = np.flatnonzero(shapely.contains(poly, pts))
    want_ring = np.flatnonzero(shapely.contains(poly.buffer(3.0, quad_segs=2), pts) & ~shapely.contains(poly, pts))
    np.testing.assert_array_equal(np.sort(ins), want_in)
    np.testing.assert_array_equal(np.sort(ring), want_ring)
