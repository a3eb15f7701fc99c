/*
 * Unit tests: GSMA certificate chains (cert.c) on a freshly minted PKI (certgen.c) and on the
 * SGP.26 test PKI from ../shared (skipped when absent): good chains, the EUM EID-prefix rule,
 * role policies, validity, trust anchors, tampering, EID check digits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto/cert.h"
#include "crypto/certgen.h"
#include "crypto/ec.h"
#include "testutil.h"

#define SGP26_EID "89049032123451234512345678901235"
#define YEAR      (365L * 24 * 3600)

/* A minted GSMA PKI: CI, EUM (prefix 89049032), DPpb/DPauth (2.999.10). */
typedef struct {
    EVP_PKEY *ci_key, *eum_key, *pb_key, *auth_key;
    X509 *ci, *eum, *pb, *auth;
} mini_pki_t;

static void mini_free(mini_pki_t *p) {
    EVP_PKEY_free(p->ci_key);
    EVP_PKEY_free(p->eum_key);
    EVP_PKEY_free(p->pb_key);
    EVP_PKEY_free(p->auth_key);
    X509_free(p->ci);
    X509_free(p->eum);
    X509_free(p->pb);
    X509_free(p->auth);
    memset(p, 0, sizeof(*p));
}

static int mini_make(mini_pki_t *p, ec_curve_t curve) {
    memset(p, 0, sizeof(*p));
    return ec_key_generate(curve, &p->ci_key) == ST_OK
           && ec_key_generate(curve, &p->eum_key) == ST_OK
           && ec_key_generate(curve, &p->pb_key) == ST_OK
           && ec_key_generate(curve, &p->auth_key) == ST_OK
           && certgen_ci(p->ci_key, "IFPP TEST", "Unit CI", &p->ci) == ST_OK
           && certgen_eum(p->ci, p->ci_key, p->eum_key, "Unit EUM", "89049032", &p->eum) == ST_OK
           && certgen_smdpf(p->ci, p->ci_key, p->pb_key, CERTGEN_DP_PB, "2.999.10", "ACME",
                            "TEST SM-DPf", &p->pb)
                  == ST_OK
           && certgen_smdpf(p->ci, p->ci_key, p->auth_key, CERTGEN_DP_AUTH, "2.999.10", "ACME",
                            "TEST SM-DPf", &p->auth)
                  == ST_OK;
}

static cert_trust_t *trust_of(X509 *ci) {
    cert_trust_t *t = cert_trust_new();
    if (t != NULL && cert_trust_add(t, ci) != ST_OK) {
        cert_trust_free(t);
        t = NULL;
    }
    return t;
}

/* eUICC under the EUM with EID prefix+serial; returns NULL on failure. */
static X509 *mint_euicc(mini_pki_t *p, const char *prefix, uint64_t serial, EVP_PKEY **key) {
    uint8_t eid[16];
    X509 *x = NULL;
    ec_curve_t c;

    if (ec_key_curve(p->eum_key, &c) != ST_OK || ec_key_generate(c, key) != ST_OK)
        return NULL;
    if (eid_compose(prefix, serial, eid) != ST_OK
        || certgen_euicc(p->eum, p->eum_key, *key, eid, &x) != ST_OK)
        return NULL;
    return x;
}

/* ---- EID ---- */

