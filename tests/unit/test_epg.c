/* Unit tests for the EPG: XMLTV time offsets, channel-name normalisation,
 * the streaming parser (bounds, entities, errors with positions) and the
 * importer on small documents in a temporary database (replace, keep on
 * failure, priorities, automatic mapping). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/db_priv.h"
#include "db/epg.h"
#include "db_fixture.h"
#include "epg/epg.h"
#include "epg/map.h"

static int64_t T(const char *s)
{
    int64_t t = 0;
    assert_int_equal(epg_parse_time(s, strlen(s), &t), 0);
    return t;
}

static void test_time_offsets(void **state)
{
    (void)state;
    /* 2024-01-01 12:00:00 UTC = 1704110400 */
    assert_int_equal(T("20240101120000 +0000"), 1704110400);
    assert_int_equal(T("20240101120000"), 1704110400);
    assert_int_equal(T("202401011200"), 1704110400);
    assert_int_equal(T("20240101130000 +0100"), 1704110400);
    assert_int_equal(T("20240101173000 +0530"), 1704110400);
    assert_int_equal(T("20240101070000 -0500"), 1704110400);
    assert_int_equal(T("20240101140000 +02:00"), 1704110400);
    assert_int_equal(T("20240101120000 Z"), 1704110400);
    assert_int_equal(T("20240101120000 UTC"), 1704110400);
    assert_int_equal(T("20240101120000+0000"), 1704110400);
    /* DST: Europe/Berlin 2024-03-31, 01:59:59 +0100 and 03:00:00 +0200 are 1 s apart. */
    assert_int_equal(T("20240331030000 +0200") - T("20240331015959 +0100"), 1);
    /* Leap day and year boundary */
    assert_int_equal(T("20240229000000 +0000"), 1709164800);
    assert_int_equal(T("20240101003000 +0100"), 1704065400);
    int64_t t;
    const char *bad[] = {"",
                         "2024010112",
                         "20241301120000 +0000",
                         "20240230120000",
                         "20240101250000",
                         "20240101120000 +2500",
                         "20240101120000 0100",
                         "20240101120000 +01x0",
                         "20240101120000 EST",
                         "202401011200000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(epg_parse_time(bad[i], strlen(bad[i]), &t), -22);
    char out[21];
    epg_format_xmltv_time(1704110400, out);
    assert_string_equal(out, "20240101120000 +0000");
    epg_format_xmltv_time(0, out);
    assert_string_equal(out, "19700101000000 +0000");
}

static void norm_is(const char *name, const char *key)
{
    char out[EPG_NAME_KEY];
    epg_normalize_name(name, out, sizeof(out));
    assert_string_equal(out, key);
}

static void test_normalize(void **state)
{
    (void)state;
    norm_is("BBC One HD", "bbcone");
    norm_is("bbc-one", "bbcone");
    norm_is("BBC ONE (FHD)", "bbcone");
    norm_is("Télé Été UHD", "teleete");
    norm_is("Cana\xcc\x81l 4K", "canal"); /* combining acute accent */
    norm_is("Sky Sports 1 SD", "skysports1");
    norm_is("Das Erste HEVC 1080p", "daserste");
    norm_is("Straße", "strasse");
    norm_is("Łódź TV", "lodztv");
    norm_is("Первый канал HD", "первыйканал");
    norm_is("HD", "hd"); /* nothing but a quality token: kept */
    norm_is("", "");
    norm_is("!!!", "");
    char small[5];
    assert_int_equal(epg_normalize_name("abcdefgh", small, sizeof(small)), 4);
    assert_string_equal(small, "abcd");
    /* Never cut a multi-byte character in half. */
    char tiny[4];
    epg_normalize_name("aпп", tiny, sizeof(tiny));
    assert_string_equal(tiny, "aп");
    char id[EPG_NAME_KEY];
    epg_normalize_id("BBCOne.uk", id, sizeof(id));
    assert_string_equal(id, "bbcone");
}

