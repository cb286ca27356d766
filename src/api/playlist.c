/*
 * playlist: get.php (and /playlist/U/P[/TYPE]) — the line's M3U playlist in
 * the `m3u` and `m3u_plus` forms of shared/docs/xtream-api.md §5, CRLF line
 * ends, live items first, then movies, then episodes. The rendered playlist
 * carries the line's credentials, so it is cached per line (and URL base,
 * type, output) in the snapshot, with its gzip variant (api/compress.c).
 * The Enigma2 types (issue 13) render the same items as a user bouquet
 * (userbouquet.*.tv, grouped by category) or an install script for one.
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

/* archive_days > 0 (live channels with catch-up): the attributes of
 * xtream-api.md §5.6. timeshift="D" alone makes Kodi append ?utc=&lutc= to the
 * live URL (answered by api/catchup.c); catchup="xc" makes it build the
 * /timeshift/ path form. */
static void put_entry(struct buf *b, const struct m3u_opts *o, const char *tvg_id, const char *name,
                      const char *logo, const char *group, int archive_days)
{
    buf_puts(b, "#EXTINF:-1");
    if (o->plus && archive_days > 0)
        buf_printf(b, " timeshift=\"%d\" catchup=\"xc\" catchup-days=\"%d\"", archive_days,
                   archive_days);
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
    const struct cat_signing *g = &r->cat->signing;
    if (g->enabled) {
        /* A signed URL in place of the credentials (core/urlsign.h). */
        struct urlsign_claims c = {.line_id = r->line->id,
                                   .kind = kind[0],
                                   .stream_id = id,
                                   .expires = r->sign_expires,
                                   .bound = g->bind_ip};
        snprintf(c.username, sizeof(c.username), "%s", r->line->username);
        char tok[URLSIGN_TOKEN_MAX];
        int rc = urlsign_make(&g->keys.k[0], c, r->req->client_ip, tok, sizeof(tok));
        if (rc)
            b->err = rc; /* a 500, never the password URL in its place */
        else
            buf_printf(b, "%s/%s/%s/%lld.%s\r\n", r->base, kind, tok, (long long)id, ext);
        return;
    }
    buf_printf(b, "%s/%s/%s/%s/%lld.%s\r\n", r->base, kind, r->line->username, r->line->password,
               (long long)id, ext);
}

static void render(struct api_req *r, struct buf *b, const struct m3u_opts *o, struct cat_view *v)
{
    const struct catalog *c = r->cat;
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
    for (size_t j = 0; o->live && j < cat_view_count(v, c, CAT_LIVE); j++) {
        const struct cat_stream *s = &c->streams[cat_view_item(v, CAT_LIVE, j)];
        const struct cat_category *cat = catalog_category(c, CAT_LIVE, s->category_id);
        put_entry(b, o, s->epg_channel_id ? s->epg_channel_id : "", s->name, s->logo,
                  cat ? cat->name : NULL, s->archive_days);
        put_url(r, b, "live", s->id, o->output);
    }
    for (size_t j = 0; o->movie && j < cat_view_count(v, c, CAT_MOVIE); j++) {
        const struct cat_movie *m = &c->movies[cat_view_item(v, CAT_MOVIE, j)];
        const struct cat_category *cat = catalog_category(c, CAT_MOVIE, m->category_id);
        if (m->year > 0)
            snprintf(name, sizeof(name), "%s (%d)", m->title, m->year);
        else
            snprintf(name, sizeof(name), "%s", m->title);
        put_entry(
            b, o, NULL, name,
            api_art_url(r, m->poster, m->poster_file, "movie", m->id, "poster", art, sizeof(art)),
            cat ? cat->name : NULL, 0);
        put_url(r, b, "movie", m->id, m->container);
    }
    for (size_t j = 0; o->series && j < cat_view_count(v, c, CAT_SERIES); j++) {
        const struct cat_series *s = &c->series[cat_view_item(v, CAT_SERIES, j)];
        const struct cat_category *cat = catalog_category(c, CAT_SERIES, s->category_id);
        for (size_t e = 0; e < s->episode_count; e++) {
            const struct cat_episode *ep = &s->episodes[e];
            snprintf(name, sizeof(name), "%s S%02dE%02d", s->title, ep->season, ep->episode_num);
            const char *logo = api_art_url(r, ep->image, ep->image_file, "episode", ep->id,
                                           "poster", art, sizeof(art));
            if (!*logo)
                logo = api_art_url(r, s->cover, s->cover_file, "series", s->id, "poster", art,
                                   sizeof(art));
            put_entry(b, o, NULL, name, logo, cat ? cat->name : NULL, 0);
            put_url(r, b, "series", ep->id, ep->container);
        }
    }
}

