/*
 * live.c: the admin API's view of the live engine — running channels, one
 * stream's state and ffmpeg log, start/stop/restart, and the sessions (every
 * live, HLS and VOD connection) with DELETE to cut one.
 *
 * The engine lives on the loop thread, so these routes do their engine work
 * in post(); work() (on the pool) checks what the database must confirm (the
 * stream exists) and writes the audit row of a command before it is carried
 * out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_priv.h"
#include "admin/resource.h"
#include "domain/content.h"
#include "domain/lines.h"
#include "stream/live.h"

static bool need_live(struct admin_call *c)
{
    if (admin_live(c->admin))
        return true;
    dom_err_set(&c->err, 503, "LIVE_DISABLED", "the live engine is not running");
    return false;
}

/* ---- channels ------------------------------------------------------------------- */

struct list_state {
    struct admin_list_query q;
    int64_t id;
    const char *kind;
    int64_t line_id, stream_id;
};

static void free_state(void *p)
{
    free(p);
}

static int parse_list(struct admin_call *c, struct list_state **out)
{
    struct list_state *s = calloc(1, sizeof(*s));
    if (!s)
        return dom_err_internal(&c->err, -ENOMEM, "a list");
    c->state = s;
    c->state_free = free_state;
    *out = s;
    return admin_list_query(c, NULL, &s->q);
}

static int channels_work(struct admin_call *c)
{
    struct list_state *s;
    return parse_list(c, &s);
}

static void channels_post(struct admin_call *c)
{
    struct list_state *s = c->state;
    if (!need_live(c))
        return;
    int64_t total = 0;
    admin_list_begin(c);
    live_write_channels(admin_live(c->admin), &c->w, s->q.db.offset, s->q.db.limit, &total);
    admin_list_end(c, &s->q, total);
}

/* ---- one stream ------------------------------------------------------------------- */

/* work(): the stream must exist in the database (404 otherwise). */
static int stream_exists(struct admin_call *c, int64_t *id)
{
    if (admin_param_id(c, 0, "stream", id))
        return -ENOENT;
    struct dom_obj st;
    int rc = dom_content_get(c->db, &dom_res_stream, *id, &st, &c->err);
    if (rc == 0)
        dom_obj_free(&dom_res_stream, &st);
    return rc;
}

static int state_work(struct admin_call *c)
{
    struct list_state *s = calloc(1, sizeof(*s));
    if (!s)
        return dom_err_internal(&c->err, -ENOMEM, "a stream");
    c->state = s;
    c->state_free = free_state;
    return stream_exists(c, &s->id);
}

static void write_state(struct admin_call *c, int64_t id)
{
    int rc = live_write_channel(admin_live(c->admin), id, &c->w);
    if (rc == -ENOENT)
        dom_err_set(&c->err, 404, DOM_E_NOT_FOUND,
                    "stream %lld is not in the published catalogue yet; retry in a second",
                    (long long)id);
    else if (rc < 0)
        dom_err_internal(&c->err, rc, "the channel state");
}

static void state_post(struct admin_call *c)
{
    struct list_state *s = c->state;
    if (need_live(c))
        write_state(c, s->id);
}

static void log_post(struct admin_call *c)
{
    struct list_state *s = c->state;
    if (!need_live(c))
        return;
    write_state(c, s->id);
    if (c->err.status)
        return;
    /* Keep only the log lines of the state object. */
    json_t *doc = json_loadb(c->out.data, c->out.len, 0, NULL);
    json_t *lines = doc ? json_object_get(doc, "stderr") : NULL;
    buf_reset(&c->out);
    jsonw_init(&c->w, &c->out);
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "id");
    jsonw_int(&c->w, s->id);
    jsonw_key(&c->w, "lines");
    jsonw_arr_begin(&c->w);
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l) jsonw_str(&c->w, json_string_value(l));
    jsonw_arr_end(&c->w);
    jsonw_obj_end(&c->w);
    json_decref(doc);
}

