/*
 * Unit tests for src/http/parser.c: strict request-head scanning and parsing,
 * every limit and the status it maps to, input split at every byte, pipelining.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "http/parser.h"

struct parsed {
    struct http_request req;
    struct http_header hdrs[HTTP_MAX_HEADERS];
    struct http_head_info info;
    char *head;
    char *scratch;
    size_t head_len; /* as reported by the scanner */
};

static void parsed_free(struct parsed *p)
{
    free(p->head);
    free(p->scratch);
    p->head = p->scratch = NULL;
}

/* Scans and parses one head from data; returns 0 or the error status. */
static int parse_n(const char *data, size_t len, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    struct http_head_scan s;
    http_head_scan_init(&s);
    size_t hl = 0;
    int rc = http_head_scan(&s, data, len, &hl);
    if (rc == -EAGAIN)
        return -EAGAIN;
    if (rc)
        return s.status;
    p->head_len = hl;
    size_t n = hl - s.start;
    p->head = malloc(n + 1);
    p->scratch = malloc(HTTP_HEAD_SCRATCH(n));
    memcpy(p->head, data + s.start, n);
    p->head[n] = '\0';
    rc = http_head_parse(p->head, n, &p->req, p->hdrs, p->scratch, &p->info);
    if (rc)
        return p->info.status;
    return 0;
}

static int parse(const char *data, struct parsed *p)
{
    return parse_n(data, strlen(data), p);
}

static int status_of(const char *data)
{
    struct parsed p;
    int st = parse(data, &p);
    parsed_free(&p);
    return st;
}

/* The reason given for a rejected head ("" when accepted). */
static const char *error_of(const char *data)
{
    static char why[128];
    struct parsed p;
    why[0] = '\0';
    if (parse(data, &p) > 0)
        snprintf(why, sizeof(why), "%s", p.info.error);
    parsed_free(&p);
    return why;
}

static void test_valid_get(void **state)
{
    struct parsed p;
    const char *r = "GET /player_api.php?username=a&password=b HTTP/1.1\r\n"
                    "Host: example\r\n"
                    "User-Agent:   IPTV Smarters  \r\n"
                    "X-Empty:\r\n"
                    "\r\n";
    assert_int_equal(parse(r, &p), 0);
    assert_int_equal(p.head_len, strlen(r));
    assert_int_equal(p.req.method, HTTP_GET);
    assert_string_equal(p.req.method_name, "GET");
    assert_int_equal(p.req.version_minor, 1);
    assert_string_equal(p.req.target, "/player_api.php?username=a&password=b");
    assert_string_equal(p.req.path, "/player_api.php");
    assert_string_equal(p.req.query, "username=a&password=b");
    assert_int_equal(p.req.segment_count, 1);
    assert_string_equal(p.req.segments[0], "player_api.php");
    assert_int_equal(p.req.header_count, 3);
    assert_string_equal(http_request_header(&p.req, "user-agent"), "IPTV Smarters");
    assert_string_equal(http_request_header(&p.req, "HOST"), "example");
    assert_string_equal(http_request_header(&p.req, "x-empty"), "");
    assert_null(http_request_header(&p.req, "Cookie"));
    assert_true(p.req.keep_alive);
    assert_int_equal(p.info.content_length, -1);
    assert_false(p.info.expect_continue);
    parsed_free(&p);
}

