#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "api/api_priv.h"
#include "auth/access.h"
#include "auth/auth.h"
#include "auth/throttle.h"
#include "cluster/node.h"
#include "core/log.h"
#include "core/promtext.h"
#include "http/router.h"
#include "stream/live.h"
#include "vod/relay.h"

/* A player's next range request within this many seconds is the same viewer. */
#define API_CONN_WINDOW_SECS 10

/* How often downloads are checked against their line (live: --live line-check). */
#define API_LINE_CHECK_SECS 10

void api_tick(struct api *api)
{
    api_vod_watch(api);
    api_catchup_wake(api);
    access_tick(api->access, uv_hrtime() / 1000000);
    int64_t now = (int64_t)time(NULL);
    if (now - api->last_line_check >= API_LINE_CHECK_SECS) {
        api->last_line_check = now;
        api_vod_check_lines(api, now);
        api_catchup_tick(api, now);
    }
}

int api_new(const struct api_config *cfg, struct api **out)
{
    struct api *api = calloc(1, sizeof(*api));
    if (!api)
        return -ENOMEM;
    api->cfg = *cfg;
    if (cfg->public_url) {
        size_t n = strlen(cfg->public_url);
        while (n && cfg->public_url[n - 1] == '/')
            n--;
        api->public_url = strndup(cfg->public_url, n);
        if (!api->public_url)
            goto nomem;
    }
    struct throttle_config tc;
    throttle_config_defaults(&tc);
    if (cfg->throttle)
        tc = *cfg->throttle;
    api->cfg.throttle = NULL;
    if (throttle_new(&tc, &api->throttle))
        goto nomem;
    struct access_config ac;
    access_config_defaults(&ac);
    if (cfg->access)
        ac = *cfg->access;
    api->cfg.access = NULL;
    if (access_new(cfg->loop, cfg->data_dir, &ac, &api->access))
        goto nomem;
    api->cfg.listen_host = NULL; /* not kept: borrowed strings end with the caller */
    if (cfg->listen_host && !(api->listen_host = strdup(cfg->listen_host)))
        goto nomem;
    api->cfg.data_dir = NULL;
    if (cfg->data_dir)
        api->data_real = realpath(cfg->data_dir, NULL); /* NULL: nothing local is in it */
    api->conns = conn_registry_new(API_CONN_WINDOW_SECS);
    if (!api->conns)
        goto nomem;
    if (cfg->loop && !cfg->redirect_remote && vod_relay_new(cfg->loop, &api->relay))
        goto nomem;
    *out = api;
    return 0;
nomem:
    api_free(api);
    return -ENOMEM;
}

void api_free(struct api *api)
{
    if (!api)
        return;
    api_renders_detach(api);
    catalog_unref(api->catalog);
    throttle_free(api->throttle);
    access_free(api->access);
    free(api->listen_host);
    free(api->data_real);
    api_set_library_roots(api, NULL, 0);
    vod_relay_free(api->relay); /* its jobs' done callbacks use the registry */
    api_vod_free_all(api);
    api_catchup_free(api);
    conn_registry_free(api->conns);
    free(api->public_url);
    free(api);
}

void api_set_catalog(struct api *api, struct catalog *c)
{
    struct catalog *old = api->catalog;
    api->catalog = c ? catalog_ref(c) : NULL;
    if (c)
        access_set_catalog(api->access, c);
    catalog_unref(old);
    if (old && c) /* a disabled or deleted line loses its downloads at once */
        api_vod_check_lines(api, (int64_t)time(NULL));
}

void api_set_port(struct api *api, int port)
{
    api->cfg.port = port;
}

void api_set_https_port(struct api *api, int port)
{
    api->https_port = port;
}

void api_set_library_roots(struct api *api, char **roots, size_t n)
{
    for (size_t i = 0; i < api->nroots; i++)
        free(api->roots[i]);
    free(api->roots);
    api->roots = roots;
    api->nroots = roots ? n : 0;
}

/* The admin connections list and kill: VOD responses, then catch-up ones. */
static void admin_write(void *ctx, struct live_conn_sink *sink, uint64_t now_ms)
{
    api_vod_admin_write(ctx, sink, now_ms);
    api_catchup_admin_write(ctx, sink, now_ms);
}

static bool admin_kill(void *ctx, uint64_t handle)
{
    return api_vod_admin_kill(ctx, handle) || api_catchup_admin_kill(ctx, handle);
}

void api_set_live(struct api *api, struct live *live)
{
    api->live = live;
    if (live) {
        struct live_admin_hooks hooks = {.write = admin_write, .kill = admin_kill, .ctx = api};
        live_set_admin_hooks(live, &hooks);
    }
}

void api_set_archive(struct api *api, struct archive *archive)
{
    api->archive = archive;
}

struct conn_registry *api_conn_registry(struct api *api)
{
    return api->conns;
}

/* Admin and metrics endpoints answer loopback clients only. */
static bool is_loopback(const char *ip)
{
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
           strncmp(ip, "::ffff:127.", 11) == 0;
}

/* Splits "host[:port]" / "[v6][:port]"; port 80 when absent. */
static bool split_authority(const char *a, size_t len, char *host, size_t cap, long *port)
{
    const char *colon = NULL;
    const char *h = a;
    size_t hl = len;
    if (len && a[0] == '[') {
        const char *close = memchr(a, ']', len);
        if (!close)
            return false;
        h = a + 1;
        hl = (size_t)(close - h);
        if (close + 1 < a + len) {
            if (close[1] != ':')
                return false;
            colon = close + 1;
        }
    } else {
        colon = memchr(a, ':', len);
        if (colon)
            hl = (size_t)(colon - a);
    }
    if (hl == 0 || hl >= cap)
        return false;
    for (size_t i = 0; i < hl; i++)
        host[i] = (char)tolower((unsigned char)h[i]);
    host[hl] = '\0';
    *port = 80;
    if (colon) {
        char *end;
        *port = strtol(colon + 1, &end, 10);
        if (end != a + len || end == colon + 1 || *port <= 0 || *port > 65535)
            return false;
    }
    return true;
}

