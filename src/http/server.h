/*
 * server: listeners and connections of the HTTP/1.1 server on a libuv loop.
 *
 * Owns the listening sockets and every connection. Connections are non-blocking
 * fds watched with uv_poll_t; reads go into a per-connection buffer that is only
 * allocated while a request is in progress, so idle keep-alive connections cost
 * little. Requests on a connection are answered strictly in order (pipelining).
 * Threading: loop thread only.
 */
#ifndef XTREAMD_HTTP_SERVER_H
#define XTREAMD_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http/http.h"

struct tls_ctx;

struct http_server_config {
    const char *host; /* "0.0.0.0", "127.0.0.1", "::" ... */
    int port;         /* 0 picks a free port (see http_server_port) */
    http_handler_fn handler;
    void *handler_ud;
    unsigned header_timeout_ms; /* whole request head + body must arrive in this; 0 = 10000 */
    unsigned idle_timeout_ms;   /* keep-alive idle; 0 = 60000 */
    unsigned max_connections;   /* 0 = 50000; beyond it new connections get 503 and close */
    int access_log;             /* one log line per request when non-zero */
    /* > 0: an already listening socket to accept on (taken over from a
     * previous server, cli/handover.h) instead of binding host:port; the
     * server owns it once start succeeded (on failure the caller does). */
    int listen_fd;
    /* HTTPS: a second listener whose connections speak TLS (http/tls.h).
     * tls NULL = plain HTTP only. The context stays the caller's (reload it
     * with tls_ctx_reload; free it after the server is done). */
    struct tls_ctx *tls;
    const char *tls_host;
    int tls_port;      /* 0 picks a free port (see http_server_tls_port) */
    int tls_listen_fd; /* > 0: an inherited TLS listener, as listen_fd */
    /* With a TLS listener: plain-HTTP requests whose path lies under this
     * prefix (whole segments, e.g. "/api/v1") get 308 to the same target on
     * the TLS port. NULL = both listeners serve everything. */
    const char *https_redirect_prefix;
    /* Non-zero: a server of another I/O loop (serve --loops N), with no
     * listener: its connections are streams moved to it from the accepting
     * loop (struct http_body_source's handoff). host, port, listen_fd and
     * the TLS fields are ignored. */
    int worker;
    /* A worker that answers requests itself: route_here(req, handler_ud) tells, under
     * the application lock (core/applock.h), whether this loop may answer req; then
     * the handler runs here under that lock, else the connection moves to the
     * accepting loop for good (its bytes and queued output with it). Such a worker
     * accepts on a descriptor of the accepting server's plain listener
     * (http_server_add_worker). Those routes answer with buffers, refbufs or a
     * deferred response (a body source's and a deferred abort's calls are made under
     * the lock too; a file body's done callback is not). NULL: a worker of moved
     * streams only. */
    bool (*route_here)(const struct http_request *req, void *ud);
    /* Tests: the accepting server leaves its plain listener to its workers (route_here),
     * so that every connection starts on a worker. */
    int accept_via_workers;
};

struct http_server;

int http_server_start(uv_loop_t *loop, const struct http_server_config *cfg,
                      struct http_server **out);
int http_server_port(const struct http_server *srv);
/* Changes the header and idle timeouts at run time (SIGHUP); 0 keeps one.
 * A connection's deadline is computed from them each time it is (re)armed,
 * so a change reaches every connection at its next state change. */
void http_server_set_timeouts(struct http_server *srv, unsigned header_ms, unsigned idle_ms);
/* The listening socket (to hand it over to a successor, which gets its own
 * descriptor of it); -1 once stop has closed it. */
int http_server_listen_fd(const struct http_server *srv);
/* The TLS listener's port, 0 when there is none. */
int http_server_tls_port(const struct http_server *srv);
/* The TLS listening socket (hand-over), -1 when none or stopped. */
int http_server_tls_listen_fd(const struct http_server *srv);
/* Open connections; safe from any thread (a test's, another loop's metrics). */
size_t http_server_connection_count(const struct http_server *srv);
/* Threading of several loops: every function here runs on the server's own
 * loop thread, except http_server_adopt (any thread), and the counters
 * (http_server_bytes_sent, http_server_get_stats: any thread, relaxed reads,
 * summed over the workers added). */
/* Registers worker (started on its own loop) so that srv's counters include
 * its; srv's loop thread, before worker serves. -E2BIG past 64 workers. A
 * worker with route_here gets a descriptor of srv's plain listener and
 * accepts on it; requests it does not answer come back to srv. */
int http_server_add_worker(struct http_server *srv, struct http_server *worker);
/* Forgets the workers: before they stop (srv hands big file bodies to its workers' loops,
 * http/offload.h, until then) and are freed. */
void http_server_remove_workers(struct http_server *srv);
struct http_handoff;
/* Posts a moved stream to dst's loop (internal to server.c's hand-off; any
 * thread). */
void http_server_adopt(struct http_server *dst, struct http_handoff *h);
/* Bytes written to every connection so far (heads, bodies, files): the
 * admin stats' bandwidth out. */
uint64_t http_server_bytes_sent(const struct http_server *srv);
/* Write-path counters (/metrics): wakes = http_conn_wake calls that woke a
 * waiting stream; wake_batches = loop iterations that flushed woken streams;
 * direct_writes = woken streams written without waiting for POLLOUT;
 * poll_updates = changes of a connection's polled events (each costs
 * epoll_ctl calls). */
struct http_server_stats {
    uint64_t wakes;
    uint64_t wake_batches;
    uint64_t direct_writes;
    uint64_t poll_updates;
    uint64_t handoffs;        /* streams moved to another loop */
    uint64_t shared_sendfile; /* bytes of shared bodies sent from their memfd (core/refbuf.h) */
    uint64_t offloads;        /* file bodies handed to a worker's loop (http/offload.h) */
    uint64_t offloaded;       /* bytes those loops sent */
    uint64_t offloaded_heads; /* response heads those loops sent with the body's first bytes */
    uint64_t answered_here;   /* requests answered by the worker that accepted them (route_here) */
    uint64_t moved_home;      /* connections a worker moved to the accepting loop */
};
void http_server_get_stats(const struct http_server *srv, struct http_server_stats *st);
/* Graceful stop: close the listener, let in-flight responses finish, close
 * idle connections; done(ud) is called once every connection is gone (or after
 * grace_ms, when the rest are closed forcibly). The server is freed after done. */
void http_server_stop(struct http_server *srv, unsigned grace_ms, void (*done)(void *ud), void *ud);
/* Fault injection for tests: the next n changes of a connection's poll
 * events fail as if uv_poll_start() had (the connection is then closed). */
void http_server_fault_poll_start(unsigned n);

#endif
