/*
 * Unit tests for config/conffile.c (the libconfig file flattened into
 * entries with their lines) and cli/serve_config.c (the file and
 * environment layers over serve's table, with the origin of each value):
 * shapes, lines, types, errors naming FILE:LINE and the key, a bad entry
 * applied as nothing, the environment's lists, and that every row of the
 * table can be shown and written in the example.
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

#include "cli/serve_config.h"
#include "config/conffile.h"

static void parse_ok(const char *text, struct conffile *f)
{
    char err[512] = "";
    int rc = conffile_parse("t.conf", text, strlen(text), f, err, sizeof(err));
    if (rc)
        fail_msg("parse failed: %s", err);
}

static void parse_err(const char *text, const char *want)
{
    struct conffile f;
    char err[512] = "";
    assert_int_equal(conffile_parse("t.conf", text, strlen(text), &f, err, sizeof(err)), -EINVAL);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_shapes_and_lines(void **state)
{
    (void)state;
    struct conffile f;
    parse_ok("# comment\n"
             "listen = \"0.0.0.0:80\";\n"
             "header-timeout = 2.5;\n"
             "login-free = 7;\n"
             "flag = true;\n"
             "allow-host = [\"a\", \"b\"];\n"
             "live: {\n"
             "  watchdog = 5;\n"
             "  ring-mb = 64;\n"
             "};\n"
             "empty = [];\n",
             &f);
    assert_int_equal(f.n, 9);
    assert_string_equal(f.v[0].key, "listen");
    assert_string_equal(f.v[0].value, "0.0.0.0:80");
    assert_int_equal(f.v[0].line, 2);
    assert_int_equal(f.v[0].type, CONF_STRING);
    assert_string_equal(f.v[0].file, "t.conf");
    assert_string_equal(f.v[1].value, "2.5");
    assert_int_equal(f.v[1].type, CONF_FLOAT);
    assert_string_equal(f.v[2].value, "7");
    assert_int_equal(f.v[2].type, CONF_INT);
    assert_string_equal(f.v[3].value, "true");
    assert_int_equal(f.v[3].type, CONF_BOOL);
    assert_true(f.v[4].in_list);
    assert_string_equal(f.v[5].value, "b");
    assert_int_equal(f.v[5].line, 6);
    assert_string_equal(f.v[6].key, "live");
    assert_string_equal(f.v[6].member, "watchdog");
    assert_int_equal(f.v[6].line, 8);
    assert_string_equal(f.v[7].member, "ring-mb");
    assert_int_equal(f.v[7].line, 9);
    assert_int_equal(f.v[8].type, CONF_EMPTY);
    assert_null(f.v[8].value);
    conffile_free(&f);
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_err("a = 1;\nb = ;\n", "t.conf:2: ");
    parse_err("a = 1;\na = 2;\n", "t.conf:2: ");
    parse_err("g: { h: { i = 1; }; };\n", "t.conf:1: g.h: a group may hold only");
    parse_err("l = ( { a = 1; } );\n", "t.conf:1: l: a list may hold only single values");
    struct conffile f;
    char err[256];
    assert_int_equal(conffile_parse("t.conf", "a = 1;\0b", 8, &f, err, sizeof(err)), -EINVAL);
    assert_int_equal(conffile_read("/nonexistent/x.conf", &f, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "/nonexistent/x.conf: No such file or directory");
}

static int apply_text(struct serve_settings *s, const char *text, char *err, size_t errlen)
{
    struct conffile f;
    int rc = conffile_parse("t.conf", text, strlen(text), &f, err, errlen);
    if (rc)
        return rc;
    rc = serve_config_apply_file(s, &f, err, errlen);
    conffile_free(&f);
    return rc;
}

static void apply_err(const char *text, const char *want)
{
    struct serve_settings s;
    serve_settings_init(&s);
    char err[512] = "";
    assert_int_equal(apply_text(&s, text, err, sizeof(err)), -EINVAL);
    serve_settings_free(&s);
    if (strcmp(err, want) != 0)
        fail_msg("error \"%s\", want \"%s\"", err, want);
}

static void test_apply_and_origins(void **state)
{
    (void)state;
    struct serve_settings s;
    serve_settings_init(&s);
    char err[512];
    assert_int_equal(apply_text(&s,
                                "listen = \"127.0.0.1:9\";\n"
                                "header-timeout = 3;\n"
                                "allow-host = \"one.lan\";\n"
                                "live: { watchdog = 5; };\n",
                                err, sizeof(err)),
                     0);
    assert_int_equal(s.listen_port, 9);
    assert_int_equal(s.header_ms, 3000);
    assert_int_equal(s.nallow_hosts, 1);
    assert_int_equal(s.live.watchdog_ms, 5000);
    const struct serve_origin *o = serve_option_origin(&s, serve_option_find("listen"), NULL);
    assert_non_null(o);
    assert_string_equal(o->where, "file t.conf:1");
    o = serve_option_origin(&s, serve_option_find("live"), "watchdog=");
    assert_non_null(o);
    assert_string_equal(o->where, "file t.conf:4");
    assert_null(serve_option_origin(&s, serve_option_find("live"), "slow-lag="));
    assert_null(serve_option_origin(&s, serve_option_find("idle-timeout"), NULL));

    /* The environment overrides the file; lists split at commas. */
    setenv("XTREAMD_LISTEN", "127.0.0.1:10", 1);
    setenv("XTREAMD_LIVE", " slow-lag=4 ,max-skips=9", 1);
    setenv("XTREAMD_PUBLIC_URL", "", 1); /* empty: unset */
    assert_int_equal(serve_config_apply_env(&s, err, sizeof(err)), 0);
    unsetenv("XTREAMD_LISTEN");
    unsetenv("XTREAMD_LIVE");
    unsetenv("XTREAMD_PUBLIC_URL");
    assert_int_equal(s.listen_port, 10);
    assert_int_equal(s.live.slow_lag_ms, 4000);
    assert_int_equal(s.live.max_skips, 9);
    assert_null(s.public_url);
    o = serve_option_origin(&s, serve_option_find("listen"), NULL);
    assert_string_equal(o->where, "env XTREAMD_LISTEN");
    assert_string_equal(o->value, "127.0.0.1:10");
    serve_settings_free(&s);
}