static void test_eid(void) {
    uint8_t eid[16], eid2[16];
    char s[33];

    CU_ASSERT_EQUAL_FATAL(eid_from_str(SGP26_EID, eid), ST_OK);
    CU_ASSERT_TRUE(eid_valid(eid));
    eid_to_str(eid, s);
    CU_ASSERT_STRING_EQUAL(s, SGP26_EID);
    /* check digits from the first 30 digits reproduce "35" */
    memcpy(eid2, eid, 16);
    eid2[15] = 0x00;
    CU_ASSERT_FALSE(eid_valid(eid2));
    CU_ASSERT_EQUAL(eid_set_check_digits(eid2), ST_OK);
    CU_ASSERT_EQUAL(memcmp(eid, eid2, 16), 0);
    /* one digit changed: invalid */
    eid2[8] ^= 0x01;
    CU_ASSERT_FALSE(eid_valid(eid2));
    /* composition */
    CU_ASSERT_EQUAL(eid_compose("89049032", 42, eid2), ST_OK);
    eid_to_str(eid2, s);
    CU_ASSERT_EQUAL(strncmp(s, "890490320000000000000000000042", 30), 0);
    CU_ASSERT_TRUE(eid_valid(eid2));
    CU_ASSERT_EQUAL(eid_compose("8904903212345123451234567890", 100, eid2), ST_E_TOO_LARGE);
    CU_ASSERT_EQUAL(eid_compose("89x", 1, eid2), ST_E_PARSE);
    CU_ASSERT_EQUAL(eid_from_str("8904903212345123451234567890123", eid2), ST_E_PARSE);
    CU_ASSERT_EQUAL(eid_from_str("8904903212345123451234567890123A", eid2), ST_E_PARSE);
}

/* ---- minted PKI ---- */

static void test_minted_good_chain(void) {
    mini_pki_t p;
    cert_trust_t *t = NULL;
    EVP_PKEY *k = NULL;
    X509 *e = NULL;
    uint8_t eid[16], want[16];
    char prefix[33], o[64];

    CU_ASSERT_FATAL(mini_make(&p, EC_CURVE_P256));
    t = trust_of(p.ci);
    e = mint_euicc(&p, "89049032", 7, &k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e, eid), ST_OK);
    CU_ASSERT_EQUAL(eid_compose("89049032", 7, want), ST_OK);
    CU_ASSERT_EQUAL(memcmp(eid, want, 16), 0);
    CU_ASSERT_EQUAL(cert_verify_chain(t, e, NULL, CERT_POLICY_EUICC), ST_E_CERT); /* no EUM */
    {
        STACK_OF(X509) *u = sk_X509_new_null();
        sk_X509_push(u, p.eum);
        CU_ASSERT_EQUAL(cert_verify_chain(t, e, u, CERT_POLICY_EUICC), ST_OK);
        sk_X509_free(u);
    }
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.eum, NULL, CERT_POLICY_EUM), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.pb, NULL, CERT_POLICY_DP_PB), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.auth, NULL, CERT_POLICY_DP_AUTH), ST_OK);
    CU_ASSERT_EQUAL(cert_eum_permitted_ein(p.eum, 0, prefix, o, sizeof(o)), ST_OK);
    CU_ASSERT_STRING_EQUAL(prefix, "89049032");
    CU_ASSERT_STRING_EQUAL(o, "Unit EUM");
    CU_ASSERT_EQUAL(cert_eum_permitted_ein(p.eum, 1, prefix, NULL, 0), ST_E_NOENT);

    X509_free(e);
    EVP_PKEY_free(k);
    cert_trust_free(t);
    mini_free(&p);
}

static void test_minted_brainpool(void) {
    mini_pki_t p;
    cert_trust_t *t = NULL;
    EVP_PKEY *k = NULL;
    X509 *e = NULL;

    CU_ASSERT_FATAL(mini_make(&p, EC_CURVE_BRAINPOOLP256R1));
    t = trust_of(p.ci);
    e = mint_euicc(&p, "89049032", 1, &k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e, NULL), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.pb, NULL, CERT_POLICY_DP_PB), ST_OK);
    X509_free(e);
    EVP_PKEY_free(k);
    cert_trust_free(t);
    mini_free(&p);
}

