"""POST /connect-url and GET /hosted-properties through nginx (SPEC §5
"Connect URL and hosted properties"): the stash is returned byte for byte,
replaced by a second call, keyed by the token, and hosted_url is built from
app_url, the token and the percent-encoded config_id."""

import hashlib
import json
import secrets
import urllib.parse

import harness as H
import support_session as S


def st():
    return S.stack()


def _roundtrip(s, token, body):
    r = s.connect(token, body)
    assert r.status == 200, "POST %r: %r" % (body[:80], r)
    g = s.hosted(token)
    assert g.status == 200, g
    assert g.header("Content-Type", "").split(";")[0] == S.JSON, g
    assert g.body == (body or b"{}"), "stored %r, got back %r" % (body[:200], g.body[:200])
    return r


# ---------------------------------------------------------------------------
# Byte for byte

TRICKY = {
    "key order": b'{"zeta": 1, "alpha": 2, "mid": {"b": 1, "a": 2}}',
    "whitespace and newlines": b'\n\t {\n  "a" :\t1 ,\r\n  "b":[ 1 , 2 ]\n}\n ',
    "1.0 is not 1": b'{"a": 1.0, "b": 1, "c": -0, "d": 0.10, "e": 1E2, "f": 1e-7}',
    "1e400": b'{"huge": 1e400, "tiny": 1e-400, "neg": -1e400}',
    "big integers": b'{"n": 1234567890123456789012345678901234567890, '
                    b'"m": -9999999999999999999999999999999999999999}',
    "unicode escapes": b'{"e": "\\u00e9", "E": "\\u00C9", "smile": "\\ud83d\\ude00", '
                       b'"esc": "\\"\\\\\\/\\b\\f\\n\\r\\t"}',
    "raw UTF-8": '{"caf\u00e9": "na\u00efve \u65e5\u672c \U0001F600"}'.encode(),
    "nested 30 deep": b'{"deep": ' + b"[" * 15 + b'{"o": ' * 15 + b"null" + b"}" * 15 +
                      b"]" * 15 + b"}",
    "duplicate keys": b'{"a": 1, "a": 2, "a": {"a": 3}}',
    "empty object": b"{}",
    "empty object with space": b"{ }",
    "literals": b'{"t": true, "f": false, "n": null, "s": "", "arr": [], "obj": {}}',
    "seed example": b'{"company_name":"Acme","integration_type":"ACCOUNTING",'
                    b'"redirect_url":"https://example.com/done?x=1&y=2","theme":{"color":"#ff0000"}}',
}


def test_stash_round_trips_byte_for_byte():
    s = st()
    token, _ = s.session()
    failures = []
    for what, body in TRICKY.items():
        json.loads(body)  # all valid JSON
        r = s.connect(token, body)
        g = s.hosted(token)
        if r.status != 200 or g.status != 200 or g.body != body:
            failures.append("%s: POST %d, GET %d %r (sent %r)" % (what, r.status, g.status,
                                                                  g.body[:120], body[:120]))
    assert not failures, "\n".join(failures)


