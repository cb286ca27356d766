/*
 * domain/admin_auth: see admin_auth.h.
 */
#include "domain/admin_auth.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "db/admins.h"
#include "db/db.h"
#include "domain/admins.h"
#include "domain/text.h"

/* ---- scopes ---- */

static const char *const scope_names[DOM_SCOPE_COUNT] = {
    "read", "lines:write", "streams:write", "content:write", "admin",
};

const char *dom_scope_name(unsigned i)
{
    return i < DOM_SCOPE_COUNT ? scope_names[i] : NULL;
}

unsigned dom_scope_bit(const char *name)
{
    for (unsigned i = 0; name && i < DOM_SCOPE_COUNT; i++)
        if (strcmp(name, scope_names[i]) == 0)
            return 1u << i;
    return 0;
}

int dom_scopes_parse(const char *field, const char *const *names, size_t n, unsigned *out,
                     struct dom_error *e)
{
    unsigned v = 0;
    *out = 0;
    if (n == 0)
        return dom_err_field(e, field, "required", "at least one scope is required");
    for (size_t i = 0; i < n; i++) {
        unsigned b = dom_scope_bit(names[i]);
        if (!b) {
            char f[48];
            snprintf(f, sizeof(f), "%.24s[%zu]", field, i);
            dom_err_field(e, f, "unknown",
                          "must be read, lines:write, streams:write, content:write or admin");
        }
        v |= b;
    }
    if (e->status)
        return -EINVAL;
    *out = v;
    return 0;
}

void dom_scopes_write(unsigned scopes, char *out, size_t outsz)
{
    size_t len = 0;
    if (outsz)
        out[0] = '\0';
    for (unsigned i = 0; i < DOM_SCOPE_COUNT; i++) {
        if (!(scopes & (1u << i)))
            continue;
        int w = snprintf(out + len, outsz - len, "%s%s", len ? "," : "", scope_names[i]);
        if (w < 0 || (size_t)w >= outsz - len)
            return; /* truncated: callers size out for every scope (64 bytes) */
        len += (size_t)w;
    }
}

unsigned dom_scopes_from_list(const char *list)
{
    unsigned v = 0;
    const char *p = list;
    while (p && *p) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        for (unsigned i = 0; i < DOM_SCOPE_COUNT; i++)
            if (strlen(scope_names[i]) == len && memcmp(scope_names[i], p, len) == 0)
                v |= 1u << i;
        p = c ? c + 1 : NULL;
    }
    return v;
}

unsigned dom_scopes_effective(unsigned scopes)
{
    return scopes & DOM_SCOPE_ADMIN ? DOM_SCOPE_ALL : scopes & DOM_SCOPE_ALL;
}

bool dom_scopes_allow(unsigned have, unsigned need)
{
    return (dom_scopes_effective(have) & need) == need;
}

/* ---- secrets ---- */

static void hex_of(const unsigned char *b, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* 32 random bytes as 64 hex characters. */
static void random_hex64(char out[65])
{
    unsigned char b[32];
    randombytes_buf(b, sizeof(b));
    hex_of(b, sizeof(b), out);
    sodium_memzero(b, sizeof(b));
}

/* The stored form of a secret: SHA-256 in hex. */
static void secret_hash(const char *secret, char out[DB_HASH_HEX])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)secret, strlen(secret));
    hex_of(h, sizeof(h), out);
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[n] == '\0';
}

static int unauthenticated(struct dom_error *e, const char *why)
{
    return dom_err_set(e, 401, DOM_E_UNAUTHENTICATED, "%s", why);
}

static int sodium_ready(struct dom_error *e)
{
    if (sodium_init() < 0)
        return dom_err_set(e, 500, DOM_E_INTERNAL, "libsodium failed to initialise");
    return 0;
}

/* ---- login brake ---- */

struct brake_key {
    char key[65]; /* "" = free slot */
    int fails;    /* in the window starting at window_start */
    int level;    /* locks so far (doubling) */
    int64_t window_start, locked_until, last;
};

static struct {
    pthread_mutex_t mu;
    struct brake_key ip[DOM_BRAKE_SLOTS], account[DOM_BRAKE_SLOTS];
    uint64_t refused, locks, evicted;
} brake = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The slot of key in t; with create, a free one or (table full) the least
 * recently active unlocked one, else the least recently active (counted). */
