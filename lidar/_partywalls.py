"""Old path of :mod:`lidar.footprints.partywalls` (moved by issue #11), kept so that scripts keep working.

This module replaces itself with the moved one: ``import lidar._partywalls`` gives the very same module
object, so its names (private ones included) and monkeypatching behave as before. New code
imports :mod:`lidar.footprints.partywalls`.
"""

import sys

from lidar.footprints import partywalls as moved

sys.modules[__name__] = moved
