#include "domain/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "db/backup.h"
#include "db/db.h"

#define MAGIC   "XDBACKUP"
#define IO_SIZE (64 * 1024)

/* ---- header ------------------------------------------------------------ */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void backup_header_encode(const struct backup_header *h, uint8_t out[BACKUP_HEADER_SIZE])
{
    memcpy(out, MAGIC, 8);
    put_u32(out + 8, h->version);
    put_u32(out + 12, h->codec);
    put_u64(out + 16, h->raw_size);
    put_u64(out + 24, h->payload_size);
    put_u64(out + 32, (uint64_t)h->created);
    memcpy(out + 40, h->checksum, 32);
}

int backup_header_parse(const uint8_t *p, size_t len, struct backup_header *h)
{
    memset(h, 0, sizeof(*h));
    if (len < BACKUP_HEADER_SIZE || memcmp(p, MAGIC, 8) != 0)
        return -EINVAL;
    h->version = get_u32(p + 8);
    h->codec = get_u32(p + 12);
    h->raw_size = get_u64(p + 16);
    h->payload_size = get_u64(p + 24);
    h->created = (int64_t)get_u64(p + 32);
    memcpy(h->checksum, p + 40, 32);
    if (h->version == 0)
        return -EINVAL;
    if (h->version > BACKUP_VERSION || h->codec != BACKUP_CODEC_ZLIB)
        return -EPROTONOSUPPORT;
    /* An SQLite file is at least one 512-byte page; a zlib stream of it is
     * never empty. */
    if (h->raw_size < 512 || h->raw_size > BACKUP_MAX_SIZE || h->payload_size == 0 ||
        h->payload_size > BACKUP_MAX_SIZE)
        return -EINVAL;
    return 0;
}

void backup_checksum(const struct backup_header *h, const uint8_t payload_sha[32], uint8_t out[32])
{
    uint8_t enc[BACKUP_HEADER_SIZE];
    crypto_hash_sha256_state st;
    backup_header_encode(h, enc);
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, enc, 40);
    crypto_hash_sha256_update(&st, payload_sha, 32);
    crypto_hash_sha256_final(&st, out);
}

