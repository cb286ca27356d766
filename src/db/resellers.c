#include "db/resellers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "db/db_priv.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* Runs a prepared statement that returns no row: 0, -ENOENT when it changed
 * nothing and must_change, or the step's error. Finalizes st. */
static int run(struct db *db, struct db_stmt *st, bool must_change, const char *what)
{
    int rc = db_step(st);
    int ret = rc == DB_DONE ? 0 : rc == -EEXIST || rc == -EINVAL ? rc : db_step_error(db, rc, what);
    if (ret == 0 && must_change && db_changes(db) == 0)
        ret = -ENOENT;
    db_finalize(st);
    return ret;
}

static void bind_opt_id(struct db_stmt *st, int i, int64_t v)
{
    if (v > 0)
        db_bind_int64(st, i, v);
    else
        db_bind_null(st, i);
}

static int64_t col_opt_id(struct db_stmt *st, int i)
{
    return db_col_is_null(st, i) ? 0 : db_col_int64(st, i);
}

/* "%q%" with LIKE's wildcards escaped by '\'. */
static char *like_pattern(const char *q)
{
    size_t n = strlen(q), j = 0;
    char *s = malloc(2 * n + 3);
    if (!s)
        return NULL;
    s[j++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
            s[j++] = '\\';
        s[j++] = q[i];
    }
    s[j++] = '%';
    s[j] = '\0';
    return s;
}

/* ---- groups ------------------------------------------------------------------------- */

void db_reseller_group_clear(struct db_reseller_group *g)
{
    free(g->name);
    free(g->plan_ids);
    memset(g, 0, sizeof(*g));
}

void db_reseller_group_list_free(struct db_reseller_group *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        db_reseller_group_clear(&v[i]);
    free(v);
}

#define GROUP_COLS                                                                                 \
    "g.id, g.name, g.trial_limit, g.trial_period_hours, g.may_create_subresellers,"                \
    " g.created_at, g.updated_at, (SELECT count(*) FROM resellers r WHERE r.group_id = g.id)"

static int group_plans(struct db *db, struct db_reseller_group *g)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db,
                         "SELECT plan_id FROM plan_reseller_groups WHERE group_id = ?1"
                         " ORDER BY plan_id",
                         &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, g->id);
    size_t cap = 0;
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        int64_t *grown = array_reserve(g->plan_ids, &cap, g->plan_count + 1, sizeof(int64_t), 8);
        if (!grown) {
            db_finalize(st);
            return -ENOMEM;
        }
        g->plan_ids = grown;
        g->plan_ids[g->plan_count++] = db_col_int64(st, 0);
    }
    ret = rc == DB_DONE ? 0 : db_step_error(db, rc, "group plans");
    db_finalize(st);
    return ret;
}

static int read_group(void *ctx, struct db_stmt *st, void *row)
{
    struct db_reseller_group *g = row;
    g->id = db_col_int64(st, 0);
    g->name = db_col_strdup(st, 1);
    g->trial_limit = db_col_int64(st, 2);
    g->trial_period_hours = db_col_int64(st, 3);
    g->may_create_subresellers = db_col_int(st, 4) != 0;
    g->created_at = db_col_int64(st, 5);
    g->updated_at = db_col_int64(st, 6);
    g->resellers = db_col_int64(st, 7);
    if (!g->name)
        return -ENOMEM;
    return ctx ? group_plans(ctx, g) : 0;
}

int db_reseller_group_insert(struct db *db, struct db_reseller_group *g, int64_t now)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db,
                         "INSERT INTO reseller_groups (name, trial_limit, trial_period_hours,"
                         " may_create_subresellers, created_at, updated_at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
                         &st);
    if (ret)
        return ret;
    db_bind_text(st, 1, g->name);
    db_bind_int64(st, 2, g->trial_limit);
    db_bind_int64(st, 3, g->trial_period_hours);
    db_bind_int(st, 4, g->may_create_subresellers ? 1 : 0);
    db_bind_int64(st, 5, now);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        g->id = db_col_int64(st, 0);
        g->created_at = g->updated_at = now;
        ret = 0;
    } else {
        ret = rc == -EEXIST || rc == -EINVAL ? rc : db_step_error(db, rc, "reseller group");
    }
    db_finalize(st);
    return ret;
}

