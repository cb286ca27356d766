/*
 * cluster/offline: see offline.h.
 */
#include "cluster/offline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/connections.h"
#include "cluster/admission.h"
#include "cluster/node.h"
#include "core/log.h"
#include "db/db.h"
#include "db/sessions.h"

struct entry {
    char sid[OFFLINE_SID_LEN + 1];
    int64_t line_id, stream_id;
    char kind[8];
    char ip[64];
    char ua[128];
    int max;
    int64_t started, ended; /* ended 0: still watched, as far as the edge knows */
    const char *reason;     /* static text when ended */
};

struct merge_job {
    uv_work_t req;
    struct offline *o;
    struct db_csession_offline *rows;
    struct entry *copy; /* what rows point into */
    size_t n;
    int64_t self, now;
    int rc;
    size_t written, killed;
};

struct offline {
    struct offline_config cfg;
    struct entry *j;
    size_t n, cap;
    bool offline, busy, closing;
    struct db *db; /* the merge's connection, used on the thread pool only */
    struct offline_metrics m;
};

int offline_policy_parse(const char *s)
{
    if (s && strcmp(s, "deny") == 0)
        return OFFLINE_DENY;
    if (s && strcmp(s, "local") == 0)
        return OFFLINE_LOCAL;
    return -EINVAL;
}

const char *offline_policy_name(int policy)
{
    return policy == OFFLINE_LOCAL ? "local" : "deny";
}

struct offline *offline_new(const struct offline_config *cfg)
{
    struct offline *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->cfg = *cfg;
    o->cfg.data_dir = NULL;
    if (!o->cfg.journal_max)
        o->cfg.journal_max = OFFLINE_JOURNAL_MAX;
    char *dd = cfg->data_dir ? strdup(cfg->data_dir) : NULL;
    if (cfg->data_dir && !dd) {
        free(o);
        return NULL;
    }
    o->cfg.data_dir = dd;
    return o;
}

static void release(struct offline *o)
{
    db_close(o->db);
    free((char *)o->cfg.data_dir);
    free(o->j);
    free(o);
}

void offline_free(struct offline *o)
{
    if (!o)
        return;
    if (o->n) /* the main never learns of them: said once, for the operator */
        log_warn("cluster", "stopping with %zu offline session(s) not reconciled", o->n);
    if (o->busy) {
        o->closing = true; /* merge_done frees */
        return;
    }
    release(o);
}

bool offline_now(struct offline *o)
{
    struct cluster_metrics cm;
    cluster_metrics_get(o->cfg.cluster, &cm);
    /* a view not refreshed for 3 heartbeats: this node's database connection is lost (and
     * the freshness in it is as old) */
    if (cm.view_age_ms == UINT32_MAX)
        return true; /* the first view is being read (start-up): no main known yet, not logged */
    bool off = cm.view_age_ms >= CLUSTER_FRESH_MS;
    if (!off) {
        size_t n = 0;
        const struct cluster_node_view *v = cluster_nodes(o->cfg.cluster, &n);
        const struct cluster_node_view *main_node = NULL;
        for (size_t i = 0; i < n && !main_node; i++)
            if (v[i].role == CLUSTER_ROLE_MAIN)
                main_node = &v[i];
        off = !main_node || !main_node->fresh;
    }
    if (off != o->offline) {
        o->m.transitions++;
        log_warn("cluster", "%s: new viewers are %s",
                 off ? "the main is unreachable" : "the main is back",
                 !off                             ? "admitted by the main again"
                 : o->cfg.policy == OFFLINE_LOCAL ? "admitted here (offline policy local)"
                                                  : "refused (offline policy deny)");
        o->offline = off;
    }
    return off;
}

enum offline_policy offline_policy(const struct offline *o)
{
    return o->cfg.policy;
}

void offline_count_denied(struct offline *o)
{
    o->m.denied++;
}

/* Whether a newer active entry of the journal is the same registry session as j[i] (one
 * kind, item and IP: auth/connections.h counts a player's reconnection once). */
static bool same_session_newer(const struct offline *o, size_t i)
{
    const struct entry *e = &o->j[i];
    for (size_t k = i + 1; k < o->n; k++) {
        const struct entry *x = &o->j[k];
        if (!x->ended && x->line_id == e->line_id && x->stream_id == e->stream_id &&
            strcmp(x->kind, e->kind) == 0 && strcmp(x->ip, e->ip) == 0)
            return true;
    }
    return false;
}

/* Newest wins among the journal's own entries of a line, as the edge's registry applies it
 * to the connections: the journal says what the reconciliation must not count. */
static void mirror_limit(struct offline *o, int64_t line_id, int max, int64_t now)
{
    if (max <= 0)
        return;
    int seen = 0;
    for (size_t i = o->n; i-- > 0;) {
        struct entry *e = &o->j[i];
        if (e->line_id != line_id || e->ended || same_session_newer(o, i))
            continue;
        if (++seen > max) {
            e->ended = now;
            e->reason = "limit";
        }
    }
}

