/*
 * plr_verify.c - `report verify`: a Profile Loading Report checked against the DM trust and
 * the store that issued it (plr.h). The first mismatch stops the check with its reason.
 *
 * Order: the CMS (signature, chain to the DM CA, DM role) before anything in the content is
 * believed; then the header against the store's report row; then each entry: its PIR on its
 * own (parses, transaction, SM-DPf, kind, euiccSignPIR with CERT.EUICC from the store), then
 * against the result the store claimed for that position (EID, transaction, kind, time, code,
 * BF37 bytes). A PIR moved from one entry to another fails the first group.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "base/log.h"
#include "crypto/cms.h"
#include "fmt/ifpp.h"
#include "fmt/pir.h"
#include "plr_internal.h"
#include "tlv/tlv.h"

#define REPORT_FILE_MAX (1u << 30)

/* The store's view of one claimed result. */
typedef struct {
    store_result_kind_t kind;
    uint8_t bundle_id[STORE_ID_LEN];
    uint8_t eid[STORE_EID_LEN];
    uint8_t tid[STORE_TID_MAX];
    size_t tid_len;
    int64_t at;
    int fpa;
    size_t pir_off, pir_len;
} want_t;

typedef struct {
    want_t *v;
    size_t n, cap;
    buf_t arena;
} wants_t;

static st_t want_cb(void *ud, const store_result_t *r) {
    wants_t *w = ud;
    want_t *x;

    if (w->n == w->cap) {
        size_t ncap = w->cap ? 2 * w->cap : 256;
        want_t *nv = realloc(w->v, ncap * sizeof(*nv));
        if (!nv)
            return ST_E_NOMEM;
        w->v = nv;
        w->cap = ncap;
    }
    x = &w->v[w->n];
    memset(x, 0, sizeof(*x));
    x->kind = r->kind;
    memcpy(x->bundle_id, r->bundle_id, STORE_ID_LEN);
    memcpy(x->eid, r->eid, STORE_EID_LEN);
    x->tid_len = r->tid_len <= STORE_TID_MAX ? r->tid_len : STORE_TID_MAX;
    memcpy(x->tid, r->tid, x->tid_len);
    x->at = r->at;
    x->fpa = r->fpa_error_code;
    x->pir_off = w->arena.len;
    x->pir_len = r->pir ? r->pir_len : 0;
    w->n++;
    return x->pir_len ? buf_append(&w->arena, r->pir, r->pir_len) : ST_OK;
}

static st_t fail(plr_summary_t *sum, st_t st, size_t entry, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static st_t fail(plr_summary_t *sum, st_t st, size_t entry, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sum->reason, sizeof(sum->reason), fmt, ap);
    va_end(ap);
    sum->bad_entry = entry;
    st_log(ST_LOG_DEBUG, "report verify: %s", sum->reason);
    return st;
}

/* CERT.EUICC by EID, direct-mapped on the EID's last bytes (a line interleaves its cards). */
#define CACHE_SLOTS 256
typedef struct {
    struct {
        uint8_t eid[STORE_EID_LEN];
        X509 *cert; /* owned; NULL: empty */
    } slot[CACHE_SLOTS];
} cache_t;

static void cache_free(cache_t *k) {
    for (size_t i = 0; k && i < CACHE_SLOTS; i++)
        X509_free(k->slot[i].cert);
    free(k);
}

static st_t euicc_key(store_t *s, cache_t *k, const uint8_t eid[STORE_EID_LEN], EVP_PKEY **pub) {
    size_t i = (eid[STORE_EID_LEN - 2] * 31u + eid[STORE_EID_LEN - 1]) % CACHE_SLOTS;
    store_euicc_t *e = NULL;
    st_t st;

    *pub = NULL;
    if (!k->slot[i].cert || memcmp(k->slot[i].eid, eid, STORE_EID_LEN) != 0) {
        X509_free(k->slot[i].cert);
        k->slot[i].cert = NULL;
        if ((st = store_euicc_get(s, eid, &e)) != ST_OK)
            return st;
        st = cert_from_der(e->cert_euicc.data, e->cert_euicc.len, &k->slot[i].cert);
        store_euicc_free(e);
        if (st != ST_OK)
            return st;
        memcpy(k->slot[i].eid, eid, STORE_EID_LEN);
    }
    *pub = X509_get0_pubkey(k->slot[i].cert);
    return *pub ? ST_OK : ST_E_CERT;
}