int db_reseller_group_update(struct db *db, const struct db_reseller_group *g, int64_t now)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db,
                         "UPDATE reseller_groups SET name = ?2, trial_limit = ?3,"
                         " trial_period_hours = ?4, may_create_subresellers = ?5, updated_at = ?6"
                         " WHERE id = ?1",
                         &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, g->id);
    db_bind_text(st, 2, g->name);
    db_bind_int64(st, 3, g->trial_limit);
    db_bind_int64(st, 4, g->trial_period_hours);
    db_bind_int(st, 5, g->may_create_subresellers ? 1 : 0);
    db_bind_int64(st, 6, now);
    return run(db, st, true, "reseller group");
}

int db_reseller_group_get(struct db *db, int64_t id, struct db_reseller_group *out)
{
    memset(out, 0, sizeof(*out));
    struct db_stmt *st = NULL;
    int ret = db_prepare(db, "SELECT " GROUP_COLS " FROM reseller_groups g WHERE g.id = ?1", &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, id);
    int rc = db_step(st);
    if (rc == DB_ROW)
        ret = read_group(NULL, st, out);
    else
        ret = rc == DB_DONE ? -ENOENT : db_step_error(db, rc, "reseller group");
    db_finalize(st);
    if (ret == 0)
        ret = group_plans(db, out);
    if (ret)
        db_reseller_group_clear(out);
    return ret;
}

int db_reseller_group_list(struct db *db, struct db_reseller_group **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct db_stmt *st = NULL;
    void *v = NULL;
    size_t len = 0;
    int ret = db_prepare(db, "SELECT " GROUP_COLS " FROM reseller_groups g ORDER BY g.name", &st);
    if (ret)
        return ret;
    ret = db_step_rows(db, st, "reseller groups", sizeof(struct db_reseller_group), 8, read_group,
                       NULL, &v, &len);
    db_finalize(st);
    for (size_t i = 0; ret == 0 && i < len; i++)
        ret = group_plans(db, &((struct db_reseller_group *)v)[i]);
    if (ret) {
        db_reseller_group_list_free(v, len);
        return ret;
    }
    *out = v;
    *n = len;
    return 0;
}

int db_reseller_group_delete(struct db *db, int64_t id)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db, "SELECT count(*) FROM resellers WHERE group_id = ?1", &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, id);
    int64_t members = 0;
    ret = db_step_id(db, st, "group members", &members);
    db_finalize(st);
    if (ret)
        return ret;
    if (members)
        return -EBUSY;
    if ((ret = db_prepare(db, "DELETE FROM reseller_groups WHERE id = ?1", &st)))
        return ret;
    db_bind_int64(st, 1, id);
    return run(db, st, true, "reseller group");
}

/* ---- resellers ---------------------------------------------------------------------- */

void db_reseller_clear(struct db_reseller *r)
{
    free(r->username);
    free(r->path);
    free(r->group_name);
    free(r->username_prefix);
    free(r->notes);
    memset(r, 0, sizeof(*r));
}

void db_reseller_list_free(struct db_reseller *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        db_reseller_clear(&v[i]);
    free(v);
}

/* ?1 in the counts is `now`. */
#define RESELLER_COLS                                                                              \
    "r.admin_id, a.username, a.disabled, r.parent_id, r.path, r.group_id, g.name,"                 \
    " g.trial_limit, g.trial_period_hours, g.may_create_subresellers, r.balance,"                  \
    " r.username_prefix, r.notes, r.created_at, r.updated_at, r.version,"                          \
    " (SELECT count(*) FROM lines l WHERE l.reseller_id = r.admin_id),"                            \
    " (SELECT count(*) FROM lines l WHERE l.reseller_id = r.admin_id AND l.banned = 0"             \
    "  AND l.enabled = 1 AND (l.exp_date IS NULL OR l.exp_date = 0 OR l.exp_date > ?1)),"          \
    " (SELECT count(*) FROM resellers c WHERE c.parent_id = r.admin_id)"
#define RESELLER_FROM                                                                              \
    " FROM resellers r JOIN admins a ON a.id = r.admin_id"                                         \
    " JOIN reseller_groups g ON g.id = r.group_id"

