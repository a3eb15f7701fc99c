/*
 * fpa_client - a minimal Factory Profile Assistant for the test kit's end-to-end tests, until
 * the station's engine drives the line (it uses the same pcsc/ layer the engine uses):
 *
 *   fpa-client --reader NAME --bundle B.ifppb --edata DATA.ifppe --pki DIR
 *              [--report OUT.ifppl] [--resend] [--block N]
 *
 * On the card in READER: GetEID, GetEuiccChallenge, AuthoriseFpaServices with the DM key
 * (PKI/dm.key.pem), then for every bundle entry bound to that EID: PrepareLoad (CERT.DPpb from
 * the bundle header, keyIndex) and LoadBoundProfilePackage; each BF37 is parsed and its
 * euiccSignPIR verified with CERT.EUICC from the (EUM-signed, verified) eUICC data.
 * --resend sends the first installed BPP again and requires the card to refuse it (its
 * one-time key is gone: GENS08). --report writes a DM-signed Profile Loading Report of the
 * results (what the station's reports/ will do), for `ifpp-testkit smdpf verify-report`.
 * Prints one line per BPP; exit 0 only if every BPP installed and verified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "apdu.h"
#include "base/buf.h"
#include "base/log.h"
#include "crypto/cert.h"
#include "crypto/cms.h"
#include "crypto/ec.h"
#include "es10.h"
#include "fmt/ifpp.h"
#include "fmt/pir.h"
#include "transport.h"

typedef struct {
    const char *reader, *bundle, *edata, *pki, *report;
    bool resend;
    size_t block;
} opts_t;

static int usage(void) {
    fprintf(stderr, "usage: fpa-client --reader NAME --bundle B.ifppb --edata DATA.ifppe "
                    "--pki DIR [--report OUT.ifppl] [--resend] [--block N]\n");
    return 2;
}

/* CERT.EUICC of `eid` from the EUM-signed eUICC data (verified against PKI/ci.cert.pem). */
static st_t euicc_cert_for(const opts_t *o, const uint8_t eid[16], X509 **out) {
    char path[4096];
    buf_t der = BUF_INIT, content = BUF_INIT;
    cert_trust_t *ci = cert_trust_new();
    ifpp_edata_t *d = NULL;
    st_t st = ST_E_NOENT;

    snprintf(path, sizeof(path), "%s/ci.cert.pem", o->pki);
    if (!ci || (st = cert_trust_add_file(ci, path)) != ST_OK
        || (st = buf_read_file(&der, o->edata, 64u << 20)) != ST_OK
        || (st = cms_verify_attached(ci, der.data, der.len, &content, NULL)) != ST_OK
        || (st = ifpp_edata_decode(content.data, content.len, &d)) != ST_OK)
        goto out;
    st = ST_E_NOENT;
    for (size_t i = 0; i < d->n_euiccs; i++)
        if (!memcmp(d->euiccs[i].eid, eid, 16))
            st = cert_from_der(d->euiccs[i].cert_euicc.p, d->euiccs[i].cert_euicc.len, out);
out:
    ifpp_edata_free(d);
    cert_trust_free(ci);
    buf_free(&der);
    buf_free(&content);
    return st;
}

