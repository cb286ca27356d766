/*
 * domain/tx: the database handle and transactions as callers above the
 * domain layer see them (the admin API combines a read, an If-Match check,
 * a service call and its audit row in one transaction). Thin wrappers over
 * db/db.h so that no caller above domain includes a db/ header; failures are
 * reported as 500 DOM_E_INTERNAL in e.
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DOMAIN_TX_H
#define XTREAMD_DOMAIN_TX_H

#include "domain/error.h"

struct db;

int dom_db_open(const char *data_dir, struct db **out);
void dom_db_close(struct db *db);
/* Nested: an inner begin is a savepoint (db/db.h). */
int dom_begin(struct db *db, struct dom_error *e);
int dom_commit(struct db *db, struct dom_error *e);
void dom_rollback(struct db *db);

#endif
