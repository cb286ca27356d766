/*
 * live: the live streaming engine — one ffmpeg pull per running channel, cut
 * into immutable refcounted MPEG-TS chunks at keyframes, fanned out to TS
 * viewers (a cursor per viewer into the channel's chunk ring, written with
 * zero-copy refbuf slices) and to HLS sessions (in-memory segments that are
 * lists of the same chunks). Design: docs/internals/live.md.
 *
 * Owns channels, their ffmpeg children, TS viewers and HLS sessions. Borrows
 * the connection registry (auth/connections.h), into which it registers
 * every viewer and session for max_connections and active_cons.
 * Lifecycle: live_new() → live_set_catalog() on every snapshot → live_stop()
 * (ends viewers, terminates children; done() once every child exited and
 * every handle closed) → live_free() after the loop returned.
 * Threading: loop thread only. Chunks are refbufs with atomic counts so that
 * further I/O loops can send them later.
 */
#ifndef XTREAMD_STREAM_LIVE_H
#define XTREAMD_STREAM_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "catalog/catalog.h"
#include "core/buf.h"
#include "http/http.h"

struct conn_registry;
struct live;
struct http_server;
struct http_server_config;

#define LIVE_MAX_LOOPS 16 /* serve --loops N: at most this many I/O loops */

struct live_config {
    const char *ffmpeg;        /* program (default "ffmpeg") */
    unsigned idle_ms;          /* stop a channel this long after its last viewer (30000) */
    unsigned watchdog_ms;      /* a running source silent this long has failed (3000) */
    unsigned probe_timeout_ms; /* ffmpeg opening its input: first output byte due within (10000) */
    unsigned primary_healthy_ms; /* on a backup: fail back once the primary delivered this long
                                    (10000) */
    unsigned backup_check_ms;    /* check one backup source in the background this often; 0 off
                                    (60000) */
    unsigned failover_after;     /* failures of a source before the next one is tried (1); a hard
                                    failure (exit, refused, HTTP error, stall) switches at once */
    unsigned primary_retry_ms;   /* on a backup, probe the primary this often (30000) */
    unsigned slow_lag_ms;        /* a viewer this far behind live is slow (3000) */
    unsigned slow_grace_ms;      /* ... for this long: skipped to the newest keyframe (2000) */
    unsigned max_skips;          /* more skips than this within 60 s: disconnected (3) */
    unsigned no_progress_ms;     /* no bytes accepted for this long: disconnected (20000) */
    unsigned hls_segment_ms;     /* HLS target segment duration (4000) */
    unsigned hls_session_ms;     /* an HLS session without requests ends after (60000) */
    unsigned ring_ms;            /* chunk ring keeps this much (30000) */
    size_t ring_bytes;           /* ... and at most this many bytes (32 MiB) */
    unsigned line_check_ms;      /* re-validate viewers' lines this often (10000) */
    unsigned stall_slate_ms; /* a running source silent this long: slate until it is back (2000) */
    /* Channel starts by viewers: a token bucket per line and per client IP
     * (start_burst at once, refilled at start_rate per minute; 429 beyond),
     * and at most max_starting channels waiting for their first keyframe
     * (503 beyond). Joining a running channel is never limited. */
    unsigned start_burst;  /* (6) */
    unsigned start_rate;   /* per minute (20) */
    unsigned max_starting; /* (16) */
    unsigned registry_max; /* bound of the connection registry (65536) */
    /* cluster: overloaded above this per cent of a cap of the node (its max_sessions or
     * max_egress_mbps), back below it minus CLUSTER_OVERLOAD_HYSTERESIS_PCT; 0 off (100) */
    unsigned overload_pct;
    /* How TS viewers' bytes reach the kernel (`write=copy|sendfile`): false
     * (sendfile, the default) keeps each rendition's chunks also in a memfd
     * at their stream offsets and sends plain-TCP viewers' slices with
     * sendfile(2); true (copy) sends every slice with writev from the chunks'
     * refbufs. HLS and TLS always use the refbufs. */
    bool write_copy;
    /* TS viewers are written at most this often (`write-interval`, 500 ms; 0: at every
     * chunk, about every 100 ms): a batch of chunks goes out in one sendfile, and the
     * kernel's cost of a send (waking the reader, queuing and freeing its buffers) is per
     * send, not per byte. Adds up to this much latency; HLS is not affected. */
    unsigned write_interval_ms;
    const char *data_dir; /* marks ffmpeg children (orphans of a previous run are reaped) */
};

void live_config_defaults(struct live_config *cfg);
/* `xtreamd __child PPID PROGRAM ARGS...`: the wrapper every ffmpeg child is
 * started through. Sets PR_SET_PDEATHSIG (SIGKILL), then exits at once if
 * its parent is no longer PPID (the server died between fork and prctl),
 * else execs PROGRAM. Returns only on failure (exit status). */
int live_child_main(int argc, char **argv);
/* Sets one tuning knob from "key=value" (seconds for durations; see
 * docs/operator-guide.md). -EINVAL for an unknown key or a bad value. */
