"""Filling one block of the synthetic district: courtyard, terraced rows, detached houses, slabs,
multi-part buildings, a school, parks and plazas, roof superstructures and street trees.

Every fill works in the block's frame (aligned with its longest edge) inside a rectangle that
fits the block, draws from the layout's one random generator, and appends to a :class:`BlockContext`.

Per-house variation, as in real Italian blocks: the houses of a courtyard block were built one
by one, so each one's eave is offset by a uniform -0.5..0.5 m from the block's storey height
(neighbours differ by a few tens of centimetres up to a metre; drawn from a child generator,
``rng.spawn``, so every other draw and block is unchanged). A terraced row was built at once
(one year, one roof shape and pitch): its houses keep the storey height, differing only where
their storey count does. Each roof's own tile tint is added by the orthophoto
(:mod:`citymodel.synth.ortho`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from citymodel.synth.frame import Frame
from citymodel.synth.scene import Building, Part, Superstructure, Terrain, Tree
from citymodel.synth.shapes import make_part

__all__: list[str] = []

#: Sidewalk width on each side of a street [m] (paving; the rest is asphalt).
SIDEWALK_M = 2.5


@dataclass
class BlockContext:
    """What the fills of one district append to (buildings, trees, green areas), and its generator."""
    rng: np.random.Generator
    terrain: Terrain
    buildings: list[Building] = field(default_factory=list)
    trees: list[Tree] = field(default_factory=list)
    lawns: list[shapely.Geometry] = field(default_factory=list)
    supers: list[Superstructure] = field(default_factory=list)
    occupied: list[shapely.Geometry] = field(default_factory=list)

    def next_id(self) -> str:
        return f"B{len(self.buildings) + 1:04d}"

    def z_ground(self, frame: Frame, rects: list[tuple[float, float, float, float]]) -> float:
        pts = []
        for s0, s1, t0, t1 in rects:
            ss = np.linspace(s0, s1, 4)
            tt = np.linspace(t0, t1, 4)
            S, T = np.meshgrid(ss, tt)
            pts.append(frame.xy(S.ravel(), T.ravel()))
        xy = np.concatenate(pts)
        return float(np.min(self.terrain.height(xy[:, 0], xy[:, 1])))

    def add_building(self, b: Building) -> None:
        self.buildings.append(b)
        self.occupied.append(b.footprint)

    def add_tree(self, xy: np.ndarray, height: float, crown_d: float, base: float, kind: str,
                 overhangs: bool = False, shape: str = "ellipsoid") -> None:
        z = float(self.terrain.height(xy[0], xy[1]))
        tid = f"T{len(self.trees) + 1:04d}"
        self.trees.append(Tree(tid, np.asarray(xy, dtype=np.float64), z, float(height), float(crown_d),
                               float(base), kind, overhangs, shape))

    def add_conifer(self, xy: np.ndarray, kind: str) -> None:
        """A conifer: cone crown from 1-3 m above ground to the top."""
        rng = self.rng
        h = rng.uniform(8.0, 20.0)
        self.add_tree(xy, h, rng.uniform(3.0, min(7.0, 0.45 * h)), rng.uniform(1.0, 3.0), kind, shape="cone")


def rect_poly(frame: Frame, s0: float, s1: float, t0: float, t1: float) -> shapely.Polygon:
    """The rectangle ``s0..s1`` x ``t0..t1`` of the block's frame, in world coordinates [m]."""
    return shapely.Polygon(frame.xy(np.array([s0, s1, s1, s0]), np.array([t0, t0, t1, t1])))


def _split(rng: np.random.Generator, length: float, wmin: float, wmax: float) -> np.ndarray:
    """Cut ``[0, length]`` into pieces between ``wmin`` and ``wmax`` (last one absorbs the rest)."""
    cuts = [0.0]
    while length - cuts[-1] > wmax:
        cuts.append(cuts[-1] + rng.uniform(wmin, wmax))
    if length - cuts[-1] < wmin and len(cuts) > 1:
        cuts.pop()
    cuts.append(length)
    return np.array(cuts)


