/*
 * panel.c: the web panel's files (see panel.h).
 */
#include "panel/panel.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/promtext.h"
#include "core/refbuf.h"
#include "http/encoding.h"

/* Level 6: a file is compressed once per build, not per request. */
#define PANEL_GZIP_LEVEL 6
#define PANEL_NAME_MAX   128

struct panel_file {
    char name[PANEL_NAME_MAX + 8]; /* "index.html" or "assets/NAME" */
    off_t size;
    int64_t mtime_ns;
    struct refbuf *body;
    struct refbuf *gz; /* NULL: not compressible, or not smaller */
};

enum panel_result { PR_OK, PR_NOT_MODIFIED, PR_NOT_FOUND, PR_ERROR, PR_COUNT };

struct panel {
    char root[4096];
    struct panel_file files[PANEL_CACHE_FILES];
    size_t nfiles;
    size_t bytes; /* identity + gzip bodies held */
    size_t next_evict;
    unsigned long long results[PR_COUNT];
    unsigned long long evictions;
    struct route_group client; /* answers every path the panel does not take */
};

int panel_new(const char *root, struct panel **out)
{
    if (!root || !*root)
        return -EINVAL;
    struct panel *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    int n = snprintf(p->root, sizeof(p->root), "%s", root);
    if (n < 0 || (size_t)n >= sizeof(p->root)) {
        free(p);
        return -ENAMETOOLONG;
    }
    /* "dir/" and "dir" are the same root; keep "/" itself. */
    while (n > 1 && p->root[n - 1] == '/')
        p->root[--n] = '\0';
    *out = p;
    return 0;
}

static void file_clear(struct panel *p, struct panel_file *f)
{
    if (f->body) {
        p->bytes -= f->body->len;
        refbuf_unref(f->body);
    }
    if (f->gz) {
        p->bytes -= f->gz->len;
        refbuf_unref(f->gz);
    }
    memset(f, 0, sizeof(*f));
}

void panel_free(struct panel *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nfiles; i++)
        file_clear(p, &p->files[i]);
    free(p);
}

const char *panel_root(const struct panel *p)
{
    return p->root;
}

/* One segment of [A-Za-z0-9._-], not starting with '.': never leaves the
 * root, never a hidden file. */
static bool safe_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PANEL_NAME_MAX || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static const char *ext_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : "";
}

static const struct {
    const char *ext, *type;
    bool compress;
} types[] = {
    {"html", "text/html; charset=utf-8", true},
    {"js", "text/javascript; charset=utf-8", true},
    {"mjs", "text/javascript; charset=utf-8", true},
    {"css", "text/css; charset=utf-8", true},
    {"svg", "image/svg+xml", true},
    {"json", "application/json", true},
    {"map", "application/json", true},
    {"txt", "text/plain; charset=utf-8", true},
    {"png", "image/png", false},
    {"jpg", "image/jpeg", false},
    {"jpeg", "image/jpeg", false},
    {"webp", "image/webp", false},
    {"ico", "image/x-icon", false},
    {"woff2", "font/woff2", false},
    {"wasm", "application/wasm", false},
};

static const char *type_of(const char *name, bool *compress)
{
    const char *e = ext_of(name);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcasecmp(e, types[i].ext) == 0) {
            *compress = types[i].compress;
            return types[i].type;
        }
    }
    *compress = false;
    return "application/octet-stream";
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* Reads path (size bytes, as stat said) into a new refbuf. */
static int read_file(int fd, off_t size, struct refbuf **out)
{
    char *data = malloc(size ? (size_t)size : 1);
    if (!data)
        return -ENOMEM;
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t r = read(fd, data + got, (size_t)size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(data);
            return r < 0 ? -errno : -EIO; /* shrank while we read: a rebuild in progress */
        }
        got += (size_t)r;
    }
    *out = refbuf_new(data, got);
    free(data);
    return *out ? 0 : -ENOMEM;
}

/* Makes room for one more file of `need` bytes: frees slots round-robin. */
static struct panel_file *slot_for(struct panel *p, size_t need)
{
    while (p->nfiles > 0 &&
           (p->nfiles == PANEL_CACHE_FILES || p->bytes + need > PANEL_CACHE_BYTES)) {
        size_t i = p->next_evict % p->nfiles;
        file_clear(p, &p->files[i]);
        p->files[i] = p->files[p->nfiles - 1];
        memset(&p->files[p->nfiles - 1], 0, sizeof(p->files[0]));
        p->nfiles--;
        p->next_evict++;
        p->evictions++;
    }
    return &p->files[p->nfiles++];
}

static struct panel_file *find_cached(struct panel *p, const char *name)
{
    for (size_t i = 0; i < p->nfiles; i++)
        if (strcmp(p->files[i].name, name) == 0)
            return &p->files[i];
    return NULL;
}

/* The cached, current copy of name (relative to the root): 0, -ENOENT,
 * -EFBIG or another -errno. */
