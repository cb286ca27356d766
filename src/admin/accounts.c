/*
 * accounts.c: /api/v1/admins (accounts), /api/v1/tokens (API tokens) and
 * /api/v1/audit-log. Rules are domain/admins.c's and domain/admin_auth.c's;
 * this file adds the one rule that is about the caller: nobody grants more
 * than they hold (a token's scopes must be among the caller's).
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_priv.h"
#include "admin/resource.h"
#include "domain/admin_auth.h"
#include "domain/admins.h"
#include "domain/time.h"
#include "domain/token_json.h"
#include "domain/tx.h"

_Static_assert(ADMIN_SCOPE_ADMIN == DOM_SCOPE_ADMIN && ADMIN_SCOPE_READ == DOM_SCOPE_READ &&
                   ADMIN_SCOPE_CONTENT_WRITE == DOM_SCOPE_CONTENT_WRITE,
               "admin/call.h and domain/admin_auth.h scope bits agree");

static void write_scope_list(struct jsonw *w, const char *comma)
{
    jsonw_arr_begin(w);
    for (const char *p = comma; p && *p;) {
        size_t n = strcspn(p, ",");
        jsonw_strn(w, p, n);
        p += n;
        if (*p == ',')
            p++;
    }
    jsonw_arr_end(w);
}

/* ---- tokens ----------------------------------------------------------------------- */

static void write_token(struct jsonw *w, const struct db_api_token *t, int64_t now)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, t->id);
    jsonw_key(w, "name");
    jsonw_str(w, t->name);
    jsonw_key(w, "owner");
    jsonw_str(w, t->owner);
    jsonw_key(w, "scopes");
    write_scope_list(w, t->scopes);
    admin_write_time(w, "created_at", t->created_at, false);
    admin_write_time(w, "expires_at", t->expires_at, true);
    admin_write_time(w, "last_used_at", t->last_used_at, true);
    jsonw_key(w, "last_used_ip");
    jsonw_str(w, t->last_used_ip);
    admin_write_time(w, "revoked_at", t->revoked_at, true);
    jsonw_key(w, "state");
    jsonw_str(w, t->revoked_at                           ? "revoked"
                 : t->expires_at && t->expires_at <= now ? "expired"
                                                         : "active");
    jsonw_obj_end(w);
}

/* Whose tokens the caller may see and revoke: all with the admin scope. */
static int64_t token_owner_filter(const struct admin_call *c)
{
    return (c->who.scopes & ADMIN_SCOPE_ADMIN) ? 0 : c->who.admin_id;
}

static int tokens_list(struct admin_call *c)
{
    static const char *const sorts[] = {"id", "name", "created_at", "expires_at", NULL};
    struct admin_list_query q;
    if (admin_list_query(c, sorts, &q))
        return -EINVAL;
    struct db_api_token *v = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc = dom_token_page(c->db, token_owner_filter(c), &q.db, &v, &n, &total, &c->err);
    if (rc < 0)
        return rc;
    admin_list_begin(c);
    for (size_t i = 0; i < n; i++)
        write_token(&c->w, &v[i], c->now);
    admin_list_end(c, &q, total);
    db_api_token_list_free(v, n);
    return 0;
}

static int load_token(struct admin_call *c, struct db_api_token *t)
{
    int64_t id;
    if (admin_param_id(c, 0, "token", &id))
        return -ENOENT;
    int rc = dom_token_get(c->db, id, t, &c->err);
    if (rc == 0 && token_owner_filter(c) && t->admin_id != c->who.admin_id) {
        db_api_token_clear(t);
        return dom_err_set(&c->err, 404, DOM_E_NOT_FOUND, "no token %lld", (long long)id);
    }
    return rc;
}

static int tokens_get(struct admin_call *c)
{
    struct db_api_token t;
    int rc = load_token(c, &t);
    if (rc < 0)
        return rc;
    write_token(&c->w, &t, c->now);
    admin_set_etag(c);
    db_api_token_clear(&t);
    return 0;
}

/* The body is decoded by domain/token_json.c (fuzzed): name, scopes[],
 * expires_at (RFC 3339 or YYYY-MM-DD, null = never); every bad member and
 * every rule broken is reported at once. */
