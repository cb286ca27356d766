/*
 * Unit tests for the XUI shim's pure parts: src/xui/form.c (the form, id
 * lists in every PHP form, the line translation and its omitted-field rule)
 * and domain/xui_path.c (the rule of the setting xui_api_path).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "domain/xui_path.h"
#include "http/query.h"
#include "xui/xui.h"

/* A form from a query string and an unread body (NULL: none). */
static void form_of(struct xui_form *f, const char *query, const char *body)
{
    struct http_params q = {0};
    assert_int_equal(http_params_parse_urlencoded(&q, query, strlen(query)), 0);
    const char *why;
    assert_int_equal(xui_form_parse(f, &q, body, body ? strlen(body) : 0, &why), 0);
    http_params_free(&q);
}

static void test_form_body_wins(void **state)
{
    (void)state;
    struct xui_form f;
    form_of(&f, "action=get_line&id=1&api_key=k", "id=2&notes=a+b");
    assert_string_equal(xui_form_get(&f, "id"), "2");
    assert_string_equal(xui_form_get(&f, "action"), "get_line");
    assert_string_equal(xui_form_get(&f, "notes"), "a b");
    assert_null(xui_form_get(&f, "nothing"));
    xui_form_free(&f);
}

static void expect_ids(const char *query, const int64_t *want, size_t n, bool has)
{
    struct xui_form f;
    form_of(&f, query, NULL);
    int64_t ids[8];
    size_t got;
    bool h;
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(xui_form_ids(&f, "b", ids, 8, &got, &h, &e), 0);
    assert_int_equal(h, has);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], want[i]);
    xui_form_free(&f);
}

static void expect_ids_bad(const char *query, const char *code)
{
    struct xui_form f;
    form_of(&f, query, NULL);
    int64_t ids[2];
    size_t got;
    bool h;
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(xui_form_ids(&f, "b", ids, 2, &got, &h, &e), -EINVAL);
    assert_int_equal(e.status, 422);
    assert_string_equal(e.fields[0].field, "b");
    assert_string_equal(e.fields[0].code, code);
    xui_form_free(&f);
}

static void test_id_lists(void **state)
{
    (void)state;
    const int64_t v[] = {3, 1};
    expect_ids("b%5B%5D=3&b%5B%5D=1", v, 2, true);   /* b[]=3&b[]=1 */
    expect_ids("b%5B0%5D=3&b%5B1%5D=1", v, 2, true); /* b[0]=3&b[1]=1 */
    expect_ids("b=%5B3%2C1%5D", v, 2, true);         /* b=[3,1] */
    expect_ids("b=3,1", v, 2, true);
    expect_ids("b=%5B%223%22,%201%5D", v, 2, true); /* b=["3", 1] */
    expect_ids("b=", v, 0, true);                   /* the empty list */
    expect_ids("b=%5B%5D", v, 0, true);
    expect_ids("bb=1&b2=4", v, 0, false); /* other keys */
    expect_ids_bad("b=1,x", "format");
    expect_ids_bad("b=0", "format");
    expect_ids_bad("b=-1", "format");
    expect_ids_bad("b=1,", "format");
    expect_ids_bad("b=%5B1", "format");
    expect_ids_bad("b=1,2,3", "too_many");
}

static void test_line_create(void **state)
{
    (void)state;
    struct xui_form f;
    form_of(&f, "action=create_line",
            "username=u1&password=p1&max_connections=3&exp_date=2030-01-01+10%3A30&"
            "bouquets_selected%5B%5D=5&bouquets_selected%5B%5D=2&admin_notes=vip&"
            "is_trial=0&enabled=1&admin_enabled=0&access_output=2,3&contact=x&package=7&trial=1");
    static struct xui_line_req r;
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(xui_line_from_form(&f, true, &r, &e), 0);
    assert_string_equal(r.in.username, "u1");
    assert_string_equal(r.in.password, "p1");
    assert_true(r.in.has_max_connections);
    assert_int_equal(r.in.max_connections, 3);
    assert_string_equal(r.in.exp_date_text, "2030-01-01T10:30:00Z");
    assert_true(r.in.has_bouquets);
    assert_int_equal(r.in.bouquet_count, 2);
    assert_int_equal(r.in.bouquet_ids[0], 5);
    assert_null(r.in.bouquets[0]);
    assert_string_equal(r.in.notes, "vip");
    assert_int_equal(r.in.trial, 0);
    assert_int_equal(r.in.enabled, 1);
    assert_int_equal(r.in.banned, 1);
    assert_string_equal(r.in.outputs, "ts");
    assert_true(r.has_package);
    assert_int_equal(r.package_id, 7);
    assert_true(r.trial);
    assert_int_equal(dom_line_validate(&r.in, true, &e), 0);
    xui_form_free(&f);
}