int live_config_set(struct live_config *cfg, const char *kv);
/* The I-th tunable of live_config_set as KEY and its value in the same units
 * ("watchdog", "3"); -ENOENT past the last. For `xtreamd config show`. */
int live_config_get(const struct live_config *cfg, size_t i, const char **key, char *val,
                    size_t len);
/* Adopts new tunables at run time (SIGHUP); ffmpeg, data_dir and
 * registry_max keep the values live_new was given. Loop thread. */
void live_reconfigure(struct live *live, const struct live_config *cfg);

/* <data>/serve.json (mode 0600): {"pid", "host", "port", "admin", "token"}
 * for the CLI's channel and connections commands, token being the per-run
 * secret the admin API takes as the local CLI; removed at a clean exit. */
/* serve.json tells the CLI where the running server is. A second server on
 * the same data directory leaves a running first one's file alone (-EEXIST):
 * the CLI keeps talking to the first. */
int live_write_state_file(const char *data_dir, const char *host, int port, const char *token);
/* take_over: written even though a live process owns it (the server this
 * one took the listeners from, cli/handover.h). */
int live_write_state_file_ex(const char *data_dir, const char *host, int port, const char *token,
                             int take_over);
void live_remove_state_file(const char *data_dir);

int live_new(uv_loop_t *loop, const struct live_config *cfg, struct conn_registry *reg,
             struct live **out);
/* Adopts a new catalogue snapshot: channel definitions, always-on starts, and
 * cuts viewers whose line is gone, disabled, banned or expired. */
void live_set_catalog(struct live *live, struct catalog *c);
/* serve --loops N (docs/internals/core.md "Several I/O loops"): starts N-1
 * more I/O loops, each a thread with its own uv loop and a worker http
 * server (wcfg, worker = 1), and from now on moves every plain-TCP TS viewer
 * of a channel's top rendition to the loop with the fewest viewers once its
 * response head is queued. Loop 0 (this one) keeps accepting, parsing,
 * auth, the registry and everything else. main gets the workers' counters.
 * Loop thread, before serving; live_stop stops them, live_free joins them.
 * -EINVAL: n outside 1..LIVE_MAX_LOOPS; else what starting a loop failed of
 * (the loops already started keep serving). */
int live_start_loops(struct live *live, unsigned n, const struct http_server_config *wcfg,
                     struct http_server *main_srv, unsigned stop_grace_ms);
/* TS viewers on loops 1..N-1 now (a hand-over's drain waits for them). */
size_t live_moved_viewers(const struct live *live);
void live_stop(struct live *live, void (*done)(void *ud), void *ud);
/* After loop 0 stopped (live_stop done): waits until the other loops have ended —
 * their in-flight responses get their stop grace — and joins them. Before the
 * handlers' state is freed: those loops answer requests with it (serve.c). Idempotent;
 * live_free does it too. */
void live_join_loops(struct live *live);
/* Loops 1..N-1 whose HTTP server has not finished stopping yet (after live_stop:
 * requests they accepted still being answered, within their stop grace). Loop 0. */
size_t live_loops_serving(const struct live *live);
void live_free(struct live *live);
/* The TV archive recorder (archive/archive.h, borrowed; NULL: none): streams
 * with tv_archive_days > 0 are kept running and their chunks recorded.
 * Call before the first live_set_catalog. */
struct archive;
void live_set_archive(struct live *live, struct archive *a);
struct archive *live_archive(struct live *live);

/* This node in a cluster (cluster/node.h, borrowed; NULL: standalone). With it, a stream's
 * placements (cat_stream.placements) decide where it starts and where it is pulled from
 * (docs/internals/live.md §Origin–edge). */
struct cluster;
void live_set_cluster(struct live *live, struct cluster *c);
struct cluster *live_cluster(struct live *live);
/* The signed request headers of an origin pull of stream_id by this node ("Name: value\r\n"
 * lines for ffmpeg's -headers): node id, Unix time, Ed25519 signature (cluster_node_sign) of
 * "xtreamd-origin\n<stream>\n<node>\n<time>". */
int live_origin_headers(struct live *live, int64_t stream_id, char *out, size_t len);
/* The node is fenced: every TS viewer (not other nodes' origin pulls) is closed before its next
 * keyframe chunk (never mid-GOP), or cut after deadline_ms; its reconnect goes to the main. The
 * number of viewers told. */
size_t live_move_ts_viewers(struct live *live, unsigned deadline_ms);
/* GET /cluster/origin/ID.ts by node_id (its signature verified by the caller): the channel's
 * TS as a viewer gets it, under the pseudo-line of that node. */
void live_serve_origin(struct live *live, const struct cat_stream *s, int64_t node_id,
                       struct http_request *req, struct http_response *res);

/* Stream handlers (after authentication and the output/bouquet checks). */
void live_serve_ts(struct live *live, const struct cat_stream *s, const struct cat_line *line,
                   struct http_request *req, struct http_response *res);
void live_serve_m3u8(struct live *live, const struct cat_stream *s, const struct cat_line *line,
                     struct http_request *req, struct http_response *res);
