/* Unit tests for core/urlsign: the signed stream URL token — a valid token,
 * expiry, another stream or kind, another /24 or /64, a rotated key within
 * and after its grace, tampering with every field and the MAC, malformed
 * text, and the stored key text round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/urlsign.h"

static struct urlsign_keys keys1(void)
{
    struct urlsign_keys ks = {0};
    urlsign_rotate(&ks, 1000, 600);
    assert_int_equal(ks.n, 1);
    assert_int_equal(ks.k[0].id, 1);
    return ks;
}

static struct urlsign_claims claims(char kind, int64_t stream, int64_t exp, bool bound)
{
    struct urlsign_claims c = {
        .line_id = 7, .kind = kind, .stream_id = stream, .expires = exp, .bound = bound};
    snprintf(c.username, sizeof(c.username), "alice.b@x-1");
    return c;
}

static void test_valid(void **state)
{
    (void)state;
    struct urlsign_keys ks = keys1();
    char tok[URLSIGN_TOKEN_MAX];
    assert_int_equal(
        urlsign_make(&ks.k[0], claims('l', 42, 2000, false), "10.0.0.1", tok, sizeof(tok)), 0);
    assert_non_null(strstr(tok, "~alice.b@x-1~7~l42~2000~0~"));
    assert_null(strchr(tok, '/'));
    struct urlsign_claims c;
    assert_int_equal(urlsign_verify(&ks, tok, 'l', 42, "192.0.2.9", 1999, &c), 0);
    assert_string_equal(c.username, "alice.b@x-1");
    assert_int_equal(c.line_id, 7);
    assert_int_equal(c.expires, 2000);
    assert_int_equal(urlsign_verify(&ks, tok, 'l', 42, NULL, 2000, &c), 0); /* the last second */
}

static void test_expired(void **state)
{
    (void)state;
    struct urlsign_keys ks = keys1();
    char tok[URLSIGN_TOKEN_MAX];
    assert_int_equal(urlsign_make(&ks.k[0], claims('m', 5, 2000, false), NULL, tok, sizeof(tok)),
                     0);
    struct urlsign_claims c;
    assert_int_equal(urlsign_verify(&ks, tok, 'm', 5, NULL, 2001, &c), URLSIGN_EXPIRED);
}

static void test_wrong_stream(void **state)
{
    (void)state;
    struct urlsign_keys ks = keys1();
    char tok[URLSIGN_TOKEN_MAX];
    assert_int_equal(urlsign_make(&ks.k[0], claims('l', 42, 2000, false), NULL, tok, sizeof(tok)),
                     0);
    struct urlsign_claims c;
    assert_int_equal(urlsign_verify(&ks, tok, 'l', 43, NULL, 1500, &c), URLSIGN_WRONG_STREAM);
    assert_int_equal(urlsign_verify(&ks, tok, 'm', 42, NULL, 1500, &c), URLSIGN_WRONG_STREAM);
    assert_int_equal(urlsign_verify(&ks, tok, 's', 42, NULL, 1500, &c), URLSIGN_WRONG_STREAM);
}

static void test_prefix(void **state)
{
    (void)state;
    struct urlsign_keys ks = keys1();
    char tok[URLSIGN_TOKEN_MAX];
    struct urlsign_claims c;
    assert_int_equal(
        urlsign_make(&ks.k[0], claims('l', 1, 2000, true), "203.0.113.9", tok, sizeof(tok)), 0);
    assert_int_equal(urlsign_verify(&ks, tok, 'l', 1, "203.0.113.250", 1500, &c), 0);
    assert_int_equal(urlsign_verify(&ks, tok, 'l', 1, "::ffff:203.0.113.1", 1500, &c), 0);
    assert_int_equal(urlsign_verify(&ks, tok, 'l', 1, "203.0.114.9", 1500, &c), URLSIGN_BAD_MAC);
    assert_int_equal(urlsign_verify(&ks, tok, 'l', 1, "2001:db8::1", 1500, &c), URLSIGN_BAD_MAC);
    assert_int_equal(urlsign_verify(&ks, tok, 'l', 1, NULL, 1500, &c), URLSIGN_BAD_MAC);
    assert_int_equal(
        urlsign_make(&ks.k[0], claims('l', 1, 2000, true), "2001:db8:1:2::5", tok, sizeof(tok)), 0);
    assert_int_equal(urlsign_verify(&ks, tok, 'l', 1, "2001:db8:1:2:ffff::1", 1500, &c), 0);
    assert_int_equal(urlsign_verify(&ks, tok, 'l', 1, "2001:db8:1:3::5", 1500, &c),
                     URLSIGN_BAD_MAC);
    /* bound needs an address to bind to */
    assert_int_equal(urlsign_make(&ks.k[0], claims('l', 1, 2000, true), "nope", tok, sizeof(tok)),
                     -22);
}

