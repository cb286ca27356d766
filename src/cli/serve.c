/*
 * serve: `xtreamd serve` — opens the database, publishes the first catalogue
 * snapshot, starts the HTTP server and runs the loop until SIGINT/SIGTERM.
 *
 * Catalogue refresh: a 500 ms timer compares the database's change counter
 * (which moves on every commit by any process, the CLI included); on a change
 * a new snapshot is built on the libuv thread pool with its own connection
 * and swapped in on the loop thread. At most one build runs at a time; a
 * change seen during a build triggers another build afterwards.
 */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "admin/admin.h"
#include "archive/archive.h"
#include "api/api.h"
#include "catalog/catalog.h"
#include "cli/args.h"
#include "cli/backup_sched.h"
#include "cli/cli.h"
#include "cli/handover.h"
#include "cli/serve_config.h"
#include "cli/serve_options.h"
#include "cluster/admission.h"
#include "cluster/node.h"
#include "cluster/offline.h"
#include "core/applock.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/promtext.h"
#include "core/refbuf.h"
#include "db/db.h"
#include "db/library.h"
#include "domain/settings.h"
#include "epg/epg.h"
#include "auth/connections.h"
#include "auth/throttle.h"
#include "http/outbound.h"
#include "admin/events.h"
#include "admin/stats.h"
#include "http/router.h"
#include "http/server.h"
#include "portal/portal.h"
#include "http/tls.h"
#include "panel/panel.h"
#include "stream/live.h"

#define REFRESH_INTERVAL_MS 500
#define RECONNECT_STEP_MS   20
#define BUILD_PACE          2
#define LAG_PROBE_MS        10
#define STATS_TICK_MS       1000
#define NOTIFY_STATUS_MS    5000 /* systemd STATUS= line (viewers, channels) */

struct serve {
    uv_loop_t *loop;
    struct serve_settings *settings; /* every option (cli/serve_options.h) */
    const char *config_flag;         /* --config, for a reload (cli/serve_config.h) */
    int argc;                        /* the command line, re-applied on a reload */
    char **argv;
    const char *data_dir;
    struct db *db; /* loop thread: change polling only */
    struct api *api;
    struct admin *admin;     /* the admin API (admin/admin.h) */
    struct router *router;   /* every HTTP route (http/router.h) */
    struct panel *panel;     /* the web panel's files at / (panel/panel.h) */
    struct live *live;       /* live engine (stream/live.h) */
    struct archive *archive; /* TV archive recorder (archive/archive.h), NULL if it failed */
    struct http_server *http;
    struct handover_server *handover; /* <data>/handover.sock (cli/handover.h) */
    struct backup_sched *backups;     /* scheduled backups, or NULL */
    struct tls_ctx *tls;              /* the HTTPS listener's certificate (http/tls.h), or NULL */
    struct cluster *cluster;          /* this node in a cluster (cluster/node.h), or NULL */
    struct admission *admission;      /* its stream admission (cluster/admission.h), or NULL */
    struct offline *offline;          /* an edge's offline admission (cluster/offline.h), or NULL */
    uv_timer_t refresh;
    uv_timer_t lag;         /* loop-lag probe (api_loop_lag_sample) */
    uv_timer_t stats_timer; /* admin stats sampler, every STATS_TICK_MS */
    struct stats *stats;    /* admin/stats.h */
    struct events *events;  /* admin/events.h: GET /api/v1/events */
    uint64_t lag_last;      /* uv_hrtime() of the previous probe */
    uint64_t lag_cpu;       /* the loop thread's CPU time then (ns) */
    struct catalog *prev;   /* the published snapshot, referenced while a build runs */
    uv_signal_t sigint, sigterm, sighup;
    uv_signal_t sigusr1;      /* reopen the log file (logrotate) */
    uv_timer_t watchdog;      /* WATCHDOG=1 at half of $WATCHDOG_USEC */
    uv_timer_t notify_status; /* STATUS= every NOTIFY_STATUS_MS */
    uv_work_t work;
    bool building, dirty, stopping;
    uint64_t drain_deadline; /* a hand-over's stop-grace ends (loop time) */
    int64_t seen_counter;
    uint64_t version;
    uint64_t build_started, next_build_at; /* uv_now() ms: pacing (maybe_build) */
    struct catalog *built;                 /* result handed from the worker */
    char **roots;                          /* library roots read with it (domain/vod_paths.h) */
    size_t nroots;
    int build_rc;
};

static void build_work(uv_work_t *w)
{
    struct serve *s = w->data;
    struct db *db;
    s->built = NULL;
    s->build_rc = db_open(s->data_dir, &db);
    if (s->build_rc)
        return;
    /* The previous snapshot's EPG read model is reused when the guide did not
     * change; s->prev stays referenced by the loop until build_done. */
    s->build_rc = catalog_load_reuse(db, s->version, s->prev, &s->built);
    if (s->build_rc == 0)
        s->build_rc = db_library_roots(db, &s->roots, &s->nroots);
    db_close(db);
}

static void start_build(struct serve *s);

/* A change waits for the running build, and for the pace: after a build
 * that took T, the next starts no sooner than BUILD_PACE x T later, so that a
 * stream of writes (an admin script creating lines) keeps the builder busy
 * at most 1/(BUILD_PACE+1) of a core, however large the catalogue. */
static void maybe_build(struct serve *s)
{
    if (s->dirty && !s->building && !s->stopping && uv_now(s->loop) >= s->next_build_at)
        start_build(s);
}

static void build_done(uv_work_t *w, int status)
{
    struct serve *s = w->data;
    s->building = false;
    catalog_unref(s->prev);
    s->prev = NULL;
    uint64_t now = uv_now(s->loop), took = now - s->build_started;
    s->next_build_at = now + BUILD_PACE * took;
    if (status == 0 && s->build_rc == 0 && s->built) {
        size_t kept = catalog_adopt_caches(s->built, api_catalog(s->api));
        api_set_catalog(s->api, s->built);
        api_set_library_roots(s->api, s->roots, s->nroots);
        s->roots = NULL;
        live_set_catalog(s->live, s->built);
        catalog_unref(s->built);
        log_info("catalog", "snapshot %llu published (built in %llu ms, %zu cached responses kept)",
                 (unsigned long long)s->version, (unsigned long long)took, kept);
    } else {
        log_error("catalog", "snapshot rebuild failed (%d); keeping the previous one", s->build_rc);
        catalog_unref(s->built);
        db_library_roots_free(s->roots, s->nroots);
        s->roots = NULL;
        s->dirty = true;
    }
    s->built = NULL;
    maybe_build(s);
}

static void start_build(struct serve *s)
{
    if (s->building)
        return;
    s->dirty = false;
    s->building = true;
    s->build_started = uv_now(s->loop);
    s->version++;
    s->work.data = s;
    struct catalog *cur = api_catalog(s->api);
    s->prev = cur ? catalog_ref(cur) : NULL;
    if (uv_queue_work(s->loop, &s->work, build_work, build_done) != 0) {
        catalog_unref(s->prev);
        s->prev = NULL;
        s->building = false;
        s->dirty = true;
    }
}

