"""Shared fixtures: paths to ../shared/data, temporary copies, a CLI runner.

Absent shared data skips the data tests locally but fails them when ``CI`` is set, so CI cannot
go green by skipping; under ``CI`` every other skip (a missing optional library) fails too. A test that reaches the data must carry ``@pytest.mark.shared_data``
(checked here at run time and statically by tests/test_shared_data_marks.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CITYMODEL_SHARED_DATA", ROOT.parent / "shared" / "data"))


#: The test being set up or run (for the mark check in :func:`shared_path`).
_CURRENT_ITEM: pytest.Item | None = None


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Under ``CI`` any skip is a failure: a missing reference library (pythermalcomfort,
    pyvista, distributed, ...) or data folder must not turn a check into a silent skip."""
    outcome = yield
    report = outcome.get_result()
    if _in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI is set and the test was skipped: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """Under ``CI`` a module skipped at import (``pytest.importorskip`` at top) fails."""
    outcome = yield
    report = outcome.get_result()
    if _in_ci() and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI is set and the module was skipped: {reason}"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    global _CURRENT_ITEM
    _CURRENT_ITEM = item


def shared_path(*parts: str) -> Path:
    """Path under ../shared/data.

    When it is absent the calling test is skipped, or failed when the ``CI`` environment
    variable is set. The calling test must carry ``@pytest.mark.shared_data``.
    """
    item = _CURRENT_ITEM
    if item is not None and item.get_closest_marker("shared_data") is None:
        pytest.fail(f"{item.nodeid} reads ../shared/data but is not marked @pytest.mark.shared_data", pytrace=False)
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        msg = f"shared data not available: {p} (set CITYMODEL_SHARED_DATA or provide ../shared/data)"
        if _in_ci():
            pytest.fail(f"CI is set and {msg}", pytrace=False)
        pytest.skip(msg)
    return p


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder (skipped when absent, failed when absent under ``CI``)."""
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
