/*
 * resellers.c: /api/v1/reseller-groups, /api/v1/resellers (the tree, credit
 * adjustments and transfers, a reseller's ledger), /api/v1/ledger and
 * /api/v1/ledger/verify. Every rule (scope, who may do what, amounts) is
 * domain/resellers.c's; this file decodes (domain/reseller_json.c), calls,
 * audits and serialises. A reseller asking for anything outside its subtree
 * gets the domain's 404.
 *
 * Spending and moving requests (POST /lines and /lines/{id}/extend by a
 * reseller, /credits, /transfer) honour Idempotency-Key through
 * admin_idem_begin/admin_idem_finish, inside the change's transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/call.h"
#include "admin/resource.h"
#include "domain/credits.h"
#include "domain/reseller_json.h"
#include "domain/resellers.h"
#include "domain/tx.h"

/* ---- idempotency (shared with lines.c) ------------------------------------------------ */

int admin_idem_begin(struct admin_call *c, char hash[65])
{
    hash[0] = '\0';
    if (!c->idempotency_key)
        return 0;
    char path[256];
    snprintf(path, sizeof(path), "%s|%s", c->route->pattern, c->nparams ? c->params[0] : "");
    dom_idem_hash(c->method == HTTP_POST ? "POST" : "OTHER", path, c->body, c->body_len, hash);
    struct dom_idem_replay r;
    int rc = dom_idem_begin(c->db, c->who.admin_id, c->idempotency_key, hash, &r, &c->err);
    if (rc <= 0)
        return rc;
    /* The first answer, again: same status, same body; nothing is charged. */
    c->status = r.status;
    buf_reset(&c->out);
    buf_puts(&c->out, r.body);
    free(r.body);
    admin_add_header(c, "Idempotent-Replayed", "true");
    return 1;
}

int admin_idem_finish(struct admin_call *c, const char hash[65], int status)
{
    if (!c->idempotency_key)
        return 0;
    char *body = malloc(c->out.len + 1);
    if (!body)
        return dom_err_internal(&c->err, -ENOMEM, "storing the answer");
    memcpy(body, c->out.data, c->out.len);
    body[c->out.len] = '\0';
    int rc = dom_idem_finish(c->db, c->who.admin_id, c->idempotency_key, hash, status, body, c->now,
                             &c->err);
    free(body);
    return rc;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static void rollback(struct admin_call *c)
{
    dom_rollback(c->db);
    buf_reset(&c->out);
    c->etag[0] = '\0';
}

typedef int delete_fn(struct db *db, const struct dom_actor *who, int64_t id, struct dom_error *e);

/* The common end of a DELETE inside the open transaction: If-Match against
 * the current etag, the domain's delete, the audit row with the text before,
 * COMMIT, then the change notification. Takes ownership of before. */
static int delete_tail(struct admin_call *c, const char *kind, int64_t id, char *before,
                       const char *etag, delete_fn *del)
{
    struct dom_actor who;
    admin_actor(c, &who);
    int rc = -EAGAIN;
    if (!admin_if_match(c, etag) || (rc = del(c->db, &who, id, &c->err)) < 0 ||
        (rc = admin_audit(c, "delete", kind, id, before, NULL)) < 0 ||
        (rc = dom_commit(c->db, &c->err)) < 0) {
        rollback(c);
        free(before);
        return rc;
    }
    admin_notify_change(c, kind, id, "delete");
    free(before);
    return 0;
}

static char *reseller_text(const struct db_reseller *r, char etag[40])
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct jsonw w;
    jsonw_init(&w, &b);
    dom_reseller_write_json(&w, r);
    if (b.err) {
        buf_free(&b);
        return NULL;
    }
    admin_etag_of(&b, etag);
    return buf_steal(&b, NULL);
}

