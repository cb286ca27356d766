/*
 * cluster/admission: see admission.h.
 */
#include "cluster/admission.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hashtab.h"
#include "core/log.h"
#include "core/promtext.h"
#include "db/db.h"
#include "db/sessions.h"

struct pending {
    int64_t node;
    int64_t sec;        /* the second `cur` counts */
    uint32_t cur, prev; /* redirects in that second and the one before */
};

struct tracked {
    struct htab_node by_handle, by_sid;
    uint64_t handle;
    char sid[CLUSTER_SID_LEN + 1];
    admission_kick_fn *kick;
    void (*drop)(void *ctx);
    void *ctx;
    bool touch_queued; /* an HLS refresh of sid is in the queue (no scan of it per segment) */
};

/* A queued report: the end of a session, or an HLS refresh. */
struct report {
    char sid[CLUSTER_SID_LEN + 1];
    bool end;
};

struct admission {
    struct admission_config cfg;
    struct cluster_token_key key; /* the main's, copied (cfg.key points here) */
    struct pending pend[ADMISSION_MAX_NODES];
    size_t npend;
    char revoked[ADMISSION_REVOKED][CLUSTER_SID_LEN + 1]; /* a ring */
    size_t revoked_next, revoked_n;
    struct htab by_handle, by_sid;
    uint64_t next_handle;
    size_t ntracked;
    struct report *reports; /* ADMISSION_MAX_REPORT */
    size_t nreports;
    bool report_running, sweep_running;
    int64_t last_report, last_sweep;
    /* Job connections (thread pool): opened on first use, at most ADMISSION_DB_CONNS. */
    pthread_mutex_t db_lock;
    struct db *dbs[ADMISSION_DB_CONNS];
    bool db_busy[ADMISSION_DB_CONNS];
    unsigned jobs; /* in flight: admission_free defers the connections' close */
    bool freeing;
    struct admission_metrics m;
};

/* ---- database connections for the jobs (thread pool) ---- */

static struct db *db_take(struct admission *a, int *slot)
{
    struct db *db = NULL;
    pthread_mutex_lock(&a->db_lock);
    for (int i = 0; i < ADMISSION_DB_CONNS && !db; i++)
        if (!a->db_busy[i]) {
            a->db_busy[i] = true;
            *slot = i;
            db = a->dbs[i];
            if (!db && db_open(a->cfg.data_dir, &a->dbs[i]) == 0)
                db = a->dbs[i];
            if (!db)
                a->db_busy[i] = false;
        }
    pthread_mutex_unlock(&a->db_lock);
    return db;
}

static void db_give(struct admission *a, int slot)
{
    pthread_mutex_lock(&a->db_lock);
    a->db_busy[slot] = false;
    pthread_mutex_unlock(&a->db_lock);
}

static void really_free(struct admission *a)
{
    for (int i = 0; i < ADMISSION_DB_CONNS; i++)
        db_close(a->dbs[i]);
    pthread_mutex_destroy(&a->db_lock);
    size_t i = 0;
    struct htab_node *cur = NULL, *n;
    while ((n = htab_iter(&a->by_handle, &i, &cur))) {
        struct tracked *t = htab_entry(n, struct tracked, by_handle);
        if (t->drop)
            t->drop(t->ctx);
        free(t);
    }
    htab_free(&a->by_handle);
    htab_free(&a->by_sid);
    free(a->reports);
    sodium_memzero(a, sizeof(*a));
    free(a);
}

struct admission *admission_new(const struct admission_config *cfg)
{
    struct admission *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cfg = *cfg;
    if (cfg->key) {
        a->key = *cfg->key;
        a->cfg.key = &a->key;
    }
    if (!a->cfg.orphan_ttl)
        a->cfg.orphan_ttl = ADMISSION_ORPHAN_TTL;
    if (!a->cfg.hls_ttl)
        a->cfg.hls_ttl = ADMISSION_HLS_TTL;
    a->reports = calloc(ADMISSION_MAX_REPORT, sizeof(*a->reports));
    if (!a->reports || pthread_mutex_init(&a->db_lock, NULL)) {
        free(a->reports);
        free(a);
        return NULL;
    }
    return a;
}

