/* Unit tests for the catalogue snapshot: loading, lookups, bouquet views, the
 * response cache and its gzip variants, and invalidation when the database
 * changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/catalog_priv.h"
#include "catalog/guide.h"
#include "db/db_priv.h"
#include "db/epg.h"
#include "epg/epg.h"

struct fixture {
    char dir[64];
    struct db *db;
};

static void exec_ok(struct db *db, const char *sql)
{
    assert_int_equal(db_exec(db, sql), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/xtreamd-cat-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(db_open(f->dir, &f->db), 0);
    exec_ok(
        f->db,
        "INSERT INTO categories(id, kind, name, sort_order, created_at) VALUES"
        " (1,'live','News',2,0),(2,'live','Sports',1,0),(3,'movie','Films',0,0),"
        " (4,'series','Shows',0,0);"
        "INSERT INTO streams(id, name, category_id, epg_channel_id, added, sort_order) VALUES"
        " (10,'News One',1,'news1.test',100,0),(11,'Sport One',2,NULL,101,1),"
        " (12,'Hidden',1,NULL,102,2);"
        "UPDATE streams SET enabled = 0 WHERE id = 12;"
        "INSERT INTO stream_sources VALUES (10,0,'lavfi:testsrc'),(11,0,'udp://127.0.0.1:5000');"
        "INSERT INTO movies(id, title, year, category_id, source, added) VALUES"
        " (20,'Pattern',2024,3,'/m/pattern.mp4',200);"
        "INSERT INTO series(id, title, category_id, added, last_modified) VALUES"
        " (30,'Bars',4,300,300);"
        "INSERT INTO episodes(id, series_id, season_number, episode_num, source, added) VALUES"
        " (40,30,2,1,'/s/b201.mkv',0),(41,30,1,2,'/s/b102.mkv',0),(42,30,1,1,'/s/b101.mkv',0);"
        "INSERT INTO bouquets(id, name, created_at) VALUES (1,'NewsOnly',0),(2,'All',0);"
        "INSERT INTO bouquet_items(bouquet_id, kind, item_id) VALUES (1,'category',1);"
        "INSERT INTO bouquet_items(bouquet_id, kind, item_id) VALUES (2,'all',NULL);"
        "INSERT INTO lines(id, username, password, created_at, updated_at) VALUES"
        " (1,'alice','pw1',0,0),(2,'bob','pw2',0,0),(3,'carol','pw3',0,0);"
        "INSERT INTO line_bouquets(line_id, bouquet_id) VALUES (2,1),(3,1),(3,2);");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    db_close(f->db);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void test_load_and_lookup(void **state)
{
    struct fixture *f = *state;
    struct catalog *c;
    assert_int_equal(catalog_load(f->db, 1, &c), 0);
    assert_int_equal(c->stream_count, 2); /* disabled stream left out */
    assert_string_equal(c->streams[0].name, "News One");
    assert_string_equal(c->streams[0].epg_channel_id, "news1.test");
    assert_null(c->streams[1].epg_channel_id);
    /* categories in operator order */
    assert_int_equal(c->category_count[CAT_LIVE], 2);
    assert_string_equal(c->categories[CAT_LIVE][0].name, "Sports");
    assert_non_null(catalog_stream(c, 11));
    assert_null(catalog_stream(c, 12));
    assert_string_equal(catalog_movie(c, 20)->title, "Pattern");
    const struct cat_series *s = NULL;
    const struct cat_episode *e = catalog_episode(c, 41, &s);
    assert_non_null(e);
    assert_int_equal(s->id, 30);
    /* episodes sorted by season then number; one season entry per season */
    assert_int_equal(s->episode_count, 3);
    assert_int_equal(s->episodes[0].id, 42);
    assert_int_equal(s->episodes[2].id, 40);
    assert_int_equal(s->season_count, 2);
    assert_int_equal(s->seasons[0].episode_count, 2);
    const struct cat_line *l = catalog_line(c, "alice");
    assert_non_null(l);
    assert_string_equal(l->password, "pw1");
    assert_null(catalog_line(c, "ALICE")); /* case-sensitive */
    assert_null(catalog_line(c, "nobody"));
    catalog_unref(c);
}

