/*
 * epg: the EPG server — XMLTV import into the database (the parsing, times
 * and name keys are xmltv/xmltv.h, a lower module that db/ uses too), the
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

#include "xmltv/xmltv.h" /* the model: limits, times, names, the parser */

struct db;
struct uv_loop_s;

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
/* Progress of a long job (the admin API's job runner): percent 0..100 and
 * the stage ("starting", "reading" | "downloading" (0..90, by bytes when the
 * size is known), "saving", "mapping", "done"). Called on the importing
 * thread, only when the percent or the stage changes. */
typedef void (*epg_progress_fn)(void *ctx, int percent, const char *stage);
/* epg_import_source with progress reports (progress may be NULL). */
int epg_import_source_progress(struct db *db, int64_t source_id, int64_t now,
                               struct epg_import_result *res, epg_progress_fn progress,
                               void *progress_ctx);
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
