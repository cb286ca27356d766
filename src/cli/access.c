/*
 * cli/access: `xtreamd access ...` and `xtreamd ban ...` — access control
 * (issue 13) from the server's shell, through the same services as the admin
 * API (domain/access.c holds every rule): a line's rules (`access line`),
 * its reset (`access reset`), the global rules (`access rule add|list|del`),
 * the refusal log (`access refusals`) and the bans (`ban list|del`). A
 * running server picks the changes up with its next catalogue snapshot.
 * Output is JSON (one document), for people and scripts alike.
 * Single-threaded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/ipnet.h"
#include "db/db.h"
#include "domain/access.h"
#include "domain/lines.h"

static const char usage_line[] =
    "usage: xtreamd access line USERNAME [--allowed-ip CIDR ...] [--no-allowed-ips]\n"
    "                           [--lock-first-ip on|off] [--max-daily-ips N]\n"
    "                           [--allow-ua GLOB ...] [--deny-ua GLOB ...] [--no-uas]\n"
    "                           [--allow-country CC ...] [--deny-country CC ...]\n"
    "                           [--no-countries] [--mag on|off] [--data DIR]\n"
    "  Shows a line's access rules, after changing the ones given (a list option\n"
    "  replaces that list; --no-... empties them). CIDR: 10.0.0.0/8, 2001:db8::/32 or\n"
    "  one address. GLOB: fnmatch pattern on the whole User-Agent ('*MAG2??*').\n"
    "  CC: ISO 3166-1 alpha-2 (FR). --max-daily-ips 0 removes the cap.\n"
    "  --mag on: a MAG line, used only through the portal by its bound devices\n"
    "  (get.php, player_api and stream URLs refuse it: DEVICE_NOT_ALLOWED).\n";
static const char usage_reset[] =
    "usage: xtreamd access reset USERNAME [--data DIR]\n"
    "  Forgets the line's recorded first IP (lock-first-ip) and its attack flag.\n";
static const char usage_rule_add[] =
    "usage: xtreamd access rule add KIND VALUE [--note TEXT] [--data DIR]\n"
    "  KIND: ip_deny, trusted_proxy (CIDR), ua_allow, ua_deny (GLOB),\n"
    "  country_allow, country_deny (CC).\n";
static const char usage_rule_list[] =
    "usage: xtreamd access rule list [--kind KIND] [--data DIR]\n";
static const char usage_rule_del[] = "usage: xtreamd access rule del ID [--data DIR]\n";
static const char usage_refusals[] =
    "usage: xtreamd access refusals [--ip IP] [--reason CODE] [--user USERNAME]\n"
    "                               [--limit N] [--data DIR]\n"
    "  The refusal log, newest first (default 100 rows). CODE: IP_NOT_ALLOWED,\n"
    "  IP_DENIED, IP_LOCKED, TOO_MANY_IPS, UA_BLOCKED, COUNTRY_BLOCKED, BANNED_IP,\n"
    "  RATE_LIMITED, MAC_UNKNOWN, URL_EXPIRED, DEVICE_NOT_ALLOWED.\n";
static const char usage_access[] =
    "usage: xtreamd access COMMAND ...\n"
    "commands:\n"
    "  line USERNAME [options]        show / change a line's access rules\n"
    "  reset USERNAME                 forget the first IP and the attack flag\n"
    "  rule add KIND VALUE [--note]   add a global rule\n"
    "  rule list [--kind KIND]        list the global rules\n"
    "  rule del ID                    delete a global rule\n"
    "  refusals [filters]             the refusal log\n";
static const char usage_rule[] = "usage: xtreamd access rule add|list|del ...\n";
static const char usage_ban_list[] =
    "usage: xtreamd ban list [--all] [--data DIR]\n"
    "  Active IP bans (--all: also ended ones, kept for their strike count).\n";
static const char usage_ban_del[] = "usage: xtreamd ban del IP [--data DIR]\n"
                                    "  Lifts a ban (an address, or an IPv6 /64).\n";
static const char usage_ban[] = "usage: xtreamd ban COMMAND ...\n"
                                "commands:\n"
                                "  list [--all]   list IP bans\n"
                                "  del IP         lift a ban\n";

static const struct cli_field_name names[] = {{"allowed_ips", "--allowed-ip"},
                                              {"allowed_user_agents", "--allow-ua"},
                                              {"denied_user_agents", "--deny-ua"},
                                              {"allowed_countries", "--allow-country"},
                                              {"denied_countries", "--deny-country"},
                                              {"max_daily_ips", "--max-daily-ips"},
                                              {"kind", "KIND"},
                                              {"value", "VALUE"},
                                              {"note", "--note"},
                                              {"ip", "IP"},
                                              {NULL, NULL}};

/* Runs fn(db, w, e) into a buffer and prints it. */
static int print_json(const char *cmd, struct buf *b)
{
    if (b->err) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return CLI_FAIL;
    }
    buf_putc(b, '\0');
    return cli_print_json_text(b->data) ? CLI_FAIL : CLI_OK;
}

/* One listing: a domain call that writes JSON, run on the data folder's
 * database and printed; field errors as the CLI prints them. */