def test_nesting_limit_is_a_400_not_a_crash():
    s = st()
    token, _ = s.session()
    _roundtrip(s, token, b'{"x": ' + b"[" * 30 + b"]" * 30 + b"}")
    r = s.connect(token, b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    H.assert_envelope(r, 400, "INVALID_JSON")
    # the earlier stash is kept
    assert s.hosted(token).body.startswith(b'{"x": [[[')


def test_empty_body_means_empty_object():
    s = st()
    token, _ = s.session()
    for ctype in (S.JSON, None, "text/plain"):
        r = s.req("POST", "connect-url", token=token, ctype=None,
                  headers={"Content-Type": ctype} if ctype else None)
        assert r.status == 200, (ctype, r)
        g = s.hosted(token)
        assert g.status == 200 and g.body == b"{}", (ctype, g)


def test_content_type_with_parameters():
    s = st()
    token, _ = s.session()
    body = b'{"charset": "given"}'
    r = s.connect(token, body, ctype="application/json; charset=utf-8")
    assert r.status == 200, r
    assert s.hosted(token).body == body


def test_largest_body_round_trips():
    """A body of exactly max_body (1 MiB) is accepted and returned whole."""
    s = st()
    token, _ = s.session()
    head, tail = b'{"pad": "', b'"}'
    body = head + b"x" * (1024 * 1024 - len(head) - len(tail)) + tail
    assert len(body) == 1024 * 1024
    _roundtrip(s, token, body)


# ---------------------------------------------------------------------------
# Errors

def test_connect_url_errors():
    s = st()
    la = "err-" + secrets.token_hex(4)
    token, _ = s.session(la)
    _roundtrip(s, token, b'{"kept": true}')
    for body in (b"{", b"nope", b'{"a":}', b'{"a": 1,}', b'{"a": 1} {"b": 2}', b'{"a": 1} x',
                 b'{"a": 01}', b'{"a": "\xff"}', b'{"a":1}\x00', b'{"a": .5}', b'{"a": +1}',
                 b'{"a": "\\x41"}', b'{"a": "\\u12"}', b"/*c*/{}", b"{} //c",
                 b"\xef\xbb\xbf{}"):
        H.assert_envelope(s.connect(token, body), 400, "INVALID_JSON")
    for body in (b"[]", b'[{"a": 1}]', b"1", b'"str"', b"true", b"null"):
        H.assert_envelope(s.connect(token, body), 400, "INVALID_JSON")
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx",
                  "multipart/form-data; boundary=x"):
        H.assert_envelope(s.connect(token, b'{"a": 1}', ctype=ctype), 415,
                          "UNSUPPORTED_MEDIA_TYPE")
    H.assert_envelope(s.connect(token, b'{"a": 1}', ctype=None), 415, "UNSUPPORTED_MEDIA_TYPE")
    big = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    H.assert_envelope(s.connect(token, big), 413, "PAYLOAD_TOO_LARGE")
    H.assert_envelope(s.connect(token, b"{}", query="?linked_account_id=someone-else"), 403,
                      "LINKED_ACCOUNT_MISMATCH")
    H.assert_envelope(s.connect(token, b"{}", query="?linked_account_id="), 403,
                      "LINKED_ACCOUNT_MISMATCH")
    H.assert_envelope(s.connect(token, b"{}", query="?config_id=" + "c" * 257), 400,
                      "VALIDATION_ERROR")
    H.assert_envelope(s.connect(token, b"{}", query="?config_id="), 400, "VALIDATION_ERROR")
    # none of that touched the stash
    assert s.hosted(token).body == b'{"kept": true}'
    H.assert_envelope(s.req("PUT", "connect-url", token=token, body=b"{}"), 405,
                      "METHOD_NOT_ALLOWED")
    H.assert_envelope(s.req("POST", "hosted-properties", token=token, body=b"{}"), 405,
                      "METHOD_NOT_ALLOWED")


# Not JSON by RFC 8259, though a lenient parser takes them.
NOT_JSON = [
    b"{'a': 1}",                    # single quotes
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b'{"a": -Infinity}',
    b'{"a": 1.}',                   # no digit after the point
    b'{"a": "tab\there"}',          # raw control characters in a string
    b'{"a": "\x01"}',
    b'{"a": "\xed\xa0\x80"}',        # a UTF-16 surrogate encoded as UTF-8 (CESU-8)
]


def test_invalid_json_is_400_never_503():
    """Invalid JSON is a 400 INVALID_JSON, whatever the parser lets through
    (the stash must never hold anything but valid JSON, and a client error is
    not a database outage)."""
    s = st()
    token, _ = s.session()
    _roundtrip(s, token, b'{"kept": 1}')
    failures = []
    for body in NOT_JSON:
        r = s.connect(token, body)
        if r.status != 400:
            failures.append("POST /connect-url %r -> %d %s" % (
                body, r.status, r.json().get("error") if r.body else ""))
        else:
            H.assert_envelope(r, 400, "INVALID_JSON")
    assert s.hosted(token).body == b'{"kept": 1}'
    assert not failures, "\n".join(failures)


def test_hosted_properties_not_found_before_any_stash():
    s = st()
    token, _ = s.session()
    H.assert_envelope(s.hosted(token), 404, "HOSTED_PROPERTIES_NOT_FOUND")


def test_api_key_is_not_a_session_token_here():
    s = st()
    H.assert_envelope(s.connect(None, b"{}", headers={"x-api-key": s.key}), 401,
                      "INVALID_TOKEN", "Authorization Token Missing")
    H.assert_envelope(s.req("GET", "hosted-properties", key=s.key), 401, "INVALID_TOKEN",
                      "Authorization Token Missing")
    H.assert_envelope(s.connect(s.key, b"{}"), 401, "INVALID_TOKEN")
    H.assert_envelope(s.hosted(s.key), 401, "INVALID_TOKEN")


# ---------------------------------------------------------------------------
# hosted_url and config_id

