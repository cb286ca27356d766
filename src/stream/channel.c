/*
 * channel: one live channel — ffmpeg ingest supervision (spawn, restart with
 * backoff, no-data watchdog, failover along the source list, primary probes,
 * slate) and the cutting of the ingest's MPEG-TS into chunks at keyframes.
 * See stream_priv.h for the invariants.
 *
 * Children: spawned with uv_spawn in their own session/process group
 * (UV_PROCESS_DETACHED), through `xtreamd __child` (live_child_main) which
 * sets the parent-death signal and then checks that the server is still its
 * parent before exec'ing ffmpeg, so they die with the server even when it is
 * SIGKILLed mid-spawn; stopped with SIGTERM to the group, then SIGKILL after
 * STOP_GRACE_MS.
 * Threading: loop thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "media/ladder.h"
#include "stream/stream_priv.h"

#define STOP_GRACE_MS     3000
#define BACKOFF_MIN_MS    500
#define BACKOFF_MAX_MS    30000
#define STABLE_MS         30000 /* a run this long resets the failure count */
#define SLATE_MAX_LATE_MS 1000
#define TS_PTS_WRAP_MASK  ((INT64_C(1) << 33) - 1)
#define PIPE_SIZE         (1 << 20)
#define MAX_ARGS          (48 + 16 + TX_ARGV_MAX) /* ours, the profile's pre and post */

const char *switch_cause_name(unsigned cause)
{
    static const char *const names[CAUSE_COUNT] = {
        [CAUSE_EXIT] = "exited",         [CAUSE_REFUSED] = "refused",
        [CAUSE_HTTP_4XX] = "http_4xx",   [CAUSE_HTTP_5XX] = "http_5xx",
        [CAUSE_NOT_FOUND] = "not_found", [CAUSE_UNREACHABLE] = "unreachable",
        [CAUSE_BAD_INPUT] = "bad_input", [CAUSE_NO_INPUT] = "no_input",
        [CAUSE_STALL] = "stall",         [CAUSE_SPAWN] = "spawn_failed",
        [CAUSE_FAILBACK] = "failback",
    };
    return cause < CAUSE_COUNT ? names[cause] : "unknown";
}

const char *channel_state_name(enum channel_state s)
{
    static const char *const names[] = {"stopped", "starting", "running", "failing", "slate"};
    return names[s];
}

struct channel *channel_new(struct live *live, int64_t id)
{
    struct channel *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return NULL;
    ch->live = live;
    ch->id = id;
    buf_init(&ch->stage, CHUNK_TARGET_BYTES * 2);
    ch->ring.tail_seq = ch->ring.head_seq = 1;
    ffprogress_values_reset(&ch->progress);
    return ch;
}

static void free_sources(struct channel *ch)
{
    for (size_t i = 0; i < ch->source_count; i++)
        free(ch->sources[i]);
    free(ch->sources);
    ch->sources = NULL;
    ch->source_count = 0;
}

/* Same rendering (the id and timestamps aside). */
static bool profile_same(const struct channel *ch, const struct tx_profile *p)
{
    if (!p || !ch->has_profile)
        return !p && !ch->has_profile;
    struct tx_profile a = ch->profile, b = *p;
    a.created_at = b.created_at = a.updated_at = b.updated_at = 0;
    return memcmp(&a, &b, sizeof(a)) == 0;
}

static void ring_clear(struct chunk_ring *r);
static void ring_mf_free(struct channel *ch);
static void stage_reset(struct channel *ch);

struct channel *channel_rend(struct channel *ch, int i)
{
    if (i == 0)
        return ch;
    return i > 0 && i <= ch->nsub ? ch->sub[i - 1] : NULL;
}

/* A sub-rendition's chunks and buffers (its ring is allocated again at its
 * next publish). */
static void rend_clear(struct channel *r)
{
    stage_reset(r);
    r->psi_hold_len = 0;
    ring_clear(&r->ring);
    ring_mf_free(r);
    buf_free(&r->stage);
    free(r->ring.items);
    r->ring.items = NULL;
    r->cc_out_n = 0;
    r->bitrate_bps = 0;
    r->rate_bytes = 0;
}

static void rend_free(struct channel *r)
{
    rend_clear(r);
    hls_free(r->hls);
    free(r);
}

/* As many sub-renditions as the profile's ladder has below its top. */
static int rends_resize(struct channel *ch)
{
    int want = ch->has_profile && ch->profile.nrenditions > 1 ? ch->profile.nrenditions - 1 : 0;
    if (want != ch->nsub) {
        /* Other renditions, other segmenters (a ladder's are on a grid that
         * is freed below): dropped, made again by the next playlist request;
         * segment requests in between answer 404. */
        hls_free(ch->hls);
        ch->hls = NULL;
        for (int i = 0; i < ch->nsub; i++) {
            hls_free(ch->sub[i]->hls);
            ch->sub[i]->hls = NULL;
            /* rendition i is another picture now: its viewers continue with
             * the new one, not with chunks of the old */
            ring_clear(&ch->sub[i]->ring);
        }
        free(ch->grid); /* made again with the segmenters */
        ch->grid = NULL;
    }
    while (ch->nsub > want)
        rend_free(ch->sub[--ch->nsub]);
    while (ch->nsub < want) {
        struct channel *r = channel_new(ch->live, ch->id);
        if (!r)
            return -ENOMEM;
        r->parent = ch;
        r->rend = ch->nsub + 1;
        r->need_key = true;
        ch->sub[ch->nsub++] = r;
    }
    return 0;
}

void channel_rends_reset(struct channel *ch)
{
    for (int i = 0; i < ch->nsub; i++) {
        struct channel *r = ch->sub[i];
        stage_reset(r);
        r->psi_hold_len = 0;
        r->need_key = true;
    }
}

int channel_configure(struct channel *ch, const char *name, const char *const *sources,
                      size_t source_count, bool always_on, const struct tx_profile *profile)
{
    snprintf(ch->name, sizeof(ch->name), "%s", name);
    ch->always_on = always_on;
    bool profile_changed = !profile_same(ch, profile);
    if (profile_changed) {
        ch->has_profile = profile != NULL;
        if (profile)
            ch->profile = *profile;
        else
            memset(&ch->profile, 0, sizeof(ch->profile));
        if (rends_resize(ch) < 0)
            return -ENOMEM;
    }
    bool same = source_count == ch->source_count;
    for (size_t i = 0; same && i < source_count; i++)
        same = strcmp(sources[i], ch->sources[i]) == 0;
    if (same)
        return profile_changed ? 1 : 0;
    char **copy = calloc(source_count ? source_count : 1, sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    for (size_t i = 0; i < source_count; i++) {
        copy[i] = strdup(sources[i]);
        if (!copy[i]) {
            while (i--)
                free(copy[i]);
            free(copy);
            return -ENOMEM;
        }
    }
    free_sources(ch);
    ch->sources = copy;
    ch->source_count = source_count;
    if (ch->cur_source >= (int)source_count)
        ch->cur_source = 0;
    return 1; /* changed */
}

const struct chunk *channel_chunk(const struct channel *ch, uint64_t seq)
{
    if (seq < ch->ring.tail_seq || seq >= ch->ring.head_seq)
        return NULL;
    return &ch->ring.items[seq & (RING_ENTRIES - 1)];
}

/* Punches the memfd's whole punch units below upto (less the margin): the chunks
 * there left the ring. Queued slices that still point there are sent from
 * their refbufs (fdref.gone is raised first); pages the kernel holds for
 * in-flight segments stay valid, the file just no longer holds them. */
static void ring_mf_punch(struct chunk_ring *r, uint64_t upto, uint64_t margin)
{
    if (!r->mf || upto < margin)
        return;
    uint64_t end = (upto - margin) & ~(uint64_t)(MEMFD_PUNCH_UNIT - 1);
    if (end <= r->mf_punched)
        return;
    atomic_store_explicit(&r->mf->gone, end, memory_order_release);
    /* A failure leaves pages allocated until the memfd is freed: counted by
     * the caller through the memfd byte gauge, which does not fall. */
    if (fallocate(r->mf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)r->mf_punched,
                  (off_t)(end - r->mf_punched)) == 0)
        r->mf_punched = end;
}

