/*
 * cluster/token: the stream tokens of a cluster (issue 16 item 4) — what the
 * main puts in the 302 it answers to a stream request so that the chosen
 * node serves the viewer without asking the database who they are.
 *
 * Token (one path segment, URL-safe, never the password):
 *   v1.<base64url(payload)>.<base64url(Ed25519 signature of "v1." + that base64url text)>
 * Payload: compact JSON, members in this order, no spaces:
 *   {"sid":"<32 hex>","lid":LINE,"sub":STREAM,"k":"live|hls|movie|episode|timeshift",
 *    "node":NODE,"iat":UNIX,"exp":UNIX,"kid":"KID"[,"ip":"PREFIX/LEN"]}
 *   sid   the cluster_sessions row the main admitted (db/sessions)
 *   node  the node that may serve it: a token shown to any other node is refused
 *   kid   which of the main's token keys signed it (rotation)
 *   ip    optional: the client's /24 (IPv4) or /64 (IPv6) the token is bound to
 * The parser accepts exactly what the maker writes (the fuzz target checks the
 * round trip): one canonical text per claim set, so a token cannot be varied
 * without its signature failing.
 *
 * Keys. The main holds the private key in its data directory (token.key,
 * 0600, managed by cluster/node.c: cluster_token_sk); every node knows the
 * public key (node.json, and the settings row CLUSTER_TOKEN_SETTING,
 * "KID:base64(32-byte public key)[;KID:base64(...)]", current first, the
 * second the previous key during a rotation; standard or URL-safe base64).
 * KID: 1-16 characters [0-9a-f] (cluster/node.c: hex of SHA-256 of the public
 * key). Edges never hold a secret that could mint tokens.
 *
 * Verification (cluster_token_verify): signature under the key its kid names,
 * then node == self, then time (iat not more than the skew ahead, exp not more
 * than the skew behind: nodes' clocks may differ from the main's by that much),
 * then the IP prefix, then the revoked-sid set. The signature is checked first,
 * so every other answer only ever describes a genuine token.
 * Threading: pure functions (the revoked callback is the caller's).
 */
#ifndef XTREAMD_CLUSTER_TOKEN_H
#define XTREAMD_CLUSTER_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipnet.h"

#define CLUSTER_TOKEN_SETTING   "cluster_token_pubkey"
#define CLUSTER_TOKEN_MAX       512 /* the longest token cluster_token_make writes, plus NUL */
#define CLUSTER_TOKEN_FIRST_TTL 30  /* seconds a token is valid for the first request */
#define CLUSTER_TOKEN_SKEW      30  /* seconds of clock difference allowed between nodes */
#define CLUSTER_TOKEN_PUB_MAX   128 /* the setting's text, two keys, plus NUL */
#define CLUSTER_SID_LEN         32  /* hex characters of a session id */
#define CLUSTER_TOKEN_KID_MAX   17  /* 16 characters + NUL */

enum cluster_kind {
    CLUSTER_KIND_LIVE,
    CLUSTER_KIND_HLS,
    CLUSTER_KIND_MOVIE,
    CLUSTER_KIND_EPISODE,
    CLUSTER_KIND_TIMESHIFT,
};
#define CLUSTER_KIND_COUNT 5

/* "live", "hls", ... (the `k` member and cluster_sessions.kind); NULL out of range. */
const char *cluster_kind_name(enum cluster_kind k);
/* The kind named by s[0..n); -EINVAL when none. */
int cluster_kind_parse(const char *s, size_t n, enum cluster_kind *out);

struct cluster_token_claims {
    char sid[CLUSTER_SID_LEN + 1];
    int64_t line_id;
    int64_t stream_id;
    enum cluster_kind kind;
    int64_t node_id;
    int64_t iat, exp;
    char kid[CLUSTER_TOKEN_KID_MAX];
    bool bound;      /* ip below is meaningful */
    struct ipnet ip; /* the client's /24 or /64 */
};

