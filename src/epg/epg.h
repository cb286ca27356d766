/*
 * epg: the EPG server — XMLTV import (expat, streamed: constant memory
 * whatever the document size), time parsing, channel-name normalisation and
 * automatic mapping and the scheduled refresh inside the server. The guide
 * the client API reads is the snapshot's in-memory read model
 * (catalog/guide.h), built by the catalogue loader off the loop thread.
 *
 * Owns: the parser state of one import (epg_parser) and the server-side
 * refresh scheduler.
 * Invariants: every stored time is UTC Unix seconds; a source's guide is
 * replaced in one transaction or not at all; every element text, attribute
 * and nesting level is bounded (EPG_MAX_*), longer text is cut on a UTF-8
 * boundary.
 * Threading: the parser and importer run on any thread with their own struct
 * db; the scheduler is loop-thread only. All SQL is in
 * db/epg.c.
 */
#ifndef XTREAMD_EPG_EPG_H
#define XTREAMD_EPG_EPG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct uv_loop_s;

#define EPG_MAX_ID      256     /* channel id */
#define EPG_MAX_NAME    256     /* display-name */
#define EPG_MAX_URL     1024    /* icon src */
#define EPG_MAX_TITLE   512     /* title, sub-title */
#define EPG_MAX_DESC    8192    /* desc */
#define EPG_MAX_SHORT   128     /* category, episode-num, lang, rating */
#define EPG_MAX_DEPTH   32      /* element nesting */
#define EPG_NAME_KEY    256     /* normalised name buffer */
#define EPG_KEEP_DAYS   7       /* history kept when no channel has a deeper archive */
#define EPG_MAX_CHANNEL 200000  /* channels per source */
#define EPG_MAX_ATTR    65536   /* an attribute value; longer is an error */
#define EPG_MAX_TEXT    1048576 /* a kept element's text; longer is an error */
#define EPG_MAX_MARKUP  1048576 /* one tag/comment/PI still incomplete; longer is an error */
#define EPG_FEED_CHUNK  65536   /* bytes given to expat per call */

/* ---- time ---------------------------------------------------------------- */

/* Parses an XMLTV time "YYYYMMDDHHMMSS +HHMM" (also "YYYYMMDDHHMM", without
 * offset = UTC, offsets "+HH:MM", "Z", "UTC", "GMT") to Unix seconds UTC.
 * 0 or -EINVAL. */
int epg_parse_time(const char *s, size_t len, int64_t *out);
/* Unix seconds for a UTC civil date (proleptic Gregorian). */
int64_t epg_civil_to_unix(int y, int mon, int d, int h, int mi, int sec);
/* Formats t as "YYYYmmddHHMMSS +0000" (out: 21 bytes incl. NUL). */
void epg_format_xmltv_time(int64_t t, char out[21]);

/* ---- names --------------------------------------------------------------- */

/* Normalises a channel name for matching: lower case, Latin diacritics
 * folded, punctuation and spaces dropped, quality tokens (HD, FHD, UHD, 4K,
 * SD, HEVC, 720p, 1080p...) removed. Writes a NUL-terminated key (cut to
 * outlen-1); returns its length (0 for a name with nothing left). */
size_t epg_normalize_name(const char *name, char *out, size_t outlen);
/* The key of a channel id: its part before the first '.', normalised
 * ("BBCOne.uk" -> "bbcone"). */
size_t epg_normalize_id(const char *id, char *out, size_t outlen);

/* ---- parser (no database: the fuzzable layer) --------------------------- */

struct epg_channel {
    const char *id, *display_name, *icon;
};

struct epg_programme {
    const char *channel;
    int64_t start, stop; /* stop = 0 when absent (the importer fills it in) */
    const char *title, *sub_title, *desc, *category, *episode_num, *icon, *lang, *rating;
};

struct epg_parser_cb {
    /* Return 0 to continue, negative errno to stop the parse with that error. */
    int (*channel)(void *ud, const struct epg_channel *ch);
    int (*programme)(void *ud, const struct epg_programme *p);
    void *ud;
};

struct epg_parser;
int epg_parser_new(const struct epg_parser_cb *cb, struct epg_parser **out);
void epg_parser_free(struct epg_parser *p);
/* Feeds a piece of the document (final = true on the last one, len may be 0).
 * Returns 0, -EBADMSG for a malformed document (message via
 * epg_parser_error), or a callback's error. */
int epg_parser_feed(struct epg_parser *p, const void *data, size_t len, bool final);
/* "line L, column C: <reason>" for the last -EBADMSG. */
const char *epg_parser_error(const struct epg_parser *p);
/* Counters: programmes skipped because of missing/invalid attributes. */
size_t epg_parser_skipped(const struct epg_parser *p);

/* ---- import -------------------------------------------------------------- */

struct epg_import_result {
    int64_t channels, programmes, skipped, bytes;
    char error[256]; /* why it failed ("" on success) */
};

/* Imports one source (file path or http(s) URL; gzip detected by its magic)
 * into db in one transaction, then prunes history and refreshes the automatic
 * mapping. On failure the previous guide stays and the source's last_status
 * records the error. now: the clock (Unix seconds). */
int epg_import_source(struct db *db, int64_t source_id, int64_t now, struct epg_import_result *res);
/* Same, for a document already at hand (tests, fuzzing). */
int epg_import_memory(struct db *db, int64_t source_id, const void *data, size_t len, int64_t now,
                      struct epg_import_result *res);

/* Recomputes streams.epg_auto_id for streams without a tvg-id, in its own
 * transaction unless one is open (in_txn). Returns the number mapped or <0. */
int epg_automap(struct db *db, bool in_txn);

/* The demo guide: writes <data_dir>/demo-epg.xml for the demo channels
 * (tvg-ids ending in ".xtreamd"), registers it as source "demo" and imports
 * it. Idempotent. */
int epg_demo_seed(struct db *db, const char *data_dir, int64_t now);

/* ---- server -------------------------------------------------------------- */

/* Remembers the data directory for the read side and starts the refresh
 * scheduler (a timer; imports run on the libuv thread pool, one at a time). */
int epg_server_start(struct uv_loop_s *loop, const char *data_dir);
/* Stops the timer; an import in progress finishes on its worker. */
void epg_server_stop(void);
/* The data directory given to epg_server_start (NULL before). */
const char *epg_data_dir(void);

#endif
