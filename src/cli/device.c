/*
 * cli/device: `xtreamd device add|list|del` — MAC-bound set-top boxes of a
 * line (MAG portal, issue 13). A thin caller of domain/devices.c (the admin
 * API's /api/v1/devices uses the same services). Single-threaded.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/jsonw.h"
#include "db/db.h"
#include "domain/devices.h"
#include "domain/time.h"

static const char usage_device[] =
    "usage: xtreamd device add --line USERNAME --mac MAC [--model M] [--data DIR]\n"
    "       xtreamd device list [--line USERNAME] [--json] [--data DIR]\n"
    "       xtreamd device del --mac MAC [--data DIR]\n"
    "  Binds set-top boxes (MAG) to a line by MAC address; the box then logs in\n"
    "  at the portal http://HOST:PORT/c/ without a username or password.\n"
    "  MAC: six hex pairs (00:1A:79:12:34:56, 00-1a-79-12-34-56 or 001A79123456),\n"
    "  stored in upper case with colons.\n";

static const struct cli_field_name names[] = {{"mac", "--mac"},
                                              {"username", "--line"},
                                              {"line_id", "--line"},
                                              {"model", "--model"},
                                              {NULL, NULL}};

static int device_add(int argc, char **argv)
{
    const char *cmd = "xtreamd device add", *data = CLI_DEFAULT_DATA;
    const char *line = NULL, *mac = NULL, *model = NULL;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--line", CLI_STR, &line),
        CLI_OPT("--mac", CLI_STR, &mac),
        CLI_OPT("--model", CLI_STR, &model),
        CLI_OPT_END,
    };
    int r = cli_parse(cmd, usage_device, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    struct dom_device_in in = {.username = line, .mac = mac, .model = model};
    int64_t id = 0;
    struct db_device d;
    int rc = dom_device_add(db, &in, &id, &e);
    if (rc == 0)
        rc = dom_device_get(db, id, &d, &e);
    db_close(db);
    if (rc)
        return cli_dom_fail(cmd, &e, names);
    printf("device %lld: %s bound to line %s\n", (long long)d.id, d.mac, d.username);
    return CLI_OK;
}

static int device_list(int argc, char **argv)
{
    const char *cmd = "xtreamd device list", *data = CLI_DEFAULT_DATA, *line = NULL;
    bool json = false;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--line", CLI_STR, &line),
        CLI_OPT_JSON(&json),
        CLI_OPT_END,
    };
    int r = cli_parse(cmd, usage_device, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    struct db_device *v;
    size_t n;
    int rc = dom_device_list(db, line, &v, &n, &e);
    db_close(db);
    if (rc)
        return cli_dom_fail(cmd, &e, names);
    int ret = CLI_OK;
    if (json) {
        struct buf b = BUF_INIT(64 << 20);
        struct jsonw w;
        jsonw_init(&w, &b);
        jsonw_arr_begin(&w);
        for (size_t i = 0; i < n; i++)
            dom_device_write_json(&w, &v[i]);
        jsonw_arr_end(&w);
        buf_putc(&b, '\0');
        if (b.err || cli_print_json_text(b.data))
            ret = CLI_FAIL;
        buf_free(&b);
    } else {
        printf("%-6s %-17s %-24s %-20s %s\n", "ID", "MAC", "LINE", "LAST SEEN", "MODEL");
        for (size_t i = 0; i < n; i++) {
            char seen[DOM_TIME_LEN] = "never";
            if (v[i].last_seen > 0)
                dom_format_time(v[i].last_seen, seen);
            printf("%-6lld %-17s ", (long long)v[i].id, v[i].mac);
            cli_print_cell(v[i].username, 24);
            printf(" %-20s %s\n", seen, v[i].model);
        }
    }
    free(v);
    return ret;
}

static int device_del(int argc, char **argv)
{
    const char *cmd = "xtreamd device del", *data = CLI_DEFAULT_DATA, *mac = NULL;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--mac", CLI_STR, &mac),
        CLI_OPT_END,
    };
    int r = cli_parse(cmd, usage_device, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    if ((r = cli_db_call(cmd, data, dom_device_delete_mac, mac, names)) != CLI_OK)
        return r;
    printf("device deleted\n");
    return CLI_OK;
}

int cli_device(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"add", device_add}, {"list", device_list}, {"del", device_del}, {NULL, NULL}};
    return cli_dispatch("xtreamd device", usage_device, cmds, argc, argv);
}
