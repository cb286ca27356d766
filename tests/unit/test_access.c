/* Unit tests for access control: the domain's rule checks (canonical forms,
 * field-named errors), serve --access knobs, and the engine without a loop:
 * the rate bucket, bans growing with strikes and lifted, the global checks
 * and per-line rules on a hand-made line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fnmatch.h>

#include "auth/access.h"
#include "catalog/catalog.h"
#include "db/db.h"
#include "db_fixture.h"
#include "domain/lines.h"
#include <time.h>
#include "domain/access.h"

static void test_rule_check(void **state)
{
    (void)state;
    char out[300];
    struct dom_error e = {0};
    assert_int_equal(dom_access_rule_check("ip_deny", "2001:DB8::/32", out, sizeof(out), &e), 0);
    assert_string_equal(out, "2001:db8::/32");
    assert_int_equal(dom_access_rule_check("country_allow", "fr", out, sizeof(out), &e), 0);
    assert_string_equal(out, "FR");
    assert_int_equal(dom_access_rule_check("ua_deny", "*MAG2??*", out, sizeof(out), &e), 0);
    dom_error_reset(&e);
    assert_int_not_equal(dom_access_rule_check("ip_deny", "10.1.2.3/8", out, sizeof(out), &e), 0);
    assert_string_equal(e.fields[0].field, "value");
    dom_error_reset(&e);
    assert_int_not_equal(dom_access_rule_check("nope", "x", out, sizeof(out), &e), 0);
    assert_string_equal(e.fields[0].field, "kind");
    dom_error_reset(&e);
    assert_int_not_equal(dom_access_rule_check("ua_allow", "[abc", out, sizeof(out), &e), 0);
    dom_error_reset(&e);
    const char *ips[] = {"10.0.0.0/8", "bad", "::1"};
    const char *cc[] = {"FR", "FRA"};
    struct dom_line_access_in in;
    dom_line_access_in_init(&in);
    in.has_allowed_ips = true;
    in.allowed_ips = ips;
    in.n_allowed_ips = 3;
    in.has_denied_countries = true;
    in.denied_countries = cc;
    in.n_denied_countries = 2;
    assert_int_not_equal(dom_line_access_validate(&in, &e), 0);
    assert_int_equal(e.status, 422);
    assert_int_equal(e.nfields, 2);
    assert_string_equal(e.fields[0].field, "allowed_ips[1]");
    assert_string_equal(e.fields[1].field, "denied_countries[1]");
    char canon[64];
    dom_error_reset(&e);
    assert_int_equal(dom_ban_check_ip("ip", "2001:db8:1:2::/64", canon, sizeof(canon), &e), 0);
    assert_int_not_equal(dom_ban_check_ip("ip", "10.0.0.0/8", canon, sizeof(canon), &e), 0);
}

static void test_config(void **state)
{
    (void)state;
    struct access_config c;
    access_config_defaults(&c);
    assert_int_equal(c.ban_after, 20);
    assert_int_equal(access_config_set(&c, "rate=50"), 0);
    assert_int_equal(c.rate, 50);
    assert_int_equal(access_config_set(&c, "ban-time=30"), 0);
    assert_int_equal(c.ban_secs, 30);
    assert_int_not_equal(access_config_set(&c, "rate=-1"), 0);
    assert_int_not_equal(access_config_set(&c, "rate"), 0);
    assert_int_not_equal(access_config_set(&c, "bogus=1"), 0);
    assert_int_not_equal(access_config_set(&c, "ban-time=0"), 0);
}

static struct access *engine(unsigned rate, unsigned burst)
{
    struct access_config c;
    access_config_defaults(&c);
    c.rate = rate;
    c.burst = burst;
    c.ban_after = 3;
    c.ban_secs = 10;
    c.ban_max_secs = 35;
    c.max_ips = 16;
    struct access *a;
    assert_int_equal(access_new(NULL, NULL, &c, &a), 0);
    return a;
}

static void test_rate(void **state)
{
    (void)state;
    struct access *a = engine(10, 5);
    bool log_it;
    for (int i = 0; i < 5; i++)
        assert_int_equal(access_rate(a, "192.0.2.1", 1000, &log_it), 0);
    uint64_t wait = access_rate(a, "192.0.2.1", 1000, &log_it);
    assert_true(wait > 0 && wait <= 100);
    assert_true(log_it);
    assert_int_not_equal(access_rate(a, "192.0.2.1", 1000, &log_it), 0);
    assert_false(log_it); /* logged once per quiet period */
    assert_int_equal(access_rate(a, "192.0.2.2", 1000, &log_it), 0); /* another IP */
    assert_int_equal(access_rate(a, "192.0.2.1", 1200, &log_it), 0); /* refilled */
    /* one IPv6 subscriber is its /64 */
    for (int i = 0; i < 5; i++)
        access_rate(a, i % 2 ? "2001:db8::1" : "2001:db8::2", 5000, &log_it);
    assert_int_not_equal(access_rate(a, "2001:db8::3", 5000, &log_it), 0);
    /* the table is bounded: 40 IPs in a 16-entry table */
    for (int i = 0; i < 40; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "198.51.100.%d", i);
        access_rate(a, ip, 6000, &log_it);
    }
    struct buf b = BUF_INIT(0);
    access_metrics(a, &b);
    buf_putc(&b, '\0');
    assert_non_null(strstr(b.data, "xtreamd_access_rate_ips 16\n"));
    buf_free(&b);
    access_free(a);
}

