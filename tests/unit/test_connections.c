/* Unit tests for auth/connections: sessions (same line, kind, item and IP
 * count once), the linger window, newest-wins enforcement with kick
 * callbacks, and per-line counting that stays cheap with many entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "auth/connections.h"

struct kicks {
    int n;
    int last;
};

static struct kicks g_kicks;
static int g_ids[64];

static void on_kick(void *ctx)
{
    g_kicks.n++;
    g_kicks.last = *(int *)ctx;
}

static void test_sessions_and_window(void **state)
{
    (void)state;
    struct conn_registry *r = conn_registry_new(10);
    assert_non_null(r);
    uint64_t a = conn_registry_add(r, 1, CONN_MOVIE, 7, "10.0.0.1", "ua", 100, NULL, NULL);
    uint64_t b = conn_registry_add(r, 1, CONN_MOVIE, 7, "10.0.0.1", "ua", 101, NULL, NULL);
    uint64_t c = conn_registry_add(r, 1, CONN_LIVE, 7, "10.0.0.1", "ua", 101, NULL, NULL);
    uint64_t d = conn_registry_add(r, 2, CONN_MOVIE, 7, "10.0.0.1", "ua", 101, NULL, NULL);
    assert_true(a && b && c && d && a != b);
    assert_int_equal(conn_registry_count(r, 1, 102), 2); /* two range requests: one session */
    assert_int_equal(conn_registry_count_active(r, 1), 2);
    assert_int_equal(conn_registry_count(r, 2, 102), 1);
    assert_int_equal(conn_registry_count(r, 3, 102), 0);
    assert_int_equal(conn_registry_active(r), 4);
    conn_registry_remove(r, a, 103);
    assert_int_equal(conn_registry_count_active(r, 1), 2); /* b still open */
    conn_registry_remove(r, b, 103);
    conn_registry_remove(r, b, 103); /* twice: no-op */
    conn_registry_remove(r, 9999, 103);
    assert_int_equal(conn_registry_active(r), 2);
    assert_int_equal(conn_registry_count(r, 1, 105), 2);   /* lingering */
    assert_int_equal(conn_registry_count_active(r, 1), 1); /* active_cons: at once */
    assert_int_equal(conn_registry_count_active(r, 2), 1);
    assert_int_equal(conn_registry_count(r, 1, 113), 1); /* window passed */
    struct conn_info info;
    assert_int_equal(conn_registry_oldest(r, 1, &info), c);
    assert_string_equal(info.ip, "10.0.0.1");
    conn_registry_remove(r, c, 120);
    conn_registry_remove(r, d, 120);
    assert_int_equal(conn_registry_count_active(r, 1), 0);
    assert_int_equal(conn_registry_count_active(r, 2), 0);
    assert_int_equal(conn_registry_count(r, 1, 200), 0);
    assert_int_equal(conn_registry_count(r, 2, 200), 0);
    conn_registry_free(r);
}

/* Active entries by kind (the admin stats' viewers), with and without a
 * linger window: an ended entry stops counting at once. */
static void test_active_by_kind(void **state)
{
    (void)state;
    for (int window = 0; window <= 10; window += 10) {
        struct conn_registry *r = conn_registry_new(window);
        assert_non_null(r);
        uint64_t a = conn_registry_add(r, 1, CONN_MOVIE, 7, "10.0.0.1", "ua", 100, NULL, NULL);
        uint64_t b = conn_registry_add(r, 1, CONN_LIVE, 8, "10.0.0.1", "ua", 100, NULL, NULL);
        uint64_t c = conn_registry_add(r, 2, CONN_LIVE, 8, "10.0.0.2", "ua", 100, NULL, NULL);
        uint64_t d = conn_registry_add(r, 2, CONN_HLS, 8, "10.0.0.2", "ua", 100, NULL, NULL);
        uint64_t e = conn_registry_add(r, 3, CONN_EPISODE, 9, "10.0.0.3", "ua", 100, NULL, NULL);
        assert_true(a && b && c && d && e);
        assert_int_equal(conn_registry_active_kind(r, CONN_LIVE), 2);
        assert_int_equal(conn_registry_active_kind(r, CONN_HLS), 1);
        assert_int_equal(conn_registry_active_kind(r, CONN_MOVIE), 1);
        assert_int_equal(conn_registry_active_kind(r, CONN_EPISODE), 1);
        assert_int_equal(conn_registry_active_kind(r, CONN_TIMESHIFT), 0);
        assert_int_equal(conn_registry_active_kind(r, (enum conn_kind)99), 0);
        conn_registry_remove(r, b, 101);
        conn_registry_remove(r, b, 101); /* twice: no-op */
        conn_registry_remove(r, a, 101);
        assert_int_equal(conn_registry_active_kind(r, CONN_LIVE), 1);
        assert_int_equal(conn_registry_active_kind(r, CONN_MOVIE), 0);
        /* A lingering entry forgotten later (window passed) changes nothing. */
        assert_int_equal(conn_registry_count(r, 1, 200), 0);
        assert_int_equal(conn_registry_active_kind(r, CONN_LIVE), 1);
        conn_registry_remove(r, c, 201);
        conn_registry_remove(r, d, 201);
        conn_registry_remove(r, e, 201);
        for (int k = CONN_LIVE; k <= CONN_TIMESHIFT; k++)
            assert_int_equal(conn_registry_active_kind(r, (enum conn_kind)k), 0);
        assert_int_equal(conn_registry_active(r), 0);
        conn_registry_free(r);
    }
}

