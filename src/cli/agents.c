/* agents.c: one row per coding agent (see agents.h). Base URLs: Anthropic clients take the
 * proxy's root, OpenAI clients its /v1; an agent that reads a model-dependent variable has
 * an adjust hook. */
#include "cli/agents.h"

#include "cli/proxy_ctl.h"
#include "json/json.h"
#include "sys/buf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { V_NONE, V_BASE, V_V1 } url_kind; /* http://127.0.0.1:P, or with /v1 */

typedef struct env_row {
    const char *name;
    url_kind url;
} env_row;

struct hr_agent {
    const char *name;
    const char *exe;
    int editor;              /* configured inside an editor: wrap prints settings if no exe */
    env_row env[4];
    hr_mcp_kind mcp;
    const char *dir_env;     /* variable that relocates the agent's config dir, or NULL */
    const char *dir;         /* else this, under $HOME ("" = $HOME itself) */
    const char *file;        /* the MCP config file in that dir */
    int dir_must_exist;      /* an editor's storage dir: never created by us */
    const char *json_extra;  /* members the agent's MCP entry needs before "command" */
    void (*adjust)(int port, const char *base, const char *v1); /* extra variables */
};

static void adjust_copilot(int port, const char *base, const char *v1);
static void adjust_openhands(int port, const char *base, const char *v1);
static void adjust_opencode(int port, const char *base, const char *v1);

static const struct hr_agent AGENTS[] = {
    {"claude", "claude", 0, {{"ANTHROPIC_BASE_URL", V_BASE}}, HR_MCP_JSON, "CLAUDE_CONFIG_DIR", "",
     ".claude.json", 0, "", NULL},
    {"codex", "codex", 0, {{"OPENAI_BASE_URL", V_V1}}, HR_MCP_TOML, "CODEX_HOME", ".codex",
     "config.toml", 0, NULL, NULL},
    {"copilot", "copilot", 0, {{NULL, V_NONE}}, HR_MCP_JSON, NULL, ".copilot", "mcp-config.json",
     0, "\"type\": \"local\", \"tools\": [\"*\"], ", adjust_copilot},
    {"aider", "aider", 0,
     {{"OPENAI_API_BASE", V_V1}, {"ANTHROPIC_API_BASE", V_BASE}, {"ANTHROPIC_BASE_URL", V_BASE}},
     HR_MCP_NONE, NULL, NULL, NULL, 0, NULL, NULL},
    {"cursor", "cursor-agent", 1, {{"OPENAI_BASE_URL", V_V1}, {"ANTHROPIC_BASE_URL", V_BASE}},
     HR_MCP_JSON, NULL, ".cursor", "mcp.json", 0, "", NULL},
    {"cline", "cline", 1, {{"OPENAI_BASE_URL", V_V1}, {"ANTHROPIC_BASE_URL", V_BASE}}, HR_MCP_JSON,
     NULL, ".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings",
     "cline_mcp_settings.json", 1, "", NULL},
    {"continue", "cn", 1, {{"OPENAI_BASE_URL", V_V1}, {"ANTHROPIC_BASE_URL", V_BASE}},
     HR_MCP_OWN_FILE, NULL, ".continue/mcpServers", "headroom.yaml", 0, NULL, NULL},
    {"goose", "goose", 0, {{"ANTHROPIC_HOST", V_BASE}, {"OPENAI_HOST", V_BASE}}, HR_MCP_NONE, NULL,
     NULL, NULL, 0, NULL, NULL},
    {"openhands", "openhands", 0, {{NULL, V_NONE}}, HR_MCP_NONE, NULL, NULL, NULL, 0, NULL,
     adjust_openhands},
    {"openclaw", "openclaw", 0, {{"ANTHROPIC_BASE_URL", V_BASE}, {"OPENAI_BASE_URL", V_V1}},
     HR_MCP_NONE, NULL, NULL, NULL, 0, NULL, NULL},
    {"opencode", "opencode", 0, {{NULL, V_NONE}}, HR_MCP_NONE, NULL, NULL, NULL, 0, NULL,
     adjust_opencode},
    {"vibe", "vibe", 0, {{"OPENAI_BASE_URL", V_V1}}, HR_MCP_TOML, "VIBE_HOME", ".vibe",
     "config.toml", 0, NULL, NULL},
};

