/*
 * cli_report.c - `report export`, `report verify` and `audit verify` (DESIGN §4). The work is
 * done by reports/ (plr.h) and the store; this file parses arguments and prints.
 *
 *   report export DIR [--smdpf OID] [--since TIME | --again REPORTID] [--quiet]
 *       One signed .ifppl per SM-DPf with results not reported yet (first the reports an
 *       interrupted export left claimed); --since TIME (Unix seconds, or ISO-8601 UTC:
 *       2024-05-01, 2024-05-01T08:00, 2024-05-01T08:00:00Z) takes only the results recorded
 *       from then until now, the earlier ones stay for a later export without --since;
 *       --again re-exports that report (same reportId and entries, new file). DIR must
 *       exist (a stick that is not mounted is not created on the root file system). stdout:
 *       one line per file; exit 0, 1 when a report could not be exported (stderr names it
 *       and why), 2 for usage/configuration errors.
 *   report verify FILE.ifppl [--json]
 *       Signature and DM chain, the store's record of the report, every PIR signature;
 *       prints the summary; exit 1 with the reason on stderr on any mismatch.
 *   audit verify
 *       The hash chain of the audit log; exit 1 naming the first row that does not fit.
 * Export and verify append audit rows (actor: $USER, else "report").
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/log.h"
#include "cli.h"
#include "plr.h"

static void report_usage(FILE *f) {
    fprintf(f, "usage: ifpp-station report export DIR [--smdpf OID] [--since TIME | --again "
               "REPORTID] [--quiet]\n"
               "       ifpp-station report verify FILE.ifppl [--json]\n"
               "  TIME: Unix seconds, or ISO-8601 UTC (2024-05-01, 2024-05-01T08:00:00Z)\n");
}

static const char *actor(void) {
    const char *u = getenv("USER");
    return u && *u ? u : "report";
}

static void utc(int64_t t, char *out, size_t len) {
    time_t tt = (time_t)t;
    struct tm tmv;
    if (t <= 0 || !gmtime_r(&tt, &tmv) || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tmv) == 0)
        snprintf(out, len, "-");
}

/* ---- report export ---- */

/* Two decimal digits at p (no sign, no space), or -1. */
static int two_digits(const char *p) {
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/*
 * --since TIME: Unix seconds (digits only), or ISO-8601 in UTC: YYYY-MM-DD, optionally
 * followed by THH:MM or THH:MM:SS (a space instead of the T too), then nothing, "Z", "+00:00"
 * or "+0000". Other offsets are refused rather than guessed. Calendar-checked (no 31 April).
 */
static bool parse_since(const char *arg, int64_t *out) {
    struct tm tmv, chk;
    const char *p = arg;
    char *end;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    time_t t;

    if (!*arg)
        return false;
    if (strspn(arg, "0123456789") == strlen(arg)) {
        errno = 0;
        long long v = strtoll(arg, &end, 10);
        if (errno || *end || v <= 0)
            return false;
        *out = (int64_t)v;
        return true;
    }
    if (strlen(p) < 10 || p[4] != '-' || p[7] != '-')
        return false;
    y = 0;
    for (int i = 0; i < 4; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        y = y * 10 + (p[i] - '0');
    }
    mo = two_digits(p + 5);
    d = two_digits(p + 8);
    p += 10;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        if (strlen(p) < 6 || p[3] != ':')
            return false;
        h = two_digits(p + 1);
        mi = two_digits(p + 4);
        p += 6;
        if (*p == ':') {
            if (strlen(p) < 3)
                return false;
            sec = two_digits(p + 1);
            p += 3;
        }
    }
    if (*p && strcmp(p, "Z") && strcmp(p, "z") && strcmp(p, "+00:00") && strcmp(p, "+0000"))
        return false;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59
        || sec < 0 || sec > 59)
        return false;
    memset(&tmv, 0, sizeof(tmv));
    tmv.tm_year = y - 1900;
    tmv.tm_mon = mo - 1;
    tmv.tm_mday = d;
    tmv.tm_hour = h;
    tmv.tm_min = mi;
    tmv.tm_sec = sec;
    t = timegm(&tmv);
    if (t <= 0 || !gmtime_r(&t, &chk) || chk.tm_mday != d || chk.tm_mon != mo - 1)
        return false; /* 2024-02-30 and the like */
    *out = (int64_t)t;
    return true;
}

typedef struct {
    bool quiet;
} export_ui_t;

static st_t print_file(void *ud, const plr_file_t *f) {
    const export_ui_t *ui = ud;
    char hex[2 * STORE_ID_LEN + 1];
    static const char *const what[] = {"wrote", "recovered", "re-exported"};

    if (ui->quiet)
        return ST_OK;
    hex_encode(f->report_id, STORE_ID_LEN, hex);
    printf("%s %s (SM-DPf %s, report %s: %" PRIu64 " entries, %" PRIu64 " installed, %" PRIu64
           " failed)\n",
           what[f->kind], f->path, f->smdpf_oid, hex, f->counts.entries, f->counts.installed,
           f->counts.failed);
    return ST_OK;
}