static void test_views(void **state)
{
    struct fixture *f = *state;
    struct catalog *c;
    assert_int_equal(catalog_load(f->db, 1, &c), 0);
    /* alice: no bouquet, sees everything */
    struct cat_view *va = catalog_view(c, catalog_line(c, "alice"));
    assert_true(cat_view_has_stream(va, c, 0) && cat_view_has_stream(va, c, 1));
    assert_true(cat_view_has_movie(va, c, 0));
    /* bob: only the News category */
    struct cat_view *vb = catalog_view(c, catalog_line(c, "bob"));
    assert_true(cat_view_has_stream(vb, c, 0));
    assert_false(cat_view_has_stream(vb, c, 1));
    assert_false(cat_view_has_movie(vb, c, 0));
    assert_false(cat_view_has_series(vb, c, 0));
    assert_true(cat_view_has_category(vb, CAT_LIVE, 1));  /* News */
    assert_false(cat_view_has_category(vb, CAT_LIVE, 0)); /* Sports */
    /* carol: News + an 'all' bouquet: everything */
    struct cat_view *vc = catalog_view(c, catalog_line(c, "carol"));
    assert_true(cat_view_has_stream(vc, c, 1) && cat_view_has_movie(vc, c, 0));
    /* views are shared per bouquet set */
    assert_ptr_equal(catalog_view(c, catalog_line(c, "bob")), vb);
    catalog_unref(c);
}

static void test_cache_and_invalidation(void **state)
{
    struct fixture *f = *state;
    struct catalog *c1;
    int64_t before = db_change_counter(f->db);
    assert_int_equal(catalog_load(f->db, 1, &c1), 0);
    struct cat_view *v = catalog_view(c1, catalog_line(c1, "bob"));
    struct refbuf *rb = refbuf_new("[1]", 3);
    cat_view_cache_put(v, "7", rb);
    catalog_cache_put(c1, "m3u|bob", rb);
    refbuf_unref(rb);
    struct refbuf *hit = cat_view_cache_get(v, "7");
    assert_non_null(hit);
    assert_memory_equal(hit->data, "[1]", 3);
    refbuf_unref(hit);
    assert_null(cat_view_cache_get(v, "8"));
    hit = catalog_cache_get(c1, "m3u|bob");
    assert_non_null(hit);
    refbuf_unref(hit);

    /* a change made through another connection moves the change counter */
    struct db *other;
    assert_int_equal(db_open(f->dir, &other), 0);
    exec_ok(other, "UPDATE streams SET name = 'News Two' WHERE id = 10");
    db_close(other);
    assert_true(db_change_counter(f->db) != before);

    struct catalog *c2;
    assert_int_equal(catalog_load(f->db, 2, &c2), 0);
    assert_string_equal(catalog_stream(c2, 10)->name, "News Two");
    /* the new snapshot starts with empty caches: nothing stale is served */
    struct cat_view *v2 = catalog_view(c2, catalog_line(c2, "bob"));
    assert_null(cat_view_cache_get(v2, "7"));
    assert_null(catalog_cache_get(c2, "m3u|bob"));
    /* the old snapshot stays intact for whoever still holds it */
    assert_string_equal(catalog_stream(c1, 10)->name, "News One");
    catalog_unref(c1);
    catalog_unref(c2);
}

/* A rebuild after a line-only change adopts the view-scoped entries (with
 * their gzip variant) but not the snapshot-wide ones; a change to any
 * catalogue row — a stream's source, a bouquet item — adopts nothing. */
