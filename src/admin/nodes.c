/*
 * nodes.c: /api/v1/nodes — the nodes of a cluster (docs/internals/cluster.md). List and read
 * every node with its health (from node_status, ages on the database's clock), change a node's
 * caps, delete it, drain / fence / activate it (audited; the node is told at once by NOTIFY
 * node_<id>), make one-time enrolment codes, and the enrolment itself (authenticated by the code
 * only: an edge has no account).
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/call.h"
#include "admin/resource.h"
#include "cluster/node.h"
#include "domain/nodes.h"
#include "domain/tx.h"

#define ENROL_CODE_TTL DOM_ENROL_CODE_TTL

static void write_node(struct jsonw *w, const struct db_node *n)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, n->id);
    jsonw_key(w, "name");
    jsonw_str(w, n->name);
    jsonw_key(w, "role");
    jsonw_str(w, n->role);
    jsonw_key(w, "public_url");
    jsonw_str(w, n->public_url);
    jsonw_key(w, "state");
    jsonw_str(w, n->state);
    bool fresh = n->has_status && n->age_ms < CLUSTER_FRESH_MS;
    jsonw_key(w, "health");
    jsonw_str(w, fresh ? "fresh" : "offline");
    jsonw_key(w, "fresh");
    jsonw_bool(w, fresh);
    jsonw_key(w, "last_seen_age_ms");
    if (n->has_status)
        jsonw_int(w, n->age_ms < 0 ? 0 : n->age_ms);
    else
        jsonw_null(w);
    admin_write_time(w, "last_seen_at", n->has_status ? n->seen_at : 0, true);
    jsonw_key(w, "viewers");
    jsonw_int(w, n->sessions);
    jsonw_key(w, "sessions");
    jsonw_int(w, n->active_sessions);
    jsonw_key(w, "egress_bps");
    jsonw_int(w, n->egress_bps);
    jsonw_key(w, "ingress_bps");
    jsonw_int(w, n->ingress_bps);
    jsonw_key(w, "cpu_pct");
    jsonw_num(w, n->cpu_pct, 1);
    jsonw_key(w, "mem_bytes");
    jsonw_int(w, n->mem_bytes);
    jsonw_key(w, "channels_running");
    jsonw_int(w, n->channels_running);
    jsonw_key(w, "clock_skew_ms");
    jsonw_int(w, n->skew_ms);
    jsonw_key(w, "heartbeats");
    jsonw_int(w, n->seq);
    jsonw_key(w, "max_sessions");
    jsonw_int(w, n->max_sessions);
    jsonw_key(w, "max_egress_mbps");
    jsonw_int(w, n->max_egress_mbps);
    jsonw_key(w, "weight");
    jsonw_int(w, n->weight);
    jsonw_key(w, "countries");
    jsonw_str(w, n->countries);
    jsonw_key(w, "geo_mode");
    jsonw_str(w, n->geo_mode);
    jsonw_key(w, "pubkey");
    jsonw_str(w, n->pubkey);
    jsonw_key(w, "version");
    jsonw_str(w, n->version);
    admin_write_time(w, "enrolled_at", n->enrolled_at, true);
    jsonw_obj_end(w);
}

static char *node_text(const struct db_node *n)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    struct jsonw w;
    jsonw_init(&w, &b);
    write_node(&w, n);
    if (b.err) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, NULL);
}

static int nodes_list(struct admin_call *c)
{
    struct db_node *rows;
    size_t n;
    int rc = dom_nodes_list(c->db, &rows, &n);
    if (rc)
        return dom_err_internal(&c->err, rc, "reading the nodes");
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "items");
    jsonw_arr_begin(&c->w);
    for (size_t i = 0; i < n; i++)
        write_node(&c->w, &rows[i]);
    jsonw_arr_end(&c->w);
    jsonw_key(&c->w, "total");
    jsonw_int(&c->w, (int64_t)n);
    jsonw_obj_end(&c->w);
    free(rows);
    return 0;
}

static int load(struct admin_call *c, int64_t *id, struct db_node *n)
{
    int rc = admin_param_id(c, 0, "node", id);
    if (rc)
        return rc;
    rc = dom_node_get(c->db, *id, n);
    if (rc == -ENOENT)
        return dom_err_set(&c->err, 404, DOM_E_NOT_FOUND, "no such node");
    if (rc)
        return dom_err_internal(&c->err, rc, "reading a node");
    return 0;
}

static int node_get(struct admin_call *c)
{
    int64_t id;
    struct db_node n;
    int rc = load(c, &id, &n);
    if (rc)
        return rc;
    write_node(&c->w, &n);
    admin_set_etag(c);
    return 0;
}

#define NODE_SESSIONS_MAX 10000 /* rows one answer lists (truncated says more exist) */

