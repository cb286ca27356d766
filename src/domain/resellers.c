#include "domain/resellers.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/plans.h"
#include "domain/credits.h"
#include "domain/plans.h"
#include "domain/settings.h"
#include "domain/text.h"

/* ---- helpers ------------------------------------------------------------------------ */

static const char *actor_name(const struct dom_actor *who)
{
    return who->username && *who->username ? who->username : "local";
}

static int not_found(struct dom_error *e, const char *what, int64_t id)
{
    dom_err_set(e, 404, DOM_E_NOT_FOUND, "no %s %lld", what, (long long)id);
    return -ENOENT;
}

static int admin_only(const struct dom_actor *who, struct dom_error *e)
{
    if (!who->reseller)
        return 0;
    dom_err_set(e, 403, "FORBIDDEN", "only an admin may do this");
    return -EPERM;
}

static int begin(struct db *db, struct dom_error *e)
{
    int rc = db_begin(db);
    return rc ? dom_err_internal(e, rc, "starting a transaction") : 0;
}

/* Commits, or rolls back on rc < 0; returns rc (or the commit's error). */
static int finish(struct db *db, int rc, struct dom_error *e)
{
    if (rc == 0 && (rc = db_commit(db)) != 0)
        rc = dom_err_internal(e, rc, "committing");
    if (rc < 0)
        db_rollback(db);
    return rc;
}

/* A reseller may address id when it is itself or a descendant. */
static int scope_check(struct db *db, const struct dom_actor *who, int64_t id, bool self_ok,
                       struct dom_error *e)
{
    if (!who->reseller)
        return 0;
    if (id == who->admin_id)
        return self_ok ? 0 : not_found(e, "reseller", id);
    int in = db_reseller_in_subtree(db, who->admin_id, id);
    if (in < 0)
        return dom_err_internal(e, in, "reading the reseller tree");
    return in ? 0 : not_found(e, "reseller", id);
}

static int insufficient(struct dom_error *e, const char *who_name, int64_t need)
{
    char t[DOM_CREDITS_TEXT];
    dom_credits_format(need, t, sizeof(t));
    dom_err_set(e, 409, DOM_E_INSUFFICIENT, "the balance of %s does not cover %s credits", who_name,
                t);
    return -ENOSPC;
}

static void write_credits(struct jsonw *w, const char *key, int64_t units)
{
    char t[DOM_CREDITS_TEXT];
    dom_credits_format(units, t, sizeof(t));
    jsonw_key(w, key);
    jsonw_str(w, t);
}

static void write_opt_id(struct jsonw *w, const char *key, int64_t id)
{
    jsonw_key(w, key);
    if (id > 0)
        jsonw_int(w, id);
    else
        jsonw_null(w);
}

/* Appends a ledger row (its actor and time filled here). */
static int ledger_add(struct db *db, const struct dom_actor *who, struct db_ledger_row *r,
                      int64_t now, struct dom_error *e)
{
    r->actor_admin_id = who->admin_id;
    r->actor = (char *)actor_name(who);
    r->created_at = now;
    int rc = db_ledger_insert(db, r);
    r->actor = NULL; /* not ours */
    return rc ? dom_err_internal(e, rc, "writing the ledger") : 0;
}

/* ---- groups ------------------------------------------------------------------------- */

void dom_group_in_init(struct dom_group_in *in)
{
    memset(in, 0, sizeof(*in));
    in->may_create_subresellers = -1;
}

static int group_validate(const struct dom_group_in *in, bool create, struct dom_error *e)
{
    if (in->name || create) {
        if (!in->name || !*in->name)
            dom_err_field(e, "name", "required", "a group needs a name");
        else
            dom_check_text("name", in->name, 100, false, e);
    }
    if (in->has_trial_limit && (in->trial_limit < 0 || in->trial_limit > 100000))
        dom_err_field(e, "trial_limit", "range", "must be 0 to 100000 (0: no trials)");
    if (in->has_trial_period_hours && (in->trial_period_hours < 1 || in->trial_period_hours > 8760))
        dom_err_field(e, "trial_period_hours", "range", "must be 1 to 8760");
    return e->status ? -EINVAL : 0;
}

static int group_save(struct db *db, bool create, struct db_reseller_group *g, int64_t now,
                      struct dom_error *e)
{
    int rc = create ? db_reseller_group_insert(db, g, now) : db_reseller_group_update(db, g, now);
    if (rc == -EEXIST) {
        dom_err_set(e, 409, DOM_E_EXISTS, "group '%s' already exists", g->name);
        dom_err_field(e, "name", "conflict", "is taken");
        return -EEXIST;
    }
    if (rc == -ENOENT)
        return not_found(e, "reseller group", g->id);
    return rc ? dom_err_internal(e, rc, "writing the group") : 0;
}

int dom_group_create(struct db *db, const struct dom_actor *who, const struct dom_group_in *in,
                     int64_t *id, struct dom_error *e)
{
    if (admin_only(who, e) || group_validate(in, true, e))
        return -EINVAL;
    struct db_reseller_group g = {
        .name = (char *)in->name,
        .trial_limit = in->has_trial_limit ? in->trial_limit : 0,
        .trial_period_hours = in->has_trial_period_hours ? in->trial_period_hours : 24,
        .may_create_subresellers = in->may_create_subresellers == 1,
    };
    int rc = begin(db, e);
    if (rc)
        return rc;
    rc = group_save(db, true, &g, db_now(), e);
    rc = finish(db, rc, e);
    if (rc == 0)
        *id = g.id;
    return rc;
}

