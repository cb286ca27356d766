/*
 * access.c: access control (issue 13) — a line's rules
 * (/api/v1/lines/{id}/access: read, merge-patch, reset of the first IP and
 * the attack flag), the global rules (/api/v1/access/rules), the bans
 * (/api/v1/access/bans: list, lift) and the refusal log
 * (/api/v1/access/refusals: newest first, filtered). Rules are
 * domain/access.c's; what the loop holds (a lifted ban, a reset line) is
 * told in post() (auth/access.h), the rest arrives with the next snapshot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/call.h"
#include "admin/resource.h"
#include "api/api.h"
#include "auth/access.h"
#include "core/ipnet.h"
#include "domain/access.h"
#include "domain/tx.h"

static int line_access_write(struct admin_call *c, int64_t id)
{
    struct db_line_access a;
    int rc = dom_line_access_get(c->db, id, &a, &c->err);
    if (rc)
        return rc;
    dom_line_access_write_json(&c->w, id, &a);
    db_line_access_clear(&a);
    admin_set_etag(c);
    return 0;
}

static int line_access_get(struct admin_call *c)
{
    int64_t id;
    int rc = admin_param_id(c, 0, "line", &id);
    if (rc == 0)
        rc = admin_line_scope(c, id);
    return rc ? rc : line_access_write(c, id);
}

/* A JSON array of strings into a heap vector of borrowed strings. */
static int str_array(struct admin_call *c, const char *key, bool *has, const char ***out, size_t *n)
{
    json_t *v = c->json ? json_object_get(c->json, key) : NULL;
    *has = v != NULL;
    *out = NULL;
    *n = 0;
    if (!v)
        return 0;
    if (!json_is_array(v))
        return dom_err_field(&c->err, key, "type", "an array of strings");
    size_t len = json_array_size(v);
    if (len > DOM_ACCESS_LIST_MAX)
        return dom_err_field(&c->err, key, "too_long", "at most %d entries", DOM_ACCESS_LIST_MAX);
    const char **vec = calloc(len ? len : 1, sizeof(*vec));
    if (!vec)
        return dom_err_internal(&c->err, -ENOMEM, "reading the body");
    for (size_t i = 0; i < len; i++) {
        json_t *s = json_array_get(v, i);
        if (!json_is_string(s)) {
            char f[48];
            snprintf(f, sizeof(f), "%s[%zu]", key, i);
            free(vec);
            return dom_err_field(&c->err, f, "type", "a string");
        }
        vec[i] = json_string_value(s);
    }
    *out = vec;
    *n = len;
    return 0;
}

static int line_access_patch(struct admin_call *c)
{
    static const char *const known[] = {"allowed_ips",
                                        "lock_first_ip",
                                        "max_daily_ips",
                                        "allowed_user_agents",
                                        "denied_user_agents",
                                        "allowed_countries",
                                        "denied_countries",
                                        "is_mag",
                                        NULL};
    int64_t id;
    int rc = admin_param_id(c, 0, "line", &id);
    if (rc == 0)
        rc = admin_line_scope(c, id);
    if (rc)
        return rc;
    if (admin_json_known(c, known))
        return -EINVAL;
    struct dom_line_access_in in;
    dom_line_access_in_init(&in);
    const char **v[5] = {0};
    rc = str_array(c, "allowed_ips", &in.has_allowed_ips, &v[0], &in.n_allowed_ips);
    if (!rc)
        rc = str_array(c, "allowed_user_agents", &in.has_allowed_uas, &v[1], &in.n_allowed_uas);
    if (!rc)
        rc = str_array(c, "denied_user_agents", &in.has_denied_uas, &v[2], &in.n_denied_uas);
    if (!rc)
        rc = str_array(c, "allowed_countries", &in.has_allowed_countries, &v[3],
                       &in.n_allowed_countries);
    if (!rc)
        rc = str_array(c, "denied_countries", &in.has_denied_countries, &v[4],
                       &in.n_denied_countries);
    in.allowed_ips = v[0];
    in.allowed_uas = v[1];
    in.denied_uas = v[2];
    in.allowed_countries = v[3];
    in.denied_countries = v[4];
    bool has, lock;
    long long daily;
    if (!rc && !(rc = admin_json_bool(c, "lock_first_ip", &lock, &has)) && has)
        in.lock_first_ip = lock;
    bool mag;
    if (!rc && !(rc = admin_json_bool(c, "is_mag", &mag, &has)) && has)
        in.is_mag = mag;
    if (!rc && !(rc = admin_json_int(c, "max_daily_ips", &daily, &has)) && has) {
        if (daily < 0)
            rc = dom_err_field(&c->err, "max_daily_ips", "range", "0 (no cap) to %d",
                               DOM_ACCESS_DAILY_MAX);
        else
            in.max_daily_ips = daily;
    }
    if (!rc)
        rc = dom_line_access_put(c->db, id, &in, c->now, &c->err);
    for (int i = 0; i < 5; i++)
        free(v[i]);
    if (rc)
        return rc;
    admin_notify_change(c, "line", id, "update");
    return line_access_write(c, id);
}

