/*
 * query: percent-decoding and parameter parsing (see query.h).
 *
 * Invariants: params->count <= HTTP_MAX_PARAMS; every item's key points to one
 * malloc'd block "key\0value\0" and value points inside it. Threading: none.
 */
#include "http/query.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long http_percent_decode(char *dst, const char *src, size_t len, int flags)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '\0')
            return -EINVAL; /* would silently cut the string short */
        if (c == '%') {
            int hi = -1, lo = -1;
            if (i + 2 < len) {
                hi = hexval((unsigned char)src[i + 1]);
                lo = hexval((unsigned char)src[i + 2]);
            }
            if (hi < 0 || lo < 0) {
                if (flags & HTTP_DECODE_STRICT)
                    return -EINVAL;
                dst[o++] = '%';
                continue;
            }
            c = (unsigned char)(hi * 16 + lo);
            if (c == 0)
                return -EINVAL;
            dst[o++] = (char)c;
            i += 2;
        } else if (c == '+' && (flags & HTTP_DECODE_PLUS)) {
            dst[o++] = ' ';
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = '\0';
    return (long)o;
}

int http_params_add(struct http_params *p, const char *key, size_t klen, const char *value,
                    size_t vlen)
{
    if (p->count >= HTTP_MAX_PARAMS)
        return -E2BIG;
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        if (cap > HTTP_MAX_PARAMS)
            cap = HTTP_MAX_PARAMS;
        struct http_param *items = realloc(p->items, cap * sizeof(*items));
        if (!items)
            return -ENOMEM;
        p->items = items;
        p->cap = cap;
    }
    char *mem = malloc(klen + vlen + 2);
    if (!mem)
        return -ENOMEM;
    memcpy(mem, key, klen);
    mem[klen] = '\0';
    memcpy(mem + klen + 1, value, vlen);
    mem[klen + 1 + vlen] = '\0';
    p->items[p->count].key = mem;
    p->items[p->count].value = mem + klen + 1;
    p->count++;
    return 0;
}

/* Adds one decoded pair; the block is allocated once and decoded in place. */
static int add_decoded(struct http_params *p, const char *k, size_t klen, const char *v,
                       size_t vlen)
{
    if (p->count >= HTTP_MAX_PARAMS)
        return -E2BIG;
    int rc = http_params_add(p, k, klen, v, vlen);
    if (rc)
        return rc;
    struct http_param *it = &p->items[p->count - 1];
    long kn = http_percent_decode(it->key, it->key, klen, HTTP_DECODE_PLUS);
    long vn =
        kn < 0 ? -1 : http_percent_decode(it->key + kn + 1, it->value, vlen, HTTP_DECODE_PLUS);
    if (kn < 0 || vn < 0) {
        free(it->key);
        p->count--;
        return -EINVAL;
    }
    it->value = it->key + kn + 1;
    return 0;
}

int http_params_parse_urlencoded(struct http_params *p, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && s[e] != '&')
            e++;
        const char *pair = s + i;
        size_t plen = e - i;
        const char *eq = memchr(pair, '=', plen);
        size_t klen = eq ? (size_t)(eq - pair) : plen;
        if (klen > 0) {
            const char *v = eq ? eq + 1 : pair + plen;
            size_t vlen = eq ? plen - klen - 1 : 0;
            int rc = add_decoded(p, pair, klen, v, vlen);
            if (rc)
                return rc;
        }
        i = e + 1;
    }
    return 0;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads a token or quoted-string parameter value at *pp (bounded by end) into a
 * new NUL-terminated string. */
static int param_value(const char **pp, const char *end, char **out)
{
    const char *p = *pp;
    char *v = malloc((size_t)(end - p) + 1);
    size_t o = 0;
    if (!v)
        return -ENOMEM;
    if (memchr(p, '\0', (size_t)(end - p))) {
        free(v);
        return -EINVAL;
    }
    if (p < end && *p == '"') {
        p++;
        while (p < end && *p != '"') {
            if (*p == '\\' && p + 1 < end)
                p++;
            v[o++] = *p++;
        }
        if (p >= end) {
            free(v);
            return -EINVAL;
        }
        p++;
    } else {
        while (p < end && *p != ';' && !is_ows(*p))
            v[o++] = *p++;
    }
    v[o] = '\0';
    *pp = p;
    *out = v;
    return 0;
}

