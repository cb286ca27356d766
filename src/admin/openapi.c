/*
 * openapi.c: the OpenAPI 3.1 document of the admin API, generated once at
 * start from the router's tables (every admin route with a summary) and the
 * resources' JSON Schemas, so the document is what the server serves.
 * A schema that is not valid JSON, or a route naming a schema no resource
 * defines, fails the start (-EINVAL, logged): a drift cannot ship.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin_priv.h"
#include "admin/resource.h"
#include "core/log.h"

struct gen {
    struct admin *a;
    json_t *paths;
    json_t *schemas;
    int rc;
};

static const char problem_schema[] =
    "{\"type\":\"object\",\"description\":\"RFC 9457 problem details\","
    "\"required\":[\"type\",\"title\",\"status\",\"code\",\"detail\",\"errors\"],"
    "\"properties\":{\"type\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"},"
    "\"status\":{\"type\":\"integer\"},\"code\":{\"type\":\"string\"},"
    "\"detail\":{\"type\":\"string\"},\"instance\":{\"type\":\"string\"},"
    "\"errors\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"required\":[\"field\",\"code\",\"message\"],\"properties\":{"
    "\"field\":{\"type\":\"string\"},\"code\":{\"type\":\"string\"},"
    "\"message\":{\"type\":\"string\"}}}},\"errors_dropped\":{\"type\":\"integer\"}}}";

static const char *const method_names[] = {
    [HTTP_GET] = "get",       [HTTP_POST] = "post",   [HTTP_PUT] = "put",
    [HTTP_DELETE] = "delete", [HTTP_PATCH] = "patch",
};

static json_t *ref(const char *name)
{
    char r[128];
    snprintf(r, sizeof(r), "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", r);
}

static json_t *path_params(const char *pattern)
{
    json_t *arr = json_array();
    for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        if (!end)
            break;
        char name[48];
        snprintf(name, sizeof(name), "%.*s", (int)(end - p - 1), p + 1);
        size_t n = strlen(name);
        bool integer = strcmp(name, "id") == 0 || (n > 3 && strcmp(name + n - 3, "_id") == 0);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", name, "in", "path",
                                             "required", 1, "schema", "type",
                                             integer ? "integer" : "string"));
    }
    return arr;
}

static void add_query(json_t *params, const char *name, const char *type, const char *desc)
{
    json_array_append_new(params,
                          json_pack("{s:s,s:s,s:b,s:s,s:{s:s}}", "name", name, "in", "query",
                                    "required", 0, "description", desc, "schema", "type", type));
}

static json_t *operation(struct gen *g, const struct route *rt, enum http_method m)
{
    const struct admin_route_ext *ext = rt->ext;
    char opid[160];
    size_t n = (size_t)snprintf(opid, sizeof(opid), "%s", method_names[m]);
    for (const char *p = rt->pattern + strlen("/api/v1"); *p && n + 1 < sizeof(opid); p++)
        opid[n++] = isalnum((unsigned char)*p) ? *p : '_';
    opid[n] = '\0';
    json_t *op = json_pack("{s:s,s:s,s:[s]}", "operationId", opid, "summary", rt->summary, "tags",
                           rt->tag ? rt->tag : "admin");
    json_t *params = path_params(rt->pattern);
    if (ext && ext->list) {
        add_query(params, "page", "integer", "page number, from 1 (default 1)");
        add_query(params, "page_size", "integer", "items per page, 1-1000 (default 50)");
        add_query(params, "sort", "string", "comma list of fields, '-' for descending");
        add_query(params, "q", "string", "case-insensitive substring search");
    }
    for (size_t i = 0; ext && ext->filters && ext->filters[i]; i++)
        add_query(params, ext->filters[i], "string", "filter");
    json_object_set_new(op, "parameters", params);
    if (ext && ext->no_auth)
        json_object_set_new(op, "security", json_array());
    else
        json_object_set_new(op, "x-scope", json_string(rt->scope ? rt->scope : "read"));
    if (rt->request) {
        if (!json_object_get(g->schemas, rt->request)) {
            log_error("openapi", "route %s names an undefined request schema %s", rt->pattern,
                      rt->request);
            g->rc = -EINVAL;
        }
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b,s:{s:{s:o}}}", "required", 1, "content",
                                      "application/json", "schema", ref(rt->request)));
    }
    char status[8];
    snprintf(status, sizeof(status), "%d", rt->status ? rt->status : 200);
    json_t *ok = json_pack("{s:s}", "description", "success");
    if (rt->response) {
        if (!json_object_get(g->schemas, rt->response)) {
            log_error("openapi", "route %s names an undefined response schema %s", rt->pattern,
                      rt->response);
            g->rc = -EINVAL;
        }
        json_object_set_new(
            ok, "content", json_pack("{s:{s:o}}", "application/json", "schema", ref(rt->response)));
    }
    json_t *responses = json_object();
    json_object_set_new(responses, status, ok);
    json_object_set_new(responses, "default",
                        json_pack("{s:s,s:{s:{s:o}}}", "description", "an error", "content",
                                  "application/problem+json", "schema", ref("Problem")));
    json_object_set_new(op, "responses", responses);
    return op;
}

static void add_route(const struct route_group *grp, const struct route *rt, void *ctx)
{
    struct gen *g = ctx;
    if (grp->ud != g->a || !rt->summary)
        return;
    json_t *item = json_object_get(g->paths, rt->pattern);
    if (!item) {
        item = json_object();
        json_object_set_new(g->paths, rt->pattern, item);
    }
    for (int m = 0; m < HTTP_OTHER; m++)
        if ((rt->methods & ROUTE_M(m)) && m != HTTP_HEAD &&
            m < (int)(sizeof(method_names) / sizeof(method_names[0])) && method_names[m])
            json_object_set_new(item, method_names[m], operation(g, rt, (enum http_method)m));
}

static int load_schemas(json_t *schemas)
{
    json_error_t err;
    json_t *p = json_loads(problem_schema, 0, &err);
    if (!p)
        return -EINVAL;
    json_object_set_new(schemas, "Problem", p);
    for (size_t i = 0; admin_resources[i]; i++) {
        const struct admin_resource *res = admin_resources[i];
        for (size_t k = 0; k < res->nschemas; k++) {
            json_t *s = json_loads(res->schemas[k].json, JSON_REJECT_DUPLICATES, &err);
            if (!s) {
                log_error("openapi", "schema %s of %s is not JSON: %s", res->schemas[k].name,
                          res->name, err.text);
                return -EINVAL;
            }
            json_object_set_new(schemas, res->schemas[k].name, s);
        }
    }
    return 0;
}

int admin_openapi_build(struct admin *a, struct router *r)
{
    struct gen g = {.a = a, .paths = json_object(), .schemas = json_object()};
    json_t *doc = NULL;
    int rc = load_schemas(g.schemas);
    if (rc)
        goto fail;
    router_foreach(r, add_route, &g);
    if (g.rc) {
        rc = g.rc;
        goto fail;
    }
    doc = json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:o,s:{s:o,s:{s:{s:s,s:s},s:{s:s,s:s,s:s}}},s:[{s:[]},{s:[]}]}",
        "openapi", "3.1.0", "info", "title", "xtreamd admin API", "version", XTREAMD_VERSION,
        "description", "Manage lines, content, streams and the server. See docs/admin-api.md.",
        "paths", g.paths, "components", "schemas", g.schemas, "securitySchemes", "bearer", "type",
        "http", "scheme", "bearer", "session", "type", "apiKey", "in", "cookie", "name",
        "xtreamd_session", "security", "bearer", "session");
    g.paths = g.schemas = NULL;
    if (!doc) {
        rc = -ENOMEM;
        goto fail;
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text) {
        rc = -ENOMEM;
        goto fail;
    }
    struct refbuf *rb = refbuf_new(text, strlen(text));
    free(text);
    if (!rb) {
        rc = -ENOMEM;
        goto fail;
    }
    if (a->openapi)
        refbuf_unref(a->openapi);
    a->openapi = rb;
    json_decref(doc);
    return 0;
fail:
    json_decref(doc);
    json_decref(g.paths);
    json_decref(g.schemas);
    return rc;
}
