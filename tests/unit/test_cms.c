/*
 * Unit tests: CMS SignedData (cms.c). Attached and detached (streamed) round trips, tampered
 * content, wrong trust anchor, malformed input, GSMA signers (EUM, eUICC under the EUM rule),
 * and a cross-check with the stock `openssl cms -verify` command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <openssl/bio.h>
#include <openssl/rand.h>

#include "crypto/cert.h"
#include "crypto/certgen.h"
#include "crypto/cms.h"
#include "crypto/ec.h"
#include "testutil.h"

/* DM chain (no GSMA constraints) and a GSMA CI/EUM/eUICC/DPauth set. */
typedef struct {
    EVP_PKEY *dmca_key, *dm_key, *ci_key, *eum_key, *euicc_key, *auth_key;
    X509 *dmca, *dm, *ci, *eum, *euicc, *auth;
} fx_t;

static void fx_free(fx_t *f) {
    EVP_PKEY_free(f->dmca_key);
    EVP_PKEY_free(f->dm_key);
    EVP_PKEY_free(f->ci_key);
    EVP_PKEY_free(f->eum_key);
    EVP_PKEY_free(f->euicc_key);
    EVP_PKEY_free(f->auth_key);
    X509_free(f->dmca);
    X509_free(f->dm);
    X509_free(f->ci);
    X509_free(f->eum);
    X509_free(f->euicc);
    X509_free(f->auth);
    memset(f, 0, sizeof(*f));
}

static int fx_make(fx_t *f, const char *eid_prefix) {
    uint8_t eid[16];
    ec_curve_t c = EC_CURVE_P256;

    memset(f, 0, sizeof(*f));
    return ec_key_generate(c, &f->dmca_key) == ST_OK && ec_key_generate(c, &f->dm_key) == ST_OK
           && ec_key_generate(c, &f->ci_key) == ST_OK && ec_key_generate(c, &f->eum_key) == ST_OK
           && ec_key_generate(c, &f->euicc_key) == ST_OK
           && ec_key_generate(c, &f->auth_key) == ST_OK
           && certgen_dm_ca(f->dmca_key, "Unit DM", "Unit DM CA", &f->dmca) == ST_OK
           && certgen_dm(f->dmca, f->dmca_key, f->dm_key, "Unit DM", "DM-UNIT", &f->dm) == ST_OK
           && certgen_ci(f->ci_key, "IFPP TEST", "Unit CI", &f->ci) == ST_OK
           && certgen_eum(f->ci, f->ci_key, f->eum_key, "Unit EUM", "89049032", &f->eum) == ST_OK
           && eid_compose(eid_prefix, 77, eid) == ST_OK
           && certgen_euicc(f->eum, f->eum_key, f->euicc_key, eid, &f->euicc) == ST_OK
           && certgen_smdpf(f->ci, f->ci_key, f->auth_key, CERTGEN_DP_AUTH, "2.999.10", "ACME",
                            "TEST SM-DPf", &f->auth)
                  == ST_OK;
}

static cert_trust_t *trust_of(X509 *ca) {
    cert_trust_t *t = cert_trust_new();
    if (t != NULL && cert_trust_add(t, ca) != ST_OK) {
        cert_trust_free(t);
        t = NULL;
    }
    return t;
}

static const uint8_t msg[] = "IFPP test content \x00\x01\x02\xff binary";

static void test_attached_roundtrip(void) {
    fx_t f;
    cert_trust_t *t = NULL;
    buf_t sig = BUF_INIT, content = BUF_INIT;
    X509 *signer = NULL;

    CU_ASSERT_FATAL(fx_make(&f, "89049032"));
    t = trust_of(f.dmca);
    CU_ASSERT_EQUAL_FATAL(cms_sign(f.dm_key, f.dm, NULL, msg, sizeof(msg), false, &sig), ST_OK);
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len, &content, &signer), ST_OK);
    CU_ASSERT_EQUAL(content.len, sizeof(msg));
    CU_ASSERT_EQUAL(memcmp(content.data, msg, sizeof(msg)), 0);
    CU_ASSERT_PTR_NOT_NULL(signer);
    CU_ASSERT_EQUAL(X509_cmp(signer, f.dm), 0);
    CU_ASSERT_TRUE(cert_has_policy(signer, CERT_POLICY_IFPP_DM));
    /* verifying without asking for content or signer */
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len, NULL, NULL), ST_OK);
    /* an attached signature is not a detached one */
    {
        BIO *b = BIO_new_mem_buf(msg, sizeof(msg));
        CU_ASSERT_EQUAL(cms_verify_detached(t, sig.data, sig.len, b, NULL), ST_E_PARSE);
        BIO_free(b);
    }
    /* empty content */
    buf_reset(&sig);
    buf_reset(&content);
    CU_ASSERT_EQUAL(cms_sign(f.dm_key, f.dm, NULL, NULL, 0, false, &sig), ST_OK);
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len, &content, NULL), ST_OK);
    CU_ASSERT_EQUAL(content.len, 0);

    X509_free(signer);
    buf_free(&sig);
    buf_free(&content);
    cert_trust_free(t);
    fx_free(&f);
}

