/*
 * db/plans: queries on plans ("packages": what a line created from one gets)
 * and their ordered bouquets (`plans`, `plan_bouquets`, migration 5).
 *
 * Names are unique (-EEXIST); a missing plan is -ENOENT. A struct db_plan
 * returned here owns its strings and arrays: db_plan_clear(). The rules
 * (ranges, the one-duration rule) are domain/plans.c's; the schema's CHECKs
 * back them up and surface as -EINVAL.
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_PLANS_H
#define XTREAMD_DB_PLANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/page.h"

struct db;

struct db_plan {
    int64_t id;
    char *name;
    int64_t duration_days, duration_months, trial_hours; /* 0: not this kind (at most one set) */
    int64_t max_connections;
    char *allowed_outputs; /* "ts", "m3u8" or "ts,m3u8" */
    bool is_trial;
    int64_t created_at, updated_at;
    char **bouquets; /* names, in the plan's order */
    int64_t *bouquet_ids;
    size_t bouquet_count;
    /* Resellers (issue 17): prices in units of 1/10000 credit, the groups
     * that may sell it (ascending ids). */
    int64_t credit_price, trial_price;
    int64_t *reseller_group_ids;
    size_t reseller_group_count;
};

void db_plan_clear(struct db_plan *p);
void db_plan_list_free(struct db_plan *v, size_t n);

/* Inserts p (not its bouquets) and sets p->id, created_at, updated_at. */
int db_plan_insert(struct db *db, struct db_plan *p);
/* Writes every column of plan p->id but created_at; updated_at = now. */
int db_plan_update(struct db *db, struct db_plan *p);
/* Replaces the plan's bouquets with ids in this order. */
int db_plan_set_bouquets(struct db *db, int64_t plan_id, const int64_t *ids, size_t n);
int db_plan_get_id(struct db *db, int64_t id, struct db_plan *out);
int db_plan_find(struct db *db, const char *name, int64_t *id);
int db_plan_delete_id(struct db *db, int64_t id);

/* Sort keys of db_plan_page (API names), NULL-terminated. */
extern const char *const db_plan_sort_keys[];
/* One page of plans (q: substring of the name), ties by id; *total counts
 * every match. -EINVAL on a bad sort key or page. */
int db_plan_page(struct db *db, const struct db_page *p, struct db_plan **out, size_t *n,
                 int64_t *total);
/* The same, only plans reseller group group_id may sell (0: every plan). */
int db_plan_page_sellable(struct db *db, const struct db_page *p, int64_t group_id,
                          struct db_plan **out, size_t *n, int64_t *total);

#endif
