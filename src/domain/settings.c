/*
 * domain/settings: see settings.h.
 */
#include "domain/settings.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>

#include "db/db.h"
#include "core/urlsign.h"
#include "db/settings.h"
#include "domain/lines.h"
#include "domain/text.h"
#include "domain/xui_path.h"

#define SETTING_TEXT_MAX 512

const struct dom_setting_def dom_setting_defs[] = {
    {"server_name", DOM_SETTING_STRING, "xtreamd", 1, 100,
     "The name of the service shown by the panel."},
    {"public_url", DOM_SETTING_URL, "", 0, SETTING_TEXT_MAX,
     "The base URL clients use (http(s)://host[:port][/path]); empty: taken from each request. "
     "`serve --public-url` still sets the running server's."},
    {"timezone", DOM_SETTING_TIMEZONE, "UTC", 0, 64,
     "The operator's IANA time zone (e.g. Europe/Paris) for the panel's displays; the APIs "
     "keep UTC."},
    {"default_max_connections", DOM_SETTING_INT, "1", 0, DOM_LINE_MAX_CONN_LIMIT,
     "max_connections of a new line that neither gives one nor comes from a plan "
     "(0 = unlimited)."},
    {"default_outputs", DOM_SETTING_OUTPUTS, "ts,m3u8", 0, 0,
     "allowed_outputs of a new line that neither gives them nor comes from a plan."},
    {"trial_hours", DOM_SETTING_INT, "0", 0, 8760,
     "A new trial line without an expiry (and without a plan) expires this many hours after "
     "its creation; 0: it never expires."},
    {"epg_refresh_hours", DOM_SETTING_INT, "24", 1, 168,
     "The default refresh period of a new EPG source, in hours."},
    {"signed_urls", DOM_SETTING_INT, "0", 0, 1,
     "1: playlists and the player API hand out stream URLs with an expiring signed token "
     "instead of the username and password (docs/operator-guide.md \"Signed stream URLs\"); "
     "the username/password URLs keep working."},
    {"signed_url_ttl", DOM_SETTING_INT, "86400", 60, 2592000,
     "How long a signed stream URL stays valid, in seconds."},
    {"signed_url_bind_ip", DOM_SETTING_INT, "0", 0, 1,
     "1: a signed URL only works from the /24 (IPv4) or /64 (IPv6) of the client it was "
     "handed to."},
    {"signed_url_grace", DOM_SETTING_INT, "3600", 0, 2592000,
     "After a signing key rotation, URLs signed with the previous key stay valid this many "
     "seconds (0: revoked at once)."},
    {"xui_api_path", DOM_SETTING_XUI_PATH, "", 0, DOM_XUI_PATH_MAX,
     "The secret path of the XUI-compatible API for billing modules (e.g. "
     "/billing-8f3a9c2e71d4/api.php): \"\" turns it off (the default); else at least 16 "
     "path-safe characters that no client API path uses (docs/admin-api.md "
     "\"XUI-compatible API\")."},
};
const size_t dom_setting_count = sizeof(dom_setting_defs) / sizeof(dom_setting_defs[0]);

static int signing_rotate(struct db *db, int64_t now, uint32_t *new_id);

static const struct dom_setting_def *find_def(const char *key)
{
    for (size_t i = 0; i < dom_setting_count; i++)
        if (strcmp(dom_setting_defs[i].key, key) == 0)
            return &dom_setting_defs[i];
    return NULL;
}

static bool parse_ll(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

/* A zone name is a relative path of [A-Za-z0-9_+-] components naming a
 * regular file under /usr/share/zoneinfo ("UTC", "Europe/Paris"); no "..",
 * no absolute path, so the check cannot probe other files. */
static bool valid_zone(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//"))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '/'))
            return false;
        if (c == '-' && (i == 0 || s[i - 1] == '/'))
            return false; /* no component starting with '-' */
    }
    char path[128];
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", s);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool valid_url(const char *s)
{
    const char *p = NULL;
    if (strncmp(s, "http://", 7) == 0)
        p = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        p = s + 8;
    if (!p || !*p || *p == '/' || *p == ':')
        return false;
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '?' || *c == '#' || *c == '\\' ||
            *c == '"' || (unsigned char)*c >= 0x80)
            return false;
    return true;
}

