/*
 * cli/args: the table-driven option parser and the small helpers the
 * sub-commands share (see args.h for the accepted forms and messages).
 *
 * Owns nothing; the values it stores point into argv. Single-threaded.
 */
#include "cli/args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "db/db.h"
#include "domain/content.h"
#include "http/outbound.h"

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (cli_is_help(argv[i]))
            return true;
    }
    return false;
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, long long min, long long max,
                  long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || v < min || v > max) {
        fprintf(stderr, "%s: %s: invalid value '%s' (expected an integer from %lld to %lld)\n", cmd,
                opt, s, min, max);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int cli_parse_kind(const char *cmd, const char *opt, const char *s, const char **kind)
{
    struct dom_error e; /* the set of kinds is the domain's */
    dom_error_reset(&e);
    if (dom_kind_parse(opt, s, kind, &e) == 0)
        return 0;
    const struct cli_field_name same[] = {{opt, opt}, {NULL, NULL}};
    cli_dom_fail(cmd, &e, same);
    return -EINVAL;
}

int cli_check_allow_host(const char *cmd, const char *opt, const char *val, void *ctx)
{
    int rc = outbound_allow_host(val);
    if (rc == 0)
        return 0;
    fprintf(stderr, "%s: %s: %s\n", cmd, opt,
            rc == -ENOSPC ? "too many hosts" : "want a host name or an IP address");
    return -EINVAL;
}

int cli_check_nonempty(const char *cmd, const char *opt, const char *val, void *ctx)
{
    if (*val)
        return 0;
    fprintf(stderr, "%s: %s: empty name\n", cmd, opt);
    return -EINVAL;
}

static int bad_arg(const char *cmd, const char *arg)
{
    if (arg[0] == '-' && arg[1] != '\0')
        fprintf(stderr, "%s: unknown option '%s' (see %s --help)\n", cmd, arg, cmd);
    else
        fprintf(stderr, "%s: unexpected argument '%s' (see %s --help)\n", cmd, arg, cmd);
    return -EINVAL;
}

static bool takes_value(const struct cli_opt *o)
{
    return o->kind != CLI_FLAG && o->kind != CLI_CONST && o->kind != CLI_TRI;
}

static int set_flag(const char *cmd, const struct cli_opt *o)
{
    int *tri = o->target;
    switch (o->kind) {
    case CLI_FLAG:
        *(bool *)o->target = true;
        return 0;
    case CLI_TRI:
        if (*tri != -1 && *tri != o->val) {
            fprintf(stderr, "%s: '%s' contradicts an earlier option\n", cmd, o->name);
            return -EINVAL;
        }
        *tri = o->val;
        return 0;
    default:
        *(int *)o->target = o->val;
        return 0;
    }
}

/* The kind's own check, then o->check, then the store: a rejected value
 * leaves the target as it was. */
static int set_value(const char *cmd, const struct cli_opt *o, const char *v)
{
    struct cli_list *l = o->target;
    const char *s = v;
    long long n = 0;
    int rc = 0;
    if (o->kind == CLI_INT)
        rc = cli_parse_int(cmd, o->name, v, o->min, o->max, &n);
    else if (o->kind == CLI_KIND)
        rc = cli_parse_kind(cmd, o->name, v, &s);
    else if (o->kind == CLI_LIST && l->n >= l->cap) {
        fprintf(stderr, "%s: at most %zu %s options\n", cmd, l->cap, o->name);
        rc = -EINVAL;
    }
    if (rc == 0 && o->check)
        rc = o->check(cmd, o->name, v, o->ctx) ? -EINVAL : 0;
    if (rc)
        return rc;
    if (o->kind == CLI_INT)
        *(long long *)o->target = n;
    else if (o->kind == CLI_LIST)
        l->v[l->n++] = v;
    else if (o->target)
        *(const char **)o->target = s;
    return 0;
}

/* argv[*i] starts with '-' and is neither "-" nor "--". */
static int parse_option(const char *cmd, const struct cli_opt *opts, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        size_t n = strlen(o->name);
        if (o->disabled || strncmp(a, o->name, n) != 0)
            continue;
        if (!takes_value(o)) {
            if (a[n] == '\0')
                return set_flag(cmd, o);
            continue;
        }
        if (a[n] == '=')
            return set_value(cmd, o, a + n + 1);
        if (a[n] != '\0')
            continue;
        if (*i + 1 >= argc) {
            fprintf(stderr, "%s: option %s needs a value\n", cmd, o->name);
            return -EINVAL;
        }
        *i += 1;
        return set_value(cmd, o, argv[*i]);
    }
    return bad_arg(cmd, a);
}

