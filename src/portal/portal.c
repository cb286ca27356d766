/*
 * portal: the Stalker/MAG portal subset (see portal.h). Responses are shaped
 * as shared/docs/wave2-research.md §E.3 describes: {"js": ...} served as
 * text/javascript with no-cache headers; numbers-as-strings where the
 * portals send strings (channel `number`, genre ids).
 */
#include "portal/portal.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "api/timeshift.h"
#include "auth/access.h"
#include "auth/auth.h"
#include "auth/throttle.h"
#include "catalog/guide.h"
#include "core/buf.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "domain/devices.h"
#include "http/http.h"

#define PAGE_ITEMS 14           /* max_page_items of the ordered lists (the MAG theme's page) */
#define TAG_LEN    AUTH_TAG_LEN /* bytes of HMAC-SHA256 kept in a token */
#define PLAY_LEN   23           /* kind(1) mac(6) id(8) expiry(8) */

/* The tokens' key (auth_portal_tag) is drawn once per process, so a restart
 * makes every box handshake again (a box does on "Authorization failed."). */
static void tag_of(const void *msg, size_t len, unsigned char out[TAG_LEN])
{
    auth_portal_tag(msg, len, out);
}

/* The bearer token of a MAC: hex of HMAC("S" mac). */
static void session_token(const char *mac, char out[2 * TAG_LEN + 1])
{
    char msg[20];
    int n = snprintf(msg, sizeof(msg), "S%s", mac);
    unsigned char tag[TAG_LEN];
    tag_of(msg, (size_t)n, tag);
    sodium_bin2hex(out, 2 * TAG_LEN + 1, tag, TAG_LEN);
}

/* ---- parsing ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool portal_cookie_mac(const char *cookie, char out[18])
{
    if (!cookie)
        return false;
    const char *p = cookie;
    while (*p) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t len = strcspn(p, ";");
        if (len > 4 && strncmp(p, "mac=", 4) == 0) {
            char v[40];
            size_t n = 0;
            for (size_t i = 4; i < len; i++) {
                int c = (unsigned char)p[i];
                if (c == '%' && i + 2 < len && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
                    c = hexval(p[i + 1]) * 16 + hexval(p[i + 2]);
                    i += 2;
                }
                if (n + 1 >= sizeof(v))
                    return false;
                v[n++] = (char)c;
            }
            while (n && v[n - 1] == ' ')
                n--;
            return dom_mac_normalise(v, n, out);
        }
        p += len;
    }
    return false;
}

static int64_t parse_digits(const char *s)
{
    int64_t v = 0;
    size_t n = 0;
    for (; s[n] >= '0' && s[n] <= '9'; n++) {
        if (v > (INT32_MAX - 9) / 10)
            return -1;
        v = v * 10 + (s[n] - '0');
    }
    return n ? v : -1;
}

/* The integer after "key": in JSON text, or -1. */
static int64_t json_int_after(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (!p)
        return -1;
    p += strlen(key);
    while (*p == ' ' || *p == ':' || *p == '"')
        p++;
    return parse_digits(p);
}

