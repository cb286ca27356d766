#include "domain/admin_auth.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "db/admins.h"
#include "domain/admins.h"
#include "domain/text.h"

#define TOUCH_EVERY 60 /* seconds between writes of a session's or token's last use */

static const char *const scope_names[DOM_SCOPE_COUNT] = {"read", "lines:write", "streams:write",
                                                         "content:write", "admin"};

const char *dom_scope_name(unsigned i)
{
    return i < DOM_SCOPE_COUNT ? scope_names[i] : NULL;
}

int dom_scopes_parse(const char *const *names, size_t n, unsigned *out, struct dom_error *e)
{
    *out = 0;
    if (n == 0)
        return dom_err_field(e, "scopes", "required", "name at least one scope");
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned k = 0;
        while (k < DOM_SCOPE_COUNT && strcmp(scope_names[k], names[i] ? names[i] : "") != 0)
            k++;
        if (k == DOM_SCOPE_COUNT) {
            char field[32];
            snprintf(field, sizeof(field), "scopes[%zu]", i);
            rc = dom_err_field(e, field, "unknown",
                               "unknown scope; one of read, lines:write, streams:write, "
                               "content:write, admin");
            continue;
        }
        *out |= 1u << k;
    }
    return rc;
}

void dom_scopes_format(unsigned bits, char *out, size_t outsz)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned k = 0; k < DOM_SCOPE_COUNT && n < outsz; k++)
        if (bits & (1u << k))
            n += (size_t)snprintf(out + n, outsz - n, "%s%s", n ? "," : "", scope_names[k]);
}

static unsigned scopes_from_text(const char *s)
{
    unsigned bits = 0;
    for (const char *p = s; p && *p;) {
        size_t len = strcspn(p, ",");
        for (unsigned k = 0; k < DOM_SCOPE_COUNT; k++)
            if (strlen(scope_names[k]) == len && strncmp(scope_names[k], p, len) == 0)
                bits |= 1u << k;
        p += len;
        if (*p == ',')
            p++;
    }
    return bits;
}

/* A granted set: admin implies every scope; every scope implies read. */
static unsigned expand(unsigned bits)
{
    if (bits & DOM_SCOPE_ADMIN)
        return DOM_SCOPE_ALL;
    return bits ? bits | DOM_SCOPE_READ : 0;
}

/* ---- secrets ---------------------------------------------------------------------- */

static void random_hex(char *out, size_t bytes)
{
    unsigned char raw[32];
    randombytes_buf(raw, bytes);
    sodium_bin2hex(out, bytes * 2 + 1, raw, bytes);
    sodium_memzero(raw, sizeof(raw));
}

/* SHA-256 of the secret, hex: what the database keeps. */
static void secret_hash(const char *secret, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)secret, strlen(secret));
    sodium_bin2hex(out, 65, h, sizeof(h));
}

static void principal_from(const struct db_auth_row *r, struct dom_principal *p)
{
    memset(p, 0, sizeof(*p));
    p->admin_id = r->admin_id;
    snprintf(p->username, sizeof(p->username), "%s", r->username);
    p->viewer = strcmp(r->role, "viewer") == 0;
    p->reseller = strcmp(r->role, "reseller") == 0;
}

/* The scopes a login of this role holds. */
static unsigned role_scopes(const struct dom_principal *p)
{
    return p->viewer ? DOM_SCOPE_READ : p->reseller ? DOM_SCOPE_RESELLER : DOM_SCOPE_ALL;
}

/* ---- the brake -------------------------------------------------------------------- */

struct brake_entry {
    char key[80];
    int64_t window_start;
    unsigned fails;
    unsigned locks; /* how many times it was locked (the doubling) */
    int64_t locked_until;
    int64_t last;
};

static pthread_mutex_t brake_mu = PTHREAD_MUTEX_INITIALIZER;
static struct brake_entry brake_ip[DOM_BRAKE_SLOTS], brake_user[DOM_BRAKE_SLOTS];
static uint64_t brake_dropped, brake_refused, brake_locks;

/* The entry of key in table t (created when create). When the key's window is
 * full, the least recently active entry that is not locked is reused; a
 * locked entry is never pushed out — otherwise a flood of fresh names or
 * addresses would unlock the account or address being guessed. With every
 * entry of the window locked the new key is not tracked (NULL). Either loss
 * is counted (dom_login_brake_dropped). Called with brake_mu held. */
