/*
 * catchup: serving the TV archive (archive/archive.h) for every catch-up URL
 * form (api/timeshift.h), once api_catchup() has authenticated the line and
 * checked the stream against its outputs and bouquets.
 *
 *  - .ts: the archived segments covering the range, concatenated into one
 *    resource that starts at the keyframe at or before the start; Range gives
 *    206 over the concatenation (Content-Range in its bytes), as for VOD.
 *  - .m3u8: a playlist over the same segments: VOD + ENDLIST when the range is
 *    complete, EVENT without ENDLIST while its end is still being recorded
 *    (the player re-fetches it and sees it grow). Segment URLs are
 *    /catchup/TOKEN/UTC_MS.ts, TOKEN being 128 random bits naming an
 *    in-memory session (line, stream, IP): no password in them, dead when the
 *    session idles out (CATCHUP_SESSION_IDLE_S) or is kicked by the line's
 *    connection limit (403 then).
 *
 * The loop never touches the archive's files: index lookups and file reads
 * run on the libuv thread pool (a lookup per request; a TS body is read
 * CATCHUP_READ_BYTES at a time ahead of the socket, through a body source).
 * Every TS response and every HLS session is a CONN_TIMESHIFT entry in the
 * connection registry (max_connections, "newest wins") and is listed by the
 * admin API's connections with kind "timeshift".
 *
 * Owns: struct catchup (api->catchup): in-flight jobs and sessions, both on
 * lists, bounded (CATCHUP_SESSIONS_MAX; a refusal is counted and answered
 * 503). Threading: loop thread, except the *_work functions (thread pool),
 * which touch only their own job.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api_priv.h"
#include "api/timeshift.h"
#include "archive/archive.h"
#include "core/log.h"
#include "core/promtext.h"
#include "http/range.h"
#include "stream/live.h"

#define CATCHUP_READ_BYTES     (256 * 1024)
#define CATCHUP_SESSIONS_MAX   4096
#define CATCHUP_SESSION_IDLE_S 60
#define CATCHUP_TOKEN_HEX      33

enum job_kind { JOB_TS, JOB_M3U8, JOB_SEGMENT };

struct session {
    struct session *next, *prev;
    struct catchup *cu;
    char token[CATCHUP_TOKEN_HEX];
    int64_t line_id, stream_id;
    int64_t start_ms, end_ms; /* the playlist's range (end 0: open) */
    uint64_t handle;          /* registry entry */
    int64_t last_seen;        /* Unix seconds of the last request */
    uint64_t start_loop_ms, bytes;
    bool dead; /* kicked: the token answers 403 until it is swept */
    char username[128], ip[46], ua[256];
};

struct piece {
    int fd; /* borrowed from the job's archive_range */
    uint64_t offset, length;
};

struct job {
    struct job *next, *prev;
    struct catchup *cu;
    enum job_kind kind;
    struct http_response *res;
    struct http_conn *conn;
    uv_work_t work;
    /* request */
    int64_t stream_id, from_ms, to_ms; /* to_ms 0: up to now */
    bool head;
    char range[128], if_range[128]; /* "" when absent or too long to be ours */
    char base[512], token[CATCHUP_TOKEN_HEX];
    /* who (TS responses are registry entries; segments count in their session) */
    uint64_t handle;
    int64_t line_id;
    uint64_t start_loop_ms, bytes_at_start;
    char username[128], ip[46], ua[256];
    /* the lookup */
    int rc;
    struct archive_range ar;
    /* the body: pieces of the concatenation, [pos, end) still to send */
    struct piece *pieces;
    size_t npieces;
    uint64_t pos, end;
    char *buf; /* the bytes being sent (loop thread only) */
    size_t buf_len, buf_off;
    char *rbuf; /* read_work's result, handed to buf by read_after */
    size_t rlen;
    int read_rc;
    /* Following a range whose end is not recorded yet (no Range header): the
     * body has no length and goes on with the segments recorded meanwhile. */
    bool follow;
    int64_t next_from;         /* the next lookup: segments from here (ARCHIVE_LOOKUP_AFTER) */
    int64_t seen_tail;         /* archive_tail_ms() at the last lookup */
    struct archive_range more; /* the follow-up lookup's result (thread pool) */
    bool working;              /* a thread-pool job runs: freeing waits for it */
    bool in_list;              /* linked on cu->jobs */
    bool released;             /* the HTTP side is done with it (abort, close) */
};

