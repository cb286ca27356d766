/*
 * domain/plans: the plan ("package") service — every rule about plans.
 *
 * A plan is what a line created from it gets: max_connections,
 * allowed_outputs, bouquets (ordered), is_trial, and an expiry of now plus
 * its duration: duration_days (1-3650), duration_months (1-120) or, for a
 * trial plan only, trial_hours (1-720); at most one of the three, none
 * meaning the lines never expire. Names are unique, 1-100 bytes of text.
 * Updates merge (RFC 7396): an omitted member is unchanged, null clears a
 * duration (or resets max_connections/outputs/bouquets to their defaults);
 * giving one duration replaces the plan's duration (the other two are
 * cleared). Lines keep what they got: changing or deleting a plan never
 * touches the lines created from it.
 * Errors: domain/error.h, fields named as in the JSON (name, duration_days,
 * duration_months, trial_hours, max_connections, allowed_outputs, is_trial,
 * bouquets[i]). Threading: one thread per struct db.
 */
#ifndef XTREAMD_DOMAIN_PLANS_H
#define XTREAMD_DOMAIN_PLANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/jsonw.h"
#include "db/plans.h"
#include "domain/error.h"

#define DOM_PLAN_NAME_MAX        100
#define DOM_PLAN_DAYS_MAX        3650
#define DOM_PLAN_MONTHS_MAX      120
#define DOM_PLAN_TRIAL_HOURS_MAX 720

/* A create or a merge. has_* false / NULL / -1: not given. A duration given
 * as 0 is JSON null (clear). */
struct dom_plan_in {
    const char *name;
    bool has_duration_days, has_duration_months, has_trial_hours;
    long long duration_days, duration_months, trial_hours;
    bool has_max_connections;
    long long max_connections; /* default 1 */
    const char *outputs;       /* comma list (ts, m3u8, aliases); default ts,m3u8 */
    int trial;                 /* -1 not given, else 0/1 (default 0) */
    bool has_bouquets;
    const char *const *bouquets; /* names; NULL entries: bouquet_ids[i] */
    const int64_t *bouquet_ids;
    size_t bouquet_count;
    /* Resellers: prices in units of 1/10000 credit (>= 0), and which
     * reseller groups may sell the plan (replaces the list). */
    bool has_credit_price, has_trial_price;
    int64_t credit_price, trial_price;
    bool has_reseller_groups;
    const int64_t *reseller_group_ids;
    size_t reseller_group_count;
};

void dom_plan_in_init(struct dom_plan_in *in);
/* Checks every given field (name required on a create); no database. */
int dom_plan_validate(const struct dom_plan_in *in, bool create, struct dom_error *e);

int dom_plan_create(struct db *db, const struct dom_plan_in *in, int64_t *id, struct dom_error *e);
int dom_plan_update(struct db *db, int64_t id, const struct dom_plan_in *in, struct dom_error *e);
int dom_plan_get(struct db *db, int64_t id, struct db_plan *out, struct dom_error *e);
/* By name (the CLI): 404 naming it. */
int dom_plan_find(struct db *db, const char *name, int64_t *id, struct dom_error *e);
int dom_plan_delete(struct db *db, int64_t id, struct dom_error *e);

extern const char *const dom_plan_sort_keys[];
/* One page (q: substring of the name); free *out with db_plan_list_free(). */
int dom_plan_page(struct db *db, const struct db_page *p, struct db_plan **out, size_t *n,
                  int64_t *total, struct dom_error *e);

/* The expiry (Unix seconds) of a line created from p at now; 0: never. */
/* dom_plan_page limited to the plans reseller group group_id may sell. */
int dom_plan_page_sellable(struct db *db, const struct db_page *p, int64_t group_id,
                           struct db_plan **out, size_t *n, int64_t *total, struct dom_error *e);
int64_t dom_plan_expiry(const struct db_plan *p, int64_t now);

/* id, name, duration_days, duration_months, trial_hours (integers or null),
 * max_connections, allowed_outputs [..], is_trial, bouquets [{id, name}],
 * created_at, updated_at (RFC 3339). */
void dom_plan_write_json(struct jsonw *w, const struct db_plan *p);

#endif
