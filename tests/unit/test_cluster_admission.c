/* Unit tests for cluster/admission: the node choice over a nodes view (the
 * least loaded of two, pending redirects counted, stale/draining nodes never
 * chosen, -EAGAIN), the redirect URL, an admission job on a real database and
 * loop (its token verifies on the chosen node only; newest wins sends a kill),
 * the kill command cutting a tracked connection and revoking its token, the
 * batched end report, and the release of a lost node's sessions by the tick. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>
#include <uv.h>

#include "cluster/admission.h"
#include "db/sessions.h"
#include "db_fixture.h"

static struct cluster_node_view node(int64_t id, uint32_t sessions, uint32_t max, bool fresh)
{
    struct cluster_node_view v = {.id = id,
                                  .role = CLUSTER_ROLE_EDGE,
                                  .state = CLUSTER_STATE_ACTIVE,
                                  .fresh = fresh,
                                  .sessions = sessions,
                                  .max_sessions = max,
                                  .weight = 100};
    snprintf(v.public_url, sizeof(v.public_url), "http://127.0.0.1:%d/", 8000 + (int)id);
    return v;
}

static void test_choose(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct admission_config cfg = {.loop = &loop, .self_id = 1};
    struct admission *a = admission_new(&cfg);
    assert_non_null(a);
    /* two nodes: the loaded one is never chosen over the idle one (p2c of two) */
    struct cluster_node_view nodes[3] = {node(2, 90, 100, true), node(3, 10, 100, true),
                                         node(4, 0, 100, false)};
    const struct cluster_node_view *got;
    struct admission_choice_req r = {.stream_id = 5};
    for (int i = 0; i < 20; i++) {
        assert_int_equal(admission_choose(a, nodes, 3, &r, &got), 0);
        assert_int_equal(got->id, 3); /* node 4 is stale */
    }
    /* 20 redirects pending on node 3 (+10 sessions): now 30 vs 90, still 3;
     * 60 more (90 vs 90) and node 2 takes some of the next five */
    for (int i = 0; i < 60; i++)
        assert_int_equal(admission_choose(a, nodes, 3, &r, &got), 0);
    int to2 = 0;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(admission_choose(a, nodes, 3, &r, &got), 0);
        to2 += got->id == 2;
    }
    assert_true(to2 > 0);
    /* draining and stale: nobody */
    nodes[0].state = CLUSTER_STATE_DRAINING;
    nodes[1].fresh = false;
    assert_int_equal(admission_choose(a, nodes, 3, &r, &got), -EAGAIN);
    struct admission_metrics m;
    admission_metrics_get(a, &m);
    assert_int_equal(m.no_node, 1);
    admission_free(a);
    uv_loop_close(&loop);
}

static void test_redirect_url(void **state)
{
    (void)state;
    char url[128];
    assert_int_equal(
        admission_redirect_url("http://e1:8080/", "v1.a.b", 42, "ts", url, sizeof(url)), 0);
    assert_string_equal(url, "http://e1:8080/c/v1.a.b/42.ts");
    assert_int_equal(admission_redirect_url("https://e1", "v1.a.b", 7, "m3u8", url, sizeof(url)),
                     0);
    assert_string_equal(url, "https://e1/c/v1.a.b/7.m3u8");
    assert_int_equal(admission_redirect_url("https://e1", "v1.a.b", 7, "m3u8", url, 10), -ENOSPC);
}

struct done {
    int calls, rc;
    char token[CLUSTER_TOKEN_MAX];
    char sid[CLUSTER_SID_LEN + 1];
};

static void on_done(void *ud, int rc, const char *token, const char *sid)
{
    struct done *d = ud;
    d->calls++;
    d->rc = rc;
    if (!rc) {
        snprintf(d->token, sizeof(d->token), "%s", token);
        snprintf(d->sid, sizeof(d->sid), "%s", sid);
    }
}

static void kick(void *ctx)
{
    (*(int *)ctx)++;
}

