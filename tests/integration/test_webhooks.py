"""Webhooks end to end (SPEC §5 "Webhooks", contract "Issue 5 additions"):
endpoints through nginx, delivery by hostlinkd's background child to a real
HTTP receiver (support.py Receiver), Standard Webhooks signatures checked
the way the reference implementation checks them, retries (500, timeout,
Retry-After), 410, dead letters and replays, secret rotation, every event
of the Hosted Link journey, per-endpoint filters, a kill -9 of the delivery
child mid-delivery, the SSRF guard, `hostlinkctl dispatch --once`, tenancy
and secrets at rest, and the queue-depth metric.

Stacks (each its own database): "wh" (webhook_allow_private = true, retry
schedule 0,1s,1s), "whpriv" (webhook_allow_private = false, 0,1s) and
"whctl" (for dispatch --once, its background child paused)."""

import base64
import email.utils
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import subprocess
import time

import harness as H
import support_session as S
import support as HF
from support import Receiver

SECRET_RE = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")
ENDPOINT_KEYS = {"id", "url", "description", "events", "enabled", "disabled_reason", "created",
                 # Codat's WebhookConsumer members (issue 14)
                 "disabled", "eventTypes", "companyTags"}
DELIVERY_KEYS = {"id", "event_id", "event_type", "status", "attempts", "last_status_code",
                 "last_error", "next_attempt_at", "created", "delivered_at"}
EVENT_KEYS = {"id", "eventType", "generatedDate", "environment", "payload"}
ALL_EVENTS = ["company.created", "company.deleted", "connection.created", "connection.connected",
              "connection.failed", "connection.disconnected", "connection.deleted",
              "connection.reconnected", "ping"]
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


# ---------------------------------------------------------------------------
# Standard Webhooks verification, written from the reference implementation
# (standard-webhooks/libraries python/standardwebhooks/webhooks.py):
#   key = base64decode(secret without "whsec_")
#   expected = base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))
#   the header is space-separated "v1,<sig>" entries; any one matching passes;
#   the timestamp must be within 5 minutes of now.

class VerificationError(Exception):
    pass


TOLERANCE = 5 * 60


def sw_key(secret):
    assert secret.startswith("whsec_"), secret
    return base64.b64decode(secret[len("whsec_"):])


def sw_sign(secret, msg_id, timestamp, body):
    to_sign = ("%s.%s." % (msg_id, timestamp)).encode() + body
    return base64.b64encode(hmac.new(sw_key(secret), to_sign, hashlib.sha256).digest()).decode()


def sw_verify(secret, headers, body, now=None):
    """headers: a dict with webhook-id/-timestamp/-signature; body: raw bytes.
    Returns the parsed payload or raises VerificationError."""
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sig_header = headers.get("webhook-signature")
    if not (msg_id and ts and sig_header):
        raise VerificationError("Missing required headers")
    try:
        timestamp = int(ts)
    except ValueError:
        raise VerificationError("Invalid Signature Headers")
    now = time.time() if now is None else now
    if timestamp < now - TOLERANCE:
        raise VerificationError("Message timestamp too old")
    if timestamp > now + TOLERANCE:
        raise VerificationError("Message timestamp too new")
    expected = base64.b64decode(sw_sign(secret, msg_id, timestamp, body))
    for versioned in sig_header.split(" "):
        version, _, signature = versioned.partition(",")
        if version != "v1":
            continue
        try:
            got = base64.b64decode(signature, validate=True)
        except ValueError:
            continue
        if hmac.compare_digest(expected, got):
            return json.loads(body)
    raise VerificationError("No matching signature found")


def verifies(secret, req, **kw):
    try:
        sw_verify(secret, req.headers, req.body, **kw)
        return True
    except VerificationError:
        return False


def matching_entries(secret, req):
    """Indexes of the signature header's entries that verify with secret."""
    entries = req.header("webhook-signature").split(" ")
    want = sw_sign(secret, req.header("webhook-id"), req.header("webhook-timestamp"), req.body)
    return [i for i, e in enumerate(entries) if e == "v1," + want]


def assert_delivery_request(req, secret, event_id=None):
    """A delivery as Standard Webhooks describes it; returns the body JSON."""
    assert req.method == "POST", req
    assert req.header("content-type", "").split(";")[0].strip() == "application/json", req
    for h in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert req.header_count(h) == 1, "%s sent %d times: %r" % (h, req.header_count(h), req)
    assert re.match(r"^\d{9,11}$", req.header("webhook-timestamp")), req
    assert abs(int(req.header("webhook-timestamp")) - req.time) <= 5, \
        "webhook-timestamp %s vs arrival %.0f" % (req.header("webhook-timestamp"), req.time)
    for entry in req.header("webhook-signature").split(" "):
        assert re.match(r"^v1,[A-Za-z0-9+/]{43}=$", entry), req.header("webhook-signature")
    body = sw_verify(secret, req.headers, req.body)
    assert set(body) == EVENT_KEYS, body
    assert body["id"] == req.header("webhook-id"), (body, req.headers)
    if event_id is not None:
        assert req.header("webhook-id") == event_id, (event_id, req.headers)
    assert TIME_RE.match(body["generatedDate"]), body
    assert body["environment"] == "test", body
    assert isinstance(body["payload"], dict), body
    return body


# ---------------------------------------------------------------------------
# Fixtures

_stacks = {}
_receiver = None


def _stack(name, **overrides):
    s = _stacks.get(name)
    if s is None or not s.alive():
        if s is not None:
            s.stop()
        s = HF.HStack(name, db="%s_%s" % (name, secrets.token_hex(3)), **overrides).start()
        _stacks[name] = s
    return s


def st():
    return _stack("wh", webhook_allow_private="true", webhook_retry_schedule="0,1s,1s")


def receiver():
    global _receiver
    if _receiver is None or _receiver.server is None:
        _receiver = Receiver().start()
    return _receiver


def event_company(body):
    """The id of the company an event body is about (Codat's shapes)."""
    p = body["payload"]
    return p["referenceCompany"]["id"] if "referenceCompany" in p else p["id"]


def path(tag):
    return "/hook/%s-%s" % (tag, secrets.token_hex(4))


def tenant(s, tag):
    return s.new_tenant("Webhooks %s %s" % (tag, secrets.token_hex(3)))


def endpoint(s, key, url, **fields):
    body = dict(fields, url=url)
    out = s.ok("POST", "webhooks", key=key, body=body, status=201)      # Codat's 201
    assert set(out) == ENDPOINT_KEYS | {"secret"}, out
    assert out["eventTypes"] == out["events"] and out["disabled"] is (not out["enabled"]), out
    assert SECRET_RE.match(out["secret"]), out["secret"]
    assert len(sw_key(out["secret"])) == 32, out["secret"]
    return out


def ping(s, key, wid):
    out = s.ok("POST", "webhooks/%s/test" % wid, key=key)
    assert set(out) == {"event_id", "delivery_id"}, out
    assert H.UUID_RE.match(out["event_id"]) and H.UUID_RE.match(out["delivery_id"]), out
    return out


