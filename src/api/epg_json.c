/*
 * api/epg_json: see epg_json.h. Stream ids: `stream_id=N`, or a comma list
 * (or `&multi`) for the XUI multi form, an object keyed by stream id. A
 * stream the line cannot see, or without a guide, answers an empty listing.
 */
#include "api/epg_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "catalog/guide.h"

void api_base64(struct buf *out, const char *s, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)s;
    if (buf_reserve(out, (n + 2) / 3 * 4 + 1))
        return;
    char *o = out->data + out->len;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = tbl[(v >> 6) & 63];
        *o++ = tbl[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
}

static void key_b64(struct jsonw *w, const char *k, const char *v)
{
    struct buf tmp = BUF_INIT(0);
    api_base64(&tmp, v, strlen(v));
    jsonw_key(w, k);
    jsonw_strn(w, tmp.err ? "" : tmp.data, tmp.err ? 0 : tmp.len);
    buf_free(&tmp);
}

static void key_s(struct jsonw *w, const char *k, const char *v)
{
    jsonw_key(w, k);
    jsonw_str(w, v);
}

static void key_time(struct jsonw *w, const char *k, int64_t t)
{
    char d[20];
    api_format_time(t, d);
    key_s(w, k, d);
}

static void key_int_str(struct jsonw *w, const char *k, int64_t v)
{
    jsonw_key(w, k);
    jsonw_int_str(w, v);
}

/* Two letters or "" (the wire form clients expect). */
static void key_lang(struct jsonw *w, const char *lang)
{
    size_t n = strlen(lang);
    jsonw_key(w, "lang");
    jsonw_strn(w, lang, n >= 2 ? 2 : 0);
}

/* What the archive holds of a stream, Unix seconds: [head, tail); known =
 * false without an archive module (then the days alone decide). */
struct window {
    bool known;
    int64_t head, tail;
};

static void write_row(struct jsonw *w, const struct cat_programme *row, int64_t source_id,
                      const char *channel, enum api_epg_kind kind, const struct cat_stream *s,
                      int64_t now, const struct window *win)
{
    jsonw_obj_begin(w);
    key_int_str(w, "id", row->id);
    key_int_str(w, "epg_id", source_id);
    key_b64(w, "title", row->title);
    key_lang(w, row->lang);
    if (kind == API_EPG_FULL) {
        jsonw_key(w, "start");
        jsonw_int(w, row->start);
        jsonw_key(w, "end");
        jsonw_int(w, row->stop);
    } else {
        key_time(w, "start", row->start);
        if (kind == API_EPG_SHORT)
            key_int_str(w, "end", row->stop);
        else
            key_time(w, "end", row->stop);
    }
    key_b64(w, "description", row->desc);
    key_s(w, "channel_id", channel);
    key_int_str(w, "start_timestamp", row->start);
    key_int_str(w, "stop_timestamp", row->stop);
    if (kind == API_EPG_SHORT)
        key_time(w, "stop", row->stop);
    if (kind == API_EPG_TABLE) {
        jsonw_key(w, "now_playing");
        jsonw_int(w, row->start <= now && now < row->stop);
        /* Ended within the archive's days (xtream-api.md §3.10) and, where
         * the archive tells, some of it is recorded: no catch-up button
         * for programmes from before the recording began. */
        bool archive = s->archive_days > 0 && row->stop <= now &&
                       row->stop >= now - (int64_t)s->archive_days * 86400 &&
                       (!win->known || (row->stop > win->head && row->start < win->tail));
        jsonw_key(w, "has_archive");
        jsonw_int(w, archive);
    }
    jsonw_obj_end(w);
}

static size_t param_limit(struct api_req *r)
{
    const char *v = http_request_param(r->req, "limit");
    if (!v || !*v)
        return 4;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n <= 0)
        return 4;
    return n > EPG_JSON_MAX_ROWS ? EPG_JSON_MAX_ROWS : (size_t)n;
}

/* The listing array of one stream id. */
static void write_listing(struct api_req *r, struct jsonw *w, struct cat_view *v,
                          enum api_epg_kind kind, int64_t id)
{
    jsonw_arr_begin(w);
    const struct cat_stream *s = id >= 0 ? catalog_stream(r->cat, id) : NULL;
    const struct cat_guide_channel *g =
        s ? cat_guide_find(catalog_guide(r->cat), s->epg_channel_id) : NULL;
    if (!s || !g || !cat_view_has_stream(v, r->cat, (size_t)(s - r->cat->streams))) {
        jsonw_arr_end(w);
        return;
    }
    int64_t now = r->now;
    struct window win = {0};
    struct archive_stream_info ai;
    if (kind == API_EPG_TABLE && r->api->archive) {
        win.known = true;
        if (s->archive_days > 0 && archive_stream_info(r->api->archive, s->id, &ai) == 0 &&
            ai.head_ms) {
            win.head = ai.head_ms / 1000;
            win.tail = (ai.tail_ms + 999) / 1000;
        }
    }
    /* The same selection the SQL reader made: start in [from, +inf), stop
     * after min_stop, by start, at most limit rows. */
    size_t i = 0, limit = EPG_JSON_MAX_ROWS;
    int64_t min_stop = INT64_MIN;
    if (kind == API_EPG_SHORT) {
        /* Airing now and later (programmes longer than two days are not). */
        i = cat_guide_first_from(g, now - 2 * 86400);
        min_stop = now;
        limit = param_limit(r);
    } else {
        const char *fn = http_request_param(r->req, "from_now");
        if (kind == API_EPG_FULL && fn && strcmp(fn, "1") == 0)
            min_stop = now;
    }
    for (size_t n = 0; i < g->count && n < limit; i++) {
        if (g->progs[i].stop <= min_stop)
            continue;
        write_row(w, &g->progs[i], g->source_id, s->epg_channel_id, kind, s, now, &win);
        n++;
    }
    jsonw_arr_end(w);
}

void api_epg_write(struct api_req *r, struct jsonw *w, struct cat_view *v, enum api_epg_kind kind)
{
    const char *ids = http_request_param(r->req, "stream_id");
    bool multi = (ids && strchr(ids, ',')) || http_request_param(r->req, "multi");
    if (!multi) {
        int64_t id = ids ? api_parse_id(ids, strlen(ids)) : -1;
        if (kind == API_EPG_FULL) {
            write_listing(r, w, v, kind, id);
            return;
        }
        jsonw_obj_begin(w);
        jsonw_key(w, "epg_listings");
        write_listing(r, w, v, kind, id);
        jsonw_obj_end(w);
        return;
    }
    if (kind != API_EPG_FULL) {
        jsonw_obj_begin(w);
        jsonw_key(w, "epg_listings");
    }
    jsonw_obj_begin(w);
    const char *p = ids ? ids : "";
    for (int n = 0; *p && n < EPG_JSON_MAX_IDS; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int64_t id = api_parse_id(p, len);
        if (id >= 0) {
            char key[24];
            snprintf(key, sizeof(key), "%lld", (long long)id);
            jsonw_key(w, key);
            write_listing(r, w, v, kind, id);
        }
        p += len + (comma ? 1 : 0);
    }
    jsonw_obj_end(w);
    if (kind != API_EPG_FULL)
        jsonw_obj_end(w);
}
