/*
 * admin/xui.c: the HTTP side of the XUI-compatible API shim (the translator
 * is src/xui/; docs/internals/xui.md).
 *
 * The path is a setting (xui_api_path, "" = off) read from the database on
 * the thread pool and kept here for the loop thread: the group's routes
 * ("/{a}" ... "/{a}/{b}/{c}/{d}", prefix "/") accept a request only when its
 * decoded segments are the path's, so with the shim off, or on any other
 * path, the router goes on to the client API exactly as before. An accepted
 * request is an admin call (admin.c: copied, run on the pool with a database
 * connection) whose work() hands the form to xui_run(); the call
 * authenticates itself with api_key (no_auth here) and always answers 200
 * with XUI's JSON. The access log shows "/(xui-api)", never the secret path
 * or the key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/admin_priv.h"
#include "core/log.h"
#include "domain/settings.h"
#include "domain/tx.h"
#include "xui/xui.h"

void admin_xui_path_set(struct admin *a, const char *path)
{
    if (strcmp(a->xui_path, path) == 0)
        return;
    snprintf(a->xui_path, sizeof(a->xui_path), "%s", path);
    if (path[0])
        log_info("xui", "the XUI-compatible API answers on its secret path (xui_api_path)");
    else
        log_info("xui", "the XUI-compatible API is off");
}

/* ---- the setting, read on the pool ---------------------------------------------------- */

struct reload {
    uv_work_t work;
    struct admin *a;
    char path[160];
    bool ok;
};

static void reload_work(uv_work_t *w)
{
    struct reload *r = w->data;
    struct db *db = admin_db_take(r->a);
    if (!db)
        return;
    dom_setting_text(db, "xui_api_path", r->path, sizeof(r->path));
    r->ok = true;
    admin_db_put(r->a, db);
}

static void reload_after(uv_work_t *w, int status)
{
    struct reload *r = w->data;
    struct admin *a = r->a;
    a->xui_loading = false;
    if (status == 0 && r->ok)
        admin_xui_path_set(a, r->path);
    free(r);
    if (a->xui_reload_again && status == 0) {
        a->xui_reload_again = false;
        admin_xui_reload(a);
    }
}

void admin_xui_reload(struct admin *a)
{
    if (a->xui_loading) {
        a->xui_reload_again = true; /* a change during the read is read again after it */
        return;
    }
    struct reload *r = calloc(1, sizeof(*r));
    if (!r)
        return;
    r->a = a;
    r->work.data = r;
    if (uv_queue_work(a->cfg.loop, &r->work, reload_work, reload_after) != 0) {
        free(r);
        return;
    }
    a->xui_loading = true;
}

/* ---- the route ------------------------------------------------------------------------ */

static bool xui_accept(const struct route_match *m, const struct http_request *req)
{
    const struct admin *a = m->ud;
    const char *p = a->xui_path;
    if (!p[0])
        return false;
    size_t i = 0;
    while (*p == '/') {
        p++;
        size_t k = strcspn(p, "/");
        if (i >= req->segment_count || strlen(req->segments[i]) != k ||
            memcmp(req->segments[i], p, k) != 0)
            return false;
        i++;
        p += k;
    }
    return i == req->segment_count;
}

static void xui_changed(void *ud, const char *entity, int64_t id, const char *action)
{
    admin_notify_change(ud, entity, id, action);
}

/* The body as a form when the HTTP layer did not read it (no Content-Type,
 * or one that is neither url-encoded nor multipart). */
static bool body_unread(const struct admin_call *c)
{
    if (c->method != HTTP_POST || c->body_len == 0)
        return false;
    const char *ct = c->content_type;
    if (!ct)
        return true;
    size_t n = strcspn(ct, "; ");
    return !((n == 33 && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) ||
             (n == 19 && strncasecmp(ct, "multipart/form-data", 19) == 0));
}

static int xui_work(struct admin_call *c)
{
    struct xui_form f;
    const char *why;
    bool raw = body_unread(c);
    int rc = xui_form_parse(&f, &c->query, raw ? c->body : NULL, raw ? c->body_len : 0, &why);
    c->status = 200; /* XUI answers 200 whatever happened; "status" says what */
    if (rc == 0) {
        struct xui_ctx ctx = {
            .client_ip = c->client_ip,
            .now = c->now,
            .idempotency_key = c->idempotency_key,
            .changed = xui_changed,
            .ud = c,
        };
        rc = xui_run(c->db, &ctx, &f, &c->w);
    } else if (rc != -ENOMEM) {
        jsonw_obj_begin(&c->w);
        jsonw_key(&c->w, "status");
        jsonw_str(&c->w, "STATUS_INVALID_INPUT");
        jsonw_key(&c->w, "error");
        jsonw_str(&c->w, why);
        jsonw_key(&c->w, "code");
        jsonw_str(&c->w, "INVALID_INPUT");
        jsonw_obj_end(&c->w);
        rc = 0;
    }
    xui_form_free(&f);
    return rc < 0 ? dom_err_internal(&c->err, rc, "the XUI API") : 0;
}

static void xui_route_fn(const struct route_match *m, struct http_request *req,
                         struct http_response *res)
{
    http_response_log_target(res, "/(xui-api)");
    admin_route_fn(m, req, res);
}

static const struct admin_route_ext ext_xui = {.work = xui_work, .no_auth = true, .raw_body = true};

#define XUI_ROUTE(pat)                                                                             \
    {                                                                                              \
        ROUTE_GET | ROUTE_POST, pat, xui_route_fn, xui_accept, ROUTE_AUTH_NONE, NULL, NULL, NULL,  \
            NULL, NULL, 200, &ext_xui                                                              \
    }

/* One route per segment count the path may have (DOM_XUI_PATH_SEGMENTS);
 * no summary: the secret path stays out of the OpenAPI document. */
static const struct route xui_routes[] = {
    XUI_ROUTE("/{s1}"),
    XUI_ROUTE("/{s1}/{s2}"),
    XUI_ROUTE("/{s1}/{s2}/{s3}"),
    XUI_ROUTE("/{s1}/{s2}/{s3}/{s4}"),
};

int admin_add_xui_routes(struct admin *a, struct router *r,
                         void (*fallback)(void *ud, unsigned allowed, struct http_request *req,
                                          struct http_response *res),
                         void (*options)(void *ud, unsigned allowed, struct http_request *req,
                                         struct http_response *res))
{
    struct route_group g = {
        .name = "xui",
        .prefix = "/",
        .routes = xui_routes,
        .count = sizeof(xui_routes) / sizeof(xui_routes[0]),
        .ud = a,
        .fallback = fallback,
        .options = options,
    };
    return router_add(r, &g);
}