static void test_enforce_newest_wins(void **state)
{
    (void)state;
    struct conn_registry *r = conn_registry_new(0);
    g_kicks = (struct kicks){0};
    for (int i = 0; i < 4; i++)
        g_ids[i] = i;
    uint64_t h0 = conn_registry_add(r, 5, CONN_LIVE, 1, "10.0.0.1", "", 10, on_kick, &g_ids[0]);
    uint64_t h1 = conn_registry_add(r, 5, CONN_LIVE, 2, "10.0.0.1", "", 11, on_kick, &g_ids[1]);
    assert_int_equal(conn_registry_enforce(r, 5, 2, h1, 11), 0);
    uint64_t h2 = conn_registry_add(r, 5, CONN_LIVE, 3, "10.0.0.2", "", 12, on_kick, &g_ids[2]);
    assert_int_equal(conn_registry_enforce(r, 5, 2, h2, 12), 1);
    assert_int_equal(g_kicks.last, 0); /* the oldest */
    conn_registry_remove(r, h0, 12);   /* the kicked connection's close: a no-op */
    assert_int_equal(conn_registry_count(r, 5, 12), 2);
    /* max 1 and the newest is kept even though it is the only one left */
    uint64_t h3 = conn_registry_add(r, 5, CONN_HLS, 3, "10.0.0.3", "", 13, on_kick, &g_ids[3]);
    assert_int_equal(conn_registry_enforce(r, 5, 1, h3, 13), 2);
    assert_int_equal(conn_registry_count(r, 5, 13), 1);
    assert_int_equal(conn_registry_count_active(r, 5), 1); /* kicked entries are not active */
    assert_int_equal(conn_registry_oldest(r, 5, NULL), h3);
    assert_int_equal(conn_registry_enforce(r, 5, 0, h3, 13), 0); /* unlimited */
    (void)h1;
    conn_registry_free(r);
}

/* A fenced cluster node closes all its viewers (cluster/node.h): each active connection that can
 * be closed is kicked once; ended ones and those without a kick are left alone. */
static void test_kick_all(void **state)
{
    (void)state;
    struct conn_registry *r = conn_registry_new(30);
    g_kicks = (struct kicks){0};
    for (int i = 0; i < 4; i++)
        g_ids[i] = i;
    uint64_t h0 = conn_registry_add(r, 5, CONN_LIVE, 1, "10.0.0.1", "", 10, on_kick, &g_ids[0]);
    uint64_t h1 = conn_registry_add(r, 6, CONN_HLS, 2, "10.0.0.2", "", 10, on_kick, &g_ids[1]);
    uint64_t h2 = conn_registry_add(r, 7, CONN_MOVIE, 3, "10.0.0.3", "", 10, on_kick, &g_ids[2]);
    uint64_t h3 = conn_registry_add(r, 7, CONN_MOVIE, 4, "10.0.0.3", "", 10, NULL, NULL);
    conn_registry_remove(r, h2, 11); /* ended: lingers, not kicked */
    assert_int_equal(conn_registry_kick_all(r), 2);
    assert_int_equal(g_kicks.n, 2);
    assert_int_equal(conn_registry_kick_all(r), 0); /* once */
    conn_registry_remove(r, h0, 12);
    conn_registry_remove(r, h1, 12);
    conn_registry_remove(r, h3, 12);
    assert_int_equal(conn_registry_active(r), 0);
    assert_int_equal(conn_registry_kick_all(r), 0);
    conn_registry_free(r);
}