static int read_reseller(void *ctx, struct db_stmt *st, void *row)
{
    (void)ctx;
    struct db_reseller *r = row;
    r->id = db_col_int64(st, 0);
    r->username = db_col_strdup(st, 1);
    r->disabled = db_col_int(st, 2) != 0;
    r->parent_id = col_opt_id(st, 3);
    r->path = db_col_strdup(st, 4);
    r->group_id = db_col_int64(st, 5);
    r->group_name = db_col_strdup(st, 6);
    r->trial_limit = db_col_int64(st, 7);
    r->trial_period_hours = db_col_int64(st, 8);
    r->may_create_subresellers = db_col_int(st, 9) != 0;
    r->balance = db_col_int64(st, 10);
    r->username_prefix = db_col_strdup(st, 11);
    r->notes = db_col_strdup(st, 12);
    r->created_at = db_col_int64(st, 13);
    r->updated_at = db_col_int64(st, 14);
    r->version = db_col_int64(st, 15);
    r->lines = db_col_int64(st, 16);
    r->active_lines = db_col_int64(st, 17);
    r->subresellers = db_col_int64(st, 18);
    if (!r->username || !r->path || !r->group_name || !r->username_prefix || !r->notes)
        return -ENOMEM;
    return 0;
}

int db_reseller_insert(struct db *db, const struct db_reseller *r, int64_t now)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(
        db,
        "INSERT INTO resellers (admin_id, parent_id, path, group_id, balance, username_prefix,"
        " notes, created_at, updated_at, version)"
        " VALUES (?1, ?2, COALESCE((SELECT p.path FROM resellers p WHERE p.admin_id = ?2), '/')"
        " || CAST(?1 AS TEXT) || '/', ?3, 0, ?4, ?5, ?6, ?6, 0)",
        &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, r->id);
    bind_opt_id(st, 2, r->parent_id);
    db_bind_int64(st, 3, r->group_id);
    db_bind_text(st, 4, r->username_prefix ? r->username_prefix : "");
    db_bind_text(st, 5, r->notes ? r->notes : "");
    db_bind_int64(st, 6, now);
    return run(db, st, false, "reseller");
}

int db_reseller_get(struct db *db, int64_t id, int64_t now, struct db_reseller *out)
{
    memset(out, 0, sizeof(*out));
    struct db_stmt *st = NULL;
    int ret = db_prepare(db, "SELECT " RESELLER_COLS RESELLER_FROM " WHERE r.admin_id = ?2", &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, now);
    db_bind_int64(st, 2, id);
    int rc = db_step(st);
    if (rc == DB_ROW)
        ret = read_reseller(NULL, st, out);
    else
        ret = rc == DB_DONE ? -ENOENT : db_step_error(db, rc, "reseller");
    db_finalize(st);
    if (ret)
        db_reseller_clear(out);
    return ret;
}

int db_reseller_update(struct db *db, const struct db_reseller *r, int64_t now)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db,
                         "UPDATE resellers SET group_id = ?2, username_prefix = ?3, notes = ?4,"
                         " updated_at = ?5, version = version + 1 WHERE admin_id = ?1",
                         &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, r->id);
    db_bind_int64(st, 2, r->group_id);
    db_bind_text(st, 3, r->username_prefix ? r->username_prefix : "");
    db_bind_text(st, 4, r->notes ? r->notes : "");
    db_bind_int64(st, 5, now);
    return run(db, st, true, "reseller");
}

const char *const db_reseller_sort_keys[] = {"id", "username", "balance", "created_at", NULL};
static const char *const reseller_sort_sql[] = {"r.admin_id", "a.username", "r.balance",
                                                "r.created_at"};