static void test_attached_tampered(void) {
    fx_t f;
    cert_trust_t *t = NULL;
    buf_t sig = BUF_INIT, content = BUF_INIT;
    uint8_t *p;

    CU_ASSERT_FATAL(fx_make(&f, "89049032"));
    t = trust_of(f.dmca);
    CU_ASSERT_EQUAL_FATAL(cms_sign(f.dm_key, f.dm, NULL, msg, sizeof(msg), false, &sig), ST_OK);
    p = memmem(sig.data, sig.len, msg, sizeof(msg));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    p[3] ^= 0x20;
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len, &content, NULL), ST_E_BAD_SIGNATURE);
    CU_ASSERT_EQUAL(content.len, 0);
    p[3] ^= 0x20;
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len, &content, NULL), ST_OK);
    /* the signature value itself (last octets of the DER) */
    sig.data[sig.len - 1] ^= 0x01;
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len, NULL, NULL), ST_E_BAD_SIGNATURE);
    /* malformed */
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len - 5, NULL, NULL), ST_E_PARSE);
    CU_ASSERT_EQUAL(cms_verify_attached(t, msg, sizeof(msg), NULL, NULL), ST_E_PARSE);

    buf_free(&sig);
    buf_free(&content);
    cert_trust_free(t);
    fx_free(&f);
}

/* Every single-byte change of an attached SignedData is refused by signature/chain
 * verification or by the station profile check (fields OpenSSL does not judge). */
static void test_every_byte_flip(void) {
    fx_t f;
    cert_trust_t *t = NULL;
    buf_t sig = BUF_INIT;
    size_t accepted = 0;

    CU_ASSERT_FATAL(fx_make(&f, "89049032"));
    t = trust_of(f.dmca);
    CU_ASSERT_EQUAL_FATAL(cms_sign(f.dm_key, f.dm, NULL, msg, sizeof(msg), false, &sig), ST_OK);
    CU_ASSERT_TRUE(cms_station_profile_ok(sig.data, sig.len));
    for (size_t i = 0; i < sig.len; i++) {
        sig.data[i] ^= 0x01;
        if (cms_verify_attached(t, sig.data, sig.len, NULL, NULL) == ST_OK
            && cms_station_profile_ok(sig.data, sig.len)) {
            fprintf(stderr, "\nbyte %zu of %zu changed and still accepted\n", i, sig.len);
            accepted++;
        }
        sig.data[i] ^= 0x01;
    }
    CU_ASSERT_EQUAL(accepted, 0);
    buf_free(&sig);
    cert_trust_free(t);
    fx_free(&f);
}

static void test_wrong_anchor(void) {
    fx_t f, g;
    cert_trust_t *t = NULL, *gsma = NULL;
    buf_t sig = BUF_INIT;
    X509 *signer = NULL;

    CU_ASSERT_FATAL(fx_make(&f, "89049032"));
    CU_ASSERT_FATAL(fx_make(&g, "89049032"));
    t = trust_of(g.dmca);
    gsma = trust_of(f.ci);
    CU_ASSERT_EQUAL_FATAL(cms_sign(f.dm_key, f.dm, NULL, msg, sizeof(msg), false, &sig), ST_OK);
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len, NULL, &signer), ST_E_UNTRUSTED);
    CU_ASSERT_PTR_NULL(signer);
    CU_ASSERT_EQUAL(cms_verify_attached(gsma, sig.data, sig.len, NULL, NULL), ST_E_UNTRUSTED);
    /* signed by a key whose certificate is not in the SignedData */
    buf_reset(&sig);
    CU_ASSERT_EQUAL(cms_sign(g.dm_key, f.dm, NULL, msg, sizeof(msg), false, &sig),
                    ST_E_CRYPTO); /* OpenSSL refuses a key that does not match */

    buf_free(&sig);
    cert_trust_free(t);
    cert_trust_free(gsma);
    fx_free(&f);
    fx_free(&g);
}

