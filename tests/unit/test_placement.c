/* Unit tests for cluster/placement: every candidate filter (state, freshness, channel,
 * session and bandwidth caps counting pending redirects, weight 0), force_node, the three
 * geo modes, the load formula, power of two choices never taking the worse of its draws,
 * ties, channel affinity within its margin, and -EAGAIN on an empty set. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/node.h"
#include "cluster/placement.h"

#define DRAWS 4000

/* A healthy, uncapped-by-default node that may start the channel, at the given session load
 * on a 1,000-session cap. */
static struct placement_node node(int64_t id, uint32_t sessions)
{
    struct placement_node p;
    memset(&p, 0, sizeof(p));
    p.id = id;
    p.active = true;
    p.fresh = true;
    p.may_start = true;
    p.sessions = sessions;
    p.max_sessions = 1000;
    p.weight = 100;
    p.countries = "";
    p.geo_mode = PLACEMENT_GEO_PREFER;
    return p;
}

static uint64_t rnd(uint64_t i)
{
    return i * 0x2545f4914f6cdd1dULL + 12345;
}

/* How often each node is chosen over DRAWS requests (counts has n entries). */
static void tally(const struct placement_node *nodes, size_t n, const char *cc, size_t *counts)
{
    memset(counts, 0, n * sizeof(*counts));
    for (uint64_t i = 0; i < DRAWS; i++) {
        struct placement_req r = {.country = cc, .random = rnd(i)};
        size_t c = n;
        assert_int_equal(placement_choose(nodes, n, &r, &c), 0);
        assert_true(c < n);
        counts[c]++;
    }
}

static void test_empty(void **state)
{
    (void)state;
    struct placement_req r = {.country = ""};
    size_t c = 99;
    assert_int_equal(placement_choose(NULL, 0, &r, &c), -EAGAIN);
    struct placement_node a = node(1, 0);
    assert_int_equal(placement_choose(&a, 1, NULL, &c), -EINVAL);
    assert_int_equal(placement_choose(&a, 1, &r, NULL), -EINVAL);
    a.active = false;
    assert_int_equal(placement_choose(&a, 1, &r, &c), -EAGAIN);
    assert_int_equal(c, 99); /* untouched on failure */
    a = node(1, 0);
    assert_int_equal(placement_choose(&a, 1, &r, &c), 0);
    assert_int_equal(c, 0);
}

/* Node 0 is the least loaded but fails one filter: it must never be chosen, and alone it
 * gives -EAGAIN. */
static void expect_filtered(struct placement_node bad)
{
    struct placement_node nodes[3] = {bad, node(2, 500), node(3, 600)};
    size_t counts[3];
    tally(nodes, 3, "", counts);
    assert_int_equal(counts[0], 0);
    assert_int_equal(counts[1] + counts[2], DRAWS);
    struct placement_req r = {.country = "", .random = 7};
    size_t c;
    assert_int_equal(placement_choose(&bad, 1, &r, &c), -EAGAIN);
}

static void test_filters(void **state)
{
    (void)state;
    struct placement_node p = node(1, 0);
    p.active = false;
    expect_filtered(p);

    p = node(1, 0);
    p.fresh = false;
    expect_filtered(p);

    p = node(1, 0);
    p.may_start = false; /* neither runs nor may start the channel */
    expect_filtered(p);

    p = node(1, 0);
    p.weight = 0; /* only by force_node */
    expect_filtered(p);

    /* Session cap: full, and full only by its pending redirects. */
    p = node(1, 0);
    p.max_sessions = 10;
    p.sessions = 10;
    p.cpu_pct = 0;
    expect_filtered(p);
    p.sessions = 7;
    p.pending = 3;
    expect_filtered(p);
    p.pending = 2; /* one slot left: a candidate again (load 0.9 loses to 0.5/0.6 though) */
    struct placement_node one[1] = {p};
    struct placement_req r = {.country = "", .random = 1};
    size_t c;
    assert_int_equal(placement_choose(one, 1, &r, &c), 0);

    /* Bandwidth cap: 10 sessions at 4 Mb/s on a 44 Mb/s cap; one pending viewer at the mean
     * bitrate fills it. */
    p = node(1, 10);
    p.max_sessions = 0;
    p.egress_bps = 40000000;
    p.max_egress_bps = 44000000;
    one[0] = p;
    assert_int_equal(placement_choose(one, 1, &r, &c), 0);
    p.pending = 1;
    expect_filtered(p);
    p.pending = 0;
    p.egress_bps = 44000000;
    expect_filtered(p);
    /* room for less than one more viewer at the mean (41 + 4.1 > 44 Mb/s): it would be over
     * its cap, i.e. overloaded, and shed that viewer at once (no ping-pong) */
    p.egress_bps = 41000000;
    expect_filtered(p);
}

