/*
 * admin_priv: what the admin module's files share (admin.c, authn.c,
 * openapi.c, jobs.c, the resource files): the struct admin and the internal
 * steps of a call.
 */
#ifndef XTREAMD_ADMIN_ADMIN_PRIV_H
#define XTREAMD_ADMIN_ADMIN_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "admin/admin.h"
#include "admin/call.h"
#include "core/refbuf.h"

struct admin_jobs;
struct stats;
struct events;

struct admin {
    struct admin_config cfg;
    char *data_dir;
    pthread_mutex_t pool_mu;
    struct db *pool[ADMIN_DB_POOL_MAX]; /* idle connections */
    size_t npool;
    unsigned inflight;
    char local_token[80];   /* serve.json's per-run token: the local CLI, all scopes */
    struct refbuf *openapi; /* the document, built by admin_add_routes */
    struct admin_jobs *jobs;
    struct stats *stats;   /* admin/stats.h, serve's (loop thread) */
    struct events *events; /* admin/events.h, serve's (loop thread) */
    /* Entity changes and job ends go to this hook on the loop thread (the
     * events stream); NULL: dropped. */
    void (*on_change)(void *ud, const char *entity, int64_t id, const char *action);
    void *on_change_ud;
    /* The XUI shim's secret path (admin/xui.c; "" = off), loop thread only;
     * xui_loading: a re-read of the setting is queued. */
    char xui_path[160];
    bool xui_loading, xui_reload_again;
    /* /metrics */
    atomic_ullong calls, refused_unauth, refused_forbidden, refused_csrf, refused_busy,
        server_errors, db_open_failures;
};

/* Authenticates c from its Authorization header or session cookie and checks
 * the route's policy (scope, viewer, CSRF on cookie mutations). Pool thread.
 * 0, or -errno with c->err filled (401/403). */
int admin_authenticate(struct admin_call *c);
/* The scope bits a route's scope string names (NULL: read). */
unsigned admin_scope_bits(const char *scope);

/* Writes the problem+json body of c->err into c->out (replacing it). */
void admin_problem_body(struct admin_call *c, const char *instance);

/* Database connections for pool threads (thread-safe). NULL when the
 * database cannot be opened (logged, counted). */
struct db *admin_db_take(struct admin *a);
void admin_db_put(struct admin *a, struct db *db);

/* Ids of jobs that ended since the last call (at most cap). */
size_t admin_jobs_take_ended(struct admin_jobs *jobs, int64_t *ids, size_t cap);

/* The OpenAPI document of the routes in r (openapi.c). */
int admin_openapi_build(struct admin *a, struct router *r);

#endif
