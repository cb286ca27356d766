/* Unit tests for the archive: index records (round trip, checksum, torn
 * tail, lengths beyond the TS), the recorder fed with synthetic chunks at
 * chosen UTC times (segments cut at keyframes, hour files, a gap after a
 * break, a full queue), range lookup (containing segment, clamp before the
 * head, gaps, across an hour boundary, ARCHIVE_LOOKUP_AFTER) and a restart
 * that repairs a torn tail and appends to the same hour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive.h"

#define PKT 188
/* 2024-03-01 10:59:50 UTC */
#define T0 1709290790000LL

static char root[64];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/xt-archive-XXXXXX");
    assert_non_null(mkdtemp(root));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void test_record_round_trip(void **state)
{
    (void)state;
    struct archive_idx_rec r = {.utc_ms = T0,
                                .pts = 8589934592LL + 5,
                                .offset = 188 * 3,
                                .length = 188 * 1000,
                                .duration_ms = 6000,
                                .flags = 2};
    uint8_t b[ARCHIVE_RECORD_SIZE];
    archive_idx_encode(&r, b);
    struct archive_idx_rec d;
    assert_int_equal(archive_idx_decode(b, &d), 0);
    assert_memory_equal(&r, &d, sizeof(r));
    b[20] ^= 1;
    assert_int_equal(archive_idx_decode(b, &d), -EBADMSG);
    /* A valid checksum over impossible fields is refused too. */
    r.length = 100;
    archive_idx_encode(&r, b);
    assert_int_equal(archive_idx_decode(b, &d), -EBADMSG);
}

static void test_parse_torn_and_bounds(void **state)
{
    (void)state;
    uint8_t b[4 * ARCHIVE_RECORD_SIZE + 17];
    memset(b, 0xAB, sizeof(b));
    for (int i = 0; i < 4; i++) {
        struct archive_idx_rec r = {.utc_ms = T0 + i * 1000,
                                    .pts = i,
                                    .offset = (uint64_t)i * 1880,
                                    .length = 1880,
                                    .duration_ms = 1000};
        archive_idx_encode(&r, b + i * ARCHIVE_RECORD_SIZE);
    }
    struct archive_idx_rec *recs;
    size_t n, valid;
    /* 4 records + a torn 17 bytes: the 4 stay, the tail is cut. */
    assert_int_equal(archive_idx_parse(b, sizeof(b), 4 * 1880, &recs, &n, &valid), 0);
    assert_int_equal(n, 4);
    assert_int_equal(valid, 4 * ARCHIVE_RECORD_SIZE);
    free(recs);
    /* The TS is shorter than the 4th segment: 3 are valid. */
    assert_int_equal(archive_idx_parse(b, sizeof(b), 4 * 1880 - 188, &recs, &n, &valid), 0);
    assert_int_equal(n, 3);
    free(recs);
    /* A corrupt 2nd record ends the valid part there. */
    b[ARCHIVE_RECORD_SIZE + 30] ^= 0x40;
    assert_int_equal(archive_idx_parse(b, sizeof(b), 4 * 1880, &recs, &n, &valid), 0);
    assert_int_equal(n, 1);
    assert_int_equal(valid, ARCHIVE_RECORD_SIZE);
    free(recs);
    assert_int_equal(archive_idx_parse(b, 10, 4 * 1880, &recs, &n, &valid), 0);
    assert_int_equal(n, 0);
    assert_null(recs);
}

static struct archive *open_archive_ex(unsigned segment_ms, size_t queue, unsigned file_s,
                                       uint64_t quota, unsigned day_s, unsigned days)
{
    struct archive_config cfg;
    archive_config_defaults(&cfg);
    assert_int_equal(archive_config_set(&cfg, "dir=/nonexistent/x"), 0);
    snprintf(cfg.dir, sizeof(cfg.dir), "%s", root);
    cfg.segment_ms = segment_ms;
    cfg.queue_bytes = queue;
    cfg.prune_ms = 3600000; /* one pass at start only */
    cfg.file_s = file_s;
    cfg.quota_bytes = quota;
    cfg.day_s = day_s;
    struct archive *a;
    assert_int_equal(archive_new(NULL, &cfg, &a), 0);
    struct archive_stream_cfg sc = {.stream_id = 7, .days = days};
    assert_int_equal(archive_set_streams(a, &sc, 1), 0);
    assert_true(archive_wants(a, 7));
    assert_false(archive_wants(a, 8));
    return a;
}

