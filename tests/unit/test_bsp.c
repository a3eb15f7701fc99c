/* Unit tests: SGP.22 BSP (crypto/bsp.h) - KDF and segment KATs (pySim mode51, research §3),
 * the Appendix A golden vector in full, PPK mode, receiver checks (MAC, counter, padding),
 * size limits. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/buf.h"
#include "crypto/bsp.h"
#include "crypto/ec.h"
#include "kat_bsp_ppk.h"
#include "testutil.h"
#include "tlv/tlv.h"

/* KDF row 2 (mode51), research §3.3 */
#define M51_SHS  "c9a993dd4879a8f7161f2085410edd4f9652f1df37be097ba96ba2ca6be528fe"
#define M51_EID  "89049032123451234512345678901235"
#define M51_SENC "472f5bfadd97f21d34f3ce9b51b92751"
#define M51_SMAC "9ec07f5b36a13e12a991d66e294e6242"
#define M51_MCV  "406d507b448a699e7a36a38494debbde"

/* research §3.6 */
#define M51_87_ISDP "8718f6fe031e4b9cfe87c8e1e62f3fde85c49412d7722a6a2d89"
#define M51_META                                                                                   \
    "bf252d5a0a98001032547698103214910947534d415f54455354921147534d415f544553545f50524f46494c45"   \
    "950100"
#define M51_88_META "8838" M51_META "8a62cc9adbb5ccbc"
#define M51_RSK                                                                                    \
    "bf2636"                                                                                       \
    "8010000102030405060708090a0b0c0d0e0f"                                                         \
    "8110010102030405060708090a0b0c0d0e0f"                                                         \
    "8210020102030405060708090a0b0c0d0e0f"
#define M51_87_RSK                                                                                 \
    "8748a14c800a001992351cd46ad2945654674369701d82b7b46567652bc8fbed"                             \
    "234939fc57fba748015525fd6c651e9d3d1330652d42a0cfad950e912122af4e"                             \
    "c5362d3c0bc535729c40"

/* Appendix A */
#define GA_EUICC_OTSK "3cde55ef5b8ca852ac1a821b252bca6cb2eba92cdf8620740fd16d7db24d2021"
#define GA_SMDPF_OTSK "78dd7659e2cc3beedd1d1de57af9c206aa8cf6335c2d20587480a6628ffde0e7"
#define GA_Z          "cdcefe123ba8a922c2a7d60a3977d3a83469b0ebf0ed8d35f4f647ffff532bc4"
#define GA_SI         "881009494650502d544553541089049032123451234512345678901235"
#define GA_MCV        "f9dcd822b028c0eef7f93b9a7cc04ed6"
#define GA_SENC       "38dab7664b4467ceb53a7c33b9c18a47"
#define GA_SMAC       "ef3b385d2c27688cb29d2ae9ca35b9a4"
#define GA_87         "8718d5f9325e10f002aa5bdcd52c3a5bcd88d1fe26d53641c4ae"
#define GA_META       "bf25215a0a980010325476981032149106546573745350920b5465737450726f66696c65"
#define GA_88         "882c" GA_META "ea5e54876443bacf"
#define GA_86                                                                                      \
    "863810598bcc748f68749990d10c33605edf9beb166cb7a692d0dd36e714646e946377b41fd649ea1624"         \
    "f4ce5ebc0763e8d7bb2c4e4d388c774c"

static void keys_from_hex(bsp_keys_t *k, const char *mcv, const char *enc, const char *mac) {
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(mcv, k->mcv, 16), ST_OK);
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(enc, k->s_enc, 16), ST_OK);
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(mac, k->s_mac, 16), ST_OK);
}

static void m51_keys(bsp_keys_t *k) {
    keys_from_hex(k, M51_MCV, M51_SENC, M51_SMAC);
}

static void ga_keys(bsp_keys_t *k) {
    keys_from_hex(k, GA_MCV, GA_SENC, GA_SMAC);
}

