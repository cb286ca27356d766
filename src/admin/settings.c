/*
 * settings.c: /api/v1/settings — the server's settings as one object
 * (domain/settings.h: the registry of keys, their types, defaults and
 * checks). GET reads every key (stored or default); PATCH is a JSON Merge
 * Patch (null = back to the default; an unknown key or a bad value is a 422
 * naming the key; all or nothing), If-Match honoured, audited with the
 * whole object before and after.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "admin/call.h"
#include "admin/resource.h"
#include "domain/settings.h"
#include "domain/tx.h"

/* The settings object into a fresh buffer with its ETag. */
static char *settings_text(struct admin_call *c, char etag[40])
{
    struct buf b;
    buf_init(&b, 1 << 16);
    struct jsonw w;
    jsonw_init(&w, &b);
    if (dom_settings_get_all(c->db, &w, &c->err) < 0 || b.err) {
        if (!c->err.status)
            dom_err_internal(&c->err, -ENOMEM, "serialising the settings");
        buf_free(&b);
        return NULL;
    }
    admin_etag_of(&b, etag);
    return buf_steal(&b, NULL);
}

static int settings_get(struct admin_call *c)
{
    int rc = dom_settings_get_all(c->db, &c->w, &c->err);
    if (rc == 0)
        admin_set_etag(c);
    return rc;
}

static int settings_patch(struct admin_call *c)
{
    char etag[40], *before = NULL, *after = NULL;
    int rc = dom_begin(c->db, &c->err);
    if (rc < 0)
        return rc;
    if (!(before = settings_text(c, etag))) {
        rc = -EIO;
        goto rollback;
    }
    if (!admin_if_match(c, etag)) {
        rc = -EAGAIN;
        goto rollback;
    }
    if ((rc = dom_settings_patch(c->db, c->body, c->body_len, &c->err)) < 0)
        goto rollback;
    if (!(after = settings_text(c, etag))) {
        rc = -EIO;
        goto rollback;
    }
    if ((rc = admin_audit(c, "update", "settings", 0, before, after)) < 0 ||
        (rc = dom_commit(c->db, &c->err)) < 0)
        goto rollback;
    buf_puts(&c->out, after);
    memcpy(c->etag, etag, sizeof(etag));
    admin_notify_change(c, "settings", 0, "update");
    goto out;
rollback:
    dom_rollback(c->db);
out:
    free(before);
    free(after);
    return rc;
}

/* POST /api/v1/settings/signing-key/rotate: a new URL signing key (the key
 * material never leaves the database; the answer gives the ids). */
static int signing_rotate(struct admin_call *c)
{
    uint32_t id;
    int rc = dom_begin(c->db, &c->err);
    if (rc < 0)
        return rc;
    char after[48];
    if ((rc = dom_signing_rotate(c->db, &id, &c->err)) < 0)
        goto rollback;
    snprintf(after, sizeof(after), "{\"key_id\":%u}", id);
    if ((rc = admin_audit(c, "rotate", "signing-key", id, NULL, after)) < 0 ||
        (rc = dom_commit(c->db, &c->err)) < 0)
        goto rollback;
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "key_id");
    jsonw_int(&c->w, id);
    jsonw_key(&c->w, "previous_key_grace");
    jsonw_int(&c->w, dom_setting_int(c->db, "signed_url_grace"));
    jsonw_obj_end(&c->w);
    admin_notify_change(c, "settings", 0, "rotate");
    return 0;
rollback:
    dom_rollback(c->db);
    return rc;
}

static const struct admin_route_ext ext_get = {.work = settings_get};
static const struct admin_route_ext ext_rotate = {.work = signing_rotate};
/* A new xui_api_path applies at once (admin/xui.c re-reads it). */
static void settings_patch_post(struct admin_call *c)
{
    admin_xui_reload(c->admin);
}

