/* Unit tests for admin authentication and the audit log (domain/admin_auth.c,
 * db/admin_auth.c, domain/time.c, domain/token_json.c): scopes and their
 * capping for viewers, session expiry (idle, sliding, absolute) and the
 * once-a-minute touch, disabled accounts, the login brake (lock, doubling,
 * cap, reset), API tokens (shown once, stored hashed, revoked, expired),
 * paging and filters of token and audit lists, RFC 3339 times and the token
 * JSON decoder. */
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

#include "db/db.h"
#include "db/db_priv.h"
#include "domain/admin_auth.h"
#include "domain/admins.h"
#include "domain/error.h"
#include "domain/time.h"
#include "domain/token_json.h"
#include "db_fixture.h"

#define PW "correct horse battery"
#define T0 1800000000LL /* a fixed "now" (2027-01-15) */

static int setup(void **state)
{
    dom_login_brake_reset();
    return db_fixture_open(state, "auth");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

static int64_t add(struct db *db, const char *name, const char *role)
{
    struct dom_admin_in in;
    struct dom_error e;
    struct dom_admin_secret s;
    int64_t id;
    dom_admin_in_init(&in);
    in.username = name;
    in.password = PW;
    in.role = role;
    dom_error_reset(&e);
    assert_int_equal(dom_admin_create(db, &in, &id, &s, &e), 0);
    return id;
}

static void set_admin(struct db *db, const char *name, const char *role, int disabled)
{
    struct dom_admin_in in;
    struct dom_error e;
    dom_admin_in_init(&in);
    in.role = role;
    in.disabled = disabled;
    dom_error_reset(&e);
    assert_int_equal(dom_admin_update(db, name, &in, &e), 0);
}

static int64_t query_int(struct db *db, const char *sql)
{
    struct db_stmt *st;
    assert_int_equal(db_prepare(db, sql, &st), 0);
    assert_int_equal(db_step(st), DB_ROW);
    int64_t v = db_col_int64(st, 0);
    db_finalize(st);
    return v;
}

/* ---- scopes and times ---- */

static void test_scopes(void **state)
{
    (void)state;
    struct dom_error e;
    unsigned s;
    const char *ok[] = {"read", "lines:write", "read"};
    dom_error_reset(&e);
    assert_int_equal(dom_scopes_parse(ok, 3, &s, &e), 0);
    assert_int_equal(s, DOM_SCOPE_READ | DOM_SCOPE_LINES_WRITE);
    char buf[96];
    dom_scopes_format(DOM_SCOPE_ALL, buf, sizeof(buf));
    assert_string_equal(buf, "read,lines:write,streams:write,content:write,admin");
    for (unsigned i = 0; i < DOM_SCOPE_COUNT; i++)
        assert_non_null(dom_scope_name(i));
    assert_null(dom_scope_name(DOM_SCOPE_COUNT));

    const char *bad[] = {"read", "write", "Admin"};
    dom_error_reset(&e);
    assert_int_equal(dom_scopes_parse(bad, 3, &s, &e), -EINVAL);
    assert_int_equal(e.status, 422);
    assert_true(has_field(&e, "scopes[1]", "unknown"));
    assert_true(has_field(&e, "scopes[2]", "unknown"));
    assert_false(has_field(&e, "scopes[0]", "unknown"));
    dom_error_reset(&e);
    assert_int_equal(dom_scopes_parse(bad, 0, &s, &e), -EINVAL);
    assert_true(has_field(&e, "scopes", "required"));
}

static void test_times(void **state)
{
    (void)state;
    struct dom_error e;
    int64_t t;
    const struct {
        const char *s;
        int64_t want;
    } good[] = {
        {"2026-05-01T10:00:00Z", 1777629600},
        {"2026-05-01t10:00:00z", 1777629600},
        {"2026-05-01T12:00:00+02:00", 1777629600},
        {"2026-05-01T09:30:00.999-00:30", 1777629600},
        {"2026-05-01", 1777593600},
        {"2024-02-29T00:00:00Z", 1709164800},
        {"1970-01-01T00:00:00Z", 0},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        dom_error_reset(&e);
        if (dom_parse_time("since", good[i].s, &t, &e) != 0 || t != good[i].want)
            fail_msg("%s: rc/e %d, got %lld", good[i].s, e.status, (long long)t);
    }
    const struct {
        const char *s, *code;
    } bad[] = {
        {"", "format"},
        {"2026-5-01", "format"},
        {"2026-05-01T10:00Z", "format"},
        {"2026-05-01T10:00:00", "format"},
        {"2026-05-01T10:00:00+0200", "format"},
        {"2026-05-01T10:00:00.Z", "format"},
        {"2026-05-01X", "format"},
        {"2026-02-30", "range"},
        {"2025-02-29", "range"},
        {"2026-13-01", "range"},
        {"2026-05-01T24:00:00Z", "range"},
        {"1969-12-31", "range"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dom_error_reset(&e);
        assert_int_equal(dom_parse_time("since", bad[i].s, &t, &e), -EINVAL);
        if (!has_field(&e, "since", bad[i].code))
            fail_msg("%s: not %s", bad[i].s, bad[i].code);
    }
    char out[DOM_TIME_LEN];
    dom_format_time(1777629600, out);
    assert_string_equal(out, "2026-05-01T10:00:00Z");
}

/* ---- sessions ---- */

#define UNAUTH "NOT_AUTHENTICATED"

static void login(struct db *db, const char *user, int64_t now, struct dom_session_new *s)
{
    struct dom_error e;
    dom_error_reset(&e);
    int rc = dom_session_login(db, user, PW, "192.0.2.1", "ua/1", now, s, &e);
    if (rc)
        fail_msg("login %s: %d %s", user, e.status, e.detail);
}

static int auth(struct db *db, const char *token, int64_t now, struct dom_principal *p,
                struct dom_error *e)
{
    dom_error_reset(e);
    return dom_session_auth(db, token, now, p, e);
}

static void test_session_login(void **state)
{
    struct fixture *f = *state;
    int64_t id = add(f->db, "boss", NULL);
    add(f->db, "watcher", "viewer");
    struct dom_session_new s;
    struct dom_principal p;
    struct dom_error e;
    login(f->db, "boss", T0, &s);
    assert_int_equal(strlen(s.token), 64);
    assert_int_equal(strlen(s.csrf), 64);
    assert_string_not_equal(s.token, s.csrf);
    assert_int_equal(s.expires_at, T0 + DOM_SESSION_IDLE);
    assert_int_equal(s.who.admin_id, id);
    assert_string_equal(s.who.username, "boss");
    assert_false(s.who.viewer);
    assert_int_equal(s.who.scopes, DOM_SCOPE_ALL);
    assert_true(s.who.session_id > 0);
    assert_int_equal(s.who.token_id, 0);
    assert_true(query_int(f->db, "SELECT last_login_at IS NOT NULL FROM admins WHERE "
                                 "username = 'boss'"));

    assert_int_equal(auth(f->db, s.token, T0 + 5, &p, &e), 0);
    assert_int_equal(p.admin_id, id);
    assert_int_equal(p.session_id, s.who.session_id);
    assert_string_equal(p.csrf, s.csrf);
    assert_int_equal(p.scopes, DOM_SCOPE_ALL);

    /* the cookie value is not stored: only its SHA-256 */
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM admin_sessions WHERE token_hash = '%s'",
             s.token);
    assert_int_equal(query_int(f->db, sql), 0);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM admin_sessions"), 1);

    /* a viewer's session holds read only */
    struct dom_session_new v;
    login(f->db, "watcher", T0, &v);
    assert_true(v.who.viewer);
    assert_int_equal(v.who.scopes, DOM_SCOPE_READ);
    assert_int_equal(auth(f->db, v.token, T0 + 1, &p, &e), 0);
    assert_true(p.viewer);
    assert_int_equal(p.scopes, DOM_SCOPE_READ);

    /* wrong password and unknown user: the same 401 and detail */
    struct dom_error e1, e2;
    dom_error_reset(&e1);
    dom_error_reset(&e2);
    assert_int_equal(
        dom_session_login(f->db, "boss", "wrong password!", "192.0.2.2", "", T0, &s, &e1), -EACCES);
    assert_int_equal(dom_session_login(f->db, "ghost", PW, "192.0.2.2", "", T0, &s, &e2), -EACCES);
    assert_int_equal(e1.status, 401);
    assert_string_equal(e1.code, DOM_E_CREDENTIALS);
    assert_string_equal(e1.code, e2.code);
    assert_string_equal(e1.detail, e2.detail);
    assert_int_equal(s.token[0], '\0');

    /* cookie values that name no session */
    assert_int_equal(auth(f->db, "", T0, &p, &e), -EACCES);
    assert_int_equal(e.status, 401);
    assert_string_equal(e.code, UNAUTH);
    char other[65];
    memset(other, 'a', 64);
    other[64] = '\0';
    assert_int_equal(auth(f->db, other, T0, &p, &e), -EACCES);
    assert_int_equal(p.admin_id, 0);

    /* ending an account's sessions keeps the one named */
    struct dom_session_new k1, k2;
    login(f->db, "boss", T0, &k1);
    login(f->db, "boss", T0, &k2);
    dom_error_reset(&e);
    assert_int_equal(dom_session_end_all(f->db, id, k2.who.session_id, &e), 0);
    assert_int_equal(auth(f->db, k1.token, T0 + 1, &p, &e), -EACCES);
    assert_int_equal(auth(f->db, s.token, T0 + 1, &p, &e), -EACCES);
    assert_int_equal(auth(f->db, k2.token, T0 + 1, &p, &e), 0);
    assert_int_equal(auth(f->db, v.token, T0 + 1, &p, &e), 0); /* another account's */
    dom_error_reset(&e);
    assert_int_equal(dom_session_end_all(f->db, id, 0, &e), 0);
    assert_int_equal(auth(f->db, k2.token, T0 + 1, &p, &e), -EACCES);

    /* logout ends it */
    dom_error_reset(&e);
    assert_int_equal(dom_session_logout(f->db, v.token, &e), 0);
    assert_int_equal(auth(f->db, v.token, T0 + 2, &p, &e), -EACCES);
}

static void test_session_expiry(void **state)
{
    struct fixture *f = *state;
    add(f->db, "boss", NULL);
    struct dom_session_new s;
    struct dom_principal p;
    struct dom_error e;
    login(f->db, "boss", T0, &s);
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT expires_at FROM admin_sessions WHERE id = %lld",
             (long long)s.who.session_id);

    /* within a minute of the last write nothing is written */
    assert_int_equal(auth(f->db, s.token, T0 + 30, &p, &e), 0);
    assert_int_equal(query_int(f->db, sql), T0 + DOM_SESSION_IDLE);
    /* later, the idle deadline slides */
    assert_int_equal(auth(f->db, s.token, T0 + 3600, &p, &e), 0);
    assert_int_equal(query_int(f->db, sql), T0 + 3600 + DOM_SESSION_IDLE);
    /* so a use 12 h after login (but 11 h after the last) still works */
    assert_int_equal(auth(f->db, s.token, T0 + DOM_SESSION_IDLE + 10, &p, &e), 0);

    /* idle for 12 h: ended */
    struct dom_session_new s2;
    login(f->db, "boss", T0, &s2);
    assert_int_equal(auth(f->db, s2.token, T0 + DOM_SESSION_IDLE - 1, &p, &e), 0);
    int64_t last = T0 + DOM_SESSION_IDLE - 1;
    assert_int_equal(auth(f->db, s2.token, last + DOM_SESSION_IDLE, &p, &e), -EACCES);
    assert_string_equal(e.code, UNAUTH);

    /* used every 11 h, a session still ends 7 days after its login */
    int64_t t = T0;
    while (t + 11 * 3600 < T0 + DOM_SESSION_MAX) {
        t += 11 * 3600;
        assert_int_equal(auth(f->db, s.token, t, &p, &e), 0);
    }
    assert_true(query_int(f->db, sql) <= T0 + DOM_SESSION_MAX);
    assert_int_equal(auth(f->db, s.token, T0 + DOM_SESSION_MAX, &p, &e), -EACCES);

    /* the next login purges the sessions past their deadline */
    struct dom_session_new s3;
    login(f->db, "boss", T0 + DOM_SESSION_MAX + 1, &s3);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM admin_sessions"), 1);
}

