/* tenant.c: tenant key derivation and validation; see tenant.h. */
#include "sys/tenant.h"

#include "sys/ascii.h"
#include "sys/hash.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void hr_tenant_derive(const char *credential, size_t len, char out[HR_TENANT_MAX + 1])
{
    /* The prefix separates tenant keys from any other SHA-256 of the same credential. */
    static const char domain[] = "headroom-tenant:";
    if (!credential || !len) {
        credential = HR_TENANT_NO_CREDENTIAL;
        len = sizeof HR_TENANT_NO_CREDENTIAL - 1;
    }
    hr_sha256_ctx h;
    uint8_t digest[32];
    hr_sha256_init(&h);
    hr_sha256_update(&h, domain, sizeof domain - 1);
    hr_sha256_update(&h, credential, len);
    hr_sha256_final(&h, digest);
    hr_hex(digest, HR_TENANT_DERIVED_HEX / 2, out);
}

void hr_tenant_for_header(const char *value, char out[HR_TENANT_MAX + 1])
{
    if (value && !strncasecmp(value, "bearer", 6) && (value[6] == ' ' || value[6] == '\t')) {
        const char *key = value + 6;
        while (*key == ' ' || *key == '\t')
            key++;
        if (hr_tenant_for_key(key, 1, out) == 0)
            return;
    }
    hr_tenant_derive(value, value ? strlen(value) : 0, out);
}

int hr_tenant_for_key(const char *key, int as_bearer, char out[HR_TENANT_MAX + 1])
{
    char header[4096 + 8];
    int n = snprintf(header, sizeof header, "%s%s", as_bearer ? "Bearer " : "", key);
    if (n < 0 || (size_t)n >= sizeof header)
        return -1;
    hr_tenant_derive(header, (size_t)n, out);
    return 0;
}

int hr_tenant_valid(const char *s)
{
    if (!s)
        return 0;
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (n >= HR_TENANT_MAX || !(hr_is_digit(ch) || hr_is_lower(ch)))
            return 0;
    }
    return n > 0;
}

const char *hr_tenant_or_anonymous(const char *tenant, char out[HR_TENANT_MAX + 1])
{
    if (tenant && *tenant)
        return tenant;
    hr_tenant_derive(NULL, 0, out);
    return out;
}
