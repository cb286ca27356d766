/*
 * domain/line_json: see line_json.h.
 */
#include "domain/line_json.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

void dom_line_json_free(struct dom_line_json *j)
{
    json_decref(j->doc);
    j->doc = NULL;
}

static int type_error(struct dom_error *e, const char *field, const char *want)
{
    return dom_err_field(e, field, "type", "must be %s", want);
}

/* A string member, or NULL for JSON null when null_as is given. */
static void get_string(json_t *v, const char *field, const char **out, const char *null_as,
                       struct dom_error *e)
{
    if (json_is_string(v))
        *out = json_string_value(v);
    else if (json_is_null(v) && null_as)
        *out = null_as;
    else
        type_error(e, field, null_as ? "a string or null" : "a string");
}

static void get_bool(json_t *v, const char *field, int *out, struct dom_error *e)
{
    if (json_is_boolean(v))
        *out = json_is_true(v);
    else
        type_error(e, field, "true or false");
}

/* allowed_outputs: an array of strings, joined with commas for the
 * service's parser (which names the bad value). */
static void get_outputs(json_t *v, struct dom_line_json *j, struct dom_error *e)
{
    size_t i, len = 0;
    json_t *it;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        type_error(e, "allowed_outputs", "a non-empty array of strings");
        return;
    }
    j->outputs[0] = '\0';
    json_array_foreach(v, i, it)
    {
        if (!json_is_string(it) || strchr(json_string_value(it), ',')) {
            char f[48];
            snprintf(f, sizeof(f), "allowed_outputs[%zu]", i);
            type_error(e, f, "a string without commas");
            return;
        }
        int w = snprintf(j->outputs + len, sizeof(j->outputs) - len, "%s%s", i ? "," : "",
                         json_string_value(it));
        if (w < 0 || (size_t)w >= sizeof(j->outputs) - len) {
            dom_err_field(e, "allowed_outputs", "too_long", "too many outputs");
            return;
        }
        len += (size_t)w;
    }
    j->in.outputs = j->outputs;
}

int dom_json_bouquets(json_t *v, const char **names, int64_t *ids, size_t *count,
                      struct dom_error *e)
{
    size_t i;
    json_t *it;
    *count = 0;
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return type_error(e, "bouquets", "an array of bouquets (names, ids or {\"id\"}) or null");
    if (json_array_size(v) > DOM_LINE_BOUQUETS_MAX)
        return dom_err_field(e, "bouquets", "too_long", "at most %d bouquets",
                             DOM_LINE_BOUQUETS_MAX);
    json_array_foreach(v, i, it)
    {
        /* {"id": N, "name": ...} is how a line shows its bouquets: a body
         * read back from GET is accepted (by id, the name ignored). */
        json_t *id = json_is_object(it) ? json_object_get(it, "id") : it;
        names[i] = NULL;
        ids[i] = 0;
        if (json_is_string(it)) {
            names[i] = json_string_value(it);
        } else if (json_is_integer(id)) {
            ids[i] = (int64_t)json_integer_value(id);
        } else {
            char f[48];
            snprintf(f, sizeof(f), "bouquets[%zu]", i);
            return type_error(e, f, "a bouquet name, id or {\"id\": id}");
        }
        *count = i + 1;
    }
    return 0;
}

static void get_bouquets(json_t *v, struct dom_line_json *j, struct dom_error *e)
{
    j->in.has_bouquets = true;
    j->in.bouquets = j->bouquets;
    j->in.bouquet_ids = j->bouquet_ids;
    dom_json_bouquets(v, j->bouquets, j->bouquet_ids, &j->in.bouquet_count, e);
}

static const char *const line_read_only[] = {
    "id", "status", "exp_date_epoch", "created_at", "updated_at", "owner_id", NULL,
};

bool dom_json_read_only(const char *key, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(key, names[i]) == 0)
            return true;
    return false;
}

/* The members of a line object (doc, an object whose reference out->doc
 * holds) into out->in. */
