/*
 * range: see range.h. Every numeric field is parsed with saturation so that
 * no input overflows; the header value is bounded by the HTTP parser.
 */
#include "http/range.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Decimal digits at *p into *v (saturating at UINT64_MAX); false if none. */
static bool parse_u64(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t n = 0;
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
        s++;
    }
    *p = s;
    *v = n;
    return true;
}

enum http_range_result http_range_parse(const char *value, uint64_t size, uint64_t *start,
                                        uint64_t *len)
{
    if (!value)
        return HTTP_RANGE_NONE;
    const char *p = skip_ws(value);
    if (strncasecmp(p, "bytes", 5) != 0)
        return HTTP_RANGE_NONE;
    p = skip_ws(p + 5);
    if (*p != '=')
        return HTTP_RANGE_NONE;
    p = skip_ws(p + 1);
    if (strchr(p, ','))
        return HTTP_RANGE_NONE; /* several ranges: the whole body (documented) */
    uint64_t first = 0, last = 0;
    bool has_first = parse_u64(&p, &first);
    p = skip_ws(p);
    if (*p != '-')
        return HTTP_RANGE_NONE;
    p = skip_ws(p + 1);
    bool has_last = parse_u64(&p, &last);
    p = skip_ws(p);
    if (*p != '\0' || (!has_first && !has_last))
        return HTTP_RANGE_NONE;
    if (!has_first) { /* suffix: the last `last` bytes */
        if (last == 0 || size == 0)
            return HTTP_RANGE_UNSATISFIABLE;
        if (last > size)
            last = size;
        *start = size - last;
        *len = last;
        return HTTP_RANGE_PARTIAL;
    }
    if (has_last && last < first)
        return HTTP_RANGE_NONE; /* invalid: ignored */
    if (first >= size)
        return HTTP_RANGE_UNSATISFIABLE;
    if (!has_last || last >= size)
        last = size - 1;
    *start = first;
    *len = last - first + 1;
    return HTTP_RANGE_PARTIAL;
}

void http_range_etag(uint64_t size, int64_t mtime, char *out, size_t outlen)
{
    snprintf(out, outlen, "\"%llx-%llx\"", (unsigned long long)mtime, (unsigned long long)size);
}

void http_range_date(int64_t t, char *out, size_t outlen)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(out, outlen, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0) {
        if (outlen)
            out[0] = '\0';
    }
}

int http_range_if_range_ok(const char *value, const char *etag, int64_t mtime)
{
    if (!value)
        return 1;
    const char *p = skip_ws(value);
    if (*p == '"')
        return strcmp(p, etag) == 0;
    if (strncmp(p, "W/", 2) == 0)
        return 0;
    char want[64];
    http_range_date(mtime, want, sizeof(want));
    return want[0] && strcmp(p, want) == 0;
}