struct catchup {
    struct api *api;
    struct job *jobs;
    struct session *sessions;
    size_t nsessions;
    uint64_t served[3];        /* by job_kind, responses that started a body */
    uint64_t refused_sessions; /* CATCHUP_SESSIONS_MAX reached */
    uint64_t read_errors;      /* lookups or reads that failed */
    uint64_t bytes_done;       /* of ended TS and segment bodies */
};

static struct catchup *get_cu(struct api *api)
{
    if (!api->catchup) {
        api->catchup = calloc(1, sizeof(*api->catchup));
        if (api->catchup)
            api->catchup->api = api;
    }
    return api->catchup;
}

static uint64_t loop_ms(const struct api *api)
{
    return api->cfg.loop ? uv_now(api->cfg.loop) : 0;
}

/* ---- jobs ---------------------------------------------------------------- */

static void job_link(struct job *j)
{
    j->next = j->cu->jobs;
    if (j->next)
        j->next->prev = j;
    j->cu->jobs = j;
    j->in_list = true;
}

static void job_unlink(struct job *j)
{
    if (!j->in_list)
        return;
    if (j->prev)
        j->prev->next = j->next;
    else
        j->cu->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->next = j->prev = NULL;
    j->in_list = false;
}

static uint64_t job_bytes(const struct job *j)
{
    if (!j->conn)
        return 0;
    uint64_t now = http_conn_bytes_sent(j->conn);
    return now > j->bytes_at_start ? now - j->bytes_at_start : 0;
}

/* The HTTP side let go (deferred abort, body source close, or never sent). */
static void job_release(struct job *j)
{
    if (j->released)
        return;
    j->released = true;
    if (j->handle) {
        conn_registry_remove(j->cu->api->conns, j->handle, (int64_t)time(NULL));
        j->handle = 0;
    }
    job_unlink(j);
    j->conn = NULL;
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    archive_range_free(&j->ar);
    archive_range_free(&j->more);
    free(j->pieces);
    free(j->buf);
    free(j->rbuf);
    free(j);
}

/* Releases the job and frees it unless a thread-pool call still runs (its
 * after-callback frees it then). */
static void job_done(struct job *j)
{
    job_release(j);
    if (!j->working)
        job_free(j);
}

static void job_kick(void *ctx)
{
    struct job *j = ctx;
    log_info("catchup", "closing an older catch-up connection of the line (connection limit)");
    j->handle = 0; /* the registry removed it before calling */
    if (j->conn)
        http_conn_abort(j->conn); /* ends in job_source_close or job_abort */
}

static void job_abort(void *ctx)
{
    job_done(ctx); /* the lookup still runs: freed in lookup_after */
}

/* ---- sessions ------------------------------------------------------------ */

static void session_free(struct session *s)
{
    struct catchup *cu = s->cu;
    if (s->prev)
        s->prev->next = s->next;
    else
        cu->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->handle)
        conn_registry_remove(cu->api->conns, s->handle, (int64_t)time(NULL));
    cu->nsessions--;
    free(s);
}

static void session_kick(void *ctx)
{
    struct session *s = ctx;
    log_info("catchup", "ending an older catch-up session of the line (connection limit)");
    s->handle = 0;
    s->dead = true;
}

static struct session *session_by_token(struct catchup *cu, const char *token)
{
    if (strlen(token) != CATCHUP_TOKEN_HEX - 1)
        return NULL;
    for (struct session *s = cu->sessions; s; s = s->next)
        if (sodium_memcmp(s->token, token, CATCHUP_TOKEN_HEX - 1) == 0)
            return s;
    return NULL;
}

/* The line's session for this playlist from this IP (a player re-fetching an
 * EVENT playlist keeps its token), or a new one. NULL: refused (counted). */
