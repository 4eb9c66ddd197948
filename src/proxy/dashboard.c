/* dashboard.c: GET /dashboard, one self-contained page (assets/dashboard.html, embedded
 * at build time by cmake/embed.cmake: no CDN, no file beside the binary). The page polls
 * /stats and draws from it. Like /debug/memory it answers only loopback clients, unless
 * HEADROOM_DASHBOARD_PUBLIC=1 opens it (the numbers reveal traffic volume and models, not
 * content or credentials). */
#include "proxy/config.h"
#include "proxy/routes.h"

#include <stdlib.h>
#include <string.h>

extern const unsigned char hr_asset_dashboard_html[];
extern const size_t hr_asset_dashboard_html_len;

int hr_route_dashboard(const hr_request *req, hr_response *res)
{
    if (!req->client_is_loopback && !hr_proxy_config_current()->savings.dashboard_public)
        return hr_response_error(res, req->api, 404, "not_found_error", "not_found",
                                 "/dashboard is only served to loopback clients "
                                 "(HEADROOM_DASHBOARD_PUBLIC=1 opens it)");
    int rc = hr_response_body(res, 200, "text/html; charset=utf-8", (const char *)hr_asset_dashboard_html,
                              hr_asset_dashboard_html_len);
    /* the page runs only its own inline code and talks only to this proxy */
    rc |= hr_response_header(res, "content-security-policy",
                             "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                             "connect-src 'self'; img-src data:");
    rc |= hr_response_header(res, "cache-control", "no-store");
    return rc;
}
