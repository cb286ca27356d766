/* Unit tests for the services behind the admin API's lines, plans and
 * settings (issue 10): lines by id, the paged list with every filter and
 * sort (and the status filter's SQL agreeing with dom_line_state on every
 * combination), the line's JSON, extend, plans and lines created from them,
 * the settings registry, and the time format. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <time.h>

#include "core/buf.h"
#include "core/jsonw.h"
#include "db/categories.h"
#include "db/db.h"
#include "db/db_priv.h" /* white box: rewinding the schema to migration 4 */
#include "domain/content.h"
#include "domain/error.h"
#include "domain/line_json.h"
#include "domain/line_state.h"
#include "domain/lines.h"
#include "domain/plan_json.h"
#include "domain/plans.h"
#include "domain/settings.h"
#include "domain/time.h"
#include "db_fixture.h"

static int setup(void **state)
{
    return db_fixture_open(state, "linesapi");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

/* Creates a line from a JSON body; returns its id. */
static int64_t mk(struct db *db, const char *json)
{
    struct dom_line_json j;
    struct dom_line_created made;
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(dom_line_from_json(json, strlen(json), &j, &e), 0);
    int rc = dom_line_create(db, &j.in, &made, &e);
    if (rc)
        fprintf(stderr, "create %s: %s (%s)\n", json, e.detail,
                e.nfields ? e.fields[0].message : "");
    assert_int_equal(rc, 0);
    dom_line_json_free(&j);
    return made.id;
}

static int64_t mk_bouquet(struct db *db, const char *name)
{
    struct dom_bouquet_named bin = {.name = name, .all = true};
    struct dom_error e;
    int64_t id;
    size_t items;
    dom_error_reset(&e);
    assert_int_equal(dom_bouquet_create_named(db, &bin, &id, &items, &e), 0);
    return id;
}

/* JSON of a line, parsed back. */
static json_t *line_doc(const struct db_line *l, int64_t now)
{
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    dom_line_write_json(&w, l, now);
    assert_int_equal(b.err, 0);
    json_t *d = json_loads(b.data, 0, NULL);
    assert_non_null(d);
    buf_free(&b);
    return d;
}

static void test_time_format(void **state)
{
    struct dom_error e;
    int64_t t;
    const struct {
        const char *s;
        int64_t want;
    } ok[] = {
        {"2026-05-01", 1777593600},
        {"2026-05-01T10:00:00Z", 1777629600},
        {"2026-05-01t10:00:00z", 1777629600},
        {"2026-05-01T12:00:00+02:00", 1777629600},
        {"2026-05-01T05:30:00.999-04:30", 1777629600},
        {"2024-02-29", 1709164800},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        dom_error_reset(&e);
        assert_int_equal(dom_parse_time("t", ok[i].s, &t, &e), 0);
        assert_int_equal(t, ok[i].want);
    }
    const char *bad[] = {"",
                         "2026-5-01",
                         "2025-02-29",
                         "2026-05-01T",
                         "2026-05-01T10:00:00",
                         "2026-05-01T24:00:00Z",
                         "1969-12-31",
                         "2026-05-01T10:00:00+2",
                         "2026-05-01T10:00:00.Z",
                         "tomorrow"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dom_error_reset(&e);
        assert_int_equal(dom_parse_time("t", bad[i], &t, &e), -EINVAL);
        assert_true(has_field(&e, "t", "format") || has_field(&e, "t", "range"));
    }
    /* Months keep the time of day and clamp the day to the month's end. */
    assert_int_equal(dom_add_months(1706659200 /* 2024-01-31 */, 1), 1709164800 /* 02-29 */);
    assert_int_equal(dom_add_months(1706659200 + 3661, 13), 1740700800 + 3661); /* 2025-02-28 */
    assert_int_equal(dom_add_months(1777629600, 12), 1809165600);
}

/* The SQL of the status filter and dom_line_state agree on every
 * combination of banned, enabled, expiry (never as NULL and as 0, past,
 * the very second, future, negative) and trial. */
static void test_line_status_sql(void **state)
{
    struct fixture *f = *state;
    const int64_t now = 2000000000;
    const struct {
        bool has;
        int64_t exp;
    } exps[] = {{false, 0}, {true, 0}, {true, now - 1}, {true, now}, {true, now + 1}, {true, -5}};
    enum { NEXP = sizeof(exps) / sizeof(exps[0]) };
    int64_t ids[2][2][NEXP][2];
    int n = 0;
    for (int b = 0; b < 2; b++)
        for (int en = 0; en < 2; en++)
            for (int x = 0; x < NEXP; x++)
                for (int tr = 0; tr < 2; tr++) {
                    char user[32];
                    snprintf(user, sizeof(user), "s%d", n++);
                    struct db_line l = {
                        .username = user,
                        .password = "pw",
                        .max_connections = 1,
                        .has_exp = exps[x].has,
                        .exp_date = exps[x].exp,
                        .is_trial = tr,
                        .enabled = en,
                        .banned = b,
                    };
                    assert_int_equal(db_line_insert(f->db, &l), 0);
                    ids[b][en][x][tr] = l.id;
                }
    const char *names[] = {"active", "expired", "disabled", "banned", "trial"};
    for (size_t s = 0; s < 5; s++) {
        struct dom_line_filter flt = {.status = names[s], .now = now};
        struct db_page pg = {.limit = 1000};
        struct db_line *v;
        size_t cnt;
        int64_t total;
        struct dom_error e;
        dom_error_reset(&e);
        assert_int_equal(dom_line_page(f->db, &flt, &pg, &v, &cnt, &total, &e), 0);
        assert_int_equal((int64_t)cnt, total);
        int want = 0;
        for (int b = 0; b < 2; b++)
            for (int en = 0; en < 2; en++)
                for (int x = 0; x < NEXP; x++)
                    for (int tr = 0; tr < 2; tr++) {
                        struct db_line l = {.banned = b,
                                            .enabled = en,
                                            .has_exp = exps[x].has,
                                            .exp_date = exps[x].exp,
                                            .is_trial = tr};
                        bool match =
                            s == 4 ? tr == 1 : strcmp(dom_line_status_key(&l, now), names[s]) == 0;
                        bool found = false;
                        for (size_t i = 0; i < cnt; i++)
                            found = found || v[i].id == ids[b][en][x][tr];
                        if (match != found)
                            fail_msg("status=%s banned=%d enabled=%d exp=%d trial=%d: sql %d, "
                                     "dom_line_state %d",
                                     names[s], b, en, x, tr, found, match);
                        want += match;
                    }
        assert_int_equal((int)cnt, want);
        /* Every listed line shows the status it was filtered by. */
        for (size_t i = 0; s < 4 && i < cnt; i++)
            assert_string_equal(dom_line_status_key(&v[i], now), names[s]);
        db_line_list_free(v, cnt);
    }
}

static void test_line_by_id(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    struct db_line l;
    int64_t id = mk(f->db, "{\"username\":\"by.id\",\"password\":\"pw\",\"notes\":\"line 1\\n"
                           "line 2\\tend\"}");
    dom_error_reset(&e);
    assert_int_equal(dom_line_get_id(f->db, id, &l, &e), 0);
    assert_string_equal(l.username, "by.id");
    assert_string_equal(l.notes, "line 1\nline 2\tend");
    db_line_clear(&l);

    /* Update by id: the same rules as by username (read-only username,
     * merge keeps what is not named). */
    struct dom_line_in in;
    dom_line_in_init(&in);
    in.username = "other";
    dom_error_reset(&e);
    assert_int_equal(dom_line_update_id(f->db, id, &in, &e), -EINVAL);
    assert_true(has_field(&e, "username", "read_only"));
    dom_line_in_init(&in);
    in.has_max_connections = true;
    in.max_connections = 4;
    dom_error_reset(&e);
    assert_int_equal(dom_line_update_id(f->db, id, &in, &e), 0);
    assert_int_equal(dom_line_get_id(f->db, id, &l, &e), 0);
    assert_int_equal(l.max_connections, 4);
    assert_string_equal(l.notes, "line 1\nline 2\tend");
    assert_string_equal(l.password, "pw");
    db_line_clear(&l);

    /* notes: bounded, no control characters but newline/tab. */
    char big[DOM_LINE_NOTES_MAX + 2];
    memset(big, 'n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const char *bad_notes[] = {big, "bell\a", "\xff\xfe"};
    for (size_t i = 0; i < 3; i++) {
        dom_line_in_init(&in);
        in.notes = bad_notes[i];
        dom_error_reset(&e);
        assert_int_equal(dom_line_update_id(f->db, id, &in, &e), -EINVAL);
        assert_true(has_field(&e, "notes", i ? "charset" : "too_long"));
    }
    big[DOM_LINE_NOTES_MAX] = '\0';
    dom_line_in_init(&in);
    in.notes = big;
    dom_error_reset(&e);
    assert_int_equal(dom_line_update_id(f->db, id, &in, &e), 0);

    /* Unknown ids: 404 for get, update, delete. */
    dom_line_in_init(&in);
    dom_error_reset(&e);
    assert_int_equal(dom_line_get_id(f->db, id + 100, &l, &e), -ENOENT);
    assert_int_equal(e.status, 404);
    dom_error_reset(&e);
    assert_int_equal(dom_line_update_id(f->db, id + 100, &in, &e), -ENOENT);
    assert_int_equal(e.status, 404);
    dom_error_reset(&e);
    assert_int_equal(dom_line_delete_id(f->db, id + 100, &e), -ENOENT);
    assert_int_equal(e.status, 404);
    dom_error_reset(&e);
    assert_int_equal(dom_line_delete_id(f->db, id, &e), 0);
    assert_int_equal(dom_line_get_id(f->db, id, &l, &e), -ENOENT);
}

/* Lists a page and returns the usernames joined with commas. */
static char *page_names(struct db *db, const struct dom_line_filter *flt, const struct db_page *p,
                        int64_t *total)
{
    static char out[1024];
    struct db_line *v;
    size_t n;
    struct dom_error e;
    dom_error_reset(&e);
    int rc = dom_line_page(db, flt, p, &v, &n, total, &e);
    if (rc)
        fail_msg("page: %s %s", e.detail, e.nfields ? e.fields[0].field : "");
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? "," : "", v[i].username);
    db_line_list_free(v, n);
    return out;
}

static void test_line_page(void **state)
{
    struct fixture *f = *state;
    int64_t news = mk_bouquet(f->db, "News"), sport = mk_bouquet(f->db, "Sport");
    (void)news;
    mk(f->db, "{\"username\":\"carol\",\"max_connections\":3,\"exp_date\":\"2030-01-01\","
              "\"notes\":\"VIP 50% off\",\"bouquets\":[\"Sport\",\"News\"]}");
    mk(f->db, "{\"username\":\"alice\",\"max_connections\":1,\"exp_date\":\"2028-06-01\","
              "\"bouquets\":[\"News\"]}");
    mk(f->db, "{\"username\":\"bob\",\"max_connections\":3,\"is_trial\":true}");
    mk(f->db, "{\"username\":\"dave_x\",\"max_connections\":2,\"exp_date\":\"2020-01-01\","
              "\"enabled\":false,\"notes\":\"hotel room 12\"}");
    mk(f->db, "{\"username\":\"erin\",\"max_connections\":0,\"exp_date\":\"2021-01-01\"}");
    int64_t total;
    struct dom_line_filter all = {.now = db_now()};
    struct db_page p = {.limit = 50};
    /* Default order: id. */
    assert_string_equal(page_names(f->db, &all, &p, &total), "carol,alice,bob,dave_x,erin");
    assert_int_equal(total, 5);
    /* Each sort key, both directions; ties by id. */
    p.nsort = 1;
    p.sort[0] = "username";
    assert_string_equal(page_names(f->db, &all, &p, &total), "alice,bob,carol,dave_x,erin");
    p.desc[0] = true;
    assert_string_equal(page_names(f->db, &all, &p, &total), "erin,dave_x,carol,bob,alice");
    p.sort[0] = "exp_date";
    p.desc[0] = false; /* never-expiring lines after every date */
    assert_string_equal(page_names(f->db, &all, &p, &total), "dave_x,erin,alice,carol,bob");
    p.desc[0] = true;
    assert_string_equal(page_names(f->db, &all, &p, &total), "bob,carol,alice,erin,dave_x");
    p.sort[0] = "max_connections";
    p.desc[0] = false;
    assert_string_equal(page_names(f->db, &all, &p, &total), "erin,alice,dave_x,carol,bob");
    p.desc[0] = true; /* ties by id in the key's direction */
    assert_string_equal(page_names(f->db, &all, &p, &total), "bob,carol,dave_x,alice,erin");
    p.nsort = 2;
    p.sort[1] = "username";
    p.desc[1] = false;
    assert_string_equal(page_names(f->db, &all, &p, &total), "bob,carol,dave_x,alice,erin");
    p.nsort = 1;
    p.sort[0] = "created_at";
    p.desc[0] = false; /* same second: ties by id */
    assert_string_equal(page_names(f->db, &all, &p, &total), "carol,alice,bob,dave_x,erin");
    p.sort[0] = "updated_at";
    p.desc[0] = true;
    assert_string_equal(page_names(f->db, &all, &p, &total), "erin,dave_x,bob,alice,carol");
    p.sort[0] = "id";
    assert_string_equal(page_names(f->db, &all, &p, &total), "erin,dave_x,bob,alice,carol");
    /* Paging: total counts every match. */
    p.desc[0] = false;
    p.limit = 2;
    p.offset = 2;
    assert_string_equal(page_names(f->db, &all, &p, &total), "bob,dave_x");
    assert_int_equal(total, 5);
    p.offset = 10;
    assert_string_equal(page_names(f->db, &all, &p, &total), "");
    assert_int_equal(total, 5);
    p.limit = 50;
    p.offset = 0;
    /* q: username or notes, case-insensitive, LIKE wildcards literal. */
    p.q = "AL";
    assert_string_equal(page_names(f->db, &all, &p, &total), "alice");
    p.q = "ROOM";
    assert_string_equal(page_names(f->db, &all, &p, &total), "dave_x");
    p.q = "50%";
    assert_string_equal(page_names(f->db, &all, &p, &total), "carol");
    p.q = "_";
    assert_string_equal(page_names(f->db, &all, &p, &total), "dave_x");
    p.q = "%";
    assert_string_equal(page_names(f->db, &all, &p, &total), "carol");
    p.q = "VIP 50";
    assert_string_equal(page_names(f->db, &all, &p, &total), "carol");
    assert_int_equal(total, 1);
    /* The trigram index follows updates and deletes (triggers). */
    struct dom_line_in upd;
    struct dom_error ue;
    dom_line_in_init(&upd);
    upd.notes = "moved to \"suite\" 4";
    dom_error_reset(&ue);
    assert_int_equal(dom_line_update(f->db, "dave_x", &upd, &ue), 0);
    p.q = "room";
    assert_string_equal(page_names(f->db, &all, &p, &total), "");
    assert_int_equal(total, 0);
    p.q = "\"SUITE\"";
    assert_string_equal(page_names(f->db, &all, &p, &total), "dave_x");
    p.q = "ave_";
    assert_string_equal(page_names(f->db, &all, &p, &total), "dave_x");
    mk(f->db, "{\"username\":\"zed\",\"notes\":\"caf\u00e9 suite\"}");
    p.q = "suite";
    assert_string_equal(page_names(f->db, &all, &p, &total), "dave_x,zed");
    p.q = "\xc3\xa9"; /* one character: no index, LIKE alone */
    assert_string_equal(page_names(f->db, &all, &p, &total), "zed");
    p.q = "af\xc3\xa9";
    assert_string_equal(page_names(f->db, &all, &p, &total), "zed");
    dom_error_reset(&ue);
    assert_int_equal(dom_line_delete(f->db, "zed", &ue), 0);
    assert_string_equal(page_names(f->db, &all, &p, &total), "");
    p.q = NULL;
    /* Filters, alone and combined. */
    struct dom_line_filter flt = {.now = db_now(), .expires_before = "2029-01-01"};
    assert_string_equal(page_names(f->db, &flt, &p, &total), "alice,dave_x,erin");
    flt.expires_after = "2020-06-01T00:00:00Z";
    assert_string_equal(page_names(f->db, &flt, &p, &total), "alice,erin");
    flt.expires_before = NULL;
    assert_string_equal(page_names(f->db, &flt, &p, &total), "carol,alice,erin");
    assert_int_equal(total, 3);
    struct dom_line_filter bq = {.now = db_now()};
    char sid[24];
    snprintf(sid, sizeof(sid), "%lld", (long long)sport);
    bq.bouquet_id = sid;
    assert_string_equal(page_names(f->db, &bq, &p, &total), "carol");
    snprintf(sid, sizeof(sid), "%lld", (long long)news);
    assert_string_equal(page_names(f->db, &bq, &p, &total), "carol,alice");
    bq.status = "ACTIVE"; /* any letter case */
    p.sort[0] = "username";
    assert_string_equal(page_names(f->db, &bq, &p, &total), "alice,carol");
    struct dom_line_filter st = {.now = db_now(), .status = "expired"};
    assert_string_equal(page_names(f->db, &st, &p, &total), "erin");
    st.status = "disabled";
    assert_string_equal(page_names(f->db, &st, &p, &total), "dave_x");
    st.status = "trial";
    assert_string_equal(page_names(f->db, &st, &p, &total), "bob");
    st.status = "banned";
    assert_string_equal(page_names(f->db, &st, &p, &total), "");
    assert_int_equal(total, 0);

    /* Bad values: each a 422 naming its parameter. */
    struct dom_line_filter bad = {.status = "gone",
                                  .expires_before = "soon",
                                  .expires_after = "2026-13-01",
                                  .bouquet_id = "x1",
                                  .now = db_now()};
    struct db_page bp = {.limit = 0, .nsort = 1, .sort = {"password"}};
    struct db_line *v;
    size_t n;
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(dom_line_page(f->db, &bad, &bp, &v, &n, &total, &e), -EINVAL);
    assert_int_equal(e.status, 422);
    assert_true(has_field(&e, "status", "unknown"));
    assert_true(has_field(&e, "expires_before", "format"));
    assert_true(has_field(&e, "expires_after", "format") ||
                has_field(&e, "expires_after", "range"));
    assert_true(has_field(&e, "bouquet_id", "format"));
    assert_true(has_field(&e, "page_size", "range"));
    assert_true(has_field(&e, "sort", "unknown"));
}

static void test_line_json_out(void **state)
{
    struct fixture *f = *state;
    int64_t news = mk_bouquet(f->db, "News"), sport = mk_bouquet(f->db, "Sport");
    char body[256];
    snprintf(body, sizeof(body),
             "{\"username\":\"j.out\",\"password\":\"pw\",\"exp_date\":\"2030-01-01T12:00:00Z\","
             "\"bouquets\":[%lld,{\"id\":%lld,\"name\":\"ignored\"}],\"allowed_outputs\":[\"hls\"],"
             "\"notes\":\"n\",\"message\":\"m\"}",
             (long long)sport, (long long)news);
    int64_t id = mk(f->db, body);
    struct db_line l;
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(dom_line_get_id(f->db, id, &l, &e), 0);
    json_t *d = line_doc(&l, db_now());
    assert_int_equal(json_integer_value(json_object_get(d, "id")), id);
    assert_string_equal(json_string_value(json_object_get(d, "username")), "j.out");
    assert_string_equal(json_string_value(json_object_get(d, "password")), "pw");
    assert_string_equal(json_string_value(json_object_get(d, "status")), "Active");
    assert_string_equal(json_string_value(json_object_get(d, "exp_date")), "2030-01-01T12:00:00Z");
    assert_int_equal(json_integer_value(json_object_get(d, "exp_date_epoch")), 1893499200);
    assert_true(json_is_false(json_object_get(d, "is_trial")));
    assert_true(json_is_true(json_object_get(d, "enabled")));
    assert_true(json_is_false(json_object_get(d, "banned")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "allowed_outputs"), 0)),
                        "m3u8");
    assert_string_equal(json_string_value(json_object_get(d, "message")), "m");
    assert_string_equal(json_string_value(json_object_get(d, "notes")), "n");
    json_t *bq = json_object_get(d, "bouquets");
    assert_int_equal(json_array_size(bq), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(bq, 0), "id")), sport);
    assert_string_equal(json_string_value(json_object_get(json_array_get(bq, 0), "name")), "Sport");
    assert_string_equal(json_string_value(json_object_get(json_array_get(bq, 1), "name")), "News");
    assert_true(json_is_string(json_object_get(d, "created_at")));
    assert_true(json_is_string(json_object_get(d, "updated_at")));
    assert_true(json_is_null(json_object_get(d, "owner_id")));
    assert_int_equal(json_object_size(d), 17);
    json_decref(d);
    /* Never expiring: null and null. */
    l.has_exp = false;
    d = line_doc(&l, db_now());
    assert_true(json_is_null(json_object_get(d, "exp_date")));
    assert_true(json_is_null(json_object_get(d, "exp_date_epoch")));
    json_decref(d);
    db_line_clear(&l);

    /* What GET shows can be sent back except the computed members. */
    const char *ro = "{\"id\":1,\"status\":\"active\",\"exp_date_epoch\":1,\"created_at\":\"x\","
                     "\"updated_at\":\"x\"}";
    struct dom_line_json j;
    dom_error_reset(&e);
    assert_int_equal(dom_line_from_json(ro, strlen(ro), &j, &e), -EINVAL);
    assert_int_equal(e.nfields, 5);
    assert_true(has_field(&e, "status", "read_only"));
    dom_line_json_free(&j);
    /* An unknown bouquet id is a 422 naming its index. */
    const char *unk = "{\"bouquets\":[999]}";
    dom_error_reset(&e);
    assert_int_equal(dom_line_from_json(unk, strlen(unk), &j, &e), 0);
    assert_int_equal(dom_line_update_id(f->db, id, &j.in, &e), -EINVAL);
    assert_string_equal(e.code, DOM_E_REFERENCE);
    assert_true(has_field(&e, "bouquets[0]", "unknown"));
    dom_line_json_free(&j);
    const char *badt = "{\"exp_date\":\"2030-02-30\",\"bouquets\":[0],\"plan_id\":3}";
    dom_error_reset(&e);
    assert_int_equal(dom_line_from_json(badt, strlen(badt), &j, &e), 0);
    assert_int_equal(dom_line_update_id(f->db, id, &j.in, &e), -EINVAL);
    assert_true(has_field(&e, "exp_date", "range")); /* Feb 30 is a date out of range */
    assert_true(has_field(&e, "bouquets[0]", "range"));
    assert_true(has_field(&e, "plan_id", "create_only"));
    dom_line_json_free(&j);
}

