/*
 * api/cluster: the stream requests of a cluster (issue 16 item 4,
 * docs/internals/cluster.md "Admission and tokens").
 *
 * On the main, api_cluster_stream() runs after the line's checks: it chooses
 * the node (cluster/admission.h), admits the session on the thread pool (the
 * response is deferred meanwhile) and answers 302 to the node's absolute
 * /c/<token>/<stream_id>.<ext>. When the main itself is chosen the caller
 * serves the request itself, admitted the same way first (the response stays deferred until
 * the admission commits; newest wins counts it with every other node's viewers). On an edge a
 * stream request with credentials is redirected to the main's same URL: only the main admits.
 * api_cluster_token_stream() is the /c/<token>/<stream> route.
 *
 * Wherever a session is served (an edge's /c/ route, the main serving itself) its connection
 * is tracked under the session id (admission_track: a `kill <sid>` closes it) and its entry in
 * the connection registry is tagged with the tracking handle, so the registry's remove path
 * (the TS viewer closed, the VOD body done or aborted, the HLS session expired) reports the
 * session's end (admission_untrack) and an HLS session's playlist and segment requests refresh
 * its lease (admission_touch_handle), batched every ADMISSION_REPORT_MS.
 * Threading: loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_priv.h"
#include "cluster/admission.h"
#include "cluster/node.h"
#include "cluster/offline.h"
#include "core/log.h"
#include "stream/live.h"

/* The connection registry's tag hooks: a tagged entry is a tracked session's connection. */
static void session_conn_ended(void *ctx, uint64_t tag)
{
    struct api *api = ctx;
    if (api->admission)
        admission_untrack(api->admission, tag);
}

static void session_conn_used(void *ctx, uint64_t tag)
{
    struct api *api = ctx;
    if (api->admission)
        admission_touch_handle(api->admission, tag);
}

void api_set_cluster(struct api *api, struct cluster *c, struct admission *a)
{
    api->cluster = c;
    api->admission = a;
    if (api->conns)
        conn_registry_set_tag_hooks(api->conns, a ? session_conn_ended : NULL,
                                    a ? session_conn_used : NULL, api);
}

struct token_viewer {
    struct conn_registry *reg;
    int64_t line_id, stream_id;
    uint64_t conn; /* its registry entry (0: not known, the line's viewers of the stream) */
};

/* A `kill <sid>` from the main: the session's connection on this node closes. */
static void token_kick(void *ctx)
{
    struct token_viewer *v = ctx;
    if (v->reg && !(v->conn && conn_registry_kick(v->reg, v->conn)))
        conn_registry_kick_item(v->reg, v->line_id, v->stream_id);
    free(v);
}

/* Serves session sid of line to this node's viewer (an edge's /c/ request, or the main serving
 * itself): tracked under sid for the whole connection, its registry entry tagged (see the top).
 * true when the response was deferred by the delivery (a relayed remote VOD source). */
static bool serve_session(struct api_req *r, const char *sid, enum cluster_kind kind, int64_t id)
{
    struct api *api = r->api;
    struct admission *a = api->admission;
    const struct cat_stream *s = NULL;
    bool vod = kind == CLUSTER_KIND_MOVIE || kind == CLUSTER_KIND_EPISODE;
    if (!vod && (!(s = catalog_stream(r->cat, id)) || !api->live)) {
        api_text_error(r, 404, "no such stream\n");
        admission_end(a, sid);
        return false;
    }
    uint64_t before = conn_registry_last_handle(api->conns);
    bool deferred = false;
    if (vod)
        deferred = api_vod_deliver(r, kind == CLUSTER_KIND_MOVIE ? "movie" : "series", id);
    else if (kind == CLUSTER_KIND_HLS)
        live_serve_m3u8(api->live, s, r->line, r->req, r->res);
    else
        live_serve_ts(api->live, s, r->line, r->req, r->res);
    uint64_t conn = conn_registry_last_handle(api->conns);
    if (conn == before && kind == CLUSTER_KIND_HLS && http_response_status_get(r->res) == 200) {
        /* No entry of its own: an HLS refresh answered by the viewer's session here. Opened
         * under this sid or another, it keeps the lease; an untracked one (never tagged) is
         * this sid's from now on, so that its next refresh is not admitted again. */
        admission_touch(a, sid);
        uint64_t hs = live_hls_session_of(api->live, id, r->line, r->req);
        if (!hs || conn_registry_touch(api->conns, hs))
            return deferred;
        conn = hs;
    } else if (conn == before) {
        /* refused (404, 429, 503 ...): the session ends, unless another connection of it is
         * still open */
        admission_end(a, sid);
        return deferred;
    }
    struct token_viewer *v = calloc(1, sizeof(*v));
    uint64_t h = 0;
    if (v) {
        *v = (struct token_viewer){
            .reg = api->conns, .line_id = r->line->id, .stream_id = id, .conn = conn};
        /* untracked when its registry entry goes (session_conn_ended); bounded, counted */
        if (!(h = admission_track(a, sid, token_kick, free, v)))
            free(v);
    }
    if (h && conn_registry_tag(api->conns, conn, h) != 0)
        admission_untrack(a, h); /* cannot happen: active and untagged (checked above) */
    return deferred;
}

