/* Unit tests for the backend choice of db/: which locations mean PostgreSQL,
 * the password masking of a location shown to the operator, and the
 * statement interface's common behaviour on the backend in use (SQLite, or
 * PostgreSQL in the _pg run): a binding to a position the statement lacks
 * is ignored, a duplicate is -EEXIST, a failed write inside a transaction
 * leaves the transaction usable (PostgreSQL: the per-statement savepoint),
 * skipped placeholder positions, and booleans read as 0/1. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "db/db.h"
#include "db/db_priv.h"
#include "db_fixture.h"

static void test_location(void **state)
{
    (void)state;
    assert_true(db_location_is_pg("postgresql:///xtreamd?host=/run/postgresql"));
    assert_true(db_location_is_pg("postgres://u@h/db"));
    assert_false(db_location_is_pg("/var/lib/xtreamd"));
    assert_false(db_location_is_pg("mysql://u@h/db"));
    assert_false(db_location_is_pg(NULL));
    char out[256];
    db_location_redact("postgresql://xt:s3cret@db.example:5432/xtreamd", out, sizeof(out));
    assert_string_equal(out, "postgresql://xt:***@db.example:5432/xtreamd");
    db_location_redact("postgresql:///xtreamd?user=xt&password=s3cret&sslmode=require", out,
                       sizeof(out));
    assert_string_equal(out, "postgresql:///xtreamd?user=xt&password=***&sslmode=require");
    /* failover locations: several hosts, passed to libpq as they are */
    db_location_redact("postgresql://xt:s3cret@db1:5432,db2:5433/xtreamd?target_session_attrs="
                       "read-write",
                       out, sizeof(out));
    assert_string_equal(
        out, "postgresql://xt:***@db1:5432,db2:5433/xtreamd?target_session_attrs=read-write");
    db_location_redact("postgresql://db1:5432,db2:5433/xtreamd", out, sizeof(out));
    assert_string_equal(out, "postgresql://db1:5432,db2:5433/xtreamd");
    db_location_redact("postgresql://xt@db/x", out, sizeof(out));
    assert_string_equal(out, "postgresql://xt@db/x");
    db_location_redact(NULL, out, sizeof(out));
    assert_string_equal(out, "");
}

static int setup(void **state)
{
    return db_fixture_open(state, "backend");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

static void test_statements(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    struct db_stmt *st;
    /* a position the text lacks, and a skipped one (?1 and ?3, no ?2): bound
     * or refused (-ERANGE) depending on the backend, never an error later */
    assert_int_equal(db_prepare(db,
                                "INSERT INTO settings (key, value) VALUES (?1, ?3)"
                                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                &st),
                     0);
    assert_int_equal(db_bind_text(st, 1, "k1"), 0);
    int rc = db_bind_int64(st, 2, 5);
    assert_true(rc == 0 || rc == -ERANGE);
    assert_int_equal(db_bind_text(st, 3, "v1"), 0);
    assert_int_equal(db_bind_text(st, 4, "x"), -ERANGE);
    assert_int_equal(db_step(st), DB_DONE);
    assert_int_equal(db_changes(db), 1);
    db_finalize(st);

    /* inside a transaction: a duplicate fails alone, the transaction goes on */
    assert_int_equal(db_begin(db), 0);
    assert_int_equal(db_prepare(db, "INSERT INTO settings (key, value) VALUES (?, ?)", &st), 0);
    db_bind_text(st, 1, "k1");
    db_bind_text(st, 2, "again");
    assert_int_equal(db_step(st), -EEXIST);
    db_reset(st);
    db_bind_text(st, 1, "k2");
    db_bind_text(st, 2, "v2");
    assert_int_equal(db_step(st), DB_DONE);
    db_finalize(st);
    assert_int_equal(db_commit(db), 0);

    /* a boolean expression and a NULL read back */
    assert_int_equal(db_prepare(db,
                                "SELECT count(*), count(*) > 1, NULL, group_concat(key)"
                                " FROM (SELECT key FROM settings ORDER BY key) AS s",
                                &st),
                     0);
    assert_int_equal(db_step(st), DB_ROW);
    assert_int_equal(db_col_int64(st, 0), 2);
    assert_int_equal(db_col_int64(st, 1), 1);
    assert_true(db_col_is_null(st, 2));
    assert_string_equal(db_col_text(st, 2), "");
    assert_string_equal(db_col_text(st, 3), "k1,k2");
    assert_int_equal(db_step(st), DB_DONE);
    db_finalize(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_location),
        cmocka_unit_test_setup_teardown(test_statements, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