int offline_record(struct offline *o, const struct offline_start *s, char sid[OFFLINE_SID_LEN + 1],
                   bool *again)
{
    *again = false;
    /* an HLS player refreshes the same playlist URL every few seconds: one session (the live
     * engine finds its HLS session by line, channel, IP and User-Agent the same way) */
    for (size_t i = o->n; i-- > 0 && strcmp(s->kind, "hls") == 0;) {
        const struct entry *e = &o->j[i];
        if (!e->ended && e->line_id == s->line_id && e->stream_id == s->stream_id &&
            strcmp(e->kind, "hls") == 0 && strcmp(e->ip, s->ip ? s->ip : "") == 0 &&
            strncmp(e->ua, s->user_agent ? s->user_agent : "", sizeof(e->ua) - 1) == 0) {
            memcpy(sid, e->sid, sizeof(e->sid));
            *again = true;
            return 0;
        }
    }
    if (o->n == o->cfg.journal_max) {
        o->m.journal_full++;
        return -ENOSPC;
    }
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        if (cap > o->cfg.journal_max)
            cap = o->cfg.journal_max;
        struct entry *j = realloc(o->j, cap * sizeof(*j));
        if (!j) {
            o->m.journal_full++;
            return -ENOSPC;
        }
        o->j = j;
        o->cap = cap;
    }
    struct entry *e = &o->j[o->n++];
    memset(e, 0, sizeof(*e));
    unsigned char rnd[OFFLINE_SID_LEN / 2];
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(e->sid, sizeof(e->sid), rnd, sizeof(rnd));
    e->line_id = s->line_id;
    e->stream_id = s->stream_id;
    snprintf(e->kind, sizeof(e->kind), "%s", s->kind);
    snprintf(e->ip, sizeof(e->ip), "%s", s->ip ? s->ip : "");
    snprintf(e->ua, sizeof(e->ua), "%s", s->user_agent ? s->user_agent : "");
    e->max = s->max_connections;
    e->started = s->now;
    mirror_limit(o, s->line_id, s->max_connections, s->now);
    memcpy(sid, e->sid, sizeof(e->sid));
    o->m.local_admitted++;
    return 0;
}

/* Before a merge: a line whose viewers left holds fewer sessions than its journal entries;
 * the newest as many as it still watches stay active, the older ones are ended 'closed'. */
static void mark_closed(struct offline *o, int64_t now)
{
    for (size_t i = o->n; i-- > 0;) {
        struct entry *e = &o->j[i];
        if (e->ended)
            continue;
        size_t watching = o->cfg.conns ? conn_registry_count_active(o->cfg.conns, e->line_id) : 1;
        size_t newer = 0;
        for (size_t k = i + 1; k < o->n; k++)
            newer += o->j[k].line_id == e->line_id && !o->j[k].ended;
        if (newer >= watching) {
            e->ended = now;
            e->reason = "closed";
        }
    }
}

static int row_cmp(const void *a, const void *b)
{
    const struct db_csession_offline *x = a, *y = b;
    if (x->line_id != y->line_id)
        return x->line_id < y->line_id ? -1 : 1;
    return (x->started_at > y->started_at) - (x->started_at < y->started_at);
}

static void merge_run(uv_work_t *req)
{
    struct merge_job *w = req->data;
    struct offline *o = w->o;
    if (!o->db && db_open(o->cfg.data_dir, &o->db)) {
        o->db = NULL;
        w->rc = -EIO;
        return;
    }
    w->rc = db_csessions_merge(o->db, w->rows, w->n, w->self, w->now, ADMISSION_HLS_TTL,
                               &w->written, &w->killed);
    if (w->rc == -EIO) { /* opened again next time (the database may have failed over) */
        db_close(o->db);
        o->db = NULL;
    }
}

static void merge_done(uv_work_t *req, int status)
{
    struct merge_job *w = req->data;
    struct offline *o = w->o;
    o->busy = false;
    if (status == 0 && w->rc == 0) {
        /* the first n entries were written; those recorded meanwhile stay for the next tick */
        memmove(o->j, o->j + w->n, (o->n - w->n) * sizeof(*o->j));
        o->n -= w->n;
        o->m.reconciled += w->written;
        o->m.reconcile_killed += w->killed;
        log_info("cluster", "reconciled %zu offline session(s) (%zu ended by newest wins)",
                 w->written, w->killed);
    } else {
        o->m.reconcile_failures++;
        log_warn("cluster", "reconciling %zu offline session(s) failed (%d): retried", w->n,
                 status ? status : w->rc);
    }
    free(w->rows);
    free(w->copy);
    free(w);
    if (o->closing)
        release(o);
}

