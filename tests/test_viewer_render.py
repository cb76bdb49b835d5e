"""Scenes and off-screen renders: merged meshes, colours at known pixels, legend, cameras."""

from __future__ import annotations

import numpy as np
import pytest

pv = pytest.importorskip("pyvista")

from citymodel.errors import InputError  # noqa: E402
from viewer.boxes import box_model  # noqa: E402

from .conftest import shared_path  # noqa: E402


@pytest.fixture(scope="module")
def two_boxes():
    """Two 10 x 10 m boxes 20 m apart; t_surface_c 20 (min) and 40 (max)."""
    return box_model(
        [[0.0, 0.0], [30.0, 0.0]], [[10.0, 10.0], [40.0, 10.0]], [10.0, 20.0],
        attributes={"t_surface_c": [20.0, 40.0], "t_surface_c_delta": [-3.0, 1.0]},
    )


@pytest.fixture(scope="module")
def backend():
    from viewer.render import offscreen_backend

    return offscreen_backend()


def test_building_mesh_is_merged_with_per_cell_scalars(two_boxes):
    from viewer.scene import build_scene

    scene = build_scene(two_boxes, color="t_surface_c")
    mesh = scene.layers["buildings"].mesh
    assert isinstance(mesh, pv.PolyData)
    assert mesh.n_cells == 2 * 6 * 2  # 6 quads per box, 2 triangles each
    assert mesh.is_all_triangles
    oi = np.asarray(mesh.cell_data["object_index"])
    np.testing.assert_array_equal(np.bincount(oi), [12, 12])
    vals = np.asarray(mesh.cell_data["t_surface_c"])
    np.testing.assert_array_equal(np.unique(vals[oi == 0]), [20.0])
    np.testing.assert_array_equal(np.unique(vals[oi == 1]), [40.0])
    # surface types: 2 ground, 2 roof, 8 wall triangles per box
    st = np.asarray(mesh.cell_data["surface_type"])
    assert np.bincount(st, minlength=4)[1:4].tolist() == [4, 16, 4]
    # exact area of the merged mesh: per box 2*100 + 4*10*h
    area = mesh.compute_cell_sizes()["Area"].sum()
    assert area == pytest.approx(2 * 100 + 40 * 10 + 2 * 100 + 40 * 20, rel=1e-9)
    lay = scene.layers["buildings"]
    assert lay.label == "Surface temperature [°C]" and lay.cmap == "inferno" and lay.clim == (20.0, 40.0)


def test_diverging_colormap_for_delta(two_boxes):
    from viewer.scene import build_scene

    lay = build_scene(two_boxes, color="t_surface_c_delta").layers["buildings"]
    assert lay.cmap == "RdBu_r"
    assert lay.clim == (-3.0, 3.0)  # symmetric around zero


def test_unknown_attribute_lists_existing(two_boxes):
    from viewer.scene import build_scene

    with pytest.raises(InputError, match=r"no numeric attribute 'nope'.*height_m, t_surface_c"):
        build_scene(two_boxes, color="nope")


def test_known_pixels_have_colormap_ends(two_boxes, backend):
    import matplotlib

    from viewer.render import offscreen_plotter, project_points
    from viewer.scene import build_scene

    scene = build_scene(two_boxes, color="t_surface_c")
    p = offscreen_plotter(scene, camera="top", window_size=(600, 400), lighting=False)
    img = p.screenshot(return_img=True)
    roofs = np.array([[5.0, 5.0, 10.0], [35.0, 5.0, 20.0]]) - scene.origin
    px = project_points(p, roofs)
    p.close()
    cmap = matplotlib.colormaps["inferno"]
    lo = np.round(np.asarray(cmap(0.0)[:3]) * 255)
    hi = np.round(np.asarray(cmap(1.0)[:3]) * 255)
    for (r, c), want in zip(px, (lo, hi), strict=True):
        got = img[r - 2 : r + 3, c - 2 : c + 3].reshape(-1, 3).astype(float)
        assert np.abs(got - want).max() <= 3, (r, c, got[0], want)
    # the gap between the boxes is background (white)
    mid = project_points_mid = px.mean(axis=0).astype(int)
    assert (img[mid[0], mid[1]] == 255).all(), project_points_mid


def test_render_not_blank_and_legend_present(two_boxes, backend, tmp_path):
    import matplotlib
    import matplotlib.image as mpimg

    from viewer.render import offscreen_plotter, render
    from viewer.scene import build_scene

    scene = build_scene(two_boxes, color="t_surface_c")
    out = tmp_path / "shot.png"
    img = render(scene, out, camera="overview", window_size=(640, 400))
    assert out.exists() and mpimg.imread(out).shape[:2] == (400, 640)
    nonwhite = (img.reshape(-1, 3) != 255).any(axis=1).mean()
    assert nonwhite > 0.02
    no_legend = render(scene, camera="overview", window_size=(640, 400), legend=False)
    # the colour bar is drawn in the lower right corner: it changes pixels there, and its
    # middle colour is the colour map's middle
    band = (slice(int(0.75 * 400), 400), slice(int(0.55 * 640), 640))
    assert (img[band] != no_legend[band]).any(axis=2).mean() > 0.01
    midc = np.round(np.asarray(matplotlib.colormaps["inferno"](0.5)[:3]) * 255)
    bar = img[band].reshape(-1, 3).astype(float)
    assert np.abs(bar - midc).max(axis=1).min() <= 8
    p = offscreen_plotter(scene, window_size=(320, 200))
    assert "Surface temperature [°C]" in p.scalar_bars.keys()
    p.close()
    with pytest.raises(FileExistsError):
        render(scene, out)