static int line_access_reset(struct admin_call *c)
{
    int64_t id;
    int rc = admin_param_id(c, 0, "line", &id);
    if (rc || (rc = admin_line_scope(c, id)) ||
        (rc = dom_line_access_reset(c->db, id, c->now, &c->err)))
        return rc;
    int64_t *st = malloc(sizeof(*st));
    if (st) {
        *st = id;
        c->state = st;
        c->state_free = free;
    }
    admin_notify_change(c, "line", id, "update");
    return line_access_write(c, id);
}

static void line_access_reset_post(struct admin_call *c)
{
    struct api *api = admin_api(c->admin);
    if (api && c->state && !c->err.status)
        access_line_reset(api_access(api), *(int64_t *)c->state, c->now);
}

/* ---- global rules ---- */

static void write_geoip(struct admin_call *c)
{
    struct api *api = admin_api(c->admin);
    bool on = api && access_geoip_enabled(api_access(api));
    jsonw_key(&c->w, "country_rules_enabled");
    jsonw_bool(&c->w, on);
    jsonw_key(&c->w, "country_rules_note");
    jsonw_str(&c->w, on ? "a country database is loaded"
                        : "no country database (serve --geoip-db PATH): country rules are "
                          "stored but not enforced");
}

static int rules_list(struct admin_call *c)
{
    const char *kind = admin_query(c, "kind");
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "items");
    int rc = dom_access_rules_json(c->db, kind, &c->w, &c->err);
    if (rc)
        return rc;
    write_geoip(c);
    jsonw_obj_end(&c->w);
    return 0;
}

static int rules_create(struct admin_call *c)
{
    static const char *const known[] = {"kind", "value", "note", NULL};
    const char *kind = NULL, *value = NULL, *note = NULL;
    bool has;
    if (admin_json_known(c, known) || admin_json_str(c, "kind", &kind, &has) ||
        admin_json_str(c, "value", &value, &has) || admin_json_str(c, "note", &note, &has))
        return -EINVAL;
    if (!kind)
        return dom_err_field(&c->err, "kind", "required", "a rule kind is required");
    int64_t id;
    int rc = dom_begin(c->db, &c->err);
    if (rc)
        return rc;
    if ((rc = dom_access_rule_add(c->db, kind, value, note, c->now, &id, &c->err)) ||
        (rc = admin_audit(c, "create", "access_rule", id, NULL, NULL)) ||
        (rc = dom_commit(c->db, &c->err))) {
        dom_rollback(c->db);
        return rc;
    }
    char canon[DOM_ACCESS_UA_MAX + 1];
    struct dom_error e = {0};
    dom_access_rule_check(kind, value, canon, sizeof(canon), &e);
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "id");
    jsonw_int(&c->w, id);
    jsonw_key(&c->w, "kind");
    jsonw_str(&c->w, kind);
    jsonw_key(&c->w, "value");
    jsonw_str(&c->w, canon);
    jsonw_key(&c->w, "note");
    jsonw_str(&c->w, note ? note : "");
    admin_write_time(&c->w, "created_at", c->now, false);
    jsonw_obj_end(&c->w);
    snprintf(c->location, sizeof(c->location), "/api/v1/access/rules/%lld", (long long)id);
    admin_notify_change(c, "access_rule", id, "create");
    return 0;
}

