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

#include "admin/admin_priv.h"
#include "admin/resource.h"
#include "api/api.h"
#include "auth/connections.h"
#include "domain/tx.h"
#include "domain/line_json.h"
#include "domain/lines.h"
#include "domain/reseller_json.h"
#include "domain/resellers.h"

/* One representation of a line everywhere: domain/lines.c's serialiser
 * (also `xtreamd line show --json`). */
static void write_line(struct jsonw *w, const struct db_line *l, int64_t now)
{
    dom_line_write_json(w, l, now);
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
    struct dom_actor who;
    admin_actor(c, &who);
    /* a reseller addresses only its subtree's lines: 404 for the others */
    int rc = dom_actor_line_check(c->db, &who, id, &c->err);
    return rc ? rc : dom_line_get_id(c->db, id, l, &c->err);
}

static const char *const line_filters[] = {"status",     "expires_before", "expires_after",
                                           "bouquet_id", "owner_id",       NULL};

/* A page of lines between work() (the database) and post() (the loop
 * thread, where the connection registry lives). */
struct list_state {
    struct admin_list_query q;
    struct db_line *v;
    size_t n;
    int64_t total;
};

static void list_state_free(void *p)
{
    struct list_state *s = p;
    db_line_list_free(s->v, s->n);
    free(s);
}

static int lines_list(struct admin_call *c)
{
    struct list_state *s = calloc(1, sizeof(*s));
    if (!s)
        return dom_err_internal(&c->err, -ENOMEM, "a list of lines");
    c->state = s;
    c->state_free = list_state_free;
    /* Every bad parameter is reported at once: the paging/sort errors of
     * admin_list_query and the filters' of dom_line_page share c->err. */
    admin_list_query(c, dom_line_sort_keys, &s->q);
    struct dom_line_filter f = {
        .status = admin_query(c, "status"),
        .expires_before = admin_query(c, "expires_before"),
        .expires_after = admin_query(c, "expires_after"),
        .bouquet_id = admin_query(c, "bouquet_id"),
        .now = c->now,
        .owner_subtree = c->who.reseller ? c->who.admin_id : 0,
    };
    /* owner_id: the lines of that reseller and its descendants (a reseller's
     * page in the panel). A reseller may name only itself or a descendant:
     * anyone else is 404, as if it did not exist. */
    int64_t owner = admin_query_id(c, "owner_id");
    if (owner > 0 && f.owner_subtree && owner != f.owner_subtree) {
        struct dom_actor who;
        struct db_reseller r = {0};
        admin_actor(c, &who);
        int rc = dom_reseller_get(c->db, &who, owner, c->now, &r, &c->err);
        db_reseller_clear(&r);
        if (rc < 0)
            return rc;
    }
    if (owner > 0)
        f.owner_subtree = owner;
    return dom_line_page(c->db, &f, &s->q.db, &s->v, &s->n, &s->total, &c->err);
}

/* Writes the page with each line's active_connections (what it is watching
 * now, the client API's active_cons): the registry is the loop thread's, so
 * the list is written here rather than in work(). Only the list carries the
 * count: a line's own representation (GET, its ETag) must not change with
 * every viewer that comes and goes. */
