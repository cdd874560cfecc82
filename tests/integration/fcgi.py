"""Minimal FastCGI client (and an echo responder) for the integration tests.

The client speaks the responder role to hostlinkd directly, without a front
server, and can misbehave on purpose: trickle the body, send less than
CONTENT_LENGTH, or stop half way.  The echo responder stands in for
hostlinkd behind nginx/Apache to check what the shipped configs pass on.
"""

import json
import os
import socket
import struct
import sys

VERSION = 1
BEGIN_REQUEST = 1
ABORT_REQUEST = 2
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
RESPONDER = 1
KEEP_CONN = 1


class FcgiError(Exception):
    """The connection ended before a complete FastCGI response arrived."""


def _record(rtype, content, request_id=1):
    pad = (8 - len(content) % 8) % 8
    return (struct.pack("!BBHHBx", VERSION, rtype, request_id, len(content), pad)
            + content + b"\0" * pad)


def _records(rtype, data, request_id=1):
    """Split data into records of at most 65535 bytes (no terminator)."""
    out = []
    for i in range(0, len(data), 65535):
        out.append(_record(rtype, data[i:i + 65535], request_id))
    return b"".join(out)


def _nv_len(n):
    return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)


def encode_params(params):
    out = bytearray()
    for k, v in params.items():
        k = k.encode("latin-1") if isinstance(k, str) else k
        v = v.encode("latin-1") if isinstance(v, str) else v
        out += _nv_len(len(k)) + _nv_len(len(v)) + k + v
    return bytes(out)


def decode_params(data):
    params, i = {}, 0
    while i < len(data):
        lens = []
        for _ in range(2):
            if data[i] & 0x80:
                lens.append(struct.unpack("!I", data[i:i + 4])[0] & 0x7FFFFFFF)
                i += 4
            else:
                lens.append(data[i])
                i += 1
        k = data[i:i + lens[0]]
        i += lens[0]
        v = data[i:i + lens[1]]
        i += lens[1]
        params[k.decode("latin-1")] = v.decode("latin-1")
    return params


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise FcgiError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def read_record(sock):
    """Returns (type, request_id, content) or raises FcgiError on EOF."""
    hdr = _recv_exact(sock, 8)
    _ver, rtype, rid, clen, plen = struct.unpack("!BBHHBx", hdr)
    content = _recv_exact(sock, clen) if clen else b""
    if plen:
        _recv_exact(sock, plen)
    return rtype, rid, content


class Response:
    """A parsed CGI-style response (status, headers, body)."""

    def __init__(self, status, headers, body, stderr=b"", app_status=None):
        self.status = status
        self.headers = headers          # list of (name, value)
        self.body = body
        self.stderr = stderr
        self.app_status = app_status

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Response %s %r %r>" % (self.status, self.headers, self.body[:300])


def parse_cgi_output(raw):
    sep = raw.find(b"\r\n\r\n")
    seplen = 4
    if sep < 0:
        sep = raw.find(b"\n\n")
        seplen = 2
    if sep < 0:
        raise FcgiError("no header/body separator in response: %r" % raw[:300])
    head, body = raw[:sep], raw[sep + seplen:]
    headers, status = [], 200
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if not line:
            continue
        k, _, v = line.decode("latin-1").partition(":")
        k, v = k.strip(), v.strip()
        if k.lower() == "status":
            status = int(v.split()[0])
        else:
            headers.append((k, v))
    return status, headers, body


def connect(address, timeout=10.0, source=None):
    """address: a unix socket path, or (host, port); source: the local
    address to connect from (TCP only; None: the kernel's choice)."""
    if isinstance(address, (tuple, list)):
        sock = socket.create_connection(tuple(address), timeout=timeout,
                                        source_address=(source, 0) if source else None)
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(address)
    return sock


def build_params(method, uri, headers=None, body=b"", content_length=None,
                 remote_addr="127.0.0.1", extra=None):
    path, _, query = uri.partition("?")
    params = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "hostlink-tests",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_ADDR": "127.0.0.1",
        "SERVER_PORT": "80",
        "REQUEST_SCHEME": "http",
        "REQUEST_METHOD": method,
        "REQUEST_URI": uri,
        "DOCUMENT_URI": path,
        "SCRIPT_NAME": path,
        "QUERY_STRING": query,
        "REMOTE_ADDR": remote_addr,
        "REMOTE_PORT": "40000",
        "HTTP_HOST": "127.0.0.1",
    }
    if content_length is None and body:
        content_length = len(body)
    if content_length is not None:
        params["CONTENT_LENGTH"] = str(content_length)
    for k, v in (headers or {}).items():
        lk = k.lower()
        if lk == "content-type":
            params["CONTENT_TYPE"] = v
        elif lk == "content-length":
            params["CONTENT_LENGTH"] = v
        else:
            params["HTTP_" + k.upper().replace("-", "_")] = v
    if remote_addr is None:
        del params["REMOTE_ADDR"]
    for k, v in (extra or {}).items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = v
    return params


