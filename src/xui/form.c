/*
 * xui/form.c: the request's fields and their translation into a line input
 * (see xui.h). Pure: no database, no I/O (tests/fuzz/fuzz_xui_form.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/query.h"
#include "xui/xui.h"

int xui_form_parse(struct xui_form *f, const struct http_params *params, const char *body,
                   size_t len, const char **why)
{
    memset(f, 0, sizeof(*f));
    *why = NULL;
    int rc = 0;
    for (size_t i = 0; params && i < params->count && rc == 0; i++)
        rc = http_params_add(&f->p, params->items[i].key, strlen(params->items[i].key),
                             params->items[i].value, strlen(params->items[i].value));
    if (rc == 0 && body && len) {
        struct http_params b = {0};
        rc = http_params_parse_urlencoded(&b, body, len);
        if (rc == 0)
            rc = http_params_overlay(&f->p, &b); /* the body's fields win, as in $_REQUEST */
        http_params_free(&b);
    }
    if (rc)
        *why = rc == -E2BIG    ? "too many parameters"
               : rc == -ENOMEM ? "out of memory"
                               : "the form is malformed";
    return rc;
}

void xui_form_free(struct xui_form *f)
{
    http_params_free(&f->p);
}

const char *xui_form_get(const struct xui_form *f, const char *key)
{
    return http_param_get(&f->p, key);
}

/* s as a positive id (decimal, no sign, no spaces around). */
static bool parse_id(const char *s, size_t n, int64_t *out)
{
    while (n && (*s == ' ' || *s == '"')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '"'))
        n--;
    if (n == 0 || n > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v <= 0)
        return false;
    *out = v;
    return true;
}

static int add_id(const char *key, const char *s, size_t len, int64_t *ids, size_t cap, size_t *n,
                  struct dom_error *e)
{
    int64_t v;
    if (!parse_id(s, len, &v))
        return dom_err_field(e, key, "format", "'%.*s' is not a positive id",
                             (int)(len > 40 ? 40 : len), s);
    if (*n == cap)
        return dom_err_field(e, key, "too_many", "at most %zu ids", cap);
    ids[(*n)++] = v;
    return 0;
}

/* "1,2" or "[1,2]" (JSON text); "" and "[]" are the empty list. */
static int split_ids(const char *key, const char *s, int64_t *ids, size_t cap, size_t *n,
                     struct dom_error *e)
{
    size_t len = strlen(s);
    while (len && s[len - 1] == ' ')
        len--;
    while (len && *s == ' ') {
        s++;
        len--;
    }
    if (len && s[0] == '[') {
        if (s[len - 1] != ']')
            return dom_err_field(e, key, "format", "a JSON list must end with ]");
        s++;
        len -= 2;
    }
    const char *end = s + len;
    while (s < end) {
        const char *c = memchr(s, ',', (size_t)(end - s));
        size_t k = c ? (size_t)(c - s) : (size_t)(end - s);
        if (add_id(key, s, k, ids, cap, n, e))
            return -EINVAL;
        s += k + (c ? 1 : 0);
        if (c && s == end)
            return dom_err_field(e, key, "format", "a list must not end with ','");
    }
    return 0;
}

int xui_form_ids(const struct xui_form *f, const char *key, int64_t *ids, size_t cap, size_t *n,
                 bool *has, struct dom_error *e)
{
    *n = 0;
    *has = false;
    size_t klen = strlen(key);
    const char *plain = xui_form_get(f, key);
    if (plain) {
        *has = true;
        return split_ids(key, plain, ids, cap, n, e);
    }
    /* key[] and key[N] (PHP's array forms), in the order sent. */
    for (size_t i = 0; i < f->p.count; i++) {
        const char *k = f->p.items[i].key;
        if (strncmp(k, key, klen) != 0 || k[klen] != '[')
            continue;
        const char *close = strchr(k + klen, ']');
        if (!close || close[1] != '\0')
            continue;
        *has = true;
        const char *v = f->p.items[i].value;
        if (add_id(key, v, strlen(v), ids, cap, n, e))
            return -EINVAL;
    }
    return 0;
}

/* A 0/1 flag: 0, 1, true, false, on, off, yes, no. -1 absent, -2 bad. */
static int flag(const struct xui_form *f, const char *key, struct dom_error *e)
{
    const char *v = xui_form_get(f, key);
    if (!v)
        return -1;
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcasecmp(v, "yes"))
        return 1;
    if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
        !strcasecmp(v, "no") || !strcmp(v, ""))
        return 0;
    dom_err_field(e, key, "format", "must be 0 or 1");
    return -2;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* exp_date as XUI clients send it: Unix seconds, YYYY-MM-DD, or
 * "YYYY-MM-DD HH:MM[:SS]" (UTC); "" / "0" / "null": never. */
