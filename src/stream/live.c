/*
 * live: the engine (see live.h) — channel table, TS viewers, HLS sessions,
 * the housekeeping tick, the slate clip, the admin JSON and /metrics.
 *
 * TS viewer: a cursor (next chunk seq, offset) into its channel's ring. The
 * body source's pull() queues refbuf slices of the shared chunks with
 * http_conn_queue_ref (zero copy) up to the budget; it starts at the newest
 * keyframe chunk. The tick measures each viewer's lag (age of the chunk under
 * its cursor): slow for slow_grace_ms → skipped to the newest keyframe; more
 * than max_skips skips in 60 s, or no progress for no_progress_ms → closed.
 *
 * HLS session: a random token (libsodium) naming (line, channel, IP, UA); the
 * playlist's segment URLs carry it. A session lives while requests come.
 * Threading: loop thread only.
 */
#include "stream/live.h"

#include <dirent.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive.h"
#include "auth/auth.h"
#include "auth/connections.h"
#include "core/hashtab.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/promtext.h"
#include "core/spsc.h"
#include "http/server.h"
#include "cluster/node.h"
#include "media/ladder.h"
#include "stream/stream_priv.h"
#include "core/hash.h"

#define CH_BUCKETS      1024
#define SESS_BUCKETS    1024
#define TICK_MS         250
#define SKIP_WINDOW_MS  60000
#define MAX_SKIP_TRACK  16
#define WAIT_FIRST_MS   20000
#define SLATE_MAX_BYTES (4 << 20)
#define TOKEN_LEN       32
#define START_SLOT_MS   20000 /* a start holds its slot at most this long without a keyframe */
#define START_TRACK_MAX 65536 /* start buckets tracked (lines + IPs) */
#define CHILD_ENV_KEY   "XTREAMD_CHILD_OF="

extern char **environ;

/* Why a viewer is moved off this node (cluster): counted per kind in
 * xtreamd_cluster_moved_total{kind,reason}. */
enum move_reason { MOVE_DRAIN, MOVE_FENCE, MOVE_OVERLOAD, MOVE_REASONS };
static const char *const move_reason_names[MOVE_REASONS] = {"drain", "fence", "overload"};

struct live_viewer {
    struct live *live;
    struct channel *ch;
    struct http_conn *conn;
    struct live_viewer *prev, *next;
    uint64_t next_seq;
    size_t off;
    bool started, ended;
    int rend; /* the ladder rendition watched (?q=), 0: the top one */
    int64_t line_id;
    char username[64];
    char ip[46];
    char ua[128];
    uint64_t handle;
    uint64_t bytes;
    uint64_t start_ms, slow_since_ms, progress_ms, progress_bytes;
    uint64_t skip_ms[MAX_SKIP_TRACK];
    unsigned skip_count, skips_total;
    /* node fenced (live_move_ts_viewers): the response ends before the next keyframe chunk,
     * so the player's reconnect goes to the main; cut anyway at move_deadline_ms */
    bool move;
    uint8_t move_reason; /* enum move_reason */
    uint64_t move_deadline_ms;
    uint64_t serial; /* live->next_serial at the start: newer viewers move first (overload) */
    /* Another I/O loop (fan-out below): from the hand-off on, that loop owns
     * the cursor fields (next_seq ... move_deadline_ms, conn); loop 0 keeps
     * the list links and the immutable identity, and reaches the viewer only
     * through req (atomic requests) until the viewer comes back closed. */
    unsigned loop; /* 0: the accepting loop; k: fan loop k */
    struct fan_loop *fl;
    struct fan_chan *fc;                   /* the mirror it reads (fan loop) */
    struct live_viewer *fprev, *fnext;     /* fc->viewers (fan loop) */
    struct live_viewer *back_next;         /* live->back_head (closed, going home) */
    _Atomic unsigned req;                  /* VR_* set by loop 0 */
    _Atomic unsigned move_after_ms;        /* with VR_MOVE */
    _Atomic uint64_t bytes_pub, skips_pub; /* bytes, skips_total for loop 0's views */
    uint64_t arrived_sent;                 /* conn's bytes sent when it reached its loop */
};

enum { VR_KICK = 1u, VR_END = 2u, VR_MOVE = 4u };

struct hls_session {
    struct live *live;
    struct hls_session *hnext;
    struct htab_node knode; /* live->sess_keys: (line, channel, IP, UA) */
    char token[TOKEN_LEN + 1];
    int64_t channel_id;
    int64_t line_id;
    char username[64];
    char ip[46];
    char ua[128];
    uint64_t handle;
    uint64_t created_ms, last_ms;
    uint64_t bytes;
    uint64_t serial; /* live->next_serial at creation: newer sessions move first (overload) */
    bool kicked;
    bool moved; /* sent off this node by overload (live->hls_moving): not counted in its load */
};

/* A playlist request waiting for the first segment (cold start). */
struct pl_wait {
    struct live *live;
    struct channel *ch; /* on ch->waits (channels live until live_free) */
    struct http_conn *conn;
    struct pl_wait *prev, *next;
    char token[TOKEN_LEN + 1];
    int64_t channel_id;
    int rend; /* -1: the session's playlist (a ladder's master); i: variant i */
    uint64_t since_ms;
    bool done;
};

struct live {
    uv_loop_t *loop;
    struct archive *archive;          /* borrowed; NULL: no recording */
    struct cluster *cluster;          /* borrowed; NULL: standalone (placements ignored) */
    uint64_t refused_placement;       /* starts refused: the channel is not placed on this node */
    uint64_t moved_at_key, moved_cut; /* TS viewers of a fenced node closed at a keyframe / cut */
    uint64_t hls_moved;               /* playlist requests sent to the main (node not active) */
    uint64_t moved[2][MOVE_REASONS];  /* [0 hls, 1 ts][reason]: xtreamd_cluster_moved_total */
    uint64_t next_serial;             /* viewers and HLS sessions in order of arrival */
    size_t hls_moving, ts_moving;     /* HLS sessions / TS viewers on their way off (overload) */
    size_t origin_viewers;            /* other nodes' origin pulls (not viewers of this node) */
    uint64_t shed_hls_from;   /* overload: HLS sessions with serial >= this move at their refresh */
    struct cluster_load ov;   /* the last overload evaluation (live_tick) */
    uint64_t moving_until_ms; /* live_move_ts_viewers: HLS sessions move, not kicked */
    struct live_config cfg;
    struct conn_registry *reg;
    struct catalog *cat;
    struct channel *channels[CH_BUCKETS];
    struct hls_session *sessions[SESS_BUCKETS];
    struct htab sess_keys; /* sessions by (line, channel, IP, UA) */
    size_t session_count;
    struct htab start_buckets; /* struct start_bucket by line and by IP */
    size_t starting;           /* channels holding a starting slot */
    uint64_t last_bucket_prune;
    char **child_env; /* environ + the owner marker for ffmpeg children */
    char *data_abs;   /* realpath of cfg.data_dir (the marker's second half) */
    char child_ppid[24];
    struct ingest *dying;
    uv_timer_t tick;
    uv_idle_t spawn_idle; /* runs the spawn queue while it is not empty */
    struct channel *spawn_head, *spawn_tail;
    int handles_open;                    /* tick + spawn_idle, until live_stop closed them */
    struct live_admin_hooks admin_hooks; /* VOD connections (api/vod.c) */
    uint64_t last_line_check;
    bool stopping, tick_closed;
    void (*done)(void *);
    void *done_ud;
    /* slate */
    struct chunk *slate;
    size_t slate_n;
    int64_t slate_loop_pts;
    uv_process_t slate_proc;
    uv_pipe_t slate_out;
    struct buf slate_buf;
    int slate_handles, slate_attempt;
    /* counters */
    uint64_t viewers_total, kicked_slow, kicked_limit, kicked_line, hls_requests, segment_requests,
        segment_bytes, skips_total;
    uint64_t refused_line_rate, refused_ip_rate, refused_starting, refused_tracking, early_stops,
        segment_ref_errors, orphans_reaped;
    unsigned hw_available; /* bit 1 << TX_HW_x: hardware encoder backends found at start */
    unsigned hw_devices;   /* backends whose device exists (the encoders probe narrows it) */
    bool hw_probe_pending; /* the encoders probe is on the thread pool (holds the stop) */
    uv_work_t hw_probe;
    const char *hw_probe_ffmpeg; /* cfg.ffmpeg (fixed at start), for the probe's thread */
    unsigned hw_probe_found;     /* written by the probe's thread, read after it */
    int hw_probe_err;            /* ditto: 0, or why the probe could not run */
    uint64_t tx_fallbacks;       /* spawns rendered in software for a missing backend */
    /* serve --loops N: fan loops 1..nloops-1 (fans[k-1]) */
    unsigned nloops;
    struct fan_loop *fans[LIVE_MAX_LOOPS - 1];
    size_t loop_viewers[LIVE_MAX_LOOPS]; /* TS viewers per loop (0: here) */
    bool fans_stopping;                  /* no message may be sent to a fan loop any more */
    uint64_t fan_queue_full;             /* chunks a fan loop's queue could not take */
    uint64_t fan_handoffs;
    /* Viewers closed on a fan loop come back through this list (a mutex per
     * closed viewer, never per chunk) to be unregistered and freed here. */
    pthread_mutex_t back_lock;
    bool back_open; /* back_async may be sent to (under back_lock) */
    bool back_init;
    struct live_viewer *back_head;
    uv_async_t back_async;
};

/* ---- several I/O loops: the live fan-out --------------------------------
 * (docs/internals/core.md "Several I/O loops", live.md "Fan-out loops")
 * Loop 0 owns channels and rings. A fan loop k keeps, per channel with
 * viewers on it, a mirror ring fed by loop 0 through a lock-free
 * single-producer queue: one message per published chunk (a reference to
 * the same refbuf, never a copy) and one uv_async_send per loop per publish.
 * Its viewers read only the mirror, so no loop reads another's memory on the
 * per-chunk path. */

#define FAN_QUEUE 16384 /* messages loop 0 → one fan loop (chunks of every channel) */

enum { FM_CHUNK, FM_DROP, FM_CHECK };

struct fan_msg {
    int type;
    const struct channel *key; /* the channel: a key only, never read by the fan loop */
    struct refbuf *rb;         /* FM_CHUNK: a reference the mirror takes over */
    struct fdref *mf; /* FM_CHUNK: loop 0's memfd holding rb at foff (a reference), or NULL */
    uint64_t foff;
    uint64_t seq, tail_seq, mono_ms;
    uint32_t flags;
};

/* A channel's ring as mirrored on one fan loop. */
struct fan_chan {
    struct fan_chan *next;
    const struct channel *key;
    struct chunk_ring ring;
    struct live_viewer *viewers; /* fprev/fnext */
    uint64_t woken_ms;           /* write-interval, as struct channel's */
    bool wake_pending;
};

/* FAN_TS_MOVED + enum move_reason: TS viewers closed at a keyframe or cut, by reason */
enum {
    FAN_KICKED_SLOW,
    FAN_MOVED_AT_KEY,
    FAN_MOVED_CUT,
    FAN_TS_MOVED,
    FAN_COUNTERS = FAN_TS_MOVED + MOVE_REASONS
};

struct fan_loop {
    struct live *live;
    unsigned idx;
    uv_thread_t thread;
    uv_sem_t started;
    int start_rc;
    uv_loop_t loop;
    uv_async_t async;
    uv_timer_t tick;
    struct spsc q;
    struct http_server *http;
    struct http_server_config hcfg;
    unsigned grace_ms;
    struct fan_chan *chans;
    bool stopping;
    atomic_bool stop_req;
    atomic_bool http_done; /* its server finished stopping (live_loops_serving) */
    /* the slow-viewer knobs (live_reconfigure stores, the loop's tick loads) */
    atomic_uint slow_lag_ms, slow_grace_ms, max_skips, no_progress_ms, write_interval_ms;
    /* written by the fan loop (one writer), read by loop 0's /metrics */
    _Atomic uint64_t count[FAN_COUNTERS];
};

static void fan_count(struct fan_loop *fl, int which)
{
    atomic_store_explicit(&fl->count[which],
                          atomic_load_explicit(&fl->count[which], memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static uint64_t fan_sum(const struct live *live, int which)
{
    uint64_t n = 0;
    for (unsigned k = 1; k < live->nloops; k++)
        n += atomic_load_explicit(&live->fans[k - 1]->count[which], memory_order_relaxed);
    return n;
}

/* Channel starts allowed for one line or one client IP (token bucket). */
struct start_bucket {
    struct htab_node node;
    bool is_ip;
    int64_t line_id;
    char ip[46];
    double tokens;
    uint64_t t_ms;
};

void live_config_defaults(struct live_config *c)
{
    *c = (struct live_config){
        .ffmpeg = "ffmpeg",
        .idle_ms = 30000,
        .watchdog_ms = 3000,
        .probe_timeout_ms = 10000,
        .primary_healthy_ms = 10000,
        .backup_check_ms = 60000,
        .failover_after = 1,
        .primary_retry_ms = 30000,
        .slow_lag_ms = 3000,
        .slow_grace_ms = 2000,
        .max_skips = 3,
        .no_progress_ms = 20000,
        .hls_segment_ms = 4000,
        .hls_session_ms = 60000,
        .ring_ms = 30000,
        .ring_bytes = 32u << 20,
        .line_check_ms = 10000,
        .stall_slate_ms = 2000,
        .start_burst = 6,
        .start_rate = 20,
        .max_starting = 16,
        .registry_max = 65536,
        .overload_pct = 100,
        .write_interval_ms = 500,
    };
}

/* The tunables of `--live KEY=VALUE` (seconds unless ms is false: counts). */
static const struct {
    const char *key;
    size_t off;
    bool ms;
} knobs[] = {
    {"watchdog", offsetof(struct live_config, watchdog_ms), true},
    {"probe-timeout", offsetof(struct live_config, probe_timeout_ms), true},
    {"primary-healthy", offsetof(struct live_config, primary_healthy_ms), true},
    {"backup-check", offsetof(struct live_config, backup_check_ms), true},
    {"failover-after", offsetof(struct live_config, failover_after), false},
    {"primary-retry", offsetof(struct live_config, primary_retry_ms), true},
    {"slow-lag", offsetof(struct live_config, slow_lag_ms), true},
    {"slow-grace", offsetof(struct live_config, slow_grace_ms), true},
    {"max-skips", offsetof(struct live_config, max_skips), false},
    {"no-progress", offsetof(struct live_config, no_progress_ms), true},
    {"hls-segment", offsetof(struct live_config, hls_segment_ms), true},
    {"hls-session", offsetof(struct live_config, hls_session_ms), true},
    {"ring-seconds", offsetof(struct live_config, ring_ms), true},
    {"line-check", offsetof(struct live_config, line_check_ms), true},
    {"idle", offsetof(struct live_config, idle_ms), true},
    {"stall-slate", offsetof(struct live_config, stall_slate_ms), true},
    {"start-burst", offsetof(struct live_config, start_burst), false},
    {"start-rate", offsetof(struct live_config, start_rate), false},
    {"max-starting", offsetof(struct live_config, max_starting), false},
};

int live_config_set(struct live_config *c, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq)
        return -EINVAL;
    size_t klen = (size_t)(eq - kv);
    char *end;
    if (klen == 12 && strncmp(kv, "overload-pct", 12) == 0) {
        long long n = strtoll(eq + 1, &end, 10);
        if (end == eq + 1 || *end || n < 0 || n > 1000)
            return -EINVAL;
        c->overload_pct = (unsigned)n; /* 0: the node never sheds viewers for load */
        return 0;
    }
    if (klen == 5 && strncmp(kv, "write", 5) == 0) {
        if (strcmp(eq + 1, "copy") != 0 && strcmp(eq + 1, "sendfile") != 0)
            return -EINVAL;
        c->write_copy = strcmp(eq + 1, "copy") == 0;
        return 0;
    }
    if (klen == 12 && strncmp(kv, "registry-max", 12) == 0) {
        long long n = strtoll(eq + 1, &end, 10);
        if (end == eq + 1 || *end || n < 16 || n > 100000000)
            return -EINVAL;
        c->registry_max = (unsigned)n;
        return 0;
    }
    double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || v < 0 || v > 86400)
        return -EINVAL;
    if (klen == 14 && strncmp(kv, "write-interval", 14) == 0) {
        if (v > 2)
            return -EINVAL; /* longer bursts than this starve players' buffers */
        c->write_interval_ms = (unsigned)(v * 1000.0 + 0.5); /* 0: at every chunk */
        return 0;
    }
    if (klen == 12 && strncmp(kv, "backup-check", 12) == 0 && v == 0) {
        c->backup_check_ms = 0; /* off */
        return 0;
    }
    if (klen == 7 && strncmp(kv, "ring-mb", 7) == 0) {
        if (v < 1 || v > 1024)
            return -EINVAL;
        c->ring_bytes = (size_t)v << 20;
        return 0;
    }
    for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
        if (strlen(knobs[i].key) != klen || strncmp(kv, knobs[i].key, klen) != 0)
            continue;
        double x = knobs[i].ms ? v * 1000.0 : v;
        if (x < (knobs[i].ms ? 100 : 1))
            return -EINVAL;
        *(unsigned *)((char *)c + knobs[i].off) = (unsigned)x;
        return 0;
    }
    return -EINVAL;
}

int live_config_get(const struct live_config *c, size_t i, const char **key, char *val, size_t len)
{
    size_t n = sizeof(knobs) / sizeof(knobs[0]);
    if (i < n) {
        unsigned v = *(const unsigned *)((const char *)c + knobs[i].off);
        *key = knobs[i].key;
        if (knobs[i].ms)
            snprintf(val, len, "%g", v / 1000.0);
        else
            snprintf(val, len, "%u", v);
        return 0;
    }
    if (i == n) {
        *key = "ring-mb";
        snprintf(val, len, "%zu", c->ring_bytes >> 20);
        return 0;
    }
    if (i == n + 1) {
        *key = "registry-max";
        snprintf(val, len, "%u", c->registry_max);
        return 0;
    }
    if (i == n + 2) {
        *key = "overload-pct";
        snprintf(val, len, "%u", c->overload_pct);
        return 0;
    }
    if (i == n + 3) {
        *key = "write";
        snprintf(val, len, "%s", c->write_copy ? "copy" : "sendfile");
        return 0;
    }
    if (i == n + 4) {
        *key = "write-interval";
        snprintf(val, len, "%g", c->write_interval_ms / 1000.0);
        return 0;
    }
    return -ENOENT;
}

static int state_path(const char *data_dir, char *out, size_t n)
{
    int w = snprintf(out, n, "%s/serve.json", data_dir);
    return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/* The pid recorded in serve.json, or 0. */
static long state_file_pid(const char *path)
{
    char text[512];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *p = strstr(text, "\"pid\":");
    return p ? strtol(p + 6, NULL, 10) : 0;
}

int live_write_state_file(const char *data_dir, const char *host, int port, const char *token)
{
    return live_write_state_file_ex(data_dir, host, port, token, 0);
}

int live_write_state_file_ex(const char *data_dir, const char *host, int port, const char *token,
                             int take_over)
{
    char path[4096], tmp[4200];
    if (state_path(data_dir, path, sizeof(path)))
        return -ENAMETOOLONG;
    long owner = state_file_pid(path);
    if (!take_over && owner > 0 && owner != (long)getpid() &&
        (kill((pid_t)owner, 0) == 0 || errno == EPERM))
        return -EEXIST; /* another running server answers the CLI for this directory */
    snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
    const char *admin = strchr(host, ':') ? "[::1]" : "127.0.0.1";
    /* 0600: the token in it is the local CLI's key to the admin API. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return -err;
    }
    fprintf(f,
            "{\"pid\":%d,\"host\":\"%s\",\"port\":%d,\"admin\":\"http://%s:%d\","
            "\"token\":\"%s\"}\n",
            (int)getpid(), host, port, admin, port, token);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -EIO;
    }
    return 0;
}

/* Removes serve.json only when it is this process's own. */
void live_remove_state_file(const char *data_dir)
{
    char path[4096];
    if (state_path(data_dir, path, sizeof(path)) == 0 && state_file_pid(path) == (long)getpid())
        unlink(path);
}

uv_loop_t *live_loop(struct live *live)
{
    return live->loop;
}

const struct live_config *live_cfg(const struct live *live)
{
    return &live->cfg;
}

uint64_t live_now_ms(const struct live *live)
{
    return uv_now(live->loop);
}

void live_add_dying(struct live *live, struct ingest *ing)
{
    ing->next_dying = live->dying;
    live->dying = ing;
}

void live_remove_dying(struct live *live, struct ingest *ing)
{
    for (struct ingest **p = &live->dying; *p; p = &(*p)->next_dying) {
        if (*p == ing) {
            *p = ing->next_dying;
            return;
        }
    }
}

/* ---- ffmpeg children: dying with the server ------------------------------- */

/*
 * PR_SET_PDEATHSIG must be set in the child, after fork; uv_spawn runs no code
 * of ours there, so children start as `xtreamd __child PPID ffmpeg ...`. The
 * check of getppid() after prctl() closes the race setpriv left open: a
 * server killed between fork and prctl leaves a child whose parent is
 * already someone else, which then exits instead of running ffmpeg forever.
 */
int live_child_main(int argc, char **argv)
{
    if (argc < 4)
        return 127;
    char *end;
    long ppid = strtol(argv[2], &end, 10);
    if (end == argv[2] || *end || ppid <= 1)
        return 127;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        return 127;
    if (getppid() != (pid_t)ppid)
        return 0; /* the server is gone already: nothing to serve */
    execvp(argv[3], argv + 3);
    fprintf(stderr, "xtreamd __child: cannot run %s: %s\n", argv[3], strerror(errno));
    return 127;
}

int live_child_argv(struct live *live, const char **argv, int max)
{
    (void)max;
    argv[0] = "/proc/self/exe"; /* this very program, even if its file was replaced */
    argv[1] = "__child";
    argv[2] = live->child_ppid;
    return 3;
}

char **live_child_env(struct live *live)
{
    return live->child_env;
}

/* environ plus XTREAMD_CHILD_OF=<server pid>:<data dir>, the mark by which a
 * later server recognises (and reaps) ffmpeg children a dead one left. */
static int child_env_build(struct live *live)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = calloc(n + 2, sizeof(*env));
    if (!env)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], CHILD_ENV_KEY, strlen(CHILD_ENV_KEY)) != 0)
            env[k++] = environ[i];
    char mark[4200];
    snprintf(mark, sizeof(mark), CHILD_ENV_KEY "%d:%s", (int)getpid(),
             live->data_abs ? live->data_abs : "");
    env[k] = strdup(mark);
    if (!env[k]) {
        free(env);
        return -ENOMEM;
    }
    live->child_env = env;
    snprintf(live->child_ppid, sizeof(live->child_ppid), "%d", (int)getpid());
    return 0;
}