void admission_free(struct admission *a)
{
    if (!a)
        return;
    a->freeing = true;
    if (!a->jobs)
        really_free(a);
}

/* ---- choosing ---- */

static struct pending *pending_of(struct admission *a, int64_t node, int64_t now, bool create)
{
    struct pending *p = NULL;
    for (size_t i = 0; i < a->npend && !p; i++)
        if (a->pend[i].node == node)
            p = &a->pend[i];
    if (!p && create) {
        if (a->npend == ADMISSION_MAX_NODES) {
            a->m.pending_full++;
            return NULL;
        }
        p = &a->pend[a->npend++];
        *p = (struct pending){.node = node, .sec = now};
    }
    if (p && p->sec != now) {
        p->prev = now - p->sec == 1 ? p->cur : 0;
        p->cur = 0;
        p->sec = now;
    }
    return p;
}

void admission_placement_node(struct admission *a, const struct cluster_node_view *v, bool runs,
                              bool may_start, struct placement_node *out)
{
    struct pending *p = pending_of(a, v->id, (int64_t)(uv_now(a->cfg.loop) / 1000), false);
    *out = (struct placement_node){
        .id = v->id,
        .active = v->state == CLUSTER_STATE_ACTIVE && v->role >= 0,
        .fresh = v->fresh,
        .runs_channel = runs,
        .may_start = may_start || runs,
        .sessions = v->sessions,
        .pending = p ? p->cur + p->prev : 0,
        .max_sessions = v->max_sessions,
        .egress_bps = v->egress_bps,
        .max_egress_bps = (uint64_t)v->max_egress_mbps * 1000000u,
        .cpu_pct = v->cpu_pct,
        .weight = v->weight,
        .countries = v->countries,
        .geo_mode = (enum placement_geo)v->geo_mode,
    };
}

int admission_choose(struct admission *a, const struct cluster_node_view *nodes, size_t n,
                     const struct admission_choice_req *r, const struct cluster_node_view **node)
{
    *node = NULL;
    if (n > ADMISSION_MAX_NODES)
        n = ADMISSION_MAX_NODES; /* the view is ordered by id; counted as pending_full */
    struct placement_node pn[ADMISSION_MAX_NODES];
    for (size_t i = 0; i < n; i++) {
        bool runs = false, may_start = true;
        if (r->runs)
            r->runs(r->runs_ud, r->stream_id, nodes[i].id, &runs, &may_start);
        admission_placement_node(a, &nodes[i], runs, may_start, &pn[i]);
    }
    struct placement_req pr = {.country = r->country ? r->country : "",
                               .force_node = r->force_node};
    randombytes_buf(&pr.random, sizeof(pr.random));
    size_t chosen;
    if (placement_choose(pn, n, &pr, &chosen) != 0) {
        a->m.no_node++;
        return -EAGAIN;
    }
    struct pending *p =
        pending_of(a, nodes[chosen].id, (int64_t)(uv_now(a->cfg.loop) / 1000), true);
    if (p)
        p->cur++;
    *node = &nodes[chosen];
    return 0;
}

int admission_redirect_url(const char *public_url, const char *token, int64_t stream_id,
                           const char *ext, char *out, size_t n)
{
    size_t ul = strlen(public_url);
    while (ul && public_url[ul - 1] == '/')
        ul--;
    int len = snprintf(out, n, "%.*s/c/%s/%" PRId64 "%s%s", (int)ul, public_url, token, stream_id,
                       ext && *ext ? "." : "", ext ? ext : "");
    return len < 0 || (size_t)len >= n ? -ENOSPC : 0;
}

/* ---- admitting ---- */

