/*
 * db/lines: queries on subscriber lines (`lines`, `line_bouquets`).
 *
 * Owns the SQL for creating, reading, updating and deleting lines and their
 * ordered bouquet lists. A struct db_line returned by these functions owns its
 * strings; release it with db_line_clear(). Usernames are unique (-EEXIST on a
 * duplicate); lookups of a missing line return -ENOENT. Validation of the
 * values (alphabet, lengths) is domain/lines.c's; the schema's CHECKs are the
 * last line of defence and surface as -EINVAL.
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_LINES_H
#define XTREAMD_DB_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct db_line {
    int64_t id;
    char *username;
    char *password;
    int64_t max_connections;
    bool has_exp;     /* false: never expires (exp_date is NULL) */
    int64_t exp_date; /* Unix seconds, valid when has_exp */
    bool is_trial, enabled, banned;
    char *allowed_outputs; /* comma-separated, e.g. "ts,m3u8" */
    char *message;
    int64_t created_at, updated_at;
    char **bouquets; /* bouquet names in the line's order */
    size_t bouquet_count;
};

/* Frees the strings of l and zeroes it (safe on a zeroed struct). */
void db_line_clear(struct db_line *l);

/* Inserts l (id, created_at, updated_at and bouquets are ignored) and sets
 * l->id. -EEXIST when the username is taken. */
int db_line_insert(struct db *db, struct db_line *l);

/* Writes every column of line l->id (not username/created_at); sets
 * updated_at = now. -ENOENT if the line is gone. */
int db_line_update(struct db *db, struct db_line *l);

/* Replaces the bouquet list of a line with ids in the given order. */
int db_line_set_bouquets(struct db *db, int64_t line_id, const int64_t *bouquet_ids, size_t n);

/* Loads one line (with its bouquet names). -ENOENT if absent. */
int db_line_get(struct db *db, const char *username, struct db_line *out);

/* Loads every line ordered by username. *out is an array of *n lines; free
 * with db_line_list_free(). */
int db_line_list(struct db *db, struct db_line **out, size_t *n);
void db_line_list_free(struct db_line *lines, size_t n);

/* Deletes a line (its bouquet links and devices cascade). -ENOENT if absent. */
int db_line_delete(struct db *db, const char *username);

#endif
