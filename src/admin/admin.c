/*
 * admin.c: the life of an admin API call (see admin/admin.h, admin/call.h).
 *
 * Loop thread: admin_route_fn copies what the call needs out of the request
 * (the request's memory belongs to the connection), defers the response and
 * queues the call on the libuv thread pool. Pool thread (call_work): takes a
 * database connection, authenticates, parses the JSON body, runs work().
 * Loop thread (call_after): runs post(), publishes the changes the call
 * recorded, answers (unless the client went away) and frees the call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin/admin_priv.h"
#include "admin/jobs.h"
#include "admin/resource.h"
#include "core/log.h"
#include "core/promtext.h"
#include "domain/admin_auth.h"
#include "domain/tx.h"

#define CALL_OUT_MAX     (64u << 20) /* the largest JSON answer (a 1000-row page is far less) */
#define CALL_CHANGES_MAX (64u << 10)

struct call_box {
    struct admin_call c;
    uv_work_t work;
    char *path;    /* for problem "instance" */
    bool answered; /* call_after is done; an abort still to come frees the box */
};

/* ---- database pool ---------------------------------------------------------------- */

struct db *admin_db_take(struct admin *a)
{
    struct db *db = NULL;
    pthread_mutex_lock(&a->pool_mu);
    if (a->npool > 0)
        db = a->pool[--a->npool];
    pthread_mutex_unlock(&a->pool_mu);
    if (db)
        return db;
    int rc = dom_db_open(a->data_dir, &db);
    if (rc) {
        atomic_fetch_add(&a->db_open_failures, 1);
        log_error("admin", "cannot open the database: %s", strerror(-rc));
        return NULL;
    }
    return db;
}

void admin_db_put(struct admin *a, struct db *db)
{
    if (!db)
        return;
    dom_rollback(db); /* a handler that failed mid-transaction leaves nothing open */
    pthread_mutex_lock(&a->pool_mu);
    if (a->npool < ADMIN_DB_POOL_MAX) {
        a->pool[a->npool++] = db;
        db = NULL;
    }
    pthread_mutex_unlock(&a->pool_mu);
    if (db)
        dom_db_close(db);
}

/* ---- lifecycle --------------------------------------------------------------------- */

