/*
 * cli/profile: `xtreamd profile add|set|list|show|del` — transcode profiles
 * (how a live channel is re-encoded; `xtreamd stream set ID --profile NAME`
 * gives a stream one). The rules are media/profile.c's (tx_profile_validate);
 * this file parses options, names the bad one, and prints. Profiles are named
 * by their unique name on the command line (ids in the admin API).
 * Single-threaded.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "db/db.h"
#include "db/profiles.h"
#include "media/ladder.h"
#include "media/profile.h"

static const char usage_profile[] =
    "usage: xtreamd profile COMMAND ...\n"
    "commands:\n"
    "  add NAME [options]     create a transcode profile\n"
    "  set NAME [options]     change one (channels using it restart with it)\n"
    "  list [--json]          list profiles\n"
    "  show NAME [--json]     show one, with its ffmpeg arguments\n"
    "  del NAME               delete one (its streams go back to copy)\n"
    "options of add and set (set: options not given keep their value):\n"
    "  --name NEW               (set) rename\n"
    "  --video-codec C          copy, libx264 (default) or libx265\n"
    "  --hw B                   none (default), vaapi, nvenc or qsv; missing hardware\n"
    "                           falls back to software at channel start\n"
    "  --rate-control RC        vbr (default) or cbr\n"
    "  --bitrate K              video kbit/s, 50-100000 (default 2000)\n"
    "  --maxrate K              vbr ceiling kbit/s (0: none)\n"
    "  --bufsize K              rate-control buffer kbit (0: automatic)\n"
    "  --gop S                  keyframe every S seconds, 1-20 (default 2)\n"
    "  --width W, --height H    output size (0: source; one 0 keeps the aspect)\n"
    "  --fps F                  output frame rate (0: source)\n"
    "  --deinterlace | --no-deinterlace\n"
    "  --audio-codec C          copy, aac (default), ac3 or mp2\n"
    "  --audio-bitrate K        kbit/s (0: 128)\n"
    "  --audio-channels N       0 (source) or 1-8\n"
    "  --logo PATH              overlay this image ('' removes it)\n"
    "  --logo-position P        tl, tr (default), bl or br\n"
    "  --extra-args \"...\"       allow-listed encoder options, e.g. \"-preset ultrafast\n"
    "                           -tune zerolatency\" (see docs/operator-guide.md)\n"
    "  --ladder WxH:K[:MAX],... an adaptive-bitrate ladder of 1-4 renditions made by one\n"
    "                           ffmpeg, top first, e.g. 1920x1080:5500,1280x720:2800,\n"
    "                           960x540:1400 (needs --fps; '' removes it). Its top\n"
    "                           rendition gives the profile's size and rates\n"
    "  --data DIR               data directory (default " CLI_DEFAULT_DATA ")\n";

/* A rule's field as this command line spells it. */
static const char *opt_of(const char *field)
{
    static const struct {
        const char *field, *opt;
    } map[] = {
        {"name", "NAME"},
        {"video_codec", "--video-codec"},
        {"hw_backend", "--hw"},
        {"rate_control", "--rate-control"},
        {"bitrate_kbps", "--bitrate"},
        {"maxrate_kbps", "--maxrate"},
        {"bufsize_kbps", "--bufsize"},
        {"gop_seconds", "--gop"},
        {"width", "--width"},
        {"height", "--height"},
        {"fps", "--fps"},
        {"deinterlace", "--deinterlace"},
        {"audio_codec", "--audio-codec"},
        {"audio_bitrate_kbps", "--audio-bitrate"},
        {"audio_channels", "--audio-channels"},
        {"logo", "--logo"},
        {"logo_position", "--logo-position"},
        {"extra_args", "--extra-args"},
        {"renditions", "--ladder"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].field, field) == 0)
            return map[i].opt;
    return field;
}

struct profile_opts {
    const char *data, *pos[1], *name, *vcodec, *hw, *rc, *acodec, *logo, *pos_s, *extra, *ladder;
    long long bitrate, maxrate, bufsize, gop, width, height, fps, abitrate, achannels;
    int deinterlace;
    bool json;
};

