/*
 * domain/lines: the subscriber-line service — every rule about lines.
 *
 * Owns the validation and defaults of a line's fields, the generated
 * password, the resolution of bouquet names, the create/update/delete
 * transactions and the displayed status (domain/line_state.h). Callers (the
 * CLI today, the admin API next) pass what they received, as text where the
 * field has a textual form, and print or serialise the result; they hold no
 * rule of their own. Reaches the database only through db/lines.h and
 * db/bouquets.h. Errors: domain/error.h, fields named as in the JSON of a line
 * (username, password, max_connections, expires, outputs, message,
 * bouquets[i]).
 * Threading: one thread per struct db, like the db layer.
 */
#ifndef XTREAMD_DOMAIN_LINES_H
#define XTREAMD_DOMAIN_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/lines.h"
#include "domain/error.h"
#include "domain/text.h"

#define DOM_LINE_CRED_MAX       64
#define DOM_LINE_MESSAGE_MAX    1024
#define DOM_LINE_MAX_CONN_LIMIT 100000
#define DOM_LINE_BOUQUETS_MAX   256
#define DOM_LINE_GEN_PW_LEN     12

/* A create or an update. Every member is optional: NULL strings and false
 * has_* flags mean "not given" (create: the default; update: keep). */
struct dom_line_in {
    const char *username; /* create: required */
    const char *password; /* create: NULL generates one */
    bool has_max_connections;
    long long max_connections; /* 0-100000, 0 = unlimited; default 1 */
    const char *expires;       /* "YYYY-MM-DD" (00:00 UTC) or "never" (default) */
    bool has_exp_date;         /* the same as Unix seconds (0 = never); excludes expires */
    long long exp_date;
    int trial, enabled, banned; /* -1 not given, else 0/1 (defaults 0, 1, 0) */
    const char *outputs;        /* comma list of ts, m3u8 (aliases mpegts, hls); default ts,m3u8 */
    const char *message;        /* <= 1024 bytes of UTF-8 without control characters */
    bool has_bouquets;          /* replaces the list (possibly with none) */
    const char *const *bouquets;
    size_t bouquet_count;
};

/* An input with nothing given (trial/enabled/banned -1). */
void dom_line_in_init(struct dom_line_in *in);

struct dom_line_created {
    int64_t id;
    bool password_generated;
    char password[DOM_LINE_CRED_MAX + 1]; /* the line's password (print it once) */
};

/* Validates in (every bad field is reported), then in one transaction
 * inserts the line and its bouquets. 409 DOM_E_EXISTS on a taken username,
 * 422 DOM_E_REFERENCE on an unknown bouquet (nothing is written). */
int dom_line_create(struct db *db, const struct dom_line_in *in, struct dom_line_created *out,
                    struct dom_error *e);

/* Applies the given fields of in (username must be NULL: usernames do not
 * change) to the line `username` in one transaction. 404 when absent. */
int dom_line_update(struct db *db, const char *username, const struct dom_line_in *in,
                    struct dom_error *e);

/* Reads one line (404) / every line by username / deletes one (404). */
int dom_line_get(struct db *db, const char *username, struct db_line *out, struct dom_error *e);
int dom_line_list(struct db *db, struct db_line **out, size_t *n, struct dom_error *e);
int dom_line_delete(struct db *db, const char *username, struct dom_error *e);

/* The displayed status of l at now ("Active", "Expired", "Disabled",
 * "Banned"): dom_line_state() of its fields. */
const char *dom_line_status(const struct db_line *l, int64_t now);

/* Checks every given field of in for a create (username required) or an
 * update (username refused), reporting each bad one; no database. The
 * services call it first; decoders and fuzzers may call it alone. */
int dom_line_validate(const struct dom_line_in *in, bool create, struct dom_error *e);

/* Field checks, exported for decoders and tests: 0, or -EINVAL with a field
 * error on `field` in e. */
int dom_check_credential(const char *field, const char *s, struct dom_error *e);
/* The username of a create (required, a credential) or an update (read-only),
 * as lines and admins share it. */
void dom_check_username_in(const char *username, bool create, struct dom_error *e);
/* "YYYY-MM-DD" -> 00:00 UTC that day (*has true), "never" -> *has false. */
int dom_parse_expires(const char *field, const char *s, bool *has, int64_t *ts,
                      struct dom_error *e);
/* Normalises an output list into out ("ts", "m3u8" or "ts,m3u8"). */
int dom_parse_outputs(const char *field, const char *s, char *out, size_t outsz,
                      struct dom_error *e);

#endif
