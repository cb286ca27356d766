/*
 * epg/demo: a generated guide for the demo channels (`xtreamd demo`). Writes
 * <data>/demo-epg.xml — a week ahead and a day back of programmes for every
 * stream whose tvg-id ends in ".xtreamd" — registers it as the EPG source
 * "demo" (manual refresh) and imports it. Idempotent: a guide generated
 * less than a day ago is left alone (nothing is committed); an older one is
 * regenerated around the current time and re-imported.
 * Threading: the CLI's thread.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "db/db.h"
#include "db/epg.h"
#include "epg/epg.h"

static const char *const shows[] = {
    "Morning Signal",   "The Pattern Hour", "Colour Bars Live", "Late Night Test Card",
    "Fractal Journeys", "Life in the Grid", "Clockwork News",   "Weekend Sync",
};

static bool is_demo_id(const char *id)
{
    size_t n = strlen(id);
    return n > 8 && strcmp(id + n - 8, ".xtreamd") == 0;
}

static void put_esc(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            buf_puts(b, "&amp;");
        else if (*s == '<')
            buf_puts(b, "&lt;");
        else if (*s == '"')
            buf_puts(b, "&quot;");
        else
            buf_putc(b, *s);
    }
}

static int write_doc(const char *path, const struct db_epg_stream *st, size_t n, int64_t now)
{
    struct buf b = BUF_INIT(0);
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<tv generator-info-name=\"xtreamd "
                 "demo\">\n");
    for (size_t i = 0; i < n; i++) {
        if (!is_demo_id(st[i].epg_channel_id))
            continue;
        buf_puts(&b, " <channel id=\"");
        put_esc(&b, st[i].epg_channel_id);
        buf_puts(&b, "\"><display-name>");
        put_esc(&b, st[i].name);
        buf_puts(&b, "</display-name></channel>\n");
    }
    int64_t day0 = now - now % 86400 - 86400;
    for (size_t i = 0; i < n; i++) {
        if (!is_demo_id(st[i].epg_channel_id))
            continue;
        /* 30-minute and 1-hour slots alternating, different per channel. */
        int64_t t = day0;
        for (int k = 0; t < day0 + 9 * 86400; k++) {
            int64_t len = (k + (int)i) % 3 == 0 ? 3600 : 1800;
            char a[21], z[21];
            epg_format_xmltv_time(t, a);
            epg_format_xmltv_time(t + len, z);
            const char *show = shows[(size_t)(k + (int)i * 3) % (sizeof(shows) / sizeof(shows[0]))];
            buf_printf(&b, " <programme start=\"%s\" stop=\"%s\" channel=\"", a, z);
            put_esc(&b, st[i].epg_channel_id);
            buf_printf(&b, "\"><title lang=\"en\">%s</title><desc>%s on ", show, show);
            put_esc(&b, st[i].name);
            buf_printf(&b,
                       ", part %d.</desc><category lang=\"en\">Demo</category>"
                       "</programme>\n",
                       k + 1);
            t += len;
        }
    }
    buf_puts(&b, "</tv>\n");
    int rc = b.err;
    if (rc == 0) {
        FILE *f = fopen(path, "wb");
        if (!f) {
            rc = -errno;
        } else {
            if (fwrite(b.data, 1, b.len, f) != b.len)
                rc = -EIO;
            if (fclose(f) != 0 && rc == 0)
                rc = -EIO;
        }
    }
    buf_free(&b);
    return rc;
}

int epg_demo_seed(struct db *db, const char *data_dir, int64_t now)
{
    char path[PATH_MAX], dir[PATH_MAX];
    if (!realpath(data_dir, dir))
        return -errno;
    int n = snprintf(path, sizeof(path), "%s/demo-epg.xml", dir);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    /* Already generated in the last day: nothing to do (a second `xtreamd
     * demo` commits nothing). */
    struct db_epg_source *have;
    if (db_epg_source_get(db, "demo", &have) == 0) {
        bool fresh = have->last_import > now - 86400 && have->programmes > 0;
        db_epg_source_list_free(have, 1);
        if (fresh)
            return 0;
    }
    struct db_epg_stream *st;
    size_t cnt;
    int rc = db_epg_streams(db, &st, &cnt);
    if (rc)
        return rc;
    rc = write_doc(path, st, cnt, now);
    db_epg_streams_free(st, cnt);
    if (rc)
        return rc;
    int64_t id;
    rc = db_epg_source_add(db, "demo", path, -100, 0, &id);
    if (rc == -EEXIST) {
        struct db_epg_source *s;
        rc = db_epg_source_get(db, "demo", &s);
        if (rc)
            return rc;
        id = s->id;
        db_epg_source_list_free(s, 1);
    } else if (rc) {
        return rc;
    }
    struct epg_import_result res;
    return epg_import_source(db, id, now, &res);
}
