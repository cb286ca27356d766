/*
 * domain/settings: the server's settings — a registry of the known keys
 * (type, default, check, description) over the `settings` table.
 *
 * A key without a stored value has its default; PATCH-style updates are a
 * JSON Merge Patch of the settings object (null = back to the default).
 * Keys not in the registry are refused (422 "unknown"), never stored. Every
 * bad value is a field error naming its key; nothing is written unless every
 * member is valid (one transaction).
 * Readers: dom_line_create reads default_max_connections, default_outputs
 * and trial_hours; the others are stored and served for the panel and the
 * operators' tooling (see docs/operator-guide.md "Settings").
 * Threading: one thread per struct db.
 */
#ifndef XTREAMD_DOMAIN_SETTINGS_H
#define XTREAMD_DOMAIN_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "core/jsonw.h"
#include "domain/error.h"

struct db;

enum dom_setting_type {
    DOM_SETTING_STRING,   /* free text, 1..max bytes */
    DOM_SETTING_URL,      /* "" or an absolute http(s) URL */
    DOM_SETTING_TIMEZONE, /* an IANA zone name present under /usr/share/zoneinfo */
    DOM_SETTING_INT,      /* an integer min..max */
    DOM_SETTING_OUTPUTS,  /* an array of "ts" | "m3u8" (stored "ts,m3u8") */
    DOM_SETTING_XUI_PATH, /* "" or the shim's secret path (domain/xui_path.h) */
};

struct dom_setting_def {
    const char *key;
    enum dom_setting_type type;
    const char *def; /* the default, in the stored text form */
    long long min, max;
    const char *description;
};

extern const struct dom_setting_def dom_setting_defs[];
extern const size_t dom_setting_count;

/* Writes the whole settings object {"key": value, ...} (every known key). */
int dom_settings_get_all(struct db *db, struct jsonw *w, struct dom_error *e);

/* Applies a JSON Merge Patch (body: a JSON object of key -> value or null). 400 on a
 * body that is not an object, 422 with one field error per bad or unknown key. */
int dom_settings_patch(struct db *db, const char *body, size_t len, struct dom_error *e);
/* The checks of dom_settings_patch alone (no database): for decoders and
 * tests/fuzz/fuzz_settings_json.c. */
int dom_settings_validate(const char *body, size_t len, struct dom_error *e);

/* Signed stream URLs (core/urlsign.h): a fresh signing key becomes current;
 * the previous one stays valid for signed_url_grace seconds. The keys live in
 * the settings row URLSIGN_SETTING_KEYS, outside the registry, so the
 * settings API never shows or takes them. *new_id: the new key's id. */
int dom_signing_rotate(struct db *db, uint32_t *new_id, struct dom_error *e);

/* The current value of an INT setting (its default when unset or unreadable). */
long long dom_setting_int(struct db *db, const char *key);
/* The current text of a setting into out (its default when unset). */
void dom_setting_text(struct db *db, const char *key, char *out, size_t n);

#endif
