/*
 * Unit tests for src/admin/stats.c: the 1 s "now" sample's rates, the 10 s
 * ring (slot boundaries, gaps, a clock stepped back, wrap-around at 24 h),
 * the aggregation of stats_series (bucket starts, means and peaks, range
 * bounds, step validation) and the JSON shapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/stats.h"

#define T0 1777629600LL /* a multiple of 10 (2026-05-01T10:00:00Z) */

static struct stats *new_stats(void)
{
    struct stats *st;
    assert_int_equal(stats_new(NULL, T0 * 1000, &st), 0);
    return st;
}

/* A reading after `s` seconds at constant rates: out 1000 B/s, in 500 B/s,
 * CPU a quarter of a core; gauges as given. */
static struct stats_reading at(int64_t s, uint32_t live, uint32_t hls, uint32_t vod)
{
    struct stats_reading r = {
        .bytes_out = (uint64_t)s * 1000,
        .bytes_in = (uint64_t)s * 500,
        .cpu_ns = (uint64_t)s * 250000000ULL,
        .rss_bytes = 1000000 + (uint64_t)s,
        .viewers_live = live,
        .viewers_hls = hls,
        .viewers_vod = vod,
    };
    r.channels[LIVE_STATE_RUNNING] = live ? 1 : 0;
    r.channels[LIVE_STATE_IDLE] = 2;
    return r;
}

static void tick(struct stats *st, int64_t s, uint32_t live)
{
    struct stats_reading r = at(s, live, 0, 0);
    stats_record(st, (T0 + s) * 1000, &r);
}

struct collect {
    struct stats_point p[STATS_RING + 2];
    size_t n;
};
static void collect_fn(void *ctx, const struct stats_point *p)
{
    struct collect *c = ctx;
    c->p[c->n++] = *p;
}

static void test_now_sample(void **state)
{
    struct stats *st = new_stats();
    struct stats_point now;
    struct stats_reading r = at(0, 3, 2, 1);
    stats_record(st, T0 * 1000, &r);
    stats_now(st, &now);
    assert_int_equal(now.viewers, 6);
    assert_true(now.out_bps == 0.0); /* no rate from a single reading */
    r = at(2, 3, 2, 1);
    stats_record(st, (T0 + 2) * 1000, &r);
    stats_now(st, &now);
    assert_true(now.out_bps == 1000.0);
    assert_true(now.in_bps == 500.0);
    assert_true(now.cpu_percent > 24.99 && now.cpu_percent < 25.01);
    assert_int_equal(now.viewers_live, 3);
    assert_int_equal(now.viewers_hls, 2);
    assert_int_equal(now.viewers_vod, 1);
    assert_int_equal(now.channels[LIVE_STATE_RUNNING], 1);
    /* A counter that went down (a channel forgotten) is a rate of 0, not a wrap. */
    r = at(3, 3, 2, 1);
    r.bytes_in = 10;
    stats_record(st, (T0 + 3) * 1000, &r);
    stats_now(st, &now);
    assert_true(now.in_bps == 0.0);
    assert_true(now.out_bps == 1000.0);
    /* The clock standing still: new gauges, the rates kept. */
    r = at(3, 9, 0, 0);
    r.bytes_in = 10;
    stats_record(st, (T0 + 3) * 1000, &r);
    stats_now(st, &now);
    assert_int_equal(now.viewers, 9);
    assert_true(now.out_bps == 1000.0);
    stats_free(st);
}

static void test_ring_slots(void **state)
{
    struct stats *st = new_stats();
    int64_t oldest, newest;
    /* Ticks every second from T0+0 to T0+35: slots 0,10,20 closed, 30 open. */
    for (int s = 0; s <= 35; s++)
        tick(st, s, (uint32_t)s);
    assert_int_equal(stats_points(st, &oldest, &newest), 3);
    assert_int_equal(oldest, T0);
    assert_int_equal(newest, T0 + 20);
    struct collect c = {.n = 0};
    assert_int_equal(stats_series(st, T0, T0 + 100, 10, collect_fn, &c), 3);
    assert_int_equal(c.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(c.p[i].t, T0 + 10 * (int64_t)i);
        assert_true(c.p[i].out_bps == 1000.0);
        assert_true(c.p[i].in_bps == 500.0);
        /* Gauges of the tick that closed the slot (the next slot's first). */
        assert_int_equal(c.p[i].viewers_live, 10 * (i + 1));
    }
    stats_free(st);
}