void api_set_offline(struct api *api, struct offline *o)
{
    api->offline = o;
}

struct pending_redirect {
    struct http_response *res;
    struct admission_job *job;
    struct api *api;
    char public_url[256];
    int64_t stream_id;
    char ext[8];
};

static void redirect_abort(void *ctx)
{
    struct pending_redirect *p = ctx;
    admission_cancel(p->job); /* the session stays until its token expires unused */
    free(p);
}

static void redirect_done(void *ud, int rc, const char *token, const char *sid)
{
    struct pending_redirect *p = ud;
    (void)sid;
    char url[CLUSTER_TOKEN_MAX + 320];
    if (rc == 0 &&
        admission_redirect_url(p->public_url, token, p->stream_id, p->ext, url, sizeof(url)) == 0) {
        http_response_header(p->res, "Location", url);
        http_response_header(p->res, "Cache-Control", "no-store");
        http_response_text(p->res, 302, "text/plain; charset=utf-8", "redirected\n");
        if (p->api->admission) /* NULL once the server is stopping */
            admission_count_redirect(p->api->admission, false);
    } else {
        http_response_header(p->res, "Retry-After", "5");
        http_response_text(p->res, 503, "text/plain; charset=utf-8",
                           "the cluster cannot admit the viewer now\n");
    }
    p->job = NULL; /* done: nothing left to cancel */
    if (http_response_resume(p->res))
        free(p); /* else the connection is closing: redirect_abort frees p */
}

static enum cluster_kind kind_of(const char *kind, const char *ext)
{
    if (strcmp(kind, "movie") == 0)
        return CLUSTER_KIND_MOVIE;
    if (strcmp(kind, "series") == 0)
        return CLUSTER_KIND_EPISODE;
    return ext && strcmp(ext, "m3u8") == 0 ? CLUSTER_KIND_HLS : CLUSTER_KIND_LIVE;
}

/* The stream's placements (docs/internals/live.md §Origin–edge): with placements, only the
 * nodes named may start it; an 'always' placement runs it. */
static void placement_runs(void *ud, int64_t stream_id, int64_t node_id, bool *runs,
                           bool *may_start)
{
    const struct cat_stream *s = catalog_stream((const struct catalog *)ud, stream_id);
    *runs = false;
    *may_start = !s || !s->placement_count;
    for (size_t i = 0; s && i < s->placement_count; i++) {
        if (s->placements[i].node_id == node_id) {
            *may_start = true;
            *runs = s->placements[i].always;
        }
    }
}

/* A live start at an edge that cannot reach the main (cluster/offline.h): refused (deny), or
 * admitted here and journalled (local). true: answered; false: the caller serves it. */
static bool offline_start(struct api_req *r, int64_t id, const char *ext)
{
    struct api *api = r->api;
    const char *why = NULL;
    char sid[OFFLINE_SID_LEN + 1];
    bool again = false;
    if (offline_policy(api->offline) != OFFLINE_LOCAL) {
        offline_count_denied(api->offline);
        why = "the cluster's main cannot be reached: no new viewers here now, retry shortly\n";
    } else if (cluster_self_state(api->cluster) != CLUSTER_STATE_ACTIVE) {
        offline_count_denied(api->offline); /* drained or fenced before the main went away */
        why = "this node takes no new viewers\n";
    } else {
        const char *ua = http_request_header(r->req, "User-Agent");
        struct offline_start os = {.line_id = r->line->id,
                                   .stream_id = id,
                                   .kind = ext && strcmp(ext, "m3u8") == 0 ? "hls" : "live",
                                   .max_connections = r->line->max_connections,
                                   .ip = r->req->client_ip,
                                   .user_agent = ua ? ua : "",
                                   .now = r->now};
        if (offline_record(api->offline, &os, sid, &again) != 0)
            why = "too many viewers admitted while the cluster's main is away\n";
    }
    if (why) {
        http_response_header(r->res, "Retry-After", "10");
        api_text_error(r, 503, why);
        return true;
    }
    if (again)
        return false; /* an HLS refresh: tracked at its first request */
    /* the main may end it after reconciliation (newest wins): the normal kill path */
    struct token_viewer *v = calloc(1, sizeof(*v));
    if (v) {
        *v = (struct token_viewer){.reg = api->conns, .line_id = r->line->id, .stream_id = id};
        if (!admission_track(api->admission, sid, token_kick, free, v))
            free(v);
    }
    return false;
}

