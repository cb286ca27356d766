#include "domain/credits.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define INT_DIGITS_MAX 12

static int bad(const char *field, struct dom_error *e, const char *why)
{
    dom_err_field(e, field, "format", "%s", why);
    return -EINVAL;
}

int dom_credits_parse(const char *field, const char *text, int64_t *units, struct dom_error *e)
{
    *units = 0;
    if (!text)
        return bad(field, e, "an amount is required");
    const char *p = text;
    bool neg = *p == '-';
    if (neg)
        p++;
    int64_t whole = 0, frac = 0;
    size_t nint = 0, nfrac = 0;
    while (*p >= '0' && *p <= '9') {
        if (++nint > INT_DIGITS_MAX)
            return bad(field, e, "at most 1000000000000 credits");
        whole = whole * 10 + (*p++ - '0');
    }
    if (nint == 0)
        return bad(field, e, "an amount is a decimal such as \"12\" or \"12.5\"");
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (++nfrac > 4)
                return bad(field, e, "at most 4 decimals (units of 0.0001 credit)");
            frac = frac * 10 + (*p++ - '0');
        }
        if (nfrac == 0)
            return bad(field, e, "a decimal point must be followed by a digit");
    }
    if (*p)
        return bad(field, e, "an amount is a decimal such as \"12\" or \"12.5\"");
    for (size_t i = nfrac; i < 4; i++)
        frac *= 10;
    int64_t v = whole * DOM_CREDIT_UNIT + frac; /* < 10^16: no overflow */
    if (v > DOM_CREDITS_MAX)
        return bad(field, e, "at most 1000000000000 credits");
    *units = neg ? -v : v;
    return 0;
}

int dom_credits_from_json(const char *field, const json_t *v, int64_t *units, struct dom_error *e)
{
    *units = 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
            return bad(field, e, "an amount is a decimal such as \"12\" or \"12.5\"");
        return dom_credits_parse(field, s, units, e);
    }
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n > DOM_CREDITS_MAX / DOM_CREDIT_UNIT || n < -(DOM_CREDITS_MAX / DOM_CREDIT_UNIT))
            return bad(field, e, "at most 1000000000000 credits");
        *units = (int64_t)n * DOM_CREDIT_UNIT;
        return 0;
    }
    dom_err_field(e, field, "type",
                  "an amount is a string such as \"12.5\" or an integer (never a JSON real)");
    return -EINVAL;
}

void dom_credits_format(int64_t units, char *out, size_t outsz)
{
    uint64_t a = units < 0 ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
    snprintf(out, outsz, "%s%" PRIu64 ".%04" PRIu64, units < 0 ? "-" : "",
             a / (uint64_t)DOM_CREDIT_UNIT, a % (uint64_t)DOM_CREDIT_UNIT);
}