static int parse(const char *cmd, int argc, char **argv, bool edit, struct profile_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->data = CLI_DEFAULT_DATA;
    o->bitrate = o->maxrate = o->bufsize = o->gop = o->width = o->height = o->fps = o->abitrate =
        o->achannels = LLONG_MIN;
    o->deinterlace = -1;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&o->data),
        CLI_OPT_JSON(&o->json),
        CLI_OPT("--name", CLI_STR, &o->name, .disabled = !edit),
        CLI_OPT("--video-codec", CLI_STR, &o->vcodec, .disabled = !edit),
        CLI_OPT("--hw", CLI_STR, &o->hw, .disabled = !edit),
        CLI_OPT("--rate-control", CLI_STR, &o->rc, .disabled = !edit),
        CLI_OPT("--bitrate", CLI_INT, &o->bitrate, .min = 0, .max = INT_MAX, .disabled = !edit),
        CLI_OPT("--maxrate", CLI_INT, &o->maxrate, .min = 0, .max = INT_MAX, .disabled = !edit),
        CLI_OPT("--bufsize", CLI_INT, &o->bufsize, .min = 0, .max = INT_MAX, .disabled = !edit),
        CLI_OPT("--gop", CLI_INT, &o->gop, .min = 0, .max = INT_MAX, .disabled = !edit),
        CLI_OPT("--width", CLI_INT, &o->width, .min = 0, .max = INT_MAX, .disabled = !edit),
        CLI_OPT("--height", CLI_INT, &o->height, .min = 0, .max = INT_MAX, .disabled = !edit),
        CLI_OPT("--fps", CLI_INT, &o->fps, .min = 0, .max = INT_MAX, .disabled = !edit),
        CLI_OPT("--deinterlace", CLI_TRI, &o->deinterlace, .val = 1, .disabled = !edit),
        CLI_OPT("--no-deinterlace", CLI_TRI, &o->deinterlace, .val = 0, .disabled = !edit),
        CLI_OPT("--audio-codec", CLI_STR, &o->acodec, .disabled = !edit),
        CLI_OPT("--audio-bitrate", CLI_INT, &o->abitrate, .min = 0, .max = INT_MAX,
                .disabled = !edit),
        CLI_OPT("--audio-channels", CLI_INT, &o->achannels, .min = 0, .max = INT_MAX,
                .disabled = !edit),
        CLI_OPT("--logo", CLI_STR, &o->logo, .disabled = !edit),
        CLI_OPT("--logo-position", CLI_STR, &o->pos_s, .disabled = !edit),
        CLI_OPT("--extra-args", CLI_STR, &o->extra, .disabled = !edit),
        CLI_OPT("--ladder", CLI_STR, &o->ladder, .disabled = !edit),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = o->pos, .min = 1, .max = 1, .name = "NAME"};
    return cli_parse(cmd, usage_profile, argc, argv, opts, &pos);
}

static int copy_text(const char *cmd, const char *opt, const char *v, char *dst, size_t len)
{
    if (strlen(v) >= len) {
        fprintf(stderr, "%s: %s: longer than %zu bytes\n", cmd, opt, len - 1);
        return -EINVAL;
    }
    snprintf(dst, len, "%s", v);
    return 0;
}

/* The options given, applied on p; then the rules. */
static int apply(const char *cmd, const struct profile_opts *o, const char *name,
                 struct tx_profile *p)
{
    if (name && copy_text(cmd, "NAME", name, p->name, sizeof(p->name)))
        return -EINVAL;
    if (o->vcodec &&
        copy_text(cmd, "--video-codec", o->vcodec, p->video_codec, sizeof(p->video_codec)))
        return -EINVAL;
    if (o->acodec &&
        copy_text(cmd, "--audio-codec", o->acodec, p->audio_codec, sizeof(p->audio_codec)))
        return -EINVAL;
    if (o->logo && copy_text(cmd, "--logo", o->logo, p->logo, sizeof(p->logo)))
        return -EINVAL;
    if (o->extra && copy_text(cmd, "--extra-args", o->extra, p->extra_args, sizeof(p->extra_args)))
        return -EINVAL;
    if (o->hw && tx_hw_parse(o->hw, &p->hw)) {
        fprintf(stderr, "%s: --hw: one of none, vaapi, nvenc, qsv\n", cmd);
        return -EINVAL;
    }
    if (o->rc && tx_rc_parse(o->rc, &p->rc)) {
        fprintf(stderr, "%s: --rate-control: one of cbr, vbr\n", cmd);
        return -EINVAL;
    }
    if (o->pos_s && tx_pos_parse(o->pos_s, &p->logo_position)) {
        fprintf(stderr, "%s: --logo-position: one of tl, tr, bl, br\n", cmd);
        return -EINVAL;
    }
#define INT_OPT(v, field)                                                                          \
    if ((v) != LLONG_MIN)                                                                          \
        (field) = (int)(v);
    INT_OPT(o->bitrate, p->bitrate_kbps);
    INT_OPT(o->maxrate, p->maxrate_kbps);
    INT_OPT(o->bufsize, p->bufsize_kbps);
    INT_OPT(o->gop, p->gop_seconds);
    INT_OPT(o->width, p->width);
    INT_OPT(o->height, p->height);
    INT_OPT(o->fps, p->fps);
    INT_OPT(o->abitrate, p->audio_bitrate_kbps);
    INT_OPT(o->achannels, p->audio_channels);
#undef INT_OPT
    if (o->deinterlace >= 0)
        p->deinterlace = o->deinterlace != 0;
    struct tx_error e;
    if (o->ladder && tx_renditions_parse(o->ladder, p, &e)) {
        fprintf(stderr, "%s: --ladder: %s\n", cmd, e.msg);
        return -EINVAL;
    }
    tx_ladder_sync_top(p);
    /* copy video: a bitrate is of no use (and would be refused) */
    if (strcmp(p->video_codec, "copy") == 0 && o->vcodec && o->bitrate == LLONG_MIN)
        p->bitrate_kbps = 0;
    if (tx_profile_validate(p, &e)) {
        fprintf(stderr, "%s: %s: %s\n", cmd,
                strncmp(e.field, "renditions", 10) == 0 ? "--ladder" : opt_of(e.field), e.msg);
        return -EINVAL;
    }
    return 0;
}

