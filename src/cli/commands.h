/* commands.h: the subcommands of the headroom binary. Each lives in cli/cmd_<name>.c and
 * receives argv starting at its own name; it returns the process exit code. */
#ifndef HR_CLI_COMMANDS_H
#define HR_CLI_COMMANDS_H

typedef struct hr_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} hr_command;

int hr_cmd_version(int argc, char **argv);
int hr_cmd_proxy(int argc, char **argv);
int hr_cmd_retrieve(int argc, char **argv);
int hr_cmd_mcp(int argc, char **argv);
int hr_cmd_model(int argc, char **argv);
int hr_cmd_model_fetch(int argc, char **argv); /* `model fetch`, cmd_fetch.c */
int hr_cmd_embed(int argc, char **argv);
int hr_cmd_tokens(int argc, char **argv);
int hr_cmd_compress(int argc, char **argv);
int hr_cmd_kompress(int argc, char **argv);
int hr_cmd_wrap(int argc, char **argv);
int hr_cmd_unwrap(int argc, char **argv);
int hr_cmd_mcp_admin(int argc, char **argv); /* mcp install|uninstall|status */
int hr_cmd_install(int argc, char **argv);
int hr_cmd_uninstall(int argc, char **argv);
int hr_cmd_status(int argc, char **argv);
int hr_cmd_probe(int argc, char **argv);

#endif