int dom_group_update(struct db *db, const struct dom_actor *who, int64_t id,
                     const struct dom_group_in *in, struct dom_error *e)
{
    if (admin_only(who, e) || group_validate(in, false, e))
        return -EINVAL;
    struct db_reseller_group g = {0};
    int rc = begin(db, e);
    if (rc)
        return rc;
    rc = db_reseller_group_get(db, id, &g);
    if (rc) {
        rc = rc == -ENOENT ? not_found(e, "reseller group", id)
                           : dom_err_internal(e, rc, "reading the group");
        goto out;
    }
    char *old = g.name;
    if (in->name)
        g.name = (char *)in->name;
    if (in->has_trial_limit)
        g.trial_limit = in->trial_limit;
    if (in->has_trial_period_hours)
        g.trial_period_hours = in->trial_period_hours;
    if (in->may_create_subresellers != -1)
        g.may_create_subresellers = in->may_create_subresellers == 1;
    rc = group_save(db, false, &g, db_now(), e);
    g.name = old;
out:
    db_reseller_group_clear(&g);
    return finish(db, rc, e);
}

int dom_group_get(struct db *db, const struct dom_actor *who, int64_t id,
                  struct db_reseller_group *out, struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    if (admin_only(who, e))
        return -EPERM;
    int rc = db_reseller_group_get(db, id, out);
    if (rc == -ENOENT)
        return not_found(e, "reseller group", id);
    return rc ? dom_err_internal(e, rc, "reading the group") : 0;
}

int dom_group_list(struct db *db, const struct dom_actor *who, struct db_reseller_group **out,
                   size_t *n, struct dom_error *e)
{
    *out = NULL;
    *n = 0;
    if (admin_only(who, e))
        return -EPERM;
    int rc = db_reseller_group_list(db, out, n);
    return rc ? dom_err_internal(e, rc, "reading the groups") : 0;
}

int dom_group_delete(struct db *db, const struct dom_actor *who, int64_t id, struct dom_error *e)
{
    if (admin_only(who, e))
        return -EPERM;
    int rc = begin(db, e);
    if (rc)
        return rc;
    rc = db_reseller_group_delete(db, id);
    if (rc == -ENOENT)
        rc = not_found(e, "reseller group", id);
    else if (rc == -EBUSY)
        dom_err_set(e, 409, "IN_USE", "resellers are in group %lld: move them first",
                    (long long)id);
    else if (rc)
        rc = dom_err_internal(e, rc, "deleting the group");
    return finish(db, rc, e);
}

void dom_group_write_json(struct jsonw *w, const struct db_reseller_group *g)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, g->id);
    jsonw_key(w, "name");
    jsonw_str(w, g->name);
    jsonw_key(w, "trial_limit");
    jsonw_int(w, g->trial_limit);
    jsonw_key(w, "trial_period_hours");
    jsonw_int(w, g->trial_period_hours);
    jsonw_key(w, "may_create_subresellers");
    jsonw_bool(w, g->may_create_subresellers);
    jsonw_key(w, "resellers");
    jsonw_int(w, g->resellers);
    jsonw_key(w, "plan_ids");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < g->plan_count; i++)
        jsonw_int(w, g->plan_ids[i]);
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

/* ---- resellers ---------------------------------------------------------------------- */

void dom_reseller_in_init(struct dom_reseller_in *in)
{
    memset(in, 0, sizeof(*in));
    in->disabled = -1;
}

/* The username prefix: the line credential alphabet, up to 32 bytes. */
static void check_prefix(const char *p, struct dom_error *e)
{
    size_t n = strlen(p);
    if (n > DOM_RESELLER_PREFIX_MAX) {
        dom_err_field(e, "username_prefix", "too_long", "at most %d bytes",
                      DOM_RESELLER_PREFIX_MAX);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '@' || c == '-';
        if (!ok) {
            dom_err_field(e, "username_prefix", "charset",
                          "letters, digits and . _ @ - only (as line usernames)");
            return;
        }
    }
}

static int reseller_validate(const struct dom_reseller_in *in, bool create, struct dom_error *e)
{
    if (in->username_prefix)
        check_prefix(in->username_prefix, e);
    if (in->notes)
        dom_check_multiline("notes", in->notes, DOM_RESELLER_NOTES_MAX, e);
    if (!create && in->username)
        dom_err_field(e, "username", "read_only", "a reseller's username does not change");
    if (!create && in->has_parent_id)
        dom_err_field(e, "parent_id", "read_only", "a reseller does not move in the tree");
    if (create && in->has_parent_id && in->parent_id < 0)
        dom_err_field(e, "parent_id", "range", "a reseller id, or null for the top level");
    return e->status ? -EINVAL : 0;
}

/* Loads the group (422 on field when absent). */
static int load_group(struct db *db, int64_t id, struct db_reseller_group *g, struct dom_error *e)
{
    int rc = db_reseller_group_get(db, id, g);
    if (rc == -ENOENT) {
        dom_err_set(e, 422, DOM_E_REFERENCE, "no reseller group %lld", (long long)id);
        dom_err_field(e, "group_id", "not_found", "no reseller group %lld", (long long)id);
        return -EINVAL;
    }
    return rc ? dom_err_internal(e, rc, "reading the group") : 0;
}

