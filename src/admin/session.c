/*
 * session.c: who is calling — authentication of every admin call (Bearer
 * token or session cookie + CSRF) and the auth routes: login, logout, me.
 *
 * The session cookie is HttpOnly, SameSite=Strict, Path=/api/ and Secure
 * over TLS; a cookie-authenticated mutation (anything but GET/HEAD) must
 * also send the session's CSRF token in X-CSRF-Token, compared in constant
 * time. Tokens and cookies are never logged. Rules (expiry, scopes, the
 * login brake) are domain/admin_auth.c's.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admin/admin_priv.h"
#include "admin/resource.h"
#include "domain/admin_auth.h"
#include "domain/resellers.h"

#define COOKIE_NAME "xtreamd_session"

unsigned admin_scope_bits(const char *scope)
{
    if (!scope || strcmp(scope, "read") == 0)
        return ADMIN_SCOPE_READ;
    if (strcmp(scope, "lines:write") == 0)
        return ADMIN_SCOPE_LINES_WRITE;
    if (strcmp(scope, "streams:write") == 0)
        return ADMIN_SCOPE_STREAMS_WRITE;
    if (strcmp(scope, "content:write") == 0)
        return ADMIN_SCOPE_CONTENT_WRITE;
    return ADMIN_SCOPE_ADMIN;
}

/* The value of the session cookie in a Cookie header, into out. */
static bool session_cookie(const char *header, char *out, size_t outsz)
{
    const char *p = header;
    while (p && *p) {
        p += strspn(p, " \t;");
        size_t n = strlen(COOKIE_NAME);
        if (strncmp(p, COOKIE_NAME, n) == 0 && p[n] == '=') {
            const char *v = p + n + 1;
            size_t len = strcspn(v, "; \t");
            if (len == 0 || len >= outsz)
                return false;
            memcpy(out, v, len);
            out[len] = '\0';
            return true;
        }
        p = strchr(p, ';');
    }
    return false;
}

static void copy_principal(struct admin_call *c, const struct dom_principal *p)
{
    c->who.admin_id = p->admin_id;
    snprintf(c->who.username, sizeof(c->who.username), "%s", p->username);
    c->who.viewer = p->viewer;
    c->who.reseller = p->reseller;
    c->who.token_id = p->token_id;
    c->who.session_id = p->session_id;
    c->who.scopes = p->scopes;
}

void admin_actor(const struct admin_call *c, struct dom_actor *out)
{
    out->admin_id = c->who.admin_id;
    out->username = c->who.username;
    out->reseller = c->who.reseller;
}

int admin_line_scope(struct admin_call *c, int64_t line_id)
{
    struct dom_actor who;
    admin_actor(c, &who);
    return dom_actor_line_check(c->db, &who, line_id, &c->err);
}

int admin_device_scope(struct admin_call *c, int64_t device_id)
{
    struct dom_actor who;
    admin_actor(c, &who);
    return dom_actor_device_check(c->db, &who, device_id, &c->err);
}

/* The routes a reseller account may call (everything else is 403): its
 * lines and their devices, sessions and access rules, the plans it may sell,
 * its sub-resellers and ledger, its own tokens. Each handler scopes the
 * entities to the reseller's subtree (404 outside). */
static const struct {
    const char *pattern;
    unsigned methods;
} reseller_routes[] = {
    {"/api/v1/auth/logout", ROUTE_POST},
    {"/api/v1/auth/me", ROUTE_GET},
    {"/api/v1/lines", ROUTE_GET | ROUTE_POST},
    {"/api/v1/lines/bulk", ROUTE_POST},
    {"/api/v1/lines/{id}", ROUTE_GET | ROUTE_PATCH | ROUTE_DELETE},
    {"/api/v1/lines/{id}/extend", ROUTE_POST},
    {"/api/v1/lines/{id}/sessions", ROUTE_GET},
    {"/api/v1/lines/{id}/access", ROUTE_GET | ROUTE_PATCH},
    {"/api/v1/lines/{id}/access/reset", ROUTE_POST},
    {"/api/v1/devices", ROUTE_GET | ROUTE_POST},
    {"/api/v1/devices/{id}", ROUTE_GET | ROUTE_DELETE},
    {"/api/v1/plans", ROUTE_GET},
    {"/api/v1/plans/{id}", ROUTE_GET},
    {"/api/v1/tokens", ROUTE_GET | ROUTE_POST},
    {"/api/v1/tokens/{id}", ROUTE_GET | ROUTE_DELETE},
    {"/api/v1/resellers", ROUTE_GET | ROUTE_POST},
    {"/api/v1/resellers/{id}", ROUTE_GET | ROUTE_PATCH | ROUTE_DELETE},
    {"/api/v1/resellers/{id}/transfer", ROUTE_POST},
    {"/api/v1/resellers/{id}/ledger", ROUTE_GET},
    {"/api/v1/ledger", ROUTE_GET},
};

