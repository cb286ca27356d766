/*
 * epg/map: channels without a guide and the best candidate guide ids for
 * them (`xtreamd epg unmapped`). The automatic mapping itself is
 * epg_automap() in epg.h. Threading: any thread with its own struct db.
 */
#ifndef XTREAMD_EPG_MAP_H
#define XTREAMD_EPG_MAP_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define EPG_CANDIDATES 5

struct epg_unmapped {
    int64_t stream_id;
    char *name;
    char *epg_id;                    /* the stream's id that has no guide, "" when none */
    char *candidate[EPG_CANDIDATES]; /* best first; NULL past the last */
    int score[EPG_CANDIDATES];       /* 0..100 */
};

int epg_unmapped(struct db *db, struct epg_unmapped **out, size_t *n);
/* One page (offset, at most limit rows) of the streams without a guide, in
 * the streams' order, with their candidates; *total counts them all. */
int epg_unmapped_page(struct db *db, int64_t offset, int64_t limit, struct epg_unmapped **out,
                      size_t *n, int64_t *total);
void epg_unmapped_free(struct epg_unmapped *u, size_t n);

/* The guide channels the imports hold (for choosing one by hand): one page,
 * ordered by channel id then source, of one source (source_id > 0) or all,
 * whose id or display name contains q (NULL: all); *total counts them all. */
struct epg_guide_channel {
    int64_t source_id;
    char *source_name;
    char *channel_id;
    char *display_name;
    char *icon;
    int64_t programmes;
};
int epg_guide_channel_page(struct db *db, int64_t source_id, const char *q, int64_t offset,
                           int64_t limit, struct epg_guide_channel **out, size_t *n,
                           int64_t *total);
void epg_guide_channels_free(struct epg_guide_channel *c, size_t n);

#endif