def deliveries(s, key, wid, status=None):
    q = "?status=" + status if status else ""
    out = s.ok("GET", "webhooks/%s/deliveries%s" % (wid, q), key=key)
    assert set(out) == {"results"}, out
    for d in out["results"]:
        assert set(d) == DELIVERY_KEYS, d
    return out["results"]


def delivery(s, key, wid, did):
    found = [d for d in deliveries(s, key, wid) if d["id"] == did]
    assert len(found) == 1, (did, found)
    return found[0]


def wait_delivery(s, key, wid, did, pred, timeout, what):
    last = {}

    def check():
        last["d"] = delivery(s, key, wid, did)
        return pred(last["d"])
    try:
        H.wait_for(check, timeout, what, interval=0.1)
    except TimeoutError as e:
        raise AssertionError("%s; last seen: %r" % (e, last.get("d")))
    return last["d"]


def succeeded(d):
    return d["status"] == "succeeded"


def background_pid(s):
    st_ = s.ok("GET", "/status")
    bg = [p for p in st_["processes"] if p.get("kind") == "background"]
    assert len(bg) == 1, "expected one background process in /status: %r" % st_["processes"]
    return bg[0]


def metric(s, name):
    r = s.req("GET", "/metrics")
    assert r.status == 200, r
    text = r.body.decode()
    assert "# TYPE %s gauge" % name in text, text[-2000:]
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    assert m, text[-2000:]
    return int(m.group(1))


def queue_depth(s):
    return metric(s, "hostlink_webhook_queue_depth")


# ---------------------------------------------------------------------------
# Endpoints: API, validation, secrets at rest, tenancy

def test_endpoint_api_secret_at_rest_and_tenancy():
    s = st()
    rc = receiver()
    a = tenant(s, "A")
    b = tenant(s, "B")
    url = rc.url(path("crud"))
    ep = endpoint(s, a.test_key, url, description="books", events=["company.created", "ping"])
    wid = ep["id"]
    assert H.UUID_RE.match(wid), ep
    assert ep["url"] == url and ep["description"] == "books", ep
    assert ep["events"] == ["company.created", "ping"], ep
    assert ep["enabled"] is True and ep["disabled_reason"] is None, ep
    assert TIME_RE.match(ep["created"]), ep
    # defaults: every event
    ep2 = endpoint(s, a.test_key, rc.url(path("crud2")))
    assert ep2["events"] == [] and ep2["description"] is None, ep2
    assert ep2["secret"] != ep["secret"]

    # the secret is shown once: never on GET / list / PATCH
    got = s.ok("GET", "webhooks/" + wid, key=a.test_key)
    assert set(got) == ENDPOINT_KEYS, got
    assert {k: got[k] for k in ENDPOINT_KEYS} == {k: ep[k] for k in ENDPOINT_KEYS}, (got, ep)
    lst = s.ok("GET", "webhooks", key=a.test_key)
    assert set(lst) == {"results"}, lst
    assert [w["id"] for w in lst["results"]] == [wid, ep2["id"]], lst
    r = s.req("GET", "webhooks", key=a.test_key)
    for sec in (ep["secret"], ep2["secret"]):
        assert sec.encode() not in r.body and sec[6:].encode() not in r.body, r

    # secrets at rest: sealed, never the whsec_ text or its key bytes
    for e in (ep, ep2):
        raw = bytes.fromhex(s.sql("SELECT encode(secret, 'hex') FROM webhook_endpoints "
                                  "WHERE id = '%s'" % e["id"]))
        assert len(raw) >= len(e["secret"]) + 12, raw
        for needle in (b"whsec_", e["secret"].encode(), e["secret"][6:].encode(),
                       sw_key(e["secret"])):
            assert needle not in raw, "webhook secret stored in clear"
    dump = s.sql("SELECT string_agg(encode(secret, 'escape'), '') FROM webhook_endpoints")
    assert "whsec_" not in dump

    # PATCH
    p = s.ok("PATCH", "webhooks/" + wid, key=a.test_key,
             body={"description": "ledger", "events": ["company.deleted"]})
    assert set(p) == ENDPOINT_KEYS, p
    assert p["description"] == "ledger" and p["events"] == ["company.deleted"], p
    assert p["url"] == url and p["enabled"] is True, p
    p = s.ok("PATCH", "webhooks/" + wid, key=a.test_key, body={"enabled": False})
    assert p["enabled"] is False and p["events"] == ["company.deleted"], p
    p = s.ok("PATCH", "webhooks/" + wid, key=a.test_key, body={"enabled": True, "events": []})
    assert p["enabled"] is True and p["events"] == [], p

    # validation
    for bad in ({}, {"url": "ftp://example.com/x"}, {"url": "not a url"}, {"url": 5},
                {"url": url, "events": ["company.created", "nope"]},
                {"url": url, "events": "company.created"}, {"url": url, "events": [1]}):
        H.assert_envelope(s.req("POST", "webhooks", key=a.test_key, body=bad), 400)
    H.assert_envelope(s.req("PATCH", "webhooks/" + wid, key=a.test_key,
                            body={"events": ["bogus"]}), 400)
    H.assert_envelope(s.req("PATCH", "webhooks/" + wid, key=a.test_key,
                            body={"url": "javascript:alert(1)"}), 400)
    H.assert_envelope(s.req("GET", "webhooks/%s/deliveries?status=bogus" % wid,
                            key=a.test_key), 400, "VALIDATION_ERROR")
    H.assert_envelope(s.req("GET", "webhooks"), 401, "INVALID_API_KEY")
    H.assert_envelope(s.req("POST", "webhooks", key=a.test_key, body="url=x",
                            ctype="application/x-www-form-urlencoded"), 415)

    # one delivered ping so A has a delivery to hide from B
    pg = ping(s, a.test_key, wid)
    wait_delivery(s, a.test_key, wid, pg["delivery_id"], succeeded, 10, "ping delivered")

    # another org, and A's own live key (another environment), see nothing of A's
    for key in (b.test_key, a.live_key):
        assert s.ok("GET", "webhooks", key=key)["results"] == [], key
        for method, sub, body in (("GET", "", None), ("PATCH", "", {"description": "x"}),
                                  ("PATCH", "", {"enabled": False}),
                                  ("POST", "/rotate-secret", None), ("POST", "/test", None),
                                  ("GET", "/deliveries", None),
                                  ("GET", "/deliveries?status=succeeded", None),
                                  ("POST", "/deliveries/%s/retry" % pg["delivery_id"], None),
                                  ("DELETE", "", None)):
            r = s.req(method, "webhooks/%s%s" % (wid, sub), key=key, body=body)
            H.assert_envelope(r, 404)
            assert b"whsec_" not in r.body, r
    # B's own endpoint cannot reach A's delivery either
    bep = endpoint(s, b.test_key, rc.url(path("crudB")))
    H.assert_envelope(s.req("POST", "webhooks/%s/deliveries/%s/retry" % (bep["id"],
                                                                         pg["delivery_id"]),
                            key=b.test_key), 404)
    assert deliveries(s, b.test_key, bep["id"]) == []
    # nothing of A changed
    got = s.ok("GET", "webhooks/" + wid, key=a.test_key)
    assert got["enabled"] is True and got["description"] == "ledger", got
    d = delivery(s, a.test_key, wid, pg["delivery_id"])
    assert d["status"] == "succeeded" and d["attempts"] == 1, d
    assert s.sql("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = '%s'" % wid) == "1"

    # unknown / malformed ids
    for bad in (S.uid(), "nope", "00000000-0000-0000-0000-00000000000g"):
        H.assert_envelope(s.req("GET", "webhooks/" + bad, key=a.test_key), 404)
        H.assert_envelope(s.req("POST", "webhooks/%s/test" % bad, key=a.test_key), 404)
        H.assert_envelope(s.req("POST", "webhooks/%s/rotate-secret" % bad, key=a.test_key), 404)
        H.assert_envelope(s.req("GET", "webhooks/%s/deliveries" % bad, key=a.test_key), 404)
        H.assert_envelope(s.req("POST", "webhooks/%s/deliveries/%s/retry" % (wid, bad),
                                key=a.test_key), 404)

    # DELETE
    r = s.req("DELETE", "webhooks/" + ep2["id"], key=a.test_key)
    assert r.status == 204 and r.body == b"", r
    H.assert_envelope(s.req("GET", "webhooks/" + ep2["id"], key=a.test_key), 404)
    H.assert_envelope(s.req("DELETE", "webhooks/" + ep2["id"], key=a.test_key), 404)
    assert [w["id"] for w in s.ok("GET", "webhooks", key=a.test_key)["results"]] == [wid]


