/*
 * db/epg: every SQL statement of the EPG — sources, the import writer, the
 * automatic-mapping queries and the read-only programme reader.
 *
 * Tables (schema.c): epg_sources; epg_channels (one row per (source, XMLTV
 * channel id), with normalised name/id keys and a programme count);
 * epg_programmes (UTC start/stop, unique per (channel row, start)); the
 * automatic mapping is streams.epg_auto_id, used only while the stream has no
 * tvg-id of its own.
 * Invariants: a channel's guide comes from the enabled source with the
 * highest priority among those that have programmes for it (ties: lowest id).
 * Threading: one struct db / reader per thread.
 */
#ifndef XTREAMD_DB_EPG_H
#define XTREAMD_DB_EPG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct epg_programme;

struct db_epg_source {
    int64_t id;
    char *name, *url;
    int priority, refresh_hours;
    bool enabled;
    int64_t last_import, last_attempt; /* 0 = never */
    char *last_status;
    int64_t channels, programmes;
};

/* -EEXIST when the name is taken. */
int db_epg_source_add(struct db *db, const char *name, const char *url, int priority,
                      int refresh_hours, int64_t *id);
/* By name or decimal id; -ENOENT if none. Cascades to its channels/programmes. */
int db_epg_source_del(struct db *db, const char *name_or_id);
int db_epg_source_list(struct db *db, struct db_epg_source **out, size_t *n);
void db_epg_source_list_free(struct db_epg_source *s, size_t n);
/* -ENOENT if none; free with db_epg_source_list_free(out, 1). */
int db_epg_source_get(struct db *db, const char *name_or_id, struct db_epg_source **out);
/* Records an attempt: last_attempt = now, last_status = status, and on
 * success last_import = now. */
int db_epg_source_status(struct db *db, int64_t id, int64_t now, bool ok, const char *status);
/* Days of history to keep: the deepest tv_archive_days, at least EPG_KEEP_DAYS. */
int db_epg_keep_days(struct db *db);

/* ---- import writer (the caller owns the transaction) --------------------- */
struct db_epg_import;
int db_epg_import_begin(struct db *db, int64_t source_id, struct db_epg_import **out);
int db_epg_import_channel(struct db_epg_import *imp, const char *channel_id,
                          const char *display_name, const char *icon);
/* -ENOSPC past EPG_MAX_CHANNEL distinct channels. */
int db_epg_import_programme(struct db_epg_import *imp, const struct epg_programme *p);
/* Drops the source's programmes the document replaced (same channel, start at
 * or after the document's first programme of that channel) and future ones of
 * channels it no longer lists, prunes history older than keep_days, refreshes
 * counts. Does not commit. */
int db_epg_import_finish(struct db_epg_import *imp, int64_t now, int keep_days, int64_t *channels,
                         int64_t *programmes);
void db_epg_import_free(struct db_epg_import *imp);

/* ---- mapping ------------------------------------------------------------- */
struct db_epg_guide {
    char *channel_id, *display_name, *name_key, *id_key;
    int priority;
    int64_t programmes;
};
/* Channels with programmes in enabled sources, best priority first. */
int db_epg_guides(struct db *db, struct db_epg_guide **out, size_t *n);
void db_epg_guides_free(struct db_epg_guide *g, size_t n);

struct db_epg_stream {
    int64_t id;
    char *name;
    char *epg_channel_id; /* "" when none */
    char *epg_auto_id;    /* "" when none */
};
int db_epg_streams(struct db *db, struct db_epg_stream **out, size_t *n);
void db_epg_streams_free(struct db_epg_stream *s, size_t n);
/* auto_id NULL clears it. Only writes when it changes. */
int db_epg_set_auto(struct db *db, int64_t stream_id, const char *auto_id);

/* The guide channels the imports hold, for the panel's manual mapping: one
 * page ordered by channel id then source, of one source (source_id > 0) or
 * all, whose channel id or display name contains q (ASCII case-insensitive;
 * NULL: all). *total counts every match. */
struct db_epg_channel {
    int64_t source_id;
    char *source_name;
    char *channel_id;
    char *display_name;
    char *icon;
    int64_t programmes;
};
int db_epg_channel_page(struct db *db, int64_t source_id, const char *q, int64_t offset,
                        int64_t limit, struct db_epg_channel **out, size_t *n, int64_t *total);
void db_epg_channels_free(struct db_epg_channel *c, size_t n);

/* ---- reader (read-only connection) --------------------------------------- */
struct db_epg_reader;
struct db_epg_row {
    int64_t id, source_id, start, stop;
    const char *title, *sub_title, *desc, *category, *episode_num, *icon, *lang, *rating;
};
int db_epg_reader_open(const char *data_dir, struct db_epg_reader **out);
void db_epg_reader_close(struct db_epg_reader *r);
/* Selects the programmes of a guide channel id (best source) with
 * from <= start < to and stop > min_stop, by start, at most limit (<0: all).
 * -ENOENT when no source has programmes for the id. */
int db_epg_reader_select(struct db_epg_reader *r, const char *channel_id, int64_t from, int64_t to,
                         int64_t min_stop, int limit);
/* 1 with *row (valid until the next call), 0 at the end, <0 on error. */
int db_epg_reader_next(struct db_epg_reader *r, struct db_epg_row *row);
/* Ends the current selection (releases the read snapshot). */
void db_epg_reader_reset(struct db_epg_reader *r);

#endif
