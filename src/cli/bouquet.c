/*
 * cli/bouquet: `xtreamd bouquet add|list|del`.
 *
 * Owns argument parsing and output for bouquets; the rules (names, what a
 * bouquet may hold, the transaction) are domain/catalogue.c's. A bouquet made with --all sees
 * everything; one made with
 * --category sees those categories (a name that exists in several kinds adds
 * each, unless --kind narrows it). Single-threaded.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "db/db.h"
#include "domain/content.h"

static const char usage_add[] =
    "usage: xtreamd bouquet add NAME [--all | --category NAME ...] [--kind live|movie|series]\n"
    "  Creates a bouquet (a set of content that lines can be given).\n"
    "options:\n"
    "  --all              the bouquet sees every channel, movie and series\n"
    "  --category NAME    include this category (repeatable, kept in order); a name\n"
    "                     that exists for several kinds includes each\n"
    "  --kind KIND        look --category names up in this kind only\n"
    "  --data DIR         data directory (default " CLI_DEFAULT_DATA ")\n";

static const char usage_list[] = "usage: xtreamd bouquet list [--json] [--data DIR]\n";

static const char usage_del[] = "usage: xtreamd bouquet del NAME [--data DIR]\n"
                                "  Deletes a bouquet; lines that had it lose it.\n";

static const char usage_bouquet[] = "usage: xtreamd bouquet COMMAND ...\n"
                                    "commands:\n"
                                    "  add NAME [--all | --category NAME ...] [--kind KIND]\n"
                                    "  list [--json]\n"
                                    "  del NAME\n"
                                    "Run 'xtreamd bouquet COMMAND --help' for details.\n";

static const struct cli_field_name add_names[] = {
    {"name", "bouquet name"},     {"all", "--all"}, {"kind", "--kind"},
    {"categories", "--category"}, {NULL, NULL},
};

static int bouquet_add(int argc, char **argv)
{
    const char *cmd = "xtreamd bouquet add";
    const char *data = CLI_DEFAULT_DATA, *name = NULL, *kind = NULL;
    const char *cat_v[DOM_BOUQUET_CATEGORIES_MAX];
    struct cli_list cats = CLI_LIST_OF(cat_v);
    bool all = false;
    struct db *db = NULL;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--kind", CLI_STR, &kind),
        CLI_OPT("--category", CLI_LIST, &cats),
        CLI_OPT("--all", CLI_FLAG, &all),
        CLI_OPT_END,
    };
    struct cli_pos pos = {.v = &name, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_add, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_bouquet_named in = {
        .name = name, .all = all, .kind = kind, .categories = cats.v, .ncategories = cats.n};
    struct dom_error e;
    int64_t bid;
    size_t nitems;
    dom_error_reset(&e);
    r = dom_bouquet_create_named(db, &in, &bid, &nitems, &e);
    db_close(db);
    if (r)
        return cli_dom_fail(cmd, &e, add_names);
    if (all)
        printf("Created bouquet %s (everything)\n", name);
    else
        printf("Created bouquet %s with %zu categor%s\n", name, nitems, nitems == 1 ? "y" : "ies");
    return CLI_OK;
}

static void describe_item(const struct db_item *it, const char *label, char *out, size_t n)
{
    if (strcmp(it->kind, "all") == 0)
        snprintf(out, n, "all");
    else if (strcmp(it->kind, "category") == 0)
        snprintf(out, n, "%s", *label ? label : "(deleted category)");
    else
        snprintf(out, n, "%s:%s", it->kind, *label ? label : "(deleted)");
}

static int bouquet_list(int argc, char **argv)
{
    const char *cmd = "xtreamd bouquet list", *data = CLI_DEFAULT_DATA;
    bool json = false;
    struct db *db;
    struct dom_obj *b;
    size_t n;
    const struct dom_resource *res = &dom_res_bouquet;
    static const char *const sort[] = {"sort_order"};
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_JSON(&json), CLI_OPT_END};
    int r = cli_parse(cmd, usage_list, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    int rc = dom_content_list_all(db, res, NULL, 0, sort, 1, &b, &n, &e);
    if (rc) {
        db_close(db);
        return cli_dom_fail(cmd, &e, NULL);
    }
    char label[512];
    int ret = CLI_OK;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
            json_t *items = json_array();
            for (size_t k = 0; items && k < b[i].nitems; k++) {
                const struct db_item *it = &b[i].items[k];
                json_t *jo = json_object();
                dom_item_label(db, it, label, sizeof(label));
                json_object_set_new(jo, "kind", json_string(it->kind));
                json_object_set_new(
                    jo, "id", strcmp(it->kind, "all") == 0 ? json_null() : json_integer(it->id));
                json_object_set_new(jo, "name", json_string(label));
                json_array_append_new(items, jo);
            }
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(b[i].rec.id));
            json_object_set_new(o, "name", json_string(dom_obj_str(res, &b[i], "name")));
            json_object_set_new(o, "items", items);
            json_object_set_new(o, "lines", json_integer(dom_obj_int(res, &b[i], "line_count")));
            json_object_set_new(o, "created_at",
                                json_integer(dom_obj_int(res, &b[i], "created_at")));
            json_array_append_new(arr, o);
        }
        if (cli_print_json(arr))
            ret = CLI_FAIL;
    } else {
        printf("%-6s %-24s %5s  %s\n", "ID", "NAME", "LINES", "ITEMS");
        for (size_t i = 0; i < n; i++) {
            printf("%-6lld ", (long long)b[i].rec.id);
            cli_print_cell(dom_obj_str(res, &b[i], "name"), 24);
            printf(" %5lld  ", (long long)dom_obj_int(res, &b[i], "line_count"));
            if (b[i].nitems == 0)
                fputs("(empty)", stdout);
            for (size_t k = 0; k < b[i].nitems; k++) {
                char d[600];
                dom_item_label(db, &b[i].items[k], label, sizeof(label));
                describe_item(&b[i].items[k], label, d, sizeof(d));
                printf("%s%s", k ? ", " : "", d);
            }
            putchar('\n');
        }
    }
    dom_obj_free_all(res, b, n);
    db_close(db);
    return ret;
}

static int bouquet_del(int argc, char **argv)
{
    const char *cmd = "xtreamd bouquet del", *data = CLI_DEFAULT_DATA, *name = NULL;
    struct db *db;
    const struct cli_opt opts[] = {CLI_OPT_DATA(&data), CLI_OPT_END};
    struct cli_pos pos = {.v = &name, .min = 1, .max = 1, .name = "NAME"};
    int r = cli_parse(cmd, usage_del, argc, argv, opts, &pos);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    int rc = dom_bouquet_delete_named(db, name, &e);
    db_close(db);
    if (rc)
        return cli_dom_fail(cmd, &e, NULL);
    printf("Deleted bouquet %s\n", name);
    return CLI_OK;
}

int cli_bouquet(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"add", bouquet_add},    {"list", bouquet_list}, {"del", bouquet_del},
        {"delete", bouquet_del}, {NULL, NULL},
    };
    return cli_dispatch("xtreamd bouquet", usage_bouquet, cmds, argc, argv);
}