static int rules_delete(struct admin_call *c)
{
    int64_t id;
    int rc = admin_param_id(c, 0, "access rule", &id);
    if (rc)
        return rc;
    if ((rc = dom_begin(c->db, &c->err)))
        return rc;
    if ((rc = dom_access_rule_del(c->db, id, &c->err)) ||
        (rc = admin_audit(c, "delete", "access_rule", id, NULL, NULL)) ||
        (rc = dom_commit(c->db, &c->err))) {
        dom_rollback(c->db);
        return rc;
    }
    admin_notify_change(c, "access_rule", id, "delete");
    return 0;
}

/* ---- bans ---- */

static int bans_list(struct admin_call *c)
{
    const char *all = admin_query(c, "all");
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "items");
    int rc = dom_bans_json(c->db, all && strcmp(all, "1") == 0, c->now, &c->w, &c->err);
    jsonw_obj_end(&c->w);
    return rc;
}

static int bans_delete(struct admin_call *c)
{
    const char *ip = c->nparams ? c->params[0] : NULL;
    char canon[IPNET_TEXT_MAX];
    if (dom_ban_check_ip("ip", ip, canon, sizeof(canon), &c->err))
        return -EINVAL;
    int rc = dom_begin(c->db, &c->err);
    if (rc)
        return rc;
    if ((rc = dom_ban_del(c->db, canon, &c->err)) ||
        (rc = admin_audit(c, "delete", "ban", 0, canon, NULL)) ||
        (rc = dom_commit(c->db, &c->err))) {
        dom_rollback(c->db);
        return rc;
    }
    char *st = strdup(canon);
    if (st) {
        c->state = st;
        c->state_free = free;
    }
    return 0;
}

static void bans_delete_post(struct admin_call *c)
{
    struct api *api = admin_api(c->admin);
    if (api && c->state && !c->err.status)
        access_unban(api_access(api), c->state, c->now);
}

static int flagged_list(struct admin_call *c)
{
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "items");
    int rc = dom_flagged_lines_json(c->db, &c->w, &c->err);
    jsonw_obj_end(&c->w);
    return rc;
}

/* ---- refusals ---- */

static int refusals_list(struct admin_call *c)
{
    struct db_refusal_filter f = {
        .ip = admin_query(c, "ip"),
        .reason = admin_query(c, "reason"),
        .username = admin_query(c, "username"),
        .limit = 100,
    };
    f.line_id = admin_query_id(c, "line_id");
    f.before_id = admin_query_id(c, "before_id");
    const char *since = admin_query(c, "since");
    if (since && admin_parse_time(c, "since", since, true, &f.since))
        return -EINVAL;
    const char *limit = admin_query(c, "limit");
    if (limit) {
        char *end;
        long v = strtol(limit, &end, 10);
        if (end == limit || *end || v < 1 || v > 1000)
            return dom_err_field(&c->err, "limit", "range", "1-1000");
        f.limit = v;
    }
    if (c->err.status)
        return -EINVAL;
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "items");
    int rc = dom_refusals_json(c->db, &f, &c->w, &c->err);
    jsonw_obj_end(&c->w);
    return rc;
}

static const char *const rule_filters[] = {"kind", NULL};
static const char *const ban_filters[] = {"all", NULL};
static const char *const refusal_filters[] = {"ip",    "reason",    "username", "line_id",
                                              "since", "before_id", "limit",    NULL};

static const struct admin_route_ext ext_la_get = {.work = line_access_get};
static const struct admin_route_ext ext_la_patch = {.work = line_access_patch};
static const struct admin_route_ext ext_la_reset = {.work = line_access_reset,
                                                    .post = line_access_reset_post};