/* The body of POST /api/v1/lines/bulk: ids and exactly one change, errors
 * inside a member named under it, every bad member in one answer. */
static void test_line_bulk_json(void **state)
{
    (void)state;
    struct dom_line_bulk_json *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    struct dom_error e;
    const char *ok = "{\"ids\":[3,1,2],\"extend\":{\"months\":2}}";
    dom_error_reset(&e);
    assert_int_equal(dom_line_bulk_from_json(ok, strlen(ok), b, &e), 0);
    assert_int_equal(b->op, DOM_LINE_BULK_EXTEND);
    assert_int_equal(b->nids, 3);
    assert_int_equal(b->ids[0], 3);
    assert_int_equal(b->extend.in.months, 2);
    dom_line_bulk_json_free(b);
    const char *patch = "{\"patch\":{\"enabled\":false,\"bouquets\":[\"Sport\",4]},\"ids\":[9]}";
    dom_error_reset(&e);
    assert_int_equal(dom_line_bulk_from_json(patch, strlen(patch), b, &e), 0);
    assert_int_equal(b->op, DOM_LINE_BULK_PATCH);
    assert_int_equal(b->patch.in.enabled, 0);
    assert_int_equal(b->patch.in.bouquet_count, 2);
    assert_string_equal(b->patch.in.bouquets[0], "Sport"); /* still readable: the doc is kept */
    assert_int_equal(b->patch.in.bouquet_ids[1], 4);
    dom_line_bulk_json_free(b);
    const char *del = "{\"ids\":[1],\"delete\":true}";
    dom_error_reset(&e);
    assert_int_equal(dom_line_bulk_from_json(del, strlen(del), b, &e), 0);
    assert_int_equal(b->op, DOM_LINE_BULK_DELETE);
    dom_line_bulk_json_free(b);

    const struct {
        const char *body, *field, *code;
    } bad[] = {
        {"{\"delete\":true}", "ids", "required"},
        {"{\"ids\":[1]}", "patch", "required"},
        {"{\"ids\":[],\"delete\":true}", "ids", "type"},
        {"{\"ids\":[1,1],\"delete\":true}", "ids[1]", "duplicate"},
        {"{\"ids\":[0],\"delete\":true}", "ids[0]", "type"},
        {"{\"ids\":[1],\"delete\":true,\"extend\":{\"days\":1}}", "extend", "conflict"},
        {"{\"ids\":[1],\"delete\":false}", "delete", "type"},
        {"{\"ids\":[1],\"extend\":{\"days\":0}}", "extend.days", "range"},
        {"{\"ids\":[1],\"extend\":{}}", "extend.days", "required"},
        {"{\"ids\":[1],\"patch\":{\"max_connections\":-1,\"x\":1}}", "patch.max_connections",
         "range"},
        {"{\"ids\":[1],\"patch\":{\"max_connections\":-1,\"x\":1}}", "patch.x", "unknown"},
        {"{\"ids\":[1],\"patch\":{\"plan_id\":2}}", "patch.plan_id", "create_only"},
        {"{\"ids\":[1],\"patch\":{}}", "patch", "required"},
        {"{\"ids\":[1],\"patch\":[]}", "patch", "type"},
        {"{\"ids\":[1],\"delete\":true,\"why\":1}", "why", "unknown"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dom_error_reset(&e);
        assert_int_equal(dom_line_bulk_from_json(bad[i].body, strlen(bad[i].body), b, &e), -EINVAL);
        if (!has_field(&e, bad[i].field, bad[i].code))
            fail_msg("%s: no %s error on %s", bad[i].body, bad[i].code, bad[i].field);
        dom_line_bulk_json_free(b);
    }
    /* More than the bound is refused whole; not JSON or not an object is 400. */
    struct buf big;
    buf_init(&big, 1 << 20);
    buf_puts(&big, "{\"delete\":true,\"ids\":[");
    for (int i = 1; i <= DOM_LINE_BULK_MAX + 1; i++)
        buf_printf(&big, "%s%d", i > 1 ? "," : "", i);
    buf_puts(&big, "]}");
    dom_error_reset(&e);
    assert_int_equal(dom_line_bulk_from_json(big.data, big.len, b, &e), -EINVAL);
    assert_true(has_field(&e, "ids", "too_long"));
    dom_line_bulk_json_free(b);
    buf_free(&big);
    dom_error_reset(&e);
    assert_int_equal(dom_line_bulk_from_json("[1]", 3, b, &e), -EINVAL);
    assert_int_equal(e.status, 400);
    dom_line_bulk_json_free(b);
    free(b);
}

static int extend(struct db *db, int64_t id, const char *json, int64_t now, int64_t *exp,
                  struct dom_error *e)
{
    struct dom_line_extend_json x;
    dom_error_reset(e);
    int rc = dom_line_extend_from_json(json, strlen(json), &x, e);
    return rc ? rc : dom_line_extend(db, id, &x.in, now, exp, e);
}

static void test_line_extend(void **state)
{
    struct fixture *f = *state;
    const int64_t now = 1800000000; /* 2027-01-15T08:00:00Z */
    struct dom_error e;
    int64_t exp;
    /* Running: from the current expiry. */
    int64_t run = mk(f->db, "{\"username\":\"run\",\"exp_date\":1800086400,\"banned\":true}");
    assert_int_equal(extend(f->db, run, "{\"days\":30}", now, &exp, &e), 0);
    assert_int_equal(exp, 1800086400 + 30 * 86400);
    struct db_line l;
    assert_int_equal(dom_line_get_id(f->db, run, &l, &e), 0);
    assert_int_equal(l.exp_date, exp);
    assert_true(l.banned); /* state flags untouched */
    db_line_clear(&l);
    /* Expired: from now. Months clamp to the month's end. */
    int64_t old = mk(f->db, "{\"username\":\"old\",\"exp_date\":\"2020-01-01\"}");
    assert_int_equal(extend(f->db, old, "{\"days\":1}", now, &exp, &e), 0);
    assert_int_equal(exp, now + 86400);
    int64_t jan = mk(f->db, "{\"username\":\"jan\",\"exp_date\":\"2027-01-31T10:00:00Z\"}");
    assert_int_equal(extend(f->db, jan, "{\"months\":1}", now, &exp, &e), 0);
    assert_int_equal(exp, 1803808800); /* 2027-02-28T10:00:00Z */
    /* until: must lie after max(now, expiry). */
    assert_int_equal(extend(f->db, jan, "{\"until\":\"2027-06-01\"}", now, &exp, &e), 0);
    assert_int_equal(exp, 1811808000);
    assert_int_equal(extend(f->db, jan, "{\"until\":\"2027-05-01\"}", now, &exp, &e), -EINVAL);
    assert_true(has_field(&e, "until", "range"));
    assert_int_equal(extend(f->db, old, "{\"until\":\"2027-01-01\"}", now + 86400 * 10, &exp, &e),
                     -EINVAL);
    /* Never-expiring: 409. Unknown: 404. */
    int64_t never = mk(f->db, "{\"username\":\"never\"}");
    assert_int_equal(extend(f->db, never, "{\"days\":1}", now, &exp, &e), -EEXIST);
    assert_int_equal(e.status, 409);
    assert_string_equal(e.code, DOM_E_NEVER_EXPIRES);
    assert_int_equal(extend(f->db, never + 50, "{\"days\":1}", now, &exp, &e), -ENOENT);
    assert_int_equal(e.status, 404);
    /* Bodies: exactly one member, in range. */
    const struct {
        const char *body, *field, *code;
    } bad[] = {
        {"{}", "days", "required"},
        {"{\"days\":1,\"months\":1}", "months", "conflict"},
        {"{\"days\":1,\"until\":\"2030-01-01\"}", "until", "conflict"},
        {"{\"days\":0}", "days", "range"},
        {"{\"days\":3651}", "days", "range"},
        {"{\"months\":121}", "months", "range"},
        {"{\"months\":\"1\"}", "months", "type"},
        {"{\"until\":\"someday\"}", "until", "format"},
        {"{\"weeks\":2}", "weeks", "unknown"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(extend(f->db, run, bad[i].body, now, &exp, &e), -EINVAL);
        if (!has_field(&e, bad[i].field, bad[i].code))
            fail_msg("%s: expected %s/%s", bad[i].body, bad[i].field, bad[i].code);
    }
    assert_int_equal(extend(f->db, run, "[1]", now, &exp, &e), -EINVAL);
    assert_int_equal(e.status, 400);
    /* Beyond 9999 is refused, not wrapped. */
    int64_t far = mk(f->db, "{\"username\":\"far\",\"exp_date\":\"9999-06-01\"}");
    assert_int_equal(extend(f->db, far, "{\"months\":12}", now, &exp, &e), -EINVAL);
    assert_true(has_field(&e, "months", "range"));
}

static int64_t mk_plan(struct db *db, const char *json, struct dom_error *e)
{
    struct dom_plan_json j;
    int64_t id = 0;
    dom_error_reset(e);
    int rc = dom_plan_from_json(json, strlen(json), &j, e);
    if (rc == 0)
        rc = dom_plan_create(db, &j.in, &id, e);
    dom_plan_json_free(&j);
    return rc ? rc : id;
}

static int patch_plan(struct db *db, int64_t id, const char *json, struct dom_error *e)
{
    struct dom_plan_json j;
    dom_error_reset(e);
    int rc = dom_plan_from_json(json, strlen(json), &j, e);
    if (rc == 0)
        rc = dom_plan_update(db, id, &j.in, e);
    dom_plan_json_free(&j);
    return rc;
}

static void test_plans(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    int64_t news = mk_bouquet(f->db, "News");
    mk_bouquet(f->db, "Sport");
    int64_t gold = mk_plan(f->db,
                           "{\"name\":\"Gold\",\"duration_months\":1,\"max_connections\":3,"
                           "\"allowed_outputs\":[\"hls\"],\"bouquets\":[\"Sport\",\"News\"]}",
                           &e);
    assert_true(gold > 0);
    struct db_plan p;
    assert_int_equal(dom_plan_get(f->db, gold, &p, &e), 0);
    assert_string_equal(p.name, "Gold");
    assert_int_equal(p.duration_months, 1);
    assert_int_equal(p.max_connections, 3);
    assert_string_equal(p.allowed_outputs, "m3u8");
    assert_int_equal(p.bouquet_count, 2);
    assert_string_equal(p.bouquets[0], "Sport");
    assert_int_equal(p.bouquet_ids[1], news);
    db_plan_clear(&p);
    /* Defaults. */
    int64_t basic = mk_plan(f->db, "{\"name\":\"Basic\"}", &e);
    assert_true(basic > 0);
    assert_int_equal(dom_plan_get(f->db, basic, &p, &e), 0);
    assert_int_equal(p.max_connections, 1);
    assert_string_equal(p.allowed_outputs, "ts,m3u8");
    assert_int_equal(dom_plan_expiry(&p, 1000), 0);
    assert_false(p.is_trial);
    db_plan_clear(&p);
    /* A taken name: 409 naming it. */
    assert_int_equal(mk_plan(f->db, "{\"name\":\"Gold\"}", &e), -EEXIST);
    assert_int_equal(e.status, 409);
    assert_true(has_field(&e, "name", "conflict"));
    /* Every rule names its field. */
    const struct {
        const char *body, *field, *code;
    } bad[] = {
        {"{}", "name", "required"},
        {"{\"name\":\"\"}", "name", "required"},
        {"{\"name\":\"x\",\"duration_days\":0}", "duration_days", "range"},
        {"{\"name\":\"x\",\"duration_days\":3651}", "duration_days", "range"},
        {"{\"name\":\"x\",\"duration_months\":121}", "duration_months", "range"},
        {"{\"name\":\"x\",\"trial_hours\":721,\"is_trial\":true}", "trial_hours", "range"},
        {"{\"name\":\"x\",\"duration_days\":1,\"duration_months\":1}", "duration_months",
         "conflict"},
        {"{\"name\":\"x\",\"trial_hours\":5}", "trial_hours", "conflict"},
        {"{\"name\":\"x\",\"max_connections\":-1}", "max_connections", "range"},
        {"{\"name\":\"x\",\"allowed_outputs\":[\"flv\"]}", "allowed_outputs", "format"},
        {"{\"name\":\"x\",\"bouquets\":[\"Nope\"]}", "bouquets[0]", "unknown"},
        {"{\"name\":\"x\",\"is_trial\":\"yes\"}", "is_trial", "type"},
        {"{\"name\":\"x\",\"id\":4}", "id", "read_only"},
        {"{\"name\":\"x\",\"price\":4}", "price", "unknown"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_true(mk_plan(f->db, bad[i].body, &e) < 0);
        if (!has_field(&e, bad[i].field, bad[i].code))
            fail_msg("%s: expected %s/%s, got %s", bad[i].body, bad[i].field, bad[i].code,
                     e.nfields ? e.fields[0].field : e.detail);
    }
    /* Merge: omitted members stay; one duration replaces the other; null
     * clears; the merged plan is checked as a whole. */
    assert_int_equal(patch_plan(f->db, gold, "{\"duration_days\":30}", &e), 0);
    assert_int_equal(dom_plan_get(f->db, gold, &p, &e), 0);
    assert_int_equal(p.duration_days, 30);
    assert_int_equal(p.duration_months, 0);
    assert_int_equal(p.max_connections, 3);
    assert_int_equal(p.bouquet_count, 2);
    assert_int_equal(dom_plan_expiry(&p, 1000), 1000 + 30 * 86400);
    db_plan_clear(&p);
    assert_int_equal(patch_plan(f->db, gold, "{\"trial_hours\":24}", &e), -EINVAL);
    assert_true(has_field(&e, "trial_hours", "conflict"));
    assert_int_equal(patch_plan(f->db, gold, "{\"trial_hours\":24,\"is_trial\":true}", &e), 0);
    assert_int_equal(patch_plan(f->db, gold, "{\"is_trial\":false}", &e), -EINVAL);
    assert_int_equal(patch_plan(f->db, gold,
                                "{\"trial_hours\":null,\"max_connections\":null,"
                                "\"bouquets\":null,\"allowed_outputs\":null,\"name\":\"Gold 2\"}",
                                &e),
                     0);
    assert_int_equal(dom_plan_get(f->db, gold, &p, &e), 0);
    assert_int_equal(dom_plan_expiry(&p, 1000), 0);
    assert_int_equal(p.max_connections, 1);
    assert_int_equal(p.bouquet_count, 0);
    assert_string_equal(p.allowed_outputs, "ts,m3u8");
    assert_string_equal(p.name, "Gold 2");
    assert_true(p.is_trial);
    db_plan_clear(&p);
    assert_int_equal(patch_plan(f->db, gold, "{\"name\":\"Basic\"}", &e), -EEXIST);
    assert_int_equal(patch_plan(f->db, gold + 99, "{}", &e), -ENOENT);
    assert_int_equal(e.status, 404);
    /* Page with q and sort. */
    struct db_page pg = {.limit = 10, .nsort = 1, .sort = {"name"}, .desc = {true}};
    struct db_plan *v;
    size_t n;
    int64_t total;
    dom_error_reset(&e);
    assert_int_equal(dom_plan_page(f->db, &pg, &v, &n, &total, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "Gold 2");
    db_plan_list_free(v, n);
    pg.q = "bas";
    assert_int_equal(dom_plan_page(f->db, &pg, &v, &n, &total, &e), 0);
    assert_int_equal(total, 1);
    assert_string_equal(v[0].name, "Basic");
    db_plan_list_free(v, n);
    pg.sort[0] = "price";
    assert_int_equal(dom_plan_page(f->db, &pg, &v, &n, &total, &e), -EINVAL);
    assert_true(has_field(&e, "sort", "unknown"));
    /* JSON out. */
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    assert_int_equal(dom_plan_get(f->db, basic, &p, &e), 0);
    dom_plan_write_json(&w, &p);
    db_plan_clear(&p);
    json_t *d = json_loads(b.data, 0, NULL);
    assert_non_null(d);
    assert_true(json_is_null(json_object_get(d, "duration_days")));
    assert_string_equal(json_string_value(json_object_get(d, "name")), "Basic");
    assert_int_equal(json_array_size(json_object_get(d, "allowed_outputs")), 2);
    assert_string_equal(json_string_value(json_object_get(d, "credit_price")), "0.0000");
    assert_int_equal(json_object_size(d), 14);
    json_decref(d);
    buf_free(&b);
    /* Delete. */
    assert_int_equal(dom_plan_delete(f->db, basic, &e), 0);
    assert_int_equal(dom_plan_delete(f->db, basic, &e), -ENOENT);
}

static void test_line_from_plan(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    mk_bouquet(f->db, "News");
    int64_t sport = mk_bouquet(f->db, "Sport");
    int64_t gold = mk_plan(f->db,
                           "{\"name\":\"Gold\",\"duration_days\":30,\"max_connections\":3,"
                           "\"allowed_outputs\":[\"ts\"],\"bouquets\":[\"Sport\",\"News\"]}",
                           &e);
    int64_t trial = mk_plan(f->db, "{\"name\":\"Try\",\"trial_hours\":24,\"is_trial\":true}", &e);
    assert_true(gold > 0 && trial > 0);
    char body[256];
    int64_t before = db_now();
    snprintf(body, sizeof(body), "{\"username\":\"p1\",\"plan_id\":%lld}", (long long)gold);
    int64_t id = mk(f->db, body);
    struct db_line l;
    assert_int_equal(dom_line_get_id(f->db, id, &l, &e), 0);
    assert_int_equal(l.max_connections, 3);
    assert_string_equal(l.allowed_outputs, "ts");
    assert_int_equal(l.bouquet_count, 2);
    assert_int_equal(l.bouquet_ids[0], sport);
    assert_true(l.has_exp);
    assert_true(l.exp_date >= before + 30 * 86400 && l.exp_date <= db_now() + 30 * 86400);
    assert_false(l.is_trial);
    db_line_clear(&l);
    /* The body overrides the plan. */
    snprintf(body, sizeof(body),
             "{\"username\":\"p2\",\"plan_id\":%lld,\"max_connections\":9,"
             "\"exp_date\":\"2031-01-01\",\"bouquets\":[],\"is_trial\":true}",
             (long long)gold);
    id = mk(f->db, body);
    assert_int_equal(dom_line_get_id(f->db, id, &l, &e), 0);
    assert_int_equal(l.max_connections, 9);
    assert_int_equal(l.exp_date, 1924992000);
    assert_int_equal(l.bouquet_count, 0);
    assert_true(l.is_trial);
    assert_string_equal(l.allowed_outputs, "ts");
    db_line_clear(&l);
    /* A trial plan: hours, and is_trial. By name (the CLI's --plan). */
    struct dom_line_in in;
    struct dom_line_created made;
    dom_line_in_init(&in);
    in.username = "p3";
    in.plan = "Try";
    dom_error_reset(&e);
    assert_int_equal(dom_line_create(f->db, &in, &made, &e), 0);
    assert_int_equal(dom_line_get_id(f->db, made.id, &l, &e), 0);
    assert_true(l.is_trial);
    assert_true(l.exp_date >= before + 86400 && l.exp_date <= db_now() + 86400);
    db_line_clear(&l);
    /* Unknown plans: 422 naming plan_id; nothing is created. */
    in.plan = "Nope";
    in.username = "p4";
    dom_error_reset(&e);
    assert_int_equal(dom_line_create(f->db, &in, &made, &e), -EINVAL);
    assert_int_equal(e.status, 422);
    assert_true(has_field(&e, "plan_id", "unknown"));
    assert_int_equal(dom_line_get(f->db, "p4", &l, &e), -ENOENT);
    snprintf(body, sizeof(body), "{\"username\":\"p5\",\"plan_id\":%lld}", (long long)gold + 99);
    struct dom_line_json j;
    dom_error_reset(&e);
    assert_int_equal(dom_line_from_json(body, strlen(body), &j, &e), 0);
    assert_int_equal(dom_line_create(f->db, &j.in, &made, &e), -EINVAL);
    assert_string_equal(e.code, DOM_E_REFERENCE);
    dom_line_json_free(&j);
    /* Deleting the plan leaves its lines alone. */
    assert_int_equal(dom_plan_delete(f->db, gold, &e), 0);
    assert_int_equal(dom_line_get(f->db, "p1", &l, &e), 0);
    assert_int_equal(l.max_connections, 3);
    db_line_clear(&l);
}

static json_t *settings_doc(struct db *db)
{
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    struct dom_error e;
    jsonw_init(&w, &b);
    dom_error_reset(&e);
    assert_int_equal(dom_settings_get_all(db, &w, &e), 0);
    json_t *d = json_loads(b.data, 0, NULL);
    assert_non_null(d);
    buf_free(&b);
    return d;
}

static int patch(struct db *db, const char *body, struct dom_error *e)
{
    dom_error_reset(e);
    return dom_settings_patch(db, body, strlen(body), e);
}

static void test_settings(void **state)
{
    struct fixture *f = *state;
    struct dom_error e;
    json_t *d = settings_doc(f->db);
    assert_int_equal(json_object_size(d), dom_setting_count);
    assert_string_equal(json_string_value(json_object_get(d, "server_name")), "xtreamd");
    assert_string_equal(json_string_value(json_object_get(d, "public_url")), "");
    assert_string_equal(json_string_value(json_object_get(d, "timezone")), "UTC");
    assert_int_equal(json_integer_value(json_object_get(d, "default_max_connections")), 1);
    assert_int_equal(json_array_size(json_object_get(d, "default_outputs")), 2);
    assert_int_equal(json_integer_value(json_object_get(d, "trial_hours")), 0);
    assert_int_equal(json_integer_value(json_object_get(d, "epg_refresh_hours")), 24);
    json_decref(d);
    for (size_t i = 0; i < dom_setting_count; i++)
        assert_true(dom_setting_defs[i].description[0]);

    assert_int_equal(patch(f->db,
                           "{\"server_name\":\"Hotel TV\",\"public_url\":\"https://tv.example:8443/"
                           "x\",\"timezone\":\"Europe/Paris\",\"default_max_connections\":2,"
                           "\"default_outputs\":[\"hls\"],\"trial_hours\":48,"
                           "\"epg_refresh_hours\":12}",
                           &e),
                     0);
    d = settings_doc(f->db);
    assert_string_equal(json_string_value(json_object_get(d, "server_name")), "Hotel TV");
    assert_string_equal(json_string_value(json_object_get(d, "timezone")), "Europe/Paris");
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "default_outputs"), 0)),
                        "m3u8");
    assert_int_equal(json_integer_value(json_object_get(d, "epg_refresh_hours")), 12);
    json_decref(d);
    assert_int_equal(dom_setting_int(f->db, "default_max_connections"), 2);

    /* A new line without max_connections/outputs gets the defaults; a trial
     * line without expiry gets trial_hours. */
    int64_t id = mk(f->db, "{\"username\":\"deflt\",\"is_trial\":true}");
    struct db_line l;
    assert_int_equal(dom_line_get_id(f->db, id, &l, &e), 0);
    assert_int_equal(l.max_connections, 2);
    assert_string_equal(l.allowed_outputs, "m3u8");
    assert_true(l.has_exp && l.exp_date > db_now() + 47 * 3600 &&
                l.exp_date <= db_now() + 48 * 3600);
    db_line_clear(&l);

    /* Each bad value and unknown key names its key; nothing is written. */
    assert_int_equal(patch(f->db,
                           "{\"server_name\":\"\",\"public_url\":\"ftp://x\",\"timezone\":"
                           "\"../etc/passwd\",\"default_max_connections\":100001,"
                           "\"default_outputs\":[\"flv\"],\"trial_hours\":\"1\","
                           "\"epg_refresh_hours\":0,\"colour\":1}",
                           &e),
                     -EINVAL);
    assert_int_equal(e.status, 422);
    assert_true(has_field(&e, "server_name", "required"));
    assert_true(has_field(&e, "public_url", "format"));
    assert_true(has_field(&e, "timezone", "unknown"));
    assert_true(has_field(&e, "default_max_connections", "range"));
    assert_true(has_field(&e, "default_outputs", "format"));
    assert_true(has_field(&e, "trial_hours", "type"));
    assert_true(has_field(&e, "epg_refresh_hours", "range"));
    assert_true(has_field(&e, "colour", "unknown"));
    const char *zones[] = {"Nowhere/City", "/usr/share/zoneinfo/UTC", "Europe", "-UTC",
                           "Europe//Paris"};
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"timezone\":\"%s\"}", zones[i]);
        assert_int_equal(patch(f->db, body, &e), -EINVAL);
        assert_true(has_field(&e, "timezone", "unknown"));
    }
    dom_error_reset(&e);
    assert_int_equal(dom_settings_validate("{\"trial_hours\":-1}", 18, &e), -EINVAL);
    assert_true(has_field(&e, "trial_hours", "range"));
    dom_error_reset(&e);
    assert_int_equal(dom_settings_validate("{\"trial_hours\":1}", 17, &e), 0);
    assert_int_equal(patch(f->db, "{\"trial_hours\":1,\"colour\":1}", &e), -EINVAL);
    assert_int_equal(dom_setting_int(f->db, "trial_hours"), 48); /* all or nothing */
    assert_int_equal(patch(f->db, "[]", &e), -EINVAL);
    assert_int_equal(e.status, 400);
    assert_int_equal(patch(f->db, "{\"public_url\":\"\"}", &e), 0);

    /* null: back to the default. */
    assert_int_equal(patch(f->db, "{\"server_name\":null,\"trial_hours\":null}", &e), 0);
    d = settings_doc(f->db);
    assert_string_equal(json_string_value(json_object_get(d, "server_name")), "xtreamd");
    assert_int_equal(json_integer_value(json_object_get(d, "trial_hours")), 0);
    assert_string_equal(json_string_value(json_object_get(d, "timezone")), "Europe/Paris");
    json_decref(d);
}