static int load(struct panel *p, const char *name, struct panel_file **out)
{
    char path[sizeof(p->root) + PANEL_NAME_MAX + 16];
    int n = snprintf(path, sizeof(path), "%s/%s", p->root, name);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -ENOENT;
        goto fail;
    }
    struct panel_file *f = find_cached(p, name);
    if (f && f->size == st.st_size && f->mtime_ns == mtime_ns(&st)) {
        close(fd);
        *out = f;
        return 0;
    }
    if (f) { /* changed on disk (a rebuild): drop the old copy */
        size_t i = (size_t)(f - p->files);
        file_clear(p, f);
        p->files[i] = p->files[p->nfiles - 1];
        memset(&p->files[p->nfiles - 1], 0, sizeof(p->files[0]));
        p->nfiles--;
    }
    if (st.st_size > (off_t)PANEL_MAX_FILE) {
        rc = -EFBIG;
        goto fail;
    }
    struct refbuf *body = NULL, *gz = NULL;
    rc = read_file(fd, st.st_size, &body);
    if (rc < 0)
        goto fail;
    bool compress;
    (void)type_of(name, &compress);
    if (compress && body->len >= 256) {
        if (http_gzip(body->data, body->len, PANEL_GZIP_LEVEL, &gz) == 0 && gz->len >= body->len) {
            refbuf_unref(gz);
            gz = NULL;
        }
    }
    f = slot_for(p, body->len + (gz ? gz->len : 0));
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->size = st.st_size;
    f->mtime_ns = mtime_ns(&st);
    f->body = body;
    f->gz = gz;
    p->bytes += body->len + (gz ? gz->len : 0);
    close(fd);
    *out = f;
    return 0;
fail:
    close(fd);
    return rc;
}

/* Does an If-None-Match list name etag (or "*")? Weak tags compare weakly. */
static bool etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return false;
    size_t el = strlen(etag);
    const char *s = inm;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        if (*s == '*')
            return true;
        if (s[0] == 'W' && s[1] == '/')
            s += 2;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - s) == el && memcmp(s, etag, el) == 0)
            return true;
        s = e;
    }
    return false;
}

static const char NOT_BUILT[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>xtreamd: panel not built</title></head><body>\n"
    "<h1>The web panel is not built</h1>\n"
    "<p>xtreamd is running (the client and admin APIs answer), but its web panel folder has no "
    "<code>index.html</code>.</p>\n"
    "<p>From a source tree, build it with <code>make build</code> (it runs <code>npm ci</code> "
    "and <code>npm run build</code> in <code>web/</code>); a Debian package installs it in "
    "<code>" PANEL_SYSTEM_ROOT "</code>. Point <code>--web-root</code> (or "
    "<code>web-root</code> in the configuration file) at the folder that holds "
    "<code>index.html</code>.</p>\n</body></html>\n";

static void serve(struct panel *p, const char *name, bool immutable, struct http_request *req,
                  struct http_response *res)
{
    struct panel_file *f = NULL;
    int rc = load(p, name, &f);
    if (rc == -ENOENT) {
        p->results[PR_NOT_FOUND]++;
        http_response_header(res, "Cache-Control", "no-cache");
        if (strcmp(name, "index.html") == 0)
            http_response_text(res, 404, "text/html; charset=utf-8", NOT_BUILT);
        else
            http_response_text(res, 404, "text/plain", "not found\n");
        return;
    }
    if (rc < 0) {
        p->results[PR_ERROR]++;
        log_error("panel", "%s/%s: %s", p->root, name, strerror(-rc));
        http_response_text(res, 500, "text/plain", "panel file unreadable\n");
        return;
    }
    char etag[64];
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)f->size,
             (unsigned long long)f->mtime_ns);
    bool compress;
    const char *type = type_of(name, &compress);
    http_response_header(res, "ETag", etag);
    http_response_header(res, "Cache-Control",
                         immutable ? "public, max-age=31536000, immutable" : "no-cache");
    http_response_header(res, "X-Content-Type-Options", "nosniff");
    if (compress)
        http_response_header(res, "Vary", "Accept-Encoding");
    if (!immutable) {
        /* The app shell: no framing by other sites, only our own scripts
         * (Vite emits no inline script); styles may be inline (charts set
         * style attributes); logos may live anywhere; previews play from
         * blob: URLs (Media Source) with players that may use blob: workers. */
        http_response_header(res, "Content-Security-Policy",
                             "default-src 'self'; script-src 'self'; style-src 'self' "
                             "'unsafe-inline'; img-src 'self' data: blob: http: https:; "
                             "media-src 'self' blob: data:; worker-src 'self' blob:; "
                             "connect-src 'self'; object-src 'none'; base-uri 'self'; "
                             "form-action 'self'; frame-ancestors 'none'");
        http_response_header(res, "X-Frame-Options", "DENY");
        http_response_header(res, "Referrer-Policy", "same-origin");
    }
    if (etag_matches(http_request_header(req, "If-None-Match"), etag)) {
        p->results[PR_NOT_MODIFIED]++;
        http_response_status(res, 304);
        return;
    }
    p->results[PR_OK]++;
    http_response_status(res, 200);
    http_response_header(res, "Content-Type", type);
    if (f->gz && http_request_accepts_gzip(req)) {
        http_response_header(res, "Content-Encoding", "gzip");
        http_response_body_ref(res, f->gz);
    } else {
        http_response_body_ref(res, f->body);
    }
}

