/*
 * log: one line per event on stderr, "<UTC time> <level> <tag>: <message>".
 *
 * Owns nothing. Thread-safe (a single fprintf per line, which stdio locks).
 * Never log passwords or tokens: callers pass usernames and ids only.
 */
#ifndef XTREAMD_CORE_LOG_H
#define XTREAMD_CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(tag, ...) log_msg(LOG_DEBUG, tag, __VA_ARGS__)
#define log_info(tag, ...)  log_msg(LOG_INFO, tag, __VA_ARGS__)
#define log_warn(tag, ...)  log_msg(LOG_WARN, tag, __VA_ARGS__)
#define log_error(tag, ...) log_msg(LOG_ERROR, tag, __VA_ARGS__)

#endif