static int tokens_create(struct admin_call *c)
{
    struct dom_principal caller = {.admin_id = c->who.admin_id,
                                   .viewer = c->who.viewer,
                                   .token_id = c->who.token_id,
                                   .scopes = c->who.scopes};
    if (dom_token_may_manage(&caller, &c->err) < 0)
        return -EACCES;
    struct dom_token_json j;
    int drc = dom_token_from_json(c->body ? c->body : "", c->body_len, &j, &c->err);
    if (c->err.status != 400)
        dom_token_validate(&caller, &j.in, c->now, &c->err);
    if (drc < 0 || c->err.status) {
        dom_token_json_free(&j);
        return -EINVAL;
    }
    struct dom_token_in in = j.in;
    if (!(c->who.scopes & ADMIN_SCOPE_ADMIN) && (in.scopes & ~c->who.scopes)) {
        dom_token_json_free(&j);
        return dom_err_set(&c->err, 403, "FORBIDDEN",
                           "a token cannot hold scopes its creator lacks");
    }
    struct dom_principal owner = {.admin_id = c->who.admin_id, .viewer = c->who.viewer};
    struct dom_token_created made;
    memset(&made, 0, sizeof(made));
    struct db_api_token t;
    memset(&t, 0, sizeof(t));
    struct buf after;
    buf_init(&after, 1 << 16);
    struct jsonw aw;
    jsonw_init(&aw, &after);
    int rc = dom_begin(c->db, &c->err);
    if (rc < 0)
        goto out;
    if ((rc = dom_token_create(c->db, &owner, &in, c->now, &made, &c->err)) < 0 ||
        (rc = dom_token_get(c->db, made.id, &t, &c->err)) < 0)
        goto fail;
    write_token(&aw, &t, c->now);
    /* The audit row and the later reads never hold the secret. */
    if (after.err || !after.len) {
        rc = dom_err_internal(&c->err, -ENOMEM, "a token");
        goto fail;
    }
    buf_putc(&after, '\0');
    if ((rc = admin_audit(c, "create", "token", made.id, NULL, after.data)) < 0 ||
        (rc = dom_commit(c->db, &c->err)) < 0)
        goto fail;
    buf_append(&c->out, after.data, after.len - 2); /* without the closing brace and NUL */
    buf_printf(&c->out, ",\"token\":\"%s\"}", made.token);
    snprintf(c->location, sizeof(c->location), "/api/v1/tokens/%lld", (long long)made.id);
    admin_notify_change(c, "token", made.id, "create");
    goto out;
fail:
    dom_rollback(c->db);
out:
    sodium_memzero(&made, sizeof(made));
    db_api_token_clear(&t);
    buf_free(&after);
    dom_token_json_free(&j);
    return rc;
}

static int tokens_delete(struct admin_call *c)
{
    struct db_api_token t;
    struct dom_principal caller = {.admin_id = c->who.admin_id,
                                   .viewer = c->who.viewer,
                                   .token_id = c->who.token_id,
                                   .scopes = c->who.scopes};
    if (dom_token_may_manage(&caller, &c->err) < 0)
        return -EACCES;
    int rc = load_token(c, &t);
    if (rc < 0)
        return rc;
    if ((rc = dom_begin(c->db, &c->err)) == 0 &&
        (rc = dom_token_revoke(c->db, t.id, c->now, &c->err)) == 0 &&
        (rc = admin_audit(c, "revoke", "token", t.id, NULL, NULL)) == 0)
        rc = dom_commit(c->db, &c->err);
    if (rc < 0)
        dom_rollback(c->db);
    else
        admin_notify_change(c, "token", t.id, "revoke");
    db_api_token_clear(&t);
    return rc;
}

/* ---- accounts --------------------------------------------------------------------- */

static void write_admin(struct jsonw *w, const struct db_admin *a)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, a->id);
    jsonw_key(w, "username");
    jsonw_str(w, a->username);
    jsonw_key(w, "role");
    jsonw_str(w, a->role);
    jsonw_key(w, "disabled");
    jsonw_bool(w, a->disabled);
    admin_write_time(w, "created_at", a->created_at, false);
    admin_write_time(w, "updated_at", a->updated_at, false);
    admin_write_time(w, "last_login_at", a->has_last_login ? a->last_login_at : 0, true);
    jsonw_obj_end(w);
}

static char *admin_text(const struct db_admin *a, char etag[40])
{
    struct buf b;
    buf_init(&b, 1 << 16);
    struct jsonw w;
    jsonw_init(&w, &b);
    write_admin(&w, a);
    admin_etag_of(&b, etag);
    char *s = b.err ? NULL : buf_steal(&b, NULL);
    buf_free(&b);
    return s;
}