/* ---- files ------------------------------------------------------------- */

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync of the folder holding path, so a rename into it survives a crash. */
static int sync_dir_of(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

static void fail_msg(char *err, size_t errlen, const char *what, const char *path, int rc)
{
    snprintf(err, errlen, "%s %s: %s", what, path, strerror(rc < 0 ? -rc : rc));
}

/* Compresses the snapshot in src into fd (after the header's room), hashing
 * the payload. */
static int compress_into(int in, int fd, uint64_t *raw, uint64_t *payload, uint8_t sha[32])
{
    z_stream z = {0};
    crypto_hash_sha256_state hs;
    uint8_t *ib = malloc(IO_SIZE), *ob = malloc(IO_SIZE);
    int rc = 0, zr = Z_OK;
    *raw = *payload = 0;
    if (!ib || !ob || deflateInit(&z, 6) != Z_OK) {
        free(ib);
        free(ob);
        return -ENOMEM;
    }
    crypto_hash_sha256_init(&hs);
    int flush = Z_NO_FLUSH;
    do {
        ssize_t n = read(in, ib, IO_SIZE);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        *raw += (uint64_t)n;
        flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
        z.next_in = ib;
        z.avail_in = (uInt)n;
        do {
            z.next_out = ob;
            z.avail_out = IO_SIZE;
            zr = deflate(&z, flush);
            size_t have = IO_SIZE - z.avail_out;
            if (have) {
                crypto_hash_sha256_update(&hs, ob, have);
                *payload += have;
                if ((rc = write_all(fd, ob, have)) != 0)
                    break;
            }
        } while (z.avail_out == 0 && rc == 0);
    } while (rc == 0 && flush != Z_FINISH);
    if (rc == 0 && zr != Z_STREAM_END)
        rc = -EIO;
    deflateEnd(&z);
    crypto_hash_sha256_final(&hs, sha);
    free(ib);
    free(ob);
    return rc;
}

int backup_create(const char *data_dir, const char *file, struct backup_info *info, char *err,
                  size_t errlen)
{
    char snap[4200], tmp[4200];
    int in = -1, fd = -1, rc;
    err[0] = '\0';
    if (db_location_is_pg(db_get_location())) {
        snprintf(err, errlen,
                 "the database is on PostgreSQL: back it up with pg_dump (this backup copies the "
                 "SQLite file of a data directory)");
        return -EOPNOTSUPP;
    }
    if (snprintf(snap, sizeof(snap), "%s.%d.snapshot", file, (int)getpid()) >= (int)sizeof(snap) ||
        snprintf(tmp, sizeof(tmp), "%s.%d.tmp", file, (int)getpid()) >= (int)sizeof(tmp)) {
        snprintf(err, errlen, "file name too long");
        return -ENAMETOOLONG;
    }
    unlink(snap);
    /* The output first: a missing or read-only target folder is named as
     * such, not as a failed database copy. */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = -errno;
        fail_msg(err, errlen, "cannot write", tmp, rc);
        return rc;
    }
    rc = db_backup_snapshot(data_dir, snap);
    if (rc) {
        if (rc == -ENOENT)
            snprintf(err, errlen, "no database in %s", data_dir);
        else
            snprintf(err, errlen, "cannot copy the database of %s (see the log): %s", data_dir,
                     strerror(-rc));
        goto out;
    }
    in = open(snap, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        rc = -errno;
        fail_msg(err, errlen, "cannot read", snap, rc);
        goto out;
    }
    uint8_t head[BACKUP_HEADER_SIZE] = {0}, psha[32];
    if ((rc = write_all(fd, head, sizeof(head))) != 0) {
        fail_msg(err, errlen, "cannot write", tmp, rc);
        goto out;
    }
    struct backup_header h = {
        .version = BACKUP_VERSION, .codec = BACKUP_CODEC_ZLIB, .created = (int64_t)time(NULL)};
    if ((rc = compress_into(in, fd, &h.raw_size, &h.payload_size, psha)) != 0) {
        fail_msg(err, errlen, "cannot write", tmp, rc);
        goto out;
    }
    backup_checksum(&h, psha, h.checksum);
    backup_header_encode(&h, head);
    if (pwrite(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) || fsync(fd) != 0) {
        rc = -errno;
        fail_msg(err, errlen, "cannot write", tmp, rc ? rc : -EIO);
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = -errno;
        fail_msg(err, errlen, "cannot write", tmp, rc);
        goto out;
    }
    fd = -1;
    if (rename(tmp, file) != 0) {
        rc = -errno;
        fail_msg(err, errlen, "cannot rename to", file, rc);
        goto out;
    }
    sync_dir_of(file);
    if (info) {
        info->raw_size = h.raw_size;
        info->payload_size = h.payload_size;
        info->created = h.created;
    }
out:
    if (in >= 0)
        close(in);
    if (fd >= 0)
        close(fd);
    unlink(snap);
    if (rc)
        unlink(tmp);
    return rc;
}

/* ---- verify and extract ------------------------------------------------ */

