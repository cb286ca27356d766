/*
 * xmltv: xmltv.php, /epg/U/P and /epg/U/P/gz — the line's guide as XMLTV.
 *
 * Only the line's channels (its bouquet view, with a guide id = the
 * epg_channel_id clients join on) that have a programme in the window — a
 * <channel> without one makes tv_validate_file reject the whole guide — and
 * programmes whose start lies in
 * [now - prev_days, now + next_days) (defaults 1 and 7; `days` is an alias of
 * next_days). The body is STREAMED from an http_body_source: each pull
 * renders at most about `budget` bytes from the snapshot's EPG read model
 * (catalog/guide.h: in memory, so the loop thread never reads SQLite), so
 * memory is constant and the loop thread never works for more than one
 * budget's worth at a time. gzip deflates the same stream
 * incrementally: as a download (gzip=1, /gz: application/gzip, epg.xml.gz) or
 * as Content-Encoding: gzip when the request's Accept-Encoding accepts it
 * (Vary: Accept-Encoding on the plain forms).
 *
 * Owns per request: a catalogue reference (the channel list and the guide
 * point into it), the deflate state. Threading: loop thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>
#include <zlib.h>

#include "api/api_priv.h"
#include "catalog/guide.h"
#include "epg/epg.h"
#include "http/encoding.h"
#include "core/hash.h"

#define XMLTV_DEFAULT_PREV 1
#define XMLTV_DEFAULT_NEXT 7
#define XMLTV_MAX_DAYS     31
#define GZ_LEVEL           3
/* Rendering time all guide responses together may spend in one turn of the
 * loop: past it a pull yields ("more, nothing now") until the next turn, so
 * 50 clients fetching the guide at once cannot hold the loop for 50 clients'
 * worth of rendering (each pull renders about 64 KiB). */
#define XMLTV_TURN_BUDGET_NS  (8ULL * 1000000ULL)
#define XMLTV_PROBES_PER_PULL 256

/* Appends s escaped for XML text/attributes, as valid UTF-8 (invalid bytes
 * become U+FFFD, control characters XML 1.0 forbids are dropped). */
static void put_xml_text(struct buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *run = p;
    while (*p) {
        const char *rep = NULL;
        size_t adv = 1;
        unsigned c = *p;
        if (c < 0x80) {
            switch (c) {
            case '&':
                rep = "&amp;";
                break;
            case '<':
                rep = "&lt;";
                break;
            case '>':
                rep = "&gt;";
                break;
            case '"':
                rep = "&quot;";
                break;
            case '\'':
                rep = "&apos;";
                break;
            default:
                if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                    rep = "";
            }
        } else {
            size_t need = (c & 0xe0) == 0xc0   ? 2
                          : (c & 0xf0) == 0xe0 ? 3
                          : (c & 0xf8) == 0xf0 ? 4
                                               : 0;
            bool ok = need > 0 && c != 0xc0 && c != 0xc1 && c < 0xf5;
            for (size_t i = 1; ok && i < need; i++)
                ok = (p[i] & 0xc0) == 0x80;
            if (ok)
                adv = need;
            else
                rep = "\xef\xbf\xbd";
        }
        if (rep) {
            buf_append(b, run, (size_t)(p - run));
            buf_puts(b, rep);
            p += adv;
            run = p;
        } else {
            p += adv;
        }
    }
    buf_append(b, run, (size_t)(p - run));
}

enum phase { P_HEAD, P_CHANNELS, P_PROGRAMMES, P_TAIL, P_DONE };

struct xmltv_src {
    struct catalog *cat;
    char *base;
    const struct cat_stream **chan; /* first stream of each distinct guide id */
    size_t nchan, i;
    enum phase phase;
    bool selected;
    const struct cat_guide_channel *g; /* the selected channel's guide */
    size_t pi;                         /* its next programme */
    int64_t from, to;
    bool gzip, gz_init;
    z_stream zs;
    uv_loop_t *loop; /* for the per-turn budget; NULL: none */
    struct buf xml;  /* gzip: rendered, not yet deflated */
};