static void test_bans(void **state)
{
    (void)state;
    struct access *a = engine(0, 0);
    struct access_req r = {.ip = "192.0.2.9", .user_agent = "x", .now = 1000};
    int64_t retry = 0;
    bool log_it;
    access_login_failed(a, "192.0.2.9", "u", 2, 1000);
    assert_null(access_check_global(a, &r, &retry, &log_it));
    access_login_failed(a, "192.0.2.9", "u", 3, 1000);
    assert_string_equal(access_check_global(a, &r, &retry, &log_it), "BANNED_IP");
    assert_int_equal(retry, 10);
    r.now = 1011; /* expired; the next ban is twice as long */
    assert_null(access_check_global(a, &r, &retry, &log_it));
    access_login_failed(a, "192.0.2.9", "u", 4, 1011);
    assert_string_equal(access_check_global(a, &r, &retry, &log_it), "BANNED_IP");
    assert_int_equal(retry, 20);
    r.now = 1032;
    access_login_failed(a, "192.0.2.9", "u", 5, 1032);
    assert_string_equal(access_check_global(a, &r, &retry, &log_it), "BANNED_IP");
    assert_int_equal(retry, 35); /* capped */
    access_unban(a, "192.0.2.9", 1033);
    assert_null(access_check_global(a, &r, &retry, &log_it));
    access_free(a);
}

static void test_line_rules(void **state)
{
    (void)state;
    struct access *a = engine(0, 0);
    struct cat_line l = {.id = 7,
                         .username = "u",
                         .allowed_ips = "10.0.0.0/8,2001:db8::/32",
                         .allowed_uas = "*MAG*",
                         .denied_uas = "*MAG256*",
                         .allowed_countries = "",
                         .denied_countries = "",
                         .max_daily_ips = 2};
    struct access_req r = {.ip = "10.1.1.1", .user_agent = "MAG250", .now = 86400 * 100};
    assert_null(access_check_line(a, &l, &r));
    r.ip = "192.0.2.1";
    assert_string_equal(access_check_line(a, &l, &r), "IP_NOT_ALLOWED");
    r.ip = "2001:db8::9";
    assert_null(access_check_line(a, &l, &r));
    r.user_agent = "VLC";
    assert_string_equal(access_check_line(a, &l, &r), "UA_BLOCKED");
    r.user_agent = "MAG256";
    assert_string_equal(access_check_line(a, &l, &r), "UA_BLOCKED");
    r.user_agent = "MAG250";
    r.ip = "10.9.9.9"; /* a third address today */
    assert_string_equal(access_check_line(a, &l, &r), "TOO_MANY_IPS");
    r.now += 86400; /* a new day */
    assert_null(access_check_line(a, &l, &r));
    /* lock to the first IP, then a reset */
    struct cat_line k = {.id = 8, .username = "k", .lock_first_ip = true};
    struct access_req q = {.ip = "192.0.2.5", .user_agent = "", .now = 5};
    assert_null(access_check_line(a, &k, &q));
    q.ip = "192.0.2.6";
    assert_string_equal(access_check_line(a, &k, &q), "IP_LOCKED");
    access_line_reset(a, 8, 6);
    assert_null(access_check_line(a, &k, &q));
    q.ip = "192.0.2.5";
    assert_string_equal(access_check_line(a, &k, &q), "IP_LOCKED");
    access_free(a);
}

/* The refusal queue is bounded: past queue_max rows are dropped and counted
 * (the writer never runs here: no data directory). */
static void test_queue_bound(void **state)
{
    (void)state;
    struct access *a = engine(0, 0);
    struct access_req r = {.ip = "192.0.2.1", .user_agent = "x", .route = "/live", .now = 1};
    for (int i = 0; i < 5000; i++)
        access_refused(a, "IP_DENIED", NULL, &r, NULL);
    struct buf b = BUF_INIT(0);
    access_metrics(a, &b);
    buf_putc(&b, '\0');
    assert_non_null(strstr(b.data, "xtreamd_access_refusal_log_dropped_total 904\n"));
    assert_non_null(strstr(b.data, "xtreamd_access_refusals_total{reason=\"IP_DENIED\"} 5000\n"));
    buf_free(&b);
    access_free(a);
}

