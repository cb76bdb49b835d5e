"""Where numba keeps the compiled kernels: next to the sources, or a user cache folder.

numba caches a kernel (``cache=True``) in the ``__pycache__`` folder beside its module. In a
read-only install (a system site-packages, a container image) that folder cannot be written,
so every new process would compile again. :func:`configure` (run when :mod:`citymodel` is
imported, before any kernel module is) then points ``NUMBA_CACHE_DIR`` at a user cache folder,
``$XDG_CACHE_HOME/citymodel/numba`` or ``~/.cache/citymodel/numba``, unless the user already
set ``NUMBA_CACHE_DIR``. ``citymodel warmup`` (:mod:`citymodel.warmup`) fills the same place.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

__all__ = ["ENV_VAR", "user_cache_dir", "is_writable", "configure", "describe", "log_decision"]

log = logging.getLogger(__name__)

#: The environment variable numba reads for its cache folder.
ENV_VAR = "NUMBA_CACHE_DIR"
#: What :func:`configure` decided, for the log (see :func:`describe`).
_decision: list[str] = []


def user_cache_dir(environ: MutableMapping[str, str] | None = None) -> Path:
    """The user cache folder for compiled kernels.

    Returns
    -------
    Path
        ``$XDG_CACHE_HOME/citymodel/numba`` when ``XDG_CACHE_HOME`` is set, else
        ``~/.cache/citymodel/numba``.
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "citymodel" / "numba"


def is_writable(folder: Path) -> bool:
    """Whether numba can write its cache beside the modules of ``folder``'s packages.

    Parameters
    ----------
    folder : Path
        A package folder (its ``__pycache__`` is where numba writes).
    """
    pyc = folder / "__pycache__"
    target = pyc if pyc.is_dir() else folder
    return os.access(target, os.W_OK | os.X_OK)


def configure(package_dir: Path | None = None, environ: MutableMapping[str, str] | None = None) -> str | None:
    """Point numba's cache at the user cache folder when the install is read-only.

    Nothing changes when ``NUMBA_CACHE_DIR`` is already set (the user's choice wins) or when
    the package folder is writable (numba's default, ``__pycache__`` beside each module).

    Parameters
    ----------
    package_dir : Path, optional
        The package folder to test (default: this ``citymodel`` package).
    environ : mapping, optional
        The environment to read and set (default: ``os.environ``).

    Returns
    -------
    str or None
        The cache folder set, or None when nothing was changed.
    """
    env = os.environ if environ is None else environ
    pkg = Path(__file__).resolve().parent if package_dir is None else Path(package_dir)
    _decision.clear()
    if env.get(ENV_VAR):
        _decision.append(f"numba cache: {ENV_VAR}={env[ENV_VAR]} (set by the user)")
        return None
    if is_writable(pkg):
        _decision.append(f"numba cache: beside the kernel modules (__pycache__ under {pkg.parent})")
        return None
    path = user_cache_dir(env)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _decision.append(f"numba cache: {pkg} is read-only and {path} cannot be made ({exc}); "
                         "kernels compile in every new process (set NUMBA_CACHE_DIR to a writable folder)")
        return None
    env[ENV_VAR] = str(path)
    if env is os.environ and "numba" in sys.modules:  # numba read its configuration already
        sys.modules["numba"].config.CACHE_DIR = str(path)
    _decision.append(f"numba cache: {pkg} is read-only, so {ENV_VAR}={path} (the user cache folder)")
    return str(path)


def describe() -> str:
    """One line saying where the compiled kernels go (what :func:`configure` decided)."""
    return _decision[-1] if _decision else "numba cache: not configured"


def log_decision() -> None:
    """Log :func:`describe` at debug level (after the command line set up the log)."""
    log.debug(describe())
