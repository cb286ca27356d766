/*
 * router: the route table of the whole server (see router.h).
 *
 * Patterns are not compiled: matching walks the pattern string segment by
 * segment against the request's decoded segments, which costs about what a
 * strcmp per route costs and keeps the borrowed route arrays the only copy.
 * Every pattern is validated once, at router_add, so the walk can trust it.
 */
#include "http/router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define ROUTER_MAX_GROUPS 32

struct router {
    struct route_group groups[ROUTER_MAX_GROUPS];
    size_t count;
};

int router_new(struct router **out)
{
    struct router *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    *out = r;
    return 0;
}

void router_free(struct router *r)
{
    free(r);
}

/* HEAD is answered by whatever answers GET. */
static unsigned effective_methods(unsigned methods)
{
    if (methods & ROUTE_M(HTTP_GET))
        methods |= ROUTE_M(HTTP_HEAD);
    return methods;
}

/* The next segment of a pattern or prefix: *p points at its '/'; sets
 * seg/len and advances *p past it. False at the end of the string. */
static bool next_segment(const char **p, const char **seg, size_t *len)
{
    const char *s = *p;
    if (*s != '/' || s[1] == '\0')
        return false;
    s++;
    const char *e = strchr(s, '/');
    if (!e)
        e = s + strlen(s);
    *seg = s;
    *len = (size_t)(e - s);
    *p = e;
    return true;
}

