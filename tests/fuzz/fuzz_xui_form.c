/* libFuzzer target for the XUI shim's request parsing (src/xui/form.c) and
 * the rule of its path setting (domain/xui_path.c): the input is a query
 * string, a newline, and a form body read as url-encoded (as a POST without a
 * Content-Type is). The form is turned into a create_line and an edit_line
 * input, the id lists are read, and the first line is checked as a path.
 * Must never crash, leak or read out of bounds; every refusal is a 422 with
 * named fields, and what was accepted must pass the line domain's checks
 * without crashing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/xui_path.h"
#include "http/query.h"
#include "xui/xui.h"

static void check_error(const struct dom_error *e)
{
    if (e->status != 422 || !e->code || e->nfields == 0 || e->nfields > DOM_MAX_FIELD_ERRORS)
        abort();
    for (size_t i = 0; i < e->nfields; i++)
        if (!e->fields[i].field[0] || !e->fields[i].code[0] || !e->fields[i].message[0])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t qlen = nl ? (size_t)(nl - s) : size;
    const char *body = nl ? nl + 1 : NULL;
    size_t blen = nl ? size - qlen - 1 : 0;

    /* The first line as a path setting. */
    char *path = malloc(qlen + 1);
    if (!path)
        return 0;
    memcpy(path, s, qlen);
    path[qlen] = '\0';
    struct dom_error e;
    dom_error_reset(&e);
    if (strlen(path) == qlen && dom_xui_path_check("xui_api_path", path, &e) != 0)
        check_error(&e);
    free(path);

    struct http_params q = {0};
    if (http_params_parse_urlencoded(&q, s, qlen) != 0) {
        http_params_free(&q);
        return 0;
    }
    struct xui_form f;
    const char *why;
    if (xui_form_parse(&f, &q, body, blen, &why) != 0) {
        if (!why)
            abort();
        xui_form_free(&f);
        http_params_free(&q);
        return 0;
    }
    static struct xui_line_req r;
    for (int create = 0; create < 2; create++) {
        dom_error_reset(&e);
        if (xui_line_from_form(&f, create, &r, &e) != 0) {
            check_error(&e);
            continue;
        }
        if (e.status)
            abort();
        if (r.in.has_bouquets && r.in.bouquet_count > DOM_LINE_BOUQUETS_MAX)
            abort();
        dom_line_validate(&r.in, create, &e);
    }
    int64_t ids[16];
    size_t n;
    bool has;
    dom_error_reset(&e);
    if (xui_form_ids(&f, "bouquets_selected", ids, 16, &n, &has, &e) != 0)
        check_error(&e);
    else if (n > 16 || (n && !has))
        abort();
    (void)xui_form_get(&f, "action");
    xui_form_free(&f);
    http_params_free(&q);
    return 0;
}
