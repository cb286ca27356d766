/* Unit tests for media/m3u: entries, attributes, rejections with line numbers,
 * line endings, chunked feeding, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media/m3u.h"

#define MAX_ITEMS 32

struct got_entry {
    size_t line, url_line;
    long duration;
    char title[256], name[256], tvg_id[64], tvg_name[64], tvg_logo[128], group[64], url[256];
};

struct result {
    struct got_entry e[MAX_ITEMS];
    size_t ne;
    size_t rline[MAX_ITEMS];
    char reason[MAX_ITEMS][160];
    size_t nr;
    int stop_after; /* stop with -ECANCELED after this many entries (0: never) */
};

static int on_entry(void *ctx, const struct m3u_entry *e)
{
    struct result *r = ctx;
    if (r->ne < MAX_ITEMS) {
        struct got_entry *g = &r->e[r->ne];
        g->line = e->line;
        g->url_line = e->url_line;
        g->duration = e->duration;
        snprintf(g->title, sizeof(g->title), "%s", e->title);
        snprintf(g->name, sizeof(g->name), "%s", e->name);
        snprintf(g->tvg_id, sizeof(g->tvg_id), "%s", e->tvg_id);
        snprintf(g->tvg_name, sizeof(g->tvg_name), "%s", e->tvg_name);
        snprintf(g->tvg_logo, sizeof(g->tvg_logo), "%s", e->tvg_logo);
        snprintf(g->group, sizeof(g->group), "%s", e->group);
        snprintf(g->url, sizeof(g->url), "%s", e->url);
    }
    r->ne++;
    if (r->stop_after && r->ne >= (size_t)r->stop_after)
        return -125;
    return 0;
}

static void on_reject(void *ctx, size_t line, const char *reason)
{
    struct result *r = ctx;
    if (r->nr < MAX_ITEMS) {
        r->rline[r->nr] = line;
        snprintf(r->reason[r->nr], sizeof(r->reason[0]), "%s", reason);
    }
    r->nr++;
}

/* Parses text fed in pieces of `chunk` bytes (0: all at once). */
static int parse(const char *text, size_t len, size_t chunk, unsigned flags, struct result *r)
{
    struct m3u_callbacks cb = {.entry = on_entry, .reject = on_reject, .ctx = r};
    struct m3u_parser *p;
    assert_int_equal(m3u_parser_new(&cb, flags, &p), 0);
    int rc = 0;
    if (chunk == 0)
        chunk = len ? len : 1;
    for (size_t off = 0; off < len && rc == 0; off += chunk)
        rc = m3u_parser_feed(p, text + off, len - off < chunk ? len - off : chunk);
    if (rc == 0)
        rc = m3u_parser_finish(p);
    assert_int_equal(m3u_parser_entry_count(p), r->ne);
    assert_int_equal(m3u_parser_reject_count(p), r->nr);
    m3u_parser_free(p);
    return rc;
}

static const char good[] =
    "\xef\xbb\xbf#EXTM3U url-tvg=\"http://x/e.xml\"\r\n"
    "#EXTINF:-1 tvg-id=\"bbc1.uk\" tvg-name=\"BBC, One\" tvg-logo=\"http://l/b.png\" "
    "group-title=\"UK\",BBC One HD\r\n"
    "#EXTVLCOPT:http-user-agent=x\r\n"
    "http://src/bbc1.ts\r\n"
    "\r\n"
    "#EXTINF:10.5 TVG-ID=cnn,CNN, International\r\n"
    "#EXTGRP:News\r\n"
    "#KODIPROP:inputstream=y\r\n"
    "https://src/cnn.m3u8\r\n"
    "#EXTINF:-1 tvg-name=\"Only Name\" group-title=\"G\",\r\n"
    "#EXTGRP:Ignored\r\n"
    "rtmp://host/app/key\r\n";

