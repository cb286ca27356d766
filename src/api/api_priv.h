/*
 * api_priv: what the API's handler files share: the request context (who is
 * asking, through which URL base), credential checks and common responses.
 */
#ifndef XTREAMD_API_API_PRIV_H
#define XTREAMD_API_API_PRIV_H

#include <stdint.h>

#include "api/api.h"
#include "auth/auth.h"
#include "auth/connections.h"
#include "core/jsonw.h"

/* A preview grant (api/preview.c). */
struct api_preview {
    char token[API_PREVIEW_TOKEN_LEN + 1]; /* "" = free slot */
    char kind;                             /* 'l' | 'm' | 'e' */
    int64_t id;
    char who[72]; /* "preview:<admin>" */
    int64_t granted, expires;
};

struct api {
    struct api_config cfg;
    char *public_url;
    int https_port; /* the TLS listener's port, 0 = none (api_set_https_port) */
    struct catalog *catalog;
    struct throttle *throttle; /* failed logins per IP (auth/throttle.h) */
    struct access *access;     /* access rules, bans, rate, refusal log (auth/access.h) */
    char **roots;              /* library roots (api_set_library_roots) */
    size_t nroots;
    char *data_real;             /* realpath of the data directory, or NULL */
    char *listen_host;           /* copy of cfg.listen_host */
    uint64_t admin_refused;      /* /metrics: foreign Host, cross-site, no token */
    uint64_t vod_refused;        /* /metrics: local files refused (domain/vod_paths.h) */
    uint64_t signed_urls[5];     /* /metrics: signed URL checks by result (api_count_signed) */
    struct conn_registry *conns; /* every delivering response (see auth/connections.h) */
    struct vod_conn *vod_conns;  /* VOD file responses in flight (api/vod.c) */
    struct live *live;           /* the live engine (stream/live.h), borrowed */
    struct archive *archive;     /* the TV archive (archive/archive.h), borrowed; NULL = none */
    struct catchup *catchup;     /* catch-up responses and sessions (api/catchup.c) */
    struct vod_relay *relay;     /* remote VOD relay (vod/relay.h), NULL = redirect */
    uint64_t vod_started[2];     /* /metrics: VOD responses started [file, relay] */
    uint64_t vod_bytes_done[2];  /* /metrics: bytes of ended responses [file, relay] */
    int64_t last_line_check;     /* api_tick: last api_vod_check_lines() */
    /* Loop lag (api_loop_lag_sample): maxima of the current and the previous
     * LOOP_LAG_WINDOW_NS window, [0] wall lateness, [1] CPU-busy lateness. */
    uint64_t lag_window_start;
    uint64_t lag_max_cur[2], lag_max_prev[2];
    uint64_t lag_stalls; /* probes with a CPU-busy lateness over LOOP_STALL_NS */
    struct {
        void (*fn)(void *ud, struct buf *out);
        void *ud;
    } metrics_extra[16]; /* api_add_metrics (serve registers 10 today) */
    size_t nmetrics_extra;
    /* Renders of uncached lists running on the thread pool (api/player_api.c),
     * one per (snapshot, view, key), each with the requests waiting for it. */
    struct api_render *renders;
    unsigned
        renders_running; /* on the thread pool (at most 2 of loop 0's, 1 of each other loop's) */
    uint64_t renders_started, renders_joined; /* /metrics */
    struct api_preview previews[API_PREVIEW_MAX];
    struct cluster *cluster;     /* this node in a cluster (cluster/node.h), borrowed; NULL alone */
    struct admission *admission; /* cluster/admission.h, borrowed; NULL alone */
    struct offline *offline;     /* cluster/offline.h, borrowed; NULL but on an edge */
    uint64_t preview_granted, preview_replaced, preview_refused;
    uint64_t origin_pulls, origin_refused; /* GET /cluster/origin/ID.ts (api.c) */
};

