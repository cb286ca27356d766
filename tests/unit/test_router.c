/*
 * Unit tests for src/http/router.c: pattern validation at router_add, group
 * and route order, {parameters}, accept predicates, HEAD via GET, the allowed
 * mask behind 405s, which group's fallback answers, router_foreach and the
 * Allow header text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"

static void h_a(const struct route_match *m, struct http_request *req, struct http_response *res)
{
}
static void h_b(const struct route_match *m, struct http_request *req, struct http_response *res)
{
}

static bool accept_ts(const struct route_match *m, const struct http_request *req)
{
    size_t n = strlen(m->params[2]);
    return n > 3 && strcmp(m->params[2] + n - 3, ".ts") == 0;
}

static const struct route admin_routes[] = {
    {ROUTE_GET | ROUTE_POST, "/api/v1/lines", h_a, NULL, ROUTE_AUTH_ADMIN, "read", "List lines",
     "lines", NULL, NULL, 200, NULL},
    {ROUTE_GET | ROUTE_PATCH | ROUTE_DELETE, "/api/v1/lines/{id}", h_a, NULL, ROUTE_AUTH_ADMIN,
     NULL, NULL, NULL, NULL, NULL, 200, NULL},
    {ROUTE_POST, "/api/v1/lines/{id}/extend", h_b, NULL, ROUTE_AUTH_ADMIN, NULL, NULL, NULL, NULL,
     NULL, 200, NULL},
    /* Shadowed by the {id} route above for GET (table order), not for PUT. */
    {ROUTE_GET | ROUTE_PUT, "/api/v1/lines/count", h_b, NULL, ROUTE_AUTH_ADMIN, NULL, NULL, NULL,
     NULL, NULL, 200, NULL},
};

static const struct route client_routes[] = {
    {ROUTE_M(HTTP_GET), "/", h_a, NULL, ROUTE_AUTH_NONE, NULL, NULL, NULL, NULL, NULL, 200, NULL},
    {ROUTE_GET | ROUTE_POST, "/player_api.php", h_a, NULL, ROUTE_AUTH_LINE, NULL, NULL, NULL, NULL,
     NULL, 200, NULL},
    {ROUTE_GET, "/{user}/{pass}/{file}", h_b, accept_ts, ROUTE_AUTH_LINE, NULL, NULL, NULL, NULL,
     NULL, 200, NULL},
    {ROUTE_GET, "/live/{user}/{pass}/{file}", h_a, NULL, ROUTE_AUTH_LINE, NULL, NULL, NULL, NULL,
     NULL, 200, NULL},
    /* A client route whose pattern also covers an admin path (the admin
     * group, added first, owns it). */
    {ROUTE_DELETE, "/api/v1/{x}", h_b, NULL, ROUTE_AUTH_NONE, NULL, NULL, NULL, NULL, NULL, 200,
     NULL},
};

static int admin_ud, client_ud;
static void fb(void *ud, unsigned allowed, struct http_request *req, struct http_response *res)
{
}

/* The client group's routes that any loop may answer: those of h_b. */
static bool any_b(const struct route *rt)
{
    return rt->fn == h_b;
}

static struct router *build(void)
{
    struct router *r;
    assert_int_equal(router_new(&r), 0);
    struct route_group admin = {
        "admin",   "/api/v1", admin_routes, sizeof(admin_routes) / sizeof(admin_routes[0]),
        &admin_ud, fb,        NULL,         NULL};
    struct route_group client = {
        "client",   "/", client_routes, sizeof(client_routes) / sizeof(client_routes[0]),
        &client_ud, fb,  NULL,          any_b};
    assert_int_equal(router_add(r, &admin), 0);
    assert_int_equal(router_add(r, &client), 0);
    return r;
}

/* Splits "/a/b" into segments (non-empty ones, like the parser). */
struct segs {
    char buf[256];
    const char *seg[HTTP_MAX_SEGMENTS];
    size_t n;
};
static void split(struct segs *s, const char *path)
{
    snprintf(s->buf, sizeof(s->buf), "%s", path);
    s->n = 0;
    char *p = s->buf;
    while (*p) {
        while (*p == '/')
            *p++ = '\0';
        if (!*p)
            break;
        s->seg[s->n++] = p;
        while (*p && *p != '/')
            p++;
    }
}

static bool match(struct router *r, enum http_method method, const char *path,
                  struct route_match *m, unsigned *allowed, const struct route_group **g)
{
    struct segs s;
    split(&s, path);
    struct http_request req = {.method = method};
    return router_match(r, method, s.seg, s.n, &req, m, allowed, g);
}

