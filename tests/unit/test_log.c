/* Unit tests for the log's escaping (core/log.h): control characters, DEL,
 * C1 controls, line separators and malformed UTF-8 become \xNN; valid UTF-8
 * passes; quoted fields also escape '"' and '\'; log_field cuts between
 * whole escapes. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/log.h"

static void expect(const char *in, size_t len, bool quoted, const char *want)
{
    struct buf b = BUF_INIT(0);
    assert_int_equal(log_escape(&b, in, len, quoted), 0);
    assert_string_equal(b.data ? b.data : "", want);
    buf_free(&b);
}

static void test_escape(void **state)
{
    (void)state;
    expect("plain text", 10, true, "plain text");
    expect("a\r\nb", 4, true, "a\\x0d\\x0ab");
    expect("\x1b[31mred", 8, false, "\\x1b[31mred");
    expect("del\x7f", 4, false, "del\\x7f");
    expect("tab\there", 8, false, "tab\\x09here");
    expect("q\"b\\", 4, true, "q\\x22b\\x5c");
    expect("q\"b\\", 4, false, "q\"b\\");
    expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xba", 14, true,
           "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xba");
    expect("\xc2\x9b"
           "1",
           3, false, "\\xc2\\x9b1");                                /* C1 CSI */
    expect("\xe2\x80\xa8", 3, false, "\\xe2\\x80\\xa8");            /* U+2028 */
    expect("\xff\xc3(\xc0\xaf", 5, false, "\\xff\\xc3(\\xc0\\xaf"); /* invalid, overlong */
    expect("\xed\xa0\x80", 3, false, "\\xed\\xa0\\x80");            /* surrogate */
    expect("\xf4\x90\x80\x80", 4, false, "\\xf4\\x90\\x80\\x80");   /* past U+10FFFF */
    expect("\xe2\x82", 2, false, "\\xe2\\x82");                     /* cut sequence */
    expect("nul\0x", 5, false, "nul\\x00x");
}

static void test_field(void **state)
{
    (void)state;
    char out[8];
    assert_string_equal(log_field(out, sizeof(out), "bob"), "bob");
    assert_string_equal(log_field(out, sizeof(out), NULL), "");
    /* "ab" + "\x0d" (4) fits in 7; the next escape does not. */
    assert_string_equal(log_field(out, sizeof(out), "ab\r\n"), "ab\\x0d");
    assert_string_equal(log_field(out, sizeof(out), "abcdef\xc3\xa9"), "abcdef");
    char big[300];
    assert_string_equal(log_field(big, sizeof(big), "x\ny"), "x\\x0ay");
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* Levels per tag, the setting's syntax, and the bound of the table. */
static void test_levels(void **state)
{
    (void)state;
    enum log_level l;
    assert_int_equal(log_level_parse("warning", &l), 0);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_level_parse("loud", &l), -EINVAL);
    log_set_level(LOG_INFO);
    assert_false(log_enabled(LOG_DEBUG, "http"));
    assert_int_equal(log_apply_level_setting("http=debug"), 0);
    assert_true(log_enabled(LOG_DEBUG, "http"));
    assert_false(log_enabled(LOG_DEBUG, "live"));
    assert_int_equal(log_apply_level_setting("live=error"), 0);
    assert_false(log_enabled(LOG_WARN, "live"));
    assert_true(log_enabled(LOG_WARN, "serve"));
    assert_int_equal(log_apply_level_setting("warn"), 0);
    assert_false(log_enabled(LOG_INFO, "serve"));
    assert_true(log_enabled(LOG_DEBUG, "http"));
    assert_int_equal(log_apply_level_setting("=debug"), -EINVAL);
    assert_int_equal(log_apply_level_setting("Bad Tag=debug"), -EINVAL);
    assert_int_equal(log_apply_level_setting("http=chatty"), -EINVAL);
    struct log_tag_level tl[4];
    assert_int_equal(log_tag_levels(tl, 4), 2);
    assert_string_equal(tl[0].tag, "http");
    assert_string_equal(tl[1].tag, "live");
    assert_int_equal(log_clear_tag_level("http"), 0);
    assert_int_equal(log_clear_tag_level("http"), -ENOENT);
    assert_false(log_enabled(LOG_DEBUG, "http"));
    char tag[16];
    for (int i = 0; i < LOG_MAX_TAG_LEVELS + 1; i++) {
        snprintf(tag, sizeof(tag), "t%d", i);
        int rc = log_set_tag_level(tag, LOG_DEBUG);
        assert_int_equal(rc, i < LOG_MAX_TAG_LEVELS - 1 ? 0 : -ENOSPC);
    }
    log_clear_tag_levels();
    assert_int_equal(log_tag_levels(tl, 4), 0);
    log_set_level(LOG_INFO);
}

