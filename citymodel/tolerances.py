"""Tolerances in one place (the way trimesh keeps ``constants.py``).

Every geometric comparison in the toolkit reads its tolerance from here.
"""

#: Smallest polygon or triangle area treated as non-degenerate [m2].
AREA_EPS_M2 = 1e-9
#: Tilt below which a surface counts as horizontal (its azimuth is set to 180) [deg].
HORIZONTAL_TILT_DEG = 1e-3
#: Two vertices closer than this are "repeated points" (val3dity 102) [m].
SNAP_TOL_M = 1e-3
#: Non-planarity: largest distance of a vertex to the polygon's fitted plane (val3dity 203) [m].
PLANARITY_TOL_M = 0.01
#: Non-planarity: largest angle between triangle normals of one polygon (val3dity 204) [deg].
PLANARITY_NORMALS_DEG = 20.0
#: Overlap volume between BuildingParts below which they are considered touching (601) [m3].
OVERLAP_TOL_M3 = 0.01
#: Penetration depth below which BuildingParts count as touching, not overlapping (601) [m].
OVERLAP_DEPTH_TOL_M = 0.01
