/*
 * admin/jobs: long admin work (M3U imports, library scans, EPG imports) run
 * off the event loop and off the thread pool, on one job thread of its own,
 * so that a ten-minute import never holds a pool thread the API needs.
 *
 * A handler submits a job (POST ... -> 202 {"job":{...}}); the job thread runs
 * it with its own database connection, the job reports progress (percent and
 * a stage text) and ends with a JSON result or a problem (struct dom_error).
 * GET /api/v1/jobs and /api/v1/jobs/{id} read the table. Bounds: at most
 * ADMIN_JOBS_QUEUED jobs waiting (beyond: 429 "JOBS_BUSY", counted); the last
 * ADMIN_JOBS_KEPT jobs are kept in memory (older finished ones are dropped).
 * Job ends are published as "job" changes on the loop (uv_async).
 * Threading: submit/read from any thread (one mutex); run() on the job thread.
 */
#ifndef XTREAMD_ADMIN_JOBS_H
#define XTREAMD_ADMIN_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/jsonw.h"
#include "domain/error.h"

#define ADMIN_JOBS_QUEUED 32
#define ADMIN_JOBS_KEPT   256

struct admin;
struct admin_jobs;
struct admin_call;
struct db;
struct admin_job; /* opaque to runners */

/* The work of a job: on the job thread with its own database connection. It
 * reports progress with admin_job_progress() and finishes by returning 0 after
 * writing its result into `result` (a JSON object or nothing), or -errno with
 * e filled. arg is freed with arg_free after run(). */
typedef int (*admin_job_fn)(struct admin_job *j, struct db *db, void *arg, struct jsonw *result,
                            struct dom_error *e);

int admin_jobs_new(struct admin *a, struct admin_jobs **out);
void admin_jobs_free(struct admin_jobs *jobs);
void admin_jobs_metrics(struct admin_jobs *jobs, struct buf *b);

/* Queues a job of kind ("m3u_import", "library_scan", "epg_import") and
 * writes its JSON into c->out with status 202 and a Location header. On a
 * full queue: 429 problem. Takes arg in every case. */
int admin_job_submit(struct admin_call *c, const char *kind, admin_job_fn fn, void *arg,
                     void (*arg_free)(void *arg));
/* Progress report from run(): percent 0..100, stage a short text (copied). */
void admin_job_progress(struct admin_job *j, int percent, const char *stage);
/* True once the server is stopping: a long run() should return early. */
bool admin_job_cancelled(const struct admin_job *j);

/* The job's JSON (id, kind, state queued|running|succeeded|failed, progress,
 * stage, created_at, started_at, finished_at, created_by, result | error):
 * 0, or -ENOENT. */
int admin_job_write(struct admin_jobs *jobs, int64_t id, struct jsonw *w);
/* Every kept job, newest first; *total is their count. */
void admin_jobs_write_list(struct admin_jobs *jobs, int64_t offset, int64_t limit, struct jsonw *w,
                           int64_t *total);

#endif