static void check_good(const struct result *r)
{
    assert_int_equal(r->nr, 0);
    assert_int_equal(r->ne, 3);
    assert_int_equal(r->e[0].line, 2);
    assert_int_equal(r->e[0].url_line, 4);
    assert_int_equal(r->e[0].duration, -1);
    assert_string_equal(r->e[0].title, "BBC One HD");
    assert_string_equal(r->e[0].name, "BBC One HD");
    assert_string_equal(r->e[0].tvg_id, "bbc1.uk");
    assert_string_equal(r->e[0].tvg_name, "BBC, One");
    assert_string_equal(r->e[0].tvg_logo, "http://l/b.png");
    assert_string_equal(r->e[0].group, "UK");
    assert_string_equal(r->e[0].url, "http://src/bbc1.ts");
    assert_int_equal(r->e[1].duration, 10);
    assert_string_equal(r->e[1].tvg_id, "cnn");
    assert_string_equal(r->e[1].title, "CNN, International");
    assert_string_equal(r->e[1].group, "News");
    assert_int_equal(r->e[1].url_line, 9);
    assert_string_equal(r->e[2].title, "");
    assert_string_equal(r->e[2].name, "Only Name");
    assert_string_equal(r->e[2].group, "G");
    assert_string_equal(r->e[2].url, "rtmp://host/app/key");
}

static void test_good_playlist(void **state)
{
    (void)state;
    struct result r = {0};
    assert_int_equal(parse(good, sizeof(good) - 1, 0, 0, &r), 0);
    check_good(&r);
}

static void test_chunked_feeding(void **state)
{
    (void)state;
    for (size_t chunk = 1; chunk < 40; chunk += 3) {
        struct result r = {0};
        assert_int_equal(parse(good, sizeof(good) - 1, chunk, 0, &r), 0);
        check_good(&r);
    }
}

static void test_cr_and_lf_line_endings(void **state)
{
    (void)state;
    const char cr[] = "#EXTM3U\r#EXTINF:-1,A\rhttp://a/1\r#EXTINF:-1,B\rhttp://a/2";
    struct result r = {0};
    assert_int_equal(parse(cr, sizeof(cr) - 1, 0, 0, &r), 0);
    assert_int_equal(r.nr, 0);
    assert_int_equal(r.ne, 2);
    assert_int_equal(r.e[1].url_line, 5);
    assert_string_equal(r.e[1].url, "http://a/2");
}

static void test_rejections_have_line_numbers(void **state)
{
    (void)state;
    const char bad[] = "#EXTM3U\n"
                       "http://orphan/1.ts\n"                 /* 2 */
                       "#EXTINF:-1 tvg-id=\"x,Unterminated\n" /* 3 */
                       "http://a/1.ts\n"                      /* 4: consumed silently */
                       "#EXTINF:-1,Missing URL\n"             /* 5 */
                       "#EXTINF:-1,Bad scheme\n"              /* 6 */
                       "javascript:alert(1)\n"                /* 7 */
                       "#EXTINF:-1,Relative\n"                /* 8 */
                       "foo/bar.ts\n"                         /* 9 */
                       "#EXTINF:abc,Bad duration\n"           /* 10 */
                       "http://a/2.ts\n"                      /* 11 */
                       "#EXTINF:-1 tvg-id=\"a\"\n"            /* 12 */
                       "http://a/3.ts\n"                      /* 13 */
                       "#EXTINF:-1,\n"                        /* 14 */
                       "http://a/4.ts\n"                      /* 15 */
                       "#EXTINF:-1,Fine\n"                    /* 16 */
                       "http://a/5.ts\n"                      /* 17 */
                       "#EXTINF:-1,Bad \x01 control\n"        /* 18 */
                       "http://a/6.ts\n"                      /* 19 */
                       "#EXTINF:-1,Bad \xc3\x28 utf8\n"       /* 20 */
                       "http://a/7.ts\n"                      /* 21 */
                       "#EXTINF:-1,Trailing\n";               /* 22 */
    struct result r = {0};
    assert_int_equal(parse(bad, sizeof(bad) - 1, 0, M3U_ALLOW_LOCAL, &r), 0);
    assert_int_equal(r.ne, 1);
    assert_string_equal(r.e[0].title, "Fine");
    static const struct {
        size_t line;
        const char *reason;
    } want[] = {
        {2, "URL without #EXTINF"},
        {3, "unterminated attribute value"},
        {5, "#EXTINF without URL"},
        {7, "URL scheme not allowed \"javascript:\""},
        {9, "not a URL or absolute file path"},
        {10, "invalid #EXTINF duration"},
        {12, "#EXTINF without ',' before the title"},
        {14, "#EXTINF without a title"},
        {18, "control character in line"},
        {20, "invalid UTF-8"},
        {22, "#EXTINF without URL"},
    };
    assert_int_equal(r.nr, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < r.nr; i++) {
        assert_int_equal(r.rline[i], want[i].line);
        assert_string_equal(r.reason[i], want[i].reason);
    }
}