/* Checks the JSON value v for def and writes its stored text into out. */
static int check_value(const struct dom_setting_def *d, json_t *v, char *out, size_t n,
                       struct dom_error *e)
{
    const char *k = d->key;
    switch (d->type) {
    case DOM_SETTING_INT: {
        if (!json_is_integer(v))
            return dom_err_field(e, k, "type", "must be an integer");
        long long x = (long long)json_integer_value(v);
        if (x < d->min || x > d->max)
            return dom_err_field(e, k, "range", "must be %lld-%lld, got %lld", d->min, d->max, x);
        snprintf(out, n, "%lld", x);
        return 0;
    }
    case DOM_SETTING_OUTPUTS: {
        char joined[64];
        size_t len = 0, i;
        json_t *it;
        if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 4)
            return dom_err_field(e, k, "type", "must be a non-empty array of outputs");
        joined[0] = '\0';
        json_array_foreach(v, i, it)
        {
            if (!json_is_string(it) || strchr(json_string_value(it), ',') ||
                strlen(json_string_value(it)) > 8)
                return dom_err_field(e, k, "format", "outputs are ts or m3u8 (hls, mpegts)");
            len += (size_t)snprintf(joined + len, sizeof(joined) - len, "%s%s", i ? "," : "",
                                    json_string_value(it));
        }
        return dom_parse_outputs(k, joined, out, n, e);
    }
    case DOM_SETTING_STRING:
    case DOM_SETTING_URL:
    case DOM_SETTING_TIMEZONE:
    case DOM_SETTING_XUI_PATH:
        break;
    }
    if (!json_is_string(v))
        return dom_err_field(e, k, "type", "must be a string (null: the default)");
    const char *s = json_string_value(v);
    if (d->type == DOM_SETTING_STRING && dom_check_text(k, s, (size_t)d->max, d->min == 0, e))
        return -EINVAL;
    if (d->type == DOM_SETTING_URL && *s && (strlen(s) > (size_t)d->max || !valid_url(s)))
        return dom_err_field(e, k, "format",
                             "must be empty or an http(s) URL without query or fragment");
    if (d->type == DOM_SETTING_XUI_PATH && dom_xui_path_check(k, s, e))
        return -EINVAL;
    if (d->type == DOM_SETTING_TIMEZONE && !valid_zone(s))
        return dom_err_field(e, k, "unknown", "'%.64s' is not a known IANA time zone", s);
    snprintf(out, n, "%s", s);
    return 0;
}

/* The stored text of d into out, or its default when unset. */
static int current(struct db *db, const struct dom_setting_def *d, char *out, size_t n)
{
    char *v = NULL;
    int rc = db_setting_get(db, d->key, &v);
    if (rc == -ENOENT) {
        snprintf(out, n, "%s", d->def);
        return 0;
    }
    if (rc)
        return rc;
    snprintf(out, n, "%s", v);
    free(v);
    return 0;
}

static void write_value(struct jsonw *w, const struct dom_setting_def *d, const char *text)
{
    long long x;
    switch (d->type) {
    case DOM_SETTING_INT:
        if (!parse_ll(text, &x) || x < d->min || x > d->max)
            parse_ll(d->def, &x); /* a hand-edited bad row reads as the default */
        jsonw_int(w, x);
        return;
    case DOM_SETTING_OUTPUTS: {
        jsonw_arr_begin(w);
        const char *p = text;
        while (*p) {
            size_t k = strcspn(p, ",");
            if (k)
                jsonw_strn(w, p, k);
            p += k + (p[k] == ',');
        }
        jsonw_arr_end(w);
        return;
    }
    default:
        jsonw_str(w, text);
    }
}

int dom_settings_get_all(struct db *db, struct jsonw *w, struct dom_error *e)
{
    jsonw_obj_begin(w);
    for (size_t i = 0; i < dom_setting_count; i++) {
        char text[SETTING_TEXT_MAX + 1];
        int rc = current(db, &dom_setting_defs[i], text, sizeof(text));
        if (rc)
            return dom_err_internal(e, rc, "reading the settings");
        jsonw_key(w, dom_setting_defs[i].key);
        write_value(w, &dom_setting_defs[i], text);
    }
    jsonw_obj_end(w);
    return 0;
}

/* Parses and checks a patch body: the document (an object) in *out, or an
 * error. Every member is checked, each bad one named. */