@pytest.mark.parametrize("camera", ["overview", "top", "street", "north", "south"])
def test_camera_presets_show_the_buildings(two_boxes, backend, camera):
    from viewer.render import render
    from viewer.scene import build_scene

    scene = build_scene(two_boxes, color="t_surface_c")
    img = render(scene, camera=camera, window_size=(320, 200), legend=False)
    drawn = (img != 255).any(axis=2)
    assert drawn.mean() > 0.01
    if camera == "top":
        # the orthographic top view shows exactly the two 10 x 10 m roofs (see _top_view_boxes)
        boxes, rim = _top_view_boxes(200, 320)
        assert abs(drawn.sum() - boxes.sum()) <= rim  # 4806 px expected, 4900 measured
        assert drawn[boxes].mean() > 0.97 and not drawn[~_grow(boxes, 2)].any()


def _top_view_boxes(height_px: int, width_px: int):
    """Pixels of the two_boxes roofs in the "top" preset, and the pixel count of their rim.

    The preset is an orthographic view down z whose half-height (VTK parallel scale) is
    0.5 * max(x extent, y extent) * 1.02 = 0.5 * 40 m * 1.02 = 20.4 m, centred on the bounds
    centre (20, 5): one pixel is 40.8 / height_px m. The roofs are x 0..10 and 30..40, y 0..10
    m: 2 x 100 m2 = 4806 px at 320 x 200 (7.5 % of the image).
    """
    px = 2 * 20.4 / height_px  # [m]
    x = 20.0 + (np.arange(width_px) + 0.5 - width_px / 2) * px  # pixel-centre x per column
    y = 5.0 - (np.arange(height_px) + 0.5 - height_px / 2) * px  # image rows go down
    inx = ((x >= 0) & (x <= 10)) | ((x >= 30) & (x <= 40))
    boxes = ((y >= 0) & (y <= 10))[:, None] & inx[None, :]
    rim = int(2 * 4 * 10 / px)  # one pixel around each roof's 40 m perimeter
    return boxes, rim


def _grow(mask: np.ndarray, n: int) -> np.ndarray:
    """``mask`` dilated by ``n`` pixels (square neighbourhood)."""
    out = mask.copy()
    for dr in range(-n, n + 1):
        for dc in range(-n, n + 1):
            out |= np.roll(np.roll(mask, dr, axis=0), dc, axis=1)
    return out


def test_unknown_camera(two_boxes):
    from viewer.render import apply_camera
    from viewer.scene import build_scene

    with pytest.raises(InputError, match="overview"):
        apply_camera(None, build_scene(two_boxes), "bird")


def test_trees_zones_and_raster_layers(two_boxes, tmp_path, backend):
    import rasterio
    import shapely
    from affine import Affine

    from citymodel.civic import Zones
    from viewer.render import render
    from viewer.scene import build_scene

    m = two_boxes.copy()
    idx = m.add_vertices([[20.0, 20.0, 0.0]])
    m.add_object("tree1", {"type": "SolitaryVegetationObject",
                           "attributes": {"height_m": 12.0, "crown_diameter_m": 6.0},
                           "geometry": [{"type": "MultiPoint", "lod": "1", "boundaries": [int(idx[0])]}]})
    tif = tmp_path / "tmrt_c.tif"
    data = np.arange(20 * 10, dtype=np.float32).reshape(10, 20)
    data[0, 0] = -9999
    with rasterio.open(tif, "w", driver="GTiff", width=20, height=10, count=1, dtype="float32",
                       crs="EPSG:28992", transform=Affine(2.5, 0, -5, 0, -2.5, 25), nodata=-9999) as ds:
        ds.write(data, 1)
    import pandas as pd

    zones = Zones(np.array([shapely.box(-5, -5, 20, 25), shapely.box(20, -5, 45, 25)]),
                  pd.DataFrame({"zone_id": [1, 2], "fragility_index": [0.2, 0.9]}), epsg=28992)
    scene = build_scene(m, color="t_surface_c", zones=zones, rasters=[tif])
    assert set(scene.layers) >= {"buildings", "trees", "tmrt_c", "zones", "zone_outlines"}
    trees = scene.layers["trees"].mesh
    b = trees.bounds
    assert b[5] == pytest.approx(12.0, abs=1e-6)  # top of the crown at the tree's height
    assert b[1] - b[0] == pytest.approx(6.0, rel=0.05)  # crown diameter
    r = scene.layers["tmrt_c"].mesh
    assert r.n_cells == 199  # one nodata cell left out
    assert np.nanmax(r.cell_data["tmrt_c"]) == 199.0
    zl = scene.layers["zones"]
    assert zl.scalars == "fragility_index" and zl.cmap == "OrRd"
    assert scene.zone_info(1)["fragility_index"] == pytest.approx(0.9)
    area = zl.mesh.compute_cell_sizes()["Area"].sum()
    assert area == pytest.approx(2 * 25 * 30, rel=1e-9)
    img = render(scene, camera="top", window_size=(320, 200))
    assert (img.reshape(-1, 3) != 255).any(axis=1).mean() > 0.3
    ext = build_scene(m, zones=zones, extrude_zones=True).layers["zones"].mesh
    assert ext.bounds[5] > 5.0  # extruded by fragility


