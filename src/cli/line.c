/*
 * cli/line: `xtreamd line add|set|list|show|del` — subscriber lines.
 *
 * Owns argument parsing and output for lines. Every rule (what a valid
 * username, date or output list is, defaults, the transaction, the status)
 * is domain/lines.c's; this file turns argv into a struct dom_line_in, calls
 * the service and prints. Single-threaded.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/jsonw.h"
#include "db/db.h"
#include "domain/lines.h"

static const char usage_add[] =
    "usage: xtreamd line add USERNAME [PASSWORD] [options]\n"
    "  Creates a subscriber line. Without PASSWORD a random 12-character one is\n"
    "  generated and printed. USERNAME and PASSWORD: 1-64 of A-Z a-z 0-9 . _ @ -\n"
    "options:\n"
    "  --max-connections N      simultaneous streams, 0-100000 (default 1; 0 = unlimited)\n"
    "  --expires YYYY-MM-DD     expires at 00:00 UTC that day; 'never' (default)\n"
    "  --trial                  mark as a trial line\n"
    "  --disabled               create disabled\n"
    "  --banned                 create banned\n"
    "  --bouquet NAME           give the line this bouquet (repeatable, in order)\n"
    "  --outputs LIST           allowed outputs, comma-separated from ts, m3u8\n"
    "                           (aliases mpegts, hls; default ts,m3u8)\n"
    "  --message TEXT           message shown by players (max 1024 bytes)\n"
    "  --notes TEXT             the operator's notes (max 4096 bytes, never shown to clients)\n"
    "  --plan NAME              take max connections, outputs, bouquets, trial and the\n"
    "                           expiry (now + its duration) from this plan (xtreamd plan);\n"
    "                           the options above override it\n"
    "  --data DIR               data directory (default " CLI_DEFAULT_DATA ")\n";

static const char usage_set[] =
    "usage: xtreamd line set USERNAME [options]\n"
    "  Changes a line; options not given keep their value.\n"
    "options:\n"
    "  --password P             new password (1-64 of A-Z a-z 0-9 . _ @ -)\n"
    "  --max-connections N      0-100000 (0 = unlimited)\n"
    "  --expires YYYY-MM-DD|never\n"
    "  --trial | --no-trial\n"
    "  --enabled | --disabled\n"
    "  --banned | --unbanned\n"
    "  --bouquet NAME           repeatable; replaces the line's bouquet list\n"
    "  --no-bouquets            remove every bouquet from the line\n"
    "  --outputs LIST           comma-separated from ts, m3u8 (aliases mpegts, hls)\n"
    "  --message TEXT           ('' clears it)\n"
    "  --notes TEXT             ('' clears it)\n"
    "  --data DIR               data directory (default " CLI_DEFAULT_DATA ")\n";

static const char usage_list[] = "usage: xtreamd line list [--json] [--data DIR]\n"
                                 "  Lists every line: username, password, status, expiry,\n"
                                 "  max connections and bouquets.\n";

static const char usage_show[] = "usage: xtreamd line show USERNAME [--json] [--data DIR]\n";

static const char usage_extend[] =
    "usage: xtreamd line extend USERNAME (--days N | --months N | --until DATE) [--data DIR]\n"
    "  Extends a line from the later of now and its expiry: N days (1-3650), N calendar\n"
    "  months (1-120), or until DATE (YYYY-MM-DD or RFC 3339; after the current expiry).\n"
    "  A line that never expires cannot be extended (give it --expires with 'line set').\n";

static const char usage_del[] = "usage: xtreamd line del USERNAME [--data DIR]\n"
                                "  Deletes a line (and its devices and bouquet links).\n";

static const char usage_line[] = "usage: xtreamd line COMMAND ...\n"
                                 "commands:\n"
                                 "  add USERNAME [PASSWORD] [options]   create a line\n"
                                 "  set USERNAME [options]              change a line\n"
                                 "  list [--json]                       list lines\n"
                                 "  show USERNAME [--json]              show one line\n"
                                 "  extend USERNAME --days N|--months N|--until DATE\n"
                                 "                                      extend a line\n"
                                 "  del USERNAME                        delete a line\n"
                                 "Run 'xtreamd line COMMAND --help' for the options of each.\n";

/* How the domain's fields are spelled on this command line. */
static const struct cli_field_name add_names[] = {
    {"max_connections", "--max-connections"},
    {"expires", "--expires"},
    {"allowed_outputs", "--outputs"},
    {"message", "--message"},
    {"notes", "--notes"},
    {"bouquets", "--bouquet"},
    {"plan_id", "--plan"},
    {NULL, NULL},
};
static const struct cli_field_name set_names[] = {
    {"password", "--password"}, {"max_connections", "--max-connections"},
    {"expires", "--expires"},   {"allowed_outputs", "--outputs"},
    {"message", "--message"},   {"notes", "--notes"},
    {"bouquets", "--bouquet"},  {NULL, NULL},
};

