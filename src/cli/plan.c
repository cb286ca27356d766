/*
 * cli/plan: `xtreamd plan add|set|list|show|del` — plans ("packages": what
 * a line created with `line add --plan NAME` gets).
 *
 * Argument parsing and output only: every rule is domain/plans.c's. Plans
 * are named by their unique name on the command line (ids in the admin API).
 * Single-threaded.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/jsonw.h"
#include "db/db.h"
#include "domain/lines.h"
#include "domain/plans.h"

static const char usage_add[] =
    "usage: xtreamd plan add NAME [options]\n"
    "  Creates a plan: what a line created with 'xtreamd line add --plan NAME' gets.\n"
    "options (at most one duration; none: the plan's lines never expire):\n"
    "  --days N                 lines expire N days after creation (1-3650)\n"
    "  --months N               lines expire N calendar months after creation (1-120)\n"
    "  --trial-hours N          a trial plan's duration in hours (1-720; needs --trial)\n"
    "  --max-connections N      0-100000 (default 1; 0 = unlimited)\n"
    "  --outputs LIST           comma-separated from ts, m3u8 (default ts,m3u8)\n"
    "  --trial                  lines from the plan are trial lines\n"
    "  --bouquet NAME           repeatable, in order\n"
    "  --data DIR               data directory (default " CLI_DEFAULT_DATA ")\n";

static const char usage_set[] =
    "usage: xtreamd plan set NAME [options]\n"
    "  Changes a plan; options not given keep their value. Lines created from it\n"
    "  keep what they got.\n"
    "options:\n"
    "  --name NEW               rename\n"
    "  --days N | --months N | --trial-hours N   replaces the duration\n"
    "  --no-duration            the plan's lines never expire\n"
    "  --max-connections N\n"
    "  --outputs LIST\n"
    "  --trial | --no-trial\n"
    "  --bouquet NAME           repeatable; replaces the bouquet list\n"
    "  --no-bouquets            remove every bouquet\n"
    "  --data DIR               data directory (default " CLI_DEFAULT_DATA ")\n";

static const char usage_list[] = "usage: xtreamd plan list [--json] [--data DIR]\n";
static const char usage_show[] = "usage: xtreamd plan show NAME [--json] [--data DIR]\n";
static const char usage_del[] = "usage: xtreamd plan del NAME [--data DIR]\n"
                                "  Deletes a plan (lines created from it are kept).\n";

static const char usage_plan[] = "usage: xtreamd plan COMMAND ...\n"
                                 "commands:\n"
                                 "  add NAME [options]     create a plan\n"
                                 "  set NAME [options]     change a plan\n"
                                 "  list [--json]          list plans\n"
                                 "  show NAME [--json]     show one plan\n"
                                 "  del NAME               delete a plan\n"
                                 "Run 'xtreamd plan COMMAND --help' for the options of each.\n";

static const struct cli_field_name names[] = {
    {"name", "--name"},
    {"duration_days", "--days"},
    {"duration_months", "--months"},
    {"trial_hours", "--trial-hours"},
    {"max_connections", "--max-connections"},
    {"allowed_outputs", "--outputs"},
    {"bouquets", "--bouquet"},
    {NULL, NULL},
};

struct plan_opts {
    const char *data, *pos[1];
    long long days, months, hours, maxc;
    bool no_duration, no_bouquets;
    const char *bouquet_v[DOM_LINE_BOUQUETS_MAX];
    struct cli_list bouquets;
    struct dom_plan_in in;
};

static int parse_opts(const char *cmd, const char *usage, bool is_set, int argc, char **argv,
                      struct plan_opts *o)
{
    memset(o, 0, sizeof(*o));
    dom_plan_in_init(&o->in);
    o->data = CLI_DEFAULT_DATA;
    o->days = o->months = o->hours = o->maxc = LLONG_MIN;
    o->bouquets = CLI_LIST_OF(o->bouquet_v);
    struct dom_plan_in *in = &o->in;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&o->data),
        CLI_OPT("--days", CLI_INT, &o->days, .min = LLONG_MIN + 1, .max = LLONG_MAX),
        CLI_OPT("--months", CLI_INT, &o->months, .min = LLONG_MIN + 1, .max = LLONG_MAX),
        CLI_OPT("--trial-hours", CLI_INT, &o->hours, .min = LLONG_MIN + 1, .max = LLONG_MAX),
        CLI_OPT("--max-connections", CLI_INT, &o->maxc, .min = LLONG_MIN + 1, .max = LLONG_MAX),
        CLI_OPT("--outputs", CLI_STR, &in->outputs),
        CLI_OPT("--trial", CLI_TRI, &in->trial, .val = 1),
        CLI_OPT("--bouquet", CLI_LIST, &o->bouquets),
        CLI_OPT("--name", CLI_STR, &in->name, .disabled = !is_set),
        CLI_OPT("--no-trial", CLI_TRI, &in->trial, .val = 0, .disabled = !is_set),
        CLI_OPT("--no-duration", CLI_FLAG, &o->no_duration, .disabled = !is_set),
        CLI_OPT("--no-bouquets", CLI_FLAG, &o->no_bouquets, .disabled = !is_set),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = o->pos, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage, argc, argv, opts, &pos);
    if (r)
        return r;
    if (o->no_bouquets && o->bouquets.n) {
        fprintf(stderr, "%s: --no-bouquets contradicts --bouquet\n", cmd);
        return -EINVAL;
    }
    if (o->no_duration &&
        (o->days != LLONG_MIN || o->months != LLONG_MIN || o->hours != LLONG_MIN)) {
        fprintf(stderr, "%s: --no-duration contradicts a duration option\n", cmd);
        return -EINVAL;
    }
    /* 0 means "clear" to the service (JSON null): a 0 typed here is out of range. */
    const struct {
        long long v;
        bool *has;
        long long *out;
        const char *opt;
    } ints[] = {
        {o->days, &in->has_duration_days, &in->duration_days, "--days"},
        {o->months, &in->has_duration_months, &in->duration_months, "--months"},
        {o->hours, &in->has_trial_hours, &in->trial_hours, "--trial-hours"},
    };
    for (size_t i = 0; i < 3; i++) {
        if (ints[i].v == 0) {
            fprintf(stderr, "%s: %s: must be 1 or more\n", cmd, ints[i].opt);
            return -EINVAL;
        }
        if (ints[i].v != LLONG_MIN || o->no_duration) {
            *ints[i].has = true;
            *ints[i].out = ints[i].v == LLONG_MIN ? 0 : ints[i].v;
        }
    }
    if (o->maxc != LLONG_MIN) {
        in->has_max_connections = true;
        in->max_connections = o->maxc;
    }
    if (!is_set)
        in->name = o->pos[0];
    in->has_bouquets = o->bouquets.n > 0 || o->no_bouquets;
    in->bouquets = o->bouquets.v;
    in->bouquet_count = o->bouquets.n;
    return 0;
}

