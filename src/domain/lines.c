/*
 * domain/lines: see lines.h. Usernames and passwords are restricted to
 * [A-Za-z0-9._@-] (1-64 chars) because clients put them unescaped into URL
 * paths (API §1.5).
 */
#include "domain/lines.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "db/bouquets.h"
#include "db/db.h"
#include "db/plans.h"
#include "domain/line_state.h"
#include "domain/plans.h"
#include "domain/settings.h"
#include "domain/time.h"

static const char cred_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789._@-";

void dom_line_in_init(struct dom_line_in *in)
{
    memset(in, 0, sizeof(*in));
    in->trial = in->enabled = in->banned = -1;
}

static enum dom_line_state state_of(const struct db_line *l, int64_t now)
{
    return dom_line_state(l->banned, l->enabled, l->has_exp ? l->exp_date : 0, now);
}

const char *dom_line_status(const struct db_line *l, int64_t now)
{
    return dom_line_state_name(state_of(l, now));
}

const char *dom_line_status_key(const struct db_line *l, int64_t now)
{
    switch (state_of(l, now)) {
    case DOM_LINE_EXPIRED:
        return "expired";
    case DOM_LINE_DISABLED:
        return "disabled";
    case DOM_LINE_BANNED:
        return "banned";
    case DOM_LINE_ACTIVE:
        break;
    }
    return "active";
}

int dom_check_credential(const char *field, const char *s, struct dom_error *e)
{
    size_t n = strlen(s);
    if (n == 0 || n > DOM_LINE_CRED_MAX)
        return dom_err_field(e, field, n ? "too_long" : "required",
                             "must be 1-%d characters (got %zu)", DOM_LINE_CRED_MAX, n);
    size_t bad = strspn(s, cred_alphabet);
    if (bad < n) {
        unsigned char c = (unsigned char)s[bad];
        if (c > 0x20 && c < 0x7f)
            return dom_err_field(e, field, "charset",
                                 "contains '%c' at position %zu (allowed: A-Z a-z 0-9 . _ @ -)", c,
                                 bad + 1);
        return dom_err_field(e, field, "charset",
                             "contains byte 0x%02x at position %zu (allowed: A-Z a-z 0-9 . _ @ -)",
                             c, bad + 1);
    }
    return 0;
}

