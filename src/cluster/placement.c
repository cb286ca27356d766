/*
 * placement: the node-selection policy (see placement.h for the rule). Kept free of
 * every other module (only the C library's headers) so the simulation in bench/cluster-sim
 * links it alone and measures exactly the code admission runs.
 */
#include "cluster/placement.h"

#include <errno.h>
#include <string.h>

enum { RANK_FIRST, RANK_MIDDLE, RANK_LAST, RANKS };

/* splitmix64: turns the caller's one random word into as many well-mixed draws as needed
 * (two per power-of-two round, two rounds at most). */
static uint64_t next_draw(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Egress plus the pending viewers at the node's mean per-session bitrate, saturating. A node
 * with no session yet has no mean: its pending viewers count for nothing here (the session
 * cap and the next heartbeat bound them). */
static uint64_t egress_estimate(const struct placement_node *p)
{
    if (p->sessions == 0 || p->pending == 0)
        return p->egress_bps;
    uint64_t per = p->egress_bps / p->sessions;
    if (per != 0 && p->pending > (UINT64_MAX - p->egress_bps) / per)
        return UINT64_MAX;
    return p->egress_bps + per * p->pending;
}

/* egress_estimate plus the viewer being placed at the mean per-session bitrate; with no
 * session there is no mean: egress_estimate, unchanged (the caps bound it at the heartbeat). */
static uint64_t egress_with_one_more(const struct placement_node *p)
{
    uint64_t e = egress_estimate(p);
    if (p->sessions == 0)
        return e;
    uint64_t per = p->egress_bps / p->sessions;
    return e > UINT64_MAX - per ? UINT64_MAX : e + per;
}

double placement_load(const struct placement_node *n)
{
    double load = 0;
    if (n->max_sessions > 0) {
        double s = ((double)n->sessions + (double)n->pending) / (double)n->max_sessions;
        if (s > load)
            load = s;
    }
    if (n->max_egress_bps > 0) {
        double e = (double)egress_estimate(n) / (double)n->max_egress_bps;
        if (e > load)
            load = e;
    }
    /* A NaN or negative CPU figure (a broken heartbeat) counts as 0, not as a poison
     * value that would make every comparison false. */
    if (n->cpu_pct > 0) {
        double c = (double)n->cpu_pct / 100.0;
        if (c > load)
            load = c;
    }
    return load;
}

/* Filter 1 of placement.h: may this node take one more viewer of this channel at all? */
static bool eligible(const struct placement_node *p)
{
    if (!p->active || !p->fresh || !(p->runs_channel || p->may_start))
        return false;
    if (p->max_sessions > 0 && (uint64_t)p->sessions + p->pending >= p->max_sessions)
        return false;
    /* the new viewer counts too (at the mean): a node it would take over its egress cap is
     * overloaded at once (cluster/node.h cluster_load_eval) and sends the viewer back off */
    if (p->max_egress_bps > 0) {
        uint64_t e = egress_with_one_more(p);
        if (e > p->max_egress_bps || e == UINT64_MAX) /* saturated: beyond any cap */
            return false;
    }
    return true;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Is cc in the comma-separated list (spaces around items ignored, case-insensitive)? */
static bool lists_country(const char *list, const char *cc)
{
    size_t cl = strlen(cc);
    if (cl == 0 || list == NULL)
        return false;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && end[-1] == ' ')
            end--;
        if ((size_t)(end - start) == cl) {
            size_t i = 0;
            while (i < cl && lower(start[i]) == lower(cc[i]))
                i++;
            if (i == cl)
                return true;
        }
    }
    return false;
}

static bool has_countries(const char *list)
{
    if (list == NULL)
        return false;
    for (; *list; list++)
        if (*list != ' ' && *list != ',')
            return true;
    return false;
}

/* The geo rank of an eligible node for this country, or -1 if it may not take the viewer. */
static int geo_rank(const struct placement_node *p, const char *cc)
{
    bool listed = lists_country(p->countries, cc);
    switch (p->geo_mode) {
    case PLACEMENT_GEO_STRICT:
        if (!has_countries(p->countries))
            return RANK_MIDDLE; /* strict with no list restricts nothing */
        return listed ? RANK_FIRST : -1;
    case PLACEMENT_GEO_AVOID:
        return listed ? RANK_LAST : RANK_MIDDLE;
    case PLACEMENT_GEO_PREFER:
    default:
        return listed ? RANK_FIRST : RANK_MIDDLE;
    }
}

