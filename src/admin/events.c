/*
 * admin/events: the Server-Sent Events fan-out (see events.h).
 *
 * Each subscriber owns a byte queue; publish appends the formatted event to
 * every queue (a copy each: events are small and infrequent, a few hundred
 * bytes a second) and wakes the connections waiting for data. A subscriber
 * whose queue would pass EVENTS_QUEUE_MAX is cut with http_conn_abort(): its
 * socket is not draining, so its pull() would never run to notice. The
 * subscriber's memory is freed only by its body source's close(), which the
 * server calls later from the loop, so publish may abort while walking the
 * list.
 */
#include "admin/events.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/promtext.h"

#define EVENTS_TYPE_MAX 64
#define PULL_CHUNK      (64 * 1024)

struct sub {
    struct events *ev; /* NULL once detached by events_free */
    struct sub *prev, *next;
    struct http_conn *conn;
    struct buf q; /* bytes not yet handed to the server */
    bool waiting; /* pull() said -EAGAIN: wake the connection on new data */
    bool dead;    /* cut (slow): publish skips it until close() frees it */
};

struct events {
    uv_loop_t *loop;
    uv_timer_t *keepalive; /* its own allocation: freed by its close callback */
    bool stopped;
    struct sub *subs;
    size_t nsubs;
    int64_t next_id;
    uint64_t published, slow_dropped, refused;
};

static void keepalive_tick(uv_timer_t *t);

int events_new(uv_loop_t *loop, struct events **out)
{
    struct events *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    ev->loop = loop;
    ev->next_id = 1;
    ev->keepalive = malloc(sizeof(*ev->keepalive));
    int rc = ev->keepalive ? uv_timer_init(loop, ev->keepalive) : -ENOMEM;
    if (rc) {
        free(ev->keepalive);
        free(ev);
        return rc;
    }
    ev->keepalive->data = ev;
    uv_timer_start(ev->keepalive, keepalive_tick, EVENTS_KEEPALIVE_MS, EVENTS_KEEPALIVE_MS);
    *out = ev;
    return 0;
}

static void unlink_sub(struct sub *s)
{
    struct events *ev = s->ev;
    if (!ev)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        ev->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    ev->nsubs--;
    s->ev = NULL;
}

void events_free(struct events *ev)
{
    if (!ev)
        return;
    /* Streams still open end on their own; their close() must not touch ev. */
    while (ev->subs)
        unlink_sub(ev->subs);
    free(ev);
}

static void wake(struct sub *s)
{
    if (s->waiting) {
        s->waiting = false;
        http_conn_wake(s->conn);
    }
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h);
}

void events_stop(struct events *ev)
{
    if (ev->stopped)
        return;
    ev->stopped = true;
    uv_timer_stop(ev->keepalive);
    uv_close((uv_handle_t *)ev->keepalive, on_timer_closed);
    ev->keepalive = NULL;
    /* Each stream ends (pull returns 0) once its queue is sent. */
    for (struct sub *s = ev->subs; s; s = s->next)
        wake(s);
}

static int sub_pull(void *ctx, struct buf *out, size_t budget)
{
    struct sub *s = ctx;
    if (s->dead)
        return -ECONNRESET;
    if (s->q.len == 0) {
        if (!s->ev || s->ev->stopped)
            return 0;
        s->waiting = true;
        return -EAGAIN;
    }
    size_t n = s->q.len < budget ? s->q.len : budget;
    if (n > PULL_CHUNK)
        n = PULL_CHUNK;
    if (n == 0)
        n = s->q.len < PULL_CHUNK ? s->q.len : PULL_CHUNK; /* budget 0: still progress */
    int rc = buf_append(out, s->q.data, n);
    if (rc)
        return rc;
    buf_consume(&s->q, n);
    return 1;
}

static void sub_close(void *ctx)
{
    struct sub *s = ctx;
    unlink_sub(s);
    buf_free(&s->q);
    free(s);
}

