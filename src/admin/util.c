/*
 * util.c: the request and answer helpers of admin/call.h, shared by every
 * resource file: parameters, paging, JSON members, ETag/If-Match, times, the
 * problem+json body, the audit row and the change records.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_priv.h"
#include "core/hash.h"
#include "domain/admin_auth.h"
#include "domain/time.h"

int admin_add_header(struct admin_call *c, const char *name, const char *value)
{
    if (c->nheaders >= ADMIN_MAX_HEADERS)
        return -E2BIG;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -ENOMEM;
    }
    c->header_names[c->nheaders] = n;
    c->header_values[c->nheaders] = v;
    c->nheaders++;
    return 0;
}

const char *admin_query(const struct admin_call *c, const char *key)
{
    return http_param_get(&c->query, key);
}

static bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s || strlen(s) > 18)
        return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

int64_t admin_query_id(struct admin_call *c, const char *key)
{
    const char *v = admin_query(c, key);
    int64_t id = 0;
    if (v && !parse_i64(v, 1, INT64_MAX / 2, &id)) {
        dom_err_field(&c->err, key, "format", "%s must be a positive integer", key);
        return 0;
    }
    return id;
}

int admin_parse_time(struct admin_call *c, const char *field, const char *text, bool unix,
                     int64_t *out)
{
    if (unix && parse_i64(text, 0, INT64_MAX / 2, out))
        return 0;
    /* RFC 3339 (offsets applied) or YYYY-MM-DD, range-checked: domain/time.c */
    return dom_parse_time(field, text, out, &c->err);
}

int admin_param_id(struct admin_call *c, size_t i, const char *what, int64_t *id)
{
    if (i >= c->nparams || !parse_i64(c->params[i], 1, INT64_MAX / 2, id))
        return dom_err_set(&c->err, 404, DOM_E_NOT_FOUND, "no such %s", what);
    return 0;
}

static bool sort_allowed(const char *const *allowed, const char *name, size_t len)
{
    for (size_t i = 0; allowed && allowed[i]; i++)
        if (strlen(allowed[i]) == len && strncmp(allowed[i], name, len) == 0)
            return true;
    return false;
}

static const char *allowed_list(const char *const *allowed, char *out, size_t outsz)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; allowed && allowed[i] && n < outsz; i++)
        n += (size_t)snprintf(out + n, outsz - n, "%s%s", i ? ", " : "", allowed[i]);
    return out;
}

static void parse_sort(struct admin_call *c, const char *const *allowed, struct admin_list_query *q)
{
    const char *s = admin_query(c, "sort");
    if (!s || !*s)
        return;
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, ",");
        bool desc = false;
        const char *name = p;
        size_t nlen = len;
        if (nlen && (*name == '-' || *name == '+')) {
            desc = *name == '-';
            name++;
            nlen--;
        }
        if (q->db.nsort >= DB_SORT_MAX) {
            dom_err_field(&c->err, "sort", "too_many", "at most %d sort keys", DB_SORT_MAX);
            return;
        }
        if (!sort_allowed(allowed, name, nlen)) {
            char list[256];
            dom_err_field(&c->err, "sort", "unknown", "cannot sort by \"%.*s\"; allowed: %s",
                          (int)(nlen > 40 ? 40 : nlen), name,
                          allowed_list(allowed, list, sizeof(list)));
            return;
        }
        for (size_t i = 0; allowed[i]; i++)
            if (strlen(allowed[i]) == nlen && strncmp(allowed[i], name, nlen) == 0)
                q->db.sort[q->db.nsort] = allowed[i];
        q->db.desc[q->db.nsort++] = desc;
        p += len;
        if (*p == ',')
            p++;
    }
}

int admin_list_query(struct admin_call *c, const char *const *allowed, struct admin_list_query *q)
{
    memset(q, 0, sizeof(*q));
    q->page = 1;
    q->page_size = 50;
    const char *v = admin_query(c, "page");
    if (v && !parse_i64(v, 1, 100000000, &q->page))
        dom_err_field(&c->err, "page", "range", "page must be an integer from 1");
    v = admin_query(c, "page_size");
    if (v && !parse_i64(v, 1, DB_PAGE_LIMIT, &q->page_size))
        dom_err_field(&c->err, "page_size", "range", "page_size must be an integer from 1 to %d",
                      DB_PAGE_LIMIT);
    v = admin_query(c, "q");
    if (v && strlen(v) > 200)
        dom_err_field(&c->err, "q", "too_long", "the search text is longer than 200 bytes");
    else if (v && *v)
        q->db.q = v;
    parse_sort(c, allowed, q);
    q->db.offset = (q->page - 1) * q->page_size;
    q->db.limit = q->page_size;
    return c->err.status ? -EINVAL : 0;
}

void admin_list_begin(struct admin_call *c)
{
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "items");
    jsonw_arr_begin(&c->w);
}

void admin_list_end(struct admin_call *c, const struct admin_list_query *q, int64_t total)
{
    jsonw_arr_end(&c->w);
    jsonw_key(&c->w, "total");
    jsonw_int(&c->w, total);
    jsonw_key(&c->w, "page");
    jsonw_int(&c->w, q->page);
    jsonw_key(&c->w, "page_size");
    jsonw_int(&c->w, q->page_size);
    jsonw_obj_end(&c->w);
}

/* ---- JSON members -------------------------------------------------------------------- */

static json_t *member(struct admin_call *c, const char *key)
{
    return c->json && json_is_object(c->json) ? json_object_get(c->json, key) : NULL;
}

