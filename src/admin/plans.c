/*
 * plans.c: /api/v1/plans — plans ("packages": what a line created with
 * "plan_id" gets). domain/plans.h owns every rule; this file decodes, calls
 * and serialises, in the pattern of lines.c (changes read the current
 * representation, check If-Match, change, audit and commit in one
 * transaction).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/call.h"
#include "admin/resource.h"
#include "domain/plan_json.h"
#include "domain/plans.h"
#include "domain/resellers.h"
#include "domain/tx.h"

/* The plan's JSON into a fresh buffer with its ETag (audit rows, If-Match). */
static char *plan_json_text(const struct db_plan *p, char etag[40])
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct jsonw w;
    jsonw_init(&w, &b);
    dom_plan_write_json(&w, p);
    if (b.err) {
        buf_free(&b);
        return NULL;
    }
    admin_etag_of(&b, etag);
    return buf_steal(&b, NULL);
}

static int load(struct admin_call *c, struct db_plan *p)
{
    int64_t id;
    if (admin_param_id(c, 0, "plan", &id))
        return -ENOENT;
    struct dom_actor who;
    admin_actor(c, &who);
    /* a reseller sees only the plans its group may sell */
    int rc = dom_actor_plan_check(c->db, &who, id, &c->err);
    return rc ? rc : dom_plan_get(c->db, id, p, &c->err);
}

static int plans_list(struct admin_call *c)
{
    struct admin_list_query q;
    if (admin_list_query(c, dom_plan_sort_keys, &q))
        return -EINVAL;
    struct db_plan *v = NULL;
    size_t n = 0;
    int64_t total = 0;
    struct dom_actor who;
    admin_actor(c, &who);
    int64_t group = 0;
    int rc = dom_actor_plan_group(c->db, &who, &group, &c->err);
    if (rc == 0)
        rc = group ? dom_plan_page_sellable(c->db, &q.db, group, &v, &n, &total, &c->err)
                   : dom_plan_page(c->db, &q.db, &v, &n, &total, &c->err);
    if (rc < 0)
        return rc;
    admin_list_begin(c);
    for (size_t i = 0; i < n; i++)
        dom_plan_write_json(&c->w, &v[i]);
    admin_list_end(c, &q, total);
    db_plan_list_free(v, n);
    return 0;
}

static int plans_get(struct admin_call *c)
{
    struct db_plan p = {0};
    int rc = load(c, &p);
    if (rc == 0) {
        dom_plan_write_json(&c->w, &p);
        admin_set_etag(c);
    }
    db_plan_clear(&p);
    return rc;
}

/* Answers with plan id as it is now, writing the audit row. */
static int answer_plan(struct admin_call *c, int64_t id, const char *action, const char *before)
{
    struct db_plan p = {0};
    int rc = dom_plan_get(c->db, id, &p, &c->err);
    if (rc < 0)
        return rc;
    char etag[40];
    char *after = plan_json_text(&p, etag);
    if (!after)
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising a plan");
    else
        rc = admin_answer_change(c, action, "plan", id, before, after);
    free(after);
    db_plan_clear(&p);
    return rc;
}

/* Decodes a plan body; refused members (422) do not hide the rule errors
 * of what did decode. */
static int decode(struct admin_call *c, struct dom_plan_json *j, bool create)
{
    int rc = dom_plan_from_json(c->body, c->body_len, j, &c->err);
    if (rc < 0 && c->err.status == 422)
        dom_plan_validate(&j->in, create, &c->err);
    return rc;
}

