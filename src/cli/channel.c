/*
 * cli/channel: `xtreamd channel list|show|start|stop|restart` and
 * `xtreamd connections [--kill ID]` — ask the running server through the
 * admin API (/api/v1/channels, /api/v1/streams/ID/..., /api/v1/sessions, see
 * docs/admin-api.md) on loopback, authenticated with the per-run token of
 * <data>/serve.json, which `serve` writes (0600).
 * A tiny blocking HTTP/1.0 client with a 10 s timeout and a 16 MiB bound.
 * Single-threaded.
 */
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/remote.h"
#include "core/buf.h"

static const char usage_channel[] =
    "usage: xtreamd channel list [--json] [--data DIR]\n"
    "       xtreamd channel show|start|stop|restart ID [--data DIR]\n"
    "       xtreamd connections [--kill ID] [--json] [--data DIR]\n"
    "  Talks to the running server (found through <data>/serve.json) through its\n"
    "  admin API on loopback, with the per-run token serve.json holds.\n";

int cli_server_request(const char *cmd, const char *data, const char *method, const char *path,
                       const char *send, int *status, struct buf *body)
{
    char fn[4096];
    snprintf(fn, sizeof(fn), "%s/serve.json", data);
    json_error_t jerr;
    json_t *st = json_load_file(fn, 0, &jerr);
    int port = st ? (int)json_integer_value(json_object_get(st, "port")) : 0;
    /* The per-run admin token (serve.json is 0600: only the server's user
     * reads it); the admin API refuses a call without a token. */
    const char *tok = st ? json_string_value(json_object_get(st, "token")) : NULL;
    char token[80] = "";
    if (tok && strlen(tok) < sizeof(token) && strspn(tok, "0123456789abcdef") == strlen(tok))
        memcpy(token, tok, strlen(tok) + 1);
    const char *host = st && json_string_value(json_object_get(st, "host")) &&
                               strchr(json_string_value(json_object_get(st, "host")), ':')
                           ? "::1"
                           : "127.0.0.1";
    json_decref(st);
    if (port > 0 && !token[0]) {
        fprintf(stderr, "%s: %s has no admin token (a server older than this CLI?)\n", cmd, fn);
        return -ENOENT;
    }
    if (port <= 0) {
        fprintf(stderr, "%s: no running server found (%s missing or unreadable)\n", cmd, fn);
        return -ENOENT;
    }
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, portstr, &hints, &ai) != 0)
        return -EIO;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = 10};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        fprintf(stderr, "%s: cannot reach the server on %s port %d: %s\n", cmd, host, port,
                strerror(errno));
        freeaddrinfo(ai);
        if (fd >= 0)
            close(fd);
        return -ECONNREFUSED;
    }
    freeaddrinfo(ai);
    char req[768];
    bool v6 = strchr(host, ':') != NULL;
    size_t sendlen = send ? strlen(send) : 0;
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.0\r\nHost: %s%s%s:%d\r\nAuthorization: Bearer %s\r\n"
                     "%sContent-Length: %zu\r\n\r\n",
                     method, path, v6 ? "[" : "", host, v6 ? "]" : "", port, token,
                     send ? "Content-Type: application/json\r\n" : "", sendlen);
    if (n < 0 || (size_t)n >= sizeof(req)) {
        close(fd);
        return -EINVAL;
    }
    if (write(fd, req, (size_t)n) != n ||
        (sendlen && write(fd, send, sendlen) != (ssize_t)sendlen)) {
        close(fd);
        return -EIO;
    }
    struct buf raw = BUF_INIT(16 << 20);
    char tmp[65536];
    ssize_t r;
    while ((r = read(fd, tmp, sizeof(tmp))) > 0)
        buf_append(&raw, tmp, (size_t)r);
    close(fd);
    char *sep = raw.data ? strstr(raw.data, "\r\n\r\n") : NULL;
    if (raw.err || !sep || sscanf(raw.data, "HTTP/1.%*d %d", status) != 1) {
        buf_free(&raw);
        fprintf(stderr, "%s: bad answer from the server\n", cmd);
        return -EPROTO;
    }
    buf_append(body, sep + 4, raw.len - (size_t)(sep + 4 - raw.data));
    buf_free(&raw);
    return 0;
}

static void print_channels(json_t *arr)
{
    printf("%-6s %-24s %-9s %6s %8s %s\n", "ID", "NAME", "STATE", "VIEW", "KBPS", "CODECS");
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        printf("%-6lld ", (long long)json_integer_value(json_object_get(c, "id")));
        cli_print_cell(json_string_value(json_object_get(c, "name")), 24);
        printf(" %-9s %6lld %8lld %s\n", json_string_value(json_object_get(c, "state")),
               (long long)json_integer_value(json_object_get(c, "viewers")),
               (long long)json_integer_value(json_object_get(c, "input_kbps")),
               json_string_value(json_object_get(c, "codecs")));
    }
}