static void test_cache_adoption(void **state)
{
    struct fixture *f = *state;
    struct catalog *c1, *c2, *c3, *c4;
    assert_int_equal(catalog_load(f->db, 1, &c1), 0);
    struct cat_view *v = catalog_view(c1, catalog_line(c1, "bob"));
    struct refbuf *rb = refbuf_new("[1]", 3), *gz = refbuf_new("gz", 2);
    cat_view_cache_put(v, "7", rb);
    assert_int_equal(cat_view_cache_put_gzip(v, "7", gz), 0);
    catalog_cache_put(c1, "m3u|bob", rb);
    refbuf_unref(rb);
    refbuf_unref(gz);

    exec_ok(f->db, "UPDATE lines SET password = 'changed', max_connections = 3 WHERE id = 2;"
                   "INSERT INTO lines(id, username, password, created_at, updated_at)"
                   " VALUES (4,'dave','pw4',0,0)");
    assert_int_equal(catalog_load_reuse(f->db, 2, c1, &c2), 0);
    assert_int_equal(catalog_adopt_caches(c2, c1), 1);
    struct cat_view *v2 = catalog_view(c2, catalog_line(c2, "bob"));
    struct refbuf *hit = cat_view_cache_get(v2, "7");
    assert_non_null(hit);
    assert_memory_equal(hit->data, "[1]", 3);
    refbuf_unref(hit);
    struct refbuf *hitgz = NULL;
    assert_int_equal(cat_view_cache_get_gzip(v2, "7", &hitgz), 0);
    assert_non_null(hitgz);
    refbuf_unref(hitgz);
    assert_null(catalog_cache_get(c2, "m3u|bob")); /* embeds bob's old password */
    /* another bouquet set has its own view: nothing leaks into it */
    assert_null(cat_view_cache_get(catalog_view(c2, catalog_line(c2, "alice")), "7"));

    exec_ok(f->db, "UPDATE stream_sources SET url = 'lavfi:smptebars' WHERE stream_id = 10");
    assert_int_equal(catalog_load_reuse(f->db, 3, c2, &c3), 0);
    assert_int_equal(catalog_adopt_caches(c3, c2), 0);
    assert_null(cat_view_cache_get(catalog_view(c3, catalog_line(c3, "bob")), "7"));

    rb = refbuf_new("[2]", 3);
    cat_view_cache_put(catalog_view(c3, catalog_line(c3, "bob")), "7", rb);
    refbuf_unref(rb);
    exec_ok(f->db, "INSERT INTO bouquet_items(bouquet_id, kind, item_id) VALUES (1,'live',11)");
    assert_int_equal(catalog_load_reuse(f->db, 4, c3, &c4), 0);
    assert_int_equal(catalog_adopt_caches(c4, c3), 0);
    catalog_unref(c1);
    catalog_unref(c2);
    catalog_unref(c3);
    catalog_unref(c4);
}

/* The gzip variant lives in the identity body's entry: decided once, counted
 * against the byte bound, gone with the snapshot. */