/* GET /nodes/{id}/sessions[?line_id=N]: the node's active cluster sessions (the rows the
 * main's admission counts), oldest first. */
static int node_sessions(struct admin_call *c)
{
    int64_t id;
    struct db_node n;
    int rc = load(c, &id, &n);
    if (rc)
        return rc;
    int64_t line_id = admin_query_id(c, "line_id"); /* 0: every line */
    if (c->err.status)
        return -EINVAL;
    struct db_csession_row *rows;
    size_t cnt;
    rc = dom_node_sessions(c->db, id, line_id, NODE_SESSIONS_MAX + 1, &rows, &cnt);
    if (rc)
        return dom_err_internal(&c->err, rc, "reading the node's sessions");
    bool truncated = cnt > NODE_SESSIONS_MAX;
    if (truncated)
        cnt = NODE_SESSIONS_MAX;
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "items");
    jsonw_arr_begin(&c->w);
    for (size_t i = 0; i < cnt; i++) {
        const struct db_csession_row *r = &rows[i];
        jsonw_obj_begin(&c->w);
        jsonw_key(&c->w, "id");
        jsonw_str(&c->w, r->id);
        jsonw_key(&c->w, "line_id");
        jsonw_int(&c->w, r->line_id);
        jsonw_key(&c->w, "stream_id");
        jsonw_int(&c->w, r->stream_id);
        jsonw_key(&c->w, "kind");
        jsonw_str(&c->w, r->kind);
        jsonw_key(&c->w, "ip");
        jsonw_str(&c->w, r->ip);
        admin_write_time(&c->w, "started_at", r->started_at, true);
        admin_write_time(&c->w, "last_seen_at", r->last_seen_at, true);
        jsonw_obj_end(&c->w);
    }
    jsonw_arr_end(&c->w);
    jsonw_key(&c->w, "total");
    jsonw_int(&c->w, (int64_t)cnt);
    jsonw_key(&c->w, "truncated");
    jsonw_bool(&c->w, truncated);
    jsonw_obj_end(&c->w);
    free(rows);
    return 0;
}

static bool countries_ok(const char *s)
{
    /* "" or ISO codes "FR,DE": two upper-case letters separated by commas. */
    size_t n = strlen(s);
    if (n == 0)
        return true;
    if (n > 62 || n % 3 != 2)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool sep = i % 3 == 2;
        if (sep ? s[i] != ',' : !(s[i] >= 'A' && s[i] <= 'Z'))
            return false;
    }
    return true;
}

