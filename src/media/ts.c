/*
 * ts: MPEG-TS packet reader (see ts.h). Every length read from a packet is
 * checked against the 188 bytes it lives in; the reader never reads outside
 * the packet it classifies.
 */
#include "media/ts.h"

#include <stdio.h>
#include <string.h>

#define PTS_MASK ((int64_t)1 << 33)

void ts_reader_init(struct ts_reader *r)
{
    memset(r, 0, sizeof(*r));
    r->pmt_version = -1;
    r->video_idx = -1;
    r->audio_idx = -1;
    memset(r->cc, 0xff, sizeof(r->cc));
}

static enum ts_es_kind kind_of(uint8_t type)
{
    switch (type) {
    case 0x01: /* MPEG-1 video */
    case 0x02: /* MPEG-2 video */
    case 0x10: /* MPEG-4 part 2 */
    case 0x1b: /* H.264 */
    case 0x24: /* HEVC */
    case 0x42: /* AVS */
        return TS_ES_VIDEO;
    case 0x03:
    case 0x04: /* MPEG audio */
    case 0x0f: /* AAC ADTS */
    case 0x11: /* AAC LATM */
    case 0x81: /* AC-3 */
    case 0x87: /* E-AC-3 */
        return TS_ES_AUDIO;
    default:
        return TS_ES_OTHER;
    }
}

const char *ts_stream_type_name(uint8_t type, char buf[8])
{
    switch (type) {
    case 0x01:
        return "mpeg1video";
    case 0x02:
        return "mpeg2video";
    case 0x10:
        return "mpeg4";
    case 0x1b:
        return "h264";
    case 0x24:
        return "hevc";
    case 0x03:
    case 0x04:
        return "mp2";
    case 0x0f:
        return "aac";
    case 0x11:
        return "aac_latm";
    case 0x81:
        return "ac3";
    case 0x87:
        return "eac3";
    case 0x06:
        return "private";
    default:
        snprintf(buf, 8, "0x%02x", type);
        return buf;
    }
}

