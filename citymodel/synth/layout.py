"""Urban form of the synthetic district: streets, blocks, buildings, trees and green areas.

Two families of slightly non-parallel streets on a rotated grid cut the square into irregular
blocks; each block gets a type (courtyard, terraced rows, detached houses, slabs, a multi-part
building, a school, a park, a plaza) and is filled in its own frame (aligned with its longest
edge) by :mod:`citymodel.synth.blocks`. Everything is drawn from one ``numpy.random.Generator``, so a seed fixes the district.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from citymodel.synth.blocks import (
    FILLS,
    SIDEWALK_M,
    BlockContext,
    fill_detached,
    fill_park,
    fill_plaza,
    fill_single,
    rect_poly,
    street_trees,
)
from citymodel.synth.clutter import add_roof_clutter
from citymodel.synth.frame import Frame
from citymodel.synth.scene import District, GreenArea, Terrain

__all__ = ["make_terrain", "layout_district", "BLOCK_TYPES"]

#: Block types in the order they are handed out (nearest the centre first).
BLOCK_TYPES = ("courtyard", "detached", "terraced", "park", "slab", "multipart", "school")
_REPEAT = ("detached", "terraced", "slab", "courtyard", "multipart", "park")


def make_terrain(rng: np.random.Generator, origin_xy: np.ndarray) -> Terrain:
    """A gentle slope (0.5-1.5 %) with three smooth waves (0.2-0.7 m, 80-250 m wavelength)."""
    base = 48.0 + rng.uniform(0.0, 6.0)
    g = rng.uniform(0.005, 0.015)
    ga = rng.uniform(0, 2 * np.pi)
    amp = rng.uniform(0.2, 0.7, 3)
    lam = rng.uniform(80.0, 250.0, 3)
    dirs = rng.uniform(0, 2 * np.pi, 3)
    k = np.column_stack([np.cos(dirs), np.sin(dirs)]) * (2 * np.pi / lam)[:, None]
    return Terrain(
        origin_xy=np.asarray(origin_xy, dtype=np.float64),
        base_m=base,
        gradient=np.array([g * np.cos(ga), g * np.sin(ga)]),
        wave_amplitude_m=amp,
        wave_vector=k,
        wave_phase=rng.uniform(0, 2 * np.pi, 3),
    )


# --------------------------------------------------------------------------- streets
def _streets(rng: np.random.Generator, square: shapely.Polygon, origin: np.ndarray, size_m: float):
    rot = rng.uniform(-0.45, 0.45)
    full, cores, lines = [], [], []
    reach = 0.75 * size_m
    for ang0, (smin, smax), (wmin, wmax) in (
        (rot, (58.0, 92.0), (10.0, 14.0)),
        (rot + np.pi / 2, (68.0, 108.0), (11.0, 16.0)),
    ):
        normal = np.array([-np.sin(ang0), np.cos(ang0)])
        off = -reach + rng.uniform(0.0, smin)
        while off < reach:
            a = ang0 + float(np.clip(rng.normal(0.0, 0.035), -0.07, 0.07))
            d = np.array([np.cos(a), np.sin(a)])
            c = origin + off * normal
            line = shapely.LineString([c - 2 * size_m * d, c + 2 * size_m * d])
            w = rng.uniform(wmin, wmax)
            full.append(shapely.buffer(line, w / 2, cap_style="flat"))
            cores.append(shapely.buffer(line, w / 2 - SIDEWALK_M, cap_style="flat"))
            lines.append((line, w))
            off += rng.uniform(smin, smax)
    # one diagonal avenue through the grid (as in many old towns), most of the time
    if rng.random() < 0.7:
        a = rot + rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 0.9)
        d = np.array([np.cos(a), np.sin(a)])
        c = origin + rng.uniform(-0.25, 0.25, 2) * size_m
        line = shapely.LineString([c - 2 * size_m * d, c + 2 * size_m * d])
        w = rng.uniform(12.0, 16.0)
        full.append(shapely.buffer(line, w / 2, cap_style="flat"))
        cores.append(shapely.buffer(line, w / 2 - SIDEWALK_M, cap_style="flat"))
        lines.append((line, w))
    streets = shapely.intersection(shapely.union_all(full), square)
    carriage = shapely.intersection(shapely.union_all(cores), square)
    return streets, carriage, lines, rot


def _block_frame(block: shapely.Polygon) -> Frame:
    ring = np.asarray(shapely.simplify(block, 0.5).exterior.coords)
    d = np.diff(ring, axis=0)
    i = int(np.argmax(np.hypot(d[:, 0], d[:, 1])))
    a = math.atan2(d[i, 1], d[i, 0])
    c = np.asarray(block.centroid.coords[0])
    return Frame(c, a)


def _inner_rect(block: shapely.Polygon, frame: Frame, margin: float) -> tuple[float, float, float, float] | None:
    """The largest frame-aligned rectangle inside ``block`` shrunk by ``margin`` [m] (0.5 m steps).

    Scan lines along ``s`` give the block's extent at every ``t``; the best band ``[t0, t1]`` is
    the one whose common extent times its height is largest.
    """
    inner = shapely.buffer(block, -margin, join_style="mitre")
    if inner.is_empty:
        return None
    if not isinstance(inner, shapely.Polygon):
        inner = max(shapely.get_parts(inner), key=lambda g: g.area)
    st_poly = shapely.Polygon(frame.st(np.asarray(inner.exterior.coords)))
    s_min, t_min, s_max, t_max = st_poly.bounds
    ts = np.arange(t_min + 0.25, t_max, 0.5)
    if ts.size < 2:
        return None
    coords = np.stack([np.column_stack([np.full(ts.size, s_min - 1), ts]),
                       np.column_stack([np.full(ts.size, s_max + 1), ts])], axis=1)
    segs = shapely.intersection(shapely.linestrings(coords), st_poly)
    bounds = shapely.bounds(segs)
    empty = shapely.is_empty(segs)
    lo = np.where(empty, np.inf, bounds[:, 0])
    hi = np.where(empty, -np.inf, bounds[:, 2])
    best, rect = 0.0, None
    for i in range(ts.size - 1):
        width = np.minimum.accumulate(hi[i:]) - np.maximum.accumulate(lo[i:])
        area = np.where(width > 0, width, 0.0) * (ts[i:] - ts[i])
        j = int(np.argmax(area))
        if area[j] > best:
            best = float(area[j])
            rect = (float(np.max(lo[i:i + j + 1])), float(np.min(hi[i:i + j + 1])), float(ts[i]), float(ts[i + j]))
    if rect is None or rect[1] - rect[0] < 8 or rect[3] - rect[2] < 8:
        return None
    poly = rect_poly(frame, *rect)
    if not shapely.buffer(inner, 1e-6).contains(poly):  # concave block: shrink until inside
        s0, s1, t0, t1 = rect
        for _ in range(100):
            s0, s1, t0, t1 = s0 + 0.5, s1 - 0.5, t0 + 0.5, t1 - 0.5
            if s1 - s0 < 8 or t1 - t0 < 8:
                return None
            if inner.contains(rect_poly(frame, s0, s1, t0, t1)):
                return (s0, s1, t0, t1)
        return None
    return rect


def layout_district(
    rng: np.random.Generator, origin_xy: np.ndarray, size_m: float, epsg: int, seed: int,
    realism: str = "clean",
) -> District:
    """Draw streets and fill every block; see the module docstring.

    ``realism="ahn3"`` then adds the roof clutter of a real survey
    (:func:`citymodel.synth.clutter.add_roof_clutter`) from a random stream of its own.
    """
    origin = np.asarray(origin_xy, dtype=np.float64)
    terrain = make_terrain(rng, origin)
    h = size_m / 2
    square = shapely.box(origin[0] - h, origin[1] - h, origin[0] + h, origin[1] + h)
    streets, carriage, lines, _ = _streets(rng, square, origin, size_m)
    blocks_geom = shapely.difference(square, streets)
    blocks = [g for g in shapely.get_parts(blocks_geom) if g.area > 200.0]
    ctx = BlockContext(rng=rng, terrain=terrain)
    dist = [float(np.hypot(*(np.asarray(b.centroid.coords[0]) - origin))) for b in blocks]
    order = list(np.argsort(dist))
    wanted = list(BLOCK_TYPES) + list(_REPEAT) * 20
    remaining = [i for i in order]
    for btype in wanted:
        if not remaining:
            break
        # the courtyard wants the largest of the central blocks; others take the nearest
        if btype == "courtyard":
            cand = remaining[: max(1, min(3, len(remaining)))]
            i = max(cand, key=lambda k: blocks[k].area)
        else:
            i = remaining[0]
        block = blocks[i]
        frame = _block_frame(block)
        rect = _inner_rect(block, frame, 0.5)
        ok = False
        if block.area >= 1200 and rect is not None:
            ok = FILLS[btype](ctx, block, frame, rect)
            if not ok and btype not in ("detached", "park"):
                ok = fill_detached(ctx, block, frame, rect)
        if not ok:
            fill_park(ctx, block, frame, rect) if block.area > 600 else fill_plaza(ctx, block, frame, rect)
        remaining.remove(i)
    if not ctx.buildings and blocks:  # tiny districts: at least one house in the largest block
        big = max(blocks, key=lambda g: g.area)
        frame = _block_frame(big)
        rect = _inner_rect(big, frame, 0.5)
        if rect is not None:
            fill_single(ctx, frame, rect)
    street_trees(ctx, lines, streets, carriage, shapely.union_all(blocks))
    if realism == "ahn3":
        add_roof_clutter(np.random.default_rng([int(seed), 9103]), ctx.buildings, ctx.supers, ctx.add_tree,
                         streets)
    # lawns: inside blocks, off buildings
    occ = shapely.union_all([shapely.buffer(b.footprint, 0.5) for b in ctx.buildings]) if ctx.buildings else None
    lawn_all = shapely.intersection(shapely.union_all(ctx.lawns), shapely.buffer(blocks_geom, -0.5)) if ctx.lawns else None
    greens = []
    if lawn_all is not None:
        if occ is not None:
            lawn_all = shapely.difference(lawn_all, occ)
        for g in shapely.get_parts(lawn_all):
            if isinstance(g, shapely.Polygon) and g.area > 10.0:
                g = shapely.simplify(g, 0.05)
                greens.append(GreenArea(f"G{len(greens) + 1:03d}", g, "lawn"))
    # keep only trees whose trunk is in the district and not inside a building; crowns stay off
    # walls (0.3 m) unless the tree was planted to overhang a roof
    trees = []
    if ctx.trees:
        xy = np.array([t.xy for t in ctx.trees])
        inside = shapely.contains_xy(square, xy[:, 0], xy[:, 1])
        if occ is not None:
            inside &= ~shapely.contains_xy(occ, xy[:, 0], xy[:, 1])
            fps = shapely.union_all([b.footprint for b in ctx.buildings])
            dist = shapely.distance(fps, shapely.points(xy))
            for k, t in enumerate(ctx.trees):
                if inside[k] and not t.overhangs_roof:
                    r = min(t.crown_diameter_m / 2, dist[k] - 0.3)
                    if r < (0.4 if t.kind == "shrub" else 1.0):
                        inside[k] = False
                    else:
                        t.crown_diameter_m = 2 * r
        for k, t in enumerate(ctx.trees):
            if inside[k]:
                t.tree_id = f"T{len(trees) + 1:04d}"
                trees.append(t)
    return District(
        seed=seed,
        size_m=float(size_m),
        epsg=int(epsg),
        origin_xy=origin,
        terrain=terrain,
        buildings=ctx.buildings,
        trees=trees,
        green_areas=greens,
        streets=streets,
        superstructures=ctx.supers,
        carriageways=carriage,
    )
