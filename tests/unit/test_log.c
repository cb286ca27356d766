/* Unit tests for the log's escaping (core/log.h): control characters, DEL,
 * C1 controls, line separators and malformed UTF-8 become \xNN; valid UTF-8
 * passes; quoted fields also escape '"' and '\'; log_field cuts between
 * whole escapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/log.h"

static void expect(const char *in, size_t len, bool quoted, const char *want)
{
    struct buf b = BUF_INIT(0);
    assert_int_equal(log_escape(&b, in, len, quoted), 0);
    assert_string_equal(b.data ? b.data : "", want);
    buf_free(&b);
}

static void test_escape(void **state)
{
    (void)state;
    expect("plain text", 10, true, "plain text");
    expect("a\r\nb", 4, true, "a\\x0d\\x0ab");
    expect("\x1b[31mred", 8, false, "\\x1b[31mred");
    expect("del\x7f", 4, false, "del\\x7f");
    expect("tab\there", 8, false, "tab\\x09here");
    expect("q\"b\\", 4, true, "q\\x22b\\x5c");
    expect("q\"b\\", 4, false, "q\"b\\");
    expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xba", 14, true,
           "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xba");
    expect("\xc2\x9b"
           "1",
           3, false, "\\xc2\\x9b1");                                /* C1 CSI */
    expect("\xe2\x80\xa8", 3, false, "\\xe2\\x80\\xa8");            /* U+2028 */
    expect("\xff\xc3(\xc0\xaf", 5, false, "\\xff\\xc3(\\xc0\\xaf"); /* invalid, overlong */
    expect("\xed\xa0\x80", 3, false, "\\xed\\xa0\\x80");            /* surrogate */
    expect("\xf4\x90\x80\x80", 4, false, "\\xf4\\x90\\x80\\x80");   /* past U+10FFFF */
    expect("\xe2\x82", 2, false, "\\xe2\\x82");                     /* cut sequence */
    expect("nul\0x", 5, false, "nul\\x00x");
}

static void test_field(void **state)
{
    (void)state;
    char out[8];
    assert_string_equal(log_field(out, sizeof(out), "bob"), "bob");
    assert_string_equal(log_field(out, sizeof(out), NULL), "");
    /* "ab" + "\x0d" (4) fits in 7; the next escape does not. */
    assert_string_equal(log_field(out, sizeof(out), "ab\r\n"), "ab\\x0d");
    assert_string_equal(log_field(out, sizeof(out), "abcdef\xc3\xa9"), "abcdef");
    char big[300];
    assert_string_equal(log_field(big, sizeof(big), "x\ny"), "x\\x0ay");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
