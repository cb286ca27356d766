/*
 * server: listener, connection state machine and response writer of the
 * HTTP/1.1 server (implements server.h and the response half of http.h).
 *
 * Ownership: the server owns its listening socket, a sweep timer, a grace
 * timer and every struct http_conn. A connection owns its fd, its uv_poll_t,
 * its read buffer (allocated only while a request is in progress), the parsed
 * request (only during dispatch), its output queue (owned heap pieces and refbuf
 * references) and, while a streamed response runs, the body source.
 *
 * Invariants:
 *  - requests on a connection are handled strictly one after the other, and
 *    their responses are appended to one output queue, so they leave in order;
 *    a new request is only dispatched when no streamed body is active and fewer
 *    than PIPELINE_OUT_MAX bytes are queued;
 *  - out_bytes == bytes queued in pieces + unsent bytes of sbuf;
 *  - a connection is freed only from its uv_close callback; after conn_close()
 *    only c->closing may be read;
 *  - every connection with a deadline sits on exactly one of the per-class
 *    timeout lists, each sorted by deadline (see conn_set_timer).
 * Threading: loop thread only.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/applock.h"
#include "core/fdref.h"
#include "core/log.h"
#include "http/offload.h"
#include "http/parser.h"
#include "http/query.h"
#include "http/tls.h"

#define ACCEPTS_PER_WAKEUP 64
#define READ_CHUNK         16384
#define WRITE_CAP          (1024 * 1024) /* bytes written per connection per wakeup */
#define PIPELINE_OUT_MAX   (256 * 1024)  /* stop dispatching pipelined requests above */
#define OFFLOAD_MIN        (256 * 1024)  /* smaller bodies are written by this loop */
#define STREAM_BUDGET      (64 * 1024)   /* pull a body source below this many queued bytes */
/* ... and a source of refbuf slices (a live viewer) below this many: queueing a slice copies
 * nothing, and a whole batch of a TS viewer's chunks (write-interval) then goes out in one
 * sendfile (memfd_span) rather than one per 64 KiB; the viewer's lag counts what waits here
 * (stream/live.c viewer_check). */
#define STREAM_REF_BUDGET (512 * 1024)
#define SBUF_MAX          (8u << 20) /* hard cap on what one pull may append */
#define LINGER_MS         2000
#define MAX_IOV           64
#define MAX_BODY_REFS     4096
#define RBUF_MAX          (HTTP_MAX_REQUEST_LINE + HTTP_MAX_HEADER_BYTES + HTTP_MAX_BODY + 65536)
#define MAX_WORKERS       64

/* Counters written by their server's loop only and read from any thread
 * (/metrics and the admin stats sum every loop's): a relaxed load and store,
 * no locked instruction on the write path. */
#define CNT_ADD(field, n)                                                                          \
    atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) + (n),    \
                          memory_order_relaxed)

enum tclass { T_NONE, T_HEADER, T_IDLE, T_WRITE, T_LINGER, T_COUNT };

/* > 0 while only this file's frames are on the thread's stack, under one of its own
 * I/O callbacks (on_conn_io, the wake flushes): no handler code is in the middle of anything. Loop
 * 0 holds the application lock (core/applock.h) while it runs; there, and only there, it lets the
 * lock go around its socket calls (io_unlock), which are most of its time, so the other loops'
 * handlers need not wait for them. Every call into handler code sets it to 0 for its duration
 * (APP_CALL). */
static _Thread_local int srv_top;
#define APP_CALL(stmt)                                                                             \
    do {                                                                                           \
        int top_ = srv_top;                                                                        \
        srv_top = 0;                                                                               \
        stmt;                                                                                      \
        srv_top = top_;                                                                            \
    } while (0)
/* The same for a call made on behalf of connection c: on a worker, one whose response is
 * the handler code's (c->app) also takes the application lock for it. */
#define CONN_APP_CALL(c, stmt)                                                                     \
    do {                                                                                           \
        bool lock_ = (c)->app && (c)->srv->worker;                                                 \
        if (lock_)                                                                                 \
            applock_enter();                                                                       \
        APP_CALL(stmt);                                                                            \
        if (lock_)                                                                                 \
            applock_leave();                                                                       \
    } while (0)

struct piece {
    struct piece *next;
    struct refbuf *rb; /* referenced, or NULL */
    char *own;         /* owned heap block, or NULL */
    const char *p;     /* unsent bytes */
    size_t len;
    int fd;                  /* >= 0: a file range sent with sendfile (owned fd) */
    off_t foff;              /* next file offset to send */
    struct fdref *mf;        /* or a refbuf slice whose bytes are also at foff in mf */
    void (*done)(void *ctx); /* file pieces: http_response_file_done() callback */
    void *done_ctx;
    bool placed; /* which loop writes this body is decided (offload_body) */
};

struct http_response {
    struct http_conn *conn;
    int status;
    int err;
    struct buf hdrs;
    struct buf body;
    struct refbuf **rbs;
    size_t nrb, caprb;
    int file_fd; /* -1, or a file range sent after the refbufs */
    off_t file_off;
    off_t file_len;
    void (*file_done)(void *ctx);
    void *file_done_ctx;
    struct http_body_source src;
    bool has_src;
    long long src_len;
    char *log_target;
    /* deferred (http_response_defer) */
    bool deferred;
    void (*defer_abort)(void *ctx);
    void *defer_ctx;
};

struct reqmem {
    struct http_request req;
    struct http_header hdrs[HTTP_MAX_HEADERS];
    struct http_head_info info;
    size_t head_len; /* bytes of rbuf the head occupies (with leading CRLFs) */
    bool continued;  /* "100 Continue" queued */
    bool parsed;     /* req is complete (safe to log) */
    char data[];     /* head copy, then parser scratch */
};

struct tlist {
    struct http_conn *head, *tail;
};

struct http_conn {
    uv_poll_t poll;
    struct http_server *srv;
    struct http_conn *next, *prev;   /* srv->conns */
    struct http_conn *tnext, *tprev; /* srv->tl[tclass] */
    uint64_t deadline;
    uint64_t req_start;
    uint64_t idle_since;
    uint64_t last_write;
    int fd;
    int events;
    int tclass;
    bool closing, close_after, peer_eof, lingering, served, in_pull, in_dispatch;
    bool src_active, src_waiting, src_woken;
    bool wake_queued;     /* on srv->wake_head (http_conn_wake) */
    bool handoff_pending; /* the source asked to move to another loop */
    bool fd_moved;        /* the fd went to another loop: not ours to close */
    /* A worker's connection whose response came from the handler's code (route_here): its
     * callbacks into that code (a deferred response's abort, a body source) run under the
     * application lock (core/applock.h). Streams moved here by a hand-off never are. */
    bool app;
    struct http_conn *wnext, *wprev; /* srv->wake_head */
    size_t defer_need;               /* rbuf bytes of the deferred request (head + body) */
    uint64_t bytes_out;              /* everything written on the connection */
    struct buf rbuf;
    struct http_head_scan scan;
    struct reqmem *rm;
    struct piece *out_head, *out_tail;
    size_t out_bytes;
    /* streamed body */
    struct http_body_source src;
    long long src_remaining; /* -1: unknown length */
    unsigned long long src_bytes;
    size_t src_ref_bytes; /* bytes a pull queued as refbuf slices */
    bool src_refs;        /* the source queues refbuf slices: STREAM_REF_BUDGET */
    uint64_t src_start;
    char *src_log; /* "prefix\0user-agent" for the access log line */
    struct buf sbuf;
    size_t soff;
    char ip[46];
    uint16_t port;
    struct tls_conn *tls; /* NULL: plain TCP; else every byte goes through it */
    struct http_response res;
    /* out_head, a file range or a cached list's memfd slice, is being written by another
     * loop (http/offload.h): nothing is written here until the job is back; a close frees
     * the connection only then. */
    struct offload_job *offload;
    bool free_when_back;
};

/* A streaming connection on its way to another loop (http_server_adopt):
 * its socket, what is queued (the response head) and its body source. */
struct http_handoff {
    struct http_handoff *next;
    int fd;
    char ip[46];
    uint16_t port;
    struct piece *out_head, *out_tail;
    size_t out_bytes;
    uint64_t bytes_out;
    struct http_body_source src;
    long long src_remaining;
    unsigned long long src_bytes;
    size_t src_ref_bytes;
    bool src_refs;
    uint64_t src_start;
    char *src_log;
    /* A connection with a request this loop does not answer (route_here), moving to the
     * accepting loop for good: every byte it sent that is not answered yet. */
    bool fresh;
    char *in;
    size_t in_len;
};

/* Where a worker sends the connections it does not answer: the accepting server while
 * it takes them, NULL from the moment it stops (under mu, so a worker never posts to a
 * server being freed). Shared by the accepting server and its workers (refs). */
struct home_link {
    pthread_mutex_t mu;
    struct http_server *home;
    _Atomic unsigned refs;
};

struct http_server {
    uv_loop_t *loop;
    struct http_server_config cfg;
    int lfd;
    int port;
    uv_poll_t lpoll;
    int tlfd; /* the TLS listener, -1 if none */
    int tport;
    uv_poll_t tlpoll;
    int nlisteners; /* listeners not yet closed */
    char *redirect_prefix;
    uv_timer_t sweep;
    uv_timer_t grace;
    bool listening, stopping, finishing;
    int open_handles; /* handles still to be closed after stop */
    uint64_t accept_paused_until;
    struct http_conn *conns;
    size_t nconns; /* written by the loop only, atomically: read from any thread */
    struct tlist tl[T_COUNT];
    unsigned tmo[T_COUNT];
    void (*done)(void *ud);
    void *done_ud;
    time_t date_sec;
    char date[40];
    _Atomic uint64_t bytes_out; /* http_server_bytes_sent (CNT_ADD) */
    /* Loops 1..N-1 (http_server_start_worker): no listener; connections
     * arrive from the accepting loop through the adopt list (a mutex taken
     * once per moved connection, never per byte) and its async handle. */
    bool worker;
    pthread_mutex_t adopt_lock;
    struct http_handoff *adopt_head;
    struct http_post *post_head; /* http_response_post, under adopt_lock */
    uv_async_t adopt_async;
    /* Requests on a worker's connections (route_here): link to the accepting server;
     * accept_fd, a descriptor of its listener passed by http_server_add_worker, is
     * taken by the worker's loop (on_adopt), accept_off closes it again (the accepting
     * server stops, or hands its listener over). */
    struct home_link *link;
    _Atomic int accept_fd;
    atomic_bool accept_off;
    _Atomic unsigned new_header_ms, new_idle_ms; /* http_server_set_timeouts, 0 = none */
    /* The accepting server's workers, whose counters it sums. */
    struct http_server *workers[MAX_WORKERS];
    _Atomic unsigned nworkers;
    /* Streams woken since the last flush (http_conn_wake), written from the
     * prepare and check phases of the loop: once per loop iteration however
     * many chunks were published, and without a POLLOUT round trip. */
    struct http_conn *wake_head;
    uv_prepare_t wake_prep;
    uv_check_t wake_check;
    /* Big bodies written by the workers' loops (http/offload.h): the accepting server is
     * the home of its jobs, a worker their writer; offload_rr spreads them over the loops. */
    struct offload_home *home;
    struct offload_writer *writer;
    unsigned offload_rr;
    struct {
        _Atomic uint64_t wakes, wake_batches, direct_writes, poll_updates, handoffs,
            shared_sendfile, offloads, offloaded, offloaded_heads, answered_here, moved_home;
    } st;
    char scratch[READ_CHUNK];
};

static void conn_close(struct http_conn *c);
static void conn_run(struct http_conn *c);
static bool conn_handoff(struct http_conn *c);
static void conn_update(struct http_conn *c);
static void maybe_finish_stop(struct http_server *srv);
static void conn_complete_request(struct http_conn *c, size_t need);
static void conn_free(struct http_conn *c);
static void on_conn_io(uv_poll_t *h, int status, int events);
static void addr_to_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, uint16_t *port);

/* ---- helpers ---------------------------------------------------------- */

static uint64_t now_ms(const struct http_server *srv)
{
    return uv_now(srv->loop);
}