int db_reseller_page(struct db *db, const struct db_reseller_filter *f, const struct db_page *p,
                     struct db_reseller **out, size_t *n, int64_t *total)
{
    *out = NULL;
    *n = 0;
    *total = 0;
    if (p->limit < 1 || p->limit > DB_PAGE_LIMIT || p->offset < 0 || p->nsort > DB_SORT_MAX)
        return -EINVAL;
    char order[200] = " ORDER BY ";
    size_t len = strlen(order);
    for (size_t i = 0; i < p->nsort; i++) {
        size_t k = 0;
        while (db_reseller_sort_keys[k] && strcmp(db_reseller_sort_keys[k], p->sort[i]))
            k++;
        if (!db_reseller_sort_keys[k])
            return -EINVAL;
        int w = snprintf(order + len, sizeof(order) - len, "%s %s, ", reseller_sort_sql[k],
                         p->desc[i] ? "DESC" : "ASC");
        if (w < 0 || (size_t)w >= sizeof(order) - len)
            return -ENAMETOOLONG;
        len += (size_t)w;
    }
    snprintf(order + len, sizeof(order) - len, "r.admin_id ASC");
    char *like = p->q && *p->q ? like_pattern(p->q) : NULL;
    if (p->q && *p->q && !like)
        return -ENOMEM;
    char where[512];
    snprintf(where, sizeof(where), " WHERE 1 = 1%s%s%s",
             f->within ? " AND r.path LIKE (SELECT m.path FROM resellers m WHERE m.admin_id = ?2)"
                         " || '_%' AND r.admin_id <> ?2"
                       : "",
             f->parent_id > 0   ? " AND r.parent_id = ?3"
             : f->parent_id < 0 ? " AND r.parent_id IS NULL"
                                : "",
             like ? (db_is_sqlite(db) ? " AND a.username LIKE ?4 ESCAPE '\\'"
                                      : " AND a.username ILIKE ?4 ESCAPE '\\'")
                  : "");
    char sql[2048];
    struct db_stmt *st = NULL;
    void *v = NULL;
    size_t got = 0;
    snprintf(sql, sizeof(sql), "SELECT count(*)" RESELLER_FROM "%s", where);
    int ret = db_prepare(db, sql, &st);
    if (ret)
        goto out;
    db_bind_int64(st, 1, f->now);
    db_bind_int64(st, 2, f->within);
    db_bind_int64(st, 3, f->parent_id);
    if (like)
        db_bind_text(st, 4, like);
    if ((ret = db_step_id(db, st, "resellers", total)))
        goto out;
    db_finalize(st);
    st = NULL;
    snprintf(sql, sizeof(sql), "SELECT " RESELLER_COLS RESELLER_FROM "%s%s LIMIT ?5 OFFSET ?6",
             where, order);
    if ((ret = db_prepare(db, sql, &st)))
        goto out;
    db_bind_int64(st, 1, f->now);
    db_bind_int64(st, 2, f->within);
    db_bind_int64(st, 3, f->parent_id);
    if (like)
        db_bind_text(st, 4, like);
    db_bind_int64(st, 5, p->limit);
    db_bind_int64(st, 6, p->offset);
    ret = db_step_rows(db, st, "resellers", sizeof(struct db_reseller), 16, read_reseller, NULL, &v,
                       &got);
    if (ret == 0) {
        *out = v;
        *n = got;
        v = NULL;
        got = 0;
    }
out:
    db_finalize(st);
    db_reseller_list_free(v, got);
    free(like);
    return ret;
}

/* Runs a query whose one row is a count; *out. */
static int count_query(struct db *db, const char *sql, int64_t a, int64_t b, int64_t *out)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db, sql, &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, a);
    db_bind_int64(st, 2, b);
    ret = db_step_id(db, st, "count", out);
    db_finalize(st);
    return ret;
}

int db_reseller_in_subtree(struct db *db, int64_t ancestor, int64_t id)
{
    int64_t n = 0;
    int ret = count_query(db,
                          "SELECT count(*) FROM resellers o, resellers m WHERE m.admin_id = ?1"
                          " AND o.admin_id = ?2 AND o.path LIKE m.path || '%'",
                          ancestor, id, &n);
    return ret ? ret : n > 0;
}

int db_reseller_line_in_subtree(struct db *db, int64_t ancestor, int64_t line_id)
{
    int64_t n = 0;
    int ret = count_query(db,
                          "SELECT count(*) FROM lines l, resellers o, resellers m"
                          " WHERE m.admin_id = ?1 AND l.id = ?2 AND o.admin_id = l.reseller_id"
                          " AND o.path LIKE m.path || '%'",
                          ancestor, line_id, &n);
    return ret ? ret : n > 0 ? 0 : -ENOENT;
}

int db_reseller_device_in_subtree(struct db *db, int64_t ancestor, int64_t device_id)
{
    int64_t n = 0;
    int ret = count_query(db,
                          "SELECT count(*) FROM devices d, lines l, resellers o, resellers m"
                          " WHERE m.admin_id = ?1 AND d.id = ?2 AND l.id = d.line_id"
                          " AND o.admin_id = l.reseller_id AND o.path LIKE m.path || '%'",
                          ancestor, device_id, &n);
    return ret ? ret : n > 0 ? 0 : -ENOENT;
}

