#include "domain/profiles.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/profiles.h"
#include "domain/time.h"

enum kind { K_TEXT, K_INT, K_BOOL };

static const struct member {
    const char *name;
    enum kind kind;
    size_t off, size; /* K_TEXT: a char array of size; K_INT: int; K_BOOL: bool */
} members[] = {
#define TEXT(n, f)                                                                                 \
    {                                                                                              \
        n, K_TEXT, offsetof(struct tx_profile, f), sizeof(((struct tx_profile *)0)->f)             \
    }
#define INT(n, f)                                                                                  \
    {                                                                                              \
        n, K_INT, offsetof(struct tx_profile, f), 0                                                \
    }
    TEXT("name", name),
    TEXT("video_codec", video_codec),
    {"hw_backend", K_TEXT, 0, 0},
    {"rate_control", K_TEXT, 0, 0},
    INT("bitrate_kbps", bitrate_kbps),
    INT("maxrate_kbps", maxrate_kbps),
    INT("bufsize_kbps", bufsize_kbps),
    INT("gop_seconds", gop_seconds),
    INT("width", width),
    INT("height", height),
    INT("fps", fps),
    {"deinterlace", K_BOOL, offsetof(struct tx_profile, deinterlace), 0},
    TEXT("audio_codec", audio_codec),
    INT("audio_bitrate_kbps", audio_bitrate_kbps),
    INT("audio_channels", audio_channels),
    TEXT("logo", logo),
    {"logo_position", K_TEXT, 0, 0},
    TEXT("extra_args", extra_args),
#undef TEXT
#undef INT
};
#define NMEMBERS (sizeof(members) / sizeof(members[0]))

static int apply_member(const struct member *m, json_t *v, struct tx_profile *p,
                        struct dom_error *e)
{
    if (m->kind == K_BOOL) {
        if (!json_is_boolean(v))
            return dom_err_field(e, m->name, "type", "must be true or false");
        *(bool *)((char *)p + m->off) = json_is_true(v);
        return 0;
    }
    if (m->kind == K_INT) {
        if (!json_is_integer(v))
            return dom_err_field(e, m->name, "type", "must be an integer");
        json_int_t x = json_integer_value(v);
        if (x < 0 || x > 1000000)
            return dom_err_field(e, m->name, "range", "out of range");
        *(int *)((char *)p + m->off) = (int)x;
        return 0;
    }
    if (!json_is_string(v))
        return dom_err_field(e, m->name, "type", "must be a string");
    const char *s = json_string_value(v);
    if (strcmp(m->name, "hw_backend") == 0)
        return tx_hw_parse(s, &p->hw)
                   ? dom_err_field(e, m->name, "format", "one of none, vaapi, nvenc, qsv")
                   : 0;
    if (strcmp(m->name, "rate_control") == 0)
        return tx_rc_parse(s, &p->rc) ? dom_err_field(e, m->name, "format", "one of cbr, vbr") : 0;
    if (strcmp(m->name, "logo_position") == 0)
        return tx_pos_parse(s, &p->logo_position)
                   ? dom_err_field(e, m->name, "format", "one of tl, tr, bl, br")
                   : 0;
    if (strlen(s) >= m->size)
        return dom_err_field(e, m->name, "too_long", "longer than %zu bytes", m->size - 1);
    snprintf((char *)p + m->off, m->size, "%s", s);
    return 0;
}

/* "renditions": [{"width", "height", "bitrate_kbps", "maxrate_kbps"?}, ...]
 * top first, or [] (no ladder). Fields are named "renditions[i].<member>". */
static int apply_renditions(json_t *v, struct tx_profile *p, struct dom_error *e)
{
    if (!json_is_array(v))
        return dom_err_field(e, "renditions", "type", "must be an array");
    if (json_array_size(v) > LADDER_MAX)
        return dom_err_field(e, "renditions", "range", "at most %d renditions", LADDER_MAX);
    struct tx_rung r[LADDER_MAX];
    memset(r, 0, sizeof(r));
    size_t i;
    json_t *o;
    json_array_foreach(v, i, o)
    {
        char field[48];
        if (!json_is_object(o)) {
            snprintf(field, sizeof(field), "renditions[%d]", (int)i);
            return dom_err_field(e, field, "type", "must be an object");
        }
        const char *k;
        json_t *x;
        json_object_foreach(o, k, x)
        {
            int *dst = strcmp(k, "width") == 0          ? &r[i].width
                       : strcmp(k, "height") == 0       ? &r[i].height
                       : strcmp(k, "bitrate_kbps") == 0 ? &r[i].bitrate_kbps
                       : strcmp(k, "maxrate_kbps") == 0 ? &r[i].maxrate_kbps
                                                        : NULL;
            snprintf(field, sizeof(field), "renditions[%d].%.16s", (int)i, k);
            if (!dst)
                return dom_err_field(e, field, "unknown", "unknown member");
            if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 1000000)
                return dom_err_field(e, field, "type", "must be an integer 0-1000000");
            *dst = (int)json_integer_value(x);
        }
    }
    p->nrenditions = (int)json_array_size(v);
    memset(p->renditions, 0, sizeof(p->renditions));
    memcpy(p->renditions, r, sizeof(r));
    tx_ladder_sync_top(p);
    return 0;
}

