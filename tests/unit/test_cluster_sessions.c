/* Unit tests for db/sessions: cluster admission on the database — newest
 * wins (the oldest over the limit is ended and reported, the count never
 * exceeds the limit), HLS leases (a stale one is not counted, a touched one
 * is), release of a lost node's sessions, end, duplicate ids, no limit, and
 * many concurrent admissions of one line from several connections (threads)
 * leaving exactly max active. Runs on SQLite and, as test_cluster_sessions_pg,
 * on PostgreSQL. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "db/sessions.h"
#include "db_fixture.h"

static int setup(void **state)
{
    return db_fixture_open(state, "sessions");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

static struct db_csession_new sess(int n, int64_t line, int64_t node, const char *kind)
{
    struct db_csession_new s = {
        .line_id = line, .stream_id = 5, .node_id = node, .kind = kind, .ip = "10.0.0.1"};
    snprintf(s.id, sizeof(s.id), "%032x", n);
    return s;
}

static void test_newest_wins(void **state)
{
    struct fixture *f = *state;
    struct db_csession_victim v[4];
    size_t nv = 9, count = 0;
    struct db_csession_new a = sess(1, 7, 1, "live"), b = sess(2, 7, 2, "live"),
                           c = sess(3, 7, 2, "movie");
    assert_int_equal(db_csession_admit(f->db, &a, 2, 100, 30, v, 4, &nv), 0);
    assert_int_equal(nv, 0);
    assert_int_equal(db_csession_admit(f->db, &b, 2, 101, 30, v, 4, &nv), 0);
    assert_int_equal(nv, 0);
    assert_int_equal(db_csession_admit(f->db, &c, 2, 102, 30, v, 4, &nv), 0);
    assert_int_equal(nv, 1); /* the oldest, on node 1 */
    assert_string_equal(v[0].id, a.id);
    assert_int_equal(v[0].node_id, 1);
    assert_int_equal(db_csessions_count_line(f->db, 7, 102, 30, &count), 0);
    assert_int_equal(count, 2);
    struct db_csession_row r;
    assert_int_equal(db_csession_get(f->db, a.id, &r), 0);
    assert_int_equal(r.ended_at, 102);
    assert_string_equal(r.end_reason, "limit");
    assert_int_equal(db_csession_get(f->db, c.id, &r), 0);
    assert_int_equal(r.ended_at, 0);
    assert_string_equal(r.kind, "movie");
    /* another line is not touched */
    struct db_csession_new d = sess(4, 8, 1, "live");
    assert_int_equal(db_csession_admit(f->db, &d, 1, 103, 30, v, 4, &nv), 0);
    assert_int_equal(nv, 0);
    /* max 1: the new one replaces both */
    struct db_csession_new e = sess(5, 7, 1, "live");
    assert_int_equal(db_csession_admit(f->db, &e, 1, 104, 30, v, 4, &nv), 0);
    assert_int_equal(nv, 2);
    assert_int_equal(db_csessions_count_line(f->db, 7, 104, 30, &count), 0);
    assert_int_equal(count, 1);
    /* the same id again */
    assert_int_equal(db_csession_admit(f->db, &e, 0, 105, 30, v, 4, &nv), -EEXIST);
    assert_int_equal(db_csessions_count_line(f->db, 7, 105, 30, &count), 0);
    assert_int_equal(count, 1);
    /* no limit */
    for (int i = 10; i < 20; i++) {
        struct db_csession_new s = sess(i, 9, 1, "live");
        assert_int_equal(db_csession_admit(f->db, &s, 0, 110, 30, v, 4, &nv), 0);
        assert_int_equal(nv, 0);
    }
    assert_int_equal(db_csessions_count_line(f->db, 9, 110, 30, &count), 0);
    assert_int_equal(count, 10);
    /* the limit lowered far below: all but the newest are ended, more than cap reported */
    struct db_csession_new s = sess(30, 9, 1, "live");
    assert_int_equal(db_csession_admit(f->db, &s, 1, 111, 30, v, 4, &nv), 0);
    assert_int_equal(nv, 10);
    assert_int_equal(db_csessions_count_line(f->db, 9, 111, 30, &count), 0);
    assert_int_equal(count, 1);
    /* bad input */
    struct db_csession_new bad = sess(40, 9, 1, "live");
    bad.id[0] = 'X';
    assert_int_equal(db_csession_admit(f->db, &bad, 1, 111, 30, v, 4, &nv), -EINVAL);
}

