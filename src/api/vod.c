/*
 * vod: delivery of movies and episodes (and of their local artwork) for the
 * stream routes, once api_stream() has authenticated the line and checked the
 * item against its bouquets.
 *
 * Files are resolved by database id through the catalogue snapshot, never by
 * a path from the URL; the stored path is canonical (the library scan stores
 * realpath()s under the scanned root) and must still resolve to itself, so a
 * symlink planted later is refused. Bodies go out with sendfile via
 * http_response_file(); Range/If-Range follow http/range.h. Remote entries
 * (http/https sources) are relayed through vod/relay.h (Range passed through)
 * or, when the server is configured so, answered with a 302 to the source.
 *
 * Owns: one struct vod_conn per GET file response in flight, linked from
 * struct api, registered in the connection registry (one viewer per line, IP
 * and title) and freed by the response's file-done callback. api_vod_watch()
 * (every ~0.5 s) ends responses whose file was removed or replaced.
 * api_vod_metrics() reports them for /metrics (responses in flight, started
 * counters, bytes of file responses).
 * Threading: loop thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api_priv.h"
#include "core/log.h"
#include "core/promtext.h"
#include "http/range.h"
#include "stream/live.h"
#include "vod/relay.h"
#include "domain/vod_paths.h"

struct vod_conn {
    struct vod_conn *next, *prev;
    struct api *api;
    struct http_conn *conn;
    uint64_t handle;
    bool remote; /* relayed: no file to watch */
    dev_t dev;
    ino_t ino;
    off_t size;
    /* for /api/v1/sessions */
    int64_t line_id, item_id;
    bool movie;
    uint64_t start_ms, bytes_at_start;
    char username[128];
    char ip[46];
    char ua[256];
    char path[PATH_MAX];
};

static const struct {
    const char *ext, *type;
} content_types[] = {
    {"mp4", "video/mp4"},       {"m4v", "video/mp4"},       {"mkv", "video/x-matroska"},
    {"avi", "video/x-msvideo"}, {"3gp", "video/3gpp"},      {"flv", "video/x-flv"},
    {"wmv", "video/x-ms-wmv"},  {"mov", "video/quicktime"}, {"ts", "video/mp2t"},
    {"webm", "video/webm"},     {"mpg", "video/mpeg"},      {"mpeg", "video/mpeg"},
    {"jpg", "image/jpeg"},      {"jpeg", "image/jpeg"},     {"png", "image/png"},
    {"webp", "image/webp"},     {"gif", "image/gif"},       {"tbn", "image/jpeg"},
};

static const char *content_type_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++)
            if (strcasecmp(dot + 1, content_types[i].ext) == 0)
                return content_types[i].type;
    return "application/octet-stream";
}

static bool is_remote(const char *source)
{
    return strncasecmp(source, "http://", 7) == 0 || strncasecmp(source, "https://", 8) == 0;
}

/* Opens a stored canonical path read-only; -ENOENT when it no longer resolves
 * to itself (moved, replaced by a symlink) or is not a regular file. */
static int open_canonical(const char *path, struct stat *st)
{
    char real[PATH_MAX];
    if (!path || path[0] != '/' || !realpath(path, real) || strcmp(real, path) != 0)
        return -ENOENT;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -ENOENT;
    }
    return fd;
}

/* Defence in depth behind the import's check (domain/vod_paths.h): a local file is
 * opened only under a library root, outside the data directory, and never
 * when it is the database or its shared-memory file under another name (a
 * hard link): closing a descriptor of those would drop the process's SQLite
 * POSIX locks. -EACCES when refused. */
