"""The pages of the reports: one self-contained HTML file, inline CSS and PNGs, no scripts or links.

A report has to open offline and survive being mailed as one file, so figures are embedded as
base64 PNGs rendered on the Agg canvas (never ``pyplot``: no global state, no GUI backend).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f4f4f4; } tr.low td { color: #777; background: repeating-linear-gradient(45deg, #fff, #fff 4px,
#f3f3f3 4px, #f3f3f3 8px); }
.note { color: #555; font-size: 0.9em; } img { max-width: 100%; display: block; margin: 0.8em 0; }
nav { margin: 1em 0; } details { margin: 0 0 1.5em; } summary { cursor: pointer; color: #335; }
"""


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes on the Agg canvas, as every report and chart renders it."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def html_table(table: pd.DataFrame, low: pd.Series | None = None) -> str:
    """An HTML table of ``table``; rows where ``low`` is true get the faded, hatched ``low`` style."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for position, row in enumerate(table.itertuples(index=False)):
        css = ' class="low"' if low is not None and bool(low.iloc[position]) else ""
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
        rows.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def inline_image(figure: Figure, alt: str) -> str:
    """The figure as an inline PNG: the page stays one file that opens offline."""
    data = base64.b64encode(png_bytes(figure)).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def html_page(title: str, body: Sequence[str], meta: dict) -> str:
    """The whole page: ``title`` as heading, ``body`` parts in order, ``meta`` as JSON for tools."""
    content = html.escape(json.dumps(meta, default=str))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><meta name='perfpredict' content=\"{content}\">"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{''.join(body)}</body></html>\n"
    )
