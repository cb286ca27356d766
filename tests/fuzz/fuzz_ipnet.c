/* libFuzzer target for core/ipnet: any text as an address, a range and a
 * list item; a parsed range must contain its own address, format to text
 * that parses back to the same range, and a set built from it must agree. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct ipnet_addr a;
    if (ipnet_parse_addr(s, size, &a) == 0) {
        char t[IPNET_TEXT_MAX];
        struct ipnet_addr b;
        ipnet_format_addr(&a, t, sizeof(t));
        if (ipnet_parse_addr(t, strlen(t), &b) || memcmp(&a, &b, sizeof(a)))
            abort();
    }
    struct ipnet n;
    if (ipnet_parse(s, size, &n) == 0) {
        if (!ipnet_contains(&n, &n.addr))
            abort();
        char t[IPNET_TEXT_MAX];
        struct ipnet m;
        ipnet_format(&n, t, sizeof(t));
        if (ipnet_parse(t, strlen(t), &m) || memcmp(&m.addr, &n.addr, 16) || m.prefix != n.prefix)
            abort();
        struct ipset set;
        if (ipset_build(&set, &n, 1) == 0) {
            if (!ipset_contains(&set, &n.addr))
                abort();
            ipset_free(&set);
        }
    }
    char *z = malloc(size + 1);
    if (!z)
        return 0;
    memcpy(z, data, size);
    z[size] = '\0';
    struct ipnet_addr probe = {{0}};
    (void)ipnet_list_contains(z, &probe);
    free(z);
    return 0;
}