static struct brake_entry *brake_find(struct brake_entry *t, const char *key, bool create,
                                      int64_t now)
{
    struct brake_entry *free_slot = NULL, *oldest = NULL;
    uint32_t h = 2166136261u;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    /* Open addressing over a small window keeps this O(1) and bounded. */
    for (size_t i = 0; i < 16; i++) {
        struct brake_entry *e = &t[(h + i) % DOM_BRAKE_SLOTS];
        if (e->key[0] && strcmp(e->key, key) == 0)
            return e;
        if (!e->key[0] && !free_slot)
            free_slot = e;
        if (e->key[0] && e->locked_until <= now && (!oldest || e->last < oldest->last))
            oldest = e;
    }
    if (!create)
        return NULL;
    struct brake_entry *e = free_slot;
    if (!e) {
        brake_dropped++;
        if (!(e = oldest))
            return NULL;
    }
    memset(e, 0, sizeof(*e));
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->window_start = e->last = now;
    return e;
}

static int64_t remaining(const struct brake_entry *e, int64_t now)
{
    return e && e->locked_until > now ? e->locked_until - now : 0;
}

int dom_login_brake_check(const char *ip, const char *username, int64_t now, int64_t *retry_after)
{
    pthread_mutex_lock(&brake_mu);
    int64_t a = remaining(brake_find(brake_ip, ip ? ip : "", false, now), now);
    int64_t b = remaining(brake_find(brake_user, username ? username : "", false, now), now);
    if (a > 0 || b > 0)
        brake_refused++;
    pthread_mutex_unlock(&brake_mu);
    *retry_after = a > b ? a : b;
    return *retry_after > 0 ? -EAGAIN : 0;
}

static void fail_one(struct brake_entry *e, int64_t now)
{
    if (!e)
        return; /* untracked: the table window is all locked (counted) */
    if (now - e->window_start > DOM_BRAKE_WINDOW) {
        e->window_start = now;
        e->fails = 0;
    }
    e->last = now;
    if (++e->fails < DOM_BRAKE_FAILS)
        return;
    int64_t lock = DOM_BRAKE_LOCK;
    for (unsigned i = 0; i < e->locks && lock < DOM_BRAKE_LOCK_MAX; i++)
        lock *= 2;
    if (lock > DOM_BRAKE_LOCK_MAX)
        lock = DOM_BRAKE_LOCK_MAX;
    e->locks++;
    brake_locks++;
    e->locked_until = now + lock;
    e->fails = 0;
    e->window_start = now;
}

void dom_login_brake_fail(const char *ip, const char *username, int64_t now)
{
    pthread_mutex_lock(&brake_mu);
    fail_one(brake_find(brake_ip, ip ? ip : "", true, now), now);
    if (username && *username)
        fail_one(brake_find(brake_user, username, true, now), now);
    pthread_mutex_unlock(&brake_mu);
}

void dom_login_brake_ok(const char *ip, const char *username)
{
    pthread_mutex_lock(&brake_mu);
    struct brake_entry *e = brake_find(brake_ip, ip ? ip : "", false, 0);
    if (e)
        e->fails = 0;
    e = brake_find(brake_user, username ? username : "", false, 0);
    if (e)
        e->fails = 0;
    pthread_mutex_unlock(&brake_mu);
}

void dom_login_brake_reset(void)
{
    pthread_mutex_lock(&brake_mu);
    memset(brake_ip, 0, sizeof(brake_ip));
    memset(brake_user, 0, sizeof(brake_user));
    brake_dropped = brake_refused = brake_locks = 0;
    pthread_mutex_unlock(&brake_mu);
}

void dom_login_brake_counts(uint64_t *refused, uint64_t *locks, uint64_t *dropped)
{
    pthread_mutex_lock(&brake_mu);
    *refused = brake_refused;
    *locks = brake_locks;
    *dropped = brake_dropped;
    pthread_mutex_unlock(&brake_mu);
}

uint64_t dom_login_brake_dropped(void)
{
    pthread_mutex_lock(&brake_mu);
    uint64_t n = brake_dropped;
    pthread_mutex_unlock(&brake_mu);
    return n;
}

/* ---- sessions --------------------------------------------------------------------- */