static void test_disabled_account(void **state)
{
    struct fixture *f = *state;
    add(f->db, "boss", NULL);
    int64_t oid = add(f->db, "other", NULL);
    struct dom_session_new s;
    struct dom_principal p;
    struct dom_error e;
    login(f->db, "other", T0, &s);
    struct dom_principal owner = {.admin_id = oid};
    struct dom_token_in in = {.name = "t", .scopes = DOM_SCOPE_READ};
    struct dom_token_created tok;
    dom_error_reset(&e);
    assert_int_equal(dom_token_create(f->db, &owner, &in, T0, &tok, &e), 0);

    set_admin(f->db, "other", NULL, 1);
    assert_int_equal(auth(f->db, s.token, T0 + 1, &p, &e), -EACCES);
    assert_string_equal(e.code, UNAUTH);
    dom_error_reset(&e);
    assert_int_equal(dom_token_auth(f->db, tok.token, T0 + 1, "192.0.2.3", &p, &e), -EACCES);
    assert_string_equal(e.code, UNAUTH);
    assert_int_equal(p.admin_id, 0);
    /* and no new login */
    dom_error_reset(&e);
    assert_int_equal(dom_session_login(f->db, "other", PW, "192.0.2.9", "", T0, &s, &e), -EACCES);
    assert_string_equal(e.code, DOM_E_CREDENTIALS);

    /* re-enabled: the token works again (it was not revoked) */
    set_admin(f->db, "other", NULL, 0);
    dom_error_reset(&e);
    assert_int_equal(dom_token_auth(f->db, tok.token, T0 + 2, "192.0.2.3", &p, &e), 0);
}

