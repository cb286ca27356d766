/*
 * render: renders of uncached catalogue responses on the libuv thread pool,
 * single-flight (issue 11 item 3).
 *
 * An uncached list of a big catalogue (get_live_streams, get_vod_streams,
 * get_series, a get.php playlist) takes tens to hundreds of milliseconds to
 * render, and after every catalogue change each view's lists are uncached
 * again: rendered on the loop that stalled every viewer and request. Here the
 * request defers its response and the render runs on the thread pool, once per
 * (snapshot, cache scope, key) however many requests ask meanwhile: they all
 * wait on the one job and are answered from its body, which goes into the
 * snapshot's cache as an inline render would have put it (with its gzip
 * variant, made by the same job when the first request accepts gzip).
 *
 * Threading: the worker runs the caller's render function, which must read
 * only immutable data: the snapshot (the job holds a reference), the view's
 * bitsets (views live as long as their snapshot) and the job's copy of its
 * argument. Everything else — the job list, the cache, the waiters and their
 * responses — is touched on a loop thread holding the application lock
 * (core/applock.h: loop 0 always does).
 *
 * Several loops (serve --loops N): requests of every loop join one job, whose
 * work is queued on the loop that starts it (so its completion runs there).
 * Answering resumes a connection, which only its own loop may touch: a waiter of
 * another loop is answered by a call posted to its loop (http_response_post),
 * which holds a reference to the job (its body, key and snapshot) until it ran.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_priv.h"
#include "core/applock.h"
#include "core/log.h"
#include "http/encoding.h"

struct render_waiter {
    struct render_waiter *next;
    struct api_render *job;   /* NULL once the job is gone (server stopping) */
    struct http_request *req; /* valid while the response is deferred */
    struct http_response *res;
    bool aborted;          /* the connection went away: never touch res again */
    struct http_post post; /* answered on its own loop (remote_answer) */
};

struct api_render {
    struct api_render *next;  /* api->renders */
    struct api *api;          /* NULL once detached (api_free) */
    uv_loop_t *loop;          /* where its work was queued: render_done runs there */
    unsigned refs;            /* render_done's, and one per answer posted to another loop */
    struct refbuf *posted_rb; /* the body those answers send (NULL: the render failed) */
    uv_work_t work;
    struct catalog *cat;   /* referenced */
    struct cat_view *view; /* NULL: a snapshot-wide cache entry */
    void (*render)(struct catalog *cat, struct cat_view *view, const void *arg, struct buf *out);
    void (*answer)(struct api_req *r, struct refbuf *rb, const struct api_cache_slot *slot,
                   const void *arg);
    char key[800];
    char what[32];
    bool want_gzip;
    bool running; /* queued on the thread pool (else waiting for a slot) */
    /* results, written by the worker, read after it */
    struct buf body;
    struct refbuf *rb; /* the body as a refbuf, made by the worker (the copy stays off the loop) */
    struct refbuf *gz;
    double render_ms, gzip_ms;
    struct render_waiter *waiters;
    size_t arg_len;
    max_align_t arg[]; /* the caller's argument, copied */
};

static double elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void render_work(uv_work_t *w)
{
    struct api_render *j = w->data;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    j->render(j->cat, j->view, j->arg, &j->body);
    if (!j->body.err && !(j->rb = refbuf_new(j->body.data ? j->body.data : "", j->body.len)))
        j->body.err = -ENOMEM;
    if (j->rb && refbuf_add_memfd(j->rb, "xtreamd-list"))
        log_warn("api", "%s: no memfd for the body: it is sent by copy", j->what);
    j->render_ms = elapsed_ms(&t0);
    if (j->want_gzip && !j->body.err && j->body.len >= 1024) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (api_gzip_make(j->body.data, j->body.len, &j->gz))
            j->gz = NULL; /* the loop compresses on demand instead */
        else
            (void)refbuf_add_memfd(j->gz, "xtreamd-list-gz"); /* else sent by copy */
        j->gzip_ms = elapsed_ms(&t0);
    }
    int err = j->body.err;
    buf_free(&j->body); /* the bytes live on in j->rb; freed here, not on the loop */
    j->body.err = err;
}

