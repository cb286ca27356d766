/*
 * epg/server: the EPG inside `xtreamd serve` — the refresh scheduler and the
 * loop thread's read-only guide connection.
 *
 * Scheduler: a timer checks every minute (first after a few seconds) for
 * enabled sources whose refresh interval has passed since their last attempt
 * (refresh_hours 0 = manual only) and imports them one after the other on
 * the libuv thread pool, with the worker's own database connection. Only one
 * refresh runs at a time. The import commits; the server's 500 ms change poll
 * then rebuilds the catalogue snapshot (automatic mappings are part of it).
 * Threading: everything here except refresh_work() runs on the loop thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/log.h"
#include "db/db.h"
#include "db/epg.h"
#include "epg/epg.h"

#define FIRST_TICK_MS 5000
#define TICK_MS       60000

static struct {
    uv_loop_t *loop;
    char *data_dir;
    uv_timer_t timer;
    uv_work_t work;
    bool running, busy, stopping;
} g;

static void refresh_work(uv_work_t *w)
{
    (void)w;
    struct db *db;
    if (db_open(g.data_dir, &db))
        return;
    struct db_epg_source *src;
    size_t n;
    if (db_epg_source_list(db, &src, &n) == 0) {
        int64_t now = db_now();
        for (size_t i = 0; i < n; i++) {
            const struct db_epg_source *s = &src[i];
            if (!s->enabled || s->refresh_hours <= 0 ||
                now < s->last_attempt + (int64_t)s->refresh_hours * 3600)
                continue;
            struct epg_import_result res;
            if (epg_import_source(db, s->id, now, &res) == 0)
                log_info("epg", "source %s refreshed: %lld channels, %lld programmes", s->name,
                         (long long)res.channels, (long long)res.programmes);
            else
                log_warn("epg", "source %s refresh failed: %s", s->name, res.error);
        }
        db_epg_source_list_free(src, n);
    }
    db_close(db);
}

static void refresh_done(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
    g.busy = false;
}

static void tick(uv_timer_t *t)
{
    (void)t;
    if (g.busy || g.stopping)
        return;
    g.busy = true;
    if (uv_queue_work(g.loop, &g.work, refresh_work, refresh_done) != 0)
        g.busy = false;
}

int epg_server_start(struct uv_loop_s *loop, const char *data_dir)
{
    g.loop = loop;
    free(g.data_dir);
    g.data_dir = strdup(data_dir);
    if (!g.data_dir)
        return -ENOMEM;
    uv_timer_init(loop, &g.timer);
    uv_timer_start(&g.timer, tick, FIRST_TICK_MS, TICK_MS);
    g.running = true;
    g.stopping = false;
    return 0;
}

static void timer_closed(uv_handle_t *h)
{
    (void)h;
}

void epg_server_stop(void)
{
    if (!g.running)
        return;
    g.running = false;
    g.stopping = true;
    uv_close((uv_handle_t *)&g.timer, timer_closed);
}

const char *epg_data_dir(void)
{
    return g.data_dir;
}
