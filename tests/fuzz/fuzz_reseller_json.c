/* libFuzzer target for domain/reseller_json and domain/credits: any bytes as
 * the JSON body of a reseller (create, patch), a reseller group, a credit move
 * ({"amount","reason"}) and a reseller's extension, and as an amount string.
 * Nothing may crash, leak or read out of bounds; every error is 400 or 422
 * with fields named; a decoded amount stays within +-DOM_CREDITS_MAX and
 * formats back to the same units (format -> parse round trip). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/credits.h"
#include "domain/reseller_json.h"

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

static void round_trip(int64_t units)
{
    if (units > DOM_CREDITS_MAX || units < -DOM_CREDITS_MAX)
        abort();
    char t[DOM_CREDITS_TEXT];
    dom_credits_format(units, t, sizeof(t));
    struct dom_error e;
    dom_error_reset(&e);
    int64_t back = 0;
    if (dom_credits_parse("amount", t, &back, &e) || back != units)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    struct dom_error e;
    for (int create = 0; create < 2; create++) {
        struct dom_reseller_json r;
        dom_error_reset(&e);
        if (dom_reseller_from_json(body, size, create, &r, &e))
            check_error(&e);
        dom_reseller_json_free(&r);
        struct dom_group_json g;
        dom_error_reset(&e);
        if (dom_group_from_json(body, size, create, &g, &e))
            check_error(&e);
        dom_group_json_free(&g);
    }
    struct dom_credit_move_json m;
    dom_error_reset(&e);
    if (dom_credit_move_from_json(body, size, &m, &e))
        check_error(&e);
    else
        round_trip(m.amount);
    dom_credit_move_json_free(&m);
    int64_t plan = 0;
    dom_error_reset(&e);
    if (dom_reseller_extend_from_json(body, size, &plan, &e))
        check_error(&e);
    else if (plan < 1)
        abort();
    /* the bytes as an amount string */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t units = 0;
    dom_error_reset(&e);
    if (dom_credits_parse("amount", s, &units, &e) == 0)
        round_trip(units);
    else
        check_error(&e);
    free(s);
    return 0;
}