static void put_query_value(struct buf *b, const char *s);

/* ---- Enigma2 (issue 13 item 8) ----------------------------------------- */

/* The user-bouquet forms: "enigma16" (and its alias "enigma2") use service
 * type 4097, the GStreamer/servicemp3 player of OE 1.6+ images (OpenATV,
 * OpenPLi, VTi...); "dreambox" uses type 1, what Dreambox OE 2.0 images
 * expect for URL services. */
enum e2_form { E2_NONE, E2_BOUQUET_4097, E2_BOUQUET_1, E2_SCRIPT_216, E2_SCRIPT_22 };

static enum e2_form e2_form_of(const char *type)
{
    if (!type)
        return E2_NONE;
    if (strcmp(type, "enigma16") == 0 || strcmp(type, "enigma2") == 0)
        return E2_BOUQUET_4097;
    if (strcmp(type, "dreambox") == 0)
        return E2_BOUQUET_1;
    if (strcmp(type, "enigma216_script") == 0)
        return E2_SCRIPT_216;
    if (strcmp(type, "enigma22_script") == 0)
        return E2_SCRIPT_22;
    return E2_NONE;
}

/* A service reference is colon-separated and Enigma2 URL-decodes its path
 * and name fields: percent-encode ':' and '%' (and anything outside a safe
 * URL set) so the decoded path is the stream URL byte for byte. */
static void e2_escape(struct buf *b, const char *s, bool name)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    strchr("-._~/?&=+,;@!$'()*[]", c) != NULL;
        if (name)
            keep = c >= 0x20 && c != ':' && c != '%' && c != 0x7f;
        if (keep) {
            buf_putc(b, (char)c);
        } else {
            buf_putc(b, '%');
            buf_putc(b, hex[c >> 4]);
            buf_putc(b, hex[c & 15]);
        }
    }
}

/* #DESCRIPTION is the display name, to the end of the line: no CR/LF. */
static void e2_description(struct buf *b, const char *name)
{
    buf_puts(b, "#DESCRIPTION ");
    put_title(b, name);
    buf_putc(b, '\n');
}

static void e2_marker(struct buf *b, unsigned *n, const char *name)
{
    /* 1:64 is a marker (a non-playable group heading) in a user bouquet. */
    buf_printf(b, "#SERVICE 1:64:%u:0:0:0:0:0:0:0::", ++*n);
    e2_escape(b, name, true);
    buf_putc(b, '\n');
    e2_description(b, name);
}

static void e2_service(struct api_req *r, struct buf *b, enum e2_form f, const char *kind,
                       int64_t id, const char *ext, const char *name)
{
    /* The stream id as the service id (hex, as Enigma2 writes it) keeps the
     * references distinct, which its EPG and picon lookups key on. */
    buf_printf(b, "#SERVICE %d:0:1:%llX:0:0:0:0:0:0:", f == E2_BOUQUET_1 ? 1 : 4097,
               (unsigned long long)id);
    struct buf url = BUF_INIT(0);
    put_url(r, &url, kind, id, ext);
    if (url.err) {
        b->err = url.err;
        buf_free(&url);
        return;
    }
    url.len -= 2; /* put_url's CRLF */
    buf_putc(&url, '\0');
    e2_escape(b, url.data, false);
    buf_free(&url);
    buf_putc(b, ':');
    e2_escape(b, name, true);
    buf_putc(b, '\n');
    e2_description(b, name);
}

/* Items grouped by category (a marker, then its items in catalogue order);
 * items whose category is unknown come last under "Uncategorised". */
