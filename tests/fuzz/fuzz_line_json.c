/* libFuzzer target for domain/line_json: any bytes as the JSON body of a line
 * create or merge patch. Decoding, then validating what decoded, must never
 * crash, leak or read out of bounds, every error must be a known status with
 * a stable code, and every field error must carry a field, a code and a
 * message. The same input also goes through the extend and bulk decoders. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/line_json.h"

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
    struct dom_line_json j;
    struct dom_error e;
    dom_error_reset(&e);
    int rc = dom_line_from_json((const char *)data, size, &j, &e);
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
            if (dom_line_validate(&j.in, create, &e))
                check_error(&e);
        }
    }
    dom_line_json_free(&j);
    /* The same bytes as the body of POST /api/v1/lines/{id}/extend. */
    struct dom_line_extend_json x;
    dom_error_reset(&e);
    if (dom_line_extend_from_json((const char *)data, size, &x, &e))
        check_error(&e);
    else if ((x.in.days != 0) + (x.in.months != 0) + (x.in.until != NULL) != 1)
        abort();
    /* And as the body of POST /api/v1/lines/bulk: a decoded body names 1..max
     * distinct ids and exactly one change. */
    static struct dom_line_bulk_json b;
    dom_error_reset(&e);
    if (dom_line_bulk_from_json((const char *)data, size, &b, &e)) {
        check_error(&e);
    } else {
        if (b.nids == 0 || b.nids > DOM_LINE_BULK_MAX || b.op < DOM_LINE_BULK_EXTEND ||
            b.op > DOM_LINE_BULK_DELETE)
            abort();
        for (size_t i = 0; i < b.nids; i++) {
            if (b.ids[i] <= 0)
                abort();
            for (size_t k = 0; k < i; k++)
                if (b.ids[i] == b.ids[k])
                    abort();
        }
    }
    dom_line_bulk_json_free(&b);
    return 0;
}
