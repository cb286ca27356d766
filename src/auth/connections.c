/*
 * connections: see connections.h. Entries live in a flat array (callers hold
 * handles, not entries, so nothing dangles when it is compacted). Sessions
 * are refcounted records in a hash table keyed by (line, kind, item, IP), and
 * every line has a session counter in a second hash table, so a line's
 * session count is O(1) and registering or removing an entry is O(entries)
 * at worst (the linger prune and the handle lookup), never quadratic.
 */
#include "auth/connections.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESS_BUCKETS 4096 /* powers of two */
#define LINE_BUCKETS 1024

struct session {
    int64_t line_id;
    enum conn_kind kind;
    int64_t item_id;
    char ip[46];
    size_t refs;   /* entries (active or lingering) of this session */
    size_t active; /* entries not yet removed */
    struct session *hnext;
};

struct line_count {
    int64_t line_id;
    size_t sessions;
    size_t active_sessions; /* sessions with an active entry */
    struct line_count *hnext;
};

struct entry {
    uint64_t handle;
    struct session *sess;
    int64_t line_id;
    enum conn_kind kind;
    int64_t item_id;
    char ip[46];
    char ua[128];
    int64_t started;
    int64_t ended; /* 0 while active */
    conn_kick_fn kick;
    void *ctx;
};

struct conn_registry {
    struct entry *e;
    size_t n, cap;
    uint64_t next_handle;
    int window;
    struct session *sessions[SESS_BUCKETS];
    struct line_count *lines[LINE_BUCKETS];
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static size_t session_bucket(int64_t line_id, enum conn_kind kind, int64_t item_id, const char *ip)
{
    uint64_t h = mix64((uint64_t)line_id * 31u + (uint64_t)kind) ^ mix64((uint64_t)item_id);
    for (const unsigned char *p = (const unsigned char *)ip; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return (size_t)(mix64(h) & (SESS_BUCKETS - 1));
}

static struct line_count **line_slot(struct conn_registry *r, int64_t line_id)
{
    struct line_count **pp = &r->lines[mix64((uint64_t)line_id) & (LINE_BUCKETS - 1)];
    while (*pp && (*pp)->line_id != line_id)
        pp = &(*pp)->hnext;
    return pp;
}

/* The session of (line, kind, item, ip), created if needed; NULL without memory. */
static struct session *session_get(struct conn_registry *r, int64_t line_id, enum conn_kind kind,
                                   int64_t item_id, const char *ip)
{
    struct session **head = &r->sessions[session_bucket(line_id, kind, item_id, ip)];
    for (struct session *s = *head; s; s = s->hnext)
        if (s->line_id == line_id && s->kind == kind && s->item_id == item_id &&
            strcmp(s->ip, ip) == 0)
            return s;
    struct line_count **lp = line_slot(r, line_id);
    if (!*lp) {
        *lp = calloc(1, sizeof(**lp));
        if (!*lp)
            return NULL;
        (*lp)->line_id = line_id;
    }
    struct session *s = calloc(1, sizeof(*s));
    if (!s) {
        if ((*lp)->sessions == 0) {
            free(*lp);
            *lp = NULL;
        }
        return NULL;
    }
    s->line_id = line_id;
    s->kind = kind;
    s->item_id = item_id;
    snprintf(s->ip, sizeof(s->ip), "%s", ip);
    s->hnext = *head;
    *head = s;
    (*lp)->sessions++;
    return s;
}

/* Drops one entry's reference; the last one removes the session. */
static void session_put(struct conn_registry *r, struct session *s)
{
    if (--s->refs)
        return;
    struct session **pp = &r->sessions[session_bucket(s->line_id, s->kind, s->item_id, s->ip)];
    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    struct line_count **lp = line_slot(r, s->line_id);
    if (*lp && --(*lp)->sessions == 0) {
        struct line_count *dead = *lp;
        *lp = dead->hnext;
        free(dead);
    }
    free(s);
}

struct conn_registry *conn_registry_new(int window_secs)
{
    struct conn_registry *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->window = window_secs > 0 ? window_secs : 0;
    r->next_handle = 1;
    return r;
}

void conn_registry_free(struct conn_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < SESS_BUCKETS; i++)
        for (struct session *s = r->sessions[i], *n; s; s = n) {
            n = s->hnext;
            free(s);
        }
    for (size_t i = 0; i < LINE_BUCKETS; i++)
        for (struct line_count *l = r->lines[i], *n; l; l = n) {
            n = l->hnext;
            free(l);
        }
    free(r->e);
    free(r);
}

/* An entry of s ended: the session stops being active with its last one. */
static void session_deactivate(struct conn_registry *r, struct session *s)
{
    if (--s->active)
        return;
    struct line_count *l = *line_slot(r, s->line_id);
    if (l)
        l->active_sessions--;
}

static void drop_at(struct conn_registry *r, size_t i)
{
    if (!r->e[i].ended)
        session_deactivate(r, r->e[i].sess);
    session_put(r, r->e[i].sess);
    r->e[i] = r->e[--r->n];
}

/* Forgets removed entries whose linger window has passed. */
static void prune(struct conn_registry *r, int64_t now)
{
    for (size_t i = 0; i < r->n;) {
        if (r->e[i].ended && now - r->e[i].ended >= r->window)
            drop_at(r, i);
        else
            i++;
    }
}

uint64_t conn_registry_add(struct conn_registry *r, int64_t line_id, enum conn_kind kind,
                           int64_t item_id, const char *ip, const char *ua, int64_t now,
                           conn_kick_fn kick, void *ctx)
{
    prune(r, now);
    if (r->n == r->cap) {
        if (r->cap >= CONN_REGISTRY_MAX)
            return 0;
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct entry *grown = realloc(r->e, cap * sizeof(*grown));
        if (!grown)
            return 0;
        r->e = grown;
        r->cap = cap;
    }
    struct session *sess = session_get(r, line_id, kind, item_id, ip ? ip : "");
    if (!sess)
        return 0;
    sess->refs++;
    if (sess->active++ == 0)
        (*line_slot(r, line_id))->active_sessions++;
    struct entry *e = &r->e[r->n++];
    memset(e, 0, sizeof(*e));
    e->sess = sess;
    e->handle = r->next_handle++;
    e->line_id = line_id;
    e->kind = kind;
    e->item_id = item_id;
    snprintf(e->ip, sizeof(e->ip), "%s", ip ? ip : "");
    snprintf(e->ua, sizeof(e->ua), "%s", ua ? ua : "");
    e->started = now;
    e->kick = kick;
    e->ctx = ctx;
    return e->handle;
}

static struct entry *find(const struct conn_registry *r, uint64_t handle)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->e[i].handle == handle)
            return &r->e[i];
    return NULL;
}

