#include "core/spsc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int spsc_init(struct spsc *q, size_t msg_size, size_t capacity)
{
    if (!msg_size || capacity < 2 || capacity > ((size_t)1 << 30))
        return -EINVAL;
    size_t cap = 2;
    while (cap < capacity)
        cap <<= 1;
    q->slots = calloc(cap, msg_size);
    if (!q->slots)
        return -ENOMEM;
    q->msg_size = msg_size;
    q->mask = cap - 1;
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    return 0;
}

void spsc_free(struct spsc *q)
{
    free(q->slots);
    q->slots = NULL;
}

bool spsc_push(struct spsc *q, const void *msg)
{
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (head - tail > q->mask)
        return false; /* full: the consumer has not freed the slot yet */
    memcpy(q->slots + (head & q->mask) * q->msg_size, msg, q->msg_size);
    atomic_store_explicit(&q->head, head + 1, memory_order_release);
    return true;
}

bool spsc_pop(struct spsc *q, void *msg)
{
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    if (tail == head)
        return false;
    memcpy(msg, q->slots + (tail & q->mask) * q->msg_size, q->msg_size);
    atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
    return true;
}
