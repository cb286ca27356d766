/*
 * db/nodes.c: the SQL of the cluster's node tables (db/nodes.h). The clock of node_status is the
 * database's (PostgreSQL now()); SQLite, where no cluster runs, binds the process clock instead
 * so the same functions still work in unit tests.
 */
#include "db/nodes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db_priv.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The database's clock in ms: ?9 bound to the process clock on SQLite. */
static const char *now_ms(struct db *db)
{
    return db_is_sqlite(db) ? "CAST(?9 AS INTEGER)"
                            : "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";
}

static void copy_col(struct db_stmt *st, int i, char *out, size_t len)
{
    snprintf(out, len, "%s", db_col_text(st, i));
}

#define NODE_COLS                                                                                  \
    "n.id, n.name, n.role, n.public_url, n.state, n.max_sessions, n.max_egress_mbps, n.weight, "   \
    "n.countries, n.geo_mode, n.pubkey, n.created_at, COALESCE(n.enrolled_at, 0), n.version, "     \
    "s.node_id IS NOT NULL, COALESCE(s.seen_at, 0), COALESCE(%s - s.seen_at_ms, 0), "              \
    "COALESCE(s.db_now_skew_ms, 0), COALESCE(s.sessions, 0), COALESCE(s.egress_bps, 0), "          \
    "COALESCE(s.ingress_bps, 0), COALESCE(s.mem_bytes, 0), COALESCE(s.channels_running, 0), "      \
    "COALESCE(s.seq, 0), COALESCE(s.cpu_pct, 0), "                                                 \
    "(SELECT count(*) FROM cluster_sessions c WHERE c.node_id = n.id AND c.ended_at IS NULL)"

static int fill(void *ctx, struct db_stmt *st, void *row)
{
    (void)ctx;
    struct db_node *n = row;
    memset(n, 0, sizeof(*n));
    n->id = db_col_int64(st, 0);
    copy_col(st, 1, n->name, sizeof(n->name));
    copy_col(st, 2, n->role, sizeof(n->role));
    copy_col(st, 3, n->public_url, sizeof(n->public_url));
    copy_col(st, 4, n->state, sizeof(n->state));
    n->max_sessions = db_col_int64(st, 5);
    n->max_egress_mbps = db_col_int64(st, 6);
    n->weight = db_col_int64(st, 7);
    copy_col(st, 8, n->countries, sizeof(n->countries));
    copy_col(st, 9, n->geo_mode, sizeof(n->geo_mode));
    copy_col(st, 10, n->pubkey, sizeof(n->pubkey));
    n->created_at = db_col_int64(st, 11);
    n->enrolled_at = db_col_int64(st, 12);
    copy_col(st, 13, n->version, sizeof(n->version));
    n->has_status = db_col_int64(st, 14) != 0;
    n->seen_at = db_col_int64(st, 15);
    n->age_ms = db_col_int64(st, 16);
    n->skew_ms = db_col_int64(st, 17);
    n->sessions = db_col_int64(st, 18);
    n->egress_bps = db_col_int64(st, 19);
    n->ingress_bps = db_col_int64(st, 20);
    n->mem_bytes = db_col_int64(st, 21);
    n->channels_running = db_col_int64(st, 22);
    n->seq = db_col_int64(st, 23);
    n->cpu_pct = db_col_double(st, 24);
    n->active_sessions = db_col_int64(st, 25);
    return 0;
}

static int select_nodes(struct db *db, bool one, int64_t id, struct db_node **out, size_t *n)
{
    char sql[1400], cols[900];
    snprintf(cols, sizeof(cols), NODE_COLS, now_ms(db));
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM nodes n LEFT JOIN node_status s ON s.node_id = n.id%s ORDER BY n.id",
             cols, one ? " WHERE n.id = ?1" : "");
    struct db_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    if (one)
        db_bind_int64(st, 1, id);
    if (db_is_sqlite(db))
        db_bind_int64(st, 9, wall_ms());
    *out = NULL;
    *n = 0;
    int rc = db_step_rows(db, st, "nodes", sizeof(struct db_node), 8, fill, NULL, (void **)out, n);
    db_finalize(st);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc < 0 ? rc : 0;
}

int db_nodes_list(struct db *db, struct db_node **out, size_t *n)
{
    return select_nodes(db, false, 0, out, n);
}

int db_node_get(struct db *db, int64_t id, struct db_node *out)
{
    struct db_node *rows;
    size_t n;
    int rc = select_nodes(db, true, id, &rows, &n);
    if (rc)
        return rc;
    if (n == 0) {
        free(rows);
        return -ENOENT;
    }
    *out = rows[0];
    free(rows);
    return 0;
}

int db_node_find(struct db *db, const char *name, int64_t *id)
{
    struct db_stmt *st;
    if (db_prepare(db, "SELECT id FROM nodes WHERE name = ?1", &st))
        return -EIO;
    db_bind_text(st, 1, name);
    int rc = db_step_id(db, st, "nodes", id);
    db_finalize(st);
    return rc;
}

static int run(struct db *db, struct db_stmt *st, const char *what, bool need_row)
{
    int rc = db_step(st);
    int ret = rc == DB_DONE || rc == DB_ROW ? 0 : db_step_error(db, rc, what);
    if (ret == 0 && need_row && db_changes(db) == 0)
        ret = -ENOENT;
    db_finalize(st);
    return ret;
}

