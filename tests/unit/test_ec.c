/* Unit tests: EC primitives (crypto/ec.h) - ECKA KATs (pySim mode51, Appendix A golden
 * vector), point/scalar codecs incl. off-curve rejection, raw r||s ECDSA on both curves, PEM. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "crypto/ec.h"
#include "testutil.h"

/* research §3.2 (pySim TestECKA "mode51", P-256) */
#define M51_SMDP_OTSK "fb68a38ccedb69e15cbe03c256228998ac398587e5dc7117f948145c839d61a4"
#define M51_EUICC_OTPK                                                                             \
    "0400f7b8d71403f21d84b00cd9e561178d737d3f4d065e62fee279271298dd4f07"                           \
    "4794ab791b9939d4461296efe388aa26731064263af988b7d2c4d77da44801b5"
#define M51_SHS "c9a993dd4879a8f7161f2085410edd4f9652f1df37be097ba96ba2ca6be528fe"

/* research Appendix A */
#define GA_EUICC_OTSK "3cde55ef5b8ca852ac1a821b252bca6cb2eba92cdf8620740fd16d7db24d2021"
#define GA_EUICC_OTPK                                                                              \
    "044c58c1c24d9eb020f71041fe2d44523a4d329b0bc947242754223dd50b72523a"                           \
    "7b404e20acfcf5d99ff3cb941e353ebe6884898ae28ae3250801ad89128a35e8"
#define GA_SMDPF_OTSK "78dd7659e2cc3beedd1d1de57af9c206aa8cf6335c2d20587480a6628ffde0e7"
#define GA_SMDPF_OTPK                                                                              \
    "04f942c98d894965969db87fea386068f607dbf91f4adfbbec5e5b1fc244efedd8"                           \
    "6fd6ad39def21921e4c798204a16e11a61fd599fb1d344764f12455739e59580"
#define GA_Z "cdcefe123ba8a922c2a7d60a3977d3a83469b0ebf0ed8d35f4f647ffff532bc4"

static EVP_PKEY *priv_from_hex(ec_curve_t c, const char *hex) {
    uint8_t d[EC_SCALAR_LEN];
    EVP_PKEY *k = NULL;
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(hex, d, sizeof(d)), ST_OK);
    CU_ASSERT_EQUAL(ec_privkey_from_scalar(c, d, &k), ST_OK);
    mem_wipe(d, sizeof(d));
    return k;
}

static EVP_PKEY *pub_from_hex(ec_curve_t c, const char *hex) {
    buf_t b = tu_hex(hex);
    EVP_PKEY *k = NULL;
    CU_ASSERT_EQUAL(ec_pubkey_from_point(c, b.data, b.len, &k), ST_OK);
    buf_free(&b);
    return k;
}

static void test_curve_names(void) {
    ec_curve_t c = EC_CURVE_NONE;
    CU_ASSERT_STRING_EQUAL(ec_curve_name(EC_CURVE_P256), "P-256");
    CU_ASSERT_STRING_EQUAL(ec_curve_name(EC_CURVE_BRAINPOOLP256R1), "brainpoolP256r1");
    CU_ASSERT_PTR_NULL(ec_curve_name(EC_CURVE_NONE));
    const char *p256[] = {"P-256", "prime256v1", "secp256r1", "nist"};
    for (size_t i = 0; i < 4; i++) {
        c = EC_CURVE_NONE;
        CU_ASSERT_EQUAL(ec_curve_parse(p256[i], &c), ST_OK);
        CU_ASSERT_EQUAL(c, EC_CURVE_P256);
    }
    CU_ASSERT_EQUAL(ec_curve_parse("brainpoolP256r1", &c), ST_OK);
    CU_ASSERT_EQUAL(c, EC_CURVE_BRAINPOOLP256R1);
    CU_ASSERT_EQUAL(ec_curve_parse("brp", &c), ST_OK);
    CU_ASSERT_EQUAL(c, EC_CURVE_BRAINPOOLP256R1);
    CU_ASSERT_EQUAL(ec_curve_parse("secp384r1", &c), ST_E_UNSUPPORTED);
}

