#include "core/array.h"

#include <stdint.h>
#include <stdlib.h>

void *array_reserve(void *items, size_t *cap, size_t need, size_t elem, size_t min_cap)
{
    if (need <= *cap && items)
        return items;
    size_t ncap = *cap ? *cap : (min_cap ? min_cap : 1);
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return NULL;
        ncap *= 2;
    }
    if (elem && ncap > SIZE_MAX / elem)
        return NULL;
    void *p = realloc(items, ncap * elem);
    if (!p)
        return NULL;
    *cap = ncap;
    return p;
}