struct pool {
    const struct placement_node *nodes;
    size_t n;
    const char *cc;
    int rank;
    bool runners_only;
};

static bool in_pool(const struct pool *pl, size_t i)
{
    const struct placement_node *p = &pl->nodes[i];
    if (p->weight == 0 || !eligible(p) || geo_rank(p, pl->cc) != pl->rank)
        return false;
    return !pl->runners_only || p->runs_channel;
}

/* The indices of the a-th and b-th (0-based, distinct) members of the pool, in one pass. */
static void pool_pair(const struct pool *pl, size_t a, size_t b, size_t *ia, size_t *ib)
{
    size_t k = 0;
    for (size_t i = 0; i < pl->n; i++) {
        if (!in_pool(pl, i))
            continue;
        if (k == a)
            *ia = i;
        if (k == b)
            *ib = i;
        k++;
    }
}

static double weighted_load(const struct placement_node *p)
{
    return placement_load(p) * 100.0 / (double)p->weight;
}

/* a unless b is strictly better: lower weighted load, then higher weight, then running. */
static size_t better(const struct placement_node *nodes, size_t a, size_t b)
{
    double la = weighted_load(&nodes[a]), lb = weighted_load(&nodes[b]);
    if (la != lb)
        return lb < la ? b : a;
    if (nodes[a].weight != nodes[b].weight)
        return nodes[b].weight > nodes[a].weight ? b : a;
    if (nodes[a].runs_channel != nodes[b].runs_channel)
        return nodes[b].runs_channel ? b : a;
    return a;
}

/* Power of two choices among the m members of the pool: two distinct uniform draws, the
 * better one wins (so the single worst member is never chosen when m >= 2). */
static size_t two_choices(const struct pool *pl, size_t m, uint64_t *rnd)
{
    size_t a = 0, b = 0;
    if (m > 1) {
        a = (size_t)(next_draw(rnd) % m);
        b = (size_t)(next_draw(rnd) % (m - 1));
        if (b >= a)
            b++;
    }
    size_t ia = 0, ib = 0;
    pool_pair(pl, a, b, &ia, &ib);
    return m == 1 ? ia : better(pl->nodes, ia, ib);
}

int placement_choose(const struct placement_node *nodes, size_t n, const struct placement_req *r,
                     size_t *chosen)
{
    return placement_choose_margin(nodes, n, r, PLACEMENT_AFFINITY_MARGIN, chosen);
}

int placement_choose_margin(const struct placement_node *nodes, size_t n,
                            const struct placement_req *r, double affinity_margin, size_t *chosen)
{
    if (n == 0)
        return -EAGAIN;
    if (nodes == NULL || r == NULL || chosen == NULL)
        return -EINVAL;
    const char *cc = r->country ? r->country : "";

    if (r->force_node != 0) {
        for (size_t i = 0; i < n; i++) {
            if (nodes[i].id == r->force_node && eligible(&nodes[i])) {
                *chosen = i;
                return 0;
            }
        }
    }

    size_t count[RANKS] = {0}, runners[RANKS] = {0};
    for (size_t i = 0; i < n; i++) {
        if (nodes[i].weight == 0 || !eligible(&nodes[i]))
            continue;
        int rank = geo_rank(&nodes[i], cc);
        if (rank < 0)
            continue;
        count[rank]++;
        if (nodes[i].runs_channel)
            runners[rank]++;
    }
    int rank = 0;
    while (rank < RANKS && count[rank] == 0)
        rank++;
    if (rank == RANKS)
        return -EAGAIN;

    uint64_t rnd = r->random;
    struct pool all = {nodes, n, cc, rank, false};
    size_t best = two_choices(&all, count[rank], &rnd);
    if (runners[rank] > 0 && runners[rank] < count[rank] && !nodes[best].runs_channel) {
        struct pool run = {nodes, n, cc, rank, true};
        size_t r2 = two_choices(&run, runners[rank], &rnd);
        if (weighted_load(&nodes[r2]) <= weighted_load(&nodes[best]) + affinity_margin)
            best = r2;
    }
    *chosen = best;
    return 0;
}
