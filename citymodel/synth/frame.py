"""Oriented 2D frames and rectangles, the coordinates every synthetic building is laid out in.

A *frame* is an origin ``(2,)`` and a direction ``angle_rad``; a point with frame coordinates
``(s, t)`` lies at ``origin + s u + t v`` with ``u = (cos a, sin a)`` and
``v = (-sin a, cos a)``. The scene (:mod:`citymodel.synth.scene`, a superstructure's outline)
and the solids (:mod:`citymodel.synth.shapes`) both use it, so it sits below both.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Frame", "rect_corners"]


class Frame:
    """A 2D frame: ``origin (2,)`` [m] and direction ``angle_rad`` of its ``s`` axis [rad]."""

    def __init__(self, origin: np.ndarray, angle_rad: float) -> None:
        self.origin = np.asarray(origin, dtype=np.float64)
        self.angle_rad = float(angle_rad)
        self.u = np.array([np.cos(angle_rad), np.sin(angle_rad)])
        self.v = np.array([-np.sin(angle_rad), np.cos(angle_rad)])

    def xy(self, s: np.ndarray | float, t: np.ndarray | float) -> np.ndarray:
        """Projected coordinates ``(..., 2)`` of frame coordinates ``s, t`` [m]."""
        s = np.asarray(s, dtype=np.float64)[..., None]
        t = np.asarray(t, dtype=np.float64)[..., None]
        return self.origin + s * self.u + t * self.v

    def st(self, xy: np.ndarray) -> np.ndarray:
        """Frame coordinates ``(..., 2)`` of projected points ``(..., 2)`` [m]."""
        d = np.asarray(xy, dtype=np.float64) - self.origin
        return np.stack([d @ self.u, d @ self.v], axis=-1)


def rect_corners(center_xy: np.ndarray, angle_rad: float, length_m: float, width_m: float) -> np.ndarray:
    """Corners ``(4, 2)`` of an oriented rectangle, counter-clockwise from above [m]."""
    f = Frame(center_xy, angle_rad)
    a, b = 0.5 * length_m, 0.5 * width_m
    return f.xy(np.array([-a, a, a, -a]), np.array([-b, -b, b, b]))