/* research §3.2: ShS = x(otSK.DP * otPK.EUICC) */
static void test_ecka_mode51(void) {
    EVP_PKEY *sk = priv_from_hex(EC_CURVE_P256, M51_SMDP_OTSK);
    EVP_PKEY *pk = pub_from_hex(EC_CURVE_P256, M51_EUICC_OTPK);
    uint8_t z[EC_SHARED_LEN];
    CU_ASSERT_PTR_NOT_NULL_FATAL(sk);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pk);
    CU_ASSERT_EQUAL(ec_ecdh(sk, pk, z), ST_OK);
    TU_ASSERT_HEX(z, sizeof(z), M51_SHS);
    EVP_PKEY_free(sk);
    EVP_PKEY_free(pk);
}

/* Appendix A: both private keys give the published public points and the same Z. */
static void test_ecka_golden(void) {
    EVP_PKEY *e = priv_from_hex(EC_CURVE_P256, GA_EUICC_OTSK);
    EVP_PKEY *s = priv_from_hex(EC_CURVE_P256, GA_SMDPF_OTSK);
    EVP_PKEY *epub = pub_from_hex(EC_CURVE_P256, GA_EUICC_OTPK);
    EVP_PKEY *spub = pub_from_hex(EC_CURVE_P256, GA_SMDPF_OTPK);
    uint8_t pt[EC_POINT_LEN], z1[EC_SHARED_LEN], z2[EC_SHARED_LEN], d[EC_SCALAR_LEN];
    ec_curve_t c = EC_CURVE_NONE;

    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(epub);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spub);
    CU_ASSERT_EQUAL(ec_key_curve(e, &c), ST_OK);
    CU_ASSERT_EQUAL(c, EC_CURVE_P256);
    CU_ASSERT_EQUAL(ec_pubkey_to_point(e, pt), ST_OK);
    TU_ASSERT_HEX(pt, sizeof(pt), GA_EUICC_OTPK);
    CU_ASSERT_EQUAL(ec_pubkey_to_point(s, pt), ST_OK);
    TU_ASSERT_HEX(pt, sizeof(pt), GA_SMDPF_OTPK);
    CU_ASSERT_EQUAL(ec_pubkey_to_point(spub, pt), ST_OK);
    TU_ASSERT_HEX(pt, sizeof(pt), GA_SMDPF_OTPK);
    CU_ASSERT_EQUAL(ec_privkey_to_scalar(s, d), ST_OK);
    TU_ASSERT_HEX(d, sizeof(d), GA_SMDPF_OTSK);
    CU_ASSERT_EQUAL(ec_privkey_to_scalar(spub, d), ST_E_INVAL); /* public only */

    CU_ASSERT_EQUAL(ec_ecdh(s, epub, z1), ST_OK); /* SM-DPf side */
    CU_ASSERT_EQUAL(ec_ecdh(e, spub, z2), ST_OK); /* eUICC side */
    TU_ASSERT_HEX(z1, sizeof(z1), GA_Z);
    TU_ASSERT_HEX(z2, sizeof(z2), GA_Z);
    EVP_PKEY_free(e);
    EVP_PKEY_free(s);
    EVP_PKEY_free(epub);
    EVP_PKEY_free(spub);
}

static void test_point_reject(void) {
    buf_t b = tu_hex(GA_EUICC_OTPK);
    EVP_PKEY *k = NULL;

    /* off the curve: flip a bit of Y */
    b.data[64] ^= 0x01;
    CU_ASSERT_EQUAL(ec_pubkey_from_point(EC_CURVE_P256, b.data, b.len, &k), ST_E_INVAL);
    CU_ASSERT_PTR_NULL(k);
    b.data[64] ^= 0x01;
    /* a P-256 point is not on brainpoolP256r1 */
    CU_ASSERT_EQUAL(ec_pubkey_from_point(EC_CURVE_BRAINPOOLP256R1, b.data, b.len, &k), ST_E_INVAL);
    CU_ASSERT_PTR_NULL(k);
    /* wrong length / compressed / bad prefix */
    CU_ASSERT_EQUAL(ec_pubkey_from_point(EC_CURVE_P256, b.data, 64, &k), ST_E_INVAL);
    b.data[0] = 0x02;
    CU_ASSERT_EQUAL(ec_pubkey_from_point(EC_CURVE_P256, b.data, 33, &k), ST_E_INVAL);
    CU_ASSERT_EQUAL(ec_pubkey_from_point(EC_CURVE_P256, b.data, b.len, &k), ST_E_INVAL);
    b.data[0] = 0x04;
    /* all-zero coordinates (not a point) */
    memset(b.data + 1, 0, 64);
    CU_ASSERT_EQUAL(ec_pubkey_from_point(EC_CURVE_P256, b.data, b.len, &k), ST_E_INVAL);
    CU_ASSERT_EQUAL(ec_pubkey_from_point(EC_CURVE_NONE, b.data, b.len, &k), ST_E_UNSUPPORTED);
    CU_ASSERT_PTR_NULL(k);
    buf_free(&b);
}

