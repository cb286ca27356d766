/*
 * hls: the in-memory HLS segmenter of one channel (RFC 8216). A segment is a
 * list of references to the channel's chunks — no copy, no disk.
 *
 * Rules kept (docs/internals/live.md §HLS):
 *  - segments start at CHUNK_KEY chunks (which begin with PAT+PMT) and are cut
 *    at the keyframe where the grid cell changes (struct hls_grid): cuts and
 *    numbers depend only on the stream's timestamps, so every node reading
 *    the same stream publishes the same segments under the same numbers;
 *  - a segmenter's first segment (started mid-cell) is never published;
 *  - EXT-X-TARGETDURATION is fixed for the life of the object;
 *  - the playlist window lasts at least 3 × TARGETDURATION, and lists only
 *    the newest run of consecutive numbers (HLS numbers segments implicitly);
 *  - sequence numbers only grow (the grid's bias, see grid_anchor);
 *  - a generation change (ffmpeg restart, source switch, slate loop) or a
 *    CHUNK_DISCONT chunk opens a segment tagged EXT-X-DISCONTINUITY, and
 *    EXT-X-DISCONTINUITY-SEQUENCE counts the tags that left the window;
 *  - HLS_RETAIN segments stay fetchable after leaving the playlist.
 * Bounds: HLS_MAX_SEGS segments, HLS_MAX_CHUNKS chunks per segment.
 * Threading: loop thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "stream/stream_priv.h"

#define HLS_MAX_SEGS   64
#define HLS_MAX_CHUNKS 2048
#define HLS_RETAIN     4

struct hls_seg {
    uint64_t seq;
    double dur;
    bool discont, independent;
    struct refbuf **chunks;
    size_t n;
    size_t bytes;
};

struct hls {
    struct hls_grid *grid; /* the channel's grid (a ladder's is shared) */
    int64_t cur_cell;      /* grid cell of the open segment */
    uint64_t cur_seq;      /* the open segment's sequence number */
    bool seen_key;         /* a keyframe came: later segments start at their cell's first */
    bool cur_drop;         /* the open segment is the first, partial one: not published */
    uint64_t skips;        /* cells without a keyframe */
    unsigned target_ms;
    unsigned td; /* EXT-X-TARGETDURATION, seconds */
    struct hls_seg segs[HLS_MAX_SEGS];
    size_t first, count; /* ring of closed segments (oldest first) */
    uint64_t list_seq;   /* first segment in the playlist */
    uint64_t disc_seq;
    /* the open segment */
    bool open;
    struct refbuf **cur;
    size_t cur_n;
    size_t cur_bytes;
    int64_t cur_start_pts, cur_last_pts, frame_pts;
    uint32_t cur_gen;
    bool cur_discont, cur_independent;
    /* A dropped segment's discontinuity (a first partial one, or one under a number already
     * published): the next published segment carries it, or a player would splice two
     * timelines without being told. */
    bool carry_discont;
};

struct hls *hls_new(unsigned target_ms, struct hls_grid *grid)
{
    if (!grid)
        return NULL;
    struct hls *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->cur = calloc(HLS_MAX_CHUNKS, sizeof(*h->cur));
    if (!h->cur) {
        free(h);
        return NULL;
    }
    h->target_ms = target_ms;
    h->td = (target_ms * 3 / 2 + 999) / 1000;
    if (h->td < 1)
        h->td = 1;
    h->frame_pts = 3600;
    h->grid = grid;
    return h;
}

static void seg_free(struct hls_seg *s)
{
    for (size_t i = 0; i < s->n; i++)
        refbuf_unref(s->chunks[i]);
    free(s->chunks);
    memset(s, 0, sizeof(*s));
}

void hls_free(struct hls *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->count; i++)
        seg_free(&h->segs[(h->first + i) % HLS_MAX_SEGS]);
    for (size_t i = 0; i < h->cur_n; i++)
        refbuf_unref(h->cur[i]);
    free(h->cur);
    free(h);
}

static struct hls_seg *seg_at(const struct hls *h, size_t i)
{
    return (struct hls_seg *)&h->segs[(h->first + i) % HLS_MAX_SEGS];
}

