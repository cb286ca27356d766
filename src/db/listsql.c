#include "db/listsql.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int db_order_by(const struct db_page *page, const struct db_sort_col *cols, const char *id_sql,
                bool id_desc, char *out, size_t outsz)
{
    size_t len = 0;
    int w = snprintf(out, outsz, " ORDER BY ");
    if (w < 0 || (size_t)w >= outsz)
        return -ENAMETOOLONG;
    len = (size_t)w;
    bool last_desc = id_desc;
    size_t nsort = page ? page->nsort : 0;
    if (nsort > DB_SORT_MAX)
        return -EINVAL;
    for (size_t i = 0; i < nsort; i++) {
        const struct db_sort_col *c = cols;
        while (c->name && (!page->sort[i] || strcmp(c->name, page->sort[i]) != 0))
            c++;
        if (!c->name)
            return -EINVAL; /* names never reach the SQL text */
        w = snprintf(out + len, outsz - len, "%s %s, ", c->sql, page->desc[i] ? "DESC" : "ASC");
        if (w < 0 || (size_t)w >= outsz - len)
            return -ENAMETOOLONG;
        len += (size_t)w;
        if (i == 0)
            last_desc = page->desc[0]; /* ties follow the main key's direction */
    }
    w = snprintf(out + len, outsz - len, "%s %s", id_sql, last_desc ? "DESC" : "ASC");
    if (w < 0 || (size_t)w >= outsz - len)
        return -ENAMETOOLONG;
    return 0;
}

char *db_like_pattern(const char *q)
{
    size_t n = strlen(q);
    char *p = malloc(2 * n + 3);
    if (!p)
        return NULL;
    size_t j = 0;
    p[j++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
            p[j++] = '\\';
        p[j++] = q[i];
    }
    p[j++] = '%';
    p[j] = '\0';
    return p;
}

long long db_page_limit(const struct db_page *page)
{
    if (!page || page->limit <= 0)
        return 50;
    return page->limit > DB_PAGE_LIMIT ? DB_PAGE_LIMIT : (long long)page->limit;
}

long long db_page_offset(const struct db_page *page)
{
    return page && page->offset > 0 ? (long long)page->offset : 0;
}
