/*
 * domain/plans: see plans.h.
 */
#include "domain/plans.h"

#include "db/resellers.h"
#include "domain/credits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "domain/lines.h"
#include "domain/text.h"
#include "domain/time.h"

void dom_plan_in_init(struct dom_plan_in *in)
{
    memset(in, 0, sizeof(*in));
    in->trial = -1;
}

static void check_range(const char *field, bool has, long long v, long long max,
                        struct dom_error *e)
{
    /* 0 with has is JSON null (clear), allowed. */
    if (has && v != 0 && (v < 1 || v > max))
        dom_err_field(e, field, "range", "must be 1-%lld (null: none), got %lld", max, v);
}

static int check_in(const struct dom_plan_in *in, bool create, char *outputs, size_t outsz,
                    struct dom_error *e)
{
    if (create && !in->name)
        dom_err_field(e, "name", "required", "is required");
    else if (in->name)
        dom_check_text("name", in->name, DOM_PLAN_NAME_MAX, false, e);
    check_range("duration_days", in->has_duration_days, in->duration_days, DOM_PLAN_DAYS_MAX, e);
    check_range("duration_months", in->has_duration_months, in->duration_months,
                DOM_PLAN_MONTHS_MAX, e);
    check_range("trial_hours", in->has_trial_hours, in->trial_hours, DOM_PLAN_TRIAL_HOURS_MAX, e);
    int set = (in->has_duration_days && in->duration_days) +
              (in->has_duration_months && in->duration_months) +
              (in->has_trial_hours && in->trial_hours);
    if (set > 1)
        dom_err_field(e, in->has_trial_hours && in->trial_hours ? "trial_hours" : "duration_months",
                      "conflict", "give one of duration_days, duration_months, trial_hours");
    if (in->has_max_connections &&
        (in->max_connections < 0 || in->max_connections > DOM_LINE_MAX_CONN_LIMIT))
        dom_err_field(e, "max_connections", "range", "must be 0-%d (0 = unlimited), got %lld",
                      DOM_LINE_MAX_CONN_LIMIT, in->max_connections);
    if (in->outputs)
        dom_parse_outputs("allowed_outputs", in->outputs, outputs, outsz, e);
    if (in->has_bouquets)
        dom_bouquets_check(in->bouquets, in->bouquet_ids, in->bouquet_count, e);
    if (in->has_credit_price && (in->credit_price < 0 || in->credit_price > DOM_CREDITS_MAX))
        dom_err_field(e, "credit_price", "range", "a price is 0 or more credits");
    if (in->has_trial_price && (in->trial_price < 0 || in->trial_price > DOM_CREDITS_MAX))
        dom_err_field(e, "trial_price", "range", "a price is 0 or more credits");
    for (size_t i = 0; in->has_reseller_groups && i < in->reseller_group_count; i++)
        if (in->reseller_group_ids[i] < 1) {
            char f[48];
            snprintf(f, sizeof(f), "reseller_group_ids[%zu]", i);
            dom_err_field(e, f, "range", "a reseller group id");
        }
    return e->status ? -EINVAL : 0;
}

int dom_plan_validate(const struct dom_plan_in *in, bool create, struct dom_error *e)
{
    char outputs[16];
    return check_in(in, create, outputs, sizeof(outputs), e);
}

/* Merges in onto p (a create starts from a zeroed p with the defaults). */
static int merge(struct db_plan *p, const struct dom_plan_in *in, const char *outputs)
{
    if (in->name) {
        char *c = strdup(in->name);
        if (!c)
            return -ENOMEM;
        free(p->name);
        p->name = c;
    }
    bool dur = (in->has_duration_days && in->duration_days) ||
               (in->has_duration_months && in->duration_months) ||
               (in->has_trial_hours && in->trial_hours);
    if (dur) /* one duration given replaces the plan's */
        p->duration_days = p->duration_months = p->trial_hours = 0;
    if (in->has_duration_days)
        p->duration_days = in->duration_days;
    if (in->has_duration_months)
        p->duration_months = in->duration_months;
    if (in->has_trial_hours)
        p->trial_hours = in->trial_hours;
    if (in->has_max_connections)
        p->max_connections = in->max_connections;
    if (in->outputs) {
        char *c = strdup(outputs);
        if (!c)
            return -ENOMEM;
        free(p->allowed_outputs);
        p->allowed_outputs = c;
    }
    if (in->trial != -1)
        p->is_trial = in->trial == 1;
    return 0;
}