static int node_patch(struct admin_call *c)
{
    static const char *const known[] = {"max_sessions", "max_egress_mbps", "weight",
                                        "countries",    "geo_mode",        NULL};
    int64_t id;
    struct db_node n;
    int rc = dom_begin(c->db, &c->err);
    if (rc)
        return rc;
    char *before = NULL, *after = NULL;
    if ((rc = load(c, &id, &n)))
        goto rollback;
    if ((rc = admin_json_known(c, known)))
        goto rollback;
    long long v;
    bool has;
    const char *s;
    struct {
        const char *key;
        int64_t *out;
        long long max;
    } ints[] = {{"max_sessions", &n.max_sessions, 10000000},
                {"max_egress_mbps", &n.max_egress_mbps, 10000000},
                {"weight", &n.weight, 10000}};
    for (size_t i = 0; i < 3; i++) {
        if (admin_json_int(c, ints[i].key, &v, &has) < 0)
            continue;
        if (has && (v < 0 || v > ints[i].max))
            dom_err_field(&c->err, ints[i].key, "range", "must be 0 to %lld", ints[i].max);
        else if (has)
            *ints[i].out = v;
    }
    if (admin_json_str(c, "countries", &s, &has) == 0 && has) {
        if (!s || !countries_ok(s))
            dom_err_field(&c->err, "countries", "format",
                          "comma-separated ISO country codes (\"FR,DE\") or \"\"");
        else
            snprintf(n.countries, sizeof(n.countries), "%s", s);
    }
    if (admin_json_str(c, "geo_mode", &s, &has) == 0 && has) {
        if (!s || cluster_geo_parse(s) < 0)
            dom_err_field(&c->err, "geo_mode", "format", "prefer, strict or avoid");
        else
            snprintf(n.geo_mode, sizeof(n.geo_mode), "%s", s);
    }
    if (c->err.status) {
        rc = -EINVAL;
        goto rollback;
    }
    struct db_node old;
    if ((rc = dom_node_get(c->db, id, &old)) || !(before = node_text(&old))) {
        rc = dom_err_internal(&c->err, rc ? rc : -ENOMEM, "reading a node");
        goto rollback;
    }
    if ((rc = dom_node_update_caps(c->db, &n)) || (rc = dom_node_get(c->db, id, &n)) ||
        !(after = node_text(&n))) {
        rc = dom_err_internal(&c->err, rc ? rc : -ENOMEM, "updating a node");
        goto rollback;
    }
    if ((rc = admin_answer_change(c, "update", "node", id, before, after)) ||
        (rc = dom_commit(c->db, &c->err)))
        goto rollback;
    goto out;
rollback:
    dom_rollback(c->db);
out:
    free(before);
    free(after);
    return rc;
}

static int node_delete(struct admin_call *c)
{
    int64_t id;
    struct db_node n;
    char *before = NULL;
    int rc = dom_begin(c->db, &c->err);
    if (rc)
        return rc;
    if ((rc = load(c, &id, &n)))
        goto rollback;
    if (strcmp(n.role, "main") == 0) {
        rc = dom_err_set(&c->err, 409, "NODE_IS_MAIN", "the main node cannot be deleted");
        goto rollback;
    }
    if (!(before = node_text(&n)) || (rc = dom_node_delete(c->db, id))) {
        rc = dom_err_internal(&c->err, rc ? rc : -ENOMEM, "deleting a node");
        goto rollback;
    }
    if ((rc = admin_audit(c, "delete", "node", id, before, NULL)) ||
        (rc = dom_commit(c->db, &c->err)))
        goto rollback;
    admin_notify_change(c, "node", id, "delete");
    free(before);
    return 0;
rollback:
    dom_rollback(c->db);
    free(before);
    return rc;
}

/* drain / fence / activate: the state, the audit row and the command in one transaction (the
 * NOTIFY is delivered at the commit). */
static int node_state(struct admin_call *c, const char *state, const char *action)
{
    int64_t id;
    struct db_node n;
    char *before = NULL, *after = NULL;
    int rc = dom_begin(c->db, &c->err);
    if (rc)
        return rc;
    if ((rc = load(c, &id, &n)))
        goto rollback;
    if (!(before = node_text(&n))) {
        rc = dom_err_internal(&c->err, -ENOMEM, "reading a node");
        goto rollback;
    }
    if ((rc = dom_node_set_state(c->db, id, state)) || (rc = dom_node_get(c->db, id, &n)) ||
        !(after = node_text(&n))) {
        rc = dom_err_internal(&c->err, rc ? rc : -ENOMEM, "changing a node's state");
        goto rollback;
    }
    if ((rc = admin_answer_change(c, action, "node", id, before, after)) ||
        (rc = dom_commit(c->db, &c->err)))
        goto rollback;
    goto out;
rollback:
    dom_rollback(c->db);
out:
    free(before);
    free(after);
    return rc;
}

