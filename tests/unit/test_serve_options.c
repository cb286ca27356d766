/*
 * Unit tests for src/cli/serve_options.c: the table of `serve` settings —
 * defaults, setters that validate before storing (a bad value keeps the old
 * one), the error text naming the source's spelling, lists and their bound,
 * booleans, environment names, and the usage text built from the rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/serve_options.h"
#include "stream/live.h"

static const struct serve_option *row(const char *name)
{
    const struct serve_option *o = serve_option_find(name);
    assert_non_null(o);
    return o;
}

static void test_defaults(void **state)
{
    (void)state;
    struct serve_settings s;
    serve_settings_init(&s);
    assert_string_equal(s.data, "./data");
    assert_string_equal(s.listen_host, "0.0.0.0");
    assert_int_equal(s.listen_port, 8080);
    assert_null(s.public_url);
    assert_int_equal(s.header_ms, 10000);
    assert_int_equal(s.idle_ms, 60000);
    assert_false(s.redirect_remote);
    serve_settings_free(&s);
}

static void test_bad_value_keeps_old_and_names_source(void **state)
{
    (void)state;
    struct serve_settings s;
    serve_settings_init(&s);
    char err[256];
    assert_int_equal(serve_option_apply(&s, row("listen"), NULL, "[::1]:9000", err, sizeof(err)),
                     0);
    assert_string_equal(s.listen_host, "::1");
    assert_int_equal(s.listen_port, 9000);
    assert_int_equal(
        serve_option_apply(&s, row("listen"), "XTREAMD_LISTEN", "nohost", err, sizeof(err)),
        -EINVAL);
    assert_string_equal(err, "invalid XTREAMD_LISTEN \"nohost\" (want HOST:PORT)");
    assert_int_equal(s.listen_port, 9000);
    assert_int_equal(serve_option_apply(&s, row("idle-timeout"), NULL, "0", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(serve_option_apply(&s, row("idle-timeout"), NULL, "nan", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(s.idle_ms, 60000);
    assert_int_equal(serve_option_apply(&s, row("idle-timeout"), NULL, "1.5", err, sizeof(err)), 0);
    assert_int_equal(s.idle_ms, 1500);
    assert_int_equal(serve_option_apply(&s, row("public-url"), NULL, "ftp://x", err, sizeof(err)),
                     -EINVAL);
    assert_null(s.public_url);
    assert_int_equal(serve_option_apply(&s, row("remote-vod"), NULL, "redirect", err, sizeof(err)),
                     0);
    assert_true(s.redirect_remote);
    serve_settings_free(&s);
}

static void test_live_knob_all_or_nothing(void **state)
{
    (void)state;
    struct serve_settings s;
    serve_settings_init(&s);
    char err[256];
    unsigned before = s.live.watchdog_ms;
    assert_int_equal(serve_option_apply(&s, row("live"), NULL, "watchdog=x", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(s.live.watchdog_ms, before);
    assert_int_equal(serve_option_apply(&s, row("live"), NULL, "watchdog=7", err, sizeof(err)), 0);
    assert_int_equal(s.live.watchdog_ms, 7000);
    serve_settings_free(&s);
}

static void test_list_bound(void **state)
{
    (void)state;
    struct serve_settings s;
    serve_settings_init(&s);
    char err[256], host[32];
    for (int i = 0; i < SERVE_MAX_ALLOW_HOSTS; i++) {
        snprintf(host, sizeof(host), "h%d.example", i);
        assert_int_equal(serve_option_apply(&s, row("allow-host"), NULL, host, err, sizeof(err)),
                         0);
    }
    assert_int_equal(serve_option_apply(&s, row("allow-host"), NULL, "one.more", err, sizeof(err)),
                     -ENOSPC);
    assert_non_null(strstr(err, "too many allow-host"));
    assert_int_equal(s.nallow_hosts, SERVE_MAX_ALLOW_HOSTS);
    assert_string_equal(s.allow_hosts[3], "h3.example");
    serve_settings_free(&s);
}

static void test_bool_env_usage(void **state)
{
    (void)state;
    bool b = false;
    assert_int_equal(serve_parse_bool("Yes", &b), 0);
    assert_true(b);
    assert_int_equal(serve_parse_bool("off", &b), 0);
    assert_false(b);
    assert_int_equal(serve_parse_bool("maybe", &b), -EINVAL);
    char env[64];
    assert_int_equal(serve_option_env_name(row("header-timeout"), env, sizeof(env)), 0);
    assert_string_equal(env, "XTREAMD_HEADER_TIMEOUT");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    serve_options_usage(f);
    fclose(f);
    /* every row is documented, continuation lines aligned under the help */
    for (size_t i = 0; i < serve_options_count; i++) {
        char flag[64];
        snprintf(flag, sizeof(flag), "  --%s ", serve_options[i].name);
        assert_non_null(strstr(text, flag));
    }
    assert_non_null(strstr(text, "\n                           [::]:PORT for IPv6"));
    free(text);
}

/* loops: the default and "auto" are the online CPUs within 1..LIVE_MAX_LOOPS;
 * numbers outside that range and other words are refused. */
static void test_loops_default_auto(void **state)
{
    (void)state;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned want = online < 1 ? 1 : online > LIVE_MAX_LOOPS ? LIVE_MAX_LOOPS : (unsigned)online;
    struct serve_settings s;
    serve_settings_init(&s);
    assert_int_equal(s.loops, want);
    char err[256];
    assert_int_equal(serve_option_apply(&s, row("loops"), NULL, "1", err, sizeof(err)), 0);
    assert_int_equal(s.loops, 1);
    assert_int_equal(serve_option_apply(&s, row("loops"), NULL, "auto", err, sizeof(err)), 0);
    assert_int_equal(s.loops, want);
    assert_int_equal(serve_option_apply(&s, row("loops"), NULL, "16", err, sizeof(err)), 0);
    static const char *const bad[] = {"0", "17", "-1", "Auto", "auto ", "", "2x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(serve_option_apply(&s, row("loops"), NULL, bad[i], err, sizeof(err)),
                         -EINVAL);
        assert_int_equal(s.loops, 16);
    }
    char v[64];
    assert_int_equal(serve_option_format(&s, row("loops"), v, sizeof(v)), 0);
    assert_string_equal(v, "16");
    serve_settings_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bad_value_keeps_old_and_names_source),
        cmocka_unit_test(test_live_knob_all_or_nothing),
        cmocka_unit_test(test_list_bound),
        cmocka_unit_test(test_bool_env_usage),
        cmocka_unit_test(test_loops_default_auto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