/* Times in 2024 and retention of a century: nothing is pruned by time. */
static struct archive *open_archive(unsigned segment_ms, size_t queue)
{
    return open_archive_ex(segment_ms, queue, 3600, 0, 86400, 36500);
}

static uint64_t bytes_of(struct archive *a, size_t *files)
{
    struct archive_range r; /* first: it waits for the start-up scan */
    assert_int_equal(archive_lookup(a, 7, 0, 0, 0, 0, &r), 0);
    *files = r.nfiles;
    archive_range_free(&r);
    struct archive_stream_info in;
    assert_int_equal(archive_stream_info(a, 7, &in), 0);
    return in.bytes;
}

/* Chunks every 250 ms from t, a keyframe every 1 s, 10 packets each (the
 * first byte says which chunk it is). */
static void feed(struct archive *a, int64_t t, int count, int tag)
{
    for (int i = 0; i < count; i++) {
        uint8_t data[PKT * 10];
        memset(data, tag + i, sizeof(data));
        data[0] = 0x47;
        struct refbuf *rb = refbuf_new(data, sizeof(data));
        assert_non_null(rb);
        uint32_t fl = i % 4 == 0 ? ARCHIVE_CHUNK_KEY : 0;
        assert_int_equal(archive_on_chunk(a, 7, rb, fl, 90 * (t + i * 250), t + i * 250), 0);
        refbuf_unref(rb);
    }
}

static void test_record_and_lookup(void **state)
{
    (void)state;
    struct archive *a = open_archive(2000, 64u << 20);
    feed(a, T0, 80, 0);           /* 10:59:50 → 11:00:10: two hour files */
    archive_stream_break(a, 7);   /* the channel stopped ... */
    feed(a, T0 + 60000, 16, 100); /* ... and came back a minute later */
    archive_stop(a);

    struct archive_stream_info in;
    assert_int_equal(archive_stream_info(a, 7, &in), 0);
    assert_int_equal(in.head_ms, T0);
    assert_true(in.segments >= 10);
    assert_true(in.tail_ms >= T0 + 60000 + 3000);

    /* Files: <root>/7/2024030110.ts and 2024030111.ts (+ .idx). */
    char p[160];
    struct stat st;
    snprintf(p, sizeof(p), "%s/7/2024030110.ts", root);
    assert_int_equal(stat(p, &st), 0);
    snprintf(p, sizeof(p), "%s/7/2024030111.idx", root);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size % ARCHIVE_RECORD_SIZE, 0);

    /* A start inside a segment: that segment first (its keyframe <= start). */
    struct archive_range r;
    assert_int_equal(archive_lookup(a, 7, T0 + 3500, T0 + 12000, 0, 0, &r), 0);
    assert_true(r.n >= 4);
    assert_true(r.spans[0].utc_ms <= T0 + 3500);
    assert_true(r.spans[0].utc_ms + r.spans[0].duration_ms > T0 + 3500);
    /* Across the hour: two files, spans contiguous in time, each starting
     * with a keyframe chunk (first byte of its packets = a multiple of 4). */
    assert_int_equal(r.nfiles, 2);
    for (size_t i = 0; i < r.n; i++) {
        uint8_t b[2];
        assert_int_equal(pread(r.files[r.spans[i].file].fd, b, 2, (off_t)r.spans[i].offset), 2);
        assert_int_equal(b[0], 0x47);
        assert_int_equal(b[1] % 4, 0);
        assert_int_equal(r.spans[i].length % PKT, 0);
        if (i)
            assert_int_equal(r.spans[i].utc_ms, r.spans[i - 1].utc_ms + r.spans[i - 1].duration_ms);
    }
    assert_true(r.spans[r.n - 1].utc_ms < T0 + 12000);
    assert_true(r.complete);
    archive_range_free(&r);

    /* Before the head: clamped to the first segment. */
    assert_int_equal(archive_lookup(a, 7, T0 - 3600000, T0 + 1000, 0, 0, &r), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.spans[0].utc_ms, T0);
    archive_range_free(&r);

    /* In the gap: the first segment after it, marked as a discontinuity. */
    assert_int_equal(archive_lookup(a, 7, T0 + 40000, 0, 0, 0, &r), 0);
    assert_true(r.n >= 1);
    assert_int_equal(r.spans[0].utc_ms, T0 + 60000);
    assert_true(r.spans[0].flags & ARCHIVE_CHUNK_DISCONT);
    archive_range_free(&r);

    /* Following a range: AFTER gives only segments starting at or after. */
    assert_int_equal(archive_lookup(a, 7, T0 + 3500, 0, 0, ARCHIVE_LOOKUP_AFTER, &r), 0);
    assert_true(r.spans[0].utc_ms >= T0 + 3500);
    archive_range_free(&r);

    /* max bounds the answer and says it is not complete. */
    assert_int_equal(archive_lookup(a, 7, T0, 0, 2, 0, &r), 0);
    assert_int_equal(r.n, 2);
    assert_false(r.complete);
    archive_range_free(&r);

    assert_int_equal(archive_lookup(a, 9, T0, 0, 0, 0, &r), -ENOENT);
    archive_free(a);
}

