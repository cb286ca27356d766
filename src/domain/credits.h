/*
 * domain/credits: credit amounts — exact decimals, never floating point.
 *
 * An amount is an int64 count of units of 1/10000 credit. Out (JSON, CLI):
 * always a string with 4 decimals, "12.5000", "-3.0000". In: a JSON string
 * "12", "12.5", "-0.0001" (an optional '-', 1 to 12 integer digits, an
 * optional '.' and 1 to 4 decimals; no '+', exponent, spaces or leading
 * '.'), or a JSON integer (whole credits); anything else (a JSON real, more
 * than 4 decimals, past DOM_CREDITS_MAX) is a 422 naming the field. No
 * amount, balance or sum ever leaves [-DOM_CREDITS_MAX, DOM_CREDITS_MAX], so
 * additions of two never overflow.
 * Threading: pure functions.
 */
#ifndef XTREAMD_DOMAIN_CREDITS_H
#define XTREAMD_DOMAIN_CREDITS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/error.h"

#define DOM_CREDIT_UNIT 10000LL
/* 10^12 credits: a balance's ceiling, far from int64's */
#define DOM_CREDITS_MAX  (1000000000000LL * DOM_CREDIT_UNIT)
#define DOM_CREDITS_TEXT 24 /* "-1000000000000.0000" + NUL, rounded up */

/* Parses text (a NUL-terminated string) into *units: 0, or -EINVAL with a
 * 422 field error on field. */
int dom_credits_parse(const char *field, const char *text, int64_t *units, struct dom_error *e);
/* The same for a JSON member value (string or integer). */
int dom_credits_from_json(const char *field, const json_t *v, int64_t *units, struct dom_error *e);
/* "12.5000" into out (at least DOM_CREDITS_TEXT bytes). */
void dom_credits_format(int64_t units, char *out, size_t outsz);

#endif
