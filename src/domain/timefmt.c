/*
 * domain/timefmt: see timefmt.h.
 */
#include "domain/timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return mdays[m - 1] + (m == 2 && is_leap(y) ? 1 : 0);
}

/* n decimal digits at s into *out. */
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

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), without timegm's
 * dependence on the environment. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int dom_parse_time(const char *field, const char *s, int64_t *ts, struct dom_error *e)
{
    size_t n = strlen(s);
    int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
    bool ok = n >= 10 && s[4] == '-' && s[7] == '-' && digits(s, 4, &y) && digits(s + 5, 2, &mo) &&
              digits(s + 8, 2, &d) && y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 &&
              d <= month_days(y, mo);
    if (ok && n > 10) {
        const char *p = s + 10;
        ok = (*p == 'T' || *p == 't') && strlen(p) >= 10 && p[3] == ':' && p[6] == ':' &&
             digits(p + 1, 2, &h) && digits(p + 4, 2, &mi) && digits(p + 7, 2, &sec) && h <= 23 &&
             mi <= 59 && sec <= 59; /* a leap second is refused rather than guessed */
        p += 9;
        if (ok && *p == '.') {
            p++;
            size_t f = strspn(p, "0123456789");
            ok = f >= 1 && f <= 9; /* the fraction is dropped: seconds resolution */
            p += f;
        }
        if (ok && (*p == 'Z' || *p == 'z')) {
            ok = p[1] == '\0';
        } else if (ok && (*p == '+' || *p == '-')) {
            int oh = 0, om = 0;
            ok = strlen(p) == 6 && p[3] == ':' && digits(p + 1, 2, &oh) && digits(p + 4, 2, &om) &&
                 oh <= 23 && om <= 59;
            if (ok)
                off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        } else {
            ok = false;
        }
    }
    if (!ok)
        return dom_err_field(e, field, "format",
                             "invalid time '%.40s' (expected RFC 3339, e.g. "
                             "2026-05-01T10:00:00Z, or YYYY-MM-DD)",
                             s);
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    if (t < 0 || t > DOM_TIME_MAX)
        return dom_err_field(e, field, "range", "'%.40s' is outside 1970-9999", s);
    *ts = t;
    return 0;
}

void dom_write_time(struct jsonw *w, const char *key, int64_t t, bool null_zero)
{
    jsonw_key(w, key);
    if (null_zero && t == 0) {
        jsonw_null(w);
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    char s[32];
    if (!gmtime_r(&tt, &tm) || strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        jsonw_null(w);
        return;
    }
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
    if (d > month_days(y, mo))
        d = month_days(y, mo);
    return days_from_civil(y, mo, d) * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}
