/* Unit tests for core/notify.h: a datagram reaches a path and an abstract
 * ("@name") socket; the environment is read once and removed (children must
 * not notify); WATCHDOG_PID of another process means no watchdog; without
 * NOTIFY_SOCKET sends are no-ops; a bad address is refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/notify.h"

static int bind_dgram(const char *name, bool abstract)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    memcpy(a.sun_path + (abstract ? 1 : 0), name, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
    return fd;
}

static void expect_msg(int fd, const char *want)
{
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void test_path_socket(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof(path), "/tmp/xtreamd-notify-%d.sock", (int)getpid());
    unlink(path);
    int fd = bind_dgram(path, false);
    setenv("NOTIFY_SOCKET", path, 1);
    setenv("WATCHDOG_USEC", "3000000", 1);
    unsetenv("WATCHDOG_PID");
    assert_int_equal(notify_open(), 0);
    assert_true(notify_enabled());
    assert_int_equal(notify_watchdog_usec(), 3000000);
    assert_null(getenv("NOTIFY_SOCKET"));
    assert_null(getenv("WATCHDOG_USEC"));
    assert_int_equal(notify_send("READY=1"), 0);
    expect_msg(fd, "READY=1");
    struct notify_counters c;
    notify_get_counters(&c);
    assert_true(c.sent >= 1);
    notify_close();
    close(fd);
    unlink(path);
}

static void test_abstract_socket(void **state)
{
    (void)state;
    char name[64], env[70];
    snprintf(name, sizeof(name), "xtreamd-notify-test-%d", (int)getpid());
    int fd = bind_dgram(name, true);
    snprintf(env, sizeof(env), "@%s", name);
    setenv("NOTIFY_SOCKET", env, 1);
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1); /* another process's watchdog */
    setenv("WATCHDOG_USEC", "3000000", 1);
    assert_int_equal(notify_open(), 0);
    assert_int_equal(notify_watchdog_usec(), 0);
    assert_int_equal(notify_send("STATUS=x\nWATCHDOG=1"), 0);
    expect_msg(fd, "STATUS=x\nWATCHDOG=1");
    notify_close();
    close(fd);
}

static void test_absent_and_bad(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(notify_open(), 0);
    assert_false(notify_enabled());
    assert_int_equal(notify_send("READY=1"), 0); /* a no-op */
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(notify_open(), -EINVAL);
    assert_false(notify_enabled());
    /* A socket nobody listens on: the datagram is lost and counted. */
    setenv("NOTIFY_SOCKET", "/tmp/xtreamd-notify-nobody.sock", 1);
    assert_int_equal(notify_open(), 0);
    struct notify_counters before, after;
    notify_get_counters(&before);
    assert_true(notify_send("READY=1") < 0);
    notify_get_counters(&after);
    assert_int_equal(after.failed, before.failed + 1);
    notify_close();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_absent_and_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