static void test_caps_zero_and_load(void **state)
{
    (void)state;
    struct placement_node p = node(1, 123456);
    p.max_sessions = 0; /* no cap at all: never full, load from CPU only */
    p.cpu_pct = 25;
    assert_true(fabs(placement_load(&p) - 0.25) < 1e-9);
    struct placement_req r = {.country = "", .random = 3};
    size_t c;
    assert_int_equal(placement_choose(&p, 1, &r, &c), 0);

    p = node(1, 300);
    p.pending = 100;
    assert_true(fabs(placement_load(&p) - 0.4) < 1e-9); /* (300 + 100) / 1000 */
    p.max_egress_bps = 1000000000;
    p.egress_bps = 300 * 2000000ULL; /* 0.6 of the link, 0.8 with 100 pending at the mean */
    assert_true(fabs(placement_load(&p) - 0.8) < 1e-9);
    p.cpu_pct = 95;
    assert_true(fabs(placement_load(&p) - 0.95) < 1e-9);
    p.cpu_pct = NAN; /* a broken heartbeat is not a poison value */
    assert_true(fabs(placement_load(&p) - 0.8) < 1e-9);
    p.cpu_pct = -5;
    assert_true(fabs(placement_load(&p) - 0.8) < 1e-9);

    /* Saturation: the pending estimate never wraps into a small number. */
    p = node(1, 1);
    p.max_sessions = 0;
    p.egress_bps = UINT64_MAX / 2;
    p.pending = 4;
    p.max_egress_bps = UINT64_MAX;
    assert_int_equal(placement_choose(&p, 1, &r, &c), -EAGAIN);
}

static void test_force_node(void **state)
{
    (void)state;
    struct placement_node nodes[3] = {node(1, 100), node(2, 900), node(3, 200)};
    nodes[1].weight = 0;       /* forced lines still reach it */
    nodes[1].countries = "DE"; /* and geo does not apply to it */
    nodes[1].geo_mode = PLACEMENT_GEO_STRICT;
    size_t c;
    for (uint64_t i = 0; i < 200; i++) {
        struct placement_req r = {.country = "FR", .force_node = 2, .random = rnd(i)};
        assert_int_equal(placement_choose(nodes, 3, &r, &c), 0);
        assert_int_equal(c, 1);
    }
    /* The forced node at its cap, or down: the normal rule applies (never node 2). */
    nodes[1].sessions = 1000;
    struct placement_req r = {.country = "FR", .force_node = 2, .random = 5};
    assert_int_equal(placement_choose(nodes, 3, &r, &c), 0);
    assert_int_not_equal(c, 1);
    nodes[1].sessions = 900;
    nodes[1].fresh = false;
    assert_int_equal(placement_choose(nodes, 3, &r, &c), 0);
    assert_int_not_equal(c, 1);
    /* An unknown id: the normal rule. */
    r.force_node = 42;
    assert_int_equal(placement_choose(nodes, 3, &r, &c), 0);
    assert_int_not_equal(c, 1);
}

static void test_geo(void **state)
{
    (void)state;
    size_t counts[4];
    /* strict: only its countries; unknown country not taken. */
    struct placement_node nodes[4] = {node(1, 0), node(2, 500), node(3, 500), node(4, 500)};
    nodes[0].countries = "FR, be";
    nodes[0].geo_mode = PLACEMENT_GEO_STRICT;
    tally(nodes, 4, "DE", counts);
    assert_int_equal(counts[0], 0);
    tally(nodes, 4, "", counts);
    assert_int_equal(counts[0], 0);
    /* strict and listed (any case, spaces): ranks first, even when the busiest */
    nodes[0].sessions = 800;
    tally(nodes, 4, "BE", counts);
    assert_int_equal(counts[0], DRAWS);
    tally(nodes, 4, "fr", counts);
    assert_int_equal(counts[0], DRAWS);
    /* "F" or "FRA" do not match "FR". */
    tally(nodes, 4, "F", counts);
    assert_int_equal(counts[0], 0);

    /* strict with an empty list restricts nothing. */
    nodes[0].countries = " , ";
    nodes[0].sessions = 0;
    tally(nodes, 4, "DE", counts);
    assert_true(counts[0] > DRAWS / 3);

    /* prefer: listed nodes rank first even when busier; others take the rest. */
    nodes[0] = node(1, 900);
    nodes[0].countries = "DE";
    tally(nodes, 4, "DE", counts);
    assert_int_equal(counts[0], DRAWS);
    tally(nodes, 4, "FR", counts);
    assert_int_equal(counts[0], 0); /* 0.9 vs 0.5: p2c never takes it... */
    nodes[0].sessions = 0;
    tally(nodes, 4, "FR", counts);
    assert_true(counts[0] > DRAWS / 3); /* ...but it is in the pool for others */

    /* avoid: listed ⇒ last, only when every other node is out. */
    nodes[0] = node(1, 0);
    nodes[0].countries = "DE,AT";
    nodes[0].geo_mode = PLACEMENT_GEO_AVOID;
    tally(nodes, 4, "AT", counts);
    assert_int_equal(counts[0], 0);
    tally(nodes, 4, "FR", counts);
    assert_true(counts[0] > DRAWS / 3);
    for (int i = 1; i < 4; i++)
        nodes[i].sessions = 1000; /* all full */
    tally(nodes, 4, "AT", counts);
    assert_int_equal(counts[0], DRAWS);

    /* NULL countries (node) and NULL country (request) are taken as "". */
    nodes[0].countries = NULL;
    nodes[0].geo_mode = PLACEMENT_GEO_STRICT;
    tally(nodes, 4, "AT", counts);
    assert_int_equal(counts[0], DRAWS);
    struct placement_req r = {.country = NULL, .random = 9};
    size_t c;
    assert_int_equal(placement_choose(nodes, 4, &r, &c), 0);
    assert_int_equal(c, 0);
}

