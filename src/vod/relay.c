/*
 * relay: remote VOD relayed with Range pass-through (see relay.h for what it
 * owns, its invariants and threading).
 *
 * Job states: HEAD_WAIT (the response is deferred; curl is connecting or
 * reading the upstream head), BODY (the response is sent; its body source
 * pulls from job->buf) and, once curl reported the transfer done, `finished`
 * with `result`. A job leaves the multi handle and is freed by the work timer
 * once both sides let go of it: the HTTP side (`http_gone`: the connection
 * closed, the deferral was aborted or the body source was closed) and the curl
 * side (the transfer finished, or is cancelled because the HTTP side went).
 */
#include "vod/relay.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "http/outbound.h"

#define RELAY_BUF_MAX   (256 * 1024) /* per job: pause the upstream beyond this */
#define RELAY_RESUME_AT (64 * 1024)  /* resume it once the viewer drained to this */
#define RELAY_STALL_MS  60000        /* an unpaused transfer with no data this long ends */
#define RELAY_CONNECT_S 10L
#define RELAY_HEAD_S    30L /* the upstream's head must arrive within this */
#define WORK_PERIOD_MS  5000

struct job {
    struct job *next, *prev;
    struct vod_relay *m;
    CURL *easy;
    struct http_response *res;
    struct http_conn *conn;
    struct curl_slist *hdrs;
    struct vod_relay_head head;
    struct buf buf; /* body bytes from the upstream not yet pulled */
    size_t off;     /* bytes of buf already pulled */
    char *url;
    char *default_type;
    char errbuf[CURL_ERROR_SIZE];
    struct outbound_check chk; /* loopback/link-local/own addresses refused */
    void (*done)(void *ctx);
    void *done_ctx;
    uint64_t started, last_data;
    CURLcode result;
    bool is_head;
    bool head_ready; /* the upstream's final head is in */
    bool responded;  /* the response head went to the HTTP side */
    bool http_gone;  /* the HTTP side dropped the job */
    bool finished;   /* curl reported the transfer done */
    bool paused, want_resume;
};

struct sock {
    uv_poll_t poll;
    struct vod_relay *m;
    curl_socket_t fd;
};

struct vod_relay {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timeout; /* curl's */
    uv_timer_t work;    /* reaping, resuming, stall checks */
    struct job *jobs;
    size_t njobs;
    size_t nready; /* jobs whose head came in during the last curl call */
    bool work_soon;
};

/* ---- response head parsing (pure) --------------------------------------- */

static bool value_ok(const char *v, size_t n, size_t cap)
{
    if (n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
            return false;
    return true;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
    if (!value_ok(v, n, cap))
        return; /* dropped, never truncated */
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static long long parse_length(const char *v, size_t n)
{
    if (n == 0 || n > 18)
        return -1;
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

static int status_line(struct vod_relay_head *h, const char *line, size_t len)
{
    /* HTTP/1.1 206 Partial Content | HTTP/2 200 */
    size_t i = 5;
    while (i < len && line[i] != ' ')
        i++;
    if (i + 4 > len || line[i] != ' ' || line[i + 1] < '1' || line[i + 1] > '9' ||
        !isdigit((unsigned char)line[i + 2]) || !isdigit((unsigned char)line[i + 3]) ||
        (i + 4 < len && line[i + 4] != ' '))
        return -EBADMSG;
    memset(h, 0, sizeof(*h));
    h->status = (line[i + 1] - '0') * 100 + (line[i + 2] - '0') * 10 + (line[i + 3] - '0');
    h->length = -1;
    return 0;
}

int vod_relay_head_line(struct vod_relay_head *h, const char *line, size_t len)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0)
        return status_line(h, line, len);
    if (h->status == 0)
        return -EBADMSG;
    if (len == 0)
        return 1;
    const char *colon = memchr(line, ':', len);
    if (!colon || colon == line)
        return 0; /* not a header line: ignored */
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(line, name, nlen) == 0)
    if (IS("Content-Length")) {
        long long n = parse_length(v, vlen);
        h->length = (h->length >= 0 && h->length != n) ? -2 : n; /* conflicting: unknown */
        if (h->length == -2)
            h->length = -1;
    } else if (IS("Content-Type")) {
        copy_value(h->type, sizeof(h->type), v, vlen);
    } else if (IS("Content-Range")) {
        copy_value(h->range, sizeof(h->range), v, vlen);
    } else if (IS("ETag")) {
        copy_value(h->etag, sizeof(h->etag), v, vlen);
    } else if (IS("Last-Modified")) {
        copy_value(h->modified, sizeof(h->modified), v, vlen);
    } else if (IS("Accept-Ranges")) {
        copy_value(h->ranges, sizeof(h->ranges), v, vlen);
    } else if (IS("Content-Encoding")) {
        copy_value(h->encoding, sizeof(h->encoding), v, vlen);
    } else if (IS("Location")) {
        h->location[0] = vlen ? 'y' : '\0';
    }
#undef IS
    return 0;
}

