"""lidar.pointcloud: headers, CRS, chunked reading, bad files (real Delft AHN3 tiles)."""

from __future__ import annotations

import shutil

import laspy
import numpy as np
import pytest
from pyproj import CRS

from citymodel.errors import CRSError, PointCloudError
from lidar.pointcloud import PointCloud, read_points, scan_las
from tests.conftest import shared_path

DELFT_BBOX = (84930.0, 447460.0, 85030.0, 447560.0)  # straddles the two tiles (x = 85000)


def _tiles():
    d = shared_path("delft_ahn3_bgt", "ahn3")
    return [d / "ahn3_cropped_1.laz", d / "ahn3_cropped_2.laz"]


def _write_las(path, xyz, epsg=None, classification=None):
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.floor(xyz.min(axis=0)) if len(xyz) else np.zeros(3)
    if epsg is not None:
        header.add_crs(CRS.from_epsg(epsg))
    las = laspy.LasData(header)
    las.x, las.y, las.z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    if classification is not None:
        las.classification = classification
    las.write(path)
    return path


@pytest.mark.shared_data
def test_scan_las_delft_headers():
    infos = scan_las(_tiles(), crs="EPSG:7415")
    assert [i.n_points for i in infos] == [640_510, 208_432]  # SOURCES.md
    assert all(i.epsg == 7415 and i.file_epsg is None for i in infos)
    assert infos[0].version == "1.2" and infos[0].point_format == 1 and infos[0].compressed
    assert infos[0].bounds[0] == pytest.approx(84808.3, abs=0.01)
    assert infos[1].bounds[2] == pytest.approx(85072.3, abs=0.01)
    assert infos[0].z_range[1] == pytest.approx(19.398, abs=0.01)


@pytest.mark.shared_data
def test_no_crs_names_the_option():
    tile = _tiles()[0]
    with pytest.raises(CRSError, match=r"--crs EPSG:XXXX") as exc:
        scan_las([tile])
    assert tile.name in str(exc.value) and "no CRS" in str(exc.value)


@pytest.mark.shared_data
def test_read_both_tiles_class_counts():
    pc = read_points(_tiles(), crs="EPSG:7415")
    assert len(pc) == 848_942
    counts = np.bincount(pc.classification, minlength=27)
    # SOURCES.md: classes 1/2/6/9/26 per tile, summed
    assert counts[1] == 196_137 + 86_308
    assert counts[2] == 195_988 + 87_130
    assert counts[6] == 246_753 + 33_312
    assert counts[9] == 267 + 568 and counts[26] == 1_365 + 1_114
    assert pc.epsg == 7415 and len(pc.sources) == 2
    infos = scan_las(_tiles(), crs="EPSG:7415")  # the headers' extents bound the points exactly
    assert pc.xyz[:, 2].min() == pytest.approx(min(i.z_range[0] for i in infos), abs=0.0005)
    assert pc.xyz[:, 0].max() == pytest.approx(max(i.bounds[2] for i in infos), abs=0.0005)
    assert pc.return_number.min() >= 1 and (pc.number_of_returns >= pc.return_number).all()


@pytest.mark.shared_data
def test_bbox_crop_matches_full_read_and_chunking():
    full = read_points(_tiles(), crs=7415)
    x, y = full.xyz[:, 0], full.xyz[:, 1]
    b = DELFT_BBOX
    inside = (x >= b[0]) & (x <= b[2]) & (y >= b[1]) & (y <= b[3])
    crop = read_points(_tiles(), crs=7415, bbox=b, chunk_size=50_000)
    assert len(crop) == int(inside.sum()) > 50_000
    np.testing.assert_array_equal(np.sort(crop.xyz[:, 2]), np.sort(full.xyz[inside, 2]))
    assert np.bincount(crop.classification).tolist() == np.bincount(full.classification[inside]).tolist()
    xmin, ymin, xmax, ymax = crop.bounds
    assert xmin >= b[0] and ymin >= b[1] and xmax <= b[2] and ymax <= b[3]
    # a bbox that misses every file reads nothing
    assert len(read_points(_tiles(), crs=7415, bbox=(0, 0, 10, 10))) == 0


