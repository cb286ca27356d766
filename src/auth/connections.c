/*
 * connections: see connections.h. Three growable hash tables (core/hashtab):
 * entries by handle, sessions by (line, kind, item, IP) and lines by id. A
 * line record lists its entries, so a line's count, its oldest entry and the
 * newest-wins victim search cost O(that line's entries); removed entries that
 * linger sit on one FIFO in removal order, so expiring them costs O(expired).
 * Nothing is a scan over every connection of the server.
 */
#include "auth/connections.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hashtab.h"

struct line_rec {
    struct htab_node node;
    int64_t line_id;
    size_t sessions;
    size_t active_sessions; /* sessions with an active entry */
    struct entry *entries;  /* the line's entries, active and lingering */
};

struct session {
    struct htab_node node;
    int64_t line_id;
    enum conn_kind kind;
    int64_t item_id;
    char ip[46];
    size_t refs;   /* entries (active or lingering) of this session */
    size_t active; /* entries not yet removed */
};

struct entry {
    struct htab_node node;       /* by handle */
    struct entry *lprev, *lnext; /* the line's list */
    struct entry *eprev, *enext; /* lingering FIFO (only once ended) */
    uint64_t handle;
    struct session *sess;
    struct line_rec *line;
    int64_t line_id;
    enum conn_kind kind;
    int64_t item_id;
    char ip[46];
    char ua[128];
    int64_t started;
    int64_t ended; /* 0 while active */
    conn_kick_fn kick;
    void *ctx;
    uint64_t tag; /* conn_registry_tag: told to the tag hooks (0: none) */
};

struct conn_registry {
    struct htab entries, sessions, lines;
    size_t n, active, max;
    size_t active_kind[CONN_TIMESHIFT + 1]; /* active entries by enum conn_kind */
    struct entry *linger_head, *linger_tail;
    uint64_t next_handle;
    int window;
    struct conn_registry_stats st;
    conn_limit_fn limit_fn; /* told when enforce kicked someone (the dashboard's events) */
    void *limit_ctx;
    conn_tag_fn tag_end, tag_touch; /* a tagged entry ended / was used (cluster sessions) */
    void *tag_ctx;
};

static uint64_t session_hash(int64_t line_id, enum conn_kind kind, int64_t item_id, const char *ip)
{
    uint64_t seed = htab_hash_u64((uint64_t)line_id * 31u + (uint64_t)kind) ^
                    htab_hash_u64((uint64_t)item_id + 0x9e3779b97f4a7c15ULL);
    return htab_hash_bytes(seed, ip, strlen(ip));
}

static struct line_rec *line_find(const struct conn_registry *r, int64_t line_id)
{
    uint64_t h = htab_hash_u64((uint64_t)line_id);
    for (struct htab_node *n = htab_first(&r->lines, h); n; n = htab_next(n)) {
        struct line_rec *l = htab_entry(n, struct line_rec, node);
        if (l->line_id == line_id)
            return l;
    }
    return NULL;
}

static struct session *session_find(const struct conn_registry *r, int64_t line_id,
                                    enum conn_kind kind, int64_t item_id, const char *ip)
{
    uint64_t h = session_hash(line_id, kind, item_id, ip);
    for (struct htab_node *n = htab_first(&r->sessions, h); n; n = htab_next(n)) {
        struct session *s = htab_entry(n, struct session, node);
        if (s->line_id == line_id && s->kind == kind && s->item_id == item_id &&
            strcmp(s->ip, ip) == 0)
            return s;
    }
    return NULL;
}

static struct entry *entry_find(const struct conn_registry *r, uint64_t handle)
{
    for (struct htab_node *n = htab_first(&r->entries, htab_hash_u64(handle)); n;
         n = htab_next(n)) {
        struct entry *e = htab_entry(n, struct entry, node);
        if (e->handle == handle)
            return e;
    }
    return NULL;
}