static void test_eid_outside_prefix(void) {
    mini_pki_t p;
    cert_trust_t *t = NULL;
    EVP_PKEY *k = NULL, *k2 = NULL;
    X509 *e = NULL, *e2 = NULL;
    uint8_t eid[16];
    char eidstr[33];
    certgen_spec_t s = {.role = CERTGEN_EUICC, .c = NULL, .o = "Other EUM", .cn = "x"};

    CU_ASSERT_FATAL(mini_make(&p, EC_CURVE_P256));
    t = trust_of(p.ci);
    e = mint_euicc(&p, "89049033", 7, &k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e, NULL), ST_E_CERT);
    CU_ASSERT_EQUAL(cert_check_eum_permits(p.eum, e), ST_E_CERT);

    /* right prefix, wrong O */
    CU_ASSERT_EQUAL(eid_compose("89049032", 8, eid), ST_OK);
    eid_to_str(eid, eidstr);
    s.serial_number = eidstr;
    CU_ASSERT_EQUAL(ec_key_generate(EC_CURVE_P256, &k2), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_issue(&s, k2, p.eum, p.eum_key, &e2), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e2, NULL), ST_E_CERT);
    X509_free(e2);
    e2 = NULL;

    /* right prefix and O, wrong check digits */
    eid[15] ^= 0x01;
    eid_to_str(eid, eidstr);
    s.o = "Unit EUM";
    CU_ASSERT_EQUAL_FATAL(certgen_issue(&s, k2, p.eum, p.eum_key, &e2), ST_OK);
    CU_ASSERT_EQUAL(cert_check_eum_permits(p.eum, e2), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e2, NULL), ST_E_CERT);

    X509_free(e);
    X509_free(e2);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
    cert_trust_free(t);
    mini_free(&p);
}

/* The newer EUM variant: PermittedEins extension instead of nameConstraints. */
static void test_eum_variant_permitted_eins(void) {
    mini_pki_t p;
    cert_trust_t *t = NULL;
    EVP_PKEY *vkey = NULL, *k = NULL, *k2 = NULL;
    X509 *veum = NULL, *e = NULL, *e2 = NULL;
    certgen_spec_t s = {.role = CERTGEN_EUM,
                        .o = "V EUM",
                        .cn = "EUM v3",
                        .ein_prefix = "8904903299",
                        .ein_extension = true};
    char prefix[33];

    CU_ASSERT_FATAL(mini_make(&p, EC_CURVE_P256));
    t = trust_of(p.ci);
    CU_ASSERT_EQUAL(ec_key_generate(EC_CURVE_P256, &vkey), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_issue(&s, vkey, p.ci, p.ci_key, &veum), ST_OK);
    CU_ASSERT_TRUE(cert_has_policy(veum, CERT_POLICY_EUM_V3));
    CU_ASSERT_EQUAL(cert_eum_permitted_ein(veum, 0, prefix, NULL, 0), ST_OK);
    CU_ASSERT_STRING_EQUAL(prefix, "8904903299");
    /* swap the EUM in the fixture */
    X509_free(p.eum);
    EVP_PKEY_free(p.eum_key);
    p.eum = veum;
    p.eum_key = vkey;
    e = mint_euicc(&p, "8904903299", 5, &k);
    e2 = mint_euicc(&p, "8904903298", 5, &k2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e2);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e, NULL), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e2, NULL), ST_E_CERT);

    X509_free(e);
    X509_free(e2);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
    cert_trust_free(t);
    mini_free(&p);
}

