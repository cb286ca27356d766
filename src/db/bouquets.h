/*
 * db/bouquets: a bouquet's id by its name, for the line service (a line
 * names its bouquets). Everything else about bouquets — rows, the ordered
 * items — is db/records.h's.
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_BOUQUETS_H
#define XTREAMD_DB_BOUQUETS_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* Looks a bouquet up by exact name. -ENOENT if absent. */
int db_bouquet_find(struct db *db, const char *name, int64_t *id);

#endif