static int plans_create(struct admin_call *c)
{
    struct dom_plan_json j;
    int64_t id = 0;
    int rc = decode(c, &j, true);
    if (rc < 0 || (rc = dom_begin(c->db, &c->err)) < 0)
        goto out;
    if ((rc = dom_plan_create(c->db, &j.in, &id, &c->err)) < 0 ||
        (rc = answer_plan(c, id, "create", NULL)) < 0 || (rc = dom_commit(c->db, &c->err)) < 0) {
        dom_rollback(c->db);
        buf_reset(&c->out);
        c->etag[0] = '\0';
        goto out;
    }
    snprintf(c->location, sizeof(c->location), "/api/v1/plans/%lld", (long long)id);
out:
    dom_plan_json_free(&j);
    return rc;
}

/* PATCH (body given) or DELETE (body NULL) of plan {id}, If-Match honoured. */
static int change(struct admin_call *c, const struct dom_plan_in *in)
{
    struct db_plan cur = {0};
    char *before = NULL;
    char etag[40];
    int rc = dom_begin(c->db, &c->err);
    if (rc < 0)
        return rc;
    if ((rc = load(c, &cur)) < 0)
        goto rollback;
    if (!(before = plan_json_text(&cur, etag))) {
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising a plan");
        goto rollback;
    }
    if (!admin_if_match(c, etag)) {
        rc = -EAGAIN;
        goto rollback;
    }
    if (in)
        rc = dom_plan_update(c->db, cur.id, in, &c->err);
    else
        rc = dom_plan_delete(c->db, cur.id, &c->err);
    if (rc < 0)
        goto rollback;
    if (in)
        rc = answer_plan(c, cur.id, "update", before);
    else if ((rc = admin_audit(c, "delete", "plan", cur.id, before, NULL)) == 0)
        admin_notify_change(c, "plan", cur.id, "delete");
    if (rc < 0 || (rc = dom_commit(c->db, &c->err)) < 0)
        goto rollback;
    goto out;
rollback:
    dom_rollback(c->db);
    buf_reset(&c->out);
    c->etag[0] = '\0';
out:
    free(before);
    db_plan_clear(&cur);
    return rc;
}

static int plans_patch(struct admin_call *c)
{
    struct dom_plan_json j;
    int rc = decode(c, &j, false);
    if (rc == 0)
        rc = change(c, &j.in);
    dom_plan_json_free(&j);
    return rc;
}

static int plans_delete(struct admin_call *c)
{
    return change(c, NULL);
}

static const struct admin_route_ext ext_list = {.work = plans_list, .list = true};
static const struct admin_route_ext ext_get = {.work = plans_get};
static const struct admin_route_ext ext_create = {.work = plans_create};
static const struct admin_route_ext ext_patch = {.work = plans_patch};
static const struct admin_route_ext ext_delete = {.work = plans_delete};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/plans", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "List plans (paged, searched by name, sorted)", "plans", NULL, "PlanList", 200, &ext_list},
    {ROUTE_POST, "/api/v1/plans", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Create a plan", "plans", "PlanCreate", "Plan", 201, &ext_create},
    {ROUTE_GET, "/api/v1/plans/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read", "Read a plan",
     "plans", NULL, "Plan", 200, &ext_get},
    {ROUTE_PATCH, "/api/v1/plans/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Change a plan (JSON Merge Patch; one duration given replaces the plan's; If-Match "
     "honoured). Lines created from it keep what they got",
     "plans", "PlanPatch", "Plan", 200, &ext_patch},
    {ROUTE_DELETE, "/api/v1/plans/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Delete a plan (its lines are kept; If-Match honoured)", "plans", NULL, NULL, 204,
     &ext_delete},
};

