/*
 * domain/admins: the admin-account service — every rule about the accounts
 * that manage xtreamd (the admin API's logins; the CLI's `admin` command).
 *
 * Owns the username rule (1-64 of A-Z a-z 0-9 . _ @ -, as for lines), the
 * roles ("admin": everything, "viewer": read-only), the password rule (12 to
 * 1024 bytes without control characters) and the generated password (20
 * characters of an unambiguous alphabet from libsodium's randombytes), the
 * argon2id hashing (crypto_pwhash_str, OPSLIMIT/MEMLIMIT_INTERACTIVE), the
 * check of a login (dom_admin_verify) and the rule that at least one enabled
 * admin-role account remains once one exists (409 DOM_E_LAST_ADMIN).
 * Passwords are never stored, logged or put in an error message; only a
 * generated one is handed back, once, for the caller to print.
 * Errors: domain/error.h, fields username, password, role, disabled.
 * Threading: one thread per struct db; no global state.
 */
#ifndef XTREAMD_DOMAIN_ADMINS_H
#define XTREAMD_DOMAIN_ADMINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/admins.h"
#include "domain/error.h"

#define DOM_ADMIN_PW_MIN     12
#define DOM_ADMIN_PW_MAX     1024
#define DOM_ADMIN_GEN_PW_LEN 20

/* A create or an update; NULL strings and disabled -1 mean "not given". */
struct dom_admin_in {
    const char *username; /* create: required; update: must be NULL */
    const char *password; /* create / set password: NULL generates one */
    const char *role;     /* "admin" (default) or "viewer" */
    int disabled;         /* -1 not given, else 0/1 (default 0) */
    /* Set only by domain/resellers.c: permits role "reseller" (whose account
     * always comes with its resellers row; the accounts API refuses it). */
    bool reseller_account;
};

void dom_admin_in_init(struct dom_admin_in *in);

/* A generated password, to print once (zeroed by the caller after use). */
struct dom_admin_secret {
    bool generated;
    char password[DOM_ADMIN_GEN_PW_LEN + 1];
};

/* Validates in, hashes the password (or a generated one, returned in *secret)
 * and inserts the account. 409 DOM_E_EXISTS on a taken username. */
int dom_admin_create(struct db *db, const struct dom_admin_in *in, int64_t *id,
                     struct dom_admin_secret *secret, struct dom_error *e);

/* Replaces the password of `username` (NULL: generates one into *secret). 404. */
int dom_admin_set_password(struct db *db, const char *username, const char *password,
                           struct dom_admin_secret *secret, struct dom_error *e);

/* Changes role and/or disabled (in->role, in->disabled; in->username and
 * in->password must be NULL). Refuses (409 DOM_E_LAST_ADMIN, field role or
 * disabled) a change that leaves no enabled admin-role account. 404. */
int dom_admin_update(struct db *db, const char *username, const struct dom_admin_in *in,
                     struct dom_error *e);

/* Reads one account (404) / every account by username. The hashes are in the
 * rows: callers must not print them. */
int dom_admin_get(struct db *db, const char *username, struct db_admin *out, struct dom_error *e);
int dom_admin_list(struct db *db, struct db_admin **out, size_t *n, struct dom_error *e);

/* Deletes an account (404); refuses the last enabled admin-role account (409
 * DOM_E_LAST_ADMIN, field username). */
int dom_admin_delete(struct db *db, const char *username, struct dom_error *e);

/* Checks a login. 0 with *out filled (when out is not NULL) and last_login_at
 * recorded; the hash is upgraded when its parameters are out of date. An
 * unknown user, a wrong password and a disabled account are all 401
 * DOM_E_CREDENTIALS (-EACCES) with the same detail, and an unknown user costs
 * the same hashing work (a dummy hash is verified), so neither the answer nor
 * its time tells which. */
int dom_admin_verify(struct db *db, const char *username, const char *password,
                     struct db_admin *out, struct dom_error *e);

/* Field checks, for decoders and tests. */
int dom_admin_check_role(const char *field, const char *s, struct dom_error *e);
int dom_admin_check_password(const char *field, const char *s, struct dom_error *e);
/* Checks every given field of in for a create or an update; no database. */
int dom_admin_validate(const struct dom_admin_in *in, bool create, struct dom_error *e);

#endif