static void test_scalar_reject(void) {
    uint8_t d[EC_SCALAR_LEN];
    EVP_PKEY *k = NULL;
    memset(d, 0, sizeof(d));
    CU_ASSERT_EQUAL(ec_privkey_from_scalar(EC_CURVE_P256, d, &k), ST_E_INVAL);
    memset(d, 0xFF, sizeof(d)); /* >= n on both curves */
    CU_ASSERT_EQUAL(ec_privkey_from_scalar(EC_CURVE_P256, d, &k), ST_E_INVAL);
    CU_ASSERT_EQUAL(ec_privkey_from_scalar(EC_CURVE_BRAINPOOLP256R1, d, &k), ST_E_INVAL);
    /* n of P-256 exactly */
    CU_ASSERT_EQUAL(
        hex_decode_exact("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", d, 32),
        ST_OK);
    CU_ASSERT_EQUAL(ec_privkey_from_scalar(EC_CURVE_P256, d, &k), ST_E_INVAL);
    d[31] = 0x50; /* n - 1 is fine */
    CU_ASSERT_EQUAL(ec_privkey_from_scalar(EC_CURVE_P256, d, &k), ST_OK);
    EVP_PKEY_free(k);
}

static void roundtrip_curve(ec_curve_t curve) {
    EVP_PKEY *a = NULL, *b = NULL, *apub = NULL, *a2 = NULL;
    uint8_t pt[EC_POINT_LEN], d[EC_SCALAR_LEN], pt2[EC_POINT_LEN];
    uint8_t z1[EC_SHARED_LEN], z2[EC_SHARED_LEN], sig[EC_SIG_RAW_LEN];
    const uint8_t msg[] = "820101 transaction TBS";
    ec_curve_t c = EC_CURVE_NONE;

    CU_ASSERT_EQUAL_FATAL(ec_key_generate(curve, &a), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(curve, &b), ST_OK);
    CU_ASSERT_EQUAL(ec_key_curve(a, &c), ST_OK);
    CU_ASSERT_EQUAL(c, curve);

    /* point and scalar round trips */
    CU_ASSERT_EQUAL(ec_pubkey_to_point(a, pt), ST_OK);
    CU_ASSERT_EQUAL(pt[0], 0x04);
    CU_ASSERT_EQUAL_FATAL(ec_pubkey_from_point(curve, pt, sizeof(pt), &apub), ST_OK);
    CU_ASSERT_EQUAL(ec_pubkey_to_point(apub, pt2), ST_OK);
    CU_ASSERT_EQUAL(memcmp(pt, pt2, sizeof(pt)), 0);
    CU_ASSERT_EQUAL(ec_privkey_to_scalar(a, d), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_privkey_from_scalar(curve, d, &a2), ST_OK);
    CU_ASSERT_EQUAL(ec_pubkey_to_point(a2, pt2), ST_OK);
    CU_ASSERT_EQUAL(memcmp(pt, pt2, sizeof(pt)), 0);

    /* ECDH both directions */
    CU_ASSERT_EQUAL(ec_ecdh(a, b, z1), ST_OK);
    CU_ASSERT_EQUAL(ec_ecdh(b, apub, z2), ST_OK);
    CU_ASSERT_EQUAL(memcmp(z1, z2, sizeof(z1)), 0);

    /* raw r||s ECDSA: sign with the imported scalar, verify with the imported point */
    CU_ASSERT_EQUAL(ec_sign_raw(a2, msg, sizeof(msg), sig), ST_OK);
    CU_ASSERT_EQUAL(ec_verify_raw(apub, msg, sizeof(msg), sig, sizeof(sig)), ST_OK);
    CU_ASSERT_EQUAL(ec_verify_raw(a, msg, sizeof(msg), sig, sizeof(sig)), ST_OK);
    /* wrong key, tampered message, tampered signature, wrong lengths */
    CU_ASSERT_EQUAL(ec_verify_raw(b, msg, sizeof(msg), sig, sizeof(sig)), ST_E_BAD_SIGNATURE);
    CU_ASSERT_EQUAL(ec_verify_raw(apub, msg, sizeof(msg) - 1, sig, sizeof(sig)),
                    ST_E_BAD_SIGNATURE);
    CU_ASSERT_EQUAL(ec_verify_raw(apub, msg, sizeof(msg), sig, 63), ST_E_BAD_SIGNATURE);
    CU_ASSERT_EQUAL(ec_verify_raw(apub, msg, sizeof(msg), sig, 65), ST_E_BAD_SIGNATURE);
    CU_ASSERT_EQUAL(ec_verify_raw(apub, msg, sizeof(msg), NULL, 0), ST_E_BAD_SIGNATURE);
    sig[40] ^= 0x80;
    CU_ASSERT_EQUAL(ec_verify_raw(apub, msg, sizeof(msg), sig, sizeof(sig)), ST_E_BAD_SIGNATURE);
    memset(sig, 0, sizeof(sig)); /* r = s = 0 */
    CU_ASSERT_EQUAL(ec_verify_raw(apub, msg, sizeof(msg), sig, sizeof(sig)), ST_E_BAD_SIGNATURE);
    /* empty message is a valid input */
    CU_ASSERT_EQUAL(ec_sign_raw(a, NULL, 0, sig), ST_OK);
    CU_ASSERT_EQUAL(ec_verify_raw(apub, NULL, 0, sig, sizeof(sig)), ST_OK);

    mem_wipe(d, sizeof(d));
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    EVP_PKEY_free(apub);
    EVP_PKEY_free(a2);
}