/* The connection-registry handle of the HLS session this request's viewer (line, stream, IP,
 * user agent) holds here, 0 when none: the cluster's main keeps serving a refreshing HLS
 * viewer it admitted without admitting each playlist request again (api/cluster.c). */
uint64_t live_hls_session_of(struct live *live, int64_t stream_id, const struct cat_line *line,
                             struct http_request *req);
/* GET /hls/TOKEN/SEQ.ts */
void live_serve_segment(struct live *live, const char *token, const char *seg,
                        struct http_request *req, struct http_response *res);
/*
 * Admin views and commands (the admin API's streams, channels and sessions
 * resources call these in their loop-thread phase). Loop thread only.
 */
struct jsonw;
/* Every channel the engine knows (started at least once), as JSON objects
 * (id, name, state, viewers, input_kbps ...), into an open array. */
void live_write_channels(struct live *live, struct jsonw *w, int64_t offset, int64_t limit,
                         int64_t *total);
/* One stream's live state, with its sources, the last lines of the ffmpeg
 * log and the switch history; a stream of the catalogue that never ran reads
 * "stopped". -ENOENT when the catalogue has no such live stream. */
int live_write_channel(struct live *live, int64_t id, struct jsonw *w);
/* "start" | "stop" (viewers are cut) | "restart". -ENOENT no such stream,
 * -EINVAL unknown command, -ENOMEM. */
int live_channel_command(struct live *live, int64_t id, const char *cmd);
/* The live state of stream id for list views: false when it never ran. */
struct live_channel_brief {
    const char *state;
    size_t viewers;
    int64_t input_kbps;
    int source_index;
};
bool live_channel_brief(struct live *live, int64_t id, struct live_channel_brief *out);

/* Connections (live viewers, HLS sessions, and through the hooks VOD
 * downloads) pass through one sink that filters and pages them. */
struct live_conn_sink {
    struct jsonw *w;
    const char *kind; /* NULL: all; "live", "hls", "movie", "episode" */
    int64_t line_id;  /* 0: all */
    int64_t stream_id;
    int64_t offset, limit; /* limit 0: none */
    int64_t total;         /* out: matching connections */
};
void live_write_connections(struct live *live, struct live_conn_sink *sink);
/* Ends connection `handle` (any kind); false when unknown. */
bool live_kill_connection(struct live *live, uint64_t handle);
/* Connections that are not the engine's own (VOD): write() adds entries with
 * live_write_connection(); kill() ends one by id and returns true when it
 * knew the id. */
struct live_admin_hooks {
    void (*write)(void *ctx, struct live_conn_sink *sink, uint64_t now_ms);
    bool (*kill)(void *ctx, uint64_t handle);
    void *ctx;
};
void live_set_admin_hooks(struct live *live, const struct live_admin_hooks *hooks);
/* One connection into the sink (started_ms and now_ms: loop time). */
void live_write_connection(struct live_conn_sink *sink, const char *kind, uint64_t handle,
                           int64_t line_id, const char *user, int64_t item, const char *ip,
                           const char *ua, uint64_t started_ms, uint64_t bytes, uint64_t now_ms);
/* /metrics (Prometheus text, docs/operator-guide.md): live_metrics() writes
 * the engine-wide series into out; live_metrics_channels() makes res's body
 * continue (after what its buffer holds) with the per-channel series of every
 * channel in the engine's table, streamed a bounded piece at a time and sent
 * close-delimited. -ENOMEM when the stream cannot be set up. */
void live_metrics(struct live *live, struct buf *out);
int live_metrics_channels(struct live *live, struct http_response *res);
/* Read-only figures for the admin stats sampler (admin/stats.h), loop thread.
 * Byte counters are cumulative over the channels the engine holds now. */
enum live_state_index {
    LIVE_STATE_IDLE, /* stopped (started before, no ffmpeg now) */
    LIVE_STATE_STARTING,
    LIVE_STATE_RUNNING,
    LIVE_STATE_FAILING, /* its source failed; retrying or failing over */
    LIVE_STATE_SLATE,   /* every source failed: viewers see the slate */
    LIVE_STATE_COUNT
};
struct live_stats {
    uint64_t bytes_in;   /* read from ffmpeg by every channel */
    uint64_t bytes_out;  /* sent to TS viewers and as HLS segments */
    size_t viewers;      /* live MPEG-TS viewers */
    size_t hls_sessions; /* HLS sessions open */
    size_t channels[LIVE_STATE_COUNT];
};
void live_stats(struct live *live, struct live_stats *out);
struct live_channel_stat {
    int64_t id;
    char name[128];
    const char *state; /* "stopped", "starting", "running", "failing", "slate" (static) */
    size_t viewers;    /* TS viewers */
    size_t hls_sessions;
    uint64_t bytes_in; /* cumulative */
};
/* The channels with the most viewers (TS + HLS; ties by id), at most max,
 * into out, most watched first; returns how many. Channels without viewers
 * are left out. */
size_t live_top_channels(struct live *live, struct live_channel_stat *out, size_t max);
/* Active viewers + HLS sessions of a line (for active_cons). */
size_t live_line_connections(struct live *live, int64_t line_id);

#endif
