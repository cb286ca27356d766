/*
 * domain/content: see content.h.
 */
#include "domain/content.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db/db.h"
#include "db/library.h"
#include "db/profiles.h"
#include "domain/epg_sources.h"
#include "domain/text.h"
#include "domain/vod_paths.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the resources ---------------------------------------------------------- */

static const struct dom_field stream_fields[] = {
    {"name", DOM_F_REQUIRED | DOM_F_BYTES | DOM_F_NONEMPTY, DOM_STREAM_NAME_MAX, 0, 0},
    {"category_id", 0, 0, 0, 0},
    {"epg_channel_id", 0, DOM_STREAM_EPG_ID_MAX, 0, 0},
    {"epg_auto_id", DOM_F_RO, 0, 0, 0},
    {"logo", DOM_F_BYTES, DOM_STREAM_LOGO_MAX, 0, 0},
    {"always_on", 0, 0, 0, 0},
    {"transcode_profile_id", 0, 0, 0, 0},
    {"enabled", 0, 0, 0, 0},
    {"tv_archive_days", 0, 0, 0, 3650},
    {"sort_order", 0, 0, -1000000000, 1000000000},
    {"added", DOM_F_RO, 0, 0, 0},
};
const struct dom_resource dom_res_stream = {"stream", &db_tbl_streams, stream_fields,
                                            N(stream_fields)};

static const struct dom_field category_fields[] = {
    {"kind", DOM_F_REQUIRED | DOM_F_IMMUTABLE, 16, 0, 0},
    {"name", DOM_F_REQUIRED | DOM_F_NONEMPTY, DOM_CATEGORY_NAME_MAX, 0, 0},
    {"sort_order", 0, 0, -1000000000, 1000000000},
    {"created_at", DOM_F_RO, 0, 0, 0},
    {"item_count", DOM_F_RO, 0, 0, 0},
};
const struct dom_resource dom_res_category = {"category", &db_tbl_categories, category_fields,
                                              N(category_fields)};

static const struct dom_field bouquet_fields[] = {
    {"name", DOM_F_REQUIRED | DOM_F_NONEMPTY, 200, 0, 0},
    {"sort_order", 0, 0, -1000000000, 1000000000},
    {"created_at", DOM_F_RO, 0, 0, 0},
    {"line_count", DOM_F_RO, 0, 0, 0},
};
const struct dom_resource dom_res_bouquet = {"bouquet", &db_tbl_bouquets, bouquet_fields,
                                             N(bouquet_fields)};

#define TEXT(n, max)                                                                               \
    {                                                                                              \
        n, 0, max, 0, 0                                                                            \
    }
static const struct dom_field movie_fields[] = {
    {"name", DOM_F_REQUIRED | DOM_F_NONEMPTY, 500, 0, 0},
    TEXT("original_title", 500),
    {"year", 0, 0, 1800, 2200},
    {"category_id", 0, 0, 0, 0},
    {"source", DOM_F_REQUIRED | DOM_F_NONEMPTY, 4096, 0, 0},
    {"container_extension", DOM_F_NONEMPTY, 8, 0, 0},
    TEXT("poster", 4096),
    TEXT("backdrop", 4096),
    TEXT("plot", 8000),
    TEXT("cast", 2000),
    TEXT("director", 500),
    TEXT("genre", 500),
    TEXT("country", 200),
    TEXT("release_date", 32),
    TEXT("youtube_trailer", 256),
    TEXT("mpaa_rating", 32),
    {"rating", 0, 0, 0, 10},
    {"tmdb_id", 0, 0, 0, INT32_MAX},
    {"duration_secs", 0, 0, 0, 10 * 24 * 3600},
    {"available", DOM_F_RO, 0, 0, 0},
    {"sort_order", 0, 0, -1000000000, 1000000000},
    {"added", DOM_F_RO, 0, 0, 0},
};
const struct dom_resource dom_res_movie = {"movie", &db_tbl_movies, movie_fields, N(movie_fields)};

static const struct dom_field series_fields[] = {
    {"name", DOM_F_REQUIRED | DOM_F_NONEMPTY, 500, 0, 0},
    {"year", 0, 0, 1800, 2200},
    {"category_id", 0, 0, 0, 0},
    TEXT("cover", 4096),
    TEXT("backdrop", 4096),
    TEXT("plot", 8000),
    TEXT("cast", 2000),
    TEXT("director", 500),
    TEXT("genre", 500),
    TEXT("release_date", 32),
    TEXT("youtube_trailer", 256),
    {"rating", 0, 0, 0, 10},
    {"tmdb_id", 0, 0, 0, INT32_MAX},
    {"episode_run_time", 0, 0, 0, 24 * 60},
    {"sort_order", 0, 0, -1000000000, 1000000000},
    {"added", DOM_F_RO, 0, 0, 0},
    {"last_modified", DOM_F_RO, 0, 0, 0},
    {"episode_count", DOM_F_RO, 0, 0, 0},
};
const struct dom_resource dom_res_series = {"series", &db_tbl_series, series_fields,
                                            N(series_fields)};

static const struct dom_field episode_fields[] = {
    {"series_id", DOM_F_RO, 0, 0, 0}, /* from the URL: /series/{id}/episodes */
    {"season", DOM_F_REQUIRED, 0, 0, 1000},
    {"episode_num", DOM_F_REQUIRED, 0, 0, 100000},
    TEXT("title", 500),
    {"source", DOM_F_REQUIRED | DOM_F_NONEMPTY, 4096, 0, 0},
    {"container_extension", DOM_F_NONEMPTY, 8, 0, 0},
    TEXT("plot", 8000),
    TEXT("release_date", 32),
    TEXT("image", 4096),
    {"rating", 0, 0, 0, 10},
    {"duration_secs", 0, 0, 0, 10 * 24 * 3600},
    {"available", DOM_F_RO, 0, 0, 0},
    {"added", DOM_F_RO, 0, 0, 0},
};
const struct dom_resource dom_res_episode = {"episode", &db_tbl_episodes, episode_fields,
                                             N(episode_fields)};

