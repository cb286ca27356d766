/*
 * epg/time: XMLTV timestamps ("YYYYMMDDHHMMSS +HHMM" and its shorter forms)
 * to UTC Unix seconds, and back to the "+0000" form the server emits.
 * Owns nothing; pure functions, any thread. No libc time zone state is used
 * (no mktime/TZ): the civil-date arithmetic is done here.
 */
#include <errno.h>
#include <string.h>

#include "xmltv/xmltv.h"

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t epg_civil_to_unix(int y, int mon, int d, int h, int mi, int sec)
{
    return days_from_civil(y, mon, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool ieq(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if (c != b[i])
            return false;
    }
    return true;
}

int epg_parse_time(const char *s, size_t len, int64_t *out)
{
    size_t i = 0, nd = 0;
    while (i < len && s[i] == ' ')
        i++;
    const char *d = s + i;
    while (i < len && is_digit(s[i]) && nd < 15) {
        i++;
        nd++;
    }
    if (nd != 12 && nd != 14)
        return -EINVAL;
    int y = num(d, 4), mon = num(d + 4, 2), day = num(d + 6, 2), h = num(d + 8, 2),
        mi = num(d + 10, 2), sec = nd == 14 ? num(d + 12, 2) : 0;
    if (y < 1900 || mon < 1 || mon > 12 || day < 1 || day > days_in_month(y, mon) || h > 23 ||
        mi > 59 || sec > 60)
        return -EINVAL;
    int64_t t = epg_civil_to_unix(y, mon, day, h, mi, sec);
    while (i < len && s[i] == ' ')
        i++;
    size_t end = len;
    while (end > i &&
           (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\n' || s[end - 1] == '\r'))
        end--;
    const char *z = s + i;
    size_t zl = end - i;
    if (zl == 0 || ieq(z, zl, "Z") || ieq(z, zl, "UTC") || ieq(z, zl, "GMT")) {
        *out = t;
        return 0;
    }
    if (z[0] != '+' && z[0] != '-')
        return -EINVAL;
    int sign = z[0] == '-' ? -1 : 1;
    int oh, om = 0;
    if (zl == 5 && is_digit(z[1]) && is_digit(z[2]) && is_digit(z[3]) && is_digit(z[4])) {
        oh = num(z + 1, 2);
        om = num(z + 3, 2);
    } else if (zl == 6 && is_digit(z[1]) && is_digit(z[2]) && z[3] == ':' && is_digit(z[4]) &&
               is_digit(z[5])) {
        oh = num(z + 1, 2);
        om = num(z + 4, 2);
    } else if (zl == 3 && is_digit(z[1]) && is_digit(z[2])) {
        oh = num(z + 1, 2);
    } else {
        return -EINVAL;
    }
    if (oh > 14 || om > 59)
        return -EINVAL;
    /* Local time = UTC + offset, so UTC = local - offset. */
    *out = t - sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
    return 0;
}

void epg_format_xmltv_time(int64_t t, char out[21])
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t secs = t - days * 86400;
    /* civil_from_days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (y < 0 || y > 9999) {
        memcpy(out, "19700101000000 +0000", 21);
        return;
    }
    int v[6] = {(int)y,          (int)m, (int)d, (int)(secs / 3600), (int)(secs / 60 % 60),
                (int)(secs % 60)};
    char *o = out;
    for (int k = 0; k < 6; k++) {
        int width = k == 0 ? 4 : 2;
        for (int dgt = width - 1; dgt >= 0; dgt--) {
            int x = v[k];
            for (int e = 0; e < dgt; e++)
                x /= 10;
            *o++ = (char)('0' + x % 10);
        }
    }
    memcpy(o, " +0000", 7);
}
