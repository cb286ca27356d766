/*
 * db/page: one page of a list query — the paging, search and sort every list
 * function of the db layer takes (lines, streams, movies, audit log ...).
 *
 * Sort keys are the API's column names; each list function maps the names it
 * allows onto its own SQL and refuses any other with -EINVAL (names never
 * reach SQL text). Ties are always broken by id, so pages are stable.
 * Threading: a plain value.
 */
#ifndef XTREAMD_DB_PAGE_H
#define XTREAMD_DB_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DB_SORT_MAX   4
#define DB_PAGE_LIMIT 1000 /* the largest page */

struct db_page {
    int64_t offset; /* rows skipped */
    int64_t limit;  /* rows returned, 1..DB_PAGE_LIMIT */
    const char *q;  /* case-insensitive substring search, NULL: none */
    size_t nsort;
    const char *sort[DB_SORT_MAX]; /* API column names, most significant first */
    bool desc[DB_SORT_MAX];
};

#endif