/* One entry on its own: its PIR (when present) belongs to it and is the card's. */
static st_t check_pir(store_t *s, cache_t *k, const ifpp_report_t *r, size_t i, plr_summary_t *sum,
                      const char *where) {
    const ifpp_report_entry_t *e = &r->entries[i];
    pir_view_t pv;
    EVP_PKEY *pub = NULL;
    st_t st;

    if (e->pir.len == 0) {
        if (e->kind == IFPP_RESULT_INSTALLED)
            return fail(sum, ST_E_PARSE, i, "%s: installed without a PIR", where);
        return ST_OK;
    }
    if ((st = pir_parse(e->pir.p, e->pir.len, &pv)) != ST_OK)
        return fail(sum, st, i, "%s: PIR is malformed (%s)", where, st_str(st));
    if (pv.tid_len != e->tid_len || memcmp(pv.tid, e->tid, e->tid_len) != 0)
        return fail(sum, ST_E_CONFLICT, i, "%s: the PIR names another transaction", where);
    if (pv.smdp_oid_len != r->smdpf_oid_len
        || memcmp(pv.smdp_oid, r->smdpf_oid, r->smdpf_oid_len) != 0)
        return fail(sum, ST_E_CONFLICT, i, "%s: the PIR names another SM-DPf", where);
    if (e->kind == IFPP_RESULT_INSTALLED && !pv.success)
        return fail(sum, ST_E_CONFLICT, i, "%s: installed, but the PIR reports an error", where);
    if (e->kind == IFPP_RESULT_FAILED && pv.success)
        return fail(sum, ST_E_CONFLICT, i, "%s: failed, but the PIR reports success", where);
    if ((st = euicc_key(s, k, e->eid, &pub)) != ST_OK)
        return fail(sum, st, i, "%s: no usable eUICC certificate in the store (%s)", where,
                    st_str(st));
    if ((st = pir_verify(&pv, pub)) != ST_OK)
        return fail(sum, ST_E_BAD_SIGNATURE, i,
                    "%s: euiccSignPIR does not verify with the eUICC certificate", where);
    sum->pirs_verified++;
    return ST_OK;
}

/* The entry against the result the store claimed at that position. */
static st_t check_against_store(const ifpp_report_t *r, size_t i, const wants_t *w,
                                plr_summary_t *sum, const char *where) {
    const ifpp_report_entry_t *e = &r->entries[i];
    const want_t *x = &w->v[i];
    bool in_header = false;
    unsigned want_code;

    if (memcmp(e->eid, x->eid, STORE_EID_LEN) != 0 || e->tid_len != x->tid_len
        || memcmp(e->tid, x->tid, x->tid_len) != 0)
        return fail(sum, ST_E_CONFLICT, i,
                    "%s: the store's report has another transaction at this position", where);
    if ((e->kind == IFPP_RESULT_INSTALLED) != (x->kind == STORE_RESULT_INSTALLED)
        || e->kind == IFPP_RESULT_DELETED)
        return fail(sum, ST_E_CONFLICT, i, "%s: the store recorded this transaction as %s", where,
                    x->kind == STORE_RESULT_INSTALLED ? "installed" : "failed");
    if ((int64_t)e->at != x->at)
        return fail(sum, ST_E_CONFLICT, i, "%s: the time differs from the store's", where);
    want_code = x->fpa < 0 ? PLR_FPA_UNSPECIFIED : (unsigned)x->fpa;
    if (e->kind == IFPP_RESULT_FAILED && e->fpa_error_code != want_code)
        return fail(sum, ST_E_CONFLICT, i, "%s: fpaErrorCode %u, the store recorded %u", where,
                    e->fpa_error_code, want_code);
    /* A failed entry may leave the card's BF37 out (withheld); one that is there is the
     * store's, byte for byte. */
    if (e->pir.len != 0
        && (e->pir.len != x->pir_len
            || memcmp(e->pir.p, w->arena.data + x->pir_off, x->pir_len) != 0))
        return fail(sum, ST_E_CONFLICT, i, "%s: the PIR differs from the one the store recorded",
                    where);
    for (size_t b = 0; b < r->n_bundle_ids && !in_header; b++)
        in_header = memcmp(r->bundle_ids[b], x->bundle_id, STORE_ID_LEN) == 0;
    if (!in_header)
        return fail(sum, ST_E_CONFLICT, i, "%s: its bundle is not in the header's bundleIds",
                    where);
    return ST_OK;
}

