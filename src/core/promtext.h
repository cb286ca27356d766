/*
 * promtext: small helpers for the Prometheus text exposition format (0.0.4),
 * used by /metrics (stream/live.c, api/).
 *
 * A metric family is written as "# HELP", "# TYPE" and then all its samples
 * together; label values are UTF-8 with backslash, double quote and newline
 * escaped. Output goes to a struct buf; errors (its bound) latch in its err
 * field like every other buf append. No state, any thread.
 */
#ifndef XTREAMD_CORE_PROMTEXT_H
#define XTREAMD_CORE_PROMTEXT_H

#include "core/buf.h"

/* "# HELP name help\n# TYPE name type\n"; type is "counter", "gauge", ...
 * Backslashes and newlines in help are escaped. */
void promtext_family(struct buf *out, const char *name, const char *type, const char *help);
/* s (NUL-terminated, NULL = "") as the body of a label value, without the
 * quotes: '\\' -> "\\\\", '"' -> "\\\"", newline -> "\\n"; other control
 * characters and invalid UTF-8 bytes become U+FFFD, so the value always
 * parses and is valid UTF-8. */
void promtext_label_value(struct buf *out, const char *s);

#endif
