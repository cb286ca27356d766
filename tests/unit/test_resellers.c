/*
 * Resellers and credits (issue 17), against a real database: exact amounts
 * (parse/format, every refused form names the field), the tree (paths,
 * subtree checks, re-parenting on delete), the conditional debit (never below
 * 0, nothing written on a refusal), transfers (two rows, one transfer id),
 * the ledger check (a balance changed behind its back is found), and the
 * admin-account rules that hold for a reseller account (no role change, no delete
 * through the accounts service).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "db/db.h"
#include "db/db_priv.h" /* white box: tampering with a balance */
#include "db/resellers.h"
#include "domain/admins.h"
#include "domain/credits.h"
#include "domain/error.h"
#include "domain/resellers.h"
#include "db_fixture.h"

static int setup(void **state)
{
    return db_fixture_open(state, "resellers");
}

static int teardown(void **state)
{
    return db_fixture_close(state);
}

static const struct dom_actor admin = {.admin_id = 0, .username = "local", .reseller = false};

static void test_amounts(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t units;
    } good[] = {{"0", 0},
                {"12", 120000},
                {"12.5", 125000},
                {"-0.0001", -1},
                {"1.2345", 12345},
                {"000.1000", 1000},
                {"999999999999.9999", 9999999999999999LL}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct dom_error e;
        dom_error_reset(&e);
        int64_t u = -42;
        assert_int_equal(dom_credits_parse("amount", good[i].text, &u, &e), 0);
        assert_true(u == good[i].units);
    }
    static const char *const bad[] = {"",
                                      "-",
                                      ".5",
                                      "1.",
                                      "1.00001",
                                      "1e3",
                                      " 1",
                                      "1 ",
                                      "+1",
                                      "0x1",
                                      "1,5",
                                      "NaN",
                                      "--1",
                                      "1000000000000.0001",
                                      "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dom_error e;
        dom_error_reset(&e);
        int64_t u;
        assert_int_equal(dom_credits_parse("amount", bad[i], &u, &e), -EINVAL);
        assert_int_equal(e.status, 422);
        assert_string_equal(e.fields[0].field, "amount");
    }
    char t[DOM_CREDITS_TEXT];
    dom_credits_format(125000, t, sizeof(t));
    assert_string_equal(t, "12.5000");
    dom_credits_format(-1, t, sizeof(t));
    assert_string_equal(t, "-0.0001");
    dom_credits_format(-DOM_CREDITS_MAX, t, sizeof(t));
    assert_string_equal(t, "-1000000000000.0000");
}

static int64_t mkgroup(struct db *db, const char *name)
{
    struct dom_group_in g;
    dom_group_in_init(&g);
    g.name = name;
    g.may_create_subresellers = 1;
    struct dom_error e;
    dom_error_reset(&e);
    int64_t id = 0;
    assert_int_equal(dom_group_create(db, &admin, &g, &id, &e), 0);
    return id;
}

static int64_t mkreseller(struct db *db, const struct dom_actor *who, const char *name,
                          int64_t group, int64_t parent)
{
    struct dom_reseller_in in;
    dom_reseller_in_init(&in);
    in.username = name;
    in.password = "a long pass phrase";
    in.has_group_id = group != 0;
    in.group_id = group;
    in.has_parent_id = parent != 0;
    in.parent_id = parent;
    struct dom_error e;
    dom_error_reset(&e);
    struct dom_admin_secret s;
    int64_t id = 0;
    int rc = dom_reseller_create(db, who, &in, &id, &s, &e);
    if (rc)
        fail_msg("create %s: %s", name, e.detail);
    return id;
}

static int64_t balance(struct db *db, int64_t id)
{
    struct db_reseller r;
    assert_int_equal(db_reseller_get(db, id, 0, &r), 0);
    int64_t b = r.balance;
    db_reseller_clear(&r);
    return b;
}

