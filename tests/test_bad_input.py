"""Bad input gives a CityModelError subclass naming the file and the object, never a bare
KeyError/IndexError; validate_file turns it into a fatal report entry; the CLI exits non-zero
with one line."""

from __future__ import annotations

import orjson
import pytest

from citymodel.errors import CityJSONError, CityModelError
from citymodel.io import read
from citymodel.validation import validate_file
from tests.solids import box


def _doc(index_shift=0):
    v, b, sem = box()
    if index_shift:
        b[0][0][0][0] += index_shift
    return {
        "type": "CityJSON", "version": "2.0",
        "transform": {"scale": [0.001] * 3, "translate": [0.0, 0.0, 0.0]},
        "CityObjects": {"bldg-7": {"type": "Building",
                                   "geometry": [{"type": "Solid", "lod": "2.2", "boundaries": b, "semantics": sem}]}},
        "vertices": (v * 1000).astype(int).tolist(),
    }


def _write(tmp_path, content, name="bad.city.json"):
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else orjson.dumps(content))
    return p


def _without(d, key):
    d = dict(d)
    d.pop(key)
    return d


GOOD = orjson.dumps(_doc())
CASES = {
    # name: (file content, words the message must contain)
    "not_json": (b"this is not JSON at all\n", ["not valid JSON"]),
    "empty": (b"", ["empty"]),
    "wrong_type": ({**_doc(), "type": "FeatureCollection"}, ["'type'", "FeatureCollection"]),
    "missing_vertices": (_without(_doc(), "vertices"), ["'vertices'", "missing"]),
    "missing_cityobjects": (_without(_doc(), "CityObjects"), ["'CityObjects'"]),
    "index_out_of_range": (_doc(index_shift=500), ["'bldg-7'", "out of range", "500"]),
    "truncated": (GOOD[: len(GOOD) * 2 // 3], ["truncated"]),
    "truncated_at_the_end": (GOOD[:-1], ["truncated"]),
    "vertices_not_triplets": ({**_doc(), "vertices": [[1, 2], [3, 4]]}, ["'vertices'"]),
    "boundaries_with_null": (
        {**_doc(), "CityObjects": {"bldg-7": {"type": "Building", "geometry": [
            {"type": "MultiSurface", "lod": "2", "boundaries": [[[0, None, 2]]]}]}}},
        ["'bldg-7'", "integer"]),
    "bad_version": ({**_doc(), "version": "3.5"}, ["3.5", "not supported"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_reader_raises_named_error(tmp_path, case):
    content, words = CASES[case]
    p = _write(tmp_path, content)
    with pytest.raises(CityModelError) as exc:
        read(p)
    assert isinstance(exc.value, CityJSONError)
    assert not isinstance(exc.value, KeyError | IndexError)
    msg = str(exc.value)
    assert str(p) in msg
    for w in words:
        assert w in msg, msg


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_file_reports_instead_of_raising(tmp_path, case):
    content, _ = CASES[case]
    r = validate_file(_write(tmp_path, content))
    assert not r.valid
    assert r.entries


@pytest.mark.parametrize("case", ["not_json", "truncated", "empty"])
def test_validate_file_fatal_for_unreadable(tmp_path, case):
    r = validate_file(_write(tmp_path, CASES[case][0]))
    assert r.fatal and r.codes() == {901}


def test_index_out_of_range_named_by_validation(tmp_path):
    r = validate_file(_write(tmp_path, _doc(index_shift=500)))
    assert not r.fatal
    e = r.by_code(1007)[0]
    assert e.object_id == "bldg-7" and e.geometry_index == 0 and "500" in e.message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CityJSONError, match="no such file"):
        read(tmp_path / "nope.city.json")
    with pytest.raises(CityJSONError, match="folder"):
        read(tmp_path)
    assert validate_file(tmp_path / "nope.city.json").fatal


# --------------------------------------------------------------------------- CityJSONSeq
def _seq_lines():
    d = _doc()
    header = {"type": "CityJSON", "version": "2.0", "transform": d["transform"], "CityObjects": {}, "vertices": []}
    feat = {"type": "CityJSONFeature", "id": "bldg-7", "CityObjects": d["CityObjects"], "vertices": d["vertices"]}
    return [orjson.dumps(header), orjson.dumps(feat)]


def test_seq_truncated_last_line(tmp_path):
    h, f = _seq_lines()
    p = _write(tmp_path, h + b"\n" + f[: len(f) // 2] + b"\n", "bad.city.jsonl")
    with pytest.raises(CityJSONError) as exc:
        read(p)
    assert str(p) in str(exc.value) and "line 2" in str(exc.value)
    assert validate_file(p).fatal


def test_seq_index_out_of_range_names_line_and_object(tmp_path):
    h, f = _seq_lines()
    feat = orjson.loads(f)
    feat["vertices"] = feat["vertices"][:4]
    p = _write(tmp_path, h + b"\n" + orjson.dumps(feat) + b"\n", "bad.city.jsonl")
    with pytest.raises(CityJSONError) as exc:
        read(p)
    msg = str(exc.value)
    assert "line 2" in msg and "'bldg-7'" in msg and "out of range" in msg
    r = validate_file(p)
    assert not r.valid and r.by_code(1007)[0].object_id == "bldg-7"


def test_seq_feature_line_first(tmp_path):
    _, f = _seq_lines()
    p = _write(tmp_path, f + b"\n", "bad.city.jsonl")
    with pytest.raises(CityJSONError, match="header"):
        read(p)


# --------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("case", ["not_json", "truncated", "wrong_type", "missing_vertices", "index_out_of_range"])
@pytest.mark.parametrize("cmd", ["info", "validate", "convert"])
def test_cli_one_line_nonzero(tmp_path, case, cmd):
    from click.testing import CliRunner

    from citymodel.cli import main

    p = _write(tmp_path, CASES[case][0])
    args = [cmd, str(p)] + ([str(tmp_path / "out.city.jsonl")] if cmd == "convert" else [])
    res = CliRunner().invoke(main, args)
    assert res.exit_code != 0
    assert not isinstance(res.exception, KeyError | IndexError | TypeError | AttributeError)
    err = res.stderr if hasattr(res, "stderr") else res.output
    lines = [ln for ln in (res.output + (err if err != res.output else "")).splitlines() if ln.strip()]
    readable = {"index_out_of_range": "1007", "missing_vertices": "1001"}
    if cmd == "validate" and case in readable:
        # readable JSON but invalid CityJSON: the report names the problem, exit 1
        assert any(readable[case] in ln for ln in lines)
        assert res.exit_code == 1
    else:
        errors = [ln for ln in lines if ln.startswith("Error:")]
        assert len(errors) == 1 and str(p) in errors[0]
    assert not (tmp_path / "out.city.jsonl").exists()
