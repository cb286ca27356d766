/* Unit tests for core/hashtab: insert, lookup, remove and iteration across
 * many growths, equal hashes (full collisions) kept apart by the caller's key
 * compare, removal during iteration, and reuse after htab_free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/hashtab.h"

struct item {
    struct htab_node node;
    uint64_t key;
    int seen;
};

static struct item *find(struct htab *t, uint64_t key, uint64_t (*h)(uint64_t))
{
    for (struct htab_node *n = htab_first(t, h(key)); n; n = htab_next(n)) {
        struct item *it = htab_entry(n, struct item, node);
        if (it->key == key)
            return it;
    }
    return NULL;
}

static uint64_t good_hash(uint64_t k)
{
    return htab_hash_u64(k);
}

static uint64_t bad_hash(uint64_t k)
{
    return k % 3; /* most keys collide fully */
}

static void run(uint64_t (*h)(uint64_t), size_t count)
{
    struct htab t = HTAB_INIT;
    struct item *items = calloc(count, sizeof(*items));
    assert_non_null(items);
    for (size_t i = 0; i < count; i++) {
        items[i].key = i * 7919u + 1;
        htab_insert(&t, &items[i].node, h(items[i].key));
    }
    assert_int_equal(t.n, count);
    assert_true(t.nb >= count || t.grow_failures); /* it grew with the load */
    for (size_t i = 0; i < count; i++)
        assert_ptr_equal(find(&t, items[i].key, h), &items[i]);
    assert_null(find(&t, 2, h)); /* never inserted */
    /* Remove the odd ones while iterating. */
    size_t i = 0, visited = 0;
    struct htab_node *cur = NULL;
    for (struct htab_node *n; (n = htab_iter(&t, &i, &cur));) {
        struct item *it = htab_entry(n, struct item, node);
        it->seen++;
        visited++;
        if ((it - items) % 2)
            htab_remove(&t, n);
    }
    assert_int_equal(visited, count);
    assert_int_equal(t.n, (count + 1) / 2);
    for (size_t k = 0; k < count; k++) {
        assert_int_equal(items[k].seen, 1);
        assert_ptr_equal(find(&t, items[k].key, h), k % 2 ? NULL : &items[k]);
    }
    htab_free(&t);
    assert_null(find(&t, items[0].key, h));
    htab_insert(&t, &items[0].node, h(items[0].key)); /* usable again */
    assert_ptr_equal(find(&t, items[0].key, h), &items[0]);
    htab_remove(&t, &items[0].node);
    assert_int_equal(t.n, 0);
    htab_free(&t);
    free(items);
}

static void test_many(void **state)
{
    (void)state;
    run(good_hash, 100000);
}

static void test_collisions(void **state)
{
    (void)state;
    run(bad_hash, 2000);
}

static void test_hash_functions(void **state)
{
    (void)state;
    assert_int_not_equal(htab_hash_u64(1), htab_hash_u64(2));
    assert_int_equal(htab_hash_bytes(0, "abc", 3), htab_hash_bytes(0, "abc", 3));
    assert_int_not_equal(htab_hash_bytes(0, "abc", 3), htab_hash_bytes(1, "abc", 3));
    assert_int_not_equal(htab_hash_bytes(0, "abc", 3), htab_hash_bytes(0, "abd", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_collisions),
        cmocka_unit_test(test_hash_functions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
