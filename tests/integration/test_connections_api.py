"""Data connections through nginx (SPEC §5 "Integrations", "Data connections",
"Hosted page endpoints"): API-key platforms end to end, the status machine
(unlink only from Linked), hosted disconnect, delete, credentials, and the
events each step writes."""

import json
import secrets

import harness as H
from support import hstack, query, assert_signed, TEMPLATE

FIELDS = [{"name": "api_key", "label": "API key", "secret": True},
          {"name": "tenant_id", "label": "Tenant ID", "secret": False}]


def st():
    s = hstack("hconn")
    if not getattr(s, "conn_ready", False):
        s.signing_secret = s.settings(redirect_url=TEMPLATE)["signing_secret"]
        body = {"name": "Acme ERP", "authType": "api_key", "enabled": True,
                "fields": FIELDS + []}
        out = s.ok("PUT", "integrations/acme-erp", key=s.key, body=body)
        assert out == {"key": "acme-erp", "name": "Acme ERP", "authType": "api_key",
                       "enabled": True, "oauth2": None, "fields": FIELDS,
                       "category": "Other", "catalog": None}, out
        s.conn_ready = True
    return s


def _sandbox_linked(s, co, token=None):
    token = token or s.link_token(co)
    out = s.hosted_connect(token, "sandbox")
    final = s.callback(s.sandbox_decide(out["next"]["url"], "approve"))
    assert query(final)["statusCode"] == "200", final
    return out["connection"]["id"], token


def test_integrations_list_and_validation():
    s = st()
    lst = s.ok("GET", "integrations", key=s.key)["results"]
    assert lst[0] == {"key": "sandbox", "name": "Sandbox", "authType": "sandbox",
                      "enabled": True, "oauth2": None, "fields": None,
                      "category": "Other", "catalog": None,
                      # Codat's members (issue 14)
                      "logoUrl": s.app_url + "/api/v2/public/integrations/sandbox/logo",
                      "integrationId": lst[0]["integrationId"],
                      "sourceId": lst[0]["sourceId"], "sourceType": "Other"}, lst
    assert any(i["key"] == "acme-erp" and i["fields"] == FIELDS for i in lst), lst
    good = {"name": "X", "authType": "api_key", "fields": [{"name": "a", "label": "A"}]}
    for key, body in [("sandbox", good), ("UPPER", good), ("a" * 65, good), ("sp%20ace", good),
                      ("ok", dict(good, authType="basic")), ("ok", dict(good, fields=[])),
                      ("ok", dict(good, fields=[{"name": "a b", "label": "A"}])),
                      ("ok", dict(good, fields=[{"name": "a", "label": "A"},
                                                {"name": "a", "label": "B"}])),
                      ("ok", dict(good, fields=[{"name": "a"}])),
                      ("ok", {"name": "X", "authType": "oauth2"}),
                      ("ok", {"name": "X", "authType": "oauth2",
                              "oauth2": {"authorize_url": "ftp://x", "token_url": "https://t",
                                         "client_id": "c", "client_secret": "s"}}),
                      ("ok", {"name": "X", "authType": "oauth2",
                              "oauth2": {"authorize_url": "https://a", "token_url": "https://t",
                                         "client_id": "c"}}),
                      ("ok", {"authType": "api_key", "fields": good["fields"]})]:
        r = s.req("PUT", "integrations/" + key, key=s.key, body=body)
        assert r.status == 400, (key, body, r)
        H.assert_envelope(r, 400)
    assert "ok" not in [i["key"] for i in s.ok("GET", "integrations", key=s.key)["results"]]
    # a disabled platform is not offered
    s.ok("PUT", "integrations/off-erp", key=s.key, body=dict(good, enabled=False))
    co = s.company()
    H.assert_envelope(s.req("POST", "companies/%s/connections" % co["id"], key=s.key,
                            body={"platformKey": "off-erp"}), 404, "PLATFORM_NOT_FOUND")
    H.assert_envelope(s.req("POST", "companies/%s/connections" % co["id"], key=s.key,
                            body={"platformKey": "nope"}), 404, "PLATFORM_NOT_FOUND")
    H.assert_envelope(s.req("POST", "companies/%s/connections" % co["id"], key=s.key,
                            body={}), 400)
    tok = s.link_token(co)
    offered = [i["key"] for i in s.ok("GET", "hosted/session", token=tok)["integrations"]]
    assert offered[0] == "sandbox" and "acme-erp" in offered and "off-erp" not in offered, offered
    H.assert_envelope(s.req("POST", "hosted/connections", token=tok,
                            body={"platformKey": "off-erp"}), 404, "PLATFORM_NOT_FOUND")


