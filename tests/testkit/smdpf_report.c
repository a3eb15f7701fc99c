/*
 * smdpf_report.c - the test SM-DPf's side of ESBPP03 (SGP.41 §5.1 steps 15-16, DPFF05-07):
 *
 *   smdpf verify-report FILE.ifppl [--pki DIR] [--smdpf NAME]
 *
 * Checks, in this order, and stops with exit 1 and the reason at the first failure:
 *   1. the CMS signature of the report and the signer's chain to the DM CA (PKI/dm-ca.cert.pem),
 *      with the DM role policy, and the SignedData profile (cms_station_profile_ok: fields
 *      OpenSSL does not judge);
 *   2. the report is for this SM-DPf (its OID, from PKI/NAME/oid.txt; NAME found by OID when not
 *      given);
 *   3. per entry: the transactionId is one this SM-DPf bound (bound.txt) for that EID, and no
 *      transaction appears twice; the eUICC chain CI -> EUM -> eUICC verifies; a PIR, when
 *      present, parses, names the same transactionId and this SM-DPf's OID, and its
 *      euiccSignPIR verifies with PK.EUICC over the received BF27 bytes; an `installed` entry
 *      must carry a successful PIR whose ICCID is the ICCID bound in that transaction; a
 *      `failed` entry must not carry a successful PIR.
 * Then prints the MSP summary of step 16: per ICCID, the EID, the result and the time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "crypto/cert.h"
#include "crypto/cms.h"
#include "fmt/ifpp.h"
#include "fmt/pir.h"
#include "smdpf.h"
#include "tlv/tlv.h"

#define REPORT_MAX_LEN (1024u << 20)
#define MAX_SMDPF_DIRS 16

typedef struct {
    uint8_t eid[16];
    uint32_t key_index;
    uint8_t tid[16];
    size_t tid_len;
    char iccid[21];
    int seen;
} bound_t;

typedef struct {
    bound_t *v;
    size_t n, cap;
} bound_set_t;

st_t smdpf_remember_euicc(const char *pki, const char *smdpf, const uint8_t eid[16], X509 *euicc,
                          X509 *eum) {
    char dir[4096], path[4200], eid_s[33];
    buf_t der = BUF_INIT;
    st_t st = ST_OK;

    eid_to_str(eid, eid_s);
    snprintf(dir, sizeof(dir), "%s/%s/euicc", pki, smdpf);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return st_from_errno(errno);
    snprintf(path, sizeof(path), "%s/%s.der", dir, eid_s);
    if ((st = cert_to_der(euicc, &der)) != ST_OK
        || (st = buf_write_file_atomic(path, der.data, der.len, 0644)) != ST_OK)
        goto out;
    buf_reset(&der);
    snprintf(path, sizeof(path), "%s/%s.eum.der", dir, eid_s);
    if ((st = cert_to_der(eum, &der)) != ST_OK
        || (st = buf_write_file_atomic(path, der.data, der.len, 0644)) != ST_OK)
        goto out;
out:
    buf_free(&der);
    return st;
}

static st_t bound_load(const char *path, bound_set_t *b) {
    buf_t text = BUF_INIT;
    st_t st = buf_read_file(&text, path, 256u << 20);
    char *line, *save = NULL;

    if (st != ST_OK)
        goto out;
    if ((st = buf_append_byte(&text, 0)) != ST_OK)
        goto out;
    for (line = strtok_r((char *)text.data, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char eid_s[64], tid_s[64], iccid_s[21], bid_s[64];
        unsigned long idx;
        bound_t r = {0};
        if (sscanf(line, "%63s %lu %63s %20s %63s", eid_s, &idx, tid_s, iccid_s, bid_s) != 5
            || eid_from_str(eid_s, r.eid) != ST_OK || strlen(tid_s) > 32
            || strlen(tid_s) % 2 != 0) {
            st = ST_E_PARSE;
            goto out;
        }
        r.key_index = (uint32_t)idx;
        r.tid_len = strlen(tid_s) / 2;
        if ((st = hex_decode_exact(tid_s, r.tid, r.tid_len)) != ST_OK)
            goto out;
        snprintf(r.iccid, sizeof(r.iccid), "%s", iccid_s);
        if (b->n == b->cap) {
            size_t ncap = b->cap ? 2 * b->cap : 64;
            bound_t *nv = realloc(b->v, ncap * sizeof(*nv));
            if (!nv) {
                st = ST_E_NOMEM;
                goto out;
            }
            b->v = nv;
            b->cap = ncap;
        }
        b->v[b->n++] = r;
    }
out:
    buf_free(&text);
    return st;
}

static bound_t *bound_find(bound_set_t *b, const uint8_t *tid, size_t tid_len) {
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].tid_len == tid_len && memcmp(b->v[i].tid, tid, tid_len) == 0)
            return &b->v[i];
    return NULL;
}

/* ICCID as stored in a PIR / entry (nibble-swapped BCD, F padding) -> digits. */
static void iccid_digits(const uint8_t iccid[10], char out[21]) {
    size_t k = 0;
    for (size_t i = 0; i < 10; i++) {
        uint8_t lo = iccid[i] & 0x0F, hi = iccid[i] >> 4;
        if (lo <= 9)
            out[k++] = (char)('0' + lo);
        if (hi <= 9)
            out[k++] = (char)('0' + hi);
    }
    out[k] = '\0';
}

