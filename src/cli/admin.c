/*
 * cli/admin: `xtreamd admin add|list|passwd|set|del` — admin accounts (the
 * logins of the admin API).
 *
 * Owns argument parsing, reading a password file and output. Every rule (the
 * username and password rules, roles, hashing, the last-admin rule) is
 * domain/admins.c's. A password is never echoed: only a generated one is
 * printed, once, by add/passwd. Single-threaded.
 */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "db/db.h"
#include "domain/admin_auth.h"
#include "domain/admins.h"

static const char usage_add[] =
    "usage: xtreamd admin add NAME [--role admin|viewer] [--password-file FILE] [--data DIR]\n"
    "  Creates an admin account. NAME: 1-64 of A-Z a-z 0-9 . _ @ -\n"
    "  Without --password-file a random 20-character password is generated and\n"
    "  printed once; with it, the first line of FILE is the password (12-1024 bytes).\n"
    "options:\n"
    "  --role admin|viewer      admin: everything (default); viewer: read-only\n"
    "  --password-file FILE     read the password from FILE ('-' for stdin)\n"
    "  --data DIR               data directory (default " CLI_DEFAULT_DATA ")\n";

static const char usage_passwd[] =
    "usage: xtreamd admin passwd NAME [--password-file FILE] [--data DIR]\n"
    "  Replaces the password of an admin; without --password-file a random one is\n"
    "  generated and printed once. Ends the account's admin API login sessions.\n";

static const char usage_set[] =
    "usage: xtreamd admin set NAME [--role admin|viewer] [--disabled yes|no] [--data DIR]\n"
    "  Changes the role or the disabled flag of an admin. The last enabled account\n"
    "  with the admin role can be neither demoted nor disabled.\n";

static const char usage_list[] = "usage: xtreamd admin list [--json] [--data DIR]\n"
                                 "  Lists admin accounts: name, role, state, last login\n"
                                 "  (never passwords or hashes).\n";

static const char usage_del[] = "usage: xtreamd admin del NAME [--data DIR]\n"
                                "  Deletes an admin account (not the last enabled admin).\n";

static const char usage_admin[] =
    "usage: xtreamd admin COMMAND ...\n"
    "commands:\n"
    "  add NAME [--role R] [--password-file FILE]   create an admin account\n"
    "  list [--json]                                list admin accounts\n"
    "  passwd NAME [--password-file FILE]           replace a password\n"
    "  set NAME [--role R] [--disabled yes|no]      change role or disabled\n"
    "  del NAME                                     delete an admin account\n"
    "Run 'xtreamd admin COMMAND --help' for the options of each.\n";

static const struct cli_field_name names[] = {
    {"username", "NAME"}, {"password", "--password-file"},
    {"role", "--role"},   {"disabled", "--disabled"},
    {NULL, NULL},
};

/* Reads the first line of path ("-": stdin) into buf without its line end.
 * Prints the reason (never the content) and returns -errno on failure. */
static int read_password_file(const char *cmd, const char *path, char *buf, size_t bufsz)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        int err = errno;
        fprintf(stderr, "%s: --password-file: cannot open '%s': %s\n", cmd, path, strerror(err));
        return -err;
    }
    int ret = 0;
    if (!fgets(buf, (int)bufsz, f)) {
        buf[0] = '\0';
        if (ferror(f)) {
            fprintf(stderr, "%s: --password-file: cannot read '%s'\n", cmd, path);
            ret = -EIO;
        }
    } else if (!strchr(buf, '\n') && !feof(f) && fgetc(f) != EOF) {
        fprintf(stderr, "%s: --password-file: the first line of '%s' is longer than %d bytes\n",
                cmd, path, DOM_ADMIN_PW_MAX);
        ret = -EINVAL;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    if (f != stdin)
        fclose(f);
    return ret;
}

static void print_secret(const char *what, const char *name, const struct dom_admin_secret *s)
{
    if (s->generated)
        printf("%s admin %s with password %s\n", what, name, s->password);
    else
        printf("%s admin %s\n", what, name);
}

static int admin_add(int argc, char **argv)
{
    const char *cmd = "xtreamd admin add", *data = CLI_DEFAULT_DATA, *file = NULL, *name = NULL;
    struct dom_admin_in in;
    dom_admin_in_init(&in);
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--role", CLI_STR, &in.role),
        CLI_OPT("--password-file", CLI_STR, &file),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &name, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_add, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    char pw[DOM_ADMIN_PW_MAX + 2];
    if (file) {
        if (read_password_file(cmd, file, pw, sizeof(pw)))
            return CLI_FAIL;
        in.password = pw;
    }
    in.username = name;
    struct db *db;
    if (cli_open_db(cmd, data, &db)) {
        sodium_memzero(pw, sizeof(pw));
        return CLI_FAIL;
    }
    struct dom_error e;
    struct dom_admin_secret s;
    dom_error_reset(&e);
    r = dom_admin_create(db, &in, NULL, &s, &e);
    db_close(db);
    sodium_memzero(pw, sizeof(pw));
    if (r)
        return cli_dom_fail(cmd, &e, names);
    print_secret("Created", name, &s);
    sodium_memzero(&s, sizeof(s));
    return CLI_OK;
}