static char *group_text(const struct db_reseller_group *g, char etag[40])
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct jsonw w;
    jsonw_init(&w, &b);
    dom_group_write_json(&w, g);
    if (b.err) {
        buf_free(&b);
        return NULL;
    }
    admin_etag_of(&b, etag);
    return buf_steal(&b, NULL);
}

/* ---- groups ------------------------------------------------------------------------------- */

static int groups_list(struct admin_call *c)
{
    struct dom_actor who;
    admin_actor(c, &who);
    struct db_reseller_group *v = NULL;
    size_t n = 0;
    int rc = dom_group_list(c->db, &who, &v, &n, &c->err);
    if (rc < 0)
        return rc;
    struct admin_list_query q = {.page = 1, .page_size = (int64_t)n};
    admin_list_begin(c);
    for (size_t i = 0; i < n; i++)
        dom_group_write_json(&c->w, &v[i]);
    admin_list_end(c, &q, (int64_t)n);
    db_reseller_group_list_free(v, n);
    return 0;
}

static int group_answer(struct admin_call *c, int64_t id, const char *action, const char *before)
{
    struct dom_actor who;
    admin_actor(c, &who);
    struct db_reseller_group g;
    int rc = dom_group_get(c->db, &who, id, &g, &c->err);
    if (rc < 0)
        return rc;
    char etag[40];
    char *after = group_text(&g, etag);
    db_reseller_group_clear(&g);
    if (!after)
        return dom_err_internal(&c->err, -ENOMEM, "serialising a group");
    rc = admin_answer_change(c, action, "reseller_group", id, before, after);
    free(after);
    return rc;
}

static int groups_get(struct admin_call *c)
{
    struct dom_actor who;
    admin_actor(c, &who);
    int64_t id;
    if (admin_param_id(c, 0, "reseller group", &id))
        return -ENOENT;
    struct db_reseller_group g;
    int rc = dom_group_get(c->db, &who, id, &g, &c->err);
    if (rc < 0)
        return rc;
    dom_group_write_json(&c->w, &g);
    admin_set_etag(c);
    db_reseller_group_clear(&g);
    return 0;
}

static int groups_write(struct admin_call *c, bool create)
{
    struct dom_actor who;
    admin_actor(c, &who);
    int64_t id = 0;
    char *before = NULL;
    if (!create && admin_param_id(c, 0, "reseller group", &id))
        return -ENOENT;
    struct dom_group_json j;
    int rc = dom_group_from_json(c->body, c->body_len, create, &j, &c->err);
    if (rc < 0)
        goto out;
    if ((rc = dom_begin(c->db, &c->err)) < 0)
        goto out;
    if (!create) {
        struct db_reseller_group g;
        char etag[40];
        if ((rc = dom_group_get(c->db, &who, id, &g, &c->err)) < 0)
            goto fail;
        before = group_text(&g, etag);
        db_reseller_group_clear(&g);
        if (!before) {
            rc = dom_err_internal(&c->err, -ENOMEM, "serialising a group");
            goto fail;
        }
        if (!admin_if_match(c, etag)) {
            rc = -EAGAIN;
            goto fail;
        }
        rc = dom_group_update(c->db, &who, id, &j.in, &c->err);
    } else {
        rc = dom_group_create(c->db, &who, &j.in, &id, &c->err);
    }
    if (rc < 0 || (rc = group_answer(c, id, create ? "create" : "update", before)) < 0 ||
        (rc = dom_commit(c->db, &c->err)) < 0)
        goto fail;
    if (create)
        snprintf(c->location, sizeof(c->location), "/api/v1/reseller-groups/%lld", (long long)id);
    goto out;
fail:
    rollback(c);
out:
    free(before);
    dom_group_json_free(&j);
    return rc;
}

static int groups_create(struct admin_call *c)
{
    return groups_write(c, true);
}

static int groups_patch(struct admin_call *c)
{
    return groups_write(c, false);
}

