/*
 * db/nodes: the tables of a cluster's nodes (migration 14): nodes, node_status (one heartbeat
 * row per node), node_enrol_codes. Times of node_status come from the database's clock (on
 * PostgreSQL), so ages and freshness never depend on a node's clock. Blocking: call from the
 * thread pool, the CLI, or an admin call's work phase.
 */
#ifndef XTREAMD_DB_NODES_H
#define XTREAMD_DB_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct db_node {
    int64_t id;
    char name[64];
    char role[8]; /* main | edge */
    char public_url[256];
    char state[12]; /* active | draining | fenced | revoked */
    int64_t max_sessions, max_egress_mbps, weight;
    char countries[64];
    char geo_mode[8]; /* prefer | strict | avoid */
    char pubkey[64];  /* base64 Ed25519 */
    int64_t created_at, enrolled_at;
    char version[32];
    /* node_status (has_status false: never seen) */
    bool has_status;
    int64_t seen_at; /* Unix seconds, database clock */
    int64_t age_ms;  /* database now - seen_at_ms */
    int64_t skew_ms; /* the node's clock minus the database's */
    int64_t sessions, egress_bps, ingress_bps, mem_bytes, channels_running, seq;
    double cpu_pct;
    /* cluster_sessions rows of the node not ended (the main's admission count; an HLS lease
     * that ran out is ended by the main's sweep within seconds) */
    int64_t active_sessions;
};

struct db_node_beat {
    int64_t local_ms; /* the node's wall clock when sending (skew) */
    int64_t sessions, egress_bps, ingress_bps, mem_bytes, channels_running;
    double cpu_pct;
};

/* Every node with its status, by id; *out is a heap array (free()). */
int db_nodes_list(struct db *db, struct db_node **out, size_t *n);
/* One node; -ENOENT. */
int db_node_get(struct db *db, int64_t id, struct db_node *out);
int db_node_find(struct db *db, const char *name, int64_t *id);
/* Inserts name, role, public_url, pubkey, version (state active, caps defaults); -EEXIST. */
int db_node_insert(struct db *db, const struct db_node *in, int64_t now, int64_t *id);
/* The main at start: its URL, key and version. */
int db_node_update_self(struct db *db, int64_t id, const char *public_url, const char *pubkey,
                        const char *version);
/* The admin settings (max_sessions, max_egress_mbps, weight, countries, geo_mode); -ENOENT. */
int db_node_update_caps(struct db *db, const struct db_node *in);
int db_node_set_state(struct db *db, int64_t id, const char *state);
int db_node_delete(struct db *db, int64_t id);
/* Upserts node id's status; *db_ms (may be NULL) = the database's clock (ms) it used. */
int db_node_beat(struct db *db, int64_t id, const struct db_node_beat *b, int64_t *db_ms);

/* Enrolment codes: hash = hex SHA-256 of the code. take: marks an unused, unexpired code used
 * (atomically) and returns the name it was made for ("" = any); -ENOENT otherwise. */
int db_enrol_code_add(struct db *db, const char *hash, const char *name, int64_t expires_at,
                      const char *created_by);
int db_enrol_code_take(struct db *db, const char *hash, int64_t now, char name[64]);

#endif