static struct session *session_for(struct api_req *r, struct catchup *cu, int64_t stream_id,
                                   int64_t start_ms, int64_t end_ms)
{
    int64_t now = (int64_t)time(NULL);
    for (struct session *s = cu->sessions; s; s = s->next) {
        if (!s->dead && s->line_id == r->line->id && s->stream_id == stream_id &&
            s->start_ms == start_ms && s->end_ms == end_ms &&
            strcmp(s->ip, r->req->client_ip) == 0) {
            s->last_seen = now;
            return s;
        }
    }
    if (cu->nsessions >= CATCHUP_SESSIONS_MAX) {
        cu->refused_sessions++;
        return NULL;
    }
    struct session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cu = cu;
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(s->token, sizeof(s->token), raw, sizeof(raw));
    s->line_id = r->line->id;
    s->stream_id = stream_id;
    s->start_ms = start_ms;
    s->end_ms = end_ms;
    s->last_seen = now;
    s->start_loop_ms = loop_ms(r->api);
    const char *ua = http_request_header(r->req, "User-Agent");
    snprintf(s->username, sizeof(s->username), "%s", r->line->username);
    snprintf(s->ip, sizeof(s->ip), "%s", r->req->client_ip);
    snprintf(s->ua, sizeof(s->ua), "%s", ua ? ua : "");
    s->handle = conn_registry_add(r->api->conns, r->line->id, CONN_TIMESHIFT, stream_id,
                                  r->req->client_ip, ua, now, session_kick, s);
    if (!s->handle) {
        free(s);
        return NULL;
    }
    s->next = cu->sessions;
    if (s->next)
        s->next->prev = s;
    cu->sessions = s;
    cu->nsessions++;
    conn_registry_enforce(r->api->conns, r->line->id, r->line->max_connections, s->handle, now);
    return s;
}

/* ---- the TS body --------------------------------------------------------- */

/* Thread pool: reads the next bytes at j->pos (within one piece). */
static void read_work(uv_work_t *w)
{
    struct job *j = w->data;
    uint64_t at = 0;
    j->read_rc = -EIO;
    for (size_t i = 0; i < j->npieces; i++) {
        const struct piece *p = &j->pieces[i];
        if (j->pos >= at + p->length) {
            at += p->length;
            continue;
        }
        uint64_t in = j->pos - at;
        uint64_t want = p->length - in;
        if (want > j->end - j->pos)
            want = j->end - j->pos;
        if (want > CATCHUP_READ_BYTES)
            want = CATCHUP_READ_BYTES;
        j->rbuf = malloc((size_t)want);
        if (!j->rbuf) {
            j->read_rc = -ENOMEM;
            return;
        }
        size_t got = 0;
        while (got < want) {
            ssize_t n =
                pread(p->fd, j->rbuf + got, (size_t)(want - got), (off_t)(p->offset + in + got));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                j->read_rc = n < 0 ? -errno : -EIO; /* a file shorter than its index */
                return;
            }
            got += (size_t)n;
        }
        j->rlen = got;
        j->read_rc = 0;
        return;
    }
}

static void read_after(uv_work_t *w, int status)
{
    struct job *j = w->data;
    j->working = false;
    if (j->released) {
        job_free(j);
        return;
    }
    if (status != 0 && j->read_rc == 0)
        j->read_rc = -ECANCELED;
    if (j->read_rc == 0) {
        j->buf = j->rbuf;
        j->buf_len = j->rlen;
        j->buf_off = 0;
        j->pos += j->rlen;
    } else {
        free(j->rbuf);
        j->cu->read_errors++;
    }
    j->rbuf = NULL;
    j->rlen = 0;
    http_conn_wake(j->conn);
}

static int start_read(struct job *j)
{
    j->working = true;
    j->work.data = j;
    if (uv_queue_work(j->cu->api->cfg.loop, &j->work, read_work, read_after) != 0) {
        j->working = false;
        return -EIO;
    }
    return 0;
}

static int start_more(struct job *j);

static int job_pull(void *ctx, struct buf *out, size_t budget)
{
    struct job *j = ctx;
    if (j->read_rc) {
        log_warn("catchup", "stream %lld: archive read failed (%s); ending the response",
                 (long long)j->stream_id, strerror(-j->read_rc));
        return j->read_rc;
    }
    if (j->buf && j->buf_off < j->buf_len) {
        size_t n = j->buf_len - j->buf_off;
        if (n > budget)
            n = budget;
        buf_append(out, j->buf + j->buf_off, n);
        j->buf_off += n;
    }
    if (j->buf && j->buf_off == j->buf_len) {
        free(j->buf);
        j->buf = NULL;
        j->buf_len = j->buf_off = 0;
    }
    if (!j->buf && j->pos >= j->end) {
        if (!j->follow)
            return 0;
        /* Everything recorded so far is sent: look again once the archive
         * has more (api_catchup_tick wakes us when its tail moves). */
        if (j->working || archive_tail_ms(j->cu->api->archive, j->stream_id) <= j->seen_tail)
            return -EAGAIN;
        return start_more(j) ? -EIO : -EAGAIN;
    }
    if (j->buf)
        return 1;
    /* One read at a time; j's read fields belong to it while it runs. */
    if (!j->working && start_read(j) != 0)
        return -EIO;
    return -EAGAIN;
}