static int groups_delete(struct admin_call *c)
{
    struct dom_actor who;
    admin_actor(c, &who);
    int64_t id;
    if (admin_param_id(c, 0, "reseller group", &id))
        return -ENOENT;
    struct db_reseller_group g;
    char etag[40];
    char *before = NULL;
    int rc = dom_begin(c->db, &c->err);
    if (rc < 0)
        return rc;
    if ((rc = dom_group_get(c->db, &who, id, &g, &c->err)) < 0)
        goto fail;
    before = group_text(&g, etag);
    db_reseller_group_clear(&g);
    if (!before) {
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising a group");
        goto fail;
    }
    return delete_tail(c, "reseller_group", id, before, etag, dom_group_delete);
fail:
    rollback(c);
    free(before);
    return rc;
}

/* ---- resellers ------------------------------------------------------------------------------ */

static const char *const reseller_filters[] = {"parent_id", NULL};

static int resellers_list(struct admin_call *c)
{
    struct dom_actor who;
    admin_actor(c, &who);
    struct admin_list_query q;
    admin_list_query(c, db_reseller_sort_keys, &q);
    if (c->err.status)
        return -EINVAL;
    struct dom_reseller_filter f = {.parent_id = admin_query(c, "parent_id"), .now = c->now};
    struct db_reseller *v = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc = dom_reseller_page(c->db, &who, &f, &q.db, &v, &n, &total, &c->err);
    if (rc < 0)
        return rc;
    admin_list_begin(c);
    for (size_t i = 0; i < n; i++)
        dom_reseller_write_json(&c->w, &v[i]);
    admin_list_end(c, &q, total);
    db_reseller_list_free(v, n);
    return 0;
}

/* Loads reseller {id} as the caller may see it, with its JSON and ETag. */
static int load_reseller(struct admin_call *c, int64_t *id, char **text, char etag[40])
{
    struct dom_actor who;
    admin_actor(c, &who);
    *text = NULL;
    if (admin_param_id(c, 0, "reseller", id))
        return -ENOENT;
    struct db_reseller r;
    int rc = dom_reseller_get(c->db, &who, *id, c->now, &r, &c->err);
    if (rc < 0)
        return rc;
    *text = reseller_text(&r, etag);
    db_reseller_clear(&r);
    return *text ? 0 : dom_err_internal(&c->err, -ENOMEM, "serialising a reseller");
}

static int reseller_answer(struct admin_call *c, int64_t id, const char *action, const char *before)
{
    struct dom_actor who;
    admin_actor(c, &who);
    struct db_reseller r;
    int rc = dom_reseller_get(c->db, &who, id, c->now, &r, &c->err);
    if (rc < 0)
        return rc;
    char etag[40];
    char *after = reseller_text(&r, etag);
    db_reseller_clear(&r);
    if (!after)
        return dom_err_internal(&c->err, -ENOMEM, "serialising a reseller");
    rc = admin_answer_change(c, action, "reseller", id, before, after);
    free(after);
    return rc;
}

static int resellers_get(struct admin_call *c)
{
    int64_t id;
    char *text = NULL;
    char etag[40];
    int rc = load_reseller(c, &id, &text, etag);
    if (rc == 0) {
        buf_puts(&c->out, text);
        admin_set_etag(c);
    }
    free(text);
    return rc;
}