static void slot_of(const struct api_render *j, struct api_cache_slot *slot)
{
    slot->view = j->view;
    slot->cat = j->cat;
    slot->skey = j->key;
    slot->what = j->what;
}

static void render_answer(struct api_render *j, struct render_waiter *wt, struct refbuf *rb)
{
    struct api_req r;
    memset(&r, 0, sizeof(r));
    r.api = j->api;
    r.req = wt->req;
    r.res = wt->res;
    r.cat = j->cat;
    if (!rb) {
        api_text_error(&r, 500, j->body.err == -E2BIG ? "response too large\n" : "out of memory\n");
        return;
    }
    struct api_cache_slot slot;
    slot_of(j, &slot);
    j->answer(&r, rb, &slot, j->arg);
}

static void render_done(uv_work_t *w, int status);

/* At most RENDER_RUNNING renders occupy the thread pool (libuv's default is 4
 * threads, shared with the catalogue builder, SQLite writes and imports: a
 * burst of uncached lists must not hold all of them). The others wait in the
 * list, where requests for the same key still join them. */
#define RENDER_RUNNING 2

/* Queued on the calling thread's loop (loop): its completion runs there. */
static int render_start(struct api *api, struct api_render *j, uv_loop_t *loop)
{
    j->loop = loop;
    int rc = uv_queue_work(loop, &j->work, render_work, render_done);
    if (rc == 0) {
        j->running = true;
        api->renders_running++;
    }
    return rc;
}

/* Starts the oldest waiting render, if a slot is free, on loop (the calling
 * thread's). A render that cannot be queued fails its waiters (500), like a
 * failed inline render. */
static void render_next(struct api *api, uv_loop_t *loop)
{
    while (api->renders_running < RENDER_RUNNING) {
        struct api_render *oldest = NULL;
        for (struct api_render *j = api->renders; j; j = j->next)
            if (!j->running)
                oldest = j; /* the list is newest first */
        if (!oldest)
            return;
        int rc = render_start(api, oldest, loop);
        if (rc) {
            log_warn("api", "render of %s could not be queued: %d", oldest->what, rc);
            render_done(&oldest->work, rc); /* answers its waiters 500 */
        }
    }
}

static void render_done_locked(uv_work_t *w, int status);
static void remote_answer(struct http_post *p);

static void job_unref(struct api_render *j)
{
    if (--j->refs)
        return;
    refbuf_unref(j->posted_rb);
    catalog_unref(j->cat);
    free(j);
}

/* On the loop that queued the job: loop 0 holds the application lock already,
 * another loop takes it here. */
static void render_done(uv_work_t *w, int status)
{
    applock_enter();
    render_done_locked(w, status);
    applock_leave();
}

static void render_done_locked(uv_work_t *w, int status)
{
    struct api_render *j = w->data;
    struct api *api = j->api;
    if (api) {
        for (struct api_render **p = &api->renders; *p; p = &(*p)->next)
            if (*p == j) {
                *p = j->next;
                break;
            }
        if (j->running)
            api->renders_running--;
    }
    struct refbuf *rb = j->rb;
    j->rb = NULL;
    if (status != 0 && !j->body.err)
        j->body.err = -ECANCELED; /* cancelled work never ran */
    buf_free(&j->body);
    if (rb) {
        if (j->view)
            cat_view_cache_put(j->view, j->key, rb);
        else
            catalog_cache_put(j->cat, j->key, rb);
        struct api_cache_slot slot;
        slot_of(j, &slot);
        if (j->gz)
            api_gzip_offer(&slot, rb, j->gz, j->gzip_ms);
        log_debug("api", "rendered %s off the loop in %.1f ms (%zu bytes)", j->what, j->render_ms,
                  rb->len);
    }
    refbuf_unref(j->gz);
    j->gz = NULL;
    /* Answer everyone who waited. A resumed connection may dispatch its next
     * request at once: the job is out of the list and the body in the cache,
     * so that request is a cache hit, never a wait on this finished job. */
    struct render_waiter *wt = j->waiters;
    j->waiters = NULL;
    while (wt) {
        struct render_waiter *n = wt->next;
        if (wt->aborted) {
            free(wt);
        } else if (j->api && http_response_loop(wt->res) != j->loop) {
            /* Another loop's connection: answered there, the job kept until then. */
            if (rb && !j->posted_rb)
                j->posted_rb = refbuf_ref(rb);
            j->refs++;
            http_response_post(wt->res, &wt->post, remote_answer);
        } else if (j->api) {
            render_answer(j, wt, rb);
            wt->job = NULL;
            /* A connection already closing: its abort, still to come from
             * the loop, frees the waiter. Asked of resume's answer: a resumed
             * keep-alive connection may already wait on another render in the
             * same response. */
            if (http_response_resume(wt->res))
                free(wt);
        } else {
            wt->job = NULL; /* the server is going away: the waiter's abort frees it */
        }
        wt = n;
    }
    uv_loop_t *loop = j->loop;
    refbuf_unref(rb);
    job_unref(j);
    if (api)
        render_next(api, loop);
}