int dom_reseller_create(struct db *db, const struct dom_actor *who,
                        const struct dom_reseller_in *in, int64_t *id,
                        struct dom_admin_secret *secret, struct dom_error *e)
{
    memset(secret, 0, sizeof(*secret));
    struct db_reseller me = {0};
    struct db_reseller_group g = {0};
    if (reseller_validate(in, true, e))
        return -EINVAL;
    if (!in->has_group_id && !who->reseller) {
        dom_err_field(e, "group_id", "required", "name the reseller's group");
        return -EINVAL;
    }
    int rc = begin(db, e);
    if (rc)
        return rc;
    int64_t parent = in->has_parent_id ? in->parent_id : 0;
    int64_t group = in->group_id;
    if (who->reseller) {
        if ((rc = db_reseller_get(db, who->admin_id, db_now(), &me)) != 0) {
            rc = dom_err_internal(e, rc, "reading the caller");
            goto out;
        }
        if (!me.may_create_subresellers) {
            rc = dom_err_set(e, 403, "FORBIDDEN", "the group of %s may not create sub-resellers",
                             me.username);
            rc = -EPERM;
            goto out;
        }
        if (!in->has_parent_id || parent == 0)
            parent = who->admin_id;
        else if ((rc = scope_check(db, who, parent, true, e)) != 0) {
            dom_error_reset(e);
            dom_err_set(e, 422, DOM_E_REFERENCE, "no reseller %lld", (long long)parent);
            dom_err_field(e, "parent_id", "not_found", "no reseller %lld", (long long)parent);
            rc = -EINVAL;
            goto out;
        }
        if (!in->has_group_id)
            group = me.group_id;
        else if (group != me.group_id) {
            dom_err_field(e, "group_id", "forbidden", "a sub-reseller gets its parent's group");
            rc = -EINVAL;
            goto out;
        }
    } else if (parent > 0) {
        struct db_reseller p = {0};
        rc = db_reseller_get(db, parent, db_now(), &p);
        db_reseller_clear(&p);
        if (rc == -ENOENT) {
            dom_err_set(e, 422, DOM_E_REFERENCE, "no reseller %lld", (long long)parent);
            dom_err_field(e, "parent_id", "not_found", "no reseller %lld", (long long)parent);
            rc = -EINVAL;
            goto out;
        }
        if (rc) {
            rc = dom_err_internal(e, rc, "reading the parent");
            goto out;
        }
    }
    if ((rc = load_group(db, group, &g, e)) != 0)
        goto out;
    struct dom_admin_in a;
    dom_admin_in_init(&a);
    a.username = in->username;
    a.password = in->password;
    a.role = "reseller";
    a.disabled = in->disabled;
    a.reseller_account = true;
    if ((rc = dom_admin_create(db, &a, id, secret, e)) != 0)
        goto out;
    struct db_reseller r = {
        .id = *id,
        .parent_id = parent,
        .group_id = group,
        .username_prefix = (char *)(in->username_prefix ? in->username_prefix : ""),
        .notes = (char *)(in->notes ? in->notes : ""),
    };
    if ((rc = db_reseller_insert(db, &r, db_now())) != 0)
        rc = dom_err_internal(e, rc, "storing the reseller");
out:
    db_reseller_clear(&me);
    db_reseller_group_clear(&g);
    rc = finish(db, rc, e);
    if (rc < 0)
        sodium_memzero(secret, sizeof(*secret));
    return rc;
}

int dom_reseller_get(struct db *db, const struct dom_actor *who, int64_t id, int64_t now,
                     struct db_reseller *out, struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    int rc = scope_check(db, who, id, true, e);
    if (rc)
        return rc;
    rc = db_reseller_get(db, id, now, out);
    if (rc == -ENOENT)
        return not_found(e, "reseller", id);
    return rc ? dom_err_internal(e, rc, "reading the reseller") : 0;
}

int dom_reseller_update(struct db *db, const struct dom_actor *who, int64_t id,
                        const struct dom_reseller_in *in, struct dom_error *e)
{
    if (reseller_validate(in, false, e))
        return -EINVAL;
    if (who->reseller && in->has_group_id)
        dom_err_field(e, "group_id", "forbidden", "only an admin changes a reseller's group");
    if (e->status)
        return -EINVAL;
    struct db_reseller r = {0};
    struct db_reseller_group g = {0};
    int rc = begin(db, e);
    if (rc)
        return rc;
    if ((rc = scope_check(db, who, id, false, e)) != 0)
        goto out;
    if ((rc = db_reseller_get(db, id, db_now(), &r)) != 0) {
        rc = rc == -ENOENT ? not_found(e, "reseller", id)
                           : dom_err_internal(e, rc, "reading the reseller");
        goto out;
    }
    if (in->has_group_id && (rc = load_group(db, in->group_id, &g, e)) != 0)
        goto out;
    char *old_prefix = r.username_prefix, *old_notes = r.notes;
    if (in->has_group_id)
        r.group_id = in->group_id;
    if (in->username_prefix)
        r.username_prefix = (char *)in->username_prefix;
    if (in->notes)
        r.notes = (char *)in->notes;
    rc = db_reseller_update(db, &r, db_now());
    r.username_prefix = old_prefix;
    r.notes = old_notes;
    if (rc) {
        rc = dom_err_internal(e, rc, "updating the reseller");
        goto out;
    }
    if (in->disabled != -1) {
        struct dom_admin_in a;
        dom_admin_in_init(&a);
        a.disabled = in->disabled;
        rc = dom_admin_update(db, r.username, &a, e);
    }
out:
    db_reseller_clear(&r);
    db_reseller_group_clear(&g);
    return finish(db, rc, e);
}