static struct brake_key *brake_find(struct brake_key *t, const char *key, bool create, int64_t now)
{
    struct brake_key *free_slot = NULL, *old_unlocked = NULL, *oldest = NULL;
    for (size_t i = 0; i < DOM_BRAKE_SLOTS; i++) {
        struct brake_key *k = &t[i];
        if (!k->key[0]) {
            if (!free_slot)
                free_slot = k;
            continue;
        }
        if (strncmp(k->key, key, sizeof(k->key) - 1) == 0)
            return k;
        /* A key quiet for DOM_BRAKE_FORGET is as good as free. */
        if (k->locked_until <= now && now - k->last >= DOM_BRAKE_FORGET && !free_slot)
            free_slot = k;
        if (k->locked_until <= now && (!old_unlocked || k->last < old_unlocked->last))
            old_unlocked = k;
        if (!oldest || k->last < oldest->last)
            oldest = k;
    }
    if (!create)
        return NULL;
    struct brake_key *k = free_slot;
    if (!k) {
        k = old_unlocked ? old_unlocked : oldest;
        brake.evicted++;
    }
    memset(k, 0, sizeof(*k));
    snprintf(k->key, sizeof(k->key), "%s", key);
    k->last = now;
    return k;
}

static int64_t brake_wait(struct brake_key *t, const char *key, int64_t now)
{
    struct brake_key *k = key ? brake_find(t, key, false, now) : NULL;
    return k && k->locked_until > now ? k->locked_until - now : 0;
}

int dom_login_brake_check(const char *ip, const char *username, int64_t now, int64_t *retry_after)
{
    pthread_mutex_lock(&brake.mu);
    int64_t a = brake_wait(brake.ip, ip, now), b = brake_wait(brake.account, username, now);
    int64_t wait = a > b ? a : b;
    if (wait)
        brake.refused++;
    pthread_mutex_unlock(&brake.mu);
    if (retry_after)
        *retry_after = wait;
    return wait ? -EAGAIN : 0;
}

static void brake_fail_one(struct brake_key *t, const char *key, int64_t now)
{
    if (!key)
        return;
    struct brake_key *k = brake_find(t, key, true, now);
    if (now - k->last >= DOM_BRAKE_FORGET && k->locked_until <= now)
        k->level = 0;
    if (now - k->window_start >= DOM_BRAKE_WINDOW) {
        k->window_start = now;
        k->fails = 0;
    }
    k->last = now;
    if (++k->fails < DOM_BRAKE_FAILS)
        return;
    int64_t lock = DOM_BRAKE_LOCK_MIN;
    for (int i = 0; i < k->level && lock < DOM_BRAKE_LOCK_MAX; i++)
        lock *= 2;
    if (lock > DOM_BRAKE_LOCK_MAX)
        lock = DOM_BRAKE_LOCK_MAX;
    k->locked_until = now + lock;
    k->level++;
    k->fails = 0;
    k->window_start = now;
    brake.locks++;
}

void dom_login_brake_fail(const char *ip, const char *username, int64_t now)
{
    pthread_mutex_lock(&brake.mu);
    brake_fail_one(brake.ip, ip, now);
    brake_fail_one(brake.account, username, now);
    pthread_mutex_unlock(&brake.mu);
}

void dom_login_brake_ok(const char *ip, const char *username)
{
    (void)ip;
    pthread_mutex_lock(&brake.mu);
    struct brake_key *k = username ? brake_find(brake.account, username, false, 0) : NULL;
    if (k)
        memset(k, 0, sizeof(*k));
    pthread_mutex_unlock(&brake.mu);
}

void dom_login_brake_stats(struct dom_login_brake_stats *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&brake.mu);
    out->refused = brake.refused;
    out->locks = brake.locks;
    out->evicted = brake.evicted;
    for (size_t i = 0; i < DOM_BRAKE_SLOTS; i++) {
        out->ip_keys += brake.ip[i].key[0] != '\0';
        out->account_keys += brake.account[i].key[0] != '\0';
    }
    pthread_mutex_unlock(&brake.mu);
}

