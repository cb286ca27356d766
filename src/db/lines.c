#include "db/lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db_sqlite.h"

static int step_err(struct db *db, int rc)
{
    return db_step_error(db, rc, "lines");
}

void db_line_clear(struct db_line *l)
{
    if (!l)
        return;
    free(l->username);
    free(l->password);
    free(l->allowed_outputs);
    free(l->message);
    for (size_t i = 0; i < l->bouquet_count; i++)
        free(l->bouquets[i]);
    free(l->bouquets);
    memset(l, 0, sizeof(*l));
}

static void bind_fields(sqlite3_stmt *st, const struct db_line *l, int64_t now)
{
    sqlite3_bind_text(st, 1, l->password, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, l->max_connections);
    if (l->has_exp)
        sqlite3_bind_int64(st, 3, l->exp_date);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int(st, 4, l->is_trial ? 1 : 0);
    sqlite3_bind_int(st, 5, l->enabled ? 1 : 0);
    sqlite3_bind_int(st, 6, l->banned ? 1 : 0);
    sqlite3_bind_text(st, 7, l->allowed_outputs ? l->allowed_outputs : "ts,m3u8", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 8, l->message ? l->message : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, now);
}

int db_line_insert(struct db *db, struct db_line *l)
{
    sqlite3_stmt *st;
    int64_t now = db_now();
    if (db_prepare(db,
                   "INSERT INTO lines (password, max_connections, exp_date, is_trial, enabled,"
                   " banned, allowed_outputs, message, updated_at, username, created_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9)",
                   &st))
        return -EIO;
    bind_fields(st, l, now);
    sqlite3_bind_text(st, 10, l->username, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_DONE) {
        ret = step_err(db, rc);
    } else {
        l->id = sqlite3_last_insert_rowid(db->sql);
        l->created_at = l->updated_at = now;
    }
    sqlite3_finalize(st);
    return ret;
}

int db_line_update(struct db *db, struct db_line *l)
{
    sqlite3_stmt *st;
    int64_t now = db_now();
    if (db_prepare(db,
                   "UPDATE lines SET password = ?1, max_connections = ?2, exp_date = ?3,"
                   " is_trial = ?4, enabled = ?5, banned = ?6, allowed_outputs = ?7,"
                   " message = ?8, updated_at = ?9 WHERE id = ?10",
                   &st))
        return -EIO;
    bind_fields(st, l, now);
    sqlite3_bind_int64(st, 10, l->id);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_DONE)
        ret = step_err(db, rc);
    else if (sqlite3_changes(db->sql) == 0)
        ret = -ENOENT;
    else
        l->updated_at = now;
    sqlite3_finalize(st);
    return ret;
}

int db_line_set_bouquets(struct db *db, int64_t line_id, const int64_t *bouquet_ids, size_t n)
{
    sqlite3_stmt *del = NULL, *ins = NULL;
    int ret = -EIO;
    if (db_prepare(db, "DELETE FROM line_bouquets WHERE line_id = ?1", &del) ||
        db_prepare(db,
                   "INSERT INTO line_bouquets (line_id, bouquet_id, position) VALUES (?1, ?2, ?3)"
                   " ON CONFLICT (line_id, bouquet_id) DO NOTHING",
                   &ins))
        goto fail;
    sqlite3_bind_int64(del, 1, line_id);
    int rc = sqlite3_step(del);
    if (rc != SQLITE_DONE) {
        ret = step_err(db, rc);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, line_id);
        sqlite3_bind_int64(ins, 2, bouquet_ids[i]);
        sqlite3_bind_int64(ins, 3, (int64_t)i);
        rc = sqlite3_step(ins);
        if (rc != SQLITE_DONE) {
            ret = step_err(db, rc);
            goto fail;
        }
    }
    ret = 0;
fail:
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    return ret;
}

#define LINE_COLS                                                                                  \
    "id, username, password, max_connections, exp_date, is_trial, enabled, banned,"                \
    " allowed_outputs, message, created_at, updated_at"

