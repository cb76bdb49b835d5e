"""Old path of :mod:`lidar.footprints.extraction` (moved by issue #11), kept so that scripts keep working.

This module replaces itself with the moved one: ``import lidar.footprint_extraction`` gives the very same module
object, so its names (private ones included) and monkeypatching behave as before. New code
imports :mod:`lidar.footprints.extraction`.
"""

import sys

from lidar.footprints import extraction as moved

sys.modules[__name__] = moved
