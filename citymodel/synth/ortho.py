"""A true orthophoto (RGB + near infrared) rendered top-down from the scene mesh.

One vertical ray per pixel finds the visible surface; its colour is the material's reflectance
in four bands times Lambert shading on the surface normal under a fixed sun, with cast shadows
from a second ray towards the sun. Vegetation reflects strongly in the near infrared and weakly
in red, roofs and paving about equally, so NDVI separates them as in real imagery.

Roofs of different age and make are not one colour: each building's roof gets its own tint, a
brightness factor (standard deviation 6 %) times a per-band factor (standard deviation 5 % in
red, green and blue; NIR follows their mean), drawn first from the orthophoto's generator
(deterministic from the seed). Other surfaces keep a small per-object brightness tint.
"""

from __future__ import annotations

import os

import numpy as np

from citymodel._fileutil import atomic_path
from citymodel.errors import InputError
from citymodel.synth.materials import ground_materials
from citymodel.synth.mesh import CROWN, ROOF, SHRUB, SUPER, TERRAIN, TRUNK, WALL, SceneMesh
from citymodel.synth.scene import District

__all__ = ["render_ortho", "write_ortho", "roof_tints", "SUN_AZIMUTH_DEG", "SUN_ELEVATION_DEG", "ALBEDO_RGBN"]

SUN_AZIMUTH_DEG = 160.0
SUN_ELEVATION_DEG = 52.0
#: Reflectance (red, green, blue, nir) per material.
ALBEDO_RGBN = {
    "asphalt": (0.16, 0.16, 0.17, 0.19),
    "paving": (0.40, 0.38, 0.35, 0.42),
    "lawn": (0.07, 0.20, 0.05, 0.50),
    "tiles": (0.50, 0.27, 0.19, 0.47),
    "concrete": (0.46, 0.46, 0.44, 0.48),
    "gravel": (0.30, 0.29, 0.28, 0.32),
    "wall": (0.55, 0.50, 0.42, 0.55),
    "leaf": (0.05, 0.13, 0.04, 0.45),
    "shrub": (0.06, 0.16, 0.05, 0.42),
    "bark": (0.20, 0.15, 0.10, 0.30),
}
_MATS = list(ALBEDO_RGBN)
_ALB = np.array([ALBEDO_RGBN[m] for m in _MATS])


def _m(name: str) -> int:
    return _MATS.index(name)


#: Standard deviation of the per-roof brightness factor and of its per-band (R, G, B) factors.
ROOF_TINT_BRIGHTNESS_SD = 0.06
ROOF_TINT_BAND_SD = 0.05


def roof_tints(n_buildings: int, rng: np.random.Generator) -> np.ndarray:
    """Per-building roof tint ``(n_buildings, 4)``: multiplicative factors on (R, G, B, NIR)."""
    bright = rng.normal(1.0, ROOF_TINT_BRIGHTNESS_SD, (n_buildings, 1))
    band = rng.normal(1.0, ROOF_TINT_BAND_SD, (n_buildings, 3))
    band = np.column_stack([band, band.mean(axis=1)])
    return np.clip(bright * band, 0.6, 1.4)


def _shade_pixels(x, y, ground, scene, mesh: SceneMesh, ztop: float, roof_mat, sun, rng,
                  roof_tint=None) -> np.ndarray:
    """Reflectance ``(k, 4)`` of the pixels with local centres ``x, y``."""
    o = np.column_stack([x, y, np.full(x.size, ztop)]).astype(np.float32)
    d = np.zeros((x.size, 3), np.float32)
    d[:, 2] = -1.0
    res = scene.run(o, d, output=1)
    prim = res["primID"].astype(np.int64)
    hit = prim >= 0
    prim_safe = np.where(hit, prim, 0)
    kind = np.where(hit, mesh.kind[prim_safe], TERRAIN)
    obj = mesh.obj[prim_safe]
    z = np.where(hit, ztop - res["tfar"].astype(np.float64), 0.0)
    normal = mesh.normal[prim_safe]
    normal[~hit] = (0, 0, 1)
    normal[normal[:, 2] < 0] *= -1
    mat = ground.astype(np.int64)
    rm = (kind == ROOF) | (kind == SUPER)
    mat[rm] = roof_mat[obj[rm]]
    mat[kind == WALL] = _m("wall")
    mat[kind == CROWN] = _m("leaf")
    mat[kind == SHRUB] = _m("shrub")
    mat[kind == TRUNK] = _m("bark")
    lam = np.clip(normal @ sun, 0.0, 1.0)
    # cast shadows: a ray from the surface towards the sun
    p = (np.column_stack([x, y, z]) + 0.05 * normal).astype(np.float32)
    rs = scene.run(p, np.tile(sun, (x.size, 1)).astype(np.float32), output=1)
    shadow = rs["primID"] >= 0
    # leaves scatter light inside the crown: soften their shading
    leafy = (kind == CROWN) | (kind == SHRUB)
    direct = np.where(shadow, 0.0, lam)
    direct = np.where(leafy, 0.5 * direct + 0.25, direct)
    shade = 0.30 + 0.85 * direct
    # texture: per-object tint and per-pixel grain
    tint = 1.0 + 0.08 * np.sin(obj * 12.9898 + kind * 78.233)
    grain = rng.normal(1.0, 0.06, x.size)
    alb = _ALB[mat]
    if roof_tint is not None:
        alb = alb.copy()
        alb[rm] *= roof_tint[obj[rm]]
        tint = np.where(rm, 1.0, tint)
    return alb * (shade * tint * grain)[:, None]