int dom_parse_expires(const char *field, const char *s, bool *has, int64_t *ts, struct dom_error *e)
{
    if (strcmp(s, "never") == 0) {
        *has = false;
        *ts = 0;
        return 0;
    }
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 0, m = 0, d = 0;
    bool ok = strlen(s) == 10 && s[4] == '-' && s[7] == '-';
    for (int i = 0; ok && i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            ok = false;
    if (ok) {
        y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        m = (s[5] - '0') * 10 + (s[6] - '0');
        d = (s[8] - '0') * 10 + (s[9] - '0');
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        ok = y >= 1970 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 &&
             d <= mdays[m - 1] + (m == 2 && leap ? 1 : 0);
    }
    if (!ok)
        return dom_err_field(e, field, "format",
                             "invalid date '%.32s' (expected YYYY-MM-DD or never)", s);
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    *ts = (int64_t)timegm(&tm);
    /* 0 is "never" to the Xtream API and the catalogue (line_state.h). */
    if (*ts <= 0)
        return dom_err_field(e, field, "range", "'%s' is the epoch, which means never", s);
    *has = true;
    return 0;
}

int dom_parse_outputs(const char *field, const char *s, char *out, size_t outsz,
                      struct dom_error *e)
{
    bool seen_ts = false, seen_hls = false;
    size_t len = 0;
    const char *p = s;
    out[0] = '\0';
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *canon = NULL;
        if ((n == 2 && strncmp(p, "ts", 2) == 0) || (n == 6 && strncmp(p, "mpegts", 6) == 0))
            canon = "ts";
        else if ((n == 4 && strncmp(p, "m3u8", 4) == 0) || (n == 3 && strncmp(p, "hls", 3) == 0))
            canon = "m3u8";
        if (!canon)
            return dom_err_field(e, field, "format",
                                 "unknown output '%.*s' (expected ts, m3u8, mpegts, hls)",
                                 (int)(n > 64 ? 64 : n), p);
        bool *seen = canon[0] == 't' ? &seen_ts : &seen_hls;
        if (!*seen) {
            *seen = true;
            int w = snprintf(out + len, outsz - len, "%s%s", len ? "," : "", canon);
            if (w < 0 || (size_t)w >= outsz - len)
                return dom_err_field(e, field, "too_long", "too many outputs");
            len += (size_t)w;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

static int gen_password(char *out, size_t n)
{
    if (sodium_init() < 0)
        return -EIO;
    uint32_t k = (uint32_t)(sizeof(cred_alphabet) - 1);
    for (size_t i = 0; i < n; i++)
        out[i] = cred_alphabet[randombytes_uniform(k)];
    out[n] = '\0';
    return 0;
}

/* The checked, converted form of a dom_line_in. */
struct line_vals {
    bool has_exp;
    int64_t exp_ts;
    char outputs[16];
};

/* Checks every given field of in, reporting each bad one. */
void dom_check_username_in(const char *username, bool create, struct dom_error *e)
{
    if (create) {
        if (!username)
            dom_err_field(e, "username", "required", "is required");
        else
            dom_check_credential("username", username, e);
    } else if (username) {
        dom_err_field(e, "username", "read_only", "cannot be changed");
    }
}

void dom_bouquets_check(const char *const *names, const int64_t *ids, size_t n, struct dom_error *e)
{
    if (n > DOM_LINE_BOUQUETS_MAX)
        dom_err_field(e, "bouquets", "too_long", "at most %d bouquets", DOM_LINE_BOUQUETS_MAX);
    for (size_t i = 0; i < n && i < DOM_LINE_BOUQUETS_MAX; i++) {
        char f[48];
        snprintf(f, sizeof(f), "bouquets[%zu]", i);
        if (names[i] ? !*names[i] : !ids || ids[i] <= 0)
            dom_err_field(e, f, names[i] ? "required" : "range",
                          names[i] ? "empty bouquet name" : "a bouquet id is a positive integer");
    }
}

static int check_in(const struct dom_line_in *in, bool create, struct line_vals *v,
                    struct dom_error *e)
{
    dom_check_username_in(in->username, create, e);
    if (in->password)
        dom_check_credential("password", in->password, e);
    if (in->has_max_connections &&
        (in->max_connections < 0 || in->max_connections > DOM_LINE_MAX_CONN_LIMIT))
        dom_err_field(e, "max_connections", "range", "must be 0-%d (0 = unlimited), got %lld",
                      DOM_LINE_MAX_CONN_LIMIT, in->max_connections);
    int nexp = (in->expires != NULL) + in->has_exp_date + (in->exp_date_text != NULL);
    if (in->expires)
        dom_parse_expires("expires", in->expires, &v->has_exp, &v->exp_ts, e);
    if (nexp > 1)
        dom_err_field(e, "exp_date", "conflict", "give expires or exp_date, not both");
    else if (in->exp_date_text && dom_parse_time("exp_date", in->exp_date_text, &v->exp_ts, e) == 0)
        v->has_exp = v->exp_ts != 0;
    else if (in->has_exp_date && (in->exp_date < 0 || in->exp_date > DOM_TIME_MAX))
        dom_err_field(e, "exp_date", "range", "must be 0 (never) to %lld, got %lld", DOM_TIME_MAX,
                      in->exp_date);
    else if (in->has_exp_date) {
        v->has_exp = in->exp_date != 0;
        v->exp_ts = in->exp_date;
    }
    if (in->outputs)
        dom_parse_outputs("allowed_outputs", in->outputs, v->outputs, sizeof(v->outputs), e);
    if (in->message)
        dom_check_text("message", in->message, DOM_LINE_MESSAGE_MAX, true, e);
    if (in->notes)
        dom_check_multiline("notes", in->notes, DOM_LINE_NOTES_MAX, e);
    if (in->has_bouquets)
        dom_bouquets_check(in->bouquets, in->bouquet_ids, in->bouquet_count, e);
    if (!create && (in->has_plan_id || in->plan))
        dom_err_field(e, "plan_id", "create_only", "a plan applies when a line is created");
    else if (in->has_plan_id && in->plan_id <= 0)
        dom_err_field(e, "plan_id", "range", "must be a positive integer");
    else if (in->has_plan_id && in->plan)
        dom_err_field(e, "plan_id", "conflict", "give the plan by id or by name, not both");
    return e->status ? -EINVAL : 0;
}

int dom_line_validate(const struct dom_line_in *in, bool create, struct dom_error *e)
{
    struct line_vals v = {0};
    return check_in(in, create, &v, e);
}

int dom_bouquets_resolve(struct db *db, const char *const *names, const int64_t *ids, size_t n,
                         int64_t *out, struct dom_error *e)
{
    for (size_t i = 0; i < n; i++) {
        char f[48];
        snprintf(f, sizeof(f), "bouquets[%zu]", i);
        int rc;
        if (names[i]) {
            rc = db_bouquet_find(db, names[i], &out[i]);
        } else {
            out[i] = ids[i];
            rc = db_bouquet_id_exists(db, ids[i]);
        }
        if (rc == -ENOENT && names[i]) {
            dom_err_set(e, 422, DOM_E_REFERENCE, "unknown bouquet '%s'", names[i]);
            return dom_err_field(e, f, "unknown", "unknown bouquet '%s' (see xtreamd bouquet list)",
                                 names[i]);
        }
        if (rc == -ENOENT) {
            dom_err_set(e, 422, DOM_E_REFERENCE, "unknown bouquet %lld", (long long)ids[i]);
            return dom_err_field(e, f, "unknown", "no bouquet with id %lld", (long long)ids[i]);
        }
        if (rc)
            return dom_err_internal(e, rc, "looking up a bouquet");
    }
    return 0;
}

static int resolve_bouquets(struct db *db, const struct dom_line_in *in, int64_t *ids,
                            struct dom_error *e)
{
    if (!in->has_bouquets)
        return 0;
    return dom_bouquets_resolve(db, in->bouquets, in->bouquet_ids, in->bouquet_count, ids, e);
}

/* The plan of a create (by id or name) into *p; 422 naming plan_id. */
static int load_plan(struct db *db, const struct dom_line_in *in, struct db_plan *p,
                     struct dom_error *e)
{
    int64_t id = in->plan_id;
    int rc = 0;
    if (in->plan)
        rc = db_plan_find(db, in->plan, &id);
    if (rc == 0)
        rc = db_plan_get_id(db, id, p);
    if (rc == -ENOENT) {
        if (in->plan)
            dom_err_set(e, 422, DOM_E_REFERENCE, "unknown plan '%s'", in->plan);
        else
            dom_err_set(e, 422, DOM_E_REFERENCE, "unknown plan %lld", (long long)id);
        return dom_err_field(e, "plan_id", "unknown", "no such plan");
    }
    return rc ? dom_err_internal(e, rc, "reading the plan") : 0;
}

int dom_line_create(struct db *db, const struct dom_line_in *in, struct dom_line_created *out,
                    struct dom_error *e)
{
    struct line_vals v = {0};
    struct db_plan plan = {0};
    int64_t ids[DOM_LINE_BOUQUETS_MAX];
    char def_outputs[16];
    memset(out, 0, sizeof(*out));
    if (check_in(in, true, &v, e))
        return -EINVAL;
    if (in->password) {
        snprintf(out->password, sizeof(out->password), "%s", in->password);
    } else {
        if (gen_password(out->password, DOM_LINE_GEN_PW_LEN))
            return dom_err_internal(e, -EIO, "initialising libsodium");
        out->password_generated = true;
    }
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    bool from_plan = in->has_plan_id || in->plan;
    if (from_plan && (rc = load_plan(db, in, &plan, e)))
        goto fail;
    int64_t now = db_now();
    /* What is not given comes from the plan, else from the settings. */
    dom_setting_text(db, "default_outputs", def_outputs, sizeof(def_outputs));
    bool trial = in->trial != -1 ? in->trial == 1 : from_plan && plan.is_trial;
    bool given_exp = in->expires || in->has_exp_date || in->exp_date_text;
    int64_t exp = v.has_exp ? v.exp_ts : 0;
    if (!given_exp && from_plan) {
        exp = dom_plan_expiry(&plan, now);
    } else if (!given_exp && trial) {
        long long hours = dom_setting_int(db, "trial_hours");
        exp = hours ? now + hours * 3600 : 0;
    }
    struct db_line l = {
        .username = (char *)in->username,
        .password = out->password,
        .max_connections = in->has_max_connections ? in->max_connections
                           : from_plan             ? plan.max_connections
                                                   : dom_setting_int(db, "default_max_connections"),
        .has_exp = exp != 0,
        .exp_date = exp,
        .is_trial = trial,
        .enabled = in->enabled != 0,
        .banned = in->banned == 1,
        .allowed_outputs = in->outputs ? v.outputs
                           : from_plan ? plan.allowed_outputs
                                       : def_outputs,
        .message = (char *)(in->message ? in->message : ""),
        .notes = (char *)(in->notes ? in->notes : ""),
    };
    rc = resolve_bouquets(db, in, ids, e);
    if (rc)
        goto fail;
    rc = db_line_insert(db, &l);
    if (rc == -EEXIST) {
        dom_err_set(e, 409, DOM_E_EXISTS, "line '%s' already exists", in->username);
        dom_err_field(e, "username", "conflict", "line '%s' already exists", in->username);
        rc = -EEXIST;
        goto fail;
    }
    if (rc == 0 && in->has_bouquets)
        rc = db_line_set_bouquets(db, l.id, ids, in->bouquet_count);
    else if (rc == 0 && from_plan)
        rc = db_line_set_bouquets(db, l.id, plan.bouquet_ids, plan.bouquet_count);
    if (rc == 0)
        rc = db_commit(db);
    if (rc) {
        dom_err_internal(e, rc, "creating the line");
        goto fail;
    }
    out->id = l.id;
    db_plan_clear(&plan);
    return 0;
fail:
    db_rollback(db);
    db_plan_clear(&plan);
    return rc;
}

/* Replaces *slot with a heap copy of s; -ENOMEM. */
static int swap_str(char **slot, const char *s)
{
    char *c = strdup(s);
    if (!c)
        return -ENOMEM;
    free(*slot);
    *slot = c;
    return 0;
}

/* Reads the line addressed by username (non-NULL) or id: 404 naming it. */
static int get_line(struct db *db, const char *username, int64_t id, struct db_line *l,
                    struct dom_error *e)
{
    int rc = username ? db_line_get(db, username, l) : db_line_get_id(db, id, l);
    if (rc == -ENOENT && username)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no line '%s'", username);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no line %lld", (long long)id);
    return rc ? dom_err_internal(e, rc, "reading the line") : 0;
}

/* The update of dom_line_update / dom_line_update_id. */
static int update_line(struct db *db, const char *username, int64_t id,
                       const struct dom_line_in *in, struct dom_error *e)
{
    struct line_vals v = {0};
    struct db_line l = {0};
    int64_t ids[DOM_LINE_BOUQUETS_MAX];
    if (check_in(in, false, &v, e))
        return -EINVAL;
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    rc = get_line(db, username, id, &l, e);
    if (rc)
        goto fail;
    rc = resolve_bouquets(db, in, ids, e);
    if (rc)
        goto fail;
    if ((in->password && (rc = swap_str(&l.password, in->password))) ||
        (in->outputs && (rc = swap_str(&l.allowed_outputs, v.outputs))) ||
        (in->message && (rc = swap_str(&l.message, in->message))) ||
        (in->notes && (rc = swap_str(&l.notes, in->notes))))
        goto dberr;
    if (in->has_max_connections)
        l.max_connections = in->max_connections;
    if (in->expires || in->has_exp_date || in->exp_date_text) {
        l.has_exp = v.has_exp;
        l.exp_date = v.exp_ts;
    }
    if (in->trial != -1)
        l.is_trial = in->trial;
    if (in->enabled != -1)
        l.enabled = in->enabled;
    if (in->banned != -1)
        l.banned = in->banned;
    rc = db_line_update(db, &l);
    if (rc == 0 && in->has_bouquets)
        rc = db_line_set_bouquets(db, l.id, ids, in->bouquet_count);
    if (rc == 0)
        rc = db_commit(db);
    if (rc)
        goto dberr;
    db_line_clear(&l);
    return 0;
dberr:
    rc = dom_err_internal(e, rc, "updating the line");
fail:
    db_rollback(db);
    db_line_clear(&l);
    return rc;
}

int dom_line_update(struct db *db, const char *username, const struct dom_line_in *in,
                    struct dom_error *e)
{
    return update_line(db, username, 0, in, e);
}

int dom_line_update_id(struct db *db, int64_t id, const struct dom_line_in *in, struct dom_error *e)
{
    return update_line(db, NULL, id, in, e);
}

int dom_line_get(struct db *db, const char *username, struct db_line *out, struct dom_error *e)
{
    return get_line(db, username, 0, out, e);
}

int dom_line_get_id(struct db *db, int64_t id, struct db_line *out, struct dom_error *e)
{
    return get_line(db, NULL, id, out, e);
}

int dom_line_list(struct db *db, struct db_line **out, size_t *n, struct dom_error *e)
{
    int rc = db_line_list(db, out, n);
    return rc ? dom_err_internal(e, rc, "listing lines") : 0;
}

static int delete_line(struct db *db, const char *username, int64_t id, struct dom_error *e)
{
    int rc = username ? db_line_delete(db, username) : db_line_delete_id(db, id);
    if (rc == -ENOENT && username)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no line '%s'", username);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no line %lld", (long long)id);
    return rc ? dom_err_internal(e, rc, "deleting the line") : 0;
}

int dom_line_delete(struct db *db, const char *username, struct dom_error *e)
{
    return delete_line(db, username, 0, e);
}

int dom_line_delete_id(struct db *db, int64_t id, struct dom_error *e)
{
    return delete_line(db, NULL, id, e);
}

const char *const dom_line_sort_keys[] = {
    "id", "username", "exp_date", "created_at", "updated_at", "max_connections", NULL,
};

/* A positive integer query value. */
static bool parse_id(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || *s == '+' || *s == ' ')
        return false;
    *out = v;
    return true;
}

