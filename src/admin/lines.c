/*
 * lines.c: /api/v1/lines — the subscriber lines (domain/lines.h owns every
 * rule; this file decodes, calls and serialises).
 *
 * The pattern every resource file follows: a work() per operation; reads
 * serialise the entity once and take its ETag from those bytes; changes run
 * in one transaction that reads the current representation (If-Match is
 * checked against it), applies the change through the service, writes the
 * audit row with the before/after JSON, and commits; then the change is
 * announced (admin_notify_change) and the new representation returned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/call.h"
#include "admin/resource.h"
#include "domain/tx.h"
#include "domain/line_json.h"
#include "domain/lines.h"

static void write_line(struct jsonw *w, const struct db_line *l, int64_t now)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, l->id);
    jsonw_key(w, "username");
    jsonw_str(w, l->username);
    jsonw_key(w, "password");
    jsonw_str(w, l->password);
    jsonw_key(w, "status");
    jsonw_str(w, dom_line_status(l, now));
    jsonw_key(w, "max_connections");
    jsonw_int(w, l->max_connections);
    admin_write_time(w, "exp_date", l->has_exp ? l->exp_date : 0, true);
    jsonw_key(w, "exp_date_epoch");
    if (l->has_exp)
        jsonw_int(w, l->exp_date);
    else
        jsonw_null(w);
    jsonw_key(w, "is_trial");
    jsonw_bool(w, l->is_trial);
    jsonw_key(w, "enabled");
    jsonw_bool(w, l->enabled);
    jsonw_key(w, "banned");
    jsonw_bool(w, l->banned);
    jsonw_key(w, "allowed_outputs");
    jsonw_arr_begin(w);
    for (const char *p = l->allowed_outputs; p && *p;) {
        size_t n = strcspn(p, ",");
        jsonw_strn(w, p, n);
        p += n;
        if (*p == ',')
            p++;
    }
    jsonw_arr_end(w);
    jsonw_key(w, "message");
    jsonw_str(w, l->message ? l->message : "");
    jsonw_key(w, "bouquets");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < l->bouquet_count; i++)
        jsonw_str(w, l->bouquets[i]);
    jsonw_arr_end(w);
    admin_write_time(w, "created_at", l->created_at, false);
    admin_write_time(w, "updated_at", l->updated_at, false);
    jsonw_obj_end(w);
}

/* The line's JSON into a fresh buffer (for ETags and audit rows). */
static char *line_json_text(const struct db_line *l, int64_t now, char etag[40])
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct jsonw w;
    jsonw_init(&w, &b);
    write_line(&w, l, now);
    if (b.err) {
        buf_free(&b);
        return NULL;
    }
    admin_etag_of(&b, etag);
    return buf_steal(&b, NULL);
}

/* Loads line {id}: 404 when absent. */
static int load(struct admin_call *c, struct db_line *l)
{
    int64_t id;
    if (admin_param_id(c, 0, "line", &id))
        return -ENOENT;
    /* TODO(i10-lines): dom_line_get_id. */
    struct db_line *all = NULL;
    size_t n = 0;
    int rc = dom_line_list(c->db, &all, &n, &c->err);
    if (rc < 0)
        return rc;
    rc = dom_err_set(&c->err, 404, DOM_E_NOT_FOUND, "no line %lld", (long long)id);
    for (size_t i = 0; i < n; i++) {
        if (all[i].id == id) {
            *l = all[i];
            memset(&all[i], 0, sizeof(all[i]));
            dom_error_reset(&c->err);
            rc = 0;
            break;
        }
    }
    db_line_list_free(all, n);
    return rc;
}

static const char *const sort_keys[] = {"id", "username", "exp_date", "created_at", NULL};

static int lines_list(struct admin_call *c)
{
    struct admin_list_query q;
    if (admin_list_query(c, sort_keys, &q))
        return -EINVAL;
    /* TODO(i10-lines): dom_line_page with filters, search and sort in SQL. */
    struct db_line *all = NULL;
    size_t n = 0;
    int rc = dom_line_list(c->db, &all, &n, &c->err);
    if (rc < 0)
        return rc;
    admin_list_begin(c);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (q.db.q && !strstr(all[i].username, q.db.q))
            continue;
        if (total >= q.db.offset && total < q.db.offset + q.db.limit)
            write_line(&c->w, &all[i], c->now);
        total++;
    }
    admin_list_end(c, &q, total);
    db_line_list_free(all, n);
    return 0;
}

