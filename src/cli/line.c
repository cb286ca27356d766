/*
 * cli/line: `xtreamd line add|set|list|show|del` — subscriber lines.
 *
 * Owns argument parsing and output for lines; all SQL is in db/lines.c and
 * db/bouquets.c. Usernames and passwords are restricted to [A-Za-z0-9._@-]
 * (1-64 chars) because clients put them unescaped into URL paths (API §1.5).
 * Single-threaded.
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
#include "db/bouquets.h"
#include "db/db.h"
#include "db/lines.h"

#define MAX_BOUQUETS     256
#define MAX_MESSAGE      1024
#define MAX_CONNECTIONS  100000
#define GEN_PASSWORD_LEN 12

static const char cred_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789._@-";

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
    "  --data DIR               data directory (default " CLI_DEFAULT_DATA ")\n";

static const char usage_list[] = "usage: xtreamd line list [--json] [--data DIR]\n"
                                 "  Lists every line: username, password, status, expiry,\n"
                                 "  max connections and bouquets.\n";

static const char usage_show[] = "usage: xtreamd line show USERNAME [--json] [--data DIR]\n";

static const char usage_del[] = "usage: xtreamd line del USERNAME [--data DIR]\n"
                                "  Deletes a line (and its devices and bouquet links).\n";

static const char usage_line[] = "usage: xtreamd line COMMAND ...\n"
                                 "commands:\n"
                                 "  add USERNAME [PASSWORD] [options]   create a line\n"
                                 "  set USERNAME [options]              change a line\n"
                                 "  list [--json]                       list lines\n"
                                 "  show USERNAME [--json]              show one line\n"
                                 "  del USERNAME                        delete a line\n"
                                 "Run 'xtreamd line COMMAND --help' for the options of each.\n";

/* Returns 0 if s is a valid username/password, else prints why and -EINVAL.
 * Also the check of --password (what is then the option name). */
static int check_cred(const char *cmd, const char *what, const char *s, void *ctx)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) {
        fprintf(stderr, "%s: %s must be 1-64 characters (got %zu)\n", cmd, what, n);
        return -EINVAL;
    }
    size_t bad = strspn(s, cred_alphabet);
    if (bad < n) {
        unsigned char c = (unsigned char)s[bad];
        if (c > 0x20 && c < 0x7f)
            fprintf(stderr, "%s: %s contains '%c' at position %zu (allowed: A-Z a-z 0-9 . _ @ -)\n",
                    cmd, what, c, bad + 1);
        else
            fprintf(stderr,
                    "%s: %s contains byte 0x%02x at position %zu (allowed: A-Z a-z 0-9 . _ @ -)\n",
                    cmd, what, c, bad + 1);
        return -EINVAL;
    }
    return 0;
}

/* Options shared by add and set. Tri-states: -1 unchanged, 0 off, 1 on. */
struct line_opts {
    const char *data;
    const char *positional[2];
    int npos;
    const char *password;
    long long max_conn; /* -1: not given (set) */
    const char *expires;
    bool exp_has;
    int64_t exp_ts;
    int trial, enabled, banned;
    const char *bouquet_v[MAX_BOUQUETS];
    struct cli_list bouquets;
    bool no_bouquets;
    char outputs[16]; /* "": not given */
    const char *message;
};