/* ---- login brake ---- */

static void fail_n(const char *ip, const char *user, int n, int64_t now)
{
    for (int i = 0; i < n; i++)
        dom_login_brake_fail(ip, user, now);
}

static void test_brake(void **state)
{
    (void)state;
    int64_t wait;
    /* four failures: still allowed */
    fail_n("10.0.0.1", "alice", 4, T0);
    assert_int_equal(dom_login_brake_check("10.0.0.1", "alice", T0, &wait), 0);
    assert_int_equal(wait, 0);
    /* the fifth locks both the IP and the account */
    fail_n("10.0.0.1", "alice", 1, T0 + 10);
    assert_int_equal(dom_login_brake_check("10.0.0.1", "alice", T0 + 10, &wait), -EAGAIN);
    assert_int_equal(wait, DOM_BRAKE_LOCK);
    assert_int_equal(dom_login_brake_check("10.0.0.2", "alice", T0 + 10, &wait), -EAGAIN);
    assert_int_equal(dom_login_brake_check("10.0.0.1", "bob", T0 + 10, &wait), -EAGAIN);
    assert_int_equal(dom_login_brake_check("10.0.0.2", "bob", T0 + 10, &wait), 0);
    assert_int_equal(
        dom_login_brake_check("10.0.0.1", "alice", T0 + 10 + DOM_BRAKE_LOCK - 1, &wait), -EAGAIN);
    assert_int_equal(wait, 1);
    assert_int_equal(dom_login_brake_check("10.0.0.1", "alice", T0 + 10 + DOM_BRAKE_LOCK, &wait),
                     0);

    /* failures spread wider than the window do not lock */
    fail_n("10.0.0.3", "carol", 4, T0);
    fail_n("10.0.0.3", "carol", 1, T0 + DOM_BRAKE_WINDOW + 1);
    assert_int_equal(dom_login_brake_check("10.0.0.3", "carol", T0 + DOM_BRAKE_WINDOW + 1, &wait),
                     0);

    /* each further lock doubles, up to the cap */
    int64_t t = T0 + 100;
    int64_t want = DOM_BRAKE_LOCK * 2;
    for (int i = 0; i < 8; i++) {
        fail_n("10.0.0.1", "alice", DOM_BRAKE_FAILS, t);
        assert_int_equal(dom_login_brake_check("10.0.0.1", "alice", t, &wait), -EAGAIN);
        assert_int_equal(wait, want);
        t += wait;
        want = want * 2 > DOM_BRAKE_LOCK_MAX ? DOM_BRAKE_LOCK_MAX : want * 2;
    }
    assert_int_equal(want, DOM_BRAKE_LOCK_MAX);

    /* a success forgives the failures counted so far */
    fail_n("10.0.0.5", "erin", DOM_BRAKE_FAILS - 1, t);
    dom_login_brake_ok("10.0.0.5", "erin");
    fail_n("10.0.0.5", "erin", 1, t);
    assert_int_equal(dom_login_brake_check("10.0.0.5", "erin", t, &wait), 0);

    /* a full table drops (counted) and keeps working */
    char key[32];
    for (int i = 0; i < DOM_BRAKE_SLOTS + 10; i++) {
        snprintf(key, sizeof(key), "u%d", i);
        dom_login_brake_fail(NULL, key, t + 1);
    }
    assert_true(dom_login_brake_dropped() >= 10);

    uint64_t refused, locks, dropped;
    dom_login_brake_counts(&refused, &locks, &dropped);
    /* 10.0.0.1 and alice together: once, then 8 doublings; erin and the flood none */
    assert_int_equal(locks, 18);
    assert_true(refused >= 11);
    assert_int_equal(dropped, dom_login_brake_dropped());
    dom_login_brake_reset();
    assert_int_equal(dom_login_brake_dropped(), 0);
    dom_login_brake_counts(&refused, &locks, &dropped);
    assert_int_equal(refused + locks + dropped, 0);
    assert_int_equal(dom_login_brake_check("10.0.0.1", "alice", t, &wait), 0);
}

