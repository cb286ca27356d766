/*
 * cli/token: `xtreamd token add|list|revoke` — API tokens for scripts and
 * billing systems, minted on the server's own shell (the same service as
 * POST /api/v1/tokens: domain/admin_auth.c holds every rule). The secret is
 * printed once by add and never again. add and revoke write an audit-log row
 * (admin "cli") in the transaction of their change. Single-threaded.
 */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "db/db.h"
#include "domain/admin_auth.h"
#include "domain/admins.h"
#include "domain/time.h"
#include "domain/tx.h"

static const char usage_add[] =
    "usage: xtreamd token add NAME --admin ACCOUNT --scope SCOPE [--scope SCOPE ...]\n"
    "                         [--expires TIME] [--data DIR]\n"
    "  Creates an API token owned by ACCOUNT and prints it once.\n"
    "  SCOPE: read, lines:write, streams:write, content:write, admin.\n"
    "  TIME: RFC 3339 (2027-01-01T00:00:00Z) or YYYY-MM-DD (00:00 UTC); default never.\n";
static const char usage_list[] = "usage: xtreamd token list [--json] [--data DIR]\n"
                                 "  Lists tokens (never their secrets).\n";
static const char usage_revoke[] = "usage: xtreamd token revoke ID [--data DIR]\n"
                                   "  Revokes a token: it stops working at once.\n";
static const char usage_token[] = "usage: xtreamd token COMMAND ...\n"
                                  "commands:\n"
                                  "  add NAME --admin ACCOUNT --scope SCOPE ...   create a token\n"
                                  "  list [--json]                               list tokens\n"
                                  "  revoke ID                                   revoke a token\n";

static const struct cli_field_name names[] = {
    {"name", "NAME"}, {"scopes", "--scope"}, {"expires_at", "--expires"}, {NULL, NULL}};

struct scope_acc {
    const char *v[8];
    size_t n;
};

static int add_scope(const char *cmd, const char *opt, const char *val, void *ctx)
{
    struct scope_acc *a = ctx;
    if (a->n == sizeof(a->v) / sizeof(a->v[0])) {
        fprintf(stderr, "%s: %s: at most 8\n", cmd, opt);
        return -E2BIG;
    }
    a->v[a->n++] = val;
    return 0;
}

/* The audit-log row of a change made here (no account: the server's shell). */
static int cli_audit(struct db *db, const char *action, int64_t id, struct dom_error *e)
{
    struct dom_audit_row row = {.admin_username = "cli",
                                .action = action,
                                .entity = "token",
                                .entity_id = id,
                                .at = (int64_t)time(NULL)};
    return dom_audit_write(db, &row, e);
}

static int token_add(int argc, char **argv)
{
    const char *cmd = "xtreamd token add", *data = CLI_DEFAULT_DATA, *name = NULL;
    const char *owner = NULL, *expires = NULL;
    struct scope_acc sc = {0};
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--admin", CLI_STR, &owner),
        CLI_OPT("--scope", CLI_STR, NULL, .check = add_scope, .ctx = &sc),
        CLI_OPT("--expires", CLI_STR, &expires),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &name, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_add, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    if (!owner) {
        fprintf(stderr, "%s: --admin: name the account that owns the token\n", cmd);
        return CLI_USAGE;
    }
    struct dom_error e;
    dom_error_reset(&e);
    struct dom_token_in in = {.name = name};
    if (dom_scopes_parse(sc.v, sc.n, &in.scopes, &e))
        return cli_dom_fail(cmd, &e, names);
    if (expires && dom_parse_time("expires_at", expires, &in.expires_at, &e))
        return cli_dom_fail(cmd, &e, names);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct db_admin a = {0};
    struct dom_token_created made;
    r = dom_admin_get(db, owner, &a, &e);
    if (r == 0 && (r = dom_begin(db, &e)) == 0) {
        struct dom_principal p = {.admin_id = a.id, .viewer = strcmp(a.role, "viewer") == 0};
        if ((r = dom_token_create(db, &p, &in, (int64_t)time(NULL), &made, &e)) == 0 &&
            (r = cli_audit(db, "create", made.id, &e)) == 0)
            r = dom_commit(db, &e);
        if (r)
            dom_rollback(db);
    }
    db_admin_clear(&a);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    printf("Created token %lld (%s). It is shown only now:\n%s\n", (long long)made.id, name,
           made.token);
    sodium_memzero(&made, sizeof(made));
    return CLI_OK;
}

static void fmt_time(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!t || !gmtime_r(&tt, &tm))
        snprintf(out, n, "-");
    else
        strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int token_list(int argc, char **argv)
{
    const char *cmd = "xtreamd token list", *data = CLI_DEFAULT_DATA;
    bool json = false;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_JSON(&json), CLI_OPT_END};
    int r = cli_parse(cmd, usage_list, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    struct db_api_token *v = NULL;
    size_t n = 0;
    int64_t total = 0;
    struct db_page p = {.limit = DB_PAGE_LIMIT};
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("%-6s %-24s %-12s %-34s %-20s %s\n", "ID", "NAME", "OWNER", "SCOPES", "EXPIRES",
               "STATE");
    do {
        r = dom_token_page(db, 0, &p, &v, &n, &total, &e);
        for (size_t i = 0; r == 0 && i < n; i++) {
            char exp[32], created[32];
            fmt_time(v[i].expires_at, exp, sizeof(exp));
            fmt_time(v[i].created_at, created, sizeof(created));
            const char *state = v[i].revoked_at ? "revoked"
                                : v[i].expires_at && v[i].expires_at <= (int64_t)time(NULL)
                                    ? "expired"
                                    : "active";
            if (arr)
                json_array_append_new(
                    arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)v[i].id,
                                   "name", v[i].name, "owner", v[i].owner, "scopes", v[i].scopes,
                                   "created_at", created, "expires_at", exp, "state", state));
            else {
                printf("%-6lld ", (long long)v[i].id);
                cli_print_cell(v[i].name, 24);
                printf(" ");
                cli_print_cell(v[i].owner, 12);
                printf(" %-34s %-20s %s\n", v[i].scopes, exp, state);
            }
        }
        db_api_token_list_free(v, n);
        p.offset += p.limit;
    } while (r == 0 && p.offset < total);
    db_close(db);
    if (r) {
        json_decref(arr);
        return cli_dom_fail(cmd, &e, NULL);
    }
    if (arr && cli_print_json(arr))
        return CLI_FAIL;
    return CLI_OK;
}

static int token_revoke(int argc, char **argv)
{
    const char *cmd = "xtreamd token revoke", *data = CLI_DEFAULT_DATA, *idtext = NULL;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    struct cli_pos pos = {.v = &idtext, .min = 1, .max = 1, .name = "ID"};
    int r = cli_parse(cmd, usage_revoke, argc, argv, opts, &pos);
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
    if ((r = dom_begin(db, &e)) == 0) {
        if ((r = dom_token_revoke(db, id, (int64_t)time(NULL), &e)) == 0 &&
            (r = cli_audit(db, "revoke", id, &e)) == 0)
            r = dom_commit(db, &e);
        if (r)
            dom_rollback(db);
    }
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, NULL);
    printf("Revoked token %lld\n", id);
    return CLI_OK;
}

int cli_token(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"add", token_add}, {"list", token_list}, {"revoke", token_revoke}, {NULL, NULL}};
    return cli_dispatch("xtreamd token", usage_token, cmds, argc, argv);
}
