/*
 * catalog_load: reads the whole client-visible catalogue out of SQLite into a
 * new snapshot (see catalog/catalog.h). Runs inside one read transaction so the
 * snapshot is consistent even while the CLI writes. Any thread, with a db
 * connection of its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog_priv.h"
#include "core/array.h"
#include "core/buf.h"
#include "core/log.h"
#include "db/db_priv.h"
#include "db/profiles.h"
#include "db/settings.h"
#include "core/hash.h"

/* The `kind` column value of each enum cat_kind. */
static const char *const kind_names[CAT_KIND_COUNT] = {"live", "movie", "series"};

struct loader {
    struct db *db;
    struct catalog *c;
    struct cat_content *ct; /* the content part being read, if any */
    struct arena *a;        /* where strings and arrays go: ct's or c's */
    int err;
    /* FNV-1a over every column of every row read while hash_rows is set:
     * the catalogue's content (everything but the lines and the guide), so
     * that a snapshot rebuilt for a line change can keep its predecessor's
     * rendered responses (catalog_adopt_caches). Hashing the rows, not the
     * structs, means a column added to a query can never be forgotten. */
    uint64_t hash;
    bool hash_rows;
};

static void hash_bytes(struct loader *l, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = l->hash;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * HASH_FNV1A_PRIME;
    l->hash = h;
}

static void hash_row(struct loader *l, struct db_stmt *st)
{
    int n = db_col_count(st);
    for (int i = 0; i < n; i++) {
        unsigned char type = (unsigned char)db_col_type(st, i);
        hash_bytes(l, &type, 1);
        if (type == DB_T_INT) {
            int64_t v = db_col_int64(st, i);
            hash_bytes(l, &v, sizeof(v));
        } else if (type == DB_T_FLOAT) {
            double v = db_col_double(st, i);
            hash_bytes(l, &v, sizeof(v));
        } else if (type != DB_T_NULL) {
            const void *v = db_col_blob(st, i);
            size_t len = db_col_bytes(st, i);
            hash_bytes(l, &len, sizeof(len)); /* "ab","c" differs from "a","bc" */
            if (v && len > 0)
                hash_bytes(l, v, len);
        }
    }
}

/* db_step for the catalogue's rows: hashes each row it returns. */
static int step(struct loader *l, struct db_stmt *st)
{
    int rc = db_step(st);
    if (rc == DB_ROW && l->hash_rows)
        hash_row(l, st);
    return rc;
}

static const char *dup_col(struct loader *l, struct db_stmt *st, int i)
{
    char *s = arena_strdup(l->a, db_col_text(st, i));
    if (!s)
        l->err = -ENOMEM;
    return s ? s : "";
}

static const char *dup_col_or_null(struct loader *l, struct db_stmt *st, int i)
{
    if (db_col_is_null(st, i) || !*db_col_text(st, i))
        return NULL;
    return dup_col(l, st, i);
}

static size_t count_rows(struct loader *l, const char *sql)
{
    struct db_stmt *st;
    size_t n = 0;
    if (db_prepare(l->db, sql, &st)) {
        l->err = -EIO;
        return 0;
    }
    if (db_step(st) == DB_ROW)
        n = (size_t)db_col_int64(st, 0);
    db_finalize(st);
    return n;
}

static void *alloc_array(struct loader *l, size_t n, size_t size)
{
    void *p = arena_alloc(l->a, (n ? n : 1) * size);
    if (!p)
        l->err = -ENOMEM;
    return p;
}

static struct db_stmt *prepare(struct loader *l, const char *sql)
{
    struct db_stmt *st = NULL;
    if (!l->err && db_prepare(l->db, sql, &st))
        l->err = -EIO;
    return st;
}

/* Fills one catalogue element (zeroed) from the current row of st. */
typedef void row_fn(struct loader *l, struct db_stmt *st, void *elem, void *ctx);

/* A whole table as one arena array: room for the rows count_sql counts, filled
 * by row() from the rows of sql (at most that many; *count of them). Reads no
 * rows once l->err is set, e.g. by the caller preparing row()'s statements. */
static void *load_table(struct loader *l, const char *count_sql, const char *sql, size_t size,
                        row_fn *row, void *ctx, size_t *count)
{
    size_t cap = count_rows(l, count_sql);
    char *arr = alloc_array(l, cap, size);
    struct db_stmt *st = prepare(l, sql);
    while (st && arr && *count < cap && step(l, st) == DB_ROW)
        row(l, st, arr + (*count)++ * size, ctx);
    db_finalize(st);
    return arr;
}

/* Every row of st (bound by the caller) as an arena array of *count elements,
 * gathered on the heap first (capacity doubling from min_cap). */
static void *load_rows(struct loader *l, struct db_stmt *st, size_t size, size_t min_cap,
                       row_fn *row, void *ctx, size_t *count)
{
    size_t cap = 0, n = 0;
    char *arr = NULL;
    while (step(l, st) == DB_ROW) {
        char *grown = array_reserve(arr, &cap, n + 1, size, min_cap);
        if (!grown) {
            l->err = -ENOMEM;
            break;
        }
        arr = grown;
        memset(arr + n * size, 0, size);
        row(l, st, arr + n++ * size, ctx);
    }
    void *final = alloc_array(l, n, size);
    if (final && n)
        memcpy(final, arr, n * size);
    free(arr);
    *count = final ? n : 0;
    return final;
}

static void category_row(struct loader *l, struct db_stmt *st, void *elem, void *ctx)
{
    struct cat_category *cat = elem;
    cat->id = db_col_int64(st, 0);
    cat->kind = *(const enum cat_kind *)ctx;
    cat->name = dup_col(l, st, 1);
}

static void load_categories(struct loader *l)
{
    for (int k = 0; k < CAT_KIND_COUNT; k++) {
        struct db_stmt *st = prepare(l, "SELECT id, name FROM categories WHERE kind = ?1 "
                                        "ORDER BY sort_order, id");
        if (!st)
            return;
        db_bind_text(st, 1, kind_names[k]);
        enum cat_kind kind = (enum cat_kind)k;
        l->ct->categories[k] = load_rows(l, st, sizeof(struct cat_category), 64, category_row,
                                         &kind, &l->ct->category_count[k]);
        db_finalize(st);
    }
}

