"""Where numba's cache goes: the user's NUMBA_CACHE_DIR, beside the modules, or a user folder."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numba

from citymodel import jitcache

ROOT = Path(__file__).resolve().parents[1]


def test_user_setting_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(jitcache, "is_writable", lambda folder: False)
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "mine"), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert jitcache.configure(environ=env) is None
    assert env["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")
    assert "set by the user" in jitcache.describe()
    assert not (tmp_path / "xdg").exists()


def test_writable_install_keeps_numba_default(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert jitcache.configure(package_dir=tmp_path, environ=env) is None
    assert "NUMBA_CACHE_DIR" not in env
    assert "__pycache__" in jitcache.describe()


def test_read_only_install_uses_user_cache(tmp_path, monkeypatch, caplog):
    # as root os.access says every folder is writable, so the check itself is replaced
    monkeypatch.setattr(jitcache, "is_writable", lambda folder: False)
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)  # restored afterwards
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    got = jitcache.configure()
    want = tmp_path / "xdg" / "citymodel" / "numba"
    assert got == str(want) and want.is_dir()
    assert os.environ["NUMBA_CACHE_DIR"] == str(want)
    assert numba.config.CACHE_DIR == str(want)  # numba was imported already: its config follows
    with caplog.at_level(logging.DEBUG, logger="citymodel.jitcache"):
        jitcache.log_decision()
    assert "read-only" in caplog.text and str(want) in caplog.text


def test_home_cache_without_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert jitcache.user_cache_dir({}) == tmp_path / ".cache" / "citymodel" / "numba"


def test_read_only_install_caches_kernels_in_a_new_process(tmp_path):
    """A new process whose package folder counts as read-only compiles into the user folder."""
    code = (
        "from citymodel import jitcache\n"
        "jitcache.is_writable = lambda folder: False\n"
        "print(jitcache.configure())\n"
        "import numba\n"
        "@numba.njit(cache=True)\n"
        "def f(x):\n"
        "    return x + 1\n"
        "assert f(1) == 2\n"
    )
    script = tmp_path / "probe.py"
    script.write_text(code)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    cache = tmp_path / "xdg" / "citymodel" / "numba"
    assert proc.stdout.strip().endswith(str(cache))
    assert list(cache.rglob("*.nbi")), "the kernel's cache index was not written to the user folder"