static double listed_duration(const struct hls *h)
{
    double d = 0;
    for (size_t i = 0; i < h->count; i++) {
        const struct hls_seg *s = seg_at(h, i);
        if (s->seq >= h->list_seq)
            d += s->dur;
    }
    return d;
}

static void drop_open(struct hls *h)
{
    for (size_t i = 0; i < h->cur_n; i++)
        refbuf_unref(h->cur[i]);
    h->cur_n = 0;
    h->cur_bytes = 0;
    h->open = false;
}

static void close_segment(struct hls *h, double dur)
{
    if (!h->open || h->cur_n == 0)
        return;
    if (h->cur_drop || (h->count && h->cur_seq <= seg_at(h, h->count - 1)->seq)) {
        /* the first partial segment, or never two segments under one number */
        h->carry_discont = h->carry_discont || h->cur_discont;
        drop_open(h);
        return;
    }
    if (h->count == HLS_MAX_SEGS) {
        struct hls_seg *old = seg_at(h, 0);
        if (old->seq >= h->list_seq)
            h->list_seq = old->seq + 1;
        seg_free(old);
        h->first = (h->first + 1) % HLS_MAX_SEGS;
        h->count--;
    }
    struct hls_seg *s = seg_at(h, h->count);
    s->chunks = malloc(h->cur_n * sizeof(*s->chunks));
    if (!s->chunks) {
        for (size_t i = 0; i < h->cur_n; i++)
            refbuf_unref(h->cur[i]);
        h->cur_n = 0;
        h->open = false;
        return;
    }
    memcpy(s->chunks, h->cur, h->cur_n * sizeof(*s->chunks));
    s->n = h->cur_n;
    s->bytes = h->cur_bytes;
    s->seq = h->cur_seq;
    s->dur = dur > 0 ? dur : (double)h->target_ms / 1000.0;
    if (s->dur > h->td)
        s->dur = h->td; /* keep EXTINF within the fixed target duration */
    s->discont = h->cur_discont || h->carry_discont;
    h->carry_discont = false;
    s->independent = h->cur_independent;
    h->count++;
    h->cur_n = 0;
    h->cur_bytes = 0;
    h->open = false;
    /* Slide the window while it stays >= 3 target durations without the oldest. */
    for (;;) {
        struct hls_seg *oldest = NULL;
        for (size_t i = 0; i < h->count; i++) {
            if (seg_at(h, i)->seq >= h->list_seq) {
                oldest = seg_at(h, i);
                break;
            }
        }
        if (!oldest || listed_duration(h) - oldest->dur < 3.0 * h->td)
            break;
        if (oldest->discont)
            h->disc_seq++;
        h->list_seq = oldest->seq + 1;
    }
    /* Retention: unlisted segments stay a while, then go. */
    while (h->count) {
        struct hls_seg *old = seg_at(h, 0);
        if (old->seq + HLS_RETAIN >= h->list_seq)
            break;
        seg_free(old);
        h->first = (h->first + 1) % HLS_MAX_SEGS;
        h->count--;
    }
}

static void open_segment(struct hls *h, const struct chunk *c, bool discont)
{
    h->open = true;
    h->cur_start_pts = c->pts;
    h->cur_last_pts = c->pts_end != TS_PTS_NONE ? c->pts_end : c->pts;
    h->cur_gen = c->gen;
    h->cur_discont = discont;
    h->cur_independent = (c->flags & CHUNK_KEY) != 0;
}

static void add_chunk(struct hls *h, const struct chunk *c)
{
    h->cur[h->cur_n++] = refbuf_ref(c->rb);
    h->cur_bytes += c->rb->len;
    if (c->pts_end != TS_PTS_NONE) {
        if (h->cur_last_pts != TS_PTS_NONE) {
            int64_t d = ts_pts_diff(c->pts_end, h->cur_last_pts);
            if (d > 0 && d < 9000)
                h->frame_pts = d;
        }
        if (h->cur_last_pts == TS_PTS_NONE || ts_pts_diff(c->pts_end, h->cur_last_pts) > 0)
            h->cur_last_pts = c->pts_end;
    }
}