/* What is queued when the server stops is written by access_free (the
 * writer's batch run synchronously): refusals to refusals.db, a ban to the
 * main database. */
static void test_flush_on_free(void **state)
{
    struct fixture *f = *state;
    struct access_config c;
    access_config_defaults(&c);
    c.ban_after = 2;
    struct access *a;
    assert_int_equal(access_new(NULL, f->dir, &c, &a), 0);
    int64_t now = (int64_t)time(NULL); /* the writer prunes bans ended 30 days ago */
    struct access_req r = {.ip = "192.0.2.1", .user_agent = "UA", .route = "/live", .now = now};
    access_refused(a, "IP_DENIED", NULL, &r, NULL);
    access_refused(a, "UA_BLOCKED", NULL, &r, "x");
    access_login_failed(a, "192.0.2.7", "nobody", 2, now);
    access_free(a);
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    struct db_refusal_filter flt = {.limit = 10};
    int64_t n = 0;
    assert_int_equal(db_refusals_json(f->db, &flt, &w, &n), 0);
    assert_int_equal(n, 2);
    buf_reset(&b);
    assert_int_equal(db_bans_json(f->db, true, now, &w, &n), 0);
    assert_int_equal(n, 1);
    buf_putc(&b, '\0');
    assert_non_null(strstr(b.data, "\"ip\":\"192.0.2.7\""));
    buf_free(&b);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* What the check costs per request with 10,000 rules loaded from a real
 * database and snapshot (9,990 ip_deny, 10 ua_deny, 200 ranges on the line),
 * against no rules: printed, and bounded generously (ASan, loaded CI). Two
 * engines, one per snapshot, are measured in alternating short batches and
 * each keeps its fastest batch: on a shared machine a batch is only ever
 * slowed down (preempted, caches evicted), so the minimum is the cost and
 * alternating puts a phase of load on both alike. */
#define COST_BATCH 2000
static double batch_ns(struct access *a, const struct cat_line *l, const char *ua)
{
    struct access_req r = {.ip = "127.0.0.1", .user_agent = ua, .now = 1000};
    int64_t retry;
    bool log_it;
    uint64_t t0 = now_ns();
    for (int i = 0; i < COST_BATCH; i++) {
        assert_null(access_check_global(a, &r, &retry, &log_it));
        assert_null(access_check_line(a, l, &r));
    }
    return (double)(now_ns() - t0) / COST_BATCH;
}

static void check_ns(struct access *a0, const struct cat_line *l0, struct access *a1,
                     const struct cat_line *l1, const char *ua, double *none, double *with)
{
    *none = *with = 1e18;
    for (int b = 0; b < 40; b++) {
        double x = batch_ns(a0, l0, ua), y = batch_ns(a1, l1, ua);
        *none = x < *none ? x : *none;
        *with = y < *with ? y : *with;
    }
}

static void test_cost(void **state)
{
    struct fixture *f = *state;
    struct dom_error e = {0};
    struct dom_line_in in;
    dom_line_in_init(&in);
    in.username = "bench";
    in.password = "bench.Pw-1";
    struct dom_line_created made;
    assert_int_equal(dom_line_create(f->db, &in, &made, &e), 0);
    struct catalog *c0;
    assert_int_equal(catalog_load(f->db, 1, &c0), 0);
    struct access *a0 = engine(0, 0);
    access_set_catalog(a0, c0);
    struct access *a = engine(0, 0);

    assert_int_equal(db_begin(f->db), 0);
    for (int i = 0; i < 9990; i++) {
        char v[64];
        if (i % 3 == 0)
            snprintf(v, sizeof(v), "10.%d.%d.0/24", (i / 256) % 256, i % 256);
        else if (i % 3 == 1)
            snprintf(v, sizeof(v), "10.%d.%d.%d", 100 + i / 65536, (i / 256) % 256, i % 256);
        else
            snprintf(v, sizeof(v), "2001:db8:%x:%x::/64", i / 65536, i % 65536);
        assert_int_equal(dom_access_rule_add(f->db, "ip_deny", v, NULL, 0, NULL, &e), 0);
    }
    for (int i = 0; i < 10; i++) {
        char v[32];
        snprintf(v, sizeof(v), "*BadBot%d/*", i);
        assert_int_equal(dom_access_rule_add(f->db, "ua_deny", v, NULL, 0, NULL, &e), 0);
    }
    assert_int_equal(db_commit(f->db), 0);
    static char nets[200][24];
    const char *list[200];
    for (int i = 0; i < 199; i++) {
        snprintf(nets[i], sizeof(nets[i]), "192.168.%d.0/24", i);
        list[i] = nets[i];
    }
    list[199] = "127.0.0.0/8";
    struct dom_line_access_in la;
    dom_line_access_in_init(&la);
    la.has_allowed_ips = true;
    la.allowed_ips = list;
    la.n_allowed_ips = 200;
    assert_int_equal(dom_line_access_put(f->db, made.id, &la, 0, &e), 0);
    struct catalog *c1;
    assert_int_equal(catalog_load(f->db, 2, &c1), 0);
    assert_int_equal(c1->access_rule_count, 10000);
    uint64_t t0 = now_ns();
    access_set_catalog(a, c1);
    double compile_ms = (double)(now_ns() - t0) / 1e6;
    /* wrk's agent (none), a player's, and a MAG box's (the longest) */
    static const char *const uas[] = {
        "", "Player/1.0",
        "Mozilla/5.0 (QtEmbedded; U; Linux; C) AppleWebKit/533.3 (KHTML, like Gecko) MAG200 "
        "stbapp ver: 2 rev: 250 Safari/533.3"};
    double none = 0, with = 0;
    for (size_t i = 0; i < 3; i++) {
        double n0, w0;
        check_ns(a0, catalog_line(c0, "bench"), a, catalog_line(c1, "bench"), uas[i], &n0, &w0);
        print_message("access check, user agent of %zu bytes: %.0f ns without rules, %.0f ns "
                      "with 10,000 (+%.0f ns)\n",
                      strlen(uas[i]), n0, w0, w0 - n0);
        if (i == 1)
            none = n0, with = w0;
    }
    /* a denied address and a denied agent are refused */
    struct access_req r = {.ip = "10.0.3.77", .user_agent = "x", .now = 1000};
    int64_t retry;
    bool log_it;
    assert_string_equal(access_check_global(a, &r, &retry, &log_it), "IP_DENIED");
    r.ip = "127.0.0.1";
    r.user_agent = "BadBot4/2";
    assert_string_equal(access_check_global(a, &r, &retry, &log_it), "UA_BLOCKED");
    print_message("access check: %.0f ns without rules, %.0f ns with 10,000 (+%.0f ns); "
                  "compiling the snapshot's rules %.1f ms\n",
                  none, with, with - none, compile_ms);
    assert_true(with < 200000.0); /* 0.2 ms: far above the expected few us, even under ASan */
    access_free(a);
    access_free(a0);
    catalog_unref(c0);
    catalog_unref(c1);
}

/* The check's own matcher for '*'-only globs says what fnmatch(3) says, on
 * every pattern and agent of a small grid (edges: empty segments, overlapping
 * prefix and suffix, repeats, a pattern longer than the agent). */
static void test_glob_match(void **state)
{
    (void)state;
    static const char *const pats[] = {
        "",
        "*",
        "**",
        "a",
        "a*",
        "*a",
        "*a*",
        "a*a",
        "a*b*a",
        "*BadBot3/*",
        "BadBot*",
        "*/1.0",
        "ab*ba",
        "aba*aba",
        "*a*a*a*",
        "VLC/*",
        "*MAG2??*",
        "[A-Z]*",
        "\\*x",
        "x**y",
        "*stbapp ver*",
        "Mozilla/5.0*",
        "*Kodi/*",
        "a*ab",
    };
    static const char *const uas[] = {
        "",
        "a",
        "aa",
        "aba",
        "ababa",
        "abba",
        "BadBot3/1.0",
        "xBadBot3/",
        "BadBot3",
        "VLC/3.0.18 LibVLC/3.0.18",
        "Mozilla/5.0 (QtEmbedded; U; Linux; C) AppleWebKit/533.3 (KHTML, like Gecko) MAG200 "
        "stbapp ver: 2 rev: 250 Safari/533.3",
        "Kodi/20.2 (X11; Linux x86_64)",
        "*x",
        "xy",
        "x*y",
        "aab",
        "Player/1.0",
    };
    for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
        for (size_t j = 0; j < sizeof(uas) / sizeof(uas[0]); j++) {
            bool want = fnmatch(pats[i], uas[j], 0) == 0;
            if (access_glob_match(pats[i], uas[j]) != want)
                fail_msg("glob \"%s\" on \"%s\": fnmatch says %d", pats[i], uas[j], want);
        }
}

static int setup(void **state)
{
    return db_fixture_open(state, "access");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_check),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_bans),
        cmocka_unit_test(test_line_rules),
        cmocka_unit_test(test_queue_bound),
        cmocka_unit_test_setup_teardown(test_flush_on_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cost, setup, teardown),
        cmocka_unit_test(test_glob_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
