"""The Portal's operators (issue 15): hostlinkctl user create/list/reset/
disable, set-password links, sign-in with scrypt-hashed passwords, the
HttpOnly SameSite=Strict session cookie, the CSRF header, roles on every API
route, idle timeout and expiry, sign-in limits, and the audit log."""

import re
import secrets
import time
import urllib.parse

import harness as H
import support_session as S

LINK_RE = re.compile(r"^(http://127\.0\.0\.1:\d+)/portal/#set-password=([A-Za-z0-9_-]{43})$")
CSRF = {"X-Hostlink-Portal": "1"}
PASSWORD = "correct horse battery staple"

_stacks = {}


def stack(name="portal_auth", **overrides):
    # Every test signs in from 127.0.0.1: only the limits test counts.
    overrides.setdefault("rate_limit_signin", "100000")
    s = _stacks.get(name)
    if s is None or not s.alive():
        s = S.Stack(name, db="%s_%s" % (name, secrets.token_hex(3)), **overrides).start()
        _stacks[name] = s
    return s


def user_create(s, role, email=None, org=None):
    email = email or "%s-%s@example.com" % (role, secrets.token_hex(4))
    out = H.ctl_json(["user", "create", "--org", org or s.org_id, "--email", email,
                      "--role", role], s.inst.conf)
    assert set(out) == {"id", "email", "set_password_url"}, out
    m = LINK_RE.match(out["set_password_url"])
    assert m, out
    return email, m.group(2)


def cookie_of(r):
    """The hl_portal value a response sets, and the cookie's attributes."""
    line = r.header("Set-Cookie")
    assert line, r
    first, _, attrs = line.partition(";")
    name, _, value = first.partition("=")
    assert name == "hl_portal", line
    return value, [a.strip() for a in attrs.split(";")]


def set_password(s, link, password=PASSWORD, headers=CSRF):
    return s.req("POST", "portal/password", body={"token": link, "password": password},
                 headers=headers)


def signin(s, email, password=PASSWORD, headers=CSRF):
    return s.req("POST", "portal/session", body={"email": email, "password": password},
                 headers=headers)


def operator(s, role, org=None):
    """A signed-in operator of role: (email, cookie header dict)."""
    email, link = user_create(s, role, org=org)
    r = set_password(s, link)
    assert r.status == 200, r
    sid, _ = cookie_of(r)
    return email, {"Cookie": "hl_portal=" + sid}


def call(s, method, path, cookie, body=None, csrf=True, env=None):
    h = dict(cookie)
    if csrf:
        h.update(CSRF)
    if env:
        h["X-Hostlink-Environment"] = env
    return s.req(method, path, body=body, headers=h)


def test_user_create_link_sets_password_once_and_signs_in():
    s = stack()
    email, link = user_create(s, "admin")
    rows = H.ctl_json(["user", "list", "--org", s.org_id], s.inst.conf)
    row = [r for r in rows if r["email"] == email][0]
    assert row["role"] == "admin" and row["password_set"] is False and row["disabled_at"] is None
    # The link is stored hashed: its text is nowhere in the database.
    assert s.sql("SELECT count(*) FROM operator_links WHERE token_hash = "
                 "sha256(convert_to('%s', 'UTF8'))" % link) == "1"
    assert link not in s.sql("SELECT string_agg(encode(token_hash, 'escape'), '') "
                             "FROM operator_links")
    r = set_password(s, link, password="short")
    H.assert_envelope(r, 400, "WEAK_PASSWORD")
    r = set_password(s, link)
    assert r.status == 200, r
    body = r.json()
    assert body["email"] == email and body["role"] == "admin" and body["orgId"] == s.org_id
    sid, attrs = cookie_of(r)
    assert re.match(r"^[A-Za-z0-9_-]{43}$", sid), sid
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Path=/" in attrs, attrs
    assert "Secure" not in attrs, "app_url is http here: %r" % attrs
    assert r.header("Cache-Control") == "no-store"
    # The password is kept as scrypt, the session id as a hash.
    stored = s.sql("SELECT password_hash FROM operators WHERE email = '%s'" % email)
    assert stored.startswith("scrypt$15$8$1$") and PASSWORD not in stored, stored
    assert s.sql("SELECT count(*) FROM operator_sessions WHERE id_hash = "
                 "sha256(convert_to('%s', 'UTF8'))" % sid) == "1"
    # Used once: the second use is refused and changes nothing.
    H.assert_envelope(set_password(s, link, password="another long password"), 404,
                      "INVALID_LINK")
    assert s.sql("SELECT password_hash FROM operators WHERE email = '%s'" % email) == stored
    me = call(s, "GET", "portal/session", {"Cookie": "hl_portal=" + sid})
    assert me.status == 200 and me.json()["email"] == email, me
    rows = H.ctl_json(["user", "list", "--org", s.org_id], s.inst.conf)
    assert [r for r in rows if r["email"] == email][0]["password_set"] is True


