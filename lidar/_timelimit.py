"""Old path of :mod:`lidar.execution._timelimit` (moved by issue #11), kept so that scripts keep working.

This module replaces itself with the moved one: ``import lidar._timelimit`` gives the very same module
object, so its names (private ones included) and monkeypatching behave as before. New code
imports :mod:`lidar.execution._timelimit`.
"""

import sys

from lidar.execution import _timelimit as moved

sys.modules[__name__] = moved
