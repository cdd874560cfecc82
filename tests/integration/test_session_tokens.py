"""Session tokens through nginx (SPEC §5 "Authentication", "Session tokens",
Operations/Idempotency-Key): issuing, every way a token is refused (401),
revocation, and Idempotency-Key replay and conflict."""

import re
import secrets
import time

import harness as H
import support_session as S

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def st():
    return S.stack()


def _token_401(r, message=None):
    return H.assert_envelope(r, 401, "INVALID_TOKEN", message)


def _refused_everywhere(s, token, message):
    """The token is refused by every session-token endpoint with this message."""
    _token_401(s.hosted(token), message)
    _token_401(s.connect(token, b'{"a":1}'), message)
    _token_401(s.connect(token), message)


# ---------------------------------------------------------------------------
# Issuing

def test_issue_token_claims_and_expiry():
    s = st()
    la = "acct-" + secrets.token_hex(4)
    before = int(time.time())
    token, out = s.session(la, name="Acme Widgets", udf={"plan": "gold"})
    after = int(time.time())
    assert RFC3339_Z.match(out["expires_at"]), out
    assert S.jwt_header(token)["alg"] == "HS256", S.jwt_header(token)
    c = S.jwt_claims(token)
    for k in ("iss", "org_id", "environment", "linked_account_id", "company_id", "token_use",
              "jti", "iat", "exp"):
        assert k in c, (k, c)
    assert c["iss"] == "hostlink" and c["token_use"] == "session", c
    assert c["org_id"] == s.org_id and c["environment"] == "test", c
    assert c["linked_account_id"] == la, c
    assert H.UUID_RE.match(c["jti"]) and H.UUID_RE.match(c["company_id"]), c
    assert before <= c["iat"] <= after, c
    assert c["exp"] - c["iat"] == 3 * 86400, "default session_token_ttl is 3d: %r" % c
    assert out["expires_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(c["exp"])), out
    # the linked account was upserted with the given name and udf
    acct = s.ok("GET", "linked-account/" + la, key=s.key)
    assert acct["company_id"] == c["company_id"], acct
    assert acct["name"] == "Acme Widgets" and acct["udf"] == {"plan": "gold"}, acct
    # the token works
    H.assert_envelope(s.hosted(token), 404, "HOSTED_PROPERTIES_NOT_FOUND")
    # a second token for the same account: same company, new jti
    token2, _ = s.session(la)
    c2 = S.jwt_claims(token2)
    assert c2["company_id"] == c["company_id"] and c2["jti"] != c["jti"], (c, c2)
    # tokens are recorded by jti, never whole
    assert s.sql("SELECT count(*) FROM session_tokens WHERE jti = '%s'" % c["jti"]) == "1"


def test_issue_token_live_environment():
    s = st()
    la = "live-" + secrets.token_hex(4)
    token, _ = s.session(la, key=s.live_key)
    c = S.jwt_claims(token)
    assert c["environment"] == "live" and c["org_id"] == s.org_id, c
    H.assert_envelope(s.req("GET", "linked-account/" + la, key=s.key), 404, "NOT_FOUND")
    assert s.ok("GET", "linked-account/" + la, key=s.live_key)["environment"] == "live"


def test_issue_token_validation():
    s = st()
    bad = [
        ({}, "VALIDATION_ERROR"),
        ({"linked_account_id": ""}, "VALIDATION_ERROR"),
        ({"linked_account_id": "x" * 257}, "VALIDATION_ERROR"),
        ({"linked_account_id": 12}, "VALIDATION_ERROR"),
        ({"linked_account_id": "ok", "udf": [1]}, "VALIDATION_ERROR"),
        ({"linked_account_id": "ok", "name": 5}, "VALIDATION_ERROR"),
    ]
    for body, err in bad:
        H.assert_envelope(s.req("POST", "session-token", key=s.key, body=body), 400, err)
    for raw in (b"{", b"[]", b'"x"', b"null", b'{"linked_account_id":"a"} x'):
        H.assert_envelope(s.req("POST", "session-token", key=s.key, body=raw), 400, "INVALID_JSON")
    H.assert_envelope(s.req("POST", "session-token", key=s.key, body=b'{"linked_account_id":"a"}',
                            ctype="text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE")
    big = b'{"linked_account_id":"a","udf":{"x":"' + b"y" * (1024 * 1024) + b'"}}'
    H.assert_envelope(s.req("POST", "session-token", key=s.key, body=big), 413, "PAYLOAD_TOO_LARGE")
    # 256 characters is the limit, not over it
    s.session("z" * 256)


def test_session_token_needs_api_key():
    s = st()
    token, _ = s.session()
    H.assert_envelope(s.req("POST", "session-token", body={"linked_account_id": "a"}), 401,
                      "INVALID_API_KEY", "API Key Missing")
    # a session token where an API key is required
    H.assert_envelope(s.req("POST", "session-token", token=token, body={"linked_account_id": "a"}),
                      401, "INVALID_API_KEY", "API Key Missing")
    H.assert_envelope(s.req("GET", "linked-account", token=token), 401, "INVALID_API_KEY")
    H.assert_envelope(s.req("POST", "session-token", key="hl_test_" + "A" * 43,
                            body={"linked_account_id": "a"}), 401, "INVALID_API_KEY",
                      "Invalid API Key")


def _audit_rows(s, org_id, la_path="/api/v2/public/session-token"):
    return int(s.sql("SELECT count(*) FROM audit_log WHERE org_id = '%s' AND object = '%s'"
                     % (org_id, la_path)))


def test_issue_checks_the_key_in_its_statement():
    """POST /session-token checks its key in the issuing statement (one round
    trip): a good key issues and writes its audit row there, a revoked one
    is refused at once and changes nothing, a bad key with a bad body hears
    401 before 400, and an Idempotency-Key request (whose key must be known
    first) is audited once too."""
    s = st()
    t = s.new_tenant("Keyed " + secrets.token_hex(3))
    key_id = s.sql("SELECT id FROM api_keys WHERE org_id = '%s' AND environment = 'test'"
                   % t.org_id)
    la = "keyed-" + secrets.token_hex(4)
    token, _ = s.session(la, key=t.test_key)
    assert S.jwt_claims(token)["org_id"] == t.org_id
    row = s.sql("SELECT actor_kind, actor_id, action, status, environment, client IS NOT NULL "
                "FROM audit_log WHERE org_id = '%s'" % t.org_id)
    assert row == "api_key|%s|POST /api/v2/public/session-token|200|test|t" % key_id, row
    r = s.req("POST", "session-token", key=t.test_key, body={"linked_account_id": la},
              headers={"Idempotency-Key": "k-" + secrets.token_hex(4)})
    assert r.status == 200, r
    assert _audit_rows(s, t.org_id) == 2
    # a bad key with a bad body: 401, not 400; a good key with it: 400
    H.assert_envelope(s.req("POST", "session-token", key="hl_test_" + "B" * 43, body={}),
                      401, "INVALID_API_KEY", "Invalid API Key")
    H.assert_envelope(s.req("POST", "session-token", key=t.test_key, body={}),
                      400, "VALIDATION_ERROR")
    # a test key's hash presented as a live key is no key
    live_form = "hl_live_" + t.test_key[8:]
    H.assert_envelope(s.req("POST", "session-token", key=live_form,
                            body={"linked_account_id": la}), 401, "INVALID_API_KEY")
    # revoked: refused on the very next request, nothing written
    H.ctl_json(["apikey", "revoke", key_id], s.inst.conf)
    companies = s.sql("SELECT count(*) FROM companies WHERE org_id = '%s'" % t.org_id)
    H.assert_envelope(s.req("POST", "session-token", key=t.test_key,
                            body={"linked_account_id": "after-" + la}), 401,
                      "INVALID_API_KEY", "Invalid API Key")
    assert s.sql("SELECT count(*) FROM companies WHERE org_id = '%s'" % t.org_id) == companies
    assert _audit_rows(s, t.org_id) == 2
    # the other tenant's key still works
    s.session(la, key=t.live_key)


# ---------------------------------------------------------------------------
# Refused tokens

def test_token_missing():
    s = st()
    for path, method in (("connect-url", "POST"), ("hosted-properties", "GET"),
                         ("session-token", "DELETE")):
        _token_401(s.req(method, path), "Authorization Token Missing")
        # an API key alone is not a session token
        _token_401(s.req(method, path, key=s.key), "Authorization Token Missing")
        for auth in ("Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc"):
            _token_401(s.req(method, path, headers={"Authorization": auth}),
                       "Authorization Token Missing")


def test_api_key_as_bearer_is_refused():
    s = st()
    _refused_everywhere(s, s.key, "Invalid Token")
    _token_401(s.req("GET", "hosted-properties", key=s.key, token=s.key), "Invalid Token")


def test_forged_and_malformed_tokens():
    s = st()
    token, _ = s.session()
    claims = S.jwt_claims(token)
    secret = S.jwt_secret()
    other = secrets.token_hex(32)
    forged = {
        "other key": S.jwt_encode(claims, other),
        "alg none": S.jwt_encode(claims, b"", alg="none"),
        "alg none, real signature": S.jwt_encode(claims, b"", alg="none")[:-1]
        + token.rsplit(".", 1)[1],
        "header none, signed with the real key": S.jwt_encode(
            claims, secret, header={"alg": "none", "typ": "JWT"}),
        "HS512 with the real key": S.jwt_encode(claims, secret, alg="HS512"),
        "HS384 with the real key": S.jwt_encode(claims, secret, alg="HS384"),
        "RS256 header": S.jwt_encode(claims, secret, header={"alg": "RS256", "typ": "JWT"}),
        "payload swapped": token.split(".")[0] + "." + S.b64url(
            '{"iss":"hostlink","org_id":"%s"}' % claims["org_id"]) + "." + token.split(".")[2],
        "signature cut": token[:-3],
        "signature empty": token.rsplit(".", 1)[0] + ".",
        "two parts": token.rsplit(".", 1)[0],
        "four parts": token + ".x",
        "garbage": "not-a-token",
        "bad base64": "%%%.%%%.%%%",
        "wrong iss": S.jwt_encode(S.claims_like(token, iss="someone"), secret),
        "no iss": S.jwt_encode(S.claims_like(token, iss=None), secret),
        "no jti": S.jwt_encode(S.claims_like(token, jti=None), secret),
        "no exp": S.jwt_encode(S.claims_like(token, exp=None), secret),
        "no iat": S.jwt_encode(S.claims_like(token, iat=None), secret),
        "iat in the future": S.jwt_encode(S.claims_like(
            token, iat=int(time.time()) + 3600, exp=int(time.time()) + 7200), secret),
        "wrong token_use": S.jwt_encode(S.claims_like(token, token_use="admin"), secret),
        "exp as string": S.jwt_encode(S.claims_like(token, exp=str(claims["exp"])), secret),
        "jti not a uuid": S.jwt_encode(S.claims_like(token, jti="1"), secret),
        "environment bogus": S.jwt_encode(S.claims_like(token, environment="prod"), secret),
    }
    for what, t in forged.items():
        for r in (s.hosted(t), s.connect(t, b"{}"), s.req("DELETE", "session-token", token=t)):
            assert r.status == 401, "%s: %r" % (what, r)
            _token_401(r)
    # none of them revoked the real token
    H.assert_envelope(s.hosted(token), 404, "HOSTED_PROPERTIES_NOT_FOUND")


def test_link_token_is_not_a_session_token():
    s = st()
    token, _ = s.session()
    t = S.jwt_encode(S.claims_like(token, token_use="link"), S.jwt_secret())
    for r in (s.hosted(t), s.connect(t, b"{}"), s.req("DELETE", "session-token", token=t)):
        _token_401(r)


def test_expired_token():
    """An expired token (signed with the real key) is refused as expired."""
    s = st()
    token, _ = s.session()
    now = int(time.time())
    t = S.jwt_encode(S.claims_like(token, iat=now - 100, exp=now - 1), S.jwt_secret())
    _refused_everywhere(s, t, "Token Expired")
    _token_401(s.req("DELETE", "session-token", token=t), "Token Expired")


def test_unknown_jti_signed_with_real_key():
    """Signed with the real key but never issued: refused (its jti is unknown)."""
    s = st()
    token, _ = s.session()
    t = S.jwt_encode(S.claims_like(token, jti=S.uid()), S.jwt_secret())
    _token_401(s.hosted(t))
    _token_401(s.connect(t, b"{}"))
    assert s.sql("SELECT count(*) FROM hosted_properties WHERE jti = '%s'"
                 % S.jwt_claims(t)["jti"]) == "0"


# ---------------------------------------------------------------------------
# Revocation

def test_delete_session_token():
    s = st()
    la = "del-" + secrets.token_hex(4)
    token, _ = s.session(la)
    other, _ = s.session(la)
    assert s.connect(token, b'{"k": 1}').status == 200
    assert s.connect(other, b'{"k": 2}').status == 200
    jti = S.jwt_claims(token)["jti"]
    assert s.ok("DELETE", "session-token", token=token) == {"revoked": True}
    _token_401(s.hosted(token), "Token Revoked")
    _token_401(s.connect(token, b"{}"), "Token Revoked")
    # its stash is gone, the other token of the same account is untouched
    assert s.sql("SELECT count(*) FROM hosted_properties WHERE jti = '%s'" % jti) == "0"
    r = s.hosted(other)
    assert r.status == 200 and r.body == b'{"k": 2}', r
    # the API key still works for the account
    s.ok("GET", "linked-account/" + la, key=s.key)


def test_delete_session_token_with_dead_token_is_401():
    """DELETE /session-token is a session-token endpoint like the others: a
    token that is already revoked, whose account is gone or that was never
    issued gets 401, not {"revoked": true}."""
    s = st()
    failures = []

    def expect_401(what, token):
        r = s.req("DELETE", "session-token", token=token)
        if r.status != 401:
            failures.append("%s: DELETE /session-token -> %d %r" % (what, r.status, r.body))
        else:
            _token_401(r)

    token, _ = s.session()
    assert s.ok("DELETE", "session-token", token=token) == {"revoked": True}
    expect_401("deleted once already", token)
    la = "dd-" + secrets.token_hex(4)
    token, _ = s.session(la)
    s.ok("POST", "linked-account/%s/revoke-tokens" % la, key=s.key)
    expect_401("revoked by revoke-tokens", token)
    token, _ = s.session(la)
    s.ok("DELETE", "linked-account/" + la, key=s.key)
    expect_401("linked account deleted", token)
    token, _ = s.session()
    expect_401("never issued (real key, unknown jti)",
               S.jwt_encode(S.claims_like(token, jti=S.uid()), S.jwt_secret()))
    assert not failures, "\n".join(failures)


def test_revoked_token_refused_before_other_checks():
    """A revoked token is a 401 whatever else is wrong with the request."""
    s = st()
    token, _ = s.session("rev-" + secrets.token_hex(4))
    s.ok("DELETE", "session-token", token=token)
    failures = []
    for what, query, body, ctype in (
            ("other linked_account_id", "?linked_account_id=someone-else", b'{"a":1}', S.JSON),
            ("config_id too long", "?config_id=" + "c" * 300, b'{"a":1}', S.JSON),
            ("invalid JSON", "", b"not json", S.JSON),
            ("non-object JSON", "", b"[1]", S.JSON),
            ("wrong Content-Type", "", b'{"a":1}', "text/plain")):
        r = s.connect(token, body, query=query, ctype=ctype)
        if r.status != 401:
            failures.append("%s: POST /connect-url%s with a revoked token -> %d %r"
                            % (what, query[:40], r.status, r.body))
        else:
            _token_401(r, "Token Revoked")
    assert not failures, "\n".join(failures)


def test_revoke_tokens_of_linked_account():
    s = st()
    la = "revall-" + secrets.token_hex(4)
    tokens = [s.session(la)[0] for _ in range(3)]
    bystander, _ = s.session()
    for i, t in enumerate(tokens):
        assert s.connect(t, b'{"i": %d}' % i).status == 200
    out = s.ok("POST", "linked-account/%s/revoke-tokens" % la, key=s.key)
    assert out == {"linked_account_id": la, "revoked": 3}, out
    for t in tokens:
        _refused_everywhere(s, t, "Token Revoked")
    jtis = ",".join("'%s'" % S.jwt_claims(t)["jti"] for t in tokens)
    assert s.sql("SELECT count(*) FROM hosted_properties WHERE jti IN (%s)" % jtis) == "0"
    # again: nothing left to revoke
    assert s.ok("POST", "linked-account/%s/revoke-tokens" % la, key=s.key)["revoked"] == 0
    # other accounts' tokens are untouched; new tokens for the account work
    H.assert_envelope(s.hosted(bystander), 404, "HOSTED_PROPERTIES_NOT_FOUND")
    fresh, _ = s.session(la)
    assert s.connect(fresh, b"{}").status == 200
    H.assert_envelope(s.req("POST", "linked-account/no-such-%s/revoke-tokens" % la, key=s.key),
                      404, "NOT_FOUND")
    H.assert_envelope(s.req("POST", "linked-account/%s/revoke-tokens" % la), 401,
                      "INVALID_API_KEY", "API Key Missing")


def test_delete_linked_account_kills_its_tokens():
    s = st()
    la = "gone-" + secrets.token_hex(4)
    token, _ = s.session(la)
    assert s.connect(token, b'{"x": true}').status == 200
    company = S.jwt_claims(token)["company_id"]
    out = s.ok("DELETE", "linked-account/" + la, key=s.key)
    assert out == {"linked_account_id": la, "company_id": company, "deleted": True}, out
    _token_401(s.hosted(token))
    _token_401(s.connect(token, b"{}"))
    assert s.sql("SELECT count(*) FROM hosted_properties WHERE jti = '%s'"
                 % S.jwt_claims(token)["jti"]) == "0"
    # a new token for the same id makes a new account
    token2, _ = s.session(la)
    assert S.jwt_claims(token2)["company_id"] != company


# ---------------------------------------------------------------------------
# Idempotency-Key

def test_idempotent_session_token():
    s = st()
    la = "idem-" + secrets.token_hex(4)
    k = "key-" + secrets.token_hex(8)
    body = '{"linked_account_id": "%s", "name": "Idem"}' % la
    r1 = s.req("POST", "session-token", key=s.key, body=body, headers={"Idempotency-Key": k})
    assert r1.status == 200, r1
    assert r1.header("Idempotent-Replayed") is None, r1
    r2 = s.req("POST", "session-token", key=s.key, body=body, headers={"Idempotency-Key": k})
    assert r2.status == 200, r2
    assert r2.header("Idempotent-Replayed") == "true", r2
    assert r2.body == r1.body, (r1, r2)
    assert r2.header("Content-Type", "").startswith(S.JSON), r2
    assert r2.header("X-Request-Id") and r2.header("X-Request-Id") != r1.header("X-Request-Id")
    # one token was issued, not two
    company = S.jwt_claims(r1.json()["token"])["company_id"]
    assert s.sql("SELECT count(*) FROM session_tokens WHERE company_id = '%s'" % company) == "1"
    # the same key with another body: 409
    r3 = s.req("POST", "session-token", key=s.key, body=body.replace("Idem", "Other"),
               headers={"Idempotency-Key": k})
    H.assert_envelope(r3, 409, "IDEMPOTENCY_KEY_REUSED")
    # ...another spelling of the same JSON is another body
    H.assert_envelope(s.req("POST", "session-token", key=s.key, body=body + " ",
                            headers={"Idempotency-Key": k}), 409, "IDEMPOTENCY_KEY_REUSED")
    # without the key: a fresh token
    r4 = s.req("POST", "session-token", key=s.key, body=body)
    assert r4.status == 200 and r4.json()["token"] != r1.json()["token"], r4
    # the replayed token is the live, working token
    t = r2.json()["token"]
    assert s.connect(t, b'{"ok": 1}').status == 200


def test_idempotency_key_scoped_per_org_and_environment():
    s = st()
    k = "shared-" + secrets.token_hex(8)
    body = '{"linked_account_id": "scoped"}'
    first = s.req("POST", "session-token", key=s.key, body=body, headers={"Idempotency-Key": k})
    assert first.status == 200
    live = s.req("POST", "session-token", key=s.live_key, body=body, headers={"Idempotency-Key": k})
    assert live.status == 200 and live.header("Idempotent-Replayed") is None, live
    assert S.jwt_claims(live.json()["token"])["environment"] == "live"
    other = s.new_tenant("Idem Org " + secrets.token_hex(3))
    r = s.req("POST", "session-token", key=other.test_key, body=body,
              headers={"Idempotency-Key": k})
    assert r.status == 200 and r.header("Idempotent-Replayed") is None, r
    assert S.jwt_claims(r.json()["token"])["org_id"] == other.org_id


def test_idempotency_key_validation():
    s = st()
    body = '{"linked_account_id": "kv"}'
    for k in ("a b", "x" * 256):
        H.assert_envelope(s.req("POST", "session-token", key=s.key, body=body,
                                headers={"Idempotency-Key": k}), 400)
    assert s.req("POST", "session-token", key=s.key, body=body,
                 headers={"Idempotency-Key": "y" * 255}).status == 200


def test_idempotent_errors_are_replayed_but_not_5xx():
    """A 4xx answer is the first response too: replayed, not re-evaluated."""
    s = st()
    k = "err-" + secrets.token_hex(8)
    body = '{"linked_account_id": ""}'
    r1 = s.req("POST", "session-token", key=s.key, body=body, headers={"Idempotency-Key": k})
    H.assert_envelope(r1, 400, "VALIDATION_ERROR")
    r2 = s.req("POST", "session-token", key=s.key, body=body, headers={"Idempotency-Key": k})
    assert r2.status == 400 and r2.header("Idempotent-Replayed") == "true", r2


def test_idempotent_revoke_tokens():
    s = st()
    la = "idrev-" + secrets.token_hex(4)
    s.session(la)
    s.session(la)
    k = "rev-" + secrets.token_hex(8)
    path = "linked-account/%s/revoke-tokens" % la
    r1 = s.req("POST", path, key=s.key, headers={"Idempotency-Key": k})
    assert r1.status == 200 and r1.json()["revoked"] == 2, r1
    r2 = s.req("POST", path, key=s.key, headers={"Idempotency-Key": k})
    assert r2.status == 200 and r2.header("Idempotent-Replayed") == "true", r2
    assert r2.body == r1.body
    # the same key on another URI is another request
    s.session("other-" + la)
    H.assert_envelope(s.req("POST", "linked-account/other-%s/revoke-tokens" % la, key=s.key,
                            headers={"Idempotency-Key": k}), 409, "IDEMPOTENCY_KEY_REUSED")


def test_concurrent_requests_with_one_idempotency_key():
    """Simultaneous retries with one key: at most one token is issued; every
    answer is that token (first or replayed) or 409 IDEMPOTENCY_KEY_IN_USE."""
    import threading
    s = st()
    la = "race-" + secrets.token_hex(4)
    k = "race-" + secrets.token_hex(8)
    body = '{"linked_account_id": "%s"}' % la
    results = []
    lock = threading.Lock()

    def go():
        r = s.req("POST", "session-token", key=s.key, body=body, headers={"Idempotency-Key": k})
        with lock:
            results.append(r)
    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8
    tokens = set()
    for r in results:
        if r.status == 409:
            H.assert_envelope(r, 409, "IDEMPOTENCY_KEY_IN_USE")
        else:
            assert r.status == 200, r
            tokens.add(r.json()["token"])
    assert len(tokens) == 1, tokens
    company = S.jwt_claims(tokens.pop())["company_id"]
    assert s.sql("SELECT count(*) FROM session_tokens WHERE company_id = '%s'" % company) == "1"
