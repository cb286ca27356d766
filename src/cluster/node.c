/*
 * cluster/node.c: this node in a cluster (cluster/node.h, docs/internals/cluster.md).
 *
 * Identity: <data>/node.json (node id, name, role, URLs, the token public key, the database of
 * an edge) and <data>/node.key (this node's Ed25519 secret key, base64, 0600); a main also has
 * <data>/token.key (the token signing key, 0600). Keys are never logged.
 * Heartbeat and view: one timer every CLUSTER_HEARTBEAT_MS queues one work item that, on a pool
 * thread with a database connection of its own, upserts this node's node_status row and reads
 * every node; the loop then swaps the view. A tick that finds the previous item still running
 * is skipped (counted): the loop never waits on the database.
 * Commands: NOTIFY node_<id> arrives on the loop's connection (the one that LISTENs for
 * catalogue changes); cluster_poll, called by serve's refresh tick, hands them to the hooks.
 */
#include "cluster/node.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster/cluster_priv.h"
#include "core/log.h"
#include "db/db.h"
#include "db/nodes.h"
#include "db/settings.h"
#include "domain/nodes.h"

#define MAX_HOOKS 8

struct hook {
    cluster_command_fn fn;
    void *ud;
};

struct beat_work {
    uv_work_t req;
    struct cluster *c;
    struct db_node_beat beat;
    int rc_beat, rc_list;
    struct cluster_node_view *view;
    size_t nview;
    int self_state; /* -1 unknown */
};

struct cluster {
    uv_loop_t *loop;
    struct db *loop_db;
    char *data_dir;
    struct cluster_identity id;
    unsigned char node_sk[64], node_pk[32];
    unsigned char token_sk[64], token_pk[32];
    bool have_token_sk;
    uv_timer_t timer;
    bool timer_open, closing, busy;
    struct db *work_db; /* pool thread only (one beat_work at a time) */
    struct beat_work work;
    struct cluster_node_view *view;
    size_t nview;
    uint64_t view_at; /* uv_now of the last swap */
    int self_state;
    struct hook hooks[MAX_HOOKS];
    size_t nhooks;
    cluster_stats_fn stats;
    void *stats_ud;
    bool overloaded; /* cluster_self_load's hysteresis */
    struct cluster_metrics m;
};

int64_t cluster_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- names ---- */

static const char *const state_names[] = {"active", "draining", "fenced", "revoked"};
static const char *const geo_names[] = {"prefer", "strict", "avoid"};

const char *cluster_state_name(int state)
{
    return state >= 0 && state < 4 ? state_names[state] : "unknown";
}

int cluster_state_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, state_names[i]) == 0)
            return i;
    return -EINVAL;
}

const char *cluster_geo_name(int geo)
{
    return geo >= 0 && geo < 3 ? geo_names[geo] : "prefer";
}

int cluster_geo_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, geo_names[i]) == 0)
            return i;
    return -EINVAL;
}

/* ---- files and keys ---- */

int cluster_path(const char *data_dir, const char *name, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s", data_dir, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Writes text to path (0600) through a temporary file renamed over it. */
int cluster_write_private(const char *path, const char *text)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            close(fd);
            unlink(tmp);
            return -e;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return -e;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return -e;
    }
    return 0;
}

int cluster_b64_encode(const unsigned char *p, size_t n, char *out, size_t len)
{
    if (len < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL))
        return -ENOSPC;
    sodium_bin2base64(out, len, p, n, sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

int cluster_b64_decode(const char *s, unsigned char *out, size_t want)
{
    size_t got = 0;
    if (!s ||
        sodium_base642bin(out, want, s, strlen(s), NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != want)
        return -EINVAL;
    return 0;
}

/* A secret key file: base64 of the 64-byte Ed25519 secret key. create: make a new one when
 * the file does not exist. */
int cluster_key_load(const char *path, bool create, unsigned char pk[32], unsigned char sk[64])
{
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno != ENOENT || !create)
            return -errno;
        char text[128];
        crypto_sign_keypair(pk, sk);
        cluster_b64_encode(sk, 64, text, sizeof(text));
        size_t l = strlen(text);
        text[l] = '\n';
        text[l + 1] = '\0';
        int rc = cluster_write_private(path, text);
        sodium_memzero(text, sizeof(text));
        return rc;
    }
    char text[160] = "";
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        text[--n] = '\0';
    int rc = cluster_b64_decode(text, sk, 64);
    sodium_memzero(text, sizeof(text));
    if (rc)
        return -EINVAL;
    crypto_sign_ed25519_sk_to_pk(pk, sk);
    return 0;
}