static void test_gap_and_clock_back(void **state)
{
    struct stats *st = new_stats();
    int64_t oldest, newest;
    tick(st, 0, 1);
    tick(st, 5, 1);
    /* The loop stalls 40 s: one point for slot 0, over the whole 45 s. */
    tick(st, 45, 2);
    assert_int_equal(stats_points(st, &oldest, &newest), 1);
    assert_int_equal(newest, T0);
    struct collect c = {.n = 0};
    stats_series(st, T0, T0 + 100, 10, collect_fn, &c);
    assert_int_equal(c.n, 1);
    assert_true(c.p[0].out_bps == 1000.0); /* the rate over 45 s, still 1000/s */
    tick(st, 51, 2);                       /* closes slot 40 */
    assert_int_equal(stats_points(st, &oldest, &newest), 2);
    assert_int_equal(newest, T0 + 40);
    /* The clock steps back 30 s: no point, a new slot opens; times keep increasing. */
    tick(st, 21, 3);
    tick(st, 25, 3);
    assert_int_equal(stats_points(st, &oldest, &newest), 2);
    tick(st, 31, 3); /* closes slot 20, not later than the newest point: dropped */
    assert_int_equal(stats_points(st, &oldest, &newest), 2);
    assert_int_equal(newest, T0 + 40);
    tick(st, 61, 3); /* closes slot 30: dropped too */
    assert_int_equal(stats_points(st, &oldest, &newest), 2);
    tick(st, 71, 3); /* closes slot 60 */
    assert_int_equal(stats_points(st, &oldest, &newest), 3);
    assert_int_equal(newest, T0 + 60);
    c.n = 0;
    stats_series(st, T0, T0 + 100, 10, collect_fn, &c);
    for (size_t i = 1; i < c.n; i++)
        assert_true(c.p[i].t > c.p[i - 1].t);
    stats_free(st);
}

static void test_wrap_24h(void **state)
{
    struct stats *st = new_stats();
    int64_t oldest, newest;
    /* One tick per slot for 24 h + 100 slots. */
    int64_t slots = STATS_RING + 100;
    for (int64_t i = 0; i <= slots; i++)
        tick(st, i * 10, (uint32_t)(i % 1000));
    assert_int_equal(stats_points(st, &oldest, &newest), STATS_RING);
    assert_int_equal(newest, T0 + (slots - 1) * 10);
    assert_int_equal(oldest, newest - (STATS_RING - 1) * 10);
    /* The whole day at 10 s: every point, in order. */
    struct collect *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    assert_int_equal(stats_series(st, oldest - 1000, newest + 1000, 10, collect_fn, c), STATS_RING);
    assert_int_equal(c->p[0].t, oldest);
    assert_int_equal(c->p[STATS_RING - 1].t, newest);
    /* A range inside the ring, bounds inclusive on bucket starts. */
    c->n = 0;
    assert_int_equal(stats_series(st, newest - 50, newest - 20, 10, collect_fn, c), 4);
    assert_int_equal(c->p[0].t, newest - 50);
    assert_int_equal(c->p[3].t, newest - 20);
    /* A range before the ring: nothing. */
    c->n = 0;
    assert_int_equal(stats_series(st, T0, T0 + 500, 10, collect_fn, c), 0);
    free(c);
    stats_free(st);
}

static void test_aggregation(void **state)
{
    struct stats *st = new_stats();
    /* Slots 0..11 (two minutes) with viewers 0..11 and rss growing. */
    for (int s = 0; s <= 120; s += 10)
        tick(st, s, (uint32_t)(s / 10));
    struct collect c = {.n = 0};
    assert_int_equal(stats_series(st, T0, T0 + 119, 60, collect_fn, &c), 2);
    assert_int_equal(c.p[0].t, T0);
    assert_int_equal(c.p[1].t, T0 + 60);
    /* Peaks of the viewers (gauges of the closing tick: 1..6, 7..12). */
    assert_int_equal(c.p[0].viewers_live, 6);
    assert_int_equal(c.p[0].viewers, 6);
    assert_int_equal(c.p[1].viewers_live, 12);
    /* Means of the rates and RSS. */
    assert_true(c.p[0].out_bps == 1000.0);
    assert_true(c.p[0].cpu_percent > 24.99 && c.p[0].cpu_percent < 25.01);
    /* rss of closing ticks 10..60: mean 1000035. */
    assert_int_equal(c.p[0].rss_bytes, 1000035);
    /* from not on a bucket start: the first bucket starting at or after it. */
    c.n = 0;
    assert_int_equal(stats_series(st, T0 + 1, T0 + 119, 60, collect_fn, &c), 1);
    assert_int_equal(c.p[0].t, T0 + 60);
    /* to inside a bucket: that bucket is whole. */
    c.n = 0;
    assert_int_equal(stats_series(st, T0, T0 + 61, 60, collect_fn, &c), 2);
    assert_int_equal(c.p[1].viewers_live, 12);
    /* Buckets aligned to multiples of step (Unix time), not to from. */
    c.n = 0;
    assert_int_equal(stats_series(st, T0 - 30, T0 + 200, 30, collect_fn, &c), 4);
    assert_int_equal(c.p[0].t, T0);
    assert_int_equal(c.p[3].t, T0 + 90);
    /* Validation. */
    assert_int_equal(stats_series(st, T0, T0 + 100, 0, collect_fn, &c), -EINVAL);
    assert_int_equal(stats_series(st, T0, T0 + 100, 15, collect_fn, &c), -EINVAL);
    assert_int_equal(stats_series(st, T0, T0 + 100, -10, collect_fn, &c), -EINVAL);
    assert_int_equal(stats_series(st, T0, T0 + 100, 86410, collect_fn, &c), -EINVAL);
    assert_int_equal(stats_series(st, T0 + 100, T0, 10, collect_fn, &c), -EINVAL);
    assert_int_equal(stats_series(st, T0, T0, 86400, collect_fn, &c), 0); /* T0 not a day start */
    stats_free(st);
}

