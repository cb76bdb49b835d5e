"""Map furniture for renders and the desktop viewer: legends laid out without overlap, a north
arrow, a scale bar (map view only) and zone names.

Legend layout: one horizontal colour bar per coloured layer, stacked upwards from the lower
right corner (title above the bar, numbers below: the title can never cover a tick label),
the surface-type legend in the upper right, the north arrow in the upper left and the scale
bar in the lower left. :func:`overlay_boxes` returns every box in image pixels so tests check
that none intersects another and all lie inside the image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from citymodel.mapfig import nice_length_m

__all__ = [
    "BAR_WIDTH",
    "BAR_HEIGHT",
    "bar_position",
    "add_bar_title",
    "nice_length_m",
    "add_north_arrow",
    "add_scale_bar",
    "add_zone_labels",
    "add_map_furniture",
    "overlay_boxes",
]

#: Colour bar size as a fraction of the image width / height.
BAR_WIDTH, BAR_HEIGHT = 0.40, 0.085
_BAR_GAP = 0.07  # room for the title above the next bar
_TITLE_PX = 24  # height of a bar title [px] (14 pt)
_ARROW_PX = 46


def bar_position(index: int, height_px: int = 1000) -> tuple[float, float]:
    """Lower-left corner (fractions of the image) of the ``index``-th colour bar (0: lowest)
    in an image ``height_px`` high (the gap leaves room for the next bar's title)."""
    gap = max(_BAR_GAP, (_TITLE_PX + 6) / max(height_px, 1))
    return 1.0 - BAR_WIDTH - 0.03, 0.03 + index * (BAR_HEIGHT + gap)


def add_bar_title(plotter, title: str, x: float, y: float):
    """Title of the colour bar at ``(x, y)`` (its lower-left corner, image fractions), written
    just above the bar so that it never covers the numbers below it."""
    import vtk

    t = vtk.vtkTextActor()
    t.SetInput(title)
    prop = t.GetTextProperty()
    prop.SetFontSize(14)
    prop.SetColor(0.0, 0.0, 0.0)
    prop.SetJustificationToCentered()
    prop.SetVerticalJustificationToBottom()
    t.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
    t.SetPosition(x + BAR_WIDTH / 2, y + BAR_HEIGHT + 0.012)
    plotter.add_actor(t, name=f"bar_title:{title}", reset_camera=False, pickable=False)
    return t


def _display_xy(plotter, xyz: np.ndarray) -> np.ndarray:
    """Display coordinates (x right, y up, pixels) of world points ``(k, 3)``."""
    ren = plotter.renderer
    out = []
    for x, y, z in np.asarray(xyz, dtype=np.float64).reshape(-1, 3):
        ren.SetWorldPoint(x, y, z, 1.0)
        ren.WorldToDisplay()
        dx, dy, _ = ren.GetDisplayPoint()
        out.append((dx, dy))
    return np.asarray(out)


def _actor2d(points_px: np.ndarray, polys: list[list[int]], color=(0.1, 0.1, 0.1), lines: bool = False):
    import vtk

    pts = vtk.vtkPoints()
    for x, y in points_px:
        pts.InsertNextPoint(float(x), float(y), 0.0)
    cells = vtk.vtkCellArray()
    for poly in polys:
        cells.InsertNextCell(len(poly))
        for i in poly:
            cells.InsertCellPoint(i)
    pd = vtk.vtkPolyData()
    pd.SetPoints(pts)
    if lines:
        pd.SetLines(cells)
    else:
        pd.SetPolys(cells)
    mapper = vtk.vtkPolyDataMapper2D()
    mapper.SetInputData(pd)
    actor = vtk.vtkActor2D()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*color)
    actor.GetProperty().SetLineWidth(3)
    return actor


def _text(plotter, name: str, text: str, x_px: float, y_px: float, size: int = 14, justify: str = "center"):
    import vtk

    t = vtk.vtkTextActor()
    t.SetInput(text)
    prop = t.GetTextProperty()
    prop.SetFontSize(size)
    prop.SetColor(0.1, 0.1, 0.1)
    prop.SetBold(True)
    prop.SetJustificationToCentered() if justify == "center" else prop.SetJustificationToLeft()
    prop.SetVerticalJustificationToBottom()
    t.SetPosition(float(x_px), float(y_px))
    plotter.add_actor(t, name=name, reset_camera=False, pickable=False)
    return t