static void test_detached_stream(void) {
    fx_t f;
    cert_trust_t *t = NULL;
    buf_t sig = BUF_INIT;
    size_t n = 3 * 1024 * 1024 + 17;
    uint8_t *data = malloc(n);
    BIO *in = NULL;
    X509 *signer = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    CU_ASSERT_FATAL(fx_make(&f, "89049032"));
    CU_ASSERT_EQUAL(RAND_bytes(data, (int)n), 1);
    t = trust_of(f.ci);
    in = BIO_new_mem_buf(data, (int)n);
    CU_ASSERT_EQUAL_FATAL(cms_sign_bio(f.auth_key, f.auth, NULL, in, true, &sig), ST_OK);
    BIO_free(in);
    CU_ASSERT_TRUE(sig.len < 4096); /* the content is not in it */
    in = BIO_new_mem_buf(data, (int)n);
    CU_ASSERT_EQUAL(cms_verify_detached(t, sig.data, sig.len, in, &signer), ST_OK);
    BIO_free(in);
    CU_ASSERT_EQUAL(X509_cmp(signer, f.auth), 0);
    CU_ASSERT_TRUE(cert_has_policy(signer, CERT_POLICY_DP_AUTH));
    /* one bit flipped in the middle of the content */
    data[n / 2] ^= 0x80;
    in = BIO_new_mem_buf(data, (int)n);
    CU_ASSERT_EQUAL(cms_verify_detached(t, sig.data, sig.len, in, NULL), ST_E_BAD_SIGNATURE);
    BIO_free(in);
    data[n / 2] ^= 0x80;
    /* truncated content */
    in = BIO_new_mem_buf(data, (int)n - 1);
    CU_ASSERT_EQUAL(cms_verify_detached(t, sig.data, sig.len, in, NULL), ST_E_BAD_SIGNATURE);
    BIO_free(in);
    /* a detached signature is not an attached one */
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len, NULL, NULL), ST_E_PARSE);
    /* cms_sign(detached) signs the same bytes */
    buf_reset(&sig);
    CU_ASSERT_EQUAL(cms_sign(f.auth_key, f.auth, NULL, data, n, true, &sig), ST_OK);
    in = BIO_new_mem_buf(data, (int)n);
    CU_ASSERT_EQUAL(cms_verify_detached(t, sig.data, sig.len, in, NULL), ST_OK);
    BIO_free(in);

    X509_free(signer);
    buf_free(&sig);
    free(data);
    cert_trust_free(t);
    fx_free(&f);
}

/* GSMA signers: the EUM itself, and an eUICC (EUM in the chain: the prefix rule applies). */
static void test_gsma_signers(void) {
    fx_t f, g;
    cert_trust_t *t = NULL;
    buf_t sig = BUF_INIT;
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509 *signer = NULL;

    CU_ASSERT_FATAL(fx_make(&f, "89049032"));
    CU_ASSERT_FATAL(fx_make(&g, "89049099")); /* eUICC outside its EUM's prefix */
    t = trust_of(f.ci);
    CU_ASSERT_EQUAL(cert_trust_add(t, g.ci), ST_OK);
    CU_ASSERT_EQUAL_FATAL(cms_sign(f.eum_key, f.eum, NULL, msg, sizeof(msg), false, &sig), ST_OK);
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len, NULL, &signer), ST_OK);
    CU_ASSERT_TRUE(signer != NULL && cert_has_policy(signer, CERT_POLICY_EUM));
    X509_free(signer);
    signer = NULL;

    buf_reset(&sig);
    sk_X509_push(chain, f.eum);
    CU_ASSERT_EQUAL_FATAL(cms_sign(f.euicc_key, f.euicc, chain, msg, sizeof(msg), false, &sig),
                          ST_OK);
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len, NULL, &signer), ST_OK);
    CU_ASSERT_TRUE(signer != NULL && cert_has_policy(signer, CERT_POLICY_EUICC));
    /* without the EUM in the SignedData the chain cannot be built */
    buf_reset(&sig);
    CU_ASSERT_EQUAL(cms_sign(f.euicc_key, f.euicc, NULL, msg, sizeof(msg), false, &sig), ST_OK);
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len, NULL, NULL), ST_E_UNTRUSTED);
    /* an eUICC whose EID is outside its EUM's permitted prefix */
    buf_reset(&sig);
    sk_X509_set(chain, 0, g.eum);
    CU_ASSERT_EQUAL(cms_sign(g.euicc_key, g.euicc, chain, msg, sizeof(msg), false, &sig), ST_OK);
    CU_ASSERT_EQUAL(cms_verify_attached(t, sig.data, sig.len, NULL, NULL), ST_E_UNTRUSTED);

    X509_free(signer);
    sk_X509_free(chain);
    buf_free(&sig);
    cert_trust_free(t);
    fx_free(&f);
    fx_free(&g);
}