static void test_cache_gzip_variant(void **state)
{
    struct fixture *f = *state;
    struct catalog *c1;
    assert_int_equal(catalog_load(f->db, 1, &c1), 0);
    struct cat_view *v = catalog_view(c1, catalog_line(c1, "bob"));
    struct refbuf *rb = refbuf_new("[1,2,3]", 7), *gz = refbuf_new("GZ", 2), *got;

    /* No entry yet: nothing to attach to. */
    assert_int_equal(cat_view_cache_get_gzip(v, "7", &got), -ENOENT);
    assert_null(got);
    assert_int_equal(cat_view_cache_put_gzip(v, "7", gz), -ENOENT);
    assert_int_equal(catalog_cache_get_gzip(c1, "m3u|bob", &got), -ENOENT);
    assert_int_equal(catalog_cache_put_gzip(c1, "m3u|bob", gz), -ENOENT);

    cat_view_cache_put(v, "7", rb);
    cat_view_cache_put(v, "8", rb);
    catalog_cache_put(c1, "m3u|bob", rb);
    /* Present, undecided: the caller compresses and puts. */
    assert_int_equal(cat_view_cache_get_gzip(v, "7", &got), -EAGAIN);
    assert_null(got);
    assert_int_equal(cat_view_cache_put_gzip(v, "7", gz), 0);
    assert_int_equal(cat_view_cache_get_gzip(v, "7", &got), 0);
    assert_ptr_equal(got, gz);
    refbuf_unref(got);
    assert_int_equal(cat_view_cache_put_gzip(v, "7", gz), -EEXIST);
    /* the identity body is untouched */
    got = cat_view_cache_get(v, "7");
    assert_ptr_equal(got, rb);
    refbuf_unref(got);
    /* Declined (NULL): decided for good, served as identity. */
    assert_int_equal(cat_view_cache_put_gzip(v, "8", NULL), 0);
    assert_int_equal(cat_view_cache_get_gzip(v, "8", &got), 0);
    assert_null(got);
    assert_int_equal(cat_view_cache_put_gzip(v, "8", gz), -EEXIST);
    /* The snapshot-wide (string key) cache does the same. */
    assert_int_equal(catalog_cache_get_gzip(c1, "m3u|bob", &got), -EAGAIN);
    assert_int_equal(catalog_cache_put_gzip(c1, "m3u|bob", gz), 0);
    assert_int_equal(catalog_cache_get_gzip(c1, "m3u|bob", &got), 0);
    assert_ptr_equal(got, gz);
    refbuf_unref(got);

    /* The bound counts gzip bytes too. The cache only reads lengths, so a
     * refbuf that claims 90 MiB stands in for a big body. */
    struct refbuf *big = refbuf_new("x", 1);
    big->len = (size_t)90 << 20;
    cat_view_cache_put(v, "9", big);
    assert_int_equal(cat_view_cache_get_gzip(v, "9", &got), -EAGAIN);
    struct refbuf *biggz = refbuf_new("y", 1);
    biggz->len = (size_t)7 << 20; /* 90 + 7 MiB > 96 MiB */
    assert_int_equal(cat_view_cache_put_gzip(v, "9", biggz), -ENOSPC);
    assert_int_equal(cat_view_cache_get_gzip(v, "9", &got), 0); /* recorded as declined */
    assert_null(got);
    refbuf_unref(biggz);
    refbuf_unref(big);

    /* A new snapshot starts without any variant. */
    struct catalog *c2;
    assert_int_equal(catalog_load(f->db, 2, &c2), 0);
    struct cat_view *v2 = catalog_view(c2, catalog_line(c2, "bob"));
    assert_int_equal(cat_view_cache_get_gzip(v2, "7", &got), -ENOENT);
    assert_int_equal(catalog_cache_get_gzip(c2, "m3u|bob", &got), -ENOENT);
    refbuf_unref(gz);
    refbuf_unref(rb);
    catalog_unref(c1);
    catalog_unref(c2);
}

/* The EPG read model: the mapped channel's programmes from its best source,
 * sorted, binary-searchable; shared by the next snapshot while the guide is
 * unchanged, rebuilt after an import. */
