#include "catalog/guide.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/hash.h"

struct cat_guide {
    atomic_int refs;
    struct arena arena;
    char *stamp;
    struct cat_guide_channel *chans;
    size_t nchans, max;
    size_t *slots; /* open addressing, power of two, index + 1 */
    size_t mask;
    size_t programmes;
};

int cat_guide_new(const char *stamp, size_t max_channels, struct cat_guide **out)
{
    struct cat_guide *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    atomic_init(&g->refs, 1);
    arena_init(&g->arena, 256 * 1024);
    size_t cap = 16;
    while (cap < max_channels * 2 + 2)
        cap *= 2;
    g->mask = cap - 1;
    g->max = max_channels;
    g->stamp = strdup(stamp ? stamp : "");
    g->slots = calloc(cap, sizeof(*g->slots));
    g->chans = calloc(max_channels ? max_channels : 1, sizeof(*g->chans));
    if (!g->stamp || !g->slots || !g->chans) {
        cat_guide_unref(g);
        return -ENOMEM;
    }
    *out = g;
    return 0;
}

struct cat_guide *cat_guide_ref(struct cat_guide *g)
{
    if (g)
        atomic_fetch_add(&g->refs, 1);
    return g;
}

void cat_guide_unref(struct cat_guide *g)
{
    if (!g || atomic_fetch_sub(&g->refs, 1) != 1)
        return;
    for (size_t i = 0; i < g->nchans; i++)
        free((void *)g->chans[i].progs);
    free(g->chans);
    free(g->slots);
    free(g->stamp);
    arena_free(&g->arena);
    free(g);
}

const char *cat_guide_strdup(struct cat_guide *g, const char *s)
{
    return arena_strdup(&g->arena, s ? s : "");
}

static size_t *slot_of(const struct cat_guide *g, const char *id)
{
    size_t j = hash_fnv1a_str(id) & g->mask;
    while (g->slots[j] && strcmp(g->chans[g->slots[j] - 1].channel_id, id) != 0)
        j = (j + 1) & g->mask;
    return &g->slots[j];
}

int cat_guide_add(struct cat_guide *g, const char *channel_id, bool found, int64_t source_id,
                  struct cat_programme *progs, size_t count)
{
    if (g->nchans == g->max) {
        free(progs);
        return -ENOSPC;
    }
    size_t *slot = slot_of(g, channel_id);
    if (*slot) {
        free(progs);
        return -EEXIST;
    }
    const char *id = cat_guide_strdup(g, channel_id);
    if (!id) {
        free(progs);
        return -ENOMEM;
    }
    struct cat_guide_channel *c = &g->chans[g->nchans++];
    c->channel_id = id;
    c->found = found;
    c->source_id = source_id;
    c->progs = progs;
    c->count = count;
    *slot = g->nchans;
    g->programmes += count;
    return 0;
}

bool cat_guide_has_channel(const struct cat_guide *g, const char *channel_id)
{
    return g && *slot_of(g, channel_id) != 0;
}

const struct cat_guide_channel *cat_guide_find(const struct cat_guide *g, const char *channel_id)
{
    if (!g || !channel_id)
        return NULL;
    size_t s = *slot_of(g, channel_id);
    if (!s || !g->chans[s - 1].found)
        return NULL;
    return &g->chans[s - 1];
}

size_t cat_guide_first_from(const struct cat_guide_channel *ch, int64_t t)
{
    size_t lo = 0, hi = ch->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ch->progs[mid].start < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const char *cat_guide_stamp(const struct cat_guide *g)
{
    return g ? g->stamp : "";
}

size_t cat_guide_channel_count(const struct cat_guide *g)
{
    return g ? g->nchans : 0;
}

size_t cat_guide_programme_count(const struct cat_guide *g)
{
    return g ? g->programmes : 0;
}