static const struct dom_field epg_source_fields[] = {
    {"name", DOM_F_REQUIRED | DOM_F_NONEMPTY, DOM_EPG_NAME_MAX, 0, 0},
    {"url", DOM_F_REQUIRED | DOM_F_NONEMPTY, DOM_EPG_URL_MAX, 0, 0},
    {"priority", 0, 0, -DOM_EPG_PRIORITY_MAX, DOM_EPG_PRIORITY_MAX},
    {"refresh_hours", 0, 0, 0, DOM_EPG_REFRESH_MAX},
    {"enabled", 0, 0, 0, 0},
    {"last_import", DOM_F_RO, 0, 0, 0},
    {"last_attempt", DOM_F_RO, 0, 0, 0},
    {"last_status", DOM_F_RO, 0, 0, 0},
    {"channels", DOM_F_RO, 0, 0, 0},
    {"programmes", DOM_F_RO, 0, 0, 0},
    {"created_at", DOM_F_RO, 0, 0, 0},
};
const struct dom_resource dom_res_epg_source = {"epg_source", &db_tbl_epg_sources,
                                                epg_source_fields, N(epg_source_fields)};

/* ---- helpers ------------------------------------------------------------------ */

static int col(const struct dom_resource *r, const char *name)
{
    return db_col_index(r->tbl, name);
}

static bool given(const struct dom_content_in *in, int i)
{
    return i >= 0 && (in->rec.set & (1ull << i));
}

static void set_int(struct dom_content_in *in, int i, int64_t v)
{
    in->rec.set |= 1ull << i;
    in->rec.v[i].i = v;
}

void dom_content_in_free(struct dom_content_in *in)
{
    free(in->sources);
    free(in->items);
    free(in->canon);
    json_decref(in->doc);
    memset(in, 0, sizeof(*in));
}

void dom_obj_free(const struct dom_resource *r, struct dom_obj *o)
{
    if (!o)
        return;
    db_rec_free(r->tbl, &o->rec);
    db_stream_sources_free(o->sources, o->nsources);
    free(o->items);
    memset(o, 0, sizeof(*o));
}

void dom_obj_free_all(const struct dom_resource *r, struct dom_obj *o, size_t n)
{
    for (size_t i = 0; o && i < n; i++) {
        db_stream_sources_free(o[i].sources, o[i].nsources);
        free(o[i].items);
        db_rec_free(r->tbl, &o[i].rec);
    }
    free(o);
}

static int not_found(struct dom_error *e, const struct dom_resource *r, int64_t id)
{
    return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no %s with id %lld", r->entity, (long long)id);
}

/* ---- validation without the database ---------------------------------------- */

static bool is_kind(const char *k, bool all)
{
    static const char *const kinds[] = {"live", "movie", "series", "category", "all"};
    for (size_t i = 0; i < (all ? 5 : 3); i++)
        if (strcmp(k, kinds[i]) == 0)
            return true;
    return false;
}

static void check_items(const struct dom_content_in *in, struct dom_error *e)
{
    if (in->nitems > DOM_BOUQUET_ITEMS_MAX) {
        dom_err_field(e, "items", "too_long", "at most %d items", DOM_BOUQUET_ITEMS_MAX);
        return;
    }
    for (size_t i = 0; i < in->nitems; i++) {
        const struct db_item *it = &in->items[i];
        char f[48];
        bool all = it->kind && strcmp(it->kind, "all") == 0;
        if (!it->kind || !is_kind(it->kind, true)) {
            snprintf(f, sizeof(f), "items[%zu].kind", i);
            dom_err_field(e, f, "format", "must be all, category, live, movie or series");
            continue;
        }
        snprintf(f, sizeof(f), "items[%zu].id", i);
        if (all && it->id != 0)
            dom_err_field(e, f, "conflict", "an item of kind all has no id");
        else if (!all && it->id <= 0)
            dom_err_field(e, f, "required", "a positive id is required");
        for (size_t k = 0; k < i; k++) {
            if (strcmp(in->items[k].kind, it->kind) == 0 && in->items[k].id == it->id) {
                snprintf(f, sizeof(f), "items[%zu]", i);
                dom_err_field(e, f, "duplicate", "the same item as items[%zu]", k);
                break;
            }
        }
    }
}

static void check_sources(const struct dom_content_in *in, bool create, struct dom_error *e)
{
    if ((create || in->has_sources) && in->nsources == 0)
        dom_err_field(e, "sources", "required", "at least one source URL is required");
    if (in->nsources > DOM_STREAM_SOURCES_MAX)
        dom_err_field(e, "sources", "too_long", "at most %d sources", DOM_STREAM_SOURCES_MAX);
    for (size_t i = 0; i < in->nsources && i < DOM_STREAM_SOURCES_MAX; i++) {
        char f[48];
        size_t len = strlen(in->sources[i]);
        snprintf(f, sizeof(f), "sources[%zu]", i);
        if (len == 0)
            dom_err_field(e, f, "required", "must not be empty");
        else if (len > DOM_STREAM_SOURCE_MAX)
            dom_err_field(e, f, "too_long", "longer than %d bytes", DOM_STREAM_SOURCE_MAX);
    }
}

static void check_container(const char *s, struct dom_error *e)
{
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
            dom_err_field(e, "container_extension", "format",
                          "lower-case letters and digits only (mp4, mkv, ts)");
            return;
        }
    }
}