static void test_guide(void **state)
{
    struct fixture *f = *state;
    int64_t src;
    assert_int_equal(db_epg_source_add(f->db, "g", "/dev/null", 0, 24, &src), 0);
    static const char doc[] =
        "<tv><channel id=\"news1.test\"><display-name>News</display-name></channel>"
        "<programme start=\"20240101120000\" stop=\"20240101130000\" channel=\"news1.test\">"
        "<title>Noon</title></programme>"
        "<programme start=\"20240101100000\" stop=\"20240101120000\" channel=\"news1.test\">"
        "<title>Morning</title><desc>D</desc></programme>"
        "<programme start=\"20240101100000\" channel=\"other.test\"><title>X</title></programme>"
        "</tv>";
    struct epg_import_result res;
    assert_int_equal(epg_import_memory(f->db, src, doc, sizeof(doc) - 1, 1704067200, &res), 0);
    struct catalog *c1, *c2, *c3;
    assert_int_equal(catalog_load(f->db, 1, &c1), 0);
    const struct cat_guide *g = catalog_guide(c1);
    assert_non_null(g);
    assert_int_equal(cat_guide_channel_count(g), 1); /* only mapped ids */
    assert_null(cat_guide_find(g, "other.test"));
    const struct cat_guide_channel *ch = cat_guide_find(g, "news1.test");
    assert_non_null(ch);
    assert_int_equal(ch->source_id, src);
    assert_int_equal(ch->count, 2);
    assert_string_equal(ch->progs[0].title, "Morning");
    assert_string_equal(ch->progs[0].desc, "D");
    assert_string_equal(ch->progs[1].title, "Noon");
    assert_int_equal(cat_guide_first_from(ch, 0), 0);
    assert_int_equal(cat_guide_first_from(ch, ch->progs[0].start + 1), 1);
    assert_int_equal(cat_guide_first_from(ch, INT64_MAX), 2);
    /* A catalogue change that leaves the guide alone reuses it. */
    exec_ok(f->db, "UPDATE streams SET name = 'Sport 1' WHERE id = 11");
    assert_int_equal(catalog_load_reuse(f->db, 2, c1, &c2), 0);
    assert_ptr_equal(catalog_guide(c2), g);
    /* Dropping the first snapshot keeps the shared guide alive. */
    catalog_unref(c1);
    assert_int_equal(cat_guide_find(catalog_guide(c2), "news1.test")->count, 2);
    /* An import (new generation) rebuilds it. */
    assert_int_equal(epg_import_memory(f->db, src, doc, sizeof(doc) - 1, 1704067200, &res), 0);
    assert_int_equal(catalog_load_reuse(f->db, 3, c2, &c3), 0);
    assert_ptr_not_equal(catalog_guide(c3), catalog_guide(c2));
    assert_int_equal(cat_guide_find(catalog_guide(c3), "news1.test")->count, 2);
    /* A disabled source has no guide. */
    catalog_unref(c2);
    exec_ok(f->db, "UPDATE epg_sources SET enabled = 0");
    assert_int_equal(catalog_load_reuse(f->db, 4, c3, &c2), 0);
    assert_null(cat_guide_find(catalog_guide(c2), "news1.test"));
    assert_true(cat_guide_has_channel(catalog_guide(c2), "news1.test"));
    catalog_unref(c2);
    catalog_unref(c3);
}

static uint64_t constant_hash(const void *key, size_t len)
{
    (void)key;
    (void)len;
    return 42;
}

/* Keys whose hashes collide never share a body: the full key is compared. */
static void test_cache_collisions(void **state)
{
    struct fixture *f = *state;
    struct catalog *c;
    assert_int_equal(catalog_load(f->db, 1, &c), 0);
    catalog_cache_set_hash(constant_hash);
    struct cat_view *vb = catalog_view(c, catalog_line(c, "bob"));
    struct cat_view *va = catalog_view(c, catalog_line(c, "alice"));
    struct refbuf *a = refbuf_new("A-body", 6), *b = refbuf_new("B-body", 6);
    catalog_cache_put(c, "m3u|1|http://a", a);
    assert_null(catalog_cache_get(c, "m3u|2|http://a")); /* same hash, other key */
    catalog_cache_put(c, "m3u|2|http://a", b);
    cat_view_cache_put(vb, "1|-1|", a);
    assert_null(cat_view_cache_get(va, "1|-1|")); /* same key, other view */
    cat_view_cache_put(va, "1|-1|", b);
    struct refbuf *got = catalog_cache_get(c, "m3u|1|http://a");
    assert_memory_equal(got->data, "A-body", 6);
    refbuf_unref(got);
    got = catalog_cache_get(c, "m3u|2|http://a");
    assert_memory_equal(got->data, "B-body", 6);
    refbuf_unref(got);
    got = cat_view_cache_get(vb, "1|-1|");
    assert_memory_equal(got->data, "A-body", 6);
    refbuf_unref(got);
    got = cat_view_cache_get(va, "1|-1|");
    assert_memory_equal(got->data, "B-body", 6);
    refbuf_unref(got);
    catalog_cache_set_hash(NULL);
    refbuf_unref(a);
    refbuf_unref(b);
    catalog_unref(c);
}