/* Migration 5 on a database that already has lines: the search index is
 * built from them (FTS5 'rebuild'), and the sort/filter indexes exist. The
 * schema is rewound to migration 4 (5 to 8 undone: a later migration
 * adds its own undo here) and migrated again. */
/* Migration 12: the content-epoch triggers and the lines' change log. */
static void drop_epoch_triggers(struct db *db)
{
    struct db_stmt *st;
    struct buf sql = BUF_INIT(0);
    assert_int_equal(db_prepare(db,
                                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                " AND (name GLOB '*_epoch_a[iud]' OR name GLOB '*_change_a[iud]')",
                                &st),
                     0);
    while (db_step(st) == DB_ROW)
        buf_printf(&sql, "DROP TRIGGER %s;", db_col_text(st, 0));
    db_finalize(st);
    buf_printf(&sql, "DROP TABLE catalog_epochs; DROP TABLE line_changes;");
    buf_putc(&sql, '\0');
    assert_int_equal(sql.err, 0);
    assert_int_equal(db_exec(db, sql.data), 0);
    buf_free(&sql);
}

static void test_migration_5_on_existing_lines(void **state)
{
    struct fixture *f = *state;
    if (db_fixture_pg())
        skip(); /* SQLite's migration 5 (FTS5); PostgreSQL starts at version 10 */
    /* migration 14 (resellers; plan_reseller_groups goes before plans) */
    assert_int_equal(db_exec(f->db, "DROP TABLE plan_reseller_groups; DROP TABLE idempotency_keys;"
                                    "DROP TABLE credit_ledger; DROP TABLE resellers;"
                                    "DROP TABLE reseller_groups; DROP INDEX lines_owner;"),
                     0);
    drop_epoch_triggers(f->db); /* migration 12 */
    /* migrations 16 (stream placements) and 15 (cluster sessions) */
    assert_int_equal(db_exec(f->db, "DROP TABLE stream_placements; DROP TABLE cluster_sessions;"),
                     0);
    /* migration 14 (cluster nodes) */
    assert_int_equal(
        db_exec(f->db, "DROP TABLE node_status; DROP TABLE node_enrol_codes; DROP TABLE nodes;"),
        0);
    /* migration 13 (ABR ladders) */
    assert_int_equal(db_exec(f->db, "ALTER TABLE transcode_profiles DROP COLUMN renditions;"), 0);
    assert_int_equal(db_exec(f->db, "DROP TRIGGER lines_search_ai; DROP TRIGGER lines_search_ad;"
                                    "DROP TRIGGER lines_search_au; DROP TABLE lines_search;"
                                    "DROP INDEX lines_exp_date; DROP INDEX lines_created_at;"
                                    "DROP INDEX lines_updated_at; DROP INDEX lines_max_connections;"
                                    "DROP INDEX line_bouquets_bouquet; DROP TABLE plan_bouquets;"
                                    "DROP TABLE plans; DROP INDEX streams_name;"
                                    "DROP INDEX streams_order; DROP INDEX movies_title;"
                                    "DROP INDEX series_title; DROP INDEX lines_state;"
                                    /* migration 8 (access control) */
                                    "DROP TABLE access_rules; DROP TABLE ip_bans;"
                                    "ALTER TABLE lines DROP COLUMN lock_first_ip;"
                                    "ALTER TABLE lines DROP COLUMN first_ip;"
                                    "ALTER TABLE lines DROP COLUMN max_daily_ips;"
                                    "ALTER TABLE lines DROP COLUMN denied_uas;"
                                    "ALTER TABLE lines DROP COLUMN allowed_countries;"
                                    "ALTER TABLE lines DROP COLUMN denied_countries;"
                                    "ALTER TABLE lines DROP COLUMN attack_flagged_at;"
                                    /* migration 9 (transcode profiles) */
                                    "DROP INDEX streams_transcode_profile;"
                                    "ALTER TABLE transcode_profiles DROP COLUMN hw_backend;"
                                    "ALTER TABLE transcode_profiles DROP COLUMN rate_control;"
                                    "ALTER TABLE transcode_profiles DROP COLUMN maxrate_kbps;"
                                    "ALTER TABLE transcode_profiles DROP COLUMN bufsize_kbps;"
                                    "ALTER TABLE transcode_profiles DROP COLUMN gop_seconds;"
                                    "ALTER TABLE transcode_profiles DROP COLUMN fps;"
                                    "ALTER TABLE transcode_profiles DROP COLUMN deinterlace;"
                                    "ALTER TABLE transcode_profiles DROP COLUMN audio_channels;"
                                    "ALTER TABLE transcode_profiles DROP COLUMN logo;"
                                    "ALTER TABLE transcode_profiles DROP COLUMN logo_position;"
                                    "ALTER TABLE transcode_profiles DROP COLUMN updated_at;"
                                    "PRAGMA user_version = 4;"),
                     0);
    assert_int_equal(db_exec(f->db, "INSERT INTO lines (username, password, notes, created_at,"
                                    " updated_at) VALUES ('old.one', 'pw', 'room 301', 1, 1),"
                                    " ('old.two', 'pw', '', 1, 1);"),
                     0);
    db_close(f->db);
    f->db = NULL;
    assert_int_equal(db_open(f->dir, &f->db), 0);
    struct dom_line_filter all = {.now = db_now()};
    struct db_page p = {.limit = 10, .q = "room 30"};
    int64_t total;
    assert_string_equal(page_names(f->db, &all, &p, &total), "old.one");
    p.q = "old.t";
    assert_string_equal(page_names(f->db, &all, &p, &total), "old.two");
    struct dom_error e;
    dom_error_reset(&e);
    assert_true(mk_plan(f->db, "{\"name\":\"After\"}", &e) > 0);
}

