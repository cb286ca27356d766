/*
 * Unit tests for media/ts.c on synthetic captures built here packet by packet:
 * PAT/PMT parsing, keyframes by random_access_indicator and by H.264 NAL
 * fallback, PTS, resync after garbage and split feeds, continuity errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "media/ts.h"

#define VPID   0x100
#define APID   0x101
#define PMTPID 0x1000

static uint8_t cc_of[8192];

static void header(uint8_t *p, uint16_t pid, int pusi)
{
    memset(p, 0xff, TS_PACKET_SIZE);
    p[0] = 0x47;
    p[1] = (uint8_t)((pusi ? 0x40 : 0) | (pid >> 8));
    p[2] = (uint8_t)pid;
    p[3] = (uint8_t)(0x10 | (cc_of[pid]++ & 0x0f));
}

static void pat(uint8_t *p)
{
    header(p, 0, 1);
    static const uint8_t s[] = {0x00, 0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00,
                                0x00, 0x01, 0xf0, 0x00, 0,    0,    0,    0};
    memcpy(p + 4, s, sizeof(s));
}

static void pmt(uint8_t *p, uint8_t version)
{
    header(p, PMTPID, 1);
    uint8_t s[] = {0x00, 0x02, 0xb0, 0x17, 0x00, 0x01, (uint8_t)(0xc1 | (version << 1)),
                   0x00, 0x00, 0xe1, 0x00, 0xf0, 0x00, 0x1b,
                   0xe1, 0x00, 0xf0, 0x00, 0x0f, 0xe1, 0x01,
                   0xf0, 0x00, 0,    0,    0,    0};
    memcpy(p + 4, s, sizeof(s));
}

/* A PES start on pid with PTS; rai sets random_access_indicator; nal is the
 * first NAL type in the payload. */
static void pes(uint8_t *p, uint16_t pid, int64_t pts, int rai, int nal)
{
    header(p, pid, 1);
    int off = 4;
    if (rai) {
        p[3] = (uint8_t)((p[3] & 0x0f) | 0x30);
        p[4] = 1;
        p[5] = 0x40;
        off = 6;
    }
    uint8_t *e = p + off;
    e[0] = 0;
    e[1] = 0;
    e[2] = 1;
    e[3] = pid == VPID ? 0xe0 : 0xc0;
    e[4] = e[5] = 0;
    e[6] = 0x80;
    e[7] = 0x80;
    e[8] = 5;
    e[9] = (uint8_t)(0x21 | ((pts >> 29) & 0x0e));
    e[10] = (uint8_t)(pts >> 22);
    e[11] = (uint8_t)(0x01 | ((pts >> 14) & 0xfe));
    e[12] = (uint8_t)(pts >> 7);
    e[13] = (uint8_t)(0x01 | ((pts << 1) & 0xfe));
    e[14] = 0;
    e[15] = 0;
    e[16] = 0;
    e[17] = 1;
    e[18] = (uint8_t)(0x60 | nal);
}

struct seen {
    int packets, keys, psi;
    int64_t last_pts;
    uint16_t key_pids[16];
};

static void collect(void *ud, const struct ts_packet *pk)
{
    struct seen *s = ud;
    s->packets++;
    if (pk->psi)
        s->psi++;
    if (pk->key && s->keys < 16)
        s->key_pids[s->keys++] = pk->pid;
    if (pk->pts != TS_PTS_NONE)
        s->last_pts = pk->pts;
}

static size_t build(uint8_t *buf, int rai)
{
    memset(cc_of, 0, sizeof(cc_of));
    size_t n = 0;
    pat(buf + n);
    n += 188;
    pmt(buf + n, 0);
    n += 188;
    pes(buf + n, VPID, 900000, rai, 5); /* IDR */
    n += 188;
    pes(buf + n, APID, 900000, 0, 0);
    n += 188;
    pes(buf + n, VPID, 903600, 0, 1); /* non-IDR */
    n += 188;
    return n;
}

static void test_psi_and_rai_keyframes(void **state)
{
    (void)state;
    uint8_t buf[188 * 8];
    size_t n = build(buf, 1);
    struct ts_reader r;
    ts_reader_init(&r);
    struct seen s = {0};
    assert_int_equal(ts_reader_feed(&r, buf, n, collect, &s), 5);
    assert_int_equal(r.pmt_pid, PMTPID);
    assert_int_equal(r.es_count, 2);
    assert_int_equal(r.es[r.video_idx].pid, VPID);
    assert_int_equal(r.es[r.audio_idx].pid, APID);
    assert_true(r.rai_seen);
    assert_int_equal(s.keys, 1);
    assert_int_equal(s.key_pids[0], VPID);
    assert_int_equal(s.psi, 2);
    assert_int_equal(s.last_pts, 903600);
    char codecs[32];
    ts_reader_codecs(&r, codecs, sizeof(codecs));
    assert_string_equal(codecs, "h264+aac");
    assert_int_equal(r.cc_errors, 0);
}