/* Options shared by add and set, as given; the domain checks them. */
struct line_opts {
    const char *data;
    const char *positional[2];
    int npos;
    long long max_conn;
    const char *bouquet_v[DOM_LINE_BOUQUETS_MAX];
    struct cli_list bouquets;
    bool no_bouquets;
    struct dom_line_in in;
};

/* Parses add/set arguments into o->in: 0, or cli_parse()'s 1 (--help) /
 * -EINVAL. Only the syntax is checked here (an integer is an integer). */
static int parse_line_opts(const char *cmd, const char *usage, bool is_set, int argc, char **argv,
                           struct line_opts *o)
{
    memset(o, 0, sizeof(*o));
    dom_line_in_init(&o->in);
    o->data = CLI_DEFAULT_DATA;
    o->max_conn = LLONG_MIN; /* not given */
    o->bouquets = CLI_LIST_OF(o->bouquet_v);
    struct dom_line_in *in = &o->in;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&o->data),
        CLI_OPT("--max-connections", CLI_INT, &o->max_conn, .min = LLONG_MIN + 1, .max = LLONG_MAX),
        CLI_OPT("--expires", CLI_STR, &in->expires),
        CLI_OPT("--bouquet", CLI_LIST, &o->bouquets),
        CLI_OPT("--outputs", CLI_STR, &in->outputs),
        CLI_OPT("--message", CLI_STR, &in->message),
        CLI_OPT("--notes", CLI_STR, &in->notes),
        CLI_OPT("--plan", CLI_STR, &in->plan, .check = cli_check_nonempty, .disabled = is_set),
        CLI_OPT("--trial", CLI_TRI, &in->trial, .val = 1),
        CLI_OPT("--disabled", CLI_TRI, &in->enabled, .val = 0),
        CLI_OPT("--banned", CLI_TRI, &in->banned, .val = 1),
        CLI_OPT("--password", CLI_STR, &in->password, .disabled = !is_set),
        CLI_OPT("--no-trial", CLI_TRI, &in->trial, .val = 0, .disabled = !is_set),
        CLI_OPT("--enabled", CLI_TRI, &in->enabled, .val = 1, .disabled = !is_set),
        CLI_OPT("--unbanned", CLI_TRI, &in->banned, .val = 0, .disabled = !is_set),
        CLI_OPT("--no-bouquets", CLI_FLAG, &o->no_bouquets, .disabled = !is_set),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = o->positional, .min = 1, .max = is_set ? 1 : 2, .name = "USERNAME"};
    int r = cli_parse(cmd, usage, argc, argv, opts, &pos);
    if (r)
        return r;
    o->npos = pos.n;
    if (o->no_bouquets && o->bouquets.n) {
        fprintf(stderr, "%s: --no-bouquets contradicts --bouquet\n", cmd);
        return -EINVAL;
    }
    if (o->max_conn != LLONG_MIN) {
        in->has_max_connections = true;
        in->max_connections = o->max_conn;
    }
    if (!is_set) {
        in->username = o->positional[0];
        in->password = o->npos > 1 ? o->positional[1] : NULL;
    }
    in->has_bouquets = o->bouquets.n > 0 || o->no_bouquets;
    in->bouquets = o->bouquets.v;
    in->bouquet_count = o->bouquets.n;
    return 0;
}

