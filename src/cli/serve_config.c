/*
 * serve_config: the file and environment layers of `serve`'s settings, and
 * `xtreamd config check|show|example` (see the header and
 * docs/configuration.md).
 */
#include "cli/serve_config.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "stream/live.h"

void serve_config_path(const char *flag, char *out, size_t len)
{
    const char *env = getenv(SERVE_CONFIG_ENV);
    if (flag)
        snprintf(out, len, "%s", flag);
    else if (env && *env)
        snprintf(out, len, "%s", env);
    else if (access(SERVE_CONFIG_DEFAULT, F_OK) == 0)
        snprintf(out, len, "%s", SERVE_CONFIG_DEFAULT);
    else if (len)
        out[0] = '\0';
}

/* A row whose values are KEY=VALUE pairs, written in the file as a group. */
static bool is_group_row(const struct serve_option *o)
{
    return o->kind == SERVE_OPT_LIST && o->arg && strcmp(o->arg, "KEY=VALUE") == 0;
}

static int entry_fail(const struct conf_entry *e, char *err, size_t errlen, const char *what,
                      const char *extra)
{
    snprintf(err, errlen, "%s:%d: %s%s%s", e->file, e->line, e->key, what, extra ? extra : "");
    return -EINVAL;
}

static int apply_entry(struct serve_settings *s, const struct conf_entry *e, char *err,
                       size_t errlen)
{
    const struct serve_option *o = serve_option_find(e->key);
    if (!o) {
        snprintf(err, errlen, "%s:%d: unknown key \"%s\"", e->file, e->line, e->key);
        return -EINVAL;
    }
    bool group = is_group_row(o);
    if (e->member && !group)
        return entry_fail(e, err, errlen, ": takes a value, not a group", NULL);
    if (e->in_list && o->kind != SERVE_OPT_LIST)
        return entry_fail(e, err, errlen, ": takes one value, not a list", NULL);
    if (e->member && e->in_list) {
        snprintf(err, errlen, "%s:%d: %s.%s: takes one value, not a list", e->file, e->line, e->key,
                 e->member);
        return -EINVAL;
    }
    if (e->type == CONF_EMPTY) {
        if (o->kind == SERVE_OPT_LIST)
            return 0; /* an empty list or group adds nothing */
        return entry_fail(e, err, errlen, ": takes a value, not a group", NULL); /* "{ }" */
    }
    if (o->kind == SERVE_OPT_FLAG && e->type != CONF_BOOL)
        return entry_fail(e, err, errlen, ": want true or false, not a ",
                          conffile_type_name(e->type));
    if (o->kind != SERVE_OPT_FLAG && e->type == CONF_BOOL)
        return entry_fail(e, err, errlen, ": a boolean is not ", o->want);
    char value[4200];
    if (e->member)
        snprintf(value, sizeof(value), "%s=%s", e->member, e->value);
    else
        snprintf(value, sizeof(value), "%s", e->value);
    char where[4200], msg[4400];
    snprintf(where, sizeof(where), "file %s:%d", e->file, e->line);
    s->layer = where;
    int rc = serve_option_apply(s, o, NULL, value, msg, sizeof(msg));
    s->layer = NULL;
    if (rc)
        snprintf(err, errlen, "%s:%d: %s", e->file, e->line, msg);
    return rc;
}