int64_t portal_cmd_id(const char *cmd, int *season)
{
    *season = -1;
    if (!cmd)
        return -1;
    const char *sp = strrchr(cmd, ' '); /* "ffmpeg URL": clients strip up to the space */
    const char *s = sp ? sp + 1 : cmd;
    const char *ch = strstr(s, "/ch/");
    if (ch)
        return parse_digits(ch + 4);
    if (*s && strspn(s, "0123456789") == strlen(s))
        return parse_digits(s);
    unsigned char bin[256];
    size_t n = 0;
    size_t len = strlen(s);
    if (len == 0 || len > 340)
        return -1;
    if (sodium_base642bin(bin, sizeof(bin) - 1, s, len, NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 &&
        sodium_base642bin(bin, sizeof(bin) - 1, s, len, NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return -1;
    bin[n] = '\0';
    if (memchr(bin, '\0', n))
        return -1;
    int64_t id = json_int_after((const char *)bin, "\"stream_id\"");
    if (id >= 0)
        return id;
    id = json_int_after((const char *)bin, "\"series_id\"");
    int64_t se = json_int_after((const char *)bin, "\"season_num\"");
    if (id >= 0 && se >= 0 && se <= INT32_MAX)
        *season = (int)se;
    return id;
}

/* ---- response helpers ---- */

static void send_js(struct api_req *r, struct buf *b)
{
    if (b->err) {
        api_text_error(r, 500, "out of memory\n");
        return;
    }
    http_response_status(r->res, 200);
    http_response_header(r->res, "Content-Type", "text/javascript; charset=utf-8");
    http_response_header(r->res, "Cache-Control", "no-cache, no-store, must-revalidate");
    http_response_header(r->res, "Pragma", "no-cache");
    http_response_body(r->res, b->data, b->len);
}

/* What the portals answer a call they do not accept; clients compare the
 * text after a failed JSON parse (xtream-api.md §8). */
static void auth_failed(struct api_req *r, const char *text)
{
    http_response_header(r->res, "Cache-Control", "no-cache, no-store, must-revalidate");
    http_response_text(r->res, 200, "text/html; charset=utf-8", text);
}

static void ks(struct jsonw *w, const char *k, const char *v)
{
    jsonw_key(w, k);
    jsonw_str(w, v ? v : "");
}

static void ki(struct jsonw *w, const char *k, long long v)
{
    jsonw_key(w, k);
    jsonw_int(w, v);
}

static void kis(struct jsonw *w, const char *k, long long v)
{
    jsonw_key(w, k);
    jsonw_int_str(w, v);
}

enum tfmt { T_FULL, T_HM, T_EXPIRY };

static void fmt_time(int64_t t, enum tfmt f, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    if (f == T_FULL) /* "Y-m-d H:i:s" of the portals (UTC here) */
        strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
    else if (f == T_HM)
        strftime(out, n, "%H:%M", &tm);
    else
        strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm);
}

static size_t index_of(const void *base, const void *item, size_t stride)
{
    return (size_t)((const char *)item - (const char *)base) / stride;
}

/* ---- the portal's session ---- */

struct portal {
    struct api_req *r;
    char mac[18];
    const struct cat_line *line;
    struct cat_view *view;
    const char *type, *action;
};

static const char *param(const struct portal *p, const char *k)
{
    const char *v = http_request_param(p->r->req, k);
    return v ? v : "";
}

/* The refusal log's view of the call (route: the first path segment). */
static void access_req_of(struct api_req *r, struct access_req *q, char *route, size_t n)
{
    snprintf(route, n, "/%.60s", r->req->segment_count ? r->req->segments[0] : "");
    *q = (struct access_req){.ip = r->req->client_ip,
                             .user_agent = http_request_header(r->req, "User-Agent"),
                             .route = route,
                             .username = NULL,
                             .now = r->now};
}

static void refusal(struct api_req *r, const char *mac_given)
{
    char route[72];
    struct access_req q;
    access_req_of(r, &q, route, sizeof(route));
    char detail[40];
    snprintf(detail, sizeof(detail), "mac %s", mac_given);
    access_refused(r->api->access, "MAC_UNKNOWN", NULL, &q, detail);
}

/* Bans and the global address, user-agent and country rules, before any MAC
 * is looked at (a banned scanner learns nothing); false after answering 403. */
static bool global_ok(struct api_req *r)
{
    char route[72];
    struct access_req q;
    access_req_of(r, &q, route, sizeof(route));
    int64_t retry = 0;
    bool log_it = false;
    const char *why = access_check_global(r->api->access, &q, &retry, &log_it);
    if (!why)
        return true;
    if (log_it)
        access_refused(r->api->access, why, NULL, &q, NULL);
    if (retry > 0) {
        char v[24];
        snprintf(v, sizeof(v), "%lld", (long long)retry);
        http_response_header(r->res, "Retry-After", v);
    }
    char msg[80];
    snprintf(msg, sizeof(msg), "access denied (%s)\n", why);
    api_text_error(r, 403, msg);
    return false;
}

/* ---- stb ---- */

static void stb_handshake(struct portal *p, struct jsonw *w)
{
    /* Every MAC gets a token of the same shape: whether it is bound is not
     * told here (MAC scanners); get_profile refuses an unknown one. */
    char tok[2 * TAG_LEN + 1];
    session_token(p->mac, tok);
    jsonw_obj_begin(w);
    ks(w, "token", tok);
    jsonw_obj_end(w);
}

static void profile_common(struct portal *p, struct jsonw *w)
{
    ks(w, "mac", p->mac);
    ks(w, "ip", p->r->req->client_ip);
    ks(w, "locale", "en_GB.utf8");
    ks(w, "default_locale", "en_GB.utf8");
    ks(w, "default_timezone", "UTC");
}

static void stb_profile(struct portal *p, struct jsonw *w)
{
    jsonw_obj_begin(w);
    ki(w, "id", p->line->id);
    ks(w, "name", p->line->username);
    profile_common(p, w);
    ki(w, "status", 0);
    ks(w, "msg", "");
    ks(w, "block_msg", "");
    ks(w, "parent_password", "0000");
    ks(w, "settings_password", "0000");
    ki(w, "watchdog_timeout", 120);
    ki(w, "timeslot", 40);
    jsonw_key(w, "timeslot_ratio");
    jsonw_num(w, 0.33, 2);
    jsonw_key(w, "storages");
    jsonw_arr_begin(w);
    jsonw_arr_end(w);
    jsonw_key(w, "allowed_stb_types");
    jsonw_arr_begin(w);
    static const char *const types[] = {"mag200", "mag245", "mag250", "mag254", "mag256",
                                        "mag322", "mag324", "mag349", "mag351", "mag420"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        jsonw_str(w, types[i]);
    jsonw_arr_end(w);
    ks(w, "tv_channel_default_aspect", "fit");
    ki(w, "playback_limit", 0);
    ki(w, "show_tv_channel_logo", 1);
    ks(w, "hls_fast_start", "1");
    jsonw_key(w, "store_auth_data_on_stb");
    jsonw_bool(w, false);
    ks(w, "stb_ntp_server", "pool.ntp.org");
    ki(w, "enable_connection_problem_indication", 1);
    ks(w, "test_download_url", "");
    ks(w, "update_url", "");
    ki(w, "last_itv_id", access_last_channel(p->r->api->access, p->mac));
    jsonw_obj_end(w);
}

/* status 1: the box shows block_msg. */
static void stb_profile_blocked(struct portal *p, struct jsonw *w, const char *why)
{
    jsonw_obj_begin(w);
    ki(w, "id", 0);
    ks(w, "name", "");
    profile_common(p, w);
    ki(w, "status", 1);
    ks(w, "msg", why);
    ks(w, "block_msg", why);
    ki(w, "watchdog_timeout", 120);
    jsonw_obj_end(w);
}

static void account_info(struct portal *p, struct jsonw *w)
{
    char exp[40] = "Unlimited";
    if (p->line->exp_date > 0)
        fmt_time(p->line->exp_date, T_EXPIRY, exp, sizeof(exp));
    jsonw_obj_begin(w);
    ks(w, "mac", p->mac);
    ks(w, "phone", exp);
    ks(w, "message", p->line->message);
    jsonw_obj_end(w);
}

/* ---- genres / categories ---- */

static void write_categories(struct portal *p, struct jsonw *w, enum cat_kind kind, bool itv)
{
    const struct catalog *c = p->r->cat;
    jsonw_arr_begin(w);
    jsonw_obj_begin(w);
    ks(w, "id", "*");
    ks(w, "title", "All");
    ks(w, "alias", itv ? "All" : "*");
    if (itv) {
        jsonw_key(w, "active_sub");
        jsonw_bool(w, true);
    }
    ki(w, "censored", 0);
    jsonw_obj_end(w);
    long long number = 0;
    for (size_t i = 0; i < c->category_count[kind]; i++) {
        if (!cat_view_has_category(p->view, kind, i))
            continue;
        const struct cat_category *cat = &c->categories[kind][i];
        jsonw_obj_begin(w);
        kis(w, "id", cat->id);
        ks(w, "title", cat->name);
        ks(w, "alias", cat->name);
        if (itv)
            ki(w, "number", ++number);
        ki(w, "censored", 0);
        if (itv)
            ks(w, "modified", "");
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

/* ---- channels ---- */

struct chan {
    const struct cat_stream *s;
    long long number; /* position among the line's channels, from 1 */
};

static int by_name(const void *a, const void *b)
{
    const struct chan *x = a, *y = b;
    return strcasecmp(x->s->name, y->s->name);
}

/* The line's channels (genre "*"/"" = all, else a category id; search a
 * substring of the name), numbered in catalogue order. *n 0 and NULL when
 * none; -ENOMEM. */
static int channels(struct portal *p, const char *genre, const char *search, bool sort_name,
                    struct chan **out, size_t *n)
{
    const struct catalog *c = p->r->cat;
    int64_t cat = (*genre && strcmp(genre, "*") != 0) ? parse_digits(genre) : -2;
    struct chan *v = c->stream_count ? calloc(c->stream_count, sizeof(*v)) : NULL;
    *out = v;
    *n = 0;
    if (c->stream_count && !v)
        return -ENOMEM;
    long long number = 0;
    /* The view's output order (the line's bouquet order), as player_api.php. */
    for (size_t j = 0; j < cat_view_count(p->view, c, CAT_LIVE); j++) {
        number++;
        const struct cat_stream *s = &c->streams[cat_view_item(p->view, CAT_LIVE, j)];
        if (cat != -2 && s->category_id != cat)
            continue;
        if (*search && !strcasestr(s->name, search))
            continue;
        v[(*n)++] = (struct chan){s, number};
    }
    if (sort_name && *n > 1)
        qsort(v, *n, sizeof(*v), by_name);
    return 0;
}

static void write_channel(struct jsonw *w, const struct chan *ch)
{
    const struct cat_stream *s = ch->s;
    char cmd[64], num[24];
    snprintf(cmd, sizeof(cmd), "ffmpeg http://localhost/ch/%lld_", (long long)s->id);
    snprintf(num, sizeof(num), "%lld", ch->number);
    jsonw_obj_begin(w);
    ki(w, "id", s->id);
    ks(w, "name", s->name);
    ks(w, "number", num);
    ks(w, "cmd", cmd);
    ks(w, "use_http_tmp_link", "1");
    kis(w, "tv_genre_id", s->category_id);
    ks(w, "logo", s->logo);
    ks(w, "xmltv_id", s->epg_channel_id);
    ki(w, "hd", 0);
    ki(w, "censored", s->is_adult ? 1 : 0);
    ki(w, "lock", 0);
    ki(w, "fav", 0);
    ki(w, "archive", s->archive_days > 0);
    ki(w, "enable_tv_archive", s->archive_days > 0);
    ki(w, "tv_archive_duration", (long long)s->archive_days * 24);
    ki(w, "allow_pvr", 0);
    ki(w, "allow_local_timeshift", 1);
    ks(w, "cur_playing", "[No channel info]");
    jsonw_key(w, "epg");
    jsonw_arr_begin(w);
    jsonw_arr_end(w);
    ki(w, "status", 1);
    ki(w, "open", 1);
    jsonw_key(w, "cmds");
    jsonw_arr_begin(w);
    jsonw_obj_begin(w);
    kis(w, "id", s->id);
    kis(w, "ch_id", s->id);
    ks(w, "url", cmd);
    ks(w, "use_http_tmp_link", "1");
    jsonw_obj_end(w);
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

/* {total_items, max_page_items, selected_item, cur_page, data}; page 0 = all. */
static void write_page_head_sel(struct jsonw *w, size_t total, long long page, long long per_page,
                                long long selected)
{
    ki(w, "total_items", (long long)total);
    ki(w, "max_page_items", per_page);
    ki(w, "selected_item", selected);
    ki(w, "cur_page", page);
    jsonw_key(w, "data");
}

static void write_page_head(struct jsonw *w, size_t total, long long page)
{
    write_page_head_sel(w, total, page, PAGE_ITEMS, 0);
}

/* p: 1-based; 0 (and anything unparsable) is the first page. */
static long long page_of(struct portal *p)
{
    int64_t pg = parse_digits(param(p, "p"));
    return pg > 0 ? pg : 1;
}

static int itv_list(struct portal *p, struct jsonw *w, bool paged)
{
    struct chan *v;
    size_t n;
    int rc = channels(p, paged ? param(p, "genre") : "*", paged ? param(p, "search") : "",
                      paged && strcmp(param(p, "sortby"), "name") == 0, &v, &n);
    if (rc)
        return rc;
    long long page = paged ? page_of(p) : 0, selected = 0;
    if (paged && parse_digits(param(p, "p")) == 0) {
        /* p=0: the page that holds the box's last channel, selected_item its
         * row on the page (1-based); the first page when it is not listed
         * (Ministra's getStreams, research §E.3). */
        int64_t last = access_last_channel(p->r->api->access, p->mac);
        for (size_t i = 0; last > 0 && i < n; i++)
            if (v[i].s->id == last) {
                page = (long long)(i / PAGE_ITEMS) + 1;
                selected = (long long)(i % PAGE_ITEMS) + 1;
                break;
            }
    }
    size_t from = paged ? (size_t)(page - 1) * PAGE_ITEMS : 0;
    size_t to = paged ? from + PAGE_ITEMS : n;
    jsonw_obj_begin(w);
    write_page_head_sel(w, n, page, PAGE_ITEMS, selected);
    jsonw_arr_begin(w);
    for (size_t i = from; i < n && i < to; i++)
        write_channel(w, &v[i]);
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    free(v);
    return 0;
}

/* ---- EPG ---- */

static const struct cat_stream *visible_stream(struct portal *p, int64_t id)
{
    const struct cat_stream *s = id >= 0 ? catalog_stream(p->r->cat, id) : NULL;
    if (s && !cat_view_has_stream(p->view, p->r->cat, index_of(p->r->cat->streams, s, sizeof(*s))))
        s = NULL;
    return s;
}

static void write_prog(struct jsonw *w, int64_t ch_id, const struct cat_programme *g)
{
    char t[24], real[48];
    jsonw_obj_begin(w);
    kis(w, "id", g->id);
    kis(w, "ch_id", ch_id);
    fmt_time(g->start, T_FULL, t, sizeof(t));
    ks(w, "time", t);
    fmt_time(g->stop, T_FULL, t, sizeof(t));
    ks(w, "time_to", t);
    ki(w, "duration", g->stop - g->start);
    ks(w, "name", g->title);
    ks(w, "descr", g->desc);
    snprintf(real, sizeof(real), "%lld_%lld", (long long)ch_id, (long long)g->start);
    ks(w, "real_id", real);
    ki(w, "start_timestamp", g->start);
    ki(w, "stop_timestamp", g->stop);
    fmt_time(g->start, T_HM, t, sizeof(t));
    ks(w, "t_time", t);
    fmt_time(g->stop, T_HM, t, sizeof(t));
    ks(w, "t_time_to", t);
    ki(w, "mark_memo", 0);
    ki(w, "mark_archive", 0);
    jsonw_obj_end(w);
}

/* Programmes of s from the one on air at `from` until `until` (at most max). */
static void write_progs(struct portal *p, struct jsonw *w, const struct cat_stream *s, int64_t from,
                        int64_t until, size_t max)
{
    const struct cat_guide_channel *g =
        s && s->epg_channel_id ? cat_guide_find(catalog_guide(p->r->cat), s->epg_channel_id) : NULL;
    jsonw_arr_begin(w);
    if (g) {
        size_t i = cat_guide_first_from(g, from);
        if (i > 0 && g->progs[i - 1].stop > from)
            i--;
        for (size_t k = 0; i < g->count && k < max && g->progs[i].start < until; i++, k++)
            write_prog(w, s->id, &g->progs[i]);
    }
    jsonw_arr_end(w);
}

static void short_epg(struct portal *p, struct jsonw *w)
{
    int64_t size = parse_digits(param(p, "size"));
    if (size <= 0 || size > 100)
        size = 4;
    const struct cat_stream *s = visible_stream(p, parse_digits(param(p, "ch_id")));
    write_progs(p, w, s, p->r->now, INT64_MAX, (size_t)size);
}

static void epg_info(struct portal *p, struct jsonw *w)
{
    int64_t period = parse_digits(param(p, "period"));
    if (period <= 0 || period > 24 * 14)
        period = 24;
    const struct catalog *c = p->r->cat;
    jsonw_obj_begin(w);
    jsonw_key(w, "data");
    jsonw_obj_begin(w);
    for (size_t i = 0; i < c->stream_count; i++) {
        const struct cat_stream *s = &c->streams[i];
        if (!cat_view_has_stream(p->view, c, i) || !s->epg_channel_id ||
            !cat_guide_find(catalog_guide(c), s->epg_channel_id))
            continue;
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)s->id);
        jsonw_key(w, id);
        write_progs(p, w, s, p->r->now, p->r->now + period * 3600, SIZE_MAX);
    }
    jsonw_obj_end(w);
    jsonw_obj_end(w);
}

/* The programme of s with id prog, or NULL. */
static const struct cat_programme *find_prog(struct portal *p, const struct cat_stream *s,
                                             int64_t prog)
{
    const struct cat_guide_channel *g =
        s && s->epg_channel_id ? cat_guide_find(catalog_guide(p->r->cat), s->epg_channel_id) : NULL;
    for (size_t i = 0; g && i < g->count; i++)
        if (g->progs[i].id == prog)
            return &g->progs[i];
    return NULL;
}

/* Whether programme g of s can be played from the archive at now: ended (or
 * started: a programme on air plays from its start) and within the channel's
 * tv_archive_days. */
static bool in_archive(const struct cat_stream *s, const struct cat_programme *g, int64_t now)
{
    return s->archive_days > 0 && g->start < now &&
           g->start >= now - (int64_t)s->archive_days * 86400;
}

/* epg get_week: the days a box's guide offers, XCVM's span (16 days back, 9
 * ahead), UTC like every time here. */
static void epg_week(struct portal *p, struct jsonw *w)
{
    int64_t today = p->r->now / 86400;
    jsonw_arr_begin(w);
    for (int64_t d = today - 16; d <= today + 9; d++) {
        time_t t = (time_t)(d * 86400);
        struct tm tm;
        gmtime_r(&t, &tm);
        char human[40], mysql[16];
        strftime(human, sizeof(human), "%a %d %B", &tm);
        strftime(mysql, sizeof(mysql), "%Y-%m-%d", &tm);
        jsonw_obj_begin(w);
        ks(w, "f_human", human);
        ks(w, "f_mysql", mysql);
        ki(w, "today", d == today);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

/* "YYYY-MM-DD" as the Unix time of its 00:00 UTC, or -1. */
static int64_t parse_day(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    int64_t y = parse_digits(s), m = parse_digits(s + 5), d = parse_digits(s + 8);
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    struct tm tm = {.tm_year = (int)y - 1900, .tm_mon = (int)m - 1, .tm_mday = (int)d};
    time_t t = timegm(&tm);
    return t < 0 ? -1 : (int64_t)t;
}

#define TABLE_ITEMS 10 /* max_page_items of get_simple_data_table */

/* epg get_simple_data_table: one channel's programmes of one day, paged;
 * p=0 is the page of the programme on air, selected_item its row. */
static void epg_table(struct portal *p, struct jsonw *w)
{
    const struct cat_stream *s = visible_stream(p, parse_digits(param(p, "ch_id")));
    int64_t now = p->r->now;
    int64_t day = parse_day(param(p, "date"));
    if (day < 0)
        day = now - now % 86400;
    const struct cat_guide_channel *g =
        s && s->epg_channel_id ? cat_guide_find(catalog_guide(p->r->cat), s->epg_channel_id) : NULL;
    size_t first = g ? cat_guide_first_from(g, day) : 0, last = first;
    while (g && last < g->count && g->progs[last].start < day + 86400)
        last++;
    size_t total = last - first;
    long long on_air = 0; /* 1-based index of the programme on air, 0: none that day */
    for (size_t i = first; i < last; i++)
        if (g->progs[i].start <= now && g->progs[i].stop > now)
            on_air = (long long)(i - first) + 1;
    int64_t pg = parse_digits(param(p, "p"));
    long long page = pg > 0 ? pg : on_air ? (on_air - 1) / TABLE_ITEMS + 1 : 1;
    long long selected = 0;
    if (on_air && (on_air - 1) / TABLE_ITEMS + 1 == page)
        selected = (on_air - 1) % TABLE_ITEMS + 1;
    jsonw_obj_begin(w);
    write_page_head_sel(w, total, page, TABLE_ITEMS, selected);
    jsonw_arr_begin(w);
    size_t from = first + (size_t)(page - 1) * TABLE_ITEMS;
    for (size_t i = from; g && i < last && i < from + TABLE_ITEMS; i++) {
        const struct cat_programme *pr = &g->progs[i];
        char t[24], id[48], real[48];
        jsonw_obj_begin(w);
        snprintf(id, sizeof(id), "%lld_%lld", (long long)pr->id, (long long)s->id);
        ks(w, "id", id);
        kis(w, "ch_id", s->id);
        fmt_time(pr->start, T_FULL, t, sizeof(t));
        ks(w, "time", t);
        fmt_time(pr->stop, T_FULL, t, sizeof(t));
        ks(w, "time_to", t);
        ki(w, "duration", pr->stop - pr->start);
        ks(w, "name", pr->title);
        ks(w, "descr", pr->desc);
        snprintf(real, sizeof(real), "%lld_%lld", (long long)s->id, (long long)pr->start);
        ks(w, "real_id", real);
        ki(w, "start_timestamp", pr->start);
        ki(w, "stop_timestamp", pr->stop);
        fmt_time(pr->start, T_HM, t, sizeof(t));
        ks(w, "t_time", t);
        fmt_time(pr->stop, T_HM, t, sizeof(t));
        ks(w, "t_time_to", t);
        ki(w, "open", pr->start <= now && pr->stop > now);
        ki(w, "mark_memo", 0);
        ki(w, "mark_rec", 0);
        ki(w, "mark_archive", pr->stop <= now && in_archive(s, pr, now));
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

/* Appends s percent-encoded (unreserved characters kept) to out. */
static void put_pct(char *out, size_t n, const char *s)
{
    size_t len = strlen(out);
    for (; *s && len + 4 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            out[len++] = (char)c;
        else
            len += (size_t)snprintf(out + len, n - len, "%%%02X", c);
    }
    out[len] = '\0';
}

/* "ffmpeg <base>/timeshift/U/P/<minutes>/<Y-m-d:H-M UTC>/<ch>.ts" of s from
 * start (to the minute) for minutes, with a play_token for a MAG line, whose
 * credentials alone are refused there (valid while the range could be
 * watched through, then an hour). false when it does not fit url. */
static bool archive_url(struct portal *p, const struct cat_stream *s, int64_t start,
                        int64_t minutes, char *url, size_t n)
{
    char path[768] = "/timeshift/", when[24];
    /* the route's bounds: a programme longer than a day plays its first day */
    minutes = minutes < 1 ? 1 : minutes > TIMESHIFT_MAX_MINUTES ? TIMESHIFT_MAX_MINUTES : minutes;
    put_pct(path, sizeof(path), p->line->username);
    snprintf(path + strlen(path), sizeof(path) - strlen(path), "/");
    put_pct(path, sizeof(path), p->line->password);
    time_t t = (time_t)start;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d:%H-%M", &tm);
    size_t len = strlen(path);
    int k = snprintf(path + len, sizeof(path) - len, "/%lld/%s/%lld.ts", (long long)minutes, when,
                     (long long)s->id);
    if (k < 0 || (size_t)k >= sizeof(path) - len)
        return false;
    int m = snprintf(url, n, "ffmpeg %s%s", p->r->base, path);
    if (m < 0 || (size_t)m >= n)
        return false;
    if (p->line->is_mag) {
        char tok[AUTH_PLAY_TOKEN_LEN + 1];
        auth_play_token(p->line->id, path, p->r->now + minutes * 60 + 3600, tok);
        int q = snprintf(url + m, n - (size_t)m, "?play_token=%s", tok);
        if (q < 0 || (size_t)q >= n - (size_t)m)
            return false;
    }
    return true;
}

/* The answer shape of tv_archive create_link and get_link_for_channel. */
static void archive_answer(struct buf *b, const char *url, const char *error)
{
    struct jsonw w;
    jsonw_init(&w, b);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "js");
    jsonw_obj_begin(&w);
    ki(&w, "id", 0);
    ks(&w, "cmd", url);
    ks(&w, "storage_id", "");
    ki(&w, "load", 0);
    ks(&w, "error", error);
    ks(&w, "download_cmd", "");
    ks(&w, "to_file", "");
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
}

/* tv_archive create_link: cmd names a programme ("auto /media/<prog>_<ch>.mpg",
 * the id of get_simple_data_table); the answer is the catch-up URL
 * /timeshift/U/P/<minutes>/<Y-m-d:H-M UTC>/<ch>.ts (served by the archive). */
static void archive_link(struct portal *p, struct buf *b)
{
    const char *cmd = param(p, "cmd");
    const char *seg = strrchr(cmd, '/');
    seg = seg ? seg + 1 : cmd;
    int64_t prog = parse_digits(seg);
    const char *us = strchr(seg, '_');
    int64_t ch = us ? parse_digits(us + 1) : -1;
    const struct cat_stream *s = visible_stream(p, ch);
    const struct cat_programme *g = s && prog >= 0 ? find_prog(p, s, prog) : NULL;
    char url[1024] = "";
    if (!g || !in_archive(s, g, p->r->now) ||
        !archive_url(p, s, g->start, (g->stop - g->start + 59) / 60, url, sizeof(url)))
        url[0] = '\0';
    archive_answer(b, url, url[0] ? "" : "nothing_to_play");
}

#define LIVE_TIMESHIFT_AHEAD_MIN 180 /* how long a pause-live link follows the recording */

/* tv_archive get_link_for_channel (a box pausing live TV, its local
 * timeshift): the channel's archive from the start of the current UTC hour
 * (the portals' hourly archive file), with the MAG player's modifiers
 * " position:<s> media_len:<s>": start playing `position` seconds in (now),
 * the media being that long so far. The range reaches
 * LIVE_TIMESHIFT_AHEAD_MIN minutes past now, and the catch-up route follows
 * the recording while it grows. */
static void archive_channel_link(struct portal *p, struct buf *b)
{
    const struct cat_stream *s = visible_stream(p, parse_digits(param(p, "ch_id")));
    int64_t now = p->r->now, start = now - now % 3600, position = now - start;
    char url[1100] = "";
    if (s && s->archive_days > 0 &&
        archive_url(p, s, start, (position + 59) / 60 + LIVE_TIMESHIFT_AHEAD_MIN, url, 1024)) {
        size_t n = strlen(url);
        snprintf(url + n, sizeof(url) - n, " position:%lld media_len:%lld", (long long)position,
                 (long long)position);
    }
    archive_answer(b, url, url[0] ? "" : "nothing_to_play");
}

/* tv_archive get_next_part_url: id is the real_id "<ch>_<start>" of the
 * programme playing; the answer is the "ffmpeg <url>" of what follows it in
 * the archive (the gap before the next programme when the guide has one,
 * else the next programme), or false (nothing after it, not archived, not
 * aired yet). */
static void archive_next_part(struct portal *p, struct jsonw *w)
{
    const char *id = param(p, "id");
    int64_t ch = parse_digits(id);
    const char *us = strchr(id, '_');
    int64_t at = us ? parse_digits(us + 1) : -1;
    const struct cat_stream *s = at >= 0 ? visible_stream(p, ch) : NULL;
    const struct cat_guide_channel *g =
        s && s->epg_channel_id ? cat_guide_find(catalog_guide(p->r->cat), s->epg_channel_id) : NULL;
    char url[1024] = "";
    if (g && s->archive_days > 0) {
        size_t i = cat_guide_first_from(g, at);
        const struct cat_programme *cur =
            i < g->count && g->progs[i].start == at ? &g->progs[i] : NULL;
        size_t nx = cur ? i + 1 : i;
        if (nx < g->count) {
            int64_t from = g->progs[nx].start, to = g->progs[nx].stop;
            if (cur && cur->stop < from) { /* a break in the guide: it was recorded too */
                to = from;
                from = cur->stop;
            }
            int64_t now = p->r->now;
            if (from < now && from >= now - (int64_t)s->archive_days * 86400 && to > from &&
                !archive_url(p, s, from, (to - from + 59) / 60, url, sizeof(url)))
                url[0] = '\0';
        }
    }
    if (url[0])
        jsonw_str(w, url);
    else
        jsonw_bool(w, false);
}

/* stb do_auth (a box asked for login and password, get_profile status 2):
 * true when they are this box's line's. A wrong pair counts like a wrong
 * password (the brake). */
static bool do_auth(struct portal *p)
{
    const char *login = param(p, "login"), *pw = param(p, "password");
    size_t n = strlen(p->line->password);
    bool ok = strcmp(login, p->line->username) == 0 && strlen(pw) == n &&
              sodium_memcmp(pw, p->line->password, n) == 0;
    if (!ok)
        throttle_fail(p->r->api->throttle, p->r->req->client_ip, uv_hrtime() / 1000000);
    return ok;
}

/* ---- VOD and series ---- */

static void write_cmd_b64(struct jsonw *w, const char *json)
{
    char out[256];
    sodium_bin2base64(out, sizeof(out), (const unsigned char *)json, strlen(json),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    ks(w, "cmd", out);
}

static void vod_list(struct portal *p, struct jsonw *w)
{
    const struct catalog *c = p->r->cat;
    const char *cat_s = param(p, "category");
    int64_t cat = (*cat_s && strcmp(cat_s, "*") != 0) ? parse_digits(cat_s) : -2;
    const char *search = param(p, "search");
    long long page = page_of(p);
    size_t from = (size_t)(page - 1) * PAGE_ITEMS, total = 0;
    /* Two passes: the total first (the head comes before the data). */
    for (int pass = 0; pass < 2; pass++) {
        size_t k = 0;
        if (pass == 1) {
            jsonw_obj_begin(w);
            write_page_head(w, total, page);
            jsonw_arr_begin(w);
        }
        for (size_t j = 0; j < cat_view_count(p->view, c, CAT_MOVIE); j++) {
            const struct cat_movie *m = &c->movies[cat_view_item(p->view, CAT_MOVIE, j)];
            if ((cat != -2 && m->category_id != cat) || (*search && !strcasestr(m->title, search)))
                continue;
            if (pass == 0) {
                total++;
                continue;
            }
            if (k++ < from || k > from + PAGE_ITEMS)
                continue;
            char json[128];
            snprintf(json, sizeof(json),
                     "{\"type\":\"movie\",\"stream_id\":%lld,\"target_container\":\"%.16s\"}",
                     (long long)m->id, m->container ? m->container : "mp4");
            jsonw_obj_begin(w);
            kis(w, "id", m->id);
            ks(w, "name", m->title);
            ks(w, "o_name", m->original_title);
            ks(w, "description", m->plot);
            ks(w, "director", m->director);
            ks(w, "actors", m->cast);
            kis(w, "year", m->year);
            ki(w, "time", m->duration_secs / 60);
            ks(w, "genres_str", m->genre);
            jsonw_key(w, "rating_imdb");
            jsonw_num(w, m->rating, 1);
            ks(w, "screenshot_uri", m->poster);
            kis(w, "category_id", m->category_id);
            ki(w, "hd", 1);
            ki(w, "censored", 0);
            ki(w, "fav", 0);
            ki(w, "is_series", 0);
            ki(w, "is_movie", 1);
            ki(w, "added", m->added);
            write_cmd_b64(w, json);
            jsonw_obj_end(w);
        }
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

static void series_seasons(struct portal *p, struct jsonw *w, const struct cat_series *se)
{
    jsonw_obj_begin(w);
    write_page_head(w, se->season_count, 1);
    jsonw_arr_begin(w);
    for (size_t i = 0; i < se->season_count; i++) {
        int num = se->seasons[i].number;
        char id[48], name[32], json[96];
        snprintf(id, sizeof(id), "%lld:%d", (long long)se->id, num);
        snprintf(name, sizeof(name), "Season %d", num);
        snprintf(json, sizeof(json), "{\"series_id\":%lld,\"season_num\":%d,\"type\":\"series\"}",
                 (long long)se->id, num);
        jsonw_obj_begin(w);
        ks(w, "id", id);
        ks(w, "name", name);
        ks(w, "description", se->plot);
        ks(w, "screenshot_uri", se->cover);
        ki(w, "is_series", 1);
        ki(w, "is_movie", 0);
        jsonw_key(w, "series");
        jsonw_arr_begin(w);
        for (size_t e = 0; e < se->episode_count; e++)
            if (se->episodes[e].season == num)
                jsonw_int(w, se->episodes[e].episode_num);
        jsonw_arr_end(w);
        write_cmd_b64(w, json);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

static void series_list(struct portal *p, struct jsonw *w)
{
    const struct catalog *c = p->r->cat;
    int64_t sid = parse_digits(param(p, "movie_id"));
    if (sid >= 0) {
        const struct cat_series *se = catalog_series(c, sid);
        if (se && cat_view_has_series(p->view, c, index_of(c->series, se, sizeof(*se)))) {
            series_seasons(p, w, se);
            return;
        }
    }
    const char *cat_s = param(p, "category");
    int64_t cat = (*cat_s && strcmp(cat_s, "*") != 0) ? parse_digits(cat_s) : -2;
    long long page = page_of(p);
    size_t from = (size_t)(page - 1) * PAGE_ITEMS, total = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t k = 0;
        if (pass == 1) {
            jsonw_obj_begin(w);
            write_page_head(w, total, page);
            jsonw_arr_begin(w);
        }
        for (size_t j = 0; j < cat_view_count(p->view, c, CAT_SERIES); j++) {
            const struct cat_series *se = &c->series[cat_view_item(p->view, CAT_SERIES, j)];
            if (cat != -2 && se->category_id != cat)
                continue;
            if (pass == 0) {
                total++;
                continue;
            }
            if (k++ < from || k > from + PAGE_ITEMS)
                continue;
            char json[64];
            snprintf(json, sizeof(json), "{\"series_id\":%lld,\"type\":\"series\"}",
                     (long long)se->id);
            jsonw_obj_begin(w);
            kis(w, "id", se->id);
            ks(w, "name", se->title);
            ks(w, "description", se->plot);
            ks(w, "director", se->director);
            ks(w, "actors", se->cast);
            kis(w, "year", se->year);
            ks(w, "genres_str", se->genre);
            ks(w, "screenshot_uri", se->cover);
            kis(w, "category_id", se->category_id);
            ki(w, "is_series", 1);
            ki(w, "is_movie", 0);
            ki(w, "added", se->added);
            write_cmd_b64(w, json);
            jsonw_obj_end(w);
        }
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

/* ---- create_link ---- */

/* "<base>/play/<hex token>" for item id of kind 'l' (live), 'm' (movie) or
 * 'e' (episode), bound to the box's MAC, valid PORTAL_PLAY_TTL seconds. */
static void play_url(struct portal *p, char kind, int64_t id, char *out, size_t n)
{
    unsigned char tok[PLAY_LEN + TAG_LEN];
    tok[0] = (unsigned char)kind;
    for (int i = 0; i < 6; i++)
        tok[1 + i] = (unsigned char)(hexval(p->mac[i * 3]) * 16 + hexval(p->mac[i * 3 + 1]));
    uint64_t u = (uint64_t)id, e = (uint64_t)(p->r->now + PORTAL_PLAY_TTL);
    for (int i = 0; i < 8; i++) {
        tok[7 + i] = (unsigned char)(u >> (56 - 8 * i));
        tok[15 + i] = (unsigned char)(e >> (56 - 8 * i));
    }
    tag_of(tok, PLAY_LEN, tok + PLAY_LEN);
    char hex[2 * sizeof(tok) + 1];
    sodium_bin2hex(hex, sizeof(hex), tok, sizeof(tok));
    snprintf(out, n, "ffmpeg %s/play/%s", p->r->base, hex);
}

static void create_link(struct portal *p, struct buf *b, bool vod)
{
    int season;
    int64_t id = portal_cmd_id(param(p, "cmd"), &season);
    char kind = vod ? 'm' : 'l';
    const char *error = "";
    const struct catalog *c = p->r->cat;
    if (!vod) {
        if (!visible_stream(p, id))
            error = "nothing_to_play";
    } else if (season >= 0) {
        /* A season's cmd and the episode number (1-based) in `series`. */
        const struct cat_series *se = catalog_series(c, id);
        int64_t ep = parse_digits(param(p, "series"));
        id = -1;
        kind = 'e';
        if (se && cat_view_has_series(p->view, c, index_of(c->series, se, sizeof(*se))))
            for (size_t e = 0; e < se->episode_count && id < 0; e++)
                if (se->episodes[e].season == season && se->episodes[e].episode_num == ep)
                    id = se->episodes[e].id;
        if (id < 0)
            error = "player_file_missing";
    } else {
        const struct cat_movie *m = id >= 0 ? catalog_movie(c, id) : NULL;
        if (!m || !cat_view_has_movie(p->view, c, index_of(c->movies, m, sizeof(*m))))
            error = "player_file_missing";
    }
    char url[768] = ""; /* "ffmpeg " + base (< 512) + "/play/" + the token */
    if (!*error)
        play_url(p, kind, id, url, sizeof(url));
    struct jsonw w;
    jsonw_init(&w, b);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "js");
    jsonw_obj_begin(&w);
    ki(&w, "id", id < 0 ? 0 : id);
    ks(&w, "cmd", url);
    if (vod) {
        ks(&w, "load", "");
        jsonw_key(&w, "subtitles");
        jsonw_arr_begin(&w);
        jsonw_arr_end(&w);
    }
    ks(&w, "error", error);
    jsonw_obj_end(&w);
    if (!vod) { /* the keys XC panels put beside js (research E.3) */
        ki(&w, "streamer_id", 0);
        ki(&w, "link_id", 0);
        ki(&w, "load", 0);
        ks(&w, "error", error);
    }
    jsonw_obj_end(&w);
}

/* ---- dispatch ---- */

static bool is(const struct portal *p, const char *type, const char *action)
{
    return strcmp(p->type, type) == 0 && strcmp(p->action, action) == 0;
}

static bool bearer_ok(struct portal *p)
{
    const char *h = http_request_header(p->r->req, "Authorization");
    char tok[2 * TAG_LEN + 1];
    session_token(p->mac, tok);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    return strlen(h) == 2 * TAG_LEN && sodium_memcmp(h, tok, 2 * TAG_LEN) == 0;
}

/* Answers one call of an authenticated box; -ENOMEM. */
static int dispatch(struct portal *p, struct buf *b)
{
    if (is(p, "itv", "create_link")) {
        create_link(p, b, false);
        return 0;
    }
    if (is(p, "vod", "create_link") || is(p, "series", "create_link")) {
        create_link(p, b, true);
        return 0;
    }
    if (is(p, "tv_archive", "create_link")) {
        archive_link(p, b);
        return 0;
    }
    if (is(p, "tv_archive", "get_link_for_channel")) {
        archive_channel_link(p, b);
        return 0;
    }
    struct jsonw w;
    jsonw_init(&w, b);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "js");
    int rc = 0;
    if (is(p, "stb", "get_profile"))
        stb_profile(p, &w);
    else if (is(p, "account_info", "get_main_info"))
        account_info(p, &w);
    else if (is(p, "itv", "get_genres"))
        write_categories(p, &w, CAT_LIVE, true);
    else if (is(p, "itv", "get_all_channels"))
        rc = itv_list(p, &w, false);
    else if (is(p, "itv", "get_ordered_list"))
        rc = itv_list(p, &w, true);
    else if (is(p, "itv", "get_short_epg"))
        short_epg(p, &w);
    else if (is(p, "itv", "get_epg_info"))
        epg_info(p, &w);
    else if (is(p, "epg", "get_week"))
        epg_week(p, &w);
    else if (is(p, "epg", "get_simple_data_table"))
        epg_table(p, &w);
    else if (is(p, "stb", "do_auth"))
        jsonw_bool(&w, do_auth(p));
    else if (is(p, "tv_archive", "get_next_part_url"))
        archive_next_part(p, &w);
    else if (is(p, "itv", "set_last_id")) {
        int64_t id = parse_digits(param(p, "id"));
        if (visible_stream(p, id))
            access_set_last_channel(p->r->api->access, p->mac, id, p->r->now);
        jsonw_bool(&w, true);
    } else if (is(p, "vod", "get_categories"))
        write_categories(p, &w, CAT_MOVIE, false);
    else if (is(p, "series", "get_categories"))
        write_categories(p, &w, CAT_SERIES, false);
    else if (is(p, "vod", "get_ordered_list"))
        vod_list(p, &w);
    else if (is(p, "series", "get_ordered_list"))
        series_list(p, &w);
    else if (is(p, "watchdog", "get_events")) {
        jsonw_obj_begin(&w);
        jsonw_key(&w, "data");
        jsonw_obj_begin(&w);
        ki(&w, "msgs", 0);
        ki(&w, "additional_services_on", 1);
        jsonw_obj_end(&w);
        jsonw_obj_end(&w);
    } else if (is(p, "watchdog", "confirm_event")) {
        jsonw_obj_begin(&w);
        ks(&w, "data", "ok");
        jsonw_obj_end(&w);
    } else if (is(p, "itv", "get_all_fav_channels")) {
        jsonw_obj_begin(&w);
        write_page_head(&w, 0, 0);
        jsonw_arr_begin(&w);
        jsonw_arr_end(&w);
        jsonw_obj_end(&w);
    } else if (is(p, "stb", "get_localization") || is(p, "stb", "get_settings_profile")) {
        jsonw_obj_begin(&w);
        jsonw_obj_end(&w);
    } else if (is(p, "stb", "get_modules")) {
        jsonw_raw(&w, "{\"all_modules\":[\"tv\",\"vclub\",\"sclub\"],\"switchable_modules\":[],"
                      "\"disabled_modules\":[],\"restricted_modules\":[],\"template\":"
                      "\"default\",\"launcher_url\":\"\",\"launcher_profile_url\":\"\"}");
    } else if (is(p, "itv", "get_fav_ids") || is(p, "stb", "get_storages") ||
               is(p, "epg", "get_data_table") || is(p, "stb", "get_preload_images") ||
               is(p, "stb", "get_ad")) {
        jsonw_arr_begin(&w);
        jsonw_arr_end(&w);
    } else {
        /* logout, set_*, log, ... : the stubs the portal JS waits for (research E.3) */
        jsonw_bool(&w, true);
    }
    jsonw_obj_end(&w);
    return rc;
}

void api_portal(struct api_req *r)
{
    struct portal p = {.r = r};
    r->portal = true;
    p.type = http_request_param(r->req, "type");
    p.action = http_request_param(r->req, "action");
    if (!p.type)
        p.type = "";
    if (!p.action)
        p.action = "";
    api_cors(r, false);
    if (!global_ok(r))
        return;
    const char *qmac = http_request_param(r->req, "mac");
    bool have_mac = portal_cookie_mac(http_request_header(r->req, "Cookie"), p.mac) ||
                    (qmac && dom_mac_normalise(qmac, strlen(qmac), p.mac));
    struct buf b = BUF_INIT(64 << 20);
    if (is(&p, "stb", "handshake")) {
        if (!have_mac) {
            auth_failed(r, "Authorization failed.");
            return;
        }
        if (catalog_device_line(r->cat, p.mac)) /* a bound box is alive (last_seen) */
            access_device_seen(r->api->access, p.mac, r->now);
        struct jsonw w;
        jsonw_init(&w, &b);
        jsonw_obj_begin(&w);
        jsonw_key(&w, "js");
        stb_handshake(&p, &w);
        jsonw_obj_end(&w);
        send_js(r, &b);
        buf_free(&b);
        return;
    }
    p.line = have_mac ? catalog_device_line(r->cat, p.mac) : NULL;
    /* A call without the handshake's token is refused alike for a bound and
     * an unknown MAC (whether a MAC is bound is never told to a scanner). */
    bool bearer = have_mac && bearer_ok(&p);
    if (!p.line) {
        /* Unknown MAC: refused, logged, and counted by the brake like a wrong
         * password (MAC scanning is the portal's brute force). */
        uint64_t now_ms = uv_hrtime() / 1000000;
        uint64_t wait_ms = throttle_blocked(r->api->throttle, r->req->client_ip, now_ms);
        if (wait_ms) {
            char retry[24];
            snprintf(retry, sizeof(retry), "%llu", (unsigned long long)(wait_ms + 999) / 1000);
            http_response_header(r->res, "Retry-After", retry);
            api_text_error(r, 429, "too many failed logins from this address; retry later\n");
            return;
        }
        char given[24];
        snprintf(given, sizeof(given), "%s", have_mac ? p.mac : "(none)");
        refusal(r, given);
        throttle_fail(r->api->throttle, r->req->client_ip, now_ms);
        log_info("portal", "unknown MAC %s from %s", given, r->req->client_ip);
        struct jsonw w;
        jsonw_init(&w, &b);
        if (bearer && is(&p, "stb", "get_profile")) {
            jsonw_obj_begin(&w);
            jsonw_key(&w, "js");
            stb_profile_blocked(&p, &w, "Your STB is not active.");
            jsonw_obj_end(&w);
            send_js(r, &b);
        } else if (bearer && is(&p, "stb", "do_auth")) {
            /* The answer of a bound box with a wrong login (research E.3): the
             * box's JS and pvr.stalker read false as "wrong login", and an
             * unknown MAC is not bound by logging in. */
            jsonw_obj_begin(&w);
            jsonw_key(&w, "js");
            jsonw_bool(&w, false);
            jsonw_obj_end(&w);
            send_js(r, &b);
        } else {
            auth_failed(r, "Authorization failed.");
        }
        buf_free(&b);
        return;
    }
    if (!bearer) {
        auth_failed(r, "Authorization failed.");
        return;
    }
    /* The line's own checks: access rules, bans, state (a refusal is
     * answered 403 by api_authenticate and logged with its reason). */
    r->username = p.line->username;
    r->password = p.line->password;
    api_authenticate(r);
    if (r->throttled)
        return;
    if (r->status != AUTH_OK) {
        char why[64];
        snprintf(why, sizeof(why), "Your account is %s.", auth_status_name(r->status));
        if (is(&p, "stb", "get_profile")) {
            struct jsonw w;
            jsonw_init(&w, &b);
            jsonw_obj_begin(&w);
            jsonw_key(&w, "js");
            stb_profile_blocked(&p, &w, why);
            jsonw_obj_end(&w);
            send_js(r, &b);
        } else {
            auth_failed(r, "Access denied.");
        }
        buf_free(&b);
        return;
    }
    /* The box's liveness (devices.last_seen): the calls a box makes at
     * start and every watchdog_timeout, not every list it pages through. */
    if (is(&p, "stb", "get_profile") || is(&p, "watchdog", "get_events"))
        access_device_seen(r->api->access, p.mac, r->now);
    p.view = catalog_view(r->cat, p.line);
    if (!p.view || dispatch(&p, &b) < 0)
        b.err = -ENOMEM;
    send_js(r, &b);
    buf_free(&b);
}

void api_portal_play(struct api_req *r, const char *token)
{
    http_response_log_target(r->res, "/play/***");
    unsigned char tok[PLAY_LEN + TAG_LEN], want[TAG_LEN];
    size_t n = 0;
    if (strlen(token) != 2 * sizeof(tok) ||
        sodium_hex2bin(tok, sizeof(tok), token, strlen(token), NULL, &n, NULL) != 0 ||
        n != sizeof(tok)) {
        api_cors(r, false);
        api_text_error(r, 403, "invalid or expired link\n");
        return;
    }
    tag_of(tok, PLAY_LEN, want);
    uint64_t id = 0, exp = 0;
    for (int i = 0; i < 8; i++) {
        id = id << 8 | tok[7 + i];
        exp = exp << 8 | tok[15 + i];
    }
    if (sodium_memcmp(want, tok + PLAY_LEN, TAG_LEN) != 0 || (int64_t)exp < r->now ||
        id > INT64_MAX) {
        api_cors(r, false);
        api_text_error(r, 403, "invalid or expired link\n");
        return;
    }
    char mac[18];
    snprintf(mac, sizeof(mac), "%02X:%02X:%02X:%02X:%02X:%02X", tok[1], tok[2], tok[3], tok[4],
             tok[5], tok[6]);
    const struct cat_line *line = catalog_device_line(r->cat, mac);
    if (!line) { /* the device was unbound since */
        api_cors(r, false);
        api_text_error(r, 403, "invalid or expired link\n");
        return;
    }
    /* From here the stream route's own checks run (access rules, state,
     * outputs, bouquets, connection limit) with the line's credentials,
     * which never left the server. */
    r->username = line->username;
    r->password = line->password;
    r->portal = true;
    char id_ext[32];
    snprintf(id_ext, sizeof(id_ext), "%llu%s", (unsigned long long)id, tok[0] == 'l' ? ".ts" : "");
    api_stream(r, tok[0] == 'l' ? "live" : tok[0] == 'm' ? "movie" : "series", id_ext);
}

/* Our own minimal portal page (the Infomir one is not free to ship): plain
 * ES5 for the boxes' old WebKit, the channel list of the line and playback
 * through the box's player object (gSTB/stb) when there is one, else a
 * <video> element. */
static const char page_html[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>xtreamd</title>\n"
    "<style>body{background:#111;color:#eee;font:20px sans-serif;margin:24px}"
    "li.sel{background:#357}ul{list-style:none;padding:0}#msg{color:#f88}</style>\n"
    "</head><body><h1>xtreamd</h1><div id=\"msg\"></div><ul id=\"list\"></ul>\n"
    "<video id=\"v\" style=\"display:none;width:100%\" controls></video>\n"
    "<script>\n"
    "var api = location.pathname.replace(/\\/(index\\.html)?$/, '') + '/portal.php';\n"
    "var token = '', chans = [], sel = 0;\n"
    "var player = window.gSTB || window.stb || null;\n"
    "function call(q, cb) {\n"
    "  var x = new XMLHttpRequest();\n"
    "  x.open('GET', api + '?' + q + '&JsHttpRequest=1-xml', true);\n"
    "  if (token) x.setRequestHeader('Authorization', 'Bearer ' + token);\n"
    "  x.onreadystatechange = function () {\n"
    "    if (x.readyState !== 4) return;\n"
    "    var r = null;\n"
    "    try { r = JSON.parse(x.responseText); } catch (e) { show(x.responseText); return; }\n"
    "    cb(r);\n"
    "  };\n"
    "  x.send();\n"
    "}\n"
    "function show(t) { document.getElementById('msg').textContent = t; }\n"
    "function draw() {\n"
    "  var ul = document.getElementById('list'); ul.innerHTML = '';\n"
    "  for (var i = 0; i < chans.length; i++) {\n"
    "    var li = document.createElement('li');\n"
    "    li.textContent = chans[i].number + '  ' + chans[i].name;\n"
    "    if (i === sel) li.className = 'sel';\n"
    "    ul.appendChild(li);\n"
    "  }\n"
    "}\n"
    "function play() {\n"
    "  var c = chans[sel]; if (!c) return;\n"
    "  call('type=itv&action=create_link&cmd=' + encodeURIComponent(c.cmd), function (r) {\n"
    "    var url = (r.js && r.js.cmd || '').replace(/^[^ ]* /, '');\n"
    "    if (!url) { show('cannot play ' + c.name); return; }\n"
    "    if (player && player.Play) { player.Play('auto ' + url); return; }\n"
    "    var v = document.getElementById('v'); v.style.display = ''; v.src = url; v.play();\n"
    "  });\n"
    "}\n"
    "document.onkeydown = function (e) {\n"
    "  var k = e.keyCode;\n"
    "  if (k === 38 && sel > 0) sel--; else if (k === 40 && sel < chans.length - 1) sel++;\n"
    "  else if (k === 13) { play(); return; } else return;\n"
    "  draw();\n"
    "};\n"
    "call('type=stb&action=handshake', function (r) {\n"
    "  token = r.js.token;\n"
    "  call('type=stb&action=get_profile&stb_type=MAG250', function (r) {\n"
    "    if (r.js.status !== 0) { show(r.js.block_msg || 'not active'); return; }\n"
    "    call('type=itv&action=get_all_channels', function (r) {\n"
    "      chans = r.js.data; draw();\n"
    "    });\n"
    "  });\n"
    "});\n"
    "</script></body></html>\n";

void api_portal_page(struct api_req *r)
{
    api_cors(r, false);
    http_response_header(r->res, "Cache-Control", "no-cache");
    http_response_text(r->res, 200, "text/html; charset=utf-8", page_html);
}

const struct api_portal_ops portal_api_ops = {
    .call = api_portal,
    .page = api_portal_page,
    .play = api_portal_play,
    .metrics = NULL, /* the portal's counters are access's (refusals, last channels) */
};