static void refresh_tick(uv_timer_t *t)
{
    struct serve *s = t->data;
    api_tick(s->api);
    admin_tick(s->admin);
    int64_t counter = db_change_counter(s->db);
    if (counter != s->seen_counter) {
        s->seen_counter = counter;
        s->dirty = true;
        admin_xui_reload(s->admin); /* xui_api_path may have changed (the CLI, another node) */
    }
    cluster_poll(s->cluster); /* node commands arrived with the change notifications */
    if (s->admission) {
        size_t nn = 0;
        const struct cluster_node_view *nodes = cluster_nodes(s->cluster, &nn);
        admission_tick(s->admission, cluster_is_main(s->cluster) ? nodes : NULL, nn,
                       (int64_t)time(NULL));
    }
    offline_tick(s->offline, (int64_t)time(NULL)); /* reconciles once the main is back */
    maybe_build(s);
    /* A reconnect to PostgreSQL takes a step per call, and each step (connect, startup,
     * authentication, LISTEN) waits for the server: one step per 500 ms tick took seconds
     * (pg.test's "changes still arrive within 2 s" after a restart failed once at 4.2 s
     * under load). While an attempt is in flight, the next call comes in 20 ms; a failed
     * attempt goes back to the usual pace, so a server that is down is not hammered. */
    if (db_reconnecting(s->db) && !uv_is_closing((uv_handle_t *)&s->refresh))
        uv_timer_start(&s->refresh, refresh_tick, RECONNECT_STEP_MS, REFRESH_INTERVAL_MS);
}

static void admission_metrics_cb(void *ud, struct buf *b)
{
    admission_metrics_write(ud, b);
}

static void offline_metrics_cb(void *ud, struct buf *b)
{
    offline_metrics_write(ud, b);
}

/* The stream admission of a cluster node (cluster/admission.h): the main's token key, every
 * node's public key, the kill hook, the redirect in the API. -1 when it cannot start. */
static int start_admission(struct serve *s, const struct serve_settings *set, const char *data)
{
    struct cluster_token_key key;
    struct admission_config cfg = {.loop = s->loop,
                                   .data_dir = data,
                                   .self_id = cluster_self_id(s->cluster),
                                   .orphan_ttl = (int)((set->cluster_orphan_ttl_ms + 999) / 1000),
                                   .hls_ttl = (int)((set->cluster_hls_ttl_ms + 999) / 1000)};
    const unsigned char *pk = cluster_token_pk(s->cluster), *sk = cluster_token_sk(s->cluster);
    const char *kid = cluster_token_kid(s->cluster);
    if (!pk || !cluster_token_kid_valid(kid)) {
        log_error("cluster", "no token public key known: stream requests are served locally");
        return 0;
    }
    cfg.pubs.n = 1;
    snprintf(cfg.pubs.k[0].kid, sizeof(cfg.pubs.k[0].kid), "%s", kid);
    memcpy(cfg.pubs.k[0].pk, pk, 32);
    if (sk && cluster_token_key_set(&key, kid, pk, sk) == 0)
        cfg.key = &key;
    s->admission = admission_new(&cfg);
    sodium_memzero(&key, sizeof(key));
    if (!s->admission) {
        log_error("cluster", "out of memory for the admission");
        return -1;
    }
    cluster_on_command(s->cluster, admission_command, s->admission);
    api_add_metrics(s->api, admission_metrics_cb, s->admission);
    api_set_cluster(s->api, s->cluster, s->admission);
    if (!cluster_is_main(s->cluster)) {
        struct offline_config oc = {.loop = s->loop,
                                    .data_dir = data,
                                    .cluster = s->cluster,
                                    .conns = api_conn_registry(s->api),
                                    .policy = (enum offline_policy)set->cluster_offline};
        s->offline = offline_new(&oc);
        if (!s->offline) {
            log_error("cluster", "out of memory for the offline admission");
            return -1;
        }
        api_add_metrics(s->api, offline_metrics_cb, s->offline);
        api_set_offline(s->api, s->offline);
    }
    return 0;
}

/* What this node's heartbeat reports (cluster/node.h), from the admin stats' "now" sample. */
static void cluster_stats_cb(void *ud, struct cluster_stats *out)
{
    struct serve *s = ud;
    struct stats_point p;
    stats_now(s->stats, &p);
    out->sessions = p.viewers;
    out->egress_bps = (uint64_t)(p.out_bps * 8);
    out->ingress_bps = (uint64_t)(p.in_bps * 8);
    out->channels_running = p.channels[LIVE_STATE_RUNNING];
    out->cpu_pct = (float)p.cpu_percent;
    out->mem_bytes = p.rss_bytes;
}

/* A fenced node moves its viewers off: they are closed and reconnect through the main, which
 * sends them elsewhere (drained nodes keep theirs). */
static void cluster_command_cb(void *ud, const char *kind, const char *arg)
{
    struct serve *s = ud;
    if (strcmp(kind, "state") == 0 && (strcmp(arg, "fenced") == 0 || strcmp(arg, "revoked") == 0)) {
        /* TS viewers end at their next keyframe (never mid-GOP) and HLS viewers go to the main
         * at their next playlist refresh (stream/live.h); the kicks below skip both */
        size_t ts = s->live ? live_move_ts_viewers(s->live, 10000) : 0;
        log_info("cluster", "fenced: %zu TS viewer(s) close at their next keyframe", ts);
        size_t n = conn_registry_kick_all(api_conn_registry(s->api));
        log_info("cluster", "fenced: closed %zu viewer connection(s)", n);
    }
}

static void cluster_metrics_cb(void *ud, struct buf *b)
{
    struct cluster_metrics m;
    cluster_metrics_get(ud, &m);
    buf_printf(b,
               "# HELP xtreamd_cluster_heartbeats_total Heartbeats this node sent.\n"
               "# TYPE xtreamd_cluster_heartbeats_total counter\n"
               "xtreamd_cluster_heartbeats_total %llu\n"
               "# HELP xtreamd_cluster_heartbeat_failures_total Heartbeats that failed or were "
               "skipped (the previous one still running).\n"
               "# TYPE xtreamd_cluster_heartbeat_failures_total counter\n"
               "xtreamd_cluster_heartbeat_failures_total %llu\n"
               "# HELP xtreamd_cluster_view_failures_total Reads of the nodes view that failed.\n"
               "# TYPE xtreamd_cluster_view_failures_total counter\n"
               "xtreamd_cluster_view_failures_total %llu\n"
               "# HELP xtreamd_cluster_view_age_seconds Age of the in-memory nodes view.\n"
               "# TYPE xtreamd_cluster_view_age_seconds gauge\n"
               "xtreamd_cluster_view_age_seconds %.3f\n"
               "# HELP xtreamd_cluster_nodes Nodes in the view, and those fresh.\n"
               "# TYPE xtreamd_cluster_nodes gauge\n"
               "xtreamd_cluster_nodes{fresh=\"all\"} %u\nxtreamd_cluster_nodes{fresh=\"yes\"} %u\n"
               "# HELP xtreamd_cluster_commands_total Node commands received (NOTIFY node_<id>).\n"
               "# TYPE xtreamd_cluster_commands_total counter\n"
               "xtreamd_cluster_commands_total %llu\n"
               "# HELP xtreamd_cluster_node_state This node's state (1 for the current one).\n"
               "# TYPE xtreamd_cluster_node_state gauge\n",
               (unsigned long long)m.heartbeats, (unsigned long long)m.heartbeat_failures,
               (unsigned long long)m.view_failures,
               m.view_age_ms == UINT32_MAX ? -1.0 : m.view_age_ms / 1000.0, m.nodes, m.nodes_fresh,
               (unsigned long long)m.commands);
    for (int st = 0; st < 4; st++)
        buf_printf(b, "xtreamd_cluster_node_state{state=\"%s\"} %d\n", cluster_state_name(st),
                   cluster_self_state(ud) == st);
}