static int command_work(struct admin_call *c, const char *cmd)
{
    int rc = state_work(c);
    if (rc < 0)
        return rc;
    struct list_state *s = c->state;
    rc = admin_audit(c, cmd, "stream", s->id, NULL, NULL);
    if (rc == 0)
        admin_notify_change(c, "stream", s->id, cmd);
    return rc;
}

static void command_post(struct admin_call *c, const char *cmd)
{
    struct list_state *s = c->state;
    if (!need_live(c))
        return;
    int rc = live_channel_command(admin_live(c->admin), s->id, cmd);
    if (rc == -ENOENT) {
        dom_err_set(&c->err, 404, DOM_E_NOT_FOUND,
                    "stream %lld is not in the published catalogue yet; retry in a second",
                    (long long)s->id);
        return;
    }
    if (rc < 0) {
        dom_err_internal(&c->err, rc, cmd);
        return;
    }
    write_state(c, s->id);
}

static int start_work(struct admin_call *c)
{
    return command_work(c, "start");
}
static int stop_work(struct admin_call *c)
{
    return command_work(c, "stop");
}
static int restart_work(struct admin_call *c)
{
    return command_work(c, "restart");
}
static void start_post(struct admin_call *c)
{
    command_post(c, "start");
}
static void stop_post(struct admin_call *c)
{
    command_post(c, "stop");
}
static void restart_post(struct admin_call *c)
{
    command_post(c, "restart");
}

/* ---- sessions --------------------------------------------------------------------- */

/* The filters of a session list (into s, field errors into c->err). */
static void session_filters_of(struct admin_call *c, struct list_state *s)
{
    s->kind = admin_query(c, "kind");
    if (s->kind && strcmp(s->kind, "live") != 0 && strcmp(s->kind, "hls") != 0 &&
        strcmp(s->kind, "movie") != 0 && strcmp(s->kind, "episode") != 0)
        dom_err_field(&c->err, "kind", "unknown", "kind is one of live, hls, movie, episode");
    s->line_id = admin_query_id(c, "line_id");
    s->stream_id = admin_query_id(c, "stream_id");
}

static int sessions_work(struct admin_call *c)
{
    struct list_state *s = NULL;
    int rc = parse_list(c, &s);
    if (!s) /* out of memory: parse_list set the error */
        return rc;
    session_filters_of(c, s);
    return c->err.status ? -EINVAL : rc;
}

/* GET /api/v1/lines/{id}/sessions: the connections of one line (404 for a
 * line that does not exist; none for one that is not watching). */
static int line_sessions_work(struct admin_call *c)
{
    struct list_state *s = NULL;
    int rc = parse_list(c, &s);
    if (!s) /* out of memory: parse_list set the error */
        return rc;
    session_filters_of(c, s);
    if (c->err.status)
        return -EINVAL;
    struct db_line l = {0};
    int64_t id;
    if (admin_param_id(c, 0, "line", &id) || admin_line_scope(c, id) ||
        dom_line_get_id(c->db, id, &l, &c->err))
        return -ENOENT;
    db_line_clear(&l);
    s->line_id = id;
    return rc;
}

static void sessions_post(struct admin_call *c)
{
    struct list_state *s = c->state;
    if (!need_live(c))
        return;
    struct live_conn_sink sink = {
        .w = &c->w,
        .kind = s->kind,
        .line_id = s->line_id,
        .stream_id = s->stream_id,
        .offset = s->q.db.offset,
        .limit = s->q.db.limit,
    };
    admin_list_begin(c);
    live_write_connections(admin_live(c->admin), &sink);
    admin_list_end(c, &s->q, sink.total);
}

static int kill_work(struct admin_call *c)
{
    struct list_state *s = calloc(1, sizeof(*s));
    if (!s)
        return dom_err_internal(&c->err, -ENOMEM, "a session");
    c->state = s;
    c->state_free = free_state;
    if (admin_param_id(c, 0, "session", &s->id))
        return -ENOENT;
    return admin_audit(c, "kill", "session", s->id, NULL, NULL);
}

