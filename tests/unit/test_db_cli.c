/* Unit tests for the CLI's database modules (db/lines, db/bouquets,
 * db/categories, db/content) on a temporary data directory, plus end-to-end
 * runs of `xtreamd demo` and `xtreamd import m3u` through cli_main(). */
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

#include "cli/cli.h"
#include "db/bouquets.h"
#include "db/categories.h"
#include "db/records.h"
#include "db/content.h"
#include "db/db_priv.h"
#include "db/lines.h"
#include "domain/lines.h"
#include "db_fixture.h"

static int setup(void **state)
{
    return db_fixture_open(state, "test");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

static int64_t count(struct db *db, const char *sql)
{
    struct db_stmt *st;
    int64_t n = -1;
    if (db_prepare(db, sql, &st))
        return -1;
    if (db_step(st) == DB_ROW)
        n = db_col_int64(st, 0);
    db_finalize(st);
    return n;
}

/* A bouquet row through the generic record access (db/records.h). */
static int add_bouquet(struct db *db, const char *name, int64_t *id)
{
    struct db_rec r = {0};
    int i = db_col_index(&db_tbl_bouquets, "name");
    r.set = 1ull << i;
    r.v[i].s = name;
    return db_rec_insert(db, &db_tbl_bouquets, &r, id);
}

static void test_lines(void **state)
{
    struct fixture *f = *state;
    struct db_line l = {
        .username = "alice",
        .password = "s3cret",
        .max_connections = 2,
        .has_exp = true,
        .exp_date = 4102444800, /* 2100-01-01 */
        .enabled = true,
        .allowed_outputs = "m3u8",
        .message = "hi",
    };
    assert_int_equal(db_line_insert(f->db, &l), 0);
    assert_true(l.id > 0);
    struct db_line dup = l;
    assert_int_equal(db_line_insert(f->db, &dup), -EEXIST);

    int64_t b1, b2;
    assert_int_equal(add_bouquet(f->db, "Gold", &b1), 0);
    assert_int_equal(add_bouquet(f->db, "Silver", &b2), 0);
    int64_t ids[] = {b2, b1};
    assert_int_equal(db_line_set_bouquets(f->db, l.id, ids, 2), 0);

    struct db_line got;
    assert_int_equal(db_line_get(f->db, "alice", &got), 0);
    assert_string_equal(got.password, "s3cret");
    assert_int_equal(got.max_connections, 2);
    assert_true(got.has_exp);
    assert_int_equal(got.exp_date, 4102444800);
    assert_string_equal(got.allowed_outputs, "m3u8");
    assert_int_equal(got.bouquet_count, 2);
    assert_string_equal(got.bouquets[0], "Silver");
    assert_string_equal(got.bouquets[1], "Gold");
    assert_string_equal(dom_line_status(&got, 0), "Active");
    assert_string_equal(dom_line_status(&got, 4102444800), "Expired");
    got.enabled = false;
    assert_string_equal(dom_line_status(&got, 4102444800), "Disabled");
    got.banned = true;
    assert_string_equal(dom_line_status(&got, 0), "Banned");

    /* Update writes every field. */
    got.has_exp = false;
    assert_int_equal(db_line_update(f->db, &got), 0);
    db_line_clear(&got);
    assert_int_equal(db_line_get(f->db, "alice", &got), 0);
    assert_false(got.has_exp);
    assert_true(got.banned);
    assert_false(got.enabled);
    db_line_clear(&got);

    assert_int_equal(db_line_get(f->db, "nobody", &got), -ENOENT);

    struct db_line b = {.username = "bob", .password = "pw", .max_connections = 1, .enabled = 1};
    assert_int_equal(db_line_insert(f->db, &b), 0);
    struct db_line *v;
    size_t n;
    assert_int_equal(db_line_list(f->db, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].username, "alice");
    assert_string_equal(v[1].username, "bob");
    assert_string_equal(v[1].allowed_outputs, "ts,m3u8");
    assert_int_equal(v[1].bouquet_count, 0);
    db_line_list_free(v, n);

    /* Deleting a bouquet removes it from lines; deleting a line cascades. */
    assert_int_equal(db_rec_delete(f->db, &db_tbl_bouquets, b2), 0);
    assert_int_equal(db_rec_delete(f->db, &db_tbl_bouquets, b2), -ENOENT);
    assert_int_equal(db_line_get(f->db, "alice", &got), 0);
    assert_int_equal(got.bouquet_count, 1);
    db_line_clear(&got);
    assert_int_equal(db_line_delete(f->db, "alice"), 0);
    assert_int_equal(db_line_delete(f->db, "alice"), -ENOENT);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM line_bouquets"), 0);
}

static void test_categories_and_bouquets(void **state)
{
    struct fixture *f = *state;
    int64_t a, b, c, m, again;
    bool created;
    assert_int_equal(db_category_ensure(f->db, "live", "News", &a, &created), 0);
    assert_true(created);
    assert_int_equal(db_category_ensure(f->db, "live", "Sport", &b, NULL), 0);
    assert_int_equal(db_category_ensure(f->db, "movie", "News", &m, NULL), 0);
    assert_int_equal(db_category_ensure(f->db, "live", "News", &again, &created), 0);
    assert_false(created);
    assert_int_equal(again, a);
    assert_int_equal(db_category_find(f->db, "series", "News", &c), -ENOENT);
    /* New categories go to the end of their kind's order. */
    struct db_rec cr;
    int so = db_col_index(&db_tbl_categories, "sort_order");
    assert_int_equal(db_rec_get(f->db, &db_tbl_categories, b, &cr), 0);
    assert_int_equal(cr.v[so].i, 2);
    db_rec_free(&db_tbl_categories, &cr);
    assert_int_equal(db_rec_get(f->db, &db_tbl_categories, m, &cr), 0);
    assert_int_equal(cr.v[so].i, 1);
    db_rec_free(&db_tbl_categories, &cr);

    int64_t bq, bq2;
    assert_int_equal(add_bouquet(f->db, "Mixed", &bq), 0);
    assert_int_equal(add_bouquet(f->db, "Mixed", &bq2), -EEXIST);
    const struct db_item items[] = {{"category", m}, {"category", a}};
    assert_int_equal(db_bouquet_items_set(f->db, bq, items, 2), 0);
    assert_int_equal(add_bouquet(f->db, "All", &bq2), 0);
    const struct db_item all[] = {{"all", 0}};
    assert_int_equal(db_bouquet_items_set(f->db, bq2, all, 1), 0);
    assert_int_equal(db_bouquet_find(f->db, "All", &c), 0);
    assert_int_equal(c, bq2);
    assert_int_equal(db_bouquet_find(f->db, "none", &c), -ENOENT);

    struct db_item *got;
    size_t n;
    assert_int_equal(db_bouquet_items_get(f->db, bq, &got, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].kind, "category");
    assert_int_equal(got[0].id, m);
    assert_int_equal(got[1].id, a);
    free(got);
    /* Deleting a category drops it from every bouquet. */
    assert_int_equal(db_bouquet_items_drop(f->db, "category", m), 0);
    assert_int_equal(db_bouquet_items_get(f->db, bq, &got, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(got[0].id, a);
    free(got);
}

static int collect_sources(void *ctx, const char *url, int64_t id)
{
    int *n = ctx;
    assert_true(id > 0);
    assert_true(strncmp(url, "http://", 7) == 0);
    (*n)++;
    return 0;
}

static void test_content(void **state)
{
    struct fixture *f = *state;
    struct db_content *c;
    int64_t cat, s1, found, order;
    assert_int_equal(db_content_open(f->db, &c), 0);
    assert_int_equal(db_category_ensure(f->db, "live", "News", &cat, NULL), 0);
    assert_int_equal(db_stream_next_order(c, &order), 0);
    assert_int_equal(order, 1);

    const char *srcs[] = {"http://a/1", "http://b/2"};
    struct db_stream_in s = {.name = "One",
                             .category_id = cat,
                             .epg_channel_id = "one.tv",
                             .logo = "http://logo",
                             .sort_order = order,
                             .sources = srcs,
                             .source_count = 2};
    assert_int_equal(db_stream_insert(c, &s, &s1), 0);
    assert_int_equal(db_stream_find_by_source(c, "http://b/2", &found), 0);
    assert_int_equal(found, s1);
    assert_int_equal(db_stream_find_by_source(c, "http://c/3", &found), -ENOENT);
    int nsrc = 0;
    assert_int_equal(db_stream_sources_each(c, collect_sources, &nsrc), 0);
    assert_int_equal(nsrc, 2);

    /* Update: empty logo keeps the stored one, empty epg id becomes NULL. */
    struct db_stream_in u = {.name = "One HD", .category_id = 0, .epg_channel_id = "", .logo = ""};
    assert_int_equal(db_stream_update(c, s1, &u), 0);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM streams WHERE name = 'One HD' AND"
                                  " logo = 'http://logo' AND epg_channel_id IS NULL AND"
                                  " category_id IS NULL"),
                     1);
    assert_int_equal(db_stream_update(c, 9999, &u), -ENOENT);
    assert_int_equal(db_stream_next_order(c, &order), 0);
    assert_int_equal(order, 2);

    struct db_movie_in mv = {.title = "Film",
                             .year = 1999,
                             .source = "/m/film.mkv",
                             .container = "mkv",
                             .plot = "A plot",
                             .rating = 7.5,
                             .sort_order = 1};
    int64_t mid;
    assert_int_equal(db_movie_insert(c, &mv, &mid), 0);
    assert_int_equal(db_movie_insert(c, &mv, &mid), -EEXIST);
    assert_int_equal(db_movie_find_by_source(c, "/m/film.mkv", &found), 0);
    assert_int_equal(found, mid);
    struct db_movie_in mv2 = {.title = "Film 2", .source = "/m/film.mkv", .container = "mp4"};
    assert_int_equal(db_movie_update(c, &mv2), 0);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM movies WHERE title = 'Film 2' AND"
                                  " year = 1999 AND plot = 'A plot' AND rating = 7.5 AND"
                                  " container = 'mp4'"),
                     1);
    mv2.source = "/m/none";
    assert_int_equal(db_movie_update(c, &mv2), -ENOENT);

    int64_t sid, eid;
    struct db_series_in se = {.title = "Show", .year = 2020, .category_id = 0};
    assert_int_equal(db_series_find(c, "Show", 0, &sid), -ENOENT);
    assert_int_equal(db_series_insert(c, &se, &sid), 0);
    assert_int_equal(db_series_find(c, "Show", 0, &found), 0);
    assert_int_equal(found, sid);
    assert_int_equal(db_season_ensure(c, sid, 1, "Season 1"), 0);
    assert_int_equal(db_season_ensure(c, sid, 1, "Other"), 0);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM seasons WHERE name = 'Season 1'"), 1);
    struct db_episode_in ep = {.series_id = sid,
                               .season = 1,
                               .episode_num = 1,
                               .title = "Pilot",
                               .source = "/s/e1.mp4",
                               .duration_secs = 60};
    assert_int_equal(db_episode_insert(c, &ep, &eid), 0);
    assert_int_equal(db_episode_find_by_source(c, "/s/e1.mp4", &found), 0);
    assert_int_equal(found, eid);
    db_content_close(c);
}