/* ---- stock openssl command line ---- */

static int run(const char *cmd) {
    int rc = system(cmd);
    return (rc != -1 && WIFEXITED(rc)) ? WEXITSTATUS(rc) : -1;
}

static int write_file(const char *dir, const char *name, const void *p, size_t n, char *path,
                      size_t plen) {
    snprintf(path, plen, "%s/%s", dir, name);
    return buf_write_file_atomic(path, p, n, 0644) == ST_OK;
}

static void test_openssl_cli(void) {
    fx_t f;
    char *dir = NULL;
    char sigp[512], datap[512], cap[512], outp[512], cmd[4096];
    buf_t sig = BUF_INIT, out = BUF_INIT;
    size_t n = 200000;
    uint8_t *data = malloc(n);

    if (run("openssl version >/dev/null 2>&1") != 0) {
        tu_skip("cms", "openssl command line not found");
        free(data);
        return;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    CU_ASSERT_FATAL(fx_make(&f, "89049032"));
    dir = tu_tmpdir("cms");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL(RAND_bytes(data, (int)n), 1);
    snprintf(cap, sizeof(cap), "%s/dm-ca.pem", dir);
    CU_ASSERT_EQUAL(cert_save_pem(cap, f.dmca), ST_OK);
    snprintf(outp, sizeof(outp), "%s/out.bin", dir);

    /* attached, DM key (as .ifppr/.ifppl) */
    CU_ASSERT_EQUAL(cms_sign(f.dm_key, f.dm, NULL, data, n, false, &sig), ST_OK);
    CU_ASSERT(write_file(dir, "a.p7", sig.data, sig.len, sigp, sizeof(sigp)));
    snprintf(cmd, sizeof(cmd),
             "openssl cms -verify -inform DER -in '%s' -CAfile '%s' -binary -out '%s' "
             ">/dev/null 2>&1",
             sigp, cap, outp);
    CU_ASSERT_EQUAL(run(cmd), 0);
    CU_ASSERT_EQUAL(buf_read_file(&out, outp, 1 << 20), ST_OK);
    CU_ASSERT_TRUE(out.len == n && memcmp(out.data, data, n) == 0);

    /* detached, DM key */
    buf_reset(&sig);
    CU_ASSERT_EQUAL(cms_sign(f.dm_key, f.dm, NULL, data, n, true, &sig), ST_OK);
    CU_ASSERT(write_file(dir, "d.p7s", sig.data, sig.len, sigp, sizeof(sigp)));
    CU_ASSERT(write_file(dir, "data.bin", data, n, datap, sizeof(datap)));
    snprintf(cmd, sizeof(cmd),
             "openssl cms -verify -inform DER -in '%s' -content '%s' -CAfile '%s' -binary "
             "-out /dev/null >/dev/null 2>&1",
             sigp, datap, cap);
    CU_ASSERT_EQUAL(run(cmd), 0);
    /* ... and openssl rejects tampered content */
    data[10] ^= 1;
    CU_ASSERT(write_file(dir, "data.bin", data, n, datap, sizeof(datap)));
    CU_ASSERT_NOT_EQUAL(run(cmd), 0);
    data[10] ^= 1;

    /* detached, SM-DPf bundle signer (DPauth under a CI without name constraints) */
    buf_reset(&sig);
    snprintf(cap, sizeof(cap), "%s/ci.pem", dir);
    CU_ASSERT_EQUAL(cert_save_pem(cap, f.ci), ST_OK);
    CU_ASSERT_EQUAL(cms_sign(f.auth_key, f.auth, NULL, data, n, true, &sig), ST_OK);
    CU_ASSERT(write_file(dir, "data.bin", data, n, datap, sizeof(datap)));
    CU_ASSERT(write_file(dir, "b.p7s", sig.data, sig.len, sigp, sizeof(sigp)));
    snprintf(cmd, sizeof(cmd),
             "openssl cms -verify -inform DER -in '%s' -content '%s' -CAfile '%s' -binary "
             "-out /dev/null >/dev/null 2>&1",
             sigp, datap, cap);
    CU_ASSERT_EQUAL(run(cmd), 0);

    /* the other direction: openssl signs, we verify */
    {
        char keyp[512], certp[512];
        buf_t osig = BUF_INIT;
        cert_trust_t *t = trust_of(f.dmca);
        snprintf(keyp, sizeof(keyp), "%s/dm.key.pem", dir);
        snprintf(certp, sizeof(certp), "%s/dm.pem", dir);
        CU_ASSERT_EQUAL(ec_key_save_pem(keyp, f.dm_key, 0600), ST_OK);
        CU_ASSERT_EQUAL(cert_save_pem(certp, f.dm), ST_OK);
        snprintf(cmd, sizeof(cmd),
                 "openssl cms -sign -binary -nodetach -md sha256 -outform DER -in '%s' "
                 "-signer '%s' -inkey '%s' -out '%s/o.p7' >/dev/null 2>&1",
                 datap, certp, keyp, dir);
        CU_ASSERT_EQUAL(run(cmd), 0);
        snprintf(sigp, sizeof(sigp), "%s/o.p7", dir);
        CU_ASSERT_EQUAL(buf_read_file(&osig, sigp, 1 << 20), ST_OK);
        buf_reset(&out);
        CU_ASSERT_EQUAL(cms_verify_attached(t, osig.data, osig.len, &out, NULL), ST_OK);
        CU_ASSERT_TRUE(out.len == n && memcmp(out.data, data, n) == 0);
        buf_free(&osig);
        cert_trust_free(t);
    }

    buf_free(&sig);
    buf_free(&out);
    free(data);
    tu_rmrf(dir);
    free(dir);
    fx_free(&f);
}

/* A bundle-sized detached signature through file BIOs (nothing held in memory). */
static void test_detached_file(void) {
    fx_t f;
    char *dir = tu_tmpdir("cmsf");
    char path[512];
    FILE *fp;
    uint8_t chunk[65536];
    buf_t sig = BUF_INIT;
    BIO *in = NULL;
    cert_trust_t *t = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_FATAL(fx_make(&f, "89049032"));
    t = trust_of(f.ci);
    snprintf(path, sizeof(path), "%s/bundle.bin", dir);
    fp = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    for (int i = 0; i < 256; i++) { /* 16 MiB */
        CU_ASSERT_EQUAL(RAND_bytes(chunk, sizeof(chunk)), 1);
        CU_ASSERT_EQUAL(fwrite(chunk, 1, sizeof(chunk), fp), sizeof(chunk));
    }
    fclose(fp);
    in = BIO_new_file(path, "rb");
    CU_ASSERT_EQUAL(cms_sign_bio(f.auth_key, f.auth, NULL, in, true, &sig), ST_OK);
    BIO_free(in);
    in = BIO_new_file(path, "rb");
    CU_ASSERT_EQUAL(cms_verify_detached(t, sig.data, sig.len, in, NULL), ST_OK);
    BIO_free(in);

    buf_free(&sig);
    cert_trust_free(t);
    tu_rmrf(dir);
    free(dir);
    fx_free(&f);
}

void test_cms_register(void) {
    static const tu_test_t tests[] = {
        {"every single-byte change refused", test_every_byte_flip},
        {"attached sign/verify", test_attached_roundtrip},
        {"attached: tampered content and signature", test_attached_tampered},
        {"wrong trust anchor", test_wrong_anchor},
        {"detached, streamed", test_detached_stream},
        {"detached, 16 MiB file", test_detached_file},
        {"GSMA signers (EUM, eUICC)", test_gsma_signers},
        {"openssl cms command line", test_openssl_cli},
    };
    TU_ADD_SUITE("cms", tests);
}
