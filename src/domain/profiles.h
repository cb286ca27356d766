/*
 * domain/profiles: the transcode-profile service — the admin API's and the
 * CLI's way to profiles. The rules themselves are media/profile.c's
 * (tx_profile_validate); this layer turns them into field-named domain
 * errors, decodes JSON bodies (a create, or a JSON Merge Patch onto the
 * stored profile), keeps names unique (409) and writes the JSON form.
 * Errors: domain/error.h, fields named as in the JSON. Threading: one thread
 * per struct db.
 */
#ifndef XTREAMD_DOMAIN_PROFILES_H
#define XTREAMD_DOMAIN_PROFILES_H

#include <stddef.h>
#include <stdint.h>

#include "core/jsonw.h"
#include "domain/error.h"
#include "media/profile.h"

struct db;

/* Applies the members of a JSON object (body, len) onto *p: on a create p
 * starts from tx_profile_init(); on a patch, from the stored profile. An
 * unknown member, a wrong type or a broken rule is a 422 naming the field. */
int dom_profile_apply_json(const char *body, size_t len, struct tx_profile *p, struct dom_error *e);
int dom_profile_create(struct db *db, struct tx_profile *p, struct dom_error *e);
int dom_profile_update(struct db *db, struct tx_profile *p, struct dom_error *e);
int dom_profile_get(struct db *db, int64_t id, struct tx_profile *p, struct dom_error *e);
int dom_profile_delete(struct db *db, int64_t id, struct dom_error *e);
/* Every profile by name; free(*out). */
int dom_profile_list(struct db *db, struct tx_profile **out, size_t *n, struct dom_error *e);
/* id, name, video_codec, hw_backend, rate_control, bitrate_kbps,
 * maxrate_kbps, bufsize_kbps, gop_seconds, width, height, fps, deinterlace,
 * audio_codec, audio_bitrate_kbps, audio_channels, logo, logo_position,
 * extra_args, renditions ([{width, height, bitrate_kbps, maxrate_kbps}], top
 * first; [] when not a ladder), created_at, updated_at (RFC 3339). */
void dom_profile_write_json(struct jsonw *w, const struct tx_profile *p);

#endif
