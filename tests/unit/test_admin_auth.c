/*
 * test_admin_auth: the rules of domain/admin_auth.c on a real database —
 * sessions (hash stored, idle and absolute expiry, disabled accounts),
 * tokens (scopes and their expansion, the viewer cap, revoked/expired),
 * scope parsing with field errors, the login brake (threshold, doubling
 * lock, per account across addresses, reset on success) and audit paging.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "db_fixture.h"
#include "domain/admin_auth.h"
#include "domain/admins.h"

#define NOW 1800000000LL

static int setup(void **state)
{
    if (db_fixture_open(state, "adminauth"))
        return -1;
    struct fixture *f = *state;
    dom_login_brake_reset();
    struct dom_error e;
    struct dom_admin_in in;
    struct dom_admin_secret s;
    int64_t id;
    dom_error_reset(&e);
    dom_admin_in_init(&in);
    in.username = "boss";
    in.password = "Boss.pass-12345";
    if (dom_admin_create(f->db, &in, &id, &s, &e))
        return -1;
    dom_admin_in_init(&in);
    in.username = "watcher";
    in.password = "Watch.pass-1234";
    in.role = "viewer";
    return dom_admin_create(f->db, &in, &id, &s, &e) ? -1 : 0;
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

static void test_session_lifecycle(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    struct dom_session_new s;
    struct dom_principal p;
    dom_error_reset(&e);
    assert_int_equal(
        dom_session_login(f->db, "boss", "Boss.pass-12345", "10.0.0.1", "ua", NOW, &s, &e), 0);
    assert_int_equal(strlen(s.token), 64);
    assert_int_equal(s.who.scopes, DOM_SCOPE_ALL);
    assert_int_equal(s.expires_at, NOW + DOM_SESSION_IDLE);
    assert_int_equal(dom_session_auth(f->db, s.token, NOW + 10, &p, &e), 0);
    assert_string_equal(p.username, "boss");
    assert_string_equal(p.csrf, s.csrf);
    /* Used within the idle time, it slides; idle for longer, it has ended. */
    assert_int_equal(dom_session_auth(f->db, s.token, NOW + DOM_SESSION_IDLE - 5, &p, &e), 0);
    assert_int_equal(dom_session_auth(f->db, s.token, NOW + 2 * DOM_SESSION_IDLE - 100, &p, &e), 0);
    dom_error_reset(&e);
    assert_int_equal(dom_session_auth(f->db, s.token, NOW + 4 * DOM_SESSION_IDLE, &p, &e), -EACCES);
    assert_int_equal(e.status, 401);
    /* Never past the absolute lifetime, however often used. */
    assert_int_equal(
        dom_session_login(f->db, "boss", "Boss.pass-12345", "10.0.0.1", "ua", NOW, &s, &e), 0);
    int64_t t = NOW;
    while (t < NOW + DOM_SESSION_MAX - DOM_SESSION_IDLE / 2) {
        t += DOM_SESSION_IDLE / 2;
        assert_int_equal(dom_session_auth(f->db, s.token, t, &p, &e), 0);
    }
    dom_error_reset(&e);
    assert_int_equal(dom_session_auth(f->db, s.token, NOW + DOM_SESSION_MAX + 1, &p, &e), -EACCES);
    /* Logout ends it. */
    assert_int_equal(
        dom_session_login(f->db, "watcher", "Watch.pass-1234", "10.0.0.1", "ua", NOW, &s, &e), 0);
    assert_int_equal(s.who.scopes, DOM_SCOPE_READ);
    assert_int_equal(dom_session_logout(f->db, s.token, &e), 0);
    dom_error_reset(&e);
    assert_int_equal(dom_session_auth(f->db, s.token, NOW + 1, &p, &e), -EACCES);
}

static void test_scopes(void **state)
{
    (void)state;
    struct dom_error e;
    unsigned bits;
    dom_error_reset(&e);
    const char *ok[] = {"read", "lines:write"};
    assert_int_equal(dom_scopes_parse(ok, 2, &bits, &e), 0);
    assert_int_equal(bits, DOM_SCOPE_READ | DOM_SCOPE_LINES_WRITE);
    const char *bad[] = {"read", "root", "admin"};
    assert_int_equal(dom_scopes_parse(bad, 3, &bits, &e), -EINVAL);
    assert_true(has_field(&e, "scopes[1]", "unknown"));
    dom_error_reset(&e);
    assert_int_equal(dom_scopes_parse(NULL, 0, &bits, &e), -EINVAL);
    assert_true(has_field(&e, "scopes", "required"));
    char text[96];
    dom_scopes_format(DOM_SCOPE_READ | DOM_SCOPE_ADMIN, text, sizeof(text));
    assert_string_equal(text, "read,admin");
}

