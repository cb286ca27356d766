/*
 * auth: line authentication against a catalogue snapshot and account states.
 * The per-IP failed-login brake is auth/throttle.h.
 *
 * Owns nothing. Any thread (reads an immutable snapshot).
 */
#ifndef XTREAMD_AUTH_AUTH_H
#define XTREAMD_AUTH_AUTH_H

#include <stdint.h>

#include "catalog/catalog.h"

enum auth_status {
    AUTH_OK,
    AUTH_INVALID, /* missing or wrong username/password */
    AUTH_EXPIRED,
    AUTH_DISABLED,
    AUTH_BANNED,
};

/* The state of line by domain/line_state.h (the one rule; banned > disabled
 * > expired > active) as an auth status. */
enum auth_status auth_line_status(const struct cat_line *line, int64_t now);
/* The pseudo-line of the panel's previews (api/preview.c): no line has id 0
 * (ids start at 1). Its connections are an admin's, not a subscriber's. */
#define AUTH_PREVIEW_LINE_ID 0
/* Whether a connection opened by line (username, line_id) may go on in
 * snapshot c: the line still exists as the same line and is active (always,
 * for a preview: its grant was checked when it started). */
bool auth_line_still_active(const struct catalog *c, const char *username, int64_t line_id,
                            int64_t now);
/* "Active", "Expired", "Disabled", "Banned" (AUTH_INVALID -> "Invalid"). */
const char *auth_status_name(enum auth_status st);

/* The portal's stateless tokens: HMAC-SHA256 under a key drawn once per
 * process (a restart makes boxes handshake again), cut to AUTH_TAG_LEN
 * bytes. Here rather than in the portal because the stream routes check one
 * of them (below). Loop thread only (the key is drawn lazily). */
#define AUTH_TAG_LEN 16
void auth_portal_tag(const void *msg, size_t len, unsigned char out[AUTH_TAG_LEN]);
/* The play_token of a catch-up link the portal hands a MAG line (whose
 * credentials are refused outside the portal): 16 hex digits of the expiry
 * and the hex tag of ("T", line id, the link's raw path, expiry). out: at
 * least AUTH_PLAY_TOKEN_LEN + 1 bytes. */
#define AUTH_PLAY_TOKEN_LEN (16 + 2 * AUTH_TAG_LEN)
void auth_play_token(int64_t line_id, const char *path, int64_t expires, char *out);
/* Whether token is genuine for line and path and not expired at now. */
bool auth_play_token_ok(int64_t line_id, const char *path, const char *token, int64_t now);

/* Finds the line and checks the password (case-sensitive, constant time for
 * equal lengths). NULL when either is missing or wrong. */
const struct cat_line *auth_check(const struct catalog *c, const char *username,
                                  const char *password);

#endif