static void test_literal_and_params(void **state)
{
    struct router *r = build();
    struct route_match m;
    unsigned allowed;
    const struct route_group *g;

    assert_true(match(r, HTTP_GET, "/api/v1/lines", &m, &allowed, &g));
    assert_ptr_equal(m.route, &admin_routes[0]);
    assert_ptr_equal(m.ud, &admin_ud);
    assert_string_equal(g->name, "admin");
    assert_int_equal(m.nparams, 0);

    assert_true(match(r, HTTP_PATCH, "/api/v1/lines/42", &m, &allowed, &g));
    assert_ptr_equal(m.route, &admin_routes[1]);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "42");

    assert_true(match(r, HTTP_POST, "/api/v1/lines/7/extend", &m, &allowed, &g));
    assert_ptr_equal(m.route, &admin_routes[2]);
    assert_string_equal(m.params[0], "7");

    /* A parameter is one decoded segment, whatever it holds. */
    const char *segs[] = {"api", "v1", "lines", "a/b c"};
    struct http_request req = {.method = HTTP_GET};
    assert_true(router_match(r, HTTP_GET, segs, 4, &req, &m, &allowed, &g));
    assert_string_equal(m.params[0], "a/b c");

    /* Segment counts must agree exactly; literals are case-sensitive. */
    assert_false(match(r, HTTP_GET, "/api/v1/lines/1/extend/x", &m, &allowed, &g));
    assert_false(match(r, HTTP_GET, "/API/v1/lines", &m, &allowed, &g));
    assert_false(match(r, HTTP_GET, "/api/v1/line", &m, &allowed, &g));
    router_free(r);
}

static void test_order(void **state)
{
    struct router *r = build();
    struct route_match m;
    unsigned allowed;
    const struct route_group *g;
    /* Table order: the {id} route comes first and takes GET /lines/count. */
    assert_true(match(r, HTTP_GET, "/api/v1/lines/count", &m, &allowed, &g));
    assert_ptr_equal(m.route, &admin_routes[1]);
    /* PUT only the later route takes. */
    assert_true(match(r, HTTP_PUT, "/api/v1/lines/count", &m, &allowed, &g));
    assert_ptr_equal(m.route, &admin_routes[3]);
    /* Group order: the client's DELETE /api/v1/{x} is reached only after the
     * admin group has no DELETE route for the path. */
    assert_true(match(r, HTTP_DELETE, "/api/v1/lines/9", &m, &allowed, &g));
    assert_ptr_equal(m.route, &admin_routes[1]);
    assert_true(match(r, HTTP_DELETE, "/api/v1/lines", &m, &allowed, &g));
    assert_ptr_equal(m.route, &client_routes[4]);
    assert_string_equal(g->name, "client");
    assert_string_equal(m.params[0], "lines");
    router_free(r);
}

static void test_head_and_root(void **state)
{
    struct router *r = build();
    struct route_match m;
    unsigned allowed;
    const struct route_group *g;
    /* "/" has zero segments; its route lists GET alone yet answers HEAD. */
    assert_true(match(r, HTTP_GET, "/", &m, &allowed, &g));
    assert_ptr_equal(m.route, &client_routes[0]);
    assert_true(match(r, HTTP_HEAD, "/", &m, &allowed, &g));
    assert_ptr_equal(m.route, &client_routes[0]);
    assert_true(match(r, HTTP_HEAD, "/api/v1/lines/3", &m, &allowed, &g));
    assert_ptr_equal(m.route, &admin_routes[1]);
    assert_false(match(r, HTTP_POST, "/", &m, &allowed, &g));
    assert_int_equal(allowed, ROUTE_GET);
    router_free(r);
}

static void test_accept(void **state)
{
    struct router *r = build();
    struct route_match m;
    unsigned allowed;
    const struct route_group *g;
    assert_true(match(r, HTTP_GET, "/u/p/123.ts", &m, &allowed, &g));
    assert_ptr_equal(m.route, &client_routes[2]);
    assert_int_equal(m.nparams, 3);
    assert_string_equal(m.params[0], "u");
    assert_string_equal(m.params[2], "123.ts");
    /* accept refuses: the route does not exist for this path, not even for
     * the allowed mask (a 404, not a 405). */
    assert_false(match(r, HTTP_GET, "/u/p/123.mp4", &m, &allowed, &g));
    assert_int_equal(allowed, 0);
    assert_string_equal(g->name, "client");
    assert_false(match(r, HTTP_POST, "/u/p/123.mp4", &m, &allowed, &g));
    assert_int_equal(allowed, 0);
    assert_false(match(r, HTTP_POST, "/u/p/123.ts", &m, &allowed, &g));
    assert_int_equal(allowed, ROUTE_GET);
    router_free(r);
}

