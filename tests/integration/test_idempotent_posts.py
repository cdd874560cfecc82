"""Idempotency-Key on every POST an API client or the hosted page makes
(issue 14, item 5): link rotate, invite rotate, webhook rotate-secret, test
and retry, and the hosted page's connection create and credentials.  A retry
with the same key and request changes nothing more and replays the first
answer (Idempotent-Replayed: true); the same key with another request is 409.
Stack "idempotent" (its own database, webhooks to a loopback receiver)."""

import secrets

import harness as H
import support as HF
from support import Receiver
from test_webhooks import matching_entries

FIELDS = [{"name": "api_key", "label": "API key", "secret": True}]
_stacks = {}
_receiver = []


def st():
    s = _stacks.get("s")
    if s is None or not s.alive():
        s = HF.HStack("idempotent", db="idempotent_%s" % secrets.token_hex(3),
                      webhook_allow_private="true", webhook_retry_schedule="0").start()
        s.ok("PUT", "integrations/idem-erp", key=s.key,
             body={"name": "Idem ERP", "authType": "api_key", "enabled": True, "fields": FIELDS})
        _stacks["s"] = s
    return s


def receiver():
    if not _receiver or _receiver[0].server is None:
        _receiver[:] = [Receiver().start()]
    return _receiver[0]


def key():
    return "idem-" + secrets.token_hex(8)


def twice(s, method, path, k, **kw):
    """The same request sent twice with Idempotency-Key k: (first, replay)
    bodies, after checking the replay is the first answer, marked."""
    hdrs = {"Idempotency-Key": k}
    r1 = s.req(method, path, headers=hdrs, **kw)
    r2 = s.req(method, path, headers=hdrs, **kw)
    assert r1.status == 200 and r1.header("Idempotent-Replayed") is None, r1
    assert r2.status == 200 and r2.header("Idempotent-Replayed") == "true", r2
    assert r2.body == r1.body, (r1, r2)
    return r1.json()


def test_link_rotate_rotates_once():
    s = st()
    co = s.company()
    k = key()
    out = twice(s, "POST", "companies/%s/link/rotate" % co["id"], k, key=s.key)
    assert out["redirect"] != co["redirect"], out
    # rotated once: the replayed link is the live one, the first is dead
    assert s.ok("GET", "companies/" + co["id"], key=s.key)["redirect"] == out["redirect"]
    assert s.req("POST", "link/%s/session" % s.link_key(out)).status == 200
    H.assert_envelope(s.req("POST", "link/%s/session" % s.link_key(co)), 404, "LINK_NOT_FOUND")
    # the key is for that request only; another key rotates again
    other = s.company()
    H.assert_envelope(s.req("POST", "companies/%s/link/rotate" % other["id"], key=s.key,
                            headers={"Idempotency-Key": k}), 409, "IDEMPOTENCY_KEY_REUSED")
    again = s.ok("POST", "companies/%s/link/rotate" % co["id"], key=s.key,
                 headers={"Idempotency-Key": key()})
    assert again["redirect"] != out["redirect"], again
    # keys are per environment: the live key does not see the test key's answer
    H.assert_envelope(s.req("POST", "companies/%s/link/rotate" % co["id"], key=s.live_key,
                            headers={"Idempotency-Key": k}), 404)


def test_invite_rotate_rotates_once():
    s = st()
    before = s.ok("GET", "settings/invite", key=s.key)["invite_url"]
    k = key()
    out = twice(s, "POST", "settings/invite/rotate", k, key=s.key)
    assert out["invite_url"] != before, out
    assert s.ok("GET", "settings/invite", key=s.key)["invite_url"] == out["invite_url"]
    code = out["invite_url"].rsplit("/", 1)[1]
    got = s.ok("POST", "invite/%s/session" % code, body={"company_name": "Invited " + k})
    assert got["company_id"], got
    old = before.rsplit("/", 1)[1]
    H.assert_envelope(s.req("POST", "invite/%s/session" % old, body={"company_name": "x"}),
                      404, "INVITE_NOT_FOUND")


