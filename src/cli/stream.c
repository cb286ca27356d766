/*
 * cli/stream: `xtreamd stream add|list|show|set|del` — live channels and their
 * ordered source lists (order is priority; `set --source` replaces the list).
 * The rules and transactions are domain/content's (the admin API's streams
 * service); the category is named here and found or created there.
 * Single-threaded.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "db/db.h"
#include "db/profiles.h"
#include "domain/content.h"

#define MAX_SOURCES (DOM_STREAM_SOURCES_MAX + 1) /* one more: the domain reports the excess */

static const char usage_stream[] =
    "usage: xtreamd stream add NAME --source URL [--source URL...] [options] [--data DIR]\n"
    "       xtreamd stream list [--json] [--data DIR]\n"
    "       xtreamd stream show ID [--json] [--data DIR]\n"
    "       xtreamd stream set ID [--name N] [--source URL...] [options] [--data DIR]\n"
    "       xtreamd stream del ID [--data DIR]\n"
    "  Live channels. A source is anything ffmpeg reads (http(s), HLS, rtmp, rtsp,\n"
    "  udp/rtp, srt, a local file played in a loop) or lavfi:<graph>. Sources are\n"
    "  tried in the order given; 'set --source' replaces the whole list.\n"
    "options:\n"
    "  --category NAME    live category (created if missing; '' clears on set)\n"
    "  --epg-id ID        XMLTV channel id ('' clears on set)\n"
    "  --logo URL         channel logo ('' clears on set)\n"
    "  --always-on        run the channel from server start, not on demand\n"
    "  --on-demand        (set) back to on-demand\n"
    "  --archive-days N   record for catch-up, keeping N days (0 = off; the channel\n"
    "                     is then kept running like always-on)\n"
    "  --profile NAME     transcode with this profile (see 'xtreamd profile');\n"
    "                     'copy' (set) passes the source through unchanged\n";

struct stream_opts {
    const char *data, *name, *category, *epg, *logo, *profile;
    const char *source_v[MAX_SOURCES];
    struct cli_list sources;
    int always_on;
    long long archive_days; /* -1: not given */
    bool json;
    const char *positional;
};

static const struct cli_field_name names[] = {
    {"name", "NAME"},
    {"category", "--category"},
    {"category_id", "--category"},
    {"epg_channel_id", "--epg-id"},
    {"logo", "--logo"},
    {"always_on", "--always-on"},
    {"tv_archive_days", "--archive-days"},
    {"sources", "--source"},
    {"transcode_profile_id", "--profile"},
    {NULL, NULL},
};

/* Every sub-command accepts every option (those it has no use for are
 * ignored) and min_pos to max_pos positional arguments: add's NAME or the
 * stream ID of the others. Returns cli_parse()'s result. */
static int parse(const char *cmd, int argc, char **argv, int min_pos, int max_pos,
                 struct stream_opts *o)
{
    o->data = CLI_DEFAULT_DATA;
    o->always_on = -1;
    o->archive_days = -1;
    o->sources = CLI_LIST_OF(o->source_v);
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&o->data),
        CLI_OPT("--name", CLI_STR, &o->name),
        CLI_OPT("--category", CLI_STR, &o->category),
        CLI_OPT("--epg-id", CLI_STR, &o->epg),
        CLI_OPT("--logo", CLI_STR, &o->logo),
        CLI_OPT("--source", CLI_LIST, &o->sources),
        CLI_OPT("--always-on", CLI_CONST, &o->always_on, .val = 1),
        CLI_OPT("--on-demand", CLI_CONST, &o->always_on, .val = 0),
        CLI_OPT("--archive-days", CLI_INT, &o->archive_days, .min = 0, .max = 3650),
        CLI_OPT("--profile", CLI_STR, &o->profile),
        CLI_OPT_JSON(&o->json),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &o->positional, .min = min_pos, .max = max_pos, .name = "stream ID"};
    return cli_parse(cmd, usage_stream, argc, argv, opts, &pos);
}