int dom_reseller_delete(struct db *db, const struct dom_actor *who, int64_t id, struct dom_error *e)
{
    struct db_reseller r = {0};
    int rc = begin(db, e);
    if (rc)
        return rc;
    int64_t now = db_now();
    if ((rc = scope_check(db, who, id, false, e)) != 0)
        goto out;
    if ((rc = db_reseller_get(db, id, now, &r)) != 0) {
        rc = rc == -ENOENT ? not_found(e, "reseller", id)
                           : dom_err_internal(e, rc, "reading the reseller");
        goto out;
    }
    /* The balance goes back to the parent: a transfer pair, or at the top an
     * adjustment to 0 (the credits return to the admins). */
    if (r.balance > 0) {
        int64_t after = 0, tid = 0;
        if ((rc = db_reseller_debit(db, id, r.balance, now, &after)) != 0) {
            rc = dom_err_internal(e, rc, "emptying the balance");
            goto out;
        }
        struct db_ledger_row out = {.reseller_id = id,
                                    .kind = r.parent_id ? "transfer_out" : "adjust",
                                    .amount = -r.balance,
                                    .balance_after = after,
                                    .reason = "reseller deleted"};
        if (r.parent_id && (rc = db_ledger_next_transfer_id(db, &tid)) != 0) {
            rc = dom_err_internal(e, rc, "a transfer id");
            goto out;
        }
        out.transfer_id = tid;
        if ((rc = ledger_add(db, who, &out, now, e)) != 0)
            goto out;
        if (r.parent_id) {
            int64_t pafter = 0;
            rc = db_reseller_credit(db, r.parent_id, r.balance, DOM_CREDITS_MAX, now, &pafter);
            if (rc == -EOVERFLOW) {
                rc = dom_err_set(e, 409, "BALANCE_LIMIT",
                                 "the parent's balance would pass the "
                                 "limit");
                rc = -EOVERFLOW;
                goto out;
            }
            if (rc) {
                rc = dom_err_internal(e, rc, "crediting the parent");
                goto out;
            }
            struct db_ledger_row in = {.reseller_id = r.parent_id,
                                       .kind = "transfer_in",
                                       .amount = r.balance,
                                       .balance_after = pafter,
                                       .transfer_id = tid,
                                       .reason = "sub-reseller deleted"};
            if ((rc = ledger_add(db, who, &in, now, e)) != 0)
                goto out;
        }
    }
    if ((rc = db_line_move_owner(db, id, r.parent_id)) != 0 ||
        (rc = db_reseller_reparent_children(db, id, r.parent_id)) != 0 ||
        (rc = db_reseller_delete(db, id)) != 0) {
        rc = dom_err_internal(e, rc, "re-parenting the reseller's lines and children");
        goto out;
    }
    if ((rc = db_admin_delete(db, r.username)) != 0)
        rc = dom_err_internal(e, rc, "deleting the account");
out:
    db_reseller_clear(&r);
    return finish(db, rc, e);
}

int dom_reseller_page(struct db *db, const struct dom_actor *who,
                      const struct dom_reseller_filter *f, const struct db_page *p,
                      struct db_reseller **out, size_t *n, int64_t *total, struct dom_error *e)
{
    *out = NULL;
    *n = 0;
    *total = 0;
    struct db_reseller_filter df = {.within = who->reseller ? who->admin_id : 0, .now = f->now};
    if (f->parent_id && *f->parent_id) {
        if (strcmp(f->parent_id, "0") == 0 || strcmp(f->parent_id, "null") == 0) {
            df.parent_id = -1;
        } else {
            char *end = NULL;
            long long v = strtoll(f->parent_id, &end, 10);
            if (!end || *end || v <= 0)
                return dom_err_field(e, "parent_id", "format", "a reseller id, or 0 / null");
            df.parent_id = v;
        }
    }
    int rc = db_reseller_page(db, &df, p, out, n, total);
    if (rc == -EINVAL)
        return dom_err_field(e, "sort", "unknown", "sort by id, username, balance, created_at");
    return rc ? dom_err_internal(e, rc, "listing resellers") : 0;
}

void dom_reseller_write_json(struct jsonw *w, const struct db_reseller *r)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, r->id);
    jsonw_key(w, "username");
    jsonw_str(w, r->username);
    write_opt_id(w, "parent_id", r->parent_id);
    jsonw_key(w, "group_id");
    jsonw_int(w, r->group_id);
    jsonw_key(w, "group");
    jsonw_str(w, r->group_name);
    write_credits(w, "balance", r->balance);
    jsonw_key(w, "username_prefix");
    jsonw_str(w, r->username_prefix);
    jsonw_key(w, "notes");
    jsonw_str(w, r->notes);
    jsonw_key(w, "disabled");
    jsonw_bool(w, r->disabled);
    jsonw_key(w, "may_create_subresellers");
    jsonw_bool(w, r->may_create_subresellers);
    jsonw_key(w, "trial_limit");
    jsonw_int(w, r->trial_limit);
    jsonw_key(w, "trial_period_hours");
    jsonw_int(w, r->trial_period_hours);
    jsonw_key(w, "lines");
    jsonw_int(w, r->lines);
    jsonw_key(w, "active_lines");
    jsonw_int(w, r->active_lines);
    jsonw_key(w, "subresellers");
    jsonw_int(w, r->subresellers);
    jsonw_key(w, "created_at");
    jsonw_int(w, r->created_at);
    jsonw_obj_end(w);
}

int dom_reseller_find(struct db *db, const char *username, int64_t *id, struct dom_error *e)
{
    struct db_admin a = {0};
    int rc = db_admin_get(db, username, &a);
    bool is = rc == 0 && strcmp(a.role, "reseller") == 0;
    *id = a.id;
    db_admin_clear(&a);
    if (rc && rc != -ENOENT)
        return dom_err_internal(e, rc, "reading the account");
    if (!is) {
        dom_err_set(e, 404, DOM_E_NOT_FOUND, "no reseller '%s'", username);
        return -ENOENT;
    }
    return 0;
}

int dom_group_find(struct db *db, const char *id_or_name, int64_t *id, struct dom_error *e)
{
    struct db_reseller_group *v = NULL;
    size_t n = 0;
    int rc = db_reseller_group_list(db, &v, &n);
    if (rc)
        return dom_err_internal(e, rc, "reading the groups");
    char *end = NULL;
    long long num = strtoll(id_or_name, &end, 10);
    bool numeric = end && end != id_or_name && !*end;
    *id = 0;
    for (size_t i = 0; i < n && !*id; i++)
        if (strcmp(v[i].name, id_or_name) == 0 || (numeric && v[i].id == num))
            *id = v[i].id;
    db_reseller_group_list_free(v, n);
    if (!*id) {
        dom_err_set(e, 404, DOM_E_NOT_FOUND, "no reseller group '%s'", id_or_name);
        return -ENOENT;
    }
    return 0;
}

