/*
 * domain/token_json: decodes the JSON body of an API token creation
 * (POST /api/v1/tokens) into a struct dom_token_in. Untrusted input: bounded,
 * fuzzed (tests/fuzz/fuzz_token_json.c).
 *
 * Members: name (string), scopes (array of at most DOM_TOKEN_JSON_SCOPES_MAX
 * scope names), expires_at (RFC 3339 / YYYY-MM-DD string, or null = never).
 * Not a JSON object: 400 DOM_E_MALFORMED; a wrong type, an unknown scope or
 * an unknown member: 422 naming the field ("scopes[2]"), every bad member
 * reported. The required / range / role rules are dom_token_validate()'s.
 * Threading: any thread; a struct dom_token_json is one caller's.
 */
#ifndef XTREAMD_DOMAIN_TOKEN_JSON_H
#define XTREAMD_DOMAIN_TOKEN_JSON_H

#include <stddef.h>

#include "domain/admin_auth.h"
#include "domain/error.h"

#define DOM_TOKEN_JSON_MAX        (16 * 1024) /* a larger body is 400 */
#define DOM_TOKEN_JSON_SCOPES_MAX 16

struct dom_token_json {
    struct dom_token_in in; /* name points into doc */
    void *doc;              /* the parsed document (jansson), owned */
};

/* Decodes body into out (zeroed first); call dom_token_json_free() in every case. */
int dom_token_from_json(const char *body, size_t len, struct dom_token_json *out,
                        struct dom_error *e);
void dom_token_json_free(struct dom_token_json *j);

#endif