int admin_new(const struct admin_config *cfg, struct admin **out)
{
    struct admin *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->cfg = *cfg;
    a->data_dir = strdup(cfg->data_dir);
    if (!a->data_dir || pthread_mutex_init(&a->pool_mu, NULL) != 0) {
        free(a->data_dir);
        free(a);
        return -ENOMEM;
    }
    int rc = admin_jobs_new(a, &a->jobs);
    if (rc) {
        pthread_mutex_destroy(&a->pool_mu);
        free(a->data_dir);
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void admin_free(struct admin *a)
{
    if (!a)
        return;
    admin_jobs_free(a->jobs);
    for (size_t i = 0; i < a->npool; i++)
        dom_db_close(a->pool[i]);
    pthread_mutex_destroy(&a->pool_mu);
    if (a->openapi)
        refbuf_unref(a->openapi);
    free(a->data_dir);
    free(a);
}

void admin_set_local_token(struct admin *a, const char *token)
{
    snprintf(a->local_token, sizeof(a->local_token), "%s", token ? token : "");
}

struct api *admin_api(struct admin *a)
{
    return a->cfg.api;
}

struct live *admin_live(struct admin *a)
{
    return a->cfg.live;
}

uv_loop_t *admin_loop(struct admin *a)
{
    return a->cfg.loop;
}

void admin_set_change_hook(struct admin *a,
                           void (*fn)(void *ud, const char *entity, int64_t id, const char *action),
                           void *ud)
{
    a->on_change = fn;
    a->on_change_ud = ud;
}

/* ---- answering ----------------------------------------------------------------------- */

/* Answers a problem at once, on the loop thread (no call made). */
static void answer_now(struct http_request *req, struct http_response *res, struct admin_call *c)
{
    admin_problem_body(c, req->path);
    http_response_status(res, c->err.status);
    http_response_header(res, "Content-Type", "application/problem+json");
    http_response_header(res, "Cache-Control", "no-store");
    http_response_body(res, c->out.data, c->out.len);
    buf_free(&c->out);
}

/* A browser request made by another site: refused whatever it carries (the
 * panel is same-origin; scripts and billing systems send no Origin). */
static bool cross_site(const struct http_request *req)
{
    const char *site = http_request_header(req, "Sec-Fetch-Site");
    if (site && strcasecmp(site, "same-origin") != 0 && strcasecmp(site, "none") != 0)
        return true;
    const char *origin = http_request_header(req, "Origin");
    if (!origin)
        return false;
    const char *host = http_request_header(req, "Host");
    const char *auth = strstr(origin, "://");
    if (!host || !auth)
        return true;
    auth += 3;
    size_t n = strcspn(auth, "/");
    return n != strlen(host) || strncasecmp(auth, host, n) != 0;
}

static void fallback(void *ud, unsigned allowed, struct http_request *req,
                     struct http_response *res)
{
    (void)ud;
    struct admin_call c = {0};
    buf_init(&c.out, 1 << 16);
    if (allowed) {
        char allow[96];
        router_allow_header(allowed, allow, sizeof(allow));
        http_response_header(res, "Allow", allow);
        dom_err_set(&c.err, 405, "METHOD_NOT_ALLOWED", "%s is not allowed here; allowed: %s",
                    req->method_name, allow);
    } else {
        dom_err_set(&c.err, 404, DOM_E_NOT_FOUND, "no such API path");
    }
    answer_now(req, res, &c);
}

static void call_free(struct call_box *b)
{
    struct admin_call *c = &b->c;
    if (c->state && c->state_free)
        c->state_free(c->state);
    if (c->json)
        json_decref(c->json);
    for (size_t i = 0; i < c->nparams; i++)
        free((char *)c->params[i]);
    for (size_t i = 0; i < c->query.count; i++) {
        free(c->query.items[i].key);
        free(c->query.items[i].value);
    }
    free(c->query.items);
    for (size_t i = 0; i < c->nheaders; i++) {
        free(c->header_names[i]);
        free(c->header_values[i]);
    }
    free((char *)c->body);
    free((char *)c->if_match);
    free((char *)c->user_agent);
    free((char *)c->idempotency_key);
    free((char *)c->authorization);
    free((char *)c->cookie);
    free((char *)c->csrf);
    free((char *)c->content_type);
    buf_free(&c->out);
    buf_free(&c->changes);
    free(b->path);
    free(b);
}

static void send_answer(struct call_box *b)
{
    struct admin_call *c = &b->c;
    struct http_response *res = c->res;
    if (c->out.err && !c->err.status)
        dom_err_internal(&c->err, c->out.err, "writing the answer");
    if (c->err.status) {
        if (c->err.status >= 500)
            atomic_fetch_add(&c->admin->server_errors, 1);
        admin_problem_body(c, b->path);
        http_response_status(res, c->err.status);
        http_response_header(res, "Content-Type", "application/problem+json");
    } else {
        int status = c->status ? c->status : c->route->status ? c->route->status : 200;
        http_response_status(res, status);
        if (c->out.len && status != 204)
            http_response_header(res, "Content-Type", "application/json");
        if (c->etag[0])
            http_response_header(res, "ETag", c->etag);
        if (c->location[0])
            http_response_header(res, "Location", c->location);
    }
    for (size_t i = 0; i < c->nheaders; i++)
        http_response_header(res, c->header_names[i], c->header_values[i]);
    http_response_header(res, "Cache-Control", "no-store");
    http_response_header(res, "X-Content-Type-Options", "nosniff");
    if (c->out.len && (c->err.status || (c->status ? c->status : c->route->status) != 204))
        http_response_body(res, c->out.data, c->out.len);
}

/* Publishes "entity\tid\taction\n" records on the loop thread. */
static void publish_changes(struct admin_call *c)
{
    struct admin *a = c->admin;
    if (!a->on_change || c->changes.len == 0 || c->changes.err)
        return;
    char *p = c->changes.data, *end = p + c->changes.len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        *nl = '\0';
        char *t1 = strchr(p, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t1 && t2) {
            *t1 = *t2 = '\0';
            a->on_change(a->on_change_ud, p, strtoll(t1 + 1, NULL, 10), t2 + 1);
        }
        p = nl + 1;
    }
}

static void call_abort(void *ctx)
{
    struct call_box *b = ctx;
    if (b->answered) {
        call_free(b);
        return;
    }
    b->c.aborted = true;
}

static void call_after(uv_work_t *w, int status)
{
    struct call_box *b = w->data;
    struct admin_call *c = &b->c;
    struct admin *a = c->admin;
    a->inflight--;
    publish_changes(c);
    if (c->aborted) {
        call_free(b);
        return;
    }
    if (status == UV_ECANCELED && !c->err.status)
        dom_err_set(&c->err, 503, "SHUTTING_DOWN", "the server is stopping");
    const struct admin_route_ext *ext = c->route->ext;
    if (!c->err.status && ext && ext->post)
        ext->post(c);
    if (!c->responded)
        send_answer(b);
    /* A connection already closing (its client left while the work ran): its abort,
     * still to come from the loop, frees the box (panel-content.test.mjs saw the abort
     * write to a freed box under ASan). Asked of resume's answer, not of the response
     * afterwards: a keep-alive connection may have deferred its next call in the same
     * response already (metrics.test.mjs leaked every box that way). */
    if (!http_response_resume(c->res)) {
        b->answered = true;
        return;
    }
    call_free(b);
}

/* ---- the work phase ------------------------------------------------------------------ */

static bool is_json_type(const char *ct)
{
    if (!ct)
        return true; /* scripts often omit it; the body must still parse */
    size_t n = strcspn(ct, "; ");
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n == 28 && strncasecmp(ct, "application/merge-patch+json", 28) == 0);
}

