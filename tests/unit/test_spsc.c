/* Unit tests for core/spsc: capacity rounding and the full/empty edges, FIFO
 * order across index wrap-around, and a producer thread and a consumer thread
 * passing a million sequenced messages (every one arrives once, in order, with
 * its payload intact — the release/acquire pairing; run under TSan too). */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/spsc.h"

struct msg {
    uint64_t seq;
    uint64_t check;
};

static void test_edges(void **state)
{
    (void)state;
    struct spsc q;
    assert_int_equal(spsc_init(&q, sizeof(struct msg), 0), -22);
    assert_int_equal(spsc_init(&q, sizeof(struct msg), 5), 0); /* rounded to 8 */
    struct msg m = {0};
    for (uint64_t i = 0; i < 8; i++) {
        m.seq = i;
        assert_true(spsc_push(&q, &m));
    }
    assert_false(spsc_push(&q, &m));                 /* full */
    for (uint64_t round = 0; round < 100; round++) { /* wraps the indices many times */
        assert_true(spsc_pop(&q, &m));
        assert_int_equal(m.seq, round);
        m.seq = round + 8;
        assert_true(spsc_push(&q, &m));
        assert_false(spsc_push(&q, &m));
    }
    for (uint64_t i = 100; i < 108; i++) {
        assert_true(spsc_pop(&q, &m));
        assert_int_equal(m.seq, i);
    }
    assert_false(spsc_pop(&q, &m)); /* empty */
    spsc_free(&q);
}

#define N_MSGS 1000000u

static void *producer(void *arg)
{
    struct spsc *q = arg;
    struct msg m;
    for (uint64_t i = 0; i < N_MSGS;) {
        m.seq = i;
        m.check = i * 2654435761u;
        if (spsc_push(q, &m))
            i++;
        else
            sched_yield();
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct spsc q;
    assert_int_equal(spsc_init(&q, sizeof(struct msg), 64), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, &q), 0);
    uint64_t want = 0;
    struct msg m;
    while (want < N_MSGS) {
        if (!spsc_pop(&q, &m)) {
            sched_yield();
            continue;
        }
        assert_int_equal(m.seq, want);
        assert_int_equal(m.check, want * 2654435761u);
        want++;
    }
    pthread_join(t, NULL);
    assert_false(spsc_pop(&q, &m));
    spsc_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