static const char *http_date(struct http_server *srv)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char mons[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = time(NULL);
    if (t != srv->date_sec) {
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(srv->date, sizeof(srv->date), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                 days[tm.tm_wday % 7], tm.tm_mday, mons[tm.tm_mon % 12], tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        srv->date_sec = t;
    }
    return srv->date;
}

/* ---- timeouts: one sorted list per class, swept by one periodic timer --- */

static void tl_unlink(struct http_conn *c)
{
    if (c->tclass == T_NONE)
        return;
    struct tlist *l = &c->srv->tl[c->tclass];
    if (c->tprev)
        c->tprev->tnext = c->tnext;
    else
        l->head = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
    else
        l->tail = c->tprev;
    c->tnext = c->tprev = NULL;
    c->tclass = T_NONE;
}

/* Deadlines in one class are nearly monotonic (same timeout, base ~ now), so
 * the insertion walk from the tail is O(1) in practice. */
static void conn_set_timer(struct http_conn *c, int cls, uint64_t deadline)
{
    if (c->tclass == cls && c->deadline == deadline)
        return;
    tl_unlink(c);
    c->deadline = deadline;
    if (cls == T_NONE)
        return;
    struct tlist *l = &c->srv->tl[cls];
    struct http_conn *after = l->tail;
    while (after && after->deadline > deadline)
        after = after->tprev;
    c->tprev = after;
    c->tnext = after ? after->tnext : l->head;
    if (c->tnext)
        c->tnext->tprev = c;
    else
        l->tail = c;
    if (after)
        after->tnext = c;
    else
        l->head = c;
    c->tclass = cls;
}

/* ---- output queue ------------------------------------------------------ */

static void piece_free(struct piece *pc)
{
    free(pc->own);
    refbuf_unref(pc->rb);
    fdref_unref(pc->mf);
    if (pc->fd >= 0)
        close(pc->fd);
    if (pc->done)
        APP_CALL(pc->done(pc->done_ctx));
    free(pc);
}

static int queue_piece(struct http_conn *c, char *own, struct refbuf *rb, const char *p, size_t len)
{
    if (len == 0) {
        free(own);
        refbuf_unref(rb);
        return 0;
    }
    struct piece *pc = malloc(sizeof(*pc));
    if (!pc) {
        free(own);
        refbuf_unref(rb);
        return -ENOMEM;
    }
    if (c->out_bytes == 0)
        c->last_write = now_ms(c->srv);
    pc->next = NULL;
    pc->own = own;
    pc->rb = rb;
    pc->p = p;
    pc->len = len;
    pc->fd = -1;
    pc->foff = 0;
    pc->mf = NULL;
    if (rb && rb->mf && !c->tls) {
        /* a large shared body: sendfile from its memfd (core/refbuf.h says why) */
        pc->mf = fdref_ref(rb->mf);
        pc->foff = (off_t)(p - rb->data);
    }
    pc->done = NULL;
    pc->done_ctx = NULL;
    pc->placed = false;
    if (c->out_tail)
        c->out_tail->next = pc;
    else
        c->out_head = pc;
    c->out_tail = pc;
    c->out_bytes += len;
    return 0;
}

static int queue_buf(struct http_conn *c, struct buf *b)
{
    size_t len;
    char *p = buf_steal(b, &len);
    return queue_piece(c, p, NULL, p, len);
}

static void free_pieces(struct http_conn *c)
{
    struct piece *pc = c->out_head;
    while (pc) {
        struct piece *n = pc->next;
        piece_free(pc);
        pc = n;
    }
    c->out_head = c->out_tail = NULL;
}

/* Queues a file range; takes ownership of fd. */
static int queue_file(struct http_conn *c, int fd, off_t off, size_t len)
{
    if (len == 0) {
        close(fd);
        return 0;
    }
    int rc = queue_piece(c, NULL, NULL, NULL, len);
    if (rc) {
        close(fd);
        return rc;
    }
    c->out_tail->fd = fd;
    c->out_tail->foff = off;
    return 0;
}

/* ---- access log -------------------------------------------------------- */

/* "ip \"METHOD target\" status" with credentials redacted and every field
 * escaped (core/log.h), into b. A handler's log target is redacted too: the
 * redaction does not trust the routing to have recognised the form. */
static void log_prefix(struct buf *b, const struct http_conn *c, const struct http_request *req,
                       const char *log_target, int status)
{
    buf_puts(b, c->ip);
    buf_puts(b, " \"");
    buf_puts(b, req ? req->method_name : "-");
    buf_putc(b, ' ');
    const char *target = log_target ? log_target : req ? req->path : NULL;
    if (target) {
        struct buf t = BUF_INIT(8192);
        size_t plen = strcspn(target, "?");
        char *path = strndup(target, plen);
        if (path) {
            http_path_redact(&t, path);
            free(path);
        } else {
            buf_puts(&t, "/***");
        }
        const char *q = log_target ? (target[plen] ? target + plen + 1 : "") : req->query;
        if (q[0]) {
            buf_putc(&t, '?');
            http_query_redact(&t, q);
        }
        if (t.data)
            log_escape(b, t.data, t.len < 4096 ? t.len : 4096, true);
        buf_free(&t);
    } else {
        buf_putc(b, '-');
    }
    buf_puts(b, "\" ");
    buf_put_i64(b, status);
}

/* Ends the access line whose prefix is in b (log_prefix): bytes, milliseconds and the
 * quoted user agent; writes it with log_text (no second formatting pass: 70,000 a second
 * on one loop, so the line is built once, in one buffer) and frees b. */
static void log_finish(struct buf *b, unsigned long long bytes, uint64_t ms, const char *ua)
{
    buf_putc(b, ' ');
    buf_put_u64(b, bytes);
    buf_putc(b, ' ');
    buf_put_u64(b, ms);
    buf_puts(b, "ms \"");
    const char *u = ua ? ua : "-";
    log_escape(b, u, strnlen(u, 512), true);
    buf_putc(b, '"');
    if (b->data)
        log_text(LOG_INFO, "http", b->data, b->len);
    buf_free(b);
}

/* The line's buffer: log_text cuts it at LOG_MSG_MAX; room for the longest prefix. */
#define LOG_LINE_BUF 32768

static void log_request(struct http_conn *c, const struct http_request *req, const char *log_target,
                        int status, unsigned long long bytes)
{
    if (!c->srv->cfg.access_log || !log_enabled(LOG_INFO, "http"))
        return;
    struct buf b = BUF_INIT(LOG_LINE_BUF);
    buf_reserve(&b, 256);
    log_prefix(&b, c, req, log_target, status);
    log_finish(&b, bytes, now_ms(c->srv) - c->req_start,
               req ? http_request_header(req, "User-Agent") : NULL);
}

/* ---- responses --------------------------------------------------------- */

static void res_reset(struct http_response *res)
{
    buf_free(&res->hdrs);
    buf_free(&res->body);
    for (size_t i = 0; i < res->nrb; i++)
        refbuf_unref(res->rbs[i]);
    free(res->rbs);
    free(res->log_target);
    if (res->file_fd >= 0)
        close(res->file_fd);
    if (res->file_done)
        APP_CALL(res->file_done(res->file_done_ctx));
    struct http_conn *c = res->conn;
    memset(res, 0, sizeof(*res));
    res->conn = c;
    res->status = 200;
    res->file_fd = -1;
    buf_init(&res->hdrs, HTTP_MAX_HEADER_BYTES);
    buf_init(&res->body, 0);
}

void http_response_status(struct http_response *res, int status)
{
    res->status = (status >= 100 && status <= 999) ? status : 500;
}

int http_response_status_get(const struct http_response *res)
{
    return res->status;
}

int http_response_header(struct http_response *res, const char *name, const char *value)
{
    static const char *const reserved[] = {"Content-Length", "Transfer-Encoding", "Connection",
                                           "Date", "Server"};
    if (!name[0] || strpbrk(name, "\r\n: \t") || strpbrk(value, "\r\n"))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return -EINVAL;
    struct buf *h = &res->hdrs;
    size_t mark = h->len;
    buf_puts(h, name);
    buf_puts(h, ": ");
    buf_puts(h, value);
    buf_puts(h, "\r\n");
    if (h->err) {
        int rc = h->err;
        h->len = mark;
        if (h->data)
            h->data[mark] = '\0';
        h->err = 0;
        return rc;
    }
    return 0;
}

int http_response_body(struct http_response *res, const void *data, size_t len)
{
    return buf_append(&res->body, data, len);
}

struct buf *http_response_buf(struct http_response *res)
{
    return &res->body;
}

int http_response_body_ref(struct http_response *res, struct refbuf *rb)
{
    if (res->nrb == res->caprb) {
        /* A failure latches in res->err: the response becomes a 500 instead
         * of a body shorter than the pieces the handler meant to send. */
        if (res->caprb >= MAX_BODY_REFS)
            return res->err = -E2BIG;
        size_t cap = res->caprb ? res->caprb * 2 : 4;
        struct refbuf **p = realloc(res->rbs, cap * sizeof(*p));
        if (!p)
            return res->err = -ENOMEM;
        res->rbs = p;
        res->caprb = cap;
    }
    res->rbs[res->nrb++] = refbuf_ref(rb);
    return 0;
}

int http_response_text(struct http_response *res, int status, const char *content_type,
                       const char *text)
{
    http_response_status(res, status);
    int rc = http_response_header(res, "Content-Type", content_type);
    if (rc)
        return rc;
    return http_response_body(res, text, strlen(text));
}

void http_response_log_target(struct http_response *res, const char *target)
{
    free(res->log_target);
    res->log_target = target ? strdup(target) : NULL;
}

void http_response_source(struct http_response *res, const struct http_body_source *src,
                          long long content_length)
{
    if (res->has_src && res->src.close)
        res->src.close(res->src.ctx);
    res->src = *src;
    res->has_src = true;
    res->src_len = content_length < 0 ? -1 : content_length;
}

uv_loop_t *http_response_loop(struct http_response *res)
{
    return res->conn->srv->loop;
}

struct http_conn *http_response_conn(struct http_response *res)
{
    return res->conn;
}

int http_response_file(struct http_response *res, int fd, off_t offset, off_t length)
{
    if (fd < 0 || offset < 0 || length < 0) {
        if (fd >= 0)
            close(fd);
        return -EINVAL;
    }
    if (res->file_fd >= 0)
        close(res->file_fd);
    res->file_fd = fd;
    res->file_off = offset;
    res->file_len = length;
    return 0;
}

void http_response_file_done(struct http_response *res, void (*fn)(void *ctx), void *ctx)
{
    res->file_done = fn;
    res->file_done_ctx = ctx;
}

void http_response_defer(struct http_response *res, void (*abort)(void *ctx), void *ctx)
{
    res->deferred = true;
    res->defer_abort = abort;
    res->defer_ctx = ctx;
}

bool http_response_resume(struct http_response *res)
{
    struct http_conn *c = res->conn;
    if (res->deferred && c->closing)
        return false; /* its abort is still to come */
    if (!res->deferred || c->in_dispatch)
        return true;
    res->deferred = false;
    res->defer_abort = NULL;
    conn_complete_request(c, c->defer_need);
    if (!c->closing)
        conn_run(c);
    return true;
}

void http_conn_abort(struct http_conn *c)
{
    if (c && !c->closing)
        conn_close(c);
}

int http_conn_queue_ref(struct http_conn *c, struct refbuf *rb, const char *p, size_t len)
{
    if (!c || c->closing || !c->src_active)
        return -EPIPE;
    if (c->src_remaining >= 0 && (long long)len > c->src_remaining)
        return -EMSGSIZE;
    int rc = queue_piece(c, NULL, refbuf_ref(rb), p, len);
    if (rc)
        return rc;
    c->src_bytes += len;
    c->src_ref_bytes += len;
    if (c->src_remaining >= 0)
        c->src_remaining -= (long long)len;
    return 0;
}

int http_conn_queue_ref_fd(struct http_conn *c, struct refbuf *rb, const char *p, size_t len,
                           struct fdref *mf, uint64_t foff)
{
    int rc = http_conn_queue_ref(c, rb, p, len);
    /* TLS encrypts from user memory: the slice stays a plain refbuf piece. */
    if (rc || !mf || c->tls || !len)
        return rc;
    fdref_unref(c->out_tail->mf);
    c->out_tail->mf = fdref_ref(mf);
    c->out_tail->foff = (off_t)foff;
    return 0;
}

uint64_t http_server_bytes_sent(const struct http_server *srv)
{
    uint64_t n = atomic_load_explicit(&srv->bytes_out, memory_order_relaxed);
    unsigned nw = atomic_load_explicit(&srv->nworkers, memory_order_acquire);
    for (unsigned i = 0; i < nw; i++)
        n += atomic_load_explicit(&srv->workers[i]->bytes_out, memory_order_relaxed);
    return n;
}

uint64_t http_conn_bytes_sent(const struct http_conn *c)
{
    return c ? c->bytes_out : 0;
}

size_t http_conn_queued_bytes(const struct http_conn *c)
{
    return c ? c->out_bytes : 0;
}

static void wake_unlink(struct http_conn *c)
{
    if (!c->wake_queued)
        return;
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        c->srv->wake_head = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    c->wnext = c->wprev = NULL;
    c->wake_queued = false;
}

/* A woken stream is not written here (the caller may be walking its own list
 * of connections, and more chunks may be published in the same iteration) nor
 * does it arm POLLOUT (for a viewer whose socket has room that costs two
 * epoll_ctl calls per wake-up and a loop turn): it is queued, and
 * flush_wakes() writes it at the end of the loop's I/O phase. POLLOUT is
 * armed only when that write meets a full socket. */
void http_conn_wake(struct http_conn *c)
{
    if (!c || c->closing || !c->src_active)
        return;
    c->src_woken = true;
    if (c->in_pull || !c->src_waiting)
        return;
    c->src_waiting = false;
    CNT_ADD(c->srv->st.wakes, 1);
    if (c->wake_queued)
        return;
    c->wake_queued = true;
    c->wprev = NULL;
    c->wnext = c->srv->wake_head;
    if (c->wnext)
        c->wnext->wprev = c;
    c->srv->wake_head = c;
}

static void flush_wakes(struct http_server *srv)
{
    if (!srv->wake_head)
        return;
    CNT_ADD(srv->st.wake_batches, 1);
    struct http_conn *c;
    while ((c = srv->wake_head) != NULL) {
        wake_unlink(c);
        if (c->closing || c->lingering)
            continue;
        if (c->src_active && !c->src_waiting && c->out_bytes == 0)
            CNT_ADD(srv->st.direct_writes, 1);
        conn_run(c); /* pull, write, and arm POLLOUT only if bytes are left */
    }
}

static void on_wake_prepare(uv_prepare_t *h)
{
    srv_top++;
    flush_wakes(h->data); /* wakes from timers and idle handles, before the poll blocks */
    srv_top--;
    /* This loop's access lines go out in one write per iteration (core/log.h),
     * always before the loop sleeps. */
    log_batch_begin();
    log_batch_flush();
}

static void on_wake_check(uv_check_t *h)
{
    srv_top++;
    flush_wakes(h->data); /* wakes from this iteration's I/O callbacks */
    srv_top--;
    log_batch_flush(); /* applock_run sleeps outside uv_run, after this */
}

void http_server_get_stats(const struct http_server *srv, struct http_server_stats *st)
{
    memset(st, 0, sizeof(*st));
    unsigned nw = atomic_load_explicit(&srv->nworkers, memory_order_acquire);
    for (unsigned i = 0; i <= nw; i++) {
        const struct http_server *s = i ? srv->workers[i - 1] : srv;
        st->wakes += atomic_load_explicit(&s->st.wakes, memory_order_relaxed);
        st->wake_batches += atomic_load_explicit(&s->st.wake_batches, memory_order_relaxed);
        st->direct_writes += atomic_load_explicit(&s->st.direct_writes, memory_order_relaxed);
        st->poll_updates += atomic_load_explicit(&s->st.poll_updates, memory_order_relaxed);
        st->handoffs += atomic_load_explicit(&s->st.handoffs, memory_order_relaxed);
        st->shared_sendfile += atomic_load_explicit(&s->st.shared_sendfile, memory_order_relaxed);
        st->offloads += atomic_load_explicit(&s->st.offloads, memory_order_relaxed);
        st->answered_here += atomic_load_explicit(&s->st.answered_here, memory_order_relaxed);
        st->moved_home += atomic_load_explicit(&s->st.moved_home, memory_order_relaxed);
        st->offloaded += atomic_load_explicit(&s->st.offloaded, memory_order_relaxed);
        st->offloaded_heads += atomic_load_explicit(&s->st.offloaded_heads, memory_order_relaxed);
    }
}

static void build_head(struct http_conn *c, struct buf *h, int status, const char *extra,
                       long long clen, bool keep)
{
    /* No printf on the per-request path: pieces appended (a few % of a small answer). */
    buf_puts(h, "HTTP/1.1 ");
    buf_put_i64(h, status);
    buf_putc(h, ' ');
    buf_puts(h, http_status_reason(status));
    buf_puts(h, "\r\nDate: ");
    buf_puts(h, http_date(c->srv));
    buf_puts(h, "\r\nServer: xtreamd\r\n");
    if (extra)
        buf_puts(h, extra);
    if (clen >= 0) {
        buf_puts(h, "Content-Length: ");
        buf_put_i64(h, clen);
        buf_puts(h, "\r\n");
    }
    buf_puts(h, keep ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
}

/* Queues a server-generated error and stops reading requests; the connection
 * closes once it is sent. */
static void conn_error(struct http_conn *c, int status, const char *why)
{
    if (c->close_after || c->closing)
        return;
    struct buf h = BUF_INIT(4096);
    struct buf body = BUF_INIT(1024);
    buf_printf(&body, "%s: %s\n", http_status_reason(status), why);
    /* CORS here too: a web player must be able to read the server's own
     * refusals (408, 413, 503 ...) rather than see status 0. */
    build_head(c, &h, status,
               "Content-Type: text/plain; charset=utf-8\r\nAccess-Control-Allow-Origin: *\r\n",
               (long long)body.len, false);
    buf_append(&h, body.data, body.len);
    buf_free(&body);
    log_request(c, c->rm && c->rm->parsed ? &c->rm->req : NULL, NULL, status, 0);
    c->close_after = true;
    if (h.err) {
        buf_free(&h);
        conn_close(c);
        return;
    }
    if (queue_buf(c, &h))
        conn_close(c);
}

static void src_finish(struct http_conn *c, bool complete)
{
    if (!c->src_active)
        return;
    c->src_active = false;
    c->src_waiting = false;
    if (!complete || c->src_remaining != 0)
        c->close_after = true; /* framing by close, truncated or failed */
    if (c->src_log) {
        struct buf b = BUF_INIT(LOG_LINE_BUF);
        buf_puts(&b, c->src_log);
        log_finish(&b, c->src_bytes, now_ms(c->srv) - c->src_start,
                   c->src_log + strlen(c->src_log) + 1);
        free(c->src_log);
        c->src_log = NULL;
    }
    if (c->src.close)
        CONN_APP_CALL(c, c->src.close(c->src.ctx));
    memset(&c->src, 0, sizeof(c->src));
}

/* No new keep-alive: the server stops, or the accepting server it shares a listener
 * with does (a hand-over): its clients reconnect to whoever accepts now. */
static bool draining(const struct http_server *srv)
{
    return srv->stopping || (srv->link && srv->worker && atomic_load(&srv->accept_off));
}

static bool conn_idle(const struct http_conn *c)
{
    return c->served && !c->rm && !c->rbuf.len && !c->out_bytes && !c->src_active;
}

/* Turns the handler's response into queued bytes. */
static void conn_finish_response(struct http_conn *c, struct http_request *req)
{
    struct http_response *res = &c->res;
    if (c->closing)
        return; /* closed during dispatch: on_conn_closed() releases the response */
    int status = res->status;
    bool head = req->method == HTTP_HEAD;
    bool bodyless = status < 200 || status == 204 || status == 304;
    bool keep = req->keep_alive && !draining(c->srv) && !c->peer_eof;

    if (res->err || res->body.err || res->hdrs.err) {
        log_warn("http", "handler response failed (%d), answering 500",
                 res->err        ? res->err
                 : res->body.err ? res->body.err
                                 : res->hdrs.err);
        if (res->has_src && res->src.close)
            APP_CALL(res->src.close(res->src.ctx));
        res->has_src = false;
        res_reset(res);
        conn_error(c, 500, "the response could not be built");
        return;
    }

    /* Body = buf bytes, then refbuf pieces, then the source's bytes. */
    long long clen = (long long)res->body.len;
    for (size_t i = 0; i < res->nrb; i++)
        clen += (long long)res->rbs[i]->len;
    if (res->file_fd >= 0)
        clen += (long long)res->file_len;
    if (res->has_src) {
        if (res->src_len < 0) {
            clen = -1;
            if (!bodyless)
                keep = false;
        } else {
            clen += res->src_len;
        }
    }
    struct buf h = BUF_INIT(HTTP_MAX_HEADER_BYTES + 4096);
    build_head(c, &h, status, res->hdrs.data, bodyless ? -1 : clen, keep);
    if (h.err || queue_buf(c, &h)) {
        buf_free(&h);
        conn_close(c);
        return;
    }
    if (!keep)
        c->close_after = true;

    bool send_body = !head && !bodyless;
    unsigned long long logged = 0;
    if (send_body && res->body.len) {
        logged += res->body.len;
        if (queue_buf(c, &res->body)) {
            conn_close(c);
            return;
        }
    }
    for (size_t i = 0; i < res->nrb; i++) {
        struct refbuf *rb = res->rbs[i];
        res->rbs[i] = NULL;
        if (!send_body) {
            refbuf_unref(rb);
            continue;
        }
        logged += rb->len;
        if (queue_piece(c, NULL, rb, rb->data, rb->len)) {
            for (size_t j = i + 1; j < res->nrb; j++)
                refbuf_unref(res->rbs[j]);
            res->nrb = 0;
            conn_close(c);
            return;
        }
    }
    res->nrb = 0;
    if (res->file_fd >= 0) {
        int fd = res->file_fd;
        res->file_fd = -1;
        if (send_body) {
            logged += (unsigned long long)res->file_len;
            if (queue_file(c, fd, res->file_off, (size_t)res->file_len)) {
                conn_close(c);
                return;
            }
            if (res->file_len > 0 && c->out_tail && c->out_tail->fd == fd) {
                c->out_tail->done = res->file_done; /* now the piece's to call */
                c->out_tail->done_ctx = res->file_done_ctx;
                res->file_done = NULL;
            }
        } else {
            close(fd);
        }
    }

    if (res->has_src && send_body && res->src_len != 0) {
        c->src = res->src;
        c->src_active = true;
        c->src_waiting = false;
        c->src_remaining = res->src_len;
        c->src_bytes = 0;
        c->src_refs = false;
        c->src_start = c->req_start;
        c->soff = 0;
        buf_init(&c->sbuf, SBUF_MAX);
        res->has_src = false;
        if (c->srv->cfg.access_log) {
            struct buf b = BUF_INIT(16384);
            log_prefix(&b, c, req, res->log_target, status);
            const char *ua = http_request_header(req, "User-Agent");
            buf_putc(&b, '\0');
            buf_puts(&b, ua ? ua : "-");
            if (!b.err)
                c->src_log = buf_steal(&b, NULL);
            buf_free(&b);
        }
        /* TLS state is bound to this loop's connection: such a stream stays. */
        if (c->src.handoff && !c->tls)
            c->handoff_pending = true;
    } else {
        if (res->has_src && res->src.close)
            APP_CALL(res->src.close(res->src.ctx));
        res->has_src = false;
        log_request(c, req, res->log_target, status, logged);
    }
    res_reset(res);
}

/* ---- request handling -------------------------------------------------- */

static int conn_parse_head(struct http_conn *c, size_t hlen)
{
    size_t start = c->scan.start;
    size_t len = hlen - start;
    struct reqmem *rm = malloc(sizeof(*rm) + len + 1 + HTTP_HEAD_SCRATCH(len));
    if (!rm) {
        conn_close(c);
        return -ENOMEM;
    }
    memset(&rm->req, 0, sizeof(rm->req));
    rm->head_len = hlen;
    rm->continued = false;
    rm->parsed = false;
    memcpy(rm->data, c->rbuf.data + start, len);
    rm->data[len] = '\0';
    c->rm = rm;
    if (http_head_parse(rm->data, len, &rm->req, rm->hdrs, rm->data + len + 1, &rm->info)) {
        conn_error(c, rm->info.status, rm->info.error);
        return -EBADMSG;
    }
    rm->parsed = true;
    if (rm->info.content_length > HTTP_MAX_BODY) {
        conn_error(c, 413, "request body larger than 1 MiB");
        return -E2BIG;
    }
    memcpy(rm->req.client_ip, c->ip, sizeof(rm->req.client_ip));
    rm->req.client_port = c->port;
    rm->req.tls = c->tls != NULL;
    return 0;
}

/* https-redirect-admin: a plain request under the prefix is answered 308
 * with the same target on the TLS port (308 keeps the method and body). The
 * Host's name is kept when it is a plain host name or address; otherwise the
 * redirect names the address the client reached. */
static bool https_redirect(struct http_conn *c, const struct http_request *req)
{
    const char *pre = c->srv->redirect_prefix;
    if (!pre || c->tls || !c->srv->tport)
        return false;
    size_t pl = strlen(pre);
    if (strncmp(req->path, pre, pl) != 0 || (req->path[pl] && req->path[pl] != '/'))
        return false;
    char host[300] = "";
    const char *h = http_request_header(req, "Host");
    if (h && h[0] == '[') {
        size_t n = strcspn(h, "]");
        if (h[n] == ']' && n < 260)
            snprintf(host, sizeof(host), "%.*s", (int)n + 1, h);
    } else if (h) {
        size_t n = strcspn(h, ":");
        if (n && n < 256)
            snprintf(host, sizeof(host), "%.*s", (int)n, h);
    }
    for (const char *p = host; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]", *p)) {
            host[0] = '\0';
            break;
        }
    if (!host[0]) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char ip[46];
        uint16_t port;
        if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) != 0)
            return false;
        addr_to_text(&ss, ip, sizeof(ip), &port);
        snprintf(host, sizeof(host), strchr(ip, ':') ? "[%s]" : "%s", ip);
    }
    struct buf loc = BUF_INIT(HTTP_MAX_REQUEST_LINE + 512);
    /* path + query, not the target: an absolute-form target names a scheme */
    buf_printf(&loc, "https://%s:%d%s%s%s", host, c->srv->tport, req->path,
               req->query[0] ? "?" : "", req->query);
    if (loc.err) {
        buf_free(&loc);
        return false;
    }
    http_response_status(&c->res, 308);
    http_response_header(&c->res, "Location", loc.data);
    http_response_header(&c->res, "Content-Type", "text/plain; charset=utf-8");
    buf_printf(&c->res.body, "Permanent Redirect: the admin API is served over HTTPS: %s\n",
               loc.data);
    buf_free(&loc);
    return true;
}

