/* Unit tests for the domain services (src/domain/): the error type, the one
 * line-state rule, every validation rule of the line, bouquet and import
 * services naming its field, and their transactions rolling back on failure
 * (a failed create writes nothing, a failed M3U import keeps the previous
 * data). Only the services and the backend-neutral db/ headers are used. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/db.h"
#include "db/live_streams.h"
#include "domain/catalogue.h"
#include "domain/error.h"
#include "domain/import.h"
#include "domain/line_json.h"
#include "domain/line_state.h"
#include "domain/lines.h"
#include "db_fixture.h"

static int setup(void **state)
{
    return db_fixture_open(state, "domain");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

static void test_error_type(void **state)
{
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(dom_err_field(&e, "a", "range", "bad %d", 1), -EINVAL);
    assert_int_equal(e.status, 422);
    assert_string_equal(e.code, DOM_E_VALIDATION);
    for (int i = 0; i < DOM_MAX_FIELD_ERRORS + 2; i++)
        dom_err_field(&e, "b", "format", "x");
    assert_int_equal(e.nfields, DOM_MAX_FIELD_ERRORS);
    assert_int_equal(e.dropped, 3); /* bounded, and counted */
    dom_error_reset(&e);
    assert_int_equal(dom_err_set(&e, 404, DOM_E_NOT_FOUND, "no %s", "x"), -ENOENT);
    assert_string_equal(e.detail, "no x");
    assert_int_equal(dom_err_set(&e, 409, DOM_E_EXISTS, "taken"), -EEXIST);
    assert_int_equal(dom_err_internal(&e, -ENOMEM, "testing"), -ENOMEM);
    assert_int_equal(e.status, 500);
    assert_string_equal(dom_status_title(422), "Unprocessable Content");
}

static void test_line_state(void **state)
{
    assert_int_equal(dom_line_state(false, true, 0, 1000), DOM_LINE_ACTIVE); /* 0: never */
    assert_int_equal(dom_line_state(false, true, 1000, 999), DOM_LINE_ACTIVE);
    assert_int_equal(dom_line_state(false, true, 1000, 1000), DOM_LINE_EXPIRED);
    assert_int_equal(dom_line_state(false, false, 1000, 2000), DOM_LINE_DISABLED);
    assert_int_equal(dom_line_state(true, false, 1000, 2000), DOM_LINE_BANNED);
    assert_string_equal(dom_line_state_name(DOM_LINE_EXPIRED), "Expired");
}