int db_reseller_reparent_children(struct db *db, int64_t from, int64_t to)
{
    /* Every descendant's path loses from's own segment: '/1/5/9/' under 5
     * moving to 1 becomes '/1/9/'. The prefix (from's path) is replaced by
     * the new parent's path ('/' at the top). */
    struct db_stmt *st = NULL;
    int ret = db_prepare(
        db,
        "UPDATE resellers SET path = COALESCE((SELECT p.path FROM resellers p WHERE p.admin_id"
        " = ?2), '/') || substr(path, length((SELECT f.path FROM resellers f WHERE f.admin_id ="
        " ?1)) + 1), version = version + 1 WHERE path LIKE (SELECT f.path FROM resellers f"
        " WHERE f.admin_id = ?1) || '_%'",
        &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, from);
    bind_opt_id(st, 2, to);
    if ((ret = run(db, st, false, "reseller paths")))
        return ret;
    if ((ret = db_prepare(db, "UPDATE resellers SET parent_id = ?2 WHERE parent_id = ?1", &st)))
        return ret;
    db_bind_int64(st, 1, from);
    bind_opt_id(st, 2, to);
    return run(db, st, false, "reseller parents");
}

int db_reseller_delete(struct db *db, int64_t id)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db, "DELETE FROM resellers WHERE admin_id = ?1", &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, id);
    return run(db, st, true, "reseller");
}

/* Steps an UPDATE ... RETURNING balance: 0 with *after, or `none` when no
 * row matched. */
static int balance_step(struct db *db, struct db_stmt *st, int none, int64_t *after)
{
    int rc = db_step(st);
    int ret;
    if (rc == DB_ROW) {
        if (after)
            *after = db_col_int64(st, 0);
        ret = 0;
    } else {
        ret = rc == DB_DONE ? none : db_step_error(db, rc, "balance");
    }
    db_finalize(st);
    return ret;
}

int db_reseller_debit(struct db *db, int64_t id, int64_t amount, int64_t now, int64_t *after)
{
    if (amount < 0)
        return -EINVAL;
    struct db_stmt *st = NULL;
    /* The guard is the WHERE: never read the balance and write it back. */
    int ret = db_prepare(db,
                         "UPDATE resellers SET balance = balance - ?2, version = version + 1,"
                         " updated_at = ?3 WHERE admin_id = ?1 AND balance >= ?2"
                         " RETURNING balance",
                         &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, id);
    db_bind_int64(st, 2, amount);
    db_bind_int64(st, 3, now);
    return balance_step(db, st, -ENOSPC, after);
}

int db_reseller_credit(struct db *db, int64_t id, int64_t amount, int64_t max, int64_t now,
                       int64_t *after)
{
    if (amount < 0 || amount > max)
        return -EOVERFLOW;
    struct db_stmt *st = NULL;
    int ret = db_prepare(db,
                         "UPDATE resellers SET balance = balance + ?2, version = version + 1,"
                         " updated_at = ?4 WHERE admin_id = ?1 AND balance <= ?3"
                         " RETURNING balance",
                         &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, id);
    db_bind_int64(st, 2, amount);
    db_bind_int64(st, 3, max - amount);
    db_bind_int64(st, 4, now);
    ret = balance_step(db, st, -EOVERFLOW, after);
    if (ret == -EOVERFLOW) { /* absent, or past max */
        int64_t n = 0;
        if (count_query(db, "SELECT count(*) FROM resellers WHERE admin_id = ?1", id, 0, &n) == 0 &&
            n == 0)
            ret = -ENOENT;
    }
    return ret;
}

/* ---- the ledger --------------------------------------------------------------------- */

void db_ledger_row_clear(struct db_ledger_row *r)
{
    free(r->reseller);
    free(r->kind);
    free(r->actor);
    free(r->reason);
    free(r->idempotency_key);
    free(r->request_hash);
    memset(r, 0, sizeof(*r));
}

void db_ledger_list_free(struct db_ledger_row *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        db_ledger_row_clear(&v[i]);
    free(v);
}

