/* db/placements: see placements.h. */
#include "db/placements.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_priv.h"

static int stream_exists(struct db *db, int64_t id)
{
    struct db_stmt *st;
    int rc = db_prepare(db, "SELECT id FROM streams WHERE id = ?1", &st);
    if (rc)
        return rc;
    db_bind_int64(st, 1, id);
    int64_t got;
    rc = db_step_id(db, st, "placements", &got);
    db_finalize(st);
    return rc;
}

int db_node_exists(struct db *db, int64_t node_id)
{
    struct db_stmt *st;
    int rc = db_prepare(db, "SELECT id FROM nodes WHERE id = ?1", &st);
    if (rc)
        return rc;
    db_bind_int64(st, 1, node_id);
    int64_t got;
    rc = db_step_id(db, st, "placements", &got);
    db_finalize(st);
    return rc;
}

static int placement_row(void *ctx, struct db_stmt *st, void *row)
{
    (void)ctx;
    struct db_placement *p = row;
    p->node_id = db_col_int64(st, 0);
    const char *mode = db_col_text(st, 1);
    p->always = mode && strcmp(mode, "always") == 0;
    p->parent_node_id = db_col_is_null(st, 2) ? 0 : db_col_int64(st, 2);
    return 0;
}

int db_placements_get(struct db *db, int64_t stream_id, struct db_placement **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int rc = stream_exists(db, stream_id);
    if (rc)
        return rc;
    struct db_stmt *st;
    if ((rc = db_prepare(db,
                         "SELECT node_id, mode, parent_node_id FROM stream_placements"
                         " WHERE stream_id = ?1 ORDER BY node_id",
                         &st)))
        return rc;
    db_bind_int64(st, 1, stream_id);
    void *rows = NULL;
    rc = db_step_rows(db, st, "placements", sizeof(struct db_placement), 4, placement_row, NULL,
                      &rows, n);
    db_finalize(st);
    if (rc) {
        free(rows);
        *n = 0;
        return rc;
    }
    *out = rows;
    return 0;
}

int db_placements_set(struct db *db, int64_t stream_id, const struct db_placement *p, size_t n)
{
    int rc = stream_exists(db, stream_id);
    if (rc)
        return rc;
    struct db_stmt *st;
    if ((rc = db_prepare(db, "DELETE FROM stream_placements WHERE stream_id = ?1", &st)))
        return rc;
    db_bind_int64(st, 1, stream_id);
    rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return db_step_error(db, rc, "placements");
    if ((rc = db_prepare(db,
                         "INSERT INTO stream_placements (stream_id, node_id, mode, parent_node_id)"
                         " VALUES (?1, ?2, ?3, ?4)",
                         &st)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        db_reset(st);
        db_bind_int64(st, 1, stream_id);
        db_bind_int64(st, 2, p[i].node_id);
        db_bind_text(st, 3, p[i].always ? "always" : "on_demand");
        if (p[i].parent_node_id)
            db_bind_int64(st, 4, p[i].parent_node_id);
        else
            db_bind_null(st, 4);
        rc = db_step(st);
        if (rc != DB_DONE) {
            rc = db_step_error(db, rc, "placements");
            db_finalize(st);
            return rc;
        }
    }
    db_finalize(st);
    return 0;
}
