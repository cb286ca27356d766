/*
 * libFuzzer target for the access check's user-agent glob matcher
 * (auth/access.c, access_glob_match): the input is a pattern, a newline and
 * a user agent. The check's own matcher (for '*'-only globs, behind its
 * key-byte filter) must say exactly what fnmatch(3) without flags says; any
 * difference aborts.
 */
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/access.h"
#include "domain/access.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *z = malloc(size + 1);
    if (!z)
        return 0;
    memcpy(z, data, size);
    z[size] = '\0';
    char *nl = strchr(z, '\n');
    if (nl) {
        *nl = '\0';
        const char *pat = z, *ua = nl + 1;
        /* longer patterns are refused when a rule is added (domain/access.c) */
        if (strlen(pat) <= DOM_ACCESS_UA_MAX &&
            access_glob_match(pat, ua) != (fnmatch(pat, ua, 0) == 0))
            abort();
    }
    free(z);
    return 0;
}
