"""3D point-to-model distance behind the ``rmse_lod*_m`` attributes (analytic cases)."""

import numpy as np
import pytest
import shapely

from lidar.reconstruct.distance import point_shell_distance_m, shell_triangles
from lidar.reconstruct.lod12 import lod12_shell


@pytest.fixture(scope="module")
def box():
    """A 10 x 6 m prism from z = 0 to z = 5 m (one LoD1.2 shell)."""
    shell, _ = lod12_shell(shapely.box(0.0, 0.0, 10.0, 6.0), 5.0, 0.0)
    return shell


def test_triangles_cover_the_surface(box):
    v, t = shell_triangles([box])
    a = 0.5 * np.linalg.norm(np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]), axis=1)
    assert a.sum() == pytest.approx(2 * 60.0 + 2 * 50.0 + 2 * 30.0, rel=1e-12)


@pytest.mark.parametrize(
    ("point", "expected_m"),
    [
        ((5.0, 3.0, 5.7), 0.7),  # above the roof
        ((5.0, 3.0, 4.2), 0.8),  # under the roof, far from the walls
        ((0.3, 3.0, 2.0), 0.3),  # inside, beside a wall: the wall is nearest
        ((-1.0, 3.0, 5.0), 1.0),  # outside, level with the roof edge
        ((-3.0, -4.0, 5.0), 5.0),  # nearest to a vertical edge: sqrt(3^2 + 4^2)
        ((13.0, 10.0, 17.0), 13.0),  # nearest to a corner: sqrt(3^2 + 4^2 + 12^2)
    ],
)
def test_distance_to_a_box(box, point, expected_m):
    d = point_shell_distance_m(np.array([point]), [box])
    assert d[0] == pytest.approx(expected_m, abs=1e-9)


def test_two_parts_take_the_nearer(box):
    low, _ = lod12_shell(shapely.box(10.0, 0.0, 16.0, 6.0), 2.0, 0.0)
    # beside the 3 m step between the two parts, 0.2 m into the low part, at the high roof:
    # the step wall is 0.2 m away, the low roof 3 m below
    d = point_shell_distance_m(np.array([[10.2, 3.0, 4.5]]), [box, low])
    assert d[0] == pytest.approx(0.2, abs=1e-9)
    d_low_only = point_shell_distance_m(np.array([[10.2, 3.0, 4.5]]), [low])
    assert d_low_only[0] == pytest.approx(2.5, abs=1e-9)


def test_bad_shape_is_named(box):
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        point_shell_distance_m(np.zeros((4, 2)), [box])
