/*
 * Unit tests of the backup file format and services (domain/backup.h,
 * db/backup.h): header encoding and every rejection, a backup/extract round
 * trip of a real database, checksum and size failures, restore with its side
 * copy and the busy refusal, and retention.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"
#include "db/lines.h"
#include "domain/backup.h"

static struct backup_header sample(void)
{
    struct backup_header h = {.version = BACKUP_VERSION,
                              .codec = BACKUP_CODEC_ZLIB,
                              .raw_size = 4096,
                              .payload_size = 1234,
                              .created = 1800000000};
    for (int i = 0; i < 32; i++)
        h.checksum[i] = (uint8_t)i;
    return h;
}

static void test_header_round_trip(void **state)
{
    (void)state;
    struct backup_header h = sample(), back;
    uint8_t enc[BACKUP_HEADER_SIZE];
    backup_header_encode(&h, enc);
    assert_memory_equal(enc, "XDBACKUP", 8);
    assert_int_equal(enc[8], 1); /* little-endian version */
    assert_int_equal(enc[16], 0x00);
    assert_int_equal(enc[17], 0x10); /* 4096 */
    assert_int_equal(backup_header_parse(enc, sizeof(enc), &back), 0);
    assert_int_equal(back.version, h.version);
    assert_int_equal(back.codec, h.codec);
    assert_int_equal(back.raw_size, h.raw_size);
    assert_int_equal(back.payload_size, h.payload_size);
    assert_int_equal(back.created, h.created);
    assert_memory_equal(back.checksum, h.checksum, 32);
    /* The checksum covers the fields: changing one changes it. */
    uint8_t psha[32] = {0}, s1[32], s2[32];
    backup_checksum(&h, psha, s1);
    h.raw_size++;
    backup_checksum(&h, psha, s2);
    assert_memory_not_equal(s1, s2, 32);
}

static void test_header_rejections(void **state)
{
    (void)state;
    struct backup_header h = sample(), out;
    uint8_t enc[BACKUP_HEADER_SIZE];
    backup_header_encode(&h, enc);
    assert_int_equal(backup_header_parse(enc, BACKUP_HEADER_SIZE - 1, &out), -EINVAL);
    assert_int_equal(backup_header_parse(enc, 0, &out), -EINVAL);
    uint8_t bad[BACKUP_HEADER_SIZE];
    memcpy(bad, enc, sizeof(bad));
    bad[0] = 'Y'; /* magic */
    assert_int_equal(backup_header_parse(bad, sizeof(bad), &out), -EINVAL);
    struct backup_header v = sample();
    v.version = 2; /* a newer format */
    backup_header_encode(&v, bad);
    assert_int_equal(backup_header_parse(bad, sizeof(bad), &out), -EPROTONOSUPPORT);
    v = sample();
    v.version = 0;
    backup_header_encode(&v, bad);
    assert_int_equal(backup_header_parse(bad, sizeof(bad), &out), -EINVAL);
    v = sample();
    v.codec = 2; /* zstd: not written by this version */
    backup_header_encode(&v, bad);
    assert_int_equal(backup_header_parse(bad, sizeof(bad), &out), -EPROTONOSUPPORT);
    v = sample();
    v.payload_size = 0;
    backup_header_encode(&v, bad);
    assert_int_equal(backup_header_parse(bad, sizeof(bad), &out), -EINVAL);
    v = sample();
    v.raw_size = BACKUP_MAX_SIZE + 1;
    backup_header_encode(&v, bad);
    assert_int_equal(backup_header_parse(bad, sizeof(bad), &out), -EINVAL);
    v = sample();
    v.raw_size = 100; /* smaller than one SQLite page */
    backup_header_encode(&v, bad);
    assert_int_equal(backup_header_parse(bad, sizeof(bad), &out), -EINVAL);
    v = sample();
    v.payload_size = UINT64_MAX;
    backup_header_encode(&v, bad);
    assert_int_equal(backup_header_parse(bad, sizeof(bad), &out), -EINVAL);
}

struct env {
    char dir[64];
    char data[128], file[160], out[160];
};

static int env_setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/xtreamd-backup-XXXXXX");
    if (!e || !mkdtemp(e->dir))
        return -1;
    snprintf(e->data, sizeof(e->data), "%s/data", e->dir);
    snprintf(e->file, sizeof(e->file), "%s/b.xbak", e->dir);
    snprintf(e->out, sizeof(e->out), "%s/out.db", e->dir);
    struct db *db;
    if (db_open(e->data, &db))
        return -1;
    for (int i = 0; i < 50; i++) {
        char name[32], pw[] = "Pw.unit-123", out[] = "ts";
        snprintf(name, sizeof(name), "unit-%d", i);
        struct db_line l = {.username = name,
                            .password = pw,
                            .max_connections = 1,
                            .enabled = true,
                            .allowed_outputs = out};
        if (db_line_insert(db, &l))
            return -1;
    }
    db_close(db);
    *state = e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
    if (system(cmd) != 0)
        return -1;
    free(e);
    return 0;
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