static void test_shared_info(void) {
    uint8_t eid[16], si[64];
    const uint8_t host[8] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};
    size_t n;
    /* KDF row 1: SharedInfo given in full */
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact("89049032123451234512345678901335", eid, 16), ST_OK);
    n = bsp_shared_info(0x88, 0x10, host, sizeof(host), eid, si);
    TU_ASSERT_HEX(si, n,
                  "881008"
                  "8080808080808080"
                  "1089049032123451234512345678901335");
    /* Appendix A */
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(M51_EID, eid, 16), ST_OK);
    n = bsp_shared_info(0x88, 0x10, (const uint8_t *)"IFPP-TEST", 9, eid, si);
    TU_ASSERT_HEX(si, n, GA_SI);
    /* hostId > 16 bytes */
    CU_ASSERT_EQUAL(bsp_shared_info(0x88, 0x10, (const uint8_t *)"0123456789abcdefX", 17, eid, si),
                    0);
}

static void test_kdf_mode51(void) {
    uint8_t z[32], eid[16];
    const uint8_t host[8] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};
    bsp_keys_t k;
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(M51_SHS, z, 32), ST_OK);
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(M51_EID, eid, 16), ST_OK);
    CU_ASSERT_EQUAL_FATAL(bsp_kdf(z, 32, 0x88, 0x10, host, sizeof(host), eid, &k), ST_OK);
    TU_ASSERT_HEX(k.s_enc, 16, M51_SENC);
    TU_ASSERT_HEX(k.s_mac, 16, M51_SMAC);
    TU_ASSERT_HEX(k.mcv, 16, M51_MCV);
    CU_ASSERT_EQUAL(bsp_kdf(z, 32, 0x88, 0x10, (const uint8_t *)"0123456789abcdefX", 17, eid, &k),
                    ST_E_INVAL);
    CU_ASSERT_EQUAL(bsp_kdf(NULL, 0, 0x88, 0x10, host, 8, eid, &k), ST_E_INVAL);
    mem_wipe(&k, sizeof(k));
}

