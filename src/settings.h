/* settings.h - the link_settings table: the page's settings, the invite version and the signed redirect. */
#ifndef HOSTLINK_SETTINGS_H
#define HOSTLINK_SETTINGS_H

#include <stdbool.h>

#include <json-c/json.h>

struct config;

/* The link settings of (org, env) as the API shows them, defaults when
 * none are stored (theme always an object, show_sandbox always a boolean:
 * by default on in test, off in live), the options of migration 0014
 * merged in: a new object, or NULL when the database failed. */
json_object *settings_load(const char *org_id, const char *env);

/* The settings the hosted page shows (settings_load() without the
 * redirect_url and its allowed hosts): a new object, or NULL when the
 * database failed. */
json_object *settings_page(const char *org_id, const char *env);

/* Whether the built-in sandbox is offered: 1 or 0, -1 when the database failed. */
int settings_show_sandbox(const char *org_id, const char *env);

/* Stores the link settings (NULL members clear them; options_json: the
 * other members, a JSON object); returns what
 * settings_load() would now, or NULL when the database failed. */
json_object *settings_save(const char *org_id, const char *env, const char *redirect_url,
    const char *page_title, const char *body_text, const char *theme_json,
    const char *options_json);

/* The invite link's version: the current one, or the next after a
 * rotation.  -1 when the database failed. */
int settings_invite_version(const char *org_id, const char *env);
int settings_rotate_invite(const char *org_id, const char *env);
/* The version of (org, env)'s redirect signing secret (1 until rotated),
 * and its rotation (the new version); -1 when the database failed. */
int settings_secret_version(const char *org_id, const char *env);
int settings_rotate_secret(const char *org_id, const char *env);

/* The URL to send the user to after a flow: the org's redirect_url
 * template filled (or fallback with the done-screen parameters), with
 * exp and sig appended.  fallback is "page", or "page\noverride" or
 * "page\noverride\n{pass-through JSON object}" (settings_return_to()):
 * a non-empty override is filled instead of the org's redirect_url, and
 * the object's string members fill {name}s of the template as well.
 * Returns a malloc'd URL or NULL. */
char *settings_redirect(const struct config *cfg, const char *org_id, const char *env,
    const char *fallback, const char *company_id, const char *connection_id,
    const char *platform, int status_code, const char *error_message);

/* Whether url's host is one of hosts (a JSON array of "host" or
 * "*.domain" strings; anything else: false). */
bool settings_host_allowed(json_object *hosts, const char *url);

#endif