int dom_content_validate(const struct dom_resource *r, const struct dom_content_in *in, bool create,
                         struct dom_error *e)
{
    const struct db_table *t = r->tbl;
    for (size_t k = 0; k < r->nfields; k++) {
        const struct dom_field *f = &r->fields[k];
        int i = db_col_index(t, f->name);
        if (i < 0)
            continue;
        bool has = given(in, i);
        if (!has) {
            if (create && (f->flags & DOM_F_REQUIRED))
                dom_err_field(e, f->name, "required", "is required");
            continue;
        }
        if (f->flags & DOM_F_RO) {
            dom_err_field(e, f->name, "read_only", "is read-only");
            continue;
        }
        if (!create && (f->flags & DOM_F_IMMUTABLE)) {
            dom_err_field(e, f->name, "immutable", "cannot be changed after creation");
            continue;
        }
        const struct db_val *v = &in->rec.v[i];
        switch (t->cols[i].type) {
        case DB_COL_TEXT:
        case DB_COL_NTEXT: {
            const char *s = v->s ? v->s : "";
            size_t len = strlen(s);
            if ((f->flags & DOM_F_NONEMPTY) && len == 0)
                dom_err_field(e, f->name, "required", "must not be empty");
            else if (f->flags & DOM_F_BYTES) {
                if (len > f->max)
                    dom_err_field(e, f->name, "too_long", "longer than %zu bytes", f->max);
            } else {
                dom_check_text(f->name, s, f->max, true, e);
            }
            break;
        }
        case DB_COL_REAL:
            if ((f->lo || f->hi) && (!(v->r >= (double)f->lo) || !(v->r <= (double)f->hi)))
                dom_err_field(e, f->name, "range", "must be %lld to %lld", (long long)f->lo,
                              (long long)f->hi);
            break;
        case DB_COL_REF:
            if (v->i < 0)
                dom_err_field(e, f->name, "range", "must be an id or null");
            break;
        case DB_COL_NINT:
            if (v->i != 0 && (f->lo || f->hi) && (v->i < f->lo || v->i > f->hi))
                dom_err_field(e, f->name, "range", "must be %lld to %lld or null", (long long)f->lo,
                              (long long)f->hi);
            break;
        case DB_COL_INT:
            if ((f->lo || f->hi) && (v->i < f->lo || v->i > f->hi))
                dom_err_field(e, f->name, "range", "must be %lld to %lld", (long long)f->lo,
                              (long long)f->hi);
            break;
        default:
            break;
        }
    }
    int i = col(r, "kind");
    if (r == &dom_res_category && given(in, i) && in->rec.v[i].s && !is_kind(in->rec.v[i].s, false))
        dom_err_field(e, "kind", "format", "must be live, movie or series");
    i = col(r, "container_extension");
    if (i >= 0 && given(in, i) && in->rec.v[i].s)
        check_container(in->rec.v[i].s, e);
    if (r == &dom_res_stream)
        check_sources(in, create, e);
    else if (in->has_sources)
        dom_err_field(e, "sources", "unknown", "unknown member");
    if (r == &dom_res_bouquet)
        check_items(in, e);
    else if (in->has_items)
        dom_err_field(e, "items", "unknown", "unknown member");
    return e->status ? -EINVAL : 0;
}

/* ---- rules that read the database ------------------------------------------- */

/* category_id, when given and not null, names a category of kind. */
static int check_category(struct db *db, const struct dom_resource *r,
                          const struct dom_content_in *in, const char *kind, struct dom_error *e)
{
    int i = col(r, "category_id");
    if (!given(in, i) || in->rec.v[i].i == 0)
        return 0;
    struct db_rec c;
    int rc = db_rec_get(db, &db_tbl_categories, in->rec.v[i].i, &c);
    if (rc == -ENOENT) {
        dom_err_set(e, 422, DOM_E_REFERENCE, "unknown category");
        return dom_err_field(e, "category_id", "unknown", "no category with id %lld",
                             (long long)in->rec.v[i].i);
    }
    if (rc)
        return dom_err_internal(e, rc, "reading the category");
    bool ok = strcmp(c.v[col(&dom_res_category, "kind")].s, kind) == 0;
    db_rec_free(&db_tbl_categories, &c);
    if (!ok)
        return dom_err_field(e, "category_id", "kind", "is not a %s category", kind);
    return 0;
}

/* transcode_profile_id, when given and not null, names a profile (null: the
 * stream is copied as it comes). */
static int check_profile(struct db *db, const struct dom_content_in *in, struct dom_error *e)
{
    int i = col(&dom_res_stream, "transcode_profile_id");
    if (!given(in, i) || in->rec.v[i].i == 0)
        return 0;
    struct tx_profile p;
    int rc = db_profile_get_id(db, in->rec.v[i].i, &p);
    if (rc == -ENOENT) {
        dom_err_set(e, 422, DOM_E_REFERENCE, "unknown transcode profile");
        return dom_err_field(e, "transcode_profile_id", "unknown", "no profile with id %lld",
                             (long long)in->rec.v[i].i);
    }
    if (rc)
        return dom_err_internal(e, rc, "reading the profile");
    return 0;
}

/* A movie's or episode's source: an http(s) URL, or a local file under a
 * library root (stored canonical in in->canon). */
static int check_source(struct db *db, struct dom_content_in *in, int i, struct dom_error *e)
{
    const char *s = in->rec.v[i].s;
    if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0)
        return 0;
    if (s[0] != '/')
        return dom_err_field(e, "source", "format", "must be an http(s) URL or an absolute path");
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(s, real) || stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        return dom_err_field(e, "source", "not_found", "no such file");
    char **roots = NULL;
    size_t nroots = 0;
    int rc = db_library_roots(db, &roots, &nroots);
    if (rc)
        return dom_err_internal(e, rc, "reading the library roots");
    char *data_real = in->data_dir ? realpath(in->data_dir, NULL) : NULL;
    const char *no = dom_vod_path_refusal(real, roots, nroots, data_real);
    free(data_real);
    db_library_roots_free(roots, nroots);
    if (no)
        return dom_err_field(e, "source", "forbidden", "%s (see xtreamd vod root)", no);
    free(in->canon);
    in->canon = strdup(real);
    if (!in->canon)
        return dom_err_internal(e, -ENOMEM, "checking the source");
    in->rec.v[i].s = in->canon;
    return 0;
}

/* An EPG source's url: http(s), or an existing file stored canonical. */
static int check_epg_url(struct dom_content_in *in, int i, struct dom_error *e)
{
    const char *s = in->rec.v[i].s;
    if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0)
        return 0;
    if (strstr(s, "://"))
        return dom_err_field(e, "url", "format", "only files and http(s) URLs are supported");
    char real[PATH_MAX];
    if (!realpath(s, real))
        return dom_err_field(e, "url", "not_found", "cannot read the file: %s", strerror(errno));
    free(in->canon);
    in->canon = strdup(real);
    if (!in->canon)
        return dom_err_internal(e, -ENOMEM, "checking the url");
    in->rec.v[i].s = in->canon;
    return 0;
}

