/*
 * db/admins: queries on admin accounts (`admins`).
 *
 * Owns the SQL of the accounts that log in to the admin API. Stores what it
 * is given: hashing, the username alphabet, roles and the last-admin rule are
 * domain/admins.c's (the schema's CHECKs are the last line of defence and
 * surface as -EINVAL). A struct db_admin owns its strings; release it with
 * db_admin_clear(). Usernames are unique (-EEXIST); a missing account is
 * -ENOENT. Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_ADMINS_H
#define XTREAMD_DB_ADMINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct db_admin {
    int64_t id;
    char *username;
    char *password_hash; /* libsodium crypto_pwhash_str format ("$argon2id$...") */
    char *role;          /* "admin" or "viewer" */
    bool disabled;
    int64_t created_at, updated_at;
    bool has_last_login;
    int64_t last_login_at; /* valid when has_last_login */
};

/* Frees the strings of a and zeroes it (safe on a zeroed struct). */
void db_admin_clear(struct db_admin *a);

/* Inserts a (username, password_hash, role, disabled) and sets id, created_at,
 * updated_at. -EEXIST when the username is taken. */
int db_admin_insert(struct db *db, struct db_admin *a);

/* Loads one account by username; -ENOENT if absent. */
int db_admin_get(struct db *db, const char *username, struct db_admin *out);

/* Every account ordered by username; free with db_admin_list_free(). */
int db_admin_list(struct db *db, struct db_admin **out, size_t *n);
void db_admin_list_free(struct db_admin *v, size_t n);

/* Writes password_hash, role and disabled of account a->id and sets
 * updated_at = now. -ENOENT if gone. */
int db_admin_update(struct db *db, struct db_admin *a);

/* Replaces only the hash (a rehash at login); updated_at is kept. */
int db_admin_set_hash(struct db *db, int64_t id, const char *hash);

/* Records a successful login at `when`. */
int db_admin_touch_login(struct db *db, int64_t id, int64_t when);

/* How many enabled accounts with role 'admin' exist other than except_id
 * (0: none excluded). */
int db_admin_count_active_admins(struct db *db, int64_t except_id, int64_t *count);

/* Deletes one account; -ENOENT if absent. */
int db_admin_delete(struct db *db, const char *username);

#endif
