/* Unit tests for the catalogue services of the admin API (domain/content.h,
 * db/records.h): every rule names its field (types, bounds, required,
 * read-only, immutable, references and their kinds, the library-root rule of
 * local sources, unique names), merge updates leave omitted members alone,
 * ordered parts (stream sources, bouquet items, category order) are replaced
 * whole, and paged lists filter, search, sort (ties by id) and count under
 * the same filter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/jsonw.h"
#include "db/db.h"
#include "db/library.h"
#include "domain/content.h"
#include "domain/import.h"
#include "db_fixture.h"

static int setup(void **state)
{
    return db_fixture_open(state, "content");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

static struct db *DB(void **state)
{
    return ((struct fixture *)*state)->db;
}

/* Creates r from a JSON body; returns the id (asserting success). */
static int64_t create(struct db *db, const struct dom_resource *r, const char *json)
{
    struct dom_content_in in;
    struct dom_error e;
    int64_t id = 0;
    dom_error_reset(&e);
    int rc = dom_content_from_json(r, json, strlen(json), &in, &e);
    if (rc == 0)
        rc = dom_content_create(db, r, &in, &id, &e);
    if (rc)
        fprintf(stderr, "create %s: %s (%s: %s)\n", json, e.detail,
                e.nfields ? e.fields[0].field : "", e.nfields ? e.fields[0].message : "");
    assert_int_equal(rc, 0);
    dom_content_in_free(&in);
    return id;
}

/* Runs a create (id 0) or update from json and returns rc with e filled. */
static int write_json(struct db *db, const struct dom_resource *r, int64_t id, const char *json,
                      struct dom_error *e)
{
    struct dom_content_in in;
    int64_t nid;
    dom_error_reset(e);
    int rc = dom_content_from_json(r, json, strlen(json), &in, e);
    if (rc == 0)
        rc = id ? dom_content_update(db, r, id, &in, e) : dom_content_create(db, r, &in, &nid, e);
    dom_content_in_free(&in);
    return rc;
}

/* The JSON of object id of r. */
static char *object_json(struct db *db, const struct dom_resource *r, int64_t id)
{
    struct dom_obj o;
    struct dom_error e;
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    dom_error_reset(&e);
    assert_int_equal(dom_content_get(db, r, id, &o, &e), 0);
    jsonw_init(&w, &b);
    dom_obj_write_json(r, &o, &w);
    dom_obj_free(r, &o);
    assert_int_equal(b.err, 0);
    return b.data;
}

static struct db_page page(int64_t off, int64_t lim, const char *sort, bool desc)
{
    struct db_page p = {.offset = off, .limit = lim};
    if (sort) {
        p.nsort = 1;
        p.sort[0] = sort;
        p.desc[0] = desc;
    }
    return p;
}

