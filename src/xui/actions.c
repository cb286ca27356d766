/*
 * xui/actions.c: authentication, the action table and the XUI answers (see
 * xui.h). Every action calls the domain service the REST API calls for the
 * same thing (docs/admin-api.md "XUI-compatible API" has the table) inside
 * one transaction with the same audit row.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "domain/admin_auth.h"
#include "domain/lines.h"
#include "domain/credits.h"
#include "domain/plans.h"
#include "domain/resellers.h"
#include "domain/tx.h"
#include "xui/xui.h"

/* Failed keys from one address lock it like failed admin logins
 * (domain/admin_auth.h's brake), in entries of their own ("xui:<ip>") so
 * that a misconfigured billing system does not lock the panel's logins. */
#define BRAKE_PREFIX "xui:"

struct call {
    struct db *db;
    const struct xui_ctx *ctx;
    const struct xui_form *f;
    struct jsonw *w;
    struct dom_principal who;
    struct dom_actor actor; /* who, as the reseller domain sees it */
    struct dom_error e;
};

/* ---- answers ---------------------------------------------------------------------- */

static void fail(struct call *c, const char *status, const char *code, const char *error)
{
    struct jsonw *w = c->w;
    jsonw_obj_begin(w);
    jsonw_key(w, "status");
    jsonw_str(w, status);
    jsonw_key(w, "error");
    jsonw_str(w, error);
    jsonw_key(w, "code");
    jsonw_str(w, code);
    jsonw_obj_end(w);
}

const char *xui_status_of(const struct dom_error *e)
{
    const char *code = e->code ? e->code : "";
    if (e->status == 404)
        return "STATUS_FAILURE"; /* XUI's answer to an id it does not have (or may not show) */
    if (!strcmp(code, DOM_E_EXISTS))
        return "STATUS_EXISTS_USERNAME";
    if (!strcmp(code, "INSUFFICIENT_CREDITS"))
        return "STATUS_INSUFFICIENT_CREDITS";
    if (!strcmp(code, "TRIAL_LIMIT"))
        return "STATUS_NO_TRIALS";
    if (e->status == 403)
        return "STATUS_NO_PERMISSIONS";
    if (e->status == 422 || e->status == 400) {
        const char *field = e->nfields ? e->fields[0].field : "";
        if (!strcmp(field, "username"))
            return "STATUS_INVALID_USERNAME";
        if (!strcmp(field, "password"))
            return "STATUS_INVALID_PASSWORD";
        if (!strcmp(field, "exp_date") || !strcmp(field, "expires"))
            return "STATUS_INVALID_DATE";
        if (!strcmp(field, "plan_id") || !strcmp(field, "package"))
            return "STATUS_INVALID_PACKAGE";
        return "STATUS_INVALID_INPUT";
    }
    return "STATUS_FAILURE";
}

/* Our field names as the XUI form calls them, in error answers. */
static const char *xui_field(const char *f)
{
    static const char *const map[][2] = {
        {"plan_id", "package"},      {"bouquets", "bouquets_selected"},
        {"banned", "admin_enabled"}, {"allowed_outputs", "access_output"},
        {"trial", "trial"},          {NULL, NULL},
    };
    for (size_t i = 0; map[i][0]; i++)
        if (strcmp(f, map[i][0]) == 0)
            return map[i][1];
    return f;
}

/* The domain error as an XUI answer; its field errors follow in "errors". */
static int fail_dom(struct call *c)
{
    struct jsonw *w = c->w;
    const struct dom_error *e = &c->e;
    jsonw_obj_begin(w);
    jsonw_key(w, "status");
    jsonw_str(w, xui_status_of(e));
    jsonw_key(w, "error");
    jsonw_str(w, e->status >= 500 ? "the request failed on the server" : e->detail);
    jsonw_key(w, "code");
    jsonw_str(w, e->code ? e->code : "FAILURE");
    jsonw_key(w, "errors");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < e->nfields; i++) {
        jsonw_obj_begin(w);
        jsonw_key(w, "field");
        jsonw_str(w, xui_field(e->fields[i].field));
        jsonw_key(w, "code");
        jsonw_str(w, e->fields[i].code);
        jsonw_key(w, "message");
        jsonw_str(w, e->fields[i].message);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    return 0;
}