int db_ledger_insert(struct db *db, struct db_ledger_row *r)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db,
                         "INSERT INTO credit_ledger (reseller_id, kind, amount, balance_after,"
                         " actor_admin_id, actor, line_id, plan_id, transfer_id, reason,"
                         " idempotency_key, request_hash, created_at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                         " RETURNING id",
                         &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, r->reseller_id);
    db_bind_text(st, 2, r->kind);
    db_bind_int64(st, 3, r->amount);
    db_bind_int64(st, 4, r->balance_after);
    bind_opt_id(st, 5, r->actor_admin_id);
    db_bind_text(st, 6, r->actor ? r->actor : "");
    bind_opt_id(st, 7, r->line_id);
    bind_opt_id(st, 8, r->plan_id);
    bind_opt_id(st, 9, r->transfer_id);
    db_bind_text(st, 10, r->reason ? r->reason : "");
    db_bind_text(st, 11, r->idempotency_key);
    db_bind_text(st, 12, r->request_hash);
    db_bind_int64(st, 13, r->created_at);
    ret = db_step_id(db, st, "ledger row", &r->id);
    db_finalize(st);
    return ret == -ENOENT ? -EIO : ret;
}

int db_ledger_next_transfer_id(struct db *db, int64_t *out)
{
    return count_query(db, "SELECT COALESCE(MAX(transfer_id), 0) + 1 FROM credit_ledger", 0, 0,
                       out);
}

int db_ledger_count_kind(struct db *db, int64_t reseller_id, const char *kind, int64_t since,
                         int64_t *out)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db,
                         "SELECT count(*) FROM credit_ledger WHERE reseller_id = ?1 AND kind = ?2"
                         " AND created_at >= ?3",
                         &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, reseller_id);
    db_bind_text(st, 2, kind);
    db_bind_int64(st, 3, since);
    ret = db_step_id(db, st, "ledger count", out);
    db_finalize(st);
    return ret;
}

#define LEDGER_COLS                                                                                \
    "x.id, x.reseller_id, COALESCE(a.username, ''), x.kind, x.amount, x.balance_after,"            \
    " x.actor_admin_id, x.actor, x.line_id, x.plan_id, x.transfer_id, x.reason,"                   \
    " x.idempotency_key, x.request_hash, x.created_at"

static int read_ledger(void *ctx, struct db_stmt *st, void *row)
{
    (void)ctx;
    struct db_ledger_row *r = row;
    r->id = db_col_int64(st, 0);
    r->reseller_id = db_col_int64(st, 1);
    r->reseller = db_col_strdup(st, 2);
    r->kind = db_col_strdup(st, 3);
    r->amount = db_col_int64(st, 4);
    r->balance_after = db_col_int64(st, 5);
    r->actor_admin_id = col_opt_id(st, 6);
    r->actor = db_col_strdup(st, 7);
    r->line_id = col_opt_id(st, 8);
    r->plan_id = col_opt_id(st, 9);
    r->transfer_id = col_opt_id(st, 10);
    r->reason = db_col_strdup(st, 11);
    r->idempotency_key = db_col_is_null(st, 12) ? NULL : db_col_strdup(st, 12);
    r->request_hash = db_col_is_null(st, 13) ? NULL : db_col_strdup(st, 13);
    r->created_at = db_col_int64(st, 14);
    if (!r->reseller || !r->kind || !r->actor || !r->reason)
        return -ENOMEM;
    return 0;
}

