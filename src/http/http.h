/*
 * http: the public face of xtreamd's HTTP/1.1 server, as handlers see it.
 *
 * The server (server.c) owns listeners and connections on one libuv loop; the
 * parser (parser.c) and query/form decoder (query.c) are pure functions with no
 * I/O. A handler is called once per complete request, on the loop thread, and
 * fills in a response before it returns (synchronously) — or attaches a body
 * source that the server pulls from as the socket drains (streamed bodies).
 *
 * Ownership: everything reachable from struct http_request belongs to the
 * connection and is valid only during the handler call. Response headers and
 * bodies are copied (or, for refbufs, referenced) by the response.
 * Threading: loop thread only.
 */
#ifndef XTREAMD_HTTP_HTTP_H
#define XTREAMD_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/fdref.h"
#include "core/refbuf.h"

/* Limits (exceeding them yields the status in the comment). */
#define HTTP_MAX_REQUEST_LINE 8192      /* 414 */
#define HTTP_MAX_HEADER_BYTES 16384     /* 431 (all header lines together) */
#define HTTP_MAX_HEADERS      100       /* 431 */
#define HTTP_MAX_BODY         (1 << 20) /* 413 */
#define HTTP_MAX_SEGMENTS     16        /* path segments kept decoded; more -> 414 */
#define HTTP_MAX_PARAMS       256       /* query+form parameters; more -> 400 */

enum http_method {
    HTTP_GET,
    HTTP_HEAD,
    HTTP_POST,
    HTTP_PUT,
    HTTP_DELETE,
    HTTP_PATCH,
    HTTP_OPTIONS,
    HTTP_OTHER,
};

struct http_header {
    const char *name;  /* as sent, NUL-terminated */
    const char *value; /* leading/trailing whitespace trimmed */
};

struct http_param {
    char *key; /* percent-decoded ('+' is a space), NUL-terminated */
    char *value;
};

struct http_params {
    struct http_param *items;
    size_t count;
    size_t cap;
};

struct http_request {
    enum http_method method;
    const char *method_name;
    int version_minor;  /* HTTP/1.<minor> */
    const char *target; /* the raw request-target, e.g. "/a/b?x=1" */
    const char *path;   /* raw path, before '?' (not decoded) */
    const char *query;  /* raw query after '?', "" if none */
    /* Non-empty path segments, each percent-decoded; empty segments (from "//"
     * or a trailing '/') are skipped. */
    const char *segments[HTTP_MAX_SEGMENTS];
    size_t segment_count;
    struct http_header *headers;
    size_t header_count;
    const char *body; /* NUL-terminated for convenience; body_len excludes it */
    size_t body_len;
    /* Query string parameters, overlaid by url-encoded or multipart form fields
     * of a POST body: when a key is in both, the body's value wins. */
    struct http_params params;
    bool keep_alive;
    char client_ip[46];
    uint16_t client_port;
    bool tls; /* arrived on the TLS listener: the client's scheme is https */
};

/* Case-insensitive header lookup; NULL if absent. */
const char *http_request_header(const struct http_request *req, const char *name);
/* First value of key, NULL if absent. */
const char *http_param_get(const struct http_params *params, const char *key);
const char *http_request_param(const struct http_request *req, const char *key);

struct http_response;
struct http_conn;

void http_response_status(struct http_response *res, int status);
int http_response_status_get(const struct http_response *res);
/* Adds a header line (no validation beyond rejecting CR/LF: -EINVAL). The
 * server itself adds Date, Server, Content-Length and Connection. */
int http_response_header(struct http_response *res, const char *name, const char *value);
/* Body copied into the response. */
int http_response_body(struct http_response *res, const void *data, size_t len);
/* The response's own body buffer, to write into directly. */
struct buf *http_response_buf(struct http_response *res);
/* Adds a reference to a shared immutable body (may be called several times:
 * the pieces are sent in order after anything in http_response_buf). On
 * failure (-E2BIG past 4096 pieces, -ENOMEM) the error also latches in the
 * response, which is then answered 500: never a silently short body. */
int http_response_body_ref(struct http_response *res, struct refbuf *rb);
/* Convenience: status + Content-Type + body. */
int http_response_text(struct http_response *res, int status, const char *content_type,
                       const char *text);
/* The path to put in the access log instead of the request target (so that
 * handlers can hide credentials carried in paths). Copied. */
void http_response_log_target(struct http_response *res, const char *target);

/*
 * Streamed bodies. After the handler returns, the server calls pull() whenever
 * the socket can take more and less than `budget` bytes are queued; pull appends
 * at most about `budget` bytes to out and returns:
 *    1  more to come (call again when writable),
 *    0  finished,
 *   -EAGAIN nothing now: the source calls http_conn_wake() when it has data,
 *   <0  any other error: the connection is closed.
 * close() is called exactly once, when the response ends or the connection
 * closes for any reason (never from inside pull(); after a close, only later,
 * from the loop, never from inside the caller that closed the connection). content_length < 0 means
 * unknown: the response is then sent without Content-Length or chunking and
 * the connection is closed at the end.
 */
