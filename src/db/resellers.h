/*
 * db/resellers: the SQL of resellers, reseller groups, the credit ledger,
 * idempotency keys and the plans' reseller fields (issue 17).
 *
 * Stores what it is given: every rule (who may do what, amounts, trial
 * limits) is domain/resellers.c's and domain/credits.c's. The tree is
 * materialised in resellers.path ("/1/5/9/": the ids from the top); the
 * subtree of r is `path LIKE r.path || '%'`, the same SQL on SQLite and
 * PostgreSQL. Balances are int64 units of 1/10000 credit. The only writes
 * of a balance are db_reseller_debit / db_reseller_credit, each one
 * conditional UPDATE (never read-then-write): -ENOSPC when the balance does
 * not cover a debit, -EOVERFLOW past `max` on a credit. The ledger is only
 * ever inserted into (no UPDATE or DELETE of credit_ledger exists).
 * Structs own their strings; clear them with the matching *_clear.
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_RESELLERS_H
#define XTREAMD_DB_RESELLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/page.h"

struct db;

struct db_reseller_group {
    int64_t id;
    char *name;
    int64_t trial_limit;        /* trials per period; 0: none */
    int64_t trial_period_hours; /* the period */
    bool may_create_subresellers;
    int64_t created_at, updated_at;
    int64_t resellers; /* members (read only) */
    int64_t *plan_ids; /* the plans it may sell (read only), ascending */
    size_t plan_count;
};

void db_reseller_group_clear(struct db_reseller_group *g);
void db_reseller_group_list_free(struct db_reseller_group *v, size_t n);
/* Inserts g (name, trial_limit, trial_period_hours, may_create_subresellers)
 * and sets id; -EEXIST on a taken name. */
int db_reseller_group_insert(struct db *db, struct db_reseller_group *g, int64_t now);
/* Writes the same columns of group g->id; -ENOENT, -EEXIST. */
int db_reseller_group_update(struct db *db, const struct db_reseller_group *g, int64_t now);
int db_reseller_group_get(struct db *db, int64_t id, struct db_reseller_group *out);
/* Every group by name. */
int db_reseller_group_list(struct db *db, struct db_reseller_group **out, size_t *n);
/* -ENOENT; -EBUSY while a reseller is in it. */
int db_reseller_group_delete(struct db *db, int64_t id);

struct db_reseller {
    int64_t id; /* the admin account's id */
    char *username;
    bool disabled;
    int64_t parent_id; /* 0: top level */
    char *path;
    int64_t group_id;
    char *group_name;
    int64_t trial_limit, trial_period_hours;
    bool may_create_subresellers;
    int64_t balance; /* units of 1/10000 credit */
    char *username_prefix;
    char *notes;
    int64_t created_at, updated_at, version;
    /* Counts (lists and get): own lines, own active lines, direct children. */
    int64_t lines, active_lines, subresellers;
};

void db_reseller_clear(struct db_reseller *r);
void db_reseller_list_free(struct db_reseller *v, size_t n);

/* Adds the reseller row of admin account r->id under r->parent_id (0: top
 * level); the path is the parent's + id. */
int db_reseller_insert(struct db *db, const struct db_reseller *r, int64_t now);
/* Loads one reseller (counts at `now`); -ENOENT. */
int db_reseller_get(struct db *db, int64_t id, int64_t now, struct db_reseller *out);
/* Writes group_id, username_prefix, notes of reseller r->id; -ENOENT. */
int db_reseller_update(struct db *db, const struct db_reseller *r, int64_t now);

struct db_reseller_filter {
    int64_t within;    /* descendants of this reseller (not itself); 0: every reseller */
    int64_t parent_id; /* direct children of this id; 0: any; -1: top level only */
    int64_t now;
};
extern const char *const db_reseller_sort_keys[];
/* A page of resellers (q: a substring of the username), ties by id. */
int db_reseller_page(struct db *db, const struct db_reseller_filter *f, const struct db_page *p,
                     struct db_reseller **out, size_t *n, int64_t *total);

/* True (1) when id is ancestor or one of its descendants, 0 when not,
 * negative on an error. */
int db_reseller_in_subtree(struct db *db, int64_t ancestor, int64_t id);
/* 0 when line_id exists and is owned by ancestor or a descendant; -ENOENT
 * otherwise (absent or outside: the same answer). */
int db_reseller_line_in_subtree(struct db *db, int64_t ancestor, int64_t line_id);
/* The same for a device (by the line it is bound to). */
int db_reseller_device_in_subtree(struct db *db, int64_t ancestor, int64_t device_id);

