#include "core/refbuf.h"

#include <stdlib.h>
#include <string.h>

#include "core/fdref.h"

struct refbuf *refbuf_new(const void *data, size_t len)
{
    struct refbuf *rb = malloc(sizeof(*rb) + len + 1);
    if (!rb)
        return NULL;
    atomic_init(&rb->refs, 1);
    rb->len = len;
    rb->mf = NULL;
    if (len)
        memcpy(rb->data, data, len);
    rb->data[len] = '\0';
    return rb;
}

struct refbuf *refbuf_ref(struct refbuf *rb)
{
    atomic_fetch_add_explicit(&rb->refs, 1, memory_order_relaxed);
    return rb;
}

void refbuf_unref(struct refbuf *rb)
{
    if (rb && atomic_fetch_sub_explicit(&rb->refs, 1, memory_order_acq_rel) == 1) {
        fdref_unref(rb->mf);
        free(rb);
    }
}

static atomic_ulong memfd_failures;

unsigned long refbuf_memfd_failures(void)
{
    return atomic_load_explicit(&memfd_failures, memory_order_relaxed);
}

int refbuf_add_memfd(struct refbuf *rb, const char *name)
{
    if (rb->mf || rb->len < REFBUF_MEMFD_MIN)
        return 0;
    struct fdref *mf = NULL;
    int rc = fdref_new_memfd(name, &mf);
    if (rc || (rc = fdref_pwrite_all(mf, rb->data, rb->len, 0)) != 0)
        goto fail;
    rb->mf = mf;
    return 0;
fail:
    atomic_fetch_add_explicit(&memfd_failures, 1, memory_order_relaxed);
    fdref_unref(mf);
    return rc;
}
