#include "domain/reseller_json.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "domain/credits.h"
#include "domain/line_json.h"

static int load_object(const char *body, size_t len, json_t **doc, struct dom_error *e)
{
    *doc = NULL;
    if (len > DOM_JSON_BODY_MAX)
        return dom_err_set(e, 400, DOM_E_MALFORMED, "body larger than %d bytes", DOM_JSON_BODY_MAX);
    json_error_t jerr;
    json_t *d = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!d)
        return dom_err_set(e, 400, DOM_E_MALFORMED, "not JSON: %s (line %d, column %d)", jerr.text,
                           jerr.line, jerr.column);
    if (!json_is_object(d)) {
        json_decref(d);
        return dom_err_set(e, 400, DOM_E_MALFORMED, "the body must be a JSON object");
    }
    *doc = d;
    return 0;
}

/* A refused member, named (an empty name would give a field error without a
 * field: fuzz_reseller_json found it). */
static void refuse(struct dom_error *e, const char *k, const char *code, const char *msg)
{
    char f[48];
    snprintf(f, sizeof(f), "%.40s", *k ? k : "(empty name)");
    dom_err_field(e, f, code, "%s", msg);
}

static bool known(const char *k, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(k, names[i]) == 0)
            return true;
    return false;
}

/* A string member (null: *out NULL with *has true when null_ok). */
static void get_str(json_t *v, const char *k, const char **out, bool null_ok, struct dom_error *e)
{
    if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
        *out = json_string_value(v);
    else if (!(null_ok && json_is_null(v)))
        dom_err_field(e, k, "type", "must be a string");
}

static void get_id(json_t *v, const char *k, bool null_ok, bool *has, int64_t *out,
                   struct dom_error *e)
{
    if (json_is_integer(v) && json_integer_value(v) >= 1) {
        *has = true;
        *out = json_integer_value(v);
    } else if (null_ok && json_is_null(v)) {
        *has = true;
        *out = 0;
    } else {
        dom_err_field(e, k, "type",
                      null_ok ? "must be an id (integer >= 1) or null"
                              : "must be an id (integer >= 1)");
    }
}

static void get_bool(json_t *v, const char *k, int *out, struct dom_error *e)
{
    if (json_is_boolean(v))
        *out = json_is_true(v) ? 1 : 0;
    else
        dom_err_field(e, k, "type", "must be true or false");
}

int dom_reseller_from_json(const char *body, size_t len, bool create, struct dom_reseller_json *out,
                           struct dom_error *e)
{
    static const char *const ro[] = {"id",
                                     "balance",
                                     "group",
                                     "lines",
                                     "active_lines",
                                     "subresellers",
                                     "created_at",
                                     "may_create_subresellers",
                                     "trial_limit",
                                     "trial_period_hours",
                                     NULL};
    memset(out, 0, sizeof(*out));
    dom_reseller_in_init(&out->in);
    json_t *doc;
    int rc = load_object(body, len, &doc, e);
    if (rc)
        return rc;
    out->doc = doc;
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        if (strcmp(k, "username") == 0)
            get_str(v, k, &out->in.username, false, e);
        else if (strcmp(k, "password") == 0)
            get_str(v, k, &out->in.password, create, e);
        else if (strcmp(k, "parent_id") == 0)
            get_id(v, k, true, &out->in.has_parent_id, &out->in.parent_id, e);
        else if (strcmp(k, "group_id") == 0)
            get_id(v, k, false, &out->in.has_group_id, &out->in.group_id, e);
        else if (strcmp(k, "username_prefix") == 0)
            get_str(v, k, &out->in.username_prefix, false, e);
        else if (strcmp(k, "notes") == 0)
            get_str(v, k, &out->in.notes, false, e);
        else if (strcmp(k, "disabled") == 0)
            get_bool(v, k, &out->in.disabled, e);
        else if (known(k, ro))
            dom_err_field(e, k, "read_only", "is computed%s",
                          strcmp(k, "balance") == 0 ? " (move credits with /transfer or /credits)"
                                                    : "");
        else
            refuse(e, k, "unknown", "is not a member of a reseller");
    }
    if (!create && out->in.password)
        dom_err_field(e, "password", "read_only", "a password changes through /admins");
    if (create && !out->in.username)
        dom_err_field(e, "username", "required", "a reseller needs a username");
    return e->status ? -EINVAL : 0;
}

