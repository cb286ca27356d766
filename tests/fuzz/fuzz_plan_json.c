/* libFuzzer target for domain/plan_json: any bytes as the JSON body of a plan
 * create or merge patch. Decoding, then validating what decoded, must never
 * crash, leak or read out of bounds, every error must be a known status with
 * a stable code, and every field error must carry a field, a code and a
 * message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/plan_json.h"

static void check_error(const struct dom_error *e)
{
    if (e->status != 400 && e->status != 422)
        abort();
    if (!e->code || e->nfields > DOM_MAX_FIELD_ERRORS)
        abort();
    for (size_t i = 0; i < e->nfields; i++)
        if (!e->fields[i].field[0] || !e->fields[i].code[0] || !e->fields[i].message[0])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dom_plan_json j;
    struct dom_error e;
    dom_error_reset(&e);
    int rc = dom_plan_from_json((const char *)data, size, &j, &e);
    if (rc) {
        check_error(&e);
    } else {
        /* Everything decoded must be readable, and validation must agree on
         * shape for both a create and an update. */
        for (size_t i = 0; i < j.in.bouquet_count; i++)
            if (j.in.bouquets[i] && strlen(j.in.bouquets[i]) > size)
                abort();
        for (int create = 0; create < 2; create++) {
            dom_error_reset(&e);
            if (dom_plan_validate(&j.in, create, &e))
                check_error(&e);
        }
    }
    dom_plan_json_free(&j);
    return 0;
}
