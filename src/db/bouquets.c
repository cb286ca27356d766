#include "db/bouquets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db_sqlite.h"

static int step_err(struct db *db, int rc)
{
    return db_step_error(db, rc, "bouquets");
}

int db_bouquet_find(struct db *db, const char *name, int64_t *id)
{
    sqlite3_stmt *st;
    if (db_prepare(db, "SELECT id FROM bouquets WHERE name = ?1", &st))
        return -EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int ret = db_step_id(db, st, "bouquets", id);
    sqlite3_finalize(st);
    return ret;
}

int db_bouquet_insert(struct db *db, const char *name, int64_t *id)
{
    sqlite3_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO bouquets (name, sort_order, created_at)"
                   " VALUES (?1, (SELECT COALESCE(MAX(sort_order), 0) + 1 FROM bouquets), ?2)",
                   &st))
        return -EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, db_now());
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_DONE)
        ret = step_err(db, rc);
    else
        *id = sqlite3_last_insert_rowid(db->sql);
    sqlite3_finalize(st);
    return ret;
}

int db_bouquet_add_item(struct db *db, int64_t bouquet_id, const char *kind, int64_t item_id)
{
    sqlite3_stmt *st;
    int is_all = strcmp(kind, "all") == 0;
    /* UNIQUE (bouquet_id, kind, item_id) does not catch two NULL item_ids, so
     * duplicates are filtered with NOT EXISTS ... IS. */
    if (db_prepare(db,
                   "INSERT INTO bouquet_items (bouquet_id, kind, item_id, position)"
                   " SELECT ?1, ?2, ?3, (SELECT COALESCE(MAX(position), -1) + 1"
                   "   FROM bouquet_items WHERE bouquet_id = ?1)"
                   " WHERE NOT EXISTS (SELECT 1 FROM bouquet_items WHERE bouquet_id = ?1"
                   "   AND kind = ?2 AND item_id IS ?3)",
                   &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, bouquet_id);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    if (is_all)
        sqlite3_bind_null(st, 3);
    else
        sqlite3_bind_int64(st, 3, item_id);
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? 0 : step_err(db, rc);
    sqlite3_finalize(st);
    return ret;
}

void db_bouquet_list_free(struct db_bouquet *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(b[i].name);
        for (size_t j = 0; j < b[i].item_count; j++) {
            free(b[i].items[j].kind);
            free(b[i].items[j].label);
        }
        free(b[i].items);
    }
    free(b);
}

static int read_item(void *ctx, sqlite3_stmt *st, void *row)
{
    struct db_bouquet_item *it = row;
    (void)ctx;
    it->kind = db_col_strdup(st, 0);
    it->item_id = sqlite3_column_int64(st, 1);
    it->label = db_col_strdup(st, 2);
    return it->kind && it->label ? 0 : -ENOMEM;
}

static int load_items(struct db *db, sqlite3_stmt *st, struct db_bouquet *b)
{
    void *items = NULL;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, b->id);
    int ret = db_step_rows(db, st, "bouquets", sizeof(*b->items), 4, read_item, NULL, &items,
                           &b->item_count);
    b->items = items;
    return ret;
}

struct list_ctx {
    struct db *db;
    sqlite3_stmt *items;
};

static int read_bouquet(void *ctx, sqlite3_stmt *st, void *row)
{
    const struct list_ctx *x = ctx;
    struct db_bouquet *b = row;
    b->id = sqlite3_column_int64(st, 0);
    b->name = db_col_strdup(st, 1);
    b->sort_order = sqlite3_column_int64(st, 2);
    b->created_at = sqlite3_column_int64(st, 3);
    b->line_count = sqlite3_column_int64(st, 4);
    if (!b->name)
        return -ENOMEM;
    return load_items(x->db, x->items, b);
}

int db_bouquet_list(struct db *db, struct db_bouquet **out, size_t *n)
{
    struct list_ctx x = {db, NULL};
    sqlite3_stmt *st = NULL;
    void *v = NULL;
    size_t len = 0;
    int ret = -EIO;
    *out = NULL;
    *n = 0;
    if (db_prepare(db,
                   "SELECT b.id, b.name, b.sort_order, b.created_at,"
                   " (SELECT COUNT(*) FROM line_bouquets lb WHERE lb.bouquet_id = b.id)"
                   " FROM bouquets b ORDER BY b.sort_order, b.id",
                   &st) ||
        db_prepare(db,
                   "SELECT i.kind, COALESCE(i.item_id, 0), COALESCE(CASE i.kind"
                   "  WHEN 'category' THEN (SELECT c.kind || '/' || c.name FROM categories c"
                   "                        WHERE c.id = i.item_id)"
                   "  WHEN 'live' THEN (SELECT s.name FROM streams s WHERE s.id = i.item_id)"
                   "  WHEN 'movie' THEN (SELECT m.title FROM movies m WHERE m.id = i.item_id)"
                   "  WHEN 'series' THEN (SELECT s.title FROM series s WHERE s.id = i.item_id)"
                   "  ELSE '' END, '')"
                   " FROM bouquet_items i WHERE i.bouquet_id = ?1 ORDER BY i.position, i.id",
                   &x.items))
        goto fail;
    ret =
        db_step_rows(db, st, "bouquets", sizeof(struct db_bouquet), 8, read_bouquet, &x, &v, &len);
    if (ret)
        goto fail;
    sqlite3_finalize(st);
    sqlite3_finalize(x.items);
    *out = v;
    *n = len;
    return 0;
fail:
    sqlite3_finalize(st);
    sqlite3_finalize(x.items);
    db_bouquet_list_free(v, len);
    return ret;
}

int db_bouquet_delete(struct db *db, const char *name)
{
    return db_delete_where_text(db, "DELETE FROM bouquets WHERE name = ?1", name);
}
