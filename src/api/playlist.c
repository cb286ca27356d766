/*
 * playlist: get.php (and /playlist/U/P[/TYPE]) — the line's M3U playlist in
 * the `m3u` and `m3u_plus` forms of shared/docs/xtream-api.md §5, CRLF line
 * ends, live items first, then movies, then episodes. The rendered playlist
 * carries the line's credentials, so it is cached per line (and URL base,
 * type, output) in the snapshot, with its gzip variant (api/compress.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_priv.h"

struct m3u_opts {
    bool plus;
    const char *output; /* "ts" or "m3u8" */
    bool live, movie, series;
};

/* Attribute values are inserted between double quotes: drop '"', CR, LF and,
 * where asked, commas (players split the title at the last comma). */
static void put_attr(struct buf *b, const char *s, bool drop_commas)
{
    const char *run = s;
    for (; *s; s++) {
        if (*s == '"' || *s == '\r' || *s == '\n' || (drop_commas && *s == ',')) {
            buf_append(b, run, (size_t)(s - run));
            run = s + 1;
        }
    }
    buf_append(b, run, (size_t)(s - run));
}

static void put_title(struct buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n') {
            buf_append(b, run, (size_t)(s - run));
            buf_putc(b, ' ');
            run = s + 1;
        }
    }
    buf_append(b, run, (size_t)(s - run));
}

static void put_entry(struct buf *b, const struct m3u_opts *o, const char *tvg_id, const char *name,
                      const char *logo, const char *group)
{
    buf_puts(b, "#EXTINF:-1");
    if (o->plus) {
        if (tvg_id) { /* live only: movies and episodes have no guide id */
            buf_puts(b, " tvg-id=\"");
            put_attr(b, tvg_id, false);
            buf_putc(b, '"');
        }
        buf_puts(b, " tvg-name=\"");
        put_attr(b, name, true);
        buf_puts(b, "\" tvg-logo=\"");
        put_attr(b, logo, false);
        buf_puts(b, "\" group-title=\"");
        put_attr(b, group ? group : "", false);
        buf_putc(b, '"');
    }
    buf_putc(b, ',');
    put_title(b, name);
    buf_puts(b, "\r\n");
}

static void put_url(struct api_req *r, struct buf *b, const char *kind, int64_t id, const char *ext)
{
    buf_printf(b, "%s/%s/%s/%s/%lld.%s\r\n", r->base, kind, r->line->username, r->line->password,
               (long long)id, ext);
}

static void render(struct api_req *r, struct buf *b, const struct m3u_opts *o)
{
    const struct catalog *c = r->cat;
    struct cat_view *v = catalog_view(r->cat, r->line);
    if (!v) {
        b->err = -ENOMEM;
        return;
    }
    /* m3u_plus announces its guide on the header line (shared/docs/xtream-api.md
     * §5.3: Kodi and TiviMate read url-tvg / x-tvg-url only there; mpv and VLC
     * accept it given the M3U media type). The plain m3u form has no guide ids
     * to join on, so its header is "#EXTM3U" alone, as XC2 sends it, which is
     * also the one header ffmpeg's playlist reader accepts. */
    if (o->plus)
        buf_printf(b,
                   "#EXTM3U url-tvg=\"%s/xmltv.php?username=%s&password=%s\" "
                   "x-tvg-url=\"%s/xmltv.php?username=%s&password=%s\"\r\n",
                   r->base, r->line->username, r->line->password, r->base, r->line->username,
                   r->line->password);
    else
        buf_puts(b, "#EXTM3U\r\n");
    char name[1200], art[640];
    for (size_t i = 0; o->live && i < c->stream_count; i++) {
        const struct cat_stream *s = &c->streams[i];
        if (!cat_view_has_stream(v, c, i))
            continue;
        const struct cat_category *cat = catalog_category(c, CAT_LIVE, s->category_id);
        put_entry(b, o, s->epg_channel_id ? s->epg_channel_id : "", s->name, s->logo,
                  cat ? cat->name : NULL);
        put_url(r, b, "live", s->id, o->output);
    }
    for (size_t i = 0; o->movie && i < c->movie_count; i++) {
        const struct cat_movie *m = &c->movies[i];
        if (!cat_view_has_movie(v, c, i))
            continue;
        const struct cat_category *cat = catalog_category(c, CAT_MOVIE, m->category_id);
        if (m->year > 0)
            snprintf(name, sizeof(name), "%s (%d)", m->title, m->year);
        else
            snprintf(name, sizeof(name), "%s", m->title);
        put_entry(
            b, o, NULL, name,
            api_art_url(r, m->poster, m->poster_file, "movie", m->id, "poster", art, sizeof(art)),
            cat ? cat->name : NULL);
        put_url(r, b, "movie", m->id, m->container);
    }
    for (size_t i = 0; o->series && i < c->series_count; i++) {
        const struct cat_series *s = &c->series[i];
        if (!cat_view_has_series(v, c, i))
            continue;
        const struct cat_category *cat = catalog_category(c, CAT_SERIES, s->category_id);
        for (size_t e = 0; e < s->episode_count; e++) {
            const struct cat_episode *ep = &s->episodes[e];
            snprintf(name, sizeof(name), "%s S%02dE%02d", s->title, ep->season, ep->episode_num);
            const char *logo = api_art_url(r, ep->image, ep->image_file, "episode", ep->id,
                                           "poster", art, sizeof(art));
            if (!*logo)
                logo = api_art_url(r, s->cover, s->cover_file, "series", s->id, "poster", art,
                                   sizeof(art));
            put_entry(b, o, NULL, name, logo, cat ? cat->name : NULL);
            put_url(r, b, "series", ep->id, ep->container);
        }
    }
}

