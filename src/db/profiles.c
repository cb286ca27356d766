#include "db/profiles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_priv.h"

#define COLS                                                                                       \
    "id, name, video_codec, hw_backend, rate_control, video_bitrate_kbps, maxrate_kbps,"           \
    " bufsize_kbps, gop_seconds, width, height, fps, deinterlace, audio_codec,"                    \
    " audio_bitrate_kbps, audio_channels, logo, logo_position, extra_args, created_at,"            \
    " updated_at, renditions"

static void text_col(struct db_stmt *st, int i, char *dst, size_t len)
{
    snprintf(dst, len, "%s", db_col_text(st, i));
}

static int profile_row(void *ctx, struct db_stmt *st, void *row)
{
    (void)ctx;
    struct tx_profile *p = row;
    p->id = db_col_int64(st, 0);
    text_col(st, 1, p->name, sizeof(p->name));
    text_col(st, 2, p->video_codec, sizeof(p->video_codec));
    if (tx_hw_parse(db_col_text(st, 3), &p->hw) < 0)
        p->hw = TX_HW_NONE;
    if (tx_rc_parse(db_col_text(st, 4), &p->rc) < 0)
        p->rc = TX_RC_VBR;
    p->bitrate_kbps = db_col_int(st, 5);
    p->maxrate_kbps = db_col_int(st, 6);
    p->bufsize_kbps = db_col_int(st, 7);
    p->gop_seconds = db_col_int(st, 8);
    p->width = db_col_int(st, 9);
    p->height = db_col_int(st, 10);
    p->fps = db_col_int(st, 11);
    p->deinterlace = db_col_int(st, 12) != 0;
    text_col(st, 13, p->audio_codec, sizeof(p->audio_codec));
    p->audio_bitrate_kbps = db_col_int(st, 14);
    p->audio_channels = db_col_int(st, 15);
    text_col(st, 16, p->logo, sizeof(p->logo));
    if (tx_pos_parse(db_col_text(st, 17), &p->logo_position) < 0)
        p->logo_position = TX_POS_TR;
    text_col(st, 18, p->extra_args, sizeof(p->extra_args));
    p->created_at = db_col_int64(st, 19);
    p->updated_at = db_col_int64(st, 20);
    /* written validated: a column edited by hand into nonsense is no ladder
     * (tx_profile_validate then refuses the profile at render time) */
    if (tx_renditions_parse(db_col_text(st, 21), p, NULL) < 0)
        p->nrenditions = 0;
    return 0;
}

static void bind_fields(struct db_stmt *st, const struct tx_profile *p)
{
    db_bind_text(st, 1, p->name);
    db_bind_text(st, 2, p->video_codec);
    db_bind_text(st, 3, tx_hw_name(p->hw));
    db_bind_text(st, 4, tx_rc_name(p->rc));
    db_bind_int(st, 5, p->bitrate_kbps);
    db_bind_int(st, 6, p->maxrate_kbps);
    db_bind_int(st, 7, p->bufsize_kbps);
    db_bind_int(st, 8, p->gop_seconds);
    db_bind_int(st, 9, p->width);
    db_bind_int(st, 10, p->height);
    db_bind_int(st, 11, p->fps);
    db_bind_int(st, 12, p->deinterlace ? 1 : 0);
    db_bind_text(st, 13, p->audio_codec);
    db_bind_int(st, 14, p->audio_bitrate_kbps);
    db_bind_int(st, 15, p->audio_channels);
    db_bind_text(st, 16, p->logo);
    db_bind_text(st, 17, tx_pos_name(p->logo_position));
    db_bind_text(st, 18, p->extra_args);
    db_bind_int64(st, 19, p->updated_at);
    /* copied: the text lives on this stack frame only */
    char rend[256];
    if (tx_renditions_format(p, rend, sizeof(rend)) < 0)
        rend[0] = '\0';
    db_bind_text_copy(st, 21, rend);
}

int db_profile_insert(struct db *db, struct tx_profile *p)
{
    struct db_stmt *st;
    int rc = db_prepare(db,
                        "INSERT INTO transcode_profiles (name, video_codec, hw_backend,"
                        " rate_control, video_bitrate_kbps, maxrate_kbps, bufsize_kbps,"
                        " gop_seconds, width, height, fps, deinterlace, audio_codec,"
                        " audio_bitrate_kbps, audio_channels, logo, logo_position, extra_args,"
                        " updated_at, created_at, renditions)"
                        " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
                        "?18,?19,?19,?21)",
                        &st);
    if (rc)
        return rc;
    p->created_at = p->updated_at = db_now();
    bind_fields(st, p);
    rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return db_step_error(db, rc, "profiles");
    p->id = db_last_insert_id(db);
    return 0;
}

