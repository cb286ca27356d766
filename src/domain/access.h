/*
 * domain/access: the rules of access control, once — what a valid per-line
 * rule set and a valid global rule are (field-named errors), their canonical
 * stored forms, and the services the admin API and the CLI call (line
 * access, global rules, bans, the refusal log). The check of a request
 * against the rules is auth/access.c, on the catalogue snapshot.
 *
 * Rule syntax (docs/operator-guide.md, Access control):
 *  - addresses: an IPv4/IPv6 address or CIDR range ("10.0.0.0/8",
 *    "2001:db8::/32"); host bits below the prefix are refused;
 *  - user agents: fnmatch(3) globs without flags, matched on the whole
 *    "2001:db8::/32"); host bits below the prefix are refused;
 *  - countries: ISO 3166-1 alpha-2 codes, stored upper case ("FR").
 * Threading: like struct db.
 */
#ifndef XTREAMD_DOMAIN_ACCESS_H
#define XTREAMD_DOMAIN_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/jsonw.h"
#include "db/access.h"
#include "domain/error.h"

#define DOM_ACCESS_LIST_MAX  256 /* items of one per-line list */
#define DOM_ACCESS_UA_MAX    255 /* bytes of one glob */
#define DOM_ACCESS_DAILY_MAX 100000
#define DOM_ACCESS_NOTE_MAX  255

/* A per-line rule set as given; a list NULL with has_X false is unchanged. */
struct dom_line_access_in {
    bool has_allowed_ips, has_allowed_uas, has_denied_uas, has_allowed_countries,
        has_denied_countries;
    const char *const *allowed_ips;
    size_t n_allowed_ips;
    const char *const *allowed_uas;
    size_t n_allowed_uas;
    const char *const *denied_uas;
    size_t n_denied_uas;
    const char *const *allowed_countries;
    size_t n_allowed_countries;
    const char *const *denied_countries;
    size_t n_denied_countries;
    int lock_first_ip;       /* -1 unchanged */
    long long max_daily_ips; /* -1 unchanged */
    int is_mag;              /* -1 unchanged; 1: the line is used through the portal only */
};

void dom_line_access_in_init(struct dom_line_access_in *in);
/* Validates every given field (errors name them: allowed_ips[2] ...). */
int dom_line_access_validate(const struct dom_line_access_in *in, struct dom_error *e);
int dom_line_access_get(struct db *db, int64_t line_id, struct db_line_access *out,
                        struct dom_error *e);
/* Merges in over the stored set (one transaction). */
int dom_line_access_put(struct db *db, int64_t line_id, const struct dom_line_access_in *in,
                        int64_t now, struct dom_error *e);
/* Forgets the recorded first IP and the attack flag. */
int dom_line_access_reset(struct db *db, int64_t line_id, int64_t now, struct dom_error *e);
/* {"line_id", "is_mag", "allowed_ips":[..], "lock_first_ip", "first_ip", "max_daily_ips",
 *  "allowed_user_agents":[..], "denied_user_agents":[..], "allowed_countries":[..],
 *  "denied_countries":[..], "attack_flagged_at"} */
void dom_line_access_write_json(struct jsonw *w, int64_t line_id, const struct db_line_access *a);

/* Lines flagged for failed logins from many addresses (db/access.h). */
int dom_flagged_lines_json(struct db *db, struct jsonw *w, struct dom_error *e);

/* Global rule kinds. */
extern const char *const dom_access_kinds[]; /* NULL-terminated */
bool dom_access_kind_valid(const char *kind);
/* Validates value for kind and writes its canonical form to out. */
int dom_access_rule_check(const char *kind, const char *value, char *out, size_t outsz,
                          struct dom_error *e);
int dom_access_rule_add(struct db *db, const char *kind, const char *value, const char *note,
                        int64_t now, int64_t *id, struct dom_error *e);
int dom_access_rule_del(struct db *db, int64_t id, struct dom_error *e);
int dom_access_rules_json(struct db *db, const char *kind, struct jsonw *w, struct dom_error *e);

/* Bans: a ban names one address (an IPv6 client's /64 is banned as its
 * "/64" range, the unit the brake counts). */
int dom_ban_check_ip(const char *field, const char *ip, char *out, size_t outsz,
                     struct dom_error *e);
int dom_ban_del(struct db *db, const char *ip, struct dom_error *e);
int dom_bans_json(struct db *db, bool all, int64_t now, struct jsonw *w, struct dom_error *e);

/* Refusal reasons (the log's reason codes). */
extern const char *const dom_refusal_reasons[]; /* NULL-terminated */
bool dom_refusal_reason_valid(const char *r);
int dom_refusals_json(struct db *db, const struct db_refusal_filter *f, struct jsonw *w,
                      struct dom_error *e);

/* Helpers shared with the check (auth/access.c reads the stored forms). */
bool dom_country_valid(const char *s);
bool dom_glob_valid(const char *s);

#endif
