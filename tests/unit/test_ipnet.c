/* Unit tests for core/ipnet: address and CIDR parsing (v4, v6, mapped,
 * refusals), containment at every prefix boundary, canonical text, sets of
 * 10,000 ranges against a linear scan, and the client address behind trusted
 * proxies (Forwarded and X-Forwarded-For, spoofed hops, garbage). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/ipnet.h"

static struct ipnet_addr A(const char *s) {
    struct ipnet_addr a;
    assert_int_equal(ipnet_parse_addr(s, strlen(s), &a), 0);
    return a;
}

static struct ipnet
N(const char *s) {
    struct ipnet n;
    assert_int_equal(ipnet_parse(s, strlen(s), &n), 0);
    return n;
}

#define PA(s) (&(struct ipnet_addr[1]){A(s)}[0])

static void
test_parse(void **state)
{
    (void)state;
    struct ipnet n;
    static const char *bad[] = {
        "",           "1.2.3",      "1.2.3.4.5",      "256.1.1.1",    "1.2.3.4/33",
        "1.2.3.4/",   "10.1.2.3/8", "::1/129",        "fe80::1%eth0", "abc",
        "1.2.3.4/-1", "1.2.3.0/08", "2001:db8::1/32", "1.2.3.4 ",     "[1.2.3.4"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(ipnet_parse(bad[i], strlen(bad[i]), &n), 0);
    char t[IPNET_TEXT_MAX];
    n = N("10.0.0.0/8");
    assert_string_equal(ipnet_format(&n, t, sizeof(t)), "10.0.0.0/8");
    n = N("2001:DB8::/32");
    assert_string_equal(ipnet_format(&n, t, sizeof(t)), "2001:db8::/32");
    n = N("192.0.2.7");
    assert_int_equal(n.prefix, 128);
    assert_string_equal(ipnet_format(&n, t, sizeof(t)), "192.0.2.7");
    n = N("[::1]");
    assert_string_equal(ipnet_format(&n, t, sizeof(t)), "::1");
    n = N("0.0.0.0/0");
    assert_int_equal(n.prefix, 96);
    /* a v4-mapped client is the v4 address */
    struct ipnet_addr m = A("::ffff:192.0.2.7");
    assert_true(ipnet_is_v4(&m));
    n = N("192.0.2.0/24");
    assert_true(ipnet_contains(&n, &m));
}