static const struct admin_route_ext ext_rules = {.work = rules_list, .filters = rule_filters};
static const struct admin_route_ext ext_rule_new = {.work = rules_create};
static const struct admin_route_ext ext_rule_del = {.work = rules_delete};
static const struct admin_route_ext ext_bans = {.work = bans_list, .filters = ban_filters};
static const struct admin_route_ext ext_ban_del = {.work = bans_delete, .post = bans_delete_post};
static const struct admin_route_ext ext_flagged = {.work = flagged_list};
static const struct admin_route_ext ext_refusals = {.work = refusals_list,
                                                    .filters = refusal_filters};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/lines/{id}/access", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Read a line's access rules (addresses, first IP lock, IPs per day, user agents, "
     "countries)",
     "access", NULL, "LineAccess", 200, &ext_la_get},
    {ROUTE_PATCH, "/api/v1/lines/{id}/access", admin_route_fn, NULL, ROUTE_AUTH_ADMIN,
     "lines:write", "Change a line's access rules (members left out are kept)", "access",
     "LineAccessPatch", "LineAccess", 200, &ext_la_patch},
    {ROUTE_POST, "/api/v1/lines/{id}/access/reset", admin_route_fn, NULL, ROUTE_AUTH_ADMIN,
     "lines:write",
     "Forget a line's recorded first IP, its attack flag and today's IPs (the next address "
     "becomes the first)",
     "access", NULL, "LineAccess", 200, &ext_la_reset},
    {ROUTE_GET, "/api/v1/access/rules", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "List the global access rules, and whether country rules are enforced", "access", NULL,
     "AccessRuleList", 200, &ext_rules},
    {ROUTE_POST, "/api/v1/access/rules", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Add a global access rule (ip_deny, trusted_proxy, ua_allow, ua_deny, country_allow, "
     "country_deny)",
     "access", "AccessRuleNew", "AccessRule", 201, &ext_rule_new},
    {ROUTE_DELETE, "/api/v1/access/rules/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Delete a global access rule", "access", NULL, NULL, 204, &ext_rule_del},
    {ROUTE_GET, "/api/v1/access/bans", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "List IP bans (active ones; all=1: also ended ones kept for their strikes)", "access", NULL,
     "BanList", 200, &ext_bans},
    {ROUTE_DELETE, "/api/v1/access/bans/{ip}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Lift a ban (the address, or an IPv6 /64 URL-encoded) and forget its strikes", "access", NULL,
     NULL, 204, &ext_ban_del},
    {ROUTE_GET, "/api/v1/access/flagged", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Lines flagged because many addresses failed to log in to them (reset: POST "
     "/lines/{id}/access/reset)",
     "access", NULL, "FlaggedList", 200, &ext_flagged},
    {ROUTE_GET, "/api/v1/access/refusals", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "The refusal log, newest first (filters ip, reason, username, line_id, since; "
     "before_id pages; limit 1-1000, default 100)",
     "access", NULL, "RefusalList", 200, &ext_refusals},
};

#define STR_ARRAY    "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}"
#define TIME_OR_NULL "{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"}"

static const struct admin_schema schemas[] = {
    {"LineAccess",
     "{\"type\":\"object\",\"required\":[\"line_id\",\"is_mag\",\"allowed_ips\",\"lock_first_ip\","
     "\"first_ip\",\"max_daily_ips\",\"allowed_user_agents\",\"denied_user_agents\","
     "\"allowed_countries\",\"denied_countries\",\"attack_flagged_at\"],\"properties\":{"
     "\"line_id\":{\"type\":\"integer\"},\"is_mag\":{\"type\":\"boolean\"},"
     "\"allowed_ips\":" STR_ARRAY ",\"lock_first_ip\":{\"type\":\"boolean\"},"
     "\"first_ip\":{\"type\":[\"string\",\"null\"]},"
     "\"max_daily_ips\":{\"type\":\"integer\",\"minimum\":0},"
     "\"allowed_user_agents\":" STR_ARRAY ",\"denied_user_agents\":" STR_ARRAY
     ",\"allowed_countries\":" STR_ARRAY ",\"denied_countries\":" STR_ARRAY
     ",\"attack_flagged_at\":" TIME_OR_NULL "}}"},
    {"LineAccessPatch",
     "{\"type\":\"object\",\"additionalProperties\":false,\"examples\":[{\"allowed_ips\":"
     "[\"127.0.0.0/8\",\"::1\"],\"max_daily_ips\":5,\"denied_user_agents\":[\"*curl*\"]}],"
     "\"properties\":{\"is_mag\":{\"type\":\"boolean\"},"
     "\"allowed_ips\":" STR_ARRAY ",\"lock_first_ip\":{\"type\":\"boolean\"},"
     "\"max_daily_ips\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000},"
     "\"allowed_user_agents\":" STR_ARRAY ",\"denied_user_agents\":" STR_ARRAY
     ",\"allowed_countries\":" STR_ARRAY ",\"denied_countries\":" STR_ARRAY "}}"},
    {"AccessRule",
     "{\"type\":\"object\",\"required\":[\"id\",\"kind\",\"value\",\"note\",\"created_at\"],"
     "\"properties\":{\"id\":{\"type\":\"integer\"},\"kind\":{\"enum\":[\"ip_deny\","
     "\"trusted_proxy\",\"ua_allow\",\"ua_deny\",\"country_allow\",\"country_deny\"]},"
     "\"value\":{\"type\":\"string\"},\"note\":{\"type\":\"string\"},"
     "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"}}}"},
    {"AccessRuleNew",
     "{\"type\":\"object\",\"required\":[\"kind\",\"value\"],\"additionalProperties\":false,"
     "\"examples\":[{\"kind\":\"ip_deny\",\"value\":\"198.51.100.0/24\",\"note\":\"abuse\"}],"
     "\"properties\":{\"kind\":{\"enum\":[\"ip_deny\",\"trusted_proxy\",\"ua_allow\","
     "\"ua_deny\",\"country_allow\",\"country_deny\"]},\"value\":{\"type\":\"string\","
     "\"minLength\":1,\"maxLength\":255},\"note\":{\"type\":\"string\",\"maxLength\":255}}}"},
    {"AccessRuleList",
     "{\"type\":\"object\",\"required\":[\"items\",\"country_rules_enabled\"],\"properties\":{"
     "\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/AccessRule\"}},"
     "\"country_rules_enabled\":{\"type\":\"boolean\"},\"country_rules_note\":{\"type\":"
     "\"string\"}}}"},
    {"BanList",
     "{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":"
     "\"array\",\"items\":{\"type\":\"object\",\"required\":[\"ip\",\"until\",\"strikes\","
     "\"active\"],\"properties\":{\"ip\":{\"type\":\"string\"},\"until\":" TIME_OR_NULL
     ",\"strikes\":{\"type\":\"integer\"},\"reason\":{\"type\":\"string\"},\"created_"
     "at\":" TIME_OR_NULL ",\"updated_at\":" TIME_OR_NULL
     ",\"active\":{\"type\":\"boolean\"}}}}}}"},
    {"FlaggedList",
     "{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":"
     "\"array\",\"items\":{\"type\":\"object\",\"required\":[\"line_id\",\"username\","
     "\"attack_flagged_at\"],\"properties\":{\"line_id\":{\"type\":\"integer\"},\"username\":"
     "{\"type\":\"string\"},\"attack_flagged_at\":" TIME_OR_NULL "}}}}}"},
    {"RefusalList",
     "{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":"
     "\"array\",\"items\":{\"type\":\"object\",\"required\":[\"id\",\"at\",\"ip\",\"reason\"],"
     "\"properties\":{\"id\":{\"type\":\"integer\"},\"at\":" TIME_OR_NULL
     ",\"line_id\":{\"type\":[\"integer\",\"null\"]},\"username\":{\"type\":\"string\"},"
     "\"ip\":{\"type\":\"string\"},\"user_agent\":{\"type\":\"string\"},\"route\":{\"type\":"
     "\"string\"},\"reason\":{\"enum\":[\"IP_NOT_ALLOWED\",\"IP_DENIED\",\"IP_LOCKED\","
     "\"TOO_MANY_IPS\",\"UA_BLOCKED\",\"COUNTRY_BLOCKED\",\"BANNED_IP\",\"RATE_LIMITED\","
     "\"MAC_UNKNOWN\",\"URL_EXPIRED\",\"DEVICE_NOT_ALLOWED\"]},"
     "\"detail\":{\"type\":\"string\"}}}}}}"},
};

const struct admin_resource admin_res_access = {"access", routes,
                                                sizeof(routes) / sizeof(routes[0]), schemas,
                                                sizeof(schemas) / sizeof(schemas[0])};
