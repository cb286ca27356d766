/* libFuzzer target for the Forwarded / X-Forwarded-For parser (core/ipnet):
 * any header value in both syntaxes, from a trusted and an untrusted peer.
 * An untrusted peer's client is always the peer; a trusted peer's is the
 * peer or one of the header's hops. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *z = malloc(size + 1);
    if (!z)
        return 0;
    memcpy(z, data, size);
    z[size] = '\0';
    struct ipnet trust;
    struct ipset t;
    if (ipnet_parse("127.0.0.0/8", 11, &trust) || ipset_build(&t, &trust, 1)) {
        free(z);
        return 0;
    }
    struct ipnet_addr peer, stranger, c;
    ipnet_parse_addr("127.0.0.1", 9, &peer);
    ipnet_parse_addr("192.0.2.1", 9, &stranger);
    for (int fwd = 0; fwd < 2; fwd++) {
        struct ipnet_addr hops[8];
        bool ok[8];
        size_t dropped;
        size_t n = ipnet_parse_hops(z, fwd, hops, ok, 8, &dropped);
        if (n > 8)
            abort();
        if (ipnet_client_addr(&stranger, &t, fwd ? z : NULL, fwd ? NULL : z, &c) ||
            memcmp(&c, &stranger, sizeof(c)))
            abort();
        if (ipnet_client_addr(&peer, &t, fwd ? z : NULL, fwd ? NULL : z, &c)) {
            bool found = false;
            struct ipnet_addr all[IPNET_MAX_HOPS];
            bool allok[IPNET_MAX_HOPS];
            size_t m = ipnet_parse_hops(z, fwd, all, allok, IPNET_MAX_HOPS, &dropped);
            for (size_t i = 0; i < m && !found; i++)
                found = allok[i] && memcmp(&all[i], &c, sizeof(c)) == 0;
            if (!found)
                abort();
        }
    }
    ipset_free(&t);
    free(z);
    return 0;
}