static void test_contains(void **state)
{
    (void)state;
    struct ipnet n = N("192.168.4.0/22");
    assert_true(ipnet_contains(&n, PA("192.168.4.0")));
    assert_true(ipnet_contains(&n, PA("192.168.7.255")));
    struct ipnet_addr out1 = A("192.168.8.0"), out2 = A("192.168.3.255"), v6 = A("::1");
    assert_false(ipnet_contains(&n, &out1));
    assert_false(ipnet_contains(&n, &out2));
    assert_false(ipnet_contains(&n, &v6));
    struct ipnet six = N("2001:db8:abcd::/48");
    struct ipnet_addr in6 = A("2001:db8:abcd:ffff::1"), out6 = A("2001:db8:abce::1");
    assert_true(ipnet_contains(&six, &in6));
    assert_false(ipnet_contains(&six, &out6));
    struct ipnet all = N("::/0");
    assert_true(ipnet_contains(&all, &out6));
    /* every prefix length of one address contains it, and flipping the bit just
     * under the prefix leaves it */
    struct ipnet_addr x = A("2001:db8:1234:5678:9abc:def0:1357:2468");
    for (unsigned p = 0; p <= 128; p++) {
        struct ipnet net = {.addr = x, .prefix = (uint8_t)p};
        for (unsigned b = p; b < 128; b++)
            net.addr.b[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
        assert_true(ipnet_contains(&net, &x));
        if (p > 0) {
            struct ipnet_addr y = x;
            y.b[(p - 1) / 8] ^= (uint8_t)(0x80u >> ((p - 1) % 8));
            assert_false(ipnet_contains(&net, &y));
        }
    }
    assert_true(ipnet_list_contains(" 10.0.0.0/8 , 192.0.2.1", PA("192.0.2.1")));
    assert_true(ipnet_list_contains("junk,10.0.0.0/8", PA("10.9.9.9")));
    assert_false(ipnet_list_contains("", PA("10.9.9.9")));
    assert_false(ipnet_list_contains("192.0.2.1", PA("192.0.2.2")));
}

static void test_set(void **state)
{
    (void)state;
    enum { COUNT = 10000 };
    struct ipnet *nets = calloc(COUNT, sizeof(*nets));
    assert_non_null(nets);
    srand(7);
    for (size_t i = 0; i < COUNT; i++) {
        struct ipnet_addr a = A("10.0.0.0");
        a.b[13] = (uint8_t)(rand() & 0xff);
        a.b[14] = (uint8_t)(rand() & 0xff);
        a.b[15] = (uint8_t)(rand() & 0xff);
        nets[i].prefix = (uint8_t)(96 + 20 + rand() % 13);
        for (unsigned b = nets[i].prefix; b < 128; b++)
            a.b[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
        nets[i].addr = a;
        if (i % 10 == 0) { /* some v6 */
            nets[i] = N("2001:db8::/64");
            nets[i].addr.b[5] = (uint8_t)i;
        }
    }
    struct ipset s;
    assert_int_equal(ipset_build(&s, nets, COUNT), 0);
    for (int k = 0; k < 20000; k++) {
        struct ipnet_addr a = A("10.0.0.0");
        if (k % 3 == 0)
            a = A("2001:db8::5");
        a.b[k % 3 == 0 ? 5 : 13] = (uint8_t)(rand() & 0xff);
        a.b[14] = (uint8_t)(rand() & 0xff);
        a.b[15] = (uint8_t)(rand() & 0xff);
        bool lin = false;
        for (size_t i = 0; i < COUNT && !lin; i++)
            lin = ipnet_contains(&nets[i], &a);
        assert_int_equal(ipset_contains(&s, &a), lin);
    }
    ipset_free(&s);
    assert_int_equal(ipset_build(&s, NULL, 0), 0);
    assert_false(ipset_contains(&s, PA("1.1.1.1")));
    free(nets);
}

static void test_forwarded(void **state)
{
    (void)state;
    struct ipnet trust[2] = {N("127.0.0.0/8"), N("10.0.0.0/8")};
    struct ipset t;
    assert_int_equal(ipset_build(&t, trust, 2), 0);
    struct ipnet_addr peer = A("127.0.0.1"), c;
    char s[IPNET_TEXT_MAX];
    /* a trusted peer's XFF: the rightmost untrusted hop */
    assert_true(ipnet_client_addr(&peer, &t, NULL, "6.6.6.6, 203.0.113.9, 10.1.1.1", &c));
    assert_string_equal(ipnet_format_addr(&c, s, sizeof(s)), "203.0.113.9");
    /* Forwarded wins over XFF, quoted v6 with port */
    assert_true(ipnet_client_addr(
        &peer, &t, "for=192.0.2.60;proto=http, For=\"[2001:db8:cafe::17]:4711\"", "1.1.1.1", &c));
    assert_string_equal(ipnet_format_addr(&c, s, sizeof(s)), "2001:db8:cafe::17");
    /* an untrusted peer's headers are not believed */
    struct ipnet_addr stranger = A("198.51.100.1");
    assert_false(ipnet_client_addr(&stranger, &t, NULL, "1.2.3.4", &c));
    assert_string_equal(ipnet_format_addr(&c, s, sizeof(s)), "198.51.100.1");
    /* garbage ends the walk at the last address believed */
    assert_true(ipnet_client_addr(&peer, &t, NULL, "1.2.3.4, unknown, 10.0.0.9", &c));
    assert_string_equal(ipnet_format_addr(&c, s, sizeof(s)), "10.0.0.9");
    assert_false(ipnet_client_addr(&peer, &t, "for=unknown", NULL, &c));
    assert_true(ipnet_client_addr(&peer, &t, NULL, "192.0.2.1:5555", &c));
    assert_string_equal(ipnet_format_addr(&c, s, sizeof(s)), "192.0.2.1");
    /* many hops: the rightmost IPNET_MAX_HOPS are kept */
    char big[4096];
    size_t used = 0;
    for (int i = 0; i < 100; i++)
        used += (size_t)snprintf(big + used, sizeof(big) - used, "%s", i ? ",10.0.0.1" : "8.8.8.8");
    assert_false(ipnet_client_addr(&peer, &t, NULL, big, &c) &&
                 strcmp(ipnet_format_addr(&c, s, sizeof(s)), "8.8.8.8") == 0);
    ipset_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_forwarded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