# --------------------------------------------------------------------------- superstructures
def _add_chimneys(ctx: BlockContext, b: Building, part: Part, n: int) -> None:
    rng = ctx.rng
    frame = Frame(part.center_xy, part.angle_rad)
    for _ in range(n):
        s = rng.uniform(-0.5, 0.5) * (part.length_m - 3.0)
        t = rng.uniform(-0.5, 0.5) * (part.width_m - 3.0)
        xy = frame.xy(s, t)
        z = _roof_z(part, xy)
        if not np.isfinite(z):
            continue
        w = rng.uniform(0.5, 0.9)
        ctx.supers.append(Superstructure("chimney", b.building_id, xy, part.angle_rad, w, w,
                                         z - 0.6, z + rng.uniform(0.9, 1.6)))


def _add_dormers(ctx: BlockContext, b: Building, part: Part) -> None:
    """Flat-topped dormers on the lower (t < 0) slope of a gable/hip roof."""
    rng = ctx.rng
    frame = Frame(part.center_xy, part.angle_rad)
    n = int(rng.integers(1, 3))
    half_w = 0.5 * part.width_m
    slope = part.roof_rise_m / half_w
    for k in range(n):
        w = rng.uniform(1.6, 2.4)
        depth = min(2.4, 0.45 * half_w)
        s = (k + 0.5) / n * part.length_m - 0.5 * part.length_m
        if part.roof_type == "hip":
            s *= 0.5
        t_front = -half_w + 1.0
        t_back = t_front + depth
        z_top = part.z_ground_m + part.eave_height_m + slope * (t_back + half_w) - 0.05
        xy = frame.xy(s, 0.5 * (t_front + t_back))
        ctx.supers.append(Superstructure("dormer", b.building_id, xy, part.angle_rad, w, depth,
                                         part.z_ground_m + part.eave_height_m - 0.2, z_top))


def _roof_z(part: Part, xy: np.ndarray) -> float:
    """Top roof height [m] of ``part`` at ``xy`` (nan outside)."""
    best = -np.inf
    pt = shapely.Point(xy)
    for f in part.roof_faces:
        poly = shapely.Polygon(f.rings[0][:, :2], [h[:, :2] for h in f.rings[1:]])
        if poly.buffer(1e-6).contains(pt):
            n = f.normal
            c = f.rings[0][0]
            z = c[2] - (n[0] * (xy[0] - c[0]) + n[1] * (xy[1] - c[1])) / n[2]
            best = max(best, z)
    return best if np.isfinite(best) else float("nan")


def _pitched(rng: np.random.Generator, roof: str, length: float, width: float) -> float:
    """Roof rise [m] for a roof shape on a ``length x width`` footprint."""
    if roof in ("gable", "hip"):
        return 0.5 * width * math.tan(math.radians(rng.uniform(28, 40)))
    if roof == "pyramid":
        return 0.5 * min(length, width) * math.tan(math.radians(rng.uniform(28, 38)))
    if roof == "shed":
        return width * math.tan(math.radians(rng.uniform(8, 15)))
    if roof == "mansard":
        return rng.uniform(2.2, 3.0)
    if roof == "flat_raised":
        return rng.uniform(2.6, 3.4)
    return 0.0


def _raised_rect(rng, s0, s1, t0, t1):
    L, W = s1 - s0, t1 - t0
    lr = min(rng.uniform(4.0, 9.0), 0.5 * L)
    wr = min(rng.uniform(3.0, 5.0), 0.5 * W)
    sc = rng.uniform(s0 + 1.5 + lr / 2, s1 - 1.5 - lr / 2)
    tc = rng.uniform(t0 + 1.5 + wr / 2, t1 - 1.5 - wr / 2)
    return (sc - lr / 2, sc + lr / 2, tc - wr / 2, tc + wr / 2)