void dom_login_brake_reset(void)
{
    pthread_mutex_lock(&brake.mu);
    memset(brake.ip, 0, sizeof(brake.ip));
    memset(brake.account, 0, sizeof(brake.account));
    brake.refused = brake.locks = brake.evicted = 0;
    pthread_mutex_unlock(&brake.mu);
}

/* ---- sessions ---- */

static void principal_of_account(struct dom_principal *p, int64_t admin_id, const char *username,
                                 const char *role)
{
    memset(p, 0, sizeof(*p));
    p->admin_id = admin_id;
    snprintf(p->username, sizeof(p->username), "%s", username);
    p->viewer = strcmp(role, "admin") != 0; /* anything but admin is read-only */
    p->scopes = p->viewer ? DOM_SCOPE_READ : DOM_SCOPE_ALL;
}

/* A copy of s cut to at most max bytes (without splitting nothing but bytes:
 * the columns only bound length). */
static void clip(char *dst, size_t dstsz, const char *s)
{
    snprintf(dst, dstsz, "%s", s ? s : "");
}

int dom_session_login(struct db *db, const char *username, const char *password, const char *ip,
                      const char *user_agent, int64_t now, struct dom_session_new *out,
                      struct dom_error *e)
{
    struct db_admin a = {0};
    char hash[DB_HASH_HEX], ipc[65], uac[513];
    int64_t wait;
    memset(out, 0, sizeof(*out));
    if (sodium_ready(e))
        return -EIO;
    if (dom_login_brake_check(ip, username, now, &wait)) {
        e->retry_after = wait;
        return dom_err_set(e, 429, DOM_E_RATE_LIMITED,
                           "too many failed logins: retry in %lld seconds", (long long)wait);
    }
    int rc = dom_admin_verify(db, username, password, &a, e);
    if (rc) {
        if (e->status == 401)
            dom_login_brake_fail(ip, username, now);
        return rc;
    }
    dom_login_brake_ok(ip, username);
    struct db_admin_session s = {
        .admin_id = a.id,
        .created_at = now,
        .last_seen_at = now,
        .expires_at = now + DOM_SESSION_IDLE,
    };
    random_hex64(out->token);
    random_hex64(s.csrf);
    secret_hash(out->token, hash);
    clip(ipc, sizeof(ipc), ip);
    clip(uac, sizeof(uac), user_agent);
    if ((rc = db_session_insert(db, hash, &s, ipc, uac)) != 0) {
        db_admin_clear(&a);
        sodium_memzero(out, sizeof(*out));
        return dom_err_internal(e, rc, "opening the session");
    }
    memcpy(out->csrf, s.csrf, sizeof(out->csrf));
    out->expires_at = s.expires_at;
    out->absolute_at = now + DOM_SESSION_ABSOLUTE;
    principal_of_account(&out->who, a.id, a.username, a.role);
    out->who.session_id = s.id;
    memcpy(out->who.csrf, s.csrf, sizeof(out->who.csrf));
    db_admin_clear(&a);
    return 0;
}

int dom_session_auth(struct db *db, const char *token, int64_t now, struct dom_principal *out,
                     struct dom_error *e)
{
    struct db_admin_session s;
    char hash[DB_HASH_HEX];
    memset(out, 0, sizeof(*out));
    if (!token || strlen(token) != DOM_SESSION_TOKEN_LEN || !is_hex(token, DOM_SESSION_TOKEN_LEN))
        return unauthenticated(e, "no valid session");
    secret_hash(token, hash);
    int rc = db_session_find(db, hash, &s);
    if (rc == -ENOENT)
        return unauthenticated(e, "no valid session");
    if (rc)
        return dom_err_internal(e, rc, "reading the session");
    int64_t absolute = s.created_at + DOM_SESSION_ABSOLUTE;
    if (now >= s.expires_at || now >= absolute)
        return unauthenticated(e, "session expired");
    if (s.disabled)
        return unauthenticated(e, "account disabled");
    if (now - s.last_seen_at >= DOM_SESSION_TOUCH_EVERY) {
        int64_t exp = now + DOM_SESSION_IDLE;
        if (exp > absolute)
            exp = absolute;
        /* A failed touch costs only the slide, not the request. */
        (void)db_session_touch(db, s.id, now, exp);
    }
    principal_of_account(out, s.admin_id, s.username, s.role);
    out->session_id = s.id;
    memcpy(out->csrf, s.csrf, sizeof(out->csrf));
    return 0;
}

