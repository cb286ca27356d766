/*
 * cluster/admission: which node serves a stream start, the admission of the
 * session on the database, the token the 302 carries, and on the serving node
 * the sessions it holds (kills, batched reports). docs/internals/cluster.md
 * "Admission and tokens".
 *
 * On the main, per stream request (live .ts/.m3u8, movie, episode,
 * timeshift) after the line's checks:
 *   1. admission_choose: placement_choose (cluster/placement.h) over the
 *      nodes view (cluster/node.h) with the redirects sent since the nodes'
 *      last heartbeats counted as `pending`;
 *   2. admission_submit: on the thread pool, db_csession_admit (db/sessions.h:
 *      per-line lock, newest wins across all nodes, NOTIFY node_<id> 'kill
 *      <sid>' for the sessions it ended), then the token is signed;
 *   3. the caller answers 302 to admission_redirect_url (absolute), or serves
 *      the request itself when the main was chosen.
 * On the serving node (an edge, or the main serving directly):
 *   admission_track registers the viewer's connection under its sid (kick
 *   callback); a `kill <sid>` command (admission_command, hooked with
 *   cluster_on_command) revokes the sid (its token is refused from then on)
 *   and kicks the connection within the loop iteration that reads the
 *   notification; admission_untrack / admission_touch queue the session's
 *   end / HLS refresh, written in one batch every ADMISSION_REPORT_MS (never
 *   per segment).
 * On the main, admission_sweep (every few seconds) ends the sessions of
 * nodes whose heartbeat is older than the orphan ttl (end_reason
 * 'node_lost') and expired HLS leases, so lines regain their slots.
 *
 * Bounds (each hit counted in the metrics): ADMISSION_MAX_NODES nodes in the
 * pending table, ADMISSION_REVOKED revoked sids remembered (a ring: the oldest
 * is forgotten, its token long expired by then), ADMISSION_MAX_TRACKED tracked
 * sessions, ADMISSION_MAX_REPORT queued reports (beyond: dropped and counted;
 * the main's HLS expiry and orphan sweep end such rows later), at most
 * ADMISSION_DB_CONNS database connections for admission jobs.
 * Threading: loop thread, except the *_work functions (thread pool).
 */
#ifndef XTREAMD_CLUSTER_ADMISSION_H
#define XTREAMD_CLUSTER_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "cluster/node.h"
#include "cluster/placement.h"
#include "cluster/token.h"
#include "core/buf.h"
#include "core/ipnet.h"

#define ADMISSION_MAX_NODES      256
#define ADMISSION_REVOKED        4096
#define ADMISSION_MAX_TRACKED    65536
#define ADMISSION_MAX_REPORT     8192
#define ADMISSION_DB_CONNS       4
#define ADMISSION_REPORT_MS      5000
#define ADMISSION_HLS_TTL        30 /* s an HLS session stays counted without a refresh */
#define ADMISSION_ORPHAN_TTL     60 /* s default of --cluster-orphan-ttl */
#define ADMISSION_PENDING_WINDOW 2  /* s a redirect counts as pending (one heartbeat) */

enum admission_offline { ADMISSION_OFFLINE_DENY, ADMISSION_OFFLINE_ALLOW };

struct admission_config {
    uv_loop_t *loop;
    const char *data_dir; /* db_open's data directory for the job connections */
    int64_t self_id;      /* this node */
    int orphan_ttl;       /* s; 0 = ADMISSION_ORPHAN_TTL */
    int hls_ttl;          /* s; 0 = ADMISSION_HLS_TTL */
    enum admission_offline offline;
    /* The main's token key pair (main only; NULL on an edge, which cannot sign); copied. */
    const struct cluster_token_key *key;
    /* The public keys every node verifies with (cluster_token_pubs_parse). */
    struct cluster_token_pubs pubs;
};

struct admission;

/* NULL when out of memory. */
struct admission *admission_new(const struct admission_config *cfg);
/* Waits for nothing: jobs in flight finish on the thread pool and free
 * themselves after their callback was withdrawn (admission_cancel). */
void admission_free(struct admission *a);

/* ---- choosing (main, loop thread) ---- */

/* Whether node runs / may start stream_id (the placements of i16-edge); NULL:
 * every node may start every stream, none is known to run it. */
typedef void admission_runs_fn(void *ud, int64_t stream_id, int64_t node_id, bool *runs,
                               bool *may_start);

struct admission_choice_req {
    int64_t stream_id;
    const char *country; /* "" unknown */
    int64_t force_node;  /* 0 none */
    admission_runs_fn *runs;
    void *runs_ud;
};

/* The node for a new viewer among nodes[0..n): 0 with *node (an element of
 * nodes), or -EAGAIN when none may take it (the caller answers 503). A chosen
 * node's pending count goes up by one. */
int admission_choose(struct admission *a, const struct cluster_node_view *nodes, size_t n,
                     const struct admission_choice_req *r, const struct cluster_node_view **node);

