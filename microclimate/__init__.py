"""Surface temperatures, mean radiant temperature, UTCI, canopy air temperature, scenarios."""

import citymodel  # noqa: F401  (first: it points numba's cache at a user folder in a read-only install)
