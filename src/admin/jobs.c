/*
 * jobs.c: the job table and its thread (see admin/jobs.h).
 *
 * One mutex guards the table; the job thread holds it only to pick a job and
 * to record progress and the end, never while run() works. Finished jobs are
 * also queued as "ended" ids that admin_tick() publishes on the loop thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_priv.h"
#include "admin/jobs.h"
#include "core/log.h"
#include "core/promtext.h"

#define JOB_RESULT_MAX (1u << 20)

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED };
static const char *const state_names[] = {"queued", "running", "succeeded", "failed"};

struct admin_job {
    int64_t id;
    char kind[32];
    enum job_state state;
    int progress;
    char stage[128];
    int64_t created_at, started_at, finished_at;
    char created_by[65];
    char *result; /* JSON text, or NULL */
    char *error;  /* problem+json text, or NULL */
    admin_job_fn fn;
    void *arg;
    void (*arg_free)(void *arg);
    struct admin_jobs *jobs;
};

struct admin_jobs {
    struct admin *admin;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool thread_started;
    bool stopping;
    int64_t next_id;
    /* Kept jobs, oldest first (a queued or running job is never dropped). */
    struct admin_job *kept[ADMIN_JOBS_KEPT];
    size_t nkept;
    size_t nqueued;
    int64_t ended[ADMIN_JOBS_KEPT]; /* ids to publish (admin_jobs_take_ended) */
    size_t nended;
    atomic_ullong submitted, refused, succeeded, failed;
};

static void job_free(struct admin_job *j)
{
    if (!j)
        return;
    if (j->arg && j->arg_free)
        j->arg_free(j->arg);
    free(j->result);
    free(j->error);
    free(j);
}

static struct admin_job *next_queued(struct admin_jobs *js)
{
    for (size_t i = 0; i < js->nkept; i++)
        if (js->kept[i]->state == JOB_QUEUED)
            return js->kept[i];
    return NULL;
}

static char *problem_text(const struct dom_error *e)
{
    struct admin_call c = {0};
    c.err = *e;
    buf_init(&c.out, 1 << 16);
    admin_problem_body(&c, NULL);
    char *s = c.out.err ? NULL : buf_steal(&c.out, NULL);
    buf_free(&c.out);
    return s;
}

static void run_one(struct admin_jobs *js, struct admin_job *j)
{
    struct dom_error e;
    dom_error_reset(&e);
    struct buf out;
    buf_init(&out, JOB_RESULT_MAX);
    struct jsonw w;
    jsonw_init(&w, &out);
    int rc;
    struct db *db = admin_db_take(js->admin);
    if (!db)
        rc = dom_err_set(&e, 503, "DATABASE_UNAVAILABLE", "the database cannot be opened");
    else
        rc = j->fn(j, db, j->arg, &w, &e);
    admin_db_put(js->admin, db);
    if (rc == 0 && out.err)
        rc = dom_err_internal(&e, out.err, "writing the job result");
    if (rc < 0 && !e.status)
        dom_err_internal(&e, rc, j->kind);
    char *result = rc == 0 && out.len ? buf_steal(&out, NULL) : NULL;
    char *error = rc < 0 ? problem_text(&e) : NULL;
    buf_free(&out);
    pthread_mutex_lock(&js->mu);
    j->state = rc == 0 ? JOB_SUCCEEDED : JOB_FAILED;
    if (rc == 0)
        j->progress = 100;
    j->finished_at = (int64_t)time(NULL);
    j->result = result;
    j->error = error;
    if (j->arg && j->arg_free)
        j->arg_free(j->arg);
    j->arg = NULL;
    if (js->nended < ADMIN_JOBS_KEPT)
        js->ended[js->nended++] = j->id;
    pthread_mutex_unlock(&js->mu);
    atomic_fetch_add(rc == 0 ? &js->succeeded : &js->failed, 1);
    log_info("admin", "job %lld (%s) %s", (long long)j->id, j->kind,
             rc == 0 ? "succeeded" : "failed");
}

