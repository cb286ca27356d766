/*
 * domain/time: the times of domain inputs and outputs — RFC 3339 in UTC.
 *
 * Inputs accept "2026-05-01T10:00:00Z", an offset ("...T12:00:00+02:00"),
 * fractional seconds (dropped), a lowercase t/z, and a bare date
 * "YYYY-MM-DD" (00:00 UTC that day). Years 1970..9999; every field is range
 * checked (Feb 30 is refused). Output is always "YYYY-MM-DDTHH:MM:SSZ".
 * (The XMLTV time format is xmltv/time.c's, a different grammar.)
 * Pure; any thread.
 */
#ifndef XTREAMD_DOMAIN_TIME_H
#define XTREAMD_DOMAIN_TIME_H

#include <stdbool.h>
#include <stdint.h>

#include "core/jsonw.h"
#include "domain/error.h"

#define DOM_TIME_LEN 21             /* "YYYY-MM-DDTHH:MM:SSZ" + NUL */
#define DOM_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

/* Parses s into Unix seconds: 0, or -EINVAL with a 422 field error
 * (code "format" or "range") on `field`. */
int dom_parse_time(const char *field, const char *s, int64_t *out, struct dom_error *e);

/* Formats t (UTC) as RFC 3339 with a Z. */
void dom_format_time(int64_t t, char out[DOM_TIME_LEN]);

/* Writes "key": "RFC 3339" (or null when null_zero and t == 0). */
void dom_write_time(struct jsonw *w, const char *key, int64_t t, bool null_zero);

/* Adds `months` calendar months to t (UTC), the day clamped to the end of
 * the target month (Jan 31 + 1 month = Feb 28/29), time of day kept. */
int64_t dom_add_months(int64_t t, int64_t months);

#endif
