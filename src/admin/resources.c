/*
 * resources.c: the list of the admin API's resources (admin/resource.h). A
 * new resource file adds its `admin_res_*` here, one per line; admin.c
 * registers them in this order and openapi.c documents them.
 */
#include "admin/resource.h"

extern const struct admin_resource admin_res_system;
extern const struct admin_resource admin_res_auth;
extern const struct admin_resource admin_res_lines;
extern const struct admin_resource admin_res_live;
extern const struct admin_resource admin_res_accounts;
extern const struct admin_resource admin_res_dashboard;
extern const struct admin_resource admin_res_content;
extern const struct admin_resource admin_res_plans;
extern const struct admin_resource admin_res_settings;
extern const struct admin_resource admin_res_access;
extern const struct admin_resource admin_res_devices;
extern const struct admin_resource admin_res_profiles;
extern const struct admin_resource admin_res_preview;
extern const struct admin_resource admin_res_resellers;

// clang-format off
const struct admin_resource *const admin_resources[] = {
    &admin_res_system,
    &admin_res_auth,
    &admin_res_lines,
    &admin_res_live,
    &admin_res_accounts,
    &admin_res_dashboard,
    &admin_res_content,
    &admin_res_plans,
    &admin_res_settings,
    &admin_res_access,
    &admin_res_devices,
    &admin_res_profiles,
    &admin_res_preview,
    &admin_res_resellers,
    NULL,
};
// clang-format on
