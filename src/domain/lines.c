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
#include <time.h>

#include "db/bouquets.h"
#include "db/db.h"
#include "domain/line_state.h"

static const char cred_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789._@-";

void dom_line_in_init(struct dom_line_in *in)
{
    memset(in, 0, sizeof(*in));
    in->trial = in->enabled = in->banned = -1;
}

const char *dom_line_status(const struct db_line *l, int64_t now)
{
    return dom_line_state_name(
        dom_line_state(l->banned, l->enabled, l->has_exp ? l->exp_date : 0, now));
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
    if (in->expires)
        dom_parse_expires("expires", in->expires, &v->has_exp, &v->exp_ts, e);
    if (in->has_exp_date && in->expires)
        dom_err_field(e, "exp_date", "conflict", "give expires or exp_date, not both");
    else if (in->has_exp_date && (in->exp_date < 0 || in->exp_date > 253402300799LL))
        dom_err_field(e, "exp_date", "range", "must be 0 (never) to 253402300799, got %lld",
                      in->exp_date);
    else if (in->has_exp_date) {
        v->has_exp = in->exp_date != 0;
        v->exp_ts = in->exp_date;
    }
    if (in->outputs)
        dom_parse_outputs("outputs", in->outputs, v->outputs, sizeof(v->outputs), e);
    if (in->message)
        dom_check_text("message", in->message, DOM_LINE_MESSAGE_MAX, true, e);
    if (in->has_bouquets && in->bouquet_count > DOM_LINE_BOUQUETS_MAX)
        dom_err_field(e, "bouquets", "too_long", "at most %d bouquets", DOM_LINE_BOUQUETS_MAX);
    for (size_t i = 0; in->has_bouquets && i < in->bouquet_count && i < DOM_LINE_BOUQUETS_MAX;
         i++) {
        char f[48];
        snprintf(f, sizeof(f), "bouquets[%zu]", i);
        if (!*in->bouquets[i])
            dom_err_field(e, f, "required", "empty bouquet name");
    }
    return e->status ? -EINVAL : 0;
}

int dom_line_validate(const struct dom_line_in *in, bool create, struct dom_error *e)
{
    struct line_vals v = {0};
    return check_in(in, create, &v, e);
}

/* Looks up every bouquet name into ids; 422 DOM_E_REFERENCE on the first
 * unknown one. */
static int resolve_bouquets(struct db *db, const struct dom_line_in *in, int64_t *ids,
                            struct dom_error *e)
{
    for (size_t i = 0; in->has_bouquets && i < in->bouquet_count; i++) {
        int rc = db_bouquet_find(db, in->bouquets[i], &ids[i]);
        if (rc == -ENOENT) {
            char f[48];
            snprintf(f, sizeof(f), "bouquets[%zu]", i);
            dom_err_set(e, 422, DOM_E_REFERENCE, "unknown bouquet '%s'", in->bouquets[i]);
            return dom_err_field(e, f, "unknown", "unknown bouquet '%s' (see xtreamd bouquet list)",
                                 in->bouquets[i]);
        }
        if (rc)
            return dom_err_internal(e, rc, "looking up a bouquet");
    }
    return 0;
}

int dom_line_create(struct db *db, const struct dom_line_in *in, struct dom_line_created *out,
                    struct dom_error *e)
{
    struct line_vals v = {0};
    int64_t ids[DOM_LINE_BOUQUETS_MAX];
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
    struct db_line l = {
        .username = (char *)in->username,
        .password = out->password,
        .max_connections = in->has_max_connections ? in->max_connections : 1,
        .has_exp = v.has_exp,
        .exp_date = v.has_exp ? v.exp_ts : 0,
        .is_trial = in->trial == 1,
        .enabled = in->enabled != 0,
        .banned = in->banned == 1,
        .allowed_outputs = in->outputs ? v.outputs : "ts,m3u8",
        .message = (char *)(in->message ? in->message : ""),
    };
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
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
    if (rc == 0)
        rc = db_commit(db);
    if (rc) {
        dom_err_internal(e, rc, "creating the line");
        goto fail;
    }
    out->id = l.id;
    return 0;
fail:
    db_rollback(db);
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

int dom_line_update(struct db *db, const char *username, const struct dom_line_in *in,
                    struct dom_error *e)
{
    struct line_vals v = {0};
    struct db_line l = {0};
    int64_t ids[DOM_LINE_BOUQUETS_MAX];
    if (check_in(in, false, &v, e))
        return -EINVAL;
    int rc = db_begin(db);
    if (rc)
        return dom_err_internal(e, rc, "starting a transaction");
    rc = db_line_get(db, username, &l);
    if (rc == -ENOENT) {
        dom_err_set(e, 404, DOM_E_NOT_FOUND, "no line '%s'", username);
        goto fail;
    }
    if (rc)
        goto dberr;
    rc = resolve_bouquets(db, in, ids, e);
    if (rc)
        goto fail;
    if ((in->password && (rc = swap_str(&l.password, in->password))) ||
        (in->outputs && (rc = swap_str(&l.allowed_outputs, v.outputs))) ||
        (in->message && (rc = swap_str(&l.message, in->message))))
        goto dberr;
    if (in->has_max_connections)
        l.max_connections = in->max_connections;
    if (in->expires || in->has_exp_date) {
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

int dom_line_get(struct db *db, const char *username, struct db_line *out, struct dom_error *e)
{
    int rc = db_line_get(db, username, out);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no line '%s'", username);
    return rc ? dom_err_internal(e, rc, "reading the line") : 0;
}

int dom_line_list(struct db *db, struct db_line **out, size_t *n, struct dom_error *e)
{
    int rc = db_line_list(db, out, n);
    return rc ? dom_err_internal(e, rc, "listing lines") : 0;
}

int dom_line_delete(struct db *db, const char *username, struct dom_error *e)
{
    int rc = db_line_delete(db, username);
    if (rc == -ENOENT)
        return dom_err_set(e, 404, DOM_E_NOT_FOUND, "no line '%s'", username);
    return rc ? dom_err_internal(e, rc, "deleting the line") : 0;
}
