/*
 * api: the Xtream Codes client API — the route table entries (api_routes) of
 * every client-facing URL form (player_api.php, panel_api.php, get.php,
 * xmltv.php and their path forms, and the live/movie/series/timeshift stream
 * URLs) and their handlers.
 *
 * Owns the per-IP brute-force brake (auth/throttle.h) and the gate of
 * /metrics without a token (loopback client, own Host; with a token the admin
 * API answers it).
 * Reads the current catalogue snapshot,
 * which the server swaps with api_set_catalog(); never touches SQLite.
 * Threading: loop thread only.
 */
#ifndef XTREAMD_API_API_H
#define XTREAMD_API_API_H

#include <stdbool.h>
#include <uv.h>

#include "catalog/catalog.h"
#include "http/http.h"

struct api;
struct throttle_config;
struct access_config;
struct access;

struct api_req;
struct buf;

/* The MAG portal (src/portal/) sits above the api in the layers (it uses
 * api_req and the stream routes): serve hands its entry points to the api,
 * which owns the portal's URLs (/portal.php and aliases, /c/, /play/TOKEN).
 * NULL: those URLs answer 404. */
struct api_portal_ops {
    void (*call)(struct api_req *r);                    /* the JSON API */
    void (*page)(struct api_req *r);                    /* the page a box loads */
    void (*play)(struct api_req *r, const char *token); /* a create_link URL */
    void (*metrics)(struct buf *b);                     /* its /metrics lines (NULL: none) */
};

struct api_config {
    const char *public_url;  /* e.g. "http://tv.example.com:8080"; NULL = from Host */
    int port;                /* the listening port, used when Host is absent */
    uv_loop_t *loop;         /* for relayed remote VOD; NULL = redirect only */
    bool redirect_remote;    /* remote movies/episodes: 302 instead of relaying */
    const char *listen_host; /* --listen host: a Host naming it reaches the admin routes */
    const char *data_dir;    /* never served as a movie or episode (but <data>/media) */
    const struct throttle_config *throttle; /* brute-force brake; NULL = defaults */
    const struct access_config *access;     /* access control (auth/access.h); NULL = defaults */
    const struct api_portal_ops *portal;    /* the MAG portal; NULL = none */
};

int api_new(const struct api_config *cfg, struct api **out);
void api_free(struct api *api);
/* Takes a reference to c and drops the previous snapshot. */
void api_set_catalog(struct api *api, struct catalog *c);
/* Once listening: the actual port (a Host naming it is this server's). */
void api_set_port(struct api *api, int port);
/* The TLS listener's port (0: none): server_info's https_port, and a Host
 * naming it is this server's too. */
void api_set_https_port(struct api *api, int port);
/* The canonical library roots (db/library.h) local movies and episodes must
 * lie under to be delivered; takes ownership of roots (malloc'd strings in a
 * malloc'd array), freeing the previous set. */
void api_set_library_roots(struct api *api, char **roots, size_t n);
struct catalog *api_catalog(struct api *api);
/* The access-control state (auth/access.h), for the admin API's post(). */
struct access *api_access(struct api *api);
/* One loop-lag probe (serve.c, every 10 ms): how late it fired and how much of
 * that the loop thread was on the CPU, in ns; now = uv_hrtime(). Feeds the
 * xtreamd_loop_* series of /metrics. */
void api_loop_lag_sample(struct api *api, uint64_t late_ns, uint64_t busy_ns, uint64_t now_ns);
/* Periodic housekeeping on the loop thread (every ~0.5 s): ends VOD
 * responses whose file was removed or replaced. */
void api_tick(struct api *api);
/* The live engine behind /live, /hls and /metrics (NULL: none),
 * and the connection registry it shares with VOD (owned by the api). */
struct live;
struct conn_registry;
void api_set_live(struct api *api, struct live *live);
/* This node in a cluster and its admission (api/cluster.c), both borrowed;
 * NULL, NULL (the default): a single node. */
struct cluster;
struct admission;
void api_set_cluster(struct api *api, struct cluster *c, struct admission *a);
/* An edge's offline admission (cluster/offline.h), borrowed; NULL to stop using it. */
struct offline;
void api_set_offline(struct api *api, struct offline *o);
/* The TV archive the catch-up URLs serve from (archive/archive.h), borrowed;
 * NULL (the default): every catch-up request answers 404. */
struct archive;
void api_set_archive(struct api *api, struct archive *archive);
struct conn_registry *api_conn_registry(struct api *api);
/* The client group of the route table (http/router.h): every client-facing
 * URL form (player_api.php, panel_api.php, get.php, xmltv.php and their path
 * forms, live/movie/series/timeshift stream URLs, /streaming/ scripts, /images,
 * the live engine's /hls and the loopback /metrics), prefix "/", with the fallback (405 for methods
 * other than GET, HEAD, POST; 503 while the catalogue loads; 404) and the CORS preflight. Add it
 * after narrower groups. The routes have no OpenAPI summary. */
struct route_group;
int api_routes(struct api *api, struct route_group *out);
/* /metrics: the whole Prometheus exposition as the answer (the caller
 * decided the request may have it); head: no per-channel body. */
void api_serve_metrics(struct api *api, bool head, struct http_response *res);
/*
 * Previews (api/preview.c): the web panel's player. An admin call
 * (POST /api/v1/streams/{id}/preview and the movie/episode twins) asks for a
 * grant; whoever holds its token may then play that one item at
 * /preview/TOKEN/ID.EXT (live: .m3u8 or .ts; movie/episode: the file) until
 * API_PREVIEW_TTL seconds after the grant. The player is the pseudo-line
 * AUTH_PREVIEW_LINE_ID named "preview:<admin>" (every output, no connection
 * limit): it shows in /api/v1/sessions like any viewer and can be cut there.
 * At most API_PREVIEW_MAX grants are held; a new one replaces the oldest
 * (counted in /metrics). kind: 'l' live, 'm' movie, 'e' episode. Writes the
 * token (API_PREVIEW_TOKEN_LEN hex digits) into token[n]. Loop thread.
 */
#define API_PREVIEW_TTL       (4 * 3600)
#define API_PREVIEW_MAX       64
#define API_PREVIEW_TOKEN_LEN 32
int api_preview_grant(struct api *api, char kind, int64_t id, const char *who, int64_t now,
                      char *token, size_t n);
/* More /metrics series from modules above the api (the admin events): fn
 * appends Prometheus text to out, after the api's own. -E2BIG past 4. */
int api_add_metrics(struct api *api, void (*fn)(void *ud, struct buf *out), void *ud);

#endif
