/*
 * domain/line_json: decodes the JSON body of a line create (POST) or a JSON
 * Merge Patch (RFC 7396) update into a struct dom_line_in — the decoder the
 * admin API's /api/v1/lines will use. Untrusted input: bounded, fuzzed
 * (tests/fuzz/fuzz_line_json.c).
 *
 * Members (the names of `xtreamd line show --json`): username, password
 * (strings), max_connections (integer), exp_date (integer Unix seconds, 0 or
 * null = never) or expires ("YYYY-MM-DD" | "never"), is_trial, enabled,
 * banned (booleans), allowed_outputs (array of "ts" | "m3u8" | aliases),
 * message (string; null clears), bouquets (array of names, in order; null or
 * [] clears). An omitted member is "not given" (merge patch: unchanged).
 * A body that is not a JSON object is 400 DOM_E_MALFORMED; a member of the
 * wrong type or an unknown member is a 422 field error ("type", "unknown").
 * Values are only decoded here; dom_line_validate() / the service check them.
 * Threading: any thread; a struct dom_line_json is one caller's.
 */
#ifndef XTREAMD_DOMAIN_LINE_JSON_H
#define XTREAMD_DOMAIN_LINE_JSON_H

#include <stddef.h>

#include "domain/error.h"
#include "domain/lines.h"

#define DOM_JSON_BODY_MAX (64 * 1024) /* a line body; larger is 400 */

struct dom_line_json {
    struct dom_line_in in; /* its strings point into doc */
    void *doc;             /* the parsed document (jansson), owned */
    const char *bouquets[DOM_LINE_BOUQUETS_MAX + 1];
    char outputs[64];
};

/* Decodes body into out (zeroed first). On an error out holds nothing to
 * free beyond what dom_line_json_free() releases; call it in every case. */
int dom_line_from_json(const char *body, size_t len, struct dom_line_json *out,
                       struct dom_error *e);
void dom_line_json_free(struct dom_line_json *j);

#endif
