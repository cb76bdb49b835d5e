"""A small self-contained report (Markdown and HTML with embedded images) for the demo."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from citymodel._fileutil import atomic_path
from citymodel.attribute_registry import attribute_info, kind_of
from citymodel.attribute_registry import label as attribute_label

__all__ = ["Report", "readable_number", "SYNTHETIC_WEATHER_NOTE", "SYNTHETIC_WEATHER_SHORT"]

#: Shown under the first figure or table computed from a clear-sky (cloudless, synthetic) year;
#: the later ones get :data:`SYNTHETIC_WEATHER_SHORT`.
SYNTHETIC_WEATHER_NOTE = (
    "Note: computed with a clear-sky year (no clouds, synthetic weather), so energies, "
    "irradiation and overheating hours are upper bounds: compare buildings and scenarios with "
    "each other, not with metered or published figures. Give an EPW file of the site "
    "(--weather W.epw) for real figures."
)
SYNTHETIC_WEATHER_SHORT = "Clear-sky (synthetic, cloudless) year: upper bounds, not real figures."


def readable_number(value, kind: str = "unknown") -> str:
    """A number as a person reads it: no scientific notation, thousands separated, digits by size.

    Years, codes and identifiers print as integers; ``kind`` is the attribute's kind from
    :mod:`citymodel.attribute_registry`.

    Examples
    --------
    >>> readable_number(1953.0, "category"), readable_number(12345.678), readable_number(0.01234)
    ('1953', '12,346', '0.0123')
    >>> readable_number(87.25), readable_number(3.14159), readable_number(float("nan"))
    ('87.2', '3.14', '')
    """
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    v = float(value)
    if kind in ("category", "identifier") or (kind == "count" and v == round(v)):
        return f"{v:.0f}"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a == 0:
        return "0"
    if a >= 0.001:
        return f"{v:.3g}"
    return f"{v:.2e}"


@dataclass
class _Block:
    kind: str  # "heading" | "text" | "image" | "table"
    content: object
    caption: str = ""
    note: str = ""


@dataclass
class Report:
    """Collects headings, text, figures and tables; writes ``report.md`` and ``report.html``.

    Figures are PNG files (their paths are made relative to the report's folder in Markdown and
    embedded as base64 in HTML, so the HTML file is self-contained).
    """

    title: str
    blocks: list[_Block] = field(default_factory=list)
    _named: set = field(default_factory=set, repr=False)
    _noted: bool = field(default=False, repr=False)

    def _weather_note(self, synthetic_weather: bool) -> str:
        if not synthetic_weather:
            return ""
        first, self._noted = not self._noted, True
        return SYNTHETIC_WEATHER_NOTE if first else SYNTHETIC_WEATHER_SHORT

    def heading(self, text: str) -> None:
        self.blocks.append(_Block("heading", text))

    def text(self, text: str) -> None:
        self.blocks.append(_Block("text", text))

    def image(self, path: str | Path, caption: str = "", *, synthetic_weather: bool = False) -> None:
        """A figure; ``caption`` says what it shows and how to read it. With
        ``synthetic_weather`` the clear-sky note is shown under it."""
        self.blocks.append(_Block("image", Path(path), caption, self._weather_note(synthetic_weather)))

    def column_title(self, name: str) -> str:
        """Column header in words with its unit; the technical name in brackets the first time
        a registered attribute appears in the report."""
        if attribute_info(name) is None:
            return name
        title = attribute_label(name)
        if name not in self._named:
            self._named.add(name)
            title += f" ({name})"
        return title

    def table(self, frame: pd.DataFrame, caption: str = "", float_format: str | None = None, *,
              synthetic_weather: bool = False) -> None:
        """A table with readable numbers (:func:`readable_number`, or ``float_format``) and
        plain-language headers for the attributes the toolkit knows."""
        df = frame.copy()
        for c in df.columns:
            if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
                kind = kind_of(str(c))
                if float_format is not None and pd.api.types.is_float_dtype(df[c]):
                    df[c] = df[c].map(lambda v, f=float_format: "" if pd.isna(v) else f.format(v))
                elif pd.api.types.is_float_dtype(df[c]) or kind in ("category", "identifier"):
                    df[c] = df[c].map(lambda v, k=kind: readable_number(v, k))
        df.columns = [self.column_title(str(c)) for c in df.columns]
        self.blocks.append(_Block("table", df, caption, self._weather_note(synthetic_weather)))

    # ------------------------------------------------------------------ writers
    def to_markdown(self, folder: Path) -> str:
        out = [f"# {self.title}", ""]
        for b in self.blocks:
            if b.kind == "heading":
                out += [f"## {b.content}", ""]
            elif b.kind == "text":
                out += [str(b.content), ""]
            elif b.kind == "image":
                p = Path(b.content)
                rel = p.relative_to(folder) if p.is_relative_to(folder) else p
                out += [f"![{b.caption}]({rel.as_posix()})", "", f"*{b.caption}*" if b.caption else "", ""]
                if b.note:
                    out += [f"> **{b.note}**", ""]
            elif b.kind == "table":
                df: pd.DataFrame = b.content  # type: ignore[assignment]
                cols = [str(c) for c in df.columns]
                out.append("| " + " | ".join(cols) + " |")
                out.append("|" + "---|" * len(cols))
                for row in df.itertuples(index=False):
                    out.append("| " + " | ".join(str(v) for v in row) + " |")
                out += ["", f"*{b.caption}*" if b.caption else "", ""]
                if b.note:
                    out += [f"> **{b.note}**", ""]
        return "\n".join(out)

    def to_html(self) -> str:
        parts = [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<title>{html.escape(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;"
            "text-align:right}th{background:#eee}img{max-width:100%;border:1px solid #ccc}"
            "figcaption{color:#555;font-style:italic}pre{background:#f6f6f6;padding:8px}"
            ".note{background:#fff4ce;border-left:5px solid #e0a800;padding:6px 10px;font-weight:bold}</style>",
            f"</head><body><h1>{html.escape(self.title)}</h1>",
        ]
        for b in self.blocks:
            if b.kind == "heading":
                parts.append(f"<h2>{html.escape(str(b.content))}</h2>")
            elif b.kind == "text":
                paras = str(b.content).split("\n\n")
                parts += [f"<p>{html.escape(p)}</p>" for p in paras]
            elif b.kind == "image":
                p = Path(b.content)
                if p.exists():
                    data = base64.b64encode(p.read_bytes()).decode()
                    parts.append(
                        f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(b.caption)}'>"
                        f"<figcaption>{html.escape(b.caption)}</figcaption></figure>"
                    )
                    if b.note:
                        parts.append(f"<p class='note'>{html.escape(b.note)}</p>")
            elif b.kind == "table":
                df: pd.DataFrame = b.content  # type: ignore[assignment]
                parts.append(df.to_html(index=False, escape=True, border=0))
                if b.caption:
                    parts.append(f"<p><em>{html.escape(b.caption)}</em></p>")
                if b.note:
                    parts.append(f"<p class='note'>{html.escape(b.note)}</p>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``report.md`` and ``report.html`` into ``folder`` (atomically); return both paths."""
        folder = Path(folder)
        md, ht = folder / "report.md", folder / "report.html"
        with atomic_path(md) as tmp:
            tmp.write_text(self.to_markdown(folder), encoding="utf-8")
        with atomic_path(ht) as tmp:
            tmp.write_text(self.to_html(), encoding="utf-8")
        return md, ht
