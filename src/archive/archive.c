/*
 * archive: recorder (loop-thread hook → bounded queue → writer thread),
 * pruning, and the range reader. Contract and threading: archive.h; design:
 * docs/internals/archive.md.
 *
 * Locking: one mutex (a->mu) guards the queue, the stream table, every
 * stream's file list and its shared state (state, err, dropped). The writer
 * thread alone opens, writes, truncates and removes files; it changes a file
 * list under the mutex, so a reader copies a consistent list and then reads
 * index files without the lock. Streams are never freed before archive_free,
 * so queue items and readers may hold their pointers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/promtext.h"

#define TAG          "archive"
#define IDX_READ_MAX (64u << 20) /* an index larger than this is not ours */
#define CHUNK_EST_MS 100         /* a chunk lasts at most this long (stream_priv.h) */

struct afile {
    int64_t start_ms; /* period start, from the name */
    int64_t first_ms; /* first indexed segment, 0: none yet */
    int64_t end_ms;   /* end of the last indexed segment, 0: none yet */
    uint64_t ts_bytes, idx_bytes;
    uint64_t segments;
};

struct astream {
    int64_t id;
    unsigned days;
    bool wanted;
    bool gap; /* loop side: a chunk was dropped; the next queued one says so */
    /* under a->mu */
    struct afile *files; /* by start_ms */
    size_t nfiles, capfiles;
    enum archive_state state;
    int err;
    uint64_t dropped;
    /* writer thread only */
    int ts_fd, idx_fd;
    int64_t open_start; /* period of the open file, 0: none */
    uint64_t ts_size, idx_size;
    bool seg_open, need_key, discont;
    struct archive_idx_rec seg;
    int64_t seg_last_utc;
    int64_t retry_at;
};

enum qkind { Q_CHUNK, Q_BREAK };

struct qitem {
    struct qitem *next;
    struct astream *s;
    struct refbuf *rb;
    enum qkind kind;
    uint32_t flags;
    int64_t pts, utc_ms;
};

struct archive {
    uv_loop_t *loop;
    struct archive_config cfg;
    char root[256];
    uv_thread_t thread;
    bool thread_started;
    uv_mutex_t mu;
    uv_cond_t cond;    /* writer: work or stop */
    uv_cond_t scanned; /* readers: the start-up scan is done */
    bool is_scanned, stopping;
    bool prune_now; /* the stream set changed: apply retention at once */
    int lock_fd;    /* <root>/.lock, flock()ed by the writer: one recorder per folder */
    struct qitem *qhead, *qtail;
    size_t qbytes;
    struct astream **streams; /* by id */
    size_t nstreams, capstreams;
    /* counters (any thread) */
    atomic_uint_fast64_t written, segments, dropped, write_errors, pruned_retention, pruned_quota,
        quota_stuck;
};

/* ---- settings -------------------------------------------------------------- */

void archive_config_defaults(struct archive_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->segment_ms = 6000;
    cfg->queue_bytes = 64u << 20;
    cfg->retry_ms = 10000;
    cfg->prune_ms = 60000;
    cfg->day_s = 86400;
    cfg->file_s = 3600;
}

int archive_config_set(struct archive_config *cfg, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq)
        return -EINVAL;
    size_t klen = (size_t)(eq - kv);
    const char *v = eq + 1;
    if (klen == 3 && strncmp(kv, "dir", 3) == 0) {
        size_t n = strlen(v);
        if (n == 0 || n >= sizeof(cfg->dir) - 32) /* room for "/<id>/<stem>.idx" */
            return -EINVAL;
        memcpy(cfg->dir, v, n + 1);
        return 0;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !(x >= 0) || x > 1e9)
        return -EINVAL;
    struct {
        const char *key;
        double min, max;
    } knobs[] = {{"quota-mb", 0, 1e9},          {"segment-seconds", 1, 60},
                 {"queue-mb", 1, 4096},         {"retry-seconds", 0.1, 86400},
                 {"prune-seconds", 0.1, 86400}, {"day-seconds", 1, 86400},
                 {"file-seconds", 1, 3600}};
    for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
        if (strlen(knobs[i].key) != klen || strncmp(kv, knobs[i].key, klen) != 0)
            continue;
        if (x < knobs[i].min || x > knobs[i].max)
            return -EINVAL;
        switch (i) {
        case 0:
            cfg->quota_bytes = (uint64_t)(x * 1048576.0);
            break;
        case 1:
            cfg->segment_ms = (unsigned)(x * 1000);
            break;
        case 2:
            cfg->queue_bytes = (size_t)(x * 1048576.0);
            break;
        case 3:
            cfg->retry_ms = (unsigned)(x * 1000);
            break;
        case 4:
            cfg->prune_ms = (unsigned)(x * 1000);
            break;
        case 5:
            cfg->day_s = (unsigned)x;
            break;
        default:
            /* Files must tile the hour so names stay aligned to it. */
            if (x != (unsigned)x || 3600 % (unsigned)x)
                return -EINVAL;
            cfg->file_s = (unsigned)x;
            break;
        }
        return 0;
    }
    return -EINVAL;
}

const char *archive_state_name(enum archive_state s)
{
    switch (s) {
    case ARCHIVE_OFF:
        return "off";
    case ARCHIVE_WAITING:
        return "waiting";
    case ARCHIVE_RECORDING:
        return "recording";
    case ARCHIVE_DISK_FULL:
        return "disk_full";
    case ARCHIVE_ERROR:
        return "error";
    }
    return "?";
}

/* ---- helpers --------------------------------------------------------------- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t period_of(const struct archive *a, int64_t utc_ms)
{
    int64_t p = (int64_t)a->cfg.file_s * 1000;
    return utc_ms - ((utc_ms % p) + p) % p;
}

/* "<root>/<id>/<stem>.<ext>": stem YYYYMMDDHH, or YYYYMMDDHH-MMSS when files
 * are shorter than an hour (a test setting). */
