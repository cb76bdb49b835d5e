"""Compile every numba kernel once, at install time, so that a user's first command is warm.

numba compiles a kernel on its first call and caches the machine code (``cache=True``, see
:mod:`citymodel.jitcache` for where). A cache entry is found again only for the same argument
types, so the warm-up does not call kernels on made-up inputs: it runs the commands
themselves (``citymodel build``, ``solar``, ``energy simulate``, ``heat``) on a small synthetic
district, each in a new process, which compiles exactly the specialisations the commands use.
The commands are found by name through the ``citymodel`` command group (plugins); one that is
not installed is reported and skipped.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["WARMUP_SIZE_M", "WarmupStep", "warmup_commands", "run_warmup"]

log = logging.getLogger(__name__)

#: Side of the synthetic district the commands run on [m] (4 buildings, trees, grass).
WARMUP_SIZE_M = 70.0


@dataclasses.dataclass
class WarmupStep:
    """One warm-up command: its name, seconds and outcome (``ok`` or the error's last line)."""

    name: str
    seconds: float
    outcome: str


def warmup_commands(work: Path) -> dict[str, list[str]]:
    """The command lines run by the warm-up, in order, on the district in ``work/district``.

    Parameters
    ----------
    work : Path
        Scratch folder (the district is generated into ``work/district``).

    Returns
    -------
    dict
        Step name -> arguments of ``citymodel`` (without the program).
    """
    d = work / "district"
    truth = str(d / "truth.city.json")
    return {
        "synth": ["-q", "synth", "--out", str(d), "--size-m", f"{WARMUP_SIZE_M:g}", "--overwrite"],
        "build": ["-q", "build", "--points", str(d / "points.laz"), "--footprints", str(d / "footprints.gpkg"),
                  "--out", str(work / "model.city.json"), "--overwrite"],
        "solar": ["-q", "solar", truth, "--weather", "clearsky", "--out", str(work / "solar.city.json"),
                  "--overwrite"],
        "energy": ["-q", "energy", "simulate", truth, "--weather", "clearsky", "--out",
                   str(work / "demand.city.json"), "--overwrite"],
        "heat": ["-q", "heat", truth, "--weather", "clearsky", "--period", "hottest-3d", "--grid-m", "2",
                 "--out", str(work / "heat"), "--overwrite"],
    }


def run_warmup(only: tuple[str, ...] = (), echo=None) -> list[WarmupStep]:
    """Run the warm-up commands in new processes; the numba cache keeps what they compile.

    Parameters
    ----------
    only : tuple of str, optional
        Step names to run (default: all of :func:`warmup_commands`; ``synth`` always runs).
    echo : callable, optional
        Called with one line per finished step.

    Returns
    -------
    list of WarmupStep
        One per step run. A failed step (a command not installed, say) does not stop the others.
    """
    steps: list[WarmupStep] = []
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="citymodel-warmup-") as tmp:
        for name, args in warmup_commands(Path(tmp)).items():
            if only and name not in only and name != "synth":
                continue
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "citymodel.cli", *args], cwd=tmp, env=env,
                                  capture_output=True, text=True)
            dt = time.perf_counter() - t0
            if proc.returncode == 0:
                outcome = "ok"
            else:
                tail = (proc.stderr or proc.stdout).strip().splitlines()
                outcome = f"failed (exit {proc.returncode}): {tail[-1] if tail else ''}"
                log.warning("warm-up of %s %s", name, outcome)
            steps.append(WarmupStep(name, dt, outcome))
            if echo is not None:
                echo(f"{name:8s} {dt:6.1f} s  {outcome}")
            if name == "synth" and proc.returncode != 0:
                break  # nothing else can run without the district
    return steps