def test_api_key_journey():
    s = st()
    co = s.company()
    token = s.link_token(co)
    out = s.hosted_connect(token, "acme-erp")
    conn, nxt = out["connection"], out["next"]
    cid = conn["id"]
    assert conn["status"] == "PendingAuth" and conn["authType"] == "api_key", conn
    assert nxt == {"type": "form", "fields": FIELDS}, nxt
    # linkUrl of a pending API-key connection answers a page that does not
    # hand out the company's link key (issue 11 item 2)
    r = s.get_url(s.connection(co["id"], cid)["linkUrl"])
    assert r.status == 200 and r.header("Content-Type", "").startswith("text/html"), r
    assert s.link_key(co).encode() not in r.body and b"/link/" not in r.body, r

    path = "hosted/connections/%s/credentials" % cid
    for bad in ({}, {"api_key": "k"}, {"tenant_id": "t"}, {"api_key": "", "tenant_id": "t"},
                {"api_key": "k", "tenant_id": 5}, {"api_key": "k" * 4097, "tenant_id": "t"},
                {"api_key": None, "tenant_id": "t"}):
        H.assert_envelope(s.req("POST", path, token=token, body=bad), 400, "VALIDATION_ERROR")
    H.assert_envelope(s.req("POST", path, token=token, body="[1]"), 400)
    assert s.connection(co["id"], cid)["status"] == "PendingAuth"

    secret = "sk_live_" + secrets.token_urlsafe(24)
    res = s.ok("POST", path, token=token,
               body={"api_key": secret, "tenant_id": "T-42", "extra": "dropped"})
    assert set(res) == {"connection", "redirect"}, res
    assert res["connection"]["status"] == "Linked" and res["connection"]["id"] == cid, res
    q = query(res["redirect"])
    assert q["company"] == co["id"] and q["connection"] == cid, q
    assert q["platform"] == "acme-erp" and q["statusCode"] == "200", q
    assert_signed(res["redirect"], s.signing_secret)

    creds = s.credentials(co["id"], cid)
    assert creds == {"connectionId": cid, "integrationKey": "acme-erp",
                     "credentials": {"api_key": secret, "tenant_id": "T-42"},
                     "connectionInfo": {}}, creds
    raw = bytes.fromhex(s.sql("SELECT encode(credentials, 'hex') FROM connections "
                              "WHERE id = '%s'" % cid))
    assert raw and secret.encode() not in raw and b"T-42" not in raw, "stored in clear"
    # Linked: no second submission, no linkUrl
    H.assert_envelope(s.req("POST", path, token=token,
                            body={"api_key": "other", "tenant_id": "x"}), 409)
    assert s.credentials(co["id"], cid)["credentials"]["api_key"] == secret
    H.assert_envelope(s.get_url(s.connection(co["id"], cid)["linkUrl"]), 409)
    ev = s.events(co["id"])
    for e in ("company.created", "connection.created", "connection.connected"):
        assert e in ev, (e, ev)
    assert not any(secret in json.dumps(b) for b in s.event_bodies(co["id"]))


def test_credentials_on_non_api_key_platform():
    s = st()
    co = s.company()
    token = s.link_token(co)
    cid = s.hosted_connect(token, "sandbox")["connection"]["id"]
    r = s.req("POST", "hosted/connections/%s/credentials" % cid, token=token,
              body={"api_key": "x", "tenant_id": "y"})
    H.assert_envelope(r, 409)
    assert s.connection(co["id"], cid)["status"] == "PendingAuth"
    H.assert_envelope(s.req("POST", "hosted/connections/nope/credentials", token=token,
                            body={"a": "b"}), 404)