/* The account's lock must hold while other names are being guessed: an
 * attacker who fills the table with fresh usernames must not push a locked
 * account (or address) out of it and so unlock it. */
static void test_brake_lock_survives_flood(void **state)
{
    (void)state;
    int64_t wait;
    fail_n("10.9.0.1", "victim", DOM_BRAKE_FAILS, T0);
    assert_int_equal(dom_login_brake_check("10.9.0.2", "victim", T0 + 1, &wait), -EAGAIN);
    char key[32];
    for (int i = 0; i < 4 * DOM_BRAKE_SLOTS; i++) {
        snprintf(key, sizeof(key), "flood%d", i);
        snprintf(key + 16, 16, "10.8.%d.%d", i / 250, i % 250);
        dom_login_brake_fail(key + 16, key, T0 + 2);
    }
    assert_int_equal(dom_login_brake_check("10.9.0.2", "victim", T0 + 3, &wait), -EAGAIN);
    assert_int_equal(dom_login_brake_check("10.9.0.1", "nobody", T0 + 3, &wait), -EAGAIN);
}

static void test_login_braked(void **state)
{
    struct fixture *f = *state;
    add(f->db, "boss", NULL);
    struct dom_session_new s;
    struct dom_error e;
    /* five wrong passwords lock: even the right one is then 429 */
    for (int i = 0; i < DOM_BRAKE_FAILS; i++) {
        dom_error_reset(&e);
        assert_int_equal(
            dom_session_login(f->db, "boss", "wrong password!", "198.51.100.7", "", T0, &s, &e),
            -EACCES);
    }
    dom_error_reset(&e);
    assert_int_equal(dom_session_login(f->db, "boss", PW, "198.51.100.7", "", T0 + 1, &s, &e),
                     -EINVAL);
    assert_int_equal(e.status, 429);
    assert_string_equal(e.code, "RATE_LIMITED");
    assert_int_equal(s.retry_after, DOM_BRAKE_LOCK - 1);
    assert_int_equal(s.token[0], '\0');
    /* after the lock the right password works */
    login(f->db, "boss", T0 + DOM_BRAKE_LOCK, &s);
}

