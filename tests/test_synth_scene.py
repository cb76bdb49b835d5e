"""Synthetic district in memory: closed solids with exact volumes, layout, truth model."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from citymodel.errors import CRSError, InputError
from citymodel.geometry import triangulate_polygon
from citymodel.synth import ROOF_TYPES, district_to_citymodel, make_district
from citymodel.synth.frame import Frame
from citymodel.synth.shapes import make_part


def _shell_arrays(faces):
    """Shared vertices (rounded), rings as index lists, per face."""
    pts = np.concatenate([r for f in faces for r in f.rings])
    uniq, inv = np.unique(np.round(pts, 6), axis=0, return_inverse=True)
    inv = inv.ravel()
    out, k = [], 0
    for f in faces:
        rings = []
        for r in f.rings:
            rings.append(list(inv[k:k + len(r)]))
            k += len(r)
        out.append(rings)
    return uniq, out


def _check_closed_outward(faces) -> float:
    """Every directed edge once and its reverse once; return the signed volume [m3]."""
    v, rings = _shell_arrays(faces)
    edges = Counter()
    for face in rings:
        for r in face:
            for a, b in zip(r, r[1:] + r[:1], strict=True):
                edges[(a, b)] += 1
    for (a, b), n in edges.items():
        assert n == 1, f"edge {(a, b)} used {n} times in one direction"
        assert edges.get((b, a)) == 1, f"edge {(a, b)} has no opposite edge"
    vol = 0.0
    for f, face in zip(faces, rings, strict=True):
        tri = triangulate_polygon(v, face, f.normal)
        p = v[tri] - v.mean(axis=0)
        vol += np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6.0
    return vol


L, W, E, H = 14.0, 9.0, 7.0, 3.5


def _expected_volume(roof: str, raised=(1.0, 5.0, -2.0, 2.0), inset=1.5) -> float:
    base = L * W * E
    if roof == "flat":
        return base
    if roof == "gable":
        return base + L * W * H / 2
    if roof == "hip":
        r = L - W  # ridge length for equal slopes
        return base + H * W * (2 * L + r) / 6
    if roof == "pyramid":
        return base + L * W * H / 3
    if roof == "shed":
        return base + L * W * H / 2
    if roof == "mansard":
        a1, a2, am = L * W, (L - 2 * inset) * (W - 2 * inset), (L - inset) * (W - inset)
        return base + H / 6 * (a1 + a2 + 4 * am)
    if roof == "flat_raised":
        return base + (raised[1] - raised[0]) * (raised[3] - raised[2]) * H
    raise AssertionError(roof)


@pytest.mark.parametrize("roof", ROOF_TYPES)
@pytest.mark.parametrize("angle", [0.0, 0.7, 2.9])
def test_part_is_closed_outward_with_exact_volume(roof, angle):
    f = Frame(np.array([686000.0, 4929000.0]), angle)
    raised = (1.0, 5.0, -2.0, 2.0) if roof == "flat_raised" else None
    part = make_part("P", f, (-L / 2, L / 2), (-W / 2, W / 2), 50.0, E, roof, 0.0 if roof == "flat" else H,
                     2, raised=raised)
    vol = _check_closed_outward(part.faces)
    assert vol == pytest.approx(_expected_volume(roof), rel=1e-6)  # vertices rounded to 1e-6 m
    # ground area and footprint agree; roofs face up, the ground faces down
    assert part.footprint.area == pytest.approx(L * W, rel=1e-8)
    assert all(fc.normal[2] > 0 for fc in part.roof_faces)
    ground = [fc for fc in part.faces if fc.semantic == "GroundSurface"]
    assert len(ground) == 1 and ground[0].normal[2] == pytest.approx(-1.0)


def test_make_part_rejects_bad_input():
    f = Frame(np.zeros(2), 0.0)
    with pytest.raises(InputError, match="roof type"):
        make_part("P", f, (0, 10), (0, 8), 0.0, 6.0, "dome", 2.0)
    with pytest.raises(InputError, match="raised"):
        make_part("P", f, (0, 10), (0, 8), 0.0, 6.0, "flat_raised", 2.0, raised=(-1, 3, 1, 2))
    with pytest.raises(InputError, match="empty footprint"):
        make_part("P", f, (0, 0), (0, 8), 0.0, 6.0, "flat")


@pytest.fixture(scope="module")
def district():
    return make_district(7, 400.0)


def test_district_urban_form(district):
    kinds = Counter(b.kind for b in district.buildings)
    for k in ("detached", "terraced", "courtyard", "slab", "multipart"):
        assert kinds[k] >= 1, k
    roofs = Counter(p.roof_type for b in district.buildings for p in b.parts)
    assert set(roofs) == set(ROOF_TYPES)
    assert {b.use for b in district.buildings} <= {"residential", "office", "commercial", "school"}
    assert any(len(b.parts) > 1 for b in district.buildings)
    # multi-part buildings have parts of different heights
    for b in district.buildings:
        if len(b.parts) > 1:
            assert len({round(p.eave_height_m + p.roof_rise_m, 2) for p in b.parts}) > 1
    assert {s.kind for s in district.superstructures} == {"chimney", "dormer"}
    assert {t.kind for t in district.trees} >= {"street", "park", "garden", "shrub"}
    # some crowns reach over roofs (above the eaves); every other crown stays off the walls
    import shapely

    fps = shapely.union_all([b.footprint for b in district.buildings])
    over = [t for t in district.trees if t.overhangs_roof]
    assert len(over) >= 3
    for t in over:
        assert shapely.intersection(shapely.Point(t.xy).buffer(t.crown_diameter_m / 2), fps).area > 0.5
    for t in district.trees:
        if not t.overhangs_roof:
            assert shapely.distance(fps, shapely.Point(t.xy)) >= t.crown_diameter_m / 2 + 0.29
    # no two buildings overlap (shared walls touch only)
    fps = [b.footprint for b in district.buildings]
    tree = shapely.STRtree(fps)
    for i, j in zip(*tree.query(fps, predicate="intersects"), strict=True):
        if i < j:
            assert shapely.intersection(fps[i], fps[j]).area < 1e-3


def test_terraced_rows_share_wall_planes(district):
    """Adjacent terraced units touch along a common wall plane (zero gap, zero overlap)."""
    import shapely

    units = [b for b in district.buildings if b.kind == "terraced"]
    shared = 0
    for a in units:
        for b in units:
            if a.building_id >= b.building_id:
                continue
            inter = shapely.intersection(a.footprint, b.footprint)
            if inter.length > 5.0:  # a common edge of the two outlines
                shared += 1
                assert inter.area == 0.0 or inter.area < 1e-6
    assert shared >= 3


def test_terrain_is_gentle_but_not_flat(district):
    xmin, ymin, xmax, ymax = district.bounds
    x, y = np.meshgrid(np.linspace(xmin, xmax, 50), np.linspace(ymin, ymax, 50))
    z = district.terrain.height(x, y)
    assert 40 < z.mean() < 60
    assert 1.0 < np.ptp(z) < 15.0
    # one ground height per building is not exact: the terrain varies under footprints
    spans = []
    for b in district.buildings:
        c = np.asarray(b.footprint.exterior.coords)
        spans.append(np.ptp(district.terrain.height(c[:, 0], c[:, 1])))
    assert np.median(spans) > 0.05


def test_truth_model_validates_and_is_complete(district):
    from citymodel.validation import validate

    model = district_to_citymodel(district)
    report = validate(model)
    assert report.valid, report.summary()
    types = model.counts_by_type()
    assert types["Building"] == len(district.buildings)
    assert types["TINRelief"] == 1
    assert types["SolitaryVegetationObject"] == len(district.trees)
    assert types["PlantCover"] == len(district.green_areas)
    assert types["BuildingPart"] == sum(len(b.parts) for b in district.buildings if len(b.parts) > 1)
    b0 = model[district.buildings[0].building_id]
    for key in ("construction_year", "use", "roof_type", "storeys_above_ground", "h_ground_m", "h_roof_70p_m"):
        assert key in b0["attributes"]
    assert model.counts_by_lod()["2.2"] == sum(len(b.parts) for b in district.buildings)


def test_truth_solids_closed_in_the_model(district):
    """Independent of the validator: every solid of the written model is closed and outward."""
    from citymodel.synth.scene import Face

    model = district_to_citymodel(district)
    v = model.vertices
    n = 0
    for oid, obj in model.city_objects.items():
        for g in obj.get("geometry", []):
            if g["type"] != "Solid" or g["lod"] != "2.2":
                continue
            faces = []
            for surf in g["boundaries"][0]:
                rings = [v[np.array(r)] for r in surf]
                from citymodel.geometry import newell_normal, unit

                faces.append(Face(rings, "x", unit(newell_normal(rings[0]))))
            assert _check_closed_outward(faces) > 0, oid
            n += 1
    assert n == sum(len(b.parts) for b in district.buildings)


def test_roof_heights_match_shapes():
    from citymodel.synth.truth import roof_heights

    f = Frame(np.array([0.0, 0.0]), 0.3)
    part = make_part("P", f, (-5, 5), (-4, 4), 50.0, 6.0, "gable", 4.0)
    z = roof_heights(part, step_m=0.05)
    # gable: heights uniform between eave and ridge
    assert z.min() == pytest.approx(56.0, abs=0.06)
    assert z.max() == pytest.approx(60.0, abs=0.06)
    assert np.percentile(z, 70) == pytest.approx(56.0 + 0.7 * 4.0, abs=0.05)


def test_same_seed_same_district_other_seed_other_district():
    a = district_to_citymodel(make_district(3, 120.0))
    b = district_to_citymodel(make_district(3, 120.0))
    c = district_to_citymodel(make_district(4, 120.0))
    assert np.array_equal(a.vertices, b.vertices)
    assert a.city_objects == b.city_objects
    assert a.vertices.shape != c.vertices.shape or not np.array_equal(a.vertices, c.vertices)


def test_bad_arguments():
    with pytest.raises(InputError, match="size_m"):
        make_district(1, 10.0)
    with pytest.raises(CRSError, match="not projected"):
        make_district(1, 100.0, crs="EPSG:4326")


def test_crown_shapes(district):
    from citymodel.synth.scene import Tree

    shapes = {t.crown_shape for t in district.trees}
    assert shapes == {"ellipsoid", "cone"}
    cone = Tree("T", np.array([0.0, 0.0]), 50.0, 12.0, 4.0, 2.0, "park", crown_shape="cone")
    pts = np.array([[0, 0, 61.9], [1.9, 0, 52.1], [1.1, 0, 57.0], [0, 0, 62.2], [0, 0, 51.8]])
    # at 57 m the cone's radius is 2 * (62 - 57) / 10 = 1.0 m
    assert cone.inside_crown(pts).tolist() == [True, True, False, False, False]
    ell = Tree("T", np.array([0.0, 0.0]), 50.0, 12.0, 4.0, 2.0, "park")
    pts = np.array([[0, 0, 61.9], [1.99, 0, 57.0], [1.8, 0, 60.0], [0, 0, 51.9]])  # (0.9^2 + 0.6^2 > 1)
    assert ell.inside_crown(pts).tolist() == [True, True, False, False]
