/* codex.h: where Codex's Responses requests go.
 *
 * Codex (the OpenAI CLI) talks the Responses API. With an API key it uses
 * `<base>/responses` on api.openai.com; signed in with ChatGPT it sends the same requests
 * with a `chatgpt-account-id` header to ChatGPT's backend
 * (https://chatgpt.com/backend-api/codex/responses). The original proxy accepts Codex on
 * `/v1/responses` and on two alias prefixes, `/backend-api/codex/...` and `/v1/codex/...`,
 * and sends requests carrying an account id to the ChatGPT backend. We do the same, for
 * HTTP (forward.c) and WebSocket (ws_relay.c) alike:
 *
 *   target (raw, with query)            chatgpt-account-id   upstream URL
 *   /v1/responses...                    absent               <openai>/v1/responses...
 *   /v1/responses...                    present              <chatgpt>/responses...
 *   /backend-api/codex/X, /v1/codex/X   absent               <openai>/v1/X
 *   /backend-api/codex/X, /v1/codex/X   present              <chatgpt>/X
 *
 * <chatgpt> is --chatgpt-backend-url (tests point it at a fake). Prefixes are matched on
 * the raw target, so a percent-encoded spelling is never taken for an alias. What is
 * compressed and how is the API rows' business: POST .../responses on an alias is Codex's
 * row (hr_api_codex_responses, the Responses hooks); this file only says where requests go,
 * which depends on the proxy's settings and so is no row hook.
 */
#ifndef HR_PROXY_CODEX_H
#define HR_PROXY_CODEX_H

#include "sys/buf.h"

/* 1 when path (decoded, no query) is a Responses create path: /v1/responses or an alias
 * prefix + /responses. */
int hr_codex_is_responses(const char *path);
/* 1 when path is under one of the alias prefixes. */
int hr_codex_is_alias(const char *path);

/* Appends the upstream URL for target to url when the rules above choose one: 1 then, 0
 * when target is neither /v1/responses nor an alias (the caller's default applies), -1 out
 * of memory. account_id: the chatgpt-account-id header or NULL. */
int hr_codex_upstream_url(const char *target, const char *account_id, hr_buf *url);

#endif