/* ---- tokens ---- */

static int tauth(struct db *db, const char *tok, int64_t now, struct dom_principal *p,
                 struct dom_error *e)
{
    dom_error_reset(e);
    return dom_token_auth(db, tok, now, "203.0.113.5", p, e);
}

static int create(struct db *db, int64_t admin_id, bool viewer, const char *name, unsigned scopes,
                  int64_t expires_at, int64_t now, struct dom_token_created *t, struct dom_error *e)
{
    struct dom_principal owner = {.admin_id = admin_id, .viewer = viewer};
    struct dom_token_in in = {.name = name, .scopes = scopes, .expires_at = expires_at};
    dom_error_reset(e);
    return dom_token_create(db, &owner, &in, now, t, e);
}

/* Whether the bytes of needle appear in the file at path (absent file: no). */
static bool file_has(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    size_t cap = 1 << 20, len = 0, nl = strlen(needle);
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += r;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(fp);
    bool found = false;
    for (size_t i = 0; !found && i + nl <= len; i++)
        found = memcmp(buf + i, needle, nl) == 0;
    free(buf);
    return found;
}

static void get_token(struct db *db, int64_t id, struct db_api_token *t)
{
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(dom_token_get(db, id, t, &e), 0);
}

static void test_tokens(void **state)
{
    struct fixture *f = *state;
    int64_t boss = add(f->db, "boss", NULL);
    int64_t watcher = add(f->db, "watcher", "viewer");
    struct dom_token_created t;
    struct dom_principal p;
    struct dom_error e;
    assert_int_equal(
        create(f->db, boss, false, "billing", DOM_SCOPE_LINES_WRITE, T0 + 3600, T0, &t, &e), 0);
    assert_int_equal(strlen(t.token), 68);
    assert_int_equal(strncmp(t.token, "xtd_", 4), 0);
    assert_true(t.id > 0);
    struct db_api_token row;
    get_token(f->db, t.id, &row);
    assert_string_equal(row.name, "billing");
    assert_string_equal(row.scopes, "lines:write");
    assert_string_equal(row.owner, "boss");
    assert_int_equal(row.expires_at, T0 + 3600);
    assert_int_equal(row.last_used_at, 0);
    db_api_token_clear(&row);

    /* it authenticates, with its scopes (a write scope brings read), and
     * records its use at most once a minute */
    assert_int_equal(tauth(f->db, t.token, T0 + 1, &p, &e), 0);
    assert_int_equal(p.admin_id, boss);
    assert_int_equal(p.token_id, t.id);
    assert_int_equal(p.session_id, 0);
    assert_int_equal(p.scopes, DOM_SCOPE_READ | DOM_SCOPE_LINES_WRITE);
    get_token(f->db, t.id, &row);
    assert_int_equal(row.last_used_at, T0 + 1);
    assert_string_equal(row.last_used_ip, "203.0.113.5");
    db_api_token_clear(&row);
    assert_int_equal(tauth(f->db, t.token, T0 + 30, &p, &e), 0);
    get_token(f->db, t.id, &row);
    assert_int_equal(row.last_used_at, T0 + 1);
    db_api_token_clear(&row);
    assert_int_equal(tauth(f->db, t.token, T0 + 61, &p, &e), 0);
    get_token(f->db, t.id, &row);
    assert_int_equal(row.last_used_at, T0 + 61);
    db_api_token_clear(&row);

    /* stored hashed: the plain token is in no file of the database */
    char path[160];
    const char *suffix[] = {"", "-wal"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/xtreamd.db%s", f->dir, suffix[i]);
        assert_false(file_has(path, t.token));
        assert_false(file_has(path, t.token + 4));
    }

    /* expired, unknown: 401 */
    assert_int_equal(tauth(f->db, t.token, T0 + 3600, &p, &e), -EACCES);
    assert_string_equal(e.code, UNAUTH);
    assert_non_null(strstr(e.detail, "expired"));
    assert_int_equal(p.admin_id, 0);
    char fake[69];
    memcpy(fake, t.token, sizeof(fake));
    fake[10] = fake[10] == 'a' ? 'b' : 'a';
    assert_int_equal(tauth(f->db, fake, T0 + 2, &p, &e), -EACCES);
    assert_string_equal(e.detail, "unknown token");
    assert_int_equal(tauth(f->db, "", T0 + 2, &p, &e), -EACCES);

    /* admin implies every scope */
    struct dom_token_created t2;
    assert_int_equal(create(f->db, boss, false, "ops", DOM_SCOPE_ADMIN, 0, T0, &t2, &e), 0);
    assert_int_equal(tauth(f->db, t2.token, T0 + 1, &p, &e), 0);
    assert_int_equal(p.scopes, DOM_SCOPE_ALL);
    /* the account becomes a viewer: its tokens are capped to read */
    add(f->db, "keeper", NULL);
    set_admin(f->db, "boss", "viewer", -1);
    assert_int_equal(tauth(f->db, t2.token, T0 + 2, &p, &e), 0);
    assert_true(p.viewer);
    assert_int_equal(p.scopes, DOM_SCOPE_READ);
    set_admin(f->db, "boss", "admin", -1);

    /* revoked: 401; revoking twice keeps the first time; still readable */
    dom_error_reset(&e);
    assert_int_equal(dom_token_revoke(f->db, t2.id, T0 + 5, &e), 0);
    assert_int_equal(dom_token_revoke(f->db, t2.id, T0 + 9, &e), 0);
    assert_int_equal(tauth(f->db, t2.token, T0 + 6, &p, &e), -EACCES);
    assert_non_null(strstr(e.detail, "revoked"));
    get_token(f->db, t2.id, &row);
    assert_int_equal(row.revoked_at, T0 + 5);
    db_api_token_clear(&row);
    dom_error_reset(&e);
    assert_int_equal(dom_token_revoke(f->db, 9999, T0, &e), -ENOENT);
    assert_int_equal(e.status, 404);
    dom_error_reset(&e);
    assert_int_equal(dom_token_get(f->db, 9999, &row, &e), -ENOENT);

    /* a viewer may grant read only */
    assert_int_equal(
        create(f->db, watcher, true, "v", DOM_SCOPE_READ | DOM_SCOPE_STREAMS_WRITE, 0, T0, &t, &e),
        -EINVAL);
    assert_int_equal(e.status, 422);
    assert_true(has_field(&e, "scopes", "forbidden"));
    assert_int_equal(create(f->db, watcher, true, "v", DOM_SCOPE_READ, 0, T0, &t, &e), 0);
    assert_int_equal(tauth(f->db, t.token, T0 + 1, &p, &e), 0);
    assert_int_equal(p.scopes, DOM_SCOPE_READ);

    /* validation names each field */
    assert_int_equal(create(f->db, boss, false, "", 0, T0, T0, &t, &e), -EINVAL);
    assert_true(has_field(&e, "name", "required"));
    assert_true(has_field(&e, "scopes", "required"));
    assert_true(has_field(&e, "expires_at", "range"));
    char longname[120];
    memset(longname, 'n', 101);
    longname[101] = '\0';
    assert_int_equal(create(f->db, boss, false, longname, DOM_SCOPE_READ, 0, T0, &t, &e), -EINVAL);
    assert_true(has_field(&e, "name", "too_long"));
    assert_int_equal(create(f->db, boss, false, "evil\x1b[2Jname", DOM_SCOPE_READ, 0, T0, &t, &e),
                     -EINVAL);
    assert_true(has_field(&e, "name", "charset"));
    assert_int_equal(create(f->db, boss, false, "bad \xff utf8", DOM_SCOPE_READ, 0, T0, &t, &e),
                     -EINVAL);
    assert_true(has_field(&e, "name", "charset"));

    /* who may manage tokens: a session, or a token with the admin scope */
    struct dom_principal who = {.admin_id = boss, .session_id = 1, .scopes = DOM_SCOPE_READ};
    dom_error_reset(&e);
    assert_int_equal(dom_token_may_manage(&who, &e), 0);
    who = (struct dom_principal){.admin_id = boss, .token_id = 3, .scopes = DOM_SCOPE_ALL};
    assert_int_equal(dom_token_may_manage(&who, &e), 0);
    who.scopes = DOM_SCOPE_READ | DOM_SCOPE_LINES_WRITE | DOM_SCOPE_CONTENT_WRITE;
    assert_int_not_equal(dom_token_may_manage(&who, &e), 0);
    assert_int_equal(e.status, 403);
    assert_string_equal(e.code, "FORBIDDEN");

    /* deleting the account deletes its tokens */
    dom_error_reset(&e);
    assert_int_equal(dom_admin_delete(f->db, "watcher", &e), 0);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM api_tokens WHERE admin_id = 2"), 0);
}