static void kill_post(struct admin_call *c)
{
    struct list_state *s = c->state;
    if (need_live(c) && !live_kill_connection(admin_live(c->admin), (uint64_t)s->id))
        dom_err_set(&c->err, 404, DOM_E_NOT_FOUND, "no session %lld (it may have ended)",
                    (long long)s->id);
}

static const char *const session_filters[] = {"kind", "line_id", "stream_id", NULL};

static const struct admin_route_ext ext_channels = {
    .work = channels_work, .post = channels_post, .list = true};
static const struct admin_route_ext ext_state = {.work = state_work, .post = state_post};
static const struct admin_route_ext ext_log = {.work = state_work, .post = log_post};
static const struct admin_route_ext ext_start = {.work = start_work, .post = start_post};
static const struct admin_route_ext ext_stop = {.work = stop_work, .post = stop_post};
static const struct admin_route_ext ext_restart = {.work = restart_work, .post = restart_post};
static const struct admin_route_ext ext_sessions = {
    .work = sessions_work, .post = sessions_post, .list = true, .filters = session_filters};
static const char *const line_session_filters[] = {"kind", "stream_id", NULL};
static const struct admin_route_ext ext_line_sessions = {.work = line_sessions_work,
                                                         .post = sessions_post,
                                                         .list = true,
                                                         .filters = line_session_filters};
static const struct admin_route_ext ext_kill = {.work = kill_work, .post = kill_post};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/channels", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Channels the live engine knows: state, viewers, input bitrate, source in use", "streams",
     NULL, "LiveChannelList", 200, &ext_channels},
    {ROUTE_GET, "/api/v1/streams/{id}/state", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "A stream's live state: sources, ffmpeg log, switch history", "streams", NULL, "LiveChannel",
     200, &ext_state},
    {ROUTE_GET, "/api/v1/streams/{id}/log", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "The last lines of the stream's ffmpeg log", "streams", NULL, "StreamLog", 200, &ext_log},
    {ROUTE_POST, "/api/v1/streams/{id}/start", admin_route_fn, NULL, ROUTE_AUTH_ADMIN,
     "streams:write", "Start a stream now", "streams", NULL, "LiveChannel", 200, &ext_start},
    {ROUTE_POST, "/api/v1/streams/{id}/stop", admin_route_fn, NULL, ROUTE_AUTH_ADMIN,
     "streams:write", "Stop a stream (its viewers are cut)", "streams", NULL, "LiveChannel", 200,
     &ext_stop},
    {ROUTE_POST, "/api/v1/streams/{id}/restart", admin_route_fn, NULL, ROUTE_AUTH_ADMIN,
     "streams:write", "Restart a stream's ingest", "streams", NULL, "LiveChannel", 200,
     &ext_restart},
    {ROUTE_GET, "/api/v1/sessions", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Every live, HLS and VOD connection", "sessions", NULL, "SessionList", 200, &ext_sessions},
    {ROUTE_GET, "/api/v1/lines/{id}/sessions", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "The connections of one line (as GET /sessions?line_id=)", "lines", NULL, "SessionList", 200,
     &ext_line_sessions},
    {ROUTE_DELETE, "/api/v1/sessions/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Cut a connection", "sessions", NULL, NULL, 204, &ext_kill},
};

#define LIST_OF(x)                                                                                 \
    "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"              \
    "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/" x  \
    "\"}},\"total\":{\"type\":\"integer\"},\"page\":{\"type\":\"integer\"},"                       \
    "\"page_size\":{\"type\":\"integer\"}}}"