static void test_allowed_and_fallback_group(void **state)
{
    struct router *r = build();
    struct route_match m;
    unsigned allowed;
    const struct route_group *g;
    /* Wrong method: the allowed mask names every method of matching routes. */
    assert_false(match(r, HTTP_POST, "/api/v1/lines/5", &m, &allowed, &g));
    assert_int_equal(allowed, ROUTE_GET | ROUTE_PATCH | ROUTE_DELETE);
    assert_string_equal(g->name, "admin");
    /* The union runs over groups: admin's GET|PATCH|DELETE on {id} and
     * client's DELETE /api/v1/{x} (two segments only, so not here) ... */
    assert_false(match(r, HTTP_PUT, "/api/v1/lines", &m, &allowed, &g));
    assert_int_equal(allowed, ROUTE_GET | ROUTE_POST | ROUTE_DELETE);
    /* ... and the first group whose prefix covers the path answers. */
    assert_string_equal(g->name, "admin");
    /* Nothing matches: 0, and the first covering group. */
    assert_false(match(r, HTTP_GET, "/api/v1/nothing/here", &m, &allowed, &g));
    assert_int_equal(allowed, 0);
    assert_string_equal(g->name, "admin");
    assert_false(match(r, HTTP_GET, "/nothing", &m, &allowed, &g));
    assert_int_equal(allowed, 0);
    assert_string_equal(g->name, "client");
    /* OPTIONS and unknown methods never match a route that does not list them. */
    assert_false(match(r, HTTP_OPTIONS, "/player_api.php", &m, &allowed, &g));
    assert_int_equal(allowed, ROUTE_GET | ROUTE_POST);
    assert_false(match(r, HTTP_OTHER, "/player_api.php", &m, &allowed, &g));
    assert_int_equal(allowed, ROUTE_GET | ROUTE_POST);
    router_free(r);
}

static void test_no_covering_group(void **state)
{
    struct router *r;
    assert_int_equal(router_new(&r), 0);
    struct route_group admin = {"admin", "/api/v1", admin_routes, 1, NULL, fb, NULL, NULL};
    assert_int_equal(router_add(r, &admin), 0);
    struct route_match m;
    unsigned allowed = 99;
    const struct route_group *g = (void *)1;
    assert_false(match(r, HTTP_GET, "/elsewhere", &m, &allowed, &g));
    assert_null(g);
    assert_int_equal(allowed, 0);
    /* A prefix covers whole segments only. */
    assert_false(match(r, HTTP_GET, "/api/v10/lines", &m, &allowed, &g));
    assert_null(g);
    router_free(r);
}

static void test_validation(void **state)
{
    static const char *const bad[] = {
        "",
        "api",
        "/a//b",
        "/a/",
        "/a/{}",
        "/a/{id",
        "/a/x{id}",
        "/a/{id}x",
        "/a/{i-d}",
        "/a/{i}{j}",
        "/a/b}",
        "/{a}/{b}/{c}/{d}/{e}/{f}/{g}",
        "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17",
    };
    struct router *r;
    assert_int_equal(router_new(&r), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct route rt = {.methods = ROUTE_GET, .pattern = bad[i], .fn = h_a};
        struct route_group g = {.name = "t", .prefix = "/", .routes = &rt, .count = 1};
        assert_int_equal(router_add(r, &g), -EINVAL);
    }
    /* A NULL pattern, no handler, no method, unknown method bits. */
    struct route rt = {.methods = ROUTE_GET, .pattern = NULL, .fn = h_a};
    struct route_group g = {.name = "t", .prefix = "/", .routes = &rt, .count = 1};
    assert_int_equal(router_add(r, &g), -EINVAL);
    rt = (struct route){.methods = ROUTE_GET, .pattern = "/a", .fn = NULL};
    assert_int_equal(router_add(r, &g), -EINVAL);
    rt = (struct route){.methods = 0, .pattern = "/a", .fn = h_a};
    assert_int_equal(router_add(r, &g), -EINVAL);
    rt = (struct route){.methods = ROUTE_M(HTTP_OTHER), .pattern = "/a", .fn = h_a};
    assert_int_equal(router_add(r, &g), -EINVAL);
    /* Prefixes: no parameters, no malformed ones; routes must lie under them. */
    rt = (struct route){.methods = ROUTE_GET, .pattern = "/api/v1/x", .fn = h_a};
    g.prefix = "/api/{v}";
    assert_int_equal(router_add(r, &g), -EINVAL);
    g.prefix = "/api/";
    assert_int_equal(router_add(r, &g), -EINVAL);
    g.prefix = NULL;
    assert_int_equal(router_add(r, &g), -EINVAL);
    g.prefix = "/api/v2";
    assert_int_equal(router_add(r, &g), -EINVAL);
    g.prefix = "/api/v1/x/y";
    assert_int_equal(router_add(r, &g), -EINVAL);
    g.prefix = "/api/v1/x";
    assert_int_equal(router_add(r, &g), 0);
    /* The sixth parameter is the last one allowed; "/" is a valid pattern. */
    struct route ok[] = {{.methods = ROUTE_GET, .pattern = "/{a}/{b}/{c}/{d}/{e}/{f}", .fn = h_a},
                         {.methods = ROUTE_GET, .pattern = "/", .fn = h_a}};
    struct route_group g2 = {.name = "ok", .prefix = "/", .routes = ok, .count = 2};
    assert_int_equal(router_add(r, &g2), 0);
    /* Past 32 groups. */
    for (int i = 2; i < 32; i++)
        assert_int_equal(router_add(r, &g2), 0);
    assert_int_equal(router_add(r, &g2), -E2BIG);
    router_free(r);
}