static int item_table(const char *kind, const struct db_table **t)
{
    if (strcmp(kind, "category") == 0)
        *t = &db_tbl_categories;
    else if (strcmp(kind, "live") == 0)
        *t = &db_tbl_streams;
    else if (strcmp(kind, "movie") == 0)
        *t = &db_tbl_movies;
    else if (strcmp(kind, "series") == 0)
        *t = &db_tbl_series;
    else
        return -ENOENT;
    return 0;
}

static int check_item_refs(struct db *db, const struct db_item *items, size_t n,
                           struct dom_error *e)
{
    for (size_t k = 0; k < n; k++) {
        const struct db_table *t;
        if (item_table(items[k].kind, &t))
            continue;
        int rc = db_rec_exists(db, t, items[k].id);
        if (rc == -ENOENT) {
            char f[48];
            snprintf(f, sizeof(f), "items[%zu].id", k);
            if (!e->status)
                dom_err_set(e, 422, DOM_E_REFERENCE, "unknown item");
            dom_err_field(e, f, "unknown", "no %s with id %lld", items[k].kind,
                          (long long)items[k].id);
        } else if (rc) {
            return dom_err_internal(e, rc, "checking the items");
        }
    }
    return e->status ? -EINVAL : 0;
}

/* The checks that need the database, before a write. cur: the stored row
 * on update (NULL on create). */
static int check_db(struct db *db, const struct dom_resource *r, struct dom_content_in *in,
                    const struct db_rec *cur, struct dom_error *e)
{
    int i;
    if (r == &dom_res_stream) {
        check_category(db, r, in, "live", e);
        check_profile(db, in, e);
    } else if (r == &dom_res_movie)
        check_category(db, r, in, "movie", e);
    else if (r == &dom_res_series)
        check_category(db, r, in, "series", e);
    if ((r == &dom_res_movie || r == &dom_res_episode) && given(in, i = col(r, "source")))
        check_source(db, in, i, e);
    if (r == &dom_res_epg_source && given(in, i = col(r, "url")))
        check_epg_url(in, i, e);
    if (r == &dom_res_bouquet && in->has_items)
        check_item_refs(db, in->items, in->nitems, e);
    (void)cur;
    return e->status ? -EINVAL : 0;
}

/* The 409 of a unique conflict, on the member that names the row. */
static int conflict(const struct dom_resource *r, const struct dom_content_in *in,
                    struct dom_error *e)
{
    const char *f = (r == &dom_res_movie || r == &dom_res_episode) ? "source" : "name";
    int i = col(r, f);
    const char *v = given(in, i) && in->rec.v[i].s ? in->rec.v[i].s : "";
    dom_err_set(e, 409, DOM_E_EXISTS, "a %s with this %s already exists", r->entity, f);
    dom_err_field(e, f, "conflict", "'%.200s' is taken", v);
    return -EEXIST;
}

/* ---- services ---------------------------------------------------------------- */

static int load_parts(struct db *db, const struct dom_resource *r, struct dom_obj *o)
{
    if (r == &dom_res_stream)
        return db_stream_sources_get(db, o->rec.id, &o->sources, &o->nsources);
    if (r == &dom_res_bouquet)
        return db_bouquet_items_get(db, o->rec.id, &o->items, &o->nitems);
    return 0;
}

int dom_content_get(struct db *db, const struct dom_resource *r, int64_t id, struct dom_obj *out,
                    struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    int rc = db_rec_get(db, r->tbl, id, &out->rec);
    if (rc == -ENOENT)
        return not_found(e, r, id);
    if (!rc)
        rc = load_parts(db, r, out);
    if (rc) {
        dom_obj_free(r, out);
        return dom_err_internal(e, rc, "reading");
    }
    return 0;
}

/* The sources of a page of streams, a few queries for the whole page: one
 * per stream was a round trip each on PostgreSQL (`xtreamd stream list` of
 * 10,000 channels: 10,000 queries). */
static int page_sources(struct db *db, struct dom_obj *o, size_t len)
{
    int64_t *ids = malloc(len * sizeof(*ids));
    char ***urls = malloc(len * sizeof(*urls));
    size_t *ns = malloc(len * sizeof(*ns));
    int rc = ids && urls && ns ? 0 : -ENOMEM;
    for (size_t k = 0; rc == 0 && k < len; k++)
        ids[k] = o[k].rec.id;
    if (rc == 0)
        rc = db_stream_sources_many(db, ids, len, urls, ns);
    for (size_t k = 0; rc == 0 && k < len; k++) {
        o[k].sources = urls[k];
        o[k].nsources = ns[k];
    }
    free(ids);
    free(urls);
    free(ns);
    return rc;
}

int dom_content_page(struct db *db, const struct dom_resource *r, const struct db_eq *eq,
                     size_t neq, const struct db_page *p, struct dom_obj **out, size_t *n,
                     int64_t *total, struct dom_error *e)
{
    struct db_rec *recs = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    *total = 0;
    int rc = db_rec_page(db, r->tbl, eq, neq, p, &recs, &len, total);
    if (rc == -EINVAL)
        return dom_err_field(e, "sort", "unknown", "unknown sort key");
    if (rc)
        return dom_err_internal(e, rc, "listing");
    struct dom_obj *o = calloc(len ? len : 1, sizeof(*o));
    if (!o) {
        db_rec_free_all(r->tbl, recs, len);
        return dom_err_internal(e, -ENOMEM, "listing");
    }
    for (size_t k = 0; k < len; k++)
        o[k].rec = recs[k];
    free(recs); /* the strings moved into o */
    struct db_parts *parts = NULL;
    if (len && r == &dom_res_stream)
        rc = page_sources(db, o, len);
    else if (len && r == &dom_res_bouquet)
        rc = db_parts_open(db, &parts);
    for (size_t k = 0; k < len && rc == 0 && parts; k++)
        rc = db_parts_items(parts, o[k].rec.id, &o[k].items, &o[k].nitems);
    db_parts_close(parts);
    if (rc) {
        dom_obj_free_all(r, o, len);
        return dom_err_internal(e, rc, "listing");
    }
    *out = o;
    *n = len;
    return 0;
}

