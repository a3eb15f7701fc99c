/*
 * ifpp-station - the air-gapped SGP.41 In-Factory Profile Provisioning station.
 *
 * main() parses the global options and dispatches to one command; only this file may exit().
 * Exit codes (DESIGN §4): 0 ok, 1 operation failed, 2 usage or configuration error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/status.h"
#include "cli.h"
#include "ifpp_config.h"

typedef int (*cmd_fn)(const global_opts_t *g, int argc, char **argv);

static int cmd_version(const global_opts_t *g, int argc, char **argv) {
    (void)g;
    (void)argc;
    (void)argv;
    printf("ifpp-station %s\n", IFPP_VERSION);
    return EXIT_OK;
}

/* X-macro: command, handler, one-line help. Handlers arrive with the issues that build them. */
#define STATION_COMMANDS(X)                                                                        \
    X("version", cmd_version, "print the version")                                                 \
    X("import", cmd_import, "import FILE|DIR...: .ifppe eUICC data, .ifppb(+.p7s) bundles")        \
    X("request", cmd_request, "request export OUT.ifppr [filters]: ESBPP02 BPP request")           \
    X("status", cmd_status, "status [--json]: counts per bundle and state, eUICCs, keys")          \
    X("readers", cmd_readers, "readers [--json]: readers, card present, EID of the card")          \
    X("run", cmd_run, "run [--until-idle]: headless engine (batch mode) until SIGTERM")            \
    X("load", cmd_load, "load --reader NAME: load every pending BPP into that card")               \
    X("verify", cmd_verify, "verify --reader NAME: check the card against the store")              \
    X("delete-keys", cmd_delete_keys, "delete-keys --reader NAME: delete the one-time keys")       \
    X("report", cmd_report, "report export DIR [--smdpf OID] [--again ID] | report verify FILE")   \
    X("audit", cmd_audit, "audit verify: check the hash chain of the audit log")                   \
    X("media", cmd_media, "media DIR: import DIR/ifpp/in, export new reports to DIR/ifpp/out")     \
    X("ui", cmd_ui, "ui [--auto-load]: the ncurses operator console (engine in-process)")          \
    X("operator", cmd_operator, "operator add|remove|list: console operators and their PINs")

static void usage(FILE *f) {
    fprintf(f, "usage: ifpp-station [-c CONFIG] [--state-dir DIR] [-v|--log-level L] COMMAND ...\n"
               "commands:\n");
#define X_HELP(name, fn, help) fprintf(f, "  %-22s %s\n", name, help);
    STATION_COMMANDS(X_HELP)
#undef X_HELP
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"state-dir", required_argument, NULL, 'S'},
        {"log-level", required_argument, NULL, 'L'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    global_opts_t g = {0};
    int c;
    st_log_level_t lvl;

    while ((c = getopt_long(argc, argv, "+c:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            g.config_path = optarg;
            break;
        case 'S':
            g.state_dir = optarg;
            break;
        case 'L':
            if (!st_log_level_parse(optarg, &lvl)) {
                fprintf(stderr, "ifpp-station: unknown log level '%s'\n", optarg);
                return EXIT_USAGE;
            }
            st_log_set_level(lvl);
            break;
        case 'v':
            if (st_log_get_level() < ST_LOG_TRACE)
                st_log_set_level(st_log_get_level() + 1);
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[optind];
#define X_DISPATCH(name, fn, help)                                                                 \
    if (strcmp(cmd, name) == 0)                                                                    \
        return fn(&g, argc - optind, argv + optind);
    STATION_COMMANDS(X_DISPATCH)
#undef X_DISPATCH
    fprintf(stderr, "ifpp-station: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