static double open_duration(const struct hls *h)
{
    if (h->cur_start_pts == TS_PTS_NONE || h->cur_last_pts == TS_PTS_NONE)
        return 0;
    return (double)(ts_pts_diff(h->cur_last_pts, h->cur_start_pts) + h->frame_pts) / 90000.0;
}

/* 90 kHz ticks per wrap of the 33-bit PTS (about 26.5 hours). */
#define PTS_WRAP ((int64_t)1 << 33)

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The place of a 33-bit PTS on the absolute time line: the value congruent
 * to it (mod 2^33) nearest to the wall clock in 90 kHz units. Two nodes
 * reading the same stream a few seconds (or minutes) apart get the same
 * value unless the stream's clock happens to sit within those seconds of
 * half a wrap (13 h) away from the wall clock. */
static int64_t pts_unwrap(int64_t pts, int64_t wall_s)
{
    int64_t t = wall_s * 90000;
    int64_t d = (pts - t) % PTS_WRAP;
    if (d < 0)
        d += PTS_WRAP;
    if (d >= PTS_WRAP / 2)
        d -= PTS_WRAP;
    return t + d;
}

/* (Re)anchors the grid at keyframe c: its absolute time from the wall clock,
 * and the bias that keeps numbers growing when the new time line starts
 * behind the numbers already used (a source switch, the slate). */
static void grid_anchor(struct hls_grid *g, const struct chunk *c)
{
    int64_t wall = g->wall_s ? g->wall_s : (int64_t)time(NULL);
    g->set = true;
    g->gen = c->gen;
    g->anchor_pts = c->pts;
    g->ref_pts = c->pts;
    g->ref_u = pts_unwrap(c->pts, wall);
    int64_t step = (int64_t)g->step_ms * 90;
    int64_t cell = floor_div(g->ref_u + (int64_t)g->gop_ms * 45, step);
    g->bias = cell < (int64_t)g->next ? (int64_t)g->next - cell : 0;
    if (g->bias)
        g->rebased++;
}

/* The absolute time of a keyframe of the anchored generation: the
 * reference plus the wrap-aware distance, the reference then moving
 * forward so that wraps are followed exactly. */
static int64_t grid_time(struct hls_grid *g, int64_t pts)
{
    int64_t u = g->ref_u + ts_pts_diff(pts, g->ref_pts);
    if (u > g->ref_u) {
        g->ref_u = u;
        g->ref_pts = pts;
    }
    return u;
}

/* The grid cell of a keyframe (see struct hls_grid). Half a GOP of slack: a
 * keyframe a frame early or late stays in its cell. */
static int64_t grid_cell(struct hls_grid *g, int64_t pts)
{
    int64_t step = (int64_t)g->step_ms * 90;
    if (step <= 0)
        step = 90000;
    return floor_div(grid_time(g, pts) + (int64_t)g->gop_ms * 45, step);
}

/* Every segmenter cuts on a grid (struct hls_grid): at the keyframe where
 * the cell changes, the segment numbered cell + bias. */
