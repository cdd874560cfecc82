#!/usr/bin/env python3
"""bench/sql.py - hostlinkd's own SQL statements, for the floor (bench/floor.c).

    bench/sql.py BUILDDIR OUT FILE.c:NAME [FILE.c:NAME ...]

Runs the C preprocessor on each source file (src/FILE.c, with BUILDDIR's
autoconf.h), finds the statement `NAME = DB_STMT("..." "...", N)` - now
expanded to `NAME = { ("..." "..."), (N), ...}` - and joins its string
literals into the statement's text. OUT receives the statements, in the
order given, each followed by a NUL byte: the floor prepares them as they
are, so it runs exactly what hostlinkd runs (macros such as COMPANY_COLS
included) and cannot drift from it.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LITERAL = r'"(?:[^"\\\n]|\\.)*"'
ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def unquote(lit):
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), "\\" + m.group(1)), lit[1:-1])


def statement(text, name):
    m = re.search(r"\b%s\s*=\s*\{\s*\(\s*((?:%s\s*)+)\)\s*,\s*\(\s*(\d+)\s*\)"
                  % (re.escape(name), LITERAL), text)
    if m is None:
        raise SystemExit("bench/sql.py: no statement %s" % name)
    return "".join(unquote(x) for x in re.findall(LITERAL, m.group(1)))


def main(argv):
    if len(argv) < 4:
        raise SystemExit(__doc__)
    build, out, wanted = argv[1], argv[2], argv[3:]
    expanded = {}
    sql = []
    for w in wanted:
        path, _, name = w.partition(":")
        if path not in expanded:
            expanded[path] = subprocess.run(
                ["cc", "-E", "-P", "-I", build, "-I", os.path.join(ROOT, "src"),
                 os.path.join(ROOT, "src", path)] +
                subprocess.run(["pkg-config", "--cflags", "libpq", "json-c", "libcurl"],
                               stdout=subprocess.PIPE, text=True, check=True).stdout.split(),
                stdout=subprocess.PIPE, text=True, check=True).stdout
        sql.append(statement(expanded[path], name))
    with open(out, "w") as f:
        f.write("".join(s + "\0" for s in sql))


if __name__ == "__main__":
    main(sys.argv)