static void kv_str(struct jsonw *w, const char *k, const char *v)
{
    jsonw_key(w, k);
    jsonw_str(w, v ? v : "");
}

static void kv_num(struct jsonw *w, const char *k, long long v)
{
    jsonw_key(w, k);
    jsonw_int_str(w, v);
}

/* "[1,2]": a list of ids as XUI stores it, JSON inside a string. */
static void kv_id_list(struct jsonw *w, const char *k, const int64_t *ids, size_t n)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    buf_putc(&b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(&b, ',');
        buf_put_i64(&b, ids[i]);
    }
    buf_putc(&b, ']');
    jsonw_key(w, k);
    jsonw_strn(w, b.err ? "[]" : b.data, b.err ? 2 : b.len);
    buf_free(&b);
}

/* A line as an XUI `lines` row: every value a string; exp_date null when it
 * never expires; admin_enabled "0" = banned; allowed_outputs as XUI's output
 * ids (1 HLS, 2 MPEG-TS). The switches XUI has and we do not are "0". */
static void write_line(struct jsonw *w, const struct db_line *l)
{
    jsonw_obj_begin(w);
    kv_num(w, "id", l->id);
    kv_num(w, "member_id", l->owner_id);
    kv_str(w, "username", l->username);
    kv_str(w, "password", l->password);
    jsonw_key(w, "exp_date");
    if (l->has_exp && l->exp_date > 0)
        jsonw_int_str(w, l->exp_date);
    else
        jsonw_null(w);
    kv_str(w, "admin_enabled", l->banned ? "0" : "1");
    kv_str(w, "enabled", l->enabled ? "1" : "0");
    kv_str(w, "admin_notes", l->notes);
    kv_str(w, "reseller_notes", "");
    kv_id_list(w, "bouquet", l->bouquet_ids, l->bouquet_count);
    int64_t outs[2];
    size_t nout = 0;
    const char *o = l->allowed_outputs ? l->allowed_outputs : "";
    if (strstr(o, "m3u8"))
        outs[nout++] = 1;
    if (strstr(o, "ts") && strcmp(o, "m3u8") != 0)
        outs[nout++] = 2;
    kv_id_list(w, "allowed_outputs", outs, nout);
    kv_num(w, "max_connections", l->max_connections);
    kv_str(w, "is_restreamer", "0");
    kv_str(w, "is_trial", l->is_trial ? "1" : "0");
    kv_str(w, "is_mag", "0");
    kv_str(w, "is_e2", "0");
    kv_str(w, "is_stalker", "0");
    kv_str(w, "is_isplock", "0");
    kv_str(w, "allowed_ips", "[]");
    kv_str(w, "allowed_ua", "[]");
    kv_str(w, "message", l->message);
    kv_num(w, "created_at", l->created_at);
    kv_num(w, "updated_at", l->updated_at);
    jsonw_obj_end(w);
}

static void success_line(struct call *c, const struct db_line *l)
{
    jsonw_obj_begin(c->w);
    kv_str(c->w, "status", "STATUS_SUCCESS");
    jsonw_key(c->w, "data");
    write_line(c->w, l);
    jsonw_obj_end(c->w);
}

/* ---- audit (the REST API's rows: same actions, same JSON) -------------------------------- */

static char *rest_json(const struct db_line *l, int64_t now)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct jsonw w;
    jsonw_init(&w, &b);
    dom_line_write_json(&w, l, now);
    if (b.err) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, NULL);
}

static int audit(struct call *c, const char *action, int64_t id, const char *before,
                 const char *after)
{
    struct dom_audit_row row = {
        .admin_id = c->who.admin_id,
        .admin_username = c->who.username,
        .token_id = c->who.token_id,
        .ip = c->ctx->client_ip,
        .action = action,
        .entity = "line",
        .entity_id = id,
        .before = before,
        .after = after,
        .at = c->ctx->now,
    };
    return dom_audit_write(c->db, &row, &c->e);
}

static void changed(struct call *c, int64_t id, const char *action)
{
    if (c->ctx->changed)
        c->ctx->changed(c->ctx->ud, "line", id, action);
}

/* ---- Idempotency-Key (a reseller's spends, as the REST API's) ------------------------ */

/* The request as the idempotency hash sees it: the action and every field
 * but the key, in the order sent. */