/* A waiter of another loop than the job's, on its own loop (http_response_post):
 * answered like one of the job's loop, unless its connection closed meanwhile. */
static void remote_answer(struct http_post *p)
{
    struct render_waiter *wt =
        (struct render_waiter *)((char *)p - offsetof(struct render_waiter, post));
    applock_enter();
    struct api_render *j = wt->job;
    if (wt->aborted) {
        free(wt);
    } else if (j->api) {
        render_answer(j, wt, j->posted_rb);
        wt->job = NULL;
        if (http_response_resume(wt->res))
            free(wt);
    } else {
        wt->job = NULL; /* the server is going away: the waiter's abort frees it */
    }
    job_unref(j);
    applock_leave();
}

static void render_abort(void *ctx)
{
    struct render_waiter *wt = ctx;
    if (!wt->job) {
        free(wt); /* its job is gone already */
        return;
    }
    wt->aborted = true; /* freed by render_done, or by remote_answer on this loop */
}

void api_renders_detach(struct api *api)
{
    struct api_render *j = api->renders;
    api->renders = NULL;
    while (j) {
        struct api_render *n = j->next;
        j->api = NULL;
        if (!j->running) { /* never started: nothing will complete it */
            for (struct render_waiter *wt = j->waiters, *wn; wt; wt = wn) {
                wn = wt->next;
                if (wt->aborted)
                    free(wt);
                else
                    wt->job = NULL; /* its abort frees it */
            }
            buf_free(&j->body);
            catalog_unref(j->cat);
            free(j);
        }
        j = n;
    }
}

int api_render_defer(struct api_req *r, const struct api_render_req *q)
{
    struct api *api = r->api;
    if (!api->cfg.loop)
        return -ENOTSUP;
    if (strlen(q->key) >= sizeof(((struct api_render *)0)->key))
        return -ENAMETOOLONG;
    struct api_render *j = api->renders;
    while (j && !(j->cat == r->cat && j->view == q->view && strcmp(j->key, q->key) == 0))
        j = j->next;
    struct render_waiter *wt = calloc(1, sizeof(*wt));
    if (!wt)
        return -ENOMEM;
    if (!j) {
        j = calloc(1, sizeof(*j) + q->arg_len);
        if (!j) {
            free(wt);
            return -ENOMEM;
        }
        j->api = api;
        j->refs = 1;
        j->cat = catalog_ref(r->cat);
        j->view = q->view;
        j->render = q->render;
        j->answer = q->answer;
        snprintf(j->key, sizeof(j->key), "%s", q->key);
        snprintf(j->what, sizeof(j->what), "%s", q->what);
        memcpy(j->arg, q->arg, q->arg_len);
        j->arg_len = q->arg_len;
        j->want_gzip = http_request_accepts_gzip(r->req);
        buf_init(&j->body, 0);
        j->work.data = j;
        int rc = api->renders_running < RENDER_RUNNING
                     ? render_start(api, j, http_response_loop(r->res))
                     : 0;
        if (rc) {
            catalog_unref(j->cat);
            free(j);
            free(wt);
            return rc;
        }
        j->next = api->renders;
        api->renders = j;
        api->renders_started++;
    } else {
        api->renders_joined++;
    }
    wt->job = j;
    wt->req = r->req;
    wt->res = r->res;
    wt->next = j->waiters;
    j->waiters = wt;
    http_response_defer(r->res, render_abort, wt);
    return 0;
}