void offline_tick(struct offline *o, int64_t now)
{
    if (!o || o->busy || offline_now(o) || o->n == 0)
        return;
    mark_closed(o, now);
    struct merge_job *w = calloc(1, sizeof(*w));
    if (w) {
        w->rows = calloc(o->n, sizeof(*w->rows));
        w->copy = malloc(o->n * sizeof(*w->copy));
    }
    if (!w || !w->rows || !w->copy) {
        if (w) {
            free(w->rows);
            free(w->copy);
        }
        free(w);
        o->m.reconcile_failures++;
        return;
    }
    memcpy(w->copy, o->j, o->n * sizeof(*o->j));
    w->o = o;
    w->n = o->n;
    w->now = now;
    w->self = cluster_self_id(o->cfg.cluster);
    for (size_t i = 0; i < w->n; i++) {
        const struct entry *e = &w->copy[i];
        struct db_csession_offline *r = &w->rows[i];
        snprintf(r->id, sizeof(r->id), "%s", e->sid);
        r->line_id = e->line_id;
        r->stream_id = e->stream_id;
        r->node_id = w->self;
        r->kind = e->kind;
        r->ip = e->ip;
        r->user_agent = e->ua;
        r->started_at = e->started;
        r->ended_at = e->ended;
        r->end_reason = e->reason;
        r->max = e->max;
    }
    qsort(w->rows, w->n, sizeof(*w->rows), row_cmp);
    w->req.data = w;
    if (uv_queue_work(o->cfg.loop, &w->req, merge_run, merge_done)) {
        free(w->rows);
        free(w->copy);
        free(w);
        o->m.reconcile_failures++;
        return;
    }
    o->busy = true;
}

void offline_metrics_get(const struct offline *o, struct offline_metrics *m)
{
    *m = o->m;
    m->offline = o->offline;
    m->journal = o->n;
}

void offline_metrics_write(const struct offline *o, struct buf *b)
{
    struct offline_metrics m;
    offline_metrics_get(o, &m);
    buf_printf(
        b,
        "# HELP xtreamd_cluster_offline 1 while this edge cannot reach the main or the "
        "database.\n"
        "# TYPE xtreamd_cluster_offline gauge\n"
        "xtreamd_cluster_offline{policy=\"%s\"} %d\n"
        "# HELP xtreamd_cluster_offline_transitions_total Changes between online and offline.\n"
        "# TYPE xtreamd_cluster_offline_transitions_total counter\n"
        "xtreamd_cluster_offline_transitions_total %llu\n"
        "# HELP xtreamd_cluster_offline_admitted_total Stream starts admitted here while "
        "offline (policy local).\n"
        "# TYPE xtreamd_cluster_offline_admitted_total counter\n"
        "xtreamd_cluster_offline_admitted_total %llu\n"
        "# HELP xtreamd_cluster_offline_denied_total Stream starts refused while offline "
        "(policy deny).\n"
        "# TYPE xtreamd_cluster_offline_denied_total counter\n"
        "xtreamd_cluster_offline_denied_total %llu\n"
        "# HELP xtreamd_cluster_offline_journal Offline sessions not reconciled yet.\n"
        "# TYPE xtreamd_cluster_offline_journal gauge\n"
        "xtreamd_cluster_offline_journal %zu\n"
        "# HELP xtreamd_cluster_offline_journal_full_total Local starts refused at the "
        "journal's bound.\n"
        "# TYPE xtreamd_cluster_offline_journal_full_total counter\n"
        "xtreamd_cluster_offline_journal_full_total %llu\n"
        "# HELP xtreamd_cluster_offline_reconciled_total Offline sessions written to "
        "cluster_sessions.\n"
        "# TYPE xtreamd_cluster_offline_reconciled_total counter\n"
        "xtreamd_cluster_offline_reconciled_total %llu\n"
        "# HELP xtreamd_cluster_offline_reconcile_killed_total Sessions ended by newest wins "
        "when a journal was merged.\n"
        "# TYPE xtreamd_cluster_offline_reconcile_killed_total counter\n"
        "xtreamd_cluster_offline_reconcile_killed_total %llu\n"
        "# HELP xtreamd_cluster_offline_reconcile_failures_total Merges that failed (retried).\n"
        "# TYPE xtreamd_cluster_offline_reconcile_failures_total counter\n"
        "xtreamd_cluster_offline_reconcile_failures_total %llu\n",
        offline_policy_name(o->cfg.policy), m.offline ? 1 : 0, (unsigned long long)m.transitions,
        (unsigned long long)m.local_admitted, (unsigned long long)m.denied, m.journal,
        (unsigned long long)m.journal_full, (unsigned long long)m.reconciled,
        (unsigned long long)m.reconcile_killed, (unsigned long long)m.reconcile_failures);
}
