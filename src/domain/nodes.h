/*
 * domain/nodes: the nodes of a cluster as the admin API and the CLI change them (rules around
 * db/nodes.h): a state change also tells the node (NOTIFY node_<id>, delivered at the commit of
 * the caller's transaction); enrolment codes are made here (random, shown once, stored as a
 * SHA-256 hash). Blocking; any thread with its own connection.
 */
#ifndef XTREAMD_DOMAIN_NODES_H
#define XTREAMD_DOMAIN_NODES_H

#include <stdint.h>

#include "db/nodes.h"
#include "db/sessions.h"

struct db;

#define DOM_ENROL_CODE_TTL 3600

int dom_nodes_list(struct db *db, struct db_node **out, size_t *n);
int dom_node_get(struct db *db, int64_t id, struct db_node *out);
/* The node's active viewer sessions (db/sessions.h), oldest first, at most limit. */
int dom_node_sessions(struct db *db, int64_t node_id, int64_t line_id, size_t limit,
                      struct db_csession_row **out, size_t *n);
int dom_node_update_caps(struct db *db, const struct db_node *in);
int dom_node_insert(struct db *db, const struct db_node *in, int64_t now, int64_t *id);
int dom_node_delete(struct db *db, int64_t id);
/* state: active | draining | fenced | revoked; the node hears "state <state>". */
int dom_node_set_state(struct db *db, int64_t id, const char *state);
/* "KIND[ ARG]" to NOTIFY node_<id> (cluster/node.h describes the commands). */
int dom_node_notify(struct db *db, int64_t id, const char *kind, const char *arg);
/* A new code (40 hex) for name ("" = any), stored hashed; *expires = now + 1 h. */
int dom_enrol_code_new(struct db *db, const char *name, const char *by, int64_t now, char code[41],
                       int64_t *expires);
/* Takes code (once, unexpired); -ENOENT when wrong, used or expired, or made for another name. */
int dom_enrol_code_take(struct db *db, const char *code, const char *name, int64_t now);
/* A raw settings row (the cluster's: cluster_token_pubkey, cluster_database_url); -ENOENT. */
int dom_cluster_setting(struct db *db, const char *key, char **value);

#endif
