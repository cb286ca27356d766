/*
 * cluster-sim: a discrete-event simulation of the cluster's viewer placement (issue 16,
 * docs/cluster-simulation.md). N nodes with heterogeneous session and bandwidth caps,
 * V viewers arriving and leaving over simulated time, channel popularity Zipf-like, a
 * flash crowd (a goal: a fifth of the viewers within 10 s), and one node failure. Every
 * node heartbeats every --refresh-ms (2 s) at its own phase and the deciding main refreshes
 * its view of the nodes at the same period, so each decision sees loads up to two periods
 * old. Policies compared:
 *   random         uniform among the nodes under their caps (caps on the stale view)
 *   least          least loaded on the stale view, no in-flight counter (XC_VM 1.x)
 *   least+pending  least loaded, counting redirects since each node's heartbeat
 *   p2c            placement_choose() with pending hidden (stale loads only)
 *   p2c+pending    placement_choose() as admission calls it, without channel affinity
 *   ours           placement_choose() as admission calls it: pending and channel affinity
 * The p2c rows run the real src/cluster/placement.c. Three seeds per policy; the median
 * row is what the document quotes. --check asserts the properties the ctest smoke test
 * guards (exit 1 on a violation).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/placement.h"

#define SEC          1000000LL /* the clock is in microseconds */
#define SAMPLE_EVERY (1 * SEC)

enum policy { P_RANDOM, P_LEAST, P_LEAST_PENDING, P_P2C, P_P2C_PENDING, P_OURS, P_COUNT };
static const char *const policy_name[P_COUNT] = {"random", "least",       "least+pending",
                                                 "p2c",    "p2c+pending", "ours"};

struct cfg {
    int nodes, viewers, channels, seeds;
    int64_t duration, refresh;
    double utilisation; /* peak concurrent sessions / total session capacity */
    double margin;      /* ours: the affinity margin (placement_choose_margin) */
    int only;           /* -1 all policies, else one */
    bool check;
};

struct viewer {
    int64_t end;  /* when the viewer leaves (set when placed) */
    int64_t dur;  /* watching time still ahead when (re)arriving */
    int32_t ch;   /* channel */
    int32_t node; /* -1 when not placed */
    uint32_t gen; /* invalidates a departure event after a failure moved the viewer */
    bool moved;   /* re-placed after the failure */
};

enum ev_type { EV_ARRIVE, EV_DEPART, EV_HEARTBEAT, EV_REFRESH, EV_SAMPLE, EV_FAIL };
struct ev {
    int64_t t;
    uint64_t seq; /* FIFO among equal times: deterministic runs */
    int type;
    int32_t id;
    uint32_t gen;
};

struct heap {
    struct ev *a;
    size_t n, cap;
    uint64_t seq;
};

struct node {
    uint32_t max_sessions;
    uint64_t max_egress;
    uint32_t sessions;
    uint64_t egress;
    uint32_t channels_running;
    bool down;
    int64_t phase;
    /* What its last heartbeat said, and the redirect counter at that time. */
    int64_t hb_at;
    uint32_t hb_sessions;
    uint64_t hb_egress;
    float hb_cpu;
    uint64_t redirects, hb_redirects;
    uint32_t in_interval; /* viewers sent to it since the main's last refresh */
    uint32_t received;    /* moved viewers it took after the failure */
    uint64_t starts;
};

struct result {
    double max_mean, p99_mean, peak_load, mean_running;
    double herd, herd_arrivals, over_cap, refused, pulls;
    double moved, failed_redirects, receivers, max_received, load_before, peak_after;
    double seconds_to_replace;
};
#define NMETRICS (sizeof(struct result) / sizeof(double))