static void *job_thread(void *arg)
{
    struct admin_jobs *js = arg;
    pthread_mutex_lock(&js->mu);
    for (;;) {
        struct admin_job *j;
        while (!js->stopping && !(j = next_queued(js)))
            pthread_cond_wait(&js->cv, &js->mu);
        if (js->stopping)
            break;
        j->state = JOB_RUNNING;
        j->started_at = (int64_t)time(NULL);
        js->nqueued--;
        pthread_mutex_unlock(&js->mu);
        run_one(js, j);
        pthread_mutex_lock(&js->mu);
    }
    pthread_mutex_unlock(&js->mu);
    return NULL;
}

int admin_jobs_new(struct admin *a, struct admin_jobs **out)
{
    struct admin_jobs *js = calloc(1, sizeof(*js));
    if (!js)
        return -ENOMEM;
    js->admin = a;
    js->next_id = 1;
    if (pthread_mutex_init(&js->mu, NULL) != 0) {
        free(js);
        return -ENOMEM;
    }
    if (pthread_cond_init(&js->cv, NULL) != 0) {
        pthread_mutex_destroy(&js->mu);
        free(js);
        return -ENOMEM;
    }
    *out = js;
    return 0;
}

void admin_jobs_free(struct admin_jobs *js)
{
    if (!js)
        return;
    pthread_mutex_lock(&js->mu);
    js->stopping = true;
    pthread_cond_broadcast(&js->cv);
    pthread_mutex_unlock(&js->mu);
    if (js->thread_started)
        pthread_join(js->thread, NULL);
    for (size_t i = 0; i < js->nkept; i++)
        job_free(js->kept[i]);
    pthread_cond_destroy(&js->cv);
    pthread_mutex_destroy(&js->mu);
    free(js);
}

/* Drops the oldest finished job to make room; false when every kept job is
 * still queued or running. Called with the mutex held. */
static bool make_room(struct admin_jobs *js)
{
    if (js->nkept < ADMIN_JOBS_KEPT)
        return true;
    for (size_t i = 0; i < js->nkept; i++) {
        if (js->kept[i]->state >= JOB_SUCCEEDED) {
            job_free(js->kept[i]);
            memmove(&js->kept[i], &js->kept[i + 1], (js->nkept - i - 1) * sizeof(js->kept[0]));
            js->nkept--;
            return true;
        }
    }
    return false;
}

static void write_job(const struct admin_job *j, struct jsonw *w)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, j->id);
    jsonw_key(w, "kind");
    jsonw_str(w, j->kind);
    jsonw_key(w, "state");
    jsonw_str(w, state_names[j->state]);
    jsonw_key(w, "progress");
    jsonw_int(w, j->progress);
    jsonw_key(w, "stage");
    jsonw_str(w, j->stage);
    admin_write_time(w, "created_at", j->created_at, true);
    admin_write_time(w, "started_at", j->started_at, true);
    admin_write_time(w, "finished_at", j->finished_at, true);
    jsonw_key(w, "created_by");
    jsonw_str(w, j->created_by);
    jsonw_key(w, "result");
    if (j->result)
        jsonw_raw(w, j->result);
    else
        jsonw_null(w);
    jsonw_key(w, "error");
    if (j->error)
        jsonw_raw(w, j->error);
    else
        jsonw_null(w);
    jsonw_obj_end(w);
}