/* The defaults of a create: the end of the order, and what the schema's
 * defaults do not cover. */
static int defaults(struct db *db, const struct dom_resource *r, struct dom_content_in *in)
{
    int i = col(r, "sort_order");
    if (i >= 0 && !given(in, i)) {
        int64_t next;
        struct db_eq eq = {"kind", 0, NULL};
        size_t neq = 0;
        if (r == &dom_res_category) {
            eq.s = in->rec.v[col(r, "kind")].s;
            neq = 1;
        }
        int rc = db_rec_next(db, r->tbl, "sort_order", &eq, neq, &next);
        if (rc)
            return rc;
        set_int(in, i, next);
    }
    return 0;
}

static int write_parts(struct db *db, const struct dom_resource *r, int64_t id,
                       const struct dom_content_in *in)
{
    int rc = 0;
    if (r == &dom_res_stream && in->has_sources)
        rc = db_stream_sources_set(db, id, in->sources, in->nsources);
    if (r == &dom_res_bouquet && in->has_items)
        rc = db_bouquet_items_set(db, id, in->items, in->nitems);
    if (r == &dom_res_episode && rc == 0) {
        struct db_rec cur;
        rc = db_rec_get(db, r->tbl, id, &cur);
        if (rc == 0) {
            int64_t series = cur.v[col(r, "series_id")].i;
            rc = db_season_touch(db, series, cur.v[col(r, "season")].i);
            if (rc == 0)
                rc = db_season_prune(db, series);
            db_rec_free(r->tbl, &cur);
        }
    }
    return rc;
}

int dom_content_create(struct db *db, const struct dom_resource *r, struct dom_content_in *in,
                       int64_t *id, struct dom_error *e)
{
    *id = 0;
    int rc = dom_content_validate(r, in, true, e);
    if (rc)
        return rc;
    if (r == &dom_res_episode) {
        /* The parent of an episode is the caller's (the URL), not the body's. */
        if (db_rec_exists(db, &db_tbl_series, in->parent_id) != 0)
            return not_found(e, &dom_res_series, in->parent_id);
        set_int(in, col(r, "series_id"), in->parent_id);
    }
    if (check_db(db, r, in, NULL, e))
        return -EINVAL;
    if ((rc = db_begin(db)))
        return dom_err_internal(e, rc, "starting a transaction");
    rc = defaults(db, r, in);
    if (!rc)
        rc = db_rec_insert(db, r->tbl, &in->rec, id);
    if (!rc)
        rc = write_parts(db, r, *id, in);
    if (!rc)
        rc = db_commit(db);
    if (!rc)
        return 0;
    db_rollback(db);
    *id = 0;
    if (rc == -EEXIST)
        return conflict(r, in, e);
    return dom_err_internal(e, rc, "creating");
}

int dom_content_update(struct db *db, const struct dom_resource *r, int64_t id,
                       struct dom_content_in *in, struct dom_error *e)
{
    if (dom_content_validate(r, in, false, e))
        return -EINVAL;
    struct db_rec cur;
    int rc = db_rec_get(db, r->tbl, id, &cur);
    if (rc == -ENOENT)
        return not_found(e, r, id);
    if (rc)
        return dom_err_internal(e, rc, "reading");
    rc = check_db(db, r, in, &cur, e);
    db_rec_free(r->tbl, &cur);
    if (rc)
        return -EINVAL;
    if ((rc = db_begin(db)))
        return dom_err_internal(e, rc, "starting a transaction");
    rc = db_rec_update(db, r->tbl, id, &in->rec);
    if (!rc)
        rc = write_parts(db, r, id, in);
    if (!rc)
        rc = db_commit(db);
    if (!rc)
        return 0;
    db_rollback(db);
    if (rc == -EEXIST)
        return conflict(r, in, e);
    if (rc == -ENOENT)
        return not_found(e, r, id);
    return dom_err_internal(e, rc, "changing");
}

int dom_content_delete(struct db *db, const struct dom_resource *r, int64_t id, struct dom_error *e)
{
    int64_t series = 0;
    if (r == &dom_res_episode) {
        struct db_rec cur;
        if (db_rec_get(db, r->tbl, id, &cur) == 0) {
            series = cur.v[col(r, "series_id")].i;
            db_rec_free(r->tbl, &cur);
        }
    }
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    rc = db_rec_delete(db, r->tbl, id);
    if (!rc && series)
        rc = db_season_prune(db, series);
    /* Bouquet items name titles by id without a foreign key: drop them too. */
    const char *kind = r == &dom_res_stream     ? "live"
                       : r == &dom_res_movie    ? "movie"
                       : r == &dom_res_series   ? "series"
                       : r == &dom_res_category ? "category"
                                                : NULL;
    if (!rc && kind)
        rc = db_bouquet_items_drop(db, kind, id);
    if (!rc)
        rc = db_commit(db);
    if (!rc)
        return 0;
    db_rollback(db);
    if (rc == -ENOENT)
        return not_found(e, r, id);
    return dom_err_internal(e, rc, "deleting");
}

/* ---- lists -------------------------------------------------------------------- */

int dom_stream_page(struct db *db, const struct dom_stream_filter *f, const struct db_page *p,
                    struct dom_obj **out, size_t *n, int64_t *total, struct dom_error *e)
{
    struct db_eq eq[2];
    size_t k = 0;
    if (f && f->category_id > 0)
        eq[k++] = (struct db_eq){"category_id", f->category_id, NULL};
    if (f && f->enabled >= 0)
        eq[k++] = (struct db_eq){"enabled", f->enabled ? 1 : 0, NULL};
    return dom_content_page(db, &dom_res_stream, eq, k, p, out, n, total, e);
}