struct api_req {
    struct api *api;
    struct http_request *req;
    struct http_response *res;
    struct catalog *cat;
    const char *username; /* as given by the client */
    const char *password;
    const struct cat_line *line; /* NULL when credentials are wrong */
    enum auth_status status;
    bool throttled; /* already answered (429 brake, or an access refusal) */
    int64_t now;
    bool cors;   /* CORS headers added (api_cors runs once per response) */
    bool portal; /* a portal call or a /play/ link: a MAG line may be used */
    /* A signed stream URL (core/urlsign.h) in place of username/password:
     * the token and the stream it was presented for. */
    const char *token;
    char token_kind; /* 'l' | 'm' | 's' */
    int64_t token_stream;
    int64_t sign_expires; /* expiry of the signed URLs a playlist hands out */
    char base[512];       /* "http://host:port", no trailing slash */
};

/* Fills line/status from username/password, counting failures per IP. When
 * the IP is blocked for repeated failures it answers 429 itself, sets
 * throttled (status AUTH_INVALID): the caller then returns at once. */
void api_authenticate(struct api_req *r);
/* For the non-JSON routes (get.php, xmltv.php, stream URLs): CORS '*', then
 * authenticates; false after answering 401 (wrong credentials) or 403 ("line
 * is Expired|Disabled|Banned"). */
bool api_authorize_text(struct api_req *r);
/* URL base for links: public URL, else http://<Host header>. */
void api_base_url(struct api_req *r);
/* Splits r->base into host / port / protocol for server_info. */
void api_base_parts(const struct api_req *r, char *host, size_t hostlen, char *port, size_t portlen,
                    const char **protocol);

/* Standard bodies. */
void api_json_response(struct api_req *r, int status, struct buf *body);
void api_text_error(struct api_req *r, int status, const char *msg);
/* Writes the login object ({"user_info":..,"server_info":..}). */
void api_write_login(struct api_req *r, struct jsonw *w, bool panel_server_info);
void api_write_user_info(struct api_req *r, struct jsonw *w);
/* Categories of a kind visible to the view, as spec §3.3. */
void api_write_categories(struct api_req *r, struct jsonw *w, struct cat_view *v,
                          enum cat_kind kind);

void api_player(struct api_req *r, const char *action);
void api_panel(struct api_req *r);
void api_playlist(struct api_req *r, const char *type);
void api_xmltv(struct api_req *r, bool gzip);
/* kind: "live", "movie", "series"; id_ext like "123.ts". A live URL with
 * ?utc= is a catch-up request (api_catchup). */
void api_stream(struct api_req *r, const char *kind, const char *id_ext);
/* A cluster's stream start (api/cluster.c), after the line's checks: true when
 * answered (302 to the chosen node, deferred while admitting; 503), false when
 * this node serves it (standalone, or the main chose itself). */
bool api_cluster_stream(struct api_req *r, const char *kind, int64_t id, const char *ext);
/* The /c/<token>/<stream_id>.<ext> route of a cluster node. */
void api_cluster_token_stream(struct api_req *r, const char *token, const char *id_ext);

/* Catch-up (api/catchup.c). The path and query forms: authenticates, parses
 * (400 naming the field), checks the stream like a live one, then serves. */
void api_timeshift(struct api_req *r, const char *id_ext, const char *start, const char *minutes);
struct timeshift_range;
/* After those checks: the range as TS or HLS (404 without an archive). */
void api_catchup(struct api_req *r, const struct timeshift_range *tr);
/* GET /catchup/TOKEN/UTC_MS.ts: a segment of a catch-up HLS session. */
void api_catchup_segment(struct api_req *r, const char *token, const char *seg);
/* Every ~0.5 s: idle sessions swept, responses of inactive lines cut. */
void api_catchup_tick(struct api *api, int64_t now);
/* Every tick (~0.5 s): TS responses following a growing range go on when the
 * archive's tail moved. */
void api_catchup_wake(struct api *api);
struct live_conn_sink;
void api_catchup_admin_write(struct api *api, struct live_conn_sink *sink, uint64_t now_ms);
bool api_catchup_admin_kill(struct api *api, uint64_t handle);
void api_catchup_metrics(struct api *api, struct buf *out);
void api_catchup_free(struct api *api);

/* GET /preview/TOKEN/ID.EXT (api/preview.c). */
void api_preview_serve(struct api_req *r, const char *token, const char *id_ext);
void api_preview_metrics(struct api *api, struct buf *out);

