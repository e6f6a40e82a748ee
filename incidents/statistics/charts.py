"""A chart's numbers, and how they are drawn as server-rendered SVG.

A ``Chart`` is plain data (it is cached and pickled): a title, a caption, a table of
rows and, per row or per cell, the finder query that lists what was counted. The SVG
geometry is worked out here and drawn by templates/incidents/statistics/_chart.html
with presentation attributes only (the CSP allows no inline styles). One hue,
Okabe-Ito blue, in steps of opacity: readable with any colour vision.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

BLUE = "#0072B2"
EMPTY_CELL = "#eef1f5"
INK = "#15202b"
BARS_WIDTH = 400  # narrow enough to stay readable when a phone scales it down
COLUMNS_WIDTH = 480
MAX_TICKS = 6
MAX_MONTH_TICKS = 3  # "Mar 2021" is twice as long as "2021"


@dataclass(frozen=True)
class Row:
    label: str
    values: tuple[int, ...]
    query: str = ""  # the finder's query string for this row ("" when no filter fits)
    key: str = ""  # the filter value (code, slug, year) written to the CSV
    cell_queries: tuple[str, ...] = ()  # a heatmap's per-cell finder queries
    group: str = ""  # the ATT&CK matrix's column (a tactic's name) ...
    group_key: str = ""  # ... and its shortname


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    caption: str
    label_header: str
    value_headers: tuple[str, ...]
    rows: tuple[Row, ...]
    layout: str = "bars"  # "bars" (horizontal, ranked), "columns" (a time line), "heatmap"
    log_scale: bool = False
    note: str = ""
    column_keys: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not any(any(r.values) for r in self.rows)

    def csv_rows(self):
        if self.layout == "matrix":
            yield ("tactic", "key", self.label_header, *self.value_headers)
            for row in self.rows:
                yield (row.group_key, row.key, row.label, *row.values)
            return
        yield ("key", self.label_header, *self.value_headers)
        for row in self.rows:
            yield (row.key, row.label, *row.values)


def _scale(value, top, length, log):
    if value <= 0 or top <= 0:
        return 0.0
    if log:
        return length * math.log10(value + 1) / math.log10(top + 1)
    return length * value / top


def _number(value) -> str:
    return f"{value:,}"


def _compact(value) -> str:
    """An axis label that fits: 950, 12K, 3.4M, 1.2B."""
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if value >= size:
            short = f"{value / size:.1f}".removesuffix(".0")
            return short + suffix
    return str(value)


def bars(chart: Chart, finder_url: str) -> dict:
    """Horizontal bars, each under its label (long names need the whole width)."""
    row_height, bar_height, top_pad = 38, 14, 4
    value_room = 70
    top = max((r.values[0] for r in chart.rows), default=0)
    items = []
    for i, row in enumerate(chart.rows):
        y = top_pad + i * row_height
        length = _scale(row.values[0], top, BARS_WIDTH - value_room, chart.log_scale)
        items.append(
            {
                "label": row.label,
                "value": _number(row.values[0]),
                "href": f"{finder_url}?{row.query}" if row.query else "",
                "text_y": y + 13,
                "bar_y": y + 18,
                "bar_height": bar_height,
                "width": f"{max(length, 1.0):.1f}",
                "value_x": f"{max(length, 1.0) + 6:.1f}",
                "value_y": y + 18 + bar_height - 2,
            }
        )
    return {
        "width": BARS_WIDTH,
        "height": top_pad + len(chart.rows) * row_height + 4,
        "items": items,
        "fill": BLUE,
    }


def columns(chart: Chart, finder_url: str) -> dict:
    """A time line: one column per year or month, the axis labelled every few columns."""
    left, right, bottom, plot_top, height = 52, 20, 28, 12, 240
    plot_height = height - bottom - plot_top
    count = max(len(chart.rows), 1)
    slot = (COLUMNS_WIDTH - left - right) / count
    ticks = _ticks(chart.rows)
    top = max((r.values[0] for r in chart.rows), default=0)
    items = []
    for i, row in enumerate(chart.rows):
        h = _scale(row.values[0], top, plot_height, chart.log_scale)
        x = left + i * slot
        items.append(
            {
                "label": row.label,
                "value": _number(row.values[0]),
                "href": f"{finder_url}?{row.query}" if row.query else "",
                "x": f"{x + slot * 0.1:.1f}",
                "y": f"{plot_top + plot_height - h:.1f}",
                "width": f"{max(slot * 0.8, 1.0):.1f}",
                "height": f"{h:.1f}",
                "hit_x": f"{x:.1f}",
                "hit_width": f"{slot:.1f}",
                "tick": i in ticks,
                "tick_label": ticks.get(i, ""),
                "tick_x": f"{x + slot / 2:.1f}",
            }
        )
    # A log scale's gridlines: every thousandfold below the top.
    gridlines = []
    if chart.log_scale:
        power = 1000
        while power * 100 < top:
            y = plot_top + plot_height - _scale(power, top, plot_height, True)
            gridlines.append({"y": f"{y:.1f}", "label": _compact(power)})
            power *= 1000
    return {
        "gridlines": gridlines,
        "width": COLUMNS_WIDTH,
        "height": height,
        "items": items,
        "fill": BLUE,
        "left": left,
        "plot_top": plot_top,
        "plot_bottom": plot_top + plot_height,
        "plot_height": plot_height,
        "label_y": height - 8,
        "top_label": _compact(top),
        "axis_x": COLUMNS_WIDTH - right,
    }


MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")


def _ticks(rows) -> dict[int, str]:
    """The columns labelled on a time line's axis, with their labels: at most MAX_TICKS,
    short enough not to overlap when a phone scales the chart down. Months are labelled
    by year, at each January ("2021"), when the line spans two Januaries or more; a
    shorter run of months gets at most MAX_MONTH_TICKS labels ("Mar 2021")."""
    months = [MONTH_KEY.match(row.key) for row in rows]
    if rows and all(months):
        januaries = [i for i, m in enumerate(months) if m[2] == "01"]
        if len(januaries) >= 2:
            step = math.ceil(len(januaries) / MAX_TICKS)
            return {i: months[i][1] for i in januaries[::step]}
        step = max(1, math.ceil(len(rows) / MAX_MONTH_TICKS))
    else:
        step = max(1, math.ceil(len(rows) / MAX_TICKS))
    return {i: row.label for i, row in enumerate(rows) if i % step == 0}


# Room for whole labels (a heatmap's labels are never cut: "Energy and utilities", not
# "Energy and utilit..."), from their length: a row label's character in 14 px type, and
# a column heading's, slanted at 45 degrees in 13 px type, across and down.
LABEL_CHAR_PX = 8.0
HEAD_CHAR_PX = 5.2


def heatmap(chart: Chart, finder_url: str) -> dict:
    """Rows by columns, each cell's count in one hue whose strength grows with it."""
    cell_w, cell_h = 44, 30
    longest_label = max((len(row.label) for row in chart.rows), default=0)
    longest_head = max((len(str(name)) for name in chart.value_headers), default=0)
    label_width = max(80, math.ceil(longest_label * LABEL_CHAR_PX) + 12)
    header = max(40, math.ceil(longest_head * HEAD_CHAR_PX) + 14)
    top = max((v for r in chart.rows for v in r.values), default=0)
    cells, labels = [], []
    for i, row in enumerate(chart.rows):
        y = header + i * cell_h
        labels.append({"label": row.label, "y": y + cell_h / 2 + 4})
        for j, value in enumerate(row.values):
            strength = value / top if top else 0
            query = row.cell_queries[j] if j < len(row.cell_queries) else ""
            cells.append(
                {
                    "x": label_width + j * cell_w,
                    "y": y,
                    "text_x": label_width + j * cell_w + cell_w / 2,
                    "text_y": y + cell_h / 2 + 4,
                    "fill": BLUE if value else EMPTY_CELL,
                    "opacity": f"{0.15 + 0.85 * strength:.2f}" if value else "1",
                    "text_fill": "#ffffff" if strength > 0.5 else INK,
                    "value": _number(value) if value else "",
                    "href": f"{finder_url}?{query}" if value and query else "",
                    "name": f"{row.label}, {chart.value_headers[j]}: {_number(value)}",
                }
            )
    heads = [
        {"label": name, "x": label_width + j * cell_w + cell_w / 2 + 4, "y": header - 6}
        for j, name in enumerate(chart.value_headers)
    ]
    return {
        # room on the right for the last column's slanted heading
        "width": label_width + len(chart.value_headers) * cell_w + header,
        "height": header + len(chart.rows) * cell_h + 4,
        "cells": cells,
        "labels": labels,
        "heads": heads,
        "cell_w": cell_w - 2,
        "cell_h": cell_h - 2,
        "label_x": label_width - 8,
    }


