/*
 * profiles.c: /api/v1/profiles — transcode profiles (how a live channel is
 * re-encoded; a stream names one with "transcode_profile_id"). The rules are
 * domain/profiles.h's (media/profile.h's underneath); this file decodes,
 * calls and serialises in the pattern of plans.c: changes read the current
 * representation, check If-Match, change, audit and commit in one
 * transaction. Changing a profile restarts the running channels that use it
 * (the catalogue rebuild carries the new profile to the engine).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/call.h"
#include "admin/resource.h"
#include "domain/profiles.h"
#include "domain/tx.h"

static char *profile_json_text(const struct tx_profile *p, char etag[40])
{
    struct buf b;
    buf_init(&b, 1 << 16);
    struct jsonw w;
    jsonw_init(&w, &b);
    dom_profile_write_json(&w, p);
    if (b.err) {
        buf_free(&b);
        return NULL;
    }
    admin_etag_of(&b, etag);
    return buf_steal(&b, NULL);
}

static int load(struct admin_call *c, struct tx_profile *p)
{
    int64_t id;
    if (admin_param_id(c, 0, "profile", &id))
        return -ENOENT;
    return dom_profile_get(c->db, id, p, &c->err);
}

static int profiles_list(struct admin_call *c)
{
    struct tx_profile *v = NULL;
    size_t n = 0;
    int rc = dom_profile_list(c->db, &v, &n, &c->err);
    if (rc < 0)
        return rc;
    /* a handful of rows: one page, by name */
    struct admin_list_query q = {.page = 1, .page_size = (int64_t)(n ? n : 1)};
    admin_list_begin(c);
    for (size_t i = 0; i < n; i++)
        dom_profile_write_json(&c->w, &v[i]);
    admin_list_end(c, &q, (int64_t)n);
    free(v);
    return 0;
}

static int profiles_get(struct admin_call *c)
{
    struct tx_profile p;
    int rc = load(c, &p);
    if (rc == 0) {
        dom_profile_write_json(&c->w, &p);
        admin_set_etag(c);
    }
    return rc;
}

static int answer(struct admin_call *c, int64_t id, const char *action, const char *before)
{
    struct tx_profile p;
    int rc = dom_profile_get(c->db, id, &p, &c->err);
    if (rc < 0)
        return rc;
    char etag[40];
    char *after = profile_json_text(&p, etag);
    if (!after)
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising a profile");
    else
        rc = admin_answer_change(c, action, "profile", id, before, after);
    free(after);
    return rc;
}

static int profiles_create(struct admin_call *c)
{
    struct tx_profile p;
    tx_profile_init(&p);
    int rc = dom_profile_apply_json(c->body, c->body_len, &p, &c->err);
    if (rc < 0 || (rc = dom_begin(c->db, &c->err)) < 0)
        return rc;
    if ((rc = dom_profile_create(c->db, &p, &c->err)) < 0 ||
        (rc = answer(c, p.id, "create", NULL)) < 0 || (rc = dom_commit(c->db, &c->err)) < 0) {
        dom_rollback(c->db);
        buf_reset(&c->out);
        c->etag[0] = '\0';
        return rc;
    }
    snprintf(c->location, sizeof(c->location), "/api/v1/profiles/%lld", (long long)p.id);
    return 0;
}

/* PATCH (patch true) or DELETE of profile {id}, If-Match honoured. */
static int change(struct admin_call *c, bool patch)
{
    struct tx_profile cur;
    char *before = NULL;
    char etag[40];
    int rc = dom_begin(c->db, &c->err);
    if (rc < 0)
        return rc;
    if ((rc = load(c, &cur)) < 0)
        goto rollback;
    if (!(before = profile_json_text(&cur, etag))) {
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising a profile");
        goto rollback;
    }
    if (!admin_if_match(c, etag)) {
        rc = -EAGAIN;
        goto rollback;
    }
    if (patch) {
        if ((rc = dom_profile_apply_json(c->body, c->body_len, &cur, &c->err)) < 0 ||
            (rc = dom_profile_update(c->db, &cur, &c->err)) < 0)
            goto rollback;
        rc = answer(c, cur.id, "update", before);
    } else {
        if ((rc = dom_profile_delete(c->db, cur.id, &c->err)) < 0)
            goto rollback;
        if ((rc = admin_audit(c, "delete", "profile", cur.id, before, NULL)) == 0)
            admin_notify_change(c, "profile", cur.id, "delete");
    }
    if (rc < 0 || (rc = dom_commit(c->db, &c->err)) < 0)
        goto rollback;
    free(before);
    return 0;
rollback:
    dom_rollback(c->db);
    buf_reset(&c->out);
    c->etag[0] = '\0';
    free(before);
    return rc;
}

static int profiles_patch(struct admin_call *c)
{
    return change(c, true);
}

static int profiles_delete(struct admin_call *c)
{
    return change(c, false);
}

static const struct admin_route_ext ext_list = {.work = profiles_list, .list = true};
static const struct admin_route_ext ext_get = {.work = profiles_get};
static const struct admin_route_ext ext_create = {.work = profiles_create};
static const struct admin_route_ext ext_patch = {.work = profiles_patch};
static const struct admin_route_ext ext_delete = {.work = profiles_delete};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/profiles", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "List transcode profiles (by name)", "profiles", NULL, "ProfileList", 200, &ext_list},
    {ROUTE_POST, "/api/v1/profiles", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "content:write",
     "Create a transcode profile", "profiles", "ProfileCreate", "Profile", 201, &ext_create},
    {ROUTE_GET, "/api/v1/profiles/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Read a transcode profile", "profiles", NULL, "Profile", 200, &ext_get},
    {ROUTE_PATCH, "/api/v1/profiles/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "content:write",
     "Change a transcode profile (JSON Merge Patch; If-Match honoured). Running channels "
     "that use it restart with it",
     "profiles", "ProfilePatch", "Profile", 200, &ext_patch},
    {ROUTE_DELETE, "/api/v1/profiles/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "content:write",
     "Delete a transcode profile (its streams go back to copy)", "profiles", NULL, NULL, 204,
     &ext_delete},
};

