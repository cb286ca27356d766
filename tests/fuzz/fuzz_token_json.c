/* libFuzzer target for domain/token_json and domain/time: any bytes as the
 * JSON body of an API token creation. Decoding must never crash, leak or read
 * out of bounds; every error must be a known status with a stable code and
 * named fields; a decoded body must hold only known scope bits, and a
 * decoded expiry must format back to a time that parses to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/time.h"
#include "domain/token_json.h"

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
    struct dom_token_json j;
    struct dom_error e;
    dom_error_reset(&e);
    int rc = dom_token_from_json((const char *)data, size, &j, &e);
    if (rc) {
        check_error(&e);
    } else {
        if (j.in.scopes & ~DOM_SCOPE_ALL)
            abort();
        if (j.in.name && strlen(j.in.name) > size)
            abort();
        if (j.in.expires_at) {
            char s[DOM_TIME_LEN];
            int64_t back;
            dom_format_time(j.in.expires_at, s);
            dom_error_reset(&e);
            if (j.in.expires_at < 253402300800LL && /* before year 10000 */
                (dom_parse_time("t", s, &back, &e) || back != j.in.expires_at))
                abort();
        }
    }
    dom_token_json_free(&j);
    return 0;
}