static int lines_get(struct admin_call *c)
{
    struct db_line l = {0};
    int rc = load(c, &l);
    if (rc == 0) {
        write_line(&c->w, &l, c->now);
        admin_set_etag(c);
    }
    db_line_clear(&l);
    return rc;
}

/* Answers with line {username} as it is now (after a create or an update). */
static int answer_line(struct admin_call *c, const char *username, const char *action,
                       const char *before)
{
    struct db_line l = {0};
    int rc = dom_line_get(c->db, username, &l, &c->err);
    if (rc < 0)
        return rc;
    char etag[40];
    char *after = line_json_text(&l, c->now, etag);
    if (!after) {
        db_line_clear(&l);
        return dom_err_internal(&c->err, -ENOMEM, "serialising a line");
    }
    rc = admin_audit(c, action, "line", l.id, before, after);
    if (rc == 0) {
        buf_puts(&c->out, after);
        memcpy(c->etag, etag, sizeof(etag));
        admin_notify_change(c, "line", l.id, action);
    }
    free(after);
    db_line_clear(&l);
    return rc;
}

static int lines_create(struct admin_call *c)
{
    struct dom_line_json j;
    int rc = dom_line_from_json(c->body, c->body_len, &j, &c->err);
    if (rc < 0)
        goto out;
    struct dom_line_created made;
    if ((rc = dom_begin(c->db, &c->err)) < 0)
        goto out;
    rc = dom_line_create(c->db, &j.in, &made, &c->err);
    if (rc == 0)
        rc = answer_line(c, j.in.username, "create", NULL);
    if (rc == 0)
        rc = dom_commit(c->db, &c->err);
    if (rc < 0) {
        dom_rollback(c->db);
        buf_reset(&c->out);
        c->etag[0] = '\0';
        goto out;
    }
    snprintf(c->location, sizeof(c->location), "/api/v1/lines/%lld", (long long)made.id);
out:
    dom_line_json_free(&j);
    return rc;
}

static int lines_patch(struct admin_call *c)
{
    struct dom_line_json j;
    struct db_line cur = {0};
    char *before = NULL;
    int rc = dom_line_from_json(c->body, c->body_len, &j, &c->err);
    if (rc < 0)
        goto out;
    if ((rc = dom_begin(c->db, &c->err)) < 0)
        goto out;
    char etag[40];
    if ((rc = load(c, &cur)) < 0)
        goto rollback;
    if (!(before = line_json_text(&cur, c->now, etag))) {
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising a line");
        goto rollback;
    }
    if (!admin_if_match(c, etag)) {
        rc = -EAGAIN;
        goto rollback;
    }
    if ((rc = dom_line_update(c->db, cur.username, &j.in, &c->err)) < 0)
        goto rollback;
    if ((rc = answer_line(c, cur.username, "update", before)) < 0)
        goto rollback;
    if ((rc = dom_commit(c->db, &c->err)) < 0)
        goto rollback;
    goto out;
rollback:
    dom_rollback(c->db);
    buf_reset(&c->out);
    c->etag[0] = '\0';
out:
    free(before);
    db_line_clear(&cur);
    dom_line_json_free(&j);
    return rc;
}

static int lines_delete(struct admin_call *c)
{
    struct db_line cur = {0};
    char *before = NULL;
    int rc = dom_begin(c->db, &c->err);
    if (rc < 0)
        return rc;
    char etag[40];
    if ((rc = load(c, &cur)) < 0)
        goto rollback;
    if (!(before = line_json_text(&cur, c->now, etag))) {
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising a line");
        goto rollback;
    }
    if (!admin_if_match(c, etag)) {
        rc = -EAGAIN;
        goto rollback;
    }
    if ((rc = dom_line_delete(c->db, cur.username, &c->err)) < 0 ||
        (rc = admin_audit(c, "delete", "line", cur.id, before, NULL)) < 0)
        goto rollback;
    if ((rc = dom_commit(c->db, &c->err)) < 0)
        goto rollback;
    admin_notify_change(c, "line", cur.id, "delete");
    goto out;
rollback:
    dom_rollback(c->db);
out:
    free(before);
    db_line_clear(&cur);
    return rc;
}