struct sim {
    const struct cfg *cfg;
    enum policy pol;
    uint64_t rng;
    struct node *nodes;
    struct viewer *viewers;
    uint32_t *running; /* nodes x channels: viewers of that channel on that node */
    uint32_t *bitrate; /* per channel, bits per second */
    struct placement_node *view;
    struct placement_node *scratch;
    uint32_t *pend;
    int64_t view_at;
    struct heap h;
    int64_t now, fail_at;
    int failed;
    /* measurements */
    double *ratios;
    size_t nratios, cap_ratios;
    struct result r;
    uint64_t interval_arrivals;
    double running_sum;
    uint64_t running_samples;
    int64_t last_moved_at;
};

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return (double)(splitmix(s) >> 11) / 9007199254740992.0;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        fprintf(stderr, "cluster-sim: out of memory\n");
        exit(2);
    }
    return p;
}

static bool ev_less(const struct ev *a, const struct ev *b)
{
    return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void push(struct heap *h, int64_t t, int type, int32_t id, uint32_t gen)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        struct ev *a = realloc(h->a, h->cap * sizeof(*a));
        if (a == NULL) {
            fprintf(stderr, "cluster-sim: out of memory\n");
            exit(2);
        }
        h->a = a;
    }
    struct ev e = {t, h->seq++, type, id, gen};
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_less(&e, &h->a[p]))
            break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = e;
}

static struct ev pop(struct heap *h)
{
    struct ev top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && ev_less(&h->a[c + 1], &h->a[c]))
            c++;
        if (!ev_less(&h->a[c], &last))
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n > 0)
        h->a[i] = last;
    return top;
}

static float node_cpu(const struct node *n)
{
    /* Serving a viewer is cheap (40 % of the CPU at the session cap); every running channel
     * costs its ingest (0.05 % each: 600 channels = 30 %). */
    double c = 2.0 + 40.0 * n->sessions / (n->max_sessions ? n->max_sessions : 1) +
               0.05 * n->channels_running;
    return (float)(c > 100 ? 100 : c);
}

/* The node's true load now (what a perfectly fresh view would show). */
static double true_load(const struct node *n)
{
    struct placement_node p = {.sessions = n->sessions,
                               .max_sessions = n->max_sessions,
                               .egress_bps = n->egress,
                               .max_egress_bps = n->max_egress,
                               .cpu_pct = node_cpu(n)};
    return placement_load(&p);
}

static bool use_pending(enum policy p)
{
    return p == P_LEAST_PENDING || p == P_P2C_PENDING || p == P_OURS;
}

/* The main's view refresh: every node as of its last heartbeat; pending = the redirects
 * sent to it since that heartbeat (the main decays pending when the node reports). */
static void refresh_view(struct sim *s)
{
    s->view_at = s->now;
    for (int i = 0; i < s->cfg->nodes; i++) {
        struct node *n = &s->nodes[i];
        struct placement_node *v = &s->view[i];
        v->fresh = s->now - n->hb_at < 3 * s->cfg->refresh; /* 3 missed heartbeats */
        v->sessions = n->hb_sessions;
        v->egress_bps = n->hb_egress;
        v->cpu_pct = n->hb_cpu;
        s->pend[i] = (uint32_t)(n->redirects - n->hb_redirects);
    }
}

/* XC_VM-style baselines: the caps checked on the view (with pending only for
 * least+pending), then uniform or least loaded (random tie-break). */
static int baseline(struct sim *s, size_t *chosen)
{
    int n = s->cfg->nodes;
    size_t count = 0, best = 0;
    double best_load = 0;
    for (int i = 0; i < n; i++) {
        struct placement_node *v = &s->scratch[i];
        if (!v->active || !v->fresh)
            continue;
        if (v->max_sessions && (uint64_t)v->sessions + v->pending >= v->max_sessions)
            continue;
        if (v->max_egress_bps && v->egress_bps >= v->max_egress_bps)
            continue;
        double l = placement_load(v);
        count++;
        if (s->pol == P_RANDOM) {
            if (splitmix(&s->rng) % count == 0) /* reservoir sampling: uniform */
                best = (size_t)i;
        } else if (count == 1 || l < best_load ||
                   (l == best_load && splitmix(&s->rng) % count == 0)) {
            best = (size_t)i;
            best_load = l;
        }
    }
    if (count == 0)
        return -EAGAIN;
    *chosen = best;
    return 0;
}

