"""Linked accounts through nginx (SPEC §5 "Linked accounts"): upsert, read,
list with pagination, delete, and tenant / environment isolation (another
org's or environment's key gets 404, never 403)."""

import re
import secrets
import time
import urllib.parse

import harness as H
import support_session as S

KEYS = {"linked_account_id", "name", "udf", "company_id", "environment", "created_at",
        "updated_at"}
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def st():
    return S.stack()


def _path(la):
    return "linked-account/" + urllib.parse.quote(la, safe="")


def _put(s, key=None, **body):
    return s.ok("PUT", "linked-account", key=key or s.key, body=body)


def test_put_creates_then_updates():
    s = st()
    la = "acct-" + secrets.token_hex(4)
    a = _put(s, linked_account_id=la)
    assert set(a) == KEYS, a
    assert a["linked_account_id"] == la and a["name"] == la, "name defaults to the id: %r" % a
    assert a["udf"] is None and a["environment"] == "test", a
    assert H.UUID_RE.match(a["company_id"]), a
    assert TIME_RE.match(a["created_at"]) and TIME_RE.match(a["updated_at"]), a
    time.sleep(0.01)
    b = _put(s, linked_account_id=la, name="Acme", udf={"tier": 2, "tags": ["x"]})
    assert b["company_id"] == a["company_id"] and b["created_at"] == a["created_at"], (a, b)
    assert b["name"] == "Acme" and b["udf"] == {"tier": 2, "tags": ["x"]}, b
    assert b["updated_at"] > a["updated_at"], (a, b)
    # omitted name / udf keep their values
    c = _put(s, linked_account_id=la)
    assert c["name"] == "Acme" and c["udf"] == {"tier": 2, "tags": ["x"]}, c
    d = _put(s, linked_account_id=la, udf={})
    assert d["name"] == "Acme" and d["udf"] == {}, d
    e = _put(s, linked_account_id=la, name="Renamed")
    assert e["name"] == "Renamed" and e["udf"] == {}, e
    got = s.ok("GET", _path(la), key=s.key)
    assert got == e, (got, e)


def test_ids_with_odd_characters():
    s = st()
    for la in ("with space " + secrets.token_hex(3), "a/b/" + secrets.token_hex(3),
               "caf\u00e9-" + secrets.token_hex(3), "q?x=1&y#" + secrets.token_hex(3),
               "pct%41-" + secrets.token_hex(3), "z" * 256):
        a = _put(s, linked_account_id=la)
        assert a["linked_account_id"] == la, a
        assert s.ok("GET", _path(la), key=s.key)["company_id"] == a["company_id"], la
        out = s.ok("POST", _path(la) + "/revoke-tokens", key=s.key)
        assert out == {"linked_account_id": la, "revoked": 0}, out
        assert s.ok("DELETE", _path(la), key=s.key)["deleted"] is True