struct id_index {
    int64_t id;
    size_t at;
};

static int id_index_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct id_index *)a)->id, y = ((const struct id_index *)b)->id;
    return (x > y) - (x < y);
}

/* Every stream's source list (the live engine's ingest order), read in one
 * query: one per stream cost a round trip each on PostgreSQL (10,000
 * channels: 10,000 queries before a server could listen). */
static void load_stream_sources(struct loader *l)
{
    struct cat_content *c = l->ct;
    if (!c->stream_count)
        return;
    struct id_index *ix = malloc(c->stream_count * sizeof(*ix));
    const char **urls = malloc(64 * sizeof(*urls));
    if (!ix || !urls) {
        free(ix);
        free(urls);
        l->err = -ENOMEM;
        return;
    }
    for (size_t i = 0; i < c->stream_count; i++)
        ix[i] = (struct id_index){c->streams[i].id, i};
    qsort(ix, c->stream_count, sizeof(*ix), id_index_cmp);
    struct db_stmt *st = prepare(l, "SELECT stream_id, url FROM stream_sources"
                                    " ORDER BY stream_id, position");
    struct cat_stream *cur = NULL;
    int64_t cur_id = 0;
    size_t n = 0;
    for (;;) {
        int rc = st && !l->err ? step(l, st) : DB_DONE;
        int64_t id = rc == DB_ROW ? db_col_int64(st, 0) : 0;
        if (cur && (rc != DB_ROW || id != cur_id)) {
            const char **arr = alloc_array(l, n, sizeof(*arr));
            if (arr)
                memcpy(arr, urls, n * sizeof(*arr));
            cur->sources = arr;
            cur->source_count = arr ? n : 0;
            cur = NULL;
        }
        if (rc != DB_ROW)
            break;
        if (!cur && id != cur_id) {
            struct id_index key = {id, 0};
            struct id_index *hit = bsearch(&key, ix, c->stream_count, sizeof(*ix), id_index_cmp);
            cur = hit ? &c->streams[hit->at] : NULL; /* NULL: a disabled stream */
            cur_id = id;
            n = 0;
        }
        if (cur && n < 64)
            urls[n++] = dup_col(l, st, 1);
    }
    db_finalize(st);
    free(ix);
    free(urls);
}

/* Every stream's cluster placements: one query over the table (ordered by stream, then
 * node), each stream pointing at its run of rows. */
static void load_stream_placements(struct loader *l)
{
    struct cat_content *c = l->ct;
    struct db_stmt *st = prepare(l, "SELECT stream_id, node_id, mode, parent_node_id"
                                    " FROM stream_placements ORDER BY stream_id, node_id");
    if (!st)
        return;
    struct cat_placement *rows = NULL;
    int64_t *sids = NULL;
    size_t n = 0, cap = 0;
    while (!l->err && step(l, st) == DB_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct cat_placement *r = realloc(rows, nc * sizeof(*rows));
            int64_t *s = r ? realloc(sids, nc * sizeof(*sids)) : NULL;
            if (r)
                rows = r;
            if (s)
                sids = s;
            if (!r || !s) {
                l->err = -ENOMEM;
                break;
            }
            cap = nc;
        }
        sids[n] = db_col_int64(st, 0);
        const char *mode = db_col_text(st, 2);
        rows[n] = (struct cat_placement){
            .node_id = db_col_int64(st, 1),
            .parent_node_id = db_col_is_null(st, 3) ? 0 : db_col_int64(st, 3),
            .always = mode && strcmp(mode, "always") == 0,
        };
        n++;
    }
    db_finalize(st);
    struct cat_placement *all = n && !l->err ? alloc_array(l, n, sizeof(*all)) : NULL;
    if (all)
        memcpy(all, rows, n * sizeof(*all));
    for (size_t i = 0; all && i < c->stream_count; i++) {
        struct cat_stream *s = &c->streams[i];
        size_t lo = 0, hi = n; /* the first row of s->id */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (sids[mid] < s->id)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t end = lo;
        while (end < n && sids[end] == s->id)
            end++;
        s->placements = end > lo ? all + lo : NULL;
        s->placement_count = end - lo;
    }
    free(rows);
    free(sids);
}

/* Replaces each stream's profile id (stream_row) by an arena copy of the
 * profile, shared by the streams that name it. */
static void load_stream_profiles(struct loader *l)
{
    struct cat_content *c = l->ct;
    struct tx_profile *all = NULL;
    size_t n = 0;
    bool any = false;
    for (size_t i = 0; i < c->stream_count; i++)
        any = any || c->streams[i].profile;
    if (any && db_profile_list(l->db, &all, &n) < 0) {
        l->err = -EIO;
        n = 0;
    }
    const struct tx_profile **copies = n ? alloc_array(l, n, sizeof(*copies)) : NULL;
    for (size_t i = 0; i < c->stream_count; i++) {
        int64_t id = (int64_t)(intptr_t)c->streams[i].profile;
        c->streams[i].profile = NULL;
        for (size_t k = 0; id && copies && k < n; k++) {
            if (all[k].id != id)
                continue;
            if (!copies[k]) {
                struct tx_profile *cp = arena_alloc(l->a, sizeof(*cp));
                if (!cp) {
                    l->err = -ENOMEM;
                    break;
                }
                *cp = all[k];
                copies[k] = cp;
            }
            c->streams[i].profile = copies[k];
        }
    }
    free(all);
}