int dom_line_page(struct db *db, const struct dom_line_filter *f, const struct db_page *p,
                  struct db_line **out, size_t *n, int64_t *total, struct dom_error *e)
{
    static const char *const names[] = {"active", "expired", "disabled", "banned", "trial"};
    static const enum db_line_status_filter vals[] = {
        DB_LINE_ACTIVE, DB_LINE_EXPIRED, DB_LINE_DISABLED, DB_LINE_BANNED, DB_LINE_TRIAL,
    };
    struct db_line_filter df = {
        .status = DB_LINE_ANY, .now = f->now, .owner_subtree = f->owner_subtree};
    *out = NULL;
    *n = 0;
    *total = 0;
    if (f->status) {
        size_t i = 0;
        while (i < 5 && strcasecmp(f->status, names[i]))
            i++;
        if (i == 5)
            dom_err_field(e, "status", "unknown",
                          "must be active, expired, disabled, banned or trial");
        else
            df.status = vals[i];
    }
    if (f->expires_before &&
        dom_parse_time("expires_before", f->expires_before, &df.expires_before, e) == 0)
        df.has_expires_before = true;
    if (f->expires_after &&
        dom_parse_time("expires_after", f->expires_after, &df.expires_after, e) == 0)
        df.has_expires_after = true;
    if (f->bouquet_id && !parse_id(f->bouquet_id, &df.bouquet_id))
        dom_err_field(e, "bouquet_id", "format", "must be a positive integer");
    if (p->limit < 1 || p->limit > DB_PAGE_LIMIT)
        dom_err_field(e, "page_size", "range", "must be 1-%d", DB_PAGE_LIMIT);
    if (p->offset < 0)
        dom_err_field(e, "page", "range", "must be 1 or more");
    for (size_t i = 0; i < p->nsort && i < DB_SORT_MAX; i++) {
        size_t k = 0;
        while (dom_line_sort_keys[k] && (!p->sort[i] || strcmp(dom_line_sort_keys[k], p->sort[i])))
            k++;
        if (!dom_line_sort_keys[k])
            dom_err_field(e, "sort", "unknown",
                          "sort by id, username, exp_date, created_at, updated_at or "
                          "max_connections");
    }
    if (e->status)
        return -EINVAL;
    int rc = db_line_page(db, &df, p, out, n, total);
    return rc ? dom_err_internal(e, rc, "listing lines") : 0;
}