static int line_from_doc(json_t *doc, struct dom_line_json *out, struct dom_error *e)
{
    struct dom_line_in *in = &out->in;
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        if (strcmp(key, "username") == 0) {
            get_string(v, key, &in->username, NULL, e);
        } else if (strcmp(key, "password") == 0) {
            get_string(v, key, &in->password, NULL, e);
        } else if (strcmp(key, "max_connections") == 0) {
            if (json_is_integer(v)) {
                in->has_max_connections = true;
                in->max_connections = (long long)json_integer_value(v);
            } else {
                type_error(e, key, "an integer");
            }
        } else if (strcmp(key, "exp_date") == 0) {
            if (json_is_integer(v) || json_is_null(v)) {
                in->has_exp_date = true;
                in->exp_date = json_is_null(v) ? 0 : (long long)json_integer_value(v);
            } else if (json_is_string(v)) {
                in->exp_date_text = json_string_value(v);
            } else {
                type_error(e, key, "RFC 3339, YYYY-MM-DD, an integer (Unix seconds) or null");
            }
        } else if (strcmp(key, "expires") == 0) {
            get_string(v, key, &in->expires, "never", e);
        } else if (strcmp(key, "is_trial") == 0) {
            get_bool(v, key, &in->trial, e);
        } else if (strcmp(key, "enabled") == 0) {
            get_bool(v, key, &in->enabled, e);
        } else if (strcmp(key, "banned") == 0) {
            get_bool(v, key, &in->banned, e);
        } else if (strcmp(key, "allowed_outputs") == 0) {
            get_outputs(v, out, e);
        } else if (strcmp(key, "message") == 0) {
            get_string(v, key, &in->message, "", e);
        } else if (strcmp(key, "notes") == 0) {
            get_string(v, key, &in->notes, "", e);
        } else if (strcmp(key, "bouquets") == 0) {
            get_bouquets(v, out, e);
        } else if (strcmp(key, "plan_id") == 0) {
            if (json_is_integer(v)) {
                in->has_plan_id = true;
                in->plan_id = (int64_t)json_integer_value(v);
            } else {
                type_error(e, key, "an integer");
            }
        } else if (dom_json_read_only(key, line_read_only)) {
            dom_err_field(e, key, "read_only", "is computed by the server");
        } else {
            /* A field error always names something, even the member "". */
            char f[48];
            snprintf(f, sizeof(f), "%.40s", *key ? key : "(empty name)");
            dom_err_field(e, f, "unknown", "unknown member");
        }
    }
    return e->status ? -EINVAL : 0;
}

/* The body as a JSON object (a new reference in *doc): at most max bytes,
 * duplicate members refused (REJECT_DUPLICATES: {"banned":false,"banned":true}
 * must not pick one silently). Anything else is a 400 naming what is wrong. */
static int load_object(const char *body, size_t len, size_t max, json_t **doc, struct dom_error *e)
{
    *doc = NULL;
    if (len > max)
        return dom_err_set(e, 400, DOM_E_MALFORMED, "body larger than %zu bytes", max);
    json_error_t jerr;
    json_t *d = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!d)
        return dom_err_set(e, 400, DOM_E_MALFORMED, "not JSON: %s (line %d, column %d)", jerr.text,
                           jerr.line, jerr.column);
    if (!json_is_object(d)) {
        json_decref(d);
        return dom_err_set(e, 400, DOM_E_MALFORMED, "the body must be a JSON object");
    }
    *doc = d;
    return 0;
}

int dom_line_from_json(const char *body, size_t len, struct dom_line_json *out, struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    dom_line_in_init(&out->in);
    json_t *doc;
    int rc = load_object(body, len, DOM_JSON_BODY_MAX, &doc, e);
    if (rc)
        return rc;
    out->doc = doc;
    return line_from_doc(doc, out, e);
}

static int extend_from_doc(json_t *doc, struct dom_line_extend_json *out, struct dom_error *e);

int dom_line_extend_from_json(const char *body, size_t len, struct dom_line_extend_json *out,
                              struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    json_t *doc;
    int rc = load_object(body, len, DOM_JSON_BODY_MAX, &doc, e);
    if (rc)
        return rc;
    rc = extend_from_doc(doc, out, e);
    json_decref(doc);
    return rc;
}

/* The members of an extension object (days | months | until) into out. */
static int extend_from_doc(json_t *doc, struct dom_line_extend_json *out, struct dom_error *e)
{
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        if (strcmp(key, "days") == 0 || strcmp(key, "months") == 0) {
            /* 0 would read as "not given": refused here as out of range. */
            if (!json_is_integer(v))
                type_error(e, key, "an integer");
            else if (json_integer_value(v) <= 0)
                dom_err_field(e, key, "range", "must be 1 or more");
            else
                *(key[0] == 'd' ? &out->in.days : &out->in.months) = json_integer_value(v);
        } else if (strcmp(key, "until") == 0) {
            if (!json_is_string(v) || json_string_length(v) >= sizeof(out->until)) {
                type_error(e, key, "a date (RFC 3339 or YYYY-MM-DD)");
            } else {
                snprintf(out->until, sizeof(out->until), "%s", json_string_value(v));
                out->in.until = out->until;
            }
        } else {
            char f[48];
            snprintf(f, sizeof(f), "%.40s", *key ? key : "(empty name)");
            dom_err_field(e, f, "unknown", "unknown member (days, months or until)");
        }
    }
    if (e->status)
        return -EINVAL;
    return dom_line_extend_validate(&out->in, e);
}

void dom_line_bulk_json_free(struct dom_line_bulk_json *b)
{
    dom_line_json_free(&b->patch);
}

