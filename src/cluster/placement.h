/*
 * placement: which node of a cluster takes a new viewer (issue 16 item 4). A pure
 * function of the caller's view of the nodes and the caller's randomness: no I/O, no
 * allocation, no globals, so the same code runs in admission (src/cluster/admission.c)
 * and in the simulation (bench/cluster-sim, docs/cluster-simulation.md).
 *
 * The rule, in order:
 *  1. Candidates: state active, fresh (heartbeat seen within 3 periods), runs the channel
 *     or may start it, weight > 0, and under its caps counting the redirects it was sent
 *     since its last heartbeat (`pending`): sessions + pending < max_sessions, and the
 *     egress plus the pending viewers and the new one at the node's mean per-session bitrate
 *     <= max_egress_bps (a node the viewer would take over a cap is overloaded at once and
 *     would move it off again: docs/internals/cluster.md "Overload"). A cap of 0 means no cap.
 *  2. `force_node`: if that node is a candidate (geo and weight ignored: it is the operator's
 *     explicit choice for the line) it is chosen; otherwise the normal rule applies.
 *  3. Geo, by the request's country (ISO code, "" unknown) against the node's `countries`
 *     (comma-separated ISO codes, case-insensitive): a `strict` node with countries takes
 *     only viewers from them (unknown country: not taken); `prefer` and `strict` nodes that
 *     list the country rank first; `avoid` nodes that list it rank last; every other node
 *     ranks in between. Only the best non-empty rank is considered further.
 *  4. Power of two choices within that rank: two distinct nodes drawn uniformly from the
 *     caller's randomness, the lower weighted load wins (load x 100 / weight, see
 *     placement_load). Stale loads cannot herd every viewer onto one node: a node is only
 *     picked when it is drawn, and `pending` raises its load between heartbeats.
 *  5. Channel affinity: if some nodes of the rank already run the channel (and some do
 *     not), a second power-of-two draw is made among those that run it; its winner is
 *     chosen unless its weighted load exceeds the overall winner's by more than
 *     PLACEMENT_AFFINITY_MARGIN, so a channel is not started on every node (one source
 *     pull per node that runs it) until the nodes running it are measurably busier.
 * Ties (equal weighted loads) go to the higher weight, then to the node that runs the
 * channel, then to the first draw.
 */
#ifndef XTREAMD_CLUSTER_PLACEMENT_H
#define XTREAMD_CLUSTER_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Load units (1.0 = a node at its cap) by which a node running the channel may be busier
 * than the best other draw and still be preferred: 0.05, 50 viewers on a 1,000-session
 * node, above the few per cent of CPU jitter between heartbeats. Measured in
 * docs/cluster-simulation.md (50 nodes, 100,000 viewers): 0.05 divides the channels started
 * (source pulls) by 14 for +0.02 of peak node load; 0.15 pulls no fewer and spreads worse. */
#define PLACEMENT_AFFINITY_MARGIN 0.05

enum placement_geo { PLACEMENT_GEO_PREFER, PLACEMENT_GEO_STRICT, PLACEMENT_GEO_AVOID };

struct placement_node {
    int64_t id;
    bool active;       /* state 'active' (not draining, fenced, revoked) */
    bool fresh;        /* heartbeat younger than 3 periods */
    bool runs_channel; /* the requested channel is running there now */
    bool may_start;    /* it may start the channel (placed there, or no placement rows) */
    /* pending: redirects sent to the node since the heartbeat `sessions` comes from. Reset it
     * when a newer heartbeat arrives, not on a timer: a dead node's pending must keep growing
     * so it stops attracting viewers before it is declared lost (docs/cluster-simulation.md). */
    uint32_t sessions, pending, max_sessions; /* max_sessions 0 = no cap */
    uint64_t egress_bps, max_egress_bps;      /* max_egress_bps 0 = no cap */
    float cpu_pct;
    uint32_t weight;       /* 100 = normal; 0 = only by force_node */
    const char *countries; /* "FR,BE" or "" (NULL taken as "") */
    enum placement_geo geo_mode;
};

struct placement_req {
    const char *country; /* "" unknown (NULL taken as "") */
    int64_t force_node;  /* 0 none */
    uint64_t random;     /* caller's randomness: two draws for power-of-two-choices */
};

/* 0 and *chosen (an index into nodes), or -EAGAIN when no node may take the viewer
 * (-EINVAL when nodes/r/chosen is NULL with n > 0). */
int placement_choose(const struct placement_node *nodes, size_t n, const struct placement_req *r,
                     size_t *chosen);

/* The max of (sessions + pending) / max_sessions, (egress + pending x mean per-session
 * bitrate) / max_egress_bps and cpu_pct / 100; a ratio whose cap is 0 counts as 0. */
double placement_load(const struct placement_node *n);

/* placement_choose with another affinity margin (for the simulation's sweep; admission
 * uses placement_choose). */
int placement_choose_margin(const struct placement_node *nodes, size_t n,
                            const struct placement_req *r, double affinity_margin, size_t *chosen);

#endif
