/*
 * cli/handover: graceful upgrade — a new `xtreamd serve` takes over the
 * listening sockets of the server running on the same data folder.
 *
 * Every server listens on a unix socket <data>/handover.sock (0600 in the
 * 0700 data folder: only the server's user can reach it). The protocol, one
 * text line each way (docs/internals/handover.md):
 *
 *   new -> old  "TAKE 1\n"
 *   old -> new  "LISTEN <n>\n" then n lines "<name> <host> <port>\n", in one
 *               message carrying the n listening fds in the same order
 *               (SCM_RIGHTS); name is "http" for the plain listener
 *   new         starts accepting on the fds, writes serve.json, binds its own
 *               handover.sock in place of the old one
 *   new -> old  "STOP\n"
 *   old -> new  "BYE\n", then stops accepting (closes its listener handles only:
 *               the sockets live on in the new process), drains its
 *               connections within its stop grace and exits.
 *
 * No connection attempt is refused: both processes accept from the same
 * kernel sockets until the old one stops, and the accept queue is never
 * closed. If the new process dies before STOP, the old one keeps serving.
 * Threading: the server side runs on the loop thread (uv_poll, non-blocking,
 * one peer at a time); the client side is blocking with timeouts and runs
 * before the new server's loop starts.
 */
#ifndef XTREAMD_CLI_HANDOVER_H
#define XTREAMD_CLI_HANDOVER_H

#include <stddef.h>
#include <uv.h>

#define HANDOVER_MAX_FDS 4

/* The pid serve.json of data_dir names when that process is alive, else 0. */
long handover_running_pid(const char *data_dir);

/* One listening socket: what it is for, where it listens, its fd. */
struct handover_listener {
    char name[16]; /* "http" */
    char host[256];
    int port;
    int fd;
};

/* What the new server got from the old one. */
struct handover_take {
    struct handover_listener l[HANDOVER_MAX_FDS];
    size_t n;
    int peer; /* the connection to the old server, kept for STOP */
    long old_pid;
};
/* The listener named name, or NULL. */
struct handover_listener *handover_find(struct handover_take *t, const char *name);

/* Asks the server on data_dir for its listeners. 0 with t filled (fds are
 * non-blocking, close-on-exec), -ENOENT when no server answers there (start
 * normally), other -errno on a protocol error (logged). */
int handover_take(const char *data_dir, struct handover_take *t);
/* Tells the old server to stop accepting and waits for its BYE (bounded);
 * closes t->peer and every listener fd the caller did not take (set to -1). */
int handover_release(struct handover_take *t);
/* Closes what handover_take returned without STOP (the old one keeps going). */
void handover_abort(struct handover_take *t);

/* The old server's side. on_stop(ud) runs on the loop when a successor has
 * taken the listeners and said STOP. */
struct handover_server;
/* Fills up to max listeners (fd, name, host, port); returns how many. */
typedef size_t (*handover_fds_fn)(void *ud, struct handover_listener *l, size_t max);
int handover_listen(uv_loop_t *loop, const char *data_dir, handover_fds_fn fds,
                    void (*on_stop)(void *ud), void *ud, struct handover_server **out);
/* Stops listening (on stop or hand-over); unlinks handover.sock only while it
 * is still this server's. Frees h once its handles are closed. */
void handover_close(struct handover_server *h);

#endif
