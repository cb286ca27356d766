/*
 * admin/events: Server-Sent Events fan-out for GET /api/v1/events.
 *
 * A subscriber is an HTTP response turned into a `text/event-stream` body
 * (events_subscribe). events_publish() formats an event once and appends it
 * to every subscriber's queue; the HTTP server pulls the queue as the socket
 * drains. Wire format (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 *
 *     retry: 3000                      (once, first)
 *
 *     id: 42
 *     event: counters
 *     data: {"viewers":{...},...}
 *
 *     : keepalive                      (a comment every 15 s)
 *
 * Ids start at 1 and increase by one per published event, across types, for
 * the life of the process. There is no replay: Last-Event-ID is ignored and a
 * new subscriber gets only events published after it subscribed (a client that
 * reconnects re-reads the state it needs through the REST API).
 *
 * Bounds: at most EVENTS_MAX_SUBSCRIBERS subscribers (events_subscribe returns
 * -EBUSY beyond: answer 503 + Retry-After; counted), and EVENTS_QUEUE_MAX bytes
 * waiting per subscriber: a subscriber that does not read and falls past it
 * is disconnected (counted). Both counters and the subscriber gauge are in
 * /metrics through events_metrics().
 *
 * Event types in use: `counters` (stats.h, every second: the
 * stats_counters_json object) and entity changes published by the admin API
 * (admin_notify_change: type and data chosen by the integrator).
 *
 * Lifecycle: events_new() → events_subscribe()/events_publish() →
 * events_stop() when the server stops (ends every stream once its queue is
 * sent, refuses new subscribers, closes the keepalive timer) → events_free()
 * after the loop returned.
 * Threading: loop thread only (publish from a pool thread is not allowed:
 * hand the change to the loop first, e.g. from an admin route's post()).
 */
#ifndef XTREAMD_ADMIN_EVENTS_H
#define XTREAMD_ADMIN_EVENTS_H

#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "http/http.h"

#define EVENTS_MAX_SUBSCRIBERS 64
#define EVENTS_QUEUE_MAX       (256 * 1024) /* bytes waiting per subscriber */
#define EVENTS_KEEPALIVE_MS    15000
#define EVENTS_MAX_DATA        (64 * 1024) /* one event's data; longer: -E2BIG */

struct events;

int events_new(uv_loop_t *loop, struct events **out);
/* After events_stop() (whose timer close the loop completes on its own, even
 * after events_free). Subscribers still open are detached: they end on their
 * own. */
void events_free(struct events *ev);
void events_stop(struct events *ev);

/*
 * Turns res into the event stream: status 200, Content-Type
 * text/event-stream, Cache-Control: no-cache, X-Accel-Buffering: no, a
 * close-delimited streamed body (no Content-Length) starting with
 * "retry: 3000". Nothing else may be added to res's body afterwards (headers
 * such as CORS may be added before or after). Works on a deferred response
 * too (the admin API's): subscribe, then http_response_resume(); if the
 * connection closes first, the server's close of the source unsubscribes. For
 * HEAD the server sends the head alone and closes the source at once.
 * -EBUSY at EVENTS_MAX_SUBSCRIBERS or once stopped (counted), -ENOMEM:
 * nothing was written to res, answer the error yourself (503 + Retry-After).
 */
int events_subscribe(struct events *ev, struct http_response *res);

/*
 * Sends an event to every subscriber: type is a token ([a-z0-9_.-]+, at most
 * 64 bytes), json_data one JSON value without CR/LF (jsonw and jansson's
 * compact output qualify), at most EVENTS_MAX_DATA bytes. Returns the
 * event's id (> 0), or -EINVAL (bad type or data) / -E2BIG, in which case
 * nothing is sent and no id is used. With no subscriber the id is still used.
 */
int64_t events_publish(struct events *ev, const char *type, const char *json_data);

size_t events_subscribers(const struct events *ev);
/* /metrics series (Prometheus text) appended to out:
 * xtreamd_events_subscribers, xtreamd_events_published_total,
 * xtreamd_events_slow_dropped_total, xtreamd_events_refused_total. */
void events_metrics(const struct events *ev, struct buf *out);

#endif
