/*
 * portal: the Stalker/MAG portal subset (issue 13 item 7; shared/docs
 * wave2-research.md §E, xtream-api.md §8). A box configured with
 * http://HOST:PORT/c/ loads our own minimal page there and calls the JSON API
 * at /portal.php (aliases /server/load.php, /stalker_portal/server/load.php,
 * /c/portal.php, /stalker_portal/c/portal.php) with `type` and `action`.
 * The box is identified by its MAC (cookie `mac`, or the query), bound to a
 * line by `xtreamd device add` (domain/devices.c); the line is then
 * authenticated like any other (api_authenticate: access rules, bans, state).
 *
 * Tokens are stateless (HMAC-SHA256 with a key drawn at start, so a restart
 * invalidates them and boxes handshake again): the bearer token of a MAC, and
 * the play token of create_link (/play/TOKEN: kind, MAC, item, expiry; valid
 * PORTAL_PLAY_TTL seconds; never the password). Loop thread only.
 */
#ifndef XTREAMD_PORTAL_PORTAL_H
#define XTREAMD_PORTAL_PORTAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api_priv.h"

#define PORTAL_PLAY_TTL 60 /* seconds a create_link URL may be opened */

/* /portal.php and its aliases: the JSON API ({"js": ...}). */
void api_portal(struct api_req *r);
/* /c/ and /stalker_portal/c/: the page the box loads (our own HTML/JS). */
void api_portal_page(struct api_req *r);
/* /play/TOKEN: a create_link URL; delivers like the stream routes. */
void api_portal_play(struct api_req *r, const char *token);

/* The entry points serve hands to the api (api_config.portal). */
extern const struct api_portal_ops portal_api_ops;

/* ---- pure helpers (tests/fuzz/fuzz_portal.c) ---- */

/* The `mac` cookie of a Cookie header (percent-decoded, normalised), or
 * false. */
bool portal_cookie_mac(const char *cookie, char out[18]);
/* The item id a create_link `cmd` names: "ffmpeg http://localhost/ch/12_",
 * "http://.../ch/12", "12", or the base64 JSON {"stream_id":N} / {"series_id":
 * N,"season_num":S} of VOD and series (*season set, else -1). -1 if none. */
int64_t portal_cmd_id(const char *cmd, int *season);

#endif
