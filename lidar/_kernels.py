"""Old path of :mod:`lidar.reconstruct._plane_kernels` (moved by issue #11), kept so that scripts keep working.

This module replaces itself with the moved one: ``import lidar._kernels`` gives the very same module
object, so its names (private ones included) and monkeypatching behave as before. New code
imports :mod:`lidar.reconstruct._plane_kernels`.
"""

import sys

from lidar.reconstruct import _plane_kernels as moved

sys.modules[__name__] = moved
