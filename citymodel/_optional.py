"""The one guard for optional dependencies: import a module, or say which extra installs it.

Dependencies that live in an extra of ``pyproject.toml`` (CSF, PDAL, Dask, pvlib, Qt, ...) are
imported where they are used, inside the function, through :func:`require`, so that importing a
package works with the base dependencies only and a missing one fails with a message that names
the feature and the command that installs it (as laspy does for its LAZ backends).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from citymodel.errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, *, extra: str | None = None, feature: str, package: str | None = None,
            hint: str = "") -> ModuleType:
    """Import ``module``, or raise :class:`MissingDependencyError` naming what to install.

    Parameters
    ----------
    module : str
        Dotted module name (``"CSF"``, ``"distributed"``, ``"embreex.rtcore_scene"``).
    extra : str, optional
        The citymodel extra that installs it (``"lidar"``: ``pip install 'citymodel[lidar]'``);
        ``None`` for a base dependency (the message then names ``pip install PACKAGE``).
    feature : str
        What needs it, first in the message (``"method='csf'"``, ``"--scheduler"``).
    package : str, optional
        The distribution's name on PyPI when it differs from ``module``'s top-level name.
    hint : str
        Appended to the message, e.g. an alternative (``"or use method='smrf'"``).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    MissingDependencyError
        When the import fails (also an ``ImportError``); the cause is chained.

    Examples
    --------
    >>> require("math", feature="this example").sqrt(4.0)
    2.0
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pkg = package or module.split(".")[0]
        install = f"pip install 'citymodel[{extra}]'" if extra else f"pip install {pkg}"
        msg = f"{feature} needs {pkg} ({exc}): {install}"
        raise MissingDependencyError(f"{msg}, {hint}" if hint else msg) from exc