/* Bounded in entries and bytes, least recently used evicted (and counted). */
static void test_cache_lru(void **state)
{
    struct fixture *f = *state;
    struct catalog *c;
    assert_int_equal(catalog_load(f->db, 1, &c), 0);
    catalog_cache_set_limits(c, 3, 100);
    struct catalog_cache_stats st0, st;
    catalog_cache_stats(c, &st0);
    struct refbuf *rb = refbuf_new("0123456789", 10);
    catalog_cache_put(c, "k1", rb);
    catalog_cache_put(c, "k2", rb);
    catalog_cache_put(c, "k3", rb);
    struct refbuf *got = catalog_cache_get(c, "k1"); /* k1 used: k2 is now the oldest */
    refbuf_unref(got);
    catalog_cache_put(c, "k4", rb);
    catalog_cache_stats(c, &st);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.bytes, 30);
    assert_int_equal(st.evictions - st0.evictions, 1);
    assert_null(catalog_cache_get(c, "k2"));
    got = catalog_cache_get(c, "k1");
    assert_non_null(got);
    refbuf_unref(got);
    /* The byte bound evicts too; a body over the whole bound is refused. */
    struct refbuf *big = refbuf_new("x", 1);
    big->len = 95;
    catalog_cache_put(c, "big", big);
    catalog_cache_stats(c, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.bytes, 95);
    big->len = 101;
    catalog_cache_put(c, "huge", big);
    assert_null(catalog_cache_get(c, "huge"));
    catalog_cache_stats(c, &st);
    assert_int_equal(st.refused - st0.refused, 1);
    big->len = 1;
    refbuf_unref(big);
    refbuf_unref(rb);
    catalog_unref(c);
}

/* A rebuild for a line change shares the previous snapshot's content part
 * (no second read of the channels); a change to any content table reads it
 * again. */
static void test_content_shared_across_line_changes(void **state)
{
    struct fixture *f = *state;
    struct catalog *c1, *c2, *c3;
    assert_int_equal(catalog_load(f->db, 1, &c1), 0);
    exec_ok(f->db, "INSERT INTO lines(id, username, password, created_at, updated_at)"
                   " VALUES (4,'dave','pw4',0,0);"
                   "UPDATE lines SET max_connections = 5 WHERE id = 1;"
                   "INSERT INTO access_rules(kind, value, created_at) VALUES"
                   " ('ip_deny','192.0.2.0/24',0);"
                   "INSERT INTO settings(key, value) VALUES ('server_name','x')"
                   " ON CONFLICT(key) DO UPDATE SET value = excluded.value;");
    assert_int_equal(catalog_load_reuse(f->db, 2, c1, &c2), 0);
    assert_ptr_equal(c2->priv->content, c1->priv->content);
    assert_ptr_equal(c2->streams, c1->streams);
    assert_non_null(catalog_line(c2, "dave"));
    assert_int_equal(catalog_line(c2, "alice")->max_connections, 5);
    assert_int_equal(c2->access_rule_count, 1);
    assert_string_equal(catalog_stream(c2, 10)->name, "News One");
    /* the views of the new snapshot see the same content */
    assert_true(cat_view_has_stream(catalog_view(c2, catalog_line(c2, "bob")), c2, 0) !=
                cat_view_has_stream(catalog_view(c2, catalog_line(c2, "bob")), c2, 1));

    exec_ok(f->db, "UPDATE streams SET name = 'News Two' WHERE id = 10");
    assert_int_equal(catalog_load_reuse(f->db, 3, c2, &c3), 0);
    assert_ptr_not_equal(c3->priv->content, c2->priv->content);
    assert_string_equal(catalog_stream(c3, 10)->name, "News Two");
    assert_string_equal(catalog_stream(c2, 10)->name, "News One"); /* c2 unchanged */
    catalog_unref(c1);
    assert_string_equal(catalog_stream(c2, 10)->name, "News One"); /* c2 holds its content */
    catalog_unref(c2);
    catalog_unref(c3);
}

