/*
 * domain/admin_auth: who is calling the admin API — login sessions, API
 * tokens, their scopes, the login brake — and the audit log of every change.
 *
 * Secrets: a session's cookie value (64 hex, 256 random bits) and an API
 * token ("xtd_" + 64 hex) are returned once, at creation; only their SHA-256
 * is stored, so a copy of the database authenticates nothing. Neither is
 * ever logged or put in an error.
 *
 * Scopes: "read", "lines:write", "streams:write", "content:write", "admin"
 * (admin implies all). A session of an `admin` account holds every scope, of
 * a `viewer` only read; a token holds its own scopes, capped to read when its
 * account is a viewer; a disabled account authenticates nothing (the account
 * is read on every request, so disabling takes effect at once).
 *
 * Sessions slide: each use moves the idle deadline to now + 12 h (written at
 * most once a minute, not per request), never past 7 days after the login.
 * Login failures are braked per client IP and per account in memory (see
 * dom_login_brake_*): 5 failures within 5 minutes lock the key for 1 minute,
 * doubling with each further lock up to 15 minutes; the lock answers 429
 * RATE_LIMITED with e->retry_after.
 *
 * Errors: domain/error.h — 401 DOM_E_CREDENTIALS (login: one message for
 * unknown user, wrong password and disabled account), 401
 * DOM_E_UNAUTHENTICATED (session/token: detail says why), 429
 * DOM_E_RATE_LIMITED, 404, 422 with fields name, scopes[i], scopes,
 * expires_at, and for the audit filters entity, action, since, until.
 * Threading: the services run on any thread with that thread's struct db;
 * the brake is shared, behind a mutex.
 */
#ifndef XTREAMD_DOMAIN_ADMIN_AUTH_H
#define XTREAMD_DOMAIN_ADMIN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/admin_auth.h"
#include "db/audit.h"
#include "domain/error.h"
#include "domain/page.h"

struct db;

/* ---- scopes ---- */

#define DOM_SCOPE_READ          (1u << 0) /* "read" */
#define DOM_SCOPE_LINES_WRITE   (1u << 1) /* "lines:write" */
#define DOM_SCOPE_STREAMS_WRITE (1u << 2) /* "streams:write" */
#define DOM_SCOPE_CONTENT_WRITE (1u << 3) /* "content:write" */
#define DOM_SCOPE_ADMIN         (1u << 4) /* "admin": accounts, tokens, settings; implies all */
#define DOM_SCOPE_ALL           ((1u << 5) - 1)
#define DOM_SCOPE_COUNT         5

/* The name of scope bit i (0..DOM_SCOPE_COUNT-1), NULL beyond. */
const char *dom_scope_name(unsigned i);
/* The bit of a scope name, 0 when unknown. */
unsigned dom_scope_bit(const char *name);
/* Parses names[0..n) into *out. An unknown name is a 422 "unknown" on
 * "<field>[i]"; n == 0 is a 422 "required" on field. Duplicates are fine. */
int dom_scopes_parse(const char *field, const char *const *names, size_t n, unsigned *out,
                     struct dom_error *e);
/* The comma list of scopes ("read,lines:write"; "" for none) into out. */
void dom_scopes_write(unsigned scopes, char *out, size_t outsz);
/* Parses a stored comma list (unknown names ignored). */
unsigned dom_scopes_from_list(const char *list);
/* What a holder of `scopes` may do: admin expands to every scope. */
unsigned dom_scopes_effective(unsigned scopes);
/* Whether a principal holding `have` passes a route requiring `need` (a
 * DOM_SCOPE_* bit). */
bool dom_scopes_allow(unsigned have, unsigned need);

/* ---- who is calling ---- */

struct dom_principal {
    int64_t admin_id;
    char username[65];
    bool viewer;        /* the account's role is viewer (read-only) */
    int64_t token_id;   /* 0 when authenticated by a session */
    int64_t session_id; /* 0 when authenticated by a token */
    unsigned scopes;    /* effective DOM_SCOPE_* bits */
    char csrf[65];      /* the session's CSRF token ("" for a token) */
};

/* ---- sessions ---- */

#define DOM_SESSION_IDLE        (12 * 3600)     /* idle timeout, sliding */
#define DOM_SESSION_ABSOLUTE    (7 * 24 * 3600) /* lifetime from login */
#define DOM_SESSION_TOUCH_EVERY 60              /* seconds between last_seen writes */
#define DOM_SESSION_TOKEN_LEN   64              /* hex characters of the cookie value */

struct dom_session_new {
    char token[DOM_SESSION_TOKEN_LEN + 1]; /* the cookie value: shown once */
    char csrf[65];
    int64_t expires_at; /* the idle deadline (slides); absolute_at bounds it */
    int64_t absolute_at;
    struct dom_principal who;
};

/* Checks the login brake, then username/password (dom_admin_verify: argon2id,
 * a dummy verification for unknown users), and opens a session. 401
 * DOM_E_CREDENTIALS, 429 DOM_E_RATE_LIMITED (e->retry_after). ip and
 * user_agent are recorded (truncated to 64 / 512 bytes). */
int dom_session_login(struct db *db, const char *username, const char *password, const char *ip,
                      const char *user_agent, int64_t now, struct dom_session_new *out,
                      struct dom_error *e);
/* The principal of a cookie value; 401 DOM_E_UNAUTHENTICATED when unknown,
 * expired or its account is disabled. Slides the idle deadline. */
int dom_session_auth(struct db *db, const char *token, int64_t now, struct dom_principal *out,
                     struct dom_error *e);