static json_t *to_json(const struct tx_profile *p, int64_t streams)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(p->id));
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "video_codec", json_string(p->video_codec));
    json_object_set_new(o, "hw_backend", json_string(tx_hw_name(p->hw)));
    json_object_set_new(o, "rate_control", json_string(tx_rc_name(p->rc)));
    json_object_set_new(o, "bitrate_kbps", json_integer(p->bitrate_kbps));
    json_object_set_new(o, "maxrate_kbps", json_integer(p->maxrate_kbps));
    json_object_set_new(o, "bufsize_kbps", json_integer(p->bufsize_kbps));
    json_object_set_new(o, "gop_seconds", json_integer(p->gop_seconds));
    json_object_set_new(o, "width", json_integer(p->width));
    json_object_set_new(o, "height", json_integer(p->height));
    json_object_set_new(o, "fps", json_integer(p->fps));
    json_object_set_new(o, "deinterlace", json_boolean(p->deinterlace));
    json_object_set_new(o, "audio_codec", json_string(p->audio_codec));
    json_object_set_new(o, "audio_bitrate_kbps", json_integer(p->audio_bitrate_kbps));
    json_object_set_new(o, "audio_channels", json_integer(p->audio_channels));
    json_object_set_new(o, "logo", json_string(p->logo));
    json_object_set_new(o, "logo_position", json_string(tx_pos_name(p->logo_position)));
    json_object_set_new(o, "extra_args", json_string(p->extra_args));
    json_t *rend = json_array();
    for (int i = 0; i < p->nrenditions && i < LADDER_MAX; i++) {
        json_t *r = json_object();
        json_object_set_new(r, "width", json_integer(p->renditions[i].width));
        json_object_set_new(r, "height", json_integer(p->renditions[i].height));
        json_object_set_new(r, "bitrate_kbps", json_integer(p->renditions[i].bitrate_kbps));
        json_object_set_new(r, "maxrate_kbps", json_integer(p->renditions[i].maxrate_kbps));
        json_array_append_new(rend, r);
    }
    json_object_set_new(o, "renditions", rend);
    if (streams >= 0)
        json_object_set_new(o, "streams", json_integer(streams));
    /* what ffmpeg gets, on a machine that has the profile's backend */
    struct tx_argv a;
    struct tx_ladder l;
    tx_ladder_from_profile(p, &l);
    json_t *args = json_array();
    if ((p->nrenditions ? tx_ladder_render(&l, 1u << p->hw, &a) : tx_render(p, 1u << p->hw, &a)) ==
        0) {
        for (int i = 0; i < a.npre; i++)
            json_array_append_new(args, json_string(a.pre[i]));
        json_array_append_new(args, json_string("-i"));
        json_array_append_new(args, json_string("SOURCE"));
        for (int i = 0; i < a.npost; i++)
            json_array_append_new(args, json_string(a.post[i]));
    }
    json_object_set_new(o, "ffmpeg_args", args);
    return o;
}

static void print_line(const struct tx_profile *p)
{
    char size[32];
    if (strcmp(p->video_codec, "copy") == 0)
        snprintf(size, sizeof(size), "-");
    else if (p->nrenditions)
        snprintf(size, sizeof(size), "ladder:%d", p->nrenditions);
    else if (p->width || p->height)
        snprintf(size, sizeof(size), "%dx%d", p->width, p->height);
    else
        snprintf(size, sizeof(size), "source");
    printf("%-20s %-8s %-5s %-4s %6dk %-10s %s\n", p->name, p->video_codec, tx_hw_name(p->hw),
           tx_rc_name(p->rc), p->bitrate_kbps, size, p->audio_codec);
}