static bool valid_lang(const char *l)
{
    size_t n = 0;
    for (; l[n]; n++)
        if (!((l[n] >= 'a' && l[n] <= 'z') || (l[n] >= 'A' && l[n] <= 'Z') || l[n] == '-' ||
              l[n] == '_'))
            return false;
    return n > 0 && n <= 16;
}

/* Whether s keeps visible text once put_xml_text dropped control characters
 * (validators reject a blank title or description). */
static bool has_text(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s > 0x20)
            return true;
    return false;
}

/* Whether guide channel id has a programme with a title to render in the
 * window (the read model: a binary search and a short walk, no I/O). */
static bool has_programme(const struct xmltv_src *x, const char *id)
{
    const struct cat_guide_channel *g = cat_guide_find(catalog_guide(x->cat), id);
    if (!g)
        return false;
    for (size_t i = cat_guide_first_from(g, x->from); i < g->count && g->progs[i].start < x->to;
         i++)
        if (has_text(g->progs[i].title))
            return true;
    return false;
}

static void put_programme(struct buf *b, const char *channel, const struct cat_programme *row)
{
    if (!has_text(row->title))
        return; /* <title> is required and must not be blank */
    char start[21], stop[21];
    epg_format_xmltv_time(row->start, start);
    epg_format_xmltv_time(row->stop, stop);
    buf_puts(b, "  <programme start=\"");
    buf_puts(b, start);
    buf_puts(b, "\" stop=\"");
    buf_puts(b, stop);
    buf_puts(b, "\" channel=\"");
    put_xml_text(b, channel);
    buf_puts(b, "\">\n    <title");
    if (valid_lang(row->lang)) {
        buf_puts(b, " lang=\"");
        buf_puts(b, row->lang);
        buf_putc(b, '"');
    }
    buf_putc(b, '>');
    put_xml_text(b, row->title);
    buf_puts(b, "</title>\n");
    if (has_text(row->sub_title)) {
        buf_puts(b, "    <sub-title>");
        put_xml_text(b, row->sub_title);
        buf_puts(b, "</sub-title>\n");
    }
    if (has_text(row->desc)) {
        buf_puts(b, "    <desc>");
        put_xml_text(b, row->desc);
        buf_puts(b, "</desc>\n");
    }
    if (*row->category) {
        buf_puts(b, "    <category>");
        put_xml_text(b, row->category);
        buf_puts(b, "</category>\n");
    }
    if (*row->icon) {
        buf_puts(b, "    <icon src=\"");
        put_xml_text(b, row->icon);
        buf_puts(b, "\" />\n");
    }
    if (*row->episode_num) {
        buf_puts(b, "    <episode-num system=\"onscreen\">");
        put_xml_text(b, row->episode_num);
        buf_puts(b, "</episode-num>\n");
    }
    if (*row->rating) {
        buf_puts(b, "    <rating>\n      <value>");
        put_xml_text(b, row->rating);
        buf_puts(b, "</value>\n    </rating>\n");
    }
    buf_puts(b, "  </programme>\n");
}

