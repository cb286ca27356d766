/* Unit tests for the streaming JSON writer: structure, escaping, numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <errno.h>
#include <string.h>

#include "core/jsonw.h"

static struct buf escaped;

static char *escape(const char *in, size_t n)
{
    buf_free(&escaped);
    buf_init(&escaped, 0);
    jsonw_escape(&escaped, in, n);
    return escaped.data ? escaped.data : "";
}

static int free_escaped(void **state)
{
    (void)state;
    buf_free(&escaped);
    return 0;
}

static void assert_valid_json(const char *s)
{
    json_error_t err;
    json_t *v = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!v)
        fail_msg("invalid JSON (%s): %s", err.text, s);
    json_decref(v);
}

static void test_structure_commas(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "a");
    jsonw_int(&w, 1);
    jsonw_key(&w, "b");
    jsonw_arr_begin(&w);
    jsonw_str(&w, "x");
    jsonw_int_str(&w, 42);
    jsonw_null(&w);
    jsonw_obj_begin(&w);
    jsonw_obj_end(&w);
    jsonw_arr_end(&w);
    jsonw_key(&w, "c");
    jsonw_bool(&w, true);
    jsonw_key(&w, "d");
    jsonw_str(&w, NULL);
    jsonw_obj_end(&w);
    assert_int_equal(b.err, 0);
    assert_string_equal(b.data, "{\"a\":1,\"b\":[\"x\",\"42\",null,{}],\"c\":true,\"d\":null}");
    assert_valid_json(b.data);
    buf_free(&b);
}

static void test_escape_specials(void **state)
{
    (void)state;
    assert_string_equal(escape("a\"b\\c", 5), "a\\\"b\\\\c");
    assert_string_equal(escape("l1\nl2\r\t", 7), "l1\\nl2\\r\\t");
    assert_string_equal(escape("\x01\x1f", 2), "\\u0001\\u001f");
    /* an embedded NUL is data, not the end */
    assert_string_equal(escape("a\0b", 3), "a\\u0000b");
}

static void test_escape_utf8_valid_passthrough(void **state)
{
    (void)state;
    const char *s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xba"; /* café € 📺 */
    assert_string_equal(escape(s, strlen(s)), s);
}

static void test_escape_utf8_invalid_replaced(void **state)
{
    (void)state;
    /* lone continuation byte, truncated sequence, overlong '/', UTF-16 surrogate, > U+10FFFF */
    assert_string_equal(escape("a\x80z", 3), "a\\ufffdz");
    assert_string_equal(escape("a\xe2\x82", 3), "a\\ufffd\\ufffd");
    assert_string_equal(escape("\xc0\xaf", 2), "\\ufffd\\ufffd");
    assert_string_equal(escape("\xed\xa0\x80", 3), "\\ufffd\\ufffd\\ufffd");
    assert_string_equal(escape("\xf4\x90\x80\x80", 4), "\\ufffd\\ufffd\\ufffd\\ufffd");
    /* whatever the bytes, the document stays valid JSON */
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_strn(&w, (const char *)all, sizeof(all));
    assert_valid_json(b.data);
    buf_free(&b);
}

static void test_numbers(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_arr_begin(&w);
    jsonw_num(&w, 7.0, 1);
    jsonw_num(&w, 3.55, 1);
    jsonw_num(&w, 0.0, 1);
    jsonw_num(&w, -0.01, 1);
    jsonw_num(&w, 1.0 / 0.0, 1);
    jsonw_int(&w, -9223372036854775807LL - 1);
    jsonw_int(&w, 9223372036854775807LL);
    jsonw_arr_end(&w);
    assert_string_equal(b.data, "[7,3.5,0,0,0,-9223372036854775808,9223372036854775807]");
    assert_valid_json(b.data);
    buf_free(&b);
}

static void test_depth_bound(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &b);
    for (int i = 0; i < JSONW_MAX_DEPTH + 1; i++)
        jsonw_arr_begin(&w);
    assert_int_equal(b.err, -E2BIG);
    buf_free(&b);
}

static void test_buffer_bound(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(16);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_str(&w, "this string is longer than sixteen bytes");
    assert_int_equal(b.err, -E2BIG);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_commas),
        cmocka_unit_test(test_escape_specials),
        cmocka_unit_test(test_escape_utf8_valid_passthrough),
        cmocka_unit_test(test_escape_utf8_invalid_replaced),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_buffer_bound),
    };
    return cmocka_run_group_tests(tests, NULL, free_escaped);
}
