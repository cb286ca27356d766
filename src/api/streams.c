/*
 * streams: the stream URL routes (/live, /movie, /series, /timeshift and their
 * short and query forms). Every request is authenticated and checked against
 * the line's outputs and bouquets with the statuses of xtream-api.md §4.2; the
 * delivery engines (live fan-out, VOD, catch-up) plug in behind these checks.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_priv.h"
#include "api/timeshift.h"
#include "stream/live.h"

/* "ID.EXT": the extension is what follows the last dot, as in XC's rewrites. */
static int64_t split_id(const char *id_ext, const char **ext)
{
    const char *dot = strrchr(id_ext, '.');
    *ext = dot ? dot + 1 : "";
    return api_parse_id(id_ext, dot ? (size_t)(dot - id_ext) : strlen(id_ext));
}

static size_t index_of(const void *base, const void *item, size_t stride)
{
    return (size_t)((const char *)item - (const char *)base) / stride;
}

/* 0 when the line may watch it; otherwise the HTTP status to answer. */
static int check_live(struct api_req *r, int64_t id, const char *ext, struct cat_view *v)
{
    unsigned need = 0;
    if (!*ext || strcmp(ext, "ts") == 0 || strcmp(ext, "ch") == 0)
        need = CAT_OUT_TS;
    else if (strcmp(ext, "m3u8") == 0)
        need = CAT_OUT_M3U8;
    if (!need || !(r->line->outputs & need))
        return 405;
    const struct cat_stream *s = catalog_stream(r->cat, id);
    if (!s)
        return 404;
    if (!cat_view_has_stream(v, r->cat, index_of(r->cat->streams, s, sizeof(*s))))
        return 406;
    return 0;
}

static int check_vod(struct api_req *r, const char *kind, int64_t id, struct cat_view *v)
{
    const struct catalog *c = r->cat;
    if (strcmp(kind, "movie") == 0) {
        const struct cat_movie *m = catalog_movie(c, id);
        if (!m)
            return 404;
        return cat_view_has_movie(v, c, index_of(c->movies, m, sizeof(*m))) ? 0 : 406;
    }
    const struct cat_series *s;
    if (!catalog_episode(c, id, &s))
        return 404;
    return cat_view_has_series(v, c, index_of(c->series, s, sizeof(*s))) ? 0 : 406;
}

void api_stream(struct api_req *r, const char *kind, const char *id_ext)
{
    if (!api_authorize_text(r))
        return;
    const char *ext;
    int64_t id = split_id(id_ext, &ext);
    if (id < 0) {
        api_text_error(r, 404, "no such stream\n");
        return;
    }
    struct cat_view *v = catalog_view(r->cat, r->line);
    if (!v) {
        api_text_error(r, 500, "out of memory\n");
        return;
    }
    bool live = strcmp(kind, "live") == 0;
    int status = live ? check_live(r, id, ext, v) : check_vod(r, kind, id, v);
    static const char *const reasons[] = {
        [404] = "no such stream\n",
        [405] = "this output format is not allowed for the line\n",
        [406] = "stream is not in the line's bouquets\n",
    };
    if (status) {
        api_text_error(r, status, reasons[status]);
        return;
    }
    if (!(live && http_request_param(r->req, "utc")) && api_cluster_stream(r, kind, id, ext))
        return;
    if (!live) {
        api_vod_deliver(r, kind, id);
        return;
    }
    const char *utc = strcmp(kind, "live") == 0 ? http_request_param(r->req, "utc") : NULL;
    if (utc) {
        /* ?utc=START[&lutc=NOW] on a live URL: Kodi's "shift" catch-up (§2.2). */
        struct timeshift_range tr = {.stream_id = id};
        snprintf(tr.ext, sizeof(tr.ext), "%s", strcmp(ext, "m3u8") == 0 ? "m3u8" : "ts");
        const char *field;
        if (timeshift_parse_utc(utc, http_request_param(r->req, "lutc"), &tr, &field) != 0) {
            char msg[96];
            snprintf(msg, sizeof(msg), "bad %s: expected Unix seconds\n", field);
            api_text_error(r, 400, msg);
            return;
        }
        api_catchup(r, &tr);
        return;
    }
    if (r->api->live && strcmp(kind, "live") == 0) {
        const struct cat_stream *s = catalog_stream(r->cat, id);
        if (strcmp(ext, "m3u8") == 0)
            live_serve_m3u8(r->api->live, s, r->line, r->req, r->res);
        else
            live_serve_ts(r->api->live, s, r->line, r->req, r->res);
        return;
    }
    http_response_header(r->res, "Retry-After", "30");
    api_text_error(r, 503, "streaming is not available on this server yet\n");
}

void api_timeshift(struct api_req *r, const char *id_ext, const char *start, const char *minutes)
{
    if (!api_authorize_text(r))
        return;
    struct timeshift_range tr;
    const char *field;
    if (timeshift_parse(id_ext, start, minutes, &tr, &field) != 0) {
        static const struct {
            const char *field, *msg;
        } why[] = {
            {"stream", "bad stream: expected ID.ts or ID.m3u8\n"},
            {"start", "bad start: expected YYYY-MM-DD:HH-MM (UTC, the server's time zone), "
                      "YYYY-MM-DD:HH-MM-SS, YYYYMMDD-HH, ISO 8601 or Unix seconds\n"},
            {"duration", "bad duration: expected whole minutes, 1 to 1440\n"},
        };
        for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++)
            if (strcmp(field, why[i].field) == 0)
                api_text_error(r, 400, why[i].msg);
        return;
    }
    struct cat_view *v = catalog_view(r->cat, r->line);
    if (!v) {
        api_text_error(r, 500, "out of memory\n");
        return;
    }
    int status = check_live(r, tr.stream_id, tr.ext, v);
    static const char *const reasons[] = {
        [404] = "no such stream\n",
        [405] = "this output format is not allowed for the line\n",
        [406] = "stream is not in the line's bouquets\n",
    };
    if (status) {
        api_text_error(r, status, reasons[status]);
        return;
    }
    api_catchup(r, &tr);
}
