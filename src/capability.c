/* capability.c - unguessable URLs and signatures derived by HMAC. */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "capability.h"
#include "config.h"
#include "crypto.h"

#define MAC_LEN 16

/* HMAC under a subkey of encryption_key, so the raw key signs nothing. */
static void
mac(const struct config *cfg, const char *label, const unsigned char *data,
    size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	static const char info[] = "hostlink capability v1";
	/* The subkey of the last encryption_key seen, derived once (a list
	 * of 100 companies signs 100 links). */
	static unsigned char subkey[CRYPTO_SHA256_LEN], of_key[sizeof(cfg->encryption_key)];
	static bool derived;
	unsigned char buf[128];
	size_t llen = strlen(label);

	if (!derived || !crypto_equal(of_key, cfg->encryption_key, sizeof(of_key))) {
		crypto_hmac_sha256(cfg->encryption_key, sizeof(cfg->encryption_key), info,
		    sizeof(info) - 1, subkey);
		memcpy(of_key, cfg->encryption_key, sizeof(of_key));
		derived = true;
	}
	memcpy(buf, label, llen);
	memcpy(buf + llen, data, len);
	crypto_hmac_sha256(subkey, sizeof(subkey), buf, llen + len, out);
}

static int
uuid_bytes(const char *s, unsigned char out[16])
{
	int o = 0;

	while (*s != '\0' && o < 16) {
		int hi, lo;

		if (*s == '-') {
			s++;
			continue;
		}
		hi = crypto_hexval((unsigned char)s[0]);
		lo = hi < 0 ? -1 : crypto_hexval((unsigned char)s[1]);
		if (lo < 0)
			return -1;
		out[o++] = (unsigned char)(hi << 4 | lo);
		s += 2;
	}
	return o == 16 && *s == '\0' ? 0 : -1;
}

static void
uuid_text(const unsigned char b[16], char out[37])
{
	char hex[33];

	crypto_hex(b, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
}

/* data = 16 id bytes | 4 version bytes (| extra); key = data + MAC. */
static void
make(const struct config *cfg, const char *label, const unsigned char id[16],
    int version, char out[CAP_KEY_LEN + 1])
{
	unsigned char buf[16 + 4 + MAC_LEN], m[CRYPTO_SHA256_LEN];

	memcpy(buf, id, 16);
	buf[16] = (unsigned char)(version >> 24);
	buf[17] = (unsigned char)(version >> 16);
	buf[18] = (unsigned char)(version >> 8);
	buf[19] = (unsigned char)version;
	mac(cfg, label, buf, 20, m);
	memcpy(buf + 20, m, MAC_LEN);
	crypto_b64url(buf, sizeof(buf), out);
}

static int
parse(const struct config *cfg, const char *label, const char *key,
    unsigned char id[16], int *version)
{
	unsigned char buf[64], m[CRYPTO_SHA256_LEN];

	if (key == NULL || strlen(key) != CAP_KEY_LEN)
		return -1;
	if (crypto_b64url_decode(key, CAP_KEY_LEN, buf) != 16 + 4 + MAC_LEN)
		return -1;
	mac(cfg, label, buf, 20, m);
	if (!crypto_equal(m, buf + 20, MAC_LEN))
		return -1;
	memcpy(id, buf, 16);
	*version = (int)((unsigned)buf[16] << 24 | (unsigned)buf[17] << 16 |
	    (unsigned)buf[18] << 8 | buf[19]);
	return 0;
}

/* A key naming a UUID (as text) under label, and its check. */
static void
uuid_key(const struct config *cfg, const char *label, const char *uuid, int version,
    char out[CAP_KEY_LEN + 1])
{
	unsigned char id[16] = { 0 };

	(void)uuid_bytes(uuid, id);
	make(cfg, label, id, version, out);
}

static int
uuid_parse(const struct config *cfg, const char *label, const char *key, char uuid[37],
    int *version)
{
	unsigned char id[16];

	if (parse(cfg, label, key, id, version) < 0)
		return -1;
	uuid_text(id, uuid);
	return 0;
}

void
cap_link_key(const struct config *cfg, const char *company_id, int version,
    char out[CAP_KEY_LEN + 1])
{
	uuid_key(cfg, "link", company_id, version, out);
}

int
cap_link_parse(const struct config *cfg, const char *key, char company_id[37],
    int *version)
{
	return uuid_parse(cfg, "link", key, company_id, version);
}

void
cap_start_key(const struct config *cfg, const char *connection_id, int version,
    char out[CAP_KEY_LEN + 1])
{
	uuid_key(cfg, "start", connection_id, version, out);
}

int
cap_start_parse(const struct config *cfg, const char *key, char connection_id[37],
    int *version)
{
	return uuid_parse(cfg, "start", key, connection_id, version);
}

void
cap_invite_code(const struct config *cfg, const char *org_id, const char *env,
    int version, char out[CAP_KEY_LEN + 1])
{
	unsigned char id[16] = { 0 };

	(void)uuid_bytes(org_id, id);
	make(cfg, strcmp(env, "live") == 0 ? "invite:live" : "invite:test", id,
	    version, out);
}

int
cap_invite_parse(const struct config *cfg, const char *code, char org_id[37],
    char env[5], int *version)
{
	unsigned char id[16];

	if (parse(cfg, "invite:test", code, id, version) == 0)
		strcpy(env, "test");
	else if (parse(cfg, "invite:live", code, id, version) == 0)
		strcpy(env, "live");
	else
		return -1;
	uuid_text(id, org_id);
	return 0;
}

void
cap_redirect_secret(const struct config *cfg, const char *org_id, const char *env,
    int version, char out[44])
{
	unsigned char m[CRYPTO_SHA256_LEN];
	char label[64];

	/* Version 1 is the derivation of before versions existed. */
	if (version <= 1)
		snprintf(label, sizeof(label), "redirect:%s:", env);
	else
		snprintf(label, sizeof(label), "redirect:%s:v%d:", env, version);
	mac(cfg, label, (const unsigned char *)org_id, strlen(org_id), m);
	crypto_b64url(m, sizeof(m), out);
}

void
cap_redirect_sign(const struct config *cfg, const char *org_id, const char *env,
    int version, const char *url, char out[65])
{
	unsigned char m[CRYPTO_SHA256_LEN];
	char secret[44];

	cap_redirect_secret(cfg, org_id, env, version, secret);
	crypto_hmac_sha256(secret, strlen(secret), url, strlen(url), m);
	crypto_hex(m, sizeof(m), out);
	explicit_bzero(secret, sizeof(secret));
}