struct admission_job {
    uv_work_t work;
    struct admission *a;
    struct admission_start s;
    admission_done_fn *cb;
    void *ud;
    int rc;
    char sid[CLUSTER_SID_LEN + 1];
    char token[CLUSTER_TOKEN_MAX];
    size_t nvictims;
    int64_t now;
};

static void admit_work(uv_work_t *w)
{
    struct admission_job *j = w->data;
    struct admission *a = j->a;
    int slot = -1;
    struct db *db = db_take(a, &slot);
    if (!db) {
        j->rc = -EIO;
        return;
    }
    struct db_csession_new s = {.line_id = j->s.line_id,
                                .stream_id = j->s.stream_id,
                                .node_id = j->s.node_id,
                                .kind = cluster_kind_name(j->s.kind),
                                .ip = j->s.ip,
                                .user_agent = j->s.user_agent};
    struct db_csession_victim v[1];
    for (int attempt = 0; attempt < 2; attempt++) {
        cluster_sid_new(j->sid);
        memcpy(s.id, j->sid, sizeof(s.id));
        j->rc = db_csession_admit(db, &s, j->s.max_connections, j->now, a->cfg.hls_ttl, v, 0,
                                  &j->nvictims);
        if (j->rc != -EEXIST) /* a random 128-bit id taken: only ever by chance */
            break;
    }
    db_give(a, slot);
    if (j->rc)
        return;
    struct cluster_token_claims c = {.line_id = j->s.line_id,
                                     .stream_id = j->s.stream_id,
                                     .kind = j->s.kind,
                                     .node_id = j->s.node_id,
                                     .iat = j->now,
                                     .exp = j->now + CLUSTER_TOKEN_FIRST_TTL};
    memcpy(c.sid, j->sid, sizeof(c.sid));
    if (j->s.bind_ip) {
        c.bound = true;
        cluster_token_prefix_of(&j->s.client, &c.ip);
    }
    j->rc = cluster_token_make(a->cfg.key, &c, j->token, sizeof(j->token));
}

static void admit_after(uv_work_t *w, int status)
{
    struct admission_job *j = w->data;
    struct admission *a = j->a;
    if (status)
        j->rc = -ECANCELED;
    if (j->rc == 0) {
        a->m.admitted++;
        a->m.kills_sent += j->nvictims;
    } else {
        a->m.admit_failed++;
    }
    if (j->cb)
        j->cb(j->ud, j->rc, j->rc ? NULL : j->token, j->rc ? NULL : j->sid);
    sodium_memzero(j->token, sizeof(j->token));
    free(j);
    if (--a->jobs == 0 && a->freeing)
        really_free(a);
}

struct admission_job *admission_submit(struct admission *a, const struct admission_start *s,
                                       admission_done_fn *cb, void *ud)
{
    if (!a->cfg.key || !cluster_kind_name(s->kind))
        return NULL;
    struct admission_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    *j = (struct admission_job){.a = a, .s = *s, .cb = cb, .ud = ud};
    j->now = (int64_t)time(NULL);
    j->work.data = j;
    if (uv_queue_work(a->cfg.loop, &j->work, admit_work, admit_after)) {
        free(j);
        return NULL;
    }
    a->jobs++;
    return j;
}

void admission_cancel(struct admission_job *j)
{
    if (j)
        j->cb = NULL;
}

/* ---- serving ---- */

bool admission_revoked(struct admission *a, const char *sid)
{
    for (size_t i = 0; i < a->revoked_n; i++)
        if (memcmp(a->revoked[i], sid, CLUSTER_SID_LEN) == 0)
            return true;
    return false;
}

static bool revoked_cb(void *ctx, const char *sid)
{
    return admission_revoked(ctx, sid);
}

