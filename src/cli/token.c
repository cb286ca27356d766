/*
 * cli/token: `xtreamd token add|list|revoke` — API tokens for scripts, minted
 * on the server without going through the admin API.
 *
 * Owns argument parsing and output only: the rules (names, scopes, what a
 * viewer may hold, expiry) are domain/admin_auth.c's. A new token is printed
 * once and never again (only its hash is stored). Each add/revoke writes an
 * audit-log row (admin "cli") in the transaction of its change.
 * Single-threaded.
 */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "db/db.h"
#include "domain/admin_auth.h"
#include "domain/admins.h"
#include "domain/time.h"

static const char usage_add[] =
    "usage: xtreamd token add NAME --admin USER --scopes LIST [--expires TIME] [--data DIR]\n"
    "  Creates an API token for scripts (Authorization: Bearer TOKEN) and prints it\n"
    "  once; only its hash is stored.\n"
    "options:\n"
    "  --admin USER      the admin account the token acts as (a viewer: read only)\n"
    "  --scopes LIST     comma list of read, lines:write, streams:write,\n"
    "                    content:write, admin (admin implies all)\n"
    "  --expires TIME    RFC 3339 (2027-01-01T00:00:00Z) or YYYY-MM-DD; default never\n"
    "  --data DIR        data directory (default " CLI_DEFAULT_DATA ")\n";

static const char usage_list[] =
    "usage: xtreamd token list [--admin USER] [--json] [--data DIR]\n"
    "  Lists API tokens (never the token itself): id, account, name, scopes,\n"
    "  expiry, last use, revoked.\n";

static const char usage_revoke[] = "usage: xtreamd token revoke ID [--data DIR]\n"
                                   "  Revokes a token; it stays listed with its revocation time.\n";

static const char usage_token[] = "usage: xtreamd token COMMAND ...\n"
                                  "commands:\n"
                                  "  add NAME --admin USER --scopes LIST [--expires TIME]\n"
                                  "  list [--admin USER] [--json]\n"
                                  "  revoke ID\n"
                                  "Run 'xtreamd token COMMAND --help' for the options of each.\n";

static const struct cli_field_name names[] = {
    {"name", "NAME"},
    {"scopes", "--scopes"},
    {"expires_at", "--expires"},
    {NULL, NULL},
};

/* The id of account `user`, or a printed failure. */
static int admin_id_of(const char *cmd, struct db *db, const char *user, int64_t *id)
{
    struct db_admin a;
    struct dom_error e;
    dom_error_reset(&e);
    if (dom_admin_get(db, user, &a, &e)) {
        fprintf(stderr, "%s: --admin: %s\n", cmd, e.detail);
        return -ENOENT;
    }
    *id = a.id;
    db_admin_clear(&a);
    return 0;
}

/* Splits a comma list into scope bits; prints each unknown name. */
static int parse_scopes(const char *cmd, const char *list, unsigned *out, struct dom_error *e)
{
    char buf[256];
    const char *v[16];
    size_t n = 0;
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *p = buf, *c; p && n < 16; p = c ? c + 1 : NULL) {
        c = strchr(p, ',');
        if (c)
            *c = '\0';
        if (*p)
            v[n++] = p;
    }
    return dom_scopes_parse("scopes", v, n, out, e);
}

static void audit(struct db *db, const char *action, int64_t id, const char *after)
{
    struct dom_audit_row r = {.admin_username = "cli",
                              .action = action,
                              .entity = "token",
                              .entity_id = id,
                              .after = after};
    struct dom_error e;
    dom_error_reset(&e);
    dom_audit_write(db, &r, &e);
}

static json_t *token_json(const struct db_api_token *t)
{
    char c[DOM_TIME_LEN], x[DOM_TIME_LEN], u[DOM_TIME_LEN], r[DOM_TIME_LEN];
    dom_format_time(t->created_at, c);
    dom_format_time(t->expires_at, x);
    dom_format_time(t->last_used_at, u);
    dom_format_time(t->revoked_at, r);
    json_t *scopes = json_array();
    unsigned bits = dom_scopes_from_list(t->scopes);
    for (unsigned i = 0; scopes && i < DOM_SCOPE_COUNT; i++)
        if (bits & (1u << i))
            json_array_append_new(scopes, json_string(dom_scope_name(i)));
    return json_pack("{s:I, s:I, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o}", "id", (json_int_t)t->id,
                     "admin_id", (json_int_t)t->admin_id, "admin_username", t->admin_username,
                     "name", t->name, "scopes", scopes, "created_at", c, "expires_at",
                     t->expires_at ? json_string(x) : json_null(), "last_used_at",
                     t->last_used_at ? json_string(u) : json_null(), "last_used_ip",
                     t->last_used_at ? json_string(t->last_used_ip) : json_null(), "revoked_at",
                     t->revoked_at ? json_string(r) : json_null());
}

