/*
 * vod/probe: see probe.h. The child's stdout is read through a pipe with
 * poll() until EOF, the output bound or the deadline (then the child is
 * killed); stderr's first line becomes the error reason.
 */
#include "vod/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *const video_keys[] = {
    "index",
    "codec_name",
    "codec_long_name",
    "profile",
    "codec_type",
    "codec_tag_string",
    "width",
    "height",
    "coded_width",
    "coded_height",
    "has_b_frames",
    "sample_aspect_ratio",
    "pix_fmt",
    "display_aspect_ratio",
    "level",
    "color_range",
    "color_space",
    "field_order",
    "r_frame_rate",
    "avg_frame_rate",
    "time_base",
    "bit_rate",
    "bits_per_raw_sample",
    "nb_frames",
    "duration",
    "tags",
};
static const char *const audio_keys[] = {
    "index",          "codec_name",      "codec_long_name", "profile",
    "codec_type",     "sample_fmt",      "sample_rate",     "channels",
    "channel_layout", "bits_per_sample", "r_frame_rate",    "avg_frame_rate",
    "time_base",      "bit_rate",        "duration",        "tags",
};

static char *summary(json_t *stream, const char *const *keys, size_t nkeys)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (size_t i = 0; i < nkeys; i++) {
        json_t *v = json_object_get(stream, keys[i]);
        if (!v)
            continue;
        if (strcmp(keys[i], "tags") == 0) { /* only the language tag */
            json_t *lang = json_is_object(v) ? json_object_get(v, "language") : NULL;
            if (json_is_string(lang)) {
                json_t *t = json_pack("{s:O}", "language", lang);
                if (t)
                    json_object_set_new(o, "tags", t);
            }
            continue;
        }
        if (json_is_string(v) || json_is_number(v))
            json_object_set(o, keys[i], v);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static double num_or_string(json_t *v)
{
    if (json_is_number(v))
        return json_number_value(v);
    if (json_is_string(v)) {
        char *end;
        double d = strtod(json_string_value(v), &end);
        return end == json_string_value(v) ? 0 : d;
    }
    return 0;
}

static void add_language(struct vod_probe *p, const char *lang)
{
    if (!lang || !*lang || strlen(lang) > 16 || strcmp(lang, "und") == 0)
        return;
    const char *s = p->languages;
    size_t n = strlen(lang);
    while (*s) { /* already listed? */
        size_t k = strcspn(s, ",");
        if (k == n && strncmp(s, lang, n) == 0)
            return;
        s += k + (s[k] == ',');
    }
    size_t used = strlen(p->languages);
    if (used + n + 2 < sizeof(p->languages))
        snprintf(p->languages + used, sizeof(p->languages) - used, "%s%s", used ? "," : "", lang);
}

int vod_probe_parse(const char *json, size_t len, struct vod_probe *out)
{
    memset(out, 0, sizeof(*out));
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return -EINVAL;
    }
    json_t *fmt = json_object_get(root, "format");
    json_t *streams = json_object_get(root, "streams");
    if (!json_is_object(fmt) || !json_is_array(streams)) {
        json_decref(root);
        return -EINVAL;
    }
    double d = num_or_string(json_object_get(fmt, "duration"));
    out->duration = d > 0 && d < 1e9 ? d : 0;
    double br = num_or_string(json_object_get(fmt, "bit_rate"));
    out->bitrate_kbps = br > 0 && br < 1e12 ? (int64_t)(br / 1000) : 0;
    json_t *fname = json_object_get(fmt, "format_name");
    if (json_is_string(fname))
        snprintf(out->container, sizeof(out->container), "%s", json_string_value(fname));
    size_t i;
    json_t *s;
    json_array_foreach(streams, i, s)
    {
        const char *type = json_string_value(json_object_get(s, "codec_type"));
        if (!type)
            continue;
        json_t *disp = json_object_get(s, "disposition");
        bool pic = json_integer_value(json_object_get(disp, "attached_pic")) == 1;
        if (strcmp(type, "video") == 0 && !out->video_json && !pic)
            out->video_json = summary(s, video_keys, sizeof(video_keys) / sizeof(video_keys[0]));
        else if (strcmp(type, "audio") == 0) {
            if (!out->audio_json)
                out->audio_json =
                    summary(s, audio_keys, sizeof(audio_keys) / sizeof(audio_keys[0]));
            add_language(
                out, json_string_value(json_object_get(json_object_get(s, "tags"), "language")));
        }
    }
    json_decref(root);
    if (!out->video_json)
        out->video_json = strdup("");
    if (!out->audio_json)
        out->audio_json = strdup("");
    if (!out->video_json || !out->audio_json) {
        vod_probe_clear(out);
        return -ENOMEM;
    }
    if (!out->video_json[0] && !out->audio_json[0]) {
        vod_probe_clear(out);
        return -EINVAL; /* no audio or video: not a media file */
    }
    return 0;
}