static void stream_row(struct loader *l, struct db_stmt *st, void *elem, void *ctx)
{
    struct cat_stream *s = elem;
    (void)ctx;
    s->id = db_col_int64(st, 0);
    s->name = dup_col(l, st, 1);
    s->category_id = db_col_int64(st, 2);
    s->stream_type = dup_col(l, st, 3);
    s->epg_channel_id = dup_col_or_null(l, st, 4);
    s->logo = dup_col(l, st, 5);
    s->custom_sid = dup_col(l, st, 6);
    s->direct_source = db_col_int(st, 7) ? dup_col(l, st, 8) : "";
    s->archive_days = db_col_int(st, 9);
    s->is_adult = db_col_int(st, 10) != 0;
    s->added = db_col_int64(st, 11);
    s->always_on = db_col_int(st, 12) != 0;
    /* the profile's id until load_stream_profiles() resolves it */
    s->profile = (const struct tx_profile *)(intptr_t)db_col_int64(st, 13);
}

static void load_streams(struct loader *l)
{
    struct cat_content *c = l->ct;
    c->streams = load_table(
        l, "SELECT count(*) FROM streams WHERE enabled = 1",
        "SELECT s.id, s.name, s.category_id, s.stream_type,"
        /* the tvg-id, else the automatic EPG mapping (epg/map.c) */
        " COALESCE(NULLIF(s.epg_channel_id, ''), s.epg_auto_id), s.logo,"
        " s.custom_sid, s.direct_source,"
        " (SELECT url FROM stream_sources WHERE stream_id = s.id ORDER BY position LIMIT 1),"
        " s.tv_archive_days, s.is_adult, s.added, s.always_on,"
        " COALESCE(s.transcode_profile_id, 0)"
        " FROM streams s WHERE s.enabled = 1 ORDER BY s.sort_order, s.id",
        sizeof(*c->streams), stream_row, NULL, &c->stream_count);
    load_stream_sources(l);
    load_stream_placements(l);
    load_stream_profiles(l);
}

static void movie_row(struct loader *l, struct db_stmt *st, void *elem, void *ctx)
{
    struct cat_movie *m = elem;
    (void)ctx;
    m->id = db_col_int64(st, 0);
    m->title = dup_col(l, st, 1);
    m->original_title = dup_col(l, st, 2);
    m->year = db_col_int(st, 3);
    m->category_id = db_col_int64(st, 4);
    m->container = dup_col(l, st, 5);
    m->poster = dup_col(l, st, 6);
    m->backdrop = dup_col(l, st, 7);
    m->plot = dup_col(l, st, 8);
    m->cast = dup_col(l, st, 9);
    m->director = dup_col(l, st, 10);
    m->genre = dup_col(l, st, 11);
    m->country = dup_col(l, st, 12);
    m->release_date = dup_col(l, st, 13);
    m->youtube_trailer = dup_col(l, st, 14);
    m->mpaa_rating = dup_col(l, st, 15);
    m->video_json = dup_col(l, st, 16);
    m->audio_json = dup_col(l, st, 17);
    m->custom_sid = dup_col(l, st, 18);
    m->direct_source = db_col_int(st, 19) ? dup_col(l, st, 20) : "";
    m->rating = db_col_double(st, 21);
    m->tmdb_id = db_col_int64(st, 22);
    m->duration_secs = db_col_int64(st, 23);
    m->bitrate_kbps = db_col_int64(st, 24);
    m->added = db_col_int64(st, 25);
    m->available = true;
    m->source = dup_col(l, st, 20);
    m->file_size = db_col_int64(st, 26);
    m->file_mtime = db_col_int64(st, 27);
    m->poster_file = dup_col(l, st, 28);
    m->backdrop_file = dup_col(l, st, 29);
}

static void load_movies(struct loader *l)
{
    struct cat_content *c = l->ct;
    c->movies = load_table(
        l, "SELECT count(*) FROM movies WHERE available = 1",
        "SELECT id, title, original_title, year, category_id, container, poster, backdrop,"
        " plot, cast_names, director, genre, country, release_date, youtube_trailer,"
        " mpaa_rating, video_json, audio_json, custom_sid, direct_source, source, rating,"
        " tmdb_id, duration_secs, bitrate_kbps, added, file_size, file_mtime, poster_file,"
        " backdrop_file FROM movies WHERE available = 1 ORDER BY sort_order, id",
        sizeof(*c->movies), movie_row, NULL, &c->movie_count);
}

static void episode_row(struct loader *l, struct db_stmt *st, void *elem, void *ctx)
{
    struct cat_episode *e = elem;
    (void)ctx;
    e->id = db_col_int64(st, 0);
    e->season = db_col_int(st, 1);
    e->episode_num = db_col_int(st, 2);
    e->title = dup_col(l, st, 3);
    e->container = dup_col(l, st, 4);
    e->plot = dup_col(l, st, 5);
    e->release_date = dup_col(l, st, 6);
    e->image = dup_col(l, st, 7);
    e->video_json = dup_col(l, st, 8);
    e->audio_json = dup_col(l, st, 9);
    e->custom_sid = dup_col(l, st, 10);
    e->direct_source = db_col_int(st, 11) ? dup_col(l, st, 12) : "";
    e->rating = db_col_double(st, 13);
    e->tmdb_id = db_col_int64(st, 14);
    e->duration_secs = db_col_int64(st, 15);
    e->bitrate_kbps = db_col_int64(st, 16);
    e->added = db_col_int64(st, 17);
    e->source = dup_col(l, st, 12);
    e->file_size = db_col_int64(st, 18);
    e->file_mtime = db_col_int64(st, 19);
    e->image_file = dup_col(l, st, 20);
}

static void load_episodes(struct loader *l, struct cat_series *s, struct db_stmt *st)
{
    db_reset(st);
    db_bind_int64(st, 1, s->id);
    s->episodes = load_rows(l, st, sizeof(*s->episodes), 16, episode_row, NULL, &s->episode_count);
}

/* One season entry per distinct season with episodes; details from `seasons` when
 * present, synthesised otherwise (players such as Hypnotix need the list). */
