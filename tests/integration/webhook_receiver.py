"""A real HTTP webhook receiver for the integration tests (stdlib only).

Listens on 127.0.0.1 (a free port), records every request (arrival time,
method, path, headers, raw body bytes) and answers from a per-path script:

    r = Receiver().start()
    url = r.url("/hook/a")
    r.script("/hook/a", 500, {"status": 503, "headers": {"Retry-After": "3"}},
             {"status": 200, "delay": 12})
    ...
    reqs = r.wait("/hook/a", 3, timeout=10)

Each scripted answer is used once, in order; when a path's script is empty
the default answer is 200 {"ok":true}.  An answer is an int (status) or a
dict {status, headers, body (bytes/str), delay (seconds before answering)}.
A request is recorded when it arrives, before any delay, so a request that
is held open (or whose client dies) is still seen.
"""

import http.server
import socket
import socketserver
import threading
import time

import harness as H


class Request:
    def __init__(self, method, path, headers, body):
        self.time = time.time()          # wall clock at arrival
        self.mono = time.monotonic()
        self.method = method
        self.path = path
        self.raw_headers = headers       # list of (name, value), as sent
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body                 # bytes, exactly as received
        self.answer = None               # the status we answer (None: still held)
        self.answered = False            # the answer was written without error

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def header_count(self, name):
        return sum(1 for k, _ in self.raw_headers if k.lower() == name.lower())

    def json(self):
        import json
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Request %s %s %s %r>" % (self.method, self.path, self.headers, self.body[:200])


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class Receiver:
    def __init__(self, host="127.0.0.1"):
        self.host = host
        self.port = None
        self.server = None
        self.requests = []
        self.scripts = {}
        self.cond = threading.Condition()

    # -- control ---------------------------------------------------------

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = b""
                while len(body) < length:
                    chunk = self.rfile.read(length - len(body))
                    if not chunk:
                        break
                    body += chunk
                req = Request(self.command, self.path, list(self.headers.items()), body)
                ans = receiver._record(req)
                if isinstance(ans, int):
                    ans = {"status": ans}
                delay = ans.get("delay", 0)
                if delay:
                    time.sleep(delay)
                status = ans.get("status", 200)
                out = ans.get("body", b'{"ok":true}')
                if isinstance(out, str):
                    out = out.encode()
                req.answer = status
                try:
                    self.send_response(status)
                    for k, v in (ans.get("headers") or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(out)
                    self.wfile.flush()
                    req.answered = True
                except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
                    pass
                self.close_connection = True

            do_POST = _handle
            do_GET = _handle
            do_PUT = _handle

        self.server = _Server((self.host, 0), Handler)
        self.port = self.server.server_address[1]
        t = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                             daemon=True)
        t.start()
        H.on_exit(self.stop)
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, path, host=None):
        return "http://%s:%d%s" % (host or self.host, self.port, path)

    def script(self, path, *answers):
        """Append answers for path (used once each, in order)."""
        with self.cond:
            self.scripts.setdefault(path, []).extend(answers)

    def _record(self, req):
        with self.cond:
            self.requests.append(req)
            script = self.scripts.get(req.path.split("?")[0])
            ans = script.pop(0) if script else {"status": 200}
            self.cond.notify_all()
        return ans

    # -- inspection --------------------------------------------------------

    def got(self, path):
        with self.cond:
            return [r for r in self.requests if r.path.split("?")[0] == path]

    def wait(self, path, n, timeout, pred=None):
        """The requests to path once at least n (matching pred) arrived."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                reqs = [r for r in self.requests if r.path.split("?")[0] == path
                        and (pred is None or pred(r))]
                if len(reqs) >= n:
                    return reqs
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("receiver: %d request(s) to %s after %.1fs, wanted %d: %r"
                                         % (len(reqs), path, timeout, n, reqs))
                self.cond.wait(min(left, 0.2))
