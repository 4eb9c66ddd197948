/* command_settings.c: see command_settings.h. The order is the docs'. */
#include "proxy/command_settings.h"

#define ROW(...) HR_SETTING_ROW(hr_command_config, __VA_ARGS__, 0)

static const hr_setting_row ROWS[] = {
    ROW("model_max_seq", "--max-seq", "HEADROOM_MODEL_MAX_SEQ", HR_SETTING_INT, model_max_seq,
        1, HR_COMMAND_MAX_SEQ_MAX, NULL,
        "model import/fetch: longest input in tokens the model file is prepared for "
        "(default: the model directory's, capped by its positions)"),
    ROW("hf_base_url", "--base-url", "HEADROOM_HF_BASE_URL", HR_SETTING_BORROW, hf_base_url, 0,
        0, "https://huggingface.co", "model fetch: the Hub or a mirror files are fetched from"),
    ROW("wrap_proxy_timeout", NULL, "HEADROOM_WRAP_PROXY_TIMEOUT", HR_SETTING_INT,
        wrap_proxy_timeout_s, 1, 86400, "45",
        "seconds wrap waits for the proxy it starts to be ready (45)"),
};

const hr_setting_table hr_command_settings = HR_SETTING_TABLE(ROWS);

int hr_command_config_load(hr_command_config *c, char *err, size_t errlen)
{
    hr_settings_init(&hr_command_settings, c, sizeof *c);
    if (hr_settings_from_env(&hr_command_settings, c, err, errlen) == 0)
        return 0;
    hr_settings_init(&hr_command_settings, c, sizeof *c);
    return -1;
}
