/*
 * encoding: HTTP content codings — whether a request's Accept-Encoding
 * accepts gzip (RFC 9110 §12.5.3), and the gzip coding of a body (RFC 1952
 * wrapper around zlib's deflate).
 *
 * Accept-Encoding policy: the value is a comma-separated list of codings with
 * an optional weight ";q=…"; names and "q" are case-insensitive; whitespace
 * around ',' ';' '=' is allowed. gzip is accepted when "gzip" (or its alias
 * "x-gzip") is listed with q > 0, or, gzip not being listed, when "*" is.
 * An explicit q=0 for a coding wins over any other mention of it. A q that
 * is not a valid qvalue ("0", "0.5", "1.000"; at most three decimals) counts
 * as q=0, as nginx does: when in doubt, send identity. Malformed list
 * elements are ignored. "identity" plays no part (identity is always
 * acceptable to us). No header, or an empty one, means identity.
 *
 * Owns nothing. No I/O; the parser does not allocate. Threading: any thread.
 */
#ifndef XTREAMD_HTTP_ENCODING_H
#define XTREAMD_HTTP_ENCODING_H

#include <stdbool.h>
#include <stddef.h>

#include "core/refbuf.h"
#include "http/http.h"

/* One Accept-Encoding field value (NULL: no header) — does it accept gzip? */
bool http_accepts_gzip(const char *accept_encoding);

/* Every Accept-Encoding field of the request, taken as one list
 * (RFC 9110 §5.3: repeated list fields combine). */
bool http_request_accepts_gzip(const struct http_request *req);

/* The gzip coding of data[0..len) at zlib level 1..9, as a new refbuf with
 * one reference in *out. 0, -ENOMEM, -EINVAL (bad level) or -EIO (zlib). */
int http_gzip(const void *data, size_t len, int level, struct refbuf **out);

#endif
