/* Unit tests for core/applock: the lock excludes (two threads bump a plain counter
 * 200,000 times under it and none is lost; TSan sees no race), it is re-entrant per
 * thread, and a loop run by applock_run releases it while it waits for events: another
 * thread takes it then, changes what the loop's timer reads, and the loop sees the
 * change and stops. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_excludes),
        cmocka_unit_test(test_reentrant),
        cmocka_unit_test(test_run_releases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
