/*
 * cli/category: `xtreamd category list` — the categories of every kind with
 * their item counts, in the operator's order. The service is domain/content's
 * (the admin API's categories resource).
 * Single-threaded.
 */
#include <jansson.h>
#include <stdio.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "db/db.h"
#include "domain/content.h"

static const char usage_category[] =
    "usage: xtreamd category list [--kind live|movie|series] [--json] [--data DIR]\n"
    "  Lists categories: id, kind, name, number of items and order.\n"
    "  Categories are created by 'xtreamd import' and 'xtreamd demo'.\n";

static int category_list(int argc, char **argv)
{
    const char *cmd = "xtreamd category list", *data = CLI_DEFAULT_DATA, *kind = NULL;
    bool json = false;
    struct db *db;
    struct dom_obj *c;
    size_t n;
    const struct dom_resource *res = &dom_res_category;
    const struct cli_opt opts[] = {
        CLI_OPT_DATA(&data),
        CLI_OPT("--kind", CLI_KIND, &kind),
        CLI_OPT_JSON(&json),
        CLI_OPT_END,
    };
    int r = cli_parse(cmd, usage_category, argc, argv, opts, NULL);
    if (r)
        return cli_parse_exit(r);
    if (cli_open_db(cmd, data, &db))
        return CLI_FAIL;
    struct dom_error e;
    dom_error_reset(&e);
    int rc = dom_category_list_all(db, kind, &c, &n, &e);
    db_close(db);
    if (rc)
        return cli_dom_fail(cmd, &e, NULL);
    int ret = CLI_OK;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(c[i].rec.id));
            json_object_set_new(o, "kind", json_string(dom_obj_str(res, &c[i], "kind")));
            json_object_set_new(o, "name", json_string(dom_obj_str(res, &c[i], "name")));
            json_object_set_new(o, "items", json_integer(dom_obj_int(res, &c[i], "item_count")));
            json_object_set_new(o, "order", json_integer(dom_obj_int(res, &c[i], "sort_order")));
            json_array_append_new(arr, o);
        }
        if (cli_print_json(arr))
            ret = CLI_FAIL;
    } else {
        printf("%-6s %-6s %-32s %7s %5s\n", "ID", "KIND", "NAME", "ITEMS", "ORDER");
        for (size_t i = 0; i < n; i++) {
            printf("%-6lld %-6s ", (long long)c[i].rec.id, dom_obj_str(res, &c[i], "kind"));
            cli_print_cell(dom_obj_str(res, &c[i], "name"), 32);
            printf(" %7lld %5lld\n", (long long)dom_obj_int(res, &c[i], "item_count"),
                   (long long)dom_obj_int(res, &c[i], "sort_order"));
        }
    }
    dom_obj_free_all(res, c, n);
    return ret;
}

int cli_category(int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {{"list", category_list}, {NULL, NULL}};
    return cli_dispatch("xtreamd category", usage_category, cmds, argc, argv);
}