static bool is_loopback_name(const char *h)
{
    return strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0 ||
           (strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") == strlen(h));
}

/* DNS rebinding: a browser that resolved evil.example to 127.0.0.1 still
 * sends "Host: evil.example". The admin routes answer only requests that
 * name this server: a loopback name or the listening host (not a wildcard:
 * browsers reach 0.0.0.0 too) with the listening port, or the public URL's
 * host. No Host (HTTP/1.0) is no browser. */
static bool host_is_own(const struct api_req *r, const char *value)
{
    char host[256], pub[256];
    long port, pub_port;
    if (!value)
        return true;
    if (!split_authority(value, strlen(value), host, sizeof(host), &port))
        return false;
    const struct api *api = r->api;
    if ((port == api->cfg.port || (api->https_port && port == api->https_port)) &&
        (is_loopback_name(host) ||
         (api->listen_host && strcmp(api->listen_host, "0.0.0.0") != 0 &&
          strcmp(api->listen_host, "::") != 0 && strcasecmp(host, api->listen_host) == 0)))
        return true;
    if (api->public_url) {
        const char *p = strstr(api->public_url, "://");
        p = p ? p + 3 : api->public_url;
        if (split_authority(p, strcspn(p, "/?#"), pub, sizeof(pub), &pub_port) &&
            strcmp(host, pub) == 0)
            return true;
    }
    return false;
}

/* Cross-site requests: a browser page on another site that posts to the
 * loopback admin API sends an Origin (and Sec-Fetch-Site) naming that site. */
/* Loopback alone never authorises: the request must also name this server,
 * and an admin request must come from the same origin and carry the per-run
 * token of serve.json (0600 in the 0700 data directory). */
/* /metrics without a token: loopback callers addressing this server only
 * (a foreign Host is DNS rebinding). With a token it is the admin API's. */
static bool metrics_gate(struct api_req *r)
{
    struct http_request *req = r->req;
    if (!is_loopback(req->client_ip)) {
        api_text_error(r, 403,
                       "/metrics answers loopback clients, or a token with the read scope\n");
        return false;
    }
    if (!host_is_own(r, http_request_header(req, "Host"))) {
        r->api->admin_refused++;
        api_text_error(r, 403, "/metrics answers requests addressed to this server only\n");
        return false;
    }
    return true;
}

#define LOOP_LAG_WINDOW_NS (5ULL * 1000000000ULL)
#define LOOP_STALL_NS      (50ULL * 1000000ULL)

void api_loop_lag_sample(struct api *api, uint64_t late_ns, uint64_t busy_ns, uint64_t now_ns)
{
    if (now_ns - api->lag_window_start >= LOOP_LAG_WINDOW_NS) {
        bool adjacent = now_ns - api->lag_window_start < 2 * LOOP_LAG_WINDOW_NS;
        for (int i = 0; i < 2; i++) {
            api->lag_max_prev[i] = adjacent ? api->lag_max_cur[i] : 0;
            api->lag_max_cur[i] = 0;
        }
        api->lag_window_start = now_ns;
    }
    uint64_t v[2] = {late_ns, busy_ns};
    for (int i = 0; i < 2; i++)
        if (v[i] > api->lag_max_cur[i])
            api->lag_max_cur[i] = v[i];
    if (busy_ns > LOOP_STALL_NS)
        api->lag_stalls++;
}

static void loop_metrics(struct api *api, struct buf *b)
{
    double m[2];
    for (int i = 0; i < 2; i++) {
        uint64_t x =
            api->lag_max_cur[i] > api->lag_max_prev[i] ? api->lag_max_cur[i] : api->lag_max_prev[i];
        m[i] = (double)x / 1e9;
    }
    promtext_family(b, "xtreamd_loop_lag_seconds_max", "gauge",
                    "Largest lateness of a 10 ms loop timer over the last 5-10 s (wall clock)");
    buf_printf(b, "xtreamd_loop_lag_seconds_max %.6f\n", m[0]);
    promtext_family(b, "xtreamd_loop_busy_seconds_max", "gauge",
                    "Largest part of that lateness the loop thread spent on the CPU (a stall)");
    buf_printf(b, "xtreamd_loop_busy_seconds_max %.6f\n", m[1]);
    promtext_family(b, "xtreamd_loop_stalls_total", "counter",
                    "Loop timer probes delayed by more than 50 ms of loop-thread CPU work");
    buf_printf(b, "xtreamd_loop_stalls_total %llu\n", (unsigned long long)api->lag_stalls);
    promtext_family(b, "xtreamd_api_renders_total", "counter",
                    "Uncached list renders on the thread pool: started, or joined by a request "
                    "that waited for one already running (single flight)");
    buf_printf(b, "xtreamd_api_renders_total{result=\"started\"} %llu\n",
               (unsigned long long)api->renders_started);
    buf_printf(b, "xtreamd_api_renders_total{result=\"joined\"} %llu\n",
               (unsigned long long)api->renders_joined);
}

static void cache_metrics(struct api *api, struct buf *b)
{
    struct catalog_cache_stats st;
    catalog_cache_stats(api->catalog, &st);
    promtext_family(b, "xtreamd_response_cache_entries", "gauge",
                    "Rendered responses cached in the current catalogue snapshot");
    buf_printf(b, "xtreamd_response_cache_entries %zu\n", st.entries);
    promtext_family(b, "xtreamd_response_cache_max_entries", "gauge",
                    "The cache's entry bound (least recently used evicted past it)");
    buf_printf(b, "xtreamd_response_cache_max_entries %zu\n", st.max_entries);
    promtext_family(b, "xtreamd_response_cache_bytes", "gauge",
                    "Bytes of cached bodies, identity and gzip");
    buf_printf(b, "xtreamd_response_cache_bytes %zu\n", st.bytes);
    promtext_family(b, "xtreamd_response_cache_max_bytes", "gauge", "The cache's byte bound");
    buf_printf(b, "xtreamd_response_cache_max_bytes %zu\n", st.max_bytes);
    promtext_family(b, "xtreamd_response_cache_evictions_total", "counter",
                    "Cached responses evicted to stay within the bounds");
    buf_printf(b, "xtreamd_response_cache_evictions_total %llu\n",
               (unsigned long long)st.evictions);
    promtext_family(b, "xtreamd_response_cache_refused_total", "counter",
                    "Bodies not cached because they exceed the byte bound on their own");
    buf_printf(b, "xtreamd_response_cache_refused_total %llu\n", (unsigned long long)st.refused);
    promtext_family(b, "xtreamd_response_cache_adopted_total", "counter",
                    "Cached responses carried into a snapshot rebuilt for a change that did not "
                    "touch the catalogue (a line's, say)");
    buf_printf(b, "xtreamd_response_cache_adopted_total %llu\n", (unsigned long long)st.adopted);
    promtext_family(b, "xtreamd_catalog_snapshot_version", "gauge",
                    "Version of the published catalogue snapshot (one more per rebuild)");
    buf_printf(b, "xtreamd_catalog_snapshot_version %llu\n", (unsigned long long)st.version);
}

struct catalog *api_catalog(struct api *api)
{
    return api->catalog;
}

struct access *api_access(struct api *api)
{
    return api->access;
}

int64_t api_parse_id(const char *s, size_t len)
{
    if (len == 0 || len > 10)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= INT32_MAX ? v : -1;
}

void api_format_time(int64_t t, char out[20])
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}