/* ---- Two writers at once on PostgreSQL (READ COMMITTED, several nodes) ---- */

/* Waits (deadline 60 s) until some backend of the cluster waits for a lock:
 * the second writer is then blocked behind the first, whichever lock it
 * waits on (the writer lock, a row, a unique key). */
static void wait_for_lock_waiter(const char *dir)
{
    struct db *mon;
    assert_int_equal(db_open(dir, &mon), 0);
    struct timespec t0, now, pause = {0, 2000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t waiting = 0;
    for (;;) {
        struct db_stmt *st;
        assert_int_equal(db_prepare(mon, "SELECT count(*) FROM pg_locks WHERE NOT granted", &st),
                         0);
        assert_int_equal(db_step(st), DB_ROW);
        waiting = db_col_int64(st, 0);
        db_finalize(st);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (waiting > 0 || now.tv_sec - t0.tv_sec > 60)
            break;
        nanosleep(&pause, NULL); /* a poll interval, not the synchronisation */
    }
    db_close(mon);
    assert_true(waiting > 0);
}

struct racer {
    const char *dir;
    int64_t id;
    int rc;
    int64_t exp;
    bool created;
    bool dom; /* category_racer: dom_category_ensure, not db_category_ensure */
};

static void *extend_racer(void *arg)
{
    struct racer *r = arg;
    struct db *db;
    r->rc = db_open(r->dir, &db);
    if (r->rc)
        return NULL;
    struct dom_error e;
    r->rc = extend(db, r->id, "{\"days\":30}", 1800000000, &r->exp, &e);
    db_close(db);
    return NULL;
}

/* Writer A extends a line inside a transaction left open; writer B extends
 * the same line on another connection. Both must count: B must read the
 * expiry A wrote. Before the writer lock, B read the old expiry under READ
 * COMMITTED and its update overwrote A's (the line got 30 days, not 60). */
static void test_pg_concurrent_extend(void **state)
{
    struct fixture *f = *state;
    if (!db_fixture_pg())
        skip();
    int64_t id = mk(f->db, "{\"username\":\"race\",\"exp_date\":1800086400}");
    struct dom_error e;
    int64_t exp;
    assert_int_equal(db_begin(f->db), 0);
    assert_int_equal(extend(f->db, id, "{\"days\":30}", 1800000000, &exp, &e), 0);
    struct racer r = {.dir = f->dir, .id = id};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, extend_racer, &r), 0);
    wait_for_lock_waiter(f->dir);
    assert_int_equal(db_commit(f->db), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.exp, 1800086400 + 60 * 86400);
    struct db_line l;
    assert_int_equal(dom_line_get_id(f->db, id, &l, &e), 0);
    assert_int_equal(l.exp_date, 1800086400 + 60 * 86400);
    db_line_clear(&l);
}

