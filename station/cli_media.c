/*
 * cli_media.c - `ifpp-station media DIR`: what the removable-media unit runs when a stick with
 * the station's layout is mounted (systemd/ifpp-station-media@.service, started by
 * systemd/90-ifpp-station-media.rules for a filesystem labelled IFPP*):
 *
 *   DIR/ifpp/in/    files for the station: .ifppe eUICC data, .ifppb + .ifppb.p7s bundles
 *   DIR/ifpp/out/   what the station writes back: new Profile Loading Reports (.ifppl)
 *
 * It imports ifpp/in with the import command's own rules (regular files only, no symlink
 * followed, nothing outside the folder read, each file reported), then exports every report
 * not yet exported into ifpp/out (atomic, durable files). Nothing on the stick is executed;
 * ifpp/ and its folders must be real directories, not symlinks. Exit code: the worse of the
 * two steps.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "cli.h"

/* True if path is a directory and not a symlink (lstat). */
static bool real_dir(const char *path) {
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int cmd_media(const global_opts_t *g, int argc, char **argv) {
    char in[4096], out[4096], top[4096];
    char *imp_argv[3], *exp_argv[4];
    int rc_in, rc_out;

    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: ifpp-station media DIR   (DIR/ifpp/in is imported, new reports "
                        "go to DIR/ifpp/out)\n");
        return EXIT_USAGE;
    }
    snprintf(top, sizeof(top), "%s/ifpp", argv[1]);
    snprintf(in, sizeof(in), "%s/ifpp/in", argv[1]);
    snprintf(out, sizeof(out), "%s/ifpp/out", argv[1]);
    if (!real_dir(top)) {
        fprintf(stderr, "media: %s: not a station stick (no ifpp/ folder, or it is a symlink)\n",
                argv[1]);
        return EXIT_FAIL;
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "media: %s: %s\n", out, strerror(errno));
        return EXIT_FAIL;
    }
    if (!real_dir(out)) {
        fprintf(stderr, "media: %s: not a directory (or a symlink): nothing exported\n", out);
        return EXIT_FAIL;
    }

    rc_in = EXIT_OK;
    if (real_dir(in)) {
        imp_argv[0] = "import";
        imp_argv[1] = in;
        imp_argv[2] = NULL;
        optind = 0; /* the handlers parse their own options with getopt */
        st_log(ST_LOG_INFO, "media: importing %s", in);
        rc_in = cmd_import(g, 2, imp_argv);
    } else {
        printf("media: %s: no ifpp/in folder, nothing to import\n", argv[1]);
    }

    exp_argv[0] = "report";
    exp_argv[1] = "export";
    exp_argv[2] = out;
    exp_argv[3] = NULL;
    optind = 0;
    st_log(ST_LOG_INFO, "media: exporting new reports to %s", out);
    rc_out = cmd_report(g, 3, exp_argv);
    if (rc_out == EXIT_OK)
        sync(); /* the stick may be pulled as soon as the unit ends */
    return rc_in > rc_out ? rc_in : rc_out;
}
