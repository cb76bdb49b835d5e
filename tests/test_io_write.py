"""Writers: quantisation that keeps solids valid, atomic output, overwrite guard."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from citymodel import read, write
from citymodel.errors import OutputExistsError
from citymodel.io import choose_scale
from tests.solids import model_with_boxes


def test_scale_refines_when_millimetres_would_merge_vertices(tmp_path):
    m = model_with_boxes((1000.0, 2000.0, 0.0004, 5.0, 3.0))  # a 0.4 mm thin box
    assert choose_scale(m.vertices) == pytest.approx(1e-4)
    p = write(m, tmp_path / "thin.city.json")
    doc = orjson.loads(p.read_bytes())
    assert doc["transform"]["scale"] == [1e-4] * 3
    m2 = read(p)
    assert len(np.unique(m2.vertices.round(6), axis=0)) == 8
    np.testing.assert_allclose(m2.vertices, m.vertices, atol=0.5e-4)


def test_default_scale_is_millimetre_and_round_trip_within_half_step(tmp_path):
    m = model_with_boxes((684123.4567, 4929876.54321, 10.0, 6.0, 4.0))
    m.vertices[:, 2] += 51.23456
    assert choose_scale(m.vertices) == pytest.approx(1e-3)
    for name in ("a.city.json", "a.city.jsonl"):
        m2 = read(write(m, tmp_path / name))
        np.testing.assert_allclose(m2.vertices, m.vertices, atol=0.5e-3 + 1e-9)
        assert m2.epsg == 32632


def test_overwrite_guard_and_no_partial_file(tmp_path):
    m = model_with_boxes((0, 0, 1, 1, 1))
    p = write(m, tmp_path / "m.city.json")
    before = p.read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write(m, p)
    # a failure while writing leaves the old file and no temporary file behind
    m.city_objects["b0"]["attributes"]["bad"] = object()  # not serialisable
    with pytest.raises(TypeError):
        write(m, p, overwrite=True)
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["m.city.json"]


def _two_boxes_with_duplicated_corners():
    """Two touching boxes whose shared corners are separate entries of the vertex list (as a
    build that adds each building's vertices on its own makes them), plus a MultiSurface twin."""
    m = model_with_boxes((0.0, 0.0, 4.0, 3.0, 5.0), (4.0, 0.0, 4.0, 3.0, 5.0))
    g = m["b1"]["geometry"][0]
    n0 = m.n_vertices
    m.vertices = np.vstack([m.vertices, m.vertices[8:16]])  # a second copy of b1's corners
    twin = [[[int(i) - 8 + n0 for i in ring] for ring in face] for face in g["boundaries"][0]]
    m["b1"]["geometry"].append({"type": "MultiSurface", "lod": "1.2", "boundaries": twin})
    return m


def test_written_models_have_no_duplicate_vertices_and_same_geometry(tmp_path):
    from citymodel.io.cityjson import merge_duplicate_rows
    from citymodel.validation import validate, validate_file

    m = _two_boxes_with_duplicated_corners()
    assert 1014 in validate(m).codes()
    n_points = len(np.unique(m.vertices, axis=0))
    for name in ("m.city.json", "m.city.jsonl"):
        p = write(m, tmp_path / name)
        r = validate_file(p)
        assert 1014 not in r.codes() and r.valid, r.text()
        m2 = read(p)
        if name.endswith(".json"):
            assert m2.n_vertices == n_points  # every point written once
        # same geometry: every ring's coordinates, in order, as before
        for oid in m.city_objects:
            for g, g2 in zip(m[oid]["geometry"], m2[oid]["geometry"], strict=True):
                for face, face2 in zip(g["boundaries"][0] if g["type"] == "Solid" else g["boundaries"],
                                       g2["boundaries"][0] if g2["type"] == "Solid" else g2["boundaries"],
                                       strict=True):
                    for ring, ring2 in zip(face, face2, strict=True):
                        np.testing.assert_allclose(m2.vertices[ring2], m.vertices[ring], atol=0.5e-3)
    # the model in memory is untouched (the writer remaps a copy)
    assert m.n_vertices == 16 + 8 and 1014 in validate(m).codes()
    # the first of each group is kept, in the original order
    kept, remap = merge_duplicate_rows(np.array([[1, 2, 3], [0, 0, 0], [1, 2, 3], [5, 5, 5], [0, 0, 0]]))
    assert kept.tolist() == [0, 1, 3] and remap.tolist() == [0, 1, 0, 2, 1]
    assert merge_duplicate_rows(np.array([[1, 2, 3], [0, 0, 0]]))[1] is None


def test_written_files_are_byte_stable(tmp_path):
    for name in ("a.city.json", "a.city.jsonl"):
        first = write(_two_boxes_with_duplicated_corners(), tmp_path / f"1{name}").read_bytes()
        second = write(_two_boxes_with_duplicated_corners(), tmp_path / f"2{name}").read_bytes()
        assert first == second