void cluster_kid(const unsigned char pk[32], char kid[CLUSTER_KID_LEN])
{
    unsigned char h[32];
    crypto_hash_sha256(h, pk, 32);
    sodium_bin2hex(kid, CLUSTER_KID_LEN, h, (CLUSTER_KID_LEN - 1) / 2);
}

static int json_str(json_t *o, const char *k, char *out, size_t len, bool required)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) {
        out[0] = '\0';
        return required ? -EINVAL : 0;
    }
    if (!json_is_string(v) || json_string_length(v) >= len)
        return -EINVAL;
    snprintf(out, len, "%s", json_string_value(v));
    return 0;
}

int cluster_identity_read(const char *data_dir, struct cluster_identity *id)
{
    char path[4096];
    memset(id, 0, sizeof(*id));
    if (cluster_path(data_dir, "node.json", path, sizeof(path)))
        return -ENAMETOOLONG;
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o)
        return access(path, F_OK) == 0 ? -EINVAL : -ENOENT;
    int rc = -EINVAL;
    json_t *nid = json_object_get(o, "node_id");
    char role[8];
    if (!json_is_integer(nid) || json_integer_value(nid) <= 0)
        goto out;
    id->node_id = json_integer_value(nid);
    if (json_str(o, "name", id->name, sizeof(id->name), true) ||
        json_str(o, "role", role, sizeof(role), true) ||
        json_str(o, "public_url", id->public_url, sizeof(id->public_url), true) ||
        json_str(o, "main_url", id->main_url, sizeof(id->main_url), false) ||
        json_str(o, "database", id->database, sizeof(id->database), false) ||
        json_str(o, "token_kid", id->token_kid, sizeof(id->token_kid), false) ||
        json_str(o, "token_pubkey", id->token_pubkey, sizeof(id->token_pubkey), false))
        goto out;
    if (strcmp(role, "main") == 0)
        id->role = CLUSTER_ROLE_MAIN;
    else if (strcmp(role, "edge") == 0)
        id->role = CLUSTER_ROLE_EDGE;
    else
        goto out;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int cluster_identity_write(const char *data_dir, const struct cluster_identity *id)
{
    char path[4096];
    if (cluster_path(data_dir, "node.json", path, sizeof(path)))
        return -ENAMETOOLONG;
    json_t *o = json_pack(
        "{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "node_id", (json_int_t)id->node_id, "name",
        id->name, "role", id->role == CLUSTER_ROLE_MAIN ? "main" : "edge", "public_url",
        id->public_url, "main_url", id->main_url, "database", id->database, "node_key", "node.key",
        "token_kid", id->token_kid, "token_pubkey", id->token_pubkey);
    if (!o)
        return -ENOMEM;
    char *text = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (!text)
        return -ENOMEM;
    size_t l = strlen(text);
    char *t2 = realloc(text, l + 2);
    if (!t2) {
        free(text);
        return -ENOMEM;
    }
    t2[l] = '\n';
    t2[l + 1] = '\0';
    int rc = cluster_write_private(path, t2); /* 0600: it may hold the database password */
    sodium_memzero(t2, l);
    free(t2);
    return rc;
}

int cluster_identity_database(const char *data_dir, char *out, size_t len)
{
    struct cluster_identity id;
    int rc = cluster_identity_read(data_dir, &id);
    if (rc)
        return rc;
    if (!id.database[0])
        return -ENOENT;
    snprintf(out, len, "%s", id.database);
    sodium_memzero(&id, sizeof(id));
    return 0;
}

/* ---- accessors ---- */

int64_t cluster_self_id(const struct cluster *c)
{
    return c ? c->id.node_id : 0;
}

bool cluster_is_main(const struct cluster *c)
{
    return c && c->id.role == CLUSTER_ROLE_MAIN;
}

int cluster_self_state(const struct cluster *c)
{
    return c ? c->self_state : CLUSTER_STATE_ACTIVE;
}