static int token_add(int argc, char **argv)
{
    const char *cmd = "xtreamd token add", *data = CLI_DEFAULT_DATA, *name = NULL, *user = NULL,
               *scopes = NULL, *expires = NULL;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--admin", CLI_STR, &user),
        CLI_OPT("--scopes", CLI_STR, &scopes),
        CLI_OPT("--expires", CLI_STR, &expires),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &name, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_add, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    if (!user || !scopes) {
        fprintf(stderr, "%s: %s is required\n%s", cmd, !user ? "--admin" : "--scopes", usage_add);
        return CLI_USAGE;
    }
    struct dom_error e;
    struct dom_token_in in = {.name = name, .has_scopes = true};
    dom_error_reset(&e);
    parse_scopes(cmd, scopes, &in.scopes, &e);
    if (expires && dom_parse_time("expires_at", expires, &in.expires_at, &e) == 0)
        in.has_expires = true;
    if (e.status)
        return cli_dom_fail(cmd, &e, names);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    int64_t admin_id;
    if (admin_id_of(cmd, db, user, &admin_id)) {
        db_close(db);
        return CLI_FAIL;
    }
    struct dom_token_created t;
    int ret = CLI_OK;
    if ((r = db_begin(db)) != 0) {
        fprintf(stderr, "%s: cannot start a transaction (%s)\n", cmd, strerror(-r));
        db_close(db);
        return CLI_FAIL;
    }
    r = dom_token_create(db, admin_id, &in, db_now(), &t, &e);
    if (r == 0) {
        json_t *j = token_json(&t.row);
        char *after = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        audit(db, "create", t.id, after);
        free(after);
        r = db_commit(db);
        if (r)
            dom_err_internal(&e, r, "committing");
    }
    if (r) {
        db_rollback(db);
        ret = cli_dom_fail(cmd, &e, names);
    } else {
        printf("Created token %lld (%s) for admin %s: %s\n", (long long)t.id, t.row.name, user,
               t.token);
        printf("Keep it now: it cannot be shown again.\n");
    }
    sodium_memzero(&t, sizeof(t));
    db_close(db);
    return ret;
}

static int token_list(int argc, char **argv)
{
    const char *cmd = "xtreamd token list", *data = CLI_DEFAULT_DATA, *user = NULL;
    bool json = false;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT_JSON(&json),
        CLI_OPT("--admin", CLI_STR, &user),
        CLI_OPT_END,
    };
    int r = cli_parse(cmd, usage_list, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    int64_t admin_id = 0;
    if (user && admin_id_of(cmd, db, user, &admin_id)) {
        db_close(db);
        return CLI_FAIL;
    }
    struct dom_error e;
    struct db_api_token *v = NULL;
    size_t n = 0;
    int64_t total;
    dom_error_reset(&e);
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("%-6s %-16s %-24s %-40s %-20s %s\n", "ID", "ADMIN", "NAME", "SCOPES", "EXPIRES",
               "STATE");
    /* Every page: the list has no upper bound. */
    for (int64_t off = 0;; off += DB_PAGE_LIMIT) {
        struct db_page page = {.offset = off, .limit = DB_PAGE_LIMIT};
        if ((r = dom_token_list(db, admin_id, &page, &v, &n, &total, &e)) != 0)
            break;
        int64_t now = db_now();
        for (size_t i = 0; i < n; i++) {
            if (json) {
                json_array_append_new(arr, token_json(&v[i]));
                continue;
            }
            char x[DOM_TIME_LEN];
            if (v[i].expires_at)
                dom_format_time(v[i].expires_at, x);
            else
                snprintf(x, sizeof(x), "never");
            printf("%-6lld ", (long long)v[i].id);
            cli_print_cell(v[i].admin_username, 16);
            putchar(' ');
            cli_print_cell(v[i].name, 24);
            printf(" %-40s %-20s %s\n", v[i].scopes, x,
                   v[i].revoked_at                 ? "revoked"
                   : dom_token_expired(&v[i], now) ? "expired"
                                                   : "active");
        }
        free(v);
        v = NULL;
        if (n < DB_PAGE_LIMIT)
            break;
    }
    db_close(db);
    if (r) {
        json_decref(arr);
        return cli_dom_fail(cmd, &e, NULL);
    }
    if (json && cli_print_json(arr))
        return CLI_FAIL;
    return CLI_OK;
}

static int token_revoke(int argc, char **argv)
{
    const char *cmd = "xtreamd token revoke", *data = CLI_DEFAULT_DATA, *ids = NULL;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    struct cli_pos pos = {.v = &ids, .min = 1, .max = 1, .name = "ID"};
    int r = cli_parse(cmd, usage_revoke, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    char *end;
    errno = 0;
    long long id = strtoll(ids, &end, 10);
    if (errno || *end || id <= 0) {
        fprintf(stderr, "%s: ID: want a positive integer, got '%s'\n", cmd, ids);
        return CLI_USAGE;
    }
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    if ((r = db_begin(db)) != 0) {
        fprintf(stderr, "%s: cannot start a transaction (%s)\n", cmd, strerror(-r));
        db_close(db);
        return CLI_FAIL;
    }
    r = dom_token_revoke(db, id, db_now(), &e);
    if (r == 0) {
        audit(db, "revoke", id, NULL);
        if ((r = db_commit(db)) != 0)
            dom_err_internal(&e, r, "committing");
    }
    if (r)
        db_rollback(db);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, NULL);
    printf("Revoked token %lld\n", id);
    return CLI_OK;
}

int cli_token(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"add", token_add},
        {"list", token_list},
        {"revoke", token_revoke},
        {NULL, NULL},
    };
    return cli_dispatch("xtreamd token", usage_token, cmds, argc, argv);
}