/* The check of --expires: YYYY-MM-DD (00:00 UTC) or never, into o->exp_*. */
static int check_expires(const char *cmd, const char *opt, const char *s, void *ctx)
{
    struct line_opts *o = ctx;
    if (strcmp(s, "never") == 0) {
        o->exp_has = false;
        o->exp_ts = 0;
        return 0;
    }
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 0, m = 0, d = 0;
    bool ok = strlen(s) == 10 && s[4] == '-' && s[7] == '-';
    for (int i = 0; ok && i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            ok = false;
    if (ok) {
        y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        m = (s[5] - '0') * 10 + (s[6] - '0');
        d = (s[8] - '0') * 10 + (s[9] - '0');
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        ok = y >= 1970 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 &&
             d <= mdays[m - 1] + (m == 2 && leap ? 1 : 0);
    }
    if (!ok) {
        fprintf(stderr, "%s: %s: invalid date '%s' (expected YYYY-MM-DD or never)\n", cmd, opt, s);
        return -EINVAL;
    }
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    o->exp_ts = (int64_t)timegm(&tm);
    o->exp_has = true;
    return 0;
}

/* The check of --outputs: normalises a comma-separated output list into
 * o->outputs ("ts,m3u8" at most). */
static int check_outputs(const char *cmd, const char *opt, const char *s, void *ctx)
{
    struct line_opts *o = ctx;
    char *out = o->outputs;
    size_t outsz = sizeof(o->outputs);
    bool seen_ts = false, seen_hls = false;
    size_t len = 0;
    const char *p = s;
    out[0] = '\0';
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *canon = NULL;
        if ((n == 2 && strncmp(p, "ts", 2) == 0) || (n == 6 && strncmp(p, "mpegts", 6) == 0))
            canon = "ts";
        else if ((n == 4 && strncmp(p, "m3u8", 4) == 0) || (n == 3 && strncmp(p, "hls", 3) == 0))
            canon = "m3u8";
        if (!canon) {
            fprintf(stderr, "%s: %s: unknown output '%.*s' (expected ts, m3u8, mpegts, hls)\n", cmd,
                    opt, (int)(n > 64 ? 64 : n), p);
            return -EINVAL;
        }
        bool *seen = canon[0] == 't' ? &seen_ts : &seen_hls;
        if (!*seen) {
            *seen = true;
            int w = snprintf(out + len, outsz - len, "%s%s", len ? "," : "", canon);
            if (w < 0 || (size_t)w >= outsz - len)
                return -EINVAL;
            len += (size_t)w;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

static int check_message(const char *cmd, const char *opt, const char *s, void *ctx)
{
    size_t n = strlen(s);
    if (n > MAX_MESSAGE) {
        fprintf(stderr, "%s: %s: longer than %d bytes\n", cmd, opt, MAX_MESSAGE);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            fprintf(stderr, "%s: %s: control character at byte %zu\n", cmd, opt, i + 1);
            return -EINVAL;
        }
    }
    json_t *j = json_string(s); /* NULL when s is not valid UTF-8 */
    if (!j) {
        fprintf(stderr, "%s: %s: not valid UTF-8\n", cmd, opt);
        return -EINVAL;
    }
    json_decref(j);
    return 0;
}

static int gen_password(char *out, size_t n)
{
    if (sodium_init() < 0)
        return -EIO;
    uint32_t k = (uint32_t)(sizeof(cred_alphabet) - 1);
    for (size_t i = 0; i < n; i++)
        out[i] = cred_alphabet[randombytes_uniform(k)];
    out[n] = '\0';
    return 0;
}

/* Looks up every bouquet name; prints the first unknown one. */
static int resolve_bouquets(const char *cmd, struct db *db, const char **names, size_t n,
                            int64_t *ids)
{
    for (size_t i = 0; i < n; i++) {
        int rc = db_bouquet_find(db, names[i], &ids[i]);
        if (rc == -ENOENT) {
            fprintf(stderr, "%s: unknown bouquet '%s' (see xtreamd bouquet list)\n", cmd, names[i]);
            return rc;
        }
        if (rc) {
            fprintf(stderr, "%s: database error looking up bouquet '%s'\n", cmd, names[i]);
            return rc;
        }
    }
    return 0;
}

/* Parses add/set arguments: 0, or cli_parse()'s 1 (--help) / -EINVAL. */
static int parse_line_opts(const char *cmd, const char *usage, bool is_set, int argc, char **argv,
                           struct line_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->data = CLI_DEFAULT_DATA;
    o->max_conn = is_set ? -1 : 1;
    o->trial = o->enabled = o->banned = -1;
    o->bouquets = CLI_LIST_OF(o->bouquet_v);
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&o->data),
        CLI_OPT("--max-connections", CLI_INT, &o->max_conn, .min = 0, .max = MAX_CONNECTIONS),
        CLI_OPT("--expires", CLI_STR, &o->expires, .check = check_expires, .ctx = o),
        CLI_OPT("--bouquet", CLI_LIST, &o->bouquets, .check = cli_check_nonempty),
        CLI_OPT("--outputs", CLI_STR, NULL, .check = check_outputs, .ctx = o),
        CLI_OPT("--message", CLI_STR, &o->message, .check = check_message),
        CLI_OPT("--trial", CLI_TRI, &o->trial, .val = 1),
        CLI_OPT("--disabled", CLI_TRI, &o->enabled, .val = 0),
        CLI_OPT("--banned", CLI_TRI, &o->banned, .val = 1),
        CLI_OPT("--password", CLI_STR, &o->password, .check = check_cred, .disabled = !is_set),
        CLI_OPT("--no-trial", CLI_TRI, &o->trial, .val = 0, .disabled = !is_set),
        CLI_OPT("--enabled", CLI_TRI, &o->enabled, .val = 1, .disabled = !is_set),
        CLI_OPT("--unbanned", CLI_TRI, &o->banned, .val = 0, .disabled = !is_set),
        CLI_OPT("--no-bouquets", CLI_FLAG, &o->no_bouquets, .disabled = !is_set),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = o->positional, .min = 1, .max = is_set ? 1 : 2, .name = "USERNAME"};
    int r = cli_parse(cmd, usage, argc, argv, opts, &pos);
    if (r)
        return r;
    o->npos = pos.n;
    if (check_cred(cmd, "username", o->positional[0], NULL))
        return -EINVAL;
    if (o->npos > 1 && check_cred(cmd, "password", o->positional[1], NULL))
        return -EINVAL;
    if (o->no_bouquets && o->bouquets.n) {
        fprintf(stderr, "%s: --no-bouquets contradicts --bouquet\n", cmd);
        return -EINVAL;
    }
    return 0;
}

