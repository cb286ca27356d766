/*
 * cli/log_cmd: `xtreamd log level [[TAG] LEVEL]` — reads or changes the
 * running server's log levels through its admin API
 * (/api/v1/system/log-levels, cli/remote.h). Changing one tag reads the
 * current levels and puts them back with that one changed (the API's PUT
 * replaces the whole). Single-threaded.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/remote.h"
#include "core/buf.h"
#include "core/log.h"

#define LOG_LEVELS_PATH "/api/v1/system/log-levels"

static const char usage_log[] =
    "usage: xtreamd log level [--json] [--data DIR]\n"
    "       xtreamd log level LEVEL [--data DIR]\n"
    "       xtreamd log level TAG LEVEL|default [--data DIR]\n"
    "  Shows or changes the running server's minimum log levels (debug, info,\n"
    "  warn, error): the default, or one subsystem's (the tag after the level in\n"
    "  a log line: http, live, admin, ...); \"default\" drops a tag's own level.\n"
    "  Not kept across a restart: the log-level setting is (docs/operator-guide.md).\n"
    "  Talks to the server found through <data>/serve.json, like xtreamd channel.\n";

static json_t *call(const char *cmd, const char *data, const char *method, const char *send)
{
    struct buf body = BUF_INIT(1 << 20);
    int status = 0;
    if (cli_server_request(cmd, data, method, LOG_LEVELS_PATH, send, &status, &body)) {
        buf_free(&body);
        return NULL;
    }
    json_error_t jerr;
    json_t *j = body.len ? json_loadb(body.data, body.len, 0, &jerr) : NULL;
    buf_free(&body);
    if (!j || status != 200) {
        const char *detail = j ? json_string_value(json_object_get(j, "detail")) : NULL;
        json_t *errs = j ? json_object_get(j, "errors") : NULL;
        fprintf(stderr, "%s: server answered %d%s%s\n", cmd, status, detail ? ": " : "",
                detail ? detail : "");
        size_t i;
        json_t *e;
        json_array_foreach(errs, i, e)
        {
            fprintf(stderr, "%s: %s: %s\n", cmd, json_string_value(json_object_get(e, "field")),
                    json_string_value(json_object_get(e, "message")));
        }
        json_decref(j);
        return NULL;
    }
    return j;
}

static void print_levels(json_t *j)
{
    printf("%-16s %s\n", "(default)", json_string_value(json_object_get(j, "default")));
    const char *tag;
    json_t *v;
    json_object_foreach(json_object_get(j, "tags"), tag, v)
    {
        printf("%-16s %s\n", tag, json_string_value(v));
    }
}

int cli_log(int argc, char **argv)
{
    const char *cmd = "xtreamd log";
    const char *data = CLI_DEFAULT_DATA, *pos[3] = {NULL, NULL, NULL};
    bool json = false;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_JSON(&json), CLI_OPT_END};
    struct cli_pos p = {.v = pos, .min = 1, .max = 3, .name = "level"};
    int r = cli_parse(cmd, usage_log, argc, argv, opts, &p);
    if (r)
        return cli_parse_exit(r);
    if (strcmp(pos[0], "level") != 0) {
        fprintf(stderr, "%s: unknown sub-command '%s'\n", cmd, pos[0]);
        fputs(usage_log, stderr);
        return CLI_USAGE;
    }
    const char *tag = p.n == 3 ? pos[1] : NULL, *level = p.n >= 2 ? pos[p.n - 1] : NULL;
    enum log_level parsed;
    bool drop = tag && strcmp(level, "default") == 0;
    if (level && !drop && log_level_parse(level, &parsed)) {
        fprintf(stderr, "%s: LEVEL: want debug, info, warn or error, not '%s'\n", cmd, level);
        return CLI_USAGE;
    }
    if (tag && (!*tag || strlen(tag) >= LOG_TAG_MAX ||
                strspn(tag, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(tag))) {
        fprintf(stderr, "%s: TAG: [a-z0-9_-], 1 to %d characters, not '%s'\n", cmd, LOG_TAG_MAX - 1,
                tag);
        return CLI_USAGE;
    }
    json_t *cur = call(cmd, data, "GET", NULL);
    if (!cur)
        return CLI_FAIL;
    if (level) {
        json_t *tags = json_object_get(cur, "tags");
        if (!tag)
            json_object_set_new(cur, "default", json_string(log_level_name(parsed)));
        else if (drop)
            json_object_del(tags, tag);
        else
            json_object_set_new(tags, tag, json_string(log_level_name(parsed)));
        char *text = json_dumps(cur, JSON_COMPACT);
        json_decref(cur);
        cur = text ? call(cmd, data, "PUT", text) : NULL;
        free(text);
        if (!cur)
            return CLI_FAIL;
    }
    if (json)
        cli_print_json(json_incref(cur));
    else
        print_levels(cur);
    json_decref(cur);
    return CLI_OK;
}
