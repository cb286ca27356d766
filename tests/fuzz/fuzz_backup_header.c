/* libFuzzer target for the backup file header (domain/backup.h): any bytes.
 * A header that parses lies within the stated bounds, encodes back to the
 * same 72 bytes, and its checksum is computable; a parse failure leaves no
 * half-trusted sizes behind (the caller reads nothing more). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/backup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct backup_header h;
    int rc = backup_header_parse(data, size, &h);
    if (rc != 0) {
        if (rc != -EINVAL && rc != -EPROTONOSUPPORT)
            abort();
        if (size < BACKUP_HEADER_SIZE && rc != -EINVAL)
            abort();
        return 0;
    }
    if (size < BACKUP_HEADER_SIZE || h.version == 0 || h.version > BACKUP_VERSION ||
        h.codec != BACKUP_CODEC_ZLIB || h.raw_size > BACKUP_MAX_SIZE || h.payload_size == 0 ||
        h.payload_size > BACKUP_MAX_SIZE)
        abort();
    uint8_t enc[BACKUP_HEADER_SIZE];
    backup_header_encode(&h, enc);
    if (memcmp(enc, data, BACKUP_HEADER_SIZE) != 0)
        abort();
    uint8_t sum[32], zero[32] = {0};
    backup_checksum(&h, zero, sum);
    return 0;
}
