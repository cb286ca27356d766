/* libFuzzer target for the log-field escaper (core/log.h): whatever the
 * input, the output has no control characters, DEL, C1 controls or line
 * separators, is well-formed UTF-8, has no raw '"' or '\' when quoted, and
 * decodes back to the input. log_field never overruns and ends in a NUL. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void check(const uint8_t *data, size_t size, bool quoted)
{
    struct buf b = BUF_INIT(0);
    if (log_escape(&b, data, size, quoted))
        abort();
    const unsigned char *o = (const unsigned char *)(b.data ? b.data : "");
    size_t n = b.data ? b.len : 0;
    unsigned char *back = malloc(size + 1);
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = o[i];
        if (c < 0x20 || c == 0x7f)
            abort();
        if (quoted && c == '"')
            abort();
        if (c == '\\' && i + 3 < n && o[i + 1] == 'x' && hexval((char)o[i + 2]) >= 0 &&
            hexval((char)o[i + 3]) >= 0) {
            back[m++] = (unsigned char)(hexval((char)o[i + 2]) * 16 + hexval((char)o[i + 3]));
            i += 4;
            continue;
        }
        if (quoted && c == '\\')
            abort(); /* a raw backslash in a quoted field */
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
        if (c >= 0x80 && (c < 0xc2 || c > 0xf4 || i + len > n))
            abort();
        for (size_t k = 1; k < len; k++)
            if ((o[i + k] & 0xc0) != 0x80)
                abort();
        if (c == 0xc2 && o[i + 1] < 0xa0)
            abort(); /* C1 control */
        if (c == 0xe2 && o[i + 1] == 0x80 && (o[i + 2] == 0xa8 || o[i + 2] == 0xa9))
            abort();
        memcpy(back + m, o + i, len);
        m += len;
        i += len;
    }
    /* Quoted output decodes back exactly (every '\' in it starts an escape). */
    if (quoted && (m != size || memcmp(back, data, size) != 0))
        abort();
    free(back);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size, true);
    check(data, size, false);
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    char out[64];
    memset(out, 'Z', sizeof(out));
    size_t cap = size % sizeof(out) + 1;
    log_field(out, cap, s);
    if (memchr(out, '\0', cap) == NULL)
        abort();
    for (size_t i = cap; i < sizeof(out); i++)
        if (out[i] != 'Z')
            abort();
    free(s);
    return 0;
}