static void test_line_edit_omits(void **state)
{
    (void)state;
    struct xui_form f;
    form_of(&f, "action=edit_line&id=4&exp_date=1924992000&password=", NULL);
    static struct xui_line_req r;
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(xui_line_from_form(&f, false, &r, &e), 0);
    /* Only the expiry is given; everything else stays "not given". */
    assert_true(r.in.has_exp_date);
    assert_int_equal(r.in.exp_date, 1924992000);
    assert_null(r.in.username);
    assert_null(r.in.password); /* "" keeps the password */
    assert_false(r.in.has_max_connections);
    assert_false(r.in.has_bouquets);
    assert_null(r.in.notes);
    assert_null(r.in.outputs);
    assert_null(r.in.message);
    assert_int_equal(r.in.trial, -1);
    assert_int_equal(r.in.enabled, -1);
    assert_int_equal(r.in.banned, -1);
    assert_false(r.has_package);
    xui_form_free(&f);
    /* no_expire wins over exp_date; "" is never too. */
    form_of(&f, "exp_date=2030-01-01&no_expire=1", NULL);
    assert_int_equal(xui_line_from_form(&f, false, &r, &e), 0);
    assert_true(r.in.has_exp_date);
    assert_int_equal(r.in.exp_date, 0);
    assert_null(r.in.exp_date_text);
    xui_form_free(&f);
}

static void test_line_bad_fields(void **state)
{
    (void)state;
    struct xui_form f;
    form_of(&f,
            "max_connections=many&enabled=maybe&access_output=9&package=x&exp_date=9999999999999",
            NULL);
    static struct xui_line_req r;
    struct dom_error e;
    dom_error_reset(&e);
    assert_int_equal(xui_line_from_form(&f, true, &r, &e), -EINVAL);
    assert_int_equal(e.status, 422);
    const char *want[] = {"max_connections", "exp_date", "enabled", "access_output", "package"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        bool found = false;
        for (size_t k = 0; k < e.nfields; k++)
            found = found || strcmp(e.fields[k].field, want[i]) == 0;
        assert_true(found);
    }
    xui_form_free(&f);
}

static void expect_path(const char *path, const char *code)
{
    struct dom_error e;
    dom_error_reset(&e);
    int rc = dom_xui_path_check("xui_api_path", path, &e);
    if (!code) {
        assert_int_equal(rc, 0);
        assert_int_equal(e.status, 0);
        return;
    }
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(e.fields[0].field, "xui_api_path");
    assert_string_equal(e.fields[0].code, code);
}

static void test_path_rule(void **state)
{
    (void)state;
    expect_path("", NULL);
    expect_path("/billing-8f3a9c2e71d4/api.php", NULL);
    expect_path("/aaaaaaaaaaaaaaa", NULL);
    expect_path("/a/b/c/d-xxxxxxxxxx", NULL);
    expect_path("/aaaaaaaaaaa/bbbbbbbbbbb/x123", NULL);
    expect_path("billing-8f3a9c2e71d4", "format");
    expect_path("/aaaaaaaaaaaaaa", "too_short");
    expect_path(
        "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "too_long");
    expect_path("/aaaaaaaaaaaaaaaaaa/", "format");
    expect_path("/aaaaaaaa//bbbbbbbbbb", "format");
    expect_path("/aaaaaaaa/../bbbbbbbbbb", "format");
    expect_path("/aaaaaaaa/./bbbbbbbbbb", "format");
    expect_path("/a/b/c/d/eeeeeeeeeeeeeee", "format");
    expect_path("/aaaaaaaa%20bbbbbbbbb", "charset");
    expect_path("/aaaaaaaa?bbbbbbbbbbb", "charset");
    expect_path("/LIVE/aaaaaaaaaaaaaaaaa", "reserved");
    expect_path("/player_api.php/xxxxxxxxx", "reserved");
    expect_path("/api/v1/xxxxxxxxxxxxxx", "reserved");
    expect_path("/c/xxxxxxxxxxxxxxxxxxxxxxx", "reserved");
    expect_path("/aaaaaaaaaaa/bbbbbbbbbbb/123", "reserved");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_body_wins),  cmocka_unit_test(test_id_lists),
        cmocka_unit_test(test_line_create),     cmocka_unit_test(test_line_edit_omits),
        cmocka_unit_test(test_line_bad_fields), cmocka_unit_test(test_path_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