/* A Host header is used in generated URLs, so only host-name characters pass. */
static bool host_is_safe(const char *h)
{
    if (!*h || strlen(h) > 255)
        return false;
    for (; *h; h++)
        if (!isalnum((unsigned char)*h) && !strchr(".-:[]_", *h))
            return false;
    return true;
}

void api_base_url(struct api_req *r)
{
    if (r->api->public_url) {
        snprintf(r->base, sizeof(r->base), "%s", r->api->public_url);
        return;
    }
    /* The scheme the client connected with: an HTTPS client gets https URLs. */
    const char *host = http_request_header(r->req, "Host");
    const char *scheme = r->req->tls ? "https" : "http";
    if (host && host_is_safe(host))
        snprintf(r->base, sizeof(r->base), "%s://%s", scheme, host);
    else
        snprintf(r->base, sizeof(r->base), "%s://127.0.0.1:%d", scheme,
                 r->req->tls && r->api->https_port ? r->api->https_port : r->api->cfg.port);
}

void api_base_parts(const struct api_req *r, char *host, size_t hostlen, char *port, size_t portlen,
                    const char **protocol)
{
    const char *p = r->base;
    bool https = strncmp(p, "https://", 8) == 0;
    *protocol = https ? "https" : "http";
    const char *scheme_end = strstr(p, "://");
    p = scheme_end ? scheme_end + 3 : p;
    size_t authority = strcspn(p, "/?#");
    const char *colon = NULL;
    if (*p == '[') { /* IPv6 literal */
        const char *close = memchr(p, ']', authority);
        if (close && close + 1 < p + authority && close[1] == ':')
            colon = close + 1;
    } else {
        colon = memchr(p, ':', authority);
    }
    size_t hl = colon ? (size_t)(colon - p) : authority;
    snprintf(host, hostlen, "%.*s", (int)hl, p);
    if (colon)
        snprintf(port, portlen, "%.*s", (int)(p + authority - colon - 1), colon + 1);
    else
        snprintf(port, portlen, "%s", https ? "443" : "80");
}

/* The route's name in the refusal log: the first path segment (no credentials). */
static void route_name(const struct api_req *r, char *out, size_t n)
{
    snprintf(out, n, "/%.60s", r->req->segment_count ? r->req->segments[0] : "");
    if (r->req->segment_count == 3 &&
        strcmp(r->req->segments[0], r->username ? r->username : "") == 0)
        snprintf(out, n, "/U/P/ID"); /* the short live form starts with the username */
}

#define ROUTE_MAX 72 /* the route buffer of access_req_of's callers */

/* The request as the access check sees it. The route is named into `route`
 * only when the check refuses (route_named): an admitted request never
 * formats it. */
static void access_req_of(const struct api_req *r, struct access_req *q, char *route, size_t n)
{
    if (n)
        route[0] = '\0';
    *q = (struct access_req){.ip = r->req->client_ip,
                             .user_agent = http_request_header(r->req, "User-Agent"),
                             .route = route,
                             .username = r->username,
                             .now = r->now};
}

/* q's route filled in (its buffer is the caller's `route` of access_req_of). */
static void route_named(const struct api_req *r, const struct access_req *q)
{
    char *route = (char *)q->route;
    if (route && !route[0])
        route_name(r, route, ROUTE_MAX);
}

/* An access refusal: 403 (with Retry-After for a ban), logged as reason. */
static void refuse(struct api_req *r, const char *reason, const struct access_req *q, int64_t retry,
                   bool log_it)
{
    route_named(r, q);
    if (log_it)
        access_refused(r->api->access, reason, r->line, q, NULL);
    r->status = AUTH_INVALID;
    r->throttled = true;
    if (retry > 0) {
        char v[24];
        snprintf(v, sizeof(v), "%lld", (long long)retry);
        http_response_header(r->res, "Retry-After", v);
    }
    char msg[80];
    snprintf(msg, sizeof(msg), "access denied (%s)\n", reason);
    api_text_error(r, 403, msg);
}

static const char *const signed_results[5] = {"ok", "expired", "wrong_stream", "malformed",
                                              "bad_signature"};

void api_count_signed(struct api *api, const char *result)
{
    for (size_t i = 0; i < 5; i++)
        if (strcmp(signed_results[i], result) == 0)
            api->signed_urls[i]++;
}

/* A signed URL's line: r->line set when the token is genuine, current, for
 * this stream and from the right prefix. Returns true after answering itself
 * (an expired token: 403, not a failed login, so a stale playlist never gets
 * a household banned); a forged or misused token leaves r->line NULL and
 * counts as a failed login. */
static bool token_line(struct api_req *r, const struct access_req *q)
{
    struct urlsign_claims c;
    int rc = urlsign_verify(&r->cat->signing.keys, r->token, r->token_kind, r->token_stream,
                            r->req->client_ip, r->now, &c);
    if (rc == URLSIGN_EXPIRED) {
        api_count_signed(r->api, "expired");
        /* genuine (its MAC held): the refusal log names its line */
        route_named(r, q);
        struct access_req named = *q;
        named.username = c.username;
        const struct cat_line *l = catalog_line(r->cat, c.username);
        access_refused(r->api->access, "URL_EXPIRED", l && l->id == c.line_id ? l : NULL, &named,
                       NULL);
        r->status = AUTH_INVALID;
        r->throttled = true;
        api_text_error(r, 403, "this signed link has expired: reload the playlist\n");
        return true;
    }
    if (rc == 0) {
        const struct cat_line *l = catalog_line(r->cat, c.username);
        if (l && l->id == c.line_id) {
            r->line = l;
            r->username = l->username;
            api_count_signed(r->api, "ok");
            return false;
        }
        rc = URLSIGN_BAD_MAC; /* the line is gone (or another line took its name) */
    }
    api_count_signed(r->api, rc == URLSIGN_WRONG_STREAM ? "wrong_stream"
                             : rc == URLSIGN_MALFORMED  ? "malformed"
                                                        : "bad_signature");
    r->username = "(signed URL)";
    return false;
}