static void test_wrong_role_policy(void) {
    mini_pki_t p;
    cert_trust_t *t = NULL;
    EVP_PKEY *k = NULL, *nk = NULL, *k3 = NULL;
    X509 *e = NULL, *fake_eum = NULL, *e3 = NULL;
    uint8_t eid[16];
    char eidstr[33];
    certgen_spec_t s = {
        .role = CERTGEN_EUICC, .o = "Unit EUM", .cn = "x", .policy = CERT_POLICY_DP_AUTH};
    certgen_spec_t fs = {.role = CERTGEN_EUM,
                         .o = "Unit EUM",
                         .cn = "not an EUM",
                         .ein_prefix = "89049032",
                         .policy = "1.2.3.4"};

    CU_ASSERT_FATAL(mini_make(&p, EC_CURVE_P256));
    t = trust_of(p.ci);
    /* SM-DPf certificates used for the other role */
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.auth, NULL, CERT_POLICY_DP_PB), ST_E_CERT);
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.pb, NULL, CERT_POLICY_DP_AUTH), ST_E_CERT);
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.pb, NULL, CERT_POLICY_IFPP_DM), ST_E_CERT);
    /* eUICC certificate carrying a DPauth policy */
    CU_ASSERT_EQUAL(eid_compose("89049032", 9, eid), ST_OK);
    eid_to_str(eid, eidstr);
    s.serial_number = eidstr;
    CU_ASSERT_EQUAL(ec_key_generate(EC_CURVE_P256, &k), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_issue(&s, k, p.eum, p.eum_key, &e), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e, NULL), ST_E_CERT);
    /* a CA with nameConstraints that is not an EUM: the violation is not forgiven */
    CU_ASSERT_EQUAL(ec_key_generate(EC_CURVE_P256, &nk), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_issue(&fs, nk, p.ci, p.ci_key, &fake_eum), ST_OK);
    X509_free(p.eum);
    EVP_PKEY_free(p.eum_key);
    p.eum = fake_eum;
    p.eum_key = nk;
    e3 = mint_euicc(&p, "89049032", 10, &k3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e3);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e3, NULL), ST_E_CERT);

    X509_free(e);
    X509_free(e3);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k3);
    cert_trust_free(t);
    mini_free(&p);
}

static void test_validity(void) {
    mini_pki_t p;
    cert_trust_t *t = NULL;
    EVP_PKEY *k = NULL, *k2 = NULL;
    X509 *e = NULL, *old = NULL;
    time_t now = time(NULL);
    certgen_spec_t s = {.role = CERTGEN_DP_PB,
                        .o = "ACME",
                        .cn = "old",
                        .rid = "2.999.10",
                        .not_before = now - 3 * YEAR,
                        .not_after = now - YEAR};

    CU_ASSERT_FATAL(mini_make(&p, EC_CURVE_P256));
    t = trust_of(p.ci);
    e = mint_euicc(&p, "89049032", 11, &k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    /* DPpb: 10 years */
    cert_trust_set_time(t, now + 1 * YEAR);
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.pb, NULL, CERT_POLICY_DP_PB), ST_OK);
    cert_trust_set_time(t, now + 11 * YEAR);
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.pb, NULL, CERT_POLICY_DP_PB), ST_E_CERT);
    /* eUICC never expires, but its EUM (34 years) and CI (35 years) do */
    cert_trust_set_time(t, now + 20 * YEAR);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e, NULL), ST_OK);
    cert_trust_set_time(t, now + 40 * YEAR);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e, NULL), ST_E_CERT);
    /* not yet valid */
    cert_trust_set_time(t, now - 2 * 24 * 3600);
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.pb, NULL, CERT_POLICY_DP_PB), ST_E_CERT);
    /* back to the clock: an expired certificate */
    cert_trust_set_time(t, 0);
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.pb, NULL, CERT_POLICY_DP_PB), ST_OK);
    CU_ASSERT_EQUAL(ec_key_generate(EC_CURVE_P256, &k2), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_issue(&s, k2, p.ci, p.ci_key, &old), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_chain(t, old, NULL, CERT_POLICY_DP_PB), ST_E_CERT);
    cert_trust_set_time(t, now - 2 * YEAR);
    CU_ASSERT_EQUAL(cert_verify_chain(t, old, NULL, NULL), ST_E_CERT); /* CI not yet valid */

    X509_free(e);
    X509_free(old);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
    cert_trust_free(t);
    mini_free(&p);
}