static bool conn_move_home(struct http_conn *c);

/* A request on a worker's connection: answered here under the application lock when
 * the route allows it (route_here), else the connection moves to the accepting loop
 * (a 503 when it cannot). */
static void worker_dispatch(struct http_conn *c, struct http_request *req, size_t need)
{
    struct http_server *srv = c->srv;
    applock_enter();
    bool here = false;
    if (srv->cfg.route_here)
        APP_CALL(here = srv->cfg.route_here(req, srv->cfg.handler_ud));
    if (here) {
        c->app = true;
        c->in_dispatch = true;
        APP_CALL(srv->cfg.handler(req, &c->res, srv->cfg.handler_ud));
        c->in_dispatch = false;
        CNT_ADD(srv->st.answered_here, 1);
        if (c->res.deferred)
            c->defer_need = need;
        else
            conn_complete_request(c, need);
    }
    applock_leave();
    if (here || conn_move_home(c))
        return;
    http_response_header(&c->res, "Retry-After", "1");
    http_response_text(&c->res, 503, "text/plain; charset=utf-8",
                       "Service Unavailable: the server is stopping or out of memory\n");
    req->keep_alive = false;
    conn_complete_request(c, need);
}

static void conn_dispatch(struct http_conn *c, size_t need)
{
    struct reqmem *rm = c->rm;
    struct http_request *req = &rm->req;
    size_t blen = rm->info.content_length > 0 ? (size_t)rm->info.content_length : 0;
    char *body = malloc(blen + 1);
    if (!body) {
        conn_close(c);
        return;
    }
    memcpy(body, c->rbuf.data + rm->head_len, blen);
    body[blen] = '\0';
    req->body = body;
    req->body_len = blen;

    const char *why = "invalid parameters";
    int rc = http_request_parse_params(req, &why);
    if (rc) {
        http_params_free(&req->params);
        free(body);
        req->body = NULL; /* the request stays in c->rm until it is freed */
        conn_error(c, rc == -ENOMEM ? 500 : 400, rc == -ENOMEM ? "out of memory" : why);
        return;
    }
    c->served = true;
    if (c->srv->worker) {
        worker_dispatch(c, req, need);
        return;
    }
    c->in_dispatch = true;
    if (!https_redirect(c, req))
        APP_CALL(c->srv->cfg.handler(req, &c->res, c->srv->cfg.handler_ud));
    c->in_dispatch = false;
    if (c->res.deferred) {
        c->defer_need = need;
        return;
    }
    conn_complete_request(c, need);
}