static int plan_add(int argc, char **argv)
{
    const char *cmd = "xtreamd plan add";
    struct plan_opts o;
    struct db *db;
    struct dom_error e;
    int64_t id;
    int r = parse_opts(cmd, usage_add, false, argc, argv, &o);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, o.data, &db))
        return CLI_FAIL;
    dom_error_reset(&e);
    r = dom_plan_create(db, &o.in, &id, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    printf("Created plan %s\n", o.in.name);
    return CLI_OK;
}

static int plan_set(int argc, char **argv)
{
    const char *cmd = "xtreamd plan set";
    struct plan_opts o;
    struct db *db;
    struct dom_error e;
    int64_t id;
    int r = parse_opts(cmd, usage_set, true, argc, argv, &o);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, o.data, &db))
        return CLI_FAIL;
    dom_error_reset(&e);
    r = dom_plan_find(db, o.pos[0], &id, &e);
    if (r == 0)
        r = dom_plan_update(db, id, &o.in, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    printf("Updated plan %s\n", o.pos[0]);
    return CLI_OK;
}

static int parse_simple(const char *cmd, const char *usage, int argc, char **argv,
                        const char **data, const char **name, bool *json)
{
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(data),
        CLI_OPT("--json", CLI_FLAG, json, .disabled = !json),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = name, .min = 1, .max = 1, .name = "NAME"};
    *data = CLI_DEFAULT_DATA;
    return cli_parse(cmd, usage, argc, argv, opts, name ? &pos : NULL);
}

static void duration_text(const struct db_plan *p, char *out, size_t n)
{
    if (p->duration_days)
        snprintf(out, n, "%lld days", (long long)p->duration_days);
    else if (p->duration_months)
        snprintf(out, n, "%lld months", (long long)p->duration_months);
    else if (p->trial_hours)
        snprintf(out, n, "%lld hours", (long long)p->trial_hours);
    else
        snprintf(out, n, "never expires");
}

