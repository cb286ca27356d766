/*
 * schema: the versioned migrations that build the whole data model.
 *
 * Migrations are append-only: migration N is never edited once released; a
 * change is a new entry. db_open() applies the missing ones in one transaction
 * each and records the version in PRAGMA user_version.
 */
#ifndef XTREAMD_DB_SCHEMA_H
#define XTREAMD_DB_SCHEMA_H

#include <stddef.h>

extern const char *const db_migrations[];
extern const size_t db_migration_count;

#endif
