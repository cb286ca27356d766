/* libFuzzer target for api/timeshift: the input is split at NUL bytes into
 * ID.EXT, start and duration; any bytes either fail with a field named or give
 * a range whose fields are inside their documented bounds. The start parser
 * alone must also be total on the raw bytes (length-bounded, no NUL needed). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/timeshift.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t t;
    (void)timeshift_parse_start((const char *)data, size, &t);
    char *buf = malloc(size + 3);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    const char *parts[3] = {buf, NULL, NULL};
    size_t k = 1;
    for (size_t i = 0; i < size && k < 3; i++)
        if (buf[i] == '\0')
            parts[k++] = buf + i + 1;
    struct timeshift_range r;
    const char *field = NULL;
    int rc = timeshift_parse(parts[0], parts[1], parts[2], &r, &field);
    if (rc == 0) {
        if (field || r.stream_id < 0 || r.stream_id > INT32_MAX || r.duration < 60 ||
            r.duration > TIMESHIFT_MAX_MINUTES * 60 || r.start < -15 * 3600 ||
            (strcmp(r.ext, "ts") != 0 && strcmp(r.ext, "m3u8") != 0))
            abort();
    } else if (!field) {
        abort();
    }
    rc = timeshift_parse_utc(parts[0], parts[1], &r, &field);
    if ((rc == 0) != (field == NULL))
        abort();
    free(buf);
    return 0;
}