static void idem_hash(struct call *c, char hash[65])
{
    struct buf b;
    buf_init(&b, 1 << 20);
    for (size_t i = 0; i < c->f->p.count; i++) {
        if (strcmp(c->f->p.items[i].key, "api_key") == 0)
            continue;
        buf_printf(&b, "%s=%s\n", c->f->p.items[i].key, c->f->p.items[i].value);
    }
    dom_idem_hash("POST", "xui", b.err ? "" : b.data ? b.data : "", b.err ? 0 : b.len, hash);
    buf_free(&b);
}

/* Inside the spend's transaction: 0 go on; 1 the first answer was written
 * again (nothing is charged; the caller rolls back); negative: refused. */
static int idem_begin(struct call *c, char hash[65])
{
    hash[0] = '\0';
    if (!c->actor.reseller || !c->ctx->idempotency_key)
        return 0;
    idem_hash(c, hash);
    struct dom_idem_replay r;
    int rc = dom_idem_begin(c->db, c->who.admin_id, c->ctx->idempotency_key, hash, &r, &c->e);
    if (rc <= 0)
        return rc;
    jsonw_raw(c->w, r.body);
    free(r.body);
    return 1;
}

/* Stores the answer written so far (same transaction). */
static int idem_finish(struct call *c, const char hash[65])
{
    if (!hash[0])
        return 0;
    struct buf *out = c->w->out;
    if (out->err || buf_putc(out, '\0') != 0)
        return dom_err_internal(&c->e, -ENOMEM, "storing the answer");
    out->len--; /* the NUL stays outside the answer */
    return dom_idem_finish(c->db, c->who.admin_id, c->ctx->idempotency_key, hash, 200, out->data,
                           c->ctx->now, &c->e);
}

/* ---- the line under edit ------------------------------------------------------------ */

/* The form's id as a line id: STATUS_FAILURE-able 404 when absent or bad. */
static int line_id(struct call *c, int64_t *id)
{
    const char *v = xui_form_get(c->f, "id");
    if (!v)
        v = xui_form_get(c->f, "user_id");
    char *end;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end || x <= 0)
        return dom_err_field(&c->e, "id", v ? "format" : "required",
                             "the line's id (a positive integer) is required");
    *id = x;
    return 0;
}

/* Loads the line the form names (404 when absent). */
static int load(struct call *c, struct db_line *l)
{
    int64_t id = 0;
    if (line_id(c, &id))
        return -EINVAL;
    /* a reseller addresses only its subtree's lines: the others do not exist */
    int rc = dom_actor_line_check(c->db, &c->actor, id, &c->e);
    if (rc == 0)
        rc = dom_line_get_id(c->db, id, l, &c->e);
    if (rc == -ENOENT)
        dom_err_set(&c->e, 404, DOM_E_NOT_FOUND, "no such line");
    return rc;
}

/* Applies a change to the loaded line in one transaction: before/after
 * audit rows as the REST PATCH writes them; answers the line as it is now. */
static int change(struct call *c, const char *action,
                  int (*apply)(struct call *c, const struct db_line *cur, void *arg), void *arg,
                  bool spends)
{
    struct db_line cur = {0}, now = {0};
    char *before = NULL, *after = NULL, hash[65] = "";
    int rc = dom_begin(c->db, &c->e);
    if (rc < 0)
        return rc;
    if (spends && (rc = idem_begin(c, hash)) != 0) {
        dom_rollback(c->db);
        return rc > 0 ? 0 : rc;
    }
    if ((rc = load(c, &cur)) < 0)
        goto rollback;
    if (!(before = rest_json(&cur, c->ctx->now))) {
        rc = dom_err_internal(&c->e, -ENOMEM, "serialising a line");
        goto rollback;
    }
    if ((rc = apply(c, &cur, arg)) < 0)
        goto rollback;
    bool deleted = !strcmp(action, "delete");
    if (!deleted) {
        if ((rc = dom_line_get_id(c->db, cur.id, &now, &c->e)) < 0)
            goto rollback;
        if (!(after = rest_json(&now, c->ctx->now))) {
            rc = dom_err_internal(&c->e, -ENOMEM, "serialising a line");
            goto rollback;
        }
    }
    if ((rc = audit(c, action, cur.id, before, after)) < 0)
        goto rollback;
    /* The answer before the commit: a replayed key stores it in the same
     * transaction (a failed commit replaces it with the error). */
    if (deleted) {
        jsonw_obj_begin(c->w);
        kv_str(c->w, "status", "STATUS_SUCCESS");
        jsonw_obj_end(c->w);
    } else {
        success_line(c, &now);
    }
    if ((rc = idem_finish(c, hash)) < 0 || (rc = dom_commit(c->db, &c->e)) < 0)
        goto rollback;
    changed(c, cur.id, action);
    goto out;
rollback:
    dom_rollback(c->db);
out:
    free(before);
    free(after);
    db_line_clear(&cur);
    db_line_clear(&now);
    return rc;
}

