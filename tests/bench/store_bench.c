/*
 * store_bench - fills a temporary store the way a line would see it and times the queries the
 * engine depends on (DESIGN §9: the store must stay fast at 10^6 BPPs).
 *
 *   store-bench [-n BPPS] [-e EUICCS] [-b BATCH] [-l LOOKUPS] [-t TRANSITIONS] [-d DIR] [-k]
 *
 * BPPS (default 10^6) are spread over EUICCS (default 10^5) eUICCs: BPPS/EUICCS profile rounds,
 * each round one SM-DPf (three in turn) and bundles of BATCH (10^4) entries, one transaction
 * per bundle, with small dummy BF36 blobs. Then TRANSITIONS (2000) BPPs go pending -> loading
 * -> installed (durable transactions, synchronous=FULL), and LOOKUPS (10^4) random EIDs are
 * asked for their pending BPPs. The database goes into a fresh directory under DIR ($TMPDIR or
 * /var/tmp), removed at the end unless -k. Prints a table; exit status 0 unless a step failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "store.h"

static const char *const oids[] = {"2.999.10", "2.999.11", "2.999.12"};

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void make_eid(uint8_t eid[STORE_EID_LEN], uint32_t n) {
    memset(eid, 0, STORE_EID_LEN);
    eid[0] = 0x89;
    eid[1] = 0x04;
    eid[2] = 0x90;
    eid[12] = (uint8_t)(n >> 24);
    eid[13] = (uint8_t)(n >> 16);
    eid[14] = (uint8_t)(n >> 8);
    eid[15] = (uint8_t)n;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double median, p99, max, mean;
} dist_t;

static dist_t summarize(double *v, size_t n) {
    dist_t d = {0, 0, 0, 0};
    double sum = 0;
    if (n == 0)
        return d;
    qsort(v, n, sizeof(*v), cmp_double);
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    d.median = v[n / 2];
    d.p99 = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
    d.max = v[n - 1];
    d.mean = sum / (double)n;
    return d;
}

static int fail(const char *what, st_t st) {
    fprintf(stderr, "store-bench: %s: %s\n", what, st_str(st));
    return 1;
}

static void rm_db(const char *dir, const char *path) {
    char p[4200];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
}

static const char *fs_name(const char *dir) {
    struct statfs sf;
    if (statfs(dir, &sf) != 0)
        return "?";
    switch ((unsigned long)sf.f_type) {
    case 0x01021994UL:
        return "tmpfs";
    case 0xEF53UL:
        return "ext4";
    case 0x58465342UL:
        return "xfs";
    case 0x9123683EUL:
        return "btrfs";
    case 0x794C7630UL:
        return "overlayfs";
    default:
        return "other";
    }
}

int main(int argc, char **argv) {
    unsigned long n_bpps = 1000000, n_euiccs = 100000, batch = 10000, n_lookups = 10000,
                  n_trans = 2000;
    const char *base = getenv("TMPDIR");
    int keep = 0, c, rc = 1;
    char dir[4096], path[4160];
    store_t *s = NULL;
    store_bpp_list_t l = {NULL, 0};
    store_stats_list_t stats = {NULL, 0};
    store_loading_list_t loading = {NULL, 0};
    uint8_t blob[64];
    double t0, t_insert, *lat = NULL, *tlat = NULL, t_stats, t_loading, t_unrep, t_open;
    unsigned long rows = 0;
    uint64_t unreported = 0;
    struct stat sb;
    st_t st;

    while ((c = getopt(argc, argv, "n:e:b:l:t:d:k")) != -1) {
        switch (c) {
        case 'n':
            n_bpps = strtoul(optarg, NULL, 10);
            break;
        case 'e':
            n_euiccs = strtoul(optarg, NULL, 10);
            break;
        case 'b':
            batch = strtoul(optarg, NULL, 10);
            break;
        case 'l':
            n_lookups = strtoul(optarg, NULL, 10);
            break;
        case 't':
            n_trans = strtoul(optarg, NULL, 10);
            break;
        case 'd':
            base = optarg;
            break;
        case 'k':
            keep = 1;
            break;
        default:
            fprintf(stderr,
                    "usage: %s [-n BPPS] [-e EUICCS] [-b BATCH] [-l LOOKUPS] "
                    "[-t TRANSITIONS] [-d DIR] [-k]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n_euiccs == 0 || batch == 0 || n_bpps < n_euiccs || n_euiccs > UINT32_MAX
        || n_trans > n_bpps) {
        fprintf(stderr, "store-bench: need BPPS >= EUICCS > 0, BATCH > 0, TRANSITIONS <= BPPS\n");
        return 2;
    }
    if (!base || !*base)
        base = "/var/tmp";
    snprintf(dir, sizeof(dir), "%s/store-bench-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/station.db", dir);
    st_log_set_level(ST_LOG_ERR);
    memset(blob, 0xA5, sizeof(blob));
    blob[0] = 0xBF;
    blob[1] = 0x36;
    blob[2] = sizeof(blob) - 3;

    t0 = now_us();
    st = store_open(path, 0, &s);
    t_open = now_us() - t0;
    if (st != ST_OK) {
        rc = fail("open", st);
        goto out;
    }

    /* ---- fill: round r gives every eUICC one BPP (key index r) from SM-DPf r % 3 ---- */
    t0 = now_us();
    {
        unsigned long rounds = n_bpps / n_euiccs, done = 0;
        uint32_t bundle_no = 0;
        for (unsigned long r = 0; r < rounds && done < n_bpps; r++) {
            for (unsigned long first = 0; first < n_euiccs && done < n_bpps; first += batch) {
                unsigned long cnt = n_euiccs - first < batch ? n_euiccs - first : batch;
                store_bundle_new_t b;
                int64_t rowid = 0;

                memset(&b, 0, sizeof(b));
                bundle_no++;
                memcpy(b.bundle_id, &bundle_no, sizeof(bundle_no));
                memcpy(b.file_sha256, &bundle_no, sizeof(bundle_no));
                b.smdpf_oid = oids[r % 3];
                b.created_at = 1700000000;
                b.entry_count = cnt;
                b.smdpf_chain = blob;
                b.smdpf_chain_len = sizeof(blob);
                st = store_tx_begin(s);
                if (st == ST_OK)
                    st = store_bundle_insert(s, &b, &rowid);
                for (unsigned long i = 0; st == ST_OK && i < cnt; i++) {
                    store_bpp_new_t e;
                    uint32_t k = (uint32_t)(first + i);
                    memset(&e, 0, sizeof(e));
                    e.seq = (uint32_t)i;
                    make_eid(e.eid, k);
                    e.key_index = (uint32_t)r;
                    e.tid_len = 16;
                    memcpy(e.tid, &r, sizeof(uint32_t));
                    memcpy(e.tid + 8, &k, sizeof(k));
                    memset(e.iccid, 0x98, sizeof(e.iccid));
                    e.profile_type = "bench";
                    e.bpp = blob;
                    e.bpp_len = sizeof(blob);
                    st = store_bpp_add(s, rowid, &e, NULL);
                }
                if (st == ST_OK)
                    st = store_tx_commit(s);
                else
                    store_tx_rollback(s);
                if (st != ST_OK) {
                    rc = fail("fill", st);
                    goto out;
                }
                done += cnt;
            }
        }
        rows = done;
    }
    t_insert = now_us() - t0;

    /* ---- durable transitions: pending -> loading -> installed ---- */
    tlat = calloc(2 * (n_trans ? n_trans : 1), sizeof(*tlat));
    lat = calloc(n_lookups ? n_lookups : 1, sizeof(*lat));
    if (!tlat || !lat) {
        rc = fail("alloc", ST_E_NOMEM);
        goto out;
    }
    for (unsigned long i = 0; i < n_trans; i++) {
        store_change_t ch = STORE_CHANGE_INIT;
        int64_t id = (int64_t)(1 + rng() % rows);
        store_bpp_t b;
        double a;

        st = store_bpp_get(s, id, &b);
        if (st == ST_OK && b.state != STORE_BPP_PENDING) {
            i--; /* drew one twice */
            continue;
        }
        ch.reader = "bench reader 00 00";
        ch.actor = "bench";
        a = now_us();
        if (st == ST_OK)
            st = store_bpp_transition(s, id, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch);
        tlat[2 * i] = now_us() - a;
        ch.pir = blob;
        ch.pir_len = sizeof(blob);
        ch.pir_verified = true;
        a = now_us();
        if (st == ST_OK)
            st = store_bpp_transition(s, id, STORE_BPP_LOADING, STORE_BPP_INSTALLED, &ch);
        tlat[2 * i + 1] = now_us() - a;
        if (st != ST_OK) {
            rc = fail("transition", st);
            goto out;
        }
    }

    /* ---- the engine's hot query ---- */
    {
        unsigned long found = 0;
        for (unsigned long i = 0; i < n_lookups; i++) {
            uint8_t eid[STORE_EID_LEN];
            double a;
            make_eid(eid, (uint32_t)(rng() % n_euiccs));
            a = now_us();
            st = store_bpp_pending(s, eid, false, &l);
            lat[i] = now_us() - a;
            if (st != ST_OK) {
                rc = fail("pending", st);
                goto out;
            }
            found += l.n;
        }
        t0 = now_us();
        st = store_bundle_stats(s, &stats);
        t_stats = now_us() - t0;
        if (st == ST_OK) {
            t0 = now_us();
            st = store_bpp_loading(s, &loading);
            t_loading = now_us() - t0;
        }
        if (st == ST_OK) {
            t0 = now_us();
            st = store_results_unreported_count(s, oids[0], &unreported);
            t_unrep = now_us() - t0;
        }
        if (st != ST_OK) {
            rc = fail("status queries", st);
            goto out;
        }
        stat(path, &sb);
        {
            dist_t d = summarize(lat, n_lookups);
            dist_t t = summarize(tlat, 2 * n_trans);
            printf("store-bench: %lu BPPs over %lu eUICCs, %zu bundles of <= %lu, %zu-byte "
                   "blobs, on %s (%s)\n",
                   rows, n_euiccs, stats.n, batch, sizeof(blob), dir, fs_name(dir));
            printf("  %-44s %12s\n", "measure", "value");
            printf("  %-44s %12.1f\n", "open + migrate fresh DB (ms)", t_open / 1e3);
            printf("  %-44s %12.0f\n", "insert rate (BPPs/s, 1 tx per bundle)",
                   (double)rows / (t_insert / 1e6));
            printf("  %-44s %12.1f\n", "insert total (s)", t_insert / 1e6);
            printf("  %-44s %12.1f\n", "database size (MiB)", (double)sb.st_size / 1048576.0);
            printf("  %-44s %12.1f\n", "pending for EID: median (us)", d.median);
            printf("  %-44s %12.1f\n", "pending for EID: p99 (us)", d.p99);
            printf("  %-44s %12.1f\n", "pending for EID: max (us)", d.max);
            printf("  %-44s %12.2f\n", "pending for EID: BPPs per lookup",
                   n_lookups ? (double)found / (double)n_lookups : 0.0);
            printf("  %-44s %12.1f\n", "durable transition: median (us)", t.median);
            printf("  %-44s %12.1f\n", "durable transition: p99 (us)", t.p99);
            printf("  %-44s %12.1f\n", "counts per bundle and state (ms)", t_stats / 1e3);
            printf("  %-44s %12.2f\n", "BPPs in loading (ms)", t_loading / 1e3);
            printf("  %-44s %12.1f\n", "unreported results of one SM-DPf, count (ms)",
                   t_unrep / 1e3);
            printf("  (%lu lookups over random EIDs, %lu BPPs installed; %" PRIu64
                   " unreported for %s)\n",
                   n_lookups, n_trans, unreported, oids[0]);
        }
    }
    rc = 0;
out:
    store_bpp_list_free(&l);
    store_stats_list_free(&stats);
    store_loading_list_free(&loading);
    free(lat);
    free(tlat);
    t0 = now_us();
    store_close(s);
    if (rc == 0)
        printf("  %-44s %12.1f\n", "close incl. wal_checkpoint(TRUNCATE) (ms)",
               (now_us() - t0) / 1e3);
    if (!keep)
        rm_db(dir, path);
    else
        printf("kept %s\n", path);
    return rc;
}
