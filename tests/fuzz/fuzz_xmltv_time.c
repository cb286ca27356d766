/* libFuzzer target for epg/time: any bytes either fail or give a time that
 * formats back to a valid "YYYYmmddHHMMSS +0000" which parses to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "epg/epg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t t;
    if (epg_parse_time((const char *)data, size, &t) != 0)
        return 0;
    char out[21];
    epg_format_xmltv_time(t, out);
    if (strlen(out) != 20)
        abort();
    int64_t back;
    /* Years past 9999 after the offset are clamped by the formatter. */
    if (epg_parse_time(out, strlen(out), &back) != 0 || (back != t && back != 0))
        abort();
    return 0;
}
