/* command_settings.h: the settings of the CLI commands besides `proxy` — model import and
 * fetch, wrap — as rows (sys/settings.h), so their flags, variables, bounds and error
 * messages come from one place and unit.proxy_config checks docs/configuration.md against
 * them as it does the proxy's own. (The client commands' --port is the proxy's port row:
 * proxy/config.h hr_proxy_port_of.)
 *
 * Why here: the rows must be in a library the tests link, and the CLI is only the binary.
 * Each command loads the whole table (defaults, then the environment) and takes the flags
 * of the rows it uses with hr_settings_arg / hr_settings_alias.
 */
#ifndef HR_PROXY_COMMAND_SETTINGS_H
#define HR_PROXY_COMMAND_SETTINGS_H

#include "sys/settings.h"

#include <stddef.h>

typedef struct hr_command_config {
    int model_max_seq;        /* model import / fetch --max-seq; 0 = from the model directory */
    const char *hf_base_url;  /* model fetch --base-url: the Hub or a mirror (borrowed) */
    int wrap_proxy_timeout_s; /* wrap: seconds to wait for the proxy it starts */
} hr_command_config;

extern const hr_setting_table hr_command_settings;

/* The longest input a model may be imported for (and `headroom embed --max-seq`). */
#define HR_COMMAND_MAX_SEQ_MAX 65536

/* Defaults, then the environment. 0 ok; -1 with err naming the variable (c then holds the
 * defaults for every row). */
int hr_command_config_load(hr_command_config *c, char *err, size_t errlen);

#endif