static int check_patch(const char *body, size_t len, json_t **out, struct dom_error *e)
{
    *out = NULL;
    if (len > 64 * 1024)
        return dom_err_set(e, 400, DOM_E_MALFORMED, "body larger than 65536 bytes");
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return dom_err_set(e, 400, DOM_E_MALFORMED, "not JSON: %s (line %d, column %d)", jerr.text,
                           jerr.line, jerr.column);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return dom_err_set(e, 400, DOM_E_MALFORMED, "the body must be a JSON object");
    }
    const char *key;
    json_t *v;
    char text[SETTING_TEXT_MAX + 1];
    json_object_foreach(doc, key, v)
    {
        const struct dom_setting_def *d = find_def(key);
        if (!d) {
            char f[48];
            snprintf(f, sizeof(f), "%.40s", *key ? key : "(empty name)");
            dom_err_field(e, f, "unknown", "unknown setting");
        } else if (!json_is_null(v)) {
            check_value(d, v, text, sizeof(text), e);
        }
    }
    if (e->status) {
        json_decref(doc);
        return -EINVAL;
    }
    *out = doc;
    return 0;
}

int dom_settings_validate(const char *body, size_t len, struct dom_error *e)
{
    json_t *doc;
    int rc = check_patch(body, len, &doc, e);
    json_decref(doc);
    return rc;
}

int dom_settings_patch(struct db *db, const char *body, size_t len, struct dom_error *e)
{
    json_t *doc;
    int rc = check_patch(body, len, &doc, e);
    if (rc)
        return rc;
    rc = db_begin(db);
    if (rc) {
        rc = dom_err_internal(e, rc, "starting a transaction");
        goto out;
    }
    const char *key;
    json_t *v;
    char text[SETTING_TEXT_MAX + 1];
    json_object_foreach(doc, key, v)
    {
        const struct dom_setting_def *d = find_def(key);
        if (json_is_null(v))
            rc = db_setting_delete(db, d->key);
        else if ((rc = check_value(d, v, text, sizeof(text), e)) == 0)
            rc = db_setting_set(db, d->key, text);
        if (rc)
            break;
    }
    /* Turning signed URLs on without a key creates the first one. */
    if (rc == 0 && dom_setting_int(db, "signed_urls") == 1) {
        char *keys = NULL;
        rc = db_setting_get(db, URLSIGN_SETTING_KEYS, &keys);
        if (rc == -ENOENT)
            rc = signing_rotate(db, (int64_t)time(NULL), NULL);
        free(keys);
    }
    if (rc == 0)
        rc = db_commit(db);
    if (rc) {
        db_rollback(db);
        rc = dom_err_internal(e, rc, "saving the settings");
    }
out:
    json_decref(doc);
    return rc;
}

static int signing_rotate(struct db *db, int64_t now, uint32_t *new_id)
{
    char *text = NULL;
    struct urlsign_keys ks;
    int rc = db_setting_get(db, URLSIGN_SETTING_KEYS, &text);
    if (rc && rc != -ENOENT)
        return rc;
    /* An unreadable stored value is replaced: the old URLs stop working. */
    if (urlsign_keys_parse(text, now, &ks))
        memset(&ks, 0, sizeof(ks));
    free(text);
    if (sodium_init() < 0)
        return -EIO;
    urlsign_rotate(&ks, now, dom_setting_int(db, "signed_url_grace"));
    char out[URLSIGN_KEYS_TEXT_MAX];
    rc = urlsign_keys_format(&ks, out, sizeof(out));
    if (rc == 0)
        rc = db_setting_set(db, URLSIGN_SETTING_KEYS, out);
    if (new_id)
        *new_id = ks.k[0].id;
    sodium_memzero(&ks, sizeof(ks));
    sodium_memzero(out, sizeof(out));
    return rc;
}

int dom_signing_rotate(struct db *db, uint32_t *new_id, struct dom_error *e)
{
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    rc = signing_rotate(db, (int64_t)time(NULL), new_id);
    if (rc == 0)
        rc = db_commit(db);
    if (rc) {
        db_rollback(db);
        return dom_err_internal(e, rc, "rotating the URL signing key");
    }
    return 0;
}

long long dom_setting_int(struct db *db, const char *key)
{
    const struct dom_setting_def *d = find_def(key);
    char text[SETTING_TEXT_MAX + 1];
    long long x = 0;
    if (!d || d->type != DOM_SETTING_INT)
        return 0;
    if (current(db, d, text, sizeof(text)) || !parse_ll(text, &x) || x < d->min || x > d->max)
        parse_ll(d->def, &x);
    return x;
}

void dom_setting_text(struct db *db, const char *key, char *out, size_t n)
{
    const struct dom_setting_def *d = find_def(key);
    out[0] = '\0';
    if (d && current(db, d, out, n))
        snprintf(out, n, "%s", d->def);
}