# --------------------------------------------------------------------------- block fills
def _fill_courtyard(ctx: BlockContext, block, frame: Frame, rect) -> bool:
    rng = ctx.rng
    s0, s1, t0, t1 = rect
    D = rng.uniform(10.0, 13.0)
    if s1 - s0 < 2 * D + 14 or t1 - t0 < 2 * D + 12:
        return False
    storeys = int(rng.integers(4, 6))
    sh = rng.uniform(3.1, 3.4)
    year0 = int(rng.integers(1880, 1925))
    # houses of a courtyard block were built one by one: their eaves differ by a few tens of
    # centimetres up to a metre. Drawn from a child generator so the rest of the district (and
    # every other block) stays as it was.
    vrng = rng.spawn(1)[0]
    wings = [
        (frame, (s0, s1), (t0, t0 + D)),
        (Frame(frame.origin, frame.angle_rad + np.pi), (-s1, -s0), (-t1, -t1 + D)),
        (Frame(frame.origin, frame.angle_rad + np.pi / 2), (t0 + D, t1 - D), (-s0 - D, -s0)),
        (Frame(frame.origin, frame.angle_rad - np.pi / 2), (-(t1 - D), -(t0 + D)), (s1 - D, s1)),
    ]
    for wf, (a0, a1), (b0, b1) in wings:
        cuts = a0 + _split(rng, a1 - a0, 12.0, 24.0)
        for i in range(len(cuts) - 1):
            roof = str(rng.choice(["gable", "gable", "hip", "mansard"]))
            n_st = storeys + int(rng.integers(-1, 1))
            bid = ctx.next_id()
            rect_i = (cuts[i], cuts[i + 1], b0, b1)
            z0 = ctx.z_ground(wf, [rect_i])
            rise = _pitched(rng, roof, cuts[i + 1] - cuts[i], b1 - b0)
            eave = n_st * sh + float(vrng.uniform(-0.5, 0.5))
            part = make_part(bid, wf, (cuts[i], cuts[i + 1]), (b0, b1), z0, eave, roof, rise, n_st)
            b = Building(bid, "courtyard", "residential", year0 + int(rng.integers(0, 15)), [part], "tiles")
            ctx.add_building(b)
            if rng.random() < 0.6:
                _add_chimneys(ctx, b, part, int(rng.integers(1, 3)))
            if roof in ("gable",) and rng.random() < 0.35:
                _add_dormers(ctx, b, part)
    # courtyard: lawn in the middle with a tree or two
    court = rect_poly(frame, s0 + D + 2, s1 - D - 2, t0 + D + 2, t1 - D - 2)
    if court.area > 50:
        ctx.lawns.append(court)
        c = np.asarray(court.centroid.coords[0])
        ctx.add_tree(c, rng.uniform(9, 14), rng.uniform(5, 8), rng.uniform(2.5, 4), "garden")
    return True


def _terrace_row(ctx: BlockContext, frame: Frame, s0, s1, t0, t1, flip: bool) -> None:
    rng = ctx.rng
    roof = str(rng.choice(["gable", "gable", "flat"]))
    pitch_rise = _pitched(rng, "gable", 0, t1 - t0) if roof == "gable" else 0.0
    year = int(rng.integers(1920, 1965))
    if flip:  # facing the other street: build in the rotated frame
        frame = Frame(frame.origin, frame.angle_rad + np.pi)
        s0, s1, t0, t1 = -s1, -s0, -t1, -t0
    cuts = s0 + _split(rng, s1 - s0, 5.5, 8.0)
    for i in range(len(cuts) - 1):
        n_st = int(rng.integers(2, 4))
        bid = ctx.next_id()
        r = (cuts[i], cuts[i + 1], t0, t1)
        z0 = ctx.z_ground(frame, [r])
        part = make_part(bid, frame, (cuts[i], cuts[i + 1]), (t0, t1), z0, n_st * 2.9 + 0.3, roof,
                         pitch_rise, n_st)
        b = Building(bid, "terraced", "residential", year, [part], "tiles" if roof != "flat" else "gravel")
        ctx.add_building(b)
        if roof == "gable" and rng.random() < 0.5:
            _add_chimneys(ctx, b, part, 1)