/* research §3.6: 87 ConfigureISDP (n=1), 88 StoreMetadata (n=2), 87 ReplaceSessionKeys (n=3) */
static void test_segments_mode51(void) {
    bsp_keys_t k;
    bsp_t *b;
    buf_t out = BUF_INIT, meta = tu_hex(M51_META), rsk = tu_hex(M51_RSK);
    const uint8_t isdp[] = {0xBF, 0x24, 0x00};

    m51_keys(&k);
    b = bsp_new(&k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(bsp_counter(b), 1);
    CU_ASSERT_EQUAL(bsp_wrap_enc(b, BSP_TAG_ENC, isdp, sizeof(isdp), &out), ST_OK);
    TU_ASSERT_HEX(out.data, out.len, M51_87_ISDP);
    buf_reset(&out);
    CU_ASSERT_EQUAL(bsp_wrap_mac(b, meta.data, meta.len, &out), ST_OK);
    TU_ASSERT_HEX(out.data, out.len, M51_88_META);
    buf_reset(&out);
    CU_ASSERT_EQUAL(bsp_counter(b), 3); /* the MAC-only segment stepped the counter */
    CU_ASSERT_EQUAL(bsp_wrap_enc(b, BSP_TAG_ENC, rsk.data, rsk.len, &out), ST_OK);
    TU_ASSERT_HEX(out.data, out.len, M51_87_RSK);
    CU_ASSERT_EQUAL(bsp_counter(b), 4);
    bsp_free(b);
    buf_free(&out);
    buf_free(&meta);
    buf_free(&rsk);
}

/* PPK mode: a fresh context from the ReplaceSessionKeys values, counter 1 (research §3.8). */
static void test_ppk_mode51(void) {
    bsp_keys_t sk, pk;
    bsp_t *s = NULL, *r = NULL, *ppk = NULL, *rppk = NULL;
    buf_t rsk = tu_hex(M51_RSK), p0 = tu_hex(KAT_PPK_PLAIN0), p1 = tu_hex(KAT_PPK_PLAIN1);
    buf_t out = BUF_INIT, plain = BUF_INIT, wire = BUF_INIT;
    const uint8_t isdp[] = {0xBF, 0x24, 0x00};
    buf_t meta = tu_hex(M51_META);
    tlv_t t, f;

    CU_ASSERT_EQUAL_FATAL(p0.len, 1007);
    m51_keys(&sk);
    s = bsp_new(&sk);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(bsp_wrap_enc(s, BSP_TAG_ENC, isdp, 3, &wire), ST_OK);
    CU_ASSERT_EQUAL(bsp_wrap_mac(s, meta.data, meta.len, &wire), ST_OK);
    CU_ASSERT_EQUAL(bsp_wrap_enc(s, BSP_TAG_ENC, rsk.data, rsk.len, &wire), ST_OK);

    /* ReplaceSessionKeys values -> PPK context */
    memcpy(pk.mcv, rsk.data + 5, 16);
    memcpy(pk.s_enc, rsk.data + 23, 16);
    memcpy(pk.s_mac, rsk.data + 41, 16);
    ppk = bsp_new(&pk);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ppk);
    CU_ASSERT_EQUAL(bsp_counter(ppk), 1);
    CU_ASSERT_EQUAL(bsp_wrap_enc(ppk, BSP_TAG_PPP, p0.data, p0.len, &out), ST_OK);
    CU_ASSERT_EQUAL(out.len, BSP_MAX_TLV);
    TU_ASSERT_HEX(out.data, out.len, KAT_PPK_OUT0);
    buf_append(&wire, out.data, out.len);
    buf_reset(&out);
    CU_ASSERT_EQUAL(bsp_wrap_enc(ppk, BSP_TAG_PPP, p1.data, p1.len, &out), ST_OK);
    TU_ASSERT_HEX(out.data, out.len, KAT_PPK_OUT1);
    buf_append(&wire, out.data, out.len);

    /* Receiver: session keys for 87/88/87, then switch to the PPKs it decrypted. */
    r = bsp_new(&sk);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const uint8_t *p = wire.data;
    size_t left = wire.len;
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(tlv_parse(p, left, &t), ST_OK);
        buf_reset(&plain);
        CU_ASSERT_EQUAL_FATAL(bsp_unwrap(r, t.raw, t.raw_len, &plain), ST_OK);
        p += t.raw_len;
        left -= t.raw_len;
    }
    TU_ASSERT_HEX(plain.data, plain.len, M51_RSK);
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(plain.data, plain.len, &t), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&t, 0x80, &f), ST_OK);
    memcpy(pk.mcv, f.value, 16);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&t, 0x81, &f), ST_OK);
    memcpy(pk.s_enc, f.value, 16);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&t, 0x82, &f), ST_OK);
    memcpy(pk.s_mac, f.value, 16);
    rppk = bsp_new(&pk);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rppk);
    buf_reset(&plain);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL_FATAL(tlv_parse(p, left, &t), ST_OK);
        CU_ASSERT_EQUAL_FATAL(bsp_unwrap(rppk, t.raw, t.raw_len, &plain), ST_OK);
        p += t.raw_len;
        left -= t.raw_len;
    }
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_EQUAL_FATAL(plain.len, 2014);
    CU_ASSERT_EQUAL(memcmp(plain.data, p0.data, 1007), 0);
    CU_ASSERT_EQUAL(memcmp(plain.data + 1007, p1.data, 1007), 0);
    CU_ASSERT_EQUAL(bsp_counter(rppk), 3);

    bsp_free(s);
    bsp_free(r);
    bsp_free(ppk);
    bsp_free(rppk);
    buf_free(&rsk);
    buf_free(&p0);
    buf_free(&p1);
    buf_free(&meta);
    buf_free(&out);
    buf_wipe_free(&plain);
    buf_free(&wire);
}

