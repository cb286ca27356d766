/*
 * cli/epg: `xtreamd epg add|list|del|import|unmapped|map` — EPG sources
 * (XMLTV files or http(s) URLs, plain or gzip), on-demand import, and the
 * channel mapping report. The rules of a source are domain/epg_sources.c's;
 * the import and the mapping are the EPG server's (epg/import.c, epg/map.c).
 * Single-threaded.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "db/db.h"
#include "db/epg.h"
#include "domain/epg_sources.h"
#include "epg/epg.h"
#include "epg/map.h"

static const struct cli_field_name add_names[] = {
    {"name", "NAME"},
    {"url", "FILE|URL"},
    {"priority", "--priority"},
    {"refresh_hours", "--refresh-hours"},
    {NULL, NULL},
};

static const char usage_epg[] =
    "usage: xtreamd epg add NAME FILE|URL [--priority N] [--refresh-hours H] [--data DIR]\n"
    "       xtreamd epg list [--json] [--data DIR]\n"
    "       xtreamd epg del NAME|ID [--data DIR]\n"
    "       xtreamd epg import [NAME|ID ...] [--allow-host HOST] [--data DIR]\n"
    "       xtreamd epg unmapped [--json] [--data DIR]\n"
    "       xtreamd epg map [--data DIR]\n"
    "  add       registers an XMLTV source: a file path or an http(s) URL, plain or\n"
    "            gzip. --priority (default 0): when several sources cover a channel,\n"
    "            the higher priority wins. --refresh-hours (default 24, 0 = manual\n"
    "            only): how often the server re-imports it.\n"
    "  list      the sources with their last import status and counts.\n"
    "  del       removes a source and its programmes.\n"
    "  import    imports the named sources (default: every enabled source) now.\n"
    "            A URL leading to this machine (loopback, link-local, its own\n"
    "            addresses) is refused unless --allow-host HOST names its host.\n"
    "            A malformed document is rejected with its line and column; the\n"
    "            previous guide of that source stays.\n"
    "  unmapped  live channels without a guide, with the best candidate ids.\n"
    "  map       recomputes the automatic name-based mapping (import does this).\n";

struct common {
    const char *cmd, *data;
    bool json;
    const char *pos[8];
    int npos;
    long long priority, refresh;
};

/* The options of every epg sub-command: --data, --json where json_ok,
 * --priority and --refresh-hours where add_opts, and up to max_pos (at most 8)
 * positional arguments. Returns cli_parse()'s result. */
static int parse_common(const char *cmd, int argc, char **argv, struct common *c, bool json_ok,
                        bool add_opts, int max_pos)
{
    memset(c, 0, sizeof(*c));
    c->cmd = cmd;
    c->data = CLI_DEFAULT_DATA;
    c->refresh = 24;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&c->data),
        CLI_OPT("--priority", CLI_INT, &c->priority, .min = INT_MIN, .max = INT_MAX,
                .disabled = !add_opts),
        CLI_OPT("--refresh-hours", CLI_INT, &c->refresh, .min = INT_MIN, .max = INT_MAX,
                .disabled = !add_opts),
        CLI_OPT("--json", CLI_FLAG, &c->json, .disabled = !json_ok),
        CLI_OPT_ALLOW_HOST(.disabled = strcmp(cmd, "xtreamd epg import") != 0),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = c->pos, .max = max_pos};
    int r = cli_parse(cmd, usage_epg, argc, argv, opts, &pos);
    c->npos = pos.n;
    return r;
}

static int epg_add(int argc, char **argv)
{
    struct common c;
    int rc = parse_common("xtreamd epg add", argc, argv, &c, false, true, 2);
    if (rc)
        return cli_parse_exit(rc);
    if (c.npos != 2) {
        fprintf(stderr, "%s: expected NAME and FILE|URL (see --help)\n", c.cmd);
        return CLI_USAGE;
    }
    const char *name = c.pos[0];
    struct db *db;
    if (cli_open_db(c.cmd, c.data, &db))
        return CLI_FAIL;
    struct dom_epg_source_in in = {
        .name = name, .url = c.pos[1], .priority = c.priority, .refresh_hours = c.refresh};
    struct dom_error e;
    int64_t id;
    dom_error_reset(&e);
    rc = dom_epg_source_add(db, &in, &id, &e);
    db_close(db);
    if (rc)
        return cli_dom_fail(c.cmd, &e, add_names);
    printf("added EPG source %lld '%s' (import it with: xtreamd epg import %s)\n", (long long)id,
           name, name);
    return CLI_OK;
}

