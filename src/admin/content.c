/*
 * content.c: the catalogue resources of /api/v1 — streams (CRUD; the live
 * start/stop/state routes are live.c's), categories (+ PUT
 * /categories/order), bouquets (+ PUT /bouquets/{id}/items), movies, series
 * (+ /series/{id}/episodes), EPG sources (+ POST /epg/sources/{id}/import,
 * GET /epg/unmapped, PUT /streams/{id}/epg), and the jobs POST
 * /imports/m3u and POST /library/scan.
 *
 * domain/content.h owns every rule; this file decodes, calls, serialises. The
 * resources share one set of handlers driven by struct binding (the
 * resource's service description, its entity and path); their JSON Schemas
 * are generated from the same descriptions at start-up (schemas_init), so
 * the OpenAPI document cannot drift from what the handlers accept and write.
 * Every change: one transaction that reads the current representation
 * (If-Match is checked against its ETag), calls the service, writes the
 * audit row with before/after JSON, commits, then announces the change.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_priv.h"
#include "admin/call.h"
#include "admin/jobs.h"
#include "admin/resource.h"
#include "domain/content.h"
#include "domain/import.h"
#include "domain/library.h"
#include "domain/tx.h"
#include "epg/epg.h"
#include "epg/map.h"
#include "http/outbound.h"
#include "api/api.h"
#include "stream/live.h"
#include "vod/scan.h"

#ifndef XTREAMD_VERSION
#define XTREAMD_VERSION "0.0.0-dev"
#endif

struct binding {
    const struct dom_resource *r;
    const char *entity; /* audit and change events */
    const char *path;   /* Location: path/{id} */
    const char *schema; /* "Stream" */
    /* Examples of a create and a patch body (OpenAPI; the walk test sends them). */
    const char *ex_create, *ex_patch;
};

static const struct binding B_stream = {
    &dom_res_stream,
    "stream",
    "/api/v1/streams",
    "Stream",
    "{\"name\":\"Example channel\",\"sources\":[\"http://example.com/live/1.ts\"],"
    "\"epg_channel_id\":\"example.tv\"}",
    "{\"logo\":\"http://example.com/logo.png\",\"tv_archive_days\":1}"};
static const struct binding B_category = {&dom_res_category,
                                          "category",
                                          "/api/v1/categories",
                                          "Category",
                                          "{\"kind\":\"live\",\"name\":\"Example\"}",
                                          "{\"name\":\"Renamed\"}"};
static const struct binding B_bouquet = {
    &dom_res_bouquet,
    "bouquet",
    "/api/v1/bouquets",
    "Bouquet",
    "{\"name\":\"Example\",\"items\":[{\"kind\":\"all\",\"id\":null}]}",
    "{\"sort_order\":5}"};
static const struct binding B_movie = {
    &dom_res_movie,
    "movie",
    "/api/v1/movies",
    "Movie",
    "{\"name\":\"Example movie\",\"source\":\"https://example.com/vod/example.mp4\","
    "\"year\":2020,\"rating\":7.5}",
    "{\"plot\":\"A new plot.\",\"year\":null}"};
static const struct binding B_series = {&dom_res_series,
                                        "series",
                                        "/api/v1/series",
                                        "Series",
                                        "{\"name\":\"Example show\",\"plot\":\"A plot.\"}",
                                        "{\"genre\":\"Drama\"}"};
static const struct binding B_episode = {&dom_res_episode,
                                         "episode",
                                         NULL,
                                         "Episode",
                                         "{\"season\":1,\"episode_num\":1,\"title\":\"Pilot\","
                                         "\"source\":\"https://example.com/vod/s01e01.mp4\"}",
                                         "{\"title\":\"Pilot (director's cut)\"}"};
static const struct binding B_epg = {
    &dom_res_epg_source,
    "epg_source",
    "/api/v1/epg/sources",
    "EpgSource",
    "{\"name\":\"Example guide\",\"url\":\"https://example.com/guide.xml.gz\","
    "\"priority\":1}",
    "{\"refresh_hours\":12}"};

/* ---- representations -------------------------------------------------------- */

/* The JSON text of o (heap) and its ETag. */
static char *obj_text(const struct binding *b, const struct dom_obj *o, char etag[40])
{
    struct buf t;
    buf_init(&t, 8 << 20);
    struct jsonw w;
    jsonw_init(&w, &t);
    dom_obj_write_json(b->r, o, &w);
    if (t.err) {
        buf_free(&t);
        return NULL;
    }
    admin_etag_of(&t, etag);
    return buf_steal(&t, NULL);
}

/* The id of the addressed object: {id}, or {eid} of an episode (checked to
 * belong to series {id}). */
static int target_id(struct admin_call *c, const struct binding *b, int64_t *id)
{
    if (b != &B_episode)
        return admin_param_id(c, 0, b->entity, id);
    int64_t series;
    if (admin_param_id(c, 0, "series", &series) || admin_param_id(c, 1, "episode", id))
        return -ENOENT;
    return dom_episode_check_parent(c->db, series, *id, &c->err);
}

/* Loads the current object: its text (before) and ETag. */
static int load_current(struct admin_call *c, const struct binding *b, int64_t id, char **text,
                        char etag[40])
{
    struct dom_obj o;
    int rc = dom_content_get(c->db, b->r, id, &o, &c->err);
    if (rc < 0)
        return rc;
    *text = obj_text(b, &o, etag);
    dom_obj_free(b->r, &o);
    return *text ? 0 : dom_err_internal(&c->err, -ENOMEM, "serialising");
}

/* Answers with object id as it is now, writing the audit row (inside the
 * caller's transaction). */
static int answer(struct admin_call *c, const struct binding *b, int64_t id, const char *action,
                  const char *before)
{
    char etag[40];
    char *after = NULL;
    int rc = load_current(c, b, id, &after, etag);
    if (rc < 0)
        return rc;
    rc = admin_audit(c, action, b->entity, id, before, after);
    if (rc == 0) {
        buf_reset(&c->out);
        buf_puts(&c->out, after);
        memcpy(c->etag, etag, sizeof(etag));
    }
    free(after);
    return rc;
}

static void undo(struct admin_call *c)
{
    dom_rollback(c->db);
    buf_reset(&c->out);
    c->etag[0] = '\0';
}

/* ---- generic handlers ---------------------------------------------------------- */

static int do_get(struct admin_call *c, const struct binding *b)
{
    int64_t id;
    int rc = target_id(c, b, &id);
    if (rc < 0)
        return rc;
    struct dom_obj o;
    if ((rc = dom_content_get(c->db, b->r, id, &o, &c->err)) < 0)
        return rc;
    dom_obj_write_json(b->r, &o, &c->w);
    dom_obj_free(b->r, &o);
    admin_set_etag(c);
    return 0;
}

static int query_bool(struct admin_call *c, const char *key)
{
    const char *v = admin_query(c, key);
    if (!v)
        return -1;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        return 1;
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return 0;
    dom_err_field(&c->err, key, "format", "must be true or false");
    return -1;
}