void cluster_load_eval(struct cluster_load *l)
{
    uint64_t all = (uint64_t)l->sessions + l->moving;
    /* the egress sample still carries the viewers moving off: the stayers' share of it */
    double per = all ? (double)l->egress_bps / (double)all : 0.0;
    double load_s = l->max_sessions ? (double)l->sessions * 100.0 / l->max_sessions : 0.0;
    double load_e = l->max_egress_bps ? per * l->sessions * 100.0 / (double)l->max_egress_bps : 0.0;
    double load = load_s > load_e ? load_s : load_e;
    l->load_pct = load > 1e6 ? 1000000u : (uint32_t)load;
    l->excess = 0;
    if (!l->high_pct) {
        l->overloaded = false;
        return;
    }
    if (!l->overloaded && load > (double)l->high_pct)
        l->overloaded = true;
    else if (l->overloaded && load <= (double)l->high_pct - (double)CLUSTER_OVERLOAD_HYSTERESIS_PCT)
        l->overloaded = false;
    if (!l->overloaded)
        return;
    /* back to the high-water mark, not below: no viewer moves that the caps allow to stay */
    if (l->max_sessions) {
        uint64_t target = (uint64_t)l->max_sessions * l->high_pct / 100;
        if (l->sessions > target)
            l->excess = (uint32_t)(l->sessions - target);
    }
    if (l->max_egress_bps && per > 0.0) {
        double target = (double)l->max_egress_bps * l->high_pct / 100.0 / per;
        uint32_t t = target >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)target;
        if (l->sessions > t && l->sessions - t > l->excess)
            l->excess = l->sessions - t;
    }
}

void cluster_self_load(struct cluster *c, uint32_t sessions, uint32_t moving, unsigned high_pct,
                       struct cluster_load *out)
{
    memset(out, 0, sizeof(*out));
    const struct cluster_node_view *self = c ? cluster_node_find(c, c->id.node_id) : NULL;
    if (!self)
        return;
    out->sessions = sessions;
    out->moving = moving;
    out->max_sessions = self->max_sessions;
    out->max_egress_bps = (uint64_t)self->max_egress_mbps * 1000000u;
    out->high_pct = high_pct;
    out->overloaded = c->overloaded;
    if (c->stats && out->max_egress_bps) {
        struct cluster_stats st = {0};
        c->stats(c->stats_ud, &st);
        out->egress_bps = st.egress_bps;
    }
    cluster_load_eval(out);
    if (out->overloaded != c->overloaded)
        log_info("cluster", "%s: load %u%% of the caps (%u sessions of %u, high-water %u%%)",
                 out->overloaded ? "overloaded" : "no longer overloaded", out->load_pct,
                 out->sessions, out->max_sessions, high_pct);
    c->overloaded = out->overloaded;
}

const struct cluster_node_view *cluster_nodes(const struct cluster *c, size_t *count)
{
    if (!c) {
        *count = 0;
        return NULL;
    }
    *count = c->nview;
    return c->view;
}

const struct cluster_node_view *cluster_node_find(const struct cluster *c, int64_t id)
{
    size_t n;
    const struct cluster_node_view *v = cluster_nodes(c, &n);
    for (size_t i = 0; i < n; i++)
        if (v[i].id == id)
            return &v[i];
    return NULL;
}

int cluster_node_sign(const struct cluster *c, const void *msg, size_t len, unsigned char sig[64])
{
    if (!c)
        return -ENOENT;
    crypto_sign_detached(sig, NULL, msg, len, c->node_sk);
    return 0;
}

int cluster_node_verify(const struct cluster *c, int64_t node_id, const void *msg, size_t len,
                        const unsigned char sig[64])
{
    const struct cluster_node_view *v = cluster_node_find(c, node_id);
    if (!v)
        return -ENOENT;
    return crypto_sign_verify_detached(sig, msg, len, v->pubkey) == 0 ? 0 : -EBADMSG;
}

const unsigned char *cluster_token_pk(const struct cluster *c)
{
    return c && c->id.token_pubkey[0] ? c->token_pk : NULL;
}

const char *cluster_token_kid(const struct cluster *c)
{
    return c ? c->id.token_kid : "";
}

const unsigned char *cluster_token_sk(const struct cluster *c)
{
    return c && c->have_token_sk ? c->token_sk : NULL;
}

