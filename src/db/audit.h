/*
 * db/audit: the audit log (`audit_log`) — one row per change made through the
 * admin API or the CLI: when, who (account id and name, API token), from
 * where, what (action, entity, entity id) and the JSON of the entity before
 * and after.
 *
 * Append-only here: rows are inserted and listed, never changed. A struct
 * db_audit from a list owns its strings; free a list with db_audit_list_free().
 * Ids and times that are NULL in the database are 0 here; before/after are
 * NULL when absent. Threading: like struct db.
 */
#ifndef XTREAMD_DB_AUDIT_H
#define XTREAMD_DB_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "db/page.h"

struct db;

struct db_audit {
    int64_t id, at;
    int64_t admin_id; /* 0: none (a CLI change, or the account was deleted) */
    char *admin_username;
    int64_t token_id; /* 0: none */
    char *ip;
    char *action, *entity;
    int64_t entity_id; /* 0: none */
    char *before, *after;
};

/* The filter of a list; 0 / NULL members do not filter. since <= at < until. */
struct db_audit_filter {
    const char *entity;
    int64_t entity_id;
    int64_t admin_id;
    const char *action;
    int64_t since, until;
};

/* Inserts one row (strings are not modified; NULL admin_username/ip: '');
 * sets *id when id is not NULL. */
int db_audit_insert(struct db *db, const struct db_audit *row, int64_t *id);

/* One page under f, with the total under f. Sort keys: at, id, action,
 * entity, admin_username (default: newest first, at DESC, id DESC); q
 * searches action, entity and admin_username. -EINVAL on an unknown key. */
int db_audit_list(struct db *db, const struct db_audit_filter *f, const struct db_page *page,
                  struct db_audit **out, size_t *n, int64_t *total);
void db_audit_list_free(struct db_audit *v, size_t n);

#endif