static void test_restart_repairs_and_resumes(void **state)
{
    (void)state;
    struct archive *a = open_archive(1000, 64u << 20);
    feed(a, T0 + 20000, 20, 0); /* 11:00:10 .. 11:00:15 */
    archive_free(a);

    char ip[160], tp[160];
    snprintf(ip, sizeof(ip), "%s/7/2024030111.idx", root);
    snprintf(tp, sizeof(tp), "%s/7/2024030111.ts", root);
    struct stat is, ts;
    assert_int_equal(stat(ip, &is), 0);
    assert_int_equal(stat(tp, &ts), 0);
    /* A crash: a torn index record and TS bytes no record names. */
    int fd = open(ip, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "torn-record-bytes", 17), 17);
    close(fd);
    fd = open(tp, O_WRONLY | O_APPEND);
    uint8_t junk[PKT * 3] = {0x47};
    assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);

    a = open_archive(1000, 64u << 20);
    struct archive_range r;
    assert_int_equal(archive_lookup(a, 7, T0 + 20000, 0, 0, 0, &r), 0); /* waits for the scan */
    size_t before = r.n;
    assert_true(before >= 4);
    archive_range_free(&r);
    struct stat is2, ts2;
    assert_int_equal(stat(ip, &is2), 0);
    assert_int_equal(stat(tp, &ts2), 0);
    assert_int_equal(is2.st_size, is.st_size);
    assert_true(ts2.st_size <= ts.st_size);
    /* Recording resumes in the same hour file. */
    feed(a, T0 + 40000, 12, 50);
    archive_stop(a);
    assert_int_equal(archive_lookup(a, 7, T0 + 20000, 0, 0, 0, &r), 0);
    assert_true(r.n > before);
    assert_int_equal(r.nfiles, 1);
    bool disc = false;
    for (size_t i = 0; i < r.n; i++)
        if (r.spans[i].utc_ms == T0 + 40000)
            disc = r.spans[i].flags & ARCHIVE_CHUNK_DISCONT;
    assert_true(disc);
    archive_range_free(&r);
    archive_free(a);
}