static void job_source_close(void *ctx)
{
    struct job *j = ctx;
    uint64_t n = job_bytes(j);
    j->cu->bytes_done += n;
    struct session *s = j->kind == JOB_SEGMENT ? session_by_token(j->cu, j->token) : NULL;
    if (s)
        s->bytes += n; /* the session's figure in the admin connections list */
    job_done(j);
}

/* Spans to pieces: consecutive spans of one file are contiguous bytes. */
static int make_pieces(struct job *j, uint64_t *total)
{
    *total = 0;
    free(j->pieces);
    j->npieces = 0;
    j->pieces = calloc(j->ar.n ? j->ar.n : 1, sizeof(*j->pieces));
    if (!j->pieces)
        return -ENOMEM;
    for (size_t i = 0; i < j->ar.n; i++) {
        const struct archive_span *s = &j->ar.spans[i];
        if (s->file >= j->ar.nfiles)
            return -EIO;
        struct piece *last = j->npieces ? &j->pieces[j->npieces - 1] : NULL;
        int fd = j->ar.files[s->file].fd;
        if (last && last->fd == fd && last->offset + last->length == s->offset) {
            last->length += s->length;
        } else {
            j->pieces[j->npieces++] =
                (struct piece){.fd = fd, .offset = s->offset, .length = s->length};
        }
        *total += s->length;
    }
    return 0;
}

/* Thread pool: the segments recorded after the last one sent. */
static void more_work(uv_work_t *w)
{
    struct job *j = w->data;
    j->rc = archive_lookup(j->cu->api->archive, j->stream_id, j->next_from, j->to_ms, 0,
                           ARCHIVE_LOOKUP_AFTER, &j->more);
}

static void more_after(uv_work_t *w, int status)
{
    struct job *j = w->data;
    j->working = false;
    if (j->released) {
        job_free(j);
        return;
    }
    if (status != 0 && j->rc == 0)
        j->rc = -ECANCELED;
    uint64_t total = 0;
    if (j->rc == 0 && j->more.n > 0) {
        /* Every byte of the previous range was sent: it can go. */
        archive_range_free(&j->ar);
        j->ar = j->more;
        memset(&j->more, 0, sizeof(j->more));
        if (make_pieces(j, &total) != 0)
            j->rc = -ENOMEM;
        j->pos = 0;
        j->end = total;
        j->next_from = j->ar.spans[j->ar.n - 1].utc_ms + 1;
        j->seen_tail = j->ar.tail_ms;
        if (j->ar.complete || !j->ar.recording)
            j->follow = false;
    } else if (j->rc == 0) {
        j->seen_tail = j->more.tail_ms;
        if (j->more.complete || !j->more.recording)
            j->follow = false; /* nothing more will come: the body ends */
        archive_range_free(&j->more);
    }
    if (j->rc && j->rc != -EAGAIN) {
        j->cu->read_errors++;
        j->read_rc = j->rc; /* the next pull ends the response */
    }
    http_conn_wake(j->conn);
}

static int start_more(struct job *j)
{
    j->working = true;
    j->rc = 0;
    j->work.data = j;
    if (uv_queue_work(j->cu->api->cfg.loop, &j->work, more_work, more_after) != 0) {
        j->working = false;
        return -EIO;
    }
    return 0;
}

