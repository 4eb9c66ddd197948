/* tenant.h: tenant keys, the one derivation every subsystem uses to name a client without
 * keeping its credential: the CCR store scopes originals by it, the proxy logs it and
 * keeps stats per tenant, the CLI's --tenant / --api-key-env options compute it.
 */
#ifndef HR_SYS_TENANT_H
#define HR_SYS_TENANT_H

#include <stddef.h>

#define HR_TENANT_MAX 64          /* longest tenant key */
#define HR_TENANT_DERIVED_HEX 16  /* hex length hr_tenant_derive writes */
#define HR_TENANT_NO_CREDENTIAL "anonymous" /* hashed as the credential when there is none */

/* Tenant key for a credential (the x-api-key or Authorization header value): the first
 * 16 hex chars of SHA-256("headroom-tenant:" + credential), the derivation proxy/routes.h
 * documents for hr_request.tenant, so a key names a client without revealing its
 * credential. A NULL or empty credential is taken as "anonymous", as the proxy does; that
 * tenant is the CLI and MCP default. out needs HR_TENANT_MAX + 1 bytes. */
void hr_tenant_derive(const char *credential, size_t len, char out[HR_TENANT_MAX + 1]);
/* The tenant of a request's credential header value (x-api-key, or Authorization). The
 * auth scheme is case-insensitive (RFC 9110 11.1) and separated by any run of blanks, so
 * "bearer  KEY" and "Bearer KEY" are one tenant: written as "Bearer KEY" before hashing,
 * the form hr_tenant_for_key hashes. NULL = anonymous. */
void hr_tenant_for_header(const char *value, char out[HR_TENANT_MAX + 1]);
/* The tenant of an API key as a client sends it: "x-api-key: KEY" (Anthropic clients) or
 * "Authorization: Bearer KEY" (OpenAI clients), for the CLI's --api-key-env options.
 * 0 ok, -1 key too long (over 4 KiB). */
int hr_tenant_for_key(const char *key, int as_bearer, char out[HR_TENANT_MAX + 1]);
/* 1 if s is 1..64 characters of [0-9a-z]. */
int hr_tenant_valid(const char *s);
/* tenant when it is set, else the anonymous tenant (derived into out): the tenant a request
 * without a credential reads and writes under. */
const char *hr_tenant_or_anonymous(const char *tenant, char out[HR_TENANT_MAX + 1]);

#endif