def test_webhook_rotate_secret_test_and_retry_replay():
    s = st()
    rc = receiver()
    path = "/hook/idem-%s" % secrets.token_hex(4)
    ep = s.ok("POST", "webhooks", 201, key=s.key, body={"url": rc.url(path)})
    s0 = ep["secret"]
    rot = twice(s, "POST", "webhooks/%s/rotate-secret" % ep["id"], key(), key=s.key)
    s1 = rot["secret"]
    assert s1 != s0 and rot["id"] == ep["id"], rot

    k = key()
    pg = twice(s, "POST", "webhooks/%s/test" % ep["id"], k, key=s.key)
    got = rc.wait(path, 1, 10)
    # one ping, not two, and signed by the new secret and the one before it:
    # had the rotation run twice, s0 would no longer sign
    # (the endpoint takes every event: a company.created of the test before
    # that was not fanned out yet when it was made may be delivered to it too)
    lst = s.ok("GET", "webhooks/%s/deliveries" % ep["id"], key=s.key)["results"]
    assert [d["id"] for d in lst if d["event_type"] == "ping"] == [pg["delivery_id"]], lst
    assert matching_entries(s1, got[0]) and matching_entries(s0, got[0]), got[0].headers

    def delivered():
        d = [d for d in s.ok("GET", "webhooks/%s/deliveries" % ep["id"], key=s.key)["results"]
             if d["id"] == pg["delivery_id"]][0]
        return d["status"] == "succeeded"
    H.wait_for(delivered, 10, "the ping delivered", interval=0.1)
    retry = "webhooks/%s/deliveries/%s/retry" % (ep["id"], pg["delivery_id"])
    out = twice(s, "POST", retry, key(), key=s.key)
    assert out["id"] == pg["delivery_id"] and out["status"] == "pending", out
    # the test key again, on another endpoint: another request, 409
    H.assert_envelope(s.req("POST", "webhooks/%s/test" % secrets.token_hex(4), key=s.key,
                            headers={"Idempotency-Key": k}), 409, "IDEMPOTENCY_KEY_REUSED")


def test_hosted_connection_create_and_credentials_replay():
    s = st()
    co = s.company()
    token = s.link_token(co)
    k = key()
    out = twice(s, "POST", "hosted/connections", k, token=token, body={"platformKey": "idem-erp"})
    cid = out["connection"]["id"]
    conns = s.ok("GET", "companies/%s/connections" % co["id"], key=s.key)["results"]
    assert [c["id"] for c in conns] == [cid], conns

    path = "hosted/connections/%s/credentials" % cid
    linked = twice(s, "POST", path, key(), token=token, body={"api_key": "sk-" + k})
    assert linked["connection"]["status"] == "Linked", linked
    # without the key the retry is a second request: already linked
    H.assert_envelope(s.req("POST", path, token=token, body={"api_key": "sk-" + k}), 409,
                      "CONNECTION_ALREADY_LINKED")
    # a token's keys are its own: another link token with the same key creates anew
    other = s.link_token(co)
    r = s.req("POST", "hosted/connections", token=other, body={"platformKey": "idem-erp"},
              headers={"Idempotency-Key": k})
    assert r.status == 200 and r.header("Idempotent-Replayed") is None, r
    assert r.json()["connection"]["id"] != cid, r


def _race(s, k, la, n=12):
    """n POST /session-token with Idempotency-Key k at once: their answers."""
    import threading
    go = threading.Barrier(n)
    out = [None] * n

    def one(i):
        go.wait()
        out[i] = s.req("POST", "session-token", key=s.key, body={"linked_account_id": la},
                       headers={"Idempotency-Key": k})
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def _tokens(s, la):
    return int(s.sql("SELECT count(*) FROM session_tokens t JOIN companies c "
                     "ON c.id = t.company_id "
                     "WHERE c.linked_account_id = '%s'" % la))