static int open_servable(struct api *api, const char *path, struct stat *st)
{
    const char *why = dom_vod_path_refusal(path, api->roots, api->nroots, api->data_real);
    if (why) {
        api->vod_refused++;
        log_warn("vod", "refused to serve a local file %s", why);
        return -EACCES;
    }
    struct stat mine, theirs;
    if (api->data_real && stat(path, &theirs) == 0) {
        static const char *const files[] = {"xtreamd.db", "xtreamd.db-shm", "xtreamd.db-wal"};
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            char p[PATH_MAX + 32];
            snprintf(p, sizeof(p), "%s/%s", api->data_real, files[i]);
            if (stat(p, &mine) == 0 && mine.st_dev == theirs.st_dev &&
                mine.st_ino == theirs.st_ino) {
                api->vod_refused++;
                log_warn("vod", "refused to serve a local file: it is the database (%s)", files[i]);
                return -EACCES;
            }
        }
    }
    return open_canonical(path, st);
}

static void vod_link(struct vod_conn *v)
{
    v->next = v->api->vod_conns;
    if (v->next)
        v->next->prev = v;
    v->api->vod_conns = v;
}

static void vod_unlink(struct vod_conn *v)
{
    if (v->prev)
        v->prev->next = v->next;
    else if (v->api->vod_conns == v)
        v->api->vod_conns = v->next;
    if (v->next)
        v->next->prev = v->prev;
    v->next = v->prev = NULL;
}

/* Bytes written on the connection since this response began (headers
 * included). v->conn is valid while v is linked, and still when its done
 * callback runs (file piece freed, relay released: both before the
 * connection is freed). */
static uint64_t vod_bytes(const struct vod_conn *v)
{
    uint64_t now = http_conn_bytes_sent(v->conn);
    return now > v->bytes_at_start ? now - v->bytes_at_start : 0;
}

static void vod_done(void *ctx)
{
    struct vod_conn *v = ctx;
    v->api->vod_bytes_done[v->remote] += vod_bytes(v); /* v->conn is still valid here */
    conn_registry_remove(v->api->conns, v->handle, (int64_t)time(NULL));
    vod_unlink(v);
    free(v);
}

/* A registered vod_conn whose response sends no body after all (nothing was
 * written for it, so it adds no bytes). */
static void vod_drop(struct vod_conn *v)
{
    if (v)
        vod_done(v);
}

static void vod_kick(void *ctx)
{
    struct vod_conn *v = ctx;
    log_info("vod", "closing an older connection of the line (connection limit)");
    http_conn_abort(v->conn); /* ends in vod_done */
}

void api_vod_watch(struct api *api)
{
    struct vod_conn *v = api->vod_conns;
    while (v) {
        struct vod_conn *next = v->next;
        struct stat st;
        if (v->remote) {
            v = next;
            continue;
        }
        if (stat(v->path, &st) != 0 || st.st_ino != v->ino || st.st_dev != v->dev ||
            st.st_size < v->size) {
            log_warn("vod", "%s was removed or replaced while being sent; ending that response",
                     v->path);
            http_conn_abort(v->conn); /* frees v through vod_done */
        }
        v = next;
    }
}

void api_vod_check_lines(struct api *api, int64_t now)
{
    if (!api->catalog)
        return;
    struct vod_conn *next;
    for (struct vod_conn *v = api->vod_conns; v; v = next) {
        next = v->next;
        if (auth_line_still_active(api->catalog, v->username, v->line_id, now))
            continue;
        log_info("vod", "download by %s cut: line %s is no longer active", v->ip, v->username);
        http_conn_abort(v->conn); /* frees v through vod_done */
    }
}

void api_vod_admin_write(void *ctx, struct live_conn_sink *sink, uint64_t now_ms)
{
    struct api *api = ctx;
    for (struct vod_conn *v = api->vod_conns; v; v = v->next)
        live_write_connection(sink, v->movie ? "movie" : "episode", v->handle, v->line_id,
                              v->username, v->item_id, v->ip, v->ua, v->start_ms,
                              http_conn_bytes_sent(v->conn) - v->bytes_at_start, now_ms);
}

