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