static int admin_passwd(int argc, char **argv)
{
    const char *cmd = "xtreamd admin passwd", *data = CLI_DEFAULT_DATA, *file = NULL, *name = NULL;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--password-file", CLI_STR, &file),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &name, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_passwd, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    char pw[DOM_ADMIN_PW_MAX + 2];
    if (file && read_password_file(cmd, file, pw, sizeof(pw)))
        return CLI_FAIL;
    struct db *db;
    if (cli_open_db(cmd, data, &db)) {
        sodium_memzero(pw, sizeof(pw));
        return CLI_FAIL;
    }
    struct dom_error e;
    struct dom_admin_secret s;
    dom_error_reset(&e);
    r = dom_admin_set_password(db, name, file ? pw : NULL, &s, &e);
    if (r == 0) { /* a stolen session must not outlive the old password */
        struct db_admin a;
        if ((r = dom_admin_get(db, name, &a, &e)) == 0)
            r = dom_session_end_all(db, a.id, 0, &e);
        db_admin_clear(&a);
    }
    db_close(db);
    sodium_memzero(pw, sizeof(pw));
    if (r)
        return cli_dom_fail(cmd, &e, names);
    print_secret("Changed the password of", name, &s);
    sodium_memzero(&s, sizeof(s));
    return CLI_OK;
}

/* --disabled yes|no into ctx (int *). */
static int check_yes_no(const char *cmd, const char *opt, const char *val, void *ctx)
{
    int *out = ctx;
    if (strcmp(val, "yes") == 0 || strcmp(val, "no") == 0) {
        *out = val[0] == 'y';
        return 0;
    }
    fprintf(stderr, "%s: %s: want yes or no, got '%s'\n", cmd, opt, val);
    return -EINVAL;
}

static int admin_set(int argc, char **argv)
{
    const char *cmd = "xtreamd admin set", *data = CLI_DEFAULT_DATA, *name = NULL;
    struct dom_admin_in in;
    dom_admin_in_init(&in);
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--role", CLI_STR, &in.role),
        CLI_OPT("--disabled", CLI_STR, NULL, .check = check_yes_no, .ctx = &in.disabled),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &name, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_set, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    r = dom_admin_update(db, name, &in, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    printf("Updated admin %s\n", name);
    return CLI_OK;
}

static void format_time(bool has, int64_t ts, char *out, size_t n)
{
    time_t t = (time_t)ts;
    struct tm tm;
    if (!has)
        snprintf(out, n, "never");
    else if (gmtime_r(&t, &tm))
        strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(out, n, "%lld", (long long)ts);
}

/* An account as JSON: never the hash. */
static json_t *admin_json(const struct db_admin *a)
{
    char created[32], updated[32], login[32];
    format_time(true, a->created_at, created, sizeof(created));
    format_time(true, a->updated_at, updated, sizeof(updated));
    format_time(a->has_last_login, a->last_login_at, login, sizeof(login));
    return json_pack("{s:I, s:s, s:s, s:b, s:s, s:s, s:o}", "id", (json_int_t)a->id, "username",
                     a->username, "role", a->role, "disabled", a->disabled, "created_at", created,
                     "updated_at", updated, "last_login_at",
                     a->has_last_login ? json_string(login) : json_null());
}

static int admin_list(int argc, char **argv)
{
    const char *cmd = "xtreamd admin list", *data = CLI_DEFAULT_DATA;
    bool json = false;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_JSON(&json), CLI_OPT_END};
    int r = cli_parse(cmd, usage_list, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    struct db_admin *v;
    size_t n;
    dom_error_reset(&e);
    r = dom_admin_list(db, &v, &n, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, NULL);
    int ret = CLI_OK;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, admin_json(&v[i]));
        if (cli_print_json(arr))
            ret = CLI_FAIL;
    } else {
        printf("%-24s %-7s %-9s %s\n", "NAME", "ROLE", "STATE", "LAST LOGIN");
        for (size_t i = 0; i < n; i++) {
            char login[32];
            format_time(v[i].has_last_login, v[i].last_login_at, login, sizeof(login));
            cli_print_cell(v[i].username, 24);
            printf(" %-7s %-9s %s\n", v[i].role, v[i].disabled ? "disabled" : "enabled", login);
        }
    }
    db_admin_list_free(v, n);
    return ret;
}

static int admin_del(int argc, char **argv)
{
    const char *cmd = "xtreamd admin del", *data = CLI_DEFAULT_DATA, *name = NULL;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    struct cli_pos pos = {.v = &name, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_del, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    if ((r = cli_db_call(cmd, data, dom_admin_delete, name, names)) != CLI_OK)
        return r;
    printf("Deleted admin %s\n", name);
    return CLI_OK;
}

int cli_admin(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"add", admin_add}, {"list", admin_list}, {"passwd", admin_passwd},
        {"set", admin_set}, {"del", admin_del},   {"delete", admin_del},
        {NULL, NULL},
    };
    return cli_dispatch("xtreamd admin", usage_admin, cmds, argc, argv);
}