static int admins_list(struct admin_call *c)
{
    struct admin_list_query q;
    if (admin_list_query(c, NULL, &q))
        return -EINVAL;
    struct db_admin *v = NULL;
    size_t n = 0;
    int rc = dom_admin_list(c->db, &v, &n, &c->err);
    if (rc < 0)
        return rc;
    admin_list_begin(c);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (q.db.q && !strstr(v[i].username, q.db.q))
            continue;
        if (total >= q.db.offset && total < q.db.offset + q.db.limit)
            write_admin(&c->w, &v[i]);
        total++;
    }
    admin_list_end(c, &q, total);
    db_admin_list_free(v, n);
    return 0;
}

/* Account {id} (the table is small: a scan of the list). */
static int load_admin(struct admin_call *c, struct db_admin *out)
{
    int64_t id;
    if (admin_param_id(c, 0, "account", &id))
        return -ENOENT;
    struct db_admin *v = NULL;
    size_t n = 0;
    int rc = dom_admin_list(c->db, &v, &n, &c->err);
    if (rc < 0)
        return rc;
    rc = dom_err_set(&c->err, 404, DOM_E_NOT_FOUND, "no account %lld", (long long)id);
    for (size_t i = 0; i < n; i++) {
        if (v[i].id == id) {
            *out = v[i];
            memset(&v[i], 0, sizeof(v[i]));
            dom_error_reset(&c->err);
            rc = 0;
            break;
        }
    }
    db_admin_list_free(v, n);
    return rc;
}

static int admins_get(struct admin_call *c)
{
    struct db_admin a = {0};
    int rc = load_admin(c, &a);
    if (rc == 0) {
        write_admin(&c->w, &a);
        admin_set_etag(c);
    }
    db_admin_clear(&a);
    return rc;
}

/* Answers account `username` and writes the audit row of `action`. */
static int answer_admin(struct admin_call *c, const char *username, const char *action,
                        const char *before)
{
    struct db_admin a = {0};
    int rc = dom_admin_get(c->db, username, &a, &c->err);
    if (rc < 0)
        return rc;
    char etag[40];
    char *after = admin_text(&a, etag);
    if (!after)
        rc = dom_err_internal(&c->err, -ENOMEM, "an account");
    else
        rc = admin_answer_change(c, action, "admin", a.id, before, after);
    free(after);
    db_admin_clear(&a);
    return rc;
}

static int admins_create(struct admin_call *c)
{
    static const char *const known[] = {"username", "password", "role", "disabled", NULL};
    struct dom_admin_in in;
    dom_admin_in_init(&in);
    bool dis = false, has_dis = false;
    if (admin_json_known(c, known) || admin_json_str(c, "username", &in.username, NULL) ||
        admin_json_str(c, "password", &in.password, NULL) ||
        admin_json_str(c, "role", &in.role, NULL) || admin_json_bool(c, "disabled", &dis, &has_dis))
        return -EINVAL;
    if (has_dis)
        in.disabled = dis;
    if (!in.password)
        return dom_err_field(&c->err, "password", "required",
                             "give the password (at least %d characters)", DOM_ADMIN_PW_MIN);
    int64_t id;
    struct dom_admin_secret secret;
    int rc = dom_begin(c->db, &c->err);
    if (rc < 0)
        return rc;
    if ((rc = dom_admin_create(c->db, &in, &id, &secret, &c->err)) == 0 &&
        (rc = answer_admin(c, in.username, "create", NULL)) == 0)
        rc = dom_commit(c->db, &c->err);
    sodium_memzero(&secret, sizeof(secret));
    if (rc < 0) {
        dom_rollback(c->db);
        buf_reset(&c->out);
        c->etag[0] = '\0';
        return rc;
    }
    snprintf(c->location, sizeof(c->location), "/api/v1/admins/%lld", (long long)id);
    return 0;
}