struct collected {
    int channels, programmes;
    char first_title[EPG_MAX_TITLE + 8];
    size_t first_title_len, desc_len;
    int64_t start, stop;
    char lang[16], episode[64], rating[16];
};

static int on_ch(void *ud, const struct epg_channel *ch)
{
    struct collected *c = ud;
    assert_non_null(ch->id);
    c->channels++;
    return 0;
}

static int on_pr(void *ud, const struct epg_programme *p)
{
    struct collected *c = ud;
    if (c->programmes++ == 0) {
        snprintf(c->first_title, sizeof(c->first_title), "%s", p->title);
        c->first_title_len = strlen(p->title);
        c->desc_len = strlen(p->desc);
        c->start = p->start;
        c->stop = p->stop;
        snprintf(c->lang, sizeof(c->lang), "%s", p->lang);
        snprintf(c->episode, sizeof(c->episode), "%s", p->episode_num);
        snprintf(c->rating, sizeof(c->rating), "%s", p->rating);
    }
    return 0;
}

static int parse(const char *doc, size_t piece, struct collected *c, char *err, size_t errlen)
{
    struct epg_parser_cb cb = {.channel = on_ch, .programme = on_pr, .ud = c};
    struct epg_parser *p;
    memset(c, 0, sizeof(*c));
    assert_int_equal(epg_parser_new(&cb, &p), 0);
    size_t len = strlen(doc);
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < len; off += piece)
        rc = epg_parser_feed(p, doc + off, len - off < piece ? len - off : piece, false);
    if (rc == 0)
        rc = epg_parser_feed(p, NULL, 0, true);
    if (err)
        snprintf(err, errlen, "%s", epg_parser_error(p));
    epg_parser_free(p);
    return rc;
}