int admin_job_submit(struct admin_call *c, const char *kind, admin_job_fn fn, void *arg,
                     void (*arg_free)(void *arg))
{
    struct admin_jobs *js = c->admin->jobs;
    struct admin_job *j = calloc(1, sizeof(*j));
    if (!j) {
        if (arg && arg_free)
            arg_free(arg);
        return dom_err_internal(&c->err, -ENOMEM, "queueing a job");
    }
    snprintf(j->kind, sizeof(j->kind), "%s", kind);
    snprintf(j->created_by, sizeof(j->created_by), "%s", c->who.username);
    j->fn = fn;
    j->arg = arg;
    j->arg_free = arg_free;
    j->jobs = js;
    j->created_at = c->now;
    snprintf(j->stage, sizeof(j->stage), "queued");
    pthread_mutex_lock(&js->mu);
    if (js->nqueued >= ADMIN_JOBS_QUEUED || !make_room(js)) {
        pthread_mutex_unlock(&js->mu);
        atomic_fetch_add(&js->refused, 1);
        job_free(j);
        admin_add_header(c, "Retry-After", "10");
        return dom_err_set(&c->err, 429, "JOBS_BUSY", "%d jobs are already waiting; retry later",
                           ADMIN_JOBS_QUEUED);
    }
    if (!js->thread_started) {
        if (pthread_create(&js->thread, NULL, job_thread, js) != 0) {
            pthread_mutex_unlock(&js->mu);
            job_free(j);
            return dom_err_internal(&c->err, -EAGAIN, "starting the job thread");
        }
        js->thread_started = true;
    }
    j->id = js->next_id++;
    js->kept[js->nkept++] = j;
    js->nqueued++;
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "job");
    write_job(j, &c->w);
    jsonw_obj_end(&c->w);
    pthread_cond_signal(&js->cv);
    pthread_mutex_unlock(&js->mu);
    atomic_fetch_add(&js->submitted, 1);
    c->status = 202;
    snprintf(c->location, sizeof(c->location), "/api/v1/jobs/%lld", (long long)j->id);
    admin_notify_change(c, "job", j->id, "queued");
    return 0;
}

void admin_job_progress(struct admin_job *j, int percent, const char *stage)
{
    struct admin_jobs *js = j->jobs;
    pthread_mutex_lock(&js->mu);
    j->progress = percent < 0 ? 0 : percent > 100 ? 100 : percent;
    if (stage)
        snprintf(j->stage, sizeof(j->stage), "%s", stage);
    pthread_mutex_unlock(&js->mu);
}

bool admin_job_cancelled(const struct admin_job *j)
{
    struct admin_jobs *js = j->jobs;
    pthread_mutex_lock(&js->mu);
    bool stop = js->stopping;
    pthread_mutex_unlock(&js->mu);
    return stop;
}

int admin_job_write(struct admin_jobs *js, int64_t id, struct jsonw *w)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&js->mu);
    for (size_t i = 0; i < js->nkept; i++) {
        if (js->kept[i]->id == id) {
            write_job(js->kept[i], w);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&js->mu);
    return rc;
}

void admin_jobs_write_list(struct admin_jobs *js, int64_t offset, int64_t limit, struct jsonw *w,
                           int64_t *total)
{
    pthread_mutex_lock(&js->mu);
    *total = (int64_t)js->nkept;
    int64_t shown = 0;
    for (size_t k = 0; k < js->nkept && shown < limit; k++) {
        if ((int64_t)k < offset)
            continue;
        write_job(js->kept[js->nkept - 1 - k], w);
        shown++;
    }
    pthread_mutex_unlock(&js->mu);
}

size_t admin_jobs_take_ended(struct admin_jobs *js, int64_t *ids, size_t cap)
{
    pthread_mutex_lock(&js->mu);
    size_t n = js->nended < cap ? js->nended : cap;
    memcpy(ids, js->ended, n * sizeof(*ids));
    memmove(js->ended, js->ended + n, (js->nended - n) * sizeof(*ids));
    js->nended -= n;
    pthread_mutex_unlock(&js->mu);
    return n;
}

void admin_jobs_metrics(struct admin_jobs *js, struct buf *b)
{
    promtext_family(b, "xtreamd_admin_jobs_total", "counter", "Admin jobs by outcome");
    buf_printf(b, "xtreamd_admin_jobs_total{outcome=\"submitted\"} %llu\n",
               (unsigned long long)js->submitted);
    buf_printf(b, "xtreamd_admin_jobs_total{outcome=\"refused\"} %llu\n",
               (unsigned long long)js->refused);
    buf_printf(b, "xtreamd_admin_jobs_total{outcome=\"succeeded\"} %llu\n",
               (unsigned long long)js->succeeded);
    buf_printf(b, "xtreamd_admin_jobs_total{outcome=\"failed\"} %llu\n",
               (unsigned long long)js->failed);
}
