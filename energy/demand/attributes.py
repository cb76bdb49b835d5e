"""Construction year, use and storeys of real buildings, read from the names real files use.

Recognised attribute names (first present wins, unless a field is named explicitly):

===========  ================================================================================
quantity     names
===========  ================================================================================
year         ``construction_year`` (ours), ``oorspronkelijk_bouwjaar`` / ``oorspronkelijkbouwjaar``
             (3DBAG / BAG), ``yearOfConstruction`` (CityGML), ``start_date`` (OSM),
             ``bouwjaar``, ``year_built``
use          ``use`` (ours), ``gebruiksdoel`` (BAG), ``function`` / ``usage`` (CityGML),
             ``building`` / ``building:use`` (OSM)
storeys      ``storeysAboveGround`` (CityGML), ``storeys_above_ground``, ``b3_bouwlagen``
             (3DBAG), ``building:levels`` (OSM)
===========  ================================================================================

Use values are mapped to the archetype uses (``residential``, ``office``, ``commercial``,
``school``) or to ``unconditioned`` (sheds, garages: not simulated) by :data:`USE_VALUES`
(BAG ``gebruiksdoel`` values, OSM ``building=*`` values, English words) and, for numeric
CityGML/ALKIS ``function`` codes (``1000`` or ``31001_1000``), by :data:`ALKIS_CODE_RANGES`
(AdV ALKIS Gebaeudefunktion, as used by German LoD2 CityGML). OSM values also hint the TABULA
size class (``terrace`` -> TH, ``detached`` -> SFH, ...). Values that map to nothing are
counted and listed by the caller (they get the default use).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from citymodel.errors import InputError
from citymodel.model import CityModel

__all__ = [
    "YEAR_FIELDS",
    "USE_FIELDS",
    "STOREY_FIELDS",
    "USE_VALUES",
    "ALKIS_CODE_RANGES",
    "BuildingFacts",
    "read_building_facts",
    "map_use",
    "parse_year",
]

YEAR_FIELDS = ("construction_year", "oorspronkelijk_bouwjaar", "oorspronkelijkbouwjaar",
               "yearOfConstruction", "start_date", "bouwjaar", "year_built")
USE_FIELDS = ("use", "gebruiksdoel", "function", "usage", "building:use", "building")
STOREY_FIELDS = ("storeysAboveGround", "storeys_above_ground", "b3_bouwlagen", "building:levels")

_R, _O, _C, _S, _U = "residential", "office", "commercial", "school", "unconditioned"
#: Use value (lower case) -> (use, TABULA size-class hint or "").
USE_VALUES: dict[str, tuple[str, str]] = {
    # ours / English
    "residential": (_R, ""), "office": (_O, ""), "commercial": (_C, ""), "school": (_S, ""),
    "unconditioned": (_U, ""), "housing": (_R, ""), "dwelling": (_R, ""), "retail": (_C, ""),
    "shop": (_C, ""), "education": (_S, ""),
    # BAG gebruiksdoel (verblijfsobject use classes)
    "woonfunctie": (_R, ""), "logiesfunctie": (_R, ""), "kantoorfunctie": (_O, ""),
    "winkelfunctie": (_C, ""), "bijeenkomstfunctie": (_C, ""), "onderwijsfunctie": (_S, ""),
    "overige gebruiksfunctie": (_U, ""),
    # OSM building=*
    "house": (_R, "SFH"), "detached": (_R, "SFH"), "semidetached_house": (_R, "SFH"),
    "bungalow": (_R, "SFH"), "farm": (_R, "SFH"), "terrace": (_R, "TH"), "apartments": (_R, ""),
    "dormitory": (_R, "AB"), "hotel": (_C, ""), "supermarket": (_C, ""), "kiosk": (_C, ""),
    "kindergarten": (_S, ""), "university": (_S, ""), "college": (_S, ""),
    "shed": (_U, ""), "garage": (_U, ""), "garages": (_U, ""), "carport": (_U, ""), "hut": (_U, ""),
    "cabin": (_U, ""), "greenhouse": (_U, ""), "roof": (_U, ""), "storage_tank": (_U, ""),
    "barn": (_U, ""), "stable": (_U, ""), "service": (_U, ""), "transformer_tower": (_U, ""),
    "parking": (_U, ""),
}
#: Values that say nothing about the use (treated as a missing attribute, not as unmapped).
_NO_INFO = {"", "yes", "none", "nan", "unknown", "null", "building"}

#: ALKIS Gebaeudefunktion code ranges (inclusive) -> use; other codes are unmapped.
ALKIS_CODE_RANGES: tuple[tuple[int, int, str], ...] = (
    (1000, 1199, _R),   # Wohngebaeude, Wohnhaus, Wohnheim, gemischte Wohnnutzung
    (1310, 1313, _U),   # Gartenhaus, Wochenendhaus-Nebengebaeude
    (2020, 2049, _O),   # Buerogebaeude, Kreditinstitut, Versicherung
    (2000, 2019, _C),   # Handel und Dienstleistungen
    (2050, 2199, _C),   # Geschaeftsgebaeude, Kaufhaus, Laden, Hotel, Gaststaette
    (2460, 2465, _U),   # Parkhaus, Garage, Fahrzeughalle, Tiefgarage
    (3010, 3019, _O),   # Verwaltungsgebaeude
    (3020, 3029, _S),   # Gebaeude fuer Bildung und Forschung, Schulen, Hochschulen
)


def parse_year(values: Any) -> np.ndarray:
    """Four-digit years out of numbers or text (``1965``, ``"1965-03-01"``, ``"~1900"``).

    Returns
    -------
    (n,) float64
        NaN where no year in 1000..2100 is found.
    """
    s = pd.Series(list(values), dtype=object)
    y = np.array(pd.to_numeric(s, errors="coerce"), dtype=float)  # a writable copy
    text = np.flatnonzero(~np.isfinite(y) & s.notna().to_numpy())
    if len(text):  # only the values that are not numbers are searched for a year
        txt = s.iloc[text].astype(str).str.extract(r"(?<!\d)(1\d{3}|20\d{2}|2100)(?!\d)")[0]
        y[text] = pd.to_numeric(txt, errors="coerce").to_numpy(float)
    return np.where((y >= 1000) & (y <= 2100), np.floor(y), np.nan)


def map_use(value: Any) -> tuple[str, str, bool]:
    """``(use, size-class hint, informative)`` of one raw use value.

    ``use`` is "" when the value maps to nothing; ``informative`` is False for an absent or
    contentless value (``yes``), which is a missing attribute rather than an unmapped one.
    A list (BAG: several ``gebruiksdoel`` values) gives its first mapped value.
    """
    if isinstance(value, (list, tuple)):
        vals = list(value)
    else:
        vals = [v for v in re.split(r"[,;|]", str(value))] if value is not None else []
    informative = False
    for v in vals:
        k = str(v).strip().lower()
        if k in _NO_INFO:
            continue
        informative = True
        if k in USE_VALUES:
            return (*USE_VALUES[k], True)
        m = re.fullmatch(r"(?:\d+_)?(\d{4})", k)
        if m:
            code = int(m.group(1))
            for lo, hi, use in ALKIS_CODE_RANGES:
                if lo <= code <= hi:
                    return use, "", True
    return "", "", informative


@dataclass
class BuildingFacts:
    """What the attributes say about ``n`` buildings (arrays in ``ids`` order).

    Attributes
    ----------
    year : (n,) float64
        Construction year (NaN: unknown).
    year_from : (n,) object
        Attribute the year came from ("" none).
    year_attr : (n,) object
        Attribute holding a year value, readable or not ("" none).
    year_unreadable : Counter
        Raw values of a year attribute that held no year, with counts.
    use : (n,) object
        Mapped use ("" unknown), ``unconditioned`` for sheds and garages.
    use_from, use_raw : (n,) object
        Attribute name and its raw value ("" none).
    type_hint : (n,) object
        TABULA size class hinted by the use value (SFH, TH, MFH, AB or "").
    unmapped_uses : Counter
        Raw use values that map to nothing, with counts.
    storeys : (n,) float64
        Storeys above ground (NaN: unknown).
    storeys_from : (n,) object
    """

    year: np.ndarray
    year_from: np.ndarray
    year_attr: np.ndarray
    use: np.ndarray
    use_from: np.ndarray
    use_raw: np.ndarray
    type_hint: np.ndarray
    storeys: np.ndarray
    storeys_from: np.ndarray
    year_unreadable: Counter = field(default_factory=Counter)
    unmapped_uses: Counter = field(default_factory=Counter)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip())


def _first_present(attrs: list[dict], names: tuple[str, ...], keys: set[str]) -> tuple[list[Any], list[str]]:
    names = tuple(n for n in names if n in keys)  # only the names some building has
    vals: list[Any] = [None] * len(attrs)
    src = [""] * len(attrs)
    todo = range(len(attrs))
    for n in names:  # one pass per recognised name, over the buildings still without a value
        rest = []
        for i in todo:
            v = attrs[i].get(n)
            if _missing(v):
                rest.append(i)
            else:
                vals[i], src[i] = v, n
        todo = rest
    return vals, src


def _named(attrs: list[dict], name: str | None, default: tuple[str, ...], option: str) -> tuple[str, ...]:
    if name is None:
        return default
    if not any(name in a for a in attrs):
        present = sorted({k for a in attrs for k in a if not k.startswith("energy_")})
        raise InputError(
            f"{option} {name}: no building has an attribute {name!r}; the attributes present are "
            f"{', '.join(present[:30]) or 'none'}"
        )
    return (name,)


def read_building_facts(model: CityModel, ids: list[str], *, year_field: str | None = None,
                        use_field: str | None = None, storeys_field: str | None = None) -> BuildingFacts:
    """Year, use and storeys of the buildings ``ids`` from their attributes.

    Parameters
    ----------
    model : CityModel
    ids : list[str]
    year_field, use_field, storeys_field : str, optional
        Attribute to read (CLI ``--year-field`` ...); default: the recognised names above.

    Raises
    ------
    InputError
        A named field that no building has (the present attributes are listed), or a year
        field that holds text and no year in any building (some values are shown).
    """
    attrs = [model.city_objects[i].get("attributes") or {} for i in ids]
    keys = {k for a in attrs for k in a}
    yv, ysrc = _first_present(attrs, _named(attrs, year_field, YEAR_FIELDS, "--year-field"), keys)
    year = parse_year(yv)
    given = np.array([v is not None for v in yv])
    bad = given & ~np.isfinite(year)
    unreadable = Counter(str(yv[i]) for i in np.flatnonzero(bad))
    if given.any() and bad.all():
        sample = ", ".join(f"{k!r} ({n})" for k, n in unreadable.most_common(5))
        field_name = year_field or "/".join(sorted({s for s in ysrc if s}))
        raise InputError(
            f"--year-field {field_name}: the attribute holds text, not construction years "
            f"({sample}); name the attribute with the year (e.g. oorspronkelijk_bouwjaar)"
        )
    year_from = np.where(np.isfinite(year), np.array(ysrc, dtype=object), "")
    uv, usrc = _first_present(attrs, _named(attrs, use_field, USE_FIELDS, "--use-field"), keys)
    memo: dict[Any, tuple[str, str, bool]] = {}
    mapped = []
    for v in uv:  # many buildings share a value: map each distinct one once
        key = v if isinstance(v, (str, int, float, type(None))) else repr(v)
        if key not in memo:
            memo[key] = map_use(v)
        mapped.append(memo[key])
    use = np.array([m[0] for m in mapped], dtype=object)
    hint = np.array([m[1] for m in mapped], dtype=object)
    informative = np.array([m[2] for m in mapped])
    raw = np.array(["" if v is None else str(v) for v in uv], dtype=object)
    unmapped = Counter(raw[(use == "") & informative].tolist())
    use_from = np.where(informative, np.array(usrc, dtype=object), "")
    sv, ssrc = _first_present(attrs, _named(attrs, storeys_field, STOREY_FIELDS, "--storeys-field"), keys)
    storeys = pd.to_numeric(pd.Series(sv, dtype=object), errors="coerce").to_numpy(float)
    storeys = np.where(storeys >= 1, np.round(storeys), np.nan)
    storeys_from = np.where(np.isfinite(storeys), np.array(ssrc, dtype=object), "")
    return BuildingFacts(year=year, year_from=year_from, year_attr=np.array(ysrc, dtype=object), use=use, use_from=use_from, use_raw=raw,
                         type_hint=hint, storeys=storeys, storeys_from=storeys_from,
                         year_unreadable=unreadable, unmapped_uses=unmapped)
