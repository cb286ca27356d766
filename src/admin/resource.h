/*
 * admin/resource: what one resource file of the admin API (lines.c,
 * streams.c ...) contributes: its routes (all under /api/v1, with
 * struct admin_route_ext phases in route->ext) and the JSON Schemas its routes
 * name as request/response. admin.c registers every resource listed in
 * admin_resources[] as a router group; openapi.c documents the same tables.
 */
#ifndef XTREAMD_ADMIN_RESOURCE_H
#define XTREAMD_ADMIN_RESOURCE_H

#include <stddef.h>

#include "admin/admin.h"
#include "http/router.h"

struct admin_schema {
    const char *name; /* "Line", "LineCreate", "LinePatch" */
    const char *json; /* a JSON Schema (2020-12) object, as text */
};

struct admin_resource {
    const char *name; /* the OpenAPI tag */
    const struct route *routes;
    size_t nroutes;
    const struct admin_schema *schemas;
    size_t nschemas;
};

/* Every resource, NULL-terminated (admin.c). */
extern const struct admin_resource *const admin_resources[];

#endif