int db_ledger_page(struct db *db, const struct db_ledger_filter *f, const struct db_page *p,
                   struct db_ledger_row **out, size_t *n, int64_t *total)
{
    *out = NULL;
    *n = 0;
    *total = 0;
    if (p->limit < 1 || p->limit > DB_PAGE_LIMIT || p->offset < 0)
        return -EINVAL;
    char where[512];
    snprintf(where, sizeof(where), " WHERE 1 = 1%s%s%s%s%s",
             f->within ? " AND x.reseller_id IN (SELECT o.admin_id FROM resellers o, resellers m"
                         " WHERE m.admin_id = ?1 AND o.path LIKE m.path || '%')"
                       : "",
             f->reseller_id ? " AND x.reseller_id = ?2" : "", f->kind ? " AND x.kind = ?3" : "",
             f->since ? " AND x.created_at >= ?4" : "", f->until ? " AND x.created_at < ?5" : "");
    char sql[1536];
    struct db_stmt *st = NULL;
    void *v = NULL;
    size_t got = 0;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM credit_ledger x%s", where);
    int ret = db_prepare(db, sql, &st);
    for (int pass = 0; ret == 0 && pass < 2; pass++) {
        db_bind_int64(st, 1, f->within);
        db_bind_int64(st, 2, f->reseller_id);
        if (f->kind)
            db_bind_text(st, 3, f->kind);
        db_bind_int64(st, 4, f->since);
        db_bind_int64(st, 5, f->until);
        if (pass == 0) {
            if ((ret = db_step_id(db, st, "ledger", total)))
                break;
            db_finalize(st);
            st = NULL;
            snprintf(sql, sizeof(sql),
                     "SELECT " LEDGER_COLS " FROM credit_ledger x LEFT JOIN admins a"
                     " ON a.id = x.reseller_id%s ORDER BY x.id DESC LIMIT ?6 OFFSET ?7",
                     where);
            ret = db_prepare(db, sql, &st);
        } else {
            db_bind_int64(st, 6, p->limit);
            db_bind_int64(st, 7, p->offset);
            ret = db_step_rows(db, st, "ledger", sizeof(struct db_ledger_row), 16, read_ledger,
                               NULL, &v, &got);
        }
    }
    db_finalize(st);
    if (ret) {
        db_ledger_list_free(v, got);
        return ret;
    }
    *out = v;
    *n = got;
    return 0;
}

int db_ledger_verify(struct db *db, int64_t *resellers, int64_t *rows,
                     struct db_ledger_mismatch *mis, size_t max, size_t *nmis)
{
    *resellers = *rows = 0;
    *nmis = 0;
    /* One ordered walk over the ledger (by reseller, then id) joined with
     * the resellers' stored balances, plus the resellers with no row. */
    struct db_stmt *st = NULL;
    int ret = db_prepare(
        db,
        "SELECT k.rid, COALESCE(r.balance, 0), COALESCE(a.username, ''),"
        " CASE WHEN r.admin_id IS NULL THEN 0 ELSE 1 END,"
        " x.id, x.amount, x.balance_after FROM (SELECT admin_id AS rid FROM resellers UNION"
        " SELECT DISTINCT reseller_id FROM credit_ledger) k LEFT JOIN resellers r ON"
        " r.admin_id = k.rid LEFT JOIN admins a ON a.id = k.rid LEFT JOIN credit_ledger x ON"
        " x.reseller_id = k.rid ORDER BY k.rid, x.id",
        &st);
    if (ret)
        return ret;
    int64_t cur = 0, sum = 0, balance = 0, bad_row = 0;
    char name[65] = "";
    bool have = false;
    int rc;
#define FLUSH()                                                                                    \
    do {                                                                                           \
        if (have && (sum != balance || bad_row)) {                                                 \
            if (*nmis < max) {                                                                     \
                struct db_ledger_mismatch *m = &mis[*nmis];                                        \
                m->reseller_id = cur;                                                              \
                snprintf(m->username, sizeof(m->username), "%s", name);                            \
                m->balance = balance;                                                              \
                m->ledger = sum;                                                                   \
                m->row_id = bad_row;                                                               \
            }                                                                                      \
            (*nmis)++;                                                                             \
        }                                                                                          \
    } while (0)
    while ((rc = db_step(st)) == DB_ROW) {
        int64_t rid = db_col_int64(st, 0);
        if (!have || rid != cur) {
            FLUSH();
            have = true;
            cur = rid;
            sum = 0;
            bad_row = 0;
            balance = db_col_int64(st, 1);
            snprintf(name, sizeof(name), "%s", db_col_text(st, 2));
            if (db_col_int(st, 3))
                (*resellers)++;
        }
        if (db_col_is_null(st, 4))
            continue;
        (*rows)++;
        int64_t amount = db_col_int64(st, 5);
        if (__builtin_add_overflow(sum, amount, &sum)) {
            db_finalize(st);
            return -EOVERFLOW;
        }
        if (!bad_row && db_col_int64(st, 6) != sum)
            bad_row = db_col_int64(st, 4);
    }
    FLUSH();
#undef FLUSH
    ret = rc == DB_DONE ? 0 : db_step_error(db, rc, "ledger verify");
    db_finalize(st);
    return ret;
}

/* ---- idempotency keys --------------------------------------------------------------- */

void db_idem_clear(struct db_idem *r)
{
    free(r->request_hash);
    free(r->response);
    memset(r, 0, sizeof(*r));
}