/* Content-Disposition: form-data; name="x"[; filename="y"] */
static int parse_disposition(const char *v, const char *end, char **name, bool *is_file)
{
    const char *p = v;
    while (p < end && is_ows(*p))
        p++;
    if ((size_t)(end - p) < 9 || strncasecmp(p, "form-data", 9) != 0)
        return -EINVAL;
    p += 9;
    for (;;) {
        while (p < end && is_ows(*p))
            p++;
        if (p >= end)
            return 0;
        if (*p != ';')
            return -EINVAL;
        p++;
        while (p < end && is_ows(*p))
            p++;
        const char *pn = p;
        while (p < end && *p != '=' && *p != ';' && !is_ows(*p))
            p++;
        size_t nlen = (size_t)(p - pn);
        while (p < end && is_ows(*p))
            p++;
        if (p >= end || *p != '=')
            return -EINVAL;
        p++;
        while (p < end && is_ows(*p))
            p++;
        char *val;
        int rc = param_value(&p, end, &val);
        if (rc)
            return rc;
        if (nlen == 4 && strncasecmp(pn, "name", 4) == 0 && !*name) {
            *name = val;
        } else {
            if ((nlen == 8 && strncasecmp(pn, "filename", 8) == 0) ||
                (nlen == 9 && strncasecmp(pn, "filename*", 9) == 0))
                *is_file = true;
            free(val);
        }
    }
}

int http_params_parse_multipart(struct http_params *p, const char *body, size_t len,
                                const char *boundary, size_t blen)
{
    if (blen == 0 || blen > 70)
        return -EINVAL;
    char delim[76];
    delim[0] = '\r';
    delim[1] = '\n';
    delim[2] = '-';
    delim[3] = '-';
    memcpy(delim + 4, boundary, blen);
    size_t dlen = blen + 4;
    const char *end = body + len;
    const char *pos;
    /* The first delimiter may open the body without a preceding CRLF. */
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        pos = body + dlen - 2;
    } else {
        const char *d = memmem(body, len, delim, dlen);
        if (!d)
            return -EINVAL;
        pos = d + dlen;
    }
    for (;;) {
        if (end - pos >= 2 && pos[0] == '-' && pos[1] == '-')
            return 0;
        while (pos < end && is_ows(*pos))
            pos++;
        if (end - pos < 2 || pos[0] != '\r' || pos[1] != '\n')
            return -EINVAL;
        pos += 2;
        /* Part headers, up to an empty line. */
        char *name = NULL;
        bool is_file = false;
        for (;;) {
            const char *eol = memmem(pos, (size_t)(end - pos), "\r\n", 2);
            if (!eol) {
                free(name);
                return -EINVAL;
            }
            if (eol == pos) {
                pos += 2;
                break;
            }
            const char *colon = memchr(pos, ':', (size_t)(eol - pos));
            if (!colon) {
                free(name);
                return -EINVAL;
            }
            if ((size_t)(colon - pos) == 19 && strncasecmp(pos, "Content-Disposition", 19) == 0) {
                int rc = parse_disposition(colon + 1, eol, &name, &is_file);
                if (rc) {
                    free(name);
                    return rc;
                }
            }
            pos = eol + 2;
        }
        const char *d = memmem(pos, (size_t)(end - pos), delim, dlen);
        if (!d) {
            free(name);
            return -EINVAL;
        }
        int rc = 0;
        if (name && *name && !is_file) {
            if (memchr(pos, '\0', (size_t)(d - pos)))
                rc = -EINVAL;
            else
                rc = http_params_add(p, name, strlen(name), pos, (size_t)(d - pos));
        }
        free(name);
        if (rc)
            return rc;
        pos = d + dlen;
    }
}