int main(int argc, char **argv) {
    opts_t o = {0};
    transport_t *t = NULL;
    es10_t *s = NULL;
    es10_result_t res;
    EVP_PKEY *dm_key = NULL;
    X509 *euicc = NULL, *dm_cert = NULL;
    STACK_OF(X509) *dm_chain = NULL;
    FILE *bf = NULL;
    ifpp_bundle_reader_t *br = NULL;
    ifpp_bundle_entry_t e;
    uint8_t eid[16], ch[16];
    char eid_s[33], path[4096];
    buf_t pir = BUF_INIT, first_bpp = BUF_INIT, out = BUF_INIT, sig = BUF_INIT;
    ifpp_report_entry_t *rentries = NULL;
    size_t n_ok = 0, n_bad = 0, n_rent = 0;
    uint64_t first_key = 0;
    int rc = 1;
    st_t st;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reader") && i + 1 < argc)
            o.reader = argv[++i];
        else if (!strcmp(argv[i], "--bundle") && i + 1 < argc)
            o.bundle = argv[++i];
        else if (!strcmp(argv[i], "--edata") && i + 1 < argc)
            o.edata = argv[++i];
        else if (!strcmp(argv[i], "--pki") && i + 1 < argc)
            o.pki = argv[++i];
        else if (!strcmp(argv[i], "--report") && i + 1 < argc)
            o.report = argv[++i];
        else if (!strcmp(argv[i], "--block") && i + 1 < argc)
            o.block = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--resend"))
            o.resend = true;
        else
            return usage();
    }
    if (!o.reader || !o.bundle || !o.edata || !o.pki)
        return usage();

    snprintf(path, sizeof(path), "%s/dm.key.pem", o.pki);
    if ((st = ec_key_load_pem(path, &dm_key)) != ST_OK) {
        fprintf(stderr, "fpa-client: %s: %s\n", path, st_str(st));
        goto out;
    }
    es10_opts_t eo = {.block_size = o.block};
    if ((st = transport_pcsc_new(&t)) != ST_OK || (st = transport_open(t, o.reader)) != ST_OK
        || (st = es10_open(t, &eo, &s, &res)) != ST_OK
        || (st = es10c_get_eid(s, eid, &res)) != ST_OK) {
        fprintf(stderr, "fpa-client: %s: card: %s (SW %04X)\n", o.reader, st_str(st), res.sw);
        goto out;
    }
    eid_to_str(eid, eid_s);
    if ((st = es10b_get_euicc_challenge(s, ch, &res)) != ST_OK
        || (st = es10f_authorise_fpa_services(s, dm_key, eid, ch, &res)) != ST_OK
        || (res.has_code && res.code != 0)) {
        fprintf(stderr, "fpa-client: %s: AuthoriseFpaServices: %s (result %u)\n", eid_s, st_str(st),
                res.code);
        goto out;
    }
    if ((st = euicc_cert_for(&o, eid, &euicc)) != ST_OK) {
        fprintf(stderr, "fpa-client: %s: no eUICC certificate in %s\n", eid_s, o.edata);
        goto out;
    }
    if (!(bf = fopen(o.bundle, "rb")) || (st = ifpp_bundle_reader_open(bf, &br)) != ST_OK) {
        fprintf(stderr, "fpa-client: %s: cannot read bundle\n", o.bundle);
        goto out;
    }
    const ifpp_bundle_hdr_t *h = ifpp_bundle_reader_header(br);
    es10_blob_t chain[8];
    size_t n_chain = 0;
    for (size_t i = 1; i < h->n_smdpf_certs && n_chain < 8; i++)
        chain[n_chain++] = (es10_blob_t){h->smdpf_certs[i].p, h->smdpf_certs[i].len};

    while ((st = ifpp_bundle_reader_next(br, &e)) == ST_OK) {
        pir_view_t pv;
        es10_lbpp_stats_t stats;
        struct timespec t0, t1;
        if (memcmp(e.eid, eid, 16) != 0)
            continue;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if ((st = es10f_prepare_load(s, e.key_index, h->smdpf_certs[0].p, h->smdpf_certs[0].len,
                                     chain, n_chain, &res))
                != ST_OK
            || (res.has_code && res.code != 0)) {
            printf("FAIL %s key %u: PrepareLoad: %s (result %u)\n", eid_s, e.key_index, st_str(st),
                   res.code);
            n_bad++;
            continue;
        }
        buf_reset(&pir);
        st = es10b_load_bound_profile_package(s, e.bpp, e.bpp_len, &pir, &stats, NULL, NULL, &res);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (st != ST_OK || pir_parse(pir.data, pir.len, &pv) != ST_OK) {
            printf("FAIL %s key %u: load: %s (SW %04X)\n", eid_s, e.key_index, st_str(st), res.sw);
            n_bad++;
            continue;
        }
        if (pir_verify(&pv, X509_get0_pubkey(euicc)) != ST_OK || !pv.success) {
            printf("FAIL %s key %u: PIR %s, %s/%s\n", eid_s, e.key_index,
                   pv.success ? "signature invalid" : "error", pir_cmd_name(pv.error_cmd),
                   pir_reason_name(pv.error_reason));
            n_bad++;
            continue;
        }
        printf("OK %s key %u: installed, PIR verified, %zu segments, %llu APDUs, %llu bytes, "
               "%.1f ms\n",
               eid_s, e.key_index, stats.segments_sent, (unsigned long long)stats.apdus,
               (unsigned long long)stats.tx_bytes,
               (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
        n_ok++;
        if (first_bpp.len == 0) {
            buf_append(&first_bpp, e.bpp, e.bpp_len);
            first_key = e.key_index;
        }
        if (o.report) {
            ifpp_report_entry_t *nr = realloc(rentries, (n_rent + 1) * sizeof(*nr));
            if (!nr)
                goto out;
            rentries = nr;
            memset(&rentries[n_rent], 0, sizeof(rentries[0]));
            rentries[n_rent].kind = IFPP_RESULT_INSTALLED;
            memcpy(rentries[n_rent].eid, e.eid, 16);
            memcpy(rentries[n_rent].tid, e.tid, e.tid_len);
            rentries[n_rent].tid_len = e.tid_len;
            memcpy(rentries[n_rent].iccid, e.iccid, 10);
            rentries[n_rent].has_iccid = true;
            rentries[n_rent].at = time(NULL);
            rentries[n_rent].pir.p = malloc(pir.len);
            if (!rentries[n_rent].pir.p)
                goto out;
            memcpy(rentries[n_rent].pir.p, pir.data, pir.len);
            rentries[n_rent].pir.len = pir.len;
            n_rent++;
        }
    }
    if (st != ST_E_NOENT) {
        fprintf(stderr, "fpa-client: %s: bundle: %s\n", o.bundle, st_str(st));
        goto out;
    }

    if (o.resend && first_bpp.len > 0) {
        /* GENS08: the key that installed it is erased, so the card must refuse the replay */
        st = es10f_prepare_load(s, first_key, h->smdpf_certs[0].p, h->smdpf_certs[0].len, chain,
                                n_chain, &res);
        if (st == ST_OK && res.has_code && res.code == 0) {
            printf("FAIL resend: PrepareLoad accepted a consumed key\n");
            n_bad++;
        } else {
            printf("OK resend refused: PrepareLoad result %u (%s)\n", res.code,
                   st == ST_OK ? "card result" : st_str(st));
        }
    }

    if (o.report) {
        ifpp_report_t r = {0};
        char cpath[4096];
        r.version = IFPP_FORMAT_VERSION;
        RAND_bytes(r.report_id, sizeof(r.report_id));
        snprintf(r.dm_id, sizeof(r.dm_id), "DM-TEST");
        snprintf(r.station_id, sizeof(r.station_id), "FPA-CLIENT");
        memcpy(r.smdpf_oid, h->smdpf_oid, h->smdpf_oid_len);
        r.smdpf_oid_len = h->smdpf_oid_len;
        r.bundle_ids = malloc(sizeof(*r.bundle_ids));
        if (!r.bundle_ids)
            goto out;
        memcpy(r.bundle_ids[0], h->bundle_id, IFPP_ID_LEN);
        r.n_bundle_ids = 1;
        r.period_start = r.period_end = time(NULL);
        r.entries = rentries;
        r.n_entries = n_rent;
        snprintf(path, sizeof(path), "%s/dm.cert.pem", o.pki);
        snprintf(cpath, sizeof(cpath), "%s/dm-ca.cert.pem", o.pki);
        st = ifpp_report_encode(&r, &out);
        free(r.bundle_ids);
        if (st != ST_OK || (st = cert_load(path, &dm_cert)) != ST_OK
            || (st = cert_load_all(cpath, &dm_chain)) != ST_OK
            || (st = cms_sign(dm_key, dm_cert, dm_chain, out.data, out.len, false, &sig)) != ST_OK
            || (st = buf_write_file_atomic(o.report, sig.data, sig.len, 0644)) != ST_OK) {
            fprintf(stderr, "fpa-client: %s: %s\n", o.report, st_str(st));
            goto out;
        }
    }
    printf("%s: %zu installed, %zu failed\n", eid_s, n_ok, n_bad);
    rc = (n_bad == 0 && n_ok > 0) ? 0 : 1;
out:
    for (size_t i = 0; i < n_rent; i++)
        free(rentries[i].pir.p);
    free(rentries);
    ifpp_bundle_reader_free(br);
    if (bf)
        fclose(bf);
    es10_close(s);
    transport_free(t);
    EVP_PKEY_free(dm_key);
    X509_free(euicc);
    X509_free(dm_cert);
    sk_X509_pop_free(dm_chain, X509_free);
    buf_free(&pir);
    buf_free(&first_bpp);
    buf_free(&out);
    buf_free(&sig);
    return rc;
}
