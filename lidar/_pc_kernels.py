"""Old path of :mod:`lidar.terrain._kernels` (moved by issue #11), kept so that scripts keep working.

This module replaces itself with the moved one: ``import lidar._pc_kernels`` gives the very same module
object, so its names (private ones included) and monkeypatching behave as before. New code
imports :mod:`lidar.terrain._kernels`.
"""

import sys

from lidar.terrain import _kernels as moved

sys.modules[__name__] = moved
