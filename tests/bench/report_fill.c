/*
 * report_fill - fills a station store with results for the report benchmark and the report
 * kill test, through the store API (plr_fixture.c): eUICCs with minted certificates, bundles
 * of dummy BPPs, each BPP installed with a PIR its eUICC key signs, or dead.
 *
 *   report-fill DB [--count N] [--smdpf OID]... [--dead-every K] [--euiccs E] [--chunk C]
 *
 * N results per SM-DPf (default 1000; SM-DPf default 2.999.10), every K-th one dead (default
 * 0: none; dead ones alternate: with the card's error BF37 and code 1, without and code 7),
 * over E eUICCs (default 16), C BPPs per bundle (default 10000). May be run again on the same
 * store: it adds more (fresh transaction ids and one-time key indexes). Test tool.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "base/log.h"
#include "plr_fixture.h"
#include "store.h"

#define MAX_OIDS 8

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void) {
    fprintf(stderr, "usage: report-fill DB [--count N] [--smdpf OID]... [--dead-every K] "
                    "[--euiccs E] [--chunk C]\n");
}

static int parse_num(const char *s, unsigned long long max, unsigned long long *v) {
    char *end = NULL;
    unsigned long long x = strtoull(s, &end, 10);
    if (!s[0] || *end || x > max)
        return -1;
    *v = x;
    return 0;
}

/* One chunk: a bundle of n BPPs, then each settled; one transaction for all of it. */
static st_t fill_chunk(plr_fixture_t *fx, store_t *s, const char *oid, size_t n,
                       unsigned long long dead_every, uint64_t *done, uint64_t *dead,
                       int64_t *ids) {
    uint32_t key_base;
    st_t st;

    /* fresh key indexes per chunk: random base, spaced so that runs do not meet */
    if (RAND_bytes((unsigned char *)&key_base, sizeof(key_base)) != 1)
        return ST_E_CRYPTO;
    key_base = 1000 + (key_base % 4000000u) * 1000u;
    if ((st = plr_fixture_bundle(fx, s, oid, n, key_base, ids)) != ST_OK)
        return st;
    if ((st = store_tx_begin(s)) != ST_OK)
        return st;
    for (size_t i = 0; i < n && st == ST_OK; i++) {
        uint64_t k = ++*done;
        if (dead_every && k % dead_every == 0) {
            bool bf37 = (k / dead_every) % 2 == 1;
            st = plr_fixture_dead(fx, s, ids[i], bf37 ? 1 : 7,
                                  bf37 ? "the card refused the profile" : NULL, bf37);
            ++*dead;
        } else {
            st = plr_fixture_install(fx, s, ids[i]);
        }
    }
    if (st != ST_OK) {
        store_tx_rollback(s);
        return st;
    }
    return store_tx_commit(s);
}

int main(int argc, char **argv) {
    const char *db = NULL, *oids[MAX_OIDS];
    size_t n_oids = 0;
    unsigned long long count = 1000, dead_every = 0, euiccs = 16, chunk = 10000;
    plr_fixture_t *fx = NULL;
    store_t *s = NULL;
    int64_t *ids = NULL;
    int rc = 1;
    st_t st;

    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (o[0] != '-' && !db) {
            db = o;
            continue;
        }
        if (!v) {
            usage();
            return 2;
        }
        if ((!strcmp(o, "--count") && parse_num(v, 10000000, &count) == 0)
            || (!strcmp(o, "--dead-every") && parse_num(v, 10000000, &dead_every) == 0)
            || (!strcmp(o, "--euiccs") && parse_num(v, 10000, &euiccs) == 0 && euiccs > 0)
            || (!strcmp(o, "--chunk") && parse_num(v, 1000000, &chunk) == 0 && chunk > 0)) {
            i++;
        } else if (!strcmp(o, "--smdpf") && n_oids < MAX_OIDS) {
            oids[n_oids++] = v;
            i++;
        } else {
            usage();
            return 2;
        }
    }
    if (!db) {
        usage();
        return 2;
    }
    if (n_oids == 0)
        oids[n_oids++] = "2.999.10";
    if (!(ids = calloc((size_t)chunk, sizeof(*ids)))) {
        fprintf(stderr, "report-fill: out of memory\n");
        return 1;
    }
    if ((st = store_open(db, 0, &s)) != ST_OK || (st = plr_fixture_new(euiccs, &fx)) != ST_OK
        || (st = plr_fixture_put_euiccs(fx, s)) != ST_OK) {
        fprintf(stderr, "report-fill: %s: %s\n", db, st_str(st));
        goto out;
    }
    for (size_t k = 0; k < n_oids; k++) {
        uint64_t done = 0, dead = 0;
        double t0 = now_s();
        while (done < count) {
            size_t n = (size_t)(count - done < chunk ? count - done : chunk);
            if ((st = fill_chunk(fx, s, oids[k], n, dead_every, &done, &dead, ids)) != ST_OK) {
                fprintf(stderr, "report-fill: SM-DPf %s: %s\n", oids[k], st_str(st));
                goto out;
            }
        }
        printf("report-fill: SM-DPf %s: %" PRIu64 " results (%" PRIu64 " installed, %" PRIu64
               " dead) in %.2f s\n",
               oids[k], done, done - dead, dead, now_s() - t0);
    }
    rc = 0;
out:
    free(ids);
    plr_fixture_free(fx);
    store_close(s);
    return rc;
}