static int read_row(sqlite3_stmt *st, struct db_line *l)
{
    memset(l, 0, sizeof(*l));
    l->id = sqlite3_column_int64(st, 0);
    l->username = db_col_strdup(st, 1);
    l->password = db_col_strdup(st, 2);
    l->max_connections = sqlite3_column_int64(st, 3);
    l->has_exp = sqlite3_column_type(st, 4) != SQLITE_NULL;
    l->exp_date = l->has_exp ? sqlite3_column_int64(st, 4) : 0;
    l->is_trial = sqlite3_column_int(st, 5) != 0;
    l->enabled = sqlite3_column_int(st, 6) != 0;
    l->banned = sqlite3_column_int(st, 7) != 0;
    l->allowed_outputs = db_col_strdup(st, 8);
    l->message = db_col_strdup(st, 9);
    l->created_at = sqlite3_column_int64(st, 10);
    l->updated_at = sqlite3_column_int64(st, 11);
    if (!l->username || !l->password || !l->allowed_outputs || !l->message) {
        db_line_clear(l);
        return -ENOMEM;
    }
    return 0;
}

static int read_bouquet_name(void *ctx, sqlite3_stmt *st, void *row)
{
    char **name = row;
    (void)ctx;
    *name = db_col_strdup(st, 0);
    return *name ? 0 : -ENOMEM;
}

static int load_bouquets(struct db *db, sqlite3_stmt *st, struct db_line *l)
{
    void *names = NULL;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, l->id);
    int ret = db_step_rows(db, st, "lines", sizeof(*l->bouquets), 4, read_bouquet_name, NULL,
                           &names, &l->bouquet_count);
    l->bouquets = names;
    return ret;
}

static const char bouquet_sql[] =
    "SELECT b.name FROM line_bouquets lb JOIN bouquets b ON b.id = lb.bouquet_id"
    " WHERE lb.line_id = ?1 ORDER BY lb.position, b.id";

int db_line_get(struct db *db, const char *username, struct db_line *out)
{
    sqlite3_stmt *st = NULL, *bq = NULL;
    int ret = -EIO;
    memset(out, 0, sizeof(*out));
    if (db_prepare(db, "SELECT " LINE_COLS " FROM lines WHERE username = ?1", &st) ||
        db_prepare(db, bouquet_sql, &bq))
        goto fail;
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        ret = -ENOENT;
        goto fail;
    }
    if (rc != SQLITE_ROW) {
        ret = step_err(db, rc);
        goto fail;
    }
    ret = read_row(st, out);
    if (ret == 0)
        ret = load_bouquets(db, bq, out);
    if (ret)
        db_line_clear(out);
fail:
    sqlite3_finalize(st);
    sqlite3_finalize(bq);
    return ret;
}

void db_line_list_free(struct db_line *lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        db_line_clear(&lines[i]);
    free(lines);
}

struct list_ctx {
    struct db *db;
    sqlite3_stmt *bouquets;
};

static int read_line(void *ctx, sqlite3_stmt *st, void *row)
{
    const struct list_ctx *x = ctx;
    int ret = read_row(st, row);
    return ret ? ret : load_bouquets(x->db, x->bouquets, row);
}

int db_line_list(struct db *db, struct db_line **out, size_t *n)
{
    struct list_ctx x = {db, NULL};
    sqlite3_stmt *st = NULL;
    void *v = NULL;
    size_t len = 0;
    int ret = -EIO;
    *out = NULL;
    *n = 0;
    if (db_prepare(db, "SELECT " LINE_COLS " FROM lines ORDER BY username", &st) ||
        db_prepare(db, bouquet_sql, &x.bouquets))
        goto fail;
    ret = db_step_rows(db, st, "lines", sizeof(struct db_line), 16, read_line, &x, &v, &len);
    if (ret)
        goto fail;
    sqlite3_finalize(st);
    sqlite3_finalize(x.bouquets);
    *out = v;
    *n = len;
    return 0;
fail:
    sqlite3_finalize(st);
    sqlite3_finalize(x.bouquets);
    db_line_list_free(v, len);
    return ret;
}

int db_line_delete(struct db *db, const char *username)
{
    return db_delete_where_text(db, "DELETE FROM lines WHERE username = ?1", username);
}