static int line_add(int argc, char **argv)
{
    const char *cmd = "xtreamd line add";
    struct line_opts o;
    struct db *db = NULL;
    struct dom_error e;
    struct dom_line_created made;
    int r = parse_line_opts(cmd, usage_add, false, argc, argv, &o);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, o.data, &db))
        return CLI_FAIL;
    dom_error_reset(&e);
    r = dom_line_create(db, &o.in, &made, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, add_names);
    if (made.password_generated)
        printf("Created line %s with password %s\n", o.in.username, made.password);
    else
        printf("Created line %s\n", o.in.username);
    return CLI_OK;
}

static int line_set(int argc, char **argv)
{
    const char *cmd = "xtreamd line set";
    struct line_opts o;
    struct db *db = NULL;
    struct dom_error e;
    int r = parse_line_opts(cmd, usage_set, true, argc, argv, &o);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, o.data, &db))
        return CLI_FAIL;
    dom_error_reset(&e);
    r = dom_line_update(db, o.positional[0], &o.in, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, set_names);
    printf("Updated line %s\n", o.positional[0]);
    return CLI_OK;
}

static void format_exp(const struct db_line *l, char *out, size_t n)
{
    if (!l->has_exp) {
        snprintf(out, n, "never");
        return;
    }
    time_t t = (time_t)l->exp_date;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, n, "%lld", (long long)l->exp_date);
        return;
    }
    if (tm.tm_hour == 0 && tm.tm_min == 0 && tm.tm_sec == 0)
        strftime(out, n, "%Y-%m-%d", &tm);
    else
        strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The admin API's representation (dom_line_write_json), so that scripts
 * see one shape of a line everywhere. */
static int print_lines_json(const struct db_line *v, size_t n, bool array, int64_t now)
{
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    if (array)
        jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        dom_line_write_json(&w, &v[i], now);
    if (array)
        jsonw_arr_end(&w);
    int rc = b.err ? -EIO : cli_print_json_text(b.data);
    buf_free(&b);
    return rc;
}