/* A path under /metrics that no route takes: the client API answers it
 * (its fallback and CORS preflight), as for any other path. */
static struct route_group client_group;

static void metrics_fallback(void *ud, unsigned allowed, struct http_request *req,
                             struct http_response *res)
{
    (void)ud;
    client_group.fallback(client_group.ud, allowed, req, res);
}

static void metrics_options(void *ud, unsigned allowed, struct http_request *req,
                            struct http_response *res)
{
    (void)ud;
    client_group.options(client_group.ud, allowed, req, res);
}

static void admin_metrics_hook(void *ud, struct buf *b)
{
    admin_metrics(ud, b);
}

static void panel_metrics_hook(void *ud, struct buf *b)
{
    panel_metrics(ud, b);
}

/* The panel's folder: --web-root, else the source tree's web/dist beside
 * the binary's build folder, else the packaged one (panel_default_root). */
static int open_panel(const struct serve_settings *set, struct panel **out)
{
    char root[4096];
    if (set->web_root) {
        if (snprintf(root, sizeof(root), "%s", set->web_root) >= (int)sizeof(root))
            return -ENAMETOOLONG;
    } else {
        char exe[4096];
        size_t len = sizeof(exe);
        if (uv_exepath(exe, &len) != 0)
            exe[0] = '\0';
        int rc = panel_default_root(exe, root, sizeof(root));
        if (rc)
            return rc;
    }
    int rc = panel_new(root, out);
    if (rc == 0) {
        char index[4200];
        snprintf(index, sizeof(index), "%s/index.html", root);
        if (access(index, R_OK) == 0)
            log_info("panel", "web panel from %s", root);
        else
            log_warn("panel",
                     "no web panel in %s (no index.html): / answers a page saying how "
                     "to build it (make build, or --web-root)",
                     root);
    }
    return rc;
}

/* http/server.h route_here: a request another loop may answer (ud: the router). */
static bool route_here(const struct http_request *req, void *ud)
{
    return router_any_loop(ud, req);
}

/* The route table: groups are tried in the order added, so narrow prefixes
 * come first — the admin API (/api/v1), /metrics with a token — and the
 * client group (prefix "/") last. */
