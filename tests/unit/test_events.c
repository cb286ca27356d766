/*
 * Tests for src/admin/events.c over the real HTTP server (127.0.0.1:0, its
 * loop in a second thread): the event-stream head and first bytes, events
 * reaching every subscriber in order with increasing ids, refused types and
 * data, HEAD, the subscriber bound, a subscriber that stops reading being cut
 * and counted, and events_stop ending the streams. The test thread drives the
 * loop thread through a uv_async command and waits for its completion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin/events.h"
#include "http/server.h"

enum op { OP_NONE, OP_PUBLISH, OP_METRICS, OP_STOP_EVENTS, OP_SUBS };

struct fixture {
    uv_loop_t loop;
    uv_async_t cmd_async, stop_async;
    pthread_t thread;
    struct http_server *srv;
    struct events *ev;
    int port;
    /* the command (test thread writes, then sends cmd_async; loop answers) */
    enum op op;
    const char *type;
    const char *data;
    int count;
    int64_t last_rc;
    char metrics[4096];
    size_t subs;
    atomic_int done;
};

static void handler(struct http_request *req, struct http_response *res, void *ud)
{
    struct fixture *f = ud;
    if (req->segment_count == 1 && strcmp(req->segments[0], "events") == 0) {
        int rc = events_subscribe(f->ev, res);
        if (rc == -EBUSY)
            http_response_text(res, 503, "text/plain", "busy\n");
        else if (rc)
            http_response_text(res, 500, "text/plain", "error\n");
        return;
    }
    http_response_text(res, 404, "text/plain", "not found\n");
}

static void on_cmd(uv_async_t *a)
{
    struct fixture *f = a->data;
    switch (f->op) {
    case OP_PUBLISH:
        for (int i = 0; i < f->count; i++)
            f->last_rc = events_publish(f->ev, f->type, f->data);
        break;
    case OP_METRICS: {
        struct buf b = BUF_INIT(sizeof(f->metrics) - 1);
        events_metrics(f->ev, &b);
        snprintf(f->metrics, sizeof(f->metrics), "%.*s", (int)b.len, b.data ? b.data : "");
        buf_free(&b);
        break;
    }
    case OP_STOP_EVENTS:
        events_stop(f->ev);
        break;
    case OP_SUBS:
        break;
    case OP_NONE:
        break;
    }
    f->subs = events_subscribers(f->ev);
    atomic_store(&f->done, 1);
}

static void stopped(void *ud)
{
    struct fixture *f = ud;
    uv_close((uv_handle_t *)&f->cmd_async, NULL);
    uv_close((uv_handle_t *)&f->stop_async, NULL);
}

static void on_stop(uv_async_t *a)
{
    struct fixture *f = a->data;
    events_stop(f->ev);
    http_server_stop(f->srv, 2000, stopped, f);
}