void cluster_metrics_get(const struct cluster *c, struct cluster_metrics *m)
{
    memset(m, 0, sizeof(*m));
    if (!c)
        return;
    *m = c->m;
    uint64_t now = uv_now(c->loop);
    m->view_age_ms = c->view_at ? (uint32_t)(now - c->view_at) : UINT32_MAX;
    m->nodes = (uint32_t)c->nview;
    for (size_t i = 0; i < c->nview; i++)
        m->nodes_fresh += c->view[i].fresh;
}

/* ---- commands ---- */

int cluster_on_command(struct cluster *c, cluster_command_fn fn, void *ud)
{
    if (!c)
        return -ENOENT;
    if (c->nhooks == MAX_HOOKS)
        return -ENOSPC;
    c->hooks[c->nhooks++] = (struct hook){fn, ud};
    return 0;
}

int cluster_command_check(const char *kind, const char *arg)
{
    size_t k = strlen(kind);
    if (k == 0 || k > 31)
        return -EINVAL;
    for (size_t i = 0; i < k; i++)
        if (!((kind[i] >= 'a' && kind[i] <= 'z') || kind[i] == '_'))
            return -EINVAL;
    if (arg) {
        size_t a = strlen(arg);
        if (a > 200)
            return -EINVAL;
        for (size_t i = 0; i < a; i++)
            if ((unsigned char)arg[i] < 0x20 || arg[i] == 0x7f)
                return -EINVAL;
    }
    return 0;
}

int cluster_send(struct db *db, int64_t node_id, const char *kind, const char *arg)
{
    if (node_id <= 0 || cluster_command_check(kind, arg))
        return -EINVAL;
    return dom_node_notify(db, node_id, kind, arg);
}

static void dispatch(struct cluster *c, const char *payload)
{
    char kind[32];
    const char *sp = strchr(payload, ' ');
    size_t k = sp ? (size_t)(sp - payload) : strlen(payload);
    const char *arg = sp ? sp + 1 : "";
    if (k == 0 || k >= sizeof(kind)) {
        log_warn("cluster", "ignored a malformed node command");
        return;
    }
    memcpy(kind, payload, k);
    kind[k] = '\0';
    if (cluster_command_check(kind, arg)) {
        log_warn("cluster", "ignored a malformed node command");
        return;
    }
    c->m.commands++;
    if (strcmp(kind, "state") == 0) {
        int st = cluster_state_parse(arg);
        if (st >= 0 && st != c->self_state) {
            log_info("cluster", "node %lld: state %s -> %s (command)", (long long)c->id.node_id,
                     cluster_state_name(c->self_state), cluster_state_name(st));
            c->self_state = st;
        }
    }
    log_info("cluster", "command %s%s%s", kind, *arg ? " " : "", arg);
    for (size_t i = 0; i < c->nhooks; i++)
        c->hooks[i].fn(c->hooks[i].ud, kind, arg);
}

void cluster_poll(struct cluster *c)
{
    if (!c || c->closing)
        return;
    char channel[64], payload[256], want[32];
    snprintf(want, sizeof(want), "node_%lld", (long long)c->id.node_id);
    for (int i = 0; i < 64; i++) {
        int rc =
            db_notification_next(c->loop_db, channel, sizeof(channel), payload, sizeof(payload));
        if (rc <= 0)
            break;
        if (strcmp(channel, want) == 0)
            dispatch(c, payload);
    }
}

/* ---- heartbeat and view (pool thread, then loop) ---- */

