/*
 * Unit tests for src/http/encoding.c: the Accept-Encoding policy (tokens,
 * case, whitespace, q-values, "*", repeated fields, malformed elements) and
 * the gzip coding of a body (round trip through zlib's inflate).
 *
 * With XTREAMD_GZIP_BODY=<file>, test_levels also compresses that file at
 * levels 1 and 6 and prints size, ratio and time (best of 5) — the
 * measurement behind API_GZIP_LEVEL (docs/internals/api.md).
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
#include <time.h>
#include <zlib.h>

#include "http/encoding.h"

static void test_plain_tokens(void **state)
{
    assert_false(http_accepts_gzip(NULL));
    assert_false(http_accepts_gzip(""));
    assert_false(http_accepts_gzip("   "));
    assert_false(http_accepts_gzip("identity"));
    assert_false(http_accepts_gzip("deflate, br, zstd"));
    assert_true(http_accepts_gzip("gzip"));                    /* OkHttp */
    assert_true(http_accepts_gzip("deflate, gzip, br, zstd")); /* curl --compressed */
    assert_true(http_accepts_gzip("gzip, deflate"));           /* undici fetch */
    assert_true(http_accepts_gzip("GZIP"));
    assert_true(http_accepts_gzip("GZip"));
    assert_true(http_accepts_gzip("x-gzip")); /* RFC 9110 §8.4.1.3 alias */
    assert_true(http_accepts_gzip(" \tgzip\t "));
    assert_true(http_accepts_gzip(",,, gzip ,,"));
    assert_true(http_accepts_gzip("br,gzip"));
    /* Near misses are other codings. */
    assert_false(http_accepts_gzip("gzipx"));
    assert_false(http_accepts_gzip("xgzip"));
    assert_false(http_accepts_gzip("gz"));
    assert_false(http_accepts_gzip("x-gzip2"));
    assert_false(http_accepts_gzip("pgzip, zip"));
}

static void test_qvalues(void **state)
{
    assert_true(http_accepts_gzip("gzip;q=1"));
    assert_true(http_accepts_gzip("gzip;q=1.0"));
    assert_true(http_accepts_gzip("gzip;q=1.000"));
    assert_true(http_accepts_gzip("gzip;q=0.5"));
    assert_true(http_accepts_gzip("gzip;q=0.001"));
    assert_true(http_accepts_gzip("gzip ; q=0.8, identity;q=0.1"));
    assert_true(http_accepts_gzip("gzip;Q=0.9"));
    assert_true(http_accepts_gzip("gzip; q = 0.7")); /* BWS around '=' tolerated */
    assert_false(http_accepts_gzip("gzip;q=0"));
    assert_false(http_accepts_gzip("gzip; q=0"));
    assert_false(http_accepts_gzip("GZIP ;Q=0.000"));
    assert_false(http_accepts_gzip("deflate, gzip;q=0"));
    /* An invalid qvalue counts as 0 (as nginx). */
    assert_false(http_accepts_gzip("gzip;q=1.001"));
    assert_false(http_accepts_gzip("gzip;q=2"));
    assert_false(http_accepts_gzip("gzip;q=0.0001"));
    assert_false(http_accepts_gzip("gzip;q=abc"));
    assert_false(http_accepts_gzip("gzip;q=-1"));
    assert_false(http_accepts_gzip("gzip;q=.5"));
    assert_false(http_accepts_gzip("gzip;q=\"0.5\""));
    /* Other parameters are ignored; the last q of an element counts. */
    assert_true(http_accepts_gzip("gzip;level=9"));
    assert_true(http_accepts_gzip("gzip;foo=\"a;b,c\";q=0.3"));
    assert_false(http_accepts_gzip("gzip;q=0.3;q=0"));
}

static void test_star_and_refusal(void **state)
{
    assert_true(http_accepts_gzip("*"));
    assert_true(http_accepts_gzip("*;q=0.1"));
    assert_true(http_accepts_gzip("identity;q=0, *"));
    assert_false(http_accepts_gzip("*;q=0"));
    assert_false(http_accepts_gzip("identity, *;q=0"));
    /* An explicit gzip entry wins over '*' either way. */
    assert_false(http_accepts_gzip("gzip;q=0, *"));
    assert_false(http_accepts_gzip("*, gzip;q=0"));
    assert_true(http_accepts_gzip("*;q=0, gzip"));
    assert_true(http_accepts_gzip("gzip, *;q=0"));
    /* A refusal anywhere is final, whatever the order. */
    assert_false(http_accepts_gzip("gzip, gzip;q=0"));
    assert_false(http_accepts_gzip("gzip;q=0, gzip"));
    assert_false(http_accepts_gzip("x-gzip;q=0, gzip"));
}

