#include "domain/tx.h"

#include "db/db.h"

int dom_db_open(const char *data_dir, struct db **out)
{
    return db_open(data_dir, out);
}

void dom_db_close(struct db *db)
{
    db_close(db);
}

int dom_begin(struct db *db, struct dom_error *e)
{
    int rc = db_begin(db);
    return rc < 0 ? dom_err_internal(e, rc, "starting a transaction") : 0;
}

int dom_commit(struct db *db, struct dom_error *e)
{
    int rc = db_commit(db);
    return rc < 0 ? dom_err_internal(e, rc, "committing a transaction") : 0;
}

void dom_rollback(struct db *db)
{
    db_rollback(db);
}
