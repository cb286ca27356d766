/* libFuzzer target for the archive's index reader (archive/archive.h): any
 * bytes as an index file against a TS size taken from the input. Every record
 * it accepts must name whole packets inside the TS, in file order, and
 * re-encode to the same bytes; the valid length is a whole number of records. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t ts_size = 0;
    if (size >= 8) {
        memcpy(&ts_size, data, 8);
        data += 8;
        size -= 8;
    }
    struct archive_idx_rec *recs = NULL;
    size_t n = 0, valid = 0;
    if (archive_idx_parse(data, size, ts_size, &recs, &n, &valid))
        return 0;
    if (valid != n * ARCHIVE_RECORD_SIZE || valid > size)
        abort();
    uint64_t prev_end = 0;
    for (size_t i = 0; i < n; i++) {
        const struct archive_idx_rec *r = &recs[i];
        if (r->length == 0 || r->length % 188 || r->offset < prev_end ||
            r->offset + r->length > ts_size)
            abort();
        prev_end = r->offset + r->length;
        uint8_t b[ARCHIVE_RECORD_SIZE];
        archive_idx_encode(r, b);
        if (memcmp(b, data + i * ARCHIVE_RECORD_SIZE, sizeof(b)) != 0)
            abort();
    }
    free(recs);
    return 0;
}
