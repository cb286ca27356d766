/* stream/hls.c's ladder grid (struct hls_grid): segmenters of renditions
 * made by one ffmpeg give the same segments under the same sequence numbers
 * whatever order their chunks arrive in, across a new generation and a PTS
 * going back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/refbuf.h"
#include "stream/stream_priv.h"

#define SEC 90000

/* A chunk of 1 packet at pts (a keyframe or not) of generation gen. */
static struct chunk mk(int64_t pts, bool key, uint32_t gen)
{
    uint8_t pkt[TS_PACKET_SIZE] = {0x47};
    struct chunk c = {
        .rb = refbuf_new(pkt, sizeof(pkt)),
        .flags = key ? CHUNK_KEY : 0,
        .gen = gen,
        .pts = pts,
        .pts_end = pts + SEC / 2,
    };
    return c;
}

/* Feeds h one second of rendition output from second t: a keyframe chunk
 * (every GOP of 1 s) and a second chunk half a second later. */
static void second(struct hls *h, int64_t base, int t, uint32_t gen)
{
    struct chunk a = mk(base + (int64_t)t * SEC, true, gen);
    struct chunk b = mk(base + (int64_t)t * SEC + SEC / 2, false, gen);
    hls_on_chunk(h, &a);
    hls_on_chunk(h, &b);
    refbuf_unref(a.rb);
    refbuf_unref(b.rb);
}

/* The sequence numbers and first PTS... of h's listed segments as text. */
static void listed(struct hls *h, char *out, size_t len)
{
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(hls_render(h, "t", 0, &b), 0);
    /* the variant index differs: compare without it */
    size_t o = 0;
    for (size_t i = 0; i < b.len && o + 1 < len; i++) {
        if (b.data[i] == '/' && i + 2 < b.len && b.data[i + 2] == '_') {
            out[o++] = '/';
            i += 2;
            continue;
        }
        out[o++] = b.data[i];
    }
    out[o] = '\0';
    buf_free(&b);
}

static void test_same_cuts_any_order(void **state)
{
    (void)state;
    struct hls_grid g = {.step_ms = 2000, .gop_ms = 1000, .wall_s = 1700000000};
    struct hls *a = hls_new(g.step_ms, &g), *b = hls_new(g.step_ms, &g);
    int64_t base = 5 * SEC;
    /* b lags a by three seconds, then catches up; b also starts one GOP
     * late (a keyframe dropped), and a new generation at t = 10 */
    for (int t = 0; t < 3; t++)
        second(a, base, t, 1);
    for (int t = 1; t < 10; t++) {
        second(b, base, t, 1);
        if (t + 3 < 10)
            second(a, base, t + 3, 1);
    }
    for (int t = 10; t < 20; t++) {
        second(b, base + 100 * SEC, t, 2);
        second(a, base + 100 * SEC, t, 2);
    }
    /* PTS going back inside generation 2: a new anchor, seen alike */
    for (int t = 0; t < 8; t++) {
        second(a, base, t, 2);
        second(b, base, t, 2);
    }
    char la[4096], lb[4096];
    listed(a, la, sizeof(la));
    listed(b, lb, sizeof(lb));
    assert_string_equal(la, lb);
    size_t n;
    size_t bytes;
    /* the grid's cells: 2-second segments from each anchor, numbered on */
    for (uint64_t q = g.next - 3; q < g.next - 1; q++) {
        assert_non_null(hls_segment(a, q, &n, &bytes));
        assert_non_null(hls_segment(b, q, &n, &bytes));
        assert_int_equal(n, 4); /* two seconds of two chunks */
    }
    assert_non_null(strstr(la, "#EXT-X-DISCONTINUITY\n"));
    assert_non_null(strstr(la, "#EXTINF:2.000,"));
    hls_free(a);
    hls_free(b);
}

/* The sequence number and first PTS of every listed segment, and the
 * playlist's implicit numbering checked against the URLs. */
static size_t listed_segs(struct hls *h, uint64_t *seq, int64_t *pts, size_t max)
{
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(hls_render(h, "t", -1, &b), 0);
    const char *ms = strstr(b.data, "#EXT-X-MEDIA-SEQUENCE:");
    assert_non_null(ms);
    unsigned long long implicit = strtoull(ms + 22, NULL, 10);
    size_t n = 0;
    for (const char *p = strstr(b.data, "/hls/t/"); p && n < max; p = strstr(p + 1, "/hls/t/")) {
        seq[n] = strtoull(p + 7, NULL, 10);
        assert_int_equal(seq[n], implicit + n); /* no gap in the implicit numbers */
        size_t cn, bytes;
        struct refbuf *const *c = hls_segment(h, seq[n], &cn, &bytes);
        assert_non_null(c);
        pts[n] = (int64_t)c[0]->data[1]; /* see feed(): the chunk carries its second */
        n++;
    }
    buf_free(&b);
    return n;
}

/* One chunk per second, a keyframe every gop seconds, the chunk's first
 * payload byte naming its second (for listed_segs). */
static void feed(struct hls *h, int64_t pts0, int from, int to, int gop)
{
    for (int t = from; t < to; t++) {
        uint8_t pkt[TS_PACKET_SIZE] = {0x47, (uint8_t)t};
        struct chunk c = {
            .rb = refbuf_new(pkt, sizeof(pkt)),
            .flags = t % gop == 0 ? CHUNK_KEY : 0,
            .gen = 1,
            .pts = (pts0 + (int64_t)t * SEC) & ((1LL << 33) - 1),
            .pts_end = (pts0 + (int64_t)t * SEC + SEC / 2) & ((1LL << 33) - 1),
        };
        hls_on_chunk(h, &c);
        refbuf_unref(c.rb);
    }
}