int serve_config_apply_file(struct serve_settings *s, const struct conffile *f, char *err,
                            size_t errlen)
{
    for (size_t i = 0; i < f->n; i++) {
        int rc = apply_entry(s, &f->v[i], err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

static int apply_env_value(struct serve_settings *s, const struct serve_option *o, const char *name,
                           const char *v, char *err, size_t errlen)
{
    char where[96], msg[1024];
    snprintf(where, sizeof(where), "env %s", name);
    s->layer = where;
    int rc;
    if (o->kind == SERVE_OPT_FLAG) {
        bool b;
        rc = serve_parse_bool(v, &b);
        if (rc)
            snprintf(msg, sizeof(msg), "invalid %s \"%s\" (want true or false)", name, v);
        else
            rc = serve_option_apply(s, o, name, b ? "true" : "false", msg, sizeof(msg));
    } else {
        rc = serve_option_apply(s, o, name, v, msg, sizeof(msg));
    }
    s->layer = NULL;
    if (rc)
        snprintf(err, errlen, "%s", msg);
    return rc;
}

int serve_config_apply_env(struct serve_settings *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < serve_options_count; i++) {
        const struct serve_option *o = &serve_options[i];
        char name[96];
        if (serve_option_env_name(o, name, sizeof(name)))
            continue;
        const char *v = getenv(name);
        if (!v || !*v)
            continue; /* unset or empty (an EnvironmentFile's "X=") */
        if (o->kind != SERVE_OPT_LIST) {
            int rc = apply_env_value(s, o, name, v, err, errlen);
            if (rc)
                return rc;
            continue;
        }
        /* Repeatable: "a,b,c", blanks around the commas ignored. */
        char *copy = strdup(v);
        if (!copy)
            return -ENOMEM;
        int rc = 0;
        char *save = NULL;
        for (char *p = strtok_r(copy, ",", &save); p && rc == 0; p = strtok_r(NULL, ",", &save)) {
            while (*p == ' ' || *p == '\t')
                p++;
            char *end = p + strlen(p);
            while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
                *--end = '\0';
            if (*p)
                rc = apply_env_value(s, o, name, p, err, errlen);
        }
        free(copy);
        if (rc)
            return rc;
    }
    return 0;
}

int serve_config_load(struct serve_settings *s, const char *flag, char *path, size_t pathlen,
                      char *err, size_t errlen)
{
    serve_config_path(flag, path, pathlen);
    if (path[0]) {
        struct conffile f;
        int rc = conffile_read(path, &f, err, errlen);
        if (rc)
            return rc;
        rc = serve_config_apply_file(s, &f, err, errlen);
        conffile_free(&f);
        if (rc)
            return rc;
    }
    return serve_config_apply_env(s, err, errlen);
}

/* ---- the command line layer ---- */

struct flag_ctx {
    struct serve_settings *set;
    const struct serve_option *o;
};

static int apply_flag(const char *cmd, const char *opt, const char *val, void *ctx)
{
    struct flag_ctx *fc = ctx;
    char err[512], where[64];
    snprintf(where, sizeof(where), "flag %.58s", opt); /* names are < 48 bytes */
    fc->set->layer = where;
    int rc = serve_option_apply(fc->set, fc->o, opt, val, err, sizeof(err));
    fc->set->layer = NULL;
    if (rc == 0)
        return 0;
    fprintf(stderr, "%s: %s\n", cmd, err);
    return -EINVAL;
}

int serve_config_flags(struct serve_settings *set, const char *cmd, const char *usage, int argc,
                       char **argv, const struct cli_opt *extra)
{
    enum { MAX = 64, MAX_EXTRA = 8 };
    struct cli_opt opts[MAX + MAX_EXTRA + 1];
    struct flag_ctx ctx[MAX];
    char names[MAX][48];
    bool given[MAX] = {false};
    size_t n = serve_options_count < MAX ? serve_options_count : MAX;
    for (size_t i = 0; i < n; i++) {
        const struct serve_option *o = &serve_options[i];
        snprintf(names[i], sizeof(names[i]), "--%s", o->name);
        ctx[i] = (struct flag_ctx){set, o};
        opts[i] = o->kind == SERVE_OPT_FLAG
                      ? (struct cli_opt)CLI_OPT(names[i], CLI_FLAG, &given[i])
                      : (struct cli_opt)CLI_OPT(names[i], CLI_STR, NULL, .check = apply_flag,
                                                .ctx = &ctx[i]);
    }
    size_t k = n;
    for (size_t i = 0; extra && extra[i].name && i < MAX_EXTRA; i++)
        opts[k++] = extra[i];
    opts[k] = (struct cli_opt)CLI_OPT_END;
    int r = cli_parse(cmd, usage, argc, argv, opts, NULL);
    if (r)
        return r;
    for (size_t i = 0; i < n; i++)
        if (given[i] && apply_flag(cmd, names[i], "true", &ctx[i]))
            return -EINVAL;
    return 0;
}

/* ---- the effective settings, item by item (show, diff) ---- */

struct item {
    const char *key;
    const char *value;
    const char *where; /* NULL: the default */
};

typedef void (*item_fn)(void *ud, const struct item *it);

static void each_item(const struct serve_settings *s, item_fn fn, void *ud)
{
    for (size_t i = 0; i < serve_options_count; i++) {
        const struct serve_option *o = &serve_options[i];
        if (strcmp(o->name, "live") == 0) {
            /* Every tunable, with the source of its last KEY=VALUE. */
            const char *k;
            char v[64], key[96], prefix[96];
            for (size_t j = 0; live_config_get(&s->live, j, &k, v, sizeof(v)) == 0; j++) {
                snprintf(key, sizeof(key), "live.%s", k);
                snprintf(prefix, sizeof(prefix), "%s=", k);
                const struct serve_origin *r = serve_option_origin(s, o, prefix);
                fn(ud, &(struct item){key, v, r ? r->where : NULL});
            }
            continue;
        }
        if (o->kind == SERVE_OPT_LIST) {
            bool any = false;
            for (size_t j = 0; j < s->norigins; j++) {
                if (s->origins[j].o != o)
                    continue;
                fn(ud, &(struct item){o->name, s->origins[j].value, s->origins[j].where});
                any = true;
            }
            if (!any)
                fn(ud, &(struct item){o->name, NULL, NULL});
            continue;
        }
        char v[4200];
        const struct serve_origin *r = serve_option_origin(s, o, NULL);
        if (serve_option_format(s, o, v, sizeof(v)))
            snprintf(v, sizeof(v), "%s", r ? r->value : "(built in)");
        fn(ud, &(struct item){o->name, v, r ? r->where : NULL});
    }
}

struct show_ctx {
    FILE *f;
    json_t *arr;
};

/* "file PATH:LINE" / "env NAME" / "flag --name" as JSON members. */
static void where_json(json_t *o, const char *where)
{
    if (!where) {
        json_object_set_new(o, "source", json_string("default"));
        return;
    }
    if (strncmp(where, "file ", 5) == 0) {
        const char *colon = strrchr(where, ':');
        json_object_set_new(o, "source", json_string("file"));
        if (colon) {
            json_object_set_new(o, "file", json_stringn(where + 5, (size_t)(colon - where - 5)));
            json_object_set_new(o, "line", json_integer(strtol(colon + 1, NULL, 10)));
        }
    } else if (strncmp(where, "env ", 4) == 0) {
        json_object_set_new(o, "source", json_string("env"));
        json_object_set_new(o, "name", json_string(where + 4));
    } else {
        json_object_set_new(o, "source", json_string("flag"));
        if (strncmp(where, "flag ", 5) == 0)
            json_object_set_new(o, "name", json_string(where + 5));
    }
}

static void show_item(void *ud, const struct item *it)
{
    struct show_ctx *c = ud;
    if (c->arr) {
        json_t *o = json_object();
        json_object_set_new(o, "key", json_string(it->key));
        json_object_set_new(o, "value",
                            it->value && it->value[0] ? json_string(it->value) : json_null());
        where_json(o, it->where);
        json_object_set_new(o, "origin", json_string(it->where ? it->where : "default"));
        json_array_append_new(c->arr, o);
        return;
    }
    fprintf(c->f, "%-22s %-30s %s\n", it->key, it->value && it->value[0] ? it->value : "(none)",
            it->where ? it->where : "default");
}

void serve_config_show(FILE *f, const struct serve_settings *s, const char *path, bool json)
{
    struct show_ctx c = {.f = f};
    if (json) {
        c.arr = json_array();
        each_item(s, show_item, &c);
        json_t *root = json_object();
        json_object_set_new(root, "config", path[0] ? json_string(path) : json_null());
        json_object_set_new(root, "settings", c.arr);
        json_dumpf(root, f, JSON_INDENT(2));
        fputc('\n', f);
        json_decref(root);
        return;
    }
    fprintf(f, "# configuration file: %s\n", path[0] ? path : "(none)");
    fprintf(f, "%-22s %-30s %s\n", "# key", "value", "source");
    each_item(s, show_item, &c);
}

/* ---- example ---- */

static bool is_number(const char *v)
{
    char *end;
    if (!*v)
        return false;
    (void)strtod(v, &end);
    return *end == '\0';
}

static void example_value(FILE *f, const char *v)
{
    if (is_number(v)) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

static void example_help(FILE *f, const struct serve_option *o)
{
    fputs("// ", f);
    for (const char *p = o->help; *p; p++) {
        if (*p == '\n')
            fputs("\n// ", f);
        else
            fputc(*p, f);
    }
    fprintf(f, "\n// (%s; environment %s", o->want, "");
    char env[96];
    if (serve_option_env_name(o, env, sizeof(env)) == 0)
        fputs(env, f);
    fprintf(f, ", flag --%s)\n", o->name);
}

void serve_config_example(FILE *f)
{
    struct serve_settings s;
    serve_settings_init(&s);
    fputs("// xtreamd configuration (libconfig syntax; docs/configuration.md).\n"
          "// Every key is a setting of `xtreamd serve`, shown commented out at its\n"
          "// default: remove the leading '#' to change one. The environment\n"
          "// (XTREAMD_*) overrides this file and flags override both.\n"
          "// Check a change with `xtreamd config check --config FILE`; apply it with\n"
          "// `systemctl reload xtreamd` (SIGHUP) or a restart (docs/configuration.md\n"
          "// lists which keys a reload applies).\n",
          f);
    for (size_t i = 0; i < serve_options_count; i++) {
        const struct serve_option *o = &serve_options[i];
        fputc('\n', f);
        example_help(f, o);
        if (strcmp(o->name, "live") == 0) {
            fputs("#live: {\n", f);
            const char *k;
            char v[64];
            for (size_t j = 0; live_config_get(&s.live, j, &k, v, sizeof(v)) == 0; j++) {
                fprintf(f, "#    %s = ", k);
                example_value(f, v);
                fputs(";\n", f);
            }
            fputs("#};\n", f);
            continue;
        }
        if (o->kind == SERVE_OPT_LIST) {
            fprintf(f, "#%s = [ ];\n", o->name);
            continue;
        }
        char v[4200];
        if (o->kind == SERVE_OPT_FLAG) {
            fprintf(f, "#%s = false;\n", o->name);
            continue;
        }
        /* The default of loops is this machine's CPU count: the example names the rule
         * ("auto"), so the file is the same on every machine. */
        if (strcmp(o->name, "loops") == 0)
            snprintf(v, sizeof(v), "auto");
        else if (serve_option_format(&s, o, v, sizeof(v)) || !v[0]) {
            fprintf(f, "// (unset by default: #%s = \"%s\";)\n", o->name, o->arg ? o->arg : "");
            continue;
        }
        fprintf(f, "#%s = ", o->name);
        example_value(f, v);
        fputs(";\n", f);
    }
    serve_settings_free(&s);
}

/* ---- diff (reload) ---- */

struct flat {
    char **key, **value;
    size_t n, cap;
    bool oom;
};

static void flat_add(void *ud, const struct item *it)
{
    struct flat *fl = ud;
    if (fl->oom)
        return;
    /* Repeated keys (a list) are joined: a list changes as a whole. */
    if (fl->n && strcmp(fl->key[fl->n - 1], it->key) == 0) {
        if (!it->value)
            return;
        char *prev = fl->value[fl->n - 1];
        size_t len = strlen(prev) + strlen(it->value) + 3;
        char *j = malloc(len);
        if (!j) {
            fl->oom = true;
            return;
        }
        snprintf(j, len, "%s%s%s", prev, prev[0] ? ", " : "", it->value);
        free(prev);
        fl->value[fl->n - 1] = j;
        return;
    }
    if (fl->n == fl->cap) {
        size_t cap = fl->cap ? fl->cap * 2 : 64;
        char **k = realloc(fl->key, cap * sizeof(*k));
        if (k)
            fl->key = k;
        char **v = k ? realloc(fl->value, cap * sizeof(*v)) : NULL;
        if (!v) {
            fl->oom = true;
            return;
        }
        fl->value = v;
        fl->cap = cap;
    }
    fl->key[fl->n] = strdup(it->key);
    fl->value[fl->n] = strdup(it->value ? it->value : "");
    fl->n++;
    if (!fl->key[fl->n - 1] || !fl->value[fl->n - 1])
        fl->oom = true;
}

static void flat_free(struct flat *fl)
{
    for (size_t i = 0; i < fl->n; i++) {
        free(fl->key[i]);
        free(fl->value[i]);
    }
    free(fl->key);
    free(fl->value);
}

void serve_config_diff(const struct serve_settings *a, const struct serve_settings *b,
                       void (*fn)(void *ud, const char *key, const char *was, const char *now),
                       void *ud)
{
    struct flat fa = {0}, fb = {0};
    each_item(a, flat_add, &fa);
    each_item(b, flat_add, &fb);
    /* Both walk the same table in the same order: the keys pair up. */
    if (!fa.oom && !fb.oom && fa.n == fb.n)
        for (size_t i = 0; i < fa.n; i++)
            if (strcmp(fa.value[i], fb.value[i]) != 0)
                fn(ud, fa.key[i], fa.value[i], fb.value[i]);
    flat_free(&fa);
    flat_free(&fb);
}

/* ---- `xtreamd config` ---- */

static const char usage_config[] =
    "usage: xtreamd config check [--config FILE]\n"
    "       xtreamd config show [--config FILE] [--json] [SERVE OPTION]...\n"
    "       xtreamd config example\n"
    "\n"
    "  check    reads FILE (default: $XTREAMD_CONFIG, else " SERVE_CONFIG_DEFAULT "\n"
    "           if it exists) and the XTREAMD_* environment as `serve` would;\n"
    "           prints \"FILE: ok\", or the first error as FILE:LINE: ... naming\n"
    "           the key, and exits 1\n"
    "  show     every setting of `serve`: its effective value and where it came\n"
    "           from (default, file FILE:LINE, env NAME, flag --NAME); takes\n"
    "           serve's options too; --json for a document\n"
    "  example  a file with every key at its default, commented (the Debian\n"
    "           package's /etc/xtreamd/xtreamd.conf)\n"
    "Format, keys and precedence: docs/configuration.md.\n";

int cli_config(int argc, char **argv)
{
    const char *cmd = argc >= 2 ? argv[1] : "";
    const char *flag = NULL;
    bool json = false;
    bool check = strcmp(cmd, "check") == 0, show = strcmp(cmd, "show") == 0,
         example = strcmp(cmd, "example") == 0;
    if (!check && !show && !example) {
        bool help = argc >= 2 && (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0);
        if (!help)
            fprintf(stderr, "xtreamd config: %s\n",
                    argc >= 2 ? "unknown sub-command (check, show, example)"
                              : "missing sub-command (check, show, example)");
        fputs(usage_config, help ? stdout : stderr);
        return help ? CLI_OK : CLI_USAGE;
    }
    char name[64];
    snprintf(name, sizeof(name), "xtreamd config %s", cmd);
    struct serve_settings s;
    serve_settings_init(&s);
    int r;
    const struct cli_opt show_extra[] = {
        CLI_OPT("--config", CLI_STR, &flag),
        CLI_OPT("--json", CLI_FLAG, &json),
        CLI_OPT_END,
    };
    if (show) {
        /* As serve does: the flags once to find --config, then over the
         * file and the environment. */
        r = serve_config_flags(&s, name, usage_config, argc - 1, argv + 1, show_extra);
        serve_settings_free(&s);
        serve_settings_init(&s);
    } else {
        const struct cli_opt opts[] = {
            CLI_OPT("--config", CLI_STR, &flag, .disabled = example),
            CLI_OPT_END,
        };
        r = cli_parse(name, usage_config, argc - 1, argv + 1, opts, NULL);
    }
    if (r) {
        serve_settings_free(&s);
        return r == -ENOMEM ? CLI_FAIL : cli_parse_exit(r);
    }
    if (example) {
        serve_settings_free(&s);
        serve_config_example(stdout);
        return CLI_OK;
    }
    char path[4096], err[4600];
    int rc = serve_config_load(&s, flag, path, sizeof(path), err, sizeof(err));
    if (rc) {
        fprintf(stderr, "%s: %s\n", name, err);
        serve_settings_free(&s);
        return CLI_FAIL;
    }
    if (show) {
        r = serve_config_flags(&s, name, usage_config, argc - 1, argv + 1, show_extra);
        if (r == 0)
            serve_config_show(stdout, &s, path, json);
    } else {
        printf("%s: ok\n", path[0] ? path : "(no configuration file)");
    }
    serve_settings_free(&s);
    return r ? CLI_FAIL : CLI_OK;
}