/* ---- actions ------------------------------------------------------------------------- */

static int a_user_info(struct call *c)
{
    struct db_reseller me = {0};
    if (c->actor.reseller) {
        int rc = dom_reseller_get(c->db, &c->actor, c->who.admin_id, c->ctx->now, &me, &c->e);
        if (rc < 0)
            return rc;
    }
    bool r = c->actor.reseller;
    struct jsonw *w = c->w;
    jsonw_obj_begin(w);
    kv_str(w, "status", "STATUS_SUCCESS");
    jsonw_key(w, "data");
    jsonw_obj_begin(w);
    kv_num(w, "id", c->who.admin_id);
    kv_str(w, "username", c->who.username);
    kv_num(w, "member_group_id", r ? 2 : 1);
    char credits[DOM_CREDITS_TEXT] = "0";
    if (r)
        dom_credits_format(me.balance, credits, sizeof(credits));
    kv_str(w, "credits", credits);
    kv_num(w, "owner_id", r ? me.parent_id : 0);
    kv_str(w, "status", "1");
    if (r) {
        kv_num(w, "group_id", me.group_id);
        kv_str(w, "group_name", me.group_name);
        kv_str(w, "username_prefix", me.username_prefix);
        kv_num(w, "lines", me.lines);
        kv_num(w, "active_lines", me.active_lines);
    }
    jsonw_obj_end(w);
    jsonw_key(w, "permissions");
    jsonw_obj_begin(w);
    kv_str(w, "is_admin", r ? "0" : "1");
    kv_str(w, "is_reseller", r ? "1" : "0");
    if (r)
        kv_str(w, "create_sub_resellers", me.may_create_subresellers ? "1" : "0");
    jsonw_key(w, "scopes");
    char scopes[128];
    dom_scopes_format(c->who.scopes, scopes, sizeof(scopes));
    jsonw_str(w, scopes);
    jsonw_obj_end(w);
    jsonw_obj_end(w);
    db_reseller_clear(&me);
    return 0;
}

static int a_get_line(struct call *c)
{
    struct db_line l = {0};
    int rc = load(c, &l);
    if (rc == 0)
        success_line(c, &l);
    db_line_clear(&l);
    return rc;
}

static int a_get_lines(struct call *c)
{
    const char *s = xui_form_get(c->f, "start"), *l = xui_form_get(c->f, "limit");
    long long start = 0, limit = XUI_LIMIT_DEFAULT;
    char *end;
    if (s && *s && ((start = strtoll(s, &end, 10)) < 0 || *end))
        return dom_err_field(&c->e, "start", "format", "must be a non-negative integer");
    if (l && *l && ((limit = strtoll(l, &end, 10)) < 1 || *end))
        return dom_err_field(&c->e, "limit", "format", "must be a positive integer");
    if (limit > XUI_LIMIT_MAX)
        limit = XUI_LIMIT_MAX; /* XUI has no cap for API callers; we page at most this many */
    const char *q = xui_form_get(c->f, "search[value]");
    if (!q)
        q = xui_form_get(c->f, "search");
    struct db_page p = {.offset = start, .limit = limit, .q = q && *q ? q : NULL};
    struct dom_line_filter filt = {.now = c->ctx->now,
                                   .owner_subtree = dom_actor_line_scope(&c->actor)};
    struct db_line *v = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc = dom_line_page(c->db, &filt, &p, &v, &n, &total, &c->e);
    if (rc < 0)
        return rc;
    struct jsonw *w = c->w;
    jsonw_obj_begin(w);
    kv_str(w, "status", "STATUS_SUCCESS");
    jsonw_key(w, "recordsTotal");
    jsonw_int(w, total);
    jsonw_key(w, "recordsFiltered");
    jsonw_int(w, total);
    jsonw_key(w, "data");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        write_line(w, &v[i]);
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    db_line_list_free(v, n);
    return 0;
}

