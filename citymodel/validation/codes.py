"""Validation codes: val3dity's geometric error codes and names, plus structure codes.

Geometry codes and names are val3dity's (``docs/errors.rst`` and ``errorcode2description`` in
tudelft3d/val3dity), so a report can be compared with val3dity's line by line. Structure codes
(the CityJSON 2.0 rules a JSON schema or cjval would check) have no val3dity equivalent; they
use the 1000 range so they never clash with val3dity's.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Code", "CODES", "name_of", "ERROR", "WARNING"]

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Code:
    """One validation code: number, val3dity-style name, severity and what it means."""

    code: int
    name: str
    severity: str
    meaning: str


_TABLE = (
    # -- ring (val3dity 1xx)
    Code(101, "TOO_FEW_POINTS", ERROR, "a ring has fewer than 3 points"),
    Code(102, "CONSECUTIVE_POINTS_SAME", ERROR, "two consecutive points of a ring are at the same location"),
    Code(104, "RING_SELF_INTERSECTION", ERROR,
         "a ring intersects itself (in its best-fit plane) or repeats a non-consecutive point"),
    # -- polygon (2xx)
    Code(203, "NON_PLANAR_POLYGON_DISTANCE_PLANE", ERROR,
         "a vertex lies farther than the planarity tolerance from the polygon's best-fit plane"),
    # -- shell (3xx)
    Code(301, "TOO_FEW_POLYGONS", ERROR, "a shell has fewer than 4 polygons"),
    Code(302, "SHELL_NOT_CLOSED", ERROR, "the shell has holes: some edges are used by only one polygon"),
    Code(303, "NON_MANIFOLD_VERTEX", ERROR, "the polygons around a vertex do not form one umbrella"),
    Code(304, "NON_MANIFOLD_EDGE", ERROR,
         "an edge is shared by more than two polygons, or a vertex lies inside another polygon's edge "
         "(T-junction), so the polygons cannot be stitched into one surface"),
    Code(305, "MULTIPLE_CONNECTED_COMPONENTS", ERROR,
         "the shell's polygons form several groups not connected by edges"),
    Code(307, "POLYGON_WRONG_ORIENTATION", ERROR,
         "polygons are not oriented counter-clockwise seen from outside the solid"),
    # -- building (6xx)
    Code(601, "BUILDINGPARTS_OVERLAP", ERROR, "the interiors of two BuildingParts (or Building and part) overlap"),
    # -- input (9xx)
    Code(901, "INVALID_INPUT_FILE", ERROR, "the file cannot be read as CityJSON"),
    Code(902, "EMPTY_PRIMITIVE", ERROR, "a geometry has no polygons"),
    # -- structure (CityJSON 2.0 rules; not val3dity codes)
    Code(1001, "INVALID_ROOT", ERROR, "a required root member is missing or has the wrong type"),
    Code(1002, "INVALID_CITYOBJECT", ERROR, "a city object is not an object, or a member has the wrong type"),
    Code(1003, "UNKNOWN_CITYOBJECT_TYPE", ERROR,
         "the city object type is not a CityJSON 2.0 type nor a '+Type' of a declared extension"),
    Code(1004, "INVALID_GEOMETRY_TYPE", ERROR, "the geometry type is not a CityJSON geometry type"),
    Code(1005, "INVALID_LOD", ERROR, "the LoD is missing or not a string like \"2\" or \"2.2\""),
    Code(1006, "INVALID_BOUNDARIES", ERROR, "boundaries are not nested as the geometry type requires"),
    Code(1007, "VERTEX_INDEX_OUT_OF_RANGE", ERROR, "a boundary refers to a vertex that does not exist"),
    Code(1008, "INVALID_SEMANTICS", ERROR,
         "semantic 'values' are not shaped like the boundaries, or refer to missing surfaces"),
    Code(1009, "PARENTS_CHILDREN_INCONSISTENT", ERROR,
         "parents/children refer to missing objects or are not mirrored both ways"),
    Code(1010, "INVALID_TEMPLATE_REFERENCE", ERROR,
         "a GeometryInstance refers to a missing template or has a bad transformation"),
    Code(1011, "MISSING_PARENT", ERROR, "a 2nd-level city object (e.g. BuildingPart) has no parent"),
    Code(1012, "UNKNOWN_SEMANTIC_TYPE", WARNING, "a semantic surface type is not a CityJSON 2.0 type"),
    Code(1013, "UNUSED_VERTICES", WARNING, "some vertices are not used by any geometry"),
    Code(1014, "DUPLICATE_VERTICES", WARNING, "some vertices appear more than once in the vertex list"),
)

#: Every code by number.
CODES: dict[int, Code] = {c.code: c for c in _TABLE}


def name_of(code: int) -> str:
    """val3dity-style name of a code (``"UNKNOWN_ERROR"`` for unknown codes, as val3dity does)."""
    c = CODES.get(int(code))
    return c.name if c else "UNKNOWN_ERROR"
