#include "core/applock.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/log.h"

/* A ticket lock on a mutex and a condition variable: whoever asked first goes
 * first. Held for a handler call (microseconds) or one loop iteration. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static uint64_t next_ticket, serving; /* under mu */
static _Thread_local unsigned depth;
static _Thread_local bool is_runner; /* the thread in applock_run */
static atomic_ullong n_entries, n_wait_ns;

void applock_enter(void)
{
    if (depth++)
        return;
    uint64_t t0 = is_runner ? 0 : uv_hrtime();
    pthread_mutex_lock(&mu);
    uint64_t t = next_ticket++;
    while (t != serving)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    if (!is_runner) {
        atomic_fetch_add_explicit(&n_entries, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&n_wait_ns, uv_hrtime() - t0, memory_order_relaxed);
    }
}

void applock_leave(void)
{
    if (--depth)
        return;
    pthread_mutex_lock(&mu);
    serving++;
    bool waiters = next_ticket != serving;
    pthread_mutex_unlock(&mu);
    if (waiters)
        pthread_cond_broadcast(&cv);
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
        /* Released between iterations even with more to do at once: a loop
         * waiting for the lock (its ticket is older) goes first. */
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