static int parse_body(struct admin_call *c)
{
    const struct admin_route_ext *ext = c->route->ext;
    if (!c->route->request || (ext && ext->raw_body))
        return 0;
    if (!is_json_type(c->content_type))
        return dom_err_set(&c->err, 415, "UNSUPPORTED_MEDIA_TYPE",
                           "the body must be application/json (got %.60s)", c->content_type);
    if (c->body_len == 0)
        return dom_err_set(&c->err, 400, DOM_E_MALFORMED, "a JSON body is required");
    json_error_t jerr;
    c->json = json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!c->json)
        return dom_err_set(&c->err, 400, DOM_E_MALFORMED,
                           "the body is not JSON: line %d column %d: %s", jerr.line, jerr.column,
                           jerr.text);
    if (!json_is_object(c->json) && !json_is_array(c->json))
        return dom_err_set(&c->err, 400, DOM_E_MALFORMED, "the body must be a JSON object");
    return 0;
}

static void call_work(uv_work_t *w)
{
    struct call_box *b = w->data;
    struct admin_call *c = &b->c;
    const struct admin_route_ext *ext = c->route->ext;
    c->db = admin_db_take(c->admin);
    if (!c->db) {
        dom_err_set(&c->err, 503, "DATABASE_UNAVAILABLE", "the database cannot be opened");
        return;
    }
    int rc = 0;
    if (!ext || !ext->no_auth)
        rc = admin_authenticate(c);
    if (rc == 0)
        rc = parse_body(c);
    if (rc == 0 && ext && ext->work) {
        rc = ext->work(c);
        if (rc < 0 && !c->err.status)
            dom_err_internal(&c->err, rc, c->route->pattern);
    }
    admin_db_put(c->admin, c->db);
    c->db = NULL;
}

/* ---- the loop side ------------------------------------------------------------------- */

static char *dup_header(const struct http_request *req, const char *name)
{
    const char *v = http_request_header(req, name);
    return v ? strdup(v) : NULL;
}

static int copy_request(struct call_box *b, const struct route_match *m, struct http_request *req)
{
    struct admin_call *c = &b->c;
    for (size_t i = 0; i < m->nparams; i++) {
        c->params[i] = strdup(m->params[i]);
        if (!c->params[i])
            return -ENOMEM;
        c->nparams = i + 1;
    }
    if (req->params.count) {
        c->query.items = calloc(req->params.count, sizeof(*c->query.items));
        if (!c->query.items)
            return -ENOMEM;
        for (size_t i = 0; i < req->params.count; i++) {
            c->query.items[i].key = strdup(req->params.items[i].key);
            c->query.items[i].value = strdup(req->params.items[i].value);
            c->query.count = i + 1;
            if (!c->query.items[i].key || !c->query.items[i].value)
                return -ENOMEM;
        }
        c->query.cap = c->query.count;
    }
    char *body = malloc(req->body_len + 1);
    if (!body)
        return -ENOMEM;
    memcpy(body, req->body ? req->body : "", req->body_len);
    body[req->body_len] = '\0';
    c->body = body;
    c->body_len = req->body_len;
    c->if_match = dup_header(req, "If-Match");
    c->user_agent = dup_header(req, "User-Agent");
    c->idempotency_key = dup_header(req, "Idempotency-Key");
    c->authorization = dup_header(req, "Authorization");
    c->cookie = dup_header(req, "Cookie");
    c->csrf = dup_header(req, "X-CSRF-Token");
    c->content_type = dup_header(req, "Content-Type");
    snprintf(c->client_ip, sizeof(c->client_ip), "%s", req->client_ip);
    b->path = strdup(req->path);
    return b->path ? 0 : -ENOMEM;
}

