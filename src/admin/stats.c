/*
 * admin/stats: the sampler and its 24 h ring (see stats.h).
 */
#include "admin/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "admin/events.h"
#include "auth/connections.h"
#include "http/server.h"

struct stats {
    struct stats_sources src;
    struct events *events;
    int64_t start_ms;
    /* the previous tick (the "now" sample's rates are against it) */
    bool have_prev;
    int64_t prev_ms;
    struct stats_reading prev;
    struct stats_point now;
    /* the open 10 s slot: its start and the readings at its boundary */
    int64_t slot;    /* Unix seconds / STATS_STEP_S */
    int64_t slot_ms; /* the tick that opened it */
    struct stats_reading slot_rd;
    /* the ring: oldest at (head - count) mod STATS_RING */
    struct stats_point *ring;
    size_t head, count;
    /* the most watched channels as the previous tick saw them (watch_channels) */
    struct watched {
        int64_t id;
        char state[16];
        int source;
    } watch[STATS_WATCH];
    size_t nwatch;
};

int stats_new(const struct stats_sources *src, int64_t now_ms, struct stats **out)
{
    struct stats *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->ring = calloc(STATS_RING, sizeof(*st->ring));
    if (!st->ring) {
        free(st);
        return -ENOMEM;
    }
    if (src)
        st->src = *src;
    st->start_ms = now_ms;
    *out = st;
    return 0;
}

void stats_free(struct stats *st)
{
    if (!st)
        return;
    free(st->ring);
    free(st);
}

void stats_set_sources(struct stats *st, const struct stats_sources *src)
{
    st->src = src ? *src : (struct stats_sources){0};
}

void stats_set_events(struct stats *st, struct events *ev)
{
    st->events = ev;
}

