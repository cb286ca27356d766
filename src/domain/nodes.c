/* domain/nodes.c: see domain/nodes.h. */
#include "domain/nodes.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "db/settings.h"

int dom_nodes_list(struct db *db, struct db_node **out, size_t *n)
{
    return db_nodes_list(db, out, n);
}

int dom_node_get(struct db *db, int64_t id, struct db_node *out)
{
    return db_node_get(db, id, out);
}

int dom_node_sessions(struct db *db, int64_t node_id, int64_t line_id, size_t limit,
                      struct db_csession_row **out, size_t *n)
{
    return db_csessions_list_node(db, node_id, line_id, limit, out, n);
}

int dom_node_update_caps(struct db *db, const struct db_node *in)
{
    return db_node_update_caps(db, in);
}

int dom_node_insert(struct db *db, const struct db_node *in, int64_t now, int64_t *id)
{
    return db_node_insert(db, in, now, id);
}

int dom_node_notify(struct db *db, int64_t id, const char *kind, const char *arg)
{
    char channel[32], payload[240];
    snprintf(channel, sizeof(channel), "node_%lld", (long long)id);
    snprintf(payload, sizeof(payload), "%s%s%s", kind, arg && *arg ? " " : "", arg ? arg : "");
    int rc = db_notify(db, channel, payload);
    return rc == -ENOTSUP ? 0 : rc; /* SQLite: no other node to tell */
}

int dom_node_delete(struct db *db, int64_t id)
{
    int rc = db_node_delete(db, id);
    if (rc == 0)
        rc = dom_node_notify(db, id, "state", "revoked"); /* a node still running stops */
    return rc;
}

int dom_node_set_state(struct db *db, int64_t id, const char *state)
{
    int rc = db_node_set_state(db, id, state);
    if (rc == 0)
        rc = dom_node_notify(db, id, "state", state);
    return rc;
}

static void hash_code(const char *code, char hex[65])
{
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)code, strlen(code));
    sodium_bin2hex(hex, 65, h, sizeof(h));
}

int dom_enrol_code_new(struct db *db, const char *name, const char *by, int64_t now, char code[41],
                       int64_t *expires)
{
    unsigned char raw[20];
    char hash[65];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(code, 41, raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
    hash_code(code, hash);
    *expires = now + DOM_ENROL_CODE_TTL;
    int rc = db_enrol_code_add(db, hash, name ? name : "", *expires, by);
    if (rc)
        sodium_memzero(code, 41);
    return rc;
}

int dom_enrol_code_take(struct db *db, const char *code, const char *name, int64_t now)
{
    char hash[65], forname[64];
    hash_code(code, hash);
    int rc = db_enrol_code_take(db, hash, now, forname);
    if (rc == 0 && forname[0] && strcmp(forname, name) != 0)
        rc = -ENOENT; /* used up all the same: a code is tried once */
    return rc;
}

int dom_cluster_setting(struct db *db, const char *key, char **value)
{
    return db_setting_get(db, key, value);
}