/* VOD delivery (api/vod.c), after api_stream's checks passed: kind "movie" or
 * "series" (an episode id). true when the response was deferred (a remote source being
 * relayed: the relay resumes it). */
bool api_vod_deliver(struct api_req *r, const char *kind, int64_t id);
/* GET /images/{movie|series|episode}/ID/{poster|backdrop}: local artwork. */
void api_images(struct api_req *r);
/* An artwork URL: stored (a URL from an import or .nfo), else the /images
 * route of a local file found by a scan (kind "movie"/"series"/"episode",
 * which "poster"/"backdrop"; written to out), else "". */
const char *api_art_url(const struct api_req *r, const char *stored, const char *file,
                        const char *kind, int64_t id, const char *which, char *out, size_t n);
/* Ends VOD responses whose file was removed or replaced (api_tick). */
void api_vod_watch(struct api *api);
/* Ends VOD responses of lines that were deleted, disabled, banned or expired. */
void api_vod_check_lines(struct api *api, int64_t now);
void api_vod_free_all(struct api *api);
/* /api/v1/sessions entries for VOD responses (stream/live.h hooks). */
struct live_conn_sink;
void api_vod_admin_write(void *ctx, struct live_conn_sink *sink, uint64_t now_ms);
bool api_vod_admin_kill(void *ctx, uint64_t handle);
/* The VOD series of /metrics (Prometheus text) appended to out. */
void api_vod_metrics(struct api *api, struct buf *out);

/* Where a cached response lives: a view entry (view, skey) or a snapshot entry
 * (cat, skey). `what` names the response in logs (no credentials). */
struct api_cache_slot {
    struct cat_view *view; /* NULL: snapshot-wide (cat) */
    struct catalog *cat;
    const char *skey; /* the full key */
    const char *what;
};
/* Body of a cached response (api/compress.c): adds Vary: Accept-Encoding and,
 * when the client accepts gzip, the slot's gzip variant (made once) with
 * Content-Encoding: gzip; else the identity body (borrowed reference). */
void api_respond_cached(struct api_req *r, struct refbuf *identity, const struct api_cache_slot *s);
/* The gzip variant of a body, made on any thread (the coding and level of
 * api_respond_cached); 0 or -errno. */
int api_gzip_make(const void *data, size_t len, struct refbuf **out);
/* Offers a variant made off the loop to the slot: stored when the slot is
 * still undecided and the variant is smaller (else declined, as
 * api_respond_cached would). Loop thread. */
void api_gzip_offer(const struct api_cache_slot *s, struct refbuf *identity, struct refbuf *gz,
                    double took_ms);
/* A render of an uncached catalogue response off the loop (api/render.c):
 * the cache scope (view, or NULL for the snapshot-wide cache) and full key,
 * a name for logs, the render (run on the thread pool: it may read only the
 * snapshot, the view's bitsets and its copy of arg) and the answer (run on the
 * loop for each waiting request: status, headers, api_respond_cached). */
struct api_render_req {
    struct cat_view *view;
    const char *key;
    const char *what;
    void (*render)(struct catalog *cat, struct cat_view *view, const void *arg, struct buf *out);
    void (*answer)(struct api_req *r, struct refbuf *rb, const struct api_cache_slot *slot,
                   const void *arg);
    const void *arg; /* copied into the job */
    size_t arg_len;
};
/* Defers r's response to the render of (snapshot, view, key), joining one
 * in flight (single flight) or starting one. 0, or -errno with nothing
 * deferred (the caller renders inline). */
int api_render_defer(struct api_req *r, const struct api_render_req *q);
/* Detaches the renders still running (api_free): their completions then only
 * free themselves. */
void api_renders_detach(struct api *api);

/* CORS headers: echo Origin with credentials (player_api) or '*'. */
void api_cors(struct api_req *r, bool echo_origin);

/* Parses a non-negative decimal id (no sign, no junk, <= INT32_MAX); -1 if not. */
int64_t api_parse_id(const char *s, size_t len);
/* Counts a signed URL check: "ok", "expired", "wrong_stream", "malformed", "bad_signature". */
void api_count_signed(struct api *api, const char *result);
/* Formats a Unix time as "YYYY-MM-DD HH:MM:SS" UTC. */
void api_format_time(int64_t t, char out[20]);

#endif
