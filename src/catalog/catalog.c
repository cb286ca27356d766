#include "catalog/catalog_priv.h"
#include "core/hash.h"
#include "core/log.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

/* Rendered responses kept per snapshot, all caches together: past either
 * bound the least recently used entries are evicted. */
#define CATALOG_CACHE_MAX_BYTES   ((size_t)96 << 20)
#define CATALOG_CACHE_MAX_ENTRIES 2048
#define CATALOG_CACHE_BUCKETS     1024

/* One cached response. Found by (view, full key bytes): the hash only picks
 * the bucket, so two keys with equal hashes never share a body. */
struct cat_cache_entry {
    struct cat_cache_entry *hnext;         /* bucket chain */
    struct cat_cache_entry *newer, *older; /* LRU list, newest first */
    const struct cat_view *view;           /* NULL: snapshot-wide */
    uint64_t hash;
    size_t klen;
    char *key;
    struct refbuf *rb;
    /* The gzip variant: decided once (made, or declined: NULL), then fixed. */
    bool gz_decided;
    struct refbuf *gz;
};

/* What one set of bouquets sees. NULL bitsets mean "everything". */
struct cat_view {
    struct cat_view *next;
    char *key;
    uint8_t *kind_items[CAT_KIND_COUNT]; /* bit per stream / movie / series index */
    uint8_t *categories[CAT_KIND_COUNT]; /* bit per category index */
    /* The visible items' indexes in output order (xtream-api.md §3.4: the
     * bouquet order), made once with the view so a render only walks it. */
    size_t *order[CAT_KIND_COUNT];
    size_t order_count[CAT_KIND_COUNT];
    struct catalog *owner;
};

int catalog_new(struct catalog **out)
{
    struct catalog *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->priv = calloc(1, sizeof(*c->priv));
    if (!c->priv) {
        free(c);
        return -ENOMEM;
    }
    arena_init(&c->priv->arena, 256 * 1024);
    c->refs = 1;
    *out = c;
    return 0;
}

static void entry_free(struct cat_cache_entry *e)
{
    refbuf_unref(e->rb);
    refbuf_unref(e->gz);
    free(e->key);
    free(e);
}

static void cache_free_all(struct catalog_priv *p)
{
    struct cat_cache_entry *e = p->cache_newest;
    while (e) {
        struct cat_cache_entry *older = e->older;
        entry_free(e);
        e = older;
    }
    free(p->cache_buckets);
}

static void catalog_free(struct catalog *c)
{
    sodium_memzero(&c->signing.keys, sizeof(c->signing.keys)); /* no key left in freed memory */
    struct catalog_priv *p = c->priv;
    struct cat_view *v = p->views;
    while (v) {
        struct cat_view *next = v->next;
        for (int k = 0; k < CAT_KIND_COUNT; k++) {
            free(v->kind_items[k]);
            free(v->categories[k]);
            free(v->order[k]);
        }
        free(v->key);
        free(v);
        v = next;
    }
    cache_free_all(p);
    cat_guide_unref(p->guide);
    cat_content_unref(p->content);
    cat_lines_unref(p->lines);
    arena_free(&p->arena);
    free(p);
    free(c);
}