/* Each content table, changed by a statement that alters no value, still
 * makes the next rebuild read the content again (its triggers fire). */
static void test_content_epoch_moves_for_every_table(void **state)
{
    struct fixture *f = *state;
    static const char *const tables[] = {"categories", "streams",      "stream_sources",
                                         "movies",     "series",       "episodes",
                                         "bouquets",   "bouquet_items"};
    struct catalog *prev;
    assert_int_equal(catalog_load(f->db, 1, &prev), 0);
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "UPDATE %s SET rowid = rowid", tables[i]);
        exec_ok(f->db, sql);
        struct catalog *next;
        assert_int_equal(catalog_load_reuse(f->db, 2 + i, prev, &next), 0);
        if (next->priv->content == prev->priv->content)
            fail_msg("a change to %s did not move the content epoch", tables[i]);
        catalog_unref(prev);
        prev = next;
    }
    catalog_unref(prev);
}

/* Every table is either part of the content (it has the three epoch
 * triggers of migration 12) or named here as read some other way: a new
 * table must be classified, or a snapshot could keep stale content. */
static void test_content_epoch_covers_tables(void **state)
{
    struct fixture *f = *state;
    static const char *const outside[] = {"settings",
                                          "servers",
                                          "admins",
                                          "credits_log",
                                          "lines",
                                          "line_bouquets",
                                          "devices",
                                          "epg_sources",
                                          "epg_channels",
                                          "epg_programmes",
                                          "connection_history",
                                          "library_roots",
                                          "admins_v",
                                          "admin_sessions",
                                          "api_tokens",
                                          "audit_log",
                                          "plans",
                                          "plan_bouquets",
                                          "access_rules",
                                          "ip_bans",
                                          "catalog_epochs",
                                          "line_changes",
                                          "reseller_groups",
                                          "resellers",
                                          "credit_ledger",
                                          "idempotency_keys",
                                          "plan_reseller_groups"};
    struct db_stmt *st;
    assert_int_equal(db_prepare(f->db,
                                "SELECT t.name, (SELECT count(*) FROM sqlite_master g"
                                " WHERE g.type = 'trigger' AND g.tbl_name = t.name"
                                " AND g.name GLOB '*_epoch_a[iud]')"
                                " FROM sqlite_master t WHERE t.type = 'table'"
                                " AND t.name NOT LIKE 'sqlite_%' AND t.name NOT LIKE '%search%'",
                                &st),
                     0);
    size_t content = 0;
    while (db_step(st) == DB_ROW) {
        const char *name = db_col_text(st, 0);
        int triggers = db_col_int(st, 1);
        bool listed = false;
        for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++)
            listed = listed || strcmp(outside[i], name) == 0;
        if (!listed && triggers != 3)
            fail_msg("table %s: %d content-epoch triggers; add them (migration) or list it as"
                     " outside the content",
                     name, triggers);
        if (listed && triggers)
            fail_msg("table %s is listed as outside the content but has epoch triggers", name);
        content += !listed;
    }
    db_finalize(st);
    assert_true(content >= 9);
}