static int add_positional(const char *cmd, struct cli_pos *pos, const char *a)
{
    if (!pos || pos->n >= pos->max)
        return bad_arg(cmd, a);
    pos->v[pos->n++] = a;
    return 0;
}

int cli_parse(const char *cmd, const char *usage, int argc, char **argv, const struct cli_opt *opts,
              struct cli_pos *pos)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 1;
    }
    if (pos)
        pos->n = 0;
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc;
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = true;
            continue;
        }
        if (dashdash || a[0] != '-' || a[1] == '\0')
            rc = add_positional(cmd, pos, a);
        else
            rc = parse_option(cmd, opts, argc, argv, &i);
        if (rc)
            return rc;
    }
    if (pos && pos->n < pos->min) {
        fprintf(stderr, "%s: missing %s (see %s --help)\n", cmd, pos->name, cmd);
        return -EINVAL;
    }
    return 0;
}

int cli_parse_exit(int r)
{
    return r > 0 ? CLI_OK : CLI_USAGE;
}

int cli_dispatch(const char *group, const char *usage, const struct cli_cmd *cmds, int argc,
                 char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    const char *sub = argv[1];
    if (cli_is_help(sub) || strcmp(sub, "help") == 0) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    for (const struct cli_cmd *c = cmds; c->name; c++)
        if (strcmp(sub, c->name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n", group, sub);
    fputs(usage, stderr);
    return CLI_USAGE;
}

int cli_db_fail(const char *cmd, int rc, const char *not_found, ...)
{
    if (rc != -ENOENT || !not_found) {
        fprintf(stderr, "%s: database error\n", cmd);
        return CLI_FAIL;
    }
    va_list ap;
    va_start(ap, not_found);
    fprintf(stderr, "%s: ", cmd);
    vfprintf(stderr, not_found, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_FAIL;
}

int cli_dom_fail(const char *cmd, const struct dom_error *e, const struct cli_field_name *names)
{
    for (size_t i = 0; i < e->nfields; i++) {
        const struct dom_field_error *f = &e->fields[i];
        const char *label = f->field;
        size_t base = strcspn(f->field, "[");
        for (const struct cli_field_name *n = names; n && n->field; n++) {
            if (strlen(n->field) == base && strncmp(n->field, f->field, base) == 0) {
                label = n->label;
                break;
            }
        }
        fprintf(stderr, "%s: %s: %s\n", cmd, label, f->message);
    }
    if (e->dropped)
        fprintf(stderr, "%s: (%zu more errors)\n", cmd, e->dropped);
    if (!e->nfields)
        fprintf(stderr, "%s: %s\n", cmd, *e->detail ? e->detail : "failed");
    return e->code && strcmp(e->code, DOM_E_VALIDATION) == 0 ? CLI_USAGE : CLI_FAIL;
}

int cli_db_call(const char *cmd, const char *data_dir,
                int (*fn)(struct db *db, const char *arg, struct dom_error *e), const char *arg,
                const struct cli_field_name *names)
{
    struct db *db;
    if (cli_open_db(cmd, data_dir, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    int rc = fn(db, arg, &e);
    db_close(db);
    return rc ? cli_dom_fail(cmd, &e, names) : CLI_OK;
}

int cli_print_json(json_t *j)
{
    if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        json_decref(j);
        return -EIO;
    }
    fputc('\n', stdout);
    json_decref(j);
    return 0;
}

int cli_print_json_text(const char *text)
{
    return cli_print_json(text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL);
}

int cli_open_db(const char *cmd, const char *data_dir, struct db **out)
{
    int rc = db_open(data_dir, out);
    if (rc)
        fprintf(stderr, "%s: cannot open the database in '%s': %s\n", cmd, data_dir, strerror(-rc));
    return rc;
}

void cli_print_cell(const char *s, int width)
{
    size_t n = strlen(s);
    if (n > (size_t)width && width > 3) {
        /* Cut on a UTF-8 character boundary. */
        size_t cut = (size_t)width - 3;
        while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
            cut--;
        printf("%.*s...%*s", (int)cut, s, (int)((size_t)width - 3 - cut), "");
    } else {
        printf("%-*s", width, s);
    }
}
