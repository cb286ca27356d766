/* libFuzzer target for http/range: any header value against a few sizes; a
 * partial answer must lie inside the resource. If-Range on the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    static const uint64_t sizes[] = {0, 1, 100, 1ULL << 40, UINT64_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t start = 0, len = 0;
        if (http_range_parse(s, sizes[i], &start, &len) == HTTP_RANGE_PARTIAL &&
            (len == 0 || start >= sizes[i] || len > sizes[i] - start))
            abort();
    }
    char etag[64];
    http_range_etag(size, (int64_t)size, etag, sizeof(etag));
    (void)http_range_if_range_ok(s, etag, (int64_t)size);
    free(s);
    return 0;
}