static int resellers_create(struct admin_call *c)
{
    struct dom_actor who;
    admin_actor(c, &who);
    struct dom_reseller_json j;
    struct dom_admin_secret secret;
    memset(&secret, 0, sizeof(secret));
    int64_t id = 0;
    int rc = dom_reseller_from_json(c->body, c->body_len, true, &j, &c->err);
    if (rc < 0)
        goto out;
    if ((rc = dom_begin(c->db, &c->err)) < 0)
        goto out;
    if ((rc = dom_reseller_create(c->db, &who, &j.in, &id, &secret, &c->err)) < 0)
        goto fail;
    struct db_reseller r;
    if ((rc = dom_reseller_get(c->db, &who, id, c->now, &r, &c->err)) < 0)
        goto fail;
    char etag[40];
    char *after = reseller_text(&r, etag);
    db_reseller_clear(&r);
    if (!after) {
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising a reseller");
        goto fail;
    }
    rc = admin_audit(c, "create", "reseller", id, NULL, after);
    if (rc == 0 && secret.generated) {
        /* The generated password, once, beside the representation. */
        size_t n = strlen(after);
        buf_append(&c->out, after, n - 1);
        /* the generated alphabet is letters and digits: nothing to escape */
        buf_printf(&c->out, ",\"password\":\"%s\"}", secret.password);
    } else if (rc == 0) {
        buf_puts(&c->out, after);
    }
    free(after);
    if (rc < 0 || (rc = dom_commit(c->db, &c->err)) < 0)
        goto fail;
    admin_notify_change(c, "reseller", id, "create");
    snprintf(c->location, sizeof(c->location), "/api/v1/resellers/%lld", (long long)id);
    goto out;
fail:
    rollback(c);
out:
    memset(&secret, 0, sizeof(secret));
    dom_reseller_json_free(&j);
    return rc;
}

static int resellers_patch(struct admin_call *c)
{
    struct dom_actor who;
    admin_actor(c, &who);
    struct dom_reseller_json j;
    char *before = NULL;
    char etag[40];
    int64_t id;
    int rc = dom_reseller_from_json(c->body, c->body_len, false, &j, &c->err);
    if (rc < 0)
        goto out;
    if ((rc = dom_begin(c->db, &c->err)) < 0)
        goto out;
    if ((rc = load_reseller(c, &id, &before, etag)) < 0)
        goto fail;
    if (!admin_if_match(c, etag)) {
        rc = -EAGAIN;
        goto fail;
    }
    if ((rc = dom_reseller_update(c->db, &who, id, &j.in, &c->err)) < 0 ||
        (rc = reseller_answer(c, id, "update", before)) < 0 ||
        (rc = dom_commit(c->db, &c->err)) < 0)
        goto fail;
    goto out;
fail:
    rollback(c);
out:
    free(before);
    dom_reseller_json_free(&j);
    return rc;
}

static int resellers_delete(struct admin_call *c)
{
    char *before = NULL;
    char etag[40];
    int64_t id;
    int rc = dom_begin(c->db, &c->err);
    if (rc < 0)
        return rc;
    if ((rc = load_reseller(c, &id, &before, etag)) < 0) {
        rollback(c);
        free(before);
        return rc;
    }
    return delete_tail(c, "reseller", id, before, etag, dom_reseller_delete);
}

/* /credits (adjust) and /transfer: {"amount", "reason"}; answers the
 * reseller as it is now, with the ledger row written for it. */
