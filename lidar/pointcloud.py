"""Old path of :mod:`lidar.points.pointcloud` (moved by issue #11), kept so that scripts keep working.

This module replaces itself with the moved one: ``import lidar.pointcloud`` gives the very same module
object, so its names (private ones included) and monkeypatching behave as before. New code
imports :mod:`lidar.points.pointcloud`.
"""

import sys

from lidar.points import pointcloud as moved

sys.modules[__name__] = moved