static void test_untrusted_ci(void) {
    mini_pki_t p, q;
    cert_trust_t *t = NULL, *empty = NULL;
    EVP_PKEY *k = NULL;
    X509 *e = NULL;

    CU_ASSERT_FATAL(mini_make(&p, EC_CURVE_P256));
    CU_ASSERT_FATAL(mini_make(&q, EC_CURVE_P256));
    t = trust_of(q.ci);
    empty = cert_trust_new();
    e = mint_euicc(&p, "89049032", 12, &k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e, NULL), ST_E_CERT);
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.pb, NULL, CERT_POLICY_DP_PB), ST_E_CERT);
    CU_ASSERT_EQUAL(cert_verify_chain(empty, p.pb, NULL, CERT_POLICY_DP_PB), ST_E_CERT);
    /* an EUM from one PKI with an eUICC from another */
    CU_ASSERT_EQUAL(cert_trust_add(t, p.ci), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e, NULL), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, q.eum, e, NULL), ST_E_CERT);
    /* a DM-like CA (no CI policy) as anchor of a GSMA role is refused */
    {
        cert_trust_t *dm = cert_trust_new();
        EVP_PKEY *ck = NULL, *lk = NULL;
        X509 *ca = NULL, *leaf = NULL;
        CU_ASSERT_EQUAL(ec_key_generate(EC_CURVE_P256, &ck), ST_OK);
        CU_ASSERT_EQUAL(ec_key_generate(EC_CURVE_P256, &lk), ST_OK);
        CU_ASSERT_EQUAL(certgen_dm_ca(ck, "DM", "DM CA", &ca), ST_OK);
        CU_ASSERT_EQUAL(certgen_smdpf(ca, ck, lk, CERTGEN_DP_PB, "2.999.10", "x", "y", &leaf),
                        ST_OK);
        CU_ASSERT_EQUAL(cert_trust_add(dm, ca), ST_OK);
        CU_ASSERT_EQUAL(cert_verify_chain(dm, leaf, NULL, NULL), ST_OK);
        CU_ASSERT_EQUAL(cert_verify_chain(dm, leaf, NULL, CERT_POLICY_DP_PB), ST_E_CERT);
        X509_free(ca);
        X509_free(leaf);
        EVP_PKEY_free(ck);
        EVP_PKEY_free(lk);
        cert_trust_free(dm);
    }

    X509_free(e);
    EVP_PKEY_free(k);
    cert_trust_free(t);
    cert_trust_free(empty);
    mini_free(&p);
    mini_free(&q);
}

static void test_tampered_eum(void) {
    mini_pki_t p;
    cert_trust_t *t = NULL;
    EVP_PKEY *k = NULL;
    X509 *e = NULL, *bad = NULL;
    buf_t der = BUF_INIT;

    CU_ASSERT_FATAL(mini_make(&p, EC_CURVE_P256));
    t = trust_of(p.ci);
    e = mint_euicc(&p, "89049032", 13, &k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL_FATAL(cert_to_der(p.eum, &der), ST_OK);
    der.data[der.len - 1] ^= 0x01; /* last octet of the signature's s */
    CU_ASSERT_EQUAL_FATAL(cert_from_der(der.data, der.len, &bad), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, bad, e, NULL), ST_E_CERT);
    CU_ASSERT_EQUAL(cert_verify_chain(t, bad, NULL, CERT_POLICY_EUM), ST_E_CERT);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e, NULL), ST_OK);

    buf_free(&der);
    X509_free(bad);
    X509_free(e);
    EVP_PKEY_free(k);
    cert_trust_free(t);
    mini_free(&p);
}

static void test_mixed_curves(void) {
    mini_pki_t p;
    cert_trust_t *t = NULL;
    EVP_PKEY *k = NULL;
    X509 *e = NULL;
    uint8_t eid[16];

    CU_ASSERT_FATAL(mini_make(&p, EC_CURVE_P256));
    t = trust_of(p.ci);
    CU_ASSERT_EQUAL(ec_key_generate(EC_CURVE_BRAINPOOLP256R1, &k), ST_OK);
    CU_ASSERT_EQUAL(eid_compose("89049032", 14, eid), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_euicc(p.eum, p.eum_key, k, eid, &e), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, p.eum, e, NULL), ST_E_CERT);
    X509_free(e);
    EVP_PKEY_free(k);
    cert_trust_free(t);
    mini_free(&p);
}