static void place(struct sim *s, int32_t vid)
{
    struct viewer *v = &s->viewers[vid];
    int n = s->cfg->nodes, C = s->cfg->channels;
    bool pending = use_pending(s->pol), affinity = s->pol == P_OURS;
    for (int i = 0; i < n; i++) {
        s->scratch[i] = s->view[i];
        s->scratch[i].pending = pending ? s->pend[i] : 0;
        /* The main knows where it sent viewers of each channel: the truth, not the view. */
        s->scratch[i].runs_channel = affinity && s->running[(size_t)i * C + v->ch] > 0;
    }
    size_t c = 0;
    int rc;
    if (s->pol == P_RANDOM || s->pol == P_LEAST || s->pol == P_LEAST_PENDING) {
        rc = baseline(s, &c);
    } else {
        struct placement_req req = {.country = "", .random = splitmix(&s->rng)};
        rc = placement_choose_margin(s->scratch, (size_t)n, &req, s->cfg->margin, &c);
    }
    if (rc != 0) {
        s->r.refused++;
        return;
    }
    struct node *nd = &s->nodes[c];
    nd->redirects++;
    s->pend[c]++;
    nd->in_interval++;
    s->interval_arrivals++;
    if (nd->down) {
        /* Redirected to a dead node the view still shows as fresh: the player fails to
         * connect and asks again a second later. */
        s->r.failed_redirects++;
        push(&s->h, s->now + SEC, EV_ARRIVE, vid, 0);
        return;
    }
    nd->sessions++;
    nd->egress += s->bitrate[v->ch];
    if (s->running[c * (size_t)C + v->ch]++ == 0) {
        nd->channels_running++;
        nd->starts++;
        s->r.pulls++;
    }
    if (nd->sessions > nd->max_sessions)
        s->r.over_cap++;
    v->node = (int32_t)c;
    v->end = s->now + v->dur;
    v->gen++;
    if (v->moved) {
        nd->received++;
        s->last_moved_at = s->now;
    }
    push(&s->h, v->end, EV_DEPART, vid, v->gen);
}

static void leave(struct sim *s, int32_t vid)
{
    struct viewer *v = &s->viewers[vid];
    struct node *nd = &s->nodes[v->node];
    size_t k = (size_t)v->node * s->cfg->channels + v->ch;
    nd->sessions--;
    nd->egress -= s->bitrate[v->ch];
    if (--s->running[k] == 0)
        nd->channels_running--;
    v->node = -1;
}

/* The busiest node dies: its viewers reconnect 1-5 s later (the player's retry), and the
 * main keeps sending viewers to it until it has missed 3 heartbeats. */
static void fail_node(struct sim *s)
{
    int n = s->cfg->nodes, worst = 0;
    for (int i = 1; i < n; i++)
        if (s->nodes[i].sessions > s->nodes[worst].sessions)
            worst = i;
    double before = 0;
    for (int i = 0; i < n; i++) {
        double l = true_load(&s->nodes[i]);
        if (l > before)
            before = l;
    }
    s->r.load_before = before;
    s->failed = worst;
    s->fail_at = s->now;
    struct node *nd = &s->nodes[worst];
    for (int32_t i = 0; i < s->cfg->viewers; i++) {
        struct viewer *v = &s->viewers[i];
        if (v->node != worst)
            continue;
        leave(s, i);
        v->gen++;
        v->dur = v->end - s->now;
        v->moved = true;
        s->r.moved++;
        push(&s->h, s->now + SEC + (int64_t)(uniform(&s->rng) * 4 * SEC), EV_ARRIVE, i, 0);
    }
    nd->down = true;
    s->last_moved_at = s->now;
}