struct conn_registry *conn_registry_new(int window_secs)
{
    struct conn_registry *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->window = window_secs > 0 ? window_secs : 0;
    r->next_handle = 1;
    r->max = CONN_REGISTRY_DEFAULT_MAX;
    return r;
}

void conn_registry_set_max(struct conn_registry *r, size_t max)
{
    r->max = max ? max : 1;
}

void conn_registry_set_limit_hook(struct conn_registry *r, conn_limit_fn fn, void *ctx)
{
    r->limit_fn = fn;
    r->limit_ctx = ctx;
}

void conn_registry_set_tag_hooks(struct conn_registry *r, conn_tag_fn end, conn_tag_fn touch,
                                 void *ctx)
{
    r->tag_end = end;
    r->tag_touch = touch;
    r->tag_ctx = ctx;
}

uint64_t conn_registry_last_handle(const struct conn_registry *r)
{
    return r->next_handle - 1;
}

int conn_registry_tag(struct conn_registry *r, uint64_t handle, uint64_t tag)
{
    struct entry *e = handle ? entry_find(r, handle) : NULL;
    if (!e || e->ended)
        return -ENOENT;
    if (e->tag && tag)
        return -EEXIST;
    e->tag = tag;
    return 0;
}

bool conn_registry_touch(struct conn_registry *r, uint64_t handle)
{
    struct entry *e = handle ? entry_find(r, handle) : NULL;
    if (!e || e->ended || !e->tag)
        return false;
    if (r->tag_touch)
        r->tag_touch(r->tag_ctx, e->tag);
    return true;
}

void conn_registry_free(struct conn_registry *r)
{
    if (!r)
        return;
    struct htab *tabs[] = {&r->entries, &r->sessions, &r->lines};
    for (size_t k = 0; k < 3; k++) {
        size_t i = 0;
        struct htab_node *cur = NULL;
        for (struct htab_node *n; (n = htab_iter(tabs[k], &i, &cur));) {
            /* node is the first member of all three record types */
            free(n);
        }
        htab_free(tabs[k]);
    }
    free(r);
}

/* An entry of s ended: the session stops being active with its last one. */
static void session_deactivate(struct line_rec *l, struct session *s)
{
    if (--s->active == 0)
        l->active_sessions--;
}

_Static_assert(offsetof(struct entry, node) == 0, "freed through its node");
_Static_assert(offsetof(struct session, node) == 0, "freed through its node");
_Static_assert(offsetof(struct line_rec, node) == 0, "freed through its node");

static void linger_unlink(struct conn_registry *r, struct entry *e)
{
    if (e->eprev)
        e->eprev->enext = e->enext;
    else
        r->linger_head = e->enext;
    if (e->enext)
        e->enext->eprev = e->eprev;
    else
        r->linger_tail = e->eprev;
    e->eprev = e->enext = NULL;
}

/* Forgets an entry (active or lingering); its session and line go with
 * their last entry. */
static void drop(struct conn_registry *r, struct entry *e)
{
    struct line_rec *l = e->line;
    if (e->ended) {
        linger_unlink(r, e);
    } else {
        r->active--;
        r->active_kind[e->kind]--;
        session_deactivate(l, e->sess);
    }
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        l->entries = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    htab_remove(&r->entries, &e->node);
    struct session *s = e->sess;
    if (--s->refs == 0) {
        htab_remove(&r->sessions, &s->node);
        free(s);
        l->sessions--;
    }
    if (!l->entries) {
        htab_remove(&r->lines, &l->node);
        free(l);
    }
    r->n--;
    free(e);
}

/* Forgets removed entries whose linger window has passed (oldest first). */
static void prune(struct conn_registry *r, int64_t now)
{
    while (r->linger_head && now - r->linger_head->ended >= r->window)
        drop(r, r->linger_head);
}