int dom_session_login(struct db *db, const char *username, const char *password, const char *ip,
                      const char *user_agent, int64_t now, struct dom_session_new *out,
                      struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    if (dom_login_brake_check(ip, username, now, &out->retry_after) < 0)
        return dom_err_set(e, 429, "RATE_LIMITED",
                           "too many failed logins from this address or for this account; "
                           "retry in %lld s",
                           (long long)out->retry_after);
    struct db_admin a = {0};
    int rc = dom_admin_verify(db, username, password, &a, e);
    if (rc < 0) {
        if (e->status == 401)
            dom_login_brake_fail(ip, username, now);
        return rc;
    }
    dom_login_brake_ok(ip, username);
    random_hex(out->token, 32);
    random_hex(out->csrf, 32);
    char hash[65];
    secret_hash(out->token, hash);
    int64_t max = now + DOM_SESSION_MAX, idle = now + DOM_SESSION_IDLE;
    out->expires_at = idle < max ? idle : max;
    int64_t sid;
    db_session_purge(db, now); /* keeps the table to live sessions */
    rc = db_session_insert(db, hash, a.id, out->csrf, now, out->expires_at, ip, user_agent, &sid);
    if (rc < 0) {
        db_admin_clear(&a);
        sodium_memzero(out, sizeof(*out));
        return dom_err_internal(e, rc, "storing the session");
    }
    out->who.admin_id = a.id;
    snprintf(out->who.username, sizeof(out->who.username), "%s", a.username);
    out->who.viewer = strcmp(a.role, "viewer") == 0;
    out->who.reseller = strcmp(a.role, "reseller") == 0;
    out->who.scopes = role_scopes(&out->who);
    out->who.session_id = sid;
    memcpy(out->who.csrf, out->csrf, sizeof(out->csrf));
    db_admin_clear(&a);
    return 0;
}

static int not_authenticated(struct dom_error *e, const char *what)
{
    return dom_err_set(e, 401, "NOT_AUTHENTICATED", "%s", what);
}

int dom_session_auth(struct db *db, const char *token, int64_t now, struct dom_principal *out,
                     struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    char hash[65];
    secret_hash(token, hash);
    struct db_auth_row r;
    int rc = db_session_get(db, hash, &r);
    if (rc == -ENOENT)
        return not_authenticated(e, "the session is unknown or has ended; log in again");
    if (rc < 0)
        return dom_err_internal(e, rc, "reading the session");
    if (r.expires_at <= now || r.disabled) {
        db_auth_row_clear(&r);
        return not_authenticated(e, "the session is unknown or has ended; log in again");
    }
    principal_from(&r, out);
    out->session_id = r.id;
    out->scopes = role_scopes(out);
    snprintf(out->csrf, sizeof(out->csrf), "%s", r.csrf);
    if (now - r.last_seen_at >= TOUCH_EVERY) {
        int64_t max = r.created_at + DOM_SESSION_MAX, idle = now + DOM_SESSION_IDLE;
        db_session_touch(db, r.id, now, idle < max ? idle : max);
    }
    db_auth_row_clear(&r);
    return 0;
}

int dom_session_logout(struct db *db, const char *token, struct dom_error *e)
{
    char hash[65];
    secret_hash(token, hash);
    int rc = db_session_delete(db, hash);
    return rc < 0 && rc != -ENOENT ? dom_err_internal(e, rc, "ending the session") : 0;
}

int dom_session_end_all(struct db *db, int64_t admin_id, int64_t keep_session_id,
                        struct dom_error *e)
{
    int rc = db_session_delete_admin(db, admin_id, keep_session_id);
    return rc < 0 ? dom_err_internal(e, rc, "ending the sessions") : 0;
}

/* ---- tokens ----------------------------------------------------------------------- */

int dom_token_validate(const struct dom_principal *owner, const struct dom_token_in *in,
                       int64_t now, struct dom_error *e)
{
    size_t nl = in->name ? strlen(in->name) : 0;
    if (nl == 0)
        dom_err_field(e, "name", "required", "name the token (what uses it)");
    else /* bounded text: no control characters (it is printed by token list) */
        dom_check_text("name", in->name, DOM_TOKEN_NAME_MAX, false, e);
    bool scopes_reported = false;
    for (size_t i = 0; i < e->nfields && !scopes_reported; i++)
        scopes_reported = strncmp(e->fields[i].field, "scopes", 6) == 0;
    if (in->scopes == 0 && !scopes_reported)
        dom_err_field(e, "scopes", "required", "name at least one scope");
    else if (owner->viewer && (in->scopes & ~DOM_SCOPE_READ))
        dom_err_field(e, "scopes", "forbidden", "a viewer account can grant only read");
    else if (owner->reseller && (in->scopes & ~DOM_SCOPE_RESELLER))
        dom_err_field(e, "scopes", "forbidden",
                      "a reseller account can grant only read and lines:write");
    if (in->expires_at && in->expires_at <= now)
        dom_err_field(e, "expires_at", "range", "the expiry must be in the future");
    return e->status ? -EINVAL : 0;
}