static void child_env_free(struct live *live)
{
    if (!live->child_env)
        return;
    for (size_t i = 0; live->child_env[i]; i++)
        if (strncmp(live->child_env[i], CHILD_ENV_KEY, strlen(CHILD_ENV_KEY)) == 0 &&
            !live->child_env[i + 1])
            free(live->child_env[i]);
    free(live->child_env);
    live->child_env = NULL;
}

/* The value of XTREAMD_CHILD_OF in /proc/PID/environ, or false. */
static bool proc_mark(const char *pid, char *out, size_t n)
{
    char path[64], env[65536];
    snprintf(path, sizeof(path), "/proc/%s/environ", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t len = fread(env, 1, sizeof(env) - 1, f);
    fclose(f);
    env[len] = '\0';
    size_t klen = strlen(CHILD_ENV_KEY);
    for (size_t i = 0; i < len; i += strlen(env + i) + 1) {
        if (strncmp(env + i, CHILD_ENV_KEY, klen) == 0) {
            snprintf(out, n, "%s", env + i + klen);
            return true;
        }
    }
    return false;
}

static long proc_ppid(const char *pid)
{
    char path[300], st[1024]; /* a d_name is up to 255 bytes */
    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t len = fread(st, 1, sizeof(st) - 1, f);
    fclose(f);
    st[len] = '\0';
    const char *p = strrchr(st, ')'); /* the command name may hold anything */
    if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
        return -1;
    return strtol(p + 4, NULL, 10);
}

/* Belt and braces for the parent-death signal: at start, any process marked as
 * a child of a server on this data directory whose parent is not that server
 * any more (orphaned: the server died) is killed with its process group. */
static void reap_orphans(struct live *live)
{
    if (!live->data_abs)
        return;
    DIR *d = opendir("/proc");
    if (!d)
        return;
    size_t dlen = strlen(live->data_abs);
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        char mark[4200];
        if (!proc_mark(de->d_name, mark, sizeof(mark)))
            continue;
        char *colon = strchr(mark, ':');
        if (!colon || strlen(colon + 1) != dlen || strcmp(colon + 1, live->data_abs) != 0)
            continue;
        long owner = strtol(mark, NULL, 10);
        long pid = strtol(de->d_name, NULL, 10);
        if (pid == (long)getpid() || proc_ppid(de->d_name) == owner)
            continue; /* ours, or still the child of a live server */
        log_warn("live", "killing ffmpeg pid %ld left behind by server pid %ld", pid, owner);
        kill(-(pid_t)pid, SIGKILL); /* its process group (it leads one) */
        kill((pid_t)pid, SIGKILL);
        live->orphans_reaped++;
    }
    closedir(d);
}

/* ---- channels ------------------------------------------------------------ */

static struct channel *channel_find(struct live *live, int64_t id)
{
    for (struct channel *c = live->channels[(uint64_t)id % CH_BUCKETS]; c; c = c->hnext)
        if (c->id == id)
            return c;
    return NULL;
}

/* ---- cluster placements (docs/internals/live.md §Origin–edge) ------------- */

/* How this node may run stream s: *placed false when the stream has placements and none for
 * this node; *pl this node's row (NULL: no rows, any node on demand). Standalone: placed. */
static void self_placement(const struct live *live, const struct cat_stream *s, bool *placed,
                           const struct cat_placement **pl)
{
    *placed = true;
    *pl = NULL;
    if (!live->cluster || !s->placement_count)
        return;
    int64_t self = cluster_self_id(live->cluster);
    for (size_t i = 0; i < s->placement_count; i++) {
        if (s->placements[i].node_id == self) {
            *pl = &s->placements[i];
            return;
        }
    }
    *placed = false;
}

/* Kept running on this node: always-on or archived, and placed here (an 'always' placement
 * makes it always-on on this node only). */
static bool stream_keep(const struct live *live, const struct cat_stream *s)
{
    bool placed;
    const struct cat_placement *pl;
    self_placement(live, s, &placed, &pl);
    if (!placed)
        return false;
    return s->always_on || (live->archive && s->archive_days > 0) || (pl && pl->always);
}

#define ORIGIN_PREFIX "xtreamd-origin:"

/* The source of a channel this node pulls from its parent node: ORIGIN_PREFIX + the parent's
 * public URL + /cluster/origin/ID.ts (channel.c adds the signed headers at each spawn). -ENOENT
 * while the parent is not in the nodes view. */
static int origin_source(const struct live *live, const struct cat_stream *s, int64_t parent,
                         char *out, size_t len)
{
    const struct cluster_node_view *n = cluster_node_find(live->cluster, parent);
    if (!n || !n->public_url[0])
        return -ENOENT;
    size_t ul = strlen(n->public_url);
    while (ul && n->public_url[ul - 1] == '/')
        ul--;
    int w = snprintf(out, len, ORIGIN_PREFIX "%.*s/cluster/origin/%lld.ts", (int)ul, n->public_url,
                     (long long)s->id);
    return w > 0 && (size_t)w < len ? 0 : -ENAMETOOLONG;
}

static struct channel *channel_get(struct live *live, const struct cat_stream *s)
{
    struct channel *ch = channel_find(live, s->id);
    if (!ch) {
        ch = channel_new(live, s->id);
        if (!ch)
            return NULL;
        size_t b = (uint64_t)s->id % CH_BUCKETS;
        ch->hnext = live->channels[b];
        live->channels[b] = ch;
    }
    ch->known = true;
    ch->archived = live->archive && s->archive_days > 0;
    /* origin–edge: a node placed with a parent pulls the parent's output as it is (the parent
     * applied the profile) instead of the sources */
    bool placed;
    const struct cat_placement *pl;
    self_placement(live, s, &placed, &pl);
    char origin[320];
    const char *osrc[1] = {origin};
    const char *const *srcs = s->sources;
    size_t nsrc = s->source_count;
    const struct tx_profile *profile = s->profile;
    if (pl && pl->parent_node_id) {
        if (origin_source(live, s, pl->parent_node_id, origin, sizeof(origin)) == 0) {
            srcs = osrc;
            nsrc = 1;
            profile = NULL;
        } else {
            nsrc = 0; /* never the source itself: it is pulled once per cluster */
        }
    }
    if (channel_configure(ch, s->name, srcs, nsrc, placed && stream_keep(live, s), profile) > 0 &&
        ch->state != CH_STOPPED) {
        log_info("live", "channel %lld: sources or profile changed, restarting", (long long)ch->id);
        channel_restart(ch);
    }
    return ch;
}

#define FOR_EACH_CHANNEL(live, ch)                                                                 \
    for (size_t b_ = 0; b_ < CH_BUCKETS; b_++)                                                     \
        for (struct channel *ch = (live)->channels[b_]; ch; ch = ch->hnext)

static void fan_publish(struct channel *ch, const struct chunk *c);
static void viewer_abort(struct live_viewer *v);
static void viewer_end(struct live_viewer *v);
static uint64_t viewer_bytes(const struct live_viewer *v);

static void start_slot_release(struct channel *ch)
{
    if (!ch->start_pending)
        return;
    ch->start_pending = false;
    ch->live->starting--;
}

static void channel_touch(struct channel *ch)
{
    ch->idle_since_ms = 0;
    if (ch->state == CH_STOPPED && !ch->live->stopping) {
        ch->delivered = false;
        channel_start(ch);
        if (ch->state != CH_STOPPED && !ch->start_pending) {
            ch->start_pending = true; /* until its first keyframe (max-starting) */
            ch->live->starting++;
        }
    }
}

void live_channel_stopped(struct channel *ch)
{
    start_slot_release(ch);
    if (ch->archived && ch->live->archive && !ch->arch_gap) {
        ch->arch_gap = true;
        archive_stream_break(ch->live->archive, ch->id);
    }
}

static int64_t wall_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The recorder gets what viewers get, except the slate: an outage is a gap in
 * the archive, not hours of test card. The chunk is published now, so its
 * wall time is now. */
static void archive_publish(struct channel *ch, const struct chunk *c)
{
    struct archive *a = ch->live->archive;
    if (c->flags & CHUNK_SLATE) {
        if (!ch->arch_gap) {
            ch->arch_gap = true;
            archive_stream_break(a, ch->id);
        }
        return;
    }
    uint32_t fl = (c->flags & CHUNK_KEY ? ARCHIVE_CHUNK_KEY : 0) |
                  (c->flags & CHUNK_DISCONT || ch->arch_gap ? ARCHIVE_CHUNK_DISCONT : 0);
    /* A refusal is counted by the recorder (queue full, no memory). */
    (void)archive_on_chunk(a, ch->id, c->rb, fl, c->pts == TS_PTS_NONE ? INT64_MIN : c->pts,
                           wall_now_ms());
    ch->arch_gap = false;
}

static void on_spawn_idle(uv_idle_t *h)
{
    struct live *live = h->data;
    struct channel *ch = live->spawn_head;
    if (ch) {
        live->spawn_head = ch->spawn_next;
        if (!live->spawn_head)
            live->spawn_tail = NULL;
        ch->spawn_next = NULL;
        ch->spawn_queued = false;
        channel_spawn_queued(ch);
    }
    if (!live->spawn_head)
        uv_idle_stop(h);
}

void live_queue_spawn(struct channel *ch)
{
    struct live *live = ch->live;
    if (ch->spawn_queued || live->stopping)
        return;
    ch->spawn_queued = true;
    ch->spawn_next = NULL;
    if (live->spawn_tail)
        live->spawn_tail->spawn_next = ch;
    else
        live->spawn_head = ch;
    live->spawn_tail = ch;
    uv_idle_start(&live->spawn_idle, on_spawn_idle);
}

void live_unqueue_spawn(struct channel *ch)
{
    struct live *live = ch->live;
    if (!ch->spawn_queued)
        return;
    struct channel *prev = NULL;
    for (struct channel *c = live->spawn_head; c; prev = c, c = c->spawn_next) {
        if (c != ch)
            continue;
        if (prev)
            prev->spawn_next = c->spawn_next;
        else
            live->spawn_head = c->spawn_next;
        if (live->spawn_tail == c)
            live->spawn_tail = prev;
        break;
    }
    ch->spawn_next = NULL;
    ch->spawn_queued = false;
}

static void channel_maybe_idle(struct channel *ch)
{
    if (ch->viewer_count == 0 && ch->hls_sessions == 0 && !ch->idle_since_ms)
        ch->idle_since_ms = live_now_ms(ch->live);
}

/* The channel's segmenters (every rendition's): no HLS session is left. */
static void channel_hls_drop(struct channel *ch)
{
    for (int i = 0; i <= ch->nsub; i++) {
        struct channel *r = channel_rend(ch, i);
        hls_free(r->hls);
        r->hls = NULL;
    }
}

static void channel_idle_stop(struct channel *ch)
{
    channel_stop(ch);
    channel_hls_drop(ch);
    ch->idle_since_ms = 0;
}

/* A viewer or HLS session went away. A channel that never delivered a byte to
 * anyone stops at once: the idle grace is for viewers coming back, and an
 * open-and-drop burst must not leave an ffmpeg per request running. */
static void channel_viewer_left(struct channel *ch)
{
    channel_maybe_idle(ch);
    if (ch->viewer_count || ch->hls_sessions || ch->always_on || ch->delivered ||
        ch->state == CH_STOPPED || ch->live->stopping)
        return;
    log_info("live", "channel %lld: its viewers left before anything was delivered, stopping now",
             (long long)ch->id);
    ch->live->early_stops++;
    channel_idle_stop(ch);
}

/* The viewer's rendition ring, NULL when the channel no longer has it. */
static struct channel *viewer_rend(const struct live_viewer *v)
{
    return channel_rend(v->ch, v->rend);
}

/* The variant playlist waits of a ladder: ready when their segmenter is. */
static bool wait_ready(const struct pl_wait *w)
{
    struct channel *r = w->ch ? channel_rend(w->ch, w->rend < 0 ? 0 : w->rend) : NULL;
    return r && r->hls && hls_segment_count(r->hls);
}

/* Whether a channel's viewers are woken for a chunk published now: with write-interval,
 * at most once per interval, the chunks between waiting (pending) for the next publish or
 * the tick (viewers_tick), so that a batch goes out in one send. Loop 0 and fan loops. */
static bool viewers_due(uint64_t *woken_ms, bool *pending, uint64_t now, unsigned interval)
{
    if (interval && now - *woken_ms < interval) {
        *pending = true;
        return false;
    }
    *woken_ms = now;
    *pending = false;
    return true;
}

/* Loop 0's TS viewers of ch, a channel or a ladder's rendition i > 0. */
static void wake_viewers(struct channel *ch)
{
    if (ch->parent) {
        for (struct live_viewer *v = ch->parent->viewers; v; v = v->next)
            if (v->rend == ch->rend)
                http_conn_wake(v->conn);
        return;
    }
    for (struct live_viewer *v = ch->viewers; v; v = v->next)
        if (!v->loop && (v->rend == 0 || !viewer_rend(v)))
            http_conn_wake(v->conn);
}

static void wake_viewers_due(struct channel *ch)
{
    if (viewers_due(&ch->woken_ms, &ch->wake_pending, live_now_ms(ch->live),
                    ch->live->cfg.write_interval_ms))
        wake_viewers(ch);
}

/* On the tick: a batch whose interval passed with no publish since (a stalled source). */
static void viewers_tick(struct channel *ch)
{
    for (int i = 0; i <= ch->nsub; i++) {
        struct channel *r = channel_rend(ch, i);
        if (r && r->wake_pending)
            wake_viewers_due(r); /* due once the interval has passed */
    }
}

void live_on_publish(struct channel *ch, const struct chunk *c)
{
    if (ch->parent) { /* a ladder's rendition i > 0: its viewers and waits */
        struct channel *p = ch->parent;
        if (ch->hls)
            hls_on_chunk(ch->hls, c);
        wake_viewers_due(ch);
        if (ch->hls && (c->flags & CHUNK_KEY) && hls_segment_count(ch->hls)) {
            for (struct pl_wait *w = p->waits; w; w = w->next)
                if (w->rend == ch->rend)
                    http_conn_wake(w->conn);
        }
        return;
    }
    if (c->flags & CHUNK_KEY)
        start_slot_release(ch);
    if (ch->archived && ch->live->archive)
        archive_publish(ch, c);
    if (ch->hls)
        hls_on_chunk(ch->hls, c);
    wake_viewers_due(ch);
    if (ch->fan_total)
        fan_publish(ch, c); /* one message and one wake-up per loop, not per viewer */
    if (ch->hls && (c->flags & CHUNK_KEY) && hls_segment_count(ch->hls)) {
        for (struct pl_wait *w = ch->waits; w; w = w->next)
            if (w->rend <= 0 || !channel_rend(ch, w->rend))
                http_conn_wake(w->conn);
    }
}

/* ---- admission of channel starts ---------------------------------------- */

static struct start_bucket *bucket_get(struct live *live, bool is_ip, int64_t line_id,
                                       const char *ip, uint64_t now)
{
    uint64_t h = is_ip ? htab_hash_bytes(1, ip, strlen(ip)) : htab_hash_u64((uint64_t)line_id);
    for (struct htab_node *n = htab_first(&live->start_buckets, h); n; n = htab_next(n)) {
        struct start_bucket *b = htab_entry(n, struct start_bucket, node);
        if (b->is_ip == is_ip && (is_ip ? strcmp(b->ip, ip) == 0 : b->line_id == line_id))
            return b;
    }
    if (live->start_buckets.n >= START_TRACK_MAX)
        return NULL;
    struct start_bucket *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->is_ip = is_ip;
    b->line_id = line_id;
    snprintf(b->ip, sizeof(b->ip), "%s", is_ip ? ip : "");
    b->tokens = live->cfg.start_burst;
    b->t_ms = now;
    htab_insert(&live->start_buckets, &b->node, h);
    return b;
}

static void bucket_refill(const struct live *live, struct start_bucket *b, uint64_t now)
{
    double burst = live->cfg.start_burst;
    b->tokens += (double)(now - b->t_ms) * live->cfg.start_rate / 60000.0;
    if (b->tokens > burst)
        b->tokens = burst;
    b->t_ms = now;
}

/* Full buckets say nothing a missing one would not: forgotten. */
static void buckets_prune(struct live *live, uint64_t now)
{
    size_t i = 0;
    struct htab_node *cur = NULL;
    for (struct htab_node *n; (n = htab_iter(&live->start_buckets, &i, &cur));) {
        struct start_bucket *b = htab_entry(n, struct start_bucket, node);
        bucket_refill(live, b, now);
        if (b->tokens >= live->cfg.start_burst) {
            htab_remove(&live->start_buckets, n);
            free(b);
        }
    }
}

/* A viewer request that would start channel s: within the line's and the
 * IP's start rate and the cap on channels starting at once? 0 if admitted,
 * else the status to answer (the refusal is counted and logged). */
static int start_admit(struct live *live, const struct cat_stream *s, const struct cat_line *line,
                       const char *ip, struct http_response *res)
{
    const struct channel *ch = channel_find(live, s->id);
    bool placed;
    const struct cat_placement *pl;
    self_placement(live, s, &placed, &pl);
    char origin[320];
    if (!placed || (pl && pl->parent_node_id &&
                    origin_source(live, s, pl->parent_node_id, origin, sizeof(origin)) < 0)) {
        /* not placed here (admission sends viewers to the nodes it is placed on), or the
         * parent to pull from is not in the nodes view yet */
        live->refused_placement++;
        http_response_header(res, "Retry-After", "2");
        http_response_text(res, 503, "text/plain; charset=utf-8",
                           placed ? "this channel's origin node is not known yet; retry\n"
                                  : "this channel does not run on this node\n");
        return 503;
    }
    if ((ch && ch->state != CH_STOPPED) || stream_keep(live, s))
        return 0; /* joining a running channel costs no start */
    uint64_t now = live_now_ms(live);
    const char *why;
    int status = 429;
    struct start_bucket *lb = bucket_get(live, false, line->id, "", now);
    struct start_bucket *ib = lb ? bucket_get(live, true, 0, ip, now) : NULL;
    if (lb)
        bucket_refill(live, lb, now);
    if (ib)
        bucket_refill(live, ib, now);
    if (live->starting >= live->cfg.max_starting) {
        live->refused_starting++;
        status = 503;
        why = "too many channels are starting; retry in a few seconds\n";
    } else if (!lb || !ib) {
        live->refused_tracking++;
        status = 503;
        why = "too many clients are starting channels; retry in a few seconds\n";
    } else if (lb->tokens < 1) {
        live->refused_line_rate++;
        why = "too many channel starts for this line; retry later\n";
    } else if (ib->tokens < 1) {
        live->refused_ip_rate++;
        why = "too many channel starts from this address; retry later\n";
    } else {
        lb->tokens -= 1;
        ib->tokens -= 1;
        return 0;
    }
    log_warn("live", "channel %lld not started for line %lld from %s: %.*s", (long long)s->id,
             (long long)line->id, ip, (int)strlen(why) - 1, why);
    http_response_header(res, "Retry-After", status == 429 ? "10" : "2");
    http_response_text(res, status, "text/plain; charset=utf-8", why);
    return status;
}

/* ---- slate ---------------------------------------------------------------- */

struct slate_cut {
    struct live *live;
    struct buf cur;
    uint32_t flags;
    int64_t pts, pts_end, first_pts, last_pts;
    const struct ts_reader *r;
    uint8_t psi[PSI_HOLD_MAX];
    size_t psi_len;
};