static void *category_racer(void *arg)
{
    struct racer *r = arg;
    struct db *db;
    r->rc = db_open(r->dir, &db);
    if (r->rc)
        return NULL;
    if (r->dom) {
        struct dom_error e;
        dom_error_reset(&e);
        r->rc = dom_category_ensure(db, "movie", "Race", "category", &r->id, &e);
    } else {
        r->rc = db_category_ensure(db, "live", "Race", &r->id, &r->created);
    }
    db_close(db);
    return NULL;
}

/* Two db_category_ensure of one new name at once: one row, both get its id,
 * no error. Before, B found nothing, its insert waited on A's unique key and
 * failed with -EEXIST once A committed. */
static void test_pg_concurrent_category_ensure(void **state)
{
    struct fixture *f = *state;
    if (!db_fixture_pg())
        skip();
    int64_t id = 0;
    bool created = false;
    assert_int_equal(db_begin(f->db), 0);
    assert_int_equal(db_category_ensure(f->db, "live", "Race", &id, &created), 0);
    assert_true(created);
    struct racer r = {.dir = f->dir};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, category_racer, &r), 0);
    wait_for_lock_waiter(f->dir);
    assert_int_equal(db_commit(f->db), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.id, id);
    assert_false(r.created);
    struct db_stmt *st;
    assert_int_equal(db_prepare(f->db, "SELECT count(*) FROM categories WHERE name = 'Race'", &st),
                     0);
    assert_int_equal(db_step(st), DB_ROW);
    assert_int_equal(db_col_int64(st, 0), 1);
    db_finalize(st);
}

/* The same through the domain service (the M3U import, the library scan,
 * stream saves): before, its find ran outside the transaction and the second
 * caller got a 409 (-EEXIST). */
static void test_pg_concurrent_dom_category_ensure(void **state)
{
    struct fixture *f = *state;
    if (!db_fixture_pg())
        skip();
    int64_t id = 0;
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(db_begin(f->db), 0);
    assert_int_equal(dom_category_ensure(f->db, "movie", "Race", "category", &id, &e), 0);
    assert_true(id > 0);
    struct racer r = {.dir = f->dir, .dom = true};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, category_racer, &r), 0);
    wait_for_lock_waiter(f->dir);
    assert_int_equal(db_commit(f->db), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.id, id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_format),
        cmocka_unit_test_setup_teardown(test_line_status_sql, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_json_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_extend, setup, teardown),
        cmocka_unit_test(test_line_bulk_json),
        cmocka_unit_test_setup_teardown(test_plans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_from_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_5_on_existing_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_concurrent_extend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_concurrent_category_ensure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_concurrent_dom_category_ensure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