/* p2c never takes the worse of its two (distinct) draws: the single worst node is never
 * chosen, and with three nodes the best wins 2/3 of the time, the middle 1/3. */
static void test_two_choices(void **state)
{
    (void)state;
    struct placement_node nodes[3] = {node(1, 100), node(2, 500), node(3, 900)};
    size_t counts[3];
    tally(nodes, 3, "", counts);
    assert_int_equal(counts[2], 0);
    assert_true(counts[0] > DRAWS * 6 / 10 && counts[0] < DRAWS * 73 / 100);
    assert_true(counts[1] > DRAWS * 27 / 100 && counts[1] < DRAWS * 4 / 10);

    /* Two nodes: always the better one. */
    tally(nodes + 1, 2, "", counts);
    assert_int_equal(counts[0], DRAWS);

    /* 20 nodes of distinct loads: never the worst, and every other is reachable. */
    struct placement_node many[20];
    size_t mc[20];
    for (int i = 0; i < 20; i++)
        many[i] = node(i + 1, (uint32_t)(37 * ((i * 7) % 20)));
    tally(many, 20, "", mc);
    for (int i = 0; i < 20; i++) {
        if ((i * 7) % 20 == 19)
            assert_int_equal(mc[i], 0);
        else
            assert_true(mc[i] > 0);
    }

    /* Deterministic in the caller's randomness. */
    struct placement_req r = {.country = "", .random = 0xdeadbeef};
    size_t a, b;
    assert_int_equal(placement_choose(many, 20, &r, &a), 0);
    assert_int_equal(placement_choose(many, 20, &r, &b), 0);
    assert_int_equal(a, b);
}

static void test_ties_and_weight(void **state)
{
    (void)state;
    size_t counts[2];
    /* Equal loads: the higher weight. */
    struct placement_node nodes[2] = {node(1, 400), node(2, 400)};
    nodes[1].weight = 150;
    tally(nodes, 2, "", counts);
    assert_int_equal(counts[1], DRAWS);
    /* Equal loads and weights: the node running the channel. */
    nodes[1].weight = 100;
    nodes[0].runs_channel = true;
    tally(nodes, 2, "", counts);
    assert_int_equal(counts[0], DRAWS);
    /* Weighted load: 0.5 at weight 200 (0.25) beats 0.3 at weight 100. */
    nodes[0] = node(1, 500);
    nodes[0].weight = 200;
    nodes[1] = node(2, 300);
    tally(nodes, 2, "", counts);
    assert_int_equal(counts[0], DRAWS);
    /* Equal everything: the first draw, so both are taken about equally. */
    nodes[0] = node(1, 0);
    nodes[1] = node(2, 0);
    tally(nodes, 2, "", counts);
    assert_true(counts[0] > DRAWS / 3 && counts[1] > DRAWS / 3);
}

