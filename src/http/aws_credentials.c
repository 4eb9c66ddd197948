/* aws_credentials.c: see aws_credentials.h. The two files are INI as the AWS CLI writes
 * them: "[section]" lines, "key = value" lines, '#' and ';' comments, and indented lines
 * (nested settings such as "s3 =" blocks) that belong to the key above and are skipped. */
#include "http/aws_credentials.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct wanted {
    const char *key;
    char *out;
    size_t cap;
    int found;
} wanted;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* 1 when line is "[name]" for the section we want. */
static int section_is(char *line, const char *section)
{
    char *end = strchr(line, ']');
    if (line[0] != '[' || !end)
        return 0;
    *end = '\0';
    char *name = trim(line + 1);
    /* "[profile  x]" with more spaces is accepted by the CLI too */
    if (!strncmp(section, "profile ", 8) && !strncmp(name, "profile", 7) &&
        (name[7] == ' ' || name[7] == '\t'))
        return strcmp(trim(name + 7), section + 8) == 0;
    return strcmp(name, section) == 0;
}

/* Reads the keys in w from [section] of path into the entries not found yet. 0 ok or file
 * absent (as the CLI, a missing file is an empty one), -1 a value too long (err filled). */
static int read_section(const char *path, const char *section, wanted *w, size_t n,
                        int *section_seen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[8192];
    int in = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        if (line[0] == ' ' || line[0] == '\t') /* continuation of a nested setting */
            continue;
        char *s = trim(line);
        if (*s == '#' || *s == ';' || !*s)
            continue;
        if (*s == '[') {
            in = section_is(s, section);
            *section_seen |= in;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!in || !eq)
            continue;
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        for (size_t i = 0; i < n; i++) {
            if (w[i].found || strcasecmp(key, w[i].key) != 0)
                continue;
            if (strlen(val) >= w[i].cap) {
                snprintf(err, errlen, "%s in %s [%s] is too long", w[i].key, path, section);
                rc = -1;
                break;
            }
            memcpy(w[i].out, val, strlen(val) + 1);
            w[i].found = 1;
        }
    }
    fclose(f);
    return rc;
}

static int copy_env(const char *name, char *out, size_t cap, char *err, size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    if (strlen(v) >= cap) {
        snprintf(err, errlen, "%s is too long", name);
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 1;
}

static void file_path(const char *env, const char *leaf, char *out, size_t cap)
{
    const char *v = getenv(env), *home = getenv("HOME");
    if (v && *v)
        snprintf(out, cap, "%s", v);
    else
        snprintf(out, cap, "%s/.aws/%s", home && *home ? home : ".", leaf);
}

/* Credentials (and region) of a profile: the credentials file first, then the config file
 * for whatever is still missing. */
static int load_profile(hr_aws_credentials *c, const char *profile, int explicit_profile,
                        char *err, size_t errlen)
{
    char cred_path[1024], conf_path[1024], conf_section[256];
    file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", cred_path, sizeof cred_path);
    file_path("AWS_CONFIG_FILE", "config", conf_path, sizeof conf_path);
    if (!strcmp(profile, "default"))
        snprintf(conf_section, sizeof conf_section, "default");
    else
        snprintf(conf_section, sizeof conf_section, "profile %s", profile);
    char region[sizeof c->region] = "";
    wanted w[] = {
        {"aws_access_key_id", c->access_key_id, sizeof c->access_key_id, 0},
        {"aws_secret_access_key", c->secret_access_key, sizeof c->secret_access_key, 0},
        {"aws_session_token", c->session_token, sizeof c->session_token, 0},
        {"region", region, sizeof region, 0},
    };
    int seen = 0;
    if (read_section(cred_path, profile, w, 4, &seen, err, errlen) != 0)
        return -1;
    int key_in_credentials = w[0].found;
    if (read_section(conf_path, conf_section, w, 4, &seen, err, errlen) != 0)
        return -1;
    if (explicit_profile && !seen) {
        snprintf(err, errlen, "AWS profile '%s' is in neither %s nor %s", profile, cred_path,
                 conf_path);
        return -1;
    }
    if (!c->region[0])
        memcpy(c->region, region, sizeof region);
    c->present = w[0].found && w[1].found;
    if (c->present)
        snprintf(c->source, sizeof c->source, "profile %.40s (%.100s)", profile,
                 key_in_credentials ? cred_path : conf_path);
    else
        c->access_key_id[0] = c->secret_access_key[0] = c->session_token[0] = '\0';
    return 0;
}

static int region_from_env(hr_aws_credentials *c, char *err, size_t errlen)
{
    int rc = copy_env("AWS_REGION", c->region, sizeof c->region, err, errlen);
    if (rc == 0)
        rc = copy_env("AWS_DEFAULT_REGION", c->region, sizeof c->region, err, errlen);
    return rc < 0 ? -1 : 0;
}

int hr_aws_credentials_load(hr_aws_credentials *c, const char *profile, const char *region,
                            char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    snprintf(c->source, sizeof c->source, "none");
    if (region && *region) {
        if (strlen(region) >= sizeof c->region) {
            snprintf(err, errlen, "--bedrock-region is too long");
            return -1;
        }
        memcpy(c->region, region, strlen(region) + 1);
    } else if (region_from_env(c, err, errlen) != 0) {
        return -1;
    }
    if (profile && *profile)
        return load_profile(c, profile, 1, err, errlen);
    int a = copy_env("AWS_ACCESS_KEY_ID", c->access_key_id, sizeof c->access_key_id, err, errlen);
    int s = a < 0 ? -1 : copy_env("AWS_SECRET_ACCESS_KEY", c->secret_access_key,
                                  sizeof c->secret_access_key, err, errlen);
    if (a < 0 || s < 0)
        return -1;
    if (a == 1 && s == 1) {
        if (copy_env("AWS_SESSION_TOKEN", c->session_token, sizeof c->session_token, err, errlen) < 0)
            return -1;
        c->present = 1;
        snprintf(c->source, sizeof c->source, "environment");
        return 0;
    }
    c->access_key_id[0] = c->secret_access_key[0] = '\0';
    const char *env_profile = getenv("AWS_PROFILE");
    return load_profile(c, env_profile && *env_profile ? env_profile : "default", 0, err, errlen);
}
