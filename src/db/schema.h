/*
 * schema: the versioned migrations that build the whole data model.
 *
 * Migrations are append-only: migration N is never edited once released; a
 * change is a new entry. db_open() applies the missing ones in one transaction
 * each and records the version (SQLite: PRAGMA user_version; PostgreSQL: the
 * table xtreamd_schema).
 */
#ifndef XTREAMD_DB_SCHEMA_H
#define XTREAMD_DB_SCHEMA_H

#include <stddef.h>

extern const char *const db_migrations[];
extern const size_t db_migration_count;

/* PostgreSQL: text i is migration DB_PG_FIRST_VERSION + i; the first one is
 * the whole schema of that version (no PostgreSQL database is older). Every
 * later migration needs its PostgreSQL text here too (db_open refuses a
 * PostgreSQL database otherwise). */
#define DB_PG_FIRST_VERSION 10
extern const char *const db_migrations_pg[];
extern const size_t db_migration_pg_count;

#endif
