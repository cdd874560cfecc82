/* sealed.c - encrypted columns: AES-256-GCM under encryption_key, each value bound to its row. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "sealed.h"

/* The associated data of every encrypted column: prefix ":" ids joined by
 * ':'.  A value sealed under one row's data cannot be moved to another. */
static const struct {
	const char *prefix;
	int nids;
} columns[] = {
	[SEALED_CREDENTIALS] = { "credentials", 1 },
	[SEALED_CLIENT_SECRET] = { "client_secret", 3 },
	[SEALED_WEBHOOK_SECRET] = { "webhook", 1 },
	[SEALED_OAUTH_STATE] = { "oauth", 1 },
	[SEALED_IDEMPOTENT] = { "idempotency", 4 },
};

int
sealed_aad(enum sealed_column col, const char *const *ids, char *out, size_t len)
{
	size_t used;
	int i, n;

	n = snprintf(out, len, "%s", columns[col].prefix);
	if (n < 0 || (size_t)n >= len)
		return -1;
	used = (size_t)n;
	for (i = 0; i < columns[col].nids; i++) {
		n = snprintf(out + used, len - used, ":%s", ids[i]);
		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

char *
sealed_param(const struct config *cfg, enum sealed_column col, const char *const *ids,
    const char *text, size_t len)
{
	unsigned char *ct;
	char aad[512], *hex;
	size_t n;

	if (sealed_aad(col, ids, aad, sizeof(aad)) < 0 ||
	    crypto_seal(cfg->encryption_key, aad, text, len, &ct, &n) < 0)
		return NULL;
	hex = db_bytea(ct, n);
	free(ct);
	return hex;
}

char *
sealed_open(const struct config *cfg, enum sealed_column col, const char *const *ids,
    const PGresult *res, int row, int field)
{
	unsigned char *ct;
	char aad[512], *pt = NULL;
	size_t n;

	ct = db_get_bytea(res, row, field, &n);
	if (ct == NULL)
		return NULL;
	if (sealed_aad(col, ids, aad, sizeof(aad)) < 0 ||
	    crypto_open(cfg->encryption_key, aad, ct, n, &pt, NULL) < 0) {
		log_error("a sealed %s value does not open (encryption key or row changed)",
		    columns[col].prefix);
		pt = NULL;
	}
	PQfreemem(ct);
	return pt;
}
