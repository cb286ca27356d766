#include "domain/line_state.h"

enum dom_line_state dom_line_state(bool banned, bool enabled, int64_t exp_date, int64_t now)
{
    if (banned)
        return DOM_LINE_BANNED;
    if (!enabled)
        return DOM_LINE_DISABLED;
    if (exp_date && exp_date <= now)
        return DOM_LINE_EXPIRED;
    return DOM_LINE_ACTIVE;
}

const char *dom_line_state_name(enum dom_line_state s)
{
    switch (s) {
    case DOM_LINE_EXPIRED:
        return "Expired";
    case DOM_LINE_DISABLED:
        return "Disabled";
    case DOM_LINE_BANNED:
        return "Banned";
    case DOM_LINE_ACTIVE:
        break;
    }
    return "Active";
}