/* ---- credits ------------------------------------------------------------------------ */

static int check_reason(const char *reason, struct dom_error *e)
{
    if (reason && dom_check_text("reason", reason, DOM_RESELLER_REASON_MAX, true, e))
        return -EINVAL;
    return 0;
}

/* Applies a signed delta to id's balance with its ledger row (kind). */
static int apply_delta(struct db *db, const struct dom_actor *who, int64_t id, int64_t delta,
                       const char *kind, int64_t transfer_id, const char *reason,
                       const char *idem_key, const char *who_name, int64_t now,
                       struct db_ledger_row *row, struct dom_error *e)
{
    int64_t after = 0;
    int rc = delta < 0 ? db_reseller_debit(db, id, -delta, now, &after)
                       : db_reseller_credit(db, id, delta, DOM_CREDITS_MAX, now, &after);
    if (rc == -ENOSPC)
        return insufficient(e, who_name, -delta);
    if (rc == -EOVERFLOW) {
        dom_err_set(e, 409, "BALANCE_LIMIT", "the balance of %s would pass 10^12 credits",
                    who_name);
        return -EOVERFLOW;
    }
    if (rc == -ENOENT)
        return not_found(e, "reseller", id);
    if (rc)
        return dom_err_internal(e, rc, "changing a balance");
    memset(row, 0, sizeof(*row));
    row->reseller_id = id;
    row->kind = (char *)kind;
    row->amount = delta;
    row->balance_after = after;
    row->transfer_id = transfer_id;
    row->reason = (char *)(reason ? reason : "");
    row->idempotency_key = (char *)idem_key;
    rc = ledger_add(db, who, row, now, e);
    return rc;
}

/* The row handed to the caller owns copies of its strings. */
static int row_copy_out(const struct db_ledger_row *r, struct db_ledger_row *out,
                        struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    *out = *r;
    out->reseller = strdup("");
    out->kind = strdup(r->kind);
    out->actor = NULL;
    out->reason = strdup(r->reason ? r->reason : "");
    out->idempotency_key = r->idempotency_key ? strdup(r->idempotency_key) : NULL;
    out->request_hash = NULL;
    if (!out->reseller || !out->kind || !out->reason ||
        (r->idempotency_key && !out->idempotency_key)) {
        db_ledger_row_clear(out);
        return dom_err_internal(e, -ENOMEM, "a ledger row");
    }
    return 0;
}

int dom_credits_adjust(struct db *db, const struct dom_actor *who, int64_t id, int64_t amount,
                       const char *reason, const char *idem_key, int64_t now,
                       struct db_ledger_row *out, struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    if (admin_only(who, e))
        return -EPERM;
    if (amount == 0)
        dom_err_field(e, "amount", "range", "an adjustment is not 0");
    if (check_reason(reason, e) || e->status)
        return -EINVAL;
    struct db_reseller r = {0};
    struct db_ledger_row row;
    int rc = begin(db, e);
    if (rc)
        return rc;
    if ((rc = db_reseller_get(db, id, now, &r)) != 0) {
        rc = rc == -ENOENT ? not_found(e, "reseller", id)
                           : dom_err_internal(e, rc, "reading the reseller");
        goto out;
    }
    rc = apply_delta(db, who, id, amount, "adjust", 0, reason, idem_key, r.username, now, &row, e);
    if (rc == 0)
        rc = row_copy_out(&row, out, e);
out:
    db_reseller_clear(&r);
    return finish(db, rc, e);
}

int dom_credits_transfer(struct db *db, const struct dom_actor *who, int64_t id, int64_t amount,
                         const char *reason, const char *idem_key, int64_t now,
                         struct db_ledger_row *out, struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    if (amount == 0)
        dom_err_field(e, "amount", "range", "a transfer moves a non-zero amount");
    if (check_reason(reason, e) || e->status)
        return -EINVAL;
    struct db_reseller child = {0};
    struct db_ledger_row crow, prow;
    int rc = begin(db, e);
    if (rc)
        return rc;
    if ((rc = scope_check(db, who, id, false, e)) != 0)
        goto out;
    if ((rc = db_reseller_get(db, id, now, &child)) != 0) {
        rc = rc == -ENOENT ? not_found(e, "reseller", id)
                           : dom_err_internal(e, rc, "reading the reseller");
        goto out;
    }
    int64_t parent = who->reseller ? who->admin_id : 0;
    if (child.parent_id != parent) {
        dom_err_set(e, 409, DOM_E_NOT_PARENT, "only the parent of %s moves credits to or from it%s",
                    child.username,
                    who->reseller ? "" : " (an admin adjusts a sub-reseller with /credits)");
        rc = -EPERM;
        goto out;
    }
    if (!who->reseller) {
        /* The admins' credits are not counted: the move is an adjustment. */
        rc = apply_delta(db, who, id, amount, "adjust", 0, reason, idem_key, child.username, now,
                         &crow, e);
    } else {
        int64_t tid = 0;
        if ((rc = db_ledger_next_transfer_id(db, &tid)) != 0) {
            rc = dom_err_internal(e, rc, "a transfer id");
            goto out;
        }
        /* The debit first (it is the side that may refuse), then the credit. */
        if (amount > 0) {
            rc = apply_delta(db, who, parent, -amount, "transfer_out", tid, reason, idem_key,
                             actor_name(who), now, &prow, e);
            if (rc == 0)
                rc = apply_delta(db, who, id, amount, "transfer_in", tid, reason, NULL,
                                 child.username, now, &crow, e);
        } else {
            rc = apply_delta(db, who, id, amount, "transfer_out", tid, reason, NULL, child.username,
                             now, &crow, e);
            if (rc == 0)
                rc = apply_delta(db, who, parent, -amount, "transfer_in", tid, reason, idem_key,
                                 actor_name(who), now, &prow, e);
        }
    }
    if (rc == 0)
        rc = row_copy_out(&crow, out, e);
out:
    db_reseller_clear(&child);
    return finish(db, rc, e);
}

