/*
 * notify: the systemd service notification protocol (sd_notify(3)), written
 * by hand — one datagram of "KEY=VALUE\n" lines to the unix socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
 *
 * notify_open() reads $NOTIFY_SOCKET and $WATCHDOG_USEC/$WATCHDOG_PID once
 * and removes them from the environment, so children (ffmpeg) neither see
 * nor use them. Without $NOTIFY_SOCKET every send is a no-op returning 0.
 * The socket is non-blocking: a manager that does not read its queue cannot
 * stall the loop; a datagram that cannot be sent is counted, not retried.
 *
 * Threading: loop thread only (the state is process-global).
 */
#ifndef XTREAMD_CORE_NOTIFY_H
#define XTREAMD_CORE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct notify_counters {
    unsigned long long sent;   /* datagrams the socket took */
    unsigned long long failed; /* datagrams lost (queue full, manager gone) */
};

/* 0 (also when $NOTIFY_SOCKET is unset), or -errno for a socket that cannot
 * be used (bad address, socket() failing); the sends are then no-ops. */
int notify_open(void);
bool notify_enabled(void);
/* The watchdog interval systemd asked for ($WATCHDOG_USEC, when
 * $WATCHDOG_PID is unset or ours), 0 without a watchdog. */
uint64_t notify_watchdog_usec(void);
/* Sends msg ("READY=1", "STATUS=...\nWATCHDOG=1", ...) as one datagram.
 * 0, or -errno (the datagram is lost and counted). */
int notify_send(const char *msg);
void notify_get_counters(struct notify_counters *out);
void notify_close(void);

#endif
