/*
 * core/urlsign: signed stream URLs (issue 13 item 6) — expiring tokens that
 * stand for a line's username and password in a stream URL.
 *
 * Token (one path segment, URL-safe, never the password):
 *   1~KID~USERNAME~LINEID~KINDSTREAM~EXPIRES~B~MAC
 *   KID       the signing key's id (decimal)
 *   USERNAME  the line's username ([A-Za-z0-9._@-], as domain/lines.c allows)
 *   LINEID    the line's database id: a line deleted and re-created under
 *             the same name does not inherit the old tokens
 *   KIND      'l' live, 'm' movie, 's' series episode; STREAM its id
 *   EXPIRES   Unix seconds after which the token is refused
 *   B         1: bound to the client's /24 (IPv4) or /64 (IPv6), else 0
 *   MAC       base64url (no padding) HMAC-SHA256(key, "xtreamd-url|" +
 *             everything before "~MAC" + "|" + the 16-byte masked client
 *             prefix, all zero when B is 0)
 * The prefix is not in the token: it is recomputed from the request's
 * address, so a token used from another /24 or /64 fails its MAC check.
 *
 * Keys: at most two — the current one and, after a rotation, the previous
 * one until its not_after (the grace period). Stored text (settings row
 * URLSIGN_SETTING_KEYS, never served by the settings API):
 *   "KID:HEX64[;KID:HEX64:NOT_AFTER]"  (current first)
 * Threading: pure functions.
 */
#ifndef XTREAMD_AUTH_URLSIGN_H
#define XTREAMD_AUTH_URLSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define URLSIGN_SETTING_KEYS  "url_signing_keys"
#define URLSIGN_KEY_BYTES     32
#define URLSIGN_TOKEN_MAX     192
#define URLSIGN_KEYS_TEXT_MAX 200

struct urlsign_key {
    uint32_t id;
    unsigned char key[URLSIGN_KEY_BYTES];
    int64_t not_after; /* 0: the current key; else the end of its grace period */
};

struct urlsign_keys {
    struct urlsign_key k[2]; /* k[0] current */
    size_t n;
};

struct urlsign_claims {
    uint32_t key_id;
    char username[129];
    int64_t line_id;
    char kind; /* 'l' | 'm' | 's' */
    int64_t stream_id;
    int64_t expires;
    bool bound;
};

/* Why a token was refused (negative errno-style values). */
#define URLSIGN_MALFORMED    (-22) /* -EINVAL */
#define URLSIGN_BAD_MAC      (-129) /* -EKEYREJECTED: tampered, unknown or retired key, other prefix */
#define URLSIGN_EXPIRED      (-127) /* -EKEYEXPIRED */
#define URLSIGN_WRONG_STREAM (-18)  /* -EXDEV */

/* Writes the token for c (c->key_id is taken from k) into out. -ENOSPC, -EINVAL
 * (a username with a character lines may not have, or too long, a bound token without a parseable
 * ip). */
int urlsign_make(const struct urlsign_key *k, struct urlsign_claims c, const char *client_ip,
                 char *out, size_t n);

/* Syntax only: the claims and the MAC bytes of tok[0..len). 0 or URLSIGN_MALFORMED. */
int urlsign_parse(const char *tok, size_t len, struct urlsign_claims *c, unsigned char mac[32],
                  size_t *signed_len);

/* The full check of a token presented for (kind, stream_id) from client_ip at
 * now: 0 with *c filled, or URLSIGN_MALFORMED / URLSIGN_BAD_MAC (also a key
 * past its grace) / URLSIGN_EXPIRED / URLSIGN_WRONG_STREAM. The MAC is checked
 * first, so the other answers only ever describe genuine tokens. */
int urlsign_verify(const struct urlsign_keys *ks, const char *tok, char kind, int64_t stream_id,
                   const char *client_ip, int64_t now, struct urlsign_claims *c);

/* The stored key text <-> keys. Parse drops a previous key already past its grace. */
int urlsign_keys_parse(const char *text, int64_t now, struct urlsign_keys *out);
int urlsign_keys_format(const struct urlsign_keys *ks, char *out, size_t n);

/* A rotation: a fresh random key becomes current (id = old id + 1), the old
 * current key stays valid until now + grace (grace 0: retired at once). */
void urlsign_rotate(struct urlsign_keys *ks, int64_t now, int64_t grace);

#endif
