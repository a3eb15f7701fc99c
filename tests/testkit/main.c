/* ifpp-testkit: dispatch to the command groups of testkit.h. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "testkit.h"

static void usage(FILE *f) {
    fprintf(f, "usage: ifpp-testkit [-v] GROUP ...\n");
#define X_HELP(name, help) fprintf(f, "  %s\n", help);
    TESTKIT_GROUPS(X_HELP)
#undef X_HELP
}

int main(int argc, char **argv) {
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (!strcmp(argv[i], "-v")) {
            if (st_log_get_level() < ST_LOG_TRACE)
                st_log_set_level(st_log_get_level() + 1);
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
#define X_DISPATCH(name, help)                                                                     \
    if (!strcmp(argv[i], #name))                                                                   \
        return tk_##name##_main(argc - i, argv + i);
    TESTKIT_GROUPS(X_DISPATCH)
#undef X_DISPATCH
    fprintf(stderr, "ifpp-testkit: unknown group '%s'\n", argv[i]);
    usage(stderr);
    return 2;
}