static int file_path(const struct archive *a, int64_t id, int64_t start_ms, const char *ext,
                     char *out, size_t len)
{
    time_t t = (time_t)(start_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -EINVAL;
    int n;
    if (a->cfg.file_s == 3600)
        n = snprintf(out, len, "%s/%" PRId64 "/%04d%02d%02d%02d.%s", a->root, id, tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, ext);
    else
        n = snprintf(out, len, "%s/%" PRId64 "/%04d%02d%02d%02d-%02d%02d.%s", a->root, id,
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ext);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Parses "YYYYMMDDHH[-MMSS].ext" into its start; -EINVAL if not ours. */
static int parse_name(const char *name, const char *ext, int64_t *start_ms)
{
    size_t len = strlen(name), elen = strlen(ext);
    size_t stem = len > elen + 1 ? len - elen - 1 : 0;
    if ((stem != 10 && stem != 15) || name[stem] != '.' || strcmp(name + stem + 1, ext) != 0)
        return -EINVAL;
    struct tm tm = {0};
    int y = digits(name, 4), mo = digits(name + 4, 2), d = digits(name + 6, 2),
        h = digits(name + 8, 2), mi = 0, se = 0;
    if (stem == 15) {
        if (name[10] != '-')
            return -EINVAL;
        mi = digits(name + 11, 2);
        se = digits(name + 13, 2);
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        se < 0 || se > 59)
        return -EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *start_ms = (int64_t)t * 1000;
    return 0;
}

static int write_all(int fd, const void *p, size_t len)
{
    const char *c = p;
    while (len) {
        ssize_t w = write(fd, c, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        c += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Reads a whole (small) file; *data NULL when empty. */
static int read_file(int fd, uint8_t **data, size_t *len)
{
    struct stat st;
    *data = NULL;
    *len = 0;
    if (fstat(fd, &st))
        return -errno;
    if (st.st_size <= 0)
        return 0;
    if ((uint64_t)st.st_size > IDX_READ_MAX)
        return -EFBIG;
    uint8_t *b = malloc((size_t)st.st_size);
    if (!b)
        return -ENOMEM;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = pread(fd, b + got, (size_t)st.st_size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = -errno;
            free(b);
            return e;
        }
        if (r == 0)
            break; /* shrank meanwhile: what we have */
        got += (size_t)r;
    }
    *data = b;
    *len = got;
    return 0;
}

/* ---- the stream table (a->mu held) ----------------------------------------- */

static size_t stream_pos(const struct archive *a, int64_t id)
{
    size_t lo = 0, hi = a->nstreams;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->streams[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct astream *stream_find(const struct archive *a, int64_t id)
{
    size_t i = stream_pos(a, id);
    return i < a->nstreams && a->streams[i]->id == id ? a->streams[i] : NULL;
}

static struct astream *stream_get(struct archive *a, int64_t id)
{
    size_t i = stream_pos(a, id);
    if (i < a->nstreams && a->streams[i]->id == id)
        return a->streams[i];
    if (a->nstreams == a->capstreams) {
        size_t cap = a->capstreams ? a->capstreams * 2 : 16;
        struct astream **n = realloc(a->streams, cap * sizeof(*n));
        if (!n)
            return NULL;
        a->streams = n;
        a->capstreams = cap;
    }
    struct astream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->id = id;
    s->ts_fd = s->idx_fd = -1;
    s->need_key = true;
    s->discont = true; /* whatever came before this run is not continuous with it */
    memmove(a->streams + i + 1, a->streams + i, (a->nstreams - i) * sizeof(*a->streams));
    a->streams[i] = s;
    a->nstreams++;
    return s;
}

static int file_add(struct astream *s, const struct afile *f)
{
    if (s->nfiles == s->capfiles) {
        size_t cap = s->capfiles ? s->capfiles * 2 : 8;
        struct afile *n = realloc(s->files, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        s->files = n;
        s->capfiles = cap;
    }
    size_t i = s->nfiles;
    while (i > 0 && s->files[i - 1].start_ms > f->start_ms)
        i--;
    memmove(s->files + i + 1, s->files + i, (s->nfiles - i) * sizeof(*s->files));
    s->files[i] = *f;
    s->nfiles++;
    return 0;
}

static struct afile *file_find(struct astream *s, int64_t start_ms)
{
    for (size_t i = s->nfiles; i-- > 0;)
        if (s->files[i].start_ms == start_ms)
            return &s->files[i];
    return NULL;
}

/* ---- writer thread: files and segments ------------------------------------- */

static void close_files(struct astream *s)
{
    if (s->ts_fd >= 0)
        close(s->ts_fd);
    if (s->idx_fd >= 0)
        close(s->idx_fd);
    s->ts_fd = s->idx_fd = -1;
    s->open_start = 0;
}

static void set_state(struct archive *a, struct astream *s, enum archive_state st, int err)
{
    uv_mutex_lock(&a->mu);
    s->state = st;
    s->err = err;
    uv_mutex_unlock(&a->mu);
}

/* A write failed: the open segment's bytes are taken back (the index never
 * names them), files closed, recording stopped until retry_at. */
static void fail(struct archive *a, struct astream *s, int err, const char *what)
{
    if (s->seg_open && s->ts_fd >= 0 && ftruncate(s->ts_fd, (off_t)s->seg.offset) == 0) {
        uint64_t back = s->ts_size - s->seg.offset;
        s->ts_size = s->seg.offset;
        uv_mutex_lock(&a->mu);
        struct afile *f = file_find(s, s->open_start);
        if (f)
            f->ts_bytes = f->ts_bytes > back ? f->ts_bytes - back : 0;
        uv_mutex_unlock(&a->mu);
    }
    s->seg_open = false;
    s->need_key = true;
    s->discont = true;
    close_files(s);
    atomic_fetch_add(&a->write_errors, 1);
    enum archive_state st = err == -ENOSPC || err == -EDQUOT ? ARCHIVE_DISK_FULL : ARCHIVE_ERROR;
    if (s->state != st)
        log_error(TAG, "stream %" PRId64 ": %s: %s; recording stopped (%s), retry in %u ms", s->id,
                  what, strerror(-err), archive_state_name(st), a->cfg.retry_ms);
    s->retry_at = wall_ms() + a->cfg.retry_ms;
    set_state(a, s, st, err);
}

static void close_segment(struct archive *a, struct astream *s, int64_t end_utc)
{
    if (!s->seg_open)
        return;
    s->seg_open = false;
    int64_t dur = end_utc - s->seg.utc_ms;
    if (dur <= 0 || dur > UINT32_MAX)
        dur = s->seg_last_utc - s->seg.utc_ms + CHUNK_EST_MS;
    if (dur <= 0)
        dur = CHUNK_EST_MS;
    s->seg.duration_ms = (uint32_t)dur;
    uint8_t rec[ARCHIVE_RECORD_SIZE];
    archive_idx_encode(&s->seg, rec);
    int rc = write_all(s->idx_fd, rec, sizeof(rec));
    if (rc) {
        /* A short record would be a torn tail: cut it now, not at restart. */
        if (ftruncate(s->idx_fd, (off_t)s->idx_size))
            log_error(TAG, "stream %" PRId64 ": cannot cut a short index record: %s", s->id,
                      strerror(errno));
        s->seg_open = true; /* so fail() takes the segment's bytes back */
        fail(a, s, rc, "index write");
        return;
    }
    s->idx_size += sizeof(rec);
    atomic_fetch_add(&a->segments, 1);
    uv_mutex_lock(&a->mu);
    struct afile *f = file_find(s, s->open_start);
    if (f) {
        if (!f->first_ms)
            f->first_ms = s->seg.utc_ms;
        f->end_ms = s->seg.utc_ms + dur;
        f->idx_bytes = s->idx_size;
        f->segments++;
    }
    uv_mutex_unlock(&a->mu);
}

static int open_files(struct archive *a, struct astream *s, int64_t period)
{
    char path[PATH_MAX];
    int rc = snprintf(path, sizeof(path), "%s/%" PRId64, a->root, s->id);
    if (rc < 0 || (size_t)rc >= sizeof(path))
        return -ENAMETOOLONG;
    if (mkdir(path, 0750) && errno != EEXIST)
        return -errno;
    if ((rc = file_path(a, s->id, period, "ts", path, sizeof(path))))
        return rc;
    s->ts_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (s->ts_fd < 0)
        return -errno;
    if ((rc = file_path(a, s->id, period, "idx", path, sizeof(path))))
        goto fail;
    s->idx_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (s->idx_fd < 0) {
        rc = -errno;
        goto fail;
    }
    struct stat ts, is;
    if (fstat(s->ts_fd, &ts) || fstat(s->idx_fd, &is)) {
        rc = -errno;
        goto fail;
    }
    s->ts_size = (uint64_t)ts.st_size;
    s->idx_size = (uint64_t)is.st_size;
    s->open_start = period;
    uv_mutex_lock(&a->mu);
    struct afile *f = file_find(s, period);
    if (f) {
        f->ts_bytes = s->ts_size;
        f->idx_bytes = s->idx_size;
    } else {
        struct afile nf = {.start_ms = period, .ts_bytes = s->ts_size, .idx_bytes = s->idx_size};
        rc = file_add(s, &nf);
    }
    uv_mutex_unlock(&a->mu);
    if (rc)
        goto fail;
    return 0;
fail:
    close_files(s);
    return rc;
}

static bool stopped(struct archive *a, struct astream *s)
{
    uv_mutex_lock(&a->mu);
    bool st = s->state == ARCHIVE_DISK_FULL || s->state == ARCHIVE_ERROR;
    uv_mutex_unlock(&a->mu);
    return st;
}

static void on_chunk(struct archive *a, struct astream *s, const struct qitem *it)
{
    if (stopped(a, s)) {
        if (wall_ms() < s->retry_at)
            return;
        log_info(TAG, "stream %" PRId64 ": retrying after %s", s->id, archive_state_name(s->state));
        set_state(a, s, ARCHIVE_WAITING, 0);
        s->need_key = true;
        s->discont = true;
    }
    if (it->flags & ARCHIVE_CHUNK_DISCONT) {
        /* Ends where its last chunk did: the hole (a restart, dropped
         * chunks) belongs to no segment. */
        close_segment(a, s, s->seg_last_utc + CHUNK_EST_MS);
        s->need_key = true;
        s->discont = true;
    }
    bool key = it->flags & ARCHIVE_CHUNK_KEY;
    if (s->need_key && !key)
        return;
    if (key) {
        int64_t period = period_of(a, it->utc_ms);
        /* A clock stepping back stays in the open file: files stay in time order. */
        bool rotate = s->ts_fd < 0 || period > s->open_start;
        if (s->seg_open && (rotate || it->utc_ms - s->seg.utc_ms >= (int64_t)a->cfg.segment_ms))
            close_segment(a, s, it->utc_ms);
        if (stopped(a, s))
            return; /* the index write just failed */
        if (rotate) {
            close_files(s);
            int rc = open_files(a, s, period);
            if (rc) {
                fail(a, s, rc, "open");
                return;
            }
        }
        if (!s->seg_open) {
            s->seg = (struct archive_idx_rec){.utc_ms = it->utc_ms,
                                              .pts = it->pts,
                                              .offset = s->ts_size,
                                              .flags = s->discont ? ARCHIVE_CHUNK_DISCONT : 0};
            s->seg_open = true;
            s->discont = false;
            s->need_key = false;
        }
    }
    if (!s->seg_open)
        return;
    size_t len = it->rb->len - it->rb->len % 188; /* whole packets only (a promise of the engine) */
    int rc = write_all(s->ts_fd, it->rb->data, len);
    if (rc) {
        /* Bytes of a partial write are beyond seg.offset: fail() truncates them. */
        fail(a, s, rc, "write");
        return;
    }
    s->ts_size += len;
    s->seg.length += len;
    s->seg_last_utc = it->utc_ms;
    atomic_fetch_add(&a->written, len);
    uv_mutex_lock(&a->mu);
    struct afile *f = file_find(s, s->open_start);
    if (f)
        f->ts_bytes = s->ts_size;
    if (s->state != ARCHIVE_RECORDING) {
        s->state = ARCHIVE_RECORDING;
        s->err = 0;
    }
    uv_mutex_unlock(&a->mu);
}

static void on_break(struct archive *a, struct astream *s)
{
    close_segment(a, s, s->seg_last_utc + CHUNK_EST_MS);
    close_files(s);
    s->need_key = true;
    s->discont = true;
    uv_mutex_lock(&a->mu);
    if (s->state == ARCHIVE_RECORDING)
        s->state = s->wanted ? ARCHIVE_WAITING : ARCHIVE_OFF;
    uv_mutex_unlock(&a->mu);
}

/* ---- start-up scan ---------------------------------------------------------- */

/* Checks one file pair, cuts a torn tail (index) and unindexed bytes (TS),
 * and adds it to s; a pair without any segment is removed. */
static void scan_pair(struct archive *a, struct astream *s, int64_t start)
{
    char ip[PATH_MAX], tp[PATH_MAX];
    if (file_path(a, s->id, start, "idx", ip, sizeof(ip)) ||
        file_path(a, s->id, start, "ts", tp, sizeof(tp)))
        return;
    int ifd = open(ip, O_RDWR | O_CLOEXEC), tfd = open(tp, O_RDWR | O_CLOEXEC);
    uint8_t *data = NULL;
    size_t len = 0, n = 0, valid = 0;
    struct archive_idx_rec *recs = NULL;
    struct stat st;
    if (ifd < 0 || tfd < 0 || fstat(tfd, &st) || read_file(ifd, &data, &len) ||
        archive_idx_parse(data, len, (uint64_t)st.st_size, &recs, &n, &valid))
        goto out;
    if (n == 0) {
        log_warn(TAG, "stream %" PRId64 ": %s has no valid segment: removed", s->id, ip);
        unlink(ip);
        unlink(tp);
        goto out;
    }
    uint64_t end = recs[n - 1].offset + recs[n - 1].length;
    if (valid < len || end < (uint64_t)st.st_size) {
        log_warn(TAG,
                 "stream %" PRId64 ": %s: cut %zu index bytes and %" PRIu64
                 " unindexed TS bytes (interrupted write)",
                 s->id, ip, len - valid, (uint64_t)st.st_size - end);
        if (ftruncate(ifd, (off_t)valid) || ftruncate(tfd, (off_t)end))
            log_error(TAG, "stream %" PRId64 ": cannot repair %s: %s", s->id, ip, strerror(errno));
    }
    struct afile f = {.start_ms = start,
                      .first_ms = recs[0].utc_ms,
                      .end_ms = recs[n - 1].utc_ms + recs[n - 1].duration_ms,
                      .ts_bytes = end,
                      .idx_bytes = valid,
                      .segments = n};
    uv_mutex_lock(&a->mu);
    if (file_add(s, &f))
        log_error(TAG, "stream %" PRId64 ": out of memory listing %s", s->id, ip);
    uv_mutex_unlock(&a->mu);
out:
    if (ifd >= 0)
        close(ifd);
    if (tfd >= 0)
        close(tfd);
    free(data);
    free(recs);
}

static void scan_stream(struct archive *a, struct astream *s, const char *dirpath)
{
    DIR *d = opendir(dirpath);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t start;
        if (parse_name(e->d_name, "idx", &start) == 0) {
            scan_pair(a, s, start);
        } else if (parse_name(e->d_name, "ts", &start) == 0) {
            char ip[PATH_MAX];
            struct stat st;
            /* A .ts without its index (a crash between the two creations,
             * or between the two unlinks of a prune) holds nothing usable. */
            if (file_path(a, s->id, start, "idx", ip, sizeof(ip)) == 0 && stat(ip, &st) &&
                errno == ENOENT) {
                char tp[PATH_MAX];
                if (file_path(a, s->id, start, "ts", tp, sizeof(tp)) == 0)
                    unlink(tp);
            }
        }
    }
    closedir(d);
}

static void scan_all(struct archive *a)
{
    DIR *d = opendir(a->root);
    if (!d) {
        log_error(TAG, "cannot read %s: %s", a->root, strerror(errno));
        return;
    }
    struct dirent *e;
    size_t files = 0;
    while ((e = readdir(d))) {
        char *end;
        errno = 0;
        long long id = strtoll(e->d_name, &end, 10);
        if (end == e->d_name || *end || errno || id <= 0)
            continue;
        char path[PATH_MAX];
        int n = snprintf(path, sizeof(path), "%s/%s", a->root, e->d_name);
        if (n < 0 || (size_t)n >= sizeof(path))
            continue;
        uv_mutex_lock(&a->mu);
        struct astream *s = stream_get(a, id);
        uv_mutex_unlock(&a->mu);
        if (!s)
            continue;
        scan_stream(a, s, path);
        files += s->nfiles;
    }
    closedir(d);
    log_info(TAG, "%s: %zu archive files found", a->root, files);
}

/* ---- pruning ---------------------------------------------------------------- */

static void remove_file(struct archive *a, struct astream *s, size_t i, const char *why)
{
    uv_mutex_lock(&a->mu);
    struct afile f = s->files[i];
    memmove(s->files + i, s->files + i + 1, (s->nfiles - i - 1) * sizeof(*s->files));
    s->nfiles--;
    uv_mutex_unlock(&a->mu);
    char p[PATH_MAX];
    /* The index first: a reader that finds no index treats the hour as a gap. */
    if (file_path(a, s->id, f.start_ms, "idx", p, sizeof(p)) == 0 && unlink(p) && errno != ENOENT)
        log_error(TAG, "cannot remove %s: %s", p, strerror(errno));
    if (file_path(a, s->id, f.start_ms, "ts", p, sizeof(p)) == 0 && unlink(p) && errno != ENOENT)
        log_error(TAG, "cannot remove %s: %s", p, strerror(errno));
    log_info(TAG, "stream %" PRId64 ": removed %s (%" PRIu64 " bytes, %s)", s->id, p,
             f.ts_bytes + f.idx_bytes, why);
}

static void prune(struct archive *a)
{
    int64_t now = wall_ms();
    uv_mutex_lock(&a->mu);
    size_t n = a->nstreams;
    struct astream **v = n ? malloc(n * sizeof(*v)) : NULL;
    unsigned *days = n ? malloc(n * sizeof(*days)) : NULL;
    for (size_t k = 0; v && days && k < n; k++) {
        v[k] = a->streams[k];
        days[k] = a->streams[k]->wanted ? a->streams[k]->days : 0;
    }
    uv_mutex_unlock(&a->mu);
    if (!v || !days) {
        free(v);
        free(days);
        return;
    }
    for (size_t k = 0; k < n; k++) {
        struct astream *s = v[k];
        if (!days[k])
            continue; /* not recorded now: kept until the quota needs the room */
        int64_t keep = (int64_t)days[k] * a->cfg.day_s * 1000;
        while (s->nfiles) {
            const struct afile *f = &s->files[0];
            int64_t end = f->end_ms ? f->end_ms : f->start_ms + (int64_t)a->cfg.file_s * 1000;
            if (end >= now - keep || f->start_ms == s->open_start)
                break;
            remove_file(a, s, 0, "retention");
            atomic_fetch_add(&a->pruned_retention, 1);
        }
    }
    if (a->cfg.quota_bytes) {
        for (;;) {
            uint64_t total = 0;
            struct astream *os = NULL;
            size_t oi = 0;
            for (size_t k = 0; k < n; k++) {
                struct astream *s = v[k];
                for (size_t i = 0; i < s->nfiles; i++) {
                    total += s->files[i].ts_bytes + s->files[i].idx_bytes;
                    if (s->files[i].start_ms == s->open_start)
                        continue;
                    if (!os || s->files[i].start_ms < os->files[oi].start_ms) {
                        os = s;
                        oi = i;
                    }
                }
            }
            if (total <= a->cfg.quota_bytes)
                break;
            if (!os) {
                /* Only open files left: the quota is smaller than one hour of
                 * the recorded channels. Counted; the operator must act. */
                atomic_fetch_add(&a->quota_stuck, 1);
                log_warn(TAG, "quota %" PRIu64 " bytes exceeded by the files being written",
                         a->cfg.quota_bytes);
                break;
            }
            remove_file(a, os, oi, "quota");
            atomic_fetch_add(&a->pruned_quota, 1);
        }
    }
    free(v);
    free(days);
}

/* ---- writer thread ---------------------------------------------------------- */

/* Two servers must never append to the same files (a hand-over runs the old
 * and the new one side by side for a while; their offsets would interleave).
 * The writer owns <root>/.lock before it touches anything; until then chunks
 * are discarded (counted as dropped) and the old server lets go when it hands
 * over (archive_stop). false: stopping before the lock came. */
static bool take_lock(struct archive *a)
{
    char p[PATH_MAX];
    int n = snprintf(p, sizeof(p), "%s/.lock", a->root);
    if (n < 0 || (size_t)n >= sizeof(p))
        return false;
    bool told = false;
    for (;;) {
        if (a->lock_fd < 0)
            a->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (a->lock_fd >= 0 && flock(a->lock_fd, LOCK_EX | LOCK_NB) == 0) {
            if (told)
                log_info(TAG, "%s: the other recorder let go; recording", a->root);
            return true;
        }
        if (!told) {
            log_warn(TAG,
                     "%s is in use by another xtreamd (a hand-over?): not recording until it "
                     "lets go (%s)",
                     a->root, a->lock_fd < 0 ? strerror(errno) : "locked");
            told = true;
        }
        uv_mutex_lock(&a->mu);
        uint64_t lost = 0;
        while (a->qhead) {
            struct qitem *it = a->qhead;
            a->qhead = it->next;
            if (it->rb) {
                a->qbytes -= it->rb->len;
                it->s->dropped++;
                lost++;
                refbuf_unref(it->rb);
            }
            free(it);
        }
        a->qtail = NULL;
        if (!a->stopping)
            uv_cond_timedwait(&a->cond, &a->mu, 100 * 1000000u);
        bool stop = a->stopping;
        uv_mutex_unlock(&a->mu);
        atomic_fetch_add(&a->dropped, lost);
        if (stop)
            return false;
    }
}

static void writer_main(void *arg)
{
    struct archive *a = arg;
    if (!take_lock(a)) {
        uv_mutex_lock(&a->mu);
        a->is_scanned = true; /* nothing more will come: readers see what is listed */
        uv_cond_broadcast(&a->scanned);
        uv_mutex_unlock(&a->mu);
        return;
    }
    scan_all(a);
    uv_mutex_lock(&a->mu);
    a->is_scanned = true;
    uv_cond_broadcast(&a->scanned);
    uv_mutex_unlock(&a->mu);
    int64_t next_prune = 0;
    for (;;) {
        int64_t now = wall_ms();
        if (now >= next_prune) {
            prune(a);
            next_prune = now + a->cfg.prune_ms;
        }
        uv_mutex_lock(&a->mu);
        while (!a->qhead && !a->stopping && !a->prune_now) {
            int64_t wait = next_prune - wall_ms();
            if (wait <= 0)
                break;
            if (uv_cond_timedwait(&a->cond, &a->mu, (uint64_t)wait * 1000000u) == UV_ETIMEDOUT)
                break;
        }
        struct qitem *batch = a->qhead;
        a->qhead = a->qtail = NULL;
        bool stopping = a->stopping;
        if (a->prune_now) {
            a->prune_now = false;
            next_prune = 0; /* after this batch */
        }
        uv_mutex_unlock(&a->mu);
        size_t done = 0;
        while (batch) {
            struct qitem *it = batch;
            batch = it->next;
            if (it->kind == Q_CHUNK) {
                on_chunk(a, it->s, it);
                done += it->rb->len;
                refbuf_unref(it->rb);
            } else {
                on_break(a, it->s);
            }
            free(it);
        }
        uv_mutex_lock(&a->mu);
        a->qbytes -= done;
        bool more = a->qhead != NULL;
        uv_mutex_unlock(&a->mu);
        if (stopping && !more)
            break;
    }
    /* Shutdown: index what was written; nothing is left half-said. */
    for (size_t i = 0; i < a->nstreams; i++) {
        struct astream *s = a->streams[i];
        close_segment(a, s, s->seg_last_utc + CHUNK_EST_MS);
        close_files(s);
    }
}

/* ---- lifecycle (loop thread) ----------------------------------------------- */

int archive_new(uv_loop_t *loop, const struct archive_config *cfg, struct archive **out)
{
    struct archive *a = calloc(1, sizeof(*a));
    int rc;
    if (!a)
        return -ENOMEM;
    a->loop = loop;
    a->cfg = *cfg;
    a->lock_fd = -1;
    if (cfg->dir[0])
        rc = snprintf(a->root, sizeof(a->root), "%s", cfg->dir);
    else
        rc = snprintf(a->root, sizeof(a->root), "%s/archive", cfg->data_dir ? cfg->data_dir : ".");
    if (rc < 0 || (size_t)rc >= sizeof(a->root) - 40) {
        free(a);
        return -ENAMETOOLONG;
    }
    if (mkdir(a->root, 0750) && errno != EEXIST) {
        rc = -errno;
        log_error(TAG, "cannot create %s: %s", a->root, strerror(errno));
        free(a);
        return rc;
    }
    if (uv_mutex_init(&a->mu)) {
        free(a);
        return -ENOMEM;
    }
    if (uv_cond_init(&a->cond) || uv_cond_init(&a->scanned)) {
        uv_mutex_destroy(&a->mu);
        free(a);
        return -ENOMEM;
    }
    if ((rc = uv_thread_create(&a->thread, writer_main, a))) {
        uv_cond_destroy(&a->cond);
        uv_cond_destroy(&a->scanned);
        uv_mutex_destroy(&a->mu);
        free(a);
        return rc;
    }
    a->thread_started = true;
    *out = a;
    return 0;
}

static int enqueue(struct archive *a, struct astream *s, enum qkind kind, struct refbuf *rb,
                   uint32_t flags, int64_t pts, int64_t utc_ms)
{
    struct qitem *it = malloc(sizeof(*it));
    if (!it)
        return -ENOMEM;
    *it = (struct qitem){
        .s = s, .rb = rb, .kind = kind, .flags = flags, .pts = pts, .utc_ms = utc_ms};
    if (a->qtail)
        a->qtail->next = it;
    else
        a->qhead = it;
    a->qtail = it;
    uv_cond_signal(&a->cond);
    return 0;
}

int archive_set_streams(struct archive *a, const struct archive_stream_cfg *list, size_t n)
{
    int rc = 0;
    uv_mutex_lock(&a->mu);
    bool *was = a->nstreams ? calloc(a->nstreams, sizeof(*was)) : NULL;
    size_t nwas = a->nstreams;
    struct astream **old = nwas ? malloc(nwas * sizeof(*old)) : NULL;
    if (nwas && (!was || !old)) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nwas; i++) {
        old[i] = a->streams[i];
        was[i] = a->streams[i]->wanted;
        a->streams[i]->wanted = false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!list[i].days)
            continue;
        struct astream *s = stream_get(a, list[i].stream_id);
        if (!s) {
            rc = -ENOMEM;
            continue;
        }
        s->wanted = true;
        s->days = list[i].days;
        if (s->state == ARCHIVE_OFF)
            s->state = ARCHIVE_WAITING;
    }
    a->prune_now = true;
    uv_cond_signal(&a->cond);
    for (size_t i = 0; i < nwas; i++) {
        if (was[i] && !old[i]->wanted) {
            old[i]->state = ARCHIVE_OFF;
            if (enqueue(a, old[i], Q_BREAK, NULL, 0, 0, 0))
                rc = -ENOMEM;
        }
    }
out:
    uv_mutex_unlock(&a->mu);
    free(was);
    free(old);
    return rc;
}

bool archive_wants(const struct archive *a, int64_t stream_id)
{
    struct archive *m = (struct archive *)a;
    uv_mutex_lock(&m->mu);
    struct astream *s = stream_find(a, stream_id);
    bool w = s && s->wanted;
    uv_mutex_unlock(&m->mu);
    return w;
}

int archive_on_chunk(struct archive *a, int64_t stream_id, struct refbuf *rb, uint32_t flags,
                     int64_t pts, int64_t utc_ms)
{
    int rc;
    uv_mutex_lock(&a->mu);
    struct astream *s = stream_find(a, stream_id);
    if (!s || !s->wanted || a->stopping) {
        uv_mutex_unlock(&a->mu);
        return -ENOENT;
    }
    if (a->qbytes + rb->len > a->cfg.queue_bytes) {
        rc = -ENOBUFS;
        goto drop;
    }
    if (s->gap)
        flags |= ARCHIVE_CHUNK_DISCONT; /* the writer ends the segment before the hole */
    if ((rc = enqueue(a, s, Q_CHUNK, refbuf_ref(rb), flags, pts, utc_ms))) {
        refbuf_unref(rb);
        goto drop;
    }
    s->gap = false;
    a->qbytes += rb->len;
    uv_mutex_unlock(&a->mu);
    return 0;
drop:
    s->gap = true;
    s->dropped++;
    uv_mutex_unlock(&a->mu);
    if (atomic_fetch_add(&a->dropped, 1) == 0)
        log_warn(TAG, "stream %" PRId64 ": writer queue full (%zu bytes): chunks dropped",
                 stream_id, a->cfg.queue_bytes);
    return rc;
}

void archive_stream_break(struct archive *a, int64_t stream_id)
{
    uv_mutex_lock(&a->mu);
    struct astream *s = stream_find(a, stream_id);
    if (s && !a->stopping && enqueue(a, s, Q_BREAK, NULL, 0, 0, 0))
        s->gap = true; /* no memory for the marker: the next chunk carries it */
    uv_mutex_unlock(&a->mu);
}

void archive_stop(struct archive *a)
{
    if (!a || !a->thread_started)
        return;
    uv_mutex_lock(&a->mu);
    a->stopping = true;
    uv_cond_signal(&a->cond);
    uv_mutex_unlock(&a->mu);
    uv_thread_join(&a->thread);
    a->thread_started = false;
    if (a->lock_fd >= 0)
        close(a->lock_fd); /* lets a successor's recorder start */
    a->lock_fd = -1;
}

void archive_free(struct archive *a)
{
    if (!a)
        return;
    archive_stop(a);
    while (a->qhead) {
        struct qitem *it = a->qhead;
        a->qhead = it->next;
        if (it->rb)
            refbuf_unref(it->rb);
        free(it);
    }
    for (size_t i = 0; i < a->nstreams; i++) {
        close_files(a->streams[i]);
        free(a->streams[i]->files);
        free(a->streams[i]);
    }
    free(a->streams);
    uv_cond_destroy(&a->cond);
    uv_cond_destroy(&a->scanned);
    uv_mutex_destroy(&a->mu);
    free(a);
}

/* ---- state ------------------------------------------------------------------ */

/* a->mu held. */
static int info_locked(const struct astream *s, struct archive_stream_info *out)
{
    memset(out, 0, sizeof(*out));
    out->state = s->wanted ? s->state : ARCHIVE_OFF;
    out->err = s->err;
    out->days = s->wanted ? s->days : 0;
    out->dropped = s->dropped;
    for (size_t i = 0; i < s->nfiles; i++) {
        const struct afile *f = &s->files[i];
        out->bytes += f->ts_bytes + f->idx_bytes;
        out->segments += f->segments;
        if (!out->head_ms && f->first_ms)
            out->head_ms = f->first_ms;
        if (f->end_ms > out->tail_ms)
            out->tail_ms = f->end_ms;
    }
    return 0;
}

int archive_stream_info(struct archive *a, int64_t stream_id, struct archive_stream_info *out)
{
    uv_mutex_lock(&a->mu);
    struct astream *s = stream_find(a, stream_id);
    int rc = s ? info_locked(s, out) : -ENOENT;
    uv_mutex_unlock(&a->mu);
    return rc;
}

void archive_write_json(struct archive *a, int64_t stream_id, struct jsonw *w)
{
    struct archive_stream_info in;
    if (!a || archive_stream_info(a, stream_id, &in))
        return;
    jsonw_key(w, "archive");
    jsonw_obj_begin(w);
    jsonw_key(w, "state");
    jsonw_str(w, archive_state_name(in.state));
    jsonw_key(w, "error");
    jsonw_str(w, in.err ? strerror(-in.err) : NULL);
    jsonw_key(w, "days");
    jsonw_int(w, in.days);
    jsonw_key(w, "bytes");
    jsonw_int(w, (long long)in.bytes);
    jsonw_key(w, "segments");
    jsonw_int(w, (long long)in.segments);
    jsonw_key(w, "oldest");
    jsonw_int(w, in.head_ms / 1000);
    jsonw_key(w, "newest");
    jsonw_int(w, in.tail_ms / 1000);
    jsonw_key(w, "dropped");
    jsonw_int(w, (long long)in.dropped);
    jsonw_obj_end(w);
}

void archive_metrics(struct archive *a, struct buf *out)
{
    if (!a)
        return;
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"xtreamd_archive_written_bytes_total", "TS bytes written to the archive",
         offsetof(struct archive, written)},
        {"xtreamd_archive_segments_total", "archive segments indexed",
         offsetof(struct archive, segments)},
        {"xtreamd_archive_chunks_dropped_total",
         "chunks not recorded: writer queue full or no memory", offsetof(struct archive, dropped)},
        {"xtreamd_archive_write_errors_total",
         "archive writes that failed (disk full or I/O error); recording stops until retry",
         offsetof(struct archive, write_errors)},
        {"xtreamd_archive_quota_stuck_total",
         "prune passes over the quota with only files being written left",
         offsetof(struct archive, quota_stuck)},
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        promtext_family(out, counters[i].name, "counter", counters[i].help);
        buf_printf(out, "%s %" PRIu64 "\n", counters[i].name,
                   (uint64_t)atomic_load((atomic_uint_fast64_t *)((char *)a + counters[i].off)));
    }
    promtext_family(out, "xtreamd_archive_pruned_files_total", "counter",
                    "archive files removed, by reason");
    buf_printf(out, "xtreamd_archive_pruned_files_total{reason=\"retention\"} %" PRIu64 "\n",
               (uint64_t)atomic_load(&a->pruned_retention));
    buf_printf(out, "xtreamd_archive_pruned_files_total{reason=\"quota\"} %" PRIu64 "\n",
               (uint64_t)atomic_load(&a->pruned_quota));

    uv_mutex_lock(&a->mu);
    size_t qb = a->qbytes;
    size_t n = a->nstreams;
    struct archive_stream_info *in = n ? calloc(n, sizeof(*in)) : NULL;
    int64_t *ids = n ? calloc(n, sizeof(*ids)) : NULL;
    if (n && (!in || !ids))
        n = 0;
    for (size_t i = 0; i < n; i++) {
        info_locked(a->streams[i], &in[i]);
        ids[i] = a->streams[i]->id;
    }
    uv_mutex_unlock(&a->mu);
    promtext_family(out, "xtreamd_archive_queue_bytes", "gauge",
                    "bytes waiting for the archive writer");
    buf_printf(out, "xtreamd_archive_queue_bytes %zu\n", qb);
    uint64_t total = 0, states[ARCHIVE_ERROR + 1] = {0};
    for (size_t i = 0; i < n; i++) {
        total += in[i].bytes;
        states[in[i].state]++;
    }
    promtext_family(out, "xtreamd_archive_bytes", "gauge", "bytes in the archive");
    buf_printf(out, "xtreamd_archive_bytes %" PRIu64 "\n", total);
    promtext_family(out, "xtreamd_archive_streams", "gauge", "archived streams by recording state");
    for (int st = 0; st <= ARCHIVE_ERROR; st++)
        buf_printf(out, "xtreamd_archive_streams{state=\"%s\"} %" PRIu64 "\n",
                   archive_state_name((enum archive_state)st), states[st]);
    static const char *fam[][2] = {
        {"xtreamd_archive_stream_bytes", "bytes archived for the stream"},
        {"xtreamd_archive_stream_oldest_seconds", "Unix time of the oldest archived moment"},
        {"xtreamd_archive_stream_newest_seconds", "Unix time of the newest archived moment"},
        {"xtreamd_archive_stream_recording",
         "1 when the stream is being recorded, 0 otherwise (state label says why)"},
    };
    for (size_t f = 0; f < 4; f++) {
        promtext_family(out, fam[f][0], "gauge", fam[f][1]);
        for (size_t i = 0; i < n; i++) {
            if (f == 3) {
                buf_printf(out, "%s{stream=\"%" PRId64 "\",state=\"%s\"} %d\n", fam[f][0], ids[i],
                           archive_state_name(in[i].state), in[i].state == ARCHIVE_RECORDING);
                continue;
            }
            long long v = f == 0   ? (long long)in[i].bytes
                          : f == 1 ? (long long)(in[i].head_ms / 1000)
                                   : (long long)(in[i].tail_ms / 1000);
            buf_printf(out, "%s{stream=\"%" PRId64 "\"} %lld\n", fam[f][0], ids[i], v);
        }
    }
    free(in);
    free(ids);
}

/* ---- reader (any thread) ----------------------------------------------------- */

int64_t archive_tail_ms(struct archive *a, int64_t stream_id)
{
    int64_t t = 0;
    uv_mutex_lock(&a->mu);
    struct astream *s = stream_find(a, stream_id);
    if (s && s->nfiles)
        t = s->files[s->nfiles - 1].end_ms;
    uv_mutex_unlock(&a->mu);
    return t;
}

void archive_range_free(struct archive_range *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfiles; i++)
        if (r->files[i].fd >= 0)
            close(r->files[i].fd);
    free(r->files);
    free(r->spans);
    memset(r, 0, sizeof(*r));
}

static int span_push(struct archive_range *r, size_t *cap, const struct archive_idx_rec *rec,
                     uint32_t file)
{
    if (r->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct archive_span *n = realloc(r->spans, nc * sizeof(*n));
        if (!n)
            return -ENOMEM;
        r->spans = n;
        *cap = nc;
    }
    r->spans[r->n++] = (struct archive_span){.file = file,
                                             .offset = rec->offset,
                                             .length = rec->length,
                                             .utc_ms = rec->utc_ms,
                                             .duration_ms = rec->duration_ms,
                                             .pts = rec->pts,
                                             .flags = rec->flags & ARCHIVE_CHUNK_DISCONT};
    return 0;
}

int archive_lookup(struct archive *a, int64_t stream_id, int64_t start_ms, int64_t end_ms,
                   size_t max, unsigned flags, struct archive_range *out)
{
    memset(out, 0, sizeof(*out));
    if (!max)
        max = 100000;
    if (end_ms <= 0)
        end_ms = INT64_MAX;
    uv_mutex_lock(&a->mu);
    /* The start-up scan (or another server's lock) keeps readers out a
     * bounded time: a thread-pool worker must not hang. */
    for (int i = 0; i < 50 && !a->is_scanned; i++)
        uv_cond_timedwait(&a->scanned, &a->mu, 100 * 1000000u);
    if (!a->is_scanned) {
        uv_mutex_unlock(&a->mu);
        return -EAGAIN;
    }
    struct astream *s = stream_find(a, stream_id);
    if (!s || (!s->wanted && !s->nfiles)) {
        uv_mutex_unlock(&a->mu);
        return -ENOENT;
    }
    struct archive_stream_info info;
    info_locked(s, &info);
    size_t nf = s->nfiles;
    struct afile *files = nf ? malloc(nf * sizeof(*files)) : NULL;
    if (files)
        memcpy(files, s->files, nf * sizeof(*files));
    uv_mutex_unlock(&a->mu);
    if (nf && !files)
        return -ENOMEM;
    out->head_ms = info.head_ms;
    out->tail_ms = info.tail_ms;
    out->recording = info.state == ARCHIVE_RECORDING || info.state == ARCHIVE_WAITING;
    int rc = 0;
    size_t cap = 0;
    bool truncated = false;
    for (size_t i = 0; i < nf && !truncated; i++) {
        const struct afile *f = &files[i];
        bool last = i + 1 == nf;
        /* Skip files wholly before the start (the last may have grown since). */
        if (!last && f->end_ms && f->end_ms <= start_ms)
            continue;
        if (f->start_ms >= end_ms && (!f->first_ms || f->first_ms >= end_ms))
            break;
        char tp[PATH_MAX], ip[PATH_MAX];
        if (file_path(a, stream_id, f->start_ms, "ts", tp, sizeof(tp)) ||
            file_path(a, stream_id, f->start_ms, "idx", ip, sizeof(ip)))
            continue;
        /* The TS first: once open it survives a prune; then its index. */
        int tfd = open(tp, O_RDONLY | O_CLOEXEC);
        if (tfd < 0)
            continue; /* pruned meanwhile: a gap */
        int ifd = open(ip, O_RDONLY | O_CLOEXEC);
        struct stat st;
        uint8_t *data = NULL;
        size_t len = 0, n = 0, valid = 0;
        struct archive_idx_rec *recs = NULL;
        if (ifd < 0 || fstat(tfd, &st)) {
            if (ifd >= 0)
                close(ifd);
            close(tfd);
            continue;
        }
        rc = read_file(ifd, &data, &len);
        close(ifd);
        if (!rc)
            rc = archive_idx_parse(data, len, (uint64_t)st.st_size, &recs, &n, &valid);
        free(data);
        if (rc) {
            close(tfd);
            break;
        }
        size_t before = out->n;
        for (size_t k = 0; k < n; k++) {
            const struct archive_idx_rec *r = &recs[k];
            int64_t r_end = r->utc_ms + r->duration_ms;
            if (r_end > out->tail_ms)
                out->tail_ms = r_end;
            if (flags & ARCHIVE_LOOKUP_AFTER ? r->utc_ms < start_ms : r_end <= start_ms)
                continue;
            if (r->utc_ms >= end_ms)
                break;
            if (out->n == max) {
                truncated = true;
                break;
            }
            if ((rc = span_push(out, &cap, r, (uint32_t)out->nfiles)))
                break;
        }
        free(recs);
        if (rc) {
            close(tfd);
            break;
        }
        if (out->n == before) {
            close(tfd);
            continue;
        }
        struct archive_file *nfs = realloc(out->files, (out->nfiles + 1) * sizeof(*nfs));
        if (!nfs) {
            close(tfd);
            rc = -ENOMEM;
            break;
        }
        out->files = nfs;
        /* The root leaves room (archive_new), so the path always fits. */
        size_t tl = strnlen(tp, sizeof(out->files[0].path) - 1);
        memcpy(out->files[out->nfiles].path, tp, tl);
        out->files[out->nfiles].path[tl] = '\0';
        out->files[out->nfiles].fd = tfd;
        out->nfiles++;
    }
    free(files);
    if (rc) {
        archive_range_free(out);
        return rc;
    }
    out->complete = !truncated && (end_ms <= out->tail_ms || !out->recording);
    return 0;
}
