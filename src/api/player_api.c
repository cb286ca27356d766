/*
 * player_api: player_api.php and panel_api.php — the login object and every
 * catalogue action, with the field names and wire types of
 * shared/docs/xtream-api.md §3 (numbers-as-strings where real servers send
 * strings). Category and list responses are rendered once per (bouquet view,
 * action, category) and served from the snapshot's cache afterwards, gzipped
 * for clients that accept it (api/compress.c).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_priv.h"
#include "api/epg_json.h"

enum action {
    A_LOGIN,
    A_LIVE_CATEGORIES,
    A_VOD_CATEGORIES,
    A_SERIES_CATEGORIES,
    A_LIVE_STREAMS,
    A_VOD_STREAMS,
    A_SERIES,
    A_SERIES_INFO,
    A_VOD_INFO,
    A_SHORT_EPG,
    A_SIMPLE_DATA_TABLE,
    A_EPG,
};

static const struct {
    const char *name;
    const char *alias;
    enum action action;
} actions[] = {
    {"get_vod_categories", "200", A_VOD_CATEGORIES},
    {"get_live_categories", "201", A_LIVE_CATEGORIES},
    {"get_live_streams", "202", A_LIVE_STREAMS},
    {"get_vod_streams", "203", A_VOD_STREAMS},
    {"get_series_info", "204", A_SERIES_INFO},
    {"get_short_epg", "205", A_SHORT_EPG},
    {"get_series_categories", "206", A_SERIES_CATEGORIES},
    {"get_simple_data_table", "207", A_SIMPLE_DATA_TABLE},
    {"get_series", "208", A_SERIES},
    {"get_vod_info", "209", A_VOD_INFO},
    {"get_epg", NULL, A_EPG},
};

/* Missing, empty or unknown actions all mean "the login object" (spec §3.1). */
static enum action parse_action(const char *s)
{
    if (!s)
        return A_LOGIN;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcmp(s, actions[i].name) == 0 ||
            (actions[i].alias && strcmp(s, actions[i].alias) == 0))
            return actions[i].action;
    return A_LOGIN;
}

/* "7", "7.5": a number formatted as a string, at most one decimal. */
static void write_num_str(struct jsonw *w, double v)
{
    struct buf tmp = BUF_INIT(64);
    struct jsonw t;
    jsonw_init(&t, &tmp);
    jsonw_num(&t, v, 1);
    jsonw_str(w, tmp.err ? "0" : tmp.data);
    buf_free(&tmp);
}

static double five_based(double rating)
{
    return round(rating * 5.0) / 10.0; /* rating/2 to one decimal */
}

static void key_str(struct jsonw *w, const char *k, const char *v)
{
    jsonw_key(w, k);
    jsonw_str(w, v);
}

static void key_int(struct jsonw *w, const char *k, long long v)
{
    jsonw_key(w, k);
    jsonw_int(w, v);
}

static void key_int_str(struct jsonw *w, const char *k, long long v)
{
    jsonw_key(w, k);
    jsonw_int_str(w, v);
}

/* Empty text becomes null, as XUI sends for unknown metadata. */
static void key_str_or_null(struct jsonw *w, const char *k, const char *v)
{
    jsonw_key(w, k);
    jsonw_str(w, v && *v ? v : NULL);
}

static void key_category(struct jsonw *w, int64_t category_id)
{
    jsonw_key(w, "category_id");
    if (category_id)
        jsonw_int_str(w, category_id);
    else
        jsonw_str(w, "");
    jsonw_key(w, "category_ids");
    jsonw_arr_begin(w);
    if (category_id)
        jsonw_int(w, category_id);
    jsonw_arr_end(w);
}

static void key_year(struct jsonw *w, int year)
{
    jsonw_key(w, "year");
    if (year > 0)
        jsonw_int_str(w, year);
    else
        jsonw_null(w);
}

static void key_backdrops(struct jsonw *w, const char *backdrop)
{
    jsonw_key(w, "backdrop_path");
    jsonw_arr_begin(w);
    if (backdrop && *backdrop)
        jsonw_str(w, backdrop);
    jsonw_arr_end(w);
}