void conn_registry_remove(struct conn_registry *r, uint64_t handle, int64_t now)
{
    struct entry *e = handle ? find(r, handle) : NULL;
    if (!e || e->ended)
        return;
    e->ended = now > 0 ? now : 1;
    session_deactivate(r, e->sess);
    e->kick = NULL;
    e->ctx = NULL;
    if (r->window == 0)
        drop_at(r, (size_t)(e - r->e));
}

size_t conn_registry_count(struct conn_registry *r, int64_t line_id, int64_t now)
{
    prune(r, now);
    struct line_count *l = *line_slot(r, line_id);
    return l ? l->sessions : 0;
}

size_t conn_registry_count_active(struct conn_registry *r, int64_t line_id)
{
    struct line_count *l = *line_slot(r, line_id);
    return l ? l->active_sessions : 0;
}

size_t conn_registry_active(const struct conn_registry *r)
{
    size_t count = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!r->e[i].ended)
            count++;
    return count;
}

uint64_t conn_registry_oldest(const struct conn_registry *r, int64_t line_id,
                              struct conn_info *info)
{
    const struct entry *best = NULL;
    for (size_t i = 0; i < r->n; i++) {
        const struct entry *e = &r->e[i];
        if (e->line_id != line_id || e->ended)
            continue;
        if (!best || e->started < best->started ||
            (e->started == best->started && e->handle < best->handle))
            best = e;
    }
    if (!best)
        return 0;
    if (info) {
        info->handle = best->handle;
        info->line_id = best->line_id;
        info->kind = best->kind;
        info->item_id = best->item_id;
        info->ip = best->ip;
        info->ua = best->ua;
        info->started = best->started;
    }
    return best->handle;
}

#define KICK_BATCH 64

int conn_registry_enforce(struct conn_registry *r, int64_t line_id, int max, uint64_t keep,
                          int64_t now)
{
    if (max <= 0)
        return 0;
    const struct entry *k = find(r, keep);
    const struct session *keep_sess = k ? k->sess : NULL;
    int kicked = 0;
    while (conn_registry_count(r, line_id, now) > (size_t)max) {
        /* The oldest session: the one holding the oldest entry (active or lingering). */
        const struct entry *victim = NULL;
        for (size_t i = 0; i < r->n; i++) {
            const struct entry *e = &r->e[i];
            if (e->line_id != line_id || e->sess == keep_sess)
                continue;
            if (!victim || e->started < victim->started ||
                (e->started == victim->started && e->handle < victim->handle))
                victim = e;
        }
        if (!victim)
            break;
        const struct session *vs = victim->sess;
        size_t left = vs->refs; /* the session dies with its last entry */
        conn_kick_fn fns[KICK_BATCH];
        void *ctxs[KICK_BATCH];
        size_t nk = 0;
        for (size_t i = 0; i < r->n && left;) {
            if (r->e[i].sess != vs) {
                i++;
                continue;
            }
            left--;
            if (!r->e[i].ended && r->e[i].kick && nk < KICK_BATCH) {
                fns[nk] = r->e[i].kick;
                ctxs[nk++] = r->e[i].ctx;
            }
            drop_at(r, i);
        }
        for (size_t i = 0; i < nk; i++)
            fns[i](ctxs[i]); /* entries already gone: their removes are no-ops */
        kicked += (int)nk;
    }
    return kicked;
}