static void test_tree_and_credits(void **state)
{
    struct fixture *f = *state;
    struct db *db = f->db;
    int64_t g = mkgroup(db, "hotels");
    int64_t top = mkreseller(db, &admin, "top", g, 0);
    struct dom_actor as_top = {.admin_id = top, .username = "top", .reseller = true};
    int64_t mid = mkreseller(db, &as_top, "mid", 0, 0);
    struct dom_actor as_mid = {.admin_id = mid, .username = "mid", .reseller = true};
    int64_t leaf = mkreseller(db, &as_mid, "leaf", 0, 0);
    int64_t other = mkreseller(db, &admin, "other", g, 0);
    assert_int_equal(db_reseller_in_subtree(db, top, leaf), 1);
    assert_int_equal(db_reseller_in_subtree(db, mid, leaf), 1);
    assert_int_equal(db_reseller_in_subtree(db, leaf, mid), 0);
    assert_int_equal(db_reseller_in_subtree(db, other, leaf), 0);

    struct dom_error e;
    struct db_ledger_row row;
    dom_error_reset(&e);
    assert_int_equal(dom_credits_adjust(db, &admin, top, 100000, "open", NULL, 1, &row, &e), 0);
    db_ledger_row_clear(&row);
    /* a reseller may not adjust */
    dom_error_reset(&e);
    assert_int_equal(dom_credits_adjust(db, &as_top, mid, 1, NULL, NULL, 1, &row, &e), -EPERM);
    assert_int_equal(e.status, 403);
    /* down the tree, then too much: refused, nothing written */
    dom_error_reset(&e);
    assert_int_equal(dom_credits_transfer(db, &as_top, mid, 40000, NULL, NULL, 2, &row, &e), 0);
    assert_true(row.balance_after == 40000);
    db_ledger_row_clear(&row);
    dom_error_reset(&e);
    assert_int_equal(dom_credits_transfer(db, &as_top, mid, 60001, NULL, NULL, 3, &row, &e),
                     -ENOSPC);
    assert_string_equal(e.code, DOM_E_INSUFFICIENT);
    dom_error_reset(&e);
    assert_int_equal(dom_credits_transfer(db, &as_top, mid, -40001, NULL, NULL, 3, &row, &e),
                     -ENOSPC);
    assert_true(balance(db, top) == 60000 && balance(db, mid) == 40000);
    /* only the parent: top is not leaf's parent; other does not see mid */
    dom_error_reset(&e);
    assert_int_equal(dom_credits_transfer(db, &as_top, leaf, 1, NULL, NULL, 3, &row, &e), -EPERM);
    assert_string_equal(e.code, DOM_E_NOT_PARENT);
    struct dom_actor as_other = {.admin_id = other, .username = "other", .reseller = true};
    dom_error_reset(&e);
    assert_int_equal(dom_credits_transfer(db, &as_other, mid, 1, NULL, NULL, 3, &row, &e), -ENOENT);
    assert_int_equal(e.status, 404);
    dom_error_reset(&e);
    assert_int_equal(dom_credits_transfer(db, &as_mid, leaf, 15000, NULL, NULL, 4, &row, &e), 0);
    db_ledger_row_clear(&row);

    /* the ledger agrees; a balance changed behind its back does not */
    struct dom_ledger_check chk;
    dom_error_reset(&e);
    assert_int_equal(dom_ledger_verify(db, &admin, &chk, &e), 0);
    assert_int_equal(chk.nmismatches, 0);
    assert_true(chk.resellers == 4 && chk.rows == 5);
    assert_int_equal(db_exec(db,
                             "UPDATE resellers SET balance = balance + 1"
                             " WHERE admin_id = (SELECT id FROM admins WHERE username = 'leaf')"),
                     0);
    assert_int_equal(dom_ledger_verify(db, &admin, &chk, &e), 0);
    assert_int_equal(chk.nmismatches, 1);
    assert_true(chk.mismatches[0].reseller_id == leaf);
    assert_true(chk.mismatches[0].balance == 15001 && chk.mismatches[0].ledger == 15000);
    assert_int_equal(db_exec(db,
                             "UPDATE resellers SET balance = balance - 1"
                             " WHERE admin_id = (SELECT id FROM admins WHERE username = 'leaf')"),
                     0);

    /* deleting mid: its balance to top (a transfer pair), leaf moves under top */
    dom_error_reset(&e);
    assert_int_equal(dom_reseller_delete(db, &as_top, mid, &e), 0);
    assert_true(balance(db, top) == 60000 + 25000);
    struct db_reseller r;
    assert_int_equal(db_reseller_get(db, leaf, 0, &r), 0);
    assert_true(r.parent_id == top);
    char want[64];
    snprintf(want, sizeof(want), "/%lld/%lld/", (long long)top, (long long)leaf);
    assert_string_equal(r.path, want);
    db_reseller_clear(&r);
    assert_int_equal(dom_ledger_verify(db, &admin, &chk, &e), 0);
    assert_int_equal(chk.nmismatches, 0); /* mid's rows sum to 0 */

    /* a reseller account keeps its role and is not deleted as an admin */
    struct dom_admin_in a;
    dom_admin_in_init(&a);
    a.role = "admin";
    dom_error_reset(&e);
    assert_int_equal(dom_admin_update(db, "leaf", &a, &e), -EINVAL);
    dom_error_reset(&e);
    assert_int_equal(dom_admin_delete(db, "leaf", &e), -EBUSY);
    a.role = "reseller";
    a.username = "sneaky";
    dom_error_reset(&e);
    int64_t id;
    struct dom_admin_secret s;
    assert_int_equal(dom_admin_create(db, &a, &id, &s, &e), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amounts),
        cmocka_unit_test_setup_teardown(test_tree_and_credits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