#define N_AGENTS (sizeof AGENTS / sizeof AGENTS[0])

const hr_agent *hr_agent_at(size_t i) { return i < N_AGENTS ? &AGENTS[i] : NULL; }
const char *hr_agent_name(const hr_agent *a) { return a->name; }
const char *hr_agent_exe(const hr_agent *a) { return a->exe; }
int hr_agent_is_editor(const hr_agent *a) { return a->editor; }
hr_mcp_kind hr_agent_mcp_kind(const hr_agent *a) { return a->mcp; }

const hr_agent *hr_agent_find(const char *name)
{
    for (size_t i = 0; i < N_AGENTS; i++)
        if (!strcasecmp(AGENTS[i].name, name))
            return &AGENTS[i];
    return NULL;
}

static int config_dir(const hr_agent *a, char *out, size_t n)
{
    const char *v = a->dir_env ? getenv(a->dir_env) : NULL;
    const char *home = getenv("HOME");
    if (v && *v)
        return snprintf(out, n, "%s", v) < (int)n ? 0 : -1;
    if (!a->dir || !home || !*home)
        return -1;
    return snprintf(out, n, "%s%s%s", home, *a->dir ? "/" : "", a->dir) < (int)n ? 0 : -1;
}

int hr_agent_mcp_path(const hr_agent *a, char *out, size_t n)
{
    char dir[3072];
    if (a->mcp == HR_MCP_NONE || config_dir(a, dir, sizeof dir) != 0)
        return -1;
    return snprintf(out, n, "%s/%s", dir, a->file) < (int)n ? 0 : -1;
}

int hr_find_on_path(const char *exe, char *out, size_t n)
{
    const char *path = getenv("PATH");
    for (const char *p = path; p && *p;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len && snprintf(out, n, "%.*s/%s", (int)len, p, exe) < (int)n &&
            access(out, X_OK) == 0)
            return 0;
        p = colon ? colon + 1 : NULL;
    }
    return -1;
}