/* The rules over the merged plan (a merge can combine a kept and a given field). */
static int check_merged(const struct db_plan *p, struct dom_error *e)
{
    if (p->trial_hours && !p->is_trial)
        return dom_err_field(e, "trial_hours", "conflict",
                             "only a trial plan (is_trial true) has trial_hours");
    return 0;
}

static int save(struct db *db, struct db_plan *p, bool create, const struct dom_plan_in *in,
                struct dom_error *e)
{
    int64_t ids[DOM_LINE_BOUQUETS_MAX];
    int rc = 0;
    if (in->has_bouquets &&
        (rc = dom_bouquets_resolve(db, in->bouquets, in->bouquet_ids, in->bouquet_count, ids, e)))
        return rc;
    rc = create ? db_plan_insert(db, p) : db_plan_update(db, p);
    if (rc == -EEXIST) {
        dom_err_set(e, 409, DOM_E_EXISTS, "plan '%s' already exists", p->name);
        dom_err_field(e, "name", "conflict", "plan '%s' already exists", p->name);
        return -EEXIST;
    }
    if (rc == 0 && in->has_bouquets)
        rc = db_plan_set_bouquets(db, p->id, ids, in->bouquet_count);
    if (rc == 0 && (in->has_credit_price || in->has_trial_price)) {
        int64_t cp = p->credit_price, tp = p->trial_price;
        if (!create && (rc = db_plan_prices_get(db, p->id, &cp, &tp)) != 0)
            return dom_err_internal(e, rc, "reading the plan's prices");
        rc = db_plan_prices_set(db, p->id, in->has_credit_price ? in->credit_price : cp,
                                in->has_trial_price ? in->trial_price : tp);
    }
    if (rc == 0 && in->has_reseller_groups) {
        rc = db_plan_groups_set(db, p->id, in->reseller_group_ids, in->reseller_group_count);
        if (rc == -EINVAL || rc == -EEXIST) {
            dom_err_set(e, 422, DOM_E_REFERENCE, "a reseller group of the plan does not exist");
            dom_err_field(e, "reseller_group_ids", "not_found", "name existing reseller groups");
            return -EINVAL;
        }
    }
    return rc ? dom_err_internal(e, rc, "saving the plan") : 0;
}

int dom_plan_create(struct db *db, const struct dom_plan_in *in, int64_t *id, struct dom_error *e)
{
    char outputs[16];
    struct db_plan p = {.max_connections = 1};
    if (check_in(in, true, outputs, sizeof(outputs), e))
        return -EINVAL;
    int rc = merge(&p, in, outputs);
    if (rc == 0 && !p.allowed_outputs && !(p.allowed_outputs = strdup("ts,m3u8")))
        rc = -ENOMEM;
    if (rc) {
        db_plan_clear(&p);
        return dom_err_internal(e, rc, "creating the plan");
    }
    if (check_merged(&p, e)) {
        db_plan_clear(&p);
        return -EINVAL;
    }
    rc = db_begin(db);
    if (rc == 0 && (rc = save(db, &p, true, in, e)) == 0)
        rc = db_commit(db) ? dom_err_internal(e, -EIO, "committing the plan") : 0;
    else if (rc && !e->status)
        rc = dom_err_internal(e, rc, "starting a transaction");
    if (rc)
        db_rollback(db);
    else
        *id = p.id;
    db_plan_clear(&p);
    return rc;
}

static int get_plan(struct db *db, int64_t id, struct db_plan *p, struct dom_error *e)
{
    int rc = db_plan_get_id(db, id, p);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no plan %lld", (long long)id);
    return rc ? dom_err_internal(e, rc, "reading the plan") : 0;
}

int dom_plan_update(struct db *db, int64_t id, const struct dom_plan_in *in, struct dom_error *e)
{
    char outputs[16];
    struct db_plan p = {0};
    if (check_in(in, false, outputs, sizeof(outputs), e))
        return -EINVAL;
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    if ((rc = get_plan(db, id, &p, e)))
        goto fail;
    if ((rc = merge(&p, in, outputs))) {
        rc = dom_err_internal(e, rc, "updating the plan");
        goto fail;
    }
    if ((rc = check_merged(&p, e)) || (rc = save(db, &p, false, in, e)))
        goto fail;
    if ((rc = db_commit(db))) {
        rc = dom_err_internal(e, rc, "committing the plan");
        goto fail;
    }
    db_plan_clear(&p);
    return 0;
fail:
    db_rollback(db);
    db_plan_clear(&p);
    return rc;
}

