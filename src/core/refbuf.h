/*
 * refbuf: an immutable, reference-counted byte buffer shared between connections
 * (cached API responses today, live media chunks later).
 *
 * Invariant: once refbuf_new*() returns, the bytes never change. The count is
 * atomic so that buffers may cross threads; the last refbuf_unref() frees it.
 */
#ifndef XTREAMD_CORE_REFBUF_H
#define XTREAMD_CORE_REFBUF_H

#include <stdatomic.h>
#include <stddef.h>

struct refbuf {
    atomic_int refs;
    size_t len;
    char data[];
};

/* Copies len bytes into a new buffer with one reference; NULL on ENOMEM. */
struct refbuf *refbuf_new(const void *data, size_t len);
struct refbuf *refbuf_ref(struct refbuf *rb);
void refbuf_unref(struct refbuf *rb);

#endif