static int run_cli(const char *dir, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *argv[] = {"xtreamd",  (char *)a1, (char *)a2,  (char *)a3,
                    (char *)a4, "--data",   (char *)dir, NULL};
    int argc = 0;
    char *packed[8];
    for (int i = 0; i < 7; i++)
        if (argv[i])
            packed[argc++] = argv[i];
    packed[argc] = NULL;
    fflush(stdout);
    return cli_main(argc, packed);
}

static void dump_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_cli_demo_is_idempotent(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run_cli(f->dir, "demo", NULL, NULL, NULL), CLI_OK);
    int64_t streams = count(f->db, "SELECT COUNT(*) FROM streams");
    int64_t before = count(f->db, "SELECT total_changes()");
    assert_true(streams >= 3);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM movies"), 4);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM movies WHERE container = 'mkv' AND"
                                  " source LIKE '%/media/movies/%.mkv'"),
                     1);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM episodes"), 6);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM seasons"), 2);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM lines WHERE username = 'demo' AND"
                                  " password = 'demo' AND max_connections = 2 AND"
                                  " exp_date IS NULL"),
                     1);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM streams WHERE epg_channel_id ="
                                  " 'demo-clock.xtreamd'"),
                     1);
    int64_t version = count(f->db, "PRAGMA data_version");
    assert_int_equal(run_cli(f->dir, "demo", NULL, NULL, NULL), CLI_OK);
    /* A second run commits nothing: the file's data_version is unchanged. */
    assert_int_equal(count(f->db, "PRAGMA data_version"), version);
    assert_int_equal(count(f->db, "SELECT total_changes()"), before);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM streams"), streams);
}

