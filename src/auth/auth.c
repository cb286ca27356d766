#include "auth/auth.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

bool auth_line_still_active(const struct catalog *c, const char *username, int64_t line_id,
                            int64_t now)
{
    const struct cat_line *l = catalog_line(c, username);
    return l && l->id == line_id && auth_line_status(l, now) == AUTH_OK;
}

enum auth_status auth_line_status(const struct cat_line *line, int64_t now)
{
    if (line->banned)
        return AUTH_BANNED;
    if (!line->enabled)
        return AUTH_DISABLED;
    if (line->exp_date && line->exp_date <= now)
        return AUTH_EXPIRED;
    return AUTH_OK;
}

const char *auth_status_name(enum auth_status st)
{
    switch (st) {
    case AUTH_OK:
        return "Active";
    case AUTH_EXPIRED:
        return "Expired";
    case AUTH_DISABLED:
        return "Disabled";
    case AUTH_BANNED:
        return "Banned";
    case AUTH_INVALID:
        break;
    }
    return "Invalid";
}

const struct cat_line *auth_check(const struct catalog *c, const char *username,
                                  const char *password)
{
    if (!c || !username || !password || !*username || !*password)
        return NULL;
    const struct cat_line *line = catalog_line(c, username);
    if (!line)
        return NULL;
    size_t n = strlen(password);
    if (n != strlen(line->password) || sodium_memcmp(password, line->password, n) != 0)
        return NULL;
    return line;
}

struct failure {
    char ip[46];
    unsigned count;
    int64_t last;
};

struct auth_failures {
    struct failure *items;
    unsigned count, max;
};

struct auth_failures *auth_failures_new(unsigned max_ips)
{
    struct auth_failures *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->max = max_ips ? max_ips : 4096;
    f->items = calloc(f->max, sizeof(*f->items));
    if (!f->items) {
        free(f);
        return NULL;
    }
    return f;
}

void auth_failures_free(struct auth_failures *f)
{
    if (!f)
        return;
    free(f->items);
    free(f);
}

static struct failure *find(const struct auth_failures *f, const char *ip)
{
    for (unsigned i = 0; i < f->count; i++)
        if (strcmp(f->items[i].ip, ip) == 0)
            return &f->items[i];
    return NULL;
}

static int cmp_last_desc(const void *a, const void *b)
{
    int64_t x = ((const struct failure *)a)->last, y = ((const struct failure *)b)->last;
    return (x < y) - (x > y);
}

unsigned auth_failures_record(struct auth_failures *f, const char *ip, int64_t now)
{
    struct failure *e = find(f, ip);
    if (!e) {
        if (f->count == f->max) { /* keep the most recent half */
            qsort(f->items, f->count, sizeof(*f->items), cmp_last_desc);
            f->count /= 2;
        }
        e = &f->items[f->count++];
        memset(e, 0, sizeof(*e));
        size_t n = strnlen(ip, sizeof(e->ip) - 1);
        memcpy(e->ip, ip, n);
    }
    e->count++;
    e->last = now;
    return e->count;
}

unsigned auth_failures_count(const struct auth_failures *f, const char *ip)
{
    const struct failure *e = find(f, ip);
    return e ? e->count : 0;
}
