"""Markdown and HTML reports from the same blocks."""

from __future__ import annotations

import base64

import matplotlib.pyplot as plt

from avaloc.pipeline.report import Document, Heading, Image, Paragraph, Table


def test_markdown_and_html(tmp_path):
    figure_path = tmp_path / "figs" / "ap.png"
    figure_path.parent.mkdir()
    plt.figure(figsize=(1, 1))
    plt.savefig(figure_path)
    plt.close("all")
    document = Document("Run <1>").add(
        Heading("Results"),
        Paragraph("mAP & more"),
        Table(["class", "AP"], [["walk", 0.5], ["run", None]], caption="per class"),
        Image(figure_path, "AP per class"),
    )
    md_path, html_path = document.write(tmp_path / "report.md")
    markdown = md_path.read_text()
    assert markdown.startswith("# Run <1>\n")
    assert "| walk | 0.5000 |" in markdown and "| run |  |" in markdown
    assert "![AP per class](figs/ap.png)" in markdown
    page = html_path.read_text()
    assert "<title>Run &lt;1&gt;</title>" in page and "<p>mAP &amp; more</p>" in page
    encoded = base64.b64encode(figure_path.read_bytes()).decode()
    assert f"data:image/png;base64,{encoded}" in page
