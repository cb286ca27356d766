/*
 * domain/vod_paths: which local files may be published as movies and episodes.
 *
 * A local source must be a canonical path (realpath, so no symlink leads out)
 * under one of the library roots (db/library.h: the folders of `vod scan`,
 * `series scan`, the demo, and `xtreamd vod root add`), and never inside the
 * data directory, which holds the database and the admin token: only its
 * `media/` folder (the demo's clips) may be a library. Checked at import
 * (domain/import.c) and again at delivery (api/vod.c).
 * Pure functions; any thread.
 */
#ifndef XTREAMD_DOMAIN_VOD_PATHS_H
#define XTREAMD_DOMAIN_VOD_PATHS_H

#include <stdbool.h>
#include <stddef.h>

/* Whether canonical path real lies strictly inside canonical folder dir. */
bool dom_vod_path_under(const char *real, const char *dir);
/* NULL when canonical path real may be served, else why not ("outside the
 * library roots", "inside the data directory"). data_real may be NULL. */
const char *dom_vod_path_refusal(const char *real, char *const *roots, size_t nroots,
                                 const char *data_real);

#endif