static const char *const ledger_kinds[] = {"purchase",     "extend", "trial",  "transfer_in",
                                           "transfer_out", "refund", "adjust", NULL};

int dom_ledger_page(struct db *db, const struct dom_actor *who, const struct dom_ledger_filter *f,
                    const struct db_page *p, struct db_ledger_row **out, size_t *n, int64_t *total,
                    struct dom_error *e)
{
    *out = NULL;
    *n = 0;
    *total = 0;
    struct db_ledger_filter df = {
        .within = who->reseller ? who->admin_id : 0, .since = f->since_ts, .until = f->until_ts};
    if (f->reseller_id && *f->reseller_id) {
        char *end = NULL;
        long long v = strtoll(f->reseller_id, &end, 10);
        if (!end || *end || v <= 0)
            dom_err_field(e, "reseller_id", "format", "a reseller id");
        else
            df.reseller_id = v;
    }
    if (f->kind && *f->kind) {
        size_t k = 0;
        while (ledger_kinds[k] && strcmp(ledger_kinds[k], f->kind))
            k++;
        if (!ledger_kinds[k])
            dom_err_field(e, "kind", "unknown",
                          "purchase, extend, trial, transfer_in, transfer_out, refund or adjust");
        else
            df.kind = ledger_kinds[k];
    }
    if (e->status)
        return -EINVAL;
    /* A reseller asking for another tree's rows gets none (the same as an
     * unknown id): the within filter applies in every case. */
    int rc = db_ledger_page(db, &df, p, out, n, total);
    return rc ? dom_err_internal(e, rc, "reading the ledger") : 0;
}

void dom_ledger_write_json(struct jsonw *w, const struct db_ledger_row *r)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "id");
    jsonw_int(w, r->id);
    jsonw_key(w, "reseller_id");
    jsonw_int(w, r->reseller_id);
    jsonw_key(w, "reseller");
    jsonw_str(w, r->reseller ? r->reseller : "");
    jsonw_key(w, "kind");
    jsonw_str(w, r->kind);
    write_credits(w, "amount", r->amount);
    write_credits(w, "balance_after", r->balance_after);
    jsonw_key(w, "actor");
    jsonw_str(w, r->actor ? r->actor : "");
    write_opt_id(w, "actor_id", r->actor_admin_id);
    write_opt_id(w, "line_id", r->line_id);
    write_opt_id(w, "plan_id", r->plan_id);
    write_opt_id(w, "transfer_id", r->transfer_id);
    jsonw_key(w, "reason");
    jsonw_str(w, r->reason ? r->reason : "");
    jsonw_key(w, "created_at");
    jsonw_int(w, r->created_at);
    jsonw_obj_end(w);
}

int dom_ledger_verify(struct db *db, const struct dom_actor *who, struct dom_ledger_check *out,
                      struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    if (admin_only(who, e))
        return -EPERM;
    /* One statement: one consistent snapshot on both backends. */
    size_t max = sizeof(out->mismatches) / sizeof(out->mismatches[0]);
    int rc =
        db_ledger_verify(db, &out->resellers, &out->rows, out->mismatches, max, &out->nmismatches);
    return rc ? dom_err_internal(e, rc, "verifying the ledger") : 0;
}

