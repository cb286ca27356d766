/*
 * stream_priv: the live engine's internal objects, shared by channel.c
 * (ingest, chunking, failover, slate), hls.c (segmenter, playlists) and
 * live.c (engine, viewers, HTTP glue, admin, metrics). Nothing outside
 * src/stream/ includes this; the public face is stream/live.h.
 *
 * Object graph (all owned by struct live, loop thread only):
 *   live ─┬─ channels (hash by stream id) ─┬─ chunk ring (refbuf per chunk)
 *         │                                ├─ current ingest, primary probe
 *         │                                ├─ TS viewers (list)
 *         │                                └─ hls (only while HLS sessions exist)
 *         ├─ hls sessions (hash by token, and by line/channel/IP/UA)
 *         ├─ start buckets (per line and per IP: channel-start rate)
 *         ├─ spawn queue (channels waiting for their ffmpeg fork)
 *         └─ dying ingests (SIGTERM sent, waiting for exit + handle close)
 *
 * Invariants:
 *  - chunk bytes are immutable refbufs (atomic refcount): the ring, HLS
 *    segments and the HTTP write queues each hold their own reference, so a
 *    chunk outlives eviction while anyone still sends it;
 *  - every chunk is a whole number of 188-byte packets; a chunk with
 *    CHUNK_KEY starts with PAT, PMT and a keyframe;
 *  - the ring is bounded by bytes, age and entries, and never evicts the
 *    newest keyframe chunk;
 *  - a viewer holds no chunk reference, only a sequence number and offset;
 *  - only a channel that is not stopped holds a ring entry array and a stage
 *    buffer (freed at stop);
 *  - an ingest is freed only after its process exited and all three of its
 *    libuv handles (process, stdout, stderr) were closed.
 */
#ifndef XTREAMD_STREAM_STREAM_PRIV_H
#define XTREAMD_STREAM_STREAM_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "core/fdref.h"
#include "core/refbuf.h"
#include "media/profile.h"
#include "media/progress.h"
#include "media/ts.h"
#include "stream/live.h"

#define CHUNK_KEY     1u /* starts with PAT+PMT+keyframe */
#define CHUNK_DISCONT 2u /* first chunk after a restart / source switch */
#define CHUNK_SLATE   4u

#define CHUNK_TARGET_BYTES (64 * 1024)
#define CHUNK_MAX_MS       100
#define RING_ENTRIES       4096 /* power of two */
#define STDERR_LINES       50
#define PSI_HOLD_MAX       (4 * TS_PACKET_SIZE)
#define CC_PIDS            16 /* PIDs whose continuity counters a channel keeps */

struct chunk {
    struct refbuf *rb;
    uint64_t seq;
    uint32_t flags;
    uint32_t gen;
    int64_t pts;     /* first PTS (video if any), TS_PTS_NONE if none */
    int64_t pts_end; /* last PTS seen */
    uint64_t mono_ms;
    uint64_t foff; /* offset of its bytes in the ring's memfd, or CHUNK_NO_FOFF */
};

#define CHUNK_NO_FOFF UINT64_MAX
/* Bytes of a memfd kept behind the oldest chunk before they are punched, so
 * that a slice checked against fdref.gone on another thread is not punched
 * under its sendfile (see core/fdref.h). */
#define MEMFD_MARGIN (1u << 20)
/* Holes are punched in whole, aligned 2 MiB units: punching part of a large
 * shmem folio (shmem_enabled=always/force, or mTHP) may zero that part in
 * place, and the pages may still be in sockets' queues. */
#define MEMFD_PUNCH_UNIT (2u << 20)

struct chunk_ring {
    struct chunk *items; /* RING_ENTRIES, allocated at the first publish, freed at stop */
    uint64_t tail_seq;   /* oldest held */
    uint64_t head_seq;   /* next to publish; seq numbers start at 1 */
    size_t bytes;
    uint64_t last_key_seq; /* 0: none in the ring */
    /* live `write=sendfile`: every chunk's bytes also at chunk.foff in mf,
     * offsets growing from 0 for as long as the rendition runs; pages below
     * mf_punched are holes. NULL when off or at a stop. */
    struct fdref *mf;
    uint64_t mf_head, mf_punched;
};

enum channel_state { CH_STOPPED, CH_STARTING, CH_RUNNING, CH_FAILING, CH_SLATE };