static int node_drain(struct admin_call *c)
{
    return node_state(c, "draining", "drain");
}

static int node_fence(struct admin_call *c)
{
    return node_state(c, "fenced", "fence");
}

static int node_activate(struct admin_call *c)
{
    return node_state(c, "active", "activate");
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

static bool url_ok(const char *s)
{
    size_t n = strlen(s);
    return n < 256 &&
           ((strncmp(s, "http://", 7) == 0 && n > 7) || (strncmp(s, "https://", 8) == 0 && n > 8));
}

/* POST /api/v1/nodes/enrol-codes: a one-time code, shown once, stored hashed, valid 1 h. */
static int enrol_code(struct admin_call *c)
{
    const char *name = NULL;
    bool has = false;
    if (c->json) {
        static const char *const known[] = {"name", NULL};
        if (admin_json_known(c, known) || admin_json_str(c, "name", &name, &has))
            return -EINVAL;
        if (has && name && !name_ok(name))
            return dom_err_field(&c->err, "name", "format", "1-63 of A-Z a-z 0-9 . _ -");
    }
    char code[41] = "";
    int64_t expires = 0;
    int rc = dom_begin(c->db, &c->err);
    if (rc)
        return rc;
    char after[160];
    snprintf(after, sizeof(after), "{\"name\":\"%s\",\"expires_in\":%d}", has && name ? name : "",
             ENROL_CODE_TTL);
    if ((rc =
             dom_enrol_code_new(c->db, has ? name : "", c->who.username, c->now, code, &expires))) {
        rc = dom_err_internal(&c->err, rc, "storing an enrolment code");
        goto rollback;
    }
    if ((rc = admin_audit(c, "create", "node-enrol-code", 0, NULL, after)) ||
        (rc = dom_commit(c->db, &c->err)))
        goto rollback;
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "code");
    jsonw_str(&c->w, code);
    jsonw_key(&c->w, "name");
    jsonw_str(&c->w, has && name ? name : "");
    admin_write_time(&c->w, "expires_at", expires, false);
    jsonw_key(&c->w, "expires_in");
    jsonw_int(&c->w, ENROL_CODE_TTL);
    jsonw_obj_end(&c->w);
    sodium_memzero(code, sizeof(code));
    return 0;
rollback:
    sodium_memzero(code, sizeof(code));
    dom_rollback(c->db);
    return rc;
}

