/* offload: see offload.h. */
#include "http/offload.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <unistd.h>

/* bytes a writer sends for one job per wake-up: the other jobs and the loop's live viewers
 * get their turn (the accepting loop's WRITE_CAP, http/server.c) */
#define JOB_WRITE_CAP (1024 * 1024)

struct offload_home {
    uv_async_t async;
    pthread_mutex_t lock;
    struct offload_job *back; /* under lock */
    void (*done)(void *ctx, struct offload_job *j);
    void *ctx;
};

struct offload_writer {
    uv_loop_t *loop;
    uv_async_t async;
    pthread_mutex_t lock;
    struct offload_job *inbox;  /* under lock */
    struct offload_job *active; /* the loop's */
    bool stopping;
};

/* ---- home -------------------------------------------------------------- */

static void home_post(struct offload_home *h, struct offload_job *j)
{
    pthread_mutex_lock(&h->lock);
    j->next = h->back;
    h->back = j;
    pthread_mutex_unlock(&h->lock);
    uv_async_send(&h->async);
}

static void home_on_async(uv_async_t *a)
{
    struct offload_home *h = a->data;
    pthread_mutex_lock(&h->lock);
    struct offload_job *j = h->back;
    h->back = NULL;
    pthread_mutex_unlock(&h->lock);
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
    int rc = pthread_mutex_init(&h->lock, NULL);
    if (rc) {
        free(h);
        return -rc;
    }
    if ((rc = uv_async_init(loop, &h->async, home_on_async)) != 0) {
        pthread_mutex_destroy(&h->lock);
        free(h);
        return rc;
    }
    h->async.data = h;
    h->done = done;
    h->ctx = ctx;
    *out = h;
    return 0;
}

static void home_closed(uv_handle_t *a)
{
    struct offload_home *h = a->data;
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void offload_home_stop(struct offload_home *h)
{
    if (h)
        uv_close((uv_handle_t *)&h->async, home_closed);
}

/* ---- writer ------------------------------------------------------------ */

static void job_closed(uv_handle_t *p)
{
    struct offload_job *j = p->data;
    close(j->sock);
    j->sock = -1;
    home_post(j->home, j);
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

static void job_write(struct offload_writer *w, struct offload_job *j)
{
    size_t budget = JOB_WRITE_CAP;
    while (j->len > 0 && budget > 0) {
        size_t want = j->len < budget ? j->len : budget;
        ssize_t n = sendfile(j->sock, j->file_fd, &j->foff, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            job_finish(w, j, n == 0 ? -EIO : -errno); /* 0: the file ended early */
            return;
        }
        j->sent += (size_t)n;
        j->len -= (size_t)n;
        budget -= (size_t)n;
        atomic_store_explicit(&j->progress_ms, uv_now(w->loop), memory_order_relaxed);
    }
    if (j->len == 0) {
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
    home_post(j->home, j);
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
    pthread_mutex_lock(&w->lock);
    struct offload_job *j = w->inbox;
    w->inbox = NULL;
    pthread_mutex_unlock(&w->lock);
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
    int rc = pthread_mutex_init(&w->lock, NULL);
    if (rc) {
        free(w);
        return -rc;
    }
    if ((rc = uv_async_init(loop, &w->async, writer_on_async)) != 0) {
        pthread_mutex_destroy(&w->lock);
        free(w);
        return rc;
    }
    w->async.data = w;
    w->loop = loop;
    *out = w;
    return 0;
}

static void writer_closed(uv_handle_t *a)
{
    struct offload_writer *w = a->data;
    pthread_mutex_destroy(&w->lock);
    free(w);
}

void offload_writer_stop(struct offload_writer *w)
{
    if (!w)
        return;
    w->stopping = true;
    writer_on_async(&w->async); /* what is queued goes home unstarted */
    while (w->active)
        job_finish(w, w->active, -ECANCELED);
    uv_close((uv_handle_t *)&w->async, writer_closed);
}

void offload_submit(struct offload_writer *w, struct offload_job *j)
{
    pthread_mutex_lock(&w->lock);
    j->next = w->inbox;
    w->inbox = j;
    pthread_mutex_unlock(&w->lock);
    uv_async_send(&w->async);
}
