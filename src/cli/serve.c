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
#include <uv.h>

#include "admin/admin.h"
#include "api/api.h"
#include "catalog/catalog.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/serve_options.h"
#include "core/log.h"
#include "db/db.h"
#include "db/library.h"
#include "epg/epg.h"
#include "auth/throttle.h"
#include "http/outbound.h"
#include "admin/events.h"
#include "admin/stats.h"
#include "http/router.h"
#include "http/server.h"
#include "stream/live.h"

#define REFRESH_INTERVAL_MS 500
#define BUILD_PACE          2
#define SHUTDOWN_GRACE_MS   10000
#define LAG_PROBE_MS        10
#define STATS_TICK_MS       1000

struct serve {
    uv_loop_t *loop;
    struct serve_settings *settings; /* every option (cli/serve_options.h) */
    const char *data_dir;
    struct db *db; /* loop thread: change polling only */
    struct api *api;
    struct admin *admin;   /* the admin API (admin/admin.h) */
    struct router *router; /* every HTTP route (http/router.h) */
    struct live *live;     /* live engine (stream/live.h) */
    struct http_server *http;
    uv_timer_t refresh;
    uv_timer_t lag;         /* loop-lag probe (api_loop_lag_sample) */
    uv_timer_t stats_timer; /* admin stats sampler, every STATS_TICK_MS */
    struct stats *stats;    /* admin/stats.h */
    struct events *events;  /* admin/events.h: GET /api/v1/events */
    uint64_t lag_last;      /* uv_hrtime() of the previous probe */
    uint64_t lag_cpu;       /* the loop thread's CPU time then (ns) */
    struct catalog *prev;   /* the published snapshot, referenced while a build runs */
    uv_signal_t sigint, sigterm, sighup;
    uv_work_t work;
    bool building, dirty, stopping;
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
    }
    maybe_build(s);
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

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void http_stopped(void *ud)
{
    struct serve *s = ud;
    s->http = NULL;
    uv_close((uv_handle_t *)&s->refresh, on_closed);
    uv_close((uv_handle_t *)&s->lag, on_closed);
    uv_close((uv_handle_t *)&s->stats_timer, on_closed);
    uv_close((uv_handle_t *)&s->sigint, on_closed);
    uv_close((uv_handle_t *)&s->sigterm, on_closed);
    uv_close((uv_handle_t *)&s->sighup, on_closed);
    log_info("serve", "stopped");
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct serve *s = h->data;
    if (s->stopping) {
        log_warn("serve", "second signal: exiting now");
        exit(1);
    }
    s->stopping = true;
    log_info("serve", "%s: finishing in-flight requests", signum == SIGINT ? "SIGINT" : "SIGTERM");
    uv_timer_stop(&s->refresh);
    uv_timer_stop(&s->lag);
    uv_timer_stop(&s->stats_timer);
    epg_server_stop();
    events_stop(s->events);         /* event streams end once their queue is sent */
    live_stop(s->live, NULL, NULL); /* ends live viewers, terminates ffmpeg children */
    http_server_stop(s->http, SHUTDOWN_GRACE_MS, http_stopped, s);
}

static int serve_run(struct serve_settings *set);

/* SIGHUP (systemctl reload): each step re-reads what it owns and keeps the
 * old state when the new one is bad; one line per step. */
static void serve_reload(struct serve *s)
{
    (void)s;
}

static void on_sighup(uv_signal_t *h, int signum)
{
    (void)signum;
    struct serve *s = h->data;
    if (s->stopping)
        return;
    log_info("serve", "SIGHUP: reloading");
    serve_reload(s);
    log_info("serve", "reload done");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: xtreamd serve [OPTION]...\n"
               "\n"
               "Runs the server until SIGINT or SIGTERM.\n");
    serve_options_usage(f);
}

/* The command line layer: every table row is a long option, parsed by the
 * CLI's one parser (cli/args.h), each value going through the row's setter. */
struct flag_ctx {
    struct serve_settings *set;
    const struct serve_option *o;
};

static int apply_flag(const char *cmd, const char *opt, const char *val, void *ctx)
{
    struct flag_ctx *fc = ctx;
    char err[512];
    if (serve_option_apply(fc->set, fc->o, opt, val, err, sizeof(err)) == 0)
        return 0;
    fprintf(stderr, "%s: %s\n", cmd, err);
    return -EINVAL;
}

static int parse_flags(struct serve_settings *set, int argc, char **argv)
{
    enum { MAX = 64 };
    struct cli_opt opts[MAX + 1];
    struct flag_ctx ctx[MAX];
    char names[MAX][48];
    bool given[MAX] = {false};
    size_t n = serve_options_count < MAX ? serve_options_count : MAX;
    for (size_t i = 0; i < n; i++) {
        const struct serve_option *o = &serve_options[i];
        snprintf(names[i], sizeof(names[i]), "--%s", o->name);
        ctx[i] = (struct flag_ctx){set, o};
        opts[i] = o->kind == SERVE_OPT_FLAG
                      ? (struct cli_opt)CLI_OPT(names[i], CLI_FLAG, &given[i])
                      : (struct cli_opt)CLI_OPT(names[i], CLI_STR, NULL, .check = apply_flag,
                                                .ctx = &ctx[i]);
    }
    opts[n] = (struct cli_opt)CLI_OPT_END;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -ENOMEM;
    usage(f);
    fclose(f);
    int r = cli_parse("xtreamd serve", text, argc, argv, opts, NULL);
    free(text);
    if (r)
        return r;
    for (size_t i = 0; i < n; i++)
        if (given[i] && apply_flag("xtreamd serve", names[i], "true", &ctx[i]))
            return -EINVAL;
    return 0;
}