int events_subscribe(struct events *ev, struct http_response *res)
{
    if (ev->stopped || ev->nsubs >= EVENTS_MAX_SUBSCRIBERS) {
        ev->refused++;
        return -EBUSY;
    }
    struct sub *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    /* The bound is enforced by publish (so a cut is counted), not by the buf. */
    buf_init(&s->q, EVENTS_QUEUE_MAX + EVENTS_MAX_DATA + 256);
    if (buf_puts(&s->q, "retry: 3000\n\n")) {
        buf_free(&s->q);
        free(s);
        return -ENOMEM;
    }
    s->conn = http_response_conn(res);
    s->ev = ev;
    s->next = ev->subs;
    if (ev->subs)
        ev->subs->prev = s;
    ev->subs = s;
    ev->nsubs++;
    http_response_status(res, 200);
    http_response_header(res, "Content-Type", "text/event-stream");
    http_response_header(res, "Cache-Control", "no-cache");
    http_response_header(res, "X-Accel-Buffering", "no");
    /* For HEAD the server sends the head and closes the source at once. */
    struct http_body_source src = {.pull = sub_pull, .close = sub_close, .ctx = s};
    http_response_source(res, &src, -1);
    return 0;
}

static bool type_ok(const char *t)
{
    size_t n = 0;
    for (; t[n]; n++) {
        char c = t[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return n > 0 && n <= EVENTS_TYPE_MAX;
}

/* Appends the formatted bytes to every live subscriber, cutting the slow. */
static void fan_out(struct events *ev, const char *msg, size_t len)
{
    for (struct sub *s = ev->subs; s; s = s->next) {
        if (s->dead)
            continue;
        if (s->q.len + len > EVENTS_QUEUE_MAX || buf_append(&s->q, msg, len)) {
            s->dead = true;
            ev->slow_dropped++;
            log_warn("events", "subscriber cut: %zu bytes unread, the next event would pass %d",
                     s->q.len, EVENTS_QUEUE_MAX);
            buf_free(&s->q);
            http_conn_abort(s->conn);
            continue;
        }
        wake(s);
    }
}

int64_t events_publish(struct events *ev, const char *type, const char *json_data)
{
    if (!type || !json_data || !type_ok(type) || strpbrk(json_data, "\r\n"))
        return -EINVAL;
    size_t dlen = strlen(json_data);
    if (dlen > EVENTS_MAX_DATA)
        return -E2BIG;
    int64_t id = ev->next_id++;
    ev->published++;
    if (!ev->subs)
        return id;
    struct buf b = BUF_INIT(EVENTS_MAX_DATA + 256);
    buf_printf(&b, "id: %" PRId64 "\nevent: %s\ndata: ", id, type);
    buf_append(&b, json_data, dlen);
    buf_puts(&b, "\n\n");
    if (!b.err)
        fan_out(ev, b.data, b.len);
    else
        log_warn("events", "event %s could not be formatted (%d)", type, b.err);
    buf_free(&b);
    return id;
}

static void keepalive_tick(uv_timer_t *t)
{
    struct events *ev = t->data;
    static const char ka[] = ": keepalive\n\n";
    fan_out(ev, ka, sizeof(ka) - 1);
}

size_t events_subscribers(const struct events *ev)
{
    return ev->nsubs;
}

void events_metrics(const struct events *ev, struct buf *o)
{
    promtext_family(o, "xtreamd_events_subscribers", "gauge",
                    "Server-Sent Events streams open (GET /api/v1/events)");
    buf_printf(o, "xtreamd_events_subscribers %zu\n", ev->nsubs);
    promtext_family(o, "xtreamd_events_published_total", "counter", "Events published");
    buf_printf(o, "xtreamd_events_published_total %" PRIu64 "\n", ev->published);
    promtext_family(o, "xtreamd_events_slow_dropped_total", "counter",
                    "Event subscribers disconnected for leaving more than the queue bound unread");
    buf_printf(o, "xtreamd_events_slow_dropped_total %" PRIu64 "\n", ev->slow_dropped);
    promtext_family(o, "xtreamd_events_refused_total", "counter",
                    "Event subscriptions refused (subscriber bound reached, or stopping)");
    buf_printf(o, "xtreamd_events_refused_total %" PRIu64 "\n", ev->refused);
}