static size_t reason_index(int rc)
{
    static const int codes[] = {CLUSTER_TOKEN_MALFORMED, CLUSTER_TOKEN_BAD_SIG,
                                CLUSTER_TOKEN_EXPIRED,   CLUSTER_TOKEN_WRONG_NODE,
                                CLUSTER_TOKEN_WRONG_IP,  CLUSTER_TOKEN_REVOKED,
                                CLUSTER_TOKEN_WRONG_ITEM};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i] == rc)
            return i;
    return 7;
}

static struct tracked *tracked_by_sid(struct admission *a, const char *sid);

/* A player refreshes the media playlist at the URL it was redirected to, with
 * the same token, for as long as it watches: past the token's life (a minute
 * after it was made) the token still opens the HLS session this node serves
 * under its sid (tracked: its registry entry lives until the session expires
 * without requests), so the lease, not the token's clock, bounds it. The
 * claims are genuine (cluster_token_verify checked the signature and the node
 * before the time); the address binding and revocation still apply. */
static int hls_lease_key(struct admission *a, const struct cluster_token_claims *c,
                         const struct ipnet_addr *client)
{
    if (!tracked_by_sid(a, c->sid))
        return CLUSTER_TOKEN_EXPIRED;
    if (c->bound && (!client || !ipnet_contains(&c->ip, client)))
        return CLUSTER_TOKEN_WRONG_IP;
    if (admission_revoked(a, c->sid))
        return CLUSTER_TOKEN_REVOKED;
    a->m.hls_lease_renewals++;
    return 0;
}

int admission_verify(struct admission *a, const char *tok, size_t len, enum cluster_kind kind,
                     int64_t stream_id, const struct ipnet_addr *client, int64_t now,
                     struct cluster_token_claims *c)
{
    int rc =
        cluster_token_verify(&a->cfg.pubs, tok, len, a->cfg.self_id, client, now, revoked_cb, a, c);
    if (rc == CLUSTER_TOKEN_EXPIRED && kind == CLUSTER_KIND_HLS)
        rc = hls_lease_key(a, c, client);
    /* An HLS session's playlist and segments use the live token of its kind; a
     * movie token does not open a channel. */
    if (rc == 0 &&
        (c->stream_id != stream_id ||
         (c->kind != kind && !(c->kind == CLUSTER_KIND_LIVE && kind == CLUSTER_KIND_HLS))))
        rc = CLUSTER_TOKEN_WRONG_ITEM;
    if (rc)
        a->m.token_refused[reason_index(rc)]++;
    return rc;
}

static uint64_t sid_hash(const char *sid)
{
    return htab_hash_bytes(0x5349443a, sid, CLUSTER_SID_LEN);
}

uint64_t admission_track(struct admission *a, const char *sid, admission_kick_fn *kick,
                         void (*drop)(void *ctx), void *ctx)
{
    if (a->ntracked >= ADMISSION_MAX_TRACKED || !cluster_sid_valid(sid, strlen(sid))) {
        a->m.track_refused++;
        return 0;
    }
    struct tracked *t = calloc(1, sizeof(*t));
    if (!t) {
        a->m.track_refused++;
        return 0;
    }
    t->handle = ++a->next_handle;
    memcpy(t->sid, sid, sizeof(t->sid));
    t->kick = kick;
    t->drop = drop;
    t->ctx = ctx;
    htab_insert(&a->by_handle, &t->by_handle, htab_hash_u64(t->handle));
    htab_insert(&a->by_sid, &t->by_sid, sid_hash(sid));
    a->ntracked++;
    a->m.tracked++;
    return t->handle;
}

static struct tracked *tracked_by_sid(struct admission *a, const char *sid)
{
    for (struct htab_node *n = htab_first(&a->by_sid, sid_hash(sid)); n; n = htab_next(n)) {
        struct tracked *t = htab_entry(n, struct tracked, by_sid);
        if (memcmp(t->sid, sid, CLUSTER_SID_LEN) == 0)
            return t;
    }
    return NULL;
}