static void answer_ts(struct api_req *r, struct job *j)
{
    struct http_response *res = j->res;
    uint64_t total;
    if (make_pieces(j, &total) != 0) {
        api_text_error(r, 500, "cannot serve this range\n");
        job_done(j);
        return;
    }
    /* The resource is this snapshot of the range: its first segment and size
     * name it (a range still growing gets a new tag as it grows). */
    char etag[80], buf[128];
    snprintf(etag, sizeof(etag), "\"ts-%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"",
             (uint64_t)j->stream_id, (uint64_t)j->ar.spans[0].utc_ms, total);
    http_response_header(res, "Accept-Ranges", "bytes");
    http_response_header(res, "ETag", etag);
    http_response_header(res, "Content-Type", "video/mp2t");
    const char *range = j->range[0] ? j->range : NULL;
    if (range && j->if_range[0] && strcmp(j->if_range, etag) != 0)
        range = NULL; /* another snapshot: send it all */
    uint64_t start = 0, len = total;
    switch (http_range_parse(range, total, &start, &len)) {
    case HTTP_RANGE_UNSATISFIABLE:
        snprintf(buf, sizeof(buf), "bytes */%" PRIu64, total);
        http_response_header(res, "Content-Range", buf);
        api_text_error(r, 416, "range not satisfiable\n");
        job_done(j);
        return;
    case HTTP_RANGE_PARTIAL:
        snprintf(buf, sizeof(buf), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, start + len - 1,
                 total);
        http_response_header(res, "Content-Range", buf);
        http_response_status(res, 206);
        break;
    case HTTP_RANGE_NONE:
        http_response_status(res, 200);
        break;
    }
    j->pos = start;
    j->end = start + len;
    /* No Range and the end still ahead of the recording: follow it, without
     * a length (a byte range needs a fixed resource: that one stays this
     * snapshot). */
    if (!j->head && !range && j->ar.recording && !j->ar.complete && j->ar.n) {
        j->follow = true;
        j->next_from = j->ar.spans[j->ar.n - 1].utc_ms + 1;
        j->seen_tail = j->ar.tail_ms;
        http_response_header(res, "Cache-Control", "no-cache");
    }
    if (!j->head) /* HEAD: the same source, never pulled, gives the Content-Length */
        j->cu->served[j->kind]++;
    j->bytes_at_start = j->conn ? http_conn_bytes_sent(j->conn) : 0;
    struct http_body_source src = {.pull = job_pull, .close = job_source_close, .ctx = j};
    http_response_source(res, &src, j->follow ? -1 : (long long)len);
}

/* ---- the playlist -------------------------------------------------------- */

static void answer_m3u8(struct api_req *r, struct job *j)
{
    struct catchup *cu = j->cu;
    if (!j->head && !session_by_token(cu, j->token)) { /* swept while the lookup ran */
        api_text_error(r, 503, "catch-up session ended; retry\n");
        job_done(j);
        return;
    }
    /* Complete: nothing more will come into the range (or nothing is being
     * recorded): a VOD playlist. Else EVENT, re-fetched by the player. */
    bool complete = j->ar.complete || !j->ar.recording;
    uint32_t target = 1;
    for (size_t i = 0; i < j->ar.n; i++)
        if ((j->ar.spans[i].duration_ms + 999) / 1000 > target)
            target = (j->ar.spans[i].duration_ms + 999) / 1000;
    struct buf *b = http_response_buf(j->res);
    buf_printf(b,
               "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%u\n#EXT-X-MEDIA-SEQUENCE:0\n"
               "#EXT-X-PLAYLIST-TYPE:%s\n",
               target, complete ? "VOD" : "EVENT");
    for (size_t i = 0; i < j->ar.n; i++) {
        const struct archive_span *sp = &j->ar.spans[i];
        if (i && (sp->flags & ARCHIVE_CHUNK_DISCONT))
            buf_puts(b, "#EXT-X-DISCONTINUITY\n");
        buf_printf(b, "#EXTINF:%u.%03u,\n%s/catchup/%s/%" PRId64 ".ts\n", sp->duration_ms / 1000,
                   sp->duration_ms % 1000, j->base, j->token, sp->utc_ms);
    }
    if (complete)
        buf_puts(b, "#EXT-X-ENDLIST\n");
    http_response_status(j->res, 200);
    http_response_header(j->res, "Content-Type", "application/vnd.apple.mpegurl");
    http_response_header(j->res, "Cache-Control", "no-cache");
    cu->served[JOB_M3U8]++;
    job_done(j);
}

/* ---- lookup (thread pool) and its answer (loop) -------------------------- */

static void lookup_work(uv_work_t *w)
{
    struct job *j = w->data;
    size_t max = j->kind == JOB_SEGMENT ? 1 : 0;
    j->rc = archive_lookup(j->cu->api->archive, j->stream_id, j->from_ms, j->to_ms, max, 0, &j->ar);
}