static bool reseller_may(const struct route *r, enum http_method m)
{
    for (size_t i = 0; i < sizeof(reseller_routes) / sizeof(reseller_routes[0]); i++)
        if (strcmp(reseller_routes[i].pattern, r->pattern) == 0)
            return (reseller_routes[i].methods & ROUTE_M(m)) != 0;
    return false;
}

static bool mutating(enum http_method m)
{
    return m != HTTP_GET && m != HTTP_HEAD;
}

int admin_authenticate(struct admin_call *c)
{
    struct admin *a = c->admin;
    struct dom_principal p;
    memset(&p, 0, sizeof(p));
    char cookie[160];
    int rc;
    if (c->authorization) {
        if (strncasecmp(c->authorization, "Bearer ", 7) != 0) {
            atomic_fetch_add(&a->refused_unauth, 1);
            admin_add_header(c, "WWW-Authenticate", "Bearer realm=\"xtreamd\"");
            return dom_err_set(&c->err, 401, "NOT_AUTHENTICATED",
                               "the Authorization header must be \"Bearer <token>\"");
        }
        const char *bearer = c->authorization + 7;
        size_t n = strlen(a->local_token);
        if (n && strlen(bearer) == n && sodium_memcmp(bearer, a->local_token, n) == 0) {
            /* The local CLI (serve.json is readable only by the server's user). */
            snprintf(c->who.username, sizeof(c->who.username), "local");
            c->who.scopes = ADMIN_SCOPE_ADMIN | ADMIN_SCOPE_READ | ADMIN_SCOPE_LINES_WRITE |
                            ADMIN_SCOPE_STREAMS_WRITE | ADMIN_SCOPE_CONTENT_WRITE;
            return 0;
        }
        rc = dom_token_auth(c->db, bearer, c->now, c->client_ip, &p, &c->err);
    } else if (c->cookie && session_cookie(c->cookie, cookie, sizeof(cookie))) {
        rc = dom_session_auth(c->db, cookie, c->now, &p, &c->err);
        sodium_memzero(cookie, sizeof(cookie));
        if (rc == 0 && mutating(c->method) &&
            (!c->csrf || strlen(c->csrf) != strlen(p.csrf) ||
             sodium_memcmp(c->csrf, p.csrf, strlen(p.csrf)) != 0)) {
            atomic_fetch_add(&a->refused_csrf, 1);
            sodium_memzero(&p, sizeof(p));
            return dom_err_set(&c->err, 403, "CSRF_FAILED",
                               "a change made with a session cookie must send the session's "
                               "X-CSRF-Token header");
        }
    } else {
        atomic_fetch_add(&a->refused_unauth, 1);
        admin_add_header(c, "WWW-Authenticate", "Bearer realm=\"xtreamd\"");
        return dom_err_set(&c->err, 401, "NOT_AUTHENTICATED",
                           "log in (POST /api/v1/auth/login) or send \"Authorization: Bearer "
                           "<token>\"");
    }
    if (rc < 0) {
        atomic_fetch_add(&a->refused_unauth, 1);
        if (c->err.status == 401)
            admin_add_header(c, "WWW-Authenticate", "Bearer realm=\"xtreamd\"");
        return rc;
    }
    copy_principal(c, &p);
    sodium_memzero(&p, sizeof(p));
    unsigned need = admin_scope_bits(c->route->scope);
    if (!(c->who.scopes & ADMIN_SCOPE_ADMIN) && (c->who.scopes & need) != need) {
        atomic_fetch_add(&a->refused_forbidden, 1);
        if (c->who.viewer)
            return dom_err_set(&c->err, 403, "FORBIDDEN",
                               "the account %s has the viewer role: it cannot make changes",
                               c->who.username);
        return dom_err_set(&c->err, 403, "FORBIDDEN", "this token lacks the scope \"%s\"",
                           c->route->scope ? c->route->scope : "read");
    }
    if (c->who.reseller && !reseller_may(c->route, c->method)) {
        atomic_fetch_add(&a->refused_forbidden, 1);
        return dom_err_set(&c->err, 403, "FORBIDDEN",
                           "the account %s is a reseller: this route is not open to it",
                           c->who.username);
    }
    return 0;
}