static int do_list(struct admin_call *c, const struct binding *b)
{
    struct admin_list_query q;
    struct dom_obj *o = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc = admin_list_query(c, b->r->tbl->sortable, &q);
    if (rc < 0)
        return rc;
    if (b == &B_stream) {
        struct dom_stream_filter f = {admin_query_id(c, "category_id"), query_bool(c, "enabled")};
        rc = c->err.status ? -EINVAL : dom_stream_page(c->db, &f, &q.db, &o, &n, &total, &c->err);
    } else if (b == &B_category) {
        rc = dom_category_page(c->db, admin_query(c, "kind"), &q.db, &o, &n, &total, &c->err);
    } else if (b == &B_bouquet) {
        rc = dom_bouquet_page(c->db, &q.db, &o, &n, &total, &c->err);
    } else if (b == &B_movie || b == &B_series) {
        int64_t cat = admin_query_id(c, "category_id");
        rc = c->err.status   ? -EINVAL
             : b == &B_movie ? dom_movie_page(c->db, cat, &q.db, &o, &n, &total, &c->err)
                             : dom_series_page(c->db, cat, &q.db, &o, &n, &total, &c->err);
    } else if (b == &B_episode) {
        int64_t series;
        if (admin_param_id(c, 0, "series", &series))
            return -ENOENT;
        int64_t season = -1;
        const char *v = admin_query(c, "season");
        if (v) {
            char *end;
            season = strtoll(v, &end, 10);
            if (!*v || *end || season < 0)
                return dom_err_field(&c->err, "season", "format", "must be an integer >= 0");
        }
        rc = dom_episode_page(c->db, series, season, &q.db, &o, &n, &total, &c->err);
    } else {
        rc = dom_epg_source_page(c->db, &q.db, &o, &n, &total, &c->err);
    }
    if (rc < 0)
        return rc;
    admin_list_begin(c);
    for (size_t i = 0; i < n; i++)
        dom_obj_write_json(b->r, &o[i], &c->w);
    admin_list_end(c, &q, total);
    dom_obj_free_all(b->r, o, n);
    return 0;
}

static int do_create(struct admin_call *c, const struct binding *b)
{
    struct dom_content_in in;
    int64_t id = 0;
    int rc = dom_content_from_json(b->r, c->body, c->body_len, &in, &c->err);
    if (rc < 0)
        goto out;
    in.data_dir = c->admin->data_dir;
    if (b == &B_episode && admin_param_id(c, 0, "series", &in.parent_id)) {
        rc = -ENOENT;
        goto out;
    }
    if ((rc = dom_begin(c->db, &c->err)) < 0)
        goto out;
    if ((rc = dom_content_create(c->db, b->r, &in, &id, &c->err)) < 0 ||
        (rc = answer(c, b, id, "create", NULL)) < 0 || (rc = dom_commit(c->db, &c->err)) < 0) {
        undo(c);
        goto out;
    }
    if (b == &B_episode)
        snprintf(c->location, sizeof(c->location), "/api/v1/series/%lld/episodes/%lld",
                 (long long)in.parent_id, (long long)id);
    else
        snprintf(c->location, sizeof(c->location), "%s/%lld", b->path, (long long)id);
    admin_notify_change(c, b->entity, id, "create");
out:
    dom_content_in_free(&in);
    return rc;
}

/* The common frame of a change: begin, load, If-Match, change(), answer,
 * commit. */
static int do_change(struct admin_call *c, const struct binding *b,
                     int (*change)(struct admin_call *c, const struct binding *b, int64_t id,
                                   void *arg),
                     void *arg, const char *action)
{
    int64_t id;
    char *before = NULL;
    char etag[40];
    int rc = dom_begin(c->db, &c->err);
    if (rc < 0)
        return rc;
    if ((rc = target_id(c, b, &id)) < 0 || (rc = load_current(c, b, id, &before, etag)) < 0)
        goto fail;
    if (!admin_if_match(c, etag)) {
        rc = -EAGAIN;
        goto fail;
    }
    if ((rc = change(c, b, id, arg)) < 0)
        goto fail;
    /* The EPG server's automatic mapping depends on which sources exist and
     * their priorities (as after `xtreamd epg del`). */
    if (b == &B_epg && (rc = epg_automap(c->db, true)) < 0) {
        rc = dom_err_internal(&c->err, rc, "remapping the guide");
        goto fail;
    }
    if (strcmp(action, "delete") == 0)
        rc = admin_audit(c, action, b->entity, id, before, NULL);
    else
        rc = answer(c, b, id, action, before);
    if (rc < 0 || (rc = dom_commit(c->db, &c->err)) < 0)
        goto fail;
    free(before);
    admin_notify_change(c, b->entity, id, action);
    return 0;
fail:
    undo(c);
    free(before);
    return rc;
}

static int change_patch(struct admin_call *c, const struct binding *b, int64_t id, void *arg)
{
    struct dom_content_in *in = arg;
    return dom_content_update(c->db, b->r, id, in, &c->err);
}

static int do_patch(struct admin_call *c, const struct binding *b)
{
    struct dom_content_in in;
    int rc = dom_content_from_json(b->r, c->body, c->body_len, &in, &c->err);
    if (rc == 0) {
        in.data_dir = c->admin->data_dir;
        rc = do_change(c, b, change_patch, &in, "update");
    }
    dom_content_in_free(&in);
    return rc;
}

static int change_delete(struct admin_call *c, const struct binding *b, int64_t id, void *arg)
{
    (void)arg;
    return dom_content_delete(c->db, b->r, id, &c->err);
}

static int do_delete(struct admin_call *c, const struct binding *b)
{
    return do_change(c, b, change_delete, NULL, "delete");
}