static bool is_param(const char *seg, size_t len)
{
    return len >= 2 && seg[0] == '{' && seg[len - 1] == '}';
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A pattern or prefix is "/" or "/seg(/seg)*": no empty segment, no trailing
 * '/', braces only as a whole "{name}" segment (and none in a prefix).
 * Returns the number of segments, or -EINVAL. */
static int check_path(const char *path, bool allow_params, size_t *nparams)
{
    if (!path || path[0] != '/')
        return -EINVAL;
    if (path[1] == '\0')
        return 0;
    int n = 0;
    size_t np = 0;
    const char *p = path;
    while (*p) {
        const char *seg;
        size_t len;
        if (!next_segment(&p, &seg, &len) || len == 0)
            return -EINVAL; /* "//" or a trailing '/' */
        if (is_param(seg, len)) {
            if (!allow_params || len == 2)
                return -EINVAL;
            for (size_t i = 1; i + 1 < len; i++)
                if (!name_char(seg[i]))
                    return -EINVAL;
            np++;
        } else {
            for (size_t i = 0; i < len; i++)
                if (seg[i] == '{' || seg[i] == '}')
                    return -EINVAL;
        }
        if (++n > HTTP_MAX_SEGMENTS)
            return -EINVAL; /* could never match a request */
    }
    if (np > ROUTE_MAX_PARAMS)
        return -EINVAL;
    if (nparams)
        *nparams = np;
    return n;
}

/* Whether the prefix's segments start the request's. */
static bool prefix_covers(const char *prefix, const char *const *segments, size_t nseg)
{
    const char *p = prefix;
    const char *seg;
    size_t len, i = 0;
    while (next_segment(&p, &seg, &len)) {
        if (i == nseg || strlen(segments[i]) != len || memcmp(segments[i], seg, len) != 0)
            return false;
        i++;
    }
    return true;
}

/* Whether the pattern starts with the prefix's literal segments. */
static bool pattern_under(const char *pattern, const char *prefix)
{
    const char *pp = prefix, *tp = pattern;
    const char *a, *b;
    size_t la, lb;
    while (next_segment(&pp, &a, &la)) {
        if (!next_segment(&tp, &b, &lb) || la != lb || memcmp(a, b, la) != 0)
            return false;
    }
    return true;
}

/* Matches a pattern against the segments, filling m->params. */
static bool pattern_match(const char *pattern, const char *const *segments, size_t nseg,
                          struct route_match *m)
{
    const char *p = pattern;
    const char *seg;
    size_t len, i = 0;
    m->nparams = 0;
    while (next_segment(&p, &seg, &len)) {
        if (i == nseg)
            return false;
        if (is_param(seg, len)) {
            m->params[m->nparams++] = segments[i];
        } else if (strlen(segments[i]) != len || memcmp(segments[i], seg, len) != 0) {
            return false;
        }
        i++;
    }
    return i == nseg;
}

int router_add(struct router *r, const struct route_group *g)
{
    const char *name = g->name ? g->name : "?";
    if (r->count == ROUTER_MAX_GROUPS) {
        log_error("router", "group %s: more than %d groups", name, ROUTER_MAX_GROUPS);
        return -E2BIG;
    }
    if (check_path(g->prefix, false, NULL) < 0) {
        log_error("router", "group %s: malformed prefix \"%s\"", name,
                  g->prefix ? g->prefix : "(null)");
        return -EINVAL;
    }
    if (g->count && !g->routes) {
        log_error("router", "group %s: %zu routes but no table", name, g->count);
        return -EINVAL;
    }
    const unsigned known = (1u << HTTP_OTHER) - 1;
    for (size_t i = 0; i < g->count; i++) {
        const struct route *rt = &g->routes[i];
        const char *pat = rt->pattern ? rt->pattern : "(null)";
        size_t np;
        if (check_path(rt->pattern, true, &np) < 0) {
            log_error("router", "group %s: malformed route pattern \"%s\"", name, pat);
            return -EINVAL;
        }
        if (!pattern_under(rt->pattern, g->prefix)) {
            log_error("router", "group %s: route \"%s\" is outside the prefix \"%s\"", name, pat,
                      g->prefix);
            return -EINVAL;
        }
        if (!rt->fn || rt->methods == 0 || (rt->methods & ~known)) {
            log_error("router", "group %s: route \"%s\" has no handler or bad methods %#x", name,
                      pat, rt->methods);
            return -EINVAL;
        }
    }
    r->groups[r->count++] = *g;
    return 0;
}

bool router_match(const struct router *r, enum http_method method, const char *const *segments,
                  size_t nseg, const struct http_request *req, struct route_match *m,
                  unsigned *allowed, const struct route_group **group)
{
    unsigned union_mask = 0;
    const struct route_group *cover = NULL;
    const unsigned want = method < HTTP_OTHER ? ROUTE_M(method) : 0;
    for (size_t gi = 0; gi < r->count; gi++) {
        const struct route_group *g = &r->groups[gi];
        if (!prefix_covers(g->prefix, segments, nseg))
            continue; /* every route of g lies under its prefix (router_add) */
        if (!cover)
            cover = g;
        for (size_t i = 0; i < g->count; i++) {
            const struct route *rt = &g->routes[i];
            struct route_match cand = {.route = rt, .ud = g->ud};
            if (!pattern_match(rt->pattern, segments, nseg, &cand))
                continue;
            if (rt->accept && !rt->accept(&cand, req))
                continue;
            unsigned eff = effective_methods(rt->methods);
            if (eff & want) {
                *m = cand;
                if (allowed)
                    *allowed = eff;
                if (group)
                    *group = g;
                return true;
            }
            union_mask |= eff;
        }
    }
    if (allowed)
        *allowed = union_mask;
    if (group)
        *group = cover;
    return false;
}

static void default_fallback(unsigned allowed, struct http_response *res)
{
    if (allowed) {
        char allow[80];
        router_allow_header(allowed, allow, sizeof(allow));
        http_response_header(res, "Allow", allow);
        http_response_text(res, 405, "text/plain", "method not allowed\n");
    } else {
        http_response_text(res, 404, "text/plain", "not found\n");
    }
}

void router_handle(struct http_request *req, struct http_response *res, void *ud)
{
    const struct router *r = ud;
    struct route_match m;
    unsigned allowed = 0;
    const struct route_group *g = NULL;
    if (router_match(r, req->method, req->segments, req->segment_count, req, &m, &allowed, &g)) {
        m.route->fn(&m, req, res);
        return;
    }
    if (!g) {
        default_fallback(allowed, res);
        return;
    }
    if (req->method == HTTP_OPTIONS && g->options) {
        g->options(g->ud, allowed, req, res);
        return;
    }
    if (g->fallback)
        g->fallback(g->ud, allowed, req, res);
    else
        default_fallback(allowed, res);
}

bool router_any_loop(const struct router *r, const struct http_request *req)
{
    struct route_match m;
    const struct route_group *g;
    return router_match(r, req->method, req->segments, req->segment_count, req, &m, NULL, &g) &&
           g->any_loop && g->any_loop(m.route);
}

void router_foreach(const struct router *r,
                    void (*fn)(const struct route_group *g, const struct route *rt, void *ctx),
                    void *ctx)
{
    for (size_t gi = 0; gi < r->count; gi++)
        for (size_t i = 0; i < r->groups[gi].count; i++)
            fn(&r->groups[gi], &r->groups[gi].routes[i], ctx);
}

void router_allow_header(unsigned methods, char *out, size_t outsz)
{
    static const char *const names[HTTP_OTHER] = {
        [HTTP_GET] = "GET",         [HTTP_HEAD] = "HEAD",     [HTTP_POST] = "POST",
        [HTTP_PUT] = "PUT",         [HTTP_DELETE] = "DELETE", [HTTP_PATCH] = "PATCH",
        [HTTP_OPTIONS] = "OPTIONS",
    };
    if (!outsz)
        return;
    out[0] = '\0';
    size_t used = 0;
    methods = effective_methods(methods);
    for (int i = 0; i < HTTP_OTHER; i++) {
        if (!(methods & ROUTE_M(i)))
            continue;
        size_t len = strlen(names[i]);
        size_t need = len + (used ? 2 : 0);
        if (used + need + 1 > outsz)
            break; /* a 64-byte buffer holds them all; never a torn name */
        if (used) {
            memcpy(out + used, ", ", 2);
            used += 2;
        }
        memcpy(out + used, names[i], len);
        used += len;
        out[used] = '\0';
    }
}
