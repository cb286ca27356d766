/*
 * libFuzzer target for cli/args: the input is an argv, NUL-separated (at most
 * 64 arguments), parsed against a table with every option kind and two
 * positional slots. Checks what a successful parse promises: values within
 * their ranges, lists within their capacity, positionals within min..max, and
 * every stored string pointing into argv. The commands' messages go to
 * /dev/null (the FILE *s only: sanitizer reports still reach fd 2).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"

#define MAX_ARGS 64

static const char default_data[] = CLI_DEFAULT_DATA;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        stdout = null;
        stderr = null;
    }
    return 0;
}

struct vals {
    const char *data, *name, *kind, *list_v[4], *pos_v[2];
    struct cli_list list;
    long long num;
    bool json;
    int tri, mode;
};

static int check_no_x(const char *cmd, const char *opt, const char *val, void *ctx)
{
    return strchr(val, 'x') ? -EINVAL : 0;
}

static bool in_buf(const char *p, const char *buf, size_t len)
{
    return p >= buf && p <= buf + len;
}

static void check_result(const struct vals *v, const struct cli_pos *pos, const char *buf,
                         size_t len)
{
    if (v->num < -5 || v->num > 100 || v->list.n > v->list.cap || pos->n < pos->min ||
        pos->n > pos->max || v->tri < -1 || v->tri > 1 || v->mode < -1 || v->mode > 1)
        abort();
    if (v->kind && strcmp(v->kind, "live") && strcmp(v->kind, "movie") && strcmp(v->kind, "series"))
        abort();
    if ((v->data != default_data && !in_buf(v->data, buf, len)) ||
        (v->name && (!in_buf(v->name, buf, len) || strchr(v->name, 'x'))))
        abort();
    for (size_t i = 0; i < v->list.n; i++)
        if (!in_buf(v->list.v[i], buf, len) || !*v->list.v[i])
            abort();
    for (int i = 0; i < pos->n; i++)
        if (!in_buf(pos->v[i], buf, len))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    char *argv[MAX_ARGS + 2] = {"fuzz"};
    int argc = 1;
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (char *p = buf; argc <= MAX_ARGS && p <= buf + size; p += strlen(p) + 1)
        argv[argc++] = p;
    struct vals v = {.data = default_data, .num = 7, .tri = -1, .mode = -1};
    v.list = CLI_LIST_OF(v.list_v);
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&v.data),
        CLI_OPT_JSON(&v.json),
        CLI_OPT("--name", CLI_STR, &v.name, .check = check_no_x),
        CLI_OPT("--num", CLI_INT, &v.num, .min = -5, .max = 100),
        CLI_OPT("--kind", CLI_KIND, &v.kind),
        CLI_OPT("--item", CLI_LIST, &v.list, .check = cli_check_nonempty),
        CLI_OPT("--on", CLI_TRI, &v.tri, .val = 1),
        CLI_OPT("--off", CLI_TRI, &v.tri, .val = 0),
        CLI_OPT("--fast", CLI_CONST, &v.mode, .val = 1),
        CLI_OPT("--slow", CLI_CONST, &v.mode, .val = 0),
        CLI_OPT("--hidden", CLI_FLAG, &v.json, .disabled = true),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = v.pos_v, .min = 1, .max = 2, .name = "NAME"};
    int r = cli_parse("xtreamd fuzz", "usage\n", argc, argv, opts, &pos);
    if (r != 0 && r != 1 && r != -EINVAL)
        abort();
    if ((r == 1) != cli_wants_help(argc, argv))
        abort();
    if (r == 0)
        check_result(&v, &pos, buf, size);
    free(buf);
    return 0;
}
