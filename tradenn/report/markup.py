"""HTML building blocks of tradenn's pages: escaping, number formats, tables, charts, the page.

Every piece of text that comes from a run (names, config, versions, column names) goes
through `esc`, so a value such as ``<script>`` is shown, never executed.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from tradenn.report import figures

Format = Callable[[Any], str]


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def pct(value: Any, digits: int = 1) -> str:
    return "—" if _missing(value) else f"{num(100 * float(value), digits)}%"


def num(value: Any, digits: int = 2) -> str:
    if _missing(value):
        return "—"
    # round first, then add 0.0: "-0.00" would suggest a sign that is not there
    return f"{round(float(value), digits) + 0.0:.{digits}f}"


def whole(value: Any) -> str:
    return "—" if _missing(value) else f"{float(value):,.0f}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


CSS = """
:root { --ink:#1d2430; --muted:#5f6b7a; --line:#dde2e8; --band:#f5f7fa; --accent:#1f5fbf; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: var(--ink); background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 28px 60px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 34px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
p, li { max-width: 920px; }
.muted { color: var(--muted); }
.headline { background: var(--band); border-left: 4px solid var(--accent); padding: 12px 16px;
            margin: 16px 0; font-size: 15px; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
         gap: 6px 24px; margin: 10px 0; }
.facts div { border-bottom: 1px dotted var(--line); padding: 2px 0; }
.facts b { font-weight: 600; color: var(--muted); margin-right: 6px; }
table { border-collapse: collapse; margin: 6px 0 10px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 9px; border-bottom: 1px solid var(--line); text-align: right;
         white-space: nowrap; }
th { font-weight: 600; background: var(--band); }
th.l, td.l { text-align: left; }
th.group { text-align: center; background: #fff; border-bottom: 2px solid var(--line); }
tr.main td { font-weight: 600; }
.neg { color: #b3261e; } .pos { color: #1e7b34; }
.scroll { overflow-x: auto; }
figure.chart { margin: 8px 0 18px; }
figure.chart svg { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 2px; }
pre { background: var(--band); padding: 12px; overflow-x: auto; font-size: 12px; }
details summary { cursor: pointer; color: var(--accent); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
          margin-right: 6px; vertical-align: baseline; }
"""


def page(title: str, body: Iterable[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def chart(chart_id: str, fig: Figure | str | None, caption: str) -> str:
    """A matplotlib figure (or an SVG already drawn from one by `figures.to_svg`) as an
    inline SVG with its caption; nothing for None."""
    if fig is None:
        return ""
    svg = fig if isinstance(fig, str) else figures.to_svg(fig)
    return (f'<figure class="chart" id="{esc(chart_id)}">{svg}'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def table(header: list[str], rows: Iterable[list[str]], row_classes: Iterable[str] = (), *,
          left: int = 1, groups: list[tuple[str, int]] | None = None) -> str:
    """An HTML table of already formatted (and escaped) cells.

    Args:
        header: column titles.
        rows: cells, as HTML.
        row_classes: a CSS class per row (``main`` makes a row bold).
        left: how many leading columns are labels, aligned left.
        groups: an optional first header row of (title, columns spanned).
    """
    classes = list(row_classes)

    def cell(tag: str, text: str, column: int) -> str:
        return f'<{tag} class="l">{text}</{tag}>' if column < left else f"<{tag}>{text}</{tag}>"

    head = "<tr>" + "".join(cell("th", h, i) for i, h in enumerate(header)) + "</tr>"
    if groups:
        head = "<tr>" + "".join(f'<th colspan="{n}" class="group">{t}</th>'
                                for t, n in groups) + "</tr>" + head
    body = []
    for i, row in enumerate(rows):
        css = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        body.append(f"<tr{css}>" + "".join(cell("td", c, j) for j, c in enumerate(row))
                    + "</tr>")
    return f'<div class="scroll"><table><thead>{head}</thead><tbody>' + "".join(
        body) + "</tbody></table></div>"


def signed(text: str, value: Any) -> str:
    """Color a formatted number by its sign (as a cell's inner HTML)."""
    if _missing(value) or float(value) == 0:
        return text
    css = "pos" if float(value) > 0 else "neg"
    return f'<span class="{css}">{text}</span>'


def frame_rows(frame: pd.DataFrame, formats: dict[str, Format]) -> list[list[str]]:
    """Rows of ``frame`` (index first) with a formatter per column."""
    return [[esc(index)] + [formats.get(c, num)(row[c]) for c in formats]
            for index, row in frame.iterrows()]