# ---------------------------------------------------------------------------
# Signatures

def test_ping_is_signed_like_standard_webhooks():
    s = st()
    rc = receiver()
    t = tenant(s, "sig")
    hp = path("sig")
    ep = endpoint(s, t.test_key, rc.url(hp))
    pg = ping(s, t.test_key, ep["id"])
    req = rc.wait(hp, 1, 10)[0]
    body = assert_delivery_request(req, ep["secret"], pg["event_id"])
    assert body["eventType"] == "ping", body
    # the body is the stored event, byte for byte
    stored = s.sql("SELECT body::text FROM events WHERE id = '%s'" % pg["event_id"])
    assert req.body == stored.encode(), (req.body, stored)
    assert req.header("webhook-signature").count("v1,") == 1, req.headers

    # the check is not vacuous
    other = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    assert not verifies(other, req)
    for body_x in (req.body + b" ", req.body.replace(b'"ping"', b'"pong"')):
        try:
            sw_verify(ep["secret"], req.headers, body_x)
            raise AssertionError("tampered body verified")
        except VerificationError:
            pass
    for hdrs in (dict(req.headers, **{"webhook-id": S.uid()}),
                 dict(req.headers, **{"webhook-timestamp": str(int(req.header(
                     "webhook-timestamp")) + 1)})):
        try:
            sw_verify(ep["secret"], hdrs, req.body)
            raise AssertionError("tampered headers verified")
        except VerificationError:
            pass
    # freshness: the same request an hour later is refused
    assert not verifies(ep["secret"], req, now=time.time() + 3600)
    assert not verifies(ep["secret"], req, now=time.time() - 3600)

    d = wait_delivery(s, t.test_key, ep["id"], pg["delivery_id"], succeeded, 10, "succeeded")
    assert d["event_id"] == pg["event_id"] and d["event_type"] == "ping", d
    assert d["attempts"] == 1 and d["last_status_code"] == 200 and d["last_error"] is None, d
    assert d["next_attempt_at"] is None and TIME_RE.match(d["delivered_at"]), d
    assert TIME_RE.match(d["created"]), d
    assert [x["id"] for x in deliveries(s, t.test_key, ep["id"], "succeeded")] == [d["id"]]
    assert deliveries(s, t.test_key, ep["id"], "pending") == []
    assert deliveries(s, t.test_key, ep["id"], "dead") == []
    # newest first
    pg2 = ping(s, t.test_key, ep["id"])
    rc.wait(hp, 2, 10)
    ids = [x["id"] for x in deliveries(s, t.test_key, ep["id"])]
    assert ids == [pg2["delivery_id"], pg["delivery_id"]], ids
    assert rc.got(hp)[1].header("webhook-id") == pg2["event_id"]


def test_rotation_signs_with_both_secrets():
    s = st()
    rc = receiver()
    t = tenant(s, "rot")
    hp = path("rot")
    ep = endpoint(s, t.test_key, rc.url(hp))
    old = ep["secret"]
    rot = s.ok("POST", "webhooks/%s/rotate-secret" % ep["id"], key=t.test_key)
    assert set(rot) == {"id", "secret", "previous_secret_valid_hours"}, rot
    assert rot["id"] == ep["id"] and rot["previous_secret_valid_hours"] == 24, rot
    new = rot["secret"]
    assert SECRET_RE.match(new) and new != old, rot
    raw = bytes.fromhex(s.sql("SELECT encode(secret, 'hex') || encode(previous_secret, 'hex') "
                              "FROM webhook_endpoints WHERE id = '%s'" % ep["id"]))
    for needle in (b"whsec_", new.encode(), old.encode(), sw_key(new), sw_key(old)):
        assert needle not in raw, "rotated secrets stored in clear"
    assert "secret" not in s.ok("GET", "webhooks/" + ep["id"], key=t.test_key)

    pg = ping(s, t.test_key, ep["id"])
    req = rc.wait(hp, 1, 10)[0]
    entries = req.header("webhook-signature").split(" ")
    assert len(entries) == 2, req.header("webhook-signature")
    assert matching_entries(new, req) == [0], (req.header("webhook-signature"), "new")
    assert matching_entries(old, req) == [1], (req.header("webhook-signature"), "old")
    assert_delivery_request(req, new, pg["event_id"])
    assert_delivery_request(req, old, pg["event_id"])
    assert not verifies("whsec_" + base64.b64encode(os.urandom(32)).decode(), req)

    # a second rotation: the newest and the one before it sign; the first no longer
    newer = s.ok("POST", "webhooks/%s/rotate-secret" % ep["id"], key=t.test_key)["secret"]
    ping(s, t.test_key, ep["id"])
    req = rc.wait(hp, 2, 10)[1]
    assert matching_entries(newer, req) == [0], req.header("webhook-signature")
    assert matching_entries(new, req) == [1], req.header("webhook-signature")
    assert not verifies(old, req)

    # past the 24 h: only the current secret signs
    s.sql("UPDATE webhook_endpoints SET previous_until = now() - interval '1 s' "
          "WHERE id = '%s'" % ep["id"])
    ping(s, t.test_key, ep["id"])
    req = rc.wait(hp, 3, 10)[2]
    assert req.header("webhook-signature").count("v1,") == 1, req.header("webhook-signature")
    assert verifies(newer, req) and not verifies(new, req)