static void test_accessors_and_files(void) {
    mini_pki_t p;
    char oid[64], *dir = tu_tmpdir("cert"), path[512], path2[512];
    buf_t v = BUF_INIT, ski = BUF_INIT, der = BUF_INIT, der2 = BUF_INIT;
    X509 *x = NULL;
    STACK_OF(X509) *sk = NULL;
    cert_trust_t *t = cert_trust_new();
    const ASN1_OCTET_STRING *aki;
    FILE *f;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_FATAL(mini_make(&p, EC_CURVE_P256));
    CU_ASSERT_EQUAL(cert_get_rid(p.pb, oid, sizeof(oid), &v), ST_OK);
    CU_ASSERT_STRING_EQUAL(oid, "2.999.10");
    TU_ASSERT_HEX(v.data, v.len, "88370A");
    CU_ASSERT_EQUAL(cert_get_rid(p.pb, oid, 4, NULL), ST_E_TOO_LARGE);
    CU_ASSERT_TRUE(cert_has_policy(p.pb, CERT_POLICY_DP_PB));
    CU_ASSERT_FALSE(cert_has_policy(p.pb, CERT_POLICY_DP_AUTH));
    CU_ASSERT_TRUE(cert_has_policy(p.ci, CERT_POLICY_CI));
    CU_ASSERT_EQUAL(cert_get_ski(p.ci, &ski), ST_OK);
    CU_ASSERT_EQUAL(ski.len, 20);
    aki = X509_get0_authority_key_id(p.eum);
    CU_ASSERT_PTR_NOT_NULL_FATAL(aki);
    CU_ASSERT_EQUAL(ski.len, (size_t)ASN1_STRING_length(aki));
    CU_ASSERT_EQUAL(memcmp(ski.data, ASN1_STRING_get0_data(aki), ski.len), 0);
    {
        uint8_t eid[16];
        CU_ASSERT_EQUAL(cert_get_eid(p.pb, eid), ST_E_NOENT);
    }

    /* PEM save/load, DER round trip, bundles */
    snprintf(path, sizeof(path), "%s/ci.pem", dir);
    CU_ASSERT_EQUAL(cert_save_pem(path, p.ci), ST_OK);
    CU_ASSERT_EQUAL_FATAL(cert_load(path, &x), ST_OK);
    CU_ASSERT_EQUAL(X509_cmp(x, p.ci), 0);
    X509_free(x);
    x = NULL;
    CU_ASSERT_EQUAL(cert_to_der(p.eum, &der), ST_OK);
    snprintf(path2, sizeof(path2), "%s/eum.der", dir);
    CU_ASSERT_EQUAL(buf_write_file_atomic(path2, der.data, der.len, 0644), ST_OK);
    CU_ASSERT_EQUAL_FATAL(cert_load(path2, &x), ST_OK);
    CU_ASSERT_EQUAL(cert_to_der(x, &der2), ST_OK);
    CU_ASSERT_TRUE(der.len == der2.len && memcmp(der.data, der2.data, der.len) == 0);
    X509_free(x);
    x = NULL;
    f = fopen(path, "a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    PEM_write_X509(f, p.pb);
    fclose(f);
    CU_ASSERT_EQUAL(cert_load_all(path, &sk), ST_OK);
    CU_ASSERT_EQUAL(sk_X509_num(sk), 2);
    CU_ASSERT_EQUAL(cert_load(path, &x), ST_E_PARSE); /* two certificates */
    CU_ASSERT_EQUAL(cert_trust_add_file(t, path), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_chain(t, p.auth, NULL, CERT_POLICY_DP_AUTH), ST_OK);
    der.data[0] = 0x31;
    CU_ASSERT_NOT_EQUAL(cert_from_der(der.data, der.len, &x), ST_OK);
    der.data[0] = 0x30;
    CU_ASSERT_EQUAL(buf_append_byte(&der, 0), ST_OK);
    CU_ASSERT_EQUAL(cert_from_der(der.data, der.len, &x), ST_E_TRAILING);
    CU_ASSERT_PTR_NULL(x);

    sk_X509_pop_free(sk, X509_free);
    cert_trust_free(t);
    buf_free(&v);
    buf_free(&ski);
    buf_free(&der);
    buf_free(&der2);
    tu_rmrf(dir);
    free(dir);
    mini_free(&p);
}

/* ---- SGP.26 ---- */

/* 2025-06-01: inside the validity of every SGP.26 certificate (DPpb/DPauth end 2030-03-30). */
#define SGP26_TIME ((time_t)1748736000)

static X509 *sgp26_cert(const char *root, const char *rel) {
    char path[1024];
    X509 *x = NULL;
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    if (cert_load(path, &x) != ST_OK)
        fprintf(stderr, "\ncannot load %s\n", path);
    return x;
}

static void sgp26_variant(const char *root, const char *v) {
    char rel[256];
    X509 *ci, *eum, *euicc, *pb, *auth, *pb2;
    cert_trust_t *t = cert_trust_new();
    uint8_t eid[16];
    char s[33], oid[32];

#define LOAD(var, fmt)                                                                             \
    snprintf(rel, sizeof(rel), fmt, v);                                                            \
    var = sgp26_cert(root, rel)
    LOAD(ci, "CertificateIssuer/CERT_CI_ECDSA_%s.der");
    LOAD(eum, "EUM/CERT_EUM_ECDSA_%s.der");
    LOAD(euicc, "eUICC/CERT_EUICC_ECDSA_%s.der");
    LOAD(pb, "DPpb/CERT_S_SM_DPpb_ECDSA_%s.der");
    LOAD(auth, "DPauth/CERT_S_SM_DPauth_ECDSA_%s.der");
    LOAD(pb2, "DPpb/CERT_S_SM_DP2pb_ECDSA_%s.der");
#undef LOAD
    CU_ASSERT_FATAL(ci && eum && euicc && pb && auth && pb2);
    CU_ASSERT_EQUAL(cert_trust_add(t, ci), ST_OK);
    cert_trust_set_time(t, SGP26_TIME);

    /* the pitfall itself: stock OpenSSL rejects the chain with error 47 */
    {
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        STACK_OF(X509) *u = sk_X509_new_null();
        sk_X509_push(u, eum);
        X509_STORE_CTX_init(ctx, cert_trust_store(t), euicc, u);
        CU_ASSERT_NOT_EQUAL(X509_verify_cert(ctx), 1);
        CU_ASSERT_EQUAL(X509_STORE_CTX_get_error(ctx), X509_V_ERR_PERMITTED_VIOLATION);
        X509_STORE_CTX_free(ctx);
        sk_X509_free(u);
    }
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, eum, euicc, eid), ST_OK);
    eid_to_str(eid, s);
    CU_ASSERT_STRING_EQUAL(s, SGP26_EID);
    CU_ASSERT_TRUE(eid_valid(eid));
    CU_ASSERT_EQUAL(cert_get_eid(euicc, eid), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_chain(t, pb, NULL, CERT_POLICY_DP_PB), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_chain(t, auth, NULL, CERT_POLICY_DP_AUTH), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_chain(t, pb, NULL, CERT_POLICY_DP_AUTH), ST_E_CERT);
    CU_ASSERT_EQUAL(cert_verify_chain(t, auth, NULL, CERT_POLICY_DP_PB), ST_E_CERT);
    CU_ASSERT_EQUAL(cert_get_rid(pb, oid, sizeof(oid), NULL), ST_OK);
    CU_ASSERT_STRING_EQUAL(oid, "2.999.10");
    CU_ASSERT_EQUAL(cert_get_rid(auth, oid, sizeof(oid), NULL), ST_OK);
    CU_ASSERT_STRING_EQUAL(oid, "2.999.10");
    CU_ASSERT_EQUAL(cert_get_rid(pb2, oid, sizeof(oid), NULL), ST_OK);
    CU_ASSERT_STRING_EQUAL(oid, "2.999.12");
    CU_ASSERT_EQUAL(cert_eum_permitted_ein(eum, 0, s, oid, sizeof(oid)), ST_OK);
    CU_ASSERT_STRING_EQUAL(s, "89049032");
    CU_ASSERT_STRING_EQUAL(oid, "RSP Test EUM");
    /* after 2030-03-30 the SM-DP+ certificates have expired */
    cert_trust_set_time(t, (time_t)1950000000);
    CU_ASSERT_EQUAL(cert_verify_chain(t, pb, NULL, CERT_POLICY_DP_PB), ST_E_CERT);

    X509_free(ci);
    X509_free(eum);
    X509_free(euicc);
    X509_free(pb);
    X509_free(auth);
    X509_free(pb2);
    cert_trust_free(t);
}

