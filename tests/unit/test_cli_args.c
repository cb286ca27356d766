/*
 * Unit tests for src/cli/args.c: the table-driven option parser — flags,
 * "--opt VALUE" and "--opt=VALUE", repeatable options, integer ranges, kinds,
 * checks, tri-states, missing values, unknown options, positional arguments,
 * "--" and --help — with the exact stdout/stderr text the commands print.
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

#include "cli/args.h"
#include "cli/cli.h"

#define CMD   "xtreamd test"
#define USAGE "usage: xtreamd test [options]\n"

/* What one parse printed. */
struct out {
    char text[2][4096]; /* stdout, stderr */
};

static void capture_begin(FILE *tmp[2], int saved[2])
{
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 2; i++) {
        tmp[i] = tmpfile();
        assert_non_null(tmp[i]);
        saved[i] = dup(i + 1);
        assert_true(saved[i] >= 0);
        assert_true(dup2(fileno(tmp[i]), i + 1) >= 0);
    }
}

static void capture_end(FILE *tmp[2], int saved[2], struct out *o)
{
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 2; i++) {
        assert_true(dup2(saved[i], i + 1) >= 0);
        close(saved[i]);
        rewind(tmp[i]);
        size_t n = fread(o->text[i], 1, sizeof(o->text[i]) - 1, tmp[i]);
        o->text[i][n] = '\0';
        fclose(tmp[i]);
    }
}

/* Runs cli_parse on a NULL-terminated argument list (argv[0] is "test"). */
static int parse(const struct cli_opt *opts, struct cli_pos *pos, struct out *o, ...)
{
    char *argv[32] = {"test"};
    int argc = 1;
    va_list ap;
    va_start(ap, o);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    FILE *tmp[2];
    int saved[2];
    capture_begin(tmp, saved);
    int r = cli_parse(CMD, USAGE, argc, argv, opts, pos);
    capture_end(tmp, saved, o);
    return r;
}

/* A table with one option of every kind. */
struct vals {
    const char *data, *name, *kind, *list_v[3];
    struct cli_list list;
    long long num;
    bool json, hidden;
    int tri, mode;
    int checked;
};

static int check_no_x(const char *cmd, const char *opt, const char *val, void *ctx)
{
    struct vals *v = ctx;
    v->checked++;
    if (strchr(val, 'x') == NULL)
        return 0;
    fprintf(stderr, "%s: %s: no x please\n", cmd, opt);
    return -EINVAL;
}

static struct vals *fresh(struct vals *v)
{
    memset(v, 0, sizeof(*v));
    v->data = CLI_DEFAULT_DATA;
    v->num = 7;
    v->tri = -1;
    v->mode = -1;
    v->list = CLI_LIST_OF(v->list_v);
    return v;
}

#define TABLE(v)                                                                                   \
    const struct cli_opt opts[] = {                                                                \
        CLI_OPT_DATA(&(v)->data),                                                                  \
        CLI_OPT_JSON(&(v)->json),                                                                  \
        CLI_OPT("--name", CLI_STR, &(v)->name, .check = check_no_x, .ctx = (v)),                   \
        CLI_OPT("--num", CLI_INT, &(v)->num, .min = -5, .max = 100),                               \
        CLI_OPT("--kind", CLI_KIND, &(v)->kind),                                                   \
        CLI_OPT("--item", CLI_LIST, &(v)->list, .check = cli_check_nonempty),                      \
        CLI_OPT("--on", CLI_TRI, &(v)->tri, .val = 1),                                             \
        CLI_OPT("--off", CLI_TRI, &(v)->tri, .val = 0),                                            \
        CLI_OPT("--fast", CLI_CONST, &(v)->mode, .val = 1),                                        \
        CLI_OPT("--slow", CLI_CONST, &(v)->mode, .val = 0),                                        \
        CLI_OPT("--hidden", CLI_FLAG, &(v)->hidden, .disabled = true),                             \
        CLI_OPT_END,                                                                               \
    }