static int read_full(int fd, uint8_t *p, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = read(fd, p + *got, n - *got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

static int verify_file(int fd, const char *file, struct backup_header *h, char *err, size_t errlen)
{
    uint8_t head[BACKUP_HEADER_SIZE];
    size_t got;
    struct stat st;
    int rc = read_full(fd, head, sizeof(head), &got);
    if (rc) {
        fail_msg(err, errlen, "cannot read", file, rc);
        return rc;
    }
    rc = backup_header_parse(head, got, h);
    if (rc == -EPROTONOSUPPORT) {
        snprintf(err, errlen, "%s: backup format %u / codec %u is not supported by this xtreamd",
                 file, h->version, h->codec);
        return rc;
    }
    if (rc) {
        snprintf(err, errlen, "%s: not an xtreamd backup file (bad header)", file);
        return rc;
    }
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != BACKUP_HEADER_SIZE + h->payload_size) {
        snprintf(err, errlen, "%s: truncated or extended: the header says %llu payload bytes", file,
                 (unsigned long long)h->payload_size);
        return -EINVAL;
    }
    uint8_t *b = malloc(IO_SIZE), psha[32], sum[32];
    if (!b)
        return -ENOMEM;
    crypto_hash_sha256_state hs;
    crypto_hash_sha256_init(&hs);
    for (;;) {
        if ((rc = read_full(fd, b, IO_SIZE, &got)) != 0) {
            fail_msg(err, errlen, "cannot read", file, rc);
            free(b);
            return rc;
        }
        if (!got)
            break;
        crypto_hash_sha256_update(&hs, b, got);
    }
    free(b);
    crypto_hash_sha256_final(&hs, psha);
    backup_checksum(h, psha, sum);
    if (sodium_memcmp(sum, h->checksum, 32) != 0) {
        snprintf(err, errlen, "%s: checksum mismatch: the file is corrupt; nothing was restored",
                 file);
        return -EBADMSG;
    }
    return 0;
}

static int inflate_into(int in, int out, uint64_t raw_size)
{
    z_stream z = {0};
    uint8_t *ib = malloc(IO_SIZE), *ob = malloc(IO_SIZE);
    uint64_t total = 0;
    int rc = 0, zr = Z_OK;
    if (!ib || !ob || inflateInit(&z) != Z_OK) {
        free(ib);
        free(ob);
        return -ENOMEM;
    }
    while (rc == 0 && zr != Z_STREAM_END) {
        size_t got;
        if ((rc = read_full(in, ib, IO_SIZE, &got)) != 0)
            break;
        if (!got) {
            rc = -EBADMSG; /* the stream ends before its end marker */
            break;
        }
        z.next_in = ib;
        z.avail_in = (uInt)got;
        while (z.avail_in && zr != Z_STREAM_END && rc == 0) {
            z.next_out = ob;
            z.avail_out = IO_SIZE;
            zr = inflate(&z, Z_NO_FLUSH);
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
                rc = -EBADMSG;
                break;
            }
            size_t have = IO_SIZE - z.avail_out;
            total += have;
            if (total > raw_size) {
                rc = -EBADMSG; /* more than the header promised: bounded */
                break;
            }
            rc = write_all(out, ob, have);
        }
    }
    if (rc == 0 && total != raw_size)
        rc = -EBADMSG;
    inflateEnd(&z);
    free(ib);
    free(ob);
    return rc;
}

int backup_extract(const char *file, const char *db_path, struct backup_info *info, char *err,
                   size_t errlen)
{
    struct backup_header h;
    int in = open(file, O_RDONLY | O_CLOEXEC), out = -1, rc;
    err[0] = '\0';
    if (in < 0) {
        rc = -errno;
        fail_msg(err, errlen, "cannot open", file, rc);
        return rc;
    }
    if ((rc = verify_file(in, file, &h, err, errlen)) != 0)
        goto out;
    if (lseek(in, BACKUP_HEADER_SIZE, SEEK_SET) < 0) {
        rc = -errno;
        goto out;
    }
    out = open(db_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out < 0) {
        rc = -errno;
        fail_msg(err, errlen, "cannot create", db_path, rc);
        goto out;
    }
    rc = inflate_into(in, out, h.raw_size);
    if (rc == -EBADMSG)
        snprintf(err, errlen, "%s: the compressed database does not decompress to %llu bytes", file,
                 (unsigned long long)h.raw_size);
    else if (rc)
        fail_msg(err, errlen, "cannot write", db_path, rc);
    if (rc == 0 && fsync(out) != 0) {
        rc = -errno;
        fail_msg(err, errlen, "cannot write", db_path, rc);
    }
    close(out);
    out = -1;
    if (rc == 0) {
        char why[512];
        if ((rc = db_file_check(db_path, why, sizeof(why))) != 0)
            snprintf(err, errlen, "%s: the database in it is unusable: %s", file, why);
    }
    if (rc == 0 && info) {
        info->raw_size = h.raw_size;
        info->payload_size = h.payload_size;
        info->created = h.created;
    }
out:
    close(in);
    if (rc) {
        char side[4200];
        unlink(db_path);
        snprintf(side, sizeof(side), "%s-wal", db_path);
        unlink(side);
        snprintf(side, sizeof(side), "%s-shm", db_path);
        unlink(side);
    }
    return rc;
}

/* ---- restore ----------------------------------------------------------- */

static void utc_stamp(int64_t t, char *out, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, len, "%Y%m%dT%H%M%SZ", &tm);
}

