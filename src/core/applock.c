#include "core/applock.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/log.h"

/* An adaptive mutex (it spins briefly before it sleeps): held for a handler call
 * or the stretch between two of loop 0's socket calls, microseconds either way.
 * Not a FIFO ticket lock, which it was first: a FIFO lock hands itself to a waiter
 * that the scheduler may not be running, and with loops and load generator
 * sharing two cores every loop then waited for it (a convoy: 37,600 req/s for
 * get_live_categories against 69,400 with this mutex, bench/api; the loops'
 * mean wait measured 2.8 us). A waiter is not starved: loop 0 lets go before
 * every socket call and every poll, and test_applock checks a waiter gets in
 * while loop 0 never sleeps. */
static pthread_mutex_t mu = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
static _Thread_local unsigned depth;
static _Thread_local bool is_runner; /* the thread in applock_run */
static atomic_ullong n_entries, n_wait_ns;

void applock_enter(void)
{
    if (depth++)
        return;
    uint64_t t0 = is_runner ? 0 : uv_hrtime();
    pthread_mutex_lock(&mu);
    if (!is_runner) {
        atomic_fetch_add_explicit(&n_entries, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&n_wait_ns, uv_hrtime() - t0, memory_order_relaxed);
    }
}

void applock_leave(void)
{
    if (--depth)
        return;
    pthread_mutex_unlock(&mu);
}

bool applock_held(void)
{
    return depth > 0;
}

void applock_run(uv_loop_t *loop)
{
    is_runner = true;
    applock_enter();
    while (uv_run(loop, UV_RUN_NOWAIT)) {
        int timeout = uv_backend_timeout(loop);
        /* Released between iterations even with more to do at once, so a loop
         * waiting for the lock gets in (test_applock: a loop that never sleeps). */
        applock_leave();
        log_batch_flush(); /* nothing waits in the log while the loop sleeps */
        struct pollfd p = {.fd = uv_backend_fd(loop), .events = POLLIN};
        while (timeout != 0 && poll(&p, 1, timeout) < 0 && errno == EINTR)
            ;
        applock_enter();
    }
    applock_leave();
    is_runner = false;
}

void applock_stats(uint64_t *entries, uint64_t *wait_ns)
{
    *entries = atomic_load_explicit(&n_entries, memory_order_relaxed);
    *wait_ns = atomic_load_explicit(&n_wait_ns, memory_order_relaxed);
}
