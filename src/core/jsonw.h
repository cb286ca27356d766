/*
 * jsonw: a small streaming JSON writer into a struct buf, for large API
 * responses that must not be built as a DOM.
 *
 * Tracks nesting (bounded at JSONW_MAX_DEPTH) to place commas; it does not
 * validate call order beyond that — callers write keys inside objects. Strings
 * are written as UTF-8 with control characters, '"' and '\\' escaped, and any
 * invalid UTF-8 byte replaced by U+FFFD, so the output is always valid JSON.
 * Errors (buffer bound, depth) latch in the buf's err field.
 */
#ifndef XTREAMD_CORE_JSONW_H
#define XTREAMD_CORE_JSONW_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define JSONW_MAX_DEPTH 32

struct jsonw {
    struct buf *out;
    int depth;
    bool need_comma[JSONW_MAX_DEPTH + 1];
    bool after_key;
};

void jsonw_init(struct jsonw *w, struct buf *out);
void jsonw_obj_begin(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr_begin(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);
void jsonw_key(struct jsonw *w, const char *key);
void jsonw_str(struct jsonw *w, const char *s); /* NULL writes null */
void jsonw_strn(struct jsonw *w, const char *s, size_t n);
void jsonw_int(struct jsonw *w, long long v);
void jsonw_int_str(struct jsonw *w, long long v); /* the number as a JSON string */
/* Shortest decimal form, at most `decimals` after the point; integers without
 * a fraction (7.0 -> 7). Non-finite values write 0. */
void jsonw_num(struct jsonw *w, double v, int decimals);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* Already-serialised JSON (trusted: produced by jansson or this writer). */
void jsonw_raw(struct jsonw *w, const char *json);

/* Escapes s as a JSON string body (no surrounding quotes) into out. */
void jsonw_escape(struct buf *out, const char *s, size_t n);
/* Length of the valid UTF-8 sequence at s (1..4; n > 0 bytes available), or 0
 * if invalid (overlong, surrogate, beyond U+10FFFF, truncated). */
size_t jsonw_utf8_seq(const unsigned char *s, size_t n);

#endif