static int setup(void **state)
{
    return db_fixture_open(state, "admission");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

static void test_admit_kill_report(void **state)
{
    struct fixture *f = *state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct cluster_token_key key;
    assert_int_equal(cluster_token_keygen(&key, "1"), 0);
    char pubtext[CLUSTER_TOKEN_PUB_MAX];
    assert_int_equal(cluster_token_pubs_format(&key, NULL, pubtext, sizeof(pubtext)), 0);
    struct admission_config main_cfg = {
        .loop = &loop, .data_dir = f->dir, .self_id = 1, .key = &key, .orphan_ttl = 5};
    assert_int_equal(cluster_token_pubs_parse(pubtext, &main_cfg.pubs), 0);
    struct admission_config edge_cfg = main_cfg;
    edge_cfg.self_id = 2;
    edge_cfg.key = NULL;
    struct admission *m = admission_new(&main_cfg), *e = admission_new(&edge_cfg);
    assert_non_null(m);
    assert_non_null(e);
    /* an edge cannot sign */
    struct admission_start s = {.line_id = 7,
                                .stream_id = 5,
                                .node_id = 2,
                                .kind = CLUSTER_KIND_LIVE,
                                .max_connections = 1};
    snprintf(s.ip, sizeof(s.ip), "192.0.2.9");
    assert_null(admission_submit(e, &s, on_done, NULL));
    /* first viewer, on node 2 */
    struct done d1 = {0}, d2 = {0};
    assert_non_null(admission_submit(m, &s, on_done, &d1));
    while (!d1.calls)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(d1.rc, 0);
    struct cluster_token_claims c;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(
        admission_verify(e, d1.token, strlen(d1.token), CLUSTER_KIND_LIVE, 5, NULL, now, &c), 0);
    assert_string_equal(c.sid, d1.sid);
    /* HLS requests of a live token pass; another stream or the main do not */
    assert_int_equal(
        admission_verify(e, d1.token, strlen(d1.token), CLUSTER_KIND_HLS, 5, NULL, now, &c), 0);
    assert_int_equal(
        admission_verify(e, d1.token, strlen(d1.token), CLUSTER_KIND_LIVE, 6, NULL, now, &c),
        CLUSTER_TOKEN_WRONG_ITEM);
    assert_int_equal(
        admission_verify(m, d1.token, strlen(d1.token), CLUSTER_KIND_LIVE, 5, NULL, now, &c),
        CLUSTER_TOKEN_WRONG_NODE);
    int kicked = 0;
    uint64_t h = admission_track(e, d1.sid, kick, NULL, &kicked);
    assert_true(h > 0);
    /* second viewer of the same line (max 1) on node 1: the first one is ended */
    s.node_id = 1;
    assert_non_null(admission_submit(m, &s, on_done, &d2));
    while (!d2.calls)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(d2.rc, 0);
    struct admission_metrics mm;
    admission_metrics_get(m, &mm);
    assert_int_equal(mm.admitted, 2);
    assert_int_equal(mm.kills_sent, 1);
    struct db_csession_row row;
    assert_int_equal(db_csession_get(f->db, d1.sid, &row), 0);
    assert_string_equal(row.end_reason, "limit");
    /* the kill reaches node 2 (PostgreSQL: NOTIFY node_2 'kill <sid>', cluster_on_command) */
    admission_command(e, "kill", d1.sid);
    assert_int_equal(kicked, 1);
    admission_untrack(e, h); /* the kicked connection closes: no-op */
    assert_int_equal(
        admission_verify(e, d1.token, strlen(d1.token), CLUSTER_KIND_LIVE, 5, NULL, now, &c),
        CLUSTER_TOKEN_REVOKED);
    admission_metrics_get(e, &mm);
    assert_int_equal(mm.kills_applied, 1);
    assert_int_equal(mm.token_refused[5], 1);
    /* node 1 ends its viewer: reported in the next batch */
    h = admission_track(m, d2.sid, kick, NULL, &kicked);
    admission_untrack(m, h);
    admission_tick(m, NULL, 0, now + 10);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(db_csession_get(f->db, d2.sid, &row), 0);
    assert_string_equal(row.end_reason, "closed");
    /* a node not seen for the orphan ttl: its sessions are released */
    struct done d3 = {0};
    s.node_id = 2;
    s.max_connections = 0;
    assert_non_null(admission_submit(m, &s, on_done, &d3));
    while (!d3.calls)
        uv_run(&loop, UV_RUN_ONCE);
    struct cluster_node_view nodes[2] = {node(1, 0, 0, true), node(2, 1, 0, false)};
    nodes[1].seen_age_ms = 4000; /* under the ttl: kept */
    admission_tick(m, nodes, 2, now + 20);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(db_csession_get(f->db, d3.sid, &row), 0);
    assert_int_equal(row.ended_at, 0);
    nodes[1].seen_age_ms = 6000;
    admission_tick(m, nodes, 2, now + 30);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(db_csession_get(f->db, d3.sid, &row), 0);
    assert_string_equal(row.end_reason, "node_lost");
    admission_metrics_get(m, &mm);
    assert_int_equal(mm.sessions_released, 1);
    struct buf out;
    buf_init(&out, 1 << 16);
    admission_metrics_write(m, &out);
    assert_non_null(strstr(out.data, "xtreamd_cluster_admissions_total 3\n"));
    buf_free(&out);
    /* a session with two connections (a player's seek): the end of one is not the session's */
    struct done d4 = {0};
    s.node_id = 1;
    assert_non_null(admission_submit(m, &s, on_done, &d4));
    while (!d4.calls)
        uv_run(&loop, UV_RUN_ONCE);
    uint64_t h1 = admission_track(m, d4.sid, kick, NULL, &kicked);
    uint64_t h2 = admission_track(m, d4.sid, kick, NULL, &kicked);
    assert_true(admission_tracked(m, d4.sid));
    admission_untrack(m, h1);
    admission_tick(m, NULL, 0, now + 40);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(db_csession_get(f->db, d4.sid, &row), 0);
    assert_int_equal(row.ended_at, 0);
    /* its HLS-style refreshes by handle, once per batch: last_seen */
    admission_touch_handle(m, h2);
    admission_touch_handle(m, h2);
    admission_touch(m, d4.sid);
    admission_tick(m, NULL, 0, now + 50);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(db_csession_get(f->db, d4.sid, &row), 0);
    assert_int_equal(row.last_seen_at, now + 50);
    admission_metrics_get(m, &mm);
    uint64_t written = mm.reports_written;
    /* forgotten (not the session's connection): no end; the last one ending: ended */
    admission_forget(m, h2);
    assert_false(admission_tracked(m, d4.sid));
    admission_tick(m, NULL, 0, now + 60);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(db_csession_get(f->db, d4.sid, &row), 0);
    assert_int_equal(row.ended_at, 0);
    h1 = admission_track(m, d4.sid, kick, NULL, &kicked);
    admission_untrack(m, h1);
    admission_tick(m, NULL, 0, now + 70);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(db_csession_get(f->db, d4.sid, &row), 0);
    assert_string_equal(row.end_reason, "closed");
    admission_metrics_get(m, &mm);
    assert_int_equal(mm.reports_written, written + 1);
    admission_free(m);
    admission_free(e);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choose),
        cmocka_unit_test(test_redirect_url),
        cmocka_unit_test_setup_teardown(test_admit_kill_report, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
