/* Unit tests for api/timeshift: every start form of xtream-api.md §2.4 to the
 * same Unix second, hour precision, epochs in seconds and milliseconds, ISO
 * zones, impossible dates refused, duration bounds, the ID.EXT part, the
 * field named on each error, and the ?utc= form. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/timeshift.h"

/* 2024-03-05 14:30:00 UTC */
#define T0 1709649000LL

static int64_t start(const char *s)
{
    int64_t v = -1;
    int rc = timeshift_parse_start(s, strlen(s), &v);
    return rc ? rc : v;
}

static void test_start_forms(void **state)
{
    (void)state;
    assert_int_equal(start("2024-03-05:14-30"), T0);
    assert_int_equal(start("2024-03-05:14-30-07"), T0 + 7);
    assert_int_equal(start("2024-03-05_14-30"), T0);
    assert_int_equal(start("2024-03-05:14:30"), T0);
    assert_int_equal(start("2024-03-05:14:30:07"), T0 + 7);
    assert_int_equal(start("2024-03-05 14:30"), T0);
    assert_int_equal(start("2024-03-05 14:30:07"), T0 + 7);
    assert_int_equal(start("2024-03-05T14:30:07Z"), T0 + 7);
    assert_int_equal(start("2024-03-05T14:30:07.123Z"), T0 + 7);
    assert_int_equal(start("2024-03-05T16:30:07+02:00"), T0 + 7);
    assert_int_equal(start("2024-03-05T09:30-0500"), T0);
    assert_int_equal(start("2024-03-05T14:30"), T0);
    assert_int_equal(start("20240305-14"), T0 - 30 * 60);
    assert_int_equal(start("1709649000"), T0);
    assert_int_equal(start("1709649000123"), T0);
    assert_int_equal(start("0"), 0);
    assert_int_equal(start("2024-02-29:00-00"), 1709164800LL);
}

static void test_start_refused(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "2024-13-05:14-30",
                         "2023-02-29:00-00",
                         "2024-04-31:00-00",
                         "2024-03-05:24-00",
                         "2024-03-05:14-60",
                         "2024-03-05:14-30-60",
                         "2024-03-05:14-30x",
                         "2024-03-05 14:30Z",
                         "2024-03-05T14:30+15:00",
                         "2024-03-05T14:30:07.",
                         "2024-03-05/14-30",
                         "1969-12-31:23-59",
                         "170964900012",
                         "12345678901234",
                         "-5",
                         "20240305-1",
                         "yesterday"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 0;
        if (timeshift_parse_start(bad[i], strlen(bad[i]), &v) != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
    }
    int64_t v;
    /* Length bounds the read: a canonical start cut short is refused. */
    assert_int_equal(timeshift_parse_start("2024-03-05:14-30", 15, &v), -EINVAL);
}

static void test_minutes(void **state)
{
    (void)state;
    int64_t m = 0;
    assert_int_equal(timeshift_parse_minutes("60", 2, &m), 0);
    assert_int_equal(m, 60);
    assert_int_equal(timeshift_parse_minutes("1440", 4, &m), 0);
    assert_int_equal(timeshift_parse_minutes("1441", 4, &m), -ERANGE);
    assert_int_equal(timeshift_parse_minutes("0", 1, &m), -ERANGE);
    assert_int_equal(timeshift_parse_minutes("99999999999", 11, &m), -ERANGE);
    assert_int_equal(timeshift_parse_minutes("6x", 2, &m), -EINVAL);
    assert_int_equal(timeshift_parse_minutes("", 0, &m), -EINVAL);
    assert_int_equal(timeshift_parse_minutes(NULL, 0, &m), -EINVAL);
}

static void test_parse_fields(void **state)
{
    (void)state;
    struct timeshift_range r;
    const char *f = "x";
    assert_int_equal(timeshift_parse("42.m3u8", "2024-03-05:14-30", "90", &r, &f), 0);
    assert_null(f);
    assert_int_equal(r.stream_id, 42);
    assert_string_equal(r.ext, "m3u8");
    assert_int_equal(r.start, T0);
    assert_int_equal(r.duration, 90 * 60);
    assert_int_equal(timeshift_parse("42", "2024-03-05:14-30", "1", &r, &f), 0);
    assert_string_equal(r.ext, "ts");
    assert_int_equal(timeshift_parse("42.mp4", "2024-03-05:14-30", "1", &r, &f), -EINVAL);
    assert_string_equal(f, "stream");
    assert_int_equal(timeshift_parse("x.ts", "2024-03-05:14-30", "1", &r, &f), -EINVAL);
    assert_string_equal(f, "stream");
    assert_int_equal(timeshift_parse("99999999999.ts", "2024-03-05:14-30", "1", &r, &f), -EINVAL);
    assert_string_equal(f, "stream");
    assert_int_equal(timeshift_parse("4.ts", "2024-03-05:1430", "1", &r, &f), -EINVAL);
    assert_string_equal(f, "start");
    assert_int_equal(timeshift_parse("4.ts", NULL, "1", &r, &f), -EINVAL);
    assert_string_equal(f, "start");
    assert_int_equal(timeshift_parse("4.ts", "2024-03-05:14-30", "0", &r, &f), -ERANGE);
    assert_string_equal(f, "duration");
}

static void test_utc(void **state)
{
    (void)state;
    struct timeshift_range r = {.stream_id = 5, .ext = "ts"};
    const char *f = "x";
    assert_int_equal(timeshift_parse_utc("1709649000", "1709652600", &r, &f), 0);
    assert_null(f);
    assert_int_equal(r.start, T0);
    assert_int_equal(r.duration, 0);
    assert_int_equal(r.stream_id, 5);
    assert_int_equal(timeshift_parse_utc("1709649000", NULL, &r, &f), 0);
    assert_int_equal(timeshift_parse_utc("", NULL, &r, &f), -EINVAL);
    assert_string_equal(f, "utc");
    assert_int_equal(timeshift_parse_utc("17096x", NULL, &r, &f), -EINVAL);
    assert_string_equal(f, "utc");
    assert_int_equal(timeshift_parse_utc("1709649000", "now", &r, &f), -EINVAL);
    assert_string_equal(f, "lutc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_forms), cmocka_unit_test(test_start_refused),
        cmocka_unit_test(test_minutes),     cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