/* Moves every direct child of `from` under `to` (0: top level), rewriting
 * the paths of their whole subtrees. */
int db_reseller_reparent_children(struct db *db, int64_t from, int64_t to);
/* Removes the reseller row (the caller moved its lines, children and
 * balance first); -ENOENT. */
int db_reseller_delete(struct db *db, int64_t id);

/* The balance writes: one conditional UPDATE each. *after: the new balance. */
int db_reseller_debit(struct db *db, int64_t id, int64_t amount, int64_t now, int64_t *after);
int db_reseller_credit(struct db *db, int64_t id, int64_t amount, int64_t max, int64_t now,
                       int64_t *after);

struct db_ledger_row {
    int64_t id;
    int64_t reseller_id;
    char *reseller; /* its username ("" when deleted; read only) */
    char *kind;
    int64_t amount, balance_after;
    int64_t actor_admin_id; /* 0: the local CLI */
    char *actor;
    int64_t line_id, plan_id, transfer_id; /* 0: none */
    char *reason;
    char *idempotency_key; /* NULL: none */
    char *request_hash;
    int64_t created_at;
};

void db_ledger_row_clear(struct db_ledger_row *r);
void db_ledger_list_free(struct db_ledger_row *v, size_t n);
/* Appends r (every column but id; NULL strings and 0 ids stored as NULL,
 * kind/actor/reason required) and sets r->id. */
int db_ledger_insert(struct db *db, struct db_ledger_row *r);
/* A transfer id not used yet (the writers are serialised by db_begin). */
int db_ledger_next_transfer_id(struct db *db, int64_t *out);
/* How many rows of `kind` reseller_id has since `since` (inclusive). */
int db_ledger_count_kind(struct db *db, int64_t reseller_id, const char *kind, int64_t since,
                         int64_t *out);

struct db_ledger_filter {
    int64_t within;       /* rows of this reseller and its descendants; 0: all */
    int64_t reseller_id;  /* 0: any */
    const char *kind;     /* NULL: any */
    int64_t since, until; /* created_at >= since, < until; 0: open */
};
/* Newest first. */
int db_ledger_page(struct db *db, const struct db_ledger_filter *f, const struct db_page *p,
                   struct db_ledger_row **out, size_t *n, int64_t *total);

/* One mismatch of db_ledger_verify. */
struct db_ledger_mismatch {
    int64_t reseller_id;
    char username[65]; /* "" when the reseller was deleted */
    int64_t balance;   /* stored (0 for a deleted reseller) */
    int64_t ledger;    /* the sum of its ledger amounts */
    int64_t row_id;    /* the first row whose balance_after does not follow; 0: none */
};
/* Re-derives every balance from the ledger: for each reseller (and each
 * reseller id of the ledger that no longer exists, whose rows must sum to
 * 0) the sum of amounts against the stored balance, and each row's
 * balance_after against the running sum. Fills up to max mismatches (more
 * are counted in *nmis only). */
int db_ledger_verify(struct db *db, int64_t *resellers, int64_t *rows,
                     struct db_ledger_mismatch *mis, size_t max, size_t *nmis);

/* Idempotency keys: the first answer of a request per (actor, key). */
struct db_idem {
    char *request_hash;
    int status;
    char *response;
};
void db_idem_clear(struct db_idem *r);
/* -ENOENT when the key is new. */
int db_idem_get(struct db *db, int64_t actor, const char *key, struct db_idem *out);
/* -EEXIST when the key was stored meanwhile. */
int db_idem_put(struct db *db, int64_t actor, const char *key, const char *request_hash, int status,
                const char *response, int64_t now);

/* Plans' reseller fields. */
int db_plan_prices_get(struct db *db, int64_t plan_id, int64_t *credit_price, int64_t *trial_price);
int db_plan_prices_set(struct db *db, int64_t plan_id, int64_t credit_price, int64_t trial_price);
/* The groups that may sell the plan, ascending; free *ids. */
int db_plan_groups_get(struct db *db, int64_t plan_id, int64_t **ids, size_t *n);
/* Replaces them (ids must exist: -EINVAL otherwise). */
int db_plan_groups_set(struct db *db, int64_t plan_id, const int64_t *ids, size_t n);
/* 1 when group_id may sell plan_id, 0 when not. */
int db_plan_sellable(struct db *db, int64_t plan_id, int64_t group_id);

#endif