def test_zones_far_away_are_refused(two_boxes):
    import pandas as pd
    import shapely

    from citymodel.civic import Zones
    from viewer.scene import build_scene

    far = Zones(np.array([shapely.box(1e5, 1e5, 1e5 + 10, 1e5 + 10)]), pd.DataFrame({"zone_id": [1]}),
                epsg=28992)
    with pytest.raises(InputError, match="do not overlap"):
        build_scene(two_boxes, zones=far)


@pytest.mark.shared_data
def test_3dbag_sample_per_lod(backend):
    from citymodel.io import read
    from viewer.render import render
    from viewer.scene import build_scene

    m = read(shared_path("cityjson_samples", "3dbag_multi_lod_10buildings.city.json"))
    cells = {}
    for lod in ("1.2", "2.2"):
        scene = build_scene(m, lod=lod)
        mesh = scene.layers["buildings"].mesh
        cells[lod] = mesh.n_cells
        assert len(np.unique(mesh.cell_data["object_index"])) == 10
        # LoD2.2 has semantic surfaces (coloured by type), LoD1.2 none (solid colour)
        want = "surface_type_rgb" if lod == "2.2" else None
        assert scene.layers["buildings"].scalars == want
    assert cells["2.2"] > cells["1.2"]
    img = render(build_scene(m, color="h_maaiveld"), camera="top", window_size=(320, 200))
    assert (img.reshape(-1, 3) != 255).any(axis=1).mean() > 0.005


def test_cli_render(two_boxes, tmp_path, cli_runner, backend):
    from citymodel.io import write

    src = tmp_path / "boxes.city.json"
    write(two_boxes, src)
    out = tmp_path / "shot.png"
    res = cli_runner("render", src, "--color", "t_surface_c", "--camera", "top", "--size", "320x200",
                     "--out", out)
    assert res.exit_code == 0, res.output
    from PIL import Image

    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (200, 320, 3)  # --size is width x height
    # the colour map covers the two roofs of the orthographic top view (the scalar bar adds
    # pixels of its own, so only the roof region and the gap between the roofs are checked)
    drawn = (img != 255).any(axis=2)
    boxes, _ = _top_view_boxes(200, 320)
    assert drawn[boxes].mean() > 0.97
    rows = np.flatnonzero(boxes.any(axis=1))
    gap = np.zeros_like(boxes)
    gap[rows[0]:rows[-1] + 1, :] = True
    gap &= ~_grow(boxes, 2)
    gap[:, :40] = gap[:, 280:] = False  # the margins left and right of the roofs
    from viewer.furniture import overlay_boxes
    from viewer.render import offscreen_plotter
    from viewer.scene import build_scene

    p = offscreen_plotter(build_scene(two_boxes, color="t_surface_c"), camera="top", window_size=(320, 200))
    for x0, y0, x1, y1 in overlay_boxes(p, p._furniture).values():  # legend, north arrow, scale bar
        gap[max(0, int(200 - y1) - 2) : int(200 - y0) + 2, max(0, int(x0) - 2) : int(x1) + 2] = False
    p.close()
    assert not drawn[gap].any()
    # the two roofs take the two ends of the colour map (20 and 40 C): different colours
    left, right = boxes.copy(), boxes.copy()
    left[:, 160:], right[:, :160] = False, False
    assert np.abs(img[left].mean(axis=0) - img[right].mean(axis=0)).max() > 50
    res = cli_runner("render", src, "--color", "nope", "--out", tmp_path / "x.png")
    assert res.exit_code == 1 and "t_surface_c" in res.output


@pytest.mark.shared_data
def test_set_building_lod_keeps_colouring():
    from citymodel.io import read
    from viewer.scene import build_scene, set_building_lod

    m = read(shared_path("cityjson_samples", "3dbag_multi_lod_10buildings.city.json"))
    scene = build_scene(m, color="h_maaiveld")
    n22 = scene.layers["buildings"].mesh.n_cells
    lay = set_building_lod(scene, m, "1.2")
    assert lay.mesh.n_cells < n22 and lay.scalars == "h_maaiveld" and scene.lod == "1.2"
    with pytest.raises(InputError, match="LoDs present: 1.2, 1.3, 2.2"):
        set_building_lod(scene, m, "3.0")