static void *loop_thread(void *arg)
{
    struct fixture *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    assert_int_equal(events_new(&f->loop, &f->ev), 0);
    struct http_server_config cfg = {
        .host = "127.0.0.1", .port = 0, .handler = handler, .handler_ud = f};
    assert_int_equal(http_server_start(&f->loop, &cfg, &f->srv), 0);
    f->port = http_server_port(f->srv);
    uv_async_init(&f->loop, &f->cmd_async, on_cmd);
    f->cmd_async.data = f;
    uv_async_init(&f->loop, &f->stop_async, on_stop);
    f->stop_async.data = f;
    assert_int_equal(pthread_create(&f->thread, NULL, loop_thread, f), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    uv_async_send(&f->stop_async);
    pthread_join(f->thread, NULL);
    events_free(f->ev);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs a command on the loop thread and waits for it (generous deadline). */
static void run(struct fixture *f, enum op op, const char *type, const char *data, int count)
{
    f->op = op;
    f->type = type;
    f->data = data;
    f->count = count;
    atomic_store(&f->done, 0);
    uv_async_send(&f->cmd_async);
    uint64_t deadline = mono_ms() + 30000;
    while (!atomic_load(&f->done)) {
        assert_true(mono_ms() < deadline);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

struct client {
    int fd;
    char buf[1 << 17];
    size_t len;
};

static struct client *dial(int port, int rcvbuf)
{
    struct client *c = calloc(1, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    if (rcvbuf)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return c;
}

static void sendstr(struct client *c, const char *s)
{
    assert_int_equal(send(c->fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Reads until `want` appears in what was received (true), EOF (false) or the deadline. */
static bool read_until(struct client *c, const char *want)
{
    uint64_t deadline = mono_ms() + 30000;
    for (;;) {
        c->buf[c->len] = '\0';
        if (want && strstr(c->buf, want))
            return true;
        assert_true(mono_ms() < deadline);
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0)
            continue;
        assert_true(c->len < sizeof(c->buf) - 1);
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
        if (n <= 0)
            return false;
        c->len += (size_t)n;
    }
}

/* Like read_until for long streams: keeps only a tail of what was read. */
static bool drain_until(struct client *c, const char *want)
{
    size_t wl = strlen(want);
    uint64_t deadline = mono_ms() + 30000;
    for (;;) {
        c->buf[c->len] = '\0';
        if (strstr(c->buf, want))
            return true;
        if (c->len >= wl) { /* keep the last wl - 1 bytes: a match may straddle reads */
            memmove(c->buf, c->buf + c->len - (wl - 1), wl - 1);
            c->len = wl - 1;
        }
        assert_true(mono_ms() < deadline);
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0)
            continue;
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
        if (n <= 0)
            return false;
        c->len += (size_t)n;
    }
}

static void client_free(struct client *c)
{
    close(c->fd);
    free(c);
}

static struct client *subscribe(struct fixture *f)
{
    struct client *c = dial(f->port, 0);
    sendstr(c, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(read_until(c, "retry: 3000\n\n"));
    return c;
}

/* Waits until the loop counts n subscribers (their close() ran). */
static void wait_subs(struct fixture *f, size_t n)
{
    uint64_t deadline = mono_ms() + 30000;
    for (;;) {
        run(f, OP_SUBS, NULL, NULL, 0);
        if (f->subs == n)
            return;
        assert_true(mono_ms() < deadline);
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
}

static void test_stream(void **state)
{
    struct fixture *f = *state;
    struct client *a = subscribe(f), *b = subscribe(f);
    assert_non_null(strstr(a->buf, "HTTP/1.1 200"));
    assert_non_null(strstr(a->buf, "Content-Type: text/event-stream\r\n"));
    assert_non_null(strstr(a->buf, "Cache-Control: no-cache\r\n"));
    assert_null(strstr(a->buf, "Content-Length"));
    wait_subs(f, 2);
    run(f, OP_PUBLISH, "counters", "{\"x\":1}", 1);
    assert_int_equal(f->last_rc, 1);
    run(f, OP_PUBLISH, "line.updated", "{\"id\":7}", 2);
    assert_int_equal(f->last_rc, 3);
    const char *want = "id: 1\nevent: counters\ndata: {\"x\":1}\n\n"
                       "id: 2\nevent: line.updated\ndata: {\"id\":7}\n\n"
                       "id: 3\nevent: line.updated\ndata: {\"id\":7}\n\n";
    assert_true(read_until(a, want));
    assert_true(read_until(b, want));
    /* A later subscriber gets only later events (no replay). */
    struct client *c = subscribe(f);
    run(f, OP_PUBLISH, "counters", "[]", 1);
    assert_true(read_until(c, "retry: 3000\n\nid: 4\nevent: counters\ndata: []\n\n"));
    assert_null(strstr(c->buf, "id: 1\n"));
    assert_true(read_until(a, "id: 4\nevent: counters\ndata: []\n\n"));
    /* A subscriber that leaves is forgotten. */
    client_free(b);
    wait_subs(f, 2);
    client_free(a);
    client_free(c);
    wait_subs(f, 0);
}

static void test_refused_input(void **state)
{
    struct fixture *f = *state;
    struct client *a = subscribe(f);
    run(f, OP_PUBLISH, "bad type", "{}", 1);
    assert_int_equal(f->last_rc, -EINVAL);
    run(f, OP_PUBLISH, "", "{}", 1);
    assert_int_equal(f->last_rc, -EINVAL);
    run(f, OP_PUBLISH, "Upper", "{}", 1);
    assert_int_equal(f->last_rc, -EINVAL);
    run(f, OP_PUBLISH, "t", "{\"a\":\n1}", 1); /* a newline would end the data field */
    assert_int_equal(f->last_rc, -EINVAL);
    run(f, OP_PUBLISH, "t", "{\"a\":\r1}", 1);
    assert_int_equal(f->last_rc, -EINVAL);
    char *big = malloc(EVENTS_MAX_DATA + 2);
    memset(big, 'x', EVENTS_MAX_DATA + 1);
    big[0] = '"';
    big[EVENTS_MAX_DATA] = '"';
    big[EVENTS_MAX_DATA + 1] = '\0';
    run(f, OP_PUBLISH, "t", big, 1);
    assert_int_equal(f->last_rc, -E2BIG);
    free(big);
    /* No id was used by the refusals. */
    run(f, OP_PUBLISH, "ok", "1", 1);
    assert_int_equal(f->last_rc, 1);
    assert_true(read_until(a, "retry: 3000\n\nid: 1\nevent: ok\ndata: 1\n\n"));
    client_free(a);
    wait_subs(f, 0);
}

static void test_head(void **state)
{
    struct fixture *f = *state;
    struct client *c = dial(f->port, 0);
    sendstr(c, "HEAD /events HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(read_until(c, "\r\n\r\n"));
    assert_non_null(strstr(c->buf, "HTTP/1.1 200"));
    assert_non_null(strstr(c->buf, "text/event-stream"));
    /* No body, and no subscriber left behind. */
    assert_null(strstr(c->buf, "retry:"));
    wait_subs(f, 0);
    client_free(c);
}

static void test_bound(void **state)
{
    struct fixture *f = *state;
    struct client *subs[EVENTS_MAX_SUBSCRIBERS];
    for (int i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++)
        subs[i] = subscribe(f);
    struct client *x = dial(f->port, 0);
    sendstr(x, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(read_until(x, "busy\n"));
    assert_non_null(strstr(x->buf, "HTTP/1.1 503"));
    client_free(x);
    run(f, OP_METRICS, NULL, NULL, 0);
    assert_non_null(strstr(f->metrics, "xtreamd_events_refused_total 1\n"));
    assert_non_null(strstr(f->metrics, "xtreamd_events_subscribers 64\n"));
    for (int i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++)
        client_free(subs[i]);
    wait_subs(f, 0);
}

static void test_slow_cut(void **state)
{
    struct fixture *f = *state;
    struct client *slow = dial(f->port, 4096);
    sendstr(slow, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    struct client *fast = subscribe(f);
    wait_subs(f, 2);
    /* 60 KiB events until the slow one (which never reads) is cut: kernel
     * buffers and the server's queue take some, then the 256 KiB bound. */
    size_t dlen = 60 * 1024;
    char *data = malloc(dlen + 1);
    memset(data, 'y', dlen);
    data[0] = '"';
    data[dlen - 1] = '"';
    data[dlen] = '\0';
    uint64_t deadline = mono_ms() + 60000;
    int published = 0;
    for (;;) {
        run(f, OP_PUBLISH, "big", data, 4);
        published += 4;
        /* The fast one keeps reading everything. */
        char want[32];
        snprintf(want, sizeof(want), "id: %d\n", published);
        assert_true(drain_until(fast, want));
        run(f, OP_METRICS, NULL, NULL, 0);
        if (strstr(f->metrics, "xtreamd_events_slow_dropped_total 1\n"))
            break;
        assert_true(mono_ms() < deadline);
    }
    free(data);
    /* The slow one's connection is closed (after what the kernel holds). */
    slow->len = 0;
    uint64_t d2 = mono_ms() + 30000;
    for (;;) {
        struct pollfd p = {slow->fd, POLLIN, 0};
        assert_true(mono_ms() < d2);
        if (poll(&p, 1, 1000) <= 0)
            continue;
        ssize_t n = recv(slow->fd, slow->buf, sizeof(slow->buf) - 1, 0);
        if (n <= 0)
            break;
    }
    wait_subs(f, 1);
    /* The fast one still gets events. */
    run(f, OP_PUBLISH, "after", "0", 1);
    assert_true(drain_until(fast, "event: after\ndata: 0\n\n"));
    client_free(slow);
    client_free(fast);
    wait_subs(f, 0);
}

static void test_stop(void **state)
{
    struct fixture *f = *state;
    struct client *a = subscribe(f);
    run(f, OP_PUBLISH, "last", "1", 1);
    run(f, OP_STOP_EVENTS, NULL, NULL, 0);
    /* The queued event still arrives, then the stream ends. */
    assert_false(read_until(a, NULL));
    assert_non_null(strstr(a->buf, "event: last\ndata: 1\n\n"));
    client_free(a);
    wait_subs(f, 0);
    struct client *b = dial(f->port, 0);
    sendstr(b, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(read_until(b, "busy\n"));
    client_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