void catalog_memory_setup(void)
{
#ifdef __GLIBC__
    /* A fixed threshold (glibc's default one rises to the size of every
     * mmap'd block freed, after which the 256 KiB snapshot arena blocks land
     * in the heaps and fragment them): arena blocks and large arrays are
     * mmap'd on their own and go back to the kernel whole when freed. 128 KiB
     * is glibc's initial value, pinned: below it stay the 64 KiB buffers the
     * admin API and the event stream allocate per request (an mmap each would
     * cost syscalls on hot paths for nothing). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

const struct cat_guide *catalog_guide(const struct catalog *c)
{
    return c ? c->priv->guide : NULL;
}

struct catalog *catalog_ref(struct catalog *c)
{
    c->refs++;
    return c;
}

void catalog_unref(struct catalog *c)
{
    if (c && --c->refs == 0)
        catalog_free(c);
}

static int cmp_id_index(const void *a, const void *b)
{
    int64_t x = ((const struct cat_id_index *)a)->id, y = ((const struct cat_id_index *)b)->id;
    return (x > y) - (x < y);
}

static int cmp_episode_index(const void *a, const void *b)
{
    int64_t x = ((const struct cat_episode_index *)a)->id;
    int64_t y = ((const struct cat_episode_index *)b)->id;
    return (x > y) - (x < y);
}

static struct cat_id_index *build_index(size_t n, const void *base, size_t stride, size_t id_off)
{
    struct cat_id_index *ix = malloc((n ? n : 1) * sizeof(*ix));
    if (!ix)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *item = (const char *)base + i * stride;
        memcpy(&ix[i].id, item + id_off, sizeof(int64_t));
        ix[i].index = i;
    }
    qsort(ix, n, sizeof(*ix), cmp_id_index);
    return ix;
}

static size_t kind_count(const struct catalog *c, enum cat_kind k)
{
    return k == CAT_LIVE ? c->stream_count : k == CAT_MOVIE ? c->movie_count : c->series_count;
}

/* A snapshot's content part or line base is tens of MiB of small allocations
 * (indexes, strings) spread over the heaps of the loop and of the builder
 * threads; glibc returns a heap's free pages to the kernel only from its top,
 * so without this each rebuild left holes behind and RSS grew with every
 * rebuild (bench/memory). Trimming every arena after such a part dies returns
 * their free pages whole; it costs a few ms (median 2.5 ms at 100,000
 * channels). Only for those parts: a rebuild for a line change frees neither,
 * and must not pay for it. */
static void trim_heaps(void)
{
#ifdef __GLIBC__
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    malloc_trim(0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    log_debug("catalog", "malloc_trim took %.2f ms",
              (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
#endif
}

int cat_content_new(struct cat_content **out)
{
    struct cat_content *ct = calloc(1, sizeof(*ct));
    if (!ct)
        return -ENOMEM;
    arena_init(&ct->arena, 256 * 1024);
    ct->refs = 1;
    *out = ct;
    return 0;
}

struct cat_content *cat_content_ref(struct cat_content *ct)
{
    __atomic_add_fetch(&ct->refs, 1, __ATOMIC_RELAXED);
    return ct;
}

void cat_content_unref(struct cat_content *ct)
{
    if (!ct || __atomic_sub_fetch(&ct->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (int k = 0; k < CAT_KIND_COUNT; k++) {
        free(ct->by_id[k]);
        free(ct->category_by_id[k]);
    }
    free(ct->episodes_by_id);
    arena_free(&ct->arena);
    free(ct);
    trim_heaps();
}

int cat_content_finish(struct cat_content *ct)
{
    ct->by_id[CAT_LIVE] = build_index(ct->stream_count, ct->streams, sizeof(*ct->streams),
                                      offsetof(struct cat_stream, id));
    ct->by_id[CAT_MOVIE] = build_index(ct->movie_count, ct->movies, sizeof(*ct->movies),
                                       offsetof(struct cat_movie, id));
    ct->by_id[CAT_SERIES] = build_index(ct->series_count, ct->series, sizeof(*ct->series),
                                        offsetof(struct cat_series, id));
    for (int k = 0; k < CAT_KIND_COUNT; k++) {
        if (!ct->by_id[k])
            return -ENOMEM;
        ct->category_by_id[k] =
            build_index(ct->category_count[k], ct->categories[k], sizeof(struct cat_category),
                        offsetof(struct cat_category, id));
        if (!ct->category_by_id[k])
            return -ENOMEM;
    }
    ct->episode_total = 0;
    for (size_t i = 0; i < ct->series_count; i++)
        ct->episode_total += ct->series[i].episode_count;
    ct->episodes_by_id =
        malloc((ct->episode_total ? ct->episode_total : 1) * sizeof(*ct->episodes_by_id));
    if (!ct->episodes_by_id)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < ct->series_count; i++)
        for (size_t e = 0; e < ct->series[i].episode_count; e++)
            ct->episodes_by_id[n++] =
                (struct cat_episode_index){ct->series[i].episodes[e].id, (uint32_t)i, (uint32_t)e};
    qsort(ct->episodes_by_id, n, sizeof(*ct->episodes_by_id), cmp_episode_index);
    return 0;
}

void catalog_set_content(struct catalog *c, struct cat_content *ct)
{
    struct catalog_priv *p = c->priv;
    cat_content_unref(p->content);
    p->content = cat_content_ref(ct);
    for (int k = 0; k < CAT_KIND_COUNT; k++) {
        c->categories[k] = ct->categories[k];
        c->category_count[k] = ct->category_count[k];
    }
    c->streams = ct->streams;
    c->stream_count = ct->stream_count;
    c->movies = ct->movies;
    c->movie_count = ct->movie_count;
    c->series = ct->series;
    c->series_count = ct->series_count;
}

int cat_line_block_new(struct cat_line_block **out)
{
    struct cat_line_block *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    arena_init(&b->arena, 64 * 1024);
    b->refs = 1;
    *out = b;
    return 0;
}

struct cat_line_block *cat_line_block_ref(struct cat_line_block *b)
{
    __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
    return b;
}

void cat_line_block_unref(struct cat_line_block *b)
{
    if (!b || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    bool base = b->by_id != NULL;
    free(b->by_id);
    free(b->slots);
    arena_free(&b->arena);
    free(b);
    if (base)
        trim_heaps();
}

/* An open-addressing table of lines by username: a power of two at least
 * twice n. */
static const struct cat_line **name_index(const struct cat_line *const *lines, size_t n,
                                          size_t *mask)
{
    size_t slots = 16;
    while (slots < n * 2)
        slots *= 2;
    const struct cat_line **t = calloc(slots, sizeof(*t));
    if (!t)
        return NULL;
    *mask = slots - 1;
    for (size_t i = 0; i < n; i++) {
        if (!lines[i])
            continue;
        size_t s = hash_fnv1a_str(lines[i]->username) & *mask;
        while (t[s])
            s = (s + 1) & *mask;
        t[s] = lines[i];
    }
    return t;
}

static const struct cat_line *name_find(const struct cat_line *const *t, size_t mask,
                                        const char *username)
{
    if (!t)
        return NULL;
    size_t s = hash_fnv1a_str(username) & mask;
    for (; t[s]; s = (s + 1) & mask)
        if (strcmp(t[s]->username, username) == 0)
            return t[s];
    return NULL;
}

int cat_line_block_index(struct cat_line_block *b)
{
    b->slots = name_index(b->by_id, b->count, &b->mask);
    return b->slots ? 0 : -ENOMEM;
}

const struct cat_line *cat_line_block_find_id(const struct cat_line_block *b, int64_t id)
{
    size_t lo = 0, hi = b && b->by_id ? b->count : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t at = b->by_id[mid]->id;
        if (at == id)
            return b->by_id[mid];
        if (at < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int cat_lines_new(struct cat_line_block *base, size_t changes, size_t blocks,
                  struct cat_lines **out)
{
    struct cat_lines *ls = calloc(1, sizeof(*ls));
    if (!ls)
        return -ENOMEM;
    ls->refs = 1;
    ls->base = cat_line_block_ref(base);
    ls->changes = malloc((changes ? changes : 1) * sizeof(*ls->changes));
    ls->blocks = malloc((blocks ? blocks : 1) * sizeof(*ls->blocks));
    if (!ls->changes || !ls->blocks) {
        cat_lines_unref(ls);
        return -ENOMEM;
    }
    *out = ls;
    return 0;
}

struct cat_lines *cat_lines_ref(struct cat_lines *ls)
{
    __atomic_add_fetch(&ls->refs, 1, __ATOMIC_RELAXED);
    return ls;
}

void cat_lines_unref(struct cat_lines *ls)
{
    if (!ls || __atomic_sub_fetch(&ls->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (size_t i = 0; i < ls->block_count; i++)
        cat_line_block_unref(ls->blocks[i]);
    cat_line_block_unref(ls->base);
    free(ls->blocks);
    free(ls->changes);
    free(ls->names);
    free(ls);
}

int cat_lines_finish(struct cat_lines *ls)
{
    const struct cat_line **lines = malloc((ls->change_count + 1) * sizeof(*lines));
    if (!lines)
        return -ENOMEM;
    ls->count = ls->base->count;
    for (size_t i = 0; i < ls->change_count; i++) {
        lines[i] = ls->changes[i].line;
        ls->count +=
            (lines[i] != NULL) - (cat_line_block_find_id(ls->base, ls->changes[i].id) != NULL);
    }
    free(ls->names);
    ls->names = ls->change_count ? name_index(lines, ls->change_count, &ls->names_mask) : NULL;
    int rc = ls->change_count && !ls->names ? -ENOMEM : 0;
    free(lines);
    return rc;
}

void catalog_set_lines(struct catalog *c, struct cat_lines *ls)
{
    cat_lines_unref(c->priv->lines);
    c->priv->lines = cat_lines_ref(ls);
    c->line_count = ls->count;
}

static const struct cat_line_change *line_change(const struct cat_lines *ls, int64_t id)
{
    size_t lo = 0, hi = ls->change_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ls->changes[mid].id == id)
            return &ls->changes[mid];
        if (ls->changes[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct cat_line *catalog_device_line(const struct catalog *c, const char *mac)
{
    size_t lo = 0, hi = c->device_count;
    while (lo < hi) { /* binary search: devices are sorted by MAC */
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->devices[mid].mac, mac);
        if (cmp == 0)
            return catalog_line(c, c->devices[mid].username);
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct cat_line *catalog_line(const struct catalog *c, const char *username)
{
    const struct cat_lines *ls = c->priv->lines;
    if (!ls)
        return NULL;
    const struct cat_line *l = name_find(ls->names, ls->names_mask, username);
    if (l)
        return l;
    l = name_find(ls->base->slots, ls->base->mask, username);
    /* a base line that changed since is stale: had it kept this name, the
     * changes would have answered */
    return l && !line_change(ls, l->id) ? l : NULL;
}

const struct cat_line *catalog_line_by_id(const struct catalog *c, int64_t id)
{
    const struct cat_lines *ls = c->priv->lines;
    if (!ls)
        return NULL;
    const struct cat_line_change *ch = line_change(ls, id);
    return ch ? ch->line : cat_line_block_find_id(ls->base, id);
}

static const struct cat_id_index *find_id(const struct cat_id_index *ix, size_t n, int64_t id)
{
    struct cat_id_index key = {id, 0};
    return bsearch(&key, ix, n, sizeof(*ix), cmp_id_index);
}

const struct cat_category *catalog_category(const struct catalog *c, enum cat_kind kind, int64_t id)
{
    const struct cat_id_index *f =
        find_id(c->priv->content->category_by_id[kind], c->category_count[kind], id);
    return f ? &c->categories[kind][f->index] : NULL;
}

const struct cat_stream *catalog_stream(const struct catalog *c, int64_t id)
{
    const struct cat_id_index *f = find_id(c->priv->content->by_id[CAT_LIVE], c->stream_count, id);
    return f ? &c->streams[f->index] : NULL;
}

const struct cat_movie *catalog_movie(const struct catalog *c, int64_t id)
{
    const struct cat_id_index *f = find_id(c->priv->content->by_id[CAT_MOVIE], c->movie_count, id);
    return f ? &c->movies[f->index] : NULL;
}

const struct cat_series *catalog_series(const struct catalog *c, int64_t id)
{
    const struct cat_id_index *f =
        find_id(c->priv->content->by_id[CAT_SERIES], c->series_count, id);
    return f ? &c->series[f->index] : NULL;
}

const struct cat_episode *catalog_episode(const struct catalog *c, int64_t id,
                                          const struct cat_series **series)
{
    struct cat_episode_index key = {id, 0, 0};
    const struct cat_episode_index *f =
        bsearch(&key, c->priv->content->episodes_by_id, c->priv->content->episode_total,
                sizeof(struct cat_episode_index), cmp_episode_index);
    if (!f)
        return NULL;
    if (series)
        *series = &c->series[f->series];
    return &c->series[f->series].episodes[f->episode];
}

/* ---- views ---- */

static inline void bit_set(uint8_t *bits, size_t i)
{
    bits[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static inline bool bit_get(const uint8_t *bits, size_t i)
{
    return bits[i >> 3] & (1u << (i & 7));
}

static const struct cat_bouquet *find_bouquet(const struct cat_content *p, int64_t id)
{
    for (size_t i = 0; i < p->bouquet_count; i++)
        if (p->bouquets[i].id == id)
            return &p->bouquets[i];
    return NULL;
}

static int64_t item_category(const struct catalog *c, enum cat_kind k, size_t i)
{
    return k == CAT_LIVE    ? c->streams[i].category_id
           : k == CAT_MOVIE ? c->movies[i].category_id
                            : c->series[i].category_id;
}

/* Appends item i to the view's output order unless it is there already:
 * the first bouquet (and place) that names an item decides its position. */
static void view_take(struct cat_view *v, int k, size_t i)
{
    if (bit_get(v->kind_items[k], i))
        return;
    bit_set(v->kind_items[k], i);
    v->order[k][v->order_count[k]++] = i;
}

/* The order rule (docs/internals/catalog.md "Output order"): the bouquet's
 * own items in their position order, then the items of the categories it
 * names (categories in position order, their items in catalogue order). */
static void view_add_bouquet(struct cat_view *v, const struct catalog *c,
                             const struct cat_bouquet *b)
{
    const struct cat_content *p = c->priv->content;
    for (int k = 0; k < CAT_KIND_COUNT; k++) {
        for (size_t j = 0; j < b->item_count[k]; j++) {
            const struct cat_id_index *f = find_id(p->by_id[k], kind_count(c, k), b->items[k][j]);
            if (f)
                view_take(v, k, f->index);
        }
        for (size_t j = 0; j < b->category_count; j++) {
            const struct cat_id_index *f =
                find_id(p->category_by_id[k], c->category_count[k], b->categories[j]);
            if (!f)
                continue;
            bit_set(v->categories[k], f->index);
            for (size_t i = 0; i < kind_count(c, k); i++)
                if (item_category(c, k, i) == b->categories[j])
                    view_take(v, k, i);
        }
    }
}

/* A category is visible when the bouquets name it or when it holds a visible item. */
static void view_mark_item_categories(struct cat_view *v, const struct catalog *c)
{
    const struct cat_content *p = c->priv->content;
    for (int k = 0; k < CAT_KIND_COUNT; k++)
        for (size_t i = 0; i < kind_count(c, k); i++) {
            if (!bit_get(v->kind_items[k], i))
                continue;
            const struct cat_id_index *f =
                find_id(p->category_by_id[k], c->category_count[k], item_category(c, k, i));
            if (f)
                bit_set(v->categories[k], f->index);
        }
}

static int view_build(struct cat_view *v, const struct catalog *c)
{
    const struct cat_content *p = c->priv->content;
    bool all = v->key[0] == '\0';
    const char *s;
    for (s = v->key; !all && *s;) {
        char *end;
        long long id = strtoll(s, &end, 10);
        if (end == s)
            break;
        const struct cat_bouquet *b = find_bouquet(p, id);
        if (b && b->all)
            all = true;
        s = *end == ',' ? end + 1 : end;
    }
    if (all)
        return 0;
    for (int k = 0; k < CAT_KIND_COUNT; k++) {
        v->kind_items[k] = calloc(kind_count(c, k) / 8 + 1, 1);
        v->categories[k] = calloc(c->category_count[k] / 8 + 1, 1);
        v->order[k] = malloc((kind_count(c, k) + 1) * sizeof(*v->order[k]));
        if (!v->kind_items[k] || !v->categories[k] || !v->order[k])
            return -ENOMEM;
    }
    for (s = v->key; *s;) {
        char *end;
        long long id = strtoll(s, &end, 10);
        if (end == s)
            break;
        const struct cat_bouquet *b = find_bouquet(p, id);
        if (b)
            view_add_bouquet(v, c, b);
        s = *end == ',' ? end + 1 : end;
    }
    view_mark_item_categories(v, c);
    return 0;
}

static struct cat_view *view_by_key(struct catalog *c, const char *key)
{
    struct catalog_priv *p = c->priv;
    for (struct cat_view *v = p->views; v; v = v->next)
        if (strcmp(v->key, key) == 0)
            return v;
    struct cat_view *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->key = strdup(key);
    v->owner = c;
    if (!v->key || view_build(v, c)) {
        for (int k = 0; k < CAT_KIND_COUNT; k++) {
            free(v->kind_items[k]);
            free(v->categories[k]);
            free(v->order[k]);
        }
        free(v->key);
        free(v);
        return NULL;
    }
    v->next = p->views;
    p->views = v;
    return v;
}

struct cat_view *catalog_view(struct catalog *c, const struct cat_line *line)
{
    return view_by_key(c, line->view_key);
}

bool cat_view_has_stream(const struct cat_view *v, const struct catalog *c, size_t index)
{
    (void)c;
    return !v->kind_items[CAT_LIVE] || bit_get(v->kind_items[CAT_LIVE], index);
}

bool cat_view_has_movie(const struct cat_view *v, const struct catalog *c, size_t index)
{
    (void)c;
    return !v->kind_items[CAT_MOVIE] || bit_get(v->kind_items[CAT_MOVIE], index);
}

bool cat_view_has_series(const struct cat_view *v, const struct catalog *c, size_t index)
{
    (void)c;
    return !v->kind_items[CAT_SERIES] || bit_get(v->kind_items[CAT_SERIES], index);
}

size_t cat_view_count(const struct cat_view *v, const struct catalog *c, enum cat_kind kind)
{
    return v->order[kind] ? v->order_count[kind] : kind_count(c, kind);
}

size_t cat_view_item(const struct cat_view *v, enum cat_kind kind, size_t j)
{
    return v->order[kind] ? v->order[kind][j] : j;
}

bool cat_view_has_category(const struct cat_view *v, enum cat_kind kind, size_t index)
{
    return !v->categories[kind] || bit_get(v->categories[kind], index);
}

/* ---- caches ---- */

/* Process-wide counters for /metrics (loop thread only). */
static uint64_t cache_evictions, cache_refused, cache_adopted;

static uint64_t (*cache_hash)(const void *, size_t) = hash_fnv1a;

void catalog_cache_set_hash(uint64_t (*fn)(const void *key, size_t len))
{
    cache_hash = fn ? fn : hash_fnv1a;
}

void catalog_cache_set_limits(struct catalog *c, size_t max_entries, size_t max_bytes)
{
    c->priv->cache_max_entries = max_entries;
    c->priv->cache_max_bytes = max_bytes;
}

void catalog_cache_stats(const struct catalog *c, struct catalog_cache_stats *out)
{
    const struct catalog_priv *p = c ? c->priv : NULL;
    out->entries = p ? p->cache_entries : 0;
    out->bytes = p ? p->cache_bytes : 0;
    out->max_entries = p && p->cache_max_entries ? p->cache_max_entries : CATALOG_CACHE_MAX_ENTRIES;
    out->max_bytes = p && p->cache_max_bytes ? p->cache_max_bytes : CATALOG_CACHE_MAX_BYTES;
    out->evictions = cache_evictions;
    out->refused = cache_refused;
    out->adopted = cache_adopted;
    out->version = c ? c->version : 0;
}

static size_t max_entries(const struct catalog_priv *p)
{
    return p->cache_max_entries ? p->cache_max_entries : CATALOG_CACHE_MAX_ENTRIES;
}

static size_t max_bytes(const struct catalog_priv *p)
{
    return p->cache_max_bytes ? p->cache_max_bytes : CATALOG_CACHE_MAX_BYTES;
}

static size_t entry_bytes(const struct cat_cache_entry *e)
{
    return e->rb->len + (e->gz ? e->gz->len : 0);
}

static void lru_unlink(struct catalog_priv *p, struct cat_cache_entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        p->cache_newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        p->cache_oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(struct catalog_priv *p, struct cat_cache_entry *e)
{
    e->older = p->cache_newest;
    e->newer = NULL;
    if (p->cache_newest)
        p->cache_newest->newer = e;
    p->cache_newest = e;
    if (!p->cache_oldest)
        p->cache_oldest = e;
}

static void cache_remove(struct catalog_priv *p, struct cat_cache_entry *e)
{
    struct cat_cache_entry **pp = &p->cache_buckets[e->hash % CATALOG_CACHE_BUCKETS];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(p, e);
    p->cache_entries--;
    p->cache_bytes -= entry_bytes(e);
    entry_free(e);
}

/* Evicts least recently used entries (never keep) until one more entry of
 * `bytes` fits (add_entry) or `bytes` more fit. False when it cannot. */
static bool make_room(struct catalog_priv *p, size_t bytes, bool add_entry,
                      const struct cat_cache_entry *keep)
{
    if (bytes > max_bytes(p))
        return false;
    while (p->cache_bytes + bytes > max_bytes(p) ||
           (add_entry && p->cache_entries + 1 > max_entries(p))) {
        struct cat_cache_entry *victim = p->cache_oldest;
        if (victim == keep)
            victim = victim->newer;
        if (!victim)
            return false;
        cache_remove(p, victim);
        cache_evictions++;
    }
    return true;
}

static struct cat_cache_entry *cache_find(struct catalog_priv *p, const struct cat_view *view,
                                          const char *key)
{
    if (!p->cache_buckets || !key)
        return NULL;
    size_t klen = strlen(key);
    uint64_t h = cache_hash(key, klen) ^ (uint64_t)(uintptr_t)view;
    for (struct cat_cache_entry *e = p->cache_buckets[h % CATALOG_CACHE_BUCKETS]; e; e = e->hnext)
        if (e->hash == h && e->view == view && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    return NULL;
}

/* A lookup that counts as a use (moves the entry to the LRU front). */
static struct cat_cache_entry *cache_use(struct catalog_priv *p, const struct cat_view *view,
                                         const char *key)
{
    struct cat_cache_entry *e = cache_find(p, view, key);
    if (e && e != p->cache_newest) {
        lru_unlink(p, e);
        lru_push(p, e);
    }
    return e;
}

static int cache_put(struct catalog_priv *p, const struct cat_view *view, const char *key,
                     struct refbuf *rb)
{
    if (!p->cache_buckets) {
        p->cache_buckets = calloc(CATALOG_CACHE_BUCKETS, sizeof(*p->cache_buckets));
        if (!p->cache_buckets)
            return -ENOMEM;
    }
    struct cat_cache_entry *old = cache_find(p, view, key);
    if (old)
        cache_remove(p, old); /* replaced, not evicted */
    if (!make_room(p, rb->len, true, NULL)) {
        cache_refused++;
        return -ENOSPC;
    }
    struct cat_cache_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->klen = strlen(key);
    e->key = malloc(e->klen + 1);
    if (!e->key) {
        free(e);
        return -ENOMEM;
    }
    memcpy(e->key, key, e->klen + 1);
    e->view = view;
    e->hash = cache_hash(key, e->klen) ^ (uint64_t)(uintptr_t)view;
    e->rb = refbuf_ref(rb);
    struct cat_cache_entry **bucket = &p->cache_buckets[e->hash % CATALOG_CACHE_BUCKETS];
    e->hnext = *bucket;
    *bucket = e;
    lru_push(p, e);
    p->cache_entries++;
    p->cache_bytes += rb->len;
    return 0;
}

static int gzip_get(const struct cat_cache_entry *e, struct refbuf **gz)
{
    *gz = NULL;
    if (!e)
        return -ENOENT;
    if (!e->gz_decided)
        return -EAGAIN;
    if (e->gz)
        *gz = refbuf_ref(e->gz);
    return 0;
}

static int gzip_put(struct catalog_priv *p, struct cat_cache_entry *e, struct refbuf *gz)
{
    if (!e)
        return -ENOENT;
    if (e->gz_decided)
        return -EEXIST;
    e->gz_decided = true; /* made or declined, never tried again */
    if (!gz)
        return 0;
    if (!make_room(p, gz->len, false, e)) {
        cache_refused++;
        return -ENOSPC;
    }
    e->gz = refbuf_ref(gz);
    p->cache_bytes += gz->len;
    return 0;
}

struct refbuf *cat_view_cache_get(struct cat_view *v, const char *key)
{
    struct cat_cache_entry *e = cache_use(v->owner->priv, v, key);
    return e ? refbuf_ref(e->rb) : NULL;
}

void cat_view_cache_put(struct cat_view *v, const char *key, struct refbuf *rb)
{
    cache_put(v->owner->priv, v, key, rb);
}

struct refbuf *catalog_cache_get(struct catalog *c, const char *key)
{
    struct cat_cache_entry *e = cache_use(c->priv, NULL, key);
    return e ? refbuf_ref(e->rb) : NULL;
}

void catalog_cache_put(struct catalog *c, const char *key, struct refbuf *rb)
{
    cache_put(c->priv, NULL, key, rb);
}

size_t catalog_adopt_caches(struct catalog *to, struct catalog *from)
{
    if (!to || !from || to == from || !to->priv->content || !from->priv->content ||
        (to->priv->content != from->priv->content &&
         to->priv->content->hash != from->priv->content->hash) ||
        to->priv->guide != from->priv->guide)
        return 0;
    size_t adopted = 0;
    /* Oldest first, so that the newest ends up newest again. */
    for (struct cat_cache_entry *e = from->priv->cache_oldest; e; e = e->newer) {
        if (!e->view)
            continue;
        struct cat_view *v = view_by_key(to, e->view->key);
        if (!v || cache_put(to->priv, v, e->key, e->rb))
            continue;
        if (e->gz_decided)
            gzip_put(to->priv, cache_find(to->priv, v, e->key), e->gz);
        adopted++;
    }
    cache_adopted += adopted;
    return adopted;
}

int cat_view_cache_get_gzip(struct cat_view *v, const char *key, struct refbuf **gz)
{
    return gzip_get(cache_find(v->owner->priv, v, key), gz);
}

int cat_view_cache_put_gzip(struct cat_view *v, const char *key, struct refbuf *gz)
{
    return gzip_put(v->owner->priv, cache_find(v->owner->priv, v, key), gz);
}

int catalog_cache_get_gzip(struct catalog *c, const char *key, struct refbuf **gz)
{
    return gzip_get(cache_find(c->priv, NULL, key), gz);
}

int catalog_cache_put_gzip(struct catalog *c, const char *key, struct refbuf *gz)
{
    return gzip_put(c->priv, cache_find(c->priv, NULL, key), gz);
}