static void test_cli_import_all_or_nothing(void **state)
{
    struct fixture *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/list.m3u", f->dir);
    dump_file(path, "#EXTM3U\n"
                    "#EXTINF:-1 tvg-id=\"a.tv\" group-title=\"G1\",A\nhttp://h/a\n"
                    "#EXTINF:-1,B\nhttp://h/b\n"
                    "#EXTINF:-1,Bad\njavascript:x\n");
    assert_int_equal(run_cli(f->dir, "import", "m3u", path, NULL), CLI_FAIL);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM streams"), 0);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM categories"), 0);

    dump_file(path, "#EXTM3U\n"
                    "#EXTINF:-1 tvg-id=\"a.tv\" group-title=\"G1\",A\nhttp://h/a\n"
                    "#EXTINF:-1,B\nhttp://h/b\n");
    assert_int_equal(run_cli(f->dir, "import", "m3u", path, NULL), CLI_OK);
    assert_int_equal(run_cli(f->dir, "import", "m3u", path, NULL), CLI_OK);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM streams"), 2);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM streams s JOIN categories c ON"
                                  " c.id = s.category_id WHERE c.name = 'Uncategorized'"),
                     1);

    dump_file(path, "#EXTM3U\n#EXTINF:-1 group-title=\"Films\",Alien (1979)\n"
                    "http://v/alien.MKV?x=1\n");
    assert_int_equal(run_cli(f->dir, "import", "m3u", path, "--kind=movie"), CLI_OK);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM movies WHERE title = 'Alien' AND"
                                  " year = 1979 AND container = 'mkv'"),
                     1);
    assert_int_equal(run_cli(f->dir, "import", "m3u", path, "--kind=tv"), CLI_USAGE);
}