static void e2_render(struct api_req *r, struct buf *b, const struct m3u_opts *o, enum e2_form f)
{
    const struct catalog *c = r->cat;
    struct cat_view *v = catalog_view(r->cat, r->line);
    if (!v) {
        b->err = -ENOMEM;
        return;
    }
    buf_puts(b, "#NAME ");
    put_title(b, r->line->username);
    buf_puts(b, " (IPTV)\n");
    unsigned markers = 0;
    char name[1200];
    static const enum cat_kind kinds[] = {CAT_LIVE, CAT_MOVIE, CAT_SERIES};
    for (size_t k = 0; k < 3; k++) {
        enum cat_kind kind = kinds[k];
        if ((kind == CAT_LIVE && !o->live) || (kind == CAT_MOVIE && !o->movie) ||
            (kind == CAT_SERIES && !o->series))
            continue;
        /* g == category_count: the uncategorised pass */
        for (size_t g = 0; g <= c->category_count[kind]; g++) {
            const struct cat_category *cat =
                g < c->category_count[kind] ? &c->categories[kind][g] : NULL;
            bool opened = false;
#define E2_OPEN()                                                                                  \
    do {                                                                                           \
        if (!opened) {                                                                             \
            e2_marker(b, &markers, cat ? cat->name : "Uncategorised");                             \
            opened = true;                                                                         \
        }                                                                                          \
    } while (0)
#define E2_IN(cid) (cat ? (cid) == cat->id : !catalog_category(c, kind, (cid)))
            if (kind == CAT_LIVE) {
                for (size_t j = 0; j < cat_view_count(v, c, CAT_LIVE); j++) {
                    const struct cat_stream *s = &c->streams[cat_view_item(v, CAT_LIVE, j)];
                    if (!E2_IN(s->category_id))
                        continue;
                    E2_OPEN();
                    e2_service(r, b, f, "live", s->id, o->output, s->name);
                }
            } else if (kind == CAT_MOVIE) {
                for (size_t j = 0; j < cat_view_count(v, c, CAT_MOVIE); j++) {
                    const struct cat_movie *m = &c->movies[cat_view_item(v, CAT_MOVIE, j)];
                    if (!E2_IN(m->category_id))
                        continue;
                    E2_OPEN();
                    if (m->year > 0)
                        snprintf(name, sizeof(name), "%s (%d)", m->title, m->year);
                    else
                        snprintf(name, sizeof(name), "%s", m->title);
                    e2_service(r, b, f, "movie", m->id, m->container, name);
                }
            } else {
                for (size_t j = 0; j < cat_view_count(v, c, CAT_SERIES); j++) {
                    const struct cat_series *s = &c->series[cat_view_item(v, CAT_SERIES, j)];
                    if (!E2_IN(s->category_id))
                        continue;
                    for (size_t e = 0; e < s->episode_count; e++) {
                        const struct cat_episode *ep = &s->episodes[e];
                        E2_OPEN();
                        snprintf(name, sizeof(name), "%s S%02dE%02d", s->title, ep->season,
                                 ep->episode_num);
                        e2_service(r, b, f, "series", ep->id, ep->container, name);
                    }
                }
            }
#undef E2_IN
#undef E2_OPEN
        }
    }
}

/* Shell single-quoting: ' becomes '\'' */
static void sh_quote(struct buf *b, const char *s)
{
    buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            buf_puts(b, "'\\''");
        else
            buf_putc(b, *s);
    }
    buf_putc(b, '\'');
}

/* The install scripts (run on the box: wget -qO- URL | sh): fetch this
 * line's user bouquet (type=enigma16), install it as
 * /etc/enigma2/userbouquet.xtreamd_<user>.tv, list it once in bouquets.tv,
 * refresh it at each Enigma2 start (so expiring signed URLs are renewed) and
 * ask the web interface to reload the service lists. The two names exist
 * because panels and box plugins link both; the OE 2.2 one also writes the
 * boot hook through the newer /etc/enigma2 path images read. */