static const struct admin_route_ext ext_list = {.work = lines_list, .list = true};
static const struct admin_route_ext ext_get = {.work = lines_get};
static const struct admin_route_ext ext_create = {.work = lines_create};
static const struct admin_route_ext ext_patch = {.work = lines_patch};
static const struct admin_route_ext ext_delete = {.work = lines_delete};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/lines", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "List lines (paged, searched, sorted)", "lines", NULL, "LineList", 200, &ext_list},
    {ROUTE_POST, "/api/v1/lines", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Create a line", "lines", "LineCreate", "Line", 201, &ext_create},
    {ROUTE_GET, "/api/v1/lines/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read", "Read a line",
     "lines", NULL, "Line", 200, &ext_get},
    {ROUTE_PATCH, "/api/v1/lines/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Change a line (JSON Merge Patch; If-Match honoured)", "lines", "LinePatch", "Line", 200,
     &ext_patch},
    {ROUTE_DELETE, "/api/v1/lines/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Delete a line (If-Match honoured)", "lines", NULL, NULL, 204, &ext_delete},
};

#define LINE_PROPS                                                                                 \
    "\"username\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"                         \
    "\"password\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"                         \
    "\"max_connections\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000},"                 \
    "\"is_trial\":{\"type\":\"boolean\"},\"enabled\":{\"type\":\"boolean\"},"                      \
    "\"banned\":{\"type\":\"boolean\"},"                                                           \
    "\"allowed_outputs\":{\"type\":\"array\",\"items\":{\"enum\":[\"ts\",\"m3u8\"]}},"             \
    "\"message\":{\"type\":[\"string\",\"null\"],\"maxLength\":1024},"                             \
    "\"bouquets\":{\"type\":[\"array\",\"null\"],\"items\":{\"type\":\"string\"}}"

static const struct admin_schema schemas[] = {
    {"Line",
     "{\"type\":\"object\",\"required\":[\"id\",\"username\",\"password\",\"status\","
     "\"max_connections\",\"exp_date\",\"exp_date_epoch\",\"is_trial\",\"enabled\",\"banned\","
     "\"allowed_outputs\",\"message\",\"bouquets\",\"created_at\",\"updated_at\"],"
     "\"properties\":{\"id\":{\"type\":\"integer\"},"
     "\"status\":{\"enum\":[\"Active\",\"Expired\",\"Disabled\",\"Banned\"]},"
     "\"exp_date\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"},"
     "\"exp_date_epoch\":{\"type\":[\"integer\",\"null\"]},"
     "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
     "\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"}," LINE_PROPS "}}"},
    {"LineCreate", "{\"type\":\"object\",\"required\":[\"username\"],"
                   "\"examples\":[{\"username\":\"example\",\"password\":\"Example.pw-1\","
                   "\"max_connections\":2,\"expires\":\"2030-01-01\"}],\"properties\":{"
                   "\"expires\":{\"type\":\"string\",\"description\":\"YYYY-MM-DD or never\"},"
                   "\"exp_date\":{\"type\":[\"integer\",\"null\"]}," LINE_PROPS "}}"},
    {"LinePatch", "{\"type\":\"object\",\"description\":\"JSON Merge Patch of a Line\","
                  "\"examples\":[{\"max_connections\":3,\"message\":null}],"
                  "\"properties\":{\"expires\":{\"type\":\"string\"},"
                  "\"exp_date\":{\"type\":[\"integer\",\"null\"]}," LINE_PROPS "}}"},
    {"LineList",
     "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"
     "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/"
     "Line\"}},\"total\":{\"type\":\"integer\"},\"page\":{\"type\":\"integer\"},"
     "\"page_size\":{\"type\":\"integer\"}}}"},
};

const struct admin_resource admin_res_lines = {"lines", routes, sizeof(routes) / sizeof(routes[0]),
                                               schemas, sizeof(schemas) / sizeof(schemas[0])};