static int a_create_line(struct call *c)
{
    struct xui_line_req *r = calloc(1, sizeof(*r));
    if (!r)
        return dom_err_internal(&c->e, -ENOMEM, "create_line");
    struct db_line now = {0};
    char *after = NULL;
    int rc = xui_line_from_form(c->f, true, r, &c->e);
    if (rc == 0 && r->has_package) {
        r->in.has_plan_id = true;
        r->in.plan_id = r->package_id;
    }
    if (rc < 0) {
        dom_line_validate(&r->in, true, &c->e); /* one answer names every bad field */
        goto out;
    }
    struct dom_line_created made;
    int64_t charged = 0;
    char hash[65] = "";
    if ((rc = dom_begin(c->db, &c->e)) < 0)
        goto out;
    if ((rc = idem_begin(c, hash)) != 0) {
        dom_rollback(c->db);
        if (rc > 0)
            rc = 0; /* the first answer, replayed */
        goto out;
    }
    /* An admin's line as POST /lines makes it; a reseller's from the plan,
     * prefixed, charged (or a trial within its group's limit) in this
     * transaction — domain/resellers.h. */
    if ((rc = dom_reseller_line_create(c->db, &c->actor, &r->in, r->trial, c->ctx->now, &made,
                                       &charged, &c->e)) < 0 ||
        (rc = dom_line_get_id(c->db, made.id, &now, &c->e)) < 0)
        goto rollback;
    if (!(after = rest_json(&now, c->ctx->now))) {
        rc = dom_err_internal(&c->e, -ENOMEM, "serialising a line");
        goto rollback;
    }
    if ((rc = audit(c, "create", made.id, NULL, after)) < 0)
        goto rollback;
    success_line(c, &now); /* before the commit: an idempotency key stores it */
    if ((rc = idem_finish(c, hash)) < 0 || (rc = dom_commit(c->db, &c->e)) < 0)
        goto rollback;
    changed(c, made.id, "create");
    goto out;
rollback:
    dom_rollback(c->db);
out:
    free(after);
    db_line_clear(&now);
    free(r);
    return rc;
}

/* Whether in changes anything (an edit_line with only a package changes
 * the expiry through the extension alone). */
static bool gives_any(const struct dom_line_in *in)
{
    return in->username || in->password || in->has_max_connections || in->expires ||
           in->has_exp_date || in->exp_date_text || in->trial >= 0 || in->enabled >= 0 ||
           in->banned >= 0 || in->outputs || in->message || in->notes || in->has_bouquets;
}

static int apply_edit(struct call *c, const struct db_line *cur, void *arg)
{
    struct xui_line_req *r = arg;
    if (r->in.username && strcmp(r->in.username, cur->username) == 0)
        r->in.username = NULL; /* billing modules repeat it; only a change is refused */
    /* A reseller's edit_line with a package is XUI's extension: the plan's
     * duration from max(now, expiry), its price debited (domain/resellers.h),
     * as POST /lines/{id}/extend {"plan_id"}. An admin extends with exp_date. */
    if (r->has_package) {
        int64_t exp, charged;
        int rc = dom_reseller_line_extend(c->db, &c->actor, cur->id, r->package_id, c->ctx->now,
                                          &exp, &charged, &c->e);
        if (rc < 0 || !gives_any(&r->in))
            return rc;
    }
    if (dom_reseller_line_patch_check(&c->actor, &r->in, &c->e) < 0)
        return -EINVAL;
    return dom_line_update_id(c->db, cur->id, &r->in, &c->e);
}

static int a_edit_line(struct call *c)
{
    struct xui_line_req *r = calloc(1, sizeof(*r));
    if (!r)
        return dom_err_internal(&c->e, -ENOMEM, "edit_line");
    int rc = xui_line_from_form(c->f, false, r, &c->e);
    if (rc == 0)
        rc = change(c, r->has_package ? "extend" : "update", apply_edit, r, r->has_package);
    free(r);
    return rc;
}

/* enable/disable/ban/unban: one flag through the same update as PATCH. */
struct flag_set {
    int enabled, banned;
};

