"""An API-key platform's optional verification request (issue 13): one GET to
the platform with the entered credentials before they are stored.  A refusal
leaves the connection pending with a connection error and connection.failed;
the platform being down is a 503 with Retry-After; values are percent-encoded
into the URL and a control character never reaches a header."""

import support as U

FIELDS = [{"name": "api_key", "label": "API key", "secret": True},
          {"name": "account", "label": "Account", "secret": False}]


def st():
    return U.hstack("hverify", webhook_allow_private="true")


def platform(s, rx, key="vbooks", header=True):
    verify = {"url": rx.url("/v1/accounts/{config.account}/me")}
    if header:
        verify["header"] = {"name": "X-Api-Key", "value": "{config.api_key}"}
    body = {"name": "VBooks", "authType": "api_key", "fields": FIELDS, "verify": verify}
    r = s.req("PUT", "integrations/" + key, key=s.key, body=body)
    assert r.status == 200, r
    return key


def pending(s, key):
    co = s.company()
    tok = s.link_token(co)
    out = s.hosted_connect(tok, key)
    assert out["next"]["type"] == "form", out
    return co, tok, out["connection"]["id"]


def submit(s, tok, cid, **values):
    return s.req("POST", "hosted/connections/%s/credentials" % cid, token=tok, body=values)


def test_accepted_credentials_are_checked_then_stored():
    s, rx = st(), U.Receiver().start()
    key = platform(s, rx)
    co, tok, cid = pending(s, key)
    r = submit(s, tok, cid, api_key="k-123/+=", account="acme 7")
    assert r.status == 200, r
    got = rx.got("/v1/accounts/acme%207/me")
    assert len(got) == 1, [q.path for q in rx.requests]
    assert got[0].header("X-Api-Key") == "k-123/+=", got[0]
    assert s.connection(co["id"], cid)["status"] == "Linked"
    assert s.credentials(co["id"], cid)["credentials"] == {"api_key": "k-123/+=",
                                                            "account": "acme 7"}


def test_refused_credentials_are_not_stored():
    s, rx = st(), U.Receiver().start()
    key = platform(s, rx)
    co, tok, cid = pending(s, key)
    rx.script("/v1/accounts/acme/me", {"status": 401})
    r = submit(s, tok, cid, api_key="wrong", account="acme")
    U.H.assert_envelope(r, 400, "CREDENTIALS_REJECTED")
    conn = s.connection(co["id"], cid)
    assert conn["status"] == "PendingAuth", conn
    errs = [e for e in conn["dataConnectionErrors"] if e["status"] == "Active"]
    assert [(e["statusCode"], e["statusText"]) for e in errs] == [("401", "Credentials rejected")]
    assert "wrong" not in str(conn)
    assert "connection.failed" in s.events(co["id"])
    assert s.sql("SELECT credentials IS NULL FROM connections WHERE id = '%s'" % cid) == "t"
    # the right ones then link it, and resolve the error
    assert submit(s, tok, cid, api_key="right", account="acme").status == 200
    conn = s.connection(co["id"], cid)
    assert conn["status"] == "Linked"
    assert all(e["status"] == "Resolved" for e in conn["dataConnectionErrors"]), conn


def test_platform_down_is_503_and_nothing_stored():
    s, rx = st(), U.Receiver().start()
    key = platform(s, rx, key="vdown", header=False)
    co, tok, cid = pending(s, key)
    rx.script("/v1/accounts/acme/me", {"status": 502})
    r = submit(s, tok, cid, api_key="k", account="acme")
    U.H.assert_envelope(r, 503, "PROVIDER_UNAVAILABLE")
    assert r.header("Retry-After") == "30", r
    assert s.connection(co["id"], cid)["status"] == "PendingAuth"
    rx.stop()
    co2, tok2, cid2 = pending(s, key)
    U.H.assert_envelope(submit(s, tok2, cid2, api_key="k", account="acme"), 503,
                        "PROVIDER_UNAVAILABLE")


def test_control_character_never_reaches_the_platform():
    s, rx = st(), U.Receiver().start()
    key = platform(s, rx, key="vctl")
    co, tok, cid = pending(s, key)
    r = submit(s, tok, cid, api_key="k\r\nX-Evil: 1", account="acme")
    U.H.assert_envelope(r, 400, "CREDENTIALS_REJECTED")
    assert rx.requests == [], rx.requests
    assert s.connection(co["id"], cid)["status"] == "PendingAuth"


def test_verify_config_is_checked_at_put():
    s, rx = st(), U.Receiver().start()
    base = {"name": "Bad", "authType": "api_key", "fields": FIELDS}
    for verify in ({}, {"url": "not a url {config.api_key}"}, {"url": "ftp://x/{config.api_key}"},
                   {"url": rx.url("/{config.nope}")},
                   {"url": rx.url("/x"), "header": {"name": "Host", "value": "x"}},
                   {"url": rx.url("/x"), "header": {"name": "X-K", "value": "{config.nope}"}},
                   {"url": rx.url("/x"), "header": "X-K: 1"}, "https://x"):
        r = s.req("PUT", "integrations/vbad", key=s.key, body=dict(base, verify=verify))
        U.H.assert_envelope(r, 400, "VALIDATION_ERROR")
    assert s.sql("SELECT count(*) FROM integrations WHERE key = 'vbad'") == "0"
