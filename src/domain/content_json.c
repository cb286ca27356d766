/*
 * domain/content_json: the JSON bodies of the catalogue resources (see
 * content.h): decoding a create / JSON Merge Patch (RFC 7396) body into a
 * struct dom_content_in, and writing an object. Untrusted input: the body is
 * bounded (DOM_CONTENT_BODY_MAX), arrays are bounded before they are copied,
 * duplicate members are refused, and every member is type-checked here
 * (values are checked by dom_content_validate). Fuzzed by
 * tests/fuzz/fuzz_content_json.c.
 *
 * Member types follow the db column: text (null: ""), nullable text / id /
 * year (null: unset), integer (null: 0), boolean, number; "id" and the
 * read-only members are refused; streams take "sources" (array of strings),
 * bouquets "items" (array of {"kind","id"}).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/content.h"
#include "domain/streams.h"

static int type_error(struct dom_error *e, const char *field, const char *want)
{
    return dom_err_field(e, field, "type", "must be %s", want);
}

static int parse(const char *body, size_t len, json_t **doc, struct dom_error *e)
{
    *doc = NULL;
    if (len > DOM_CONTENT_BODY_MAX)
        return dom_err_set(e, 400, DOM_E_MALFORMED, "body larger than %d bytes",
                           DOM_CONTENT_BODY_MAX);
    json_error_t jerr;
    *doc = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*doc)
        return dom_err_set(e, 400, DOM_E_MALFORMED, "not JSON: %s (line %d, column %d)", jerr.text,
                           jerr.line, jerr.column);
    return 0;
}

static void get_sources(json_t *v, struct dom_content_in *in, struct dom_error *e)
{
    size_t i;
    json_t *it;
    in->has_sources = true;
    if (!json_is_array(v)) {
        type_error(e, "sources", "an array of URLs");
        return;
    }
    size_t n = json_array_size(v);
    if (n > DOM_STREAM_SOURCES_MAX) {
        dom_err_field(e, "sources", "too_long", "at most %d sources", DOM_STREAM_SOURCES_MAX);
        return;
    }
    in->sources = calloc(n ? n : 1, sizeof(*in->sources));
    if (!in->sources) {
        dom_err_internal(e, -ENOMEM, "decoding");
        return;
    }
    json_array_foreach(v, i, it)
    {
        if (!json_is_string(it)) {
            char f[48];
            snprintf(f, sizeof(f), "sources[%zu]", i);
            type_error(e, f, "a string");
            return;
        }
        in->sources[in->nsources++] = json_string_value(it);
    }
}

static int get_items(json_t *v, struct dom_content_in *in, struct dom_error *e)
{
    size_t i;
    json_t *it;
    in->has_items = true;
    if (!json_is_array(v))
        return type_error(e, "items", "an array of {\"kind\",\"id\"} objects");
    size_t n = json_array_size(v);
    if (n > DOM_BOUQUET_ITEMS_MAX)
        return dom_err_field(e, "items", "too_long", "at most %d items", DOM_BOUQUET_ITEMS_MAX);
    in->items = calloc(n ? n : 1, sizeof(*in->items));
    if (!in->items)
        return dom_err_internal(e, -ENOMEM, "decoding");
    json_array_foreach(v, i, it)
    {
        char f[48];
        struct db_item *d = &in->items[in->nitems++];
        d->kind = "";
        json_t *k = json_is_object(it) ? json_object_get(it, "kind") : NULL;
        json_t *id = json_is_object(it) ? json_object_get(it, "id") : NULL;
        if (!json_is_object(it) || json_object_size(it) != (size_t)(k != NULL) + (id != NULL)) {
            snprintf(f, sizeof(f), "items[%zu]", i);
            type_error(e, f, "an object with kind and id only");
            continue;
        }
        snprintf(f, sizeof(f), "items[%zu].kind", i);
        if (!json_is_string(k))
            type_error(e, f, "a string");
        else
            d->kind = json_string_value(k);
        snprintf(f, sizeof(f), "items[%zu].id", i);
        if (id && !json_is_null(id) && !json_is_integer(id))
            type_error(e, f, "an integer");
        else if (json_is_integer(id))
            d->id = (int64_t)json_integer_value(id);
    }
    return e->status ? -EINVAL : 0;
}

/* One member of the table's columns. */
static void get_member(const struct db_col *c, int i, const char *key, json_t *v,
                       struct dom_content_in *in, struct dom_error *e)
{
    struct db_val *d = &in->rec.v[i];
    switch (c->type) {
    case DB_COL_TEXT:
    case DB_COL_NTEXT:
        if (json_is_string(v))
            d->s = json_string_value(v);
        else if (json_is_null(v))
            d->s = "";
        else
            type_error(e, key, "a string or null");
        break;
    case DB_COL_INT:
    case DB_COL_NINT:
    case DB_COL_REF:
        if (json_is_integer(v))
            d->i = (int64_t)json_integer_value(v);
        else if (json_is_null(v))
            d->i = 0;
        else
            type_error(e, key, "an integer or null");
        break;
    case DB_COL_BOOL:
        if (json_is_boolean(v))
            d->i = json_is_true(v);
        else
            type_error(e, key, "true or false");
        break;
    case DB_COL_REAL:
        if (json_is_number(v))
            d->r = json_number_value(v);
        else if (json_is_null(v))
            d->r = 0;
        else
            type_error(e, key, "a number or null");
        break;
    default: /* TIME and EXPR columns are read-only: dom_content_validate says so */
        break;
    }
    in->rec.set |= 1ull << i;
}