static void test_categories(void **state)
{
    struct db *db = DB(state);
    struct dom_error e;
    int64_t a = create(db, &dom_res_category, "{\"kind\":\"live\",\"name\":\"News\"}");
    int64_t b = create(db, &dom_res_category, "{\"kind\":\"live\",\"name\":\"Sport\"}");
    int64_t m = create(db, &dom_res_category, "{\"kind\":\"movie\",\"name\":\"News\"}");
    /* New categories go to the end of their kind's order. */
    char *j = object_json(db, &dom_res_category, b);
    assert_non_null(strstr(j, "\"sort_order\":2"));
    free(j);
    j = object_json(db, &dom_res_category, m);
    assert_non_null(strstr(j, "\"sort_order\":1"));
    assert_non_null(strstr(j, "\"item_count\":0"));
    free(j);
    /* Rules, each naming its field. */
    assert_int_equal(
        write_json(db, &dom_res_category, 0, "{\"kind\":\"radio\",\"name\":\"x\"}", &e), -EINVAL);
    assert_true(has_field(&e, "kind", "format"));
    assert_int_equal(write_json(db, &dom_res_category, 0, "{\"kind\":\"live\"}", &e), -EINVAL);
    assert_true(has_field(&e, "name", "required"));
    assert_int_equal(
        write_json(db, &dom_res_category, 0, "{\"kind\":\"live\",\"name\":\"News\"}", &e), -EEXIST);
    assert_int_equal(e.status, 409);
    assert_true(has_field(&e, "name", "conflict"));
    assert_int_equal(write_json(db, &dom_res_category, a, "{\"kind\":\"movie\"}", &e), -EINVAL);
    assert_true(has_field(&e, "kind", "immutable"));
    assert_int_equal(write_json(db, &dom_res_category, a, "{\"item_count\":3}", &e), -EINVAL);
    assert_true(has_field(&e, "item_count", "read_only"));
    assert_int_equal(write_json(db, &dom_res_category, 999, "{\"name\":\"y\"}", &e), -ENOENT);
    assert_int_equal(e.status, 404);
    /* Merge patch: the name changes, the order stays. */
    assert_int_equal(write_json(db, &dom_res_category, a, "{\"name\":\"Headlines\"}", &e), 0);
    j = object_json(db, &dom_res_category, a);
    assert_non_null(strstr(j, "\"name\":\"Headlines\",\"sort_order\":1"));
    free(j);
    /* Reorder: b first. */
    int64_t ids[] = {b, a};
    dom_error_reset(&e);
    assert_int_equal(dom_category_reorder(db, ids, 2, &e), 0);
    struct dom_obj *o;
    size_t n;
    int64_t total;
    struct db_page p = page(0, 10, "sort_order", false);
    assert_int_equal(dom_category_page(db, "live", &p, &o, &n, &total, &e), 0);
    assert_int_equal(total, 2);
    assert_int_equal(n, 2);
    assert_int_equal(o[0].rec.id, b);
    assert_int_equal(o[1].rec.id, a);
    dom_obj_free_all(&dom_res_category, o, n);
    int64_t bad[] = {b, b, 12345};
    dom_error_reset(&e);
    assert_int_equal(dom_category_reorder(db, bad, 3, &e), -EINVAL);
    assert_true(has_field(&e, "ids[1]", "duplicate"));
    int64_t unknown[] = {a, 12345};
    dom_error_reset(&e);
    assert_int_equal(dom_category_reorder(db, unknown, 2, &e), -EINVAL);
    assert_true(has_field(&e, "ids[1]", "unknown"));
    /* ... and the failed reorder changed nothing. */
    p = page(0, 10, "sort_order", false);
    assert_int_equal(dom_category_page(db, "live", &p, &o, &n, &total, &e), 0);
    assert_int_equal(o[0].rec.id, b);
    dom_obj_free_all(&dom_res_category, o, n);
    dom_error_reset(&e);
    assert_int_equal(dom_category_page(db, "radio", &p, &o, &n, &total, &e), -EINVAL);
    assert_true(has_field(&e, "kind", "format"));
    dom_error_reset(&e);
    assert_int_equal(dom_content_delete(db, &dom_res_category, m, &e), 0);
    assert_int_equal(dom_content_delete(db, &dom_res_category, m, &e), -ENOENT);
}