MATRIX_SHOWN = 12  # techniques per tactic on the page and in its data table; the CSV and
# the layer hold all (every technique in the table made a member's page 400 KB: issue 12)
HEAT_LEVELS = 5
# The levels' colours (static/css/site.css .heat-N has the same), for the Navigator layer.
HEAT_COLOURS = ("#e6f1f8", "#b3d4ea", "#80b8dc", "#0072b2", "#004a75")


def heat_level(value, top) -> int:
    """1 (fewest) to HEAT_LEVELS (most), on a square-root scale so rare techniques show."""
    if value <= 0 or top <= 0:
        return 0
    return max(1, math.ceil(HEAT_LEVELS * math.sqrt(value / top)))


def heat_legend(top) -> list[tuple[int, str]]:
    """(level, "from-to incidents") for each level that can occur."""
    legend, low = [], 1
    for level in range(1, HEAT_LEVELS + 1):
        high = math.floor(top * (level / HEAT_LEVELS) ** 2)
        if level == HEAT_LEVELS:
            high = top
        if high >= low:
            legend.append((level, f"{low:,}" if high == low else f"{low:,}–{high:,}"))
            low = high + 1
    return legend


def matrix(chart: Chart, finder_url: str) -> dict:
    """The ATT&CK matrix: tactics as columns (as many as fit side by side, the rest on the
    next rows: static/css/site.css), each technique's cell shaded by its count."""
    top = max((r.values[0] for r in chart.rows), default=0)
    tactics = []
    for row in chart.rows:
        if not tactics or tactics[-1]["key"] != row.group_key:
            tactics.append({"key": row.group_key, "name": row.group, "cells": [], "more": 0})
        column = tactics[-1]
        if len(column["cells"]) < MATRIX_SHOWN:
            column["cells"].append(
                {
                    "label": row.label,
                    "value": _number(row.values[0]),
                    "href": f"{finder_url}?{row.query}" if row.query else "",
                    "level": heat_level(row.values[0], top),
                }
            )
        else:
            column["more"] += 1
    return {
        "tactics": tactics,
        "legend": heat_legend(top),
        "more": sum(column["more"] for column in tactics),
        "shown": MATRIX_SHOWN,
    }


LAYOUTS = {"bars": bars, "columns": columns, "heatmap": heatmap, "matrix": matrix}


def drawing(chart: Chart, finder_url: str) -> dict:
    return LAYOUTS[chart.layout](chart, finder_url)
