/* main.c: entry point; dispatches to a subcommand (see commands.h). */
#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

static const hr_command COMMANDS[] = {
    {"version", "print the version", hr_cmd_version},
    {"proxy", "run the compression proxy (OpenAI + Anthropic compatible)", hr_cmd_proxy},
    {"retrieve", "print a stored original by hash (CCR), optionally filtered by a query", hr_cmd_retrieve},
    {"mcp", "MCP server on stdio: headroom_retrieve, headroom_compress, headroom_stats", hr_cmd_mcp},
    {"model", "import a model directory, inspect a model file", hr_cmd_model},
    {"embed", "embed stdin lines with the sentence embedder (JSON lines)", hr_cmd_embed},
    {"kompress", "run Kompress (ModernBERT prose compressor) on stdin, or print word scores", hr_cmd_kompress},
    {"tokens", "fetch tokenizer files, count tokens", hr_cmd_tokens},
    {"compress", "compress a request body or tool output from stdin (as the proxy would)", hr_cmd_compress},
    {"wrap", "run a coding agent (claude, codex, aider, ...) through the proxy", hr_cmd_wrap},
    {"unwrap", "undo what wrap registered with an agent", hr_cmd_unwrap},
    {"install", "run the proxy as a systemd service (user, or system as root)", hr_cmd_install},
    {"uninstall", "stop and remove the systemd service", hr_cmd_uninstall},
    {"status", "what runs where: proxy, service, wrapped agents, MCP registrations", hr_cmd_status},
    {"probe", "exit 0 when the local proxy answers GET /livez (or PATH) with 200", hr_cmd_probe},
};

#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *out)
{
    fprintf(out, "headroom %s: context-compression proxy for AI agents\n\n"
                 "usage: headroom <command> [options]\n\ncommands:\n",
            HEADROOM_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\nRun 'headroom <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V"))
        name = "version";
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(COMMANDS[i].name, name))
            return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "headroom: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
