/*
 * domain/xui_path: the rule of the setting xui_api_path, the secret path of
 * the XUI-compatible API shim (src/xui/, docs/admin-api.md "XUI-compatible
 * API").
 *
 * "" = the shim is off (the default). Otherwise an absolute path of 1 to
 * DOM_XUI_PATH_SEGMENTS segments of path-safe characters [A-Za-z0-9._~-],
 * DOM_XUI_PATH_MIN..DOM_XUI_PATH_MAX bytes long (the length is the secret:
 * the path is the first key a caller must know), without "." or ".."
 * segments, empty segments or a trailing slash, that cannot shadow a client
 * API path: its first segment is none of the client routes' first segments
 * (live, movie, player_api.php, api ...) and a three-segment path may not end
 * in a segment starting with a digit (the short live form /U/P/123.ts).
 * Threading: none (pure).
 */
#ifndef XTREAMD_DOMAIN_XUI_PATH_H
#define XTREAMD_DOMAIN_XUI_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/error.h"

#define DOM_XUI_PATH_MIN      16
#define DOM_XUI_PATH_MAX      128
#define DOM_XUI_PATH_SEGMENTS 4

/* 0, or -EINVAL with a field error on field ("format", "too_short",
 * "too_long", "reserved"). "" is valid (off). */
int dom_xui_path_check(const char *field, const char *s, struct dom_error *e);

#endif