static void exp_date(const char *v, struct xui_line_req *r, struct dom_error *e)
{
    struct dom_line_in *in = &r->in;
    size_t n = strlen(v);
    if (n == 0 || !strcmp(v, "0") || !strcasecmp(v, "null")) {
        in->has_exp_date = true;
        in->exp_date = 0;
        return;
    }
    if (all_digits(v)) {
        if (n > 12) {
            dom_err_field(e, "exp_date", "range", "Unix seconds out of range");
            return;
        }
        in->has_exp_date = true;
        in->exp_date = strtoll(v, NULL, 10);
        return;
    }
    if (n >= sizeof(r->exp_text)) {
        dom_err_field(e, "exp_date", "format", "a date is YYYY-MM-DD [HH:MM[:SS]] or Unix seconds");
        return;
    }
    snprintf(r->exp_text, sizeof(r->exp_text), "%s", v);
    /* "YYYY-MM-DD HH:MM[:SS]" -> RFC 3339 UTC, which domain/time.c reads. */
    if (n == 16 || n == 19) {
        if (r->exp_text[10] == ' ')
            r->exp_text[10] = 'T';
        if (n == 16)
            snprintf(r->exp_text + 16, sizeof(r->exp_text) - 16, ":00Z");
        else
            snprintf(r->exp_text + 19, sizeof(r->exp_text) - 19, "Z");
    }
    in->exp_date_text = r->exp_text;
}

static void number(const struct xui_form *f, const char *key, bool *has, long long *out,
                   struct dom_error *e)
{
    const char *v = xui_form_get(f, key);
    if (!v)
        return;
    if (!all_digits(v) || strlen(v) > 12) {
        dom_err_field(e, key, "format", "must be a non-negative integer");
        return;
    }
    *has = true;
    *out = strtoll(v, NULL, 10);
}

int xui_line_from_form(const struct xui_form *f, bool create, struct xui_line_req *r,
                       struct dom_error *e)
{
    memset(r, 0, sizeof(*r));
    struct dom_line_in *in = &r->in;
    dom_line_in_init(in);
    const char *v;
    if ((v = xui_form_get(f, "username")) && (create || *v))
        in->username = v; /* an edit that repeats the username is refused by the domain */
    if ((v = xui_form_get(f, "password")) && *v)
        in->password = v; /* "" keeps (create: generates), as XUI's forms do */
    number(f, "max_connections", &in->has_max_connections, &in->max_connections, e);
    if ((v = xui_form_get(f, "exp_date")))
        exp_date(v, r, e);
    int x = flag(f, "no_expire", e);
    if (x == 1) {
        in->has_exp_date = true;
        in->exp_date = 0;
        in->exp_date_text = NULL;
    }
    if ((x = flag(f, "is_trial", e)) >= 0)
        in->trial = x;
    if ((x = flag(f, "trial", e)) >= 0)
        r->trial = x == 1;
    if ((x = flag(f, "enabled", e)) >= 0)
        in->enabled = x;
    if ((x = flag(f, "admin_enabled", e)) >= 0)
        in->banned = !x;
    size_t n = 0;
    bool has = false;
    const char *bkey = xui_form_get(f, "bouquets_selected") || !xui_form_get(f, "bouquet")
                           ? "bouquets_selected"
                           : "bouquet";
    if (xui_form_ids(f, bkey, r->bouquet_ids, DOM_LINE_BOUQUETS_MAX, &n, &has, e) == 0 && has) {
        in->has_bouquets = true;
        in->bouquets = r->bouquet_names;
        in->bouquet_ids = r->bouquet_ids;
        in->bouquet_count = n;
    }
    int64_t outs[8];
    if (xui_form_ids(f, "access_output", outs, 8, &n, &has, e) == 0 && has) {
        bool hls = false, ts = false;
        for (size_t i = 0; i < n; i++) {
            if (outs[i] == 1)
                hls = true;
            else if (outs[i] == 2)
                ts = true;
            else if (outs[i] != 3) /* RTMP: not served here, left out */
                dom_err_field(e, "access_output", "unknown",
                              "outputs are 1 (HLS), 2 (MPEG-TS) or 3 (RTMP, ignored)");
        }
        snprintf(r->outputs, sizeof(r->outputs), "%s%s%s", ts ? "ts" : "", ts && hls ? "," : "",
                 hls ? "m3u8" : "");
        if (!r->outputs[0])
            dom_err_field(e, "access_output", "required", "give 1 (HLS) and/or 2 (MPEG-TS)");
        else
            in->outputs = r->outputs;
    }
    if ((v = xui_form_get(f, "admin_notes")) || (v = xui_form_get(f, "reseller_notes")) ||
        (v = xui_form_get(f, "notes")))
        in->notes = v;
    if ((v = xui_form_get(f, "message")))
        in->message = v;
    if ((v = xui_form_get(f, "package")) || (v = xui_form_get(f, "package_id"))) {
        if (!parse_id(v, strlen(v), &r->package_id))
            dom_err_field(e, "package", "format", "must be a package (plan) id");
        else
            r->has_package = true;
    }
    return e->status ? -EINVAL : 0;
}