static void test_nal_fallback(void **state)
{
    (void)state;
    uint8_t buf[188 * 8];
    size_t n = build(buf, 0);
    struct ts_reader r;
    ts_reader_init(&r);
    struct seen s = {0};
    ts_reader_feed(&r, buf, n, collect, &s);
    assert_false(r.rai_seen);
    assert_int_equal(s.keys, 1); /* the IDR, not the non-IDR slice */
}

static void test_resync_and_split_feed(void **state)
{
    (void)state;
    uint8_t buf[188 * 8 + 100];
    memset(buf, 0x47, 7); /* junk that looks like sync bytes */
    buf[3] = 0x00;
    size_t n = 7 + build(buf + 7, 1);
    struct ts_reader r;
    ts_reader_init(&r);
    struct seen s = {0};
    /* Feed in odd pieces: packets cross feed boundaries. */
    for (size_t at = 0; at < n;) {
        size_t piece = n - at < 61 ? n - at : 61;
        ts_reader_feed(&r, buf + at, piece, collect, &s);
        at += piece;
    }
    assert_int_equal(s.packets, 5);
    assert_int_equal(s.keys, 1);
    assert_true(r.bytes_dropped >= 7);
}

static void test_cc_errors_and_pmt_change(void **state)
{
    (void)state;
    uint8_t buf[188 * 8];
    size_t n = build(buf, 1);
    buf[188 * 4 + 3] = (uint8_t)((buf[188 * 4 + 3] & 0xf0) | 0x07); /* jump the video CC */
    pmt(buf + n, 3);
    n += 188;
    struct ts_reader r;
    ts_reader_init(&r);
    struct seen s = {0};
    bool changed = false;
    ts_reader_feed(&r, buf, n, collect, &s);
    assert_int_equal(r.cc_errors, 1);
    struct ts_packet pk;
    uint8_t again[188];
    pmt(again, 4);
    ts_reader_packet(&r, again, &pk);
    changed = pk.psi_changed;
    assert_true(changed);
    assert_int_equal(r.pmt_version, 4);
}

/* Leaves non-zero bytes where the next call's locals will live, as a real
 * ingest loop does: parse_pmt once compared its stack structs with memcmp,
 * padding included, and saw every repeated PMT as a new program. */
static void __attribute__((noinline)) dirty_stack(void)
{
    volatile uint8_t junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(0xa5 ^ i);
}

static void test_repeated_pmt_is_not_a_change(void **state)
{
    (void)state;
    memset(cc_of, 0, sizeof(cc_of));
    struct ts_reader r;
    ts_reader_init(&r);
    uint8_t p[188];
    struct ts_packet pk;
    pat(p);
    ts_reader_packet(&r, p, &pk);
    pmt(p, 0);
    ts_reader_packet(&r, p, &pk);
    assert_false(pk.psi_changed); /* the first PMT is no change */
    for (int i = 0; i < 50; i++) {
        pmt(p, 0);
        dirty_stack();
        ts_reader_packet(&r, p, &pk);
        assert_true(pk.psi);
        assert_false(pk.psi_changed);
    }
    assert_int_equal(r.es_count, 2);
}

static void test_shift_time(void **state)
{
    (void)state;
    uint8_t p[188];
    memset(cc_of, 0, sizeof(cc_of));
    pes(p, VPID, (1LL << 33) - 1000, 0, 5);
    assert_int_equal(ts_packet_pts(p), (1LL << 33) - 1000);
    ts_packet_shift_time(p, 3000);
    assert_int_equal(ts_packet_pts(p), 2000); /* wrapped */
    assert_int_equal(ts_pts_diff(2000, (1LL << 33) - 1000), 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_psi_and_rai_keyframes),
        cmocka_unit_test(test_nal_fallback),
        cmocka_unit_test(test_resync_and_split_feed),
        cmocka_unit_test(test_cc_errors_and_pmt_change),
        cmocka_unit_test(test_repeated_pmt_is_not_a_change),
        cmocka_unit_test(test_shift_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