static struct tracked *tracked_by_handle(struct admission *a, uint64_t handle)
{
    for (struct htab_node *n = htab_first(&a->by_handle, htab_hash_u64(handle)); n;
         n = htab_next(n)) {
        struct tracked *t = htab_entry(n, struct tracked, by_handle);
        if (t->handle == handle)
            return t;
    }
    return NULL;
}

bool admission_tracked(struct admission *a, const char *sid)
{
    return cluster_sid_valid(sid, strlen(sid)) && tracked_by_sid(a, sid);
}

static void queue_report(struct admission *a, const char *sid, bool end)
{
    /* An HLS refresh already queued for sid needs no second row: a tracked sid says so in
     * O(1) (every segment of every HLS viewer comes here); an untracked one is looked for. */
    if (!end) {
        struct tracked *t = tracked_by_sid(a, sid);
        if (t && t->touch_queued)
            return;
        for (size_t i = 0; !t && i < a->nreports; i++)
            if (!a->reports[i].end && memcmp(a->reports[i].sid, sid, CLUSTER_SID_LEN) == 0)
                return;
        if (t && a->nreports < ADMISSION_MAX_REPORT)
            t->touch_queued = true;
    }
    if (a->nreports == ADMISSION_MAX_REPORT) {
        a->m.reports_dropped++;
        return;
    }
    memcpy(a->reports[a->nreports].sid, sid, CLUSTER_SID_LEN + 1);
    a->reports[a->nreports++].end = end;
}

static void untrack(struct admission *a, struct tracked *t)
{
    htab_remove(&a->by_handle, &t->by_handle);
    htab_remove(&a->by_sid, &t->by_sid);
    a->ntracked--;
    free(t);
}

static void untrack_handle(struct admission *a, uint64_t handle, bool report)
{
    struct tracked *t = handle ? tracked_by_handle(a, handle) : NULL;
    if (!t)
        return;
    /* a killed session was ended by the main; the end of a sid tracked again meanwhile (a
     * player's next range request, a reconnect with its token) is dropped at the flush */
    if (report && !admission_revoked(a, t->sid))
        queue_report(a, t->sid, true);
    void (*drop)(void *ctx) = t->drop;
    void *ctx = t->ctx;
    untrack(a, t);
    if (drop)
        drop(ctx);
}

void admission_untrack(struct admission *a, uint64_t handle)
{
    untrack_handle(a, handle, true);
}

void admission_forget(struct admission *a, uint64_t handle)
{
    untrack_handle(a, handle, false);
}

void admission_end(struct admission *a, const char *sid)
{
    if (cluster_sid_valid(sid, strlen(sid)) && !admission_revoked(a, sid))
        queue_report(a, sid, true);
}

void admission_touch(struct admission *a, const char *sid)
{
    if (cluster_sid_valid(sid, strlen(sid)) && !admission_revoked(a, sid))
        queue_report(a, sid, false);
}

void admission_touch_handle(struct admission *a, uint64_t handle)
{
    struct tracked *t = handle ? tracked_by_handle(a, handle) : NULL;
    if (t && !admission_revoked(a, t->sid))
        queue_report(a, t->sid, false);
}

void admission_command(void *ud, const char *kind, const char *arg)
{
    struct admission *a = ud;
    if (strcmp(kind, "kill") != 0 || !arg || !cluster_sid_valid(arg, strlen(arg)))
        return;
    a->m.kills_received++;
    if (!admission_revoked(a, arg)) {
        if (a->revoked_n == ADMISSION_REVOKED)
            a->m.revoked_forgotten++;
        memcpy(a->revoked[a->revoked_next], arg, CLUSTER_SID_LEN + 1);
        a->revoked_next = (a->revoked_next + 1) % ADMISSION_REVOKED;
        if (a->revoked_n < ADMISSION_REVOKED)
            a->revoked_n++;
    }
    /* Kick every connection of the session (an HLS session may hold none). */
    struct htab_node *n = htab_first(&a->by_sid, sid_hash(arg));
    while (n) {
        struct htab_node *next = htab_next(n);
        struct tracked *t = htab_entry(n, struct tracked, by_sid);
        if (memcmp(t->sid, arg, CLUSTER_SID_LEN) == 0) {
            admission_kick_fn *kick = t->kick;
            void *ctx = t->ctx;
            untrack(a, t);
            a->m.kills_applied++;
            if (kick)
                kick(ctx); /* may end in admission_untrack of the handle: a no-op now */
            next = htab_first(&a->by_sid, sid_hash(arg)); /* the kick may have changed the chain */
        }
        n = next;
    }
}