int backup_restore(const char *data_dir, const char *file, backup_busy_fn *busy, void *ud,
                   char *side, size_t sidelen, char *err, size_t errlen)
{
    char tmp[4200], cur[4200], extra[4300], why[256];
    int rc;
    side[0] = err[0] = '\0';
    if (db_location_is_pg(db_get_location())) {
        snprintf(err, errlen, "the database is on PostgreSQL: restore it with pg_restore or psql");
        return -EOPNOTSUPP;
    }
    snprintf(cur, sizeof(cur), "%s/xtreamd.db", data_dir);
    if (snprintf(tmp, sizeof(tmp), "%s/xtreamd.db.restore-%d", data_dir, (int)getpid()) >=
        (int)sizeof(tmp)) {
        snprintf(err, errlen, "data folder name too long");
        return -ENAMETOOLONG;
    }
    if (busy && busy(ud, data_dir, why, sizeof(why))) {
        snprintf(err, errlen, "%s; stop it first (nothing was restored)", why);
        return -EBUSY;
    }
    struct stat st;
    if (stat(data_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "no data folder %s", data_dir);
        return -ENOENT;
    }
    unlink(tmp);
    if ((rc = backup_extract(file, tmp, NULL, err, errlen)) != 0)
        return rc;
    /* Checked again right before the swap: a server started meanwhile. */
    if (busy && busy(ud, data_dir, why, sizeof(why))) {
        snprintf(err, errlen, "%s; stop it first (nothing was restored)", why);
        rc = -EBUSY;
        goto fail;
    }
    if (access(cur, F_OK) == 0) {
        /* The WAL holds committed transactions the main file lacks: fold it
         * in, so the side copy is the whole previous database and no stale
         * WAL is left to be replayed onto the restored file. */
        if ((rc = db_checkpoint_truncate(data_dir)) != 0) {
            snprintf(err, errlen,
                     "cannot checkpoint the current database %s (nothing was restored)", cur);
            goto fail;
        }
        char stamp[32];
        utc_stamp((int64_t)time(NULL), stamp, sizeof(stamp));
        snprintf(side, sidelen, "%s/xtreamd.db.pre-restore-%s", data_dir, stamp);
        int lr = link(cur, side);
        if (lr != 0 && errno == EEXIST) { /* two restores within a second */
            snprintf(side, sidelen, "%s/xtreamd.db.pre-restore-%s-%d", data_dir, stamp,
                     (int)getpid());
            lr = link(cur, side);
        }
        if (lr != 0) {
            rc = -errno;
            fail_msg(err, errlen, "cannot keep the current database as", side, rc);
            side[0] = '\0';
            goto fail;
        }
        snprintf(extra, sizeof(extra), "%s-wal", cur);
        unlink(extra);
        snprintf(extra, sizeof(extra), "%s-shm", cur);
        unlink(extra);
    }
    if (rename(tmp, cur) != 0) {
        rc = -errno;
        fail_msg(err, errlen, "cannot rename into", cur, rc);
        goto fail;
    }
    sync_dir_of(cur);
    return 0;
fail:
    unlink(tmp);
    return rc;
}

/* ---- scheduled: names and retention ------------------------------------ */

int backup_auto_name(int64_t t, char *out, size_t len)
{
    char stamp[32];
    utc_stamp(t, stamp, sizeof(stamp));
    int n = snprintf(out, len, "xtreamd-%s.xbak", stamp);
    return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

static int is_auto_name(const char *n)
{
    /* xtreamd-YYYYMMDDTHHMMSSZ.xbak */
    size_t len = strlen(n);
    return len == 29 && strncmp(n, "xtreamd-", 8) == 0 && strcmp(n + 24, ".xbak") == 0 &&
           n[16] == 'T' && n[23] == 'Z';
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int backup_prune(const char *dir, unsigned keep, unsigned *removed)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    *removed = 0;
    if (!d)
        return -errno;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_auto_name(e->d_name))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nn = realloc(names, nc * sizeof(*nn));
            if (!nn) {
                rc = -ENOMEM;
                goto out;
            }
            names = nn;
            cap = nc;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -ENOMEM;
            goto out;
        }
        n++;
    }
    /* The names sort by time (fixed-width UTC stamps): oldest first. */
    if (n > keep) {
        qsort(names, n, sizeof(*names), cmp_names);
        for (size_t i = 0; i < n - keep; i++) {
            char path[4200];
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            if (unlink(path) == 0)
                (*removed)++;
            else if (rc == 0)
                rc = -errno;
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}
