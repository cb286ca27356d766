/*
 * admin/stats: the server's figures over time, for GET /api/v1/stats/summary,
 * GET /api/v1/stats/timeseries and the 1 s `counters` event (admin/events.h).
 *
 * The serve loop calls stats_tick() every second. Each tick reads the sources
 * (struct stats_sources: the live engine, the connection registry, the HTTP
 * server, and the process's own CPU time and RSS) and keeps:
 *   - the "now" sample: rates over the last tick (~1 s) and the gauges read
 *     at it (stats_summary_json, stats_counters_json);
 *   - a fixed ring of STATS_RING points at STATS_STEP_S resolution (24 h).
 *     When a tick falls in a later 10 s slot of the wall clock than the
 *     previous point, one point is appended for the slot the previous
 *     boundary opened: its time is the slot's start (a multiple of 10), its
 *     rates cover the wall time since that boundary, its gauges are those of
 *     the tick that closed it. Ticks that did not happen (a stalled loop, a
 *     stopped process) leave no point: gaps stay gaps. A wall clock stepped
 *     backwards restarts the slot without a point, so times in the ring only
 *     increase.
 * Rates: bytes per second (out = every byte the HTTP server wrote: live, HLS,
 * VOD, API responses; in = bytes channels read from ffmpeg). CPU: percent of
 * one core used by the whole process (user + system) over the interval. A
 * cumulative counter that goes down (a channel forgotten) counts as 0.
 *
 * Memory: the ring is allocated once (STATS_RING points, ~0.6 MB); nothing
 * grows after stats_new.
 * Threading: loop thread only — the admin handlers call the *_json functions
 * from their post() phase (admin/call.h), never from work().
 */
#ifndef XTREAMD_ADMIN_STATS_H
#define XTREAMD_ADMIN_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/jsonw.h"
#include "stream/live.h"

#define STATS_STEP_S 10   /* seconds per ring point */
#define STATS_RING   8640 /* points kept: 24 h at 10 s */
#define STATS_TOP    10   /* channels in the summary's top list */
#define STATS_WATCH  64   /* most watched channels followed for `channel` events */

struct stats;
struct events;
struct conn_registry;
struct http_server;

/* Where the figures come from; any may be NULL (its figures read 0). Borrowed:
 * they must outlive the stats (or be detached with stats_set_sources). */
struct stats_sources {
    struct live *live;
    struct conn_registry *conns;
    const struct http_server *http;
};

/* The readings of one moment: counters are cumulative, the rest gauges. */
struct stats_reading {
    uint64_t bytes_out; /* HTTP bytes written, cumulative */
    uint64_t bytes_in;  /* bytes read by channels, cumulative */
    uint64_t cpu_ns;    /* process CPU time (user + system), cumulative */
    uint64_t rss_bytes;
    uint32_t viewers_live; /* live MPEG-TS (and timeshift) connections */
    uint32_t viewers_hls;  /* HLS sessions */
    uint32_t viewers_vod;  /* movie and episode downloads */
    uint32_t channels[LIVE_STATE_COUNT];
};

/* One point: a 10 s ring point, the "now" sample, or an aggregate of points. */
struct stats_point {
    int64_t t;          /* Unix seconds: the start of the interval it covers */
    double out_bps;     /* bytes per second */
    double in_bps;      /* bytes per second */
    double cpu_percent; /* 100 = one core busy */
    uint64_t rss_bytes;
    uint32_t viewers; /* live + hls + vod (aggregates: the peak of the sum) */
    uint32_t viewers_live, viewers_hls, viewers_vod;
    uint32_t channels[LIVE_STATE_COUNT];
};

/* -ENOMEM or 0. now_ms: Unix time in ms (the uptime's origin). */
int stats_new(const struct stats_sources *src, int64_t now_ms, struct stats **out);
void stats_free(struct stats *st);
void stats_set_sources(struct stats *st, const struct stats_sources *src);
/* Each tick then publishes a `counters` event (stats_counters_json) on ev
 * (NULL: none), and a `channel` event for each of the STATS_WATCH most
 * watched channels whose state or source changed since the previous tick
 * (or that first appears on a backup source):
 *   {"id":7,"name":"News","state":"running","previous_state":"failing",
 *    "source_index":1,"previous_source_index":0,"viewers":5}
 *   (previous_* null when the channel was not followed before). */