static int credit_move(struct admin_call *c, bool transfer)
{
    struct dom_actor who;
    admin_actor(c, &who);
    struct dom_credit_move_json j;
    struct db_ledger_row row;
    memset(&row, 0, sizeof(row));
    char hash[65];
    int64_t id;
    if (admin_param_id(c, 0, "reseller", &id))
        return -ENOENT;
    int rc = dom_credit_move_from_json(c->body, c->body_len, &j, &c->err);
    if (rc < 0)
        goto out;
    if ((rc = dom_begin(c->db, &c->err)) < 0)
        goto out;
    if ((rc = admin_idem_begin(c, hash)) != 0) {
        dom_rollback(c->db);
        if (rc > 0)
            rc = 0; /* replayed */
        goto out;
    }
    rc = transfer ? dom_credits_transfer(c->db, &who, id, j.amount, j.reason, c->idempotency_key,
                                         c->now, &row, &c->err)
                  : dom_credits_adjust(c->db, &who, id, j.amount, j.reason, c->idempotency_key,
                                       c->now, &row, &c->err);
    if (rc < 0)
        goto fail;
    struct db_reseller r;
    if ((rc = dom_reseller_get(c->db, &who, id, c->now, &r, &c->err)) < 0)
        goto fail;
    char etag[40];
    char *after = reseller_text(&r, etag);
    db_reseller_clear(&r);
    if (!after) {
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising a reseller");
        goto fail;
    }
    rc = admin_audit(c, transfer ? "transfer" : "credit", "reseller", id, NULL, after);
    free(after);
    if (rc < 0)
        goto fail;
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "reseller");
    struct db_reseller r2;
    if ((rc = dom_reseller_get(c->db, &who, id, c->now, &r2, &c->err)) < 0)
        goto fail;
    dom_reseller_write_json(&c->w, &r2);
    db_reseller_clear(&r2);
    jsonw_key(&c->w, "ledger");
    dom_ledger_write_json(&c->w, &row);
    jsonw_obj_end(&c->w);
    if ((rc = admin_idem_finish(c, hash, 200)) < 0 || (rc = dom_commit(c->db, &c->err)) < 0)
        goto fail;
    admin_notify_change(c, "reseller", id, "update");
    goto out;
fail:
    rollback(c);
out:
    db_ledger_row_clear(&row);
    dom_credit_move_json_free(&j);
    return rc;
}

static int resellers_credits(struct admin_call *c)
{
    return credit_move(c, false);
}

static int resellers_transfer(struct admin_call *c)
{
    return credit_move(c, true);
}

/* ---- the ledger --------------------------------------------------------------------------- */

static const char *const ledger_filters[] = {"reseller_id", "kind", "since", "until", NULL};
static const char *const ledger_sorts[] = {NULL};

static int ledger_list(struct admin_call *c, int64_t reseller_id)
{
    struct dom_actor who;
    admin_actor(c, &who);
    struct admin_list_query q;
    admin_list_query(c, ledger_sorts, &q);
    struct dom_ledger_filter f = {.reseller_id = admin_query(c, "reseller_id"),
                                  .kind = admin_query(c, "kind")};
    char idtext[24];
    if (reseller_id) {
        snprintf(idtext, sizeof(idtext), "%lld", (long long)reseller_id);
        f.reseller_id = idtext;
    }
    const char *since = admin_query(c, "since"), *until = admin_query(c, "until");
    if (since && *since)
        admin_parse_time(c, "since", since, true, &f.since_ts);
    if (until && *until)
        admin_parse_time(c, "until", until, true, &f.until_ts);
    if (c->err.status)
        return -EINVAL;
    struct db_ledger_row *v = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc = dom_ledger_page(c->db, &who, &f, &q.db, &v, &n, &total, &c->err);
    if (rc < 0)
        return rc;
    admin_list_begin(c);
    for (size_t i = 0; i < n; i++)
        dom_ledger_write_json(&c->w, &v[i]);
    admin_list_end(c, &q, total);
    db_ledger_list_free(v, n);
    return 0;
}

static int ledger_all(struct admin_call *c)
{
    return ledger_list(c, 0);
}

static int reseller_ledger(struct admin_call *c)
{
    struct dom_actor who;
    admin_actor(c, &who);
    int64_t id;
    if (admin_param_id(c, 0, "reseller", &id))
        return -ENOENT;
    struct db_reseller r;
    int rc = dom_reseller_get(c->db, &who, id, c->now, &r, &c->err);
    if (rc < 0)
        return rc;
    db_reseller_clear(&r);
    return ledger_list(c, id);
}

static int ledger_verify(struct admin_call *c)
{
    struct dom_actor who;
    admin_actor(c, &who);
    struct dom_ledger_check chk;
    int rc = dom_ledger_verify(c->db, &who, &chk, &c->err);
    if (rc < 0)
        return rc;
    dom_ledger_check_write_json(&c->w, &chk);
    return 0;
}