void dom_line_write_json(struct jsonw *w, const struct db_line *l, int64_t now)
{
    jsonw_obj_begin(w);
    dom_line_write_members(w, l, now);
    jsonw_obj_end(w);
}

void dom_line_write_members(struct jsonw *w, const struct db_line *l, int64_t now)
{
    jsonw_key(w, "id");
    jsonw_int(w, l->id);
    jsonw_key(w, "username");
    jsonw_str(w, l->username);
    jsonw_key(w, "password");
    jsonw_str(w, l->password);
    jsonw_key(w, "status");
    jsonw_str(w, dom_line_status(l, now));
    jsonw_key(w, "max_connections");
    jsonw_int(w, l->max_connections);
    jsonw_key(w, "owner_id"); /* the reseller that owns it; null: the admins' own */
    if (l->owner_id)
        jsonw_int(w, l->owner_id);
    else
        jsonw_null(w);
    dom_write_time(w, "exp_date", l->has_exp ? l->exp_date : 0, true);
    jsonw_key(w, "exp_date_epoch");
    if (l->has_exp && l->exp_date)
        jsonw_int(w, l->exp_date);
    else
        jsonw_null(w);
    jsonw_key(w, "is_trial");
    jsonw_bool(w, l->is_trial);
    jsonw_key(w, "enabled");
    jsonw_bool(w, l->enabled);
    jsonw_key(w, "banned");
    jsonw_bool(w, l->banned);
    jsonw_key(w, "allowed_outputs");
    jsonw_arr_begin(w);
    for (const char *p = l->allowed_outputs ? l->allowed_outputs : ""; *p;) {
        size_t k = strcspn(p, ",");
        if (k)
            jsonw_strn(w, p, k);
        p += k + (p[k] == ',');
    }
    jsonw_arr_end(w);
    jsonw_key(w, "message");
    jsonw_str(w, l->message ? l->message : "");
    jsonw_key(w, "notes");
    jsonw_str(w, l->notes ? l->notes : "");
    jsonw_key(w, "bouquets");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < l->bouquet_count; i++) {
        jsonw_obj_begin(w);
        jsonw_key(w, "id");
        jsonw_int(w, l->bouquet_ids ? l->bouquet_ids[i] : 0);
        jsonw_key(w, "name");
        jsonw_str(w, l->bouquets[i]);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    dom_write_time(w, "created_at", l->created_at, false);
    dom_write_time(w, "updated_at", l->updated_at, false);
}