/* The main serving a viewer itself: admitted like a redirect (same transaction, newest wins
 * across nodes), then served here and tracked like an edge's /c/ viewer. */
struct local_start {
    struct api *api;
    struct http_request *req;
    struct http_response *res;
    struct catalog *cat; /* a reference: the line and the stream stay valid meanwhile */
    int64_t line_id, stream_id;
    enum cluster_kind kind;
    struct admission_job *job;
};

static void local_abort(void *ctx)
{
    struct local_start *p = ctx;
    admission_cancel(p->job); /* an admitted session is ended by the sweeps (see redirect_abort) */
    if (p->cat)
        catalog_unref(p->cat);
    free(p);
}

static void local_done(void *ud, int rc, const char *token, const char *sid)
{
    struct local_start *p = ud;
    (void)token;
    struct api_req r = {
        .api = p->api, .req = p->req, .res = p->res, .cat = p->cat, .now = (int64_t)time(NULL)};
    r.line = catalog_line_by_id(p->cat, p->line_id);
    bool deferred = false;
    if (rc != 0 || !p->api->admission) {
        http_response_header(p->res, "Retry-After", "5");
        http_response_text(p->res, 503, "text/plain; charset=utf-8",
                           "the cluster cannot admit the viewer now\n");
    } else if (!r.line) {
        api_text_error(&r, 403, "the line is gone\n");
        admission_end(p->api->admission, sid);
    } else {
        admission_count_redirect(p->api->admission, true);
        deferred = serve_session(&r, sid, p->kind, p->stream_id);
    }
    catalog_unref(p->cat);
    p->cat = NULL;
    p->job = NULL; /* done: nothing left to cancel */
    /* deferred: the relay has the response now (and its own abort); else a
     * connection already closing still calls local_abort, which frees p */
    if (deferred || http_response_resume(p->res))
        free(p);
}

static void fill_start(struct api_req *r, const char *kind, int64_t id, const char *ext,
                       int64_t node_id, struct admission_start *s)
{
    *s = (struct admission_start){.line_id = r->line->id,
                                  .stream_id = id,
                                  .node_id = node_id,
                                  .kind = kind_of(kind, ext),
                                  .max_connections = r->line->max_connections};
    snprintf(s->ip, sizeof(s->ip), "%s", r->req->client_ip);
    const char *ua = http_request_header(r->req, "User-Agent");
    snprintf(s->user_agent, sizeof(s->user_agent), "%s", ua ? ua : "");
}

static bool local_start(struct api_req *r, const char *kind, int64_t id, const char *ext)
{
    struct api *api = r->api;
    struct local_start *p = calloc(1, sizeof(*p));
    if (!p) {
        api_text_error(r, 500, "out of memory\n");
        return true;
    }
    *p = (struct local_start){.api = api,
                              .req = r->req,
                              .res = r->res,
                              .line_id = r->line->id,
                              .stream_id = id,
                              .kind = kind_of(kind, ext)};
    struct admission_start s;
    fill_start(r, kind, id, ext, cluster_self_id(api->cluster), &s);
    p->job = admission_submit(api->admission, &s, local_done, p);
    if (!p->job) {
        free(p);
        http_response_header(r->res, "Retry-After", "5");
        api_text_error(r, 503, "the cluster cannot admit the viewer now\n");
        return true;
    }
    p->cat = catalog_ref(r->cat);
    http_response_defer(r->res, local_abort, p);
    return true;
}