static void load_seasons(struct loader *l, struct cat_series *s, struct db_stmt *st)
{
    size_t n = 0;
    for (size_t i = 0; i < s->episode_count; i++)
        if (i == 0 || s->episodes[i].season != s->episodes[i - 1].season)
            n++;
    s->seasons = alloc_array(l, n, sizeof(*s->seasons));
    if (!s->seasons)
        return;
    for (size_t i = 0; i < s->episode_count; i++) {
        if (i == 0 || s->episodes[i].season != s->episodes[i - 1].season) {
            struct cat_season *se = &s->seasons[s->season_count++];
            se->number = s->episodes[i].season;
            se->name = se->overview = se->air_date = se->cover = "";
        }
        s->seasons[s->season_count - 1].episode_count++;
    }
    db_reset(st);
    db_bind_int64(st, 1, s->id);
    while (step(l, st) == DB_ROW) {
        int number = db_col_int(st, 0);
        for (size_t i = 0; i < s->season_count; i++) {
            if (s->seasons[i].number != number)
                continue;
            s->seasons[i].name = dup_col(l, st, 1);
            s->seasons[i].overview = dup_col(l, st, 2);
            s->seasons[i].air_date = dup_col(l, st, 3);
            s->seasons[i].cover = dup_col(l, st, 4);
        }
    }
}

/* The per-series statements of load_series(). */
struct series_ctx {
    struct db_stmt *episodes, *seasons;
};

static void series_row(struct loader *l, struct db_stmt *st, void *elem, void *ctx)
{
    const struct series_ctx *x = ctx;
    struct cat_series *s = elem;
    s->id = db_col_int64(st, 0);
    s->title = dup_col(l, st, 1);
    s->year = db_col_int(st, 2);
    s->category_id = db_col_int64(st, 3);
    s->cover = dup_col(l, st, 4);
    s->backdrop = dup_col(l, st, 5);
    s->plot = dup_col(l, st, 6);
    s->cast = dup_col(l, st, 7);
    s->director = dup_col(l, st, 8);
    s->genre = dup_col(l, st, 9);
    s->release_date = dup_col(l, st, 10);
    s->youtube_trailer = dup_col(l, st, 11);
    s->rating = db_col_double(st, 12);
    s->tmdb_id = db_col_int64(st, 13);
    s->episode_run_time = db_col_int(st, 14);
    s->added = db_col_int64(st, 15);
    s->last_modified = db_col_int64(st, 16);
    s->cover_file = dup_col(l, st, 17);
    s->backdrop_file = dup_col(l, st, 18);
    load_episodes(l, s, x->episodes);
    load_seasons(l, s, x->seasons);
}

static void load_series(struct loader *l)
{
    struct cat_content *c = l->ct;
    struct series_ctx x;
    x.episodes = prepare(
        l, "SELECT id, season_number, episode_num, title, container, plot, release_date, image,"
           " video_json, audio_json, custom_sid, direct_source, source, rating, tmdb_id,"
           " duration_secs, bitrate_kbps, added, file_size, file_mtime, image_file FROM episodes"
           " WHERE series_id = ?1 AND available = 1 ORDER BY season_number, episode_num, id");
    x.seasons = prepare(l, "SELECT season_number, name, overview, air_date, cover"
                           " FROM seasons WHERE series_id = ?1");
    c->series = load_table(
        l, "SELECT count(*) FROM series",
        "SELECT id, title, year, category_id, cover, backdrop, plot, cast_names, director,"
        " genre, release_date, youtube_trailer, rating, tmdb_id, episode_run_time, added,"
        " last_modified, cover_file, backdrop_file FROM series ORDER BY sort_order, id",
        sizeof(*c->series), series_row, &x, &c->series_count);
    db_finalize(x.episodes);
    db_finalize(x.seasons);
}

