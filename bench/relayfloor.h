/* relayfloor.h: what the two event-loop relay floors (bench_http_relayfloor.c on
 * libmicrohttpd, bench_http_relayfloorev.c on libevent) share so that they differ only in
 * their client side: the upstream transfer's curl setup, its request headers, the
 * Content-Type read from the answer, and a stack of finished easy handles reused (as the
 * proxy's pool does; init and cleanup per request would be measured otherwise). Header-only:
 * each floor is one translation unit with its own copy of the stack. */
#ifndef HR_BENCH_RELAYFLOOR_H
#define HR_BENCH_RELAYFLOOR_H

#include <curl/curl.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FLOOR_SPARE_MAX 256
static CURL *floor_spare[FLOOR_SPARE_MAX];
static int floor_n_spare;

static CURL *floor_easy_take(void)
{
    return floor_n_spare ? floor_spare[--floor_n_spare] : curl_easy_init();
}

static void floor_easy_give(CURL *e)
{
    if (floor_n_spare < FLOOR_SPARE_MAX) {
        curl_easy_reset(e);
        floor_spare[floor_n_spare++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

static void floor_easy_drain(void)
{
    while (floor_n_spare)
        curl_easy_cleanup(floor_spare[--floor_n_spare]);
}

/* The upstream request's headers: the client's Content-Type and Authorization, no Expect. */
static struct curl_slist *floor_headers(const char *ctype, const char *auth)
{
    char line[1024];
    snprintf(line, sizeof line, "Content-Type: %s", ctype ? ctype : "application/json");
    struct curl_slist *l = curl_slist_append(NULL, line);
    if (auth) {
        snprintf(line, sizeof line, "Authorization: %s", auth);
        l = curl_slist_append(l, line);
    }
    return curl_slist_append(l, "Expect:");
}

/* A POST of body to url; answer bytes to on_body, header lines to on_header, both with r. */
static void floor_easy_setup(CURL *e, const char *url, struct curl_slist *hdrs, const char *body,
                             size_t len, curl_write_callback on_body,
                             curl_write_callback on_header, void *r)
{
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
}

/* Each finished transfer of multi, with the r given to floor_easy_setup and curl's result. */
static void floor_each_done(CURLM *multi, void (*done)(void *r, CURLcode rc))
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        void *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        done(r, m->data.result);
    }
}

/* If the header line p[0..len) is Content-Type, its value (trimmed, cut to outlen - 1). */
static void floor_content_type(const char *p, size_t len, char *out, size_t outlen)
{
    static const char ct[] = "content-type:";
    if (len <= sizeof ct || strncasecmp(p, ct, sizeof ct - 1))
        return;
    const char *v = p + sizeof ct - 1;
    size_t k = len - (sizeof ct - 1);
    while (k && (*v == ' ' || *v == '\t'))
        v++, k--;
    while (k && (v[k - 1] == '\r' || v[k - 1] == '\n'))
        k--;
    if (k >= outlen)
        k = outlen - 1;
    memcpy(out, v, k);
    out[k] = 0;
}

#endif