void dom_reseller_json_free(struct dom_reseller_json *j)
{
    json_decref(j->doc);
    j->doc = NULL;
}

static void get_int_range(json_t *v, const char *k, bool *has, int64_t *out, struct dom_error *e)
{
    if (json_is_integer(v)) {
        *has = true;
        *out = json_integer_value(v);
    } else {
        dom_err_field(e, k, "type", "must be an integer");
    }
}

int dom_group_from_json(const char *body, size_t len, bool create, struct dom_group_json *out,
                        struct dom_error *e)
{
    static const char *const ro[] = {"id", "resellers", "plan_ids", NULL};
    memset(out, 0, sizeof(*out));
    dom_group_in_init(&out->in);
    json_t *doc;
    int rc = load_object(body, len, &doc, e);
    if (rc)
        return rc;
    out->doc = doc;
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        if (strcmp(k, "name") == 0)
            get_str(v, k, &out->in.name, false, e);
        else if (strcmp(k, "trial_limit") == 0)
            get_int_range(v, k, &out->in.has_trial_limit, &out->in.trial_limit, e);
        else if (strcmp(k, "trial_period_hours") == 0)
            get_int_range(v, k, &out->in.has_trial_period_hours, &out->in.trial_period_hours, e);
        else if (strcmp(k, "may_create_subresellers") == 0)
            get_bool(v, k, &out->in.may_create_subresellers, e);
        else if (known(k, ro))
            dom_err_field(e, k, "read_only", "is computed");
        else
            refuse(e, k, "unknown", "is not a member of a reseller group");
    }
    if (create && !out->in.name)
        dom_err_field(e, "name", "required", "a group needs a name");
    return e->status ? -EINVAL : 0;
}

void dom_group_json_free(struct dom_group_json *j)
{
    json_decref(j->doc);
    j->doc = NULL;
}

int dom_credit_move_from_json(const char *body, size_t len, struct dom_credit_move_json *out,
                              struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    json_t *doc;
    int rc = load_object(body, len, &doc, e);
    if (rc)
        return rc;
    out->doc = doc;
    bool has_amount = false;
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        if (strcmp(k, "amount") == 0) {
            has_amount = true;
            dom_credits_from_json("amount", v, &out->amount, e);
        } else if (strcmp(k, "reason") == 0) {
            get_str(v, k, &out->reason, true, e);
        } else {
            refuse(e, k, "unknown", "a credit move has amount and reason");
        }
    }
    if (!has_amount)
        dom_err_field(e, "amount", "required", "give the amount, e.g. \"12.5\"");
    return e->status ? -EINVAL : 0;
}

void dom_credit_move_json_free(struct dom_credit_move_json *j)
{
    json_decref(j->doc);
    j->doc = NULL;
}

int dom_reseller_extend_from_json(const char *body, size_t len, int64_t *plan_id,
                                  struct dom_error *e)
{
    *plan_id = 0;
    json_t *doc;
    int rc = load_object(body, len, &doc, e);
    if (rc)
        return rc;
    bool has = false;
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        if (strcmp(k, "plan_id") == 0)
            get_id(v, k, false, &has, plan_id, e);
        else
            refuse(e, k, "forbidden", "a reseller extends a line with {\"plan_id\": N}");
    }
    json_decref(doc);
    if (!has && !e->status)
        dom_err_field(e, "plan_id", "required", "a reseller extends a line with a plan");
    return e->status ? -EINVAL : 0;
}
