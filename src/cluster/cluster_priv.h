/* cluster/cluster_priv.h — what the files of src/cluster/ share (identity file, keys). */
#ifndef XTREAMD_CLUSTER_PRIV_H
#define XTREAMD_CLUSTER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLUSTER_KID_LEN 17 /* 16 hex + NUL */

/* <data>/node.json */
struct cluster_identity {
    int64_t node_id; /* 0: not registered yet (a new main) */
    char name[64];
    int role; /* enum cluster_role */
    char public_url[256];
    char main_url[256];
    char database[1024]; /* an edge's --database (from the main at enrolment) */
    char token_kid[CLUSTER_KID_LEN];
    char token_pubkey[64]; /* base64 */
};

int cluster_identity_read(const char *data_dir, struct cluster_identity *id);
int cluster_identity_write(const char *data_dir, const struct cluster_identity *id);
int cluster_path(const char *data_dir, const char *name, char *out, size_t len);
int cluster_write_private(const char *path, const char *text);
int cluster_key_load(const char *path, bool create, unsigned char pk[32], unsigned char sk[64]);
void cluster_kid(const unsigned char pk[32], char kid[CLUSTER_KID_LEN]);
int cluster_b64_encode(const unsigned char *p, size_t n, char *out, size_t len);
int cluster_b64_decode(const char *s, unsigned char *out, size_t want);
int cluster_command_check(const char *kind, const char *arg);
int64_t cluster_wall_ms(void);

#endif
