/* test_capability.c - derived link keys and invite codes, redirect signatures,
 * the outbound address guard, and sealed secrets. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "config.h"
#include "crypto.h"
#include "outbound.h"
#include "tap.h"

static int
private4(const char *a)
{
	struct sockaddr_in s = { .sin_family = AF_INET };

	inet_pton(AF_INET, a, &s.sin_addr);
	return outbound_addr_private(&s);
}

static int
private6(const char *a)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6 };

	inet_pton(AF_INET6, a, &s.sin6_addr);
	return outbound_addr_private(&s);
}

int
main(void)
{
	static const char *const priv[] = { "127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1",
	    "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
	    "224.0.0.1", "255.255.255.255", "198.18.0.1", NULL };
	static const char *const pub[] = { "8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1",
	    "100.128.0.1", "93.184.216.34", NULL };
	static const char *const priv6[] = { "::1", "::", "fe80::1", "fc00::1", "fd12::3",
	    "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
	    /* IPv4-compatible ::a.b.c.d */
	    "::127.0.0.1", "::10.0.0.1", "::169.254.169.254", "::192.168.1.1",
	    /* SIIT ::ffff:0:a.b.c.d */
	    "::ffff:0:127.0.0.1", "::ffff:0:10.1.2.3",
	    /* NAT64 64:ff9b::/96, local-use NAT64 64:ff9b:1::/48 */
	    "64:ff9b::127.0.0.1", "64:ff9b::10.0.0.1", "64:ff9b::169.254.169.254",
	    "64:ff9b:1::808:808", "64:ff9b:1:ffff::1",
	    /* 6to4 2002:V4HI:V4LO::/48 */
	    "2002:7f00:1::1", "2002:a00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101:1::1",
	    /* deprecated site-local fec0::/10 */
	    "fec0::1", "fed0::1", "feff:ffff::1",
	    /* Teredo 2001::/32 (client 127.0.1.1, and one with a public client) */
	    "2001:0:4136:e378:8000:63bf:80ff:fefe", "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
	    NULL };
	static const char *const pub6[] = { "2001:4860:4860::8888", "2606:4700::1111",
	    "::ffff:8.8.8.8",
	    /* embedded public IPv4 stays allowed */
	    "::8.8.8.8", "64:ff9b::8.8.8.8", "64:ff9b::1.1.1.1", "2002:808:808::1",
	    "2001:1::1", "fe7f::1", NULL };
	struct config cfg, other;
	char key[CAP_KEY_LEN + 1], key2[CAP_KEY_LEN + 1], key3[CAP_KEY_LEN + 1], id[37], org[37], env[5];
	char sig[65], sig2[65], secret[44], *pt;
	unsigned char *ct;
	size_t n, ptlen;
	int v, i;

	for (i = 0; priv[i] != NULL; i++)
		ok(private4(priv[i]), "%s is refused", priv[i]);
	for (i = 0; pub[i] != NULL; i++)
		ok(!private4(pub[i]), "%s is allowed", pub[i]);
	for (i = 0; priv6[i] != NULL; i++)
		ok(private6(priv6[i]), "%s is refused", priv6[i]);
	for (i = 0; pub6[i] != NULL; i++)
		ok(!private6(pub6[i]), "%s is allowed", pub6[i]);

	memset(&cfg, 0, sizeof(cfg));
	memset(&other, 0, sizeof(other));
	for (i = 0; i < 32; i++) {
		cfg.encryption_key[i] = (unsigned char)i;
		other.encryption_key[i] = (unsigned char)(i + 1);
	}
	cap_link_key(&cfg, "0a5de449-1268-4da2-b0e4-c131aa180819", 3, key);
	ok(strlen(key) == CAP_KEY_LEN, "link key length");
	ok(cap_link_parse(&cfg, key, id, &v) == 0 && v == 3 &&
	    strcmp(id, "0a5de449-1268-4da2-b0e4-c131aa180819") == 0, "link key parses back");
	ok(cap_link_parse(&other, key, id, &v) < 0, "another key's link is refused");
	cap_link_key(&cfg, "0a5de449-1268-4da2-b0e4-c131aa180819", 4, key2);
	ok(strcmp(key, key2) != 0, "a new version is a new link");
	key2[5] = key2[5] == 'A' ? 'B' : 'A';
	ok(cap_link_parse(&cfg, key2, id, &v) < 0, "a changed character is refused");
	ok(cap_link_parse(&cfg, "short", id, &v) < 0 && cap_link_parse(&cfg, NULL, id, &v) < 0,
	    "malformed links are refused");
	cap_start_key(&cfg, "0a5de449-1268-4da2-b0e4-c131aa180819", 1, key2);
	ok(strlen(key2) == CAP_KEY_LEN && cap_start_parse(&cfg, key2, id, &v) == 0 && v == 1 &&
	    strcmp(id, "0a5de449-1268-4da2-b0e4-c131aa180819") == 0, "start key parses back");
	ok(cap_link_parse(&cfg, key2, id, &v) < 0 && cap_start_parse(&cfg, key, id, &v) < 0,
	    "a start key is no link key and the other way round");
	ok(cap_start_parse(&other, key2, id, &v) < 0, "another key's start key is refused");
	cap_start_key(&cfg, "0a5de449-1268-4da2-b0e4-c131aa180819", 2, key3);
	ok(strcmp(key2, key3) != 0, "a new start version is a new start key");
	cap_invite_code(&cfg, "0a5de449-1268-4da2-b0e4-c131aa180819", "live", 2, key2);
	ok(cap_invite_parse(&cfg, key2, org, env, &v) == 0 && v == 2 && strcmp(env, "live") == 0,
	    "invite code parses back with its environment");
	ok(cap_link_parse(&cfg, key2, id, &v) < 0 && cap_invite_parse(&cfg, key, org, env, &v) < 0,
	    "a link key is no invite code and the other way round");

	cap_redirect_sign(&cfg, "0a5de449-1268-4da2-b0e4-c131aa180819", "test", 1,
	    "https://app.example.com/done?c=1&exp=9", sig);
	cap_redirect_secret(&cfg, "0a5de449-1268-4da2-b0e4-c131aa180819", "test", 1, secret);
	{
		unsigned char mac[CRYPTO_SHA256_LEN];
		const char *url = "https://app.example.com/done?c=1&exp=9";

		crypto_hmac_sha256(secret, strlen(secret), url, strlen(url), mac);
		crypto_hex(mac, sizeof(mac), sig2);
	}
	ok(strcmp(sig, sig2) == 0, "the signature is HMAC-SHA256 under the shown secret");
	cap_redirect_sign(&cfg, "0a5de449-1268-4da2-b0e4-c131aa180819", "live", 1,
	    "https://app.example.com/done?c=1&exp=9", sig2);
	ok(strcmp(sig, sig2) != 0, "each environment signs with its own secret");

	ok(crypto_seal(cfg.encryption_key, "credentials:x", "s3cret-token", 12, &ct, &n) == 0 &&
	    n == 12 + 12 + 16, "seal: nonce, ciphertext, tag");
	ok(memmem(ct, n, "s3cret", 6) == NULL, "no plaintext in the sealed bytes");
	ok(crypto_open(cfg.encryption_key, "credentials:x", ct, n, &pt, &ptlen) == 0 &&
	    ptlen == 12 && strcmp(pt, "s3cret-token") == 0, "open gives the plaintext back");
	free(pt);
	ok(crypto_open(cfg.encryption_key, "credentials:y", ct, n, &pt, &ptlen) < 0,
	    "another purpose (aad) cannot open it");
	ok(crypto_open(other.encryption_key, "credentials:x", ct, n, &pt, &ptlen) < 0,
	    "another key cannot open it");
	ct[14] ^= 1;
	ok(crypto_open(cfg.encryption_key, "credentials:x", ct, n, &pt, &ptlen) < 0,
	    "a flipped bit is detected");
	free(ct);
	return tap_done();
}
