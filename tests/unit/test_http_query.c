/*
 * Unit tests for src/http/query.c: percent-decoding, query strings, url-encoded
 * and multipart forms, the POST-wins merge, limits and log redaction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/query.h"

static void test_percent_decode(void **state)
{
    char out[64];
    assert_int_equal(http_percent_decode(out, "a%20b%2fc", 9, HTTP_DECODE_STRICT), 5);
    assert_string_equal(out, "a b/c");
    assert_int_equal(http_percent_decode(out, "a+b", 3, HTTP_DECODE_PLUS), 3);
    assert_string_equal(out, "a b");
    assert_int_equal(http_percent_decode(out, "a+b", 3, 0), 3);
    assert_string_equal(out, "a+b");
    assert_int_equal(http_percent_decode(out, "%C3%A9", 6, HTTP_DECODE_STRICT), 2);
    assert_string_equal(out, "\xc3\xa9");
    /* Invalid escapes: strict fails, lenient keeps them literally. */
    assert_int_equal(http_percent_decode(out, "%zz", 3, HTTP_DECODE_STRICT), -EINVAL);
    assert_int_equal(http_percent_decode(out, "a%", 2, HTTP_DECODE_STRICT), -EINVAL);
    assert_int_equal(http_percent_decode(out, "a%4", 3, HTTP_DECODE_STRICT), -EINVAL);
    assert_int_equal(http_percent_decode(out, "50%off%2", 8, 0), 8);
    assert_string_equal(out, "50%off%2");
    /* A decoded NUL is always an error. */
    assert_int_equal(http_percent_decode(out, "a%00", 4, 0), -EINVAL);
    assert_int_equal(http_percent_decode(out, "a\0b", 3, 0), -EINVAL); /* raw NUL too */
    assert_int_equal(http_percent_decode(out, "", 0, 0), 0);
    assert_string_equal(out, "");
    /* Never reads past len. */
    assert_int_equal(http_percent_decode(out, "%41%42", 4, 0), 2);
    assert_string_equal(out, "A%");
}

static void test_query_string(void **state)
{
    struct http_params p = {0};
    const char *q = "username=j%C3%B6rg&password=a+b%2Bc&action=&flag&=nokey&&x=1&x=2&e=%zz";
    assert_int_equal(http_params_parse_urlencoded(&p, q, strlen(q)), 0);
    assert_int_equal(p.count, 7);
    assert_string_equal(http_param_get(&p, "username"), "j\xc3\xb6rg");
    assert_string_equal(http_param_get(&p, "password"), "a b+c");
    assert_string_equal(http_param_get(&p, "action"), "");
    assert_string_equal(http_param_get(&p, "flag"), "");
    assert_string_equal(http_param_get(&p, "x"), "1"); /* first value wins */
    assert_string_equal(http_param_get(&p, "e"), "%zz");
    assert_null(http_param_get(&p, ""));
    assert_null(http_param_get(&p, "missing"));
    assert_null(http_param_get(&p, "Username")); /* keys are case-sensitive */
    http_params_free(&p);
    assert_int_equal(p.count, 0);

    /* Encoded keys, PHP-style brackets. */
    q = "params%5Boffset%5D=10&a%20b=c";
    assert_int_equal(http_params_parse_urlencoded(&p, q, strlen(q)), 0);
    assert_string_equal(http_param_get(&p, "params[offset]"), "10");
    assert_string_equal(http_param_get(&p, "a b"), "c");
    http_params_free(&p);

    q = "a=1&b=%00";
    assert_int_equal(http_params_parse_urlencoded(&p, q, strlen(q)), -EINVAL);
    http_params_free(&p);
    q = "a%00=1";
    assert_int_equal(http_params_parse_urlencoded(&p, q, strlen(q)), -EINVAL);
    http_params_free(&p);
    /* A form body with a raw NUL must not yield a truncated key or value. */
    assert_int_equal(http_params_parse_urlencoded(&p, "user=admin\0x&b=1", 16), -EINVAL);
    http_params_free(&p);
}

static void test_param_limit(void **state)
{
    struct http_params p = {0};
    struct buf b = BUF_INIT(0);
    for (int i = 0; i < HTTP_MAX_PARAMS; i++)
        buf_printf(&b, "k%d=v&", i);
    assert_int_equal(http_params_parse_urlencoded(&p, b.data, b.len), 0);
    assert_int_equal(p.count, HTTP_MAX_PARAMS);
    http_params_free(&p);
    buf_puts(&b, "one=more");
    assert_int_equal(http_params_parse_urlencoded(&p, b.data, b.len), -E2BIG);
    http_params_free(&p);
    buf_free(&b);
}