static const struct admin_schema schemas[] = {
    {"LiveChannel",
     "{\"type\":\"object\",\"required\":[\"id\",\"name\",\"state\",\"viewers\",\"input_kbps\","
     "\"source_index\",\"source\"],\"properties\":{\"id\":{\"type\":\"integer\"},"
     "\"name\":{\"type\":\"string\"},\"state\":{\"type\":\"string\"},"
     "\"always_on\":{\"type\":\"boolean\"},\"source_index\":{\"type\":\"integer\"},"
     "\"source\":{\"type\":\"string\"},\"uptime_s\":{\"type\":\"integer\"},"
     "\"restarts\":{\"type\":\"integer\"},\"failovers\":{\"type\":\"integer\"},"
     "\"input_kbps\":{\"type\":\"integer\"},\"viewers\":{\"type\":\"integer\"},"
     "\"hls_sessions\":{\"type\":\"integer\"},\"bytes_in\":{\"type\":\"integer\"},"
     "\"bytes_out\":{\"type\":\"integer\"},\"codecs\":{\"type\":\"string\"},"
     "\"sources\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
     "\"stderr\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
     "\"pid\":{\"type\":\"integer\"},\"switches\":{\"type\":\"array\"},"
     "\"renditions\":{\"type\":\"array\",\"description\":\"an ABR ladder's renditions, top "
     "first ([] without a ladder): target and measured bitrates\",\"items\":{\"type\":"
     "\"object\",\"properties\":{\"index\":{\"type\":\"integer\"},\"width\":{\"type\":"
     "\"integer\"},\"height\":{\"type\":\"integer\"},\"bitrate_kbps\":{\"type\":"
     "\"integer\"},\"output_kbps\":{\"type\":\"integer\"},\"bytes_in\":{\"type\":"
     "\"integer\"},\"buffer_bytes\":{\"type\":\"integer\"}}}},"
     "\"transcode\":{\"type\":[\"object\",\"null\"],\"description\":\"null: copied; "
     "fallback: the profile's hardware backend is missing, software encodes\","
     "\"properties\":{\"profile_id\":{\"type\":\"integer\"},\"profile\":{\"type\":\"string\"},"
     "\"hw_backend\":{\"type\":\"string\"},\"hw_backend_used\":{\"type\":[\"string\",\"null\"]},"
     "\"encoder\":{\"type\":[\"string\",\"null\"]},\"fallback\":{\"type\":\"boolean\"},"
     "\"fallbacks\":{\"type\":\"integer\"}}},"
     "\"ffmpeg\":{\"type\":[\"object\",\"null\"],\"description\":\"ffmpeg's last -progress "
     "report (null before the first)\",\"properties\":{\"speed\":{\"type\":[\"number\",\"null\"]},"
     "\"fps\":{\"type\":[\"number\",\"null\"]},\"output_kbps\":{\"type\":[\"number\",\"null\"]},"
     "\"frames\":{\"type\":[\"integer\",\"null\"]},"
     "\"dropped_frames\":{\"type\":[\"integer\",\"null\"]},"
     "\"duplicated_frames\":{\"type\":[\"integer\",\"null\"]}}}}}"},
    {"LiveChannelList", LIST_OF("LiveChannel")},
    {"StreamLog", "{\"type\":\"object\",\"required\":[\"id\",\"lines\"],\"properties\":{"
                  "\"id\":{\"type\":\"integer\"},\"lines\":{\"type\":\"array\",\"items\":{"
                  "\"type\":\"string\"}}}}"},
    {"Session",
     "{\"type\":\"object\",\"required\":[\"id\",\"kind\",\"line_id\",\"username\",\"stream_id\","
     "\"ip\",\"user_agent\",\"seconds\",\"bytes\"],\"properties\":{\"id\":{\"type\":\"integer\"},"
     "\"kind\":{\"enum\":[\"live\",\"hls\",\"movie\",\"episode\"]},"
     "\"line_id\":{\"type\":\"integer\"},\"username\":{\"type\":\"string\"},"
     "\"stream_id\":{\"type\":\"integer\"},\"ip\":{\"type\":\"string\"},"
     "\"user_agent\":{\"type\":\"string\"},\"seconds\":{\"type\":\"integer\"},"
     "\"bytes\":{\"type\":\"integer\"}}}"},
    {"SessionList", LIST_OF("Session")},
};

const struct admin_resource admin_res_live = {"live", routes, sizeof(routes) / sizeof(routes[0]),
                                              schemas, sizeof(schemas) / sizeof(schemas[0])};
