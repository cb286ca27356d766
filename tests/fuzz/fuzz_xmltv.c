/* libFuzzer target for epg/parser: any bytes, fed whole and in odd-sized
 * pieces, must neither crash nor disagree between the two feedings; every
 * string handed to the callbacks must be NUL-terminated within its bound. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "epg/epg.h"

struct counts {
    size_t channels, programmes, bytes;
};

static int on_channel(void *ud, const struct epg_channel *ch)
{
    struct counts *c = ud;
    c->channels++;
    size_t n = strlen(ch->id) + strlen(ch->display_name) + strlen(ch->icon);
    if (strlen(ch->id) >= EPG_MAX_ID || strlen(ch->display_name) >= EPG_MAX_NAME)
        abort();
    c->bytes += n;
    return 0;
}

static int on_programme(void *ud, const struct epg_programme *p)
{
    struct counts *c = ud;
    c->programmes++;
    if (strlen(p->title) >= EPG_MAX_TITLE || strlen(p->desc) >= EPG_MAX_DESC ||
        strlen(p->channel) >= EPG_MAX_ID || strlen(p->lang) >= EPG_MAX_SHORT)
        abort();
    c->bytes += strlen(p->sub_title) + strlen(p->category) + strlen(p->episode_num) +
                strlen(p->icon) + strlen(p->rating);
    return 0;
}

static int run(const uint8_t *data, size_t size, size_t piece, struct counts *c)
{
    struct epg_parser_cb cb = {.channel = on_channel, .programme = on_programme, .ud = c};
    struct epg_parser *p;
    if (epg_parser_new(&cb, &p))
        return -1;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < size; off += piece)
        rc = epg_parser_feed(p, data + off, size - off < piece ? size - off : piece, false);
    if (rc == 0)
        rc = epg_parser_feed(p, NULL, 0, true);
    epg_parser_free(p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct counts a = {0}, b = {0};
    int ra = run(data, size, size ? size : 1, &a);
    int rb = run(data, size, 7, &b);
    if (ra != rb || (ra == 0 && (a.channels != b.channels || a.programmes != b.programmes)))
        abort();
    return 0;
}