/* Why a channel left a source (a bounded set: /metrics labels). */
enum switch_cause {
    CAUSE_EXIT,        /* ffmpeg exited or was killed (not by us) */
    CAUSE_REFUSED,     /* "Connection refused" */
    CAUSE_HTTP_4XX,    /* "Server returned 4XX" / "HTTP error 4xx" */
    CAUSE_HTTP_5XX,    /* "Server returned 5XX" / "HTTP error 5xx" */
    CAUSE_NOT_FOUND,   /* "No such file or directory" */
    CAUSE_UNREACHABLE, /* no route, unknown host, connect timeout */
    CAUSE_BAD_INPUT,   /* "Invalid data found when processing input" */
    CAUSE_NO_INPUT,    /* no output byte within probe-timeout (probe phase) */
    CAUSE_STALL,       /* a running source silent for watchdog */
    CAUSE_SPAWN,       /* ffmpeg could not be started */
    CAUSE_FAILBACK,    /* back to the primary after primary-healthy */
    CAUSE_COUNT
};
const char *switch_cause_name(unsigned cause);

#define SWITCH_HISTORY 16 /* switches remembered per channel */
#define HEALTH_SOURCES 8  /* sources whose background-check result a channel keeps */

struct source_switch {
    uint64_t wall_ms; /* Unix time of the decision */
    uint64_t at_ms;   /* loop time of the decision */
    int from, to;
    unsigned cause;
    int64_t detect_ms; /* last byte of the old source → decision (failback: healthy time) */
    int64_t took_ms;   /* decision → first keyframe of the new source (-1: not yet) */
};

struct channel;
struct ingest;

/* A ladder's rendition i > 0 comes out of the same ffmpeg on fd 2 + i
 * (media/ladder.h): its pipe and its own packet reader. */
struct ingest_x {
    struct ingest *ing;
    int rend;
    uv_pipe_t pipe;
    struct ts_reader ts;
};

struct ingest {
    struct live *live;
    struct channel *ch; /* NULL once detached (dying) */
    uv_process_t proc;
    uv_pipe_t out, err;
    int open_handles;
    bool exited, stopping, probe;
    bool check;      /* background check of a backup source: output discarded */
    bool standby;    /* a check kept running (current source stalled): adopted at a switch */
    bool got_output; /* first byte read: the probe phase is over */
    int cause;       /* classified stderr error (enum switch_cause), -1: none */
    uint64_t first_key_ms;
    int64_t exit_status;
    int term_signal;
    int source_idx;
    uint64_t started_ms, last_data_ms, term_sent_ms;
    uint64_t bytes;
    bool got_key;
    uint32_t origin; /* ch->origin_seq value naming this ingest's packets (see cc_out) */
    struct ts_reader ts;
    struct ffprogress progress; /* ffmpeg's -progress blocks on stderr */
    char errline[256];
    size_t errlen;
    int nx; /* ladder renditions 1.. on x[0..nx): their pipes count in open_handles */
    struct ingest_x x[LADDER_MAX - 1];
    struct ingest *next_dying;
};

struct live_viewer; /* live.c */
struct pl_wait;     /* live.c */
struct hls;         /* hls.c */

