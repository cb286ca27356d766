/* domain/placements: see placements.h. */
#include "domain/placements.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int stream_missing(struct dom_error *e, int64_t id)
{
    return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no stream %lld", (long long)id);
}

int dom_placements_get(struct db *db, int64_t stream_id, struct db_placement **out, size_t *n,
                       struct dom_error *e)
{
    int rc = db_placements_get(db, stream_id, out, n);
    if (rc == -ENOENT)
        return stream_missing(e, stream_id);
    return rc < 0 ? dom_err_internal(e, rc, "reading placements") : 0;
}

/* The field name of member `m` of placement i: "placements[2].node_id" (errors name the item). */
static const char *fld(char *b, size_t size, size_t i, const char *m)
{
    snprintf(b, size, "placements[%zu]%s%s", i, *m ? "." : "", m);
    return b;
}

static int row_from_json(json_t *o, size_t i, struct db_placement *p, struct dom_error *e)
{
    char f[48];
    static const char *const known[] = {"node_id", "mode", "parent_node_id"};
    if (!json_is_object(o))
        return dom_err_field(e, fld(f, sizeof(f), i, ""), "type", "each placement is an object");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool ok = false;
        for (size_t j = 0; j < sizeof(known) / sizeof(known[0]); j++)
            ok = ok || strcmp(k, known[j]) == 0;
        if (!ok)
            return dom_err_field(e, fld(f, sizeof(f), i, ""), "unknown", "unknown member '%.32s'",
                                 k);
    }
    json_t *node = json_object_get(o, "node_id");
    if (!json_is_integer(node) || json_integer_value(node) <= 0)
        return dom_err_field(e, fld(f, sizeof(f), i, "node_id"), "type",
                             "node_id must be a positive integer");
    p->node_id = json_integer_value(node);
    json_t *mode = json_object_get(o, "mode");
    if (!mode || json_is_null(mode) ||
        (json_is_string(mode) && strcmp(json_string_value(mode), "on_demand") == 0))
        p->always = false;
    else if (json_is_string(mode) && strcmp(json_string_value(mode), "always") == 0)
        p->always = true;
    else
        return dom_err_field(e, fld(f, sizeof(f), i, "mode"), "format",
                             "mode is \"always\" or \"on_demand\"");
    json_t *parent = json_object_get(o, "parent_node_id");
    if (!parent || json_is_null(parent))
        p->parent_node_id = 0;
    else if (json_is_integer(parent) && json_integer_value(parent) > 0)
        p->parent_node_id = json_integer_value(parent);
    else
        return dom_err_field(e, fld(f, sizeof(f), i, "parent_node_id"), "type",
                             "parent_node_id must be a positive integer or null");
    return 0;
}

static const struct db_placement *find(const struct db_placement *p, size_t n, int64_t node)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].node_id == node)
            return &p[i];
    return NULL;
}

/* One row per node; a parent is a node of the list, never the row's own; no cycle. */
static int check_rows(const struct db_placement *p, size_t n, struct dom_error *e)
{
    char f[48];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (p[j].node_id == p[i].node_id)
                return dom_err_field(e, fld(f, sizeof(f), i, "node_id"), "duplicate",
                                     "node %lld is listed twice", (long long)p[i].node_id);
        if (!p[i].parent_node_id)
            continue;
        if (p[i].parent_node_id == p[i].node_id)
            return dom_err_field(e, fld(f, sizeof(f), i, "parent_node_id"), "invalid",
                                 "a node is not its own parent");
        if (!find(p, n, p[i].parent_node_id))
            return dom_err_field(e, fld(f, sizeof(f), i, "parent_node_id"), "invalid",
                                 "parent node %lld must be placed too (it runs the channel)",
                                 (long long)p[i].parent_node_id);
    }
    for (size_t i = 0; i < n; i++) {
        const struct db_placement *at = &p[i];
        for (size_t steps = 0; at && at->parent_node_id; steps++) {
            if (steps > n)
                return dom_err_field(e, fld(f, sizeof(f), i, "parent_node_id"), "cycle",
                                     "parents form a cycle (node %lld)", (long long)p[i].node_id);
            at = find(p, n, at->parent_node_id);
        }
    }
    return 0;
}

static int by_node(const void *a, const void *b)
{
    int64_t x = ((const struct db_placement *)a)->node_id,
            y = ((const struct db_placement *)b)->node_id;
    return (x > y) - (x < y);
}

int dom_placements_from_json(const char *body, size_t len, struct db_placement **out, size_t *n,
                             struct dom_error *e)
{
    *out = NULL;
    *n = 0;
    json_error_t jerr;
    json_t *doc = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *arr = doc;
    if (json_is_object(doc) && json_object_size(doc) == 1)
        arr = json_object_get(doc, "placements");
    int rc = 0;
    if (!json_is_array(arr)) {
        rc = dom_err_set(e, 400, DOM_E_MALFORMED,
                         "the body is [{\"node_id\": N, \"mode\": \"always\"|\"on_demand\", "
                         "\"parent_node_id\": N|null}, ...]");
        goto out;
    }
    size_t count = json_array_size(arr);
    if (count > DOM_PLACEMENTS_MAX) {
        rc = dom_err_field(e, "placements", "max", "at most %d placements", DOM_PLACEMENTS_MAX);
        goto out;
    }
    struct db_placement *p = count ? calloc(count, sizeof(*p)) : NULL;
    if (count && !p) {
        rc = dom_err_internal(e, -ENOMEM, "decoding placements");
        goto out;
    }
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = row_from_json(json_array_get(arr, i), i, &p[i], e);
    if (rc == 0)
        rc = check_rows(p, count, e);
    if (rc == 0 && count > 1)
        qsort(p, count, sizeof(*p), by_node); /* the order GET reads them in */
    if (rc) {
        free(p);
        goto out;
    }
    *out = p;
    *n = count;
out:
    json_decref(doc);
    return rc;
}

int dom_placements_set(struct db *db, int64_t stream_id, const struct db_placement *p, size_t n,
                       struct dom_error *e)
{
    for (size_t i = 0; i < n; i++) {
        int rc = db_node_exists(db, p[i].node_id);
        if (rc == -ENOENT) {
            /* p is sorted by node now: the field names the node, not the input position */
            dom_err_set(e, 422, DOM_E_REFERENCE, "no node %lld", (long long)p[i].node_id);
            return dom_err_field(e, "node_id", "not_found", "no node %lld",
                                 (long long)p[i].node_id);
        }
        if (rc < 0)
            return dom_err_internal(e, rc, "reading nodes");
    }
    int rc = db_placements_set(db, stream_id, p, n);
    if (rc == -ENOENT)
        return stream_missing(e, stream_id);
    return rc < 0 ? dom_err_internal(e, rc, "writing placements") : 0;
}

void dom_placements_write_json(struct jsonw *w, int64_t stream_id, const struct db_placement *p,
                               size_t n)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "stream_id");
    jsonw_int(w, stream_id);
    jsonw_key(w, "placements");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        jsonw_obj_begin(w);
        jsonw_key(w, "node_id");
        jsonw_int(w, p[i].node_id);
        jsonw_key(w, "mode");
        jsonw_str(w, p[i].always ? "always" : "on_demand");
        jsonw_key(w, "parent_node_id");
        if (p[i].parent_node_id)
            jsonw_int(w, p[i].parent_node_id);
        else
            jsonw_null(w);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}