static void bouquet_text(const struct db_plan *p, char *out, size_t n)
{
    size_t len = 0;
    snprintf(out, n, "-");
    for (size_t i = 0; i < p->bouquet_count && len < n; i++) {
        int w = snprintf(out + len, n - len, "%s%s", i ? "," : "", p->bouquets[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

static int plan_list(int argc, char **argv)
{
    const char *cmd = "xtreamd plan list", *data;
    bool json = false;
    struct db *db;
    struct dom_error e;
    int r = parse_simple(cmd, usage_list, argc, argv, &data, NULL, &json);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    if (json)
        jsonw_arr_begin(&w);
    else
        printf("%-24s %-16s %5s %-5s %-8s %s\n", "NAME", "DURATION", "CONNS", "TRIAL", "OUTPUTS",
               "BOUQUETS");
    int ret = CLI_OK;
    for (int64_t off = 0;; off += DB_PAGE_LIMIT) {
        struct db_page pg = {.offset = off, .limit = DB_PAGE_LIMIT, .nsort = 1, .sort = {"name"}};
        struct db_plan *v;
        size_t n;
        int64_t total;
        dom_error_reset(&e);
        if (dom_plan_page(db, &pg, &v, &n, &total, &e)) {
            ret = cli_dom_fail(cmd, &e, NULL);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (json) {
                dom_plan_write_json(&w, &v[i]);
                continue;
            }
            char dur[32], bq[512];
            duration_text(&v[i], dur, sizeof(dur));
            bouquet_text(&v[i], bq, sizeof(bq));
            cli_print_cell(v[i].name, 24);
            printf(" %-16s %5lld %-5s %-8s %s\n", dur, (long long)v[i].max_connections,
                   v[i].is_trial ? "yes" : "no", v[i].allowed_outputs, bq);
        }
        db_plan_list_free(v, n);
        if (off + (int64_t)n >= total || n == 0)
            break;
    }
    db_close(db);
    if (json && ret == CLI_OK) {
        jsonw_arr_end(&w);
        if (b.err || cli_print_json_text(b.data))
            ret = CLI_FAIL;
    }
    buf_free(&b);
    return ret;
}

static int plan_show(int argc, char **argv)
{
    const char *cmd = "xtreamd plan show", *data, *name = NULL;
    bool json = false;
    struct db *db;
    struct dom_error e;
    struct db_plan p;
    int64_t id;
    int r = parse_simple(cmd, usage_show, argc, argv, &data, &name, &json);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    dom_error_reset(&e);
    r = dom_plan_find(db, name, &id, &e);
    if (r == 0)
        r = dom_plan_get(db, id, &p, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, NULL);
    int ret = CLI_OK;
    if (json) {
        struct buf b = BUF_INIT(0);
        struct jsonw w;
        jsonw_init(&w, &b);
        dom_plan_write_json(&w, &p);
        if (b.err || cli_print_json_text(b.data))
            ret = CLI_FAIL;
        buf_free(&b);
    } else {
        char dur[32], bq[4096];
        duration_text(&p, dur, sizeof(dur));
        bouquet_text(&p, bq, sizeof(bq));
        printf("name:            %s\n", p.name);
        printf("duration:        %s\n", dur);
        printf("max connections: %lld\n", (long long)p.max_connections);
        printf("trial:           %s\n", p.is_trial ? "yes" : "no");
        printf("outputs:         %s\n", p.allowed_outputs);
        printf("bouquets:        %s\n", bq);
    }
    db_plan_clear(&p);
    return ret;
}

static int plan_del(int argc, char **argv)
{
    const char *cmd = "xtreamd plan del", *data, *name = NULL;
    struct db *db;
    struct dom_error e;
    int64_t id;
    int r = parse_simple(cmd, usage_del, argc, argv, &data, &name, NULL);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    dom_error_reset(&e);
    r = dom_plan_find(db, name, &id, &e);
    if (r == 0)
        r = dom_plan_delete(db, id, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, NULL);
    printf("Deleted plan %s\n", name);
    return CLI_OK;
}

int cli_plan(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"add", plan_add}, {"set", plan_set},    {"list", plan_list}, {"show", plan_show},
        {"del", plan_del}, {"delete", plan_del}, {NULL, NULL},
    };
    return cli_dispatch("xtreamd plan", usage_plan, cmds, argc, argv);
}
