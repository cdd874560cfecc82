/* test_text.c - the request path's string writers against snprintf. */
#include "autoconf.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "tap.h"
#include "text.h"

static void
decimal_is(long long v)
{
	char got[24], want[24];
	char *end = text_decimal(got, v);

	snprintf(want, sizeof(want), "%lld", v);
	is_str(got, want, "text_decimal(%lld)", v);
	ok(end == got + strlen(want) && *end == '\0', "text_decimal(%lld) returns the end", v);
}

int
main(void)
{
	const long long values[] = { 0, 7, 9, 10, 99, 100, 1800000000LL, -1, -10,
	    LLONG_MAX, LLONG_MIN };
	char buf[8], out[64], uuid[37], *o;
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		decimal_is(values[i]);

	ok(text_copy(buf, sizeof(buf), "abc") == 3, "text_copy: the length copied");
	is_str(buf, "abc", "text_copy: short");
	ok(text_copy(buf, sizeof(buf), "abcdefghij") == 7, "text_copy: cut to fit");
	is_str(buf, "abcdefg", "text_copy: cut as snprintf cuts");
	ok(text_copy(buf, 1, "abc") == 0 && buf[0] == '\0', "text_copy: room for the NUL only");

	o = text_put(out, "id=");
	o = text_putn(o, "0123456789", 4);
	o = text_decimal(text_put(o, " n="), 42);
	is_str(out, "id=0123 n=42", "text_put, text_putn and text_decimal chain");
	ok(o == out + strlen(out), "the chain ends at the end");

	ok(crypto_uuid(uuid) == 0, "crypto_uuid");
	ok(strlen(uuid) == 36 && uuid[8] == '-' && uuid[13] == '-' && uuid[18] == '-' &&
	    uuid[23] == '-' && uuid[14] == '4' && strchr("89ab", uuid[19]) != NULL &&
	    strspn(uuid, "0123456789abcdef-") == 36, "crypto_uuid: a version 4 UUID, %s", uuid);
	return tap_done();
}
