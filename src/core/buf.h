/*
 * buf: a growable byte buffer with an explicit maximum size.
 *
 * Owns its storage. Invariant: data[len] == '\0' whenever data != NULL, so a buf
 * can be used as a C string. Appends past `max` fail with -E2BIG and leave the
 * buffer unchanged; the error is also latched in `err` so that a long sequence of
 * appends can be checked once at the end. Not thread-safe; one owner at a time.
 */
#ifndef XTREAMD_CORE_BUF_H
#define XTREAMD_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* 0 means the default of 256 MiB */
    int err;    /* first error seen by an append, 0 if none */
};

#define BUF_INIT(maxbytes)                                                                         \
    {                                                                                              \
        NULL, 0, 0, (maxbytes), 0                                                                  \
    }

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, err = 0, storage kept */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
int buf_put_u64(struct buf *b, unsigned long long v);
int buf_put_i64(struct buf *b, long long v);
/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Hands the storage to the caller (who frees it) and resets b. */
char *buf_steal(struct buf *b, size_t *len);

#endif
