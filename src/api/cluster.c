/*
 * api/cluster: the stream requests of a cluster (issue 16 item 4,
 * docs/internals/cluster.md "Admission and tokens").
 *
 * On the main, api_cluster_stream() runs after the line's checks: it chooses
 * the node (cluster/admission.h), admits the session on the thread pool (the
 * response is deferred meanwhile) and answers 302 to the node's absolute
 * /c/<token>/<stream_id>.<ext>. When the main itself is chosen the caller
 * serves the request as on a single node. On an edge a stream request with
 * credentials is redirected to the main's same URL: only the main admits.
 * api_cluster_token_stream() is the edge's /c/<token>/<stream> route.
 * Threading: loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_priv.h"
#include "cluster/admission.h"
#include "cluster/node.h"
#include "cluster/offline.h"
#include "core/log.h"
#include "stream/live.h"

void api_set_cluster(struct api *api, struct cluster *c, struct admission *a)
{
    api->cluster = c;
    api->admission = a;
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
    http_response_resume(p->res);
    free(p);
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

struct token_viewer {
    struct conn_registry *reg;
    int64_t line_id, stream_id;
};

/* A `kill <sid>` from the main: the line's connections to this stream on this node close. */
static void token_kick(void *ctx)
{
    struct token_viewer *v = ctx;
    if (v->reg)
        conn_registry_kick_item(v->reg, v->line_id, v->stream_id);
    free(v);
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
    if (node->id == cluster_self_id(api->cluster)) {
        admission_count_redirect(api->admission, true);
        return false; /* served here */
    }
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
    struct admission_start s = {.line_id = r->line->id,
                                .stream_id = id,
                                .node_id = node->id,
                                .kind = kind_of(kind, ext),
                                .max_connections = r->line->max_connections};
    snprintf(s.ip, sizeof(s.ip), "%s", r->req->client_ip);
    const char *ua = http_request_header(r->req, "User-Agent");
    snprintf(s.user_agent, sizeof(s.user_agent), "%s", ua ? ua : "");
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
        return;
    }
    if (c.kind == CLUSTER_KIND_MOVIE || c.kind == CLUSTER_KIND_EPISODE) {
        api_vod_deliver(r, c.kind == CLUSTER_KIND_MOVIE ? "movie" : "series", id);
        return;
    }
    const struct cat_stream *s = catalog_stream(r->cat, id);
    if (!s || !api->live) {
        api_text_error(r, 404, "no such stream\n");
        return;
    }
    struct token_viewer *v = calloc(1, sizeof(*v));
    if (v) {
        *v = (struct token_viewer){.reg = api->conns, .line_id = c.line_id, .stream_id = id};
        /* the tracked entry lives until the kill or the node stops (bounded, counted) */
        if (!admission_track(api->admission, c.sid, token_kick, free, v))
            free(v);
    }
    if (kind == CLUSTER_KIND_HLS)
        live_serve_m3u8(api->live, s, r->line, r->req, r->res);
    else
        live_serve_ts(api->live, s, r->line, r->req, r->res);
}
