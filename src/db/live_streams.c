/*
 * db/live_streams: see live_streams.h. Every statement is parameterised.
 */
#include "db/live_streams.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_sqlite.h"

static int fill_source(void *ctx, sqlite3_stmt *st, void *row)
{
    (void)ctx;
    char **url = row;
    *url = db_col_strdup(st, 0);
    return *url ? 0 : -ENOMEM;
}

/* A failed step is an error, never a shorter source list. */
static int load_sources(struct db *db, struct db_live_stream *s)
{
    sqlite3_stmt *st;
    if (db_prepare(db, "SELECT url FROM stream_sources WHERE stream_id = ?1 ORDER BY position",
                   &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, s->id);
    void *rows = NULL;
    int rc = db_step_rows(db, st, "stream sources", sizeof(char *), 4, fill_source, NULL, &rows,
                          &s->source_count);
    s->sources = rows; /* freed with the stream, also when rc != 0 */
    sqlite3_finalize(st);
    return rc;
}

static const char SELECT_STREAM[] =
    "SELECT s.id, s.name, coalesce(c.name, ''), coalesce(s.epg_channel_id, ''), s.logo,"
    " s.always_on, s.enabled FROM streams s LEFT JOIN categories c ON c.id = s.category_id";

static int fill(struct db *db, sqlite3_stmt *st, struct db_live_stream *s)
{
    memset(s, 0, sizeof(*s));
    s->id = sqlite3_column_int64(st, 0);
    s->name = db_col_strdup(st, 1);
    s->category = db_col_strdup(st, 2);
    s->epg_id = db_col_strdup(st, 3);
    s->logo = db_col_strdup(st, 4);
    s->always_on = sqlite3_column_int(st, 5) != 0;
    s->enabled = sqlite3_column_int(st, 6) != 0;
    if (!s->name || !s->category || !s->epg_id || !s->logo)
        return -ENOMEM;
    return load_sources(db, s);
}

void db_live_stream_free(struct db_live_stream *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->category);
    free(s->epg_id);
    free(s->logo);
    for (size_t i = 0; i < s->source_count; i++)
        free(s->sources[i]);
    free(s->sources);
    memset(s, 0, sizeof(*s));
}

static int fill_row(void *ctx, sqlite3_stmt *st, void *row)
{
    return fill(ctx, st, row);
}

void db_live_stream_free_all(struct db_live_stream *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        db_live_stream_free(&s[i]);
    free(s);
}

int db_live_stream_list(struct db *db, struct db_live_stream **out, size_t *n)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "%s ORDER BY s.sort_order, s.id", SELECT_STREAM);
    sqlite3_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    void *arr = NULL;
    size_t count = 0;
    int rc = db_step_rows(db, st, "streams", sizeof(struct db_live_stream), 16, fill_row, db, &arr,
                          &count);
    sqlite3_finalize(st);
    if (rc) {
        db_live_stream_free_all(arr, count);
        return rc;
    }
    *out = arr;
    *n = count;
    return 0;
}

int db_live_stream_get(struct db *db, int64_t id, struct db_live_stream *out)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "%s WHERE s.id = ?1", SELECT_STREAM);
    sqlite3_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rc = fill(db, st, out);
        if (rc)
            db_live_stream_free(out);
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : db_step_error(db, rc, "stream");
    }
    sqlite3_finalize(st);
    return rc;
}

static int exec_bound(struct db *db, const char *sql, int64_t id, const char *text, int64_t num,
                      int kind)
{
    sqlite3_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    if (kind == 1)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    else if (kind == 2)
        sqlite3_bind_int64(st, 1, num);
    else if (kind == 3)
        sqlite3_bind_null(st, 1);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int db_live_stream_update(struct db *db, int64_t id, const struct db_live_stream_set *s)
{
    struct db_live_stream cur;
    int rc = db_live_stream_get(db, id, &cur);
    if (rc)
        return rc;
    db_live_stream_free(&cur);
    if (s->name &&
        (rc = exec_bound(db, "UPDATE streams SET name = ?1 WHERE id = ?2", id, s->name, 0, 1)))
        return rc;
    if (s->epg_id &&
        (rc = exec_bound(db, "UPDATE streams SET epg_channel_id = nullif(?1, '') WHERE id = ?2", id,
                         s->epg_id, 0, 1)))
        return rc;
    if (s->logo &&
        (rc = exec_bound(db, "UPDATE streams SET logo = ?1 WHERE id = ?2", id, s->logo, 0, 1)))
        return rc;
    if (s->category_id >= 0 &&
        (rc = exec_bound(db, "UPDATE streams SET category_id = ?1 WHERE id = ?2", id, NULL,
                         s->category_id, s->category_id ? 2 : 3)))
        return rc;
    if (s->always_on >= 0 && (rc = exec_bound(db, "UPDATE streams SET always_on = ?1 WHERE id = ?2",
                                              id, NULL, s->always_on, 2)))
        return rc;
    if (s->source_count) {
        if ((rc = exec_bound(db, "DELETE FROM stream_sources WHERE ?1 IS NULL AND stream_id = ?2",
                             id, NULL, 0, 3)))
            return rc;
        for (size_t i = 0; i < s->source_count; i++) {
            sqlite3_stmt *st;
            if (db_prepare(db,
                           "INSERT INTO stream_sources (stream_id, position, url)"
                           " VALUES (?1, ?2, ?3)",
                           &st))
                return -EIO;
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, (int64_t)i);
            sqlite3_bind_text(st, 3, s->sources[i], -1, SQLITE_STATIC);
            int step = sqlite3_step(st);
            sqlite3_finalize(st);
            if (step != SQLITE_DONE)
                return -EIO;
        }
    }
    return 0;
}

int db_live_stream_delete(struct db *db, int64_t id)
{
    sqlite3_stmt *st;
    if (db_prepare(db, "DELETE FROM streams WHERE id = ?1", &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -EIO;
    return sqlite3_changes(db->sql) ? 0 : -ENOENT;
}