int admin_json_str(struct admin_call *c, const char *key, const char **out, bool *has)
{
    json_t *v = member(c, key);
    if (has)
        *has = v != NULL;
    if (!v)
        return 0;
    if (json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return dom_err_field(&c->err, key, "type", "%s must be a string", key);
    *out = json_string_value(v);
    if (strlen(*out) != json_string_length(v))
        return dom_err_field(&c->err, key, "charset", "%s contains a NUL character", key);
    return 0;
}

int admin_json_int(struct admin_call *c, const char *key, long long *out, bool *has)
{
    json_t *v = member(c, key);
    if (has)
        *has = v != NULL;
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return dom_err_field(&c->err, key, "type", "%s must be an integer", key);
    *out = json_integer_value(v);
    return 0;
}

int admin_json_bool(struct admin_call *c, const char *key, bool *out, bool *has)
{
    json_t *v = member(c, key);
    if (has)
        *has = v != NULL;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return dom_err_field(&c->err, key, "type", "%s must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

int admin_json_known(struct admin_call *c, const char *const *known)
{
    if (!c->json || !json_is_object(c->json))
        return dom_err_set(&c->err, 400, DOM_E_MALFORMED, "the body must be a JSON object");
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(c->json, key, v)
    {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = strcmp(known[i], key) == 0;
        if (!ok)
            rc = dom_err_field(&c->err, key, "unknown", "unknown member \"%.40s\"", key);
    }
    return rc;
}

/* ---- ETag, times --------------------------------------------------------------------- */

void admin_etag_of(const struct buf *json, char out[40])
{
    uint64_t h = hash_fnv1a(json->data ? json->data : "", json->len);
    snprintf(out, 40, "\"%016" PRIx64 "\"", h);
}

void admin_set_etag(struct admin_call *c)
{
    admin_etag_of(&c->out, c->etag);
}

bool admin_if_match(struct admin_call *c, const char *current_etag)
{
    const char *im = c->if_match;
    if (!im)
        return true;
    const char *p = im;
    while (*p) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if ((len == 1 && *p == '*') ||
            (len == strlen(current_etag) && strncmp(p, current_etag, len) == 0))
            return true;
        p += len;
    }
    dom_err_set(&c->err, 412, "PRECONDITION_FAILED",
                "the resource changed since it was read (If-Match %.60s, now %s)", im,
                current_etag);
    return false;
}

void admin_write_time(struct jsonw *w, const char *key, int64_t t, bool null_zero)
{
    dom_write_time(w, key, t, null_zero);
}

/* ---- problem+json -------------------------------------------------------------------- */

void admin_problem_body(struct admin_call *c, const char *instance)
{
    const struct dom_error *e = &c->err;
    buf_reset(&c->out);
    struct jsonw w;
    jsonw_init(&w, &c->out);
    const char *code = e->code ? e->code : "ERROR";
    char type[96];
    size_t n = (size_t)snprintf(type, sizeof(type), "urn:xtreamd:problem:");
    for (const char *p = code; *p && n + 1 < sizeof(type); p++)
        type[n++] = (char)(*p == '_' ? '-' : (*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    type[n] = '\0';
    jsonw_obj_begin(&w);
    jsonw_key(&w, "type");
    jsonw_str(&w, type);
    jsonw_key(&w, "title");
    jsonw_str(&w, dom_status_title(e->status));
    jsonw_key(&w, "status");
    jsonw_int(&w, e->status);
    jsonw_key(&w, "code");
    jsonw_str(&w, code);
    jsonw_key(&w, "detail");
    jsonw_str(&w, e->detail[0] ? e->detail : dom_status_title(e->status));
    if (instance) {
        jsonw_key(&w, "instance");
        jsonw_str(&w, instance);
    }
    jsonw_key(&w, "errors");
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < e->nfields; i++) {
        jsonw_obj_begin(&w);
        jsonw_key(&w, "field");
        jsonw_str(&w, e->fields[i].field);
        jsonw_key(&w, "code");
        jsonw_str(&w, e->fields[i].code);
        jsonw_key(&w, "message");
        jsonw_str(&w, e->fields[i].message);
        jsonw_obj_end(&w);
    }
    jsonw_arr_end(&w);
    if (e->dropped) {
        jsonw_key(&w, "errors_dropped");
        jsonw_int(&w, (long long)e->dropped);
    }
    jsonw_obj_end(&w);
}

/* ---- audit and changes --------------------------------------------------------------- */

int admin_audit(struct admin_call *c, const char *action, const char *entity, int64_t id,
                const char *before, const char *after)
{
    struct dom_audit_row row = {
        .admin_id = c->who.admin_id,
        .admin_username = c->who.username,
        .token_id = c->who.token_id,
        .ip = c->client_ip,
        .action = action,
        .entity = entity,
        .entity_id = id,
        .before = before,
        .after = after,
        .at = c->now,
    };
    return dom_audit_write(c->db, &row, &c->err);
}

int admin_answer_change(struct admin_call *c, const char *action, const char *entity, int64_t id,
                        const char *before, const char *after)
{
    int rc = admin_audit(c, action, entity, id, before, after);
    if (rc < 0)
        return rc;
    buf_reset(&c->out);
    buf_puts(&c->out, after);
    admin_set_etag(c);
    admin_notify_change(c, entity, id, action);
    return 0;
}

void admin_notify_change(struct admin_call *c, const char *entity, int64_t id, const char *action)
{
    buf_printf(&c->changes, "%s\t%lld\t%s\n", entity, (long long)id, action);
}
