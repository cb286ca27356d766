/*
 * domain/page: the page of a list request as the services take it (the
 * db layer's struct db_page, re-exported so that callers above the domain
 * layer never include db/ headers).
 */
#ifndef XTREAMD_DOMAIN_PAGE_H
#define XTREAMD_DOMAIN_PAGE_H

#include "db/page.h"

#endif
