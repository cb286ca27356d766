/*
 * array: growth of plain heap arrays (the row lists the database layer
 * returns). Owns nothing; the caller owns the array and frees it.
 */
#ifndef XTREAMD_CORE_ARRAY_H
#define XTREAMD_CORE_ARRAY_H

#include <stddef.h>

/* Makes room for at least `need` elements of `elem` bytes, doubling *cap from
 * `min_cap`. Returns the (possibly moved) array; on ENOMEM or overflow returns
 * NULL and leaves the array and *cap untouched. */
void *array_reserve(void *items, size_t *cap, size_t need, size_t elem, size_t min_cap);

#endif
