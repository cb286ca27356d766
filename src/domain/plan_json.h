/*
 * domain/plan_json: decodes the JSON body of a plan create (POST) or merge
 * patch (PATCH) into a struct dom_plan_in — the decoder of /api/v1/plans.
 * Untrusted input: bounded (DOM_JSON_BODY_MAX), fuzzed
 * (tests/fuzz/fuzz_plan_json.c).
 *
 * Members (those of dom_plan_write_json): name (string), duration_days,
 * duration_months, trial_hours (integers; null clears), max_connections
 * (integer; null = 1), allowed_outputs (array; null = ts, m3u8), is_trial
 * (boolean), bouquets (names, ids or {"id"} objects; null or [] clears).
 * id, created_at and updated_at are "read_only"; other members "unknown".
 * A body that is not a JSON object is 400 DOM_E_MALFORMED.
 * Threading: any thread; a struct dom_plan_json is one caller's.
 */
#ifndef XTREAMD_DOMAIN_PLAN_JSON_H
#define XTREAMD_DOMAIN_PLAN_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "domain/error.h"
#include "domain/lines.h"
#include "domain/plans.h"

#define DOM_PLAN_GROUPS_MAX 64 /* reseller groups of a plan */

struct dom_plan_json {
    struct dom_plan_in in; /* its strings point into doc */
    void *doc;
    const char *bouquets[DOM_LINE_BOUQUETS_MAX + 1];
    int64_t bouquet_ids[DOM_LINE_BOUQUETS_MAX + 1];
    char outputs[64];
    int64_t reseller_group_ids[DOM_PLAN_GROUPS_MAX];
};

/* Decodes body into out; call dom_plan_json_free() in every case. */
int dom_plan_from_json(const char *body, size_t len, struct dom_plan_json *out,
                       struct dom_error *e);
void dom_plan_json_free(struct dom_plan_json *j);

#endif