typedef int (*json_fn)(struct db *db, const void *ctx, struct jsonw *w, struct dom_error *e);

static int run_json(const char *cmd, const char *data, json_fn fn, const void *ctx)
{
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    int r = fn(db, ctx, &w, &e);
    db_close(db);
    if (r) {
        buf_free(&b);
        return cli_dom_fail(cmd, &e, names);
    }
    r = print_json(cmd, &b);
    buf_free(&b);
    return r;
}

static int rules_json(struct db *db, const void *ctx, struct jsonw *w, struct dom_error *e)
{
    return dom_access_rules_json(db, ctx, w, e);
}

static int refusals_json(struct db *db, const void *ctx, struct jsonw *w, struct dom_error *e)
{
    return dom_refusals_json(db, ctx, w, e);
}

static int bans_json(struct db *db, const void *ctx, struct jsonw *w, struct dom_error *e)
{
    return dom_bans_json(db, *(const bool *)ctx, (int64_t)time(NULL), w, e);
}

static int line_id_of(struct db *db, const char *username, int64_t *id, struct dom_error *e)
{
    struct db_line l = {0};
    int rc = dom_line_get(db, username, &l, e);
    if (rc == 0)
        *id = l.id;
    db_line_clear(&l);
    return rc;
}

static int show_line(const char *cmd, struct db *db, int64_t id)
{
    struct dom_error e;
    dom_error_reset(&e);
    struct db_line_access a;
    if (dom_line_access_get(db, id, &a, &e))
        return cli_dom_fail(cmd, &e, names);
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    dom_line_access_write_json(&w, id, &a);
    db_line_access_clear(&a);
    int r = print_json(cmd, &b);
    buf_free(&b);
    return r;
}

