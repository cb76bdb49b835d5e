"""``citymodel warmup``: it runs the real commands (so the cache holds their specialisations)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import click
from click.testing import CliRunner

from citymodel import warmup
from citymodel.cli import main


def test_warmup_steps_are_existing_commands_with_valid_options(tmp_path):
    """Every warm-up step parses as a command line of the installed command group."""
    (tmp_path / "district").mkdir()
    for f in ("points.laz", "footprints.gpkg", "truth.city.json"):  # inputs the options check exist
        (tmp_path / "district" / f).write_bytes(b"")
    for name, args in warmup.warmup_commands(tmp_path).items():
        assert args[0] == "-q" and "--overwrite" in args, name
        with main.make_context("citymodel", list(args), resilient_parsing=True) as ctx:
            cmd = main.get_command(ctx, args[1])
            assert cmd is not None, f"warm-up step {name}: no command {args[1]!r}"
            rest = args[2:]
            if isinstance(cmd, click.Group):
                cmd = cmd.get_command(ctx, rest[0])
                assert cmd is not None, f"warm-up step {name}: no sub-command {rest[0]!r}"
                rest = rest[1:]
            cmd.make_context(name, list(rest))  # raises on an unknown option or a missing argument


def test_warmup_runs_every_step_in_a_new_process_and_reports_failures(monkeypatch):
    calls = []

    def fake_run(argv, **kw):
        calls.append(argv)
        failed = "heat" in argv
        return subprocess.CompletedProcess(argv, 2 if failed else 0, "", "Error: no heat here" if failed else "")

    monkeypatch.setattr(warmup.subprocess, "run", fake_run)
    result = CliRunner().invoke(main, ["warmup"])
    names = [argv[4] for argv in calls]  # python -m citymodel.cli -q NAME ...
    assert names == ["synth", "build", "solar", "energy", "heat"]
    assert result.exit_code == 1
    assert "heat failed (exit 2): Error: no heat here" in result.output
    assert "numba cache:" in result.output


def test_warmup_only_keeps_the_district(monkeypatch):
    calls = []
    monkeypatch.setattr(warmup.subprocess, "run",
                        lambda argv, **kw: calls.append(argv) or subprocess.CompletedProcess(argv, 0, "", ""))
    steps = warmup.run_warmup(("energy",))
    assert [s.name for s in steps] == ["synth", "energy"] and all(s.outcome == "ok" for s in steps)
    assert not any(Path(a).exists() for argv in calls for a in argv if a.startswith("/tmp/citymodel-warmup-"))
