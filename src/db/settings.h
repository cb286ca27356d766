/*
 * db/settings: the `settings` table (key -> text value).
 *
 * Owns the SQL only: which keys exist, their types, defaults and checks are
 * domain/settings.c's. A key without a row has its default.
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_SETTINGS_H
#define XTREAMD_DB_SETTINGS_H

struct db;

/* *value: a heap copy of the stored text (free it). -ENOENT without a row. */
int db_setting_get(struct db *db, const char *key, char **value);
/* Inserts or replaces the row of key. */
int db_setting_set(struct db *db, const char *key, const char *value);
/* Removes the row of key (back to the default); no row is not an error. */
int db_setting_delete(struct db *db, const char *key);

#endif
