"""Roof clutter of real surveys (``realism="ahn3"``): gable dormers, HVAC boxes, stair houses,
low parapets and trees over roofs.

Real roofs are not the clean planes of the LoD2.2 truth: the Dutch AHN3 survey sees dormers
with small roof planes of their own, installations and stair houses on flat roofs, parapets
along their edges and crowns hanging over eaves. This pass adds them to a laid-out district
with its own random stream, so the buildings, their exact roof planes and everything the
``clean`` district draws stay identical. Every element is an exact box (a gable on top for the
dormers), listed in ``truth_superstructures.csv`` and ray cast by the simulated LiDAR; none is in
the LoD2.2 truth solids.
"""

from __future__ import annotations

import numpy as np
import shapely

from citymodel.synth.frame import Frame
from citymodel.synth.scene import Part, Superstructure

__all__ = ["REALISM", "add_roof_clutter"]

#: Realism levels of the generator: ``clean`` (exact planes, today's district) and ``ahn3``.
REALISM = ("clean", "ahn3")
#: Parapet thickness [m].
PARAPET_M = 0.3


def _gable_dormers(rng: np.random.Generator, bid: str, part: Part) -> list[Superstructure]:
    """Gable dormers on the upper (t > 0) slope of a gable/hip part: two small planes each."""
    frame = Frame(part.center_xy, part.angle_rad)
    half_w = 0.5 * part.width_m
    slope = part.roof_rise_m / half_w
    ze = part.z_ground_m + part.eave_height_m
    n = int(rng.integers(1, 3))
    span = part.length_m * (0.5 if part.roof_type == "hip" else 0.8)
    out = []
    for k in range(n):
        w = rng.uniform(1.8, 2.8)  # across the dormer (along the main ridge)
        depth = min(2.6, 0.5 * half_w)
        t_front = half_w - 0.8
        t_back = t_front - depth
        z_front, z_back = ze + slope * (half_w - t_front), ze + slope * (half_w - t_back)
        rise = min(0.5 * w * np.tan(np.radians(rng.uniform(30.0, 45.0))), z_back - z_front - 0.3)
        if rise < 0.3 or w > span / n:
            continue
        z_wall = z_back - 0.05 - rise
        s = ((k + 0.5) / n - 0.5) * span
        xy = frame.xy(s, 0.5 * (t_front + t_back))
        # ridge along the dormer's depth: the box's length axis points down the slope
        out.append(Superstructure("gable_dormer", bid, xy, part.angle_rad - 0.5 * np.pi, depth, w,
                                  ze - 0.2, z_wall, float(rise)))
    return out


def _flat_roof_items(rng: np.random.Generator, bid: str, part: Part) -> list[Superstructure]:
    """Parapet, HVAC boxes and a stair house on a flat roof part."""
    frame = Frame(part.center_xy, part.angle_rad)
    ze = part.z_ground_m + part.eave_height_m
    a, b = 0.5 * part.length_m, 0.5 * part.width_m
    out = []
    if rng.random() < 0.7:  # low parapet along the four edges, flush with the walls (1 cm inside)
        h = rng.uniform(0.3, 0.8)
        e = 0.01 + 0.5 * PARAPET_M
        for (s, t, ln, wd) in ((0.0, -b + e, 2 * a - 0.02, PARAPET_M), (0.0, b - e, 2 * a - 0.02, PARAPET_M),
                               (-a + e, 0.0, PARAPET_M, 2 * b - 0.02), (a - e, 0.0, PARAPET_M, 2 * b - 0.02)):
            out.append(Superstructure("parapet", bid, frame.xy(s, t), part.angle_rad, ln, wd, ze - 0.1, ze + h))
    room_s, room_t = a - 2.0, b - 2.0
    if room_s <= 1.5 or room_t <= 1.5:
        return out
    taken: list[shapely.Polygon] = []

    def place(kind: str, ln: float, wd: float, hgt: float) -> None:
        for _ in range(6):
            s = rng.uniform(-room_s + 0.5 * ln, room_s - 0.5 * ln) if room_s > 0.5 * ln else None
            t = rng.uniform(-room_t + 0.5 * wd, room_t - 0.5 * wd) if room_t > 0.5 * wd else None
            if s is None or t is None:
                return
            sup = Superstructure(kind, bid, frame.xy(s, t), part.angle_rad, ln, wd, ze - 0.1, ze + hgt)
            if not any(sup.outline.buffer(0.5).intersects(o) for o in taken):
                taken.append(sup.outline)
                out.append(sup)
                return

    if part.length_m * part.width_m > 150.0 and rng.random() < 0.5:
        place("stair_house", rng.uniform(3.0, 4.5), rng.uniform(2.5, 3.5), rng.uniform(2.2, 3.0))
    for _ in range(int(rng.integers(0, 4))):
        place("hvac", rng.uniform(0.8, 2.5), rng.uniform(0.8, 1.8), rng.uniform(0.6, 1.6))
    return out


def add_roof_clutter(rng: np.random.Generator, buildings: list, supers: list[Superstructure],
                     add_tree, streets: shapely.Geometry) -> None:
    """Append the clutter of a real survey to a laid-out district (in place).

    Parameters
    ----------
    rng : numpy.random.Generator
        A stream of its own (the clean district's draws are untouched).
    buildings : list of Building
    supers : list of Superstructure
        The district's superstructures; gable dormers, parapets, HVAC boxes and stair houses
        are appended.
    add_tree : callable
        ``add_tree(xy, height_m, crown_d_m, base_m, kind, overhangs=True)`` of the block context.
    streets : shapely geometry
        Street area (no trunk is planted there) [m].
    """
    fps = [b.footprint for b in buildings]
    occupied = shapely.union_all([shapely.buffer(f, 0.8) for f in fps]) if fps else None
    for b in buildings:
        for part in b.parts:
            if part.roof_type in ("gable", "hip") and part.width_m >= 7.0 and rng.random() < 0.6:
                supers.extend(_gable_dormers(rng, b.building_id, part))
            elif part.roof_type == "flat":
                supers.extend(_flat_roof_items(rng, b.building_id, part))
        if rng.random() < 0.35:  # a tree beside a wall whose crown reaches over the eave
            part = max(b.parts, key=lambda p: p.length_m * p.width_m)
            frame = Frame(part.center_xy, part.angle_rad)
            side = float(rng.choice([-1.0, 1.0]))
            off = rng.uniform(1.5, 2.8)
            xy = frame.xy(rng.uniform(-0.3, 0.3) * part.length_m, side * (0.5 * part.width_m + off))
            pt = shapely.Point(xy)
            if (occupied is not None and occupied.contains(pt)) or streets.contains(pt):
                continue
            crown = rng.uniform(2.0 * off + 1.5, 2.0 * off + 4.0)
            height = part.eave_height_m + rng.uniform(1.5, 5.0)
            add_tree(xy, height, crown, rng.uniform(2.0, 3.5), "garden", overhangs=True)