/* Ends the session of a cookie value; 401 when there is none. */
int dom_session_logout(struct db *db, const char *token, struct dom_error *e);
/* Ends every session of an account (after a password change, say). */
int dom_session_end_all(struct db *db, int64_t admin_id, struct dom_error *e);
/* Deletes expired sessions; *deleted (may be NULL) how many. */
int dom_session_purge(struct db *db, int64_t now, int64_t *deleted, struct dom_error *e);

/* ---- login brake (in memory, shared by every thread) ---- */

#define DOM_BRAKE_FAILS    5    /* failures ... */
#define DOM_BRAKE_WINDOW   300  /* ... within this many seconds lock */
#define DOM_BRAKE_LOCK_MIN 60   /* the first lock; doubles per further lock */
#define DOM_BRAKE_LOCK_MAX 900  /* the longest lock */
#define DOM_BRAKE_FORGET   3600 /* a quiet key's lock level returns to 0 after this */
#define DOM_BRAKE_SLOTS    1024 /* keys per table (IPs; usernames) */

/* 0 when a login may be tried now; -EAGAIN with *retry_after (seconds, >= 1)
 * while the IP or the account is locked. */
int dom_login_brake_check(const char *ip, const char *username, int64_t now, int64_t *retry_after);
/* Counts a failed login against the IP and the account. */
void dom_login_brake_fail(const char *ip, const char *username, int64_t now);
/* A successful login: clears the account's failures and lock level (the IP's
 * stay, so that one valid account does not unlock guessing at others). */
void dom_login_brake_ok(const char *ip, const char *username);

struct dom_login_brake_stats {
    uint64_t refused; /* logins answered 429 */
    uint64_t locks;   /* times a key was locked */
    uint64_t evicted; /* keys dropped because a table was full */
    size_t ip_keys, account_keys;
};
void dom_login_brake_stats(struct dom_login_brake_stats *out);
/* Forgets everything (tests). */
void dom_login_brake_reset(void);

/* ---- API tokens ---- */

#define DOM_TOKEN_PREFIX      "xtd_"
#define DOM_TOKEN_LEN         68 /* "xtd_" + 64 hex */
#define DOM_TOKEN_NAME_MAX    100
#define DOM_TOKEN_TOUCH_EVERY 60

struct dom_token_in {
    const char *name; /* required, 1..100 bytes of text */
    unsigned scopes;  /* DOM_SCOPE_* bits; required non-empty */
    bool has_scopes;
    bool has_expires;
    int64_t expires_at; /* with has_expires: > now; 0 (or !has_expires): never */
};

struct dom_token_created {
    int64_t id;
    char token[80]; /* shown once */
    struct db_api_token row;
};

/* Mints a token for account admin_id (404 when absent). 422: name, scopes
 * (required; a viewer account may hold only read: "forbidden"), expires_at
 * (not in the future: "range"). */
int dom_token_create(struct db *db, int64_t admin_id, const struct dom_token_in *in, int64_t now,
                     struct dom_token_created *out, struct dom_error *e);
/* The principal of an Authorization: Bearer value; 401 DOM_E_UNAUTHENTICATED
 * ("unknown token", "token revoked", "token expired", "account disabled").
 * Records the use (time, ip) at most once a minute. */
int dom_token_auth(struct db *db, const char *bearer, int64_t now, struct dom_principal *out,
                   struct dom_error *e);
/* The same, recording the client address with the use. */
int dom_token_auth_ip(struct db *db, const char *bearer, const char *ip, int64_t now,
                      struct dom_principal *out, struct dom_error *e);
/* A page of tokens of admin_id (0: all accounts); never the secret. Free *out
 * with free(). 422 "sort" on an unknown sort key. */
int dom_token_list(struct db *db, int64_t admin_id, const struct db_page *page,
                   struct db_api_token **out, size_t *n, int64_t *total, struct dom_error *e);
int dom_token_get(struct db *db, int64_t id, struct db_api_token *out, struct dom_error *e);
/* Revokes (idempotent; the first revocation time stays). 404. */
int dom_token_revoke(struct db *db, int64_t id, int64_t now, struct dom_error *e);
/* Whether the token's expiry has passed. */
bool dom_token_expired(const struct db_api_token *t, int64_t now);

/* ---- audit log ---- */

struct dom_audit_row {
    int64_t admin_id; /* 0: none (CLI) */
    const char *admin_username;
    int64_t token_id; /* 0: none */
    const char *ip;
    const char *action; /* "create", "update", "delete", "revoke" ... */
    const char *entity; /* "line", "token", "admin" ... */
    int64_t entity_id;  /* 0: none */
    const char *before; /* JSON or NULL */
    const char *after;  /* JSON or NULL */
    int64_t at;         /* 0: now */
};

struct dom_audit_filter {
    const char *entity;   /* NULL: any */
    int64_t entity_id;    /* 0: any */
    int64_t admin_id;     /* 0: any */
    const char *action;   /* NULL: any */
    int64_t since, until; /* since <= at < until; 0: open */
};

/* Appends a row (inside the caller's transaction when one is open). 422 on
 * an empty/overlong action or entity. */
int dom_audit_write(struct db *db, const struct dom_audit_row *row, struct dom_error *e);
/* A page, newest first unless page->sort says otherwise (at, id, action,
 * entity, admin_username). Free with db_audit_list_free(). */
int dom_audit_list(struct db *db, const struct dom_audit_filter *f, const struct db_page *page,
                   struct db_audit **out, size_t *n, int64_t *total, struct dom_error *e);
void dom_audit_list_free(struct db_audit *v, size_t n);

#endif