void admin_route_fn(const struct route_match *m, struct http_request *req,
                    struct http_response *res)
{
    struct admin *a = m->ud;
    atomic_fetch_add(&a->calls, 1);
    if (a->inflight >= ADMIN_MAX_INFLIGHT) {
        atomic_fetch_add(&a->refused_busy, 1);
        http_response_header(res, "Retry-After", "1");
        http_response_text(res, 503, "application/problem+json",
                           "{\"type\":\"urn:xtreamd:problem:busy\",\"title\":\"Service "
                           "Unavailable\",\"status\":503,\"code\":\"BUSY\",\"detail\":\"too many "
                           "admin requests in flight\",\"errors\":[]}");
        return;
    }
    if (cross_site(req)) {
        atomic_fetch_add(&a->refused_forbidden, 1);
        struct admin_call c = {0};
        buf_init(&c.out, 1 << 16);
        dom_err_set(&c.err, 403, "CROSS_SITE", "a cross-site request is refused");
        answer_now(req, res, &c);
        return;
    }
    struct call_box *b = calloc(1, sizeof(*b));
    if (!b) {
        http_response_text(res, 500, "text/plain", "out of memory\n");
        return;
    }
    struct admin_call *c = &b->c;
    c->admin = a;
    c->route = m->route;
    c->method = req->method;
    c->res = res;
    c->now = (int64_t)time(NULL);
    buf_init(&c->out, CALL_OUT_MAX);
    buf_init(&c->changes, CALL_CHANGES_MAX);
    jsonw_init(&c->w, &c->out);
    if (copy_request(b, m, req) != 0) {
        call_free(b);
        http_response_text(res, 500, "text/plain", "out of memory\n");
        return;
    }
    b->work.data = b;
    c->work_req = &b->work;
    if (uv_queue_work(a->cfg.loop, &b->work, call_work, call_after) != 0) {
        call_free(b);
        http_response_text(res, 500, "text/plain", "cannot queue the request\n");
        return;
    }
    a->inflight++;
    http_response_defer(res, call_abort, b);
}

/* ---- registration -------------------------------------------------------------------- */

int admin_add_routes(struct admin *a, struct router *r)
{
    for (size_t i = 0; admin_resources[i]; i++) {
        const struct admin_resource *res = admin_resources[i];
        struct route_group g = {
            .name = res->name,
            .prefix = "/api/v1",
            .routes = res->routes,
            .count = res->nroutes,
            .ud = a,
            .fallback = fallback,
        };
        int rc = router_add(r, &g);
        if (rc)
            return rc;
    }
    return admin_openapi_build(a, r);
}

void admin_tick(struct admin *a)
{
    int64_t ids[64];
    size_t n;
    while ((n = admin_jobs_take_ended(a->jobs, ids, 64)) > 0)
        for (size_t i = 0; i < n && a->on_change; i++)
            a->on_change(a->on_change_ud, "job", ids[i], "ended");
}

void admin_metrics(struct admin *a, struct buf *b)
{
    promtext_family(b, "xtreamd_admin_calls_total", "counter", "Admin API requests received");
    buf_printf(b, "xtreamd_admin_calls_total %llu\n", (unsigned long long)a->calls);
    promtext_family(b, "xtreamd_admin_refused_calls_total", "counter",
                    "Admin API requests refused, by reason");
    buf_printf(b, "xtreamd_admin_refused_calls_total{reason=\"unauthenticated\"} %llu\n",
               (unsigned long long)a->refused_unauth);
    buf_printf(b, "xtreamd_admin_refused_calls_total{reason=\"forbidden\"} %llu\n",
               (unsigned long long)a->refused_forbidden);
    buf_printf(b, "xtreamd_admin_refused_calls_total{reason=\"csrf\"} %llu\n",
               (unsigned long long)a->refused_csrf);
    buf_printf(b, "xtreamd_admin_refused_calls_total{reason=\"busy\"} %llu\n",
               (unsigned long long)a->refused_busy);
    promtext_family(b, "xtreamd_admin_server_errors_total", "counter",
                    "Admin API requests answered 5xx");
    buf_printf(b, "xtreamd_admin_server_errors_total %llu\n", (unsigned long long)a->server_errors);
    promtext_family(b, "xtreamd_admin_inflight", "gauge", "Admin API requests being worked on");
    buf_printf(b, "xtreamd_admin_inflight %u\n", a->inflight);
    uint64_t refused, locks, dropped;
    dom_login_brake_counts(&refused, &locks, &dropped);
    promtext_family(b, "xtreamd_admin_login_brake_refused_total", "counter",
                    "Admin logins refused (429) while the address or account was locked");
    buf_printf(b, "xtreamd_admin_login_brake_refused_total %llu\n", (unsigned long long)refused);
    promtext_family(b, "xtreamd_admin_login_brake_locks_total", "counter",
                    "Addresses or accounts locked after repeated failed admin logins");
    buf_printf(b, "xtreamd_admin_login_brake_locks_total %llu\n", (unsigned long long)locks);
    promtext_family(b, "xtreamd_admin_login_brake_dropped_total", "counter",
                    "Login brake entries dropped or not tracked because a table was full");
    buf_printf(b, "xtreamd_admin_login_brake_dropped_total %llu\n", (unsigned long long)dropped);
    admin_jobs_metrics(a->jobs, b);
}