static int find(const char *cmd, struct db *db, const char *name, struct tx_profile *p)
{
    int64_t id;
    int rc = db_profile_find(db, name, &id);
    if (rc == 0)
        rc = db_profile_get_id(db, id, p);
    if (rc)
        return cli_db_fail(cmd, rc, "no profile '%s'", name);
    return 0;
}

static int profile_add(int argc, char **argv, bool set)
{
    const char *cmd = set ? "xtreamd profile set" : "xtreamd profile add";
    struct profile_opts o;
    int r = parse(cmd, argc, argv, true, &o);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, o.data, &db))
        return CLI_FAIL;
    struct tx_profile p;
    if (set) {
        if (find(cmd, db, o.pos[0], &p)) {
            db_close(db);
            return CLI_FAIL;
        }
    } else {
        tx_profile_init(&p);
    }
    if (apply(cmd, &o, set ? o.name : o.pos[0], &p)) {
        db_close(db);
        return CLI_USAGE;
    }
    int rc = set ? db_profile_update(db, &p) : db_profile_insert(db, &p);
    db_close(db);
    if (rc == -EEXIST) {
        fprintf(stderr, "%s: a profile named '%s' exists\n", cmd, p.name);
        return CLI_FAIL;
    }
    if (rc)
        return cli_db_fail(cmd, rc, "no profile '%s'", o.pos[0]);
    if (!set)
        printf("%lld\n", (long long)p.id);
    return CLI_OK;
}

static int profile_list(int argc, char **argv, bool show)
{
    const char *cmd = show ? "xtreamd profile show" : "xtreamd profile list";
    struct profile_opts o;
    memset(&o, 0, sizeof(o));
    o.data = CLI_DEFAULT_DATA;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&o.data), CLI_OPT_JSON(&o.json), CLI_OPT_END};
    struct cli_pos pos = {.v = o.pos, .min = show, .max = show, .name = "NAME"};
    int r = cli_parse(cmd, usage_profile, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, o.data, &db))
        return CLI_FAIL;
    struct tx_profile one, *all = NULL;
    size_t n = 0;
    int64_t streams = -1;
    int rc;
    if (show) {
        rc = find(cmd, db, o.pos[0], &one);
        if (rc) {
            db_close(db);
            return CLI_FAIL;
        }
        rc = db_profile_stream_count(db, one.id, &streams);
        all = &one;
        n = 1;
    } else {
        rc = db_profile_list(db, &all, &n);
    }
    db_close(db);
    if (rc)
        return cli_db_fail(cmd, rc, NULL);
    if (o.json && show) {
        cli_print_json(to_json(&one, streams));
    } else if (o.json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, to_json(&all[i], -1));
        cli_print_json(a);
    } else if (show) {
        json_t *j = to_json(&one, streams);
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            printf("%-20s %s\n", k, t ? t : "?");
            free(t);
        }
        json_decref(j);
    } else {
        for (size_t i = 0; i < n; i++)
            print_line(&all[i]);
    }
    if (!show)
        free(all);
    return CLI_OK;
}

static int profile_del(int argc, char **argv)
{
    const char *cmd = "xtreamd profile del";
    struct profile_opts o;
    memset(&o, 0, sizeof(o));
    o.data = CLI_DEFAULT_DATA;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&o.data), CLI_OPT_END};
    struct cli_pos pos = {.v = o.pos, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_profile, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    struct db *db;
    if (cli_open_db(cmd, o.data, &db))
        return CLI_FAIL;
    int64_t id;
    int rc = db_profile_find(db, o.pos[0], &id);
    if (rc == 0)
        rc = db_profile_delete_id(db, id);
    db_close(db);
    if (rc)
        return cli_db_fail(cmd, rc, "no profile '%s'", o.pos[0]);
    return CLI_OK;
}

static int run_add(int argc, char **argv)
{
    return profile_add(argc, argv, false);
}
static int run_set(int argc, char **argv)
{
    return profile_add(argc, argv, true);
}
static int run_list(int argc, char **argv)
{
    return profile_list(argc, argv, false);
}
static int run_show(int argc, char **argv)
{
    return profile_list(argc, argv, true);
}

int cli_profile(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"add", run_add},   {"set", run_set},     {"list", run_list},
        {"show", run_show}, {"del", profile_del}, {NULL, NULL},
    };
    return cli_dispatch("xtreamd profile", usage_profile, cmds, argc, argv);
}
