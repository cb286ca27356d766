#include "db/plans.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_priv.h"
#include "db/resellers.h"

static int step_err(struct db *db, int rc)
{
    return db_step_error(db, rc, "plans");
}

void db_plan_clear(struct db_plan *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->allowed_outputs);
    for (size_t i = 0; i < p->bouquet_count; i++)
        free(p->bouquets[i]);
    free(p->bouquets);
    free(p->bouquet_ids);
    free(p->reseller_group_ids);
    memset(p, 0, sizeof(*p));
}

void db_plan_list_free(struct db_plan *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        db_plan_clear(&v[i]);
    free(v);
}

static void bind_opt(struct db_stmt *st, int i, int64_t v)
{
    if (v)
        db_bind_int64(st, i, v);
    else
        db_bind_null(st, i);
}

static void bind_fields(struct db_stmt *st, const struct db_plan *p, int64_t now)
{
    db_bind_text(st, 1, p->name);
    bind_opt(st, 2, p->duration_days);
    bind_opt(st, 3, p->duration_months);
    bind_opt(st, 4, p->trial_hours);
    db_bind_int64(st, 5, p->max_connections);
    db_bind_text(st, 6, p->allowed_outputs ? p->allowed_outputs : "ts,m3u8");
    db_bind_int(st, 7, p->is_trial ? 1 : 0);
    db_bind_int64(st, 8, now);
}