/* ---- routes ----------------------------------------------------------------------- */

static void write_scopes(struct jsonw *w, unsigned scopes)
{
    static const char *const names[] = {"read", "lines:write", "streams:write", "content:write",
                                        "admin"};
    jsonw_key(w, "scopes");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (scopes & (1u << i))
            jsonw_str(w, names[i]);
    jsonw_arr_end(w);
}

static void write_who(struct jsonw *w, const struct admin_principal *p)
{
    jsonw_key(w, "admin");
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, p->admin_id);
    jsonw_key(w, "username");
    jsonw_str(w, p->username);
    jsonw_key(w, "role");
    jsonw_str(w, p->viewer ? "viewer" : p->reseller ? "reseller" : "admin");
    jsonw_obj_end(w);
    write_scopes(w, p->scopes);
}

static int login(struct admin_call *c)
{
    static const char *const known[] = {"username", "password", NULL};
    const char *user = NULL, *pass = NULL;
    if (admin_json_known(c, known) || admin_json_str(c, "username", &user, NULL) ||
        admin_json_str(c, "password", &pass, NULL))
        return -EINVAL;
    if (!user || !*user)
        dom_err_field(&c->err, "username", "required", "username is required");
    if (!pass || !*pass)
        dom_err_field(&c->err, "password", "required", "password is required");
    if (c->err.status)
        return -EINVAL;
    struct dom_session_new s;
    int rc = dom_session_login(c->db, user, pass, c->client_ip, c->user_agent, c->now, &s, &c->err);
    if (rc < 0) {
        if (c->err.status == 429) {
            char ra[24];
            snprintf(ra, sizeof(ra), "%lld", (long long)(s.retry_after > 0 ? s.retry_after : 1));
            admin_add_header(c, "Retry-After", ra);
        }
        sodium_memzero(&s, sizeof(s));
        return rc;
    }
    char cookie[256];
    snprintf(cookie, sizeof(cookie),
             COOKIE_NAME "=%s; Path=/api/; HttpOnly; SameSite=Strict; "
                         "Max-Age=%lld%s",
             s.token, (long long)(s.expires_at - c->now), c->tls ? "; Secure" : "");
    admin_add_header(c, "Set-Cookie", cookie);
    sodium_memzero(cookie, sizeof(cookie));
    copy_principal(c, &s.who);
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "csrf_token");
    jsonw_str(&c->w, s.csrf);
    admin_write_time(&c->w, "expires_at", s.expires_at, false);
    write_who(&c->w, &c->who);
    jsonw_obj_end(&c->w);
    sodium_memzero(&s, sizeof(s));
    return 0;
}

static int logout(struct admin_call *c)
{
    char cookie[160];
    if (c->who.session_id && c->cookie && session_cookie(c->cookie, cookie, sizeof(cookie))) {
        int rc = dom_session_logout(c->db, cookie, &c->err);
        sodium_memzero(cookie, sizeof(cookie));
        if (rc < 0)
            return rc;
    }
    admin_add_header(c, "Set-Cookie",
                     COOKIE_NAME "=; Path=/api/; HttpOnly; SameSite=Strict; Max-Age=0");
    return 0;
}

