/*
 * parser: strict, incremental HTTP/1.1 request-head parser (RFC 9112). Pure: no
 * I/O, no allocation, no global state.
 *
 * Two steps:
 *   1. http_head_scan() is fed the whole buffered input of the current request
 *      each time more bytes arrive (the prefix never changes between calls). It
 *      resumes where it stopped, so input may be split at any byte, and it
 *      enforces the size limits as soon as they are crossed (414/431) and rejects
 *      bare CR/LF and NUL bytes early (400). It reports the head's length once the
 *      empty line is seen; any bytes after it (a body, pipelined requests) are
 *      left alone.
 *   2. http_head_parse() parses one complete head in place (it writes NULs into
 *      it) and fills a struct http_request whose strings point into the head and
 *      into a caller-supplied scratch area.
 *
 * Errors carry the HTTP status to send (400, 414, 431, 411, 413, 417, 505) and a
 * short static reason. Ownership: the caller owns every buffer; results point
 * into them. Threading: none (re-entrant).
 */
#ifndef XTREAMD_HTTP_PARSER_H
#define XTREAMD_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

struct http_head_scan {
    size_t pos;       /* bytes of input examined so far */
    size_t start;     /* where the request line starts (after leading CRLFs) */
    size_t line_len;  /* bytes of the current line so far (without CRLF) */
    size_t hdr_bytes; /* bytes of the header section so far (with CRLFs) */
    unsigned lines;   /* complete lines so far, request line included */
    bool cr;          /* the previous byte was CR */
    int status;       /* on error: HTTP status to answer with */
    const char *error;
};

void http_head_scan_init(struct http_head_scan *s);
/* Returns 0 when a complete head was seen (*head_len = bytes from the start of
 * data up to and including the final CRLF CRLF; the head proper starts at
 * s->start), -EAGAIN when more input is needed, or -EBADMSG with s->status and
 * s->error set. */
int http_head_scan(struct http_head_scan *s, const char *data, size_t len, size_t *head_len);

/* Facts about the message framing that the server needs and handlers do not. */
struct http_head_info {
    long long content_length; /* -1 when absent */
    bool expect_continue;     /* "Expect: 100-continue" on an HTTP/1.1 request */
    int status;               /* on error: HTTP status to answer with */
    const char *error;
};

/* Scratch bytes http_head_parse() needs for a head of head_len bytes. */
#define HTTP_HEAD_SCRATCH(head_len) (2 * (size_t)(head_len) + 2)

/*
 * Parses the complete head head[0..len) (from the request line to the final
 * CRLF CRLF, as delimited by http_head_scan, without leading CRLFs). head must be
 * writable and NUL-terminated at head[len]. hdrs has room for HTTP_MAX_HEADERS;
 * scratch has HTTP_HEAD_SCRATCH(len) bytes. Fills method, method_name,
 * version_minor, target, path, query, segments, headers and keep_alive of req;
 * leaves body, params and the client address alone. Returns 0 or -EBADMSG with
 * info->status/error set.
 */
int http_head_parse(char *head, size_t len, struct http_request *req, struct http_header *hdrs,
                    char *scratch, struct http_head_info *info);

/* Maps a method token to its enum (HTTP_OTHER when unknown). */
enum http_method http_method_from(const char *name, size_t len);

/* The reason phrase for a status ("Unknown" if none is known). */
const char *http_status_reason(int status);

#endif
