/*
 * cluster/token: see token.h.
 */
#include "cluster/token.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_B64_LEN     86  /* 64 bytes, base64url without padding */
#define PK_B64_LEN      43  /* 32 bytes */
#define SK_B64_LEN      86  /* 64 bytes */
#define PAYLOAD_MAX     320 /* the longest payload the maker writes */
#define PAYLOAD_B64_MAX 428 /* base64url of PAYLOAD_MAX bytes */

static const char *const kind_names[CLUSTER_KIND_COUNT] = {"live", "hls", "movie", "episode",
                                                           "timeshift"};

const char *cluster_kind_name(enum cluster_kind k)
{
    return (unsigned)k < CLUSTER_KIND_COUNT ? kind_names[k] : NULL;
}

int cluster_kind_parse(const char *s, size_t n, enum cluster_kind *out)
{
    for (int i = 0; i < CLUSTER_KIND_COUNT; i++)
        if (strlen(kind_names[i]) == n && memcmp(kind_names[i], s, n) == 0) {
            *out = (enum cluster_kind)i;
            return 0;
        }
    return -EINVAL;
}

const char *cluster_token_reason(int rc)
{
    switch (rc) {
    case CLUSTER_TOKEN_MALFORMED:
        return "malformed";
    case CLUSTER_TOKEN_BAD_SIG:
        return "signature";
    case CLUSTER_TOKEN_EXPIRED:
        return "expired";
    case CLUSTER_TOKEN_WRONG_NODE:
        return "node";
    case CLUSTER_TOKEN_WRONG_IP:
        return "ip";
    case CLUSTER_TOKEN_REVOKED:
        return "revoked";
    case CLUSTER_TOKEN_WRONG_ITEM:
        return "item";
    default:
        return "other";
    }
}