static void view_from_row(const struct db_node *r, struct cluster_node_view *v)
{
    memset(v, 0, sizeof(*v));
    v->id = r->id;
    snprintf(v->name, sizeof(v->name), "%s", r->name);
    snprintf(v->public_url, sizeof(v->public_url), "%s", r->public_url);
    v->role = strcmp(r->role, "main") == 0 ? CLUSTER_ROLE_MAIN : CLUSTER_ROLE_EDGE;
    int st = cluster_state_parse(r->state);
    v->state = st < 0 ? CLUSTER_STATE_REVOKED : st;
    v->seen_age_ms = !r->has_status                        ? UINT32_MAX
                     : r->age_ms < 0                       ? 0
                     : r->age_ms > (int64_t)UINT32_MAX - 1 ? UINT32_MAX - 1
                                                           : (uint32_t)r->age_ms;
    v->fresh = r->has_status && v->seen_age_ms < CLUSTER_FRESH_MS;
    v->sessions = (uint32_t)r->sessions;
    v->max_sessions = (uint32_t)r->max_sessions;
    v->egress_bps = (uint64_t)r->egress_bps;
    v->max_egress_mbps = (uint32_t)r->max_egress_mbps;
    v->cpu_pct = (float)r->cpu_pct;
    v->weight = (uint32_t)r->weight;
    snprintf(v->countries, sizeof(v->countries), "%s", r->countries);
    int g = cluster_geo_parse(r->geo_mode);
    v->geo_mode = g < 0 ? CLUSTER_GEO_PREFER : g;
    if (cluster_b64_decode(r->pubkey, v->pubkey, 32))
        memset(v->pubkey, 0, 32);
}

static void beat_run(uv_work_t *req)
{
    struct beat_work *w = req->data;
    struct cluster *c = w->c;
    w->view = NULL;
    w->nview = 0;
    w->self_state = -1;
    if (!c->work_db && db_open(c->data_dir, &c->work_db)) {
        c->work_db = NULL;
        w->rc_beat = w->rc_list = -EIO;
        return;
    }
    w->beat.local_ms = cluster_wall_ms();
    w->rc_beat = db_node_beat(c->work_db, c->id.node_id, &w->beat, NULL);
    struct db_node *rows = NULL;
    size_t n = 0;
    w->rc_list = db_nodes_list(c->work_db, &rows, &n);
    if (w->rc_list == 0) {
        w->view = n ? calloc(n, sizeof(*w->view)) : NULL;
        if (n && !w->view) {
            w->rc_list = -ENOMEM;
        } else {
            for (size_t i = 0; i < n; i++) {
                view_from_row(&rows[i], &w->view[i]);
                if (rows[i].id == c->id.node_id)
                    w->self_state = w->view[i].state;
            }
            w->nview = n;
        }
    }
    free(rows);
    /* A failed connection is opened again next time (e.g. the database failed over). */
    if (w->rc_beat == -EIO && w->rc_list == -EIO) {
        db_close(c->work_db);
        c->work_db = NULL;
    }
}

static void beat_done(uv_work_t *req, int status)
{
    struct beat_work *w = req->data;
    struct cluster *c = w->c;
    c->busy = false;
    c->m.heartbeats++;
    if (status != 0 || w->rc_beat) {
        c->m.heartbeat_failures++;
        log_warn("cluster", "heartbeat of node %lld failed (%d)", (long long)c->id.node_id,
                 status ? status : w->rc_beat);
    }
    if (status == 0 && w->rc_list == 0) {
        free(c->view);
        c->view = w->view;
        c->nview = w->nview;
        c->view_at = uv_now(c->loop);
        c->m.view_refreshes++;
        if (w->self_state >= 0 && w->self_state != c->self_state) {
            log_info("cluster", "node %lld: state %s -> %s", (long long)c->id.node_id,
                     cluster_state_name(c->self_state), cluster_state_name(w->self_state));
            c->self_state = w->self_state;
        }
    } else {
        free(w->view);
        c->m.view_failures++;
    }
    w->view = NULL;
    if (c->closing && !c->timer_open) {
        db_close(c->work_db);
        free(c->view);
        free(c->data_dir);
        sodium_memzero(c, sizeof(*c));
        free(c);
    }
}

static void beat_tick(uv_timer_t *t)
{
    struct cluster *c = t->data;
    if (c->busy) {
        c->m.heartbeat_failures++; /* the previous one has not finished: this beat is lost */
        return;
    }
    struct beat_work *w = &c->work;
    memset(&w->beat, 0, sizeof(w->beat));
    if (c->stats) {
        struct cluster_stats s = {0};
        c->stats(c->stats_ud, &s);
        w->beat.sessions = s.sessions;
        w->beat.egress_bps = (int64_t)s.egress_bps;
        w->beat.ingress_bps = (int64_t)s.ingress_bps;
        w->beat.channels_running = s.channels_running;
        w->beat.cpu_pct = s.cpu_pct;
        w->beat.mem_bytes = (int64_t)s.mem_bytes;
    }
    w->c = c;
    w->req.data = w;
    if (uv_queue_work(c->loop, &w->req, beat_run, beat_done) == 0)
        c->busy = true;
    else
        c->m.heartbeat_failures++;
}