static void request_free(struct http_conn *c)
{
    if (!c->rm)
        return;
    http_params_free(&c->rm->req.params);
    free((char *)c->rm->req.body);
    free(c->rm);
    c->rm = NULL;
}

/* Sends the handler's response and makes room for the next request. */
static void conn_complete_request(struct http_conn *c, size_t need)
{
    c->in_dispatch = true; /* the request stays valid while it is answered */
    conn_finish_response(c, &c->rm->req);
    c->in_dispatch = false;
    request_free(c);
    if (c->closing)
        return;
    buf_consume(&c->rbuf, need);
    http_head_scan_init(&c->scan);
    if (c->rbuf.len)
        c->req_start = now_ms(c->srv);
    else
        buf_free(&c->rbuf);
}

static void conn_process(struct http_conn *c)
{
    while (!c->closing && !c->close_after && !c->src_active && !c->res.deferred &&
           c->out_bytes < PIPELINE_OUT_MAX) {
        if (!c->rm) {
            if (c->rbuf.len == 0)
                return;
            size_t hlen;
            int rc = http_head_scan(&c->scan, c->rbuf.data, c->rbuf.len, &hlen);
            if (rc == -EAGAIN)
                return;
            if (rc) {
                conn_error(c, c->scan.status, c->scan.error);
                return;
            }
            if (conn_parse_head(c, hlen))
                return;
        }
        struct reqmem *rm = c->rm;
        size_t need =
            rm->head_len + (rm->info.content_length > 0 ? (size_t)rm->info.content_length : 0);
        if (c->rbuf.len < need) {
            if (rm->info.expect_continue && !rm->continued) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                rm->continued = true;
                if (queue_piece(c, NULL, NULL, cont, sizeof(cont) - 1))
                    conn_close(c);
            }
            return;
        }
        conn_dispatch(c, need);
    }
}

/* ---- I/O --------------------------------------------------------------- */

/* Loop 0 with srv_top > 0: the application lock goes for the length of a socket call.
 * True when it did (io_relock takes it back). */
static bool io_unlock(const struct http_server *srv)
{
    if (srv_top <= 0 || srv->worker || !applock_held())
        return false;
    applock_leave();
    return true;
}

static void io_relock(bool unlocked)
{
    if (unlocked)
        applock_enter();
}

/* The transport: plain socket calls, or the connection's TLS session. Each
 * returns a byte count or a negative errno (-EAGAIN: wait for the socket). */
static ssize_t conn_recv(struct http_conn *c, void *p, size_t len)
{
    bool u = io_unlock(c->srv);
    ssize_t n = c->tls ? tls_conn_read(c->tls, p, len) : recv(c->fd, p, len, 0);
    if (!c->tls && n < 0)
        n = errno == EINTR ? -EAGAIN : -errno;
    io_relock(u);
    return n;
}

static ssize_t sock_writev(struct http_conn *c, struct iovec *iov, int n)
{
    if (c->tls)
        return tls_conn_writev(c->tls, iov, n);
    struct msghdr msg = {0};
    msg.msg_iov = iov;
    msg.msg_iovlen = (size_t)n;
    ssize_t w;
    do
        w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    return w < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : -errno) : w;
}

static ssize_t conn_writev(struct http_conn *c, struct iovec *iov, int n)
{
    bool u = io_unlock(c->srv);
    ssize_t w = sock_writev(c, iov, n);
    io_relock(u);
    return w;
}

static ssize_t sock_sendfile(struct http_conn *c, int fd, off_t *off, size_t want)
{
    if (c->tls)
        return tls_conn_sendfile(c->tls, fd, off, want);
    ssize_t w;
    do
        w = sendfile(c->fd, fd, off, want);
    while (w < 0 && errno == EINTR);
    return w < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : -errno) : w;
}

static ssize_t conn_sendfile(struct http_conn *c, int fd, off_t *off, size_t want)
{
    bool u = io_unlock(c->srv);
    ssize_t w = sock_sendfile(c, fd, off, want);
    io_relock(u);
    return w;
}