static void test_quota_then_retention(void **state)
{
    (void)state;
    /* 60 s in files of 10 s: 6 files. */
    struct archive *a = open_archive_ex(1000, 64u << 20, 10, 0, 86400, 36500);
    feed(a, T0 + 10000, 240, 0);
    archive_stop(a);
    size_t files;
    uint64_t total = bytes_of(a, &files);
    assert_int_equal(files, 6);
    archive_free(a);

    /* A quota of half: the oldest files go first until the rest fits. */
    a = open_archive_ex(1000, 64u << 20, 10, total / 2, 86400, 36500);
    uint64_t now = 0;
    for (int i = 0; i < 500 && (now = bytes_of(a, &files)) > total / 2; i++)
        usleep(10000);
    assert_true(now <= total / 2);
    bytes_of(a, &files); /* the prune is over: a fresh listing */
    assert_true(files >= 2 && files <= 3);
    struct archive_range r;
    assert_int_equal(archive_lookup(a, 7, 0, 0, 0, 0, &r), 0);
    assert_true(r.spans[0].utc_ms >= T0 + 40000); /* the oldest went */
    archive_range_free(&r);
    struct buf m;
    buf_init(&m, 0);
    archive_metrics(a, &m);
    assert_null(strstr(m.data, "xtreamd_archive_pruned_files_total{reason=\"quota\"} 0\n"));
    buf_free(&m);
    archive_free(a);

    /* Retention of 1 "day" of 1 s: everything from 2024 goes. */
    a = open_archive_ex(1000, 64u << 20, 10, 0, 1, 1);
    for (int i = 0; i < 500 && bytes_of(a, &files) > 0; i++)
        usleep(10000);
    assert_int_equal(bytes_of(a, &files), 0);
    assert_int_equal(files, 0);
    char p[160];
    snprintf(p, sizeof(p), "%s/7/20240301-110000.ts", root);
    assert_int_equal(access(p, F_OK), -1);
    archive_free(a);
}

static void test_queue_full_is_counted(void **state)
{
    (void)state;
    struct archive *a = open_archive(1000, 100); /* smaller than one chunk */
    uint8_t data[PKT] = {0x47};
    struct refbuf *rb = refbuf_new(data, sizeof(data));
    assert_int_equal(archive_on_chunk(a, 7, rb, ARCHIVE_CHUNK_KEY, 0, T0), -ENOBUFS);
    assert_int_equal(archive_on_chunk(a, 8, rb, ARCHIVE_CHUNK_KEY, 0, T0), -ENOENT);
    refbuf_unref(rb);
    struct archive_stream_info in;
    assert_int_equal(archive_stream_info(a, 7, &in), 0);
    assert_int_equal(in.dropped, 1);
    struct buf m;
    buf_init(&m, 0);
    archive_metrics(a, &m);
    assert_non_null(strstr(m.data, "xtreamd_archive_chunks_dropped_total 1\n"));
    assert_non_null(
        strstr(m.data, "xtreamd_archive_stream_recording{stream=\"7\",state=\"waiting\"} 0"));
    buf_free(&m);
    archive_free(a);
}

static void test_config_set(void **state)
{
    (void)state;
    struct archive_config c;
    archive_config_defaults(&c);
    assert_int_equal(archive_config_set(&c, "quota-mb=10"), 0);
    assert_int_equal(c.quota_bytes, 10u << 20);
    assert_int_equal(archive_config_set(&c, "file-seconds=600"), 0);
    assert_int_equal(archive_config_set(&c, "file-seconds=7"), -EINVAL);
    assert_int_equal(archive_config_set(&c, "segment-seconds=0"), -EINVAL);
    assert_int_equal(archive_config_set(&c, "bogus=1"), -EINVAL);
    assert_int_equal(archive_config_set(&c, "dir="), -EINVAL);
    assert_int_equal(c.file_s, 600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_parse_torn_and_bounds),
        cmocka_unit_test_setup_teardown(test_record_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_repairs_and_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_then_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_full_is_counted, setup, teardown),
        cmocka_unit_test(test_config_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