def test_hosted_url_without_config_id():
    s = st()
    la = "url-" + secrets.token_hex(4)
    token, _ = s.session(la)
    r = s.connect(token, b"{}")
    assert r.json() == {"hosted_url": s.app_url + "/connect/" + token}, r
    r = s.connect(token, b"{}", query="?linked_account_id=" + la)
    assert r.status == 200 and r.json()["hosted_url"] == s.app_url + "/connect/" + token, r
    # the URL is served by nginx as the hosted page
    path = r.json()["hosted_url"][len(s.app_url):]
    page = s.nginx.request("GET", path)
    assert page.status == 200 and page.header("Content-Type", "").startswith("text/html"), page


CONFIG_IDS = [
    # (config_id, as sent in the query, as expected in hosted_url)
    ("plain-id_1.0~x", "plain-id_1.0~x", "plain-id_1.0~x"),
    ("with space", "with%20space", "with%20space"),
    ("with space", "with+space", "with%20space"),
    ("a/b", "a%2Fb", "a%2Fb"),
    ("a&b=c", "a%26b%3Dc", "a%26b%3Dc"),
    ("a+b", "a%2Bb", "a%2Bb"),
    ("caf\u00e9", "caf%C3%A9", "caf%C3%A9"),
    ("\U0001F600", "%F0%9F%98%80", "%F0%9F%98%80"),
    ("?#%[]@!$'()*,;:", "%3F%23%25%5B%5D%40%21%24%27%28%29%2A%2C%3B%3A",
     "%3F%23%25%5B%5D%40%21%24%27%28%29%2A%2C%3B%3A"),
    ("c" * 256, "c" * 256, "c" * 256),
]


def test_config_id_percent_encoding():
    s = st()
    la = "cfg-" + secrets.token_hex(4)
    token, _ = s.session(la)
    company = S.jwt_claims(token)["company_id"]
    prefix = s.app_url + "/connect/" + token + "?config_id="
    failures = []
    for cid, sent, expect in CONFIG_IDS:
        r = s.connect(token, b'{"cfg": 1}', query="?config_id=" + sent)
        url = r.json().get("hosted_url") if r.status == 200 else None
        if url != prefix + expect:
            failures.append("config_id %r sent as %r: %d %r, expected ...%s" % (
                cid[:40], sent[:40], r.status, (url or r.body)[-60:], expect[:60]))
            continue
        assert urllib.parse.unquote(url[len(prefix):]) == cid
    assert not failures, "\n".join(failures)
    # with linked_account_id too, in either order
    r = s.connect(token, b"{}", query="?linked_account_id=%s&config_id=a%%20b" % la)
    assert r.json()["hosted_url"] == prefix + "a%20b", r
    r = s.connect(token, b"{}", query="?config_id=a%%20b&linked_account_id=%s" % la)
    assert r.json()["hosted_url"] == prefix + "a%20b", r
    # a config_id that did not exist is created for the linked account
    got = set(s.sql("SELECT config_id FROM connect_configs WHERE company_id = '%s'"
                    % company).split("\n"))
    assert {c for c, _, _ in CONFIG_IDS} <= got, got


def test_config_id_length_counts_characters():
    """config_id is 1..256 characters: 256 two-byte characters fit."""
    s = st()
    token, _ = s.session()
    cid = "\u00e9" * 256
    r = s.connect(token, b"{}", query="?config_id=" + urllib.parse.quote(cid))
    assert r.status == 200, "256 x U+00E9 (512 bytes) as config_id: %d %r" % (r.status, r.body)
    assert r.json()["hosted_url"].endswith("?config_id=" + "%C3%A9" * 256)


# ---------------------------------------------------------------------------
# Replacement and keying

def test_second_post_replaces_the_stash():
    s = st()
    token, _ = s.session()
    jti = S.jwt_claims(token)["jti"]
    r1 = _roundtrip(s, token, b'{"first": 1, "only_in_first": true}')
    r2 = s.connect(token, b'{"second": 2}', query="?config_id=cfg-2")
    assert r2.status == 200
    g = s.hosted(token)
    assert g.body == b'{"second": 2}', g
    assert s.sql("SELECT count(*) FROM hosted_properties WHERE jti = '%s'" % jti) == "1"
    assert s.sql("SELECT config_id FROM hosted_properties WHERE jti = '%s'" % jti) == "cfg-2"
    # replacing with an empty body gives {}
    s.connect(token, b"")
    assert s.hosted(token).body == b"{}"
    assert r1.json()["hosted_url"] == s.app_url + "/connect/" + token