static void test_sgp26(void) {
    char *root = tu_shared_path("data/sgp26");
    if (root == NULL) {
        tu_skip("cert", "SGP.26 test PKI (../shared/data/sgp26) not available");
        return;
    }
    sgp26_variant(root, "NIST");
    sgp26_variant(root, "BRP");
    free(root);
}

/* SGP.26 CI/EUM keys mint more eUICCs that verify with the SGP.26 certificates. */
static void test_sgp26_mint_under(void) {
    char *root = tu_shared_path("data/sgp26");
    char path[1024];
    X509 *ci = NULL, *eum = NULL, *e = NULL;
    EVP_PKEY *eum_key = NULL, *k = NULL;
    cert_trust_t *t = NULL;
    uint8_t eid[16], got[16];

    if (root == NULL) {
        tu_skip("cert", "SGP.26 test PKI (../shared/data/sgp26) not available");
        return;
    }
    ci = sgp26_cert(root, "CertificateIssuer/CERT_CI_ECDSA_NIST.der");
    eum = sgp26_cert(root, "EUM/CERT_EUM_ECDSA_NIST.der");
    snprintf(path, sizeof(path), "%s/EUM/SK_EUM_ECDSA_NIST.pem", root);
    CU_ASSERT_EQUAL(ec_key_load_pem_published(path, &eum_key), ST_OK);
    CU_ASSERT_FATAL(ci && eum && eum_key);
    t = trust_of(ci);
    CU_ASSERT_EQUAL(ec_key_generate(EC_CURVE_P256, &k), ST_OK);
    CU_ASSERT_EQUAL(eid_compose("89049032", 424242, eid), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_euicc(eum, eum_key, k, eid, &e), ST_OK);
    CU_ASSERT_EQUAL(cert_verify_euicc_chain(t, eum, e, got), ST_OK);
    CU_ASSERT_EQUAL(memcmp(eid, got, 16), 0);

    X509_free(ci);
    X509_free(eum);
    X509_free(e);
    EVP_PKEY_free(eum_key);
    EVP_PKEY_free(k);
    cert_trust_free(t);
    free(root);
}

void test_cert_register(void) {
    static const tu_test_t tests[] = {
        {"EID check digits and codec", test_eid},
        {"minted chain verifies (P-256)", test_minted_good_chain},
        {"minted chain verifies (brainpoolP256r1)", test_minted_brainpool},
        {"EID outside the EUM prefix / wrong O / check digits", test_eid_outside_prefix},
        {"EUM variant with PermittedEins", test_eum_variant_permitted_eins},
        {"wrong role policy", test_wrong_role_policy},
        {"validity with pinned time", test_validity},
        {"untrusted CI", test_untrusted_ci},
        {"tampered EUM signature", test_tampered_eum},
        {"mixed curves", test_mixed_curves},
        {"accessors, PEM/DER files", test_accessors_and_files},
        {"SGP.26 PKI (NIST, BRP)", test_sgp26},
        {"eUICC minted under the SGP.26 EUM", test_sgp26_mint_under},
    };
    TU_ADD_SUITE("cert", tests);
}
