/*
 * domain/line_json: decodes the JSON body of a line create (POST) or a JSON
 * Merge Patch (RFC 7396) update into a struct dom_line_in — the decoder the
 * admin API's /api/v1/lines will use. Untrusted input: bounded, fuzzed
 * (tests/fuzz/fuzz_line_json.c).
 *
 * Members (the names of dom_line_write_json, i.e. of GET and
 * `xtreamd line show --json`): username, password (strings),
 * max_connections (integer), exp_date (RFC 3339 or YYYY-MM-DD, or integer
 * Unix seconds; 0 or null = never) or expires ("YYYY-MM-DD" | "never"),
 * is_trial, enabled, banned (booleans), allowed_outputs (array of "ts" |
 * "m3u8" | aliases), message, notes (strings; null clears), bouquets (array
 * of names, ids or {"id": N, ...} objects, in order; null or [] clears),
 * plan_id (create only). The computed members of a GET (id, status,
 * exp_date_epoch, created_at, updated_at) are refused as "read_only".
 * An omitted member is "not given" (merge patch: unchanged).
 * A body that is not a JSON object is 400 DOM_E_MALFORMED; a member of the
 * wrong type or an unknown member is a 422 field error ("type", "unknown").
 * Values are only decoded here; dom_line_validate() / the service check them.
 * Threading: any thread; a struct dom_line_json is one caller's.
 */
#ifndef XTREAMD_DOMAIN_LINE_JSON_H
#define XTREAMD_DOMAIN_LINE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/error.h"
#include "domain/lines.h"

#define DOM_JSON_BODY_MAX (64 * 1024) /* a line body; larger is 400 */

struct dom_line_json {
    struct dom_line_in in; /* its strings point into doc */
    void *doc;             /* the parsed document (jansson), owned */
    const char *bouquets[DOM_LINE_BOUQUETS_MAX + 1];
    int64_t bouquet_ids[DOM_LINE_BOUQUETS_MAX + 1];
    char outputs[64];
};

/* The body of POST /api/v1/lines/{id}/extend: exactly one of {"days": N},
 * {"months": N}, {"until": "YYYY-MM-DD" | RFC 3339}; decoded and validated
 * (dom_line_extend_validate). Holds no reference to the body. */
struct dom_line_extend_json {
    struct dom_line_extend_in in;
    char until[48];
};
int dom_line_extend_from_json(const char *body, size_t len, struct dom_line_extend_json *out,
                              struct dom_error *e);

/* Shared by the decoders of lines and plans: a bouquet list (names, ids or
 * {"id"} objects) into names[i] / ids[i] (names[i] NULL for an id), and
 * whether key is one of names (NULL-terminated). v is a jansson json_t *. */
struct json_t;
int dom_json_bouquets(struct json_t *v, const char **names, int64_t *ids, size_t *count,
                      struct dom_error *e);
bool dom_json_read_only(const char *key, const char *const *names);

/* The body of POST /api/v1/lines/bulk: one change applied to many lines,
 * all or nothing:
 *   {"ids":[1,2,3], "extend":{"days":30}}      (an extension, as above)
 *   {"ids":[1,2,3], "patch":{"enabled":false}} (a merge patch, as PATCH)
 *   {"ids":[1,2,3], "delete":true}
 * ids: 1-DOM_LINE_BULK_MAX distinct positive integers (field "ids" or
 * "ids[i]"); exactly one of extend, patch, delete. Errors inside a member
 * are named under it ("patch.max_connections", "extend.days"). The patch is
 * validated as an update (dom_line_validate) and must change something.
 * Free with dom_line_bulk_json_free() in every case. */
#define DOM_LINE_BULK_MAX      1000
#define DOM_LINE_BULK_BODY_MAX (128 * 1024)
enum dom_line_bulk_op { DOM_LINE_BULK_EXTEND = 1, DOM_LINE_BULK_PATCH, DOM_LINE_BULK_DELETE };
struct dom_line_bulk_json {
    enum dom_line_bulk_op op;
    int64_t ids[DOM_LINE_BULK_MAX];
    size_t nids;
    struct dom_line_extend_json extend; /* op EXTEND */
    struct dom_line_json patch;         /* op PATCH (its strings point into its doc) */
};
int dom_line_bulk_from_json(const char *body, size_t len, struct dom_line_bulk_json *out,
                            struct dom_error *e);
void dom_line_bulk_json_free(struct dom_line_bulk_json *b);

/* Decodes body into out (zeroed first). On an error out holds nothing to
 * free beyond what dom_line_json_free() releases; call it in every case. */
int dom_line_from_json(const char *body, size_t len, struct dom_line_json *out,
                       struct dom_error *e);
void dom_line_json_free(struct dom_line_json *j);

#endif