int dom_content_from_value(const struct dom_resource *r, void *json_value,
                           struct dom_content_in *in, struct dom_error *e)
{
    json_t *doc = json_value;
    memset(in, 0, sizeof(*in));
    if (!json_is_object(doc))
        return dom_err_set(e, 400, DOM_E_MALFORMED, "the body must be a JSON object");
    in->doc = json_incref(doc);
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        int i = db_col_index(r->tbl, key);
        char f[48];
        snprintf(f, sizeof(f), "%.40s", *key ? key : "(empty name)");
        if (i >= 0)
            get_member(&r->tbl->cols[i], i, f, v, in, e);
        else if (strcmp(key, "id") == 0)
            dom_err_field(e, "id", "read_only", "is read-only");
        else if (r == &dom_res_stream && strcmp(key, "sources") == 0)
            get_sources(v, in, e);
        else if (r == &dom_res_bouquet && strcmp(key, "items") == 0)
            get_items(v, in, e);
        else
            dom_err_field(e, f, "unknown", "unknown member");
    }
    return e->status ? -EINVAL : 0;
}

int dom_content_from_json(const struct dom_resource *r, const char *body, size_t len,
                          struct dom_content_in *in, struct dom_error *e)
{
    json_t *doc;
    memset(in, 0, sizeof(*in));
    if (parse(body, len, &doc, e))
        return -EINVAL;
    int rc = dom_content_from_value(r, doc, in, e);
    json_decref(doc); /* in->doc holds its own reference */
    return rc;
}

int dom_items_from_json(const char *body, size_t len, struct dom_content_in *in,
                        struct dom_error *e)
{
    json_t *doc;
    memset(in, 0, sizeof(*in));
    if (parse(body, len, &doc, e))
        return -EINVAL;
    in->doc = doc;
    json_t *items = doc;
    /* {"items":[...]} and a bare array are both accepted. */
    if (json_is_object(doc)) {
        items = json_object_get(doc, "items");
        if (!items || json_object_size(doc) != 1)
            return dom_err_field(e, "items", "required", "the body is {\"items\": [...]}");
    }
    return get_items(items, in, e);
}

int dom_ids_from_json(const char *body, size_t len, int64_t **ids, size_t *n, struct dom_error *e)
{
    json_t *doc, *it;
    size_t i;
    *ids = NULL;
    *n = 0;
    if (parse(body, len, &doc, e))
        return -EINVAL;
    json_t *arr = doc;
    if (json_is_object(doc)) {
        arr = json_object_get(doc, "ids");
        if (!arr || json_object_size(doc) != 1)
            arr = NULL;
    }
    int rc = 0;
    if (!json_is_array(arr)) {
        rc = type_error(e, "ids", "an array of category ids");
        goto out;
    }
    if (json_array_size(arr) > DOM_CATEGORY_ORDER_MAX) {
        rc = dom_err_field(e, "ids", "too_long", "at most %d ids", DOM_CATEGORY_ORDER_MAX);
        goto out;
    }
    *ids = calloc(json_array_size(arr) + 1, sizeof(**ids));
    if (!*ids) {
        rc = dom_err_internal(e, -ENOMEM, "decoding");
        goto out;
    }
    json_array_foreach(arr, i, it)
    {
        if (!json_is_integer(it)) {
            char f[48];
            snprintf(f, sizeof(f), "ids[%zu]", i);
            rc = type_error(e, f, "an integer");
            continue;
        }
        (*ids)[(*n)++] = (int64_t)json_integer_value(it);
    }
out:
    json_decref(doc);
    if (rc) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- writing ------------------------------------------------------------------ */

static void write_time(struct jsonw *w, int64_t t)
{
    if (t <= 0) {
        jsonw_null(w);
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    char s[32];
    if (!gmtime_r(&tt, &tm) || !strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
        jsonw_null(w);
        return;
    }
    jsonw_str(w, s);
}

void dom_obj_write_json(const struct dom_resource *r, const struct dom_obj *o, struct jsonw *w)
{
    const struct db_table *t = r->tbl;
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, o->rec.id);
    for (size_t i = 0; i < t->ncols; i++) {
        const struct db_col *c = &t->cols[i];
        const struct db_val *v = &o->rec.v[i];
        jsonw_key(w, c->name);
        switch (c->type) {
        case DB_COL_TEXT:
            jsonw_str(w, v->s ? v->s : "");
            break;
        case DB_COL_NTEXT:
            if (v->s && *v->s)
                jsonw_str(w, v->s);
            else
                jsonw_null(w);
            break;
        case DB_COL_NINT:
        case DB_COL_REF:
            if (v->i)
                jsonw_int(w, v->i);
            else
                jsonw_null(w);
            break;
        case DB_COL_BOOL:
            jsonw_bool(w, v->i != 0);
            break;
        case DB_COL_REAL:
            jsonw_num(w, v->r, 3);
            break;
        case DB_COL_TIME:
            write_time(w, v->i);
            break;
        default:
            jsonw_int(w, v->i);
        }
    }
    if (r == &dom_res_stream) {
        jsonw_key(w, "sources");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < o->nsources; i++)
            jsonw_str(w, o->sources[i]);
        jsonw_arr_end(w);
    }
    if (r == &dom_res_bouquet) {
        jsonw_key(w, "items");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < o->nitems; i++) {
            jsonw_obj_begin(w);
            jsonw_key(w, "kind");
            jsonw_str(w, o->items[i].kind);
            jsonw_key(w, "id");
            if (o->items[i].id)
                jsonw_int(w, o->items[i].id);
            else
                jsonw_null(w);
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
    }
    jsonw_obj_end(w);
}
