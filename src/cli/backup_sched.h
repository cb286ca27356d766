/*
 * cli/backup_sched: the server's scheduled backups (settings backup-dir,
 * backup-interval, backup-keep). Every interval a backup of the data folder's
 * database is written to <dir>/xtreamd-<UTC time>.xbak and the oldest files
 * beyond keep are deleted (domain/backup.h); both run on the libuv thread
 * pool, never on the loop. One at a time: a tick that finds the previous
 * backup still running is skipped (counted). Results are logged and counted
 * in /metrics (xtreamd_backups_total{result=...}).
 * Threading: loop thread, except the work itself.
 */
#ifndef XTREAMD_CLI_BACKUP_SCHED_H
#define XTREAMD_CLI_BACKUP_SCHED_H

#include <uv.h>

#include "core/buf.h"

struct backup_sched;

/* Creates dir (0700) if needed and arms the timer (first backup after one
 * interval). 0 or -errno (logged). */
int backup_sched_start(uv_loop_t *loop, const char *data_dir, const char *dir, unsigned interval_s,
                       unsigned keep, struct backup_sched **out);
/* No further backups (a stopping server; its successor takes its own). The
 * object and its metrics stay valid until backup_sched_stop. */
void backup_sched_pause(struct backup_sched *b);
/* Stops the timer; a backup in progress finishes, then the object is freed. */
void backup_sched_stop(struct backup_sched *b);
/* The /metrics lines (api_add_metrics hook). */
void backup_sched_metrics(void *ud, struct buf *out);

#endif
