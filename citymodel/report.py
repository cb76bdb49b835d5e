"""A small self-contained report (Markdown and HTML with embedded images) for the demo."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from citymodel._fileutil import atomic_path

__all__ = ["Report"]


@dataclass
class _Block:
    kind: str  # "heading" | "text" | "image" | "table"
    content: object
    caption: str = ""


@dataclass
class Report:
    """Collects headings, text, figures and tables; writes ``report.md`` and ``report.html``.

    Figures are PNG files (their paths are made relative to the report's folder in Markdown and
    embedded as base64 in HTML, so the HTML file is self-contained).
    """

    title: str
    blocks: list[_Block] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(_Block("heading", text))

    def text(self, text: str) -> None:
        self.blocks.append(_Block("text", text))

    def image(self, path: str | Path, caption: str = "") -> None:
        self.blocks.append(_Block("image", Path(path), caption))

    def table(self, frame: pd.DataFrame, caption: str = "", float_format: str = "{:.3g}") -> None:
        df = frame.copy()
        for c in df.columns:
            if pd.api.types.is_float_dtype(df[c]):
                df[c] = df[c].map(lambda v, f=float_format: "" if pd.isna(v) else f.format(v))
        self.blocks.append(_Block("table", df, caption))

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
            elif b.kind == "table":
                df: pd.DataFrame = b.content  # type: ignore[assignment]
                cols = [str(c) for c in df.columns]
                out.append("| " + " | ".join(cols) + " |")
                out.append("|" + "---|" * len(cols))
                for row in df.itertuples(index=False):
                    out.append("| " + " | ".join(str(v) for v in row) + " |")
                out += ["", f"*{b.caption}*" if b.caption else "", ""]
        return "\n".join(out)

    def to_html(self) -> str:
        parts = [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<title>{html.escape(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;"
            "text-align:right}th{background:#eee}img{max-width:100%;border:1px solid #ccc}"
            "figcaption{color:#555;font-style:italic}pre{background:#f6f6f6;padding:8px}</style>",
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
            elif b.kind == "table":
                df: pd.DataFrame = b.content  # type: ignore[assignment]
                parts.append(df.to_html(index=False, escape=True, border=0))
                if b.caption:
                    parts.append(f"<p><em>{html.escape(b.caption)}</em></p>")
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