void dom_ledger_check_write_json(struct jsonw *w, const struct dom_ledger_check *c)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "ok");
    jsonw_bool(w, c->nmismatches == 0);
    jsonw_key(w, "resellers");
    jsonw_int(w, c->resellers);
    jsonw_key(w, "rows");
    jsonw_int(w, c->rows);
    jsonw_key(w, "mismatch_count");
    jsonw_int(w, (int64_t)c->nmismatches);
    jsonw_key(w, "mismatches");
    jsonw_arr_begin(w);
    size_t max = sizeof(c->mismatches) / sizeof(c->mismatches[0]);
    for (size_t i = 0; i < c->nmismatches && i < max; i++) {
        const struct db_ledger_mismatch *m = &c->mismatches[i];
        jsonw_obj_begin(w);
        jsonw_key(w, "reseller_id");
        jsonw_int(w, m->reseller_id);
        jsonw_key(w, "username");
        jsonw_str(w, m->username);
        write_credits(w, "balance", m->balance);
        write_credits(w, "ledger", m->ledger);
        write_opt_id(w, "row_id", m->row_id);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

/* ---- lines -------------------------------------------------------------------------- */

int dom_actor_line_check(struct db *db, const struct dom_actor *who, int64_t line_id,
                         struct dom_error *e)
{
    if (!who->reseller)
        return 0;
    int rc = db_reseller_line_in_subtree(db, who->admin_id, line_id);
    if (rc == -ENOENT)
        return not_found(e, "line", line_id);
    return rc ? dom_err_internal(e, rc, "reading the line's owner") : 0;
}

int dom_actor_device_check(struct db *db, const struct dom_actor *who, int64_t device_id,
                           struct dom_error *e)
{
    if (!who->reseller)
        return 0;
    int rc = db_reseller_device_in_subtree(db, who->admin_id, device_id);
    if (rc == -ENOENT)
        return not_found(e, "device", device_id);
    return rc ? dom_err_internal(e, rc, "reading the device's owner") : 0;
}

int64_t dom_actor_line_scope(const struct dom_actor *who)
{
    return who->reseller ? who->admin_id : 0;
}

int dom_actor_plan_check(struct db *db, const struct dom_actor *who, int64_t plan_id,
                         struct dom_error *e)
{
    if (!who->reseller)
        return 0;
    struct db_reseller me = {0};
    int rc = db_reseller_get(db, who->admin_id, db_now(), &me);
    if (rc) {
        db_reseller_clear(&me);
        return dom_err_internal(e, rc, "reading the caller");
    }
    rc = db_plan_sellable(db, plan_id, me.group_id);
    db_reseller_clear(&me);
    if (rc < 0)
        return dom_err_internal(e, rc, "reading the plan's groups");
    return rc ? 0 : not_found(e, "plan", plan_id);
}

int dom_actor_plan_group(struct db *db, const struct dom_actor *who, int64_t *group_id,
                         struct dom_error *e)
{
    *group_id = 0;
    if (!who->reseller)
        return 0;
    struct db_reseller me = {0};
    int rc = db_reseller_get(db, who->admin_id, db_now(), &me);
    if (rc == 0)
        *group_id = me.group_id;
    db_reseller_clear(&me);
    return rc ? dom_err_internal(e, rc, "reading the caller") : 0;
}

/* Loads a plan the reseller's group may sell: 422 on plan_id otherwise. */
static int sellable_plan(struct db *db, const struct db_reseller *me, int64_t plan_id,
                         struct db_plan *plan, int64_t *price, int64_t *trial_price,
                         struct dom_error *e)
{
    int ok = plan_id > 0 ? db_plan_sellable(db, plan_id, me->group_id) : 0;
    if (ok < 0)
        return dom_err_internal(e, ok, "reading the plan's groups");
    int rc = ok ? db_plan_get_id(db, plan_id, plan) : -ENOENT;
    if (rc == 0)
        rc = db_plan_prices_get(db, plan_id, price, trial_price);
    if (rc == -ENOENT) {
        dom_err_set(e, 422, DOM_E_REFERENCE, "no plan %lld that %s may sell", (long long)plan_id,
                    me->username);
        dom_err_field(e, "plan_id", "not_found", "no plan %lld that you may sell",
                      (long long)plan_id);
        return -EINVAL;
    }
    return rc ? dom_err_internal(e, rc, "reading the plan") : 0;
}

static int trial_allowed(struct db *db, const struct db_reseller *me, int64_t now,
                         struct dom_error *e)
{
    int64_t used = 0;
    int rc =
        db_ledger_count_kind(db, me->id, "trial", now - me->trial_period_hours * 3600 + 1, &used);
    if (rc)
        return dom_err_internal(e, rc, "counting trials");
    if (used >= me->trial_limit) {
        dom_err_set(e, 409, DOM_E_TRIAL_LIMIT,
                    "%s may create %lld trial line(s) per %lld hour(s) and has used them",
                    me->username, (long long)me->trial_limit, (long long)me->trial_period_hours);
        return -EBUSY;
    }
    return 0;
}

int dom_reseller_line_patch_check(const struct dom_actor *who, const struct dom_line_in *in,
                                  struct dom_error *e)
{
    if (!who->reseller)
        return 0;
    const char *why = "is set by the plan (extend the line with a plan to change it)";
    if (in->expires || in->has_exp_date || in->exp_date_text)
        dom_err_field(e, "exp_date", "forbidden", "%s", why);
    if (in->has_max_connections)
        dom_err_field(e, "max_connections", "forbidden", "%s", why);
    if (in->outputs)
        dom_err_field(e, "allowed_outputs", "forbidden", "%s", why);
    if (in->has_bouquets)
        dom_err_field(e, "bouquets", "forbidden", "%s", why);
    if (in->trial != -1)
        dom_err_field(e, "is_trial", "forbidden", "%s", why);
    if (in->banned != -1)
        dom_err_field(e, "banned", "forbidden", "only an admin bans a line");
    return e->status ? -EINVAL : 0;
}

int dom_reseller_line_create(struct db *db, const struct dom_actor *who, struct dom_line_in *in,
                             bool trial, int64_t now, struct dom_line_created *out,
                             int64_t *charged, struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    *charged = 0;
    if (!who->reseller) {
        if (trial && in->trial == -1)
            in->trial = 1;
        return dom_line_create(db, in, out, e);
    }
    struct db_reseller me = {0};
    struct db_plan plan = {0};
    char *name = NULL;
    struct dom_line_in copy = *in;
    copy.trial = -1; /* the trial flag is the request's "trial", checked below */
    dom_reseller_line_patch_check(who, &copy, e);
    if (in->plan && !in->has_plan_id)
        dom_err_field(e, "plan", "forbidden", "a reseller names the plan by plan_id");
    if (!in->has_plan_id)
        dom_err_field(e, "plan_id", "required", "a reseller creates a line from a plan");
    if (in->trial == 1)
        trial = true;
    if (e->status)
        return -EINVAL;
    int rc = begin(db, e);
    if (rc)
        return rc;
    if ((rc = db_reseller_get(db, who->admin_id, now, &me)) != 0) {
        rc = dom_err_internal(e, rc, "reading the caller");
        goto out;
    }
    int64_t price = 0, trial_price = 0;
    if ((rc = sellable_plan(db, &me, in->plan_id, &plan, &price, &trial_price, e)) != 0)
        goto out;
    trial = trial || plan.is_trial;
    if (trial && (rc = trial_allowed(db, &me, now, e)) != 0)
        goto out;
    int64_t cost = trial ? trial_price : price;
    /* The username gets the prefix unless it already starts with it. */
    const char *user = in->username ? in->username : "";
    size_t pl = strlen(me.username_prefix);
    if (pl && strncmp(user, me.username_prefix, pl) != 0) {
        size_t n = pl + strlen(user) + 1;
        if (!(name = malloc(n))) {
            rc = dom_err_internal(e, -ENOMEM, "a username");
            goto out;
        }
        snprintf(name, n, "%s%s", me.username_prefix, user);
        user = name;
    }
    /* 1. the debit: refused here when the balance does not cover the price */
    int64_t after = 0;
    rc = db_reseller_debit(db, me.id, cost, now, &after);
    if (rc == -ENOSPC) {
        rc = insufficient(e, me.username, cost);
        goto out;
    }
    if (rc) {
        rc = dom_err_internal(e, rc, "debiting the balance");
        goto out;
    }
    /* 2. the line (a savepoint inside this transaction) */
    struct dom_line_in li = *in;
    li.username = user;
    li.trial = trial ? 1 : 0;
    if (trial && !plan.is_trial) {
        long long hours = dom_setting_int(db, "trial_hours");
        li.has_exp_date = true;
        li.exp_date = now + (hours > 0 ? hours : 24) * 3600;
    }
    if ((rc = dom_line_create(db, &li, out, e)) != 0)
        goto out;
    if ((rc = db_line_set_owner(db, out->id, me.id)) != 0) {
        rc = dom_err_internal(e, rc, "recording the line's owner");
        goto out;
    }
    /* 3. the ledger row */
    struct db_ledger_row row = {.reseller_id = me.id,
                                .kind = trial ? "trial" : "purchase",
                                .amount = -cost,
                                .balance_after = after,
                                .line_id = out->id,
                                .plan_id = plan.id,
                                .reason = ""};
    if ((rc = ledger_add(db, who, &row, now, e)) != 0)
        goto out;
    *charged = cost;
out:
    free(name);
    db_plan_clear(&plan);
    db_reseller_clear(&me);
    rc = finish(db, rc, e);
    if (rc < 0)
        sodium_memzero(out, sizeof(*out));
    return rc;
}

int dom_reseller_line_extend(struct db *db, const struct dom_actor *who, int64_t line_id,
                             int64_t plan_id, int64_t now, int64_t *new_exp, int64_t *charged,
                             struct dom_error *e)
{
    *charged = 0;
    if (!who->reseller) {
        dom_err_field(e, "plan_id", "forbidden", "an admin extends by days, months or until");
        return -EINVAL;
    }
    struct db_reseller me = {0};
    struct db_plan plan = {0};
    int rc = begin(db, e);
    if (rc)
        return rc;
    if ((rc = dom_actor_line_check(db, who, line_id, e)) != 0)
        goto out;
    if ((rc = db_reseller_get(db, who->admin_id, now, &me)) != 0) {
        rc = dom_err_internal(e, rc, "reading the caller");
        goto out;
    }
    int64_t price = 0, trial_price = 0;
    if ((rc = sellable_plan(db, &me, plan_id, &plan, &price, &trial_price, e)) != 0)
        goto out;
    if (!plan.duration_days && !plan.duration_months) {
        dom_err_field(e, "plan_id", "no_duration",
                      "plan '%s' has no duration in days or months to extend by", plan.name);
        rc = -EINVAL;
        goto out;
    }
    int64_t after = 0;
    rc = db_reseller_debit(db, me.id, price, now, &after);
    if (rc == -ENOSPC) {
        rc = insufficient(e, me.username, price);
        goto out;
    }
    if (rc) {
        rc = dom_err_internal(e, rc, "debiting the balance");
        goto out;
    }
    struct dom_line_extend_in x = {.days = plan.duration_days, .months = plan.duration_months};
    if ((rc = dom_line_extend(db, line_id, &x, now, new_exp, e)) != 0)
        goto out;
    struct db_ledger_row row = {.reseller_id = me.id,
                                .kind = "extend",
                                .amount = -price,
                                .balance_after = after,
                                .line_id = line_id,
                                .plan_id = plan.id,
                                .reason = ""};
    if ((rc = ledger_add(db, who, &row, now, e)) != 0)
        goto out;
    *charged = price;
out:
    db_plan_clear(&plan);
    db_reseller_clear(&me);
    return finish(db, rc, e);
}

/* ---- idempotency -------------------------------------------------------------------- */

void dom_idem_hash(const char *method, const char *path, const char *body, size_t len, char out[65])
{
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)method, strlen(method) + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)path, strlen(path) + 1);
    if (body && len)
        crypto_hash_sha256_update(&st, (const unsigned char *)body, len);
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

