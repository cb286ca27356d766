#include "media/progress.h"

#include <string.h>

void ffprogress_values_reset(struct ffprogress_values *v)
{
    v->speed = v->fps = v->bitrate_bps = -1;
    v->frames = v->dup_frames = v->drop_frames = v->out_time_us = -1;
}

void ffprogress_init(struct ffprogress *p)
{
    memset(p, 0, sizeof(*p));
    ffprogress_values_reset(&p->cur);
    ffprogress_values_reset(&p->last);
}

static bool key_is(const char *k, size_t kl, const char *name)
{
    return strlen(name) == kl && memcmp(k, name, kl) == 0;
}

/* A decimal number (digits, at most one '.') then only the given suffix:
 * false on anything else (N/A, overflow, garbage). */
static bool parse_num(const char *s, size_t n, const char *suffix, double *out)
{
    while (n && s[0] == ' ') {
        s++;
        n--;
    }
    size_t sl = strlen(suffix);
    if (n < sl || memcmp(s + n - sl, suffix, sl) != 0)
        return false;
    n -= sl;
    if (n == 0 || n > 24)
        return false;
    double v = 0, scale = 0;
    bool neg = false;
    size_t i = 0;
    if (s[0] == '-') {
        neg = true;
        i = 1;
        if (n == 1)
            return false;
    }
    for (; i < n; i++) {
        if (s[i] == '.') {
            if (scale != 0)
                return false;
            scale = 1;
        } else if (s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + (s[i] - '0');
            if (scale != 0)
                scale *= 10;
        } else {
            return false;
        }
    }
    if (scale > 1)
        v /= scale;
    *out = neg ? -v : v;
    return true;
}

static bool parse_int(const char *s, size_t n, int64_t *out)
{
    double d;
    if (!parse_num(s, n, "", &d) || d < 0 || d > 9.0e15 || d != (double)(int64_t)d)
        return false;
    *out = (int64_t)d;
    return true;
}

int ffprogress_line(struct ffprogress *p, const char *line, size_t len)
{
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    const char *eq = memchr(line, '=', len);
    if (!eq || eq == line)
        return 0;
    const char *k = line;
    size_t kl = (size_t)(eq - line);
    for (size_t i = 0; i < kl; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    const char *v = eq + 1;
    size_t vl = len - kl - 1;
    bool na = vl >= 3 && memcmp(v + vl - 3, "N/A", 3) == 0;
    bool ok = true;
    double d;
    if (key_is(k, kl, "progress")) {
        p->last = p->cur;
        p->blocks++;
        ffprogress_values_reset(&p->cur);
        return 2;
    } else if (key_is(k, kl, "speed")) {
        if ((ok = parse_num(v, vl, "x", &d) && d >= 0))
            p->cur.speed = d;
    } else if (key_is(k, kl, "fps")) {
        if ((ok = parse_num(v, vl, "", &d) && d >= 0))
            p->cur.fps = d;
    } else if (key_is(k, kl, "bitrate")) {
        if ((ok = parse_num(v, vl, "kbits/s", &d) && d >= 0))
            p->cur.bitrate_bps = d * 1000;
    } else if (key_is(k, kl, "frame")) {
        ok = parse_int(v, vl, &p->cur.frames);
    } else if (key_is(k, kl, "dup_frames")) {
        ok = parse_int(v, vl, &p->cur.dup_frames);
    } else if (key_is(k, kl, "drop_frames")) {
        ok = parse_int(v, vl, &p->cur.drop_frames);
    } else if (key_is(k, kl, "out_time_us")) {
        ok = parse_num(v, vl, "", &d) && d >= 0 && d < 9.0e15;
        if (ok)
            p->cur.out_time_us = (int64_t)d;
    } else if (key_is(k, kl, "total_size") || key_is(k, kl, "out_time_ms") ||
               key_is(k, kl, "out_time") || (kl > 7 && memcmp(k, "stream_", 7) == 0)) {
        /* known, not kept */
    } else {
        return 0;
    }
    if (!ok && !na)
        p->bad_values++;
    return 1;
}
