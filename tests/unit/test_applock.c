/* Unit tests for core/applock: the lock excludes (two threads bump a plain counter
 * 200,000 times under it and none is lost; TSan sees no race), it is re-entrant per
 * thread, and a loop run by applock_run releases it while it waits for events: another
 * thread takes it then, changes what the loop's timer reads, and the loop sees the
 * change and stops; a loop that never sleeps still lets a waiting thread in. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <uv.h>

#include "core/applock.h"

#define ROUNDS 100000

static uint64_t counter; /* plain: only ever touched under the lock */

static void *bump(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        applock_enter();
        counter++;
        applock_leave();
    }
    return NULL;
}

static void test_excludes(void **state)
{
    (void)state;
    counter = 0;
    pthread_t a, b;
    assert_int_equal(pthread_create(&a, NULL, bump, NULL), 0);
    assert_int_equal(pthread_create(&b, NULL, bump, NULL), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    applock_enter();
    assert_int_equal(counter, 2 * ROUNDS);
    applock_leave();
}

static void test_reentrant(void **state)
{
    (void)state;
    assert_false(applock_held());
    applock_enter();
    applock_enter(); /* a resumed response dispatching the next request */
    assert_true(applock_held());
    applock_leave();
    assert_true(applock_held());
    applock_leave();
    assert_false(applock_held());
}

/* The loop's state, read by its timer under the lock, written by another thread under
 * it too. */
struct shared {
    int value;
    int seen_by_loop;
    uv_timer_t timer;
    uint64_t other_entries_before;
};

static void on_timer(uv_timer_t *t)
{
    struct shared *s = t->data;
    assert_true(applock_held()); /* callbacks run holding it */
    if (s->value) {
        s->seen_by_loop = s->value;
        uv_close((uv_handle_t *)t, NULL); /* the loop ends: applock_run returns */
    }
}

static void *writer(void *arg)
{
    struct shared *s = arg;
    /* Taken while the loop waits for its next 10 ms tick: the loop never blocks us
     * for longer than one callback. */
    applock_enter();
    s->value = 42;
    applock_leave();
    return NULL;
}

static void test_run_releases(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct shared s = {0};
    uint64_t before_wait;
    applock_stats(&s.other_entries_before, &before_wait);
    uv_timer_init(&loop, &s.timer);
    s.timer.data = &s;
    uv_timer_start(&s.timer, on_timer, 10, 10);
    pthread_t w;
    assert_int_equal(pthread_create(&w, NULL, writer, &s), 0);
    applock_run(&loop);
    pthread_join(w, NULL);
    assert_false(applock_held()); /* released when the loop ended */
    assert_int_equal(s.seen_by_loop, 42);
    uint64_t entries, wait_ns;
    applock_stats(&entries, &wait_ns);
    assert_true(entries > s.other_entries_before); /* the writer's entry is counted */
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* No starvation: loop 0 never sleeps (an idle handle keeps every poll at timeout 0)
 * and holds the lock for 20 us of work per iteration, yet another thread gets the lock
 * 2,000 times well within the deadline. */
struct busy {
    uv_idle_t idle;
    atomic_int done;
    uint64_t deadline;
    unsigned iterations;
};

static void on_idle(uv_idle_t *h)
{
    struct busy *b = h->data;
    b->iterations++;
    uint64_t until = uv_hrtime() + 20000;
    while (uv_hrtime() < until)
        ;
    if (atomic_load(&b->done) || uv_hrtime() > b->deadline)
        uv_idle_stop(h);
}

#define WAITER_ENTRIES 2000

static void *waiter(void *arg)
{
    struct busy *b = arg;
    for (int i = 0; i < WAITER_ENTRIES; i++) {
        applock_enter();
        counter++;
        applock_leave();
    }
    atomic_store(&b->done, 1);
    return NULL;
}

static void test_busy_loop_lets_in(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct busy b = {.deadline = uv_hrtime() + 10ull * 1000 * 1000 * 1000};
    uv_idle_init(&loop, &b.idle);
    b.idle.data = &b;
    uv_idle_start(&b.idle, on_idle);
    counter = 0;
    pthread_t w;
    assert_int_equal(pthread_create(&w, NULL, waiter, &b), 0);
    applock_run(&loop);
    pthread_join(w, NULL);
    uv_close((uv_handle_t *)&b.idle, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(counter, WAITER_ENTRIES);
    /* It got in while the loop ran, not after the deadline stopped it. */
    assert_true(uv_hrtime() < b.deadline);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_excludes),
        cmocka_unit_test(test_reentrant),
        cmocka_unit_test(test_run_releases),
        cmocka_unit_test(test_busy_loop_lets_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