void stats_set_events(struct stats *st, struct events *ev);

/* The connection registry's limit hook (auth/connections.h; ctx = the
 * stats): publishes a `limit` event, {"line_id":12,"max_connections":2,
 * "kicked":1}, when a line over its limit had connections cut. */
void stats_limit_hit(void *ctx, int64_t line_id, int max, int kicked);

/* Every second from the serve loop: reads the sources and records (below).
 * now_ms: Unix time in ms. */
void stats_tick(struct stats *st, int64_t now_ms);
/* The recording half of stats_tick, with the readings given (unit tests). */
void stats_record(struct stats *st, int64_t now_ms, const struct stats_reading *rd);
/* The current source readings (process CPU and RSS included). */
void stats_read(const struct stats *st, struct stats_reading *out);

/* The ring, aggregated: buckets of `step` seconds (a positive multiple of
 * STATS_STEP_S, at most 86400) whose start lies in [from, to] (Unix seconds,
 * from <= to); a bucket starts at a multiple of step and holds the points
 * whose time falls in it. Per bucket: rates, CPU and RSS are the mean of its
 * points, viewers and channel states the maximum (the peak). Buckets without
 * a point are left out. Calls fn(ctx, point) for each bucket in time order
 * (point->t = the bucket's start). -EINVAL on a bad step or range, else the
 * number of buckets. */
int stats_series(const struct stats *st, int64_t from, int64_t to, int step,
                 void (*fn)(void *ctx, const struct stats_point *p), void *ctx);
/* Points held in the ring (<= STATS_RING), and the oldest and newest times
 * (0 when empty). */
size_t stats_points(const struct stats *st, int64_t *oldest, int64_t *newest);
/* The "now" sample (zero rates until the second tick). */
void stats_now(const struct stats *st, struct stats_point *out);

/*
 * JSON (jsonw; the caller owns the buffer and checks its err). Shapes:
 *
 * stats_counters_json — the 1 s `counters` event's data, one object:
 *   {"time":"2026-05-01T10:00:00Z","time_epoch":1777629600,"uptime_seconds":3600,
 *    "viewers":{"total":12,"live":7,"hls":3,"vod":2},
 *    "bandwidth":{"out_bytes_per_second":1250000.0,"in_bytes_per_second":400000.0},
 *    "cpu_percent":12.5,"memory_rss_bytes":73400320,
 *    "channels":{"idle":4,"starting":0,"running":3,"failing":0,"slate":0}}
 *   (rates and cpu_percent with 1 decimal)
 *
 * stats_summary_json — the same members plus the top channels by viewers:
 *   {..., "top_channels":[{"id":7,"name":"News","state":"running","viewers":5,
 *                          "ts_viewers":4,"hls_sessions":1}, ...]}   (at most 10,
 *   most watched first, ties by id; channels without viewers left out)
 *
 * stats_timeseries_json — the series of stats_series as arrays:
 *   {"from":1777626000,"to":1777629600,"step":60,
 *    "columns":["time","viewers","viewers_live","viewers_hls","viewers_vod",
 *               "out_bytes_per_second","in_bytes_per_second","cpu_percent",
 *               "memory_rss_bytes","channels_idle","channels_starting",
 *               "channels_running","channels_failing","channels_slate"],
 *    "points":[[1777626000,12,7,3,2,1250000.0,400000.0,12.5,73400320,4,0,3,0,0], ...]}
 *   "time" is Unix seconds (the bucket's start); "viewers" is the peak of
 *   live + hls + vod within the bucket. -EINVAL (nothing written) on a bad
 *   step or range: answer 422 naming `step` or `from`/`to`. The handler picks
 *   the defaults (suggested: to = now, from = to - 3600, step = 10).
 */
void stats_counters_json(const struct stats *st, struct jsonw *w);
void stats_summary_json(const struct stats *st, struct jsonw *w);
int stats_timeseries_json(const struct stats *st, struct jsonw *w, int64_t from, int64_t to,
                          int step);
/* The column names of stats_timeseries_json, NULL-terminated (schemas, docs). */
extern const char *const stats_columns[];

#endif
