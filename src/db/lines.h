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

#include "db/page.h"

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
    char *notes; /* the operator's free text (never shown to clients) */
    int64_t created_at, updated_at;
    int64_t owner_id;     /* the reseller (admin id) that owns it; 0: the admins' own */
    char **bouquets;      /* bouquet names in the line's order */
    int64_t *bouquet_ids; /* their ids, parallel to bouquets */
    size_t bouquet_count;
};

/* The status filter of db_line_page: the same partition as
 * domain/line_state.h's dom_line_state() (banned > disabled > expired >
 * active, exp_date NULL or 0 = never), written as SQL; TRIAL is the is_trial
 * flag whatever the state. */
enum db_line_status_filter {
    DB_LINE_ANY,
    DB_LINE_ACTIVE,
    DB_LINE_EXPIRED,
    DB_LINE_DISABLED,
    DB_LINE_BANNED,
    DB_LINE_TRIAL,
};

struct db_line_filter {
    enum db_line_status_filter status;
    int64_t now; /* the instant the status is computed at */
    bool has_expires_before, has_expires_after;
    int64_t expires_before; /* exp_date < this (lines with an expiry only) */
    int64_t expires_after;  /* exp_date > this (lines with an expiry only) */
    int64_t bouquet_id;     /* lines that have this bouquet; 0: any */
    int64_t owner_subtree;  /* lines owned by this reseller or its descendants; 0: any */
};

/* Sets the owner of line id (0: none, the admins' own line). -ENOENT. */
int db_line_set_owner(struct db *db, int64_t id, int64_t owner_id);
/* Gives every line owned by `from` to `to` (0: none). */
int db_line_move_owner(struct db *db, int64_t from, int64_t to);

/* The sort keys db_line_page accepts (API names), NULL-terminated. */
extern const char *const db_line_sort_keys[];

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
int db_line_get_id(struct db *db, int64_t id, struct db_line *out);

/* One page of the lines matching f and p->q (case-insensitive substring of
 * username or notes), sorted by p->sort (db_line_sort_keys; exp_date sorts
 * never-expiring lines after every date), ties by id; *total is the count
 * of every matching line. -EINVAL on an unknown sort key or a bad page. */
int db_line_page(struct db *db, const struct db_line_filter *f, const struct db_page *p,
                 struct db_line **out, size_t *n, int64_t *total);

/* Loads every line ordered by username. *out is an array of *n lines; free
 * with db_line_list_free(). */
int db_line_list(struct db *db, struct db_line **out, size_t *n);
void db_line_list_free(struct db_line *lines, size_t n);

/* Whether bouquet id exists: 0, -ENOENT (lines and plans name bouquets by
 * id in the admin API). */
int db_bouquet_id_exists(struct db *db, int64_t id);

/* Deletes a line (its bouquet links and devices cascade). -ENOENT if absent. */
int db_line_delete(struct db *db, const char *username);
int db_line_delete_id(struct db *db, int64_t id);

#endif