static int apply_flags(struct call *c, const struct db_line *cur, void *arg)
{
    const struct flag_set *s = arg;
    struct dom_line_in in;
    dom_line_in_init(&in);
    in.enabled = s->enabled;
    in.banned = s->banned;
    if (dom_reseller_line_patch_check(&c->actor, &in, &c->e) < 0)
        return -EINVAL;
    return dom_line_update_id(c->db, cur->id, &in, &c->e);
}

static int flags(struct call *c, int enabled, int banned)
{
    struct flag_set s = {enabled, banned};
    return change(c, "update", apply_flags, &s, false);
}

static int a_enable_line(struct call *c)
{
    return flags(c, 1, -1);
}
static int a_disable_line(struct call *c)
{
    return flags(c, 0, -1);
}
static int a_ban_line(struct call *c)
{
    return flags(c, -1, 1);
}
static int a_unban_line(struct call *c)
{
    return flags(c, -1, 0);
}

static int apply_delete(struct call *c, const struct db_line *cur, void *arg)
{
    (void)arg;
    return dom_line_delete_id(c->db, cur->id, &c->e);
}

static int a_delete_line(struct call *c)
{
    return change(c, "delete", apply_delete, NULL, false);
}

/* A plan's prices as decimal credits ("12.5000"). */
static void package_prices(struct call *c, const struct db_plan *p, char *price, char *trial)
{
    (void)c;
    dom_credits_format(p->credit_price, price, DOM_CREDITS_TEXT);
    dom_credits_format(p->trial_price, trial, DOM_CREDITS_TEXT);
}

/* A plan as an XUI package: official_credits = its price (what a reseller
 * pays), the duration as official_duration + official_duration_in. */
static void write_package(struct call *c, const struct db_plan *p)
{
    struct jsonw *w = c->w;
    jsonw_obj_begin(w);
    kv_num(w, "id", p->id);
    kv_str(w, "package_name", p->name);
    kv_str(w, "is_line", "1");
    kv_str(w, "is_trial", p->is_trial ? "1" : "0");
    kv_str(w, "is_official", p->is_trial ? "0" : "1");
    char price[DOM_CREDITS_TEXT], trial[DOM_CREDITS_TEXT];
    package_prices(c, p, price, trial);
    kv_str(w, "official_credits", price);
    kv_str(w, "trial_credits", trial);
    long long dur = p->duration_months ? p->duration_months : p->duration_days;
    kv_num(w, "official_duration", dur);
    kv_str(w, "official_duration_in", p->duration_months ? "months" : dur ? "days" : "");
    kv_num(w, "trial_duration", p->trial_hours);
    kv_str(w, "trial_duration_in", p->trial_hours ? "hours" : "");
    kv_num(w, "max_connections", p->max_connections);
    kv_id_list(w, "bouquets", p->bouquet_ids, p->bouquet_count);
    int64_t outs[2];
    size_t nout = 0;
    const char *o = p->allowed_outputs ? p->allowed_outputs : "";
    if (strstr(o, "m3u8"))
        outs[nout++] = 1;
    if (strstr(o, "ts") && strcmp(o, "m3u8") != 0)
        outs[nout++] = 2;
    kv_id_list(w, "output_formats", outs, nout);
    jsonw_obj_end(w);
}

static int a_packages(struct call *c)
{
    struct db_page pg = {.offset = 0, .limit = XUI_LIMIT_MAX};
    struct db_plan *v = NULL;
    size_t n = 0;
    int64_t total = 0;
    /* A reseller sees the plans its group may sell (GET /plans does the same). */
    int64_t group = 0;
    int rc = dom_actor_plan_group(c->db, &c->actor, &group, &c->e);
    if (rc == 0)
        rc = group ? dom_plan_page_sellable(c->db, &pg, group, &v, &n, &total, &c->e)
                   : dom_plan_page(c->db, &pg, &v, &n, &total, &c->e);
    if (rc < 0)
        return rc;
    struct jsonw *w = c->w;
    jsonw_obj_begin(w);
    kv_str(w, "status", "STATUS_SUCCESS");
    jsonw_key(w, "data");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        write_package(c, &v[i]);
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    db_plan_list_free(v, n);
    return 0;
}

struct action {
    const char *name;
    int (*fn)(struct call *c);
    unsigned scope;  /* DOM_SCOPE_* the key must hold */
    bool admin_only; /* not in XUI's reseller API */
};