void ts_reader_codecs(const struct ts_reader *r, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->es_count && n + 1 < outlen; i++) {
        char tmp[8];
        int w = snprintf(out + n, outlen - n, "%s%s", i ? "+" : "",
                         ts_stream_type_name(r->es[i].stream_type, tmp));
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* Offset of the payload in packet p, or -1 if it has none. */
static int payload_offset(const uint8_t *p)
{
    unsigned afc = (p[3] >> 4) & 3;
    if (afc == 0 || afc == 2)
        return -1;
    if (afc == 1)
        return 4;
    int off = 5 + p[4];
    return off < TS_PACKET_SIZE ? off : -1;
}

static int64_t read_ts33(const uint8_t *b)
{
    return ((int64_t)(b[0] & 0x0e) << 29) | ((int64_t)b[1] << 22) | ((int64_t)(b[2] & 0xfe) << 14) |
           ((int64_t)b[3] << 7) | ((int64_t)b[4] >> 1);
}

static void write_ts33(uint8_t *b, int64_t v)
{
    v &= PTS_MASK - 1;
    b[0] = (uint8_t)((b[0] & 0xf1) | ((v >> 29) & 0x0e));
    b[1] = (uint8_t)(v >> 22);
    b[2] = (uint8_t)(((v >> 14) & 0xfe) | (b[2] & 1));
    b[3] = (uint8_t)(v >> 7);
    b[4] = (uint8_t)(((v << 1) & 0xfe) | (b[4] & 1));
}

int64_t ts_packet_pts(const uint8_t *p)
{
    if (!(p[1] & 0x40))
        return TS_PTS_NONE;
    int off = payload_offset(p);
    if (off < 0 || off + 14 > TS_PACKET_SIZE)
        return TS_PTS_NONE;
    const uint8_t *pes = p + off;
    if (pes[0] != 0 || pes[1] != 0 || pes[2] != 1)
        return TS_PTS_NONE;
    uint8_t sid = pes[3];
    /* Streams without the optional PES header (padding, private_2, ...). */
    if (sid == 0xbc || sid == 0xbe || sid == 0xbf || sid == 0xf0 || sid == 0xf1 || sid == 0xff ||
        sid == 0xf2 || sid == 0xf8)
        return TS_PTS_NONE;
    if ((pes[6] & 0xc0) != 0x80 || !(pes[7] & 0x80))
        return TS_PTS_NONE;
    return read_ts33(pes + 9);
}

int64_t ts_pts_diff(int64_t a, int64_t b)
{
    int64_t d = (a - b) & (PTS_MASK - 1);
    return d >= PTS_MASK / 2 ? d - PTS_MASK : d;
}

void ts_packet_shift_time(uint8_t *p, int64_t offset90k)
{
    unsigned afc = (p[3] >> 4) & 3;
    if ((afc & 2) && p[4] >= 7 && (p[5] & 0x10)) {
        uint8_t *pcr = p + 6;
        int64_t base = ((int64_t)pcr[0] << 25) | ((int64_t)pcr[1] << 17) | ((int64_t)pcr[2] << 9) |
                       ((int64_t)pcr[3] << 1) | (pcr[4] >> 7);
        base = (base + offset90k) & (PTS_MASK - 1);
        pcr[0] = (uint8_t)(base >> 25);
        pcr[1] = (uint8_t)(base >> 17);
        pcr[2] = (uint8_t)(base >> 9);
        pcr[3] = (uint8_t)(base >> 1);
        pcr[4] = (uint8_t)((pcr[4] & 0x7f) | ((base & 1) << 7));
    }
    if (ts_packet_pts(p) == TS_PTS_NONE)
        return;
    uint8_t *pes = p + payload_offset(p);
    int64_t pts = read_ts33(pes + 9);
    write_ts33(pes + 9, pts + offset90k);
    if ((pes[7] & 0xc0) == 0xc0 && payload_offset(p) + 19 <= TS_PACKET_SIZE)
        write_ts33(pes + 14, read_ts33(pes + 14) + offset90k);
}

/* The section starting in packet p's payload (pointer_field honoured), with
 * its length bounded by the packet; NULL if absent or truncated. */
static const uint8_t *section(const uint8_t *p, size_t *len)
{
    if (!(p[1] & 0x40))
        return NULL;
    int off = payload_offset(p);
    if (off < 0)
        return NULL;
    size_t at = (size_t)off + 1 + p[off];
    if (at + 3 > TS_PACKET_SIZE)
        return NULL;
    const uint8_t *s = p + at;
    size_t slen = 3 + (((size_t)(s[1] & 0x0f) << 8) | s[2]);
    if (slen < 12 || at + slen > TS_PACKET_SIZE)
        return NULL;
    *len = slen;
    return s;
}

static void parse_pat(struct ts_reader *r, const uint8_t *p)
{
    size_t len;
    const uint8_t *s = section(p, &len);
    if (!s || s[0] != 0x00)
        return;
    memcpy(r->pat, p, TS_PACKET_SIZE);
    r->have_pat = true;
    for (size_t i = 8; i + 4 <= len - 4; i += 4) {
        uint16_t program = (uint16_t)((s[i] << 8) | s[i + 1]);
        uint16_t pid = (uint16_t)(((s[i + 2] & 0x1f) << 8) | s[i + 3]);
        if (program != 0) {
            if (r->pmt_pid != pid) {
                r->pmt_pid = pid;
                r->pmt_version = -1;
            }
            return;
        }
    }
}

static bool parse_pmt(struct ts_reader *r, const uint8_t *p)
{
    size_t len;
    const uint8_t *s = section(p, &len);
    if (!s || s[0] != 0x02)
        return false;
    memcpy(r->pmt, p, TS_PACKET_SIZE);
    r->have_pmt = true;
    int version = (s[5] >> 1) & 0x1f;
    struct ts_es es[TS_MAX_ES] = {0};
    size_t n = 0;
    uint16_t pcr_pid = (uint16_t)(((s[8] & 0x1f) << 8) | s[9]);
    size_t info = ((size_t)(s[10] & 0x0f) << 8) | s[11];
    size_t i = 12 + info;
    size_t end = len - 4; /* CRC */
    while (i + 5 <= end && n < TS_MAX_ES) {
        es[n].stream_type = s[i];
        es[n].pid = (uint16_t)(((s[i + 1] & 0x1f) << 8) | s[i + 2]);
        es[n].kind = kind_of(s[i]);
        size_t eslen = ((size_t)(s[i + 3] & 0x0f) << 8) | s[i + 4];
        i += 5 + eslen;
        n++;
    }
    /* Field by field: struct ts_es has padding, which memcmp would compare. */
    bool changed = version != r->pmt_version || n != r->es_count || pcr_pid != r->pcr_pid;
    for (size_t k = 0; !changed && k < n; k++)
        changed = es[k].pid != r->es[k].pid || es[k].stream_type != r->es[k].stream_type;
    if (!changed)
        return false;
    bool first = r->pmt_version < 0 && r->es_count == 0;
    r->pmt_version = version;
    r->pcr_pid = pcr_pid;
    memcpy(r->es, es, n * sizeof(es[0]));
    r->es_count = n;
    r->video_idx = r->audio_idx = -1;
    for (size_t k = 0; k < n; k++) {
        if (es[k].kind == TS_ES_VIDEO && r->video_idx < 0)
            r->video_idx = (int)k;
        if (es[k].kind == TS_ES_AUDIO && r->audio_idx < 0)
            r->audio_idx = (int)k;
    }
    r->rai_seen = false;
    return !first;
}

/* NAL/start-code scan of the first PES payload bytes for a random access
 * point (sources without random_access_indicator). */
static bool payload_is_key(const uint8_t *p, uint8_t type)
{
    int off = payload_offset(p);
    if (off < 0 || off + 9 > TS_PACKET_SIZE)
        return false;
    const uint8_t *pes = p + off;
    if (pes[0] != 0 || pes[1] != 0 || pes[2] != 1)
        return false;
    size_t at = (size_t)off + 9 + pes[8];
    for (size_t i = at; i + 4 < TS_PACKET_SIZE; i++) {
        if (p[i] != 0 || p[i + 1] != 0 || p[i + 2] != 1)
            continue;
        uint8_t b = p[i + 3];
        if (type == 0x1b) {
            unsigned nal = b & 0x1f;
            if (nal == 5 || nal == 7)
                return true;
            if (nal == 1)
                return false; /* a non-IDR slice came first */
        } else if (type == 0x24) {
            unsigned nal = (b >> 1) & 0x3f;
            if ((nal >= 16 && nal <= 21) || nal == 32)
                return true;
            if (nal < 16)
                return false;
        } else if (type == 0x01 || type == 0x02) {
            if (b == 0xb3 || b == 0xb8)
                return true;
            if (b == 0x00)
                return false; /* picture start */
        }
    }
    return false;
}

void ts_reader_packet(struct ts_reader *r, const uint8_t *p, struct ts_packet *out)
{
    memset(out, 0, sizeof(*out));
    out->p = p;
    out->pid = (uint16_t)(((p[1] & 0x1f) << 8) | p[2]);
    out->pusi = (p[1] & 0x40) != 0;
    out->pts = TS_PTS_NONE;
    out->pcr = -1;
    r->packets++;
    uint16_t pid = out->pid;
    unsigned afc = (p[3] >> 4) & 3;
    bool has_af = (afc & 2) && p[4] > 0;
    bool rai = has_af && (p[5] & 0x40);
    if (has_af && p[4] >= 7 && (p[5] & 0x10)) {
        const uint8_t *c = p + 6;
        int64_t base = ((int64_t)c[0] << 25) | ((int64_t)c[1] << 17) | ((int64_t)c[2] << 9) |
                       ((int64_t)c[3] << 1) | (c[4] >> 7);
        int64_t ext = ((int64_t)(c[4] & 1) << 8) | c[5];
        out->pcr = base * 300 + ext;
    }
    /* Continuity: only packets with payload advance the counter; a repeated
     * counter is a legal duplicate; the discontinuity_indicator resets. */
    if (pid != 0x1fff) {
        uint8_t cc = p[3] & 0x0f;
        bool discont = has_af && (p[5] & 0x80);
        if (afc & 1) {
            uint8_t last = r->cc[pid];
            if (last != 0xff && !discont && cc != last && cc != ((last + 1) & 0x0f))
                r->cc_errors++;
            r->cc[pid] = cc;
        }
    }
    if (pid == 0) {
        parse_pat(r, p);
        out->psi = true;
        return;
    }
    if (r->pmt_pid && pid == r->pmt_pid) {
        out->psi_changed = parse_pmt(r, p);
        out->psi = true;
        return;
    }
    if (!out->pusi)
        return;
    out->pts = ts_packet_pts(p);
    if (r->video_idx >= 0) {
        const struct ts_es *v = &r->es[r->video_idx];
        if (pid != v->pid)
            return;
        out->video = true;
        if (rai)
            r->rai_seen = true;
        out->key = rai || (!r->rai_seen && payload_is_key(p, v->stream_type));
    } else if (r->audio_idx >= 0) {
        out->key = pid == r->es[r->audio_idx].pid;
    }
    if (out->key)
        r->keyframes++;
}

/* Delivers the aligned packets at the start of data; returns the bytes used.
 * Unsynced, a 0x47 counts only when two more follow at 188-byte steps, so it
 * waits (returns early) until three packets' worth of bytes are there. */
static size_t scan(struct ts_reader *r, const uint8_t *data, size_t len, ts_packet_fn fn, void *ud,
                   size_t *delivered)
{
    size_t i = 0;
    struct ts_packet pk;
    while (i < len) {
        if (!r->synced) {
            if (data[i] != 0x47) {
                r->bytes_dropped++;
                i++;
                continue;
            }
            if (len - i < 3 * TS_PACKET_SIZE)
                return i;
            if (data[i + TS_PACKET_SIZE] != 0x47 || data[i + 2 * TS_PACKET_SIZE] != 0x47) {
                r->bytes_dropped++;
                i++;
                continue;
            }
            r->synced = true;
        }
        if (len - i < TS_PACKET_SIZE)
            return i;
        if (data[i] != 0x47) {
            r->synced = false;
            r->resyncs++;
            continue;
        }
        ts_reader_packet(r, data + i, &pk);
        fn(ud, &pk);
        (*delivered)++;
        i += TS_PACKET_SIZE;
    }
    return i;
}

size_t ts_reader_feed(struct ts_reader *r, const uint8_t *data, size_t len, ts_packet_fn fn,
                      void *ud)
{
    size_t delivered = 0;
    while (r->carry_len) {
        size_t take = sizeof(r->carry) - r->carry_len;
        if (take > len)
            take = len;
        memcpy(r->carry + r->carry_len, data, take);
        r->carry_len += take;
        data += take;
        len -= take;
        size_t used = scan(r, r->carry, r->carry_len, fn, ud, &delivered);
        memmove(r->carry, r->carry + used, r->carry_len - used);
        r->carry_len -= used;
        if (len == 0)
            return delivered;
    }
    size_t used = scan(r, data, len, fn, ud, &delivered);
    memcpy(r->carry, data + used, len - used); /* < 3 packets by construction */
    r->carry_len = len - used;
    return delivered;
}