static void test_token_list(void **state)
{
    struct fixture *f = *state;
    int64_t a = add(f->db, "boss", NULL);
    int64_t b = add(f->db, "other", NULL);
    struct dom_error e;
    struct dom_token_created t;
    char name[32];
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof(name), "%s-%d", i % 2 ? "odd" : "even", i);
        assert_int_equal(
            create(f->db, i < 5 ? a : b, false, name, DOM_SCOPE_READ, 0, T0 + i, &t, &e), 0);
    }
    dom_error_reset(&e);
    assert_int_equal(dom_token_revoke(f->db, 1, T0 + 100, &e), 0);

    struct db_api_token *v;
    size_t n;
    int64_t total;
    struct db_page page = {.offset = 0, .limit = 2};
    dom_error_reset(&e);
    assert_int_equal(dom_token_page(f->db, 0, &page, &v, &n, &total, &e), 0);
    assert_int_equal(total, 7);
    assert_int_equal(n, 2);
    db_api_token_list_free(v, n);

    page = (struct db_page){.offset = 1, .limit = 10, .nsort = 1, .sort = {"name"}, .desc = {true}};
    assert_int_equal(dom_token_page(f->db, a, &page, &v, &n, &total, &e), 0);
    assert_int_equal(total, 5);
    assert_int_equal(n, 4);
    assert_string_equal(v[0].name, "odd-1");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i].admin_id, a);
    db_api_token_list_free(v, n);

    /* revoked tokens stay listed */
    page = (struct db_page){.limit = 10, .nsort = 1, .sort = {"id"}};
    assert_int_equal(dom_token_page(f->db, a, &page, &v, &n, &total, &e), 0);
    assert_int_equal(v[0].id, 1);
    assert_int_equal(v[0].revoked_at, T0 + 100);
    db_api_token_list_free(v, n);

    page = (struct db_page){.limit = 10, .nsort = 1, .sort = {"token_hash"}};
    dom_error_reset(&e);
    assert_int_equal(dom_token_page(f->db, 0, &page, &v, &n, &total, &e), -EINVAL);
    assert_true(has_field(&e, "sort", "unknown"));
}