int db_idem_get(struct db *db, int64_t actor, const char *key, struct db_idem *out)
{
    memset(out, 0, sizeof(*out));
    struct db_stmt *st = NULL;
    int ret = db_prepare(db,
                         "SELECT request_hash, status, response FROM idempotency_keys"
                         " WHERE actor_admin_id = ?1 AND key = ?2",
                         &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, actor);
    db_bind_text(st, 2, key);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        out->request_hash = db_col_strdup(st, 0);
        out->status = db_col_int(st, 1);
        out->response = db_col_strdup(st, 2);
        ret = out->request_hash && out->response ? 0 : -ENOMEM;
    } else {
        ret = rc == DB_DONE ? -ENOENT : db_step_error(db, rc, "idempotency key");
    }
    db_finalize(st);
    if (ret)
        db_idem_clear(out);
    return ret;
}

int db_idem_put(struct db *db, int64_t actor, const char *key, const char *request_hash, int status,
                const char *response, int64_t now)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db,
                         "INSERT INTO idempotency_keys (actor_admin_id, key, request_hash, status,"
                         " response, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                         &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, actor);
    db_bind_text(st, 2, key);
    db_bind_text(st, 3, request_hash);
    db_bind_int(st, 4, status);
    db_bind_text(st, 5, response);
    db_bind_int64(st, 6, now);
    return run(db, st, false, "idempotency key");
}

/* ---- plans -------------------------------------------------------------------------- */

int db_plan_prices_get(struct db *db, int64_t plan_id, int64_t *credit_price, int64_t *trial_price)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db, "SELECT credit_price, trial_price FROM plans WHERE id = ?1", &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, plan_id);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        *credit_price = db_col_int64(st, 0);
        *trial_price = db_col_int64(st, 1);
        ret = 0;
    } else {
        ret = rc == DB_DONE ? -ENOENT : db_step_error(db, rc, "plan prices");
    }
    db_finalize(st);
    return ret;
}

int db_plan_prices_set(struct db *db, int64_t plan_id, int64_t credit_price, int64_t trial_price)
{
    struct db_stmt *st = NULL;
    int ret =
        db_prepare(db, "UPDATE plans SET credit_price = ?2, trial_price = ?3 WHERE id = ?1", &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, plan_id);
    db_bind_int64(st, 2, credit_price);
    db_bind_int64(st, 3, trial_price);
    return run(db, st, true, "plan prices");
}

int db_plan_groups_get(struct db *db, int64_t plan_id, int64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    struct db_stmt *st = NULL;
    int ret = db_prepare(db,
                         "SELECT group_id FROM plan_reseller_groups WHERE plan_id = ?1"
                         " ORDER BY group_id",
                         &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, plan_id);
    size_t cap = 0;
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        int64_t *grown = array_reserve(*ids, &cap, *n + 1, sizeof(int64_t), 8);
        if (!grown) {
            db_finalize(st);
            return -ENOMEM;
        }
        *ids = grown;
        (*ids)[(*n)++] = db_col_int64(st, 0);
    }
    ret = rc == DB_DONE ? 0 : db_step_error(db, rc, "plan groups");
    db_finalize(st);
    return ret;
}

int db_plan_groups_set(struct db *db, int64_t plan_id, const int64_t *ids, size_t n)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db, "DELETE FROM plan_reseller_groups WHERE plan_id = ?1", &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, plan_id);
    if ((ret = run(db, st, false, "plan groups")))
        return ret;
    for (size_t i = 0; i < n; i++) {
        if ((ret = db_prepare(db,
                              "INSERT INTO plan_reseller_groups (plan_id, group_id) VALUES (?1, ?2)"
                              " ON CONFLICT DO NOTHING",
                              &st)))
            return ret;
        db_bind_int64(st, 1, plan_id);
        db_bind_int64(st, 2, ids[i]);
        if ((ret = run(db, st, false, "plan groups")))
            return ret;
    }
    return 0;
}

int db_plan_sellable(struct db *db, int64_t plan_id, int64_t group_id)
{
    int64_t k = 0;
    int ret = count_query(db,
                          "SELECT count(*) FROM plan_reseller_groups WHERE plan_id = ?1"
                          " AND group_id = ?2",
                          plan_id, group_id, &k);
    return ret ? ret : k > 0;
}