static void slate_emit(struct slate_cut *s)
{
    struct live *live = s->live;
    if (!s->cur.len)
        return;
    struct chunk *grown = realloc(live->slate, (live->slate_n + 1) * sizeof(*grown));
    if (!grown)
        return;
    live->slate = grown;
    struct chunk *c = &live->slate[live->slate_n];
    c->rb = refbuf_new(s->cur.data, s->cur.len);
    if (!c->rb)
        return;
    live->slate_n++;
    c->flags = s->flags;
    c->pts = s->pts;
    c->pts_end = s->pts_end;
    c->seq = live->slate_n;
    c->gen = 0;
    c->mono_ms = 0;
    buf_reset(&s->cur);
    s->flags = 0;
    s->pts = s->pts_end = TS_PTS_NONE;
}

static void slate_cut_pkt(void *ud, const struct ts_packet *pk)
{
    struct slate_cut *s = ud;
    if (pk->psi) {
        if (s->psi_len + TS_PACKET_SIZE <= PSI_HOLD_MAX) {
            memcpy(s->psi + s->psi_len, pk->p, TS_PACKET_SIZE);
            s->psi_len += TS_PACKET_SIZE;
        }
        return;
    }
    if (pk->video && pk->pusi) {
        slate_emit(s); /* one chunk per frame: smooth pacing */
        if (pk->key) {
            s->flags = CHUNK_KEY;
            if (!s->psi_len && s->r->have_pat && s->r->have_pmt) {
                buf_append(&s->cur, s->r->pat, TS_PACKET_SIZE);
                buf_append(&s->cur, s->r->pmt, TS_PACKET_SIZE);
            }
        }
    }
    if (s->psi_len) {
        buf_append(&s->cur, s->psi, s->psi_len);
        s->psi_len = 0;
    }
    buf_append(&s->cur, pk->p, TS_PACKET_SIZE);
    if (pk->pts != TS_PTS_NONE && pk->video) {
        if (s->pts == TS_PTS_NONE)
            s->pts = pk->pts;
        s->pts_end = pk->pts;
        if (s->first_pts == TS_PTS_NONE)
            s->first_pts = pk->pts;
        if (s->last_pts == TS_PTS_NONE || ts_pts_diff(pk->pts, s->last_pts) > 0)
            s->last_pts = pk->pts;
    }
}

static void slate_build(struct live *live)
{
    struct ts_reader r;
    ts_reader_init(&r);
    struct slate_cut s = {.live = live, .r = &r};
    buf_init(&s.cur, 1 << 20);
    s.pts = s.pts_end = s.first_pts = s.last_pts = TS_PTS_NONE;
    ts_reader_feed(&r, (const uint8_t *)live->slate_buf.data, live->slate_buf.len, slate_cut_pkt,
                   &s);
    slate_emit(&s);
    buf_free(&s.cur);
    /* Drop leading chunks before the first keyframe. */
    size_t k = 0;
    while (k < live->slate_n && !(live->slate[k].flags & CHUNK_KEY))
        refbuf_unref(live->slate[k++].rb);
    memmove(live->slate, live->slate + k, (live->slate_n - k) * sizeof(*live->slate));
    live->slate_n -= k;
    if (s.first_pts != TS_PTS_NONE)
        live->slate_loop_pts = ts_pts_diff(s.last_pts, s.first_pts) + 3600;
    log_info("live", "slate ready: %zu chunks, %.2f s", live->slate_n,
             (double)live->slate_loop_pts / 90000.0);
}

static void slate_start(struct live *live);

static void slate_closed(uv_handle_t *h)
{
    struct live *live = h->data;
    if (--live->slate_handles)
        return;
    if (!live->slate_n && live->slate_buf.len)
        slate_build(live);
    buf_free(&live->slate_buf);
    if (!live->slate_n && live->slate_attempt < 2 && !live->stopping)
        slate_start(live);
}

static void slate_exit(uv_process_t *p, int64_t status, int sig)
{
    struct live *live = p->data;
    if (status || sig) {
        log_warn("live", "slate generation failed (status %d)", (int)status);
        buf_reset(&live->slate_buf);
    }
    uv_close((uv_handle_t *)p, slate_closed);
}

static void slate_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char slab[65536];
    (void)h;
    (void)hint;
    b->base = slab;
    b->len = sizeof(slab);
}

static void slate_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct live *live = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)s, slate_closed);
        return;
    }
    buf_append(&live->slate_buf, b->base, (size_t)n);
}

static void slate_start(struct live *live)
{
    static const char *const with_text[] = {
        "color=c=0x1d2b53:s=640x360:r=25,drawtext=text='Channel unavailable':fontcolor=white:"
        "fontsize=36:x=(w-tw)/2:y=(h-th)/2",
        "color=c=0x1d2b53:s=640x360:r=25",
    };
    const char *graph = with_text[live->slate_attempt++ ? 1 : 0];
    const char *argv[] = {live->cfg.ffmpeg,
                          "-nostdin",
                          "-hide_banner",
                          "-loglevel",
                          "error",
                          "-f",
                          "lavfi",
                          "-i",
                          graph,
                          "-f",
                          "lavfi",
                          "-i",
                          "sine=frequency=660:sample_rate=48000",
                          "-t",
                          "2",
                          "-c:v",
                          "libx264",
                          "-preset",
                          "ultrafast",
                          "-g",
                          "50",
                          "-pix_fmt",
                          "yuv420p",
                          "-c:a",
                          "aac",
                          "-b:a",
                          "64k",
                          "-ac",
                          "2",
                          "-f",
                          "mpegts",
                          "pipe:1",
                          NULL};
    const char *full[64]; /* through `xtreamd __child`, like every ffmpeg child */
    int k = live_child_argv(live, full, 64);
    for (size_t i = 0; argv[i] && k < 63; i++)
        full[k++] = argv[i];
    full[k] = NULL;
    buf_init(&live->slate_buf, SLATE_MAX_BYTES);
    uv_pipe_init(live->loop, &live->slate_out, 0);
    live->slate_out.data = live->slate_proc.data = live;
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
         .data.stream = (uv_stream_t *)&live->slate_out},
        {.flags = UV_INHERIT_FD, .data.fd = 2},
    };
    uv_process_options_t o = {.exit_cb = slate_exit,
                              .file = full[0],
                              .args = (char **)full,
                              .env = live->child_env,
                              .stdio = stdio,
                              .stdio_count = 3};
    live->slate_handles = 1;
    if (uv_spawn(live->loop, &live->slate_proc, &o) != 0) {
        log_warn("live", "cannot run %s for the slate", argv[0]);
        uv_close((uv_handle_t *)&live->slate_out, slate_closed);
        return;
    }
    live->slate_handles = 2;
    int rc = uv_read_start((uv_stream_t *)&live->slate_out, slate_alloc, slate_read);
    if (rc) { /* no slate this time: the exit callback retries (slate_closed) */
        log_warn("live", "cannot read the slate from %s: %s", argv[0], uv_strerror(rc));
        uv_process_kill(&live->slate_proc, SIGKILL);
        uv_close((uv_handle_t *)&live->slate_out, slate_closed);
    }
}

const struct chunk *live_slate(struct live *live, size_t *n, int64_t *loop_pts)
{
    *n = live->slate_n;
    *loop_pts = live->slate_loop_pts;
    return live->slate_n ? live->slate : NULL;
}

/* ---- TS viewers ------------------------------------------------------------ */

static void fan_request(struct live_viewer *v, unsigned what);
static void fan_viewer_closed(struct live_viewer *v);
static struct http_server *viewer_handoff(void *ctx);
static void viewer_moved(void *ctx, struct http_conn *conn);

/* The ring a viewer reads: its rendition's on loop 0, the loop's mirror of
 * it on a fan loop. NULL: gone (the response ends). */
static const struct chunk_ring *viewer_ring(const struct live_viewer *v)
{
    if (v->loop)
        return v->fc ? &v->fc->ring : NULL;
    struct channel *r = viewer_rend(v);
    return r ? &r->ring : NULL;
}

static const struct chunk *ring_chunk(const struct chunk_ring *r, uint64_t seq)
{
    if (!r->items || seq < r->tail_seq || seq >= r->head_seq)
        return NULL;
    return &r->items[seq & (RING_ENTRIES - 1)];
}

/* Loop time of the loop that owns the viewer's cursor. */
static uint64_t viewer_now(const struct live_viewer *v)
{
    return v->loop ? uv_now(&v->fl->loop) : live_now_ms(v->live);
}

static void viewer_skip(struct live_viewer *v, const char *why)
{
    struct channel *ch = v->ch;
    const struct chunk_ring *r = viewer_ring(v);
    uint64_t now = viewer_now(v);
    if (!r || !r->last_key_seq || v->next_seq == r->last_key_seq)
        return;
    v->next_seq = r->last_key_seq;
    v->off = 0;
    v->slow_since_ms = 0;
    v->skip_ms[v->skip_count++ % MAX_SKIP_TRACK] = now;
    v->skips_total++;
    if (v->loop) { /* the channel's counters are loop 0's: folded in when it closes */
        atomic_store_explicit(&v->skips_pub, v->skips_total, memory_order_relaxed);
    } else {
        ch->skips++;
        v->live->skips_total++;
    }
    log_info("live", "viewer %s of channel %lld skipped to the newest keyframe (%s)", v->ip,
             (long long)ch->id, why);
}

static unsigned recent_skips(const struct live_viewer *v, uint64_t now)
{
    unsigned n = 0;
    unsigned have = v->skip_count < MAX_SKIP_TRACK ? v->skip_count : MAX_SKIP_TRACK;
    for (unsigned i = 0; i < have; i++)
        if (now - v->skip_ms[i] <= SKIP_WINDOW_MS)
            n++;
    return n;
}

static int viewer_pull(void *ctx, struct buf *out, size_t budget)
{
    struct live_viewer *v = ctx;
    (void)out;
    if (v->ended)
        return 0;
    struct channel *ch = v->ch;
    const struct chunk_ring *r = viewer_ring(v);
    if (!r) /* the ladder lost this rendition (or a fan loop had no memory for its mirror) */
        return v->loop ? -ENOMEM : 0;
    if (!v->started) {
        if (!r->last_key_seq)
            return -EAGAIN;
        v->next_seq = r->last_key_seq;
        v->off = 0;
        v->started = true;
    }
    if (v->next_seq < r->tail_seq) {
        viewer_skip(v, "fell behind the buffer");
        if (v->next_seq < r->tail_seq)
            return -EAGAIN;
    }
    size_t queued = 0;
    bool at_key = false;
    while (queued < budget && v->next_seq < r->head_seq) {
        const struct chunk *c = ring_chunk(r, v->next_seq);
        if (v->move && v->off == 0 && (c->flags & CHUNK_KEY)) {
            at_key = true; /* a whole GOP went out: end here, never mid-GOP */
            break;
        }
        size_t rem = c->rb->len - v->off;
        size_t room = budget - queued;
        size_t take = rem;
        if (take > room) {
            take = room - room % TS_PACKET_SIZE;
            if (take == 0)
                break;
        }
        int rc = http_conn_queue_ref_fd(v->conn, c->rb, c->rb->data + v->off, take,
                                        c->foff == CHUNK_NO_FOFF || !r->mf ? NULL : r->mf,
                                        c->foff + v->off);
        if (rc)
            return rc;
        v->off += take;
        queued += take;
        if (v->off == c->rb->len) {
            v->next_seq++;
            v->off = 0;
        }
    }
    v->bytes += queued;
    if (v->loop) {
        atomic_store_explicit(&v->bytes_pub, v->bytes, memory_order_relaxed);
    } else {
        ch->bytes_out += queued;
        if (queued)
            ch->delivered = true;
    }
    if (at_key) {
        if (!queued) {
            if (v->loop) {
                if (v->move_reason != MOVE_OVERLOAD)
                    fan_count(v->fl, FAN_MOVED_AT_KEY);
                fan_count(v->fl, FAN_TS_MOVED + v->move_reason);
            } else {
                if (v->move_reason != MOVE_OVERLOAD)
                    v->live->moved_at_key++; /* the older family counts the fence's only */
                v->live->moved[1][v->move_reason]++;
            }
            log_info("live", "viewer %s of channel %lld closed at a keyframe: %s", v->ip,
                     (long long)ch->id,
                     v->move_reason == MOVE_OVERLOAD ? "node overloaded" : "node fenced");
            return 0; /* the response ends; the player reconnects through the main */
        }
        return 1;
    }
    return v->next_seq < r->head_seq ? 1 : -EAGAIN;
}

/* Other nodes' origin pulls (live_serve_origin) stay: their node chose this one. */
static bool viewer_is_origin_pull(const struct live_viewer *v)
{
    return v->line_id == AUTH_PREVIEW_LINE_ID && strncmp(v->username, "node:", 5) == 0;
}

size_t live_move_ts_viewers(struct live *live, unsigned deadline_ms)
{
    size_t n = 0;
    uint64_t now = live_now_ms(live);
    live->moving_until_ms = now + deadline_ms;
    FOR_EACH_CHANNEL(live, ch)
    {
        for (struct live_viewer *v = ch->viewers; v; v = v->next) {
            if (v->loop) {
                if ((atomic_load(&v->req) & (VR_MOVE | VR_END)) || viewer_is_origin_pull(v))
                    continue;
                v->move_reason = MOVE_FENCE; /* read by its loop after VR_MOVE (release) */
                atomic_store(&v->move_after_ms, deadline_ms);
                live->ts_moving++;
                fan_request(v, VR_MOVE);
                n++;
                continue;
            }
            if (v->move || v->ended || viewer_is_origin_pull(v))
                continue;
            v->move = true;
            v->move_reason = MOVE_FENCE;
            v->move_deadline_ms = now + deadline_ms;
            live->ts_moving++;
            http_conn_wake(v->conn);
            n++;
        }
    }
    return n;
}

/* Loop 0's view of a viewer that may live on a fan loop (whose loop owns
 * move/ended from the hand-off on): its requests stand for those fields. */
static bool viewer_moving(const struct live_viewer *v)
{
    return v->loop ? (atomic_load_explicit(&v->req, memory_order_relaxed) & VR_MOVE) != 0 : v->move;
}

static bool viewer_ending(const struct live_viewer *v)
{
    return v->loop ? (atomic_load_explicit(&v->req, memory_order_relaxed) & (VR_END | VR_KICK)) != 0
                   : v->ended;
}

/* Loop 0: the viewer leaves the registry, its channel's list and memory. */
static void viewer_release(struct live_viewer *v)
{
    struct channel *ch = v->ch;
    struct live *live = v->live;
    live->loop_viewers[v->loop]--;
    conn_registry_remove(live->reg, v->handle, (int64_t)time(NULL));
    if (viewer_moving(v) && live->ts_moving)
        live->ts_moving--;
    if (viewer_is_origin_pull(v) && live->origin_viewers)
        live->origin_viewers--;
    if (v->prev)
        v->prev->next = v->next;
    else
        ch->viewers = v->next;
    if (v->next)
        v->next->prev = v->prev;
    ch->viewer_count--;
    log_info("live", "viewer %s left channel %lld after %llu bytes", v->ip, (long long)ch->id,
             (unsigned long long)v->bytes);
    free(v);
    channel_viewer_left(ch);
}

static void viewer_close(void *ctx)
{
    struct live_viewer *v = ctx;
    if (v->loop)
        fan_viewer_closed(v); /* on its fan loop: loop 0 releases it */
    else
        viewer_release(v);
}

static void viewer_kick(void *ctx)
{
    struct live_viewer *v = ctx;
    if (v->loop ? (atomic_load(&v->req) & VR_MOVE) != 0 : v->move)
        return; /* closing at its next keyframe (live_move_ts_viewers) */
    v->live->kicked_limit++;
    log_info("live", "viewer %s of line %lld closed: connection limit (newest wins)", v->ip,
             (long long)v->line_id);
    viewer_abort(v);
}

/* ---- fan-out: loop 0's side ------------------------------------------------ */

/* Releases the references a message carries (one never delivered). */
static void fan_msg_drop(const struct fan_msg *m)
{
    refbuf_unref(m->rb);
    fdref_unref(m->mf);
}

/* Queues m for fan loop k (loop 0 only). A full queue drops the chunk
 * (counted: xtreamd_loop_queue_full_total); the mirror sees the gap and its
 * viewers skip as slow ones do. */
static bool fan_send(struct live *live, unsigned k, const struct fan_msg *m)
{
    if (live->fans_stopping) {
        fan_msg_drop(m);
        return false;
    }
    if (!spsc_push(&live->fans[k - 1]->q, m)) {
        fan_msg_drop(m);
        live->fan_queue_full++;
        return false;
    }
    return true;
}

static void fan_wake(struct live *live, unsigned k)
{
    if (!live->fans_stopping)
        uv_async_send(&live->fans[k - 1]->async);
}

/* A request to a viewer on a fan loop: a flag it reads at its next check,
 * and a message so that the check is now rather than at its next tick. The
 * viewer itself is never named in a message (it may be closing already). */
static void fan_request(struct live_viewer *v, unsigned what)
{
    atomic_fetch_or_explicit(&v->req, what, memory_order_release);
    struct fan_msg m = {.type = FM_CHECK};
    if (fan_send(v->live, v->loop, &m))
        fan_wake(v->live, v->loop);
}

static void viewer_abort(struct live_viewer *v)
{
    if (v->loop)
        fan_request(v, VR_KICK);
    else
        http_conn_abort(v->conn);
}

/* The stream ends at its next pull (the server is stopping). */
static void viewer_end(struct live_viewer *v)
{
    if (v->loop) {
        fan_request(v, VR_END);
        return;
    }
    v->ended = true;
    http_conn_wake(v->conn);
}

static uint64_t viewer_bytes(const struct live_viewer *v)
{
    return v->loop ? atomic_load_explicit(&v->bytes_pub, memory_order_relaxed) : v->bytes;
}

static struct fan_msg chunk_msg(const struct channel *ch, const struct chunk *c)
{
    bool mf =
        ch->ring.mf && c->foff != CHUNK_NO_FOFF; /* write=sendfile: fan loops send from it too */
    return (struct fan_msg){.type = FM_CHUNK,
                            .key = ch,
                            .rb = refbuf_ref(c->rb),
                            .mf = mf ? fdref_ref(ch->ring.mf) : NULL,
                            .foff = mf ? c->foff : CHUNK_NO_FOFF,
                            .seq = c->seq,
                            .tail_seq = ch->ring.tail_seq,
                            .mono_ms = c->mono_ms,
                            .flags = c->flags};
}

static void fan_publish(struct channel *ch, const struct chunk *c)
{
    struct live *live = ch->live;
    for (unsigned k = 1; k < live->nloops; k++) {
        if (!ch->fan_viewers[k - 1])
            continue;
        struct fan_msg m = chunk_msg(ch, c);
        if (fan_send(live, k, &m))
            fan_wake(live, k);
    }
    /* "delivered" (channel_viewer_left) is loop 0's: a chunk for viewers
     * elsewhere counts as delivered */
    ch->delivered = true;
}

/* The first viewer of ch on loop k: the loop's mirror starts with the ring
 * from its newest keyframe, where a new viewer starts. */
static void fan_send_history(struct channel *ch, unsigned k)
{
    struct live *live = ch->live;
    const struct chunk_ring *r = &ch->ring;
    uint64_t from = r->last_key_seq ? r->last_key_seq : r->tail_seq;
    bool any = false;
    for (uint64_t seq = from; seq < r->head_seq; seq++) {
        struct fan_msg m = chunk_msg(ch, channel_chunk(ch, seq));
        any |= fan_send(live, k, &m);
    }
    if (any)
        fan_wake(live, k);
}

/* Chooses the loop with the fewest TS viewers (ties go to a fan loop: loop 0
 * also ingests, accepts and answers the API) and moves the viewer there. */
static struct http_server *viewer_handoff(void *ctx)
{
    struct live_viewer *v = ctx;
    struct live *live = v->live;
    struct channel *ch = v->ch;
    if (live->nloops < 2 || live->fans_stopping || v->rend != 0 || v->loop)
        return NULL; /* a ladder's lower renditions stay: their rings come and go */
    unsigned best = 0;
    size_t best_n = live->loop_viewers[0] - 1; /* without this viewer */
    for (unsigned k = 1; k < live->nloops; k++) {
        if (live->loop_viewers[k] < best_n || (best == 0 && live->loop_viewers[k] == best_n)) {
            best = k;
            best_n = live->loop_viewers[k];
        }
    }
    if (best == 0)
        return NULL;
    if (ch->fan_viewers[best - 1]++ == 0)
        fan_send_history(ch, best);
    ch->fan_total++;
    live->loop_viewers[0]--;
    live->loop_viewers[best]++;
    live->fan_handoffs++;
    v->loop = best;
    v->fl = live->fans[best - 1];
    return v->fl->http;
}

/* A viewer closed on a fan loop came back: its counters join the channel's,
 * and its loop drops the mirror when it was the loop's last viewer. */
static void fan_viewer_home(struct live_viewer *v)
{
    struct live *live = v->live;
    struct channel *ch = v->ch;
    unsigned k = v->loop;
    ch->bytes_out += v->bytes;
    ch->skips += v->skips_total;
    live->skips_total += v->skips_total;
    ch->fan_total--;
    if (--ch->fan_viewers[k - 1] == 0) {
        struct fan_msg m = {.type = FM_DROP, .key = ch};
        if (fan_send(live, k, &m))
            fan_wake(live, k);
    }
    viewer_release(v);
}