/* Returns true when bytes were consumed or EOF was seen. */
static bool conn_read(struct http_conn *c)
{
    struct http_server *srv = c->srv;
    if (c->lingering) {
        ssize_t n = recv(c->fd, srv->scratch, sizeof(srv->scratch), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            conn_close(c);
        return true;
    }
    if (c->close_after || c->peer_eof || c->rbuf.len >= RBUF_MAX)
        return false; /* not reading requests now */
    size_t room = RBUF_MAX - c->rbuf.len;
    if (room > sizeof(srv->scratch))
        room = sizeof(srv->scratch);
    ssize_t n = conn_recv(c, srv->scratch, room);
    if (n > 0) {
        if (c->rbuf.len == 0 && !c->rm)
            c->req_start = now_ms(srv);
        if (buf_append(&c->rbuf, srv->scratch, (size_t)n))
            conn_close(c);
        return true;
    }
    if (n == 0) {
        c->peer_eof = true;
        return true;
    }
    if (n != -EAGAIN)
        conn_close(c);
    return false;
}

static void consume_written(struct http_conn *c, size_t n)
{
    c->bytes_out += n;
    CNT_ADD(c->srv->bytes_out, n);
    c->out_bytes -= n;
    while (n && c->out_head) {
        struct piece *pc = c->out_head;
        size_t k = n < pc->len ? n : pc->len;
        pc->p += k;
        pc->len -= k;
        n -= k;
        if (pc->len == 0) {
            c->out_head = pc->next;
            if (!c->out_head)
                c->out_tail = NULL;
            piece_free(pc);
        }
    }
    if (n) {
        c->soff += n;
        if (c->soff >= c->sbuf.len) {
            c->soff = 0;
            buf_reset(&c->sbuf);
        }
    }
}

/* The bytes a body source may have queued: STREAM_REF_BUDGET for a source of slices. */
static size_t src_budget(const struct http_conn *c)
{
    return c->src_refs ? STREAM_REF_BUDGET : STREAM_BUDGET;
}

/* Pulls from the body source while fewer than src_budget() bytes are queued. */
static int conn_pull(struct http_conn *c)
{
    for (int rounds = 0; c->src_active && !c->src_waiting && c->out_bytes < src_budget(c);
         rounds++) {
        if (rounds == 16)
            return 0; /* fairness: the next writable event continues */
        size_t before = c->sbuf.len;
        c->in_pull = true;
        c->src_woken = false;
        c->src_ref_bytes = 0;
        int rc;
        CONN_APP_CALL(c, rc = c->src.pull(c->src.ctx, &c->sbuf, src_budget(c) - c->out_bytes));
        c->in_pull = false;
        if (c->closing)
            return -ECANCELED;
        size_t added = c->sbuf.len > before ? c->sbuf.len - before : 0;
        if (c->src_ref_bytes) {
            c->src_refs = true;
            /* A source queues refbuf slices or appends bytes, never both. */
            if (added) {
                log_warn("http", "body source mixed bytes and slices, closing %s:%u", c->ip,
                         c->port);
                src_finish(c, false);
                conn_close(c);
                return -EPROTO;
            }
            if (c->src_remaining == 0 && rc >= -EAGAIN) {
                src_finish(c, true);
                return 0;
            }
            if (rc == 1 || rc == -EAGAIN) {
                if (rc == -EAGAIN && !c->src_woken)
                    c->src_waiting = true;
                if (c->src_waiting)
                    return 0;
                continue;
            }
        }
        bool full = false;
        if (c->src_remaining >= 0 && (long long)added >= c->src_remaining) {
            if ((long long)added > c->src_remaining) {
                log_warn("http", "body source produced more than its Content-Length");
                added = (size_t)c->src_remaining;
                c->sbuf.len = before + added;
                c->sbuf.data[c->sbuf.len] = '\0';
            }
            full = true;
        }
        if (c->src_remaining >= 0)
            c->src_remaining -= (long long)added;
        c->src_bytes += added;
        if (c->out_bytes == 0 && added)
            c->last_write = now_ms(c->srv);
        c->out_bytes += added;
        if (full && rc >= -EAGAIN) {
            src_finish(c, true);
            return 0;
        }
        if (rc == 1) {
            if (added == 0)
                return 0; /* nothing now but "more": retry on the next writable */
            continue;
        }
        if (rc == 0) {
            src_finish(c, true);
            return 0;
        }
        if (rc == -EAGAIN) {
            if (!c->src_woken)
                c->src_waiting = true;
            if (c->src_waiting)
                return 0;
            continue;
        }
        log_warn("http", "body source failed (%d), closing %s:%u", rc, c->ip, c->port);
        src_finish(c, false);
        conn_close(c);
        return rc;
    }
    return 0;
}

/* n bytes of the head piece pc went out with sendfile, from this loop or another
 * (on_offload_back): the piece, the connection and the counters advance; a finished piece
 * is freed (its done callback runs). */
static void piece_sent(struct http_conn *c, struct piece *pc, size_t n)
{
    pc->len -= n;
    if (pc->p)
        pc->p += n; /* a memfd slice may finish from its refbuf */
    if (pc->mf) {
        atomic_fetch_add_explicit(&pc->mf->sent, (unsigned long)n, memory_order_relaxed);
        if (pc->rb && pc->rb->mf == pc->mf)
            CNT_ADD(c->srv->st.shared_sendfile, n);
    }
    c->out_bytes -= n;
    c->bytes_out += n;
    CNT_ADD(c->srv->bytes_out, n);
    c->last_write = now_ms(c->srv);
    if (pc->len == 0) {
        c->out_head = pc->next;
        if (!c->out_head)
            c->out_tail = NULL;
        piece_free(pc);
    }
}

/* A body's sendfile failed (err: -errno, or -ENODATA when the file ended early): logged,
 * and the connection closes (the client sees a short body, never a hang). */
static void send_failed(struct http_conn *c, int err)
{
    if (err == -ENODATA)
        log_warn("http", "file ended early while sending to %s:%u; closing", c->ip, c->port);
    else
        log_warn("http", "sendfile to %s:%u failed: %s", c->ip, c->port, strerror(-err));
    conn_close(c);
}

/* The bytes one sendfile may take from the head piece: a live viewer's queue holds one
 * slice per chunk, and consecutive chunks lie end to end in the ring's memfd, so a batch of
 * them goes out in one call rather than one per chunk (a later slice's bytes are no older
 * than the head's, so the head's memfd_slice_ok covers them). */
static size_t memfd_span(const struct http_conn *c, const struct piece *pc, size_t budget)
{
    size_t span = pc->len;
    if (!pc->mf || c->tls)
        return span;
    off_t end = pc->foff + (off_t)pc->len;
    for (const struct piece *q = pc->next; q && span < budget; q = q->next) {
        if (q->mf != pc->mf || q->fd >= 0 || q->foff != end || q->done)
            break;
        span += q->len;
        end += (off_t)q->len;
    }
    return span;
}

/* Sends from the file piece at the head of the queue with sendfile. Returns 1
 * when the piece is done and more may follow, 0 when the socket is full or the
 * budget spent, -1 when the connection was closed (error, or the file shrank
 * under us: the response cannot be completed, so it ends by close). */
static int flush_file(struct http_conn *c, size_t *budget)
{
    struct piece *pc = c->out_head;
    size_t span = memfd_span(c, pc, *budget);
    size_t want = span < *budget ? span : *budget;
    off_t off = pc->foff;
    ssize_t w = conn_sendfile(c, pc->mf ? pc->mf->fd : pc->fd, &off, want);
    if (w == -EAGAIN)
        return 0;
    if (w <= 0) {
        send_failed(c, w == 0 ? -ENODATA : (int)w);
        return -1;
    }
    for (size_t left = (size_t)w; left;) { /* the span's pieces, in order */
        struct piece *head = c->out_head;
        size_t n = left < head->len ? left : head->len;
        head->foff += (off_t)n;
        left -= n;
        piece_sent(c, head, n);
    }
    *budget -= (size_t)w < *budget ? (size_t)w : *budget;
    if (c->tls) /* one slice per call: go round until -EAGAIN or the budget */
        return *budget ? 1 : 0;
    return (size_t)w == want && *budget ? 1 : 0;
}

/* Whether a memfd slice's bytes are still in the memfd (see core/fdref.h);
 * counted when not, and the slice goes out by copy from its refbuf. */
static bool memfd_slice_ok(struct piece *pc)
{
    if ((uint64_t)pc->foff >= atomic_load_explicit(&pc->mf->gone, memory_order_acquire))
        return true;
    atomic_fetch_add_explicit(&pc->mf->copy_fallbacks, 1, memory_order_relaxed);
    return false;
}

/* Whether the head piece is a body another loop may send with sendfile: a file range, or a
 * large shared body's memfd (a cached list: immutable, never punched; a live ring's memfd
 * slices are small and their bytes may be punched, so they stay). */
static bool offloadable(const struct piece *pc)
{
    return pc->fd >= 0 || (pc->mf && pc->rb && pc->rb->mf == pc->mf);
}

/* A plain-TCP body (the piece body) of OFFLOAD_MIN or more goes to the next loop in turn
 * (this one included, so that each loop writes its share), with the buffer pieces queued
 * before it (the response head, body_after_head: at most OFFLOAD_HEAD_MAX bytes): true when
 * another loop writes them now. Either way the body is placed: it is decided once. */
static bool offload_body(struct http_conn *c, struct piece *body)
{
    struct http_server *srv = c->srv;
    body->placed = true;
    if (c->tls || !srv->home || srv->stopping || body->len < OFFLOAD_MIN)
        return false;
    unsigned nw = atomic_load_explicit(&srv->nworkers, memory_order_acquire);
    unsigned slot = nw ? srv->offload_rr++ % (nw + 1) : 0;
    struct offload_writer *w = slot ? srv->workers[slot - 1]->writer : NULL;
    if (!w)
        return false;
    struct offload_job *j = malloc(sizeof(*j));
    if (!j)
        return false;
    memset(j, 0, offsetof(struct offload_job, head));
    if ((j->sock = fcntl(c->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        free(j);
        return false;
    }
    for (struct piece *pc = c->out_head; pc != body; pc = pc->next) {
        memcpy(j->head + j->head_len, pc->p, pc->len);
        j->head_len += pc->len;
    }
    j->home = srv->home;
    j->owner = c;
    j->file_fd = body->fd >= 0 ? body->fd : body->mf->fd; /* the piece keeps either open */
    j->foff = body->foff;
    j->len = body->len;
    atomic_store_explicit(&j->progress_ms, now_ms(srv), memory_order_relaxed);
    c->offload = j;
    CNT_ADD(srv->st.offloads, 1);
    offload_submit(w, j);
    return true;
}

/* The body that may be offloaded together with the buffer pieces queued before it (the
 * response head), or NULL: an unplaced offloadable piece after at most OFFLOAD_HEAD_MAX
 * bytes of buffer pieces, with no streamed bytes waiting. */
static struct piece *body_after_head(const struct http_conn *c)
{
    size_t n = 0;
    struct piece *pc = c->out_head;
    for (; pc && pc->fd < 0 && !pc->mf; pc = pc->next)
        if ((n += pc->len) > OFFLOAD_HEAD_MAX)
            return NULL;
    if (!pc || pc->placed || !offloadable(pc) || c->sbuf.len > c->soff)
        return NULL;
    return pc;
}

/* A job is back from its writer (offload_home's callback, on this loop). */
static void on_offload_back(void *ctx, struct offload_job *j)
{
    struct http_server *srv = ctx;
    struct http_conn *c = j->owner;
    int err = j->err;
    c->offload = NULL;
    /* nothing touched the queue meanwhile: the head's pieces, then the job's body */
    if (j->head_sent)
        consume_written(c, j->head_sent);
    if (j->head_sent == j->head_len) {
        struct piece *pc = c->out_head;
        if (j->head_len)
            CNT_ADD(srv->st.offloaded_heads, 1);
        pc->foff = j->foff;
        CNT_ADD(srv->st.offloaded, j->sent);
        if (j->sent)
            piece_sent(c, pc, j->sent); /* pc is freed if the writer sent all of it */
    }
    free(j);
    if (c->free_when_back) {
        conn_free(c); /* closed while the job was out */
        return;
    }
    if (c->closing)
        return; /* its close callback, still to come, frees it */
    if (err == -EPIPE || err == -ECONNRESET) {
        conn_close(c); /* the client went away */
        return;
    }
    if (err && err != -ECANCELED) {
        send_failed(c, err); /* logged as when this loop sends (a file that ended early) */
        return;
    }
    /* -ECANCELED: the writer stopped; this loop writes the rest */
    conn_run(c);
}

static int conn_flush(struct http_conn *c)
{
    size_t budget = WRITE_CAP;
    for (;;) {
        if (c->offload)
            return 0; /* another loop writes the body; it comes back with the connection */
        if (conn_pull(c))
            return -1;
        if (c->out_bytes == 0 || budget == 0)
            return 0;
        if (c->out_head && c->out_head->mf && !memfd_slice_ok(c->out_head)) {
            fdref_unref(c->out_head->mf); /* its bytes left the memfd: send the refbuf's */
            c->out_head->mf = NULL;
        }
        struct piece *body = body_after_head(c);
        if (body && offload_body(c, body))
            return 0; /* conn_run's conn_update then arms no POLLOUT while it is out */
        if (c->out_head && (c->out_head->fd >= 0 || c->out_head->mf)) {
            int rc = flush_file(c, &budget);
            if (rc <= 0)
                return rc;
            continue;
        }
        struct iovec iov[MAX_IOV];
        int n = 0;
        size_t total = 0;
        for (struct piece *pc = c->out_head;
             pc && pc->fd < 0 && !pc->mf && n < MAX_IOV && total < budget; pc = pc->next) {
            iov[n].iov_base = (void *)pc->p;
            iov[n].iov_len = pc->len;
            total += pc->len;
            n++;
        }
        bool before_file = false;
        for (struct piece *pc = c->out_head; pc; pc = pc->next)
            if (pc->fd >= 0 || pc->mf)
                before_file = true;
        if (!before_file && n < MAX_IOV && total < budget && c->sbuf.len > c->soff) {
            iov[n].iov_base = c->sbuf.data + c->soff;
            iov[n].iov_len = c->sbuf.len - c->soff;
            total += iov[n].iov_len;
            n++;
        }
        if (total > budget) {
            iov[n - 1].iov_len -= total - budget;
            total = budget;
        }
        ssize_t w = conn_writev(c, iov, n);
        if (w < 0) {
            if (w == -EAGAIN)
                return 0;
            conn_close(c); /* EPIPE, ECONNRESET, a TLS error: the client is gone */
            return -1;
        }
        consume_written(c, (size_t)w);
        /* TLS may report a pending slice done that is longer than this
         * round's iovecs (they were cut at the budget). */
        budget -= (size_t)w < budget ? (size_t)w : budget;
        c->last_write = now_ms(c->srv);
        if ((size_t)w < total && !c->tls)
            return 0; /* socket full (TLS takes one slice per call: go round) */
    }
}

/* All output is sent and the connection must close: half-close and drain what
 * the client still sends, so that close() does not turn into a RST that could
 * destroy the response before the client has read it. */
static void conn_start_linger(struct http_conn *c)
{
    buf_free(&c->rbuf);
    buf_free(&c->sbuf);
    request_free(c);
    if (c->tls)
        tls_conn_shutdown(c->tls); /* close_notify: ends a close-delimited body cleanly */
    if (c->peer_eof || c->srv->stopping) {
        for (int i = 0; i < 64; i++)
            if (recv(c->fd, c->srv->scratch, sizeof(c->srv->scratch), 0) <= 0)
                break;
        conn_close(c);
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->lingering = true;
    conn_set_timer(c, T_LINGER, now_ms(c->srv) + LINGER_MS);
    conn_update(c);
}

static void conn_run(struct http_conn *c)
{
    for (int round = 0; round < 8 && !c->closing; round++) {
        conn_process(c);
        if (c->closing)
            return;
        if (c->handoff_pending && conn_handoff(c))
            return; /* moved to another loop */
        if (conn_flush(c))
            return;
        if (c->out_bytes || c->src_active)
            break;
        /* Everything queued is sent. */
        if (c->sbuf.data)
            buf_free(&c->sbuf);
        if (c->close_after) {
            conn_start_linger(c);
            return;
        }
        if (c->rm || c->rbuf.len) {
            if (!c->rm && c->scan.pos < c->rbuf.len)
                continue; /* more pipelined requests */
            if (c->peer_eof) {
                conn_close(c); /* a partial request that can never complete */
                return;
            }
            break;
        }
        /* Idle. */
        c->idle_since = now_ms(c->srv);
        if (c->tls)
            tls_conn_idle(c->tls);
        if (c->peer_eof || c->srv->stopping) {
            conn_close(c);
            return;
        }
        break;
    }
    if (!c->closing)
        conn_update(c);
}

/* Frees a hand-off that no loop adopted: the stream ends as if its client
 * had gone (the source is closed on the calling thread). */
static void handoff_discard(struct http_handoff *h)
{
    struct piece *pc = h->out_head;
    while (pc) {
        struct piece *n = pc->next;
        piece_free(pc);
        pc = n;
    }
    if (h->fd >= 0)
        close(h->fd);
    free(h->src_log);
    free(h->in);
    if (h->src.close)
        h->src.close(h->src.ctx);
    free(h);
}

/* What every move of a connection carries: its socket, peer, queued output and byte
 * count (the caller empties the connection's queue once the move is certain). */
static void handoff_fill(struct http_handoff *h, const struct http_conn *c)
{
    h->fd = c->fd;
    memcpy(h->ip, c->ip, sizeof(h->ip));
    h->port = c->port;
    h->out_head = c->out_head;
    h->out_tail = c->out_tail;
    h->out_bytes = c->out_bytes;
    h->bytes_out = c->bytes_out;
}

static int link_new(struct http_server *home)
{
    struct home_link *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    int rc = pthread_mutex_init(&l->mu, NULL);
    if (rc) {
        free(l);
        return -rc;
    }
    l->home = home;
    atomic_init(&l->refs, 1);
    home->link = l;
    return 0;
}

static void link_unref(struct home_link *l)
{
    if (l && atomic_fetch_sub(&l->refs, 1) == 1) {
        pthread_mutex_destroy(&l->mu);
        free(l);
    }
}

/* Moves a worker's connection, with its queued output and every unanswered byte it
 * sent (the current request first), to the accepting loop, which parses the request
 * again and keeps the connection. False when that loop no longer takes any. */
static bool conn_move_home(struct http_conn *c)
{
    struct home_link *l = c->srv->link;
    struct http_handoff *h = l ? calloc(1, sizeof(*h)) : NULL;
    if (!h)
        return false;
    h->fresh = true;
    h->in_len = c->rbuf.len;
    if (h->in_len && !(h->in = malloc(h->in_len))) {
        free(h);
        return false;
    }
    if (h->in_len)
        memcpy(h->in, c->rbuf.data, h->in_len);
    handoff_fill(h, c);
    /* Under the link's lock the accepting server cannot be freed; the socket leaves this
     * loop's epoll set (conn_close) before that loop may register it. */
    pthread_mutex_lock(&l->mu);
    struct http_server *home = l->home;
    if (home) {
        c->out_head = c->out_tail = NULL;
        c->out_bytes = 0;
        c->fd_moved = true;
        request_free(c);
        CNT_ADD(c->srv->st.moved_home, 1);
        conn_close(c);
        http_server_adopt(home, h);
    }
    pthread_mutex_unlock(&l->mu);
    if (!home) {
        free(h->in);
        free(h);
    }
    return home != NULL;
}

/* Moves a stream whose head is queued to the loop its source chose: the
 * socket leaves this loop's epoll set now (uv_close stops the poll handle
 * synchronously) and the destination registers it in its own. True when the
 * connection is gone from this loop. */
static bool conn_handoff(struct http_conn *c)
{
    c->handoff_pending = false;
    if (!c->src_active || c->closing)
        return false;
    struct http_handoff *h = calloc(1, sizeof(*h));
    if (!h)
        return false; /* asked before the source is: it stays on this loop */
    struct http_server *dst;
    APP_CALL(dst = c->src.handoff(c->src.ctx));
    if (!dst || dst == c->srv) {
        free(h);
        return false;
    }
    handoff_fill(h, c);
    h->src = c->src;
    h->src_remaining = c->src_remaining;
    h->src_bytes = c->src_bytes;
    h->src_ref_bytes = c->src_ref_bytes;
    h->src_refs = c->src_refs;
    h->src_start = c->src_start;
    h->src_log = c->src_log;
    c->out_head = c->out_tail = NULL;
    c->out_bytes = 0;
    c->src_active = c->src_waiting = false;
    memset(&c->src, 0, sizeof(c->src));
    c->src_log = NULL;
    c->fd_moved = true;
    CNT_ADD(c->srv->st.handoffs, 1);
    conn_close(c);
    http_server_adopt(dst, h);
    return true;
}

void http_server_adopt(struct http_server *dst, struct http_handoff *h)
{
    pthread_mutex_lock(&dst->adopt_lock);
    h->next = dst->adopt_head;
    dst->adopt_head = h;
    pthread_mutex_unlock(&dst->adopt_lock);
    uv_async_send(&dst->adopt_async);
}

/* Adds a new connection (accepted, or moved here) to the server's list and count. */
static void conn_link(struct http_server *srv, struct http_conn *c)
{
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    __atomic_fetch_add(&srv->nconns, 1, __ATOMIC_RELAXED);
}

/* A worker's connection with a request it does not answer (conn_move_home): parsed and
 * answered here like one accepted here. */
static void conn_adopt_request(struct http_server *srv, struct http_conn *c, struct http_handoff *h)
{
    c->served = true;
    if (h->in_len && buf_append(&c->rbuf, h->in, h->in_len) != 0) {
        c->out_head = c->out_tail = NULL; /* still h's: discarded with it */
        c->out_bytes = 0;
        h->fd = -1; /* the connection's now: closed with it, after its poll handle */
        handoff_discard(h);
        conn_link(srv, c);
        conn_close(c);
        return;
    }
    free(h->in);
    free(h);
    c->req_start = now_ms(srv);
    conn_link(srv, c);
    conn_run(c);
}

static void conn_adopt(struct http_server *srv, struct http_handoff *h)
{
    /* A stopping server still answers a moved request (with Connection: close), as it
     * does one that arrived on its own connection before the stop. */
    bool take = h->fresh ? !srv->finishing : !srv->stopping;
    struct http_conn *c = take ? calloc(1, sizeof(*c)) : NULL;
    if (!c || uv_poll_init(srv->loop, &c->poll, h->fd) != 0) {
        free(c);
        handoff_discard(h);
        return;
    }
    c->poll.data = c;
    c->srv = srv;
    c->fd = h->fd;
    c->res.conn = c;
    c->res.file_fd = -1;
    res_reset(&c->res);
    buf_init(&c->rbuf, RBUF_MAX);
    http_head_scan_init(&c->scan);
    memcpy(c->ip, h->ip, sizeof(c->ip));
    c->port = h->port;
    c->idle_since = c->last_write = now_ms(srv);
    c->out_head = h->out_head;
    c->out_tail = h->out_tail;
    c->out_bytes = h->out_bytes;
    c->bytes_out = h->bytes_out;
    if (h->fresh) {
        conn_adopt_request(srv, c, h);
        return;
    }
    c->served = c->close_after = true; /* a close-delimited stream: no further request */
    c->src = h->src;
    c->src_active = true;
    c->src_remaining = h->src_remaining;
    c->src_bytes = h->src_bytes;
    c->src_ref_bytes = h->src_ref_bytes;
    c->src_refs = h->src_refs;
    c->src_start = h->src_start;
    c->src_log = h->src_log;
    buf_init(&c->sbuf, SBUF_MAX);
    free(h);
    conn_link(srv, c);
    if (c->src.moved)
        APP_CALL(c->src.moved(c->src.ctx, c));
    conn_run(c);
}

static void on_accept(uv_poll_t *h, int status, int events);
static void on_listener_closed(uv_handle_t *h);
static void apply_timeouts(struct http_server *srv, unsigned header_ms, unsigned idle_ms);

/* A worker's share of the accepting server's listener: taken when add_worker passed
 * one, given up when that server stops accepting (accept_off). */
static void worker_listener(struct http_server *srv)
{
    if (!srv->worker)
        return;
    bool off = atomic_load(&srv->accept_off) || srv->stopping;
    int fd = off ? atomic_exchange(&srv->accept_fd, -1) : -1;
    if (fd >= 0)
        close(fd); /* never polled */
    if (off) {
        if (srv->listening && !uv_is_closing((uv_handle_t *)&srv->lpoll)) {
            uv_close((uv_handle_t *)&srv->lpoll, on_listener_closed);
            /* its idle keep-alive connections go too; busy ones close after their answer */
            for (struct http_conn *c = srv->conns, *n; c; c = n) {
                n = c->next;
                if (c->app && conn_idle(c))
                    conn_close(c);
            }
        }
        return;
    }
    if (srv->listening || (fd = atomic_exchange(&srv->accept_fd, -1)) < 0)
        return;
    if (uv_poll_init(srv->loop, &srv->lpoll, fd) != 0) {
        close(fd);
        return;
    }
    srv->lfd = fd;
    srv->lpoll.data = srv;
    uv_poll_start(&srv->lpoll, UV_READABLE, on_accept);
    srv->nlisteners = 1;
    srv->listening = true;
}

void http_response_post(struct http_response *res, struct http_post *p,
                        void (*fn)(struct http_post *p))
{
    struct http_server *srv = res->conn->srv;
    p->fn = fn;
    pthread_mutex_lock(&srv->adopt_lock);
    p->next = srv->post_head;
    srv->post_head = p;
    pthread_mutex_unlock(&srv->adopt_lock);
    uv_async_send(&srv->adopt_async);
}

/* Posted calls, oldest first. Also from maybe_finish_stop: one posted while a
 * connection was open runs before the server can be freed. */
static void run_posts(struct http_server *srv)
{
    pthread_mutex_lock(&srv->adopt_lock);
    struct http_post *p = srv->post_head, *rev = NULL;
    srv->post_head = NULL;
    pthread_mutex_unlock(&srv->adopt_lock);
    while (p) {
        struct http_post *n = p->next;
        p->next = rev;
        rev = p;
        p = n;
    }
    while (rev) {
        struct http_post *n = rev->next;
        rev->fn(rev);
        rev = n;
    }
}

static void on_adopt(uv_async_t *a)
{
    struct http_server *srv = a->data;
    apply_timeouts(srv, atomic_exchange(&srv->new_header_ms, 0),
                   atomic_exchange(&srv->new_idle_ms, 0));
    worker_listener(srv);
    run_posts(srv);
    pthread_mutex_lock(&srv->adopt_lock);
    struct http_handoff *h = srv->adopt_head;
    srv->adopt_head = NULL;
    pthread_mutex_unlock(&srv->adopt_lock);
    while (h) {
        struct http_handoff *n = h->next;
        conn_adopt(srv, h);
        h = n;
    }
}

static unsigned fault_poll_start; /* http_server_fault_poll_start() */

void http_server_fault_poll_start(unsigned n)
{
    fault_poll_start = n;
}

static int poll_start(uv_poll_t *p, int ev)
{
    if (fault_poll_start) {
        fault_poll_start--;
        return UV_ENOMEM;
    }
    return uv_poll_start(p, ev, on_conn_io);
}

static void conn_update(struct http_conn *c)
{
    struct http_server *srv = c->srv;
    if (c->closing)
        return;
    int ev = 0;
    bool busy = c->rm || c->rbuf.len;
    if (c->lingering) {
        ev = UV_READABLE;
    } else if (c->tls && !tls_conn_ready(c->tls)) {
        ev = UV_DISCONNECT | (tls_conn_wants(c->tls) == TLS_WANT_WRITE ? UV_WRITABLE : UV_READABLE);
    } else {
        if (!c->peer_eof) {
            ev |= UV_DISCONNECT;
            if (!c->close_after && c->rbuf.len < RBUF_MAX)
                ev |= UV_READABLE; /* after an error only hang-ups matter */
        }
        bool can_dispatch =
            busy && !c->close_after && !c->src_active && c->out_bytes < PIPELINE_OUT_MAX && !c->rm;
        if (!c->offload && (c->out_bytes || (c->src_active && !c->src_waiting) ||
                            (can_dispatch && c->scan.pos < c->rbuf.len)))
            ev |= UV_WRITABLE;
        /* Bytes OpenSSL already decrypted bring no socket event, and a read
         * that must first write waits for writability: wake on POLLOUT. */
        if (c->tls && (ev & UV_READABLE) &&
            (tls_conn_pending(c->tls) || tls_conn_read_wants_write(c->tls)))
            ev |= UV_WRITABLE;
    }
    if (ev != c->events) {
        CNT_ADD(srv->st.poll_updates, 1);
        if (ev == 0)
            uv_poll_stop(&c->poll);
        else if (poll_start(&c->poll, ev) != 0) {
            conn_close(c);
            return;
        }
        c->events = ev;
    }
    /* Deadline */
    if (c->lingering)
        return;
    if (c->out_bytes)
        conn_set_timer(c, T_WRITE, c->last_write + srv->tmo[T_WRITE]);
    else if (c->src_active || c->res.deferred)
        conn_set_timer(c, T_NONE, 0); /* the source or the deferring handler owns timing */
    else if (busy) {
        /* A pipelined request that waited behind a slow response gets its own
         * full header timeout from now. */
        if (c->tclass == T_WRITE)
            c->req_start = now_ms(srv);
        conn_set_timer(c, T_HEADER, c->req_start + srv->tmo[T_HEADER]);
    } else if (!c->served)
        conn_set_timer(c, T_HEADER, c->idle_since + srv->tmo[T_HEADER]);
    else
        conn_set_timer(c, T_IDLE, c->idle_since + srv->tmo[T_IDLE]);
}

static void conn_io(uv_poll_t *h, int status, int events);

static void on_conn_io(uv_poll_t *h, int status, int events)
{
    srv_top++;
    conn_io(h, status, events);
    srv_top--;
}

static void conn_io(uv_poll_t *h, int status, int events)
{
    struct http_conn *c = h->data;
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->tls && !tls_conn_ready(c->tls)) {
        int rc = tls_conn_handshake(c->tls);
        if (rc == -EAGAIN) {
            conn_update(c);
            return;
        }
        if (rc) {
            conn_close(c);
            return;
        }
        events |= UV_READABLE; /* the client's request may already be buffered */
    }
    if (c->tls && !c->lingering && (tls_conn_pending(c->tls) || tls_conn_read_wants_write(c->tls)))
        events |= UV_READABLE;
    if (events & (UV_READABLE | UV_DISCONNECT)) {
        bool progress = conn_read(c);
        if (c->closing)
            return;
        if ((events & UV_DISCONNECT) && !progress)
            c->peer_eof = true; /* hung up while we are not reading */
        if (c->lingering) {
            conn_update(c);
            return;
        }
        if (c->peer_eof && (c->src_active || c->res.deferred)) {
            conn_close(c); /* a streaming viewer, or one waiting for its answer, went away */
            return;
        }
    }
    if (c->lingering)
        return;
    conn_run(c);
}

/* The second half of a close, run by the loop from the poll handle's close
 * callback, never from inside anyone else's callback: only here are the
 * owners of the connection told (body source close(), file-done callbacks,
 * a deferred handler's abort), so a module walking its own list of
 * connections (live_on_publish waking every viewer, say) never has an entry
 * freed under it, whatever closes a connection during the walk. */
static void conn_free_locked(struct http_conn *c);

/* A worker's connection whose response is the handler code's: its owners are told
 * under the application lock. */
static void conn_free(struct http_conn *c)
{
    CONN_APP_CALL(c, conn_free_locked(c));
}

static void conn_free_locked(struct http_conn *c)
{
    struct http_server *srv = c->srv;
    if (c->src_active)
        src_finish(c, false);
    free(c->src_log);
    c->src_log = NULL;
    free_pieces(c);
    c->out_bytes = 0;
    if (c->res.deferred) {
        /* The handler's work is still out: tell it before the request goes. */
        c->res.deferred = false;
        if (c->res.defer_abort)
            APP_CALL(c->res.defer_abort(c->res.defer_ctx));
    }
    request_free(c);
    if (c->res.has_src && c->res.src.close)
        APP_CALL(c->res.src.close(c->res.src.ctx));
    c->res.has_src = false;
    res_reset(&c->res);
    buf_free(&c->res.hdrs);
    buf_free(&c->res.body);
    tls_conn_free(c->tls);
    if (!c->fd_moved)
        close(c->fd);
    free(c);
    __atomic_fetch_sub(&srv->nconns, 1, __ATOMIC_RELAXED);
    maybe_finish_stop(srv);
}

static void on_conn_closed(uv_handle_t *h)
{
    struct http_conn *c = h->data;
    if (c->offload) {
        c->free_when_back = true; /* the writer still uses the file; on_offload_back frees */
        return;
    }
    conn_free(c);
}

/* Marks the connection closing and stops all I/O on it at once; everything
 * that calls back into other modules waits for on_conn_closed(). Safe from
 * any callback: after it only c->closing may be read, and the memory stays
 * valid until the loop runs the close callback. */
static void conn_close(struct http_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct http_server *srv = c->srv;
    tl_unlink(c);
    wake_unlink(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    buf_free(&c->rbuf);
    buf_free(&c->sbuf);
    if (c->offload)
        shutdown(c->fd, SHUT_RDWR); /* ends the writer's sendfile (EPIPE): the job comes back */
    uv_close((uv_handle_t *)&c->poll, on_conn_closed);
}

/* ---- accept ------------------------------------------------------------ */

#define BUSY_BODY "Service Unavailable: too many connections\n"
_Static_assert(sizeof(BUSY_BODY) - 1 == 42, "update the Content-Length below");

/* Beyond max_connections: a canned 503, best effort, without a connection. */
static void send_busy(int fd)
{
    static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\n"
                              "Server: xtreamd\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Access-Control-Allow-Origin: *\r\n"
                              "Content-Length: 42\r\n"
                              "Connection: close\r\n\r\n" BUSY_BODY;
    ssize_t n = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n;
    shutdown(fd, SHUT_WR);
    close(fd);
}

static void addr_to_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, uint16_t *port)
{
    ip[0] = '\0';
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, (socklen_t)iplen);
        *port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, (socklen_t)iplen);
        else
            inet_ntop(AF_INET6, &a->sin6_addr, ip, (socklen_t)iplen);
        *port = ntohs(a->sin6_port);
    }
}

