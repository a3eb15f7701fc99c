/*
 * cli_import.c - `import`, `request export` and `status` (DESIGN §4), and the helpers every
 * command shares (configuration, state directory, store). The work is done by the engine
 * (import.h, request.h, status.h); this file parses arguments and prints.
 *
 *   import [--quiet] FILE|DIR...
 *       stdout: one line per file imported / unchanged / skipped; stderr: one line per refused
 *       file "import: FILE: entry N (EID ...): reason"; progress on stderr when it is a
 *       terminal. Exit 0 when nothing was refused, 1 otherwise, 2 for usage/config errors.
 *   request export OUT.ifppr [--eid EID]... [--eid-range FROM-TO] [--count N]
 *                            [--profile-type T]
 *   status [--json]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "cli.h"
#include "crypto/cert.h"
#include "import.h"

/* ---- shared helpers ---- */

int cli_load_config(const global_opts_t *g, config_t **out) {
    char err[512] = "";
    const char *path = g->config_path;
    st_t st;

    *out = NULL;
    if (!path) {
        struct stat sb;
        path = stat(CONFIG_DEFAULT_PATH, &sb) == 0 ? CONFIG_DEFAULT_PATH : NULL;
    }
    st = config_load(path, out, err, sizeof(err));
    if (st != ST_OK) {
        if (err[0])
            fprintf(stderr, "ifpp-station: %s\n", err);
        else
            fprintf(stderr, "ifpp-station: %s: %s\n", path ? path : "(defaults)", st_str(st));
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

const char *cli_state_dir(const global_opts_t *g, const config_t *cfg) {
    if (g->state_dir && *g->state_dir)
        return g->state_dir;
    return cfg ? cfg->station.state_dir : NULL;
}

int cli_open_store(const global_opts_t *g, const config_t *cfg, unsigned flags, store_t **out) {
    const char *dir = cli_state_dir(g, cfg);
    char *path = NULL;
    struct stat sb;
    st_t st;

    *out = NULL;
    if (!dir || !*dir) {
        fprintf(stderr, "ifpp-station: no state directory ([station] state_dir or --state-dir)\n");
        return EXIT_USAGE;
    }
    if (stat(dir, &sb) != 0) {
        if (errno != ENOENT || (flags & STORE_OPEN_READONLY)) {
            fprintf(stderr, "ifpp-station: state directory %s: %s\n", dir, strerror(errno));
            return EXIT_USAGE;
        }
        if (mkdir(dir, 0700) != 0) {
            fprintf(stderr, "ifpp-station: cannot create state directory %s: %s\n", dir,
                    strerror(errno));
            return EXIT_FAIL;
        }
    } else if (!S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "ifpp-station: state directory %s is not a directory\n", dir);
        return EXIT_USAGE;
    }
    if (asprintf(&path, "%s/%s", dir, CLI_DB_NAME) < 0) {
        fprintf(stderr, "ifpp-station: out of memory\n");
        return EXIT_FAIL;
    }
    st = store_open(path, flags, out);
    if (st == ST_OK && cfg)
        st = store_set_busy_timeout(*out, cfg->store.busy_timeout_ms);
    if (st != ST_OK) {
        fprintf(stderr, "ifpp-station: store %s: %s\n", path, st_str(st));
        store_close(*out);
        *out = NULL;
        free(path);
        return EXIT_FAIL;
    }
    free(path);
    return EXIT_OK;
}

/* The configured CIs as a trust set; prints and returns EXIT_USAGE when there is none. */
static int load_trust(const config_t *cfg, cert_trust_t **out) {
    cert_trust_t *t;
    st_t st;

    *out = NULL;
    if (cfg->trust.n_ci == 0) {
        fprintf(stderr, "ifpp-station: no [trust] ci configured: nothing can be verified\n");
        return EXIT_USAGE;
    }
    if (!(t = cert_trust_new())) {
        fprintf(stderr, "ifpp-station: out of memory\n");
        return EXIT_FAIL;
    }
    for (size_t i = 0; i < cfg->trust.n_ci; i++) {
        if ((st = cert_trust_add_file(t, cfg->trust.ci[i])) != ST_OK) {
            fprintf(stderr, "ifpp-station: [trust] ci = %s: %s\n", cfg->trust.ci[i], st_str(st));
            cert_trust_free(t);
            return EXIT_USAGE;
        }
    }
    *out = t;
    return EXIT_OK;
}

/* ---- import ---- */

typedef struct {
    bool tty;
    struct timespec last;
    bool shown;
} progress_t;

static double mono_s(const struct timespec *t) {
    return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

/* Progress on a terminal: one line, rewritten at most 5 times a second. */
static void on_progress(const import_progress_t *p, void *ud) {
    progress_t *pr = ud;
    struct timespec now;

    if (!pr->tty)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (p->done) {
        if (pr->shown)
            fputs("\r\033[K", stderr);
        pr->shown = false;
        return;
    }
    if (pr->shown && mono_s(&now) - mono_s(&pr->last) < 0.2)
        return;
    pr->last = now;
    pr->shown = true;
    fprintf(stderr, "\r\033[Kimport: %s: %" PRIu64 "/%" PRIu64 " %s, %.1f/%.1f MB", p->file,
            p->entries_done, p->entries_total, p->kind == IMPORT_KIND_BUNDLE ? "BPPs" : "eUICCs",
            (double)p->bytes_done / 1e6, (double)p->bytes_total / 1e6);
    fflush(stderr);
}

static void import_usage(FILE *f) {
    fprintf(f, "usage: ifpp-station [-c CONFIG] [--state-dir DIR] import [--quiet] FILE|DIR...\n"
               "  .ifppe eUICC data and .ifppb bundles (with FILE.ifppb.p7s beside them);\n"
               "  a directory (a mounted stick) is scanned, symbolic links are never followed\n");
}

int cmd_import(const global_opts_t *g, int argc, char **argv) {
    static const struct option longopts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    config_t *cfg = NULL;
    store_t *s = NULL;
    cert_trust_t *trust = NULL;
    import_opts_t o;
    import_report_t rep;
    progress_t pr;
    char line[IMPORT_REASON_MAX + 1024];
    bool quiet = false;
    int c, rc;
    st_t st;

    memset(&rep, 0, sizeof(rep));
    memset(&pr, 0, sizeof(pr));
    optind = 0;
    while ((c = getopt_long(argc, argv, "+qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'q':
            quiet = true;
            break;
        case 'h':
            import_usage(stdout);
            return EXIT_OK;
        default:
            import_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        import_usage(stderr);
        return EXIT_USAGE;
    }
    if ((rc = cli_load_config(g, &cfg)) != EXIT_OK)
        goto out;
    if ((rc = load_trust(cfg, &trust)) != EXIT_OK)
        goto out;
    if ((rc = cli_open_store(g, cfg, 0, &s)) != EXIT_OK)
        goto out;

    pr.tty = !quiet && isatty(STDERR_FILENO);
    memset(&o, 0, sizeof(o));
    o.store = s;
    o.trust = trust;
    o.allowed_smdpf = (const char *const *)cfg->smdpf.allowed;
    o.n_allowed = cfg->smdpf.n_allowed;
    o.unknown_eid = cfg->policy.unknown_eid == CONFIG_UNKNOWN_EID_HOLD ? IMPORT_UNKNOWN_EID_HOLD
                                                                       : IMPORT_UNKNOWN_EID_REFUSE;
    o.actor = getenv("USER");
    o.progress = on_progress;
    o.progress_ud = &pr;
    st = import_paths(&o, (const char *const *)argv + optind, (size_t)(argc - optind), &rep);
    if (pr.shown)
        fputs("\r\033[K", stderr);
    for (size_t i = 0; i < rep.n; i++) {
        import_file_format(&rep.v[i], line, sizeof(line));
        if (rep.v[i].outcome == IMPORT_REFUSED)
            fprintf(stderr, "import: %s\n", line);
        else if (!quiet)
            printf("import: %s\n", line);
    }
    if (rep.n > 1 && !quiet)
        printf("import: %zu imported, %zu unchanged, %zu refused, %zu skipped\n", rep.n_imported,
               rep.n_unchanged, rep.n_refused, rep.n_skipped);
    if (st != ST_OK && rep.n_refused == 0)
        fprintf(stderr, "import: %s\n", st_str(st));
    rc = st == ST_OK ? EXIT_OK : EXIT_FAIL;
out:
    import_report_free(&rep);
    store_close(s);
    cert_trust_free(trust);
    config_free(cfg);
    return rc;
}

int cmd_request(const global_opts_t *g, int argc, char **argv) {
    (void)g;
    (void)argc;
    (void)argv;
    fprintf(stderr, "request: not yet\n");
    return EXIT_FAIL;
}

int cmd_status(const global_opts_t *g, int argc, char **argv) {
    (void)g;
    (void)argc;
    (void)argv;
    fprintf(stderr, "status: not yet\n");
    return EXIT_FAIL;
}
