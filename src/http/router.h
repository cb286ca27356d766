/*
 * router: the one table of HTTP routes of the whole server.
 *
 * Each module that answers HTTP (the client API, the admin API, static files)
 * contributes a route group: a path prefix, an ordered array of routes, its
 * context, and how it answers a path under its prefix that no route takes
 * (404/405 in its own format) and CORS preflights. The router tries groups in
 * the order they were added and, inside a group, routes in table order: the
 * first whose pattern and method match wins. The OpenAPI document is generated
 * by walking the same tables (router_foreach), so it cannot drift from what is
 * served.
 *
 * Patterns are matched against the request's percent-decoded path segments
 * (http.h): "/api/v1/lines/{id}" has three literal segments and one parameter;
 * "{name}" matches exactly one segment. A route may add a predicate (accept)
 * for shapes a pattern cannot express (the short live URL /U/P/123.ts). HEAD
 * is answered by GET routes. A path that matches a route's pattern under some
 * other method is a 405 (the group's fallback is told the allowed methods).
 *
 * The auth policy and the scope are declarative: the router does not enforce
 * them, the group's handlers do (the admin API checks them before any handler
 * runs), and the OpenAPI generator documents them.
 * Threading: built at start, then read-only; router_handle on the loop thread.
 */
#ifndef XTREAMD_HTTP_ROUTER_H
#define XTREAMD_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

#define ROUTE_MAX_PARAMS 6

#define ROUTE_M(m)   (1u << (m))
#define ROUTE_GET    (ROUTE_M(HTTP_GET) | ROUTE_M(HTTP_HEAD))
#define ROUTE_POST   ROUTE_M(HTTP_POST)
#define ROUTE_PUT    ROUTE_M(HTTP_PUT)
#define ROUTE_PATCH  ROUTE_M(HTTP_PATCH)
#define ROUTE_DELETE ROUTE_M(HTTP_DELETE)

enum route_auth {
    ROUTE_AUTH_NONE,    /* public */
    ROUTE_AUTH_LINE,    /* a subscriber line's credentials (query or path), checked by the API */
    ROUTE_AUTH_ADMIN,   /* admin session cookie (+ X-CSRF-Token on mutations) or Bearer token */
    ROUTE_AUTH_METRICS, /* loopback, or a Bearer token with the read scope */
};

struct route;

/* What matched: the route and its {parameters} in pattern order (pointers
 * into the request's segments, valid during the handler call). */
struct route_match {
    const struct route *route;
    const char *params[ROUTE_MAX_PARAMS];
    size_t nparams;
    void *ud; /* the group's context */
};

typedef void (*route_fn)(const struct route_match *m, struct http_request *req,
                         struct http_response *res);

struct route {
    unsigned methods;    /* ROUTE_GET | ROUTE_POST ... */
    const char *pattern; /* "/api/v1/lines/{id}/extend" */
    route_fn fn;
    /* Optional: a further condition on the matched request (false: try the next route). */
    bool (*accept)(const struct route_match *m, const struct http_request *req);
    enum route_auth auth;
    const char *scope;    /* ROUTE_AUTH_ADMIN: token scope required (NULL: "read") */
    const char *summary;  /* OpenAPI summary; NULL leaves the route out of the document */
    const char *tag;      /* OpenAPI tag (resource name) */
    const char *request;  /* schema name of the JSON body, NULL if none */
    const char *response; /* schema name of the success body, NULL if none */
    int status;           /* the success status (200, 201, 202, 204) */
    const void *ext;      /* the group's own per-route data */
};

struct route_group {
    const char *name;   /* "admin", "client", "static" */
    const char *prefix; /* segments the group owns, "/api/v1"; "/" owns every path */
    const struct route *routes;
    size_t count;
    void *ud;
    /* A path under prefix that no route takes: allowed = the methods whose
     * routes match the path (0: none, a 404). */
    void (*fallback)(void *ud, unsigned allowed, struct http_request *req,
                     struct http_response *res);
    /* OPTIONS on a path under prefix (CORS preflight); NULL: 405 via fallback. */
    void (*options)(void *ud, unsigned allowed, struct http_request *req,
                    struct http_response *res);
    /* serve --loops N: true for a route of the group that any loop may answer, under
     * the application lock (http/server.h route_here); NULL or false: loop 0 answers
     * it (the connection moves there). */
    bool (*any_loop)(const struct route *rt);
};

struct router;

int router_new(struct router **out);
void router_free(struct router *r);
/* Adds a group (copied; its routes array is borrowed and must outlive the
 * router). Groups are tried in the order added: add narrow prefixes first.
 * -EINVAL on a malformed pattern (naming it in the log), -E2BIG past 32 groups. */
int router_add(struct router *r, const struct route_group *g);
/* The http_handler_fn of the server (ud = struct router *). */
void router_handle(struct http_request *req, struct http_response *res, void *ud);
/* Finds the route for a method and decoded segments (tests, the CLI): true
 * with *m filled, else false and *allowed = methods matching the path. */
bool router_match(const struct router *r, enum http_method method, const char *const *segments,
                  size_t nseg, const struct http_request *req, struct route_match *m,
                  unsigned *allowed, const struct route_group **group);
/* True when the route req matches may be answered by any loop (its group's
 * any_loop); false for one that may not and for a path no route takes. */
bool router_any_loop(const struct router *r, const struct http_request *req);
/* Every route of every group, in dispatch order. */
void router_foreach(const struct router *r,
                    void (*fn)(const struct route_group *g, const struct route *rt, void *ctx),
                    void *ctx);
/* "GET, HEAD, POST" for a methods mask, into out. */
void router_allow_header(unsigned methods, char *out, size_t outsz);

#endif