static void ring_clear(struct chunk_ring *r)
{
    for (uint64_t s = r->tail_seq; s < r->head_seq; s++)
        refbuf_unref(r->items[s & (RING_ENTRIES - 1)].rb);
    r->tail_seq = r->head_seq;
    r->bytes = 0;
    r->last_key_seq = 0;
    ring_mf_punch(r, r->mf_head, MEMFD_MARGIN);
}

/* At a stop: queued slices keep the memfd open until they are sent. */
static void ring_mf_free(struct channel *ch)
{
    struct chunk_ring *r = &ch->ring;
    if (!r->mf)
        return;
    (ch->parent ? ch->parent : ch)->mf_fallbacks +=
        atomic_load_explicit(&r->mf->copy_fallbacks, memory_order_relaxed);
    (ch->parent ? ch->parent : ch)->mf_sent +=
        atomic_load_explicit(&r->mf->sent, memory_order_relaxed);
    atomic_store_explicit(&r->mf->gone, UINT64_MAX, memory_order_release);
    fdref_unref(r->mf);
    r->mf = NULL;
    r->mf_head = r->mf_punched = 0;
}

/* live `write=sendfile`: the chunk's bytes at the memfd's head too. On any
 * failure the chunk is served by copy (counted). */
static void ring_mf_store(struct channel *ch, struct chunk *c)
{
    struct chunk_ring *r = &ch->ring;
    c->foff = CHUNK_NO_FOFF;
    if (live_cfg(ch->live)->write_copy)
        return;
    struct channel *top = ch->parent ? ch->parent : ch;
    if (!r->mf && fdref_new_memfd("xtreamd-live", &r->mf)) {
        top->mf_errors++;
        return;
    }
    if (fdref_pwrite_all(r->mf, c->rb->data, c->rb->len, r->mf_head)) {
        top->mf_errors++; /* ENOSPC/ENOMEM (tmpfs limits, memcg): this chunk by copy */
        return;
    }
    c->foff = r->mf_head;
    r->mf_head += c->rb->len;
}

/* ---- chunking ------------------------------------------------------------ */

static void stage_reset(struct channel *ch)
{
    buf_reset(&ch->stage);
    ch->stage_flags = 0;
    ch->stage_pts = ch->stage_pts_end = TS_PTS_NONE;
    ch->stage_start_ms = 0;
}

/* Rewrites packet p's continuity counter into the channel's own sequence for
 * its PID (see cc_out in stream_priv.h). Within one source the ingest's
 * counters pass through shifted by a constant, so a loss upstream still shows
 * as a CC error downstream; only the jump at a switch is removed. */
static void cc_fix(struct channel *ch, uint8_t *p)
{
    uint16_t pid = (uint16_t)(((p[1] & 0x1f) << 8) | p[2]);
    if (pid == 0x1fff)
        return;
    bool payload = (p[3] & 0x10) != 0;
    uint8_t in = p[3] & 0x0f;
    size_t i = 0;
    while (i < ch->cc_out_n && ch->cc_out[i].pid != pid)
        i++;
    if (i == ch->cc_out_n) {
        if (i == CC_PIDS) {
            if (ch->cc_untracked++ == 0)
                log_warn("live", "channel %lld: more than %d PIDs, continuity of PID %u not kept",
                         (long long)ch->id, CC_PIDS, pid);
            return;
        }
        ch->cc_out_n++;
        ch->cc_out[i].pid = pid;
        ch->cc_out[i].last = (uint8_t)((in - (payload ? 1 : 0)) & 0x0f);
        ch->cc_out[i].add = 0;
        ch->cc_out[i].epoch = ch->cc_epoch;
    }
    if (ch->cc_out[i].epoch != ch->cc_epoch) {
        uint8_t want = (uint8_t)((ch->cc_out[i].last + (payload ? 1 : 0)) & 0x0f);
        ch->cc_out[i].add = (uint8_t)((want - in) & 0x0f);
        ch->cc_out[i].epoch = ch->cc_epoch;
    }
    uint8_t out = (uint8_t)((in + ch->cc_out[i].add) & 0x0f);
    p[3] = (uint8_t)((p[3] & 0xf0) | out);
    ch->cc_out[i].last = out;
}

static void publish(struct channel *ch)
{
    if (ch->stage.len == 0)
        return;
    if (ch->stage_origin != ch->cc_origin) {
        ch->cc_epoch++;
        ch->cc_origin = ch->stage_origin;
    }
    for (size_t off = 0; off + TS_PACKET_SIZE <= ch->stage.len; off += TS_PACKET_SIZE)
        cc_fix(ch, (uint8_t *)ch->stage.data + off);
    const struct live_config *cfg = live_cfg(ch->live);
    uint64_t now = live_now_ms(ch->live);
    struct refbuf *rb = refbuf_new(ch->stage.data, ch->stage.len);
    struct chunk_ring *r = &ch->ring;
    if (!r->items) {
        r->items = calloc(RING_ENTRIES, sizeof(*r->items));
        if (!r->items) {
            refbuf_unref(rb);
            rb = NULL;
        }
    }
    if (!rb) { /* counted: xtreamd_live_chunks_dropped_total */
        (ch->parent ? ch->parent : ch)->chunks_dropped++;
        stage_reset(ch);
        return;
    }
    /* Evict: bytes, age, entries; never the newest keyframe chunk. */
    while (r->tail_seq < r->head_seq) {
        struct chunk *t = &r->items[r->tail_seq & (RING_ENTRIES - 1)];
        bool full = r->head_seq - r->tail_seq >= RING_ENTRIES;
        bool over = r->bytes + rb->len > cfg->ring_bytes || now - t->mono_ms > cfg->ring_ms;
        if (!full && !(over && t->seq < r->last_key_seq))
            break;
        r->bytes -= t->rb->len;
        if (t->seq == r->last_key_seq)
            r->last_key_seq = 0;
        if (t->foff != CHUNK_NO_FOFF)
            ring_mf_punch(r, t->foff + t->rb->len, MEMFD_MARGIN);
        refbuf_unref(t->rb);
        t->rb = NULL;
        r->tail_seq++;
    }
    struct chunk *c = &r->items[r->head_seq & (RING_ENTRIES - 1)];
    c->rb = rb;
    c->seq = r->head_seq++;
    c->flags = ch->stage_flags;
    c->gen = ch->parent ? ch->parent->gen : ch->gen; /* renditions switch together */
    c->pts = ch->stage_pts;
    c->pts_end = ch->stage_pts_end;
    c->mono_ms = now;
    ring_mf_store(ch, c);
    r->bytes += rb->len;
    if (c->flags & CHUNK_KEY)
        r->last_key_seq = c->seq;
    stage_reset(ch);
    live_on_publish(ch, c);
}

static void stage_append(struct channel *ch, const void *p, size_t n)
{
    if (ch->stage.len == 0)
        ch->stage_start_ms = live_now_ms(ch->live);
    buf_append(&ch->stage, p, n);
}

static void flush_psi_hold(struct channel *ch)
{
    if (ch->psi_hold_len) {
        stage_append(ch, ch->psi_hold, ch->psi_hold_len);
        ch->psi_hold_len = 0;
    }
}

/* Packet pk of ingest ing's output ts (rendition ch: the channel or one of
 * its sub-renditions) into ch's chunks. */