static int admins_patch(struct admin_call *c)
{
    static const char *const known[] = {"password", "role", "disabled", NULL};
    struct dom_admin_in in;
    dom_admin_in_init(&in);
    const char *password = NULL;
    bool dis = false, has_dis = false, has_pw = false;
    if (admin_json_known(c, known) || admin_json_str(c, "password", &password, &has_pw) ||
        admin_json_str(c, "role", &in.role, NULL) || admin_json_bool(c, "disabled", &dis, &has_dis))
        return -EINVAL;
    if (has_dis)
        in.disabled = dis;
    if (has_pw && !password)
        return dom_err_field(&c->err, "password", "required", "a password cannot be cleared");
    struct db_admin cur = {0};
    char *before = NULL;
    int rc = dom_begin(c->db, &c->err);
    if (rc < 0)
        return rc;
    char etag[40];
    if ((rc = load_admin(c, &cur)) < 0)
        goto fail;
    if (!(before = admin_text(&cur, etag))) {
        rc = dom_err_internal(&c->err, -ENOMEM, "an account");
        goto fail;
    }
    if (!admin_if_match(c, etag)) {
        rc = -EAGAIN;
        goto fail;
    }
    if ((in.role || in.disabled >= 0) &&
        (rc = dom_admin_update(c->db, cur.username, &in, &c->err)) < 0)
        goto fail;
    struct dom_admin_secret secret;
    memset(&secret, 0, sizeof(secret));
    /* A new password ends the account's other sessions (the caller's own
     * stays when it changes its own password). */
    if (password &&
        (rc = dom_admin_set_password(c->db, cur.username, password, &secret, &c->err)) == 0)
        rc = dom_session_end_all(c->db, cur.id, cur.id == c->who.admin_id ? c->who.session_id : 0,
                                 &c->err);
    sodium_memzero(&secret, sizeof(secret));
    if (rc < 0)
        goto fail;
    if ((rc = answer_admin(c, cur.username, "update", before)) < 0 ||
        (rc = dom_commit(c->db, &c->err)) < 0)
        goto fail;
    goto out;
fail:
    dom_rollback(c->db);
    buf_reset(&c->out);
    c->etag[0] = '\0';
out:
    free(before);
    db_admin_clear(&cur);
    return rc;
}

static int admins_delete(struct admin_call *c)
{
    struct db_admin cur = {0};
    char *before = NULL;
    int rc = dom_begin(c->db, &c->err);
    if (rc < 0)
        return rc;
    char etag[40];
    if ((rc = load_admin(c, &cur)) < 0)
        goto fail;
    if (!(before = admin_text(&cur, etag))) {
        rc = dom_err_internal(&c->err, -ENOMEM, "an account");
        goto fail;
    }
    if (!admin_if_match(c, etag)) {
        rc = -EAGAIN;
        goto fail;
    }
    if ((rc = dom_admin_delete(c->db, cur.username, &c->err)) < 0 ||
        (rc = admin_audit(c, "delete", "admin", cur.id, before, NULL)) < 0 ||
        (rc = dom_commit(c->db, &c->err)) < 0)
        goto fail;
    admin_notify_change(c, "admin", cur.id, "delete");
    goto out;
fail:
    dom_rollback(c->db);
out:
    free(before);
    db_admin_clear(&cur);
    return rc;
}

/* ---- audit log -------------------------------------------------------------------- */

static int audit_list(struct admin_call *c)
{
    static const char *const sorts[] = {"id", "at", NULL};
    struct admin_list_query q;
    admin_list_query(c, sorts, &q);
    struct db_audit_filter f = {
        .entity = admin_query(c, "entity"),
        .action = admin_query(c, "action"),
        .entity_id = admin_query_id(c, "entity_id"),
        .admin_id = admin_query_id(c, "admin_id"),
    };
    const char *since = admin_query(c, "since"), *until = admin_query(c, "until");
    if (since)
        admin_parse_time(c, "since", since, true, &f.since);
    if (until)
        admin_parse_time(c, "until", until, true, &f.until);
    if (c->err.status)
        return -EINVAL;
    struct db_audit *v = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc = dom_audit_page(c->db, &f, &q.db, &v, &n, &total, &c->err);
    if (rc < 0)
        return rc;
    admin_list_begin(c);
    for (size_t i = 0; i < n; i++) {
        struct jsonw *w = &c->w;
        jsonw_obj_begin(w);
        jsonw_key(w, "id");
        jsonw_int(w, v[i].id);
        admin_write_time(w, "at", v[i].at, false);
        jsonw_key(w, "admin_id");
        if (v[i].admin_id)
            jsonw_int(w, v[i].admin_id);
        else
            jsonw_null(w);
        jsonw_key(w, "admin_username");
        jsonw_str(w, v[i].admin_username);
        jsonw_key(w, "token_id");
        if (v[i].token_id)
            jsonw_int(w, v[i].token_id);
        else
            jsonw_null(w);
        jsonw_key(w, "ip");
        jsonw_str(w, v[i].ip);
        jsonw_key(w, "action");
        jsonw_str(w, v[i].action);
        jsonw_key(w, "entity");
        jsonw_str(w, v[i].entity);
        jsonw_key(w, "entity_id");
        if (v[i].entity_id)
            jsonw_int(w, v[i].entity_id);
        else
            jsonw_null(w);
        /* before/after were written by this server's own serialisers. */
        jsonw_key(w, "before");
        if (v[i].before)
            jsonw_raw(w, v[i].before);
        else
            jsonw_null(w);
        jsonw_key(w, "after");
        if (v[i].after)
            jsonw_raw(w, v[i].after);
        else
            jsonw_null(w);
        jsonw_obj_end(w);
    }
    admin_list_end(c, &q, total);
    db_audit_list_free(v, n);
    return 0;
}