/* The name of the category of stream o ("" when none or gone). */
static const char *category_of(const struct dom_obj *o, const struct dom_obj *cats, size_t ncats)
{
    int64_t id = dom_obj_int(&dom_res_stream, o, "category_id");
    for (size_t i = 0; id && i < ncats; i++)
        if (cats[i].rec.id == id)
            return dom_obj_str(&dom_res_category, &cats[i], "name");
    return "";
}

static json_t *to_json(const struct dom_obj *s, const char *category)
{
    const struct dom_resource *r = &dom_res_stream;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(s->rec.id));
    json_object_set_new(o, "name", json_string(dom_obj_str(r, s, "name")));
    json_object_set_new(o, "category", json_string(category));
    json_object_set_new(o, "epg_id", json_string(dom_obj_str(r, s, "epg_channel_id")));
    json_object_set_new(o, "logo", json_string(dom_obj_str(r, s, "logo")));
    json_object_set_new(o, "always_on", json_boolean(dom_obj_int(r, s, "always_on")));
    json_object_set_new(o, "archive_days", json_integer(dom_obj_int(r, s, "tv_archive_days")));
    int64_t prof = dom_obj_int(r, s, "transcode_profile_id");
    json_object_set_new(o, "transcode_profile_id", prof ? json_integer(prof) : json_null());
    json_object_set_new(o, "enabled", json_boolean(dom_obj_int(r, s, "enabled")));
    json_t *src = json_array();
    for (size_t i = 0; i < s->nsources; i++)
        json_array_append_new(src, json_string(s->sources[i]));
    json_object_set_new(o, "sources", src);
    return o;
}

/* The options as a stream body: what was given (a merge patch on set). */
static void to_in(const struct stream_opts *o, const char *name, struct dom_content_in *in)
{
    const struct dom_resource *r = &dom_res_stream;
    if (name)
        dom_in_set_str(r, in, "name", name);
    if (o->epg)
        dom_in_set_str(r, in, "epg_channel_id", o->epg);
    if (o->logo)
        dom_in_set_str(r, in, "logo", o->logo);
    if (o->always_on >= 0)
        dom_in_set_int(r, in, "always_on", o->always_on);
    if (o->archive_days >= 0)
        dom_in_set_int(r, in, "tv_archive_days", o->archive_days);
    if (o->sources.n) {
        in->has_sources = true;
        in->sources = (const char **)o->sources.v;
        in->nsources = o->sources.n;
    }
}

/* --profile NAME|copy: the profile's id (0 for copy) into the body. */
static int set_profile(const char *cmd, struct db *db, const char *name, struct dom_content_in *in)
{
    if (!name)
        return 0;
    int64_t id = 0;
    if (strcmp(name, "copy") != 0) {
        int rc = db_profile_find(db, name, &id);
        if (rc)
            return cli_db_fail(cmd, rc, "no profile '%s' (see xtreamd profile list)", name);
    }
    dom_in_set_int(&dom_res_stream, in, "transcode_profile_id", id);
    return 0;
}

static int parse_id(const char *cmd, const char *s, int64_t *id)
{
    long long v;
    if (cli_parse_int(cmd, "ID", s, 1, INT32_MAX, &v))
        return -1;
    *id = v;
    return 0;
}

static int stream_add(int argc, char **argv)
{
    const char *cmd = "xtreamd stream add";
    struct stream_opts o = {0};
    int r = parse(cmd, argc, argv, 0, 1, &o);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, o.data, &db))
        return CLI_FAIL;
    struct dom_content_in in = {0};
    to_in(&o, o.positional, &in);
    if (set_profile(cmd, db, o.profile, &in)) {
        db_close(db);
        return CLI_FAIL;
    }
    struct dom_error e;
    int64_t id;
    dom_error_reset(&e);
    r = dom_stream_save(db, 0, &in, o.category, &id, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, names);
    printf("%lld\n", (long long)id);
    return CLI_OK;
}

