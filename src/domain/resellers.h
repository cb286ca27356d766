/*
 * domain/resellers: partner accounts in a tree, their credits and what they
 * may do with lines (issue 17). Every rule lives here; the admin API
 * (admin/resellers.c, admin/lines.c), the XUI shim and the CLI
 * (`xtreamd reseller`, `xtreamd credits check`) call these functions.
 *
 * The model. A reseller is an admin account with role "reseller" and a row
 * in db/resellers.h: a parent (another reseller, or none: a child of the
 * admins), a group (reseller_groups: trial limit per period, whether it may
 * create sub-resellers; plans name the groups that may sell them), a
 * balance in units of 1/10000 credit (domain/credits.h) and a username
 * prefix. A reseller's scope is itself and its descendants: their lines
 * (lines.reseller_id = owner), devices, sub-resellers and ledger rows.
 * Anything outside the scope is 404 NOT_FOUND to a reseller, exactly as if
 * it did not exist. Admin-role accounts are never inside a tree.
 *
 * Credits. The balance changes only with a ledger row in the same
 * transaction (append-only credit_ledger: purchase, extend, trial,
 * transfer_in, transfer_out, refund, adjust; signed amount, balance_after,
 * actor). A spend is one transaction: the conditional debit (UPDATE ...
 * WHERE balance >= price; no row: 409 INSUFFICIENT_CREDITS, nothing
 * written), the line's creation or extension, the ledger row. Two spends
 * that together exceed the balance can never both pass. Transfers move
 * credits between a parent and a direct child (two rows sharing a
 * transfer_id; neither side below 0). An admin's credit adjustment is one
 * `adjust` row (never below 0). Deleting a reseller returns its balance to
 * its parent (a transfer; at the top: an adjust to 0) and gives its lines
 * and children to the parent. Trials: at most the group's trial_limit
 * `trial` rows per trial_period_hours (409 TRIAL_LIMIT).
 *
 * Idempotency. A spending request may carry a key (1-255 printable ASCII):
 * dom_idem_begin inside the request's transaction finds a stored answer for
 * (actor, key) — the same request hash replays it (status and body),
 * another hash is 422 IDEMPOTENCY_KEY_REUSED — and dom_idem_finish stores
 * the successful answer in the same transaction as the spend. A failed
 * request stores nothing (a retry may succeed once the balance allows).
 *
 * Errors (domain/error.h) besides the usual: 409 INSUFFICIENT_CREDITS, 409
 * TRIAL_LIMIT, 409 NOT_PARENT (a transfer by someone other than the
 * parent), 422 IDEMPOTENCY_KEY_REUSED, 403 FORBIDDEN (an admin-only action).
 * Threading: one thread per struct db; no global state.
 */
#ifndef XTREAMD_DOMAIN_RESELLERS_H
#define XTREAMD_DOMAIN_RESELLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/jsonw.h"
#include "db/resellers.h"
#include "domain/admins.h"
#include "domain/error.h"
#include "domain/lines.h"

#define DOM_E_INSUFFICIENT "INSUFFICIENT_CREDITS"
#define DOM_E_TRIAL_LIMIT  "TRIAL_LIMIT"
#define DOM_E_NOT_PARENT   "NOT_PARENT"
#define DOM_E_IDEM_REUSED  "IDEMPOTENCY_KEY_REUSED"

#define DOM_RESELLER_PREFIX_MAX 32
#define DOM_RESELLER_NOTES_MAX  4096
#define DOM_RESELLER_REASON_MAX 500
#define DOM_IDEM_KEY_MAX        255

/* Who acts. admin_id 0 with reseller false: the local CLI (an admin). */
struct dom_actor {
    int64_t admin_id;
    const char *username; /* recorded in ledger rows; NULL: "local" */
    bool reseller;        /* a reseller: everything is scoped to its subtree */
};

/* ---- groups (admin only) ---- */

