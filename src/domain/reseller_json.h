/*
 * domain/reseller_json: decodes the JSON bodies of the resellers API —
 * a reseller (create, merge patch), a reseller group (create, merge patch),
 * a credit move ({"amount", "reason"}: /credits and /transfer) and the
 * reseller members of a line body ({"plan_id", "trial"} of a create, the
 * {"plan_id"} of an extension). Untrusted input: bounded (DOM_JSON_BODY_MAX),
 * duplicate members refused, fuzzed (tests/fuzz/fuzz_reseller_json.c).
 * Amounts go through domain/credits.h (strings with up to 4 decimals or
 * integers; never a JSON real). A body that is not an object is 400; a
 * member of the wrong type or an unknown member a 422 naming it.
 * Threading: any thread; a decoded struct is one caller's.
 */
#ifndef XTREAMD_DOMAIN_RESELLER_JSON_H
#define XTREAMD_DOMAIN_RESELLER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/error.h"
#include "domain/resellers.h"

struct dom_reseller_json {
    struct dom_reseller_in in; /* strings point into doc */
    void *doc;
};
int dom_reseller_from_json(const char *body, size_t len, bool create, struct dom_reseller_json *out,
                           struct dom_error *e);
void dom_reseller_json_free(struct dom_reseller_json *j);

struct dom_group_json {
    struct dom_group_in in;
    void *doc;
};
int dom_group_from_json(const char *body, size_t len, bool create, struct dom_group_json *out,
                        struct dom_error *e);
void dom_group_json_free(struct dom_group_json *j);

struct dom_credit_move_json {
    int64_t amount;     /* units */
    const char *reason; /* NULL: none; points into doc */
    void *doc;
};
int dom_credit_move_from_json(const char *body, size_t len, struct dom_credit_move_json *out,
                              struct dom_error *e);
void dom_credit_move_json_free(struct dom_credit_move_json *j);

/* The {"plan_id": N} of a reseller's extension. */
int dom_reseller_extend_from_json(const char *body, size_t len, int64_t *plan_id,
                                  struct dom_error *e);

#endif
