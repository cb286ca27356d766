/* Unit tests for the Prometheus text helpers: label value escaping (the three
 * escapes, UTF-8 kept, control bytes and invalid UTF-8 replaced), HELP/TYPE
 * lines, and the buffer bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/promtext.h"

static struct buf out;

static const char *label(const char *in)
{
    buf_free(&out);
    buf_init(&out, 0);
    promtext_label_value(&out, in);
    assert_int_equal(out.err, 0);
    return out.data ? out.data : "";
}

static int free_out(void **state)
{
    (void)state;
    buf_free(&out);
    return 0;
}

static void test_label_plain_and_empty(void **state)
{
    (void)state;
    assert_string_equal(label("News 24"), "News 24");
    assert_string_equal(label(""), "");
    assert_string_equal(label(NULL), "");
}

static void test_label_escapes(void **state)
{
    (void)state;
    assert_string_equal(label("a\"b"), "a\\\"b");
    assert_string_equal(label("a\\b"), "a\\\\b");
    assert_string_equal(label("a\nb"), "a\\nb");
    assert_string_equal(label("\"\\\n"), "\\\"\\\\\\n");
    assert_string_equal(label("Quote \" and \\ back\\\\slash"),
                        "Quote \\\" and \\\\ back\\\\\\\\slash");
}

static void test_label_utf8_kept(void **state)
{
    (void)state;
    assert_string_equal(label("T\xC3\xA9l\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\xBA"),
                        "T\xC3\xA9l\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\xBA");
}

static void test_label_replacements(void **state)
{
    (void)state;
    /* tab, CR, DEL and other control bytes */
    assert_string_equal(label("a\tb\rc\x7F"
                              "d\x01"),
                        "a\xEF\xBF\xBD"
                        "b\xEF\xBF\xBD"
                        "c\xEF\xBF\xBD"
                        "d\xEF\xBF\xBD");
    /* a lone continuation byte, an overlong form, a truncated sequence */
    assert_string_equal(label("x\x80y"), "x\xEF\xBF\xBDy");
    assert_string_equal(label("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_string_equal(label("ab\xE2\x82"), "ab\xEF\xBF\xBD\xEF\xBF\xBD");
    /* a surrogate (U+D800) */
    assert_string_equal(label("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

static void test_family_lines(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(0);
    promtext_family(&b, "xtreamd_x_total", "counter", "Things \\ counted\nhere");
    assert_string_equal(b.data, "# HELP xtreamd_x_total Things \\\\ counted\\nhere\n"
                                "# TYPE xtreamd_x_total counter\n");
    buf_free(&b);
}

static void test_buffer_bound(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(8);
    promtext_label_value(&b, "a name longer than eight bytes");
    assert_int_equal(b.err, -E2BIG);
    buf_free(&b);
    struct buf h = BUF_INIT(8);
    promtext_family(&h, "xtreamd_long_name", "gauge", "help");
    assert_int_equal(h.err, -E2BIG);
    buf_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_plain_and_empty), cmocka_unit_test(test_label_escapes),
        cmocka_unit_test(test_label_utf8_kept),       cmocka_unit_test(test_label_replacements),
        cmocka_unit_test(test_family_lines),          cmocka_unit_test(test_buffer_bound),
    };
    return cmocka_run_group_tests(tests, NULL, free_out);
}