static int parse_onoff(const char *cmd, const char *opt, const char *val, void *ctx)
{
    int *out = ctx;
    if (strcmp(val, "on") == 0 || strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
        *out = 1;
    else if (strcmp(val, "off") == 0 || strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
        *out = 0;
    else {
        fprintf(stderr, "%s: %s: on or off\n", cmd, opt);
        return -EINVAL;
    }
    return 0;
}

static int access_line(int argc, char **argv)
{
    const char *cmd = "xtreamd access line", *data = CLI_DEFAULT_DATA, *user = NULL;
    const char *ips[DOM_ACCESS_LIST_MAX], *auas[DOM_ACCESS_LIST_MAX], *duas[DOM_ACCESS_LIST_MAX];
    const char *acs[DOM_ACCESS_LIST_MAX], *dcs[DOM_ACCESS_LIST_MAX];
    struct cli_list lips = CLI_LIST_OF(ips), lau = CLI_LIST_OF(auas), ldu = CLI_LIST_OF(duas);
    struct cli_list lac = CLI_LIST_OF(acs), ldc = CLI_LIST_OF(dcs);
    bool no_ips = false, no_uas = false, no_cc = false;
    int lock = -1, mag = -1;
    long long daily = -1;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--allowed-ip", CLI_LIST, &lips),
        CLI_OPT("--no-allowed-ips", CLI_FLAG, &no_ips),
        CLI_OPT("--lock-first-ip", CLI_STR, NULL, .check = parse_onoff, .ctx = &lock),
        CLI_OPT("--max-daily-ips", CLI_INT, &daily, .min = 0, .max = DOM_ACCESS_DAILY_MAX),
        CLI_OPT("--allow-ua", CLI_LIST, &lau),
        CLI_OPT("--deny-ua", CLI_LIST, &ldu),
        CLI_OPT("--no-uas", CLI_FLAG, &no_uas),
        CLI_OPT("--allow-country", CLI_LIST, &lac),
        CLI_OPT("--deny-country", CLI_LIST, &ldc),
        CLI_OPT("--no-countries", CLI_FLAG, &no_cc),
        CLI_OPT("--mag", CLI_STR, NULL, .check = parse_onoff, .ctx = &mag),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &user, .min = 1, .max = 1, .name = "USERNAME"};
    int r = cli_parse(cmd, usage_line, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    struct dom_line_access_in in;
    dom_line_access_in_init(&in);
    in.has_allowed_ips = lips.n || no_ips;
    in.allowed_ips = ips;
    in.n_allowed_ips = lips.n;
    in.has_allowed_uas = lau.n || no_uas;
    in.allowed_uas = auas;
    in.n_allowed_uas = lau.n;
    in.has_denied_uas = ldu.n || no_uas;
    in.denied_uas = duas;
    in.n_denied_uas = ldu.n;
    in.has_allowed_countries = lac.n || no_cc;
    in.allowed_countries = acs;
    in.n_allowed_countries = lac.n;
    in.has_denied_countries = ldc.n || no_cc;
    in.denied_countries = dcs;
    in.n_denied_countries = ldc.n;
    in.lock_first_ip = lock;
    in.max_daily_ips = daily;
    in.is_mag = mag;
    struct dom_error e;
    dom_error_reset(&e);
    if (dom_line_access_validate(&in, &e))
        return cli_dom_fail(cmd, &e, names);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    int64_t id;
    bool change = in.has_allowed_ips || in.has_allowed_uas || in.has_denied_uas ||
                  in.has_allowed_countries || in.has_denied_countries || lock >= 0 || daily >= 0 ||
                  mag >= 0;
    if (line_id_of(db, user, &id, &e) ||
        (change && dom_line_access_put(db, id, &in, (int64_t)time(NULL), &e))) {
        db_close(db);
        return cli_dom_fail(cmd, &e, names);
    }
    r = show_line(cmd, db, id);
    db_close(db);
    return r;
}

static int access_reset(int argc, char **argv)
{
    const char *cmd = "xtreamd access reset", *data = CLI_DEFAULT_DATA, *user = NULL;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    struct cli_pos pos = {.v = &user, .min = 1, .max = 1, .name = "USERNAME"};
    int r = cli_parse(cmd, usage_reset, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    int64_t id;
    if (line_id_of(db, user, &id, &e) || dom_line_access_reset(db, id, (int64_t)time(NULL), &e)) {
        db_close(db);
        return cli_dom_fail(cmd, &e, names);
    }
    r = show_line(cmd, db, id);
    db_close(db);
    return r;
}

static int rule_add(int argc, char **argv)
{
    const char *cmd = "xtreamd access rule add", *data = CLI_DEFAULT_DATA, *note = NULL;
    const char *kv[2] = {NULL, NULL};
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT("--note", CLI_STR, &note),
                                   CLI_OPT_END};
    struct cli_pos pos = {.v = kv, .min = 2, .max = 2, .name = "KIND VALUE"};
    int r = cli_parse(cmd, usage_rule_add, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    int64_t id;
    r = dom_access_rule_add(db, kv[0], kv[1], note, (int64_t)time(NULL), &id, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    printf("Added access rule %lld (%s).\n", (long long)id, kv[0]);
    return CLI_OK;
}

static int rule_list(int argc, char **argv)
{
    const char *cmd = "xtreamd access rule list", *data = CLI_DEFAULT_DATA, *kind = NULL;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT("--kind", CLI_STR, &kind),
                                   CLI_OPT_END};
    int r = cli_parse(cmd, usage_rule_list, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    return run_json(cmd, data, rules_json, kind);
}

static int rule_del(int argc, char **argv)
{
    const char *cmd = "xtreamd access rule del", *data = CLI_DEFAULT_DATA, *idtext = NULL;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    struct cli_pos pos = {.v = &idtext, .min = 1, .max = 1, .name = "ID"};
    int r = cli_parse(cmd, usage_rule_del, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    long long id;
    if (cli_parse_int(cmd, "ID", idtext, 1, INT64_MAX, &id))
        return CLI_USAGE;
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    r = dom_access_rule_del(db, id, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    printf("Deleted access rule %lld.\n", id);
    return CLI_OK;
}

static int access_rule(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"add", rule_add}, {"list", rule_list}, {"del", rule_del}, {NULL, NULL}};
    return cli_dispatch("xtreamd access rule", usage_rule, cmds, argc, argv);
}

static int access_refusals(int argc, char **argv)
{
    const char *cmd = "xtreamd access refusals", *data = CLI_DEFAULT_DATA;
    struct db_refusal_filter f = {.limit = 100};
    long long limit = 100;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--ip", CLI_STR, &f.ip),
        CLI_OPT("--reason", CLI_STR, &f.reason),
        CLI_OPT("--user", CLI_STR, &f.username),
        CLI_OPT("--limit", CLI_INT, &limit, .min = 1, .max = 1000),
        CLI_OPT_END,
    };
    int r = cli_parse(cmd, usage_refusals, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    f.limit = limit;
    return run_json(cmd, data, refusals_json, &f);
}

int cli_access(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {{"line", access_line},
                                          {"reset", access_reset},
                                          {"rule", access_rule},
                                          {"refusals", access_refusals},
                                          {NULL, NULL}};
    return cli_dispatch("xtreamd access", usage_access, cmds, argc, argv);
}

static int ban_list(int argc, char **argv)
{
    const char *cmd = "xtreamd ban list", *data = CLI_DEFAULT_DATA;
    bool all = false;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT("--all", CLI_FLAG, &all),
                                   CLI_OPT_END};
    int r = cli_parse(cmd, usage_ban_list, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    return run_json(cmd, data, bans_json, &all);
}

static int ban_del(int argc, char **argv)
{
    const char *cmd = "xtreamd ban del", *data = CLI_DEFAULT_DATA, *ip = NULL;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    struct cli_pos pos = {.v = &ip, .min = 1, .max = 1, .name = "IP"};
    int r = cli_parse(cmd, usage_ban_del, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    if ((r = cli_db_call(cmd, data, dom_ban_del, ip, names)) != CLI_OK)
        return r;
    printf("Lifted the ban of %s.\n", ip);
    return CLI_OK;
}

int cli_ban(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {{"list", ban_list}, {"del", ban_del}, {NULL, NULL}};
    return cli_dispatch("xtreamd ban", usage_ban, cmds, argc, argv);
}