static void fmt_ms(int64_t ms, char out[20])
{
    api_format_time(ms / 1000, out);
}

static void lookup_after(uv_work_t *w, int status)
{
    struct job *j = w->data;
    j->working = false;
    if (j->released) { /* the client left meanwhile */
        job_free(j);
        return;
    }
    struct http_response *res = j->res; /* j may be freed below */
    struct api_req r = {.api = j->cu->api, .res = res};
    if (status != 0 && j->rc == 0)
        j->rc = -ECANCELED;
    if (j->rc == -ENOENT) {
        api_text_error(&r, 404, "catch-up: this stream has no archive\n");
        job_done(j);
    } else if (j->rc == -EAGAIN) { /* the archive's start-up scan is not done */
        http_response_header(res, "Retry-After", "5");
        api_text_error(&r, 503, "catch-up: the archive is still being scanned; retry\n");
        job_done(j);
    } else if (j->rc) {
        j->cu->read_errors++;
        log_warn("catchup", "stream %lld: archive lookup failed (%s)", (long long)j->stream_id,
                 strerror(-j->rc));
        api_text_error(&r, 500, "catch-up: the archive could not be read\n");
        job_done(j);
    } else if (j->kind == JOB_SEGMENT && (j->ar.n != 1 || j->ar.spans[0].utc_ms != j->from_ms)) {
        api_text_error(&r, 404, "catch-up: no such segment (pruned?)\n");
        job_done(j);
    } else if (j->ar.n == 0 && (j->kind != JOB_M3U8 || j->ar.complete || !j->ar.recording)) {
        char head[20], tail[20], msg[160];
        fmt_ms(j->ar.head_ms, head);
        fmt_ms(j->ar.tail_ms, tail);
        snprintf(msg, sizeof(msg),
                 "catch-up: nothing archived in this range (archive: %s to %s UTC)\n",
                 j->ar.head_ms ? head : "-", j->ar.tail_ms ? tail : "-");
        api_text_error(&r, 404, msg);
        job_done(j);
    } else if (j->kind == JOB_M3U8) {
        answer_m3u8(&r, j);
    } else {
        answer_ts(&r, j);
    }
    http_response_resume(res); /* j was freed, or lives on as the body source */
}

/* Queues the lookup and defers the response (the after-callback always runs
 * later, from the loop); the job is freed on every path. */
static void job_start(struct api_req *r, struct job *j)
{
    j->working = true;
    j->work.data = j;
    if (uv_queue_work(r->api->cfg.loop, &j->work, lookup_work, lookup_after) != 0) {
        j->working = false;
        api_text_error(r, 500, "cannot queue the archive lookup\n");
        job_release(j);
        job_free(j);
        return;
    }
    http_response_defer(r->res, job_abort, j);
}

static struct job *job_new(struct api_req *r, struct catchup *cu, enum job_kind kind,
                           int64_t stream_id)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->cu = cu;
    j->kind = kind;
    j->res = r->res;
    j->conn = http_response_conn(r->res);
    j->stream_id = stream_id;
    j->head = r->req->method == HTTP_HEAD;
    const char *h = http_request_header(r->req, "Range");
    if (h && strlen(h) < sizeof(j->range))
        snprintf(j->range, sizeof(j->range), "%s", h);
    h = http_request_header(r->req, "If-Range");
    if (h && strlen(h) < sizeof(j->if_range))
        snprintf(j->if_range, sizeof(j->if_range), "%s", h);
    snprintf(j->base, sizeof(j->base), "%s", r->base);
    j->start_loop_ms = loop_ms(r->api);
    j->line_id = r->line ? r->line->id : 0;
    h = http_request_header(r->req, "User-Agent");
    snprintf(j->username, sizeof(j->username), "%s", r->line ? r->line->username : "");
    snprintf(j->ip, sizeof(j->ip), "%s", r->req->client_ip);
    snprintf(j->ua, sizeof(j->ua), "%s", h ? h : "");
    return j;
}

/* ---- entry points -------------------------------------------------------- */

