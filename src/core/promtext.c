/*
 * promtext: Prometheus text exposition helpers (see promtext.h).
 */
#include "core/promtext.h"

#include <string.h>

#include "core/jsonw.h"

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

static void escape_help(struct buf *out, const char *s)
{
    size_t run = 0, i = 0;
    for (; s[i]; i++) {
        if (s[i] != '\\' && s[i] != '\n')
            continue;
        buf_append(out, s + run, i - run);
        buf_puts(out, s[i] == '\\' ? "\\\\" : "\\n");
        run = i + 1;
    }
    buf_append(out, s + run, i - run);
}

void promtext_family(struct buf *out, const char *name, const char *type, const char *help)
{
    buf_puts(out, "# HELP ");
    buf_puts(out, name);
    buf_putc(out, ' ');
    escape_help(out, help);
    buf_puts(out, "\n# TYPE ");
    buf_puts(out, name);
    buf_putc(out, ' ');
    buf_puts(out, type);
    buf_putc(out, '\n');
}

void promtext_label_value(struct buf *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    size_t run = 0; /* start of the pending run of bytes copied as they are */
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t len = c < 0x80 ? 1 : jsonw_utf8_seq(s + i, n - i);
        if (c >= 0x80 && len > 0) {
            i += len;
            continue;
        }
        buf_append(out, s + run, i - run);
        if (c == '"')
            buf_puts(out, "\\\"");
        else if (c == '\\')
            buf_puts(out, "\\\\");
        else if (c == '\n')
            buf_puts(out, "\\n");
        else
            buf_puts(out, REPLACEMENT); /* other control character, invalid UTF-8 byte */
        i++;
        run = i;
    }
    buf_append(out, s + run, n - run);
}