static void test_segments(void **state)
{
    struct parsed p;
    assert_int_equal(parse("GET //live//user%20a/p%2Fw/1.ts/ HTTP/1.1\r\nHost: h\r\n\r\n", &p), 0);
    assert_string_equal(p.req.path, "//live//user%20a/p%2Fw/1.ts/");
    assert_string_equal(p.req.query, "");
    assert_int_equal(p.req.segment_count, 4);
    assert_string_equal(p.req.segments[0], "live");
    assert_string_equal(p.req.segments[1], "user a");
    assert_string_equal(p.req.segments[2], "p/w");
    assert_string_equal(p.req.segments[3], "1.ts");
    parsed_free(&p);

    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n", &p), 0);
    assert_int_equal(p.req.segment_count, 0);
    assert_string_equal(p.req.path, "/");
    parsed_free(&p);

    /* '+' is not a space in paths. */
    assert_int_equal(parse("GET /a+b?x HTTP/1.1\r\nHost: h\r\n\r\n", &p), 0);
    assert_string_equal(p.req.segments[0], "a+b");
    assert_string_equal(p.req.query, "x");
    parsed_free(&p);

    /* Exactly HTTP_MAX_SEGMENTS is fine, one more is 414. */
    struct buf b = BUF_INIT(0);
    buf_puts(&b, "GET ");
    for (int i = 0; i < HTTP_MAX_SEGMENTS; i++)
        buf_puts(&b, "/s");
    buf_puts(&b, " HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(parse(b.data, &p), 0);
    assert_int_equal(p.req.segment_count, HTTP_MAX_SEGMENTS);
    parsed_free(&p);
    buf_reset(&b);
    buf_puts(&b, "GET ");
    for (int i = 0; i <= HTTP_MAX_SEGMENTS; i++)
        buf_puts(&b, "/s");
    buf_puts(&b, " HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(status_of(b.data), 414);
    buf_free(&b);
}

static void test_absolute_form_and_leading_crlf(void **state)
{
    struct parsed p;
    assert_int_equal(
        parse("\r\n\r\nGET http://Example.com:8080/a/b?c=1 HTTP/1.1\r\nHost: x\r\n\r\n", &p), 0);
    assert_string_equal(p.req.path, "/a/b");
    assert_string_equal(p.req.query, "c=1");
    assert_int_equal(p.req.segment_count, 2);
    parsed_free(&p);
    assert_int_equal(parse("GET http://h?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", &p), 0);
    assert_string_equal(p.req.path, "/");
    assert_string_equal(p.req.query, "x=1");
    parsed_free(&p);
}

static void test_versions_and_keepalive(void **state)
{
    struct parsed p;
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &p), 0); /* Host optional in 1.0 */
    assert_int_equal(p.req.version_minor, 0);
    assert_false(p.req.keep_alive);
    parsed_free(&p);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &p), 0);
    assert_true(p.req.keep_alive);
    parsed_free(&p);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n", &p), 0);
    assert_false(p.req.keep_alive);
    parsed_free(&p);
    assert_int_equal(status_of("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
    assert_int_equal(status_of("GET / HTTP/1.x\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET / http/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET / HTTP/1.10\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET /\r\nHost: h\r\n\r\n"), 400);
}

static void test_methods(void **state)
{
    struct parsed p;
    assert_int_equal(parse("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n", &p), 0);
    assert_int_equal(p.req.method, HTTP_HEAD);
    parsed_free(&p);
    assert_int_equal(parse("BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", &p), 0);
    assert_int_equal(p.req.method, HTTP_OTHER);
    assert_string_equal(p.req.method_name, "BREW");
    parsed_free(&p);
    assert_int_equal(http_method_from("OPTIONS", 7), HTTP_OPTIONS);
    assert_int_equal(http_method_from("get", 3), HTTP_OTHER); /* methods are case-sensitive */
    assert_int_equal(status_of("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400);
}

static void test_bad_targets(void **state)
{
    assert_int_equal(status_of("GET a/b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    /* Bad escapes in the query are the query parser's business, not the head's. */
    assert_int_equal(status_of("GET /a?p=%zz HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
}

static void test_bad_headers(void **state)
{
    assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n"), 400);
    assert_string_equal(error_of("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\tfolded\r\n\r\n"),
                        "obsolete line folding is not allowed");
    assert_string_equal(error_of("GET / HTTP/1.1\r\nHost : h\r\n\r\n"),
                        "whitespace before colon in header");
    assert_string_equal(error_of("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"),
                        "header line without colon");
    assert_int_equal(status_of("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), 400);
    assert_int_equal(status_of("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n"), 400);
    assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: h\r\nBad(Name): v\r\n\r\n"), 400);
    assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n"), 400);
    assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\tb\xff\r\n\r\n"), 0);
    assert_int_equal(status_of("GET / HTTP/1.1\r\n\r\n"), 400);                       /* no Host */
    assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400); /* two */
    assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n"), 417);
    /* Line endings: bare LF, bare CR, NUL. */
    assert_int_equal(status_of("GET / HTTP/1.1\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"), 400);
    static const char nul[] = "GET / HTTP/1.1\r\nHost: h\0\r\n\r\n";
    struct parsed p;
    assert_int_equal(parse_n(nul, sizeof(nul) - 1, &p), 400);
}

static void test_content_length(void **state)
{
    struct parsed p;
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n", &p), 0);
    assert_int_equal(p.info.content_length, 12);
    parsed_free(&p);
    assert_int_equal(
        parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n",
              &p),
        0);
    assert_int_equal(p.info.content_length, 5);
    parsed_free(&p);
    assert_int_equal(
        parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", &p),
        0);
    assert_true(p.info.content_length > HTTP_MAX_BODY); /* the server answers 413 */
    parsed_free(&p);
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
                           "Expect: 100-Continue\r\n\r\n",
                           &p),
                     0);
    assert_true(p.info.expect_continue);
    parsed_free(&p);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n"), 400);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), 400);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n"), 400);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n"), 400);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n"), 400);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n"), 400);
    assert_int_equal(
        status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        400);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n"),
                     400);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     411);
    assert_int_equal(
        status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), 400);
}