int http_multipart_boundary(const char *ct, const char **b, size_t *blen)
{
    static const char mt[] = "multipart/form-data";
    const char *p = ct;
    while (is_ows(*p))
        p++;
    if (strncasecmp(p, mt, sizeof(mt) - 1) != 0)
        return -ENOENT;
    p += sizeof(mt) - 1;
    if (*p && *p != ';' && !is_ows(*p))
        return -ENOENT;
    while (*p) {
        while (is_ows(*p) || *p == ';')
            p++;
        const char *pn = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        if (*p != '=')
            continue;
        size_t nlen = (size_t)(p - pn);
        while (nlen && is_ows(pn[nlen - 1]))
            nlen--;
        p++;
        while (is_ows(*p))
            p++;
        const char *v = p;
        size_t vlen;
        if (*p == '"') {
            v = ++p;
            while (*p && *p != '"' && *p != '\\')
                p++;
            if (*p != '"')
                return -EINVAL;
            vlen = (size_t)(p - v);
            p++;
        } else {
            while (*p && *p != ';' && !is_ows(*p))
                p++;
            vlen = (size_t)(p - v);
        }
        if (nlen == 8 && strncasecmp(pn, "boundary", 8) == 0) {
            if (vlen == 0 || vlen > 70)
                return -EINVAL;
            *b = v;
            *blen = vlen;
            return 0;
        }
    }
    return -EINVAL;
}

int http_params_overlay(struct http_params *dst, struct http_params *src)
{
    if (src->count == 0)
        return 0;
    size_t total = dst->count + src->count;
    if (total > HTTP_MAX_PARAMS)
        return -E2BIG;
    struct http_param *items = malloc(total * sizeof(*items));
    if (!items)
        return -ENOMEM;
    memcpy(items, src->items, src->count * sizeof(*items));
    if (dst->count)
        memcpy(items + src->count, dst->items, dst->count * sizeof(*items));
    free(dst->items);
    free(src->items);
    dst->items = items;
    dst->count = dst->cap = total;
    src->items = NULL;
    src->count = src->cap = 0;
    return 0;
}

void http_params_free(struct http_params *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->items[i].key);
    free(p->items);
    p->items = NULL;
    p->count = p->cap = 0;
}

const char *http_param_get(const struct http_params *params, const char *key)
{
    for (size_t i = 0; i < params->count; i++)
        if (strcmp(params->items[i].key, key) == 0)
            return params->items[i].value;
    return NULL;
}

const char *http_request_param(const struct http_request *req, const char *key)
{
    return http_param_get(&req->params, key);
}

static bool media_type_is(const char *ct, const char *mt)
{
    size_t n = strlen(mt);
    while (is_ows(*ct))
        ct++;
    if (strncasecmp(ct, mt, n) != 0)
        return false;
    return ct[n] == '\0' || ct[n] == ';' || is_ows(ct[n]);
}

int http_request_parse_params(struct http_request *req, const char **why)
{
    int rc = http_params_parse_urlencoded(&req->params, req->query, strlen(req->query));
    if (rc) {
        *why = rc == -E2BIG ? "too many parameters" : "invalid query string";
        return rc;
    }
    if (req->method != HTTP_POST || req->body_len == 0)
        return 0;
    const char *ct = http_request_header(req, "Content-Type");
    if (!ct)
        return 0;
    struct http_params body = {0};
    const char *b;
    size_t blen;
    if (media_type_is(ct, "application/x-www-form-urlencoded")) {
        rc = http_params_parse_urlencoded(&body, req->body, req->body_len);
        *why = rc == -E2BIG ? "too many parameters" : "invalid form body";
    } else if ((rc = http_multipart_boundary(ct, &b, &blen)) != -ENOENT) {
        if (rc == 0)
            rc = http_params_parse_multipart(&body, req->body, req->body_len, b, blen);
        *why = rc == -E2BIG ? "too many parameters" : "invalid multipart body";
    } else {
        rc = 0; /* another body type: the handler reads req->body itself */
    }
    if (rc == 0) {
        rc = http_params_overlay(&req->params, &body);
        *why = "too many parameters";
    }
    http_params_free(&body);
    return rc;
}

/* Query and form keys whose values are credentials. */
static bool secret_key(const char *k)
{
    static const char *const keys[] = {"password", "pass",   "passwd",       "pwd",
                                       "token",    "secret", "access_token", "auth",
                                       "api_key",  "apikey", "session",      "sid"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcasecmp(k, keys[i]) == 0)
            return true;
    return false;
}