static void test_cli_usage_errors(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run_cli(f->dir, "line", "add", "bad user", NULL), CLI_USAGE);
    assert_int_equal(run_cli(f->dir, "line", "add", "ok", "--bouquet=missing"), CLI_FAIL);
    assert_int_equal(run_cli(f->dir, "line", "add", "ok", "--expires=2024-13-01"), CLI_USAGE);
    assert_int_equal(run_cli(f->dir, "line", "add", "ok", "--outputs=ts,hls"), CLI_OK);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM lines WHERE username = 'ok' AND"
                                  " length(password) = 12 AND allowed_outputs = 'ts,m3u8'"),
                     1);
    assert_int_equal(run_cli(f->dir, "line", "add", "ok", NULL), CLI_FAIL);
    assert_int_equal(run_cli(f->dir, "line", "set", "ok", "--expires=2030-01-02"), CLI_OK);
    assert_int_equal(count(f->db, "SELECT exp_date FROM lines WHERE username = 'ok'"), 1893542400);
    assert_int_equal(run_cli(f->dir, "bouquet", "add", "B", "--category=Nope"), CLI_FAIL);
    assert_int_equal(run_cli(f->dir, "frobnicate", NULL, NULL, NULL), CLI_USAGE);
    assert_int_equal(run_cli(f->dir, "version", NULL, NULL, NULL), CLI_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_categories_and_bouquets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_demo_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_import_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_usage_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
