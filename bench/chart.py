#!/usr/bin/env python3
"""bench/chart.py - draw bench/run --curves' CSV as an SVG chart (stdlib only).

    bench/chart.py CURVES.csv OUT.svg [SUBTITLE]

Four panels: req/s and p99 against connections, req/s and p99 against
workers; one line per (service, row), x on a log2 scale (the points are
powers of two), y linear from 0. Colours: one per row; hostlinkd solid, the
floor dashed.
"""
import csv
import math
import sys
from xml.sax.saxutils import escape

PANELS = [("connections", "req_s", "req/s vs connections"),
          ("connections", "p99_ms", "p99 (ms) vs connections"),
          ("workers", "req_s", "req/s vs workers"),
          ("workers", "p99_ms", "p99 (ms) vs workers")]
COLOURS = ["#1f5fa8", "#c2410c", "#15803d", "#7e22ce", "#a16207", "#0e7490"]
PW, PH = 420, 260          # one panel's plot area
ML, MR, MT, MB = 70, 20, 40, 50
W = 2 * (ML + PW + MR)
LEGEND_H = 60


def nice_max(v):
    """A round number >= v (1, 2, 2.5 or 5 times a power of ten)."""
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * e >= v:
            return m * e
    return 10 * e


def fmt(v):
    return ("%d" % v) if float(v).is_integer() else ("%g" % v)


def panel(out, x0, y0, rows, axis, metric, title, series):
    xs = sorted({float(r[axis]) for r in rows if r["axis"] == axis})
    if not xs:
        return
    lo, hi = math.log2(xs[0]), math.log2(xs[-1])
    span = hi - lo or 1.0
    ymax = nice_max(max([float(r[metric]) for r in rows
                         if r["axis"] == axis and r[metric] not in ("", "-")] or [1]))

    def px(x):
        return x0 + (math.log2(x) - lo) / span * PW

    def py(y):
        return y0 + PH - y / ymax * PH
    out.append('<text x="%.1f" y="%.1f" class="title">%s</text>'
               % (x0 + PW / 2, y0 - 14, escape(title)))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" class="frame"/>' % (x0, y0, PW, PH))
    for i in range(6):
        y = ymax * i / 5
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/>'
                   % (x0, py(y), x0 + PW, py(y)))
        out.append('<text x="%d" y="%.1f" class="ytick">%s</text>' % (x0 - 6, py(y) + 4, fmt(y)))
    for x in xs:
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="tick"/>'
                   % (px(x), y0 + PH, px(x), y0 + PH + 5))
        out.append('<text x="%.1f" y="%d" class="xtick">%s</text>' % (px(x), y0 + PH + 18, fmt(x)))
    out.append('<text x="%.1f" y="%d" class="label">%s</text>'
               % (x0 + PW / 2, y0 + PH + 38, axis + " (log2 scale)"))
    out.append('<text x="%d" y="%.1f" class="label" transform="rotate(-90 %d %.1f)">%s</text>'
               % (x0 - 52, y0 + PH / 2, x0 - 52, y0 + PH / 2,
                  "req/s" if metric == "req_s" else "p99 (ms)"))
    for (service, row), style in series.items():
        pts = sorted((float(r[axis]), float(r[metric])) for r in rows
                     if r["axis"] == axis and r["service"] == service and r["row"] == row
                     and r[metric] not in ("", "-"))
        if not pts:
            continue
        d = " ".join("%.1f,%.1f" % (px(x), py(y)) for x, y in pts)
        out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>'
                   % (d, style[0], style[1]))
        for x, y in pts:
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (px(x), py(y), style[0]))


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    with open(argv[1], newline="") as f:
        rows = list(csv.DictReader(f))
    subtitle = argv[3] if len(argv) > 3 else ""
    names = sorted({r["row"] for r in rows})
    series = {}
    for i, row in enumerate(names):
        for service in sorted({r["service"] for r in rows}, reverse=True):
            dash = ' stroke-dasharray="6 4"' if service != "hostlinkd" else ""
            series[(service, row)] = (COLOURS[i % len(COLOURS)], dash)
    ph = MT + PH + MB
    height = 60 + 2 * ph + LEGEND_H
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">' % (W, height, W, height),
           "<style>.title{font-size:14px;font-weight:bold;text-anchor:middle}"
           ".frame{fill:none;stroke:#444}.grid{stroke:#ddd}.tick{stroke:#444}"
           ".xtick{text-anchor:middle}.ytick{text-anchor:end}.label{text-anchor:middle}"
           "</style>",
           '<rect width="100%" height="100%" fill="#fff"/>',
           '<text x="%d" y="24" class="title" font-size="16">bench/run --curves: '
           'hostlinkd beside the floor</text>' % (W / 2),
           '<text x="%d" y="42" text-anchor="middle">%s</text>' % (W / 2, escape(subtitle))]
    for i, (axis, metric, title) in enumerate(PANELS):
        x0 = (i % 2) * (ML + PW + MR) + ML
        y0 = 60 + (i // 2) * ph + MT
        panel(out, x0, y0, rows, axis, metric, title, series)
    y = 60 + 2 * ph + 20
    for i, ((service, row), style) in enumerate(series.items()):
        x = ML + (i % 4) * 220
        yy = y + (i // 4) * 20
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
                   % (x, yy, x + 30, yy, style[0], style[1]))
        out.append('<text x="%d" y="%d">%s</text>' % (x + 36, yy + 4, escape(service + " " + row)))
    out.append("</svg>")
    with open(argv[2], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv)
