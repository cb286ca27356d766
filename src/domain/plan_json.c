/*
 * domain/plan_json: see plan_json.h.
 */
#include "domain/plan_json.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "domain/credits.h"
#include "domain/line_json.h"

void dom_plan_json_free(struct dom_plan_json *j)
{
    json_decref(j->doc);
    j->doc = NULL;
}

static void get_opt_int(json_t *v, const char *key, bool *has, long long *out, long long null_as,
                        struct dom_error *e)
{
    if (json_is_integer(v)) {
        *has = true;
        *out = (long long)json_integer_value(v);
        if (*out == 0 && null_as == 0) /* 0 would read as null (clear) */
            dom_err_field(e, key, "range", "must be 1 or more (null: none)");
    } else if (json_is_null(v)) {
        *has = true;
        *out = null_as;
    } else {
        dom_err_field(e, key, "type", "must be an integer or null");
    }
}

static void get_outputs(json_t *v, struct dom_plan_json *j, struct dom_error *e)
{
    size_t i, len = 0;
    json_t *it;
    if (json_is_null(v)) {
        snprintf(j->outputs, sizeof(j->outputs), "ts,m3u8");
        j->in.outputs = j->outputs;
        return;
    }
    if (!json_is_array(v) || json_array_size(v) == 0) {
        dom_err_field(e, "allowed_outputs", "type", "must be a non-empty array of strings");
        return;
    }
    j->outputs[0] = '\0';
    json_array_foreach(v, i, it)
    {
        if (!json_is_string(it) || strchr(json_string_value(it), ',')) {
            char f[48];
            snprintf(f, sizeof(f), "allowed_outputs[%zu]", i);
            dom_err_field(e, f, "type", "must be a string without commas");
            return;
        }
        int w = snprintf(j->outputs + len, sizeof(j->outputs) - len, "%s%s", i ? "," : "",
                         json_string_value(it));
        if (w < 0 || (size_t)w >= sizeof(j->outputs) - len) {
            dom_err_field(e, "allowed_outputs", "too_long", "too many outputs");
            return;
        }
        len += (size_t)w;
    }
    j->in.outputs = j->outputs;
}

static const char *const plan_read_only[] = {"id", "created_at", "updated_at", NULL};

int dom_plan_from_json(const char *body, size_t len, struct dom_plan_json *out, struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    dom_plan_in_init(&out->in);
    if (len > DOM_JSON_BODY_MAX)
        return dom_err_set(e, 400, DOM_E_MALFORMED, "body larger than %d bytes", DOM_JSON_BODY_MAX);
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return dom_err_set(e, 400, DOM_E_MALFORMED, "not JSON: %s (line %d, column %d)", jerr.text,
                           jerr.line, jerr.column);
    out->doc = doc;
    if (!json_is_object(doc))
        return dom_err_set(e, 400, DOM_E_MALFORMED, "the body must be a JSON object");
    struct dom_plan_in *in = &out->in;
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        if (strcmp(key, "name") == 0) {
            if (json_is_string(v))
                in->name = json_string_value(v);
            else
                dom_err_field(e, key, "type", "must be a string");
        } else if (strcmp(key, "duration_days") == 0) {
            get_opt_int(v, key, &in->has_duration_days, &in->duration_days, 0, e);
        } else if (strcmp(key, "duration_months") == 0) {
            get_opt_int(v, key, &in->has_duration_months, &in->duration_months, 0, e);
        } else if (strcmp(key, "trial_hours") == 0) {
            get_opt_int(v, key, &in->has_trial_hours, &in->trial_hours, 0, e);
        } else if (strcmp(key, "max_connections") == 0) {
            get_opt_int(v, key, &in->has_max_connections, &in->max_connections, 1, e);
        } else if (strcmp(key, "allowed_outputs") == 0) {
            get_outputs(v, out, e);
        } else if (strcmp(key, "is_trial") == 0) {
            if (json_is_boolean(v))
                in->trial = json_is_true(v);
            else
                dom_err_field(e, key, "type", "must be true or false");
        } else if (strcmp(key, "bouquets") == 0) {
            in->has_bouquets = true;
            in->bouquets = out->bouquets;
            in->bouquet_ids = out->bouquet_ids;
            dom_json_bouquets(v, out->bouquets, out->bouquet_ids, &in->bouquet_count, e);
        } else if (strcmp(key, "credit_price") == 0) {
            in->has_credit_price = dom_credits_from_json(key, v, &in->credit_price, e) == 0;
        } else if (strcmp(key, "trial_price") == 0) {
            in->has_trial_price = dom_credits_from_json(key, v, &in->trial_price, e) == 0;
        } else if (strcmp(key, "reseller_group_ids") == 0) {
            size_t i;
            json_t *it;
            in->has_reseller_groups = true;
            in->reseller_group_ids = out->reseller_group_ids;
            if (json_is_null(v)) {
                in->reseller_group_count = 0;
            } else if (!json_is_array(v) || json_array_size(v) > DOM_PLAN_GROUPS_MAX) {
                dom_err_field(e, key, "type", "an array of at most %d group ids",
                              DOM_PLAN_GROUPS_MAX);
            } else {
                json_array_foreach(v, i, it)
                {
                    if (!json_is_integer(it)) {
                        char f[48];
                        snprintf(f, sizeof(f), "reseller_group_ids[%zu]", i);
                        dom_err_field(e, f, "type", "a reseller group id");
                        continue;
                    }
                    out->reseller_group_ids[in->reseller_group_count++] = json_integer_value(it);
                }
            }
        } else if (dom_json_read_only(key, plan_read_only)) {
            dom_err_field(e, key, "read_only", "is set by the server");
        } else {
            char f[48];
            snprintf(f, sizeof(f), "%.40s", *key ? key : "(empty name)");
            dom_err_field(e, f, "unknown", "unknown member");
        }
    }
    return e->status ? -EINVAL : 0;
}
