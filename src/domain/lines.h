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
 * (username, password, max_connections, expires or exp_date, allowed_outputs, message, notes,
 * bouquets[i]).
 * Threading: one thread per struct db, like the db layer.
 */
#ifndef XTREAMD_DOMAIN_LINES_H
#define XTREAMD_DOMAIN_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/jsonw.h"
#include "db/lines.h"
#include "domain/error.h"
#include "domain/text.h"

#define DOM_LINE_CRED_MAX       64
#define DOM_LINE_MESSAGE_MAX    1024
#define DOM_LINE_NOTES_MAX      4096
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
    int trial, enabled, banned;  /* -1 not given, else 0/1 (defaults 0, 1, 0) */
    const char *outputs;         /* comma list of ts, m3u8 (aliases mpegts, hls); default ts,m3u8 */
    const char *exp_date_text;   /* exp_date as RFC 3339 or YYYY-MM-DD (the API's form) */
    const char *message;         /* <= 1024 bytes of UTF-8 without control characters */
    const char *notes;           /* <= 4096 bytes of UTF-8 (newlines and tabs allowed) */
    bool has_bouquets;           /* replaces the list (possibly with none) */
    const char *const *bouquets; /* names; an entry NULL: bouquet_ids[i] gives it by id */
    const int64_t *bouquet_ids;  /* NULL, or parallel to bouquets */
    size_t bouquet_count;
    /* Create only: the plan (by id, or by name for the CLI) gives
     * max_connections, outputs, bouquets, is_trial and the expiry (now +
     * its duration); a field given here overrides the plan's. */
    bool has_plan_id;
    int64_t plan_id;
    const char *plan;
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

/* The same, the line given by id (the admin API's /api/v1/lines/{id}). */
int dom_line_update_id(struct db *db, int64_t id, const struct dom_line_in *in,
                       struct dom_error *e);

/* Reads one line (404) / every line by username / deletes one (404). */
int dom_line_get(struct db *db, const char *username, struct db_line *out, struct dom_error *e);
int dom_line_get_id(struct db *db, int64_t id, struct db_line *out, struct dom_error *e);
int dom_line_list(struct db *db, struct db_line **out, size_t *n, struct dom_error *e);
int dom_line_delete(struct db *db, const char *username, struct dom_error *e);
int dom_line_delete_id(struct db *db, int64_t id, struct dom_error *e);

/* The filters of a line list, as the query string gives them (NULL: not
 * given); each bad value is a 422 field error naming its parameter.
 * status: active | expired | disabled | banned (dom_line_state() at now) |
 * trial (the is_trial flag, whatever the state), in any letter case (the
 * line's JSON shows "Active" ...); expires_before /
 * expires_after: RFC 3339 or YYYY-MM-DD, exclusive, lines that never expire
 * never match; bouquet_id: a positive integer. */
struct dom_line_filter {
    const char *status;
    const char *expires_before;
    const char *expires_after;
    const char *bouquet_id;
    int64_t now;
    int64_t owner_subtree; /* a reseller's id: only its subtree's lines; 0: all */
};

/* The sort keys a line list accepts, NULL-terminated (for admin_list_query). */
extern const char *const dom_line_sort_keys[];

/* One page of lines (p: paging, q = substring of username or notes, sort
 * among dom_line_sort_keys, ties by id) and the total count under the same
 * filter. Free *out with db_line_list_free(). */
int dom_line_page(struct db *db, const struct dom_line_filter *f, const struct db_page *p,
                  struct db_line **out, size_t *n, int64_t *total, struct dom_error *e);

/* The displayed status of l at now ("Active", "Expired", "Disabled",
 * "Banned"): dom_line_state() of its fields. */
const char *dom_line_status(const struct db_line *l, int64_t now);
/* The same in lower case ("active" ...), the values of the list's status
 * filter. */
const char *dom_line_status_key(const struct db_line *l, int64_t now);

/* The line as the admin API (and `xtreamd line show --json`) shows it:
 * id, username, password, status (dom_line_status: "Active" ...),
 * max_connections, exp_date (RFC 3339 or
 * null), exp_date_epoch (integer or null), is_trial, enabled, banned,
 * allowed_outputs [..], message, notes, bouquets [{id, name}] in order,
 * created_at, updated_at (RFC 3339). */
void dom_line_write_json(struct jsonw *w, const struct db_line *l, int64_t now);
/* The same members without the braces, for a list that adds its own
 * (the admin list's active_connections). */
void dom_line_write_members(struct jsonw *w, const struct db_line *l, int64_t now);

/* An extension: exactly one of days (1-3650), months (1-120) or until
 * (RFC 3339 or YYYY-MM-DD). */
#define DOM_EXTEND_DAYS_MAX   3650
#define DOM_EXTEND_MONTHS_MAX 120
struct dom_line_extend_in {
    int64_t days, months; /* 0: not given */
    const char *until;    /* NULL: not given */
};

/* Extends line id: the new expiry is max(now, exp_date) + days/months, or
 * `until` (which must lie after max(now, exp_date): an extension never
 * shortens). A line that never expires cannot be extended: 409
 * DOM_E_NEVER_EXPIRES (the request is valid, the line's state refuses it).
 * The state flags (enabled, banned) are left alone. *new_exp: the expiry
 * written. 404 on an unknown id, 422 naming days/months/until. */
int dom_line_extend(struct db *db, int64_t id, const struct dom_line_extend_in *in, int64_t now,
                    int64_t *new_exp, struct dom_error *e);
int dom_line_extend_validate(const struct dom_line_extend_in *in, struct dom_error *e);

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
/* A bouquet list as an input gives it: names[i], or when names[i] is NULL
 * the id ids[i]. check: shapes only (count, empty names, ids > 0); resolve:
 * the ids into out (n entries), 422 DOM_E_REFERENCE naming bouquets[i] on
 * the first unknown one. Shared by lines and plans. */
void dom_bouquets_check(const char *const *names, const int64_t *ids, size_t n,
                        struct dom_error *e);
int dom_bouquets_resolve(struct db *db, const char *const *names, const int64_t *ids, size_t n,
                         int64_t *out, struct dom_error *e);

/* Normalises an output list into out ("ts", "m3u8" or "ts,m3u8"). */
int dom_parse_outputs(const char *field, const char *s, char *out, size_t outsz,
                      struct dom_error *e);

#endif
