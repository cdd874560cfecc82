"""Every response hostlinkd gives the integration suite is checked against the
OpenAPI document (openapi/hostlink.yaml), so the document cannot drift from
the code: the status must be one the document lists for that path and method,
the Content-Type one it lists for that status, and a JSON body must validate
against its schema (JSON Schema 2020-12, python3-jsonschema).

harness.py installs check() as fcgi.observer: the two places responses come
back (harness.http through nginx/Apache, fcgi.Request.response directly) pass
every response through it.  A violation raises AssertionError in the test
that made the request, and is also recorded, so tests/run.py fails that test
even if it swallowed the exception (a retry loop, say).

Not checked: responses that are not hostlinkd's (no X-Request-Id: nginx's own
502 page, the OAuth stand-in, static files), and those made inside
skipping() (the echo responder of test_frontends)."""

import contextlib
import json
import os
import re
import threading

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCUMENT = os.path.join(ROOT, "openapi", "hostlink.yaml")

# Paths hostlinkd serves (SPEC 6); anything else is the front server's.
PREFIXES = ("/api/", "/ping", "/healthz", "/status", "/metrics")
# Statuses any request may get before it is routed (the document says so in
# info.description): the error envelope, whatever the path.
UNROUTED = ("400", "404", "405", "413", "414")
# The front server's own answers (hostlinkd down or slow), in the envelope too.
FRONT = ("502", "504")

_lock = threading.Lock()
_doc = None
_routes = None
_validators = {}
_local = threading.local()
violations = []


def document():
    """The parsed document (loaded once)."""
    global _doc, _routes
    with _lock:
        if _doc is None:
            with open(DOCUMENT, encoding="utf-8") as f:
                _doc = yaml.safe_load(f)
            _routes = []
            for template in _doc["paths"]:
                rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
                _routes.append((re.compile(rx), template))
    return _doc


def candidates(path):
    """The paths hostlinkd may have seen for a path the test sent: as sent,
    cut at a NUL (FastCGI parameters are C strings), cut at a space (the
    front server's request line ends there); each with one trailing slash
    forgiven (as request.c does).  Neither hostlinkd nor the front servers
    (which pass the raw $request_uri) resolve dot segments or "//"."""
    out = [path, path.split("\x00")[0]]
    out.append(out[-1].split(" ")[0])
    return [p[:-1] if len(p) > 1 and p.endswith("/") else p for p in out]


def match(path):
    """The document's path template for a request path, or None."""
    document()
    for p in candidates(path):
        for rx, template in _routes:
            if rx.match(p):
                return template
    return None


def _resolve(obj):
    doc = document()
    while isinstance(obj, dict) and "$ref" in obj and len(obj) == 1:
        node = doc
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
    return obj


def validator(key, schema):
    """A cached 2020-12 validator for schema; its $refs resolve in the
    document's components."""
    with _lock:
        v = _validators.get(key)
        if v is None:
            root = dict(schema)
            root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            root["components"] = _doc["components"]
            v = jsonschema.Draft202012Validator(root)
            _validators[key] = v
    return v


@contextlib.contextmanager
def skipping():
    """Responses inside this block are not checked (not hostlinkd's)."""
    old = getattr(_local, "skip", False)
    _local.skip = True
    try:
        yield
    finally:
        _local.skip = old


def take():
    """The violations recorded since the last take() (and forgets them)."""
    with _lock:
        out = list(violations)
        del violations[:]
    return out


def _fail(msg):
    # HOSTLINK_OPENAPI_LOG=FILE: a survey, not a check: every violation is
    # appended to FILE and the test goes on (for updating the document).
    log = os.environ.get("HOSTLINK_OPENAPI_LOG")
    if log:
        with _lock, open(log, "a") as f:
            f.write(msg.split("\n", 1)[0] + "\n")
        raise _Surveyed()
    with _lock:
        violations.append(msg)
    raise AssertionError("OpenAPI document violated: " + msg)


class _Surveyed(Exception):
    """Raised past the failing check in survey mode; check() swallows it."""


def _media_type(resp):
    return (resp.header("Content-Type") or "").split(";")[0].strip().lower()


def _check_body(what, key, spec, method, resp):
    """resp against one response object of the document."""
    content = spec.get("content")
    if method == "HEAD":
        return
    if not content:
        if resp.body:
            _fail("%s: the document gives no body, got %d bytes: %r"
                  % (what, len(resp.body), resp.body[:200]))
        return
    mtype = _media_type(resp)
    if mtype not in content:
        _fail("%s: Content-Type %r, the document lists %s" % (what, mtype, sorted(content)))
    schema = content[mtype].get("schema")
    if schema is None or mtype != "application/json":
        return
    try:
        body = json.loads(resp.body.decode("utf-8"))
    except ValueError as e:
        _fail("%s: body is not JSON (%s): %r" % (what, e, resp.body[:200]))
    err = jsonschema.exceptions.best_match(validator(key + (mtype,), schema).iter_errors(body))
    if err is not None:
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        _fail("%s: body does not match the schema at %s: %s\nschema path: %s\nbody: %s"
              % (what, where, err.message, "/".join(str(p) for p in err.absolute_schema_path),
                 resp.body[:1500].decode("utf-8", "replace")))


def check(method, uri, resp):
    """Checks one response of hostlinkd to method uri (raises AssertionError)."""
    try:
        _check(method, uri, resp)
    except _Surveyed:
        pass


def _check(method, uri, resp):
    if (getattr(_local, "skip", False) or resp.header("X-Request-Id") is None or
            not isinstance(uri, str) or not isinstance(method, str)):
        return
    path = uri.split("?", 1)[0]
    if not path.startswith(PREFIXES):
        return
    doc = document()
    status = str(resp.status)
    template = match(path)
    # hostlinkd's router compares methods as sent: "get" is no method of ours
    op = doc["paths"][template].get(method.lower()) if template and method.isupper() else None
    what = "%s %s -> %s" % (method, template or path, status)
    if op is None or (status in ("414",) + FRONT and status not in op["responses"]):
        if status not in UNROUTED + FRONT:
            _fail("%s: %s" % (what, "not a documented operation" if template is None
                                     else "no such method in the document"))
        spec = _resolve(doc["components"]["responses"]["BadRequest"])
        return _check_body(what, ("unrouted",), spec, method, resp)
    spec = op["responses"].get(status)
    if spec is None:
        _fail("%s: status %s is not documented (documented: %s)"
              % (what, status, ", ".join(sorted(op["responses"]))))
    _check_body(what, (template, method, status), _resolve(spec), method, resp)