/* A catch-up link the portal handed a MAG line (tv_archive create_link):
 * its play_token binds the line and the exact path. */
static bool play_token_ok(const struct api_req *r)
{
    return strncmp(r->req->path, "/timeshift/", 11) == 0 &&
           auth_play_token_ok(r->line->id, r->req->path, http_request_param(r->req, "play_token"),
                              r->now);
}

void api_authenticate(struct api_req *r)
{
    uint64_t now_ms = uv_hrtime() / 1000000;
    char route[ROUTE_MAX];
    struct access_req q;
    access_req_of(r, &q, route, sizeof(route));
    int64_t ban_left = 0;
    bool log_it;
    const char *why = access_check_global(r->api->access, &q, &ban_left, &log_it);
    if (why) {
        refuse(r, why, &q, ban_left, log_it);
        return;
    }
    uint64_t wait_ms = throttle_blocked(r->api->throttle, r->req->client_ip, now_ms);
    if (wait_ms) {
        /* Blocked after repeated failures: answered at once, unchecked. */
        char retry[24];
        snprintf(retry, sizeof(retry), "%llu", (unsigned long long)(wait_ms + 999) / 1000);
        r->status = AUTH_INVALID;
        r->throttled = true;
        http_response_header(r->res, "Retry-After", retry);
        api_text_error(r, 429, "too many failed logins from this address; retry later\n");
        return;
    }
    if (r->token) {
        if (token_line(r, &q))
            return;
    } else {
        r->line = auth_check(r->cat, r->username, r->password);
    }
    if (!r->line) {
        r->status = AUTH_INVALID;
        unsigned n = throttle_fail(r->api->throttle, r->req->client_ip, now_ms);
        char user[260];
        log_warn("auth", "failed login for user \"%s\" from %s count=%u",
                 log_field(user, sizeof(user), r->username), r->req->client_ip, n);
        access_login_failed(r->api->access, r->req->client_ip, r->username, n, r->now);
        return;
    }
    r->status = auth_line_status(r->line, r->now);
    if (r->status != AUTH_OK)
        return;
    /* A MAG line's credentials only ever serve its boxes through the portal
     * (research §E, XUI/XCVM's get.php): elsewhere a leaked username and
     * password play nothing. */
    if (r->line->is_mag && !r->portal && !play_token_ok(r))
        refuse(r, "DEVICE_NOT_ALLOWED", &q, 0, true);
    else if ((why = access_check_line(r->api->access, r->line, &q)))
        refuse(r, why, &q, 0, true);
}

bool api_authorize_text(struct api_req *r)
{
    api_cors(r, false);
    api_authenticate(r);
    if (r->throttled)
        return false;
    if (r->status == AUTH_INVALID) {
        api_text_error(r, 401, "invalid username or password\n");
        return false;
    }
    if (r->status != AUTH_OK) {
        char msg[64];
        snprintf(msg, sizeof(msg), "line is %s\n", auth_status_name(r->status));
        api_text_error(r, 403, msg);
        return false;
    }
    return true;
}

void api_cors(struct api_req *r, bool echo_origin)
{
    if (r->cors)
        return; /* a second Access-Control-Allow-Origin would make browsers refuse it */
    r->cors = true;
    const char *origin = http_request_header(r->req, "Origin");
    if (echo_origin && origin && !strpbrk(origin, "\r\n")) {
        http_response_header(r->res, "Access-Control-Allow-Origin", origin);
        http_response_header(r->res, "Access-Control-Allow-Credentials", "true");
        http_response_header(r->res, "Vary", "Origin");
    } else {
        http_response_header(r->res, "Access-Control-Allow-Origin", "*");
    }
}

void api_json_response(struct api_req *r, int status, struct buf *body)
{
    http_response_status(r->res, status);
    http_response_header(r->res, "Content-Type", "application/json");
    if (body)
        http_response_body(r->res, body->data, body->len);
}

void api_text_error(struct api_req *r, int status, const char *msg)
{
    http_response_text(r->res, status, "text/plain; charset=utf-8", msg);
}

/* Stream URLs carry credentials in the path: log a redacted target instead. */
static void redact_path(struct api_req *r, size_t user_seg)
{
    struct buf b = BUF_INIT(4096);
    for (size_t i = 0; i < r->req->segment_count; i++) {
        buf_putc(&b, '/');
        buf_puts(&b, i == user_seg + 1 ? "***" : r->req->segments[i]);
    }
    if (*r->req->query)
        buf_puts(&b, "?...");
    if (!b.err)
        http_response_log_target(r->res, b.data);
    buf_free(&b);
}

static bool is_stream_id(const char *s)
{
    size_t digits = strspn(s, "0123456789");
    return digits > 0 && (s[digits] == '\0' || s[digits] == '.');
}

static void route_streaming_php(struct api_req *r, const char *script)
{
    const char *stream = http_request_param(r->req, "stream");
    if (!stream)
        stream = "";
    char id_ext[96];
    if (strcmp(script, "clients_live.php") == 0) {
        const char *ext = http_request_param(r->req, "extension");
        snprintf(id_ext, sizeof(id_ext), "%.40s.%.16s", stream, ext && *ext ? ext : "ts");
        api_stream(r, "live", id_ext);
    } else if (strcmp(script, "clients_movie.php") == 0) {
        const char *type = http_request_param(r->req, "type");
        api_stream(r, type && strcmp(type, "series") == 0 ? "series" : "movie", stream);
    } else {
        const char *ext = http_request_param(r->req, "extension");
        snprintf(id_ext, sizeof(id_ext), "%.40s.%.16s", stream, ext && *ext ? ext : "ts");
        api_timeshift(r, id_ext, http_request_param(r->req, "start"),
                      http_request_param(r->req, "duration"));
    }
}