static int line_add(int argc, char **argv)
{
    const char *cmd = "xtreamd line add";
    struct line_opts o;
    struct db *db = NULL;
    char genpw[GEN_PASSWORD_LEN + 1];
    int64_t ids[MAX_BOUQUETS];
    int ret = CLI_FAIL;
    int r = parse_line_opts(cmd, usage_add, false, argc, argv, &o);
    if (r)
        return cli_parse_exit(r);
    const char *password = o.npos > 1 ? o.positional[1] : NULL;
    if (!password) {
        if (gen_password(genpw, GEN_PASSWORD_LEN)) {
            fprintf(stderr, "%s: libsodium failed to initialise\n", cmd);
            return CLI_FAIL;
        }
        password = genpw;
    }
    struct db_line l = {
        .username = (char *)o.positional[0],
        .password = (char *)password,
        .max_connections = o.max_conn,
        .has_exp = o.expires ? o.exp_has : false,
        .exp_date = o.expires ? o.exp_ts : 0,
        .is_trial = o.trial == 1,
        .enabled = o.enabled != 0,
        .banned = o.banned == 1,
        .allowed_outputs = o.outputs[0] ? o.outputs : "ts,m3u8",
        .message = (char *)(o.message ? o.message : ""),
    };
    if (cli_open_db(cmd, o.data, &db))
        return CLI_FAIL;
    if (db_begin(db))
        goto fail;
    if (resolve_bouquets(cmd, db, o.bouquets.v, o.bouquets.n, ids))
        goto fail;
    int rc = db_line_insert(db, &l);
    if (rc == -EEXIST) {
        fprintf(stderr, "%s: line '%s' already exists\n", cmd, l.username);
        goto fail;
    }
    if (rc || db_line_set_bouquets(db, l.id, ids, o.bouquets.n) || db_commit(db)) {
        fprintf(stderr, "%s: database error creating line '%s'\n", cmd, l.username);
        goto fail;
    }
    if (password == genpw)
        printf("Created line %s with password %s\n", l.username, password);
    else
        printf("Created line %s\n", l.username);
    ret = CLI_OK;
fail:
    if (ret != CLI_OK)
        db_rollback(db);
    db_close(db);
    return ret;
}

static int line_set(int argc, char **argv)
{
    const char *cmd = "xtreamd line set";
    struct line_opts o;
    struct db *db = NULL;
    struct db_line l = {0};
    int64_t ids[MAX_BOUQUETS];
    int ret = CLI_FAIL;
    int r = parse_line_opts(cmd, usage_set, true, argc, argv, &o);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, o.data, &db))
        return CLI_FAIL;
    if (db_begin(db))
        goto fail;
    int rc = db_line_get(db, o.positional[0], &l);
    if (rc == -ENOENT) {
        fprintf(stderr, "%s: no line '%s'\n", cmd, o.positional[0]);
        goto fail;
    }
    if (rc)
        goto dberr;
    if (resolve_bouquets(cmd, db, o.bouquets.v, o.bouquets.n, ids))
        goto fail;
    /* Apply the changes on the loaded copy; strings are swapped in owned. */
    char *pw = o.password ? strdup(o.password) : NULL;
    char *outs = o.outputs[0] ? strdup(o.outputs) : NULL;
    char *msg = o.message ? strdup(o.message) : NULL;
    if ((o.password && !pw) || (o.outputs[0] && !outs) || (o.message && !msg)) {
        free(pw);
        free(outs);
        free(msg);
        goto dberr;
    }
    if (pw) {
        free(l.password);
        l.password = pw;
    }
    if (outs) {
        free(l.allowed_outputs);
        l.allowed_outputs = outs;
    }
    if (msg) {
        free(l.message);
        l.message = msg;
    }
    if (o.max_conn >= 0)
        l.max_connections = o.max_conn;
    if (o.expires) {
        l.has_exp = o.exp_has;
        l.exp_date = o.exp_ts;
    }
    if (o.trial != -1)
        l.is_trial = o.trial;
    if (o.enabled != -1)
        l.enabled = o.enabled;
    if (o.banned != -1)
        l.banned = o.banned;
    if (db_line_update(db, &l))
        goto dberr;
    if ((o.bouquets.n || o.no_bouquets) && db_line_set_bouquets(db, l.id, ids, o.bouquets.n))
        goto dberr;
    if (db_commit(db))
        goto dberr;
    printf("Updated line %s\n", l.username);
    ret = CLI_OK;
    goto fail;