static void parse_outputs(struct cat_line *ln, const char *list)
{
    const char *p = list;
    while (*p && ln->outputs_count < 2) {
        size_t n = strcspn(p, ",");
        if (n == 2 && strncmp(p, "ts", 2) == 0 && !(ln->outputs & CAT_OUT_TS)) {
            ln->outputs |= CAT_OUT_TS;
            ln->outputs_list[ln->outputs_count++] = "ts";
        } else if (n == 4 && strncmp(p, "m3u8", 4) == 0 && !(ln->outputs & CAT_OUT_M3U8)) {
            ln->outputs |= CAT_OUT_M3U8;
            ln->outputs_list[ln->outputs_count++] = "m3u8";
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (ln->outputs_count == 0) { /* never advertise an empty list (clients index [0]) */
        ln->outputs = CAT_OUT_TS;
        ln->outputs_list[ln->outputs_count++] = "ts";
    }
}

static void line_row(struct loader *l, struct db_stmt *st, void *elem, void *ctx)
{
    struct cat_line *ln = elem;
    (void)ctx;
    ln->id = db_col_int64(st, 0);
    ln->username = dup_col(l, st, 1);
    ln->password = dup_col(l, st, 2);
    ln->max_connections = db_col_int(st, 3);
    ln->exp_date = db_col_int64(st, 4);
    ln->is_trial = db_col_int(st, 5) != 0;
    ln->enabled = db_col_int(st, 6) != 0;
    ln->banned = db_col_int(st, 7) != 0;
    parse_outputs(ln, db_col_text(st, 8));
    ln->message = dup_col(l, st, 9);
    ln->created_at = db_col_int64(st, 10);
    ln->view_key = dup_col(l, st, 11);
    ln->allowed_ips = dup_col(l, st, 12);
    ln->allowed_uas = dup_col(l, st, 13);
    ln->denied_uas = dup_col(l, st, 14);
    ln->allowed_countries = dup_col(l, st, 15);
    ln->denied_countries = dup_col(l, st, 16);
    ln->first_ip = dup_col_or_null(l, st, 17);
    ln->lock_first_ip = db_col_int(st, 18) != 0;
    ln->max_daily_ips = db_col_int(st, 19);
    ln->is_mag = db_col_int(st, 20) != 0;
}

static void rule_row(struct loader *l, struct db_stmt *st, void *elem, void *ctx)
{
    struct cat_access_rule *r = elem;
    (void)ctx;
    r->kind = dup_col(l, st, 0);
    r->value = dup_col(l, st, 1);
}

static void ban_row(struct loader *l, struct db_stmt *st, void *elem, void *ctx)
{
    struct cat_ban *b = elem;
    (void)ctx;
    b->ip = dup_col(l, st, 0);
    b->until = db_col_int64(st, 1);
    b->strikes = db_col_int64(st, 2);
}

/* Global access rules and bans (issue 13): read by auth/access.c. */
static void load_access(struct loader *l)
{
    struct catalog *c = l->c;
    c->access_rules = load_table(l, "SELECT count(*) FROM access_rules",
                                 "SELECT kind, value FROM access_rules ORDER BY id",
                                 sizeof(*c->access_rules), rule_row, NULL, &c->access_rule_count);
    c->bans = load_table(l, "SELECT count(*) FROM ip_bans",
                         "SELECT ip, until, strikes FROM ip_bans ORDER BY ip", sizeof(*c->bans),
                         ban_row, NULL, &c->ban_count);
}

static void device_row(struct loader *l, struct db_stmt *st, void *elem, void *ctx)
{
    struct cat_device *d = elem;
    (void)ctx;
    d->mac = dup_col(l, st, 0);
    d->username = dup_col(l, st, 1);
}

/* MAC-bound devices (MAG portal), sorted by MAC for catalog_device_line(). */
static void load_devices(struct loader *l)
{
    struct catalog *c = l->c;
    c->devices = load_table(l, "SELECT count(*) FROM devices",
                            "SELECT d.mac, l.username FROM devices d JOIN lines l"
                            " ON l.id = d.line_id ORDER BY d.mac",
                            sizeof(*c->devices), device_row, NULL, &c->device_count);
}

static int64_t setting_ll(struct db *db, const char *key, int64_t def, int64_t min, int64_t max)
{
    char *v = NULL, *end;
    int64_t x = def;
    if (db_setting_get(db, key, &v) == 0) {
        errno = 0;
        long long y = strtoll(v, &end, 10);
        if (!errno && end != v && !*end && y >= min && y <= max)
            x = y;
    }
    free(v);
    return x;
}

/* Signed stream URLs (issue 13): the signed_url* settings (defaults as in
 * domain/settings.c's registry) and the signing keys. */
static void load_signing(struct loader *l)
{
    struct cat_signing *g = &l->c->signing;
    g->enabled = setting_ll(l->db, "signed_urls", 0, 0, 1) == 1;
    g->bind_ip = setting_ll(l->db, "signed_url_bind_ip", 0, 0, 1) == 1;
    g->ttl = setting_ll(l->db, "signed_url_ttl", 86400, 60, 2592000);
    char *keys = NULL;
    int rc = db_setting_get(l->db, URLSIGN_SETTING_KEYS, &keys);
    if (rc == 0 && urlsign_keys_parse(keys, (int64_t)time(NULL), &g->keys))
        log_error("catalog", "the stored URL signing keys are unreadable: signed URLs are "
                             "refused until `xtreamd signing rotate`");
    if (keys) {
        memset(keys, 0, strlen(keys));
        free(keys);
    }
    if (rc && rc != -ENOENT && !l->err)
        l->err = rc;
    if (g->enabled && !g->keys.n)
        g->enabled = false; /* nothing to sign with: hand out the plain URLs */
}

/* A line's bouquets in their order: SQLite (3.40 has no ORDER BY inside an
 * aggregate) concatenates a sorted subquery, in the order it reads it;
 * PostgreSQL promises no order for that, so it is told in the aggregate. */
#define LINE_SELECT_HEAD                                                                           \
    "SELECT l.id, l.username, l.password, l.max_connections, l.exp_date, l.is_trial,"              \
    " l.enabled, l.banned, l.allowed_outputs, l.message, l.created_at,"
#define LINE_SELECT_TAIL                                                                           \
    " l.allowed_ips, l.allowed_uas, l.denied_uas, l.allowed_countries, l.denied_countries,"        \
    " l.first_ip, l.lock_first_ip, l.max_daily_ips, l.is_mag"                                      \
    " FROM lines l"
#define LINE_BOUQUETS_SQLITE                                                                       \
    " (SELECT group_concat(bouquet_id) FROM"                                                       \
    "   (SELECT bouquet_id FROM line_bouquets WHERE line_id = l.id ORDER BY position, "            \
    "bouquet_id) AS lb),"
#define LINE_BOUQUETS_PG                                                                           \
    " (SELECT group_concat(bouquet_id, ',' ORDER BY position, bouquet_id) FROM line_bouquets"      \
    "   WHERE line_id = l.id),"
/* Every line, into one new indexed base block. */
static struct cat_lines *load_lines_full(struct loader *l, int64_t seq)
{
    struct cat_line_block *b;
    struct cat_lines *ls = NULL;
    size_t n = 0;
    l->err = cat_line_block_new(&b);
    if (l->err)
        return NULL;
    l->a = &b->arena;
    struct cat_line *arr =
        load_table(l, "SELECT count(*) FROM lines",
                   db_is_sqlite(l->db)
                       ? LINE_SELECT_HEAD LINE_BOUQUETS_SQLITE LINE_SELECT_TAIL " ORDER BY l.id"
                       : LINE_SELECT_HEAD LINE_BOUQUETS_PG LINE_SELECT_TAIL " ORDER BY l.id",
                   sizeof(*arr), line_row, NULL, &n);
    l->a = &l->c->priv->arena;
    b->by_id = malloc((n ? n : 1) * sizeof(*b->by_id));
    if (!l->err && !b->by_id)
        l->err = -ENOMEM;
    if (!l->err) {
        for (size_t i = 0; i < n; i++)
            b->by_id[i] = &arr[i];
        b->count = n;
        l->err = cat_line_block_index(b);
    }
    if (!l->err)
        l->err = cat_lines_new(b, 0, 0, &ls);
    cat_line_block_unref(b);
    if (!l->err) {
        ls->seq = seq;
        l->err = cat_lines_finish(ls);
    }
    if (l->err) {
        cat_lines_unref(ls);
        return NULL;
    }
    return ls;
}

/* The ids of the lines changed after seq, ascending, distinct (heap). */
static int64_t *changed_line_ids(struct loader *l, int64_t seq, size_t *n)
{
    struct db_stmt *st = prepare(l, "SELECT DISTINCT line_id FROM line_changes WHERE seq > ?1"
                                    " ORDER BY line_id");
    struct buf ids = BUF_INIT(0);
    *n = 0;
    if (!st)
        return NULL;
    db_bind_int64(st, 1, seq);
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        int64_t id = db_col_int64(st, 0);
        buf_append(&ids, &id, sizeof(id));
    }
    db_finalize(st);
    if (rc != DB_DONE && !ids.err)
        ids.err = -EIO; /* a change missed would keep a stale line */
    if (ids.err) {
        l->err = ids.err;
        buf_free(&ids);
        return NULL;
    }
    *n = ids.len / sizeof(int64_t);
    return (int64_t *)buf_steal(&ids, NULL);
}

/* old's lines with those changed since old->seq read again into a new block
 * and merged into old's changes (the base and the older blocks shared). Falls
 * back to a full read once the changes since the base reach a quarter of the
 * lines (their old versions stay in memory until then). */
static struct cat_lines *load_lines_delta(struct loader *l, const struct cat_lines *old,
                                          int64_t seq)
{
    size_t n = 0;
    int64_t *ids = changed_line_ids(l, old->seq, &n);
    if (l->err)
        return NULL;
    if (old->change_count + n > old->base->count / 4 + 256) {
        free(ids);
        return load_lines_full(l, seq);
    }
    struct cat_line_block *b = NULL;
    struct cat_lines *ls = NULL;
    struct db_stmt *one =
        prepare(l, db_is_sqlite(l->db)
                       ? LINE_SELECT_HEAD LINE_BOUQUETS_SQLITE LINE_SELECT_TAIL " WHERE l.id = ?1"
                       : LINE_SELECT_HEAD LINE_BOUQUETS_PG LINE_SELECT_TAIL " WHERE l.id = ?1");
    if (!l->err && cat_line_block_new(&b))
        l->err = -ENOMEM;
    if (!l->err)
        l->err = cat_lines_new(old->base, old->change_count + n, old->block_count + 1, &ls);
    if (!l->err) {
        for (size_t i = 0; i < old->block_count; i++)
            ls->blocks[ls->block_count++] = cat_line_block_ref(old->blocks[i]);
        ls->blocks[ls->block_count++] = cat_line_block_ref(b);
        l->a = &b->arena;
    }
    /* merge: old's changes and the fresh ones (which win), by id */
    size_t i = 0, j = 0;
    while (!l->err && (i < old->change_count || j < n)) {
        if (j == n || (i < old->change_count && old->changes[i].id < ids[j])) {
            ls->changes[ls->change_count++] = old->changes[i++];
            continue;
        }
        if (i < old->change_count && old->changes[i].id == ids[j])
            i++;
        struct cat_line_change *ch = &ls->changes[ls->change_count++];
        ch->id = ids[j++];
        ch->line = NULL; /* deleted */
        db_reset(one);
        db_bind_int64(one, 1, ch->id);
        int rc = db_step(one);
        if (rc == DB_ROW) {
            struct cat_line *ln = alloc_array(l, 1, sizeof(*ln));
            if (ln)
                line_row(l, one, ln, NULL);
            ch->line = ln;
        } else if (rc != DB_DONE) {
            l->err = -EIO; /* not "deleted": an error keeps the previous snapshot */
        }
    }
    db_finalize(one);
    l->a = &l->c->priv->arena;
    cat_line_block_unref(b);
    free(ids);
    if (!l->err) {
        ls->seq = seq;
        l->err = cat_lines_finish(ls);
    }
    if (l->err) {
        cat_lines_unref(ls);
        return NULL;
    }
    return ls;
}

/* The line change log's newest and oldest kept seq (0, 0 when empty). */
static void line_change_range(struct loader *l, int64_t *newest, int64_t *oldest)
{
    struct db_stmt *st = prepare(l, "SELECT COALESCE(max(seq), 0), COALESCE(min(seq), 0)"
                                    " FROM line_changes");
    *newest = *oldest = -1;
    if (st && db_step(st) == DB_ROW) {
        *newest = db_col_int64(st, 0);
        *oldest = db_col_int64(st, 1);
    }
    db_finalize(st);
}

/* The lines: prev's when none changed since, prev's plus the changed ones
 * when the change log still holds every change since prev, else all. */
static void load_lines(struct loader *l, const struct catalog *prev)
{
    int64_t newest, oldest;
    line_change_range(l, &newest, &oldest);
    if (l->err)
        return;
    const struct cat_lines *old = prev ? prev->priv->lines : NULL;
    struct cat_lines *ls;
    if (old && newest >= 0 && old->seq == newest)
        ls = cat_lines_ref((struct cat_lines *)old);
    else if (old && newest > old->seq && oldest <= old->seq + 1)
        ls = load_lines_delta(l, old, newest);
    else
        ls = load_lines_full(l, newest);
    if (!ls)
        return;
    catalog_set_lines(l->c, ls);
    cat_lines_unref(ls);
}

static int64_t *load_ids(struct loader *l, struct db_stmt *st, int64_t bouquet, const char *kind,
                         size_t *count)
{
    db_reset(st);
    db_bind_int64(st, 1, bouquet);
    db_bind_text(st, 2, kind);
    struct buf ids = BUF_INIT(0);
    while (step(l, st) == DB_ROW) {
        int64_t id = db_col_int64(st, 0);
        buf_append(&ids, &id, sizeof(id));
    }
    *count = ids.len / sizeof(int64_t);
    int64_t *out = alloc_array(l, *count, sizeof(int64_t));
    if (out && ids.len)
        memcpy(out, ids.data, ids.len);
    if (ids.err)
        l->err = ids.err;
    buf_free(&ids);
    return out;
}

static void bouquet_row(struct loader *l, struct db_stmt *st, void *elem, void *ctx)
{
    struct db_stmt *items = ctx;
    struct cat_bouquet *b = elem;
    b->id = db_col_int64(st, 0);
    b->all = db_col_int(st, 1) != 0;
    b->categories = load_ids(l, items, b->id, "category", &b->category_count);
    for (int k = 0; k < CAT_KIND_COUNT; k++)
        b->items[k] = load_ids(l, items, b->id, kind_names[k], &b->item_count[k]);
}

static void load_bouquets(struct loader *l)
{
    struct cat_content *ct = l->ct;
    struct db_stmt *items = prepare(l, "SELECT item_id FROM bouquet_items WHERE bouquet_id = ?1"
                                       " AND kind = ?2 ORDER BY position, id");
    ct->bouquets = load_table(l, "SELECT count(*) FROM bouquets",
                              "SELECT b.id, EXISTS (SELECT 1 FROM bouquet_items"
                              " WHERE bouquet_id = b.id AND kind = 'all') FROM bouquets b",
                              sizeof(*ct->bouquets), bouquet_row, items, &ct->bouquet_count);
    db_finalize(items);
}

/* ---- the EPG read model (catalog/guide.h) ---- */

/* Changes with every import (gen), and with a source added, deleted,
 * enabled, disabled or re-prioritised: all that decides what the guide holds. */
static char *epg_stamp(struct loader *l)
{
    struct db_stmt *st;
    if (db_prepare(l->db,
                   db_is_sqlite(l->db)
                       ? "SELECT COALESCE(group_concat(id || ':' || priority || ':' || enabled || "
                         "':' || gen, ','), '') FROM (SELECT * FROM epg_sources ORDER BY id) AS s"
                       /* PostgreSQL: the order is the aggregate's, not a subquery's */
                       : "SELECT COALESCE(group_concat(id || ':' || priority || ':' || enabled || "
                         "':' || gen, ',' ORDER BY id), '') FROM epg_sources",
                   &st)) {
        l->err = -EIO;
        return NULL;
    }
    char *stamp = NULL;
    if (db_step(st) == DB_ROW)
        stamp = strdup(db_col_text(st, 0));
    db_finalize(st);
    if (!stamp)
        l->err = -EIO;
    return stamp;
}

/* The distinct guide ids the streams are mapped to. */
static const char **mapped_ids(struct loader *l, size_t *n)
{
    const struct catalog *c = l->c;
    size_t cap = 16;
    while (cap < c->stream_count * 2 + 2)
        cap *= 2;
    const char **seen = calloc(cap, sizeof(*seen));
    const char **ids = calloc(c->stream_count ? c->stream_count : 1, sizeof(*ids));
    *n = 0;
    if (!seen || !ids) {
        free(seen);
        free(ids);
        l->err = -ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < c->stream_count; i++) {
        const char *id = c->streams[i].epg_channel_id;
        if (!id || !*id)
            continue;
        size_t j = hash_fnv1a_str(id) & (cap - 1);
        while (seen[j] && strcmp(seen[j], id) != 0)
            j = (j + 1) & (cap - 1);
        if (seen[j])
            continue;
        seen[j] = id;
        ids[(*n)++] = id;
    }
    free(seen);
    return ids;
}

/* The best guide channel of each guide channel id (enabled source with
 * programmes, highest priority, then lowest source id): one query for all,
 * not one per id (a round trip each on PostgreSQL). */
struct best_chan {
    char *channel_id;
    int64_t id, source;
    size_t rank; /* the query's order: priority, then source id */
};

static int best_chan_cmp(const void *a, const void *b)
{
    const struct best_chan *x = a, *y = b;
    int c = strcmp(x->channel_id, y->channel_id);
    return c ? c : (x->rank > y->rank) - (x->rank < y->rank);
}

static void best_chans_free(struct best_chan *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(b[i].channel_id);
    free(b);
}

/* Sorted by channel id, the best first within one id. 0 or -errno. */
static int best_chans_load(struct db *db, struct best_chan **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    struct db_stmt *st;
    if (db_prepare(db,
                   "SELECT c.channel_id, c.id, c.source_id FROM epg_channels c"
                   " JOIN epg_sources s ON s.id = c.source_id"
                   " WHERE s.enabled = 1 AND c.programmes > 0"
                   " ORDER BY s.priority DESC, s.id",
                   &st))
        return -EIO;
    struct best_chan *b = NULL;
    size_t n = 0, cap = 0;
    int rc, err = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct best_chan *nb = realloc(b, ncap * sizeof(*b));
            if (!nb) {
                err = -ENOMEM;
                break;
            }
            b = nb;
            cap = ncap;
        }
        b[n].channel_id = strdup(db_col_text(st, 0));
        if (!b[n].channel_id) {
            err = -ENOMEM;
            break;
        }
        b[n].id = db_col_int64(st, 1);
        b[n].source = db_col_int64(st, 2);
        b[n].rank = n;
        n++;
    }
    db_finalize(st);
    if (!err && rc != DB_DONE)
        err = -EIO;
    if (err) {
        best_chans_free(b, n);
        return err;
    }
    if (n)
        qsort(b, n, sizeof(*b), best_chan_cmp);
    *out = b;
    *count = n;
    return 0;
}

