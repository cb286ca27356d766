/*
 * test_nodes: the cluster's node tables (db/nodes.c, domain/nodes.c) on SQLite and, as
 * test_nodes_pg, on PostgreSQL: one-time enrolment codes (once, expiry, name), heartbeats
 * (upsert, seq, age on the database's clock), caps and state, and node commands (NOTIFY
 * node_<id> reaching a LISTENing connection; PostgreSQL only).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "db/nodes.h"
#include "domain/nodes.h"
#include "db_fixture.h"

static int setup(void **state)
{
    if (sodium_init() < 0)
        return -1;
    return db_fixture_open(state, "nodes");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

static int64_t add_node(struct db *db, const char *name, const char *role)
{
    struct db_node n = {0};
    snprintf(n.name, sizeof(n.name), "%s", name);
    snprintf(n.role, sizeof(n.role), "%s", role);
    snprintf(n.public_url, sizeof(n.public_url), "http://%s.test:8080", name);
    snprintf(n.pubkey, sizeof(n.pubkey), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    int64_t id = 0;
    assert_int_equal(dom_node_insert(db, &n, time(NULL), &id), 0);
    assert_true(id > 0);
    return id;
}

static void test_enrol_code_once(void **state)
{
    struct fixture *f = *state;
    char code[41], code2[41];
    int64_t now = 1800000000, exp;
    assert_int_equal(dom_enrol_code_new(f->db, "", "t", now, code, &exp), 0);
    assert_int_equal(strlen(code), 40);
    assert_int_equal(exp, now + DOM_ENROL_CODE_TTL);
    assert_int_equal(dom_enrol_code_take(f->db, "0000", "edge1", now), -ENOENT); /* wrong */
    assert_int_equal(dom_enrol_code_take(f->db, code, "edge1", now + 10), 0);
    assert_int_equal(dom_enrol_code_take(f->db, code, "edge1", now + 11), -ENOENT); /* used */
    /* expired */
    assert_int_equal(dom_enrol_code_new(f->db, "", "t", now, code2, &exp), 0);
    assert_int_equal(dom_enrol_code_take(f->db, code2, "edge2", now + DOM_ENROL_CODE_TTL), -ENOENT);
    /* made for a name: another name is refused and uses it up */
    assert_int_equal(dom_enrol_code_new(f->db, "edge3", "t", now, code2, &exp), 0);
    assert_int_equal(dom_enrol_code_take(f->db, code2, "edge4", now + 1), -ENOENT);
    assert_int_equal(dom_enrol_code_take(f->db, code2, "edge3", now + 2), -ENOENT);
    assert_int_equal(dom_enrol_code_new(f->db, "edge3", "t", now, code2, &exp), 0);
    assert_int_equal(dom_enrol_code_take(f->db, code2, "edge3", now + 2), 0);
}

static void test_heartbeat_and_view(void **state)
{
    struct fixture *f = *state;
    int64_t main_id = add_node(f->db, "main", "main");
    int64_t edge = add_node(f->db, "edge1", "edge");
    struct db_node n;
    assert_int_equal(dom_node_get(f->db, edge, &n), 0);
    assert_false(n.has_status);
    assert_string_equal(n.state, "active");
    assert_int_equal(n.weight, 100);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct db_node_beat b = {.local_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                             .sessions = 7,
                             .egress_bps = 8000000,
                             .cpu_pct = 12.5,
                             .channels_running = 2};
    int64_t dbms = 0;
    assert_int_equal(db_node_beat(f->db, edge, &b, &dbms), 0);
    assert_true(dbms > 0);
    assert_int_equal(db_node_beat(f->db, edge, &b, NULL), 0);
    assert_int_equal(dom_node_get(f->db, edge, &n), 0);
    assert_true(n.has_status);
    assert_int_equal(n.seq, 2);
    assert_int_equal(n.sessions, 7);
    assert_int_equal(n.channels_running, 2);
    assert_true(n.age_ms >= 0 && n.age_ms < 5000);
    assert_true(n.skew_ms > -5000 && n.skew_ms < 5000);
    /* an unknown node cannot beat (foreign key) */
    assert_true(db_node_beat(f->db, 9999, &b, NULL) < 0);
    struct db_node *rows;
    size_t count;
    assert_int_equal(dom_nodes_list(f->db, &rows, &count), 0);
    assert_int_equal(count, 2);
    assert_int_equal(rows[0].id, main_id);
    assert_false(rows[0].has_status);
    free(rows);
    /* caps and state */
    n.max_sessions = 50;
    snprintf(n.countries, sizeof(n.countries), "FR,DE");
    snprintf(n.geo_mode, sizeof(n.geo_mode), "strict");
    assert_int_equal(dom_node_update_caps(f->db, &n), 0);
    assert_int_equal(dom_node_set_state(f->db, edge, "draining"), 0);
    assert_int_equal(dom_node_get(f->db, edge, &n), 0);
    assert_int_equal(n.max_sessions, 50);
    assert_string_equal(n.geo_mode, "strict");
    assert_string_equal(n.state, "draining");
    assert_true(dom_node_set_state(f->db, edge, "sleeping") < 0); /* CHECK */
    assert_int_equal(dom_node_set_state(f->db, 9999, "fenced"), -ENOENT);
    /* a name is unique */
    struct db_node dup = n;
    int64_t id;
    assert_int_equal(dom_node_insert(f->db, &dup, 1, &id), -EEXIST);
    /* delete drops its status */
    assert_int_equal(dom_node_delete(f->db, edge), 0);
    assert_int_equal(dom_node_get(f->db, edge, &n), -ENOENT);
    assert_int_equal(dom_node_delete(f->db, edge), -ENOENT);
}

static void test_command_reaches_listener(void **state)
{
    struct fixture *f = *state;
    int64_t edge = add_node(f->db, "edge1", "edge");
    char channel[64], payload[256], want[32];
    snprintf(want, sizeof(want), "node_%lld", (long long)edge);
    if (!db_fixture_pg()) {
        assert_int_equal(db_listen(f->db, want), -ENOTSUP);
        assert_int_equal(dom_node_set_state(f->db, edge, "fenced"), 0); /* no one to tell */
        return;
    }
    struct db *listener;
    assert_int_equal(db_open(f->dir, &listener), 0);
    assert_int_equal(db_listen(listener, want), 0);
    assert_int_equal(db_listen(listener, "Bad-Name"), -EINVAL);
    /* in a transaction: delivered at the commit, not before */
    assert_int_equal(db_begin(f->db), 0);
    assert_int_equal(dom_node_set_state(f->db, edge, "fenced"), 0);
    usleep(100 * 1000);
    assert_int_equal(
        db_notification_next(listener, channel, sizeof(channel), payload, sizeof(payload)), 0);
    assert_int_equal(db_commit(f->db), 0);
    int got = 0;
    for (int i = 0; i < 500 && got == 0; i++) {
        got = db_notification_next(listener, channel, sizeof(channel), payload, sizeof(payload));
        if (got == 0)
            usleep(10 * 1000);
    }
    assert_int_equal(got, 1);
    assert_string_equal(channel, want);
    assert_string_equal(payload, "state fenced");
    /* catalogue changes are still counted apart */
    assert_true(db_change_counter(listener) >= 0);
    db_close(listener);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enrol_code_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_and_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_reaches_listener, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
