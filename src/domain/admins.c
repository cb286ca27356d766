#include "domain/admins.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "db/db.h"
#include "domain/lines.h"

/* No 0/O, 1/l/I: a generated password is read off a terminal and typed. */
static const char gen_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/* The hash of a random password nobody knows, verified for an unknown user so
 * that a miss costs the same argon2id work as a wrong password. */
static const char dummy_hash[crypto_pwhash_STRBYTES] =
    "$argon2id$v=19$m=65536,t=2,p=1$+2gEMKwg8EDQ+PMAVOgwKw$"
    "xIaCmaSE8yo7zGfjLLW30w6xMERfVE1kw7hudbi4VyY";

void dom_admin_in_init(struct dom_admin_in *in)
{
    memset(in, 0, sizeof(*in));
    in->disabled = -1;
}

int dom_admin_check_role(const char *field, const char *s, struct dom_error *e)
{
    if (strcmp(s, "admin") == 0 || strcmp(s, "viewer") == 0)
        return 0;
    return dom_err_field(e, field, "unknown", "must be admin or viewer");
}

int dom_admin_check_password(const char *field, const char *s, struct dom_error *e)
{
    size_t n = strlen(s);
    if (n < DOM_ADMIN_PW_MIN)
        return dom_err_field(e, field, n ? "too_short" : "required",
                             "must be at least %d characters (got %zu)", DOM_ADMIN_PW_MIN, n);
    if (n > DOM_ADMIN_PW_MAX)
        return dom_err_field(e, field, "too_long", "must be at most %d bytes (got %zu)",
                             DOM_ADMIN_PW_MAX, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) /* never echo the password itself */
            return dom_err_field(e, field, "charset", "contains a control character");
    }
    return 0;
}

/* Writes a (updated_at too) and commits the caller's transaction. */
static int save_admin(struct db *db, struct db_admin *a, struct dom_error *e)
{
    int rc = db_admin_update(db, a);
    if (rc)
        return dom_err_internal(e, rc, "updating the admin");
    if ((rc = db_commit(db)) != 0)
        return dom_err_internal(e, rc, "committing");
    return 0;
}

int dom_admin_validate(const struct dom_admin_in *in, bool create, struct dom_error *e)
{
    dom_check_username_in(in->username, create, e);
    if (in->password)
        dom_admin_check_password("password", in->password, e);
    if (in->role && !(in->reseller_account && strcmp(in->role, "reseller") == 0))
        dom_admin_check_role("role", in->role, e);
    if (in->disabled != -1 && in->disabled != 0 && in->disabled != 1)
        dom_err_field(e, "disabled", "type", "must be true or false");
    return e->status ? -EINVAL : 0;
}

static int gen_password(struct dom_admin_secret *s)
{
    uint32_t k = (uint32_t)(sizeof(gen_alphabet) - 1);
    for (size_t i = 0; i < DOM_ADMIN_GEN_PW_LEN; i++)
        s->password[i] = gen_alphabet[randombytes_uniform(k)];
    s->password[DOM_ADMIN_GEN_PW_LEN] = '\0';
    s->generated = true;
    return 0;
}

