#include "cli/backup_sched.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "core/promtext.h"
#include "domain/backup.h"

struct backup_sched {
    uv_loop_t *loop;
    uv_timer_t timer;
    uv_work_t work;
    char *data_dir, *dir;
    unsigned keep;
    bool running, stopping, timer_closed;
    /* the work's result, handed to the loop in after_work */
    int rc;
    char file[4300];
    char err[4400];
    struct backup_info info;
    unsigned pruned;
    int prune_rc;
    uint64_t t0;
    /* counters (loop thread) */
    uint64_t ok, failed, skipped, removed;
    int64_t last_ok;
};

static void sched_free(struct backup_sched *b)
{
    free(b->data_dir);
    free(b->dir);
    free(b);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct backup_sched *b = h->data;
    b->timer_closed = true;
    if (!b->running)
        sched_free(b);
}

static void work_cb(uv_work_t *w)
{
    struct backup_sched *b = w->data;
    char name[64];
    b->pruned = 0;
    b->prune_rc = 0;
    b->rc = backup_auto_name((int64_t)time(NULL), name, sizeof(name));
    if (b->rc == 0 &&
        (size_t)snprintf(b->file, sizeof(b->file), "%s/%s", b->dir, name) >= sizeof(b->file))
        b->rc = -ENAMETOOLONG;
    if (b->rc) {
        snprintf(b->err, sizeof(b->err), "backup folder name too long");
        return;
    }
    b->rc = backup_create(b->data_dir, b->file, &b->info, b->err, sizeof(b->err));
    /* Retention only after a success: a failing backup never eats the good
     * ones it would replace. */
    if (b->rc == 0)
        b->prune_rc = backup_prune(b->dir, b->keep, &b->pruned);
}

static void after_work(uv_work_t *w, int status)
{
    struct backup_sched *b = w->data;
    b->running = false;
    double secs = (double)(uv_hrtime() - b->t0) / 1e9;
    if (status == 0 && b->rc == 0) {
        b->ok++;
        b->last_ok = (int64_t)time(NULL);
        b->removed += b->pruned;
        log_info("backup",
                 "scheduled backup %s: database %llu bytes, file %llu bytes, %.1f s; "
                 "%u old backup(s) deleted",
                 b->file, (unsigned long long)b->info.raw_size,
                 (unsigned long long)(b->info.payload_size + BACKUP_HEADER_SIZE), secs, b->pruned);
        if (b->prune_rc)
            log_warn("backup", "pruning %s: %s", b->dir, strerror(-b->prune_rc));
    } else {
        b->failed++;
        log_error("backup", "scheduled backup failed: %s",
                  status ? "cancelled" : (b->err[0] ? b->err : strerror(-b->rc)));
    }
    if (b->timer_closed)
        sched_free(b);
}

static void on_tick(uv_timer_t *t)
{
    struct backup_sched *b = t->data;
    if (b->running) {
        b->skipped++;
        log_warn("backup", "scheduled backup skipped: the previous one is still running");
        return;
    }
    b->running = true;
    b->t0 = uv_hrtime();
    b->work.data = b;
    if (uv_queue_work(b->loop, &b->work, work_cb, after_work) != 0) {
        b->running = false;
        b->failed++;
        log_error("backup", "scheduled backup not started: thread pool refused the work");
    }
}

int backup_sched_start(uv_loop_t *loop, const char *data_dir, const char *dir, unsigned interval_s,
                       unsigned keep, struct backup_sched **out)
{
    *out = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int err = errno;
        log_error("backup", "cannot create the backup folder %s: %s", dir, strerror(err));
        return -err;
    }
    struct backup_sched *b = calloc(1, sizeof(*b));
    if (!b || !(b->data_dir = strdup(data_dir)) || !(b->dir = strdup(dir))) {
        if (b)
            sched_free(b);
        return -ENOMEM;
    }
    b->loop = loop;
    b->keep = keep;
    uv_timer_init(loop, &b->timer);
    b->timer.data = b;
    uint64_t ms = (uint64_t)interval_s * 1000;
    uv_timer_start(&b->timer, on_tick, ms, ms);
    log_info("backup", "scheduled backups every %u s into %s, keeping %u", interval_s, dir, keep);
    *out = b;
    return 0;
}

void backup_sched_pause(struct backup_sched *b)
{
    if (b && !b->stopping)
        uv_timer_stop(&b->timer);
}

void backup_sched_stop(struct backup_sched *b)
{
    if (!b || b->stopping)
        return;
    b->stopping = true;
    uv_close((uv_handle_t *)&b->timer, on_timer_closed);
}

void backup_sched_metrics(void *ud, struct buf *out)
{
    struct backup_sched *b = ud;
    promtext_family(out, "xtreamd_backups_total", "counter",
                    "Scheduled backups, by result (skipped: the previous one still ran)");
    buf_printf(out, "xtreamd_backups_total{result=\"ok\"} %llu\n", (unsigned long long)b->ok);
    buf_printf(out, "xtreamd_backups_total{result=\"failed\"} %llu\n",
               (unsigned long long)b->failed);
    buf_printf(out, "xtreamd_backups_total{result=\"skipped\"} %llu\n",
               (unsigned long long)b->skipped);
    promtext_family(out, "xtreamd_backups_pruned_total", "counter",
                    "Old scheduled backup files deleted by the retention (backup-keep)");
    buf_printf(out, "xtreamd_backups_pruned_total %llu\n", (unsigned long long)b->removed);
    promtext_family(out, "xtreamd_backup_last_success_timestamp_seconds", "gauge",
                    "When the last scheduled backup succeeded (0: never)");
    buf_printf(out, "xtreamd_backup_last_success_timestamp_seconds %lld\n", (long long)b->last_ok);
}
