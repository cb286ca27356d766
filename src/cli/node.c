/*
 * cli/node: `xtreamd node code|enrol|list|drain|fence|activate` — the nodes of a cluster
 * (docs/operator-guide.md "Several nodes", cluster/node.h). code, list and the state commands
 * work on the database (--database, or the one an enrolled node's node.json names); enrol talks
 * to the main over HTTP. Single-threaded.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cluster/node.h"
#include "db/db.h"
#include "db/nodes.h"
#include "domain/admin_auth.h"
#include "domain/nodes.h"

static const char usage_node[] =
    "usage: xtreamd node COMMAND ...\n"
    "commands:\n"
    "  code [--name NAME]                      a one-time enrolment code (valid 1 h)\n"
    "  enrol MAIN_URL CODE --name NAME --public-url URL [--data DIR]\n"
    "                                          join this data folder to a cluster as an edge\n"
    "  list [--json]                           every node and its health\n"
    "  drain NODE | fence NODE | activate NODE change a node's state (NODE: name or id)\n"
    "Every command takes --data DIR (default " CLI_DEFAULT_DATA ") and --database URL.\n";

static const char usage_code[] =
    "usage: xtreamd node code [--name NAME] [--data DIR]\n"
    "  Prints a one-time enrolment code (valid 1 h; shown once, stored hashed). With --name,\n"
    "  only a node of that name can use it.\n";
static const char usage_enrol[] =
    "usage: xtreamd node enrol MAIN_URL CODE --name NAME --public-url URL [--data DIR]\n"
    "  Makes this node's key pair in the data folder, enrols it at the main with the code\n"
    "  (from 'xtreamd node code' or POST /api/v1/nodes/enrol-codes) and writes node.json;\n"
    "  then 'xtreamd serve --data DIR' runs it as an edge on the cluster's database.\n"
    "  --data-dir DIR is the same as --data.\n";
static const char usage_list[] = "usage: xtreamd node list [--json] [--data DIR]\n";
static const char usage_state[] = "usage: xtreamd node drain|fence|activate NODE [--data DIR]\n"
                                  "  drain: no new viewers, existing ones stay; fence: also\n"
                                  "  move its viewers off; activate: take viewers again.\n";

/* Opens the database: --database, else the one node.json names, else SQLite in data. */
static int open_db(const char *cmd, const char *data, struct db **db)
{
    static char url[1024];
    if (!db_get_location() || !db_location_is_pg(db_get_location())) {
        if (cluster_identity_database(data, url, sizeof(url)) == 0)
            db_set_location(url);
    }
    return cli_open_db(cmd, data, db) ? -EIO : 0;
}

static int node_code(int argc, char **argv)
{
    const char *cmd = "xtreamd node code", *data = CLI_DEFAULT_DATA, *name = NULL;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT("--name", CLI_STR, &name),
                                   CLI_OPT_END};
    int r = cli_parse(cmd, usage_code, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (open_db(cmd, data, &db))
        return CLI_FAIL;
    char code[41] = "";
    int64_t now = time(NULL), expires;
    struct dom_error e;
    dom_error_reset(&e);
    struct dom_audit_row row = {.admin_username = "cli",
                                .ip = "",
                                .action = "create",
                                .entity = "node-enrol-code",
                                .at = now};
    r = db_begin(db);
    if (r == 0)
        r = dom_enrol_code_new(db, name ? name : "", "cli", now, code, &expires);
    if (r == 0)
        r = dom_audit_write(db, &row, &e);
    if (r == 0)
        r = db_commit(db);
    else
        db_rollback(db);
    db_close(db);
    if (r) {
        sodium_memzero(code, sizeof(code));
        return cli_db_fail(cmd, r, NULL);
    }
    printf("%s\n", code);
    fprintf(stderr, "One-time enrolment code%s%s, valid for 1 hour (shown once).\n",
            name ? " for " : "", name ? name : "");
    sodium_memzero(code, sizeof(code));
    return CLI_OK;
}

static int node_enrol(int argc, char **argv)
{
    const char *cmd = "xtreamd node enrol", *data = CLI_DEFAULT_DATA, *name = NULL, *url = NULL,
               *pos[2];
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--data-dir", CLI_STR, &data),
        CLI_OPT("--name", CLI_STR, &name, .check = cli_check_nonempty),
        CLI_OPT("--public-url", CLI_STR, &url, .check = cli_check_nonempty),
        CLI_OPT_END,
    };
    struct cli_pos p = {.v = pos, .min = 2, .max = 2, .name = "MAIN_URL CODE"};
    int r = cli_parse(cmd, usage_enrol, argc, argv, opts, &p);
    if (r)
        return cli_parse_exit(r);
    if (!name || !url) {
        fprintf(stderr, "%s: --name and --public-url are required\n", cmd);
        return CLI_USAGE;
    }
    if (sodium_init() < 0)
        return CLI_FAIL;
    struct cluster_enrol_req req = {
        .main_url = pos[0], .code = pos[1], .name = name, .public_url = url, .data_dir = data};
    char err[600];
    int64_t id;
    if (cluster_enrol(&req, &id, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", cmd, err);
        return CLI_FAIL;
    }
    printf("Enrolled node %lld (%s); start it with: xtreamd serve --data %s\n", (long long)id, name,
           data);
    return CLI_OK;
}