static void fan_back_drain(struct live *live)
{
    if (!live->back_init)
        return;
    pthread_mutex_lock(&live->back_lock);
    struct live_viewer *v = live->back_head;
    live->back_head = NULL;
    pthread_mutex_unlock(&live->back_lock);
    while (v) {
        struct live_viewer *n = v->back_next;
        fan_viewer_home(v);
        v = n;
    }
}

static void on_back(uv_async_t *a)
{
    fan_back_drain(a->data);
}

/* Fan loop: the viewer's connection closed; it goes back to loop 0 (which
 * frees it), and this loop never touches it again. */
static void fan_viewer_closed(struct live_viewer *v)
{
    struct live *live = v->live;
    struct fan_chan *fc = v->fc;
    if (fc) {
        if (v->fprev)
            v->fprev->fnext = v->fnext;
        else
            fc->viewers = v->fnext;
        if (v->fnext)
            v->fnext->fprev = v->fprev;
        v->fc = NULL;
    }
    pthread_mutex_lock(&live->back_lock);
    v->back_next = live->back_head;
    live->back_head = v;
    if (live->back_open)
        uv_async_send(&live->back_async);
    pthread_mutex_unlock(&live->back_lock);
}

/* Sum over viewers on other loops (their counters are folded into the
 * channel's when they close). */
static uint64_t chan_bytes_out(const struct channel *ch)
{
    uint64_t n = ch->bytes_out;
    if (ch->fan_total)
        for (const struct live_viewer *v = ch->viewers; v; v = v->next)
            if (v->loop)
                n += atomic_load_explicit(&v->bytes_pub, memory_order_relaxed);
    return n;
}

static uint64_t chan_skips(const struct channel *ch)
{
    uint64_t n = ch->skips;
    if (ch->fan_total)
        for (const struct live_viewer *v = ch->viewers; v; v = v->next)
            if (v->loop)
                n += atomic_load_explicit(&v->skips_pub, memory_order_relaxed);
    return n;
}

static void copy_str(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s ? s : "");
}

static int head_pull(void *ctx, struct buf *out, size_t budget)
{
    (void)ctx;
    (void)out;
    (void)budget;
    return 0;
}

/* HEAD of a response that GET streams without a length: the same headers,
 * i.e. no Content-Length and Connection: close (the server drops the body
 * source of a HEAD unread). */
static void head_unbounded(struct http_response *res)
{
    struct http_body_source src = {.pull = head_pull};
    http_response_source(res, &src, -1);
}

void live_serve_ts(struct live *live, const struct cat_stream *s, const struct cat_line *line,
                   struct http_request *req, struct http_response *res)
{
    if (req->method == HTTP_HEAD) {
        /* GET's headers only: no viewer, no registration, no channel start */
        http_response_status(res, 200);
        http_response_header(res, "Content-Type", "video/mp2t");
        http_response_header(res, "Cache-Control", "no-cache, no-store");
        head_unbounded(res);
        return;
    }
    /* Refusals below answer text/plain: the stream's headers come after them. */
    if (live->stopping) {
        http_response_text(res, 503, "text/plain; charset=utf-8", "server is stopping\n");
        return;
    }
    /* ?q=I: rendition I of a ladder (0 = the top one, the default) */
    const char *q = http_request_param(req, "q");
    int rend = 0;
    if (q) {
        char *end;
        long qi = strtol(q, &end, 10);
        int have = s->profile && s->profile->nrenditions > 1 ? s->profile->nrenditions : 1;
        if (end == q || *end || qi < 0 || qi >= have) {
            http_response_text(res, 400, "text/plain; charset=utf-8",
                               have > 1 ? "bad q: a rendition index of this channel's ladder\n"
                                        : "bad q: this channel has one rendition (q=0)\n");
            return;
        }
        rend = (int)qi;
    }
    if (start_admit(live, s, line, req->client_ip, res))
        return;
    struct channel *ch = channel_get(live, s);
    struct live_viewer *v = ch ? calloc(1, sizeof(*v)) : NULL;
    if (!v) {
        http_response_text(res, 500, "text/plain; charset=utf-8", "out of memory\n");
        return;
    }
    v->live = live;
    v->ch = ch;
    v->rend = rend;
    v->conn = http_response_conn(res);
    v->line_id = line->id;
    copy_str(v->username, sizeof(v->username), line->username);
    copy_str(v->ip, sizeof(v->ip), req->client_ip);
    copy_str(v->ua, sizeof(v->ua), http_request_header(req, "User-Agent"));
    v->start_ms = v->progress_ms = live_now_ms(live);
    v->serial = ++live->next_serial;
    int64_t now = (int64_t)time(NULL);
    v->handle =
        conn_registry_add(live->reg, line->id, CONN_LIVE, s->id, v->ip, v->ua, now, viewer_kick, v);
    if (!v->handle) { /* counted by the registry (xtreamd_connections_refused_total) */
        free(v);
        log_warn("live", "viewer %s of line %lld refused: connection registry full", req->client_ip,
                 (long long)line->id);
        http_response_text(res, 503, "text/plain; charset=utf-8",
                           "too many connections on this server; retry later\n");
        return;
    }
    http_response_status(res, 200);
    http_response_header(res, "Content-Type", "video/mp2t");
    http_response_header(res, "Cache-Control", "no-cache, no-store");
    v->next = ch->viewers;
    if (ch->viewers)
        ch->viewers->prev = v;
    ch->viewers = v;
    ch->viewer_count++;
    ch->viewers_total++;
    live->viewers_total++;
    if (viewer_is_origin_pull(v))
        live->origin_viewers++;
    live->loop_viewers[0]++;
    struct http_body_source src = {.pull = viewer_pull,
                                   .close = viewer_close,
                                   .ctx = v,
                                   .handoff = viewer_handoff,
                                   .moved = viewer_moved};
    http_response_source(res, &src, -1);
    channel_touch(ch);
    conn_registry_enforce(live->reg, line->id, line->max_connections, v->handle, now);
    log_info("live", "viewer %s joined channel %lld (%zu watching)", v->ip, (long long)ch->id,
             ch->viewer_count);
}

void live_serve_origin(struct live *live, const struct cat_stream *s, int64_t node_id,
                       struct http_request *req, struct http_response *res)
{
    char who[40];
    snprintf(who, sizeof(who), "node:%lld", (long long)node_id);
    /* the preview pseudo-line: no catalogue line to re-validate, no connection limit */
    struct cat_line line = {
        .id = AUTH_PREVIEW_LINE_ID,
        .username = who,
        .password = "",
        .enabled = true,
        .outputs = CAT_OUT_TS,
        .message = "",
        .view_key = "",
    };
    live_serve_ts(live, s, &line, req, res);
}

/* ---- HLS -------------------------------------------------------------------- */

static size_t token_bucket(const char *t)
{
    return (size_t)(hash_fnv1a_str(t) % SESS_BUCKETS);
}

static struct hls_session *session_find(struct live *live, const char *token)
{
    if (strlen(token) != TOKEN_LEN)
        return NULL;
    for (struct hls_session *s = live->sessions[token_bucket(token)]; s; s = s->hnext)
        if (sodium_memcmp(s->token, token, TOKEN_LEN) == 0)
            return s;
    return NULL;
}

static uint64_t session_key_hash(int64_t line_id, int64_t channel_id, const char *ip,
                                 const char *ua)
{
    uint64_t h = htab_hash_u64((uint64_t)line_id) ^ htab_hash_u64((uint64_t)channel_id * 3 + 1);
    h = htab_hash_bytes(h, ip, strlen(ip) + 1); /* the NUL separates ip from ua */
    return htab_hash_bytes(h, ua, strlen(ua));
}

static void session_unlink(struct live *live, struct hls_session *s)
{
    for (struct hls_session **p = &live->sessions[token_bucket(s->token)]; *p; p = &(*p)->hnext) {
        if (*p == s) {
            *p = s->hnext;
            break;
        }
    }
    htab_remove(&live->sess_keys, &s->knode);
    live->session_count--;
    if (s->moved && live->hls_moving)
        live->hls_moving--;
    conn_registry_remove(live->reg, s->handle, (int64_t)time(NULL));
    struct channel *ch = channel_find(live, s->channel_id);
    free(s);
    if (ch && ch->hls_sessions) {
        ch->hls_sessions--;
        if (ch->hls_sessions == 0)
            channel_hls_drop(ch);
        channel_viewer_left(ch);
    }
}

static void session_kick(void *ctx)
{
    struct hls_session *s = ctx;
    if (live_now_ms(s->live) < s->live->moving_until_ms)
        return; /* fenced: its next playlist request is sent to the main (hls_move_away); a
                 * dead token now would fail the segments it already listed */
    s->kicked = true;
    s->live->kicked_limit++;
    log_info("live", "HLS session of line %lld ended: connection limit (newest wins)",
             (long long)s->line_id);
}

/* Chunk a comes after chunk b: a later generation, or the same one and a
 * later PTS (generations count up; their PTS may restart anywhere). */
static bool chunk_after(const struct chunk *a, const struct chunk *b)
{
    if (a->gen != b->gen)
        return (int32_t)(a->gen - b->gen) > 0;
    return ts_pts_diff(a->pts, b->pts) > 0;
}

/* A ladder's segmenters: one per rendition on one grid (struct hls_grid),
 * its step the segment target rounded up to whole GOPs, each bootstrapped
 * from its ring from the newest of the renditions' oldest keyframes, so
 * that all start on the same keyframe. */
static void hls_ensure_ladder(struct channel *ch)
{
    unsigned gop_ms = (unsigned)ch->profile.gop_seconds * 1000;
    unsigned target = live_cfg(ch->live)->hls_segment_ms;
    if (!ch->grid && !(ch->grid = calloc(1, sizeof(*ch->grid))))
        return;
    *ch->grid = (struct hls_grid){
        .gop_ms = gop_ms,
        .step_ms = gop_ms ? (target + gop_ms - 1) / gop_ms * gop_ms : target,
    };
    /* the start: the latest (generation, then PTS) of the renditions'
     * oldest keyframes */
    const struct chunk *start = NULL;
    for (int i = 0; i <= ch->nsub; i++) {
        struct channel *r = channel_rend(ch, i);
        if (!(r->hls = hls_new(ch->grid->step_ms, ch->grid))) {
            channel_hls_drop(ch);
            return;
        }
        for (uint64_t q = r->ring.tail_seq; q < r->ring.head_seq; q++) {
            const struct chunk *c = channel_chunk(r, q);
            if ((c->flags & CHUNK_KEY) && c->pts != TS_PTS_NONE) {
                if (!start || chunk_after(c, start))
                    start = c;
                break;
            }
        }
    }
    for (int i = 0; i <= ch->nsub && start; i++) {
        struct channel *r = channel_rend(ch, i);
        bool on = false;
        for (uint64_t q = r->ring.tail_seq; q < r->ring.head_seq; q++) {
            const struct chunk *c = channel_chunk(r, q);
            on = on || ((c->flags & CHUNK_KEY) && c->pts != TS_PTS_NONE &&
                        (c->gen == start->gen ? ts_pts_diff(c->pts, start->pts) >= 0
                                              : chunk_after(c, start)));
            if (on)
                hls_on_chunk(r->hls, c);
        }
    }
}

static void hls_ensure(struct channel *ch)
{
    if (ch->hls)
        return;
    /* Sequence numbers and cuts come from the stream's timestamps (struct
     * hls_grid), the same on every node reading the stream. */
    if (ch->nsub) {
        hls_ensure_ladder(ch);
        return;
    }
    unsigned target = live_cfg(ch->live)->hls_segment_ms;
    if (!ch->grid && !(ch->grid = calloc(1, sizeof(*ch->grid))))
        return;
    *ch->grid = (struct hls_grid){.step_ms = target};
    ch->hls = hls_new(target, ch->grid);
    if (!ch->hls)
        return;
    /* Bootstrap from the ring, starting at its oldest keyframe chunk. */
    for (uint64_t q = ch->ring.tail_seq; q < ch->ring.head_seq; q++)
        hls_on_chunk(ch->hls, channel_chunk(ch, q));
}

static struct hls_session *session_lookup(struct live *live, uint64_t kh, int64_t line_id,
                                          int64_t channel_id, const char *ip, const char *ua)
{
    for (struct htab_node *n = htab_first(&live->sess_keys, kh); n; n = htab_next(n)) {
        struct hls_session *s = htab_entry(n, struct hls_session, knode);
        if (!s->kicked && s->line_id == line_id && s->channel_id == channel_id &&
            strcmp(s->ip, ip) == 0 && strcmp(s->ua, ua) == 0)
            return s;
    }
    return NULL;
}

uint64_t live_hls_session_of(struct live *live, int64_t stream_id, const struct cat_line *line,
                             struct http_request *req)
{
    char uab[128], ipb[46];
    copy_str(uab, sizeof(uab), http_request_header(req, "User-Agent"));
    copy_str(ipb, sizeof(ipb), req->client_ip);
    struct hls_session *s = session_lookup(live, session_key_hash(line->id, stream_id, ipb, uab),
                                           line->id, stream_id, ipb, uab);
    return s ? s->handle : 0;
}

/* The session of (line, channel, IP, UA), created if needed; NULL with
 * *status 500 (no memory) or 503 (connection registry full). */
static struct hls_session *session_for(struct live *live, struct channel *ch,
                                       const struct cat_line *line, struct http_request *req,
                                       int *status)
{
    const char *ua = http_request_header(req, "User-Agent");
    char uab[128], ipb[46];
    copy_str(uab, sizeof(uab), ua);
    copy_str(ipb, sizeof(ipb), req->client_ip);
    uint64_t kh = session_key_hash(line->id, ch->id, ipb, uab);
    struct hls_session *found = session_lookup(live, kh, line->id, ch->id, ipb, uab);
    if (found)
        return found;
    *status = 500;
    struct hls_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    int64_t now = (int64_t)time(NULL);
    s->handle =
        conn_registry_add(live->reg, line->id, CONN_HLS, ch->id, ipb, uab, now, session_kick, s);
    if (!s->handle) { /* counted by the registry */
        free(s);
        *status = 503;
        log_warn("live", "HLS session of line %lld refused: connection registry full",
                 (long long)line->id);
        return NULL;
    }
    s->live = live;
    unsigned char raw[TOKEN_LEN / 2];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(s->token, sizeof(s->token), raw, sizeof(raw));
    s->channel_id = ch->id;
    s->line_id = line->id;
    copy_str(s->username, sizeof(s->username), line->username);
    copy_str(s->ip, sizeof(s->ip), req->client_ip);
    copy_str(s->ua, sizeof(s->ua), uab);
    s->created_ms = live_now_ms(live);
    s->serial = ++live->next_serial;
    size_t bkt = token_bucket(s->token);
    s->hnext = live->sessions[bkt];
    live->sessions[bkt] = s;
    htab_insert(&live->sess_keys, &s->knode, kh);
    live->session_count++;
    ch->hls_sessions++;
    conn_registry_enforce(live->reg, line->id, line->max_connections, s->handle, now);
    log_info("live", "HLS session for line %lld on channel %lld from %s", (long long)line->id,
             (long long)ch->id, s->ip);
    return s;
}

/* rend -1: the session URL's playlist (a ladder's master, else the media
 * playlist); i: a ladder's variant i. */
static void render_playlist(struct channel *ch, const char *token, int rend, struct buf *out)
{
    if (rend < 0 && ch->nsub) {
        struct tx_ladder l;
        char prefix[64], text[2048];
        tx_ladder_from_profile(&ch->profile, &l);
        snprintf(prefix, sizeof(prefix), "/hls/%s/", token);
        int n = tx_ladder_master(&l, prefix, text, sizeof(text));
        if (n > 0)
            buf_append(out, text, (size_t)n);
        return;
    }
    struct channel *r = channel_rend(ch, rend < 0 ? 0 : rend);
    if (r && r->hls)
        hls_render(r->hls, token, ch->nsub ? (rend < 0 ? 0 : rend) : -1, out);
}

static int wait_pull(void *ctx, struct buf *out, size_t budget)
{
    struct pl_wait *w = ctx;
    (void)budget;
    if (w->done)
        return 0;
    struct channel *ch = w->ch;
    bool ready = wait_ready(w);
    if (!ready && live_now_ms(w->live) - w->since_ms < WAIT_FIRST_MS && !w->live->stopping)
        return -EAGAIN;
    if (ch)
        render_playlist(ch, w->token, w->rend, out);
    w->done = true;
    return 0;
}

static void wait_close(void *ctx)
{
    struct pl_wait *w = ctx;
    if (w->prev)
        w->prev->next = w->next;
    else
        w->ch->waits = w->next;
    if (w->next)
        w->next->prev = w->prev;
    free(w);
}

static void playlist_wait(struct live *live, struct channel *ch, const char *token, int rend,
                          struct http_response *res);

/* A draining or fenced node sends its HLS viewers away at their next playlist refresh: 302 to
 * the main with the same path (the main's admission picks a node; every node numbers segments
 * alike, so the player continues with the next segment: docs/operator-guide.md, "What a viewer
 * sees when a node drains"). true when answered. */
/* A path segment percent-encoded (RFC 3986 unreserved kept). */
static void path_seg(struct buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            buf_append(b, s, 1);
        else
            buf_printf(b, "%%%02X", c);
    }
}

static bool hls_redirect_main(struct live *live, const struct cat_stream *st,
                              const struct cat_line *line, struct http_request *req,
                              struct http_response *res, enum move_reason why)
{
    size_t n = 0;
    const struct cluster_node_view *nodes = cluster_nodes(live->cluster, &n);
    const char *main_url = NULL;
    for (size_t i = 0; i < n && !main_url; i++)
        if (nodes[i].role == CLUSTER_ROLE_MAIN && nodes[i].public_url[0])
            main_url = nodes[i].public_url;
    if (!main_url)
        return false; /* nowhere to send it: keep serving */
    size_t ul = strlen(main_url);
    while (ul && main_url[ul - 1] == '/')
        ul--;
    /* the line's own playlist URL at the main: this request may be a token URL made for this
     * node only (/c/TOKEN/ID.m3u8), which the main would refuse */
    struct buf loc;
    buf_init(&loc, 2048);
    buf_printf(&loc, "%.*s", (int)ul, main_url);
    if (line->id == AUTH_PREVIEW_LINE_ID) {
        buf_puts(&loc, req->target);
    } else {
        buf_puts(&loc, "/live/");
        path_seg(&loc, line->username);
        buf_puts(&loc, "/");
        path_seg(&loc, line->password);
        buf_printf(&loc, "/%lld.m3u8", (long long)st->id);
    }
    if (loc.err) {
        buf_free(&loc);
        return false;
    }
    if (why != MOVE_OVERLOAD)
        live->hls_moved++; /* the older family counts drain and fence only */
    live->moved[0][why]++;
    http_response_header(res, "Location", loc.data);
    buf_free(&loc);
    http_response_header(res, "Cache-Control", "no-store");
    http_response_text(res, 302, "text/plain; charset=utf-8",
                       why == MOVE_OVERLOAD ? "this node is overloaded\n"
                                            : "this node is draining\n");
    return true;
}

static bool hls_move_away(struct live *live, const struct cat_stream *st,
                          const struct cat_line *line, struct http_request *req,
                          struct http_response *res)
{
    if (!live->cluster || cluster_is_main(live->cluster) ||
        cluster_self_state(live->cluster) == CLUSTER_STATE_ACTIVE)
        return false;
    return hls_redirect_main(
        live, st, line, req, res,
        cluster_self_state(live->cluster) == CLUSTER_STATE_DRAINING ? MOVE_DRAIN : MOVE_FENCE);
}

/* An overloaded node (live_tick's overload_tick) sends the newest HLS sessions of its excess to
 * the main at their playlist refresh, as a drained node does: the main's placement skips this
 * node (over its cap in the view) and the player continues on another node with the next
 * segment. The main sheds too: its 302 to its own URL goes through its placement again. A
 * session sent off and then sent back here is served and counts again. true when answered. */
static bool hls_shed(struct live *live, struct hls_session *s, const struct cat_stream *st,
                     const struct cat_line *line, struct http_request *req,
                     struct http_response *res)
{
    if (s->moved) {
        /* it came back: the main chose this node again (its view is up to 2 s old; on the main,
         * its own placement chose itself). Served this time, so a player never meets a redirect
         * loop; it counts again and its next refresh is judged afresh. */
        s->moved = false;
        if (live->hls_moving)
            live->hls_moving--;
        return false;
    }
    if (s->serial < live->shed_hls_from || line->id == AUTH_PREVIEW_LINE_ID)
        return false;
    if (!hls_redirect_main(live, st, line, req, res, MOVE_OVERLOAD))
        return false;
    s->moved = true;
    live->hls_moving++;
    log_info("live", "HLS session of line %lld on channel %lld sent to the main: node overloaded",
             (long long)s->line_id, (long long)s->channel_id);
    return true;
}

