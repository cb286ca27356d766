/* Unit tests for the admin-account service (domain/admins.c) and its queries
 * (db/admins.c): every rule names its field, the stored hash is argon2id and
 * never the password, a login is verified (right, wrong, unknown user,
 * disabled account all distinguished only by the service's result), and the
 * last enabled admin-role account can be neither deleted, demoted nor
 * disabled. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "db/admins.h"
#include "db/db.h"
#include "domain/admins.h"
#include "domain/error.h"
#include "db_fixture.h"

static int setup(void **state)
{
    return db_fixture_open(state, "admins");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

/* Creates name with password pw (NULL: generated) and role; asserts success. */
static void add(struct db *db, const char *name, const char *pw, const char *role,
                struct dom_admin_secret *s)
{
    struct dom_admin_in in;
    struct dom_error e;
    struct dom_admin_secret local;
    dom_admin_in_init(&in);
    in.username = name;
    in.password = pw;
    in.role = role;
    dom_error_reset(&e);
    assert_int_equal(dom_admin_create(db, &in, NULL, s ? s : &local, &e), 0);
}

static void test_rules_name_their_field(void **state)
{
    struct fixture *f = *state;
    struct dom_admin_in in;
    struct dom_admin_secret s;
    struct dom_error e;
    char long_name[70];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';

    const struct {
        const char *user, *pw, *role, *field, *code;
    } cases[] = {
        {"", "long enough pw", NULL, "username", "required"},
        {long_name, "long enough pw", NULL, "username", "too_long"},
        {"bad name", "long enough pw", NULL, "username", "charset"},
        {"bad/name", "long enough pw", NULL, "username", "charset"},
        {"ok", "short", NULL, "password", "too_short"},
        {"ok", "", NULL, "password", "required"},
        {"ok", "twelve chars\tx", NULL, "password", "charset"},
        {"ok", "long enough pw", "root", "role", "unknown"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dom_admin_in_init(&in);
        in.username = cases[i].user;
        in.password = cases[i].pw;
        in.role = cases[i].role;
        dom_error_reset(&e);
        assert_int_equal(dom_admin_create(f->db, &in, NULL, &s, &e), -EINVAL);
        assert_int_equal(e.status, 422);
        assert_string_equal(e.code, DOM_E_VALIDATION);
        if (!has_field(&e, cases[i].field, cases[i].code))
            fail_msg("case %zu: no %s/%s error", i, cases[i].field, cases[i].code);
        /* a password never appears in a message */
        for (size_t j = 0; j < e.nfields; j++)
            assert_null(strstr(e.fields[j].message, "long enough pw"));
    }
    /* nothing was written */
    struct db_admin *v;
    size_t n;
    dom_error_reset(&e);
    assert_int_equal(dom_admin_list(f->db, &v, &n, &e), 0);
    assert_int_equal(n, 0);
    db_admin_list_free(v, n);

    /* several bad fields at once are all reported */
    dom_admin_in_init(&in);
    in.username = "a b";
    in.password = "x";
    in.role = "boss";
    dom_error_reset(&e);
    assert_int_equal(dom_admin_create(f->db, &in, NULL, &s, &e), -EINVAL);
    assert_int_equal(e.nfields, 3);

    /* a taken username is 409 on username */
    add(f->db, "dup.user@x", "correct horse battery", "viewer", NULL);
    dom_admin_in_init(&in);
    in.username = "dup.user@x";
    dom_error_reset(&e);
    assert_int_equal(dom_admin_create(f->db, &in, NULL, &s, &e), -EEXIST);
    assert_int_equal(e.status, 409);
    assert_true(has_field(&e, "username", "conflict"));
    assert_false(s.generated);

    /* unknown account: 404 */
    dom_error_reset(&e);
    assert_int_equal(dom_admin_delete(f->db, "nobody", &e), -ENOENT);
    assert_int_equal(e.status, 404);
    dom_error_reset(&e);
    assert_int_equal(dom_admin_set_password(f->db, "nobody", NULL, &s, &e), -ENOENT);
    dom_error_reset(&e);
    assert_int_equal(dom_admin_set_password(f->db, "dup.user@x", "short", &s, &e), -EINVAL);
    assert_true(has_field(&e, "password", "too_short"));
}

static void test_hash_and_generated_password(void **state)
{
    struct fixture *f = *state;
    struct dom_admin_secret s;
    add(f->db, "gen", NULL, NULL, &s);
    assert_true(s.generated);
    assert_int_equal(strlen(s.password), DOM_ADMIN_GEN_PW_LEN);
    for (size_t i = 0; i < DOM_ADMIN_GEN_PW_LEN; i++) /* unambiguous, printable */
        assert_null(strchr("0O1lI \t", s.password[i]));
    struct db_admin a;
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(dom_admin_get(f->db, "gen", &a, &e), 0);
    assert_int_equal(strncmp(a.password_hash, "$argon2id$", 10), 0);
    assert_null(strstr(a.password_hash, s.password));
    assert_string_equal(a.role, "admin"); /* the default role */
    assert_false(a.disabled);
    assert_false(a.has_last_login);
    db_admin_clear(&a);
    dom_error_reset(&e);
    assert_int_equal(dom_admin_verify(f->db, "gen", s.password, NULL, &e), 0);

    /* a given password is not echoed back */
    struct dom_admin_secret s2;
    add(f->db, "given", "a given passphrase", "viewer", &s2);
    assert_false(s2.generated);
    assert_string_equal(s2.password, "");
}

static void test_verify(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    struct db_admin a;
    add(f->db, "alice", "alice's passphrase", NULL, NULL);
    add(f->db, "bob", "bob's passphrase!", "viewer", NULL);

    dom_error_reset(&e);
    assert_int_equal(dom_admin_verify(f->db, "alice", "alice's passphrase", &a, &e), 0);
    assert_string_equal(a.username, "alice");
    assert_true(a.has_last_login);
    db_admin_clear(&a);

    const struct {
        const char *user, *pw;
    } bad[] = {
        {"alice", "alice's passphrasE"}, /* wrong */
        {"alice", ""},
        {"mallory", "alice's passphrase"}, /* unknown */
        {NULL, "x"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dom_error_reset(&e);
        assert_int_equal(dom_admin_verify(f->db, bad[i].user, bad[i].pw, &a, &e), -EACCES);
        assert_int_equal(e.status, 401);
        assert_string_equal(e.code, DOM_E_CREDENTIALS);
        assert_null(a.username);
    }

    /* disabled: refused like a wrong password; enabled again: accepted */
    struct dom_admin_in in;
    dom_admin_in_init(&in);
    in.disabled = 1;
    dom_error_reset(&e);
    assert_int_equal(dom_admin_update(f->db, "bob", &in, &e), 0);
    dom_error_reset(&e);
    assert_int_equal(dom_admin_verify(f->db, "bob", "bob's passphrase!", NULL, &e), -EACCES);
    assert_string_equal(e.detail, "invalid username or password");
    in.disabled = 0;
    dom_error_reset(&e);
    assert_int_equal(dom_admin_update(f->db, "bob", &in, &e), 0);
    dom_error_reset(&e);
    assert_int_equal(dom_admin_verify(f->db, "bob", "bob's passphrase!", NULL, &e), 0);

    /* a new password replaces the old */
    struct dom_admin_secret s;
    dom_error_reset(&e);
    assert_int_equal(dom_admin_set_password(f->db, "bob", "bob's new passphrase", &s, &e), 0);
    dom_error_reset(&e);
    assert_int_equal(dom_admin_verify(f->db, "bob", "bob's passphrase!", NULL, &e), -EACCES);
    dom_error_reset(&e);
    assert_int_equal(dom_admin_verify(f->db, "bob", "bob's new passphrase", NULL, &e), 0);
}

/* A hash made with weaker parameters is upgraded at the next good login. */
static void test_rehash(void **state)
{
    struct fixture *f = *state;
    char weak[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str(weak, "an old passphrase", 17, crypto_pwhash_OPSLIMIT_MIN,
                                       crypto_pwhash_MEMLIMIT_MIN),
                     0);
    struct db_admin a = {.username = "old", .password_hash = weak, .role = "viewer"};
    assert_int_equal(db_admin_insert(f->db, &a), 0);
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(dom_admin_verify(f->db, "old", "an old passphrase", NULL, &e), 0);
    struct db_admin b;
    assert_int_equal(db_admin_get(f->db, "old", &b), 0);
    assert_string_not_equal(b.password_hash, weak);
    assert_int_equal(crypto_pwhash_str_needs_rehash(b.password_hash,
                                                    crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                                    crypto_pwhash_MEMLIMIT_INTERACTIVE),
                     0);
    db_admin_clear(&b);
    dom_error_reset(&e);
    assert_int_equal(dom_admin_verify(f->db, "old", "an old passphrase", NULL, &e), 0);
}

static void test_last_admin(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    struct dom_admin_in in;
    add(f->db, "root", "root passphrase", "admin", NULL);
    add(f->db, "watch", "viewer passphrase", "viewer", NULL);

    dom_error_reset(&e);
    assert_int_equal(dom_admin_delete(f->db, "root", &e), -EBUSY);
    assert_int_equal(e.status, 409);
    assert_string_equal(e.code, DOM_E_LAST_ADMIN);
    assert_true(has_field(&e, "username", "last_admin"));

    dom_admin_in_init(&in);
    in.role = "viewer";
    dom_error_reset(&e);
    assert_int_equal(dom_admin_update(f->db, "root", &in, &e), -EBUSY);
    assert_true(has_field(&e, "role", "last_admin"));
    dom_admin_in_init(&in);
    in.disabled = 1;
    dom_error_reset(&e);
    assert_int_equal(dom_admin_update(f->db, "root", &in, &e), -EBUSY);
    assert_true(has_field(&e, "disabled", "last_admin"));

    /* the viewer may go; a second enabled admin frees the first */
    dom_error_reset(&e);
    assert_int_equal(dom_admin_delete(f->db, "watch", &e), 0);
    add(f->db, "root2", "root2 passphrase", "admin", NULL);
    dom_error_reset(&e);
    assert_int_equal(dom_admin_delete(f->db, "root", &e), 0);
    /* a disabled admin does not count */
    add(f->db, "off", "off passphrase!", "admin", NULL);
    dom_admin_in_init(&in);
    in.disabled = 1;
    dom_error_reset(&e);
    assert_int_equal(dom_admin_update(f->db, "off", &in, &e), 0);
    dom_error_reset(&e);
    assert_int_equal(dom_admin_delete(f->db, "root2", &e), -EBUSY);
    dom_error_reset(&e);
    assert_int_equal(dom_admin_delete(f->db, "off", &e), 0);

    /* a password is not an update field; a role must be known */
    dom_admin_in_init(&in);
    in.password = "some long passphrase";
    in.role = "god";
    dom_error_reset(&e);
    assert_int_equal(dom_admin_update(f->db, "root2", &in, &e), -EINVAL);
    assert_true(has_field(&e, "password", "read_only"));
    assert_true(has_field(&e, "role", "unknown"));
    assert_int_equal(e.nfields, 2);

    /* refused updates changed nothing */
    struct db_admin a;
    dom_error_reset(&e);
    assert_int_equal(dom_admin_get(f->db, "root2", &a, &e), 0);
    assert_string_equal(a.role, "admin");
    assert_false(a.disabled);
    db_admin_clear(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rules_name_their_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_and_generated_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rehash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_admin, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