def test_signin_wrong_unknown_and_disabled_hear_the_same():
    s = stack()
    email, cookie = operator(s, "developer")
    r = signin(s, email.upper())
    assert r.status == 200, r
    cookie_of(r)
    for who, pw in ((email, "wrong password here"), ("nobody-%s@example.com" %
                                                     secrets.token_hex(3), PASSWORD)):
        r = signin(s, who, pw)
        H.assert_envelope(r, 401, "INVALID_CREDENTIALS", "Wrong email or password")
        assert r.header("Set-Cookie") is None
    out = H.ctl_json(["user", "disable", "--org", s.org_id, "--email", email], s.inst.conf)
    assert out == {"email": email, "disabled": True}, out
    H.assert_envelope(signin(s, email), 401, "INVALID_CREDENTIALS")
    # Disabling ended the sessions it had.
    H.assert_envelope(call(s, "GET", "portal/session", cookie), 401, "INVALID_SESSION")
    r = H.ctl(["user", "disable", "--org", s.org_id, "--email", "x@nowhere.example"],
              s.inst.conf, check=False)
    assert r.returncode == 1 and "no user" in r.stderr, r


def test_user_reset_gives_a_new_link_that_ends_old_sessions():
    s = stack()
    email, cookie = operator(s, "onboarding")
    out = H.ctl_json(["user", "reset", "--org", s.org_id, "--email", email], s.inst.conf)
    link = LINK_RE.match(out["set_password_url"]).group(2)
    r = set_password(s, link, password="a brand new password")
    assert r.status == 200, r
    H.assert_envelope(call(s, "GET", "portal/session", cookie), 401, "INVALID_SESSION")
    H.assert_envelope(signin(s, email), 401, "INVALID_CREDENTIALS")
    assert signin(s, email, "a brand new password").status == 200


def test_cli_refuses_bad_role_and_duplicate_address():
    s = stack()
    r = H.ctl(["user", "create", "--org", s.org_id, "--email", "a@example.com", "--role",
               "root"], s.inst.conf, check=False)
    assert r.returncode == 1 and "--role must be" in r.stderr, r
    email, _ = user_create(s, "admin")
    r = H.ctl(["user", "create", "--org", s.org_id, "--email", email.upper(), "--role",
               "admin"], s.inst.conf, check=False)
    assert r.returncode == 1 and "has an account already" in r.stderr, r


def test_roles_on_api_routes():
    s = stack()
    _, onb = operator(s, "onboarding")
    _, dev = operator(s, "developer")
    _, adm = operator(s, "admin")
    r = call(s, "POST", "companies", onb, body={"name": "Made by onboarding"})
    assert r.status == 200, r
    cid = r.json()["id"]
    assert call(s, "GET", "companies/" + cid, onb).status == 200
    assert call(s, "POST", "companies/%s/link/rotate" % cid, onb).status == 200
    assert call(s, "GET", "settings/invite", onb).status == 200
    for method, path in (("GET", "integrations"), ("GET", "settings/link"),
                         ("GET", "webhooks"), ("PUT", "profile"), ("GET", "portal/audit")):
        r = call(s, method, path, onb, body={"name": "x"} if method == "PUT" else None)
        H.assert_envelope(r, 403, "FORBIDDEN", "Your role does not allow this")
    for method, path in (("GET", "integrations"), ("GET", "settings/link"),
                         ("GET", "webhooks")):
        assert call(s, method, path, dev).status == 200, path
    H.assert_envelope(call(s, "GET", "portal/audit", dev), 403, "FORBIDDEN")
    assert call(s, "GET", "portal/audit", adm).status == 200
    # The same routes still take API keys, and a key wins over a cookie.
    r = s.req("GET", "integrations", key=s.key, headers=onb)
    assert r.status == 200, r


