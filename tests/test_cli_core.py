"""``citymodel info``, ``validate`` and ``convert`` end to end (in-process CLI runner)."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

from citymodel.cli import main
from citymodel.io import read
from tests.conftest import shared_path
from tests.solids import model_with_boxes


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def good_file(tmp_path):
    from citymodel.io import write

    return write(model_with_boxes((0, 0, 10, 6, 4), (20, 0, 8, 8, 12)), tmp_path / "good.city.json")


@pytest.fixture
def flipped_file(tmp_path):
    from citymodel.io import write

    m = model_with_boxes((0, 0, 10, 6, 4))
    g = m["b0"]["geometry"][0]
    g["boundaries"][0][1] = [r[::-1] for r in g["boundaries"][0][1]]
    return write(m, tmp_path / "flipped.city.json")


@pytest.mark.parametrize("cmd", ["info", "validate", "convert"])
def test_help_has_examples(cmd):
    res = run(cmd, "--help")
    assert res.exit_code == 0
    assert "Examples:" in res.output and f"citymodel {cmd}" in res.output


def test_info_text_and_json(good_file):
    res = run("info", good_file)
    assert res.exit_code == 0
    assert "CityJSON 2.0" in res.output and "EPSG:32632" in res.output and "Building 2" in res.output
    res = run("info", good_file, "--json")
    info = orjson.loads(res.output)
    assert info["counts_by_type"] == {"Building": 2}
    assert info["counts_by_lod"] == {"2.2": 2}
    assert info["n_vertices"] == 16
    assert info["extent_m"] == pytest.approx([0, 0, 0, 28, 8, 12])


def test_info_crs_override(good_file):
    info = orjson.loads(run("info", good_file, "--crs", "EPSG:7415", "--json").output)
    assert info["epsg"] == 7415 and info["crs_source"] == "--crs"


def test_validate_exit_codes(good_file, flipped_file):
    res = run("validate", good_file)
    assert res.exit_code == 0 and "VALID" in res.output
    res = run("validate", flipped_file)
    assert res.exit_code == 1
    assert "307 POLYGON_WRONG_ORIENTATION" in res.output and "b0" in res.output


def test_validate_json(flipped_file):
    res = run("validate", flipped_file, "--json")
    assert res.exit_code == 1
    rep = orjson.loads(res.output)
    assert rep["valid"] is False and list(rep["summary"]) == ["307"]
    assert rep["entries"][0]["object_id"] == "b0" and rep["entries"][0]["polygon"] == 1


def test_validate_quiet_valid_prints_nothing(good_file):
    res = run("-q", "validate", good_file)
    assert res.exit_code == 0 and res.output.strip() == ""


def test_convert_json_to_seq_and_back(good_file, tmp_path):
    seq = tmp_path / "m.city.jsonl"
    res = run("convert", good_file, seq)
    assert res.exit_code == 0, res.output
    lines = seq.read_bytes().splitlines()
    assert orjson.loads(lines[0])["type"] == "CityJSON" and len(lines) == 3
    assert orjson.loads(lines[1])["type"] == "CityJSONFeature"
    back = tmp_path / "back.city.json"
    assert run("convert", seq, back).exit_code == 0
    a, b = read(good_file), read(back)
    assert set(a.city_objects) == set(b.city_objects)
    assert abs(a.vertices - b.vertices).max() == 0.0


def test_convert_needs_overwrite(good_file, tmp_path):
    out = tmp_path / "m.city.jsonl"
    assert run("convert", good_file, out).exit_code == 0
    before = out.read_bytes()
    res = run("convert", good_file, out)
    assert res.exit_code != 0 and "--overwrite" in res.output
    assert out.read_bytes() == before
    assert run("convert", good_file, out, "--overwrite").exit_code == 0


def test_convert_rejects_unknown_suffix(good_file, tmp_path):
    res = run("convert", good_file, tmp_path / "m.obj")
    assert res.exit_code != 0 and ".city.jsonl" in res.output


@pytest.mark.shared_data
def test_convert_upgrades_v11_and_keeps_crs(tmp_path):
    src = shared_path("cityjson_samples", "zurich_subset_lod2.city.json")
    out = tmp_path / "z.city.jsonl"
    assert run("convert", src, out).exit_code == 0
    head = orjson.loads(out.read_bytes().split(b"\n", 1)[0])
    assert head["version"] == "2.0"
    assert head["metadata"]["referenceSystem"].endswith("/EPSG/0/2056")
    info = orjson.loads(run("info", out, "--json").output)
    assert info["version"] == "2.0" and info["counts_by_type"] == {"Building": 49, "BuildingPart": 161}


@pytest.mark.shared_data
def test_convert_seq_urn_crs_to_json(tmp_path):
    src = shared_path("cityjson_samples", "3dbag_v210908_tile901_trimmed.city.jsonl")
    out = tmp_path / "t.city.json"
    assert run("convert", src, out).exit_code == 0
    doc = orjson.loads(out.read_bytes())
    assert doc["version"] == "2.0" and doc["metadata"]["referenceSystem"].endswith("/EPSG/0/7415")
    assert all(isinstance(g["lod"], str) for o in doc["CityObjects"].values() for g in o.get("geometry", []))


@pytest.mark.shared_data
def test_validate_real_file_invalid(tmp_path):
    src = shared_path("cityjson_samples", "zurich_subset_lod2.city.json")
    res = run("validate", src, "--json")
    assert res.exit_code == 1
    rep = orjson.loads(res.output)
    assert rep["summary"] == {"104": {"name": "RING_SELF_INTERSECTION", "severity": "error", "entries": 1, "objects": 1}}


def test_help_lists_core_and_plugin_commands_in_order():
    res = run("--help")
    assert res.exit_code == 0
    listed = [line.split()[0] for line in res.output.split("Commands:")[1].splitlines() if line.strip()]
    expected = ["info", "validate", "convert", "synth", "build", "solar", "energy", "zones",
                "render", "view", "heat", "demo", "warmup"]
    assert listed == expected


def test_core_does_not_name_upper_packages():
    """citymodel/ finds commands and demo stages through entry points, never by package name."""
    import re
    from pathlib import Path

    import citymodel

    pat = re.compile(r"^\s*(import|from)\s+(lidar|energy|microclimate|viewer)\b|[\"'](lidar|energy|microclimate|viewer)\.")
    root = Path(citymodel.__file__).parent
    hits = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if pat.search(line)]
    assert hits == []


@pytest.fixture
def broken_plugin(monkeypatch):
    """A ``citymodel.commands`` entry point whose module does not exist."""
    from importlib.metadata import EntryPoint

    import citymodel.cli as cli

    real = cli.entry_points
    broken = EntryPoint(name="zzbroken", value="no_such_package_xyz.cli:cmd", group=cli.ENTRY_POINT_GROUP)

    def fake(*, group):
        return [*real(group=group), broken] if group == cli.ENTRY_POINT_GROUP else real(group=group)

    monkeypatch.setattr(cli, "entry_points", fake)
    monkeypatch.setattr(main, "commands", dict(main.commands))
    monkeypatch.setattr(main, "_plugins_loaded", False)


def test_broken_plugin_does_not_break_help(broken_plugin):
    res = run("--help")
    assert res.exit_code == 0
    assert "info" in res.output and "build" in res.output
    line = next(ln for ln in res.output.splitlines() if ln.strip().startswith("zzbroken"))
    assert "no_such_package_xyz.cli:cmd" in line


def test_broken_plugin_fails_in_one_line(broken_plugin):
    res = run("zzbroken", "--help")
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1
    assert "zzbroken = no_such_package_xyz.cli:cmd" in lines[0] and "citymodel.commands" in lines[0]
    assert "ModuleNotFoundError" in lines[0]
    assert run("info", "--help").exit_code == 0  # the other commands still work


def test_demo_stages_registered_in_order():
    from citymodel.demo import demo_stages

    names = [s.name for s in demo_stages()]
    assert names == ["synth", "validate", "build", "solar", "energy", "heat", "view"]


def test_broken_demo_stage_is_a_failed_stage(monkeypatch, tmp_path):
    from importlib.metadata import EntryPoint

    import citymodel.demo as demo
    from citymodel.errors import CityModelError

    real = demo.entry_points
    broken = EntryPoint(name="zzbroken", value="no_such_package_xyz.demo:STAGE", group=demo.ENTRY_POINT_GROUP)
    monkeypatch.setattr(demo, "entry_points", lambda *, group: [*real(group=group), broken])
    stages = demo.demo_stages()
    assert stages[-1].name == "zzbroken" and "view" in [s.name for s in stages]
    with pytest.raises(CityModelError, match="zzbroken"):
        demo.run_demo(tmp_path / "d", stages=["zzbroken"], quiet=True)
    report = (tmp_path / "d" / "report.md").read_text()
    assert "zzbroken = no_such_package_xyz.demo:STAGE" in report and "ModuleNotFoundError" in report
