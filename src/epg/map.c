/*
 * epg/map: automatic channel mapping. A stream without a tvg-id of its own
 * gets streams.epg_auto_id = the guide channel whose normalised display name
 * (or normalised id head) equals its normalised name; the best-priority
 * source wins. Stored in its own column, the mapping survives playlist
 * re-imports (which rewrite epg_channel_id only). Also finds candidate ids
 * for `xtreamd epg unmapped`.
 * Threading: any thread with its own struct db.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/epg.h"
#include "epg/epg.h"
#include "epg/map.h"
#include "core/hash.h"

struct index {
    const struct db_epg_guide **slots;
    size_t cap;
};

/* Which key an index is on. */
enum { BY_NAME, BY_ID_KEY, BY_CHANNEL };

static const char *key_of(const struct db_epg_guide *g, int by)
{
    return by == BY_NAME ? g->name_key : by == BY_ID_KEY ? g->id_key : g->channel_id;
}

/* Indexes guides by one key; the first (best) wins. */
static int index_build(struct index *ix, const struct db_epg_guide *g, size_t n, int by_id)
{
    ix->cap = 16;
    while (ix->cap < n * 2 + 2)
        ix->cap *= 2;
    ix->slots = calloc(ix->cap, sizeof(*ix->slots));
    if (!ix->slots)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *k = key_of(&g[i], by_id);
        if (!*k)
            continue;
        size_t j = hash_fnv1a_str(k) & (ix->cap - 1);
        bool dup = false;
        while (ix->slots[j]) {
            const char *o = key_of(ix->slots[j], by_id);
            if (strcmp(o, k) == 0) {
                dup = true;
                break;
            }
            j = (j + 1) & (ix->cap - 1);
        }
        if (!dup)
            ix->slots[j] = &g[i];
    }
    return 0;
}

static const struct db_epg_guide *index_find(const struct index *ix, const char *k, int by_id)
{
    if (!*k)
        return NULL;
    size_t j = hash_fnv1a_str(k) & (ix->cap - 1);
    while (ix->slots[j]) {
        const char *o = key_of(ix->slots[j], by_id);
        if (strcmp(o, k) == 0)
            return ix->slots[j];
        j = (j + 1) & (ix->cap - 1);
    }
    return NULL;
}

struct guide_set {
    struct db_epg_guide *g;
    size_t n;
    struct index by_name, by_id, by_channel;
};

static void guide_set_free(struct guide_set *s)
{
    free(s->by_name.slots);
    free(s->by_id.slots);
    free(s->by_channel.slots);
    db_epg_guides_free(s->g, s->n);
}

static int guide_set_load(struct db *db, struct guide_set *s)
{
    memset(s, 0, sizeof(*s));
    int rc = db_epg_guides(db, &s->g, &s->n);
    if (rc)
        return rc;
    if (index_build(&s->by_name, s->g, s->n, BY_NAME) ||
        index_build(&s->by_id, s->g, s->n, BY_ID_KEY) ||
        index_build(&s->by_channel, s->g, s->n, BY_CHANNEL)) {
        guide_set_free(s);
        return -ENOMEM;
    }
    return 0;
}

static const struct db_epg_guide *match(const struct guide_set *s, const char *name)
{
    char key[EPG_NAME_KEY];
    epg_normalize_name(name, key, sizeof(key));
    const struct db_epg_guide *g = index_find(&s->by_name, key, BY_NAME);
    return g ? g : index_find(&s->by_id, key, BY_ID_KEY);
}

int epg_automap(struct db *db, bool in_txn)
{
    struct guide_set gs;
    struct db_epg_stream *st = NULL;
    size_t n = 0;
    int rc = guide_set_load(db, &gs);
    if (rc)
        return rc;
    rc = db_epg_streams(db, &st, &n);
    if (rc)
        goto out;
    if (!in_txn && (rc = db_begin(db)) != 0)
        goto out;
    int mapped = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct db_epg_guide *g = st[i].epg_channel_id[0] ? NULL : match(&gs, st[i].name);
        if (g)
            mapped++;
        if (g ? strcmp(g->channel_id, st[i].epg_auto_id) != 0 : st[i].epg_auto_id[0] != '\0')
            rc = db_epg_set_auto(db, st[i].id, g ? g->channel_id : NULL);
    }
    if (!in_txn) {
        if (rc == 0)
            rc = db_commit(db);
        else
            db_rollback(db);
    }
    if (rc == 0)
        rc = mapped;
out:
    db_epg_streams_free(st, n);
    guide_set_free(&gs);
    return rc;
}

static bool has_guide(const struct guide_set *s, const char *id)
{
    return index_find(&s->by_channel, id, BY_CHANNEL) != NULL;
}

/* 100 same name key, 90 same id key, else shared prefix / containment. */
static int score(const char *key, const struct db_epg_guide *g)
{
    if (!*key)
        return 0;
    if (strcmp(key, g->name_key) == 0)
        return 100;
    if (strcmp(key, g->id_key) == 0)
        return 90;
    int best = 0;
    const char *cands[2] = {g->name_key, g->id_key};
    for (int c = 0; c < 2; c++) {
        const char *o = cands[c];
        size_t kl = strlen(key), ol = strlen(o);
        if (!ol)
            continue;
        size_t lo = kl < ol ? kl : ol, hi = kl < ol ? ol : kl;
        int sc = 0;
        if (lo >= 3 && (strstr(key, o) || strstr(o, key)))
            sc = (int)(80 * lo / hi);
        size_t p = 0;
        while (p < lo && key[p] == o[p])
            p++;
        if (p >= 3 && (int)(60 * p / hi) > sc)
            sc = (int)(60 * p / hi);
        if (sc > best)
            best = sc;
    }
    return best;
}

