/* aws_credentials.h: the AWS credentials and region the proxy signs Bedrock requests with,
 * found the way the AWS CLI and SDKs find them (static credentials only: no SSO, no
 * credential_process, no instance metadata — those need network calls at start-up).
 *
 * Order (first that yields an access key id and secret wins):
 *   1. an explicit profile (--bedrock-profile) from the files below;
 *   2. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) from the environment;
 *   3. the profile named by AWS_PROFILE (else "default"):
 *        credentials file AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials),
 *          section [NAME]: aws_access_key_id, aws_secret_access_key, aws_session_token;
 *        config file AWS_CONFIG_FILE (default ~/.aws/config), section [profile NAME]
 *          ([default] for the default profile): the same keys, and region.
 *      The credentials file wins over the config file for the same key, as in the CLI.
 * Region: an explicit one (--bedrock-region), else AWS_REGION, AWS_DEFAULT_REGION, the
 * profile's region; "" when none (the caller then takes the region the client signed for).
 *
 * Ownership: values are copied into the struct; secrets never appear in logs or in
 * `source` (which names where they came from, for the start-up log and /health).
 */
#ifndef HR_HTTP_AWS_CREDENTIALS_H
#define HR_HTTP_AWS_CREDENTIALS_H

#include <stddef.h>

typedef struct hr_aws_credentials {
    int present;                  /* 1 when an access key id and a secret were found */
    char access_key_id[128];
    char secret_access_key[128];
    char session_token[4096];     /* "" when none; STS tokens run to ~2 KB */
    char region[64];              /* "" when none was configured */
    char source[160];             /* "environment", "profile NAME (FILE)", or "none" */
} hr_aws_credentials;

/* Fills c. profile / region may be NULL or "" (not given). 0 ok (c->present says whether
 * credentials were found); -1 when an explicit profile is missing or a value does not fit
 * (err filled). A missing default file is not an error. */
int hr_aws_credentials_load(hr_aws_credentials *c, const char *profile, const char *region,
                            char *err, size_t errlen);

#endif
