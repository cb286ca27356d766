/*
 * libFuzzer target for the MAG portal's query handling (portal/portal.c):
 * the first line of the input is a Cookie header, the rest a query string
 * (type, action, mac, cmd, ...). The MAC of the cookie and of the query must
 * come out normalised (upper-case colon form, stable when normalised again);
 * a create_link cmd (ch/ URL, number, base64 JSON) gives an id in
 * [-1, INT32_MAX] and a season in [-1, INT32_MAX].
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/devices.h"
#include "http/http.h"
#include "http/query.h"
#include "portal/portal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_mac(const char *m)
{
    for (int i = 0; i < 17; i++) {
        char c = m[i];
        bool ok = i % 3 == 2 ? c == ':' : ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
        if (!ok)
            abort();
    }
    char again[18];
    if (m[17] != '\0' || !dom_mac_normalise(m, 17, again) || strcmp(again, m) != 0)
        abort();
}

static void check_cmd(const char *cmd)
{
    int season = 0;
    int64_t id = portal_cmd_id(cmd, &season);
    if (id < -1 || id > INT32_MAX || season < -1)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *z = malloc(size + 1);
    if (!z)
        return 0;
    memcpy(z, data, size);
    z[size] = '\0';
    char *nl = memchr(z, '\n', size);
    const char *query = nl ? nl + 1 : "";
    size_t qlen = nl ? size - (size_t)(nl + 1 - z) : 0;
    if (nl)
        *nl = '\0';
    char mac[18];
    if (portal_cookie_mac(z, mac))
        check_mac(mac);
    if (dom_mac_normalise(z, strlen(z), mac))
        check_mac(mac);
    check_cmd(z);

    struct http_params q = {0};
    if (http_params_parse_urlencoded(&q, query, qlen) == 0) {
        const char *m = http_param_get(&q, "mac");
        if (m && dom_mac_normalise(m, strlen(m), mac))
            check_mac(mac);
        const char *cmd = http_param_get(&q, "cmd");
        if (cmd)
            check_cmd(cmd);
    }
    http_params_free(&q);
    free(z);
    return 0;
}
