/*
 * import_bench - times `ifpp-station import` of a bundle (issue 4 benchmark; not a test).
 *
 *   import-bench [-n BPPS] [-L LARGE_MB] [-r RUNS] [-d DIR] [-k]
 *
 * 1. With the test kit: a PKI, BPPS eUICCs (default 10 000) with one one-time key each, and one
 *    bundle of BPPS real BSP-bound BPPs of TS.48 size (~13 KB: generated ~12 KB profiles).
 * 2. The station imports it as an operator would (a separate `ifpp-station import` process, the
 *    eUICC data imported beforehand so that every BPP is pre-flighted: structure, transactionId,
 *    smdpSign against its one-time key; CMS over the whole file; one transaction, WAL,
 *    synchronous=FULL): wall time, BPPs/s, MB/s, peak RSS (ru_maxrss of the child).
 * 3. Baseline in the same run, on the same files: `openssl cms -verify -binary -inform DER
 *    -content BUNDLE -in P7S -CAfile CI -purpose any` plus `sqlite3` inserting the same BF36
 *    blobs (readfile) in one transaction (WAL, synchronous=FULL). Ratio = station / baseline.
 *    Each timed step runs RUNS times (default 3) on fresh state; the median is shown.
 * 4. With -L: peak RSS of the import of a large bundle of about LARGE_MB MB (~3.5 MB BPPs).
 * Work files go into a fresh directory under DIR ($TMPDIR or /var/tmp), removed unless -k.
 * The test kit and the station are the ones of this build (paths compiled in).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../testkit/bpp_build.h"
#include "base/buf.h"
#include "base/log.h"
#include "fmt/ifpp.h"

#ifndef IMPORT_BENCH_TESTKIT
#define IMPORT_BENCH_TESTKIT "ifpp-testkit"
#endif
#ifndef IMPORT_BENCH_STATION
#define IMPORT_BENCH_STATION "ifpp-station"
#endif

extern char **environ;

typedef struct {
    double wall_s;
    long maxrss_kb;
    int status;
} run_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv (stdin from in_path when not NULL, stdout/stderr to log_path), measuring it. */
static int spawn_run(char *const argv[], const char *in_path, const char *log_path, run_t *r) {
    posix_spawn_file_actions_t fa;
    struct rusage ru;
    pid_t pid;
    int status = 0, rc;
    double t0;

    posix_spawn_file_actions_init(&fa);
    if (in_path)
        posix_spawn_file_actions_addopen(&fa, 0, in_path, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    t0 = now_s();
    rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "import-bench: %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    if (wait4(pid, &status, 0, &ru) != pid) {
        fprintf(stderr, "import-bench: wait4: %s\n", strerror(errno));
        return -1;
    }
    r->wall_s = now_s() - t0;
    r->maxrss_kb = ru.ru_maxrss;
    r->status = status;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "import-bench: %s failed (status %d), see %s\n", argv[0], status, log_path);
        return -1;
    }
    return 0;
}