static void test_overlay(void **state)
{
    struct http_params q = {0}, body = {0};
    assert_int_equal(http_params_parse_urlencoded(&q, "a=q&b=q", 7), 0);
    assert_int_equal(http_params_parse_urlencoded(&body, "b=p&c=p&b=p2", 12), 0);
    assert_int_equal(http_params_overlay(&q, &body), 0);
    assert_int_equal(body.count, 0);
    assert_int_equal(q.count, 5);
    assert_string_equal(http_param_get(&q, "a"), "q");
    assert_string_equal(http_param_get(&q, "b"), "p");
    assert_string_equal(http_param_get(&q, "c"), "p");
    http_params_free(&q);
    http_params_free(&body);
}

static void test_multipart(void **state)
{
    const char *b = "preamble\r\n--XyZ\r\n"
                    "Content-Disposition: form-data; name=\"username\"\r\n\r\n"
                    "alice\r\n"
                    "--XyZ\r\n"
                    "content-disposition: form-data; name=password\r\n"
                    "Content-Type: text/plain\r\n\r\n"
                    "p\r\nw\r\n"
                    "--XyZ\r\n"
                    "Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n"
                    "FILE\r\n"
                    "--XyZ\r\n"
                    "Content-Disposition: form-data; name=\"empty\"\r\n\r\n"
                    "\r\n"
                    "--XyZ--\r\n";
    struct http_params p = {0};
    assert_int_equal(http_params_parse_multipart(&p, b, strlen(b), "XyZ", 3), 0);
    assert_int_equal(p.count, 3);
    assert_string_equal(http_param_get(&p, "username"), "alice");
    assert_string_equal(http_param_get(&p, "password"), "p\r\nw");
    assert_string_equal(http_param_get(&p, "empty"), "");
    assert_null(http_param_get(&p, "file"));
    http_params_free(&p);

    /* Malformed bodies. */
    const char *bad[] = {
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
        "no boundary at all",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nno blank line",
        "--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--XyZ--",
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--XyZ--",
        "--XyZjunk\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(http_params_parse_multipart(&p, bad[i], strlen(bad[i]), "XyZ", 3),
                         -EINVAL);
        http_params_free(&p);
    }

    const char *bd;
    size_t bl;
    assert_int_equal(http_multipart_boundary("multipart/form-data; boundary=abc", &bd, &bl), 0);
    assert_int_equal(bl, 3);
    assert_memory_equal(bd, "abc", 3);
    assert_int_equal(
        http_multipart_boundary("Multipart/Form-Data;charset=x; boundary=\"a b\"", &bd, &bl), 0);
    assert_int_equal(bl, 3);
    assert_memory_equal(bd, "a b", 3);
    assert_int_equal(http_multipart_boundary("multipart/form-data", &bd, &bl), -EINVAL);
    assert_int_equal(http_multipart_boundary("multipart/form-data; boundary=", &bd, &bl), -EINVAL);
    assert_int_equal(http_multipart_boundary("text/plain; boundary=x", &bd, &bl), -ENOENT);
    assert_int_equal(http_multipart_boundary("multipart/form-datax; boundary=x", &bd, &bl),
                     -ENOENT);
}

static struct http_header hdr_ct[1];

static void fake_post(struct http_request *req, const char *query, const char *ct, const char *body)
{
    memset(req, 0, sizeof(*req));
    req->method = HTTP_POST;
    req->method_name = "POST";
    req->query = query;
    hdr_ct[0].name = "Content-Type";
    hdr_ct[0].value = ct;
    req->headers = hdr_ct;
    req->header_count = ct ? 1 : 0;
    req->body = body;
    req->body_len = strlen(body);
}

static void test_request_params_post_wins(void **state)
{
    struct http_request req;
    const char *why = NULL;
    fake_post(&req, "username=q&action=get_live_streams", "application/x-www-form-urlencoded",
              "username=form&password=secret");
    assert_int_equal(http_request_parse_params(&req, &why), 0);
    assert_string_equal(http_request_param(&req, "username"), "form");
    assert_string_equal(http_request_param(&req, "password"), "secret");
    assert_string_equal(http_request_param(&req, "action"), "get_live_streams");
    http_params_free(&req.params);

    fake_post(&req, "username=q", "multipart/form-data; boundary=B",
              "--B\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nmp\r\n--B--\r\n");
    assert_int_equal(http_request_parse_params(&req, &why), 0);
    assert_string_equal(http_request_param(&req, "username"), "mp");
    http_params_free(&req.params);

    /* Other content types and other methods leave the body alone. */
    fake_post(&req, "a=1", "application/json", "{\"a\":2}");
    assert_int_equal(http_request_parse_params(&req, &why), 0);
    assert_string_equal(http_request_param(&req, "a"), "1");
    http_params_free(&req.params);
    fake_post(&req, "a=1", "application/x-www-form-urlencoded", "a=2");
    req.method = HTTP_PUT;
    assert_int_equal(http_request_parse_params(&req, &why), 0);
    assert_string_equal(http_request_param(&req, "a"), "1");
    http_params_free(&req.params);

    /* Errors. */
    fake_post(&req, "a=%00", NULL, "");
    assert_int_equal(http_request_parse_params(&req, &why), -EINVAL);
    assert_non_null(why);
    http_params_free(&req.params);
    fake_post(&req, "", "multipart/form-data; boundary=B", "garbage");
    assert_int_equal(http_request_parse_params(&req, &why), -EINVAL);
    assert_string_equal(why, "invalid multipart body");
    http_params_free(&req.params);

    /* The query and the body together above the limit. */
    struct buf q = BUF_INIT(0), f = BUF_INIT(0);
    for (int i = 0; i < HTTP_MAX_PARAMS / 2 + 1; i++) {
        buf_printf(&q, "q%d=1&", i);
        buf_printf(&f, "f%d=1&", i);
    }
    fake_post(&req, q.data, "application/x-www-form-urlencoded", f.data);
    assert_int_equal(http_request_parse_params(&req, &why), -E2BIG);
    http_params_free(&req.params);
    buf_free(&q);
    buf_free(&f);
}

