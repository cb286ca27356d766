#include "domain/access.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/ipnet.h"
#include "domain/text.h"
#include "domain/tx.h"

const char *const dom_access_kinds[] = {"ip_deny",       "trusted_proxy", "ua_allow", "ua_deny",
                                        "country_allow", "country_deny",  NULL};

const char *const dom_refusal_reasons[] = {
    "IP_NOT_ALLOWED", "IP_DENIED",       "IP_LOCKED",          "TOO_MANY_IPS",
    "UA_BLOCKED",     "COUNTRY_BLOCKED", "BANNED_IP",          "RATE_LIMITED",
    "MAC_UNKNOWN",    "URL_EXPIRED",     "DEVICE_NOT_ALLOWED", NULL};

static bool in_list(const char *const *l, const char *s)
{
    for (; s && *l; l++)
        if (strcmp(*l, s) == 0)
            return true;
    return false;
}

bool dom_access_kind_valid(const char *kind)
{
    return in_list(dom_access_kinds, kind);
}

bool dom_refusal_reason_valid(const char *r)
{
    return in_list(dom_refusal_reasons, r);
}

bool dom_country_valid(const char *s)
{
    return s && strlen(s) == 2 && ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) &&
           ((s[1] >= 'A' && s[1] <= 'Z') || (s[1] >= 'a' && s[1] <= 'z'));
}

bool dom_glob_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > DOM_ACCESS_UA_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    /* an unclosed bracket expression matches nothing useful: refused */
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n)
            i++;
        else if (s[i] == '[')
            depth = 1;
        else if (s[i] == ']')
            depth = 0;
    }
    return depth == 0;
}

void dom_line_access_in_init(struct dom_line_access_in *in)
{
    memset(in, 0, sizeof(*in));
    in->lock_first_ip = -1;
    in->max_daily_ips = -1;
    in->is_mag = -1;
}

/* Canonical comma list of ranges; errors name field[i]. */
static int norm_ips(const char *field, const char *const *v, size_t n, struct buf *out,
                    struct dom_error *e)
{
    if (n > DOM_ACCESS_LIST_MAX)
        return dom_err_field(e, field, "too_long", "at most %d entries", DOM_ACCESS_LIST_MAX);
    for (size_t i = 0; i < n; i++) {
        char f[48], t[IPNET_TEXT_MAX];
        struct ipnet net;
        snprintf(f, sizeof(f), "%s[%zu]", field, i);
        if (!v[i] || ipnet_parse(v[i], strlen(v[i]), &net)) {
            dom_err_field(e, f, "format",
                          "an IPv4/IPv6 address or CIDR range without host bits "
                          "(10.0.0.0/8, 2001:db8::/32)");
            continue;
        }
        if (out->len)
            buf_putc(out, ',');
        buf_puts(out, ipnet_format(&net, t, sizeof(t)));
    }
    return e->status ? -EINVAL : 0;
}

static int norm_globs(const char *field, const char *const *v, size_t n, struct buf *out,
                      struct dom_error *e)
{
    if (n > DOM_ACCESS_LIST_MAX)
        return dom_err_field(e, field, "too_long", "at most %d entries", DOM_ACCESS_LIST_MAX);
    for (size_t i = 0; i < n; i++) {
        char f[48];
        snprintf(f, sizeof(f), "%s[%zu]", field, i);
        if (!dom_glob_valid(v[i]) || dom_check_text(f, v[i], DOM_ACCESS_UA_MAX, false, e)) {
            if (!e->status)
                dom_err_field(e, f, "format",
                              "a glob of 1-255 printable bytes with closed brackets (*MAG*)");
            continue;
        }
        if (out->len)
            buf_putc(out, '\n');
        buf_puts(out, v[i]);
    }
    return e->status ? -EINVAL : 0;
}