/* ---- audit log ---- */

static void audit(struct db *db, int64_t admin, const char *user, const char *action,
                  const char *entity, int64_t id, int64_t at)
{
    struct dom_audit_row r = {.admin_id = admin,
                              .admin_username = user,
                              .ip = "192.0.2.1",
                              .action = action,
                              .entity = entity,
                              .entity_id = id,
                              .before = action[0] == 'c' ? NULL : "{\"a\":1}",
                              .after = action[0] == 'd' ? NULL : "{\"a\":2}",
                              .at = at};
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(dom_audit_write(db, &r, &e), 0);
}

static void test_audit(void **state)
{
    struct fixture *f = *state;
    int64_t a = add(f->db, "boss", NULL);
    int64_t b = add(f->db, "temp", NULL);
    audit(f->db, a, "boss", "create", "line", 1, T0);
    audit(f->db, a, "boss", "update", "line", 1, T0 + 10);
    audit(f->db, b, "temp", "create", "stream", 7, T0 + 20);
    audit(f->db, b, "temp", "delete", "line", 1, T0 + 30);
    audit(f->db, 0, "cli", "create", "token", 3, T0 + 30);

    struct db_audit *v;
    size_t n;
    int64_t total;
    struct dom_error e;
    struct db_audit_filter none = {0};
    struct db_page page = {.limit = 3};
    dom_error_reset(&e);
    assert_int_equal(dom_audit_page(f->db, &none, &page, &v, &n, &total, &e), 0);
    assert_int_equal(total, 5);
    assert_int_equal(n, 3);
    /* newest first */
    assert_string_equal(v[0].entity, "token");
    assert_int_equal(v[0].admin_id, 0);
    assert_string_equal(v[0].admin_username, "cli");
    assert_string_equal(v[1].action, "delete");
    assert_null(v[1].after);
    assert_string_equal(v[1].before, "{\"a\":1}");
    assert_string_equal(v[1].ip, "192.0.2.1");
    assert_string_equal(v[2].entity, "stream");
    db_audit_list_free(v, n);
    page.offset = 3;
    assert_int_equal(dom_audit_page(f->db, &none, &page, &v, &n, &total, &e), 0);
    assert_int_equal(n, 2);
    assert_null(v[1].before);
    assert_int_equal(v[1].at, T0);
    db_audit_list_free(v, n);

    const struct {
        struct db_audit_filter f;
        int64_t want;
    } cases[] = {
        {{.entity = "line"}, 3},
        {{.entity = "line", .entity_id = 1}, 3},
        {{.entity = "line", .entity_id = 2}, 0},
        {{.admin_id = a}, 2},
        {{.action = "create"}, 3},
        {{.since = T0 + 10}, 4},
        {{.until = T0 + 10}, 1},
        {{.since = T0 + 10, .until = T0 + 30, .entity = "stream"}, 1},
    };
    page = (struct db_page){.limit = 50};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dom_error_reset(&e);
        assert_int_equal(dom_audit_page(f->db, &cases[i].f, &page, &v, &n, &total, &e), 0);
        if (total != cases[i].want || (int64_t)n != cases[i].want)
            fail_msg("case %zu: %lld rows", i, (long long)total);
        db_audit_list_free(v, n);
    }
    /* sort and search */
    page = (struct db_page){.limit = 50, .nsort = 1, .sort = {"at"}, .desc = {false}, .q = "TEM"};
    assert_int_equal(dom_audit_page(f->db, &none, &page, &v, &n, &total, &e), 0);
    assert_int_equal(total, 2);
    assert_string_equal(v[0].entity, "stream");
    db_audit_list_free(v, n);
    page = (struct db_page){.limit = 50, .nsort = 1, .sort = {"before"}};
    dom_error_reset(&e);
    assert_int_equal(dom_audit_page(f->db, &none, &page, &v, &n, &total, &e), -EINVAL);
    assert_true(has_field(&e, "sort", "unknown"));

    /* a deleted account's rows keep its name */
    dom_error_reset(&e);
    assert_int_equal(dom_admin_delete(f->db, "temp", &e), 0);
    struct db_audit_filter byname = {.entity = "stream"};
    page = (struct db_page){.limit = 50};
    assert_int_equal(dom_audit_page(f->db, &byname, &page, &v, &n, &total, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].admin_id, 0);
    assert_string_equal(v[0].admin_username, "temp");
    db_audit_list_free(v, n);

    /* inside a rolled-back transaction, the row goes with the change */
    assert_int_equal(db_begin(f->db), 0);
    audit(f->db, a, "boss", "update", "gone", 1, T0);
    db_rollback(f->db);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM audit_log WHERE entity = 'gone'"), 0);
}

