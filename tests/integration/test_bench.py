"""bench/run itself, on a tiny configuration (1 s runs, 1 round, 2 points per
curve): its rows answer without errors on both sides, --json writes the
whole table with the run's settings, --curves writes curves.csv and an SVG
of four panels to BENCH_RESULTS, and the run stops everything it started
and removes its scratch directory. The numbers are not checked (the
machine is shared): that they exist, are positive and add up is."""

import csv
import glob
import json
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import harness as H

SVG = "{http://www.w3.org/2000/svg}"


def _new_scratch_dirs(before):
    """The scratch directories bench/run made since before (none may be left)."""
    return sorted(set(glob.glob("/tmp/hostlink-bench.*")) - before)


def test_bench_run_rows_json_and_curves():
    out_dir = tempfile.mkdtemp(prefix="hlbench-")
    json_path = os.path.join(out_dir, "bench.json")
    results = os.path.join(out_dir, "results")
    before = set(glob.glob("/tmp/hostlink-bench.*"))
    env = dict(os.environ, BENCH_DURATION="1s", BENCH_ROUNDS="1", BENCH_WARMUP="1s",
               BENCH_TOKENS="2", BENCH_ROWS="hosted-session create-company",
               BENCH_CURVE_ROWS="hosted-properties", BENCH_CURVE_CONNECTIONS="1 4",
               BENCH_CURVE_WORKERS="1 2", BENCH_WORKERS="2", BENCH_RESULTS=results,
               BENCH_BUILDDIR=H.BUILDDIR, BENCH_PORT=str(H.free_port()))
    env.pop("HOSTLINK_WORKERS", None)
    try:
        r = subprocess.run([os.path.join(H.ROOT, "bench", "run"), "--curves", "--json", json_path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           stdin=subprocess.DEVNULL, timeout=85)
        log = (r.stdout + r.stderr).decode(errors="replace")[-4000:]
        assert r.returncode == 0, log
        text = r.stdout.decode()
        for name in ("floor:hosted-session", "hostlinkd:/hosted/session",
                     "floor:create-company", "hostlinkd:/companies(POST)"):
            assert name in text, log
        assert "nginx_us" in text and "cpu_ratio" in text, log

        with open(json_path) as f:
            doc = json.load(f)
        s = doc["settings"]
        assert s["duration"] == "1s" and s["rounds"] == 1 and s["workers"] == 2, s
        assert s["cpus"] >= 1 and len(s["commit"]) == 40 and s["date"].endswith("Z"), s
        rows = {x["name"]: x for x in doc["rows"]}
        assert set(rows) == {"floor:hosted-session", "hostlinkd:/hosted/session",
                             "floor:create-company", "hostlinkd:/companies(POST)"}, rows
        for x in rows.values():
            assert x["req_s"] > 0 and x["errors"] == 0, x
            assert x["cpu_us"] > 0 and x["pg_us"] > 0 and x["nginx_us"] > 0, x
            assert x["p50_ms"] <= x["p99_ms"], x
        h, f = rows["hostlinkd:/hosted/session"], rows["floor:hosted-session"]
        assert abs(h["ratio"] - h["req_s"] / f["req_s"]) < 0.01, (h, f)
        assert abs(h["cpu_ratio"] - h["cpu_us"] / f["cpu_us"]) < 0.05, (h, f)
        assert f["ratio"] == 1.0 and f["cpu_ratio"] == 1.0, f

        # 2 axes x 2 points x 2 services, hostlinkd at the workers it was told.
        curves = doc["curves"]
        assert len(curves) == 8, curves
        got = sorted((c["axis"], c["connections"], c["workers"], c["service"]) for c in curves)
        want = sorted([("connections", n, 2, svc) for n in (1, 4) for svc in ("floor", "hostlinkd")] +
                      [("workers", 16, w, svc) for w in (1, 2) for svc in ("floor", "hostlinkd")])
        assert got == want, got
        assert all(c["req_s"] > 0 and c["errors"] == 0 for c in curves), curves

        with open(os.path.join(results, "curves.csv"), newline="") as fh:
            table = list(csv.DictReader(fh))
        assert len(table) == 8 and table[0]["row"] == "hosted-properties", table
        assert {t["service"] for t in table} == {"floor", "hostlinkd"}, table
        svg = ET.parse(os.path.join(results, "curves.svg")).getroot()
        assert svg.tag == SVG + "svg", svg.tag
        texts = [t.text for t in svg.iter(SVG + "text")]
        for title in ("req/s vs connections", "p99 (ms) vs connections", "req/s vs workers",
                      "p99 (ms) vs workers", "hostlinkd hosted-properties",
                      "floor hosted-properties"):
            assert title in texts, texts
        assert len(list(svg.iter(SVG + "polyline"))) == 8, "4 panels x 2 lines"
    finally:
        subprocess.run(["rm", "-rf", out_dir])
    assert _new_scratch_dirs(before) == [], "scratch directory left behind"
    ps = subprocess.run(["ps", "-eo", "args"], stdout=subprocess.PIPE).stdout.decode()
    assert "--port %s " % env["BENCH_PORT"] not in ps, "the run's stack is still running"
