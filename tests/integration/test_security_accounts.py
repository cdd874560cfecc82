"""Issue 11 items of companies, linked accounts, sessions and the profile,
through nginx: link rotation revokes link tokens (3), multi-byte
linked_account_id claims (7), udf numbers kept as sent (10), per-environment
profile names (11), and revoke-tokens covering link tokens."""

import json
import secrets
import urllib.parse

import harness as H
import support_session as S
from support import hstack


def st():
    return hstack("hsecaccounts")


def _jti(token):
    return S.jwt_claims(token)["jti"]


# ---------------------------------------------------------------------------
# 3. Rotating a link revokes the link tokens minted from the old link

def test_rotate_link_revokes_its_link_tokens():
    s = st()
    co = s.company()
    old = s.link_token(co)
    assert s.ok("GET", "hosted/session", token=old)["company"]["id"] == co["id"]
    # a session token (API-issued) of another company is untouched
    other, _ = s.session()
    rot = s.ok("POST", "companies/%s/link/rotate" % co["id"], key=s.key)
    H.assert_envelope(s.req("GET", "hosted/session", token=old), 401, "INVALID_TOKEN")
    assert s.sql("SELECT revoked_at IS NOT NULL FROM session_tokens WHERE jti = '%s'"
                 % _jti(old)) == "t"
    H.assert_envelope(s.hosted(other), 404, "HOSTED_PROPERTIES_NOT_FOUND")
    # the new link's tokens work, and survive nothing but the next rotation
    new = s.link_token(rot)
    assert s.ok("GET", "hosted/session", token=new)["company"]["id"] == co["id"]
    s.ok("POST", "companies/%s/link/rotate" % co["id"], key=s.key)
    H.assert_envelope(s.req("GET", "hosted/session", token=new), 401, "INVALID_TOKEN")


def test_rotate_link_keeps_session_tokens_of_the_account():
    """Rotation kills link-use tokens; API-issued session tokens of the same
    linked account are revoked by revoke-tokens, not by rotation."""
    s = st()
    la = "rot-" + secrets.token_hex(4)
    tok, _ = s.session(la)
    cid = S.jwt_claims(tok)["company_id"]
    s.ok("POST", "companies/%s/link/rotate" % cid, key=s.key)
    H.assert_envelope(s.hosted(tok), 404, "HOSTED_PROPERTIES_NOT_FOUND")


# ---------------------------------------------------------------------------
# revoke-tokens revokes link tokens too

def test_revoke_tokens_revokes_link_tokens():
    s = st()
    la = "rvk-" + secrets.token_hex(4)
    tok, _ = s.session(la)
    co = s.ok("GET", "companies/" + S.jwt_claims(tok)["company_id"], key=s.key)
    link = s.link_token(co)
    assert S.jwt_claims(link)["token_use"] == "link"
    assert s.ok("GET", "hosted/session", token=link)["company"]["id"] == co["id"]
    out = s.ok("POST", "linked-account/%s/revoke-tokens" % la, key=s.key)
    assert out == {"linked_account_id": la, "revoked": 2}, out
    H.assert_envelope(s.req("GET", "hosted/session", token=link), 401, "INVALID_TOKEN")
    H.assert_envelope(s.hosted(tok), 401, "INVALID_TOKEN")


# ---------------------------------------------------------------------------
# 7. linked_account_id of 256 multi-byte characters

def _multibyte_id_works(s, la):
    tok, _ = s.session(la)
    c = S.jwt_claims(tok)
    assert c["linked_account_id"] == la, (len(c["linked_account_id"]), len(la))
    q = "?linked_account_id=" + urllib.parse.quote(la, safe="")
    r = s.connect(tok, b'{"a":1}', query=q)
    assert r.status == 200, r
    # (GET /linked-account/{id} of such an id is beyond the request path
    # limit, 414: read the row instead)
    assert s.sql("SELECT count(*) FROM companies WHERE id = '%s' AND linked_account_id = '%s'"
                 % (c["company_id"], la)) == "1"


