#!/usr/bin/env python3
"""bench/tojson.py - bench/run's tables as one JSON object (bench/run --json FILE).

    bench/tojson.py RESULTS OUT KEY=VALUE...

RESULTS: bench/run's result lines, each "row|curve|scale FIELD...", with the
fields of its tables ("-" = none). OUT gets
{"settings": {KEY: VALUE...}, "rows": [...], "curves": [...], "scale": [...]},
each entry an object of the table's columns (numbers as numbers, "-" as null).
"""
import json
import sys

FIGURES = ["req_s", "p50_ms", "p99_ms", "errors", "cpu_us", "pg_us", "nginx_us"]
COLUMNS = {
    "row": ["name"] + FIGURES + ["ratio", "rss_mib", "cpu_ratio", "target"],
    "curve": ["row", "axis", "connections", "workers", "service"] + FIGURES +
             ["ratio", "rss_mib", "cpu_ratio", "target"],
    "scale": ["name"] + FIGURES + ["ratio", "what", "target"],
}
TEXT = {"name", "row", "axis", "service", "what", "target"}
NUMBERS = {"connections", "threads", "workers", "cpus", "rounds", "tokens"}


def value(col, v):
    if v == "-" or v == "":
        return None
    if col in TEXT:
        return v.replace("_", " ") if col in ("name", "what") else v
    try:
        f = float(v)
    except ValueError:
        return v
    return int(f) if f.is_integer() and "." not in v else f


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    settings = {}
    for kv in argv[3:]:
        k, _, v = kv.partition("=")
        settings[k] = int(v) if k in NUMBERS and v.isdigit() else v
    out = {"settings": settings, "rows": [], "curves": [], "scale": []}
    with open(argv[1]) as f:
        for line in f:
            kind, *fields = line.split()
            cols = COLUMNS[kind]
            fields += ["-"] * (len(cols) - len(fields))
            entry = {c: value(c, v) for c, v in zip(cols, fields)}
            out[{"row": "rows", "curve": "curves", "scale": "scale"}[kind]].append(entry)
    with open(argv[2], "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv)
