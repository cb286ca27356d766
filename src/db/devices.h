/*
 * db/devices: the devices table (MAC-bound set-top boxes of a line, issue 13
 * item 7). Plain storage; the rules (MAC form, which line) are
 * domain/devices.c's. Any thread, one connection per thread.
 */
#ifndef XTREAMD_DB_DEVICES_H
#define XTREAMD_DB_DEVICES_H

#include <stddef.h>
#include <stdint.h>

struct db;

struct db_device {
    int64_t id;
    int64_t line_id;
    char username[256]; /* the line's */
    char mac[18];       /* "00:1A:79:00:00:01" */
    char model[64];
    char serial[64];
    int64_t last_seen; /* 0 = never */
    int64_t created_at;
};

/* Inserts a device; -EEXIST when the MAC is bound already, -EINVAL when the
 * line does not exist (foreign key). */
int db_device_insert(struct db *db, int64_t line_id, const char *mac, const char *model,
                     int64_t *id);
/* By id (-ENOENT when absent). */
int db_device_get(struct db *db, int64_t id, struct db_device *out);
/* By MAC (-ENOENT when absent). */
int db_device_get_mac(struct db *db, const char *mac, struct db_device *out);
/* Every device (line_id > 0: that line's), ordered by MAC; free(*out). */
int db_device_list(struct db *db, int64_t line_id, struct db_device **out, size_t *n);
/* The id of line `username` (-ENOENT when absent). */
int db_device_line_id(struct db *db, const char *username, int64_t *id);
/* -ENOENT when absent. */
int db_device_delete(struct db *db, int64_t id);

#endif