/* Two nodes (two grids) read the same stream, one starting 7 s and a
 * wall-clock minute later: the segments both list have the same numbers,
 * the same first chunk, and the same durations; the PTS wraps past 2^33 in
 * between without a jump in the numbers. */
static void test_two_nodes_same_numbers(void **state)
{
    (void)state;
    struct hls_grid ga = {.step_ms = 4000, .wall_s = 1800000000};
    struct hls_grid gb = {.step_ms = 4000, .wall_s = 1800000060};
    struct hls *a = hls_new(4000, &ga), *b = hls_new(4000, &gb);
    int64_t pts0 = (1LL << 33) - 20 * SEC; /* wraps at t = 20 */
    feed(a, pts0, 0, 7, 2);
    feed(a, pts0, 7, 40, 2);
    feed(b, pts0, 7, 40, 2);
    uint64_t sa[16], sb[16];
    int64_t pa[16], pb[16];
    size_t na = listed_segs(a, sa, pa, 16), nb = listed_segs(b, sb, pb, 16);
    assert_true(na >= 3 && nb >= 3);
    size_t common = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (sa[i] == sb[j]) {
                assert_int_equal(pa[i], pb[j]);
                common++;
            }
    assert_true(common >= 3);
    /* every listed segment starts on a 4 s cell: 2 GOPs of 2 s */
    for (size_t i = 1; i < na; i++)
        assert_int_equal(pa[i] - pa[i - 1], 4);
    hls_free(a);
    hls_free(b);
}

/* A time line starting behind the numbers used (another source's clock):
 * the numbers still grow by one, and the playlist never lists a gap. */
static void test_backward_keeps_growing(void **state)
{
    (void)state;
    struct hls_grid g = {.step_ms = 2000, .wall_s = 1800000000};
    struct hls *h = hls_new(2000, &g);
    feed(h, 500000LL * SEC, 0, 20, 1);
    uint64_t s1[16];
    int64_t p1[16];
    size_t n1 = listed_segs(h, s1, p1, 16);
    assert_true(n1 >= 3);
    /* generation 2 from a clock 3 hours behind */
    for (int t = 0; t < 12; t++) {
        uint8_t pkt[TS_PACKET_SIZE] = {0x47, (uint8_t)(100 + t)};
        struct chunk c = {
            .rb = refbuf_new(pkt, sizeof(pkt)),
            .flags = CHUNK_KEY | (t == 0 ? CHUNK_DISCONT : 0),
            .gen = 2,
            .pts = (500000LL - 3 * 3600) * SEC + (int64_t)t * SEC,
            .pts_end = (500000LL - 3 * 3600) * SEC + (int64_t)t * SEC + SEC / 2,
        };
        hls_on_chunk(h, &c);
        refbuf_unref(c.rb);
    }
    uint64_t s2[16];
    int64_t p2[16];
    size_t n2 = listed_segs(h, s2, p2, 16);
    assert_true(n2 >= 3);
    assert_true(s2[n2 - 1] > s1[n1 - 1]);
    assert_int_equal(g.rebased, 1);
    hls_free(h);
}

/* A discontinuity inside a generation (a source switch flagged CHUNK_DISCONT) whose clock
 * goes back into a cell already published: the playlist announces it (a tag, or the
 * discontinuity sequence once the window passed it), and numbers keep growing. */
static void test_discontinuity_announced_after_a_step_back(void **state)
{
    (void)state;
    struct hls_grid g = {.step_ms = 2000, .wall_s = 1800000000};
    struct hls *h = hls_new(2000, &g);
    const int64_t base = 500000LL * SEC;
    for (int t = 0; t < 9; t++)
        second(h, base, t, 1);
    for (int t = 0; t < 7; t++) {
        uint8_t pkt[TS_PACKET_SIZE] = {0x47, (uint8_t)(50 + t)};
        struct chunk c = {
            .rb = refbuf_new(pkt, sizeof(pkt)),
            .flags = CHUNK_KEY | (t == 0 ? CHUNK_DISCONT : 0),
            .gen = 1,
            .pts = base + 8 * SEC + SEC / 4 + (int64_t)t * SEC,
            .pts_end = base + 8 * SEC + SEC * 3 / 4 + (int64_t)t * SEC,
        };
        hls_on_chunk(h, &c);
        refbuf_unref(c.rb);
    }
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(hls_render(h, "t", -1, &b), 0);
    buf_putc(&b, '\0');
    const char *seq = strstr(b.data, "#EXT-X-DISCONTINUITY-SEQUENCE:");
    assert_non_null(seq);
    /* announced: a tag in the window, or the window already past it (sequence counted) */
    assert_true(strstr(b.data, "#EXT-X-DISCONTINUITY\n") != NULL ||
                strncmp(seq, "#EXT-X-DISCONTINUITY-SEQUENCE:0", 31) != 0);
    buf_free(&b);
    hls_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_cuts_any_order),
        cmocka_unit_test(test_two_nodes_same_numbers),
        cmocka_unit_test(test_backward_keeps_growing),
        cmocka_unit_test(test_discontinuity_announced_after_a_step_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
