/*
 * ts: an MPEG-TS packet reader for the live engine — byte-stream resync on
 * 0x47, PAT/PMT parsing (single-packet sections, which is what every muxer
 * we ingest from emits), keyframe detection, PTS and PCR extraction, and
 * continuity-counter accounting. No I/O, no allocation: a struct ts_reader is
 * plain memory the caller owns.
 *
 * Keyframes: a packet on the video PID with PUSI set whose adaptation field
 * has random_access_indicator; for sources that do not set it, the start of
 * the PES payload is scanned for H.264 IDR/SPS, HEVC IRAP/VPS or MPEG-2
 * sequence/GOP start codes. Without a video PID (radio), every PUSI of the
 * first audio PID counts as a random access point.
 *
 * Invariants: ts_reader_feed() hands out only whole 188-byte packets that
 * start with 0x47, in stream order; bytes that cannot be aligned are dropped
 * and counted (bytes_dropped, resyncs). Threading: none (caller's thread).
 */
#ifndef XTREAMD_MEDIA_TS_H
#define XTREAMD_MEDIA_TS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TS_PACKET_SIZE 188
#define TS_MAX_ES      8
#define TS_PTS_NONE    INT64_MIN

enum ts_es_kind { TS_ES_OTHER, TS_ES_VIDEO, TS_ES_AUDIO };

struct ts_es {
    uint16_t pid;
    uint8_t stream_type;
    enum ts_es_kind kind;
};

/* One classified packet (p points into the caller's or the reader's memory,
 * valid during the callback only). */
struct ts_packet {
    const uint8_t *p;
    uint16_t pid;
    bool pusi;
    bool key;         /* random access point of the channel (see above) */
    bool psi;         /* a PAT or PMT packet */
    bool video;       /* on the video PID */
    int64_t pts;      /* 90 kHz, TS_PTS_NONE if this packet starts no PES with PTS */
    int64_t pcr;      /* 27 MHz, -1 if none */
    bool psi_changed; /* this PMT changed the program (PIDs, types or version) */
};

struct ts_reader {
    uint8_t carry[TS_PACKET_SIZE * 3];
    size_t carry_len;
    bool synced;
    uint16_t pmt_pid; /* 0 = unknown */
    int pmt_version;  /* -1 = none */
    uint16_t pcr_pid;
    struct ts_es es[TS_MAX_ES];
    size_t es_count;
    int video_idx; /* index in es, -1 if none */
    int audio_idx;
    bool rai_seen;    /* the video PID carries random_access_indicator */
    uint8_t cc[8192]; /* last continuity counter per PID, 0xff = none */
    uint8_t pat[TS_PACKET_SIZE], pmt[TS_PACKET_SIZE];
    bool have_pat, have_pmt;
    /* counters */
    uint64_t packets, resyncs, bytes_dropped, cc_errors, keyframes;
};

typedef void (*ts_packet_fn)(void *ud, const struct ts_packet *pkt);

void ts_reader_init(struct ts_reader *r);
/* Consumes len bytes; calls fn for every aligned packet. Returns the number of
 * packets delivered. */
size_t ts_reader_feed(struct ts_reader *r, const uint8_t *data, size_t len, ts_packet_fn fn,
                      void *ud);
/* Classifies one aligned packet (p[0] == 0x47) and updates the PSI state. */
void ts_reader_packet(struct ts_reader *r, const uint8_t *p, struct ts_packet *out);

/* Stream-type names for a codec summary ("h264", "aac", ...; "0xNN" otherwise:
 * buf must hold 8 bytes). */
const char *ts_stream_type_name(uint8_t type, char buf[8]);
/* "h264+aac" style summary of the current PMT into out (always terminated). */
void ts_reader_codecs(const struct ts_reader *r, char *out, size_t outlen);

/* Adds offset (90 kHz) to the PTS/DTS of a PES header and the PCR of the
 * adaptation field of packet p, in place (33-bit wrap). Used to loop a clip. */
void ts_packet_shift_time(uint8_t *p, int64_t offset90k);
/* Parses PTS of a packet that starts a PES (TS_PTS_NONE otherwise). */
int64_t ts_packet_pts(const uint8_t *p);
/* Signed difference a - b of two 33-bit 90 kHz timestamps, wrap-aware. */
int64_t ts_pts_diff(int64_t a, int64_t b);

#endif
