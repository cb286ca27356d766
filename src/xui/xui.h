/*
 * xui: the XUI-compatible API shim — what billing modules written for
 * XUI.one / XC_VM call (`?api_key=…&action=…`, GET or POST form), translated
 * onto the same domain services as the REST API (/api/v1), answered in XUI's
 * shapes. A thin translator: it holds no business rule (validation, scoping
 * and charging are domain/'s), never touches SQL, files or settings, and has
 * no action for them (docs/admin-api.md "XUI-compatible API" lists what it
 * offers; docs/internals/xui.md how it is built).
 *
 * The HTTP side is the admin module's (admin/xui.c): the secret path (setting
 * xui_api_path, off by default), the call on the thread pool with a database
 * connection. This module parses the form (xui_form_*), authenticates the
 * api_key (an API token of ours: an admin's gives the admin actions, a
 * reseller's the reseller actions), runs the action and writes the answer.
 *
 * Answers (always HTTP 200, as XUI): {"status":"STATUS_SUCCESS","data":…} or
 * {"status":"STATUS_<NAME>","error":"<sentence>","code":"<NAME>"} with XUI's
 * names (STATUS_FAILURE, STATUS_INVALID_INPUT, STATUS_EXISTS_USERNAME,
 * STATUS_INSUFFICIENT_CREDITS, STATUS_NO_PERMISSIONS, ...); a bad key is
 * STATUS_FAILURE with code INVALID_API_KEY, an unknown action STATUS_FAILURE
 * with code INVALID_ACTION. Lines are XUI rows: every value a string
 * (exp_date and created_at Unix seconds, bouquet "[1,2]", enabled /
 * admin_enabled "1"/"0" — admin_enabled "0" is our banned).
 *
 * Bounds: the form holds at most HTTP_MAX_PARAMS pairs; a list at most
 * DOM_LINE_BOUQUETS_MAX ids; get_lines pages at most XUI_LIMIT_MAX rows.
 * Threading: a form and a call belong to one thread; xui_run on a pool
 * thread with its own struct db.
 */
#ifndef XTREAMD_XUI_XUI_H
#define XTREAMD_XUI_XUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/jsonw.h"
#include "domain/error.h"
#include "domain/lines.h"
#include "http/http.h"

#define XUI_LIMIT_DEFAULT 50
#define XUI_LIMIT_MAX     1000
#define XUI_ACTION_MAX    40

/* The request's fields: the query's and the body's (url-encoded or
 * multipart), the body's winning, as PHP's $_REQUEST. */
struct xui_form {
    struct http_params p;
};

/* Builds the form from params (the HTTP layer's: the query and, for a POST
 * labelled url-encoded or multipart, the body's fields, which win) and body:
 * a body the HTTP layer did not read (no or another Content-Type — billing
 * scripts often send none), parsed as url-encoded and winning too; NULL when
 * none. 0, or -EINVAL/-E2BIG/-ENOMEM with *why naming the problem. Free
 * with xui_form_free (also after a failure). */
int xui_form_parse(struct xui_form *f, const struct http_params *params, const char *body,
                   size_t len, const char **why);
void xui_form_free(struct xui_form *f);
/* The value of key (NULL when absent). */
const char *xui_form_get(const struct xui_form *f, const char *key);

/* A list of ids as billing modules send them: key[]=1&key[]=2, key[0]=1,
 * key=[1,2] (JSON text, as XUI's panel posts it), or key=1,2. *has: the
 * list was given (possibly empty). -EINVAL with a field error on key when a
 * member is not a positive integer or there are more than cap. */
int xui_form_ids(const struct xui_form *f, const char *key, int64_t *ids, size_t cap, size_t *n,
                 bool *has, struct dom_error *e);

/* A create_line / edit_line form as a line input (the omitted-field rule: a
 * field the form leaves out stays "not given", so an edit keeps it).
 * Accepted: username, password, max_connections, exp_date (Unix seconds,
 * YYYY-MM-DD, "YYYY-MM-DD HH:MM[:SS]" UTC; "", "0" or "null" with no_expire=1
 * never), no_expire, is_trial, enabled, admin_enabled (0 = banned),
 * bouquets_selected (or bouquet), access_output (1 = m3u8, 2 = ts; 3, RTMP,
 * ignored), admin_notes / reseller_notes / notes, message, package (a plan
 * id) and trial (a reseller's trial). Other fields are ignored. Every bad
 * field is reported (a 422 field error named as in the form). */
struct xui_line_req {
    struct dom_line_in in;
    int64_t bouquet_ids[DOM_LINE_BOUQUETS_MAX];
    const char *bouquet_names[DOM_LINE_BOUQUETS_MAX]; /* all NULL: by id */
    char outputs[16];
    char exp_text[32];
    bool has_package;
    int64_t package_id;
    bool trial; /* trial=1 (or is_trial=1 with a package) */
};
int xui_line_from_form(const struct xui_form *f, bool create, struct xui_line_req *r,
                       struct dom_error *e);

/* Who calls and where changes go (filled by the transport). */
struct xui_ctx {
    const char *client_ip;
    int64_t now;
    /* The request's Idempotency-Key header (NULL: none): a reseller's
     * spending call (create_line, edit_line with a package) with a key it
     * already used replays the first answer and charges nothing; with
     * another request it is refused (STATUS_INVALID_INPUT,
     * IDEMPOTENCY_KEY_REUSED), as on the REST API. */
    const char *idempotency_key;
    /* Told of each entity changed (the admin API's change events); may be NULL. */
    void (*changed)(void *ud, const char *entity, int64_t id, const char *action);
    void *ud;
};

/* Runs the request in f against db and writes the XUI answer into w. Returns
 * 0 when an answer (success or an XUI error) was written; a negative errno
 * only when even that failed (out of memory). */
int xui_run(struct db *db, const struct xui_ctx *ctx, const struct xui_form *f, struct jsonw *w);

/* The XUI status name ("STATUS_INVALID_INPUT") of a domain error. */
const char *xui_status_of(const struct dom_error *e);

#endif
