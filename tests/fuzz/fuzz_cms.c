/*
 * fuzz_cms: certificate parsing and handling (crypto/cert.c: cert_from_der, the GSMA EID and
 * EUM name-constraint helpers, chain verification) and CMS SignedData verification
 * (crypto/cms.c: cms_verify_attached / cms_verify_detached) on arbitrary bytes (input format in
 * fuzz_common.h). The input's certificate, when it parses, is the only trust anchor, so seeds
 * made with the test PKI (gen-fuzz-seeds) verify end to end and the fuzzer works from there.
 *
 * Checked: statuses are the documented ones; ST_OK comes with a signer certificate and,
 * attached, never with content for a detached signature; nothing verifies against an anchor
 * that did not sign it (the fixed fallback CI signs nothing).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include "base/log.h"
#include "crypto/cert.h"
#include "crypto/certgen.h"
#include "crypto/cms.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    bool ready;
    X509 *fallback_ci; /* signs nothing: no input can chain to it */
} g;

static void init(void) {
    EVP_PKEY *k = NULL;

    fz_log_init();
    if (fz_det_key("fallback-ci", &k) != ST_OK
        || certgen_ci(k, "Nobody", "Fallback CI", &g.fallback_ci) != ST_OK)
        abort();
    EVP_PKEY_free(k);
    g.ready = true;
}

static void check_verify(st_t st, X509 *signer, bool anchored) {
    if (st == ST_OK) {
        if (!signer || !anchored)
            abort();
        return;
    }
    if (signer)
        abort();
    if (st != ST_E_PARSE && st != ST_E_UNTRUSTED && st != ST_E_BAD_SIGNATURE && st != ST_E_INVAL
        && st != ST_E_TOO_LARGE && st != ST_E_NOMEM && st != ST_E_CRYPTO)
        abort();
}

/* Every read-only helper of cert.h on one parsed certificate. */
static void poke_cert(cert_trust_t *trust, X509 *x) {
    uint8_t eid[16];
    char text[128], prefix[33], o[128];
    buf_t b = BUF_INIT;

    if (cert_get_eid(x, eid) == ST_OK) {
        char s[33];
        eid_to_str(eid, s);
        (void)eid_valid(eid);
    }
    (void)cert_get_rid(x, text, sizeof(text), &b);
    buf_reset(&b);
    (void)cert_get_ski(x, &b);
    buf_reset(&b);
    (void)cert_has_policy(x, CERT_POLICY_EUM);
    (void)cert_name_get(X509_get_subject_name(x), NID_serialNumber, text, sizeof(text));
    (void)cert_name_get(X509_get_issuer_name(x), NID_organizationName, text, sizeof(text));
    for (size_t i = 0; i < 16 && cert_eum_permitted_ein(x, i, prefix, o, sizeof(o)) == ST_OK; i++)
        ;
    (void)cert_check_eum_permits(x, x);
    (void)cert_verify_chain(trust, x, NULL, NULL);
    (void)cert_verify_chain(trust, x, NULL, CERT_POLICY_DP_PB);
    if (cert_to_der(x, &b) != ST_OK)
        abort();
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in_t in = {data, size};
    cert_trust_t *trust = NULL;
    X509 *anchor = NULL, *whole = NULL, *signer = NULL;
    buf_t content = BUF_INIT;
    const uint8_t *p = NULL;
    size_t n = 0;
    uint8_t flags = 0;
    st_t st;

    if (!g.ready)
        init();
    /* the whole input as one certificate */
    if (cert_from_der(data, size, &whole) == ST_OK && !whole)
        abort();
    (void)fz_u8(&in, &flags);
    (void)fz_chunk(&in, 65536, &p, &n);
    if (!(trust = cert_trust_new()))
        abort();
    if (n && cert_from_der(p, n, &anchor) == ST_OK) {
        if (cert_trust_add(trust, anchor) != ST_OK)
            abort();
        poke_cert(trust, anchor);
    } else if (cert_trust_add(trust, g.fallback_ci) != ST_OK) {
        abort();
    }
    if (whole)
        poke_cert(trust, whole);
    if (flags & FZ_CMS_DETACHED) {
        BIO *bio = BIO_new_mem_buf(FZ_CMS_CONTENT, (int)strlen(FZ_CMS_CONTENT));
        if (!bio)
            abort();
        st = cms_verify_detached(trust, in.p, in.n, bio, &signer);
        BIO_free(bio);
    } else {
        st = cms_verify_attached(trust, in.p, in.n, &content, &signer);
        if (st != ST_OK && content.len)
            abort(); /* no content from a signature that did not verify */
    }
    check_verify(st, signer, anchor != NULL);
    if (signer)
        poke_cert(trust, signer);
    X509_free(signer);
    X509_free(anchor);
    X509_free(whole);
    cert_trust_free(trust);
    buf_free(&content);
    ERR_clear_error();
    return 0;
}
