/*
 * domain/admin_auth: who may use the admin API — sessions (login, the
 * cookie, CSRF), API tokens with scopes, the login brake, and the audit log.
 *
 * Rules owned here:
 * - A session's cookie value and a token are 256-bit random secrets shown
 *   once; only their SHA-256 (hex) is stored. A session ends after
 *   DOM_SESSION_IDLE without use (sliding, written at most once a minute) and
 *   DOM_SESSION_MAX after login at the latest.
 * - Scopes: read, lines:write, streams:write, content:write, admin (implies
 *   all). A session of an `admin` account holds all, of a `viewer` only read;
 *   a token holds its scopes, capped to read when its account is a viewer; a
 *   disabled account authenticates nothing (401 with the same answer as an
 *   unknown secret).
 * - The login brake: DOM_BRAKE_FAILS failures within DOM_BRAKE_WINDOW from one
 *   address, or against one account, lock that address or account for
 *   DOM_BRAKE_LOCK seconds, doubling with each lock up to DOM_BRAKE_LOCK_MAX
 *   (429 RATE_LIMITED, retry_after). In memory, bounded (DOM_BRAKE_SLOTS per
 *   table; when full the oldest entry is dropped and counted).
 * - Audit rows keep the actor's username even after the account is gone.
 * Errors: domain/error.h. Threading: any thread (the brake has its own mutex);
 * a struct db is one thread's.
 */
#ifndef XTREAMD_DOMAIN_ADMIN_AUTH_H
#define XTREAMD_DOMAIN_ADMIN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/admin_auth.h"
#include "domain/error.h"
#include "domain/page.h"

#define DOM_SCOPE_READ          (1u << 0)
#define DOM_SCOPE_LINES_WRITE   (1u << 1)
#define DOM_SCOPE_STREAMS_WRITE (1u << 2)
#define DOM_SCOPE_CONTENT_WRITE (1u << 3)
#define DOM_SCOPE_ADMIN         (1u << 4)
#define DOM_SCOPE_ALL           0x1fu
/* What a reseller account holds at most (its calls are scoped to its tree). */
#define DOM_SCOPE_RESELLER (DOM_SCOPE_READ | DOM_SCOPE_LINES_WRITE)
#define DOM_SCOPE_COUNT    5

#define DOM_SESSION_IDLE   (12 * 3600)
#define DOM_SESSION_MAX    (7 * 86400)
#define DOM_BRAKE_FAILS    5
#define DOM_BRAKE_WINDOW   300
#define DOM_BRAKE_LOCK     30
#define DOM_BRAKE_LOCK_MAX 900
#define DOM_BRAKE_SLOTS    4096
#define DOM_TOKEN_NAME_MAX 100

struct dom_principal {
    int64_t admin_id;
    char username[65];
    bool viewer;
    bool reseller;      /* role reseller: scoped to its subtree (domain/resellers.h) */
    int64_t token_id;   /* 0: a session */
    int64_t session_id; /* 0: a token */
    unsigned scopes;
    char csrf[65]; /* sessions */
};

struct dom_session_new {
    char token[65]; /* the cookie value (shown once) */
    char csrf[65];
    int64_t expires_at;
    struct dom_principal who;
    int64_t retry_after; /* on 429: seconds */
};

/* The name of scope bit i (0..DOM_SCOPE_COUNT-1). */
const char *dom_scope_name(unsigned i);
/* Parses scope names (field "scopes[i]" on an unknown one); empty: 422. */
int dom_scopes_parse(const char *const *names, size_t n, unsigned *out, struct dom_error *e);
/* Comma list of the scopes in bits. */
void dom_scopes_format(unsigned bits, char *out, size_t outsz);

int dom_session_login(struct db *db, const char *username, const char *password, const char *ip,
                      const char *user_agent, int64_t now, struct dom_session_new *out,
                      struct dom_error *e);
int dom_session_auth(struct db *db, const char *token, int64_t now, struct dom_principal *out,
                     struct dom_error *e);
int dom_session_logout(struct db *db, const char *token, struct dom_error *e);
/* Ends every session of an account but keep_session_id (0: all of them). A
 * password change calls it: a stolen session must not outlive the password
 * it was opened with. */
int dom_session_end_all(struct db *db, int64_t admin_id, int64_t keep_session_id,
                        struct dom_error *e);

struct dom_token_in {
    const char *name;
    unsigned scopes;    /* DOM_SCOPE_* */
    int64_t expires_at; /* 0: never */
};
struct dom_token_created {
    int64_t id;
    char token[80]; /* "xtd_" + 64 hex, shown once */
};
/* Checks name, scopes (required unless e already names a scopes field) and
 * expiry, reporting each bad one. The owner's role caps what it may grant: a
 * viewer only read (422 scopes). dom_token_create runs it first. */
int dom_token_validate(const struct dom_principal *owner, const struct dom_token_in *in,
                       int64_t now, struct dom_error *e);
/* Whether caller may create or revoke tokens: a session (someone who logged
 * in with a password) or a token holding the admin scope. A lesser token must
 * neither mint its own successor (one that outlives its expiry or its
 * revocation) nor revoke its account's other tokens: 403 FORBIDDEN. */
int dom_token_may_manage(const struct dom_principal *caller, struct dom_error *e);
int dom_token_create(struct db *db, const struct dom_principal *owner,
                     const struct dom_token_in *in, int64_t now, struct dom_token_created *out,
                     struct dom_error *e);
int dom_token_auth(struct db *db, const char *bearer, int64_t now, const char *ip,
                   struct dom_principal *out, struct dom_error *e);
int dom_token_get(struct db *db, int64_t id, struct db_api_token *out, struct dom_error *e);
int dom_token_page(struct db *db, int64_t admin_id, const struct db_page *p,
                   struct db_api_token **out, size_t *n, int64_t *total, struct dom_error *e);
int dom_token_revoke(struct db *db, int64_t id, int64_t now, struct dom_error *e);

/* The brake, exported for tests and for other login paths. */
int dom_login_brake_check(const char *ip, const char *username, int64_t now, int64_t *retry_after);
void dom_login_brake_fail(const char *ip, const char *username, int64_t now);
void dom_login_brake_ok(const char *ip, const char *username);
void dom_login_brake_reset(void);
/* Entries dropped because a table was full (a counted bound). */
uint64_t dom_login_brake_dropped(void);
/* Since start (or the last reset): logins refused while locked, locks set,
 * entries dropped (for /metrics). */
void dom_login_brake_counts(uint64_t *refused, uint64_t *locks, uint64_t *dropped);

struct dom_audit_row {
    int64_t admin_id; /* 0: the local CLI */
    const char *admin_username;
    int64_t token_id;
    const char *ip;
    const char *action;
    const char *entity;
    int64_t entity_id;
    const char *before, *after; /* JSON or NULL */
    int64_t at;
};
int dom_audit_write(struct db *db, const struct dom_audit_row *row, struct dom_error *e);
int dom_audit_page(struct db *db, const struct db_audit_filter *f, const struct db_page *p,
                   struct db_audit **out, size_t *n, int64_t *total, struct dom_error *e);

#endif
