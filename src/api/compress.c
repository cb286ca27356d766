/*
 * compress: content negotiation for the cached catalogue responses
 * (player_api lists and categories, get.php playlists).
 *
 * A cached response's gzip variant is made lazily, once: the first request
 * that accepts gzip for a cached body of at least API_GZIP_MIN_BYTES
 * compresses it (zlib, gzip wrapper, API_GZIP_LEVEL) and stores the result in
 * the same cache entry as the identity body, so it dies with the snapshot
 * exactly like the identity body, and counts against the same byte bound.
 * A variant that would not be smaller, or does not fit under the bound, is
 * declined and never tried again for that snapshot. Responses that are not
 * cached (paged lists, bodies past the cache bound) are sent as identity:
 * compressing them would cost the loop thread on every request.
 *
 * Every negotiated response says Vary: Accept-Encoding, whichever variant it
 * carries. HEAD runs the same code, so its headers (Content-Length included)
 * are GET's.
 *
 * Threading: loop thread only (the catalogue caches are loop-thread only);
 * the one-time compression runs inline in the handler, like the rendering it
 * follows.
 */
#include <errno.h>
#include <time.h>

#include "api/api_priv.h"
#include "core/log.h"
#include "http/encoding.h"

/* Level 1, not 6: compression runs inline on the loop thread, once per
 * snapshot per cached body (playlists: per line). On a 20 000-channel
 * get_live_streams body level 6 took 2.2-2.5x the time of level 1 for 4-15%
 * fewer bytes (docs/internals/api.md, Compression). */
#define API_GZIP_LEVEL     1
#define API_GZIP_MIN_BYTES 1024

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int slot_get(const struct api_cache_slot *s, struct refbuf **gz)
{
    return s->view ? cat_view_cache_get_gzip(s->view, s->skey, gz)
                   : catalog_cache_get_gzip(s->cat, s->skey, gz);
}

static int slot_put(const struct api_cache_slot *s, struct refbuf *gz)
{
    return s->view ? cat_view_cache_put_gzip(s->view, s->skey, gz)
                   : catalog_cache_put_gzip(s->cat, s->skey, gz);
}

/* The gzip variant for a cached identity body, made now if undecided; NULL
 * means identity. Returns a new reference. */
static struct refbuf *gzip_variant(const struct api_cache_slot *s, struct refbuf *identity)
{
    struct refbuf *gz = NULL;
    int rc = slot_get(s, &gz);
    if (rc != -EAGAIN)
        return gz; /* decided (maybe declined), or not cached: identity */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = http_gzip(identity->data, identity->len, API_GZIP_LEVEL, &gz);
    if (rc) {
        log_warn("api", "gzip of a cached %s response (%zu bytes) failed: %d", s->what,
                 identity->len, rc);
        if (rc != -ENOMEM) /* out of memory may pass: try again next time */
            slot_put(s, NULL);
        return NULL;
    }
    if (gz->len >= identity->len) {
        refbuf_unref(gz);
        slot_put(s, NULL);
        return NULL;
    }
    rc = slot_put(s, gz);
    log_info("api", "gzip %s: %zu -> %zu bytes (%.1fx, level %d) in %.1f ms%s", s->what,
             identity->len, gz->len, (double)identity->len / (double)gz->len, API_GZIP_LEVEL,
             ms_since(&t0), rc == -ENOSPC ? ", not cached (cache full)" : "");
    return gz; /* even when not stored, this response may as well use it */
}

int api_gzip_make(const void *data, size_t len, struct refbuf **out)
{
    return http_gzip(data, len, API_GZIP_LEVEL, out);
}

void api_gzip_offer(const struct api_cache_slot *s, struct refbuf *identity, struct refbuf *gz,
                    double took_ms)
{
    struct refbuf *have = NULL;
    if (slot_get(s, &have) != -EAGAIN) {
        refbuf_unref(have);
        return; /* decided already, or the identity body is not cached */
    }
    if (!gz || gz->len >= identity->len) {
        slot_put(s, NULL);
        return;
    }
    int rc = slot_put(s, gz);
    log_info("api", "gzip %s: %zu -> %zu bytes (%.1fx, level %d) in %.1f ms off the loop%s",
             s->what, identity->len, gz->len, (double)identity->len / (double)gz->len,
             API_GZIP_LEVEL, took_ms, rc == -ENOSPC ? ", not cached (cache full)" : "");
}

void api_respond_cached(struct api_req *r, struct refbuf *identity, const struct api_cache_slot *s)
{
    http_response_header(r->res, "Vary", "Accept-Encoding");
    struct refbuf *gz = NULL;
    if (identity->len >= API_GZIP_MIN_BYTES && http_request_accepts_gzip(r->req))
        gz = gzip_variant(s, identity);
    if (gz) {
        http_response_header(r->res, "Content-Encoding", "gzip");
        http_response_body_ref(r->res, gz);
        refbuf_unref(gz);
    } else {
        http_response_body_ref(r->res, identity);
    }
}