void live_serve_m3u8(struct live *live, const struct cat_stream *st, const struct cat_line *line,
                     struct http_request *req, struct http_response *res)
{
    live->hls_requests++;
    if (live->stopping) {
        http_response_text(res, 503, "text/plain; charset=utf-8", "server is stopping\n");
        return;
    }
    if (req->method == HTTP_HEAD) {
        /* HEAD opens no session (it would count against max_connections and
         * could cut the line's viewer) and starts nothing; it answers GET's
         * headers: the playlist's length, rendered with a token of the same
         * size, or a close-delimited cold start. */
        struct channel *ch = channel_find(live, st->id);
        http_response_status(res, 200);
        http_response_header(res, "Content-Type", "application/vnd.apple.mpegurl");
        http_response_header(res, "Cache-Control", "no-store, no-cache, must-revalidate");
        if (ch && ch->hls && hls_segment_count(ch->hls)) {
            char token[TOKEN_LEN + 1];
            memset(token, '0', TOKEN_LEN);
            token[TOKEN_LEN] = '\0';
            render_playlist(ch, token, -1, http_response_buf(res));
        } else {
            head_unbounded(res);
        }
        return;
    }
    if (hls_move_away(live, st, line, req, res))
        return;
    if (start_admit(live, st, line, req->client_ip, res))
        return;
    struct channel *ch = channel_get(live, st);
    int status = 500;
    struct hls_session *s = ch ? session_for(live, ch, line, req, &status) : NULL;
    if (!s) {
        http_response_text(res, status, "text/plain; charset=utf-8",
                           status == 503 ? "too many connections on this server; retry later\n"
                                         : "out of memory\n");
        return;
    }
    if (hls_shed(live, s, st, line, req, res))
        return;
    http_response_header(res, "Content-Type", "application/vnd.apple.mpegurl");
    http_response_header(res, "Cache-Control", "no-store, no-cache, must-revalidate");
    s->last_ms = live_now_ms(live);
    channel_touch(ch);
    hls_ensure(ch);
    http_response_status(res, 200);
    if (ch->hls && hls_segment_count(ch->hls)) {
        render_playlist(ch, s->token, -1, http_response_buf(res));
        return;
    }
    if (req->method == HTTP_HEAD)
        return;
    playlist_wait(live, ch, s->token, -1, res);
}

/* Cold start: hold the request until the first segment exists. */
static void playlist_wait(struct live *live, struct channel *ch, const char *token, int rend,
                          struct http_response *res)
{
    struct pl_wait *w = calloc(1, sizeof(*w));
    if (!w) {
        http_response_text(res, 500, "text/plain; charset=utf-8", "out of memory\n");
        return;
    }
    w->live = live;
    w->ch = ch;
    w->conn = http_response_conn(res);
    copy_str(w->token, sizeof(w->token), token);
    w->channel_id = ch->id;
    w->rend = rend;
    w->since_ms = live_now_ms(live);
    w->next = ch->waits;
    if (ch->waits)
        ch->waits->prev = w;
    ch->waits = w;
    struct http_body_source src = {.pull = wait_pull, .close = wait_close, .ctx = w};
    http_response_source(res, &src, -1);
}

void live_serve_segment(struct live *live, const char *token, const char *seg,
                        struct http_request *req, struct http_response *res)
{
    live->segment_requests++;
    struct hls_session *s = session_find(live, token);
    if (!s || s->kicked) {
        http_response_text(res, 403, "text/plain; charset=utf-8", "invalid or expired token\n");
        return;
    }
    char *end;
    unsigned long long seq = strtoull(seg, &end, 10);
    struct channel *ch = channel_find(live, s->channel_id);
    /* a ladder: "<i>.m3u8" is variant i's playlist, "<i>_<seq>.ts" its
     * segment */
    struct channel *r = ch;
    if (ch && ch->nsub && end != seg && (*end == '_' || strcmp(end, ".m3u8") == 0)) {
        r = seq <= (unsigned long long)ch->nsub ? channel_rend(ch, (int)seq) : NULL;
        if (r && strcmp(end, ".m3u8") == 0) {
            live->hls_requests++;
            if (req->method != HTTP_HEAD) { /* HEAD keeps nothing alive */
                s->last_ms = live_now_ms(live);
                conn_registry_touch(live->reg, s->handle); /* a cluster session's lease */
            }
            http_response_header(res, "Content-Type", "application/vnd.apple.mpegurl");
            http_response_header(res, "Cache-Control", "no-store, no-cache, must-revalidate");
            http_response_status(res, 200);
            if (!r->hls) /* after the segmenters were dropped: a new start */
                hls_ensure(ch);
            if (r->hls && hls_segment_count(r->hls))
                render_playlist(ch, s->token, r->rend, http_response_buf(res));
            else if (req->method != HTTP_HEAD)
                playlist_wait(live, ch, s->token, r->rend, res);
            return;
        }
        const char *q = end + 1;
        seq = r ? strtoull(q, &end, 10) : 0;
        if (r && end == q)
            r = NULL;
    }
    if (end == seg || strcmp(end, ".ts") != 0 || !r || !r->hls) {
        http_response_text(res, 404, "text/plain; charset=utf-8", "no such segment\n");
        return;
    }
    size_t n, bytes;
    struct refbuf *const *chunks = hls_segment(r->hls, seq, &n, &bytes);
    if (!chunks) {
        http_response_text(res, 404, "text/plain; charset=utf-8", "no such segment\n");
        return;
    }
    http_response_status(res, 200);
    http_response_header(res, "Content-Type", "video/mp2t");
    http_response_header(res, "Cache-Control", "max-age=60");
    for (size_t i = 0; i < n; i++) {
        int rc = http_response_body_ref(res, chunks[i]);
        if (rc) { /* latched in the response: answered 500, never a short segment */
            live->segment_ref_errors++;
            log_warn("live", "segment %llu of channel %lld not sent: %s", seq, (long long)ch->id,
                     strerror(-rc));
            return;
        }
    }
    if (req->method == HTTP_HEAD)
        return; /* same headers; neither keeps the session alive nor counts bytes */
    ch->delivered = true;
    s->last_ms = live_now_ms(live);
    conn_registry_touch(live->reg, s->handle); /* a cluster session's lease (batched there) */
    s->bytes += bytes;
    ch->bytes_out += bytes;
    live->segment_bytes += bytes;
}

/* ---- housekeeping ------------------------------------------------------------ */

struct slow_cfg {
    unsigned slow_lag_ms, slow_grace_ms, max_skips, no_progress_ms;
};

/* The chunk of the viewer's oldest byte not yet written: what its pulls queued waits in the
 * connection (up to a batch, http/server.c's STREAM_REF_BUDGET), so the chunk at next_seq
 * alone would read the lag short by as much. Walks back from the pull position over the
 * `unsent` bytes; the ring's oldest chunk if they reach past it, NULL if that is gone. */
static const struct chunk *oldest_unsent(const struct live_viewer *v, const struct chunk_ring *r,
                                         size_t unsent)
{
    uint64_t seq = v->next_seq;
    size_t queued = v->off; /* bytes of chunk seq already pulled */
    while (unsent > queued && seq > r->tail_seq) {
        unsent -= queued;
        const struct chunk *c = ring_chunk(r, --seq);
        if (!c)
            return NULL;
        queued = c->rb->len;
    }
    return ring_chunk(r, seq);
}

/* VC_CUT + enum move_reason: cut at the move's deadline (the reason read before the abort) */
enum { VC_OK, VC_SLOW, VC_CUT };

/* One viewer's housekeeping, on the loop that owns its cursor: a fenced
 * node's deadline, slow readers skipped, then disconnected. */
static int viewer_check(struct live_viewer *v, uint64_t now, const struct slow_cfg *cfg)
{
    if (v->move && !v->ended && now >= v->move_deadline_ms) {
        int rc = VC_CUT + v->move_reason;
        http_conn_abort(v->conn); /* no keyframe in time: cut where it is */
        return rc;
    }
    if (!v->started || v->ended)
        return VC_OK;
    if (v->bytes != v->progress_bytes) {
        v->progress_bytes = v->bytes;
        v->progress_ms = now;
    }
    const struct chunk_ring *r = viewer_ring(v);
    if (!r)
        return VC_OK;
    size_t unsent = http_conn_queued_bytes(v->conn);
    const struct chunk *c = oldest_unsent(v, r, unsent);
    bool behind = v->next_seq < r->head_seq;
    uint64_t lag = behind || unsent ? (c ? now - c->mono_ms : UINT64_MAX) : 0;
    if (lag > cfg->slow_lag_ms) {
        if (!v->slow_since_ms)
            v->slow_since_ms = now;
        else if (now - v->slow_since_ms >= cfg->slow_grace_ms)
            viewer_skip(v, "slow reader");
    } else {
        v->slow_since_ms = 0;
    }
    const char *why = NULL;
    if (recent_skips(v, now) > cfg->max_skips)
        why = "too many skips";
    else if (behind && now - v->progress_ms > cfg->no_progress_ms)
        why = "no progress";
    if (!why)
        return VC_OK;
    log_warn("live", "viewer %s of channel %lld disconnected: %s", v->ip, (long long)v->ch->id,
             why);
    http_conn_abort(v->conn); /* frees v through viewer_close */
    return VC_SLOW;
}

static void check_viewers(struct live *live, struct channel *ch, uint64_t now)
{
    const struct slow_cfg cfg = {live->cfg.slow_lag_ms, live->cfg.slow_grace_ms,
                                 live->cfg.max_skips, live->cfg.no_progress_ms};
    struct live_viewer *next;
    for (struct live_viewer *v = ch->viewers; v; v = next) {
        next = v->next;
        if (v->loop)
            continue; /* its own loop checks it */
        int rc = viewer_check(v, now, &cfg);
        if (rc >= VC_CUT) {
            if (rc - VC_CUT != MOVE_OVERLOAD)
                live->moved_cut++; /* the older family counts the fence's only */
            live->moved[1][rc - VC_CUT]++;
        } else if (rc == VC_SLOW) {
            live->kicked_slow++;
        }
    }
}

/* ---- fan-out: a fan loop's side -------------------------------------------- */

static struct fan_chan *fan_chan_get(struct fan_loop *fl, const struct channel *key, bool create)
{
    for (struct fan_chan *fc = fl->chans; fc; fc = fc->next)
        if (fc->key == key)
            return fc;
    if (!create)
        return NULL;
    struct fan_chan *fc = calloc(1, sizeof(*fc));
    if (fc && !(fc->ring.items = calloc(RING_ENTRIES, sizeof(*fc->ring.items)))) {
        free(fc);
        fc = NULL;
    }
    if (!fc) {
        log_warn("live", "loop %u: no memory for a channel's ring; its viewers there end", fl->idx);
        return NULL;
    }
    fc->key = key;
    fc->next = fl->chans;
    fl->chans = fc;
    return fc;
}

static void mirror_evict(struct chunk_ring *r)
{
    struct chunk *t = &r->items[r->tail_seq & (RING_ENTRIES - 1)];
    r->bytes -= t->rb->len;
    refbuf_unref(t->rb);
    t->rb = NULL;
    r->tail_seq++;
    if (r->last_key_seq && r->last_key_seq < r->tail_seq)
        r->last_key_seq = 0;
}

static void fan_chan_free(struct fan_loop *fl, struct fan_chan *fc)
{
    for (struct fan_chan **pp = &fl->chans; *pp; pp = &(*pp)->next) {
        if (*pp == fc) {
            *pp = fc->next;
            break;
        }
    }
    while (fc->ring.tail_seq < fc->ring.head_seq)
        mirror_evict(&fc->ring);
    fdref_unref(fc->ring.mf);
    free(fc->ring.items);
    free(fc);
}

/* Appends a published chunk, evicting what loop 0's ring evicted. A gap (a
 * chunk the full queue dropped) restarts the mirror at the new chunk: its
 * viewers start again at the next keyframe. */
static void fan_chan_append(struct fan_chan *fc, const struct fan_msg *m)
{
    struct chunk_ring *r = &fc->ring;
    if (m->seq != r->head_seq) {
        while (r->tail_seq < r->head_seq)
            mirror_evict(r);
        r->tail_seq = r->head_seq = m->seq;
        r->last_key_seq = 0;
        for (struct live_viewer *v = fc->viewers; v; v = v->fnext) {
            v->started = false;
            v->off = 0;
        }
    }
    if (r->head_seq - r->tail_seq >= RING_ENTRIES)
        mirror_evict(r);
    if (m->mf != r->mf) {
        /* Another memfd (the rendition restarted, or write=copy now): the
         * mirror's offsets name the old one, so its older chunks go by copy. */
        for (uint64_t s = r->tail_seq; s < r->head_seq; s++)
            r->items[s & (RING_ENTRIES - 1)].foff = CHUNK_NO_FOFF;
        fdref_unref(r->mf);
        r->mf = m->mf; /* takes the message's reference */
    } else {
        fdref_unref(m->mf); /* the mirror holds one already */
    }
    struct chunk *c = &r->items[r->head_seq & (RING_ENTRIES - 1)];
    c->rb = m->rb;
    c->foff = m->foff; /* sent with sendfile from r->mf, bytes punched since go by copy */
    c->seq = r->head_seq++;
    c->flags = m->flags;
    c->mono_ms = m->mono_ms;
    r->bytes += m->rb->len;
    if (c->flags & CHUNK_KEY)
        r->last_key_seq = c->seq;
    while (r->tail_seq < m->tail_seq && r->tail_seq < r->head_seq - 1)
        mirror_evict(r);
}

/* Loop 0's requests (VR_*), then, on the tick, the viewer's housekeeping. */
static void fan_check_viewer(struct fan_loop *fl, struct live_viewer *v, uint64_t now,
                             const struct slow_cfg *cfg)
{
    unsigned req = atomic_load_explicit(&v->req, memory_order_acquire);
    if (req & VR_KICK) {
        /* Kicked before this loop wrote anything (the kick crossed the hand-over: a line's
         * newest viewer arriving right behind this one): its head, queued on loop 0, goes
         * out and the stream ends, as on loop 0, where the head is written before the next
         * request is read. Closing now would drop a 200 already in the access log; the
         * client saw a hang-up (live-abuse.test.mjs, loops.test.mjs). */
        if (http_conn_bytes_sent(v->conn) == v->arrived_sent) {
            v->ended = true;
            http_conn_wake(v->conn);
            return;
        }
        http_conn_abort(v->conn);
        return;
    }
    if ((req & VR_END) && !v->ended) {
        v->ended = true;
        http_conn_wake(v->conn);
    }
    if ((req & VR_MOVE) && !v->move) {
        v->move = true;
        v->move_deadline_ms = now + atomic_load(&v->move_after_ms);
        http_conn_wake(v->conn);
    }
    if (!cfg)
        return;
    int rc = viewer_check(v, now, cfg);
    if (rc >= VC_CUT) {
        if (rc - VC_CUT != MOVE_OVERLOAD)
            fan_count(fl, FAN_MOVED_CUT);
        fan_count(fl, FAN_TS_MOVED + rc - VC_CUT);
    } else if (rc == VC_SLOW) {
        fan_count(fl, FAN_KICKED_SLOW);
    }
}

static void fan_check_all(struct fan_loop *fl, bool housekeeping)
{
    uint64_t now = uv_now(&fl->loop);
    const struct slow_cfg cfg = {atomic_load(&fl->slow_lag_ms), atomic_load(&fl->slow_grace_ms),
                                 atomic_load(&fl->max_skips), atomic_load(&fl->no_progress_ms)};
    for (struct fan_chan *fc = fl->chans; fc; fc = fc->next)
        for (struct live_viewer *v = fc->viewers; v; v = v->fnext) /* closes are deferred */
            fan_check_viewer(fl, v, now, housekeeping ? &cfg : NULL);
}

/* The connection arrived on this loop (http_body_source.moved). */
static void viewer_moved(void *ctx, struct http_conn *conn)
{
    struct live_viewer *v = ctx;
    v->conn = conn;
    v->arrived_sent = http_conn_bytes_sent(conn); /* its head is still queued */
    struct fan_chan *fc = fan_chan_get(v->fl, v->ch, true);
    if (!fc)
        return; /* its first pull fails: the connection closes */
    v->fc = fc;
    v->fprev = NULL;
    v->fnext = fc->viewers;
    if (fc->viewers)
        fc->viewers->fprev = v;
    fc->viewers = v;
    fan_check_viewer(v->fl, v, uv_now(&v->fl->loop), NULL); /* requested before it arrived */
}

static void fan_http_stopped(void *ud)
{
    struct fan_loop *fl = ud;
    fl->http = NULL;
    atomic_store(&fl->http_done, true);
    uv_close((uv_handle_t *)&fl->async, NULL);
    uv_close((uv_handle_t *)&fl->tick, NULL);
}

static void fan_wake_due(struct fan_loop *fl, struct fan_chan *fc)
{
    if (!viewers_due(&fc->woken_ms, &fc->wake_pending, uv_now(&fl->loop),
                     atomic_load_explicit(&fl->write_interval_ms, memory_order_relaxed)))
        return;
    for (struct live_viewer *v = fc->viewers; v; v = v->fnext)
        http_conn_wake(v->conn); /* flushed once at the end of this loop turn */
}

static void fan_on_async(uv_async_t *a)
{
    struct fan_loop *fl = a->data;
    struct fan_msg m;
    bool check = false;
    while (spsc_pop(&fl->q, &m)) {
        struct fan_chan *fc;
        switch (m.type) {
        case FM_CHUNK:
            if (!(fc = fan_chan_get(fl, m.key, true))) {
                fan_msg_drop(&m);
                break;
            }
            fan_chan_append(fc, &m);
            fan_wake_due(fl, fc);
            break;
        case FM_DROP:
            if ((fc = fan_chan_get(fl, m.key, false)) && !fc->viewers)
                fan_chan_free(fl, fc);
            break;
        default:
            check = true;
            break;
        }
    }
    if (check)
        fan_check_all(fl, false);
    if (atomic_load(&fl->stop_req) && !fl->stopping) {
        fl->stopping = true;
        for (struct fan_chan *fc = fl->chans; fc; fc = fc->next)
            for (struct live_viewer *v = fc->viewers; v; v = v->fnext) {
                v->ended = true; /* the next pull ends the response */
                http_conn_wake(v->conn);
            }
        http_server_stop(fl->http, fl->grace_ms, fan_http_stopped, fl);
    }
}

static void fan_on_tick(uv_timer_t *t)
{
    struct fan_loop *fl = t->data;
    for (struct fan_chan *fc = fl->chans; fc; fc = fc->next)
        if (fc->wake_pending)
            fan_wake_due(fl, fc); /* a batch with no publish since (a stalled source) */
    fan_check_all(fl, true);
}

static void fan_main(void *arg)
{
    struct fan_loop *fl = arg;
    /* named so that top -H, perf and bench/fanout can tell the loops apart */
    char name[16];
    snprintf(name, sizeof(name), "xtreamd-loop%u", fl->idx);
    pthread_setname_np(pthread_self(), name);
    int rc = uv_loop_init(&fl->loop);
    if (rc) {
        fl->start_rc = rc;
        uv_sem_post(&fl->started);
        return;
    }
    if ((rc = http_server_start(&fl->loop, &fl->hcfg, &fl->http)) == 0 &&
        (rc = uv_async_init(&fl->loop, &fl->async, fan_on_async)) != 0)
        http_server_stop(fl->http, 0, NULL, NULL);
    if (!rc) {
        fl->async.data = fl;
        uv_timer_init(&fl->loop, &fl->tick);
        fl->tick.data = fl;
        uv_timer_start(&fl->tick, fan_on_tick, TICK_MS, TICK_MS);
    }
    fl->start_rc = rc;
    uv_sem_post(&fl->started); /* loop 0 reads start_rc and http after this */
    uv_run(&fl->loop, UV_RUN_DEFAULT);
    while (fl->chans)
        fan_chan_free(fl, fl->chans);
    uv_loop_close(&fl->loop);
}

static void fan_set_cfg(struct fan_loop *fl, const struct live_config *cfg)
{
    atomic_store(&fl->slow_lag_ms, cfg->slow_lag_ms);
    atomic_store(&fl->slow_grace_ms, cfg->slow_grace_ms);
    atomic_store(&fl->max_skips, cfg->max_skips);
    atomic_store(&fl->no_progress_ms, cfg->no_progress_ms);
    atomic_store(&fl->write_interval_ms, cfg->write_interval_ms);
}

