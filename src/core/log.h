/*
 * log: one line per event on stderr, "<UTC time> <level> <tag>: <message>".
 *
 * Owns nothing. Thread-safe (a single fprintf per line, which stdio locks).
 * Never log passwords or tokens: callers pass usernames and ids only.
 *
 * Every line is escaped as a whole before it is written: control characters
 * (CR and LF included, so no field can forge a line), DEL, C1 controls,
 * U+2028/U+2029 and bytes that are not well-formed UTF-8 become "\xNN", so a
 * hostile user agent, username or path can neither start a new line nor send
 * terminal escapes. Quoted fields (user agent, request target, usernames) go
 * through log_escape(..., true), which also escapes '"' and '\' so a field
 * cannot close its quotes early.
 */
#ifndef XTREAMD_CORE_LOG_H
#define XTREAMD_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Appends s[0..len) to out with the escapes above (quoted: also '"' and '\').
 * Valid UTF-8 text passes unchanged. Returns out->err. */
int log_escape(struct buf *out, const void *s, size_t len, bool quoted);
/* s (NULL: "") escaped as a quoted field into dst[0..n), cut at a whole
 * escape when it does not fit; returns dst. For log calls' "%s" arguments. */
const char *log_field(char *dst, size_t n, const char *s);

void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(tag, ...) log_msg(LOG_DEBUG, tag, __VA_ARGS__)
#define log_info(tag, ...)  log_msg(LOG_INFO, tag, __VA_ARGS__)
#define log_warn(tag, ...)  log_msg(LOG_WARN, tag, __VA_ARGS__)
#define log_error(tag, ...) log_msg(LOG_ERROR, tag, __VA_ARGS__)

#endif
