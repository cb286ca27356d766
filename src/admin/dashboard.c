/*
 * dashboard.c: /api/v1/stats/summary, /api/v1/stats/timeseries and
 * /api/v1/events (Server-Sent Events) — the live figures of admin/stats.h
 * and the event stream of admin/events.h, both loop-thread objects, so the
 * routes answer in post(). Entity changes recorded by every admin call
 * (admin_notify_change) and job ends are published as `change` events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_priv.h"
#include "admin/events.h"
#include "admin/resource.h"
#include "admin/stats.h"

static void publish_change(void *ud, const char *entity, int64_t id, const char *action)
{
    struct admin *a = ud;
    if (!a->events)
        return;
    char data[256];
    struct buf b;
    buf_init(&b, sizeof(data) * 4);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "entity");
    jsonw_str(&w, entity);
    jsonw_key(&w, "id");
    jsonw_int(&w, id);
    jsonw_key(&w, "action");
    jsonw_str(&w, action);
    jsonw_obj_end(&w);
    if (!b.err)
        events_publish(a->events, "change", b.data);
    buf_free(&b);
}

void admin_set_dashboard(struct admin *a, struct stats *stats, struct events *events)
{
    a->stats = stats;
    a->events = events;
    admin_set_change_hook(a, publish_change, a);
}

static bool need_stats(struct admin_call *c)
{
    if (c->admin->stats)
        return true;
    dom_err_set(&c->err, 503, "NOT_READY", "the statistics are not running");
    return false;
}

static void summary_post(struct admin_call *c)
{
    if (need_stats(c))
        stats_summary_json(c->admin->stats, &c->w);
}

struct series_args {
    int64_t from, to;
    int step;
};

static void free_args(void *p)
{
    free(p);
}

static bool parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end)
        return false;
    *out = v;
    return true;
}

static int series_work(struct admin_call *c)
{
    struct series_args *s = calloc(1, sizeof(*s));
    if (!s)
        return dom_err_internal(&c->err, -ENOMEM, "a series");
    c->state = s;
    c->state_free = free_args;
    const char *to = admin_query(c, "to"), *from = admin_query(c, "from");
    s->to = c->now;
    if (to)
        admin_parse_time(c, "to", to, true, &s->to);
    s->from = s->to - 3600;
    if (from)
        admin_parse_time(c, "from", from, true, &s->from);
    int64_t step = STATS_STEP_S;
    const char *v = admin_query(c, "step");
    if (v && (!parse_i64(v, &step) || step <= 0 || step > 86400 || step % STATS_STEP_S))
        dom_err_field(&c->err, "step", "range", "a multiple of %d seconds up to 86400",
                      STATS_STEP_S);
    s->step = (int)step;
    if (!c->err.status && s->from > s->to)
        dom_err_field(&c->err, "from", "range", "from must not be after to");
    return c->err.status ? -EINVAL : 0;
}

static void series_post(struct admin_call *c)
{
    struct series_args *s = c->state;
    if (!need_stats(c))
        return;
    if (stats_timeseries_json(c->admin->stats, &c->w, s->from, s->to, s->step) < 0)
        dom_err_field(&c->err, "step", "range", "a bad step or range");
}

static void events_post(struct admin_call *c)
{
    if (!c->admin->events) {
        dom_err_set(&c->err, 503, "NOT_READY", "the event stream is not running");
        return;
    }
    int rc = events_subscribe(c->admin->events, c->res);
    if (rc < 0) {
        admin_add_header(c, "Retry-After", "5");
        dom_err_set(&c->err, 503, "EVENTS_BUSY", "too many event subscribers; retry later");
        return;
    }
    c->responded = true;
}

static const char *const series_filters[] = {"from", "to", "step", NULL};
static const struct admin_route_ext ext_summary = {.post = summary_post};
static const struct admin_route_ext ext_series = {
    .work = series_work, .post = series_post, .filters = series_filters};
static const struct admin_route_ext ext_events = {.post = events_post};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/stats/summary", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Figures now: viewers, bandwidth, CPU, memory, channels by state, top channels", "stats", NULL,
     "StatsSummary", 200, &ext_summary},
    {ROUTE_GET, "/api/v1/stats/timeseries", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "The last 24 h at 10 s resolution, aggregated by step (from, to, step in seconds)", "stats",
     NULL, "StatsSeries", 200, &ext_series},
    {ROUTE_GET, "/api/v1/events", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Server-Sent Events: `counters` every second, `change` on every entity change", "stats", NULL,
     NULL, 200, &ext_events},
};

#define COUNTERS_PROPS                                                                             \
    "\"time\":{\"type\":\"string\"},\"time_epoch\":{\"type\":\"integer\"},"                        \
    "\"uptime_seconds\":{\"type\":\"integer\"},\"viewers\":{\"type\":\"object\"},"                 \
    "\"bandwidth\":{\"type\":\"object\"},\"cpu_percent\":{\"type\":\"number\"},"                   \
    "\"memory_rss_bytes\":{\"type\":\"integer\"},\"channels\":{\"type\":\"object\"}"

static const struct admin_schema schemas[] = {
    {"StatsSummary",
     "{\"type\":\"object\",\"required\":[\"time\",\"viewers\",\"bandwidth\",\"cpu_percent\","
     "\"memory_rss_bytes\",\"channels\",\"top_channels\"],\"properties\":{" COUNTERS_PROPS
     ",\"top_channels\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"id\","
     "\"name\",\"viewers\"]}}}}"},
    {"StatsSeries", "{\"type\":\"object\",\"required\":[\"from\",\"to\",\"step\",\"columns\","
                    "\"points\"],\"properties\":{\"from\":{\"type\":\"integer\"},\"to\":{\"type\":"
                    "\"integer\"},\"step\":{\"type\":\"integer\"},\"columns\":{\"type\":\"array\","
                    "\"items\":{\"type\":\"string\"}},\"points\":{\"type\":\"array\",\"items\":{"
                    "\"type\":\"array\",\"items\":{\"type\":\"number\"}}}}}"},
};

const struct admin_resource admin_res_dashboard = {"stats", routes,
                                                   sizeof(routes) / sizeof(routes[0]), schemas,
                                                   sizeof(schemas) / sizeof(schemas[0])};