@pytest.mark.shared_data
def test_truncated_empty_and_garbage_files(tmp_path):
    src = _tiles()[1]
    data = src.read_bytes()
    trunc = tmp_path / "truncated.laz"
    trunc.write_bytes(data[: len(data) // 2])
    with pytest.raises(PointCloudError, match="truncated.laz.*truncated"):
        read_points([trunc], crs=7415)
    head_only = tmp_path / "header_only.laz"
    head_only.write_bytes(data[:100])
    with pytest.raises(PointCloudError, match="header_only.laz"):
        scan_las([head_only], crs=7415)
    empty = tmp_path / "empty.laz"
    empty.write_bytes(b"")
    with pytest.raises(PointCloudError, match="empty.laz.*empty"):
        read_points([empty], crs=7415)
    garbage = tmp_path / "garbage.laz"
    garbage.write_bytes(b"this is not a LAS file at all" * 100)
    with pytest.raises(PointCloudError, match="garbage.laz"):
        scan_las([garbage], crs=7415)
    with pytest.raises(PointCloudError, match="not found"):
        scan_las([tmp_path / "missing.laz"], crs=7415)


@pytest.mark.shared_data
def test_corrupt_compressed_points(tmp_path):
    data = bytearray(_tiles()[1].read_bytes())
    rng = np.random.default_rng(3)
    pos = np.arange(4000, 400_000, 997)
    data[pos[0] : pos[-1] + 1 : 997] = rng.integers(0, 256, pos.size, dtype=np.uint8).tobytes()
    bad = tmp_path / "corrupt.laz"
    bad.write_bytes(bytes(data))
    with pytest.raises(PointCloudError, match="corrupt.laz"):
        read_points([bad], crs=7415)


def test_crs_from_file_mixed_and_conflicting(tmp_path):
    xyz = np.column_stack([np.linspace(0, 10, 50), np.linspace(0, 5, 50), np.zeros(50)]) + [1e5, 4e5, 0]
    a = _write_las(tmp_path / "a.las", xyz, epsg=28992)
    b = _write_las(tmp_path / "b.las", xyz, epsg=32631)
    no_points = _write_las(tmp_path / "none.las", np.zeros((0, 3)) + 1.0, epsg=28992)
    assert scan_las([a])[0].epsg == 28992
    # same horizontal CRS given with heights: the user's compound code wins
    assert scan_las([a], crs="EPSG:7415")[0].epsg == 7415
    with pytest.raises(CRSError, match="different CRSs"):
        scan_las([a, b])
    with pytest.raises(CRSError, match="EPSG:32631"):
        scan_las([a], crs="EPSG:32631")
    with pytest.raises(PointCloudError, match="none.las.*no points"):
        scan_las([no_points])
    pc = read_points([a], crs=None)
    assert len(pc) == 50 and pc.epsg == 28992
    np.testing.assert_allclose(pc.xyz, xyz, atol=0.0006)


def test_pointcloud_select_and_validation():
    xyz = np.arange(30, dtype=float).reshape(10, 3)
    pc = PointCloud.from_xyz(xyz, classification=np.arange(10) % 3, epsg=7415)
    sub = pc.select(pc.classification == 2)
    assert len(sub) == 3 and sub.epsg == 7415
    assert sub.bounds == (6.0, 7.0, 24.0, 25.0)
    with pytest.raises(PointCloudError, match="shape"):
        pc.select(np.ones(3, bool))
    with pytest.raises(PointCloudError, match="intensity"):
        PointCloud(xyz, np.ones(10), np.ones(10), np.ones(10), np.ones(4))
    both = PointCloud.concatenate([pc, sub])
    assert len(both) == 13


@pytest.mark.shared_data
def test_copy_of_real_tile_reads_the_same(tmp_path):
    src = _tiles()[1]
    dst = tmp_path / "copy.laz"
    shutil.copy2(src, dst)
    a = read_points([dst], crs=7415, chunk_size=100_000)
    assert len(a) == 208_432


def test_truncated_uncompressed_las(tmp_path):
    xyz = np.random.default_rng(0).uniform(0, 100, (1000, 3)) + [1e5, 4e5, 0]
    src = _write_las(tmp_path / "full.las", xyz, epsg=28992)
    data = src.read_bytes()
    cut = tmp_path / "cut.las"
    cut.write_bytes(data[:-3000])
    with pytest.raises(PointCloudError, match=r"cut.las.*1000 points"):
        scan_las([cut])
    assert len(read_points([src], progress=True)) == 1000


@pytest.mark.shared_data
def test_pdal_engine_needs_pdal():
    try:
        import pdal  # noqa: F401
    except ImportError:
        from citymodel.errors import MissingDependencyError

        with pytest.raises(MissingDependencyError, match="pdal"):
            read_points(_tiles()[1:], crs=7415, engine="pdal")
    else:  # PDAL installed: both engines give the same points
        a = read_points(_tiles()[1:], crs=7415, bbox=DELFT_BBOX)
        b = read_points(_tiles()[1:], crs=7415, bbox=DELFT_BBOX, engine="pdal")
        assert len(a) == len(b)


def test_auto_engine_falls_back_to_laspy(tmp_path, monkeypatch):
    """With PDAL importable but failing on a file, "auto" still reads it with laspy."""
    import lidar.pointcloud as pcmod

    rng = np.random.default_rng(1)
    xyz = rng.uniform(0, 10, (500, 3)) + [1000, 2000, 0]
    path = _write_las(tmp_path / "a.las", xyz, epsg=32632)

    def broken(info, bbox):
        raise PointCloudError(f"{info.path}: PDAL could not read the file (test)")

    monkeypatch.setattr(pcmod, "_pdal_importable", lambda: True)
    monkeypatch.setattr(pcmod, "_read_pdal", broken)
    pc = read_points(path)
    assert len(pc) == 500
    np.testing.assert_allclose(np.sort(pc.xyz[:, 0]), np.sort(xyz[:, 0]), atol=1e-3)
    with pytest.raises(PointCloudError, match="PDAL could not read"):
        read_points(path, engine="pdal")


@pytest.mark.shared_data
def test_class_filter():
    full = read_points(_tiles(), crs=7415, bbox=DELFT_BBOX)
    sub = read_points(_tiles(), crs=7415, bbox=DELFT_BBOX, classes=(2, 6))
    keep = np.isin(full.classification, [2, 6])
    assert len(sub) == int(keep.sum()) and set(np.unique(sub.classification)) == {2, 6}
    np.testing.assert_array_equal(np.sort(sub.xyz[:, 2]), np.sort(full.xyz[keep, 2]))
