#include "auth/auth.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "domain/line_state.h"

bool auth_line_still_active(const struct catalog *c, const char *username, int64_t line_id,
                            int64_t now)
{
    const struct cat_line *l = catalog_line(c, username);
    return l && l->id == line_id && auth_line_status(l, now) == AUTH_OK;
}

enum auth_status auth_line_status(const struct cat_line *line, int64_t now)
{
    /* The one rule (domain/line_state.h); auth only adds AUTH_INVALID. */
    switch (dom_line_state(line->banned, line->enabled, line->exp_date, now)) {
    case DOM_LINE_BANNED:
        return AUTH_BANNED;
    case DOM_LINE_DISABLED:
        return AUTH_DISABLED;
    case DOM_LINE_EXPIRED:
        return AUTH_EXPIRED;
    case DOM_LINE_ACTIVE:
        break;
    }
    return AUTH_OK;
}

const char *auth_status_name(enum auth_status st)
{
    switch (st) {
    case AUTH_OK:
        return dom_line_state_name(DOM_LINE_ACTIVE);
    case AUTH_EXPIRED:
        return dom_line_state_name(DOM_LINE_EXPIRED);
    case AUTH_DISABLED:
        return dom_line_state_name(DOM_LINE_DISABLED);
    case AUTH_BANNED:
        return dom_line_state_name(DOM_LINE_BANNED);
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
