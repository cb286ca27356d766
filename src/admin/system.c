/*
 * system.c: the admin API's own resources — its OpenAPI document and the
 * jobs table (admin/jobs.h).
 */
#include <errno.h>
#include <string.h>

#include "admin/admin_priv.h"
#include "admin/jobs.h"
#include "admin/resource.h"
#include "api/api.h"

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

static const struct admin_route_ext ext_openapi = {.post = openapi_post, .no_auth = true};
static const struct admin_route_ext ext_jobs = {.work = jobs_list, .list = true};
static const struct admin_route_ext ext_job = {.work = jobs_get};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/openapi.json", admin_route_fn, NULL, ROUTE_AUTH_NONE, NULL,
     "This document (OpenAPI 3.1)", "system", NULL, NULL, 200, &ext_openapi},
    {ROUTE_GET, "/api/v1/jobs", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Recent jobs (imports, scans), newest first", "jobs", NULL, "JobList", 200, &ext_jobs},
    {ROUTE_GET, "/api/v1/jobs/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "One job: state, progress, result or error", "jobs", NULL, "Job", 200, &ext_job},
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

static const struct admin_schema schemas[] = {
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