uint64_t conn_registry_add(struct conn_registry *r, int64_t line_id, enum conn_kind kind,
                           int64_t item_id, const char *ip, const char *ua, int64_t now,
                           conn_kick_fn kick, void *ctx)
{
    ip = ip ? ip : "";
    prune(r, now);
    if (r->n >= r->max && r->linger_head) {
        drop(r, r->linger_head); /* a live connection matters more than a lingering seek window */
        r->st.linger_evicted++;
    }
    if (r->n >= r->max) {
        r->st.refused_full++;
        return 0;
    }
    struct entry *e = calloc(1, sizeof(*e));
    struct line_rec *l = line_find(r, line_id);
    bool new_line = !l;
    if (e && !l) {
        l = calloc(1, sizeof(*l));
        if (l) {
            l->line_id = line_id;
            htab_insert(&r->lines, &l->node, htab_hash_u64((uint64_t)line_id));
        }
    }
    struct session *s = e && l ? session_find(r, line_id, kind, item_id, ip) : NULL;
    if (e && l && !s) {
        s = calloc(1, sizeof(*s));
        if (s) {
            s->line_id = line_id;
            s->kind = kind;
            s->item_id = item_id;
            snprintf(s->ip, sizeof(s->ip), "%s", ip);
            htab_insert(&r->sessions, &s->node, session_hash(line_id, kind, item_id, s->ip));
            l->sessions++;
        }
    }
    if (!e || !l || !s) {
        if (l && new_line) {
            htab_remove(&r->lines, &l->node);
            free(l);
        }
        free(e);
        r->st.refused_nomem++;
        return 0;
    }
    s->refs++;
    if (s->active++ == 0)
        l->active_sessions++;
    e->sess = s;
    e->line = l;
    e->handle = r->next_handle++;
    e->line_id = line_id;
    e->kind = kind;
    e->item_id = item_id;
    snprintf(e->ip, sizeof(e->ip), "%s", ip);
    snprintf(e->ua, sizeof(e->ua), "%s", ua ? ua : "");
    e->started = now;
    e->kick = kick;
    e->ctx = ctx;
    e->lnext = l->entries;
    if (l->entries)
        l->entries->lprev = e;
    l->entries = e;
    htab_insert(&r->entries, &e->node, htab_hash_u64(e->handle));
    r->n++;
    r->active++;
    r->active_kind[e->kind]++;
    return e->handle;
}

void conn_registry_remove(struct conn_registry *r, uint64_t handle, int64_t now)
{
    struct entry *e = handle ? entry_find(r, handle) : NULL;
    if (!e || e->ended)
        return;
    e->kick = NULL;
    e->ctx = NULL;
    uint64_t tag = e->tag;
    e->tag = 0;
    if (tag && r->tag_end)
        r->tag_end(r->tag_ctx, tag); /* the entry is still there: nothing it does moves it */
    if (r->window == 0) {
        drop(r, e);
        return;
    }
    r->active--;
    r->active_kind[e->kind]--;
    session_deactivate(e->line, e->sess);
    e->ended = now > 0 ? now : 1;
    e->eprev = r->linger_tail;
    if (r->linger_tail)
        r->linger_tail->enext = e;
    else
        r->linger_head = e;
    r->linger_tail = e;
}

size_t conn_registry_count(struct conn_registry *r, int64_t line_id, int64_t now)
{
    prune(r, now);
    const struct line_rec *l = line_find(r, line_id);
    return l ? l->sessions : 0;
}

size_t conn_registry_count_active(struct conn_registry *r, int64_t line_id)
{
    struct line_rec *l = line_find(r, line_id);
    return l ? l->active_sessions : 0;
}

size_t conn_registry_active_kind(const struct conn_registry *r, enum conn_kind kind)
{
    return (unsigned)kind <= CONN_TIMESHIFT ? r->active_kind[kind] : 0;
}

size_t conn_registry_active(const struct conn_registry *r)
{
    return r->active;
}

size_t conn_registry_size(const struct conn_registry *r)
{
    return r->n;
}

void conn_registry_stats(const struct conn_registry *r, struct conn_registry_stats *out)
{
    *out = r->st;
}

static bool older(const struct entry *a, const struct entry *b)
{
    return !b || a->started < b->started || (a->started == b->started && a->handle < b->handle);
}