/* ---- the batched reports and the sweep (thread pool) ---- */

struct report_job {
    uv_work_t work;
    struct admission *a;
    struct report *r;
    size_t n;
    int64_t now;
    int rc;
    bool sweep;
    int64_t lost[ADMISSION_MAX_NODES];
    size_t nlost;
    size_t released;
};

static void report_work(uv_work_t *w)
{
    struct report_job *j = w->data;
    int slot = -1;
    struct db *db = db_take(j->a, &slot);
    if (!db) {
        j->rc = -EIO;
        return;
    }
    const char *touch[64];
    size_t nt = 0, done;
    for (size_t i = 0; i < j->n && !j->rc; i++) {
        if (j->r[i].end) {
            int rc = db_csession_end(db, j->r[i].sid, "closed", j->now);
            if (rc && rc != -ENOENT)
                j->rc = rc;
        } else {
            touch[nt++] = j->r[i].sid;
        }
        if (nt == 64 || (i + 1 == j->n && nt)) {
            j->rc = db_csessions_touch(db, touch, nt, j->now, &done);
            nt = 0;
        }
    }
    for (size_t i = 0; i < j->nlost && !j->rc; i++) {
        size_t n = 0;
        j->rc = db_csessions_release_node(db, j->lost[i], "node_lost", j->now, &n);
        j->released += n;
    }
    if (j->sweep && !j->rc) {
        size_t n = 0;
        j->rc = db_csessions_expire_hls(db, j->now, j->a->cfg.hls_ttl, &n);
    }
    db_give(j->a, slot);
}

static void report_after(uv_work_t *w, int status)
{
    struct report_job *j = w->data;
    struct admission *a = j->a;
    if (status || j->rc) {
        a->m.report_failures++;
        log_warn("cluster", "session report of %zu rows failed: %d", j->n, status ? status : j->rc);
    } else {
        a->m.reports_written += j->n;
        a->m.sessions_released += j->released;
        if (j->released)
            log_warn("cluster", "released %zu sessions of %zu lost nodes", j->released, j->nlost);
    }
    a->report_running = false;
    free(j->r);
    free(j);
    if (--a->jobs == 0 && a->freeing)
        really_free(a);
}

void admission_tick(struct admission *a, const struct cluster_node_view *nodes, size_t n,
                    int64_t now)
{
    if (a->report_running || now - a->last_report < ADMISSION_REPORT_MS / 1000)
        return;
    struct report_job *j = calloc(1, sizeof(*j));
    if (!j)
        return;
    j->a = a;
    j->now = now;
    j->work.data = j;
    if (a->nreports) {
        j->r = malloc(a->nreports * sizeof(*j->r));
        if (!j->r) {
            free(j);
            return;
        }
        for (size_t i = 0; i < a->nreports; i++) {
            struct report *r = &a->reports[i];
            struct tracked *t = tracked_by_sid(a, r->sid);
            if (t && !r->end)
                t->touch_queued = false;
            if (t && r->end)
                continue; /* the session has a connection again: not ended */
            j->r[j->n++] = *r;
        }
    }
    if (nodes) { /* the main: lost nodes and HLS leases */
        j->sweep = true;
        for (size_t i = 0; i < n && j->nlost < ADMISSION_MAX_NODES; i++)
            if (nodes[i].id != a->cfg.self_id &&
                nodes[i].seen_age_ms / 1000 >= (uint32_t)a->cfg.orphan_ttl)
                j->lost[j->nlost++] = nodes[i].id;
    }
    if (!j->n && !j->sweep) {
        free(j->r);
        free(j);
        a->nreports = 0; /* every one filtered out */
        a->last_report = now;
        return;
    }
    if (uv_queue_work(a->cfg.loop, &j->work, report_work, report_after)) {
        /* the queue stays (its touch flags cleared above: a refresh may be queued twice) */
        free(j->r);
        free(j);
        return;
    }
    a->nreports = 0;
    a->jobs++;
    a->report_running = true;
    a->last_report = now;
}