int cli_serve(int argc, char **argv)
{
    struct serve_settings set;
    serve_settings_init(&set);
    int prc = parse_flags(&set, argc, argv);
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
    int rc = serve_run(&set);
    serve_settings_free(&set);
    return rc;
}

static int serve_run(struct serve_settings *set)
{
    const char *data = set->data, *host = set->listen_host, *listen = set->listen;
    int port = set->listen_port;
    struct live_config lcfg = set->live;
    signal(SIGPIPE, SIG_IGN);
    struct serve s = {.loop = uv_default_loop(), .data_dir = data, .settings = set};
    int rc = CLI_FAIL;
    char token[65];
    unsigned char raw[32];
    if (sodium_init() < 0) {
        fprintf(stderr, "xtreamd serve: libsodium failed to initialise\n");
        return CLI_FAIL;
    }
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(token, sizeof(token), raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
    if (db_open(data, &s.db))
        return CLI_FAIL;
    s.seen_counter = db_change_counter(s.db);
    struct catalog *first;
    char **roots = NULL;
    size_t nroots = 0;
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
    live_set_catalog(s.live, first);
    catalog_unref(first);

    /* The admin API's live figures and event stream (the HTTP server is
     * added as a source once it listens). */
    struct stats_sources ssrc = {.live = s.live, .conns = api_conn_registry(s.api)};
    if (events_new(s.loop, &s.events) || stats_new(&ssrc, wall_ms(), &s.stats) ||
        api_add_metrics(s.api, events_metrics_cb, s.events)) {
        fprintf(stderr, "xtreamd serve: out of memory\n");
        goto out;
    }
    stats_set_events(s.stats, s.events);
    struct admin_config admcfg = {.loop = s.loop, .data_dir = data, .api = s.api, .live = s.live};
    if (admin_new(&admcfg, &s.admin) || build_router(&s)) {
        fprintf(stderr, "xtreamd serve: cannot set up the admin API (see the log)\n");
        live_stop(s.live, NULL, NULL);
        uv_run(s.loop, UV_RUN_DEFAULT);
        goto out;
    }
    admin_set_dashboard(s.admin, s.stats, s.events);
    admin_set_local_token(s.admin, token);
    api_add_metrics(s.api, admin_metrics_hook, s.admin);

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

    struct http_server_config hcfg = {
        .host = host,
        .port = port,
        .handler = router_handle,
        .handler_ud = s.router,
        .header_timeout_ms = set->header_ms,
        .idle_timeout_ms = set->idle_ms,
        .access_log = 1,
    };
    int err = http_server_start(s.loop, &hcfg, &s.http);
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
        live_stop(s.live, NULL, NULL);
        uv_run(s.loop, UV_RUN_DEFAULT);
        goto out;
    }
    /* The relay never reaches this server's own port, even on an allowed
     * host; /metrics checks that a Host names this port. */
    if (outbound_set_own(http_server_port(s.http)))
        log_warn("serve", "cannot list the local interface addresses: only loopback and "
                          "link-local are refused to the relay");
    api_set_port(s.api, http_server_port(s.http));
    /* serve.json first: whoever reacts to the "listening" line may run the CLI. */
    if (live_write_state_file(data, host, http_server_port(s.http), token) == -EEXIST)
        log_warn("serve", "another server runs on %s: xtreamd channel/connections talk to that one",
                 data);
    log_info("serve", "listening on %s:%d (data %s)", host, http_server_port(s.http), data);
    if (epg_server_start(s.loop, data))
        log_warn("epg", "guide refresh scheduler not started");
    uv_timer_start(&s.refresh, refresh_tick, REFRESH_INTERVAL_MS, REFRESH_INTERVAL_MS);
    s.lag_last = uv_hrtime();
    s.lag_cpu = thread_cpu_ns();
    uv_timer_start(&s.lag, lag_tick, LAG_PROBE_MS, LAG_PROBE_MS);
    ssrc.http = s.http;
    stats_set_sources(s.stats, &ssrc);
    stats_tick(s.stats, wall_ms()); /* the first reading: rates from the next tick on */
    uv_timer_start(&s.stats_timer, stats_tick_cb, STATS_TICK_MS, STATS_TICK_MS);

    uv_run(s.loop, UV_RUN_DEFAULT);
    rc = CLI_OK;
    live_remove_state_file(data);
out:
    sodium_memzero(token, sizeof(token));
    admin_free(s.admin);
    router_free(s.router);
    live_free(s.live);
    api_free(s.api);
    stats_free(s.stats);
    events_free(s.events);
    db_close(s.db);
    uv_loop_close(s.loop);
    return rc;
}