def _one_owner(answers):
    """One answer ran the handler; the others replayed it or were told it
    is in progress.  Returns the owner's token."""
    owners = [r for r in answers if r.status == 200 and r.header("Idempotent-Replayed") is None]
    assert len(owners) == 1, [(r.status, r.header("Idempotent-Replayed")) for r in answers]
    token = owners[0].json()["token"]
    for r in answers:
        if r.status == 200:
            assert r.json()["token"] == token, r
        else:
            H.assert_envelope(r, 409, "IDEMPOTENCY_KEY_IN_USE")
    return token


def test_concurrent_first_uses_have_one_owner_also_after_expiry():
    """idempotency_keys is partitioned by expires_at (migration 0021), so the
    key is no unique index: hl_idempotency_claim() serialises first uses on
    the key's advisory lock.  Many at once: one handler run; once the key
    has expired (its row still there, not swept), many at once again: one
    more run, a new answer; the expired row stays until its day is dropped."""
    s = st()
    k, la = key(), "race-" + secrets.token_hex(4)
    first = _one_owner(_race(s, k, la))
    assert _tokens(s, la) == 1
    replay = s.req("POST", "session-token", key=s.key, body={"linked_account_id": la},
                   headers={"Idempotency-Key": k})
    assert replay.header("Idempotent-Replayed") == "true" and replay.json()["token"] == first
    rows = ("SELECT count(*) FILTER (WHERE expires_at > now()) || ' ' || count(*) "
            "FROM idempotency_keys WHERE key = '%s'" % k)
    assert s.sql(rows) == "1 1"
    s.sql("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' "
          "WHERE key = '%s'" % k)
    second = _one_owner(_race(s, k, la))
    assert second != first and _tokens(s, la) == 2
    assert s.sql(rows) == "1 2"
    # the same key with another request while it lives: 409, no run
    other = s.req("POST", "session-token", key=s.key, body={"linked_account_id": la + "-x"},
                  headers={"Idempotency-Key": k})
    H.assert_envelope(other, 409, "IDEMPOTENCY_KEY_REUSED")
    assert _tokens(s, la + "-x") == 0


def test_first_use_waits_for_a_claim_in_flight():
    """The serialisation itself, made visible: a claim of the key held open
    in another transaction (its advisory lock and its uncommitted row) makes
    the API's first use of that key wait; once that commits, the API sees
    its row and does not run the handler (409).  Without the lock both
    would insert a row and both would own the key."""
    import subprocess
    import threading
    s = st()
    k, la = key(), "held-" + secrets.token_hex(4)
    pg = H.env().pg
    held = subprocess.Popen([pg.bindir + "/psql", "-h", pg.sockdir, "-U", "postgres", "-d", s.db,
                             "-X", "-q", "-v", "ON_ERROR_STOP=1"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        held.stdin.write(("BEGIN; SELECT owner FROM hl_idempotency_claim('%s', 'test', 'key', "
                          "'%s', '\\x00', interval '1 hour');\n\\echo claimed\n"
                          % (s.org_id, k)).encode())
        held.stdin.flush()
        assert held.stdout.readline().strip() == b"owner", "psql claim"
        while held.stdout.readline().strip() != b"claimed":
            pass
        out = []
        t = threading.Thread(target=lambda: out.append(s.req(
            "POST", "session-token", key=s.key, body={"linked_account_id": la},
            headers={"Idempotency-Key": k})))
        t.start()
        t.join(1.5)
        assert t.is_alive() and not out, "the API did not wait for the claim in flight"
        held.stdin.write(b"COMMIT;\n")
        held.stdin.flush()
        t.join(10)
        assert out, "no answer after the claim committed"
        # the held claim's fingerprint is another request's
        H.assert_envelope(out[0], 409, "IDEMPOTENCY_KEY_REUSED")
        assert _tokens(s, la) == 0
    finally:
        held.stdin.close()
        held.wait(10)