static void test_hls_lease(void **state)
{
    struct fixture *f = *state;
    struct db_csession_victim v[4];
    size_t nv, count, n;
    struct db_csession_new h = sess(1, 7, 1, "hls"), t = sess(2, 7, 2, "live");
    assert_int_equal(db_csession_admit(f->db, &h, 2, 100, 30, v, 4, &nv), 0);
    assert_int_equal(db_csessions_count_line(f->db, 7, 130, 30, &count), 0);
    assert_int_equal(count, 1);
    /* 31 s without a refresh: no longer counted */
    assert_int_equal(db_csessions_count_line(f->db, 7, 131, 30, &count), 0);
    assert_int_equal(count, 0);
    const char *ids[] = {h.id, "0000000000000000000000000000dead"};
    assert_int_equal(db_csessions_touch(f->db, ids, 2, 125, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(db_csessions_count_line(f->db, 7, 150, 30, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(db_csession_admit(f->db, &t, 2, 150, 30, v, 4, &nv), 0);
    assert_int_equal(nv, 0);
    assert_int_equal(db_csessions_expire_hls(f->db, 200, 30, &n), 0);
    assert_int_equal(n, 1);
    struct db_csession_row r;
    assert_int_equal(db_csession_get(f->db, h.id, &r), 0);
    assert_string_equal(r.end_reason, "expired");
}

static void test_release_and_end(void **state)
{
    struct fixture *f = *state;
    struct db_csession_victim v[4];
    size_t nv, n, count;
    for (int i = 1; i <= 3; i++) {
        struct db_csession_new s = sess(i, 7, i == 3 ? 2 : 1, "live");
        assert_int_equal(db_csession_admit(f->db, &s, 0, 100, 30, v, 4, &nv), 0);
    }
    assert_int_equal(db_csessions_release_node(f->db, 1, "node_lost", 200, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(db_csessions_count_line(f->db, 7, 200, 30, &count), 0);
    assert_int_equal(count, 1);
    struct db_csession_row r;
    assert_int_equal(db_csession_get(f->db, "00000000000000000000000000000001", &r), 0);
    assert_string_equal(r.end_reason, "node_lost");
    assert_int_equal(db_csession_end(f->db, "00000000000000000000000000000003", "closed", 201), 0);
    assert_int_equal(db_csession_end(f->db, "00000000000000000000000000000003", "closed", 202),
                     -ENOENT);
    assert_int_equal(db_csession_end(f->db, "nope", "closed", 202), -ENOENT);
    assert_int_equal(db_csession_get(f->db, "00000000000000000000000000000009", &r), -ENOENT);
}

struct racer {
    const char *dir;
    int base;
    int rc;
    size_t most; /* the largest active count this racer saw after its admissions */
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct db *db;
    r->rc = db_open(r->dir, &db);
    if (r->rc)
        return NULL;
    for (int i = 0; i < 25 && !r->rc; i++) {
        struct db_csession_new s = sess(r->base + i, 77, 1 + (i & 1), "live");
        struct db_csession_victim v[4];
        size_t nv;
        r->rc = db_csession_admit(db, &s, 1, 100 + i, 30, v, 4, &nv);
        /* every committed state is within the limit, not only the last one */
        size_t count = 0;
        if (!r->rc)
            r->rc = db_csessions_count_line(db, 77, 100 + i, 300, &count);
        if (count > r->most)
            r->most = count;
    }
    db_close(db);
    return NULL;
}

static void test_concurrent(void **state)
{
    struct fixture *f = *state;
    pthread_t t[8];
    struct racer r[8];
    for (int i = 0; i < 8; i++) {
        r[i] = (struct racer){.dir = f->dir, .base = 1000 * (i + 1)};
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].rc, 0);
        assert_int_equal(r[i].most, 1);
    }
    size_t count;
    assert_int_equal(db_csessions_count_line(f->db, 77, 200, 300, &count), 0);
    assert_int_equal(count, 1);
}

/* An edge's offline journal (db_csessions_merge): rows inserted with their own start, an ended
 * one stays ended, a retry inserts nothing, and newest wins across nodes with the line's limit
 * — the other node's older session is ended, this node's own ones are not notified (they are
 * ended in the table all the same when beyond the limit). Unsorted lines are refused. */
static void test_merge(void **state)
{
    struct fixture *f = *state;
    struct db_csession_victim v[4];
    size_t nv = 0, written = 9, killed = 9, count = 0;
    /* line 7 (max 2): a session on node 1 admitted by the main at 100 */
    struct db_csession_new a = sess(1, 7, 1, "live");
    assert_int_equal(db_csession_admit(f->db, &a, 2, 100, 30, v, 4, &nv), 0);
    /* node 2 was offline: two sessions of line 7 (one ended already), one of line 8 */
    struct db_csession_offline rows[] = {
        {.line_id = 7,
         .stream_id = 5,
         .node_id = 2,
         .kind = "live",
         .ip = "10.0.0.2",
         .started_at = 110,
         .ended_at = 115,
         .end_reason = "limit",
         .max = 2},
        {.line_id = 7,
         .stream_id = 5,
         .node_id = 2,
         .kind = "live",
         .ip = "10.0.0.3",
         .started_at = 120,
         .max = 2},
        {.line_id = 8,
         .stream_id = 6,
         .node_id = 2,
         .kind = "hls",
         .ip = "10.0.0.4",
         .started_at = 130,
         .max = 0},
    };
    for (int i = 0; i < 3; i++)
        snprintf(rows[i].id, sizeof(rows[i].id), "%032x", 100 + i);
    assert_int_equal(db_csessions_merge(f->db, rows, 3, 2, 200, 30, &written, &killed), 0);
    assert_int_equal(written, 3);
    assert_int_equal(killed, 0); /* line 7: a (100) and the active one (120): 2 of 2 */
    struct db_csession_row r;
    assert_int_equal(db_csession_get(f->db, rows[0].id, &r), 0);
    assert_int_equal(r.started_at, 110);
    assert_int_equal(r.ended_at, 115);
    assert_string_equal(r.end_reason, "limit");
    assert_int_equal(db_csession_get(f->db, rows[2].id, &r), 0);
    assert_int_equal(r.ended_at, 0);
    assert_int_equal(r.last_seen_at, 200); /* an HLS lease counts from the merge */
    assert_int_equal(db_csessions_count_line(f->db, 7, 200, 30, &count), 0);
    assert_int_equal(count, 2);
    /* a retry (the COMMIT's answer lost) writes nothing twice */
    assert_int_equal(db_csessions_merge(f->db, rows, 3, 2, 201, 30, &written, &killed), 0);
    assert_int_equal(written, 0);
    /* a later journal with the limit lowered to 1: the newest stays, a (node 1) and node 2's
     * older one are ended */
    struct db_csession_offline more = {.line_id = 7,
                                       .stream_id = 5,
                                       .node_id = 2,
                                       .kind = "live",
                                       .ip = "10.0.0.5",
                                       .started_at = 150,
                                       .max = 1};
    snprintf(more.id, sizeof(more.id), "%032x", 200);
    assert_int_equal(db_csessions_merge(f->db, &more, 1, 2, 202, 30, &written, &killed), 0);
    assert_int_equal(written, 1);
    assert_int_equal(killed, 2);
    assert_int_equal(db_csession_get(f->db, a.id, &r), 0);
    assert_string_equal(r.end_reason, "limit");
    assert_int_equal(db_csession_get(f->db, rows[1].id, &r), 0);
    assert_string_equal(r.end_reason, "limit");
    assert_int_equal(db_csession_get(f->db, more.id, &r), 0);
    assert_int_equal(r.ended_at, 0);
    /* rows out of line order, a bad id: refused, nothing written */
    struct db_csession_offline bad[2] = {rows[2], rows[1]};
    snprintf(bad[0].id, sizeof(bad[0].id), "%032x", 300);
    snprintf(bad[1].id, sizeof(bad[1].id), "%032x", 301);
    assert_int_equal(db_csessions_merge(f->db, bad, 2, 2, 203, 30, &written, &killed), -EINVAL);
    snprintf(bad[0].id, sizeof(bad[0].id), "nothex");
    assert_int_equal(db_csessions_merge(f->db, bad, 1, 2, 203, 30, &written, &killed), -EINVAL);
    assert_int_equal(db_csession_get(f->db, bad[1].id, &r), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_newest_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hls_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_and_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