# ---------------------------------------------------------------------------
# Events of the Hosted Link journey, and filters

def test_every_journey_event_is_delivered():
    s = st()
    rc = receiver()
    t = tenant(s, "journey")
    hp = path("journey")
    ep = endpoint(s, t.test_key, rc.url(hp))

    # a non-ASCII name: the signature covers the raw UTF-8 body bytes
    co = s.company(key=t.test_key, linked_account_id="la-" + secrets.token_hex(4),
                   name="Café \u2615 Bücher " + secrets.token_hex(3))
    token = s.link_token(co)
    out = s.hosted_connect(token, "sandbox")
    cid = out["connection"]["id"]
    s.callback(s.sandbox_decide(out["next"]["url"], "deny"))              # failed
    again = s.hosted_connect(token, "sandbox")
    assert again["connection"]["id"] == cid, again
    s.callback(s.sandbox_decide(again["next"]["url"], "approve"))         # connected
    assert s.connection(co["id"], cid, key=t.test_key)["status"] == "Linked"
    c = s.ok("PATCH", "companies/%s/connections/%s" % (co["id"], cid), key=t.test_key,
             body={"status": "Unlinked"})                                 # disconnected
    assert c["status"] == "Unlinked", c
    r = s.req("DELETE", "companies/%s/connections/%s" % (co["id"], cid), key=t.test_key)
    assert r.status == 200 and r.body == b"", r                           # deleted
    r = s.req("DELETE", "companies/" + co["id"], key=t.test_key)
    assert r.status == 204, r                                             # company.deleted

    want = ["company.created", "connection.created", "connection.failed",
            "connection.connected", "connection.disconnected", "connection.deleted",
            "company.deleted"]
    reqs = rc.wait(hp, len(want), 15)
    time.sleep(0.5)
    reqs = rc.got(hp)
    bodies = [assert_delivery_request(q, ep["secret"]) for q in reqs]
    types = [b["eventType"] for b in bodies]
    assert sorted(types) == sorted(want), types
    assert len({b["id"] for b in bodies}) == len(want), bodies
    # in the order they happened
    by_date = [b["eventType"] for b in sorted(bodies, key=lambda b: b["generatedDate"])]
    assert by_date == want, by_date
    # each is the stored outbox event, but for the capabilities derived at
    # delivery (never stored): a connection's linkUrl start key, a company
    # event's redirect link key
    for q, b in zip(reqs, bodies):
        stored = s.sql("SELECT body::text FROM events WHERE id = '%s'" % b["id"])
        expect = json.loads(stored)
        if "connection" not in b["payload"]:
            assert b["payload"]["redirect"] == co["redirect"], b
            assert re.search(r"/link\?v=\d+$", expect["payload"]["redirect"]), expect
            expect["payload"]["redirect"] = co["redirect"]
            assert b == expect, (b, expect)
            continue
        link = b["payload"]["connection"]["linkUrl"]
        assert re.match(r"^%s/api/v2/public/connections/%s/start\?key=[A-Za-z0-9_-]{48}$"
                        % (re.escape(s.app_url), cid), link), link
        assert re.search(r"/start\?v=\d+$", expect["payload"]["connection"]["linkUrl"]), expect
        expect["payload"]["connection"]["linkUrl"] = link
        assert b == expect, (b, expect)

    ev = {b["eventType"]: b for b in bodies}
    for b in bodies:
        p = b["payload"]
        if b["eventType"].startswith("connection."):
            # Codat's: {referenceCompany, connection}; ours beside them
            assert set(p) <= {"referenceCompany", "connection", "hostlinkConnection",
                              "oldStatus", "newStatus"}, p
            assert p["referenceCompany"] == {"id": co["id"], "name": co["name"],
                                             "tags": {}}, p
            assert p["connection"]["id"] == cid, p
            assert p["connection"]["integrationKey"] == "sandbox", p
            assert "authType" not in p["connection"], p
            assert p["hostlinkConnection"]["authType"] == "sandbox", p
        else:
            # Codat's: the company itself
            assert p == {"id": co["id"], "name": co["name"], "redirect": co["redirect"],
                         "created": co["created"], "tags": {},
                         "linked_account_id": co["linked_account_id"]}, p
        for k in ("oldStatus", "newStatus"):
            assert k not in p or isinstance(p[k], str), p
        dump = json.dumps(b)
        assert "sbx_at_" not in dump and "sbx_rt_" not in dump, "credentials in an event"
    assert ev["connection.connected"]["payload"].get("newStatus") == "Linked", ev
    assert ev["connection.disconnected"]["payload"].get("newStatus") == "Unlinked", ev
    assert ev["connection.disconnected"]["payload"].get("oldStatus") == "Linked", ev
    assert ev["connection.connected"]["payload"]["connection"]["status"] == "Linked", ev
    # every delivery succeeded, one attempt each
    ds = deliveries(s, t.test_key, ep["id"])
    assert len(ds) == len(want), ds
    assert all(d["status"] == "succeeded" and d["attempts"] == 1 for d in ds), ds
    assert sorted(d["event_type"] for d in ds) == sorted(want), ds


def test_events_filter_per_endpoint():
    s = st()
    rc = receiver()
    t = tenant(s, "filter")
    only, every, pings = path("only"), path("every"), path("pings")
    ep_only = endpoint(s, t.test_key, rc.url(only), events=["company.created"])
    ep_all = endpoint(s, t.test_key, rc.url(every))
    ep_ping = endpoint(s, t.test_key, rc.url(pings), events=["ping"])
    # the same org's live environment is another tenant
    live = path("live")
    endpoint(s, t.live_key, rc.url(live))
    # another tenant's events never reach these endpoints
    other = tenant(s, "filter-other")
    s.company(key=other.test_key)

    co = s.company(key=t.test_key)
    s.ok("POST", "companies/%s/connections" % co["id"], key=t.test_key,
         body={"platformKey": "sandbox"})
    assert s.req("DELETE", "companies/" + co["id"], key=t.test_key).status == 204
    got_all = rc.wait(every, 3, 10)
    time.sleep(1.0)
    types_all = sorted(assert_delivery_request(q, ep_all["secret"])["eventType"]
                       for q in rc.got(every))
    assert types_all == ["company.created", "company.deleted", "connection.created"], types_all
    assert all(event_company(assert_delivery_request(q, ep_all["secret"])) == co["id"]
               for q in got_all)
    got = rc.got(only)
    assert [assert_delivery_request(q, ep_only["secret"])["eventType"] for q in got] == \
        ["company.created"], got
    assert rc.got(pings) == [], rc.got(pings)
    assert rc.got(live) == [], "a test-environment event reached a live endpoint"
    assert len(deliveries(s, t.test_key, ep_only["id"])) == 1
    assert deliveries(s, t.test_key, ep_ping["id"]) == []

    # a ping goes to the endpoint it was sent to only, whatever the filters say
    pg = ping(s, t.test_key, ep_only["id"])
    rc.wait(only, 2, 10)
    assert rc.got(only)[1].header("webhook-id") == pg["event_id"]
    pg = ping(s, t.test_key, ep_ping["id"])
    rc.wait(pings, 1, 10)
    time.sleep(0.5)
    assert len(rc.got(every)) == 3 and len(rc.got(only)) == 2, "ping fanned out"

    # changing the filter applies to later events
    s.ok("PATCH", "webhooks/" + ep_only["id"], key=t.test_key,
         body={"events": ["company.deleted"]})
    co2 = s.company(key=t.test_key)
    assert s.req("DELETE", "companies/" + co2["id"], key=t.test_key).status == 204
    rc.wait(every, 5, 10)
    got = rc.wait(only, 3, 10)
    time.sleep(0.5)
    got = rc.got(only)
    assert len(got) == 3, got
    b = assert_delivery_request(got[2], ep_only["secret"])
    assert b["eventType"] == "company.deleted" and b["payload"]["id"] == co2["id"], b