static void cut_packet(struct channel *ch, struct ingest *ing, const struct ts_reader *ts,
                       const struct ts_packet *pk)
{
    ch->stage_origin = ing->origin; /* the stage holds only this ingest's packets now */
    if (pk->psi) {
        /* PSI is held back so that, if a keyframe follows, it opens the chunk. */
        if (ch->psi_hold_len + TS_PACKET_SIZE > PSI_HOLD_MAX)
            flush_psi_hold(ch);
        memcpy(ch->psi_hold + ch->psi_hold_len, pk->p, TS_PACKET_SIZE);
        ch->psi_hold_len += TS_PACKET_SIZE;
        if (pk->psi_changed)
            ch->pending_discont = true;
        return;
    }
    if (ch->need_key && !pk->key)
        return; /* wait for a clean start after a (re)start or switch */
    if (pk->key) {
        publish(ch);
        ch->stage_flags = CHUNK_KEY;
        if (ch->need_key || ch->pending_discont)
            ch->stage_flags |= CHUNK_DISCONT;
        ch->need_key = ch->pending_discont = false;
        if (ch->psi_hold_len == 0 && ts->have_pat && ts->have_pmt) {
            stage_append(ch, ts->pat, TS_PACKET_SIZE);
            stage_append(ch, ts->pmt, TS_PACKET_SIZE);
        }
    }
    flush_psi_hold(ch);
    stage_append(ch, pk->p, TS_PACKET_SIZE);
    if (pk->pts != TS_PTS_NONE && (pk->video || ts->video_idx < 0)) {
        if (ch->stage_pts == TS_PTS_NONE)
            ch->stage_pts = pk->pts;
        if (ch->stage_pts_end == TS_PTS_NONE || ts_pts_diff(pk->pts, ch->stage_pts_end) > 0)
            ch->stage_pts_end = pk->pts;
    }
    if (ch->stage.len >= CHUNK_TARGET_BYTES)
        publish(ch);
}

static void on_packet(void *ud, const struct ts_packet *pk)
{
    struct ingest *ing = ud;
    cut_packet(ing->ch, ing, &ing->ts, pk);
}

/* A ladder's rendition i > 0 (the slate stops for it at its own first
 * keyframe, see slate_tick). */
static void on_x_packet(void *ud, const struct ts_packet *pk)
{
    struct ingest_x *x = ud;
    struct channel *ch = x->ing->ch;
    struct channel *r = ch ? channel_rend(ch, x->rend) : NULL;
    if (r && x->rend > 0)
        cut_packet(r, x->ing, &x->ts, pk);
}

static void on_x_discard(void *ud, const struct ts_packet *pk)
{
    (void)ud;
    (void)pk;
}

/* A background check: alive as soon as a keyframe came through. */
static void on_check_packet(void *ud, const struct ts_packet *pk)
{
    struct ingest *ing = ud;
    if (pk->key)
        ing->got_key = true;
}

static void ingest_stop(struct ingest *ing);
static void switch_record(struct channel *ch, int from, int to, unsigned cause, int64_t detect_ms);
static void switch_done(struct channel *ch, uint64_t now);

/* The primary probe took over: from this packet on it feeds the ring. The
 * backup's pending packets are published first (they close its generation:
 * published after the switch, a keyframe among them would open a one-frame
 * segment of the old source with a second discontinuity), and the backup is
 * stopped only now, so viewers see no gap beyond the switch itself. */
static void failback(struct channel *ch, struct ingest *ing, uint64_t now)
{
    log_info("live", "channel %lld: primary source healthy for %llu ms, switching back",
             (long long)ch->id, (unsigned long long)(now - ing->first_key_ms));
    publish(ch);
    for (int i = 0; i < ch->nsub; i++)
        publish(ch->sub[i]);
    struct ingest *old = ch->ing;
    int from = ch->cur_source;
    ch->ing = ing;
    ch->probe = NULL;
    ing->probe = false;
    ch->cur_source = ing->source_idx;
    ch->failures = 0;
    ch->dead_sources = 0;
    ch->retry_at_ms = 0;
    ch->gen++;
    ch->need_key = true;
    channel_rends_reset(ch);
    ch->failovers++;
    ch->psi_hold_len = 0;
    if (old)
        ingest_stop(old);
    switch_record(ch, from, ch->cur_source, CAUSE_FAILBACK, (int64_t)(now - ing->first_key_ms));
    if (ch->state == CH_RUNNING)
        switch_done(ch, now); /* switched at a keyframe: no outage to wait for */
}

/* Packets of the primary probe: discarded until it has delivered keyframes
 * for primary-healthy; at the first keyframe after that it becomes the
 * ingest, and the rest of the same read goes to the ring. */
static void on_probe_packet(void *ud, const struct ts_packet *pk)
{
    struct ingest *ing = ud;
    struct channel *ch = ing->ch;
    if (ing->probe && pk->key) {
        uint64_t now = live_now_ms(ing->live);
        if (!ing->got_key) {
            ing->got_key = true;
            ing->first_key_ms = now;
        }
        if (now - ing->first_key_ms >= live_cfg(ing->live)->primary_healthy_ms)
            failback(ch, ing, now);
    }
    if (!ing->probe && ch->ing == ing)
        on_packet(ud, pk);
}

/* ---- ingest processes ------------------------------------------------------ */

static void ingest_handle_closed(uv_handle_t *h)
{
    struct ingest *ing = h->data;
    if (--ing->open_handles == 0) {
        live_remove_dying(ing->live, ing);
        free(ing);
    }
}

static void close_pipe(struct ingest *ing, uv_pipe_t *p)
{
    if (!uv_is_closing((uv_handle_t *)p))
        uv_close((uv_handle_t *)p, ingest_handle_closed);
}

/* A rendition pipe's handle data is its struct ingest_x. */
static void xpipe_closed(uv_handle_t *h)
{
    struct ingest_x *x = h->data;
    struct ingest *ing = x->ing;
    if (--ing->open_handles == 0) {
        live_remove_dying(ing->live, ing);
        free(ing);
    }
}

static void close_xpipe(struct ingest_x *x)
{
    if (!uv_is_closing((uv_handle_t *)&x->pipe))
        uv_close((uv_handle_t *)&x->pipe, xpipe_closed);
}

static void channel_err_line(struct channel *ch, const char *line)
{
    char *copy = strdup(line);
    if (!copy)
        return;
    free(ch->errlines[ch->err_next]);
    ch->errlines[ch->err_next] = copy;
    ch->err_next = (ch->err_next + 1) % STDERR_LINES;
}

/* Detaches an ingest from its channel and terminates it. */
static void ingest_stop(struct ingest *ing)
{
    if (ing->stopping)
        return;
    ing->stopping = true;
    ing->ch = NULL;
    close_pipe(ing, &ing->out);
    close_pipe(ing, &ing->err);
    for (int i = 0; i < ing->nx; i++)
        close_xpipe(&ing->x[i]);
    if (!ing->exited) {
        uv_kill(-ing->proc.pid, SIGTERM);
        ing->term_sent_ms = live_now_ms(ing->live);
        live_add_dying(ing->live, ing);
    }
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char slab[65536]; /* loop thread only; consumed before the next read */
    (void)h;
    (void)hint;
    b->base = slab;
    b->len = sizeof(slab);
}

static void ingest_failed(struct channel *ch, struct ingest *ing, unsigned cause, const char *why);
static void check_done(struct channel *ch, struct ingest *ing, bool alive);
static int classify_err(const char *line);

