/*
 * import_edata.c - .ifppe eUICC data (Esed2/ESED201, DESIGN §5) into the store.
 *
 * Order: the whole file is verified before the write lock is taken (CMS by an EUM chaining to
 * a configured CI; the signer is the batch's eumCertificate; every CI -> EUM -> eUICC chain
 * with the GSMA EID-prefix rule and the EID of the entry; every one-time key signature by
 * SK.EUICC over ifpp_otk_tbs, GENS12). Then one transaction stores eUICCs and keys; an eUICC or
 * key already there with the same value is left alone (a re-import is "unchanged"), one with
 * another value refuses the file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "base/buf.h"
#include "base/log.h"
#include "crypto/cert.h"
#include "crypto/cms.h"
#include "crypto/ec.h"
#include "fmt/ifpp.h"
#include "import_int.h"

#define PROGRESS_EVERY 256 /* eUICCs */

static st_t refuse_store(import_file_t *f, st_t st, size_t entry, const uint8_t *eid,
                         const char *what) {
    return imp_refuse(f, st, entry, eid, "store: %s: %s", what, st_str(st));
}

/* Verifies one eUICC entry: chain, EID, every one-time key signature. */
static st_t verify_euicc(const import_opts_t *o, X509 *eum, const ifpp_euicc_t *e, size_t i,
                         import_file_t *f) {
    X509 *cert = NULL;
    uint8_t ceid[IFPP_EID_LEN];
    buf_t tbs = BUF_INIT;
    char s[33];
    st_t st;

    if ((st = cert_from_der(e->cert_euicc.p, e->cert_euicc.len, &cert)) != ST_OK) {
        imp_refuse(f, st, i, e->eid, "CERT.EUICC is not a certificate: %s", st_str(st));
        goto out;
    }
    if ((st = cert_verify_euicc_chain(o->trust, eum, cert, ceid)) != ST_OK) {
        imp_refuse(f, st, i, e->eid,
                   "eUICC certificate chain CI -> EUM -> eUICC does not verify (%s)", st_str(st));
        goto out;
    }
    if (memcmp(ceid, e->eid, IFPP_EID_LEN) != 0) {
        eid_to_str(ceid, s);
        st = imp_refuse(f, ST_E_CERT, i, e->eid, "EID differs from its certificate's (%s)", s);
        goto out;
    }
    for (size_t k = 0; k < e->n_keys; k++) {
        buf_reset(&tbs);
        st = ifpp_otk_tbs(e->eid, e->keys[k].key_index, e->keys[k].otpk, &tbs);
        if (st == ST_OK)
            st = ec_verify_raw(X509_get0_pubkey(cert), tbs.data, tbs.len, e->keys[k].sig,
                               sizeof(e->keys[k].sig));
        if (st != ST_OK) {
            imp_refuse(f, st, i, e->eid,
                       "one-time key %" PRIu32 ": signature by SK.EUICC does not verify (%s)",
                       e->keys[k].key_index, st_str(st));
            f->key = k;
            goto out;
        }
    }
out:
    buf_free(&tbs);
    X509_free(cert);
    return st;
}

/* Stores one eUICC and its keys inside the open transaction; counts what is new. */
static st_t store_euicc(const import_opts_t *o, const ifpp_edata_t *ed, const ifpp_euicc_t *e,
                        size_t i, import_file_t *f) {
    store_euicc_new_t n;
    st_t st;

    memset(&n, 0, sizeof(n));
    memcpy(n.eid, e->eid, STORE_EID_LEN);
    n.cert_euicc = e->cert_euicc.p;
    n.cert_euicc_len = e->cert_euicc.len;
    n.cert_eum = ed->cert_eum.p;
    n.cert_eum_len = ed->cert_eum.len;
    n.euicc_info2 = e->euicc_info2.p;
    n.euicc_info2_len = e->euicc_info2.len;
    n.batch = ed->batch_id[0] ? ed->batch_id : NULL;
    st = store_euicc_put(o->store, &n);
    if (st == ST_OK)
        f->n_euiccs_new++;
    else if (st == ST_E_CONFLICT)
        return imp_refuse(f, st, i, e->eid,
                          "eUICC already imported with other certificates (conflict)");
    else if (st != ST_E_EXISTS)
        return refuse_store(f, st, i, e->eid, "eUICC");
    f->n_euiccs++;

    for (size_t k = 0; k < e->n_keys; k++) {
        store_otk_t key;
        memset(&key, 0, sizeof(key));
        key.key_index = e->keys[k].key_index;
        memcpy(key.otpk, e->keys[k].otpk, STORE_OTPK_LEN);
        memcpy(key.sig, e->keys[k].sig, STORE_SIG_LEN);
        st = store_otk_put(o->store, e->eid, &key);
        if (st == ST_OK) {
            f->n_keys_new++;
        } else if (st == ST_E_CONFLICT) {
            f->key = k;
            return imp_refuse(f, st, i, e->eid,
                              "one-time key %" PRIu32
                              " already imported with another value (conflict)",
                              key.key_index);
        } else if (st != ST_E_EXISTS) {
            f->key = k;
            return refuse_store(f, st, i, e->eid, "one-time key");
        }
        f->n_keys++;
    }
    return ST_OK;
}