#define PROFILE_PROPS                                                                              \
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":63,"                              \
    "\"pattern\":\"^[A-Za-z0-9._-]+$\"},"                                                          \
    "\"video_codec\":{\"enum\":[\"copy\",\"libx264\",\"libx265\"]},"                               \
    "\"hw_backend\":{\"enum\":[\"none\",\"vaapi\",\"nvenc\",\"qsv\"]},"                            \
    "\"rate_control\":{\"enum\":[\"cbr\",\"vbr\"]},"                                               \
    "\"bitrate_kbps\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000},"                    \
    "\"maxrate_kbps\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":200000},"                    \
    "\"bufsize_kbps\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":200000},"                    \
    "\"gop_seconds\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":20},"                         \
    "\"width\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":7680},"                             \
    "\"height\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":7680},"                            \
    "\"fps\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":120},"                                \
    "\"deinterlace\":{\"type\":\"boolean\"},"                                                      \
    "\"audio_codec\":{\"enum\":[\"copy\",\"aac\",\"ac3\",\"mp2\"]},"                               \
    "\"audio_bitrate_kbps\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":640},"                 \
    "\"audio_channels\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":8},"                       \
    "\"logo\":{\"type\":\"string\",\"maxLength\":255},"                                            \
    "\"logo_position\":{\"enum\":[\"tl\",\"tr\",\"bl\",\"br\"]},"                                  \
    "\"extra_args\":{\"type\":\"string\",\"maxLength\":511,\"description\":\"allow-listed "        \
    "options: -preset -tune -profile:v -pix_fmt -level -crf -bf -refs -rc-lookahead -threads "     \
    "-x264-params -x265-params\"},"                                                                \
    "\"renditions\":{\"type\":\"array\",\"maxItems\":4,\"description\":\"an adaptive-bitrate "     \
    "ladder made by one ffmpeg, top (highest bitrate) first; [] = a single output. A ladder's "    \
    "width, height, bitrate_kbps and maxrate_kbps are its top rendition's\","                      \
    "\"items\":{\"type\":\"object\",\"additionalProperties\":false,"                               \
    "\"required\":[\"width\",\"height\",\"bitrate_kbps\"],\"properties\":{"                        \
    "\"width\":{\"type\":\"integer\",\"minimum\":16,\"maximum\":7680},"                            \
    "\"height\":{\"type\":\"integer\",\"minimum\":16,\"maximum\":7680},"                           \
    "\"bitrate_kbps\":{\"type\":\"integer\",\"minimum\":50,\"maximum\":100000},"                   \
    "\"maxrate_kbps\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":200000}}}}"

static const struct admin_schema schemas[] = {
    {"Profile", "{\"type\":\"object\",\"additionalProperties\":false,"
                "\"required\":[\"id\",\"name\",\"video_codec\",\"hw_backend\",\"rate_control\","
                "\"bitrate_kbps\",\"maxrate_kbps\",\"bufsize_kbps\",\"gop_seconds\",\"width\","
                "\"height\",\"fps\",\"deinterlace\",\"audio_codec\",\"audio_bitrate_kbps\","
                "\"audio_channels\",\"logo\",\"logo_position\",\"extra_args\",\"renditions\","
                "\"created_at\","
                "\"updated_at\"],"
                "\"properties\":{\"id\":{\"type\":\"integer\"}," PROFILE_PROPS
                ",\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
                "\"updated_at\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"}}}"},
    {"ProfileCreate", "{\"type\":\"object\",\"required\":[\"name\"],"
                      "\"examples\":[{\"name\":\"sd\",\"width\":640,\"height\":360,"
                      "\"rate_control\":\"cbr\",\"bitrate_kbps\":900,\"gop_seconds\":2},"
                      "{\"name\":\"abr\",\"fps\":25,\"gop_seconds\":2,\"renditions\":["
                      "{\"width\":1920,\"height\":1080,\"bitrate_kbps\":5500,"
                      "\"maxrate_kbps\":6000},{\"width\":1280,\"height\":720,"
                      "\"bitrate_kbps\":2800},{\"width\":960,\"height\":540,"
                      "\"bitrate_kbps\":1400}]}],"
                      "\"properties\":{" PROFILE_PROPS "}}"},
    {"ProfilePatch", "{\"type\":\"object\",\"description\":\"JSON Merge Patch of a Profile\","
                     "\"examples\":[{\"bitrate_kbps\":1200}],"
                     "\"properties\":{" PROFILE_PROPS "}}"},
    {"ProfileList",
     "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"
     "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/"
     "Profile\"}},\"total\":{\"type\":\"integer\"},\"page\":{\"type\":\"integer\"},"
     "\"page_size\":{\"type\":\"integer\"}}}"},
};

const struct admin_resource admin_res_profiles = {"profiles", routes,
                                                  sizeof(routes) / sizeof(routes[0]), schemas,
                                                  sizeof(schemas) / sizeof(schemas[0])};