static void test_p256_roundtrip(void) {
    roundtrip_curve(EC_CURVE_P256);
}

static void test_brainpool_roundtrip(void) {
    roundtrip_curve(EC_CURVE_BRAINPOOLP256R1);
}

static void test_mixed_curves(void) {
    EVP_PKEY *a = NULL, *b = NULL, *ed = NULL;
    uint8_t z[EC_SHARED_LEN], pt[EC_POINT_LEN], sig[EC_SIG_RAW_LEN];
    ec_curve_t c;
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &a), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_BRAINPOOLP256R1, &b), ST_OK);
    CU_ASSERT_EQUAL(ec_ecdh(a, b, z), ST_E_INVAL);
    CU_ASSERT_EQUAL(ec_key_generate(EC_CURVE_NONE, &ed), ST_E_UNSUPPORTED);
    ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ed);
    CU_ASSERT_EQUAL(ec_key_curve(ed, &c), ST_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(ec_pubkey_to_point(ed, pt), ST_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(ec_sign_raw(ed, pt, 1, sig), ST_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(ec_ecdh(a, ed, z), ST_E_UNSUPPORTED);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    EVP_PKEY_free(ed);
}

static void test_pem(void) {
    char *dir = tu_tmpdir("ec");
    char path[512], pubpath[512];
    EVP_PKEY *k = NULL, *k2 = NULL, *pub = NULL;
    uint8_t d1[EC_SCALAR_LEN], d2[EC_SCALAR_LEN], p1[EC_POINT_LEN], p2[EC_POINT_LEN];
    struct stat sb;
    ec_curve_t c;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof(path), "%s/k.key.pem", dir);
    snprintf(pubpath, sizeof(pubpath), "%s/missing.pem", dir);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_BRAINPOOLP256R1, &k), ST_OK);
    CU_ASSERT_EQUAL(ec_key_save_pem(path, k, 0600), ST_OK);
    CU_ASSERT_EQUAL_FATAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL_FATAL(ec_key_load_pem(path, &k2), ST_OK);
    CU_ASSERT_EQUAL(ec_key_curve(k2, &c), ST_OK);
    CU_ASSERT_EQUAL(c, EC_CURVE_BRAINPOOLP256R1);
    CU_ASSERT_EQUAL(ec_privkey_to_scalar(k, d1), ST_OK);
    CU_ASSERT_EQUAL(ec_privkey_to_scalar(k2, d2), ST_OK);
    CU_ASSERT_EQUAL(memcmp(d1, d2, sizeof(d1)), 0);
    /* public key from the private key file: public half only */
    CU_ASSERT_EQUAL_FATAL(ec_pubkey_load(path, &pub), ST_OK);
    CU_ASSERT_EQUAL(ec_pubkey_to_point(k, p1), ST_OK);
    CU_ASSERT_EQUAL(ec_pubkey_to_point(pub, p2), ST_OK);
    CU_ASSERT_EQUAL(memcmp(p1, p2, sizeof(p1)), 0);
    CU_ASSERT_EQUAL(ec_privkey_to_scalar(pub, d2), ST_E_INVAL);
    /* errors */
    EVP_PKEY_free(k2);
    k2 = NULL;
    CU_ASSERT_EQUAL(ec_key_load_pem(pubpath, &k2), ST_E_NOENT);
    CU_ASSERT_EQUAL(buf_write_file_atomic(pubpath, "junk\n", 5, 0600), ST_OK);
    CU_ASSERT_EQUAL(ec_key_load_pem(pubpath, &k2), ST_E_PARSE);
    CU_ASSERT_PTR_NULL(k2);
    EVP_PKEY_free(pub);
    pub = NULL;
    CU_ASSERT_EQUAL(ec_pubkey_load(pubpath, &pub), ST_E_PARSE);
    CU_ASSERT_PTR_NULL(pub);
    /* file mode: a key group or others may read or write is refused, as ssh does */
    {
        static const mode_t bad[] = {0644, 0640, 0604, 0620, 0602, 0660};
        static const mode_t good[] = {0600, 0400};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            CU_ASSERT_EQUAL_FATAL(chmod(path, bad[i]), 0);
            CU_ASSERT_EQUAL(ec_key_load_pem(path, &k2), ST_E_PERM);
            CU_ASSERT_PTR_NULL(k2);
        }
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
            CU_ASSERT_EQUAL_FATAL(chmod(path, good[i]), 0);
            CU_ASSERT_EQUAL(ec_key_load_pem(path, &k2), ST_OK);
            EVP_PKEY_free(k2);
            k2 = NULL;
        }
        /* another owner than the caller (or root) */
        if (geteuid() == 0) {
            CU_ASSERT_EQUAL_FATAL(chown(path, 65534, 65534), 0);
            CU_ASSERT_EQUAL(ec_key_load_pem(path, &k2), ST_E_PERM);
            CU_ASSERT_PTR_NULL(k2);
            CU_ASSERT_EQUAL_FATAL(chown(path, 0, 0), 0);
        }
        /* the public half stays readable whatever the mode (a cert/public key is public) */
        CU_ASSERT_EQUAL_FATAL(chmod(path, 0644), 0);
        CU_ASSERT_EQUAL(ec_pubkey_load(path, &pub), ST_OK);
        EVP_PKEY_free(pub);
        pub = NULL;
    }

    mem_wipe(d1, sizeof(d1));
    mem_wipe(d2, sizeof(d2));
    EVP_PKEY_free(k);
    tu_rmrf(dir);
    free(dir);
}

void test_ec_register(void) {
    static const tu_test_t tests[] = {
        {"curve names", test_curve_names},
        {"ECKA KAT (pySim mode51)", test_ecka_mode51},
        {"ECKA golden vector (Appendix A)", test_ecka_golden},
        {"point import rejects off-curve/malformed", test_point_reject},
        {"scalar import rejects 0 and >= n", test_scalar_reject},
        {"P-256 codecs, ECDH, raw ECDSA", test_p256_roundtrip},
        {"brainpoolP256r1 codecs, ECDH, raw ECDSA", test_brainpool_roundtrip},
        {"mixed and unsupported curves", test_mixed_curves},
        {"PEM save (0600) / load", test_pem},
    };
    TU_ADD_SUITE("ec", tests);
}