static int epg_list(int argc, char **argv)
{
    struct common c;
    int rc = parse_common("xtreamd epg list", argc, argv, &c, true, false, 0);
    if (rc)
        return cli_parse_exit(rc);
    struct db *db;
    struct db_epg_source *s;
    size_t n;
    if (cli_open_db(c.cmd, c.data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    rc = dom_epg_source_list(db, &s, &n, &e);
    db_close(db);
    if (rc)
        return cli_dom_fail(c.cmd, &e, NULL);
    int ret = CLI_OK;
    if (c.json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(s[i].id));
            json_object_set_new(o, "name", json_string(s[i].name));
            json_object_set_new(o, "url", json_string(s[i].url));
            json_object_set_new(o, "priority", json_integer(s[i].priority));
            json_object_set_new(o, "refresh_hours", json_integer(s[i].refresh_hours));
            json_object_set_new(o, "enabled", json_boolean(s[i].enabled));
            json_object_set_new(o, "last_import", json_integer(s[i].last_import));
            json_object_set_new(o, "last_attempt", json_integer(s[i].last_attempt));
            json_object_set_new(o, "last_status", json_string(s[i].last_status));
            json_object_set_new(o, "channels", json_integer(s[i].channels));
            json_object_set_new(o, "programmes", json_integer(s[i].programmes));
            json_array_append_new(arr, o);
        }
        if (cli_print_json(arr))
            ret = CLI_FAIL;
    } else {
        printf("%-4s %-20s %4s %7s %8s %10s  %s\n", "ID", "NAME", "PRIO", "REFRESH", "CHANNELS",
               "PROGRAMMES", "STATUS");
        for (size_t i = 0; i < n; i++) {
            printf("%-4lld ", (long long)s[i].id);
            cli_print_cell(s[i].name, 20);
            printf(" %4d %6dh %8lld %10lld  %s\n", s[i].priority, s[i].refresh_hours,
                   (long long)s[i].channels, (long long)s[i].programmes,
                   s[i].last_status[0] ? s[i].last_status : "never imported");
            printf("     %s\n", s[i].url);
        }
    }
    db_epg_source_list_free(s, n);
    return ret;
}

