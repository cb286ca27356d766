/*
 * preview.c: previews for the web panel's player — POST
 * /api/v1/streams/{id}/preview, /movies/{id}/preview and
 * /series/{id}/episodes/{eid}/preview answer the URLs a browser plays the
 * item at (api.h, "Previews": a short-lived grant for that one item).
 *
 * work() (pool) confirms the item exists in the database (404 otherwise);
 * post() (loop) checks it is in the published catalogue (404 "retry in a
 * second" for an item created a moment ago) and makes the grant. A preview
 * changes nothing, so it needs only the read scope and writes no audit row;
 * its playback shows in /api/v1/sessions as "preview:<admin>".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_priv.h"
#include "admin/resource.h"
#include "api/api.h"
#include "domain/content.h"

struct preview_state {
    char kind; /* 'l' | 'm' | 'e' */
    int64_t id;
};

static void free_state(void *p)
{
    free(p);
}

static int exists(struct admin_call *c, const struct dom_resource *r, int64_t id)
{
    struct dom_obj o;
    int rc = dom_content_get(c->db, r, id, &o, &c->err);
    if (rc == 0)
        dom_obj_free(r, &o);
    return rc;
}

static int begin(struct admin_call *c, char kind)
{
    struct preview_state *s = calloc(1, sizeof(*s));
    if (!s)
        return dom_err_internal(&c->err, -ENOMEM, "a preview");
    c->state = s;
    c->state_free = free_state;
    s->kind = kind;
    if (kind == 'e') {
        int64_t series;
        if (admin_param_id(c, 0, "series", &series) || admin_param_id(c, 1, "episode", &s->id))
            return -ENOENT;
        return dom_episode_check_parent(c->db, series, s->id, &c->err);
    }
    if (admin_param_id(c, 0, kind == 'l' ? "stream" : "movie", &s->id))
        return -ENOENT;
    return exists(c, kind == 'l' ? &dom_res_stream : &dom_res_movie, s->id);
}

static int stream_work(struct admin_call *c)
{
    return begin(c, 'l');
}
static int movie_work(struct admin_call *c)
{
    return begin(c, 'm');
}
static int episode_work(struct admin_call *c)
{
    return begin(c, 'e');
}

static void put_url(struct jsonw *w, const char *key, const char *token, int64_t id,
                    const char *ext)
{
    char url[128];
    snprintf(url, sizeof(url), "/preview/%s/%lld.%s", token, (long long)id, ext);
    jsonw_key(w, key);
    jsonw_str(w, url);
}

static void preview_post(struct admin_call *c)
{
    struct preview_state *s = c->state;
    struct api *api = admin_api(c->admin);
    struct catalog *cat = api ? api_catalog(api) : NULL;
    if (!api || !cat) {
        dom_err_set(&c->err, 503, "NOT_READY", "the catalogue is loading; retry in a second");
        return;
    }
    /* The container extension only names the URL (the file decides its type). */
    const char *ext = "ts";
    bool known;
    if (s->kind == 'l') {
        known = catalog_stream(cat, s->id) != NULL;
    } else if (s->kind == 'm') {
        const struct cat_movie *m = catalog_movie(cat, s->id);
        known = m != NULL;
        ext = m && m->container && *m->container ? m->container : "mp4";
    } else {
        const struct cat_series *ser;
        const struct cat_episode *e = catalog_episode(cat, s->id, &ser);
        known = e != NULL;
        ext = e && e->container && *e->container ? e->container : "mp4";
    }
    if (!known) {
        dom_err_set(&c->err, 404, DOM_E_NOT_FOUND,
                    "%s %lld is not in the published catalogue yet; retry in a second",
                    s->kind == 'l'   ? "stream"
                    : s->kind == 'm' ? "movie"
                                     : "episode",
                    (long long)s->id);
        return;
    }
    char token[API_PREVIEW_TOKEN_LEN + 1];
    int64_t now = (int64_t)time(NULL);
    int rc = api_preview_grant(api, s->kind, s->id, c->who.username, now, token, sizeof(token));
    if (rc < 0) {
        dom_err_internal(&c->err, rc, "a preview");
        return;
    }
    char exp[32];
    time_t t = (time_t)(now + API_PREVIEW_TTL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "kind");
    jsonw_str(&c->w, s->kind == 'l' ? "live" : s->kind == 'm' ? "movie" : "episode");
    jsonw_key(&c->w, "id");
    jsonw_int(&c->w, s->id);
    if (s->kind == 'l') {
        put_url(&c->w, "hls_url", token, s->id, "m3u8");
        put_url(&c->w, "ts_url", token, s->id, "ts");
    } else {
        put_url(&c->w, "url", token, s->id, ext);
    }
    jsonw_key(&c->w, "expires_at");
    jsonw_str(&c->w, exp);
    jsonw_obj_end(&c->w);
}

static const struct admin_route_ext ext_stream = {.work = stream_work, .post = preview_post};
static const struct admin_route_ext ext_movie = {.work = movie_work, .post = preview_post};
static const struct admin_route_ext ext_episode = {.work = episode_work, .post = preview_post};

static const struct route routes[] = {
    {ROUTE_POST, "/api/v1/streams/{id}/preview", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "URLs to watch a live stream in the browser (HLS and MPEG-TS), valid 4 h", "streams", NULL,
     "Preview", 200, &ext_stream},
    {ROUTE_POST, "/api/v1/movies/{id}/preview", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "A URL to play a movie in the browser, valid 4 h", "movies", NULL, "Preview", 200, &ext_movie},
    {ROUTE_POST, "/api/v1/series/{id}/episodes/{eid}/preview", admin_route_fn, NULL,
     ROUTE_AUTH_ADMIN, "read", "A URL to play an episode in the browser, valid 4 h", "series", NULL,
     "Preview", 200, &ext_episode},
};

static const struct admin_schema schemas[] = {
    {"Preview",
     "{\"type\":\"object\",\"required\":[\"kind\",\"id\",\"expires_at\"],"
     "\"description\":\"Relative URLs on this server; a grant for one item, 4 h to start "
     "playing; playback shows in /sessions as preview:<admin>\","
     "\"properties\":{\"kind\":{\"enum\":[\"live\",\"movie\",\"episode\"]},"
     "\"id\":{\"type\":\"integer\"},\"hls_url\":{\"type\":\"string\"},"
     "\"ts_url\":{\"type\":\"string\"},\"url\":{\"type\":\"string\"},"
     "\"expires_at\":{\"type\":\"string\",\"format\":\"date-time\"}}}"},
};

const struct admin_resource admin_res_preview = {"preview", routes,
                                                 sizeof(routes) / sizeof(routes[0]), schemas,
                                                 sizeof(schemas) / sizeof(schemas[0])};
