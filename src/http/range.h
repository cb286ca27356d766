/*
 * range: pure parsing of the HTTP Range and If-Range request headers for
 * single-resource byte ranges (RFC 9110 §14), plus the validators (ETag,
 * Last-Modified) xtreamd sends with files. No I/O, no allocation.
 *
 * Policy (see docs/internals/vod.md): one range `a-b`, `a-` or `-n` is served
 * as 206; an unsatisfiable one as 416; a header with several ranges, another
 * unit or bad syntax is ignored (the full body, 200), as RFC 9110 allows.
 * Threading: pure functions, any thread.
 */
#ifndef XTREAMD_HTTP_RANGE_H
#define XTREAMD_HTTP_RANGE_H

#include <stddef.h>
#include <stdint.h>

enum http_range_result {
    HTTP_RANGE_NONE,          /* no usable Range: send the whole body (200) */
    HTTP_RANGE_PARTIAL,       /* start and len set: 206 */
    HTTP_RANGE_UNSATISFIABLE, /* 416 with Content-Range "bytes STAR/size" */
};

/* value: the Range header (NULL if absent); size: the resource's length. */
enum http_range_result http_range_parse(const char *value, uint64_t size, uint64_t *start,
                                        uint64_t *len);

/* Strong validator for a file: "\"<mtime hex>-<size hex>\"" (as nginx). */
void http_range_etag(uint64_t size, int64_t mtime, char *out, size_t outlen);

/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") of t into out (>= 30 bytes). */
void http_range_date(int64_t t, char *out, size_t outlen);

/* Whether an If-Range value lets a Range apply: an entity tag must equal etag
 * (strong comparison: weak tags never match), a date must equal mtime.
 * NULL (no If-Range) is a match. */
int http_range_if_range_ok(const char *value, const char *etag, int64_t mtime);

#endif