/* One bad field at a time: the error is 422 and names that field. */
static void test_line_fields_named(void **state)
{
    struct fixture *f = *state;
    char longmsg[DOM_LINE_MESSAGE_MAX + 2];
    memset(longmsg, 'm', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    const char *empty_bq[] = {""};
    const struct {
        const char *username, *password, *expires, *outputs, *message;
        long long maxc;
        const char *field, *code;
    } cases[] = {
        {"bad user", NULL, NULL, NULL, NULL, -2, "username", "charset"},
        {"", NULL, NULL, NULL, NULL, -2, "username", "required"},
        {"ok.user", "pa+ss", NULL, NULL, NULL, -2, "password", "charset"},
        {"ok.user", NULL, NULL, NULL, NULL, -1, "max_connections", "range"},
        {"ok.user", NULL, NULL, NULL, NULL, 100001, "max_connections", "range"},
        {"ok.user", NULL, "2024-13-45", NULL, NULL, -2, "expires", "format"},
        {"ok.user", NULL, "tomorrow", NULL, NULL, -2, "expires", "format"},
        {"ok.user", NULL, "1970-01-01", NULL, NULL, -2, "expires", "range"},
        {"ok.user", NULL, NULL, "flv", NULL, -2, "allowed_outputs", "format"},
        {"ok.user", NULL, NULL, "", NULL, -2, "allowed_outputs", "format"},
        {"ok.user", NULL, NULL, NULL, "a\tb", -2, "message", "charset"},
        {"ok.user", NULL, NULL, NULL, "\xff", -2, "message", "charset"},
        {"ok.user", NULL, NULL, NULL, longmsg, -2, "message", "too_long"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dom_line_in in;
        struct dom_line_created made;
        struct dom_error e;
        dom_line_in_init(&in);
        dom_error_reset(&e);
        in.username = cases[i].username;
        in.password = cases[i].password;
        in.expires = cases[i].expires;
        in.outputs = cases[i].outputs;
        in.message = cases[i].message;
        if (cases[i].maxc != -2) {
            in.has_max_connections = true;
            in.max_connections = cases[i].maxc;
        }
        assert_int_equal(dom_line_create(f->db, &in, &made, &e), -EINVAL);
        assert_int_equal(e.status, 422);
        assert_string_equal(e.code, DOM_E_VALIDATION);
        if (!has_field(&e, cases[i].field, cases[i].code))
            fail_msg("case %zu: expected field %s/%s, got %s/%s", i, cases[i].field, cases[i].code,
                     e.nfields ? e.fields[0].field : "-", e.nfields ? e.fields[0].code : "-");
    }
    /* Every bad field is reported, not only the first. */
    struct dom_line_in in;
    struct dom_line_created made;
    struct dom_error e;
    dom_line_in_init(&in);
    dom_error_reset(&e);
    in.username = "x y";
    in.outputs = "flv";
    in.has_bouquets = true;
    in.bouquets = empty_bq;
    in.bouquet_count = 1;
    assert_int_equal(dom_line_create(f->db, &in, &made, &e), -EINVAL);
    assert_true(has_field(&e, "username", "charset"));
    assert_true(has_field(&e, "allowed_outputs", "format"));
    assert_true(has_field(&e, "bouquets[0]", "required"));
    struct db_line *v;
    size_t n;
    assert_int_equal(dom_line_list(f->db, &v, &n, &e), 0);
    assert_int_equal(n, 0); /* nothing written by any refused create */
    db_line_list_free(v, n);
}

static void test_line_defaults_and_update(void **state)
{
    struct fixture *f = *state;
    struct dom_line_in in;
    struct dom_line_created made;
    struct dom_error e;
    struct db_line l;
    dom_line_in_init(&in);
    dom_error_reset(&e);
    in.username = "alice";
    assert_int_equal(dom_line_create(f->db, &in, &made, &e), 0);
    assert_true(made.password_generated);
    assert_int_equal(strlen(made.password), DOM_LINE_GEN_PW_LEN);
    char pw[DOM_LINE_CRED_MAX + 1];
    snprintf(pw, sizeof(pw), "%s", made.password);
    assert_int_equal(dom_line_get(f->db, "alice", &l, &e), 0);
    assert_int_equal(l.max_connections, 1);
    assert_string_equal(l.allowed_outputs, "ts,m3u8");
    assert_false(l.has_exp);
    assert_true(l.enabled);
    assert_false(l.is_trial);
    assert_string_equal(dom_line_status(&l, db_now()), "Active");
    db_line_clear(&l);

    /* A taken username: 409, naming the field. */
    dom_error_reset(&e);
    assert_int_equal(dom_line_create(f->db, &in, &made, &e), -EEXIST);
    assert_int_equal(e.status, 409);
    assert_true(has_field(&e, "username", "conflict"));

    /* An update keeps what it does not name; aliases are normalised. */
    dom_line_in_init(&in);
    dom_error_reset(&e);
    in.outputs = "hls,mpegts,hls";
    in.expires = "2099-01-31";
    in.banned = 1;
    assert_int_equal(dom_line_update(f->db, "alice", &in, &e), 0);
    assert_int_equal(dom_line_get(f->db, "alice", &l, &e), 0);
    assert_string_equal(l.allowed_outputs, "m3u8,ts");
    assert_true(l.has_exp);
    assert_int_equal(l.exp_date, 4073500800);
    assert_int_equal(l.max_connections, 1);
    assert_string_equal(l.password, pw);
    assert_string_equal(dom_line_status(&l, db_now()), "Banned");
    db_line_clear(&l);

    /* An unknown bouquet: 422 naming bouquets[1], and the change is rolled back. */
    struct dom_bouquet_in bin = {.name = "Gold", .all = true};
    int64_t bid;
    size_t items;
    assert_int_equal(dom_bouquet_create(f->db, &bin, &bid, &items, &e), 0);
    const char *bq[] = {"Gold", "No Such"};
    dom_line_in_init(&in);
    dom_error_reset(&e);
    in.has_max_connections = true;
    in.max_connections = 7;
    in.has_bouquets = true;
    in.bouquets = bq;
    in.bouquet_count = 2;
    assert_int_equal(dom_line_update(f->db, "alice", &in, &e), -EINVAL);
    assert_string_equal(e.code, DOM_E_REFERENCE);
    assert_true(has_field(&e, "bouquets[1]", "unknown"));
    assert_int_equal(dom_line_get(f->db, "alice", &l, &e), 0);
    assert_int_equal(l.max_connections, 1);
    assert_int_equal(l.bouquet_count, 0);
    db_line_clear(&l);

    /* Usernames do not change; a missing line is a 404. */
    dom_line_in_init(&in);
    dom_error_reset(&e);
    in.username = "bob";
    assert_int_equal(dom_line_update(f->db, "alice", &in, &e), -EINVAL);
    assert_true(has_field(&e, "username", "read_only"));
    dom_line_in_init(&in);
    dom_error_reset(&e);
    assert_int_equal(dom_line_update(f->db, "nobody", &in, &e), -ENOENT);
    assert_int_equal(e.status, 404);
    dom_error_reset(&e);
    assert_int_equal(dom_line_delete(f->db, "nobody", &e), -ENOENT);
    assert_int_equal(dom_line_delete(f->db, "alice", &e), 0);
}

static void test_bouquet_rules(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    int64_t id;
    size_t items;
    const char *cats[] = {"News"};
    struct dom_bouquet_in in = {.name = ""};
    dom_error_reset(&e);
    assert_int_equal(dom_bouquet_create(f->db, &in, &id, &items, &e), -EINVAL);
    assert_true(has_field(&e, "name", "required"));
    in = (struct dom_bouquet_in){.name = "B", .all = true, .categories = cats, .category_count = 1};
    dom_error_reset(&e);
    assert_int_equal(dom_bouquet_create(f->db, &in, &id, &items, &e), -EINVAL);
    assert_true(has_field(&e, "categories", "conflict"));
    in = (struct dom_bouquet_in){.name = "B", .kind = "radio"};
    dom_error_reset(&e);
    assert_int_equal(dom_bouquet_create(f->db, &in, &id, &items, &e), -EINVAL);
    assert_true(has_field(&e, "kind", "format"));
    /* An unknown category: nothing is created. */
    in = (struct dom_bouquet_in){.name = "B", .categories = cats, .category_count = 1};
    dom_error_reset(&e);
    assert_int_equal(dom_bouquet_create(f->db, &in, &id, &items, &e), -EINVAL);
    assert_string_equal(e.code, DOM_E_REFERENCE);
    assert_true(has_field(&e, "categories[0]", "unknown"));
    struct db_bouquet *b;
    size_t n;
    assert_int_equal(dom_bouquet_list(f->db, &b, &n, &e), 0);
    assert_int_equal(n, 0);
    db_bouquet_list_free(b, n);
    dom_error_reset(&e);
    assert_int_equal(dom_bouquet_delete(f->db, "B", &e), -ENOENT);
    assert_int_equal(e.status, 404);
}

struct rejects {
    size_t n, last_line;
};

static void on_reject(void *ctx, size_t line, const char *reason)
{
    struct rejects *r = ctx;
    r->n++;
    r->last_line = line;
    assert_non_null(reason);
}

static int run_import(struct db *db, const char *text, struct rejects *r, struct dom_error *e)
{
    struct dom_import_in in = {.kind = "live", .reject = on_reject, .ctx = r};
    struct dom_import *im;
    struct dom_import_result res;
    dom_error_reset(e);
    int rc = dom_import_begin(db, &in, &im, e);
    if (rc)
        return rc;
    /* Fed in two pieces: the service must not care where the cuts are. */
    size_t half = strlen(text) / 2;
    if ((rc = dom_import_feed(im, text, half, e)) ||
        (rc = dom_import_feed(im, text + half, strlen(text) - half, e))) {
        dom_import_abort(im);
        return rc;
    }
    return dom_import_finish(im, &res, e);
}

static void test_import_keeps_previous_data(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    struct rejects r = {0};
    assert_int_equal(run_import(f->db,
                                "#EXTM3U\n"
                                "#EXTINF:-1 group-title=\"News\",One\nhttp://example.com/1.ts\n"
                                "#EXTINF:-1 group-title=\"News\",Two\nhttp://example.com/2.ts\n",
                                &r, &e),
                     0);
    /* A second playlist renames One, adds Three, but line 6's title is too long. */
    char bad[2048];
    char title[600];
    memset(title, 't', sizeof(title) - 1);
    title[sizeof(title) - 1] = '\0';
    snprintf(bad, sizeof(bad),
             "#EXTM3U\n"
             "#EXTINF:-1 group-title=\"News\",Renamed\nhttp://example.com/1.ts\n"
             "#EXTINF:-1 group-title=\"Sport\",Three\nhttp://example.com/3.ts\n"
             "#EXTINF:-1,%s\nhttp://example.com/4.ts\n",
             title);
    assert_int_not_equal(run_import(f->db, bad, &r, &e), 0);
    assert_int_equal(e.status, 422);
    assert_string_equal(e.code, DOM_E_REJECTED);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.last_line, 6);
    struct db_live_stream *s;
    size_t n;
    assert_int_equal(db_live_stream_list(f->db, &s, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(s[0].name, "One"); /* not "Renamed": rolled back */
    assert_string_equal(s[1].name, "Two");
    db_live_stream_free_all(s, n);

    /* An empty playlist is refused too, and options name their field. */
    assert_int_not_equal(run_import(f->db, "#EXTM3U\n", &r, &e), 0);
    assert_string_equal(e.code, DOM_E_REJECTED);
    struct dom_import_in in = {.kind = "series"};
    dom_error_reset(&e);
    assert_int_equal(dom_import_check(&in, &e), -EINVAL);
    assert_true(has_field(&e, "kind", "unsupported"));
    in = (struct dom_import_in){.category = ""};
    dom_error_reset(&e);
    assert_int_equal(dom_import_check(&in, &e), -EINVAL);
    assert_true(has_field(&e, "category", "required"));
}

static void test_line_json(void **state)
{
    struct fixture *f = *state;
    struct dom_line_json j;
    struct dom_error e;
    const char *create = "{\"username\":\"json.user\",\"password\":\"pw.1\","
                         "\"max_connections\":2,\"exp_date\":4102444800,\"is_trial\":true,"
                         "\"allowed_outputs\":[\"hls\"],\"message\":\"hi\",\"bouquets\":[]}";
    dom_error_reset(&e);
    assert_int_equal(dom_line_from_json(create, strlen(create), &j, &e), 0);
    struct dom_line_created made;
    assert_int_equal(dom_line_create(f->db, &j.in, &made, &e), 0);
    dom_line_json_free(&j);
    struct db_line l;
    assert_int_equal(dom_line_get(f->db, "json.user", &l, &e), 0);
    assert_int_equal(l.max_connections, 2);
    assert_int_equal(l.exp_date, 4102444800);
    assert_true(l.is_trial);
    assert_string_equal(l.allowed_outputs, "m3u8");
    db_line_clear(&l);

    /* Merge patch: omitted members stay, null clears. */
    const char *patch = "{\"message\":null,\"exp_date\":null}";
    dom_error_reset(&e);
    assert_int_equal(dom_line_from_json(patch, strlen(patch), &j, &e), 0);
    assert_int_equal(dom_line_update(f->db, "json.user", &j.in, &e), 0);
    dom_line_json_free(&j);
    assert_int_equal(dom_line_get(f->db, "json.user", &l, &e), 0);
    assert_string_equal(l.message, "");
    assert_false(l.has_exp);
    assert_int_equal(l.max_connections, 2);
    assert_string_equal(l.password, "pw.1");
    db_line_clear(&l);

    /* Wrong types and unknown members are named; malformed bodies are 400. */
    const char *bad = "{\"max_connections\":\"3\",\"is_trial\":1,\"colour\":\"red\",\"\":0,"
                      "\"bouquets\":[\"Gold\",true]}"; /* ids are integers */
    dom_error_reset(&e);
    assert_int_equal(dom_line_from_json(bad, strlen(bad), &j, &e), -EINVAL);
    assert_int_equal(e.status, 422);
    assert_true(has_field(&e, "max_connections", "type"));
    assert_true(has_field(&e, "is_trial", "type"));
    assert_true(has_field(&e, "colour", "unknown"));
    assert_true(has_field(&e, "(empty name)", "unknown")); /* found by fuzz_line_json */
    assert_true(has_field(&e, "bouquets[1]", "type"));
    dom_line_json_free(&j);
    const char *bodies[] = {"[1,2]", "{\"banned\":true,\"banned\":false}", "{", ""};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        dom_error_reset(&e);
        assert_int_not_equal(dom_line_from_json(bodies[i], strlen(bodies[i]), &j, &e), 0);
        assert_int_equal(e.status, 400);
        assert_string_equal(e.code, DOM_E_MALFORMED);
        dom_line_json_free(&j);
    }
    /* A value the decoder accepts is still checked by the rules. */
    const char *range = "{\"username\":\"r.user\",\"exp_date\":-5,\"expires\":\"never\"}";
    dom_error_reset(&e);
    assert_int_equal(dom_line_from_json(range, strlen(range), &j, &e), 0);
    assert_int_equal(dom_line_validate(&j.in, true, &e), -EINVAL);
    assert_true(has_field(&e, "exp_date", "conflict"));
    dom_line_json_free(&j);
}

/* Services own their transaction but also run inside a caller's: a failed
 * inner call undoes only its own writes, the caller's rollback undoes all. */
static void test_services_nest_in_a_transaction(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    struct dom_line_in in;
    struct dom_line_created made;
    struct db_line *v;
    size_t n;
    for (int keep = 0; keep < 2; keep++) {
        assert_int_equal(db_begin(f->db), 0);
        dom_line_in_init(&in);
        in.username = keep ? "kept" : "dropped";
        dom_error_reset(&e);
        assert_int_equal(dom_line_create(f->db, &in, &made, &e), 0);
        const char *bq[] = {"missing"};
        dom_line_in_init(&in);
        in.username = "half";
        in.has_bouquets = true;
        in.bouquets = bq;
        in.bouquet_count = 1;
        dom_error_reset(&e);
        assert_int_equal(dom_line_create(f->db, &in, &made, &e), -EINVAL); /* its own undo */
        if (keep)
            assert_int_equal(db_commit(f->db), 0);
        else
            db_rollback(f->db);
    }
    assert_int_equal(dom_line_list(f->db, &v, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].username, "kept");
    db_line_list_free(v, n);
    /* Nesting is bounded. */
    int depth = 0, rc = 0;
    while ((rc = db_begin(f->db)) == 0)
        depth++;
    assert_int_equal(rc, -EOVERFLOW);
    assert_int_equal(depth, 32);
    while (depth-- > 0)
        db_rollback(f->db);
    dom_line_in_init(&in);
    in.username = "after";
    dom_error_reset(&e);
    assert_int_equal(dom_line_create(f->db, &in, &made, &e), 0); /* back in autocommit */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_type),
        cmocka_unit_test(test_line_state),
        cmocka_unit_test_setup_teardown(test_line_fields_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_defaults_and_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bouquet_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_keeps_previous_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_services_nest_in_a_transaction, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