static const char *const audit_filters[] = {"entity", "entity_id", "action", "admin_id",
                                            "since",  "until",     NULL};

static const struct admin_route_ext ext_tokens = {.work = tokens_list, .list = true};
static const struct admin_route_ext ext_token_create = {.work = tokens_create};
static const struct admin_route_ext ext_token = {.work = tokens_get};
static const struct admin_route_ext ext_token_delete = {.work = tokens_delete};
static const struct admin_route_ext ext_admins = {.work = admins_list, .list = true};
static const struct admin_route_ext ext_admin_create = {.work = admins_create};
static const struct admin_route_ext ext_admin = {.work = admins_get};
static const struct admin_route_ext ext_admin_patch = {.work = admins_patch};
static const struct admin_route_ext ext_admin_delete = {.work = admins_delete};
static const struct admin_route_ext ext_audit = {
    .work = audit_list, .list = true, .filters = audit_filters};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/tokens", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "API tokens (yours; every account's with the admin scope)", "tokens", NULL, "TokenList", 200,
     &ext_tokens},
    {ROUTE_POST, "/api/v1/tokens", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Create an API token: the answer shows the secret once", "tokens", "TokenCreate",
     "TokenCreated", 201, &ext_token_create},
    {ROUTE_GET, "/api/v1/tokens/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Read a token (never its secret)", "tokens", NULL, "Token", 200, &ext_token},
    {ROUTE_DELETE, "/api/v1/tokens/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Revoke a token", "tokens", NULL, NULL, 204, &ext_token_delete},
    {ROUTE_GET, "/api/v1/admins", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin", "Admin accounts",
     "admins", NULL, "AdminList", 200, &ext_admins},
    {ROUTE_POST, "/api/v1/admins", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Create an admin account", "admins", "AdminCreate", "Admin", 201, &ext_admin_create},
    {ROUTE_GET, "/api/v1/admins/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Read an admin account", "admins", NULL, "Admin", 200, &ext_admin},
    {ROUTE_PATCH, "/api/v1/admins/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Change an account's role, disabled flag or password", "admins", "AdminPatch", "Admin", 200,
     &ext_admin_patch},
    {ROUTE_DELETE, "/api/v1/admins/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Delete an admin account (never the last enabled admin)", "admins", NULL, NULL, 204,
     &ext_admin_delete},
    {ROUTE_GET, "/api/v1/audit-log", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Who changed what: one row per change, newest first", "audit-log", NULL, "AuditList", 200,
     &ext_audit},
};

#define LIST_OF(x)                                                                                 \
    "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"              \
    "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/" x  \
    "\"}},\"total\":{\"type\":\"integer\"},\"page\":{\"type\":\"integer\"},"                       \
    "\"page_size\":{\"type\":\"integer\"}}}"
#define NTIME "{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"}"
#define SCOPES                                                                                     \
    "{\"type\":\"array\",\"items\":{\"enum\":[\"read\",\"lines:write\",\"streams:write\","         \
    "\"content:write\",\"admin\"]}}"
