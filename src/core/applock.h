/*
 * applock: the application lock of a server with several I/O loops.
 *
 * Everything the request handlers share (the catalogue snapshot and its caches,
 * the access and throttle state, the connection registry, the renders in flight,
 * the API's counters) was written for one thread, loop 0's. Loops 1..N-1 answer
 * some requests themselves (http/server.h, route_here): they call into that code
 * only holding this lock, and loop 0 holds it whenever it runs (applock_run), so
 * the handlers stay single-threaded while each loop does its own socket work
 * (accept, read, parse, write), which is most of a request's cost.
 *
 * Invariants: loop 0 releases the lock while it waits for events and, from the
 * HTTP server's own frames (never inside a handler), around its socket calls; a
 * busy loop 0 therefore lets a waiting loop in many times per iteration. The lock
 * is an adaptive mutex, not FIFO (applock.c says why); it is re-entrant per
 * thread (a handler that resumes a deferred response may dispatch the next
 * pipelined request).
 * Nothing on the per-packet path of a live viewer takes it.
 * Threading: any thread.
 */
#ifndef XTREAMD_CORE_APPLOCK_H
#define XTREAMD_CORE_APPLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

void applock_enter(void);
void applock_leave(void);
/* True when the calling thread holds the lock. */
bool applock_held(void);
/* Runs loop like uv_run(UV_RUN_DEFAULT), holding the lock except while it
 * waits for events (the loop's backend fd, with the loop's own timeout). */
void applock_run(uv_loop_t *loop);
/* Times the lock was taken by a thread other than loop 0's and how long those
 * waited in total (ns): /metrics. */
void applock_stats(uint64_t *entries, uint64_t *wait_ns);

#endif
