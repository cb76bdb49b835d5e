"""Validation on generated solids (each break caught with val3dity's code) and on real files."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from citymodel.io._boundaries import remap_boundaries
from citymodel.model import CityModel
from citymodel.validation import CODES, validate, validate_file
from citymodel.validation.overlap import overlap_volume_m3, solid_rings
from tests.conftest import shared_path
from tests.solids import box

SAMPLES = ("cityjson_samples",)


# ----------------------------------------------------------------------------- generators
def prism(outer, holes=(), z0=0.0, z1=5.0):
    """Extrude a polygon (outer ring counter-clockwise, holes clockwise, seen from above).

    Returns (vertices (n, 3), Solid boundaries) with outward faces: bottom, top, then walls.
    """
    rings = [np.asarray(outer, float)] + [np.asarray(h, float) for h in holes]
    verts, bottom_ids, top_ids = [], [], []
    n = 0
    for r in rings:
        k = len(r)
        verts.append(np.column_stack([r, np.full(k, z0)]))
        verts.append(np.column_stack([r, np.full(k, z1)]))
        bottom_ids.append(list(range(n, n + k)))
        top_ids.append(list(range(n + k, n + 2 * k)))
        n += 2 * k
    faces = [[b[::-1] for b in bottom_ids], [t for t in top_ids]]
    for b, t in zip(bottom_ids, top_ids, strict=True):
        k = len(b)
        for i in range(k):
            j = (i + 1) % k
            faces.append([[b[i], b[j], t[j], t[i]]])
    return np.vstack(verts), [faces]


SQUARE = [(0, 0), (10, 0), (10, 10), (0, 10)]
HOLE = [(3, 3), (3, 7), (7, 7), (7, 3)]  # clockwise
L_SHAPE = [(0, 0), (12, 0), (12, 4), (4, 4), (4, 10), (0, 10)]


def model_of(vertices, boundaries, gtype="Solid", oid="b0"):
    m = CityModel(epsg=28992)
    m.add_vertices(np.asarray(vertices, float) + [85000.0, 447000.0, 0.0])  # real-world size coordinates
    m.add_object(oid, {"type": "Building", "geometry": [{"type": gtype, "lod": "2.2", "boundaries": boundaries}]})
    return m


def solids():
    v, b, _ = box()
    yield "box", v, b
    yield "prism_with_hole", *prism(SQUARE, [HOLE])
    yield "l_shape", *prism(L_SHAPE, z1=7.5)


SOLIDS = list(solids())
IDS = [s[0] for s in SOLIDS]


def codes(report):
    return {e.code for e in report.entries if e.severity == "error"}


# ----------------------------------------------------------------------------- valid solids
@pytest.mark.parametrize("name,v,b", SOLIDS, ids=IDS)
def test_valid_solids_pass(name, v, b):
    r = validate(model_of(v, b))
    assert r.valid, r.text()
    assert r.n_shells == 1 and r.n_polygons == len(b[0])


def test_prism_with_hole_volume_sign():
    from citymodel.validation._ragged import ragged_rings, tokenize
    from citymodel.validation.polygons import check_polygons, weld
    from citymodel.validation.shells import check_shells

    v, b = prism(SQUARE, [HOLE], z1=5.0)
    rag = ragged_rings(tokenize([b]), 4)
    canon = weld(v)
    pc = check_polygons(v, canon, rag)
    sc = check_shells(v, canon, rag, pc.polygon_ok, np.ones(1, bool))
    assert sc.volume_m3[0] == pytest.approx((100 - 16) * 5.0, rel=1e-12)


# ----------------------------------------------------------------------------- broken variants
@pytest.mark.parametrize("name,v,b", SOLIDS, ids=IDS)
def test_flipped_face_is_307(name, v, b):
    b = copy.deepcopy(b)
    b[0][2] = [r[::-1] for r in b[0][2]]
    r = validate(model_of(v, b))
    assert codes(r) == {307}
    assert [e.polygon for e in r.by_code(307)] == [2]


@pytest.mark.parametrize("name,v,b", SOLIDS, ids=IDS)
def test_all_faces_inward_is_307(name, v, b):
    b = [[[r[::-1] for r in face] for face in b[0]]]
    r = validate(model_of(v, b))
    assert codes(r) == {307}
    assert len(r.by_code(307)) == 1 and "inward" in r.by_code(307)[0].message


@pytest.mark.parametrize("name,v,b", SOLIDS, ids=IDS)
def test_missing_face_is_302(name, v, b):
    b = copy.deepcopy(b)
    del b[0][1]  # the top
    r = validate(model_of(v, b))
    assert codes(r) == {302}
    assert r.by_code(302)[0].object_id == "b0"


@pytest.mark.parametrize("name,v,b", SOLIDS, ids=IDS)
def test_duplicated_vertex_is_102(name, v, b):
    b = copy.deepcopy(b)
    ring = b[0][3][0]
    ring.insert(1, ring[1])  # the same index twice in a row
    r = validate(model_of(v, b))
    assert codes(r) == {102}
    e = r.by_code(102)[0]
    assert (e.object_id, e.geometry_index, e.shell, e.polygon) == ("b0", 0, 0, 3)


@pytest.mark.parametrize("name,v,b", SOLIDS, ids=IDS)
def test_duplicated_vertex_by_coordinates_is_102(name, v, b):
    """A second vertex 0.5 mm from the first (a different index) is the same point for val3dity."""
    b = copy.deepcopy(b)
    ring = b[0][3][0]
    v2 = np.vstack([v, v[ring[1]] + [0.0002, 0.0, 0.0]])
    ring.insert(2, len(v))
    r = validate(model_of(v2, b))
    assert codes(r) == {102}


@pytest.mark.parametrize("name,v,b", SOLIDS, ids=IDS)
def test_bent_top_face_is_203(name, v, b):
    top = b[0][1][0]
    v = v.copy()
    v[top[0], 2] += 0.1  # the walls stay planar (vertical), the top bends
    r = validate(model_of(v, b))
    assert codes(r) == {203}
    e = r.by_code(203)[0]
    assert e.polygon == 1
    d = float(e.message.split(" m ")[0].split()[-1])
    assert 0.01 < d < 0.1


@pytest.mark.parametrize("lift,bad", [(0.005, False), (0.05, True)])
def test_planarity_tolerance_is_1cm(lift, bad):
    v, b, _ = box()
    v = v.copy()
    v[4, 2] += lift
    # for a 4-point rectangle lifted at one corner, every vertex is lift/4 from the LSQ plane
    r = validate(model_of(v, b))
    assert (203 in codes(r)) is bad
    if bad:
        assert r.by_code(203)[0].message.startswith(f"a vertex is {lift / 4:.3f} m")


def test_bow_tie_is_104():
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    r = validate(model_of(v, [[[0, 1, 3, 2]]], gtype="MultiSurface"))
    assert codes(r) == {104}
    assert "cross" in r.by_code(104)[0].message
    r = validate(model_of(v, [[[0, 1, 2, 3]]], gtype="MultiSurface"))
    assert r.valid


@pytest.mark.parametrize("name,v,b", SOLIDS, ids=IDS)
def test_bow_tie_face_in_solid_is_104_and_stops_there(name, v, b):
    b = copy.deepcopy(b)
    ring = b[0][2][0]
    ring[1], ring[2] = ring[2], ring[1]
    r = validate(model_of(v, b))
    assert codes(r) == {104}  # val3dity does not check a shell whose polygons are invalid


def test_too_few_points_is_101():
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0]], float)
    r = validate(model_of(v, [[[0, 1]]], gtype="MultiSurface"))
    assert codes(r) == {101}


def test_polygon_without_ring_is_101():
    v, b, _ = box()
    b = copy.deepcopy(b)
    b[0][2] = []
    r = validate(model_of(v, b))
    assert codes(r) == {101} and r.by_code(101)[0].polygon == 2


def test_geometry_without_polygons_is_902():
    r = validate(model_of(np.zeros((0, 3)), [[]], gtype="Solid"))
    assert codes(r) == {902}


def test_collinear_ring_is_104():
    v = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0]], float)
    r = validate(model_of(v, [[[0, 1, 2]]], gtype="MultiSurface"))
    assert codes(r) == {104}
    assert "zero area" in r.by_code(104)[0].message


def test_ring_visiting_a_point_twice_is_104():
    # a square with a spike back to its first corner: 0 1 2 0 3 (non-consecutive repeat)
    v = np.array([[0, 0, 0], [2, 0, 0], [2, 2, 0], [-1, 1, 0]], float)
    r = validate(model_of(v, [[[0, 1, 2, 0, 3]]], gtype="MultiSurface"))
    assert codes(r) == {104}
    assert "twice" in r.by_code(104)[0].message


def test_multisurface_gets_polygon_checks_only():
    v, b, _ = box()
    r = validate(model_of(v, b[0][:3], gtype="MultiSurface"))  # an open box is a fine MultiSurface
    assert r.valid and r.n_shells == 0


def _two_cubes(share: str):
    """Two unit cubes in one shell sharing an edge (304) or a vertex (303)."""
    v1, b1, _ = box(0, 0, 0, 1, 1, 1)
    off = {"edge": (1, 1, 0), "vertex": (1, 1, 1)}[share]
    v2, b2, _ = box(*off, 1, 1, 1)
    v = np.vstack([v1, v2])
    b2 = remap_boundaries(b2, 8)
    # weld the shared points onto the first cube's indices (the validator also welds by coordinates)
    return v, [b1[0] + b2[0]]


def test_cubes_sharing_an_edge_is_304():
    v, b = _two_cubes("edge")
    r = validate(model_of(v, b))
    assert codes(r) == {304}


def test_two_separate_cubes_in_one_shell_is_305():
    v1, b1, _ = box(0, 0, 0, 1, 1, 1)
    v2, b2, _ = box(5, 0, 0, 1, 1, 1)
    r = validate(model_of(np.vstack([v1, v2]), [b1[0] + remap_boundaries(b2, 8)[0]]))
    assert codes(r) == {305}
    assert "2 groups" in r.by_code(305)[0].message


def test_cubes_sharing_a_vertex_is_303():
    v, b = _two_cubes("vertex")
    r = validate(model_of(v, b))
    assert codes(r) == {303}


# ----------------------------------------------------------------------------- 601
def _parts_model(offset_x: float, offset_z: float = 0.0) -> CityModel:
    m = CityModel(epsg=28992)
    m.add_object("B", {"type": "Building"})
    for k, x0 in enumerate((0.0, offset_x)):
        v, b, _ = box(x0, 0, offset_z * k, 10, 6, 4)
        base = m.add_vertices(v + [85000.0, 447000.0, 0.0])[0]
        m.add_object(f"P{k}", {"type": "BuildingPart",
                               "geometry": [{"type": "Solid", "lod": "2.2",
                                             "boundaries": remap_boundaries(b, int(base))}]}, parent="B")
    return m


def test_overlapping_buildingparts_are_601():
    r = validate(_parts_model(9.0))
    assert codes(r) == {601}
    e = r.by_code(601)[0]
    assert e.object_id == "B" and "'P0'" in e.message and "'P1'" in e.message


@pytest.mark.parametrize("offset_x,offset_z", [(10.0, 0.0), (10.005, 0.0), (0.0, 4.0), (25.0, 0.0)])
def test_touching_or_apart_buildingparts_are_valid(offset_x, offset_z):
    assert validate(_parts_model(offset_x, offset_z)).valid


def test_overlap_volume_matches_exact_volume():
    m = _parts_model(9.0)
    a = solid_rings(m.vertices, m["P0"]["geometry"][0]["boundaries"][0])
    b = solid_rings(m.vertices, m["P1"]["geometry"][0]["boundaries"][0])
    exact_eroded = (1 - 0.02) * (6 - 0.02) * (4 - 0.02)  # 1 m x 6 m x 4 m, 1 cm depth tolerance each side
    assert overlap_volume_m3(a, b) == pytest.approx(exact_eroded, rel=0.03)
    assert overlap_volume_m3(a, b, depth_tol_m=0.0) == pytest.approx(24.0, rel=0.03)


# ----------------------------------------------------------------------------- structure
def _raw(tmp_path, doc):
    import orjson

    p = tmp_path / "x.city.json"
    p.write_bytes(orjson.dumps(doc))
    return p


def _doc():
    v, b, sem = box()
    return {
        "type": "CityJSON", "version": "2.0",
        "transform": {"scale": [0.001] * 3, "translate": [0.0, 0.0, 0.0]},
        "CityObjects": {
            "B": {"type": "Building", "children": ["P"]},
            "P": {"type": "BuildingPart", "parents": ["B"],
                  "geometry": [{"type": "Solid", "lod": "2.2", "boundaries": b, "semantics": sem}]},
        },
        "vertices": (v * 1000).astype(int).tolist(),
    }


def test_structure_valid_document(tmp_path):
    r = validate_file(_raw(tmp_path, _doc()))
    assert r.valid and not r.entries, r.text()


@pytest.mark.parametrize(
    "mutate,code",
    [
        (lambda d: d["CityObjects"]["P"].update(type="Bulding"), 1003),
        (lambda d: d["CityObjects"]["P"].update(type="+NoiseBuilding"), 1003),
        (lambda d: d["CityObjects"]["P"]["geometry"][0].update(type="Polyhedron"), 1004),
        (lambda d: d["CityObjects"]["P"]["geometry"][0].update(lod=2), 1005),
        (lambda d: d["CityObjects"]["P"]["geometry"][0].update(lod="LoD2"), 1005),
        (lambda d: d["CityObjects"]["P"]["geometry"][0]["boundaries"][0][0][0].append(99), 1007),
        (lambda d: d["CityObjects"]["P"]["geometry"][0].update(boundaries=[[0, 1, 2]]), 1006),
        (lambda d: d["CityObjects"]["P"]["geometry"][0]["semantics"]["values"][0].pop(), 1008),
        (lambda d: d["CityObjects"]["P"]["geometry"][0]["semantics"]["values"][0].__setitem__(0, 7), 1008),
        (lambda d: d["CityObjects"]["B"].update(children=[]), 1009),
        (lambda d: d["CityObjects"]["P"].update(parents=["nobody"]), 1009),
        (lambda d: d["CityObjects"]["P"].pop("parents"), 1011),
        (lambda d: d.pop("transform"), 1001),
        (lambda d: d["CityObjects"]["B"].update(attributes=[1, 2]), 1002),
        (lambda d: d["CityObjects"]["P"]["geometry"].append(
            {"type": "GeometryInstance", "template": 3, "boundaries": [0], "transformationMatrix": [0] * 16}), 1010),
    ],
)
def test_structure_errors_are_named(tmp_path, mutate, code):
    d = _doc()
    mutate(d)
    r = validate_file(_raw(tmp_path, d))
    assert not r.valid
    assert code in r.codes(), r.text()
    assert all(e.name == CODES[e.code].name for e in r.entries)


def test_extension_type_allowed_when_declared(tmp_path):
    d = _doc()
    d["CityObjects"]["X"] = {"type": "+NoiseBarrier"}
    assert 1003 in validate_file(_raw(tmp_path, d)).codes()
    d["extensions"] = {"Noise": {"url": "https://example.org/noise.ext.json", "version": "2.0"}}
    assert 1003 not in validate_file(_raw(tmp_path, d)).codes()


def test_unused_and_duplicate_vertices_warn_but_stay_valid(tmp_path):
    d = _doc()
    d["vertices"].append([1, 2, 3])
    d["vertices"].append(d["vertices"][0])
    r = validate_file(_raw(tmp_path, d))
    assert r.valid
    assert [e.code for e in r.entries] == [1014, 1013]
    assert r.entries[0].message.startswith("1 of 10 vertices") and r.entries[1].message.startswith("2 of 10")


def test_unreadable_file_is_fatal_entry(tmp_path):
    p = tmp_path / "bad.city.json"
    p.write_text('{"type": "CityJSON", "version": "2.0", "CityObj')
    r = validate_file(p)
    assert r.fatal and not r.valid and r.codes() == {901}
    assert "truncated" in r.entries[0].message


def test_report_json_roundtrip():
    import orjson

    v, b = prism(SQUARE, [HOLE])
    b[0][2] = [r[::-1] for r in b[0][2]]
    r = validate(model_of(v, b))
    d = orjson.loads(r.to_json())
    assert d["valid"] is False
    assert d["summary"]["307"]["name"] == "POLYGON_WRONG_ORIENTATION"
    assert d["entries"][0]["object_id"] == "b0" and d["entries"][0]["polygon"] == 2


# ----------------------------------------------------------------------------- real files
#: What the real samples contain, found by reading their geometry (see the report of issue 2):
#: file -> {code: set of object ids}. Everything else must be absent.
REAL_PROBLEMS = {
    # two closing rings repeat their first vertex at the end (GML habit) and one wall has
    # width 0 ([66, 66, 84, 84]): 102 on 9 of 16 buildings
    "rotterdam_subset.city.json": {102: 9},
    # one roof ring visits vertex 792 twice (not consecutively): a self-touching ring
    "zurich_subset_lod2.city.json": {104: {"UUID_cb878e1d-bbc7-4b38-b5e9-789e1136fa82"}},
    # two LoD2.2 faces of one building use vertices 948 and 949, which are the same point
    "3dbag_v210908_tile901_trimmed.city.jsonl": {102: {"NL.IMBAG.Pand.0503100000032970-0"}},
    # one roof polygon of a part is 10.3 mm from planar (tolerance 10 mm)
    "denhaag_DH_01_subs.city.json": {203: {"GUID_13974D93-CB4F-4B5A-AB1E-577DD9928CF2_1"}},
    "3dbag_multi_lod_10buildings.city.json": {},
}


@pytest.fixture(scope="module")
def real_reports():
    folder = shared_path("cityjson_samples")
    return {p.name: validate_file(p) for p in sorted(folder.iterdir())}


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(REAL_PROBLEMS))
def test_real_files_problems_named(real_reports, name):
    r = real_reports[name]
    expected = REAL_PROBLEMS[name]
    assert not r.fatal
    assert codes(r) == set(expected), r.text()
    for code, objs in expected.items():
        if isinstance(objs, int):
            assert len(r.objects_with(code)) == objs
        else:
            assert r.objects_with(code) == objs
    assert r.valid is (not expected)


@pytest.mark.shared_data
def test_vienna_problems(real_reports):
    r = real_reports["vienna_lod2.city.jsonl"]
    # edge shared by 4 polygons (two wall faces meet twice): 304 on two parts
    assert "twice" in real_reports["zurich_subset_lod2.city.json"].by_code(104)[0].message
    shared = {e.object_id for e in r.by_code(304) if "more than two" in e.message}
    assert shared == {"UUID_LOD2_011630-201d335f-8ee9-4ffc-adca_2", "UUID_LOD2_011523-c567aff9-c2cb-455d-842b"}
    # a vertex inside another polygon's edge (T-junction) is 304 as in val3dity's 304.poly, not a hole
    tj = {e.object_id for e in r.by_code(304) if "T-junction" in e.message}
    assert tj == {"UUID_LOD2_011984-19096613-52ca-44ae-87c6_4", "UUID_LOD2_011536-9f21182b-5919-453e-bcdf_2"}
    assert 601 not in r.codes()  # millimetre slivers along shared walls are below the depth tolerance
    assert codes(r) <= {102, 302, 304}
    # every 302 comes from Solids whose MultiSurface twin is fine: topology, not polygons
    assert all(e.geometry_index == 1 for e in r.by_code(302))


# ----------------------------------------------------------------------------- demo stage
def test_demo_stage(tmp_path):
    from citymodel.demo import DemoContext
    from citymodel.validation.demo_stage import run
    from tests.solids import model_with_boxes

    ctx = DemoContext(out_dir=tmp_path, quiet=True)
    run(ctx)
    assert ctx.summary == ["validate: skipped, no model"]
    m = model_with_boxes((0, 0, 10, 6, 4), (20, 0, 5, 5, 9))
    g = m["b1"]["geometry"][0]
    g["boundaries"][0][0] = [r[::-1] for r in g["boundaries"][0][0]]
    ctx.truth = m
    run(ctx)
    assert ctx.summary[-1].startswith("validate: INVALID, 2 shells / 12 polygons, 1 errors")
    table = ctx.report.blocks[-1].content
    assert table["code"].tolist() == [307] and table["objects"].tolist() == [1]


def test_multisolid_shells_checked_per_solid():
    v1, b1, _ = box(0, 0, 0, 4, 4, 3)
    v2, b2, _ = box(10, 0, 0, 4, 4, 3)
    b2 = remap_boundaries(b2, 8)
    b2[0][1] = [r[::-1] for r in b2[0][1]]  # second solid: top face flipped
    m = model_of(np.vstack([v1, v2]), [b1, b2], gtype="MultiSolid")
    r = validate(m)
    assert codes(r) == {307}
    e = r.by_code(307)[0]
    assert (e.shell, e.polygon) == (1000, 1)  # solid 1, shell 0


@pytest.mark.parametrize("version,lod", [("1.1", 2), ("1.0", 2.2)])
def test_old_versions_are_upgraded_before_structure_checks(tmp_path, version, lod):
    d = _doc()
    d["version"] = version
    d["CityObjects"]["P"]["geometry"][0]["lod"] = lod
    if version == "1.0":
        d["vertices"] = (np.asarray(d["vertices"]) * 0.001).tolist()  # 1.0: real coordinates, no transform
        d.pop("transform")
    r = validate_file(_raw(tmp_path, d))
    assert r.valid and not r.entries, r.text()