static void e2_script(struct api_req *r, struct buf *b, const struct m3u_opts *o, enum e2_form f)
{
    char user[80];
    size_t n = 0;
    for (const char *p = r->line->username; *p && n + 1 < sizeof(user); p++)
        user[n++] =
            ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
                ? *p
                : '_';
    user[n] = '\0';
    buf_printf(b, "#!/bin/sh\n# xtreamd: IPTV user bouquet installer for Enigma2 (%s)\n",
               f == E2_SCRIPT_22 ? "OE 2.2" : "OE 1.6");
    buf_printf(b, "BOUQUET=userbouquet.xtreamd_%s.tv\n", user);
    buf_puts(b, "URL=");
    struct buf url = BUF_INIT(0);
    buf_printf(&url, "%s/get.php?username=", r->base);
    put_query_value(&url, r->line->username);
    buf_puts(&url, "&password=");
    put_query_value(&url, r->line->password);
    buf_printf(&url, "&type=enigma16&output=%s", o->output);
    if (url.err) {
        b->err = url.err;
        buf_free(&url);
        return;
    }
    buf_putc(&url, '\0');
    sh_quote(b, url.data);
    buf_free(&url);
    buf_puts(b, "\nDIR=${E2_DIR:-/etc/enigma2}\n"
                "wget -qO \"$DIR/$BOUQUET.new\" \"$URL\" && mv \"$DIR/$BOUQUET.new\" "
                "\"$DIR/$BOUQUET\" || { rm -f \"$DIR/$BOUQUET.new\"; echo \"download failed\"; "
                "exit 1; }\n"
                "grep -q \"\\\"$BOUQUET\\\"\" \"$DIR/bouquets.tv\" || echo \"#SERVICE "
                "1:7:1:0:0:0:0:0:0:0:FROM BOUQUET \\\"$BOUQUET\\\" ORDER BY bouquet\" >> "
                "\"$DIR/bouquets.tv\"\n");
    buf_printf(b, "HOOK=${E2_HOOK:-%s}\n",
               f == E2_SCRIPT_22 ? "/etc/enigma2/enigma2_pre_start.sh"
                                 : "/usr/bin/enigma2_pre_start.sh");
    buf_puts(b,
             "[ -s \"$HOOK\" ] || echo '#!/bin/sh' > \"$HOOK\"\n"
             "grep -q \"$BOUQUET\" \"$HOOK\" 2>/dev/null || echo \"wget -qO \\\"$DIR/$BOUQUET\\\" "
             "'$URL' &\" >> \"$HOOK\"\nchmod 755 \"$HOOK\" 2>/dev/null\n"
             "wget -qO- 'http://127.0.0.1/web/servicelistreload?mode=2' >/dev/null 2>&1\n"
             "echo \"installed $BOUQUET\"\n");
}