static int stream_list(int argc, char **argv, bool show)
{
    const char *cmd = show ? "xtreamd stream show" : "xtreamd stream list";
    struct stream_opts o = {0};
    int r = parse(cmd, argc, argv, show, show, &o);
    if (r)
        return cli_parse_exit(r);
    int64_t id = 0;
    if (show && parse_id(cmd, o.positional, &id))
        return CLI_USAGE;
    struct db *db;
    if (cli_open_db(cmd, o.data, &db))
        return CLI_FAIL;
    static const char *const sort[] = {"sort_order"};
    struct dom_obj *arr = NULL, *cats = NULL, one;
    size_t n = 0, ncats = 0;
    struct dom_error e;
    dom_error_reset(&e);
    int rc = show ? dom_content_get(db, &dom_res_stream, id, &one, &e)
                  : dom_content_list_all(db, &dom_res_stream, NULL, 0, sort, 1, &arr, &n, &e);
    if (show && !rc) {
        arr = &one;
        n = 1;
    }
    if (!rc && (rc = dom_category_list_all(db, "live", &cats, &ncats, &e))) {
        if (show)
            dom_obj_free(&dom_res_stream, &one);
        else
            dom_obj_free_all(&dom_res_stream, arr, n);
    }
    db_close(db);
    if (rc)
        return cli_dom_fail(cmd, &e, NULL);
    if (o.json) {
        if (show) {
            cli_print_json(to_json(&one, category_of(&one, cats, ncats)));
        } else {
            json_t *a = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(a, to_json(&arr[i], category_of(&arr[i], cats, ncats)));
            cli_print_json(a);
        }
    } else {
        const struct dom_resource *res = &dom_res_stream;
        for (size_t i = 0; i < n; i++) {
            const struct dom_obj *s = &arr[i];
            printf("%-6lld ", (long long)s->rec.id);
            cli_print_cell(dom_obj_str(res, s, "name"), 30);
            printf(" ");
            cli_print_cell(category_of(s, cats, ncats), 18);
            long long days = dom_obj_int(res, s, "tv_archive_days");
            printf(" %-9s %zu source%s%s",
                   dom_obj_int(res, s, "always_on") ? "always-on" : "on-demand", s->nsources,
                   s->nsources == 1 ? "" : "s",
                   dom_obj_int(res, s, "enabled") ? "" : " (disabled)");
            if (days > 0)
                printf(" catch-up %lld day%s", days, days == 1 ? "" : "s");
            printf("\n");
            if (show)
                for (size_t k = 0; k < s->nsources; k++)
                    printf("  source %zu: %s\n", k + 1, s->sources[k]);
        }
    }
    if (show)
        dom_obj_free(&dom_res_stream, &one);
    else
        dom_obj_free_all(&dom_res_stream, arr, n);
    dom_obj_free_all(&dom_res_category, cats, ncats);
    return CLI_OK;
}

static int stream_set(int argc, char **argv, bool del)
{
    const char *cmd = del ? "xtreamd stream del" : "xtreamd stream set";
    struct stream_opts o = {0};
    int r = parse(cmd, argc, argv, 1, 1, &o);
    if (r)
        return cli_parse_exit(r);
    int64_t id;
    if (parse_id(cmd, o.positional, &id))
        return CLI_USAGE;
    struct db *db;
    if (cli_open_db(cmd, o.data, &db))
        return CLI_FAIL;
    struct dom_content_in in = {0};
    to_in(&o, o.name, &in);
    if (!del && set_profile(cmd, db, o.profile, &in)) {
        db_close(db);
        return CLI_FAIL;
    }
    struct dom_error e;
    dom_error_reset(&e);
    int rc = del ? dom_content_delete(db, &dom_res_stream, id, &e)
                 : dom_stream_save(db, id, &in, o.category, NULL, &e);
    db_close(db);
    if (rc)
        return cli_dom_fail(cmd, &e, names);
    return CLI_OK;
}

int cli_stream(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage_stream, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (cli_wants_help(argc, argv)) {
        fputs(usage_stream, stdout);
        return CLI_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "add") == 0)
        return stream_add(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0)
        return stream_list(argc - 1, argv + 1, false);
    if (strcmp(sub, "show") == 0)
        return stream_list(argc - 1, argv + 1, true);
    if (strcmp(sub, "set") == 0)
        return stream_set(argc - 1, argv + 1, false);
    if (strcmp(sub, "del") == 0)
        return stream_set(argc - 1, argv + 1, true);
    fprintf(stderr, "xtreamd stream: unknown sub-command '%s'\n", sub);
    fputs(usage_stream, stderr);
    return CLI_USAGE;
}