static void conn_new(struct http_server *srv, int fd, const struct sockaddr_storage *ss, bool tls)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct http_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    if (tls && tls_conn_new(srv->cfg.tls, fd, &c->tls) != 0) {
        free(c);
        close(fd);
        return;
    }
    if (uv_poll_init(srv->loop, &c->poll, fd) != 0) {
        tls_conn_free(c->tls);
        free(c);
        close(fd);
        return;
    }
    c->poll.data = c;
    c->srv = srv;
    c->fd = fd;
    c->res.conn = c;
    c->res.file_fd = -1;
    res_reset(&c->res);
    buf_init(&c->rbuf, RBUF_MAX);
    http_head_scan_init(&c->scan);
    addr_to_text(ss, c->ip, sizeof(c->ip), &c->port);
    c->idle_since = c->last_write = now_ms(srv);
    conn_link(srv, c);
    conn_update(c);
}

/* max_connections bounds the connections of every loop: streams moved to a
 * worker still hold a descriptor of this process. */
static size_t all_conns(const struct http_server *srv)
{
    size_t n = __atomic_load_n(&srv->nconns, __ATOMIC_RELAXED); /* a worker's accept reads it */
    unsigned nw = atomic_load_explicit(&srv->nworkers, memory_order_acquire);
    for (unsigned i = 0; i < nw; i++)
        n += __atomic_load_n(&srv->workers[i]->nconns, __ATOMIC_RELAXED);
    return n;
}