static int node_list(int argc, char **argv)
{
    const char *cmd = "xtreamd node list", *data = CLI_DEFAULT_DATA;
    bool json = false;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_JSON(&json), CLI_OPT_END};
    int r = cli_parse(cmd, usage_list, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (open_db(cmd, data, &db))
        return CLI_FAIL;
    struct db_node *rows;
    size_t n;
    r = db_nodes_list(db, &rows, &n);
    db_close(db);
    if (r)
        return cli_db_fail(cmd, r, NULL);
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++) {
            const struct db_node *x = &rows[i];
            bool fresh = x->has_status && x->age_ms < CLUSTER_FRESH_MS;
            json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:f,s:I,s:I}",
                                               "id", (json_int_t)x->id, "name", x->name, "role",
                                               x->role, "state", x->state, "public_url",
                                               x->public_url, "fresh", fresh, "last_seen_age_ms",
                                               (json_int_t)(x->has_status ? x->age_ms : -1),
                                               "viewers", (json_int_t)x->sessions, "egress_bps",
                                               (json_int_t)x->egress_bps, "cpu_pct", x->cpu_pct,
                                               "channels_running", (json_int_t)x->channels_running,
                                               "clock_skew_ms", (json_int_t)x->skew_ms));
        }
        free(rows);
        return cli_print_json(a) ? CLI_FAIL : CLI_OK;
    }
    printf("%-5s %-16s %-5s %-9s %-8s %-9s %-8s %-12s %-6s %s\n", "ID", "NAME", "ROLE", "STATE",
           "HEALTH", "SEEN", "VIEWERS", "EGRESS", "CPU%", "URL");
    for (size_t i = 0; i < n; i++) {
        const struct db_node *x = &rows[i];
        bool fresh = x->has_status && x->age_ms < CLUSTER_FRESH_MS;
        char seen[24], egress[24];
        if (x->has_status)
            snprintf(seen, sizeof(seen), "%.1fs", x->age_ms / 1000.0);
        else
            snprintf(seen, sizeof(seen), "never");
        snprintf(egress, sizeof(egress), "%.1fMb/s", x->egress_bps / 1e6);
        printf("%-5lld %-16s %-5s %-9s %-8s %-9s %-8lld %-12s %-6.1f %s\n", (long long)x->id,
               x->name, x->role, x->state, fresh ? "fresh" : "offline", seen,
               (long long)x->sessions, egress, x->cpu_pct, x->public_url);
    }
    free(rows);
    return CLI_OK;
}

static int node_state(int argc, char **argv)
{
    const char *word = argv[0];
    const char *state = strcmp(word, "drain") == 0   ? "draining"
                        : strcmp(word, "fence") == 0 ? "fenced"
                                                     : "active";
    char cmd[40];
    snprintf(cmd, sizeof(cmd), "xtreamd node %s", word);
    const char *data = CLI_DEFAULT_DATA, *pos[1];
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    struct cli_pos p = {.v = pos, .min = 1, .max = 1, .name = "NODE"};
    int r = cli_parse(cmd, usage_state, argc, argv, opts, &p);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (open_db(cmd, data, &db))
        return CLI_FAIL;
    int64_t id = 0;
    char *end;
    long long v = strtoll(pos[0], &end, 10);
    if (*pos[0] && !*end && v > 0)
        id = v;
    else if ((r = db_node_find(db, pos[0], &id))) {
        db_close(db);
        return cli_db_fail(cmd, r, "no node '%s'", pos[0]);
    }
    char after[64];
    snprintf(after, sizeof(after), "{\"state\":\"%s\"}", state);
    struct dom_error e;
    dom_error_reset(&e);
    struct dom_audit_row row = {.admin_username = "cli",
                                .ip = "",
                                .action = word,
                                .entity = "node",
                                .entity_id = id,
                                .after = after,
                                .at = time(NULL)};
    r = db_begin(db);
    if (r == 0)
        r = dom_node_set_state(db, id, state); /* the node hears it at the commit */
    if (r == 0)
        r = dom_audit_write(db, &row, &e);
    if (r == 0)
        r = db_commit(db);
    else
        db_rollback(db);
    db_close(db);
    if (r)
        return cli_db_fail(cmd, r, "no node '%s'", pos[0]);
    printf("Node %s: %s\n", pos[0], state);
    return CLI_OK;
}

int cli_node(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"code", node_code},    {"enrol", node_enrol}, {"list", node_list},
        {"drain", node_state},  {"fence", node_state}, {"activate", node_state},
        {"enroll", node_enrol}, {NULL, NULL},
    };
    return cli_dispatch("node", usage_node, cmds, argc, argv);
}