/* Appendix A in full: Z from the two private keys, SharedInfo, keys, 87/88/86. */
static void test_golden_vector(void) {
    uint8_t d[32], z[EC_SHARED_LEN], z2[EC_SHARED_LEN], eid[16];
    EVP_PKEY *e = NULL, *s = NULL;
    bsp_keys_t k;
    bsp_t *b = NULL, *r = NULL;
    buf_t out = BUF_INIT, plain = BUF_INIT, meta = tu_hex(GA_META);
    uint8_t upp[40];
    const uint8_t isdp[] = {0xBF, 0x24, 0x00};
    const char *segs[3] = {GA_87, GA_88, GA_86};

    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(GA_EUICC_OTSK, d, 32), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_privkey_from_scalar(EC_CURVE_P256, d, &e), ST_OK);
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(GA_SMDPF_OTSK, d, 32), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_privkey_from_scalar(EC_CURVE_P256, d, &s), ST_OK);
    CU_ASSERT_EQUAL(ec_ecdh(s, e, z), ST_OK);
    CU_ASSERT_EQUAL(ec_ecdh(e, s, z2), ST_OK);
    TU_ASSERT_HEX(z, 32, GA_Z);
    TU_ASSERT_HEX(z2, 32, GA_Z);

    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(M51_EID, eid, 16), ST_OK);
    CU_ASSERT_EQUAL_FATAL(bsp_kdf(z, 32, 0x88, 0x10, (const uint8_t *)"IFPP-TEST", 9, eid, &k),
                          ST_OK);
    TU_ASSERT_HEX(k.mcv, 16, GA_MCV);
    TU_ASSERT_HEX(k.s_enc, 16, GA_SENC);
    TU_ASSERT_HEX(k.s_mac, 16, GA_SMAC);

    for (size_t i = 0; i < sizeof(upp); i++)
        upp[i] = (uint8_t)i;
    b = bsp_new(&k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(bsp_wrap_enc(b, BSP_TAG_ENC, isdp, 3, &out), ST_OK);
    TU_ASSERT_HEX(out.data, out.len, GA_87);
    buf_reset(&out);
    CU_ASSERT_EQUAL(bsp_wrap_mac(b, meta.data, meta.len, &out), ST_OK);
    TU_ASSERT_HEX(out.data, out.len, GA_88);
    buf_reset(&out);
    CU_ASSERT_EQUAL(bsp_counter(b), 3);
    CU_ASSERT_EQUAL(bsp_wrap_enc(b, BSP_TAG_PPP, upp, sizeof(upp), &out), ST_OK);
    TU_ASSERT_HEX(out.data, out.len, GA_86);

    /* the eUICC side recovers the three plaintexts */
    r = bsp_new(&k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (int i = 0; i < 3; i++) {
        buf_t w = tu_hex(segs[i]);
        buf_reset(&plain);
        CU_ASSERT_EQUAL(bsp_unwrap(r, w.data, w.len, &plain), ST_OK);
        if (i == 0)
            TU_ASSERT_HEX(plain.data, plain.len, "BF2400");
        else if (i == 1)
            TU_ASSERT_HEX(plain.data, plain.len, GA_META);
        else
            CU_ASSERT(plain.len == sizeof(upp) && memcmp(plain.data, upp, sizeof(upp)) == 0);
        buf_free(&w);
    }
    CU_ASSERT_EQUAL(bsp_counter(r), 4);

    mem_wipe(&k, sizeof(k));
    mem_wipe(d, sizeof(d));
    EVP_PKEY_free(e);
    EVP_PKEY_free(s);
    bsp_free(b);
    bsp_free(r);
    buf_free(&out);
    buf_free(&meta);
    buf_wipe_free(&plain);
}

/* Sender and receiver over a mix of sizes, including the padding edge cases. */
static void test_roundtrip(void) {
    static const size_t enc_sizes[] = {0, 1, 15, 16, 17, 31, 32, 500, 1007};
    bsp_keys_t k;
    bsp_t *s, *r;
    uint8_t data[BSP_MAX_MAC_PLAIN];
    buf_t out = BUF_INIT, plain = BUF_INIT;

    CU_ASSERT_EQUAL_FATAL(RAND_bytes((unsigned char *)&k, sizeof(k)), 1);
    CU_ASSERT_EQUAL_FATAL(RAND_bytes(data, sizeof(data)), 1);
    data[14] = 0x80; /* plaintexts that end in 80 00.. must survive the padding strip */
    data[15] = 0x00;
    s = bsp_new(&k);
    r = bsp_new(&k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (size_t i = 0; i < sizeof(enc_sizes) / sizeof(enc_sizes[0]); i++) {
        size_t n = enc_sizes[i];
        buf_reset(&out);
        buf_reset(&plain);
        CU_ASSERT_EQUAL_FATAL(bsp_wrap_enc(s, i % 2 ? BSP_TAG_ENC : BSP_TAG_PPP, data, n, &out),
                              ST_OK);
        CU_ASSERT_EQUAL(out.len,
                        tlv_header_len(0x86, (n / 16 + 1) * 16 + 8) + (n / 16 + 1) * 16 + 8);
        CU_ASSERT_EQUAL_FATAL(bsp_unwrap(r, out.data, out.len, &plain), ST_OK);
        CU_ASSERT(plain.len == n && (n == 0 || memcmp(plain.data, data, n) == 0));
        /* a MAC-only segment in between */
        buf_reset(&out);
        buf_reset(&plain);
        CU_ASSERT_EQUAL_FATAL(bsp_wrap_mac(s, data, n + 1, &out), ST_OK);
        CU_ASSERT_EQUAL_FATAL(bsp_unwrap(r, out.data, out.len, &plain), ST_OK);
        CU_ASSERT(plain.len == n + 1 && memcmp(plain.data, data, n + 1) == 0);
    }
    CU_ASSERT_EQUAL(bsp_counter(s), bsp_counter(r));
    CU_ASSERT_EQUAL(bsp_counter(s), 1 + 2 * 9);
    /* appending keeps what was in the output buffer */
    buf_reset(&plain);
    buf_append(&plain, "x", 1);
    buf_reset(&out);
    CU_ASSERT_EQUAL(bsp_wrap_enc(s, BSP_TAG_PPP, data, 20, &out), ST_OK);
    CU_ASSERT_EQUAL(bsp_unwrap(r, out.data, out.len, &plain), ST_OK);
    CU_ASSERT(plain.len == 21 && plain.data[0] == 'x' && memcmp(plain.data + 1, data, 20) == 0);
    bsp_free(s);
    bsp_free(r);
    bsp_free(NULL);
    buf_free(&out);
    buf_wipe_free(&plain);
    mem_wipe(&k, sizeof(k));
}

static void test_wrong_mac(void) {
    bsp_keys_t k;
    bsp_t *r;
    buf_t w = tu_hex(GA_87), plain = BUF_INIT;
    ga_keys(&k);

    w.data[w.len - 1] ^= 0x01; /* last MAC byte */
    r = bsp_new(&k);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w.data, w.len, &plain), ST_E_BAD_MAC);
    CU_ASSERT_EQUAL(plain.len, 0);
    CU_ASSERT_EQUAL(bsp_counter(r), 1);
    /* the chain is broken: even the correct segment is refused now */
    w.data[w.len - 1] ^= 0x01;
    CU_ASSERT_EQUAL(bsp_unwrap(r, w.data, w.len, &plain), ST_E_STATE);
    CU_ASSERT_EQUAL(bsp_wrap_mac(r, w.data, 3, &plain), ST_E_STATE);
    bsp_free(r);

    /* a flipped ciphertext bit is a MAC failure too (MAC before decryption) */
    r = bsp_new(&k);
    w.data[5] ^= 0x40;
    CU_ASSERT_EQUAL(bsp_unwrap(r, w.data, w.len, &plain), ST_E_BAD_MAC);
    bsp_free(r);
    w.data[5] ^= 0x40;

    /* a re-encoded (non-minimal) length header changes the MAC input: refused */
    {
        buf_t nm = BUF_INIT;
        buf_append_byte(&nm, 0x87);
        buf_append_byte(&nm, 0x81);
        buf_append(&nm, w.data + 1, w.len - 1);
        r = bsp_new(&k);
        CU_ASSERT_EQUAL(bsp_unwrap(r, nm.data, nm.len, &plain), ST_E_BAD_MAC);
        bsp_free(r);
        buf_free(&nm);
    }
    /* wrong keys (e.g. KDF with another EID) */
    k.s_mac[0] ^= 1;
    r = bsp_new(&k);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w.data, w.len, &plain), ST_E_BAD_MAC);
    bsp_free(r);
    buf_free(&w);
    buf_free(&plain);
}

