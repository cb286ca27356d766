#include "core/fdref.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int fdref_new_memfd(const char *name, struct fdref **out)
{
    struct fdref *f = malloc(sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->fd = memfd_create(name, MFD_CLOEXEC);
    if (f->fd < 0) {
        int e = errno;
        free(f);
        return -e;
    }
    atomic_init(&f->refs, 1);
    atomic_init(&f->gone, 0);
    atomic_init(&f->copy_fallbacks, 0);
    atomic_init(&f->sent, 0);
    *out = f;
    return 0;
}

struct fdref *fdref_ref(struct fdref *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}

void fdref_unref(struct fdref *f)
{
    if (f && atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1) {
        close(f->fd);
        free(f);
    }
}

int fdref_pwrite_all(struct fdref *f, const void *p, size_t len, uint64_t off)
{
    const char *b = p;
    while (len) {
        ssize_t w = pwrite(f->fd, b, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        b += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}