static void test_rotation(void **state)
{
    (void)state;
    struct urlsign_keys ks = keys1();
    char old[URLSIGN_TOKEN_MAX], fresh[URLSIGN_TOKEN_MAX];
    assert_int_equal(urlsign_make(&ks.k[0], claims('l', 3, 5000, false), NULL, old, sizeof(old)),
                     0);
    urlsign_rotate(&ks, 1000, 600); /* previous key valid until 1600 */
    assert_int_equal(ks.n, 2);
    assert_int_equal(ks.k[0].id, 2);
    assert_int_equal(ks.k[1].id, 1);
    assert_int_equal(ks.k[1].not_after, 1600);
    assert_memory_not_equal(ks.k[0].key, ks.k[1].key, URLSIGN_KEY_BYTES);
    assert_int_equal(
        urlsign_make(&ks.k[0], claims('l', 3, 5000, false), NULL, fresh, sizeof(fresh)), 0);
    struct urlsign_claims c;
    assert_int_equal(urlsign_verify(&ks, old, 'l', 3, NULL, 1600, &c), 0);
    assert_int_equal(urlsign_verify(&ks, old, 'l', 3, NULL, 1601, &c), URLSIGN_BAD_MAC);
    assert_int_equal(urlsign_verify(&ks, fresh, 'l', 3, NULL, 1601, &c), 0);
    /* the stored form drops a key past its grace */
    char text[URLSIGN_KEYS_TEXT_MAX];
    assert_int_equal(urlsign_keys_format(&ks, text, sizeof(text)), 0);
    struct urlsign_keys back;
    assert_int_equal(urlsign_keys_parse(text, 1500, &back), 0);
    assert_int_equal(back.n, 2);
    assert_memory_equal(&back.k[0], &ks.k[0], sizeof(ks.k[0]));
    assert_memory_equal(&back.k[1], &ks.k[1], sizeof(ks.k[1]));
    assert_int_equal(urlsign_keys_parse(text, 1700, &back), 0);
    assert_int_equal(back.n, 1);
    assert_int_equal(urlsign_verify(&back, old, 'l', 3, NULL, 1500, &c), URLSIGN_BAD_MAC);
    /* a rotation with no grace retires the old key at once */
    urlsign_rotate(&ks, 1000, 0);
    assert_int_equal(ks.n, 1);
    assert_int_equal(urlsign_verify(&ks, fresh, 'l', 3, NULL, 1001, &c), URLSIGN_BAD_MAC);
    static const char *bad[] = {
        "x",
        "1:zz",
        "1:00",
        ";",
        "1:" /* short */,
        "1:0000000000000000000000000000000000000000000000000000000000000000:5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(urlsign_keys_parse(bad[i], 0, &back), -22);
    assert_int_equal(urlsign_keys_parse("", 0, &back), 0);
    assert_int_equal(back.n, 0);
}

static void test_tampered(void **state)
{
    (void)state;
    struct urlsign_keys ks = keys1();
    char tok[URLSIGN_TOKEN_MAX];
    assert_int_equal(urlsign_make(&ks.k[0], claims('l', 42, 2000, false), NULL, tok, sizeof(tok)),
                     0);
    struct urlsign_claims c;
    /* every single-character change (to another character the format allows) is refused */
    static const char alphabet[] = "0123456789lmsabcAZ-_~.@";
    size_t len = strlen(tok);
    for (size_t i = 0; i < len; i++) {
        for (const char *a = alphabet; *a; a++) {
            if (*a == tok[i])
                continue;
            char t[URLSIGN_TOKEN_MAX];
            memcpy(t, tok, len + 1);
            t[i] = *a;
            int rc = urlsign_verify(&ks, t, 'l', 42, NULL, 1500, &c);
            assert_true(rc == URLSIGN_BAD_MAC || rc == URLSIGN_MALFORMED);
        }
    }
    /* another server's key */
    struct urlsign_keys other = keys1();
    assert_int_equal(urlsign_verify(&other, tok, 'l', 42, NULL, 1500, &c), URLSIGN_BAD_MAC);
    /* truncated, extended, empty */
    char t[URLSIGN_TOKEN_MAX + 2];
    memcpy(t, tok, len - 1);
    t[len - 1] = '\0';
    assert_int_equal(urlsign_verify(&ks, t, 'l', 42, NULL, 1500, &c), URLSIGN_MALFORMED);
    snprintf(t, sizeof(t), "%sA", tok);
    assert_int_equal(urlsign_verify(&ks, t, 'l', 42, NULL, 1500, &c), URLSIGN_MALFORMED);
    assert_int_equal(urlsign_verify(&ks, "", 'l', 42, NULL, 1500, &c), URLSIGN_MALFORMED);
    /* the password never appears: the format has no field for it, and a
     * username with the separator is refused */
    struct urlsign_claims bad = claims('l', 1, 2, false);
    snprintf(bad.username, sizeof(bad.username), "a~b");
    assert_int_equal(urlsign_make(&ks.k[0], bad, NULL, tok, sizeof(tok)), -22);
    assert_int_equal(urlsign_make(&ks.k[0], claims('l', 1, 2, false), NULL, tok, 20), -28);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_wrong_stream), cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_rotation),     cmocka_unit_test(test_tampered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