/* Every loop's connections, from an accepting server or one of its workers. */
static size_t conns_total(struct http_server *srv)
{
    if (!srv->worker)
        return all_conns(srv);
    size_t n = srv->nconns;
    struct home_link *l = srv->link;
    pthread_mutex_lock(&l->mu);
    if (l->home)
        n = all_conns(l->home);
    pthread_mutex_unlock(&l->mu);
    return n;
}

static void on_accept(uv_poll_t *h, int status, int events)
{
    struct http_server *srv = h->data;
    if (status < 0 || srv->stopping)
        return;
    bool tls = h == &srv->tlpoll;
    int lfd = tls ? srv->tlfd : srv->lfd;
    for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn("http", "accept: %s; pausing accepts for 100 ms", strerror(errno));
                uv_poll_stop(&srv->lpoll);
                if (srv->tlfd >= 0)
                    uv_poll_stop(&srv->tlpoll);
                srv->accept_paused_until = now_ms(srv) + 100;
            }
            return;
        }
        if (conns_total(srv) >= srv->cfg.max_connections) {
            if (tls)
                close(fd); /* no plain-text 503 on a TLS port */
            else
                send_busy(fd);
            continue;
        }
        conn_new(srv, fd, &ss, tls);
    }
}

/* ---- sweep timer ------------------------------------------------------- */

static void on_sweep(uv_timer_t *t)
{
    struct http_server *srv = t->data;
    uint64_t now = now_ms(srv);
    if (srv->accept_paused_until && now >= srv->accept_paused_until && !srv->stopping &&
        srv->listening && !uv_is_closing((uv_handle_t *)&srv->lpoll)) {
        srv->accept_paused_until = 0;
        uv_poll_start(&srv->lpoll, UV_READABLE, on_accept);
        if (srv->tlfd >= 0)
            uv_poll_start(&srv->tlpoll, UV_READABLE, on_accept);
    }
    for (int cls = T_HEADER; cls < T_COUNT; cls++) {
        struct http_conn *c;
        while ((c = srv->tl[cls].head) != NULL && c->deadline <= now) {
            if (cls == T_WRITE && c->offload) {
                uint64_t progress =
                    atomic_load_explicit(&c->offload->progress_ms, memory_order_relaxed);
                if (progress > c->last_write) {
                    c->last_write = progress; /* the writer's loop is making progress */
                    conn_set_timer(c, T_WRITE, c->last_write + srv->tmo[T_WRITE]);
                    continue;
                }
            }
            if (cls == T_HEADER && (c->rm || c->rbuf.len) && !c->close_after) {
                conn_error(c, 408, "request not received in time");
                if (!c->closing)
                    conn_run(c);
                if (!c->closing && c->tclass == T_HEADER)
                    conn_close(c);
            } else {
                if (c->tls && !tls_conn_ready(c->tls))
                    tls_ctx_count_timeout(srv->cfg.tls);
                conn_close(c);
            }
        }
    }
}

/* ---- start / stop ------------------------------------------------------ */

static int listen_on(const char *host, int port, int *lfd, int *bound_port)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    int gai = getaddrinfo(host, ps, &hints, &ai);
    if (gai != 0) {
        log_error("http", "invalid listen address %s: %s", host, gai_strerror(gai));
        return -EINVAL;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = 0;
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        rc = -errno;
        log_error("http", "cannot listen on %s:%d: %s", host, port, strerror(errno));
        close(fd);
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        rc = -errno;
        close(fd);
        goto out;
    }
    char ip[46];
    uint16_t p;
    addr_to_text(&ss, ip, sizeof(ip), &p);
    *bound_port = p;
    *lfd = fd;
out:
    freeaddrinfo(ai);
    return rc;
}

/* A socket inherited from a previous server: it must be a listening TCP
 * socket; it is made non-blocking and its port read. */
static int adopt_listener(int fd, int *lfd, int *bound_port)
{
    int on = 0, type = 0;
    socklen_t ol = sizeof(on), tl = sizeof(type);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &ol) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || !on || type != SOCK_STREAM ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
        (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
        log_error("http", "inherited fd %d is not a listening TCP socket", fd);
        return -ENOTSOCK;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
        return -errno;
    char ip[46];
    uint16_t p;
    addr_to_text(&ss, ip, sizeof(ip), &p);
    *bound_port = p;
    *lfd = fd;
    return 0;
}

