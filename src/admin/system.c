/*
 * system.c: the admin API's own resources — its OpenAPI document, the
 * jobs table (admin/jobs.h) and the log levels (core/log.h).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_priv.h"
#include "admin/jobs.h"
#include "admin/resource.h"
#include "api/api.h"
#include "core/log.h"
#include "domain/tx.h"

static void openapi_post(struct admin_call *c)
{
    struct refbuf *doc = c->admin->openapi;
    if (!doc) {
        dom_err_set(&c->err, 503, "NOT_READY", "the API document is not built yet");
        return;
    }
    http_response_status(c->res, 200);
    http_response_header(c->res, "Content-Type", "application/json");
    http_response_header(c->res, "Cache-Control", "no-cache");
    http_response_body_ref(c->res, doc);
    c->responded = true;
}

/* /metrics with a token (a scraper elsewhere than loopback): the same
 * exposition as the loopback route of the client API. */
static bool has_authorization(const struct route_match *m, const struct http_request *req)
{
    (void)m;
    return http_request_header(req, "Authorization") != NULL;
}

static void metrics_post(struct admin_call *c)
{
    if (!admin_api(c->admin)) {
        dom_err_set(&c->err, 503, "NOT_READY", "no metrics yet");
        return;
    }
    api_serve_metrics(admin_api(c->admin), c->method == HTTP_HEAD, c->res);
    c->responded = true;
}

static const struct admin_route_ext ext_metrics = {.post = metrics_post};

/* Not in admin_resources[] (it lies outside /api/v1): serve.c adds it as
 * the group "metrics" before the client API's own /metrics. */
const struct route admin_metrics_route = {ROUTE_GET,
                                          "/metrics",
                                          admin_route_fn,
                                          has_authorization,
                                          ROUTE_AUTH_METRICS,
                                          "read",
                                          NULL,
                                          NULL,
                                          NULL,
                                          NULL,
                                          200,
                                          &ext_metrics};

static int jobs_list(struct admin_call *c)
{
    struct admin_list_query q;
    if (admin_list_query(c, NULL, &q))
        return -EINVAL;
    int64_t total = 0;
    admin_list_begin(c);
    admin_jobs_write_list(c->admin->jobs, q.db.offset, q.db.limit, &c->w, &total);
    admin_list_end(c, &q, total);
    return 0;
}

static int jobs_get(struct admin_call *c)
{
    int64_t id;
    if (admin_param_id(c, 0, "job", &id))
        return -ENOENT;
    if (admin_job_write(c->admin->jobs, id, &c->w) != 0)
        return dom_err_set(&c->err, 404, DOM_E_NOT_FOUND, "no job %lld (only the last %d are kept)",
                           (long long)id, ADMIN_JOBS_KEPT);
    return 0;
}

/* The log levels as {"default":LEVEL,"tags":{TAG:LEVEL...}} into b. */
static void log_levels_write(struct jsonw *w)
{
    struct log_tag_level tl[LOG_MAX_TAG_LEVELS];
    size_t n = log_tag_levels(tl, LOG_MAX_TAG_LEVELS);
    if (n > LOG_MAX_TAG_LEVELS)
        n = LOG_MAX_TAG_LEVELS;
    jsonw_obj_begin(w);
    jsonw_key(w, "default");
    jsonw_str(w, log_level_name(log_get_level()));
    jsonw_key(w, "tags");
    jsonw_obj_begin(w);
    for (size_t i = 0; i < n; i++) {
        jsonw_key(w, tl[i].tag);
        jsonw_str(w, log_level_name(tl[i].level));
    }
    jsonw_obj_end(w);
    jsonw_obj_end(w);
}

static char *log_levels_text(void)
{
    struct buf b;
    buf_init(&b, 1 << 14);
    struct jsonw w;
    jsonw_init(&w, &b);
    log_levels_write(&w);
    if (b.err) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, NULL);
}

static int log_levels_get(struct admin_call *c)
{
    log_levels_write(&c->w);
    return 0;
}

/* PUT replaces the whole: "default" and the overrides in "tags" (a tag not
 * named loses its override). Everything is checked before anything changes;
 * the change is audited and applied once the audit row is committed. */
