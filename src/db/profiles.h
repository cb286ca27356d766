/*
 * db/profiles: queries on transcode profiles (`transcode_profiles`,
 * migrations 1 and 9) and a stream's profile (streams.transcode_profile_id).
 *
 * Rows are struct tx_profile values (media/profile.h, which owns the rules:
 * callers validate before writing; the schema's CHECKs back the enumerations
 * up and surface as -EINVAL). Names are unique (-EEXIST); a missing profile
 * or stream is -ENOENT. Deleting a profile puts its streams back to copy
 * (ON DELETE SET NULL). Threading: like struct db, one thread at a time.
 */
#ifndef XTREAMD_DB_PROFILES_H
#define XTREAMD_DB_PROFILES_H

#include <stddef.h>
#include <stdint.h>

#include "media/profile.h"

struct db;

/* Inserts p and sets p->id, created_at, updated_at. */
int db_profile_insert(struct db *db, struct tx_profile *p);
/* Writes every column of profile p->id but created_at; updated_at = now. */
int db_profile_update(struct db *db, struct tx_profile *p);
int db_profile_get_id(struct db *db, int64_t id, struct tx_profile *out);
int db_profile_find(struct db *db, const char *name, int64_t *id);
int db_profile_delete_id(struct db *db, int64_t id);
/* Every profile by name; free(*out). */
int db_profile_list(struct db *db, struct tx_profile **out, size_t *n);
/* How many streams name profile id. */
int db_profile_stream_count(struct db *db, int64_t id, int64_t *count);
/* Sets stream stream_id's profile (0: none, the stream is copied). */
int db_stream_set_profile(struct db *db, int64_t stream_id, int64_t profile_id);

#endif