def test_stash_is_keyed_by_token():
    s = st()
    la = "keyed-" + secrets.token_hex(4)
    t1, _ = s.session(la)
    t2, _ = s.session(la)
    _roundtrip(s, t1, b'{"who": "t1"}')
    H.assert_envelope(s.hosted(t2), 404, "HOSTED_PROPERTIES_NOT_FOUND")
    _roundtrip(s, t2, b'{"who": "t2"}')
    assert s.hosted(t1).body == b'{"who": "t1"}'
    # stored under the token's SHA-256, never the token itself
    rows = s.sql("SELECT encode(token_hash, 'hex') FROM hosted_properties WHERE jti = '%s'"
                 % S.jwt_claims(t1)["jti"])
    assert rows == hashlib.sha256(t1.encode()).hexdigest(), rows


def test_other_org_token_sees_only_its_own_stash():
    s = st()
    other = s.new_tenant("Connect Org " + secrets.token_hex(3))
    la = "same-id-" + secrets.token_hex(4)      # the same linked_account_id in both orgs
    ta, _ = s.session(la)
    tb, _ = s.session(la, key=other.test_key)
    tl, _ = s.session(la, key=s.live_key)
    assert S.jwt_claims(tb)["org_id"] == other.org_id
    _roundtrip(s, ta, b'{"org": "A"}')
    for t in (tb, tl):
        H.assert_envelope(s.hosted(t), 404, "HOSTED_PROPERTIES_NOT_FOUND")
    _roundtrip(s, tb, b'{"org": "B"}')
    _roundtrip(s, tl, b'{"org": "A live"}')
    assert s.hosted(ta).body == b'{"org": "A"}'


# ---------------------------------------------------------------------------
# Idempotency-Key on POST /connect-url

def test_idempotent_connect_url():
    s = st()
    token, _ = s.session()
    k = "cu-" + secrets.token_hex(8)
    body = b'{"step": 1}'
    r1 = s.connect(token, body, query="?config_id=c1", headers={"Idempotency-Key": k})
    assert r1.status == 200 and r1.header("Idempotent-Replayed") is None, r1
    # meanwhile the stash changes; the replay does not stash again
    assert s.connect(token, b'{"step": 2}').status == 200
    r2 = s.connect(token, body, query="?config_id=c1", headers={"Idempotency-Key": k})
    assert r2.status == 200 and r2.header("Idempotent-Replayed") == "true", r2
    assert r2.body == r1.body
    assert s.hosted(token).body == b'{"step": 2}'
    H.assert_envelope(s.connect(token, b'{"step": 3}', query="?config_id=c1",
                                headers={"Idempotency-Key": k}), 409, "IDEMPOTENCY_KEY_REUSED")
    H.assert_envelope(s.connect(token, body, query="?config_id=c2",
                                headers={"Idempotency-Key": k}), 409, "IDEMPOTENCY_KEY_REUSED")


def test_idempotency_key_never_hands_out_another_accounts_token():
    """Two linked accounts of one org send the same Idempotency-Key, URI and
    body: the second must not get the first's hosted_url (it holds the first
    account's session token)."""
    s = st()
    ta, _ = s.session("idem-a-" + secrets.token_hex(4))
    tb, _ = s.session("idem-b-" + secrets.token_hex(4))
    k = "same-" + secrets.token_hex(8)
    ra = s.connect(ta, b'{"x": 1}', headers={"Idempotency-Key": k})
    assert ra.status == 200 and ta in ra.json()["hosted_url"], ra
    rb = s.connect(tb, b'{"x": 1}', headers={"Idempotency-Key": k})
    assert ta.encode() not in rb.body, \
        "account B was handed account A's session token: %r" % rb.body[:200]
    if rb.status == 200:
        assert rb.json()["hosted_url"] == s.app_url + "/connect/" + tb, rb
        assert s.hosted(tb).body == b'{"x": 1}'


def test_idempotent_replay_needs_a_live_token():
    """A revoked token gets 401, even when it retries with an Idempotency-Key
    whose first response is stored."""
    s = st()
    token, _ = s.session()
    k = "revoked-" + secrets.token_hex(8)
    assert s.connect(token, b'{"a": 1}', headers={"Idempotency-Key": k}).status == 200
    s.ok("DELETE", "session-token", token=token)
    r = s.connect(token, b'{"a": 1}', headers={"Idempotency-Key": k})
    H.assert_envelope(r, 401, "INVALID_TOKEN", "Token Revoked")