static int norm_countries(const char *field, const char *const *v, size_t n, struct buf *out,
                          struct dom_error *e)
{
    if (n > DOM_ACCESS_LIST_MAX)
        return dom_err_field(e, field, "too_long", "at most %d entries", DOM_ACCESS_LIST_MAX);
    for (size_t i = 0; i < n; i++) {
        char f[48];
        snprintf(f, sizeof(f), "%s[%zu]", field, i);
        if (!dom_country_valid(v[i])) {
            dom_err_field(e, f, "format", "an ISO 3166-1 alpha-2 country code (FR)");
            continue;
        }
        if (out->len)
            buf_putc(out, ',');
        char c[3] = {(char)(v[i][0] & ~0x20), (char)(v[i][1] & ~0x20), 0};
        buf_puts(out, c);
    }
    return e->status ? -EINVAL : 0;
}

struct normed {
    struct buf ips, auas, duas, acs, dcs;
};

static void normed_free(struct normed *n)
{
    buf_free(&n->ips);
    buf_free(&n->auas);
    buf_free(&n->duas);
    buf_free(&n->acs);
    buf_free(&n->dcs);
}

static int normalize(const struct dom_line_access_in *in, struct normed *o, struct dom_error *e)
{
    *o = (struct normed){BUF_INIT(0), BUF_INIT(0), BUF_INIT(0), BUF_INIT(0), BUF_INIT(0)};
    if (in->has_allowed_ips)
        norm_ips("allowed_ips", in->allowed_ips, in->n_allowed_ips, &o->ips, e);
    if (in->has_allowed_uas)
        norm_globs("allowed_user_agents", in->allowed_uas, in->n_allowed_uas, &o->auas, e);
    if (in->has_denied_uas)
        norm_globs("denied_user_agents", in->denied_uas, in->n_denied_uas, &o->duas, e);
    if (in->has_allowed_countries)
        norm_countries("allowed_countries", in->allowed_countries, in->n_allowed_countries, &o->acs,
                       e);
    if (in->has_denied_countries)
        norm_countries("denied_countries", in->denied_countries, in->n_denied_countries, &o->dcs,
                       e);
    if (in->lock_first_ip > 1)
        dom_err_field(e, "lock_first_ip", "type", "true or false");
    if (in->is_mag > 1)
        dom_err_field(e, "is_mag", "type", "true or false");
    if (in->max_daily_ips < -1 || in->max_daily_ips > DOM_ACCESS_DAILY_MAX)
        dom_err_field(e, "max_daily_ips", "range", "0 (no cap) to %d", DOM_ACCESS_DAILY_MAX);
    if (!e->status && (o->ips.err || o->auas.err || o->duas.err || o->acs.err || o->dcs.err))
        dom_err_internal(e, -ENOMEM, "normalising rules");
    return e->status ? -EINVAL : 0;
}

int dom_line_access_validate(const struct dom_line_access_in *in, struct dom_error *e)
{
    struct normed o;
    int rc = normalize(in, &o, e);
    normed_free(&o);
    return rc;
}

static int not_found(struct dom_error *e, int64_t id)
{
    return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no line with id %lld", (long long)id);
}

int dom_line_access_get(struct db *db, int64_t line_id, struct db_line_access *out,
                        struct dom_error *e)
{
    int rc = db_line_access_get(db, line_id, out);
    if (rc == -ENOENT)
        return not_found(e, line_id);
    return rc ? dom_err_internal(e, rc, "reading line access") : 0;
}

static const char *text_of(struct buf *b)
{
    return b->len ? b->data : "";
}