static void test_tokens(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    dom_error_reset(&e);
    struct db_admin boss = {0}, watcher = {0};
    assert_int_equal(dom_admin_get(f->db, "boss", &boss, &e), 0);
    assert_int_equal(dom_admin_get(f->db, "watcher", &watcher, &e), 0);
    struct dom_principal owner = {.admin_id = boss.id};
    struct dom_token_in in = {.name = "billing", .scopes = DOM_SCOPE_LINES_WRITE};
    struct dom_token_created t;
    assert_int_equal(dom_token_create(f->db, &owner, &in, NOW, &t, &e), 0);
    assert_int_equal(strncmp(t.token, "xtd_", 4), 0);
    struct dom_principal p;
    assert_int_equal(dom_token_auth(f->db, t.token, NOW, "10.0.0.2", &p, &e), 0);
    /* Any scope implies read. */
    assert_int_equal(p.scopes, DOM_SCOPE_LINES_WRITE | DOM_SCOPE_READ);
    assert_int_equal(p.token_id, t.id);
    struct db_api_token row;
    assert_int_equal(dom_token_get(f->db, t.id, &row, &e), 0);
    assert_int_equal(row.last_used_at, NOW);
    assert_string_equal(row.last_used_ip, "10.0.0.2");
    db_api_token_clear(&row);
    /* Admin implies everything. */
    in.scopes = DOM_SCOPE_ADMIN;
    struct dom_token_created ta;
    assert_int_equal(dom_token_create(f->db, &owner, &in, NOW, &ta, &e), 0);
    assert_int_equal(dom_token_auth(f->db, ta.token, NOW, "", &p, &e), 0);
    assert_int_equal(p.scopes, DOM_SCOPE_ALL);
    /* A viewer's token: read only, whatever was stored. */
    struct dom_principal vowner = {.admin_id = watcher.id, .viewer = true};
    in.scopes = DOM_SCOPE_LINES_WRITE;
    dom_error_reset(&e);
    assert_int_equal(dom_token_create(f->db, &vowner, &in, NOW, &t, &e), -EINVAL);
    assert_true(has_field(&e, "scopes", "forbidden"));
    /* Expiry: in the past refused; a future one stops working after. */
    dom_error_reset(&e);
    in = (struct dom_token_in){.name = "", .scopes = 0, .expires_at = NOW - 1};
    assert_int_equal(dom_token_create(f->db, &owner, &in, NOW, &t, &e), -EINVAL);
    assert_true(has_field(&e, "name", "required"));
    assert_true(has_field(&e, "scopes", "required"));
    assert_true(has_field(&e, "expires_at", "range"));
    dom_error_reset(&e);
    in = (struct dom_token_in){.name = "soon", .scopes = DOM_SCOPE_READ, .expires_at = NOW + 60};
    assert_int_equal(dom_token_create(f->db, &owner, &in, NOW, &t, &e), 0);
    assert_int_equal(dom_token_auth(f->db, t.token, NOW + 59, "", &p, &e), 0);
    assert_int_equal(dom_token_auth(f->db, t.token, NOW + 60, "", &p, &e), -EACCES);
    assert_non_null(strstr(e.detail, "expired"));
    /* Revoked. */
    dom_error_reset(&e);
    assert_int_equal(dom_token_revoke(f->db, ta.id, NOW, &e), 0);
    assert_int_equal(dom_token_auth(f->db, ta.token, NOW, "", &p, &e), -EACCES);
    assert_non_null(strstr(e.detail, "revoked"));
    dom_error_reset(&e);
    assert_int_equal(dom_token_revoke(f->db, 999999, NOW, &e), -ENOENT);
    /* Unknown and garbage. */
    dom_error_reset(&e);
    assert_int_equal(dom_token_auth(f->db, "xtd_nothing", NOW, "", &p, &e), -EACCES);
    db_admin_clear(&boss);
    db_admin_clear(&watcher);
}