int live_start_loops(struct live *live, unsigned n, const struct http_server_config *wcfg,
                     struct http_server *main_srv, unsigned stop_grace_ms)
{
    if (n < 1 || n > LIVE_MAX_LOOPS || live->nloops > 1)
        return -EINVAL;
    if (n == 1)
        return 0;
    int rc = pthread_mutex_init(&live->back_lock, NULL);
    if (rc)
        return -rc;
    if ((rc = uv_async_init(live->loop, &live->back_async, on_back)) != 0) {
        pthread_mutex_destroy(&live->back_lock);
        return rc;
    }
    live->back_async.data = live;
    uv_unref((uv_handle_t *)&live->back_async); /* never keeps the loop alive */
    live->back_init = live->back_open = true;
    live->handles_open++; /* closed with the tick (maybe_done) */
    for (unsigned k = 1; k < n; k++) {
        struct fan_loop *fl = calloc(1, sizeof(*fl));
        if (!fl || (rc = spsc_init(&fl->q, sizeof(struct fan_msg), FAN_QUEUE)) != 0) {
            free(fl);
            rc = -ENOMEM;
            break;
        }
        fl->live = live;
        fl->idx = k;
        fl->hcfg = *wcfg;
        fl->hcfg.worker = 1;
        fl->grace_ms = stop_grace_ms;
        fan_set_cfg(fl, &live->cfg);
        if ((rc = uv_sem_init(&fl->started, 0)) != 0) {
            spsc_free(&fl->q);
            free(fl);
            break;
        }
        if ((rc = uv_thread_create(&fl->thread, fan_main, fl)) != 0) {
            uv_sem_destroy(&fl->started);
            spsc_free(&fl->q);
            free(fl);
            break;
        }
        uv_sem_wait(&fl->started);
        uv_sem_destroy(&fl->started);
        if ((rc = fl->start_rc) != 0) {
            uv_thread_join(&fl->thread);
            spsc_free(&fl->q);
            free(fl);
            break;
        }
        http_server_add_worker(main_srv, fl->http);
        live->fans[k - 1] = fl;
        live->nloops = k + 1;
    }
    if (rc)
        log_error("live", "only %u of %u I/O loops started: %s", live->nloops ? live->nloops : 1, n,
                  uv_strerror(rc));
    else
        log_info("live", "%u I/O loops: live TS viewers move to loops 1..%u after their head", n,
                 n - 1);
    if (live->nloops == 0)
        live->nloops = 1;
    return rc;
}

size_t live_moved_viewers(const struct live *live)
{
    size_t n = 0;
    for (unsigned k = 1; k < live->nloops; k++)
        n += live->loop_viewers[k];
    return n;
}

size_t live_loops_serving(const struct live *live)
{
    size_t n = 0;
    for (unsigned k = 1; k < live->nloops; k++)
        n += live->fans[k - 1] && !atomic_load(&live->fans[k - 1]->http_done);
    return n;
}

/* Asks every fan loop to end its viewers and stop (loop 0, once). */
static void fan_stop_all(struct live *live)
{
    if (live->fans_stopping)
        return;
    for (unsigned k = 1; k < live->nloops; k++) {
        atomic_store(&live->fans[k - 1]->stop_req, true);
        uv_async_send(&live->fans[k - 1]->async);
    }
    live->fans_stopping = true;
}

/* live_free: joins the fan loops, frees what their queues still hold, and
 * releases the viewers that came back. */
static void fan_free_all(struct live *live)
{
    if (live->nloops > 1 && !live->fans[0])
        return; /* joined already (live_join_loops) */
    fan_stop_all(live);
    for (unsigned k = 1; k < live->nloops; k++) {
        struct fan_loop *fl = live->fans[k - 1];
        uv_thread_join(&fl->thread);
        struct fan_msg m;
        while (spsc_pop(&fl->q, &m))
            fan_msg_drop(&m);
    }
    fan_back_drain(live);
    for (unsigned k = 1; k < live->nloops; k++) {
        spsc_free(&live->fans[k - 1]->q);
        free(live->fans[k - 1]);
        live->fans[k - 1] = NULL;
    }
    if (live->back_init)
        pthread_mutex_destroy(&live->back_lock);
    live->back_init = false;
}

/* Lines that became invalid lose their viewers and sessions. */
static void check_lines(struct live *live)
{
    if (!live->cat)
        return;
    int64_t now = (int64_t)time(NULL);
    FOR_EACH_CHANNEL(live, ch)
    {
        struct live_viewer *next;
        for (struct live_viewer *v = ch->viewers; v; v = next) {
            next = v->next;
            if (auth_line_still_active(live->cat, v->username, v->line_id, now))
                continue;
            log_info("live", "viewer %s cut: line %s is no longer active", v->ip, v->username);
            live->kicked_line++;
            viewer_abort(v);
        }
    }
    for (size_t b = 0; b < SESS_BUCKETS; b++) {
        for (struct hls_session *s = live->sessions[b]; s; s = s->hnext) {
            if (!s->kicked && !auth_line_still_active(live->cat, s->username, s->line_id, now)) {
                s->kicked = true;
                live->kicked_line++;
            }
        }
    }
}

static void maybe_done(struct live *live);

/* A session sent off by overload ends this long after its last request (not the full session
 * timeout): the player may still fetch the segments listed before the move, then stops. */
static uint64_t moved_linger_ms(const struct live *live)
{
    uint64_t ms = 3 * (uint64_t)live->cfg.hls_segment_ms;
    return ms > 10000 ? ms : 10000;
}

static int serial_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int viewer_serial_desc(const void *a, const void *b)
{
    const struct live_viewer *x = *(struct live_viewer *const *)a;
    const struct live_viewer *y = *(struct live_viewer *const *)b;
    return x->serial < y->serial ? 1 : x->serial > y->serial ? -1 : 0;
}

/* Overload (docs/internals/cluster.md "Overload"): every tick, this node's load from its own
 * counters (the registry's viewers now, minus those already moving off and other nodes' origin
 * pulls) against its caps. While overloaded, exactly the excess moves, the newest viewers first:
 * HLS sessions at their next playlist refresh (shed_hls_from, hls_shed), then, if HLS is not
 * enough, TS viewers closed at their next keyframe like a fenced node's. A draining or fenced
 * node moves its viewers by its state instead. */
static void overload_tick(struct live *live, uint64_t now)
{
    live->shed_hls_from = UINT64_MAX;
    if (!live->cluster || !live->reg || cluster_self_state(live->cluster) != CLUSTER_STATE_ACTIVE) {
        memset(&live->ov, 0, sizeof(live->ov));
        return;
    }
    size_t active = conn_registry_active(live->reg);
    size_t moving = live->hls_moving + live->ts_moving;
    size_t skip = moving + live->origin_viewers;
    size_t held = active > skip ? active - skip : 0;
    cluster_self_load(live->cluster, held > UINT32_MAX ? UINT32_MAX : (uint32_t)held,
                      moving > UINT32_MAX ? UINT32_MAX : (uint32_t)moving, live->cfg.overload_pct,
                      &live->ov);
    size_t excess = live->ov.excess;
    if (!excess)
        return;
    size_t n = 0;
    uint64_t *serials = live->session_count ? calloc(live->session_count, sizeof(*serials)) : NULL;
    if (live->session_count && !serials)
        return; /* out of memory: try again next tick */
    for (size_t b = 0; serials && b < SESS_BUCKETS; b++)
        for (struct hls_session *s = live->sessions[b]; s && n < live->session_count; s = s->hnext)
            if (!s->moved && !s->kicked && s->line_id != AUTH_PREVIEW_LINE_ID)
                serials[n++] = s->serial;
    size_t k = n < excess ? n : excess;
    if (k) {
        qsort(serials, n, sizeof(*serials), serial_desc);
        live->shed_hls_from = serials[k - 1];
    }
    free(serials);
    size_t ts = excess - k; /* HLS alone cannot bring the load back: TS viewers too */
    if (!ts)
        return;
    size_t nv = 0, cap = 0;
    FOR_EACH_CHANNEL(live, ch)
    {
        cap += ch->viewer_count;
    }
    struct live_viewer **vs = cap ? calloc(cap, sizeof(*vs)) : NULL;
    if (!vs)
        return;
    FOR_EACH_CHANNEL(live, ch)
    {
        for (struct live_viewer *v = ch->viewers; v && nv < cap; v = v->next)
            if (!viewer_moving(v) && !viewer_ending(v) && !viewer_is_origin_pull(v))
                vs[nv++] = v;
    }
    qsort(vs, nv, sizeof(*vs), viewer_serial_desc);
    for (size_t i = 0; i < nv && i < ts; i++) {
        struct live_viewer *v = vs[i];
        v->move_reason = MOVE_OVERLOAD; /* on a fan loop: read there after VR_MOVE (release) */
        live->ts_moving++;
        if (v->loop) {
            atomic_store(&v->move_after_ms, 10000);
            fan_request(v, VR_MOVE);
        } else {
            v->move = true;
            v->move_deadline_ms = now + 10000;
            http_conn_wake(v->conn);
        }
        log_info("live", "viewer %s of channel %lld closes at its next keyframe: node overloaded",
                 v->ip, (long long)v->ch->id);
    }
    free(vs);
}

static void on_tick(uv_timer_t *t)
{
    struct live *live = t->data;
    uint64_t now = live_now_ms(live);
    for (struct ingest *ing = live->dying, *n; ing; ing = n) {
        n = ing->next_dying;
        channel_reap_one(ing, now);
    }
    if (live->stopping) {
        maybe_done(live);
        return;
    }
    /* HLS sessions without requests expire. */
    for (size_t b = 0; b < SESS_BUCKETS; b++) {
        struct hls_session *n;
        for (struct hls_session *s = live->sessions[b]; s; s = n) {
            n = s->hnext;
            if (now - s->last_ms > live->cfg.hls_session_ms ||
                (s->kicked && now - s->last_ms > 2000) ||
                (s->moved && now - s->last_ms > moved_linger_ms(live)))
                session_unlink(live, s);
        }
    }
    overload_tick(live, now);
    if (now - live->last_line_check >= live->cfg.line_check_ms) {
        live->last_line_check = now;
        check_lines(live);
    }
    if (now - live->last_bucket_prune >= 5000) {
        live->last_bucket_prune = now;
        buckets_prune(live, now);
    }
    FOR_EACH_CHANNEL(live, ch)
    {
        channel_tick(ch, now);
        viewers_tick(ch);
        check_viewers(live, ch, now);
        if (ch->state != CH_STOPPED && !ch->always_on && ch->idle_since_ms &&
            now - ch->idle_since_ms >= live->cfg.idle_ms) {
            log_info("live", "channel %lld idle for %u ms", (long long)ch->id, live->cfg.idle_ms);
            channel_idle_stop(ch);
        }
        if (ch->state == CH_STOPPED && ch->always_on && ch->known)
            channel_start(ch);
        if (ch->start_pending && now - ch->started_ms >= START_SLOT_MS)
            start_slot_release(ch); /* no keyframe yet: its retries are paced by the backoff */
        for (struct pl_wait *w = ch->waits; w; w = w->next)
            if (now - w->since_ms >= WAIT_FIRST_MS)
                http_conn_wake(w->conn);
    }
}

/* The hardware encoder backends this machine can offer, by their device
 * files: a DRM render node for VA-API and Quick Sync, the NVIDIA device for
 * NVENC. A few stat() calls at start, cheap enough for the loop. A profile
 * whose backend is missing is encoded in software (channel.c reports it).
 * XTREAMD_HW_DEVICES (tests only: "vaapi,nvenc,qsv" or "") stands in for
 * the device files. */
static unsigned hw_detect(void)
{
    unsigned mask = 0;
    const char *fake = getenv("XTREAMD_HW_DEVICES");
    if (fake) {
        for (int b = TX_HW_VAAPI; b < TX_HW_COUNT; b++)
            if (strstr(fake, tx_hw_name((enum tx_hw)b)))
                mask |= 1u << b;
        return mask;
    }
    DIR *d = opendir("/dev/dri");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strncmp(e->d_name, "renderD", 7) == 0)
                mask |= (1u << TX_HW_VAAPI) | (1u << TX_HW_QSV);
        closedir(d);
    }
    struct stat st;
    if (stat("/dev/nvidia0", &st) == 0 && stat("/dev/nvidiactl", &st) == 0)
        mask |= 1u << TX_HW_NVENC;
    return mask;
}

/* Thread pool: `ffmpeg -hide_banner -encoders`, which lists the encoders
 * this ffmpeg was built with; a backend counts only if its H.264 encoder is
 * there. Bounded read (256 KB); the child is waited for here. */
static void hw_probe_work(uv_work_t *w)
{
    struct live *live = w->data;
    live->hw_probe_found = 0;
    live->hw_probe_err = 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        live->hw_probe_err = errno;
        return;
    }
    /* posix_spawn, not fork: this is a thread of a multi-threaded process */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *const argv[] = {(char *)live->hw_probe_ffmpeg, "-hide_banner", "-encoders", NULL};
    pid_t pid;
    extern char **environ;
    int rc = posix_spawnp(&pid, live->hw_probe_ffmpeg, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        live->hw_probe_err = rc;
        return;
    }
    static const size_t cap = 256 * 1024;
    char *out = malloc(cap + 1);
    size_t len = 0;
    ssize_t n;
    while (out && len < cap && (n = read(fds[0], out + len, cap - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        len += (size_t)n;
    }
    close(fds[0]); /* before waiting: a child with more to say gets EPIPE */
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!out) {
        live->hw_probe_err = ENOMEM;
        return;
    }
    out[len] = '\0';
    unsigned found = 0;
    for (int b = TX_HW_VAAPI; b < TX_HW_COUNT; b++) {
        char name[32];
        snprintf(name, sizeof(name), " %s ", tx_encoder("libx264", (enum tx_hw)b));
        if (strstr(out, name))
            found |= 1u << b;
    }
    free(out);
    live->hw_probe_found = found;
}

static void hw_probe_done(uv_work_t *w, int status)
{
    struct live *live = w->data;
    live->hw_probe_pending = false;
    if (status == 0)
        live->hw_available = live->hw_devices & live->hw_probe_found;
    if (status == 0 && live->hw_probe_err)
        log_warn("live", "cannot run '%s -encoders' (%s): hardware encoders unused",
                 live->hw_probe_ffmpeg, strerror(live->hw_probe_err));
    for (int b = TX_HW_VAAPI; b < TX_HW_COUNT; b++)
        if (live->hw_devices & (1u << b))
            log_info("live", "hardware encoder %s: %s", tx_hw_name((enum tx_hw)b),
                     live->hw_available & (1u << b)
                         ? "available"
                         : "device found, but ffmpeg lacks its encoder: software is used");
    if (live->stopping)
        return;
    /* channels that started in software while the probe ran, and whose
     * backend turned out to be there: restart them on it */
    for (size_t b = 0; b < CH_BUCKETS; b++)
        for (struct channel *ch = live->channels[b]; ch; ch = ch->hnext)
            if (ch->state != CH_STOPPED && ch->has_profile && ch->tx_fallback &&
                (live->hw_available & (1u << ch->profile.hw)))
                channel_restart(ch);
}

unsigned live_hw_available(const struct live *live)
{
    return live->hw_available;
}

void live_count_tx_fallback(struct live *live)
{
    live->tx_fallbacks++;
}

int live_new(uv_loop_t *loop, const struct live_config *cfg, struct conn_registry *reg,
             struct live **out)
{
    if (sodium_init() < 0)
        return -EIO;
    struct live *live = calloc(1, sizeof(*live));
    if (!live)
        return -ENOMEM;
    live->loop = loop;
    live->cfg = *cfg;
    live->reg = reg;
    live->shed_hls_from = UINT64_MAX; /* no overload: no HLS session is shed */
    if (reg)
        conn_registry_set_max(reg, cfg->registry_max);
    if (cfg->data_dir)
        live->data_abs = realpath(cfg->data_dir, NULL);
    if (child_env_build(live)) {
        free(live->data_abs);
        free(live);
        return -ENOMEM;
    }
    reap_orphans(live);
    live->hw_devices = hw_detect();
    log_info("live", "hardware encoder devices: vaapi %s, nvenc %s, qsv %s",
             live->hw_devices & (1u << TX_HW_VAAPI) ? "yes" : "no",
             live->hw_devices & (1u << TX_HW_NVENC) ? "yes" : "no",
             live->hw_devices & (1u << TX_HW_QSV) ? "yes" : "no");
    /* Software until the encoders probe confirms a device's encoder (channels
     * that fell back meanwhile restart when it does). */
    live->hw_available = 0;
    if (live->hw_devices) {
        live->hw_probe.data = live;
        live->hw_probe_ffmpeg = live->cfg.ffmpeg;
        live->hw_probe_pending =
            uv_queue_work(loop, &live->hw_probe, hw_probe_work, hw_probe_done) == 0;
    }
    uv_idle_init(loop, &live->spawn_idle);
    live->spawn_idle.data = live;
    uv_timer_init(loop, &live->tick);
    live->tick.data = live;
    live->handles_open = 2;
    uv_timer_start(&live->tick, on_tick, TICK_MS, TICK_MS);
    slate_start(live);
    *out = live;
    return 0;
}

void live_reconfigure(struct live *live, const struct live_config *cfg)
{
    /* Every knob is read where it is used (ticks, checks, new channels), so
     * copying is enough; the program, the data folder and the registry bound
     * were fixed at start. */
    struct live_config next = *cfg;
    next.ffmpeg = live->cfg.ffmpeg;
    next.data_dir = live->cfg.data_dir;
    next.registry_max = live->cfg.registry_max;
    live->cfg = next;
    for (unsigned k = 1; k < live->nloops; k++)
        fan_set_cfg(live->fans[k - 1], &live->cfg);
}

void live_set_cluster(struct live *live, struct cluster *c)
{
    live->cluster = c;
}

struct cluster *live_cluster(struct live *live)
{
    return live->cluster;
}

int live_origin_headers(struct live *live, int64_t stream_id, char *out, size_t len)
{
    char msg[96];
    int64_t self = cluster_self_id(live->cluster);
    long long now = (long long)time(NULL);
    int m = snprintf(msg, sizeof(msg), "xtreamd-origin\n%lld\n%lld\n%lld", (long long)stream_id,
                     (long long)self, now);
    unsigned char sig[64];
    if (m <= 0 || (size_t)m >= sizeof(msg) ||
        cluster_node_sign(live->cluster, msg, (size_t)m, sig) < 0)
        return -EINVAL;
    char b64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
    int w = snprintf(out, len,
                     "X-Xtreamd-Node: %lld\r\nX-Xtreamd-Time: %lld\r\nX-Xtreamd-Signature: %s\r\n",
                     (long long)self, now, b64);
    return w > 0 && (size_t)w < len ? 0 : -ENAMETOOLONG;
}

void live_set_archive(struct live *live, struct archive *a)
{
    live->archive = a;
}

struct archive *live_archive(struct live *live)
{
    return live->archive;
}

/* The recorder's stream set: every stream with archive days. */
static void archive_streams(struct live *live, const struct catalog *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->stream_count; i++)
        n += c->streams[i].archive_days > 0;
    struct archive_stream_cfg *v = n ? calloc(n, sizeof(*v)) : NULL;
    if (n && !v) {
        log_error("live", "out of memory: the archive keeps its previous stream set");
        return;
    }
    n = 0;
    for (size_t i = 0; i < c->stream_count; i++)
        if (c->streams[i].archive_days > 0)
            v[n++] = (struct archive_stream_cfg){.stream_id = c->streams[i].id,
                                                 .days = (unsigned)c->streams[i].archive_days};
    if (archive_set_streams(live->archive, v, n))
        log_error("live", "out of memory: some archived streams are not recorded");
    free(v);
}

void live_set_catalog(struct live *live, struct catalog *c)
{
    struct catalog *old = live->cat;
    live->cat = c ? catalog_ref(c) : NULL;
    if (old)
        catalog_unref(old);
    if (!c || live->stopping)
        return;
    if (live->archive)
        archive_streams(live, c);
    FOR_EACH_CHANNEL(live, ch)
    {
        ch->known = false;
    }
    for (size_t i = 0; i < c->stream_count; i++) {
        const struct cat_stream *s = &c->streams[i];
        struct channel *ch = channel_find(live, s->id);
        bool keep = stream_keep(live, s);
        if (ch || keep)
            ch = channel_get(live, s);
        if (ch && keep)
            channel_touch(ch);
    }
    FOR_EACH_CHANNEL(live, ch)
    {
        if (!ch->known && ch->state != CH_STOPPED) {
            /* Removed or disabled: its viewers go, the channel stops. */
            struct live_viewer *n;
            for (struct live_viewer *v = ch->viewers; v; v = n) {
                n = v->next;
                viewer_abort(v);
            }
            channel_stop(ch);
        }
    }
    check_lines(live);
}

static void tick_closed(uv_handle_t *h)
{
    struct live *live = h->data;
    if (--live->handles_open)
        return;
    live->tick_closed = true;
    if (live->done)
        live->done(live->done_ud);
}

static void maybe_done(struct live *live)
{
    if (live->dying || live->slate_handles || live->hw_probe_pending ||
        uv_is_closing((uv_handle_t *)&live->tick))
        return;
    uv_close((uv_handle_t *)&live->spawn_idle, tick_closed);
    uv_close((uv_handle_t *)&live->tick, tick_closed);
    if (live->back_init) {
        /* fan loops may still close viewers: they wait in the list for live_free */
        pthread_mutex_lock(&live->back_lock);
        live->back_open = false;
        pthread_mutex_unlock(&live->back_lock);
        fan_back_drain(live);
        uv_close((uv_handle_t *)&live->back_async, tick_closed);
    }
}

void live_stop(struct live *live, void (*done)(void *ud), void *ud)
{
    if (live->stopping)
        return;
    live->stopping = true;
    live->done = done;
    live->done_ud = ud;
    FOR_EACH_CHANNEL(live, ch)
    {
        for (struct live_viewer *v = ch->viewers; v; v = v->next)
            viewer_end(v); /* the next pull ends the response */
        channel_stop(ch);
        for (struct pl_wait *w = ch->waits; w; w = w->next)
            http_conn_wake(w->conn);
    }
    fan_stop_all(live); /* after the viewers' END requests */
    if (live->slate_handles == 2 && !uv_is_closing((uv_handle_t *)&live->slate_proc))
        uv_process_kill(&live->slate_proc, SIGKILL);
    maybe_done(live);
}

