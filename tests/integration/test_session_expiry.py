"""Expiry through nginx with short TTLs (SPEC §4 "every read filters on
expires_at; the sweeper deletes expired rows"): hosted properties and session
tokens expire, reads never return expired rows even before a sweep,
`hostlinkctl sweep --once` counts what it deletes, and the background child
sweeps every sweep_interval.

Runs against its own database so row counts are exact."""

import secrets
import time

import harness as H
import support_session as S

HP_TTL = 1.0        # hosted_properties_ttl
TOKEN_TTL = 3       # session_token_ttl (whole seconds: JWT exp is in seconds)


def st():
    # sweep_interval 1h: the background child sweeps once at start, then not
    # during this module, so `sweep --once` sees every expired row.
    return S.stack("expiry", db="hl_expiry", session_token_ttl="%ds" % TOKEN_TTL,
                   hosted_properties_ttl="%dms" % int(HP_TTL * 1000), sweep_interval="1h")


def _count(s, table, where="true"):
    return int(s.sql("SELECT count(*) FROM %s WHERE %s" % (table, where)))


def _sweep_once(s):
    return H.ctl_json(["sweep", "--once"], s.inst.conf)


def _check_sweep(out, **expected):
    """out is {"deleted": {table: N...}, "total": N} with these counts; other
    time-limited tables (added by later issues) must have had nothing to do."""
    assert set(out) == {"deleted", "total"}, out
    deleted = out["deleted"]
    for table in ("hosted_properties", "session_tokens", "idempotency_keys"):
        assert table in deleted, out
    for table, n in deleted.items():
        assert n == expected.get(table, 0), "%s: %r" % (table, out)
    assert out["total"] == sum(deleted.values()), out


def test_expiry_and_sweep_once():
    s = st()
    _check_sweep(_sweep_once(s))
    la = "exp-" + secrets.token_hex(4)
    t1, out = s.session(la)
    c1 = S.jwt_claims(t1)
    assert c1["exp"] - c1["iat"] == TOKEN_TTL, c1
    k = "exp-" + secrets.token_hex(6)
    r = s.req("POST", "session-token", key=s.key, body={"linked_account_id": la},
              headers={"Idempotency-Key": k})
    assert r.status == 200, r
    t2 = r.json()["token"]
    stashed = time.time()
    assert s.connect(t1, b'{"soon": "gone"}').status == 200
    assert s.hosted(t1).body == b'{"soon": "gone"}'

    # the stash expires after hosted_properties_ttl; the token does not
    H.wait_for(lambda: s.hosted(t1).status == 404, TOKEN_TTL, "the stash to expire", 0.05)
    assert time.time() - stashed >= HP_TTL - 0.05
    H.assert_envelope(s.hosted(t1), 404, "HOSTED_PROPERTIES_NOT_FOUND")
    # ...though its row is still there: reads filter on expires_at
    assert _count(s, "hosted_properties", "jti = '%s'" % c1["jti"]) == 1
    assert _count(s, "hosted_properties", "expires_at <= now()") == 1

    # once exp has passed the tokens are refused as expired (t2 may have
    # been issued a second after t1 on a busy machine: wait for both)
    S.wait_until(max(c1["exp"], S.jwt_claims(t2)["exp"]) + 0.05)
    for t in (t1, t2):
        H.assert_envelope(s.hosted(t), 401, "INVALID_TOKEN", "Token Expired")
        H.assert_envelope(s.connect(t, b"{}"), 401, "INVALID_TOKEN", "Token Expired")
        H.assert_envelope(s.req("DELETE", "session-token", token=t), 401, "INVALID_TOKEN",
                          "Token Expired")

    # a token whose JWT is still valid but whose row has expired is refused too
    t3, _ = s.session(la)
    assert s.connect(t3, b'{"t3": 1}').status == 200
    # (its stash is made long-lived, so only the token's expiry matters,
    # however slowly this runs)
    s.sql("UPDATE hosted_properties SET expires_at = now() + interval '1 hour' "
          "WHERE jti = '%s'" % S.jwt_claims(t3)["jti"])
    s.sql("UPDATE session_tokens SET expires_at = now() - interval '1 second' "
          "WHERE jti = '%s'" % S.jwt_claims(t3)["jti"])
    H.assert_envelope(s.hosted(t3), 401, "INVALID_TOKEN")
    H.assert_envelope(s.connect(t3, b"{}"), 401, "INVALID_TOKEN")

    # an idempotency key past its 24 hours
    s.sql("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' "
          "WHERE key = '%s' AND expires_at > now()" % k)
    # the t3 stash has not expired, but goes with its token (ON DELETE CASCADE)
    assert _count(s, "session_tokens") == 3 and _count(s, "hosted_properties") == 2
    _check_sweep(_sweep_once(s), hosted_properties=1, session_tokens=3, idempotency_keys=1)
    for table in ("session_tokens", "hosted_properties", "idempotency_keys"):
        assert _count(s, table) == 0, table
    _check_sweep(_sweep_once(s))
    # swept tokens stay refused; the linked account itself is not time-limited
    H.assert_envelope(s.hosted(t1), 401, "INVALID_TOKEN")
    s.ok("GET", "linked-account/" + la, key=s.key)
    # the expired idempotency key is free again: a new request, not a replay
    r = s.req("POST", "session-token", key=s.key, body={"linked_account_id": la},
              headers={"Idempotency-Key": k})
    assert r.status == 200 and r.header("Idempotent-Replayed") is None, r
    assert r.json()["token"] != t2