static void assert_same_lines(const struct catalog *got, const struct catalog *want)
{
    assert_int_equal(got->line_count, want->line_count);
    for (int64_t id = 1; id < 200; id++) {
        const struct cat_line *a = catalog_line_by_id(got, id), *b = catalog_line_by_id(want, id);
        if (!b) {
            assert_null(a);
            continue;
        }
        assert_non_null(a);
        assert_string_equal(a->username, b->username);
        assert_string_equal(a->password, b->password);
        assert_string_equal(a->view_key, b->view_key);
        assert_string_equal(a->message, b->message);
        assert_int_equal(a->max_connections, b->max_connections);
        assert_int_equal(a->enabled, b->enabled);
        assert_int_equal(a->outputs, b->outputs);
        assert_ptr_equal(catalog_line(got, a->username), a);
    }
    /* names that left (deleted, renamed, MAG) resolve to nothing */
    static const char *const names[] = {"alice", "bob", "carol", "erin", "frank", "zed", "dave"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if ((catalog_line(got, names[i]) == NULL) != (catalog_line(want, names[i]) == NULL))
            fail_msg("username %s: %s in the increment, %s in a full read", names[i],
                     catalog_line(got, names[i]) ? "found" : "absent",
                     catalog_line(want, names[i]) ? "found" : "absent");
}

/* A rebuild after line changes reads only the changed lines (a new block
 * beside the predecessor's) and ends up with exactly what a full read sees:
 * inserts, updates, deletes, bouquet changes, a line becoming a MAG line. */
static void test_lines_delta_matches_full(void **state)
{
    struct fixture *f = *state;
    static const char *const steps[] = {
        "INSERT INTO lines(id, username, password, created_at, updated_at)"
        " VALUES (10,'erin','pw',0,0), (11,'frank','pw',0,0)",
        "UPDATE lines SET password = 'new', max_connections = 4 WHERE id = 1",
        "DELETE FROM lines WHERE id = 2",
        "INSERT INTO line_bouquets(line_id, bouquet_id) VALUES (10,1)",
        "DELETE FROM line_bouquets WHERE line_id = 3 AND bouquet_id = 2",
        "UPDATE lines SET is_mag = 1 WHERE id = 11",
        "UPDATE lines SET is_mag = 0, message = 'back' WHERE id = 11",
        "INSERT INTO lines(id, username, password, created_at, updated_at)"
        " VALUES (2,'bob','again',0,0)",
        "UPDATE lines SET enabled = 0 WHERE id = 3; UPDATE lines SET enabled = 1 WHERE id = 3",
        "DELETE FROM bouquets WHERE id = 1", /* cascades to line_bouquets */
        "UPDATE lines SET username = 'zed' WHERE id = 1",
        "UPDATE lines SET username = 'alice' WHERE id = 3; UPDATE lines SET username = 'carol'"
        " WHERE id = 1",
    };
    struct catalog *prev;
    assert_int_equal(catalog_load(f->db, 1, &prev), 0);
    size_t increments = 0;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        exec_ok(f->db, steps[i]);
        struct catalog *next, *full;
        assert_int_equal(catalog_load_reuse(f->db, 2 + i, prev, &next), 0);
        assert_int_equal(catalog_load(f->db, 100 + i, &full), 0);
        increments += next->priv->lines->base == prev->priv->lines->base &&
                      next->priv->lines->block_count > prev->priv->lines->block_count;
        assert_same_lines(next, full);
        catalog_unref(full);
        catalog_unref(prev);
        prev = next;
    }
    assert_true(increments >= sizeof(steps) / sizeof(steps[0]) - 1);
    /* no change: the lines part is shared whole */
    struct catalog *same;
    assert_int_equal(catalog_load_reuse(f->db, 50, prev, &same), 0);
    assert_ptr_equal(same->priv->lines, prev->priv->lines);
    catalog_unref(same);
    /* a change log that lost the rows since prev: every line read again */
    exec_ok(f->db, "UPDATE lines SET password = 'lost' WHERE id = 1; DELETE FROM line_changes");
    struct catalog *next, *full;
    assert_int_equal(catalog_load_reuse(f->db, 51, prev, &next), 0);
    assert_int_equal(catalog_load(f->db, 52, &full), 0);
    assert_int_equal(next->priv->lines->block_count, 0);
    assert_ptr_not_equal(next->priv->lines->base, prev->priv->lines->base);
    assert_string_equal(catalog_line_by_id(next, 1)->password, "lost");
    assert_same_lines(next, full);
    catalog_unref(full);
    catalog_unref(next);
    catalog_unref(prev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guide, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_collisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_lru, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_and_invalidation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_adoption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_gzip_variant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_shared_across_line_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_epoch_moves_for_every_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_epoch_covers_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lines_delta_matches_full, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