void api_catchup(struct api_req *r, const struct timeshift_range *tr)
{
    struct catchup *cu = get_cu(r->api);
    if (!cu) {
        api_text_error(r, 500, "out of memory\n");
        return;
    }
    struct archive_stream_info info;
    if (!r->api->archive || !r->api->cfg.loop ||
        archive_stream_info(r->api->archive, tr->stream_id, &info) != 0 || info.head_ms == 0) {
        api_text_error(r, 404, "catch-up: this stream has no archive\n");
        return;
    }
    bool m3u8 = strcmp(tr->ext, "m3u8") == 0;
    struct job *j = job_new(r, cu, m3u8 ? JOB_M3U8 : JOB_TS, tr->stream_id);
    if (!j) {
        api_text_error(r, 500, "out of memory\n");
        return;
    }
    j->from_ms = tr->start * 1000;
    j->to_ms = tr->duration ? (tr->start + tr->duration) * 1000 : 0;
    int64_t now = (int64_t)time(NULL);
    if (m3u8) {
        struct session *s =
            j->head ? NULL : session_for(r, cu, tr->stream_id, j->from_ms, j->to_ms);
        if (!j->head && !s) {
            api_text_error(r, 503, "too many catch-up sessions on this server; retry later\n");
            job_free(j);
            return;
        }
        if (s)
            memcpy(j->token, s->token, sizeof(j->token));
        else /* HEAD: a placeholder of the real token's length */
            memset(j->token, '0', sizeof(j->token) - 1);
    } else if (!j->head) {
        j->handle = conn_registry_add(r->api->conns, r->line->id, CONN_TIMESHIFT, tr->stream_id,
                                      r->req->client_ip, http_request_header(r->req, "User-Agent"),
                                      now, job_kick, j);
        if (!j->handle) {
            api_text_error(r, 503, "too many connections on this server; retry later\n");
            job_free(j);
            return;
        }
        job_link(j);
        conn_registry_enforce(r->api->conns, r->line->id, r->line->max_connections, j->handle, now);
    }
    job_start(r, j);
}

void api_catchup_segment(struct api_req *r, const char *token, const char *seg)
{
    struct catchup *cu = get_cu(r->api);
    struct session *s = cu ? session_by_token(cu, token) : NULL;
    if (!s || s->dead) {
        api_text_error(r, 403, "catch-up session expired or ended\n");
        return;
    }
    const char *dot = strrchr(seg, '.');
    size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
    int64_t utc_ms = 0;
    if (!dot || strcmp(dot, ".ts") != 0 || n == 0 || n > 15 || strspn(seg, "0123456789") != n) {
        api_text_error(r, 404, "no such segment\n");
        return;
    }
    for (size_t i = 0; i < n; i++)
        utc_ms = utc_ms * 10 + (seg[i] - '0');
    s->last_seen = (int64_t)time(NULL);
    if (!r->api->archive || !r->api->cfg.loop) {
        api_text_error(r, 404, "catch-up: this stream has no archive\n");
        return;
    }
    struct job *j = job_new(r, cu, JOB_SEGMENT, s->stream_id);
    if (!j) {
        api_text_error(r, 500, "out of memory\n");
        return;
    }
    memcpy(j->token, s->token, sizeof(j->token));
    j->from_ms = utc_ms;
    j->to_ms = utc_ms + 1;
    job_start(r, j);
}

/* ---- housekeeping, admin, metrics ---------------------------------------- */

void api_catchup_wake(struct api *api)
{
    struct catchup *cu = api->catchup;
    if (!cu || !api->archive)
        return;
    for (struct job *j = cu->jobs; j; j = j->next)
        if (j->follow && !j->working && !j->buf && j->pos >= j->end && j->conn &&
            archive_tail_ms(api->archive, j->stream_id) > j->seen_tail)
            http_conn_wake(j->conn);
}

void api_catchup_tick(struct api *api, int64_t now)
{
    struct catchup *cu = api->catchup;
    if (!cu)
        return;
    struct session *next;
    for (struct session *s = cu->sessions; s; s = next) {
        next = s->next;
        if (s->dead || now - s->last_seen > CATCHUP_SESSION_IDLE_S ||
            !auth_line_still_active(api->catalog, s->username, s->line_id, now))
            session_free(s);
    }
    struct job *jn;
    for (struct job *j = cu->jobs; j; j = jn) {
        jn = j->next;
        if (j->conn && !auth_line_still_active(api->catalog, j->username, j->line_id, now)) {
            log_info("catchup", "catch-up by %s cut: line %s is no longer active", j->ip,
                     j->username);
            http_conn_abort(j->conn);
        }
    }
}