struct http_server;
struct http_body_source {
    int (*pull)(void *ctx, struct buf *out, size_t budget);
    void (*close)(void *ctx);
    void *ctx;
    /* Optional (serve --loops N): once the head is queued, handoff() (on the
     * accepting loop) may return another loop's server (http/server.h,
     * worker) to move the connection to; NULL keeps it here. A TLS
     * connection never moves. After a move, moved(ctx, conn) runs on the new
     * loop before the first pull, and pull and close run on that loop's
     * thread only (close without moved() when that loop is stopping or out
     * of memory and discards the stream). */
    struct http_server *(*handoff)(void *ctx);
    void (*moved)(void *ctx, struct http_conn *conn);
};
void http_response_source(struct http_response *res, const struct http_body_source *src,
                          long long content_length);
struct http_conn *http_response_conn(struct http_response *res);
/* The loop the response's connection lives on (serve --loops N: not always the
 * accepting one); work a handler queues for the response belongs there. */
struct uv_loop_s;
struct uv_loop_s *http_response_loop(struct http_response *res);
/* A call to run on another loop (serve --loops N), embedded in the caller's own
 * record so that posting never fails. */
struct http_post {
    struct http_post *next;
    void (*fn)(struct http_post *p);
};
/* Runs p->fn(p) on the loop of res's connection, soon, from any thread: for a
 * deferred response (the connection must be open when posting, e.g. its abort
 * not yet called, which the caller knows under the application lock). fn runs
 * once whatever happens meanwhile (the connection closing, the server
 * stopping), without the application lock: it takes it and checks its own
 * abort state before touching res. */
void http_response_post(struct http_response *res, struct http_post *p,
                        void (*fn)(struct http_post *p));
void http_conn_wake(struct http_conn *conn);

/*
 * Zero-copy streaming: from inside pull() (or while the source is active), a
 * source may queue slices of shared refbufs instead of appending bytes to
 * `out` — the slice is referenced, never copied, and sent with writev. A
 * source uses one style or the other, never both. Slices count against a
 * known Content-Length exactly like appended bytes (-EMSGSIZE past it).
 * http_conn_queued_bytes() tells how much is waiting to be written, for
 * back-pressure decisions (slow viewers).
 */
int http_conn_queue_ref(struct http_conn *conn, struct refbuf *rb, const char *p, size_t len);
/* The same, for a slice whose bytes are also at offset foff of mf (a live
 * rendition's memfd, core/fdref.h): on a plain TCP connection it is sent with
 * sendfile(2) from mf, so that the kernel takes page references instead of a
 * copy; on TLS, or once its bytes have left mf, it is sent from rb like any
 * slice. mf NULL: exactly http_conn_queue_ref. */
int http_conn_queue_ref_fd(struct http_conn *conn, struct refbuf *rb, const char *p, size_t len,
                           struct fdref *mf, uint64_t foff);
size_t http_conn_queued_bytes(const struct http_conn *conn);
/* Bytes written on the connection so far (heads and bodies of every response). */
uint64_t http_conn_bytes_sent(const struct http_conn *conn);

/*
 * A file range as (the rest of) the body, sent with sendfile(2) after any
 * buffered and refbuf parts; Content-Length includes it. Takes ownership of fd
 * in every case (closed when sent, on HEAD, or on error). If the file shrinks
 * while being sent, the response ends by closing the connection.
 */
int http_response_file(struct http_response *res, int fd, off_t offset, off_t length);
/* fn(ctx) is called exactly once when the file body is done with: fully sent,
 * dropped (HEAD, error) or its connection closed — always after the handler
 * returned. fn must not call back into the connection. */
void http_response_file_done(struct http_response *res, void (*fn)(void *ctx), void *ctx);
/*
 * Deferred responses, for handlers that wait on something else (an upstream
 * server). The handler calls http_response_defer() and returns; the
 * connection then reads no further request and has no timeout of its own
 * until the response, filled in later with the calls above, is released with
 * http_response_resume() — never from inside the handler. If the connection
 * closes first (client gone, server stopping) abort(ctx) is called exactly
 * once instead, and res must not be touched again. resume() may close the
 * connection and call back into a body source it was given.
 */
void http_response_defer(struct http_response *res, void (*abort)(void *ctx), void *ctx);
/* false when the connection is already closing: nothing was sent, and its
 * abort(ctx) is still to come (keep ctx alive for it). true otherwise. Ask
 * the return value, never res afterwards: a resumed keep-alive connection may
 * already have dispatched its next request, deferred again in the same res. */
bool http_response_resume(struct http_response *res);
/* Closes a connection now (a viewer kicked by a connection limit): no more
 * I/O on it; its owners (body source close(), file done, deferred abort) are
 * told later from the loop, so it is safe while walking a list of such
 * connections. Not from inside that connection's own handler or callbacks. */
void http_conn_abort(struct http_conn *conn);

typedef void (*http_handler_fn)(struct http_request *req, struct http_response *res, void *ud);

#endif
