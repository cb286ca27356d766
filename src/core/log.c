#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/jsonw.h"

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Levels: read on every line from any thread, written by the admin API. */
static pthread_mutex_t level_lock = PTHREAD_MUTEX_INITIALIZER;
static enum log_level min_level = LOG_INFO;
static struct log_tag_level tag_levels[LOG_MAX_TAG_LEVELS]; /* sorted by tag */
static size_t ntag_levels;
/* The lowest level any tag lets through: lines below it skip the lock; and
 * whether there is any override: without one, no line takes the lock. */
static atomic_int floor_level = LOG_INFO;
static atomic_bool have_tag_levels;

/* Output: set at start-up; the descriptor number stays fixed while a reopen
 * dup2()s the new file over it. */
static enum log_format out_format = LOG_FORMAT_TEXT;
static int out_fd = -1; /* -1: stderr through stdio */
static char *out_path;

static atomic_ullong n_lines, n_write_errors, n_reopens, n_reopen_failures;

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i <= LOG_ERROR; i++) {
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (s && strcmp(s, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
    return level >= LOG_DEBUG && level <= LOG_ERROR ? level_names[level] : "info";
}

int log_format_parse(const char *s, enum log_format *out)
{
    if (s && strcmp(s, "text") == 0)
        *out = LOG_FORMAT_TEXT;
    else if (s && strcmp(s, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return -EINVAL;
    return 0;
}

/* With level_lock held. */
static void update_floor(void)
{
    enum log_level f = min_level;
    for (size_t i = 0; i < ntag_levels; i++)
        if (tag_levels[i].level < f)
            f = tag_levels[i].level;
    atomic_store(&floor_level, (int)f);
    atomic_store(&have_tag_levels, ntag_levels > 0);
}

void log_set_level(enum log_level level)
{
    pthread_mutex_lock(&level_lock);
    min_level = level;
    update_floor();
    pthread_mutex_unlock(&level_lock);
}

enum log_level log_get_level(void)
{
    pthread_mutex_lock(&level_lock);
    enum log_level l = min_level;
    pthread_mutex_unlock(&level_lock);
    return l;
}

static bool tag_valid(const char *tag)
{
    size_t n = tag ? strlen(tag) : 0;
    return n > 0 && n < LOG_TAG_MAX && strspn(tag, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* Index of tag, or where it would go (*found false). With level_lock held. */
static size_t tag_find(const char *tag, bool *found)
{
    size_t lo = 0, hi = ntag_levels;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(tag_levels[mid].tag, tag);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

int log_set_tag_level(const char *tag, enum log_level level)
{
    if (!tag_valid(tag) || level < LOG_DEBUG || level > LOG_ERROR)
        return -EINVAL;
    int rc = 0;
    bool found;
    pthread_mutex_lock(&level_lock);
    size_t i = tag_find(tag, &found);
    if (!found) {
        if (ntag_levels == LOG_MAX_TAG_LEVELS) {
            rc = -ENOSPC;
            goto out;
        }
        memmove(&tag_levels[i + 1], &tag_levels[i], (ntag_levels - i) * sizeof(tag_levels[0]));
        ntag_levels++;
        memcpy(tag_levels[i].tag, tag, strlen(tag) + 1);
    }
    tag_levels[i].level = level;
    update_floor();
out:
    pthread_mutex_unlock(&level_lock);
    return rc;
}

int log_clear_tag_level(const char *tag)
{
    if (!tag_valid(tag))
        return -EINVAL;
    bool found;
    pthread_mutex_lock(&level_lock);
    size_t i = tag_find(tag, &found);
    if (found) {
        memmove(&tag_levels[i], &tag_levels[i + 1], (ntag_levels - i - 1) * sizeof(tag_levels[0]));
        ntag_levels--;
        update_floor();
    }
    pthread_mutex_unlock(&level_lock);
    return found ? 0 : -ENOENT;
}

void log_clear_tag_levels(void)
{
    pthread_mutex_lock(&level_lock);
    ntag_levels = 0;
    update_floor();
    pthread_mutex_unlock(&level_lock);
}

size_t log_tag_levels(struct log_tag_level *out, size_t max)
{
    pthread_mutex_lock(&level_lock);
    size_t n = ntag_levels;
    memcpy(out, tag_levels, (n < max ? n : max) * sizeof(*out));
    pthread_mutex_unlock(&level_lock);
    return n;
}

int log_parse_level_setting(const char *spec, char tag[LOG_TAG_MAX], enum log_level *level)
{
    const char *eq = spec ? strchr(spec, '=') : NULL;
    tag[0] = '\0';
    if (!eq)
        return log_level_parse(spec, level);
    size_t n = (size_t)(eq - spec);
    if (n == 0 || n >= LOG_TAG_MAX || log_level_parse(eq + 1, level))
        return -EINVAL;
    memcpy(tag, spec, n);
    tag[n] = '\0';
    if (!tag_valid(tag)) {
        tag[0] = '\0';
        return -EINVAL;
    }
    return 0;
}

int log_apply_level_setting(const char *spec)
{
    char tag[LOG_TAG_MAX];
    enum log_level level;
    if (log_parse_level_setting(spec, tag, &level))
        return -EINVAL;
    if (!tag[0]) {
        log_set_level(level);
        return 0;
    }
    return log_set_tag_level(tag, level);
}

bool log_enabled(enum log_level level, const char *tag)
{
    if ((int)level < atomic_load_explicit(&floor_level, memory_order_relaxed))
        return false;
    if (!atomic_load_explicit(&have_tag_levels, memory_order_relaxed))
        return true; /* the floor is the default level */
    pthread_mutex_lock(&level_lock);
    enum log_level min = min_level;
    if (ntag_levels && tag_valid(tag)) {
        bool found;
        size_t i = tag_find(tag, &found);
        if (found)
            min = tag_levels[i].level;
    }
    pthread_mutex_unlock(&level_lock);
    return level >= min;
}

void log_set_format(enum log_format format)
{
    out_format = format;
}

enum log_format log_get_format(void)
{
    return out_format;
}

static int open_log_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    return fd < 0 ? -errno : fd;
}

int log_open_file(const char *path)
{
    if (!path) {
        if (out_fd >= 0)
            close(out_fd);
        out_fd = -1;
        free(out_path);
        out_path = NULL;
        return 0;
    }
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int fd = open_log_file(path);
    if (fd < 0) {
        free(copy);
        return fd;
    }
    if (out_fd >= 0)
        close(out_fd);
    out_fd = fd;
    free(out_path);
    out_path = copy;
    return 0;
}

int log_reopen(void)
{
    if (out_fd < 0 || !out_path)
        return 0;
    int fd = open_log_file(out_path);
    if (fd < 0) {
        atomic_fetch_add(&n_reopen_failures, 1);
        log_error("log", "cannot reopen the log file: %s; writing on to the old one",
                  strerror(-fd));
        return fd;
    }
    /* dup2 replaces the descriptor atomically: a line written by another
     * thread meanwhile lands whole in the old file or the new one. */
    int rc = dup2(fd, out_fd) < 0 ? -errno : 0;
    close(fd);
    if (rc) {
        atomic_fetch_add(&n_reopen_failures, 1);
        log_error("log", "cannot reopen the log file: %s", strerror(-rc));
        return rc;
    }
    atomic_fetch_add(&n_reopens, 1);
    return 0;
}

void log_get_counters(struct log_counters *out)
{
    out->lines = atomic_load(&n_lines);
    out->write_errors = atomic_load(&n_write_errors);
    out->reopens = atomic_load(&n_reopens);
    out->reopen_failures = atomic_load(&n_reopen_failures);
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

/* ---- output ----------------------------------------------------------- */

/* Per thread: the held lines (log_batch_begin) and the buffers a line is
 * built in, kept from line to line so that a line costs no allocation, and
 * the text of the current second (gmtime once a second, not once a line). */
struct log_thread {
    bool holding;
    bool registered; /* the exit destructor knows this thread */
    unsigned held_lines;
    struct buf held; /* whole lines, at most LOG_BATCH_MAX bytes */
    struct buf line;
    struct buf esc;
    time_t ts_sec;
    char ts_text[64]; /* "YYYY-MM-DDTHH:MM:SS" of ts_sec */
};

static _Thread_local struct log_thread lt = {
    .held = BUF_INIT(LOG_BATCH_MAX),
    .line = BUF_INIT(8 * LOG_MSG_MAX + 256),
    .esc = BUF_INIT(4 * LOG_MSG_MAX),
    .ts_sec = -1,
};

/* One writer at a time: a batch is larger than PIPE_BUF, and a pipe (stderr
 * under a supervisor) may split such a write around another thread's. */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

/* Writes p[0..len), `lines` whole lines, to the output. */
static void write_out(const char *p, size_t len, unsigned lines)
{
    bool ok = true;
    pthread_mutex_lock(&out_lock);
    if (out_fd >= 0) {
        while (len) {
            ssize_t w = write(out_fd, p, len);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                ok = false;
                break;
            }
            p += w;
            len -= (size_t)w;
        }
    } else {
        ok = fwrite(p, 1, len, stderr) == len;
    }
    pthread_mutex_unlock(&out_lock);
    atomic_fetch_add(ok ? &n_lines : &n_write_errors, lines);
}

void log_batch_flush(void)
{
    if (lt.held.len)
        write_out(lt.held.data, lt.held.len, lt.held_lines);
    buf_reset(&lt.held);
    lt.held_lines = 0;
}

/* A thread that ends (a pool thread, a loop's) writes what it held and frees
 * its buffers. */
static void thread_exit(void *unused)
{
    (void)unused;
    log_batch_end();
    buf_free(&lt.held);
    buf_free(&lt.line);
    buf_free(&lt.esc);
}

/* Once per process: the key whose destructor runs thread_exit, and at exit() the
 * exiting thread's held lines are written, not lost. */
static void exit_hooks_install(void)
{
    (void)pthread_key_create(&exit_key, thread_exit);
    atexit(log_batch_end);
}

static void thread_register(void)
{
    if (lt.registered)
        return;
    lt.registered = true;
    (void)pthread_once(&exit_once, exit_hooks_install);
    (void)pthread_setspecific(exit_key, &lt); /* non-NULL: the destructor runs */
}

void log_batch_begin(void)
{
    thread_register();
    lt.holding = true;
}

void log_batch_end(void)
{
    log_batch_flush();
    lt.holding = false;
}

bool log_batch_holding(void)
{
    return lt.holding;
}

/* A finished line (with its '\n'): held when this thread holds lines and the
 * line is below warn; otherwise written at once, after whatever was held, so
 * a warning or an error is never kept back and never overtakes earlier lines. */
static void emit(enum log_level level, const char *line, size_t len)
{
    if (lt.holding && level < LOG_WARN && len <= LOG_BATCH_MAX) {
        if (len > LOG_BATCH_MAX - lt.held.len)
            log_batch_flush();
        if (buf_append(&lt.held, line, len) == 0) {
            lt.held_lines++;
            return;
        }
        lt.held.err = 0; /* short of memory: what was held stays whole */
    }
    log_batch_flush();
    write_out(line, len, 1);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" of now into out. */
static void put_time(struct buf *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != lt.ts_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(lt.ts_text, sizeof(lt.ts_text), "%04d-%02d-%02dT%02d:%02d:%02d",
                 (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        lt.ts_sec = ts.tv_sec;
    }
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
    char frac[6] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10),
                    'Z'};
    buf_puts(out, lt.ts_text);
    buf_append(out, frac, 5);
}

/* Builds and emits one line of msg[0..len). */
static void out_line(enum log_level level, const char *tag, const char *msg, size_t len)
{
    thread_register();
    const char *lvl = log_level_name(level);
    if (!tag)
        tag = "-";
    /* Whatever a caller passed, one event stays one line: the message (and
     * the tag) are escaped as in the text format first, then, for JSON, as a
     * JSON string, so both formats show the same \xNN for hostile bytes. */
    struct buf *b = &lt.line, *esc = &lt.esc;
    buf_reset(b);
    buf_reset(esc);
    if (out_format == LOG_FORMAT_JSON) {
        buf_append(b, "{\"time\":\"", 9);
        put_time(b);
        buf_append(b, "\",\"level\":\"", 11);
        buf_puts(b, lvl);
        buf_append(b, "\",\"tag\":\"", 9);
        log_escape(esc, tag, strlen(tag), false);
        jsonw_escape(b, esc->data ? esc->data : "", esc->len);
        buf_reset(esc);
        buf_append(b, "\",\"message\":\"", 13);
        log_escape(esc, msg, len, false);
        jsonw_escape(b, esc->data ? esc->data : "", esc->len);
        buf_append(b, "\"}\n", 3);
    } else {
        put_time(b);
        buf_putc(b, ' ');
        buf_puts(b, lvl);
        buf_putc(b, ' ');
        log_escape(b, tag, strlen(tag), false);
        buf_append(b, ": ", 2);
        log_escape(b, msg, len, false);
        buf_putc(b, '\n');
    }
    if (!esc->err && !b->err && b->data) {
        emit(level, b->data, b->len);
    } else {
        char fallback[128];
        buf_reset(b);
        put_time(b);
        int n = snprintf(fallback, sizeof(fallback), "%s error log: a line could not be escaped\n",
                         b->data ? b->data : "-");
        emit(LOG_ERROR, fallback, n > 0 && (size_t)n < sizeof(fallback) ? (size_t)n : 0);
    }
    /* A rare long line does not keep its buffers' size for the thread's life. */
    if (b->cap > 4 * LOG_MSG_MAX)
        buf_free(b);
    if (esc->cap > 4 * LOG_MSG_MAX)
        buf_free(esc);
}

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
{
    if (!log_enabled(level, tag))
        return;
    char msg[LOG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
    /* As before log_text: the message ends at its first NUL. */
    out_line(level, tag, msg, strnlen(msg, len));
}

void log_text(enum log_level level, const char *tag, const char *msg, size_t len)
{
    if (!log_enabled(level, tag))
        return;
    out_line(level, tag, msg, len < LOG_MSG_MAX ? len : LOG_MSG_MAX - 1);
}