static void test_backup_extract(void **state)
{
    struct env *e = *state;
    char err[512];
    struct backup_info info, info2;
    assert_int_equal(backup_create(e->data, e->file, &info, err, sizeof(err)), 0);
    struct stat st;
    assert_int_equal(stat(e->file, &st), 0);
    assert_int_equal((uint64_t)st.st_size, BACKUP_HEADER_SIZE + info.payload_size);
    assert_int_equal(st.st_mode & 077, 0);
    assert_true(info.payload_size < info.raw_size); /* compressed */
    assert_int_equal(backup_extract(e->file, e->out, &info2, err, sizeof(err)), 0);
    assert_int_equal(info2.raw_size, info.raw_size);
    assert_int_equal(stat(e->out, &st), 0);
    assert_int_equal((uint64_t)st.st_size, info.raw_size);
    /* The extracted file is a database with the lines. */
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "test \"$(sqlite3 %s 'SELECT count(*) FROM lines')\" = 50", e->out);
    assert_int_equal(system(cmd), 0);
    unlink(e->out);

    /* A flipped payload byte: checksum mismatch, no output left. */
    flip_byte(e->file, (off_t)(BACKUP_HEADER_SIZE + info.payload_size / 2));
    assert_int_equal(backup_extract(e->file, e->out, NULL, err, sizeof(err)), -EBADMSG);
    assert_non_null(strstr(err, "checksum mismatch"));
    assert_int_equal(access(e->out, F_OK), -1);

    /* A truncated file. */
    assert_int_equal(backup_create(e->data, e->file, NULL, err, sizeof(err)), 0);
    assert_int_equal(truncate(e->file, BACKUP_HEADER_SIZE + 10), 0);
    assert_int_equal(backup_extract(e->file, e->out, NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(access(e->out, F_OK), -1);

    /* No database to back up. */
    char empty[200];
    snprintf(empty, sizeof(empty), "%s/nothing", e->dir);
    mkdir(empty, 0700);
    assert_int_equal(backup_create(empty, e->file, NULL, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "no database"));
}

static int busy_yes(void *ud, const char *data_dir, char *why, size_t len)
{
    (void)ud;
    (void)data_dir;
    snprintf(why, len, "a server (pid 1) runs");
    return 1;
}

static void test_restore(void **state)
{
    struct env *e = *state;
    char err[512], side[512];
    assert_int_equal(backup_create(e->data, e->file, NULL, err, sizeof(err)), 0);
    /* Busy: refused, nothing touched. */
    assert_int_equal(
        backup_restore(e->data, e->file, busy_yes, NULL, side, sizeof(side), err, sizeof(err)),
        -EBUSY);
    assert_non_null(strstr(err, "stop it first"));
    /* A line added after the backup is only in the side copy afterwards. */
    struct db *db;
    assert_int_equal(db_open(e->data, &db), 0);
    char name[] = "after-backup", pw[] = "Pw.unit-123", out[] = "ts";
    struct db_line l = {.username = name,
                        .password = pw,
                        .max_connections = 1,
                        .enabled = true,
                        .allowed_outputs = out};
    assert_int_equal(db_line_insert(db, &l), 0);
    db_close(db);
    assert_int_equal(
        backup_restore(e->data, e->file, NULL, NULL, side, sizeof(side), err, sizeof(err)), 0);
    assert_non_null(strstr(side, "xtreamd.db.pre-restore-"));
    char cmd[2400];
    snprintf(cmd, sizeof(cmd),
             "test \"$(sqlite3 %s \"SELECT count(*) FROM lines WHERE username='after-backup'\")\" "
             "= 1 && test \"$(sqlite3 %s/xtreamd.db \"SELECT count(*) FROM lines WHERE "
             "username='after-backup'\")\" = 0",
             side, e->data);
    assert_int_equal(system(cmd), 0);
    /* A second restore within the same second gets its own side name. */
    char side2[512];
    assert_int_equal(
        backup_restore(e->data, e->file, NULL, NULL, side2, sizeof(side2), err, sizeof(err)), 0);
    assert_string_not_equal(side, side2);
}

static void test_prune(void **state)
{
    struct env *e = *state;
    char dir[200], path[300], name[64];
    snprintf(dir, sizeof(dir), "%s/sched", e->dir);
    mkdir(dir, 0700);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(backup_auto_name(1800000000 + i * 3600, name, sizeof(name)), 0);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
    }
    assert_string_equal(name, "xtreamd-20270115T120000Z.xbak");
    snprintf(path, sizeof(path), "%s/keep-me.xbak", dir); /* not ours: never touched */
    fclose(fopen(path, "w"));
    unsigned removed;
    assert_int_equal(backup_prune(dir, 2, &removed), 0);
    assert_int_equal(removed, 3);
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0, other = 0, newest = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, "keep-me.xbak") == 0)
            other = 1;
        else if (strncmp(de->d_name, "xtreamd-", 8) == 0) {
            n++;
            if (strcmp(de->d_name, "xtreamd-20270115T120000Z.xbak") == 0)
                newest = 1;
        }
    }
    closedir(d);
    assert_int_equal(n, 2);
    assert_true(other);
    assert_true(newest);
    assert_int_equal(backup_prune(dir, 2, &removed), 0);
    assert_int_equal(removed, 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_header_rejections),
        cmocka_unit_test_setup_teardown(test_backup_extract, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_restore, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_prune, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