uint64_t conn_registry_oldest(const struct conn_registry *r, int64_t line_id,
                              struct conn_info *info)
{
    const struct line_rec *l = line_find(r, line_id);
    const struct entry *best = NULL;
    for (const struct entry *e = l ? l->entries : NULL; e; e = e->lnext)
        if (!e->ended && older(e, best))
            best = e;
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
    const struct entry *k = entry_find(r, keep);
    const struct session *keep_sess = k ? k->sess : NULL;
    int kicked = 0;
    while (conn_registry_count(r, line_id, now) > (size_t)max) {
        /* The oldest session: the one holding the oldest entry (active or lingering). */
        struct line_rec *l = line_find(r, line_id);
        const struct entry *victim = NULL;
        for (const struct entry *e = l ? l->entries : NULL; e; e = e->lnext)
            if (e->sess != keep_sess && older(e, victim))
                victim = e;
        if (!victim)
            break;
        const struct session *vs = victim->sess;
        conn_kick_fn fns[KICK_BATCH];
        void *ctxs[KICK_BATCH];
        size_t nk = 0;
        /* A batch of the victim session's entries goes (each active one is
         * kicked); entries past the batch stay registered, so the session is
         * still the victim on the next round: none escapes its kick. The
         * session dies with its last entry; the line stays (keep's session,
         * or the next victim's, is still on it). */
        for (struct entry *e = l->entries, *next; e; e = next) {
            next = e->lnext;
            if (e->sess != vs)
                continue;
            bool active = !e->ended && e->kick;
            if (active && nk == KICK_BATCH)
                continue;
            if (active) {
                fns[nk] = e->kick;
                ctxs[nk++] = e->ctx;
            }
            bool last = vs->refs == 1;
            drop(r, e);
            if (last)
                break;
        }
        for (size_t i = 0; i < nk; i++)
            fns[i](ctxs[i]); /* entries already gone: their removes are no-ops */
        kicked += (int)nk;
    }
    if (kicked && r->limit_fn)
        r->limit_fn(r->limit_ctx, line_id, max, kicked);
    return kicked;
}

size_t conn_registry_kick_all(struct conn_registry *r)
{
    return conn_registry_kick_item(r, -1, -1);
}

bool conn_registry_kick(struct conn_registry *r, uint64_t handle)
{
    struct entry *e = handle ? entry_find(r, handle) : NULL;
    if (!e || e->ended || !e->kick)
        return false;
    conn_kick_fn fn = e->kick;
    void *ctx = e->ctx;
    e->kick = NULL; /* kicked once, even if its removal is delayed */
    fn(ctx);
    return true;
}

size_t conn_registry_kick_item(struct conn_registry *r, int64_t line_id, int64_t item_id)
{
    /* Kicks run after the walk: a kick removes its entry (a no-op here, it is already gone),
     * and must not change the table under the iterator. Collected in batches. */
    size_t kicked = 0;
    for (;;) {
        conn_kick_fn fns[KICK_BATCH];
        void *ctxs[KICK_BATCH];
        size_t nk = 0, i = 0;
        struct htab_node *cur = NULL, *n;
        struct entry *batch[KICK_BATCH];
        while (nk < KICK_BATCH && (n = htab_iter(&r->entries, &i, &cur)) != NULL) {
            struct entry *e = htab_entry(n, struct entry, node);
            if (!e->ended && e->kick &&
                (line_id < 0 || (e->line_id == line_id && e->item_id == item_id)))
                batch[nk++] = e;
        }
        if (nk == 0)
            break;
        for (size_t k = 0; k < nk; k++) {
            fns[k] = batch[k]->kick;
            ctxs[k] = batch[k]->ctx;
            batch[k]->kick = NULL; /* kicked once, even if its removal is delayed */
        }
        for (size_t k = 0; k < nk; k++)
            fns[k](ctxs[k]);
        kicked += nk;
    }
    return kicked;
}
