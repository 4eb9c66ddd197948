/* route_table.c: expands routes.def into the route table (routes.h declares the handlers), and finds
 * the route for a request. The table is static data; nothing here allocates. */
#include "proxy/routes.h"

#include <string.h>

static const hr_route ROUTES[] = {
#define HR_ROUTE(method, path, match, handler) {method, path, match, handler, #handler},
#include "proxy/routes.def"
#undef HR_ROUTE
};

const hr_route *hr_routes(size_t *n_out)
{
    *n_out = sizeof ROUTES / sizeof ROUTES[0];
    return ROUTES;
}

static int path_matches(const hr_route *r, const char *path)
{
    if (r->match == HR_MATCH_PREFIX)
        return strncmp(path, r->path, strlen(r->path)) == 0;
    return strcmp(path, r->path) == 0;
}

static int method_matches(const hr_route *r, const char *method)
{
    /* HEAD is answered like GET (the server drops the body). */
    return strcmp(r->method, "*") == 0 || strcmp(r->method, method) == 0 ||
           (strcmp(r->method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

const hr_route *hr_route_find(const char *method, const char *path, int *path_matched)
{
    *path_matched = 0;
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        if (!path_matches(&ROUTES[i], path))
            continue;
        if (method_matches(&ROUTES[i], method))
            return &ROUTES[i];
        *path_matched = 1;
    }
    return NULL;
}
