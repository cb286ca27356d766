/*
 * admin/call: one admin API request as its handlers see it.
 *
 * Life of a request (admin.c): on the loop thread the router matches a route
 * of the admin table; the request is copied into a struct admin_call (path
 * parameters, query, the headers that matter, the body), the HTTP response is
 * deferred, and the call goes to the thread pool. There, with a database
 * connection of its own (c->db), the caller is authenticated (session cookie
 * or Bearer token), the route's policy is enforced (role, scope, CSRF on
 * cookie mutations), the JSON body is parsed, and the route's work() runs.
 * Back on the loop thread the route's post() runs if it has one (whatever
 * needs the live engine: stream start/stop, sessions, stats), then the
 * response is sent and the call freed.
 *
 * A handler never writes HTTP itself: it fills c->status and c->out (JSON),
 * or returns an error through c->err (domain/error.h) which becomes an
 * application/problem+json body. Every mutation writes its audit-log row
 * through admin_audit() inside the transaction of its change.
 * Threading: work() on a pool thread, post() on the loop thread, never both at
 * once; a call belongs to one request.
 */
#ifndef XTREAMD_ADMIN_CALL_H
#define XTREAMD_ADMIN_CALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/jsonw.h"
#include "domain/page.h"
#include "domain/error.h"
#include "http/http.h"
#include "http/router.h"

struct admin;
struct db;

/* Token scopes (a session of an `admin` account holds all, of a `viewer` only READ). */
#define ADMIN_SCOPE_READ          (1u << 0) /* "read" */
#define ADMIN_SCOPE_LINES_WRITE   (1u << 1) /* "lines:write" */
#define ADMIN_SCOPE_STREAMS_WRITE (1u << 2) /* "streams:write" */
#define ADMIN_SCOPE_CONTENT_WRITE (1u << 3) /* "content:write" */
#define ADMIN_SCOPE_ADMIN         (1u << 4) /* "admin": accounts, tokens, settings; implies all */

#define ADMIN_MAX_HEADERS 4

struct admin_principal {
    int64_t admin_id;
    char username[65];
    bool viewer;        /* the account's role is viewer (read-only) */
    bool reseller;      /* the account's role is reseller (scoped to its subtree) */
    int64_t token_id;   /* 0 when authenticated by a session cookie */
    int64_t session_id; /* 0 when authenticated by a token */
    unsigned scopes;    /* ADMIN_SCOPE_* granted */
};

struct admin_call {
    struct admin *admin;
    const struct route *route;
    /* The request, copied (valid until the call is freed). */
    enum http_method method;
    const char *params[ROUTE_MAX_PARAMS]; /* the route's {parameters}, decoded */
    size_t nparams;
    struct http_params query; /* query string only (never form bodies) */
    const char *body;         /* NUL-terminated */
    size_t body_len;
    json_t *json;         /* the parsed body when the route has a request schema */
    const char *if_match; /* NULL when absent */
    const char *user_agent;
    const char *idempotency_key;
    char client_ip[46];
    bool tls;
    /* Who is asking (filled before work() runs). */
    struct admin_principal who;
    /* Work phase. */
    struct db *db;
    int64_t now; /* Unix seconds at the start of the call */
    /* The answer. */
    int status;         /* 0: route->status */
    struct buf out;     /* the JSON body (empty: no body) */
    struct jsonw w;     /* writes into out */
    char etag[40];      /* set with admin_set_etag(); sent as ETag */
    char location[160]; /* sent as Location (creates) */
    size_t nheaders;    /* extra headers (admin_add_header) */
    char *header_names[ADMIN_MAX_HEADERS];
    char *header_values[ADMIN_MAX_HEADERS];
    struct dom_error err; /* err.status != 0: the answer is problem+json */
    /* Per-route state handed from work() to post(). */
    void *state;
    void (*state_free)(void *state);
    /* Post phase: the HTTP response (valid in post() only). A post() that
     * answers itself (an event stream) sets responded; otherwise the core
     * sends status/out/err as above. */
    struct http_response *res;
    bool responded;
    /* Internal (admin.c). */
    bool aborted;              /* the client went away: nothing is sent */
    struct buf changes;        /* admin_notify_change() records, published on the loop */
    const char *authorization; /* header copies used by the core */
    const char *cookie;
    const char *csrf;
    const char *content_type;
    void *work_req; /* uv_work_t */
};

/* The route's phases (route->ext points to one). Either may be NULL. work()
 * returns 0 or a negative errno with c->err filled (admin_fail... helpers). */
struct admin_route_ext {
    int (*work)(struct admin_call *c);
    void (*post)(struct admin_call *c);
    bool no_auth;  /* login, openapi.json: runs without a principal */
    bool raw_body; /* the body is not JSON (e.g. an M3U upload): c->json stays NULL */
    /* The list filters the route takes as query parameters (documented in
     * the OpenAPI document), NULL-terminated; page/page_size/sort/q are
     * implied when `list` is set. */
    const char *const *filters;
    bool list;
};