int vod_relay_status_map(int upstream)
{
    switch (upstream) {
    case 200:
    case 206:
    case 416:
        return upstream;
    case 404:
    case 410:
        return 404;
    case 504:
        return 504;
    default:
        return 502;
    }
}

/* ---- job lifetime -------------------------------------------------------- */

static void on_work(uv_timer_t *t);

static void schedule_work(struct vod_relay *m)
{
    if (m->work_soon)
        return;
    m->work_soon = true;
    uv_timer_start(&m->work, on_work, 0, WORK_PERIOD_MS);
}

/* The job's owner learns that the response is over; once. */
static void job_done(struct job *j)
{
    void (*fn)(void *) = j->done;
    j->done = NULL;
    if (fn)
        fn(j->done_ctx);
}

/* Ends the upstream transfer now (its socket closes). Never inside curl. */
static void job_drop_transfer(struct job *j)
{
    if (!j->easy)
        return;
    curl_multi_remove_handle(j->m->multi, j->easy);
    curl_easy_cleanup(j->easy);
    j->easy = NULL;
}

static void job_free(struct job *j)
{
    struct vod_relay *m = j->m;
    if (j->prev)
        j->prev->next = j->next;
    else
        m->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    m->njobs--;
    job_drop_transfer(j);
    curl_slist_free_all(j->hdrs);
    buf_free(&j->buf);
    free(j->url);
    free(j->default_type);
    job_done(j);
    free(j);
}

/* The HTTP side is done with the job (any of: deferral aborted, body source
 * closed). Called from inside HTTP callbacks: only marks. */
static void job_release(struct job *j)
{
    j->http_gone = true;
    j->res = NULL;
    j->conn = NULL;
    job_done(j); /* now: whoever holds the connection must forget it now */
    schedule_work(j->m);
}

static void on_defer_abort(void *ctx)
{
    job_release(ctx);
}

/* ---- body source ----------------------------------------------------------- */

static int src_pull(void *ctx, struct buf *out, size_t budget)
{
    struct job *j = ctx;
    size_t avail = j->buf.len - j->off;
    size_t n = avail < budget ? avail : budget;
    if (n) {
        if (buf_append(out, j->buf.data + j->off, n))
            return -ENOMEM;
        j->off += n;
        if (j->off == j->buf.len) {
            buf_reset(&j->buf);
            j->off = 0;
        }
    }
    if (j->paused && j->buf.len - j->off <= RELAY_RESUME_AT) {
        j->want_resume = true;
        schedule_work(j->m);
    }
    if (j->buf.len - j->off)
        return 1;
    if (j->finished)
        return j->result == CURLE_OK ? 0 : -EIO; /* truncated: the connection closes */
    return n ? 1 : -EAGAIN;
}

static void src_close(void *ctx)
{
    job_release(ctx);
}

/* ---- answering ------------------------------------------------------------- */

static void add_header(struct http_response *res, const char *name, const char *value)
{
    if (value && *value)
        http_response_header(res, name, value);
}

static void respond_error(struct job *j, int status, const char *why)
{
    char body[256];
    snprintf(body, sizeof(body), "%s\n", why);
    http_response_text(j->res, status, "text/plain; charset=utf-8", body);
}

/* Fills the deferred response from the upstream head (or the failure) and
 * releases it. May re-enter src_close through http_response_resume. */
static void respond(struct job *j)
{
    if (j->responded || j->http_gone)
        return;
    j->responded = true;
    struct http_response *res = j->res;
    const struct vod_relay_head *h = &j->head;
    /* A refused connection (outbound.h) ends the transfer before a final
     * head; a 3xx head seen before it is the redirect that led there. */
    bool refused = j->chk.refused[0] && !j->head_ready;
    int status = h->status && !refused ? vod_relay_status_map(h->status) : 0;
    if (status == 200 || status == 206) {
        http_response_status(res, status);
        add_header(res, "Content-Type", h->type[0] ? h->type : j->default_type);
        add_header(res, "Content-Range", status == 206 ? h->range : NULL);
        add_header(res, "Accept-Ranges", h->ranges);
        add_header(res, "ETag", h->etag);
        add_header(res, "Last-Modified", h->modified);
        add_header(res, "Content-Encoding", h->encoding);
        struct http_body_source src = {.pull = src_pull, .close = src_close, .ctx = j};
        http_response_source(res, &src, h->length);
    } else if (status == 416) {
        add_header(res, "Content-Range", h->range);
        respond_error(j, 416, "range not satisfiable");
    } else if (status == 404) {
        respond_error(j, 404, "file not available at the source");
    } else if (status) {
        log_warn("vod", "relay: %s answered %d", j->url, h->status);
        char why[64];
        snprintf(why, sizeof(why), "the source answered %d", h->status);
        respond_error(j, status, why);
    } else if (refused) {
        bool own = strstr(j->chk.refused, "own listening port") != NULL; /* never allowed */
        log_warn("vod", "relay: %s: refused to connect to %s%s", j->url, j->chk.refused,
                 own ? "" : " (serve --allow-host HOST allows a host)");
        respond_error(j, 502, "the source is not allowed");
    } else {
        bool timeout = j->result == CURLE_OPERATION_TIMEDOUT;
        log_warn("vod", "relay: %s: %s", j->url,
                 j->errbuf[0] ? j->errbuf : curl_easy_strerror(j->result));
        respond_error(j, timeout ? 504 : 502,
                      timeout ? "the source did not answer in time" : "the source is unreachable");
    }
    bool streams = status == 200 || status == 206;
    http_response_resume(res);
    if (!streams)
        job_release(j); /* no body source: nothing else will let go of the job */
}

