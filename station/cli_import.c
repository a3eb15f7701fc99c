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
 *                            [--profile-type T] [--include-requested]
 *       without --eid/--eid-range every eUICC in the store is a candidate
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
#include "crypto/ec.h"
#include "import.h"
#include "request.h"
#include "status.h"

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
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
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
    /* Every refusal is reported below with file, entry and reason; the libraries' warnings
     * (cms: "signature does not verify" when the pass stops at a bad entry) would only
     * repeat it. -v still shows them. */
    if (st_log_get_level() == ST_LOG_WARN)
        st_log_set_level(ST_LOG_ERR);
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
    o.actor = getenv("USER"); /* who ran it, for the audit rows; "import" when unknown */
    if (o.actor && strlen(o.actor) >= STORE_NAME_MAX)
        o.actor = NULL;
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

/* ---- request export ---- */

static void request_usage(FILE *f) {
    fprintf(f,
            "usage: ifpp-station [-c CONFIG] [--state-dir DIR] request export OUT.ifppr\n"
            "           [--eid EID]... [--eid-range FROM-TO] [--count N] [--profile-type T]\n"
            "           [--include-requested]\n"
            "  ESBPP02 for the eUICCs (the given ones; without --eid/--eid-range all of them)\n"
            "  that have data and an unused one-time key but no BPP, at most N; the chosen keys\n"
            "  are marked requested in the store and their eUICCs skipped later;\n"
            "  --include-requested asks again for outstanding requests (the same key)\n");
}

int cmd_request(const global_opts_t *g, int argc, char **argv) {
    static const struct option longopts[] = {
        {"eid", required_argument, NULL, 'e'},
        {"eid-range", required_argument, NULL, 'r'},
        {"count", required_argument, NULL, 'n'},
        {"profile-type", required_argument, NULL, 'p'},
        {"include-requested", no_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    request_filter_t flt;
    request_opts_t o;
    request_result_t res;
    uint8_t(*eids)[STORE_EID_LEN] = NULL;
    size_t n_eids = 0;
    config_t *cfg = NULL;
    store_t *s = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    STACK_OF(X509) *chain = NULL;
    const char *out_path = NULL;
    char rid[33], *end;
    int c, rc = EXIT_USAGE;
    st_t st;

    memset(&flt, 0, sizeof(flt));
    memset(&o, 0, sizeof(o));
    if (argc < 2 || strcmp(argv[1], "export") != 0) {
        request_usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return argc >= 2 && !strcmp(argv[1], "--help") ? EXIT_OK : EXIT_USAGE;
    }
    argc--;
    argv++;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e': {
            uint8_t(*nv)[STORE_EID_LEN] = realloc(eids, (n_eids + 1) * sizeof(*nv));
            if (!nv) {
                fprintf(stderr, "request: out of memory\n");
                rc = EXIT_FAIL;
                goto out;
            }
            eids = nv;
            if (eid_from_str(optarg, eids[n_eids]) != ST_OK) {
                fprintf(stderr, "request: --eid %s: not a 32-digit EID\n", optarg);
                goto out;
            }
            n_eids++;
            break;
        }
        case 'r':
            st = request_parse_range(optarg, &flt);
            if (st != ST_OK) {
                fprintf(stderr, "request: --eid-range %s: %s\n", optarg,
                        st == ST_E_PARSE ? "expected FROM-TO, two 32-digit EIDs"
                                         : "FROM <= TO, same first 14 digits, at most 1000000 "
                                           "EIDs");
                goto out;
            }
            break;
        case 'n':
            errno = 0;
            flt.count = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg || optarg[0] == '-' || flt.count == 0) {
                fprintf(stderr, "request: --count %s: a positive number\n", optarg);
                goto out;
            }
            break;
        case 'p':
            if (!*optarg || strlen(optarg) > 63) {
                fprintf(stderr, "request: --profile-type: 1..63 characters\n");
                goto out;
            }
            flt.profile_type = optarg;
            break;
        case 'i':
            flt.include_requested = true;
            break;
        case 'h':
            request_usage(stdout);
            rc = EXIT_OK;
            goto out;
        default:
            request_usage(stderr);
            goto out;
        }
    }
    if (optind != argc - 1) {
        request_usage(stderr);
        goto out;
    }
    out_path = argv[optind];
    flt.eids = (const uint8_t(*)[STORE_EID_LEN])eids;
    flt.n_eids = n_eids;
    if ((rc = cli_load_config(g, &cfg)) != EXIT_OK)
        goto out;
    rc = EXIT_USAGE;
    if (!cfg->dm.key || !cfg->dm.cert) {
        fprintf(stderr, "request: no [dm] key and cert configured: the request must be signed\n");
        goto out;
    }
    if ((st = ec_key_load_pem(cfg->dm.key, &key)) != ST_OK) {
        fprintf(stderr, "request: [dm] key = %s: %s\n", cfg->dm.key, st_str(st));
        goto out;
    }
    if ((st = cert_load(cfg->dm.cert, &cert)) != ST_OK) {
        fprintf(stderr, "request: [dm] cert = %s: %s\n", cfg->dm.cert, st_str(st));
        goto out;
    }
    if (X509_check_private_key(cert, key) != 1) {
        fprintf(stderr, "request: [dm] key does not match [dm] cert\n");
        goto out;
    }
    if (cfg->dm.chain && (st = cert_load_all(cfg->dm.chain, &chain)) != ST_OK) {
        fprintf(stderr, "request: [dm] chain = %s: %s\n", cfg->dm.chain, st_str(st));
        goto out;
    }
    if ((rc = cli_open_store(g, cfg, 0, &s)) != EXIT_OK) /* marks the keys it requests */
        goto out;
    o.store = s;
    o.state_dir = cli_state_dir(g, cfg);
    o.actor = getenv("USER"); /* audit; "request" when unknown */
    if (o.actor && strlen(o.actor) >= STORE_NAME_MAX)
        o.actor = NULL;
    o.dm_id = cfg->dm.id ? cfg->dm.id : cfg->station.id;
    o.dm_key = key;
    o.dm_cert = cert;
    o.chain = chain;
    st = request_export(&o, &flt, out_path, &res);
    if (st == ST_OK) {
        hex_encode(res.request_id, sizeof(res.request_id), rid);
        printf("request: %s: %" PRIu64 " eUICC%s (request %s)", out_path, res.n_entries,
               res.n_entries == 1 ? "" : "s", rid);
        if (res.n_resent)
            printf(", %" PRIu64 " of them asked for again with the same key", res.n_resent);
        putchar('\n');
    } else if (st == ST_E_NOENT) {
        fprintf(stderr, "request: no eUICC qualifies: nothing written\n");
    } else if (st == ST_E_STATE || st == ST_E_CONFLICT) {
        fprintf(stderr,
                "request: %s: a chosen one-time key was taken meanwhile by another "
                "request or an import: nothing written, run it again\n",
                out_path);
    } else {
        fprintf(stderr, "request: %s: %s\n", out_path, st_str(st));
    }
    if (st == ST_OK || st == ST_E_NOENT)
        fprintf(st == ST_OK ? stdout : stderr,
                "request: %" PRIu64 " eUICCs looked at: %" PRIu64 " without eUICC data, %" PRIu64
                " with a BPP already, %" PRIu64 " already requested, %" PRIu64
                " without an unused key\n",
                res.n_candidates, res.n_unknown, res.n_has_bpp, res.n_requested, res.n_no_key);
    rc = st == ST_OK ? EXIT_OK : EXIT_FAIL;