static int epg_del(int argc, char **argv)
{
    struct common c;
    int rc = parse_common("xtreamd epg del", argc, argv, &c, false, false, 1);
    if (rc)
        return cli_parse_exit(rc);
    if (c.npos != 1) {
        fprintf(stderr, "%s: expected NAME or ID\n", c.cmd);
        return CLI_USAGE;
    }
    struct db *db;
    if (cli_open_db(c.cmd, c.data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    rc = dom_epg_source_delete(db, c.pos[0], &e);
    if (rc == 0)
        epg_automap(db, false); /* the EPG server's remap after a change */
    db_close(db);
    if (rc)
        return cli_dom_fail(c.cmd, &e, NULL);
    printf("deleted EPG source '%s'\n", c.pos[0]);
    return CLI_OK;
}

static int import_one(const char *cmd, struct db *db, const struct db_epg_source *s)
{
    struct epg_import_result res;
    if (epg_import_source(db, s->id, db_now(), &res) != 0) {
        fprintf(stderr, "%s: %s: %s (previous guide kept)\n", cmd, s->name, res.error);
        return -1;
    }
    printf("%s: %lld channels, %lld programmes (%lld skipped), %.1f MB\n", s->name,
           (long long)res.channels, (long long)res.programmes, (long long)res.skipped,
           (double)res.bytes / 1e6);
    return 0;
}

static int epg_import(int argc, char **argv)
{
    struct common c;
    int rc = parse_common("xtreamd epg import", argc, argv, &c, false, false, 8);
    if (rc)
        return cli_parse_exit(rc);
    struct db *db;
    if (cli_open_db(c.cmd, c.data, &db))
        return CLI_FAIL;
    int failed = 0;
    if (c.npos == 0) {
        struct db_epg_source *s;
        size_t n;
        struct dom_error e;
        dom_error_reset(&e);
        rc = dom_epg_source_list(db, &s, &n, &e);
        if (rc) {
            db_close(db);
            return cli_dom_fail(c.cmd, &e, NULL);
        }
        if (n == 0)
            fprintf(stderr, "%s: no EPG sources (add one with 'xtreamd epg add')\n", c.cmd);
        /* Lowest priority first, so that logs read like the override order. */
        for (size_t i = n; i-- > 0;)
            if (s[i].enabled && import_one(c.cmd, db, &s[i]))
                failed++;
        db_epg_source_list_free(s, n);
    }
    for (int i = 0; i < c.npos; i++) {
        struct db_epg_source *s;
        struct dom_error e;
        dom_error_reset(&e);
        rc = dom_epg_source_get(db, c.pos[i], &s, &e);
        if (rc) {
            cli_dom_fail(c.cmd, &e, NULL);
            failed++;
            continue;
        }
        if (import_one(c.cmd, db, s))
            failed++;
        db_epg_source_list_free(s, 1);
    }
    db_close(db);
    return failed ? CLI_FAIL : CLI_OK;
}

static int epg_unmapped_cmd(int argc, char **argv)
{
    struct common c;
    int rc = parse_common("xtreamd epg unmapped", argc, argv, &c, true, false, 0);
    if (rc)
        return cli_parse_exit(rc);
    struct db *db;
    struct epg_unmapped *u;
    size_t n;
    if (cli_open_db(c.cmd, c.data, &db))
        return CLI_FAIL;
    rc = epg_unmapped(db, &u, &n);
    db_close(db);
    if (rc)
        return cli_db_fail(c.cmd, rc, NULL);
    int ret = CLI_OK;
    if (c.json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
            json_t *o = json_object(), *cands = json_array();
            json_object_set_new(o, "stream_id", json_integer(u[i].stream_id));
            json_object_set_new(o, "name", json_string(u[i].name));
            json_object_set_new(o, "epg_channel_id", json_string(u[i].epg_id));
            for (int k = 0; k < EPG_CANDIDATES && u[i].candidate[k]; k++) {
                json_t *cand = json_object();
                json_object_set_new(cand, "id", json_string(u[i].candidate[k]));
                json_object_set_new(cand, "score", json_integer(u[i].score[k]));
                json_array_append_new(cands, cand);
            }
            json_object_set_new(o, "candidates", cands);
            json_array_append_new(arr, o);
        }
        if (cli_print_json(arr))
            ret = CLI_FAIL;
    } else {
        printf("%-6s %-32s %-24s %s\n", "ID", "NAME", "EPG ID", "CANDIDATES (score)");
        for (size_t i = 0; i < n; i++) {
            printf("%-6lld ", (long long)u[i].stream_id);
            cli_print_cell(u[i].name, 32);
            putchar(' ');
            cli_print_cell(u[i].epg_id[0] ? u[i].epg_id : "-", 24);
            for (int k = 0; k < EPG_CANDIDATES && u[i].candidate[k]; k++)
                printf(" %s (%d)", u[i].candidate[k], u[i].score[k]);
            putchar('\n');
        }
        printf("%zu channel(s) without a guide\n", n);
    }
    epg_unmapped_free(u, n);
    return ret;
}

static int epg_map(int argc, char **argv)
{
    struct common c;
    int rc = parse_common("xtreamd epg map", argc, argv, &c, false, false, 0);
    if (rc)
        return cli_parse_exit(rc);
    struct db *db;
    if (cli_open_db(c.cmd, c.data, &db))
        return CLI_FAIL;
    rc = epg_automap(db, false);
    db_close(db);
    if (rc < 0)
        return cli_db_fail(c.cmd, rc, NULL);
    printf("%d channel(s) mapped automatically\n", rc);
    return CLI_OK;
}

int cli_epg(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"add", epg_add},
        {"list", epg_list},
        {"del", epg_del},
        {"import", epg_import},
        {"unmapped", epg_unmapped_cmd},
        {"map", epg_map},
        {NULL, NULL},
    };
    /* --help anywhere (before "--") gives the usage, even after an unknown word. */
    if (cli_wants_help(argc, argv)) {
        fputs(usage_epg, stdout);
        return CLI_OK;
    }
    return cli_dispatch("xtreamd epg", usage_epg, cmds, argc, argv);
}
