"""Old path of :mod:`lidar.reconstruct.roofplanes` (moved by issue #11), kept so that scripts keep working.

This module replaces itself with the moved one: ``import lidar.roofplanes`` gives the very same module
object, so its names (private ones included) and monkeypatching behave as before. New code
imports :mod:`lidar.reconstruct.roofplanes`.
"""

import sys

from lidar.reconstruct import roofplanes as moved

sys.modules[__name__] = moved
