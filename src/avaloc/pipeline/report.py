"""Reports as Markdown and self-contained HTML from one list of blocks.

A job builds a :class:`Document` (headings, paragraphs, tables, images); ``write`` renders it
once as ``report.md`` (images linked relative to the report) and once as ``report.html`` (images
embedded as base64, so the file can be mailed or archived alone). Both are written atomically.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from avaloc.fileio import atomic_write


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    caption: str = ""


@dataclass(frozen=True)
class Image:
    path: Path
    caption: str


Block = Heading | Paragraph | Table | Image


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Document:
        self.blocks.extend(blocks)
        return self

    def to_markdown(self, base: Path) -> str:
        lines = [f"# {self.title}", ""]
        for block in self.blocks:
            if isinstance(block, Heading):
                lines += [f"{'#' * block.level} {block.text}", ""]
            elif isinstance(block, Paragraph):
                lines += [block.text, ""]
            elif isinstance(block, Table):
                if block.caption:
                    lines += [f"*{block.caption}*", ""]
                lines.append("| " + " | ".join(block.header) + " |")
                lines.append("|" + "|".join("---" for _ in block.header) + "|")
                lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in block.rows]
                lines.append("")
            elif isinstance(block, Image):
                relative = os.path.relpath(block.path, base)
                lines += [f"![{block.caption}]({relative})", "", f"*{block.caption}*", ""]
        return "\n".join(lines)

    def to_html(self) -> str:
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
            "padding:.2em .6em;text-align:right}th{background:#eee}td:first-child{text-align:left}"
            "img{max-width:100%}figcaption{color:#555;font-style:italic}</style>",
            "</head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for block in self.blocks:
            if isinstance(block, Heading):
                level = min(max(block.level, 1), 6)
                parts.append(f"<h{level}>{html.escape(block.text)}</h{level}>")
            elif isinstance(block, Paragraph):
                parts.append(f"<p>{html.escape(block.text)}</p>")
            elif isinstance(block, Table):
                parts.append("<table>")
                if block.caption:
                    parts.append(f"<caption>{html.escape(block.caption)}</caption>")
                parts.append(
                    "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in block.header) + "</tr>"
                )
                for row in block.rows:
                    parts.append(
                        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
                    )
                parts.append("</table>")
            elif isinstance(block, Image):
                data = base64.b64encode(Path(block.path).read_bytes()).decode("ascii")
                parts.append(
                    f'<figure><img alt="{html.escape(block.caption)}" '
                    f'src="data:image/png;base64,{data}">'
                    f"<figcaption>{html.escape(block.caption)}</figcaption></figure>"
                )
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, markdown_path: str | os.PathLike) -> tuple[Path, Path]:
        """Write ``X.md`` and ``X.html`` side by side; returns both paths."""
        markdown_path = Path(markdown_path)
        html_path = markdown_path.with_suffix(".html")
        with atomic_write(markdown_path) as handle:
            handle.write(self.to_markdown(markdown_path.parent))
        with atomic_write(html_path) as handle:
            handle.write(self.to_html())
        return markdown_path, html_path
