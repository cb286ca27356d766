/*
 * archive: the TV archive (catch-up recording). Records the MPEG-TS chunks a
 * live channel publishes into its fan-out ring (no second pull, no loopback
 * HTTP) into append-only files, one per hour (UTC), cut into keyframe-aligned
 * segments with an index, and answers range lookups for the serving side
 * (timeshift TS and VOD HLS). Design: docs/internals/archive.md.
 *
 * Layout under the archive directory (default <data>/archive):
 *   <dir>/<stream_id>/<YYYYMMDDHH>.ts    the TS bytes of that UTC hour
 *   <dir>/<stream_id>/<YYYYMMDDHH>.idx   one fixed-size record per segment
 * (with a test-only file period shorter than an hour the stem is
 * <YYYYMMDDHH>-<MMSS>). A file always begins with a segment, a segment always
 * begins with a KEY chunk (PAT + PMT + keyframe), so every segment is
 * independently decodable, is a valid HLS media segment, and the bytes of
 * consecutive segments of one file concatenate into valid TS.
 *
 * Index record (ARCHIVE_RECORD_SIZE bytes, little-endian, see archive_idx_*):
 * utc_ms, pts, offset, length, duration_ms, flags, crc32 of the rest. A
 * record is appended only after its segment's bytes were written to the .ts,
 * so every valid record names bytes that exist. A crash leaves at most a torn
 * last record (short, or bad checksum) and unindexed bytes after the last
 * segment; readers ignore both, and the recorder truncates both before it
 * appends again after a restart.
 *
 * Threading:
 *  - archive_new/start/stop/free, archive_set_streams, archive_on_chunk,
 *    archive_stream_info, archive_write_json, archive_metrics: LOOP THREAD.
 *    archive_on_chunk never blocks and never touches the disk: it takes a
 *    refbuf reference and queues it to the writer thread (bounded by bytes;
 *    a full queue drops the chunk, counts it, and the stream's recording
 *    resumes at the next KEY chunk with a DISCONT segment: a gap, never a
 *    torn segment).
 *  - The writer thread owns the open files, writes, rotates, prunes
 *    (retention and quota) and retries after a full disk.
 *  - archive_lookup / archive_range_free: ANY THREAD, meant for the libuv
 *    thread pool (they read index files: never call them on the loop). They
 *    take the archive's mutex only to copy a small per-stream snapshot; the
 *    archive must outlive every call (archive_stop waits for nothing of the
 *    readers: stop serving before archive_free).
 *
 * Invariants: the index never names bytes that are not in the .ts; segments
 * of a stream are in time order across files; a pruned file disappears as a
 * whole (.idx first, then .ts) so a reader sees either both or a gap.
 */
#ifndef XTREAMD_ARCHIVE_ARCHIVE_H
#define XTREAMD_ARCHIVE_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "core/refbuf.h"

struct archive;
struct jsonw;

/* ---- settings ------------------------------------------------------------ */

struct archive_config {
    char dir[256];        /* archive root; "": "<data_dir>/archive" */
    const char *data_dir; /* used only to derive dir (borrowed) */
    uint64_t quota_bytes; /* global cap over every stream; 0: none (default 0) */
    unsigned segment_ms;  /* target segment duration, cut at the first KEY after (6000) */
    size_t queue_bytes;   /* writer queue bound (64 MiB) */
    unsigned retry_ms;    /* after disk_full/error, try again this often (10000) */
    unsigned prune_ms;    /* retention/quota pass this often (60000) */
    /* Test knobs (documented in docs/internals/archive.md, hidden from the
     * operator guide): the length of a retention "day" and of one file. */
    unsigned day_s;  /* (86400) */
    unsigned file_s; /* (3600); must divide 3600 */
};
void archive_config_defaults(struct archive_config *cfg);
/* One "key=value" (serve --archive KEY=VALUE / config group archive): dir, quota-mb,
 * segment-seconds, queue-mb, retry-seconds, prune-seconds, day-seconds,
 * file-seconds. -EINVAL for an unknown key or a bad value (cfg unchanged). */