/* Keeps u's EPG_CANDIDATES best distinct ids, best first. */
static int add_candidate(struct epg_unmapped *u, const char *id, int sc)
{
    int slot = EPG_CANDIDATES;
    while (slot > 0 && (!u->candidate[slot - 1] || u->score[slot - 1] < sc))
        slot--;
    if (slot >= EPG_CANDIDATES)
        return 0;
    for (int k = 0; k < EPG_CANDIDATES && u->candidate[k]; k++)
        if (strcmp(u->candidate[k], id) == 0)
            return 0;
    free(u->candidate[EPG_CANDIDATES - 1]);
    memmove(&u->candidate[slot + 1], &u->candidate[slot],
            (EPG_CANDIDATES - 1 - (size_t)slot) * sizeof(u->candidate[0]));
    memmove(&u->score[slot + 1], &u->score[slot],
            (EPG_CANDIDATES - 1 - (size_t)slot) * sizeof(u->score[0]));
    u->candidate[slot] = strdup(id);
    u->score[slot] = sc;
    return u->candidate[slot] ? 0 : -ENOMEM;
}

int epg_unmapped_page(struct db *db, int64_t offset, int64_t limit, struct epg_unmapped **out,
                      size_t *count, int64_t *total)
{
    struct guide_set gs;
    struct db_epg_stream *st = NULL;
    size_t n = 0, cnt = 0;
    struct epg_unmapped *v = NULL;
    *out = NULL;
    *count = 0;
    *total = 0;
    if (offset < 0 || limit < 0)
        return -EINVAL;
    int rc = guide_set_load(db, &gs);
    if (rc)
        return rc;
    rc = db_epg_streams(db, &st, &n);
    if (rc)
        goto out;
    size_t cap = n < (size_t)limit ? n : (size_t)limit;
    v = calloc(cap ? cap : 1, sizeof(*v));
    if (!v) {
        rc = -ENOMEM;
        goto out;
    }
    /* Candidates are scored only for the rows of the page: scoring is
     * O(guides) per stream. */
    for (size_t i = 0; i < n; i++) {
        const char *eff = st[i].epg_channel_id[0] ? st[i].epg_channel_id : st[i].epg_auto_id;
        if (*eff && has_guide(&gs, eff))
            continue;
        int64_t at = (*total)++;
        if (at < offset || cnt >= cap)
            continue;
        struct epg_unmapped *u = &v[cnt++];
        u->stream_id = st[i].id;
        u->name = strdup(st[i].name);
        u->epg_id = strdup(eff);
        if (!u->name || !u->epg_id) {
            rc = -ENOMEM;
            goto out;
        }
        char key[EPG_NAME_KEY];
        epg_normalize_name(st[i].name, key, sizeof(key));
        for (size_t g = 0; g < gs.n && rc == 0; g++) {
            int sc = score(key, &gs.g[g]);
            if (sc >= 30)
                rc = add_candidate(u, gs.g[g].channel_id, sc);
        }
        if (rc)
            goto out;
    }
out:
    db_epg_streams_free(st, n);
    guide_set_free(&gs);
    if (rc) {
        epg_unmapped_free(v, cnt);
        *total = 0;
        return rc;
    }
    *out = v;
    *count = cnt;
    return 0;
}

int epg_unmapped(struct db *db, struct epg_unmapped **out, size_t *count)
{
    int64_t total;
    return epg_unmapped_page(db, 0, INT64_MAX, out, count, &total);
}

void epg_unmapped_free(struct epg_unmapped *u, size_t n)
{
    for (size_t i = 0; u && i < n; i++) {
        free(u[i].name);
        free(u[i].epg_id);
        for (int k = 0; k < EPG_CANDIDATES; k++)
            free(u[i].candidate[k]);
    }
    free(u);
}

int epg_guide_channel_page(struct db *db, int64_t source_id, const char *q, int64_t offset,
                           int64_t limit, struct epg_guide_channel **out, size_t *n, int64_t *total)
{
    struct db_epg_channel *rows = NULL;
    size_t cnt = 0;
    *out = NULL;
    *n = 0;
    if (offset < 0 || limit < 0)
        return -EINVAL;
    int rc = db_epg_channel_page(db, source_id, q, offset, limit, &rows, &cnt, total);
    if (rc)
        return rc;
    struct epg_guide_channel *v = calloc(cnt ? cnt : 1, sizeof(*v));
    if (!v) {
        db_epg_channels_free(rows, cnt);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cnt; i++) /* the strings move over */
        v[i] = (struct epg_guide_channel){rows[i].source_id,  rows[i].source_name,
                                          rows[i].channel_id, rows[i].display_name,
                                          rows[i].icon,       rows[i].programmes};
    free(rows);
    *out = v;
    *n = cnt;
    return 0;
}

void epg_guide_channels_free(struct epg_guide_channel *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        free(c[i].source_name);
        free(c[i].channel_id);
        free(c[i].display_name);
        free(c[i].icon);
    }
    free(c);
}
