/* cmd_mcp_admin.c: `headroom mcp install|uninstall|status`: registers the MCP server
 * (`headroom mcp serve`, cmd_mcp.c) with the coding agents found on this machine, as the
 * original's `headroom mcp install` does, and takes it back. Each agent's edit is recorded
 * in <data dir>/mcp/<agent>.state (agents.h, conf_edit.h), so uninstall restores the
 * agent's file byte for byte.
 */
#include "cli/agents.h"
#include "cli/commands.h"
#include "cli/conf_edit.h"
#include "cli/proxy_ctl.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_PICK 16

typedef struct pick {
    const hr_agent *agents[MAX_PICK];
    int n; /* 0: every agent */
} pick;

static int parse_pick(const char *cmd, int argc, char **argv, pick *p)
{
    p->n = 0;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "--agent") || !strcmp(argv[i], "-a")) && i + 1 < argc) {
            const hr_agent *a = hr_agent_find(argv[++i]);
            if (!a || hr_agent_mcp_kind(a) == HR_MCP_NONE) {
                fprintf(stderr, "headroom mcp %s: no MCP configuration for agent '%s'\n", cmd,
                        argv[i]);
                return 2;
            }
            if (p->n < MAX_PICK)
                p->agents[p->n++] = a;
        } else if (!strcmp(argv[i], "--proxy-url") && i + 1 < argc) {
            i++; /* the original's server asked the proxy; ours reads the store directly */
        } else if (!strcmp(argv[i], "--force")) {
            /* accepted (the original's option): our entry is replaced only through uninstall */
        } else {
            fprintf(!strcmp(argv[i], "--help") ? stdout : stderr,
                    "usage: headroom mcp %s [--agent NAME]...\n\n"
                    "Without --agent: every agent found on this machine that reads MCP servers "
                    "from a file\n(claude, codex, copilot, cursor, cline, continue, vibe).\n", cmd);
            return !strcmp(argv[i], "--help") ? 1 : 2;
        }
    }
    return 0;
}

static const hr_agent *nth(const pick *p, size_t i)
{
    if (p->n)
        return (int)i < p->n ? p->agents[i] : NULL;
    for (size_t k = 0, seen = 0; hr_agent_at(k); k++)
        if (hr_agent_mcp_kind(hr_agent_at(k)) != HR_MCP_NONE && seen++ == i)
            return hr_agent_at(k);
    return NULL;
}

static int state_path(const hr_agent *a, char *out, size_t n)
{
    char rel[128];
    snprintf(rel, sizeof rel, "mcp/%s.state", hr_agent_name(a));
    return hr_data_path(rel, out, n);
}

static int install_one(const hr_agent *a, int explicit)
{
    char file[4096], state[4096], err[512];
    if (!explicit && !hr_agent_detected(a))
        return 0;
    hr_conf_state st;
    if (hr_agent_mcp_path(a, file, sizeof file) != 0 || state_path(a, state, sizeof state) != 0 ||
        hr_conf_state_load(&st, state) != 0) {
        printf("%-9s cannot resolve its config file (HOME unset?)\n", hr_agent_name(a));
        return 1;
    }
    int rc = hr_agent_mcp_register(a, &st, err, sizeof err);
    if (rc < 0)
        printf("%-9s failed: %s\n", hr_agent_name(a), err);
    else if (rc == 0)
        printf("%-9s %s %s\n", hr_agent_name(a),
               hr_agent_mcp_registered(a) ? "already registered in" : "not installed (no",
               hr_agent_mcp_registered(a) ? file : "settings directory)");
    else if (hr_conf_state_save(&st, state) != 0)
        printf("%-9s registered in %s, but %s could not be saved\n", hr_agent_name(a), file, state);
    else
        printf("%-9s registered in %s\n", hr_agent_name(a), file);
    hr_conf_state_free(&st);
    return rc < 0;
}

static int uninstall_one(const hr_agent *a)
{
    char file[4096], state[4096], err[512];
    hr_conf_state st;
    if (hr_agent_mcp_path(a, file, sizeof file) != 0 || state_path(a, state, sizeof state) != 0 ||
        hr_conf_state_load(&st, state) != 0)
        return 1;
    int rc = 0;
    if (st.n) {
        rc = hr_agent_mcp_undo(a, &st, err, sizeof err);
        if (rc == 0)
            unlink(state);
        printf("%-9s %s%s\n", hr_agent_name(a), rc ? "failed: " : "removed from ", rc ? err : file);
    } else if (hr_agent_mcp_registered(a)) {
        printf("%-9s registered in %s by something else (not by this headroom); left as is\n",
               hr_agent_name(a), file);
    }
    hr_conf_state_free(&st);
    return rc != 0;
}

static int status(void)
{
    char file[4096];
    printf("%-9s %-9s %-10s %s\n", "agent", "found", "mcp", "config file");
    for (size_t i = 0; hr_agent_at(i); i++) {
        const hr_agent *a = hr_agent_at(i);
        if (hr_agent_mcp_kind(a) == HR_MCP_NONE || hr_agent_mcp_path(a, file, sizeof file) != 0)
            continue;
        printf("%-9s %-9s %-10s %s\n", hr_agent_name(a), hr_agent_detected(a) ? "yes" : "no",
               hr_agent_mcp_registered(a) ? "registered" : "-", file);
    }
    return 0;
}

int hr_cmd_mcp_admin(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (!strcmp(cmd, "status"))
        return status();
    pick p;
    int rc = parse_pick(cmd, argc, argv, &p);
    if (rc)
        return rc == 1 ? 0 : rc;
    int failed = 0;
    for (size_t i = 0; nth(&p, i); i++)
        failed |= !strcmp(cmd, "install") ? install_one(nth(&p, i), p.n > 0)
                                          : uninstall_one(nth(&p, i));
    return failed ? 1 : 0;
}