#define TOKEN_PROPS                                                                                \
    "\"id\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"},\"owner\":{\"type\":"            \
    "\"string\"},\"scopes\":" SCOPES ",\"created_at\":{\"type\":\"string\",\"format\":"            \
    "\"date-time\"},\"expires_at\":" NTIME ",\"last_used_at\":" NTIME ",\"last_used_ip\":{"        \
    "\"type\":[\"string\",\"null\"]},\"revoked_at\":" NTIME ",\"state\":{\"enum\":[\"active\","    \
    "\"expired\",\"revoked\"]}"
#define TOKEN_REQ                                                                                  \
    "\"required\":[\"id\",\"name\",\"owner\",\"scopes\",\"created_at\",\"expires_at\","            \
    "\"last_used_at\",\"revoked_at\",\"state\"]"

static const struct admin_schema schemas[] = {
    {"Token", "{\"type\":\"object\"," TOKEN_REQ ",\"properties\":{" TOKEN_PROPS "}}"},
    {"TokenCreated", "{\"type\":\"object\",\"required\":[\"id\",\"name\",\"scopes\",\"token\"],"
                     "\"properties\":{" TOKEN_PROPS ",\"token\":{\"type\":\"string\"}}}"},
    {"TokenList", LIST_OF("Token")},
    {"TokenCreate",
     "{\"type\":\"object\",\"required\":[\"name\",\"scopes\"],"
     "\"additionalProperties\":false,\"examples\":[{\"name\":\"billing\","
     "\"scopes\":[\"read\",\"lines:write\"],\"expires_at\":\"2030-01-01T00:00:00Z\"}],"
     "\"properties\":{\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":100},"
     "\"scopes\":" SCOPES ",\"expires_at\":" NTIME "}}"},
    {"Admin",
     "{\"type\":\"object\",\"required\":[\"id\",\"username\",\"role\",\"disabled\",\"created_at\","
     "\"updated_at\",\"last_login_at\"],\"properties\":{\"id\":{\"type\":\"integer\"},"
     "\"username\":{\"type\":\"string\"},\"role\":{\"enum\":[\"admin\",\"viewer\","
     "\"reseller\"],\"description\":\"reseller: created and deleted through /resellers\"},"
     "\"disabled\":{\"type\":\"boolean\"},\"created_at\":{\"type\":\"string\"},"
     "\"updated_at\":{\"type\":\"string\"},\"last_login_at\":" NTIME "}}"},
    {"AdminList", LIST_OF("Admin")},
    {"AdminCreate", "{\"type\":\"object\",\"required\":[\"username\",\"password\"],"
                    "\"additionalProperties\":false,\"examples\":[{\"username\":\"operator\","
                    "\"password\":\"a long pass phrase\",\"role\":\"viewer\"}],\"properties\":{"
                    "\"username\":{\"type\":\"string\"},\"password\":{\"type\":\"string\","
                    "\"minLength\":12},\"role\":{\"enum\":[\"admin\",\"viewer\"]},"
                    "\"disabled\":{\"type\":\"boolean\"}}}"},
    {"AdminPatch", "{\"type\":\"object\",\"additionalProperties\":false,\"examples\":[{"
                   "\"disabled\":true}],\"properties\":{\"password\":{\"type\":\"string\","
                   "\"minLength\":12},\"role\":{\"enum\":[\"admin\",\"viewer\"]},"
                   "\"disabled\":{\"type\":\"boolean\"}}}"},
    {"AuditEntry",
     "{\"type\":\"object\",\"required\":[\"id\",\"at\",\"admin_id\",\"admin_username\","
     "\"token_id\",\"ip\",\"action\",\"entity\",\"entity_id\",\"before\",\"after\"],"
     "\"properties\":{\"id\":{\"type\":\"integer\"},\"at\":{\"type\":\"string\"},"
     "\"admin_id\":{\"type\":[\"integer\",\"null\"]},\"admin_username\":{\"type\":\"string\"},"
     "\"token_id\":{\"type\":[\"integer\",\"null\"]},\"ip\":{\"type\":\"string\"},"
     "\"action\":{\"type\":\"string\"},\"entity\":{\"type\":\"string\"},"
     "\"entity_id\":{\"type\":[\"integer\",\"null\"]},\"before\":{},\"after\":{}}}"},
    {"AuditList", LIST_OF("AuditEntry")},
};

const struct admin_resource admin_res_accounts = {"accounts", routes,
                                                  sizeof(routes) / sizeof(routes[0]), schemas,
                                                  sizeof(schemas) / sizeof(schemas[0])};