int http_server_start(uv_loop_t *loop, const struct http_server_config *cfg,
                      struct http_server **out)
{
    if (!cfg->handler || cfg->port < 0 || cfg->port > 65535)
        return -EINVAL;
    struct http_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->loop = loop;
    srv->cfg = *cfg;
    srv->cfg.host = NULL; /* not kept: the caller's string need not outlive start */
    if (!srv->cfg.header_timeout_ms)
        srv->cfg.header_timeout_ms = 10000;
    if (!srv->cfg.idle_timeout_ms)
        srv->cfg.idle_timeout_ms = 60000;
    if (!srv->cfg.max_connections)
        srv->cfg.max_connections = 50000;
    srv->tmo[T_HEADER] = srv->cfg.header_timeout_ms;
    srv->tmo[T_IDLE] = srv->cfg.idle_timeout_ms;
    srv->tmo[T_WRITE] = srv->cfg.idle_timeout_ms;
    srv->tmo[T_LINGER] = LINGER_MS;
    srv->tlfd = -1;
    if (cfg->tls && (cfg->tls_port < 0 || cfg->tls_port > 65535)) {
        free(srv);
        return -EINVAL;
    }
    if (cfg->https_redirect_prefix && cfg->tls &&
        !(srv->redirect_prefix = strdup(cfg->https_redirect_prefix))) {
        free(srv);
        return -ENOMEM;
    }
    srv->cfg.https_redirect_prefix = NULL;
    srv->cfg.tls_host = NULL;
    atomic_init(&srv->accept_fd, -1);
    /* Every server adopts: a worker the streams handed to it, the accepting server the
     * requests its workers do not answer (conn_move_home). */
    int rc = -pthread_mutex_init(&srv->adopt_lock, NULL);
    if (rc)
        goto fail;
    if (!cfg->worker && (rc = link_new(srv)) != 0)
        goto fail_lock;
    if (cfg->worker) {
        srv->worker = true;
        srv->lfd = srv->tlfd = -1;
        srv->cfg.tls = NULL;
        if ((rc = uv_async_init(loop, &srv->adopt_async, on_adopt)) != 0)
            goto fail_lock;
        goto timers;
    }
    rc = cfg->listen_fd > 0
             ? adopt_listener(cfg->listen_fd, &srv->lfd, &srv->port)
             : listen_on(cfg->host ? cfg->host : "0.0.0.0", cfg->port, &srv->lfd, &srv->port);
    if (rc)
        goto fail_lock;
    if (cfg->tls &&
        (rc = cfg->tls_listen_fd > 0 ? adopt_listener(cfg->tls_listen_fd, &srv->tlfd, &srv->tport)
                                     : listen_on(cfg->tls_host ? cfg->tls_host : "0.0.0.0",
                                                 cfg->tls_port, &srv->tlfd, &srv->tport)) != 0) {
        if (cfg->listen_fd <= 0) /* an inherited one stays the caller's on failure */
            close(srv->lfd);
        goto fail_lock;
    }
    if ((rc = uv_async_init(loop, &srv->adopt_async, on_adopt)) != 0 ||
        (rc = uv_poll_init(loop, &srv->lpoll, srv->lfd)) != 0 ||
        (srv->tlfd >= 0 && (rc = uv_poll_init(loop, &srv->tlpoll, srv->tlfd)) != 0)) {
        /* uv_poll_init on a socket cannot fail short of memory; the handle
         * that did init is closed with the loop. */
        close(srv->lfd);
        if (srv->tlfd >= 0)
            close(srv->tlfd);
        goto fail_lock;
    }
    srv->lpoll.data = srv;
    if (!cfg->accept_via_workers)
        uv_poll_start(&srv->lpoll, UV_READABLE, on_accept);
    srv->nlisteners = 1;
    if (srv->tlfd >= 0) {
        srv->tlpoll.data = srv;
        uv_poll_start(&srv->tlpoll, UV_READABLE, on_accept);
        srv->nlisteners = 2;
    }
    srv->listening = true;
timers:
    srv->adopt_async.data = srv;
    unsigned gran = srv->cfg.header_timeout_ms < srv->cfg.idle_timeout_ms
                        ? srv->cfg.header_timeout_ms
                        : srv->cfg.idle_timeout_ms;
    gran /= 8;
    if (gran < 5)
        gran = 5;
    if (gran > 250)
        gran = 250;
    uv_timer_init(loop, &srv->sweep);
    srv->sweep.data = srv;
    uv_timer_start(&srv->sweep, on_sweep, gran, gran);
    uv_timer_init(loop, &srv->grace);
    srv->grace.data = srv;
    /* Unreferenced: they run each iteration but never keep the loop alive. */
    uv_prepare_init(loop, &srv->wake_prep);
    srv->wake_prep.data = srv;
    uv_prepare_start(&srv->wake_prep, on_wake_prepare);
    uv_unref((uv_handle_t *)&srv->wake_prep);
    uv_check_init(loop, &srv->wake_check);
    srv->wake_check.data = srv;
    uv_check_start(&srv->wake_check, on_wake_check);
    uv_unref((uv_handle_t *)&srv->wake_check);
    /* Without them every file body is written here: slower with several loops, not wrong. */
    int orc = srv->worker ? offload_writer_start(loop, &srv->writer)
                          : offload_home_start(loop, on_offload_back, srv, &srv->home);
    if (orc)
        log_warn("http", "file bodies stay on the accepting loop: %s", uv_strerror(orc));
    *out = srv;
    return 0;
fail_lock:
    /* (a handle that did init is closed with the loop, as before: only short of memory) */
    link_unref(srv->link);
    pthread_mutex_destroy(&srv->adopt_lock);
fail:
    free(srv->redirect_prefix);
    free(srv);
    return rc;
}

static void apply_timeouts(struct http_server *srv, unsigned header_ms, unsigned idle_ms)
{
    if (header_ms)
        srv->tmo[T_HEADER] = srv->cfg.header_timeout_ms = header_ms;
    if (idle_ms)
        srv->tmo[T_IDLE] = srv->tmo[T_WRITE] = srv->cfg.idle_timeout_ms = idle_ms;
}

void http_server_set_timeouts(struct http_server *srv, unsigned header_ms, unsigned idle_ms)
{
    apply_timeouts(srv, header_ms, idle_ms);
    /* The workers' connections (requests they accepted, streams moved to them) too:
     * each takes the new values on its own loop (on_adopt). */
    unsigned nw = atomic_load_explicit(&srv->nworkers, memory_order_acquire);
    for (unsigned i = 0; i < nw; i++) {
        struct http_server *w = srv->workers[i];
        if (header_ms)
            atomic_store(&w->new_header_ms, header_ms);
        if (idle_ms)
            atomic_store(&w->new_idle_ms, idle_ms);
        uv_async_send(&w->adopt_async);
    }
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

int http_server_listen_fd(const struct http_server *srv)
{
    return srv->stopping ? -1 : srv->lfd;
}

int http_server_tls_port(const struct http_server *srv)
{
    return srv->tport; /* 0 without a TLS listener */
}

int http_server_tls_listen_fd(const struct http_server *srv)
{
    return srv->stopping || srv->tlfd < 0 ? -1 : srv->tlfd;
}

size_t http_server_connection_count(const struct http_server *srv)
{
    return __atomic_load_n(&srv->nconns, __ATOMIC_RELAXED);
}

static void on_stop_handle_closed(uv_handle_t *h)
{
    struct http_server *srv = h->data;
    if (--srv->open_handles == 0) {
        void (*done)(void *) = srv->done;
        void *ud = srv->done_ud;
        pthread_mutex_destroy(&srv->adopt_lock);
        link_unref(srv->link);
        int fd = atomic_exchange(&srv->accept_fd, -1);
        if (fd >= 0)
            close(fd);
        free(srv->redirect_prefix);
        free(srv);
        if (done)
            done(ud);
    }
}

static void on_listener_closed(uv_handle_t *h)
{
    struct http_server *srv = h->data;
    if (h == (uv_handle_t *)&srv->tlpoll) {
        close(srv->tlfd);
        srv->tlfd = -1;
    } else {
        close(srv->lfd);
        srv->lfd = -1;
    }
    if (--srv->nlisteners == 0)
        srv->listening = false;
    maybe_finish_stop(srv);
}

static void maybe_finish_stop(struct http_server *srv)
{
    if (!srv->stopping || srv->finishing || srv->nconns || srv->listening)
        return;
    srv->finishing = true;
    offload_home_stop(srv->home); /* no connection is left, so no job is out */
    srv->home = NULL;
    srv->open_handles = 5;
    if (!srv->worker) {
        /* From now on the workers answer what they would move here 503 (conn_move_home):
         * nothing may be posted to a server about to be freed. */
        pthread_mutex_lock(&srv->link->mu);
        srv->link->home = NULL;
        pthread_mutex_unlock(&srv->link->mu);
    }
    on_adopt(&srv->adopt_async); /* moved while finishing: discarded */
    uv_close((uv_handle_t *)&srv->adopt_async, on_stop_handle_closed);
    uv_close((uv_handle_t *)&srv->sweep, on_stop_handle_closed);
    uv_close((uv_handle_t *)&srv->grace, on_stop_handle_closed);
    uv_close((uv_handle_t *)&srv->wake_prep, on_stop_handle_closed);
    uv_close((uv_handle_t *)&srv->wake_check, on_stop_handle_closed);
    log_batch_end(); /* nothing flushes this thread's lines any more */
}

static void on_grace(uv_timer_t *t)
{
    struct http_server *srv = t->data;
    struct http_conn *c = srv->conns;
    if (c)
        log_info("http", "stop: closing %zu connections after the grace period", srv->nconns);
    while ((c = srv->conns) != NULL)
        conn_close(c);
}

int http_server_add_worker(struct http_server *srv, struct http_server *worker)
{
    unsigned n = atomic_load_explicit(&srv->nworkers, memory_order_relaxed);
    if (n >= MAX_WORKERS || !worker->worker)
        return -E2BIG;
    srv->workers[n] = worker;
    atomic_store_explicit(&srv->nworkers, n + 1, memory_order_release);
    /* A worker that answers requests (route_here) accepts on a descriptor of the
     * plain listener too: whichever loop wakes first takes a connection, so a busy
     * loop takes fewer. The link is set before the descriptor is published. */
    if (worker->cfg.route_here && srv->listening && !srv->stopping && srv->lfd >= 0) {
        int fd = fcntl(srv->lfd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            log_warn("http", "loop shares no listener: %s", strerror(errno));
            return 0;
        }
        atomic_fetch_add(&srv->link->refs, 1);
        worker->link = srv->link;
        atomic_store(&worker->accept_fd, fd);
        uv_async_send(&worker->adopt_async);
    }
    return 0;
}

static void workers_stop_accepting(struct http_server *srv)
{
    unsigned nw = atomic_load_explicit(&srv->nworkers, memory_order_acquire);
    for (unsigned i = 0; i < nw; i++) {
        atomic_store(&srv->workers[i]->accept_off, true);
        uv_async_send(&srv->workers[i]->adopt_async);
    }
}

void http_server_remove_workers(struct http_server *srv)
{
    workers_stop_accepting(srv); /* forgotten before its stop, which would tell them */
    atomic_store_explicit(&srv->nworkers, 0, memory_order_release);
}

void http_server_stop(struct http_server *srv, unsigned grace_ms, void (*done)(void *ud), void *ud)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    srv->done = done;
    srv->done_ud = ud;
    offload_writer_stop(srv->writer); /* its jobs go home unfinished: their loop writes the rest */
    srv->writer = NULL;
    if (!srv->worker) {
        uv_close((uv_handle_t *)&srv->lpoll, on_listener_closed);
        workers_stop_accepting(srv); /* a hand-over: the successor takes the socket */
    } else {
        worker_listener(srv);
    }
    if (srv->tlfd >= 0)
        uv_close((uv_handle_t *)&srv->tlpoll, on_listener_closed);
    struct http_conn *c = srv->conns;
    while (c) {
        struct http_conn *n = c->next;
        /* Idle keep-alive connections go now; one accepted but not yet sent
         * its first request is answered (with Connection: close) within the
         * header timeout: its client saw no refusal and is about to ask
         * (the connection loop of a hand-over, cli/handover.h). */
        if (conn_idle(c))
            conn_close(c);
        c = n;
    }
    if (grace_ms == 0)
        on_grace(&srv->grace);
    else if (srv->conns)
        uv_timer_start(&srv->grace, on_grace, grace_ms, 0);
    if (srv->worker)
        maybe_finish_stop(srv); /* no listener whose close would: done now if idle */
}
