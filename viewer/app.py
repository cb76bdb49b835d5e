"""The desktop viewer: a pyvistaqt window on a :class:`~viewer.scene.Scene`.

Layer panel (show/hide, opacity), colour-by selector with legend, picking a building or a zone
(its attributes appear in the side panel), a time slider for hourly per-building series, camera
preset buttons and screenshot export. Every control is also a method, so scripts and tests
drive the window without a mouse.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

from citymodel.errors import DisplayError, InputError, MissingDependencyError
from viewer.furniture import add_map_furniture
from viewer.render import CAMERA_PRESETS, add_scene, apply_camera
from viewer.scene import Scene

__all__ = ["check_display", "ViewerWindow", "run_app"]


def check_display() -> None:
    """Raise :class:`DisplayError` when no display is available for a window.

    Raises
    ------
    DisplayError
        On Linux without ``$DISPLAY`` / ``$WAYLAND_DISPLAY`` (and no offscreen Qt platform).
    MissingDependencyError
        When pyvistaqt / PySide6 are not installed.
    """
    plat = os.environ.get("QT_QPA_PLATFORM", "")
    if (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY") and plat not in ("offscreen", "minimal")):
        raise DisplayError(
            "no display available for the desktop viewer ($DISPLAY is not set); use "
            "`citymodel render IN.city.json --color ATTR --out shot.png` for an off-screen image "
            "(or run the viewer under xvfb-run / with X forwarding)"
        )
    try:
        import pyvistaqt  # noqa: F401
        from qtpy import QtWidgets  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            f"the desktop viewer needs pyvistaqt and Qt ({exc}); pip install 'citymodel[viewer]'"
        ) from None


def _software_gl(plotter) -> bool:
    """True when OpenGL runs on the CPU (Mesa llvmpipe / softpipe / swrast)."""
    try:
        caps = plotter.ren_win.ReportCapabilities() or ""
    except Exception:  # noqa: BLE001 - capabilities are informative only
        return False
    return any(k in caps for k in ("llvmpipe", "softpipe", "swrast"))


def _qt():
    from qtpy import QtCore, QtWidgets

    return QtCore, QtWidgets


def _make_window_class():
    QtCore, QtWidgets = _qt()
    from pyvistaqt import QtInteractor

    class _ViewerWindow(QtWidgets.QMainWindow):
        """Main window; see :func:`ViewerWindow` for the API."""

        def __init__(self, scene: Scene, title: str = "citymodel viewer", camera: str = "overview",
                     model=None):
            super().__init__()
            self.scene = scene
            self.model = model
            self.setWindowTitle(title)
            self.resize(1400, 900)
            splitter = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
            self.plotter = QtInteractor(splitter)
            self.plotter.set_background("white")
            if _software_gl(self.plotter):
                self.plotter.ren_win.SetMultiSamples(0)  # MSAA costs 3x per frame on llvmpipe
            panel = QtWidgets.QWidget()
            lay = QtWidgets.QVBoxLayout(panel)
            splitter.addWidget(panel)
            splitter.addWidget(self.plotter.interactor)
            splitter.setStretchFactor(1, 4)
            self.setCentralWidget(splitter)

            # layers
            box = QtWidgets.QGroupBox("Layers")
            grid = QtWidgets.QGridLayout(box)
            self.layer_checks: dict[str, Any] = {}
            self.opacity_sliders: dict[str, Any] = {}
            for row, (name, layer) in enumerate(scene.layers.items()):
                cb = QtWidgets.QCheckBox(name)
                cb.setChecked(layer.visible)
                cb.toggled.connect(lambda on, n=name: self.set_layer_visible(n, on))
                sl = QtWidgets.QSlider(QtCore.Qt.Horizontal)
                sl.setRange(0, 100)
                sl.setValue(int(round(layer.opacity * 100)))
                sl.valueChanged.connect(lambda v, n=name: self.set_opacity(n, v / 100.0))
                grid.addWidget(cb, row, 0)
                grid.addWidget(sl, row, 1)
                self.layer_checks[name] = cb
                self.opacity_sliders[name] = sl
            lay.addWidget(box)

            # colour by
            lay.addWidget(QtWidgets.QLabel("Colour buildings by"))
            self.color_combo = QtWidgets.QComboBox()
            if "buildings" in scene.layers:
                self.color_combo.addItems(["(none)", "surface_type", *[
                    o for o in scene.color_options("buildings") if o != "surface_type"]])
                cur = scene.layers["buildings"].scalars
                cur = "surface_type" if cur == "surface_type_rgb" else cur
                self.color_combo.setCurrentText(cur or "(none)")
            self.color_combo.currentTextChanged.connect(self._on_color)
            lay.addWidget(self.color_combo)

            # LoD of the buildings (needs the model to rebuild the merged mesh)
            self.lod_combo = QtWidgets.QComboBox()
            if model is not None and "buildings" in scene.layers:
                lods = sorted({str(g.get("lod")) for o in model.city_objects.values()
                               if o.get("type") in ("Building", "BuildingPart")
                               for g in (o.get("geometry") or []) if g.get("lod") is not None})
                self.lod_combo.addItems(["highest", *lods])
                self.lod_combo.setCurrentText(scene.lod or "highest")
                self.lod_combo.currentTextChanged.connect(
                    lambda t: self.set_lod(None if t == "highest" else t))
                lay.addWidget(QtWidgets.QLabel("Buildings LoD"))
                lay.addWidget(self.lod_combo)

            # time slider
            self.time_label = QtWidgets.QLabel("hour: -")
            self.time_slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
            self.time_slider.setEnabled(False)
            self.time_slider.valueChanged.connect(self._on_time)
            lay.addWidget(self.time_label)
            lay.addWidget(self.time_slider)

            # cameras + screenshot
            cams = QtWidgets.QGroupBox("Camera")
            cl = QtWidgets.QGridLayout(cams)
            for i, preset in enumerate(CAMERA_PRESETS):
                b = QtWidgets.QPushButton(preset)
                b.clicked.connect(lambda _=False, p=preset: self.set_camera(p))
                cl.addWidget(b, i // 2, i % 2)
            lay.addWidget(cams)
            shot = QtWidgets.QPushButton("Screenshot…")
            shot.clicked.connect(self._on_screenshot)
            lay.addWidget(shot)

            # picked attributes
            lay.addWidget(QtWidgets.QLabel("Picked (click a building or zone)"))
            self.info = QtWidgets.QTableWidget(0, 2)
            self.info.setHorizontalHeaderLabels(["attribute", "value"])
            self.info.horizontalHeader().setStretchLastSection(True)
            lay.addWidget(self.info, stretch=1)

            self.actors: dict[str, Any] = {}
            self.last_pick: dict[str, Any] | None = None
            self._refresh(reset_camera=False)
            apply_camera(self.plotter, scene, camera)
            self._draw_furniture()
            self.plotter.iren.add_observer("LeftButtonPressEvent", self._on_click)
            self.plotter.iren.add_observer("EndInteractionEvent", lambda *_: self._draw_furniture())

        # ------------------------------------------------------------- drawing
        def _refresh(self, reset_camera: bool = False) -> None:
            cam = self.plotter.camera_position if not reset_camera else None
            self.plotter.clear_actors()
            for t in list(self.plotter.scalar_bars.keys()):
                self.plotter.remove_scalar_bar(t, render=False)
            if self.plotter.legend is not None:
                self.plotter.remove_legend(render=False)
            self.actors = add_scene(self.plotter, self.scene)
            if cam is not None:
                self.plotter.camera_position = cam
            self._draw_furniture()

        def _draw_furniture(self) -> None:
            """North arrow, scale bar (map view) and zone names for the current camera, as in
            renders (the named actors replace the previous ones)."""
            self.furniture = add_map_furniture(self.plotter, self.scene)
            if self.furniture.get("scale_bar") is None:
                for name in ("scale_bar", "scale_bar_label"):
                    self.plotter.remove_actor(name, render=False)
            self.plotter.render()

        # ------------------------------------------------------------- API
        def layer_names(self) -> list[str]:
            return list(self.scene.layers)

        def set_layer_visible(self, name: str, visible: bool) -> None:
            """Show or hide a layer (also ticks its box in the panel)."""
            layer = self.scene._layer(name)
            layer.visible = bool(visible)
            cb = self.layer_checks[name]
            if cb.isChecked() != layer.visible:
                cb.blockSignals(True)
                cb.setChecked(layer.visible)
                cb.blockSignals(False)
            self.actors[name].SetVisibility(layer.visible)
            self.plotter.render()

        def is_layer_visible(self, name: str) -> bool:
            return bool(self.actors[name].GetVisibility())

        def set_opacity(self, name: str, opacity: float) -> None:
            """Opacity of a layer, 0..1."""
            layer = self.scene._layer(name)
            layer.opacity = float(np.clip(opacity, 0.0, 1.0))
            self.actors[name].GetProperty().SetOpacity(layer.opacity)
            self.plotter.render()

        def set_color(self, name: str | None, layer: str = "buildings") -> None:
            """Colour a layer by an attribute (None: solid colour); updates the legend."""
            self.scene.color_by(name, layer)
            series = layer == "buildings" and name in self.scene.series
            self.time_slider.setEnabled(bool(series))
            if series:
                n = self.scene.series[name].shape[1]
                self.time_slider.blockSignals(True)
                self.time_slider.setRange(0, n - 1)
                self.time_slider.setValue(self.scene.time_index.get(name, 0))
                self.time_slider.blockSignals(False)
                self.time_label.setText(f"hour: {self.scene.time_index.get(name, 0)} / {n - 1}")
            if layer == "buildings":
                text = name or "(none)"
                if self.color_combo.currentText() != text:
                    self.color_combo.blockSignals(True)
                    self.color_combo.setCurrentText(text)
                    self.color_combo.blockSignals(False)
            self._refresh()

        def set_lod(self, lod: str | None) -> None:
            """Show the buildings at another LoD ("1.2", "2.2"; None: highest per building)."""
            from viewer.scene import set_building_lod

            if self.model is None:
                raise InputError("the window was opened without its model: the LoD cannot change")
            set_building_lod(self.scene, self.model, lod)
            self._refresh()

        def set_time(self, index: int) -> None:
            """Show hour ``index`` of the hourly series the buildings are coloured by."""
            name = self.scene.layers["buildings"].scalars
            if name not in self.scene.series:
                raise InputError("the buildings are not coloured by an hourly series; "
                                 f"series: {', '.join(self.scene.series) or '(none)'}")
            self.scene.set_time(name, index)
            self.time_slider.blockSignals(True)
            self.time_slider.setValue(int(index))
            self.time_slider.blockSignals(False)
            self.time_label.setText(f"hour: {index} / {self.scene.series[name].shape[1] - 1}")
            self._refresh()

        def set_camera(self, preset: str) -> None:
            apply_camera(self.plotter, self.scene, preset)
            self._draw_furniture()
            self.plotter.render()

        def pick_building(self, key: int | str) -> dict[str, Any]:
            """Select a building by id or index; show and return its attributes."""
            info = self.scene.building_info(key)
            self._show_info(info)
            return info

        def pick_at(self, x: int, y: int) -> dict[str, Any] | None:
            """Pick what is under display position ``(x, y)`` (pixels from the bottom left)."""
            import vtk

            picker = vtk.vtkCellPicker()
            picker.SetTolerance(0.0005)
            if not picker.Pick(x, y, 0, self.plotter.renderer):
                return None
            actor = picker.GetActor()
            name = next((n for n, a in self.actors.items() if a is actor), None)
            if name is None or picker.GetCellId() < 0:
                return None
            info = self.scene.info_for_cell(name, picker.GetCellId())
            info = {"layer": name, **info}
            self._show_info(info)
            return info

        def pick_world(self, xyz) -> dict[str, Any] | None:
            """Pick what is drawn at the local point ``xyz`` [m] (projects it to the display)."""
            ren = self.plotter.renderer
            ren.SetWorldPoint(*map(float, xyz), 1.0)
            ren.WorldToDisplay()
            dx, dy, _ = ren.GetDisplayPoint()
            return self.pick_at(int(round(dx)), int(round(dy)))

        def screenshot(self, path: str | os.PathLike, overwrite: bool = False) -> np.ndarray:
            """Save the current view as PNG (atomically) and return the image."""
            from viewer.render import save_png

            img = self.plotter.screenshot(return_img=True)
            save_png(img, path, overwrite=overwrite)
            return img

        # ------------------------------------------------------------- slots
        def _show_info(self, info: dict[str, Any]) -> None:
            self.last_pick = info
            self.info.setRowCount(len(info))
            for r, (k, v) in enumerate(info.items()):
                self.info.setItem(r, 0, QtWidgets.QTableWidgetItem(str(k)))
                txt = f"{v:.4g}" if isinstance(v, float) else str(v)
                self.info.setItem(r, 1, QtWidgets.QTableWidgetItem(txt))

        def _on_click(self, obj, _event) -> None:
            x, y = obj.GetEventPosition()
            self.pick_at(x, y)

        def _on_color(self, text: str) -> None:
            try:
                self.set_color(None if text == "(none)" else text)
            except InputError as exc:
                QtWidgets.QMessageBox.warning(self, "Colour by", str(exc))

        def _on_time(self, value: int) -> None:
            self.set_time(value)

        def _on_screenshot(self) -> None:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save screenshot", "view.png", "PNG (*.png)")
            if path:
                self.screenshot(path, overwrite=True)

        def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
            self.plotter.close()
            super().closeEvent(event)

    return _ViewerWindow


def ViewerWindow(scene: Scene, title: str = "citymodel viewer", camera: str = "overview",  # noqa: N802
                 model=None):
    """Create the viewer window (a QMainWindow) for ``scene``; a QApplication must exist.

    Methods: ``set_layer_visible(name, bool)``, ``is_layer_visible(name)``,
    ``set_opacity(name, 0..1)``, ``set_color(attr, layer="buildings")``, ``set_time(hour)``,
    ``set_camera(preset)``, ``set_lod(lod)`` (with ``model``), ``pick_building(id or index)``, ``pick_at(x, y)``,
    ``pick_world(xyz)``, ``screenshot(path)``.

    Raises
    ------
    DisplayError
        No display (see :func:`check_display`).
    """
    check_display()
    return _make_window_class()(scene, title=title, camera=camera, model=model)


def run_app(scene: Scene, *, model=None, title: str = "citymodel viewer") -> int:
    """Open the viewer window on ``scene`` and run the Qt event loop until it is closed."""
    check_display()
    _, QtWidgets = _qt()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = ViewerWindow(scene, title=title, model=model)
    win.show()
    return int(app.exec_() if hasattr(app, "exec_") else app.exec())
