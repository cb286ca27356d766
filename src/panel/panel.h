/*
 * panel: serves the web panel's built files (web/dist: index.html and the
 * hashed files of assets/) through the server's one route table.
 *
 * Routes (panel_routes): GET/HEAD "/" for a browser (the request's Accept
 * names text/html) answers index.html; anything else asking for "/" (a
 * player, curl, a health check) still gets the client API's version text,
 * because the panel's group is added before the client group and its "/"
 * route declines requests that do not accept HTML. GET/HEAD
 * "/assets/{file}" answers one built file. No other path is the panel's: the
 * client API and the admin API keep every path they have, and the panel's
 * router is the hash of the URL (#/lines), which never reaches the server.
 *
 * Files: a name is one path segment of [A-Za-z0-9._-] that does not start
 * with '.', so no request can leave the web root (no "..", no '/', no hidden
 * files). index.html is sent with Cache-Control: no-cache (a rebuilt panel
 * is picked up at the next load), assets/ files with "public,
 * max-age=31536000, immutable" (their names carry a content hash). Every
 * answer has an ETag (size and modification time) and honours
 * If-None-Match with 304. Compressible types (html, js, css, svg, json) are
 * sent gzip when the client accepts it and the gzip variant is smaller.
 *
 * Cache: a file is read and compressed once, then kept in memory (at most
 * PANEL_CACHE_FILES files and PANEL_CACHE_BYTES bytes, identity + gzip) until
 * a stat on a later request shows it changed (rebuilt), so a rebuild needs no
 * restart. The read happens on the loop thread: the files are small (the
 * whole panel is a few MB) and read once per build. A file above
 * PANEL_MAX_FILE is refused (500, counted).
 *
 * A web root without index.html answers the browser's "/" with a 404 page
 * telling the operator how to build the panel; the server runs on.
 *
 * Counters on /metrics (panel_metrics): xtreamd_panel_requests_total by
 * result (ok, not_modified, not_found, error), xtreamd_panel_cache_evictions_total.
 * Threading: loop thread only.
 */
#ifndef XTREAMD_PANEL_PANEL_H
#define XTREAMD_PANEL_PANEL_H

#include <stddef.h>

#include "core/buf.h"
#include "http/router.h"

#define PANEL_CACHE_FILES 256
#define PANEL_CACHE_BYTES (64u << 20)
#define PANEL_MAX_FILE    (16u << 20)

struct panel;

/* root: the folder of the built panel (copied; it may not exist yet). */
int panel_new(const char *root, struct panel **out);
void panel_free(struct panel *p);
const char *panel_root(const struct panel *p);
/* The route group to add before the client group. Its fallback and options
 * call the client group's (client is copied) with the client's context, so
 * every path the panel does not take is answered exactly as before. */
void panel_routes(struct panel *p, const struct route_group *client, struct route_group *out);
void panel_metrics(const struct panel *p, struct buf *out);

/* The default web root when none is configured: exe_dir/../web/dist (a source
 * tree's build folder: build/ or build-asan/) if it has an index.html, else
 * the packaged PANEL_SYSTEM_ROOT. Into out; -ENAMETOOLONG. */
#define PANEL_SYSTEM_ROOT "/usr/share/xtreamd/web"
int panel_default_root(const char *exe_path, char *out, size_t outsz);

#endif
