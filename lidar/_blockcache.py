"""Old path of :mod:`lidar.execution.cache` (moved by issue #11), kept so that scripts keep working.

This module replaces itself with the moved one: ``import lidar._blockcache`` gives the very same module
object, so its names (private ones included) and monkeypatching behave as before. New code
imports :mod:`lidar.execution.cache`.
"""

import sys

from lidar.execution import cache as moved

sys.modules[__name__] = moved