int hr_agent_detected(const hr_agent *a)
{
    char buf[4096];
    struct stat sb;
    if (hr_find_on_path(a->exe, buf, sizeof buf) == 0)
        return 1;
    /* its config dir; Claude Code keeps its file in $HOME itself, so its dir is ~/.claude */
    const char *home = getenv("HOME");
    int ok = !strcmp(a->name, "claude") && !getenv("CLAUDE_CONFIG_DIR")
                 ? home && snprintf(buf, sizeof buf, "%s/.claude", home) < (int)sizeof buf
                 : config_dir(a, buf, sizeof buf) == 0;
    return ok && stat(buf, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* ---- the MCP entry in each format ------------------------------------------------------ */

/* A JSON string literal; TOML basic strings and YAML double-quoted strings accept the same
 * escapes for the paths we write. */
static void quoted(hr_buf *b, const char *s) { hr_json_write_string(b, s, strlen(s)); }

static const char *const MARK = "# headroom MCP server: `headroom unwrap` / `headroom mcp "
                                "uninstall` remove this block\n";

static int entry_text(const hr_agent *a, hr_buf *b)
{
    char exe[4096];
    if (hr_self_exe(exe, sizeof exe) != 0)
        return -1;
    const char *data_dir = getenv("HEADROOM_DATA_DIR");
    int with_env = data_dir && *data_dir;
    if (a->mcp == HR_MCP_JSON) {
        hr_buf_printf(b, "{%s\"command\": ", a->json_extra);
        quoted(b, exe);
        hr_buf_puts(b, ", \"args\": [\"mcp\", \"serve\"]");
        if (with_env) {
            hr_buf_puts(b, ", \"env\": {\"HEADROOM_DATA_DIR\": ");
            quoted(b, data_dir);
            hr_buf_putc(b, '}');
        }
        hr_buf_putc(b, '}');
    } else if (a->mcp == HR_MCP_TOML) {
        int vibe = !strcmp(a->name, "vibe"); /* vibe: an array of tables with a name */
        hr_buf_puts(b, MARK);
        hr_buf_puts(b, vibe ? "[[mcp_servers]]\nname = \"headroom\"\ntransport = \"stdio\"\n"
                            : "[mcp_servers.headroom]\n");
        hr_buf_puts(b, "command = ");
        quoted(b, exe);
        hr_buf_puts(b, "\nargs = [\"mcp\", \"serve\"]\n");
        if (with_env) {
            hr_buf_puts(b, "env = { HEADROOM_DATA_DIR = ");
            quoted(b, data_dir);
            hr_buf_puts(b, " }\n");
        }
    } else { /* Continue: one YAML block file per MCP server */
        hr_buf_puts(b, "name: headroom\nversion: 0.0.1\nschema: v1\nmcpServers:\n"
                       "  - name: headroom\n    command: ");
        quoted(b, exe);
        hr_buf_puts(b, "\n    args: [\"mcp\", \"serve\"]\n");
        if (with_env) {
            hr_buf_puts(b, "    env:\n      HEADROOM_DATA_DIR: ");
            quoted(b, data_dir);
            hr_buf_putc(b, '\n');
        }
    }
    return b->data ? 0 : -1;
}

static const char *toml_present(const hr_agent *a)
{
    return !strcmp(a->name, "vibe") ? "name = \"headroom\"" : "[mcp_servers.headroom]";
}

int hr_agent_mcp_register(const hr_agent *a, hr_conf_state *st, char *err, size_t errlen)
{
    char path[4096], dir[3072];
    if (a->mcp == HR_MCP_NONE || hr_agent_mcp_path(a, path, sizeof path) != 0)
        return 0;
    struct stat sb;
    if (a->dir_must_exist && (config_dir(a, dir, sizeof dir) != 0 || stat(dir, &sb) != 0))
        return 0; /* the editor extension is not installed: nothing to register with */
    hr_buf entry = HR_BUF_INIT;
    int rc = -1;
    if (entry_text(a, &entry) != 0)
        snprintf(err, errlen, "cannot build the MCP entry");
    else if (a->mcp == HR_MCP_JSON)
        rc = hr_conf_json_add(st, path, "mcpServers", "headroom", entry.data, err, errlen);
    else if (a->mcp == HR_MCP_TOML)
        rc = hr_conf_text_append(st, path, entry.data, toml_present(a), err, errlen);
    else
        rc = hr_conf_file_create(st, path, entry.data, err, errlen);
    hr_buf_free(&entry);
    return rc;
}

int hr_agent_mcp_registered(const hr_agent *a)
{
    char path[4096];
    if (a->mcp == HR_MCP_NONE || hr_agent_mcp_path(a, path, sizeof path) != 0)
        return 0;
    size_t len = 0;
    char *s = hr_buf_read_file(path, &len);
    int found = 0;
    if (s && a->mcp == HR_MCP_JSON) {
        hr_json_doc d;
        hr_json_error je;
        hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
        if (hr_json_parse(&d, s, len, &lim, &je) == 0) {
            uint32_t box = d.nodes[0].type == HR_JSON_OBJECT ? hr_json_get(&d, 0, "mcpServers")
                                                             : HR_JSON_NONE;
            found = hr_json_is(&d, box, HR_JSON_OBJECT) &&
                    hr_json_get(&d, box, "headroom") != HR_JSON_NONE;
            hr_json_doc_free(&d);
        }
    } else if (s) {
        found = a->mcp == HR_MCP_OWN_FILE || strstr(s, toml_present(a)) != NULL;
    }
    free(s);
    return found;
}

int hr_agent_mcp_undo(const hr_agent *a, const hr_conf_state *st, char *err, size_t errlen)
{
    int json = a->mcp == HR_MCP_JSON;
    return hr_conf_undo(st, json ? "mcpServers" : NULL, json ? "headroom" : NULL, err, errlen);
}

/* ---- environment ------------------------------------------------------------------------ */

static FILE *g_env_out; /* where hr_agent_apply_env reports (NULL: quiet) */

static void set(const char *name, const char *value)
{
    setenv(name, value, 1);
    if (g_env_out)
        fprintf(g_env_out, "  %s=%s\n", name, value);
}

static void adjust_copilot(int port, const char *base, const char *v1)
{
    (void)port;
    /* Copilot CLI's bring-your-own-key provider: OpenAI-compatible unless told anthropic */
    const char *type = getenv("COPILOT_PROVIDER_TYPE");
    int anthropic = type && !strcasecmp(type, "anthropic");
    set("COPILOT_PROVIDER_TYPE", anthropic ? "anthropic" : "openai");
    set("COPILOT_PROVIDER_BASE_URL", anthropic ? base : v1);
    const char *key = getenv(anthropic ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY");
    if (!getenv("COPILOT_PROVIDER_API_KEY") && key)
        setenv("COPILOT_PROVIDER_API_KEY", key, 1); /* a credential: never printed */
}

static void adjust_openhands(int port, const char *base, const char *v1)
{
    (void)port;
    /* LiteLLM appends /v1/messages to an Anthropic base and /chat/completions to others */
    const char *model = getenv("LLM_MODEL");
    int anthropic = model && (strstr(model, "anthropic") || strstr(model, "claude"));
    set("LLM_BASE_URL", anthropic ? base : v1);
}

static void adjust_opencode(int port, const char *base, const char *v1)
{
    (void)port;
    (void)base;
    /* opencode merges this JSON over its config files: both providers through the proxy and
     * the MCP server, with nothing written to disk */
    char exe[4096];
    hr_buf b = HR_BUF_INIT;
    hr_buf_puts(&b, "{\"$schema\":\"https://opencode.ai/config.json\",\"provider\":{"
                    "\"anthropic\":{\"options\":{\"baseURL\":");
    quoted(&b, v1);
    hr_buf_puts(&b, "}},\"openai\":{\"options\":{\"baseURL\":");
    quoted(&b, v1);
    hr_buf_puts(&b, "}}}");
    if (hr_self_exe(exe, sizeof exe) == 0) {
        hr_buf_puts(&b, ",\"mcp\":{\"headroom\":{\"type\":\"local\",\"command\":[");
        quoted(&b, exe);
        hr_buf_puts(&b, ",\"mcp\",\"serve\"],\"enabled\":true}}");
    }
    hr_buf_putc(&b, '}');
    if (!hr_buf_failed(&b))
        set("OPENCODE_CONFIG_CONTENT", b.data);
    hr_buf_free(&b);
}

int hr_agent_apply_env(const hr_agent *a, int port, FILE *out)
{
    char base[64], v1[80];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    snprintf(v1, sizeof v1, "%s/v1", base);
    g_env_out = out;
    for (const env_row *e = a->env; e < a->env + 4 && e->name; e++)
        set(e->name, e->url == V_V1 ? v1 : base);
    if (a->adjust)
        a->adjust(port, base, v1);
    g_env_out = NULL;
    return 0;
}

void hr_agent_instructions(const hr_agent *a, int port, FILE *out)
{
    fprintf(out, "%s is configured inside its editor. In its model settings set:\n"
                 "  OpenAI base URL     http://127.0.0.1:%d/v1\n"
                 "  Anthropic base URL  http://127.0.0.1:%d\n"
                 "(`headroom unwrap %s` takes back the MCP registration; the proxy keeps "
                 "running: `headroom status`.)\n",
            a->name, port, port, a->name);
}
