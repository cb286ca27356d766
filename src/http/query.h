/*
 * query: percent-decoding, query strings, application/x-www-form-urlencoded and
 * multipart/form-data field parsing, and the parameter list handlers read.
 *
 * Ownership: a struct http_params owns its items array and every key/value
 * (one allocation per pair: the value follows the key's NUL). Lookups return
 * pointers into it. Pure functions, no I/O. Threading: none (re-entrant).
 *
 * Decoding rules (documented in docs/internals/http.md):
 *  - path segments: strict; an invalid escape or a decoded NUL is an error (400);
 *  - query and form fields: '+' is a space; an invalid escape ("%zz", a lone
 *    '%') is kept literally, as PHP's urldecode does (clients such as
 *    @iptv/xtream-api do not encode '%' in passwords); a raw or decoded NUL is an error;
 *  - pairs with an empty key are skipped; "a" and "a=" both give "a" = "".
 */
#ifndef XTREAMD_HTTP_QUERY_H
#define XTREAMD_HTTP_QUERY_H

#include <stddef.h>

#include "http/http.h"

#define HTTP_DECODE_STRICT 1 /* invalid escape -> error instead of literal */
#define HTTP_DECODE_PLUS   2 /* '+' decodes to a space */

/* Decodes src[0..len) into dst (room for len + 1 bytes), NUL-terminates it and
 * returns the decoded length, or -EINVAL (decoded NUL; invalid escape in
 * strict mode). dst may equal src. */
long http_percent_decode(char *dst, const char *src, size_t len, int flags);

/* Appends a copy of one pair; -E2BIG beyond HTTP_MAX_PARAMS, -ENOMEM. */
int http_params_add(struct http_params *p, const char *key, size_t klen, const char *value,
                    size_t vlen);
/* Appends the pairs of "k=v&k2=v2" (query string or url-encoded form body).
 * Returns 0, -EINVAL (decoded NUL), -E2BIG (too many pairs) or -ENOMEM. */
int http_params_parse_urlencoded(struct http_params *p, const char *s, size_t len);
/* Appends the named fields of a multipart/form-data body (file parts, those with
 * a filename, are skipped). Returns 0, -EINVAL (malformed), -E2BIG or -ENOMEM. */
int http_params_parse_multipart(struct http_params *p, const char *body, size_t len,
                                const char *boundary, size_t blen);
/* Finds the boundary parameter of a multipart/form-data Content-Type. Returns 0
 * and points *b into ct (quotes stripped, escapes not allowed), -ENOENT when ct
 * is not multipart/form-data, -EINVAL when the boundary is missing or invalid. */
int http_multipart_boundary(const char *ct, const char **b, size_t *blen);
/* Puts the pairs of src in front of those of dst, so that http_param_get()
 * finds src's value first ("src wins"); src is left empty. -E2BIG if the total
 * exceeds HTTP_MAX_PARAMS (dst and src unchanged), -ENOMEM. */
int http_params_overlay(struct http_params *dst, struct http_params *src);
void http_params_free(struct http_params *p);

/* Fills req->params from req->query and, for a POST with a url-encoded or
 * multipart body, the body's fields (which win). Returns 0 or -EINVAL/-E2BIG
 * (answer 400) or -ENOMEM; *why names the problem. */
int http_request_parse_params(struct http_request *req, const char **why);

/* Writes the query string q with the values of credential keys (password,
 * pass, pwd, token, ...; and keys that cannot be decoded) replaced by "***"
 * (for logs). */
int http_query_redact(struct buf *out, const char *q);
/* Writes the raw path with every segment that can carry a credential in the
 * client route forms replaced by "***" (for logs): the password of
 * /live|movie|series|timeshift|player_api|playlist|epg|.../U/P/..., the token
 * of /hls/T/..., and in any other path (the short form /U/P/ID, unknown
 * routes, scripts with extra segments) everything after the first segment
 * except a stream id in third place. Segments past HTTP_MAX_SEGMENTS are
 * replaced by "...". Not escaped: the caller escapes. */
int http_path_redact(struct buf *out, const char *path);

#endif