static int build_router(struct serve *s)
{
    int rc = router_new(&s->router);
    if (rc == 0)
        rc = admin_add_routes(s->admin, s->router);
    if (rc == 0) {
        /* /metrics with a token is the admin API's; without, the client API's. */
        struct route_group metrics = {
            .name = "metrics",
            .prefix = "/metrics",
            .routes = &admin_metrics_route,
            .count = 1,
            .ud = s->admin,
            .fallback = metrics_fallback,
            .options = metrics_options,
        };
        rc = router_add(s->router, &metrics);
    }
    if (rc == 0 && (rc = api_routes(s->api, &client_group)) < 0)
        log_error("serve", "invalid client route table");
    /* The XUI shim takes only its secret path (none while off): before the
     * panel and the client routes, so that it wins on that path alone. */
    if (rc == 0)
        rc = admin_add_xui_routes(s->admin, s->router, metrics_fallback, metrics_options);
    /* The panel before the client group: it takes only "/" asked for by a
     * browser (Accept: text/html) and /assets/{file}, which no client route
     * has; every other path falls through to the client routes (panel.h). */
    if (rc == 0) {
        struct route_group panel;
        panel_routes(s->panel, &client_group, &panel);
        rc = router_add(s->router, &panel);
    }
    if (rc == 0)
        rc = router_add(s->router, &client_group);
    return rc;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Every LAG_PROBE_MS: how late this timer fired (wall clock), and how much of
 * that the loop thread spent on the CPU (work that kept the loop from
 * turning, as opposed to the process waiting for a core). */
static void lag_tick(uv_timer_t *t)
{
    struct serve *s = t->data;
    uint64_t now = uv_hrtime(), cpu = thread_cpu_ns();
    uint64_t due = s->lag_last + (uint64_t)LAG_PROBE_MS * 1000000ULL;
    uint64_t late = now > due ? now - due : 0;
    uint64_t busy = cpu - s->lag_cpu;
    api_loop_lag_sample(s->api, late, busy < late ? busy : late, now);
    s->lag_last = now;
    s->lag_cpu = cpu;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every second: the stats' "now" sample, a ring point every 10 s, and the
 * `counters` event. */
static void stats_tick_cb(uv_timer_t *t)
{
    struct serve *s = t->data;
    stats_tick(s->stats, wall_ms());
}

static void events_metrics_cb(void *ud, struct buf *out)
{
    events_metrics(ud, out);
}

/* The log's and the systemd notifications' counters on /metrics. */
static void log_metrics_cb(void *ud, struct buf *out)
{
    (void)ud;
    struct log_counters lc;
    struct notify_counters nc;
    log_get_counters(&lc);
    notify_get_counters(&nc);
    promtext_family(out, "xtreamd_log_lines_total", "counter", "Log lines written");
    buf_printf(out, "xtreamd_log_lines_total %llu\n", lc.lines);
    promtext_family(out, "xtreamd_log_write_errors_total", "counter",
                    "Log lines lost to a failed write");
    buf_printf(out, "xtreamd_log_write_errors_total %llu\n", lc.write_errors);
    promtext_family(out, "xtreamd_log_reopens_total", "counter",
                    "Log file reopens (SIGHUP/SIGUSR1) by result");
    buf_printf(out, "xtreamd_log_reopens_total{result=\"ok\"} %llu\n", lc.reopens);
    buf_printf(out, "xtreamd_log_reopens_total{result=\"failed\"} %llu\n", lc.reopen_failures);
    promtext_family(out, "xtreamd_systemd_notify_total", "counter",
                    "sd_notify datagrams by result (none without NOTIFY_SOCKET)");
    buf_printf(out, "xtreamd_systemd_notify_total{result=\"sent\"} %llu\n", nc.sent);
    buf_printf(out, "xtreamd_systemd_notify_total{result=\"failed\"} %llu\n", nc.failed);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* The systemd status line: what `systemctl status` shows. */
static void notify_status_cb(uv_timer_t *t)
{
    struct serve *s = t->data;
    struct live_stats ls;
    live_stats(s->live, &ls);
    char msg[256];
    snprintf(msg, sizeof(msg),
             "STATUS=%s: %zu viewers, %zu HLS sessions, %zu channels running (%zu starting, "
             "%zu failing)",
             s->stopping ? "stopping" : "serving", ls.viewers, ls.hls_sessions,
             ls.channels[LIVE_STATE_RUNNING], ls.channels[LIVE_STATE_STARTING],
             ls.channels[LIVE_STATE_FAILING] + ls.channels[LIVE_STATE_SLATE]);
    notify_send(msg);
}

/* From a loop timer, so a stalled loop misses its pings and systemd's
 * watchdog restarts the service. */
static void watchdog_cb(uv_timer_t *t)
{
    (void)t;
    notify_send("WATCHDOG=1");
}

static void notify_monotonic(const char *what)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char msg[96];
    snprintf(msg, sizeof(msg), "%s\nMONOTONIC_USEC=%llu", what,
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    notify_send(msg);
}

/* SIGUSR1 (logrotate's postrotate): the log file only. */
static void on_sigusr1(uv_signal_t *h, int signum)
{
    (void)h;
    (void)signum;
    if (log_reopen() == 0)
        log_info("serve", "SIGUSR1: log file reopened");
}

static void close_notify_handles(struct serve *s)
{
    uv_close((uv_handle_t *)&s->sigusr1, on_closed);
    uv_close((uv_handle_t *)&s->watchdog, on_closed);
    uv_close((uv_handle_t *)&s->notify_status, on_closed);
}

static void serve_closed(struct serve *s);

/* The refresh timer once loop 0's HTTP server stopped: the other loops' servers finish
 * their in-flight requests (their own stop grace bounds them) before the server says it
 * stopped. */
static void loops_tick(uv_timer_t *t)
{
    struct serve *s = t->data;
    if (live_loops_serving(s->live))
        return;
    uv_timer_stop(t);
    serve_closed(s);
}

static void http_stopped(void *ud)
{
    struct serve *s = ud;
    s->http = NULL;
    if (live_loops_serving(s->live)) {
        uv_timer_start(&s->refresh, loops_tick, 20, 20);
        return;
    }
    serve_closed(s);
}

static void serve_closed(struct serve *s)
{
    uv_close((uv_handle_t *)&s->refresh, on_closed);
    uv_close((uv_handle_t *)&s->lag, on_closed);
    uv_close((uv_handle_t *)&s->stats_timer, on_closed);
    uv_close((uv_handle_t *)&s->sigint, on_closed);
    uv_close((uv_handle_t *)&s->sigterm, on_closed);
    uv_close((uv_handle_t *)&s->sighup, on_closed);
    backup_sched_stop(s->backups); /* after HTTP: /metrics reads it */
    s->backups = NULL;
    close_notify_handles(s);
    log_info("serve", "stopped");
}

/* The refresh timer, idle once stopping, polls the viewers on the other I/O
 * loops (serve --loops): they are not loop 0's connections, so the HTTP
 * server's drain does not wait for them. */
static void drain_tick(uv_timer_t *t)
{
    struct serve *s = t->data;
    size_t n = live_moved_viewers(s->live);
    if (n && uv_now(s->loop) < s->drain_deadline)
        return;
    uv_timer_stop(t);
    /* As loop 0's drain says of its own connections (upgrade.test.mjs): the operator
     * learns that the grace cut viewers, wherever they were written from. */
    if (n)
        log_info("serve",
                 "stop: closing %zu connections after the grace period (live viewers "
                 "on loops 1..N-1)",
                 n);
    live_stop(s->live, NULL, NULL);
    http_stopped(s);
}

/* After a hand-over the live engine ran on until the last viewer left (or
 * the grace ended): only now are its ffmpeg children stopped. */
static void http_drained(void *ud)
{
    struct serve *s = ud;
    if (live_moved_viewers(s->live)) {
        uv_timer_start(&s->refresh, drain_tick, 0, 100); /* stops them now if the grace is over */
        return;
    }
    live_stop(s->live, NULL, NULL);
    http_stopped(s);
}

/* Stops accepting and drains. keep_viewers (a hand-over): live viewers go on
 * until they leave or stop-grace ends; otherwise (SIGTERM/SIGINT) they end
 * now and only in-flight responses get the grace. */
static void serve_stop(struct serve *s, bool keep_viewers)
{
    s->stopping = true;
    s->drain_deadline = uv_now(s->loop) + s->settings->stop_grace_ms;
    /* The other loops' servers stop with the live engine: from now on the
     * counters are this loop's only (never a freed worker's). */
    http_server_remove_workers(s->http);
    notify_send("STOPPING=1\nSTATUS=stopping: finishing in-flight requests");
    uv_timer_stop(&s->refresh);
    uv_timer_stop(&s->lag);
    uv_timer_stop(&s->stats_timer);
    api_set_cluster(s->api, NULL, NULL);
    api_set_offline(s->api, NULL);
    offline_free(s->offline); /* a merge in flight finishes first */
    s->offline = NULL;
    admission_free(s->admission); /* jobs in flight finish first (admission.h) */
    s->admission = NULL;
    cluster_close(s->cluster); /* no more heartbeats: the node turns offline in 6 s */
    s->cluster = NULL;
    backup_sched_pause(s->backups);
    handover_close(s->handover);
    s->handover = NULL;
    epg_server_stop();
    events_stop(s->events); /* event streams end once their queue is sent */
    if (!keep_viewers)
        live_stop(s->live, NULL, NULL); /* ends live viewers, terminates ffmpeg children */
    http_server_stop(s->http, s->settings->stop_grace_ms,
                     keep_viewers ? http_drained : http_stopped, s);
}

/* The successor has the listeners and says STOP (cli/handover.h). */
static void on_handed_over(void *ud)
{
    struct serve *s = ud;
    if (s->stopping)
        return;
    log_info("serve",
             "handed over to a new server: no longer accepting; %zu connection(s) get "
             "up to %u ms to finish",
             http_server_connection_count(s->http), s->settings->stop_grace_ms);
    /* The new server records from now on: the archive folder is its (the
     * viewers still on this one are served from memory, not the archive). */
    archive_stop(s->archive);
    serve_stop(s, true);
}

static void offer(struct handover_listener *l, const char *name, const char *host, int port, int fd)
{
    snprintf(l->name, sizeof(l->name), "%s", name);
    snprintf(l->host, sizeof(l->host), "%s", host);
    l->port = port;
    l->fd = fd;
}

/* The listeners a successor takes: the plain one, and the TLS one if any. */
static size_t handover_fds(void *ud, struct handover_listener *l, size_t max)
{
    struct serve *s = ud;
    int fd = s->http ? http_server_listen_fd(s->http) : -1;
    if (fd < 0 || max < 1)
        return 0;
    offer(&l[0], "http", s->settings->listen_host, http_server_port(s->http), fd);
    int tfd = http_server_tls_listen_fd(s->http);
    if (tfd < 0 || max < 2)
        return 1;
    offer(&l[1], "https", s->settings->listen_tls_host, http_server_tls_port(s->http), tfd);
    return 2;
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct serve *s = h->data;
    if (s->stopping) {
        log_warn("serve", "second signal: exiting now");
        exit(1);
    }
    log_info("serve", "%s: finishing in-flight requests (up to %u ms)",
             signum == SIGINT ? "SIGINT" : "SIGTERM", s->settings->stop_grace_ms);
    serve_stop(s, false);
}

static int serve_run(struct serve_settings *set, const char *config_flag, int argc, char **argv);
static int parse_flags(struct serve_settings *set, int argc, char **argv, const char **config);

/* The keys a reload applies (`config show` names; "live.*": every live
 * tunable but registry-max), each copied in reload_config below; every other
 * changed key is logged as needing a restart. A setting that becomes
 * reloadable (a log level, ...) gets its key here and its copy there. */
static const char *const reloadable[] = {"header-timeout", "idle-timeout", "channel-idle",
                                         "live.*",         "log-level",    "log-format",
                                         "access",         "geoip-db"};

static bool is_reloadable(const char *key)
{
    if (strcmp(key, "live.registry-max") == 0)
        return false; /* the connection registry is sized at start */
    for (size_t i = 0; i < sizeof(reloadable) / sizeof(reloadable[0]); i++) {
        size_t n = strlen(reloadable[i]);
        if (reloadable[i][n - 1] == '*' ? strncmp(key, reloadable[i], n - 1) == 0
                                        : strcmp(key, reloadable[i]) == 0)
            return true;
    }
    return false;
}

static void log_change(void *ud, const char *key, const char *was, const char *now)
{
    (void)ud;
    if (is_reloadable(key))
        log_info("config", "%s changed: %s -> %s", key, was, now);
    else
        log_warn("config", "%s changed: needs a restart", key);
}

/* log-level and log-format from the re-read configuration (levels changed
 * with `xtreamd log level` since are replaced by the file's). */
static void reload_log_settings(struct serve_settings *cur, const struct serve_settings *next)
{
    const struct serve_option *o = serve_option_find("log-level");
    char err[256];
    log_clear_tag_levels();
    log_set_level(LOG_INFO);
    cur->nlog_levels = 0;
    for (size_t i = 0; i < next->nlog_levels; i++) {
        log_apply_level_setting(next->log_levels[i]); /* checked by the setter */
        if (o && serve_option_apply(cur, o, NULL, next->log_levels[i], err, sizeof(err)))
            log_warn("config", "%s", err);
    }
    cur->log_format = next->log_format;
    log_set_format((enum log_format)next->log_format);
}

/* The configuration's step of a reload: file, environment and the same
 * flags again, over the defaults, into a fresh struct; applied only when all
 * of it is good (a bad file keeps every setting as it was). */
static void reload_config(struct serve *s)
{
    struct serve_settings next;
    serve_settings_init(&next);
    char path[4096], err[4600];
    int rc = serve_config_load(&next, s->config_flag, path, sizeof(path), err, sizeof(err));
    if (rc == 0 && parse_flags(&next, s->argc, s->argv, NULL)) {
        rc = -EINVAL;
        snprintf(err, sizeof(err), "the command line no longer applies");
    }
    if (rc) {
        log_error("config", "reload failed, keeping the running configuration: %s", err);
        serve_settings_free(&next);
        return;
    }
    serve_config_diff(s->settings, &next, log_change, NULL);
    struct serve_settings *cur = s->settings;
    cur->header_ms = next.header_ms;
    cur->idle_ms = next.idle_ms;
    const char *ffmpeg = cur->live.ffmpeg, *data_dir = cur->live.data_dir;
    unsigned registry_max = cur->live.registry_max;
    cur->live = next.live;
    cur->live.ffmpeg = ffmpeg; /* owned by cur; a new program needs a restart */
    cur->live.data_dir = data_dir;
    cur->live.registry_max = registry_max;
    if (s->http)
        http_server_set_timeouts(s->http, cur->header_ms, cur->idle_ms);
    live_reconfigure(s->live, &cur->live);
    reload_log_settings(cur, &next);
    /* Access tuning and the country database (opened again even when its
     * path is unchanged: geoipupdate replaces the file under the same name). */
    const char *geo = next.access.geoip_db;
    cur->access = next.access;
    cur->access.geoip_db = NULL;
    const struct serve_option *go = serve_option_find("geoip-db");
    if (geo && *geo && go && serve_option_apply(cur, go, NULL, geo, err, sizeof(err)))
        log_warn("config", "%s", err);
    if (s->api)
        access_reconfigure(api_access(s->api), &cur->access);
    /* The origins of the running settings are not kept up to date: `config
     * show` reads the file, not the server. */
    serve_settings_free(&next);
    log_info("config", "reloaded %s", path[0] ? path : "(no file: environment only)");
}

/* SIGHUP (systemctl reload): each step re-reads what it owns and keeps the
 * old state when the new one is bad; one line per step. */
static void serve_reload(struct serve *s)
{
    reload_config(s);
    log_reopen();           /* the log file (log-file), for logrotate */
    tls_ctx_reload(s->tls); /* new handshakes only; a bad file keeps the old one */
}

static void tls_metrics_cb(void *ud, struct buf *out)
{
    tls_metrics(ud, out);
}

/* The HTTP server's write path (docs/internals/http.md, "Writing"). */
static void http_metrics_cb(void *ud, struct buf *out)
{
    struct serve *s = ud;
    if (!s->http)
        return;
    struct http_server_stats st;
    http_server_get_stats(s->http, &st);
    buf_printf(out,
               "# HELP xtreamd_http_wakes_total Streamed responses woken with new data.\n"
               "# TYPE xtreamd_http_wakes_total counter\nxtreamd_http_wakes_total %llu\n"
               "# HELP xtreamd_http_wake_batches_total Loop iterations that wrote woken streams.\n"
               "# TYPE xtreamd_http_wake_batches_total counter\n"
               "xtreamd_http_wake_batches_total %llu\n"
               "# HELP xtreamd_http_direct_writes_total Woken streams written without waiting "
               "for POLLOUT.\n"
               "# TYPE xtreamd_http_direct_writes_total counter\n"
               "xtreamd_http_direct_writes_total %llu\n"
               "# HELP xtreamd_http_poll_updates_total Changes of a connection's polled events.\n"
               "# TYPE xtreamd_http_poll_updates_total counter\n"
               "xtreamd_http_poll_updates_total %llu\n"
               "# HELP xtreamd_http_shared_sendfile_bytes_total Bytes of large shared bodies "
               "(cached lists) sent with sendfile from their memfd.\n"
               "# TYPE xtreamd_http_shared_sendfile_bytes_total counter\n"
               "xtreamd_http_shared_sendfile_bytes_total %llu\n"
               "# HELP xtreamd_http_body_memfd_failures_total Large shared bodies that got no "
               "memfd and are sent by copy.\n"
               "# TYPE xtreamd_http_body_memfd_failures_total counter\n"
               "xtreamd_http_body_memfd_failures_total %lu\n"
               "# HELP xtreamd_http_offloads_total Large bodies (movies, episodes, cached "
               "lists) handed to another I/O loop to write.\n"
               "# TYPE xtreamd_http_offloads_total counter\n"
               "xtreamd_http_offloads_total %llu\n"
               "# HELP xtreamd_http_offloaded_bytes_total Bytes of large bodies written by "
               "another I/O loop than the one that accepted the connection.\n"
               "# TYPE xtreamd_http_offloaded_bytes_total counter\n"
               "xtreamd_http_offloaded_bytes_total %llu\n"
               "# HELP xtreamd_http_offloaded_heads_total Response heads sent by the loop that "
               "writes the body, in one segment with its first bytes.\n"
               "# TYPE xtreamd_http_offloaded_heads_total counter\n"
               "xtreamd_http_offloaded_heads_total %llu\n",
               (unsigned long long)st.wakes, (unsigned long long)st.wake_batches,
               (unsigned long long)st.direct_writes, (unsigned long long)st.poll_updates,
               (unsigned long long)st.shared_sendfile, refbuf_memfd_failures(),
               (unsigned long long)st.offloads, (unsigned long long)st.offloaded,
               (unsigned long long)st.offloaded_heads);
    uint64_t lock_entries, lock_wait_ns;
    applock_stats(&lock_entries, &lock_wait_ns);
    buf_printf(out,
               "# HELP xtreamd_http_loop_answers_total Requests answered by the I/O loop "
               "(1..N-1) that accepted their connection (catalogue API routes).\n"
               "# TYPE xtreamd_http_loop_answers_total counter\n"
               "xtreamd_http_loop_answers_total %llu\n"
               "# HELP xtreamd_http_loop_moves_total Connections accepted by another loop "
               "that moved to loop 0 with a request only it answers.\n"
               "# TYPE xtreamd_http_loop_moves_total counter\n"
               "xtreamd_http_loop_moves_total %llu\n"
               "# HELP xtreamd_app_lock_entries_total Times a loop other than loop 0 took the "
               "application lock to run handler code.\n"
               "# TYPE xtreamd_app_lock_entries_total counter\n"
               "xtreamd_app_lock_entries_total %llu\n"
               "# HELP xtreamd_app_lock_wait_seconds_total Time those loops waited for it.\n"
               "# TYPE xtreamd_app_lock_wait_seconds_total counter\n"
               "xtreamd_app_lock_wait_seconds_total %.6f\n",
               (unsigned long long)st.answered_here, (unsigned long long)st.moved_home,
               (unsigned long long)lock_entries, (double)lock_wait_ns / 1e9);
}

/* The database connection's health (PostgreSQL: lost and re-established). */
static void db_metrics_cb(void *ud, struct buf *out)
{
    (void)ud;
    buf_printf(out,
               "# HELP xtreamd_db_reconnects_total Lost PostgreSQL connections connected "
               "again.\n"
               "# TYPE xtreamd_db_reconnects_total counter\nxtreamd_db_reconnects_total %lld\n",
               (long long)db_reconnects());
}

static void on_sighup(uv_signal_t *h, int signum)
{
    (void)signum;
    struct serve *s = h->data;
    if (s->stopping)
        return;
    notify_monotonic("RELOADING=1"); /* systemd: reloading until READY=1 */
    log_info("serve", "SIGHUP: reloading");
    serve_reload(s);
    log_info("serve", "reload done");
    notify_send("READY=1");
    notify_status_cb(&s->notify_status);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: xtreamd serve [OPTION]...\n"
               "\n"
               "Runs the server until SIGINT or SIGTERM; SIGHUP reloads the configuration.\n"
               "Every option is also a key of the configuration file and an XTREAMD_*\n"
               "environment variable (docs/configuration.md); flags > environment > file.\n"
               "  --config FILE            configuration file (default $XTREAMD_CONFIG,\n"
               "                           else /etc/xtreamd/xtreamd.conf if it exists)\n");
    serve_options_usage(f);
}

/* The command line layer (cli/serve_config.h); --config is accepted here
 * (stored in *config when config is not NULL) and applied by the caller
 * before the other flags (cli_serve). */
static int parse_flags(struct serve_settings *set, int argc, char **argv, const char **config)
{
    const char *config_dummy = NULL;
    const struct cli_opt extra[] = {
        CLI_OPT("--config", CLI_STR, config ? config : &config_dummy),
        CLI_OPT_END,
    };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -ENOMEM;
    usage(f);
    fclose(f);
    int r = serve_config_flags(set, "xtreamd serve", text, argc, argv, extra);
    free(text);
    return r;
}

int cli_serve(int argc, char **argv)
{
    /* Layers: defaults < file < environment < flags. The flags are parsed
     * twice: once into a scratch struct to find --config (and report a bad
     * flag before anything is read), then over the file and environment. */
    struct serve_settings set;
    const char *config = NULL;
    serve_settings_init(&set);
    int prc = parse_flags(&set, argc, argv, &config);
    serve_settings_free(&set);
    serve_settings_init(&set);
    if (prc == 0) {
        char path[4096], err[4600];
        if (serve_config_load(&set, config, path, sizeof(path), err, sizeof(err))) {
            fprintf(stderr, "xtreamd serve: %s\n", err);
            serve_settings_free(&set);
            return CLI_FAIL;
        }
        if (path[0])
            log_info("config", "read %s", path);
        prc = parse_flags(&set, argc, argv, NULL);
    }
    if (prc) {
        serve_settings_free(&set);
        return prc == -ENOMEM ? CLI_FAIL : cli_parse_exit(prc);
    }
    for (size_t i = 0; i < set.nallow_hosts; i++) {
        if (outbound_allow_host(set.allow_hosts[i])) {
            fprintf(stderr, "xtreamd serve: invalid allow-host \"%s\"\n", set.allow_hosts[i]);
            serve_settings_free(&set);
            return CLI_USAGE;
        }
    }
    int rc = serve_run(&set, config, argc, argv);
    serve_settings_free(&set);
    return rc;
}

static int serve_run(struct serve_settings *set, const char *config_flag, int argc, char **argv)
{
    const char *data = set->data, *host = set->listen_host, *listen = set->listen;
    int port = set->listen_port;
    struct live_config lcfg = set->live;
    signal(SIGPIPE, SIG_IGN);
    /* The log first: everything after goes where the settings say. */
    if (set->log_file) {
        int lrc = log_open_file(set->log_file);
        if (lrc) {
            fprintf(stderr, "xtreamd serve: cannot open the log file %s: %s\n", set->log_file,
                    strerror(-lrc));
            return CLI_FAIL;
        }
    }
    log_set_format((enum log_format)set->log_format);
    for (size_t i = 0; i < set->nlog_levels; i++)
        log_apply_level_setting(set->log_levels[i]); /* checked by the setter */
    if (notify_open())
        log_warn("serve", "NOTIFY_SOCKET is unusable: no systemd notifications");
    struct serve s = {.loop = uv_default_loop(),
                      .data_dir = data,
                      .settings = set,
                      .config_flag = config_flag,
                      .argc = argc,
                      .argv = argv};
    int rc = CLI_FAIL;
    char token[65];
    unsigned char raw[32];
    if (sodium_init() < 0) {
        fprintf(stderr, "xtreamd serve: libsodium failed to initialise\n");
        return CLI_FAIL;
    }
    if (!set->listen_tls && (set->tls_cert || set->tls_key))
        log_warn("serve", "tls-cert/tls-key are set but listen-tls is not: no HTTPS listener");
    if (set->listen_tls && tls_ctx_new(set->tls_cert, set->tls_key, &s.tls) != 0) {
        fprintf(stderr, "xtreamd serve: cannot set up HTTPS on %s (see the log)\n",
                set->listen_tls);
        return CLI_FAIL;
    }
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(token, sizeof(token), raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
    /* An enrolled edge uses the database the main named (node.json), unless told otherwise. */
    static char edge_db[1024];
    if (!set->database && cluster_identity_database(data, edge_db, sizeof(edge_db)) == 0)
        db_set_location(edge_db);
    else
        db_set_location(set->database);
    if (db_open(data, &s.db))
        return CLI_FAIL;
    struct cluster_options copt = {
        .data_dir = data,
        .database = db_get_location(),
        .role = set->cluster_role,
        .public_url = set->public_url,
        .cluster_db_url = set->cluster_db_url,
        .stats = cluster_stats_cb,
        .stats_ud = &s,
    };
    if (cluster_open(&s.cluster, s.loop, s.db, &copt)) {
        fprintf(stderr, "xtreamd serve: cannot join the cluster (see the log)\n");
        goto out;
    }
    s.seen_counter = db_change_counter(s.db);
    struct catalog *first;
    char **roots = NULL;
    size_t nroots = 0;
    catalog_memory_setup();
    if (catalog_load(s.db, ++s.version, &first)) {
        fprintf(stderr, "xtreamd serve: cannot load the catalogue from %s\n", data);
        goto out;
    }
    if (db_library_roots(s.db, &roots, &nroots)) {
        fprintf(stderr, "xtreamd serve: cannot read the library roots from %s\n", data);
        catalog_unref(first);
        goto out;
    }
    struct api_config acfg = {
        .public_url = set->public_url,
        .port = port,
        .loop = s.loop,
        .redirect_remote = set->redirect_remote,
        .listen_host = host,
        .data_dir = data,
        .throttle = &set->throttle,
        .access = &set->access,
        .portal = &portal_api_ops,
    };
    if (api_new(&acfg, &s.api)) {
        db_library_roots_free(roots, nroots);
        catalog_unref(first);
        goto out;
    }
    api_set_catalog(s.api, first);
    api_set_library_roots(s.api, roots, nroots);
    lcfg.data_dir = data;
    if (live_new(s.loop, &lcfg, api_conn_registry(s.api), &s.live)) {
        catalog_unref(first);
        goto out;
    }
    api_set_live(s.api, s.live);
    struct archive_config arcfg = set->archive;
    arcfg.data_dir = data;
    int arc = archive_new(s.loop, &arcfg, &s.archive);
    if (arc)
        log_error("serve", "the TV archive cannot start (%s): nothing is recorded", strerror(-arc));
    live_set_archive(s.live, s.archive);
    live_set_cluster(s.live, s.cluster); /* placements, origin pulls (NULL: standalone) */
    api_set_archive(s.api, s.archive);   /* catch-up URLs read it (api/catchup.c) */
    live_set_catalog(s.live, first);
    catalog_unref(first);

    /* The admin API's live figures and event stream (the HTTP server is
     * added as a source once it listens). */
    struct stats_sources ssrc = {.live = s.live, .conns = api_conn_registry(s.api)};
    if (events_new(s.loop, &s.events) || stats_new(&ssrc, wall_ms(), &s.stats) ||
        api_add_metrics(s.api, events_metrics_cb, s.events) ||
        api_add_metrics(s.api, log_metrics_cb, NULL)) {
        fprintf(stderr, "xtreamd serve: out of memory\n");
        goto out;
    }
    stats_set_events(s.stats, s.events);
    conn_registry_set_limit_hook(api_conn_registry(s.api), stats_limit_hit, s.stats);
    struct admin_config admcfg = {.loop = s.loop, .data_dir = data, .api = s.api, .live = s.live};
    if (open_panel(set, &s.panel) || api_add_metrics(s.api, panel_metrics_hook, s.panel) ||
        admin_new(&admcfg, &s.admin) || build_router(&s)) {
        fprintf(stderr, "xtreamd serve: cannot set up the admin API (see the log)\n");
        live_stop(s.live, NULL, NULL);
        uv_run(s.loop, UV_RUN_DEFAULT);
        goto out;
    }
    admin_set_dashboard(s.admin, s.stats, s.events);
    admin_set_local_token(s.admin, token);
    char xui_path[160];
    dom_setting_text(s.db, "xui_api_path", xui_path, sizeof(xui_path));
    admin_xui_path_set(s.admin, xui_path);
    api_add_metrics(s.api, admin_metrics_hook, s.admin);
    if (s.cluster) {
        cluster_on_command(s.cluster, cluster_command_cb, &s);
        api_add_metrics(s.api, cluster_metrics_cb, s.cluster);
        if (start_admission(&s, set, data))
            goto out;
    }
    if (api_add_metrics(s.api, http_metrics_cb, &s))
        log_warn("serve", "/metrics: no room for the HTTP write-path series");
    if (api_add_metrics(s.api, db_metrics_cb, NULL))
        log_warn("serve", "/metrics: no room for the database series");
    if (s.tls)
        api_add_metrics(s.api, tls_metrics_cb, s.tls);

    /* Signals are caught before the "listening" line is printed: a supervisor
     * (or a test) that signals as soon as it sees that line must get a graceful
     * stop, not the default action. A signal that arrives before uv_run waits
     * in libuv's signal pipe. */
    uv_timer_init(s.loop, &s.refresh);
    s.refresh.data = &s;
    uv_timer_init(s.loop, &s.lag);
    s.lag.data = &s;
    uv_timer_init(s.loop, &s.stats_timer);
    s.stats_timer.data = &s;
    uv_signal_init(s.loop, &s.sigint);
    uv_signal_init(s.loop, &s.sigterm);
    uv_signal_init(s.loop, &s.sighup);
    s.sigint.data = s.sigterm.data = s.sighup.data = &s;
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    uv_signal_start(&s.sighup, on_sighup, SIGHUP);
    uv_signal_init(s.loop, &s.sigusr1);
    uv_signal_start(&s.sigusr1, on_sigusr1, SIGUSR1);
    uv_timer_init(s.loop, &s.watchdog);
    uv_timer_init(s.loop, &s.notify_status);
    s.watchdog.data = s.notify_status.data = &s;

    struct http_server_config hcfg = {
        .host = host,
        .port = port,
        .handler = router_handle,
        .handler_ud = s.router,
        .header_timeout_ms = set->header_ms,
        .idle_timeout_ms = set->idle_ms,
        .access_log = 1,
        .tls = s.tls,
        .tls_host = set->listen_tls_host,
        .tls_port = set->listen_tls_port,
        .https_redirect_prefix = set->https_redirect_admin ? "/api/v1" : NULL,
    };
    /* A server already runs on this data folder and listens where we are
     * told to: take its listening socket over instead of binding (graceful
     * upgrade, cli/handover.h); it stops accepting once we accept. */
    struct handover_take take = {.peer = -1};
    bool took = false;
    if (handover_take(data, &take) == 0) {
        struct handover_listener *l = handover_find(&take, "http");
        struct handover_listener *tl = handover_find(&take, "https");
        if (l && strcmp(l->host, host) == 0 && l->port == port) {
            hcfg.listen_fd = l->fd;
            l->fd = -1;
            took = true;
            /* The HTTPS listener too, when both run one on the same address. */
            if (s.tls && tl && strcmp(tl->host, set->listen_tls_host) == 0 &&
                tl->port == set->listen_tls_port) {
                hcfg.tls_listen_fd = tl->fd;
                tl->fd = -1;
            }
        } else {
            log_warn("serve", "the server running on %s listens on %s:%d, not %s: not taking over",
                     data, l ? l->host : "?", l ? l->port : 0, listen);
            handover_abort(&take);
        }
    }
    /* serve --loops N (N > 1): the other loops accept too and answer the catalogue API
     * themselves (docs/internals/core.md, "Requests on every loop"). XTREAMD_LOOPS_ANSWER=0
     * keeps every request on loop 0 (the loops then only write streams and big bodies);
     * tests may leave every accept to the other loops (XTREAMD_TEST_ACCEPT_ON_WORKERS). */
    const char *answer = getenv("XTREAMD_LOOPS_ANSWER");
    bool loops_answer = set->loops > 1 && !(answer && strcmp(answer, "0") == 0);
    hcfg.accept_via_workers = loops_answer && getenv("XTREAMD_TEST_ACCEPT_ON_WORKERS");
    int err = http_server_start(s.loop, &hcfg, &s.http);
    if (err && took) {
        close(hcfg.listen_fd);
        if (hcfg.tls_listen_fd > 0)
            close(hcfg.tls_listen_fd);
        handover_abort(&take);
    }
    if (err) {
        fprintf(stderr, "xtreamd serve: cannot listen on %s: %s\n", listen, strerror(-err));
        /* The engine already runs (its timer, the slate generator, always-on
         * channels): stop it and let the loop reap its children and close its
         * handles before the loop is closed. */
        uv_close((uv_handle_t *)&s.refresh, on_closed);
        uv_close((uv_handle_t *)&s.lag, on_closed);
        uv_close((uv_handle_t *)&s.stats_timer, on_closed);
        events_stop(s.events);
        uv_close((uv_handle_t *)&s.sigint, on_closed);
        uv_close((uv_handle_t *)&s.sigterm, on_closed);
        uv_close((uv_handle_t *)&s.sighup, on_closed);
        close_notify_handles(&s);
        api_set_cluster(s.api, NULL, NULL);
        admission_free(s.admission);
        s.admission = NULL;
        cluster_close(s.cluster);
        s.cluster = NULL;
        live_stop(s.live, NULL, NULL);
        uv_run(s.loop, UV_RUN_DEFAULT);
        goto out;
    }
    /* The relay never reaches this server's own port, even on an allowed
     * host; /metrics checks that a Host names this port. */
    if (outbound_set_own(http_server_port(s.http)))
        log_warn("serve", "cannot list the local interface addresses: only loopback and "
                          "link-local are refused to the relay");
    if (set->loops > 1) {
        /* Further loops write live TS viewers (live_start_loops); a loop that
         * could not start is logged and the others serve. */
        struct http_server_config wcfg = hcfg;
        wcfg.worker = 1;
        /* ... and accept on the same listener, answering the catalogue API themselves
         * (the client group's any_loop routes, under the application lock; the rest
         * move to loop 0). */
        if (loops_answer)
            wcfg.route_here = route_here;
        live_start_loops(s.live, set->loops, &wcfg, s.http, set->stop_grace_ms);
    }
    api_set_port(s.api, http_server_port(s.http));
    api_set_https_port(s.api, http_server_tls_port(s.http));
    /* serve.json first: whoever reacts to the "listening" line may run the CLI. */
    /* A second server on the folder (another address) leaves the running
     * one's serve.json and hand-over socket alone. */
    if (live_write_state_file_ex(data, host, http_server_port(s.http), token, took) == -EEXIST)
        log_warn("serve", "another server runs on %s: xtreamd channel/connections talk to that one",
                 data);
    else
        handover_listen(s.loop, data, handover_fds, on_handed_over, &s, &s.handover);
    if (took) {
        /* We accept on the socket already: now the old server may stop. */
        if (handover_release(&take) == 0)
            log_info("serve", "took over the listener of pid %ld; it stops accepting now",
                     take.old_pid);
        else
            log_warn("serve", "pid %ld did not confirm the hand-over; both accept until it stops",
                     take.old_pid);
    }
    log_info("serve", "listening on %s:%d (data %s)", host, http_server_port(s.http), data);
    if (s.tls) /* after the plain line: scripts take the first "listening on" as the HTTP port */
        log_info("serve", "listening on %s:%d (https)", set->listen_tls_host,
                 http_server_tls_port(s.http));
    if (set->backup_dir) {
        if (backup_sched_start(s.loop, data, set->backup_dir, set->backup_interval_s,
                               set->backup_keep, &s.backups) == 0)
            api_add_metrics(s.api, backup_sched_metrics, s.backups);
        else
            log_error("serve", "scheduled backups are off (see above)");
    }
    if (epg_server_start(s.loop, data))
        log_warn("epg", "guide refresh scheduler not started");
    uv_timer_start(&s.refresh, refresh_tick, REFRESH_INTERVAL_MS, REFRESH_INTERVAL_MS);
    cluster_start(s.cluster);
    s.lag_last = uv_hrtime();
    s.lag_cpu = thread_cpu_ns();
    uv_timer_start(&s.lag, lag_tick, LAG_PROBE_MS, LAG_PROBE_MS);
    ssrc.http = s.http;
    stats_set_sources(s.stats, &ssrc);
    stats_tick(s.stats, wall_ms()); /* the first reading: rates from the next tick on */
    uv_timer_start(&s.stats_timer, stats_tick_cb, STATS_TICK_MS, STATS_TICK_MS);
    /* systemd (Type=notify): ready once listening and serve.json is written. */
    if (notify_enabled()) {
        notify_send("READY=1");
        notify_status_cb(&s.notify_status);
        uv_timer_start(&s.notify_status, notify_status_cb, NOTIFY_STATUS_MS, NOTIFY_STATUS_MS);
        uint64_t wd_ms = notify_watchdog_usec() / 2000;
        if (wd_ms) {
            notify_send("WATCHDOG=1");
            uv_update_time(s.loop); /* the start-up work took time: count from now */
            uv_timer_start(&s.watchdog, watchdog_cb, wd_ms, wd_ms);
            log_info("serve", "systemd watchdog: a ping every %llu ms", (unsigned long long)wd_ms);
        }
    }

    /* When the other loops answer requests, loop 0 runs holding the application lock
     * (core/applock.h) except while it waits for events or sits in a socket call, so they
     * may call into the handlers. */
    if (loops_answer)
        applock_run(s.loop);
    else
        uv_run(s.loop, UV_RUN_DEFAULT);
    /* The other loops may still be answering requests (within their stop grace) with the
     * router, the API and the catalogue: they end before any of it is freed. */
    live_join_loops(s.live);
    rc = CLI_OK;
    live_remove_state_file(data);
out:
    cluster_close(s.cluster); /* an early failure: never started, freed at once */
    sodium_memzero(token, sizeof(token));
    admin_free(s.admin);
    router_free(s.router);
    panel_free(s.panel);
    live_free(s.live);
    archive_free(s.archive); /* after the engine: indexes what was written, joins the writer */
    api_free(s.api);
    stats_free(s.stats);
    events_free(s.events);
    tls_ctx_free(s.tls);
    db_close(s.db);
    uv_loop_close(s.loop);
    notify_close();
    log_open_file(NULL); /* back to stderr */
    return rc;
}
