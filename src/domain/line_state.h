/*
 * domain/line_state: THE rule for a subscriber line's state, used by auth
 * (every client request and stream), the client API's user_info and the
 * domain's line service (CLI, later the admin API). Nothing else computes it.
 *
 * Precedence: banned > disabled > expired > active. exp_date 0 means "never
 * expires" (the Xtream API's convention, also the catalogue's); the line
 * service therefore refuses an expiry at the epoch itself.
 * Header-only dependencies (no db, no catalogue) so that auth can use it
 * without depending on the rest of the domain. Pure; any thread.
 */
#ifndef XTREAMD_DOMAIN_LINE_STATE_H
#define XTREAMD_DOMAIN_LINE_STATE_H

#include <stdbool.h>
#include <stdint.h>

enum dom_line_state {
    DOM_LINE_ACTIVE,
    DOM_LINE_EXPIRED,
    DOM_LINE_DISABLED,
    DOM_LINE_BANNED,
};

enum dom_line_state dom_line_state(bool banned, bool enabled, int64_t exp_date, int64_t now);
/* "Active", "Expired", "Disabled", "Banned". */
const char *dom_line_state_name(enum dom_line_state s);

#endif