int dom_plan_get(struct db *db, int64_t id, struct db_plan *out, struct dom_error *e)
{
    return get_plan(db, id, out, e);
}

int dom_plan_find(struct db *db, const char *name, int64_t *id, struct dom_error *e)
{
    int rc = db_plan_find(db, name, id);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no plan '%s'", name);
    return rc ? dom_err_internal(e, rc, "finding the plan") : 0;
}

int dom_plan_delete(struct db *db, int64_t id, struct dom_error *e)
{
    int rc = db_plan_delete_id(db, id);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no plan %lld", (long long)id);
    return rc ? dom_err_internal(e, rc, "deleting the plan") : 0;
}

const char *const dom_plan_sort_keys[] = {
    "id", "name", "created_at", "updated_at", "max_connections", NULL,
};

int dom_plan_page(struct db *db, const struct db_page *p, struct db_plan **out, size_t *n,
                  int64_t *total, struct dom_error *e)
{
    int rc = db_plan_page(db, p, out, n, total);
    if (rc == -EINVAL)
        return dom_err_field(e, "sort", "unknown",
                             "sort by id, name, created_at, updated_at or max_connections");
    return rc ? dom_err_internal(e, rc, "listing plans") : 0;
}

int dom_plan_page_sellable(struct db *db, const struct db_page *p, int64_t group_id,
                           struct db_plan **out, size_t *n, int64_t *total, struct dom_error *e)
{
    int rc = db_plan_page_sellable(db, p, group_id, out, n, total);
    if (rc == -EINVAL)
        return dom_err_field(e, "sort", "unknown",
                             "sort by id, name, created_at, updated_at or max_connections");
    return rc ? dom_err_internal(e, rc, "listing plans") : 0;
}

int64_t dom_plan_expiry(const struct db_plan *p, int64_t now)
{
    if (p->duration_days)
        return now + p->duration_days * 86400;
    if (p->duration_months)
        return dom_add_months(now, p->duration_months);
    if (p->trial_hours)
        return now + p->trial_hours * 3600;
    return 0;
}

static void opt_int(struct jsonw *w, const char *key, int64_t v)
{
    jsonw_key(w, key);
    if (v)
        jsonw_int(w, v);
    else
        jsonw_null(w);
}

void dom_plan_write_json(struct jsonw *w, const struct db_plan *p)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, p->id);
    jsonw_key(w, "name");
    jsonw_str(w, p->name);
    opt_int(w, "duration_days", p->duration_days);
    opt_int(w, "duration_months", p->duration_months);
    opt_int(w, "trial_hours", p->trial_hours);
    jsonw_key(w, "max_connections");
    jsonw_int(w, p->max_connections);
    jsonw_key(w, "allowed_outputs");
    jsonw_arr_begin(w);
    for (const char *s = p->allowed_outputs ? p->allowed_outputs : ""; *s;) {
        size_t k = strcspn(s, ",");
        if (k)
            jsonw_strn(w, s, k);
        s += k + (s[k] == ',');
    }
    jsonw_arr_end(w);
    jsonw_key(w, "is_trial");
    jsonw_bool(w, p->is_trial);
    jsonw_key(w, "bouquets");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < p->bouquet_count; i++) {
        jsonw_obj_begin(w);
        jsonw_key(w, "id");
        jsonw_int(w, p->bouquet_ids[i]);
        jsonw_key(w, "name");
        jsonw_str(w, p->bouquets[i]);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    char t[DOM_CREDITS_TEXT];
    dom_credits_format(p->credit_price, t, sizeof(t));
    jsonw_key(w, "credit_price");
    jsonw_str(w, t);
    dom_credits_format(p->trial_price, t, sizeof(t));
    jsonw_key(w, "trial_price");
    jsonw_str(w, t);
    jsonw_key(w, "reseller_group_ids");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < p->reseller_group_count; i++)
        jsonw_int(w, p->reseller_group_ids[i]);
    jsonw_arr_end(w);
    dom_write_time(w, "created_at", p->created_at, false);
    dom_write_time(w, "updated_at", p->updated_at, false);
    jsonw_obj_end(w);
}
