/* cluster/node.h — this node's identity in a cluster, its heartbeat, the in-memory view of every
 * node, and commands sent to a node (NOTIFY node_<id>). See docs/internals/cluster.md.
 *
 * A cluster runs on PostgreSQL only. The server owns one `struct cluster` (NULL when standalone:
 * no <data-dir>/node.json, or SQLite); every function below accepts NULL and then answers as a
 * standalone node would. All functions run on the loop thread unless said otherwise. */
#ifndef XTREAMD_CLUSTER_NODE_H
#define XTREAMD_CLUSTER_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct db;
struct cluster; /* owned by the server, NULL when standalone */

enum cluster_role { CLUSTER_ROLE_MAIN = 0, CLUSTER_ROLE_EDGE = 1 };
enum cluster_state {
    CLUSTER_STATE_ACTIVE = 0,   /* takes new viewers */
    CLUSTER_STATE_DRAINING = 1, /* no new viewers; existing ones stay */
    CLUSTER_STATE_FENCED = 2,   /* no new viewers; existing ones are moved off */
    CLUSTER_STATE_REVOKED = 3,  /* removed from the cluster */
};
/* Same order as enum placement_geo (cluster/placement.h). */
enum cluster_geo { CLUSTER_GEO_PREFER = 0, CLUSTER_GEO_STRICT = 1, CLUSTER_GEO_AVOID = 2 };

#define CLUSTER_HEARTBEAT_MS 2000
/* A node is fresh while its last heartbeat is younger than 3 heartbeats. */
#define CLUSTER_FRESH_MS (3 * CLUSTER_HEARTBEAT_MS)

int64_t cluster_self_id(const struct cluster *c); /* 0 when standalone */
bool cluster_is_main(const struct cluster *c);    /* false when standalone */

struct cluster_node_view {
    int64_t id;
    char name[64];
    char public_url[256];
    int role;  /* enum cluster_role */
    int state; /* enum cluster_state */
    bool fresh;
    uint32_t seen_age_ms; /* UINT32_MAX: never seen */
    uint32_t sessions;
    uint32_t max_sessions; /* 0 = no cap */
    uint64_t egress_bps;
    uint32_t max_egress_mbps; /* 0 = no cap */
    float cpu_pct;
    uint32_t weight;
    char countries[64]; /* comma-separated ISO codes, "" = none */
    int geo_mode;       /* enum cluster_geo */
    unsigned char pubkey[32];
};

/* The last refreshed view (≤ 2 s old), ordered by id; valid until the next loop iteration.
 * NULL and *count = 0 when standalone. */
const struct cluster_node_view *cluster_nodes(const struct cluster *c, size_t *count);
/* One node of the view, or NULL. */
const struct cluster_node_view *cluster_node_find(const struct cluster *c, int64_t id);

/* Signs/verifies with THIS node's key (edge→node requests, e.g. origin pulls). Verify uses the
 * public key of node_id in the view. 0, -ENOENT (unknown node / standalone), -EBADMSG (bad). */
int cluster_node_sign(const struct cluster *c, const void *msg, size_t len, unsigned char sig[64]);
int cluster_node_verify(const struct cluster *c, int64_t node_id, const void *msg, size_t len,
                        const unsigned char sig[64]);

/* The main's token key pair (Ed25519; tokens: cluster/token.h). The public key and its kid are
 * known on every node (node.json of an edge, setting cluster_token_pubkey = "KID:base64"); the
 * secret key only on the main (NULL elsewhere). */
const unsigned char *cluster_token_pk(const struct cluster *c); /* 32 bytes or NULL */
const char *cluster_token_kid(const struct cluster *c);         /* "" when standalone */
const unsigned char *cluster_token_sk(const struct cluster *c); /* 64 bytes, main only */

/* Commands to a node: the payload of NOTIFY node_<id> is "KIND" or "KIND ARG" (KIND [a-z_]{1,31},
 * ARG ≤ 200 printable bytes). Built-in kinds: "state" ARG = active|draining|fenced (sent by
 * drain/fence/activate; the node updates its own state at once). Every registered hook sees
 * every command (built-in ones too), on the loop thread, in registration order; at most 8. */
typedef void (*cluster_command_fn)(void *ud, const char *kind, const char *arg);
int cluster_on_command(struct cluster *c, cluster_command_fn fn, void *ud);
/* Sends a command to node_id (any node, the main included). 0 or -errno. Blocking (one
 * statement): call it where database writes are allowed (thread pool, admin handlers' jobs). */
int cluster_send(struct db *db, int64_t node_id, const char *kind, const char *arg);

/* This node's own state (enum cluster_state) as last learnt (command or view refresh). */
int cluster_self_state(const struct cluster *c);