static void test_missing_header(void **state)
{
    (void)state;
    const char txt[] = "#EXTINF:-1,A\nhttp://a/1\n";
    struct result r = {0};
    parse(txt, sizeof(txt) - 1, 0, 0, &r);
    assert_int_equal(r.nr, 1);
    assert_int_equal(r.rline[0], 1);
    assert_string_equal(r.reason[0], "missing #EXTM3U header");
    assert_int_equal(r.ne, 1);

    struct result e = {0};
    parse("", 0, 0, 0, &e);
    assert_int_equal(e.nr, 1);
    assert_int_equal(e.ne, 0);
}

static void test_local_sources_need_flag(void **state)
{
    (void)state;
    const char txt[] = "#EXTM3U\n#EXTINF:-1,F\n/srv/a.ts\n#EXTINF:-1,L\nlavfi:testsrc2\n"
                       "#EXTINF:-1,U\nfile:///x.ts\n#EXTINF:-1,S\nsrt://h:9000\n";
    struct result r = {0};
    parse(txt, sizeof(txt) - 1, 0, 0, &r);
    assert_int_equal(r.ne, 1);
    assert_int_equal(r.nr, 3);
    assert_int_equal(r.rline[0], 3);
    assert_string_equal(r.reason[0], "local file path not allowed in a downloaded playlist");
    struct result l = {0};
    parse(txt, sizeof(txt) - 1, 0, M3U_ALLOW_LOCAL, &l);
    assert_int_equal(l.nr, 0);
    assert_int_equal(l.ne, 4);
    assert_string_equal(l.e[1].url, "lavfi:testsrc2");
}

static void test_long_line_is_rejected(void **state)
{
    (void)state;
    size_t big = M3U_MAX_LINE + 100;
    const char head[] = "#EXTM3U\n#EXTINF:-1,Long\n";
    const char tail[] = "\n#EXTINF:-1,After\nhttp://a/ok\n";
    size_t len = strlen(head) + 7 + big + strlen(tail);
    char *txt = malloc(len + 1);
    assert_non_null(txt);
    size_t off = 0;
    memcpy(txt, head, strlen(head));
    off += strlen(head);
    memcpy(txt + off, "http://", 7);
    off += 7;
    memset(txt + off, 'a', big);
    off += big;
    memcpy(txt + off, tail, strlen(tail));
    off += strlen(tail);
    struct result r = {0};
    assert_int_equal(parse(txt, off, 4096, 0, &r), 0);
    free(txt);
    assert_int_equal(r.nr, 1);
    assert_int_equal(r.rline[0], 3);
    assert_string_equal(r.reason[0], "line longer than 65536 bytes");
    assert_int_equal(r.ne, 1);
    assert_string_equal(r.e[0].title, "After");
}

static void test_url_too_long(void **state)
{
    (void)state;
    char txt[M3U_MAX_URL + 128];
    int n = snprintf(txt, sizeof(txt), "#EXTM3U\n#EXTINF:-1,X\nhttp://");
    memset(txt + n, 'b', M3U_MAX_URL);
    txt[n + M3U_MAX_URL] = '\n';
    struct result r = {0};
    parse(txt, (size_t)n + M3U_MAX_URL + 1, 0, 0, &r);
    assert_int_equal(r.nr, 1);
    assert_string_equal(r.reason[0], "URL longer than 4096 bytes");
}

static void test_callback_stops_parser(void **state)
{
    (void)state;
    const char txt[] = "#EXTM3U\n#EXTINF:-1,A\nhttp://a/1\n#EXTINF:-1,B\nhttp://a/2\n";
    struct result r = {.stop_after = 1};
    assert_int_equal(parse(txt, sizeof(txt) - 1, 0, 0, &r), -125);
    assert_int_equal(r.ne, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_playlist),
        cmocka_unit_test(test_chunked_feeding),
        cmocka_unit_test(test_cr_and_lf_line_endings),
        cmocka_unit_test(test_rejections_have_line_numbers),
        cmocka_unit_test(test_missing_header),
        cmocka_unit_test(test_local_sources_need_flag),
        cmocka_unit_test(test_long_line_is_rejected),
        cmocka_unit_test(test_url_too_long),
        cmocka_unit_test(test_callback_stops_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