/*
 * The client group of the route table (http/router.h). Every client-facing URL
 * form is one entry; the table order is the precedence the hand-written
 * dispatch had: fixed prefixes first, the live engine's /hls and
 * /metrics next (only with an engine: without one, those paths fall through
 * to the short live form like any other), and the three-segment short live
 * form /U/P/ID last.
 */

/* /metrics answers without CORS. */
static bool no_cors_path(const struct http_request *req)
{
    return req->segment_count == 1 && strcmp(req->segments[0], "metrics") == 0;
}

/* Common to every client answer: the request context, the URL base, and CORS.
 * Every answer a browser player can get carries CORS — refusals, errors and
 * segments included, else a web player sees status 0 instead of the
 * 401/403/404. */
static void client_prologue(struct api_req *r, struct api *api, struct http_request *req,
                            struct http_response *res)
{
    *r = (struct api_req){.api = api, .req = req, .res = res, .cat = api->catalog};
    r->now = (int64_t)time(NULL);
    api_base_url(r);
    if (!no_cors_path(req))
        api_cors(r, true);
}

static void answer_loading(struct api_req *r)
{
    http_response_header(r->res, "Retry-After", "1");
    api_text_error(r, 503, "catalogue is loading, retry shortly\n");
}

/* The prologue of a matched route; false after answering 503 (no catalogue yet). */
static bool client_begin(struct api_req *r, const struct route_match *m, struct http_request *req,
                         struct http_response *res)
{
    struct api *api = m->ud;
    access_client_ip(api->access, req->client_ip, sizeof(req->client_ip),
                     http_request_header(req, "Forwarded"),
                     http_request_header(req, "X-Forwarded-For"));
    client_prologue(r, api, req, res);
    bool log_it;
    /* /metrics is the operator's (loopback or a token), not a client's: not limited. */
    uint64_t wait_ms = no_cors_path(req) ? 0
                                         : access_rate(api->access, req->client_ip,
                                                       uv_hrtime() / 1000000, &log_it);
    if (wait_ms) {
        char retry[24], route[ROUTE_MAX];
        struct access_req q;
        access_req_of(r, &q, route, sizeof(route));
        route_named(r, &q);
        if (log_it)
            access_refused(api->access, "RATE_LIMITED", NULL, &q, NULL);
        snprintf(retry, sizeof(retry), "%llu", (unsigned long long)(wait_ms + 999) / 1000);
        http_response_header(res, "Retry-After", retry);
        api_text_error(r, 429, "too many requests from this address; retry later\n");
        return false;
    }
    if (!r->cat) {
        answer_loading(r);
        return false;
    }
    return true;
}

/* Credentials from the query (or the POST form). */
static void creds_from_params(struct api_req *r)
{
    r->username = http_request_param(r->req, "username");
    r->password = http_request_param(r->req, "password");
}

/* Credentials from the path: params[0] and [1], the password (the segment
 * after user_seg) redacted in the access log. */
static void creds_from_path(struct api_req *r, const struct route_match *m, size_t user_seg)
{
    r->username = m->params[0];
    r->password = m->params[1];
    redact_path(r, user_seg);
}

static void h_version(const struct route_match *m, struct http_request *req,
                      struct http_response *res)
{
    struct api_req r;
    if (client_begin(&r, m, req, res))
        http_response_text(res, 200, "text/plain; charset=utf-8", "xtreamd " XTREAMD_VERSION "\n");
}

static void h_player_api_php(const struct route_match *m, struct http_request *req,
                             struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    creds_from_params(&r);
    api_player(&r, http_request_param(req, "action"));
}

static void h_panel_api_php(const struct route_match *m, struct http_request *req,
                            struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    creds_from_params(&r);
    api_panel(&r);
}

static void h_get_php(const struct route_match *m, struct http_request *req,
                      struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    creds_from_params(&r);
    api_playlist(&r, http_request_param(req, "type"));
}

static void h_xmltv_php(const struct route_match *m, struct http_request *req,
                        struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    creds_from_params(&r);
    const char *gzip = http_request_param(req, "gzip");
    api_xmltv(&r, gzip && strcmp(gzip, "1") == 0);
}

/* /player_api/U/P[/ACTION] */
static void h_player_api_path(const struct route_match *m, struct http_request *req,
                              struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    creds_from_path(&r, m, 1);
    api_player(&r, m->nparams == 3 ? m->params[2] : http_request_param(req, "action"));
}

/* /playlist/U/P[/TYPE] */
static void h_playlist_path(const struct route_match *m, struct http_request *req,
                            struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    creds_from_path(&r, m, 1);
    api_playlist(&r, m->nparams == 3 ? m->params[2] : http_request_param(req, "type"));
}

/* /epg/U/P and /epg/U/P/gz (any other fourth segment: 404, still redacted). */
static void h_epg_path(const struct route_match *m, struct http_request *req,
                       struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    creds_from_path(&r, m, 1);
    if (m->nparams == 3 && strcmp(m->params[2], "gz") != 0) {
        api_text_error(&r, 404, "not found\n");
        return;
    }
    api_xmltv(&r, m->nparams == 3);
}

/* /live|created_live|radio_streams|movie|series/U/P/ID.EXT; ext = the kind. */
static void h_stream_path(const struct route_match *m, struct http_request *req,
                          struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    creds_from_path(&r, m, 1);
    api_stream(&r, m->route->ext, m->params[2]);
}

/* /live|movie|series/TOKEN/ID.EXT: a signed stream URL (core/urlsign.h). */
static void h_signed_stream(const struct route_match *m, struct http_request *req,
                            struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    r.token = m->params[0];
    const char *kind = m->route->ext;
    r.token_kind = kind[0];
    const char *dot = strrchr(m->params[1], '.');
    r.token_stream =
        api_parse_id(m->params[1], dot ? (size_t)(dot - m->params[1]) : strlen(m->params[1]));
    redact_path(&r, 0); /* the token stands for credentials: not in the access log */
    api_stream(&r, m->route->ext, m->params[1]);
}

/* /c/TOKEN/ID.EXT: a cluster stream token (api/cluster.c). */
static void h_cluster_stream(const struct route_match *m, struct http_request *req,
                             struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    redact_path(&r, 0); /* the token admits a viewer: not in the access log */
    api_cluster_token_stream(&r, m->params[0], m->params[1]);
}