def render_ortho(
    district: District, mesh: SceneMesh, *, resolution_m: float = 0.25, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Render the orthophoto.

    Parameters
    ----------
    district : District
    mesh : SceneMesh
    resolution_m : float
        Pixel size [m].
    rng : numpy.random.Generator
        Texture noise.

    Returns
    -------
    image : (4, rows, cols) uint8
        Red, green, blue, near infrared; row 0 is the north edge.
    bounds : (xmin, ymin, xmax, ymax)
        Projected extent [m].
    """
    if not (np.isfinite(resolution_m) and 0.05 <= resolution_m <= 10):
        raise InputError(f"synth: ortho resolution {resolution_m} m is out of range; use 0.05 to 10 m")
    S = district.size_m
    n = int(round(S / resolution_m))
    h = S / 2
    scene = mesh.embree()
    ztop = float(mesh.triangles[:, :, 2].max()) + 10.0
    ground = ground_materials(district, S / n).codes
    roof_mat = np.array([_m(b.roof_material) if b.roof_material in ALBEDO_RGBN else _m("concrete")
                         for b in district.buildings] or [0])
    roof_tint = roof_tints(roof_mat.size, rng)
    az, el = np.radians(SUN_AZIMUTH_DEG), np.radians(SUN_ELEVATION_DEG)
    sun = np.array([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)])
    c = -h + (np.arange(n) + 0.5) * resolution_m
    img = np.empty((4, n, n), np.uint8)
    rows_per_chunk = max(1, 2**19 // n)
    for r0 in range(0, n, rows_per_chunk):
        r1 = min(n, r0 + rows_per_chunk)
        X, Y = np.meshgrid(c, c[::-1][r0:r1])
        refl = _shade_pixels(X.ravel(), Y.ravel(), ground[r0:r1].ravel(), scene, mesh, ztop, roof_mat, sun, rng,
                              roof_tint)
        img[:, r0:r1, :] = np.clip(refl * 255.0 / 0.7, 0, 255).astype(np.uint8).reshape(r1 - r0, n, 4).transpose(2, 0, 1)
    b = district.bounds
    return img, (b[0], b[1], b[2], b[3])


def write_ortho(
    image: np.ndarray, bounds: tuple[float, float, float, float], epsg: int, path: str | os.PathLike,
    *, overwrite: bool = False,
) -> None:
    """Write a ``(4, rows, cols)`` uint8 RGBN image as a tiled, deflate-compressed GeoTIFF."""
    import rasterio
    from affine import Affine
    from rasterio.enums import ColorInterp

    _, rows, cols = image.shape
    transform = Affine((bounds[2] - bounds[0]) / cols, 0.0, bounds[0], 0.0, -(bounds[3] - bounds[1]) / rows, bounds[3])
    profile = {
        "driver": "GTiff", "width": cols, "height": rows, "count": 4, "dtype": "uint8",
        "crs": f"EPSG:{int(epsg)}", "transform": transform, "compress": "deflate",
        "tiled": True, "blockxsize": 256, "blockysize": 256, "photometric": "MINISBLACK",
    }
    with atomic_path(path, overwrite=overwrite) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(image)
            dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.undefined]
            for i, name in enumerate(("red", "green", "blue", "nir"), start=1):
                dst.set_band_description(i, name)