static json_t *render(struct stats *st, int which, int64_t from, int64_t to, int step, int *rc)
{
    struct buf b = BUF_INIT(1 << 22);
    struct jsonw w;
    jsonw_init(&w, &b);
    *rc = 0;
    if (which == 0)
        stats_counters_json(st, &w);
    else if (which == 1)
        stats_summary_json(st, &w);
    else
        *rc = stats_timeseries_json(st, &w, from, to, step);
    assert_int_equal(b.err, 0);
    json_t *j = NULL;
    if (b.len) {
        json_error_t e;
        j = json_loadb(b.data, b.len, 0, &e);
        assert_non_null(j);
    }
    buf_free(&b);
    return j;
}

static void test_json(void **state)
{
    struct stats *st = new_stats();
    for (int s = 0; s <= 21; s++)
        tick(st, s, 4);
    int rc;
    json_t *j = render(st, 0, 0, 0, 0, &rc);
    assert_int_equal(json_integer_value(json_object_get(j, "time_epoch")), T0 + 21);
    assert_string_equal(json_string_value(json_object_get(j, "time")), "2026-05-01T10:00:21Z");
    assert_int_equal(json_integer_value(json_object_get(j, "uptime_seconds")), 21);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "viewers"), "total")),
                     4);
    assert_true(json_number_value(json_object_get(json_object_get(j, "bandwidth"),
                                                  "out_bytes_per_second")) == 1000.0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "channels"), "running")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "channels"), "idle")),
                     2);
    assert_null(json_object_get(j, "top_channels"));
    json_decref(j);

    j = render(st, 1, 0, 0, 0, &rc);
    assert_true(json_is_array(json_object_get(j, "top_channels"))); /* no engine: empty */
    assert_int_equal(json_array_size(json_object_get(j, "top_channels")), 0);
    assert_non_null(json_object_get(j, "memory_rss_bytes"));
    json_decref(j);

    j = render(st, 2, T0, T0 + 100, 10, &rc);
    assert_int_equal(rc, 0);
    json_t *cols = json_object_get(j, "columns");
    size_t ncols = 0;
    while (stats_columns[ncols])
        ncols++;
    assert_int_equal(json_array_size(cols), ncols);
    assert_string_equal(json_string_value(json_array_get(cols, 0)), "time");
    json_t *pts = json_object_get(j, "points");
    assert_int_equal(json_array_size(pts), 2);
    json_t *row = json_array_get(pts, 1);
    assert_int_equal(json_array_size(row), ncols);
    assert_int_equal(json_integer_value(json_array_get(row, 0)), T0 + 10);
    assert_int_equal(json_integer_value(json_array_get(row, 1)), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "step")), 10);
    json_decref(j);

    j = render(st, 2, T0, T0 + 100, 7, &rc);
    assert_int_equal(rc, -EINVAL);
    assert_null(j); /* nothing written */
    stats_free(st);
}

static void test_read_process(void **state)
{
    /* Without sources: the process's own CPU time and RSS are still read. */
    struct stats *st = new_stats();
    struct stats_reading r;
    stats_read(st, &r);
    assert_true(r.rss_bytes > 0);
    assert_int_equal(r.viewers_live + r.viewers_hls + r.viewers_vod, 0);
    assert_int_equal(r.bytes_out, 0);
    stats_tick(st, T0 * 1000); /* no events attached: nothing published */
    stats_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_now_sample),         cmocka_unit_test(test_ring_slots),
        cmocka_unit_test(test_gap_and_clock_back), cmocka_unit_test(test_wrap_24h),
        cmocka_unit_test(test_aggregation),        cmocka_unit_test(test_json),
        cmocka_unit_test(test_read_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