static int report_export(const global_opts_t *g, int argc, char **argv) {
    static const struct option longopts[] = {
        {"smdpf", required_argument, NULL, 'o'}, {"again", required_argument, NULL, 'a'},
        {"since", required_argument, NULL, 's'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    plr_export_opts_t o;
    plr_export_sum_t sum;
    export_ui_t ui = {false};
    uint8_t again[STORE_ID_LEN];
    const char *dir, *again_arg = NULL, *since_arg = NULL;
    config_t *cfg = NULL;
    store_t *s = NULL;
    plr_signer_t *sg = NULL;
    struct stat sb;
    int c, rc;
    st_t st;

    memset(&o, 0, sizeof(o));
    optind = 0; /* glibc: 0 re-initialises getopt (main() scanned with "+") */
    while ((c = getopt_long(argc, argv, "q", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o.smdpf_oid = optarg;
            break;
        case 'a':
            if (hex_decode_exact(optarg, again, sizeof(again)) != ST_OK) {
                fprintf(stderr, "ifpp-station: report export: --again wants a reportId "
                                "(32 hex digits)\n");
                return EXIT_USAGE;
            }
            o.again = again;
            again_arg = optarg;
            break;
        case 's':
            /* Results before TIME stay unreported: a later export without --since takes
             * them, so each result still lands in exactly one report. */
            if (!parse_since(optarg, &o.since)) {
                fprintf(stderr,
                        "ifpp-station: report export: --since %s: expected Unix seconds "
                        "or an ISO-8601 UTC time (2024-05-01, 2024-05-01T08:00:00Z)\n",
                        optarg);
                return EXIT_USAGE;
            }
            since_arg = optarg;
            break;
        case 'q':
            ui.quiet = true;
            break;
        case 'h':
            report_usage(stdout);
            return EXIT_OK;
        default:
            report_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        report_usage(stderr);
        return EXIT_USAGE;
    }
    if (since_arg && again_arg) {
        fprintf(stderr, "ifpp-station: report export: --since and --again exclude each other "
                        "(--again writes a report exactly as it was)\n");
        return EXIT_USAGE;
    }
    if (since_arg && o.since > (int64_t)time(NULL)) {
        fprintf(stderr, "ifpp-station: report export: --since %s is in the future\n", since_arg);
        return EXIT_USAGE;
    }
    dir = argv[optind];
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "ifpp-station: report export: %s: %s\n", dir,
                errno == ENOENT ? "no such directory (is the medium mounted?)" : "not a directory");
        return EXIT_FAIL;
    }
    if ((rc = cli_load_config(g, &cfg)) != EXIT_OK)
        return rc;
    st =
        plr_signer_load(cfg->dm.key, cfg->dm.cert, cfg->dm.chain, cfg->dm.id, cfg->station.id, &sg);
    if (st != ST_OK) {
        fprintf(stderr, "ifpp-station: report export: DM signer ([dm] key, cert, chain): %s\n",
                st_str(st));
        rc = EXIT_USAGE;
        goto out;
    }
    if ((rc = cli_open_store(g, cfg, 0, &s)) != EXIT_OK)
        goto out;
    o.journal_dir = cli_state_dir(g, cfg);
    o.actor = actor();
    o.on_file = print_file;
    o.ud = &ui;
    st = plr_export(s, sg, dir, &o, &sum);
    if (st == ST_OK && sum.files == 0 && !ui.quiet)
        printf("nothing new to report%s%s\n", since_arg ? " since " : "",
               since_arg ? since_arg : "");
    if (st != ST_OK) {
        if (st == ST_E_NOENT && o.again)
            fprintf(stderr, "ifpp-station: report export: no report %s in the store\n", again_arg);
        else
            fprintf(stderr, "ifpp-station: report export: %s%s\n", st_str(st),
                    sum.failed ? " (see the messages above)" : "");
        rc = EXIT_FAIL;
    }
out:
    plr_signer_free(sg);
    store_close(s);
    config_free(cfg);
    return rc;
}

/* ---- report verify ---- */

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void print_summary(const char *file, const plr_summary_t *m, bool ok, bool json) {
    char hex[2 * STORE_ID_LEN + 1], a[32], b[32], e[32];

    hex_encode(m->report_id, STORE_ID_LEN, hex);
    utc(m->period_start, a, sizeof(a));
    utc(m->period_end, b, sizeof(b));
    utc(m->exported_at, e, sizeof(e));
    if (json) {
        printf("{\"file\": ");
        json_str(file);
        printf(", \"verified\": %s, \"reportId\": \"%s\", \"smdpf\": ", ok ? "true" : "false", hex);
        json_str(m->smdpf_oid);
        printf(", \"dmId\": ");
        json_str(m->dm_id);
        printf(", \"stationId\": ");
        json_str(m->station_id);
        printf(", \"signer\": ");
        json_str(m->signer);
        printf(", \"periodStart\": \"%s\", \"periodEnd\": \"%s\", \"bundles\": %zu, "
               "\"entries\": %" PRIu64 ", \"installed\": %" PRIu64 ", \"failed\": %" PRIu64
               ", \"failedWithPir\": %" PRIu64 ", \"deleted\": %" PRIu64
               ", \"pirsVerified\": %" PRIu64 ", \"exportedAt\": \"%s\"",
               a, b, m->n_bundles, m->counts.entries, m->counts.installed, m->counts.failed,
               m->counts.failed_with_pir, m->counts.deleted, m->pirs_verified, e);
        if (!ok) {
            printf(", \"reason\": ");
            json_str(m->reason);
        }
        printf("}\n");
        return;
    }
    if (!ok)
        return;
    printf("report %s: verified\n"
           "  reportId   %s\n"
           "  SM-DPf     %s\n"
           "  DM         %s, station %s\n"
           "  signer     %s\n"
           "  period     %s .. %s\n"
           "  bundles    %zu\n"
           "  entries    %" PRIu64 ": %" PRIu64 " installed, %" PRIu64 " failed (%" PRIu64
           " with the card's BF37), %" PRIu64 " deleted\n"
           "  PIRs       %" PRIu64 " eUICC signatures verified\n"
           "  exported   %s\n",
           file, hex, m->smdpf_oid, m->dm_id, m->station_id, m->signer, a, b, m->n_bundles,
           m->counts.entries, m->counts.installed, m->counts.failed, m->counts.failed_with_pir,
           m->counts.deleted, m->pirs_verified,
           m->exported_at ? e : "never marked exported by this station");
}

static int report_verify(const global_opts_t *g, int argc, char **argv) {
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    plr_summary_t m;
    config_t *cfg = NULL;
    store_t *s = NULL;
    cert_trust_t *trust = NULL;
    const char *file;
    char object[PLR_PATH_MAX + 8];
    bool json = false;
    int c, rc;
    st_t st;

    optind = 0; /* glibc: 0 re-initialises getopt (main() scanned with "+") */
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 'h':
            report_usage(stdout);
            return EXIT_OK;
        default:
            report_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        report_usage(stderr);
        return EXIT_USAGE;
    }
    file = argv[optind];
    if ((rc = cli_load_config(g, &cfg)) != EXIT_OK)
        return rc;
    if ((st = plr_trust_load(cfg->dm.cert, cfg->dm.chain, &trust)) != ST_OK) {
        fprintf(stderr, "ifpp-station: report verify: DM trust ([dm] chain, cert): %s\n",
                st_str(st));
        rc = EXIT_USAGE;
        goto out;
    }
    if ((rc = cli_open_store(g, cfg, 0, &s)) != EXIT_OK)
        goto out;
    st = plr_verify_file(s, trust, file, &m);
    print_summary(file, &m, st == ST_OK, json);
    if (st != ST_OK) {
        fprintf(stderr, "ifpp-station: report verify: %s: %s\n", file, m.reason);
        rc = EXIT_FAIL;
    }
    snprintf(object, sizeof(object), "file:%s", file);
    if (store_audit_append(s, actor(), "report.verify", object, NULL,
                           st == ST_OK ? "verified" : "rejected", st == ST_OK ? NULL : m.reason)
        != ST_OK)
        fprintf(stderr, "ifpp-station: report verify: cannot append the audit row\n");
out:
    cert_trust_free(trust);
    store_close(s);
    config_free(cfg);
    return rc;
}

int cmd_report(const global_opts_t *g, int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "export") == 0)
        return report_export(g, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return report_verify(g, argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        report_usage(stdout);
        return EXIT_OK;
    }
    report_usage(stderr);
    return EXIT_USAGE;
}

