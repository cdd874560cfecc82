/* test_crypto.c - hashing, encodings, API-key format, sealed-column AAD formats and log escaping. */
#include "autoconf.h"

#include <string.h>

#include "auth.h"
#include "crypto.h"
#include "log.h"
#include "password.h"
#include "sealed.h"
#include "tap.h"

/* Stored rows are sealed under these associated data: a change to a
 * format makes every stored value of its column unreadable. */
static void
sealed_rows(void)
{
	static const struct {
		enum sealed_column col;
		const char *ids[4];
		const char *want;
	} rows[] = {
		{ SEALED_CREDENTIALS, { "c1" }, "credentials:c1" },
		{ SEALED_CLIENT_SECRET, { "o1", "test", "xero" }, "client_secret:o1:test:xero" },
		{ SEALED_WEBHOOK_SECRET, { "w1" }, "webhook:w1" },
		{ SEALED_OAUTH_STATE, { "c2" }, "oauth:c2" },
		{ SEALED_IDEMPOTENT, { "o1", "live", "key", "k-1" }, "idempotency:o1:live:key:k-1" },
	};
	char aad[128];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ok(sealed_aad(rows[i].col, rows[i].ids, aad, sizeof(aad)) == 0,
		    "sealed AAD %zu fits", i);
		is_str(aad, rows[i].want, "sealed AAD format of %s", rows[i].want);
	}
	ok(sealed_aad(SEALED_CREDENTIALS, rows[0].ids, aad, 10) < 0,
	    "sealed AAD that does not fit is refused, not cut");
}

/* password.c: scrypt hashes verify their password only; malformed stored
 * texts never match; acceptable passwords by length and bytes. */
static void
test_password(void)
{
	char h1[PASSWORD_HASH_LEN], h2[PASSWORD_HASH_LEN], bad[PASSWORD_HASH_LEN];
	char big[PASSWORD_MAX + 2];

	ok(password_hash("correct horse battery", h1) == 0 &&
	    strncmp(h1, "scrypt$15$8$1$", 14) == 0, "scrypt hash format: %s", h1);
	ok(password_hash("correct horse battery", h2) == 0 && strcmp(h1, h2) != 0,
	    "fresh salt each time");
	ok(password_verify("correct horse battery", h1), "right password verifies");
	ok(!password_verify("correct horse batterx", h1), "wrong password does not");
	ok(!password_verify("", h1), "empty password does not");
	snprintf(bad, sizeof(bad), "%s", h1);
	bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
	ok(!password_verify("correct horse battery", bad), "altered hash does not");
	ok(!password_verify("x", "") && !password_verify("x", "scrypt$15$8$1$$") &&
	    !password_verify("x", "scrypt$40$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA") &&
	    !password_verify("x", "bcrypt$2y$10$abc"), "malformed stored texts never match");
	ok(!password_acceptable("short") && password_acceptable("twelve chars"),
	    "at least PASSWORD_MIN bytes");
	ok(!password_acceptable("twelve\tchars!") && !password_acceptable("bad \xff utf-8 bytes"),
	    "no control characters, valid UTF-8");
	ok(password_acceptable("\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac pass"),
	    "UTF-8 accepted");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(!password_acceptable(big), "at most PASSWORD_MAX bytes");
}

int
main(void)
{
	unsigned char h[CRYPTO_SHA256_LEN];
	char hex[65], b64[64], key[AUTH_KEY_LEN + 1], key2[AUTH_KEY_LEN + 1];
	char lookup[AUTH_LOOKUP_LEN + 1], hash[65], lookup2[AUTH_LOOKUP_LEN + 1], hash2[65];
	char esc[64];

	crypto_sha256("abc", 3, h);
	crypto_hex(h, sizeof(h), hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "sha256('abc')");
	crypto_b64url((const unsigned char *)"\xfb\xff", 2, b64);
	is_str(b64, "-_8", "base64url alphabet, no padding");
	crypto_b64url((const unsigned char *)"foobar", 6, b64);
	is_str(b64, "Zm9vYmFy", "base64url of foobar");
	crypto_b64url((const unsigned char *)"f", 1, b64);
	is_str(b64, "Zg", "base64url of one byte");
	ok(crypto_equal("abcd", "abcd", 4) && !crypto_equal("abcd", "abce", 4),
	    "constant-time equality");

	ok(auth_key_generate("test", key, lookup, hash) == 0, "generate test key");
	ok(strncmp(key, "hl_test_", 8) == 0 && strlen(key) == AUTH_KEY_LEN, "key shape");
	ok(auth_key_wellformed(key), "generated key is well-formed");
	ok(auth_key_generate("live", key2, lookup2, hash2) == 0 &&
	    strncmp(key2, "hl_live_", 8) == 0, "generate live key");
	ok(strcmp(key, key2) != 0 && strcmp(hash, hash2) != 0, "keys differ");
	ok(auth_key_generate("prod", key2, lookup2, hash2) < 0, "unknown environment refused");
	auth_key_hash(key, lookup2, hash2);
	ok(strcmp(hash, hash2) == 0 && strcmp(lookup, lookup2) == 0 &&
	    strncmp(hash, lookup, AUTH_LOOKUP_LEN) == 0, "hash is stable; lookup is its prefix");
	ok(!auth_key_wellformed(NULL), "NULL key");
	ok(!auth_key_wellformed("hl_test_short"), "short key");
	ok(!auth_key_wellformed("hl_prod_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "bad env");
	ok(!auth_key_wellformed("hl_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'"), "quote");
	ok(auth_key_wellformed("hl_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "shape ok");

	sealed_rows();

	log_escape(esc, sizeof(esc), "a\"b\\c\nd\x01\xff", 9);
	is_str(esc, "a\\x22b\\x5cc\\x0ad\\x01\\xff", "log escape");
	log_escape(esc, 12, "0123456789abcdef", 16);
	is_str(esc, "01234567...", "log escape truncates to fit");
	test_password();
	return tap_done();
}