void api_vod_metrics(struct api *api, struct buf *out)
{
    uint64_t active[2] = {0, 0}, bytes[2] = {api->vod_bytes_done[0], api->vod_bytes_done[1]};
    for (struct vod_conn *v = api->vod_conns; v; v = v->next) {
        active[v->remote]++;
        bytes[v->remote] += vod_bytes(v);
    }
    promtext_family(out, "xtreamd_vod_responses", "gauge",
                    "Movie and episode responses being sent: local files, or relayed from a "
                    "remote source");
    buf_printf(out,
               "xtreamd_vod_responses{source=\"file\"} %" PRIu64 "\n"
               "xtreamd_vod_responses{source=\"relay\"} %" PRIu64 "\n",
               active[0], active[1]);
    promtext_family(out, "xtreamd_vod_responses_total", "counter",
                    "Movie and episode responses started (GET with a body)");
    buf_printf(out,
               "xtreamd_vod_responses_total{source=\"file\"} %" PRIu64 "\n"
               "xtreamd_vod_responses_total{source=\"relay\"} %" PRIu64 "\n",
               api->vod_started[0], api->vod_started[1]);
    promtext_family(out, "xtreamd_vod_file_bytes_out_total", "counter",
                    "Bytes of local movie and episode responses sent (headers included)");
    buf_printf(out, "xtreamd_vod_file_bytes_out_total %" PRIu64 "\n", bytes[0]);
    promtext_family(out, "xtreamd_vod_relay_bytes_out_total", "counter",
                    "Bytes of relayed (remote) movie and episode responses sent (headers "
                    "included)");
    buf_printf(out, "xtreamd_vod_relay_bytes_out_total %" PRIu64 "\n", bytes[1]);
    promtext_family(out, "xtreamd_vod_relay_transfers", "gauge",
                    "Upstream transfers of the VOD relay in flight (HEAD included)");
    buf_printf(out, "xtreamd_vod_relay_transfers %zu\n",
               api->relay ? vod_relay_active(api->relay) : (size_t)0);
    promtext_family(out, "xtreamd_vod_local_refused_total", "counter",
                    "Local movie, episode or artwork files refused at delivery: outside the "
                    "library roots, inside the data directory, or the database itself");
    buf_printf(out, "xtreamd_vod_local_refused_total %" PRIu64 "\n", api->vod_refused);
}

bool api_vod_admin_kill(void *ctx, uint64_t handle)
{
    struct api *api = ctx;
    for (struct vod_conn *v = api->vod_conns; v; v = v->next) {
        if (v->handle == handle) {
            log_info("vod", "connection %llu killed by the operator", (unsigned long long)handle);
            http_conn_abort(v->conn); /* ends in vod_done */
            return true;
        }
    }
    return false;
}

void api_vod_free_all(struct api *api)
{
    while (api->vod_conns) {
        struct vod_conn *v = api->vod_conns;
        vod_unlink(v);
        free(v);
    }
}

/* Sends fd (size st) as the response, honouring Range, If-Range and HEAD.
 * Takes ownership of fd. v (may be NULL) is attached when a body is sent. */
static void send_file(struct api_req *r, int fd, const struct stat *st, const char *type,
                      struct vod_conn *v)
{
    struct http_response *res = r->res;
    char etag[64], date[64], buf[128];
    uint64_t size = (uint64_t)st->st_size;
    http_range_etag(size, (int64_t)st->st_mtime, etag, sizeof(etag));
    http_range_date((int64_t)st->st_mtime, date, sizeof(date));
    http_response_header(res, "Accept-Ranges", "bytes");
    http_response_header(res, "ETag", etag);
    http_response_header(res, "Last-Modified", date);
    const char *range = http_request_header(r->req, "Range");
    if (range && !http_range_if_range_ok(http_request_header(r->req, "If-Range"), etag,
                                         (int64_t)st->st_mtime))
        range = NULL; /* the client's copy is stale: send it all */
    uint64_t start = 0, len = size;
    switch (http_range_parse(range, size, &start, &len)) {
    case HTTP_RANGE_UNSATISFIABLE:
        close(fd);
        vod_drop(v);
        snprintf(buf, sizeof(buf), "bytes */%llu", (unsigned long long)size);
        http_response_header(res, "Content-Range", buf);
        http_response_text(res, 416, "text/plain; charset=utf-8", "range not satisfiable\n");
        return;
    case HTTP_RANGE_PARTIAL:
        snprintf(buf, sizeof(buf), "bytes %llu-%llu/%llu", (unsigned long long)start,
                 (unsigned long long)(start + len - 1), (unsigned long long)size);
        http_response_header(res, "Content-Range", buf);
        http_response_status(res, 206);
        break;
    case HTTP_RANGE_NONE:
        http_response_status(res, 200);
        break;
    }
    http_response_header(res, "Content-Type", type);
    posix_fadvise(fd, (off_t)start, (off_t)len, POSIX_FADV_SEQUENTIAL);
    if (http_response_file(res, fd, (off_t)start, (off_t)len) != 0) {
        vod_drop(v);
        api_text_error(r, 500, "cannot send the file\n");
        return;
    }
    if (v) {
        v->dev = st->st_dev;
        v->ino = st->st_ino;
        v->size = st->st_size;
        vod_link(v);
        v->api->vod_started[0]++;
        http_response_file_done(res, vod_done, v);
    }
}