int dom_idem_begin(struct db *db, int64_t actor, const char *key, const char *hash,
                   struct dom_idem_replay *out, struct dom_error *e)
{
    memset(out, 0, sizeof(*out));
    if (!key)
        return 0;
    size_t n = strlen(key);
    bool ok = n >= 1 && n <= DOM_IDEM_KEY_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = key[i] > 0x20 && key[i] < 0x7f;
    if (!ok) {
        dom_err_field(e, "Idempotency-Key", "format", "1 to 255 printable ASCII characters");
        return -EINVAL;
    }
    struct db_idem r;
    int rc = db_idem_get(db, actor, key, &r);
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return dom_err_internal(e, rc, "reading the idempotency key");
    if (strcmp(r.request_hash, hash) != 0) {
        db_idem_clear(&r);
        dom_err_set(e, 422, DOM_E_IDEM_REUSED,
                    "this Idempotency-Key was used for a different request");
        dom_err_field(e, "Idempotency-Key", "reused", "already used for another request");
        return -EINVAL;
    }
    out->status = r.status;
    out->body = r.response;
    r.response = NULL;
    db_idem_clear(&r);
    return 1;
}

int dom_idem_finish(struct db *db, int64_t actor, const char *key, const char *hash, int status,
                    const char *body, int64_t now, struct dom_error *e)
{
    if (!key)
        return 0;
    int rc = db_idem_put(db, actor, key, hash, status, body ? body : "", now);
    return rc ? dom_err_internal(e, rc, "storing the idempotency key") : 0;
}