/* The "reseller" member of /auth/me: the caller's own reseller row, or null. */
static int write_me_reseller(struct admin_call *c)
{
    jsonw_key(&c->w, "reseller");
    if (!c->who.reseller) {
        jsonw_null(&c->w);
        return 0;
    }
    struct dom_actor who;
    admin_actor(c, &who);
    struct db_reseller r;
    int rc = dom_reseller_get(c->db, &who, c->who.admin_id, c->now, &r, &c->err);
    if (rc < 0)
        return rc;
    dom_reseller_write_json(&c->w, &r);
    db_reseller_clear(&r);
    return 0;
}

static int me(struct admin_call *c)
{
    jsonw_obj_begin(&c->w);
    write_who(&c->w, &c->who);
    if (write_me_reseller(c) < 0)
        return -EIO;
    jsonw_key(&c->w, "auth");
    jsonw_str(&c->w, c->who.token_id ? "token" : "session");
    if (c->who.session_id) {
        /* The panel recovers its CSRF token after a reload from here. */
        char cookie[160];
        struct dom_principal p;
        if (c->cookie && session_cookie(c->cookie, cookie, sizeof(cookie)) &&
            dom_session_auth(c->db, cookie, c->now, &p, &c->err) == 0) {
            jsonw_key(&c->w, "csrf_token");
            jsonw_str(&c->w, p.csrf);
        }
        sodium_memzero(cookie, sizeof(cookie));
        sodium_memzero(&p, sizeof(p));
    }
    jsonw_obj_end(&c->w);
    return 0;
}

static const struct admin_route_ext ext_login = {.work = login, .no_auth = true};
static const struct admin_route_ext ext_logout = {.work = logout};
static const struct admin_route_ext ext_me = {.work = me};

static const struct route routes[] = {
    {ROUTE_POST, "/api/v1/auth/login", admin_route_fn, NULL, ROUTE_AUTH_NONE, NULL,
     "Log in: sets the session cookie and returns the CSRF token", "auth", "LoginRequest", "Login",
     200, &ext_login},
    {ROUTE_POST, "/api/v1/auth/logout", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Log out: ends the session", "auth", NULL, NULL, 204, &ext_logout},
    {ROUTE_GET, "/api/v1/auth/me", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Who is calling: account, scopes, and the session's CSRF token", "auth", NULL, "Me", 200,
     &ext_me},
};

#define WHO_PROPS                                                                                  \
    "\"admin\":{\"type\":\"object\",\"required\":[\"id\",\"username\",\"role\"],"                  \
    "\"properties\":{\"id\":{\"type\":\"integer\"},\"username\":{\"type\":\"string\"},"            \
    "\"role\":{\"enum\":[\"admin\",\"viewer\",\"reseller\"]}}},"                                   \
    "\"scopes\":{\"type\":\"array\",\"items\":{\"enum\":[\"read\",\"lines:write\","                \
    "\"streams:write\",\"content:write\",\"admin\"]}}"

static const struct admin_schema schemas[] = {
    {"LoginRequest",
     "{\"type\":\"object\",\"required\":[\"username\",\"password\"],\"additionalProperties\":false,"
     "\"examples\":[{\"username\":\"admin\",\"password\":\"correct horse battery\"}],"
     "\"properties\":{\"username\":{\"type\":\"string\"},\"password\":{\"type\":\"string\"}}}"},
    {"Login", "{\"type\":\"object\",\"required\":[\"csrf_token\",\"expires_at\",\"admin\","
              "\"scopes\"],\"properties\":{\"csrf_token\":{\"type\":\"string\"},"
              "\"expires_at\":{\"type\":\"string\",\"format\":\"date-time\"}," WHO_PROPS "}}"},
    {"Me", "{\"type\":\"object\",\"required\":[\"admin\",\"scopes\",\"auth\"],\"properties\":{"
           "\"auth\":{\"enum\":[\"session\",\"token\"]},\"csrf_token\":{\"type\":\"string\"},"
           "\"reseller\":{\"oneOf\":[{\"type\":\"null\"},{\"$ref\":\"#/components/schemas/"
           "Reseller\"}]}," WHO_PROPS "}}"},
};

const struct admin_resource admin_res_auth = {"auth", routes, sizeof(routes) / sizeof(routes[0]),
                                              schemas, sizeof(schemas) / sizeof(schemas[0])};