bool api_cluster_stream(struct api_req *r, const char *kind, int64_t id, const char *ext)
{
    struct api *api = r->api;
    /* HEAD has no side effect (docs/api.md): no admission, answered here */
    if (!api->cluster || !api->admission || r->req->method == HTTP_HEAD)
        return false;
    if (!cluster_is_main(api->cluster)) {
        /* Movies and episodes asked of an edge directly are served there (from its library or
         * relay; its local registry limits them): only live starts go through the main. */
        if (strcmp(kind, "live") != 0)
            return false;
        if (api->offline && offline_now(api->offline))
            return offline_start(r, id, ext);
        /* only the main admits: the same URL there (the client follows, then comes back to the
         * node the main chooses, maybe this one) */
        const struct cluster_node_view *self = NULL;
        size_t n = 0;
        const struct cluster_node_view *nodes = cluster_nodes(api->cluster, &n);
        for (size_t i = 0; i < n && !self; i++)
            if (nodes[i].role == CLUSTER_ROLE_MAIN)
                self = &nodes[i];
        if (!self)
            return false; /* no main known: serve as a single node would (offline) */
        char url[1024];
        const char *q = r->req->query;
        int len = snprintf(url, sizeof(url), "%s%s%s%s", self->public_url, r->req->path,
                           *q ? "?" : "", q);
        if (len < 0 || (size_t)len >= sizeof(url))
            return false;
        /* public_url ends without '/' (node.c normalises); path starts with one */
        http_response_header(r->res, "Location", url);
        http_response_text(r->res, 302, "text/plain; charset=utf-8", "redirected\n");
        return true;
    }
    /* A playlist refresh of an HLS viewer this main serves already (admitted at its first
     * playlist, tracked): its lease, not a new admission (which would end its own session) */
    if (kind_of(kind, ext) == CLUSTER_KIND_HLS && api->live &&
        conn_registry_touch(api->conns, live_hls_session_of(api->live, id, r->line, r->req)))
        return false;
    size_t n = 0;
    const struct cluster_node_view *nodes = cluster_nodes(api->cluster, &n);
    struct admission_choice_req cr = {
        .stream_id = id, .country = "", .runs = placement_runs, .runs_ud = (void *)r->cat};
    const struct cluster_node_view *node = NULL;
    if (admission_choose(api->admission, nodes, n, &cr, &node) != 0) {
        http_response_header(r->res, "Retry-After", "5");
        api_text_error(r, 503, "no node of the cluster can take the viewer now\n");
        return true;
    }
    if (node->id == cluster_self_id(api->cluster))
        return local_start(r, kind, id, ext);
    struct pending_redirect *p = calloc(1, sizeof(*p));
    if (!p) {
        api_text_error(r, 500, "out of memory\n");
        return true;
    }
    p->res = r->res;
    p->api = api;
    p->stream_id = id;
    snprintf(p->public_url, sizeof(p->public_url), "%s", node->public_url);
    snprintf(p->ext, sizeof(p->ext), "%s", ext && *ext ? ext : "ts");
    struct admission_start s;
    fill_start(r, kind, id, ext, node->id, &s);
    p->job = admission_submit(api->admission, &s, redirect_done, p);
    if (!p->job) {
        free(p);
        http_response_header(r->res, "Retry-After", "5");
        api_text_error(r, 503, "the cluster cannot admit the viewer now\n");
        return true;
    }
    http_response_defer(r->res, redirect_abort, p);
    return true;
}

void api_cluster_token_stream(struct api_req *r, const char *token, const char *id_ext)
{
    struct api *api = r->api;
    const char *dot = strrchr(id_ext, '.');
    const char *ext = dot ? dot + 1 : "";
    int64_t id = api_parse_id(id_ext, dot ? (size_t)(dot - id_ext) : strlen(id_ext));
    if (!api->admission || id < 0) {
        api_text_error(r, 404, "not found\n");
        return;
    }
    struct ipnet_addr client;
    bool have = ipnet_parse_addr(r->req->client_ip, strlen(r->req->client_ip), &client) == 0;
    struct cluster_token_claims c;
    enum cluster_kind kind = strcmp(ext, "m3u8") == 0 ? CLUSTER_KIND_HLS : CLUSTER_KIND_LIVE;
    int rc = admission_verify(api->admission, token, strlen(token), kind, id, have ? &client : NULL,
                              r->now, &c);
    if (rc == CLUSTER_TOKEN_WRONG_ITEM &&
        (c.kind == CLUSTER_KIND_MOVIE || c.kind == CLUSTER_KIND_EPISODE) && c.stream_id == id)
        rc = 0;
    if (rc) {
        char msg[96];
        snprintf(msg, sizeof(msg), "stream token refused (%s)\n", cluster_token_reason(rc));
        api_text_error(r, 403, msg);
        return;
    }
    r->line = catalog_line_by_id(r->cat, c.line_id);
    if (!r->line) {
        api_text_error(r, 403, "stream token refused (line)\n");
        admission_end(api->admission, c.sid);
        return;
    }
    /* a movie or episode token names its kind; a live one is TS or HLS by the extension */
    serve_session(r, c.sid, c.kind == CLUSTER_KIND_LIVE ? kind : c.kind, id);
}
