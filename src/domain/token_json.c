/*
 * domain/token_json: see token_json.h.
 */
#include "domain/token_json.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "domain/time.h"

void dom_token_json_free(struct dom_token_json *j)
{
    json_decref(j->doc);
    j->doc = NULL;
}

static void get_scopes(json_t *v, struct dom_token_in *in, struct dom_error *e)
{
    const char *names[DOM_TOKEN_JSON_SCOPES_MAX];
    size_t i;
    json_t *it;
    if (!json_is_array(v)) {
        dom_err_field(e, "scopes", "type", "must be an array of scope names");
        return;
    }
    if (json_array_size(v) > DOM_TOKEN_JSON_SCOPES_MAX) {
        dom_err_field(e, "scopes", "too_long", "at most %d scopes", DOM_TOKEN_JSON_SCOPES_MAX);
        return;
    }
    json_array_foreach(v, i, it)
    {
        if (!json_is_string(it)) {
            char f[48];
            snprintf(f, sizeof(f), "scopes[%zu]", i);
            dom_err_field(e, f, "type", "must be a string");
            return;
        }
        names[i] = json_string_value(it);
    }
    /* [] is left to dom_token_validate, which names it "required". */
    if (json_array_size(v))
        dom_scopes_parse(names, json_array_size(v), &in->scopes, e);
}

int dom_token_from_json(const char *body, size_t len, struct dom_token_json *out,
                        struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    if (len > DOM_TOKEN_JSON_MAX)
        return dom_err_set(e, 400, DOM_E_MALFORMED, "body larger than %d bytes",
                           DOM_TOKEN_JSON_MAX);
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return dom_err_set(e, 400, DOM_E_MALFORMED, "not JSON: %s (line %d, column %d)", jerr.text,
                           jerr.line, jerr.column);
    out->doc = doc;
    if (!json_is_object(doc))
        return dom_err_set(e, 400, DOM_E_MALFORMED, "the body must be a JSON object");
    struct dom_token_in *in = &out->in;
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        if (strcmp(key, "name") == 0) {
            if (json_is_string(v))
                in->name = json_string_value(v);
            else
                dom_err_field(e, key, "type", "must be a string");
        } else if (strcmp(key, "scopes") == 0) {
            get_scopes(v, in, e);
        } else if (strcmp(key, "expires_at") == 0) {
            if (json_is_null(v)) {
                in->expires_at = 0; /* never */
            } else if (json_is_string(v)) {
                dom_parse_time(key, json_string_value(v), &in->expires_at, e);
            } else {
                dom_err_field(e, key, "type", "must be an RFC 3339 time or null");
            }
        } else {
            char f[48];
            snprintf(f, sizeof(f), "%.40s", *key ? key : "(empty name)");
            dom_err_field(e, f, "unknown", "unknown member");
        }
    }
    return e->status ? -EINVAL : 0;
}
