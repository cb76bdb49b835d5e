"""The synthetic district (citymodel.synth) through the viewer and the civic layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyvista")
synth = pytest.importorskip("citymodel.synth")


@pytest.fixture(scope="module")
def district():
    from citymodel.civic import Zones
    from citymodel.synth.vectors import zone_records

    d = synth.make_district(seed=3, size_m=150.0)
    model = synth.district_to_citymodel(d)
    zg, zf = zone_records(d, np.random.default_rng(0))
    zones = Zones(np.asarray(zg, dtype=object), pd.DataFrame(zf), epsg=model.epsg)
    return model, zones


def test_scene_layers_of_the_district(district):
    from viewer.scene import build_scene

    model, zones = district
    scene = build_scene(model, color="h_roof_70p_m", zones=zones)
    assert {"buildings", "terrain", "trees", "zones"} <= set(scene.layers)
    oi = np.asarray(scene.layers["buildings"].mesh.cell_data["object_index"])
    assert len(np.unique(oi)) == len(model.building_ids())  # every building is drawn
    # draped zones keep their plan areas exactly (they tile the district square)
    flat = scene.layers["zones"].mesh.copy()
    flat.points[:, 2] = 0.0
    area = flat.compute_cell_sizes()["Area"].sum()
    assert area == pytest.approx(zones.area_m2.sum(), rel=1e-6)
    assert scene.layers["zones"].scalars == "fragility_index"


def test_render_district_not_blank_with_legend(district):
    from viewer.render import offscreen_backend, offscreen_plotter
    from viewer.scene import build_scene

    offscreen_backend()
    model, zones = district
    scene = build_scene(model, color="h_roof_70p_m", zones=zones)
    p = offscreen_plotter(scene, camera="overview", window_size=(640, 400))
    img = p.screenshot(return_img=True)
    bars = sorted(p.scalar_bars.keys())
    p.close()
    assert (img.reshape(-1, 3) != 255).any(axis=1).mean() > 0.2
    assert bars == ["Fragility index", "Roof elevation (70th percentile) [m]"]
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 200  # shaded, coloured, not flat


def test_zonal_stats_and_equity_on_the_district(district):
    from citymodel.civic import equity, zonal_stats

    model, zones = district
    f = zonal_stats(model, zones)
    assert f["n_buildings"].sum() == len(model.building_ids())  # zones tile the district
    assert f.attrs["unassigned_buildings"] == 0
    # zone tables show heights above ground (roof elevation minus ground), never elevations
    assert "h_roof_70p_m" not in f.columns and "construction_year" not in f.columns
    eq = equity(f, "fragility_index", indicators=["roof_height_70p_above_ground_m", "footprint_area_m2"])
    assert eq["n_fragile"].min() >= 1 and eq["n_rest"].min() >= 1
    assert np.all(np.abs(eq["concentration_index"]) <= 1)
