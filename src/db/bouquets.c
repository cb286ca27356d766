/*
 * db/bouquets: see bouquets.h. Bouquets are otherwise read and written
 * through db/records.h (the generic record access).
 */
#include "db/bouquets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db_priv.h"

int db_bouquet_find(struct db *db, const char *name, int64_t *id)
{
    struct db_stmt *st;
    if (db_prepare(db, "SELECT id FROM bouquets WHERE name = ?1", &st))
        return -EIO;
    db_bind_text(st, 1, name);
    int ret = db_step_id(db, st, "bouquets", id);
    db_finalize(st);
    return ret;
}
