/*
 * cli/reseller: `xtreamd reseller add|list|show|credit|transfer|del`,
 * `xtreamd reseller group add|list` and `xtreamd credits check` — thin
 * callers of domain/resellers.c (every rule, the amounts, the ledger are
 * there). The CLI acts as an admin ("local" in the ledger's actor), except
 * `transfer`, which moves credits as the reseller's parent would. Amounts are
 * decimal strings ("12.5"), never floats. Single-threaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/jsonw.h"
#include "db/db.h"
#include "domain/credits.h"
#include "domain/resellers.h"

static const char usage_reseller[] =
    "usage: xtreamd reseller COMMAND ...\n"
    "commands:\n"
    "  add NAME --group GROUP [--parent NAME] [--prefix P] [--notes TEXT]\n"
    "      [--password-file FILE]          create a reseller (password printed once)\n"
    "  list [--json]                       every reseller with its balance\n"
    "  show NAME [--json]                  one reseller\n"
    "  credit NAME AMOUNT [--reason TEXT]  adjust a balance (signed; never below 0)\n"
    "  transfer NAME AMOUNT [--reason T]   move credits from NAME's parent to NAME\n"
    "                                      (negative: back to the parent)\n"
    "  del NAME                            delete (balance, lines, children to the parent)\n"
    "  group add NAME [--trial-limit N] [--trial-hours H] [--sub-resellers]\n"
    "  group list [--json]\n"
    "AMOUNT: credits with up to 4 decimals (\"12\", \"12.5\", \"-3.25\").\n"
    "Every command takes --data DIR (default " CLI_DEFAULT_DATA ").\n";

static const char usage_credits[] =
    "usage: xtreamd credits check [--json] [--data DIR]\n"
    "  Re-derives every reseller's balance from the credit ledger (the sum of its\n"
    "  rows, and each row's balance_after) and compares it with the stored\n"
    "  balance. Exit status 0 when every balance agrees, 1 on a mismatch.\n";

static const struct cli_field_name names[] = {
    {"username", "NAME"},
    {"password", "--password-file"},
    {"group_id", "--group"},
    {"parent_id", "--parent"},
    {"username_prefix", "--prefix"},
    {"notes", "--notes"},
    {"amount", "AMOUNT"},
    {"reason", "--reason"},
    {"name", "NAME"},
    {"trial_limit", "--trial-limit"},
    {"trial_period_hours", "--trial-hours"},
    {NULL, NULL},
};

static const struct dom_actor local = {.admin_id = 0, .username = "local", .reseller = false};

static int print_json(void (*fn)(struct jsonw *, const void *), const void *v)
{
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    fn(&w, v);
    int ret = b.err || cli_print_json_text(b.data) ? CLI_FAIL : CLI_OK;
    buf_free(&b);
    return ret;
}

static void reseller_json(struct jsonw *w, const void *v)
{
    dom_reseller_write_json(w, v);
}

static int read_first_line(const char *cmd, const char *path, char *buf, size_t n)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: --password-file: cannot open '%s': %s\n", cmd, path, strerror(errno));
        return -EIO;
    }
    if (!fgets(buf, (int)n, f))
        buf[0] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (f != stdin)
        fclose(f);
    return 0;
}

static int reseller_add(int argc, char **argv)
{
    const char *cmd = "xtreamd reseller add", *data = CLI_DEFAULT_DATA, *name = NULL;
    const char *group = NULL, *parent = NULL, *file = NULL;
    struct dom_reseller_in in;
    dom_reseller_in_init(&in);
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--group", CLI_STR, &group),
        CLI_OPT("--parent", CLI_STR, &parent),
        CLI_OPT("--prefix", CLI_STR, &in.username_prefix),
        CLI_OPT("--notes", CLI_STR, &in.notes),
        CLI_OPT("--password-file", CLI_STR, &file),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &name, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_reseller, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    if (!group) {
        fprintf(stderr, "%s: --group: required (a reseller group's name or id)\n", cmd);
        return CLI_USAGE;
    }
    char pw[DOM_ADMIN_PW_MAX + 2];
    if (file && read_first_line(cmd, file, pw, sizeof(pw)))
        return CLI_FAIL;
    in.username = name;
    in.password = file ? pw : NULL;
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    struct dom_admin_secret secret;
    int64_t id = 0;
    in.has_group_id = true;
    r = dom_group_find(db, group, &in.group_id, &e);
    if (r == 0 && parent) {
        in.has_parent_id = true;
        r = dom_reseller_find(db, parent, &in.parent_id, &e);
    }
    if (r == 0)
        r = dom_reseller_create(db, &local, &in, &id, &secret, &e);
    db_close(db);
    memset(pw, 0, sizeof(pw));
    if (r)
        return cli_dom_fail(cmd, &e, names);
    if (secret.generated)
        printf("Added reseller %s (id %lld) with password %s\n", name, (long long)id,
               secret.password);
    else
        printf("Added reseller %s (id %lld)\n", name, (long long)id);
    memset(&secret, 0, sizeof(secret));
    return CLI_OK;
}

static int reseller_list(int argc, char **argv)
{
    const char *cmd = "xtreamd reseller list", *data = CLI_DEFAULT_DATA;
    bool json = false;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_JSON(&json), CLI_OPT_END};
    int r = cli_parse(cmd, usage_reseller, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    struct db_page pg = {.offset = 0, .limit = DB_PAGE_LIMIT, .nsort = 1, .sort = {"username"}};
    struct dom_reseller_filter f = {.now = db_now()};
    struct db_reseller *v = NULL;
    size_t n = 0;
    int64_t total = 0;
    r = dom_reseller_page(db, &local, &f, &pg, &v, &n, &total, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    int ret = CLI_OK;
    if (json) {
        struct buf b = BUF_INIT(0);
        struct jsonw w;
        jsonw_init(&w, &b);
        jsonw_arr_begin(&w);
        for (size_t i = 0; i < n; i++)
            dom_reseller_write_json(&w, &v[i]);
        jsonw_arr_end(&w);
        ret = b.err || cli_print_json_text(b.data) ? CLI_FAIL : CLI_OK;
        buf_free(&b);
    } else {
        printf("%-6s %-24s %-8s %-16s %20s %7s\n", "ID", "NAME", "PARENT", "GROUP", "BALANCE",
               "LINES");
        for (size_t i = 0; i < n; i++) {
            char bal[DOM_CREDITS_TEXT], par[24] = "-";
            dom_credits_format(v[i].balance, bal, sizeof(bal));
            if (v[i].parent_id)
                snprintf(par, sizeof(par), "%lld", (long long)v[i].parent_id);
            printf("%-6lld %-24s %-8s %-16s %20s %7lld\n", (long long)v[i].id, v[i].username, par,
                   v[i].group_name, bal, (long long)v[i].lines);
        }
    }
    db_reseller_list_free(v, n);
    return ret;
}

/* Opens the database and finds reseller NAME: 0, or the exit status. */
static int open_find(const char *cmd, const char *data, const char *name, struct db **db,
                     int64_t *id)
{
    if (cli_open_db(cmd, data, db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    if (dom_reseller_find(*db, name, id, &e)) {
        db_close(*db);
        return cli_dom_fail(cmd, &e, names);
    }
    return 0;
}

static int reseller_show(int argc, char **argv)
{
    const char *cmd = "xtreamd reseller show", *data = CLI_DEFAULT_DATA, *name = NULL;
    bool json = false;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_JSON(&json), CLI_OPT_END};
    struct cli_pos pos = {.v = &name, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_reseller, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    int64_t id;
    if ((r = open_find(cmd, data, name, &db, &id)))
        return r;
    struct dom_error e;
    dom_error_reset(&e);
    struct db_reseller rs;
    r = dom_reseller_get(db, &local, id, db_now(), &rs, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    int ret = CLI_OK;
    if (json) {
        ret = print_json(reseller_json, &rs);
    } else {
        char bal[DOM_CREDITS_TEXT];
        dom_credits_format(rs.balance, bal, sizeof(bal));
        printf("id:              %lld\n", (long long)rs.id);
        printf("name:            %s%s\n", rs.username, rs.disabled ? " (disabled)" : "");
        if (rs.parent_id)
            printf("parent:          %lld\n", (long long)rs.parent_id);
        else
            printf("parent:          (top level)\n");
        printf("group:           %s\n", rs.group_name);
        printf("balance:         %s\n", bal);
        printf("username prefix: %s\n", rs.username_prefix);
        printf("lines:           %lld (%lld active)\n", (long long)rs.lines,
               (long long)rs.active_lines);
        printf("sub-resellers:   %lld\n", (long long)rs.subresellers);
    }
    db_reseller_clear(&rs);
    return ret;
}

static int move(int argc, char **argv, bool transfer)
{
    const char *cmd = transfer ? "xtreamd reseller transfer" : "xtreamd reseller credit";
    const char *data = CLI_DEFAULT_DATA, *reason = NULL, *args[2] = {NULL, NULL};
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT("--reason", CLI_STR, &reason),
                                   CLI_OPT_END};
    struct cli_pos pos = {.v = args, .min = 2, .max = 2, .name = "NAME AMOUNT"};
    int r = cli_parse(cmd, usage_reseller, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    struct dom_error e;
    dom_error_reset(&e);
    int64_t amount;
    if (dom_credits_parse("amount", args[1], &amount, &e))
        return cli_dom_fail(cmd, &e, names);
    struct db *db;
    int64_t id;
    if ((r = open_find(cmd, data, args[0], &db, &id)))
        return r;
    struct db_ledger_row row;
    struct db_reseller rs = {0};
    struct dom_actor who = local;
    if (transfer) {
        /* as the parent would: a reseller parent pays, the admins adjust */
        r = dom_reseller_get(db, &local, id, db_now(), &rs, &e);
        if (r == 0 && rs.parent_id) {
            struct db_reseller p;
            r = dom_reseller_get(db, &local, rs.parent_id, db_now(), &p, &e);
            if (r == 0) {
                static char parent_name[65];
                snprintf(parent_name, sizeof(parent_name), "%s", p.username);
                who =
                    (struct dom_actor){.admin_id = p.id, .username = parent_name, .reseller = true};
                db_reseller_clear(&p);
            }
        }
        if (r == 0)
            r = dom_credits_transfer(db, &who, id, amount, reason, NULL, db_now(), &row, &e);
    } else {
        r = dom_credits_adjust(db, &local, id, amount, reason, NULL, db_now(), &row, &e);
    }
    db_reseller_clear(&rs);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    char bal[DOM_CREDITS_TEXT];
    dom_credits_format(row.balance_after, bal, sizeof(bal));
    printf("%s: balance %s\n", args[0], bal);
    db_ledger_row_clear(&row);
    return CLI_OK;
}

static int reseller_credit(int argc, char **argv)
{
    return move(argc, argv, false);
}

static int reseller_transfer(int argc, char **argv)
{
    return move(argc, argv, true);
}

static int reseller_del(int argc, char **argv)
{
    const char *cmd = "xtreamd reseller del", *data = CLI_DEFAULT_DATA, *name = NULL;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    struct cli_pos pos = {.v = &name, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_reseller, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    int64_t id;
    if ((r = open_find(cmd, data, name, &db, &id)))
        return r;
    struct dom_error e;
    dom_error_reset(&e);
    r = dom_reseller_delete(db, &local, id, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    printf("Deleted reseller %s\n", name);
    return CLI_OK;
}

static int group_add(int argc, char **argv)
{
    const char *cmd = "xtreamd reseller group add", *data = CLI_DEFAULT_DATA, *name = NULL;
    long long limit = -1, hours = -1;
    bool sub = false;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--trial-limit", CLI_INT, &limit, .min = 0, .max = 100000),
        CLI_OPT("--trial-hours", CLI_INT, &hours, .min = 1, .max = 8760),
        CLI_OPT("--sub-resellers", CLI_FLAG, &sub),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &name, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_reseller, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    struct dom_group_in in;
    dom_group_in_init(&in);
    in.name = name;
    in.has_trial_limit = limit >= 0;
    in.trial_limit = limit;
    in.has_trial_period_hours = hours >= 0;
    in.trial_period_hours = hours;
    in.may_create_subresellers = sub ? 1 : 0;
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    int64_t id = 0;
    r = dom_group_create(db, &local, &in, &id, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    printf("Added reseller group %s (id %lld)\n", name, (long long)id);
    return CLI_OK;
}

static int group_list(int argc, char **argv)
{
    const char *cmd = "xtreamd reseller group list", *data = CLI_DEFAULT_DATA;
    bool json = false;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_JSON(&json), CLI_OPT_END};
    int r = cli_parse(cmd, usage_reseller, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    struct db_reseller_group *v = NULL;
    size_t n = 0;
    r = dom_group_list(db, &local, &v, &n, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    int ret = CLI_OK;
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        if (json)
            dom_group_write_json(&w, &v[i]);
        else
            printf("%-6lld %-24s trials %lld per %lld h%s, %lld reseller(s)\n", (long long)v[i].id,
                   v[i].name, (long long)v[i].trial_limit, (long long)v[i].trial_period_hours,
                   v[i].may_create_subresellers ? ", sub-resellers" : "",
                   (long long)v[i].resellers);
    }
    jsonw_arr_end(&w);
    if (json)
        ret = b.err || cli_print_json_text(b.data) ? CLI_FAIL : CLI_OK;
    buf_free(&b);
    db_reseller_group_list_free(v, n);
    return ret;
}

static int reseller_group(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {{"add", group_add}, {"list", group_list}, {NULL, NULL}};
    return cli_dispatch("xtreamd reseller group", usage_reseller, cmds, argc, argv);
}

int cli_reseller(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"add", reseller_add},       {"list", reseller_list},         {"show", reseller_show},
        {"credit", reseller_credit}, {"transfer", reseller_transfer}, {"del", reseller_del},
        {"delete", reseller_del},    {"group", reseller_group},       {NULL, NULL},
    };
    return cli_dispatch("xtreamd reseller", usage_reseller, cmds, argc, argv);
}

static int credits_check(int argc, char **argv)
{
    const char *cmd = "xtreamd credits check", *data = CLI_DEFAULT_DATA;
    bool json = false;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_JSON(&json), CLI_OPT_END};
    int r = cli_parse(cmd, usage_credits, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    struct dom_ledger_check chk;
    r = dom_ledger_verify(db, &local, &chk, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    if (json) {
        struct buf b = BUF_INIT(0);
        struct jsonw w;
        jsonw_init(&w, &b);
        dom_ledger_check_write_json(&w, &chk);
        if (b.err || cli_print_json_text(b.data))
            r = -EIO;
        buf_free(&b);
    } else {
        size_t max = sizeof(chk.mismatches) / sizeof(chk.mismatches[0]);
        for (size_t i = 0; i < chk.nmismatches && i < max; i++) {
            const struct db_ledger_mismatch *m = &chk.mismatches[i];
            char bal[DOM_CREDITS_TEXT], led[DOM_CREDITS_TEXT];
            dom_credits_format(m->balance, bal, sizeof(bal));
            dom_credits_format(m->ledger, led, sizeof(led));
            printf("MISMATCH reseller %lld %s: balance %s, ledger %s", (long long)m->reseller_id,
                   m->username[0] ? m->username : "(deleted)", bal, led);
            if (m->row_id)
                printf(", first bad row %lld", (long long)m->row_id);
            printf("\n");
        }
        printf("%s: %lld reseller(s), %lld ledger row(s), %zu mismatch(es)\n",
               chk.nmismatches ? "FAILED" : "ok", (long long)chk.resellers, (long long)chk.rows,
               chk.nmismatches);
    }
    if (r)
        return CLI_FAIL;
    return chk.nmismatches ? CLI_FAIL : CLI_OK;
}

int cli_credits(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {{"check", credits_check}, {NULL, NULL}};
    return cli_dispatch("xtreamd credits", usage_credits, cmds, argc, argv);
}