/* The best channel for id, or NULL: the first of its run in the sorted list. */
static const struct best_chan *best_chan_find(const struct best_chan *b, size_t n, const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(b[mid].channel_id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(b[lo].channel_id, id) == 0 ? &b[lo] : NULL;
}

static int load_guide_channel(struct loader *l, struct cat_guide *g, const struct best_chan *best,
                              struct db_stmt *progs, const char *id)
{
    int rc;
    if (!best)
        return cat_guide_add(g, id, false, 0, NULL, 0);
    int64_t chan = best->id, source = best->source;
    db_reset(progs);
    db_bind_int64(progs, 1, chan);
    struct cat_programme *p = NULL;
    size_t n = 0, cap = 0;
    int err = 0;
    while ((rc = db_step(progs)) == DB_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct cat_programme *np = realloc(p, ncap * sizeof(*p));
            if (!np) {
                err = -ENOMEM;
                break;
            }
            p = np;
            cap = ncap;
        }
        struct cat_programme *r = &p[n++];
        r->id = db_col_int64(progs, 0);
        r->start = db_col_int64(progs, 1);
        r->stop = db_col_int64(progs, 2);
        const char **f[] = {&r->title,       &r->sub_title, &r->desc, &r->category,
                            &r->episode_num, &r->icon,      &r->lang, &r->rating};
        for (int k = 0; k < 8; k++) {
            *f[k] = cat_guide_strdup(g, db_col_text(progs, 3 + k));
            if (!*f[k])
                err = -ENOMEM;
        }
        if (err)
            break;
    }
    if (!err && rc != DB_DONE)
        err = -EIO;
    db_reset(progs);
    if (err) {
        free(p);
        return err;
    }
    return cat_guide_add(g, id, true, source, p, n);
}

