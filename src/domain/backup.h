/*
 * domain/backup: the backup file format and the backup / restore / prune
 * services behind `xtreamd backup`, `xtreamd restore` and the server's
 * scheduled backups.
 *
 * A backup file is a 72-byte header followed by the zlib-compressed SQLite
 * snapshot (db/backup.h). Header, all integers little-endian:
 *
 *   0  magic "XDBACKUP"        8 bytes
 *   8  format version (1)      u32
 *  12  codec (1 = zlib)        u32
 *  16  raw size (database)     u64
 *  24  payload size            u64   (file size = 72 + payload size)
 *  32  created (Unix seconds)  i64
 *  40  checksum                32 bytes: SHA-256( bytes 0..39 || SHA-256(payload) )
 *
 * The checksum covers the header fields and the payload, so any flipped byte
 * of the file is caught before anything is decompressed or replaced.
 * Files are written to a temporary name in the target folder, fsynced and
 * renamed: a crash never leaves a half file under the final name.
 * Threading: any thread (the server runs backup_create on the thread pool).
 */
#ifndef XTREAMD_DOMAIN_BACKUP_H
#define XTREAMD_DOMAIN_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#define BACKUP_HEADER_SIZE 72
#define BACKUP_VERSION     1
#define BACKUP_CODEC_ZLIB  1
/* Bounds a header may state: a database or payload above 1 TiB is refused. */
#define BACKUP_MAX_SIZE (1ULL << 40)

struct backup_header {
    uint32_t version;
    uint32_t codec;
    uint64_t raw_size;
    uint64_t payload_size;
    int64_t created;
    uint8_t checksum[32];
};

/* Parses and validates a header (magic, version, codec, sizes within
 * BACKUP_MAX_SIZE, a non-empty payload). 0, -EINVAL (not a backup file, or
 * len < BACKUP_HEADER_SIZE), -EPROTONOSUPPORT (a newer version or unknown
 * codec). */
int backup_header_parse(const uint8_t *p, size_t len, struct backup_header *h);
void backup_header_encode(const struct backup_header *h, uint8_t out[BACKUP_HEADER_SIZE]);
/* The checksum of a header's fields (bytes 0..39 of the encoding) and the
 * SHA-256 of the payload. */
void backup_checksum(const struct backup_header *h, const uint8_t payload_sha[32], uint8_t out[32]);

struct backup_info {
    uint64_t raw_size, payload_size;
    int64_t created;
};

/* Writes a backup of <data_dir>/xtreamd.db to file (replaced atomically when
 * it exists). 0 or -errno with a sentence in err. */
int backup_create(const char *data_dir, const char *file, struct backup_info *info, char *err,
                  size_t errlen);

/* Verifies file (header, size, checksum) and decompresses it into db_path
 * (which must not exist), then checks it (db_file_check). On failure db_path
 * does not exist afterwards. 0 or -errno with a sentence in err. */
int backup_extract(const char *file, const char *db_path, struct backup_info *info, char *err,
                   size_t errlen);

/* Returns non-zero (and a sentence in why) when a server runs on data_dir. */
typedef int backup_busy_fn(void *ud, const char *data_dir, char *why, size_t whylen);

/* Restores file into data_dir: extract and check into a temporary file in
 * data_dir first; then, unless busy() says a server runs, fold the current
 * database's WAL into it, keep it as a hard link <data>/xtreamd.db.pre-restore-
 * <UTC time> (named in side), and rename the new file over xtreamd.db (atomic).
 * Nothing is replaced when any step before the rename fails. */
int backup_restore(const char *data_dir, const char *file, backup_busy_fn *busy, void *ud,
                   char *side, size_t sidelen, char *err, size_t errlen);

/* Scheduled backups: the file name for time t (xtreamd-YYYYMMDDTHHMMSSZ.xbak). */
int backup_auto_name(int64_t t, char *out, size_t len);
/* Deletes the oldest xtreamd-*.xbak files of dir beyond the newest keep;
 * *removed counts them. Other files are never touched. 0 or -errno. */
int backup_prune(const char *dir, unsigned keep, unsigned *removed);

#endif