/* Skipping a segment: the receiver's MCV/counter no longer match. */
static void test_wrong_counter(void) {
    bsp_keys_t k;
    bsp_t *r;
    buf_t w88 = tu_hex(GA_88), w86 = tu_hex(GA_86), w87 = tu_hex(GA_87), plain = BUF_INIT;
    ga_keys(&k);
    r = bsp_new(&k);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w87.data, w87.len, &plain), ST_OK);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w86.data, w86.len, &plain), ST_E_BAD_MAC); /* 88 skipped */
    bsp_free(r);
    /* replaying the first segment after it */
    r = bsp_new(&k);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w87.data, w87.len, &plain), ST_OK);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w87.data, w87.len, &plain), ST_E_BAD_MAC);
    bsp_free(r);
    /* out of order from the start */
    r = bsp_new(&k);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w88.data, w88.len, &plain), ST_E_BAD_MAC);
    bsp_free(r);
    buf_free(&w88);
    buf_free(&w86);
    buf_free(&w87);
    buf_free(&plain);
}

/* Builds an 86 TLV with a valid MAC over arbitrary block-aligned "padded" plaintext, so the
 * receiver gets past the MAC and must reject the padding. Counter 1, MCV from k. */
static void forge_86(const bsp_keys_t *k, const uint8_t *padded, size_t n, int encrypt,
                     buf_t *out) {
    uint8_t ctr[16] = {0}, icv[16], mac[16];
    int l1 = 0, l2 = 0;
    size_t ml = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *mc = EVP_MAC_CTX_new(m);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0),
        OSSL_PARAM_construct_end()};
    size_t start = out->len, hl;
    uint8_t *p;

    ctr[15] = 1;
    hl = tlv_header_len(0x86, n + 8);
    p = buf_extend(out, hl + n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    tlv_put_header(p, 0x86, n + 8);
    if (encrypt) {
        CU_ASSERT_EQUAL(EVP_EncryptInit_ex2(c, EVP_aes_128_ecb(), k->s_enc, NULL, NULL), 1);
        EVP_CIPHER_CTX_set_padding(c, 0);
        CU_ASSERT_EQUAL(EVP_EncryptUpdate(c, icv, &l1, ctr, 16), 1);
        CU_ASSERT_EQUAL(EVP_EncryptInit_ex2(c, EVP_aes_128_cbc(), k->s_enc, icv, NULL), 1);
        EVP_CIPHER_CTX_set_padding(c, 0);
        CU_ASSERT_EQUAL(EVP_EncryptUpdate(c, p + hl, &l1, padded, (int)n), 1);
        CU_ASSERT_EQUAL(EVP_EncryptFinal_ex(c, p + hl + l1, &l2), 1);
    } else {
        memcpy(p + hl, padded, n);
    }
    CU_ASSERT_EQUAL(EVP_MAC_init(mc, k->s_mac, 16, params), 1);
    EVP_MAC_update(mc, k->mcv, 16);
    EVP_MAC_update(mc, out->data + start, hl + n);
    CU_ASSERT_EQUAL(EVP_MAC_final(mc, mac, &ml, 16), 1);
    buf_append(out, mac, 8);
    EVP_MAC_CTX_free(mc);
    EVP_MAC_free(m);
    EVP_CIPHER_CTX_free(c);
}