/* The placement_node of a view entry (caps converted, pending from the table). */
void admission_placement_node(struct admission *a, const struct cluster_node_view *v, bool runs,
                              bool may_start, struct placement_node *out);

/* ---- admitting (main: thread pool job, callback on the loop) ---- */

struct admission_start {
    int64_t line_id, stream_id, node_id;
    enum cluster_kind kind;
    int max_connections; /* <= 0: no limit */
    char ip[IPNET_TEXT_MAX];
    char user_agent[256];
    bool bind_ip;             /* bind the token to the client's /24 or /64 */
    struct ipnet_addr client; /* when bind_ip */
};

/* rc 0: token (valid until the callback returns) and sid; else a negative
 * errno and token NULL. Called on the loop thread, unless cancelled. */
typedef void admission_done_fn(void *ud, int rc, const char *token, const char *sid);

struct admission_job;

/* Queues the admission of s; cb(ud, ...) later on the loop. NULL when it
 * could not be queued (no key: not the main, out of memory, uv error). */
struct admission_job *admission_submit(struct admission *a, const struct admission_start *s,
                                       admission_done_fn *cb, void *ud);
/* The request went away: cb is not called; the job still completes (the
 * session, if admitted, is ended by the HLS/orphan sweeps or its node). */
void admission_cancel(struct admission_job *j);

/* The absolute URL of the redirect: <public_url>/c/<token>/<stream_id>.<ext>.
 * -ENOSPC. */
int admission_redirect_url(const char *public_url, const char *token, int64_t stream_id,
                           const char *ext, char *out, size_t n);

/* ---- serving (any node, loop thread) ---- */

/* Verifies a token presented to this node for (kind, stream_id): 0 with *c,
 * or a CLUSTER_TOKEN_* refusal (counted by reason). */
int admission_verify(struct admission *a, const char *tok, size_t len, enum cluster_kind kind,
                     int64_t stream_id, const struct ipnet_addr *client, int64_t now,
                     struct cluster_token_claims *c);

typedef void admission_kick_fn(void *ctx);
/* Registers the connection serving sid (kick closes it; drop, if not NULL,
 * releases ctx when the entry goes without a kick: untrack, free). A handle >
 * 0, or 0 at the bound or out of memory (counted). */
uint64_t admission_track(struct admission *a, const char *sid, admission_kick_fn *kick,
                         void (*drop)(void *ctx), void *ctx);
/* The connection ended: its session's end is reported in the next batch (end_reason
 * 'closed'), unless the sid was revoked (the main ended it) or is tracked again by then (a
 * player's next connection with the same token: a seek, a reconnect). */
void admission_untrack(struct admission *a, uint64_t handle);
/* Untracks without reporting an end (the connection was not the session's, or the serving
 * refused it and the caller keeps the session to another connection). */
void admission_forget(struct admission *a, uint64_t handle);
/* The session ended without a tracked connection (its request was refused): reported like an
 * untrack's end. */
void admission_end(struct admission *a, const char *sid);
/* Whether a connection is tracked under sid. */
bool admission_tracked(struct admission *a, const char *sid);
/* An HLS playlist or segment of sid was served: last_seen in the next batch (once per sid
 * and batch). */
void admission_touch(struct admission *a, const char *sid);
/* The same by the handle admission_track gave (an HLS session's segment requests carry its
 * local session token, not the cluster token). */
void admission_touch_handle(struct admission *a, uint64_t handle);
/* Whether sid was revoked on this node. */
bool admission_revoked(struct admission *a, const char *sid);

/* The cluster_on_command hook: "kill <sid>" revokes sid and kicks its
 * connection. Other kinds are ignored. */
void admission_command(void *ud, const char *kind, const char *arg);

/* Timer work (loop): every ADMISSION_REPORT_MS the queued reports go to the
 * database in one thread-pool job; on the main (nodes != NULL) nodes not seen
 * for the orphan ttl have their sessions ended, HLS leases expired. */
void admission_tick(struct admission *a, const struct cluster_node_view *nodes, size_t n,
                    int64_t now);

/* ---- /metrics ---- */

struct admission_metrics {
    uint64_t admitted, admit_failed, redirects, served_local, no_node;
    uint64_t token_refused[8]; /* by cluster_token_reason index, see admission_metrics_write */
    uint64_t kills_sent, kills_received, kills_applied;
    uint64_t sessions_released; /* node_lost */
    uint64_t reports_written, reports_dropped, report_failures;
    uint64_t tracked, track_refused;
    uint64_t hls_lease_renewals; /* expired tokens still opening their live HLS session */
    uint64_t pending_full, revoked_forgotten;
};
void admission_metrics_get(const struct admission *a, struct admission_metrics *m);
/* Prometheus text of the metrics (xtreamd_cluster_*). */
void admission_metrics_write(const struct admission *a, struct buf *out);
/* Counters the caller bumps (the redirect decision is the caller's). */
void admission_count_redirect(struct admission *a, bool local);

#endif
