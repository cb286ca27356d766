/*
 * relay: remote movies and episodes (http/https sources) relayed through
 * xtreamd, so that viewers never see the provider's URL and every download
 * counts as a connection of the line.
 *
 * Owns one libcurl multi handle driven by the libuv loop (a uv_poll_t per
 * upstream socket, a uv_timer_t for curl's timeouts, a work timer for the
 * things that must not happen inside curl's callbacks: removing finished
 * transfers and resuming paused ones) and one job per relayed response.
 *
 * A job defers its HTTP response (http_response_defer) until the upstream's
 * final response head is in, then answers with the upstream's status,
 * Content-Length, Content-Range, Content-Type, ETag, Last-Modified and
 * Accept-Ranges, and streams the body through a bounded buffer: when the
 * viewer reads slower than the upstream sends, the upstream transfer is paused
 * (TCP back-pressure reaches the provider) instead of buffering the film.
 * The client's Range and If-Range are passed through unchanged.
 *
 * Invariants: a job is freed only from the work timer, never inside a curl
 * or HTTP callback; the done callback of a job runs exactly once, as soon as
 * the HTTP side let go of it (response over, connection closed). Every
 * upstream connection is closed after its transfer (no reuse), so no socket
 * outlives its job.
 * Threading: loop thread only.
 */
#ifndef XTREAMD_VOD_RELAY_H
#define XTREAMD_VOD_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "http/http.h"

struct vod_relay;

struct vod_relay_request {
    const char *url;          /* http:// or https:// */
    const char *range;        /* the client's Range header, or NULL */
    const char *if_range;     /* the client's If-Range header, or NULL */
    const char *user_agent;   /* sent upstream; NULL = xtreamd's own */
    const char *default_type; /* Content-Type when the upstream gives none */
    bool head;                /* HEAD: the upstream gets a HEAD too */
    void (*done)(void *ctx);  /* the response ended (its connection may be gone) */
    void *done_ctx;
};

int vod_relay_new(uv_loop_t *loop, struct vod_relay **out);
/* Frees the manager after the server stopped; ends any job still running and
 * runs the loop until the manager's handles are closed. */
void vod_relay_free(struct vod_relay *m);
/* Relays rq as the response res (which this call defers). On error (-ENOMEM,
 * -EINVAL) nothing was deferred and rq->done is not called. */
int vod_relay_start(struct vod_relay *m, struct http_response *res,
                    const struct vod_relay_request *rq);
/* Jobs in flight (for tests and metrics). */
size_t vod_relay_active(const struct vod_relay *m);

/*
 * The upstream's response head, fed line by line as libcurl delivers it. A
 * status line starts a new head (redirects, 100 Continue). Values that do not
 * fit or carry control characters are dropped, never truncated.
 */
struct vod_relay_head {
    int status;        /* 0 until a status line was seen */
    long long length;  /* Content-Length; -1 when absent or inconsistent */
    char type[128];    /* Content-Type */
    char range[96];    /* Content-Range */
    char etag[128];    /* ETag */
    char modified[64]; /* Last-Modified */
    char ranges[32];   /* Accept-Ranges */
    char encoding[32]; /* Content-Encoding */
    char location[8];  /* non-empty when a Location header was present */
};
/* Returns 1 when the line is the blank line ending a head, 0 for any other
 * accepted line, -EBADMSG for a line that is not a valid status line where
 * one is expected. */
int vod_relay_head_line(struct vod_relay_head *h, const char *line, size_t len);
/* The status xtreamd answers for an upstream status: 200/206/416 as they are,
 * 404 for 404/410, 504 for a gateway timeout, 502 for anything else. */
int vod_relay_status_map(int upstream);

#endif