static const char good_doc[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<!DOCTYPE tv SYSTEM \"xmltv.dtd\">\n"
    "<tv><channel id=\"a.uk\"><display-name>A HD</display-name><icon src=\"http://i/a.png\"/>"
    "</channel>\n"
    "<programme start=\"20240101130000 +0100\" stop=\"20240101140000 +0100\" channel=\"a.uk\">"
    "<title lang=\"en\">Hello &amp; bye</title><title lang=\"de\">Hallo</title>"
    "<desc>D</desc><episode-num system=\"xmltv_ns\">0.1.</episode-num>"
    "<episode-num system=\"onscreen\">S01E02</episode-num>"
    "<rating system=\"MPAA\"><value>PG</value></rating></programme>\n"
    "<programme start=\"bad\" channel=\"a.uk\"><title>skipped</title></programme>\n"
    "<programme start=\"20240101140000 +0100\" channel=\"a.uk\"><title>No stop</title>"
    "</programme>\n"
    "</tv>\n";

static void test_parser(void **state)
{
    (void)state;
    struct collected c;
    size_t pieces[] = {1, 7, 4096};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(parse(good_doc, pieces[i], &c, NULL, 0), 0);
        assert_int_equal(c.channels, 1);
        assert_int_equal(c.programmes, 2);
        assert_string_equal(c.first_title, "Hello & bye");
        assert_string_equal(c.lang, "en");
        assert_string_equal(c.episode, "S01E02");
        assert_string_equal(c.rating, "PG");
        assert_int_equal(c.start, 1704110400);
        assert_int_equal(c.stop, 1704114000);
    }
    char err[256];
    assert_int_equal(parse("<tv>\n<programme>\n</tv>", 4096, &c, err, sizeof(err)), -EBADMSG);
    assert_non_null(strstr(err, "line 3, column 2"));
    assert_int_equal(parse("<rss></rss>", 4096, &c, err, sizeof(err)), -EBADMSG);
    assert_non_null(strstr(err, "not <tv>"));
    assert_int_equal(parse("", 4096, &c, err, sizeof(err)), -EBADMSG);
    /* Billion laughs: expat's amplification limit rejects it. */
    char lol[4096];
    size_t n = (size_t)snprintf(
        lol, sizeof(lol), "<?xml version=\"1.0\"?><!DOCTYPE tv [<!ENTITY l0 \"lollollollollol\">");
    for (int i = 1; i < 10; i++)
        n += (size_t)snprintf(
            lol + n, sizeof(lol) - n,
            "<!ENTITY l%d \"&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;\">", i, i - 1, i - 1,
            i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    snprintf(lol + n, sizeof(lol) - n,
             "]><tv><programme start=\"20240101000000\" channel=\"x\"><title>&l9;</title>"
             "</programme></tv>");
    assert_int_equal(parse(lol, 4096, &c, err, sizeof(err)), -EBADMSG);
    /* External entities are never fetched. */
    const char *ext = "<?xml version=\"1.0\"?><!DOCTYPE tv [<!ENTITY x SYSTEM \"/etc/passwd\">]>"
                      "<tv><programme start=\"20240101000000\" channel=\"x\"><title>&x;</title>"
                      "</programme></tv>";
    int rc = parse(ext, 4096, &c, NULL, 0);
    assert_true(rc == 0 || rc == -EBADMSG);
    assert_null(strstr(c.first_title, "root"));
    /* Nesting bound. */
    char deep[2048] = "<tv>";
    for (int i = 0; i < 40; i++)
        strncat(deep, "<a>", sizeof(deep) - strlen(deep) - 1);
    assert_int_equal(parse(deep, 4096, &c, err, sizeof(err)), -EBADMSG);
    assert_non_null(strstr(err, "nested too deeply"));
    /* Text bounds: a 100 kB title and description are cut. */
    size_t big = 100000;
    char *doc = malloc(big * 2 + 512);
    assert_non_null(doc);
    int k = snprintf(doc, 512, "<tv><programme start=\"20240101000000\" channel=\"x\"><title>");
    memset(doc + k, 'x', big);
    k += (int)big;
    k += snprintf(doc + k, 512, "</title><desc>");
    /* two-byte characters so that the cut lands inside one */
    for (size_t i = 0; i < big / 2; i++) {
        doc[k++] = (char)0xc3;
        doc[k++] = (char)0xa9;
    }
    snprintf(doc + k, 512, "</desc></programme></tv>");
    assert_int_equal(parse(doc, 65536, &c, NULL, 0), 0);
    assert_int_equal(c.first_title_len, EPG_MAX_TITLE - 1);
    assert_true(c.desc_len <= EPG_MAX_DESC - 1 && c.desc_len % 2 == 0);
    free(doc);
}

/* ---- importer on a temporary database ----------------------------------- */

struct tmpdb {
    char dir[64];
    struct db *db;
};

static int db_setup(void **state)
{
    struct tmpdb *t = calloc(1, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/xtreamd-epg-unit-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    if (db_fixture_pg())
        assert_int_equal(db_fixture_pg_reset(), 0);
    assert_int_equal(db_open(t->dir, &t->db), 0);
    *state = t;
    return 0;
}

static int db_teardown(void **state)
{
    struct tmpdb *t = *state;
    db_close(t->db);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
    free(t);
    return 0;
}

static int count_titles(struct db *db, const char *channel, const char *prefix,
                        int64_t *first_source)
{
    struct db_epg_reader *r;
    /* the data directory: the reader opens its own connection (SQLite: the
     * file read-only; PostgreSQL: the database of the location) */
    assert_int_equal(db_epg_reader_open(db->data_dir, &r), 0);
    int n = 0;
    if (db_epg_reader_select(r, channel, INT64_MIN, INT64_MAX, INT64_MIN, -1) == 0) {
        struct db_epg_row row;
        while (db_epg_reader_next(r, &row) == 1) {
            if (strncmp(row.title, prefix, strlen(prefix)) == 0)
                n++;
            if (first_source)
                *first_source = row.source_id;
        }
    }
    db_epg_reader_close(r);
    return n;
}

static void doc_for(char *out, size_t cap, const char *ch, const char *name, const char *title,
                    int64_t start, int count)
{
    size_t n = (size_t)snprintf(out, cap,
                                "<tv><channel id=\"%s\"><display-name>%s</display-name>"
                                "</channel>",
                                ch, name);
    for (int i = 0; i < count; i++) {
        char a[21], z[21];
        epg_format_xmltv_time(start + i * 3600, a);
        epg_format_xmltv_time(start + (i + 1) * 3600, z);
        n += (size_t)snprintf(out + n, cap - n,
                              "<programme start=\"%s\" stop=\"%s\" channel=\"%s\"><title>%s %d"
                              "</title></programme>",
                              a, z, ch, title, i);
    }
    snprintf(out + n, cap - n, "</tv>");
}

static void test_import(void **state)
{
    struct tmpdb *t = *state;
    struct db *db = t->db;
    int64_t now = 1704110400, a, b;
    assert_int_equal(db_epg_source_add(db, "a", "/nonexistent.xml", 0, 24, &a), 0);
    assert_int_equal(db_epg_source_add(db, "b", "/nonexistent.xml", 5, 24, &b), 0);
    assert_int_equal(db_epg_source_add(db, "a", "/x", 0, 24, NULL), -EEXIST);
    static char doc[65536];
    struct epg_import_result res;

    doc_for(doc, sizeof(doc), "one.uk", "One HD", "Old", now - 3600, 10);
    assert_int_equal(epg_import_memory(db, a, doc, strlen(doc), now, &res), 0);
    assert_int_equal(res.programmes, 10);
    assert_int_equal(count_titles(db, "one.uk", "Old", NULL), 10);

    /* A malformed document changes nothing and says where it broke. */
    const char *bad =
        "<tv>\n<programme start=\"20240101000000\" channel=\"one.uk\">\n<title>x</tit>";
    assert_int_not_equal(epg_import_memory(db, a, bad, strlen(bad), now, &res), 0);
    assert_non_null(strstr(res.error, "line 3"));
    assert_int_equal(count_titles(db, "one.uk", "Old", NULL), 10);

    /* A new document replaces what it covers; earlier history stays. */
    doc_for(doc, sizeof(doc), "one.uk", "One HD", "New", now + 3600, 5);
    assert_int_equal(epg_import_memory(db, a, doc, strlen(doc), now, &res), 0);
    assert_int_equal(count_titles(db, "one.uk", "Old", NULL), 2); /* now-1h and now */
    assert_int_equal(count_titles(db, "one.uk", "New", NULL), 5);

    /* A higher-priority source wins for the same channel id. */
    doc_for(doc, sizeof(doc), "one.uk", "One", "Prio", now, 3);
    assert_int_equal(epg_import_memory(db, b, doc, strlen(doc), now, &res), 0);
    int64_t src = 0;
    assert_int_equal(count_titles(db, "one.uk", "Prio", &src), 3);
    assert_int_equal(src, b);

    /* History older than the keep window is pruned. */
    doc_for(doc, sizeof(doc), "old.uk", "Old", "Ancient", now - 30 * 86400, 2);
    assert_int_equal(epg_import_memory(db, a, doc, strlen(doc), now, &res), 0);
    assert_int_equal(count_titles(db, "old.uk", "Ancient", NULL), 0);

    /* Programmes are written several to a statement: a document longer than
     * one batch, with one programme twice in the same batch (the later one
     * wins, as one statement per programme did; PostgreSQL refuses a row
     * updated twice by one statement). */
    doc_for(doc, sizeof(doc), "many.uk", "Many", "Batch", now, 150);
    char dup[256], a0[21], z0[21];
    epg_format_xmltv_time(now + 70 * 3600, a0);
    epg_format_xmltv_time(now + 71 * 3600, z0);
    snprintf(dup, sizeof(dup),
             "<programme start=\"%s\" stop=\"%s\" channel=\"many.uk\"><title>Again</title>"
             "</programme></tv>",
             a0, z0);
    size_t end = strlen(doc) - strlen("</tv>");
    snprintf(doc + end, sizeof(doc) - end, "%s", dup);
    assert_int_equal(epg_import_memory(db, a, doc, strlen(doc), now, &res), 0);
    assert_int_equal(res.programmes, 150);
    assert_int_equal(count_titles(db, "many.uk", "Batch", NULL), 149);
    assert_int_equal(count_titles(db, "many.uk", "Again", NULL), 1);

    /* Automatic mapping by normalised display name. */
    assert_int_equal(
        db_exec(db,
                "INSERT INTO categories (id, kind, name, created_at) VALUES (1, 'live', 'x', 0);"
                "INSERT INTO streams (name, category_id, added) VALUES"
                " ('ONE fhd', 1, 0), ('Twó', 1, 0);"
                "INSERT INTO streams (name, epg_channel_id, category_id, added)"
                " VALUES ('One', 'manual.id', 1, 0)"),
        0);
    assert_int_equal(epg_automap(db, false), 1);
    struct db_stmt *st;
    assert_int_equal(
        db_prepare(db, "SELECT COALESCE(epg_auto_id, '') FROM streams ORDER BY id", &st), 0);
    const char *want[] = {"one.uk", "", ""};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(db_step(st), DB_ROW);
        assert_string_equal(db_col_text(st, 0), want[i]);
    }
    db_finalize(st);

    assert_int_equal(db_epg_source_del(db, "a"), 0);
    assert_int_equal(db_epg_source_del(db, "a"), -ENOENT);
}

struct progress_log {
    int percent[64];
    const char *stage[64];
    int n;
};

static void on_progress(void *ctx, int percent, const char *stage)
{
    struct progress_log *l = ctx;
    if (l->n < 64) {
        l->percent[l->n] = percent;
        l->stage[l->n++] = stage;
    }
}

/* The job form of an import reports monotonic progress from 0 "starting" to
 * 100 "done"; the unmapped list pages and counts the streams without a guide,
 * with up to EPG_CANDIDATES candidates each. */
static void test_import_progress_unmapped(void **state)
{
    struct tmpdb *t = *state;
    struct db *db = t->db;
    int64_t now = 1704110400, a;
    static char doc[65536];
    char path[128];
    snprintf(path, sizeof(path), "%s/guide.xml", t->dir);
    doc_for(doc, sizeof(doc), "one.uk", "One HD", "P", now, 10);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(doc, f);
    fclose(f);
    assert_int_equal(db_epg_source_add(db, "file", path, 0, 24, &a), 0);
    struct epg_import_result res;
    struct progress_log log = {0};
    assert_int_equal(epg_import_source_progress(db, a, now, &res, on_progress, &log), 0);
    assert_true(log.n >= 4);
    assert_int_equal(log.percent[0], 0);
    assert_string_equal(log.stage[0], "starting");
    assert_int_equal(log.percent[log.n - 1], 100);
    assert_string_equal(log.stage[log.n - 1], "done");
    bool reading = false;
    for (int i = 1; i < log.n; i++) {
        assert_true(log.percent[i] >= log.percent[i - 1]);
        reading |= strcmp(log.stage[i], "reading") == 0;
    }
    assert_true(reading);
    /* A failed import ends without "done". */
    struct progress_log bad = {0};
    assert_int_equal(db_epg_source_add(db, "gone", "/nonexistent/guide.xml", 0, 24, &a), 0);
    assert_int_not_equal(epg_import_source_progress(db, a, now, &res, on_progress, &bad), 0);
    assert_true(bad.n >= 1);
    assert_string_not_equal(bad.stage[bad.n - 1], "done");

    assert_int_equal(
        db_exec(db, "INSERT INTO streams (name, added) VALUES ('One HD', 0), ('One Plus', 0),"
                    " ('Zzz', 0), ('Onex', 0)"),
        0);
    assert_int_equal(epg_automap(db, false), 1);
    struct epg_unmapped *u;
    size_t n;
    int64_t total;
    assert_int_equal(epg_unmapped_page(db, 0, 10, &u, &n, &total), 0);
    assert_int_equal(total, 3);
    assert_int_equal(n, 3);
    assert_string_equal(u[0].name, "One Plus");
    assert_non_null(u[0].candidate[0]);
    assert_string_equal(u[0].candidate[0], "one.uk");
    epg_unmapped_free(u, n);
    assert_int_equal(epg_unmapped_page(db, 1, 1, &u, &n, &total), 0);
    assert_int_equal(total, 3);
    assert_int_equal(n, 1);
    assert_string_equal(u[0].name, "Zzz");
    assert_null(u[0].candidate[0]);
    epg_unmapped_free(u, n);
}

static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A document whose second line is a <programme> with an attribute of n bytes
 * (or, text: a <desc> of n bytes), parsed in 64 KiB pieces like the importer
 * feeds it. Returns the parse's result; *secs its time. */
static int parse_huge(size_t n, bool text, double *secs, char *err, size_t errlen)
{
    char *doc = malloc(n + 256);
    assert_non_null(doc);
    size_t l = (size_t)snprintf(doc, 256, "<tv>\n<programme start=\"20240101000000\" %s",
                                text ? "channel=\"a\"><desc>" : "channel=\"");
    memset(doc + l, 'a', n);
    l += n;
    snprintf(doc + l, 256, "%s</programme></tv>", text ? "</desc>" : "\">");
    struct collected c;
    double t0 = mono_now();
    int rc = parse(doc, 64 * 1024, &c, err, errlen);
    *secs = mono_now() - t0;
    free(doc);
    return rc;
}

/* Before the markup bound a 24 MB attribute cost 18x a 4 MB one (expat
 * rescans an incomplete token on every feed): now both stop at the bound with
 * an error naming the line, in about the same time. */
static void test_parser_huge_markup(void **state)
{
    (void)state;
    char err[256];
    double t4, t16, tsmall;
    assert_int_equal(parse_huge((size_t)4 << 20, false, &t4, err, sizeof(err)), -EBADMSG);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "longer than 1048576 bytes"));
    assert_int_equal(parse_huge((size_t)16 << 20, false, &t16, err, sizeof(err)), -EBADMSG);
    assert_non_null(strstr(err, "line 2"));
    /* Past the bound nothing more is scanned: 4x the size, not 16x the time.
     * Generous for a loaded machine; the quadratic cost was 16x and more. */
    print_message("4 MiB attribute %.3f s, 16 MiB attribute %.3f s\n", t4, t16);
    assert_true(t16 < t4 * 6 + 0.5);
    /* Under the markup bound, an attribute past EPG_MAX_ATTR is its own error. */
    assert_int_equal(parse_huge(EPG_MAX_ATTR + 1, false, &tsmall, err, sizeof(err)), -EBADMSG);
    assert_non_null(strstr(err, "attribute channel of <programme> is longer than 65536 bytes"));
    assert_non_null(strstr(err, "line 2"));
    assert_int_equal(parse_huge(EPG_MAX_ATTR - 16, false, &tsmall, err, sizeof(err)), 0);
    /* Text is delivered in pieces (no rescans): linear, then bounded. */
    assert_int_equal(parse_huge(EPG_MAX_TEXT - 16, true, &tsmall, err, sizeof(err)), 0);
    assert_int_equal(parse_huge(EPG_MAX_TEXT + 1, true, &tsmall, err, sizeof(err)), -EBADMSG);
    assert_non_null(strstr(err, "the text of <desc> is longer than 1048576 bytes"));
    assert_non_null(strstr(err, "line 2"));
    /* A document fed in one piece is cut into EPG_FEED_CHUNK pieces too. */
    size_t n = (size_t)2 << 20;
    char *doc = malloc(n + 64);
    assert_non_null(doc);
    size_t l = (size_t)snprintf(doc, 64, "<tv><!--");
    memset(doc + l, 'c', n);
    snprintf(doc + l + n, 64, "--></tv>");
    struct collected c;
    int rc = parse(doc, strlen(doc), &c, err, sizeof(err));
    free(doc);
    assert_int_equal(rc, -EBADMSG);
    assert_non_null(strstr(err, "markup after <tv>"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_offsets),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_parser),
        cmocka_unit_test(test_parser_huge_markup),
        cmocka_unit_test_setup_teardown(test_import, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_import_progress_unmapped, db_setup, db_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