struct channel {
    struct live *live;
    /* ABR ladder (profile with renditions): rendition 0 is this channel's
     * own ring; rendition i > 0 is sub[i - 1], a channel object of which only
     * the chunking state (stage, psi_hold, need_key, cc_out, ring), hls and
     * rate fields are used, fed by this channel's ingest (fd 2 + i). A
     * sub's parent is the channel; its viewers, sessions, state and sources
     * are the parent's. */
    struct channel *parent;
    int rend;
    struct channel *sub[LADDER_MAX - 1];
    int nsub;
    struct hls_grid *grid; /* the ladder's segment grid, shared by every rendition's hls */
    struct channel *hnext; /* hash chain */
    int64_t id;
    char name[128];
    char **sources;
    size_t source_count;
    bool always_on; /* the catalogue's always_on, or archived (kept running to record) */
    bool archived;  /* every published chunk goes to the archive recorder */
    bool arch_gap;  /* slate or stop since the last recorded chunk: the recorder was told */
    bool known;     /* in the current catalogue */
    enum channel_state state;
    int cur_source;
    struct ingest *ing;   /* the ingest feeding the ring */
    struct ingest *probe; /* primary probe while on a backup source */
    int failures;         /* consecutive failures of cur_source */
    int dead_sources;     /* sources that failed in a row (slate when all) */
    uint64_t retry_at_ms; /* restart pending at this time (0: none) */
    uint64_t next_probe_ms;
    struct ingest *check; /* background check of a backup source */
    uint64_t next_check_ms;
    int check_next; /* the source the next check looks at */
    struct {
        uint64_t ok_ms, bad_ms; /* last check that found it alive / dead */
    } health[HEALTH_SOURCES];
    /* switches: the last SWITCH_HISTORY, newest at sw[(sw_next - 1) % N] */
    struct source_switch sw[SWITCH_HISTORY];
    size_t sw_next, sw_n;
    bool sw_pending; /* the newest switch waits for the new source's first keyframe */
    uint64_t switches[CAUSE_COUNT];
    uint64_t checks_ok, checks_bad;
    uint32_t gen;
    bool need_key, pending_discont;
    /* the chunk being built */
    struct buf stage;
    uint32_t stage_flags;
    int64_t stage_pts, stage_pts_end;
    uint64_t stage_start_ms;
    uint8_t psi_hold[PSI_HOLD_MAX];
    size_t psi_hold_len;
    struct chunk_ring ring;
    /* viewers */
    struct live_viewer *viewers;
    size_t viewer_count;
    /* TS viewers moved to the other I/O loops (serve --loops N), at k-1 for
     * loop k: a loop with viewers of the channel gets each published chunk
     * (live.c, fan-out). Loop 0 only. */
    uint32_t fan_viewers[LIVE_MAX_LOOPS - 1];
    uint32_t fan_total;
    /* write-interval: when this channel's (or rendition's) loop-0 viewers were last woken,
     * and whether chunks published since wait for the next batch (live.c, viewers_due) */
    uint64_t woken_ms;
    bool wake_pending;
    size_t hls_sessions;
    struct hls *hls;
    uint64_t idle_since_ms; /* 0: not idle */
    struct pl_wait *waits;  /* HLS playlist requests waiting for the first segment */
    bool start_pending;     /* holds one of the engine's starting slots (max-starting) */
    bool delivered;         /* bytes went to a viewer since the start */
    bool spawn_queued;      /* on the engine's spawn queue */
    struct channel *spawn_next;
    /* slate */
    size_t slate_pos; /* next slate chunk index */
    uint64_t slate_next_ms;
    int64_t slate_offset; /* PTS offset of the current loop */
    struct {
        uint16_t pid;
        uint8_t cc;
    } slate_cc[8]; /* continuity counters carried across loops */
    size_t slate_cc_n;
    /* Continuity counters as viewers see them: per PID the last counter
     * published and the offset added to the ingest's own; re-based at the
     * first packet of each PID once the published packets come from another
     * origin (restart, failover, failback, slate, or a source resuming after
     * packets were dropped), so a switch never shows viewers a CC jump. */
    struct {
        uint16_t pid;
        uint8_t last, add;
        uint32_t epoch;
    } cc_out[CC_PIDS];
    size_t cc_out_n;
    uint32_t cc_epoch;
    uint32_t origin_seq;   /* last origin handed out */
    uint32_t stage_origin; /* origin of the packets in the stage */
    uint32_t cc_origin;    /* origin of the last published packets */
    uint32_t slate_origin;
    uint64_t cc_untracked; /* packets of PIDs beyond CC_PIDS, left as they came */
    /* stats */
    uint64_t started_ms, running_since_ms, restarts, failovers;
    uint64_t bytes_in, bytes_out, skips, viewers_total;
    uint64_t chunks_dropped; /* chunks lost for want of memory */
    uint64_t mf_errors;      /* memfd create/write/punch failures (chunk sent by copy) */
    uint64_t mf_fallbacks;   /* of released memfds: slices sent by copy (bytes already gone) */
    uint64_t mf_sent;        /* of released memfds: bytes sent with sendfile */
    uint64_t rate_bytes, rate_t0_ms;
    double bitrate_bps;
    char codecs[64];
    /* transcoding: the catalogue's profile (has_profile false: copy) and
     * what the last spawn rendered; tx_fallback: the profile asks for a
     * hardware backend this machine lacks, software encodes instead */
    bool has_profile;
    struct tx_profile profile;
    bool tx_fallback;
    enum tx_hw tx_hw;
    char tx_encoder[24];
    uint64_t tx_fallbacks; /* spawns that fell back to software */
    /* the feeding ingest's last whole -progress block, and when it came */
    struct ffprogress_values progress;
    uint64_t progress_ms;
    char *errlines[STDERR_LINES];
    size_t err_next;
};

/* ---- channel.c ---- */
struct channel *channel_new(struct live *live, int64_t id);
void channel_free(struct channel *ch);
/* Copies name/sources/always_on/profile (NULL: copy) from the catalogue
 * entry; > 0 when the sources or the profile changed (a restart applies it). */
int channel_configure(struct channel *ch, const char *name, const char *const *sources,
                      size_t source_count, bool always_on, const struct tx_profile *profile);