def add_north_arrow(plotter, scene) -> dict[str, Any]:
    """Draw an arrow pointing to grid north (+y of the model's CRS) in the upper left corner.

    The arrow's direction is the projection of north at the scene's centre under the current
    camera, so it is right in oblique views too (redraw after moving the camera).
    """
    b = scene.bounds()
    c = np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[4]])
    step = max(b[3] - b[2], 1.0) * 0.1
    p0, p1 = _display_xy(plotter, np.array([c, c + [0.0, step, 0.0]]))
    d = p1 - p0
    n = float(np.hypot(*d))
    d = np.array([0.0, 1.0]) if n < 1e-6 else d / n
    w, h = plotter.window_size
    centre = np.array([18 + _ARROW_PX / 2, h - 34 - _ARROW_PX / 2])
    perp = np.array([-d[1], d[0]])
    half = _ARROW_PX / 2
    tip = centre + d * half
    tail = centre - d * half
    pts = np.array([tip, tail + perp * half * 0.45, centre - d * half * 0.35, tail - perp * half * 0.45])
    arrow = _actor2d(pts, [[0, 1, 2], [0, 2, 3]])
    plotter.add_actor(arrow, name="north_arrow", reset_camera=False, pickable=False)
    label = _text(plotter, "north_arrow_label", "N", *(tip + d * 4 + np.array([0.0, -2.0 if d[1] < 0 else 0.0])), size=15)
    lo = np.minimum(pts.min(axis=0), tip + d * 4 - 8)
    hi = np.maximum(pts.max(axis=0), tip + d * 4 + np.array([8, 18]))
    return {"actors": [arrow, label], "box_px": (lo[0], lo[1], hi[0], hi[1])}


def add_scale_bar(plotter) -> dict[str, Any] | None:
    """Draw a scale bar in the lower left corner; only in a parallel (map) projection.

    In a perspective view the scale changes across the image, so no bar is drawn (None).
    """
    cam = plotter.camera
    if not cam.GetParallelProjection():
        return None
    w, h = plotter.window_size
    if h <= 0 or w <= 0:  # a window not shown yet has no size: nothing to measure
        return None
    m_per_px = 2.0 * cam.GetParallelScale() / h
    length_m = nice_length_m(0.22 * w * m_per_px)
    length_px = length_m / m_per_px
    x0, y0 = 24.0, 30.0
    tick = 7.0
    pts = np.array([[x0, y0], [x0 + length_px, y0], [x0, y0 - tick], [x0, y0 + tick],
                    [x0 + length_px, y0 - tick], [x0 + length_px, y0 + tick]])
    bar = _actor2d(pts, [[0, 1], [2, 3], [4, 5]], lines=True)
    plotter.add_actor(bar, name="scale_bar", reset_camera=False, pickable=False)
    text = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    label = _text(plotter, "scale_bar_label", text, x0 + length_px / 2, y0 + 9, size=13)
    return {"actors": [bar, label], "length_m": length_m, "length_px": length_px,
            "box_px": (x0 - 2, y0 - tick - 2, x0 + length_px + 2, y0 + 26)}


def add_zone_labels(plotter, scene, field: str = "name") -> int:
    """Write each zone's ``field`` (default its name) at its centre; returns how many."""
    lay = scene.layers.get("zones")
    table = scene.zone_table
    if lay is None or table is None or field not in table.columns or not lay.visible:
        return 0
    mesh = lay.mesh
    zi = np.asarray(mesh.cell_data["zone_index"])
    centres = np.asarray(mesh.cell_centers().points)
    pts, names = [], []
    for i in np.unique(zi):
        if 0 <= i < len(table):
            pts.append(centres[zi == i].mean(axis=0) + [0.0, 0.0, 1.0])
            names.append(str(table.iloc[int(i)][field]))
    if pts:
        plotter.add_point_labels(np.asarray(pts), names, font_size=12, point_size=1, shape_opacity=0.6,
                                 always_visible=True, show_points=False, name="zone_labels")
    return len(pts)


def add_map_furniture(plotter, scene, *, scale_bar: bool = True, zone_labels: bool = True) -> dict[str, Any]:
    """North arrow, scale bar (map view) and zone names; call after placing the camera."""
    out: dict[str, Any] = {"north_arrow": add_north_arrow(plotter, scene)}
    out["scale_bar"] = add_scale_bar(plotter) if scale_bar else None
    out["zone_labels"] = add_zone_labels(plotter, scene) if zone_labels else 0
    return out


def overlay_boxes(plotter, furniture: dict[str, Any] | None = None) -> dict[str, tuple[float, float, float, float]]:
    """Boxes ``(x0, y0, x1, y1)`` in display pixels (y up) of every legend and overlay.

    Colour bars are measured from their actors (position and size as drawn), the
    surface-type legend likewise; the north arrow and scale bar from ``furniture``.
    """
    w, h = plotter.window_size
    boxes: dict[str, tuple[float, float, float, float]] = {}
    for title, bar in plotter.scalar_bars.items():
        x, y = bar.GetPositionCoordinate().GetValue()[:2]
        bw, bh = bar.GetPosition2Coordinate().GetValue()[:2]
        boxes[f"bar:{title}"] = (x * w, y * h, (x + bw) * w, (y + bh) * h + _TITLE_PX)  # with title
    legend = plotter.legend
    if legend is not None:
        x, y = legend.GetPositionCoordinate().GetValue()[:2]
        lw, lh = legend.GetPosition2Coordinate().GetValue()[:2]
        boxes["legend"] = (x * w, y * h, (x + lw) * w, (y + lh) * h)
    for key in ("north_arrow", "scale_bar"):
        item = (furniture or {}).get(key)
        if item:
            boxes[key] = tuple(float(v) for v in item["box_px"])
    return boxes