struct dom_actor;
/* The caller as the domain's resellers rules see it (domain/resellers.h). */
void admin_actor(const struct admin_call *c, struct dom_actor *out);
/* 0 when the caller may address line / device id (a reseller: its subtree's
 * only), else the 404 problem in c->err. */
int admin_line_scope(struct admin_call *c, int64_t line_id);
int admin_device_scope(struct admin_call *c, int64_t device_id);

/* Idempotency-Key of a spending request (admin/resellers.c), inside the
 * change's transaction: admin_idem_begin returns 1 when the first answer to
 * the same request was put in c (the caller rolls back and answers it), 0 to
 * go on (hash filled for admin_idem_finish), or a negative errno (422 for a
 * key reused with another request). admin_idem_finish stores c->out as the
 * answer of `status`. Both are no-ops without the header. */
int admin_idem_begin(struct admin_call *c, char hash[65]);
int admin_idem_finish(struct admin_call *c, const char hash[65], int status);

/* Adds a response header (copied); -E2BIG past ADMIN_MAX_HEADERS. */
int admin_add_header(struct admin_call *c, const char *name, const char *value);

/* ---- request helpers (any phase) ---- */

/* The {id} parameter i as a positive integer; -EINVAL with a 404 problem
 * ("no such <what>") when it is not one. */
int admin_param_id(struct admin_call *c, size_t i, const char *what, int64_t *id);
const char *admin_query(const struct admin_call *c, const char *key);

/* Paging, sorting and search of list endpoints: ?page=1&page_size=50&sort=-name,id&q=text.
 * page_size 1..1000 (default 50). `sort` is checked against allowed (a
 * NULL-terminated list of column names); each bad value is a 422 field error
 * on "page", "page_size" or "sort". */
struct admin_list_query {
    int64_t page, page_size; /* page from 1 */
    struct db_page db;       /* the same as offset/limit/q/sort for the db layer */
};
int admin_list_query(struct admin_call *c, const char *const *allowed, struct admin_list_query *q);
/* Starts {"items":[ ... ; admin_list_end closes with "total","page","page_size". */
void admin_list_begin(struct admin_call *c);
void admin_list_end(struct admin_call *c, const struct admin_list_query *q, int64_t total);

/* The query parameter key as a positive id (0 when absent; a field error on
 * key when it is not one). */
int64_t admin_query_id(struct admin_call *c, const char *key);
/* A time given as RFC 3339 ("2027-01-31T10:00:00Z", an offset applied) or a
 * date ("2027-01-31", 00:00 UTC), range-checked (domain/time.c), and when
 * unix is true also Unix seconds: 0 with *out, or -EINVAL with a field error
 * ("format" / "range") on field. */
int admin_parse_time(struct admin_call *c, const char *field, const char *text, bool unix,
                     int64_t *out);

/* JSON body members: -EINVAL with a 422 field error when present with the
 * wrong type. *has (may be NULL) tells whether the member was there (null
 * counts as present with *out = NULL for strings). */
int admin_json_str(struct admin_call *c, const char *key, const char **out, bool *has);
int admin_json_int(struct admin_call *c, const char *key, long long *out, bool *has);
int admin_json_bool(struct admin_call *c, const char *key, bool *out, bool *has);
/* Refuses members not in known (NULL-terminated): 422 "unknown" per member. */
int admin_json_known(struct admin_call *c, const char *const *known);

/* ---- answer helpers (work phase) ---- */

/* ETag of the representation in c->out (a hash of the bytes), and If-Match:
 * true when the request has no If-Match or it names etag (or "*"); false
 * after filling a 412 problem. */
void admin_set_etag(struct admin_call *c);
bool admin_if_match(struct admin_call *c, const char *current_etag);
/* The ETag text a representation would have ("\"...\""), for If-Match checks
 * before a change. */
void admin_etag_of(const struct buf *json, char out[40]);

/* Writes a time as RFC 3339 UTC ("2026-05-01T10:00:00Z"), null for 0 when null_zero. */
void admin_write_time(struct jsonw *w, const char *key, int64_t t, bool null_zero);

/* One audit-log row for the change being made (inside the caller's
 * transaction): action "create" | "update" | "delete" | "extend" ..., the
 * entity ("line") and its id, and the JSON before and after (NULL: none). */
int admin_audit(struct admin_call *c, const char *action, const char *entity, int64_t id,
                const char *before, const char *after);

/* The end of a create or an update inside its transaction: the audit row
 * (before may be NULL), then the answer is `after` with its ETag, and the
 * change is announced. 0, or the audit row's error. */
int admin_answer_change(struct admin_call *c, const char *action, const char *entity, int64_t id,
                        const char *before, const char *after);

/* Tells every events subscriber that an entity changed (any phase). */
void admin_notify_change(struct admin_call *c, const char *entity, int64_t id, const char *action);

#endif