void live_join_loops(struct live *live)
{
    if (live)
        fan_free_all(live);
}

void live_free(struct live *live)
{
    if (!live)
        return;
    fan_free_all(live); /* before the channels: returning viewers still point at theirs */
    for (size_t b = 0; b < SESS_BUCKETS; b++) {
        while (live->sessions[b])
            session_unlink(live, live->sessions[b]);
    }
    for (size_t b = 0; b < CH_BUCKETS; b++) {
        struct channel *n;
        for (struct channel *ch = live->channels[b]; ch; ch = n) {
            n = ch->hnext;
            channel_free(ch);
        }
    }
    for (size_t i = 0; i < live->slate_n; i++)
        refbuf_unref(live->slate[i].rb);
    free(live->slate);
    buf_free(&live->slate_buf);
    if (live->cat)
        catalog_unref(live->cat);
    size_t i = 0;
    struct htab_node *cur = NULL;
    for (struct htab_node *n; (n = htab_iter(&live->start_buckets, &i, &cur));)
        free(htab_entry(n, struct start_bucket, node));
    htab_free(&live->start_buckets);
    htab_free(&live->sess_keys);
    child_env_free(live);
    free(live->data_abs);
    free(live);
}

size_t live_line_connections(struct live *live, int64_t line_id)
{
    size_t n = 0;
    FOR_EACH_CHANNEL(live, ch)
    {
        for (struct live_viewer *v = ch->viewers; v; v = v->next)
            if (v->line_id == line_id)
                n++;
    }
    for (size_t b = 0; b < SESS_BUCKETS; b++)
        for (struct hls_session *s = live->sessions[b]; s; s = s->hnext)
            if (s->line_id == line_id && !s->kicked)
                n++;
    return n;
}

/* ---- admin and metrics --------------------------------------------------------- */

/* The channel's last switches (newest first) and what the background checks
 * know of each source. */
static void write_switches(struct jsonw *w, const struct channel *ch, uint64_t now)
{
    jsonw_key(w, "switches");
    jsonw_arr_begin(w);
    for (size_t k = 1; k <= ch->sw_n; k++) {
        const struct source_switch *e =
            &ch->sw[(ch->sw_next + SWITCH_HISTORY - k) % SWITCH_HISTORY];
        jsonw_obj_begin(w);
        jsonw_key(w, "at");
        jsonw_int(w, (int64_t)(e->wall_ms / 1000));
        jsonw_key(w, "at_ms");
        jsonw_int(w, (int64_t)e->wall_ms);
        jsonw_key(w, "from");
        jsonw_int(w, e->from);
        jsonw_key(w, "to");
        jsonw_int(w, e->to);
        jsonw_key(w, "cause");
        jsonw_str(w, switch_cause_name(e->cause));
        jsonw_key(w, "detect_ms");
        jsonw_int(w, e->detect_ms);
        jsonw_key(w, "took_ms"); /* null while the new source has not delivered a keyframe */
        if (e->took_ms >= 0)
            jsonw_int(w, e->took_ms);
        else
            jsonw_null(w);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "switches_by_cause"); /* since the server started */
    jsonw_obj_begin(w);
    for (unsigned c = 0; c < CAUSE_COUNT; c++) {
        if (!ch->switches[c])
            continue;
        jsonw_key(w, switch_cause_name(c));
        jsonw_int(w, (int64_t)ch->switches[c]);
    }
    jsonw_obj_end(w);
    jsonw_key(w, "source_checks");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < ch->source_count && i < HEALTH_SOURCES; i++) {
        jsonw_obj_begin(w);
        jsonw_key(w, "index");
        jsonw_int(w, (int64_t)i);
        jsonw_key(w, "state");
        jsonw_str(w, ch->health[i].bad_ms > ch->health[i].ok_ms ? "dead"
                     : ch->health[i].ok_ms                      ? "alive"
                                                                : "unknown");
        jsonw_key(w, "checked_s_ago");
        uint64_t last =
            ch->health[i].bad_ms > ch->health[i].ok_ms ? ch->health[i].bad_ms : ch->health[i].ok_ms;
        if (last)
            jsonw_int(w, (int64_t)(now - last) / 1000);
        else
            jsonw_null(w);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

/* "transcode": null for a copied channel, else the profile and what the
 * last start rendered (fallback: a missing hardware backend, software used). */
static void write_transcode(struct jsonw *w, const struct channel *ch)
{
    jsonw_key(w, "transcode");
    if (!ch->has_profile) {
        jsonw_null(w);
        return;
    }
    jsonw_obj_begin(w);
    jsonw_key(w, "profile_id");
    jsonw_int(w, ch->profile.id);
    jsonw_key(w, "profile");
    jsonw_str(w, ch->profile.name);
    jsonw_key(w, "hw_backend");
    jsonw_str(w, tx_hw_name(ch->profile.hw));
    jsonw_key(w, "hw_backend_used");
    if (ch->tx_encoder[0])
        jsonw_str(w, tx_hw_name(ch->tx_hw));
    else
        jsonw_null(w);
    jsonw_key(w, "encoder");
    if (ch->tx_encoder[0])
        jsonw_str(w, ch->tx_encoder);
    else
        jsonw_null(w);
    jsonw_key(w, "fallback");
    jsonw_bool(w, ch->tx_fallback);
    jsonw_key(w, "fallbacks");
    jsonw_int(w, (int64_t)ch->tx_fallbacks);
    jsonw_obj_end(w);
}

static void json_num_or_null(struct jsonw *w, const char *key, double v, double scale, int dec)
{
    jsonw_key(w, key);
    if (v < 0)
        jsonw_null(w);
    else
        jsonw_num(w, v * scale, dec);
}

/* "ffmpeg": the feeding ffmpeg's last -progress block (null until one came). */
static void write_progress(struct jsonw *w, const struct channel *ch)
{
    jsonw_key(w, "ffmpeg");
    if (!ch->progress_ms) {
        jsonw_null(w);
        return;
    }
    const struct ffprogress_values *p = &ch->progress;
    jsonw_obj_begin(w);
    json_num_or_null(w, "speed", p->speed, 1, 3);
    json_num_or_null(w, "fps", p->fps, 1, 2);
    json_num_or_null(w, "output_kbps", p->bitrate_bps, 0.001, 1);
    json_num_or_null(w, "frames", (double)p->frames, 1, 0);
    json_num_or_null(w, "dropped_frames", (double)p->drop_frames, 1, 0);
    json_num_or_null(w, "duplicated_frames", (double)p->dup_frames, 1, 0);
    jsonw_obj_end(w);
}

static void write_channel(struct jsonw *w, struct channel *ch, bool detail, uint64_t now)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, ch->id);
    jsonw_key(w, "name");
    jsonw_str(w, ch->name);
    jsonw_key(w, "state");
    jsonw_str(w, channel_state_name(ch->state));
    jsonw_key(w, "always_on");
    jsonw_bool(w, ch->always_on);
    jsonw_key(w, "archived");
    jsonw_bool(w, ch->archived);
    archive_write_json(ch->live->archive, ch->id, w);
    jsonw_key(w, "source_index");
    jsonw_int(w, ch->cur_source);
    jsonw_key(w, "source");
    jsonw_str(w, ch->source_count ? ch->sources[ch->cur_source] : "");
    jsonw_key(w, "uptime_s");
    jsonw_int(w, ch->state != CH_STOPPED && ch->started_ms ? (int64_t)(now - ch->started_ms) / 1000
                                                           : 0);
    jsonw_key(w, "restarts");
    jsonw_int(w, (int64_t)ch->restarts);
    jsonw_key(w, "failovers");
    jsonw_int(w, (int64_t)ch->failovers);
    jsonw_key(w, "input_kbps");
    jsonw_int(w, (int64_t)(ch->bitrate_bps / 1000));
    jsonw_key(w, "viewers");
    jsonw_int(w, (int64_t)ch->viewer_count);
    jsonw_key(w, "hls_sessions");
    jsonw_int(w, (int64_t)ch->hls_sessions);
    jsonw_key(w, "bytes_in");
    jsonw_int(w, (int64_t)ch->bytes_in);
    jsonw_key(w, "bytes_out");
    jsonw_int(w, (int64_t)chan_bytes_out(ch));
    jsonw_key(w, "skips");
    jsonw_int(w, (int64_t)chan_skips(ch));
    jsonw_key(w, "codecs");
    jsonw_str(w, ch->codecs);
    jsonw_key(w, "buffer_bytes");
    jsonw_int(w, (int64_t)ch->ring.bytes);
    jsonw_key(w, "cc_errors");
    jsonw_int(w, ch->ing ? (int64_t)ch->ing->ts.cc_errors : 0);
    write_transcode(w, ch);
    write_progress(w, ch);
    /* an ABR ladder's renditions (issue 14): target and measured rates */
    jsonw_key(w, "renditions");
    jsonw_arr_begin(w);
    for (int i = 0; ch->has_profile && i < ch->profile.nrenditions && i <= ch->nsub; i++) {
        const struct channel *r = i ? ch->sub[i - 1] : ch;
        const struct tx_rung *g = &ch->profile.renditions[i];
        jsonw_obj_begin(w);
        jsonw_key(w, "index");
        jsonw_int(w, i);
        jsonw_key(w, "width");
        jsonw_int(w, g->width);
        jsonw_key(w, "height");
        jsonw_int(w, g->height);
        jsonw_key(w, "bitrate_kbps");
        jsonw_int(w, g->bitrate_kbps);
        jsonw_key(w, "output_kbps");
        jsonw_int(w, (int64_t)(r->bitrate_bps / 1000));
        jsonw_key(w, "bytes_in");
        jsonw_int(w, (int64_t)(i ? r->bytes_in : ch->bytes_in));
        jsonw_key(w, "buffer_bytes");
        jsonw_int(w, (int64_t)r->ring.bytes);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    if (detail) {
        jsonw_key(w, "sources");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < ch->source_count; i++)
            jsonw_str(w, ch->sources[i]);
        jsonw_arr_end(w);
        jsonw_key(w, "stderr");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < STDERR_LINES; i++) {
            const char *l = ch->errlines[(ch->err_next + i) % STDERR_LINES];
            if (l)
                jsonw_str(w, l);
        }
        jsonw_arr_end(w);
        jsonw_key(w, "pid");
        jsonw_int(w, ch->ing && !ch->ing->exited ? ch->ing->proc.pid : 0);
        write_switches(w, ch, now);
    }
    jsonw_obj_end(w);
}

void live_write_connection(struct live_conn_sink *sink, const char *kind, uint64_t handle,
                           int64_t line_id, const char *user, int64_t item, const char *ip,
                           const char *ua, uint64_t started_ms, uint64_t bytes, uint64_t now)
{
    if ((sink->kind && strcmp(sink->kind, kind) != 0) ||
        (sink->line_id && sink->line_id != line_id) || (sink->stream_id && sink->stream_id != item))
        return;
    int64_t at = sink->total++;
    if (at < sink->offset || (sink->limit && at >= sink->offset + sink->limit))
        return;
    struct jsonw *w = sink->w;
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, (int64_t)handle);
    jsonw_key(w, "kind");
    jsonw_str(w, kind);
    jsonw_key(w, "line_id");
    jsonw_int(w, line_id);
    jsonw_key(w, "username");
    jsonw_str(w, user);
    jsonw_key(w, "stream_id");
    jsonw_int(w, item);
    jsonw_key(w, "ip");
    jsonw_str(w, ip);
    jsonw_key(w, "user_agent");
    jsonw_str(w, ua);
    jsonw_key(w, "seconds");
    jsonw_int(w, (int64_t)(now - started_ms) / 1000);
    jsonw_key(w, "bytes");
    jsonw_int(w, (int64_t)bytes);
    jsonw_obj_end(w);
}

static bool kick_handle(struct live *live, uint64_t handle)
{
    FOR_EACH_CHANNEL(live, ch)
    {
        for (struct live_viewer *v = ch->viewers; v; v = v->next) {
            if (v->handle == handle) {
                viewer_abort(v);
                return true;
            }
        }
    }
    for (size_t b = 0; b < SESS_BUCKETS; b++) {
        for (struct hls_session *s = live->sessions[b]; s; s = s->hnext) {
            if (s->handle == handle) {
                s->kicked = true;
                return true;
            }
        }
    }
    return false;
}

bool live_kill_connection(struct live *live, uint64_t handle)
{
    return kick_handle(live, handle) ||
           (live->admin_hooks.kill && live->admin_hooks.kill(live->admin_hooks.ctx, handle));
}

void live_set_admin_hooks(struct live *live, const struct live_admin_hooks *hooks)
{
    live->admin_hooks = *hooks;
}

void live_write_channels(struct live *live, struct jsonw *w, int64_t offset, int64_t limit,
                         int64_t *total)
{
    uint64_t now = live_now_ms(live);
    int64_t n = 0;
    FOR_EACH_CHANNEL(live, ch)
    {
        if (n >= offset && (limit <= 0 || n < offset + limit))
            write_channel(w, ch, false, now);
        n++;
    }
    *total = n;
}

bool live_channel_brief(struct live *live, int64_t id, struct live_channel_brief *out)
{
    struct channel *ch = channel_find(live, id);
    if (!ch)
        return false;
    out->state = channel_state_name(ch->state);
    out->viewers = ch->viewer_count;
    out->input_kbps = (int64_t)(ch->bitrate_bps / 1000);
    out->source_index = ch->cur_source;
    return true;
}

/* The engine's channel for stream id, or (create) a started one, or a
 * configured look-alike that is not in the table (*view: free it). */
static struct channel *channel_for(struct live *live, int64_t id, bool create,
                                   struct channel **view)
{
    *view = NULL;
    struct channel *ch = channel_find(live, id);
    if (ch)
        return ch;
    const struct cat_stream *cs = live->cat ? catalog_stream(live->cat, id) : NULL;
    if (!cs)
        return NULL;
    if (create)
        return channel_get(live, cs);
    struct channel *v = channel_new(live, cs->id);
    if (v && channel_configure(v, cs->name, cs->sources, cs->source_count, cs->always_on,
                               cs->profile) < 0) {
        channel_free(v);
        v = NULL;
    }
    *view = v;
    return v;
}

int live_write_channel(struct live *live, int64_t id, struct jsonw *w)
{
    struct channel *view;
    struct channel *ch = channel_for(live, id, false, &view);
    if (!ch)
        return live->cat && catalog_stream(live->cat, id) ? -ENOMEM : -ENOENT;
    write_channel(w, ch, true, live_now_ms(live));
    channel_free(view);
    return 0;
}

int live_channel_command(struct live *live, int64_t id, const char *cmd)
{
    bool start = strcmp(cmd, "start") == 0, restart = strcmp(cmd, "restart") == 0;
    bool stop = strcmp(cmd, "stop") == 0;
    if (!start && !restart && !stop)
        return -EINVAL;
    struct channel *view;
    struct channel *ch = channel_for(live, id, start || restart, &view);
    if (!ch)
        return live->cat && catalog_stream(live->cat, id) ? -ENOMEM : -ENOENT;
    if (view) { /* stop on a channel that never ran: nothing to do */
        channel_free(view);
        return 0;
    }
    if (start) {
        channel_touch(ch);
        channel_maybe_idle(ch);
    } else if (stop) {
        struct live_viewer *nx;
        for (struct live_viewer *v = ch->viewers; v; v = nx) {
            nx = v->next;
            viewer_abort(v);
        }
        channel_stop(ch);
    } else {
        channel_restart(ch);
    }
    return 0;
}

void live_write_connections(struct live *live, struct live_conn_sink *sink)
{
    uint64_t now = live_now_ms(live);
    FOR_EACH_CHANNEL(live, ch)
    {
        for (struct live_viewer *v = ch->viewers; v; v = v->next)
            live_write_connection(sink, "live", v->handle, v->line_id, v->username, ch->id, v->ip,
                                  v->ua, v->start_ms, viewer_bytes(v), now);
    }
    for (size_t k = 0; k < SESS_BUCKETS; k++)
        for (struct hls_session *s = live->sessions[k]; s; s = s->hnext)
            if (!s->kicked)
                live_write_connection(sink, "hls", s->handle, s->line_id, s->username,
                                      s->channel_id, s->ip, s->ua, s->created_ms, s->bytes, now);
    if (live->admin_hooks.write)
        live->admin_hooks.write(live->admin_hooks.ctx, sink, now);
}

void live_stats(struct live *live, struct live_stats *out)
{
    *out = (struct live_stats){.hls_sessions = live->session_count};
    FOR_EACH_CHANNEL(live, ch)
    {
        out->bytes_in += ch->bytes_in;
        out->bytes_out += chan_bytes_out(ch);
        out->viewers += ch->viewer_count;
        /* enum channel_state and enum live_state_index share their order. */
        if ((unsigned)ch->state < LIVE_STATE_COUNT)
            out->channels[ch->state]++;
    }
}

static size_t watchers(const struct channel *ch)
{
    return ch->viewer_count + ch->hls_sessions;
}

/* Insertion into a short sorted array: max is small (the summary's top 10). */
size_t live_top_channels(struct live *live, struct live_channel_stat *out, size_t max)
{
    size_t n = 0;
    FOR_EACH_CHANNEL(live, ch)
    {
        size_t w = watchers(ch);
        if (w == 0 || max == 0)
            continue;
        size_t pos = n;
        while (pos > 0) {
            const struct live_channel_stat *p = &out[pos - 1];
            size_t pw = p->viewers + p->hls_sessions;
            if (pw > w || (pw == w && p->id < ch->id))
                break;
            pos--;
        }
        if (pos >= max)
            continue;
        size_t move = (n < max ? n : max - 1) - pos;
        memmove(&out[pos + 1], &out[pos], move * sizeof(*out));
        struct live_channel_stat *c = &out[pos];
        c->id = ch->id;
        snprintf(c->name, sizeof(c->name), "%s", ch->name);
        c->state = channel_state_name(ch->state);
        c->viewers = ch->viewer_count;
        c->hls_sessions = ch->hls_sessions;
        c->bytes_in = ch->bytes_in;
        if (n < max)
            n++;
    }
    return n;
}

/* Engine-wide series (small, written at once). Names predating the per-channel
 * families are kept as they were. */