/* ---- open and close ---- */

static int load_keys(struct cluster *c, bool create)
{
    char path[4096];
    int rc;
    if ((rc = cluster_path(c->data_dir, "node.key", path, sizeof(path))) ||
        (rc = cluster_key_load(path, create, c->node_pk, c->node_sk))) {
        log_error("cluster", "cannot read the node key %s (%s)", path, strerror(-rc));
        return rc;
    }
    if (c->id.role == CLUSTER_ROLE_MAIN) {
        if ((rc = cluster_path(c->data_dir, "token.key", path, sizeof(path))) ||
            (rc = cluster_key_load(path, true, c->token_pk, c->token_sk))) {
            log_error("cluster", "cannot read the token key %s (%s)", path, strerror(-rc));
            return rc;
        }
        c->have_token_sk = true;
        cluster_kid(c->token_pk, c->id.token_kid);
        cluster_b64_encode(c->token_pk, 32, c->id.token_pubkey, sizeof(c->id.token_pubkey));
    } else if (c->id.token_pubkey[0] &&
               cluster_b64_decode(c->id.token_pubkey, c->token_pk, 32) != 0) {
        log_error("cluster", "node.json: token_pubkey is not a base64 Ed25519 key");
        return -EINVAL;
    }
    return 0;
}

/* The main: its row (created on first start), then the settings edges learn at enrolment. */
static int register_main(struct cluster *c, const struct cluster_options *o)
{
    struct db *db = c->loop_db;
    char pub[64], setting[128];
    cluster_b64_encode(c->node_pk, 32, pub, sizeof(pub));
    int rc;
    if (c->id.node_id == 0) {
        struct db_node n = {0};
        snprintf(n.name, sizeof(n.name), "%s", c->id.name);
        snprintf(n.role, sizeof(n.role), "main");
        snprintf(n.public_url, sizeof(n.public_url), "%s", c->id.public_url);
        snprintf(n.pubkey, sizeof(n.pubkey), "%s", pub);
        snprintf(n.version, sizeof(n.version), "%s", XTREAMD_VERSION);
        rc = db_node_insert(db, &n, time(NULL), &c->id.node_id);
        if (rc == -EEXIST)
            log_error("cluster", "a node named %s already exists in this database", n.name);
        if (rc)
            return rc;
        if ((rc = cluster_identity_write(c->data_dir, &c->id)))
            return rc;
        log_info("cluster", "created main node %lld (%s)", (long long)c->id.node_id, n.name);
    } else if ((rc = db_node_update_self(db, c->id.node_id, c->id.public_url, pub,
                                         XTREAMD_VERSION))) {
        if (rc == -ENOENT)
            log_error("cluster", "node %lld of node.json is not in the database",
                      (long long)c->id.node_id);
        return rc;
    }
    snprintf(setting, sizeof(setting), "%s:%s", c->id.token_kid, c->id.token_pubkey);
    const char *dburl = o->cluster_db_url && *o->cluster_db_url ? o->cluster_db_url : o->database;
    if ((rc = db_setting_set(db, "cluster_token_pubkey", setting)) ||
        (rc = db_setting_set(db, "cluster_database_url", dburl ? dburl : "")) ||
        (rc = db_setting_set(db, "cluster_main_url", c->id.public_url)))
        return rc;
    return 0;
}