static const struct admin_route_ext ext_patch = {.work = settings_patch,
                                                 .post = settings_patch_post};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/settings", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Read the settings (every key, stored or default)", "settings", NULL, "Settings", 200,
     &ext_get},
    {ROUTE_PATCH, "/api/v1/settings", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Change settings (JSON Merge Patch: null restores the default; unknown keys and bad "
     "values are 422 naming the key; If-Match honoured)",
     "settings", "SettingsPatch", "Settings", 200, &ext_patch},
    {ROUTE_POST, "/api/v1/settings/signing-key/rotate", admin_route_fn, NULL, ROUTE_AUTH_ADMIN,
     "admin",
     "Rotate the URL signing key (signed stream URLs): a new key signs from now on; URLs "
     "signed with the previous one stay valid for signed_url_grace seconds",
     "settings", NULL, "SigningRotation", 200, &ext_rotate},
};

/* Keep in step with dom_setting_defs (domain/settings.c): the unit test
 * test_settings and the integration test check both. */
#define SETTINGS_PROPS                                                                             \
    "\"server_name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":100,"                      \
    "\"description\":\"the service's name, for the panel (default xtreamd)\"},"                    \
    "\"public_url\":{\"type\":\"string\",\"maxLength\":512,\"description\":\"\\\"\\\" or an "      \
    "http(s) URL without query or fragment: the base URL clients use\"},"                          \
    "\"timezone\":{\"type\":\"string\",\"maxLength\":64,\"description\":\"an IANA time zone "      \
    "(default UTC)\"},"                                                                            \
    "\"default_max_connections\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000,"          \
    "\"description\":\"a new line's max_connections when neither the request nor a plan "          \
    "gives one (default 1)\"},"                                                                    \
    "\"default_outputs\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"enum\":[\"ts\","          \
    "\"m3u8\",\"mpegts\",\"hls\"]},\"description\":\"a new line's allowed_outputs, likewise\"},"   \
    "\"trial_hours\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":8760,\"description\":"        \
    "\"a new trial line without expiry or plan expires this many hours after creation; 0: "        \
    "never (default)\"},"                                                                          \
    "\"epg_refresh_hours\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":168,"                   \
    "\"description\":\"the default refresh period of a new EPG source (default 24)\"},"            \
    "\"signed_urls\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":1,\"description\":"           \
    "\"1: playlists hand out signed, expiring stream URLs instead of username/password "           \
    "ones (default 0)\"},"                                                                         \
    "\"signed_url_ttl\":{\"type\":\"integer\",\"minimum\":60,\"maximum\":2592000,"                 \
    "\"description\":\"seconds a signed URL stays valid (default 86400)\"},"                       \
    "\"signed_url_bind_ip\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":1,"                    \
    "\"description\":\"1: a signed URL works only from the client's /24 or /64 (default "          \
    "0)\"},"                                                                                       \
    "\"signed_url_grace\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":2592000,"                \
    "\"description\":\"seconds the previous signing key stays valid after a rotation "             \
    "(default 3600)\"},"                                                                           \
    "\"xui_api_path\":{\"type\":\"string\",\"maxLength\":128,\"description\":\"\\\"\\\" (off, "    \
    "the default) or the secret path of the XUI-compatible API: /, then at least 15 more "         \
    "path-safe characters no client path uses\"}"

static const struct admin_schema schemas[] = {
    {"Settings",
     "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"server_name\","
     "\"public_url\",\"timezone\",\"default_max_connections\",\"default_outputs\","
     "\"trial_hours\",\"epg_refresh_hours\",\"signed_urls\",\"signed_url_ttl\","
     "\"signed_url_bind_ip\",\"signed_url_grace\",\"xui_api_path\"],\"properties\":{" SETTINGS_PROPS
     "}}"},
    {"SettingsPatch",
     "{\"type\":\"object\",\"description\":\"JSON Merge Patch of the Settings (null: the "
     "default)\",\"examples\":[{\"server_name\":\"Example TV\",\"trial_hours\":24}],"
     "\"additionalProperties\":false,\"properties\":{" SETTINGS_PROPS "}}"},
    {"SigningRotation",
     "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"key_id\","
     "\"previous_key_grace\"],\"properties\":{\"key_id\":{\"type\":\"integer\","
     "\"description\":\"the id of the new current key (tokens carry it)\"},"
     "\"previous_key_grace\":{\"type\":\"integer\",\"description\":\"seconds the previous "
     "key stays valid\"}}}"},
};

const struct admin_resource admin_res_settings = {"settings", routes,
                                                  sizeof(routes) / sizeof(routes[0]), schemas,
                                                  sizeof(schemas) / sizeof(schemas[0])};
