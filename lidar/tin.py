"""Old path of :mod:`lidar.terrain.tin` (moved by issue #11), kept so that scripts keep working.

This module replaces itself with the moved one: ``import lidar.tin`` gives the very same module
object, so its names (private ones included) and monkeypatching behave as before. New code
imports :mod:`lidar.terrain.tin`.
"""

import sys

from lidar.terrain import tin as moved

sys.modules[__name__] = moved