static void test_apply_errors(void **state)
{
    (void)state;
    apply_err("data = \"x\";\nnope = 1;\n", "t.conf:2: unknown key \"nope\"");
    apply_err("listen = [\"1.2.3.4:5\"];\n", "t.conf:1: listen: takes one value, not a list");
    apply_err("listen: { a = 1; };\n", "t.conf:1: listen: takes a value, not a group");
    apply_err("listen = true;\n", "t.conf:1: listen: a boolean is not HOST:PORT");
    apply_err("listen: { };\n", "t.conf:1: listen: takes a value, not a group");
    apply_err("live: { watchdog = [1, 2]; };\n",
              "t.conf:1: live.watchdog: takes one value, not a list");
    apply_err("\n\nidle-timeout = 0;\n",
              "t.conf:3: invalid idle-timeout \"0\" (want seconds, above 0 up to 86400)");
}

/* Every row can be shown (a formatter) — a row added without one shows
 * "(built in)" for its default; this test names it. */
static void test_every_row_formats(void **state)
{
    (void)state;
    struct serve_settings s;
    serve_settings_init(&s);
    for (size_t i = 0; i < serve_options_count; i++) {
        char v[512];
        if (serve_option_format(&s, &serve_options[i], v, sizeof(v)))
            fail_msg("row %s has no formatter in serve_option_format()", serve_options[i].name);
    }
    serve_settings_free(&s);
}

static int ndiff;
static void count_diff(void *ud, const char *key, const char *was, const char *now)
{
    (void)ud;
    ndiff++;
    assert_string_equal(key, "live.watchdog");
    assert_string_equal(was, "3");
    assert_string_equal(now, "7");
}

static void test_diff(void **state)
{
    (void)state;
    struct serve_settings a, b;
    serve_settings_init(&a);
    serve_settings_init(&b);
    char err[256];
    assert_int_equal(apply_text(&b, "live: { watchdog = 7; };\n", err, sizeof(err)), 0);
    ndiff = 0;
    serve_config_diff(&a, &b, count_diff, NULL);
    assert_int_equal(ndiff, 1);
    serve_settings_free(&a);
    serve_settings_free(&b);
}

/* Which file: --config, else $XTREAMD_CONFIG, else the default only when it
 * exists. */
static void test_path(void **state)
{
    (void)state;
    char p[256];
    setenv("XTREAMD_CONFIG", "/from/env.conf", 1);
    serve_config_path("/from/flag.conf", p, sizeof(p));
    assert_string_equal(p, "/from/flag.conf");
    serve_config_path(NULL, p, sizeof(p));
    assert_string_equal(p, "/from/env.conf");
    unsetenv("XTREAMD_CONFIG");
    serve_config_path(NULL, p, sizeof(p));
    FILE *f = fopen(SERVE_CONFIG_DEFAULT, "r");
    assert_string_equal(p, f ? SERVE_CONFIG_DEFAULT : "");
    if (f)
        fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes_and_lines),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_apply_and_origins),
        cmocka_unit_test(test_apply_errors),
        cmocka_unit_test(test_every_row_formats),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
