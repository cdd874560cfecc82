#!/usr/bin/env python3
"""The stack the browser tests drive: a throwaway PostgreSQL, hostlinkd and
nginx with the shipped nginx/hostlink.conf serving web/ (all from
tests/integration/harness.py).

Prints one JSON line on stdout once everything answers:
    {"base_url", "api_key", "live_key", "org_id", "jwt_secret_file", "dir"}
then waits until stdin closes (or SIGTERM/SIGINT) and stops everything it
started (the harness's atexit handlers, by pid).  run.mjs spawns it."""

import json
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import harness as H  # noqa: E402


def main():
    signal.signal(signal.SIGINT, lambda s, f: sys.exit(128 + s))
    env = H.env()
    inst = env.instance("browser", listen_mode="0666", workers="2")
    nginx = H.Nginx(inst.socket)
    app_url = "http://127.0.0.1:%d" % nginx.port
    inst.values["app_url"] = app_url
    H.write_conf(inst.conf, inst.values)
    inst.start()
    H.on_exit(inst.stop)
    H.on_exit(nginx.stop)
    nginx.start()
    print(json.dumps({
        "base_url": app_url,
        "api_key": env.key_test["key"],
        "live_key": env.key_live["key"],
        "org_id": env.org_id,
        "jwt_secret_file": env.jwt_secret_file,
        "dir": H.session_dir(),
        "hostlinkd_log": inst.log_path,
        "nginx_dir": nginx.dir,
    }), flush=True)
    try:
        sys.stdin.read()
    except (OSError, ValueError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