int db_profile_update(struct db *db, struct tx_profile *p)
{
    struct db_stmt *st;
    int rc = db_prepare(db,
                        "UPDATE transcode_profiles SET name = ?1, video_codec = ?2,"
                        " hw_backend = ?3, rate_control = ?4, video_bitrate_kbps = ?5,"
                        " maxrate_kbps = ?6, bufsize_kbps = ?7, gop_seconds = ?8, width = ?9,"
                        " height = ?10, fps = ?11, deinterlace = ?12, audio_codec = ?13,"
                        " audio_bitrate_kbps = ?14, audio_channels = ?15, logo = ?16,"
                        " logo_position = ?17, extra_args = ?18, updated_at = ?19,"
                        " renditions = ?21 WHERE id = ?20",
                        &st);
    if (rc)
        return rc;
    p->updated_at = db_now();
    bind_fields(st, p);
    db_bind_int64(st, 20, p->id);
    rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return db_step_error(db, rc, "profiles");
    return db_changes(db) ? 0 : -ENOENT;
}

int db_profile_get_id(struct db *db, int64_t id, struct tx_profile *out)
{
    struct db_stmt *st;
    int rc = db_prepare(db, "SELECT " COLS " FROM transcode_profiles WHERE id = ?1", &st);
    if (rc)
        return rc;
    db_bind_int64(st, 1, id);
    rc = db_step(st);
    if (rc == DB_ROW) {
        memset(out, 0, sizeof(*out));
        profile_row(NULL, st, out);
        rc = 0;
    } else {
        rc = rc == DB_DONE ? -ENOENT : db_step_error(db, rc, "profiles");
    }
    db_finalize(st);
    return rc;
}

int db_profile_find(struct db *db, const char *name, int64_t *id)
{
    struct db_stmt *st;
    int rc = db_prepare(db, "SELECT id FROM transcode_profiles WHERE name = ?1", &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, name);
    rc = db_step_id(db, st, "profiles", id);
    db_finalize(st);
    return rc;
}

int db_profile_delete_id(struct db *db, int64_t id)
{
    struct db_stmt *st;
    int rc = db_prepare(db, "DELETE FROM transcode_profiles WHERE id = ?1", &st);
    if (rc)
        return rc;
    db_bind_int64(st, 1, id);
    rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return db_step_error(db, rc, "profiles");
    return db_changes(db) ? 0 : -ENOENT;
}

int db_profile_list(struct db *db, struct tx_profile **out, size_t *n)
{
    struct db_stmt *st;
    *out = NULL;
    *n = 0;
    int rc = db_prepare(db, "SELECT " COLS " FROM transcode_profiles ORDER BY name", &st);
    if (rc)
        return rc;
    void *rows = NULL;
    rc =
        db_step_rows(db, st, "profiles", sizeof(struct tx_profile), 8, profile_row, NULL, &rows, n);
    db_finalize(st);
    if (rc) {
        free(rows);
        *n = 0;
        return rc;
    }
    *out = rows;
    return 0;
}

int db_profile_stream_count(struct db *db, int64_t id, int64_t *count)
{
    struct db_stmt *st;
    int rc = db_prepare(db, "SELECT count(*) FROM streams WHERE transcode_profile_id = ?1", &st);
    if (rc)
        return rc;
    db_bind_int64(st, 1, id);
    rc = db_step_id(db, st, "profiles", count);
    db_finalize(st);
    return rc;
}

int db_stream_set_profile(struct db *db, int64_t stream_id, int64_t profile_id)
{
    struct db_stmt *st;
    int rc = db_prepare(db, "UPDATE streams SET transcode_profile_id = ?1 WHERE id = ?2", &st);
    if (rc)
        return rc;
    if (profile_id)
        db_bind_int64(st, 1, profile_id);
    else
        db_bind_null(st, 1);
    db_bind_int64(st, 2, stream_id);
    rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE)
        return db_step_error(db, rc, "profiles");
    return db_changes(db) ? 0 : -ENOENT;
}
