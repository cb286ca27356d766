/*
 * db/sessions: see sessions.h.
 */
#include "db/sessions.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db_priv.h"

/* The advisory lock class of a line's admissions ('XTC1'); the line id is the
 * object (modulo 2^31: two lines sharing a key only wait for each other). */
#define LINE_LOCK_CLASS 1481917233

#define ACTIVE_WHERE "ended_at IS NULL AND (kind <> 'hls' OR last_seen_at >= ?2)"

static bool valid_id(const char *id)
{
    if (!id || strlen(id) != DB_CSESSION_ID_LEN)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* PostgreSQL: a plain BEGIN (not db_begin's cluster-wide writer lock) when no
 * transaction is open, so admissions of different lines run side by side; the
 * per-line lock below serialises what must be. SQLite (one writer anyway) and
 * a caller's open transaction: db_begin. */
static int tx_begin(struct db *db, bool *plain)
{
    *plain = !db_is_sqlite(db) && !db_in_transaction(db);
    return *plain ? db_exec(db, "BEGIN") : db_begin(db);
}

static int tx_commit(struct db *db, bool plain)
{
    return plain ? db_exec(db, "COMMIT") : db_commit(db);
}

static void tx_rollback(struct db *db, bool plain)
{
    if (plain)
        db_exec_quiet(db, "ROLLBACK");
    else
        db_rollback(db);
}

static int lock_line(struct db *db, int64_t line_id)
{
    if (db_is_sqlite(db))
        return 0; /* BEGIN IMMEDIATE already holds the one writer lock */
    struct db_stmt *st;
    if (db_prepare(db, "SELECT pg_advisory_xact_lock(CAST(?1 AS INTEGER), CAST(?2 AS INTEGER))",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, LINE_LOCK_CLASS);
    db_bind_int64(st, 2, line_id % 2147483647);
    int rc = db_step(st);
    db_finalize(st);
    return rc == DB_ROW ? 0 : db_step_error(db, rc, "cluster_sessions lock");
}

/* Queues the kill of sid for its node: delivered at COMMIT (PostgreSQL only;
 * a SQLite database has one node, which learns of it from the caller). */
static int notify_kill(struct db *db, int64_t node_id, const char *sid)
{
    if (db_is_sqlite(db))
        return 0;
    char chan[32], payload[48];
    snprintf(chan, sizeof(chan), "node_%" PRId64, node_id);
    snprintf(payload, sizeof(payload), DB_CSESSION_KILL_PREFIX "%.*s", DB_CSESSION_ID_LEN, sid);
    struct db_stmt *st;
    if (db_prepare(db, "SELECT pg_notify(CAST(?1 AS TEXT), CAST(?2 AS TEXT))", &st))
        return -EIO;
    db_bind_text(st, 1, chan);
    db_bind_text(st, 2, payload);
    int rc = db_step(st);
    db_finalize(st);
    return rc == DB_ROW ? 0 : db_step_error(db, rc, "cluster_sessions notify");
}

/* ?1..?7 of an INSERT INTO cluster_sessions: who watches what where (an admission's row and an
 * offline edge's journalled one start alike). */
static void bind_identity(struct db_stmt *st, const char *id, int64_t line_id, int64_t stream_id,
                          const char *kind, int64_t node_id, const char *ip, const char *ua)
{
    db_bind_text(st, 1, id);
    db_bind_int64(st, 2, line_id);
    db_bind_int64(st, 3, stream_id);
    db_bind_text(st, 4, kind);
    db_bind_int64(st, 5, node_id);
    db_bind_text(st, 6, ip ? ip : "");
    db_bind_text(st, 7, ua ? ua : "");
}

int db_csession_admit(struct db *db, const struct db_csession_new *s, int max, int64_t now,
                      int hls_ttl, struct db_csession_victim *victims, size_t cap, size_t *nvictims)
{
    *nvictims = 0;
    if (!valid_id(s->id) || !s->kind || s->line_id <= 0 || s->node_id <= 0)
        return -EINVAL;
    bool plain;
    if (tx_begin(db, &plain))
        return -EIO;
    struct db_stmt *st = NULL;
    int ret = lock_line(db, s->line_id);
    if (ret)
        goto fail;
    /* Newest first: the newest max-1 stay, every older one is ended. Rounds of at
     * most DB_CSESSION_MAX_KILL (a limit lowered far below the line's viewers):
     * the ones ended drop out of the next round's active set. */
    while (max > 0) {
        if ((ret = db_prepare(
                 db,
                 "SELECT id, node_id FROM cluster_sessions WHERE line_id = ?1 AND " ACTIVE_WHERE
                 " ORDER BY started_at DESC, id DESC LIMIT ?3 OFFSET ?4",
                 &st)))
            goto fail;
        db_bind_int64(st, 1, s->line_id);
        db_bind_int64(st, 2, now - hls_ttl);
        db_bind_int64(st, 3, DB_CSESSION_MAX_KILL);
        db_bind_int64(st, 4, max - 1);
        struct db_csession_victim kill[DB_CSESSION_MAX_KILL];
        size_t nkill = 0;
        int rc;
        while ((rc = db_step(st)) == DB_ROW && nkill < DB_CSESSION_MAX_KILL) {
            snprintf(kill[nkill].id, sizeof(kill[nkill].id), "%s", db_col_text(st, 0));
            kill[nkill].node_id = db_col_int64(st, 1);
            nkill++;
        }
        db_finalize(st);
        st = NULL;
        if (rc != DB_DONE && rc != DB_ROW) {
            ret = db_step_error(db, rc, "cluster_sessions count");
            goto fail;
        }
        if (nkill == 0)
            break;
        for (size_t i = 0; i < nkill; i++) {
            if ((ret = db_prepare(db,
                                  "UPDATE cluster_sessions SET ended_at = ?2, end_reason = 'limit'"
                                  " WHERE id = ?1 AND ended_at IS NULL",
                                  &st)))
                goto fail;
            db_bind_text(st, 1, kill[i].id);
            db_bind_int64(st, 2, now);
            rc = db_step(st);
            db_finalize(st);
            st = NULL;
            if (rc != DB_DONE) {
                ret = db_step_error(db, rc, "cluster_sessions end");
                goto fail;
            }
            if ((ret = notify_kill(db, kill[i].node_id, kill[i].id)))
                goto fail;
            if (*nvictims < cap)
                victims[*nvictims] = kill[i];
            (*nvictims)++;
        }
    }
    if ((ret = db_prepare(db,
                          "INSERT INTO cluster_sessions (id, line_id, stream_id, kind, node_id, ip,"
                          " user_agent, started_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                          " ?7, ?8, ?8)",
                          &st)))
        goto fail;
    bind_identity(st, s->id, s->line_id, s->stream_id, s->kind, s->node_id, s->ip, s->user_agent);
    db_bind_int64(st, 8, now);
    int rc = db_step(st);
    db_finalize(st);
    st = NULL;
    if (rc != DB_DONE) {
        ret =
            rc == -EEXIST || rc == -EINVAL ? rc : db_step_error(db, rc, "cluster_sessions insert");
        goto fail;
    }
    if (tx_commit(db, plain)) {
        ret = -EIO;
        goto fail;
    }
    return 0;
fail:
    db_finalize(st);
    tx_rollback(db, plain);
    *nvictims = 0;
    return ret ? ret : -EIO;
}

/* Runs st (bindings done) to DB_DONE; *changed: rows changed. Finalizes st. */
static int run_update(struct db *db, struct db_stmt *st, const char *what, size_t *changed)
{
    int rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return db_step_error(db, rc, what);
    if (changed)
        *changed = (size_t)db_changes(db);
    return 0;
}

int db_csession_end(struct db *db, const char *id, const char *reason, int64_t now)
{
    if (!valid_id(id))
        return -ENOENT;
    struct db_stmt *st;
    if (db_prepare(db,
                   "UPDATE cluster_sessions SET ended_at = ?2, end_reason = ?3"
                   " WHERE id = ?1 AND ended_at IS NULL",
                   &st))
        return -EIO;
    db_bind_text(st, 1, id);
    db_bind_int64(st, 2, now);
    db_bind_text(st, 3, reason ? reason : "closed");
    size_t n = 0;
    int rc = run_update(db, st, "cluster_sessions end", &n);
    return rc ? rc : n ? 0 : -ENOENT;
}

int db_csessions_touch(struct db *db, const char *const *ids, size_t n, int64_t now,
                       size_t *touched)
{
    *touched = 0;
    /* One statement per batch of up to 64 ids (a node's report every few seconds). */
    for (size_t at = 0; at < n;) {
        size_t k = n - at > 64 ? 64 : n - at;
        char sql[64 * 5 + 128];
        size_t len = (size_t)snprintf(sql, sizeof(sql),
                                      "UPDATE cluster_sessions SET last_seen_at = ?1 WHERE "
                                      "ended_at IS NULL AND id IN (");
        for (size_t i = 0; i < k; i++)
            len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?%zu", i ? "," : "", i + 2);
        snprintf(sql + len, sizeof(sql) - len, ")");
        struct db_stmt *st;
        if (db_prepare(db, sql, &st))
            return -EIO;
        db_bind_int64(st, 1, now);
        for (size_t i = 0; i < k; i++)
            db_bind_text(st, (int)i + 2, ids[at + i]);
        size_t c = 0;
        int rc = run_update(db, st, "cluster_sessions touch", &c);
        if (rc)
            return rc;
        *touched += c;
        at += k;
    }
    return 0;
}

int db_csessions_release_node(struct db *db, int64_t node_id, const char *reason, int64_t now,
                              size_t *ended)
{
    *ended = 0;
    struct db_stmt *st;
    if (db_prepare(db,
                   "UPDATE cluster_sessions SET ended_at = ?2, end_reason = ?3"
                   " WHERE node_id = ?1 AND ended_at IS NULL",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, node_id);
    db_bind_int64(st, 2, now);
    db_bind_text(st, 3, reason ? reason : "node_lost");
    return run_update(db, st, "cluster_sessions release", ended);
}

int db_csessions_expire_hls(struct db *db, int64_t now, int hls_ttl, size_t *ended)
{
    *ended = 0;
    struct db_stmt *st;
    if (db_prepare(db,
                   "UPDATE cluster_sessions SET ended_at = ?1, end_reason = 'expired'"
                   " WHERE ended_at IS NULL AND kind = 'hls' AND last_seen_at < ?2",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, now);
    db_bind_int64(st, 2, now - hls_ttl);
    return run_update(db, st, "cluster_sessions expire", ended);
}

int db_csessions_count_line(struct db *db, int64_t line_id, int64_t now, int hls_ttl, size_t *count)
{
    *count = 0;
    struct db_stmt *st;
    if (db_prepare(db, "SELECT COUNT(*) FROM cluster_sessions WHERE line_id = ?1 AND " ACTIVE_WHERE,
                   &st))
        return -EIO;
    db_bind_int64(st, 1, line_id);
    db_bind_int64(st, 2, now - hls_ttl);
    int rc = db_step(st);
    if (rc == DB_ROW)
        *count = (size_t)db_col_int64(st, 0);
    db_finalize(st);
    return rc == DB_ROW ? 0 : db_step_error(db, rc, "cluster_sessions count");
}

/* The columns fill_row reads, in its order. */
#define ROW_SELECT                                                                                 \
    "SELECT id, line_id, stream_id, node_id, kind, ip, started_at, last_seen_at,"                  \
    " COALESCE(ended_at, 0), COALESCE(end_reason, '') FROM cluster_sessions"

static int fill_row(void *ctx, struct db_stmt *st, void *row)
{
    (void)ctx;
    struct db_csession_row *out = row;
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", db_col_text(st, 0));
    out->line_id = db_col_int64(st, 1);
    out->stream_id = db_col_int64(st, 2);
    out->node_id = db_col_int64(st, 3);
    snprintf(out->kind, sizeof(out->kind), "%s", db_col_text(st, 4));
    snprintf(out->ip, sizeof(out->ip), "%s", db_col_text(st, 5));
    out->started_at = db_col_int64(st, 6);
    out->last_seen_at = db_col_int64(st, 7);
    out->ended_at = db_col_int64(st, 8);
    snprintf(out->end_reason, sizeof(out->end_reason), "%s", db_col_text(st, 9));
    return 0;
}

int db_csessions_list_node(struct db *db, int64_t node_id, int64_t line_id, size_t limit,
                           struct db_csession_row **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct db_stmt *st;
    if (db_prepare(db,
                   ROW_SELECT
                   " WHERE node_id = ?1 AND ended_at IS NULL AND (?2 = 0 OR line_id = ?2)"
                   " ORDER BY started_at, id LIMIT ?3",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, node_id);
    db_bind_int64(st, 2, line_id);
    db_bind_int64(st, 3, (int64_t)limit);
    int rc = db_step_rows(db, st, "cluster_sessions", sizeof(struct db_csession_row), 16, fill_row,
                          NULL, (void **)out, n);
    db_finalize(st);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc < 0 ? rc : 0;
}

int db_csession_get(struct db *db, const char *id, struct db_csession_row *out)
{
    memset(out, 0, sizeof(*out));
    if (!valid_id(id))
        return -ENOENT;
    struct db_stmt *st;
    if (db_prepare(db, ROW_SELECT " WHERE id = ?1", &st))
        return -EIO;
    db_bind_text(st, 1, id);
    int rc = db_step(st);
    int ret = 0;
    if (rc == DB_ROW) {
        fill_row(NULL, st, out);
    } else {
        ret = rc == DB_DONE ? -ENOENT : db_step_error(db, rc, "cluster_sessions get");
    }
    db_finalize(st);
    return ret;
}

/* Newest wins for one line after a merge: the active sessions beyond the
 * newest max are ended ('limit'); the ones of other nodes than self_node are
 * told to their node. Rounds of DB_CSESSION_MAX_KILL, as in the admission. */
static int merge_limit(struct db *db, int64_t line_id, int max, int64_t self_node, int64_t now,
                       int hls_ttl, size_t *killed)
{
    while (max > 0) {
        struct db_stmt *st;
        if (db_prepare(
                db,
                "SELECT id, node_id FROM cluster_sessions WHERE line_id = ?1 AND " ACTIVE_WHERE
                " ORDER BY started_at DESC, id DESC LIMIT ?3 OFFSET ?4",
                &st))
            return -EIO;
        db_bind_int64(st, 1, line_id);
        db_bind_int64(st, 2, now - hls_ttl);
        db_bind_int64(st, 3, DB_CSESSION_MAX_KILL);
        db_bind_int64(st, 4, max);
        struct db_csession_victim kill[DB_CSESSION_MAX_KILL];
        size_t nkill = 0;
        int rc;
        while ((rc = db_step(st)) == DB_ROW && nkill < DB_CSESSION_MAX_KILL) {
            snprintf(kill[nkill].id, sizeof(kill[nkill].id), "%s", db_col_text(st, 0));
            kill[nkill].node_id = db_col_int64(st, 1);
            nkill++;
        }
        db_finalize(st);
        if (rc != DB_DONE && rc != DB_ROW)
            return db_step_error(db, rc, "cluster_sessions merge count");
        if (nkill == 0)
            return 0;
        for (size_t i = 0; i < nkill; i++) {
            if (db_prepare(db,
                           "UPDATE cluster_sessions SET ended_at = ?2, end_reason = 'limit'"
                           " WHERE id = ?1 AND ended_at IS NULL",
                           &st))
                return -EIO;
            db_bind_text(st, 1, kill[i].id);
            db_bind_int64(st, 2, now);
            if ((rc = run_update(db, st, "cluster_sessions merge end", NULL)))
                return rc;
            if (kill[i].node_id != self_node && (rc = notify_kill(db, kill[i].node_id, kill[i].id)))
                return rc;
            (*killed)++;
        }
    }
    return 0;
}

int db_csessions_merge(struct db *db, const struct db_csession_offline *rows, size_t n,
                       int64_t self_node, int64_t now, int hls_ttl, size_t *written, size_t *killed)
{
    *written = *killed = 0;
    for (size_t i = 0; i < n; i++)
        if (!valid_id(rows[i].id) || !rows[i].kind || rows[i].line_id <= 0 ||
            rows[i].node_id <= 0 || (i && rows[i].line_id < rows[i - 1].line_id))
            return -EINVAL;
    if (n == 0)
        return 0;
    bool plain;
    if (tx_begin(db, &plain))
        return -EIO;
    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        const struct db_csession_offline *r = &rows[i];
        if (i == 0 || r->line_id != rows[i - 1].line_id) {
            if ((ret = lock_line(db, r->line_id)))
                goto fail;
        }
        struct db_stmt *st;
        if ((ret = db_prepare(db,
                              "INSERT INTO cluster_sessions (id, line_id, stream_id, kind, node_id,"
                              " ip, user_agent, started_at, last_seen_at, ended_at, end_reason)"
                              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                              " ON CONFLICT (id) DO NOTHING",
                              &st)))
            goto fail;
        bind_identity(st, r->id, r->line_id, r->stream_id, r->kind, r->node_id, r->ip,
                      r->user_agent);
        db_bind_int64(st, 8, r->started_at);
        /* an active HLS row counts from now: its viewer was refreshing until this moment */
        db_bind_int64(st, 9, r->ended_at ? r->ended_at : now);
        if (r->ended_at) {
            db_bind_int64(st, 10, r->ended_at);
            db_bind_text(st, 11, r->end_reason ? r->end_reason : "closed");
        } else {
            db_bind_null(st, 10);
            db_bind_null(st, 11);
        }
        size_t c = 0;
        if ((ret = run_update(db, st, "cluster_sessions merge insert", &c)))
            goto fail;
        *written += c;
        /* the line's last row: newest wins over what every node holds now */
        bool last = i + 1 == n || rows[i + 1].line_id != r->line_id;
        bool active = false;
        for (size_t k = i + 1; last && k-- > 0 && rows[k].line_id == r->line_id;)
            active |= !rows[k].ended_at;
        int max = r->max; /* the line's limit as last seen by the node */
        if (last && active && max > 0 &&
            (ret = merge_limit(db, r->line_id, max, self_node, now, hls_ttl, killed)))
            goto fail;
    }
    if (tx_commit(db, plain)) {
        ret = -EIO;
        goto fail;
    }
    return 0;
fail:
    tx_rollback(db, plain);
    *written = *killed = 0;
    return ret ? ret : -EIO;
}
