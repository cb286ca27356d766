/* Unit tests for the MAG portal's pure helpers: MAC normalisation
 * (domain/devices.c: the accepted forms, case, separators, refusals), the
 * `mac` cookie (portal/portal.c: percent-encoded, among other cookies, absent)
 * and the item a create_link cmd names (ch/ URLs, numbers, base64 JSON of
 * movies and seasons, garbage). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "portal/portal.h"
#include "domain/devices.h"

static const char *norm(const char *s)
{
    static char out[18];
    return dom_mac_normalise(s, strlen(s), out) ? out : NULL;
}

static void test_mac(void **state)
{
    (void)state;
    assert_string_equal(norm("00:1a:79:ab:cd:ef"), "00:1A:79:AB:CD:EF");
    assert_string_equal(norm("00-1A-79-AB-CD-EF"), "00:1A:79:AB:CD:EF");
    assert_string_equal(norm("001a79abcdef"), "00:1A:79:AB:CD:EF");
    assert_null(norm(""));
    assert_null(norm("00:1a:79:ab:cd"));       /* five pairs */
    assert_null(norm("00:1a:79:ab:cd:ef:01")); /* seven */
    assert_null(norm("00:1a-79:ab:cd:ef"));    /* mixed separators */
    assert_null(norm("00:1a:79:ab:cd:eg"));    /* not hex */
    assert_null(norm("0:01a:79:ab:cd:ef"));    /* misplaced separator */
    assert_null(norm("00:1a:79:ab:cd:ef "));   /* trailing junk */
    assert_null(norm("001a79abcde"));          /* eleven digits */
}

static void test_cookie(void **state)
{
    (void)state;
    char m[18];
    assert_true(portal_cookie_mac("mac=00%3A1A%3A79%3A00%3A00%3A01; stb_lang=en", m));
    assert_string_equal(m, "00:1A:79:00:00:01");
    assert_true(portal_cookie_mac("stb_lang=en; timezone=Europe/Paris; mac=00:1a:79:00:00:02", m));
    assert_string_equal(m, "00:1A:79:00:00:02");
    assert_false(portal_cookie_mac("stb_lang=en; xmac=00:1a:79:00:00:02", m));
    assert_false(portal_cookie_mac("mac=", m));
    assert_false(portal_cookie_mac("mac=00%3", m));
    assert_false(portal_cookie_mac(NULL, m));
}

static void test_cmd(void **state)
{
    (void)state;
    int season;
    assert_int_equal(portal_cmd_id("ffmpeg http://localhost/ch/12_", &season), 12);
    assert_int_equal(season, -1);
    assert_int_equal(portal_cmd_id("http://example/ch/7", &season), 7);
    assert_int_equal(portal_cmd_id("42", &season), 42);
    /* {"type":"movie","stream_id":42,"target_container":"mp4"}, URL-safe and standard */
    assert_int_equal(
        portal_cmd_id("eyJ0eXBlIjoibW92aWUiLCJzdHJlYW1faWQiOjQyLCJ0YXJnZXRfY29udGFpbmVyIjoibXA0In0",
                      &season),
        42);
    assert_int_equal(season, -1);
    /* {"series_id":7,"season_num":2,"type":"series"} */
    assert_int_equal(
        portal_cmd_id("eyJzZXJpZXNfaWQiOjcsInNlYXNvbl9udW0iOjIsInR5cGUiOiJzZXJpZXMifQ==", &season),
        7);
    assert_int_equal(season, 2);
    assert_int_equal(portal_cmd_id("", &season), -1);
    assert_int_equal(portal_cmd_id("ffmpeg ", &season), -1);
    assert_int_equal(portal_cmd_id("not base64 at all!", &season), -1);
    assert_int_equal(portal_cmd_id("99999999999999999999", &season), -1);
    assert_int_equal(portal_cmd_id(NULL, &season), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_cookie),
        cmocka_unit_test(test_cmd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