static void test_affinity(void **state)
{
    (void)state;
    struct placement_node nodes[10];
    size_t counts[10];
    for (int i = 0; i < 10; i++)
        nodes[i] = node(i + 1, 200);
    /* The only node running the channel, 0.04 busier than the others (margin 0.05): still
     * chosen every time. */
    nodes[3].runs_channel = true;
    nodes[3].sessions = 240;
    tally(nodes, 10, "", counts);
    assert_int_equal(counts[3], DRAWS);
    /* Beyond the margin: the channel starts elsewhere, and the busier node never wins a draw. */
    nodes[3].sessions = 260;
    tally(nodes, 10, "", counts);
    assert_int_equal(counts[3], 0);
    /* A wider margin (placement_choose_margin) keeps it. */
    memset(counts, 0, sizeof(counts));
    for (uint64_t i = 0; i < DRAWS; i++) {
        struct placement_req r = {.country = "", .random = rnd(i)};
        size_t c;
        assert_int_equal(placement_choose_margin(nodes, 10, &r, 0.1, &c), 0);
        counts[c]++;
    }
    assert_int_equal(counts[3], DRAWS);
    /* Two runners: the better of them. */
    nodes[3].sessions = 240;
    nodes[6].runs_channel = true;
    nodes[6].sessions = 220;
    tally(nodes, 10, "", counts);
    assert_int_equal(counts[6], DRAWS);
    /* Every node runs it: plain power of two choices (all but the worst reachable). */
    for (int i = 0; i < 10; i++)
        nodes[i].runs_channel = true;
    tally(nodes, 10, "", counts);
    assert_int_equal(counts[3], 0);
    assert_true(counts[0] > 0 && counts[9] > 0);
    for (int i = 0; i < 10; i++)
        nodes[i].runs_channel = i == 3 || i == 6;
    /* Affinity stays within the geo rank: a runner in a worse rank is not pulled up. */
    nodes[6].countries = "DE";
    nodes[6].geo_mode = PLACEMENT_GEO_AVOID;
    nodes[3].countries = "DE";
    nodes[3].geo_mode = PLACEMENT_GEO_AVOID;
    tally(nodes, 10, "DE", counts);
    assert_int_equal(counts[3] + counts[6], 0);
}

/* cluster_load_eval (cluster/node.h): an overloaded node moves exactly its excess back to the
 * high-water mark, and leaves overload only 10 points below it (no flapping at the cap). */
static void test_overload_eval(void **state)
{
    (void)state;
    struct cluster_load l = {.sessions = 3, .max_sessions = 1, .high_pct = 100};
    cluster_load_eval(&l);
    assert_true(l.overloaded);
    assert_int_equal(l.load_pct, 300);
    assert_int_equal(l.excess, 2);
    /* two moved off: at the cap, still overloaded (hysteresis) but nothing more to move */
    l.sessions = 1;
    l.moving = 2;
    cluster_load_eval(&l);
    assert_true(l.overloaded);
    assert_int_equal(l.excess, 0);
    /* 95 of 100: still overloaded; 90: no longer */
    l = (struct cluster_load){
        .sessions = 95, .max_sessions = 100, .high_pct = 100, .overloaded = true};
    cluster_load_eval(&l);
    assert_true(l.overloaded);
    assert_int_equal(l.excess, 0);
    l.sessions = 90;
    cluster_load_eval(&l);
    assert_false(l.overloaded);
    /* 101 of 100 from the calm state: overloaded, one to move; at 100 it would not enter */
    l.sessions = 100;
    cluster_load_eval(&l);
    assert_false(l.overloaded);
    l.sessions = 101;
    cluster_load_eval(&l);
    assert_true(l.overloaded);
    assert_int_equal(l.excess, 1);
    /* a high-water mark of 80%: back to 80 sessions */
    l = (struct cluster_load){.sessions = 100, .max_sessions = 100, .high_pct = 80};
    cluster_load_eval(&l);
    assert_int_equal(l.excess, 20);
    /* egress: 10 viewers at 5 Mb/s (two of them moving off) on a 30 Mb/s cap: the 8 that stay
     * carry 40 Mb/s, 6 fit */
    l = (struct cluster_load){.sessions = 8,
                              .moving = 2,
                              .egress_bps = 50000000,
                              .max_egress_bps = 30000000,
                              .high_pct = 100};
    cluster_load_eval(&l);
    assert_true(l.overloaded);
    assert_int_equal(l.load_pct, 133);
    assert_int_equal(l.excess, 2);
    /* off */
    l = (struct cluster_load){.sessions = 9, .max_sessions = 1, .high_pct = 0, .overloaded = true};
    cluster_load_eval(&l);
    assert_false(l.overloaded);
    assert_int_equal(l.excess, 0);
    /* no caps: never overloaded */
    l = (struct cluster_load){.sessions = 1000, .egress_bps = 1, .high_pct = 100};
    cluster_load_eval(&l);
    assert_false(l.overloaded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_caps_zero_and_load),
        cmocka_unit_test(test_force_node),
        cmocka_unit_test(test_geo),
        cmocka_unit_test(test_two_choices),
        cmocka_unit_test(test_ties_and_weight),
        cmocka_unit_test(test_affinity),
        cmocka_unit_test(test_overload_eval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
