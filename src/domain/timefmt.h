/*
 * domain/timefmt: the times of the admin API's bodies and query strings.
 *
 * Input: RFC 3339 ("2026-05-01T10:00:00Z", "...T10:00:00.5+02:00", a lower
 * case t/z accepted) or a date "YYYY-MM-DD" (00:00 UTC that day), years
 * 1970-9999. Output: RFC 3339 UTC with a Z and no fraction. Bad input is a
 * field error "format" naming `field`. Pure; any thread.
 */
#ifndef XTREAMD_DOMAIN_TIMEFMT_H
#define XTREAMD_DOMAIN_TIMEFMT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/jsonw.h"
#include "domain/error.h"

#define DOM_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

/* Parses s into Unix seconds: 0, or -EINVAL with a field error. */
int dom_parse_time(const char *field, const char *s, int64_t *ts, struct dom_error *e);

/* Writes "key": "RFC 3339" (or null when null_zero and t == 0). */
void dom_write_time(struct jsonw *w, const char *key, int64_t t, bool null_zero);

/* Adds `months` calendar months to t (UTC), the day clamped to the end of
 * the target month (Jan 31 + 1 month = Feb 28/29), time of day kept. */
int64_t dom_add_months(int64_t t, int64_t months);

#endif