def test_csrf_header_required_on_every_state_change():
    s = stack()
    email, cookie = operator(s, "admin")
    before = s.sql("SELECT count(*) FROM companies")
    r = call(s, "POST", "companies", cookie, body={"name": "Forged"}, csrf=False)
    H.assert_envelope(r, 403, "CSRF_REFUSED")
    assert s.sql("SELECT count(*) FROM companies") == before
    H.assert_envelope(call(s, "DELETE", "portal/session", cookie, csrf=False), 403,
                      "CSRF_REFUSED")
    H.assert_envelope(signin(s, email, headers={}), 403, "CSRF_REFUSED")
    # Reads need none.
    assert call(s, "GET", "companies", cookie, csrf=False).status == 200


def test_signout_ends_the_session():
    s = stack()
    _, cookie = operator(s, "onboarding")
    r = call(s, "DELETE", "portal/session", cookie)
    assert r.status == 204, r
    value, attrs = cookie_of(r)
    assert value == "" and "Max-Age=0" in attrs, attrs
    H.assert_envelope(call(s, "GET", "companies", cookie), 401, "INVALID_SESSION")
    H.assert_envelope(call(s, "GET", "portal/session", cookie), 401, "INVALID_SESSION")


def test_tenant_isolation_and_environment_switch():
    s = stack()
    _, cookie = operator(s, "admin")
    other = s.new_tenant("Other portal org")
    theirs = s.ok("POST", "companies", key=other.test_key, body={"name": "Theirs"})
    H.assert_envelope(call(s, "GET", "companies/" + theirs["id"], cookie), 404)
    live = call(s, "POST", "companies", cookie, body={"name": "Live one"}, env="live")
    assert live.status == 200, live
    assert s.sql("SELECT environment FROM companies WHERE id = '%s'" % live.json()["id"]) == \
        "live"
    H.assert_envelope(call(s, "GET", "companies/" + live.json()["id"], cookie), 404)
    assert call(s, "GET", "companies/" + live.json()["id"], cookie, env="live").status == 200
    H.assert_envelope(call(s, "GET", "companies", cookie, env="prod"), 400, "BAD_REQUEST")
    # Another org's operator cannot be made with this org's id and a forged cookie fails.
    forged = {"Cookie": "hl_portal=" + "A" * 43}
    H.assert_envelope(call(s, "GET", "companies", forged), 401, "INVALID_SESSION")
    H.assert_envelope(call(s, "GET", "companies", {"Cookie": "hl_portal=bad\"value"}), 401,
                      "INVALID_SESSION")


def test_idle_timeout_and_session_ttl():
    s = stack("portal_idle", portal_idle_timeout="2s", portal_session_ttl="4s")
    _, cookie = operator(s, "onboarding")
    time.sleep(1)
    assert call(s, "GET", "portal/session", cookie).status == 200
    time.sleep(1.2)
    assert call(s, "GET", "portal/session", cookie).status == 200, "use keeps it alive"
    time.sleep(2.5)
    H.assert_envelope(call(s, "GET", "portal/session", cookie), 401, "INVALID_SESSION")
    _, cookie = operator(s, "onboarding")
    for _ in range(5):
        time.sleep(0.9)
        call(s, "GET", "portal/session", cookie)
    H.assert_envelope(call(s, "GET", "portal/session", cookie), 401, "INVALID_SESSION")


def test_signin_is_rate_limited_per_account_and_client():
    s = stack("portal_limits", rate_limit_signin="3")
    email, _ = operator(s, "admin")          # set-password: client 127.0.0.1 once

    def attempt(who, pw, addr):
        body = '{"email": "%s", "password": "%s"}' % (who, pw)
        return s.inst.request("POST", S.API + "/portal/session", body=body, remote_addr=addr,
                              headers={"Content-Type": "application/json", **CSRF})

    # Per account: three attempts from three networks, then the right password
    # from a fourth is refused too.
    for addr in ("192.0.2.1", "192.0.2.2"):
        H.assert_envelope(attempt(email, "wrong password here", addr), 401)
    assert attempt(email, PASSWORD, "192.0.2.3").status == 200
    r = attempt(email, PASSWORD, "192.0.2.4")
    H.assert_envelope(r, 429, "RATE_LIMITED")
    assert int(r.header("Retry-After")) >= 1, r
    # Per client network: one address guessing at several accounts.
    for i in range(3):
        H.assert_envelope(attempt("guess%d@example.com" % i, "wrong password here",
                                  "198.51.100.7"), 401)
    other, _ = operator(s, "developer")
    H.assert_envelope(attempt(other, PASSWORD, "198.51.100.7"), 429, "RATE_LIMITED")
    assert attempt(other, PASSWORD, "198.51.100.8").status == 200


