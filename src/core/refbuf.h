/*
 * refbuf: an immutable, reference-counted byte buffer shared between connections
 * (cached API responses, live media chunks).
 *
 * Invariant: once refbuf_new*() returns, the bytes never change. The count is
 * atomic so that buffers may cross threads; the last refbuf_unref() frees it.
 *
 * A large shared body (a cached catalogue list) may also carry a memfd with
 * the same bytes at offset 0 (refbuf_add_memfd, before the buffer is shared):
 * the HTTP server then sends it with sendfile(2) on plain TCP. Why: a writev
 * of user memory to many readers slower than the server filled their receive
 * windows in bursts (on loopback, 18,000 zero-window adverts in 6 s for 50
 * wrk connections against 330 with sendfile) and left some connections in
 * the persist timer for seconds: p99 4 s against nginx's 0.6 s for the same
 * 8.6 MB body. sendfile of the same bytes behaves like nginx. The memfd's
 * pages are shared memory (not in RSS unless mapped); they double the body's
 * memory and cost a file descriptor each, which is why only bodies of
 * REFBUF_MEMFD_MIN bytes or more get one (the response cache holds at most 96
 * MB, so at most 384 such memfds per snapshot).
 */
#ifndef XTREAMD_CORE_REFBUF_H
#define XTREAMD_CORE_REFBUF_H

#include <stdatomic.h>
#include <stddef.h>

#define REFBUF_MEMFD_MIN (256 * 1024)

struct fdref;

struct refbuf {
    atomic_int refs;
    size_t len;
    struct fdref *mf; /* NULL, or a memfd holding data[0..len) at offset 0 */
    char data[];
};

/* Copies len bytes into a new buffer with one reference; NULL on ENOMEM. */
struct refbuf *refbuf_new(const void *data, size_t len);
struct refbuf *refbuf_ref(struct refbuf *rb);
void refbuf_unref(struct refbuf *rb);
/* Gives rb a memfd copy of its bytes when it is at least REFBUF_MEMFD_MIN
 * long (no-op, 0, when shorter or already done). Only before rb is shared
 * (the field is written without synchronisation). 0 or -errno; on failure rb
 * is unchanged and is sent by copy as before. Any thread. */
int refbuf_add_memfd(struct refbuf *rb, const char *name);
/* refbuf_add_memfd calls that failed since start (/metrics): their bodies went by copy. */
unsigned long refbuf_memfd_failures(void);

#endif