int dom_line_access_put(struct db *db, int64_t line_id, const struct dom_line_access_in *in,
                        int64_t now, struct dom_error *e)
{
    struct normed o;
    struct db_line_access cur;
    if (normalize(in, &o, e)) {
        normed_free(&o);
        return -EINVAL;
    }
    int rc = dom_begin(db, e);
    if (rc) {
        normed_free(&o);
        return rc;
    }
    rc = dom_line_access_get(db, line_id, &cur, e);
    if (rc)
        goto fail;
    struct db_line_access next = {
        .allowed_ips = in->has_allowed_ips ? (char *)text_of(&o.ips) : cur.allowed_ips,
        .lock_first_ip = in->lock_first_ip >= 0 ? in->lock_first_ip == 1 : cur.lock_first_ip,
        .max_daily_ips = in->max_daily_ips >= 0 ? in->max_daily_ips : cur.max_daily_ips,
        .allowed_uas = in->has_allowed_uas ? (char *)text_of(&o.auas) : cur.allowed_uas,
        .denied_uas = in->has_denied_uas ? (char *)text_of(&o.duas) : cur.denied_uas,
        .allowed_countries =
            in->has_allowed_countries ? (char *)text_of(&o.acs) : cur.allowed_countries,
        .denied_countries =
            in->has_denied_countries ? (char *)text_of(&o.dcs) : cur.denied_countries,
        .is_mag = in->is_mag >= 0 ? in->is_mag == 1 : cur.is_mag,
    };
    rc = db_line_access_set(db, line_id, &next, now);
    db_line_access_clear(&cur);
    if (rc) {
        rc = rc == -ENOENT ? not_found(e, line_id) : dom_err_internal(e, rc, "writing line access");
        goto fail;
    }
    normed_free(&o);
    return dom_commit(db, e);
fail:
    normed_free(&o);
    dom_rollback(db);
    return rc;
}

int dom_line_access_reset(struct db *db, int64_t line_id, int64_t now, struct dom_error *e)
{
    int rc = db_line_access_reset(db, line_id, now);
    if (rc == -ENOENT)
        return not_found(e, line_id);
    return rc ? dom_err_internal(e, rc, "resetting line access") : 0;
}

static void key_time(struct jsonw *w, const char *key, int64_t t)
{
    jsonw_key(w, key);
    if (t <= 0) {
        jsonw_null(w);
        return;
    }
    struct tm tm;
    time_t tt = (time_t)t;
    char s[32];
    gmtime_r(&tt, &tm);
    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
    jsonw_str(w, s);
}

static void key_list(struct jsonw *w, const char *key, const char *v, char sep)
{
    jsonw_key(w, key);
    jsonw_arr_begin(w);
    const char *p = v ? v : "";
    while (*p) {
        size_t n = strcspn(p, sep == ',' ? "," : "\n");
        jsonw_strn(w, p, n);
        p += n;
        if (*p)
            p++;
    }
    jsonw_arr_end(w);
}

void dom_line_access_write_json(struct jsonw *w, int64_t line_id, const struct db_line_access *a)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "line_id");
    jsonw_int(w, line_id);
    jsonw_key(w, "is_mag");
    jsonw_bool(w, a->is_mag);
    key_list(w, "allowed_ips", a->allowed_ips, ',');
    jsonw_key(w, "lock_first_ip");
    jsonw_bool(w, a->lock_first_ip);
    jsonw_key(w, "first_ip");
    jsonw_str(w, a->first_ip);
    jsonw_key(w, "max_daily_ips");
    jsonw_int(w, a->max_daily_ips);
    key_list(w, "allowed_user_agents", a->allowed_uas, '\n');
    key_list(w, "denied_user_agents", a->denied_uas, '\n');
    key_list(w, "allowed_countries", a->allowed_countries, ',');
    key_list(w, "denied_countries", a->denied_countries, ',');
    key_time(w, "attack_flagged_at", a->attack_flagged_at);
    jsonw_obj_end(w);
}

int dom_flagged_lines_json(struct db *db, struct jsonw *w, struct dom_error *e)
{
    int rc = db_flagged_lines_json(db, w, NULL);
    return rc ? dom_err_internal(e, rc, "listing flagged lines") : 0;
}

