#!/usr/bin/env python3
"""bench/oauth_states.py - the oauth-callback row's fixtures, through the real API.

    bench/oauth_states.py HL_URL API_KEY TOKEN_URL N OUT

Enables the OAuth 2.0 platform "quickbooks" in the API key's org with
TOKEN_URL (the row's stand-in token endpoint: bench/webhook.c receive, which
answers every POST with a token) and an authorize URL that is never opened;
then, N times, a new linked account (POST /session-token) and its connection
(POST /hosted/connections with that token): the answer's next.url carries a
fresh single-use state. OUT gets one callback path per line,
"/api/v2/public/oauth/callback?state=STATE&code=CODE", for bench/request.lua
(WRK_PATHS). One keep-alive connection, stdlib only.
"""
import http.client
import json
import secrets
import sys
import urllib.parse

API = "/api/v2/public"


class Client:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)

    def call(self, method, path, auth, body):
        headers = {"Content-Type": "application/json"}
        headers.update(auth)
        self.conn.request(method, API + path, body=json.dumps(body), headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        if not 200 <= r.status < 300:
            raise SystemExit("bench/oauth_states.py: %s %s: %d %s" % (method, path, r.status,
                                                                      data[:300]))
        return json.loads(data)


def main(argv):
    if len(argv) != 6:
        raise SystemExit(__doc__)
    url, key, token_url, n, out = argv[1], argv[2], argv[3], int(argv[4]), argv[5]
    c = Client(url)
    c.call("PUT", "/integrations/quickbooks", {"x-api-key": key}, {
        "name": "QuickBooks Online", "authType": "oauth2", "enabled": True,
        "oauth2": {"authorize_url": "http://127.0.0.1:9/authorize", "token_url": token_url,
                   "client_id": "bench-client", "client_secret": secrets.token_urlsafe(24),
                   "scopes": ["com.intuit.quickbooks.accounting"]}})
    run = secrets.token_hex(4)
    with open(out, "w") as f:
        for i in range(n):
            tok = c.call("POST", "/session-token", {"x-api-key": key},
                         {"linked_account_id": "oauth-%s-%d" % (run, i)})["token"]
            nxt = c.call("POST", "/hosted/connections", {"Authorization": "Bearer " + tok},
                         {"platformKey": "quickbooks"})["next"]
            state = urllib.parse.parse_qs(urllib.parse.urlsplit(nxt["url"]).query)["state"][0]
            f.write("%s/oauth/callback?%s\n" % (API, urllib.parse.urlencode(
                {"state": state, "code": "bench-%d" % i})))


if __name__ == "__main__":
    main(sys.argv)