struct dom_group_in {
    const char *name;
    bool has_trial_limit, has_trial_period_hours;
    int64_t trial_limit, trial_period_hours;
    int may_create_subresellers; /* -1 not given */
};
void dom_group_in_init(struct dom_group_in *in);
int dom_group_create(struct db *db, const struct dom_actor *who, const struct dom_group_in *in,
                     int64_t *id, struct dom_error *e);
int dom_group_update(struct db *db, const struct dom_actor *who, int64_t id,
                     const struct dom_group_in *in, struct dom_error *e);
int dom_group_get(struct db *db, const struct dom_actor *who, int64_t id,
                  struct db_reseller_group *out, struct dom_error *e);
int dom_group_list(struct db *db, const struct dom_actor *who, struct db_reseller_group **out,
                   size_t *n, struct dom_error *e);
/* 409 IN_USE while resellers are in it. */
int dom_group_delete(struct db *db, const struct dom_actor *who, int64_t id, struct dom_error *e);
void dom_group_write_json(struct jsonw *w, const struct db_reseller_group *g);

/* ---- resellers ---- */

struct dom_reseller_in {
    const char *username; /* create only */
    const char *password; /* create only; NULL generates one */
    bool has_parent_id;   /* create only; a reseller's default: itself */
    int64_t parent_id;    /* 0: top level (admins only) */
    bool has_group_id;    /* a reseller's default: its own group */
    int64_t group_id;
    const char *username_prefix; /* NULL: not given */
    const char *notes;           /* NULL: not given */
    int disabled;                /* -1 not given */
};
void dom_reseller_in_init(struct dom_reseller_in *in);
/* Creates the account (role reseller) and its row. An admin may put it
 * anywhere; a reseller only under itself or a descendant, in its own group,
 * and only when its group may create sub-resellers (403 otherwise). */
int dom_reseller_create(struct db *db, const struct dom_actor *who,
                        const struct dom_reseller_in *in, int64_t *id,
                        struct dom_admin_secret *secret, struct dom_error *e);
/* Reads a reseller: an admin any, a reseller itself or a descendant (404). */
int dom_reseller_get(struct db *db, const struct dom_actor *who, int64_t id, int64_t now,
                     struct db_reseller *out, struct dom_error *e);
/* Group, prefix, notes, disabled; a reseller changes only its descendants'
 * prefix, notes and disabled. */
int dom_reseller_update(struct db *db, const struct dom_actor *who, int64_t id,
                        const struct dom_reseller_in *in, struct dom_error *e);
/* Balance back to the parent, lines and children to the parent, then the
 * account is deleted. A reseller deletes only its descendants. */
int dom_reseller_delete(struct db *db, const struct dom_actor *who, int64_t id,
                        struct dom_error *e);

struct dom_reseller_filter {
    const char *parent_id; /* query text; "" or NULL: any; "0"/"null": top level */
    int64_t now;
};
int dom_reseller_page(struct db *db, const struct dom_actor *who,
                      const struct dom_reseller_filter *f, const struct db_page *p,
                      struct db_reseller **out, size_t *n, int64_t *total, struct dom_error *e);
void dom_reseller_write_json(struct jsonw *w, const struct db_reseller *r);

/* By username (the CLI): 404 naming it when no such reseller. */
int dom_reseller_find(struct db *db, const char *username, int64_t *id, struct dom_error *e);
/* A group by id ("12") or name (the CLI): 404 naming it. */
int dom_group_find(struct db *db, const char *id_or_name, int64_t *id, struct dom_error *e);

/* ---- credits ---- */

/* An admin's adjustment of a balance by a signed amount (never below 0). */
int dom_credits_adjust(struct db *db, const struct dom_actor *who, int64_t id, int64_t amount,
                       const char *reason, const char *idem_key, int64_t now,
                       struct db_ledger_row *out, struct dom_error *e);
/* Moves amount from the caller to its direct child id (negative: back from
 * the child). The caller must be id's parent (an admin for a top-level
 * reseller, where the move is an `adjust`). *out: the child's row. */
int dom_credits_transfer(struct db *db, const struct dom_actor *who, int64_t id, int64_t amount,
                         const char *reason, const char *idem_key, int64_t now,
                         struct db_ledger_row *out, struct dom_error *e);

