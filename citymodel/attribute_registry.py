"""What each attribute the toolkit writes means: its kind, unit and label, in one place.

Zone tables, the demo report, legends and the viewer read labels, units and aggregation rules
from here instead of guessing from a name. The *kind* says how values of many buildings combine:

============== ================================================================================
kind           how a zone combines the buildings' values
============== ================================================================================
``extensive``  summed (areas, energies, powers, volumes, people)
``intensive``  mean weighted by floor area, else footprint area (kWh/m2, densities,
               temperatures, ratios, errors)
``height``     height above ground [m]: weighted mean, as ``intensive``
``elevation``  height above a vertical datum (e.g. NAP) [m]: never averaged into a zone table;
               ``h_roof_*`` elevations become heights above ground (minus ``h_ground_m``)
``count``      summed (numbers of things)
``identifier`` never averaged, summed or ranged (BAG ids, object ids)
``category``   never averaged (codes, classes, years of construction as a period)
``unknown``    a numeric attribute from a user's file: min, median and max, never a sum unless
               the user asks for it (``citymodel zones --sum FIELD``)
============== ================================================================================

Examples
--------
>>> attribute_info("h_roof_70p_m").kind
'elevation'
>>> label("heating_demand_kwh_m2")
'Heating demand per floor area [kWh/m²/a]'
>>> kind_of("some_user_field")
'unknown'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AttributeInfo",
    "KINDS",
    "REGISTRY",
    "attribute_info",
    "kind_of",
    "label",
    "unit",
    "height_above_ground_name",
]

KINDS = ("extensive", "intensive", "height", "elevation", "count", "identifier", "category", "unknown")


@dataclass(frozen=True)
class AttributeInfo:
    """One attribute: its name, kind (see the module table), unit and label in words.

    Attributes
    ----------
    name : str
        The attribute name as written in CityJSON / tables.
    kind : str
        One of :data:`KINDS`.
    unit : str
        Unit as shown to people ("m", "kWh/m²/a", "" when dimensionless or a code).
    label : str
        Plain-language name, capitalised, without the unit.
    description : str
        One sentence for tooltips and the report's glossary.
    """

    name: str
    kind: str
    unit: str
    label: str
    description: str = ""

    def title(self) -> str:
        """Label with the unit in brackets, for legends and table headers."""
        return f"{self.label} [{self.unit}]" if self.unit else self.label


def _a(name: str, kind: str, unit: str, lab: str, desc: str = "") -> AttributeInfo:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} for {name!r}")
    return AttributeInfo(name, kind, unit, lab, desc)


_ENTRIES = [
    # geometry and build (lidar/)
    _a("h_ground_m", "elevation", "m", "Ground elevation", "Ground height at the building above the datum."),
    _a("h_roof_min_m", "elevation", "m", "Lowest roof elevation", "Lowest roof point above the datum."),
    _a("h_roof_50p_m", "elevation", "m", "Median roof elevation", "Median roof point above the datum."),
    _a("h_roof_70p_m", "elevation", "m", "Roof elevation (70th percentile)",
       "70th percentile of roof points above the datum (3DBAG's LoD1.2 height)."),
    _a("h_roof_max_m", "elevation", "m", "Highest roof elevation", "Highest roof point above the datum."),
    _a("height_m", "height", "m", "Height above ground", "Building height above its ground."),
    _a("roof_height_50p_above_ground_m", "height", "m", "Median roof height above ground"),
    _a("roof_height_70p_above_ground_m", "height", "m", "Roof height above ground (70th percentile)"),
    _a("roof_height_max_above_ground_m", "height", "m", "Highest roof point above ground"),
    _a("roof_type", "category", "", "Roof type", "flat, multiple horizontal or slanted."),
    _a("rmse_lod12_m", "intensive", "m", "Fit error of the block model (RMSE LoD1.2)",
       "Root-mean-square distance of roof points to the LoD1.2 model."),
    _a("rmse_lod13_m", "intensive", "m", "Fit error of the stepped model (RMSE LoD1.3)"),
    _a("rmse_lod22_m", "intensive", "m", "Fit error of the roof-shape model (RMSE LoD2.2)",
       "Root-mean-square distance of roof points to the LoD2.2 roofs."),
    _a("point_density_pts_m2", "intensive", "pts/m²", "Point density", "LiDAR roof points per m² of footprint."),
    _a("status", "category", "", "Reconstruction status"),
    _a("status_reason", "category", "", "Reason for the status"),
    _a("footprint_area_m2", "extensive", "m²", "Footprint area"),
    _a("floor_area_m2", "extensive", "m²", "Floor area", "Heated floor area (storeys times footprint)."),
    _a("roof_area_m2", "extensive", "m²", "Roof area"),
    _a("volume_m3", "extensive", "m³", "Volume"),
    _a("zone_area_m2", "extensive", "m²", "Zone area"),
    _a("n_buildings", "count", "", "Number of buildings"),
    _a("storeys", "intensive", "", "Storeys above ground"),
    _a("storeys_above_ground", "intensive", "", "Storeys above ground"),
    _a("n_parts", "count", "", "Number of building parts"),
    _a("eave_height_m", "height", "m", "Eave height above ground"),
    _a("h_eave_m", "elevation", "m", "Eave elevation"),
    _a("construction_year", "category", "", "Year of construction"),
    # identifiers and categories from source files
    _a("identificatie", "identifier", "", "BAG identifier"),
    _a("bag_id", "identifier", "", "BAG identifier"),
    _a("fid", "identifier", "", "Feature id"),
    _a("id", "identifier", "", "Identifier"),
    _a("building_id", "identifier", "", "Building identifier"),
    _a("zone_id", "identifier", "", "Zone identifier"),
    _a("oorspronkelijk_bouwjaar", "category", "", "Year of construction"),
    _a("year_of_construction", "category", "", "Year of construction"),
    _a("yearOfConstruction", "category", "", "Year of construction"),
    _a("archetype", "category", "", "Building archetype"),
    _a("archetype_from", "category", "", "Where the archetype came from"),
    # solar (energy/solar)
    _a("irradiation_kwh_m2", "intensive", "kWh/m²/a", "Solar irradiation on the roof",
       "Yearly solar energy on the roof per m², shading included."),
    _a("pv_yield_kwh", "extensive", "kWh/a", "Photovoltaic yield", "Yearly electricity of PV on the usable roof."),
    _a("pv_kwp", "extensive", "kWp", "Photovoltaic peak power"),
    _a("pv_area_m2", "extensive", "m²", "Roof area usable for PV"),
    _a("specific_yield_kwh_kwp", "intensive", "kWh/kWp/a", "PV specific yield"),
    # energy (energy/demand)
    _a("heating_demand_kwh", "extensive", "kWh/a", "Heating demand"),
    _a("cooling_demand_kwh", "extensive", "kWh/a", "Cooling demand"),
    _a("heating_demand_kwh_m2", "intensive", "kWh/m²/a", "Heating demand per floor area"),
    _a("cooling_demand_kwh_m2", "intensive", "kWh/m²/a", "Cooling demand per floor area"),
    _a("overheating_hours", "intensive", "h/a", "Overheating hours",
       "Hours a year with the operative temperature above the comfort limit."),
    _a("delta_heating_kwh", "extensive", "kWh/a", "Change in heating demand"),
    _a("delta_cooling_kwh", "extensive", "kWh/a", "Change in cooling demand"),
    _a("delta_heating_pct", "intensive", "%", "Change in heating demand"),
    _a("delta_cooling_pct", "intensive", "%", "Change in cooling demand"),
    # heat (microclimate)
    _a("tmrt_c", "intensive", "°C", "Mean radiant temperature"),
    _a("tmrt_max_c", "intensive", "°C", "Highest mean radiant temperature"),
    _a("utci_c", "intensive", "°C", "Felt temperature (UTCI)",
       "Universal Thermal Climate Index: the air temperature that would feel the same."),
    _a("utci_max_c", "intensive", "°C", "Highest felt temperature (UTCI)"),
    _a("t_surface_c", "intensive", "°C", "Surface temperature"),
    _a("t_surface_max_c", "intensive", "°C", "Highest surface temperature"),
    _a("t_roof_max_c", "intensive", "°C", "Highest roof surface temperature"),
    _a("t_wall_max_c", "intensive", "°C", "Highest wall surface temperature"),
    _a("strong_heat_hours", "intensive", "h", "Hours of strong heat stress (UTCI above 32 °C)"),
    # civic layers
    _a("population", "extensive", "persons", "Residents"),
    _a("fragility_index", "intensive", "", "Fragility index"),
    _a("vulnerability_index", "intensive", "", "Vulnerability index"),
    # trees and green
    _a("crown_diameter_m", "intensive", "m", "Crown diameter"),
    _a("crown_base_m", "height", "m", "Crown base height above ground"),
    _a("area_m2", "extensive", "m²", "Area"),
]

#: Every attribute the toolkit knows, by name.
REGISTRY: dict[str, AttributeInfo] = {a.name: a for a in _ENTRIES}

_ELEVATION_TO_HEIGHT = {
    "h_roof_50p_m": "roof_height_50p_above_ground_m",
    "h_roof_70p_m": "roof_height_70p_above_ground_m",
    "h_roof_max_m": "roof_height_max_above_ground_m",
}


def attribute_info(name: str) -> AttributeInfo | None:
    """The registry entry of ``name``, or None for an attribute the toolkit does not write."""
    return REGISTRY.get(name)


def kind_of(name: str) -> str:
    """Kind of an attribute (see the module table); ``"unknown"`` for names not registered.

    A zone field prefixed ``buildings_`` (a building indicator renamed to avoid a clash) has
    the kind of the name without the prefix.
    """
    info = REGISTRY.get(name) or REGISTRY.get(name.removeprefix("buildings_"))
    return info.kind if info else "unknown"


def unit(name: str) -> str:
    """Unit shown to people, ``""`` when unknown or dimensionless."""
    info = REGISTRY.get(name)
    return info.unit if info else ""


def label(name: str, *, with_unit: bool = True) -> str:
    """Label in words for legends and tables, e.g. ``"Roof height above ground [m]"``.

    Unregistered names are turned into words ("my_field_m" -> "My field"), so no legend ever
    shows snake_case.
    """
    info = REGISTRY.get(name)
    if info is None:
        words = name.replace("_", " ").strip()
        return words[:1].upper() + words[1:] if words else name
    return info.title() if with_unit else info.label


def height_above_ground_name(elevation_name: str) -> str | None:
    """Name of the height above ground derived from a roof elevation (``h_roof_70p_m`` ->
    ``roof_height_70p_above_ground_m``), None when there is none."""
    return _ELEVATION_TO_HEIGHT.get(elevation_name)
