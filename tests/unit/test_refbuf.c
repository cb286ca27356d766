/* Unit tests for core/refbuf's memfd copy (refbuf_add_memfd): a body below
 * REFBUF_MEMFD_MIN gets none, a large one gets a memfd holding exactly its
 * bytes at offset 0, a second call keeps the first, and the last unref closes
 * the memfd (a leaked fd per cached list would exhaust the process's fds over
 * catalogue rebuilds). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/fdref.h"
#include "core/refbuf.h"

static void test_small_body_has_no_memfd(void **state)
{
    (void)state;
    char small[REFBUF_MEMFD_MIN - 1];
    memset(small, 'a', sizeof(small));
    struct refbuf *rb = refbuf_new(small, sizeof(small));
    assert_non_null(rb);
    assert_int_equal(refbuf_add_memfd(rb, "t"), 0);
    assert_null(rb->mf);
    refbuf_unref(rb);
}

static void test_large_body_memfd_holds_its_bytes(void **state)
{
    (void)state;
    size_t len = 3 * REFBUF_MEMFD_MIN + 17;
    char *data = malloc(len);
    assert_non_null(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)(i * 131 + 7);
    struct refbuf *rb = refbuf_new(data, len);
    assert_non_null(rb);
    unsigned long failures = refbuf_memfd_failures();
    assert_int_equal(refbuf_add_memfd(rb, "t"), 0);
    assert_non_null(rb->mf);
    struct fdref *mf = rb->mf;
    assert_int_equal(refbuf_add_memfd(rb, "t"), 0); /* idempotent */
    assert_ptr_equal(rb->mf, mf);
    assert_int_equal(refbuf_memfd_failures(), failures);

    int fd = mf->fd;
    assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)len);
    char *back = malloc(len);
    assert_non_null(back);
    assert_int_equal(pread(fd, back, len, 0), (ssize_t)len);
    assert_memory_equal(back, data, len);

    /* a connection's reference keeps the memfd after the buffer's last unref */
    struct fdref *held = fdref_ref(mf);
    refbuf_unref(rb);
    assert_int_not_equal(fcntl(fd, F_GETFD), -1);
    fdref_unref(held);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    assert_int_equal(errno, EBADF);
    free(back);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_body_has_no_memfd),
        cmocka_unit_test(test_large_body_memfd_holds_its_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