# ---------------------------------------------------------------------------
# Retries, dead letters, 410, Retry-After, timeouts

def test_retry_after_500_then_success():
    s = st()
    rc = receiver()
    t = tenant(s, "r500")
    hp = path("r500")
    rc.script(hp, 500, {"status": 502, "body": "bad gateway"})
    ep = endpoint(s, t.test_key, rc.url(hp))
    pg = ping(s, t.test_key, ep["id"])
    reqs = rc.wait(hp, 3, 15)
    d = wait_delivery(s, t.test_key, ep["id"], pg["delivery_id"], succeeded, 10, "succeeded")
    assert d["attempts"] == 3 and d["last_status_code"] == 200 and d["last_error"] is None, d
    assert [q.answer for q in reqs] == [500, 502, 200], reqs
    # the same webhook-id every time, each attempt freshly signed
    assert {q.header("webhook-id") for q in reqs} == {pg["event_id"]}, reqs
    assert len({q.body for q in reqs}) == 1
    for q in reqs:
        assert_delivery_request(q, ep["secret"], pg["event_id"])
    # schedule 0,1s,1s: about a second between attempts
    for a, b in zip(reqs, reqs[1:]):
        assert 0.9 <= b.mono - a.mono <= 4.0, [q.mono - reqs[0].mono for q in reqs]
    time.sleep(1.2)
    assert len(rc.got(hp)) == 3, "delivered again after success"


def test_dead_letter_and_replay():
    s = st()
    rc = receiver()
    t = tenant(s, "dead")
    hp = path("dead")
    rc.script(hp, 500, 500, {"status": 503})
    ep = endpoint(s, t.test_key, rc.url(hp))
    pg = ping(s, t.test_key, ep["id"])
    reqs = rc.wait(hp, 3, 15)
    d = wait_delivery(s, t.test_key, ep["id"], pg["delivery_id"],
                      lambda d: d["status"] == "dead", 10, "dead")
    assert d["attempts"] == 3 and d["last_status_code"] == 503, d
    assert d["last_error"], d
    assert d["next_attempt_at"] is None and d["delivered_at"] is None, d
    time.sleep(1.5)
    assert len(rc.got(hp)) == 3, "attempted after the last scheduled attempt"
    # /metrics counts it as a dead letter (an alert rule in docs/alerts.yml)
    H.wait_for(lambda: metric(s, "hostlink_webhook_dead_letters") >= 1, 10,
               "hostlink_webhook_dead_letters >= 1")
    assert [x["id"] for x in deliveries(s, t.test_key, ep["id"], "dead")] == [d["id"]]
    assert deliveries(s, t.test_key, ep["id"], "pending") == []
    # the endpoint itself stays enabled
    assert s.ok("GET", "webhooks/" + ep["id"], key=t.test_key)["enabled"] is True

    # replay
    r = s.ok("POST", "webhooks/%s/deliveries/%s/retry" % (ep["id"], d["id"]), key=t.test_key)
    assert set(r) == DELIVERY_KEYS, r
    assert r["id"] == d["id"] and r["event_id"] == pg["event_id"], r
    assert r["status"] == "pending" and r["attempts"] == 0, r
    assert r["next_attempt_at"] and TIME_RE.match(r["next_attempt_at"]), r
    reqs = rc.wait(hp, 4, 10)
    assert reqs[3].header("webhook-id") == pg["event_id"], reqs[3].headers
    assert reqs[3].body == reqs[0].body
    assert_delivery_request(reqs[3], ep["secret"], pg["event_id"])
    d = wait_delivery(s, t.test_key, ep["id"], d["id"], succeeded, 10, "succeeded after replay")
    assert d["attempts"] == 1 and d["last_status_code"] == 200, d
    assert d["last_error"] is None and d["delivered_at"], d
    # a succeeded delivery can be replayed too (same webhook-id again)
    s.ok("POST", "webhooks/%s/deliveries/%s/retry" % (ep["id"], d["id"]), key=t.test_key)
    reqs = rc.wait(hp, 5, 10)
    assert reqs[4].header("webhook-id") == pg["event_id"]
    wait_delivery(s, t.test_key, ep["id"], d["id"], succeeded, 10, "succeeded again")
    assert s.sql("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = '%s'"
                 % ep["id"]) == "1"


def test_retry_after_is_honoured_and_queue_depth():
    s = st()
    rc = receiver()
    t = tenant(s, "ra")
    p_sec, p_date = path("ra-seconds"), path("ra-date")
    rc.script(p_sec, {"status": 503, "headers": {"Retry-After": "3"}})
    ep_sec = endpoint(s, t.test_key, rc.url(p_sec))
    ep_date = endpoint(s, t.test_key, rc.url(p_date))
    pg_sec = ping(s, t.test_key, ep_sec["id"])
    first = rc.wait(p_sec, 1, 10)[0]
    # HTTP-date form, about 4 s ahead (whole seconds: at least 3 s later)
    rc.script(p_date, {"status": 429, "headers": {
        "Retry-After": email.utils.formatdate(time.time() + 4.5, usegmt=True)}})
    pg_date = ping(s, t.test_key, ep_date["id"])
    first_date = rc.wait(p_date, 1, 10)[0]

    d = wait_delivery(s, t.test_key, ep_sec["id"], pg_sec["delivery_id"],
                      lambda d: d["attempts"] == 1 and d["last_status_code"] == 503, 5,
                      "first attempt recorded")
    assert d["status"] == "pending" and d["last_error"], d
    assert d["next_attempt_at"] and TIME_RE.match(d["next_attempt_at"]), d
    # the gauge is refreshed at the end of each dispatch pass: the pass that
    # recorded the attempt may still be finishing (the retry is 3 s away)
    depths = []
    H.wait_for(lambda: depths.append(queue_depth(s)) or depths[-1] >= 1, 2.5,
               "hostlink_webhook_queue_depth >= 1 with a delivery waiting (saw %s)" % depths)

    reqs = rc.wait(p_sec, 2, 10)
    gap = reqs[1].mono - first.mono
    assert gap >= 2.9, "second attempt %.2fs after a 503 with Retry-After: 3" % gap
    assert gap <= 6.5, gap
    assert reqs[1].header("webhook-id") == pg_sec["event_id"]
    wait_delivery(s, t.test_key, ep_sec["id"], pg_sec["delivery_id"], succeeded, 5, "succeeded")

    reqs = rc.wait(p_date, 2, 10)
    gap = reqs[1].mono - first_date.mono
    assert gap >= 2.9, "second attempt %.2fs after Retry-After: <HTTP-date +4.5s>" % gap
    assert reqs[1].header("webhook-id") == pg_date["event_id"]
    wait_delivery(s, t.test_key, ep_date["id"], pg_date["delivery_id"], succeeded, 5, "ok")
    H.wait_for(lambda: queue_depth(s) == 0, 8, "queue depth back to 0")