int dom_line_extend_validate(const struct dom_line_extend_in *in, struct dom_error *e)
{
    int given = (in->days != 0) + (in->months != 0) + (in->until != NULL);
    int64_t ts;
    if (given != 1)
        return dom_err_field(e,
                             !given      ? "days"
                             : in->until ? "until"
                                         : "months",
                             given ? "conflict" : "required",
                             "give exactly one of days, months or until");
    if (in->days && (in->days < 1 || in->days > DOM_EXTEND_DAYS_MAX))
        dom_err_field(e, "days", "range", "must be 1-%d, got %lld", DOM_EXTEND_DAYS_MAX,
                      (long long)in->days);
    if (in->months && (in->months < 1 || in->months > DOM_EXTEND_MONTHS_MAX))
        dom_err_field(e, "months", "range", "must be 1-%d, got %lld", DOM_EXTEND_MONTHS_MAX,
                      (long long)in->months);
    if (in->until)
        dom_parse_time("until", in->until, &ts, e);
    return e->status ? -EINVAL : 0;
}

int dom_line_extend(struct db *db, int64_t id, const struct dom_line_extend_in *in, int64_t now,
                    int64_t *new_exp, struct dom_error *e)
{
    struct db_line l = {0};
    int64_t until = 0;
    if (dom_line_extend_validate(in, e))
        return -EINVAL;
    if (in->until)
        dom_parse_time("until", in->until, &until, e);
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    rc = get_line(db, NULL, id, &l, e);
    if (rc)
        goto fail;
    if (!l.has_exp || l.exp_date == 0) {
        rc = dom_err_set(e, 409, DOM_E_NEVER_EXPIRES,
                         "line %lld never expires: set an exp_date instead of extending it",
                         (long long)id);
        goto fail;
    }
    /* From the later of now and the current expiry: an expired line gets the
     * whole extension from today, a running one keeps its remaining time. */
    int64_t base = l.exp_date > now ? l.exp_date : now;
    int64_t exp = in->days     ? base + in->days * 86400
                  : in->months ? dom_add_months(base, in->months)
                               : until;
    if (in->until && until <= base) {
        rc = dom_err_field(e, "until", "range",
                           "must be after the line's current expiry (or now): an extension "
                           "never shortens");
        goto fail;
    }
    if (exp > DOM_TIME_MAX) {
        rc = dom_err_field(e, in->days ? "days" : "months", "range", "goes beyond 9999-12-31");
        goto fail;
    }
    l.exp_date = exp;
    rc = db_line_update(db, &l);
    if (rc == 0)
        rc = db_commit(db);
    if (rc) {
        rc = dom_err_internal(e, rc, "extending the line");
        goto fail;
    }
    if (new_exp)
        *new_exp = exp;
    db_line_clear(&l);
    return 0;
fail:
    db_rollback(db);
    db_line_clear(&l);
    return rc;
}