def test_audit_log_records_every_change_once():
    s = stack("portal_audit")
    email, cookie = operator(s, "admin")
    by_key = s.ok("POST", "companies", key=s.key, body={"name": "By key"})
    by_op = call(s, "POST", "companies", cookie, body={"name": "By operator"})
    assert by_op.status == 200, by_op
    s.ok("GET", "companies", key=s.key)
    idem = {"Idempotency-Key": "audit-" + secrets.token_hex(4)}
    first = s.req("POST", "companies", key=s.key, body={"name": "Idem"}, headers=idem)
    again = s.req("POST", "companies", key=s.key, body={"name": "Idem"}, headers=idem)
    assert first.status == again.status == 200 and first.json() == again.json()
    H.assert_envelope(call(s, "PATCH", "companies/" + S.uid(), cookie, body={"name": "x"}),
                      404)
    rows = call(s, "GET", "portal/audit", cookie).json()
    actions = [(r["actorKind"], r["action"], r["object"]) for r in rows]
    api = "/api/v2/public"
    assert ("api_key", "POST %s/companies" % api, api + "/companies") in actions, actions
    assert ("operator", "POST %s/companies" % api, api + "/companies") in actions, actions
    assert actions.count(("api_key", "POST %s/companies" % api, api + "/companies")) == 2, \
        "the idempotent replay is not a second change: %r" % actions
    assert not any(a[1].startswith("GET ") for a in actions), actions
    assert not any(a[1].startswith("PATCH ") for a in actions), "a 404 changed nothing"
    assert ("operator", "set_password", api + "/portal/password") in actions, actions
    op_row = [r for r in rows if r["actorKind"] == "operator" and r["action"].startswith("POST")][0]
    assert op_row["actorEmail"] == email and op_row["role"] == "admin", op_row
    assert op_row["client"] == "127.0.0.1" and op_row["status"] == 200, op_row
    key_row = [r for r in rows if r["actorKind"] == "api_key"][0]
    assert key_row["actorEmail"] is None and key_row["actorId"], key_row
    # Retention: every row expires (audit_retention), and the sweep can drop it.
    assert s.sql("SELECT count(*) FROM audit_log WHERE expires_at < now() + interval '364 days' "
                 "OR expires_at > now() + interval '366 days'") == "0"
    assert by_key["id"] != by_op.json()["id"]
    # Paging: newest first, before= continues.
    older = call(s, "GET", "portal/audit?limit=1&before=%d" % rows[0]["id"], cookie).json()
    assert len(older) == 1 and older[0]["id"] == rows[1]["id"], older
    # Nothing here leaks a capability.
    assert "hl_test_" not in str(rows) and "set-password" not in str(rows)


def test_users_managed_by_admins_only():
    s = stack()
    _, adm = operator(s, "admin")
    _, dev = operator(s, "developer")
    email = "new-%s@example.com" % secrets.token_hex(3)
    H.assert_envelope(call(s, "POST", "portal/users", dev, body={"email": email,
                                                                 "role": "onboarding"}), 403)
    r = call(s, "POST", "portal/users", adm, body={"email": email, "role": "onboarding"})
    assert r.status == 201, r
    out = r.json()
    assert out["email"] == email and out["role"] == "onboarding", out
    link = LINK_RE.match(out["setPasswordUrl"]).group(2)
    H.assert_envelope(call(s, "POST", "portal/users", adm, body={"email": email.upper(),
                                                                 "role": "admin"}), 409)
    H.assert_envelope(call(s, "POST", "portal/users", adm, body={"email": "x@y.z",
                                                                 "role": "root"}), 400)
    assert set_password(s, link).status == 200
    users = call(s, "GET", "portal/users", adm).json()
    assert email in [u["email"] for u in users], users
    assert not any("password_hash" in u or "hash" in str(u) for u in users), users
    r = call(s, "DELETE", "portal/users/" + out["id"], adm)
    assert r.status == 204, r
    H.assert_envelope(signin(s, email), 401)
    me = call(s, "GET", "portal/session", adm).json()
    H.assert_envelope(call(s, "DELETE", "portal/users/" + me["id"], adm), 409)
    # API keys cannot manage Portal users: the routes are session-only.
    H.assert_envelope(s.req("GET", "portal/users", key=s.key), 401, "INVALID_SESSION")