st_t plr_verify(store_t *s, cert_trust_t *trust, const uint8_t *der, size_t len,
                plr_summary_t *sum) {
    buf_t content = BUF_INIT;
    ifpp_report_t *r = NULL;
    X509 *signer = NULL;
    ifpp_err_t ierr;
    store_report_t rep;
    wants_t w = {NULL, 0, 0, BUF_INIT};
    cache_t *k = NULL;
    char errbuf[256], hex[2 * STORE_ID_LEN + 1];
    int64_t first = 0, last = 0;
    st_t st;

    if (!sum)
        return ST_E_INVAL;
    memset(sum, 0, sizeof(*sum));
    sum->bad_entry = SIZE_MAX;
    if (!s || !trust || !der)
        return fail(sum, ST_E_INVAL, SIZE_MAX, "invalid arguments");

    /* 1. signature, chain, role: nothing in the content counts before this */
    if ((st = cms_verify_attached(trust, der, len, &content, &signer)) != ST_OK) {
        fail(sum, st, SIZE_MAX, "CMS signature: %s%s", st_str(st),
             st == ST_E_UNTRUSTED ? " (the signer does not chain to the configured DM CA)" : "");
        goto out;
    }
    X509_NAME_oneline(X509_get_subject_name(signer), sum->signer, sizeof(sum->signer));
    if (!cms_station_profile_ok(der, len)) {
        st = fail(sum, ST_E_PARSE, SIZE_MAX,
                  "CMS: not the station's SignedData profile (version, content type or "
                  "algorithm fields changed)");
        goto out;
    }
    if (!cert_has_policy(signer, CERT_POLICY_IFPP_DM)) {
        st = fail(sum, ST_E_UNTRUSTED, SIZE_MAX, "the signer %s is not a DM station certificate",
                  sum->signer);
        goto out;
    }
    ifpp_err_clear(&ierr);
    if ((st = ifpp_report_decode_ex(content.data, content.len, &r, &ierr)) != ST_OK) {
        fail(sum, st, ierr.entry, "content: %s", ifpp_err_format(&ierr, errbuf, sizeof(errbuf)));
        goto out;
    }

    /* 2. header */
    memcpy(sum->report_id, r->report_id, STORE_ID_LEN);
    hex_encode(r->report_id, STORE_ID_LEN, hex);
    if (der_oid_to_str(r->smdpf_oid, r->smdpf_oid_len, sum->smdpf_oid, sizeof(sum->smdpf_oid))
        != ST_OK) {
        st = fail(sum, ST_E_PARSE, SIZE_MAX, "bad SM-DPf OID");
        goto out;
    }
    snprintf(sum->dm_id, sizeof(sum->dm_id), "%s", r->dm_id);
    snprintf(sum->station_id, sizeof(sum->station_id), "%s", r->station_id);
    sum->period_start = (int64_t)r->period_start;
    sum->period_end = (int64_t)r->period_end;
    sum->n_bundles = r->n_bundle_ids;
    for (size_t i = 0; i < r->n_entries; i++) {
        const ifpp_report_entry_t *e = &r->entries[i];
        sum->counts.entries++;
        if (e->kind == IFPP_RESULT_INSTALLED) {
            sum->counts.installed++;
        } else if (e->kind == IFPP_RESULT_FAILED) {
            sum->counts.failed++;
            sum->counts.failed_with_pir += e->pir.len != 0;
        } else {
            sum->counts.deleted++;
        }
        if (i == 0 || (int64_t)e->at < first)
            first = (int64_t)e->at;
        if (i == 0 || (int64_t)e->at > last)
            last = (int64_t)e->at;
    }
    if ((st = store_report_get(s, r->report_id, &rep)) != ST_OK) {
        fail(sum, st, SIZE_MAX, "report %s: %s", hex,
             st == ST_E_NOENT ? "not issued by this station (unknown reportId)" : st_str(st));
        goto out;
    }
    sum->exported_at = rep.exported_at;
    if (strcmp(rep.smdpf_oid, sum->smdpf_oid) != 0) {
        st = fail(sum, ST_E_CONFLICT, SIZE_MAX, "report %s: for SM-DPf %s, the store says %s", hex,
                  sum->smdpf_oid, rep.smdpf_oid);
        goto out;
    }
    if ((st = store_report_results(s, rep.rowid, want_cb, &w)) != ST_OK) {
        fail(sum, st, SIZE_MAX, "report %s: cannot read its results: %s", hex, st_str(st));
        goto out;
    }
    if (w.n != r->n_entries) {
        st = fail(sum, ST_E_CONFLICT, SIZE_MAX,
                  "report %s: %zu entries, the store's report has %zu results", hex, r->n_entries,
                  w.n);
        goto out;
    }
    if (r->n_entries && (sum->period_start != first || sum->period_end != last)) {
        st = fail(sum, ST_E_CONFLICT, SIZE_MAX, "report %s: the period is not the entries' span",
                  hex);
        goto out;
    }

    /* 3. entries */
    if (!(k = calloc(1, sizeof(*k)))) {
        st = fail(sum, ST_E_NOMEM, SIZE_MAX, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->n_entries; i++) {
        char where[128], eid_s[33], tid_s[2 * IFPP_MAX_TID_LEN + 1];
        eid_to_str(r->entries[i].eid, eid_s);
        hex_encode(r->entries[i].tid, r->entries[i].tid_len, tid_s);
        snprintf(where, sizeof(where), "entry %zu (EID %s, transaction %s)", i, eid_s, tid_s);
        if ((st = check_pir(s, k, r, i, sum, where)) != ST_OK
            || (st = check_against_store(r, i, &w, sum, where)) != ST_OK)
            goto out;
    }
    /* every bundle in the header is one an entry came from */
    for (size_t b = 0; b < r->n_bundle_ids; b++) {
        bool used = false;
        for (size_t i = 0; i < w.n && !used; i++)
            used = memcmp(w.v[i].bundle_id, r->bundle_ids[b], STORE_ID_LEN) == 0;
        if (!used) {
            st = fail(sum, ST_E_CONFLICT, SIZE_MAX,
                      "report %s: bundleIds lists a bundle no entry comes from", hex);
            goto out;
        }
    }
    st = ST_OK;
out:
    cache_free(k);
    X509_free(signer);
    ifpp_report_free(r);
    free(w.v);
    buf_free(&w.arena);
    buf_free(&content);
    return st;
}

st_t plr_verify_file(store_t *s, cert_trust_t *trust, const char *path, plr_summary_t *sum) {
    buf_t b = BUF_INIT;
    st_t st;

    if (!sum)
        return ST_E_INVAL;
    memset(sum, 0, sizeof(*sum));
    sum->bad_entry = SIZE_MAX;
    if ((st = buf_read_file(&b, path, REPORT_FILE_MAX)) != ST_OK)
        return fail(sum, st, SIZE_MAX, "cannot read the file: %s", st_str(st));
    st = plr_verify(s, trust, b.data, b.len, sum);
    buf_free(&b);
    return st;
}
