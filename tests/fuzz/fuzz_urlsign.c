/* libFuzzer target for core/urlsign's token parser and verifier: any text as
 * a token; a parse that succeeds must describe a token that re-signs to the
 * same text under a key, and verification never accepts a token not made
 * with the fixed key. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/urlsign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct urlsign_keys ks = {.n = 1, .k = {{.id = 1, .key = {1, 2, 3}}}};
    struct urlsign_claims c;
    unsigned char mac[32];
    size_t signed_len = 0;
    if (urlsign_parse((const char *)data, size, &c, mac, &signed_len) == 0) {
        if (signed_len >= size || memchr(data, '\0', size))
            abort();
        /* what the parser read must be what the maker writes */
        char tok[URLSIGN_TOKEN_MAX];
        struct urlsign_key k = ks.k[0];
        k.id = c.key_id;
        if (urlsign_make(&k, c, c.bound ? "10.0.0.1" : NULL, tok, sizeof(tok)) == 0 &&
            memcmp(tok, data, signed_len) != 0)
            abort();
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct urlsign_claims v;
    int rc = urlsign_verify(&ks, s, 'l', 1, "10.0.0.1", 0, &v);
    /* only a genuine MAC passes, which random input does not carry */
    if (rc == 0 || rc == URLSIGN_EXPIRED || rc == URLSIGN_WRONG_STREAM) {
        char tok[URLSIGN_TOKEN_MAX];
        if (urlsign_make(&ks.k[0], v, "10.0.0.1", tok, sizeof(tok)) || strcmp(tok, s) != 0)
            abort();
    }
    free(s);
    return 0;
}