/* Builds the guide of the mapped ids, or takes prev's when nothing changed. */
static void load_guide(struct loader *l, const struct catalog *prev)
{
    const struct cat_guide *kept = catalog_guide(prev);
    if (kept && prev->priv->content == l->c->priv->content) {
        /* same channels (so the same mapped ids): only the guide's stamp can differ */
        char *stamp = epg_stamp(l);
        bool same = stamp && strcmp(cat_guide_stamp(kept), stamp) == 0;
        free(stamp);
        if (same) {
            l->c->priv->guide = cat_guide_ref((struct cat_guide *)kept);
            return;
        }
        if (l->err)
            return;
    }
    size_t n = 0;
    const char **ids = mapped_ids(l, &n);
    char *stamp = ids ? epg_stamp(l) : NULL;
    if (!stamp) {
        free(ids);
        return;
    }
    const struct cat_guide *old = catalog_guide(prev);
    bool same =
        old && strcmp(cat_guide_stamp(old), stamp) == 0 && cat_guide_channel_count(old) == n;
    for (size_t i = 0; same && i < n; i++)
        same = cat_guide_has_channel(old, ids[i]);
    if (same) {
        l->c->priv->guide = cat_guide_ref((struct cat_guide *)old);
        free(ids);
        free(stamp);
        return;
    }
    struct cat_guide *g = NULL;
    struct db_stmt *progs = NULL;
    struct best_chan *best = NULL;
    size_t nbest = 0;
    int err = cat_guide_new(stamp, n, &g);
    if (!err)
        err = best_chans_load(l->db, &best, &nbest);
    if (!err && db_prepare(l->db,
                           "SELECT id, start, stop, title, sub_title, description, category,"
                           " episode_num, icon, lang, rating FROM epg_programmes"
                           " WHERE channel = ?1 ORDER BY start",
                           &progs))
        err = -EIO;
    for (size_t i = 0; !err && i < n; i++)
        err = load_guide_channel(l, g, best_chan_find(best, nbest, ids[i]), progs, ids[i]);
    best_chans_free(best, nbest);
    db_finalize(progs);
    free(ids);
    free(stamp);
    if (err) {
        cat_guide_unref(g);
        l->err = err;
        return;
    }
    l->c->priv->guide = g;
}