def test_linked_account_id_256_cjk_characters():
    s = st()
    _multibyte_id_works(s, "\u65e5" * 255 + secrets.choice("abcdefgh"))


def test_linked_account_id_200_accented_characters():
    s = st()
    _multibyte_id_works(s, "\u00e9" * 199 + secrets.choice("abcdefgh"))


def test_linked_account_id_astral_characters():
    s = st()
    _multibyte_id_works(s, "\U0001f600" * 255 + secrets.choice("abcdefgh"))


def test_linked_account_id_too_long_writes_nothing():
    s = st()
    la = "\u65e5" * 256 + secrets.token_hex(2)
    before = s.sql("SELECT count(*) FROM session_tokens")
    H.assert_envelope(s.req("POST", "session-token", key=s.key,
                            body={"linked_account_id": la}), 400, "VALIDATION_ERROR")
    assert s.sql("SELECT count(*) FROM session_tokens") == before
    assert s.sql("SELECT count(*) FROM companies WHERE linked_account_id LIKE '%%%s'"
                 % la[-4:]) == "0"


# ---------------------------------------------------------------------------
# 10. udf numbers are kept as sent

BIG = "123456789012345678901234567890"


def test_udf_big_integer_kept_as_sent():
    s = st()
    la = "udf-" + secrets.token_hex(4)
    raw = ('{"linked_account_id": "%s", "udf": {"n": %s, "neg": -%s, "f": 1.50, '
           '"deep": [{"m": %s}]}}' % (la, BIG, BIG, BIG)).encode()
    want = {"n": int(BIG), "neg": -int(BIG), "f": 1.5, "deep": [{"m": int(BIG)}]}
    r = s.req("PUT", "linked-account", key=s.key, body=raw)
    assert r.status == 200, r
    assert r.json()["udf"] == want, r.json()
    assert BIG.encode() in r.body and b"18446744073709551615" not in r.body, r.body
    assert s.ok("GET", "linked-account/" + la, key=s.key)["udf"] == want
    # through POST /session-token's upsert as well
    la2 = la + "-st"
    r = s.req("POST", "session-token", key=s.key,
              body='{"linked_account_id": "%s", "udf": {"n": %s}}' % (la2, BIG))
    assert r.status == 200, r
    assert s.ok("GET", "linked-account/" + la2, key=s.key)["udf"] == {"n": int(BIG)}
    # an absent or null udf keeps the stored one
    s.ok("PUT", "linked-account", key=s.key, body={"linked_account_id": la, "udf": None})
    assert s.ok("GET", "linked-account/" + la, key=s.key)["udf"] == want


# ---------------------------------------------------------------------------
# 11. PUT /profile with a test key does not rename the org live keys see

def test_profile_name_is_per_environment():
    s = st()
    t = s.new_tenant("Profile Org " + secrets.token_hex(3))
    live0 = s.ok("GET", "profile", key=t.live_key)
    assert live0["environment"] == "live", live0
    test_name = "Test Name " + secrets.token_hex(3)
    out = s.ok("PUT", "profile", key=t.test_key, body={"name": test_name})
    assert out["name"] == test_name and out["environment"] == "test", out
    assert s.ok("GET", "profile", key=t.test_key)["name"] == test_name
    assert s.ok("GET", "profile", key=t.live_key)["name"] == live0["name"]
    live_name = "Live Name " + secrets.token_hex(3)
    out = s.ok("PUT", "profile", key=t.live_key, body={"name": live_name})
    assert out["name"] == live_name and out["environment"] == "live", out
    assert s.ok("GET", "profile", key=t.live_key)["name"] == live_name
    assert s.ok("GET", "profile", key=t.test_key)["name"] == test_name
    # the org's name (operators, hostlinkctl) is the live one
    assert s.sql("SELECT name FROM orgs WHERE id = '%s'" % t.org_id) == live_name