/* Resident set size from /proc/self/statm (pages); 0 if unreadable. */
static uint64_t read_rss(void)
{
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char b[128];
    ssize_t n = read(fd, b, sizeof(b) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    b[n] = '\0';
    char *p = b, *end;
    strtoull(p, &end, 10); /* size */
    if (end == p)
        return 0;
    p = end;
    unsigned long long pages = strtoull(p, &end, 10);
    if (end == p)
        return 0;
    long psz = sysconf(_SC_PAGESIZE);
    return (uint64_t)pages * (uint64_t)(psz > 0 ? psz : 4096);
}

static uint64_t read_cpu_ns(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    uint64_t us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
                  (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
    return us * 1000u;
}

void stats_read(const struct stats *st, struct stats_reading *out)
{
    *out = (struct stats_reading){0};
    if (st->src.live) {
        struct live_stats ls;
        live_stats(st->src.live, &ls);
        out->bytes_in = ls.bytes_in;
        for (int i = 0; i < LIVE_STATE_COUNT; i++)
            out->channels[i] = (uint32_t)ls.channels[i];
    }
    if (st->src.conns) {
        const struct conn_registry *r = st->src.conns;
        out->viewers_live = (uint32_t)(conn_registry_active_kind(r, CONN_LIVE) +
                                       conn_registry_active_kind(r, CONN_TIMESHIFT));
        out->viewers_hls = (uint32_t)conn_registry_active_kind(r, CONN_HLS);
        out->viewers_vod = (uint32_t)(conn_registry_active_kind(r, CONN_MOVIE) +
                                      conn_registry_active_kind(r, CONN_EPISODE));
    }
    if (st->src.http)
        out->bytes_out = http_server_bytes_sent(st->src.http);
    out->cpu_ns = read_cpu_ns();
    out->rss_bytes = read_rss();
}

/* A counter's growth per second; a counter that went down counts as 0. */
static double rate(uint64_t from, uint64_t to, int64_t ms)
{
    return to > from && ms > 0 ? (double)(to - from) * 1000.0 / (double)ms : 0.0;
}

/* The point for the interval [a_ms, b_ms] from its two readings (gauges of b). */
static void make_point(struct stats_point *p, int64_t t, const struct stats_reading *a,
                       int64_t a_ms, const struct stats_reading *b, int64_t b_ms)
{
    int64_t ms = b_ms - a_ms;
    *p = (struct stats_point){.t = t};
    p->out_bps = rate(a->bytes_out, b->bytes_out, ms);
    p->in_bps = rate(a->bytes_in, b->bytes_in, ms);
    /* ns of CPU per ms of wall time: / 1e6 for the ratio, * 100 for percent. */
    p->cpu_percent = b->cpu_ns > a->cpu_ns && ms > 0
                         ? (double)(b->cpu_ns - a->cpu_ns) / ((double)ms * 1e4)
                         : 0.0;
    p->rss_bytes = b->rss_bytes;
    p->viewers = b->viewers_live + b->viewers_hls + b->viewers_vod;
    p->viewers_live = b->viewers_live;
    p->viewers_hls = b->viewers_hls;
    p->viewers_vod = b->viewers_vod;
    memcpy(p->channels, b->channels, sizeof(p->channels));
}

static void keep_rates(struct stats_point *p, const struct stats_reading *b)
{
    struct stats_point q;
    make_point(&q, p->t, b, 0, b, 0);
    q.out_bps = p->out_bps;
    q.in_bps = p->in_bps;
    q.cpu_percent = p->cpu_percent;
    *p = q;
}

static void ring_push(struct stats *st, const struct stats_point *p)
{
    st->ring[st->head] = *p;
    st->head = (st->head + 1) % STATS_RING;
    if (st->count < STATS_RING)
        st->count++;
}

/* The i-th point, oldest first (i < count). */
static const struct stats_point *ring_at(const struct stats *st, size_t i)
{
    return &st->ring[(st->head + STATS_RING - st->count + i) % STATS_RING];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void stats_record(struct stats *st, int64_t now_ms, const struct stats_reading *rd)
{
    int64_t slot = floor_div(floor_div(now_ms, 1000), STATS_STEP_S);
    if (!st->have_prev) {
        st->have_prev = true;
        make_point(&st->now, slot * STATS_STEP_S, rd, now_ms, rd, now_ms);
        st->now.t = floor_div(now_ms, 1000);
        st->prev = *rd;
        st->prev_ms = now_ms;
        st->slot = slot;
        st->slot_ms = now_ms;
        st->slot_rd = *rd;
        return;
    }
    if (now_ms > st->prev_ms)
        make_point(&st->now, floor_div(st->prev_ms, 1000), &st->prev, st->prev_ms, rd, now_ms);
    else /* the clock stood still or went back: new gauges, the rates kept */
        keep_rates(&st->now, rd);
    st->prev = *rd;
    st->prev_ms = now_ms;
    /* A later slot closes the open one; after a clock stepped back, a slot
     * not later than the newest point is dropped so times keep increasing. */
    if (slot > st->slot &&
        (st->count == 0 || st->slot * STATS_STEP_S > ring_at(st, st->count - 1)->t)) {
        struct stats_point p;
        make_point(&p, st->slot * STATS_STEP_S, &st->slot_rd, st->slot_ms, rd, now_ms);
        ring_push(st, &p);
    }
    if (slot != st->slot) { /* a later slot, or the clock went back: a new one opens */
        st->slot = slot;
        st->slot_ms = now_ms;
        st->slot_rd = *rd;
    }
}

void stats_limit_hit(void *ctx, int64_t line_id, int max, int kicked)
{
    struct stats *st = ctx;
    if (!st->events)
        return;
    char data[160];
    snprintf(data, sizeof(data), "{\"line_id\":%lld,\"max_connections\":%d,\"kicked\":%d}",
             (long long)line_id, max, kicked);
    events_publish(st->events, "limit", data);
}

static void publish_channel(struct stats *st, const struct live_channel_stat *c,
                            const struct live_channel_brief *b, const struct watched *prev)
{
    struct buf out = BUF_INIT(512);
    struct jsonw w;
    jsonw_init(&w, &out);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "id");
    jsonw_int(&w, c->id);
    jsonw_key(&w, "name");
    jsonw_str(&w, c->name);
    jsonw_key(&w, "state");
    jsonw_str(&w, b->state);
    jsonw_key(&w, "previous_state");
    if (prev)
        jsonw_str(&w, prev->state);
    else
        jsonw_null(&w);
    jsonw_key(&w, "source_index");
    jsonw_int(&w, b->source_index);
    jsonw_key(&w, "previous_source_index");
    if (prev)
        jsonw_int(&w, prev->source);
    else
        jsonw_null(&w);
    jsonw_key(&w, "viewers");
    jsonw_int(&w, (int64_t)(c->viewers + c->hls_sessions));
    jsonw_obj_end(&w);
    if (!out.err && buf_putc(&out, '\0') == 0)
        events_publish(st->events, "channel", out.data);
    buf_free(&out);
}

/* A `channel` event when one of the STATS_WATCH most watched channels
 * changes state or source (a failover), or first shows up on a backup
 * source. Sampled once a tick: a change undone within a second is not
 * seen; channels nobody watches are not followed (no viewer to tell). */
static void watch_channels(struct stats *st)
{
    struct live_channel_stat top[STATS_WATCH];
    struct watched next[STATS_WATCH];
    size_t n = live_top_channels(st->src.live, top, STATS_WATCH), nn = 0;
    for (size_t i = 0; i < n; i++) {
        struct live_channel_brief b;
        if (!live_channel_brief(st->src.live, top[i].id, &b) || !b.state)
            continue;
        const struct watched *prev = NULL;
        for (size_t j = 0; j < st->nwatch && !prev; j++)
            if (st->watch[j].id == top[i].id)
                prev = &st->watch[j];
        struct watched *w = &next[nn++];
        w->id = top[i].id;
        snprintf(w->state, sizeof(w->state), "%s", b.state);
        w->source = b.source_index;
        if (prev ? strcmp(prev->state, w->state) != 0 || prev->source != w->source : w->source > 0)
            publish_channel(st, &top[i], &b, prev);
    }
    memcpy(st->watch, next, nn * sizeof(next[0]));
    st->nwatch = nn;
}

void stats_tick(struct stats *st, int64_t now_ms)
{
    struct stats_reading rd;
    stats_read(st, &rd);
    stats_record(st, now_ms, &rd);
    if (!st->events)
        return;
    if (st->src.live)
        watch_channels(st);
    struct buf b = BUF_INIT(4096);
    struct jsonw w;
    jsonw_init(&w, &b);
    stats_counters_json(st, &w);
    if (!b.err && buf_putc(&b, '\0') == 0)
        events_publish(st->events, "counters", b.data);
    buf_free(&b);
}

size_t stats_points(const struct stats *st, int64_t *oldest, int64_t *newest)
{
    *oldest = st->count ? ring_at(st, 0)->t : 0;
    *newest = st->count ? ring_at(st, st->count - 1)->t : 0;
    return st->count;
}

void stats_now(const struct stats *st, struct stats_point *out)
{
    *out = st->now;
}

/* The first ring index whose time is >= t (binary search: times increase). */
static size_t ring_lower_bound(const struct stats *st, int64_t t)
{
    size_t lo = 0, hi = st->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring_at(st, mid)->t < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void max_u32(uint32_t *a, uint32_t b)
{
    if (b > *a)
        *a = b;
}

int stats_series(const struct stats *st, int64_t from, int64_t to, int step,
                 void (*fn)(void *ctx, const struct stats_point *p), void *ctx)
{
    if (step <= 0 || step % STATS_STEP_S != 0 || step > 86400 || from > to)
        return -EINVAL;
    /* Buckets whose start is in [from, to]: points from the first bucket
     * start >= from up to the end of the bucket that starts at or before to. */
    int64_t first = floor_div(from, step) * step;
    if (first < from)
        first += step;
    if (first > to)
        return 0;
    int64_t last_end = floor_div(to, step) * step + step; /* exclusive */
    int n = 0;
    struct stats_point acc;
    double sum_out = 0, sum_in = 0, sum_cpu = 0, sum_rss = 0;
    size_t k = 0;
    for (size_t i = ring_lower_bound(st, first); i < st->count; i++) {
        const struct stats_point *p = ring_at(st, i);
        if (p->t >= last_end)
            break;
        int64_t b = floor_div(p->t, step) * step;
        if (k && b != acc.t) {
            acc.out_bps = sum_out / (double)k;
            acc.in_bps = sum_in / (double)k;
            acc.cpu_percent = sum_cpu / (double)k;
            acc.rss_bytes = (uint64_t)(sum_rss / (double)k);
            fn(ctx, &acc);
            n++;
            k = 0;
        }
        if (k == 0) {
            acc = (struct stats_point){.t = b};
            sum_out = sum_in = sum_cpu = sum_rss = 0;
        }
        sum_out += p->out_bps;
        sum_in += p->in_bps;
        sum_cpu += p->cpu_percent;
        sum_rss += (double)p->rss_bytes;
        max_u32(&acc.viewers, p->viewers); /* the peak of the sum, not the sum of peaks */
        max_u32(&acc.viewers_live, p->viewers_live);
        max_u32(&acc.viewers_hls, p->viewers_hls);
        max_u32(&acc.viewers_vod, p->viewers_vod);
        for (int s = 0; s < LIVE_STATE_COUNT; s++)
            max_u32(&acc.channels[s], p->channels[s]);
        k++;
    }
    if (k) {
        acc.out_bps = sum_out / (double)k;
        acc.in_bps = sum_in / (double)k;
        acc.cpu_percent = sum_cpu / (double)k;
        acc.rss_bytes = (uint64_t)(sum_rss / (double)k);
        fn(ctx, &acc);
        n++;
    }
    return n;
}

/* ---- JSON ---------------------------------------------------------------- */

const char *const stats_columns[] = {
    "time",
    "viewers",
    "viewers_live",
    "viewers_hls",
    "viewers_vod",
    "out_bytes_per_second",
    "in_bytes_per_second",
    "cpu_percent",
    "memory_rss_bytes",
    "channels_idle",
    "channels_starting",
    "channels_running",
    "channels_failing",
    "channels_slate",
    NULL,
};

static const char *const state_keys[LIVE_STATE_COUNT] = {"idle", "starting", "running", "failing",
                                                         "slate"};

static void write_time(struct jsonw *w, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    char out[32];
    if (!gmtime_r(&tt, &tm) || !strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
        jsonw_null(w);
        return;
    }
    jsonw_str(w, out);
}

static void stats_counters_body(const struct stats *st, struct jsonw *w)
{
    const struct stats_point *p = &st->now;
    int64_t now_s = st->have_prev ? floor_div(st->prev_ms, 1000) : floor_div(st->start_ms, 1000);
    jsonw_key(w, "time");
    write_time(w, now_s);
    jsonw_key(w, "time_epoch");
    jsonw_int(w, now_s);
    jsonw_key(w, "uptime_seconds");
    jsonw_int(w, now_s - floor_div(st->start_ms, 1000) > 0 ? now_s - floor_div(st->start_ms, 1000)
                                                           : 0);
    jsonw_key(w, "viewers");
    jsonw_obj_begin(w);
    jsonw_key(w, "total");
    jsonw_int(w, p->viewers);
    jsonw_key(w, "live");
    jsonw_int(w, p->viewers_live);
    jsonw_key(w, "hls");
    jsonw_int(w, p->viewers_hls);
    jsonw_key(w, "vod");
    jsonw_int(w, p->viewers_vod);
    jsonw_obj_end(w);
    jsonw_key(w, "bandwidth");
    jsonw_obj_begin(w);
    jsonw_key(w, "out_bytes_per_second");
    jsonw_num(w, p->out_bps, 1);
    jsonw_key(w, "in_bytes_per_second");
    jsonw_num(w, p->in_bps, 1);
    jsonw_obj_end(w);
    jsonw_key(w, "cpu_percent");
    jsonw_num(w, p->cpu_percent, 1);
    jsonw_key(w, "memory_rss_bytes");
    jsonw_int(w, (long long)p->rss_bytes);
    jsonw_key(w, "channels");
    jsonw_obj_begin(w);
    for (int s = 0; s < LIVE_STATE_COUNT; s++) {
        jsonw_key(w, state_keys[s]);
        jsonw_int(w, p->channels[s]);
    }
    jsonw_obj_end(w);
}

void stats_counters_json(const struct stats *st, struct jsonw *w)
{
    jsonw_obj_begin(w);
    stats_counters_body(st, w);
    jsonw_obj_end(w);
}

void stats_summary_json(const struct stats *st, struct jsonw *w)
{
    jsonw_obj_begin(w);
    stats_counters_body(st, w);
    jsonw_key(w, "top_channels");
    jsonw_arr_begin(w);
    if (st->src.live) {
        struct live_channel_stat top[STATS_TOP];
        size_t n = live_top_channels(st->src.live, top, STATS_TOP);
        for (size_t i = 0; i < n; i++) {
            jsonw_obj_begin(w);
            jsonw_key(w, "id");
            jsonw_int(w, top[i].id);
            jsonw_key(w, "name");
            jsonw_str(w, top[i].name);
            jsonw_key(w, "state");
            jsonw_str(w, top[i].state);
            jsonw_key(w, "viewers");
            jsonw_int(w, (long long)(top[i].viewers + top[i].hls_sessions));
            jsonw_key(w, "ts_viewers");
            jsonw_int(w, (long long)top[i].viewers);
            jsonw_key(w, "hls_sessions");
            jsonw_int(w, (long long)top[i].hls_sessions);
            jsonw_obj_end(w);
        }
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

static void write_row(void *ctx, const struct stats_point *p)
{
    struct jsonw *w = ctx;
    jsonw_arr_begin(w);
    jsonw_int(w, p->t);
    jsonw_int(w, p->viewers);
    jsonw_int(w, p->viewers_live);
    jsonw_int(w, p->viewers_hls);
    jsonw_int(w, p->viewers_vod);
    jsonw_num(w, p->out_bps, 1);
    jsonw_num(w, p->in_bps, 1);
    jsonw_num(w, p->cpu_percent, 1);
    jsonw_int(w, (long long)p->rss_bytes);
    for (int s = 0; s < LIVE_STATE_COUNT; s++)
        jsonw_int(w, p->channels[s]);
    jsonw_arr_end(w);
}

static void count_row(void *ctx, const struct stats_point *p)
{
    (void)ctx;
    (void)p;
}

int stats_timeseries_json(const struct stats *st, struct jsonw *w, int64_t from, int64_t to,
                          int step)
{
    int rc = stats_series(st, from, to, step, count_row, NULL); /* validates, writes nothing */
    if (rc < 0)
        return rc;
    jsonw_obj_begin(w);
    jsonw_key(w, "from");
    jsonw_int(w, from);
    jsonw_key(w, "to");
    jsonw_int(w, to);
    jsonw_key(w, "step");
    jsonw_int(w, step);
    jsonw_key(w, "columns");
    jsonw_arr_begin(w);
    for (const char *const *c = stats_columns; *c; c++)
        jsonw_str(w, *c);
    jsonw_arr_end(w);
    jsonw_key(w, "points");
    jsonw_arr_begin(w);
    stats_series(st, from, to, step, write_row, w);
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    return 0;
}