int catalog_load(struct db *db, uint64_t version, struct catalog **out)
{
    return catalog_load_reuse(db, version, NULL, out);
}

/* catalog_epochs('content') (migration 12), -1 when unreadable. */
static int64_t content_epoch(struct loader *l)
{
    struct db_stmt *st;
    int64_t n = -1;
    if (db_prepare(l->db, "SELECT n FROM catalog_epochs WHERE part = 'content'", &st))
        return -1;
    if (db_step(st) == DB_ROW)
        n = db_col_int64(st, 0);
    db_finalize(st);
    return n;
}

/* Reads the content part (everything but the lines, the access tables, the
 * devices and the settings) into a new cat_content; NULL with l->err set. */
static struct cat_content *load_content(struct loader *l, int64_t epoch)
{
    struct cat_content *ct;
    l->err = cat_content_new(&ct);
    if (l->err)
        return NULL;
    ct->epoch = epoch;
    l->ct = ct;
    l->a = &ct->arena;
    l->hash = HASH_FNV1A_OFFSET;
    l->hash_rows = true;
    load_categories(l);
    load_streams(l);
    load_movies(l);
    load_series(l);
    load_bouquets(l);
    l->hash_rows = false;
    ct->hash = l->hash;
    l->ct = NULL;
    l->a = &l->c->priv->arena;
    if (!l->err)
        l->err = cat_content_finish(ct);
    if (l->err) {
        cat_content_unref(ct);
        return NULL;
    }
    return ct;
}

int catalog_load_reuse(struct db *db, uint64_t version, const struct catalog *prev,
                       struct catalog **out)
{
    struct catalog *c;
    int rc = catalog_new(&c);
    if (rc)
        return rc;
    struct loader l = {.db = db, .c = c, .a = &c->priv->arena};
    c->version = version;
    c->built_at = db_now();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->built_at_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (db_begin_read(db)) {
        catalog_unref(c);
        return -EIO;
    }
    /* The content is read again only when its epoch moved: a rebuild for a
     * line, a ban or a setting shares the previous snapshot's. */
    int64_t epoch = content_epoch(&l);
    struct cat_content *old = prev ? prev->priv->content : NULL;
    struct cat_content *ct =
        old && epoch >= 0 && old->epoch == epoch ? cat_content_ref(old) : load_content(&l, epoch);
    if (ct) {
        catalog_set_content(c, ct);
        cat_content_unref(ct);
    }
    if (!l.err) {
        load_lines(&l, prev);
        load_access(&l);
        load_devices(&l);
        load_signing(&l);
    }
    if (!l.err)
        load_guide(&l, prev);
    db_exec(db, "COMMIT");
    if (l.err) {
        log_error("catalog", "loading snapshot %llu failed: %d", (unsigned long long)version,
                  l.err);
        catalog_unref(c);
        return l.err;
    }
    *out = c;
    return 0;
}