/* ---- metrics ---- */

void admission_count_redirect(struct admission *a, bool local)
{
    if (local)
        a->m.served_local++;
    else
        a->m.redirects++;
}

void admission_metrics_get(const struct admission *a, struct admission_metrics *m)
{
    *m = a->m;
}

static void counter(struct buf *out, const char *name, const char *help, uint64_t v)
{
    promtext_family(out, name, "counter", help);
    buf_printf(out, "%s %" PRIu64 "\n", name, v);
}

void admission_metrics_write(const struct admission *a, struct buf *out)
{
    const struct admission_metrics *m = &a->m;
    counter(out, "xtreamd_cluster_admissions_total", "Sessions admitted on this main.",
            m->admitted);
    counter(out, "xtreamd_cluster_admission_failures_total",
            "Admissions that failed (database error).", m->admit_failed);
    counter(out, "xtreamd_cluster_redirects_total", "Stream starts answered with a 302.",
            m->redirects);
    counter(out, "xtreamd_cluster_served_local_total",
            "Stream starts the main chose to serve itself.", m->served_local);
    counter(out, "xtreamd_cluster_no_node_total", "Stream starts no node could take (503).",
            m->no_node);
    promtext_family(out, "xtreamd_cluster_token_refused_total", "counter",
                    "Stream tokens refused, by reason.");
    static const char *const reasons[] = {"malformed", "signature", "expired", "node",
                                          "ip",        "revoked",   "item",    "other"};
    for (size_t i = 0; i < 8; i++)
        buf_printf(out, "xtreamd_cluster_token_refused_total{reason=\"%s\"} %" PRIu64 "\n",
                   reasons[i], m->token_refused[i]);
    counter(out, "xtreamd_cluster_kills_sent_total",
            "Sessions ended by newest wins (NOTIFY to their node).", m->kills_sent);
    counter(out, "xtreamd_cluster_kills_received_total", "Kill commands received.",
            m->kills_received);
    counter(out, "xtreamd_cluster_kills_applied_total", "Connections cut by a kill command.",
            m->kills_applied);
    counter(out, "xtreamd_cluster_sessions_released_total",
            "Sessions of lost nodes ended after the orphan ttl.", m->sessions_released);
    counter(out, "xtreamd_cluster_session_reports_total", "Session ends and HLS refreshes written.",
            m->reports_written);
    counter(out, "xtreamd_cluster_session_reports_dropped_total",
            "Session reports dropped at the queue bound.", m->reports_dropped);
    counter(out, "xtreamd_cluster_session_report_failures_total",
            "Report batches that failed (database unreachable).", m->report_failures);
    counter(out, "xtreamd_cluster_track_refused_total",
            "Token viewers refused at the tracking bound.", m->track_refused);
    counter(out, "xtreamd_cluster_hls_lease_renewals_total",
            "HLS playlist refreshes whose token had expired, accepted for the session this node "
            "still serves under it.",
            m->hls_lease_renewals);
    counter(out, "xtreamd_cluster_pending_full_total",
            "Redirects not counted as pending (node table full).", m->pending_full);
    counter(out, "xtreamd_cluster_revoked_forgotten_total",
            "Revoked session ids forgotten at the ring bound.", m->revoked_forgotten);
}