int archive_config_set(struct archive_config *cfg, const char *kv);

/* ---- recorder lifecycle (loop thread) ------------------------------------- */

/* Creates the archive root (mode 0750) and starts the writer thread, which
 * scans existing files (repairing torn tails) before it records. */
int archive_new(uv_loop_t *loop, const struct archive_config *cfg, struct archive **out);
/* The streams to record and their retention: every stream with days > 0.
 * Replaces the previous set. A stream left out stops recording; its files
 * stay (readable, counted) until the quota needs their space or the operator
 * deletes them, so a mistaken edit loses nothing. Copies the array. */
struct archive_stream_cfg {
    int64_t stream_id;
    unsigned days; /* streams.tv_archive_days */
};
int archive_set_streams(struct archive *a, const struct archive_stream_cfg *list, size_t n);
/* Is stream_id to be recorded (the engine keeps such a channel running). */
bool archive_wants(const struct archive *a, int64_t stream_id);

/* The hook the live engine calls for every chunk it publishes into a ring of
 * a recorded stream. rb: a whole number of 188-byte packets; a reference is
 * taken (the caller keeps its own). flags: ARCHIVE_CHUNK_*. pts: first PTS
 * (90 kHz) or INT64_MIN. utc_ms: wall-clock time of the chunk (Unix ms).
 * Never blocks; returns 0, -ENOBUFS (queue full: dropped and counted),
 * -ENOENT (not recorded), -ENOMEM (counted as dropped). */
#define ARCHIVE_CHUNK_KEY     1u /* starts with PAT + PMT + keyframe */
#define ARCHIVE_CHUNK_DISCONT 2u /* first chunk after a restart / source switch */
int archive_on_chunk(struct archive *a, int64_t stream_id, struct refbuf *rb, uint32_t flags,
                     int64_t pts, int64_t utc_ms);
/* The channel stopped or failed: closes the current segment (it is indexed
 * as it is); the next chunk opens a new DISCONT segment. */
void archive_stream_break(struct archive *a, int64_t stream_id);

/* Flushes the queue, closes files, joins the writer thread (waits for the
 * disk: shutdown and hand-over only) and releases the folder's lock: one
 * recorder per archive folder (<dir>/.lock); a second one (a hand-over's new
 * server) records once the first let go. Chunks fed after stop are refused
 * (-ENOENT). Then archive_free. */
void archive_stop(struct archive *a);
void archive_free(struct archive *a);

/* ---- state and observability (loop thread) ------------------------------- */

enum archive_state {
    ARCHIVE_OFF,       /* not recorded (days 0 or not in the catalogue) */
    ARCHIVE_WAITING,   /* recorded, no data yet (channel starting) */
    ARCHIVE_RECORDING, /* writing */
    ARCHIVE_DISK_FULL, /* ENOSPC / EDQUOT: stopped, retried every retry_ms */
    ARCHIVE_ERROR,     /* any other I/O error: stopped, retried every retry_ms */
};
const char *archive_state_name(enum archive_state s); /* "off", "waiting", "recording", ... */

struct archive_stream_info {
    enum archive_state state;
    int err;           /* last error (-errno) when disk_full / error, else 0 */
    uint64_t bytes;    /* on disk for this stream */
    int64_t head_ms;   /* oldest archived time (Unix ms), 0: nothing archived */
    int64_t tail_ms;   /* end of the newest indexed segment, 0: nothing */
    unsigned days;     /* retention */
    uint64_t segments; /* indexed segments on disk */
    uint64_t dropped;  /* chunks dropped (queue full, no memory, disk full) */
};
/* -ENOENT if the archive knows nothing of stream_id (no files, not recorded). */
int archive_stream_info(struct archive *a, int64_t stream_id, struct archive_stream_info *out);
/* Adds "archive":{state, days, bytes, head, tail, segments, dropped, error}
 * to an open object (the admin channel JSON). Nothing if unknown. */
void archive_write_json(struct archive *a, int64_t stream_id, struct jsonw *w);
/* /metrics: xtreamd_archive_* series (global and per stream). */
void archive_metrics(struct archive *a, struct buf *out);

