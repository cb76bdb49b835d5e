"""PyVista scenes, the off-screen renderer and the desktop viewer."""

import citymodel  # noqa: F401  (first: it points numba's cache at a user folder in a read-only install)