#define HANDLERS(x)                                                                                \
    static int x##_list(struct admin_call *c)                                                      \
    {                                                                                              \
        return do_list(c, &B_##x);                                                                 \
    }                                                                                              \
    static int x##_get(struct admin_call *c)                                                       \
    {                                                                                              \
        return do_get(c, &B_##x);                                                                  \
    }                                                                                              \
    static int x##_create(struct admin_call *c)                                                    \
    {                                                                                              \
        return do_create(c, &B_##x);                                                               \
    }                                                                                              \
    static int x##_patch(struct admin_call *c)                                                     \
    {                                                                                              \
        return do_patch(c, &B_##x);                                                                \
    }                                                                                              \
    static int x##_delete(struct admin_call *c)                                                    \
    {                                                                                              \
        return do_delete(c, &B_##x);                                                               \
    }

HANDLERS(stream)
HANDLERS(category)
HANDLERS(bouquet)
HANDLERS(movie)
HANDLERS(series)
HANDLERS(episode)
HANDLERS(epg)

/* ---- ordered parts, mapping ------------------------------------------------------- */

static int change_items(struct admin_call *c, const struct binding *b, int64_t id, void *arg)
{
    const struct dom_content_in *in = arg;
    (void)b;
    return dom_bouquet_set_items(c->db, id, in->items, in->nitems, &c->err);
}

static int bouquet_items_put(struct admin_call *c)
{
    struct dom_content_in in;
    int rc = dom_items_from_json(c->body, c->body_len, &in, &c->err);
    if (rc == 0)
        rc = do_change(c, &B_bouquet, change_items, &in, "update");
    dom_content_in_free(&in);
    return rc;
}

/* PUT /categories/order and /bouquets/order: {"ids":[...]} get sort_order 1..n. */
static int order_put(struct admin_call *c, bool bouquets)
{
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = dom_ids_from_json(c->body, c->body_len, &ids, &n, &c->err);
    if (rc < 0)
        return rc;
    if ((rc = dom_begin(c->db, &c->err)) < 0)
        goto out;
    struct buf after;
    buf_init(&after, 1 << 20);
    struct jsonw w;
    jsonw_init(&w, &after);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "ids");
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        jsonw_int(&w, ids[i]);
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);
    if ((rc = (bouquets ? dom_bouquet_reorder : dom_category_reorder)(c->db, ids, n, &c->err)) <
            0 ||
        (rc = admin_audit(c, "reorder", bouquets ? "bouquet" : "category", 0, NULL, after.data)) <
            0 ||
        (rc = dom_commit(c->db, &c->err)) < 0) {
        undo(c);
    } else {
        admin_notify_change(c, bouquets ? "bouquet" : "category", 0, "reorder");
    }
    buf_free(&after);
out:
    free(ids);
    return rc;
}

static int category_order_put(struct admin_call *c)
{
    return order_put(c, false);
}

static int bouquet_order_put(struct admin_call *c)
{
    return order_put(c, true);
}

static int change_epg(struct admin_call *c, const struct binding *b, int64_t id, void *arg)
{
    (void)b;
    return dom_epg_map(c->db, id, arg, &c->err);
}

static int stream_epg_put(struct admin_call *c)
{
    json_error_t jerr;
    json_t *doc = json_loadb(c->body ? c->body : "", c->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return dom_err_set(&c->err, 400, DOM_E_MALFORMED,
                           "the body is {\"epg_channel_id\": \"id\" | null}");
    }
    json_t *v = json_object_get(doc, "epg_channel_id");
    int rc;
    if (!v || json_object_size(doc) != 1 || !(json_is_string(v) || json_is_null(v)))
        rc = dom_err_field(&c->err, "epg_channel_id", "type", "must be a string or null");
    else
        rc = do_change(c, &B_stream, change_epg,
                       (void *)(json_is_string(v) ? json_string_value(v) : ""), "update");
    json_decref(doc);
    return rc;
}

static int epg_unmapped_list(struct admin_call *c)
{
    static const char *const no_sort[] = {NULL};
    struct admin_list_query q;
    if (admin_list_query(c, no_sort, &q) < 0)
        return -EINVAL;
    struct epg_unmapped *u = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc = epg_unmapped_page(c->db, q.db.offset, q.db.limit, &u, &n, &total);
    if (rc < 0)
        return dom_err_internal(&c->err, rc, "listing unmapped channels");
    admin_list_begin(c);
    for (size_t i = 0; i < n; i++) {
        jsonw_obj_begin(&c->w);
        jsonw_key(&c->w, "stream_id");
        jsonw_int(&c->w, u[i].stream_id);
        jsonw_key(&c->w, "name");
        jsonw_str(&c->w, u[i].name);
        jsonw_key(&c->w, "epg_channel_id");
        if (u[i].epg_id[0])
            jsonw_str(&c->w, u[i].epg_id);
        else
            jsonw_null(&c->w);
        jsonw_key(&c->w, "candidates");
        jsonw_arr_begin(&c->w);
        for (int k = 0; k < EPG_CANDIDATES && u[i].candidate[k]; k++) {
            jsonw_obj_begin(&c->w);
            jsonw_key(&c->w, "epg_channel_id");
            jsonw_str(&c->w, u[i].candidate[k]);
            jsonw_key(&c->w, "score");
            jsonw_int(&c->w, u[i].score[k]);
            jsonw_obj_end(&c->w);
        }
        jsonw_arr_end(&c->w);
        jsonw_obj_end(&c->w);
    }
    admin_list_end(c, &q, total);
    epg_unmapped_free(u, n);
    return 0;
}

/* GET /api/v1/epg/channels?source_id=&q=: the guide channels to map a
 * stream to by hand (the panel's EPG page searches them). */
static int epg_channel_list(struct admin_call *c)
{
    static const char *const no_sort[] = {NULL};
    struct admin_list_query q;
    if (admin_list_query(c, no_sort, &q) < 0)
        return -EINVAL;
    int64_t source_id = admin_query_id(c, "source_id");
    if (c->err.status)
        return -EINVAL;
    struct epg_guide_channel *ch = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc =
        epg_guide_channel_page(c->db, source_id, q.db.q, q.db.offset, q.db.limit, &ch, &n, &total);
    if (rc < 0)
        return dom_err_internal(&c->err, rc, "listing guide channels");
    admin_list_begin(c);
    for (size_t i = 0; i < n; i++) {
        jsonw_obj_begin(&c->w);
        jsonw_key(&c->w, "epg_channel_id");
        jsonw_str(&c->w, ch[i].channel_id);
        jsonw_key(&c->w, "display_name");
        jsonw_str(&c->w, ch[i].display_name);
        jsonw_key(&c->w, "icon");
        jsonw_str(&c->w, ch[i].icon);
        jsonw_key(&c->w, "source_id");
        jsonw_int(&c->w, ch[i].source_id);
        jsonw_key(&c->w, "source_name");
        jsonw_str(&c->w, ch[i].source_name);
        jsonw_key(&c->w, "programmes");
        jsonw_int(&c->w, ch[i].programmes);
        jsonw_obj_end(&c->w);
    }
    admin_list_end(c, &q, total);
    epg_guide_channels_free(ch, n);
    return 0;
}

static int epg_status_get(struct admin_call *c)
{
    int64_t id;
    struct dom_obj o;
    if (admin_param_id(c, 0, "EPG source", &id))
        return -ENOENT;
    int rc = dom_epg_source_status(c->db, id, &o, &c->err);
    if (rc < 0)
        return rc;
    /* The status members of the source object, by name, plus ok. */
    static const char *const keys[] = {"last_import", "last_attempt", "last_status",
                                       "channels",    "programmes",   NULL};
    const struct db_table *t = dom_res_epg_source.tbl;
    int st = db_col_index(t, "last_status");
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "source_id");
    jsonw_int(&c->w, id);
    for (size_t k = 0; keys[k]; k++) {
        int i = db_col_index(t, keys[k]);
        if (t->cols[i].type == DB_COL_TIME)
            admin_write_time(&c->w, keys[k], o.rec.v[i].i, true);
        else if (t->cols[i].type == DB_COL_TEXT) {
            jsonw_key(&c->w, keys[k]);
            jsonw_str(&c->w, o.rec.v[i].s);
        } else {
            jsonw_key(&c->w, keys[k]);
            jsonw_int(&c->w, o.rec.v[i].i);
        }
    }
    jsonw_key(&c->w, "ok");
    jsonw_bool(&c->w, strncmp(o.rec.v[st].s, "ok", 2) == 0);
    jsonw_obj_end(&c->w);
    dom_obj_free(&dom_res_epg_source, &o);
    return 0;
}

/* ---- jobs --------------------------------------------------------------------------- */

static void job_progress(void *ctx, int percent, const char *stage)
{
    admin_job_progress(ctx, percent, stage);
}

struct epg_job {
    int64_t source_id;
};

static int run_epg_import(struct admin_job *j, struct db *db, void *arg, struct jsonw *result,
                          struct dom_error *e)
{
    const struct epg_job *a = arg;
    struct epg_import_result res;
    int rc =
        epg_import_source_progress(db, a->source_id, (int64_t)time(NULL), &res, job_progress, j);
    if (rc < 0)
        return dom_err_set(e, 422, DOM_E_REJECTED, "%s (the previous guide is kept)", res.error);
    jsonw_obj_begin(result);
    jsonw_key(result, "source_id");
    jsonw_int(result, a->source_id);
    jsonw_key(result, "channels");
    jsonw_int(result, res.channels);
    jsonw_key(result, "programmes");
    jsonw_int(result, res.programmes);
    jsonw_key(result, "skipped");
    jsonw_int(result, res.skipped);
    jsonw_key(result, "bytes");
    jsonw_int(result, res.bytes);
    jsonw_obj_end(result);
    return 0;
}

static int epg_import_post(struct admin_call *c)
{
    int64_t id;
    struct dom_obj o;
    if (admin_param_id(c, 0, "EPG source", &id))
        return -ENOENT;
    int rc = dom_content_get(c->db, &dom_res_epg_source, id, &o, &c->err);
    if (rc < 0)
        return rc;
    dom_obj_free(&dom_res_epg_source, &o);
    struct epg_job *a = calloc(1, sizeof(*a));
    if (!a)
        return dom_err_internal(&c->err, -ENOMEM, "queueing the import");
    a->source_id = id;
    return admin_job_submit(c, "epg_import", run_epg_import, a, free);
}

struct m3u_job {
    char *url;      /* a playlist to download, or */
    char *content;  /* the playlist itself */
    char kind[8];   /* live | movie */
    char *category; /* for entries without a group */
    char *data_dir;
    struct dom_error *e; /* the run's error: rejected lines are listed in it */
};

static void m3u_job_free(void *arg)
{
    struct m3u_job *a = arg;
    free(a->url);
    free(a->content);
    free(a->category);
    free(a->data_dir);
    free(a);
}

/* Each rejected line becomes a field error ("line 12"), the first
 * DOM_MAX_FIELD_ERRORS of them kept, the rest counted. */
static void m3u_reject(void *ctx, size_t line, const char *reason)
{
    struct m3u_job *a = ctx;
    char f[32];
    snprintf(f, sizeof(f), "line %zu", line);
    dom_err_field(a->e, f, "rejected", "%s", reason);
}

static int run_m3u_import(struct admin_job *j, struct db *db, void *arg, struct jsonw *result,
                          struct dom_error *e)
{
    struct m3u_job *a = arg;
    struct buf body = BUF_INIT(DOM_IMPORT_MAX_BYTES);
    const char *data = a->content;
    size_t len = a->content ? strlen(a->content) : 0;
    a->e = e;
    if (a->url) {
        char err[256];
        admin_job_progress(j, 0, "downloading");
        int rc = outbound_fetch(a->url, &body, DOM_IMPORT_MAX_BYTES, "xtreamd/" XTREAMD_VERSION,
                                err, sizeof(err));
        if (rc < 0) {
            buf_free(&body);
            dom_err_set(e, 422, DOM_E_REJECTED, "%s", err);
            return dom_err_field(e, "url", "download", "%s", err);
        }
        data = body.data ? body.data : "";
        len = body.len;
    }
    struct dom_import_in in = {
        .kind = a->kind,
        .category = a->category,
        .remote = true, /* an API playlist is never trusted with local paths */
        .data_dir = a->data_dir,
        .reject = m3u_reject,
        .ctx = a,
    };
    struct dom_import_result res;
    int rc = dom_import_run(db, &in, data, len, job_progress, j, &res, e);
    buf_free(&body);
    if (rc < 0)
        return rc;
    jsonw_obj_begin(result);
    jsonw_key(result, "kind");
    jsonw_str(result, res.movies ? "movie" : "live");
    jsonw_key(result, "entries");
    jsonw_int(result, (long long)res.entries);
    jsonw_key(result, "created");
    jsonw_int(result, (long long)res.created);
    jsonw_key(result, "updated");
    jsonw_int(result, (long long)res.updated);
    jsonw_key(result, "duplicates");
    jsonw_int(result, (long long)res.duplicates);
    jsonw_key(result, "categories");
    jsonw_int(result, (long long)res.categories);
    jsonw_obj_end(result);
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int m3u_import_post(struct admin_call *c)
{
    static const char *const known[] = {"url", "content", "kind", "category", NULL};
    const char *url = NULL, *content = NULL, *kind = NULL, *category = NULL;
    json_error_t jerr;
    json_t *doc = json_loadb(c->body ? c->body : "", c->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return dom_err_set(&c->err, 400, DOM_E_MALFORMED, "the body must be a JSON object");
    }
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        size_t k = 0;
        while (known[k] && strcmp(known[k], key) != 0)
            k++;
        if (!known[k]) {
            char f[48];
            snprintf(f, sizeof(f), "%.40s", *key ? key : "(empty name)");
            dom_err_field(&c->err, f, "unknown", "unknown member");
        } else if (!json_is_string(v)) {
            dom_err_field(&c->err, key, "type", "must be a string");
        }
    }
    url = json_string_value(json_object_get(doc, "url"));
    content = json_string_value(json_object_get(doc, "content"));
    kind = json_string_value(json_object_get(doc, "kind"));
    category = json_string_value(json_object_get(doc, "category"));
    if (!url == !content)
        dom_err_field(&c->err, url ? "content" : "url", url ? "conflict" : "required",
                      "give either url (http/https) or content (the playlist)");
    else if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        dom_err_field(&c->err, "url", "format", "must be an http(s) URL");
    struct dom_import_in in = {.kind = kind, .category = category, .remote = true};
    if (!c->err.status)
        dom_import_check(&in, &c->err);
    if (c->err.status) {
        json_decref(doc);
        return -EINVAL;
    }
    struct m3u_job *a = calloc(1, sizeof(*a));
    int rc = 0;
    if (a) {
        snprintf(a->kind, sizeof(a->kind), "%s", kind ? kind : "live");
        a->url = dup_or_null(url);
        a->content = dup_or_null(content);
        a->category = dup_or_null(category);
        a->data_dir = dup_or_null(c->admin->data_dir);
    }
    json_decref(doc);
    if (!a || (url && !a->url) || (content && !a->content) || (category && !a->category)) {
        if (a)
            m3u_job_free(a);
        return dom_err_internal(&c->err, -ENOMEM, "queueing the import");
    }
    rc = admin_job_submit(c, "m3u_import", run_m3u_import, a, m3u_job_free);
    return rc;
}

struct scan_job {
    char *path, *category, *data_dir;
    bool series;
};

static void scan_job_free(void *arg)
{
    struct scan_job *a = arg;
    free(a->path);
    free(a->category);
    free(a->data_dir);
    free(a);
}

static int run_scan(struct admin_job *j, struct db *db, void *arg, struct jsonw *result,
                    struct dom_error *e)
{
    struct scan_job *a = arg;
    int64_t cat = 0;
    admin_job_progress(j, 0, "checking");
    /* The folder becomes a library root: the root rule (an existing folder,
     * not the data directory) decides whether it may be scanned. */
    int rc = dom_library_root_add(db, a->path, a->data_dir, e);
    if (rc < 0)
        return rc;
    if (a->category && (rc = dom_library_category(db, a->series, a->category, &cat, e)) < 0)
        return rc;
    struct vod_scan_opts o = {
        .root = a->path,
        .series = a->series,
        .category_id = cat,
        .on_progress = job_progress,
        .progress_ctx = j,
    };
    struct vod_scan_stats st;
    rc = vod_scan(db, &o, &st);
    if (rc < 0) {
        dom_err_set(e, 422, DOM_E_REJECTED, "the scan failed: %s", strerror(-rc));
        return dom_err_field(e, "path", "scan", "%s", strerror(-rc));
    }
    jsonw_obj_begin(result);
    jsonw_key(result, "kind");
    jsonw_str(result, a->series ? "series" : "movie");
    jsonw_key(result, "files");
    jsonw_int(result, (long long)st.files);
    jsonw_key(result, "shows");
    jsonw_int(result, (long long)st.shows);
    jsonw_key(result, "added");
    jsonw_int(result, (long long)st.added);
    jsonw_key(result, "updated");
    jsonw_int(result, (long long)st.updated);
    jsonw_key(result, "unchanged");
    jsonw_int(result, (long long)st.unchanged);
    jsonw_key(result, "failed");
    jsonw_int(result, (long long)st.failed);
    jsonw_key(result, "missing");
    jsonw_int(result, (long long)st.missing);
    jsonw_obj_end(result);
    return 0;
}

static int library_scan_post(struct admin_call *c)
{
    static const char *const known[] = {"path", "kind", "category", NULL};
    const char *path = NULL, *kind = NULL, *category = NULL;
    bool has;
    if (admin_json_known(c, known) < 0 || admin_json_str(c, "path", &path, &has) < 0 ||
        admin_json_str(c, "kind", &kind, &has) < 0 ||
        admin_json_str(c, "category", &category, &has) < 0)
        return -EINVAL;
    if (!path || !*path)
        dom_err_field(&c->err, "path", "required", "the folder to scan is required");
    else if (path[0] != '/' || strlen(path) > 4096)
        dom_err_field(&c->err, "path", "format", "must be an absolute folder path");
    bool series = kind && strcmp(kind, "series") == 0;
    if (kind && !series && strcmp(kind, "movie") != 0)
        dom_err_field(&c->err, "kind", "format", "must be movie or series");
    if (category && (!*category || strlen(category) > 200))
        dom_err_field(&c->err, "category", "too_long", "must be 1 to 200 bytes");
    if (c->err.status)
        return -EINVAL;
    struct scan_job *a = calloc(1, sizeof(*a));
    if (!a || !(a->path = strdup(path)) || (category && !(a->category = strdup(category))) ||
        !(a->data_dir = strdup(c->admin->data_dir))) {
        if (a)
            scan_job_free(a);
        return dom_err_internal(&c->err, -ENOMEM, "queueing the scan");
    }
    a->series = series;
    return admin_job_submit(c, "library_scan", run_scan, a, scan_job_free);
}

/* ---- routes --------------------------------------------------------------------------- */

#define EXT(x)                                                                                     \
    static const struct admin_route_ext ext_##x##_get = {.work = x##_get};                         \
    static const struct admin_route_ext ext_##x##_create = {.work = x##_create};                   \
    static const struct admin_route_ext ext_##x##_patch = {.work = x##_patch};                     \
    static const struct admin_route_ext ext_##x##_delete = {.work = x##_delete};

#define EXT_WITH_POST_GET(x, p)                                                                    \
    static const struct admin_route_ext ext_##x##_get = {.work = x##_get, .post = p};              \
    static const struct admin_route_ext ext_##x##_create = {.work = x##_create};                   \
    static const struct admin_route_ext ext_##x##_patch = {.work = x##_patch};                     \
    static const struct admin_route_ext ext_##x##_delete = {.work = x##_delete};

/* Artwork URLs for the panel's lists (the catalogue is the loop's, so in
 * post()): "poster_url"/"cover_url" and "backdrop_url" are the stored URL (an
 * import's or an .nfo's), else the /images route of local artwork a library
 * scan found, else "" — what player_api.php hands players. */
static void art_member(json_t *it, const char *key, const char *stored, const char *file,
                       const char *kind, int64_t id, const char *which)
{
    char url[96];
    const char *v = "";
    if (stored && *stored) {
        v = stored;
    } else if (file && *file) {
        snprintf(url, sizeof(url), "/images/%s/%lld/%s", kind, (long long)id, which);
        v = url;
    } else {
        v = json_string_value(json_object_get(
            it, strcmp(which, "poster") == 0 && strcmp(kind, "series") == 0 ? "cover" : which));
    }
    json_object_set_new(it, key, json_string(v ? v : ""));
}

static void art_post(struct admin_call *c, bool series)
{
    struct api *api = admin_api(c->admin);
    struct catalog *cat = api ? api_catalog(api) : NULL;
    json_t *doc = json_loadb(c->out.data, c->out.len, 0, NULL);
    json_t *items = doc ? json_object_get(doc, "items") : NULL;
    json_t *one = doc && !items ? json_array() : NULL;
    if (one)
        json_array_append(one, doc);
    size_t i;
    json_t *it;
    json_array_foreach(items ? items : one, i, it)
    {
        int64_t id = json_integer_value(json_object_get(it, "id"));
        if (series) {
            const struct cat_series *s = cat ? catalog_series(cat, id) : NULL;
            art_member(it, "cover_url", s ? s->cover : NULL, s ? s->cover_file : NULL, "series", id,
                       "poster");
            art_member(it, "backdrop_url", s ? s->backdrop : NULL, s ? s->backdrop_file : NULL,
                       "series", id, "backdrop");
        } else {
            const struct cat_movie *m = cat ? catalog_movie(cat, id) : NULL;
            art_member(it, "poster_url", m ? m->poster : NULL, m ? m->poster_file : NULL, "movie",
                       id, "poster");
            art_member(it, "backdrop_url", m ? m->backdrop : NULL, m ? m->backdrop_file : NULL,
                       "movie", id, "backdrop");
        }
    }
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (text) {
        buf_reset(&c->out);
        buf_puts(&c->out, text);
        free(text);
    }
    json_decref(one);
    json_decref(doc);
}
static void movie_art_post(struct admin_call *c)
{
    art_post(c, false);
}
static void series_art_post(struct admin_call *c)
{
    art_post(c, true);
}

EXT(stream)
EXT(category)
EXT(bouquet)
EXT_WITH_POST_GET(movie, movie_art_post)
EXT_WITH_POST_GET(series, series_art_post)
EXT(episode)
EXT(epg)

static const char *const f_stream[] = {"category_id", "enabled", NULL};
static const char *const f_category[] = {"kind", NULL};
static const char *const f_none[] = {NULL};
static const char *const f_vod[] = {"category_id", NULL};
static const char *const f_episode[] = {"season", NULL};
/* The list of streams carries each stream's live state (the engine is the
 * loop's): "live": {"state","viewers","input_kbps","source_index"}, state
 * "stopped" with zeros for a stream the engine has not run. */
static void stream_list_post(struct admin_call *c)
{
    struct live *live = admin_live(c->admin);
    json_t *doc = live ? json_loadb(c->out.data, c->out.len, 0, NULL) : NULL;
    json_t *items = doc ? json_object_get(doc, "items") : NULL;
    if (!items)
        goto out;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        struct live_channel_brief b = {.state = "stopped"};
        live_channel_brief(live, json_integer_value(json_object_get(it, "id")), &b);
        json_object_set_new(it, "live",
                            json_pack("{s:s,s:I,s:I,s:i}", "state", b.state, "viewers",
                                      (json_int_t)b.viewers, "input_kbps", (json_int_t)b.input_kbps,
                                      "source_index", b.source_index));
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    if (text) {
        buf_reset(&c->out);
        buf_puts(&c->out, text);
        free(text);
    }
out:
    json_decref(doc);
}

static const struct admin_route_ext ext_stream_list = {
    .work = stream_list, .post = stream_list_post, .list = true, .filters = f_stream};
static const struct admin_route_ext ext_category_list = {
    .work = category_list, .list = true, .filters = f_category};
static const struct admin_route_ext ext_bouquet_list = {
    .work = bouquet_list, .list = true, .filters = f_none};
static const struct admin_route_ext ext_movie_list = {
    .work = movie_list, .post = movie_art_post, .list = true, .filters = f_vod};
static const struct admin_route_ext ext_series_list = {
    .work = series_list, .post = series_art_post, .list = true, .filters = f_vod};
static const struct admin_route_ext ext_episode_list = {
    .work = episode_list, .list = true, .filters = f_episode};
static const struct admin_route_ext ext_epg_list = {
    .work = epg_list, .list = true, .filters = f_none};
static const struct admin_route_ext ext_unmapped = {
    .work = epg_unmapped_list, .list = true, .filters = f_none};
static const char *const f_epg_channels[] = {"source_id", NULL};
static const struct admin_route_ext ext_epg_channels = {
    .work = epg_channel_list, .list = true, .filters = f_epg_channels};
static const struct admin_route_ext ext_items = {.work = bouquet_items_put};
static const struct admin_route_ext ext_order = {.work = category_order_put};
static const struct admin_route_ext ext_bouquet_order = {.work = bouquet_order_put};
static const struct admin_route_ext ext_stream_epg = {.work = stream_epg_put};
static const struct admin_route_ext ext_epg_import = {.work = epg_import_post};
static const struct admin_route_ext ext_epg_status = {.work = epg_status_get};
static const struct admin_route_ext ext_m3u = {.work = m3u_import_post};
static const struct admin_route_ext ext_scan = {.work = library_scan_post};

#define CRUD(x, base, idpath, tag, S, scope, what)                                                   \
    {ROUTE_GET, base, admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read", "List " what,                  \
     tag,       NULL, S "List",       200,  &ext_##x##_list},                                        \
        {ROUTE_POST,                                                                                 \
         base,                                                                                       \
         admin_route_fn,                                                                             \
         NULL,                                                                                       \
         ROUTE_AUTH_ADMIN,                                                                           \
         scope,                                                                                      \
         "Create " what,                                                                             \
         tag,                                                                                        \
         S "Create",                                                                                 \
         S,                                                                                          \
         201,                                                                                        \
         &ext_##x##_create},                                                                         \
        {ROUTE_GET, idpath, admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read", "Read " what, tag, NULL, \
         S,         200,    &ext_##x##_get},                                                         \
        {ROUTE_PATCH,                                                                                \
         idpath,                                                                                     \
         admin_route_fn,                                                                             \
         NULL,                                                                                       \
         ROUTE_AUTH_ADMIN,                                                                           \
         scope,                                                                                      \
         "Change " what " (JSON Merge Patch; If-Match honoured)",                                    \
         tag,                                                                                        \
         S "Patch",                                                                                  \
         S,                                                                                          \
         200,                                                                                        \
         &ext_##x##_patch},                                                                          \
    {                                                                                                \
        ROUTE_DELETE, idpath, admin_route_fn, NULL, ROUTE_AUTH_ADMIN, scope,                         \
            "Delete " what " (If-Match honoured)", tag, NULL, NULL, 204, &ext_##x##_delete           \
    }

static const struct route routes[] = {
    CRUD(stream, "/api/v1/streams", "/api/v1/streams/{id}", "streams", "Stream", "streams:write",
         "a live stream"),
    {ROUTE_PUT, "/api/v1/streams/{id}/epg", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "streams:write",
     "Map a stream to a guide channel (null clears)", "epg", "EpgMapping", "Stream", 200,
     &ext_stream_epg},
    {ROUTE_PUT, "/api/v1/categories/order", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "content:write",
     "Reorder categories (the listed ids get sort_order 1..n)", "categories", "CategoryOrder", NULL,
     204, &ext_order},
    CRUD(category, "/api/v1/categories", "/api/v1/categories/{id}", "categories", "Category",
         "content:write", "a category"),
    {ROUTE_PUT, "/api/v1/bouquets/order", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "content:write",
     "Reorder bouquets (the listed ids get sort_order 1..n)", "bouquets", "BouquetOrder", NULL, 204,
     &ext_bouquet_order},
    CRUD(bouquet, "/api/v1/bouquets", "/api/v1/bouquets/{id}", "bouquets", "Bouquet",
         "content:write", "a bouquet"),
    {ROUTE_PUT, "/api/v1/bouquets/{id}/items", admin_route_fn, NULL, ROUTE_AUTH_ADMIN,
     "content:write", "Replace a bouquet's ordered items (If-Match honoured)", "bouquets",
     "BouquetItems", "Bouquet", 200, &ext_items},
    CRUD(movie, "/api/v1/movies", "/api/v1/movies/{id}", "movies", "Movie", "content:write",
         "a movie"),
    CRUD(series, "/api/v1/series", "/api/v1/series/{id}", "series", "Series", "content:write",
         "a series"),
    CRUD(episode, "/api/v1/series/{id}/episodes", "/api/v1/series/{id}/episodes/{eid}", "series",
         "Episode", "content:write", "an episode"),
    CRUD(epg, "/api/v1/epg/sources", "/api/v1/epg/sources/{id}", "epg", "EpgSource",
         "content:write", "an EPG source"),
    {ROUTE_POST, "/api/v1/epg/sources/{id}/import", admin_route_fn, NULL, ROUTE_AUTH_ADMIN,
     "content:write", "Import an EPG source now (a job)", "epg", NULL, "JobAccepted", 202,
     &ext_epg_import},
    {ROUTE_GET, "/api/v1/epg/sources/{id}/status", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "The import status of an EPG source", "epg", NULL, "EpgSourceStatus", 200, &ext_epg_status},
    {ROUTE_GET, "/api/v1/epg/channels", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Guide channels of the imported sources (q on the id and display name), to map by hand", "epg",
     NULL, "EpgChannelList", 200, &ext_epg_channels},
    {ROUTE_GET, "/api/v1/epg/unmapped", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Streams without a guide, with candidate guide channels", "epg", NULL, "UnmappedList", 200,
     &ext_unmapped},
    {ROUTE_POST, "/api/v1/imports/m3u", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "content:write",
     "Import an M3U playlist (a job)", "imports", "M3uImport", "JobAccepted", 202, &ext_m3u},
    {ROUTE_POST, "/api/v1/library/scan", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "content:write",
     "Scan a movie or series folder (a job)", "library", "LibraryScan", "JobAccepted", 202,
     &ext_scan},
};

/* ---- schemas, generated from the resource descriptions ------------------------------------ */

#define NSCHEMAS (7 * 4 + 10)
static struct admin_schema schemas[NSCHEMAS];

static void prop(struct buf *b, const struct db_col *col, const struct dom_field *f, bool *first)
{
    buf_printf(b, "%s\"%s\":", *first ? "" : ",", col->name);
    *first = false;
    switch (col->type) {
    case DB_COL_TEXT:
        if (f && f->max)
            buf_printf(b, "{\"type\":\"string\",\"maxLength\":%zu}", f->max);
        else
            buf_puts(b, "{\"type\":\"string\"}");
        break;
    case DB_COL_NTEXT:
        buf_printf(b, "{\"type\":[\"string\",\"null\"]%s}", "");
        break;
    case DB_COL_INT:
        if (f && (f->lo || f->hi))
            buf_printf(b, "{\"type\":\"integer\",\"minimum\":%lld,\"maximum\":%lld}",
                       (long long)f->lo, (long long)f->hi);
        else
            buf_puts(b, "{\"type\":\"integer\"}");
        break;
    case DB_COL_NINT:
    case DB_COL_REF:
        buf_puts(b, "{\"type\":[\"integer\",\"null\"]}");
        break;
    case DB_COL_BOOL:
        buf_puts(b, "{\"type\":\"boolean\"}");
        break;
    case DB_COL_REAL:
        buf_puts(b, "{\"type\":\"number\"}");
        break;
    case DB_COL_TIME:
        buf_puts(b, "{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"}");
        break;
    default:
        buf_puts(b, "{\"type\":\"integer\"}");
    }
}

static const struct dom_field *field(const struct dom_resource *r, const char *name)
{
    for (size_t i = 0; i < r->nfields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return &r->fields[i];
    return NULL;
}

static const char ITEMS[] =
    "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"kind\",\"id\"],"
    "\"additionalProperties\":false,\"properties\":{\"kind\":{\"enum\":[\"all\",\"category\","
    "\"live\",\"movie\",\"series\"]},\"id\":{\"type\":[\"integer\",\"null\"]}}}}";

/* mode 0: the object; 1: create; 2: patch. */
static char *schema_of(const struct binding *bd, int mode)
{
    const struct dom_resource *r = bd->r;
    struct buf b;
    buf_init(&b, 1 << 16);
    bool first = true;
    buf_puts(&b, "{\"type\":\"object\"");
    if (mode == 0) {
        buf_puts(&b, ",\"required\":[\"id\"");
        for (size_t i = 0; i < r->tbl->ncols; i++)
            buf_printf(&b, ",\"%s\"", r->tbl->cols[i].name);
        if (r == &dom_res_stream)
            buf_puts(&b, ",\"sources\"");
        if (r == &dom_res_bouquet)
            buf_puts(&b, ",\"items\"");
        buf_puts(&b, "]");
    } else {
        buf_puts(&b, ",\"additionalProperties\":false");
        if (mode == 1) {
            buf_puts(&b, ",\"required\":[");
            bool f1 = true;
            for (size_t i = 0; i < r->nfields; i++)
                if ((r->fields[i].flags & DOM_F_REQUIRED) && !(r->fields[i].flags & DOM_F_RO)) {
                    buf_printf(&b, "%s\"%s\"", f1 ? "" : ",", r->fields[i].name);
                    f1 = false;
                }
            if (r == &dom_res_stream)
                buf_printf(&b, "%s\"sources\"", f1 ? "" : ",");
            buf_puts(&b, "]");
        }
    }
    if (mode)
        buf_printf(&b, ",\"examples\":[%s]", mode == 1 ? bd->ex_create : bd->ex_patch);
    buf_puts(&b, ",\"properties\":{");
    if (mode == 0) {
        buf_puts(&b, "\"id\":{\"type\":\"integer\"}");
        first = false;
    }
    for (size_t i = 0; i < r->tbl->ncols; i++) {
        const struct db_col *col = &r->tbl->cols[i];
        const struct dom_field *f = field(r, col->name);
        if (mode &&
            (!f || (f->flags & DOM_F_RO) || col->type == DB_COL_EXPR || col->type == DB_COL_TIME))
            continue;
        if (mode == 2 && (f->flags & DOM_F_IMMUTABLE))
            continue;
        prop(&b, col, mode ? f : NULL, &first);
        /* A patch may send null to clear text and numbers (merge patch). */
        if (mode == 2 &&
            (col->type == DB_COL_TEXT || col->type == DB_COL_INT || col->type == DB_COL_REAL)) {
            b.len -= 1; /* reopen the property object */
            b.data[b.len] = '\0';
            buf_puts(&b, ",\"description\":\"null resets to the default\"}");
        }
    }
    if (r == &dom_res_stream)
        buf_printf(&b, "%s\"sources\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}%s}",
                   first ? "" : ",", mode ? ",\"minItems\":1,\"maxItems\":16" : "");
    if (r == &dom_res_bouquet)
        buf_printf(&b, ",\"items\":%s", ITEMS);
    buf_puts(&b, "}}");
    if (b.err) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, NULL);
}

static char *list_of(const char *item)
{
    struct buf b;
    buf_init(&b, 1 << 12);
    buf_printf(&b,
               "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"
               "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":"
               "\"#/components/schemas/%s\"}},\"total\":{\"type\":\"integer\"},"
               "\"page\":{\"type\":\"integer\"},\"page_size\":{\"type\":\"integer\"}}}",
               item);
    return b.err ? (buf_free(&b), NULL) : buf_steal(&b, NULL);
}

static char names[7 * 4][32];

__attribute__((constructor)) static void schemas_init(void)
{
    static const struct binding *const all[] = {&B_stream, &B_category, &B_bouquet, &B_movie,
                                                &B_series, &B_episode,  &B_epg};
    static const char *const suffix[] = {"", "Create", "Patch", "List"};
    size_t k = 0;
    for (size_t i = 0; i < 7; i++) {
        for (int m = 0; m < 4; m++, k++) {
            snprintf(names[k], sizeof(names[k]), "%s%s", all[i]->schema, suffix[m]);
            schemas[k].name = names[k];
            schemas[k].json = m == 3 ? list_of(all[i]->schema) : schema_of(all[i], m);
            if (!schemas[k].json)
                schemas[k].json = "{}";
        }
    }
    schemas[k++] = (struct admin_schema){
        "BouquetItems", "{\"examples\":[{\"items\":[{\"kind\":\"all\",\"id\":null}]}],\"oneOf\":[{"
                        "\"type\":\"object\",\"required\":[\"items\"],"
                        "\"additionalProperties\":false,\"properties\":{\"items\":"
                        "{\"$ref\":\"#/components/schemas/BouquetItemList\"}}},"
                        "{\"$ref\":\"#/components/schemas/BouquetItemList\"}]}"};
    schemas[k++] = (struct admin_schema){"BouquetItemList", ITEMS};
    schemas[k++] = (struct admin_schema){
        "CategoryOrder",
        "{\"type\":\"object\",\"required\":[\"ids\"],\"additionalProperties\":false,"
        "\"examples\":[{\"ids\":[1]}],\"properties\":{\"ids\":{\"type\":\"array\",\"items\":{"
        "\"type\":\"integer\"}}}}"};
    schemas[k++] = (struct admin_schema){
        "BouquetOrder",
        "{\"type\":\"object\",\"required\":[\"ids\"],\"additionalProperties\":false,"
        "\"examples\":[{\"ids\":[1]}],\"properties\":{\"ids\":{\"type\":\"array\",\"items\":{"
        "\"type\":\"integer\"}}}}"};
    schemas[k++] = (struct admin_schema){
        "EpgChannelList",
        "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"
        "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
        "\"required\":[\"epg_channel_id\",\"display_name\",\"icon\",\"source_id\","
        "\"source_name\",\"programmes\"],\"properties\":{\"epg_channel_id\":{\"type\":"
        "\"string\"},\"display_name\":{\"type\":\"string\"},\"icon\":{\"type\":\"string\"},"
        "\"source_id\":{\"type\":\"integer\"},\"source_name\":{\"type\":\"string\"},"
        "\"programmes\":{\"type\":\"integer\"}}}},\"total\":{\"type\":\"integer\"},"
        "\"page\":{\"type\":\"integer\"},\"page_size\":{\"type\":\"integer\"}}}"};
    schemas[k++] = (struct admin_schema){
        "EpgMapping", "{\"type\":\"object\",\"required\":[\"epg_channel_id\"],"
                      "\"examples\":[{\"epg_channel_id\":\"example.tv\"}],"
                      "\"additionalProperties\":false,\"properties\":{\"epg_channel_id\":"
                      "{\"type\":[\"string\",\"null\"],\"maxLength\":256}}}"};
    schemas[k++] = (struct admin_schema){
        "UnmappedList",
        "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"
        "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
        "\"required\":[\"stream_id\",\"name\",\"epg_channel_id\",\"candidates\"],"
        "\"properties\":{\"stream_id\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"},"
        "\"epg_channel_id\":{\"type\":[\"string\",\"null\"]},\"candidates\":{\"type\":\"array\","
        "\"maxItems\":5,\"items\":{\"type\":\"object\",\"required\":[\"epg_channel_id\","
        "\"score\"],\"properties\":{\"epg_channel_id\":{\"type\":\"string\"},\"score\":"
        "{\"type\":\"integer\",\"minimum\":0,\"maximum\":100}}}}}}},"
        "\"total\":{\"type\":\"integer\"},\"page\":{\"type\":\"integer\"},"
        "\"page_size\":{\"type\":\"integer\"}}}"};
    schemas[k++] = (struct admin_schema){
        "M3uImport",
        "{\"type\":\"object\",\"additionalProperties\":false,\"examples\":[{\"content\":"
        "\"#EXTM3U\\n#EXTINF:-1 group-title=\\\"Example\\\",Example\\nhttp://example.com/l.ts\\n\","
        "\"kind\":\"live\"}],\"properties\":{\"url\":{\"type\":"
        "\"string\",\"description\":\"http(s) playlist URL (or content)\"},\"content\":{\"type\":"
        "\"string\",\"description\":\"the playlist itself (or url)\"},\"kind\":{\"enum\":"
        "[\"live\",\"movie\"]},\"category\":{\"type\":\"string\",\"maxLength\":200}}}"};
    schemas[k++] = (struct admin_schema){
        "LibraryScan",
        "{\"type\":\"object\",\"required\":[\"path\"],\"additionalProperties\":false,"
        "\"examples\":[{\"path\":\"/srv/media/movies\",\"kind\":\"movie\"}],"
        "\"properties\":{\"path\":{\"type\":\"string\",\"description\":\"an absolute folder\"},"
        "\"kind\":{\"enum\":[\"movie\",\"series\"]},\"category\":{\"type\":\"string\","
        "\"maxLength\":200}}}"};
    schemas[k++] = (struct admin_schema){
        "EpgSourceStatus",
        "{\"type\":\"object\",\"required\":[\"source_id\",\"last_import\",\"last_attempt\","
        "\"last_status\",\"channels\",\"programmes\",\"ok\"],\"properties\":{\"source_id\":"
        "{\"type\":\"integer\"},\"last_import\":{\"type\":[\"string\",\"null\"],\"format\":"
        "\"date-time\"},\"last_attempt\":{\"type\":[\"string\",\"null\"],\"format\":"
        "\"date-time\"},\"last_status\":{\"type\":\"string\"},\"channels\":{\"type\":"
        "\"integer\"},\"programmes\":{\"type\":\"integer\"},\"ok\":{\"type\":\"boolean\"}}}"};
    (void)k;
}

const struct admin_resource admin_res_content = {
    "content", routes, sizeof(routes) / sizeof(routes[0]), schemas, NSCHEMAS};
