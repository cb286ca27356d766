/*
 * encoding: see encoding.h. The Accept-Encoding scanner walks the value once
 * with a cursor; every step stops at the terminating NUL, so any byte string
 * is safe input (the HTTP parser has already refused control characters).
 */
#include "http/encoding.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* What the list says about one coding: not mentioned, refused (q=0), accepted. */
enum mention { M_NONE, M_REFUSED, M_ACCEPTED };

struct ae_state {
    enum mention gzip;
    enum mention star;
};

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static const char *skip_token(const char *p)
{
    while (is_tchar(*p))
        p++;
    return p;
}

/* Past the closing quote of the quoted-string at p (p[0] == '"'), or NULL if
 * it is not terminated. */
static const char *skip_quoted(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
            p++;
    return *p == '"' ? p + 1 : NULL;
}

/* Past the ',' that ends the list element p is in (quoted strings may hold
 * commas), or at the terminating NUL. */
static const char *skip_element(const char *p)
{
    while (*p && *p != ',') {
        if (*p == '"') {
            const char *q = skip_quoted(p);
            if (!q)
                return p + strlen(p);
            p = q;
        } else {
            p++;
        }
    }
    return *p ? p + 1 : p;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths;
 * -1 when v[0..n) is not one. */
static int parse_qvalue(const char *v, size_t n)
{
    if (n == 0 || (v[0] != '0' && v[0] != '1'))
        return -1;
    int q = (v[0] - '0') * 1000;
    if (n == 1)
        return q;
    if (v[1] != '.' || n > 5)
        return -1;
    int scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (v[i] < '0' || v[i] > '9' || (v[0] == '1' && v[i] != '0'))
            return -1;
        q += (v[i] - '0') * scale;
    }
    return q;
}

static void note(enum mention *m, int q)
{
    if (q == 0)
        *m = M_REFUSED; /* an explicit refusal is final */
    else if (*m == M_NONE)
        *m = M_ACCEPTED;
}

/* Parses the weight parameters after a coding (p at ';' or at the end of the
 * element). Sets *q (thousandths; an invalid qvalue gives 0) and returns the
 * position after them, or NULL when the element is malformed. */
static const char *parse_params(const char *p, int *q)
{
    while (*p == ';') {
        p = skip_ows(p + 1);
        const char *name = p;
        p = skip_token(p);
        size_t nlen = (size_t)(p - name);
        p = skip_ows(p);
        if (nlen == 0 || *p != '=')
            return NULL;
        p = skip_ows(p + 1);
        const char *val = p;
        bool quoted = *p == '"';
        p = quoted ? skip_quoted(p) : skip_token(p);
        if (!p || p == val)
            return NULL;
        if (nlen == 1 && (name[0] == 'q' || name[0] == 'Q')) {
            int v = quoted ? -1 : parse_qvalue(val, (size_t)(p - val));
            *q = v < 0 ? 0 : v;
        }
        p = skip_ows(p);
    }
    return p;
}

static void scan(const char *v, struct ae_state *st)
{
    const char *p = v;
    while (*p) {
        p = skip_ows(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (!*p)
            break;
        const char *tok = p;
        p = skip_token(p);
        size_t toklen = (size_t)(p - tok);
        int q = 1000;
        const char *end = toklen ? parse_params(skip_ows(p), &q) : NULL;
        if (end && (*end == ',' || *end == '\0')) {
            if ((toklen == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
                (toklen == 6 && strncasecmp(tok, "x-gzip", 6) == 0))
                note(&st->gzip, q);
            else if (toklen == 1 && tok[0] == '*')
                note(&st->star, q);
            p = end;
        }
        p = skip_element(p);
    }
}

static bool decide(const struct ae_state *st)
{
    if (st->gzip != M_NONE)
        return st->gzip == M_ACCEPTED;
    return st->star == M_ACCEPTED;
}

bool http_accepts_gzip(const char *accept_encoding)
{
    struct ae_state st = {M_NONE, M_NONE};
    if (!accept_encoding)
        return false;
    scan(accept_encoding, &st);
    return decide(&st);
}

bool http_request_accepts_gzip(const struct http_request *req)
{
    struct ae_state st = {M_NONE, M_NONE};
    for (size_t i = 0; i < req->header_count; i++)
        if (strcasecmp(req->headers[i].name, "Accept-Encoding") == 0)
            scan(req->headers[i].value, &st);
    return decide(&st);
}

int http_gzip(const void *data, size_t len, int level, struct refbuf **out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (level < 1 || level > 9 || len > UINT_MAX / 2)
        return -EINVAL;
    /* windowBits 15 + 16: a gzip header and trailer instead of zlib's. */
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    int rc = -ENOMEM;
    uLong cap = deflateBound(&zs, (uLong)len);
    unsigned char *tmp = malloc(cap);
    if (!tmp)
        goto fail;
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = tmp;
    zs.avail_out = (uInt)cap;
    /* deflateBound is enough for one Z_FINISH call to complete the stream. */
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        rc = -EIO;
        goto fail;
    }
    *out = refbuf_new(tmp, (size_t)zs.total_out);
    if (!*out)
        goto fail;
    rc = 0;
fail:
    free(tmp);
    deflateEnd(&zs);
    return rc;
}
