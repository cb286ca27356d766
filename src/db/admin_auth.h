/*
 * db/admin_auth: the SQL of admin sessions, API tokens and the audit log.
 *
 * Stores hashes of secrets only (the domain hashes; this file never sees a
 * cookie or a token). Sessions and tokens are read joined with their account
 * (username, role, disabled), so one query authenticates a call. Structs own
 * their strings; free them with the *_clear / *_free functions.
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_ADMIN_AUTH_H
#define XTREAMD_DB_ADMIN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/page.h"

struct db;

/* A session or a token together with its account. */
struct db_auth_row {
    int64_t id; /* the session's or the token's */
    int64_t admin_id;
    char *username;
    char *role;
    bool disabled;
    char *csrf;           /* sessions */
    char *scopes;         /* tokens: comma list */
    int64_t expires_at;   /* 0: never (tokens) */
    int64_t last_seen_at; /* sessions: last use; tokens: last_used_at (0: never) */
    int64_t created_at;
    int64_t revoked_at; /* tokens: 0 when live */
};
void db_auth_row_clear(struct db_auth_row *r);

int db_session_insert(struct db *db, const char *token_hash, int64_t admin_id, const char *csrf,
                      int64_t now, int64_t expires_at, const char *ip, const char *ua, int64_t *id);
/* -ENOENT when no session has that hash. */
int db_session_get(struct db *db, const char *token_hash, struct db_auth_row *out);
int db_session_touch(struct db *db, int64_t id, int64_t now, int64_t expires_at);
int db_session_delete(struct db *db, const char *token_hash);
/* Deletes every session of admin_id except the one with id except_id (0: none kept). */
int db_session_delete_admin(struct db *db, int64_t admin_id, int64_t except_id);
/* Deletes sessions that expired before now. */
int db_session_purge(struct db *db, int64_t now);

struct db_api_token {
    int64_t id, admin_id;
    char *owner; /* the account's username */
    char *name;
    char *scopes;
    int64_t created_at, expires_at, last_used_at, revoked_at; /* 0: none */
    char *last_used_ip;
};
void db_api_token_clear(struct db_api_token *t);
void db_api_token_list_free(struct db_api_token *v, size_t n);

int db_token_insert(struct db *db, int64_t admin_id, const char *name, const char *token_hash,
                    const char *scopes, int64_t now, int64_t expires_at, int64_t *id);
int db_token_auth_get(struct db *db, const char *token_hash, struct db_auth_row *out);
int db_token_touch(struct db *db, int64_t id, int64_t now, const char *ip);
int db_token_get(struct db *db, int64_t id, struct db_api_token *out);
/* admin_id 0: every account's tokens. Sort: id, name, created_at, expires_at. */
int db_token_page(struct db *db, int64_t admin_id, const struct db_page *p,
                  struct db_api_token **out, size_t *n, int64_t *total);
/* -ENOENT when absent; revoking twice keeps the first time. */
int db_token_revoke(struct db *db, int64_t id, int64_t now);

struct db_audit {
    int64_t id, at, admin_id, token_id, entity_id; /* 0: none */
    char *admin_username, *ip, *action, *entity;
    char *before, *after; /* JSON text or NULL */
};
void db_audit_list_free(struct db_audit *v, size_t n);

int db_audit_insert(struct db *db, int64_t at, int64_t admin_id, const char *admin_username,
                    int64_t token_id, const char *ip, const char *action, const char *entity,
                    int64_t entity_id, const char *before, const char *after);
struct db_audit_filter {
    const char *entity, *action;
    int64_t entity_id, admin_id; /* 0: any */
    int64_t since, until;        /* 0: unbounded */
};
/* Newest first unless p sorts otherwise (id, at). q searches action and entity. */
int db_audit_page(struct db *db, const struct db_audit_filter *f, const struct db_page *p,
                  struct db_audit **out, size_t *n, int64_t *total);

#endif
