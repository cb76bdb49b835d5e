"""Closed, outward-oriented building solids on oriented rectangles, one per roof shape.

A part lives in a *frame*: an origin ``(2,)`` and a direction ``angle_rad``; a point with frame
coordinates ``(s, t)`` lies at ``origin + s u + t v`` with ``u = (cos a, sin a)`` and
``v = (-sin a, cos a)``. Neighbouring parts built in the same frame with a common ``s`` (or
``t``) boundary get bit-identical corner coordinates, so shared walls coincide exactly.
"""

from __future__ import annotations

import numpy as np

from citymodel.errors import InputError
from citymodel.geometry import newell_normal, unit
from citymodel.synth.frame import Frame, rect_corners
from citymodel.synth.scene import ROOF_TYPES, Face, Part

__all__ = ["make_part", "box_triangles", "gable_box_triangles"]


def _orient(rings: list[np.ndarray], expected: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Reverse the rings when the outer ring's normal points against ``expected``."""
    n = newell_normal(rings[0])
    if float(n @ expected) < 0:
        rings = [r[::-1].copy() for r in rings]
        n = -n
    out = [rings[0]]
    for h in rings[1:]:  # holes wind the other way
        if float(newell_normal(h) @ n) > 0:
            h = h[::-1].copy()
        out.append(h)
    return out, unit(n)


def make_part(
    part_id: str,
    frame: Frame,
    s_range: tuple[float, float],
    t_range: tuple[float, float],
    z_ground_m: float,
    eave_height_m: float,
    roof_type: str,
    roof_rise_m: float = 0.0,
    storeys: int = 1,
    raised: tuple[float, float, float, float] | None = None,
    mansard_inset_m: float = 1.5,
) -> Part:
    """Build one closed, outward-oriented solid.

    Parameters
    ----------
    part_id : str
    frame : Frame
        The frame of the footprint rectangle.
    s_range, t_range : (float, float)
        Footprint extent along the frame axes [m]; gable/hip ridges run along ``s``; the shed
        roof rises towards ``t_range[1]``.
    z_ground_m : float
        Ground surface height [m a.s.l.].
    eave_height_m : float
        Eave above ground [m].
    roof_type : str
        One of :data:`citymodel.synth.scene.ROOF_TYPES`.
    roof_rise_m : float
        Ridge / apex / high side / mansard top / raised part above the eave [m].
    raised : (s0, s1, t0, t1), optional
        Raised part of a ``flat_raised`` roof, inside the footprint [m].

    Returns
    -------
    Part
    """
    if roof_type not in ROOF_TYPES:
        raise InputError(f"part {part_id}: roof type {roof_type!r} is not one of {ROOF_TYPES}")
    s0, s1 = map(float, s_range)
    t0, t1 = map(float, t_range)
    if s1 - s0 <= 0 or t1 - t0 <= 0:
        raise InputError(f"part {part_id}: empty footprint s={s_range} t={t_range}")
    if roof_type != "flat" and roof_rise_m <= 0:
        raise InputError(f"part {part_id}: roof type {roof_type} needs roof_rise_m > 0")
    z0 = float(z_ground_m)
    ze = z0 + float(eave_height_m)
    zr = ze + float(roof_rise_m)
    sm, tm = 0.5 * (s0 + s1), 0.5 * (t0 + t1)
    cs = [(s0, t0), (s1, t0), (s1, t1), (s0, t1)]  # counter-clockwise from above
    faces: list[Face] = []

    def p(s: float, t: float, z: float) -> np.ndarray:
        xy = frame.xy(s, t)
        return np.array([xy[0], xy[1], z])

    def add(points: list[np.ndarray], semantic: str, expected: np.ndarray, holes=()) -> None:
        rings, n = _orient([np.array(points)] + [np.array(h) for h in holes], expected)
        faces.append(Face(rings=rings, semantic=semantic, normal=n))

    up = np.array([0.0, 0.0, 1.0])
    down = -up

    def outward(i: int) -> np.ndarray:
        a, b = np.array(cs[i]), np.array(cs[(i + 1) % 4])
        d = b - a
        n_st = np.array([d[1], -d[0]])
        n_xy = n_st[0] * frame.u + n_st[1] * frame.v
        return np.array([n_xy[0], n_xy[1], 0.0])

    def wall(i: int, z_a: float, z_b: float, extra: list[np.ndarray] | None = None) -> None:
        (sa, ta), (sb, tb) = cs[i], cs[(i + 1) % 4]
        pts = [p(sa, ta, z0), p(sb, tb, z0), p(sb, tb, z_b)] + (extra or []) + [p(sa, ta, z_a)]
        add(pts, "WallSurface", outward(i))

    # ground
    add([p(s, t, z0) for s, t in cs][::-1], "GroundSurface", down)

    if roof_type == "flat":
        add([p(s, t, ze) for s, t in cs], "RoofSurface", up)
        for i in range(4):
            wall(i, ze, ze)
    elif roof_type == "gable":
        ra, rb = p(s0, tm, zr), p(s1, tm, zr)
        add([p(s0, t0, ze), p(s1, t0, ze), rb, ra], "RoofSurface", up)
        add([p(s1, t1, ze), p(s0, t1, ze), ra, rb], "RoofSurface", up)
        wall(0, ze, ze)
        wall(1, ze, ze, [rb])
        wall(2, ze, ze)
        wall(3, ze, ze, [ra])
    elif roof_type == "hip":
        inset = min(0.5 * (t1 - t0), 0.45 * (s1 - s0))
        ra, rb = p(s0 + inset, tm, zr), p(s1 - inset, tm, zr)
        add([p(s0, t0, ze), p(s1, t0, ze), rb, ra], "RoofSurface", up)
        add([p(s1, t1, ze), p(s0, t1, ze), ra, rb], "RoofSurface", up)
        add([p(s1, t0, ze), p(s1, t1, ze), rb], "RoofSurface", up)
        add([p(s0, t1, ze), p(s0, t0, ze), ra], "RoofSurface", up)
        for i in range(4):
            wall(i, ze, ze)
    elif roof_type == "pyramid":
        apex = p(sm, tm, zr)
        for i in range(4):
            (sa, ta), (sb, tb) = cs[i], cs[(i + 1) % 4]
            add([p(sa, ta, ze), p(sb, tb, ze), apex], "RoofSurface", up)
            wall(i, ze, ze)
    elif roof_type == "shed":
        add([p(s0, t0, ze), p(s1, t0, ze), p(s1, t1, zr), p(s0, t1, zr)], "RoofSurface", up)
        wall(0, ze, ze)
        wall(1, ze, zr)
        wall(2, zr, zr)
        wall(3, zr, ze)
    elif roof_type == "mansard":
        d = min(float(mansard_inset_m), 0.3 * (t1 - t0), 0.3 * (s1 - s0))
        ins = [(s0 + d, t0 + d), (s1 - d, t0 + d), (s1 - d, t1 - d), (s0 + d, t1 - d)]
        for i in range(4):
            (sa, ta), (sb, tb) = cs[i], cs[(i + 1) % 4]
            (ia, ja), (ib, jb) = ins[i], ins[(i + 1) % 4]
            add([p(sa, ta, ze), p(sb, tb, ze), p(ib, jb, zr), p(ia, ja, zr)], "RoofSurface", up)
            wall(i, ze, ze)
        add([p(s, t, zr) for s, t in ins], "RoofSurface", up)
    elif roof_type == "flat_raised":
        if raised is None:
            raise InputError(f"part {part_id}: flat_raised needs the raised rectangle")
        r0, r1, q0, q1 = map(float, raised)
        if not (s0 < r0 < r1 < s1 and t0 < q0 < q1 < t1):
            raise InputError(f"part {part_id}: raised part {raised} is not inside the footprint")
        rc = [(r0, q0), (r1, q0), (r1, q1), (r0, q1)]
        add([p(s, t, ze) for s, t in cs], "RoofSurface", up, holes=[[p(s, t, ze) for s, t in rc]])
        for i in range(4):
            wall(i, ze, ze)
            (sa, ta), (sb, tb) = rc[i], rc[(i + 1) % 4]
            dd = np.array([sb - sa, tb - ta])
            n_xy = dd[1] * frame.u - dd[0] * frame.v
            add([p(sa, ta, ze), p(sb, tb, ze), p(sb, tb, zr), p(sa, ta, zr)], "WallSurface",
                np.array([n_xy[0], n_xy[1], 0.0]))
        add([p(s, t, zr) for s, t in rc], "RoofSurface", up)

    center = frame.xy(sm, tm)
    return Part(
        part_id=part_id,
        center_xy=center,
        angle_rad=frame.angle_rad,
        length_m=s1 - s0,
        width_m=t1 - t0,
        z_ground_m=z0,
        eave_height_m=float(eave_height_m),
        roof_type=roof_type,
        roof_rise_m=float(roof_rise_m),
        storeys=int(storeys),
        faces=faces,
    )


def box_triangles(
    center_xy: np.ndarray, angle_rad: float, length_m: float, width_m: float, z_bottom_m: float, z_top_m: float
) -> np.ndarray:
    """Triangles ``(12, 3, 3)`` of a closed oriented box [m] (superstructures, trunks)."""
    c = rect_corners(center_xy, angle_rad, length_m, width_m)
    lo = np.column_stack([c, np.full(4, z_bottom_m)])
    hi = np.column_stack([c, np.full(4, z_top_m)])
    tris = [lo[[0, 2, 1]], lo[[0, 3, 2]], hi[[0, 1, 2]], hi[[0, 2, 3]]]
    for i in range(4):
        j = (i + 1) % 4
        tris += [np.array([lo[i], lo[j], hi[j]]), np.array([lo[i], hi[j], hi[i]])]
    return np.array(tris)


def gable_box_triangles(
    center_xy: np.ndarray, angle_rad: float, length_m: float, width_m: float, z_bottom_m: float, z_top_m: float,
    ridge_rise_m: float,
) -> np.ndarray:
    """Triangles ``(14, 3, 3)`` of a closed box with a gable roof, ridge along ``angle_rad`` [m].

    The ridge is ``ridge_rise_m`` above the walls' top ``z_top_m`` (a gable dormer: two small
    roof planes of its own).
    """
    c = rect_corners(center_xy, angle_rad, length_m, width_m)  # (s, t) = (-,-), (+,-), (+,+), (-,+)
    lo = np.column_stack([c, np.full(4, z_bottom_m)])
    hi = np.column_stack([c, np.full(4, z_top_m)])
    mid = 0.5 * (c[[0, 1]] + c[[3, 2]])  # ridge ends above the two short sides
    r = np.column_stack([mid, np.full(2, z_top_m + ridge_rise_m)])
    tris = [lo[[0, 2, 1]], lo[[0, 3, 2]]]
    for i in range(4):
        j = (i + 1) % 4
        tris += [np.array([lo[i], lo[j], hi[j]]), np.array([lo[i], hi[j], hi[i]])]
    tris += [np.array([hi[0], hi[1], r[1]]), np.array([hi[0], r[1], r[0]]),  # roof plane t < 0
             np.array([hi[2], hi[3], r[0]]), np.array([hi[2], r[0], r[1]]),  # roof plane t > 0
             np.array([hi[1], hi[2], r[1]]), np.array([hi[3], hi[0], r[0]])]  # gable ends
    return np.array(tris)