static void test_brake(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    struct dom_session_new s;
    int64_t ra;
    /* DOM_BRAKE_FAILS failures from one address lock that address. */
    for (int i = 0; i < DOM_BRAKE_FAILS; i++) {
        dom_error_reset(&e);
        assert_int_equal(
            dom_session_login(f->db, "nobody", "wrong-password", "10.9.9.9", "", NOW + i, &s, &e),
            -EACCES);
    }
    dom_error_reset(&e);
    assert_int_equal(
        dom_session_login(f->db, "boss", "Boss.pass-12345", "10.9.9.9", "", NOW + 6, &s, &e),
        -EINVAL);
    assert_int_equal(e.status, 429);
    assert_int_equal(s.retry_after, DOM_BRAKE_LOCK - (6 - (DOM_BRAKE_FAILS - 1)));
    /* Another address is not locked, and the lock ends. */
    dom_error_reset(&e);
    assert_int_equal(
        dom_session_login(f->db, "boss", "Boss.pass-12345", "10.9.9.10", "", NOW + 6, &s, &e), 0);
    assert_int_equal(
        dom_login_brake_check("10.9.9.9", "x", NOW + DOM_BRAKE_FAILS + DOM_BRAKE_LOCK, &ra), 0);
    /* The next lock of the same address lasts twice as long. */
    int64_t t = NOW + 100;
    for (int i = 0; i < DOM_BRAKE_FAILS; i++)
        dom_login_brake_fail("10.9.9.9", NULL, t);
    assert_int_equal(dom_login_brake_check("10.9.9.9", NULL, t, &ra), -EAGAIN);
    assert_int_equal(ra, 2 * DOM_BRAKE_LOCK);
    /* Per account across addresses. */
    dom_login_brake_reset();
    for (int i = 0; i < DOM_BRAKE_FAILS; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.1.1.%d", i);
        dom_error_reset(&e);
        dom_session_login(f->db, "boss", "wrong-password", ip, "", NOW, &s, &e);
    }
    dom_error_reset(&e);
    assert_int_equal(
        dom_session_login(f->db, "boss", "Boss.pass-12345", "10.2.2.2", "", NOW + 1, &s, &e),
        -EINVAL);
    assert_int_equal(e.status, 429);
    assert_int_equal(dom_login_brake_dropped(), 0);
}

static void test_audit(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    dom_error_reset(&e);
    for (int i = 0; i < 30; i++) {
        struct dom_audit_row r = {.admin_username = "boss",
                                  .ip = "127.0.0.1",
                                  .action = i % 3 ? "update" : "create",
                                  .entity = i % 2 ? "line" : "stream",
                                  .entity_id = 100 + i,
                                  .after = "{\"x\":1}",
                                  .at = NOW + i};
        assert_int_equal(dom_audit_write(f->db, &r, &e), 0);
    }
    struct db_audit_filter flt = {.entity = "line", .action = "update"};
    struct db_page p = {.limit = 4};
    struct db_audit *v;
    size_t n;
    int64_t total;
    assert_int_equal(dom_audit_page(f->db, &flt, &p, &v, &n, &total, &e), 0);
    assert_int_equal(total, 10); /* odd i, i % 3 != 0: 1,5,7,11,13,17,19,23,25,29 */
    assert_int_equal(n, 4);
    assert_int_equal(v[0].entity_id, 129); /* newest first */
    assert_null(v[0].before);
    assert_string_equal(v[0].after, "{\"x\":1}");
    db_audit_list_free(v, n);
    flt = (struct db_audit_filter){.since = NOW + 10, .until = NOW + 20};
    p = (struct db_page){.limit = 100, .nsort = 1, .sort = {"at"}};
    assert_int_equal(dom_audit_page(f->db, &flt, &p, &v, &n, &total, &e), 0);
    assert_int_equal(total, 10);
    assert_int_equal(v[0].at, NOW + 10);
    db_audit_list_free(v, n);
    p = (struct db_page){.limit = 10, .nsort = 1, .sort = {"password"}};
    assert_int_equal(dom_audit_page(f->db, &flt, &p, &v, &n, &total, &e), -EINVAL);
    assert_true(has_field(&e, "sort", "unknown"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_lifecycle, setup, teardown),
        cmocka_unit_test(test_scopes),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_brake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