def _fill_terraced(ctx: BlockContext, block, frame: Frame, rect) -> bool:
    rng = ctx.rng
    s0, s1, t0, t1 = rect
    D = rng.uniform(9.0, 11.0)
    if s1 - s0 < 20 or t1 - t0 < D + 4:
        return False
    _terrace_row(ctx, frame, s0, s1, t0, t0 + D, flip=False)
    back = t1 - t0 >= 2 * D + 14
    if back:
        _terrace_row(ctx, frame, s0 + 2, s1 - 2, t1 - D, t1, flip=True)
    g0, g1 = t0 + D + 1.0, (t1 - D - 1.0) if back else t1
    if g1 - g0 > 3:
        ctx.lawns.append(rect_poly(frame, s0, s1, g0, g1))
        for _ in range(int((s1 - s0) / 14)):
            xy = frame.xy(rng.uniform(s0 + 2, s1 - 2), rng.uniform(g0 + 1, g1 - 1))
            if rng.random() < 0.5:
                ctx.add_tree(xy, rng.uniform(5, 11), rng.uniform(3, 6), rng.uniform(1.8, 3.0), "garden")
            else:
                h = rng.uniform(0.8, 2.2)
                ctx.add_tree(xy, h, rng.uniform(1.0, 2.5), rng.uniform(0.1, 0.3), "shrub")
    return True


