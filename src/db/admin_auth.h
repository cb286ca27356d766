/*
 * db/admin_auth: queries on the admin API's credentials — login sessions
 * (`admin_sessions`) and API tokens (`api_tokens`).
 *
 * Stores what it is given: secrets arrive already hashed (SHA-256, 64
 * lowercase hex) and every rule — lifetimes, sliding, scopes, who may see
 * what — is domain/admin_auth.c's. A lookup by hash joins the owning account
 * so one query authenticates a request. Rows are fixed-size structs (nothing
 * to free but a list's array). A time that is NULL in the database is 0 here.
 * Errors: -ENOENT (no such row), -EEXIST (hash collision), -EINVAL (a CHECK),
 * -EIO. Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_ADMIN_AUTH_H
#define XTREAMD_DB_ADMIN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/page.h"

struct db;

#define DB_HASH_HEX 65 /* a SHA-256 in hex + NUL */

/* A session joined with its account. */
struct db_admin_session {
    int64_t id, admin_id;
    char csrf[65];
    int64_t created_at, last_seen_at, expires_at;
    char username[65];
    char role[8]; /* "admin" | "viewer" */
    bool disabled;
};

/* Inserts a session (s->id set). ip and user_agent are truncated to their
 * column bounds by the caller. */
int db_session_insert(struct db *db, const char *token_hash, struct db_admin_session *s,
                      const char *ip, const char *user_agent);
/* The session with this hash and its account; -ENOENT. */
int db_session_find(struct db *db, const char *token_hash, struct db_admin_session *out);
/* Moves last_seen_at / expires_at of session id; -ENOENT when gone. */
int db_session_touch(struct db *db, int64_t id, int64_t last_seen_at, int64_t expires_at);
/* Deletes the session with this hash; -ENOENT when none. */
int db_session_delete_hash(struct db *db, const char *token_hash);
/* Deletes every session of an account (password change, disabling). */
int db_session_delete_admin(struct db *db, int64_t admin_id, int64_t *deleted);
/* Deletes the sessions whose expires_at <= now; *deleted (may be NULL) says how many. */
int db_session_purge(struct db *db, int64_t now, int64_t *deleted);

/* An API token joined with its account (never its secret: only the hash is stored). */
struct db_api_token {
    int64_t id, admin_id;
    char admin_username[65];
    char role[8];  /* of the account */
    bool disabled; /* of the account */
    char name[101];
    char scopes[200]; /* comma list of scope names */
    int64_t created_at;
    int64_t expires_at;   /* 0: never */
    int64_t last_used_at; /* 0: never used */
    char last_used_ip[65];
    int64_t revoked_at; /* 0: live */
};

/* Inserts t (admin_id, name, scopes, created_at, expires_at) under token_hash
 * and sets t->id. */
int db_token_insert(struct db *db, const char *token_hash, struct db_api_token *t);
/* By hash / by id; -ENOENT. */
int db_token_find(struct db *db, const char *token_hash, struct db_api_token *out);
int db_token_get(struct db *db, int64_t id, struct db_api_token *out);
/* Records a use (time and client address). */
int db_token_touch(struct db *db, int64_t id, int64_t now, const char *ip);
/* Sets revoked_at = now unless already revoked (the first revocation time
 * stays); -ENOENT when no such token. */
int db_token_revoke(struct db *db, int64_t id, int64_t now);
/* One page of the tokens of admin_id (0: every account's), with the count
 * under the same filter. Sort keys: id, name, created_at, expires_at,
 * last_used_at, revoked_at (default id); q searches the name. -EINVAL on an
 * unknown sort key. Free *out with free(). */
int db_token_list(struct db *db, int64_t admin_id, const struct db_page *page,
                  struct db_api_token **out, size_t *n, int64_t *total);

#endif
