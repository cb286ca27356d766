/* libFuzzer target for cluster/token's parser and verifier: any bytes as a
 * token. A parse that succeeds must describe a token whose payload the maker
 * writes byte for byte (one canonical text per claim set), and verification
 * never accepts a token the fixed key did not sign. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cluster/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cluster_token_key key;
    static struct cluster_token_pubs pubs;
    if (!pubs.n) {
        if (sodium_init() < 0)
            abort();
        /* a fixed key, so a crash reproduces */
        unsigned char seed[32] = {1, 2, 3};
        crypto_sign_ed25519_seed_keypair(key.pk, key.sk, seed);
        memcpy(key.kid, "1", 2);
        pubs.n = 1;
        memcpy(pubs.k[0].kid, "1", 2);
        memcpy(pubs.k[0].pk, key.pk, 32);
    }
    const char *tok = (const char *)data;
    struct cluster_token_claims c;
    unsigned char sig[64];
    size_t signed_len = 0;
    if (cluster_token_parse(tok, size, &c, sig, &signed_len) == 0) {
        if (signed_len >= size || memchr(data, '\0', size))
            abort();
        /* the signed part is what the maker writes for these claims */
        char again[CLUSTER_TOKEN_MAX];
        struct cluster_token_key k = key;
        memcpy(k.kid, c.kid, sizeof(k.kid));
        if (cluster_token_make(&k, &c, again, sizeof(again)) != 0 ||
            strncmp(again, tok, signed_len) != 0 || again[signed_len] != '.')
            abort();
    }
    struct ipnet_addr a = {.b = {[10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1}};
    struct cluster_token_claims v;
    int rc = cluster_token_verify(&pubs, tok, size, 3, &a, 1000, NULL, NULL, &v);
    if (rc == 0 || rc == CLUSTER_TOKEN_EXPIRED || rc == CLUSTER_TOKEN_WRONG_NODE ||
        rc == CLUSTER_TOKEN_WRONG_IP) {
        /* only a genuine signature passes: re-signing (deterministic) gives the same text */
        char again[CLUSTER_TOKEN_MAX];
        if (cluster_token_make(&key, &v, again, sizeof(again)) || strlen(again) != size ||
            memcmp(again, tok, size) != 0)
            abort();
    }
    return 0;
}