/* Overload (issue 16 item 4, docs/internals/cluster.md "Overload"): this node's load against its
 * own caps, from counters the caller takes now (not the view's heartbeat, up to 2 s old). The
 * node is overloaded when its load goes above high_pct per cent of a cap and stays so until it
 * falls to high_pct - CLUSTER_OVERLOAD_HYSTERESIS_PCT: a node hovering at its cap does not flip
 * at every sample. While overloaded, `excess` viewers must move off to bring the load back to
 * the high-water mark (exactly that many: the ones that stay never see a glitch). */
#define CLUSTER_OVERLOAD_HYSTERESIS_PCT 10
struct cluster_load {
    /* in */
    uint32_t sessions;       /* viewers held now, those already moving off excluded */
    uint32_t moving;         /* viewers moving off (still counted in the egress sample) */
    uint64_t egress_bps;     /* measured egress (all sessions, moving ones included) */
    uint32_t max_sessions;   /* 0 = no cap */
    uint64_t max_egress_bps; /* 0 = no cap */
    unsigned high_pct;       /* high-water mark, per cent of a cap; 0 = never overloaded */
    /* out */
    uint32_t load_pct; /* the higher ratio of the two caps, per cent (egress: estimated for the
                        * sessions that stay at the measured mean per-session bitrate) */
    bool overloaded;   /* in: the previous state; out: the new one */
    uint32_t excess;   /* viewers to move off now (0 unless overloaded) */
};
/* Pure: fills load_pct, overloaded and excess from the inputs. */
void cluster_load_eval(struct cluster_load *l);
/* This node's load: the caps of its own row in the view (the operator's setting), the egress
 * from the stats callback, the hysteresis state kept in c. *out is zeroed (not overloaded)
 * standalone or for a node not in the view yet. */
void cluster_self_load(struct cluster *c, uint32_t sessions, uint32_t moving, unsigned high_pct,
                       struct cluster_load *out);

/* What the heartbeat reports about this node; filled on the loop thread. */
struct cluster_stats {
    uint32_t sessions;
    uint64_t egress_bps;
    uint64_t ingress_bps;
    uint32_t channels_running;
    float cpu_pct;      /* the process; 100 = one core */
    uint64_t mem_bytes; /* resident set */
};
typedef void (*cluster_stats_fn)(void *ud, struct cluster_stats *out);

struct cluster_options {
    const char *data_dir;
    const char *database;       /* this node's --database (the location in use) */
    const char *role;           /* --cluster-role: NULL, "main" (create/keep a main) */
    const char *public_url;     /* --public-url (required with --cluster-role main) */
    const char *cluster_db_url; /* --cluster-database-url (main; default: database) */
    cluster_stats_fn stats;     /* may be NULL */
    void *stats_ud;
};

/* Reads <data_dir>/node.json (creates it for --cluster-role main), registers/updates the node's
 * row (the heartbeat and view refresh start with cluster_start), and LISTENs on node_<id> through
 * `loop_db` (the loop's connection, the one that LISTENs for catalogue changes). *out = NULL and
 * 0 when the node is standalone. -EINVAL (with a logged reason) for a cluster on SQLite, a
 * malformed node.json, or --cluster-role main without --public-url. */
int cluster_open(struct cluster **out, uv_loop_t *loop, struct db *loop_db,
                 const struct cluster_options *o);
/* Starts the heartbeat timer (the first beat at once, then every 2 s): call when serving. */
void cluster_start(struct cluster *c);
/* Called by the server's refresh tick (≤ 500 ms): reads pending node commands. */
void cluster_poll(struct cluster *c);
/* Stops the heartbeat (the server is stopping; the node turns offline after 3 beats). */
void cluster_stop(struct cluster *c);
/* Stops the timers; waits for an in-flight heartbeat; frees. NULL is a no-op. */
void cluster_close(struct cluster *c);

/* Counters for /metrics (Prometheus text appended to the writer by the caller). */
struct cluster_metrics {
    uint64_t heartbeats;
    uint64_t heartbeat_failures;
    uint64_t view_refreshes;
    uint64_t view_failures;
    uint64_t commands;
    uint32_t view_age_ms; /* age of the current view */
    uint32_t nodes;
    uint32_t nodes_fresh;
};
void cluster_metrics_get(const struct cluster *c, struct cluster_metrics *m);

/* The database an edge was told to use at enrolment (node.json), for serve before it opens the
 * database: 0 and out, -ENOENT (none / no node.json), -EINVAL (malformed). */
int cluster_identity_database(const char *data_dir, char *out, size_t len);

/* `xtreamd node enrol` (cluster/enrol.c): generates this node's key pair in data_dir, POSTs to
 * main_url/api/v1/nodes/enrol with the one-time code, writes node.json. Blocking (the CLI). 0, or
 * -errno with a one-line reason in err. */
struct cluster_enrol_req {
    const char *main_url, *code, *name, *public_url, *data_dir;
};
int cluster_enrol(const struct cluster_enrol_req *r, int64_t *node_id, char *err, size_t errlen);

const char *cluster_state_name(int state);
int cluster_state_parse(const char *s); /* -EINVAL when unknown */
const char *cluster_geo_name(int geo);
int cluster_geo_parse(const char *s);

#endif