/* ---- reader (any thread; the serving side, on the thread pool) ----------- */

struct archive_span {
    uint32_t file;   /* index into archive_range.files */
    uint64_t offset; /* byte offset in that file */
    uint64_t length; /* bytes (whole TS packets; starts with PAT+PMT+keyframe) */
    int64_t utc_ms;  /* wall-clock start (Unix ms) */
    uint32_t duration_ms;
    int64_t pts;    /* first PTS (90 kHz), INT64_MIN unknown */
    uint32_t flags; /* ARCHIVE_CHUNK_DISCONT: a gap or restart before it */
};
struct archive_file {
    char path[256]; /* absolute path of the .ts */
    int fd;         /* open O_RDONLY|O_CLOEXEC, kept until archive_range_free
                       (so a file pruned meanwhile stays readable) */
};
struct archive_range {
    struct archive_span *spans; /* in time order */
    size_t n;
    struct archive_file *files;
    size_t nfiles;
    int64_t head_ms; /* oldest archived time of the stream now */
    int64_t tail_ms; /* end of the newest indexed segment now */
    bool recording;  /* the stream is being recorded (a range past tail grows) */
    bool complete;   /* the range ends before tail_ms: nothing more will come */
};

/*
 * The segments covering [start_ms, end_ms) (Unix ms, UTC) of stream_id, at
 * most max (0: 100000) of them.
 *  - The first span is the segment containing start_ms (its keyframe is at
 *    or before start_ms), or, when start_ms lies before the archive head or
 *    in a gap, the first segment after it (clamped; the caller compares
 *    spans[0].utc_ms with what it asked for).
 *  - With ARCHIVE_LOOKUP_AFTER, start_ms is exclusive of what was already
 *    served: only segments whose utc_ms >= start_ms come (how a caller
 *    follows a growing range: call again with start_ms = the previous last
 *    span's utc_ms + 1, or its end, when archive_tail_ms() has moved).
 *  - end_ms past tail_ms (a programme not over yet) returns what exists with
 *    complete = false; end_ms <= 0 means "up to now".
 * Returns 0 (n may be 0: nothing in range yet, see head/tail), -ENOENT (no
 * archive for stream_id), -ENOMEM, or -errno of the reads. Free with
 * archive_range_free (closes the fds).
 */
/* -EAGAIN: the recorder has not finished its start-up scan within 5 s (it
 * waits for another server's lock): try again later. */
#define ARCHIVE_LOOKUP_AFTER 1u
int archive_lookup(struct archive *a, int64_t stream_id, int64_t start_ms, int64_t end_ms,
                   size_t max, unsigned flags, struct archive_range *out);
void archive_range_free(struct archive_range *r);
/* Cheap (no disk, any thread): the end of the newest indexed segment of
 * stream_id, 0 if none. A serving loop polls it to know when to look up again. */
int64_t archive_tail_ms(struct archive *a, int64_t stream_id);

/* ---- index records (exposed for the unit tests and the fuzz target) ------ */

#define ARCHIVE_RECORD_SIZE 48
struct archive_idx_rec {
    int64_t utc_ms;
    int64_t pts;
    uint64_t offset;
    uint64_t length;
    uint32_t duration_ms;
    uint32_t flags;
};
void archive_idx_encode(const struct archive_idx_rec *r, uint8_t out[ARCHIVE_RECORD_SIZE]);
/* -EBADMSG on a bad checksum or impossible fields. */
int archive_idx_decode(const uint8_t in[ARCHIVE_RECORD_SIZE], struct archive_idx_rec *r);
/* Parses a whole index file's bytes: the valid records before the first
 * torn / corrupt one (*n), each checked against ts_size (offset + length must
 * fit; offsets strictly increasing). *valid_bytes: where a writer truncates. */
int archive_idx_parse(const uint8_t *data, size_t len, uint64_t ts_size,
                      struct archive_idx_rec **recs, size_t *n, size_t *valid_bytes);

#endif