int db_plan_insert(struct db *db, struct db_plan *p)
{
    struct db_stmt *st;
    int64_t now = db_now();
    if (db_prepare(db,
                   "INSERT INTO plans (name, duration_days, duration_months, trial_hours,"
                   " max_connections, allowed_outputs, is_trial, created_at, updated_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                   &st))
        return -EIO;
    bind_fields(st, p, now);
    int rc = db_step(st);
    int ret = 0;
    if (rc != DB_DONE) {
        ret = step_err(db, rc);
    } else {
        p->id = db_last_insert_id(db);
        p->created_at = p->updated_at = now;
    }
    db_finalize(st);
    return ret;
}

int db_plan_update(struct db *db, struct db_plan *p)
{
    struct db_stmt *st;
    int64_t now = db_now();
    if (db_prepare(db,
                   "UPDATE plans SET name = ?1, duration_days = ?2, duration_months = ?3,"
                   " trial_hours = ?4, max_connections = ?5, allowed_outputs = ?6,"
                   " is_trial = ?7, updated_at = ?8 WHERE id = ?9",
                   &st))
        return -EIO;
    bind_fields(st, p, now);
    db_bind_int64(st, 9, p->id);
    int rc = db_step(st);
    int ret = 0;
    if (rc != DB_DONE)
        ret = step_err(db, rc);
    else if (db_changes(db) == 0)
        ret = -ENOENT;
    else
        p->updated_at = now;
    db_finalize(st);
    return ret;
}

int db_plan_set_bouquets(struct db *db, int64_t plan_id, const int64_t *ids, size_t n)
{
    struct db_stmt *del = NULL, *ins = NULL;
    int ret = -EIO, rc;
    if (db_prepare(db, "DELETE FROM plan_bouquets WHERE plan_id = ?1", &del) ||
        db_prepare(db,
                   "INSERT INTO plan_bouquets (plan_id, bouquet_id, position) VALUES (?1, ?2, ?3)"
                   " ON CONFLICT (plan_id, bouquet_id) DO NOTHING",
                   &ins))
        goto fail;
    db_bind_int64(del, 1, plan_id);
    if ((rc = db_step(del)) != DB_DONE) {
        ret = step_err(db, rc);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        db_reset(ins);
        db_bind_int64(ins, 1, plan_id);
        db_bind_int64(ins, 2, ids[i]);
        db_bind_int64(ins, 3, (int64_t)i);
        if ((rc = db_step(ins)) != DB_DONE) {
            ret = step_err(db, rc);
            goto fail;
        }
    }
    ret = 0;
fail:
    db_finalize(del);
    db_finalize(ins);
    return ret;
}

#define PLAN_COLS                                                                                  \
    "id, name, duration_days, duration_months, trial_hours, max_connections, allowed_outputs,"     \
    " is_trial, created_at, updated_at, credit_price, trial_price"

static const char bouquet_sql[] =
    "SELECT b.id, b.name FROM plan_bouquets pb JOIN bouquets b ON b.id = pb.bouquet_id"
    " WHERE pb.plan_id = ?1 ORDER BY pb.position, b.id";

static int load_bouquets(struct db *db, struct db_stmt *bq, struct db_plan *p)
{
    size_t cap = 0;
    int rc;
    db_reset(bq);
    db_bind_int64(bq, 1, p->id);
    while ((rc = db_step(bq)) == DB_ROW) {
        if (p->bouquet_count == cap) {
            size_t nc = cap ? cap * 2 : 4;
            char **names = realloc(p->bouquets, nc * sizeof(*names));
            if (!names)
                return -ENOMEM;
            p->bouquets = names;
            int64_t *ids = realloc(p->bouquet_ids, nc * sizeof(*ids));
            if (!ids)
                return -ENOMEM;
            p->bouquet_ids = ids;
            cap = nc;
        }
        char *name = db_col_strdup(bq, 1);
        if (!name)
            return -ENOMEM;
        p->bouquet_ids[p->bouquet_count] = db_col_int64(bq, 0);
        p->bouquets[p->bouquet_count++] = name;
    }
    return rc == DB_DONE ? 0 : step_err(db, rc);
}

struct row_ctx {
    struct db *db;
    struct db_stmt *bq;
};

static int read_plan(void *ctx, struct db_stmt *st, void *row)
{
    struct row_ctx *x = ctx;
    struct db_plan *p = row;
    p->id = db_col_int64(st, 0);
    p->name = db_col_strdup(st, 1);
    p->duration_days = db_col_int64(st, 2);
    p->duration_months = db_col_int64(st, 3);
    p->trial_hours = db_col_int64(st, 4);
    p->max_connections = db_col_int64(st, 5);
    p->allowed_outputs = db_col_strdup(st, 6);
    p->is_trial = db_col_int(st, 7) != 0;
    p->created_at = db_col_int64(st, 8);
    p->updated_at = db_col_int64(st, 9);
    p->credit_price = db_col_int64(st, 10);
    p->trial_price = db_col_int64(st, 11);
    if (!p->name || !p->allowed_outputs)
        return -ENOMEM;
    int ret = load_bouquets(x->db, x->bq, p);
    return ret ? ret
               : db_plan_groups_get(x->db, p->id, &p->reseller_group_ids, &p->reseller_group_count);
}

int db_plan_get_id(struct db *db, int64_t id, struct db_plan *out)
{
    struct row_ctx x = {db, NULL};
    struct db_stmt *st = NULL;
    int ret = -EIO;
    memset(out, 0, sizeof(*out));
    if (db_prepare(db, "SELECT " PLAN_COLS " FROM plans WHERE id = ?1", &st) ||
        db_prepare(db, bouquet_sql, &x.bq))
        goto fail;
    db_bind_int64(st, 1, id);
    int rc = db_step(st);
    if (rc == DB_ROW)
        ret = read_plan(&x, st, out);
    else
        ret = rc == DB_DONE ? -ENOENT : step_err(db, rc);
    if (ret)
        db_plan_clear(out);
fail:
    db_finalize(st);
    db_finalize(x.bq);
    return ret;
}

int db_plan_find(struct db *db, const char *name, int64_t *id)
{
    struct db_stmt *st;
    if (db_prepare(db, "SELECT id FROM plans WHERE name = ?1", &st))
        return -EIO;
    db_bind_text(st, 1, name);
    int ret = db_step_id(db, st, "plans", id);
    db_finalize(st);
    return ret;
}

int db_plan_delete_id(struct db *db, int64_t id)
{
    struct db_stmt *st;
    if (db_prepare(db, "DELETE FROM plans WHERE id = ?1", &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    int rc = db_step(st);
    int ret = 0;
    if (rc != DB_DONE)
        ret = step_err(db, rc);
    else if (db_changes(db) == 0)
        ret = -ENOENT;
    db_finalize(st);
    return ret;
}

const char *const db_plan_sort_keys[] = {
    "id", "name", "created_at", "updated_at", "max_connections", NULL,
};

int db_plan_page(struct db *db, const struct db_page *p, struct db_plan **out, size_t *n,
                 int64_t *total)
{
    return db_plan_page_sellable(db, p, 0, out, n, total);
}

int db_plan_page_sellable(struct db *db, const struct db_page *p, int64_t group_id,
                          struct db_plan **out, size_t *n, int64_t *total)
{
    struct row_ctx x = {db, NULL};
    struct db_stmt *cnt = NULL, *st = NULL;
    char order[200], sql[1024], *like = NULL;
    size_t len = 0, olen = 0;
    void *v = NULL;
    bool has_id = false;
    const char *last = "ASC";
    *out = NULL;
    *n = 0;
    *total = 0;
    if (p->limit < 1 || p->limit > DB_PAGE_LIMIT || p->offset < 0 || p->nsort > DB_SORT_MAX)
        return -EINVAL;
    order[0] = '\0';
    for (size_t i = 0; i < p->nsort; i++) {
        size_t k = 0;
        while (db_plan_sort_keys[k] && (!p->sort[i] || strcmp(db_plan_sort_keys[k], p->sort[i])))
            k++;
        if (!db_plan_sort_keys[k])
            return -EINVAL;
        last = p->desc[i] ? "DESC" : "ASC";
        /* The column name comes from the allow-list, never the request. */
        olen += (size_t)snprintf(order + olen, sizeof(order) - olen, "%s%s %s", i ? ", " : "",
                                 db_plan_sort_keys[k], last);
        has_id = has_id || k == 0;
    }
    if (!has_id)
        snprintf(order + olen, sizeof(order) - olen, "%sid %s", olen ? ", " : "", last);
    const char *where = group_id ? " WHERE id IN (SELECT plan_id FROM plan_reseller_groups"
                                   " WHERE group_id = ?4)"
                                 : "";
    if (p->q && *p->q) {
        size_t q = strlen(p->q), j = 0;
        if (!(like = malloc(2 * q + 3)))
            return -ENOMEM;
        like[j++] = '%';
        for (size_t i = 0; i < q; i++) {
            if (p->q[i] == '%' || p->q[i] == '_' || p->q[i] == '\\')
                like[j++] = '\\';
            like[j++] = p->q[i];
        }
        like[j++] = '%';
        like[j] = '\0';
        /* PostgreSQL's LIKE is case-sensitive, SQLite's is not */
        where = group_id ? (db_is_sqlite(db) ? " WHERE name LIKE ?1 ESCAPE '\\' AND id IN (SELECT"
                                               " plan_id FROM plan_reseller_groups WHERE"
                                               " group_id = ?4)"
                                             : " WHERE name ILIKE ?1 ESCAPE '\\' AND id IN (SELECT"
                                               " plan_id FROM plan_reseller_groups WHERE"
                                               " group_id = ?4)")
                : db_is_sqlite(db) ? " WHERE name LIKE ?1 ESCAPE '\\'"
                                   : " WHERE name ILIKE ?1 ESCAPE '\\'";
    }
    int ret = -EIO;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM plans%s", where);
    if (db_prepare(db, sql, &cnt))
        goto fail;
    if (like)
        db_bind_text(cnt, 1, like);
    if (group_id)
        db_bind_int64(cnt, 4, group_id);
    int rc = db_step(cnt);
    if (rc != DB_ROW) {
        ret = step_err(db, rc);
        goto fail;
    }
    *total = db_col_int64(cnt, 0);
    snprintf(sql, sizeof(sql), "SELECT " PLAN_COLS " FROM plans%s ORDER BY %s LIMIT ?2 OFFSET ?3",
             where, order);
    if (db_prepare(db, sql, &st) || db_prepare(db, bouquet_sql, &x.bq))
        goto fail;
    if (like)
        db_bind_text(st, 1, like);
    db_bind_int64(st, 2, p->limit);
    db_bind_int64(st, 3, p->offset);
    if (group_id)
        db_bind_int64(st, 4, group_id);
    ret = db_step_rows(db, st, "plans", sizeof(struct db_plan), 8, read_plan, &x, &v, &len);
    if (ret == 0) {
        *out = v;
        *n = len;
        v = NULL;
        len = 0;
    }
fail:
    db_finalize(cnt);
    db_finalize(st);
    db_finalize(x.bq);
    db_plan_list_free(v, len);
    free(like);
    return ret;
}
