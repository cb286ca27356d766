/*
 * Tests for src/http/server.c: the real server on 127.0.0.1:0, its libuv loop
 * running in a second thread, driven over real sockets by blocking clients in
 * the test thread. Handlers run on the loop thread; the test only talks to the
 * loop through sockets and a uv_async (stop).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "http/server.h"

/* ---- the server under test ------------------------------------------- */

struct fixture {
    uv_loop_t loop;
    uv_async_t stop_async;
    pthread_t thread;
    struct http_server *srv;
    int port;
    unsigned grace_ms;
    atomic_int done_called;
};

static atomic_int closes;  /* body source close() calls */
static atomic_int handled; /* handler calls */
static struct refbuf *shared_rb;
/* A memfd holding "FDFDFD" at 0: slices naming it say by their bytes which
 * path sent them (the refbuf holds "SHARED"). */
static struct fdref *test_mf;

struct src_ctx {
    uv_timer_t timer;
    struct http_conn *conn;
    int chunk;
    int chunks;
    int delay_ms; /* before each chunk, via -EAGAIN + http_conn_wake */
    bool ready;
    bool closed;
};

static void src_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void src_tick(uv_timer_t *t)
{
    struct src_ctx *s = t->data;
    s->ready = true;
    http_conn_wake(s->conn);
}

static int src_pull(void *ctx, struct buf *out, size_t budget)
{
    struct src_ctx *s = ctx;
    if (s->chunk == s->chunks)
        return 0;
    if (!s->ready) {
        uv_timer_start(&s->timer, src_tick, (uint64_t)s->delay_ms, 0);
        return -EAGAIN;
    }
    char blk[1000];
    memset(blk, 'a' + s->chunk, sizeof(blk));
    if (buf_append(out, blk, sizeof(blk)))
        return out->err;
    s->chunk++;
    s->ready = s->delay_ms == 0;
    return s->chunk == s->chunks ? 0 : 1;
}

static void src_close(void *ctx)
{
    struct src_ctx *s = ctx;
    assert_false(s->closed);
    s->closed = true;
    atomic_fetch_add(&closes, 1);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, src_timer_closed);
}

/* A zero-copy source: 4 slices of shared_rb, one per pull. */
static int refsrc_pull(void *ctx, struct buf *out, size_t budget)
{
    int *left = ctx;
    (void)out;
    (void)budget;
    if (*left == 0)
        return 0;
    struct http_conn *conn = *(struct http_conn **)(left + 2);
    int rc = left[1] ? http_conn_queue_ref_fd(conn, shared_rb, shared_rb->data, shared_rb->len,
                                              test_mf, 0)
                     : http_conn_queue_ref(conn, shared_rb, shared_rb->data, shared_rb->len);
    if (rc)
        return rc;
    return --*left ? 1 : 0;
}

static void refsrc_close(void *ctx)
{
    atomic_fetch_add(&closes, 1);
    free(ctx);
}

/* Watchers: streamed responses that never have data, kept in a list the way
 * the live engine keeps its viewers; /walk wakes every one of them while
 * walking the list (live_on_publish's pattern). */
struct watcher {
    struct http_conn *conn;
    struct watcher *next;
};
static struct watcher *watchers; /* loop thread only */
static atomic_int watcher_count;

static int watch_pull(void *ctx, struct buf *out, size_t budget)
{
    (void)ctx;
    (void)out;
    (void)budget;
    return -EAGAIN;
}