/* Moves the field errors of sub into e, each named under prefix
 * ("patch.max_connections"); an error without fields names the member. */
static void merge_under(struct dom_error *e, const char *prefix, const struct dom_error *sub)
{
    if (sub->nfields == 0) {
        dom_err_field(e, prefix, "invalid", "%s", sub->detail);
        return;
    }
    for (size_t i = 0; i < sub->nfields; i++) {
        char f[48];
        snprintf(f, sizeof(f), "%s.%.30s", prefix, sub->fields[i].field);
        dom_err_field(e, f, sub->fields[i].code, "%s", sub->fields[i].message);
    }
    e->dropped += sub->dropped;
}

/* ids: 1..DOM_LINE_BULK_MAX distinct positive integers. */
static void bulk_ids(json_t *v, struct dom_line_bulk_json *out, struct dom_error *e)
{
    size_t i;
    json_t *it;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        type_error(e, "ids", "a non-empty array of line ids");
        return;
    }
    if (json_array_size(v) > DOM_LINE_BULK_MAX) {
        dom_err_field(e, "ids", "too_long", "at most %d lines at once, got %zu", DOM_LINE_BULK_MAX,
                      json_array_size(v));
        return;
    }
    json_array_foreach(v, i, it)
    {
        char f[48];
        snprintf(f, sizeof(f), "ids[%zu]", i);
        if (!json_is_integer(it) || json_integer_value(it) <= 0) {
            type_error(e, f, "a positive integer (a line id)");
            continue;
        }
        int64_t id = (int64_t)json_integer_value(it);
        /* Twice the same line would apply an extension twice: refused. At
         * 1000 ids the quadratic scan is half a million comparisons. */
        for (size_t k = 0; k < out->nids; k++)
            if (out->ids[k] == id) {
                dom_err_field(e, f, "duplicate", "line %lld is given twice", (long long)id);
                break;
            }
        out->ids[out->nids++] = id;
    }
}

static bool patch_is_empty(const struct dom_line_in *in)
{
    return !in->username && !in->password && !in->has_max_connections && !in->expires &&
           !in->has_exp_date && in->trial == -1 && in->enabled == -1 && in->banned == -1 &&
           !in->outputs && !in->exp_date_text && !in->message && !in->notes && !in->has_bouquets &&
           !in->has_plan_id && !in->plan;
}

int dom_line_bulk_from_json(const char *body, size_t len, struct dom_line_bulk_json *out,
                            struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    dom_line_in_init(&out->patch.in);
    json_t *doc;
    int rc = load_object(body, len, DOM_LINE_BULK_BODY_MAX, &doc, e);
    if (rc)
        return rc;
    int nops = 0;
    const char *second = NULL; /* the member that made a second change */
    bool has_ids = false;
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        if (strcmp(key, "ids") == 0) {
            has_ids = true;
            bulk_ids(v, out, e);
        } else if (strcmp(key, "extend") == 0) {
            if (++nops == 2)
                second = "extend";
            out->op = DOM_LINE_BULK_EXTEND;
            struct dom_error sub;
            dom_error_reset(&sub);
            if (!json_is_object(v))
                type_error(e, key, "an object: {\"days\"}, {\"months\"} or {\"until\"}");
            else if (extend_from_doc(v, &out->extend, &sub))
                merge_under(e, key, &sub);
        } else if (strcmp(key, "patch") == 0) {
            if (++nops == 2)
                second = "patch";
            out->op = DOM_LINE_BULK_PATCH;
            struct dom_error sub;
            dom_error_reset(&sub);
            if (!json_is_object(v)) {
                type_error(e, key, "an object (a merge patch of a line)");
                continue;
            }
            out->patch.doc = json_incref(v);
            /* What did decode is still checked, so that one answer names
             * every bad member (as PATCH /lines/{id} does). */
            line_from_doc(v, &out->patch, &sub);
            dom_line_validate(&out->patch.in, false, &sub);
            if (sub.status)
                merge_under(e, key, &sub);
            else if (patch_is_empty(&out->patch.in))
                dom_err_field(e, key, "required", "names nothing to change");
        } else if (strcmp(key, "delete") == 0) {
            if (++nops == 2)
                second = "delete";
            out->op = DOM_LINE_BULK_DELETE;
            if (!json_is_true(v))
                type_error(e, key, "true");
        } else {
            char f[48];
            snprintf(f, sizeof(f), "%.40s", *key ? key : "(empty name)");
            dom_err_field(e, f, "unknown", "unknown member (ids, extend, patch or delete)");
        }
    }
    json_decref(doc);
    if (!has_ids)
        dom_err_field(e, "ids", "required", "names the lines to change");
    if (nops != 1)
        dom_err_field(e, second ? second : "patch", second ? "conflict" : "required",
                      "give exactly one of extend, patch or delete");
    return e->status ? -EINVAL : 0;
}
