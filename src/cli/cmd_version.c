/* cmd_version.c: `headroom version`. */
#include "cli/commands.h"

#include <stdio.h>

int hr_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("headroom %s\n", HEADROOM_VERSION);
    return 0;
}
