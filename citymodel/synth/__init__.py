"""Synthetic district generator with exact ground truth (issue 3).

``generate(out_dir)`` writes the truth CityJSON, CSV truth tables, an airborne LiDAR LAZ, building
footprints, an RGBN orthophoto and civic zones of one procedural district; ``make_district``
and ``district_to_citymodel`` give the same scene in memory for tests.

>>> from citymodel.synth import generate, make_district, district_to_citymodel
>>> out = generate("district", seed=7, size_m=400.0)  # doctest: +SKIP
>>> out.counts["points"], out.laz, out.truth_model  # doctest: +SKIP
>>> model = district_to_citymodel(make_district(seed=3, size_m=150.0))  # doctest: +SKIP
"""

from citymodel.synth.district import make_district, project_origin
from citymodel.synth.outputs import SynthOutputs, generate, generate_with_progress
from citymodel.synth.scene import ROOF_TYPES, USES, District
from citymodel.synth.truth import district_to_citymodel

__all__ = [
    "generate_with_progress",
    "make_district",
    "project_origin",
    "district_to_citymodel",
    "District",
    "generate",
    "SynthOutputs",
    "ROOF_TYPES",
    "USES",
]