/* The transfer is over: answer now if the head never came, else let the
 * viewer drain what is buffered (the body source then ends or fails). */
static void job_finish(struct job *j, CURLcode result)
{
    j->finished = true;
    j->result = result;
    if (!j->responded)
        respond(j);
    else if (!j->http_gone)
        http_conn_wake(j->conn);
}

/* ---- curl callbacks ---------------------------------------------------------- */

static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    struct job *j = ud;
    size_t len = size * n;
    if (j->http_gone)
        return 0; /* cancels the transfer */
    int rc = vod_relay_head_line(&j->head, line, len);
    if (rc < 0) {
        log_warn("vod", "relay: %s: malformed response head", j->url);
        return 0;
    }
    if (rc == 1) {
        bool interim = j->head.status < 200;
        bool followed = j->head.status >= 300 && j->head.status < 400 && j->head.location[0];
        if (!interim && !followed && !j->head_ready) {
            /* Answered by check_done() once curl returns: resuming the
             * response may dispatch the connection's next request, which
             * must not start a transfer from inside curl. */
            j->head_ready = true;
            j->m->nready++;
        }
    }
    return len;
}

static void compact(struct buf *b, size_t *off)
{
    if (*off == 0)
        return;
    buf_consume(b, *off);
    *off = 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct job *j = ud;
    size_t len = size * n;
    int st = j->head.status;
    if (j->http_gone || (j->head_ready && st != 200 && st != 206))
        return 0; /* the viewer left, or the answer carries no body: cancel */
    size_t pending = j->buf.len - j->off;
    if (pending && pending + len > RELAY_BUF_MAX) {
        j->paused = true; /* curl keeps this chunk and hands it over again */
        return CURL_WRITEFUNC_PAUSE;
    }
    if (j->buf.len + len > RELAY_BUF_MAX)
        compact(&j->buf, &j->off);
    if (buf_append(&j->buf, data, len))
        return 0;
    j->last_data = uv_now(j->m->loop);
    if (j->responded)
        http_conn_wake(j->conn);
    return len;
}

/* Reads curl's completion messages. Never called from inside curl. */
static void check_done(struct vod_relay *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct job *j = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        if (!j || j->finished)
            continue;
        CURLcode result = msg->data.result;
        if (result != CURLE_OK && !j->http_gone && j->responded)
            log_warn("vod", "relay: %s ended early: %s", j->url,
                     j->errbuf[0] ? j->errbuf : curl_easy_strerror(result));
        job_finish(j, result);
        schedule_work(m);
    }
    if (m->nready) {
        m->nready = 0;
        for (struct job *j = m->jobs; j; j = j->next)
            if (j->head_ready && !j->responded)
                respond(j);
    }
}