def test_api_keys_from_the_portal_shown_once_and_revocable():
    s = stack()
    _, dev = operator(s, "developer")
    _, onb = operator(s, "onboarding")
    H.assert_envelope(call(s, "POST", "portal/api-keys", onb), 403)
    r = call(s, "POST", "portal/api-keys", dev, env="live")
    assert r.status == 201, r
    k = r.json()
    assert k["environment"] == "live" and k["key"].startswith("hl_live_"), k
    assert s.req("GET", "companies", key=k["key"]).status == 200
    listed = call(s, "GET", "portal/api-keys", dev, env="live").json()
    row = [x for x in listed if x["id"] == k["id"]][0]
    assert k["key"] not in str(listed) and k["key"].startswith(row["prefix"]), listed
    assert all(x["environment"] == "live" for x in listed), listed
    assert k["id"] not in str(call(s, "GET", "portal/api-keys", dev).json()), "test list"
    other = s.new_tenant("Keys other org")
    theirs = H.ctl_json(["apikey", "list", "--org", other.org_id], s.inst.conf)[0]
    H.assert_envelope(call(s, "DELETE", "portal/api-keys/" + theirs["id"], dev), 404)
    assert s.req("GET", "companies", key=other.test_key).status == 200
    assert call(s, "DELETE", "portal/api-keys/" + k["id"], dev, env="live").status == 204
    H.assert_envelope(s.req("GET", "companies", key=k["key"]), 401, "INVALID_API_KEY")


def test_dashboard_reads_the_reporting_views():
    s = stack("portal_dash")
    _, onb = operator(s, "onboarding")
    co = s.ok("POST", "companies", key=s.key, body={"name": "Dash co"})
    s.ok("POST", "companies/%s/connections" % co["id"], key=s.key,
         body={"platformKey": "sandbox"})
    d = call(s, "GET", "portal/dashboard?days=7", onb).json()
    assert set(d) == {"funnel", "connections", "webhooks"}, d
    assert {"platform": "sandbox", "status": "PendingAuth", "connections": 1} in \
        d["connections"], d
    today = d["funnel"][-1]
    assert today["connectionsCreated"] == 1, d["funnel"]
    H.assert_envelope(call(s, "GET", "portal/dashboard?days=0", onb), 400)


def test_readme_audit_query_runs():
    s = stack("portal_audit")
    with open(H.ROOT + "/README.md") as f:
        text = f.read()
    start = text.index("    SELECT at, actor_kind")
    query = " ".join(line.strip() for line in text[start:text.index(";", start)].split("\n"))
    call(s, "POST", "companies", operator(s, "admin")[1], body={"name": "README audit"}, env="live")
    out = s.sql(query.replace("$1", "'%s'" % s.org_id))
    assert "operator|" in out and "POST /api/v2/public/companies" in out, out


def route_table():
    """(method, path, auth, role) of every row of src/routes.c."""
    with open(H.ROOT + "/src/routes.c") as f:
        text = f.read()
    rows = re.findall(r'\{ "([A-Z]+)", (API )?"([^"]*)", (AUTH_[A-Z_]+),[^}]*?,\s+'
                      r'(ONBOARDING|DEVELOPER|ADMIN|NO_PORTAL) \}', text)
    # every row names its role (a row the pattern misses would go unchecked)
    assert len(rows) == len(re.findall(r'\{ "[A-Z]+", ', text)) > 40, rows
    return [(m, (S.API if api else "") + p, a, r) for m, api, p, a, r in rows]


def test_every_route_checks_the_role_before_anything_else():
    s = stack()
    cookies = {role: operator(s, role)[1] for role in ("onboarding", "developer", "admin")}
    rank = {"ADMIN": 0, "DEVELOPER": 1, "ONBOARDING": 2}
    checked = 0
    for method, path, auth, need in route_table():
        if auth not in ("AUTH_API_KEY", "AUTH_PORTAL"):
            assert need == "NO_PORTAL", (method, path, need)
            continue
        assert need != "NO_PORTAL", (method, path)
        if (method, path) == ("DELETE", S.API + "/portal/session"):
            continue        # signs out: test_signout_ends_the_session
        url = re.sub(r"\{[a-z]+\}", S.uid(), path)
        for role, r_rank in (("onboarding", 2), ("developer", 1), ("admin", 0)):
            r = call(s, method, url, cookies[role], body={} if method in ("POST", "PUT",
                                                                         "PATCH") else None)
            if r_rank > rank[need]:
                H.assert_envelope(r, 403, "FORBIDDEN", "Your role does not allow this")
            else:
                assert r.status != 403 and r.status < 500, (role, method, url, r)
            checked += 1
    assert checked > 100, checked
