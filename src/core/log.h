/*
 * log: one line per event, "<UTC time> <level> <tag>: <message>" (text) or
 * {"time":..,"level":..,"tag":..,"message":..} (JSON lines), on stderr
 * (journald under systemd) or appended to a file.
 *
 * Threading: log_msg and the level setters may be called from any thread
 * (the level table has a mutex; lines are written under one output mutex, so
 * two threads' lines never interleave, to stderr or an O_APPEND file).
 *
 * Held lines (log_batch_begin): an event loop's thread holds its lines below
 * warn and writes them with one write() at the end of each loop iteration
 * (log_batch_flush, called by the HTTP server before the loop sleeps), so a
 * loop answering 70,000 requests a second makes a few thousand writes, not
 * 70,000. A warning or an error is written at once, after what the thread
 * held (order is kept). A thread holds at most LOG_BATCH_MAX bytes; more
 * writes the batch first. A thread that ends, or the process's exit(),
 * writes what the thread held; a crash loses at most one iteration's
 * info lines of that thread. log_set_format and log_open_file are for
 * start-up, before threads log; log_reopen (SIGHUP/SIGUSR1, for logrotate)
 * may run while other threads log: the new file is dup2()ed over the old
 * descriptor, so a concurrent line goes to one file or the other, whole.
 *
 * Levels: a default minimum and per-tag (subsystem) overrides, changeable at
 * run time (admin API /api/v1/system/log-levels, `xtreamd log level`). At
 * most LOG_MAX_TAG_LEVELS overrides; tags are [a-z0-9_-], 1..LOG_TAG_MAX-1.
 *
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

#define LOG_TAG_MAX        32
#define LOG_MAX_TAG_LEVELS 64

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

struct log_tag_level {
    char tag[LOG_TAG_MAX];
    enum log_level level;
};

struct log_counters {
    unsigned long long lines;           /* written */
    unsigned long long write_errors;    /* lines lost to a failed or short write */
    unsigned long long reopens;         /* log_reopen that opened the file again */
    unsigned long long reopen_failures; /* log_reopen that kept the old file */
};

/* "debug", "info", "warn" (or "warning"), "error"; -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);
/* "text" or "json"; -EINVAL otherwise. */
int log_format_parse(const char *s, enum log_format *out);

/* The default minimum level (tags without an override). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Overrides tag's minimum. -EINVAL for a bad tag, -ENOSPC when the table is
 * full (LOG_MAX_TAG_LEVELS). */
int log_set_tag_level(const char *tag, enum log_level level);
/* Drops tag's override (-ENOENT: there was none). */
int log_clear_tag_level(const char *tag);
void log_clear_tag_levels(void);
/* Copies the overrides (sorted by tag) into out[0..max); returns how many there are. */
size_t log_tag_levels(struct log_tag_level *out, size_t max);
/* The `log-level` setting: "LEVEL" (the default; tag[0] == '\0') or
 * "TAG=LEVEL". -EINVAL for anything else. */
int log_parse_level_setting(const char *spec, char tag[LOG_TAG_MAX], enum log_level *level);
int log_apply_level_setting(const char *spec);
/* Whether a line of this level and tag would be written. */
bool log_enabled(enum log_level level, const char *tag);

void log_set_format(enum log_format format);
enum log_format log_get_format(void);
/* Appends lines to path (created 0600: usernames and addresses) instead of stderr; NULL goes back
 * to stderr. -errno when the file cannot be opened (the output is unchanged). */
int log_open_file(const char *path);
/* Opens the configured file again (after logrotate renamed it). 0 without a
 * file; -errno when it cannot be opened (lines keep going to the old one). */
int log_reopen(void);
void log_get_counters(struct log_counters *out);
/* A message is cut at LOG_MSG_MAX - 1 bytes. */
#define LOG_MSG_MAX   2048
#define LOG_BATCH_MAX (64 * 1024)

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* msg[0..len) as the message, without formatting (it may hold any bytes:
 * they are escaped like log_msg's). */
void log_text(enum log_level level, const char *tag, const char *msg, size_t len);

/* From now on this thread holds its lines below warn until log_batch_flush
 * (see above). Idempotent. */
void log_batch_begin(void);
/* Writes what this thread holds, in one write. */
void log_batch_flush(void);
/* Writes what this thread holds and stops holding. */
void log_batch_end(void);
bool log_batch_holding(void);

#define log_debug(tag, ...) log_msg(LOG_DEBUG, tag, __VA_ARGS__)
#define log_info(tag, ...)  log_msg(LOG_INFO, tag, __VA_ARGS__)
#define log_warn(tag, ...)  log_msg(LOG_WARN, tag, __VA_ARGS__)
#define log_error(tag, ...) log_msg(LOG_ERROR, tag, __VA_ARGS__)

#endif