static int log_levels_put(struct admin_call *c)
{
    static const char *const known[] = {"default", "tags", NULL};
    if (!json_is_object(c->json))
        return dom_err_set(&c->err, 400, DOM_E_MALFORMED, "the body must be a JSON object");
    if (admin_json_known(c, known))
        return -EINVAL;
    enum log_level def = LOG_INFO;
    struct log_tag_level want[LOG_MAX_TAG_LEVELS];
    size_t nwant = 0;
    const char *dtext;
    bool has;
    if (admin_json_str(c, "default", &dtext, &has))
        return -EINVAL;
    if (!has || !dtext)
        dom_err_field(&c->err, "default", "required", "the default level is required");
    else if (log_level_parse(dtext, &def))
        dom_err_field(&c->err, "default", "format", "want debug, info, warn or error");
    json_t *tags = json_object_get(c->json, "tags");
    if (tags && !json_is_object(tags) && !json_is_null(tags)) {
        dom_err_field(&c->err, "tags", "type", "want an object of TAG: LEVEL");
    } else if (json_object_size(tags) > LOG_MAX_TAG_LEVELS) {
        dom_err_field(&c->err, "tags", "too_many", "at most %d tags", LOG_MAX_TAG_LEVELS);
    } else {
        const char *tag;
        json_t *v;
        json_object_foreach(tags, tag, v)
        {
            size_t n = strlen(tag);
            char field[48];
            snprintf(field, sizeof(field), "tags.%.40s", tag);
            if (n == 0 || n >= LOG_TAG_MAX ||
                strspn(tag, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
                dom_err_field(&c->err, field, "format", "a tag is [a-z0-9_-], 1 to %d characters",
                              LOG_TAG_MAX - 1);
            else if (!json_is_string(v) ||
                     log_level_parse(json_string_value(v), &want[nwant].level))
                dom_err_field(&c->err, field, "format", "want debug, info, warn or error");
            else
                memcpy(want[nwant++].tag, tag, n + 1);
        }
    }
    if (c->err.status)
        return -EINVAL;
    char *before = log_levels_text();
    /* The answer (and the audit's "after") as it will be once applied. */
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "default");
    jsonw_str(&c->w, log_level_name(def));
    jsonw_key(&c->w, "tags");
    jsonw_obj_begin(&c->w);
    for (size_t i = 0; i < nwant; i++) {
        jsonw_key(&c->w, want[i].tag);
        jsonw_str(&c->w, log_level_name(want[i].level));
    }
    jsonw_obj_end(&c->w);
    jsonw_obj_end(&c->w);
    int rc = !before || c->out.err ? dom_err_internal(&c->err, -ENOMEM, "the log levels") : 0;
    if (rc == 0 && (rc = dom_begin(c->db, &c->err)) == 0) {
        if ((rc = admin_audit(c, "update", "log_levels", 0, before, c->out.data)) < 0 ||
            (rc = dom_commit(c->db, &c->err)) < 0)
            dom_rollback(c->db);
    }
    free(before);
    if (rc < 0)
        return rc;
    log_clear_tag_levels();
    for (size_t i = 0; i < nwant; i++)
        log_set_tag_level(want[i].tag, want[i].level); /* checked above: cannot fail */
    log_set_level(def);
    log_warn("admin", "log levels changed by %s: %s", c->who.username, c->out.data);
    return 0;
}

static const struct admin_route_ext ext_openapi = {.post = openapi_post, .no_auth = true};
static const struct admin_route_ext ext_jobs = {.work = jobs_list, .list = true};
static const struct admin_route_ext ext_job = {.work = jobs_get};
static const struct admin_route_ext ext_log_get = {.work = log_levels_get};
static const struct admin_route_ext ext_log_put = {.work = log_levels_put};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/openapi.json", admin_route_fn, NULL, ROUTE_AUTH_NONE, NULL,
     "This document (OpenAPI 3.1)", "system", NULL, NULL, 200, &ext_openapi},
    {ROUTE_GET, "/api/v1/jobs", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Recent jobs (imports, scans), newest first", "jobs", NULL, "JobList", 200, &ext_jobs},
    {ROUTE_GET, "/api/v1/jobs/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "One job: state, progress, result or error", "jobs", NULL, "Job", 200, &ext_job},
    {ROUTE_GET, "/api/v1/system/log-levels", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "The log's minimum levels: the default and per subsystem (tag)", "system", NULL, "LogLevels",
     200, &ext_log_get},
    {ROUTE_PUT, "/api/v1/system/log-levels", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Replace the log's minimum levels at run time (tags not named lose their override; "
     "audited; not kept across a restart: the log-level setting is)",
     "system", "LogLevels", "LogLevels", 200, &ext_log_put},
};

#define JOB_SCHEMA                                                                                 \
    "{\"type\":\"object\",\"required\":[\"id\",\"kind\",\"state\",\"progress\",\"stage\","         \
    "\"created_at\",\"started_at\",\"finished_at\",\"created_by\",\"result\",\"error\"],"          \
    "\"properties\":{\"id\":{\"type\":\"integer\"},\"kind\":{\"type\":\"string\"},"                \
    "\"state\":{\"enum\":[\"queued\",\"running\",\"succeeded\",\"failed\"]},"                      \
    "\"progress\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100},"                           \
    "\"stage\":{\"type\":\"string\"},"                                                             \
    "\"created_at\":{\"type\":[\"string\",\"null\"]},\"started_at\":{\"type\":[\"string\","        \
    "\"null\"]},\"finished_at\":{\"type\":[\"string\",\"null\"]},"                                 \
    "\"created_by\":{\"type\":\"string\"},\"result\":{},\"error\":{}}}"

#define LOG_LEVEL_ENUM "{\"enum\":[\"debug\",\"info\",\"warn\",\"error\"]}"

static const struct admin_schema schemas[] = {
    {"LogLevels", "{\"type\":\"object\",\"required\":[\"default\"],\"additionalProperties\":false,"
                  "\"examples\":[{\"default\":\"info\",\"tags\":{\"http\":\"info\"}}],"
                  "\"properties\":{\"default\":" LOG_LEVEL_ENUM ",\"tags\":{\"type\":\"object\","
                  "\"maxProperties\":64,\"propertyNames\":{\"pattern\":\"^[a-z0-9_-]{1,31}$\"},"
                  "\"additionalProperties\":" LOG_LEVEL_ENUM "}}}"},
    {"Job", JOB_SCHEMA},
    {"JobAccepted", "{\"type\":\"object\",\"required\":[\"job\"],\"properties\":{\"job\":"
                    "{\"$ref\":\"#/components/schemas/Job\"}}}"},
    {"JobList", "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"
                "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":"
                "\"#/components/schemas/Job\"}},\"total\":{\"type\":\"integer\"},"
                "\"page\":{\"type\":\"integer\"},\"page_size\":{\"type\":\"integer\"}}}"},
};

const struct admin_resource admin_res_system = {"system", routes,
                                                sizeof(routes) / sizeof(routes[0]), schemas,
                                                sizeof(schemas) / sizeof(schemas[0])};