#define PLAN_PROPS                                                                                 \
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":100},"                            \
    "\"duration_days\":{\"type\":[\"integer\",\"null\"],\"minimum\":1,\"maximum\":3650},"          \
    "\"duration_months\":{\"type\":[\"integer\",\"null\"],\"minimum\":1,\"maximum\":120},"         \
    "\"trial_hours\":{\"type\":[\"integer\",\"null\"],\"minimum\":1,\"maximum\":720,"              \
    "\"description\":\"trial plans only\"},"                                                       \
    "\"max_connections\":{\"type\":[\"integer\",\"null\"],\"minimum\":0,\"maximum\":100000},"      \
    "\"allowed_outputs\":{\"type\":[\"array\",\"null\"],\"minItems\":1,\"items\":{\"enum\":"       \
    "[\"ts\",\"m3u8\",\"mpegts\",\"hls\"]}},"                                                      \
    "\"is_trial\":{\"type\":\"boolean\"},"                                                         \
    "\"bouquets\":{\"type\":[\"array\",\"null\"],\"maxItems\":256,\"items\":{\"oneOf\":["          \
    "{\"type\":\"string\"},{\"type\":\"integer\"},{\"type\":\"object\",\"required\":[\"id\"],"     \
    "\"properties\":{\"id\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"}}}]}},"           \
    "\"credit_price\":{\"type\":[\"string\",\"integer\"],\"description\":\"credits a reseller "    \
    "pays for a line (decimal string, up to 4 decimals)\"},"                                       \
    "\"trial_price\":{\"type\":[\"string\",\"integer\"]},"                                         \
    "\"reseller_group_ids\":{\"type\":[\"array\",\"null\"],\"maxItems\":64,\"items\":{\"type\":"   \
    "\"integer\"},\"description\":\"the reseller groups that may sell it\"}"

static const struct admin_schema schemas[] = {
    {"Plan",
     "{\"type\":\"object\",\"additionalProperties\":false,"
     "\"required\":[\"id\",\"name\",\"duration_days\",\"duration_months\",\"trial_hours\","
     "\"max_connections\",\"allowed_outputs\",\"is_trial\",\"bouquets\",\"created_at\","
     "\"updated_at\"],"
     "\"properties\":{\"id\":{\"type\":\"integer\"},"
     "\"name\":{\"type\":\"string\"},"
     "\"duration_days\":{\"type\":[\"integer\",\"null\"]},"
     "\"duration_months\":{\"type\":[\"integer\",\"null\"]},"
     "\"trial_hours\":{\"type\":[\"integer\",\"null\"]},"
     "\"max_connections\":{\"type\":\"integer\"},"
     "\"allowed_outputs\":{\"type\":\"array\",\"items\":{\"enum\":[\"ts\",\"m3u8\"]}},"
     "\"is_trial\":{\"type\":\"boolean\"},"
     "\"bouquets\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":"
     "false,\"required\":[\"id\",\"name\"],\"properties\":{\"id\":{\"type\":\"integer\"},"
     "\"name\":{\"type\":\"string\"}}}},"
     "\"credit_price\":{\"type\":\"string\"},\"trial_price\":{\"type\":\"string\"},"
     "\"reseller_group_ids\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"
     "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
     "\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"}}}"},
    {"PlanCreate", "{\"type\":\"object\",\"required\":[\"name\"],"
                   "\"description\":\"at most one of duration_days, duration_months, "
                   "trial_hours (none: the plan's lines never expire)\","
                   "\"examples\":[{\"name\":\"Monthly\",\"duration_months\":1,"
                   "\"max_connections\":2,\"allowed_outputs\":[\"ts\",\"m3u8\"]}],"
                   "\"properties\":{" PLAN_PROPS "}}"},
    {"PlanPatch", "{\"type\":\"object\",\"description\":\"JSON Merge Patch of a Plan\","
                  "\"examples\":[{\"duration_days\":30,\"max_connections\":3}],"
                  "\"properties\":{" PLAN_PROPS "}}"},
    {"PlanList",
     "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"
     "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/"
     "Plan\"}},\"total\":{\"type\":\"integer\"},\"page\":{\"type\":\"integer\"},"
     "\"page_size\":{\"type\":\"integer\"}}}"},
};

const struct admin_resource admin_res_plans = {"plans", routes, sizeof(routes) / sizeof(routes[0]),
                                               schemas, sizeof(schemas) / sizeof(schemas[0])};
