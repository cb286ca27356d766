#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    min_level = level;
}

/* Length of the well-formed UTF-8 sequence at p (n bytes left), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return need;
}

static void put_hex(struct buf *out, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        char e[4] = {'\\', 'x', hex[p[i] >> 4], hex[p[i] & 15]};
        buf_append(out, e, 4);
    }
}

int log_escape(struct buf *out, const void *s, size_t len, bool quoted)
{
    const unsigned char *p = s, *end = p + len, *run = p;
    while (p < end) {
        unsigned c = *p;
        size_t adv = 1;
        bool esc;
        if (c < 0x80) {
            esc = c < 0x20 || c == 0x7f || (quoted && (c == '"' || c == '\\'));
        } else {
            adv = utf8_len(p, (size_t)(end - p));
            /* C1 controls (U+0080..U+009F; U+009B is a terminal CSI) and the
             * Unicode line and paragraph separators are escaped as well. */
            esc = adv == 0 || (c == 0xc2 && p[1] < 0xa0) ||
                  (c == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9));
            if (adv == 0)
                adv = 1;
        }
        if (esc) {
            buf_append(out, run, (size_t)(p - run));
            put_hex(out, p, adv);
            run = p + adv;
        }
        p += adv;
    }
    buf_append(out, run, (size_t)(p - run));
    return out->err;
}

const char *log_field(char *dst, size_t n, const char *s)
{
    if (n == 0)
        return dst;
    struct buf b = BUF_INIT(n - 1);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t len = strlen((const char *)p);
    /* Escape piece by piece so a field that does not fit is cut between
     * whole escapes and characters. */
    size_t i = 0;
    while (i < len && !b.err) {
        size_t adv = p[i] < 0x80 ? 1 : utf8_len(p + i, len - i);
        if (adv == 0)
            adv = 1;
        size_t keep = b.len;
        if (log_escape(&b, p + i, adv, true)) {
            b.len = keep;
            break;
        }
        i += adv;
    }
    size_t out = b.data ? b.len : 0;
    if (out > n - 1)
        out = n - 1;
    if (out)
        memcpy(dst, b.data, out);
    dst[out] = '\0';
    buf_free(&b);
    return dst;
}

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, level_names[level], tag);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* Whatever a caller passed, one event stays one line. */
    struct buf b = BUF_INIT(4 * sizeof(line));
    if (log_escape(&b, line, strlen(line), false) == 0 && b.data)
        fprintf(stderr, "%s\n", b.data);
    else
        fprintf(stderr, "%.*s (log line could not be escaped)\n", n, line);
    buf_free(&b);
}
