"""Map furniture: legends in words that never overlap, a right north arrow, an exact scale bar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

pv = pytest.importorskip("pyvista")

from citymodel.civic import Zones  # noqa: E402
from viewer.boxes import box_model  # noqa: E402


@pytest.fixture(scope="module")
def scene():
    from viewer.scene import build_scene

    m = box_model([[85000.0, 447000.0], [85030.0, 447000.0]], [[85010.0, 447010.0], [85040.0, 447010.0]],
                  [10.0, 20.0], attributes={"t_surface_c": [20.0, 40.0]})
    zones = Zones(np.array([shapely.box(84995, 447005, 85020, 447040), shapely.box(85020, 447005, 85045, 447040)],
                           dtype=object),
                  pd.DataFrame({"zone_id": ["Z1", "Z2"], "name": ["Borgo", "Centro"],
                                "fragility_index": [0.2, 0.7]}), epsg=28992)
    return build_scene(m, color="t_surface_c", zones=zones, zone_color="fragility_index")


def _disjoint(a, b) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


@pytest.mark.parametrize("camera,size", [("top", (900, 600)), ("overview", (640, 400)), ("top", (400, 300))])
def test_legends_and_overlays_do_not_overlap_and_stay_inside(scene, camera, size):
    from viewer.furniture import overlay_boxes
    from viewer.render import offscreen_backend, offscreen_plotter

    offscreen_backend()
    p = offscreen_plotter(scene, camera=camera, window_size=size)
    boxes = overlay_boxes(p, p._furniture)
    titles = sorted(p.scalar_bars.keys())
    p.close()
    assert titles == ["Fragility index", "Surface temperature [°C]"]  # words, units, one per layer
    assert "north_arrow" in boxes and ("scale_bar" in boxes) == (camera == "top")
    w, h = size
    items = list(boxes.items())
    for i, (ka, a) in enumerate(items):
        assert a[0] >= 0 and a[1] >= 0 and a[2] <= w and a[3] <= h, (ka, a)
        for kb, b in items[i + 1:]:
            assert _disjoint(a, b), (ka, a, kb, b)


def test_scale_bar_is_exact_and_north_points_up_in_map_view(scene):
    from citymodel.mapfig import nice_length_m
    from viewer.furniture import _display_xy
    from viewer.render import offscreen_backend, offscreen_plotter

    offscreen_backend()
    p = offscreen_plotter(scene, camera="top", window_size=(800, 500))
    sb = p._furniture["scale_bar"]
    c = np.array([10.0, 10.0, 0.0])
    a, b = _display_xy(p, np.array([c, c + [sb["length_m"], 0.0, 0.0]]))
    arrow = p._furniture["north_arrow"]["box_px"]
    n_labels = p._furniture["zone_labels"]
    p.close()
    # the bar's pixels equal the projected length of the same metres (parallel projection)
    assert sb["length_px"] == pytest.approx(abs(b[0] - a[0]), abs=0.5)
    assert sb["length_m"] in (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
    assert sb["length_m"] == nice_length_m(sb["length_m"] * 1.3)
    # in the map view north is straight up: the arrow box is taller than wide
    assert arrow[3] - arrow[1] > 1.5 * (arrow[2] - arrow[0])
    assert n_labels == 2  # zone names written


def test_nice_length():
    from citymodel.mapfig import nice_length_m

    assert [nice_length_m(v) for v in (0.7, 1.0, 3.3, 19.9, 20.0, 730.0, 1e4)] == [0.5, 1.0, 2.0, 10.0, 20.0, 500.0, 1e4]