static const struct admin_route_ext ext_groups_list = {.work = groups_list};
static const struct admin_route_ext ext_groups_create = {.work = groups_create};
static const struct admin_route_ext ext_groups_get = {.work = groups_get};
static const struct admin_route_ext ext_groups_patch = {.work = groups_patch};
static const struct admin_route_ext ext_groups_delete = {.work = groups_delete};
static const struct admin_route_ext ext_list = {
    .work = resellers_list, .list = true, .filters = reseller_filters};
static const struct admin_route_ext ext_create = {.work = resellers_create};
static const struct admin_route_ext ext_get = {.work = resellers_get};
static const struct admin_route_ext ext_patch = {.work = resellers_patch};
static const struct admin_route_ext ext_delete = {.work = resellers_delete};
static const struct admin_route_ext ext_credits = {.work = resellers_credits};
static const struct admin_route_ext ext_transfer = {.work = resellers_transfer};
static const struct admin_route_ext ext_rledger = {
    .work = reseller_ledger, .list = true, .filters = ledger_filters};
static const struct admin_route_ext ext_ledger = {
    .work = ledger_all, .list = true, .filters = ledger_filters};
static const struct admin_route_ext ext_verify = {.work = ledger_verify};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/reseller-groups", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Reseller groups (admins only)", "resellers", NULL, "ResellerGroupList", 200,
     &ext_groups_list},
    {ROUTE_POST, "/api/v1/reseller-groups", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Create a reseller group", "resellers", "ResellerGroupWrite", "ResellerGroup", 201,
     &ext_groups_create},
    {ROUTE_GET, "/api/v1/reseller-groups/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Read a reseller group", "resellers", NULL, "ResellerGroup", 200, &ext_groups_get},
    {ROUTE_PATCH, "/api/v1/reseller-groups/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Change a reseller group (merge patch; If-Match honoured)", "resellers", "ResellerGroupWrite",
     "ResellerGroup", 200, &ext_groups_patch},
    {ROUTE_DELETE, "/api/v1/reseller-groups/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Delete a reseller group (409 IN_USE while resellers are in it)", "resellers", NULL, NULL, 204,
     &ext_groups_delete},
    {ROUTE_GET, "/api/v1/resellers", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Resellers (an admin: all; a reseller: its descendants)", "resellers", NULL, "ResellerList",
     200, &ext_list},
    {ROUTE_POST, "/api/v1/resellers", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Create a reseller (its account and row; a generated password is returned once)", "resellers",
     "ResellerCreate", "Reseller", 201, &ext_create},
    {ROUTE_GET, "/api/v1/resellers/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Read a reseller (404 outside the caller's subtree)", "resellers", NULL, "Reseller", 200,
     &ext_get},
    {ROUTE_PATCH, "/api/v1/resellers/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Change a reseller (merge patch; If-Match honoured)", "resellers", "ResellerPatch", "Reseller",
     200, &ext_patch},
    {ROUTE_DELETE, "/api/v1/resellers/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Delete a reseller: its balance, lines and sub-resellers go to its parent", "resellers", NULL,
     NULL, 204, &ext_delete},
    {ROUTE_POST, "/api/v1/resellers/{id}/credits", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Adjust a balance by a signed amount (admins; never below 0; Idempotency-Key)", "resellers",
     "CreditMove", "CreditMoveResult", 200, &ext_credits},
    {ROUTE_POST, "/api/v1/resellers/{id}/transfer", admin_route_fn, NULL, ROUTE_AUTH_ADMIN,
     "lines:write",
     "Move credits from the parent to this reseller (negative: back; Idempotency-Key)", "resellers",
     "CreditMove", "CreditMoveResult", 200, &ext_transfer},
    {ROUTE_GET, "/api/v1/resellers/{id}/ledger", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "A reseller's ledger rows, newest first", "resellers", NULL, "LedgerList", 200, &ext_rledger},
    {ROUTE_GET, "/api/v1/ledger/verify", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Re-derive every balance from the ledger", "resellers", NULL, "LedgerCheck", 200, &ext_verify},
    {ROUTE_GET, "/api/v1/ledger", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Ledger rows (a reseller: its subtree's), newest first", "resellers", NULL, "LedgerList", 200,
     &ext_ledger},
};

#define CREDITS_T  "{\"type\":\"string\",\"pattern\":\"^-?[0-9]+\\\\.[0-9]{4}$\"}"
#define ID_OR_NULL "{\"type\":[\"integer\",\"null\"]}"

static const struct admin_schema schemas[] = {
    {"ResellerGroup",
     "{\"type\":\"object\",\"required\":[\"id\",\"name\",\"trial_limit\",\"trial_period_hours\","
     "\"may_create_subresellers\",\"resellers\",\"plan_ids\"],\"properties\":{"
     "\"id\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"},"
     "\"trial_limit\":{\"type\":\"integer\"},\"trial_period_hours\":{\"type\":\"integer\"},"
     "\"may_create_subresellers\":{\"type\":\"boolean\"},\"resellers\":{\"type\":\"integer\"},"
     "\"plan_ids\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}}}"},
    {"ResellerGroupWrite",
     "{\"type\":\"object\",\"examples\":[{\"name\":\"hotels\",\"trial_limit\":5,"
     "\"trial_period_hours\":24,\"may_create_subresellers\":true}],\"properties\":{"
     "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":100},"
     "\"trial_limit\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000},"
     "\"trial_period_hours\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":8760},"
     "\"may_create_subresellers\":{\"type\":\"boolean\"}}}"},
    {"ResellerGroupList",
     "{\"type\":\"object\",\"required\":[\"items\",\"total\"],\"properties\":{\"items\":{"
     "\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/ResellerGroup\"}},"
     "\"total\":{\"type\":\"integer\"},\"page\":{\"type\":\"integer\"},"
     "\"page_size\":{\"type\":\"integer\"}}}"},
    {"Reseller",
     "{\"type\":\"object\",\"required\":[\"id\",\"username\",\"parent_id\",\"group_id\","
     "\"group\",\"balance\",\"username_prefix\",\"disabled\",\"lines\",\"active_lines\","
     "\"subresellers\",\"created_at\"],\"properties\":{\"id\":{\"type\":\"integer\"},"
     "\"username\":{\"type\":\"string\"},\"parent_id\":" ID_OR_NULL ","
     "\"group_id\":{\"type\":\"integer\"},\"group\":{\"type\":\"string\"},"
     "\"balance\":" CREDITS_T ",\"username_prefix\":{\"type\":\"string\"},"
     "\"notes\":{\"type\":\"string\"},\"disabled\":{\"type\":\"boolean\"},"
     "\"may_create_subresellers\":{\"type\":\"boolean\"},\"trial_limit\":{\"type\":\"integer\"},"
     "\"trial_period_hours\":{\"type\":\"integer\"},\"lines\":{\"type\":\"integer\"},"
     "\"active_lines\":{\"type\":\"integer\"},\"subresellers\":{\"type\":\"integer\"},"
     "\"created_at\":{\"type\":\"integer\"},\"password\":{\"type\":\"string\","
     "\"description\":\"create only: the generated password, shown once\"}}}"},
    {"ResellerCreate",
     "{\"type\":\"object\",\"required\":[\"username\"],\"examples\":[{\"username\":"
     "\"hotel-north\",\"group_id\":1,\"username_prefix\":\"hn-\"}],\"properties\":{"
     "\"username\":{\"type\":\"string\"},\"password\":{\"type\":\"string\",\"minLength\":12},"
     "\"parent_id\":" ID_OR_NULL ",\"group_id\":{\"type\":\"integer\"},"
     "\"username_prefix\":{\"type\":\"string\",\"maxLength\":32},\"notes\":{\"type\":\"string\"},"
     "\"disabled\":{\"type\":\"boolean\"}}}"},
    {"ResellerPatch",
     "{\"type\":\"object\",\"examples\":[{\"notes\":\"north wing\"}],\"properties\":{"
     "\"group_id\":{\"type\":\"integer\"},\"username_prefix\":{\"type\":\"string\","
     "\"maxLength\":32},\"notes\":{\"type\":\"string\"},\"disabled\":{\"type\":\"boolean\"}}}"},
    {"ResellerList",
     "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"
     "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/"
     "Reseller\"}},\"total\":{\"type\":\"integer\"},\"page\":{\"type\":\"integer\"},"
     "\"page_size\":{\"type\":\"integer\"}}}"},
    {"CreditMove",
     "{\"type\":\"object\",\"required\":[\"amount\"],\"examples\":[{\"amount\":\"10.5\","
     "\"reason\":\"monthly top-up\"}],\"properties\":{\"amount\":{\"type\":[\"string\","
     "\"integer\"],\"description\":\"signed credits: a decimal string with up to 4 decimals, "
     "or an integer; never a JSON real\"},\"reason\":{\"type\":[\"string\",\"null\"],"
     "\"maxLength\":500}}}"},
    {"LedgerRow",
     "{\"type\":\"object\",\"required\":[\"id\",\"reseller_id\",\"kind\",\"amount\","
     "\"balance_after\",\"actor\",\"line_id\",\"plan_id\",\"transfer_id\",\"reason\","
     "\"created_at\"],\"properties\":{\"id\":{\"type\":\"integer\"},\"reseller_id\":{\"type\":"
     "\"integer\"},\"reseller\":{\"type\":\"string\"},\"kind\":{\"enum\":[\"purchase\","
     "\"extend\",\"trial\",\"transfer_in\",\"transfer_out\",\"refund\",\"adjust\"]},"
     "\"amount\":" CREDITS_T ",\"balance_after\":" CREDITS_T ",\"actor\":{\"type\":\"string\"},"
     "\"actor_id\":" ID_OR_NULL ",\"line_id\":" ID_OR_NULL ",\"plan_id\":" ID_OR_NULL ","
     "\"transfer_id\":" ID_OR_NULL ",\"reason\":{\"type\":\"string\"},"
     "\"created_at\":{\"type\":\"integer\"}}}"},
    {"CreditMoveResult",
     "{\"type\":\"object\",\"required\":[\"reseller\",\"ledger\"],\"properties\":{"
     "\"reseller\":{\"$ref\":\"#/components/schemas/Reseller\"},"
     "\"ledger\":{\"$ref\":\"#/components/schemas/LedgerRow\"}}}"},
    {"LedgerList",
     "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"
     "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/"
     "LedgerRow\"}},\"total\":{\"type\":\"integer\"},\"page\":{\"type\":\"integer\"},"
     "\"page_size\":{\"type\":\"integer\"}}}"},
    {"LedgerCheck",
     "{\"type\":\"object\",\"required\":[\"ok\",\"resellers\",\"rows\",\"mismatches\"],"
     "\"properties\":{\"ok\":{\"type\":\"boolean\"},\"resellers\":{\"type\":\"integer\"},"
     "\"rows\":{\"type\":\"integer\"},\"mismatch_count\":{\"type\":\"integer\"},"
     "\"mismatches\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
     "\"reseller_id\":{\"type\":\"integer\"},\"username\":{\"type\":\"string\"},"
     "\"balance\":" CREDITS_T ",\"ledger\":" CREDITS_T ",\"row_id\":" ID_OR_NULL "}}}}}"},
};

const struct admin_resource admin_res_resellers = {"resellers", routes,
                                                   sizeof(routes) / sizeof(routes[0]), schemas,
                                                   sizeof(schemas) / sizeof(schemas[0])};