int dom_category_page(struct db *db, const char *kind, const struct db_page *p,
                      struct dom_obj **out, size_t *n, int64_t *total, struct dom_error *e)
{
    struct db_eq eq = {"kind", 0, kind};
    if (kind && !is_kind(kind, false))
        return dom_err_field(e, "kind", "format", "must be live, movie or series");
    return dom_content_page(db, &dom_res_category, &eq, kind ? 1 : 0, p, out, n, total, e);
}

int dom_bouquet_page(struct db *db, const struct db_page *p, struct dom_obj **out, size_t *n,
                     int64_t *total, struct dom_error *e)
{
    return dom_content_page(db, &dom_res_bouquet, NULL, 0, p, out, n, total, e);
}

int dom_movie_page(struct db *db, int64_t category_id, const struct db_page *p,
                   struct dom_obj **out, size_t *n, int64_t *total, struct dom_error *e)
{
    struct db_eq eq = {"category_id", category_id, NULL};
    return dom_content_page(db, &dom_res_movie, &eq, category_id > 0, p, out, n, total, e);
}

int dom_series_page(struct db *db, int64_t category_id, const struct db_page *p,
                    struct dom_obj **out, size_t *n, int64_t *total, struct dom_error *e)
{
    struct db_eq eq = {"category_id", category_id, NULL};
    return dom_content_page(db, &dom_res_series, &eq, category_id > 0, p, out, n, total, e);
}

int dom_episode_page(struct db *db, int64_t series_id, int64_t season, const struct db_page *p,
                     struct dom_obj **out, size_t *n, int64_t *total, struct dom_error *e)
{
    *out = NULL;
    *n = 0;
    *total = 0;
    int rc = db_rec_exists(db, &db_tbl_series, series_id);
    if (rc == -ENOENT)
        return not_found(e, &dom_res_series, series_id);
    if (rc)
        return dom_err_internal(e, rc, "reading the series");
    struct db_eq eq[2] = {{"series_id", series_id, NULL}, {"season", season, NULL}};
    return dom_content_page(db, &dom_res_episode, eq, season >= 0 ? 2 : 1, p, out, n, total, e);
}

int dom_epg_source_page(struct db *db, const struct db_page *p, struct dom_obj **out, size_t *n,
                        int64_t *total, struct dom_error *e)
{
    return dom_content_page(db, &dom_res_epg_source, NULL, 0, p, out, n, total, e);
}

/* ---- ordered parts, EPG -------------------------------------------------------- */

int dom_bouquet_set_items(struct db *db, int64_t id, const struct db_item *items, size_t n,
                          struct dom_error *e)
{
    struct dom_content_in in = {.has_items = true, .items = (struct db_item *)items, .nitems = n};
    check_items(&in, e);
    if (e->status)
        return -EINVAL;
    int rc = db_rec_exists(db, &db_tbl_bouquets, id);
    if (rc == -ENOENT)
        return not_found(e, &dom_res_bouquet, id);
    if (rc)
        return dom_err_internal(e, rc, "reading the bouquet");
    if (check_item_refs(db, items, n, e))
        return -EINVAL;
    if ((rc = db_begin(db)))
        return dom_err_internal(e, rc, "starting a transaction");
    rc = db_bouquet_items_set(db, id, items, n);
    if (!rc)
        rc = db_commit(db);
    if (!rc)
        return 0;
    db_rollback(db);
    return dom_err_internal(e, rc, "replacing the items");
}

/* Gives the rows ids of r sort_order 1..n (categories and bouquets). */
static int reorder(struct db *db, const struct dom_resource *r, const int64_t *ids, size_t n,
                   struct dom_error *e)
{
    if (n == 0)
        return dom_err_field(e, "ids", "required", "at least one %s id", r->entity);
    if (n > DOM_CATEGORY_ORDER_MAX)
        return dom_err_field(e, "ids", "too_long", "at most %d ids", DOM_CATEGORY_ORDER_MAX);
    for (size_t i = 0; i < n; i++) {
        char f[48];
        snprintf(f, sizeof(f), "ids[%zu]", i);
        for (size_t k = 0; k < i; k++) {
            if (ids[k] == ids[i]) {
                dom_err_field(e, f, "duplicate", "the same id as ids[%zu]", k);
                break;
            }
        }
        if (ids[i] <= 0)
            dom_err_field(e, f, "range", "must be a positive id");
    }
    if (e->status)
        return -EINVAL;
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    int so = col(r, "sort_order");
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct db_rec set = {0};
        set.set = 1ull << so;
        set.v[so].i = (int64_t)i + 1;
        rc = db_rec_update(db, r->tbl, ids[i], &set);
        if (rc == -ENOENT) {
            char f[48];
            snprintf(f, sizeof(f), "ids[%zu]", i);
            dom_err_set(e, 422, DOM_E_REFERENCE, "unknown %s", r->entity);
            dom_err_field(e, f, "unknown", "no %s with id %lld", r->entity, (long long)ids[i]);
        }
    }
    if (!rc)
        rc = db_commit(db);
    if (!rc)
        return 0;
    db_rollback(db);
    return e->status ? -EINVAL : dom_err_internal(e, rc, "reordering");
}

int dom_category_reorder(struct db *db, const int64_t *ids, size_t n, struct dom_error *e)
{
    return reorder(db, &dom_res_category, ids, n, e);
}

int dom_bouquet_reorder(struct db *db, const int64_t *ids, size_t n, struct dom_error *e)
{
    return reorder(db, &dom_res_bouquet, ids, n, e);
}

int dom_episode_check_parent(struct db *db, int64_t series_id, int64_t episode_id,
                             struct dom_error *e)
{
    struct db_rec cur;
    int rc = db_rec_get(db, &db_tbl_episodes, episode_id, &cur);
    if (rc == -ENOENT)
        return not_found(e, &dom_res_episode, episode_id);
    if (rc)
        return dom_err_internal(e, rc, "reading the episode");
    bool ok = cur.v[col(&dom_res_episode, "series_id")].i == series_id;
    db_rec_free(&db_tbl_episodes, &cur);
    return ok ? 0 : not_found(e, &dom_res_episode, episode_id);
}

