"""Old path of :mod:`lidar.execution.spill` (moved by issue #11), kept so that scripts keep working.

This module replaces itself with the moved one: ``import lidar.spill`` gives the very same module
object, so its names (private ones included) and monkeypatching behave as before. New code
imports :mod:`lidar.execution.spill`.
"""

import sys

from lidar.execution import spill as moved

sys.modules[__name__] = moved