int dom_access_rule_check(const char *kind, const char *value, char *out, size_t outsz,
                          struct dom_error *e)
{
    if (!dom_access_kind_valid(kind))
        return dom_err_field(e, "kind", "unknown",
                             "one of ip_deny, trusted_proxy, ua_allow, ua_deny, country_allow, "
                             "country_deny");
    if (!value || !*value)
        return dom_err_field(e, "value", "required", "a value is required");
    if (strcmp(kind, "ip_deny") == 0 || strcmp(kind, "trusted_proxy") == 0) {
        struct ipnet net;
        if (ipnet_parse(value, strlen(value), &net))
            return dom_err_field(e, "value", "format",
                                 "an IPv4/IPv6 address or CIDR range without host bits");
        ipnet_format(&net, out, outsz);
    } else if (strncmp(kind, "ua_", 3) == 0) {
        if (!dom_glob_valid(value))
            return dom_err_field(e, "value", "format",
                                 "a glob of 1-255 printable bytes with closed brackets");
        snprintf(out, outsz, "%s", value);
    } else {
        if (!dom_country_valid(value))
            return dom_err_field(e, "value", "format", "an ISO 3166-1 alpha-2 country code");
        snprintf(out, outsz, "%c%c", value[0] & ~0x20, value[1] & ~0x20);
    }
    return 0;
}

int dom_access_rule_add(struct db *db, const char *kind, const char *value, const char *note,
                        int64_t now, int64_t *id, struct dom_error *e)
{
    char canon[DOM_ACCESS_UA_MAX + 1];
    if (dom_access_rule_check(kind, value, canon, sizeof(canon), e))
        return -EINVAL;
    if (note && dom_check_text("note", note, DOM_ACCESS_NOTE_MAX, true, e))
        return -EINVAL;
    int rc = db_access_rule_add(db, kind, canon, note, now, id);
    if (rc == -EEXIST)
        return dom_err_set(e, 409, DOM_E_EXISTS, "the rule %s %s exists already", kind, canon);
    return rc ? dom_err_internal(e, rc, "adding an access rule") : 0;
}

int dom_access_rule_del(struct db *db, int64_t id, struct dom_error *e)
{
    int rc = db_access_rule_del(db, id);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no access rule with id %lld", (long long)id);
    return rc ? dom_err_internal(e, rc, "deleting an access rule") : 0;
}

int dom_access_rules_json(struct db *db, const char *kind, struct jsonw *w, struct dom_error *e)
{
    if (kind && !dom_access_kind_valid(kind))
        return dom_err_field(e, "kind", "unknown", "an access rule kind");
    int rc = db_access_rules_json(db, kind, w, NULL);
    return rc ? dom_err_internal(e, rc, "listing access rules") : 0;
}

int dom_ban_check_ip(const char *field, const char *ip, char *out, size_t outsz,
                     struct dom_error *e)
{
    struct ipnet net;
    if (!ip || ipnet_parse(ip, strlen(ip), &net) ||
        (net.prefix != 128 && !(net.prefix == 64 && !ipnet_is_v4(&net.addr))))
        return dom_err_field(e, field, "format", "an IP address, or an IPv6 /64");
    ipnet_format(&net, out, outsz);
    return 0;
}

int dom_ban_del(struct db *db, const char *ip, struct dom_error *e)
{
    char canon[IPNET_TEXT_MAX];
    if (dom_ban_check_ip("ip", ip, canon, sizeof(canon), e))
        return -EINVAL;
    int rc = db_ban_del(db, canon);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no ban of %s", canon);
    return rc ? dom_err_internal(e, rc, "lifting a ban") : 0;
}

int dom_bans_json(struct db *db, bool all, int64_t now, struct jsonw *w, struct dom_error *e)
{
    int rc = db_bans_json(db, all, now, w, NULL);
    return rc ? dom_err_internal(e, rc, "listing bans") : 0;
}

int dom_refusals_json(struct db *db, const struct db_refusal_filter *f, struct jsonw *w,
                      struct dom_error *e)
{
    if (f->reason && !dom_refusal_reason_valid(f->reason))
        return dom_err_field(e, "reason", "unknown", "a refusal reason code");
    if (f->limit < 0 || f->limit > 1000)
        return dom_err_field(e, "limit", "range", "1-1000");
    int rc = db_refusals_json(db, f, w, NULL);
    return rc ? dom_err_internal(e, rc, "listing refusals") : 0;
}