/* A cluster token segment: "v1." (never a portal file name). */
static bool cluster_accept(const struct route_match *m, const struct http_request *req)
{
    (void)req;
    return strncmp(m->params[0], "v1.", 3) == 0;
}

/* A signed URL's token segment: "1~..." (never a username: '~' is not allowed in one). */
static bool signed_accept(const struct route_match *m, const struct http_request *req)
{
    return strncmp(m->params[0], "1~", 2) == 0;
}

/* /timeshift/U/P/DURATION/START/ID.ts */
static void h_timeshift_path(const struct route_match *m, struct http_request *req,
                             struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    creds_from_path(&r, m, 1);
    api_timeshift(&r, m->params[4], m->params[3], m->params[2]);
}

/* /timeshifts/U/P/DURATION/ID/START.EXT (XC2's other order). */
static void h_timeshifts_path(const struct route_match *m, struct http_request *req,
                              struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    creds_from_path(&r, m, 1);
    const char *start_ext = m->params[4];
    const char *dot = strrchr(start_ext, '.');
    char start[64], id_ext[64];
    snprintf(start, sizeof(start), "%.*s", dot ? (int)(dot - start_ext) : 63, start_ext);
    snprintf(id_ext, sizeof(id_ext), "%.24s.%.8s", m->params[3], dot ? dot + 1 : "ts");
    api_timeshift(&r, id_ext, start, m->params[2]);
}

/* /catchup/TOKEN/UTC_MS.ts: a segment of a catch-up HLS playlist. */
static void h_catchup_segment(const struct route_match *m, struct http_request *req,
                              struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    http_response_log_target(res, "/catchup/***/segment");
    api_catchup_segment(&r, m->params[0], m->params[1]);
}

/* /streaming/clients_live.php, clients_movie.php, timeshift.php; ext = the script. */
static void h_streaming_php(const struct route_match *m, struct http_request *req,
                            struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    creds_from_params(&r);
    route_streaming_php(&r, m->route->ext);
}

/* /images/{movie|series|episode}/ID/{poster|backdrop}: local artwork by database id. */
static void h_images(const struct route_match *m, struct http_request *req,
                     struct http_response *res)
{
    struct api_req r;
    if (client_begin(&r, m, req, res))
        api_images(&r);
}

/* /preview/TOKEN/ID.EXT: the web panel's player (api/preview.c). */
static void h_preview(const struct route_match *m, struct http_request *req,
                      struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    http_response_log_target(res, "/preview/***/item");
    api_preview_serve(&r, m->params[0], m->params[1]);
}

/* The signature window of an origin pull (clocks of the cluster are NTP-synchronised; a
 * captured request replays for at most this long, to the same origin, as the same node). */
#define ORIGIN_SKEW_S 120

/* GET /cluster/origin/ID.ts: another node of the cluster pulls this node's channel instead of
 * its source (origin–edge, docs/internals/live.md). The pulling node signs
 * "xtreamd-origin\n<ID>\n<its node id>\n<Unix time>" with its node key (X-Xtreamd-Node,
 * -Time, -Signature; stream/live.h live_origin_headers); anything else is 403. */
static void h_cluster_origin(const struct route_match *m, struct http_request *req,
                             struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    struct cluster *c = live_cluster(r.api->live);
    const char *file = m->params[0], *hn = http_request_header(req, "X-Xtreamd-Node"),
               *ht = http_request_header(req, "X-Xtreamd-Time"),
               *hs = http_request_header(req, "X-Xtreamd-Signature");
    char *end;
    long long id = strtoll(file, &end, 10);
    if (end == file || strcmp(end, ".ts") != 0 || id <= 0) {
        api_text_error(&r, 404, "an origin stream is /cluster/origin/ID.ts\n");
        return;
    }
    long long node = hn ? strtoll(hn, &end, 10) : 0;
    bool ok = c && hn && *end == '\0' && node > 0 && ht && hs;
    long long t = ok ? strtoll(ht, &end, 10) : 0;
    ok = ok && *end == '\0' && llabs(t - (long long)time(NULL)) <= ORIGIN_SKEW_S;
    unsigned char sig[64];
    size_t siglen = 0;
    ok = ok &&
         sodium_base642bin(sig, sizeof(sig), hs, strlen(hs), NULL, &siglen, NULL,
                           sodium_base64_VARIANT_ORIGINAL) == 0 &&
         siglen == sizeof(sig);
    char msg[96];
    int ml = snprintf(msg, sizeof(msg), "xtreamd-origin\n%lld\n%lld\n%lld", id, node, t);
    ok = ok && ml > 0 && (size_t)ml < sizeof(msg) &&
         cluster_node_verify(c, node, msg, (size_t)ml, sig) == 0;
    if (!ok) {
        r.api->origin_refused++;
        log_warn("api", "origin pull of stream %lld from %s refused: not a signed node request", id,
                 req->client_ip);
        api_text_error(&r, 403, "origin pulls are for the nodes of this cluster\n");
        return;
    }
    const struct cat_stream *st = catalog_stream(r.cat, id);
    if (!st) {
        api_text_error(&r, 404, "no such stream\n");
        return;
    }
    r.api->origin_pulls++;
    live_serve_origin(r.api->live, st, node, req, res);
}

static bool has_live(const struct route_match *m, const struct http_request *req)
{
    const struct api *api = m->ud;
    return api->live != NULL;
}

/* /hls/TOKEN/SEGMENT: the live engine's HLS playlists and segments. */
static void h_hls(const struct route_match *m, struct http_request *req, struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    http_response_log_target(res, "/hls/***/segment");
    live_serve_segment(r.api->live, m->params[0], m->params[1], req, res);
}

/* /metrics without a token (with one, the admin API's group answers). */
static void h_metrics(const struct route_match *m, struct http_request *req,
                      struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    if (metrics_gate(&r))
        api_serve_metrics(r.api, req->method == HTTP_HEAD, res);
}

