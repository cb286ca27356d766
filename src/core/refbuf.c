#include "core/refbuf.h"

#include <stdlib.h>
#include <string.h>

struct refbuf *refbuf_new(const void *data, size_t len)
{
    struct refbuf *rb = malloc(sizeof(*rb) + len + 1);
    if (!rb)
        return NULL;
    atomic_init(&rb->refs, 1);
    rb->len = len;
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
    if (rb && atomic_fetch_sub_explicit(&rb->refs, 1, memory_order_acq_rel) == 1)
        free(rb);
}