static void join_bouquets(const struct db_line *l, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l->bouquet_count && len < n; i++) {
        int w = snprintf(out + len, n - len, "%s%s", i ? "," : "", l->bouquets[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (l->bouquet_count == 0)
        snprintf(out, n, "-");
}

/* Parses "[USERNAME] [--json] [--data DIR]" for list/show/del; user NULL: no
 * USERNAME, json NULL: no --json. Returns cli_parse()'s result. */
static int parse_simple(const char *cmd, const char *usage, int argc, char **argv,
                        const char **data, const char **user, bool *json)
{
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(data),
        CLI_OPT("--json", CLI_FLAG, json, .disabled = !json),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = user, .min = 1, .max = 1, .name = "USERNAME"};
    *data = CLI_DEFAULT_DATA;
    return cli_parse(cmd, usage, argc, argv, opts, user ? &pos : NULL);
}

static int line_list(int argc, char **argv)
{
    const char *cmd = "xtreamd line list", *data;
    bool json = false;
    struct db *db;
    struct db_line *v;
    size_t n;
    int r = parse_simple(cmd, usage_list, argc, argv, &data, NULL, &json);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    int rc = dom_line_list(db, &v, &n, &e);
    if (rc) {
        db_close(db);
        return cli_dom_fail(cmd, &e, NULL);
    }
    int64_t now = db_now();
    int ret = CLI_OK;
    if (json) {
        if (print_lines_json(v, n, true, now))
            ret = CLI_FAIL;
    } else {
        printf("%-20s %-20s %-9s %-10s %5s  %s\n", "USERNAME", "PASSWORD", "STATUS", "EXPIRES",
               "CONNS", "BOUQUETS");
        for (size_t i = 0; i < n; i++) {
            char exp[40], bq[512];
            format_exp(&v[i], exp, sizeof(exp));
            join_bouquets(&v[i], bq, sizeof(bq));
            cli_print_cell(v[i].username, 20);
            putchar(' ');
            cli_print_cell(v[i].password, 20);
            printf(" %-9s %-10s %5lld  %s\n", dom_line_status(&v[i], now), exp,
                   (long long)v[i].max_connections, bq);
        }
    }
    db_line_list_free(v, n);
    db_close(db);
    return ret;
}

static int line_show(int argc, char **argv)
{
    const char *cmd = "xtreamd line show", *data, *user = NULL;
    bool json = false;
    struct db *db;
    struct db_line l;
    int r = parse_simple(cmd, usage_show, argc, argv, &data, &user, &json);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    int rc = dom_line_get(db, user, &l, &e);
    db_close(db);
    if (rc)
        return cli_dom_fail(cmd, &e, NULL);
    int64_t now = db_now();
    int ret = CLI_OK;
    if (json) {
        if (print_lines_json(&l, 1, false, now))
            ret = CLI_FAIL;
    } else {
        char exp[40], bq[4096], created[32];
        time_t t = (time_t)l.created_at;
        struct tm tm;
        format_exp(&l, exp, sizeof(exp));
        join_bouquets(&l, bq, sizeof(bq));
        if (gmtime_r(&t, &tm))
            strftime(created, sizeof(created), "%Y-%m-%d %H:%M:%S UTC", &tm);
        else
            snprintf(created, sizeof(created), "%lld", (long long)l.created_at);
        printf("username:        %s\n", l.username);
        printf("password:        %s\n", l.password);
        printf("status:          %s\n", dom_line_status(&l, now));
        printf("expires:         %s\n", exp);
        printf("max connections: %lld\n", (long long)l.max_connections);
        printf("trial:           %s\n", l.is_trial ? "yes" : "no");
        printf("enabled:         %s\n", l.enabled ? "yes" : "no");
        printf("banned:          %s\n", l.banned ? "yes" : "no");
        printf("outputs:         %s\n", l.allowed_outputs);
        printf("bouquets:        %s\n", bq);
        printf("message:         %s\n", l.message);
        printf("notes:           %s\n", l.notes);
        printf("created:         %s\n", created);
    }
    db_line_clear(&l);
    return ret;
}

static int line_del(int argc, char **argv)
{
    const char *cmd = "xtreamd line del", *data, *user = NULL;
    struct db *db;
    int r = parse_simple(cmd, usage_del, argc, argv, &data, &user, NULL);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    int rc = dom_line_delete(db, user, &e);
    db_close(db);
    if (rc)
        return cli_dom_fail(cmd, &e, NULL);
    printf("Deleted line %s\n", user);
    return CLI_OK;
}

static int line_extend(int argc, char **argv)
{
    const char *cmd = "xtreamd line extend", *data = CLI_DEFAULT_DATA, *user = NULL;
    long long days = 0, months = 0;
    struct dom_line_extend_in in = {0};
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--days", CLI_INT, &days, .min = 1, .max = DOM_EXTEND_DAYS_MAX),
        CLI_OPT("--months", CLI_INT, &months, .min = 1, .max = DOM_EXTEND_MONTHS_MAX),
        CLI_OPT("--until", CLI_STR, &in.until),
        CLI_OPT_END,
    };
    static const struct cli_field_name names[] = {
        {"days", "--days"}, {"months", "--months"}, {"until", "--until"}, {NULL, NULL}};
    struct cli_pos pos = {.v = &user, .min = 1, .max = 1, .name = "USERNAME"};
    int r = cli_parse(cmd, usage_extend, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    in.days = days;
    in.months = months;
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    struct db_line l;
    int64_t exp = 0;
    dom_error_reset(&e);
    r = dom_line_get(db, user, &l, &e);
    if (r == 0) {
        r = dom_line_extend(db, l.id, &in, db_now(), &exp, &e);
        db_line_clear(&l);
    }
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    l.has_exp = true;
    l.exp_date = exp;
    char when[40];
    format_exp(&l, when, sizeof(when));
    printf("Extended line %s until %s\n", user, when);
    return CLI_OK;
}

int cli_line(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"add", line_add}, {"set", line_set},    {"list", line_list},     {"show", line_show},
        {"del", line_del}, {"delete", line_del}, {"extend", line_extend}, {NULL, NULL},
    };
    return cli_dispatch("xtreamd line", usage_line, cmds, argc, argv);
}