struct walk {
    const struct route *seen[16];
    const char *group[16];
    size_t n;
};
static void walk_fn(const struct route_group *g, const struct route *rt, void *ctx)
{
    struct walk *w = ctx;
    w->group[w->n] = g->name;
    w->seen[w->n++] = rt;
}

static void test_foreach(void **state)
{
    struct router *r = build();
    struct walk w = {0};
    router_foreach(r, walk_fn, &w);
    assert_int_equal(w.n, 9);
    assert_ptr_equal(w.seen[0], &admin_routes[0]);
    assert_ptr_equal(w.seen[3], &admin_routes[3]);
    assert_string_equal(w.group[3], "admin");
    assert_ptr_equal(w.seen[4], &client_routes[0]);
    assert_string_equal(w.group[8], "client");
    router_free(r);
}

static void test_allow_header(void **state)
{
    char out[64];
    router_allow_header(ROUTE_GET | ROUTE_POST, out, sizeof(out));
    assert_string_equal(out, "GET, HEAD, POST");
    router_allow_header(ROUTE_M(HTTP_GET), out, sizeof(out));
    assert_string_equal(out, "GET, HEAD");
    router_allow_header(ROUTE_DELETE | ROUTE_PATCH | ROUTE_PUT, out, sizeof(out));
    assert_string_equal(out, "PUT, DELETE, PATCH");
    router_allow_header(0, out, sizeof(out));
    assert_string_equal(out, "");
    router_allow_header(0x7f, out, sizeof(out));
    assert_string_equal(out, "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
    /* Too small: whole names only, always terminated. */
    router_allow_header(ROUTE_GET | ROUTE_POST, out, 12);
    assert_string_equal(out, "GET, HEAD");
    router_allow_header(ROUTE_GET, out, 3);
    assert_string_equal(out, "");
}

/* router_any_loop: the matched route's group decides; no match, or a group
 * without the predicate (admin), is loop 0's. */
static void test_any_loop(void **state)
{
    struct router *r = build();
    struct segs s;
    const char *yes[] = {"/u/p/1.ts"};
    const char *no[] = {"/player_api.php", "/u/p/1.mp4", "/api/v1/lines/count", "/nowhere/x"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        split(&s, yes[i]);
        struct http_request req = {.method = HTTP_GET, .segment_count = s.n};
        memcpy(req.segments, s.seg, sizeof(s.seg));
        assert_true(router_any_loop(r, &req));
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        split(&s, no[i]);
        struct http_request req = {.method = HTTP_GET, .segment_count = s.n};
        memcpy(req.segments, s.seg, sizeof(s.seg));
        assert_false(router_any_loop(r, &req));
    }
    router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_and_params),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_head_and_root),
        cmocka_unit_test(test_accept),
        cmocka_unit_test(test_allowed_and_fallback_group),
        cmocka_unit_test(test_no_covering_group),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_foreach),
        cmocka_unit_test(test_allow_header),
        cmocka_unit_test(test_any_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
