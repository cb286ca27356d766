/*
 * hashtab: an intrusive, chained hash table that grows. The caller embeds a
 * struct htab_node in its objects, computes the 64-bit hash of the key and
 * compares keys itself while walking a chain (htab_first/htab_next only
 * return nodes whose full hash matches). The table owns its bucket array,
 * never the nodes.
 *
 * Growth: the bucket array doubles when the table holds more nodes than
 * buckets. If that allocation fails the table keeps its buckets (longer
 * chains, still correct; a single built-in bucket if it never had one) and
 * counts the failure in grow_failures: an insert never fails. A table must
 * not be moved (copied) once used.
 * Threading: none; callers serialise (the loop thread, in xtreamd).
 */
#ifndef XTREAMD_CORE_HASHTAB_H
#define XTREAMD_CORE_HASHTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab_node {
    struct htab_node *next;
    uint64_t hash;
};

struct htab {
    struct htab_node **b; /* NULL before the first insert, or &one, or a heap array */
    size_t nb;            /* power of two (0 before the first insert) */
    size_t n;
    uint64_t grow_failures;
    struct htab_node *one; /* the single bucket used when no array could be had */
};

#define HTAB_INIT                                                                                  \
    {                                                                                              \
        0                                                                                          \
    }
#define htab_entry(node, type, member) ((type *)((char *)(node)-offsetof(type, member)))

void htab_free(struct htab *t); /* the bucket array; nodes belong to the caller */
void htab_insert(struct htab *t, struct htab_node *n, uint64_t hash);
void htab_remove(struct htab *t, struct htab_node *n);
/* The first / next node whose hash equals `hash` (NULL at the end). */
struct htab_node *htab_first(const struct htab *t, uint64_t hash);
struct htab_node *htab_next(const struct htab_node *n);
/* Every node, in no particular order: i is the bucket cursor (start at 0);
 * removing the returned node before the next call is allowed. */
struct htab_node *htab_iter(const struct htab *t, size_t *i, struct htab_node **cursor);

uint64_t htab_hash_u64(uint64_t x);
uint64_t htab_hash_bytes(uint64_t seed, const void *p, size_t n);

#endif