static void on_out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct ingest *ing = s->data;
    struct channel *ch = ing->ch;
    if (n < 0) {
        close_pipe(ing, &ing->out);
        return; /* the exit callback decides what happens next */
    }
    if (n == 0 || !ch)
        return;
    uint64_t now = live_now_ms(ing->live);
    ing->last_data_ms = now;
    ing->bytes += (uint64_t)n;
    ing->got_output = true; /* the probe phase is over: the watchdog applies */
    if (ing->check) {
        ts_reader_feed(&ing->ts, (const uint8_t *)b->base, (size_t)n, on_check_packet, ing);
        if (ing->got_key && !ing->standby)
            check_done(ch, ing, true);
        return;
    }
    if (ing->probe) {
        /* Until it is healthy the primary's output is parsed and discarded;
         * at the switch the rest of this read goes to the ring. */
        ts_reader_feed(&ing->ts, (const uint8_t *)b->base, (size_t)n, on_probe_packet, ing);
    } else {
        ch->bytes_in += (uint64_t)n;
        ch->rate_bytes += (uint64_t)n;
        ts_reader_feed(&ing->ts, (const uint8_t *)b->base, (size_t)n, on_packet, ing);
    }
    if (ch->ing != ing)
        return;
    if (ch->state != CH_RUNNING && ch->ring.last_key_seq) {
        const struct chunk *last = channel_chunk(ch, ch->ring.head_seq - 1);
        if (last && !(last->flags & CHUNK_SLATE)) {
            if (ch->state != CH_STARTING)
                log_info("live", "channel %lld: source %d running", (long long)ch->id,
                         ch->cur_source);
            ch->state = CH_RUNNING;
            ch->running_since_ms = now;
            ch->dead_sources = 0;
            switch_done(ch, now);
        }
    }
    ts_reader_codecs(&ing->ts, ch->codecs, sizeof(ch->codecs));
    if (ch->stage.len && now - ch->stage_start_ms >= CHUNK_MAX_MS)
        publish(ch);
}

/* A ladder's rendition i > 0 (fd 2 + i). Always parsed (a probe's or
 * check's packets are discarded, but its reader stays in step, so a probe
 * that takes over at a failback feeds every rendition from its next
 * keyframe); the channel's ingest feeds the rendition's ring. */
static void on_x_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct ingest_x *x = s->data;
    struct ingest *ing = x->ing;
    struct channel *ch = ing->ch;
    if (n < 0) {
        close_xpipe(x);
        return;
    }
    if (n == 0)
        return;
    struct channel *r = ch && ch->ing == ing ? channel_rend(ch, x->rend) : NULL;
    if (!r) {
        ts_reader_feed(&x->ts, (const uint8_t *)b->base, (size_t)n, on_x_discard, x);
        return;
    }
    ch->bytes_in += (uint64_t)n;
    r->bytes_in += (uint64_t)n;
    r->rate_bytes += (uint64_t)n;
    ts_reader_feed(&x->ts, (const uint8_t *)b->base, (size_t)n, on_x_packet, x);
    if (r->stage.len && live_now_ms(ing->live) - r->stage_start_ms >= CHUNK_MAX_MS)
        publish(r);
}

static void on_err_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct ingest *ing = s->data;
    if (n < 0) {
        close_pipe(ing, &ing->err);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        char c = b->base[i];
        if (c == '\n' || c == '\r' || ing->errlen == sizeof(ing->errline) - 1) {
            if (ing->errlen) {
                ing->errline[ing->errlen] = '\0';
                /* -progress blocks share stderr with ffmpeg's messages:
                 * numbers for the channel, not lines for the log. */
                int pr = ffprogress_line(&ing->progress, ing->errline, ing->errlen);
                if (pr == 2 && ing->ch && ing->ch->ing == ing) {
                    ing->ch->progress = ing->progress.last;
                    ing->ch->progress_ms = live_now_ms(ing->live);
                }
                if (pr == 0 && ing->ch) {
                    struct channel *ch = ing->ch;
                    channel_err_line(ch, ing->errline);
                    log_warn("ffmpeg", "channel %lld: %s", (long long)ch->id, ing->errline);
                    int cause = classify_err(ing->errline);
                    if (cause >= 0 && ing->cause < 0)
                        ing->cause = cause;
                    /* Still opening its input and already told why it cannot:
                     * a dead source, no need to wait for the exit or a timer.
                     * (Once running, an error line may be one a demuxer
                     * recovers from, e.g. a missing HLS segment: the exit or
                     * the watchdog decides.) */
                    if (cause >= 0 && !ing->got_output && !ing->stopping)
                        ingest_failed(ch, ing, (unsigned)cause, ing->errline);
                }
                ing->errlen = 0;
            }
            continue;
        }
        ing->errline[ing->errlen++] = c;
    }
}

static void ingest_exited(uv_process_t *p, int64_t status, int sig)
{
    struct ingest *ing = p->data;
    ing->exited = true;
    ing->exit_status = status;
    ing->term_signal = sig;
    uv_close((uv_handle_t *)p, ingest_handle_closed);
    struct channel *ch = ing->ch;
    if (!ch)
        return;
    char why[64];
    snprintf(why, sizeof(why), sig ? "killed by signal %d" : "exited with status %d",
             sig ? sig : (int)status);
    ingest_failed(ch, ing, ing->cause >= 0 ? (unsigned)ing->cause : CAUSE_EXIT, why);
}

static bool starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* argv for one source; strings point into src, into tx (the channel's
 * rendered profile, NULL: copy; it must outlive the spawn) or are literals. */
static int build_args(struct live *live, const char *ffmpeg, const char *src,
                      const struct tx_argv *tx, bool ladder, const char *headers, const char **argv)
{
    int n = live_child_argv(live, argv, MAX_ARGS);
    argv[n++] = ffmpeg;
    argv[n++] = "-nostdin";
    argv[n++] = "-hide_banner";
    argv[n++] = "-loglevel";
    argv[n++] = "warning";
    /* speed, dropped/duplicated frames and output bitrate, once a second
     * (media/progress.h parses them off stderr) */
    argv[n++] = "-progress";
    argv[n++] = "pipe:2";
    argv[n++] = "-stats_period";
    argv[n++] = "1";
    for (int i = 0; tx && i < tx->npre; i++)
        argv[n++] = tx->pre[i];
    if (starts_with(src, "lavfi:") && tx) {
        /* a generated source through the profile like any other input */
        argv[n++] = "-re";
        argv[n++] = "-f";
        argv[n++] = "lavfi";
        argv[n++] = "-i";
        argv[n++] = src + 6;
        for (int i = 0; i < tx->npost; i++)
            argv[n++] = tx->post[i];
    } else if (starts_with(src, "lavfi:")) {
        argv[n++] = "-re";
        argv[n++] = "-f";
        argv[n++] = "lavfi";
        argv[n++] = "-i";
        argv[n++] = src + 6;
        static const char *const enc[] = {
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "250",
            "-sc_threshold",
            "0",
            "-force_key_frames",
            "expr:gte(t,n_forced*2)",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-ac",
            "2",
        };
        for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++)
            argv[n++] = enc[i];
    } else {
        bool file = src[0] == '/' || starts_with(src, "file:");
        if (file) {
            argv[n++] = "-re";
            argv[n++] = "-stream_loop";
            argv[n++] = "-1";
        }
        if (starts_with(src, "rtsp://") || starts_with(src, "rtsps://")) {
            argv[n++] = "-rtsp_transport";
            argv[n++] = "tcp";
        }
        if (!file) {
            /* A live network input: ffmpeg analyses 5 s of it by default
             * before its first output byte (for UDP it really waits that
             * long); 1 s finds H.264/AAC with a GOP of up to a second and
             * makes starts and switches seconds shorter. */
            argv[n++] = "-analyzeduration";
            argv[n++] = "1000000";
            /* Keep the source's timestamps (ffmpeg would start them at 0
             * when it starts): HLS cuts and numbers segments on them
             * (struct hls_grid), and every node reading the stream must
             * see the same ones whenever it started. A transcode keeps
             * ffmpeg's own clock (its keyframes are forced on it). */
            if (!tx)
                argv[n++] = "-copyts";
        }
        if (headers) { /* an origin pull: this node's signed request (live_origin_headers) */
            argv[n++] = "-headers";
            argv[n++] = headers;
        }
        argv[n++] = "-i";
        argv[n++] = src;
        if (tx) {
            for (int i = 0; i < tx->npost; i++)
                argv[n++] = tx->post[i];
        } else {
            argv[n++] = "-map";
            argv[n++] = "0:v?";
            argv[n++] = "-map";
            argv[n++] = "0:a?";
            argv[n++] = "-c";
            argv[n++] = "copy";
            if (!file) {
                /* with -copyts the muxer would still add its 1.4 s delay: a node pulling
                 * another node's output (origin–edge) must see the same timestamps */
                argv[n++] = "-mpegts_copyts";
                argv[n++] = "1";
            }
        }
    }
    if (!ladder) { /* a ladder's argv names each rendition's output itself */
        argv[n++] = "-f";
        argv[n++] = "mpegts";
        argv[n++] = "pipe:1";
    }
    argv[n] = NULL;
    return n;
}