/* "/" is the panel's for a browser only: Accept names text/html. */
static bool wants_html(const struct route_match *m, const struct http_request *req)
{
    (void)m;
    const char *a = http_request_header(req, "Accept");
    return a && strstr(a, "text/html") != NULL;
}

static void h_index(const struct route_match *m, struct http_request *req,
                    struct http_response *res)
{
    serve(m->ud, "index.html", false, req, res);
}

static void h_asset(const struct route_match *m, struct http_request *req,
                    struct http_response *res)
{
    struct panel *p = m->ud;
    const char *file = m->params[0];
    if (!safe_name(file)) {
        p->results[PR_NOT_FOUND]++;
        http_response_text(res, 404, "text/plain", "not found\n");
        return;
    }
    char name[PANEL_NAME_MAX + 8];
    snprintf(name, sizeof(name), "assets/%s", file);
    serve(p, name, true, req, res);
}

static const struct route panel_route_table[] = {
    {ROUTE_GET, "/", h_index, wants_html, ROUTE_AUTH_NONE, NULL, NULL, NULL, NULL, NULL, 200, NULL},
    {ROUTE_GET, "/assets/{file}", h_asset, NULL, ROUTE_AUTH_NONE, NULL, NULL, NULL, NULL, NULL, 200,
     NULL},
};

/* A path the panel does not take: the client group answers it, with its own
 * context, exactly as if the panel's group were not there. */
static void panel_fallback(void *ud, unsigned allowed, struct http_request *req,
                           struct http_response *res)
{
    struct panel *p = ud;
    if (p->client.fallback)
        p->client.fallback(p->client.ud, allowed, req, res);
    else
        http_response_text(res, allowed ? 405 : 404, "text/plain",
                           allowed ? "method not allowed\n" : "not found\n");
}

static void panel_options(void *ud, unsigned allowed, struct http_request *req,
                          struct http_response *res)
{
    struct panel *p = ud;
    if (p->client.options)
        p->client.options(p->client.ud, allowed, req, res);
    else
        panel_fallback(ud, allowed, req, res);
}

void panel_routes(struct panel *p, const struct route_group *client, struct route_group *out)
{
    p->client = *client;
    *out = (struct route_group){
        .name = "panel",
        .prefix = "/",
        .routes = panel_route_table,
        .count = sizeof(panel_route_table) / sizeof(panel_route_table[0]),
        .ud = p,
        .fallback = panel_fallback,
        .options = panel_options,
    };
}

void panel_metrics(const struct panel *p, struct buf *out)
{
    static const char *const names[PR_COUNT] = {"ok", "not_modified", "not_found", "error"};
    promtext_family(out, "xtreamd_panel_requests_total", "counter",
                    "Web panel file requests by result");
    for (int i = 0; i < PR_COUNT; i++)
        buf_printf(out, "xtreamd_panel_requests_total{result=\"%s\"} %llu\n", names[i],
                   p->results[i]);
    promtext_family(out, "xtreamd_panel_cache_evictions_total", "counter",
                    "Web panel files dropped from memory to stay within the cache bounds");
    buf_printf(out, "xtreamd_panel_cache_evictions_total %llu\n", p->evictions);
    promtext_family(out, "xtreamd_panel_cache_bytes", "gauge",
                    "Bytes of web panel files held in memory (identity + gzip)");
    buf_printf(out, "xtreamd_panel_cache_bytes %zu\n", p->bytes);
}

int panel_default_root(const char *exe_path, char *out, size_t outsz)
{
    const char *slash = exe_path ? strrchr(exe_path, '/') : NULL;
    if (slash) {
        size_t dl = (size_t)(slash - exe_path);
        char cand[4096];
        int n = snprintf(cand, sizeof(cand), "%.*s/../web/dist/index.html", (int)dl, exe_path);
        if (n > 0 && (size_t)n < sizeof(cand) && access(cand, R_OK) == 0) {
            n = snprintf(cand, sizeof(cand), "%.*s/../web/dist", (int)dl, exe_path);
            char real[PATH_MAX];
            /* The resolved path reads better in the log; the joined one works too. */
            const char *root = realpath(cand, real) ? real : cand;
            n = snprintf(out, outsz, "%s", root);
            return n > 0 && (size_t)n < outsz ? 0 : -ENAMETOOLONG;
        }
    }
    int n = snprintf(out, outsz, "%s", PANEL_SYSTEM_ROOT);
    return n > 0 && (size_t)n < outsz ? 0 : -ENAMETOOLONG;
}