static uint64_t g_tag_end[8], g_tag_touch[8];
static int g_ntag_end, g_ntag_touch;

static void on_tag_end(void *ctx, uint64_t tag)
{
    (void)ctx;
    g_tag_end[g_ntag_end++ % 8] = tag;
}

static void on_tag_touch(void *ctx, uint64_t tag)
{
    (void)ctx;
    g_tag_touch[g_ntag_touch++ % 8] = tag;
}

/* Tags: a cluster session's observer hears its connection end once, and each use. */
static void test_tags(void **state)
{
    (void)state;
    struct conn_registry *r = conn_registry_new(30);
    g_ntag_end = g_ntag_touch = 0;
    g_kicks = (struct kicks){0};
    g_ids[0] = 0;
    g_ids[1] = 1;
    conn_registry_set_tag_hooks(r, on_tag_end, on_tag_touch, NULL);
    assert_int_equal(conn_registry_last_handle(r), 0);
    uint64_t h0 = conn_registry_add(r, 5, CONN_LIVE, 1, "10.0.0.1", "", 10, on_kick, &g_ids[0]);
    assert_int_equal(conn_registry_last_handle(r), h0);
    uint64_t h1 = conn_registry_add(r, 5, CONN_HLS, 1, "10.0.0.1", "", 10, on_kick, &g_ids[1]);
    assert_int_equal(conn_registry_last_handle(r), h1);
    assert_int_equal(conn_registry_tag(r, h0, 77), 0);
    assert_int_equal(conn_registry_tag(r, h0, 78), -EEXIST);
    assert_int_equal(conn_registry_tag(r, h1, 99), 0);
    assert_int_equal(conn_registry_tag(r, h1 + 5, 1), -ENOENT);
    conn_registry_touch(r, h1);
    conn_registry_touch(r, h1);
    assert_int_equal(g_ntag_touch, 2);
    assert_int_equal(g_tag_touch[1], 99);
    /* one connection kicked by its handle (a kill of its session), once */
    assert_true(conn_registry_kick(r, h0));
    assert_false(conn_registry_kick(r, h0));
    assert_int_equal(g_kicks.n, 1);
    assert_int_equal(g_kicks.last, 0);
    conn_registry_remove(r, h0, 11);
    conn_registry_remove(r, h0, 12); /* once */
    assert_int_equal(g_ntag_end, 1);
    assert_int_equal(g_tag_end[0], 77);
    assert_int_equal(conn_registry_tag(r, h0, 5), -ENOENT); /* ended */
    conn_registry_touch(r, h0);                             /* ended: not told */
    assert_int_equal(g_ntag_touch, 2);
    conn_registry_remove(r, h1, 12);
    assert_int_equal(g_ntag_end, 2);
    assert_int_equal(g_tag_end[1], 99);
    /* an untagged entry tells nobody */
    uint64_t h2 = conn_registry_add(r, 6, CONN_MOVIE, 2, "10.0.0.2", "", 13, NULL, NULL);
    conn_registry_remove(r, h2, 14);
    assert_int_equal(g_ntag_end, 2);
    conn_registry_free(r);
}

static void test_many_entries(void **state)
{
    (void)state;
    struct conn_registry *r = conn_registry_new(30);
    enum { N = 20000 };
    static uint64_t h[N];
    clock_t t0 = clock();
    for (int i = 0; i < N; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        h[i] = conn_registry_add(r, 1, CONN_LIVE, 1, ip, "", 1000, NULL, NULL);
        assert_true(h[i] != 0);
        if (i % 1000 == 999)
            assert_int_equal(conn_registry_count(r, 1, 1000), (size_t)i + 1);
    }
    for (int i = 0; i < N; i += 2)
        conn_registry_remove(r, h[i], 1001);
    assert_int_equal(conn_registry_count(r, 1, 1002), N);
    assert_int_equal(conn_registry_count_active(r, 1), N / 2);
    assert_int_equal(conn_registry_count(r, 1, 1040), N / 2);
    assert_int_equal(conn_registry_active(r), N / 2);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_true(secs < 20.0); /* quadratic counting took minutes here */
    conn_registry_free(r);
}

/* The bound: at max entries the oldest lingering one is forgotten first; with
 * none left, registering fails and is counted (never a silent success). */