/* Renders into b until it has grown by about budget bytes. 1 more, 0 done. */
static int render(struct xmltv_src *x, struct buf *b, size_t budget)
{
    size_t start = b->len;
    size_t probes = 0; /* channels checked for programmes in this pull */
    while (b->len - start < budget && !b->err) {
        switch (x->phase) {
        case P_HEAD:
            buf_puts(b, "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
                        "<!DOCTYPE tv SYSTEM \"xmltv.dtd\">\n"
                        "<tv generator-info-name=\"xtreamd\" generator-info-url=\"");
            put_xml_text(b, x->base);
            buf_puts(b, "\">\n");
            x->phase = P_CHANNELS;
            break;
        case P_CHANNELS:
            if (x->i == x->nchan) {
                x->i = 0;
                x->phase = P_PROGRAMMES;
                break;
            }
            {
                /* Skipped channels write nothing: bound the lookups per pull. */
                if (++probes > XMLTV_PROBES_PER_PULL)
                    return 1;
                const struct cat_stream *s = x->chan[x->i++];
                if (!has_programme(x, s->epg_channel_id))
                    break;
                buf_puts(b, "  <channel id=\"");
                put_xml_text(b, s->epg_channel_id);
                buf_puts(b, "\">\n    <display-name>");
                put_xml_text(b, s->name);
                buf_puts(b, "</display-name>\n");
                if (*s->logo) {
                    buf_puts(b, "    <icon src=\"");
                    put_xml_text(b, s->logo);
                    buf_puts(b, "\" />\n");
                }
                buf_puts(b, "  </channel>\n");
            }
            break;
        case P_PROGRAMMES: {
            if (x->i == x->nchan) {
                x->phase = P_TAIL;
                break;
            }
            const char *id = x->chan[x->i]->epg_channel_id;
            if (!x->selected) {
                x->g = cat_guide_find(catalog_guide(x->cat), id);
                if (!x->g) {
                    x->i++;
                    break;
                }
                x->pi = cat_guide_first_from(x->g, x->from);
                x->selected = true;
            }
            if (x->pi == x->g->count || x->g->progs[x->pi].start >= x->to) {
                x->selected = false;
                x->i++;
                break;
            }
            put_programme(b, id, &x->g->progs[x->pi++]);
            break;
        }
        case P_TAIL:
            buf_puts(b, "</tv>\n");
            x->phase = P_DONE;
            break;
        case P_DONE:
            return b->err ? b->err : 0;
        }
    }
    if (b->err)
        return b->err;
    return x->phase == P_DONE ? 0 : 1;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The loop turn's rendering account, shared by every guide response (loop
 * thread only). A turn is recognised by the loop's cached time, which libuv
 * updates once per turn; turns within one millisecond share an account. */
static struct {
    uint64_t turn;
    uint64_t spent_ns;
} turn_acct;

static int pull_unmetered(struct xmltv_src *x, struct buf *out, size_t budget);

static int pull(void *ctx, struct buf *out, size_t budget)
{
    struct xmltv_src *x = ctx;
    if (!x->loop)
        return pull_unmetered(x, out, budget);
    uint64_t turn = uv_now(x->loop);
    if (turn != turn_acct.turn) {
        turn_acct.turn = turn;
        turn_acct.spent_ns = 0;
    }
    if (turn_acct.spent_ns >= XMLTV_TURN_BUDGET_NS)
        return 1; /* nothing now: the next writable event (next turn) continues */
    uint64_t t0 = mono_ns();
    int rc = pull_unmetered(x, out, budget);
    turn_acct.spent_ns += mono_ns() - t0;
    return rc;
}

static int pull_unmetered(struct xmltv_src *x, struct buf *out, size_t budget)
{
    if (!x->gzip)
        return render(x, out, budget);
    buf_reset(&x->xml);
    int more = render(x, &x->xml, budget);
    if (more < 0)
        return more;
    x->zs.next_in = (Bytef *)x->xml.data;
    x->zs.avail_in = (uInt)x->xml.len;
    int flush = more ? Z_NO_FLUSH : Z_FINISH;
    for (;;) {
        if (buf_reserve(out, 64 * 1024))
            return -ENOMEM;
        x->zs.next_out = (Bytef *)out->data + out->len;
        x->zs.avail_out = (uInt)(out->cap - out->len - 1);
        size_t before = x->zs.avail_out;
        int zrc = deflate(&x->zs, flush);
        out->len += before - x->zs.avail_out;
        if (zrc == Z_STREAM_ERROR)
            return -EIO;
        if (flush == Z_FINISH ? zrc == Z_STREAM_END : x->zs.avail_in == 0 && x->zs.avail_out != 0)
            break;
    }
    return more;
}

