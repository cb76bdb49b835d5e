"""Old path of :mod:`lidar.terrain.ground` (moved by issue #11), kept so that scripts keep working.

This module replaces itself with the moved one: ``import lidar.ground`` gives the very same module
object, so its names (private ones included) and monkeypatching behave as before. New code
imports :mod:`lidar.terrain.ground`.
"""

import sys

from lidar.terrain import ground as moved

sys.modules[__name__] = moved