def fill_detached(ctx: BlockContext, block, frame: Frame, rect) -> bool:
    """Detached houses on plots across the block's rectangle; False when none fits."""
    rng = ctx.rng
    s0, s1, t0, t1 = rect
    ns = max(1, int((s1 - s0) // rng.uniform(19, 24)))
    nt = max(1, int((t1 - t0) // rng.uniform(19, 24)))
    ls, lt = (s1 - s0) / ns, (t1 - t0) / nt
    if ls < 14 or lt < 13:
        return False
    placed = 0
    for i in range(ns):
        for j in range(nt):
            lot = rect_poly(frame, s0 + i * ls, s0 + (i + 1) * ls, t0 + j * lt, t0 + (j + 1) * lt)
            L = rng.uniform(8.5, min(13.0, ls - 5))
            W = rng.uniform(7.5, min(10.5, lt - 5, L - 0.6))
            roof = str(rng.choice(["gable", "hip", "pyramid", "shed", "mansard", "gable", "hip"]))
            if roof == "pyramid":
                W = L * rng.uniform(0.85, 0.97)
                W = min(W, lt - 5)
            if roof == "hip" and L < W + 1.0:
                roof = "gable"
            c = frame.xy(s0 + (i + 0.5) * ls, t0 + (j + 0.5) * lt) + rng.uniform(-1.0, 1.0, 2)
            ang = frame.angle_rad + rng.uniform(-0.1, 0.1) + (np.pi if rng.random() < 0.5 else 0.0)
            hf = Frame(c, ang)
            n_st = int(rng.integers(1, 4))
            bid = ctx.next_id()
            r = (-L / 2, L / 2, -W / 2, W / 2)
            z0 = ctx.z_ground(hf, [r])
            rise = _pitched(rng, roof, L, W)
            part = make_part(bid, hf, r[:2], r[2:], z0, n_st * 2.9 + 0.4, roof, rise, n_st)
            if not shapely.buffer(lot, -0.5).contains(part.footprint):
                continue
            b = Building(bid, "detached", "residential", int(rng.integers(1950, 2015)), [part], "tiles")
            ctx.add_building(b)
            placed += 1
            if rng.random() < 0.5:
                _add_chimneys(ctx, b, part, 1)
            if roof in ("gable", "hip") and rng.random() < 0.4:
                _add_dormers(ctx, b, part)
            ctx.lawns.append(shapely.difference(shapely.buffer(lot, -0.5), shapely.buffer(part.footprint, 1.2)))
            # a garden tree; one in three leans over the roof
            if rng.random() < 0.75:
                if rng.random() < 0.4:
                    side = rng.choice([-1.0, 1.0])
                    r_c = rng.uniform(3.0, 4.5)
                    dist = W / 2 + rng.uniform(1.2, 2.2)
                    xy = hf.xy(rng.uniform(-L / 4, L / 4), side * dist)
                    base = part.eave_height_m + 0.6 * rise + 1.2
                    h = base + rng.uniform(3.5, 6.0)
                    ctx.add_tree(xy, h, 2 * r_c, base, "garden", overhangs=True)
                else:
                    for _ in range(10):
                        st = rng.uniform([-ls / 2 + 2, -lt / 2 + 2], [ls / 2 - 2, lt / 2 - 2])
                        xy = frame.xy(s0 + (i + 0.5) * ls + st[0], t0 + (j + 0.5) * lt + st[1])
                        d = shapely.distance(part.footprint, shapely.Point(xy))
                        if d > 3.0:
                            r_c = min(rng.uniform(2.0, 4.0), d - 0.5)
                            if rng.random() < 0.3:
                                ctx.add_conifer(xy, "garden")
                            else:
                                ctx.add_tree(xy, rng.uniform(5, 12), 2 * r_c, rng.uniform(1.5, 3.0), "garden")
                            break
            for _ in range(int(rng.integers(0, 4))):
                st = rng.uniform([-ls / 2 + 1, -lt / 2 + 1], [ls / 2 - 1, lt / 2 - 1])
                xy = frame.xy(s0 + (i + 0.5) * ls + st[0], t0 + (j + 0.5) * lt + st[1])
                if shapely.distance(part.footprint, shapely.Point(xy)) > 2.0:
                    ctx.add_tree(xy, rng.uniform(0.8, 2.0), rng.uniform(1.0, 2.2), rng.uniform(0.05, 0.3), "shrub")
    return placed > 0


def _fill_slab(ctx: BlockContext, block, frame: Frame, rect) -> bool:
    rng = ctx.rng
    s0, s1, t0, t1 = rect
    if s1 - s0 < 30 or t1 - t0 < 16:
        return False
    t = t0 + 2.0
    placed = 0
    while True:
        D = rng.uniform(12.0, 15.0)
        if t + D > t1 - 2:
            break
        L = min(s1 - s0 - 4, rng.uniform(35.0, 65.0))
        a = s0 + 2 + rng.uniform(0, max(0.0, s1 - s0 - 4 - L))
        roof = str(rng.choice(["flat", "flat_raised", "flat_raised"]))
        n_st = int(rng.integers(7, 15))
        bid = ctx.next_id()
        z0 = ctx.z_ground(frame, [(a, a + L, t, t + D)])
        rise = _pitched(rng, roof, L, D)
        raised = _raised_rect(rng, a, a + L, t, t + D) if roof == "flat_raised" else None
        part = make_part(bid, frame, (a, a + L), (t, t + D), z0, n_st * 3.0 + 0.5, roof, rise, n_st, raised=raised)
        use = str(rng.choice(["residential", "office"]))
        b = Building(bid, "slab", use, int(rng.integers(1958, 1990)), [part], str(rng.choice(["gravel", "concrete"])))
        ctx.add_building(b)
        if rng.random() < 0.5:
            _add_chimneys(ctx, b, part, int(rng.integers(1, 3)))
        placed += 1
        gap = rng.uniform(24.0, 32.0)
        band = rect_poly(frame, s0, s1, t + D + 3, min(t + D + gap - 3, t1))
        if band.area > 30:
            for _ in range(int(band.area / 300)):
                st = rng.uniform([s0 + 3, t + D + 6], [s1 - 3, max(t + D + 6.1, min(t + D + gap - 6, t1 - 3))])
                ctx.add_tree(frame.xy(*st), rng.uniform(8, 16), rng.uniform(5, 9), rng.uniform(2.5, 4.0), "park")
        t += D + gap
    if placed:
        # green between the slabs, a paved strip along the street and around each slab
        slabs = shapely.union_all([shapely.buffer(b.footprint, 3.0) for b in ctx.buildings[-placed:]])
        ctx.lawns.append(shapely.difference(rect_poly(frame, s0, s1, t0 + 4.0, t1), slabs))
    return placed > 0


def _fill_multipart(ctx: BlockContext, block, frame: Frame, rect, school: bool = False) -> bool:
    rng = ctx.rng
    s0, s1, t0, t1 = rect
    if s1 - s0 < 34 or t1 - t0 < 26:
        return False
    bid = ctx.next_id()
    parts_spec = []
    if school:
        LA = min(s1 - s0 - 4, rng.uniform(40, 60))
        a = s0 + 2
        WA = rng.uniform(11, 13)
        parts_spec.append(((a, a + LA), (t0 + 2, t0 + 2 + WA), "flat", int(rng.integers(2, 4)), None))
        LB = min(t1 - t0 - WA - 6, rng.uniform(16, 26))
        WB = rng.uniform(10, 12)
        parts_spec.append(((a, a + WB), (t0 + 2 + WA, t0 + 2 + WA + LB), "flat", int(rng.integers(1, 3)), None))
        parts_spec.append(((a + LA - WB, a + LA), (t0 + 2 + WA, t0 + 2 + WA + LB), "shed", 1, None))
        use, kind, year, mat = "school", "school", int(rng.integers(1958, 1980)), "gravel"
    else:
        LA = min(s1 - s0 - 16, rng.uniform(24, 40))
        a = s0 + 2
        WA = rng.uniform(12, 15)
        ta = (t0 + 2, t0 + 2 + WA)
        roofA = str(rng.choice(["flat", "mansard"]))
        parts_spec.append(((a, a + LA), ta, roofA, int(rng.integers(3, 5)), None))
        WB = min(t1 - t0 - WA - 6, rng.uniform(8, 12))
        parts_spec.append(((a + 2, a + LA - 2), (ta[1], ta[1] + WB), str(rng.choice(["shed", "flat"])),
                           int(rng.integers(1, 3)), None))
        LC = rng.uniform(10, 14)
        parts_spec.append(((a + LA, a + LA + LC), ta, "flat_raised", int(rng.integers(6, 10)), "raised"))
        use = str(rng.choice(["commercial", "office"]))
        kind, year, mat = "multipart", int(rng.integers(1965, 2015)), "concrete"
    rects = [(sa[0], sa[1], ta[0], ta[1]) for sa, ta, *_ in parts_spec]
    z0 = ctx.z_ground(frame, rects)
    parts = []
    for k, (sr, tr, roof, n_st, rz) in enumerate(parts_spec):
        raised = _raised_rect(rng, sr[0], sr[1], tr[0], tr[1]) if rz else None
        rise = _pitched(rng, roof, sr[1] - sr[0], tr[1] - tr[0])
        sh = 3.6 if school else 3.3
        parts.append(make_part(f"{bid}-{k + 1}", frame, sr, tr, z0, n_st * sh + 0.3, roof, rise, n_st,
                               raised=raised))
    b = Building(bid, kind, use, year, parts, mat)
    ctx.add_building(b)
    _add_chimneys(ctx, b, parts[0], 1)
    # paving around, some lawn and trees at the back
    back = rect_poly(frame, s0, s1, t0 + 2 + WA + 14, t1)
    back = shapely.difference(back, shapely.buffer(b.footprint, 3.0))
    if back.area > 60:
        ctx.lawns.append(back)
        for _ in range(int(back.area / 250)):
            for _ in range(10):
                xy = frame.xy(rng.uniform(s0, s1), rng.uniform(t0 + WA + 18, t1))
                if shapely.contains_xy(back, xy[0], xy[1]) and shapely.distance(b.footprint, shapely.Point(xy)) > 5:
                    ctx.add_tree(xy, rng.uniform(7, 14), rng.uniform(4, 8), rng.uniform(2.0, 3.5), "park")
                    break
    return True


def fill_park(ctx: BlockContext, block, frame: Frame, rect) -> bool:
    """A park: lawn, paths and trees inside the block; False when too small."""
    rng = ctx.rng
    lawn = shapely.buffer(block, -3.0)
    if lawn.is_empty or lawn.area < 200:
        return False
    c = np.asarray(lawn.centroid.coords[0])
    path = shapely.buffer(shapely.LineString([frame.xy(-300, -30), c, frame.xy(300, 40)]), 1.5)
    lawn = shapely.difference(lawn, path)
    ctx.lawns.append(lawn)
    minx, miny, maxx, maxy = lawn.bounds
    n = int(lawn.area / 220)
    pts: list[np.ndarray] = []
    for _ in range(n * 8):
        if len(pts) >= n:
            break
        xy = rng.uniform([minx, miny], [maxx, maxy])
        if not shapely.contains_xy(lawn, xy[0], xy[1]):
            continue
        if pts and np.min(np.hypot(*(np.array(pts) - xy).T)) < 8.0:
            continue
        pts.append(xy)
        u = rng.random()
        if u < 0.55:
            h = rng.uniform(8, 22)
            ctx.add_tree(xy, h, rng.uniform(5, min(13, 0.8 * h)), rng.uniform(2.0, 0.35 * h), "park")
        elif u < 0.8:
            ctx.add_conifer(xy, "park")
        else:
            ctx.add_tree(xy, rng.uniform(1.0, 2.2), rng.uniform(1.5, 3.0), rng.uniform(0.1, 0.3), "shrub")
    return True


def fill_plaza(ctx: BlockContext, block, frame: Frame, rect) -> bool:
    """A plaza: one to three trees inside the block (always True)."""
    rng = ctx.rng
    inner = shapely.buffer(block, -3.0)
    if inner.is_empty:
        return True
    minx, miny, maxx, maxy = inner.bounds
    for _ in range(int(rng.integers(1, 4))):
        for _ in range(10):
            xy = rng.uniform([minx, miny], [maxx, maxy])
            if shapely.contains_xy(inner, xy[0], xy[1]):
                ctx.add_tree(xy, rng.uniform(7, 12), rng.uniform(4, 7), rng.uniform(2.5, 3.5), "street")
                break
    return True


def fill_single(ctx: BlockContext, frame: Frame, rect) -> None:
    """One gable house in the middle of ``rect`` (fallback for very small districts)."""
    rng = ctx.rng
    s0, s1, t0, t1 = rect
    L = min(12.0, 0.8 * (s1 - s0))
    W = min(9.0, 0.8 * (t1 - t0), L)
    sm, tm = 0.5 * (s0 + s1), 0.5 * (t0 + t1)
    r = (sm - L / 2, sm + L / 2, tm - W / 2, tm + W / 2)
    bid = ctx.next_id()
    z0 = ctx.z_ground(frame, [r])
    part = make_part(bid, frame, r[:2], r[2:], z0, 2 * 2.9 + 0.4, "gable", _pitched(rng, "gable", L, W), 2)
    b = Building(bid, "detached", "residential", int(rng.integers(1950, 2015)), [part], "tiles")
    ctx.add_building(b)
    _add_chimneys(ctx, b, part, 1)


FILLS = {
    "courtyard": _fill_courtyard,
    "terraced": _fill_terraced,
    "detached": fill_detached,
    "slab": _fill_slab,
    "multipart": _fill_multipart,
    "school": lambda ctx, b, f, r: _fill_multipart(ctx, b, f, r, school=True),
    "park": fill_park,
    "plaza": fill_plaza,
}


def street_trees(ctx: BlockContext, lines, streets, carriage, blocks_union) -> None:
    """Trees along about half of the streets, clear of the carriageway, the blocks and each other."""
    rng = ctx.rng
    occupied = shapely.union_all(ctx.occupied) if ctx.occupied else shapely.Polygon()
    shapely.prepare(streets)
    planted: list[np.ndarray] = []
    for line, w in lines:
        if rng.random() < 0.45:
            continue
        p0, p1 = np.asarray(line.coords)
        d = (p1 - p0) / np.linalg.norm(p1 - p0)
        n = np.array([-d[1], d[0]])
        spacing = rng.uniform(9.0, 14.0)
        L = np.linalg.norm(p1 - p0)
        ts = np.arange(rng.uniform(0, spacing), L, spacing)
        for side in (-1.0, 1.0):
            xy = p0 + ts[:, None] * d + side * (w / 2 - 1.2) * n
            ok = shapely.contains_xy(streets, xy[:, 0], xy[:, 1])
            for q in xy[ok]:
                if shapely.distance(carriage, shapely.Point(q)) < 0.6:
                    continue
                if shapely.distance(blocks_union, shapely.Point(q)) < 0.6:
                    continue
                if planted and np.min(np.hypot(*(np.array(planted) - q).T)) < 6.0:
                    continue
                dist_b = shapely.distance(occupied, shapely.Point(q)) if not occupied.is_empty else 99.0
                r = min(rng.uniform(2.5, 4.5), dist_b - 0.3)
                if r < 1.5:
                    continue
                planted.append(q)
                ctx.add_tree(q, rng.uniform(7, 15), 2 * r, rng.uniform(2.8, 4.0), "street")