void api_serve_metrics(struct api *api, bool head, struct http_response *res)
{
    /* Prometheus text: engine-wide and VOD series first, then the
     * per-channel ones streamed (any number of channels, bounded memory). */
    struct buf *b = http_response_buf(res);
    promtext_family(b, "xtreamd_build_info", "gauge", "Always 1; the version as a label");
    buf_puts(b, "xtreamd_build_info{version=\"" XTREAMD_VERSION "\"} 1\n");
    if (api->live)
        live_metrics(api->live, b);
    api_vod_metrics(api, b);
    api_catchup_metrics(api, b);
    api_preview_metrics(api, b);
    promtext_family(b, "xtreamd_cluster_origin_pulls_total", "counter",
                    "Origin pulls by other nodes (GET /cluster/origin/ID.ts), by result");
    buf_printf(b, "xtreamd_cluster_origin_pulls_total{result=\"served\"} %llu\n",
               (unsigned long long)api->origin_pulls);
    buf_printf(b, "xtreamd_cluster_origin_pulls_total{result=\"refused\"} %llu\n",
               (unsigned long long)api->origin_refused);
    throttle_metrics(api->throttle, b);
    access_metrics(api->access, b);
    promtext_family(b, "xtreamd_admin_refused_total", "counter",
                    "Metrics requests refused for a foreign Host or a client elsewhere than "
                    "loopback without a token");
    buf_printf(b, "xtreamd_admin_refused_total %llu\n", (unsigned long long)api->admin_refused);
    promtext_family(b, "xtreamd_signed_url_checks_total", "counter",
                    "Signed stream URLs presented, by result");
    for (size_t i = 0; i < 5; i++)
        buf_printf(b, "xtreamd_signed_url_checks_total{result=\"%s\"} %llu\n", signed_results[i],
                   (unsigned long long)api->signed_urls[i]);
    if (api->cfg.portal && api->cfg.portal->metrics)
        api->cfg.portal->metrics(b);
    loop_metrics(api, b);
    cache_metrics(api, b);
    for (size_t i = 0; i < api->nmetrics_extra; i++)
        api->metrics_extra[i].fn(api->metrics_extra[i].ud, b);
    int rc = b->err;
    if (!rc && !head && api->live)
        rc = live_metrics_channels(api->live, res);
    if (rc) {
        buf_reset(b);
        http_response_text(res, 500, "text/plain; charset=utf-8", "out of memory\n");
        return;
    }
    http_response_status(res, 200);
    http_response_header(res, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
}

/* The short live form /U/P/ID[.ext] needs a numeric id. */
static bool short_live_accept(const struct route_match *m, const struct http_request *req)
{
    return is_stream_id(m->params[2]);
}

static void h_short_live(const struct route_match *m, struct http_request *req,
                         struct http_response *res)
{
    struct api_req r;
    if (!client_begin(&r, m, req, res))
        return;
    creds_from_path(&r, m, 0);
    api_stream(&r, "live", m->params[2]);
}

/* The MAG portal (src/portal/, through api_config.portal): the JSON API,
 * the page, the play links. */
static const struct api_portal_ops *portal_of(const struct route_match *m,
                                              struct http_response *res)
{
    const struct api *api = m->ud;
    if (!api->cfg.portal)
        http_response_text(res, 404, "text/plain; charset=utf-8", "not found\n");
    return api->cfg.portal;
}

static void h_portal(const struct route_match *m, struct http_request *req,
                     struct http_response *res)
{
    struct api_req r;
    const struct api_portal_ops *ops = portal_of(m, res);
    if (ops && client_begin(&r, m, req, res))
        ops->call(&r);
}

static void h_portal_page(const struct route_match *m, struct http_request *req,
                          struct http_response *res)
{
    struct api_req r;
    const struct api_portal_ops *ops = portal_of(m, res);
    if (ops && client_begin(&r, m, req, res))
        ops->page(&r);
}

static void h_portal_play(const struct route_match *m, struct http_request *req,
                          struct http_response *res)
{
    struct api_req r;
    const struct api_portal_ops *ops = portal_of(m, res);
    if (ops && client_begin(&r, m, req, res))
        ops->play(&r, m->params[0]);
}

/* Every client route takes GET, HEAD and POST (players post forms). */
#define CM (ROUTE_GET | ROUTE_POST)
#define CLIENT(pattern, fn, auth, ext)                                                             \
    {                                                                                              \
        CM, pattern, fn, NULL, auth, NULL, NULL, NULL, NULL, NULL, 200, ext                        \
    }
#define ENGINE(pattern, fn, auth)                                                                  \
    {                                                                                              \
        CM, pattern, fn, has_live, auth, NULL, NULL, NULL, NULL, NULL, 200, NULL                   \
    }

static const struct route client_routes[] = {
    CLIENT("/", h_version, ROUTE_AUTH_NONE, NULL),
    CLIENT("/player_api.php", h_player_api_php, ROUTE_AUTH_LINE, NULL),
    CLIENT("/panel_api.php", h_panel_api_php, ROUTE_AUTH_LINE, NULL),
    CLIENT("/get.php", h_get_php, ROUTE_AUTH_LINE, NULL),
    CLIENT("/xmltv.php", h_xmltv_php, ROUTE_AUTH_LINE, NULL),
    CLIENT("/player_api/{username}/{password}", h_player_api_path, ROUTE_AUTH_LINE, NULL),
    CLIENT("/player_api/{username}/{password}/{action}", h_player_api_path, ROUTE_AUTH_LINE, NULL),
    CLIENT("/playlist/{username}/{password}", h_playlist_path, ROUTE_AUTH_LINE, NULL),
    CLIENT("/playlist/{username}/{password}/{type}", h_playlist_path, ROUTE_AUTH_LINE, NULL),
    CLIENT("/epg/{username}/{password}", h_epg_path, ROUTE_AUTH_LINE, NULL),
    CLIENT("/epg/{username}/{password}/{gz}", h_epg_path, ROUTE_AUTH_LINE, NULL),
    CLIENT("/live/{username}/{password}/{stream}", h_stream_path, ROUTE_AUTH_LINE, "live"),
    CLIENT("/created_live/{username}/{password}/{stream}", h_stream_path, ROUTE_AUTH_LINE, "live"),
    CLIENT("/radio_streams/{username}/{password}/{stream}", h_stream_path, ROUTE_AUTH_LINE, "live"),
    CLIENT("/movie/{username}/{password}/{stream}", h_stream_path, ROUTE_AUTH_LINE, "movie"),
    CLIENT("/series/{username}/{password}/{stream}", h_stream_path, ROUTE_AUTH_LINE, "series"),
    {CM, "/live/{token}/{stream}", h_signed_stream, signed_accept, ROUTE_AUTH_LINE, NULL, NULL,
     NULL, NULL, NULL, 200, "live"},
    {CM, "/movie/{token}/{stream}", h_signed_stream, signed_accept, ROUTE_AUTH_LINE, NULL, NULL,
     NULL, NULL, NULL, 200, "movie"},
    {CM, "/series/{token}/{stream}", h_signed_stream, signed_accept, ROUTE_AUTH_LINE, NULL, NULL,
     NULL, NULL, NULL, 200, "series"},
    {CM, "/c/{token}/{stream}", h_cluster_stream, cluster_accept, ROUTE_AUTH_LINE, NULL, NULL, NULL,
     NULL, NULL, 200, NULL},
    CLIENT("/timeshift/{username}/{password}/{duration}/{start}/{stream}", h_timeshift_path,
           ROUTE_AUTH_LINE, NULL),
    CLIENT("/timeshifts/{username}/{password}/{duration}/{stream}/{start}", h_timeshifts_path,
           ROUTE_AUTH_LINE, NULL),
    CLIENT("/catchup/{token}/{segment}", h_catchup_segment, ROUTE_AUTH_LINE, NULL),
    CLIENT("/streaming/clients_live.php", h_streaming_php, ROUTE_AUTH_LINE, "clients_live.php"),
    CLIENT("/streaming/clients_movie.php", h_streaming_php, ROUTE_AUTH_LINE, "clients_movie.php"),
    CLIENT("/streaming/timeshift.php", h_streaming_php, ROUTE_AUTH_LINE, "timeshift.php"),
    CLIENT("/images/{kind}/{id}/{which}", h_images, ROUTE_AUTH_NONE, NULL),
    CLIENT("/preview/{token}/{stream}", h_preview, ROUTE_AUTH_LINE, NULL),
    CLIENT("/portal.php", h_portal, ROUTE_AUTH_LINE, NULL),
    CLIENT("/server/load.php", h_portal, ROUTE_AUTH_LINE, NULL),
    CLIENT("/c/portal.php", h_portal, ROUTE_AUTH_LINE, NULL),
    CLIENT("/c/server/load.php", h_portal, ROUTE_AUTH_LINE, NULL),
    CLIENT("/stalker_portal/server/load.php", h_portal, ROUTE_AUTH_LINE, NULL),
    CLIENT("/stalker_portal/c/portal.php", h_portal, ROUTE_AUTH_LINE, NULL),
    CLIENT("/c", h_portal_page, ROUTE_AUTH_NONE, NULL),
    CLIENT("/c/index.html", h_portal_page, ROUTE_AUTH_NONE, NULL),
    CLIENT("/stalker_portal/c", h_portal_page, ROUTE_AUTH_NONE, NULL),
    CLIENT("/stalker_portal/c/index.html", h_portal_page, ROUTE_AUTH_NONE, NULL),
    CLIENT("/play/{token}", h_portal_play, ROUTE_AUTH_LINE, NULL),
    ENGINE("/hls/{token}/{segment}", h_hls, ROUTE_AUTH_LINE),
    ENGINE("/cluster/origin/{file}", h_cluster_origin, ROUTE_AUTH_NONE),
    ENGINE("/metrics", h_metrics, ROUTE_AUTH_METRICS),
    {CM, "/{username}/{password}/{stream}", h_short_live, short_live_accept, ROUTE_AUTH_LINE, NULL,
     NULL, NULL, NULL, NULL, 200, NULL},
};

/* CORS preflight, on any path under the group (the admin paths without CORS). */
static void client_options(void *ud, unsigned allowed, struct http_request *req,
                           struct http_response *res)
{
    struct api_req r;
    client_prologue(&r, ud, req, res);
    http_response_header(res, "Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
    const char *want = http_request_header(req, "Access-Control-Request-Headers");
    if (want && !strpbrk(want, "\r\n"))
        http_response_header(res, "Access-Control-Allow-Headers", want);
    http_response_header(res, "Access-Control-Max-Age", "86400");
    http_response_text(res, 200, "text/plain", "");
}

/* No route took the request: every client path answers other methods 405
 * (whether or not a route has its pattern), then 503 while loading, else 404. */
static void client_fallback(void *ud, unsigned allowed, struct http_request *req,
                            struct http_response *res)
{
    if (req->method == HTTP_OPTIONS) {
        client_options(ud, allowed, req, res);
        return;
    }
    struct api_req r;
    client_prologue(&r, ud, req, res);
    if (req->method != HTTP_GET && req->method != HTTP_HEAD && req->method != HTTP_POST) {
        http_response_header(res, "Allow", "GET, HEAD, POST, OPTIONS");
        http_response_text(res, 405, "text/plain; charset=utf-8",
                           "method not allowed: use GET, HEAD or POST\n");
        return;
    }
    if (!r.cat) {
        answer_loading(&r);
        return;
    }
    api_text_error(&r, 404, "not found\n");
}

/* Answered by whichever loop accepted the connection (serve --loops N): the
 * catalogue lists and playlists, whose answers are cached refbufs or renders
 * deferred to the thread pool, never a body source or a file (http/server.h
 * route_here). The others (streams, the guide, the portal...) are loop 0's. */
static bool client_any_loop(const struct route *rt)
{
    return rt->fn == h_version || rt->fn == h_player_api_php || rt->fn == h_panel_api_php ||
           rt->fn == h_get_php || rt->fn == h_player_api_path || rt->fn == h_playlist_path;
}

int api_add_metrics(struct api *api, void (*fn)(void *ud, struct buf *out), void *ud)
{
    size_t cap = sizeof(api->metrics_extra) / sizeof(api->metrics_extra[0]);
    if (api->nmetrics_extra == cap)
        return -E2BIG;
    api->metrics_extra[api->nmetrics_extra].fn = fn;
    api->metrics_extra[api->nmetrics_extra].ud = ud;
    api->nmetrics_extra++;
    return 0;
}

int api_routes(struct api *api, struct route_group *out)
{
    *out = (struct route_group){
        .name = "client",
        .prefix = "/",
        .routes = client_routes,
        .count = sizeof(client_routes) / sizeof(client_routes[0]),
        .ud = api,
        .fallback = client_fallback,
        .options = client_options,
        .any_loop = client_any_loop,
    };
    return 0;
}