void api_catchup_admin_write(struct api *api, struct live_conn_sink *sink, uint64_t now_ms)
{
    struct catchup *cu = api->catchup;
    if (!cu)
        return;
    for (struct job *j = cu->jobs; j; j = j->next)
        if (j->handle)
            live_write_connection(sink, "timeshift", j->handle, j->line_id, j->username,
                                  j->stream_id, j->ip, j->ua, j->start_loop_ms, job_bytes(j),
                                  now_ms);
    for (struct session *s = cu->sessions; s; s = s->next)
        if (s->handle && !s->dead)
            live_write_connection(sink, "timeshift", s->handle, s->line_id, s->username,
                                  s->stream_id, s->ip, s->ua, s->start_loop_ms, s->bytes, now_ms);
}

bool api_catchup_admin_kill(struct api *api, uint64_t handle)
{
    struct catchup *cu = api->catchup;
    if (!cu || !handle)
        return false;
    for (struct job *j = cu->jobs; j; j = j->next) {
        if (j->handle == handle && j->conn) {
            log_info("catchup", "connection %llu killed by the operator",
                     (unsigned long long)handle);
            http_conn_abort(j->conn);
            return true;
        }
    }
    for (struct session *s = cu->sessions; s; s = s->next) {
        if (s->handle == handle) {
            log_info("catchup", "session %llu killed by the operator", (unsigned long long)handle);
            conn_registry_remove(api->conns, s->handle, (int64_t)time(NULL));
            s->handle = 0;
            s->dead = true;
            return true;
        }
    }
    return false;
}

void api_catchup_metrics(struct api *api, struct buf *out)
{
    struct catchup *cu = api->catchup;
    uint64_t served[3] = {0, 0, 0}, refused = 0, errors = 0, bytes = 0;
    size_t sessions = 0, active = 0;
    if (cu) {
        memcpy(served, cu->served, sizeof(served));
        refused = cu->refused_sessions;
        errors = cu->read_errors;
        bytes = cu->bytes_done;
        sessions = cu->nsessions;
        for (struct job *j = cu->jobs; j; j = j->next) {
            active++;
            bytes += job_bytes(j);
        }
    }
    promtext_family(out, "xtreamd_catchup_responses_total", "counter",
                    "Catch-up responses served: TS ranges, HLS playlists, HLS segments");
    buf_printf(out,
               "xtreamd_catchup_responses_total{kind=\"ts\"} %" PRIu64 "\n"
               "xtreamd_catchup_responses_total{kind=\"m3u8\"} %" PRIu64 "\n"
               "xtreamd_catchup_responses_total{kind=\"segment\"} %" PRIu64 "\n",
               served[JOB_TS], served[JOB_M3U8], served[JOB_SEGMENT]);
    promtext_family(out, "xtreamd_catchup_ts_responses", "gauge",
                    "Catch-up TS responses being sent");
    buf_printf(out, "xtreamd_catchup_ts_responses %zu\n", active);
    promtext_family(out, "xtreamd_catchup_sessions", "gauge", "Catch-up HLS sessions");
    buf_printf(out, "xtreamd_catchup_sessions %zu\n", sessions);
    promtext_family(out, "xtreamd_catchup_sessions_refused_total", "counter",
                    "Catch-up HLS sessions refused at the bound (503)");
    buf_printf(out, "xtreamd_catchup_sessions_refused_total %" PRIu64 "\n", refused);
    promtext_family(out, "xtreamd_catchup_read_errors_total", "counter",
                    "Catch-up archive lookups or reads that failed");
    buf_printf(out, "xtreamd_catchup_read_errors_total %" PRIu64 "\n", errors);
    promtext_family(out, "xtreamd_catchup_bytes_out_total", "counter",
                    "Bytes of catch-up TS and segment responses sent (headers included)");
    buf_printf(out, "xtreamd_catchup_bytes_out_total %" PRIu64 "\n", bytes);
}

void api_catchup_free(struct api *api)
{
    struct catchup *cu = api->catchup;
    if (!cu)
        return;
    while (cu->sessions)
        session_free(cu->sessions);
    while (cu->jobs) {
        struct job *j = cu->jobs;
        job_unlink(j);
        j->released = true;
        if (!j->working)
            job_free(j);
    }
    free(cu);
    api->catchup = NULL;
}