struct dom_ledger_filter {
    const char *reseller_id, *kind, *since, *until; /* query texts; NULL: not given */
    int64_t since_ts, until_ts;                     /* parsed by the caller (0: open) */
};
int dom_ledger_page(struct db *db, const struct dom_actor *who, const struct dom_ledger_filter *f,
                    const struct db_page *p, struct db_ledger_row **out, size_t *n, int64_t *total,
                    struct dom_error *e);
void dom_ledger_write_json(struct jsonw *w, const struct db_ledger_row *r);

struct dom_ledger_check {
    int64_t resellers, rows;
    size_t nmismatches;
    struct db_ledger_mismatch mismatches[32]; /* the first 32 */
};
/* Re-derives every balance (admin only); ok when nmismatches is 0. */
int dom_ledger_verify(struct db *db, const struct dom_actor *who, struct dom_ledger_check *out,
                      struct dom_error *e);
void dom_ledger_check_write_json(struct jsonw *w, const struct dom_ledger_check *c);

/* ---- lines as a reseller sees them ---- */

/* 0 when the actor may address line id (an admin: any existing line; a
 * reseller: its subtree's), else 404. */
int dom_actor_line_check(struct db *db, const struct dom_actor *who, int64_t line_id,
                         struct dom_error *e);
/* The same for a device. */
int dom_actor_device_check(struct db *db, const struct dom_actor *who, int64_t device_id,
                           struct dom_error *e);
/* The owner filter of a line list: 0 for an admin, the reseller's id. */
int64_t dom_actor_line_scope(const struct dom_actor *who);

/* A reseller's line creation: in->plan_id required and sellable by its group
 * (422 plan_id), the plan decides connections, outputs, bouquets and expiry
 * (422 on those members), the username gets the prefix, the price
 * (credit_price, or trial_price when trial or the plan is a trial plan,
 * within the trial limit) is debited in the same transaction. An admin
 * actor: dom_line_create unchanged, nothing charged. *charged: units. */
int dom_reseller_line_create(struct db *db, const struct dom_actor *who, struct dom_line_in *in,
                             bool trial, int64_t now, struct dom_line_created *out,
                             int64_t *charged, struct dom_error *e);
/* A reseller's extension by a plan (its duration, its credit_price). */
int dom_reseller_line_extend(struct db *db, const struct dom_actor *who, int64_t line_id,
                             int64_t plan_id, int64_t now, int64_t *new_exp, int64_t *charged,
                             struct dom_error *e);
/* Checks a reseller's merge patch: only password, enabled, message and notes
 * (422 on any other member). No-op for an admin. */
int dom_reseller_line_patch_check(const struct dom_actor *who, const struct dom_line_in *in,
                                  struct dom_error *e);
/* The plans an actor may see: a reseller only those its group may sell. */
int dom_actor_plan_check(struct db *db, const struct dom_actor *who, int64_t plan_id,
                         struct dom_error *e);

/* The reseller group whose plans the actor sees (0: an admin, every plan). */
int dom_actor_plan_group(struct db *db, const struct dom_actor *who, int64_t *group_id,
                         struct dom_error *e);

/* ---- idempotency ---- */

struct dom_idem_replay {
    int status;
    char *body; /* the stored answer (free()) */
};
/* SHA-256 hex of the request (method, path, body). */
void dom_idem_hash(const char *method, const char *path, const char *body, size_t len,
                   char out[65]);
/* 0: a new key (go on); 1: *out holds the first answer to replay; negative:
 * 422 (a bad key, or the key reused with another request) or 500. A NULL key
 * is 0. Call inside the request's transaction. */
int dom_idem_begin(struct db *db, int64_t actor, const char *key, const char *hash,
                   struct dom_idem_replay *out, struct dom_error *e);
/* Stores the answer (same transaction). A NULL key is a no-op. */
int dom_idem_finish(struct db *db, int64_t actor, const char *key, const char *hash, int status,
                    const char *body, int64_t now, struct dom_error *e);

#endif
