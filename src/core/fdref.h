/*
 * fdref: a reference-counted file descriptor holding a live rendition's chunk
 * bytes at their stream offsets (a memfd), so that a TS viewer's queued slice
 * can be handed to the kernel with sendfile instead of being copied by writev.
 *
 * Invariant: bytes at offsets >= gone never change once written (offsets only
 * grow; nothing is rewritten). Bytes below gone may be holes (punched when
 * their chunk left the ring): a reader checks gone before each sendfile and
 * otherwise sends the same bytes from the chunk's refbuf. Pages that the
 * kernel still holds for in-flight segments stay theirs: punching drops the
 * file's reference, not the socket's. The count and gone are atomic so that a
 * slice may be sent on another loop's thread.
 */
#ifndef XTREAMD_CORE_FDREF_H
#define XTREAMD_CORE_FDREF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct fdref {
    atomic_int refs;
    int fd;
    _Atomic uint64_t gone;       /* bytes below this offset may be gone */
    atomic_ulong copy_fallbacks; /* slices sent by copy because their bytes were gone */
    atomic_ulong sent;           /* bytes sent from fd with sendfile */
};

/* A new memfd with one reference; 0 or -errno. */
int fdref_new_memfd(const char *name, struct fdref **out);
struct fdref *fdref_ref(struct fdref *f);
void fdref_unref(struct fdref *f); /* the last one closes the fd */
/* Writes all len bytes at offset off (EINTR retried); 0 or -errno (-EIO for a
 * write that stored nothing). On failure some bytes may have been written. */
int fdref_pwrite_all(struct fdref *f, const void *p, size_t len, uint64_t off);

#endif