/* A viewer of a movie or episode, counted against the line's limit. NULL
 * when it cannot be registered: out of memory, or the connection registry is
 * full (counted there); the caller answers api_vod_refusal(). */
static struct vod_conn *vod_register(struct api_req *r, const char *source, bool movie, int64_t id)
{
    struct vod_conn *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->api = r->api;
    v->conn = http_response_conn(r->res);
    v->line_id = r->line->id;
    v->item_id = id;
    v->movie = movie;
    v->start_ms = r->api->cfg.loop ? uv_now(r->api->cfg.loop) : 0;
    v->bytes_at_start = http_conn_bytes_sent(v->conn);
    const char *ua = http_request_header(r->req, "User-Agent");
    snprintf(v->username, sizeof(v->username), "%s", r->line->username);
    snprintf(v->ip, sizeof(v->ip), "%s", r->req->client_ip);
    snprintf(v->ua, sizeof(v->ua), "%s", ua ? ua : "");
    snprintf(v->path, sizeof(v->path), "%s", source);
    int64_t now = (int64_t)time(NULL);
    v->handle = conn_registry_add(r->api->conns, r->line->id, movie ? CONN_MOVIE : CONN_EPISODE, id,
                                  r->req->client_ip, http_request_header(r->req, "User-Agent"), now,
                                  vod_kick, v);
    if (!v->handle) {
        free(v);
        return NULL;
    }
    conn_registry_enforce(r->api->conns, r->line->id, r->line->max_connections, v->handle, now);
    return v;
}

/* Why vod_register() failed, answered: 503 while the registry is full. */
static void vod_refusal(struct api_req *r, uint64_t full_before)
{
    struct conn_registry_stats st;
    conn_registry_stats(r->api->conns, &st);
    if (st.refused_full != full_before)
        api_text_error(r, 503, "too many connections on this server; retry later\n");
    else
        api_text_error(r, 500, "out of memory\n");
}

static uint64_t refused_full(const struct api *api)
{
    struct conn_registry_stats st;
    conn_registry_stats(api->conns, &st);
    return st.refused_full;
}

/* Remote entries are relayed (Range passed through) or, with
 * `serve --remote-vod redirect`, answered with a 302 to the source. */
static bool deliver_remote(struct api_req *r, const char *source, bool movie, int64_t id)
{
    if (strpbrk(source, "\r\n")) {
        api_text_error(r, 404, "no such stream\n");
        return false;
    }
    if (!r->api->relay) {
        http_response_header(r->res, "Location", source);
        http_response_text(r->res, 302, "text/plain; charset=utf-8", "moved\n");
        return false;
    }
    bool head = r->req->method == HTTP_HEAD;
    uint64_t full0 = refused_full(r->api);
    struct vod_conn *v = head ? NULL : vod_register(r, source, movie, id);
    if (!head && !v) {
        vod_refusal(r, full0);
        return false;
    }
    if (v) {
        v->remote = true;
        vod_link(v);
    }
    struct vod_relay_request rq = {
        .url = source,
        .range = http_request_header(r->req, "Range"),
        .if_range = http_request_header(r->req, "If-Range"),
        .user_agent = http_request_header(r->req, "User-Agent"),
        .default_type = content_type_of(source),
        .head = head,
        .done = v ? vod_done : NULL,
        .done_ctx = v,
    };
    int rc = vod_relay_start(r->api->relay, r->res, &rq);
    if (rc) {
        vod_drop(v);
        api_text_error(r, rc == -ENOMEM ? 500 : 404, "cannot relay this source\n");
    } else if (v) {
        r->api->vod_started[1]++;
    }
    return rc == 0; /* the relay deferred the response */
}