dberr:
    fprintf(stderr, "%s: database error updating line '%s'\n", cmd, o.positional[0]);
fail:
    if (ret != CLI_OK)
        db_rollback(db);
    db_line_clear(&l);
    db_close(db);
    return ret;
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

static json_t *line_json(const struct db_line *l, int64_t now)
{
    json_t *o = json_object();
    json_t *outs = json_array();
    json_t *bq = json_array();
    if (!o || !outs || !bq)
        goto fail;
    const char *p = l->allowed_outputs;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n)
            json_array_append_new(outs, json_stringn(p, n));
        p += n + (c ? 1 : 0);
    }
    for (size_t i = 0; i < l->bouquet_count; i++)
        json_array_append_new(bq, json_string(l->bouquets[i]));
    json_object_set_new(o, "id", json_integer(l->id));
    json_object_set_new(o, "username", json_string(l->username));
    json_object_set_new(o, "password", json_string(l->password));
    json_object_set_new(o, "status", json_string(db_line_status(l, now)));
    json_object_set_new(o, "exp_date", l->has_exp ? json_integer(l->exp_date) : json_null());
    json_object_set_new(o, "is_trial", json_boolean(l->is_trial));
    json_object_set_new(o, "enabled", json_boolean(l->enabled));
    json_object_set_new(o, "banned", json_boolean(l->banned));
    json_object_set_new(o, "max_connections", json_integer(l->max_connections));
    json_object_set_new(o, "allowed_outputs", outs);
    json_object_set_new(o, "bouquets", bq);
    json_object_set_new(o, "message", json_string(l->message));
    json_object_set_new(o, "created_at", json_integer(l->created_at));
    json_object_set_new(o, "updated_at", json_integer(l->updated_at));
    return o;
fail:
    json_decref(o);
    json_decref(outs);
    json_decref(bq);
    return NULL;
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
    int rc = db_line_list(db, &v, &n);
    if (rc) {
        db_close(db);
        return cli_db_fail(cmd, rc, NULL);
    }
    int64_t now = db_now();
    int ret = CLI_OK;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, line_json(&v[i], now));
        if (cli_print_json(arr))
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
            printf(" %-9s %-10s %5lld  %s\n", db_line_status(&v[i], now), exp,
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
    int rc = db_line_get(db, user, &l);
    db_close(db);
    if (rc)
        return cli_db_fail(cmd, rc, "no line '%s'", user);
    int64_t now = db_now();
    int ret = CLI_OK;
    if (json) {
        if (cli_print_json(line_json(&l, now)))
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
        printf("status:          %s\n", db_line_status(&l, now));
        printf("expires:         %s\n", exp);
        printf("max connections: %lld\n", (long long)l.max_connections);
        printf("trial:           %s\n", l.is_trial ? "yes" : "no");
        printf("enabled:         %s\n", l.enabled ? "yes" : "no");
        printf("banned:          %s\n", l.banned ? "yes" : "no");
        printf("outputs:         %s\n", l.allowed_outputs);
        printf("bouquets:        %s\n", bq);
        printf("message:         %s\n", l.message);
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
    int rc = db_line_delete(db, user);
    db_close(db);
    if (rc)
        return cli_db_fail(cmd, rc, "no line '%s'", user);
    printf("Deleted line %s\n", user);
    return CLI_OK;
}

int cli_line(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"add", line_add}, {"set", line_set},    {"list", line_list}, {"show", line_show},
        {"del", line_del}, {"delete", line_del}, {NULL, NULL},
    };
    return cli_dispatch("xtreamd line", usage_line, cmds, argc, argv);
}