static void test_streams(void **state)
{
    struct db *db = DB(state);
    struct dom_error e;
    int64_t live = create(db, &dom_res_category, "{\"kind\":\"live\",\"name\":\"L\"}");
    int64_t mov = create(db, &dom_res_category, "{\"kind\":\"movie\",\"name\":\"M\"}");
    char body[256];
    snprintf(body, sizeof(body),
             "{\"name\":\"One\",\"category_id\":%lld,\"sources\":[\"http://a/1\",\"http://b/1\"],"
             "\"epg_channel_id\":\"one.tv\",\"tv_archive_days\":3}",
             (long long)live);
    int64_t s1 = create(db, &dom_res_stream, body);
    int64_t s2 = create(db, &dom_res_stream,
                        "{\"name\":\"Two\",\"sources\":[\"http://a/2\"],\"enabled\":false}");
    int64_t s3 = create(db, &dom_res_stream, "{\"name\":\"Three\",\"sources\":[\"udp://x\"]}");
    char *j = object_json(db, &dom_res_stream, s1);
    assert_non_null(strstr(j, "\"sources\":[\"http://a/1\",\"http://b/1\"]"));
    assert_non_null(strstr(j, "\"epg_channel_id\":\"one.tv\""));
    assert_non_null(strstr(j, "\"sort_order\":1"));
    free(j);
    /* Field errors. */
    assert_int_equal(write_json(db, &dom_res_stream, 0, "{\"name\":\"x\"}", &e), -EINVAL);
    assert_true(has_field(&e, "sources", "required"));
    assert_int_equal(write_json(db, &dom_res_stream, 0,
                                "{\"name\":\"x\",\"sources\":[\"a\",\"\"],\"tv_archive_days\":-1}",
                                &e),
                     -EINVAL);
    assert_true(has_field(&e, "sources[1]", "required"));
    assert_true(has_field(&e, "tv_archive_days", "range"));
    assert_int_equal(write_json(db, &dom_res_stream, 0, "{\"name\":5,\"sources\":[1]}", &e),
                     -EINVAL);
    assert_true(has_field(&e, "name", "type"));
    assert_true(has_field(&e, "sources[0]", "type"));
    snprintf(body, sizeof(body), "{\"category_id\":%lld}", (long long)mov);
    assert_int_equal(write_json(db, &dom_res_stream, s2, body, &e), -EINVAL);
    assert_true(has_field(&e, "category_id", "kind"));
    assert_int_equal(write_json(db, &dom_res_stream, s2, "{\"category_id\":4242}", &e), -EINVAL);
    assert_true(has_field(&e, "category_id", "unknown"));
    assert_int_equal(write_json(db, &dom_res_stream, s2, "{\"bogus\":1,\"id\":3}", &e), -EINVAL);
    assert_true(has_field(&e, "bogus", "unknown"));
    assert_true(has_field(&e, "id", "read_only"));
    /* Merge patch: only what is given changes; sources are replaced whole. */
    assert_int_equal(write_json(db, &dom_res_stream, s1, "{\"sources\":[\"http://c/1\"]}", &e), 0);
    j = object_json(db, &dom_res_stream, s1);
    assert_non_null(strstr(j, "\"sources\":[\"http://c/1\"]"));
    assert_non_null(strstr(j, "\"name\":\"One\""));
    assert_non_null(strstr(j, "\"tv_archive_days\":3"));
    free(j);
    assert_int_equal(write_json(db, &dom_res_stream, s1, "{\"epg_channel_id\":null}", &e), 0);
    j = object_json(db, &dom_res_stream, s1);
    assert_non_null(strstr(j, "\"epg_channel_id\":null"));
    free(j);
    /* The manual EPG mapping. */
    dom_error_reset(&e);
    assert_int_equal(dom_epg_map(db, s3, "three.tv", &e), 0);
    j = object_json(db, &dom_res_stream, s3);
    assert_non_null(strstr(j, "\"epg_channel_id\":\"three.tv\""));
    free(j);
    dom_error_reset(&e);
    assert_int_equal(dom_epg_map(db, 999, "x", &e), -ENOENT);
    /* Lists: filters, search, sort, total under the filter. */
    struct dom_obj *o;
    size_t n;
    int64_t total;
    struct dom_stream_filter f = {.category_id = live, .enabled = -1};
    struct db_page p = page(0, 10, NULL, false);
    dom_error_reset(&e);
    assert_int_equal(dom_stream_page(db, &f, &p, &o, &n, &total, &e), 0);
    assert_int_equal(total, 1);
    assert_int_equal(o[0].rec.id, s1);
    assert_int_equal(o[0].nsources, 1);
    dom_obj_free_all(&dom_res_stream, o, n);
    f = (struct dom_stream_filter){.category_id = 0, .enabled = 0};
    assert_int_equal(dom_stream_page(db, &f, &p, &o, &n, &total, &e), 0);
    assert_int_equal(total, 1);
    assert_int_equal(o[0].rec.id, s2);
    dom_obj_free_all(&dom_res_stream, o, n);
    f.enabled = -1;
    p = page(0, 2, "name", true); /* Two, Three, One: a page of 2 */
    assert_int_equal(dom_stream_page(db, &f, &p, &o, &n, &total, &e), 0);
    assert_int_equal(total, 3);
    assert_int_equal(n, 2);
    assert_int_equal(o[0].rec.id, s2);
    assert_int_equal(o[1].rec.id, s3);
    dom_obj_free_all(&dom_res_stream, o, n);
    p = page(2, 2, "name", true);
    assert_int_equal(dom_stream_page(db, &f, &p, &o, &n, &total, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(o[0].rec.id, s1);
    dom_obj_free_all(&dom_res_stream, o, n);
    p = page(0, 10, "id", true);
    assert_int_equal(dom_stream_page(db, &f, &p, &o, &n, &total, &e), 0);
    assert_int_equal(o[0].rec.id, s3);
    assert_int_equal(o[2].rec.id, s1);
    dom_obj_free_all(&dom_res_stream, o, n);
    p = page(0, 10, NULL, false);
    p.q = "THR";
    assert_int_equal(dom_stream_page(db, &f, &p, &o, &n, &total, &e), 0);
    assert_int_equal(total, 1);
    assert_int_equal(o[0].rec.id, s3);
    dom_obj_free_all(&dom_res_stream, o, n);
    p = page(0, 10, "logo; DROP TABLE streams", false);
    assert_int_equal(dom_stream_page(db, &f, &p, &o, &n, &total, &e), -EINVAL);
    assert_true(has_field(&e, "sort", "unknown"));
    /* Ties are broken by id: equal sort keys keep a stable order. */
    assert_int_equal(write_json(db, &dom_res_stream, s3, "{\"sort_order\":1}", &e), 0);
    p = page(0, 10, "sort_order", false);
    assert_int_equal(dom_stream_page(db, &f, &p, &o, &n, &total, &e), 0);
    assert_int_equal(o[0].rec.id, s1);
    assert_int_equal(o[1].rec.id, s3);
    dom_obj_free_all(&dom_res_stream, o, n);
    dom_error_reset(&e);
    assert_int_equal(dom_content_delete(db, &dom_res_stream, s2, &e), 0);
    assert_int_equal(dom_content_get(db, &dom_res_stream, s2, &(struct dom_obj){0}, &e), -ENOENT);
}

static void test_bouquets(void **state)
{
    struct db *db = DB(state);
    struct dom_error e;
    int64_t cat = create(db, &dom_res_category, "{\"kind\":\"live\",\"name\":\"C\"}");
    int64_t s = create(db, &dom_res_stream, "{\"name\":\"S\",\"sources\":[\"http://s\"]}");
    char body[256];
    snprintf(body, sizeof(body),
             "{\"name\":\"Basic\",\"items\":[{\"kind\":\"category\",\"id\":%lld},"
             "{\"kind\":\"live\",\"id\":%lld}]}",
             (long long)cat, (long long)s);
    int64_t b = create(db, &dom_res_bouquet, body);
    char *j = object_json(db, &dom_res_bouquet, b);
    snprintf(body, sizeof(body),
             "\"items\":[{\"kind\":\"category\",\"id\":%lld},"
             "{\"kind\":\"live\",\"id\":%lld}]",
             (long long)cat, (long long)s);
    assert_non_null(strstr(j, body));
    free(j);
    /* Item rules. */
    snprintf(
        body, sizeof(body),
        "{\"items\":[{\"kind\":\"all\",\"id\":3},{\"kind\":\"tv\",\"id\":1},"
        "{\"kind\":\"live\"},{\"kind\":\"live\",\"id\":%lld},{\"kind\":\"live\",\"id\":%lld}]}",
        (long long)s, (long long)s);
    assert_int_equal(write_json(db, &dom_res_bouquet, b, body, &e), -EINVAL);
    assert_true(has_field(&e, "items[0].id", "conflict"));
    assert_true(has_field(&e, "items[1].kind", "format"));
    assert_true(has_field(&e, "items[2].id", "required"));
    assert_true(has_field(&e, "items[4]", "duplicate"));
    assert_int_equal(
        write_json(db, &dom_res_bouquet, b, "{\"items\":[{\"kind\":\"movie\",\"id\":777}]}", &e),
        -EINVAL);
    assert_true(has_field(&e, "items[0].id", "unknown"));
    assert_string_equal(e.code, DOM_E_REFERENCE);
    /* PUT items: the whole order replaced. */
    struct dom_content_in in;
    const char *items = "[{\"kind\":\"live\",\"id\":1},{\"kind\":\"all\"}]";
    dom_error_reset(&e);
    assert_int_equal(dom_items_from_json(items, strlen(items), &in, &e), 0);
    assert_int_equal(dom_bouquet_set_items(db, b, in.items, in.nitems, &e), 0);
    dom_content_in_free(&in);
    j = object_json(db, &dom_res_bouquet, b);
    assert_non_null(
        strstr(j, "\"items\":[{\"kind\":\"live\",\"id\":1},{\"kind\":\"all\",\"id\":null}]"));
    assert_non_null(strstr(j, "\"name\":\"Basic\""));
    free(j);
    dom_error_reset(&e);
    assert_int_equal(dom_bouquet_set_items(db, 4242, NULL, 0, &e), -ENOENT);
    /* Deleting a stream drops it from every bouquet. */
    assert_int_equal(dom_content_delete(db, &dom_res_stream, s, &e), 0);
    j = object_json(db, &dom_res_bouquet, b);
    assert_non_null(strstr(j, "\"items\":[{\"kind\":\"all\",\"id\":null}]"));
    free(j);
    /* A list page carries each bouquet's items. */
    int64_t b2 = create(db, &dom_res_bouquet, "{\"name\":\"Empty\"}");
    struct dom_obj *o;
    size_t n;
    int64_t total;
    struct db_page p = {.limit = 10, .nsort = 1, .sort = {"name"}};
    dom_error_reset(&e);
    assert_int_equal(dom_bouquet_page(db, &p, &o, &n, &total, &e), 0);
    assert_int_equal(total, 2);
    assert_int_equal(o[0].rec.id, b);
    assert_int_equal(o[0].nitems, 1);
    assert_string_equal(o[0].items[0].kind, "all");
    assert_int_equal(o[1].rec.id, b2);
    assert_int_equal(o[1].nitems, 0);
    dom_obj_free_all(&dom_res_bouquet, o, n);
    assert_int_equal(write_json(db, &dom_res_bouquet, 0, "{\"name\":\"Basic\"}", &e), -EEXIST);
    assert_true(has_field(&e, "name", "conflict"));
}

static void test_movies_series(void **state)
{
    struct fixture *fx = *state;
    struct db *db = fx->db;
    struct dom_error e;
    char lib[128], file[160], outside[160], body[512];
    snprintf(lib, sizeof(lib), "%s/lib", fx->dir);
    snprintf(file, sizeof(file), "%s/film.mkv", lib);
    snprintf(outside, sizeof(outside), "%s/elsewhere.mkv", fx->dir);
    assert_int_equal(mkdir(lib, 0700), 0);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    fp = fopen(outside, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(db_library_root_add(db, lib), 0);
    int64_t mc = create(db, &dom_res_category, "{\"kind\":\"movie\",\"name\":\"Films\"}");
    int64_t sc = create(db, &dom_res_category, "{\"kind\":\"series\",\"name\":\"Shows\"}");
    /* A local file outside the library roots is refused; inside it is stored canonical. */
    snprintf(body, sizeof(body), "{\"name\":\"Out\",\"source\":\"%s\"}", outside);
    assert_int_equal(write_json(db, &dom_res_movie, 0, body, &e), -EINVAL);
    assert_true(has_field(&e, "source", "forbidden"));
    assert_int_equal(
        write_json(db, &dom_res_movie, 0, "{\"name\":\"R\",\"source\":\"film.mkv\"}", &e), -EINVAL);
    assert_true(has_field(&e, "source", "format"));
    snprintf(body, sizeof(body),
             "{\"name\":\"Film\",\"source\":\"%s/../lib/film.mkv\",\"year\":1999,\"rating\":7.5,"
             "\"category_id\":%lld,\"container_extension\":\"mkv\",\"plot\":\"p\"}",
             lib, (long long)mc);
    int64_t m = create(db, &dom_res_movie, body);
    char *j = object_json(db, &dom_res_movie, m);
    snprintf(body, sizeof(body), "\"source\":\"%s\"", file);
    assert_non_null(strstr(j, body));
    assert_non_null(strstr(j, "\"year\":1999"));
    assert_non_null(strstr(j, "\"rating\":7.5"));
    free(j);
    snprintf(body, sizeof(body), "{\"name\":\"Dup\",\"source\":\"%s\"}", file);
    assert_int_equal(write_json(db, &dom_res_movie, 0, body, &e), -EEXIST);
    assert_true(has_field(&e, "source", "conflict"));
    assert_int_equal(write_json(db, &dom_res_movie, m,
                                "{\"year\":1200,\"rating\":11,\"container_extension\":\"M P4\"}",
                                &e),
                     -EINVAL);
    assert_true(has_field(&e, "year", "range"));
    assert_true(has_field(&e, "rating", "range"));
    assert_true(has_field(&e, "container_extension", "format"));
    snprintf(body, sizeof(body), "{\"category_id\":%lld}", (long long)sc);
    assert_int_equal(write_json(db, &dom_res_movie, m, body, &e), -EINVAL);
    assert_true(has_field(&e, "category_id", "kind"));
    assert_int_equal(write_json(db, &dom_res_movie, m, "{\"year\":null,\"plot\":null}", &e), 0);
    j = object_json(db, &dom_res_movie, m);
    assert_non_null(strstr(j, "\"year\":null"));
    assert_non_null(strstr(j, "\"plot\":\"\""));
    assert_non_null(strstr(j, "\"name\":\"Film\"")); /* untouched */
    free(j);
    /* Never a file of the data directory, even when a root covers it. */
    char secret[160];
    snprintf(secret, sizeof(secret), "%s/xtreamd.db", fx->dir);
    FILE *touch = fopen(secret, "a"); /* on PostgreSQL the file is not there */
    assert_non_null(touch);
    fclose(touch);
    assert_int_equal(db_library_root_add(db, fx->dir), 0);
    snprintf(body, sizeof(body), "{\"name\":\"Secret\",\"source\":\"%s\"}", secret);
    struct dom_content_in din;
    int64_t did;
    dom_error_reset(&e);
    assert_int_equal(dom_content_from_json(&dom_res_movie, body, strlen(body), &din, &e), 0);
    din.data_dir = fx->dir;
    assert_int_equal(dom_content_create(db, &dom_res_movie, &din, &did, &e), -EINVAL);
    assert_true(has_field(&e, "source", "forbidden"));
    dom_content_in_free(&din);
    int64_t m2 = create(db, &dom_res_movie, "{\"name\":\"Web\",\"source\":\"https://cdn/x.mp4\"}");
    struct dom_obj *o;
    size_t n;
    int64_t total;
    struct db_page p = page(0, 10, "name", false);
    dom_error_reset(&e);
    assert_int_equal(dom_movie_page(db, mc, &p, &o, &n, &total, &e), 0);
    assert_int_equal(total, 1);
    assert_int_equal(o[0].rec.id, m);
    dom_obj_free_all(&dom_res_movie, o, n);
    assert_int_equal(dom_movie_page(db, 0, &p, &o, &n, &total, &e), 0);
    assert_int_equal(total, 2);
    assert_int_equal(o[1].rec.id, m2);
    dom_obj_free_all(&dom_res_movie, o, n);

    /* Series and episodes. */
    snprintf(body, sizeof(body), "{\"name\":\"Show\",\"category_id\":%lld}", (long long)sc);
    int64_t s = create(db, &dom_res_series, body);
    struct dom_content_in in;
    const char *ep = "{\"season\":1,\"episode_num\":2,\"source\":\"https://cdn/s1e2.mp4\"}";
    dom_error_reset(&e);
    assert_int_equal(dom_content_from_json(&dom_res_episode, ep, strlen(ep), &in, &e), 0);
    in.parent_id = s;
    int64_t e1;
    assert_int_equal(dom_content_create(db, &dom_res_episode, &in, &e1, &e), 0);
    dom_content_in_free(&in);
    ep = "{\"season\":2,\"episode_num\":1,\"source\":\"https://cdn/s2e1.mp4\",\"series_id\":9}";
    dom_error_reset(&e);
    assert_int_equal(dom_content_from_json(&dom_res_episode, ep, strlen(ep), &in, &e), 0);
    in.parent_id = s;
    assert_int_equal(dom_content_create(db, &dom_res_episode, &in, &e1, &e), -EINVAL);
    assert_true(has_field(&e, "series_id", "read_only"));
    dom_content_in_free(&in);
    ep = "{\"season\":2,\"episode_num\":1,\"source\":\"https://cdn/s2e1.mp4\"}";
    dom_error_reset(&e);
    assert_int_equal(dom_content_from_json(&dom_res_episode, ep, strlen(ep), &in, &e), 0);
    in.parent_id = s;
    int64_t e2;
    assert_int_equal(dom_content_create(db, &dom_res_episode, &in, &e2, &e), 0);
    dom_content_in_free(&in);
    dom_error_reset(&e);
    p = page(0, 10, "episode_num", false);
    assert_int_equal(dom_episode_page(db, s, 2, &p, &o, &n, &total, &e), 0);
    assert_int_equal(total, 1);
    assert_int_equal(o[0].rec.id, e2);
    dom_obj_free_all(&dom_res_episode, o, n);
    assert_int_equal(dom_episode_page(db, s, -1, &p, &o, &n, &total, &e), 0);
    assert_int_equal(total, 2);
    dom_obj_free_all(&dom_res_episode, o, n);
    assert_int_equal(dom_episode_page(db, 4242, -1, &p, &o, &n, &total, &e), -ENOENT);
    dom_error_reset(&e);
    assert_int_equal(dom_episode_check_parent(db, s, e2, &e), 0);
    assert_int_equal(dom_episode_check_parent(db, s + 100, e2, &e), -ENOENT);
    j = object_json(db, &dom_res_series, s);
    assert_non_null(strstr(j, "\"episode_count\":2"));
    free(j);
    /* Deleting the series takes its episodes. */
    dom_error_reset(&e);
    assert_int_equal(dom_content_delete(db, &dom_res_series, s, &e), 0);
    assert_int_equal(dom_content_get(db, &dom_res_episode, e1, &(struct dom_obj){0}, &e), -ENOENT);
}

static void test_epg_sources(void **state)
{
    struct fixture *fx = *state;
    struct db *db = fx->db;
    struct dom_error e;
    int64_t id = create(db, &dom_res_epg_source,
                        "{\"name\":\"g\",\"url\":\"https://epg.example/g.xml\",\"priority\":5}");
    assert_int_equal(
        write_json(db, &dom_res_epg_source, id,
                   "{\"url\":\"ftp://x\",\"refresh_hours\":9999,\"last_status\":\"x\"}", &e),
        -EINVAL);
    assert_true(has_field(&e, "refresh_hours", "range"));
    assert_true(has_field(&e, "last_status", "read_only"));
    assert_int_equal(write_json(db, &dom_res_epg_source, id, "{\"url\":\"ftp://x\"}", &e), -EINVAL);
    assert_true(has_field(&e, "url", "format"));
    assert_int_equal(write_json(db, &dom_res_epg_source, id, "{\"enabled\":false}", &e), 0);
    struct dom_obj o;
    dom_error_reset(&e);
    assert_int_equal(dom_epg_source_status(db, id, &o, &e), 0);
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    dom_obj_write_json(&dom_res_epg_source, &o, &w);
    dom_obj_free(&dom_res_epg_source, &o);
    assert_non_null(strstr(b.data, "\"enabled\":false,\"last_import\":null"));
    assert_non_null(strstr(b.data, "\"channels\":0,\"programmes\":0"));
    assert_non_null(strstr(b.data, "\"priority\":5"));
    buf_free(&b);
}

static void test_json_decoding(void **state)
{
    (void)state;
    struct dom_content_in in;
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(dom_content_from_json(&dom_res_stream, "[1]", 3, &in, &e), -EINVAL);
    assert_int_equal(e.status, 400);
    dom_content_in_free(&in);
    dom_error_reset(&e);
    assert_int_equal(
        dom_content_from_json(&dom_res_stream, "{\"name\":\"a\",\"name\":\"b\"}", 25, &in, &e),
        -EINVAL);
    assert_int_equal(e.status, 400);
    dom_content_in_free(&in);
    dom_error_reset(&e);
    const char *body = "{\"enabled\":1,\"sort_order\":\"x\",\"sources\":\"http://a\"}";
    assert_int_equal(dom_content_from_json(&dom_res_stream, body, strlen(body), &in, &e), -EINVAL);
    assert_true(has_field(&e, "enabled", "type"));
    assert_true(has_field(&e, "sort_order", "type"));
    assert_true(has_field(&e, "sources", "type"));
    dom_content_in_free(&in);
    dom_error_reset(&e);
    body = "{\"items\":[1]}";
    assert_int_equal(dom_content_from_json(&dom_res_movie, body, strlen(body), &in, &e), -EINVAL);
    assert_true(has_field(&e, "items", "unknown"));
    dom_content_in_free(&in);
    int64_t *ids;
    size_t n;
    dom_error_reset(&e);
    assert_int_equal(dom_ids_from_json("{\"ids\":[3,1,2]}", 15, &ids, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 3);
    free(ids);
    assert_int_equal(dom_ids_from_json("[1,\"x\"]", 7, &ids, &n, &e), -EINVAL);
    assert_true(has_field(&e, "ids[1]", "type"));
}

struct progress_log {
    int percent[256];
    const char *stage[256];
    int n;
};

static void on_progress(void *ctx, int percent, const char *stage)
{
    struct progress_log *l = ctx;
    if (l->n < 256) {
        l->percent[l->n] = percent;
        l->stage[l->n++] = stage;
    }
}

/* The job form of the M3U import: progress from 0 to 100 by bytes, the
 * same all-or-nothing rule (a rejected line: nothing written, no "done"). */
static void test_import_run(void **state)
{
    struct db *db = DB(state);
    struct dom_error e;
    struct dom_import_result res;
    struct progress_log log = {0};
    size_t cap = 3 * DOM_IMPORT_CHUNK, len = 0;
    char *pl = malloc(cap);
    assert_non_null(pl);
    len += (size_t)snprintf(pl, cap, "#EXTM3U\n");
    for (int i = 0; len + 200 < cap; i++)
        len += (size_t)snprintf(pl + len, cap - len,
                                "#EXTINF:-1 group-title=\"G\",Channel %d\nhttp://src/%d\n", i, i);
    struct dom_import_in in = {.kind = "live"};
    dom_error_reset(&e);
    assert_int_equal(dom_import_run(db, &in, pl, len, on_progress, &log, &res, &e), 0);
    assert_true(res.entries > 100);
    assert_true(log.n >= 4);
    assert_string_equal(log.stage[0], "starting");
    assert_int_equal(log.percent[log.n - 1], 100);
    assert_string_equal(log.stage[log.n - 1], "done");
    for (int i = 1; i < log.n; i++)
        assert_true(log.percent[i] >= log.percent[i - 1]);
    struct dom_obj *o;
    size_t n;
    int64_t total;
    struct db_page p = page(0, 1, NULL, false);
    assert_int_equal(dom_stream_page(db, NULL, &p, &o, &n, &total, &e), 0);
    assert_int_equal(total, (int64_t)res.entries);
    int64_t before = total;
    dom_obj_free_all(&dom_res_stream, o, n);
    const char *bad = "#EXTM3U\n#EXTINF:-1,New\nhttp://new/1\n#EXTINF:-1,Local\n/etc/passwd\n";
    struct progress_log blog = {0};
    struct dom_import_in rin = {.kind = "live", .remote = true};
    dom_error_reset(&e);
    assert_int_not_equal(dom_import_run(db, &rin, bad, strlen(bad), on_progress, &blog, &res, &e),
                         0);
    assert_int_equal(e.status, 422);
    assert_string_not_equal(blog.stage[blog.n - 1], "done");
    assert_int_equal(dom_stream_page(db, NULL, &p, &o, &n, &total, &e), 0);
    assert_int_equal(total, before); /* "New" was not written */
    dom_obj_free_all(&dom_res_stream, o, n);
    free(pl);
}

/* On PostgreSQL an import writes its new streams several to a statement: a
 * repeated source still queued (line 31 repeats line 11) is written before it
 * is updated, later batches too; ids follow the file; a page of the list
 * reads every stream's own source (db_stream_sources_many). */
static void test_import_batches(void **state)
{
    struct db *db = DB(state);
    struct dom_error e;
    struct dom_import_result res;
    size_t cap = 64 * 1024, len = 0;
    char *pl = malloc(cap);
    assert_non_null(pl);
    len += (size_t)snprintf(pl, cap, "#EXTM3U\n");
    for (int i = 0; i < 200; i++) {
        int src = i == 30 ? 10 : i == 150 ? 100 : i;
        len += (size_t)snprintf(pl + len, cap - len,
                                "#EXTINF:-1 group-title=\"G%d\",Batch %d\nhttp://batch/%d\n", i % 3,
                                i, src);
    }
    struct dom_import_in in = {.kind = "live"};
    dom_error_reset(&e);
    assert_int_equal(dom_import_run(db, &in, pl, len, NULL, NULL, &res, &e), 0);
    assert_int_equal(res.entries, 200);
    assert_int_equal(res.created, 198);
    assert_int_equal(res.duplicates, 2);
    struct dom_obj *o;
    size_t n;
    int64_t total;
    struct db_page p = page(0, 500, "id", false);
    assert_int_equal(dom_stream_page(db, NULL, &p, &o, &n, &total, &e), 0);
    assert_int_equal(n, 198);
    int64_t last_id = 0;
    size_t k = 0;
    for (int i = 0; i < 200; i++) {
        if (i == 30 || i == 150)
            continue;
        char url[64], name[32];
        snprintf(url, sizeof(url), "http://batch/%d", i);
        snprintf(name, sizeof(name), "Batch %d", i == 10 ? 30 : i == 100 ? 150 : i);
        assert_true(o[k].rec.id > last_id);
        last_id = o[k].rec.id;
        assert_int_equal(o[k].nsources, 1);
        assert_string_equal(o[k].sources[0], url);
        assert_string_equal(o[k].rec.v[0].s, name);
        k++;
    }
    dom_obj_free_all(&dom_res_stream, o, n);
    free(pl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_categories, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bouquets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_movies_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_epg_sources, setup, teardown),
        cmocka_unit_test(test_json_decoding),
        cmocka_unit_test_setup_teardown(test_import_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_batches, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