static void test_limits(void **state)
{
    struct buf b = BUF_INIT(0);
    /* Request line of exactly HTTP_MAX_REQUEST_LINE bytes is accepted. */
    size_t fixed = strlen("GET /") + strlen(" HTTP/1.1");
    buf_puts(&b, "GET /");
    for (size_t i = 0; i < HTTP_MAX_REQUEST_LINE - fixed; i++)
        buf_putc(&b, 'a');
    buf_puts(&b, " HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(status_of(b.data), 0);
    buf_reset(&b);
    buf_puts(&b, "GET /");
    for (size_t i = 0; i < HTTP_MAX_REQUEST_LINE - fixed + 1; i++)
        buf_putc(&b, 'a');
    buf_puts(&b, " HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(status_of(b.data), 414);
    /* 414 is reported before the line ends. */
    struct http_head_scan s;
    http_head_scan_init(&s);
    size_t hl;
    assert_int_equal(http_head_scan(&s, b.data, HTTP_MAX_REQUEST_LINE + 1, &hl), -EBADMSG);
    assert_int_equal(s.status, 414);

    /* HTTP_MAX_HEADERS fields are fine, one more is 431. */
    buf_reset(&b);
    buf_puts(&b, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (int i = 1; i < HTTP_MAX_HEADERS; i++)
        buf_printf(&b, "X-%d: v\r\n", i);
    buf_puts(&b, "\r\n");
    struct parsed p;
    assert_int_equal(parse(b.data, &p), 0);
    assert_int_equal(p.req.header_count, HTTP_MAX_HEADERS);
    parsed_free(&p);
    b.len -= 2;
    buf_puts(&b, "X-Last: v\r\n\r\n");
    assert_int_equal(status_of(b.data), 431);
    /* The scanner itself stops at the 101st field, before the head ends. */
    http_head_scan_init(&s);
    assert_int_equal(http_head_scan(&s, b.data, b.len - 2, &hl), -EBADMSG);
    assert_int_equal(s.status, 431);

    /* Header section over HTTP_MAX_HEADER_BYTES: 431, even before it ends. */
    buf_reset(&b);
    buf_puts(&b, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
    for (int i = 0; i < HTTP_MAX_HEADER_BYTES; i++)
        buf_putc(&b, 'x');
    http_head_scan_init(&s);
    assert_int_equal(http_head_scan(&s, b.data, b.len, &hl), -EBADMSG);
    assert_int_equal(s.status, 431);
    buf_puts(&b, "\r\n\r\n");
    assert_int_equal(status_of(b.data), 431);
    buf_free(&b);
}

/* Feeding growing prefixes must give the same result as the whole input. */
static void test_split_every_byte(void **state)
{
    const char *in = "\r\nPOST /a/b%20c?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                     "User-Agent: VLC/3.0\r\n\r\nabcGET /next HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t len = strlen(in);
    size_t first = strstr(in, "abc") - in;
    struct http_head_scan s;
    http_head_scan_init(&s);
    size_t hl = 0;
    int rc = -EAGAIN;
    size_t i;
    for (i = 0; i <= len && rc == -EAGAIN; i++)
        rc = http_head_scan(&s, in, i, &hl);
    assert_int_equal(rc, 0);
    assert_int_equal(hl, first);
    assert_int_equal(i - 1, first); /* completes exactly at the last byte of the head */
    assert_int_equal(s.start, 2);

    /* Any split into two reads. */
    for (size_t cut = 0; cut <= len; cut++) {
        http_head_scan_init(&s);
        rc = http_head_scan(&s, in, cut, &hl);
        if (cut < first) {
            assert_int_equal(rc, -EAGAIN);
            rc = http_head_scan(&s, in, len, &hl);
        }
        assert_int_equal(rc, 0);
        assert_int_equal(hl, first);
    }
    /* Errors are found at any split too. */
    const char *bad = "GET / HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n";
    for (size_t cut = 0; cut <= strlen(bad); cut++) {
        char *copy = strdup(bad);
        http_head_scan_init(&s);
        rc = http_head_scan(&s, copy, cut, &hl);
        if (rc == -EAGAIN)
            rc = http_head_scan(&s, copy, strlen(copy), &hl);
        assert_int_equal(rc, 0);
        struct parsed p;
        assert_int_equal(parse(copy, &p), 400);
        parsed_free(&p);
        free(copy);
    }
}

static void test_pipelined(void **state)
{
    const char *in = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
                     "HEAD /two HTTP/1.1\r\nHost: h\r\n\r\n"
                     "GET /three HTTP/1.0\r\n\r\n";
    const char *want[] = {"/one", "/two", "/three"};
    const char *p = in;
    for (int i = 0; i < 3; i++) {
        struct parsed r;
        assert_int_equal(parse(p, &r), 0);
        assert_string_equal(r.req.target, want[i]);
        p += r.head_len;
        parsed_free(&r);
    }
    assert_int_equal(*p, '\0');
    struct parsed r;
    assert_int_equal(parse("GET /incomplete HTTP/1.1\r\nHost: h\r\n", &r), -EAGAIN);
}

static void test_reasons(void **state)
{
    assert_string_equal(http_status_reason(200), "OK");
    assert_string_equal(http_status_reason(431), "Request Header Fields Too Large");
    assert_string_equal(http_status_reason(799), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_get),
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_absolute_form_and_leading_crlf),
        cmocka_unit_test(test_versions_and_keepalive),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_bad_targets),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_split_every_byte),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
