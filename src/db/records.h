/*
 * db/records: one generic row access for the catalogue resources of the admin
 * API — streams, categories, bouquets, movies, series, episodes and EPG
 * sources — driven by a table description (struct db_table) that maps the
 * API's column names onto SQL columns or read-only expressions.
 *
 * Every query is a prepared statement with bound values; column names and
 * expressions come only from the static tables below, never from a caller
 * (sort keys and filters are API names looked up in the table: an unknown
 * one is -EINVAL). Lists return one page plus the total under the same
 * filter; ties are broken by id so pages are stable.
 * The special parts of a resource (a stream's ordered sources, a bouquet's
 * ordered items) have their own functions here too.
 * Strings of a struct db_rec read from the database are heap copies
 * (db_rec_free); strings of a record given for a write are borrowed.
 * Callers wrap writes in db_begin()/db_commit().
 * Threading: one thread at a time per struct db.
 */
#ifndef XTREAMD_DB_RECORDS_H
#define XTREAMD_DB_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/page.h"

struct db;

#define DB_REC_MAX_COLS 40

enum db_col_type {
    DB_COL_TEXT,  /* TEXT NOT NULL */
    DB_COL_NTEXT, /* nullable TEXT: "" is stored as NULL and read back as "" */
    DB_COL_INT,   /* INTEGER NOT NULL */
    DB_COL_NINT,  /* nullable INTEGER: 0 is stored as NULL (a year) */
    DB_COL_REF,   /* nullable reference to another row's id: 0 is NULL */
    DB_COL_BOOL,  /* INTEGER 0/1 */
    DB_COL_REAL,  /* REAL */
    DB_COL_TIME,  /* Unix seconds (nullable: 0); see auto_now */
    DB_COL_EXPR,  /* a computed INTEGER, read-only */
};

struct db_col {
    const char *name; /* the API name */
    const char *sql;  /* the column of the table (alias t), or the expression */
    enum db_col_type type;
    int auto_now; /* 1: set to now on insert; 2: on insert and update */
};

struct db_table {
    const char *table; /* the SQL table */
    const struct db_col *cols;
    size_t ncols;
    const char *search;          /* the SQL column `q` searches; NULL: none */
    const char *const *sortable; /* API names allowed as sort keys, NULL-terminated */
};

extern const struct db_table db_tbl_streams, db_tbl_categories, db_tbl_bouquets, db_tbl_movies,
    db_tbl_series, db_tbl_episodes, db_tbl_epg_sources;

struct db_val {
    const char *s; /* text; heap copy when read (db_rec_free), borrowed when written */
    int64_t i;     /* INT, NINT, REF, BOOL, TIME, EXPR */
    double r;      /* REAL */
};

struct db_rec {
    int64_t id;
    uint64_t set; /* writes: bit i = column i is given */
    struct db_val v[DB_REC_MAX_COLS];
};

/* The index of API column name in t, or -1. */
int db_col_index(const struct db_table *t, const char *name);

/* An equality filter on an API column: text when s is non-NULL, else i
 * (for REF/NINT, 0 matches NULL). */
struct db_eq {
    const char *name;
    int64_t i;
    const char *s;
};

int db_rec_get(struct db *db, const struct db_table *t, int64_t id, struct db_rec *out);
void db_rec_free(const struct db_table *t, struct db_rec *r);
void db_rec_free_all(const struct db_table *t, struct db_rec *r, size_t n);

/* One page (p->offset, p->limit, p->q on t->search, p->sort among
 * t->sortable, then id) of the rows matching every eq; *total counts them
 * all. -EINVAL on an unknown sort key or filter column. */
int db_rec_page(struct db *db, const struct db_table *t, const struct db_eq *eq, size_t neq,
                const struct db_page *p, struct db_rec **out, size_t *n, int64_t *total);

/* Inserts the columns in r->set (the others take their SQL defaults;
 * auto_now columns get now). -EEXIST on a unique conflict, -EINVAL on
 * another constraint (a missing reference, a CHECK). */
int db_rec_insert(struct db *db, const struct db_table *t, const struct db_rec *r, int64_t *id);
/* Updates the columns in r->set. -ENOENT when id does not exist. */
int db_rec_update(struct db *db, const struct db_table *t, int64_t id, const struct db_rec *r);
/* -ENOENT when id does not exist. */
int db_rec_delete(struct db *db, const struct db_table *t, int64_t id);
/* 0 when the row exists, -ENOENT when not. */
int db_rec_exists(struct db *db, const struct db_table *t, int64_t id);
/* max(column) + 1 over the rows matching eq (1 when none): the end of an order. */
int db_rec_next(struct db *db, const struct db_table *t, const char *col, const struct db_eq *eq,
                size_t neq, int64_t *out);

/* ---- a stream's ordered sources ------------------------------------------ */
int db_stream_sources_get(struct db *db, int64_t stream_id, char ***urls, size_t *n);
void db_stream_sources_free(char **urls, size_t n);
/* Replaces the whole list (positions 0..n-1). */
int db_stream_sources_set(struct db *db, int64_t stream_id, const char *const *urls, size_t n);

/* ---- a bouquet's ordered items ------------------------------------------- */
struct db_item {
    const char *kind; /* all | category | live | movie | series (static string when read) */
    int64_t id;       /* 0 for all */
};
int db_bouquet_items_get(struct db *db, int64_t bouquet_id, struct db_item **items, size_t *n);
/* Replaces the whole order. */
int db_bouquet_items_set(struct db *db, int64_t bouquet_id, const struct db_item *items, size_t n);

/* Removes every item of any bouquet that names (kind, id): the title or
 * category is gone. */
int db_bouquet_items_drop(struct db *db, const char *kind, int64_t id);

/* The sources of many streams (a page of the list) in a few queries, not one
 * per stream: urls[k], n[k] (db_stream_sources_free each) are ids[k]'s. On
 * error every entry is freed and set empty. */
int db_stream_sources_many(struct db *db, const int64_t *ids, size_t count, char ***urls,
                           size_t *n);

/* The items of many bouquets (one page of a list): the statement is
 * prepared once per page, not once per row. */
struct db_parts;
int db_parts_open(struct db *db, struct db_parts **out);
void db_parts_close(struct db_parts *p);
int db_parts_items(struct db_parts *p, int64_t bouquet_id, struct db_item **items, size_t *n);

/* ---- seasons ------------------------------------------------------------- */
/* Creates season number of a series when missing. */
int db_season_touch(struct db *db, int64_t series_id, int64_t number);
/* Deletes the seasons of a series that no episode uses any more. */
int db_season_prune(struct db *db, int64_t series_id);

#endif