def test_410_disables_endpoint_until_reenabled():
    s = st()
    rc = receiver()
    t = tenant(s, "410")
    gone, witness = path("gone"), path("witness")
    rc.script(gone, {"status": 410, "body": "gone"})
    ep = endpoint(s, t.test_key, rc.url(gone))
    wt = endpoint(s, t.test_key, rc.url(witness))
    pg = ping(s, t.test_key, ep["id"])
    rc.wait(gone, 1, 10)
    d = wait_delivery(s, t.test_key, ep["id"], pg["delivery_id"],
                      lambda d: d["status"] == "dead", 10, "dead after 410")
    assert d["attempts"] == 1 and d["last_status_code"] == 410, d
    assert d["last_error"], d
    got = s.ok("GET", "webhooks/" + ep["id"], key=t.test_key)
    assert got["enabled"] is False, got
    assert isinstance(got["disabled_reason"], str) and got["disabled_reason"], got
    assert "410" in got["disabled_reason"], got

    # later events are not delivered to it (the witness gets them)
    co = s.company(key=t.test_key)
    rc.wait(witness, 1, 10)
    time.sleep(1.5)
    assert len(rc.got(gone)) == 1, rc.got(gone)
    assert len(deliveries(s, t.test_key, ep["id"])) == 1
    assert len(rc.got(witness)) == 1

    # PATCH enabled:true re-enables; new events flow again
    p = s.ok("PATCH", "webhooks/" + ep["id"], key=t.test_key, body={"enabled": True})
    assert p["enabled"] is True and p["disabled_reason"] is None, p
    pg2 = ping(s, t.test_key, ep["id"])
    assert s.req("DELETE", "companies/" + co["id"], key=t.test_key).status == 204
    reqs = rc.wait(gone, 3, 10)
    types = sorted(assert_delivery_request(q, ep["secret"])["eventType"] for q in reqs[1:])
    assert types == ["company.deleted", "ping"], types
    wait_delivery(s, t.test_key, ep["id"], pg2["delivery_id"], succeeded, 5, "ok")
    assert s.ok("GET", "webhooks/" + ep["id"], key=t.test_key)["enabled"] is True


def test_no_redirects_and_large_response_body():
    s = st()
    rc = receiver()
    t = tenant(s, "redir")
    hp, target, big = path("redir"), path("target"), path("big")
    rc.script(hp, {"status": 302, "headers": {"Location": rc.url(target)}},
              {"status": 307, "headers": {"Location": rc.url(target)}})
    rc.script(big, {"status": 200, "body": b"x" * (1024 * 1024)})
    ep = endpoint(s, t.test_key, rc.url(hp))
    eb = endpoint(s, t.test_key, rc.url(big))
    pg = ping(s, t.test_key, ep["id"])
    pb = ping(s, t.test_key, eb["id"])
    reqs = rc.wait(hp, 3, 15)
    d = wait_delivery(s, t.test_key, ep["id"], pg["delivery_id"], succeeded, 10, "ok")
    assert [q.answer for q in reqs] == [302, 307, 200], reqs
    assert d["attempts"] == 3, d
    assert rc.got(target) == [], "a redirect was followed"
    # a 2xx with a big body is a success (the body is not kept)
    d = wait_delivery(s, t.test_key, eb["id"], pb["delivery_id"], succeeded, 10,
                      "2xx with a 1 MiB body is a success")
    assert d["attempts"] == 1 and d["last_status_code"] == 200, d
    assert len(rc.got(big)) == 1


def test_timeout_is_retried():
    """The receiver holds the first attempt 12 s: that attempt times out
    (10 s total) and the next one, a second later, succeeds."""
    s = st()
    rc = receiver()
    t = tenant(s, "slow")
    hp = path("slow")
    rc.script(hp, {"status": 200, "delay": 12})
    ep = endpoint(s, t.test_key, rc.url(hp))
    pg = ping(s, t.test_key, ep["id"])
    first = rc.wait(hp, 1, 10)[0]
    reqs = rc.wait(hp, 2, 18)
    gap = reqs[1].mono - first.mono
    assert 9.5 <= gap <= 14, "second attempt %.2fs after the first (timeout 10 s + 1 s)" % gap
    assert reqs[1].header("webhook-id") == pg["event_id"]
    assert_delivery_request(reqs[1], ep["secret"], pg["event_id"])
    d = wait_delivery(s, t.test_key, ep["id"], pg["delivery_id"], succeeded, 5, "ok")
    assert d["attempts"] == 2 and d["last_status_code"] == 200, d
    log = s.inst.log()
    lines = [ln for ln in log.splitlines() if pg["delivery_id"] in ln]
    assert any("imed out" in ln or "timeout" in ln.lower() for ln in lines), lines


# ---------------------------------------------------------------------------
# kill -9 of the delivery child mid-delivery

def test_kill_delivery_child_mid_delivery_loses_nothing():
    s = st()
    rc = receiver()
    t = tenant(s, "kill")
    hp = path("kill")
    rc.script(hp, {"status": 200, "delay": 3})
    ep = endpoint(s, t.test_key, rc.url(hp))
    bg = background_pid(s)
    old_pid = bg["pid"]
    assert old_pid in H.children_of(s.inst.pid), (old_pid, H.children_of(s.inst.pid))
    pg = ping(s, t.test_key, ep["id"])
    first = rc.wait(hp, 1, 10)[0]
    assert first.header("webhook-id") == pg["event_id"]
    assert first.answer is None, "answered before the kill"
    # the delivery is leased while in flight
    assert s.sql("SELECT count(*) FROM webhook_deliveries WHERE id = '%s' AND "
                 "lease_until > now()" % pg["delivery_id"]) == "1"
    assert H.pid_alive(old_pid)
    os.kill(old_pid, signal.SIGKILL)
    t_kill = time.monotonic()
    H.wait_for(lambda: not H.pid_alive(old_pid), 5, "background child to die")

    new = H.wait_for(lambda: [p for p in s.ok("GET", "/status")["processes"]
                              if p.get("kind") == "background" and p["pid"] != old_pid],
                     10, "the master to respawn the background child")
    assert len(new) == 1, new
    assert new[0]["pid"] in H.children_of(s.inst.pid), new

    reqs = rc.wait(hp, 2, 15)
    assert reqs[1].mono - t_kill < 10, \
        "redelivered %.1fs after the kill (lease not released?)" % (reqs[1].mono - t_kill)
    assert reqs[1].header("webhook-id") == pg["event_id"], reqs[1].headers
    assert reqs[1].body == first.body
    assert_delivery_request(reqs[1], ep["secret"], pg["event_id"])
    d = wait_delivery(s, t.test_key, ep["id"], pg["delivery_id"], succeeded, 10,
                      "delivered after the respawn")
    assert d["last_status_code"] == 200 and d["delivered_at"], d
    assert s.inst.proc.alive()
    # and deliveries keep working with the new child
    pg2 = ping(s, t.test_key, ep["id"])
    rc.wait(hp, 3, 10)
    wait_delivery(s, t.test_key, ep["id"], pg2["delivery_id"], succeeded, 10, "next ping")