/* A query value, percent-encoded (unreserved characters kept). */
static void put_query_value(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            buf_putc(b, (char)*p);
        } else {
            buf_putc(b, '%');
            buf_putc(b, hex[*p >> 4]);
            buf_putc(b, hex[*p & 15]);
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

/* Status and headers of a playlist answer. */
static void playlist_headers(struct api_req *r, const struct cat_line *line, enum e2_form e2,
                             bool plus)
{
    char disposition[160];
    if (e2 == E2_SCRIPT_216 || e2 == E2_SCRIPT_22)
        snprintf(disposition, sizeof(disposition), "attachment; filename=\"iptv.sh\"");
    else if (e2 != E2_NONE)
        snprintf(disposition, sizeof(disposition),
                 "attachment; filename=\"userbouquet.xtreamd_%s.tv\"", line->username);
    else
        snprintf(disposition, sizeof(disposition), "attachment; filename=\"tv_channels_%s%s.m3u\"",
                 line->username, plus ? "_plus" : "");
    http_response_status(r->res, 200);
    /* An M3U type (not octet-stream): mpv and VLC pick their playlist reader
     * by it; the attachment name ends in .m3u for browsers and downloaders. */
    http_response_header(r->res, "Content-Type",
                         e2 == E2_NONE ? "audio/x-mpegurl" : "text/plain; charset=utf-8");
    http_response_header(r->res, "Content-Disposition", disposition);
    http_response_header(r->res, "Content-Description", "File Transfer");
    http_response_header(r->res, "Expires", "0");
    http_response_header(r->res, "Cache-Control", "must-revalidate");
    http_response_header(r->res, "Pragma", "public");
}

/* Plain M3U playlists render off the loop (api/render.c): what the worker
 * needs, copied into the job (the line and the view live with the snapshot
 * the job holds). */
struct m3u_job {
    struct m3u_opts o;
    struct cat_view *view;
    const struct cat_line *line;
    int64_t sign_expires;
    char client_ip[46];
    char base[512];
};

static void m3u_render(struct catalog *cat, struct cat_view *view, const void *arg, struct buf *out)
{
    const struct m3u_job *mj = arg;
    (void)view;             /* the cache scope (none: snapshot-wide); the line's view is mj->view */
    struct http_request fr; /* put_url reads the client's address (bound signed URLs) */
    memset(&fr, 0, sizeof(fr));
    memcpy(fr.client_ip, mj->client_ip, sizeof(fr.client_ip));
    struct api_req r;
    memset(&r, 0, sizeof(r));
    r.cat = cat;
    r.req = &fr;
    r.line = mj->line;
    r.sign_expires = mj->sign_expires;
    memcpy(r.base, mj->base, sizeof(r.base));
    render(&r, out, &mj->o, mj->view);
}

static void m3u_answer(struct api_req *r, struct refbuf *rb, const struct api_cache_slot *slot,
                       const void *arg)
{
    const struct m3u_job *mj = arg;
    playlist_headers(r, mj->line, E2_NONE, mj->o.plus);
    api_respond_cached(r, rb, slot);
}

void api_playlist(struct api_req *r, const char *type)
{
    if (!api_authorize_text(r))
        return;
    struct m3u_opts o = {0};
    enum e2_form e2 = e2_form_of(type);
    if (!type || !*type || strcmp(type, "m3u_plus") == 0)
        o.plus = true;
    else if (strcmp(type, "m3u") != 0 && e2 == E2_NONE) {
        api_text_error(r, 400,
                       "unsupported type: use type=m3u, m3u_plus, enigma16, dreambox, "
                       "enigma216_script or enigma22_script\n");
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
    /* Signed URLs expire sign_expires: the start of the current eighth of
     * the TTL plus the TTL, so a cached playlist is reused for that eighth
     * and its links always have at least 7/8 of the TTL left. Bound links
     * are cached per client address. */
    const struct cat_signing *g = &r->cat->signing;
    char sign_key[80] = "";
    if (g->enabled) {
        int64_t step = g->ttl / 8 > 0 ? g->ttl / 8 : 1;
        r->sign_expires = r->now - r->now % step + g->ttl;
        snprintf(sign_key, sizeof(sign_key), "s%u|%lld|%s", (unsigned)g->keys.k[0].id,
                 (long long)r->sign_expires, g->bind_ip ? r->req->client_ip : "");
    }
    char key[800];
    snprintf(key, sizeof(key), "m3u|%lld|%d|%d|%s|%d%d%d|%s|%s", (long long)r->line->id, o.plus,
             (int)e2, o.output, o.live, o.movie, o.series, r->api->public_url ? "" : r->base,
             sign_key);
    struct refbuf *rb = catalog_cache_get(r->cat, key);
    if (!rb && e2 == E2_NONE) {
        struct cat_view *v = catalog_view(r->cat, r->line); /* built here, on the loop */
        if (!v) {
            api_text_error(r, 500, "out of memory\n");
            return;
        }
        struct m3u_job mj = {.o = o, .view = v, .line = r->line, .sign_expires = r->sign_expires};
        memcpy(mj.client_ip, r->req->client_ip, sizeof(mj.client_ip));
        memcpy(mj.base, r->base, sizeof(mj.base));
        struct api_render_req q = {.key = key,
                                   .what = "get.php",
                                   .render = m3u_render,
                                   .answer = m3u_answer,
                                   .arg = &mj,
                                   .arg_len = sizeof(mj)};
        if (api_render_defer(r, &q) == 0)
            return; /* answered when the thread pool has rendered it */
    }
    if (!rb) {
        struct buf b = BUF_INIT(0);
        if (e2 == E2_SCRIPT_216 || e2 == E2_SCRIPT_22)
            e2_script(r, &b, &o, e2);
        else if (e2 != E2_NONE)
            e2_render(r, &b, &o, e2);
        else {
            struct cat_view *v = catalog_view(r->cat, r->line);
            if (v)
                render(r, &b, &o, v);
            else
                b.err = -ENOMEM;
        }
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
        (void)refbuf_add_memfd(rb, "xtreamd-list"); /* else sent by copy */
        catalog_cache_put(r->cat, key, rb);
    }
    playlist_headers(r, r->line, e2, o.plus);
    struct api_cache_slot slot = {.cat = r->cat, .skey = key, .what = "get.php"};
    api_respond_cached(r, rb, &slot);
    refbuf_unref(rb);
}
