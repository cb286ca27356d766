/* The admin API's line list at scale: XTREAMD_BENCH_LINES lines (default
 * 5000 so that ctest stays quick; the figure is 100000), then every
 * kind of page request (each sort key, each filter, q, a deep page), each
 * with its total count, timed over 20 rounds. Checks the totals against the
 * generated data and prints the p95 of each request; with
 * XTREAMD_BENCH_MAX_MS set it also fails when a p95 exceeds it.
 *
 *   cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
 *   cmake --build build-rel --target test_line_page_perf
 *   XTREAMD_BENCH_LINES=100000 build-rel/test_line_page_perf
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "db/db.h"
#include "domain/catalogue.h"
#include "domain/lines.h"
#include "db_fixture.h"

#define ROUNDS 20

static int setup(void **state)
{
    return db_fixture_open(state, "lineperf");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

static double ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long env_long(const char *name, long def)
{
    const char *s = getenv(name);
    char *end;
    long v = s ? strtol(s, &end, 10) : def;
    return s && (*end || v <= 0) ? def : v;
}

static void test_page_at_scale(void **state)
{
    struct fixture *f = *state;
    const long nlines = env_long("XTREAMD_BENCH_LINES", 5000);
    const long max_ms = env_long("XTREAMD_BENCH_MAX_MS", 0);
    const int64_t now = db_now();
    struct dom_error e;
    int64_t bq[4];
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof(name), "B%d", i);
        struct dom_bouquet_in bin = {.name = name, .all = true};
        size_t items;
        dom_error_reset(&e);
        assert_int_equal(dom_bouquet_create(f->db, &bin, &bq[i], &items, &e), 0);
    }
    /* The data: 1 line in 10 never expires, the rest spread over +-2 years;
     * 1 in 20 disabled, 1 in 50 banned, 1 in 7 trial; bouquet B<i%4>; notes
     * on 1 in 3. Counted as generated, to check the totals. */
    long n_expired = 0, n_b1 = 0, n_q = 0;
    double t0 = ms_now();
    assert_int_equal(db_begin(f->db), 0);
    for (long i = 0; i < nlines; i++) {
        char user[32], notes[48];
        snprintf(user, sizeof(user), "user%06ld", (i * 7919) % nlines);
        snprintf(notes, sizeof(notes), i % 3 ? "" : "room %ld floor %ld", i % 500, i % 9);
        bool never = i % 10 == 0;
        int64_t exp = now - 2 * 365 * 86400 + (i * 104729) % (4 * 365 * 86400);
        struct db_line l = {
            .username = user,
            .password = "pw",
            .max_connections = i % 5,
            .has_exp = !never,
            .exp_date = never ? 0 : exp,
            .is_trial = i % 7 == 0,
            .enabled = i % 20 != 0,
            .banned = i % 50 == 0,
            .notes = notes,
        };
        assert_int_equal(db_line_insert(f->db, &l), 0);
        assert_int_equal(db_line_set_bouquets(f->db, l.id, &bq[i % 4], 1), 0);
        n_expired += i % 50 != 0 && i % 20 != 0 && !never && exp <= now;
        n_b1 += i % 4 == 1;
        n_q += i % 3 == 0 && i % 500 == 123;
    }
    assert_int_equal(db_commit(f->db), 0);
    printf("inserted %ld lines in %.0f ms\n", nlines, ms_now() - t0);

    char b1[24];
    snprintf(b1, sizeof(b1), "%lld", (long long)bq[1]);
    const struct {
        const char *name;
        struct dom_line_filter f;
        struct db_page p;
        long want_total; /* -1: not checked */
    } cases[] = {
        {"page 1 (id)", {0}, {.limit = 50}, nlines},
        {"page 1000 of 50 (id)", {0}, {.limit = 50, .offset = 49950}, nlines},
        {"sort -exp_date",
         {0},
         {.limit = 50, .nsort = 1, .sort = {"exp_date"}, .desc = {1}},
         nlines},
        {"sort exp_date, deep",
         {0},
         {.limit = 50, .offset = 40000, .nsort = 1, .sort = {"exp_date"}},
         nlines},
        {"sort username", {0}, {.limit = 50, .nsort = 1, .sort = {"username"}}, nlines},
        {"sort -created_at",
         {0},
         {.limit = 50, .nsort = 1, .sort = {"created_at"}, .desc = {1}},
         nlines},
        {"sort max_connections,username",
         {0},
         {.limit = 50, .nsort = 2, .sort = {"max_connections", "username"}},
         nlines},
        {"status=active", {.status = "active"}, {.limit = 50}, -1},
        {"status=expired -exp_date",
         {.status = "expired"},
         {.limit = 50, .nsort = 1, .sort = {"exp_date"}, .desc = {1}},
         n_expired},
        {"status=trial", {.status = "trial"}, {.limit = 50}, -1},
        {"bouquet_id", {.bouquet_id = b1}, {.limit = 50}, n_b1},
        {"expires_before 30 days", {.expires_before = "2000-01-01"}, {.limit = 50}, 0},
        {"q=user0123 (username)", {0}, {.limit = 50, .q = "user0123"}, -1},
        {"q=room 123 (notes)", {0}, {.limit = 50, .q = "room 123 "}, n_q},
        {"page_size 1000", {0}, {.limit = 1000}, nlines},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        double t[ROUNDS];
        struct dom_line_filter flt = cases[c].f;
        flt.now = now;
        if (cases[c].p.offset >= nlines)
            continue;
        for (int r = 0; r < ROUNDS; r++) {
            struct db_line *v;
            size_t n;
            int64_t total;
            dom_error_reset(&e);
            double s = ms_now();
            assert_int_equal(dom_line_page(f->db, &flt, &cases[c].p, &v, &n, &total, &e), 0);
            t[r] = ms_now() - s;
            if (cases[c].want_total >= 0 && total != cases[c].want_total)
                fail_msg("%s: total %lld, want %ld", cases[c].name, (long long)total,
                         cases[c].want_total);
            assert_true(n <= (size_t)cases[c].p.limit);
            db_line_list_free(v, n);
        }
        qsort(t, ROUNDS, sizeof(t[0]), cmp_double);
        double p95 = t[(ROUNDS * 95 + 99) / 100 - 1];
        printf("%-34s p50 %7.2f ms  p95 %7.2f ms\n", cases[c].name, t[ROUNDS / 2], p95);
        if (max_ms && p95 > (double)max_ms)
            fail_msg("%s: p95 %.1f ms > %ld ms", cases[c].name, p95, max_ms);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_page_at_scale, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