static void key_duration(struct jsonw *w, int64_t secs)
{
    char hms[32];
    snprintf(hms, sizeof(hms), "%02lld:%02lld:%02lld", (long long)(secs / 3600),
             (long long)(secs / 60 % 60), (long long)(secs % 60));
    key_int(w, "duration_secs", secs);
    key_str(w, "duration", hms);
}

/* Stored ffprobe summaries are re-validated before they reach a client. */
static void key_raw_json_object(struct jsonw *w, const char *k, const char *json)
{
    if (!json || !*json)
        return;
    json_t *v = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    if (v && json_is_object(v)) {
        char *s = json_dumps(v, JSON_COMPACT);
        if (s) {
            jsonw_key(w, k);
            jsonw_raw(w, s);
            free(s);
        }
    }
    json_decref(v);
}

/* Artwork URL: the stored URL, else xtreamd's own /images route for a local
 * file found by a library scan (api/vod.c serves it by id), else "". */
static const char *art_url(struct api_req *r, const char *stored, const char *file,
                           const char *kind, int64_t id, const char *which, char *out, size_t n)
{
    return api_art_url(r, stored, file, kind, id, which, out, n);
}

static void movie_display_name(const struct cat_movie *m, char *out, size_t n)
{
    if (m->year > 0)
        snprintf(out, n, "%s (%d)", m->title, m->year);
    else
        snprintf(out, n, "%s", m->title);
}

void api_write_user_info(struct api_req *r, struct jsonw *w)
{
    const struct cat_line *l = r->line;
    jsonw_key(w, "user_info");
    jsonw_obj_begin(w);
    key_str(w, "username", l->username);
    key_str(w, "password", l->password);
    key_str(w, "message", l->message);
    key_int(w, "auth", 1);
    key_str(w, "status", auth_status_name(r->status));
    jsonw_key(w, "exp_date");
    if (l->exp_date)
        jsonw_int_str(w, l->exp_date);
    else
        jsonw_null(w);
    key_str(w, "is_trial", l->is_trial ? "1" : "0");
    key_int_str(w, "active_cons", (long long)conn_registry_count_active(r->api->conns, l->id));
    key_int_str(w, "created_at", l->created_at);
    key_int_str(w, "max_connections", l->max_connections);
    jsonw_key(w, "allowed_output_formats");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < l->outputs_count; i++)
        jsonw_str(w, l->outputs_list[i]);
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

static void write_server_info(struct api_req *r, struct jsonw *w, bool panel)
{
    char host[256], port[16], now[20];
    const char *protocol;
    api_base_parts(r, host, sizeof(host), port, sizeof(port), &protocol);
    jsonw_key(w, "server_info");
    jsonw_obj_begin(w);
    /* server_protocol is the scheme of the URL base (the client's, or the
     * public URL's); the port of the other scheme is the local listener's
     * when no public URL says otherwise (behind a proxy it is unknown). */
    bool https = strcmp(protocol, "https") == 0;
    char other[16] = "";
    if (!r->api->public_url) {
        if (https)
            snprintf(other, sizeof(other), "%d", r->api->cfg.port);
        else if (r->api->https_port)
            snprintf(other, sizeof(other), "%d", r->api->https_port);
    }
    key_str(w, "url", host);
    key_str(w, "port", https ? other : port);
    key_str(w, "https_port", https ? port : other);
    key_str(w, "server_protocol", protocol);
    if (!panel) {
        key_str(w, "rtmp_port", "");
        key_str(w, "timezone", "UTC");
        key_int(w, "timestamp_now", r->now);
        api_format_time(r->now, now);
        key_str(w, "time_now", now);
        jsonw_key(w, "process");
        jsonw_bool(w, true);
    }
    jsonw_obj_end(w);
}

void api_write_login(struct api_req *r, struct jsonw *w, bool panel_server_info)
{
    api_write_user_info(r, w);
    write_server_info(r, w, panel_server_info);
}