static struct ingest *ingest_spawn(struct channel *ch, int source_idx, bool probe)
{
    struct live *live = ch->live;
    uv_loop_t *loop = live_loop(live);
    struct ingest *ing = calloc(1, sizeof(*ing));
    if (!ing)
        return NULL;
    ing->live = live;
    ing->ch = ch;
    ing->probe = probe;
    ing->cause = -1;
    ing->source_idx = source_idx;
    ing->origin = ++ch->origin_seq;
    ts_reader_init(&ing->ts);
    ffprogress_init(&ing->progress);
    uv_pipe_init(loop, &ing->out, 0);
    uv_pipe_init(loop, &ing->err, 0);
    ing->out.data = ing->err.data = ing->proc.data = ing;
    const char *argv[MAX_ARGS];
    struct tx_argv tx;
    const struct tx_argv *txp = NULL;
    bool ladder = false;
    if (ch->has_profile) {
        struct tx_ladder lad;
        int trc;
        if (ch->profile.nrenditions > 0) {
            tx_ladder_from_profile(&ch->profile, &lad);
            trc = tx_ladder_render(&lad, live_hw_available(live), &tx);
            ladder = trc == 0;
        } else {
            trc = tx_render(&ch->profile, live_hw_available(live), &tx);
        }
        if (trc == 0) {
            txp = &tx;
            bool fallback = tx.hw != ch->profile.hw;
            if (fallback && (!ch->tx_fallback || strcmp(ch->tx_encoder, tx.encoder) != 0))
                log_warn("live",
                         "channel %lld: profile %s wants the %s encoder, which this machine "
                         "lacks: encoding with %s instead",
                         (long long)ch->id, ch->profile.name, tx_hw_name(ch->profile.hw),
                         tx.encoder);
            if (fallback && !probe) { /* counted per start, not per probe or check */
                ch->tx_fallbacks++;
                live_count_tx_fallback(live);
            }
            ch->tx_fallback = fallback;
            ch->tx_hw = tx.hw;
            snprintf(ch->tx_encoder, sizeof(ch->tx_encoder), "%s", tx.encoder);
        } else {
            /* validated when written: only a database edited by hand gets
             * here; the channel stays up, copied */
            log_error("live", "channel %lld: profile %s cannot be rendered (%s): copying",
                      (long long)ch->id, ch->profile.name, strerror(-trc));
            snprintf(ch->tx_encoder, sizeof(ch->tx_encoder), "copy");
            ch->tx_fallback = false;
            ch->tx_hw = TX_HW_NONE;
        }
    }
    /* origin–edge (live.c, origin_source): pull the parent node's output, signed afresh at
     * every spawn */
    const char *src = ch->sources[source_idx];
    char headers[256];
    const char *hdr = NULL;
    if (starts_with(src, "xtreamd-origin:")) {
        src += strlen("xtreamd-origin:");
        if (live_origin_headers(live, ch->id, headers, sizeof(headers)) == 0)
            hdr = headers;
        else
            log_warn("live", "channel %lld: cannot sign the origin pull", (long long)ch->id);
    }
    build_args(live, live_cfg(live)->ffmpeg, src, txp, ladder, hdr, argv);
    /* a ladder's renditions 1.. on fds 3.. (their -f mpegts pipe:N) */
    ing->nx = ladder ? ch->profile.nrenditions - 1 : 0;
    uv_stdio_container_t stdio[3 + LADDER_MAX - 1] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&ing->out},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&ing->err},
    };
    for (int i = 0; i < ing->nx; i++) {
        struct ingest_x *x = &ing->x[i];
        x->ing = ing;
        x->rend = i + 1;
        ts_reader_init(&x->ts);
        uv_pipe_init(loop, &x->pipe, 0);
        x->pipe.data = x;
        stdio[3 + i] = (uv_stdio_container_t){.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
                                              .data.stream = (uv_stream_t *)&x->pipe};
    }
    uv_process_options_t opts = {
        .exit_cb = ingest_exited,
        .file = argv[0],
        .args = (char **)argv,
        .stdio = stdio,
        .stdio_count = 3 + ing->nx,
        .env = live_child_env(live),
        .flags = UV_PROCESS_DETACHED,
    };
    int rc = uv_spawn(loop, &ing->proc, &opts);
    ing->open_handles = 2 + ing->nx;
    if (rc) {
        log_error("live", "channel %lld: cannot start %s: %s", (long long)ch->id, argv[0],
                  uv_strerror(rc));
        ing->ch = NULL;
        ing->stopping = true;
        uv_close((uv_handle_t *)&ing->out, ingest_handle_closed);
        uv_close((uv_handle_t *)&ing->err, ingest_handle_closed);
        for (int i = 0; i < ing->nx; i++)
            uv_close((uv_handle_t *)&ing->x[i].pipe, xpipe_closed);
        return NULL;
    }
    ing->open_handles = 3 + ing->nx;
    int fd;
    if (uv_fileno((uv_handle_t *)&ing->out, &fd) == 0)
        fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
    ing->started_ms = ing->last_data_ms = live_now_ms(live);
    rc = uv_read_start((uv_stream_t *)&ing->out, alloc_cb, on_out_read);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&ing->err, alloc_cb, on_err_read);
    for (int i = 0; rc == 0 && i < ing->nx; i++) {
        if (uv_fileno((uv_handle_t *)&ing->x[i].pipe, &fd) == 0)
            fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
        rc = uv_read_start((uv_stream_t *)&ing->x[i].pipe, alloc_cb, on_x_read);
    }
    if (rc) { /* unreadable pipes: the child is of no use, treated as a failed start */
        log_error("live", "channel %lld: cannot read from ffmpeg pid %d: %s", (long long)ch->id,
                  ing->proc.pid, uv_strerror(rc));
        ingest_stop(ing);
        return NULL;
    }
    log_info("live", "channel %lld: %s ffmpeg pid %d on source %d", (long long)ch->id,
             probe ? "probing with" : "started", ing->proc.pid, source_idx);
    return ing;
}

static void spawn_current(struct channel *ch)
{
    ch->retry_at_ms = 0;
    if (ch->source_count == 0) {
        ch->state = CH_SLATE;
        return;
    }
    ch->gen++;
    ch->need_key = true;
    ch->psi_hold_len = 0;
    stage_reset(ch);
    channel_rends_reset(ch);
    /* Spawned by the engine's spawn queue, one per loop iteration: a fork
     * costs the loop tens of ms in a big process, and a burst of starts must
     * not stall every other request for their sum. */
    live_queue_spawn(ch);
}

void channel_spawn_queued(struct channel *ch)
{
    if (ch->state == CH_STOPPED || ch->ing)
        return;
    ch->ing = ingest_spawn(ch, ch->cur_source, false);
    if (!ch->ing)
        ingest_failed(ch, NULL, CAUSE_SPAWN, "spawn failed");
}

