/*
 * connections: see connections.h. A flat array, scanned linearly: a few
 * thousand viewers cost microseconds per registration, and the structure has
 * no pointers into it that could dangle (callers hold handles, not entries).
 */
#include "auth/connections.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    uint64_t handle;
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
};

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
    free(r->e);
    free(r);
}

static void drop_at(struct conn_registry *r, size_t i)
{
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

static bool same_session(const struct entry *a, const struct entry *b)
{
    return a->line_id == b->line_id && a->kind == b->kind && a->item_id == b->item_id &&
           strcmp(a->ip, b->ip) == 0;
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
    struct entry *e = &r->e[r->n++];
    memset(e, 0, sizeof(*e));
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
    e->kick = NULL;
    e->ctx = NULL;
    if (r->window == 0)
        drop_at(r, (size_t)(e - r->e));
}

/* Whether entry i is the first of its session among the line's live entries. */
static bool session_first(const struct conn_registry *r, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (same_session(&r->e[j], &r->e[i]))
            return false;
    return true;
}

size_t conn_registry_count(struct conn_registry *r, int64_t line_id, int64_t now)
{
    prune(r, now);
    size_t count = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->e[i].line_id == line_id && session_first(r, i))
            count++;
    return count;
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
    struct entry keep_key;
    if (k)
        keep_key = *k;
    int kicked = 0;
    while (conn_registry_count(r, line_id, now) > (size_t)max) {
        /* The oldest session: the one holding the oldest entry (active or lingering). */
        const struct entry *victim = NULL;
        for (size_t i = 0; i < r->n; i++) {
            const struct entry *e = &r->e[i];
            if (e->line_id != line_id || (k && same_session(e, &keep_key)))
                continue;
            if (!victim || e->started < victim->started ||
                (e->started == victim->started && e->handle < victim->handle))
                victim = e;
        }
        if (!victim)
            break;
        struct entry key = *victim;
        conn_kick_fn fns[KICK_BATCH];
        void *ctxs[KICK_BATCH];
        size_t nk = 0;
        for (size_t i = 0; i < r->n;) {
            if (!same_session(&r->e[i], &key)) {
                i++;
                continue;
            }
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
