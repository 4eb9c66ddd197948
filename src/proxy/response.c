/* response.c: the request/response helpers of routes.h: header and query lookup on an
 * hr_request, building an hr_response. Plain data and hr_buf only, so handlers are
 * testable without a server. Error bodies are the API row's (api/api.h). */
#include "proxy/routes.h"

#include "json/json.h"
#include "sys/ascii.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *hr_request_header(const hr_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[2 * i], name) == 0)
            return req->headers[2 * i + 1];
    return NULL;
}

/* Appends the URL-decoded form (+ is a space, %XX a byte) of s[0..n). */
static int url_decode_append(hr_buf *out, const char *s, size_t n)
{
    if (hr_buf_reserve(out, n + 1) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n) {
            int hi = hr_hex_val((unsigned char)s[i + 1]);
            int lo = hr_hex_val((unsigned char)s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = hi * 16 + lo;
                i += 2;
            }
        }
        out->data[out->len++] = (char)c;
    }
    out->data[out->len] = 0;
    return 0;
}

int hr_request_query_param(const hr_request *req, const char *name, hr_buf *out)
{
    const char *q = req->query ? req->query : "";
    size_t name_len = strlen(name);
    while (*q) {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t key_len = eq ? (size_t)(eq - q) : len;
        hr_buf key = HR_BUF_INIT;
        if (url_decode_append(&key, q, key_len) != 0)
            return -1;
        int same = key.len == name_len && memcmp(key.data, name, name_len) == 0;
        hr_buf_free(&key);
        if (same) {
            if (!eq)
                return hr_buf_reserve(out, 1) == 0 ? (out->data[out->len] = 0, 1) : -1;
            return url_decode_append(out, eq + 1, len - key_len - 1) == 0 ? 1 : -1;
        }
        q += len + (end ? 1 : 0);
    }
    return 0;
}

int hr_response_body(hr_response *res, int status, const char *content_type, const char *data,
                     size_t len)
{
    char *ct = NULL;
    if (content_type && !(ct = strdup(content_type)))
        return -1;
    hr_buf_reset(&res->body);
    if (len && hr_buf_append(&res->body, data, len) != 0) {
        free(ct);
        return -1;
    }
    free(res->content_type);
    res->content_type = ct;
    res->status = status;
    return 0;
}

int hr_response_json(hr_response *res, int status, const char *json, size_t len)
{
    return hr_response_body(res, status, "application/json", json, len);
}

int hr_response_header(hr_response *res, const char *name, const char *value)
{
    if (res->n_headers >= HR_RESPONSE_MAX_HEADERS)
        return -1;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    res->header_names[res->n_headers] = n;
    res->header_values[res->n_headers] = v;
    res->n_headers++;
    return 0;
}

int hr_response_error(hr_response *res, const hr_api *api, int status, const char *type,
                      const char *code, const char *fmt, ...)
{
    hr_buf msg = HR_BUF_INIT, body = HR_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    int rc = hr_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (rc == 0)
        rc = api->error_json(&body, status, type, code, msg.data ? msg.data : "");
    if (rc == 0)
        rc = hr_response_json(res, status, body.data, body.len);
    if (rc == 0 && api->error_header)
        rc = hr_response_header(res, api->error_header, api->error_header_value(status));
    hr_buf_free(&msg);
    hr_buf_free(&body);
    return rc;
}

void hr_response_free(hr_response *res)
{
    hr_buf_free(&res->body);
    free(res->content_type);
    for (int i = 0; i < res->n_headers; i++) {
        free(res->header_names[i]);
        free(res->header_values[i]);
    }
    memset(res, 0, sizeof *res);
}