int dom_epg_map(struct db *db, int64_t stream_id, const char *epg_channel_id, struct dom_error *e)
{
    struct dom_content_in in = {0};
    int i = col(&dom_res_stream, "epg_channel_id");
    in.rec.set = 1ull << i;
    in.rec.v[i].s = epg_channel_id ? epg_channel_id : "";
    return dom_content_update(db, &dom_res_stream, stream_id, &in, e);
}

int dom_epg_source_status(struct db *db, int64_t id, struct dom_obj *out, struct dom_error *e)
{
    return dom_content_get(db, &dom_res_epg_source, id, out, e);
}

/* ---- members by name ------------------------------------------------------------ */

int dom_kind_parse(const char *field, const char *s, const char **kind, struct dom_error *e)
{
    static const char *const kinds[] = {"live", "movie", "series"};
    for (size_t i = 0; i < N(kinds); i++) {
        if (strcmp(s, kinds[i]) == 0) {
            *kind = kinds[i];
            return 0;
        }
    }
    return dom_err_field(e, field, "format",
                         "invalid kind '%.32s' (expected live, movie or series)", s);
}

int dom_in_set_str(const struct dom_resource *r, struct dom_content_in *in, const char *field,
                   const char *s)
{
    int i = col(r, field);
    if (i < 0)
        return -ENOENT;
    in->rec.set |= 1ull << i;
    in->rec.v[i].s = s;
    return 0;
}

int dom_in_set_int(const struct dom_resource *r, struct dom_content_in *in, const char *field,
                   int64_t v)
{
    int i = col(r, field);
    if (i < 0)
        return -ENOENT;
    set_int(in, i, v);
    return 0;
}

const char *dom_obj_str(const struct dom_resource *r, const struct dom_obj *o, const char *field)
{
    int i = col(r, field);
    return i >= 0 && o->rec.v[i].s ? o->rec.v[i].s : "";
}

int64_t dom_obj_int(const struct dom_resource *r, const struct dom_obj *o, const char *field)
{
    int i = col(r, field);
    return i >= 0 ? o->rec.v[i].i : 0;
}

/* ---- addressing by name ------------------------------------------------------- */

int dom_content_find_by_name(struct db *db, const struct dom_resource *r, const char *kind,
                             const char *name, int64_t *ids, size_t max, size_t *n,
                             struct dom_error *e)
{
    struct db_eq eq[2] = {{"name", 0, name}, {"kind", 0, kind}};
    size_t neq = r == &dom_res_category && kind ? 2 : 1;
    struct db_page p = {.limit = max ? (int64_t)max : 1};
    struct db_rec *recs = NULL;
    size_t len = 0;
    int64_t total = 0;
    *n = 0;
    int rc = db_rec_page(db, r->tbl, eq, neq, &p, &recs, &len, &total);
    if (rc)
        return dom_err_internal(e, rc, "looking the name up");
    for (size_t k = 0; k < len && k < max; k++)
        ids[k] = recs[k].id;
    *n = len < max ? len : max;
    db_rec_free_all(r->tbl, recs, len);
    if (*n == 0)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no %s%s%s called '%.200s'", kind ? kind : "",
                           kind ? " " : "", r->entity, name);
    return 0;
}

int dom_content_list_all(struct db *db, const struct dom_resource *r, const struct db_eq *eq,
                         size_t neq, const char *const *sort, size_t nsort, struct dom_obj **out,
                         size_t *n, struct dom_error *e)
{
    struct db_page p = {.limit = DB_PAGE_LIMIT};
    struct dom_obj *all = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    if (nsort > DB_SORT_MAX)
        return dom_err_internal(e, -EINVAL, "listing");
    for (size_t k = 0; k < nsort; k++)
        p.sort[p.nsort++] = sort[k];
    for (;;) {
        struct dom_obj *page;
        size_t got;
        int64_t total;
        int rc = dom_content_page(db, r, eq, neq, &p, &page, &got, &total, e);
        if (rc) {
            dom_obj_free_all(r, all, len);
            return rc;
        }
        struct dom_obj *grown = got ? realloc(all, (len + got) * sizeof(*all)) : all;
        if (got && !grown) {
            dom_obj_free_all(r, page, got);
            dom_obj_free_all(r, all, len);
            return dom_err_internal(e, -ENOMEM, "listing");
        }
        all = grown;
        if (got)
            memcpy(all + len, page, got * sizeof(*page));
        free(page); /* the objects moved into all */
        len += got;
        p.offset += (int64_t)got;
        if (got < (size_t)p.limit || p.offset >= total)
            break;
    }
    *out = all;
    *n = len;
    return 0;
}

int dom_category_list_all(struct db *db, const char *kind, struct dom_obj **out, size_t *n,
                          struct dom_error *e)
{
    static const char *const sort[] = {"kind", "sort_order"}; /* live < movie < series */
    struct db_eq eq = {"kind", 0, kind};
    *out = NULL;
    *n = 0;
    if (kind && !is_kind(kind, false))
        return dom_err_field(e, "kind", "format", "must be live, movie or series");
    return dom_content_list_all(db, &dom_res_category, &eq, kind ? 1 : 0, sort, N(sort), out, n, e);
}

int dom_category_ensure(struct db *db, const char *kind, const char *name, const char *field,
                        int64_t *id, struct dom_error *e)
{
    struct dom_error miss;
    size_t n;
    *id = 0;
    if (!*name)
        return 0;
    if (!is_kind(kind, false))
        return dom_err_field(e, "kind", "format", "must be live, movie or series");
    dom_error_reset(&miss);
    /* Find-then-create under db_begin's writer lock (a savepoint in a
     * caller's transaction): two nodes ensuring one new name at once get one
     * row, not a 409 for the second. */
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    rc = dom_content_find_by_name(db, &dom_res_category, kind, name, id, 1, &n, &miss);
    if (rc != -ENOENT) {
        if (rc)
            *e = miss;
        goto done;
    }
    struct dom_content_in in = {0};
    dom_in_set_str(&dom_res_category, &in, "kind", kind);
    dom_in_set_str(&dom_res_category, &in, "name", name);
    rc = dom_content_create(db, &dom_res_category, &in, id, e);
    for (size_t k = 0; rc && k < e->nfields; k++)
        if (strcmp(e->fields[k].field, "name") == 0)
            snprintf(e->fields[k].field, sizeof(e->fields[k].field), "%s", field);
done:
    if (rc == 0 && (rc = db_commit(db)) != 0)
        dom_err_internal(e, rc, "committing the category");
    if (rc)
        db_rollback(db);
    return rc;
}

