/*
 * timeshift: catch-up URL parsing (see timeshift.h). Every form is matched
 * against a fixed shape character by character, so no input can make it read
 * past n or accept trailing junk.
 */
#include "api/timeshift.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "xmltv/xmltv.h"

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Civil fields to Unix seconds, rejecting out-of-range fields (no rollover:
 * "2024-02-30" is a typo, not March 1st). */
static int civil(int y, int mo, int d, int h, int mi, int sec, int64_t *out)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
        return -EINVAL;
    if (d > dm[mo - 1] + (mo == 2 && leap(y)))
        return -EINVAL;
    *out = epg_civil_to_unix(y, mo, d, h, mi, sec);
    return 0;
}

/* Does s match shape? In shape 'd' is a digit, 'S' one of the separators in
 * seps, anything else itself. */
static bool shape(const char *s, size_t n, const char *pat, const char *seps)
{
    if (strlen(pat) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (pat[i] == 'd') {
            if (c < '0' || c > '9')
                return false;
        } else if (pat[i] == 'S') {
            if (!c || !strchr(seps, c))
                return false;
        } else if (pat[i] != c) {
            return false;
        }
    }
    return true;
}

/* ISO-8601 zone suffix: "", "Z", "+HH:MM", "+HHMM", "+HH"; seconds east. */
static int zone(const char *s, size_t n, int64_t *east)
{
    *east = 0;
    if (n == 0 || (n == 1 && (s[0] == 'Z' || s[0] == 'z')))
        return 0;
    if (s[0] != '+' && s[0] != '-')
        return -EINVAL;
    int h, m = 0;
    if (shape(s + 1, n - 1, "dd:dd", "") || shape(s + 1, n - 1, "dddd", "")) {
        h = num(s + 1, 2);
        m = num(s + n - 2, 2);
    } else if (shape(s + 1, n - 1, "dd", "")) {
        h = num(s + 1, 2);
    } else {
        return -EINVAL;
    }
    if (h > 14 || m > 59)
        return -EINVAL;
    *east = (s[0] == '-' ? -1 : 1) * ((int64_t)h * 3600 + m * 60);
    return 0;
}

int timeshift_parse_start(const char *s, size_t n, int64_t *out)
{
    if (!s)
        return -EINVAL;
    if (digits(s, n)) {
        /* Unix seconds (XCVM), or milliseconds from JavaScript clients. */
        if (n == 13) {
            *out = (int64_t)(s[0] - '0');
            for (size_t i = 1; i < 10; i++)
                *out = *out * 10 + (s[i] - '0');
            return 0;
        }
        if (n > 11)
            return -EINVAL;
        int64_t v = 0;
        for (size_t i = 0; i < n; i++)
            v = v * 10 + (s[i] - '0');
        *out = v;
        return 0;
    }
    /* "YYYYMMDD-HH": hour precision (XC2, XCVM). */
    if (shape(s, n, "dddddddd-dd", ""))
        return civil(num(s, 4), num(s + 4, 2), num(s + 6, 2), num(s + 9, 2), 0, 0, out);
    if (n < 16 || !shape(s, 10, "dddd-dd-dd", ""))
        return -EINVAL;
    int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
    char sep = s[10];
    const char *t = s + 11;
    size_t tn = n - 11;
    int h, mi, sec = 0;
    int64_t east = 0;
    if (sep == ':' || sep == '_') {
        /* XC's "HH-MM" (Kodi, NPM), with seconds (DISP), or "HH:MM[:SS]". */
        if (shape(t, tn, "dd-dd", "") || shape(t, tn, "dd:dd", "")) {
        } else if (shape(t, tn, "dd-dd-dd", "") || shape(t, tn, "dd:dd:dd", "")) {
            sec = num(t + 6, 2);
        } else {
            return -EINVAL;
        }
    } else if (sep == ' ' || sep == 'T' || sep == 't') {
        /* "HH:MM[:SS[.fff]]" and, with 'T', an ISO zone. */
        if (tn < 5 || !shape(t, 5, "dd:dd", ""))
            return -EINVAL;
        size_t k = 5;
        if (tn >= 8 && shape(t + 5, 3, ":dd", "")) {
            sec = num(t + 6, 2);
            k = 8;
            if (k < tn && t[k] == '.') {
                size_t f = k + 1;
                while (f < tn && t[f] >= '0' && t[f] <= '9' && f - k <= 9)
                    f++;
                if (f == k + 1)
                    return -EINVAL;
                k = f;
            }
        }
        if (k < tn && (sep == ' ' || zone(t + k, tn - k, &east) != 0))
            return -EINVAL;
    } else {
        return -EINVAL;
    }
    h = num(t, 2);
    mi = num(t + 3, 2);
    int64_t v;
    int rc = civil(y, mo, d, h, mi, sec, &v);
    if (rc)
        return rc;
    *out = v - east;
    return 0;
}

int timeshift_parse_minutes(const char *s, size_t n, int64_t *out)
{
    if (!s || !digits(s, n))
        return -EINVAL;
    if (n > 6)
        return -ERANGE;
    int v = num(s, n);
    if (v < 1 || v > TIMESHIFT_MAX_MINUTES)
        return -ERANGE;
    *out = v;
    return 0;
}

int timeshift_parse_id(const char *s, size_t n, struct timeshift_range *r)
{
    if (!s)
        return -EINVAL;
    const char *dot = memchr(s, '.', n);
    size_t idn = dot ? (size_t)(dot - s) : n;
    if (!digits(s, idn) || idn > 10)
        return -EINVAL;
    int64_t id = 0;
    for (size_t i = 0; i < idn; i++)
        id = id * 10 + (s[i] - '0');
    if (id > INT32_MAX)
        return -EINVAL;
    const char *ext = dot ? dot + 1 : "ts";
    size_t en = dot ? n - idn - 1 : 2;
    if (!((en == 2 && memcmp(ext, "ts", 2) == 0) || (en == 4 && memcmp(ext, "m3u8", 4) == 0)))
        return -EINVAL;
    r->stream_id = id;
    memcpy(r->ext, ext, en);
    r->ext[en] = '\0';
    return 0;
}

int timeshift_parse(const char *id_ext, const char *start, const char *minutes,
                    struct timeshift_range *r, const char **field)
{
    int rc;
    int64_t m = 0;
    *field = "stream";
    if ((rc = timeshift_parse_id(id_ext, id_ext ? strlen(id_ext) : 0, r)) != 0)
        return rc;
    *field = "start";
    if ((rc = timeshift_parse_start(start, start ? strlen(start) : 0, &r->start)) != 0)
        return rc;
    *field = "duration";
    if ((rc = timeshift_parse_minutes(minutes, minutes ? strlen(minutes) : 0, &m)) != 0)
        return rc;
    r->duration = m * 60;
    *field = NULL;
    return 0;
}

int timeshift_parse_utc(const char *utc, const char *lutc, struct timeshift_range *r,
                        const char **field)
{
    *field = "utc";
    size_t n = utc ? strlen(utc) : 0;
    if (!digits(utc ? utc : "", n) || n > 11)
        return -EINVAL;
    if (lutc) {
        size_t ln = strlen(lutc);
        if (ln && (!digits(lutc, ln) || ln > 11)) {
            *field = "lutc";
            return -EINVAL;
        }
    }
    int64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (utc[i] - '0');
    r->start = v;
    r->duration = 0;
    *field = NULL;
    return 0;
}