static void test_malformed(void **state)
{
    assert_false(http_accepts_gzip("gzip deflate")); /* missing comma */
    assert_false(http_accepts_gzip("gzip;"));
    assert_false(http_accepts_gzip("gzip;q"));
    assert_false(http_accepts_gzip("gzip;q="));
    assert_false(http_accepts_gzip("gzip;=1"));
    assert_false(http_accepts_gzip("\"gzip\""));
    assert_false(http_accepts_gzip("foo;x=\"a,gzip\""));    /* comma inside quotes */
    assert_false(http_accepts_gzip("foo;x=\"abc, gzip"));   /* unterminated quote */
    assert_false(http_accepts_gzip("foo;x=\"a\\\", gzip")); /* escaped quote */
    /* A malformed element does not hide the next one. */
    assert_true(http_accepts_gzip("gzip deflate, gzip"));
    assert_true(http_accepts_gzip("foo;x=\"a,\", gzip"));
    assert_true(http_accepts_gzip("@@@, gzip"));
    assert_true(http_accepts_gzip("gzip;;, *"));
    assert_false(http_accepts_gzip("gzip;q=0 junk, gzip;q=0"));
}

static void test_request_fields(void **state)
{
    struct http_header h[3] = {
        {"Host", "x"},
        {"Accept-Encoding", "deflate"},
        {"accept-encoding", "gzip"},
    };
    struct http_request req = {.headers = h, .header_count = 3};
    assert_true(http_request_accepts_gzip(&req));
    h[2].value = "gzip;q=0";
    assert_false(http_request_accepts_gzip(&req));
    h[1].value = "*";
    assert_false(http_request_accepts_gzip(&req)); /* gzip;q=0 in the other field wins */
    h[2].value = "br";
    assert_true(http_request_accepts_gzip(&req));
    req.header_count = 1;
    assert_false(http_request_accepts_gzip(&req)); /* no Accept-Encoding at all */
    req.header_count = 0;
    assert_false(http_request_accepts_gzip(&req));
}

static void inflate_all(const struct refbuf *gz, const void *want, size_t want_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK); /* gzip wrapper only */
    unsigned char *out = malloc(want_len + 16);
    assert_non_null(out);
    zs.next_in = (Bytef *)gz->data;
    zs.avail_in = (uInt)gz->len;
    zs.next_out = out;
    zs.avail_out = (uInt)(want_len + 16);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, want_len);
    assert_int_equal(zs.avail_in, 0); /* no trailing garbage */
    if (want_len)
        assert_memory_equal(out, want, want_len);
    inflateEnd(&zs);
    free(out);
}

static void test_gzip_round_trip(void **state)
{
    size_t n = 300000;
    char *data = malloc(n);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++) /* compressible, but not trivially */
        data[i] = (char)("{\"name\":\"Channel \"}"[i % 19] + (char)((i / 997) % 7));
    for (int level = 1; level <= 9; level += 4) {
        struct refbuf *gz = NULL;
        assert_int_equal(http_gzip(data, n, level, &gz), 0);
        assert_true(gz->len > 18 && gz->len < n / 4);
        assert_int_equal((unsigned char)gz->data[0], 0x1f); /* gzip magic */
        assert_int_equal((unsigned char)gz->data[1], 0x8b);
        inflate_all(gz, data, n);
        refbuf_unref(gz);
    }
    struct refbuf *gz = NULL;
    assert_int_equal(http_gzip("", 0, 6, &gz), 0);
    inflate_all(gz, "", 0);
    refbuf_unref(gz);
    /* Incompressible input grows a little; the caller decides what to do. */
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(rand() & 0xff);
    assert_int_equal(http_gzip(data, n, 6, &gz), 0);
    assert_true(gz->len > n);
    inflate_all(gz, data, n);
    refbuf_unref(gz);
    assert_int_equal(http_gzip(data, n, 0, &gz), -EINVAL);
    assert_int_equal(http_gzip(data, n, 10, &gz), -EINVAL);
    free(data);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Measurement, only with XTREAMD_GZIP_BODY=<file> (e.g. a saved
 * get_live_streams body): size, ratio and best-of-5 time per level. */
static void test_levels(void **state)
{
    const char *path = getenv("XTREAMD_GZIP_BODY");
    if (!path || !*path)
        skip();
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *data = malloc((size_t)n);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    static const int levels[] = {1, 6};
    for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
        double best = 1e12;
        size_t out_len = 0;
        for (int round = 0; round < 5; round++) {
            struct refbuf *gz = NULL;
            double t0 = now_ms();
            assert_int_equal(http_gzip(data, (size_t)n, levels[l], &gz), 0);
            double dt = now_ms() - t0;
            best = dt < best ? dt : best;
            out_len = gz->len;
            refbuf_unref(gz);
        }
        printf("gzip level %d: %ld -> %zu bytes (%.1fx) in %.1f ms (best of 5)\n", levels[l], n,
               out_len, (double)n / (double)out_len, best);
    }
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_tokens),     cmocka_unit_test(test_qvalues),
        cmocka_unit_test(test_star_and_refusal), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_request_fields),   cmocka_unit_test(test_gzip_round_trip),
        cmocka_unit_test(test_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