static void test_redact(void **state)
{
    struct buf b = BUF_INIT(0);
    assert_int_equal(
        http_query_redact(&b, "username=bob&password=hunter2&token=abc&Pass%77ord=x&x=password"),
        0);
    assert_string_equal(b.data, "username=bob&password=***&token=***&Pass%77ord=***&x=password");
    buf_reset(&b);
    assert_int_equal(http_query_redact(&b, "password&a=1"), 0);
    assert_string_equal(b.data, "password&a=1");
    buf_free(&b);
}

static void expect_path(const char *path, const char *want)
{
    struct buf b = BUF_INIT(0);
    assert_int_equal(http_path_redact(&b, path), 0);
    assert_string_equal(b.data, want);
    buf_free(&b);
}

/* Every client route form with password "PW", and the forms with extra or
 * missing segments that match no route (they used to be logged whole). */
static void test_path_redact(void **state)
{
    (void)state;
    expect_path("/", "/");
    expect_path("/player_api.php", "/player_api.php");
    expect_path("/live/U/PW/1.ts", "/live/U/***/1.ts");
    expect_path("/live/U/PW/1.ts/x", "/live/U/***/1.ts/x");
    expect_path("/movie/U/PW", "/movie/***/***");
    expect_path("/series/U/PW/9.mkv", "/series/U/***/9.mkv");
    expect_path("/timeshift/U/PW/60/2024-01-01:10-00/1.ts",
                "/timeshift/U/***/60/2024-01-01:10-00/1.ts");
    expect_path("/timeshifts/U/PW/60/1/2024-01-01:10-00.ts",
                "/timeshifts/U/***/60/1/2024-01-01:10-00.ts");
    expect_path("/player_api/U/PW", "/player_api/***/***");
    expect_path("/player_api/U/PW/a/b", "/player_api/U/***/a/b");
    expect_path("/playlist/U/PW/m3u_plus", "/playlist/U/***/m3u_plus");
    expect_path("/epg/U/PW/gz", "/epg/U/***/gz");
    expect_path("/U/PW/1.ts", "/U/***/1.ts");
    expect_path("/U/PW/1.ts/x", "/U/***/***/***");
    expect_path("/alice/PW/abc", "/alice/***/***");
    expect_path("/alice/PW", "/alice/***");
    expect_path("/get.php/U/PW", "/get.php/***/***");
    expect_path("/xmltv.php/U/PW", "/xmltv.php/***/***");
    expect_path("//live//U//PW//1.ts", "/live/U/***/1.ts");
    expect_path("/%6Cive/U/PW/1.ts", "/%6Cive/U/***/1.ts");
    expect_path("/hls/TOKEN/3.ts", "/hls/***/3.ts");
    /* users named like a route, in the short form */
    expect_path("/metrics/PW/1.ts", "/metrics/***/1.ts");
    expect_path("/api/PW/1.ts", "/api/***/1.ts");
    expect_path("/live/PW/1.ts", "/live/***/***");
    /* credential-free shapes stay readable */
    expect_path("/api/admin/channels/3/stop", "/api/admin/channels/3/stop");
    expect_path("/metrics", "/metrics");
    expect_path("/images/movie/3/poster", "/images/movie/3/poster");
    expect_path("/images/U/PW/x", "/images/***/***/***");
    expect_path("/streaming/clients_live.php", "/streaming/clients_live.php");
    /* beyond the segment limit */
    expect_path("/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s",
                "/a/***/***/***/***/***/***/***/***/***/***/***/***/***/***/***/...");
    struct buf b = BUF_INIT(0);
    assert_int_equal(http_query_redact(&b, "username=u&pwd=1&pass=2&passwd=3&%zz=4&a=5"), 0);
    assert_string_equal(b.data, "username=u&pwd=***&pass=***&passwd=***&%zz=4&a=5");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percent_decode), cmocka_unit_test(test_query_string),
        cmocka_unit_test(test_param_limit),    cmocka_unit_test(test_overlay),
        cmocka_unit_test(test_multipart),      cmocka_unit_test(test_request_params_post_wins),
        cmocka_unit_test(test_redact),         cmocka_unit_test(test_path_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
