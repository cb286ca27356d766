/*
 * bench/archive/feed: drives the archive recorder (src/archive) the way the
 * live engine does: N channels, each publishing a chunk every CHUNK_MS of
 * BITRATE bit/s (a keyframe chunk every GOP_MS), in real time, for SECONDS.
 * Prints one line of figures: the CPU the recorder cost (the hook on the
 * calling thread, the writer thread), in % of one core, bytes written and
 * chunks dropped. With rate 0 it feeds as fast as the queue takes (throughput).
 *
 *   feed DIR CHANNELS BITRATE SECONDS [CHUNK_MS]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "archive/archive.h"

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double proc_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: feed DIR CHANNELS BITRATE SECONDS [CHUNK_MS]\n");
        return 2;
    }
    const char *dir = argv[1];
    long channels = strtol(argv[2], NULL, 10);
    double bitrate = strtod(argv[3], NULL);
    double seconds = strtod(argv[4], NULL);
    long chunk_ms = argc > 5 ? strtol(argv[5], NULL, 10) : 100;
    if (channels < 1 || channels > 10000 || seconds <= 0 || chunk_ms < 1)
        return 2;
    struct archive_config cfg;
    archive_config_defaults(&cfg);
    snprintf(cfg.dir, sizeof(cfg.dir), "%s", dir);
    struct archive *a;
    int rc = archive_new(NULL, &cfg, &a);
    if (rc) {
        fprintf(stderr, "archive_new: %s\n", strerror(-rc));
        return 1;
    }
    struct archive_stream_cfg *sc = calloc((size_t)channels, sizeof(*sc));
    for (long i = 0; i < channels; i++)
        sc[i] = (struct archive_stream_cfg){.stream_id = i + 1, .days = 1};
    archive_set_streams(a, sc, (size_t)channels);
    /* One chunk's bytes per channel, whole packets; refbufs are made per
     * publish as the engine does (a copy of what ffmpeg wrote). */
    size_t len = bitrate > 0 ? (size_t)(bitrate / 8 * (double)chunk_ms / 1000) : 64 * 1024;
    len -= len % 188;
    if (len < 188)
        len = 188;
    unsigned char *pkt = malloc(len);
    for (size_t i = 0; i < len; i += 188) {
        memset(pkt + i, 0xff, 188);
        pkt[i] = 0x47;
    }
    long gop_chunks = 2000 / chunk_ms; /* a keyframe every 2 s */
    if (gop_chunks < 1)
        gop_chunks = 1;
    double t0 = now_s(CLOCK_MONOTONIC), cpu0 = proc_cpu(), main0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    double hook = 0, make = 0;
    uint64_t chunks = 0, dropped = 0, bytes = 0;
    for (long tick = 0;; tick++) {
        double due = t0 + (double)tick * (double)chunk_ms / 1000;
        double now = now_s(CLOCK_MONOTONIC);
        if (now - t0 >= seconds)
            break;
        if (bitrate > 0 && due > now) {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)((due - now) * 1e9)};
            nanosleep(&ts, NULL);
        }
        int64_t utc = (int64_t)(now_s(CLOCK_REALTIME) * 1000);
        for (long c = 0; c < channels; c++) {
            double m0 = now_s(CLOCK_THREAD_CPUTIME_ID);
            struct refbuf *rb = refbuf_new(pkt, len);
            double h0 = now_s(CLOCK_THREAD_CPUTIME_ID);
            uint32_t fl = tick % gop_chunks == 0 ? ARCHIVE_CHUNK_KEY : 0;
            rc = archive_on_chunk(a, c + 1, rb, fl, tick * 90 * chunk_ms, utc);
            refbuf_unref(rb);
            double h1 = now_s(CLOCK_THREAD_CPUTIME_ID);
            make += h0 - m0;
            hook += h1 - h0;
            chunks++;
            if (rc)
                dropped++;
            else
                bytes += len;
        }
    }
    double wall = now_s(CLOCK_MONOTONIC) - t0;
    double main_cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - main0;
    archive_stop(a); /* flushes the queue: the writer's whole cost is counted */
    double cpu = proc_cpu() - cpu0;
    double wall_all = now_s(CLOCK_MONOTONIC) - t0;
    /* Writer = process CPU - this thread's CPU (the loop side). */
    double writer = cpu - main_cpu;
    printf("channels=%ld bitrate_bps=%.0f seconds=%.1f chunk_bytes=%zu chunks=%" PRIu64
           " dropped=%" PRIu64 " written_MB=%.1f write_MBps=%.1f hook_cpu_pct=%.2f "
           "writer_cpu_pct=%.2f recorder_cpu_pct=%.2f refbuf_copy_cpu_pct=%.2f\n",
           channels, bitrate, wall, len, chunks, dropped, (double)bytes / 1048576,
           (double)bytes / 1048576 / wall_all, 100 * hook / wall, 100 * writer / wall,
           100 * (hook + writer) / wall, 100 * make / wall);
    archive_free(a);
    free(sc);
    free(pkt);
    return 0;
}