/* POST /api/v1/nodes/enrol: authenticated by the code alone. */
static int enrol(struct admin_call *c)
{
    static const char *const known[] = {"code", "name", "public_url", "pubkey", "version", NULL};
    const char *code = NULL, *name = NULL, *url = NULL, *pubkey = NULL, *version = NULL;
    if (admin_json_known(c, known) || admin_json_str(c, "code", &code, NULL) ||
        admin_json_str(c, "name", &name, NULL) || admin_json_str(c, "public_url", &url, NULL) ||
        admin_json_str(c, "pubkey", &pubkey, NULL) || admin_json_str(c, "version", &version, NULL))
        return -EINVAL;
    unsigned char pk[32];
    size_t got = 0;
    if (!code || !*code)
        dom_err_field(&c->err, "code", "required", "the one-time enrolment code");
    if (!name || !name_ok(name))
        dom_err_field(&c->err, "name", "format", "1-63 of A-Z a-z 0-9 . _ -");
    if (!url || !url_ok(url))
        dom_err_field(&c->err, "public_url", "format", "an http(s) URL of at most 255 bytes");
    if (!pubkey ||
        sodium_base642bin(pk, sizeof(pk), pubkey, strlen(pubkey), NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != 32)
        dom_err_field(&c->err, "pubkey", "format", "a base64 Ed25519 public key");
    if (c->err.status)
        return -EINVAL;
    char *token = NULL, *dburl = NULL;
    int rc = dom_cluster_setting(c->db, "cluster_token_pubkey", &token);
    if (rc == -ENOENT)
        return dom_err_set(&c->err, 409, "NOT_A_CLUSTER",
                           "this server is not a cluster main (serve --cluster-role main)");
    if (rc)
        return dom_err_internal(&c->err, rc, "reading the cluster settings");
    if ((rc = dom_cluster_setting(c->db, "cluster_database_url", &dburl))) {
        free(token);
        return dom_err_internal(&c->err, rc, "reading the cluster settings");
    }
    int64_t id = 0;
    if ((rc = dom_begin(c->db, &c->err)))
        goto out;
    rc = dom_enrol_code_take(c->db, code, name, c->now);
    if (rc == -ENOENT) {
        rc = dom_err_set(&c->err, 403, "BAD_ENROL_CODE",
                         "the enrolment code is wrong, used or expired");
        goto rollback;
    }
    if (rc) {
        rc = dom_err_internal(&c->err, rc, "checking the enrolment code");
        goto rollback;
    }
    struct db_node n = {0};
    snprintf(n.name, sizeof(n.name), "%s", name);
    snprintf(n.role, sizeof(n.role), "edge");
    snprintf(n.public_url, sizeof(n.public_url), "%s", url);
    snprintf(n.pubkey, sizeof(n.pubkey), "%s", pubkey);
    snprintf(n.version, sizeof(n.version), "%.31s", version ? version : "");
    rc = dom_node_insert(c->db, &n, c->now, &id);
    if (rc == -EEXIST) {
        rc = dom_err_set(&c->err, 409, DOM_E_EXISTS, "a node named %s exists already", name);
        goto rollback;
    }
    if (rc) {
        rc = dom_err_internal(&c->err, rc, "adding the node");
        goto rollback;
    }
    char after[400];
    snprintf(after, sizeof(after), "{\"name\":\"%s\",\"public_url\":\"%s\",\"role\":\"edge\"}",
             name, url);
    snprintf(c->who.username, sizeof(c->who.username), "enrol:%s", name);
    if ((rc = admin_audit(c, "enrol", "node", id, NULL, after)) ||
        (rc = dom_commit(c->db, &c->err)))
        goto rollback;
    const char *colon = strchr(token, ':');
    jsonw_obj_begin(&c->w);
    jsonw_key(&c->w, "node_id");
    jsonw_int(&c->w, id);
    jsonw_key(&c->w, "name");
    jsonw_str(&c->w, name);
    jsonw_key(&c->w, "token_kid");
    jsonw_strn(&c->w, token, colon ? (size_t)(colon - token) : 0);
    jsonw_key(&c->w, "token_pubkey");
    jsonw_str(&c->w, colon ? colon + 1 : "");
    jsonw_key(&c->w, "database");
    jsonw_str(&c->w, dburl);
    jsonw_obj_end(&c->w);
    admin_notify_change(c, "node", id, "create");
    goto out;
rollback:
    dom_rollback(c->db);
out:
    free(token);
    if (dburl)
        sodium_memzero(dburl, strlen(dburl));
    free(dburl);
    return rc;
}

static const struct admin_route_ext ext_list = {.work = nodes_list};
static const struct admin_route_ext ext_get = {.work = node_get};
static const struct admin_route_ext ext_sessions = {.work = node_sessions};
static const struct admin_route_ext ext_patch = {.work = node_patch};
static const struct admin_route_ext ext_delete = {.work = node_delete};
static const struct admin_route_ext ext_drain = {.work = node_drain};
static const struct admin_route_ext ext_fence = {.work = node_fence};
static const struct admin_route_ext ext_activate = {.work = node_activate};
static const struct admin_route_ext ext_code = {.work = enrol_code};
static const struct admin_route_ext ext_enrol = {.work = enrol, .no_auth = true};

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/nodes", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "List the nodes of the cluster with their health (fresh = a heartbeat within 6 s)", "nodes",
     NULL, "NodeList", 200, &ext_list},
    {ROUTE_POST, "/api/v1/nodes/enrol-codes", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Make a one-time enrolment code (shown once, valid 1 h; optional name it is for)", "nodes",
     "EnrolCodeRequest", "EnrolCode", 201, &ext_code},
    {ROUTE_POST, "/api/v1/nodes/enrol", admin_route_fn, NULL, ROUTE_AUTH_NONE, NULL,
     "Enrol an edge (xtreamd node enrol): authenticated by a one-time code only", "nodes",
     "EnrolRequest", "Enrolment", 201, &ext_enrol},
    {ROUTE_GET, "/api/v1/nodes/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "Read a node and its health", "nodes", NULL, "Node", 200, &ext_get},
    {ROUTE_GET, "/api/v1/nodes/{id}/sessions", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "read",
     "The node's active viewer sessions (the cluster's admission count; filter line_id)", "nodes",
     NULL, "NodeSessionList", 200, &ext_sessions},
    {ROUTE_PATCH, "/api/v1/nodes/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Change a node's caps (max_sessions, max_egress_mbps, weight, countries, geo_mode)", "nodes",
     "NodePatch", "Node", 200, &ext_patch},
    {ROUTE_DELETE, "/api/v1/nodes/{id}", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Delete (revoke) an edge", "nodes", NULL, NULL, 204, &ext_delete},
    {ROUTE_POST, "/api/v1/nodes/{id}/drain", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Drain a node: no new viewers, existing ones stay", "nodes", NULL, "Node", 200, &ext_drain},
    {ROUTE_POST, "/api/v1/nodes/{id}/fence", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Fence a node: no new viewers, and its viewers are moved off", "nodes", NULL, "Node", 200,
     &ext_fence},
    {ROUTE_POST, "/api/v1/nodes/{id}/activate", admin_route_fn, NULL, ROUTE_AUTH_ADMIN, "admin",
     "Activate a node again (takes new viewers)", "nodes", NULL, "Node", 200, &ext_activate},
};

static const struct admin_schema schemas[] = {
    {"Node",
     "{\"type\":\"object\",\"required\":[\"id\",\"name\",\"role\",\"public_url\",\"state\","
     "\"health\",\"fresh\"],\"properties\":{\"id\":{\"type\":\"integer\"},\"name\":{\"type\":"
     "\"string\"},\"role\":{\"enum\":[\"main\",\"edge\"]},\"public_url\":{\"type\":\"string\"},"
     "\"state\":{\"enum\":[\"active\",\"draining\",\"fenced\",\"revoked\"]},\"health\":{\"enum\":"
     "[\"fresh\",\"offline\"]},\"fresh\":{\"type\":\"boolean\"},\"last_seen_age_ms\":{\"type\":"
     "[\"integer\",\"null\"]},\"viewers\":{\"type\":\"integer\"},\"sessions\":{\"type\":"
     "\"integer\"},\"egress_bps\":{\"type\":"
     "\"integer\"},\"ingress_bps\":{\"type\":\"integer\"},\"cpu_pct\":{\"type\":\"number\"},"
     "\"mem_bytes\":{\"type\":\"integer\"},\"channels_running\":{\"type\":\"integer\"},"
     "\"clock_skew_ms\":{\"type\":\"integer\"},\"max_sessions\":{\"type\":\"integer\"},"
     "\"max_egress_mbps\":{\"type\":\"integer\"},\"weight\":{\"type\":\"integer\"},"
     "\"countries\":{\"type\":\"string\"},\"geo_mode\":{\"enum\":[\"prefer\",\"strict\","
     "\"avoid\"]}}}"},
    {"NodeList", "{\"type\":\"object\",\"required\":[\"items\",\"total\"],\"properties\":{"
                 "\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/"
                 "Node\"}},\"total\":{\"type\":\"integer\"}}}"},
    {"NodeSessionList",
     "{\"type\":\"object\",\"required\":[\"items\",\"total\",\"truncated\"],\"properties\":{"
     "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"id\","
     "\"line_id\",\"stream_id\",\"kind\",\"ip\",\"started_at\"],\"properties\":{\"id\":{"
     "\"type\":\"string\"},\"line_id\":{\"type\":\"integer\"},\"stream_id\":{\"type\":"
     "\"integer\"},\"kind\":{\"enum\":[\"live\",\"hls\",\"movie\",\"episode\",\"timeshift\"]},"
     "\"ip\":{\"type\":\"string\"},\"started_at\":{\"type\":\"string\",\"format\":"
     "\"date-time\"},\"last_seen_at\":{\"type\":[\"string\",\"null\"],\"format\":"
     "\"date-time\"}}}},\"total\":{\"type\":\"integer\"},\"truncated\":{\"type\":"
     "\"boolean\"}}}"},
    {"NodePatch",
     "{\"type\":\"object\",\"additionalProperties\":false,\"examples\":[{\"max_sessions\":500,"
     "\"weight\":100,\"countries\":\"FR,DE\",\"geo_mode\":\"prefer\"}],\"properties\":{\"max_"
     "sessions\":{"
     "\"type\":\"integer\",\"minimum\":0},\"max_egress_mbps\":{\"type\":\"integer\",\"minimum\":"
     "0},\"weight\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":10000},\"countries\":{"
     "\"type\":\"string\"},\"geo_mode\":{\"enum\":[\"prefer\",\"strict\",\"avoid\"]}}}"},
    {"EnrolCodeRequest", "{\"type\":\"object\",\"additionalProperties\":false,\"examples\":[{"
                         "\"name\":\"edge1\"}],\"properties\":{"
                         "\"name\":{\"type\":\"string\"}}}"},
    {"EnrolCode", "{\"type\":\"object\",\"required\":[\"code\",\"expires_at\"],\"properties\":{"
                  "\"code\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},\"expires_at\":"
                  "{\"type\":\"string\",\"format\":\"date-time\"},\"expires_in\":{\"type\":"
                  "\"integer\"}}}"},
    {"EnrolRequest",
     "{\"type\":\"object\",\"required\":[\"code\",\"name\",\"public_url\",\"pubkey\"],"
     "\"examples\":[{\"code\":\"0123456789abcdef0123456789abcdef01234567\",\"name\":\"edge1\","
     "\"public_url\":\"http://edge1.example:8080\",\"pubkey\":"
     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}],"
     "\"properties\":{\"code\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
     "\"public_url\":{\"type\":\"string\"},\"pubkey\":{\"type\":\"string\"},\"version\":{"
     "\"type\":\"string\"}}}"},
    {"Enrolment",
     "{\"type\":\"object\",\"required\":[\"node_id\",\"token_kid\",\"token_pubkey\","
     "\"database\"],\"properties\":{\"node_id\":{\"type\":\"integer\"},\"name\":{\"type\":"
     "\"string\"},\"token_kid\":{\"type\":\"string\"},\"token_pubkey\":{\"type\":\"string\"},"
     "\"database\":{\"type\":\"string\"}}}"},
};

const struct admin_resource admin_res_nodes = {"nodes", routes, sizeof(routes) / sizeof(routes[0]),
                                               schemas, sizeof(schemas) / sizeof(schemas[0])};