static void print_conns(json_t *arr)
{
    printf("%-8s %-5s %-16s %-8s %-15s %8s %12s\n", "ID", "KIND", "USER", "STREAM", "IP", "SECONDS",
           "BYTES");
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        printf("%-8lld %-5s ", (long long)json_integer_value(json_object_get(c, "id")),
               json_string_value(json_object_get(c, "kind")));
        cli_print_cell(json_string_value(json_object_get(c, "username")), 16);
        printf(" %-8lld %-15s %8lld %12lld\n",
               (long long)json_integer_value(json_object_get(c, "stream_id")),
               json_string_value(json_object_get(c, "ip")),
               (long long)json_integer_value(json_object_get(c, "seconds")),
               (long long)json_integer_value(json_object_get(c, "bytes")));
    }
}

/* One call (or, for a paged list, every page concatenated into one array).
 * NULL after printing why (connection, status, the problem's detail). */
static json_t *fetch(const char *cmd, const char *data, const char *method, const char *path,
                     int want, bool paged)
{
    json_t *all = paged ? json_array() : NULL;
    for (long long page = 1;; page++) {
        char target[320];
        snprintf(target, sizeof(target), paged ? "%s?page_size=1000&page=%lld" : "%s", path, page);
        struct buf body = BUF_INIT(16 << 20);
        int status = 0;
        if (cli_server_request(cmd, data, method, target, NULL, &status, &body)) {
            buf_free(&body);
            json_decref(all);
            return NULL;
        }
        json_error_t jerr;
        json_t *j = body.len ? json_loadb(body.data, body.len, 0, &jerr) : json_object();
        buf_free(&body);
        if (!j || status != want) {
            const char *err = j ? json_string_value(json_object_get(j, "detail")) : NULL;
            fprintf(stderr, "%s: server answered %d%s%s\n", cmd, status, err ? ": " : "",
                    err ? err : "");
            json_decref(j);
            json_decref(all);
            return NULL;
        }
        if (!paged)
            return j;
        json_t *items = json_object_get(j, "items");
        json_array_extend(all, items);
        long long total = json_integer_value(json_object_get(j, "total"));
        size_t got = json_array_size(items);
        json_decref(j);
        if (got == 0 || (long long)json_array_size(all) >= total)
            return all;
    }
}

int cli_channel(int argc, char **argv)
{
    /* argv[0] is "channel" or "connections" */
    bool conns = strcmp(argv[0], "connections") == 0;
    const char *cmd = conns ? "xtreamd connections" : "xtreamd channel";
    const char *data = CLI_DEFAULT_DATA, *pos[2] = {NULL, NULL};
    long long kill = 0;
    bool json = false;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--kill", CLI_INT, &kill, .min = 1, .max = INT64_MAX, .disabled = !conns),
        CLI_OPT_JSON(&json),
        CLI_OPT_END,
    };
    /* channel: SUB-COMMAND [ID]; connections: none */
    struct cli_pos p = {.v = pos, .max = conns ? 0 : 2};
    int r = cli_parse(cmd, usage_channel, argc, argv, opts, &p);
    if (r)
        return cli_parse_exit(r);
    int np = p.n;
    char path[256];
    const char *method = "GET";
    long long id = 0;
    bool paged = false;
    int want = 200;
    if (conns) {
        if (kill) {
            snprintf(path, sizeof(path), "/api/v1/sessions/%lld", kill);
            method = "DELETE";
            want = 204;
        } else {
            snprintf(path, sizeof(path), "/api/v1/sessions");
            paged = true;
        }
    } else {
        const char *sub = np ? pos[0] : "list";
        if (strcmp(sub, "list") == 0) {
            snprintf(path, sizeof(path), "/api/v1/channels");
            paged = true;
        } else if (strcmp(sub, "show") == 0 || strcmp(sub, "start") == 0 ||
                   strcmp(sub, "stop") == 0 || strcmp(sub, "restart") == 0) {
            if (np < 2 || cli_parse_int(cmd, "ID", pos[1], 1, INT32_MAX, &id)) {
                fprintf(stderr, "%s %s: needs a channel ID\n", cmd, sub);
                return CLI_USAGE;
            }
            if (strcmp(sub, "show") == 0) {
                snprintf(path, sizeof(path), "/api/v1/streams/%lld/state", id);
            } else {
                snprintf(path, sizeof(path), "/api/v1/streams/%lld/%s", id, sub);
                method = "POST";
            }
            json = json || strcmp(sub, "show") == 0;
        } else {
            fprintf(stderr, "%s: unknown sub-command '%s'\n", cmd, sub);
            fputs(usage_channel, stderr);
            return CLI_USAGE;
        }
    }
    json_t *j = fetch(cmd, data, method, path, want, paged);
    if (!j)
        return CLI_FAIL;
    if (kill) {
        json_decref(j);
        j = json_pack("{s:b}", "killed", 1);
    }
    if (json || kill || (!conns && strcmp(np ? pos[0] : "list", "list") != 0)) {
        cli_print_json(json_incref(j));
    } else if (conns) {
        print_conns(j);
    } else {
        print_channels(j);
    }
    json_decref(j);
    return CLI_OK;
}
