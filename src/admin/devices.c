/*
 * devices.c: /api/v1/devices — MAC-bound set-top boxes (MAG portal, issue 13
 * item 7). domain/devices.c owns the rules (MAC form, which line); this file
 * decodes, calls and serialises. A device is created or deleted, never
 * changed (a box moved to another line is deleted and added again).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/call.h"
#include "admin/resource.h"
#include "domain/devices.h"
#include "domain/tx.h"

static const char *const sort_keys[] = {NULL};
static const char *const filters[] = {"line", NULL};

static int devices_list(struct admin_call *c)
{
    struct admin_list_query q;
    if (admin_list_query(c, sort_keys, &q))
        return -EINVAL;
    struct db_device *v = NULL;
    size_t n = 0;
    int rc = dom_device_list(c->db, admin_query(c, "line"), &v, &n, &c->err);
    if (rc < 0)
        return rc;
    admin_list_begin(c);
    int64_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        /* ?q= matches the MAC, the line or the model (devices are few per line). */
        if (q.db.q && !strcasestr(v[i].mac, q.db.q) && !strcasestr(v[i].username, q.db.q) &&
            !strcasestr(v[i].model, q.db.q))
            continue;
        if (c->who.reseller && admin_line_scope(c, v[i].line_id) < 0) {
            dom_error_reset(&c->err); /* not the reseller's: not listed */
            continue;
        }
        if (shown++ >= q.db.offset && shown <= q.db.offset + q.db.limit)
            dom_device_write_json(&c->w, &v[i]);
    }
    admin_list_end(c, &q, shown);
    free(v);
    return 0;
}

static int devices_get(struct admin_call *c)
{
    int64_t id;
    if (admin_param_id(c, 0, "device", &id))
        return -ENOENT;
    struct db_device d;
    int rc = admin_device_scope(c, id);
    if (rc == 0)
        rc = dom_device_get(c->db, id, &d, &c->err);
    if (rc == 0) {
        dom_device_write_json(&c->w, &d);
        admin_set_etag(c);
    }
    return rc;
}

static char *device_text(const struct db_device *d)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    struct jsonw w;
    jsonw_init(&w, &b);
    dom_device_write_json(&w, d);
    if (b.err) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, NULL);
}

static int devices_create(struct admin_call *c)
{
    static const char *const known[] = {"line_id", "username", "mac", "model", NULL};
    struct dom_device_in in = {0};
    long long line_id = 0;
    bool has;
    if (admin_json_known(c, known) || admin_json_int(c, "line_id", &line_id, &has) ||
        admin_json_str(c, "username", &in.username, &has) ||
        admin_json_str(c, "mac", &in.mac, &has) || admin_json_str(c, "model", &in.model, &has))
        return -EINVAL;
    in.line_id = line_id;
    int64_t id = 0;
    struct db_device d;
    char *after = NULL;
    int rc = dom_begin(c->db, &c->err);
    if (rc)
        return rc;
    if ((rc = dom_device_add(c->db, &in, &id, &c->err)) ||
        (rc = dom_device_get(c->db, id, &d, &c->err)))
        goto rollback;
    if (c->who.reseller && admin_line_scope(c, d.line_id) < 0) {
        /* a line outside the reseller's subtree is as unknown as a missing one */
        dom_error_reset(&c->err);
        dom_err_set(&c->err, 422, DOM_E_REFERENCE, "no such line");
        dom_err_field(&c->err, in.line_id ? "line_id" : "username", "not_found", "no such line");
        rc = -EINVAL;
        goto rollback;
    }
    if (!(after = device_text(&d))) {
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising a device");
        goto rollback;
    }
    if ((rc = admin_answer_change(c, "create", "device", id, NULL, after)) ||
        (rc = dom_commit(c->db, &c->err)))
        goto rollback;
    free(after);
    snprintf(c->location, sizeof(c->location), "/api/v1/devices/%lld", (long long)id);
    return 0;
rollback:
    dom_rollback(c->db);
    buf_reset(&c->out);
    c->etag[0] = '\0';
    free(after);
    return rc;
}