static void test_bad_padding(void) {
    bsp_keys_t k;
    bsp_t *r;
    uint8_t pad[32];
    buf_t w = BUF_INIT, plain = BUF_INIT;
    ga_keys(&k);

    /* sanity: the forger produces what bsp_wrap_enc produces for a proper padding */
    {
        bsp_t *s = bsp_new(&k);
        buf_t ref = BUF_INIT;
        memset(pad, 0, sizeof(pad));
        pad[0] = 0x41;
        pad[1] = 0x80;
        forge_86(&k, pad, 16, 1, &w);
        CU_ASSERT_EQUAL(bsp_wrap_enc(s, BSP_TAG_PPP, pad, 1, &ref), ST_OK);
        CU_ASSERT(ref.len == w.len && memcmp(ref.data, w.data, w.len) == 0);
        bsp_free(s);
        buf_free(&ref);
    }
    /* no 80 at all */
    memset(pad, 0, sizeof(pad));
    buf_reset(&w);
    forge_86(&k, pad, 16, 1, &w);
    r = bsp_new(&k);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w.data, w.len, &plain), ST_E_PARSE);
    CU_ASSERT_EQUAL(plain.len, 0);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w.data, w.len, &plain), ST_E_STATE);
    bsp_free(r);
    /* 80 followed by 16 zero bytes: more than a block of padding */
    pad[15] = 0x80;
    buf_reset(&w);
    forge_86(&k, pad, 32, 1, &w);
    r = bsp_new(&k);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w.data, w.len, &plain), ST_E_PARSE);
    bsp_free(r);
    /* last byte neither 00 nor 80 */
    memset(pad, 0, sizeof(pad));
    pad[15] = 0x81;
    buf_reset(&w);
    forge_86(&k, pad, 16, 1, &w);
    r = bsp_new(&k);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w.data, w.len, &plain), ST_E_PARSE);
    bsp_free(r);
    /* encrypted body not a multiple of the block size (valid MAC) */
    buf_reset(&w);
    forge_86(&k, pad, 10, 0, &w);
    r = bsp_new(&k);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w.data, w.len, &plain), ST_E_PARSE);
    bsp_free(r);
    /* empty encrypted body */
    buf_reset(&w);
    forge_86(&k, pad, 0, 0, &w);
    r = bsp_new(&k);
    CU_ASSERT_EQUAL(bsp_unwrap(r, w.data, w.len, &plain), ST_E_PARSE);
    bsp_free(r);
    CU_ASSERT_EQUAL(plain.len, 0);
    buf_free(&w);
    buf_free(&plain);
}