/* ---- audit verify ---- */

int cmd_audit(const global_opts_t *g, int argc, char **argv) {
    config_t *cfg = NULL;
    store_t *s = NULL;
    uint64_t bad = 0, n = 0;
    int rc;
    st_t st;

    if (argc != 2 || strcmp(argv[1], "verify") != 0) {
        fprintf(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr,
                "usage: ifpp-station audit verify\n");
        return argc >= 2 && !strcmp(argv[1], "--help") ? EXIT_OK : EXIT_USAGE;
    }
    if ((rc = cli_load_config(g, &cfg)) != EXIT_OK)
        return rc;
    if ((rc = cli_open_store(g, cfg, STORE_OPEN_READONLY, &s)) != EXIT_OK)
        goto out;
    st = store_audit_verify(s, &bad, &n);
    if (st == ST_OK) {
        printf("audit log intact: %" PRIu64 " rows, hash chain verified\n", n);
    } else if (st == ST_E_DB_CORRUPT) {
        fprintf(stderr,
                "ifpp-station: audit verify: row %" PRIu64
                " does not fit the hash chain (altered, removed, inserted or reordered); "
                "%" PRIu64 " rows read\n",
                bad, n);
        rc = EXIT_FAIL;
    } else {
        fprintf(stderr, "ifpp-station: audit verify: %s\n", st_str(st));
        rc = EXIT_FAIL;
    }
out:
    store_close(s);
    config_free(cfg);
    return rc;
}
