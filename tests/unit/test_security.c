/* Unit tests for the issue-9 guards: the outbound address policy
 * (http/outbound.c), the brute-force table (auth/throttle.c: schedule,
 * window reset, bound with eviction) and the library-root check
 * (domain/vod_paths.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "auth/throttle.h"
#include "http/outbound.h"
#include "domain/vod_paths.h"

static const char *refusal(const char *host, const char *ip, int port)
{
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &s4.sin_addr) == 1)
        return outbound_refusal(host, (struct sockaddr *)&s4, sizeof(s4));
    assert_int_equal(inet_pton(AF_INET6, ip, &s6.sin6_addr), 1);
    return outbound_refusal(host, (struct sockaddr *)&s6, sizeof(s6));
}

static void test_outbound_classes(void **state)
{
    (void)state;
    outbound_reset();
    const char *bad[] = {"127.0.0.1", "127.1.2.3",        "0.0.0.0",           "::1",
                         "::",        "::ffff:127.0.0.1", "::127.0.0.1",       "169.254.169.254",
                         "fe80::1",   "febf::1",          "::ffff:169.254.1.1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_non_null(refusal("x.example", bad[i], 80));
    const char *good[] = {"192.0.2.1", "10.1.2.3",         "192.168.1.1", "2001:db8::1",
                          "fc00::1",   "::ffff:192.0.2.1", "fec0::1",     "128.0.0.1"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_null(refusal("x.example", good[i], 80));
    assert_string_equal(refusal(NULL, "127.0.0.1", 80), "loopback");
    assert_string_equal(refusal(NULL, "169.254.169.254", 80), "link-local");
}

static void test_outbound_allow_and_own_port(void **state)
{
    (void)state;
    outbound_reset();
    assert_int_equal(outbound_allow_host("LocalHost"), 0);
    assert_int_equal(outbound_allow_host("[::1]"), 0);
    assert_int_equal(outbound_allow_host(""), -EINVAL);
    assert_null(refusal("localhost", "127.0.0.1", 8081));
    assert_null(refusal("[::1]", "::1", 8081));
    assert_null(refusal("::1", "::1", 8081));
    assert_non_null(refusal("127.0.0.1", "127.0.0.1", 8081)); /* a different spelling */
    assert_int_equal(outbound_set_own(8080), 0);
    /* The server's own port is never reachable, even through an allowed host. */
    assert_string_equal(refusal("localhost", "127.0.0.1", 8080),
                        "this server's own listening port");
    assert_null(refusal("localhost", "127.0.0.1", 8081));
    /* Its interface addresses are refused like loopback (127.0.0.1 is one). */
    assert_non_null(refusal("x.example", "127.0.0.1", 9));
    outbound_reset();
}

static void test_throttle_schedule_and_reset(void **state)
{
    (void)state;
    struct throttle_config c;
    throttle_config_defaults(&c);
    c.free = 3;
    c.window_ms = 10000;
    c.max_block_ms = 4000;
    struct throttle *t;
    assert_int_equal(throttle_new(&c, &t), 0);
    uint64_t now = 1000;
    for (unsigned i = 1; i <= 3; i++) {
        assert_int_equal(throttle_blocked(t, "10.0.0.1", now), 0);
        assert_int_equal(throttle_fail(t, "10.0.0.1", now), i);
    }
    assert_int_equal(throttle_blocked(t, "10.0.0.1", now), 0);
    throttle_fail(t, "10.0.0.1", now); /* 4th: blocked 1 s */
    assert_int_equal(throttle_blocked(t, "10.0.0.1", now), 1000);
    assert_int_equal(throttle_blocked(t, "10.0.0.2", now), 0); /* others unaffected */
    now += 1000;
    assert_int_equal(throttle_blocked(t, "10.0.0.1", now), 0);
    throttle_fail(t, "10.0.0.1", now); /* 5th: 2 s */
    assert_int_equal(throttle_blocked(t, "10.0.0.1", now), 2000);
    now += 2000;
    throttle_fail(t, "10.0.0.1", now); /* 6th: 4 s */
    now += 4000;
    throttle_fail(t, "10.0.0.1", now); /* 7th: 8 s, capped at 4 s */
    assert_int_equal(throttle_blocked(t, "10.0.0.1", now), 4000);
    /* IPv6: one /64 is one client; another /64 is another. */
    for (int i = 0; i < 4; i++)
        throttle_fail(t, i % 2 ? "2001:db8:1:2::a" : "2001:db8:1:2:ffff::b", now);
    assert_true(throttle_blocked(t, "2001:db8:1:2::c", now) > 0);
    assert_int_equal(throttle_blocked(t, "2001:db8:1:3::a", now), 0);
    now += 10000; /* the window passes: forgotten */
    assert_int_equal(throttle_blocked(t, "10.0.0.1", now), 0);
    assert_int_equal(throttle_fail(t, "10.0.0.1", now), 1);
    struct buf b = BUF_INIT(1 << 16);
    throttle_metrics(t, &b);
    assert_non_null(strstr(b.data, "xtreamd_auth_blocks_total 5\n"));
    assert_non_null(strstr(b.data, "xtreamd_auth_throttled_total 4\n"));
    buf_free(&b);
    throttle_free(t);
}