int http_query_redact(struct buf *out, const char *q)
{
    const char *p = q;
    bool first = true;
    while (*p) {
        const char *e = strchr(p, '&');
        size_t plen = e ? (size_t)(e - p) : strlen(p);
        const char *eq = memchr(p, '=', plen);
        size_t klen = eq ? (size_t)(eq - p) : plen;
        bool secret = false;
        if (eq) {
            char key[64];
            long n = klen < sizeof(key) ? http_percent_decode(key, p, klen, HTTP_DECODE_PLUS) : -1;
            /* A key too long or too odd to decode is hidden too: better a
             * lost parameter in the log than a password in it. */
            secret = n < 0 || secret_key(key);
        }
        if (!first)
            buf_putc(out, '&');
        first = false;
        if (secret) {
            buf_append(out, p, klen);
            buf_puts(out, "=***");
        } else {
            buf_append(out, p, plen);
        }
        if (!e)
            break;
        p = e + 1;
    }
    return out->err;
}

/* Route prefixes whose second and third segments are username and password
 * (docs/api.md): the password is hidden, the username kept. */
static bool credential_prefix(const char *s)
{
    static const char *const prefixes[] = {"player_api",   "playlist",      "epg",   "live",
                                           "created_live", "radio_streams", "movie", "series",
                                           "timeshift",    "timeshifts"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strcmp(s, prefixes[i]) == 0)
            return true;
    return false;
}

static bool stream_id_like(const char *s, size_t n)
{
    size_t d = 0;
    while (d < n && s[d] >= '0' && s[d] <= '9')
        d++;
    if (d == 0 || d > 10)
        return false;
    if (d == n)
        return true;
    if (s[d] != '.' || n - d > 6)
        return false;
    for (size_t i = d + 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

static bool artwork_kind(const char *s, size_t n)
{
    return (n == 5 && memcmp(s, "movie", 5) == 0) || (n == 6 && memcmp(s, "series", 6) == 0) ||
           (n == 7 && memcmp(s, "episode", 7) == 0);
}

int http_path_redact(struct buf *out, const char *path)
{
    const char *seg[HTTP_MAX_SEGMENTS + 1];
    size_t len[HTTP_MAX_SEGMENTS + 1], n = 0;
    for (const char *p = path; *p && n <= HTTP_MAX_SEGMENTS;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t l = strcspn(p, "/");
        seg[n] = p;
        len[n++] = l;
        p += l;
    }
    if (n == 0)
        return buf_puts(out, path[0] ? path : "/");
    char first[32] = "";
    if (len[0] < sizeof(first) && http_percent_decode(first, seg[0], len[0], 0) < 0)
        first[0] = '\0';
    /* keep[i]: segment i is logged as sent; others become "***". */
    bool keep[HTTP_MAX_SEGMENTS + 1];
    for (size_t i = 0; i < n; i++)
        keep[i] = true;
    /* A username can spell any route's prefix: "/metrics/P/1.ts" is the short
     * live form of user "metrics", so only the exact credential-free shapes
     * are logged whole. */
    bool none =
        (n >= 2 && strcmp(first, "api") == 0 && len[1] == 5 && memcmp(seg[1], "admin", 5) == 0) ||
        (n == 1 && strcmp(first, "metrics") == 0) || (n == 2 && strcmp(first, "streaming") == 0) ||
        (n == 4 && strcmp(first, "images") == 0 && artwork_kind(seg[1], len[1]) &&
         stream_id_like(seg[2], len[2]));
    if (none) {
        /* admin routes, metrics, the streaming scripts (query credentials), artwork */
    } else if (credential_prefix(first)) {
        if (n > 2)
            keep[2] = false;
        if (n == 3) /* maybe the short form /U/P/ID of a user named like a route */
            keep[1] = false;
    } else if (strcmp(first, "hls") == 0) {
        if (n > 1)
            keep[1] = false; /* the session token */
    } else {
        /* The short live form /U/P/ID, a script with extra segments
         * (/get.php/U/P), or any path no route knows: only the first segment,
         * and a stream id in third place, are logged. */
        for (size_t i = 1; i < n; i++)
            keep[i] = i == 2 && n == 3 && stream_id_like(seg[2], len[2]);
    }
    for (size_t i = 0; i < n; i++) {
        buf_putc(out, '/');
        if (i == HTTP_MAX_SEGMENTS) {
            buf_puts(out, "...");
            break;
        }
        if (keep[i])
            buf_append(out, seg[i], len[i]);
        else
            buf_puts(out, "***");
    }
    return out->err;
}