def test_put_validation():
    s = st()
    for body in ({}, {"linked_account_id": ""}, {"linked_account_id": "x" * 257},
                 {"linked_account_id": None}, {"linked_account_id": 7},
                 {"linked_account_id": "ok", "name": ""}, {"linked_account_id": "ok", "name": 1},
                 {"linked_account_id": "ok", "name": "n" * 257},
                 {"linked_account_id": "ok", "udf": "x"}, {"linked_account_id": "ok", "udf": [1]}):
        H.assert_envelope(s.req("PUT", "linked-account", key=s.key, body=body), 400,
                          "VALIDATION_ERROR")
    for raw in (b"", b"{", b"[]", b"null", b'{"linked_account_id": "a"} x'):
        r = s.req("PUT", "linked-account", key=s.key, body=raw)
        assert r.status == 400, (raw, r)
        H.assert_envelope(r, 400)
    H.assert_envelope(s.req("PUT", "linked-account", key=s.key, body=b'{"linked_account_id":"a"}',
                            ctype="text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE")
    big = b'{"linked_account_id":"a","udf":{"x":"' + b"y" * (1024 * 1024) + b'"}}'
    H.assert_envelope(s.req("PUT", "linked-account", key=s.key, body=big), 413,
                      "PAYLOAD_TOO_LARGE")
    H.assert_envelope(s.req("PUT", "linked-account", body={"linked_account_id": "a"}), 401,
                      "INVALID_API_KEY", "API Key Missing")


def test_udf_that_is_not_json_is_400_never_503():
    """udf values a lenient parser accepts but that are not JSON (NaN,
    Infinity, single quotes) are refused with a 400, not a database error."""
    s = st()
    failures = []
    for raw in (b'{"linked_account_id": "nan-acct", "udf": {"n": NaN}}',
                b'{"linked_account_id": "inf-acct", "udf": {"n": Infinity}}',
                b"{'linked_account_id': 'quoted-acct'}"):
        r = s.req("PUT", "linked-account", key=s.key, body=raw)
        if r.status != 400:
            failures.append("PUT /linked-account %r -> %d %r" % (raw, r.status, r.body[:120]))
    assert not failures, "\n".join(failures)


def test_get_and_delete_unknown():
    s = st()
    for method in ("GET", "DELETE"):
        H.assert_envelope(s.req(method, "linked-account/nope-" + secrets.token_hex(4), key=s.key),
                          404, "NOT_FOUND")
    H.assert_envelope(s.req("GET", "linked-account/x"), 401, "INVALID_API_KEY", "API Key Missing")
    H.assert_envelope(s.req("PATCH", "linked-account/x", key=s.key, body=b"{}"), 405,
                      "METHOD_NOT_ALLOWED")


def test_list_pagination():
    s = st()
    t = s.new_tenant("Paging Org " + secrets.token_hex(3))
    empty = s.ok("GET", "linked-account", key=t.test_key)
    assert empty == {"results": [], "page": 1, "page_size": 20, "total": 0}, empty
    ids = ["p%02d" % i for i in range(5)]
    made = [_put(s, key=t.test_key, linked_account_id=la) for la in ids]
    # an account made by POST /session-token counts too, a live one does not
    s.session("p05", key=t.test_key)
    s.session("live-only", key=t.live_key)
    ids.append("p05")
    out = s.ok("GET", "linked-account", key=t.test_key)
    assert out["total"] == 6 and out["page"] == 1 and out["page_size"] == 20, out
    assert [a["linked_account_id"] for a in out["results"]] == ids, out
    assert out["results"][0] == made[0], (out["results"][0], made[0])
    pages = []
    for page in (1, 2, 3):
        o = s.ok("GET", "linked-account?page=%d&page_size=2" % page, key=t.test_key)
        assert o["page"] == page and o["page_size"] == 2 and o["total"] == 6, o
        pages += [a["linked_account_id"] for a in o["results"]]
    assert pages == ids, pages
    for q in ("page=4&page_size=2", "page=2", "page=1000000&page_size=100"):
        o = s.ok("GET", "linked-account?" + q, key=t.test_key)
        assert o["results"] == [] and o["total"] == 6, (q, o)
    o = s.ok("GET", "linked-account?page_size=100", key=t.test_key)
    assert len(o["results"]) == 6 and o["page_size"] == 100, o
    o = s.ok("GET", "linked-account?page_size=4&page=2", key=t.test_key)
    assert [a["linked_account_id"] for a in o["results"]] == ids[4:], o
    live = s.ok("GET", "linked-account", key=t.live_key)
    assert [a["linked_account_id"] for a in live["results"]] == ["live-only"], live
    assert live["results"][0]["environment"] == "live"


def test_list_bad_page_params():
    s = st()
    for q in ("page=0", "page=-1", "page=abc", "page=1.5", "page=", "page=1x", "page_size=0",
              "page_size=101", "page_size=-5", "page_size=", "page_size=ten",
              "page=99999999999999999999", "page=1&page_size=1000"):
        H.assert_envelope(s.req("GET", "linked-account?" + q, key=s.key), 400, "VALIDATION_ERROR")


def test_delete_linked_account():
    s = st()
    la = "del-" + secrets.token_hex(4)
    a = _put(s, linked_account_id=la, name="Doomed")
    token, _ = s.session(la)
    assert s.connect(token, b'{"stash": 1}').status == 200
    out = s.ok("DELETE", _path(la), key=s.key)
    assert out == {"linked_account_id": la, "company_id": a["company_id"], "deleted": True}, out
    H.assert_envelope(s.req("GET", _path(la), key=s.key), 404, "NOT_FOUND")
    H.assert_envelope(s.req("DELETE", _path(la), key=s.key), 404, "NOT_FOUND")
    H.assert_envelope(s.hosted(token), 401, "INVALID_TOKEN")
    H.assert_envelope(s.connect(token, b"{}"), 401, "INVALID_TOKEN")
    jti = S.jwt_claims(token)["jti"]
    assert s.sql("SELECT count(*) FROM hosted_properties WHERE jti = '%s'" % jti) == "0"
    assert s.sql("SELECT count(*) FROM companies WHERE id = '%s'" % a["company_id"]) == "0"
    # the id can be used again: a new account
    b = _put(s, linked_account_id=la)
    assert b["company_id"] != a["company_id"] and b["name"] == la, b


def test_other_org_cannot_touch_linked_account():
    s = st()
    la = "mine-" + secrets.token_hex(4)
    mine = _put(s, linked_account_id=la, name="Mine")
    token, _ = s.session(la)
    other = s.new_tenant("Other Org " + secrets.token_hex(3))
    for method, path in (("GET", _path(la)), ("DELETE", _path(la)),
                         ("POST", _path(la) + "/revoke-tokens")):
        H.assert_envelope(s.req(method, path, key=other.test_key), 404, "NOT_FOUND")
    listed = s.ok("GET", "linked-account?page_size=100", key=other.test_key)
    assert listed["total"] == 0 and listed["results"] == [], listed
    # the same id in the other org is a separate account
    theirs = _put(s, key=other.test_key, linked_account_id=la, name="Theirs")
    assert theirs["company_id"] != mine["company_id"], theirs
    assert s.ok("GET", _path(la), key=s.key)["name"] == "Mine"
    s.ok("DELETE", _path(la), key=other.test_key)
    assert s.ok("GET", _path(la), key=s.key)["company_id"] == mine["company_id"]
    # and our token still works
    assert s.connect(token, b"{}").status == 200


def test_test_key_cannot_see_live_accounts():
    s = st()
    la = "live-acct-" + secrets.token_hex(4)
    live = _put(s, key=s.live_key, linked_account_id=la)
    assert live["environment"] == "live", live
    live_token, _ = s.session(la, key=s.live_key)
    for method, path in (("GET", _path(la)), ("DELETE", _path(la)),
                         ("POST", _path(la) + "/revoke-tokens")):
        H.assert_envelope(s.req(method, path, key=s.key), 404, "NOT_FOUND")
    test_ids = [a["linked_account_id"] for a in
                s.ok("GET", "linked-account?page_size=100", key=s.key)["results"]]
    assert la not in test_ids
    # the test environment's account of the same id is a different one
    t = _put(s, linked_account_id=la)
    assert t["environment"] == "test" and t["company_id"] != live["company_id"], t
    # the live token was not revoked by anything above
    assert s.connect(live_token, b'{"env": "live"}').status == 200
    assert s.ok("POST", _path(la) + "/revoke-tokens", key=s.live_key)["revoked"] == 1