static void test_bound_refuses_and_counts(void **state)
{
    (void)state;
    struct conn_registry *r = conn_registry_new(60);
    conn_registry_set_max(r, 3);
    uint64_t a = conn_registry_add(r, 1, CONN_LIVE, 1, "10.0.0.1", "", 100, NULL, NULL);
    uint64_t b = conn_registry_add(r, 2, CONN_LIVE, 1, "10.0.0.2", "", 100, NULL, NULL);
    uint64_t c = conn_registry_add(r, 3, CONN_LIVE, 1, "10.0.0.3", "", 100, NULL, NULL);
    assert_true(a && b && c);
    struct conn_registry_stats st;
    assert_int_equal(conn_registry_add(r, 4, CONN_LIVE, 1, "10.0.0.4", "", 101, NULL, NULL), 0);
    conn_registry_stats(r, &st);
    assert_int_equal(st.refused_full, 1);
    assert_int_equal(st.refused_nomem, 0);
    assert_int_equal(st.linger_evicted, 0);
    assert_int_equal(conn_registry_active(r), 3);
    /* b ends but lingers (seek window): a new connection takes its place. */
    conn_registry_remove(r, b, 102);
    assert_int_equal(conn_registry_count(r, 2, 102), 1);
    uint64_t d = conn_registry_add(r, 4, CONN_LIVE, 1, "10.0.0.4", "", 103, NULL, NULL);
    assert_true(d != 0);
    assert_int_equal(conn_registry_count(r, 2, 103), 0);
    assert_int_equal(conn_registry_size(r), 3);
    assert_int_equal(conn_registry_add(r, 5, CONN_LIVE, 1, "10.0.0.5", "", 104, NULL, NULL), 0);
    conn_registry_stats(r, &st);
    assert_int_equal(st.refused_full, 2);
    assert_int_equal(st.linger_evicted, 1);
    conn_registry_free(r);
}

/* Past the old fixed 65,536 entries the limits still hold: 70,000 entries of
 * other lines, then a line with max 1 still gets newest-wins. */
static void test_enforced_past_65536(void **state)
{
    (void)state;
    struct conn_registry *r = conn_registry_new(10);
    conn_registry_set_max(r, 100000);
    for (int i = 0; i < 70000; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        assert_true(conn_registry_add(r, 1000 + i, CONN_LIVE, 1, ip, "", 100, NULL, NULL) != 0);
    }
    g_kicks.n = 0;
    g_ids[0] = 1;
    g_ids[1] = 2;
    uint64_t a = conn_registry_add(r, 7, CONN_LIVE, 1, "1.1.1.1", "", 100, on_kick, &g_ids[0]);
    uint64_t b = conn_registry_add(r, 7, CONN_LIVE, 2, "1.1.1.2", "", 101, on_kick, &g_ids[1]);
    assert_true(a && b);
    assert_int_equal(conn_registry_enforce(r, 7, 1, b, 101), 1);
    assert_int_equal(g_kicks.n, 1);
    assert_int_equal(g_kicks.last, 1);
    assert_int_equal(conn_registry_count(r, 7, 101), 1);
    assert_int_equal(conn_registry_active(r), 70001);
    conn_registry_free(r);
}

/* A victim session with more entries than one kick batch (64): every active
 * one is kicked, none stays connected unregistered. */
static void test_enforce_big_session(void **state)
{
    (void)state;
    struct conn_registry *r = conn_registry_new(10);
    static int ctx[100];
    g_kicks.n = 0;
    for (int i = 0; i < 100; i++) {
        ctx[i] = i;
        assert_true(conn_registry_add(r, 9, CONN_MOVIE, 5, "10.9.9.9", "", 100, on_kick, &ctx[i]));
    }
    uint64_t keep = conn_registry_add(r, 9, CONN_MOVIE, 6, "10.9.9.8", "", 101, NULL, NULL);
    assert_int_equal(conn_registry_enforce(r, 9, 1, keep, 101), 100);
    assert_int_equal(g_kicks.n, 100);
    assert_int_equal(conn_registry_active(r), 1);
    assert_int_equal(conn_registry_count(r, 9, 101), 1);
    conn_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sessions_and_window),
        cmocka_unit_test(test_active_by_kind),
        cmocka_unit_test(test_enforce_newest_wins),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_bound_refuses_and_counts),
        cmocka_unit_test(test_enforced_past_65536),
        cmocka_unit_test(test_enforce_big_session),
        cmocka_unit_test(test_kick_all),
        cmocka_unit_test(test_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