static void watch_close(void *ctx)
{
    struct watcher *w = ctx;
    for (struct watcher **p = &watchers; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    atomic_fetch_sub(&watcher_count, 1);
    atomic_fetch_add(&closes, 1);
    free(w);
}

static char file_path[64];

static uv_loop_t *handler_loop;
static struct http_server *test_srv; /* set before the loop thread starts */

static void attach_source(struct http_response *res, int chunks, int delay_ms, long long len)
{
    struct src_ctx *s = calloc(1, sizeof(*s));
    uv_timer_init(handler_loop, &s->timer);
    s->timer.data = s;
    s->conn = http_response_conn(res);
    s->chunks = chunks;
    s->delay_ms = delay_ms;
    s->ready = delay_ms == 0;
    struct http_body_source src = {.pull = src_pull, .close = src_close, .ctx = s};
    http_response_source(res, &src, len);
}

/* A deferred answer: a timer fills the response later, unless the connection
 * went away first (abort). */
static atomic_int aborts, resumes;

struct deferred {
    uv_timer_t timer;
    struct http_response *res;
    char x[32];
    bool aborted;
};

static void deferred_closed(uv_handle_t *h)
{
    free(h->data);
}

static void deferred_fire(uv_timer_t *t)
{
    struct deferred *d = t->data;
    if (!d->aborted) {
        char body[64];
        snprintf(body, sizeof(body), "deferred:%s", d->x);
        http_response_text(d->res, 200, "text/plain", body);
        atomic_fetch_add(&resumes, 1);
        http_response_resume(d->res);
    }
    uv_close((uv_handle_t *)&d->timer, deferred_closed);
}

static void deferred_abort(void *ctx)
{
    struct deferred *d = ctx;
    d->aborted = true;
    atomic_fetch_add(&aborts, 1);
}

static void defer_response(struct http_request *req, struct http_response *res)
{
    struct deferred *d = calloc(1, sizeof(*d));
    const char *x = http_request_param(req, "x");
    const char *ms = http_request_param(req, "ms");
    snprintf(d->x, sizeof(d->x), "%s", x ? x : "");
    d->res = res;
    uv_timer_init(handler_loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, deferred_fire, ms ? strtoull(ms, NULL, 10) : 50, 0);
    http_response_defer(res, deferred_abort, d);
}

static void handler(struct http_request *req, struct http_response *res, void *ud)
{
    atomic_fetch_add(&handled, 1);
    const char *p = req->path;
    if (strcmp(p, "/hello") == 0) {
        http_response_text(res, 200, "text/plain", "hello world");
    } else if (strcmp(p, "/echo") == 0) {
        struct buf *b = http_response_buf(res);
        const char *x = http_request_param(req, "x");
        buf_printf(b, "%s x=%s body=%.*s", req->method_name, x ? x : "(none)", (int)req->body_len,
                   req->body);
        http_response_header(res, "Content-Type", "text/plain");
    } else if (strcmp(p, "/ref") == 0) {
        http_response_body(res, "head:", 5);
        http_response_body_ref(res, shared_rb);
        http_response_body_ref(res, shared_rb);
    } else if (strcmp(p, "/stream") == 0 || strcmp(p, "/live") == 0 || strcmp(p, "/slow") == 0) {
        bool live = strcmp(p, "/live") == 0;
        int delay = strcmp(p, "/slow") == 0 ? 300 : 5;
        http_response_header(res, "Content-Type", "video/mp2t");
        attach_source(res, 5, delay, live ? -1 : 5000);
    } else if (strcmp(p, "/big") == 0) {
        struct buf *b = http_response_buf(res);
        for (int i = 0; i < (3 << 20); i++)
            buf_putc(b, (char)('a' + i % 26));
        http_response_body_ref(res, shared_rb);
    } else if (strcmp(p, "/mixed") == 0) {
        http_response_body(res, "pre:", 4);
        http_response_body_ref(res, shared_rb);
        attach_source(res, 2, 0, 2000);
    } else if (strcmp(p, "/refsrc") == 0 || strcmp(p, "/refsrc-len") == 0 ||
               strcmp(p, "/mfsrc-len") == 0) {
        /* ctx: int count, memfd slices?, then the connection pointer */
        int *ctx = calloc(1, 2 * sizeof(int) + sizeof(struct http_conn *));
        ctx[0] = 4;
        ctx[1] = strcmp(p, "/mfsrc-len") == 0;
        *(struct http_conn **)(ctx + 2) = http_response_conn(res);
        struct http_body_source src = {.pull = refsrc_pull, .close = refsrc_close, .ctx = ctx};
        http_response_source(res, &src,
                             strcmp(p, "/refsrc") == 0 ? -1 : (long long)(4 * shared_rb->len));
    } else if (strcmp(p, "/file") == 0) {
        const char *off = http_request_param(req, "off");
        const char *len = http_request_param(req, "len");
        int fd = open(file_path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        http_response_header(res, "Content-Type", "application/octet-stream");
        assert_int_equal(http_response_file(res, fd, strtol(off ? off : "0", NULL, 10),
                                            strtol(len ? len : "0", NULL, 10)),
                         0);
    } else if (strcmp(p, "/defer") == 0) {
        defer_response(req, res);
    } else if (strcmp(p, "/watch") == 0) {
        struct watcher *w = calloc(1, sizeof(*w));
        w->conn = http_response_conn(res);
        w->next = watchers;
        watchers = w;
        atomic_fetch_add(&watcher_count, 1);
        struct http_body_source src = {.pull = watch_pull, .close = watch_close, .ctx = w};
        http_response_source(res, &src, -1);
    } else if (strcmp(p, "/walk") == 0) {
        /* Each connection is woken (queued for the end of the loop's I/O
         * phase) and then closed inside the walk, which must still be able to
         * read w->next; the queued wake-up of a closed connection is dropped. */
        size_t n = 0;
        for (struct watcher *w = watchers; w; w = w->next) {
            http_conn_wake(w->conn);
            http_conn_abort(w->conn);
            n++;
        }
        http_response_buf(res);
        buf_printf(http_response_buf(res), "woke %zu", n);
        http_response_header(res, "Content-Type", "text/plain");
    } else if (strcmp(p, "/ticks") == 0) {
        /* 40 chunks, each after a 5 ms timer that wakes the connection */
        attach_source(res, 40, 5, 40 * 1000);
    } else if (strcmp(p, "/stats") == 0) {
        struct http_server_stats st;
        http_server_get_stats(test_srv, &st);
        buf_printf(http_response_buf(res), "%llu %llu %llu %llu", (unsigned long long)st.wakes,
                   (unsigned long long)st.wake_batches, (unsigned long long)st.direct_writes,
                   (unsigned long long)st.poll_updates);
        http_response_header(res, "Content-Type", "text/plain");
    } else if (strcmp(p, "/hidden") == 0) {
        http_response_log_target(res, "/hidden/***");
        http_response_text(res, 404, "text/plain", "nope");
    } else {
        http_response_text(res, 404, "text/plain", "not found");
    }
}

static void on_done(void *ud)
{
    struct fixture *f = ud;
    atomic_store(&f->done_called, 1);
    uv_close((uv_handle_t *)&f->stop_async, NULL);
}

static void on_stop_async(uv_async_t *a)
{
    struct fixture *f = a->data;
    http_server_stop(f->srv, f->grace_ms, on_done, f);
}

static void *loop_thread(void *arg)
{
    struct fixture *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

static struct fixture *start_server(unsigned header_ms, unsigned idle_ms, unsigned maxc)
{
    struct fixture *f = calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    handler_loop = &f->loop;
    struct http_server_config cfg = {
        .host = "127.0.0.1",
        .port = 0,
        .handler = handler,
        .header_timeout_ms = header_ms,
        .idle_timeout_ms = idle_ms,
        .max_connections = maxc,
        .access_log = 1,
    };
    assert_int_equal(http_server_start(&f->loop, &cfg, &f->srv), 0);
    f->port = http_server_port(f->srv);
    test_srv = f->srv;
    assert_true(f->port > 0);
    uv_async_init(&f->loop, &f->stop_async, on_stop_async);
    f->stop_async.data = f;
    f->grace_ms = 2000;
    assert_int_equal(pthread_create(&f->thread, NULL, loop_thread, f), 0);
    return f;
}

static void stop_server(struct fixture *f)
{
    uv_async_send(&f->stop_async);
    pthread_join(f->thread, NULL);
    assert_int_equal(atomic_load(&f->done_called), 1);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
}

/* ---- a tiny blocking client -------------------------------------------- */

struct client {
    int fd;
    char buf[1 << 16];
    size_t len;
};

struct resp {
    int status;
    char head[8192];
    char *body;
    size_t body_len;
    bool has_cl;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct client *client_open(int port)
{
    struct client *c = calloc(1, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    /* Only a failing test waits this long; a TSan build on a loaded 2-core box takes over
     * 5 s to produce /big's 3 MiB (test_large_response_slow_reader failed at 5 s). */
    struct timeval tv = {30, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return c;
}

static void client_close(struct client *c)
{
    close(c->fd);
    free(c);
}

static void send_str(struct client *c, const char *s, size_t len)
{
    while (len) {
        ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return; /* the server may have closed already (e.g. after 413) */
        s += n;
        len -= (size_t)n;
    }
}

static void send_s(struct client *c, const char *s)
{
    send_str(c, s, strlen(s));
}

/* Reads more bytes; returns the count, 0 at EOF, -1 on timeout/error. */
static ssize_t fill(struct client *c)
{
    if (c->len == sizeof(c->buf))
        return -1;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n > 0)
        c->len += (size_t)n;
    return n;
}

static void take(struct client *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Reads one response; returns 0 or -1 (EOF/timeout before it was complete). */
static int read_resp(struct client *c, struct resp *r, bool head_req)
{
    memset(r, 0, sizeof(*r));
    char *end;
    for (;;) {
        end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end)
            break;
        if (fill(c) <= 0)
            return -1;
    }
    size_t hl = (size_t)(end - c->buf) + 4;
    assert_true(hl < sizeof(r->head));
    memcpy(r->head, c->buf, hl);
    r->head[hl] = '\0';
    take(c, hl);
    assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
    if (r->status == 100 || head_req)
        return 0;
    char *cl = strcasestr(r->head, "\r\nContent-Length: ");
    if (cl) {
        r->has_cl = true;
        size_t want = strtoul(cl + 18, NULL, 10);
        while (c->len < want)
            if (fill(c) <= 0)
                return -1;
        r->body = malloc(want + 1);
        memcpy(r->body, c->buf, want);
        r->body[want] = '\0';
        r->body_len = want;
        take(c, want);
        return 0;
    }
    /* Delimited by close. */
    ssize_t n;
    while ((n = fill(c)) > 0)
        ;
    if (n < 0)
        return -1;
    r->body = malloc(c->len + 1);
    memcpy(r->body, c->buf, c->len);
    r->body[c->len] = '\0';
    r->body_len = c->len;
    c->len = 0;
    return 0;
}

static bool has_header(const struct resp *r, const char *line)
{
    char want[256];
    snprintf(want, sizeof(want), "\r\n%s\r\n", line);
    return strcasestr(r->head, want) != NULL;
}

/* True when the server closed the connection (EOF) with no further bytes. */
static bool closed_by_server(struct client *c)
{
    return c->len == 0 && fill(c) == 0;
}

static void resp_free(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

static void wait_conn_count(struct fixture *f, size_t want)
{
    uint64_t t0 = mono_ms();
    while (http_server_connection_count(f->srv) != want && mono_ms() - t0 < 5000)
        usleep(2000);
    assert_int_equal(http_server_connection_count(f->srv), want);
}

/* ---- tests ------------------------------------------------------------- */

static void test_keepalive_two_requests(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    struct client *c = client_open(f->port);
    struct resp r;
    for (int i = 0; i < 2; i++) {
        send_s(c, "GET /hello HTTP/1.1\r\nHost: t\r\nUser-Agent: test\r\n\r\n");
        assert_int_equal(read_resp(c, &r, false), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "hello world");
        assert_true(has_header(&r, "Content-Length: 11"));
        assert_true(has_header(&r, "Connection: keep-alive"));
        assert_true(has_header(&r, "Server: xtreamd"));
        assert_true(has_header(&r, "Content-Type: text/plain"));
        assert_non_null(strstr(r.head, "\r\nDate: "));
        resp_free(&r);
    }
    wait_conn_count(f, 1);
    /* HTTP/1.0 without keep-alive: answered, then closed. */
    send_s(c, "GET /hello HTTP/1.0\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Connection: close"));
    resp_free(&r);
    assert_true(closed_by_server(c));
    client_close(c);
    /* HTTP/1.0 with keep-alive stays open. */
    c = client_open(f->port);
    send_s(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
              "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(read_resp(c, &r, false), 0);
        assert_true(has_header(&r, "Connection: keep-alive"));
        resp_free(&r);
    }
    client_close(c);
    stop_server(f);
}

static void test_pipelined_in_order(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    struct client *c = client_open(f->port);
    struct buf b = BUF_INIT(0);
    for (int i = 0; i < 40; i++) {
        if (i % 3 == 1)
            buf_printf(&b, "GET /stream?i=%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
        else
            buf_printf(&b, "POST /echo?x=%d HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc",
                       i);
    }
    send_str(c, b.data, b.len);
    buf_free(&b);
    for (int i = 0; i < 40; i++) {
        struct resp r;
        assert_int_equal(read_resp(c, &r, false), 0);
        assert_int_equal(r.status, 200);
        if (i % 3 == 1) {
            assert_int_equal(r.body_len, 5000);
            assert_int_equal(r.body[0], 'a');
            assert_int_equal(r.body[4999], 'e');
        } else {
            char want[64];
            snprintf(want, sizeof(want), "POST x=%d body=abc", i);
            assert_string_equal(r.body, want);
        }
        resp_free(&r);
    }
    client_close(c);
    stop_server(f);
}

static void test_head(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    struct client *c = client_open(f->port);
    struct resp r;
    send_s(c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\nHEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n"
              "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, true), 0);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Length: 11"));
    assert_true(has_header(&r, "Content-Type: text/plain"));
    assert_int_equal(read_resp(c, &r, true), 0);
    assert_true(has_header(&r, "Content-Length: 5000"));
    /* The next response starts right after the heads: no body bytes were sent. */
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_string_equal(r.body, "hello world");
    resp_free(&r);
    client_close(c);
    stop_server(f);
}

/* A 3 MiB response to a client that does not read at first: partial writes,
 * resumed on POLLOUT, in order, twice on one connection. */
static void test_large_response_slow_reader(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    struct client *c = client_open(f->port);
    send_s(c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\nGET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(200000);
    for (int k = 0; k < 2; k++) {
        struct resp r;
        assert_int_equal(read_resp(c, &r, true), 0);
        assert_int_equal(r.status, 200);
        size_t want = (3u << 20) + 6;
        char cl[64];
        snprintf(cl, sizeof(cl), "Content-Length: %zu", want);
        assert_true(has_header(&r, cl));
        size_t got = 0;
        while (got < want) {
            if (c->len == 0)
                assert_true(fill(c) > 0);
            size_t n = c->len < want - got ? c->len : want - got;
            for (size_t i = 0; i < n; i++) {
                size_t pos = got + i;
                char exp = pos < (3u << 20) ? (char)('a' + pos % 26) : "SHARED"[pos - (3u << 20)];
                if (c->buf[i] != exp)
                    fail_msg("byte %zu: got %d want %d", pos, c->buf[i], exp);
            }
            take(c, n);
            got += n;
        }
    }
    client_close(c);
    /* HTTP/1.0 without keep-alive: the whole body arrives before the close. */
    c = client_open(f->port);
    send_s(c, "GET /big HTTP/1.0\r\n\r\n");
    usleep(200000);
    struct resp r;
    assert_int_equal(read_resp(c, &r, true), 0);
    assert_true(has_header(&r, "Connection: close"));
    size_t total = 0;
    ssize_t n;
    while ((n = fill(c)) > 0) {
        total += c->len;
        c->len = 0;
    }
    assert_int_equal(n, 0);
    assert_int_equal(total + c->len, (3u << 20) + 6);
    client_close(c);
    stop_server(f);
}

static void expect_error(struct fixture *f, const char *req, size_t len, int status)
{
    struct client *c = client_open(f->port);
    send_str(c, req, len);
    struct resp r;
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, status);
    assert_true(has_header(&r, "Connection: close"));
    assert_true(has_header(&r, "Content-Type: text/plain; charset=utf-8"));
    assert_true(r.body_len > 5);
    resp_free(&r);
    assert_true(closed_by_server(c));
    client_close(c);
}

static void test_error_statuses(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    struct buf b = BUF_INIT(0);
    buf_puts(&b, "GET /");
    for (int i = 0; i < HTTP_MAX_REQUEST_LINE; i++)
        buf_putc(&b, 'a');
    buf_puts(&b, " HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_error(f, b.data, b.len, 414);
    buf_reset(&b);
    buf_puts(&b, "GET / HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
        buf_printf(&b, "X-%d: y\r\n", i);
    buf_puts(&b, "\r\n");
    expect_error(f, b.data, b.len, 431);
    buf_free(&b);
    const char *big = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\nxxxx";
    expect_error(f, big, strlen(big), 413);
    const char *bad = "GET / HTTP/1.1\r\nHost: t\r\nBad Header: 1\r\n\r\n";
    expect_error(f, bad, strlen(bad), 400);
    const char *te = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    expect_error(f, te, strlen(te), 411);
    const char *seg = "GET /a%zz HTTP/1.1\r\nHost: t\r\n\r\n";
    expect_error(f, seg, strlen(seg), 400);
    const char *nul = "GET /?a=%00 HTTP/1.1\r\nHost: t\r\n\r\n";
    expect_error(f, nul, strlen(nul), 400);

    /* An error after a good pipelined request comes after its response. */
    struct client *c = client_open(f->port);
    send_s(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/9.9\r\n\r\n");
    struct resp r;
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 505);
    resp_free(&r);
    assert_true(closed_by_server(c));
    client_close(c);
    stop_server(f);
}

static void test_post_form_and_continue(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    struct client *c = client_open(f->port);
    struct resp r;
    send_s(c, "POST /echo?x=query HTTP/1.1\r\nHost: t\r\n"
              "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\n"
              "Expect: 100-continue\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 100);
    send_s(c, "x=form+1");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "POST x=form 1 body=x=form+1");
    resp_free(&r);
    /* The body split across writes. */
    send_s(c,
           "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           "Content-Length: 5\r\n\r\nx");
    usleep(20000);
    send_s(c, "=abc");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_string_equal(r.body, "POST x=abc body=x=abc");
    resp_free(&r);
    /* refbuf pieces after the buf body. */
    send_s(c, "GET /ref HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_string_equal(r.body, "head:SHAREDSHARED");
    resp_free(&r);
    client_close(c);
    stop_server(f);
}

static void test_header_timeout(void **state)
{
    struct fixture *f = start_server(200, 0, 0);
    struct client *c = client_open(f->port);
    uint64_t t0 = mono_ms();
    send_s(c, "GET /hello HTTP/1.1\r\nHost: t\r\n");
    struct resp r;
    assert_int_equal(read_resp(c, &r, false), 0);
    uint64_t dt = mono_ms() - t0;
    assert_int_equal(r.status, 408);
    assert_true(dt >= 150 && dt < 2000);
    resp_free(&r);
    assert_true(closed_by_server(c));
    client_close(c);
    /* Trickling bytes does not extend the deadline (slow loris). */
    c = client_open(f->port);
    t0 = mono_ms();
    const char *req = "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
    for (size_t i = 0; i < strlen(req) && mono_ms() - t0 < 1000; i++) {
        send_str(c, req + i, 1);
        usleep(30000);
    }
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 408);
    assert_true(mono_ms() - t0 < 1500);
    resp_free(&r);
    client_close(c);
    /* A connection that never sends anything is closed silently. */
    c = client_open(f->port);
    assert_true(closed_by_server(c));
    client_close(c);
    stop_server(f);
}

static void test_idle_close(void **state)
{
    struct fixture *f = start_server(0, 200, 0);
    struct client *c = client_open(f->port);
    send_s(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    struct resp r;
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    uint64_t t0 = mono_ms();
    assert_true(closed_by_server(c));
    uint64_t dt = mono_ms() - t0;
    assert_true(dt >= 150 && dt < 2000);
    client_close(c);
    wait_conn_count(f, 0);
    stop_server(f);
}

static void test_streamed_bodies(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    atomic_store(&closes, 0);
    struct client *c = client_open(f->port);
    struct resp r;
    send_s(c, "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Length: 5000"));
    assert_true(has_header(&r, "Connection: keep-alive"));
    assert_int_equal(r.body_len, 5000);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(r.body[i], 'a' + i / 1000);
    resp_free(&r);
    /* buf body, then refbuf, then the source, under one Content-Length. */
    send_s(c, "GET /mixed HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_true(has_header(&r, "Content-Length: 2010"));
    assert_int_equal(r.body_len, 2010);
    assert_memory_equal(r.body, "pre:SHAREDaaa", 13);
    assert_int_equal(r.body[2009], 'b');
    resp_free(&r);
    /* Unknown length: no Content-Length, no chunking, closed at the end. */
    send_s(c, "GET /live HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_false(r.has_cl);
    assert_null(strcasestr(r.head, "Transfer-Encoding"));
    assert_true(has_header(&r, "Connection: close"));
    assert_int_equal(r.body_len, 5000);
    assert_int_equal(r.body[4999], 'e');
    resp_free(&r);
    client_close(c);
    /* A viewer that goes away mid-stream is noticed at once (by the hang-up,
     * not by a later failing write) and its source is closed. */
    c = client_open(f->port);
    send_s(c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, true), 0); /* read the head: close sends FIN, not RST */
    assert_int_equal(c->len, 0);
    client_close(c);
    uint64_t t0 = mono_ms();
    while (atomic_load(&closes) < 4 && mono_ms() - t0 < 3000)
        usleep(1000);
    assert_true(mono_ms() - t0 < 250); /* the next chunk would only come at 300 ms */
    wait_conn_count(f, 0);
    assert_int_equal(atomic_load(&closes), 4);
    stop_server(f);
}

/* A connection closed from inside another module's walk over its connections
 * (here: uv_poll_start failing in http_conn_wake) must not free that module's
 * entry during the walk; its close() comes later, from the loop. Under ASan
 * the old synchronous close was a heap-use-after-free on w->next. */
static void test_close_inside_walk(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    atomic_store(&closes, 0);
    struct client *v[3];
    struct resp r;
    for (int i = 0; i < 3; i++) {
        v[i] = client_open(f->port);
        send_s(v[i], "GET /watch HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_int_equal(read_resp(v[i], &r, true), 0);
        assert_int_equal(r.status, 200);
        resp_free(&r);
    }
    assert_int_equal(atomic_load(&watcher_count), 3);
    struct client *c = client_open(f->port);
    send_s(c, "GET /walk HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "woke 3", 6);
    resp_free(&r);
    client_close(c);
    /* Every watcher's connection was closed and its source closed once. */
    for (int i = 0; i < 3; i++) {
        assert_true(closed_by_server(v[i]));
        client_close(v[i]);
    }
    wait_conn_count(f, 0);
    assert_int_equal(atomic_load(&watcher_count), 0);
    assert_int_equal(atomic_load(&closes), 3);
    stop_server(f);
}

static void test_deferred_response(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    atomic_store(&aborts, 0);
    atomic_store(&resumes, 0);
    struct client *c = client_open(f->port);
    struct resp r;
    /* The deferred answer comes first, then the pipelined request behind it. */
    send_s(c, "GET /defer?x=one HTTP/1.1\r\nHost: t\r\n\r\n"
              "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "deferred:one");
    assert_true(has_header(&r, "Connection: keep-alive"));
    resp_free(&r);
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_string_equal(r.body, "hello world");
    resp_free(&r);
    /* HEAD of a deferred answer: its headers, no body. */
    send_s(c, "HEAD /defer?x=two HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, true), 0);
    assert_true(has_header(&r, "Content-Length: 12"));
    resp_free(&r);
    client_close(c);
    assert_int_equal(atomic_load(&resumes), 2);
    /* A client that leaves while its answer is pending: abort, never resumed. */
    c = client_open(f->port);
    send_s(c, "GET /defer?x=gone&ms=400 HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(50 * 1000);
    client_close(c);
    wait_conn_count(f, 0);
    assert_int_equal(atomic_load(&aborts), 1);
    usleep(500 * 1000);
    assert_int_equal(atomic_load(&resumes), 2);
    stop_server(f);
}

static void test_ref_slice_source(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    atomic_store(&closes, 0);
    struct client *c = client_open(f->port);
    struct resp r;
    /* Known length: four slices under one Content-Length, keep-alive. */
    send_s(c, "GET /refsrc-len HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.body_len, 4 * shared_rb->len);
    assert_true(has_header(&r, "Connection: keep-alive"));
    for (int i = 0; i < 4; i++)
        assert_memory_equal(r.body + i * shared_rb->len, shared_rb->data, shared_rb->len);
    resp_free(&r);
    /* Unknown length: framed by close. */
    send_s(c, "GET /refsrc HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_false(r.has_cl);
    assert_int_equal(r.body_len, 4 * shared_rb->len);
    resp_free(&r);
    client_close(c);
    wait_conn_count(f, 0);
    assert_int_equal(atomic_load(&closes), 2);
    stop_server(f);
}

static void wait_counter(atomic_ulong *v, unsigned long want)
{
    uint64_t t0 = mono_ms();
    while (atomic_load(v) != want && mono_ms() - t0 < 5000)
        usleep(2000);
    assert_int_equal(atomic_load(v), want);
}

/* Memfd slices (live write=sendfile): sent with sendfile from the memfd
 * while their offset is at or above its gone mark, from the refbuf (counted)
 * once below. */
static void test_memfd_slices(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    struct client *c = client_open(f->port);
    struct resp r;
    atomic_store(&test_mf->gone, 0);
    send_s(c, "GET /mfsrc-len HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.body_len, 24);
    assert_memory_equal(r.body, "FDFDFDFDFDFDFDFDFDFDFDFD", 24);
    resp_free(&r);
    /* counted by the server's thread after its sendfile: the client may be first */
    wait_counter(&test_mf->sent, 24);
    assert_int_equal(atomic_load(&test_mf->copy_fallbacks), 0);
    /* The bytes left the memfd: every slice goes out by copy. */
    atomic_store(&test_mf->gone, 4096);
    send_s(c, "GET /mfsrc-len HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.body_len, 24);
    assert_memory_equal(r.body, "SHAREDSHAREDSHAREDSHARED", 24);
    resp_free(&r);
    wait_counter(&test_mf->copy_fallbacks, 4);
    assert_int_equal(atomic_load(&test_mf->sent), 24);
    client_close(c);
    wait_conn_count(f, 0);
    stop_server(f);
}

static void get_stats(struct fixture *f, unsigned long long v[4])
{
    struct client *c = client_open(f->port);
    struct resp r;
    send_s(c, "GET /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(sscanf(r.body, "%llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3]), 4);
    resp_free(&r);
    client_close(c);
}

/* Write-first: a stream woken with room in its socket is written at the end
 * of the loop iteration without arming POLLOUT. Before, each wake-up armed
 * POLLOUT and the write disarmed it: two poll changes (each an epoll_ctl DEL
 * + ADD in libuv 1.44) per wake-up, 80 or more for this stream of 40 wakes. */
static void test_wake_writes_first(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    unsigned long long a[4], b[4];
    get_stats(f, a);
    struct client *c = client_open(f->port);
    struct resp r;
    send_s(c, "GET /ticks HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 40 * 1000);
    resp_free(&r);
    client_close(c);
    get_stats(f, b);
    unsigned long long wakes = b[0] - a[0], direct = b[2] - a[2], polls = b[3] - a[3];
    print_message("wakes %llu batches %llu direct %llu poll updates %llu\n", wakes, b[1] - a[1],
                  direct, polls);
    assert_true(wakes >= 39);
    /* the /ticks and /stats connections' own state changes: a handful */
    assert_true(polls < 12);
    assert_true(direct >= wakes - 2);
    stop_server(f);
}

static void test_file_body(void **state)
{
    snprintf(file_path, sizeof(file_path), "/tmp/xtreamd-http-file-XXXXXX");
    int fd = mkstemp(file_path);
    assert_true(fd >= 0);
    static char data[60000]; /* the test client reads at most 64 KiB */
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)(i * 7 + i / 251);
    assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
    close(fd);
    struct fixture *f = start_server(0, 0, 0);
    struct client *c = client_open(f->port);
    struct resp r;
    /* a middle range, sent with sendfile, exact bytes */
    send_s(c, "GET /file?off=1000&len=50000 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_true(has_header(&r, "Content-Length: 50000"));
    assert_memory_equal(r.body, data + 1000, 50000);
    resp_free(&r);
    /* HEAD: the length, no body, and the connection stays usable */
    send_s(c, "HEAD /file?off=0&len=60000 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, true), 0);
    assert_true(has_header(&r, "Content-Length: 60000"));
    resp_free(&r);
    send_s(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_string_equal(r.body, "hello world");
    resp_free(&r);
    /* a file shorter than announced ends the response by close, not a hang */
    send_s(c, "GET /file?off=59000&len=5000 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(c, &r, false), -1);
    resp_free(&r);
    client_close(c);
    wait_conn_count(f, 0);
    stop_server(f);
    unlink(file_path);
}

static void test_graceful_stop(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    atomic_store(&closes, 0);
    struct resp r;
    /* An idle keep-alive connection (it has been answered once). */
    struct client *idle = client_open(f->port);
    send_s(idle, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(idle, &r, false), 0);
    resp_free(&r);
    /* A connection accepted before the stop whose request comes after it:
     * answered, not closed (the loop of a listener hand-over). */
    struct client *fresh = client_open(f->port);
    struct client *c = client_open(f->port);
    send_s(c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(100000); /* the request is in flight: 5 chunks, 300 ms apart */
    wait_conn_count(f, 3);
    uv_async_send(&f->stop_async);
    assert_true(closed_by_server(idle));
    send_s(fresh, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_resp(fresh, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Connection: close"));
    resp_free(&r);
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 5000);
    assert_true(has_header(&r, "Content-Length: 5000"));
    resp_free(&r);
    pthread_join(f->thread, NULL);
    assert_int_equal(atomic_load(&f->done_called), 1);
    assert_int_equal(atomic_load(&closes), 1);
    client_close(c);
    client_close(fresh);
    client_close(idle);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
}

static void test_graceful_stop_forces_after_grace(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    f->grace_ms = 100;
    struct client *c = client_open(f->port);
    send_s(c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    wait_conn_count(f, 1);
    usleep(20000);
    uint64_t t0 = mono_ms();
    uv_async_send(&f->stop_async);
    pthread_join(f->thread, NULL);
    assert_true(mono_ms() - t0 < 1000);
    assert_int_equal(atomic_load(&f->done_called), 1);
    client_close(c);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
}

static void test_max_connections(void **state)
{
    struct fixture *f = start_server(0, 0, 2);
    struct client *a = client_open(f->port), *b = client_open(f->port);
    wait_conn_count(f, 2);
    struct client *c = client_open(f->port);
    struct resp r;
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 503);
    resp_free(&r);
    client_close(c);
    client_close(a);
    client_close(b);
    stop_server(f);
}

/* ---- memory per idle keep-alive connection ----------------------------- */

extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static size_t heap_in_use(void)
{
    if (__sanitizer_get_current_allocated_bytes)
        return __sanitizer_get_current_allocated_bytes();
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks;
}

/* Opens n keep-alive connections that each complete one request and then sit
 * idle, and measures the server's heap growth per connection. The clients are
 * bare fds (no heap), so the delta is the server's: struct http_conn, its
 * uv_poll_t and libuv's per-fd watcher slot. Kernel socket buffers are not
 * counted. XTREAMD_HTTP_IDLE_CONNS=N (up to 9000) changes n. */
static void test_idle_memory(void **state)
{
    long n = 1000;
    const char *env = getenv("XTREAMD_HTTP_IDLE_CONNS");
    if (env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v > 0 && v <= 9000)
            n = v;
    }
    struct fixture *f = start_server(0, 0, 0);
    int *fds = calloc((size_t)n, sizeof(*fds));
    static const char req[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    /* Warm up lazily allocated state with one connection. */
    struct client *w = client_open(f->port);
    send_s(w, req);
    struct resp r;
    assert_int_equal(read_resp(w, &r, false), 0);
    resp_free(&r);
    usleep(20000);
    size_t before = heap_in_use();
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)f->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (long i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fds[i] >= 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL), sizeof(req) - 1);
    }
    for (long i = 0; i < n; i++) {
        char in[1024];
        size_t got = 0;
        while (got < 11 || memcmp(in + got - 11, "hello world", 11) != 0) {
            struct pollfd pfd = {fds[i], POLLIN, 0};
            assert_int_equal(poll(&pfd, 1, 5000), 1);
            ssize_t k = recv(fds[i], in + got, sizeof(in) - got, 0);
            assert_true(k > 0);
            got += (size_t)k;
        }
    }
    wait_conn_count(f, (size_t)n + 1);
    usleep(50000);
    size_t after = heap_in_use();
    double per = after > before ? (double)(after - before) / (double)n : 0.0;
    fprintf(stderr,
            "idle keep-alive connections: %ld, server heap %zu -> %zu bytes, %.0f bytes each\n", n,
            before, after, per);
    assert_true(after > before); /* the measurement sees the connections at all */
    assert_true(per < 2048.0);
    for (long i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    client_close(w);
    wait_conn_count(f, 0);
    stop_server(f);
}

static void test_access_log_redacts(void **state)
{
    struct fixture *f = start_server(0, 0, 0);
    char path[] = "/tmp/xtreamd-http-log-XXXXXX";
    int lfd = mkstemp(path);
    assert_true(lfd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(lfd, 2);
    log_set_level(LOG_INFO);
    struct client *c = client_open(f->port);
    send_s(c, "GET /echo?username=bob&password=hunter2&token=tok123&x=1 HTTP/1.1\r\nHost: t\r\n"
              "User-Agent: Test \"UA\"\r\n\r\n"
              "GET /hidden HTTP/1.1\r\nHost: t\r\n\r\n");
    struct resp r;
    assert_int_equal(read_resp(c, &r, false), 0);
    resp_free(&r);
    assert_int_equal(read_resp(c, &r, false), 0);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    client_close(c);
    stop_server(f);
    log_set_level(LOG_WARN);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char text[4096] = {0};
    ssize_t n = pread(lfd, text, sizeof(text) - 1, 0);
    close(lfd);
    unlink(path);
    assert_true(n > 0);
    assert_null(strstr(text, "hunter2"));
    assert_null(strstr(text, "tok123"));
    assert_non_null(
        strstr(text, "127.0.0.1 \"GET /echo?username=bob&password=***&token=***&x=1\" 200 "));
    assert_non_null(strstr(text, "\"Test \\x22UA\\x22\""));
    assert_non_null(strstr(text, "\"GET /hidden/***\" 404 4 "));
}

int main(void)
{
    log_set_level(LOG_WARN);
    shared_rb = refbuf_new("SHARED", 6);
    if (fdref_new_memfd("test", &test_mf) || pwrite(test_mf->fd, "FDFDFD", 6, 0) != 6)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive_two_requests),
        cmocka_unit_test(test_pipelined_in_order),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_large_response_slow_reader),
        cmocka_unit_test(test_error_statuses),
        cmocka_unit_test(test_post_form_and_continue),
        cmocka_unit_test(test_header_timeout),
        cmocka_unit_test(test_idle_close),
        cmocka_unit_test(test_streamed_bodies),
        cmocka_unit_test(test_deferred_response),
        cmocka_unit_test(test_close_inside_walk),
        cmocka_unit_test(test_ref_slice_source),
        cmocka_unit_test(test_memfd_slices),
        cmocka_unit_test(test_wake_writes_first),
        cmocka_unit_test(test_file_body),
        cmocka_unit_test(test_graceful_stop),
        cmocka_unit_test(test_graceful_stop_forces_after_grace),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_access_log_redacts),
        cmocka_unit_test(test_idle_memory),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    refbuf_unref(shared_rb);
    fdref_unref(test_mf);
    return rc;
}
