/*
 * db/sessions: the cluster's viewer sessions (table cluster_sessions,
 * docs/internals/cluster.md "Admission and tokens").
 *
 * Admission (db_csession_admit) is one transaction on the main per stream
 * start: the line is serialised across the cluster (PostgreSQL: a
 * transaction-level advisory lock on the line, not the global writer lock,
 * so starts of different lines do not wait for each other; SQLite: its one
 * writer), the line's active sessions on ALL nodes are counted, the oldest
 * over the limit are ended (end_reason 'limit', "newest wins") and, on
 * PostgreSQL, `NOTIFY node_<id>, 'kill <sid>'` is queued for each (delivered
 * at COMMIT, so a node never cuts a viewer for a session that was rolled
 * back), then the new row is inserted. So the count never exceeds the limit.
 *
 * Active = ended_at IS NULL and (kind <> 'hls' or last_seen_at >= now -
 * hls_ttl): an HLS viewer has no connection to close, only a lease its node
 * refreshes in batches (db_csessions_touch).
 * Threading: like struct db, one thread at a time per connection; the server
 * runs these on its thread pool, never on the loop.
 */
#ifndef XTREAMD_DB_SESSIONS_H
#define XTREAMD_DB_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define DB_CSESSION_ID_LEN      32
#define DB_CSESSION_MAX_KILL    64 /* victims reported by one admission (a limit cut far below) */
#define DB_CSESSION_KILL_PREFIX "kill " /* cluster/node.h command "KIND ARG" */

struct db_csession_new {
    char id[DB_CSESSION_ID_LEN + 1];
    int64_t line_id, stream_id, node_id;
    const char *kind; /* "live", "hls", "movie", "episode", "timeshift" */
    const char *ip, *user_agent;
};

struct db_csession_victim {
    char id[DB_CSESSION_ID_LEN + 1];
    int64_t node_id;
};

struct db_csession_row {
    char id[DB_CSESSION_ID_LEN + 1];
    int64_t line_id, stream_id, node_id;
    char kind[12];
    char ip[65];
    int64_t started_at, last_seen_at, ended_at; /* ended_at 0: active */
    char end_reason[16];
};

/* Admits s at now for a line allowed max sessions (max <= 0: no limit):
 * ends the oldest active sessions of the line so that, with s, at most max
 * are active, and inserts s. victims (capacity cap) receives the sessions
 * ended, *nvictims how many (all of them are ended even beyond cap; only the
 * first cap are reported, and the rest are still notified). 0, -EEXIST (s.id
 * taken), -EINVAL, -EIO (logged; rolled back). */
int db_csession_admit(struct db *db, const struct db_csession_new *s, int max, int64_t now,
                      int hls_ttl, struct db_csession_victim *victims, size_t cap,
                      size_t *nvictims);

/* Ends one session (the serving node saw it end): 0, -ENOENT (unknown or
 * already ended), -EIO. */
int db_csession_end(struct db *db, const char *id, const char *reason, int64_t now);

/* Refreshes last_seen_at of the active sessions among ids (one statement per
 * call, the batch of a node's report). *touched: how many rows. */
int db_csessions_touch(struct db *db, const char *const *ids, size_t n, int64_t now,
                       size_t *touched);

/* Ends every active session of node_id (end_reason given, e.g. 'node_lost'):
 * a node that stopped reporting gives its lines their slots back. *ended: how
 * many. */
int db_csessions_release_node(struct db *db, int64_t node_id, const char *reason, int64_t now,
                              size_t *ended);

/* Ends HLS sessions whose lease ran out (end_reason 'expired'); *ended. */
int db_csessions_expire_hls(struct db *db, int64_t now, int hls_ttl, size_t *ended);

/* Active sessions of a line (the admission's count). */
int db_csessions_count_line(struct db *db, int64_t line_id, int64_t now, int hls_ttl,
                            size_t *count);

/* The active (not ended) sessions of node_id, of line_id only when > 0, oldest first, at most
 * limit: *out a heap array (free()). */
int db_csessions_list_node(struct db *db, int64_t node_id, int64_t line_id, size_t limit,
                           struct db_csession_row **out, size_t *n);

/* One session by id: 0, -ENOENT, -EIO. */
int db_csession_get(struct db *db, const char *id, struct db_csession_row *out);

/* A session an edge admitted while it could not reach the main or the database
 * (cluster/offline.h): its journal entry, written at reconciliation. */
struct db_csession_offline {
    char id[DB_CSESSION_ID_LEN + 1];
    int64_t line_id, stream_id, node_id;
    const char *kind, *ip, *user_agent;
    int64_t started_at;
    int64_t ended_at;       /* 0: still being watched */
    const char *end_reason; /* when ended_at */
    int max;                /* the line's max_connections (<= 0: no limit) */
};

/* Writes a node's offline journal in ONE transaction: rows must be ordered by
 * line_id (each line's admission lock is taken once, in that order, so two
 * nodes reconciling at once cannot deadlock). A row whose id is already there
 * is left alone (a retry after a commit whose answer was lost). Then newest
 * wins across nodes: every line with an active row keeps its newest max active
 * sessions and the older ones are ended ('limit'), their nodes told `kill
 * <sid>` at COMMIT, except self_node's own (its local registry already kept the
 * line within the limit among its own viewers, and the kill path closes a
 * line's connections to a stream, which would cut the newest one too).
 * *written: rows inserted; *killed: sessions ended by the merge. 0, -EINVAL,
 * -EIO (rolled back: the journal is kept and retried). Rows of one line are
 * in start order; the last one gives the limit. */
int db_csessions_merge(struct db *db, const struct db_csession_offline *rows, size_t n,
                       int64_t self_node, int64_t now, int hls_ttl, size_t *written,
                       size_t *killed);

#endif