# Called as observer(method, uri, response) with every response received
# here or by harness.http (the harness checks them against the OpenAPI
# document: openapi_check.py); None = nobody.
observer = None


def observe(method, uri, resp):
    """Hands resp to the observer (which may raise); returns resp."""
    if observer is not None and method is not None and uri is not None:
        observer(method, uri, resp)
    return resp


class Request:
    """A FastCGI request sent step by step (for slow / partial uploads)."""

    def __init__(self, address, method, uri, headers=None, content_length=None,
                 remote_addr="127.0.0.1", extra=None, timeout=10.0, params=None, source=None):
        self.sock = connect(address, timeout, source)
        if params is None:
            params = build_params(method, uri, headers, b"", content_length,
                                  remote_addr, extra)
        self.method, self.uri = params.get("REQUEST_METHOD"), params.get("REQUEST_URI")
        self.sock.sendall(
            _record(BEGIN_REQUEST, struct.pack("!HB5x", RESPONDER, 0))
            + _records(PARAMS, encode_params(params))
            + _record(PARAMS, b""))

    def send(self, data):
        if data:
            self.sock.sendall(_records(STDIN, data))

    def end_body(self):
        self.sock.sendall(_record(STDIN, b""))

    def response(self):
        out, err, app_status = bytearray(), bytearray(), None
        try:
            while True:
                rtype, _rid, content = read_record(self.sock)
                if rtype == STDOUT:
                    out += content
                elif rtype == STDERR:
                    err += content
                elif rtype == END_REQUEST:
                    app_status = struct.unpack("!IB3x", content)[0]
                    break
        finally:
            self.close()
        status, headers, body = parse_cgi_output(bytes(out))
        return observe(self.method, self.uri,
                       Response(status, headers, body, bytes(err), app_status))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def request(address, method, uri, headers=None, body=b"", content_length=None,
            remote_addr="127.0.0.1", extra=None, timeout=10.0, source=None):
    """One complete FastCGI request (from the local address source, when
    given); returns a Response or raises."""
    if isinstance(body, str):
        body = body.encode()
    req = Request(address, method, uri, headers, content_length if content_length is not None
                  else (len(body) if body else None), remote_addr, extra, timeout,
                  source=source)
    try:
        req.send(body)
        req.end_body()
    except OSError:
        pass   # the responder may answer (413 …) before it reads everything
    return req.response()


# ---------------------------------------------------------------------------
# Echo responder: answers every request with its params and body as JSON.

def _serve_conn(conn):
    conn.settimeout(30)
    try:
        while True:
            params_raw, body, keep = bytearray(), bytearray(), False
            while True:
                rtype, rid, content = read_record(conn)
                if rtype == BEGIN_REQUEST:
                    _role, flags = struct.unpack("!HB5x", content)
                    keep = bool(flags & KEEP_CONN)
                elif rtype == PARAMS:
                    params_raw += content
                elif rtype == STDIN:
                    if not content:
                        break
                    body += content
            params = decode_params(bytes(params_raw))
            payload = json.dumps({"params": params,
                                  "body": body.decode("latin-1")}).encode()
            out = (b"Status: 200 OK\r\nContent-Type: application/json\r\n"
                   b"X-Request-Id: echo\r\n\r\n" + payload)
            conn.sendall(_records(STDOUT, out, rid) + _record(STDOUT, b"", rid)
                         + _record(END_REQUEST, struct.pack("!IB3x", 0, 0), rid))
            if not keep:
                break
    except (FcgiError, OSError):
        pass
    finally:
        conn.close()


def serve_echo(listener):
    """Serve forever on a listening socket, one thread per connection."""
    import threading
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_serve_conn, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    # `fcgi.py echo` serves on fd 0 (mod_fcgid / spawn-fcgi style);
    # `fcgi.py echo PATH` listens on a unix socket PATH.
    if len(sys.argv) >= 2 and sys.argv[1] == "echo":
        if len(sys.argv) >= 3 and sys.argv[2].startswith("/"):
            path = sys.argv[2]
            if os.path.exists(path):
                os.unlink(path)
            lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            lst.bind(path)
            os.chmod(path, 0o666)
            lst.listen(64)
        else:
            lst = socket.socket(fileno=0)
        serve_echo(lst)
    else:
        sys.stderr.write("usage: fcgi.py echo [SOCKET]\n")
        sys.exit(2)