st_t import_edata_fd(const import_opts_t *o, int fd, import_file_t *f) {
    buf_t file = BUF_INIT, content = BUF_INIT;
    X509 *signer = NULL, *eum = NULL;
    ifpp_edata_t *ed = NULL;
    ifpp_err_t err;
    char ebuf[256], summary[160], object[96];
    bool in_tx = false;
    st_t st;

    f->kind = IMPORT_KIND_EDATA;
    st = buf_read_fd(&file, fd, IMPORT_EDATA_MAX);
    if (st != ST_OK) {
        imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "%s%s",
                   st == ST_E_TOO_LARGE ? "larger than the 64 MiB an eUICC data file may have"
                                        : "cannot read: ",
                   st == ST_E_TOO_LARGE ? "" : st_str(st));
        goto out;
    }
    f->bytes = file.len;
    imp_progress(o, f, 0, file.len, 0, 0, false);

    /* ESED201: CMS attached, signed by the EUM */
    st = cms_verify_attached(o->trust, file.data, file.len, &content, &signer);
    if (st != ST_OK) {
        imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "EUM signature: %s",
                   st == ST_E_PARSE           ? "not a CMS SignedData with attached content"
                   : st == ST_E_UNTRUSTED     ? "signer does not chain to a configured CI"
                   : st == ST_E_BAD_SIGNATURE ? "signature does not verify"
                                              : st_str(st));
        goto out;
    }
    if (!cert_has_policy(signer, CERT_POLICY_EUM) && !cert_has_policy(signer, CERT_POLICY_EUM_V3)) {
        st = imp_refuse(f, ST_E_NOT_ALLOWED, IMPORT_NO_ENTRY, NULL,
                        "EUM signature: the signer is not an EUM certificate");
        goto out;
    }
    ifpp_err_clear(&err);
    if ((st = ifpp_edata_decode_ex(content.data, content.len, &ed, &err)) != ST_OK) {
        imp_refuse(f, st, err.entry != IFPP_ERR_NONE ? err.entry : IMPORT_NO_ENTRY, NULL,
                   "eUICC data: %s", ifpp_err_format(&err, ebuf, sizeof(ebuf)));
        goto out;
    }
    if ((st = cert_from_der(ed->cert_eum.p, ed->cert_eum.len, &eum)) != ST_OK
        || X509_cmp(eum, signer) != 0) {
        st = imp_refuse(f, st != ST_OK ? st : ST_E_CERT, IMPORT_NO_ENTRY, NULL,
                        "eumCertificate is not the certificate that signed the file");
        goto out;
    }

    /* everything verified before the write lock is taken */
    for (size_t i = 0; i < ed->n_euiccs; i++) {
        if ((st = verify_euicc(o, eum, &ed->euiccs[i], i, f)) != ST_OK)
            goto out;
        if (i % PROGRESS_EVERY == 0)
            imp_progress(o, f, file.len, file.len, i, ed->n_euiccs, false);
    }

    if ((st = store_tx_begin(o->store)) != ST_OK) {
        refuse_store(f, st, IMPORT_NO_ENTRY, NULL, "begin");
        goto out;
    }
    in_tx = true;
    for (size_t i = 0; i < ed->n_euiccs; i++)
        if ((st = store_euicc(o, ed, &ed->euiccs[i], i, f)) != ST_OK)
            goto out;
    snprintf(summary, sizeof(summary),
             "%" PRIu64 " eUICCs (%" PRIu64 " new), %" PRIu64 " one-time keys (%" PRIu64 " new)",
             f->n_euiccs, f->n_euiccs_new, f->n_keys, f->n_keys_new);
    snprintf(object, sizeof(object), "batch:%s", ed->batch_id);
    f->outcome = f->n_euiccs_new || f->n_keys_new ? IMPORT_IMPORTED : IMPORT_UNCHANGED;
    st = store_audit_append(o->store, imp_actor(o), "import.edata", object, NULL,
                            f->outcome == IMPORT_IMPORTED ? summary : "unchanged", f->file);
    if (st != ST_OK) {
        refuse_store(f, st, IMPORT_NO_ENTRY, NULL, "audit");
        goto out;
    }
    st = store_tx_commit(o->store);
    in_tx = false;
    if (st != ST_OK) {
        refuse_store(f, st, IMPORT_NO_ENTRY, NULL, "commit");
        goto out;
    }
    imp_progress(o, f, file.len, file.len, ed->n_euiccs, ed->n_euiccs, true);
out:
    if (in_tx)
        store_tx_rollback(o->store);
    if (st != ST_OK) {
        f->n_euiccs_new = f->n_keys_new = 0;
        if (f->outcome != IMPORT_REFUSED)
            imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "%s", st_str(st));
    }
    X509_free(signer);
    X509_free(eum);
    ifpp_edata_free(ed);
    buf_free(&file);
    buf_free(&content);
    return st;
}
