/* offload: see offload.h. */
#include "http/offload.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

/* bytes a writer sends for one job per wake-up: the other jobs and the loop's live viewers
 * get their turn (the accepting loop's WRITE_CAP, http/server.c) */
#define JOB_WRITE_CAP (1024 * 1024)

/* A list of jobs posted from any thread to one loop: a mutex taken once per job, and an
 * async handle (the first member: its data points at the owner). */
struct inbox {
    uv_async_t async;
    pthread_mutex_t lock;
    struct offload_job *head; /* under lock */
};

struct offload_home {
    struct inbox in; /* jobs coming back */
    void (*done)(void *ctx, struct offload_job *j);
    void *ctx;
};

struct offload_writer {
    struct inbox in; /* jobs to start */
    uv_loop_t *loop;
    struct offload_job *active; /* the loop's */
    bool stopping;
};

static int inbox_init(struct inbox *in, uv_loop_t *loop, uv_async_cb cb, void *owner)
{
    int rc = pthread_mutex_init(&in->lock, NULL);
    if (rc)
        return -rc;
    if ((rc = uv_async_init(loop, &in->async, cb)) != 0) {
        pthread_mutex_destroy(&in->lock);
        return rc;
    }
    in->async.data = owner;
    return 0;
}

static void inbox_post(struct inbox *in, struct offload_job *j)
{
    pthread_mutex_lock(&in->lock);
    j->next = in->head;
    in->head = j;
    pthread_mutex_unlock(&in->lock);
    uv_async_send(&in->async);
}

static struct offload_job *inbox_take(struct inbox *in)
{
    pthread_mutex_lock(&in->lock);
    struct offload_job *j = in->head;
    in->head = NULL;
    pthread_mutex_unlock(&in->lock);
    return j;
}

/* Closes the async handle; the owner (whose first member is the inbox) is freed after. */
static void inbox_closed(uv_handle_t *a)
{
    struct inbox *in = (struct inbox *)a;
    pthread_mutex_destroy(&in->lock);
    free(a->data);
}

/* ---- home -------------------------------------------------------------- */

static void home_on_async(uv_async_t *a)
{
    struct offload_home *h = a->data;
    struct offload_job *j = inbox_take(&h->in);
    while (j) {
        struct offload_job *n = j->next;
        j->next = NULL;
        h->done(h->ctx, j);
        j = n;
    }
}

int offload_home_start(uv_loop_t *loop, void (*done)(void *ctx, struct offload_job *j), void *ctx,
                       struct offload_home **out)
{
    struct offload_home *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    int rc = inbox_init(&h->in, loop, home_on_async, h);
    if (rc) {
        free(h);
        return rc;
    }
    h->done = done;
    h->ctx = ctx;
    *out = h;
    return 0;
}

void offload_home_stop(struct offload_home *h)
{
    if (h)
        uv_close((uv_handle_t *)&h->in.async, inbox_closed);
}

/* ---- writer ------------------------------------------------------------ */

static void job_closed(uv_handle_t *p)
{
    struct offload_job *j = p->data;
    close(j->sock);
    j->sock = -1;
    inbox_post(&j->home->in, j);
}

/* The job leaves the writer: its socket is closed and it goes home once its poll handle is. */
static void job_finish(struct offload_writer *w, struct offload_job *j, int err)
{
    j->err = err;
    if (j->prev)
        j->prev->next = j->next;
    else
        w->active = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->next = j->prev = NULL;
    j->writer = NULL;
    uv_close((uv_handle_t *)&j->poll, job_closed);
}

static void job_on_writable(uv_poll_t *p, int status, int events);

/* Sends what is left of the job's head: 1 when it is all out, 0 when the socket is full,
 * -errno. MSG_MORE holds it for the body's first bytes. */
static int job_write_head(struct offload_job *j)
{
    while (j->head_sent < j->head_len) {
        ssize_t n = send(j->sock, j->head + j->head_sent, j->head_len - j->head_sent,
                         MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
        j->head_sent += (size_t)n;
    }
    return 1;
}

static void job_write(struct offload_writer *w, struct offload_job *j)
{
    size_t budget = JOB_WRITE_CAP;
    int hrc = job_write_head(j);
    if (hrc < 0) {
        job_finish(w, j, hrc);
        return;
    }
    if (hrc == 0)
        budget = 0; /* wait for POLLOUT */
    while (j->len > 0 && budget > 0) {
        size_t want = j->len < budget ? j->len : budget;
        ssize_t n = sendfile(j->sock, j->file_fd, &j->foff, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            job_finish(w, j, n == 0 ? -ENODATA : -errno); /* 0: the file ended early */
            return;
        }
        j->sent += (size_t)n;
        j->len -= (size_t)n;
        budget -= (size_t)n;
        atomic_store_explicit(&j->progress_ms, uv_now(w->loop), memory_order_relaxed);
    }
    if (j->len == 0 && j->head_sent == j->head_len) {
        job_finish(w, j, 0);
        return;
    }
    /* socket full, or this wake-up's share sent: POLLOUT (at once when writable) */
    int rc = uv_poll_start(&j->poll, UV_WRITABLE | UV_DISCONNECT, job_on_writable);
    if (rc)
        job_finish(w, j, rc);
}

static void job_on_writable(uv_poll_t *p, int status, int events)
{
    (void)events;
    struct offload_job *j = p->data;
    struct offload_writer *w = j->writer;
    if (status < 0) {
        job_finish(w, j, status);
        return;
    }
    job_write(w, j);
}

/* A job that never started on this writer: straight home, unfinished. */
static void job_refuse(struct offload_job *j, int err)
{
    j->err = err;
    j->writer = NULL;
    close(j->sock);
    j->sock = -1;
    inbox_post(&j->home->in, j);
}

static void job_start(struct offload_writer *w, struct offload_job *j)
{
    if (w->stopping) {
        job_refuse(j, -ECANCELED);
        return;
    }
    int rc = uv_poll_init(w->loop, &j->poll, j->sock);
    if (rc) {
        job_refuse(j, rc);
        return;
    }
    j->poll.data = j;
    j->writer = w;
    j->prev = NULL;
    j->next = w->active;
    if (w->active)
        w->active->prev = j;
    w->active = j;
    job_write(w, j); /* write first: POLLOUT only once the socket is full */
}

static void writer_on_async(uv_async_t *a)
{
    struct offload_writer *w = a->data;
    struct offload_job *j = inbox_take(&w->in);
    while (j) {
        struct offload_job *n = j->next;
        job_start(w, j);
        j = n;
    }
}

int offload_writer_start(uv_loop_t *loop, struct offload_writer **out)
{
    struct offload_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    int rc = inbox_init(&w->in, loop, writer_on_async, w);
    if (rc) {
        free(w);
        return rc;
    }
    w->loop = loop;
    *out = w;
    return 0;
}

void offload_writer_stop(struct offload_writer *w)
{
    if (!w)
        return;
    w->stopping = true;
    writer_on_async(&w->in.async); /* what is queued goes home unstarted */
    while (w->active)
        job_finish(w, w->active, -ECANCELED);
    uv_close((uv_handle_t *)&w->in.async, inbox_closed);
}

void offload_submit(struct offload_writer *w, struct offload_job *j)
{
    inbox_post(&w->in, j);
}