int db_node_insert(struct db *db, const struct db_node *in, int64_t now, int64_t *id)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO nodes (name, role, public_url, pubkey, version, created_at,"
                   " enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                   &st))
        return -EIO;
    db_bind_text(st, 1, in->name);
    db_bind_text(st, 2, in->role);
    db_bind_text(st, 3, in->public_url);
    db_bind_text(st, 4, in->pubkey);
    db_bind_text(st, 5, in->version);
    db_bind_int64(st, 6, now);
    int rc = run(db, st, "nodes", false);
    if (rc == 0)
        *id = db_last_insert_id(db);
    return rc;
}

int db_node_update_self(struct db *db, int64_t id, const char *public_url, const char *pubkey,
                        const char *version)
{
    struct db_stmt *st;
    if (db_prepare(db, "UPDATE nodes SET public_url = ?2, pubkey = ?3, version = ?4 WHERE id = ?1",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    db_bind_text(st, 2, public_url);
    db_bind_text(st, 3, pubkey);
    db_bind_text(st, 4, version);
    return run(db, st, "nodes", true);
}

int db_node_update_caps(struct db *db, const struct db_node *in)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "UPDATE nodes SET max_sessions = ?2, max_egress_mbps = ?3, weight = ?4,"
                   " countries = ?5, geo_mode = ?6 WHERE id = ?1",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, in->id);
    db_bind_int64(st, 2, in->max_sessions);
    db_bind_int64(st, 3, in->max_egress_mbps);
    db_bind_int64(st, 4, in->weight);
    db_bind_text(st, 5, in->countries);
    db_bind_text(st, 6, in->geo_mode);
    return run(db, st, "nodes", true);
}

int db_node_set_state(struct db *db, int64_t id, const char *state)
{
    struct db_stmt *st;
    if (db_prepare(db, "UPDATE nodes SET state = ?2 WHERE id = ?1", &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    db_bind_text(st, 2, state);
    return run(db, st, "nodes", true);
}

int db_node_delete(struct db *db, int64_t id)
{
    struct db_stmt *st;
    if (db_prepare(db, "DELETE FROM nodes WHERE id = ?1", &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    return run(db, st, "nodes", true);
}

int db_node_beat(struct db *db, int64_t id, const struct db_node_beat *b, int64_t *db_ms)
{
    char sql[1200];
    const char *now = now_ms(db);
    snprintf(sql, sizeof(sql),
             "INSERT INTO node_status (node_id, seen_at, seen_at_ms, db_now_skew_ms, sessions,"
             " egress_bps, ingress_bps, cpu_pct, mem_bytes, channels_running, seq)"
             " VALUES (?1, %s / 1000, %s, ?2 - %s, ?3, ?4, ?5, ?6, ?7, ?8, 1)"
             " ON CONFLICT (node_id) DO UPDATE SET seen_at = excluded.seen_at,"
             " seen_at_ms = excluded.seen_at_ms, db_now_skew_ms = excluded.db_now_skew_ms,"
             " sessions = excluded.sessions, egress_bps = excluded.egress_bps,"
             " ingress_bps = excluded.ingress_bps, cpu_pct = excluded.cpu_pct,"
             " mem_bytes = excluded.mem_bytes, channels_running = excluded.channels_running,"
             " seq = node_status.seq + 1 RETURNING seen_at_ms",
             now, now, now);
    struct db_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    db_bind_int64(st, 2, b->local_ms);
    db_bind_int64(st, 3, b->sessions);
    db_bind_int64(st, 4, b->egress_bps);
    db_bind_int64(st, 5, b->ingress_bps);
    db_bind_double(st, 6, b->cpu_pct);
    db_bind_int64(st, 7, b->mem_bytes);
    db_bind_int64(st, 8, b->channels_running);
    if (db_is_sqlite(db))
        db_bind_int64(st, 9, wall_ms());
    int rc = db_step(st);
    int ret = 0;
    if (rc == DB_ROW) {
        if (db_ms)
            *db_ms = db_col_int64(st, 0);
    } else {
        ret = db_step_error(db, rc, "node_status");
    }
    db_finalize(st);
    return ret;
}

int db_enrol_code_add(struct db *db, const char *hash, const char *name, int64_t expires_at,
                      const char *created_by)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO node_enrol_codes (code_hash, name, expires_at, created_by)"
                   " VALUES (?1, ?2, ?3, ?4)",
                   &st))
        return -EIO;
    db_bind_text(st, 1, hash);
    db_bind_text(st, 2, name ? name : "");
    db_bind_int64(st, 3, expires_at);
    db_bind_text(st, 4, created_by ? created_by : "");
    return run(db, st, "node_enrol_codes", false);
}

int db_enrol_code_take(struct db *db, const char *hash, int64_t now, char name[64])
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "UPDATE node_enrol_codes SET used_at = ?2 WHERE code_hash = ?1"
                   " AND used_at IS NULL AND expires_at > ?2 RETURNING name",
                   &st))
        return -EIO;
    db_bind_text(st, 1, hash);
    db_bind_int64(st, 2, now);
    int rc = db_step(st);
    int ret;
    if (rc == DB_ROW) {
        snprintf(name, 64, "%s", db_col_text(st, 0));
        ret = 0;
        db_step(st); /* to the end: SQLite finishes the statement */
    } else {
        ret = rc == DB_DONE ? -ENOENT : db_step_error(db, rc, "node_enrol_codes");
    }
    db_finalize(st);
    return ret;
}