# ---------------------------------------------------------------------------
# SSRF guard (webhook_allow_private = false)

def test_private_targets_refused():
    s = _stack("whpriv", webhook_allow_private="false", webhook_retry_schedule="0,1s")
    rc = receiver()
    targets = []
    for host in ("127.0.0.1", "localhost", "127.0.0.2", "[::1]"):
        hp = path("ssrf")
        targets.append((host, hp, endpoint(s, s.key, rc.url(hp, host=host))))
    pings = [(host, hp, ep, ping(s, s.key, ep["id"])) for host, hp, ep in targets]
    for host, hp, ep, pg in pings:
        d = wait_delivery(s, s.key, ep["id"], pg["delivery_id"],
                          lambda d: d["status"] == "dead", 15, "refused delivery to " + host)
        assert d["attempts"] == 2, (host, d)
        assert d["last_status_code"] is None, (host, d)
        assert d["last_error"] and "webhook_allow_private" in d["last_error"], (host, d)
        assert "efused" in d["last_error"], (host, d)
        assert d["delivered_at"] is None, (host, d)
    for host, hp, ep, pg in pings:
        assert rc.got(hp) == [], "the receiver was reached through %s" % host


# ---------------------------------------------------------------------------
# hostlinkctl dispatch --once

def test_dispatch_once():
    s = _stack("whctl", webhook_allow_private="true", webhook_retry_schedule="0,1s,1s")
    rc = receiver()
    conf = s.inst.conf

    def dispatch():
        return H.ctl_json(["dispatch", "--once"], conf)

    assert dispatch() == {"attempts": 0}
    ep = endpoint(s, s.key, rc.url(path("ctl")))
    hp = ep["url"][ep["url"].index("/hook/"):]
    assert dispatch() == {"attempts": 0}

    # pause the background child (idle), so only hostlinkctl delivers
    ctl_status = H.ctl_json(["status"], conf)
    bg = [p for p in ctl_status["processes"] if p.get("kind") == "background"]
    assert len(bg) == 1, ctl_status["processes"]
    pid = bg[0]["pid"]
    H.wait_for(lambda: [p for p in H.ctl_json(["status"], conf)["processes"]
                        if p["pid"] == pid and p["state"] == "idle"], 10, "idle background")
    os.kill(pid, signal.SIGSTOP)
    try:
        pg = ping(s, s.key, ep["id"])
        time.sleep(0.7)
        assert rc.got(hp) == [], "delivered while the background child was stopped"
        d = delivery(s, s.key, ep["id"], pg["delivery_id"])
        assert d["status"] == "pending" and d["attempts"] == 0, d

        assert dispatch() == {"delivered": 1, "attempts": 1}
        req = rc.wait(hp, 1, 1)[0]
        assert_delivery_request(req, ep["secret"], pg["event_id"])
        d = delivery(s, s.key, ep["id"], pg["delivery_id"])
        assert d["status"] == "succeeded" and d["attempts"] == 1, d
        assert dispatch() == {"attempts": 0}

        # failures: retrying, not due yet, then dead on the last attempt
        rc.script(hp, 500, 500, 500)
        pg = ping(s, s.key, ep["id"])
        assert dispatch() == {"retrying": 1, "attempts": 1}
        assert dispatch() == {"attempts": 0}
        time.sleep(1.1)
        assert dispatch() == {"retrying": 1, "attempts": 1}
        time.sleep(1.1)
        assert dispatch() == {"dead": 1, "attempts": 1}
        assert len(rc.got(hp)) == 4
        d = delivery(s, s.key, ep["id"], pg["delivery_id"])
        assert d["status"] == "dead" and d["attempts"] == 3, d
        # an event written through the API is fanned out by dispatch too
        co = s.company()
        assert dispatch() == {"delivered": 1, "attempts": 1}
        b = assert_delivery_request(rc.got(hp)[4], ep["secret"])
        assert b["eventType"] == "company.created" and b["payload"]["id"] == co["id"]
        # a burst of more than two fan-out batches (500 events each) is
        # delivered by one pass, not one batch per pass
        s.sql("INSERT INTO events (id, org_id, environment, event_type, body) "
              "SELECT e.id, '%s', 'test', 'company.updated', hl_event_body(e.id, "
              "'company.updated', now(), 'test', json_build_object('n', e.g), NULL, NULL, NULL) "
              "FROM (SELECT gen_random_uuid() AS id, g FROM generate_series(1, 1100) g) e"
              % s.org_id)
        assert dispatch() == {"delivered": 1100, "attempts": 1100}
        assert len(rc.got(hp)) == 1105
    finally:
        os.kill(pid, signal.SIGCONT)
    # the woken child finds nothing left to do
    time.sleep(0.5)
    assert len(rc.got(hp)) == 1105
    r = H.ctl(["dispatch", "--once"], conf="/nonexistent/hostlink.conf", check=False)
    assert r.returncode != 0 and r.stderr, r


def test_metrics_has_queue_depth():
    s = st()
    r = s.req("GET", "/metrics")
    assert r.status == 200, r
    text = r.body.decode()
    assert "# HELP hostlink_webhook_queue_depth " in text, text[-2000:]
    assert "# TYPE hostlink_webhook_queue_depth gauge" in text, text[-2000:]
    assert re.search(r"^hostlink_webhook_queue_depth \d+$", text, re.M), text[-2000:]


def test_idempotent_create_keeps_secret_out_of_the_database():
    """POST /webhooks honours Idempotency-Key (one endpoint for two tries),
    but the secret in the remembered response must not sit in the database
    in clear (SPEC §4: webhook signing secrets are encrypted at rest)."""
    s = st()
    rc = receiver()
    t = tenant(s, "idem")
    ikey = "wh-" + secrets.token_hex(8)
    body = {"url": rc.url(path("idem"))}
    r1 = s.req("POST", "webhooks", key=t.test_key, body=body, headers={"Idempotency-Key": ikey})
    assert r1.status == 201, r1
    ep = r1.json()
    r2 = s.req("POST", "webhooks", key=t.test_key, body=body, headers={"Idempotency-Key": ikey})
    assert r2.status == 201, r2
    assert r2.json()["id"] == ep["id"], (ep, r2)
    assert len(s.ok("GET", "webhooks", key=t.test_key)["results"]) == 1
    dump = s.sql("SELECT coalesce(string_agg(coalesce(response, ''), ''), '') "
                 "FROM idempotency_keys WHERE org_id = '%s'" % t.org_id)
    assert ep["secret"] not in dump and ep["secret"][6:] not in dump, \
        "the webhook secret is stored in clear in idempotency_keys.response: %r" % dump[:300]


