/*
 * placements.c: GET|PUT /api/v1/streams/{id}/placements — where a channel runs in a cluster
 * and where each node pulls it from (domain/placements.h; docs/internals/live.md §Origin–edge).
 * PUT replaces the whole list in one transaction (audited, If-Match honoured); the catalogue
 * rebuild carries it to every node's live engine.
 */
#include <errno.h>
#include <stdlib.h>

#include "admin/call.h"
#include "admin/resource.h"
#include "domain/placements.h"
#include "domain/tx.h"

static char *placements_text(int64_t id, const struct db_placement *p, size_t n, char etag[40])
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct jsonw w;
    jsonw_init(&w, &b);
    dom_placements_write_json(&w, id, p, n);
    if (b.err) {
        buf_free(&b);
        return NULL;
    }
    admin_etag_of(&b, etag);
    return buf_steal(&b, NULL);
}

static int placements_get(struct admin_call *c)
{
    int64_t id;
    if (admin_param_id(c, 0, "stream", &id))
        return -ENOENT;
    struct db_placement *p = NULL;
    size_t n = 0;
    int rc = dom_placements_get(c->db, id, &p, &n, &c->err);
    if (rc == 0) {
        dom_placements_write_json(&c->w, id, p, n);
        admin_set_etag(c);
    }
    free(p);
    return rc;
}

static int placements_put(struct admin_call *c)
{
    int64_t id;
    if (admin_param_id(c, 0, "stream", &id))
        return -ENOENT;
    struct db_placement *in = NULL, *cur = NULL;
    size_t nin = 0, ncur = 0;
    char *before = NULL, *after = NULL;
    char etag[40];
    int rc = dom_placements_from_json(c->body, c->body_len, &in, &nin, &c->err);
    if (rc < 0)
        return rc;
    if ((rc = dom_begin(c->db, &c->err)) < 0)
        goto out;
    if ((rc = dom_placements_get(c->db, id, &cur, &ncur, &c->err)) < 0)
        goto rollback;
    if (!(before = placements_text(id, cur, ncur, etag))) {
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising placements");
        goto rollback;
    }
    if (!admin_if_match(c, etag)) {
        rc = -EAGAIN;
        goto rollback;
    }
    if ((rc = dom_placements_set(c->db, id, in, nin, &c->err)) < 0)
        goto rollback;
    if (!(after = placements_text(id, in, nin, etag))) {
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising placements");
        goto rollback;
    }
    if ((rc = admin_answer_change(c, "update", "stream_placements", id, before, after)) < 0 ||
        (rc = dom_commit(c->db, &c->err)) < 0)
        goto rollback;
    goto out;
rollback:
    dom_rollback(c->db);
    buf_reset(&c->out);
    c->etag[0] = '\0';
out:
    free(in);
    free(cur);
    free(before);
    free(after);
    return rc;
}

static const struct admin_route_ext ext_get = {.work = placements_get};
static const struct admin_route_ext ext_put = {.work = placements_put};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/streams/{id}/placements", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Where a channel runs in a cluster (no placement: any node, on demand)", "streams", NULL,
     "Placements", 200, &ext_get},
    {ROUTE_PUT, "/api/v1/streams/{id}/placements", admin_route_fn, NULL, ROUTE_AUTH_ADMIN,
     "streams:write",
     "Replace a channel's placements: the nodes it runs on (always or on demand) and, per node, "
     "the node it pulls from (origin–edge) instead of the source",
     "streams", "PlacementsPut", "Placements", 200, &ext_put},
};

#define PLACEMENT_ITEM                                                                             \
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"node_id\"],"              \
    "\"properties\":{\"node_id\":{\"type\":\"integer\",\"minimum\":1},"                            \
    "\"mode\":{\"enum\":[\"always\",\"on_demand\"]},"                                              \
    "\"parent_node_id\":{\"type\":[\"integer\",\"null\"],\"minimum\":1,\"description\":\"pull "    \
    "the channel from this node's /cluster/origin/ID.ts (a node of the same list)\"}}}"

static const struct admin_schema schemas[] = {
    {"Placements", "{\"type\":\"object\",\"required\":[\"stream_id\",\"placements\"],"
                   "\"properties\":{\"stream_id\":{\"type\":\"integer\"},\"placements\":{"
                   "\"type\":\"array\",\"items\":" PLACEMENT_ITEM "}}}"},
    {"PlacementsPut", "{\"type\":\"array\",\"maxItems\":256,\"items\":" PLACEMENT_ITEM ","
                      "\"examples\":[[{\"node_id\":1,\"mode\":\"always\"},"
                      "{\"node_id\":2,\"mode\":\"on_demand\",\"parent_node_id\":1}]]}"},
};

const struct admin_resource admin_res_placements = {"placements", routes,
                                                    sizeof(routes) / sizeof(routes[0]), schemas,
                                                    sizeof(schemas) / sizeof(schemas[0])};