int dom_session_logout(struct db *db, const char *token, struct dom_error *e)
{
    char hash[DB_HASH_HEX];
    if (!token || strlen(token) != DOM_SESSION_TOKEN_LEN || !is_hex(token, DOM_SESSION_TOKEN_LEN))
        return unauthenticated(e, "no valid session");
    secret_hash(token, hash);
    int rc = db_session_delete_hash(db, hash);
    if (rc == -ENOENT)
        return unauthenticated(e, "no valid session");
    return rc ? dom_err_internal(e, rc, "ending the session") : 0;
}

int dom_session_end_all(struct db *db, int64_t admin_id, struct dom_error *e)
{
    int rc = db_session_delete_admin(db, admin_id, NULL);
    return rc ? dom_err_internal(e, rc, "ending the sessions") : 0;
}

int dom_session_purge(struct db *db, int64_t now, int64_t *deleted, struct dom_error *e)
{
    int rc = db_session_purge(db, now, deleted);
    return rc ? dom_err_internal(e, rc, "purging sessions") : 0;
}

/* ---- API tokens ---- */

bool dom_token_expired(const struct db_api_token *t, int64_t now)
{
    return t->expires_at && now >= t->expires_at;
}

int dom_token_create(struct db *db, int64_t admin_id, const struct dom_token_in *in, int64_t now,
                     struct dom_token_created *out, struct dom_error *e)
{
    struct db_admin a = {0};
    char hash[DB_HASH_HEX], hex[65];
    memset(out, 0, sizeof(*out));
    if (sodium_ready(e))
        return -EIO;
    if (!in->name)
        dom_err_field(e, "name", "required", "is required");
    else
        dom_check_text("name", in->name, DOM_TOKEN_NAME_MAX, false, e);
    if (!in->has_scopes || !(in->scopes & DOM_SCOPE_ALL))
        dom_err_field(e, "scopes", "required", "at least one scope is required");
    if (in->has_expires && in->expires_at && in->expires_at <= now)
        dom_err_field(e, "expires_at", "range", "must be in the future");
    if (e->status)
        return -EINVAL;
    int rc = db_admin_get_id(db, admin_id, &a);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no admin with id %lld", (long long)admin_id);
    if (rc)
        return dom_err_internal(e, rc, "reading the admin");
    bool viewer = strcmp(a.role, "admin") != 0;
    db_admin_clear(&a);
    if (viewer && (in->scopes & ~DOM_SCOPE_READ))
        return dom_err_field(e, "scopes", "forbidden",
                             "a viewer account may only hold read tokens");
    struct db_api_token *t = &out->row;
    t->admin_id = admin_id;
    snprintf(t->name, sizeof(t->name), "%s", in->name);
    dom_scopes_write(in->scopes & DOM_SCOPE_ALL, t->scopes, sizeof(t->scopes));
    t->created_at = now;
    t->expires_at = in->has_expires ? in->expires_at : 0;
    random_hex64(hex);
    snprintf(out->token, sizeof(out->token), DOM_TOKEN_PREFIX "%s", hex);
    sodium_memzero(hex, sizeof(hex));
    secret_hash(out->token, hash);
    rc = db_token_insert(db, hash, t);
    if (rc) {
        sodium_memzero(out, sizeof(*out));
        return dom_err_internal(e, rc, "creating the token");
    }
    out->id = t->id;
    /* The row as a read would show it (with the account's name). */
    if (db_token_get(db, t->id, t) != 0)
        t->id = out->id;
    return 0;
}