void live_metrics(struct live *live, struct buf *o)
{
    size_t viewers = 0, running = 0, known = 0;
    uint64_t in = 0, out = 0, skips = 0, restarts = 0, failovers = 0, dropped = 0;
    uint64_t cc_untracked = 0, mf_bytes = 0, mf_errors = 0, mf_fallbacks = 0;
    uint64_t mf_sent = 0;
    FOR_EACH_CHANNEL(live, ch)
    {
        known++;
        dropped += ch->chunks_dropped;
        mf_errors += ch->mf_errors;
        mf_fallbacks += ch->mf_fallbacks;
        mf_sent += ch->mf_sent;
        for (int i = 0; i <= ch->nsub; i++) {
            const struct chunk_ring *r = &channel_rend(ch, i)->ring;
            if (!r->mf)
                continue;
            mf_bytes += r->mf_head - r->mf_punched;
            mf_fallbacks += atomic_load_explicit(&r->mf->copy_fallbacks, memory_order_relaxed);
            mf_sent += atomic_load_explicit(&r->mf->sent, memory_order_relaxed);
        }
        viewers += ch->viewer_count;
        running += ch->state != CH_STOPPED;
        in += ch->bytes_in;
        out += chan_bytes_out(ch);
        skips += chan_skips(ch);
        restarts += ch->restarts;
        failovers += ch->failovers;
        cc_untracked += ch->cc_untracked;
    }
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"xtreamd_channels", "gauge", "Channels the live engine knows (started at least once)"},
        {"xtreamd_channels_running", "gauge",
         "Channels not stopped (starting, running, failing, slate)"},
        {"xtreamd_live_viewers", "gauge", "Live MPEG-TS viewers connected"},
        {"xtreamd_hls_sessions", "gauge", "HLS sessions open"},
        {"xtreamd_live_bytes_in_total", "counter", "Bytes read from ffmpeg by every channel"},
        {"xtreamd_live_bytes_out_total", "counter",
         "Bytes of live channels sent to TS viewers and as HLS segments"},
        {"xtreamd_live_skips_total", "counter", "Slow TS viewers skipped to the newest keyframe"},
        {"xtreamd_channel_restarts_total", "counter",
         "ffmpeg restarts of every channel together (per channel: "
         "xtreamd_channel_ingest_restarts_total)"},
        {"xtreamd_live_failovers_total", "counter", "Source switches of every channel together"},
        {"xtreamd_viewers_total", "counter", "Live TS viewers that ever connected"},
        {"xtreamd_hls_playlist_requests_total", "counter", "HLS playlist requests"},
        {"xtreamd_hls_segment_requests_total", "counter", "HLS segment requests"},
        {"xtreamd_hls_segment_bytes_total", "counter", "Bytes of HLS segments sent"},
        {"xtreamd_connections_active", "gauge",
         "Registered connections (live, HLS, VOD) counted against max_connections"},
        {"xtreamd_channels_starting", "gauge",
         "Channels started and still waiting for their first keyframe (bounded by max-starting)"},
        {"xtreamd_live_early_stops_total", "counter",
         "Channels stopped at once because their viewers left before anything was delivered"},
        {"xtreamd_live_chunks_dropped_total", "counter",
         "Live chunks lost because memory for them could not be allocated"},
        {"xtreamd_hls_segment_errors_total", "counter",
         "HLS segment responses that could not be built (answered 500)"},
        {"xtreamd_ffmpeg_orphans_reaped_total", "counter",
         "ffmpeg processes of a dead earlier server killed at start"},
        {"xtreamd_live_cc_untracked_packets_total", "counter",
         "Packets of PIDs beyond the 16 per channel whose continuity counters are kept across "
         "source switches"},
        {"xtreamd_transcode_fallbacks_total", "counter",
         "Transcoded channel starts encoded in software because the profile's hardware "
         "backend is missing"},
        {"xtreamd_live_memfd_bytes", "gauge",
         "Bytes the channels' memfds hold for sendfile (live write=sendfile): the rings plus "
         "at most 3 MiB each"},
        {"xtreamd_live_memfd_errors_total", "counter",
         "Chunks not stored in a memfd (create or write failed): sent by copy"},
        {"xtreamd_live_memfd_copy_fallbacks_total", "counter",
         "Queued TS slices sent by copy because their bytes had already left the memfd"},
        {"xtreamd_live_memfd_sent_bytes_total", "counter",
         "Bytes of live TS sent to plain-TCP viewers with sendfile from the memfds"},
    };
    uint64_t val[] = {known,
                      running,
                      viewers,
                      live->session_count,
                      in,
                      out,
                      skips,
                      restarts,
                      failovers,
                      live->viewers_total,
                      live->hls_requests,
                      live->segment_requests,
                      live->segment_bytes,
                      conn_registry_active(live->reg),
                      live->starting,
                      live->early_stops,
                      dropped,
                      live->segment_ref_errors,
                      live->orphans_reaped,
                      cc_untracked,
                      live->tx_fallbacks,
                      mf_bytes,
                      mf_errors,
                      mf_fallbacks,
                      mf_sent};
    _Static_assert(sizeof(fam) / sizeof(fam[0]) == sizeof(val) / sizeof(val[0]), "one value each");
    for (size_t i = 0; i < sizeof(val) / sizeof(val[0]); i++) {
        promtext_family(o, fam[i].name, fam[i].type, fam[i].help);
        buf_printf(o, "%s %" PRIu64 "\n", fam[i].name, val[i]);
    }
    archive_metrics(live->archive, o);
    promtext_family(o, "xtreamd_viewers_kicked_total", "counter",
                    "Viewers disconnected by the server, by reason (slow reader, connection "
                    "limit, line no longer active)");
    buf_printf(o,
               "xtreamd_viewers_kicked_total{reason=\"slow\"} %" PRIu64 "\n"
               "xtreamd_viewers_kicked_total{reason=\"limit\"} %" PRIu64 "\n"
               "xtreamd_viewers_kicked_total{reason=\"line\"} %" PRIu64 "\n",
               live->kicked_slow + fan_sum(live, FAN_KICKED_SLOW), live->kicked_limit,
               live->kicked_line);
    uint64_t by_cause[CAUSE_COUNT] = {0}, checks_ok = 0, checks_bad = 0;
    FOR_EACH_CHANNEL(live, ch)
    {
        for (unsigned c = 0; c < CAUSE_COUNT; c++)
            by_cause[c] += ch->switches[c];
        checks_ok += ch->checks_ok;
        checks_bad += ch->checks_bad;
    }
    promtext_family(o, "xtreamd_live_source_switches_total", "counter",
                    "Source switches of every channel, by cause (failover causes and failback)");
    for (unsigned c = 0; c < CAUSE_COUNT; c++)
        buf_printf(o, "xtreamd_live_source_switches_total{cause=\"%s\"} %" PRIu64 "\n",
                   switch_cause_name(c), by_cause[c]);
    promtext_family(o, "xtreamd_live_source_checks_total", "counter",
                    "Background checks of backup sources, by result");
    buf_printf(o,
               "xtreamd_live_source_checks_total{result=\"alive\"} %" PRIu64 "\n"
               "xtreamd_live_source_checks_total{result=\"dead\"} %" PRIu64 "\n",
               checks_ok, checks_bad);
    promtext_family(o, "xtreamd_live_starts_refused_total", "counter",
                    "Viewer requests refused because they would start a channel: over the "
                    "line's or the address's start rate (429), too many channels starting or "
                    "too many clients tracked (503)");
    buf_printf(o,
               "xtreamd_live_starts_refused_total{reason=\"line_rate\"} %" PRIu64 "\n"
               "xtreamd_live_starts_refused_total{reason=\"ip_rate\"} %" PRIu64 "\n"
               "xtreamd_live_starts_refused_total{reason=\"starting\"} %" PRIu64 "\n"
               "xtreamd_live_starts_refused_total{reason=\"tracking\"} %" PRIu64 "\n"
               "xtreamd_live_starts_refused_total{reason=\"placement\"} %" PRIu64 "\n",
               live->refused_line_rate, live->refused_ip_rate, live->refused_starting,
               live->refused_tracking, live->refused_placement);
    promtext_family(o, "xtreamd_cluster_viewers_moved_total", "counter",
                    "Viewers sent off this node (cluster): TS closed at a keyframe or cut at the "
                    "deadline (fenced), HLS playlist requests answered 302 (draining or fenced)");
    buf_printf(o,
               "xtreamd_cluster_viewers_moved_total{kind=\"ts_keyframe\"} %" PRIu64 "\n"
               "xtreamd_cluster_viewers_moved_total{kind=\"ts_cut\"} %" PRIu64 "\n"
               "xtreamd_cluster_viewers_moved_total{kind=\"hls\"} %" PRIu64 "\n",
               live->moved_at_key + fan_sum(live, FAN_MOVED_AT_KEY),
               live->moved_cut + fan_sum(live, FAN_MOVED_CUT), live->hls_moved);
    promtext_family(o, "xtreamd_cluster_moved_total", "counter",
                    "Viewers sent off this node, by kind (hls: playlist refresh answered 302 to "
                    "the main; ts: response ended at a keyframe, or cut at the deadline) and "
                    "reason (the node draining, fenced, or overloaded)");
    for (int k = 0; k < 2; k++)
        for (int r = 0; r < MOVE_REASONS; r++)
            buf_printf(o, "xtreamd_cluster_moved_total{kind=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
                       k ? "ts" : "hls", move_reason_names[r],
                       live->moved[k][r] + (k ? fan_sum(live, FAN_TS_MOVED + r) : 0));
    if (live->cluster) {
        promtext_family(o, "xtreamd_cluster_overloaded", "gauge",
                        "1 while this node is overloaded (load above --live overload-pct of a "
                        "cap, until it falls 10 points below)");
        buf_printf(o, "xtreamd_cluster_overloaded %d\n", live->ov.overloaded ? 1 : 0);
        promtext_family(o, "xtreamd_cluster_load_percent", "gauge",
                        "This node's load against its caps (max_sessions, max_egress_mbps), per "
                        "cent, from its own counters");
        buf_printf(o, "xtreamd_cluster_load_percent %u\n", live->ov.load_pct);
        promtext_family(o, "xtreamd_cluster_overload_excess", "gauge",
                        "Viewers this node is moving off because it is overloaded");
        buf_printf(o, "xtreamd_cluster_overload_excess %u\n", live->ov.excess);
    }
    unsigned nloops = live->nloops ? live->nloops : 1;
    promtext_family(o, "xtreamd_loops", "gauge", "I/O loops (serve --loops)");
    buf_printf(o, "xtreamd_loops %u\n", nloops);
    promtext_family(o, "xtreamd_loop_viewers", "gauge",
                    "Live TS viewers by the I/O loop that writes to them (0: the accepting loop)");
    for (unsigned k = 0; k < nloops; k++)
        buf_printf(o, "xtreamd_loop_viewers{loop=\"%u\"} %zu\n", k, live->loop_viewers[k]);
    promtext_family(o, "xtreamd_loop_handoffs_total", "counter",
                    "Live TS viewers moved from the accepting loop to another I/O loop");
    buf_printf(o, "xtreamd_loop_handoffs_total %" PRIu64 "\n", live->fan_handoffs);
    promtext_family(o, "xtreamd_loop_queue_full_total", "counter",
                    "Chunks an I/O loop's queue could not take (its viewers of the channel "
                    "skipped to the next keyframe)");
    buf_printf(o, "xtreamd_loop_queue_full_total %" PRIu64 "\n", live->fan_queue_full);
    struct conn_registry_stats st = {0};
    if (live->reg)
        conn_registry_stats(live->reg, &st);
    promtext_family(o, "xtreamd_connections_refused_total", "counter",
                    "Connections refused (503) because the connection registry could not hold "
                    "them: at its bound (registry-max), or out of memory");
    buf_printf(o,
               "xtreamd_connections_refused_total{reason=\"registry_full\"} %" PRIu64 "\n"
               "xtreamd_connections_refused_total{reason=\"no_memory\"} %" PRIu64 "\n",
               st.refused_full, st.refused_nomem);
    promtext_family(o, "xtreamd_connections_linger_evicted_total", "counter",
                    "Ended connections forgotten before their 10 s seek window because the "
                    "connection registry was at its bound");
    buf_printf(o, "xtreamd_connections_linger_evicted_total %" PRIu64 "\n", st.linger_evicted);
}

/*
 * Per-channel families, streamed: the body source writes one family at a
 * time over every channel in the table, about `budget` bytes per pull, so
 * 20 000 channels (some 15 series each) need neither a big buffer nor a long
 * stall of the loop. The cursor is (family, bucket, id of the last channel
 * written in that bucket); channels are only ever added (at a bucket's head)
 * until live_free(), so a resumed walk never repeats a series and at worst
 * misses a channel created during the scrape. Values are read when written:
 * one scrape is not a snapshot of a single instant.
 */
enum chan_family {
    CF_STATE,
    CF_VIEWERS_LEGACY,
    CF_TS_VIEWERS,
    CF_HLS_SESSIONS,
    CF_BITRATE,
    CF_BYTES_IN,
    CF_BYTES_OUT,
    CF_RESTARTS,
    CF_FAILOVERS,
    CF_SKIPS,
    CF_SOURCE,
    CF_UPTIME,
    CF_LAST_SWITCH_CAUSE,
    CF_LAST_SWITCH_TIME,
    CF_LAST_SWITCH_DURATION,
    CF_FF_SPEED,
    CF_FF_DROPPED,
    CF_FF_DUPLICATED,
    CF_FF_OUTPUT_BITRATE,
    CF_TX_FALLBACK,
    CF_RENDITION_BITRATE,
    CF_COUNT
};

static const struct {
    const char *name, *type, *help;
} chan_families[CF_COUNT] = {
    [CF_STATE] = {"xtreamd_channel_state", "gauge",
                  "1 for the channel's current state, 0 for the others (stopped, starting, "
                  "running, failing, slate)"},
    [CF_VIEWERS_LEGACY] = {"xtreamd_channel_viewers", "gauge",
                           "TS viewers per channel, labelled with the state (kept for "
                           "compatibility; prefer xtreamd_channel_ts_viewers)"},
    [CF_TS_VIEWERS] = {"xtreamd_channel_ts_viewers", "gauge", "MPEG-TS viewers of the channel"},
    [CF_HLS_SESSIONS] = {"xtreamd_channel_hls_sessions", "gauge", "HLS sessions of the channel"},
    [CF_BITRATE] = {"xtreamd_channel_input_bits_per_second", "gauge",
                    "Input bitrate from ffmpeg, measured over 2 s windows (0 when stopped)"},
    [CF_BYTES_IN] = {"xtreamd_channel_bytes_in_total", "counter", "Bytes read from ffmpeg"},
    [CF_BYTES_OUT] = {"xtreamd_channel_bytes_out_total", "counter",
                      "Bytes sent to TS viewers and as HLS segments"},
    [CF_RESTARTS] = {"xtreamd_channel_ingest_restarts_total", "counter",
                     "ffmpeg restarts (after a failure or by the operator)"},
    [CF_FAILOVERS] = {"xtreamd_channel_failovers_total", "counter",
                      "Switches to another source (failover and failback)"},
    [CF_SKIPS] = {"xtreamd_channel_skips_total", "counter",
                  "Slow TS viewers skipped to the newest keyframe"},
    [CF_SOURCE] = {"xtreamd_channel_source_index", "gauge",
                   "Index of the source in use (0 = primary) in the channel's source list"},
    [CF_UPTIME] = {"xtreamd_channel_uptime_seconds", "gauge",
                   "Seconds since the channel was started (0 when stopped)"},
    [CF_LAST_SWITCH_CAUSE] = {"xtreamd_channel_last_switch_cause", "gauge",
                              "1, labelled with the cause of the channel's last source switch "
                              "(cause=\"none\" before the first)"},
    [CF_LAST_SWITCH_TIME] = {"xtreamd_channel_last_switch_timestamp_seconds", "gauge",
                             "Unix time of the channel's last source switch (0: none)"},
    [CF_LAST_SWITCH_DURATION] = {"xtreamd_channel_last_switch_duration_seconds", "gauge",
                                 "Time from the detection of the failure (or the failback "
                                 "decision) to the new source's first keyframe, of the last "
                                 "completed switch"},
    [CF_FF_SPEED] = {"xtreamd_channel_ffmpeg_speed", "gauge",
                     "ffmpeg's processing speed over real time (1 keeps up; below 1 falls "
                     "behind), from its last -progress report (0 without one)"},
    [CF_FF_DROPPED] = {"xtreamd_channel_ffmpeg_dropped_frames", "gauge",
                       "Frames the channel's current ffmpeg dropped since it started"},
    [CF_FF_DUPLICATED] = {"xtreamd_channel_ffmpeg_duplicated_frames", "gauge",
                          "Frames the channel's current ffmpeg duplicated since it started"},
    [CF_FF_OUTPUT_BITRATE] =
        {"xtreamd_channel_ffmpeg_output_bits_per_second", "gauge",
         "Output bitrate ffmpeg reports (bits/s, average since it started; 0 without a report)"},
    [CF_TX_FALLBACK] = {"xtreamd_channel_transcode_fallback", "gauge",
                        "1 while the channel's profile asks for a hardware encoder this machine "
                        "lacks and software encodes instead"},
    [CF_RENDITION_BITRATE] = {"xtreamd_channel_rendition_bits_per_second", "gauge",
                              "Bitrate of each rendition ffmpeg delivers (an ABR ladder has "
                              "several; rendition 0 is the top one, the channel's only one "
                              "otherwise), measured over 2 s windows"},
};

static void chan_labels(struct buf *o, const char *family, const struct channel *ch)
{
    buf_puts(o, family);
    buf_puts(o, "{channel=\"");
    buf_put_i64(o, ch->id);
    buf_puts(o, "\",name=\"");
    promtext_label_value(o, ch->name);
    buf_putc(o, '"');
}

static void chan_sample(struct buf *o, enum chan_family f, const struct channel *ch, uint64_t now)
{
    const char *family = chan_families[f].name;
    uint64_t v = 0;
    switch (f) {
    case CF_STATE:
        for (int s = CH_STOPPED; s <= CH_SLATE; s++) {
            chan_labels(o, family, ch);
            buf_printf(o, ",state=\"%s\"} %d\n", channel_state_name((enum channel_state)s),
                       ch->state == (enum channel_state)s);
        }
        return;
    case CF_VIEWERS_LEGACY: /* the series as it was: no name label */
        buf_printf(o, "%s{channel=\"%lld\",state=\"%s\"} %zu\n", family, (long long)ch->id,
                   channel_state_name(ch->state), ch->viewer_count);
        return;
    case CF_BITRATE:
        chan_labels(o, family, ch);
        buf_printf(o, "} %.0f\n", ch->bitrate_bps);
        return;
    case CF_UPTIME:
        chan_labels(o, family, ch);
        if (ch->state != CH_STOPPED && ch->started_ms && now > ch->started_ms)
            v = now - ch->started_ms;
        buf_printf(o, "} %" PRIu64 ".%03u\n", v / 1000, (unsigned)(v % 1000));
        return;
    case CF_LAST_SWITCH_CAUSE: /* one series per channel: the info pattern */
        chan_labels(o, family, ch);
        buf_printf(o, ",cause=\"%s\"} 1\n",
                   ch->sw_n ? switch_cause_name(
                                  ch->sw[(ch->sw_next + SWITCH_HISTORY - 1) % SWITCH_HISTORY].cause)
                            : "none");
        return;
    case CF_LAST_SWITCH_TIME:
    case CF_LAST_SWITCH_DURATION: {
        const struct source_switch *last = NULL, *done = NULL;
        for (size_t k = 1; k <= ch->sw_n; k++) {
            const struct source_switch *e =
                &ch->sw[(ch->sw_next + SWITCH_HISTORY - k) % SWITCH_HISTORY];
            if (!last)
                last = e;
            if (!done && e->took_ms >= 0)
                done = e;
        }
        chan_labels(o, family, ch);
        if (f == CF_LAST_SWITCH_TIME)
            v = last ? last->wall_ms : 0;
        else
            v = done ? (uint64_t)done->took_ms : 0;
        buf_printf(o, "} %" PRIu64 ".%03u\n", v / 1000, (unsigned)(v % 1000));
        return;
    }
    case CF_FF_SPEED:
    case CF_FF_OUTPUT_BITRATE: {
        /* one series per channel, always: 0 while no report is at hand
         * (stopped, starting, or ffmpeg does not know yet) */
        double d = f == CF_FF_SPEED ? ch->progress.speed : ch->progress.bitrate_bps;
        if (!ch->progress_ms || d < 0)
            d = 0;
        chan_labels(o, family, ch);
        buf_printf(o, f == CF_FF_SPEED ? "} %.3f\n" : "} %.0f\n", d);
        return;
    }
    case CF_FF_DROPPED:
    case CF_FF_DUPLICATED: {
        int64_t n = f == CF_FF_DROPPED ? ch->progress.drop_frames : ch->progress.dup_frames;
        v = ch->progress_ms && n > 0 ? (uint64_t)n : 0;
        break;
    }
    case CF_TX_FALLBACK:
        v = ch->has_profile && ch->tx_fallback ? 1 : 0;
        break;
    case CF_RENDITION_BITRATE:
        for (int i = 0; i <= ch->nsub; i++) {
            const struct channel *r = i ? ch->sub[i - 1] : ch;
            bool ladder = ch->has_profile && ch->profile.nrenditions > i;
            chan_labels(o, family, ch);
            buf_printf(o, ",rendition=\"%d\",resolution=\"%dx%d\"} %.0f\n", i,
                       ladder ? ch->profile.renditions[i].width : 0,
                       ladder ? ch->profile.renditions[i].height : 0, r->bitrate_bps);
        }
        return;
    case CF_TS_VIEWERS:
        v = ch->viewer_count;
        break;
    case CF_HLS_SESSIONS:
        v = ch->hls_sessions;
        break;
    case CF_BYTES_IN:
        v = ch->bytes_in;
        break;
    case CF_BYTES_OUT:
        v = chan_bytes_out(ch);
        break;
    case CF_RESTARTS:
        v = ch->restarts;
        break;
    case CF_FAILOVERS:
        v = ch->failovers;
        break;
    case CF_SKIPS:
        v = chan_skips(ch);
        break;
    case CF_SOURCE:
        v = ch->cur_source > 0 ? (uint64_t)ch->cur_source : 0;
        break;
    case CF_COUNT:
        return;
    }
    chan_labels(o, family, ch);
    buf_puts(o, "} ");
    buf_put_u64(o, v);
    buf_putc(o, '\n');
}

struct metrics_stream {
    struct live *live;
    unsigned family;
    size_t bucket;
    bool header_done;
    bool resume; /* continue the bucket after the channel resume_id */
    int64_t resume_id;
};

static int metrics_pull(void *ctx, struct buf *out, size_t budget)
{
    struct metrics_stream *m = ctx;
    struct live *live = m->live;
    uint64_t now = live_now_ms(live);
    size_t start = out->len;
    for (; m->family < CF_COUNT; m->family++, m->bucket = 0, m->header_done = false) {
        enum chan_family f = (enum chan_family)m->family;
        if (!m->header_done) {
            promtext_family(out, chan_families[f].name, chan_families[f].type,
                            chan_families[f].help);
            m->header_done = true;
        }
        for (; m->bucket < CH_BUCKETS; m->bucket++) {
            struct channel *ch = live->channels[m->bucket];
            if (m->resume) {
                while (ch && ch->id != m->resume_id)
                    ch = ch->hnext;
                ch = ch ? ch->hnext : NULL;
                m->resume = false;
            }
            for (; ch; ch = ch->hnext) {
                chan_sample(out, f, ch, now);
                if (out->err)
                    return out->err;
                if (out->len - start >= budget && ch->hnext) {
                    m->resume = true;
                    m->resume_id = ch->id;
                    return 1;
                }
            }
            if (out->len - start >= budget) {
                m->bucket++;
                return 1;
            }
        }
    }
    return out->err ? out->err : 0;
}

static void metrics_close(void *ctx)
{
    free(ctx);
}

int live_metrics_channels(struct live *live, struct http_response *res)
{
    struct metrics_stream *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->live = live;
    struct http_body_source src = {.pull = metrics_pull, .close = metrics_close, .ctx = m};
    http_response_source(res, &src, -1);
    return 0;
}