void hls_on_chunk(struct hls *h, const struct chunk *c)
{
    struct hls_grid *g = h->grid;
    bool key = (c->flags & CHUNK_KEY) != 0;
    if (key && c->pts != TS_PTS_NONE) {
        bool gen_start = !h->open || h->cur_gen != c->gen;
        if (!g->set || g->gen != c->gen)
            grid_anchor(g, c);
        int64_t cell = grid_cell(g, c->pts);
        /* PTS going back, or a discontinuity inside a generation: a new
         * anchor here (set by the first rendition to get this keyframe) */
        bool again = !gen_start && (cell < h->cur_cell || (c->flags & CHUNK_DISCONT));
        if (again) {
            if (g->anchor_pts != c->pts)
                grid_anchor(g, c);
            cell = grid_cell(g, c->pts);
        }
        if (gen_start || again || cell != h->cur_cell) {
            double d = 0;
            if (h->open && h->cur_start_pts != TS_PTS_NONE && !gen_start)
                d = (double)ts_pts_diff(c->pts, h->cur_start_pts) / 90000.0;
            if (h->open && !gen_start && !again && cell > h->cur_cell + 1) {
                /* a cell without a keyframe: the keyframe interval is longer
                 * than the step (or the PTS jumped); the numbers skip */
                h->skips++;
                if (h->skips == 1)
                    log_warn("hls",
                             "no keyframe within a %u ms segment: sequence numbers skip "
                             "(keyframe interval longer than hls-segment?)",
                             g->step_ms);
            }
            close_segment(h, d > 0 ? d : open_duration(h));
            bool had = h->count != 0;
            open_segment(h, c, had && (gen_start || again || (c->flags & CHUNK_DISCONT)));
            /* The segmenter's first segment starts wherever its input
             * started, not at the first keyframe of its cell: another node
             * has that cell whole under the same number, so this one is
             * never published (same number, same bytes, on every node). */
            h->cur_drop = !h->seen_key;
            h->seen_key = true;
            h->cur_cell = cell;
            h->cur_seq = (uint64_t)(cell + g->bias);
            if (h->cur_seq + 1 > g->next)
                g->next = h->cur_seq + 1;
            add_chunk(h, c);
            return;
        }
    } else if (!h->open) {
        return;
    } else if (c->gen != h->cur_gen) {
        close_segment(h, open_duration(h)); /* drop until a keyframe */
        return;
    }
    if (h->cur_n == HLS_MAX_CHUNKS) {
        log_warn("hls", "segment of %d chunks closed without a keyframe", HLS_MAX_CHUNKS);
        close_segment(h, open_duration(h));
        return;
    }
    add_chunk(h, c);
}

size_t hls_segment_count(const struct hls *h)
{
    size_t n = 0;
    for (size_t i = 0; i < h->count; i++)
        if (seg_at(h, i)->seq >= h->list_seq)
            n++;
    return n;
}

/* Index of the first segment to list: the first in the window, or past the
 * newest skipped number (a playlist numbers its segments implicitly, so a
 * listed gap would renumber every segment after it on this refresh and
 * not on the next one). */
static size_t render_start(const struct hls *h, uint64_t *disc)
{
    size_t start = h->count;
    uint64_t prev = 0, d = h->disc_seq, d_at = h->disc_seq;
    for (size_t i = 0; i < h->count; i++) {
        const struct hls_seg *s = seg_at(h, i);
        if (s->seq < h->list_seq)
            continue;
        if (start == h->count || s->seq != prev + 1) {
            start = i;
            d_at = d;
        }
        if (s->discont)
            d++;
        prev = s->seq;
    }
    *disc = d_at;
    return start;
}

int hls_render(const struct hls *h, const char *token, int rend, struct buf *out)
{
    uint64_t disc;
    size_t start = render_start(h, &disc);
    bool independent = true;
    for (size_t i = start; i < h->count; i++)
        if (!seg_at(h, i)->independent)
            independent = false;
    buf_printf(out, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%u\n", h->td);
    /* the first listed segment's number: the grid's, the same on every node */
    buf_printf(out, "#EXT-X-MEDIA-SEQUENCE:%llu\n",
               (unsigned long long)(start < h->count ? seg_at(h, start)->seq : h->list_seq));
    buf_printf(out, "#EXT-X-DISCONTINUITY-SEQUENCE:%llu\n", (unsigned long long)disc);
    if (independent)
        buf_puts(out, "#EXT-X-INDEPENDENT-SEGMENTS\n");
    for (size_t i = start; i < h->count; i++) {
        const struct hls_seg *s = seg_at(h, i);
        if (s->discont && i != start)
            buf_puts(out, "#EXT-X-DISCONTINUITY\n");
        if (rend >= 0)
            buf_printf(out, "#EXTINF:%.3f,\n/hls/%s/%d_%llu.ts\n", s->dur, token, rend,
                       (unsigned long long)s->seq);
        else
            buf_printf(out, "#EXTINF:%.3f,\n/hls/%s/%llu.ts\n", s->dur, token,
                       (unsigned long long)s->seq);
    }
    return out->err ? -ENOMEM : 0;
}

struct refbuf *const *hls_segment(const struct hls *h, uint64_t seq, size_t *n, size_t *bytes)
{
    for (size_t i = 0; i < h->count; i++) {
        const struct hls_seg *s = seg_at(h, i);
        if (s->seq == seq) {
            *n = s->n;
            *bytes = s->bytes;
            return s->chunks;
        }
    }
    return NULL;
}