static int devices_delete(struct admin_call *c)
{
    int64_t id;
    if (admin_param_id(c, 0, "device", &id))
        return -ENOENT;
    struct db_device d;
    char *before = NULL;
    int rc = admin_device_scope(c, id);
    if (rc < 0 || (rc = dom_begin(c->db, &c->err)) < 0)
        return rc;
    if ((rc = dom_device_get(c->db, id, &d, &c->err)))
        goto rollback;
    if (!(before = device_text(&d))) {
        rc = dom_err_internal(&c->err, -ENOMEM, "serialising a device");
        goto rollback;
    }
    if ((rc = dom_device_delete(c->db, id, &c->err)) ||
        (rc = admin_audit(c, "delete", "device", id, before, NULL)) ||
        (rc = dom_commit(c->db, &c->err)))
        goto rollback;
    admin_notify_change(c, "device", id, "delete");
    free(before);
    return 0;
rollback:
    dom_rollback(c->db);
    free(before);
    return rc;
}

static const struct admin_route_ext ext_list = {
    .work = devices_list, .list = true, .filters = filters};
static const struct admin_route_ext ext_get = {.work = devices_get};
static const struct admin_route_ext ext_create = {.work = devices_create};
static const struct admin_route_ext ext_delete = {.work = devices_delete};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/devices", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "List MAC-bound devices (MAG boxes; ?line=USERNAME filters, q searches MAC, line, model)",
     "devices", NULL, "DeviceList", 200, &ext_list},
    {ROUTE_POST, "/api/v1/devices", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Bind a device to a line by MAC (normalised to upper case with colons)", "devices",
     "DeviceCreate", "Device", 201, &ext_create},
    {ROUTE_GET, "/api/v1/devices/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Read a device", "devices", NULL, "Device", 200, &ext_get},
    {ROUTE_DELETE, "/api/v1/devices/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "lines:write",
     "Unbind a device (the box is refused at the portal from the next snapshot)", "devices", NULL,
     NULL, 204, &ext_delete},
};

static const struct admin_schema schemas[] = {
    {"Device", "{\"type\":\"object\",\"additionalProperties\":false,"
               "\"required\":[\"id\",\"line_id\",\"username\",\"mac\",\"model\",\"last_seen\","
               "\"created_at\"],"
               "\"properties\":{\"id\":{\"type\":\"integer\"},\"line_id\":{\"type\":\"integer\"},"
               "\"username\":{\"type\":\"string\"},"
               "\"mac\":{\"type\":\"string\",\"pattern\":\"^([0-9A-F]{2}:){5}[0-9A-F]{2}$\"},"
               "\"model\":{\"type\":\"string\"},"
               "\"last_seen\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"},"
               "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"}}}"},
    {"DeviceCreate",
     "{\"type\":\"object\",\"required\":[\"mac\"],"
     "\"description\":\"the line by line_id or username; mac as 00:1A:79:12:34:56, "
     "00-1a-79-12-34-56 or 001A79123456\","
     "\"examples\":[{\"line_id\":1,\"mac\":\"00:1a:79:00:00:01\",\"model\":\"MAG250\"}],"
     "\"properties\":{\"line_id\":{\"type\":\"integer\",\"minimum\":1},"
     "\"username\":{\"type\":\"string\",\"minLength\":1},"
     "\"mac\":{\"type\":\"string\",\"minLength\":12,\"maxLength\":17},"
     "\"model\":{\"type\":\"string\",\"maxLength\":63}}}"},
    {"DeviceList",
     "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"page\",\"page_size\"],"
     "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/"
     "Device\"}},\"total\":{\"type\":\"integer\"},\"page\":{\"type\":\"integer\"},"
     "\"page_size\":{\"type\":\"integer\"}}}"},
};

const struct admin_resource admin_res_devices = {"devices", routes,
                                                 sizeof(routes) / sizeof(routes[0]), schemas,
                                                 sizeof(schemas) / sizeof(schemas[0])};
