#include "auth/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/line_state.h"

bool auth_line_still_active(const struct catalog *c, const char *username, int64_t line_id,
                            int64_t now)
{
    if (line_id == AUTH_PREVIEW_LINE_ID)
        return true;
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

static unsigned char portal_key[crypto_auth_hmacsha256_KEYBYTES];
static bool portal_key_ready;

static const unsigned char *key(void)
{
    if (!portal_key_ready) {
        randombytes_buf(portal_key, sizeof(portal_key));
        portal_key_ready = true;
    }
    return portal_key;
}

void auth_portal_tag(const void *msg, size_t len, unsigned char out[AUTH_TAG_LEN])
{
    unsigned char full[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(full, msg, len, key());
    memcpy(out, full, AUTH_TAG_LEN);
}

static void play_tag(int64_t line_id, const char *path, uint64_t expires,
                     unsigned char tag[AUTH_TAG_LEN])
{
    crypto_auth_hmacsha256_state st;
    unsigned char msg[17], full[crypto_auth_hmacsha256_BYTES];
    msg[0] = 'T';
    for (int i = 0; i < 8; i++) {
        msg[1 + i] = (unsigned char)((uint64_t)line_id >> (56 - 8 * i));
        msg[9 + i] = (unsigned char)(expires >> (56 - 8 * i));
    }
    crypto_auth_hmacsha256_init(&st, key(), sizeof(portal_key));
    crypto_auth_hmacsha256_update(&st, msg, sizeof(msg));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)path, strlen(path));
    crypto_auth_hmacsha256_final(&st, full);
    memcpy(tag, full, AUTH_TAG_LEN);
}

void auth_play_token(int64_t line_id, const char *path, int64_t expires, char *out)
{
    unsigned char tag[AUTH_TAG_LEN];
    play_tag(line_id, path, (uint64_t)expires, tag);
    snprintf(out, 17, "%016llx", (unsigned long long)expires);
    sodium_bin2hex(out + 16, 2 * AUTH_TAG_LEN + 1, tag, AUTH_TAG_LEN);
}

bool auth_play_token_ok(int64_t line_id, const char *path, const char *token, int64_t now)
{
    if (!token || strlen(token) != AUTH_PLAY_TOKEN_LEN)
        return false;
    uint64_t exp = 0;
    for (int i = 0; i < 16; i++) {
        int c = token[i], v = c >= '0' && c <= '9'   ? c - '0'
                              : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                     : -1;
        if (v < 0)
            return false;
        exp = exp << 4 | (uint64_t)v;
    }
    unsigned char want[AUTH_TAG_LEN], got[AUTH_TAG_LEN];
    size_t n = 0;
    if (sodium_hex2bin(got, sizeof(got), token + 16, 2 * AUTH_TAG_LEN, NULL, &n, NULL) != 0 ||
        n != sizeof(got))
        return false;
    play_tag(line_id, path, exp, want);
    return sodium_memcmp(want, got, AUTH_TAG_LEN) == 0 && exp <= INT64_MAX && (int64_t)exp >= now;
}