/* ---- token JSON ---- */

static int decode(const char *body, struct dom_token_json *j, struct dom_error *e)
{
    dom_error_reset(e);
    return dom_token_from_json(body, strlen(body), j, e);
}

static void test_token_json(void **state)
{
    (void)state;
    struct dom_token_json j;
    struct dom_error e;
    assert_int_equal(decode("{\"name\":\"billing\",\"scopes\":[\"read\",\"lines:write\"],"
                            "\"expires_at\":\"2026-05-01T10:00:00Z\"}",
                            &j, &e),
                     0);
    assert_string_equal(j.in.name, "billing");
    assert_int_equal(j.in.scopes, DOM_SCOPE_READ | DOM_SCOPE_LINES_WRITE);
    assert_int_equal(j.in.expires_at, 1777629600);
    dom_token_json_free(&j);

    assert_int_equal(decode("{\"name\":\"n\",\"scopes\":[\"admin\"],\"expires_at\":null}", &j, &e),
                     0);
    assert_int_equal(j.in.expires_at, 0);
    dom_token_json_free(&j);

    assert_int_equal(decode("{\"name\":1,\"scopes\":[\"read\",\"root\"],\"expires_at\":\"soon\","
                            "\"token\":\"x\"}",
                            &j, &e),
                     -EINVAL);
    assert_int_equal(e.status, 422);
    assert_true(has_field(&e, "name", "type"));
    assert_true(has_field(&e, "scopes[1]", "unknown"));
    assert_true(has_field(&e, "expires_at", "format"));
    assert_true(has_field(&e, "token", "unknown"));
    dom_token_json_free(&j);

    assert_int_equal(decode("{\"scopes\":\"read\"}", &j, &e), -EINVAL);
    assert_true(has_field(&e, "scopes", "type"));
    dom_token_json_free(&j);
    assert_int_equal(decode("{\"scopes\":[1]}", &j, &e), -EINVAL);
    assert_true(has_field(&e, "scopes[0]", "type"));
    dom_token_json_free(&j);
    assert_int_equal(decode("[]", &j, &e), -EINVAL);
    assert_int_equal(e.status, 400);
    dom_token_json_free(&j);
    assert_int_equal(decode("{\"name\":\"a\",\"name\":\"b\"}", &j, &e), -EINVAL);
    assert_int_equal(e.status, 400);
    dom_token_json_free(&j);
    assert_int_equal(decode("{", &j, &e), -EINVAL);
    assert_string_equal(e.code, DOM_E_MALFORMED);
    dom_token_json_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_times),
        cmocka_unit_test_setup_teardown(test_session_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_account, setup, teardown),
        cmocka_unit_test_setup_teardown(test_brake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_brake_lock_survives_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_braked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
        cmocka_unit_test(test_token_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
