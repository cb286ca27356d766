/*
 * db/listsql: SQL text for the list queries of db/admin_auth.c and db/audit.c
 * — the ORDER BY of a struct db_page through an allow-list, and the LIKE
 * pattern of its search. Only src/db/ includes it. Pure; any thread.
 */
#ifndef XTREAMD_DB_LISTSQL_H
#define XTREAMD_DB_LISTSQL_H

#include <stdbool.h>
#include <stddef.h>

#include "db/page.h"

/* One sortable API column and the SQL expression it stands for. */
struct db_sort_col {
    const char *name;
    const char *sql;
};

/* Writes " ORDER BY ..." for page->sort (each name looked up in cols, a
 * NULL-terminated table) followed by id_sql as the tie breaker; with no sort
 * keys the order is id_sql, descending when id_desc. -EINVAL on an unknown
 * name, -ENAMETOOLONG when out is too small. */
int db_order_by(const struct db_page *page, const struct db_sort_col *cols, const char *id_sql,
                bool id_desc, char *out, size_t outsz);

/* "%q%" with the LIKE wildcards of q escaped by '\' (use ESCAPE '\'); a
 * heap string (NULL: out of memory). */
char *db_like_pattern(const char *q);

/* Clamped LIMIT / OFFSET values of a page. */
long long db_page_limit(const struct db_page *page);
long long db_page_offset(const struct db_page *page);

#endif