/* The items of a bouquet given by category names (nothing written). */
static int named_items(struct db *db, const struct dom_bouquet_named *in, const char *kind,
                       struct db_item *items, size_t *nitems, struct dom_error *e)
{
    size_t len = 0;
    if (in->all)
        items[len++] = (struct db_item){"all", 0};
    for (size_t i = 0; i < in->ncategories; i++) {
        int64_t ids[3]; /* one per kind */
        size_t n;
        struct dom_error miss;
        dom_error_reset(&miss);
        int rc = dom_content_find_by_name(db, &dom_res_category, kind, in->categories[i], ids,
                                          N(ids), &n, &miss);
        if (rc == -ENOENT) {
            char f[48];
            snprintf(f, sizeof(f), "categories[%zu]", i);
            if (!e->status)
                dom_err_set(e, 422, DOM_E_REFERENCE, "unknown category '%.200s'",
                            in->categories[i]);
            dom_err_field(e, f, "unknown",
                          "unknown %s%scategory '%.200s' (see xtreamd category list)",
                          kind ? kind : "", kind ? " " : "", in->categories[i]);
            continue;
        }
        if (rc) {
            *e = miss;
            return rc;
        }
        for (size_t k = 0; k < n; k++) {
            bool dup = false;
            for (size_t j = 0; j < len && !dup; j++)
                dup = strcmp(items[j].kind, "category") == 0 && items[j].id == ids[k];
            if (!dup)
                items[len++] = (struct db_item){"category", ids[k]};
        }
    }
    *nitems = len;
    return e->status ? -EINVAL : 0;
}

int dom_bouquet_create_named(struct db *db, const struct dom_bouquet_named *in, int64_t *id,
                             size_t *nitems, struct dom_error *e)
{
    const char *kind = NULL;
    struct dom_content_in b = {0};
    *id = 0;
    *nitems = 0;
    if (in->name)
        dom_in_set_str(&dom_res_bouquet, &b, "name", in->name);
    dom_content_validate(&dom_res_bouquet, &b, true, e); /* the name's rule */
    if (in->kind)
        dom_kind_parse("kind", in->kind, &kind, e);
    if (in->all && in->ncategories)
        dom_err_field(e, "categories", "conflict",
                      "a bouquet with everything (all) has no categories");
    if (in->all && in->kind)
        dom_err_field(e, "kind", "conflict", "applies to categories, not to all");
    if (in->ncategories > DOM_BOUQUET_CATEGORIES_MAX)
        dom_err_field(e, "categories", "too_long", "at most %d categories",
                      DOM_BOUQUET_CATEGORIES_MAX);
    for (size_t i = 0; i < in->ncategories && i < DOM_BOUQUET_CATEGORIES_MAX; i++) {
        if (!*in->categories[i]) {
            char f[48];
            snprintf(f, sizeof(f), "categories[%zu]", i);
            dom_err_field(e, f, "required", "empty category name");
        }
    }
    if (e->status)
        return -EINVAL;
    /* 3 kinds per name at most, plus all: within DOM_BOUQUET_ITEMS_MAX. */
    struct db_item *items = calloc(3 * in->ncategories + 1, sizeof(*items));
    if (!items)
        return dom_err_internal(e, -ENOMEM, "creating the bouquet");
    int rc = named_items(db, in, kind, items, &b.nitems, e);
    if (!rc) {
        b.has_items = true;
        b.items = items;
        rc = dom_content_create(db, &dom_res_bouquet, &b, id, e);
    }
    if (!rc)
        *nitems = b.nitems;
    free(items);
    return rc;
}

int dom_bouquet_delete_named(struct db *db, const char *name, struct dom_error *e)
{
    int64_t id;
    size_t n;
    int rc = dom_content_find_by_name(db, &dom_res_bouquet, NULL, name, &id, 1, &n, e);
    return rc ? rc : dom_content_delete(db, &dom_res_bouquet, id, e);
}

int dom_stream_save(struct db *db, int64_t id, struct dom_content_in *in, const char *category,
                    int64_t *out_id, struct dom_error *e)
{
    /* The stream's own rules first, so that a bad body creates no category. */
    if (dom_content_validate(&dom_res_stream, in, id == 0, e))
        return -EINVAL;
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    if (category) {
        int64_t cat;
        if ((rc = dom_category_ensure(db, "live", category, "category", &cat, e)))
            goto fail;
        dom_in_set_int(&dom_res_stream, in, "category_id", cat);
    }
    rc = id ? dom_content_update(db, &dom_res_stream, id, in, e)
            : dom_content_create(db, &dom_res_stream, in, out_id, e);
    if (rc)
        goto fail;
    if ((rc = db_commit(db))) {
        rc = dom_err_internal(e, rc, "saving the stream");
        goto fail;
    }
    return 0;
fail:
    db_rollback(db);
    if (out_id && !id)
        *out_id = 0;
    return rc;
}

void dom_item_label(struct db *db, const struct db_item *it, char *buf, size_t n)
{
    const struct db_table *t;
    struct db_rec rec;
    snprintf(buf, n, "%s", "");
    if (item_table(it->kind, &t) || db_rec_get(db, t, it->id, &rec))
        return;
    int name = db_col_index(t, "name");
    if (t == &db_tbl_categories)
        snprintf(buf, n, "%s/%s", rec.v[db_col_index(t, "kind")].s, rec.v[name].s);
    else
        snprintf(buf, n, "%s", rec.v[name].s);
    db_rec_free(t, &rec);
}
