/*
 * hashtab: see hashtab.h. Chains hold the full hash so that growth rehashes
 * without calling back into the caller and lookups skip most key compares.
 */
#include "core/hashtab.h"
#include "core/hash.h"

#include <stdlib.h>

#define MIN_BUCKETS 16

uint64_t htab_hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t htab_hash_bytes(uint64_t seed, const void *p, size_t n)
{
    uint64_t h = HASH_FNV1A_OFFSET ^ seed;
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * HASH_FNV1A_PRIME;
    return htab_hash_u64(h);
}

void htab_free(struct htab *t)
{
    if (t->b != &t->one)
        free(t->b);
    t->b = NULL;
    t->nb = 0;
    t->n = 0;
    t->one = NULL;
}

static void grow(struct htab *t)
{
    size_t nb = t->nb > 1 ? t->nb * 2 : MIN_BUCKETS;
    struct htab_node **b = nb <= SIZE_MAX / sizeof(*b) ? calloc(nb, sizeof(*b)) : NULL;
    if (!b) {
        t->grow_failures++;
        if (!t->b) { /* never had buckets: the built-in one */
            t->b = &t->one;
            t->nb = 1;
        }
        return;
    }
    for (size_t i = 0; i < t->nb; i++) {
        struct htab_node *n = t->b[i];
        while (n) {
            struct htab_node *next = n->next;
            size_t k = (size_t)(n->hash & (nb - 1));
            n->next = b[k];
            b[k] = n;
            n = next;
        }
    }
    if (t->b != &t->one)
        free(t->b);
    t->one = NULL;
    t->b = b;
    t->nb = nb;
}

void htab_insert(struct htab *t, struct htab_node *n, uint64_t hash)
{
    if (t->n >= t->nb)
        grow(t);
    n->hash = hash;
    size_t k = (size_t)(hash & (t->nb - 1));
    n->next = t->b[k];
    t->b[k] = n;
    t->n++;
}

void htab_remove(struct htab *t, struct htab_node *n)
{
    if (!t->nb)
        return;
    for (struct htab_node **p = &t->b[n->hash & (t->nb - 1)]; *p; p = &(*p)->next) {
        if (*p == n) {
            *p = n->next;
            n->next = NULL;
            t->n--;
            return;
        }
    }
}

static struct htab_node *match(struct htab_node *n, uint64_t hash)
{
    while (n && n->hash != hash)
        n = n->next;
    return n;
}

struct htab_node *htab_first(const struct htab *t, uint64_t hash)
{
    return t->nb ? match(t->b[hash & (t->nb - 1)], hash) : NULL;
}

struct htab_node *htab_next(const struct htab_node *n)
{
    return match(n->next, n->hash);
}

struct htab_node *htab_iter(const struct htab *t, size_t *i, struct htab_node **cursor)
{
    struct htab_node *n = *cursor;
    while (!n) {
        if (*i >= t->nb)
            return NULL;
        n = t->b[(*i)++];
    }
    *cursor = n->next;
    return n;
}
