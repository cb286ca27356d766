/* libFuzzer target for a ladder's text form (media/profile.c
 * tx_renditions_parse: the CLI's --ladder and the database column): any
 * bytes must neither crash nor be accepted unless formatting gives them back
 * parseable to the same renditions, and a ladder that passes the rules
 * renders (argv and master playlist) without error. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/ladder.h"
#include "media/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[512];
    if (size >= sizeof(text))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct tx_profile p;
    tx_profile_init(&p);
    memcpy(p.name, "f", 2);
    p.fps = 25;
    struct tx_error e;
    if (tx_renditions_parse(text, &p, &e) != 0)
        return 0;
    if (p.nrenditions < 0 || p.nrenditions > LADDER_MAX)
        abort();
    char again[512];
    if (tx_renditions_format(&p, again, sizeof(again)) < 0)
        abort();
    struct tx_profile q = p;
    if (tx_renditions_parse(again, &q, &e) != 0 || q.nrenditions != p.nrenditions ||
        memcmp(q.renditions, p.renditions, sizeof(p.renditions)) != 0)
        abort();
    tx_ladder_sync_top(&p);
    if (p.nrenditions == 0 || tx_profile_validate(&p, &e) != 0)
        return 0;
    struct tx_ladder l;
    tx_ladder_from_profile(&p, &l);
    struct tx_argv a;
    int rc = tx_ladder_render(&l, 0, &a);
    if (rc != 0 && rc != -ENOSPC)
        abort();
    char master[2048];
    if (tx_ladder_master(&l, "/hls/t/", master, sizeof(master)) <= 0)
        abort();
    return 0;
}