/* Viewers get the slate instead of silence from the moment the source stops
 * delivering until a source (this one or the next) delivers a keyframe again.
 * The partial chunk is dropped and the source must restart at a keyframe, so
 * no broken GOP is ever published around the switch. */
static bool slate_playing(const struct channel *ch)
{
    return ch->state == CH_FAILING || ch->state == CH_SLATE;
}

/* st: CH_FAILING (a source failed, others are being tried) or CH_SLATE (no
 * source works). */
static void enter_slate(struct channel *ch, uint64_t now, enum channel_state st, const char *why)
{
    if (!slate_playing(ch)) {
        log_warn("live", "channel %lld: %s, showing the slate", (long long)ch->id, why);
        ch->slate_pos = 0;
        ch->slate_next_ms = now;
    }
    if (ch->ing && !ch->need_key) {
        stage_reset(ch);
        ch->need_key = true;
        ch->ing->origin = ++ch->origin_seq; /* packets were dropped: what follows is new */
    }
    channel_rends_reset(ch);
    ch->state = st;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Remembers a switch (bounded: the oldest entry is overwritten). */
static void switch_record(struct channel *ch, int from, int to, unsigned cause, int64_t detect_ms)
{
    struct source_switch *e = &ch->sw[ch->sw_next];
    *e = (struct source_switch){
        .wall_ms = wall_ms(),
        .at_ms = live_now_ms(ch->live),
        .from = from,
        .to = to,
        .cause = cause,
        .detect_ms = detect_ms,
        .took_ms = -1,
    };
    ch->sw_next = (ch->sw_next + 1) % SWITCH_HISTORY;
    if (ch->sw_n < SWITCH_HISTORY)
        ch->sw_n++;
    ch->sw_pending = true;
    if (cause < CAUSE_COUNT)
        ch->switches[cause]++;
}

/* The new source delivered its first keyframe: the switch is complete. */
static void switch_done(struct channel *ch, uint64_t now)
{
    if (!ch->sw_pending)
        return;
    struct source_switch *e = &ch->sw[(ch->sw_next + SWITCH_HISTORY - 1) % SWITCH_HISTORY];
    e->took_ms = (int64_t)(now - e->at_ms);
    ch->sw_pending = false;
    log_info("live", "channel %lld: switch %d -> %d (%s) took %lld ms after %lld ms of detection",
             (long long)ch->id, e->from, e->to, switch_cause_name(e->cause), (long long)e->took_ms,
             (long long)e->detect_ms);
}

/* What an ffmpeg stderr line says about its input, or -1 if nothing fatal.
 * ffmpeg prints these when opening (or re-opening) its input fails. */
static int classify_err(const char *line)
{
    static const struct {
        const char *needle;
        int cause;
    } pats[] = {
        {"Connection refused", CAUSE_REFUSED},
        {"Server returned 4", CAUSE_HTTP_4XX},
        {"HTTP error 4", CAUSE_HTTP_4XX},
        {"Server returned 5", CAUSE_HTTP_5XX},
        {"HTTP error 5", CAUSE_HTTP_5XX},
        {"No such file or directory", CAUSE_NOT_FOUND},
        {"No route to host", CAUSE_UNREACHABLE},
        {"Network is unreachable", CAUSE_UNREACHABLE},
        {"Name or service not known", CAUSE_UNREACHABLE},
        {"Failed to resolve hostname", CAUSE_UNREACHABLE},
        {"Connection timed out", CAUSE_UNREACHABLE},
        {"Invalid data found when processing input", CAUSE_BAD_INPUT},
    };
    for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
        if (strstr(line, pats[i].needle))
            return pats[i].cause;
    return -1;
}

/* A background check is over: remember the answer, stop its ffmpeg. */
static void check_done(struct channel *ch, struct ingest *ing, bool alive)
{
    uint64_t now = live_now_ms(ch->live);
    int idx = ing->source_idx;
    if (idx < HEALTH_SOURCES) {
        if (alive)
            ch->health[idx].ok_ms = now;
        else
            ch->health[idx].bad_ms = now;
    }
    if (alive)
        ch->checks_ok++;
    else
        ch->checks_bad++;
    if (!alive)
        log_info("live", "channel %lld: background check of source %d: dead", (long long)ch->id,
                 idx);
    ch->check = NULL;
    ingest_stop(ing);
    ch->next_check_ms = now + live_cfg(ch->live)->backup_check_ms;
}

/* Source i is known dead: its last background check failed and none
 * succeeded since. */
static bool source_known_dead(const struct channel *ch, int i)
{
    return i < HEALTH_SOURCES && ch->health[i].bad_ms > ch->health[i].ok_ms;
}

/* The source to try after cur_source: the next one in the list that is not
 * known dead (if every other one is, simply the next). */
static int next_source(const struct channel *ch)
{
    int n = (int)ch->source_count;
    for (int k = 1; k < n; k++) {
        int i = (ch->cur_source + k) % n;
        if (!source_known_dead(ch, i))
            return i;
    }
    return (ch->cur_source + 1) % n;
}

static bool hard_cause(unsigned cause)
{
    return cause != CAUSE_NO_INPUT && cause != CAUSE_SPAWN;
}

/* After a switch: an ffmpeg already running for the new source (standby,
 * background check or primary probe) becomes the ingest; it is past its
 * input analysis, so its next keyframe ends the switch. */
static bool adopt_warm(struct channel *ch)
{
    struct ingest *w = NULL;
    if (ch->check && ch->check->source_idx == ch->cur_source && !ch->check->stopping) {
        w = ch->check;
        ch->check = NULL;
        ch->next_check_ms = live_now_ms(ch->live) + live_cfg(ch->live)->backup_check_ms;
    } else if (ch->probe && ch->probe->source_idx == ch->cur_source && !ch->probe->stopping) {
        w = ch->probe;
        ch->probe = NULL;
    }
    if (!w)
        return false;
    log_info("live", "channel %lld: taking over the running ffmpeg pid %d of source %d",
             (long long)ch->id, w->proc.pid, w->source_idx);
    w->check = w->standby = w->probe = false;
    w->origin = ++ch->origin_seq;
    ch->ing = w;
    ch->retry_at_ms = 0;
    ch->gen++;
    ch->need_key = true;
    ch->psi_hold_len = 0;
    stage_reset(ch);
    channel_rends_reset(ch);
    return true;
}

/* The current source has been silent for stall-slate: bring up the source a
 * failover would go to now, so that the switch at the watchdog finds it past
 * its input analysis. Cancelled when the current source resumes. */
static void start_standby(struct channel *ch)
{
    int idx = next_source(ch);
    if (idx == ch->cur_source || (ch->probe && ch->probe->source_idx == idx))
        return; /* the primary probe is warm already */
    if (ch->check && ch->check->source_idx == idx) {
        ch->check->standby = true;
        return;
    }
    if (ch->check) {
        ingest_stop(ch->check);
        ch->check = NULL;
    }
    ch->check = ingest_spawn(ch, idx, true);
    if (ch->check) {
        ch->check->check = ch->check->standby = true;
        log_info("live", "channel %lld: source %d stalled, standing by on source %d",
                 (long long)ch->id, ch->cur_source, idx);
    }
}

/* The current ingest ended or stalled: back off, fail over, or go to slate. */
static void ingest_failed(struct channel *ch, struct ingest *ing, unsigned cause, const char *why)
{
    uint64_t now = live_now_ms(ch->live);
    if (ing && ing == ch->check) {
        check_done(ch, ing, false);
        return;
    }
    if (ing && ing == ch->probe) {
        log_info("live", "channel %lld: primary probe %s (%s)", (long long)ch->id, why,
                 switch_cause_name(cause));
        ch->probe = NULL;
        ingest_stop(ing);
        ch->next_probe_ms = now + live_cfg(ch->live)->primary_retry_ms;
        return;
    }
    int64_t detect_ms = ing ? (int64_t)(now - ing->last_data_ms) : 0;
    if (ing) {
        if (ing != ch->ing)
            return;
        log_warn("live", "channel %lld: ffmpeg on source %d %s (%s)", (long long)ch->id,
                 ing->source_idx, why, switch_cause_name(cause));
        bool stable = ing->bytes > 0 && now - ing->started_ms >= STABLE_MS;
        ch->ing = NULL;
        ingest_stop(ing);
        publish(ch);
        for (int i = 0; i < ch->nsub; i++)
            publish(ch->sub[i]);
        ch->restarts++;
        ch->failures = stable ? 1 : ch->failures + 1;
    } else {
        ch->failures++;
    }
    const struct live_config *cfg = live_cfg(ch->live);
    bool switched = false;
    /* A hard failure (exit, refused, HTTP error, stall) switches at once;
     * failover-after only gives a source that never produced output more
     * tries. */
    if (ch->failures >= (int)cfg->failover_after || hard_cause(cause)) {
        ch->dead_sources++;
        ch->failures = 0;
        if (ch->source_count > 1) {
            int from = ch->cur_source;
            ch->cur_source = next_source(ch);
            ch->failovers++;
            switched = true;
            log_warn("live", "channel %lld: failing over to source %d", (long long)ch->id,
                     ch->cur_source);
            switch_record(ch, from, ch->cur_source, cause, detect_ms);
            if (ch->cur_source != 0)
                ch->next_probe_ms = now + cfg->primary_retry_ms;
        }
    }
    int nsrc = (int)(ch->source_count ? ch->source_count : 1);
    if (ch->dead_sources >= nsrc)
        enter_slate(ch, now, CH_SLATE, "no source works");
    else
        enter_slate(ch, now, CH_FAILING, "source failed");
    unsigned backoff = BACKOFF_MIN_MS;
    for (int i = 1; i < ch->failures && backoff < BACKOFF_MAX_MS; i++)
        backoff *= 2;
    if (ch->failures == 0)
        backoff = 200; /* a fresh source: try it right away */
    /* Every source failed: each further round waits twice as long (up to the
     * maximum), whatever failover-after is, so a dead channel is not respawned
     * several times a second forever. */
    for (int round = nsrc; round <= ch->dead_sources && backoff < BACKOFF_MAX_MS; round += nsrc)
        backoff = backoff < BACKOFF_MIN_MS ? BACKOFF_MIN_MS * 2 : backoff * 2;
    if (backoff > BACKOFF_MAX_MS)
        backoff = BACKOFF_MAX_MS;
    backoff += (unsigned)(rand() % 250);
    ch->retry_at_ms = now + backoff;
    /* Switching to a source not yet tried in this round: take over its
     * ffmpeg if one is already running for it (a standby, a background check,
     * the primary probe), else start it now rather than at the next tick (the
     * spawn queue still does the fork). */
    if (switched && !adopt_warm(ch) && ch->dead_sources < nsrc)
        spawn_current(ch);
}

void channel_start(struct channel *ch)
{
    if (ch->state != CH_STOPPED)
        return;
    uint64_t now = live_now_ms(ch->live);
    log_info("live", "channel %lld (%s): starting", (long long)ch->id, ch->name);
    ch->state = CH_STARTING;
    ch->started_ms = now;
    ch->failures = 0;
    ch->dead_sources = 0;
    ch->cur_source = 0;
    ch->idle_since_ms = 0;
    ch->next_check_ms = now + live_cfg(ch->live)->backup_check_ms; /* not all at start */
    ch->rate_t0_ms = now;
    ch->rate_bytes = 0;
    spawn_current(ch);
}

void channel_stop(struct channel *ch)
{
    if (ch->state == CH_STOPPED)
        return;
    log_info("live", "channel %lld (%s): stopping", (long long)ch->id, ch->name);
    if (ch->ing)
        ingest_stop(ch->ing);
    if (ch->probe)
        ingest_stop(ch->probe);
    if (ch->check)
        ingest_stop(ch->check);
    ch->ing = ch->probe = ch->check = NULL;
    ch->sw_pending = false;
    live_unqueue_spawn(ch);
    ch->state = CH_STOPPED;
    ch->retry_at_ms = 0;
    ch->psi_hold_len = 0;
    stage_reset(ch);
    ring_clear(&ch->ring);
    ring_mf_free(ch);
    buf_free(&ch->stage); /* up to 128 KB, and the ring's ~200 KB: only running */
    free(ch->ring.items); /* channels hold them */
    ch->ring.items = NULL;
    ch->cc_out_n = 0; /* no viewer is left to continue for */
    ch->bitrate_bps = 0;
    for (int i = 0; i < ch->nsub; i++)
        rend_clear(ch->sub[i]);
    ffprogress_values_reset(&ch->progress);
    ch->progress_ms = 0;
    live_channel_stopped(ch);
}

void channel_restart(struct channel *ch)
{
    if (ch->state == CH_STOPPED) {
        channel_start(ch);
        return;
    }
    if (ch->ing)
        ingest_stop(ch->ing);
    if (ch->probe) /* back on the primary: nothing to fail back to */
        ingest_stop(ch->probe);
    ch->ing = ch->probe = NULL;
    ch->sw_pending = false;
    ch->restarts++;
    ch->cur_source = 0;
    spawn_current(ch);
}

void channel_free(struct channel *ch)
{
    if (!ch)
        return;
    channel_stop(ch);
    hls_free(ch->hls);
    while (ch->nsub)
        rend_free(ch->sub[--ch->nsub]);
    free(ch->grid);
    buf_free(&ch->stage);
    free_sources(ch);
    for (size_t i = 0; i < STDERR_LINES; i++)
        free(ch->errlines[i]);
    free(ch);
}

/* Rewrites the continuity counters of a slate packet so that they continue
 * from the previous loop (a clip's counters do not wrap around seamlessly). */
static void slate_fix_cc(struct channel *ch, uint8_t *p)
{
    uint16_t pid = (uint16_t)(((p[1] & 0x1f) << 8) | p[2]);
    bool payload = (p[3] & 0x10) != 0;
    for (size_t i = 0; i < ch->slate_cc_n; i++) {
        if (ch->slate_cc[i].pid != pid)
            continue;
        if (payload)
            ch->slate_cc[i].cc = (uint8_t)((ch->slate_cc[i].cc + 1) & 0x0f);
        p[3] = (uint8_t)((p[3] & 0xf0) | ch->slate_cc[i].cc);
        return;
    }
    if (ch->slate_cc_n < sizeof(ch->slate_cc) / sizeof(ch->slate_cc[0])) {
        ch->slate_cc[ch->slate_cc_n].pid = pid;
        ch->slate_cc[ch->slate_cc_n++].cc = p[3] & 0x0f;
    }
}

/* Publishes the slate clip in real time while no source delivers: every frame
 * that is due (the tick is coarser than a frame), paced by the clip's PTS from
 * the previous deadline so the rate does not drift. Each loop after the first
 * has its PTS/DTS/PCR shifted by the loop length, so viewers see continuous
 * time; only the entry into the slate is a discontinuity. */
static void slate_tick(struct channel *ch, uint64_t now)
{
    size_t n;
    int64_t loop_pts;
    const struct chunk *clip = live_slate(ch->live, &n, &loop_pts);
    if (!clip || !n)
        return;
    /* Each rendition shows the card until its own source keyframe (a retry
     * found it: the source takes over), so that every rendition switches
     * at the same keyframe whichever pipe delivered it first. */
    struct channel *dst[LADDER_MAX];
    int nd = 0;
    for (int i = 0; i <= ch->nsub; i++) {
        struct channel *r = channel_rend(ch, i);
        if (!(ch->ing && !r->need_key))
            dst[nd++] = r;
    }
    if (!nd || (ch->ing && !ch->need_key && ch->slate_pos == 0))
        return; /* never enter the slate (a new generation) behind a running top */
    if (now > ch->slate_next_ms + SLATE_MAX_LATE_MS)
        ch->slate_next_ms = now; /* after a stall, no burst to catch up */
    for (size_t sent = 0; sent < n && now >= ch->slate_next_ms; sent++) {
        bool entry = ch->slate_pos == 0;
        if (entry) {
            ch->gen++;
            ch->slate_origin = ++ch->origin_seq;
            ch->slate_offset = 0;
            ch->slate_cc_n = 0;
        } else if (ch->slate_pos >= n) {
            ch->slate_pos = 0;
            ch->slate_offset = (ch->slate_offset + loop_pts) & TS_PTS_WRAP_MASK;
        }
        const struct chunk *c = &clip[ch->slate_pos++];
        /* built in the first rendition's stage (empty: it waits for a
         * keyframe), copied into the others' */
        struct channel *b0 = dst[0];
        buf_reset(&b0->stage);
        b0->stage_origin = ch->slate_origin;
        buf_append(&b0->stage, c->rb->data, c->rb->len);
        for (size_t off = 0; off + TS_PACKET_SIZE <= b0->stage.len; off += TS_PACKET_SIZE) {
            uint8_t *pkt = (uint8_t *)b0->stage.data + off;
            if (ch->slate_offset)
                ts_packet_shift_time(pkt, ch->slate_offset);
            slate_fix_cc(ch, pkt);
        }
        b0->stage_flags = c->flags | CHUNK_SLATE | (entry ? CHUNK_DISCONT : 0);
        b0->stage_pts =
            c->pts == TS_PTS_NONE ? c->pts : (c->pts + ch->slate_offset) & TS_PTS_WRAP_MASK;
        b0->stage_pts_end = c->pts_end == TS_PTS_NONE
                                ? c->pts_end
                                : (c->pts_end + ch->slate_offset) & TS_PTS_WRAP_MASK;
        /* a ladder's renditions show the same card (players switch freely) */
        for (int i = 1; i < nd; i++) {
            struct channel *r = dst[i];
            buf_reset(&r->stage);
            buf_append(&r->stage, b0->stage.data, b0->stage.len);
            r->stage_origin = ch->slate_origin;
            r->stage_flags = b0->stage_flags;
            r->stage_pts = b0->stage_pts;
            r->stage_pts_end = b0->stage_pts_end;
            publish(r);
        }
        publish(b0);
        /* Pace by the clip's timestamps: the next chunk is due after this one. */
        int64_t dur = 0;
        if (ch->slate_pos < n && clip[ch->slate_pos].pts != TS_PTS_NONE && c->pts != TS_PTS_NONE)
            dur = ts_pts_diff(clip[ch->slate_pos].pts, c->pts);
        else if (c->pts != TS_PTS_NONE)
            dur = ts_pts_diff(clip[0].pts + loop_pts, c->pts);
        if (dur <= 0 || dur > 90000 * 5)
            dur = 3600;
        ch->slate_next_ms += (uint64_t)(dur / 90);
    }
}

/* Opening the input (no output byte yet) is bounded by probe-timeout, a
 * running source's silence by watchdog: ffmpeg's own input analysis does not
 * count against a short watchdog. */
static bool ingest_timed_out(const struct ingest *ing, const struct live_config *cfg, uint64_t now)
{
    if (!ing->got_output)
        return now - ing->started_ms > cfg->probe_timeout_ms;
    return now - ing->last_data_ms > cfg->watchdog_ms;
}

void channel_tick(struct channel *ch, uint64_t now)
{
    if (ch->state == CH_STOPPED)
        return;
    const struct live_config *cfg = live_cfg(ch->live);
    if (ch->rate_t0_ms && now - ch->rate_t0_ms >= 2000) {
        ch->bitrate_bps = (double)ch->rate_bytes * 8000.0 / (double)(now - ch->rate_t0_ms);
        ch->rate_bytes = 0;
        for (int i = 0; i < ch->nsub; i++) {
            struct channel *r = ch->sub[i];
            r->bitrate_bps = (double)r->rate_bytes * 8000.0 / (double)(now - ch->rate_t0_ms);
            r->rate_bytes = 0;
        }
        ch->rate_t0_ms = now;
    }
    for (int i = 0; ch->ing && i < ch->nsub; i++)
        if (ch->sub[i]->stage.len && now - ch->sub[i]->stage_start_ms >= CHUNK_MAX_MS)
            publish(ch->sub[i]);
    struct ingest *ing = ch->ing;
    if (ing && !ing->stopping && ingest_timed_out(ing, cfg, now)) {
        if (ing->got_output)
            ingest_failed(ch, ing, CAUSE_STALL, "produced no data in time (watchdog)");
        else
            ingest_failed(ch, ing, CAUSE_NO_INPUT, "produced no output in time (probe-timeout)");
    } else if (ing && ch->stage.len && now - ch->stage_start_ms >= CHUNK_MAX_MS) {
        publish(ch);
    }
    if (!ch->ing && ch->retry_at_ms && now >= ch->retry_at_ms)
        spawn_current(ch);
    /* A running source that went silent: slate now, well before the
     * watchdog, and warm up the source a failover would go to. */
    if (ing && !ing->stopping && ch->state == CH_RUNNING &&
        now - ing->last_data_ms > cfg->stall_slate_ms) {
        enter_slate(ch, now, CH_FAILING, "source stalled");
        if (ch->source_count > 1)
            start_standby(ch);
    }
    /* It resumed before the watchdog: the standby is not needed. */
    if (ch->check && ch->check->standby && ch->ing && ch->ing->got_output &&
        now - ch->ing->last_data_ms <= cfg->stall_slate_ms && ch->state == CH_RUNNING) {
        if (ch->check->got_key) {
            check_done(ch, ch->check, true);
        } else { /* no verdict yet: just stopped */
            ingest_stop(ch->check);
            ch->check = NULL;
        }
    }
    if (slate_playing(ch))
        slate_tick(ch, now);
    /* On a backup: probe the primary now and then (it takes over once it has
     * been healthy for primary-healthy). */
    if (ch->probe && ingest_timed_out(ch->probe, cfg, now))
        ingest_failed(ch, ch->probe, ch->probe->got_output ? CAUSE_STALL : CAUSE_NO_INPUT,
                      "timed out");
    if (ch->cur_source != 0 && ch->source_count > 1 && ch->next_probe_ms && !ch->probe &&
        now >= ch->next_probe_ms) {
        ch->probe = ingest_spawn(ch, 0, true);
        ch->next_probe_ms = now + cfg->primary_retry_ms;
    }
    /* Background checks of the other sources, one at a time, so that a
     * failover goes to a source known to be alive. */
    if (ch->check && ingest_timed_out(ch->check, cfg, now))
        ingest_failed(ch, ch->check, CAUSE_NO_INPUT, "timed out");
    if (!ch->check && cfg->backup_check_ms && ch->source_count > 1 && ch->state == CH_RUNNING &&
        now >= ch->next_check_ms) {
        int n = (int)ch->source_count, idx = -1;
        for (int k = 0; k < n && idx < 0; k++) {
            int i = (ch->check_next + k) % n;
            if (i != ch->cur_source && !(ch->probe && ch->probe->source_idx == i))
                idx = i;
        }
        ch->next_check_ms = now + cfg->backup_check_ms;
        if (idx >= 0) {
            ch->check_next = (idx + 1) % n;
            ch->check = ingest_spawn(ch, idx, true);
            if (ch->check)
                ch->check->check = true;
        }
    }
}

void channel_reap_one(struct ingest *ing, uint64_t now)
{
    if (!ing->exited && ing->term_sent_ms && now - ing->term_sent_ms > STOP_GRACE_MS) {
        uv_kill(-ing->proc.pid, SIGKILL);
        ing->term_sent_ms = now; /* again after another grace if still there */
    }
}