void vod_probe_clear(struct vod_probe *p)
{
    free(p->video_json);
    free(p->audio_json);
    p->video_json = p->audio_json = NULL;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vod_probe_file(const char *path, struct vod_probe *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    snprintf(err, errlen, "ffprobe failed");
    const char *prog = getenv("XTREAMD_FFPROBE");
    if (!prog || !*prog)
        prog = "ffprobe";
    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
        int e = errno;
        for (int k = 0; k < 2; k++) {
            if (outp[k] >= 0)
                close(outp[k]);
            if (errp[k] >= 0)
                close(errp[k]);
        }
        return -e;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    /* "file:" pins the protocol, so a name can never be read as an option or URL. */
    char target[4200];
    snprintf(target, sizeof(target), "file:%s", path);
    char *argv[] = {(char *)prog,    "-v",   "error", "-print_format", "json", "-show_format",
                    "-show_streams", target, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(outp[1]);
    close(errp[1]);
    if (rc != 0) {
        close(outp[0]);
        close(errp[0]);
        snprintf(err, errlen, "cannot run %s: %s", prog, strerror(rc));
        return -rc;
    }
    size_t cap = 65536, n = 0, en = 0;
    char *buf = malloc(cap + 1), ebuf[512];
    int64_t deadline = mono_ms() + VOD_PROBE_TIMEOUT_MS;
    bool out_open = true, err_open = true, too_big = false, timed_out = false;
    while (buf && (out_open || err_open)) {
        struct pollfd pf[2] = {{outp[0], out_open ? POLLIN : 0, 0},
                               {errp[0], err_open ? POLLIN : 0, 0}};
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        if (poll(pf, 2, (int)left) < 0 && errno != EINTR)
            break;
        if (pf[0].revents) {
            if (n == cap) {
                if (cap >= VOD_PROBE_MAX_OUTPUT) {
                    too_big = true;
                    break;
                }
                char *g = realloc(buf, cap * 2 + 1);
                if (!g)
                    break;
                buf = g;
                cap *= 2;
            }
            ssize_t r = read(outp[0], buf + n, cap - n);
            if (r <= 0)
                out_open = false;
            else
                n += (size_t)r;
        }
        if (pf[1].revents) {
            char tmp[512];
            ssize_t r = read(errp[0], tmp, sizeof(tmp));
            if (r <= 0) {
                err_open = false;
            } else if (en < sizeof(ebuf) - 1) {
                size_t k = (size_t)r < sizeof(ebuf) - 1 - en ? (size_t)r : sizeof(ebuf) - 1 - en;
                memcpy(ebuf + en, tmp, k);
                en += k;
            }
        }
    }
    ebuf[en] = '\0';
    if (out_open || err_open)
        kill(pid, SIGKILL);
    close(outp[0]);
    close(errp[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!buf)
        return -ENOMEM;
    if (timed_out || too_big || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ebuf[strcspn(ebuf, "\r\n")] = '\0';
        if (timed_out)
            snprintf(err, errlen, "ffprobe timed out");
        else if (too_big)
            snprintf(err, errlen, "ffprobe output too large");
        else if (en)
            snprintf(err, errlen, "ffprobe: %.400s", ebuf);
        else
            snprintf(err, errlen, "ffprobe exited with status %d",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        free(buf);
        return -EIO;
    }
    rc = vod_probe_parse(buf, n, out);
    free(buf);
    if (rc)
        snprintf(err, errlen, rc == -EINVAL ? "no audio or video stream" : "out of memory");
    return rc;
}
