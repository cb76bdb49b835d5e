"""Upgrade CityJSON 1.0 and 1.1 documents (already parsed) to CityJSON 2.0, in place.

What changes between versions (cityjson.org specs, "changes" pages):

- 1.0 -> 1.1: ``lod`` becomes a string ("2" or "2.2"); ``transform`` becomes mandatory (we
  de-quantise on read anyway); CityObjectGroup ``members`` become ``children``.
- 1.1 -> 2.0: ``Building.address`` becomes an array of addresses; the extension type
  ``+GenericCityObject`` becomes the core ``GenericCityObject``; ``geographicalExtent`` stays.
"""

from __future__ import annotations

from typing import Any

__all__ = ["upgrade_document", "SUPPORTED_VERSIONS"]

SUPPORTED_VERSIONS = ("1.0", "1.1", "2.0")


def _lod_to_str(lod: Any) -> Any:
    if isinstance(lod, bool) or lod is None:
        return lod
    if isinstance(lod, int):
        return str(lod)
    if isinstance(lod, float):
        return str(int(lod)) if lod.is_integer() else f"{lod:g}"
    return lod


def _upgrade_objects_1_0(objects: dict[str, Any], templates: dict[str, Any] | None) -> None:
    for obj in objects.values():
        for g in obj.get("geometry", ()) or ():
            if "lod" in g:
                g["lod"] = _lod_to_str(g["lod"])
        if obj.get("type") == "CityObjectGroup" and "members" in obj:
            obj.setdefault("children", obj.pop("members"))
    if templates:
        for t in templates.get("templates", ()):
            if "lod" in t:
                t["lod"] = _lod_to_str(t["lod"])


def _upgrade_objects_1_1(objects: dict[str, Any]) -> None:
    for obj in objects.values():
        if obj.get("type") == "+GenericCityObject":
            obj["type"] = "GenericCityObject"
        addr = obj.get("address")
        if isinstance(addr, dict):
            obj["address"] = [addr]
        for g in obj.get("geometry", ()) or ():
            if "lod" in g:
                g["lod"] = _lod_to_str(g["lod"])


def upgrade_document(doc: dict[str, Any], version: str) -> dict[str, Any]:
    """Upgrade a parsed CityJSON (or CityJSONFeature) document from ``version`` to 2.0.

    The document is modified in place and returned. ``version`` must be one of
    :data:`SUPPORTED_VERSIONS` (a patch suffix such as "1.1.3" is accepted by the caller).
    """
    objects = doc.get("CityObjects") or {}
    templates = doc.get("geometry-templates")
    if version == "1.0":
        _upgrade_objects_1_0(objects, templates)
        version = "1.1"
    if version == "1.1":
        _upgrade_objects_1_1(objects)
        version = "2.0"
    if doc.get("type") == "CityJSON":
        doc["version"] = "2.0"
    return doc
