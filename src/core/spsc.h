/*
 * spsc: a bounded lock-free queue between exactly one producer thread and one
 * consumer thread, of fixed-size messages (memcpy'd in and out).
 *
 * The producer owns `head`, the consumer owns `tail`; each publishes its index
 * with a release store and reads the other's with an acquire load, so a
 * message's bytes are visible before its slot is. No lock, no allocation after
 * spsc_init: the live fan-out pushes one message per chunk per I/O loop.
 * Threading: spsc_push from the producer only, spsc_pop from the consumer only.
 */
#ifndef XTREAMD_CORE_SPSC_H
#define XTREAMD_CORE_SPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct spsc {
    unsigned char *slots;
    size_t msg_size;
    size_t mask;                     /* capacity - 1 (a power of two) */
    _Alignas(64) atomic_size_t head; /* next slot to write (producer) */
    _Alignas(64) atomic_size_t tail; /* next slot to read (consumer) */
};

/* capacity: rounded up to a power of two (>= 2). -EINVAL, -ENOMEM. */
int spsc_init(struct spsc *q, size_t msg_size, size_t capacity);
void spsc_free(struct spsc *q);
/* false when full (the caller counts it). */
bool spsc_push(struct spsc *q, const void *msg);
/* false when empty. */
bool spsc_pop(struct spsc *q, void *msg);

#endif