/* key=live,movie,series (XUI): which kinds to include; default all. */
static int parse_kinds(const char *key, struct m3u_opts *o)
{
    o->live = o->movie = o->series = !key || !*key;
    if (!key || !*key)
        return 0;
    for (const char *p = key; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 4 && strncmp(p, "live", 4) == 0)
            o->live = true;
        else if (n == 5 && strncmp(p, "movie", 5) == 0)
            o->movie = true;
        else if (n == 6 && strncmp(p, "series", 6) == 0)
            o->series = true;
        else if (!(n == 13 && strncmp(p, "radio_streams", 13) == 0))
            return -1;
        p += n + (p[n] == ',');
    }
    return 0;
}

static const char *parse_output(struct api_req *r, const char *out)
{
    if (!out || !*out)
        return r->line->outputs & CAT_OUT_TS ? "ts" : "m3u8";
    if (strcmp(out, "ts") == 0 || strcmp(out, "mpegts") == 0)
        return "ts";
    if (strcmp(out, "m3u8") == 0 || strcmp(out, "hls") == 0)
        return "m3u8";
    return NULL;
}

void api_playlist(struct api_req *r, const char *type)
{
    if (!api_authorize_text(r))
        return;
    struct m3u_opts o = {0};
    if (!type || !*type || strcmp(type, "m3u_plus") == 0)
        o.plus = true;
    else if (strcmp(type, "m3u") != 0) {
        api_text_error(r, 400, "unsupported type: use type=m3u or type=m3u_plus\n");
        return;
    }
    const char *output_param = http_request_param(r->req, "output");
    o.output = parse_output(r, output_param);
    if (!o.output) {
        api_text_error(r, 400, "unsupported output: use output=ts, mpegts, m3u8 or hls\n");
        return;
    }
    if (!(r->line->outputs & (strcmp(o.output, "ts") == 0 ? CAT_OUT_TS : CAT_OUT_M3U8))) {
        api_text_error(r, 405, "output not allowed for this line\n");
        return;
    }
    const char *kinds = http_request_param(r->req, "key");
    if (parse_kinds(kinds, &o)) {
        api_text_error(r, 400, "unsupported key: use a list of live, movie, series\n");
        return;
    }
    char key[700];
    snprintf(key, sizeof(key), "m3u|%lld|%d|%s|%d%d%d|%s", (long long)r->line->id, o.plus, o.output,
             o.live, o.movie, o.series, r->api->public_url ? "" : r->base);
    struct refbuf *rb = catalog_cache_get(r->cat, key);
    if (!rb) {
        struct buf b = BUF_INIT(0);
        render(r, &b, &o);
        if (b.err) {
            buf_free(&b);
            api_text_error(r, 500, "playlist too large\n");
            return;
        }
        rb = refbuf_new(b.data, b.len);
        buf_free(&b);
        if (!rb) {
            api_text_error(r, 500, "out of memory\n");
            return;
        }
        catalog_cache_put(r->cat, key, rb);
    }
    char disposition[160];
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"tv_channels_%s%s.m3u\"",
             r->line->username, o.plus ? "_plus" : "");
    http_response_status(r->res, 200);
    /* An M3U type (not octet-stream): mpv and VLC pick their playlist reader
     * by it; the attachment name ends in .m3u for browsers and downloaders. */
    http_response_header(r->res, "Content-Type", "audio/x-mpegurl");
    http_response_header(r->res, "Content-Disposition", disposition);
    http_response_header(r->res, "Content-Description", "File Transfer");
    http_response_header(r->res, "Expires", "0");
    http_response_header(r->res, "Cache-Control", "must-revalidate");
    http_response_header(r->res, "Pragma", "public");
    struct api_cache_slot slot = {.cat = r->cat, .skey = key, .what = "get.php"};
    api_respond_cached(r, rb, &slot);
    refbuf_unref(rb);
}