int cluster_open(struct cluster **out, uv_loop_t *loop, struct db *loop_db,
                 const struct cluster_options *o)
{
    *out = NULL;
    struct cluster_identity id;
    int rc = cluster_identity_read(o->data_dir, &id);
    bool want_main = o->role && strcmp(o->role, "main") == 0;
    if (o->role && *o->role && !want_main) {
        log_error("cluster", "--cluster-role: only 'main' can be given (an edge joins with "
                             "'xtreamd node enrol')");
        return -EINVAL;
    }
    if (rc == -ENOENT && !want_main)
        return 0; /* standalone */
    if (rc && rc != -ENOENT) {
        log_error("cluster", "%s/node.json is unreadable or malformed", o->data_dir);
        return -EINVAL;
    }
    if (db_is_sqlite(loop_db)) {
        log_error("cluster", "a cluster needs PostgreSQL (--database postgresql://...): "
                             "SQLite is for a single node");
        return -EINVAL;
    }
    if (rc == -ENOENT) { /* a new main */
        if (!o->public_url || !*o->public_url) {
            log_error("cluster", "--cluster-role main needs --public-url (the URL other nodes "
                                 "and clients reach this node at)");
            return -EINVAL;
        }
        memset(&id, 0, sizeof(id));
        id.role = CLUSTER_ROLE_MAIN;
        snprintf(id.name, sizeof(id.name), "main");
    } else if (want_main && id.role != CLUSTER_ROLE_MAIN) {
        log_error("cluster", "--cluster-role main, but %s/node.json is an edge's", o->data_dir);
        return -EINVAL;
    }
    if (id.role == CLUSTER_ROLE_MAIN && o->public_url && *o->public_url)
        snprintf(id.public_url, sizeof(id.public_url), "%s", o->public_url);
    if (id.role == CLUSTER_ROLE_MAIN)
        snprintf(id.main_url, sizeof(id.main_url), "%s", id.public_url);
    struct cluster *c = calloc(1, sizeof(*c));
    if (!c || !(c->data_dir = strdup(o->data_dir))) {
        free(c);
        return -ENOMEM;
    }
    c->loop = loop;
    c->loop_db = loop_db;
    c->id = id;
    c->stats = o->stats;
    c->stats_ud = o->stats_ud;
    if ((rc = load_keys(c, id.role == CLUSTER_ROLE_MAIN)))
        goto fail;
    if (id.role == CLUSTER_ROLE_MAIN && (rc = register_main(c, o)))
        goto fail;
    struct db_node self;
    if ((rc = db_node_get(loop_db, c->id.node_id, &self))) {
        log_error("cluster", "node %lld is not in the database (revoked or deleted?)",
                  (long long)c->id.node_id);
        goto fail;
    }
    int st = cluster_state_parse(self.state);
    c->self_state = st < 0 ? CLUSTER_STATE_REVOKED : st;
    if (c->self_state == CLUSTER_STATE_REVOKED) {
        log_error("cluster", "node %lld was revoked: not starting", (long long)c->id.node_id);
        rc = -EPERM;
        goto fail;
    }
    char channel[32];
    snprintf(channel, sizeof(channel), "node_%lld", (long long)c->id.node_id);
    if ((rc = db_listen(loop_db, channel)))
        goto fail;
    log_info("cluster", "node %lld (%s, %s, %s) at %s", (long long)c->id.node_id, c->id.name,
             c->id.role == CLUSTER_ROLE_MAIN ? "main" : "edge", cluster_state_name(c->self_state),
             c->id.public_url);
    *out = c;
    return 0;
fail:
    free(c->data_dir);
    sodium_memzero(c, sizeof(*c));
    free(c);
    return rc < 0 ? rc : -EINVAL;
}

void cluster_start(struct cluster *c)
{
    if (!c || c->timer_open)
        return;
    uv_timer_init(c->loop, &c->timer);
    c->timer.data = c;
    c->timer_open = true;
    uv_timer_start(&c->timer, beat_tick, 0, CLUSTER_HEARTBEAT_MS);
}

static void cluster_free(struct cluster *c)
{
    db_close(c->work_db);
    free(c->view);
    free(c->data_dir);
    sodium_memzero(c, sizeof(*c));
    free(c);
}

static void timer_closed(uv_handle_t *h)
{
    struct cluster *c = h->data;
    c->timer_open = false;
    if (!c->busy) {
        db_close(c->work_db);
        free(c->view);
        free(c->data_dir);
        sodium_memzero(c, sizeof(*c));
        free(c);
    }
}

void cluster_stop(struct cluster *c)
{
    if (c && c->timer_open && !c->closing)
        uv_timer_stop(&c->timer);
}

void cluster_close(struct cluster *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    if (!c->timer_open) { /* never started: nothing in flight */
        cluster_free(c);
        return;
    }
    /* The memory goes when both the timer is closed and no work item is in flight. */
    uv_close((uv_handle_t *)&c->timer, timer_closed);
}
