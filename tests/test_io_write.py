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
