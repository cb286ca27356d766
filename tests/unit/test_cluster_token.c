/* Unit tests for cluster/token: the Ed25519 stream token of a cluster — a
 * valid token, every refusal (forged, tampered, unknown kid, other node,
 * expired and issued in the future beyond the skew, other /24 or /64,
 * revoked), a rotation, the canonical-form rule, the key file and the
 * settings text, and that no password-like field can be in a token. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cluster/token.h"

static struct cluster_token_claims claims(void)
{
    struct cluster_token_claims c = {.line_id = 7,
                                     .stream_id = 42,
                                     .kind = CLUSTER_KIND_LIVE,
                                     .node_id = 3,
                                     .iat = 1000,
                                     .exp = 1000 + CLUSTER_TOKEN_FIRST_TTL};
    memcpy(c.sid, "0123456789abcdef0123456789abcdef", CLUSTER_SID_LEN + 1);
    return c;
}

static struct cluster_token_pubs pubs_of(const struct cluster_token_key *k)
{
    char text[CLUSTER_TOKEN_PUB_MAX];
    struct cluster_token_pubs p;
    assert_int_equal(cluster_token_pubs_format(k, NULL, text, sizeof(text)), 0);
    assert_int_equal(cluster_token_pubs_parse(text, &p), 0);
    assert_int_equal(p.n, 1);
    return p;
}

static int verify(const struct cluster_token_pubs *p, const char *tok, int64_t self, const char *ip,
                  int64_t now, struct cluster_token_claims *out)
{
    struct ipnet_addr a;
    if (ip)
        assert_int_equal(ipnet_parse_addr(ip, strlen(ip), &a), 0);
    return cluster_token_verify(p, tok, strlen(tok), self, ip ? &a : NULL, now, NULL, NULL, out);
}

static void test_valid(void **state)
{
    (void)state;
    struct cluster_token_key k;
    assert_int_equal(cluster_token_keygen(&k, "4a"), 0);
    struct cluster_token_pubs p = pubs_of(&k);
    char tok[CLUSTER_TOKEN_MAX];
    struct cluster_token_claims c = claims();
    assert_int_equal(cluster_token_make(&k, &c, tok, sizeof(tok)), 0);
    assert_int_equal(strncmp(tok, "v1.", 3), 0);
    for (const char *s = tok; *s; s++) /* one URL path segment */
        assert_true(
            strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", *s));
    struct cluster_token_claims v;
    assert_int_equal(verify(&p, tok, 3, "192.0.2.9", 1001, &v), 0);
    assert_string_equal(v.sid, c.sid);
    assert_int_equal(v.line_id, 7);
    assert_int_equal(v.stream_id, 42);
    assert_int_equal(v.kind, CLUSTER_KIND_LIVE);
    assert_int_equal(v.node_id, 3);
    assert_string_equal(v.kid, "4a");
    assert_false(v.bound);
    /* the payload is the documented compact JSON */
    unsigned char sig[64];
    size_t sl;
    assert_int_equal(cluster_token_parse(tok, strlen(tok), &v, sig, &sl), 0);
    char json[400];
    size_t jl = 0;
    const char *dot = strchr(tok + 3, '.');
    assert_int_equal(sodium_base642bin((unsigned char *)json, sizeof(json) - 1, tok + 3,
                                       (size_t)(dot - tok - 3), NULL, &jl, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    json[jl] = '\0';
    assert_string_equal(json,
                        "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"lid\":7,\"sub\":42,"
                        "\"k\":\"live\",\"node\":3,\"iat\":1000,\"exp\":1030,\"kid\":\"4a\"}");
}

static void test_refusals(void **state)
{
    (void)state;
    struct cluster_token_key k, other;
    assert_int_equal(cluster_token_keygen(&k, "1"), 0);
    assert_int_equal(cluster_token_keygen(&other, "1"), 0);
    struct cluster_token_pubs p = pubs_of(&k);
    char tok[CLUSTER_TOKEN_MAX], forged[CLUSTER_TOKEN_MAX];
    struct cluster_token_claims c = claims(), v;
    assert_int_equal(cluster_token_make(&k, &c, tok, sizeof(tok)), 0);
    /* forged: same claims, another key with the same kid */
    assert_int_equal(cluster_token_make(&other, &c, forged, sizeof(forged)), 0);
    assert_int_equal(verify(&p, forged, 3, NULL, 1001, &v), CLUSTER_TOKEN_BAD_SIG);
    /* unknown kid */
    memcpy(other.kid, "9", 2);
    assert_int_equal(cluster_token_make(&other, &c, forged, sizeof(forged)), 0);
    assert_int_equal(verify(&p, forged, 3, NULL, 1001, &v), CLUSTER_TOKEN_BAD_SIG);
    /* other node */
    assert_int_equal(verify(&p, tok, 4, NULL, 1001, &v), CLUSTER_TOKEN_WRONG_NODE);
    /* expiry with the skew allowance: exp 1030 + 30 */
    assert_int_equal(verify(&p, tok, 3, NULL, 1060, &v), 0);
    assert_int_equal(verify(&p, tok, 3, NULL, 1061, &v), CLUSTER_TOKEN_EXPIRED);
    assert_string_equal(cluster_token_reason(CLUSTER_TOKEN_EXPIRED), "expired");
    /* issued in the future beyond the skew: iat 1000 - 30 */
    assert_int_equal(verify(&p, tok, 3, NULL, 970, &v), 0);
    assert_int_equal(verify(&p, tok, 3, NULL, 969, &v), CLUSTER_TOKEN_EXPIRED);
    /* tampered: flip each character of the payload and of the signature */
    size_t n = strlen(tok);
    for (size_t i = 3; i < n; i++) {
        if (tok[i] == '.')
            continue;
        char t[CLUSTER_TOKEN_MAX];
        memcpy(t, tok, n + 1);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        int rc = verify(&p, t, 3, NULL, 1001, &v);
        assert_true(rc == CLUSTER_TOKEN_BAD_SIG || rc == CLUSTER_TOKEN_MALFORMED);
    }
    /* a byte outside the alphabet that libsodium's decoder would take for a letter
     * (fuzz_cluster_token: one token, two spellings) */
    {
        char t[CLUSTER_TOKEN_MAX];
        memcpy(t, tok, n + 1);
        t[n - 8] = (char)0xe3;
        assert_int_equal(verify(&p, t, 3, NULL, 1001, &v), CLUSTER_TOKEN_MALFORMED);
    }
    /* truncated, empty, garbage */
    assert_int_equal(verify(&p, "", 3, NULL, 1001, &v), CLUSTER_TOKEN_MALFORMED);
    assert_int_equal(verify(&p, "v1.abc.def", 3, NULL, 1001, &v), CLUSTER_TOKEN_MALFORMED);
    tok[n - 1] = '\0';
    assert_int_equal(verify(&p, tok, 3, NULL, 1001, &v), CLUSTER_TOKEN_MALFORMED);
}

static bool revoked_one(void *ctx, const char *sid)
{
    return strcmp(ctx, sid) == 0;
}

static void test_bound_and_revoked(void **state)
{
    (void)state;
    struct cluster_token_key k;
    assert_int_equal(cluster_token_keygen(&k, "1"), 0);
    struct cluster_token_pubs p = pubs_of(&k);
    struct cluster_token_claims c = claims(), v;
    struct ipnet_addr a;
    assert_int_equal(ipnet_parse_addr("192.0.2.9", 9, &a), 0);
    cluster_token_prefix_of(&a, &c.ip);
    c.bound = true;
    char tok[CLUSTER_TOKEN_MAX];
    assert_int_equal(cluster_token_make(&k, &c, tok, sizeof(tok)), 0);
    assert_int_equal(verify(&p, tok, 3, "192.0.2.200", 1001, &v), 0);
    assert_true(v.bound);
    assert_int_equal(verify(&p, tok, 3, "192.0.3.9", 1001, &v), CLUSTER_TOKEN_WRONG_IP);
    assert_int_equal(verify(&p, tok, 3, NULL, 1001, &v), CLUSTER_TOKEN_WRONG_IP);
    /* IPv6: the /64 */
    assert_int_equal(ipnet_parse_addr("2001:db8:1:2::5", 15, &a), 0);
    cluster_token_prefix_of(&a, &c.ip);
    assert_int_equal(cluster_token_make(&k, &c, tok, sizeof(tok)), 0);
    assert_int_equal(verify(&p, tok, 3, "2001:db8:1:2:ffff::1", 1001, &v), 0);
    assert_int_equal(verify(&p, tok, 3, "2001:db8:1:3::5", 1001, &v), CLUSTER_TOKEN_WRONG_IP);
    /* revoked sid: another sid revoked passes, its own is refused */
    char sid[CLUSTER_SID_LEN + 1];
    memcpy(sid, c.sid, sizeof(sid));
    sid[0] = 'f';
    assert_int_equal(cluster_token_verify(&p, tok, strlen(tok), 3, &a, 1001, revoked_one, sid, &v),
                     0);
    assert_int_equal(
        cluster_token_verify(&p, tok, strlen(tok), 3, &a, 1001, revoked_one, c.sid, &v),
        CLUSTER_TOKEN_REVOKED);
    assert_string_equal(cluster_token_reason(CLUSTER_TOKEN_REVOKED), "revoked");
}

static void test_rotation(void **state)
{
    (void)state;
    struct cluster_token_key k1, k2;
    assert_int_equal(cluster_token_keygen(&k1, "1"), 0);
    assert_int_equal(cluster_token_keygen(&k2, "2"), 0);
    struct cluster_token_pubs old = pubs_of(&k1), both;
    char text[CLUSTER_TOKEN_PUB_MAX];
    assert_int_equal(cluster_token_pubs_format(&k2, &old, text, sizeof(text)), 0);
    assert_int_equal(cluster_token_pubs_parse(text, &both), 0);
    assert_int_equal(both.n, 2);
    assert_string_equal(both.k[0].kid, "2");
    struct cluster_token_claims c = claims(), v;
    char t1[CLUSTER_TOKEN_MAX], t2[CLUSTER_TOKEN_MAX];
    assert_int_equal(cluster_token_make(&k1, &c, t1, sizeof(t1)), 0);
    assert_int_equal(cluster_token_make(&k2, &c, t2, sizeof(t2)), 0);
    assert_int_equal(verify(&both, t1, 3, NULL, 1001, &v), 0);
    assert_int_equal(verify(&both, t2, 3, NULL, 1001, &v), 0);
    struct cluster_token_pubs only2 = pubs_of(&k2);
    assert_int_equal(verify(&only2, t1, 3, NULL, 1001, &v), CLUSTER_TOKEN_BAD_SIG);
    /* malformed settings text */
    assert_int_equal(cluster_token_pubs_parse("", &both), -EINVAL);
    assert_int_equal(cluster_token_pubs_parse("1:abc", &both), -EINVAL);
    assert_int_equal(
        cluster_token_pubs_parse("XYZ:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", &both),
        -EINVAL);
    /* the text cluster/node.c writes: hex kid, standard base64 with padding */
    assert_int_equal(cluster_token_pubs_parse(
                         "0123456789abcdef:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", &both),
                     0);
    assert_int_equal(cluster_token_keygen(&k1, "not hex"), -EINVAL);
    assert_int_equal(cluster_token_pubs_parse(NULL, &both), -EINVAL);
}

static void test_bad_claims(void **state)
{
    (void)state;
    struct cluster_token_key k;
    assert_int_equal(cluster_token_keygen(&k, "1"), 0);
    char tok[CLUSTER_TOKEN_MAX];
    struct cluster_token_claims c = claims();
    c.sid[0] = 'G';
    assert_int_equal(cluster_token_make(&k, &c, tok, sizeof(tok)), -EINVAL);
    c = claims();
    c.line_id = -1;
    assert_int_equal(cluster_token_make(&k, &c, tok, sizeof(tok)), -EINVAL);
    c = claims();
    assert_int_equal(cluster_token_make(&k, &c, tok, 50), -ENOSPC);
    /* the longest claims fit CLUSTER_TOKEN_MAX */
    c.line_id = c.stream_id = c.node_id = c.iat = c.exp = INT64_MAX;
    c.kind = CLUSTER_KIND_TIMESHIFT;
    c.bound = true;
    struct ipnet_addr a;
    assert_int_equal(ipnet_parse_addr("ffff:ffff:ffff:ffff::1", 22, &a), 0);
    cluster_token_prefix_of(&a, &c.ip);
    memcpy(k.kid, "0123456789abcdef", 17);
    assert_int_equal(cluster_token_make(&k, &c, tok, sizeof(tok)), 0);
    char sid[CLUSTER_SID_LEN + 1];
    cluster_sid_new(sid);
    assert_true(cluster_sid_valid(sid, strlen(sid)));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bound_and_revoked),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_bad_claims),

    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