static void test_limits(void) {
    bsp_keys_t k;
    bsp_t *s, *r;
    uint8_t *data = calloc(1, 1100);
    buf_t out = BUF_INIT, plain = BUF_INIT;
    ga_keys(&k);
    s = bsp_new(&k);
    r = bsp_new(&k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);

    /* 1008 plaintext bytes cannot be encrypted into one segment */
    CU_ASSERT_EQUAL(bsp_wrap_enc(s, BSP_TAG_PPP, data, 1008, &out), ST_E_TOO_LARGE);
    CU_ASSERT_EQUAL(out.len, 0);
    CU_ASSERT_EQUAL(bsp_counter(s), 1);
    /* 1007 gives exactly a 1020-byte TLV: 86 82 03F8 + 1008 + 8 */
    CU_ASSERT_EQUAL(bsp_wrap_enc(s, BSP_TAG_PPP, data, 1007, &out), ST_OK);
    CU_ASSERT_EQUAL(out.len, 1020);
    TU_ASSERT_HEX(out.data, 4, "868203F8");
    CU_ASSERT_EQUAL(bsp_unwrap(r, out.data, out.len, &plain), ST_OK);
    CU_ASSERT_EQUAL(plain.len, 1007);
    /* MAC-only: 1008 ok (1020 B), 1009 too large */
    buf_reset(&out);
    CU_ASSERT_EQUAL(bsp_wrap_mac(s, data, 1009, &out), ST_E_TOO_LARGE);
    CU_ASSERT_EQUAL(bsp_wrap_mac(s, data, 1008, &out), ST_OK);
    CU_ASSERT_EQUAL(out.len, 1020);
    TU_ASSERT_HEX(out.data, 4, "888203F8");
    buf_reset(&plain);
    CU_ASSERT_EQUAL(bsp_unwrap(r, out.data, out.len, &plain), ST_OK);
    CU_ASSERT_EQUAL(plain.len, 1008);
    /* a received TLV over 1020 bytes */
    buf_reset(&out);
    tlv_buf_header(&out, 0x86, 1017);
    buf_append(&out, data, 1017);
    CU_ASSERT_EQUAL(out.len, 1021);
    CU_ASSERT_EQUAL(bsp_unwrap(r, out.data, out.len, &plain), ST_E_TOO_LARGE);
    /* malformed framing (state untouched: pre-MAC checks) */
    CU_ASSERT_EQUAL(bsp_unwrap(r, out.data, 10, &plain), ST_E_TRUNCATED);
    {
        const uint8_t trailing[] = {0x88, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0xFF};
        const uint8_t badtag[] = {0x85, 0x08, 1, 2, 3, 4, 5, 6, 7, 8};
        const uint8_t short_mac[] = {0x88, 0x07, 1, 2, 3, 4, 5, 6, 7};
        CU_ASSERT_EQUAL(bsp_unwrap(r, trailing, sizeof(trailing), &plain), ST_E_TRAILING);
        CU_ASSERT_EQUAL(bsp_unwrap(r, badtag, sizeof(badtag), &plain), ST_E_PARSE);
        CU_ASSERT_EQUAL(bsp_unwrap(r, short_mac, sizeof(short_mac), &plain), ST_E_PARSE);
    }
    CU_ASSERT_EQUAL(bsp_counter(r), 3);
    /* wrong tag for wrap_enc */
    CU_ASSERT_EQUAL(bsp_wrap_enc(s, BSP_TAG_MAC_ONLY, data, 1, &out), ST_E_INVAL);
    CU_ASSERT_EQUAL(bsp_counter(s), 3);
    bsp_free(s);
    bsp_free(r);
    free(data);
    buf_free(&out);
    buf_free(&plain);
}

void test_bsp_register(void) {
    static const tu_test_t tests[] = {
        {"SharedInfo (KDF row 1, Appendix A)", test_shared_info},
        {"KDF KAT (mode51)", test_kdf_mode51},
        {"segment KATs 87/88/87 (mode51)", test_segments_mode51},
        {"PPK mode: counter reset, 86 KATs (mode51)", test_ppk_mode51},
        {"golden vector (Appendix A) in full", test_golden_vector},
        {"wrap/unwrap round trips", test_roundtrip},
        {"wrong MAC breaks the chain", test_wrong_mac},
        {"wrong counter (skipped/replayed segment)", test_wrong_counter},
        {"bad padding behind a valid MAC", test_bad_padding},
        {"size limits 1007/1008/1020", test_limits},
    };
    TU_ADD_SUITE("bsp", tests);
}