def test_unlink_only_from_linked():
    s = st()
    co = s.company()
    pend = s.ok("POST", "companies/%s/connections" % co["id"], key=s.key,
                body={"platformKey": "sandbox"})
    assert pend["status"] == "PendingAuth", pend
    path = "companies/%s/connections/" % co["id"]
    H.assert_envelope(s.req("PATCH", path + pend["id"], key=s.key, body={"status": "Unlinked"}),
                      409, "INVALID_STATUS_TRANSITION")
    H.assert_envelope(s.req("GET", path + pend["id"] + "/credentials", key=s.key), 409)

    cid, token = _sandbox_linked(s, co)
    assert cid == pend["id"], "the hosted flow reuses the pending connection"
    for bad in ({"status": "Linked"}, {"status": "PendingAuth"}, {"status": "Deauthorized"},
                {"status": "unlinked"}, {"status": ""}, {}, {"status": 1}):
        H.assert_envelope(s.req("PATCH", path + cid, key=s.key, body=bad), 400)
    assert s.connection(co["id"], cid)["status"] == "Linked"
    out = s.ok("PATCH", path + cid, key=s.key, body={"status": "Unlinked"})
    assert out["status"] == "Unlinked" and out["unlinkedAt"] and out["id"] == cid, out
    H.assert_envelope(s.req("PATCH", path + cid, key=s.key, body={"status": "Unlinked"}),
                      409, "INVALID_STATUS_TRANSITION")
    H.assert_envelope(s.req("GET", path + cid + "/credentials", key=s.key), 409)
    # credentials are dropped with the link
    assert s.sql("SELECT credentials IS NULL FROM connections WHERE id = '%s'" % cid) == "t"
    ev = s.events(co["id"])
    assert "connection.disconnected" in ev, ev
    body = [b for b in s.event_bodies(co["id"]) if b["eventType"] == "connection.disconnected"][0]
    assert body["payload"].get("oldStatus") == "Linked", body
    assert body["payload"].get("newStatus") == "Unlinked", body
    # an Unlinked connection can be linked again through the hosted page
    again = s.hosted_connect(token, "sandbox")
    assert again["connection"]["id"] == cid, again
    final = s.callback(s.sandbox_decide(again["next"]["url"], "approve"))
    assert query(final)["statusCode"] == "200"
    assert s.connection(co["id"], cid)["status"] == "Linked"


def test_hosted_disconnect_and_delete():
    s = st()
    co = s.company()
    cid, token = _sandbox_linked(s, co)
    out = s.ok("DELETE", "hosted/connections/" + cid, token=token)
    assert set(out) == {"connection"}, out
    assert out["connection"]["status"] == "Unlinked" and out["connection"]["unlinkedAt"], out
    assert s.connection(co["id"], cid)["status"] == "Unlinked"
    H.assert_envelope(s.req("GET", "companies/%s/connections/%s/credentials" % (co["id"], cid),
                            key=s.key), 409)
    H.assert_envelope(s.req("DELETE", "hosted/connections/00000000-0000-0000-0000-000000000000",
                            token=token), 404)
    # the list shows it; delete removes it
    lst = s.ok("GET", "companies/%s/connections" % co["id"], key=s.key)
    assert set(lst) == {"results", "pageNumber", "pageSize", "totalResults", "_links"}, lst
    assert [c["id"] for c in lst["results"]] == [cid] and lst["totalResults"] == 1, lst
    r = s.req("DELETE", "companies/%s/connections/%s" % (co["id"], cid), key=s.key)
    assert r.status == 200 and r.body == b"", r      # Codat's: 200, no body
    H.assert_envelope(s.req("GET", "companies/%s/connections/%s" % (co["id"], cid),
                            key=s.key), 404)
    H.assert_envelope(s.req("DELETE", "companies/%s/connections/%s" % (co["id"], cid),
                            key=s.key), 404)
    H.assert_envelope(s.req("DELETE", "hosted/connections/" + cid, token=token), 404)
    assert s.ok("GET", "companies/%s/connections" % co["id"], key=s.key)["results"] == []
    assert s.ok("GET", "companies/" + co["id"], key=s.key)["dataConnections"] == []
    ev = s.events(co["id"])
    for e in ("company.created", "connection.created", "connection.connected",
              "connection.disconnected", "connection.deleted"):
        assert e in ev, (e, ev)
    # deleting the company deletes its connections and kills its link
    cid2, _ = _sandbox_linked(s, co, token)
    r = s.req("DELETE", "companies/" + co["id"], key=s.key)
    assert r.status == 204, r
    assert s.sql("SELECT count(*) FROM connections WHERE id = '%s'" % cid2) == "0"
    H.assert_envelope(s.req("POST", "link/%s/session" % s.link_key(co)), 404, "LINK_NOT_FOUND")
    r = s.req("GET", "hosted/session", token=token)
    assert r.status == 401, r
    assert "company.deleted" in s.events(co["id"]), s.events(co["id"])
