/*
 * db_fixture: the cmocka fixture of the unit tests that need a real database
 * (a fresh data directory under /tmp with the schema migrated), and the
 * field-error lookup of the domain tests. Header-only; one test process each.
 * With XTREAMD_DATABASE set to a postgresql:// URL (ctest's *_pg variants on
 * the cluster of scripts/pg-cluster.sh), the database is that one, emptied
 * (schema public dropped and recreated) before each test.
 */
#ifndef XTREAMD_TESTS_DB_FIXTURE_H
#define XTREAMD_TESTS_DB_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "domain/error.h"

struct fixture {
    char dir[64];
    struct db *db;
};

/* Whether the tests run on PostgreSQL. */
static inline bool db_fixture_pg(void)
{
    return db_location_is_pg(db_get_location());
}

/* PostgreSQL: an empty database for the next test. */
static inline int db_fixture_pg_reset(void)
{
    const char *url = db_get_location();
    char cmd[1024];
    int n = snprintf(cmd, sizeof(cmd),
                     "psql -q -X -v ON_ERROR_STOP=1 '%s' -c 'DROP SCHEMA public CASCADE' "
                     "-c 'CREATE SCHEMA public' >/dev/null 2>&1",
                     url);
    if (n < 0 || (size_t)n >= sizeof(cmd) || strchr(url, '\''))
        return -1;
    return system(cmd) == 0 ? 0 : -1;
}

/* Opens a database in a new /tmp/xtreamd-<tag>-XXXXXX folder. */
static inline int db_fixture_open(void **state, const char *tag)
{
    if (db_fixture_pg() && db_fixture_pg_reset())
        return -1;
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/xtreamd-%s-XXXXXX", tag);
    if (!mkdtemp(f->dir) || db_open(f->dir, &f->db)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static inline int db_fixture_close(void **state)
{
    struct fixture *f = *state;
    char cmd[160];
    db_close(f->db);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Whether e names field (exactly) with code and a message. */
static inline bool has_field(const struct dom_error *e, const char *field, const char *code)
{
    for (size_t i = 0; i < e->nfields; i++)
        if (strcmp(e->fields[i].field, field) == 0 && strcmp(e->fields[i].code, code) == 0 &&
            e->fields[i].message[0])
            return true;
    return false;
}

#endif