/* The main's key pair. */
struct cluster_token_key {
    char kid[CLUSTER_TOKEN_KID_MAX];
    unsigned char pk[32];
    unsigned char sk[64];
};

/* The public keys a node verifies with (k[0] current). */
struct cluster_token_pubs {
    struct {
        char kid[CLUSTER_TOKEN_KID_MAX];
        unsigned char pk[32];
    } k[2];
    size_t n;
};

/* Why a token was refused (negative errno-style values, distinct). */
#define CLUSTER_TOKEN_MALFORMED  (-22)  /* -EINVAL */
#define CLUSTER_TOKEN_BAD_SIG    (-129) /* -EKEYREJECTED: forged, tampered, unknown kid */
#define CLUSTER_TOKEN_EXPIRED    (-127) /* -EKEYEXPIRED (also: issued in the future) */
#define CLUSTER_TOKEN_WRONG_NODE (-18)  /* -EXDEV */
#define CLUSTER_TOKEN_WRONG_IP   (-13)  /* -EACCES */
#define CLUSTER_TOKEN_REVOKED    (-128) /* -EKEYREVOKED: the session was ended */
#define CLUSTER_TOKEN_WRONG_ITEM (-2)   /* -ENOENT: another stream or kind than the URL's */

/* The metrics label of a refusal ("malformed", "signature", ...); "other" for unknown codes. */
const char *cluster_token_reason(int rc);

/* A fresh key pair with id kid (tests, rotation). 0, -EINVAL (kid), -EIO. */
int cluster_token_keygen(struct cluster_token_key *k, const char *kid);
/* The key pair of cluster/node.c (cluster_token_kid / _pk / _sk). 0 or -EINVAL. */
int cluster_token_key_set(struct cluster_token_key *k, const char *kid, const unsigned char pk[32],
                          const unsigned char sk[64]);
/* Whether s is a kid. */
bool cluster_token_kid_valid(const char *s);

/* The settings row's text <-> the public keys. Format writes k (current) then,
 * when prev is not NULL, prev. */
int cluster_token_pubs_format(const struct cluster_token_key *k,
                              const struct cluster_token_pubs *prev, char *out, size_t n);
int cluster_token_pubs_parse(const char *text, struct cluster_token_pubs *out);

/* The client prefix a bound token carries: /24 of IPv4, /64 of IPv6. */
void cluster_token_prefix_of(const struct ipnet_addr *client, struct ipnet *out);

/* Writes the token for c (c->kid is taken from k) into out. -EINVAL (bad
 * claims: sid not 32 lowercase hex, negative ids), -ENOSPC. */
int cluster_token_make(const struct cluster_token_key *k, const struct cluster_token_claims *c,
                       char *out, size_t n);

/* Syntax only: the claims and signature of tok[0..len), and how many leading
 * bytes the signature covers. 0 or CLUSTER_TOKEN_MALFORMED. */
int cluster_token_parse(const char *tok, size_t len, struct cluster_token_claims *c,
                        unsigned char sig[64], size_t *signed_len);

/* Whether sid was revoked (the session ended: newest wins, admin kill). */
typedef bool cluster_token_revoked_fn(void *ctx, const char *sid);

/* The full check of tok[0..len) presented to node self_node by client at now
 * (client NULL: unknown, a bound token is refused): 0 with *c filled, or one
 * of the CLUSTER_TOKEN_* refusals. revoked may be NULL. */
int cluster_token_verify(const struct cluster_token_pubs *ks, const char *tok, size_t len,
                         int64_t self_node, const struct ipnet_addr *client, int64_t now,
                         cluster_token_revoked_fn *revoked, void *rctx,
                         struct cluster_token_claims *c);

/* A fresh random session id (32 lowercase hex + NUL). */
void cluster_sid_new(char out[CLUSTER_SID_LEN + 1]);
/* Whether s[0..n) is a session id. */
bool cluster_sid_valid(const char *s, size_t n);

#endif