/* Hashes pw (given) or a generated one (into *secret) into out. */
static int hash_password(const char *pw, struct dom_admin_secret *secret,
                         char out[crypto_pwhash_STRBYTES], struct dom_error *e)
{
    memset(secret, 0, sizeof(*secret));
    if (sodium_init() < 0)
        return dom_err_set(e, 500, DOM_E_INTERNAL, "libsodium failed to initialise");
    if (!pw) {
        gen_password(secret);
        pw = secret->password;
    }
    if (crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return dom_err_internal(e, -ENOMEM, "hashing the password");
    return 0;
}

/* Whether the account `self` (id, after the change: role, disabled) being
 * changed or deleted leaves no enabled admin-role account. */
static int would_orphan(struct db *db, const struct db_admin *before, bool after_counts,
                        bool *orphan, struct dom_error *e)
{
    *orphan = false;
    bool counted_before = strcmp(before->role, "admin") == 0 && !before->disabled;
    if (!counted_before || after_counts)
        return 0;
    int64_t others;
    int rc = db_admin_count_active_admins(db, before->id, &others);
    if (rc)
        return dom_err_internal(e, rc, "counting admins");
    *orphan = others == 0;
    return 0;
}

int dom_admin_create(struct db *db, const struct dom_admin_in *in, int64_t *id,
                     struct dom_admin_secret *secret, struct dom_error *e)
{
    char hash[crypto_pwhash_STRBYTES];
    memset(secret, 0, sizeof(*secret));
    if (dom_admin_validate(in, true, e))
        return -EINVAL;
    int rc = hash_password(in->password, secret, hash, e);
    if (rc)
        return rc;
    struct db_admin a = {
        .username = (char *)in->username,
        .password_hash = hash,
        .role = (char *)(in->role ? in->role : "admin"),
        .disabled = in->disabled == 1,
    };
    rc = db_admin_insert(db, &a);
    sodium_memzero(hash, sizeof(hash));
    if (rc == -EEXIST) {
        sodium_memzero(secret, sizeof(*secret));
        dom_err_set(e, 409, DOM_E_EXISTS, "admin '%s' already exists", in->username);
        dom_err_field(e, "username", "conflict", "is taken");
        return -EEXIST;
    }
    if (rc) {
        sodium_memzero(secret, sizeof(*secret));
        return dom_err_internal(e, rc, "creating the admin");
    }
    if (id)
        *id = a.id;
    return 0;
}

static int get_or_404(struct db *db, const char *username, struct db_admin *a, struct dom_error *e)
{
    int rc = db_admin_get(db, username, a);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no admin '%s'", username);
    if (rc)
        return dom_err_internal(e, rc, "reading the admin");
    return 0;
}

int dom_admin_get(struct db *db, const char *username, struct db_admin *out, struct dom_error *e)
{
    return get_or_404(db, username, out, e);
}

int dom_admin_list(struct db *db, struct db_admin **out, size_t *n, struct dom_error *e)
{
    int rc = db_admin_list(db, out, n);
    return rc ? dom_err_internal(e, rc, "listing admins") : 0;
}

int dom_admin_set_password(struct db *db, const char *username, const char *password,
                           struct dom_admin_secret *secret, struct dom_error *e)
{
    char hash[crypto_pwhash_STRBYTES];
    struct db_admin a = {0};
    memset(secret, 0, sizeof(*secret));
    if (password && dom_admin_check_password("password", password, e))
        return -EINVAL;
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    if ((rc = get_or_404(db, username, &a, e)) != 0)
        goto fail;
    if ((rc = hash_password(password, secret, hash, e)) != 0)
        goto fail;
    char *old_hash = a.password_hash;
    a.password_hash = hash;
    rc = save_admin(db, &a, e);
    a.password_hash = old_hash;
    sodium_memzero(hash, sizeof(hash));
    if (rc)
        goto fail;
    db_admin_clear(&a);
    return 0;
fail:
    db_rollback(db);
    db_admin_clear(&a);
    sodium_memzero(secret, sizeof(*secret));
    return rc;
}

int dom_admin_update(struct db *db, const char *username, const struct dom_admin_in *in,
                     struct dom_error *e)
{
    struct db_admin a = {0};
    struct dom_admin_in rest = *in;
    rest.password = NULL;
    if (in->password) /* passwords change through dom_admin_set_password only */
        dom_err_field(e, "password", "read_only", "is changed with set password");
    if (dom_admin_validate(&rest, false, e) || in->password)
        return -EINVAL;
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    if ((rc = get_or_404(db, username, &a, e)) != 0)
        goto fail;
    const char *role = in->role ? in->role : a.role;
    bool disabled = in->disabled == -1 ? a.disabled : in->disabled == 1;
    bool orphan;
    if (strcmp(a.role, "reseller") == 0 && strcmp(role, "reseller") != 0) {
        /* its place in a tree, balance and lines belong to /resellers */
        dom_err_field(e, "role", "reseller",
                      "'%s' is a reseller: it keeps its role (delete it through /resellers)",
                      username);
        rc = -EINVAL;
        goto fail;
    }
    if ((rc = would_orphan(db, &a, strcmp(role, "admin") == 0 && !disabled, &orphan, e)) != 0)
        goto fail;
    if (orphan) {
        dom_err_set(e, 409, DOM_E_LAST_ADMIN, "'%s' is the last enabled admin", username);
        if (in->role && strcmp(role, "admin") != 0)
            dom_err_field(e, "role", "last_admin",
                          "'%s' is the last enabled admin: it must keep the admin role", username);
        else
            dom_err_field(e, "disabled", "last_admin",
                          "'%s' is the last enabled admin: it cannot be disabled", username);
        rc = -EBUSY;
        goto fail;
    }
    char *old_role = a.role;
    a.role = (char *)role;
    a.disabled = disabled;
    rc = save_admin(db, &a, e);
    a.role = old_role;
    if (rc)
        goto fail;
    db_admin_clear(&a);
    return 0;
fail:
    db_rollback(db);
    db_admin_clear(&a);
    return rc;
}

int dom_admin_delete(struct db *db, const char *username, struct dom_error *e)
{
    struct db_admin a = {0};
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    if ((rc = get_or_404(db, username, &a, e)) != 0)
        goto fail;
    if (strcmp(a.role, "reseller") == 0) {
        /* its balance goes back to its parent first: dom_reseller_delete */
        dom_err_set(e, 409, "IS_RESELLER", "'%s' is a reseller: delete it as one", username);
        dom_err_field(e, "username", "reseller",
                      "'%s' is a reseller: DELETE /api/v1/resellers/{id} or xtreamd reseller del",
                      username);
        rc = -EBUSY;
        goto fail;
    }
    bool orphan;
    if ((rc = would_orphan(db, &a, false, &orphan, e)) != 0)
        goto fail;
    if (orphan) {
        dom_err_set(e, 409, DOM_E_LAST_ADMIN, "'%s' is the last enabled admin", username);
        dom_err_field(e, "username", "last_admin",
                      "'%s' is the last enabled admin and cannot be deleted", username);
        rc = -EBUSY;
        goto fail;
    }
    rc = db_admin_delete(db, username);
    if (rc) {
        rc = rc == -ENOENT ? dom_err_set(e, 404, DOM_E_NOT_FOUND, "no admin '%s'", username)
                           : dom_err_internal(e, rc, "deleting the admin");
        goto fail;
    }
    if ((rc = db_commit(db)) != 0) {
        rc = dom_err_internal(e, rc, "committing");
        goto fail;
    }
    db_admin_clear(&a);
    return 0;
fail:
    db_rollback(db);
    db_admin_clear(&a);
    return rc;
}

static int bad_login(struct dom_error *e)
{
    dom_err_set(e, 401, DOM_E_CREDENTIALS, "invalid username or password");
    return -EACCES;
}

int dom_admin_verify(struct db *db, const char *username, const char *password,
                     struct db_admin *out, struct dom_error *e)
{
    struct db_admin a = {0};
    if (out)
        memset(out, 0, sizeof(*out));
    if (sodium_init() < 0)
        return dom_err_set(e, 500, DOM_E_INTERNAL, "libsodium failed to initialise");
    size_t pwlen = password ? strlen(password) : 0;
    int rc = username ? db_admin_get(db, username, &a) : -ENOENT;
    if (rc && rc != -ENOENT)
        return dom_err_internal(e, rc, "reading the admin");
    /* Every path below does one argon2id verification. */
    const char *hash = rc == 0 ? a.password_hash : dummy_hash;
    bool ok = crypto_pwhash_str_verify(hash, password ? password : "", pwlen) == 0;
    if (rc == -ENOENT || !ok || a.disabled) {
        db_admin_clear(&a);
        return bad_login(e);
    }
    if (crypto_pwhash_str_needs_rehash(a.password_hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                       crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        char fresh[crypto_pwhash_STRBYTES];
        /* A failed upgrade keeps the old (still valid) hash: the login stands. */
        if (crypto_pwhash_str(fresh, password, pwlen, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0 ||
            db_admin_set_hash(db, a.id, fresh) != 0)
            log_warn("admins", "could not upgrade the password hash of admin %lld",
                     (long long)a.id);
        sodium_memzero(fresh, sizeof(fresh));
    }
    int64_t now = db_now();
    if (db_admin_touch_login(db, a.id, now) == 0) {
        a.has_last_login = true;
        a.last_login_at = now;
    }
    if (out)
        *out = a;
    else
        db_admin_clear(&a);
    return 0;
}
