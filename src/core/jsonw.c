#include "core/jsonw.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void jsonw_init(struct jsonw *w, struct buf *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
}

/* Writes the comma that separates this value from the previous one. */
static void sep(struct jsonw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->need_comma[w->depth])
        buf_putc(w->out, ',');
    w->need_comma[w->depth] = true;
}

static void open_scope(struct jsonw *w, char c)
{
    sep(w);
    if (w->depth >= JSONW_MAX_DEPTH) {
        w->out->err = -E2BIG;
        return;
    }
    buf_putc(w->out, c);
    w->need_comma[++w->depth] = false;
}

static void close_scope(struct jsonw *w, char c)
{
    if (w->depth > 0)
        w->depth--;
    buf_putc(w->out, c);
}

void jsonw_obj_begin(struct jsonw *w)
{
    open_scope(w, '{');
}

void jsonw_obj_end(struct jsonw *w)
{
    close_scope(w, '}');
}

void jsonw_arr_begin(struct jsonw *w)
{
    open_scope(w, '[');
}

void jsonw_arr_end(struct jsonw *w)
{
    close_scope(w, ']');
}

size_t jsonw_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void jsonw_escape(struct buf *out, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        size_t len = c < 0x80 ? 1 : jsonw_utf8_seq(s + i, n - i);
        if (c >= 0x80 && len > 0) {
            i += len;
            continue;
        }
        buf_append(out, s + run, i - run);
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            buf_append(out, e, 2);
        } else if (c == '\n') {
            buf_puts(out, "\\n");
        } else if (c == '\r') {
            buf_puts(out, "\\r");
        } else if (c == '\t') {
            buf_puts(out, "\\t");
        } else if (c < 0x20) {
            buf_printf(out, "\\u%04x", c);
        } else {
            buf_puts(out, "\\ufffd"); /* invalid UTF-8 byte */
        }
        i++;
        run = i;
    }
    buf_append(out, s + run, n - run);
}

void jsonw_key(struct jsonw *w, const char *key)
{
    sep(w);
    buf_putc(w->out, '"');
    jsonw_escape(w->out, key, strlen(key));
    buf_append(w->out, "\":", 2);
    w->after_key = true;
}

void jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
    sep(w);
    buf_putc(w->out, '"');
    jsonw_escape(w->out, s, n);
    buf_putc(w->out, '"');
}

void jsonw_str(struct jsonw *w, const char *s)
{
    if (!s)
        jsonw_null(w);
    else
        jsonw_strn(w, s, strlen(s));
}

void jsonw_int(struct jsonw *w, long long v)
{
    sep(w);
    buf_put_i64(w->out, v);
}

void jsonw_int_str(struct jsonw *w, long long v)
{
    sep(w);
    buf_putc(w->out, '"');
    buf_put_i64(w->out, v);
    buf_putc(w->out, '"');
}

void jsonw_num(struct jsonw *w, double v, int decimals)
{
    sep(w);
    if (!isfinite(v)) {
        buf_putc(w->out, '0');
        return;
    }
    if (decimals < 0 || decimals > 9)
        decimals = 9;
    char tmp[64];
    int n = snprintf(tmp, sizeof(tmp), "%.*f", decimals, v);
    if (n <= 0 || (size_t)n >= sizeof(tmp)) {
        buf_putc(w->out, '0');
        return;
    }
    if (memchr(tmp, '.', (size_t)n)) {
        while (n > 0 && tmp[n - 1] == '0')
            n--;
        if (n > 0 && tmp[n - 1] == '.')
            n--;
    }
    tmp[n] = '\0';
    buf_puts(w->out, strcmp(tmp, "-0") == 0 ? "0" : tmp);
}

void jsonw_bool(struct jsonw *w, bool v)
{
    sep(w);
    buf_puts(w->out, v ? "true" : "false");
}

void jsonw_null(struct jsonw *w)
{
    sep(w);
    buf_puts(w->out, "null");
}

void jsonw_raw(struct jsonw *w, const char *json)
{
    sep(w);
    buf_puts(w->out, json);
}