def test_expired_idempotency_key_is_not_replayed_before_sweep():
    s = st()
    k = "old-" + secrets.token_hex(6)
    body = {"linked_account_id": "idem-exp"}
    r1 = s.req("POST", "session-token", key=s.key, body=body, headers={"Idempotency-Key": k})
    assert r1.status == 200
    s.sql("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' "
          "WHERE key = '%s' AND expires_at > now()" % k)
    r2 = s.req("POST", "session-token", key=s.key, body=body, headers={"Idempotency-Key": k})
    assert r2.status == 200 and r2.header("Idempotent-Replayed") is None, r2
    assert r2.json()["token"] != r1.json()["token"]
    # and a different body with it is not a conflict either once expired
    s.sql("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' "
          "WHERE key = '%s' AND expires_at > now()" % k)
    r3 = s.req("POST", "session-token", key=s.key, body={"linked_account_id": "other"},
               headers={"Idempotency-Key": k})
    assert r3.status == 200 and r3.header("Idempotent-Replayed") is None, r3


def test_background_sweeper_deletes_expired_rows():
    s = st()
    la = "bg-" + secrets.token_hex(4)
    t1, _ = s.session(la)
    assert s.connect(t1, b'{"bg": 1}').status == 200
    t2, _ = s.session(la)
    jtis = "'%s', '%s'" % (S.jwt_claims(t1)["jti"], S.jwt_claims(t2)["jti"])
    s.sql("UPDATE hosted_properties SET expires_at = now() - interval '1 second'")
    s.sql("UPDATE session_tokens SET expires_at = now() - interval '1 second' "
          "WHERE jti IN (%s)" % jtis)
    s.req("POST", "session-token", key=s.key, body={"linked_account_id": la},
          headers={"Idempotency-Key": "bg-" + secrets.token_hex(6)})
    s.sql("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' "
          "WHERE expires_at > now()")
    live, _ = s.session(la)         # not expired: must survive
    assert s.connect(live, b'{"live": 1}').status == 200
    # its stash lives longer than this module's 1 s hosted_properties_ttl,
    # so a slow machine (sanitizers) cannot expire it before the check below
    s.sql("UPDATE hosted_properties SET expires_at = now() + interval '1 hour' "
          "WHERE jti = '%s'" % S.jwt_claims(live)["jti"])
    assert _count(s, "session_tokens", "expires_at <= now()") == 2

    # a second hostlinkd on the same database, sweeping every second
    bg = H.env().instance("sweeper", database=H.env().pg.conninfo(s.db), sweep_interval="1s",
                          workers="1")
    bg.start()
    try:
        kinds = [p.get("kind") for p in bg.status()["processes"]]
        assert "background" in kinds, kinds

        def swept():
            return (_count(s, "session_tokens", "expires_at <= now()") == 0 and
                    _count(s, "hosted_properties", "expires_at <= now()") == 0 and
                    _count(s, "idempotency_keys", "expires_at <= now()") == 0)
        H.wait_for(swept, 5, "the background sweeper", 0.1)
        # rows that had not expired are kept
        assert _count(s, "session_tokens", "jti = '%s'" % S.jwt_claims(live)["jti"]) == 1
        assert s.hosted(live).body == b'{"live": 1}'
        # periodically, not only at start: expire the rest now
        s.sql("UPDATE session_tokens SET expires_at = now() - interval '1 second'")
        H.wait_for(lambda: _count(s, "session_tokens") == 0 and
                   _count(s, "hosted_properties") == 0, 5, "a later sweep", 0.1)
        assert "swept" in bg.log(), bg.log()[-2000:]
    finally:
        bg.stop()
    # the linked account is not time-limited
    assert s.ok("GET", "linked-account/" + la, key=s.key)["linked_account_id"] == la
    _check_sweep(_sweep_once(s))
