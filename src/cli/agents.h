/* agents.h: the coding agents `headroom wrap` and `headroom mcp install` know, one row
 * each (agents.c): the executable, the base-URL variables it reads, and where its MCP
 * server list lives. The agents are the ones the original wraps.
 *
 * MCP registration writes the entry `headroom` -> `<this binary> mcp serve` into the
 * agent's own file (JSON member, TOML block, or a file of its own), through conf_edit so
 * that unwrap / mcp uninstall take back exactly those bytes.
 */
#ifndef HR_CLI_AGENTS_H
#define HR_CLI_AGENTS_H

#include "cli/conf_edit.h"

#include <stddef.h>
#include <stdio.h>

typedef enum { HR_MCP_NONE, HR_MCP_JSON, HR_MCP_TOML, HR_MCP_OWN_FILE } hr_mcp_kind;

typedef struct hr_agent hr_agent;

const hr_agent *hr_agent_find(const char *name);
const hr_agent *hr_agent_at(size_t i); /* NULL past the last */
const char *hr_agent_name(const hr_agent *a);
const char *hr_agent_exe(const hr_agent *a);
int hr_agent_is_editor(const hr_agent *a); /* configured inside an editor (Cursor, ...) */
hr_mcp_kind hr_agent_mcp_kind(const hr_agent *a);

/* The agent's MCP config file path; 0 ok, -1 the agent has none or HOME is unset. */
int hr_agent_mcp_path(const hr_agent *a, char *out, size_t n);
/* 1 if the agent looks installed: its executable on PATH or its config directory exists. */
int hr_agent_detected(const hr_agent *a);
/* 1 if the headroom MCP entry is in the agent's config file. */
int hr_agent_mcp_registered(const hr_agent *a);

/* Registers `headroom mcp serve` with the agent, recording the edit in st. 1 registered,
 * 0 already there (or the agent has no MCP config we write), -1 error (err). */
int hr_agent_mcp_register(const hr_agent *a, hr_conf_state *st, char *err, size_t errlen);
/* Undoes st's edits for this agent (the JSON member is found even if the agent reformatted
 * its file). 0 ok, -1 error (err). */
int hr_agent_mcp_undo(const hr_agent *a, const hr_conf_state *st, char *err, size_t errlen);

/* Sets the variables that point the agent at the proxy on port (in this process's
 * environment, for the exec that follows); prints each to `out` when not NULL. */
int hr_agent_apply_env(const hr_agent *a, int port, FILE *out);

/* What to do by hand for an editor agent whose executable is not on PATH. */
void hr_agent_instructions(const hr_agent *a, int port, FILE *out);

/* Looks for exe on PATH; fills out with its path. 0 found. */
int hr_find_on_path(const char *exe, char *out, size_t n);

#endif