bool api_vod_deliver(struct api_req *r, const char *kind, int64_t id)
{
    const char *source = NULL;
    bool movie = strcmp(kind, "movie") == 0;
    if (movie) {
        const struct cat_movie *m = catalog_movie(r->cat, id);
        source = m ? m->source : NULL;
    } else {
        const struct cat_series *s;
        const struct cat_episode *e = catalog_episode(r->cat, id, &s);
        source = e ? e->source : NULL;
    }
    if (!source || !*source) {
        api_text_error(r, 404, "no such stream\n");
        return false;
    }
    if (is_remote(source)) {
        return deliver_remote(r, source, movie, id);
    }
    struct stat st;
    int fd = open_servable(r->api, source, &st);
    if (fd < 0) {
        log_warn("vod", "%s %lld: file unavailable (%s)", kind, (long long)id, strerror(-fd));
        api_text_error(r, 404, "file not available\n");
        return false;
    }
    struct vod_conn *v = NULL;
    if (r->req->method == HTTP_GET) {
        uint64_t full0 = refused_full(r->api);
        v = vod_register(r, source, movie, id);
        if (!v) {
            close(fd);
            vod_refusal(r, full0);
            return false;
        }
    }
    send_file(r, fd, &st, content_type_of(source), v);
    return false;
}

const char *api_art_url(const struct api_req *r, const char *stored, const char *file,
                        const char *kind, int64_t id, const char *which, char *out, size_t n)
{
    if (stored && *stored)
        return stored;
    if (!file || !*file || n == 0)
        return "";
    int len = snprintf(out, n, "%s/images/%s/%lld/%s", r->base, kind, (long long)id, which);
    return len > 0 && (size_t)len < n ? out : ""; /* never a truncated URL */
}

/* /images/{movie|series|episode}/ID/{poster|backdrop}[.ext] */
void api_images(struct api_req *r)
{
    const char **seg = r->req->segments;
    api_cors(r, false);
    int64_t id = api_parse_id(seg[2], strlen(seg[2]));
    size_t wlen = strcspn(seg[3], ".");
    bool poster = wlen == 6 && strncmp(seg[3], "poster", 6) == 0;
    bool backdrop = wlen == 8 && strncmp(seg[3], "backdrop", 8) == 0;
    const char *path = NULL;
    if (id > 0 && (poster || backdrop)) {
        if (strcmp(seg[1], "movie") == 0) {
            const struct cat_movie *m = catalog_movie(r->cat, id);
            path = m ? (poster ? m->poster_file : m->backdrop_file) : NULL;
        } else if (strcmp(seg[1], "series") == 0) {
            const struct cat_series *s = catalog_series(r->cat, id);
            path = s ? (poster ? s->cover_file : s->backdrop_file) : NULL;
        } else if (strcmp(seg[1], "episode") == 0 && poster) {
            const struct cat_series *s;
            const struct cat_episode *e = catalog_episode(r->cat, id, &s);
            path = e ? e->image_file : NULL;
        }
    }
    struct stat st;
    int fd = path && *path ? open_servable(r->api, path, &st) : -ENOENT;
    if (fd < 0) {
        api_text_error(r, 404, "no such image\n");
        return;
    }
    http_response_header(r->res, "Cache-Control", "public, max-age=86400");
    send_file(r, fd, &st, content_type_of(path), NULL);
}
