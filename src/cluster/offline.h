/*
 * cluster/offline: an edge that lost the main or the database (issue 16 item 6,
 * docs/internals/cluster.md "Offline edges").
 *
 * An edge is *offline* when its view of the nodes was not refreshed for
 * CLUSTER_FRESH_MS (its own database connection is lost: the heartbeat's read
 * fails) or the main's entry in it is not fresh (the main stopped beating).
 * Then a new stream start cannot be admitted by the main, and the edge applies
 * --cluster-offline-admission:
 *   deny  — 503 with Retry-After (the viewer's player retries; the default: no
 *           viewer is admitted that the cluster has not counted);
 *   local — the line is checked against the edge's cached catalogue (the api
 *           did it), its max_connections is enforced by the edge's own
 *           registry, and the session is recorded in a bounded journal here.
 * Viewers already playing are never cut by the loss.
 *
 * Reconciliation: once online again, the journal goes to cluster_sessions in
 * one transaction on the thread pool (db_csessions_merge: newest wins across
 * nodes); on failure it is kept and retried on the next tick.
 *
 * Bounds: OFFLINE_JOURNAL_MAX entries; a local start beyond it is refused
 * (503) and counted. Threading: loop thread, except the merge job.
 */
#ifndef XTREAMD_CLUSTER_OFFLINE_H
#define XTREAMD_CLUSTER_OFFLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/buf.h"

#define OFFLINE_JOURNAL_MAX 4096
#define OFFLINE_SID_LEN     32

enum offline_policy { OFFLINE_DENY = 0, OFFLINE_LOCAL = 1 };

/* "deny" | "local": the policy, or -EINVAL. */
int offline_policy_parse(const char *s);
const char *offline_policy_name(int policy);

struct cluster;
struct conn_registry;

struct offline_config {
    uv_loop_t *loop;
    const char *data_dir;        /* db_open's data directory for the merge connection */
    struct cluster *cluster;     /* borrowed: the view that says whether the main is there */
    struct conn_registry *conns; /* borrowed: which lines still watch at reconciliation */
    enum offline_policy policy;
    size_t journal_max; /* 0 = OFFLINE_JOURNAL_MAX */
};

struct offline;

struct offline *offline_new(const struct offline_config *cfg); /* NULL: out of memory */
/* A merge in flight finishes on the thread pool, then the rest is freed. NULL: no-op. */
void offline_free(struct offline *o);

/* Whether the main cannot admit now (see above). Also counts the transitions. */
bool offline_now(struct offline *o);
enum offline_policy offline_policy(const struct offline *o);

struct offline_start {
    int64_t line_id, stream_id;
    const char *kind; /* "live" | "hls" */
    int max_connections;
    const char *ip, *user_agent;
    int64_t now;
};
/* Records a local admission: 0 with sid (OFFLINE_SID_LEN hex + NUL), or
 * -ENOSPC at the journal's bound (counted; the caller answers 503). *again:
 * an HLS playlist refresh of a journalled session (same line, stream, IP and
 * User-Agent): its sid, nothing new recorded. */
int offline_record(struct offline *o, const struct offline_start *s, char sid[OFFLINE_SID_LEN + 1],
                   bool *again);
/* A start refused by the deny policy (counted). */
void offline_count_denied(struct offline *o);

/* The refresh tick (loop): online with a journal and no merge running ->
 * queue the merge. */
void offline_tick(struct offline *o, int64_t now);

struct offline_metrics {
    bool offline;
    uint64_t transitions, local_admitted, denied, journal_full, reconciled, reconcile_killed,
        reconcile_failures;
    size_t journal;
};
void offline_metrics_get(const struct offline *o, struct offline_metrics *m);
void offline_metrics_write(const struct offline *o, struct buf *out);

#endif