static int read_trimmed(const char *path, char *out, size_t len) {
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    if (!fgets(out, (int)len, f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    out[strcspn(out, " \r\n")] = '\0';
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: ifpp-testkit smdpf verify-report FILE.ifppl [--pki DIR] [--smdpf NAME]\n");
}

static const char *kind_name(ifpp_result_kind_t k) {
    return k == IFPP_RESULT_INSTALLED ? "installed"
           : k == IFPP_RESULT_FAILED  ? "failed"
                                      : "deleted";
}

int smdpf_verify_report_main(int argc, char **argv) {
    const char *pki = "./pki", *smdpf = NULL, *file = NULL;
    char path[4200], oid_text[128], name_buf[32], want_oid[128], eid_s[33], errbuf[256];
    buf_t der = BUF_INIT, content = BUF_INIT;
    cert_trust_t *dm_trust = NULL, *ci_trust = NULL;
    ifpp_report_t *rep = NULL;
    X509 *signer = NULL;
    bound_set_t bound = {0};
    ifpp_err_t ierr;
    size_t n_inst = 0, n_fail = 0, n_del = 0;
    int rc = 1;
    st_t st;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pki") && i + 1 < argc)
            pki = argv[++i];
        else if (!strcmp(argv[i], "--smdpf") && i + 1 < argc)
            smdpf = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!file) {
        usage(stderr);
        return 2;
    }

    /* 1. signature and DM chain */
    if ((st = buf_read_file(&der, file, REPORT_MAX_LEN)) != ST_OK) {
        fprintf(stderr, "verify-report: %s: %s\n", file, st_str(st));
        goto out;
    }
    snprintf(path, sizeof(path), "%s/dm-ca.cert.pem", pki);
    if (!(dm_trust = cert_trust_new()) || (st = cert_trust_add_file(dm_trust, path)) != ST_OK) {
        fprintf(stderr, "verify-report: %s: cannot load the DM CA\n", path);
        goto out;
    }
    if ((st = cms_verify_attached(dm_trust, der.data, der.len, &content, &signer)) != ST_OK) {
        fprintf(stderr, "verify-report: %s: report signature: %s\n", file, st_str(st));
        goto out;
    }
    if (!cms_station_profile_ok(der.data, der.len)) {
        fprintf(stderr,
                "verify-report: %s: not the DM's SignedData profile (a version, content "
                "type or algorithm field was changed)\n",
                file);
        goto out;
    }
    if (!cert_has_policy(signer, CERT_POLICY_IFPP_DM)) {
        fprintf(stderr, "verify-report: %s: signer is not a DM station certificate\n", file);
        goto out;
    }
    ifpp_err_clear(&ierr);
    if ((st = ifpp_report_decode_ex(content.data, content.len, &rep, &ierr)) != ST_OK) {
        fprintf(stderr, "verify-report: %s: %s\n", file,
                ifpp_err_format(&ierr, errbuf, sizeof(errbuf)));
        goto out;
    }

    /* 2. which SM-DPf: ours? */
    if ((st = der_oid_to_str(rep->smdpf_oid, rep->smdpf_oid_len, oid_text, sizeof(oid_text)))
        != ST_OK) {
        fprintf(stderr, "verify-report: %s: bad SM-DPf OID\n", file);
        goto out;
    }
    if (!smdpf) {
        for (int k = 1; k <= MAX_SMDPF_DIRS && !smdpf; k++) {
            snprintf(name_buf, sizeof(name_buf), "smdpf%d", k);
            snprintf(path, sizeof(path), "%s/%s/oid.txt", pki, name_buf);
            if (read_trimmed(path, want_oid, sizeof(want_oid)) == 0 && !strcmp(want_oid, oid_text))
                smdpf = name_buf;
        }
        if (!smdpf) {
            fprintf(stderr, "verify-report: %s: report for SM-DPf %s, which is not in %s\n", file,
                    oid_text, pki);
            goto out;
        }
    } else {
        snprintf(path, sizeof(path), "%s/%s/oid.txt", pki, smdpf);
        if (read_trimmed(path, want_oid, sizeof(want_oid)) != 0 || strcmp(want_oid, oid_text)) {
            fprintf(stderr, "verify-report: %s: report for SM-DPf %s, not for %s\n", file, oid_text,
                    smdpf);
            goto out;
        }
    }
    snprintf(path, sizeof(path), "%s/%s/bound.txt", pki, smdpf);
    if ((st = bound_load(path, &bound)) != ST_OK) {
        fprintf(stderr, "verify-report: %s: %s\n", path, st_str(st));
        goto out;
    }
    snprintf(path, sizeof(path), "%s/ci.cert.pem", pki);
    if (!(ci_trust = cert_trust_new()) || (st = cert_trust_add_file(ci_trust, path)) != ST_OK) {
        fprintf(stderr, "verify-report: %s: cannot load the CI\n", path);
        goto out;
    }

    /* 3. every entry */
    for (size_t i = 0; i < rep->n_entries; i++) {
        const ifpp_report_entry_t *e = &rep->entries[i];
        bound_t *b = bound_find(&bound, e->tid, e->tid_len);
        X509 *euicc = NULL, *eum = NULL;
        pir_view_t pv;
        const char *why = NULL;
        char iccid_s[21] = "";

        eid_to_str(e->eid, eid_s);
        if (!b)
            why = "transaction not bound by this SM-DPf";
        else if (b->seen)
            why = "transaction reported twice";
        else if (memcmp(b->eid, e->eid, 16) != 0)
            why = "transaction bound to another EID";
        if (!why) {
            b->seen = 1;
            snprintf(path, sizeof(path), "%s/%s/euicc/%s.der", pki, smdpf, eid_s);
            if (cert_load(path, &euicc) != ST_OK)
                why = "eUICC certificate unknown to this SM-DPf";
            snprintf(path, sizeof(path), "%s/%s/euicc/%s.eum.der", pki, smdpf, eid_s);
            if (!why && cert_load(path, &eum) != ST_OK)
                why = "EUM certificate unknown to this SM-DPf";
            if (!why && cert_verify_euicc_chain(ci_trust, eum, euicc, NULL) != ST_OK)
                why = "eUICC certificate chain does not verify";
        }
        if (!why && e->pir.len > 0) {
            if (pir_parse(e->pir.p, e->pir.len, &pv) != ST_OK)
                why = "PIR is malformed";
            else if (pv.tid_len != e->tid_len || memcmp(pv.tid, e->tid, e->tid_len) != 0)
                why = "PIR names another transaction";
            else if (pv.smdp_oid_len != rep->smdpf_oid_len
                     || memcmp(pv.smdp_oid, rep->smdpf_oid, pv.smdp_oid_len) != 0)
                why = "PIR names another SM-DPf";
            else if (pir_verify(&pv, X509_get0_pubkey(euicc)) != ST_OK)
                why = "euiccSignPIR does not verify with the eUICC certificate";
            else if (e->kind == IFPP_RESULT_INSTALLED && !pv.success)
                why = "entry says installed but the PIR reports an error";
            else if (e->kind == IFPP_RESULT_FAILED && pv.success)
                why = "entry says failed but the PIR reports success";
            else if (pv.success
                     && (!pv.has_iccid || (iccid_digits(pv.iccid, iccid_s), 0)
                         || strcmp(iccid_s, b->iccid) != 0))
                why = "PIR ICCID differs from the bound profile";
        } else if (!why && e->kind == IFPP_RESULT_INSTALLED) {
            why = "installed entry without a PIR";
        }
        X509_free(euicc);
        X509_free(eum);
        if (why) {
            fprintf(stderr, "verify-report: %s: entry %zu (EID %s): %s\n", file, i, eid_s, why);
            goto out;
        }
        if (e->kind == IFPP_RESULT_INSTALLED)
            n_inst++;
        else if (e->kind == IFPP_RESULT_FAILED)
            n_fail++;
        else
            n_del++;
    }

    /* 4. the MSP summary (step 16) */
    printf("report %s verified: SM-DPf %s (%s), %zu entries, every PIR signature valid\n", file,
           smdpf, oid_text, rep->n_entries);
    printf("%-20s  %-32s  %-10s  %-20s  %s\n", "ICCID", "EID", "result", "time (UTC)", "detail");
    for (size_t i = 0; i < rep->n_entries; i++) {
        const ifpp_report_entry_t *e = &rep->entries[i];
        bound_t *b = bound_find(&bound, e->tid, e->tid_len);
        char when[32] = "-", detail[160] = "";
        struct tm tmv;
        eid_to_str(e->eid, eid_s);
        if (e->at > 0 && gmtime_r(&e->at, &tmv))
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tmv);
        if (e->kind == IFPP_RESULT_FAILED)
            snprintf(detail, sizeof(detail), "code %u: %s", e->fpa_error_code, e->text);
        printf("%-20s  %-32s  %-10s  %-20s  %s\n", b ? b->iccid : "?", eid_s, kind_name(e->kind),
               when, detail);
    }
    printf("summary: %zu installed, %zu failed, %zu deleted\n", n_inst, n_fail, n_del);
    rc = 0;
out:
    free(bound.v);
    ifpp_report_free(rep);
    X509_free(signer);
    cert_trust_free(dm_trust);
    cert_trust_free(ci_trust);
    buf_free(&der);
    buf_free(&content);
    return rc;
}