static void src_close(void *ctx)
{
    struct xmltv_src *x = ctx;
    if (x->gz_init)
        deflateEnd(&x->zs);
    buf_free(&x->xml);
    free(x->chan);
    free(x->base);
    catalog_unref(x->cat);
    free(x);
}

static int param_days(struct api_req *r, const char *key, const char *alias, int def)
{
    const char *v = http_request_param(r->req, key);
    if ((!v || !*v) && alias)
        v = http_request_param(r->req, alias);
    if (!v || !*v)
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 0)
        return def;
    return n > XMLTV_MAX_DAYS ? XMLTV_MAX_DAYS : (int)n;
}

/* The view's streams with a guide id, first stream of each distinct id. */
static int collect_channels(struct xmltv_src *x, struct cat_view *v)
{
    const struct catalog *c = x->cat;
    size_t cap = 16;
    while (cap < c->stream_count * 2 + 2)
        cap *= 2;
    const char **seen = calloc(cap, sizeof(*seen));
    x->chan = calloc(c->stream_count ? c->stream_count : 1, sizeof(*x->chan));
    if (!seen || !x->chan) {
        free(seen);
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->stream_count; i++) {
        const struct cat_stream *s = &c->streams[i];
        if (!s->epg_channel_id || !*s->epg_channel_id || !cat_view_has_stream(v, c, i))
            continue;
        size_t j = hash_fnv1a_str(s->epg_channel_id) & (cap - 1);
        bool dup = false;
        while (seen[j]) {
            if (strcmp(seen[j], s->epg_channel_id) == 0) {
                dup = true;
                break;
            }
            j = (j + 1) & (cap - 1);
        }
        if (dup)
            continue;
        seen[j] = s->epg_channel_id;
        x->chan[x->nchan++] = s;
    }
    free(seen);
    return 0;
}

void api_xmltv(struct api_req *r, bool gzip)
{
    if (!api_authorize_text(r))
        return;
    struct cat_view *v = catalog_view(r->cat, r->line);
    struct xmltv_src *x = calloc(1, sizeof(*x));
    if (!v || !x) {
        free(x);
        api_text_error(r, 500, "out of memory\n");
        return;
    }
    x->cat = catalog_ref(r->cat);
    x->loop = r->api->cfg.loop;
    buf_init(&x->xml, 0);
    x->base = strdup(r->base);
    /* gzip=1 and /gz are a .xml.gz download; otherwise the guide is gzipped
     * as a content coding when the client accepts it. */
    bool coding = !gzip && http_request_accepts_gzip(r->req);
    x->gzip = gzip || coding;
    x->from = r->now - (int64_t)param_days(r, "prev_days", NULL, XMLTV_DEFAULT_PREV) * 86400;
    x->to = r->now + (int64_t)param_days(r, "next_days", "days", XMLTV_DEFAULT_NEXT) * 86400;
    if (!x->base || collect_channels(x, v) != 0)
        goto fail;
    if (x->gzip) {
        if (deflateInit2(&x->zs, GZ_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            goto fail;
        x->gz_init = true;
    }
    http_response_status(r->res, 200);
    if (gzip) {
        http_response_header(r->res, "Content-Type", "application/gzip");
        http_response_header(r->res, "Content-Disposition", "attachment; filename=\"epg.xml.gz\"");
    } else {
        http_response_header(r->res, "Content-Type", "application/xml; charset=utf-8");
        http_response_header(r->res, "Vary", "Accept-Encoding");
        if (coding)
            http_response_header(r->res, "Content-Encoding", "gzip");
    }
    struct http_body_source src = {.pull = pull, .close = src_close, .ctx = x};
    http_response_source(r->res, &src, -1);
    return;
fail:
    src_close(x);
    api_text_error(r, 500, "guide could not be rendered\n");
}
