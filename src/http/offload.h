/*
 * offload: big file bodies written by another I/O loop (issue 11, VOD on every core).
 *
 * The accepting loop parses every request and runs every handler; with one loop per core
 * the other loops only wrote live viewers, so a movie's bytes (sendfile of 1-8 MiB ranges:
 * the kernel's copy of the page cache into the socket is most of VOD's CPU) all went out
 * through one core while nginx spread them over its workers. Here the accepting loop hands
 * just the body of a plain-TCP file response to another loop: a job holds a dup of the
 * socket, the file and the range; the writer sends it with sendfile on its own loop, then
 * posts the job back to the connection's home, which takes the connection up again (the
 * next pipelined request, keep-alive, the file-done callback): the connection, its request
 * state and its registry entry never leave the accepting loop.
 *
 * Invariants: while a job is out, its home never writes to the socket, frees the file
 * piece or closes the descriptor (a close shuts the socket down, which ends the writer's
 * sendfile with EPIPE, and the connection is freed when the job is back). A writer that
 * stops posts every job it holds back unfinished (err -ECANCELED, sent so far): the home
 * writes the rest itself.
 *
 * The response head may ride with the body (head/head_len): the writer sends it first with
 * MSG_MORE, so that the head and the body's first bytes leave in one segment and the
 * accepting loop, which parses every request, is spared a send per response (on loopback
 * a send also runs the receiver's TCP path on the sender's core). head_sent < head_len on
 * return means no byte of the body went out.
 *
 * Threading: offload_submit and the writer's result post are the only cross-thread calls
 * (a mutex per list, taken once per job, and an async handle); a job's fields are the
 * writer's between submit and post, the home's otherwise, except progress_ms (atomic: the
 * home's write timeout reads it while the job is out).
 */
#ifndef XTREAMD_HTTP_OFFLOAD_H
#define XTREAMD_HTTP_OFFLOAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#define OFFLOAD_HEAD_MAX 2048 /* a longer head is sent by the home before the job starts */

struct offload_home;
struct offload_writer;

struct offload_job {
    struct offload_job *next;  /* on one list at a time: an inbox, the writer's, a result list */
    struct offload_job *prev;  /* the writer's active list */
    struct offload_home *home; /* where the job goes back */
    struct offload_writer *writer; /* while out */
    void *owner;                   /* the home's connection */
    int sock;                      /* a dup of the connection's socket, closed by the writer */
    int file_fd;                   /* borrowed: the home keeps the file open while the job is out */
    off_t foff;                    /* next byte of the file to send */
    size_t len;                    /* bytes still to send */
    size_t sent;                   /* body bytes sent by the writer */
    size_t head_len, head_sent;    /* the response head's bytes, sent before the body */
    int err; /* 0 (all sent), -ECANCELED (the writer stopped), -ENODATA (the file ended early),
                -errno */
    _Atomic uint64_t progress_ms; /* the writer's last write (uv_now: one clock for all loops) */
    uv_poll_t poll;               /* the writer's */
    char head[OFFLOAD_HEAD_MAX];
};

/* The home of a loop's jobs: done(ctx, job) runs on that loop for each job that comes back.
 * Start and stop on the loop's thread; stop only once no job is out (the caller's count). */
int offload_home_start(uv_loop_t *loop, void (*done)(void *ctx, struct offload_job *j), void *ctx,
                       struct offload_home **out);
void offload_home_stop(struct offload_home *h);

/* A loop that writes jobs. Start and stop on its thread; stop posts the jobs it holds back. */
int offload_writer_start(uv_loop_t *loop, struct offload_writer **out);
void offload_writer_stop(struct offload_writer *w);

/* Any thread: hands j (sock, file_fd, foff, len, owner and home set; head_len and head
 * optional) to w. */
void offload_submit(struct offload_writer *w, struct offload_job *j);

#endif
