/* libFuzzer target for domain/settings: any bytes as the body of PATCH
 * /api/v1/settings, through the checks dom_settings_patch runs before it
 * writes (the registry's type, range, URL and time-zone checks). Must never
 * crash, leak or read out of bounds; every error must be a known status with
 * a stable code, and every field error must name a field with a code and a
 * message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "domain/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dom_error e;
    dom_error_reset(&e);
    if (dom_settings_validate((const char *)data, size, &e) == 0) {
        if (e.status) /* success leaves no error behind */
            abort();
        return 0;
    }
    if ((e.status != 400 && e.status != 422) || !e.code || e.nfields > DOM_MAX_FIELD_ERRORS)
        abort();
    if (e.status == 422 && e.nfields == 0)
        abort();
    for (size_t i = 0; i < e.nfields; i++)
        if (!e.fields[i].field[0] || !e.fields[i].code[0] || !e.fields[i].message[0])
            abort();
    return 0;
}