void channel_start(struct channel *ch);
void channel_stop(struct channel *ch);
void channel_restart(struct channel *ch);
/* The spawn queue's turn for this channel: start its current source now. */
void channel_spawn_queued(struct channel *ch);
/* Periodic work: watchdog, backoff restarts, primary probes, slate pacing. */
void channel_tick(struct channel *ch, uint64_t now_ms);
const char *channel_state_name(enum channel_state s);
const struct chunk *channel_chunk(const struct channel *ch, uint64_t seq);
/* A dying ingest: SIGKILL once the SIGTERM grace has passed. */
void channel_reap_one(struct ingest *ing, uint64_t now_ms);

/* Rendition i of ch (0: ch itself), NULL when it has no such rendition. */
struct channel *channel_rend(struct channel *ch, int i);
/* Per-rendition chunking state after a (re)start, switch or slate entry:
 * every sub-rendition waits for its own next keyframe. */
void channel_rends_reset(struct channel *ch);

/* ---- hls.c ---- */
/* The segment grid of a channel (a ladder's is shared by every rendition):
 * every segmenter cuts at the keyframe where
 * cell = floor((T + gop/2) / step) changes and numbers the segment
 * cell + bias, T being the keyframe's PTS on an absolute time line (the
 * 33-bit PTS unwrapped to the value nearest the wall clock at the anchor,
 * then followed across wraps). Cuts and numbers therefore depend only on the
 * stream's timestamps: renditions of one ffmpeg, read in any order, and
 * nodes reading the same stream, started whenever, publish the same
 * segments under the same numbers. The first rendition to see a keyframe
 * of a new generation (or a PTS going back, or a discontinuity) anchors it;
 * the others find it set. bias is 0 unless the new time line starts behind
 * the numbers used (a switch to another source's clock, the slate): then
 * numbers continue from the last (node-local from there). */
struct hls_grid {
    bool set;
    uint32_t gen;
    int64_t anchor_pts; /* the keyframe that anchored */
    int64_t ref_pts;    /* the newest keyframe's 33-bit PTS ... */
    int64_t ref_u;      /* ... and its absolute time (90 kHz) */
    int64_t bias;       /* added to cells so that numbers never go back */
    uint64_t next;      /* one past the highest sequence number opened */
    uint64_t rebased;   /* anchors that needed a bias */
    unsigned step_ms, gop_ms;
    int64_t wall_s; /* unit tests: the wall clock (0: time()) */
};
struct hls *hls_new(unsigned target_ms, struct hls_grid *grid);
void hls_free(struct hls *h);
void hls_on_chunk(struct hls *h, const struct chunk *c);
/* Renders the playlist with segment URLs "/hls/<token>/<seq>.ts", or
 * "/hls/<token>/<rend>_<seq>.ts" for a ladder's rendition (rend >= 0). */
int hls_render(const struct hls *h, const char *token, int rend, struct buf *out);
size_t hls_segment_count(const struct hls *h);
/* The segment's chunks (refbufs) to send, NULL if unknown or evicted. */
struct refbuf *const *hls_segment(const struct hls *h, uint64_t seq, size_t *n, size_t *bytes);

/* ---- live.c (called by channel.c) ---- */
uv_loop_t *live_loop(struct live *live);
const struct live_config *live_cfg(const struct live *live);
uint64_t live_now_ms(const struct live *live);
void live_add_dying(struct live *live, struct ingest *ing);
void live_remove_dying(struct live *live, struct ingest *ing);
/* A chunk was published: feed HLS, wake viewers. */
void live_on_publish(struct channel *ch, const struct chunk *c);
/* Queue the channel's ingest spawn (one per loop iteration); unqueue on stop. */
void live_queue_spawn(struct channel *ch);
void live_unqueue_spawn(struct channel *ch);
/* The channel stopped (channel_stop): releases its starting slot. */
void live_channel_stopped(struct channel *ch);
/* argv[0..n) to run `program args...` as a child that dies with the server
 * (see live_child_main); returns the new argc. */
int live_child_argv(struct live *live, const char **argv, int max);
/* The environment of ffmpeg children (carries the owner marker). */
char **live_child_env(struct live *live);
/* Hardware encoder backends found at start (bit 1 << TX_HW_x). */
unsigned live_hw_available(const struct live *live);
/* A channel's spawn rendered software for a missing hardware backend. */
void live_count_tx_fallback(struct live *live);
/* The slate clip as chunks (NULL until generated). */
const struct chunk *live_slate(struct live *live, size_t *n, int64_t *loop_pts);

#endif