static void on_sock_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sock *s = h->data;
    struct vod_relay *m = s->m;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    int running;
    curl_multi_socket_action(m->multi, s->fd, flags, &running);
    check_done(m);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
    struct vod_relay *m = userp;
    struct sock *s = sockp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(m->multi, fd, NULL);
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, on_sock_closed);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->m = m;
        s->fd = fd;
        if (uv_poll_init_socket(m->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        curl_multi_assign(m->multi, fd, s);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    return uv_poll_start(&s->poll, ev, on_poll) == 0 ? 0 : -1;
}

static void on_timeout(uv_timer_t *t)
{
    struct vod_relay *m = t->data;
    int running;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(m);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct vod_relay *m = userp;
    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&m->timeout);
    else
        uv_timer_start(&m->timeout, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- the work timer ---------------------------------------------------------- */

/* Ends a transfer that went silent (or whose head never came) as failed. */
static void job_timeout(struct job *j, const char *what)
{
    log_warn("vod", "relay: %s: %s", j->url, what);
    job_drop_transfer(j);
    job_finish(j, CURLE_OPERATION_TIMEDOUT);
}

static void on_work(uv_timer_t *t)
{
    struct vod_relay *m = t->data;
    m->work_soon = false;
    uint64_t now = uv_now(m->loop);
    struct job *j = m->jobs;
    while (j) {
        struct job *next = j->next;
        if (j->http_gone) {
            job_free(j);
        } else if (j->paused && j->want_resume) {
            j->paused = j->want_resume = false;
            j->last_data = now;
            curl_easy_pause(j->easy, CURLPAUSE_CONT); /* may deliver data right now */
        } else if (!j->finished && !j->responded && now - j->started > RELAY_HEAD_S * 1000) {
            job_timeout(j, "no response head in time");
        } else if (!j->finished && !j->paused && now - j->last_data > RELAY_STALL_MS) {
            job_timeout(j, "no data for 60 s");
        }
        j = next;
    }
    check_done(m);
    if (!m->jobs)
        uv_timer_stop(&m->work);
}

/* ---- public ------------------------------------------------------------------- */

int vod_relay_new(uv_loop_t *loop, struct vod_relay **out)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -ENOMEM;
    struct vod_relay *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->loop = loop;
    m->multi = curl_multi_init();
    if (!m->multi) {
        free(m);
        return -ENOMEM;
    }
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    uv_timer_init(loop, &m->timeout);
    uv_timer_init(loop, &m->work);
    m->timeout.data = m->work.data = m;
    /* Transfers keep the loop alive through their sockets, not the timers. */
    uv_unref((uv_handle_t *)&m->timeout);
    uv_unref((uv_handle_t *)&m->work);
    *out = m;
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    (void)h;
}

void vod_relay_free(struct vod_relay *m)
{
    if (!m)
        return;
    while (m->jobs)
        job_free(m->jobs);
    curl_multi_cleanup(m->multi);
    uv_close((uv_handle_t *)&m->timeout, on_timer_closed);
    uv_close((uv_handle_t *)&m->work, on_timer_closed);
    uv_run(m->loop, UV_RUN_DEFAULT); /* lets the poll and timer handles close */
    free(m);
}

size_t vod_relay_active(const struct vod_relay *m)
{
    return m ? m->njobs : 0;
}

static int add_request_header(struct job *j, const char *name, const char *value)
{
    if (!value)
        return 0;
    if (strpbrk(value, "\r\n"))
        return -EINVAL;
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s: %s", name, value);
    if (n < 0 || (size_t)n >= sizeof(line))
        return -EINVAL;
    struct curl_slist *l = curl_slist_append(j->hdrs, line);
    if (!l)
        return -ENOMEM;
    j->hdrs = l;
    return 0;
}

static int job_setup(struct job *j, const struct vod_relay_request *rq)
{
    int rc;
    if ((rc = add_request_header(j, "Range", rq->range)) ||
        (rc = add_request_header(j, "If-Range", rq->if_range)))
        return rc;
    CURL *e = j->easy;
    if (curl_easy_setopt(e, CURLOPT_URL, j->url) != CURLE_OK)
        return -EINVAL;
    outbound_apply(e, &j->chk); /* http/https only; never this host (outbound.h) */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, RELAY_CONNECT_S);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs);
    curl_easy_setopt(e, CURLOPT_USERAGENT,
                     rq->user_agent && !strpbrk(rq->user_agent, "\r\n")
                         ? rq->user_agent
                         : "xtreamd/" XTREAMD_VERSION);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
    if (j->is_head)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    return 0;
}

int vod_relay_start(struct vod_relay *m, struct http_response *res,
                    const struct vod_relay_request *rq)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    int rc = -ENOMEM;
    j->m = m;
    j->is_head = rq->head;
    buf_init(&j->buf, RELAY_BUF_MAX + 4 * CURL_MAX_WRITE_SIZE);
    j->url = strdup(rq->url);
    j->default_type = strdup(rq->default_type ? rq->default_type : "application/octet-stream");
    j->easy = curl_easy_init();
    if (!j->url || !j->default_type || !j->easy)
        goto fail;
    if ((rc = job_setup(j, rq)) != 0)
        goto fail;
    if (curl_multi_add_handle(m->multi, j->easy) != CURLM_OK) {
        rc = -ENOMEM;
        goto fail;
    }
    j->res = res;
    j->conn = http_response_conn(res);
    j->done = rq->done;
    j->done_ctx = rq->done_ctx;
    j->started = j->last_data = uv_now(m->loop);
    j->next = m->jobs;
    if (j->next)
        j->next->prev = j;
    m->jobs = j;
    m->njobs++;
    http_response_defer(res, on_defer_abort, j);
    schedule_work(m);
    return 0;
fail:
    if (j->easy)
        curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->hdrs);
    free(j->url);
    free(j->default_type);
    buf_free(&j->buf);
    free(j);
    return rc;
}