static void lines_list_post(struct admin_call *c)
{
    struct list_state *s = c->state;
    struct api *api = admin_api(c->admin);
    struct conn_registry *reg = api ? api_conn_registry(api) : NULL;
    admin_list_begin(c);
    for (size_t i = 0; i < s->n; i++) {
        jsonw_obj_begin(&c->w);
        dom_line_write_members(&c->w, &s->v[i], c->now);
        jsonw_key(&c->w, "active_connections");
        jsonw_int(&c->w, reg ? (long long)conn_registry_count_active(reg, s->v[i].id) : 0);
        jsonw_obj_end(&c->w);
    }
    admin_list_end(c, &s->q, s->total);
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

/* Answers with line id as it is now (after a create or a change). */
static int answer_line(struct admin_call *c, int64_t id, const char *action, const char *before)
{
    struct db_line l = {0};
    int rc = dom_line_get_id(c->db, id, &l, &c->err);
    if (rc < 0)
        return rc;
    char etag[40];
    char *after = line_json_text(&l, c->now, etag);
    if (!after) {
        db_line_clear(&l);
        return dom_err_internal(&c->err, -ENOMEM, "serialising a line");
    }
    rc = admin_answer_change(c, action, "line", l.id, before, after);
    free(after);
    db_line_clear(&l);
    return rc;
}

/* Decodes a line body; when members were refused (422), what did decode is
 * still checked, so that one answer names every bad field. */
static int decode(struct admin_call *c, struct dom_line_json *j, bool create)
{
    int rc = dom_line_from_json(c->body, c->body_len, j, &c->err);
    if (rc < 0 && c->err.status == 422)
        dom_line_validate(&j->in, create, &c->err);
    return rc;
}

/* A reseller's line body may say {"trial": true} (the contract's member):
 * taken out here, the rest is a line body. */
static int take_trial(struct admin_call *c, bool *trial, char **body, size_t *len)
{
    *trial = false;
    *body = NULL;
    json_t *t = c->json ? json_object_get(c->json, "trial") : NULL;
    if (!t)
        return 0;
    if (!json_is_boolean(t))
        return dom_err_field(&c->err, "trial", "type", "must be true or false");
    *trial = json_is_true(t);
    json_t *copy = json_deep_copy(c->json);
    if (!copy)
        return dom_err_internal(&c->err, -ENOMEM, "a line body");
    json_object_del(copy, "trial");
    *body = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    if (!*body)
        return dom_err_internal(&c->err, -ENOMEM, "a line body");
    *len = strlen(*body);
    return 0;
}

/* POST /api/v1/lines. An admin's create is never charged; a reseller's goes
 * through dom_reseller_line_create (plan, price, trial limit, prefix, owner)
 * and honours Idempotency-Key. */
static int lines_create(struct admin_call *c)
{
    struct dom_actor who;
    admin_actor(c, &who);
    struct dom_line_json j;
    memset(&j, 0, sizeof(j));
    bool trial = false;
    char *stripped = NULL, hash[65];
    size_t slen = 0;
    int rc = who.reseller ? take_trial(c, &trial, &stripped, &slen) : 0;
    if (rc < 0)
        return rc;
    if (stripped) {
        rc = dom_line_from_json(stripped, slen, &j, &c->err);
        if (rc < 0 && c->err.status == 422)
            dom_line_validate(&j.in, true, &c->err);
    } else {
        rc = decode(c, &j, true);
    }
    if (rc < 0)
        goto out;
    struct dom_line_created made;
    int64_t charged = 0;
    if ((rc = dom_begin(c->db, &c->err)) < 0)
        goto out;
    if (who.reseller && (rc = admin_idem_begin(c, hash)) != 0) {
        dom_rollback(c->db);
        if (rc > 0)
            rc = 0; /* the first answer, replayed */
        goto out;
    }
    rc = dom_reseller_line_create(c->db, &who, &j.in, trial, c->now, &made, &charged, &c->err);
    if (rc == 0)
        rc = answer_line(c, made.id, "create", NULL);
    if (rc == 0 && who.reseller)
        rc = admin_idem_finish(c, hash, 201);
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
    free(stripped);
    dom_line_json_free(&j);
    return rc;
}

static int lines_patch(struct admin_call *c)
{
    struct dom_line_json j;
    struct db_line cur = {0};
    char *before = NULL;
    struct dom_actor who;
    admin_actor(c, &who);
    int rc = decode(c, &j, false);
    if (rc == 0)
        rc = dom_reseller_line_patch_check(&who, &j.in, &c->err);
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
    if ((rc = dom_line_update_id(c->db, cur.id, &j.in, &c->err)) < 0)
        goto rollback;
    if ((rc = answer_line(c, cur.id, "update", before)) < 0)
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
    if ((rc = dom_line_delete_id(c->db, cur.id, &c->err)) < 0 ||
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

/* POST /api/v1/lines/{id}/extend: {"days"} | {"months"} | {"until"} from
 * max(now, exp_date) (domain/lines.h dom_line_extend); If-Match honoured,
 * audited as "extend", answers the line. */
static int lines_extend(struct admin_call *c)
{
    struct dom_line_extend_json x;
    struct db_line cur = {0};
    char *before = NULL;
    char etag[40];
    int64_t exp, plan_id = 0, charged = 0;
    char hash[65];
    struct dom_actor who;
    admin_actor(c, &who);
    /* a reseller extends by a plan it may sell, and pays its price */
    int rc = who.reseller ? dom_reseller_extend_from_json(c->body, c->body_len, &plan_id, &c->err)
                          : dom_line_extend_from_json(c->body, c->body_len, &x, &c->err);
    if (rc < 0)
        return rc;
    if ((rc = dom_begin(c->db, &c->err)) < 0)
        return rc;
    if (who.reseller && (rc = admin_idem_begin(c, hash)) != 0) {
        dom_rollback(c->db);
        return rc > 0 ? 0 : rc;
    }
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
    rc = who.reseller ? dom_reseller_line_extend(c->db, &who, cur.id, plan_id, c->now, &exp,
                                                 &charged, &c->err)
                      : dom_line_extend(c->db, cur.id, &x.in, c->now, &exp, &c->err);
    if (rc < 0 || (rc = answer_line(c, cur.id, "extend", before)) < 0 ||
        (who.reseller && (rc = admin_idem_finish(c, hash, 200)) < 0) ||
        (rc = dom_commit(c->db, &c->err)) < 0)
        goto rollback;
    goto out;
rollback:
    dom_rollback(c->db);
    buf_reset(&c->out);
    c->etag[0] = '\0';
out:
    free(before);
    db_line_clear(&cur);
    return rc;
}

/* A bulk change failed on line ids[i] (cur: the line; NULL when it does not
 * exist): the answer names the line, so that the panel can point at it. */
static int bulk_failed(struct admin_call *c, size_t i, int64_t id, const struct db_line *cur,
                       int rc)
{
    char f[48];
    snprintf(f, sizeof(f), "ids[%zu]", i);
    if (!cur) {
        /* A missing line is a bad reference in the body, not a missing URL. */
        dom_error_reset(&c->err);
        dom_err_set(&c->err, 422, DOM_E_REFERENCE, "no line %lld", (long long)id);
        dom_err_field(&c->err, f, "unknown", "no line %lld", (long long)id);
        return -EINVAL;
    }
    if (c->err.status == 500)
        return rc;
    char detail[sizeof(c->err.detail)];
    snprintf(detail, sizeof(detail), "%s", c->err.detail);
    snprintf(c->err.detail, sizeof(c->err.detail), "line '%.64s': %.180s", cur->username, detail);
    if (c->err.nfields == 0)
        dom_err_field(&c->err, f, "refused", "line '%.64s': %.180s", cur->username, detail);
    return rc;
}

/* POST /api/v1/lines/bulk: one extension, merge patch or deletion applied to
 * up to 1000 lines in one transaction (domain/line_json.h
 * dom_line_bulk_from_json): every line changes or none does. Each line gets
 * its own audit row and change event, as if changed alone; the answer is
 * {"count", "items"} with the lines as they are now (none after a delete). */
static int lines_bulk(struct admin_call *c)
{
    static const char *const action[] = {
        [DOM_LINE_BULK_EXTEND] = "extend",
        [DOM_LINE_BULK_PATCH] = "update",
        [DOM_LINE_BULK_DELETE] = "delete",
    };
    struct dom_line_bulk_json *b = calloc(1, sizeof(*b));
    if (!b)
        return dom_err_internal(&c->err, -ENOMEM, "a bulk change");
    struct dom_actor who;
    admin_actor(c, &who);
    int rc = dom_line_bulk_from_json(c->body, c->body_len, b, &c->err);
    if (rc == 0 && who.reseller && b->op == DOM_LINE_BULK_EXTEND)
        rc = dom_err_field(&c->err, "extend", "forbidden",
                           "a reseller extends each line with a plan (POST /lines/{id}/extend)");
    if (rc == 0 && b->op == DOM_LINE_BULK_PATCH)
        rc = dom_reseller_line_patch_check(&who, &b->patch.in, &c->err);
    if (rc < 0)
        goto out;
    if ((rc = dom_begin(c->db, &c->err)) < 0)
        goto out;
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "count");
    jsonw_int(&c->w, (long long)b->nids);
    jsonw_key(&c->w, "items");
    jsonw_arr_begin(&c->w);
    for (size_t i = 0; i < b->nids; i++) {
        struct db_line cur = {0}, now = {0};
        char *before = NULL, *after = NULL;
        char etag[40];
        int64_t id = b->ids[i];
        if (who.reseller && dom_actor_line_check(c->db, &who, id, &c->err) < 0) {
            rc = bulk_failed(c, i, id, NULL, -ENOENT);
            goto line_done;
        }
        if ((rc = dom_line_get_id(c->db, id, &cur, &c->err)) < 0) {
            rc = rc == -ENOENT ? bulk_failed(c, i, id, NULL, rc) : rc;
            goto line_done;
        }
        if (!(before = line_json_text(&cur, c->now, etag))) {
            rc = dom_err_internal(&c->err, -ENOMEM, "serialising a line");
            goto line_done;
        }
        rc = b->op == DOM_LINE_BULK_EXTEND
                 ? dom_line_extend(c->db, id, &b->extend.in, c->now, NULL, &c->err)
             : b->op == DOM_LINE_BULK_PATCH ? dom_line_update_id(c->db, id, &b->patch.in, &c->err)
                                            : dom_line_delete_id(c->db, id, &c->err);
        if (rc < 0) {
            rc = bulk_failed(c, i, id, &cur, rc);
            goto line_done;
        }
        if (b->op != DOM_LINE_BULK_DELETE) {
            if ((rc = dom_line_get_id(c->db, id, &now, &c->err)) < 0)
                goto line_done;
            if (!(after = line_json_text(&now, c->now, etag))) {
                rc = dom_err_internal(&c->err, -ENOMEM, "serialising a line");
                goto line_done;
            }
            jsonw_raw(&c->w, after);
        }
        if ((rc = admin_audit(c, action[b->op], "line", id, before, after)) == 0)
            admin_notify_change(c, "line", id, action[b->op]);
    line_done:
        free(before);
        free(after);
        db_line_clear(&cur);
        db_line_clear(&now);
        if (rc < 0)
            goto rollback;
    }
    jsonw_arr_end(&c->w);
    jsonw_obj_end(&c->w);
    if (c->out.err) {
        rc = dom_err_internal(&c->err, -ENOMEM, "the answer");
        goto rollback;
    }
    if ((rc = dom_commit(c->db, &c->err)) < 0)
        goto rollback;
    goto out;
rollback:
    dom_rollback(c->db);
    buf_reset(&c->out);
    /* Nothing was written: no change is announced either. */
    buf_reset(&c->changes);
out:
    dom_line_bulk_json_free(b);
    free(b);
    return rc;
}

static const struct admin_route_ext ext_list = {
    .work = lines_list, .post = lines_list_post, .list = true, .filters = line_filters};
static const struct admin_route_ext ext_bulk = {.work = lines_bulk};
static const struct admin_route_ext ext_extend = {.work = lines_extend};
static const struct admin_route_ext ext_get = {.work = lines_get};
static const struct admin_route_ext ext_create = {.work = lines_create};
static const struct admin_route_ext ext_patch = {.work = lines_patch};
static const struct admin_route_ext ext_delete = {.work = lines_delete};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/lines", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "List lines (paged, searched, sorted)", "lines", NULL, "LineList", 200, &ext_list},
    {ROUTE_POST, "/api/v1/lines", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Create a line", "lines", "LineCreate", "Line", 201, &ext_create},
    /* Before /lines/{id}: the literal segment wins in table order. */
    {ROUTE_POST, "/api/v1/lines/bulk", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Extend, change or delete many lines at once (all or nothing; each line audited)", "lines",
     "LineBulk", "LineBulkResult", 200, &ext_bulk},
    {ROUTE_GET, "/api/v1/lines/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read", "Read a line",
     "lines", NULL, "Line", 200, &ext_get},
    {ROUTE_PATCH, "/api/v1/lines/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Change a line (JSON Merge Patch; If-Match honoured)", "lines", "LinePatch", "Line", 200,
     &ext_patch},
    {ROUTE_DELETE, "/api/v1/lines/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Delete a line (If-Match honoured)", "lines", NULL, NULL, 204, &ext_delete},
    {ROUTE_POST, "/api/v1/lines/{id}/extend", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Extend a line by days or months from max(now, exp_date), or until a date (409 "
     "NEVER_EXPIRES for a line without an expiry; If-Match honoured)",
     "lines", "LineExtend", "Line", 200, &ext_extend},
};

/* The writable members (LineCreate, LinePatch); Line adds the computed ones. */
#define LINE_PROPS                                                                                 \
    "\"password\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"                         \
    "\"max_connections\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000},"                 \
    "\"is_trial\":{\"type\":\"boolean\"},\"enabled\":{\"type\":\"boolean\"},"                      \
    "\"banned\":{\"type\":\"boolean\"},"                                                           \
    "\"allowed_outputs\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"enum\":[\"ts\",\"m3u8\"," \
    "\"mpegts\",\"hls\"]}},"                                                                       \
    "\"message\":{\"type\":[\"string\",\"null\"],\"maxLength\":1024},"                             \
    "\"notes\":{\"type\":[\"string\",\"null\"],\"maxLength\":4096},"                               \
    "\"exp_date\":{\"type\":[\"string\",\"integer\",\"null\"],\"description\":\"RFC 3339 or "      \
    "YYYY-MM-DD, or Unix seconds; null or 0: never\"},"                                            \
    "\"expires\":{\"type\":\"string\",\"description\":\"YYYY-MM-DD or never (the CLI's "           \
    "form)\"},"                                                                                    \
    "\"bouquets\":{\"type\":[\"array\",\"null\"],\"maxItems\":256,\"items\":{\"oneOf\":["          \
    "{\"type\":\"string\",\"description\":\"a bouquet name\"},"                                    \
    "{\"type\":\"integer\",\"description\":\"a bouquet id\"},"                                     \
    "{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{\"id\":{\"type\":\"integer\"},"    \
    "\"name\":{\"type\":\"string\"}}}]}}"

static const struct admin_schema schemas[] = {
    {"Line",
     "{\"type\":\"object\",\"additionalProperties\":false,"
     "\"required\":[\"id\",\"username\",\"password\",\"status\",\"max_connections\",\"exp_date\","
     "\"exp_date_epoch\",\"is_trial\",\"enabled\",\"banned\",\"allowed_outputs\",\"message\","
     "\"notes\",\"bouquets\",\"created_at\",\"updated_at\"],"
     "\"properties\":{\"id\":{\"type\":\"integer\"},"
     "\"username\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"
     "\"password\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"
     "\"status\":{\"enum\":[\"Active\",\"Expired\",\"Disabled\",\"Banned\"]},"
     "\"max_connections\":{\"type\":\"integer\",\"minimum\":0},"
     "\"owner_id\":{\"type\":[\"integer\",\"null\"],\"description\":\"the reseller that "
     "owns the line; null: the admins' own\"},"
     "\"exp_date\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"},"
     "\"exp_date_epoch\":{\"type\":[\"integer\",\"null\"]},"
     "\"is_trial\":{\"type\":\"boolean\"},\"enabled\":{\"type\":\"boolean\"},"
     "\"banned\":{\"type\":\"boolean\"},"
     "\"allowed_outputs\":{\"type\":\"array\",\"items\":{\"enum\":[\"ts\",\"m3u8\"]}},"
     "\"message\":{\"type\":\"string\"},\"notes\":{\"type\":\"string\"},"
     "\"bouquets\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":"
     "false,\"required\":[\"id\",\"name\"],\"properties\":{\"id\":{\"type\":\"integer\"},"
     "\"name\":{\"type\":\"string\"}}}},"
     "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
     "\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
     "\"active_connections\":{\"type\":\"integer\",\"minimum\":0,\"description\":\"lists "
     "only: the connections the line has open now (the client API's active_cons)\"}}}"},
    {"LineCreate", "{\"type\":\"object\",\"required\":[\"username\"],"
                   "\"examples\":[{\"username\":\"example\",\"password\":\"Example.pw-1\","
                   "\"max_connections\":2,\"exp_date\":\"2030-01-01\"}],\"properties\":{"
                   "\"username\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"
                   "\"plan_id\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"the plan "
                   "gives max_connections, allowed_outputs, bouquets, is_trial and exp_date = "
                   "now + its duration; members given here override it; required for a "
                   "reseller, whose price it sets\"},\"trial\":{\"type\":\"boolean\","
                   "\"description\":\"resellers: a trial line (the plan's trial_price, within "
                   "the group's trial limit)\"}," LINE_PROPS "}}"},
    {"LinePatch", "{\"type\":\"object\",\"description\":\"JSON Merge Patch of a Line\","
                  "\"examples\":[{\"max_connections\":3,\"message\":null}],"
                  "\"properties\":{" LINE_PROPS "}}"},
    {"LineExtend",
     "{\"type\":\"object\",\"description\":\"exactly one of days, months, until\","
     "\"examples\":[{\"days\":30}],\"minProperties\":1,\"maxProperties\":1,"
     "\"properties\":{\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":3650},"
     "\"months\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":120},"
     "\"until\":{\"type\":\"string\",\"description\":\"RFC 3339 or YYYY-MM-DD, after the "
     "current expiry\"}}}"},
    {"LineBulk",
     "{\"type\":\"object\",\"description\":\"ids and exactly one of extend, patch, delete; "
     "all or nothing\",\"required\":[\"ids\"],\"minProperties\":2,\"maxProperties\":2,"
     "\"examples\":[{\"ids\":[1],\"patch\":{\"notes\":\"checked\"}}],"
     "\"properties\":{\"ids\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":1000,"
     "\"uniqueItems\":true,\"items\":{\"type\":\"integer\",\"minimum\":1}},"
     "\"extend\":{\"$ref\":\"#/components/schemas/LineExtend\"},"
     "\"patch\":{\"$ref\":\"#/components/schemas/LinePatch\"},"
     "\"delete\":{\"const\":true}}}"},
    {"LineBulkResult",
     "{\"type\":\"object\",\"required\":[\"count\",\"items\"],\"properties\":{"
     "\"count\":{\"type\":\"integer\",\"description\":\"lines changed (or deleted)\"},"
     "\"items\":{\"type\":\"array\",\"description\":\"the lines as they are now, in the "
     "order of ids (empty after a delete)\",\"items\":{\"$ref\":\"#/components/schemas/"
     "Line\"}}}}"},
    {"LineList",
     "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"
     "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/"
     "Line\"}},\"total\":{\"type\":\"integer\"},\"page\":{\"type\":\"integer\"},"
     "\"page_size\":{\"type\":\"integer\"}}}"},
};

const struct admin_resource admin_res_lines = {"lines", routes, sizeof(routes) / sizeof(routes[0]),
                                               schemas, sizeof(schemas) / sizeof(schemas[0])};
