"""The Qt desktop viewer: starts under Xvfb; layer panel, picking, colour-by, time slider."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from citymodel.errors import DisplayError

_SCRIPT = textwrap.dedent(
    """
    import json, numpy as np
    from qtpy import QtWidgets
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    from viewer.boxes import box_model
    from viewer.scene import build_scene
    from viewer.app import ViewerWindow
    m = box_model(np.array([[0, 0], [30, 0]]) + [85000, 447000], np.array([[10, 10], [40, 10]]) + [85000, 447000], [10, 20],
                  attributes={"t_surface_c": [20.0, 40.0]})
    hourly = np.arange(2 * 24, dtype=float).reshape(2, 24)
    import pandas as pd, shapely
    from citymodel.civic import Zones
    zones = Zones(np.array([shapely.box(85000 - 5, 447005, 85045, 447040)], dtype=object),
                  pd.DataFrame({"zone_id": ["Z1"], "fragility_index": [0.7]}), epsg=28992)
    s = build_scene(m, color="t_surface_c", values={"load_kw": hourly}, zones=zones)
    w = ViewerWindow(s, camera="top", model=m)
    w.show()
    app.processEvents()
    out = {"layers": w.layer_names(), "title": w.windowTitle()}
    w.set_layer_visible("buildings", False)
    out["hidden_api"] = [w.is_layer_visible("buildings"), w.layer_checks["buildings"].isChecked()]
    w.set_layer_visible("buildings", True)
    out["shown_api"] = w.is_layer_visible("buildings")
    w.layer_checks["buildings"].setChecked(False)          # the panel's check box
    out["hidden_panel"] = w.is_layer_visible("buildings")
    w.layer_checks["buildings"].setChecked(True)
    w.opacity_sliders["buildings"].setValue(40)             # the panel's opacity slider
    out["opacity"] = w.actors["buildings"].GetProperty().GetOpacity()
    out["pick_id"] = w.pick_building("b1")
    o = np.array([85000.0, 447000.0, 0.0])
    out["pick_world"] = w.pick_world(o + [35.0, 5.0, 20.0] - s.origin)
    out["pick_empty"] = w.pick_world(o + [20.0, 1.0, 0.0] - s.origin)
    out["pick_zone"] = w.pick_world(o + [20.0, 30.0, 0.5] - s.origin)
    w.color_combo.setCurrentText("load_kw")                 # the colour-by selector
    out["slider_enabled"] = w.time_slider.isEnabled()
    out["slider_max"] = w.time_slider.maximum()
    w.time_slider.setValue(5)                               # the time slider
    out["hour5"] = sorted(set(np.asarray(s.layers["buildings"].mesh.cell_data["load_kw"]).tolist()))
    out["bars"] = list(w.plotter.scalar_bars.keys())
    from viewer.furniture import overlay_boxes
    w.set_camera("top")
    out["boxes"] = overlay_boxes(w.plotter, w.furniture)
    out["win"] = list(w.plotter.window_size)
    out["furniture"] = sorted(k for k in ("north_arrow", "scale_bar") if k in w.plotter.actors)
    w.lod_combo.setCurrentText("1.2")                        # the LoD selector
    out["lod"] = s.lod
    w.set_camera("north")
    img = w.screenshot(SHOT)
    out["shot_nonwhite"] = float((img.reshape(-1, 3) != 255).any(1).mean())
    print("RESULT" + json.dumps(out, default=float))
    w.close()
    """
)


@pytest.mark.gui
def test_app_under_xvfb(tmp_path):
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed")
    pytest.importorskip("pyvistaqt")
    shot = tmp_path / "app.png"
    script = tmp_path / "app_check.py"
    script.write_text(f"SHOT = {str(shot)!r}\n" + _SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "VTK_DEFAULT_OPENGL_WINDOW"}
    env["PYTHONPATH"] = os.getcwd()
    proc = subprocess.run(["xvfb-run", "-a", sys.executable, str(script)], capture_output=True,
                          text=True, timeout=180, env=env)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT")), None)
    assert line is not None, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = json.loads(line[len("RESULT"):])
    assert out["layers"] == ["buildings", "zones", "zone_outlines"]
    assert out["hidden_api"] == [False, False]
    assert out["shown_api"] is True
    assert out["hidden_panel"] is False
    assert out["opacity"] == pytest.approx(0.4)
    assert out["pick_id"] == {"building_id": "b1", "height_m": 20.0, "t_surface_c": 40.0}
    assert out["pick_world"]["building_id"] == "b1" and out["pick_world"]["layer"] == "buildings"
    assert out["pick_empty"] is None
    assert out["pick_zone"]["layer"] == "zones" and out["pick_zone"]["zone_id"] == "Z1"
    assert out["pick_zone"]["fragility_index"] == pytest.approx(0.7)
    assert out["slider_enabled"] is True and out["slider_max"] == 23
    assert out["hour5"] == [5.0, 29.0]  # building 0 -> hourly[0, 5], building 1 -> hourly[1, 5]
    assert sorted(out["bars"]) == ["Fragility index", "Load [kW]"]
    # the same map furniture as renders; legends and overlays never overlap, inside the window
    assert out["furniture"] == ["north_arrow", "scale_bar"]
    boxes = list(out["boxes"].values())
    wpx, hpx = out["win"]
    for i, a in enumerate(boxes):
        assert a[0] >= 0 and a[1] >= 0 and a[2] <= wpx and a[3] <= hpx, out["boxes"]
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], out["boxes"]
    assert out["lod"] == "1.2"
    assert shot.exists() and out["shot_nonwhite"] > 0.01


def test_no_display_says_use_render(monkeypatch):
    from viewer.app import check_display

    if not sys.platform.startswith("linux"):
        pytest.skip("display detection is tested on Linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    with pytest.raises(DisplayError, match="citymodel render"):
        check_display()


def test_cli_view_without_display(monkeypatch, tmp_path, cli_runner):
    from citymodel.io import write
    from viewer.boxes import box_model

    if not sys.platform.startswith("linux"):
        pytest.skip("display detection is tested on Linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    src = tmp_path / "b.city.json"
    write(box_model([[0, 0]], [[10, 10]], [10.0]), src)
    res = cli_runner("view", src)
    assert res.exit_code == 1
    assert "use `citymodel render" in res.output