static void test_flags(void **state)
{
    struct vals v;
    struct out o;
    fresh(&v);
    TABLE(&v);
    assert_int_equal(parse(opts, NULL, &o, NULL), 0);
    assert_false(v.json);
    assert_string_equal(v.data, CLI_DEFAULT_DATA);
    assert_int_equal(parse(opts, NULL, &o, "--json", "--json", NULL), 0);
    assert_true(v.json);
    assert_string_equal(o.text[0], "");
    assert_string_equal(o.text[1], "");

    /* A flag takes no value. */
    fresh(&v);
    assert_int_equal(parse(opts, NULL, &o, "--json=1", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": unknown option '--json=1' (see " CMD " --help)\n");
    assert_false(v.json);

    /* CLI_CONST: the last one wins. */
    assert_int_equal(parse(opts, NULL, &o, "--fast", "--slow", NULL), 0);
    assert_int_equal(v.mode, 0);
    assert_int_equal(parse(opts, NULL, &o, "--slow", "--fast", NULL), 0);
    assert_int_equal(v.mode, 1);

    /* CLI_TRI: repeating is fine, contradicting is not. */
    assert_int_equal(parse(opts, NULL, &o, "--on", "--on", NULL), 0);
    assert_int_equal(v.tri, 1);
    fresh(&v);
    assert_int_equal(parse(opts, NULL, &o, "--off", NULL), 0);
    assert_int_equal(v.tri, 0);
    fresh(&v);
    assert_int_equal(parse(opts, NULL, &o, "--on", "--off", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": '--off' contradicts an earlier option\n");

    /* A disabled entry is an unknown option. */
    assert_int_equal(parse(opts, NULL, &o, "--hidden", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": unknown option '--hidden' (see " CMD " --help)\n");
    assert_false(v.hidden);
}

static void test_values(void **state)
{
    struct vals v;
    struct out o;
    fresh(&v);
    TABLE(&v);
    assert_int_equal(parse(opts, NULL, &o, "--data", "/d", "--name", "abc", NULL), 0);
    assert_string_equal(v.data, "/d");
    assert_string_equal(v.name, "abc");
    assert_int_equal(parse(opts, NULL, &o, "--data=/e", "--name=a=b", NULL), 0);
    assert_string_equal(v.data, "/e");
    assert_string_equal(v.name, "a=b");
    assert_int_equal(v.checked, 2);
    /* Empty values, values that look like options, the last one wins. */
    assert_int_equal(parse(opts, NULL, &o, "--name=", "--data", "--json", NULL), 0);
    assert_string_equal(v.name, "");
    assert_string_equal(v.data, "--json");
    assert_false(v.json);
    assert_int_equal(parse(opts, NULL, &o, "--name", "", "--name", "-z", NULL), 0);
    assert_string_equal(v.name, "-z");

    /* A check that rejects prints its reason and leaves the target alone. */
    assert_int_equal(parse(opts, NULL, &o, "--name", "xyz", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": --name: no x please\n");
    assert_string_equal(v.name, "-z");

    /* A prefix or an extension of a name is not that option. */
    assert_int_equal(parse(opts, NULL, &o, "--nam", "x", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": unknown option '--nam' (see " CMD " --help)\n");
    assert_int_equal(parse(opts, NULL, &o, "--names=x", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": unknown option '--names=x' (see " CMD " --help)\n");

    /* Kinds come back as the canonical static strings. */
    assert_int_equal(parse(opts, NULL, &o, "--kind=movie", NULL), 0);
    assert_string_equal(v.kind, "movie");
    assert_int_equal(parse(opts, NULL, &o, "--kind", "tv", NULL), -EINVAL);
    assert_string_equal(o.text[1],
                        CMD ": --kind: invalid kind 'tv' (expected live, movie or series)\n");
    assert_string_equal(v.kind, "movie");
}

static void test_int_ranges(void **state)
{
    struct vals v;
    struct out o;
    fresh(&v);
    TABLE(&v);
    assert_int_equal(parse(opts, NULL, &o, "--num", "-5", NULL), 0);
    assert_int_equal(v.num, -5);
    assert_int_equal(parse(opts, NULL, &o, "--num=100", NULL), 0);
    assert_int_equal(v.num, 100);
    assert_int_equal(parse(opts, NULL, &o, "--num", "0", NULL), 0);
    assert_int_equal(v.num, 0);
    static const char *const bad[] = {"101", "-6", "", "1x", "0x10", "1.5", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char arg[64];
        snprintf(arg, sizeof(arg), "--num=%s", bad[i]);
        assert_int_equal(parse(opts, NULL, &o, arg, NULL), -EINVAL);
        char want[200];
        snprintf(want, sizeof(want),
                 CMD ": --num: invalid value '%s' (expected an integer from -5 to 100)\n", bad[i]);
        assert_string_equal(o.text[1], want);
        assert_int_equal(v.num, 0);
    }
}

static void test_repeatable(void **state)
{
    struct vals v;
    struct out o;
    fresh(&v);
    TABLE(&v);
    assert_int_equal(parse(opts, NULL, &o, "--item", "a", "--item=b", NULL), 0);
    assert_int_equal(v.list.n, 2);
    assert_string_equal(v.list.v[0], "a");
    assert_string_equal(v.list.v[1], "b");
    assert_int_equal(parse(opts, NULL, &o, "--item", "c", NULL), 0);
    assert_int_equal(v.list.n, 3);
    assert_string_equal(v.list.v[2], "c");
    /* Full (cap 3). */
    assert_int_equal(parse(opts, NULL, &o, "--item", "d", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": at most 3 --item options\n");
    assert_int_equal(v.list.n, 3);
    /* The check runs on each value. */
    fresh(&v);
    assert_int_equal(parse(opts, NULL, &o, "--item", "a", "--item=", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": --item: empty name\n");
    assert_int_equal(v.list.n, 1);
}

static void test_missing_value(void **state)
{
    struct vals v;
    struct out o;
    fresh(&v);
    TABLE(&v);
    assert_int_equal(parse(opts, NULL, &o, "--json", "--num", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": option --num needs a value\n");
    assert_string_equal(o.text[0], "");
    assert_int_equal(parse(opts, NULL, &o, "--data", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": option --data needs a value\n");
    assert_int_equal(cli_parse_exit(-EINVAL), CLI_USAGE);
}

static void test_unknown_option(void **state)
{
    struct vals v;
    struct out o;
    fresh(&v);
    TABLE(&v);
    assert_int_equal(parse(opts, NULL, &o, "--frobnicate", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": unknown option '--frobnicate' (see " CMD " --help)\n");
    assert_int_equal(parse(opts, NULL, &o, "-x", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": unknown option '-x' (see " CMD " --help)\n");
    /* The first problem in argv order is the one reported. */
    assert_int_equal(parse(opts, NULL, &o, "--bad", "--num", "x", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": unknown option '--bad' (see " CMD " --help)\n");
    /* No table at all. */
    assert_int_equal(parse(NULL, NULL, &o, "--data", "x", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": unknown option '--data' (see " CMD " --help)\n");
}

static void test_positional(void **state)
{
    struct vals v;
    struct out o;
    const char *p[2] = {NULL, NULL};
    struct cli_pos pos = {.v = p, .min = 1, .max = 2, .name = "NAME"};
    fresh(&v);
    TABLE(&v);
    /* Before, between and after options. */
    assert_int_equal(parse(opts, &pos, &o, "one", "--json", "two", NULL), 0);
    assert_int_equal(pos.n, 2);
    assert_string_equal(p[0], "one");
    assert_string_equal(p[1], "two");
    assert_true(v.json);
    assert_int_equal(parse(opts, &pos, &o, "--num", "3", "only", NULL), 0);
    assert_int_equal(pos.n, 1);
    assert_string_equal(p[0], "only");
    /* A lone "-" is positional (stdin). */
    assert_int_equal(parse(opts, &pos, &o, "-", NULL), 0);
    assert_string_equal(p[0], "-");
    /* "--" ends the options: the rest is positional, even --help. */
    assert_int_equal(parse(opts, &pos, &o, "--json", "--", "--num", "-h", NULL), 0);
    assert_int_equal(pos.n, 2);
    assert_string_equal(p[0], "--num");
    assert_string_equal(p[1], "-h");
    assert_string_equal(o.text[0], "");
    assert_int_equal(parse(opts, &pos, &o, "a", "--", "--", NULL), 0);
    assert_string_equal(p[1], "--");
    /* Too many, too few. */
    assert_int_equal(parse(opts, &pos, &o, "a", "b", "c", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": unexpected argument 'c' (see " CMD " --help)\n");
    assert_int_equal(parse(opts, &pos, &o, "--json", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": missing NAME (see " CMD " --help)\n");
    assert_int_equal(parse(opts, &pos, &o, "--", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": missing NAME (see " CMD " --help)\n");
    /* No positional arguments at all. */
    assert_int_equal(parse(opts, NULL, &o, "x", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": unexpected argument 'x' (see " CMD " --help)\n");
    assert_int_equal(parse(opts, NULL, &o, "-", NULL), -EINVAL);
    assert_string_equal(o.text[1], CMD ": unexpected argument '-' (see " CMD " --help)\n");
}

static void test_help(void **state)
{
    struct vals v;
    struct out o;
    const char *p[1];
    struct cli_pos pos = {.v = p, .min = 1, .max = 1, .name = "NAME"};
    fresh(&v);
    TABLE(&v);
    static const char *const forms[][4] = {
        {"--help", NULL},
        {"-h", NULL},
        {"--bogus", "--help", NULL}, /* help wins over errors */
        {"--num", "x", "-h", NULL},  /* ... in any position */
        {"a", "b", "c", "--help"},   /* ... and over missing/extra positionals */
        {"--name", "--help", NULL},  /* even where it would be a value */
        {"--json", "--help", "--", "x"},
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        int r = parse(opts, &pos, &o, forms[i][0], forms[i][1], forms[i][2], forms[i][3], NULL);
        assert_int_equal(r, 1);
        assert_string_equal(o.text[0], USAGE);
        assert_string_equal(o.text[1], "");
        assert_int_equal(cli_parse_exit(r), CLI_OK);
    }
    assert_true(cli_is_help("-h"));
    assert_false(cli_is_help("--helpx"));
    assert_false(cli_is_help("-help"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),         cmocka_unit_test(test_values),
        cmocka_unit_test(test_int_ranges),    cmocka_unit_test(test_repeatable),
        cmocka_unit_test(test_missing_value), cmocka_unit_test(test_unknown_option),
        cmocka_unit_test(test_positional),    cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