/* Like spawn_run with a printf-built argument list (split on spaces: no spaces in paths). */
static int sh(const char *in_path, const char *log, run_t *r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int sh(const char *in_path, const char *log, run_t *r, const char *fmt, ...) {
    char *cmd = NULL, *argv[64], *save = NULL, *tok;
    run_t dummy;
    va_list ap;
    int n = 0, rc;

    va_start(ap, fmt);
    rc = vasprintf(&cmd, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return -1;
    for (tok = strtok_r(cmd, " ", &save); tok && n < 63; tok = strtok_r(NULL, " ", &save))
        argv[n++] = tok;
    argv[n] = NULL;
    rc = spawn_run(argv, in_path, log, r ? r : &dummy);
    free(cmd);
    return rc;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

static uint64_t file_size(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* Bundle -> one file per BF36 + the baseline's SQL script (readfile each blob). */
static int make_baseline_sql(const char *bundle, const char *blobdir, const char *sql_path,
                             uint64_t *n_out) {
    FILE *f = fopen(bundle, "rb"), *sql = NULL;
    ifpp_bundle_reader_t *r = NULL;
    ifpp_bundle_entry_t e;
    uint64_t n = 0;
    char path[8192];
    st_t st;

    if (!f || mkdir(blobdir, 0755) != 0 || !(sql = fopen(sql_path, "w")))
        goto fail;
    if (ifpp_bundle_reader_open(f, &r) != ST_OK)
        goto fail;
    fprintf(sql, "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\n"
                 "CREATE TABLE bpp_blob(id INTEGER PRIMARY KEY, bf36 BLOB NOT NULL);\n"
                 "BEGIN IMMEDIATE;\n");
    while ((st = ifpp_bundle_reader_next(r, &e)) == ST_OK) {
        snprintf(path, sizeof(path), "%s/%06" PRIu64, blobdir, n);
        if (buf_write_file_atomic(path, e.bpp, e.bpp_len, 0644) != ST_OK)
            goto fail;
        fprintf(sql, "INSERT INTO bpp_blob VALUES (%" PRIu64 ", readfile('%s'));\n", n + 1, path);
        n++;
    }
    if (st != ST_E_NOENT)
        goto fail;
    fprintf(sql, "COMMIT;\n");
    ifpp_bundle_reader_free(r);
    fclose(f);
    if (fclose(sql) != 0)
        return -1;
    *n_out = n;
    return 0;
fail:
    fprintf(stderr, "import-bench: preparing the baseline from %s failed\n", bundle);
    ifpp_bundle_reader_free(r);
    if (f)
        fclose(f);
    if (sql)
        fclose(sql);
    return -1;
}

/* A ~len-byte UPP with a valid ProfileHeader, written to path (for the large bundle). */
static int make_upp(const char *path, size_t len) {
    uint8_t iccid[TK_ICCID_LEN];
    buf_t upp = BUF_INIT;
    int rc = -1;
    if (tk_iccid_from_digits("899990000000777777", iccid) == ST_OK
        && tk_upp_generate(iccid, "bench large", len, &upp) == ST_OK
        && buf_write_file_atomic(path, upp.data, upp.len, 0644) == ST_OK)
        rc = 0;
    buf_free(&upp);
    return rc;
}

/* Fresh state dir with the eUICC data imported; then the timed import of the bundle. */
static int station_import(const char *w, const char *edata, const char *bundle, const char *log,
                          run_t *r) {
    if (sh(NULL, log, NULL, "/bin/rm -rf %s/state", w) != 0
        || sh(NULL, log, NULL, "%s -c %s/pki/station.conf --state-dir %s/state import --quiet %s",
              IMPORT_BENCH_STATION, w, w, edata)
               != 0)
        return -1;
    return sh(NULL, log, r, "%s -c %s/pki/station.conf --state-dir %s/state import --quiet %s",
              IMPORT_BENCH_STATION, w, w, bundle);
}

static void usage(void) {
    fprintf(stderr, "usage: import-bench [-n BPPS] [-L LARGE_MB] [-r RUNS] [-d DIR] [-k]\n");
}

int main(int argc, char **argv) {
    unsigned long n_bpps = 10000, large_mb = 0, runs = 3;
    const char *base = getenv("TMPDIR");
    char w[4096], log[4200], bundle[4200], edata[4200], sql[4200], blobs[4200], db[4200];
    double t_st[16], t_cms[16], t_sql[16], t_base[16];
    long rss_st = 0, rss_cms = 0, rss_sql = 0;
    uint64_t n = 0, size;
    int keep = 0, c;
    run_t r;

    while ((c = getopt(argc, argv, "n:L:r:d:k")) != -1) {
        switch (c) {
        case 'n':
            n_bpps = strtoul(optarg, NULL, 10);
            break;
        case 'L':
            large_mb = strtoul(optarg, NULL, 10);
            break;
        case 'r':
            runs = strtoul(optarg, NULL, 10);
            break;
        case 'd':
            base = optarg;
            break;
        case 'k':
            keep = 1;
            break;
        default:
            usage();
            return 2;
        }
    }
    if (n_bpps == 0 || n_bpps > 100000 || runs == 0 || runs > 16) {
        usage();
        return 2;
    }
    st_log_set_level(ST_LOG_ERR);
    snprintf(w, sizeof(w), "%s/ifpp-import-bench-XXXXXX", base && *base ? base : "/var/tmp");
    if (!mkdtemp(w)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(log, sizeof(log), "%s/log.txt", w);
    snprintf(edata, sizeof(edata), "%s/eum/euicc-data.ifppe", w);
    snprintf(bundle, sizeof(bundle), "%s/bundle.ifppb", w);
    snprintf(sql, sizeof(sql), "%s/baseline.sql", w);
    snprintf(blobs, sizeof(blobs), "%s/blobs", w);
    snprintf(db, sizeof(db), "%s/baseline.db", w);
    fprintf(stderr, "import-bench: preparing %lu eUICCs and BPPs in %s ...\n", n_bpps, w);
    if (sh(NULL, log, NULL, "%s pki init %s/pki", IMPORT_BENCH_TESTKIT, w) != 0
        || sh(NULL, log, NULL, "%s eum make %s/eum --count %lu --keys 1 --pki %s/pki",
              IMPORT_BENCH_TESTKIT, w, n_bpps, w)
               != 0
        || sh(NULL, log, NULL, "%s smdpf bind %s --pki %s/pki -o %s", IMPORT_BENCH_TESTKIT, edata,
              w, bundle)
               != 0
        || make_baseline_sql(bundle, blobs, sql, &n) != 0)
        return 1;
    size = file_size(bundle);

    for (unsigned long i = 0; i < runs; i++) {
        if (station_import(w, edata, bundle, log, &r) != 0)
            return 1;
        t_st[i] = r.wall_s;
        if (r.maxrss_kb > rss_st)
            rss_st = r.maxrss_kb;
        if (sh(NULL, log, &r,
               "/usr/bin/openssl cms -verify -binary -inform DER -content %s -in %s.p7s -CAfile "
               "%s/pki/ci.cert.pem -purpose any -out /dev/null",
               bundle, bundle, w)
            != 0)
            return 1;
        t_cms[i] = r.wall_s;
        if (r.maxrss_kb > rss_cms)
            rss_cms = r.maxrss_kb;
        unlink(db);
        if (sh(sql, log, &r, "/usr/bin/sqlite3 %s", db) != 0)
            return 1;
        t_sql[i] = r.wall_s;
        if (r.maxrss_kb > rss_sql)
            rss_sql = r.maxrss_kb;
        t_base[i] = t_cms[i] + t_sql[i];
    }
    qsort(t_st, runs, sizeof(double), cmp_d);
    qsort(t_cms, runs, sizeof(double), cmp_d);
    qsort(t_sql, runs, sizeof(double), cmp_d);
    qsort(t_base, runs, sizeof(double), cmp_d);
    {
        double ts = t_st[runs / 2], tb = t_base[runs / 2], mb = (double)size / 1e6;
        printf("\nimport bench: %" PRIu64 " BPPs (%.1f KB each), bundle %.1f MB; median of %lu "
               "runs\n",
               n, (double)size / 1e3 / (double)n, mb, runs);
        printf("%-34s %8s %9s %8s %12s\n", "", "wall s", "BPPs/s", "MB/s", "peak RSS MB");
        printf("%-34s %8.3f %9.0f %8.1f %12.1f\n", "ifpp-station import", ts, (double)n / ts,
               mb / ts, (double)rss_st / 1024);
        printf("%-34s %8.3f %9s %8.1f %12.1f\n", "  baseline: openssl cms -verify", t_cms[runs / 2],
               "", mb / t_cms[runs / 2], (double)rss_cms / 1024);
        printf("%-34s %8.3f %9.0f %8.1f %12.1f\n", "  baseline: sqlite3 inserts (1 tx)",
               t_sql[runs / 2], (double)n / t_sql[runs / 2], mb / t_sql[runs / 2],
               (double)rss_sql / 1024);
        printf("%-34s %8.3f %9.0f %8.1f\n", "baseline total", tb, (double)n / tb, mb / tb);
        printf("%-34s %8.2f   (goal <= 1.5)\n", "ratio station / baseline", ts / tb);
    }

    if (large_mb) {
        char upp[4200], large[4200], eum2[4200], edata2[4300];
        unsigned long k;
        uint64_t lsize;
        snprintf(upp, sizeof(upp), "%s/large.upp", w);
        snprintf(large, sizeof(large), "%s/large.ifppb", w);
        snprintf(eum2, sizeof(eum2), "%s/eum-large", w);
        k = (large_mb * 1000000ul) / 3500000ul + 1;
        fflush(stdout);
        fprintf(stderr, "import-bench: preparing a %lu MB bundle (%lu BPPs of ~3.5 MB) ...\n",
                large_mb, k);
        if (make_upp(upp, 3500000) != 0
            || sh(NULL, log, NULL, "%s eum make %s --count %lu --keys 1 --pki %s/pki",
                  IMPORT_BENCH_TESTKIT, eum2, k, w)
                   != 0
            || sh(NULL, log, NULL,
                  "%s smdpf bind %s/euicc-data.ifppe --pki %s/pki --profiles %s -o %s",
                  IMPORT_BENCH_TESTKIT, eum2, w, upp, large)
                   != 0)
            return 1;
        snprintf(edata2, sizeof(edata2), "%s/euicc-data.ifppe", eum2);
        lsize = file_size(large);
        if (station_import(w, edata2, large, log, &r) != 0)
            return 1;
        printf("\nlarge bundle: %lu BPPs, %.1f MB: import %.1f s (%.1f MB/s), peak RSS %.1f MB "
               "(goal <= 64)\n",
               k, (double)lsize / 1e6, r.wall_s, (double)lsize / 1e6 / r.wall_s,
               (double)r.maxrss_kb / 1024);
    }
    if (keep || !exists(w))
        fprintf(stderr, "import-bench: work files kept in %s\n", w);
    else
        sh(NULL, "/dev/null", NULL, "/bin/rm -rf %s", w);
    return 0;
}