def test_background_statement_failure_is_logged_once():
    """A statement of the background child that fails (here: times out on a
    lock, in the sweep and in the dispatch, at PREPARE or at execution) is
    logged once, by the database layer, in one line naming the statement
    and its SQLSTATE: no second line repeats the server's message."""
    e = H.env()
    db = "bglog_%s" % secrets.token_hex(3)
    e.pg.createdb(db)
    inst = e.instance("bglog", database=e.pg.conninfo(db), statement_timeout="300ms",
                      sweep_interval="200ms")
    H.ctl_json(["migrate"], inst.conf)
    inst.start()
    H.on_exit(inst.stop)
    holder = subprocess.Popen(
        [os.path.join(e.pg.bindir, "psql"), "-h", e.pg.sockdir, "-U", "postgres", "-d", db,
         "-X", "-q", "-c", "BEGIN; LOCK TABLE hosted_properties, webhook_deliveries "
         "IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def both_logged():
            lines = [l for l in inst.log().splitlines() if "SQLSTATE 57014" in l]
            return (any("statement sweep.c:" in l for l in lines)
                    and any("statement webhook.c:" in l for l in lines))
        H.wait_for(both_logged, 15, "timed-out sweep and dispatch statements to be logged")
        log = inst.log()
    finally:
        holder.wait(30)
        inst.stop()
    twice = [l for l in log.splitlines() if "canceling statement" in l
             and not re.search(r"statement \w+\.c:\d+ failed.*SQLSTATE 57014", l)]
    assert not twice, "a failed background statement is logged twice:\n" + log[-3000:]


def test_idle_background_child_rests():
    """With nothing to deliver, sweep or refresh, the background child sleeps
    (until the next NOTIFY or its 5 s fallback): it does not poll the
    database in a loop.  (The next-due statement once answered 0 for an empty
    queue -- greatest(0, NULL) is 0 -- and the child ran its statements
    several times a second, for ever.)"""
    e = H.env()
    db = "bgidle_%s" % secrets.token_hex(3)
    e.pg.createdb(db)
    inst = e.instance("bgidle", database=e.pg.conninfo(db))
    H.ctl_json(["migrate"], inst.conf)
    inst.start()
    H.on_exit(inst.stop)
    try:
        def last_start():
            # the background child's connection: its last statement is the next-due one
            return e.pg.psql("SELECT query_start FROM pg_stat_activity WHERE datname = '%s' "
                             "AND pid <> pg_backend_pid() AND query LIKE '%%min(next_attempt_at) - now()%%'"
                             % db, db=db).strip()
        H.wait_for(lambda: last_start() != "", 10, "the background child's first pass")
        samples = []
        for _ in range(5):
            samples.append(last_start())
            time.sleep(0.5)
        # resting: the same statement start for seconds on end (a busy loop
        # starts a new one every few milliseconds)
        assert len(set(samples)) <= 2, samples
    finally:
        inst.stop()


# ---------------------------------------------------------------------------
# Retention (migration 0021): events and their deliveries are kept for
# event_retention (30 days here), then dropped a day at a time

def test_event_retention_bounds_retries_and_listings():
    from test_portal_auth import call, operator
    s = st()
    rc = receiver()
    t = tenant(s, "keep")
    hp_live, hp_gone = path("keep-live"), path("keep-gone")
    for hp in (hp_live, hp_gone):
        rc.script(hp, {"status": 503, "headers": {"Retry-After": "2"}})
    ep_live = endpoint(s, t.test_key, rc.url(hp_live))
    ep_gone = endpoint(s, t.test_key, rc.url(hp_gone), events=["ping"])
    live, gone = ping(s, t.test_key, ep_live["id"]), ping(s, t.test_key, ep_gone["id"])
    # an event is kept for the retention; its delivery carries its expiry
    assert s.sql("SELECT (e.expires_at - e.created_at) || ' ' || (d.expires_at = e.expires_at) "
                 "|| ' ' || d.org_id FROM events e JOIN webhook_deliveries d ON d.event_id = e.id "
                 "WHERE e.id = '%s'" % live["event_id"]) == "30 days true " + t.org_id
    rc.wait(hp_gone, 1, 10)
    rc.wait(hp_live, 1, 10)
    wait_delivery(s, t.test_key, ep_gone["id"], gone["delivery_id"],
                  lambda d: d["attempts"] == 1 and d["status"] == "pending", 5, "first attempt")
    # the event of the other reaches its end before its retry is due: the
    # delivery (moved with it, ON UPDATE CASCADE) is not retried, not listed
    s.sql("UPDATE events SET expires_at = now() - interval '1 second' WHERE id = '%s'"
          % gone["event_id"])
    assert s.sql("SELECT count(*) FROM webhook_deliveries WHERE id = '%s' AND expires_at <= now()"
                 % gone["delivery_id"]) == "1"
    # a delivery still retrying while its event is kept goes on working
    d = wait_delivery(s, t.test_key, ep_live["id"], live["delivery_id"], succeeded, 10,
                      "the retry of a kept event")
    assert d["attempts"] == 2, d
    time.sleep(2.5)
    assert len(rc.got(hp_gone)) == 1, "an expired event's delivery was retried"
    assert deliveries(s, t.test_key, ep_gone["id"]) == []
    r = s.req("POST", "webhooks/%s/deliveries/%s/retry" % (ep_gone["id"], gone["delivery_id"]),
              key=t.test_key)
    assert r.status == 404, r
    # The Portal's company events: the kept ones only.
    co = s.company(key=t.test_key)
    _, cookie = operator(s, "admin", org=t.org_id)

    def company_events():
        r = call(s, "GET", "portal/companies/%s/events" % co["id"], cookie, env="test")
        assert r.status == 200, r
        return r.json()
    shown = company_events()
    assert [e["eventType"] for e in shown] == ["company.created"], shown
    assert {x["webhookId"] for x in shown[0]["deliveries"]} == {ep_live["id"]}, shown
    s.sql("UPDATE events SET expires_at = now() - interval '1 second' WHERE id = '%s'"
          % shown[0]["id"])
    assert company_events() == []
    # The sweep deletes both expired events (today's partition: in batches).
    out = H.ctl_json(["sweep", "--once"], s.inst.conf)["deleted"]
    assert out["events"] >= 2 and out["webhook_deliveries"] >= 2, out
    assert s.sql("SELECT count(*) FROM events WHERE id IN ('%s', '%s')"
                 % (gone["event_id"], shown[0]["id"])) == "0"
    assert s.sql("SELECT count(*) FROM events WHERE id = '%s'" % live["event_id"]) == "1"
