/*
 * hash: FNV-1a, the one string/byte hash behind the open-addressing and
 * bucket indexes that key on names, guide ids and tokens (catalogue, guide,
 * EPG mapping, M3U import, HLS tokens). Not for untrusted keys an attacker
 * can choose in bulk without a bound on the table (core/hashtab mixes its
 * output further). Pure functions; any thread.
 */
#ifndef XTREAMD_CORE_HASH_H
#define XTREAMD_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_OFFSET 1469598103934665603ULL
#define HASH_FNV1A_PRIME  1099511628211ULL

static inline uint64_t hash_fnv1a(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = HASH_FNV1A_OFFSET;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * HASH_FNV1A_PRIME;
    return h;
}

static inline uint64_t hash_fnv1a_str(const char *s)
{
    uint64_t h = HASH_FNV1A_OFFSET;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * HASH_FNV1A_PRIME;
    return h;
}

#endif