static void sample(struct sim *s)
{
    int n = s->cfg->nodes, alive = 0;
    double sum = 0, max = 0, loads[1024];
    for (int i = 0; i < n; i++) {
        if (s->nodes[i].down)
            continue;
        double l = true_load(&s->nodes[i]);
        loads[alive++] = l;
        sum += l;
        if (l > max)
            max = l;
        s->running_sum += s->nodes[i].channels_running;
        s->running_samples++;
    }
    if (max > s->r.peak_load)
        s->r.peak_load = max;
    if (s->failed >= 0 && s->now <= s->fail_at + 60 * SEC && max > s->r.peak_after)
        s->r.peak_after = max;
    double mean = alive ? sum / alive : 0;
    if (mean < 0.2) /* spread is noise on an almost empty cluster */
        return;
    if (max / mean > s->r.max_mean)
        s->r.max_mean = max / mean;
    for (int i = 0; i < alive; i++) {
        if (s->nratios == s->cap_ratios) {
            s->cap_ratios = s->cap_ratios ? s->cap_ratios * 2 : 4096;
            double *p = realloc(s->ratios, s->cap_ratios * sizeof(*p));
            if (p == NULL) {
                fprintf(stderr, "cluster-sim: out of memory\n");
                exit(2);
            }
            s->ratios = p;
        }
        s->ratios[s->nratios++] = loads[i] / mean;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Zipf(1) over the channels: rank k has weight 1/k. */
static int32_t zipf(const double *cdf, int channels, uint64_t *rng)
{
    double u = uniform(rng) * cdf[channels - 1];
    int lo = 0, hi = channels - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The workload, identical for every policy of a seed: arrival times and durations. */
struct workload {
    int64_t *arrive, *dur;
    int32_t *ch;
    uint32_t *bitrate;
    uint32_t *max_sessions;
    uint64_t *max_egress;
    int64_t *phase;
};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void make_workload(const struct cfg *cfg, uint64_t seed, struct workload *w)
{
    uint64_t rng = seed * 0x100000001b3ULL + 1;
    int V = cfg->viewers, C = cfg->channels, N = cfg->nodes;
    int64_t T = cfg->duration;
    w->arrive = xcalloc((size_t)V, sizeof(int64_t));
    w->dur = xcalloc((size_t)V, sizeof(int64_t));
    w->ch = xcalloc((size_t)V, sizeof(int32_t));
    w->bitrate = xcalloc((size_t)C, sizeof(uint32_t));
    w->max_sessions = xcalloc((size_t)N, sizeof(uint32_t));
    w->max_egress = xcalloc((size_t)N, sizeof(uint64_t));
    w->phase = xcalloc((size_t)N, sizeof(int64_t));
    double *cdf = xcalloc((size_t)C, sizeof(double));
    for (int k = 0; k < C; k++)
        cdf[k] = (k ? cdf[k - 1] : 0) + 1.0 / (k + 1);
    static const uint32_t rates[] = {1500000, 3000000, 5000000, 8000000};
    for (int k = 0; k < C; k++)
        w->bitrate[k] = rates[splitmix(&rng) % 4];
    /* 70 % ramp over the first half, 10 % over the second, 20 % in a 10 s flash crowd at
     * two thirds (a goal). Watching times: exponential, mean 40 min. */
    for (int i = 0; i < V; i++) {
        double u = uniform(&rng);
        int64_t t;
        if (i < V * 7 / 10)
            t = (int64_t)(u * (double)(T / 2));
        else if (i < V * 8 / 10)
            t = T / 2 + (int64_t)(u * (double)(T / 2));
        else
            t = T * 2 / 3 + (int64_t)(u * 10 * SEC);
        w->arrive[i] = t;
        w->dur[i] = (int64_t)(-log(1.0 - uniform(&rng)) * 2400.0 * SEC) + SEC;
        w->ch[i] = zipf(cdf, C, &rng);
    }
    free(cdf);
    /* Size the cluster for the workload: the peak concurrency (no failure) is cfg->utilisation
     * of the total session capacity; node sizes 1-4 units, and a third of the nodes have
     * less egress than their session cap needs at the mean bitrate (bandwidth-bound). */
    int64_t *ev = xcalloc((size_t)V * 2, sizeof(int64_t));
    for (int i = 0; i < V; i++) {
        ev[2 * i] = w->arrive[i] * 2 + 1; /* odd = arrival; departures first on ties */
        ev[2 * i + 1] = (w->arrive[i] + w->dur[i]) * 2;
    }
    qsort(ev, (size_t)V * 2, sizeof(*ev), cmp_i64);
    int cur = 0, peak = 0;
    for (int i = 0; i < V * 2; i++) {
        cur += (ev[i] & 1) ? 1 : -1;
        if (cur > peak)
            peak = cur;
    }
    free(ev);
    double mean_rate = 0;
    for (int k = 0; k < C; k++)
        mean_rate += w->bitrate[k];
    mean_rate /= C;
    int units[1024], total = 0;
    for (int i = 0; i < N; i++) {
        units[i] = 1 + (int)(splitmix(&rng) % 4);
        total += units[i];
    }
    double per_unit = (double)peak / cfg->utilisation / total;
    for (int i = 0; i < N; i++) {
        w->max_sessions[i] = (uint32_t)ceil(units[i] * per_unit);
        double bw = i % 3 == 0 ? 0.8 : 1.3;
        w->max_egress[i] = (uint64_t)(w->max_sessions[i] * mean_rate * bw);
        w->phase[i] = (int64_t)(uniform(&rng) * (double)cfg->refresh);
    }
}

static void free_workload(struct workload *w)
{
    free(w->arrive);
    free(w->dur);
    free(w->ch);
    free(w->bitrate);
    free(w->max_sessions);
    free(w->max_egress);
    free(w->phase);
}

static struct result run(const struct cfg *cfg, const struct workload *w, enum policy pol,
                         uint64_t seed)
{
    int N = cfg->nodes, V = cfg->viewers, C = cfg->channels;
    struct sim s;
    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.pol = pol;
    s.rng = seed ^ (0xa0761d6478bd642fULL * (uint64_t)(pol + 1));
    s.failed = -1;
    s.nodes = xcalloc((size_t)N, sizeof(*s.nodes));
    s.viewers = xcalloc((size_t)V, sizeof(*s.viewers));
    s.running = xcalloc((size_t)N * C, sizeof(uint32_t));
    s.bitrate = w->bitrate;
    s.view = xcalloc((size_t)N, sizeof(*s.view));
    s.scratch = xcalloc((size_t)N, sizeof(*s.scratch));
    s.pend = xcalloc((size_t)N, sizeof(uint32_t));
    for (int i = 0; i < N; i++) {
        struct node *nd = &s.nodes[i];
        nd->max_sessions = w->max_sessions[i];
        nd->max_egress = w->max_egress[i];
        nd->hb_cpu = node_cpu(nd);
        struct placement_node *v = &s.view[i];
        v->id = i + 1;
        v->active = true;
        v->fresh = true;
        v->may_start = true;
        v->max_sessions = nd->max_sessions;
        v->max_egress_bps = nd->max_egress;
        v->weight = 100;
        v->countries = "";
        v->geo_mode = PLACEMENT_GEO_PREFER;
        push(&s.h, w->phase[i], EV_HEARTBEAT, i, 0);
    }
    for (int32_t i = 0; i < V; i++) {
        s.viewers[i].dur = w->dur[i];
        s.viewers[i].ch = w->ch[i];
        s.viewers[i].node = -1;
        push(&s.h, w->arrive[i], EV_ARRIVE, i, 0);
    }
    push(&s.h, 0, EV_REFRESH, 0, 0);
    push(&s.h, SAMPLE_EVERY / 2, EV_SAMPLE, 0, 0);
    push(&s.h, cfg->duration * 5 / 6, EV_FAIL, 0, 0);

    while (s.h.n > 0) {
        struct ev e = pop(&s.h);
        s.now = e.t;
        bool periodic_done = s.now >= cfg->duration;
        switch (e.type) {
        case EV_ARRIVE:
            place(&s, e.id);
            break;
        case EV_DEPART:
            if (s.viewers[e.id].gen == e.gen && s.viewers[e.id].node >= 0)
                leave(&s, e.id);
            break;
        case EV_HEARTBEAT: {
            struct node *nd = &s.nodes[e.id];
            if (nd->down)
                break;
            nd->hb_at = s.now;
            nd->hb_sessions = nd->sessions;
            nd->hb_egress = nd->egress;
            nd->hb_cpu = node_cpu(nd);
            nd->hb_redirects = nd->redirects;
            if (!periodic_done)
                push(&s.h, s.now + cfg->refresh, EV_HEARTBEAT, e.id, 0);
            break;
        }
        case EV_REFRESH: {
            uint32_t herd = 0;
            for (int i = 0; i < N; i++) {
                if (s.nodes[i].in_interval > herd)
                    herd = s.nodes[i].in_interval;
                s.nodes[i].in_interval = 0;
            }
            if (herd > s.r.herd) {
                s.r.herd = herd;
                s.r.herd_arrivals = (double)s.interval_arrivals;
            }
            s.interval_arrivals = 0;
            refresh_view(&s);
            if (!periodic_done)
                push(&s.h, s.now + cfg->refresh, EV_REFRESH, 0, 0);
            break;
        }
        case EV_SAMPLE:
            sample(&s);
            if (!periodic_done)
                push(&s.h, s.now + SAMPLE_EVERY, EV_SAMPLE, 0, 0);
            break;
        case EV_FAIL:
            fail_node(&s);
            break;
        }
    }

    if (s.nratios > 0) {
        qsort(s.ratios, s.nratios, sizeof(double), cmp_double);
        s.r.p99_mean = s.ratios[(size_t)((double)(s.nratios - 1) * 0.99)];
    }
    s.r.mean_running = s.running_samples ? s.running_sum / (double)s.running_samples : 0;
    for (int i = 0; i < N; i++) {
        if (s.nodes[i].received > 0)
            s.r.receivers++;
        if (s.nodes[i].received > s.r.max_received)
            s.r.max_received = s.nodes[i].received;
    }
    s.r.seconds_to_replace = (double)(s.last_moved_at - s.fail_at) / SEC;
    struct result r = s.r;
    free(s.nodes);
    free(s.viewers);
    free(s.running);
    free(s.view);
    free(s.scratch);
    free(s.pend);
    free(s.h.a);
    free(s.ratios);
    return r;
}

static double median3(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_header(void)
{
    printf("%-14s %4s %8s %6s %6s %7s %7s %5s %5s %6s %6s | %5s %6s %5s %6s %6s %6s %5s\n",
           "policy", "seed", "max/mean", "p99/mn", "peak", "overcap", "refused", "herd", "of",
           "pulls", "run/nd", "moved", "failrd", "rcvrs", "maxrcv", "before", "after", "secs");
}

static void print_row(const char *name, const char *seed, const struct result *r)
{
    printf("%-14s %4s %8.3f %6.3f %6.3f %7.0f %7.0f %5.0f %5.0f %6.0f %6.1f | %5.0f %6.0f %5.0f "
           "%6.0f %6.3f %6.3f %5.1f\n",
           name, seed, r->max_mean, r->p99_mean, r->peak_load, r->over_cap, r->refused, r->herd,
           r->herd_arrivals, r->pulls, r->mean_running, r->moved, r->failed_redirects, r->receivers,
           r->max_received, r->load_before, r->peak_after, r->seconds_to_replace);
}

static int usage(void)
{
    fprintf(stderr, "usage: cluster-sim [--nodes N] [--viewers V] [--channels C] [--seeds S]\n"
                    "                   [--duration SECONDS] [--refresh-ms MS] [--utilisation U]\n"
                    "                   [--margin PERCENT] [--policy NAME] [--check]\n");
    return 2;
}

static int policy_index(const char *name)
{
    for (int p = 0; p < P_COUNT; p++)
        if (strcmp(policy_name[p], name) == 0)
            return p;
    return -1;
}

/* The cost of one decision, out of the simulation's bookkeeping: a view like the
 * simulation's (random loads, a tenth of the nodes running the channel, a fifth listing
 * countries) decided again and again. */
static void time_decisions(const struct cfg *cfg)
{
    int N = cfg->nodes;
    enum { CALLS = 200000 };
    struct placement_node *v = xcalloc((size_t)N, sizeof(*v));
    uint64_t rng = 42;
    for (int i = 0; i < N; i++) {
        v[i].id = i + 1;
        v[i].active = v[i].fresh = v[i].may_start = true;
        v[i].runs_channel = i % 10 == 0;
        v[i].max_sessions = 2000;
        v[i].sessions = (uint32_t)(splitmix(&rng) % 1800);
        v[i].max_egress_bps = 10000000000ULL;
        v[i].egress_bps = v[i].sessions * 4000000ULL;
        v[i].cpu_pct = (float)(splitmix(&rng) % 60);
        v[i].weight = 100;
        v[i].countries = i % 5 == 0 ? "FR,BE" : "";
        v[i].geo_mode = PLACEMENT_GEO_PREFER;
    }
    struct timespec a, b;
    size_t sum = 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a); /* CPU time: the machine may be shared */
    for (int k = 0; k < CALLS; k++) {
        struct placement_req r = {.country = k % 2 ? "DE" : "", .random = splitmix(&rng)};
        size_t c = 0;
        if (placement_choose(v, (size_t)N, &r, &c) == 0)
            sum += c;
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / CALLS;
    printf("\ndecision time: placement_choose on %d nodes: %.0f ns per decision (%d calls, "
           "checksum %zu)\n",
           N, ns, (int)CALLS, sum % 1000);
    free(v);
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    struct cfg cfg = {.nodes = 50,
                      .viewers = 100000,
                      .channels = 2000,
                      .seeds = 3,
                      .duration = 3600 * SEC,
                      .refresh = 2 * SEC,
                      .utilisation = 0.75,
                      .margin = PLACEMENT_AFFINITY_MARGIN,
                      .only = -1};
    for (int i = 1; i < argc; i++) {
        long v;
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--check") == 0) {
            cfg.check = true;
            continue;
        }
        if (val == NULL)
            return usage();
        i++;
        if (strcmp(a, "--nodes") == 0 && parse_long(val, 2, 1000, &v))
            cfg.nodes = (int)v;
        else if (strcmp(a, "--viewers") == 0 && parse_long(val, 100, 10000000, &v))
            cfg.viewers = (int)v;
        else if (strcmp(a, "--channels") == 0 && parse_long(val, 1, 100000, &v))
            cfg.channels = (int)v;
        else if (strcmp(a, "--seeds") == 0 && parse_long(val, 1, 99, &v))
            cfg.seeds = (int)v;
        else if (strcmp(a, "--duration") == 0 && parse_long(val, 60, 86400 * 7, &v))
            cfg.duration = v * SEC;
        else if (strcmp(a, "--refresh-ms") == 0 && parse_long(val, 10, 600000, &v))
            cfg.refresh = v * 1000;
        else if (strcmp(a, "--utilisation") == 0 && parse_long(val, 10, 99, &v))
            cfg.utilisation = v / 100.0; /* given in percent */
        else if (strcmp(a, "--margin") == 0 && parse_long(val, 0, 100, &v))
            cfg.margin = v / 100.0; /* given in percent of a node's capacity */
        else if (strcmp(a, "--policy") == 0 && (cfg.only = policy_index(val)) >= 0)
            continue;
        else
            return usage();
    }
    printf("cluster-sim: %d nodes, %d viewers, %d channels (Zipf 1), %.0f s, heartbeat and view "
           "refresh %.1f s, peak at %.0f %% of session capacity, affinity margin %.2f, %d "
           "seed(s)\n",
           cfg.nodes, cfg.viewers, cfg.channels, (double)cfg.duration / SEC,
           (double)cfg.refresh / SEC, cfg.utilisation * 100, cfg.margin, cfg.seeds);
    print_header();
    struct result res[P_COUNT][99];
    for (int sd = 0; sd < cfg.seeds; sd++) {
        struct workload w;
        make_workload(&cfg, (uint64_t)sd + 1, &w);
        for (int p = 0; p < P_COUNT; p++) {
            if (cfg.only >= 0 && p != cfg.only)
                continue;
            res[p][sd] = run(&cfg, &w, (enum policy)p, (uint64_t)sd + 1);
            char seed[16];
            snprintf(seed, sizeof(seed), "%d", sd + 1);
            print_row(policy_name[p], seed, &res[p][sd]);
        }
        free_workload(&w);
    }
    printf("\nmedian of %d seed(s):\n", cfg.seeds);
    print_header();
    struct result med[P_COUNT];
    for (int p = 0; p < P_COUNT; p++) {
        if (cfg.only >= 0 && p != cfg.only)
            continue;
        for (size_t m = 0; m < NMETRICS; m++) {
            double v[99];
            for (int sd = 0; sd < cfg.seeds; sd++)
                v[sd] = ((double *)&res[p][sd])[m];
            ((double *)&med[p])[m] = median3(v, cfg.seeds);
        }
        print_row(policy_name[p], "med", &med[p]);
    }
    if (cfg.only < 0)
        time_decisions(&cfg);
    if (!cfg.check || cfg.only >= 0)
        return 0;

    /* The properties the smoke test guards, on every seed. */
    int bad = 0;
    for (int sd = 0; sd < cfg.seeds; sd++) {
        const struct result *least = &res[P_LEAST][sd], *ours = &res[P_OURS][sd],
                            *p2c = &res[P_P2C_PENDING][sd];
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("CHECK FAILED (seed %d): ", sd + 1);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            bad = 1;                                                                               \
        }                                                                                          \
    } while (0)
        EXPECT(p2c->max_mean < least->max_mean, "p2c max/mean %.3f not below least's %.3f",
               p2c->max_mean, least->max_mean);
        EXPECT(ours->max_mean < least->max_mean, "ours max/mean %.3f not below least's %.3f",
               ours->max_mean, least->max_mean);
        EXPECT(ours->herd < least->herd, "ours herd %.0f not below least's %.0f", ours->herd,
               least->herd);
        for (int p = P_P2C_PENDING; p <= P_OURS; p++)
            EXPECT(res[p][sd].over_cap == 0, "%s placed %.0f viewers over a session cap",
                   policy_name[p], res[p][sd].over_cap);
        EXPECT(ours->pulls < p2c->pulls, "affinity did not reduce source pulls (%.0f vs %.0f)",
               ours->pulls, p2c->pulls);
        EXPECT(ours->refused == 0, "ours refused %.0f viewers", ours->refused);
        EXPECT(ours->moved > 0 && ours->receivers > 1,
               "the failed node's viewers were not spread (%.0f moved to %.0f nodes)", ours->moved,
               ours->receivers);
#undef EXPECT
    }
    printf(bad ? "check: FAILED\n" : "check: ok\n");
    return bad;
}
