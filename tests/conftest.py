"""Shared fixtures: paths to ../shared/data (skip when absent), temporary copies, a CLI runner."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CITYMODEL_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """Path under ../shared/data; skips the calling test when it is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data not available: {p}")
    return p


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder (the test is skipped when it is absent)."""
    return shared_path()


@pytest.fixture
def cli_runner():
    """Invoke the ``citymodel`` CLI in-process; returns click's Result."""
    from click.testing import CliRunner

    from citymodel.cli import main

    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return run


@pytest.fixture
def copy_to_tmp(tmp_path):
    """Copy a file into the test's temp folder and return the copy's path."""

    def _copy(src: Path) -> Path:
        dst = tmp_path / Path(src).name
        shutil.copy2(src, dst)
        return dst

    return _copy