bool cluster_sid_valid(const char *s, size_t n)
{
    if (n != CLUSTER_SID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

void cluster_sid_new(char out[CLUSTER_SID_LEN + 1])
{
    unsigned char r[CLUSTER_SID_LEN / 2];
    randombytes_buf(r, sizeof(r));
    sodium_bin2hex(out, CLUSTER_SID_LEN + 1, r, sizeof(r));
}

void cluster_token_prefix_of(const struct ipnet_addr *client, struct ipnet *out)
{
    memset(out, 0, sizeof(*out));
    bool v4 = ipnet_is_v4(client);
    size_t keep = v4 ? 15 : 8; /* mapped v4 /24 = 120 bits; v6 /64 */
    memcpy(out->addr.b, client->b, keep);
    out->prefix = v4 ? 120 : 64;
}

bool cluster_token_kid_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= CLUSTER_TOKEN_KID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int cluster_token_key_set(struct cluster_token_key *k, const char *kid, const unsigned char pk[32],
                          const unsigned char sk[64])
{
    memset(k, 0, sizeof(*k));
    if (!cluster_token_kid_valid(kid) || !pk || !sk)
        return -EINVAL;
    memcpy(k->kid, kid, strlen(kid) + 1);
    memcpy(k->pk, pk, 32);
    memcpy(k->sk, sk, 64);
    return 0;
}

int cluster_token_keygen(struct cluster_token_key *k, const char *kid)
{
    memset(k, 0, sizeof(*k));
    if (!cluster_token_kid_valid(kid))
        return -EINVAL;
    if (crypto_sign_ed25519_keypair(k->pk, k->sk))
        return -EIO;
    memcpy(k->kid, kid, strlen(kid) + 1);
    return 0;
}

/* "KID:" then a base64 (standard or URL-safe, padding optional) public key, up to end or ';'.
 * Returns the byte after, or NULL. */
static const char *parse_pub(const char *p, const char *end, char kid[CLUSTER_TOKEN_KID_MAX],
                             unsigned char pk[32])
{
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon || colon == p || colon - p >= CLUSTER_TOKEN_KID_MAX)
        return NULL;
    memcpy(kid, p, (size_t)(colon - p));
    kid[colon - p] = '\0';
    if (!cluster_token_kid_valid(kid))
        return NULL;
    const char *q = colon + 1;
    const char *stop = memchr(q, ';', (size_t)(end - q));
    if (!stop)
        stop = end;
    static const int variants[] = {
        sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
        sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING};
    for (size_t i = 0; i < 4; i++) {
        size_t got = 0;
        const char *b64_end = NULL;
        if (sodium_base642bin(pk, 32, q, (size_t)(stop - q), NULL, &got, &b64_end, variants[i]) ==
                0 &&
            got == 32 && b64_end == stop)
            return stop;
    }
    return NULL;
}

int cluster_token_pubs_format(const struct cluster_token_key *k,
                              const struct cluster_token_pubs *prev, char *out, size_t n)
{
    char a[PK_B64_LEN + 2], b[PK_B64_LEN + 2];
    sodium_bin2base64(a, sizeof(a), k->pk, sizeof(k->pk), sodium_base64_VARIANT_ORIGINAL);
    int len;
    if (prev && prev->n) {
        sodium_bin2base64(b, sizeof(b), prev->k[0].pk, sizeof(prev->k[0].pk),
                          sodium_base64_VARIANT_ORIGINAL);
        len = snprintf(out, n, "%s:%s;%s:%s", k->kid, a, prev->k[0].kid, b);
    } else {
        len = snprintf(out, n, "%s:%s", k->kid, a);
    }
    return len < 0 || (size_t)len >= n ? -ENOSPC : 0;
}

int cluster_token_pubs_parse(const char *text, struct cluster_token_pubs *out)
{
    memset(out, 0, sizeof(*out));
    if (!text)
        return -EINVAL;
    const char *p = text, *end = text + strlen(text);
    while (out->n < 2) {
        p = parse_pub(p, end, out->k[out->n].kid, out->k[out->n].pk);
        if (!p)
            goto fail;
        out->n++;
        if (p == end)
            return 0;
        p++; /* ';' */
    }
fail:
    memset(out, 0, sizeof(*out));
    return -EINVAL;
}

/* The canonical payload of c into out: the one text the parser accepts. */
static int payload_of(const struct cluster_token_claims *c, char *out, size_t n)
{
    const char *kind = cluster_kind_name(c->kind);
    if (!kind || !cluster_token_kid_valid(c->kid) || !cluster_sid_valid(c->sid, strlen(c->sid)) ||
        c->line_id < 0 || c->stream_id < 0 || c->node_id < 0 || c->iat < 0 || c->exp < 0)
        return -EINVAL;
    char ip[IPNET_TEXT_MAX + 8] = "";
    if (c->bound) {
        char net[IPNET_TEXT_MAX];
        ipnet_format(&c->ip, net, sizeof(net));
        /* A single-address range is written without "/LEN"; a prefix never is one. */
        if (!strchr(net, '/'))
            return -EINVAL;
        snprintf(ip, sizeof(ip), ",\"ip\":\"%s\"", net);
    }
    int len = snprintf(
        out, n,
        "{\"sid\":\"%s\",\"lid\":%" PRId64 ",\"sub\":%" PRId64 ",\"k\":\"%s\",\"node\":%" PRId64
        ",\"iat\":%" PRId64 ",\"exp\":%" PRId64 ",\"kid\":\"%s\"%s}",
        c->sid, c->line_id, c->stream_id, kind, c->node_id, c->iat, c->exp, c->kid, ip);
    return len < 0 || (size_t)len >= n ? -ENOSPC : len;
}

int cluster_token_make(const struct cluster_token_key *k, const struct cluster_token_claims *c,
                       char *out, size_t n)
{
    struct cluster_token_claims cc = *c;
    memcpy(cc.kid, k->kid, sizeof(cc.kid));
    char payload[PAYLOAD_MAX];
    int pl = payload_of(&cc, payload, sizeof(payload));
    if (pl < 0)
        return pl;
    size_t b64 = sodium_base64_encoded_len((size_t)pl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    /* "v1." + payload + "." + signature + NUL (b64 counts its own NUL) */
    if (n < 3 + b64 + 1 + SIG_B64_LEN)
        return -ENOSPC;
    memcpy(out, "v1.", 3);
    sodium_bin2base64(out + 3, n - 3, (const unsigned char *)payload, (size_t)pl,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t signed_len = strlen(out);
    unsigned char sig[64];
    crypto_sign_ed25519_detached(sig, NULL, (const unsigned char *)out, signed_len, k->sk);
    out[signed_len] = '.';
    sodium_bin2base64(out + signed_len + 1, n - signed_len - 1, sig, sizeof(sig),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

static int int_member(json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

int cluster_token_parse(const char *tok, size_t len, struct cluster_token_claims *c,
                        unsigned char sig[64], size_t *signed_len)
{
    memset(c, 0, sizeof(*c));
    if (len < 3 + 1 + 1 + SIG_B64_LEN || memcmp(tok, "v1.", 3) != 0)
        return CLUSTER_TOKEN_MALFORMED;
    size_t dot = len - SIG_B64_LEN - 1;
    if (tok[dot] != '.' || dot - 3 > PAYLOAD_B64_MAX)
        return CLUSTER_TOKEN_MALFORMED;
    /* Only the base64url alphabet: libsodium's decoder reads some bytes >= 0x80
     * as letters (found by fuzz_cluster_token), which would give one token many
     * spellings. */
    for (size_t i = 3; i < len; i++) {
        char ch = tok[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || (ch == '.' && i == dot)))
            return CLUSTER_TOKEN_MALFORMED;
    }
    size_t got = 0;
    const char *b64_end = NULL;
    if (sodium_base642bin(sig, 64, tok + dot + 1, SIG_B64_LEN, NULL, &got, &b64_end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
        got != 64 || b64_end != tok + len)
        return CLUSTER_TOKEN_MALFORMED;
    char payload[PAYLOAD_MAX + 1];
    if (sodium_base642bin((unsigned char *)payload, PAYLOAD_MAX, tok + 3, dot - 3, NULL, &got,
                          &b64_end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
        b64_end != tok + dot || got == 0)
        return CLUSTER_TOKEN_MALFORMED;
    payload[got] = '\0';
    if (memchr(payload, '\0', got))
        return CLUSTER_TOKEN_MALFORMED;
    int rc = CLUSTER_TOKEN_MALFORMED;
    json_t *o = json_loadb(payload, got, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o))
        goto done;
    const char *sid = json_string_value(json_object_get(o, "sid"));
    const char *kind = json_string_value(json_object_get(o, "k"));
    const char *kid = json_string_value(json_object_get(o, "kid"));
    if (!sid || !kid || !cluster_token_kid_valid(kid) || !kind || strlen(sid) != CLUSTER_SID_LEN ||
        cluster_kind_parse(kind, strlen(kind), &c->kind) || int_member(o, "lid", &c->line_id) ||
        int_member(o, "sub", &c->stream_id) || int_member(o, "node", &c->node_id) ||
        int_member(o, "iat", &c->iat) || int_member(o, "exp", &c->exp) || 0)
        goto done;
    memcpy(c->sid, sid, CLUSTER_SID_LEN + 1);
    memcpy(c->kid, kid, strlen(kid) + 1);
    json_t *ip = json_object_get(o, "ip");
    if (ip) {
        const char *s = json_string_value(ip);
        if (!s || ipnet_parse(s, strlen(s), &c->ip))
            goto done;
        c->bound = true;
    }
    /* Canonical form only: what the maker would write for these claims. */
    char again[PAYLOAD_MAX];
    int al = payload_of(c, again, sizeof(again));
    if (al < 0 || (size_t)al != got || memcmp(again, payload, got) != 0)
        goto done;
    *signed_len = dot;
    rc = 0;
done:
    json_decref(o);
    if (rc)
        memset(c, 0, sizeof(*c));
    return rc;
}

int cluster_token_verify(const struct cluster_token_pubs *ks, const char *tok, size_t len,
                         int64_t self_node, const struct ipnet_addr *client, int64_t now,
                         cluster_token_revoked_fn *revoked, void *rctx,
                         struct cluster_token_claims *c)
{
    unsigned char sig[64];
    size_t signed_len = 0;
    int rc = cluster_token_parse(tok, len, c, sig, &signed_len);
    if (rc)
        return rc;
    const unsigned char *pk = NULL;
    for (size_t i = 0; i < ks->n && i < 2; i++)
        if (strcmp(ks->k[i].kid, c->kid) == 0)
            pk = ks->k[i].pk;
    if (!pk ||
        crypto_sign_ed25519_verify_detached(sig, (const unsigned char *)tok, signed_len, pk) != 0)
        return CLUSTER_TOKEN_BAD_SIG;
    if (c->node_id != self_node)
        return CLUSTER_TOKEN_WRONG_NODE;
    if (c->iat > now + CLUSTER_TOKEN_SKEW || now > c->exp + CLUSTER_TOKEN_SKEW)
        return CLUSTER_TOKEN_EXPIRED;
    if (c->bound && (!client || !ipnet_contains(&c->ip, client)))
        return CLUSTER_TOKEN_WRONG_IP;
    if (revoked && revoked(rctx, c->sid))
        return CLUSTER_TOKEN_REVOKED;
    return 0;
}
