/*
 * vod/scan: library import — walks a folder tree of movies (`vod scan`) or of
 * shows (`series scan`), probes new and changed files with ffprobe on a
 * bounded pool of worker threads, reads Kodi .nfo sidecars and local artwork,
 * and writes the results in one transaction. Re-scans are incremental:
 * unchanged files (same size and mtime) are not re-probed; files no longer
 * found under the root are marked unavailable (metadata kept).
 *
 * Safety: every stored path is canonical (realpath) and inside the canonical
 * root; symlinks leading outside are skipped and reported.
 * Reporting: per-file problems go to `report` ("path: reason"), progress to
 * stderr when `progress` is set. Threading: call from one thread; it starts
 * and joins its own workers, which never touch the database.
 */
#ifndef XTREAMD_VOD_SCAN_H
#define XTREAMD_VOD_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct db;

#define VOD_SCAN_MAX_FILES 200000
#define VOD_SCAN_MAX_DEPTH 12
#define VOD_SCAN_MAX_JOBS  16

struct vod_scan_opts {
    const char *root;
    bool series;         /* a tree of show folders instead of movies */
    int64_t category_id; /* 0: none (existing items keep theirs) */
    int jobs;            /* parallel probes; <= 0: number of CPUs (max VOD_SCAN_MAX_JOBS) */
    bool progress;
    FILE *report;
    /* Progress for a job runner (the admin API), called on the scanning
     * thread: "walking" (0), "probing" (5..90 by files probed), "writing"
     * (92), "done" (100). NULL: none. */
    void (*on_progress)(void *ctx, int percent, const char *stage);
    void *progress_ctx;
};

struct vod_scan_stats {
    size_t files;     /* video files found */
    size_t added;     /* new rows */
    size_t updated;   /* re-probed (changed) files */
    size_t unchanged; /* skipped: same size and mtime */
    size_t failed;    /* unreadable / unprobeable, skipped */
    size_t missing;   /* marked unavailable */
    size_t shows;     /* series scans: show folders */
};

/* 0 when the walk and the database write succeeded (per-file failures are
 * counted, not fatal); -ENOENT/-ENOTDIR for a bad root, other -errno. */
int vod_scan(struct db *db, const struct vod_scan_opts *o, struct vod_scan_stats *stats);

#endif
