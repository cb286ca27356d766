#include "domain/time.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* n decimal digits at s; false when one is not a digit. */
static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), no libc time zone. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int bad(struct dom_error *e, const char *field, const char *code)
{
    return dom_err_field(e, field, code,
                         "must be an RFC 3339 time (2026-05-01T10:00:00Z) or a date (YYYY-MM-DD)");
}

int dom_parse_time(const char *field, const char *s, int64_t *out, struct dom_error *e)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
    size_t n = strlen(s);
    if (n < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return bad(e, field, "format");
    const char *p = s + 10;
    if (*p) {
        if ((*p != 'T' && *p != 't' && *p != ' ') || strlen(p) < 9 || !digits(p + 1, 2, &h) ||
            p[3] != ':' || !digits(p + 4, 2, &mi) || p[6] != ':' || !digits(p + 7, 2, &sec))
            return bad(e, field, "format");
        p += 9;
        if (*p == '.') { /* fractional seconds: at least one digit, dropped */
            p++;
            if (*p < '0' || *p > '9')
                return bad(e, field, "format");
            while (*p >= '0' && *p <= '9')
                p++;
        }
        if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
            off = 0;
        } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
            int oh, om;
            if (!digits(p + 1, 2, &oh) || !digits(p + 4, 2, &om))
                return bad(e, field, "format");
            if (oh > 23 || om > 59)
                return bad(e, field, "range");
            off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        } else {
            return bad(e, field, "format");
        }
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60)
        return bad(e, field, "range");
    if (sec == 60) /* a leap second: clamped to :59 (Unix time has none) */
        sec = 59;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    if (t < 0)
        return bad(e, field, "range");
    *out = t;
    return 0;
}

void dom_format_time(int64_t t, char out[DOM_TIME_LEN])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        snprintf(out, DOM_TIME_LEN, "1970-01-01T00:00:00Z");
        return;
    }
    strftime(out, DOM_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void dom_write_time(struct jsonw *w, const char *key, int64_t t, bool null_zero)
{
    jsonw_key(w, key);
    if (null_zero && t == 0) {
        jsonw_null(w);
        return;
    }
    char s[DOM_TIME_LEN];
    dom_format_time(t, s);
    jsonw_str(w, s);
}

int64_t dom_add_months(int64_t t, int64_t months)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return t;
    int64_t m = (int64_t)tm.tm_year * 12 + tm.tm_mon + months;
    int y = (int)(m / 12) + 1900, mo = (int)(m % 12) + 1;
    int d = tm.tm_mday;
    if (d > days_in_month(y, mo))
        d = days_in_month(y, mo);
    return days_from_civil(y, mo, d) * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}
