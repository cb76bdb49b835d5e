"""The validation report: a list of entries (object, geometry, code, explanation) and summaries."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from citymodel.validation.codes import CODES, ERROR, name_of

__all__ = ["ValidationEntry", "ValidationReport"]


@dataclass(frozen=True)
class ValidationEntry:
    """One problem found by validation.

    Attributes
    ----------
    object_id : str or None
        City object id (None for problems of the file or the root members).
    geometry_index : int or None
        Index of the geometry in the object's ``geometry`` list.
    code : int
        val3dity error code (101 ... 601, 901) or structure code (1001 ...).
    name : str
        val3dity-style name of the code (``"SHELL_NOT_CLOSED"``).
    message : str
        Short explanation: where exactly and by how much.
    severity : str
        ``"error"`` (makes the model invalid) or ``"warning"``.
    shell : int or None
        Shell index in the geometry (MultiSolid: solid index * 1000 + shell).
    polygon : int or None
        Polygon index within the shell (or within the MultiSurface).
    """

    object_id: str | None
    geometry_index: int | None
    code: int
    name: str
    message: str
    severity: str = ERROR
    shell: int | None = None
    polygon: int | None = None

    def __str__(self) -> str:
        where = self.object_id if self.object_id is not None else "<file>"
        if self.geometry_index is not None:
            where += f" geometry #{self.geometry_index}"
        if self.shell is not None:
            where += f" shell {self.shell}"
        if self.polygon is not None:
            where += f" polygon {self.polygon}"
        return f"{self.code} {self.name} ({self.severity}) at {where}: {self.message}"


@dataclass
class ValidationReport:
    """The result of :func:`citymodel.validation.validate`.

    Attributes
    ----------
    source : str
        The file (or ``"<model>"``).
    entries : list[ValidationEntry]
        Every problem found, in the order found.
    n_objects, n_geometries, n_shells, n_polygons : int
        How much was checked.
    fatal : bool
        The input could not be read at all (only a 901 entry is present).
    """

    source: str = "<model>"
    entries: list[ValidationEntry] = field(default_factory=list)
    n_objects: int = 0
    n_geometries: int = 0
    n_shells: int = 0
    n_polygons: int = 0
    fatal: bool = False

    # ---------------------------------------------------------------- building
    def add(
        self,
        object_id: str | None,
        geometry_index: int | None,
        code: int,
        message: str,
        *,
        shell: int | None = None,
        polygon: int | None = None,
    ) -> None:
        """Append an entry; name and severity come from the code table."""
        c = CODES.get(code)
        severity = c.severity if c else ERROR
        self.entries.append(
            ValidationEntry(object_id, geometry_index, int(code), name_of(code), message, severity, shell, polygon)
        )

    # ----------------------------------------------------------------- queries
    @property
    def valid(self) -> bool:
        """True when no entry has severity ``"error"`` (warnings do not make a model invalid)."""
        return not any(e.severity == ERROR for e in self.entries)

    @property
    def errors(self) -> list[ValidationEntry]:
        return [e for e in self.entries if e.severity == ERROR]

    @property
    def warnings(self) -> list[ValidationEntry]:
        return [e for e in self.entries if e.severity != ERROR]

    def codes(self) -> set[int]:
        """The distinct codes present."""
        return {e.code for e in self.entries}

    def by_code(self, code: int) -> list[ValidationEntry]:
        """Entries with one code."""
        return [e for e in self.entries if e.code == code]

    def objects_with(self, code: int) -> set[str]:
        """Ids of the objects that have an entry with ``code``."""
        return {e.object_id for e in self.entries if e.code == code and e.object_id is not None}

    def summary(self) -> dict[int, dict[str, Any]]:
        """Per code: name, severity, number of entries and of distinct objects."""
        n = Counter(e.code for e in self.entries)
        objs: dict[int, set] = {}
        for e in self.entries:
            objs.setdefault(e.code, set()).add(e.object_id)
        out = {}
        for code in sorted(n):
            c = CODES.get(code)
            out[code] = {
                "name": name_of(code),
                "severity": c.severity if c else ERROR,
                "entries": n[code],
                "objects": len(objs[code] - {None}),
            }
        return out

    def summary_frame(self):
        """:meth:`summary` as a pandas DataFrame (columns code, name, severity, entries, objects)."""
        import pandas as pd

        rows = [{"code": k, **v} for k, v in self.summary().items()]
        return pd.DataFrame(rows, columns=["code", "name", "severity", "entries", "objects"])

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: validity, counts, summary by code and every entry."""
        return {
            "source": self.source,
            "valid": self.valid,
            "fatal": self.fatal,
            "checked": {
                "objects": self.n_objects,
                "geometries": self.n_geometries,
                "shells": self.n_shells,
                "polygons": self.n_polygons,
            },
            "summary": {str(k): v for k, v in self.summary().items()},
            "entries": [asdict(e) for e in self.entries],
        }

    def to_json(self, indent: bool = True) -> str:
        """The report as a JSON string (see :meth:`to_dict`)."""
        opt = orjson.OPT_INDENT_2 if indent else 0
        return orjson.dumps(self.to_dict(), option=opt).decode()

    def text(self, max_entries: int = 50) -> str:
        """Human-readable report: a verdict line, the summary by code, then the first entries."""
        verdict = "VALID" if self.valid else "INVALID"
        lines = [
            f"{self.source}: {verdict} ({self.n_objects} objects, {self.n_geometries} geometries, "
            f"{self.n_shells} shells, {self.n_polygons} polygons checked; "
            f"{len(self.errors)} errors, {len(self.warnings)} warnings)"
        ]
        for code, s in self.summary().items():
            lines.append(f"  {code} {s['name']:<36} {s['severity']:<8} {s['entries']:>6} entries {s['objects']:>6} objects")
        for e in self.entries[:max_entries]:
            lines.append(f"  - {e}")
        if len(self.entries) > max_entries:
            lines.append(f"  ... {len(self.entries) - max_entries} more (use --json for all)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        codes = ", ".join(f"{k}: {v['entries']}" for k, v in self.summary().items())
        return f"ValidationReport({self.source}, valid={self.valid}, {{{codes}}})"