/* One table for both kinds of key. Deliberately absent, whatever a client
 * asks: XUI's mysql_query, file and directory actions, settings, servers,
 * providers — they answer INVALID_ACTION like any unknown name. A reseller's
 * key reaches the same actions scoped to its subtree and charged, except
 * those marked admin_only (no ban/unban there: a reseller disables). */
static const struct action actions[] = {
    {"user_info", a_user_info, DOM_SCOPE_READ, false},
    {"get_line", a_get_line, DOM_SCOPE_READ, false},
    {"get_lines", a_get_lines, DOM_SCOPE_READ, false},
    {"create_line", a_create_line, DOM_SCOPE_LINES_WRITE, false},
    {"edit_line", a_edit_line, DOM_SCOPE_LINES_WRITE, false},
    {"enable_line", a_enable_line, DOM_SCOPE_LINES_WRITE, false},
    {"disable_line", a_disable_line, DOM_SCOPE_LINES_WRITE, false},
    {"ban_line", a_ban_line, DOM_SCOPE_LINES_WRITE, true},
    {"unban_line", a_unban_line, DOM_SCOPE_LINES_WRITE, true},
    {"delete_line", a_delete_line, DOM_SCOPE_LINES_WRITE, false},
    {"get_packages", a_packages, DOM_SCOPE_READ, false},
    {"packages", a_packages, DOM_SCOPE_READ, false},
    {NULL, NULL, 0, false},
};

static const struct action *find(const char *name, bool reseller)
{
    for (const struct action *t = actions; t->name; t++)
        if (strcmp(t->name, name) == 0)
            return reseller && t->admin_only ? NULL : t;
    return NULL;
}

/* ---- the call ------------------------------------------------------------------------- */

static int authenticate(struct call *c)
{
    char brake_key[80];
    snprintf(brake_key, sizeof(brake_key), BRAKE_PREFIX "%s", c->ctx->client_ip);
    int64_t retry;
    if (dom_login_brake_check(brake_key, NULL, c->ctx->now, &retry) < 0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Too many invalid API keys from this address; retry in %lld s.",
                 (long long)retry);
        fail(c, "STATUS_FAILURE", "RATE_LIMITED", msg);
        return -EAGAIN;
    }
    const char *key = xui_form_get(c->f, "api_key");
    struct dom_error e = {0};
    int rc = key && *key ? dom_token_auth(c->db, key, c->ctx->now, c->ctx->client_ip, &c->who, &e)
                         : -EACCES;
    if (rc < 0) {
        if (e.status >= 500) {
            fail(c, "STATUS_FAILURE", "FAILURE", "the request failed on the server");
            return rc;
        }
        dom_login_brake_fail(brake_key, NULL, c->ctx->now);
        fail(c, "STATUS_FAILURE", "INVALID_API_KEY", "Invalid API key.");
        return -EACCES;
    }
    dom_login_brake_ok(brake_key, NULL);
    return 0;
}

int xui_run(struct db *db, const struct xui_ctx *ctx, const struct xui_form *f, struct jsonw *w)
{
    struct call c = {.db = db, .ctx = ctx, .f = f, .w = w};
    if (authenticate(&c) < 0)
        return 0;
    c.actor = (struct dom_actor){
        .admin_id = c.who.admin_id, .username = c.who.username, .reseller = c.who.reseller};
    const char *name = xui_form_get(f, "action");
    const struct action *a = name ? find(name, c.who.reseller) : NULL;
    if (!a) {
        fail(&c, "STATUS_FAILURE", "INVALID_ACTION", "Invalid action.");
        return 0;
    }
    /* Any token may read (domain/admin_auth.h); writes need their scope. */
    if (a->scope != DOM_SCOPE_READ && !(c.who.scopes & (a->scope | DOM_SCOPE_ADMIN))) {
        fail(&c, "STATUS_NO_PERMISSIONS", "NO_PERMISSIONS",
             "This API key's scopes do not allow this action.");
        return 0;
    }
    int rc = a->fn(&c);
    if (rc < 0) {
        buf_reset(w->out); /* a half-written answer gives way to the error */
        jsonw_init(w, w->out);
        if (!c.e.status)
            dom_err_internal(&c.e, rc, name);
        fail_dom(&c);
    }
    return w->out->err ? w->out->err : 0;
}