/* A file, JSON lines with hostile bytes, and a reopen after a rename. */
static void test_file_json_reopen(void **state)
{
    (void)state;
    char dir[] = "/tmp/xtreamd-logtest-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], moved[256];
    snprintf(path, sizeof(path), "%s/x.log", dir);
    snprintf(moved, sizeof(moved), "%s/x.log.1", dir);
    assert_int_equal(log_open_file(path), 0);
    log_set_format(LOG_FORMAT_JSON);
    log_info("test", "quote \" back \\ nl \n esc \x1b bad \xff end");
    assert_int_equal(rename(path, moved), 0);
    log_info("test", "still old");
    assert_int_equal(log_reopen(), 0);
    log_warn("test", "new file");
    log_set_format(LOG_FORMAT_TEXT);
    log_info("test", "text line");
    assert_int_equal(log_open_file(NULL), 0);

    char *old = slurp(moved), *cur = slurp(path);
    char *nl = strchr(old, '\n');
    assert_non_null(nl);
    *nl = '\0';
    json_error_t jerr;
    json_t *j = json_loads(old, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(j, "tag")), "test");
    assert_string_equal(json_string_value(json_object_get(j, "message")),
                        "quote \" back \\ nl \\x0a esc \\x1b bad \\xff end");
    assert_non_null(json_string_value(json_object_get(j, "time")));
    json_decref(j);
    assert_non_null(strstr(nl + 1, "still old"));
    assert_null(strstr(cur, "still old"));
    assert_non_null(strstr(cur, "\"level\":\"warn\",\"tag\":\"test\",\"message\":\"new file\"}\n"));
    assert_non_null(strstr(cur, " info test: text line\n"));
    free(old);
    free(cur);
    unlink(path);
    unlink(moved);
    rmdir(dir);
    struct log_counters c;
    log_get_counters(&c);
    assert_true(c.reopens >= 1);
}

/* A fresh temp folder with the log going to path = dir/name. */
struct temp_log {
    char dir[64];
    char path[256];
};

static void temp_log_open(struct temp_log *t, const char *name)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/xtreamd-logtest-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
    assert_int_equal(log_open_file(t->path), 0);
}

static void temp_log_close(struct temp_log *t)
{
    assert_int_equal(log_open_file(NULL), 0);
    unlink(t->path);
    rmdir(t->dir);
}

/* a and then b, both in the file at path. */
static void assert_in_order(const char *path, const char *a, const char *b)
{
    char *cur = slurp(path);
    char *pa = strstr(cur, a), *pb = strstr(cur, b);
    assert_non_null(pa);
    assert_non_null(pb);
    assert_true(pa < pb);
    free(cur);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Held lines: nothing reaches the file until the flush, then all of it in
 * order; a warning writes what was held first, then itself; past
 * LOG_BATCH_MAX the batch is written; the counters count lines. */
static void test_batch(void **state)
{
    (void)state;
    struct temp_log t;
    temp_log_open(&t, "b.log");
    const char *path = t.path;
    struct log_counters c0, c1;
    log_get_counters(&c0);

    log_batch_begin();
    assert_true(log_batch_holding());
    log_info("test", "held one");
    const char *msg = "held two \x01";
    log_text(LOG_INFO, "test", msg, strlen(msg));
    char *cur = slurp(path);
    assert_string_equal(cur, "");
    free(cur);
    log_get_counters(&c1);
    assert_int_equal(c1.lines, c0.lines);
    log_batch_flush();
    assert_in_order(path, " info test: held one\n", "held two \\x01\n");
    log_get_counters(&c1);
    assert_int_equal(c1.lines, c0.lines + 2);

    /* A warning is never held, and never overtakes what was. */
    log_info("test", "before the warning");
    log_warn("test", "the warning");
    assert_in_order(path, "before the warning", "warn test: the warning");

    /* The bound: about 100 bytes a line, so LOG_BATCH_MAX / 64 lines pass it. */
    size_t before_lines = count_lines((cur = slurp(path)));
    free(cur);
    char pad[80];
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int i = 0; i < LOG_BATCH_MAX / 64; i++)
        log_info("test", "%s %d", pad, i);
    cur = slurp(path);
    size_t written = count_lines(cur) - before_lines;
    free(cur);
    assert_true(written > 0);                  /* the full batch went out */
    assert_true(written < LOG_BATCH_MAX / 64); /* the rest is still held */

    /* The end writes the rest and stops holding. */
    log_batch_end();
    assert_false(log_batch_holding());
    log_info("test", "direct");
    cur = slurp(path);
    assert_int_equal(count_lines(cur) - before_lines, LOG_BATCH_MAX / 64 + 1);
    assert_non_null(strstr(cur, " info test: direct\n"));
    free(cur);
    temp_log_close(&t);
}

static void *held_then_exit(void *path)
{
    (void)path;
    log_batch_begin();
    log_info("test", "held by a thread that ends");
    return NULL;
}

/* A thread that ends while it holds lines writes them. */
static void test_batch_thread_exit(void **state)
{
    (void)state;
    struct temp_log t;
    temp_log_open(&t, "t.log");
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, held_then_exit, NULL), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    char *cur = slurp(t.path);
    assert_non_null(strstr(cur, "held by a thread that ends\n"));
    free(cur);
    temp_log_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape), cmocka_unit_test(test_field),
        cmocka_unit_test(test_levels), cmocka_unit_test(test_file_json_reopen),
        cmocka_unit_test(test_batch),  cmocka_unit_test(test_batch_thread_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