static void test_throttle_bound_evicts_oldest(void **state)
{
    (void)state;
    struct throttle_config c;
    throttle_config_defaults(&c);
    c.max_ips = 100;
    c.free = 0;
    struct throttle *t;
    assert_int_equal(throttle_new(&c, &t), 0);
    char ip[32];
    for (int i = 0; i < 250; i++) {
        snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
        throttle_fail(t, ip, 1000 + (uint64_t)i);
    }
    struct buf b = BUF_INIT(1 << 16);
    throttle_metrics(t, &b);
    assert_non_null(strstr(b.data, "xtreamd_auth_failure_ips 100\n"));
    assert_non_null(strstr(b.data, "xtreamd_auth_failure_evictions_total 150\n"));
    buf_free(&b);
    /* The newest are kept (still blocked), the oldest forgotten. */
    assert_true(throttle_blocked(t, "10.0.0.249", 1250) > 0);
    assert_int_equal(throttle_blocked(t, "10.0.0.1", 1250), 0);
    throttle_free(t);
}

static void test_roots(void **state)
{
    (void)state;
    char *roots[] = {"/srv/media", "/data/media/"};
    assert_null(dom_vod_path_refusal("/srv/media/a.mkv", roots, 2, "/var/lib/xtreamd"));
    assert_null(dom_vod_path_refusal("/srv/media/x/y/a.mkv", roots, 2, NULL));
    assert_non_null(dom_vod_path_refusal("/srv/mediax/a.mkv", roots, 2, NULL));
    assert_non_null(dom_vod_path_refusal("/srv/media", roots, 2, NULL));
    assert_non_null(dom_vod_path_refusal("/etc/passwd", roots, 2, NULL));
    assert_non_null(dom_vod_path_refusal("relative.mkv", roots, 2, NULL));
    char *wide[] = {"/"};
    assert_null(dom_vod_path_refusal("/etc/passwd", wide, 1, "/var/lib/xtreamd"));
    assert_non_null(
        dom_vod_path_refusal("/var/lib/xtreamd/xtreamd.db", wide, 1, "/var/lib/xtreamd"));
    assert_non_null(dom_vod_path_refusal("/var/lib/xtreamd/x/a.mkv", wide, 1, "/var/lib/xtreamd"));
    assert_null(dom_vod_path_refusal("/var/lib/xtreamd/media/a.mkv", wide, 1, "/var/lib/xtreamd"));
    assert_non_null(dom_vod_path_refusal("/var/lib/xtreamd/media", wide, 1, "/var/lib/xtreamd"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outbound_classes),
        cmocka_unit_test(test_outbound_allow_and_own_port),
        cmocka_unit_test(test_throttle_schedule_and_reset),
        cmocka_unit_test(test_throttle_bound_evicts_oldest),
        cmocka_unit_test(test_roots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
