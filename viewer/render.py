"""Off-screen rendering of a :class:`~viewer.scene.Scene` (no window) and camera presets.

The render backend is chosen once per process by :func:`offscreen_backend`: the default
window (X) when a display is available, else EGL (headless GPU or Mesa), else OSMesa. Set
``VTK_DEFAULT_OPENGL_WINDOW`` yourself to force one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from citymodel._fileutil import atomic_path, check_output
from citymodel.errors import DisplayError, InputError
from viewer.furniture import BAR_HEIGHT, BAR_WIDTH, add_bar_title, add_map_furniture, bar_position
from viewer.scene import Scene

__all__ = ["offscreen_backend", "add_scene", "apply_camera", "offscreen_plotter", "render",
           "project_points", "CAMERA_PRESETS"]

#: Camera presets: overview (oblique from the south-west), top (straight down, parallel
#: projection), street (eye at 1.7 m at the south edge (2 m in; 20 m out without terrain) looking north), north / south / east /
#: west (oblique from that side).
CAMERA_PRESETS = ("overview", "top", "street", "north", "south", "east", "west")

_BACKEND: str | None = None
_ENV = "VTK_DEFAULT_OPENGL_WINDOW"


def _probe() -> bool:
    import pyvista as pv

    p = pv.Plotter(off_screen=True, window_size=(8, 8))
    try:
        p.set_background((1.0, 0.0, 0.0))
        img = p.screenshot(return_img=True)
        return bool(img is not None and img[4, 4, 0] > 200 and img[4, 4, 1] < 50)
    except Exception:  # noqa: BLE001 - any failure means this backend does not work here
        return False
    finally:
        p.close()


def offscreen_backend() -> str:
    """Pick a working off-screen render window class for this process; return its name.

    Tries, in order: ``$VTK_DEFAULT_OPENGL_WINDOW`` when set; the default window when
    ``$DISPLAY`` is set; ``vtkEGLRenderWindow``; ``vtkOSOpenGLRenderWindow``.

    Raises
    ------
    DisplayError
        When nothing renders; the message says what to install.
    """
    global _BACKEND
    if _BACKEND is not None:
        return _BACKEND
    import vtk  # noqa: F401 - load VTK before probing

    candidates: list[str | None] = []
    if os.environ.get(_ENV):
        candidates.append(os.environ[_ENV])
    else:
        if os.environ.get("DISPLAY"):
            candidates.append(None)
        candidates += ["vtkEGLRenderWindow", "vtkOSOpenGLRenderWindow"]
    tried = []
    for cand in candidates:
        if cand is None:
            os.environ.pop(_ENV, None)
        else:
            os.environ[_ENV] = cand
        if _probe():
            import pyvista as pv

            p = pv.Plotter(off_screen=True, window_size=(8, 8))
            _BACKEND = p.ren_win.GetClassName()
            p.close()
            return _BACKEND
        tried.append(cand or f"default window on DISPLAY={os.environ.get('DISPLAY')}")
    raise DisplayError(
        f"no off-screen OpenGL renderer works here (tried {', '.join(tried)}); install EGL "
        "(apt install libegl1 libgl1) or OSMesa (apt install libosmesa6), or run under xvfb-run"
    )


def _tick_format(clim) -> str:
    """printf format of colour-bar numbers: as many decimals as the range needs, no more
    (20..40 -> "20 25 30"; 0.218..0.716 -> "0.22 0.34 0.47")."""
    if not clim:
        return "%.3g"
    span = abs(float(clim[1]) - float(clim[0]))
    if not np.isfinite(span) or span == 0:
        return "%.3g"
    step = span / 4  # five labels
    exp = int(np.floor(np.log10(step)))
    mantissa = step / 10.0**exp
    nice = any(np.isclose(mantissa, m) for m in (1.0, 2.0, 5.0))
    decimals = 0 if exp >= 1 else max(0, -exp) + (0 if nice else 1)
    return f"%.{min(decimals, 6)}f"


def add_scene(plotter, scene: Scene, *, legend: bool = True, lighting: bool = True) -> dict[str, Any]:
    """Add every layer of ``scene`` to a PyVista plotter; return the actors by layer name.

    Layers coloured by a value get a horizontal colour bar titled in words with the unit,
    stacked from the lower right corner (see :mod:`viewer.furniture`); categorical layers
    (surface types) get a legend box in the upper right corner.
    """
    actors: dict[str, Any] = {}
    n_bars = 0
    categories: dict[str, str] = {}
    for lay in scene.layers.values():
        kw: dict[str, Any] = {"opacity": lay.opacity, "lighting": lighting, "pickable": lay.pickable,
                              "name": lay.name, "reset_camera": False}
        if lay.kind == "lines":
            kw.update(line_width=2, lighting=False)
        elif lay.kind in ("zones", "raster"):
            kw.update(lighting=False)  # map layers: the colour on screen is the legend's colour
        elif lay.name == "terrain":
            kw.update(lighting=False)  # flat ground colour: no sliver facets of the TIN
        if lay.scalars is None:
            actor = plotter.add_mesh(lay.mesh, color=lay.color, **kw)
        elif lay.rgb:
            actor = plotter.add_mesh(lay.mesh, scalars=lay.scalars, rgb=True, preference="cell", **kw)
            if lay.categories:
                categories.update(lay.categories)
        else:
            bar = legend and lay.visible
            px, py = bar_position(n_bars, plotter.window_size[1])
            sargs = {"title": lay.label or lay.scalars, "vertical": False,
                     "position_x": px, "position_y": py, "width": BAR_WIDTH,
                     "height": BAR_HEIGHT, "title_font_size": 14, "label_font_size": 12, "n_labels": 5,
                     "fmt": _tick_format(lay.clim), "color": "black", "unconstrained_font_size": True}
            actor = plotter.add_mesh(lay.mesh, scalars=lay.scalars, preference="cell", cmap=lay.cmap,
                                     clim=lay.clim, nan_color="#bbbbbb", show_scalar_bar=bar,
                                     scalar_bar_args=sargs, **kw)
            if bar:  # numbers below the bar, the title (own text actor) above it: no overlap
                sb = plotter.scalar_bars[sargs["title"]]
                sb.SetTextPositionToPrecedeScalarBar()
                sb.SetTitle(" ")
                sb.SetDrawBackground(True)  # readable over the map
                sb.GetBackgroundProperty().SetColor(1.0, 1.0, 1.0)
                sb.GetBackgroundProperty().SetOpacity(0.75)
                add_bar_title(plotter, sargs["title"], px, py)
            n_bars += int(bar)
        actor.SetVisibility(lay.visible)
        actors[lay.name] = actor
    if legend and categories:
        plotter.add_legend([[k, v] for k, v in categories.items()], bcolor="#5a5a5a", face="rectangle",
                           loc="upper right", size=(0.18, 0.04 * len(categories) + 0.02))
    return actors


def apply_camera(plotter, scene: Scene, preset: str = "overview") -> None:
    """Place the camera by a preset (see :data:`CAMERA_PRESETS`), fitting the visible layers.

    Raises
    ------
    InputError
        Unknown preset.
    """
    if preset not in CAMERA_PRESETS:
        raise InputError(f"unknown camera preset {preset!r}; choose one of {', '.join(CAMERA_PRESETS)}")
    b = scene.bounds()
    c = np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2])
    size = float(max(b[1] - b[0], b[3] - b[2], b[5] - b[4], 1.0))
    cam = plotter.camera
    plotter.disable_parallel_projection()
    if preset == "top":
        plotter.enable_parallel_projection()
        plotter.camera_position = [tuple(c + [0, 0, 2 * size]), tuple(c), (0, 1, 0)]
        plotter.reset_camera(bounds=b)
        cam.parallel_scale = 0.5 * max(b[1] - b[0], b[3] - b[2]) * 1.02
        return
    if preset == "street":
        ey = b[2] + 2.0 if scene.has_ground else b[2] - max(20.0, 0.05 * (b[3] - b[2]))
        gz = float(scene.ground_z(np.array([c[0]]), np.array([ey]))[0])
        eye = np.array([c[0], ey, gz + 1.7])
        look = (c[0], c[1], gz + 1.7 + 0.1 * (b[5] - b[4]))
        plotter.camera_position = [tuple(eye), look, (0, 0, 1)]
        cam.view_angle = 60.0
        plotter.reset_camera_clipping_range()
        return
    direction = {
        "overview": (-0.6, -1.0, 0.9),
        "north": (0.0, 1.0, 0.6),
        "south": (0.0, -1.0, 0.6),
        "east": (1.0, 0.0, 0.6),
        "west": (-1.0, 0.0, 0.6),
    }[preset]
    d = np.asarray(direction) / np.linalg.norm(direction)
    plotter.camera_position = [tuple(c + 2 * size * d), tuple(c), (0, 0, 1)]
    cam.view_angle = 30.0
    plotter.reset_camera(bounds=b)
    cam.zoom(1.2)  # the fit is to the bounding sphere: tighten it


def offscreen_plotter(
    scene: Scene,
    *,
    camera: str = "overview",
    window_size: tuple[int, int] = (1600, 1000),
    legend: bool = True,
    lighting: bool = True,
    background: str = "white",
):
    """A PyVista off-screen plotter with the scene added and the camera placed (not rendered).

    With ``legend``, the map furniture is drawn too: north arrow, scale bar in the ``top``
    (map) view, zone names (:func:`viewer.furniture.add_map_furniture`); the plotter's
    ``_furniture`` attribute holds what was drawn.
    """
    offscreen_backend()
    import pyvista as pv

    p = pv.Plotter(off_screen=True, window_size=list(window_size))
    p.set_background(background)
    add_scene(p, scene, legend=legend, lighting=lighting)
    apply_camera(p, scene, camera)
    p._furniture = add_map_furniture(p, scene) if legend else {}
    return p


def render(
    scene: Scene,
    out: str | os.PathLike | None = None,
    *,
    camera: str = "overview",
    window_size: tuple[int, int] = (1600, 1000),
    legend: bool = True,
    lighting: bool = True,
    overwrite: bool = False,
) -> np.ndarray:
    """Render ``scene`` off-screen; write a PNG when ``out`` is given (atomically).

    Parameters
    ----------
    scene : Scene
    out : path-like, optional
        PNG file to write.
    camera : str
        A preset of :data:`CAMERA_PRESETS`.
    window_size : (int, int)
        Image width and height [px].
    legend : bool
        Draw scalar bars / the surface-type legend.
    lighting : bool
        Shade surfaces (False: flat colours exactly from the colour map).
    overwrite : bool
        Replace an existing ``out``.

    Returns
    -------
    (height, width, 3) uint8
        The image.
    """
    if out is not None:
        check_output(out, overwrite)
    p = offscreen_plotter(scene, camera=camera, window_size=window_size, legend=legend, lighting=lighting)
    try:
        img = p.screenshot(return_img=True)
    finally:
        p.close()
    if out is not None:
        import matplotlib.image as mpimg

        with atomic_path(out, overwrite=overwrite) as tmp:
            mpimg.imsave(tmp, img, format="png")
    return np.asarray(img)


def project_points(plotter, xyz: np.ndarray) -> np.ndarray:
    """Pixel (row, column) of local points ``(k, 3)`` in the plotter's image: ``(k, 2) int``.

    Row 0 is the top of the image (as in the screenshot array).
    """
    ren = plotter.renderer
    h = plotter.window_size[1]
    out = []
    for x, y, z in np.asarray(xyz, dtype=np.float64).reshape(-1, 3):
        ren.SetWorldPoint(x, y, z, 1.0)
        ren.WorldToDisplay()
        dx, dy, _ = ren.GetDisplayPoint()
        out.append((int(round(h - 1 - dy)), int(round(dx))))
    return np.asarray(out, dtype=np.int64)


def save_png(img: np.ndarray, out: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write an RGB image ``(h, w, 3) uint8`` as PNG atomically."""
    import matplotlib.image as mpimg

    with atomic_path(out, overwrite=overwrite) as tmp:
        mpimg.imsave(tmp, np.asarray(img), format="png")
    return Path(out)