out:
    free(eids);
    store_close(s);
    EVP_PKEY_free(key);
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    config_free(cfg);
    return rc;
}

/* ---- status ---- */

int cmd_status(const global_opts_t *g, int argc, char **argv) {
    config_t *cfg = NULL;
    store_t *s = NULL;
    status_t sts;
    buf_t out = BUF_INIT;
    bool json = false;
    int rc;
    st_t st;

    memset(&sts, 0, sizeof(sts));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else {
            fprintf(argv[i][0] == '-' && strcmp(argv[i], "--help") ? stderr : stdout,
                    "usage: ifpp-station [-c CONFIG] [--state-dir DIR] status [--json]\n");
            return strcmp(argv[i], "--help") ? EXIT_USAGE : EXIT_OK;
        }
    }
    if ((rc = cli_load_config(g, &cfg)) != EXIT_OK)
        goto out;
    if ((rc = cli_open_store(g, cfg, STORE_OPEN_READONLY, &s)) != EXIT_OK)
        goto out;
    st = status_collect(s, &sts);
    if (st == ST_OK)
        st = status_collect_shifts(s, cfg->station.shift_start, cfg->station.shift_hours, &sts);
    if (st == ST_OK)
        st = status_render(&sts, json, &out);
    if (st != ST_OK) {
        fprintf(stderr, "status: %s\n", st_str(st));
        rc = EXIT_FAIL;
        goto out;
    }
    fwrite(out.data, 1, out.len, stdout);
    rc = EXIT_OK;
out:
    buf_free(&out);
    status_free(&sts);
    store_close(s);
    config_free(cfg);
    return rc;
}
