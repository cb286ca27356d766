/*
 * arena: a bump allocator for many small objects that die together (the
 * strings and arrays of one catalogue snapshot, one request's scratch data).
 *
 * Owns a list of blocks; arena_free releases them all at once. Individual
 * allocations are never freed. Not thread-safe.
 */
#ifndef XTREAMD_CORE_ARENA_H
#define XTREAMD_CORE_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
    struct arena_block *head;
    size_t block_size;
    size_t total;
};

void arena_init(struct arena *a, size_t block_size);
void arena_free(struct arena *a);
/* 16-byte aligned, zeroed; NULL on ENOMEM. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);

#endif
