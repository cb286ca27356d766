/*
 * core/urlsign: see urlsign.h.
 */
#include "core/urlsign.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipnet.h"

#define MAC_B64_LEN 43 /* 32 bytes, base64url without padding */

/* The 16-byte masked prefix of ip (v4 /24 as mapped, v6 /64); zero when !bound. */
static int prefix_of(const char *ip, bool bound, unsigned char out[16])
{
    memset(out, 0, 16);
    if (!bound)
        return 0;
    struct ipnet_addr a;
    if (!ip || ipnet_parse_addr(ip, strlen(ip), &a))
        return -EINVAL;
    memcpy(out, a.b, ipnet_is_v4(&a) ? 15 : 8);
    return 0;
}

static void mac_of(const struct urlsign_key *k, const char *msg, size_t len,
                   const unsigned char prefix[16], unsigned char mac[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, k->key, sizeof(k->key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"xtreamd-url|", 12);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"|", 1);
    crypto_auth_hmacsha256_update(&st, prefix, 16);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof(st));
}

/* A line's username: the characters domain/lines.c allows (never '~'). */
static bool username_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '@' || c == '-';
}

int urlsign_make(const struct urlsign_key *k, struct urlsign_claims c, const char *client_ip,
                 char *out, size_t n)
{
    size_t ul = strlen(c.username);
    bool ok_name = ul > 0;
    for (size_t i = 0; i < ul; i++)
        ok_name = ok_name && username_char(c.username[i]);
    if (!ok_name || ul >= sizeof(c.username) || (c.kind != 'l' && c.kind != 'm' && c.kind != 's') ||
        c.stream_id < 0 || c.line_id < 0)
        return -EINVAL;
    unsigned char prefix[16];
    if (prefix_of(client_ip, c.bound, prefix))
        return -EINVAL;
    int len = snprintf(out, n, "1~%" PRIu32 "~%s~%lld~%c%lld~%lld~%d", k->id, c.username,
                       (long long)c.line_id, c.kind, (long long)c.stream_id, (long long)c.expires,
                       c.bound ? 1 : 0);
    if (len < 0 || (size_t)len + 1 + MAC_B64_LEN + 1 > n)
        return -ENOSPC;
    unsigned char mac[32];
    mac_of(k, out, (size_t)len, prefix, mac);
    out[len] = '~';
    sodium_bin2base64(out + len + 1, n - (size_t)len - 1, mac, sizeof(mac),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

/* A decimal field of at most 19 digits, no sign, no leading zero (one spelling per value). */
static int field_num(const char **p, const char *end, long long *v)
{
    const char *s = *p;
    long long x = 0;
    size_t d = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        if (d == 18)
            return -1;
        x = x * 10 + (*s - '0');
        s++;
        d++;
    }
    if (!d || (d > 1 && **p == '0') || s == end || *s != '~')
        return -1;
    *v = x;
    *p = s + 1;
    return 0;
}

int urlsign_parse(const char *tok, size_t len, struct urlsign_claims *c, unsigned char mac[32],
                  size_t *signed_len)
{
    memset(c, 0, sizeof(*c));
    const char *p = tok, *end = tok + len;
    if (len < 2 + MAC_B64_LEN || memcmp(p, "1~", 2) != 0)
        return URLSIGN_MALFORMED;
    p += 2;
    long long v;
    if (field_num(&p, end, &v) || v > UINT32_MAX)
        return URLSIGN_MALFORMED;
    c->key_id = (uint32_t)v;
    const char *u = p;
    while (p < end && username_char(*p))
        p++;
    if (p == end || *p != '~' || p == u || (size_t)(p - u) >= sizeof(c->username))
        return URLSIGN_MALFORMED;
    memcpy(c->username, u, (size_t)(p - u));
    p++;
    if (field_num(&p, end, &v))
        return URLSIGN_MALFORMED;
    c->line_id = v;
    if (p == end || (*p != 'l' && *p != 'm' && *p != 's'))
        return URLSIGN_MALFORMED;
    c->kind = *p++;
    if (field_num(&p, end, &v))
        return URLSIGN_MALFORMED;
    c->stream_id = v;
    if (field_num(&p, end, &v))
        return URLSIGN_MALFORMED;
    c->expires = v;
    if (field_num(&p, end, &v) || v > 1)
        return URLSIGN_MALFORMED;
    c->bound = v == 1;
    *signed_len = (size_t)(p - 1 - tok);
    if ((size_t)(end - p) != MAC_B64_LEN)
        return URLSIGN_MALFORMED;
    size_t got = 0;
    const char *b64_end = NULL;
    if (sodium_base642bin(mac, 32, p, MAC_B64_LEN, NULL, &got, &b64_end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
        got != 32 || b64_end != end)
        return URLSIGN_MALFORMED;
    /* A canonical encoding only: the last character's unused low bits are zero. */
    char again[MAC_B64_LEN + 1];
    sodium_bin2base64(again, sizeof(again), mac, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (memcmp(again, p, MAC_B64_LEN) != 0)
        return URLSIGN_MALFORMED;
    return 0;
}

int urlsign_verify(const struct urlsign_keys *ks, const char *tok, char kind, int64_t stream_id,
                   const char *client_ip, int64_t now, struct urlsign_claims *c)
{
    unsigned char mac[32], want[32], prefix[16];
    size_t signed_len;
    int rc = urlsign_parse(tok, strlen(tok), c, mac, &signed_len);
    if (rc)
        return rc;
    const struct urlsign_key *k = NULL;
    for (size_t i = 0; i < ks->n; i++)
        if (ks->k[i].id == c->key_id && (!ks->k[i].not_after || now <= ks->k[i].not_after))
            k = &ks->k[i];
    if (!k)
        return URLSIGN_BAD_MAC;
    if (prefix_of(client_ip, c->bound, prefix))
        return URLSIGN_BAD_MAC;
    mac_of(k, tok, signed_len, prefix, want);
    if (sodium_memcmp(mac, want, sizeof(mac)) != 0)
        return URLSIGN_BAD_MAC;
    if (now > c->expires)
        return URLSIGN_EXPIRED;
    if (c->kind != kind || c->stream_id != stream_id)
        return URLSIGN_WRONG_STREAM;
    return 0;
}

static int parse_key(const char *s, size_t len, struct urlsign_key *k, bool previous)
{
    char buf[128];
    if (len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    unsigned long long id = strtoull(buf, &end, 10);
    if (errno || end == buf || *end != ':' || id > UINT32_MAX)
        return -EINVAL;
    const char *hex = end + 1;
    size_t hexlen = strcspn(hex, ":");
    size_t got;
    if (hexlen != 2 * URLSIGN_KEY_BYTES ||
        sodium_hex2bin(k->key, sizeof(k->key), hex, hexlen, NULL, &got, NULL) ||
        got != URLSIGN_KEY_BYTES)
        return -EINVAL;
    k->id = (uint32_t)id;
    k->not_after = 0;
    if (hex[hexlen] == ':') {
        long long na = strtoll(hex + hexlen + 1, &end, 10);
        if (*end || na <= 0)
            return -EINVAL;
        k->not_after = na;
    }
    return (previous == (k->not_after != 0)) ? 0 : -EINVAL;
}

int urlsign_keys_parse(const char *text, int64_t now, struct urlsign_keys *out)
{
    memset(out, 0, sizeof(*out));
    if (!text || !*text)
        return 0;
    size_t first = strcspn(text, ";");
    if (parse_key(text, first, &out->k[0], false))
        goto fail;
    out->n = 1;
    if (text[first] == ';') {
        const char *second = text + first + 1;
        if (parse_key(second, strlen(second), &out->k[1], true))
            goto fail;
        if (out->k[1].not_after >= now)
            out->n = 2;
    }
    return 0;
fail:
    sodium_memzero(out, sizeof(*out));
    return -EINVAL;
}

int urlsign_keys_format(const struct urlsign_keys *ks, char *out, size_t n)
{
    size_t at = 0;
    for (size_t i = 0; i < ks->n; i++) {
        char hex[2 * URLSIGN_KEY_BYTES + 1];
        sodium_bin2hex(hex, sizeof(hex), ks->k[i].key, URLSIGN_KEY_BYTES);
        int len = i == 0 ? snprintf(out + at, n - at, "%" PRIu32 ":%s", ks->k[i].id, hex)
                         : snprintf(out + at, n - at, ";%" PRIu32 ":%s:%lld", ks->k[i].id, hex,
                                    (long long)ks->k[i].not_after);
        sodium_memzero(hex, sizeof(hex));
        if (len < 0 || (size_t)len >= n - at)
            return -ENOSPC;
        at += (size_t)len;
    }
    if (!ks->n && n)
        out[0] = '\0';
    return 0;
}

void urlsign_rotate(struct urlsign_keys *ks, int64_t now, int64_t grace)
{
    uint32_t id = ks->n ? ks->k[0].id + 1 : 1;
    if (ks->n && grace > 0) {
        ks->k[1] = ks->k[0];
        ks->k[1].not_after = now + grace;
        ks->n = 2;
    } else {
        ks->n = 1;
        sodium_memzero(&ks->k[1], sizeof(ks->k[1]));
    }
    ks->k[0].id = id;
    ks->k[0].not_after = 0;
    randombytes_buf(ks->k[0].key, sizeof(ks->k[0].key));
}
