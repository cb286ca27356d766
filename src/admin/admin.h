/*
 * admin: the authenticated admin REST API under /api/v1 — its router groups,
 * the life of a call (admin/call.h: copy, defer, authenticate and work on the
 * thread pool, post on the loop, answer), its database connections, its jobs
 * (admin/jobs.h) and its OpenAPI document.
 *
 * Owns: a bounded pool of database connections for pool threads (one per
 * concurrent call, closed at admin_free), the in-flight call count (bounded:
 * beyond ADMIN_MAX_INFLIGHT a call is answered 503 and counted), the job
 * runner, the OpenAPI document (built once at start from the route tables).
 * Invariants: a call's HTTP response is touched only on the loop thread; a
 * call whose client went away is freed without answering; admin_free waits for
 * nothing — serve.c stops the HTTP server first, then frees the admin after
 * the loop has drained the work queue.
 * Threading: admin_* functions on the loop thread, except where noted.
 */
#ifndef XTREAMD_ADMIN_ADMIN_H
#define XTREAMD_ADMIN_ADMIN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "http/router.h"

#define ADMIN_MAX_INFLIGHT 256
#define ADMIN_DB_POOL_MAX  8

struct admin;
struct api;
struct live;

struct admin_config {
    uv_loop_t *loop;
    const char *data_dir;
    struct api *api;   /* the client API (catalogue, connection registry); may be NULL */
    struct live *live; /* the live engine; may be NULL */
};

int admin_new(const struct admin_config *cfg, struct admin **out);
/* After the loop has stopped running calls (no call in flight). */
void admin_free(struct admin *a);
/* Adds the admin API's groups (every resource of admin_resources[]) to r:
 * call before the client API's catch-all group. Builds the OpenAPI document. */
int admin_add_routes(struct admin *a, struct router *r);
/* GET /metrics with an Authorization header (scope read): a group of its
 * own ("/metrics"), added before the client API. */
extern const struct route admin_metrics_route;
/* The route_fn of every admin route. */
void admin_route_fn(const struct route_match *m, struct http_request *req,
                    struct http_response *res);
/* Entity changes (admin_notify_change of every call) and job ends, on the
 * loop thread: the events stream subscribes here. */
void admin_set_change_hook(struct admin *a,
                           void (*fn)(void *ud, const char *entity, int64_t id, const char *action),
                           void *ud);
/* The per-run token of serve.json (0600, read by the local CLI): a Bearer
 * token equal to it is the principal "local", with every scope. Call before
 * serving. */
void admin_set_local_token(struct admin *a, const char *token);
/* The live figures and the event stream the dashboard routes answer from
 * (both serve's, loop thread); entity changes are then published as
 * `change` events. */
struct stats;
struct events;
void admin_set_dashboard(struct admin *a, struct stats *stats, struct events *events);
/* Periodic work on the loop thread (serve.c's refresh timer): publishes the
 * ends of jobs to the change hook. */
void admin_tick(struct admin *a);

/* The XUI-compatible API shim (admin/xui.c, src/xui/): its route group, a
 * prefix "/" group that takes only the path of the setting xui_api_path
 * (none while it is "", the default). Add it before the client API's group;
 * paths it does not take go to fallback/options (the client API's). Loop
 * thread. */
int admin_add_xui_routes(struct admin *a, struct router *r,
                         void (*fallback)(void *ud, unsigned allowed, struct http_request *req,
                                          struct http_response *res),
                         void (*options)(void *ud, unsigned allowed, struct http_request *req,
                                         struct http_response *res));
/* Re-reads xui_api_path from the database (on the thread pool; the path
 * changes when the read ends). serve calls it at start and whenever the
 * database changed; a settings PATCH applies its value at once. */
void admin_xui_reload(struct admin *a);
/* Sets the path at once (serve at start, from the setting; a settings PATCH). */
void admin_xui_path_set(struct admin *a, const char *path);
/* Prometheus series of the admin API (calls, refusals, in flight, jobs). */
void admin_metrics(struct admin *a, struct buf *b);
/* The borrowed engines, for post() phases. */
struct api *admin_api(struct admin *a);
struct live *admin_live(struct admin *a);
uv_loop_t *admin_loop(struct admin *a);

#endif