int dom_profile_apply_json(const char *body, size_t len, struct tx_profile *p, struct dom_error *e)
{
    json_error_t jerr;
    json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return dom_err_set(e, 400, DOM_E_MALFORMED, "the body is not a JSON object");
    }
    const char *key;
    json_t *v;
    bool has_bitrate = json_object_get(root, "bitrate_kbps") != NULL;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "renditions") == 0) {
            apply_renditions(v, p, e);
            continue;
        }
        const struct member *m = NULL;
        for (size_t i = 0; i < NMEMBERS; i++)
            if (strcmp(members[i].name, key) == 0)
                m = &members[i];
        if (!m)
            dom_err_field(e, key, "unknown", "unknown member");
        else
            apply_member(m, v, p, e);
    }
    json_decref(root);
    if (e->status)
        return -EINVAL;
    /* a ladder's own size and rates are its top rendition's, whatever else
     * the body said */
    tx_ladder_sync_top(p);
    /* copy video without a bitrate given: none is needed */
    if (strcmp(p->video_codec, "copy") == 0 && !has_bitrate)
        p->bitrate_kbps = 0;
    struct tx_error te;
    if (tx_profile_validate(p, &te))
        return dom_err_field(e, te.field, "invalid", "%s", te.msg);
    return 0;
}

/* A db/ result as the domain error it is. */
static int db_fail(int rc, struct dom_error *e, const struct tx_profile *p, const char *what)
{
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no such profile");
    if (rc == -EEXIST)
        return dom_err_set(e, 409, DOM_E_EXISTS, "a profile named '%s' exists", p ? p->name : "");
    if (rc == -EINVAL)
        return dom_err_set(e, 422, DOM_E_VALIDATION, "the database refused the profile");
    return dom_err_internal(e, rc, what);
}

int dom_profile_create(struct db *db, struct tx_profile *p, struct dom_error *e)
{
    struct tx_error te;
    if (tx_profile_validate(p, &te))
        return dom_err_field(e, te.field, "invalid", "%s", te.msg);
    int rc = db_profile_insert(db, p);
    return rc ? db_fail(rc, e, p, "creating a profile") : 0;
}

int dom_profile_update(struct db *db, struct tx_profile *p, struct dom_error *e)
{
    struct tx_error te;
    if (tx_profile_validate(p, &te))
        return dom_err_field(e, te.field, "invalid", "%s", te.msg);
    int rc = db_profile_update(db, p);
    return rc ? db_fail(rc, e, p, "changing a profile") : 0;
}

int dom_profile_get(struct db *db, int64_t id, struct tx_profile *p, struct dom_error *e)
{
    int rc = db_profile_get_id(db, id, p);
    return rc ? db_fail(rc, e, NULL, "reading a profile") : 0;
}

int dom_profile_delete(struct db *db, int64_t id, struct dom_error *e)
{
    int rc = db_profile_delete_id(db, id);
    return rc ? db_fail(rc, e, NULL, "deleting a profile") : 0;
}

int dom_profile_list(struct db *db, struct tx_profile **out, size_t *n, struct dom_error *e)
{
    int rc = db_profile_list(db, out, n);
    return rc ? db_fail(rc, e, NULL, "listing profiles") : 0;
}

void dom_profile_write_json(struct jsonw *w, const struct tx_profile *p)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, p->id);
    for (size_t i = 0; i < NMEMBERS; i++) {
        const struct member *m = &members[i];
        jsonw_key(w, m->name);
        if (strcmp(m->name, "hw_backend") == 0)
            jsonw_str(w, tx_hw_name(p->hw));
        else if (strcmp(m->name, "rate_control") == 0)
            jsonw_str(w, tx_rc_name(p->rc));
        else if (strcmp(m->name, "logo_position") == 0)
            jsonw_str(w, tx_pos_name(p->logo_position));
        else if (m->kind == K_TEXT)
            jsonw_str(w, (const char *)p + m->off);
        else if (m->kind == K_INT)
            jsonw_int(w, *(const int *)((const char *)p + m->off));
        else
            jsonw_bool(w, *(const bool *)((const char *)p + m->off));
    }
    jsonw_key(w, "renditions");
    jsonw_arr_begin(w);
    for (int i = 0; i < p->nrenditions && i < LADDER_MAX; i++) {
        const struct tx_rung *r = &p->renditions[i];
        jsonw_obj_begin(w);
        jsonw_key(w, "width");
        jsonw_int(w, r->width);
        jsonw_key(w, "height");
        jsonw_int(w, r->height);
        jsonw_key(w, "bitrate_kbps");
        jsonw_int(w, r->bitrate_kbps);
        jsonw_key(w, "maxrate_kbps");
        jsonw_int(w, r->maxrate_kbps);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    dom_write_time(w, "created_at", p->created_at, false);
    dom_write_time(w, "updated_at", p->updated_at, true);
    jsonw_obj_end(w);
}