int dom_token_auth_ip(struct db *db, const char *bearer, const char *ip, int64_t now,
                      struct dom_principal *out, struct dom_error *e)
{
    struct db_api_token t;
    char hash[DB_HASH_HEX];
    size_t plen = strlen(DOM_TOKEN_PREFIX);
    memset(out, 0, sizeof(*out));
    if (sodium_ready(e))
        return -EIO;
    if (!bearer || strlen(bearer) != DOM_TOKEN_LEN ||
        strncmp(bearer, DOM_TOKEN_PREFIX, plen) != 0 || !is_hex(bearer + plen, 64))
        return unauthenticated(e, "unknown token");
    secret_hash(bearer, hash);
    int rc = db_token_find(db, hash, &t);
    if (rc == -ENOENT)
        return unauthenticated(e, "unknown token");
    if (rc)
        return dom_err_internal(e, rc, "reading the token");
    if (t.revoked_at)
        return unauthenticated(e, "token revoked");
    if (dom_token_expired(&t, now))
        return unauthenticated(e, "token expired");
    if (t.disabled)
        return unauthenticated(e, "account disabled");
    if (now - t.last_used_at >= DOM_TOKEN_TOUCH_EVERY) {
        char ipc[65];
        clip(ipc, sizeof(ipc), ip);
        (void)db_token_touch(db, t.id, now, ipc); /* bookkeeping only */
    }
    principal_of_account(out, t.admin_id, t.admin_username, t.role);
    unsigned s = dom_scopes_effective(dom_scopes_from_list(t.scopes));
    out->scopes = out->viewer ? s & DOM_SCOPE_READ : s;
    out->token_id = t.id;
    return 0;
}

int dom_token_auth(struct db *db, const char *bearer, int64_t now, struct dom_principal *out,
                   struct dom_error *e)
{
    return dom_token_auth_ip(db, bearer, NULL, now, out, e);
}

int dom_token_list(struct db *db, int64_t admin_id, const struct db_page *page,
                   struct db_api_token **out, size_t *n, int64_t *total, struct dom_error *e)
{
    int rc = db_token_list(db, admin_id, page, out, n, total);
    if (rc == -EINVAL)
        return dom_err_field(e, "sort", "unknown", "unknown sort key");
    return rc ? dom_err_internal(e, rc, "listing tokens") : 0;
}

int dom_token_get(struct db *db, int64_t id, struct db_api_token *out, struct dom_error *e)
{
    int rc = db_token_get(db, id, out);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no token with id %lld", (long long)id);
    return rc ? dom_err_internal(e, rc, "reading the token") : 0;
}

int dom_token_revoke(struct db *db, int64_t id, int64_t now, struct dom_error *e)
{
    int rc = db_token_revoke(db, id, now);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no token with id %lld", (long long)id);
    return rc ? dom_err_internal(e, rc, "revoking the token") : 0;
}

/* ---- audit log ---- */

int dom_audit_write(struct db *db, const struct dom_audit_row *r, struct dom_error *e)
{
    if (!r->action || !r->action[0] || strlen(r->action) > 64)
        dom_err_field(e, "action", "required", "must be 1 to 64 bytes");
    if (!r->entity || !r->entity[0] || strlen(r->entity) > 64)
        dom_err_field(e, "entity", "required", "must be 1 to 64 bytes");
    if (e->status)
        return -EINVAL;
    struct db_audit row = {
        .at = r->at ? r->at : db_now(),
        .admin_id = r->admin_id,
        .admin_username = (char *)r->admin_username,
        .token_id = r->token_id,
        .ip = (char *)r->ip,
        .action = (char *)r->action,
        .entity = (char *)r->entity,
        .entity_id = r->entity_id,
        .before = (char *)r->before,
        .after = (char *)r->after,
    };
    int rc = db_audit_insert(db, &row, NULL);
    return rc ? dom_err_internal(e, rc, "writing the audit log") : 0;
}

int dom_audit_list(struct db *db, const struct dom_audit_filter *f, const struct db_page *page,
                   struct db_audit **out, size_t *n, int64_t *total, struct dom_error *e)
{
    struct db_audit_filter df = {0};
    if (f) {
        df.entity = f->entity;
        df.entity_id = f->entity_id;
        df.admin_id = f->admin_id;
        df.action = f->action;
        df.since = f->since;
        df.until = f->until;
    }
    int rc = db_audit_list(db, &df, page, out, n, total);
    if (rc == -EINVAL)
        return dom_err_field(e, "sort", "unknown", "unknown sort key");
    return rc ? dom_err_internal(e, rc, "listing the audit log") : 0;
}

void dom_audit_list_free(struct db_audit *v, size_t n)
{
    db_audit_list_free(v, n);
}
