/*
 * guide: the EPG read model — every programme of the guide channels the
 * catalogue's streams are mapped to (from each channel's best source, sorted
 * by start), in memory, so that get_short_epg, get_simple_data_table,
 * get_epg and xmltv.php never read SQLite on the loop thread.
 *
 * Built by the catalogue loader (db/catalog_load.c) on a worker thread, in
 * the same read transaction as the snapshot it belongs to, and published
 * with it (catalog_guide()). A guide is immutable once built; a new snapshot
 * reuses the previous one when the EPG stamp (every source's id, priority,
 * enabled flag and import generation) and the set of mapped channel ids are
 * unchanged, so a catalogue change that does not touch the guide costs no
 * reload. Refcounted atomically: a worker takes a reference while the loop
 * may drop the old snapshot.
 */
#ifndef XTREAMD_CATALOG_GUIDE_H
#define XTREAMD_CATALOG_GUIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cat_programme {
    int64_t id, start, stop;
    const char *title, *sub_title, *desc, *category, *episode_num, *icon, *lang, *rating;
};

struct cat_guide_channel {
    const char *channel_id;
    bool found;                        /* some enabled source has programmes for it */
    int64_t source_id;                 /* the best one */
    const struct cat_programme *progs; /* ascending by start (unique per channel) */
    size_t count;
};

struct cat_guide;

struct cat_guide *cat_guide_ref(struct cat_guide *g);
void cat_guide_unref(struct cat_guide *g);
/* The channel's guide, NULL when no source has programmes for it (or g is NULL). */
const struct cat_guide_channel *cat_guide_find(const struct cat_guide *g, const char *channel_id);
/* Index of the channel's first programme with start >= t (count if none). */
size_t cat_guide_first_from(const struct cat_guide_channel *ch, int64_t t);
const char *cat_guide_stamp(const struct cat_guide *g);
size_t cat_guide_channel_count(const struct cat_guide *g);
size_t cat_guide_programme_count(const struct cat_guide *g);
/* Every requested channel id (found or not) is in g. */
bool cat_guide_has_channel(const struct cat_guide *g, const char *channel_id);

/* ---- building (db/catalog_load.c) ---- */
int cat_guide_new(const char *stamp, size_t max_channels, struct cat_guide **out);
/* A copy of s in the guide's arena ("" for NULL); NULL on ENOMEM. */
const char *cat_guide_strdup(struct cat_guide *g, const char *s);
/* Adds a channel; progs (malloc'd, sorted by start) is owned by g from here on,
 * even on error. found = false: a mapped id without programmes. -ENOSPC past
 * max_channels, -EEXIST for an id added twice. */
int cat_guide_add(struct cat_guide *g, const char *channel_id, bool found, int64_t source_id,
                  struct cat_programme *progs, size_t count);

#endif