int dom_token_may_manage(const struct dom_principal *caller, struct dom_error *e)
{
    if (!caller->token_id || (caller->scopes & DOM_SCOPE_ADMIN))
        return 0;
    return dom_err_set(e, 403, "FORBIDDEN",
                       "tokens are created and revoked from a login session or with a token "
                       "holding the admin scope");
}

int dom_token_create(struct db *db, const struct dom_principal *owner,
                     const struct dom_token_in *in, int64_t now, struct dom_token_created *out,
                     struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    if (dom_token_validate(owner, in, now, e) < 0)
        return -EINVAL;
    if (owner->admin_id <= 0)
        return dom_err_set(e, 422, DOM_E_VALIDATION,
                           "tokens belong to an account: log in as one to create them");
    char secret[65], hash[65], scopes[96];
    random_hex(secret, 32);
    snprintf(out->token, sizeof(out->token), "xtd_%s", secret);
    sodium_memzero(secret, sizeof(secret));
    secret_hash(out->token, hash);
    dom_scopes_format(in->scopes, scopes, sizeof(scopes));
    int rc =
        db_token_insert(db, owner->admin_id, in->name, hash, scopes, now, in->expires_at, &out->id);
    if (rc < 0) {
        sodium_memzero(out, sizeof(*out));
        return dom_err_internal(e, rc, "storing the token");
    }
    return 0;
}

int dom_token_auth(struct db *db, const char *bearer, int64_t now, const char *ip,
                   struct dom_principal *out, struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    char hash[65];
    secret_hash(bearer, hash);
    struct db_auth_row r;
    int rc = db_token_auth_get(db, hash, &r);
    if (rc == -ENOENT)
        return not_authenticated(e, "unknown token");
    if (rc < 0)
        return dom_err_internal(e, rc, "reading the token");
    const char *why = r.revoked_at                          ? "the token was revoked"
                      : r.expires_at && r.expires_at <= now ? "the token has expired"
                      : r.disabled                          ? "unknown token"
                                                            : NULL;
    if (why) {
        db_auth_row_clear(&r);
        return not_authenticated(e, why);
    }
    principal_from(&r, out);
    out->token_id = r.id;
    out->scopes = expand(scopes_from_text(r.scopes));
    out->scopes &= role_scopes(out);
    if (now - r.last_seen_at >= TOUCH_EVERY)
        db_token_touch(db, r.id, now, ip);
    db_auth_row_clear(&r);
    return 0;
}

int dom_token_get(struct db *db, int64_t id, struct db_api_token *out, struct dom_error *e)
{
    int rc = db_token_get(db, id, out);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no token %lld", (long long)id);
    return rc < 0 ? dom_err_internal(e, rc, "reading a token") : 0;
}

int dom_token_page(struct db *db, int64_t admin_id, const struct db_page *p,
                   struct db_api_token **out, size_t *n, int64_t *total, struct dom_error *e)
{
    int rc = db_token_page(db, admin_id, p, out, n, total);
    if (rc == -EINVAL)
        return dom_err_field(e, "sort", "unknown",
                             "tokens sort by id, name, created_at, expires_at");
    return rc < 0 ? dom_err_internal(e, rc, "listing tokens") : 0;
}

int dom_token_revoke(struct db *db, int64_t id, int64_t now, struct dom_error *e)
{
    int rc = db_token_revoke(db, id, now);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no token %lld", (long long)id);
    return rc < 0 ? dom_err_internal(e, rc, "revoking a token") : 0;
}

/* ---- audit ------------------------------------------------------------------------ */

int dom_audit_write(struct db *db, const struct dom_audit_row *row, struct dom_error *e)
{
    int rc =
        db_audit_insert(db, row->at, row->admin_id, row->admin_username, row->token_id, row->ip,
                        row->action, row->entity, row->entity_id, row->before, row->after);
    return rc < 0 ? dom_err_internal(e, rc, "writing the audit log") : 0;
}

int dom_audit_page(struct db *db, const struct db_audit_filter *f, const struct db_page *p,
                   struct db_audit **out, size_t *n, int64_t *total, struct dom_error *e)
{
    int rc = db_audit_page(db, f, p, out, n, total);
    if (rc == -EINVAL)
        return dom_err_field(e, "sort", "unknown", "the audit log sorts by id or at");
    return rc < 0 ? dom_err_internal(e, rc, "reading the audit log") : 0;
}