void api_write_categories(struct api_req *r, struct jsonw *w, struct cat_view *v,
                          enum cat_kind kind)
{
    const struct catalog *c = r->cat;
    jsonw_arr_begin(w);
    for (size_t i = 0; i < c->category_count[kind]; i++) {
        if (!cat_view_has_category(v, kind, i))
            continue;
        jsonw_obj_begin(w);
        key_int_str(w, "category_id", c->categories[kind][i].id);
        key_str(w, "category_name", c->categories[kind][i].name);
        key_int(w, "parent_id", 0);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

#define LIST_NO_FILTER     (-1)
#define LIST_MATCH_NOTHING (-2)

struct list_opts {
    int64_t category; /* an id, LIST_NO_FILTER or LIST_MATCH_NOTHING */
    size_t offset;
    size_t limit; /* 0: no limit */
};

static bool list_take(const struct list_opts *o, int64_t category, size_t *seen)
{
    if (o->category != LIST_NO_FILTER && category != o->category)
        return false;
    size_t i = (*seen)++;
    return i >= o->offset && (o->limit == 0 || i < o->offset + o->limit);
}

static void write_live_streams(struct api_req *r, struct jsonw *w, struct cat_view *v,
                               const struct list_opts *o)
{
    const struct catalog *c = r->cat;
    size_t seen = 0, num = 0;
    jsonw_arr_begin(w);
    for (size_t j = 0; j < cat_view_count(v, c, CAT_LIVE); j++) {
        const struct cat_stream *s = &c->streams[cat_view_item(v, CAT_LIVE, j)];
        if (!list_take(o, s->category_id, &seen))
            continue;
        jsonw_obj_begin(w);
        key_int(w, "num", (long long)++num + (long long)o->offset);
        key_str(w, "name", s->name);
        key_str(w, "stream_type", s->stream_type);
        key_int(w, "stream_id", s->id);
        key_str(w, "stream_icon", s->logo);
        key_str(w, "epg_channel_id", s->epg_channel_id);
        key_int_str(w, "added", s->added);
        key_category(w, s->category_id);
        key_str(w, "custom_sid", s->custom_sid);
        /* Catch-up (xtream-api.md §3.4): numbers, NPM compares tv_archive === 1. */
        key_int(w, "tv_archive", s->archive_days > 0);
        key_str(w, "direct_source", s->direct_source);
        key_int(w, "tv_archive_duration", s->archive_days);
        key_str(w, "thumbnail", "");
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

static void write_vod_streams(struct api_req *r, struct jsonw *w, struct cat_view *v,
                              const struct list_opts *o)
{
    const struct catalog *c = r->cat;
    size_t seen = 0, num = 0;
    char name[1100];
    jsonw_arr_begin(w);
    for (size_t j = 0; j < cat_view_count(v, c, CAT_MOVIE); j++) {
        const struct cat_movie *m = &c->movies[cat_view_item(v, CAT_MOVIE, j)];
        if (!list_take(o, m->category_id, &seen))
            continue;
        movie_display_name(m, name, sizeof(name));
        jsonw_obj_begin(w);
        key_int(w, "num", (long long)++num + (long long)o->offset);
        key_str(w, "name", name);
        key_str(w, "title", m->title);
        key_year(w, m->year);
        key_str(w, "stream_type", "movie");
        key_int(w, "stream_id", m->id);
        char art[640];
        key_str(w, "stream_icon",
                art_url(r, m->poster, m->poster_file, "movie", m->id, "poster", art, sizeof(art)));
        jsonw_key(w, "rating");
        jsonw_num(w, m->rating, 1);
        jsonw_key(w, "rating_5based");
        jsonw_num(w, five_based(m->rating), 1);
        key_int_str(w, "added", m->added);
        key_str(w, "plot", m->plot);
        key_str(w, "cast", m->cast);
        key_str(w, "director", m->director);
        key_str(w, "genre", m->genre);
        key_str(w, "release_date", m->release_date);
        key_str(w, "youtube_trailer", m->youtube_trailer);
        key_int(w, "episode_run_time", m->duration_secs / 60);
        key_category(w, m->category_id);
        key_str(w, "container_extension", m->container);
        key_str(w, "custom_sid", m->custom_sid);
        key_str(w, "direct_source", m->direct_source);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

/* A series' cover URL (stored, else its local poster, else ""). */
static const char *series_cover(struct api_req *r, const struct cat_series *s, char *out, size_t n)
{
    return art_url(r, s->cover, s->cover_file, "series", s->id, "poster", out, n);
}

/* Fields shared by get_series items and get_series_info.info. */
static void write_series_fields(struct api_req *r, struct jsonw *w, const struct cat_series *s)
{
    char name[1100], art[640];
    if (s->year > 0)
        snprintf(name, sizeof(name), "%s (%d)", s->title, s->year);
    else
        snprintf(name, sizeof(name), "%s", s->title);
    key_str(w, "name", name);
    key_str(w, "title", s->title);
    key_year(w, s->year);
    key_str(w, "cover", series_cover(r, s, art, sizeof(art)));
    key_str(w, "plot", s->plot);
    key_str(w, "cast", s->cast);
    key_str(w, "director", s->director);
    key_str(w, "genre", s->genre);
    key_str(w, "release_date", s->release_date);
    key_str(w, "releaseDate", s->release_date);
    key_int_str(w, "last_modified", s->last_modified);
    jsonw_key(w, "rating");
    write_num_str(w, s->rating);
    jsonw_key(w, "rating_5based");
    jsonw_num(w, five_based(s->rating), 1);
    key_backdrops(w, art_url(r, s->backdrop, s->backdrop_file, "series", s->id, "backdrop", art,
                             sizeof(art)));
    key_str(w, "youtube_trailer", s->youtube_trailer);
    key_int_str(w, "episode_run_time", s->episode_run_time);
    key_category(w, s->category_id);
}

static void write_series_list(struct api_req *r, struct jsonw *w, struct cat_view *v,
                              const struct list_opts *o)
{
    const struct catalog *c = r->cat;
    size_t seen = 0, num = 0;
    jsonw_arr_begin(w);
    for (size_t j = 0; j < cat_view_count(v, c, CAT_SERIES); j++) {
        const struct cat_series *s = &c->series[cat_view_item(v, CAT_SERIES, j)];
        if (!list_take(o, s->category_id, &seen))
            continue;
        jsonw_obj_begin(w);
        key_int(w, "num", (long long)++num + (long long)o->offset);
        key_str(w, "stream_type", "series");
        key_int(w, "series_id", s->id);
        write_series_fields(r, w, s);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

static size_t index_of(const void *base, const void *item, size_t stride)
{
    return (size_t)((const char *)item - (const char *)base) / stride;
}

static void write_vod_info(struct api_req *r, struct jsonw *w, struct cat_view *v)
{
    const struct catalog *c = r->cat;
    const char *idp = http_request_param(r->req, "vod_id");
    int64_t id = idp ? api_parse_id(idp, strlen(idp)) : -1;
    const struct cat_movie *m = id > 0 ? catalog_movie(c, id) : NULL;
    if (m && !cat_view_has_movie(v, c, index_of(c->movies, m, sizeof(*m))))
        m = NULL;
    jsonw_obj_begin(w);
    jsonw_key(w, "info");
    if (!m) { /* exactly {"info":[]}: clients detect "not found" by it */
        jsonw_arr_begin(w);
        jsonw_arr_end(w);
        jsonw_obj_end(w);
        return;
    }
    char name[1100];
    movie_display_name(m, name, sizeof(name));
    jsonw_obj_begin(w);
    key_str(w, "kinopoisk_url", "");
    key_int(w, "tmdb_id", m->tmdb_id);
    key_str(w, "name", m->title);
    key_str(w, "o_name", *m->original_title ? m->original_title : m->title);
    char art[640], bd[640];
    const char *poster =
        art_url(r, m->poster, m->poster_file, "movie", m->id, "poster", art, sizeof(art));
    key_str(w, "cover_big", poster);
    key_str(w, "movie_image", poster);
    key_str(w, "release_date", m->release_date);
    key_str(w, "releasedate", m->release_date);
    key_int(w, "episode_run_time", m->duration_secs / 60);
    key_str(w, "youtube_trailer", m->youtube_trailer);
    key_str(w, "director", m->director);
    key_str(w, "actors", m->cast);
    key_str(w, "cast", m->cast);
    key_str(w, "description", m->plot);
    key_str(w, "plot", m->plot);
    key_str(w, "age", "");
    key_str(w, "mpaa_rating", m->mpaa_rating);
    key_int(w, "rating_count_kinopoisk", 0);
    key_str(w, "country", m->country);
    key_str(w, "genre", m->genre);
    key_backdrops(
        w, art_url(r, m->backdrop, m->backdrop_file, "movie", m->id, "backdrop", bd, sizeof(bd)));
    key_duration(w, m->duration_secs);
    key_int(w, "bitrate", m->bitrate_kbps);
    jsonw_key(w, "rating");
    jsonw_num(w, m->rating, 1);
    jsonw_key(w, "subtitles");
    jsonw_arr_begin(w);
    jsonw_arr_end(w);
    key_raw_json_object(w, "video", m->video_json);
    key_raw_json_object(w, "audio", m->audio_json);
    jsonw_obj_end(w);
    jsonw_key(w, "movie_data");
    jsonw_obj_begin(w);
    key_int(w, "stream_id", m->id);
    key_str(w, "name", name);
    key_str(w, "title", m->title);
    key_year(w, m->year);
    key_int_str(w, "added", m->added);
    key_category(w, m->category_id);
    key_str(w, "container_extension", m->container);
    key_str(w, "custom_sid", m->custom_sid);
    key_str(w, "direct_source", m->direct_source);
    jsonw_obj_end(w);
    jsonw_obj_end(w);
}

static void write_series_not_found(struct jsonw *w)
{
    static const char *const null_keys[] = {"name",
                                            "title",
                                            "year",
                                            "cover",
                                            "plot",
                                            "cast",
                                            "director",
                                            "genre",
                                            "release_date",
                                            "releaseDate",
                                            "last_modified",
                                            "youtube_trailer",
                                            "episode_run_time"};
    jsonw_key(w, "seasons");
    jsonw_arr_begin(w);
    jsonw_arr_end(w);
    jsonw_key(w, "info");
    jsonw_obj_begin(w);
    for (size_t i = 0; i < sizeof(null_keys) / sizeof(null_keys[0]); i++) {
        jsonw_key(w, null_keys[i]);
        jsonw_null(w);
    }
    key_str(w, "rating", "0");
    key_int(w, "rating_5based", 0);
    key_backdrops(w, NULL);
    key_category(w, 0);
    jsonw_obj_end(w);
    jsonw_key(w, "episodes");
    jsonw_obj_begin(w);
    jsonw_obj_end(w);
}

static void write_episode(struct api_req *r, struct jsonw *w, const struct cat_series *s,
                          const struct cat_episode *e)
{
    char title[1200], art[640];
    /* The episode's own image (stored URL or local thumb), else the series cover. */
    const char *image =
        art_url(r, e->image, e->image_file, "episode", e->id, "poster", art, sizeof(art));
    if (!*image)
        image = series_cover(r, s, art, sizeof(art));
    if (*e->title)
        snprintf(title, sizeof(title), "%s - S%02dE%02d - %s", s->title, e->season, e->episode_num,
                 e->title);
    else
        snprintf(title, sizeof(title), "%s - S%02dE%02d", s->title, e->season, e->episode_num);
    jsonw_obj_begin(w);
    key_int_str(w, "id", e->id);
    key_int_str(w, "episode_num", e->episode_num);
    key_str(w, "title", title);
    key_str(w, "container_extension", e->container);
    jsonw_key(w, "info");
    jsonw_obj_begin(w);
    key_int(w, "tmdb_id", e->tmdb_id);
    key_str(w, "name", *e->title ? e->title : title);
    key_str(w, "release_date", e->release_date);
    key_str(w, "releasedate", e->release_date);
    key_str(w, "plot", e->plot);
    key_duration(w, e->duration_secs);
    key_str(w, "movie_image", image);
    key_str(w, "cover_big", image);
    key_int(w, "bitrate", e->bitrate_kbps);
    jsonw_key(w, "rating");
    jsonw_num(w, e->rating, 1);
    key_int(w, "season", e->season);
    key_raw_json_object(w, "video", e->video_json);
    key_raw_json_object(w, "audio", e->audio_json);
    jsonw_obj_end(w);
    jsonw_key(w, "subtitles");
    jsonw_arr_begin(w);
    jsonw_arr_end(w);
    key_str(w, "custom_sid", e->custom_sid);
    key_int_str(w, "added", e->added);
    key_int(w, "season", e->season);
    key_str(w, "direct_source", e->direct_source);
    jsonw_obj_end(w);
}

static void write_series_info(struct api_req *r, struct jsonw *w, struct cat_view *v)
{
    const struct catalog *c = r->cat;
    const char *idp = http_request_param(r->req, "series_id");
    int64_t id = idp ? api_parse_id(idp, strlen(idp)) : -1;
    const struct cat_series *s = id > 0 ? catalog_series(c, id) : NULL;
    if (s && !cat_view_has_series(v, c, index_of(c->series, s, sizeof(*s))))
        s = NULL;
    jsonw_obj_begin(w);
    if (!s) {
        write_series_not_found(w);
        jsonw_obj_end(w);
        return;
    }
    jsonw_key(w, "seasons");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < s->season_count; i++) {
        const struct cat_season *se = &s->seasons[i];
        char name[64], art[640];
        snprintf(name, sizeof(name), se->number == 0 ? "Specials" : "Season %d", se->number);
        jsonw_obj_begin(w);
        key_str_or_null(w, "air_date", se->air_date);
        key_int(w, "episode_count", se->episode_count);
        key_int(w, "id", se->number);
        key_str(w, "name", *se->name ? se->name : name);
        key_str(w, "overview", se->overview);
        key_int(w, "season_number", se->number);
        key_int(w, "vote_average", 0);
        const char *cover = *se->cover ? se->cover : series_cover(r, s, art, sizeof(art));
        key_str(w, "cover", cover);
        key_str(w, "cover_big", cover);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "info");
    jsonw_obj_begin(w);
    write_series_fields(r, w, s);
    jsonw_obj_end(w);
    /* Always an object keyed by season number strings, even for seasons 0..n. */
    jsonw_key(w, "episodes");
    jsonw_obj_begin(w);
    for (size_t i = 0; i < s->episode_count; i++) {
        const struct cat_episode *e = &s->episodes[i];
        if (i == 0 || e->season != s->episodes[i - 1].season) {
            char key[16];
            if (i > 0)
                jsonw_arr_end(w);
            snprintf(key, sizeof(key), "%d", e->season);
            jsonw_key(w, key);
            jsonw_arr_begin(w);
        }
        write_episode(r, w, s, e);
    }
    if (s->episode_count)
        jsonw_arr_end(w);
    jsonw_obj_end(w);
    jsonw_obj_end(w);
}

static size_t param_size(struct api_req *r, const char *key)
{
    const char *v = http_request_param(r->req, key);
    if (!v || !*v)
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    return *end == '\0' && n > 0 ? (size_t)n : 0;
}

static void list_options(struct api_req *r, struct list_opts *o)
{
    const char *cat = http_request_param(r->req, "category_id");
    o->category = LIST_NO_FILTER;
    if (cat && *cat) {
        o->category = api_parse_id(cat, strlen(cat));
        if (o->category < 0)
            o->category = LIST_MATCH_NOTHING; /* not an id: an empty list */
    }
    o->offset = param_size(r, "params[offset]");
    o->limit = param_size(r, "params[items_per_page]");
}

static void render_action(struct api_req *r, struct jsonw *w, struct cat_view *v, enum action a,
                          const struct list_opts *o)
{
    switch (a) {
    case A_LIVE_CATEGORIES:
        api_write_categories(r, w, v, CAT_LIVE);
        break;
    case A_VOD_CATEGORIES:
        api_write_categories(r, w, v, CAT_MOVIE);
        break;
    case A_SERIES_CATEGORIES:
        api_write_categories(r, w, v, CAT_SERIES);
        break;
    case A_LIVE_STREAMS:
        write_live_streams(r, w, v, o);
        break;
    case A_VOD_STREAMS:
        write_vod_streams(r, w, v, o);
        break;
    case A_SERIES:
        write_series_list(r, w, v, o);
        break;
    case A_VOD_INFO:
        write_vod_info(r, w, v);
        break;
    case A_SERIES_INFO:
        write_series_info(r, w, v);
        break;
    case A_SHORT_EPG:
        api_epg_write(r, w, v, API_EPG_SHORT);
        break;
    case A_SIMPLE_DATA_TABLE:
        api_epg_write(r, w, v, API_EPG_TABLE);
        break;
    case A_EPG:
        api_epg_write(r, w, v, API_EPG_FULL);
        break;
    case A_LOGIN:
        break;
    }
}

static bool cacheable(enum action a, const struct list_opts *o)
{
    /* Info and EPG answers depend on other parameters (ids, limit) and on time. */
    bool per_request = a == A_VOD_INFO || a == A_SERIES_INFO || a == A_SHORT_EPG ||
                       a == A_SIMPLE_DATA_TABLE || a == A_EPG;
    return !per_request && o->offset == 0 && o->limit == 0;
}

static void respond_login(struct api_req *r, int status)
{
    struct buf body = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &body);
    jsonw_obj_begin(&w);
    api_write_login(r, &w, false);
    jsonw_obj_end(&w);
    api_json_response(r, status, &body);
    buf_free(&body);
}

static void respond_auth_failed(struct api_req *r)
{
    static const char body[] = "{\"user_info\":{\"auth\":0}}";
    http_response_status(r->res, 401);
    http_response_header(r->res, "Content-Type", "application/json");
    http_response_body(r->res, body, sizeof(body) - 1);
}

/* Renders of uncached lists off the loop (api/render.c): what the worker
 * needs, copied into the job. */
struct list_job {
    enum action action;
    struct list_opts opts;
    char base[512];
};

static void list_render(struct catalog *cat, struct cat_view *v, const void *arg, struct buf *out)
{
    const struct list_job *lj = arg;
    struct api_req r; /* only what the list writers read */
    memset(&r, 0, sizeof(r));
    r.cat = cat;
    memcpy(r.base, lj->base, sizeof(r.base));
    struct jsonw jw;
    jsonw_init(&jw, out);
    render_action(&r, &jw, v, lj->action, &lj->opts);
}

static void list_answer(struct api_req *r, struct refbuf *rb, const struct api_cache_slot *slot,
                        const void *arg)
{
    (void)arg;
    http_response_status(r->res, 200);
    http_response_header(r->res, "Content-Type", "application/json");
    api_respond_cached(r, rb, slot);
}

static int render_defer(struct api_req *r, struct cat_view *v, const char *key, enum action a,
                        const struct list_opts *o, const char *what)
{
    struct list_job lj = {.action = a, .opts = *o};
    memcpy(lj.base, r->base, sizeof(lj.base));
    struct api_render_req q = {.view = v,
                               .key = key,
                               .what = what,
                               .render = list_render,
                               .answer = list_answer,
                               .arg = &lj,
                               .arg_len = sizeof(lj)};
    return api_render_defer(r, &q);
}

static bool render_off_loop(enum action a)
{
    return a == A_LIVE_STREAMS || a == A_VOD_STREAMS || a == A_SERIES;
}

void api_player(struct api_req *r, const char *action_name)
{
    api_cors(r, true);
    api_authenticate(r);
    if (r->throttled)
        return;
    if (r->status == AUTH_INVALID) {
        respond_auth_failed(r);
        return;
    }
    enum action a = parse_action(action_name);
    if (a == A_LOGIN || r->status != AUTH_OK) {
        respond_login(r, a == A_LOGIN ? 200 : 403);
        return;
    }
    struct cat_view *v = catalog_view(r->cat, r->line);
    if (!v) {
        api_text_error(r, 500, "out of memory\n");
        return;
    }
    struct list_opts o;
    list_options(r, &o);
    /* The full key: action, category filter and, since lists embed artwork
     * URLs built from the request's base URL, the base — unless --public-url
     * fixes it, so that Host headers cannot multiply the entries. */
    char key[640];
    snprintf(key, sizeof(key), "%d|%lld|%s", (int)a, (long long)o.category,
             r->api->public_url ? "" : r->base);
    bool use_cache = cacheable(a, &o);
    struct refbuf *rb = use_cache ? cat_view_cache_get(v, key) : NULL;
    if (!rb && use_cache && render_off_loop(a) && render_defer(r, v, key, a, &o, action_name) == 0)
        return; /* answered when the thread pool has rendered it */
    if (!rb) {
        struct buf body = BUF_INIT(0);
        struct jsonw w;
        jsonw_init(&w, &body);
        render_action(r, &w, v, a, &o);
        if (body.err) {
            buf_free(&body);
            api_text_error(r, 500, "response too large\n");
            return;
        }
        rb = refbuf_new(body.data, body.len);
        buf_free(&body);
        if (!rb) {
            api_text_error(r, 500, "out of memory\n");
            return;
        }
        (void)refbuf_add_memfd(rb, "xtreamd-list"); /* else sent by copy */
        if (use_cache)
            cat_view_cache_put(v, key, rb);
    }
    http_response_status(r->res, 200);
    http_response_header(r->res, "Content-Type", "application/json");
    if (use_cache) {
        struct api_cache_slot slot = {.view = v, .skey = key, .what = action_name};
        api_respond_cached(r, rb, &slot);
    } else {
        http_response_body_ref(r->res, rb);
    }
    refbuf_unref(rb);
}

static void write_available_channels(struct api_req *r, struct jsonw *w, struct cat_view *v)
{
    const struct catalog *c = r->cat;
    size_t num = 0;
    jsonw_key(w, "available_channels");
    jsonw_obj_begin(w);
    for (size_t j = 0; j < cat_view_count(v, c, CAT_LIVE); j++) {
        const struct cat_stream *s = &c->streams[cat_view_item(v, CAT_LIVE, j)];
        const struct cat_category *cat = catalog_category(c, CAT_LIVE, s->category_id);
        char key[24];
        snprintf(key, sizeof(key), "%lld", (long long)s->id);
        jsonw_key(w, key);
        jsonw_obj_begin(w);
        key_int(w, "num", (long long)++num);
        key_str(w, "name", s->name);
        key_str(w, "stream_type", s->stream_type);
        key_str(w, "type_name", "Live Streams");
        key_int_str(w, "stream_id", s->id);
        key_str(w, "stream_icon", s->logo);
        key_str(w, "epg_channel_id", s->epg_channel_id);
        key_int_str(w, "added", s->added);
        key_str(w, "category_name", cat ? cat->name : NULL);
        jsonw_key(w, "category_id");
        if (s->category_id)
            jsonw_int_str(w, s->category_id);
        else
            jsonw_null(w);
        key_int_str(w, "series_no", 0);
        key_str(w, "live", "1");
        key_str(w, "container_extension", NULL);
        key_str(w, "custom_sid", s->custom_sid);
        key_int(w, "tv_archive", s->archive_days > 0);
        key_str(w, "direct_source", s->direct_source);
        key_int(w, "tv_archive_duration", s->archive_days);
        jsonw_obj_end(w);
    }
    jsonw_obj_end(w);
}

void api_panel(struct api_req *r)
{
    api_cors(r, true);
    api_authenticate(r);
    if (r->throttled)
        return;
    if (r->status == AUTH_INVALID) {
        respond_auth_failed(r);
        return;
    }
    struct cat_view *v = catalog_view(r->cat, r->line);
    if (!v) {
        api_text_error(r, 500, "out of memory\n");
        return;
    }
    struct buf body = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &body);
    jsonw_obj_begin(&w);
    api_write_login(r, &w, true);
    if (r->status == AUTH_OK) {
        static const char *const names[CAT_KIND_COUNT] = {"live", "movie", "series"};
        jsonw_key(&w, "categories");
        jsonw_obj_begin(&w);
        for (int k = 0; k < CAT_KIND_COUNT; k++) {
            jsonw_key(&w, names[k]);
            api_write_categories(r, &w, v, (enum cat_kind)k);
        }
        jsonw_obj_end(&w);
        write_available_channels(r, &w, v);
    }
    jsonw_obj_end(&w);
    if (body.err)
        api_text_error(r, 500, "response too large\n");
    else
        api_json_response(r, r->status == AUTH_OK ? 200 : 403, &body);
    buf_free(&body);
}
