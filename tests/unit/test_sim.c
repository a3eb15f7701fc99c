/*
 * Unit tests: the simulated eUICC (tests/testkit/euicc) driven through card_process_apdu():
 * ISO 7816 layer (ATR, channels, SELECT, STORE DATA, GET RESPONSE, T=0 mode, block size),
 * ES10 functions and the ES10f gating, LoadBoundProfilePackage end to end with BPPs from the
 * test SM-DPf's builder (tests/testkit/bpp_build.c) segmented by the station's bpp_segments(),
 * the research Appendix A golden vector, every SGP.22 rejection with its exact
 * (bppCommandId, errorReason), persistence and the fault knobs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "../testkit/bpp_build.h"
#include "base/buf.h"
#include "card.h"
#include "crypto/cert.h"
#include "crypto/certgen.h"
#include "crypto/ec.h"
#include "faults.h"
#include "fmt/bpp.h"
#include "fmt/es10f.h"
#include "fmt/pir.h"
#include "state.h"
#include "testutil.h"
#include "tlv/tlv.h"

/* research Appendix A */
#define GA_EUICC_OTSK "3cde55ef5b8ca852ac1a821b252bca6cb2eba92cdf8620740fd16d7db24d2021"
#define GA_SMDPF_OTSK "78dd7659e2cc3beedd1d1de57af9c206aa8cf6335c2d20587480a6628ffde0e7"
#define GA_EID        "89049032123451234512345678901235"
#define GA_TID        "00112233445566778899aabbccddeeff"
#define GA_87         "8718d5f9325e10f002aa5bdcd52c3a5bcd88d1fe26d53641c4ae"
#define GA_META       "bf25215a0a980010325476981032149106546573745350920b5465737450726f66696c65"
#define GA_88         "882c" GA_META "ea5e54876443bacf"
#define GA_86                                                                                      \
    "863810598bcc748f68749990d10c33605edf9beb166cb7a692d0dd36e714646e946377b41fd649ea1624"         \
    "f4ce5ebc0763e8d7bb2c4e4d388c774c"

#define ISDR_AID "A0000005591010FFFFFFFF8900000100"
#define KEYS     6

/* ---- fixture: a GSMA-shaped PKI minted once ---- */

static struct {
    bool ready;
    EVP_PKEY *ci_key, *eum_key, *dppb_key, *dpauth_key, *dmca_key, *dm_key, *other_key;
    X509 *ci, *eum, *dppb, *dpauth, *dmca, *dm;
} fx;

static void fx_init(void) {
    if (fx.ready)
        return;
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.ci_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.eum_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.dppb_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.dpauth_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.dmca_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.dm_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.other_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_ci(fx.ci_key, "RSP Test", "Test CI", &fx.ci), ST_OK);
    CU_ASSERT_EQUAL_FATAL(
        certgen_eum(fx.ci, fx.ci_key, fx.eum_key, "RSP Test EUM", "89049032", &fx.eum), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_smdpf(fx.ci, fx.ci_key, fx.dppb_key, CERTGEN_DP_PB, "2.999.10",
                                        "ACME", "TEST SM-DPf", &fx.dppb),
                          ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_smdpf(fx.ci, fx.ci_key, fx.dpauth_key, CERTGEN_DP_AUTH,
                                        "2.999.10", "ACME", "TEST SM-DPf", &fx.dpauth),
                          ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_dm_ca(fx.dmca_key, "Test DM", "Test DM CA", &fx.dmca), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_dm(fx.dmca, fx.dmca_key, fx.dm_key, "Test DM", "DM-TEST", &fx.dm),
                          ST_OK);
    fx.ready = true;
}

static void test_zz_cleanup(void) {
    EVP_PKEY_free(fx.ci_key);
    EVP_PKEY_free(fx.eum_key);
    EVP_PKEY_free(fx.dppb_key);
    EVP_PKEY_free(fx.dpauth_key);
    EVP_PKEY_free(fx.dmca_key);
    EVP_PKEY_free(fx.dm_key);
    EVP_PKEY_free(fx.other_key);
    X509_free(fx.ci);
    X509_free(fx.eum);
    X509_free(fx.dppb);
    X509_free(fx.dpauth);
    X509_free(fx.dmca);
    X509_free(fx.dm);
    memset(&fx, 0, sizeof(fx));
}

static EVP_PKEY *scalar_key(const char *hex) {
    uint8_t d[EC_SCALAR_LEN];
    EVP_PKEY *k = NULL;
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(hex, d, sizeof(d)), ST_OK);
    CU_ASSERT_EQUAL(ec_privkey_from_scalar(EC_CURVE_P256, d, &k), ST_OK);
    return k;
}

/* A personalised card state: EID of Appendix A, key 1 = the Appendix A otSK, keys 2..n fresh. */
static card_state_t *mk_state(size_t nkeys) {
    card_state_t *s = card_state_new();
    fx_init();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(eid_from_str(GA_EID, s->eid), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &s->sk_euicc), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_euicc(fx.eum, fx.eum_key, s->sk_euicc, s->eid, &s->cert_euicc),
                          ST_OK);
    X509_up_ref(fx.eum);
    s->cert_eum = fx.eum;
    X509_up_ref(fx.dm);
    s->dm_cert = fx.dm;
    s->dm_pub = X509_get_pubkey(fx.dm);
    CU_ASSERT_EQUAL_FATAL(card_state_add_ci(s, fx.ci), ST_OK);
    for (size_t i = 1; i <= nkeys; i++) {
        EVP_PKEY *k = NULL;
        if (i == 1)
            k = scalar_key(GA_EUICC_OTSK);
        else
            CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &k), ST_OK);
        CU_ASSERT_EQUAL_FATAL(card_state_add_key(s, (uint32_t)i, k), ST_OK);
    }
    return s;
}

static card_t *mk_card_opts(const card_opts_t *o) {
    card_t *c = NULL;
    CU_ASSERT_EQUAL_FATAL(card_new(mk_state(KEYS), o, &c), ST_OK);
    card_power_on(c);
    return c;
}

static card_t *mk_card(void) {
    return mk_card_opts(NULL);
}

/* ---- APDU helpers ---- */

/* Sends one APDU; returns SW, data (without SW) into out when not NULL. */
static uint16_t tx(card_t *c, const uint8_t *apdu, size_t n, buf_t *out) {
    buf_t r = BUF_INIT;
    uint16_t sw = 0;
    CU_ASSERT_EQUAL(card_process_apdu(c, apdu, n, &r), ST_OK);
    CU_ASSERT_FATAL(r.len >= 2);
    sw = (uint16_t)(r.data[r.len - 2] << 8 | r.data[r.len - 1]);
    if (out) {
        buf_reset(out);
        buf_append(out, r.data, r.len - 2);
    }
    buf_free(&r);
    return sw;
}

static uint16_t txh(card_t *c, const char *hex, buf_t *out) {
    buf_t a = tu_hex(hex);
    uint16_t sw = tx(c, a.data, a.len, out);
    buf_free(&a);
    return sw;
}

static uint8_t cla_of(unsigned ch, bool proprietary) {
    uint8_t cla = (uint8_t)(ch < 4 ? ch : 0x40 | (ch - 4));
    return proprietary ? (uint8_t)(cla | 0x80) : cla;
}

/* Drains 61xx with GET RESPONSE (CLA 80|ch) appending to out. */
static uint16_t drain(card_t *c, unsigned ch, uint16_t sw, buf_t *out) {
    buf_t part = BUF_INIT;
    while ((sw >> 8) == 0x61) {
        uint8_t gr[5] = {cla_of(ch, true), 0xC0, 0x00, 0x00, (uint8_t)sw};
        sw = tx(c, gr, 5, &part);
        buf_append(out, part.data, part.len);
    }
    buf_free(&part);
    return sw;
}

/* One ES10 command as a STORE DATA sequence of `bs`-byte blocks (no Le), response drained. */
static uint16_t es10_bs(card_t *c, unsigned ch, const uint8_t *cmd, size_t n, size_t bs,
                        buf_t *out) {
    uint8_t a[5 + 255];
    uint16_t sw = 0;
    size_t off = 0;
    unsigned blk = 0;
    buf_reset(out);
    while (off < n) {
        size_t k = n - off < bs ? n - off : bs;
        bool last = off + k == n;
        a[0] = cla_of(ch, true);
        a[1] = 0xE2;
        a[2] = last ? 0x91 : 0x11;
        a[3] = (uint8_t)blk++;
        a[4] = (uint8_t)k;
        memcpy(a + 5, cmd + off, k);
        sw = tx(c, a, 5 + k, NULL);
        off += k;
        if (!last && sw != 0x9000)
            return sw;
    }
    return drain(c, ch, sw, out);
}

static uint16_t es10(card_t *c, unsigned ch, const uint8_t *cmd, size_t n, buf_t *out) {
    return es10_bs(c, ch, cmd, n, 120, out);
}

static uint16_t es10h(card_t *c, unsigned ch, const char *hex, buf_t *out) {
    buf_t a = tu_hex(hex);
    uint16_t sw = es10(c, ch, a.data, a.len, out);
    buf_free(&a);
    return sw;
}

/* MANAGE CHANNEL open + SELECT ISD-R on it; returns the channel. */
static unsigned open_isdr(card_t *c) {
    buf_t d = BUF_INIT;
    uint8_t sel[6 + 16] = {0, 0xA4, 0x04, 0x00, 0x10};
    unsigned ch;
    CU_ASSERT_EQUAL_FATAL(txh(c, "0070000001", &d), 0x9000);
    CU_ASSERT_EQUAL_FATAL(d.len, 1);
    ch = d.data[0];
    sel[0] = cla_of(ch, false);
    CU_ASSERT_EQUAL(hex_decode_exact(ISDR_AID, sel + 5, 16), ST_OK);
    sel[21] = 0x00;
    CU_ASSERT_EQUAL(tx(c, sel, sizeof(sel), &d), 0x9000);
    CU_ASSERT(d.len > 0 && d.data[0] == 0x6F);
    buf_free(&d);
    return ch;
}

/* The INTEGER of tag 80 in an ES10 response TAG { 80 ... }. */
static unsigned result_of(const buf_t *resp, uint32_t tag) {
    tlv_t t, r;
    uint64_t v = 999;
    if (tlv_parse_exact(resp->data, resp->len, &t) != ST_OK || t.tag != tag
        || tlv_find_child(&t, 0x80, &r) != ST_OK || tlv_get_uint(&r, &v) != ST_OK)
        return 999;
    return (unsigned)v;
}

/* GetEuiccChallenge + AuthoriseFpaServices signed by `key`; returns the FF40 result. */
static unsigned authorise_with(card_t *c, unsigned ch, EVP_PKEY *key) {
    buf_t d = BUF_INIT, tbs = BUF_INIT, req = BUF_INIT;
    uint8_t sig[EC_SIG_RAW_LEN];
    tlv_t t, ch80;
    unsigned r;
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2E00", &d), 0x9000);
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(d.data, d.len, &t), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&t, 0x80, &ch80), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ch80.len, 16);
    CU_ASSERT_EQUAL(es10f_auth_tbs(card_get_state(c)->eid, ch80.value, &tbs), ST_OK);
    CU_ASSERT_EQUAL(ec_sign_raw(key, tbs.data, tbs.len, sig), ST_OK);
    tlv_buf_header(&req, 0xFF40, 3 + 3 + 64);
    tlv_buf_put(&req, 0x80, "\x01", 1);
    tlv_buf_put(&req, 0x5F37, sig, sizeof(sig));
    CU_ASSERT_EQUAL(es10(c, ch, req.data, req.len, &d), 0x9000);
    r = result_of(&d, 0xFF40);
    buf_free(&d);
    buf_free(&tbs);
    buf_free(&req);
    return r;
}

static unsigned authorise(card_t *c, unsigned ch) {
    return authorise_with(c, ch, fx.dm_key);
}

/* PrepareLoad with `cert` and keyIndex; returns the FF41 result. */
static unsigned prepare(card_t *c, unsigned ch, uint32_t key, X509 *cert) {
    buf_t der = BUF_INIT, req = BUF_INIT, d = BUF_INIT;
    uint8_t idx = (uint8_t)key;
    unsigned r;
    CU_ASSERT_EQUAL(cert_to_der(cert, &der), ST_OK);
    tlv_buf_header(&req, 0xFF41, 3 + 3 + tlv_header_len(0xA0, der.len) + der.len);
    tlv_buf_put(&req, 0x80, "\x01", 1);
    tlv_buf_put(&req, 0x81, &idx, 1);
    tlv_buf_put(&req, 0xA0, der.data, der.len);
    CU_ASSERT_EQUAL(es10(c, ch, req.data, req.len, &d), 0x9000);
    r = result_of(&d, 0xFF41);
    buf_free(&der);
    buf_free(&req);
    buf_free(&d);
    return r;
}

static unsigned key_status(card_t *c, unsigned ch, uint32_t tag) {
    buf_t d = BUF_INIT;
    tlv_t t, v;
    uint64_t n = 999;
    CU_ASSERT_EQUAL(es10h(c, ch, "FF4303800101", &d), 0x9000);
    if (tlv_parse_exact(d.data, d.len, &t) == ST_OK && tlv_find_child(&t, tag, &v) == ST_OK)
        tlv_get_uint(&v, &n);
    buf_free(&d);
    return (unsigned)n;
}

/* ---- BPPs ---- */

typedef struct {
    uint32_t key;          /* one-time key the BPP is bound to */
    const char *iccid;     /* metadata ICCID digits (19) */
    const char *hdr_iccid; /* ProfileHeader ICCID digits, NULL: same */
    bool ppk;
    size_t upp_len;
} bpp_spec_t;

static void mk_bpp(card_t *c, const bpp_spec_t *sp, buf_t *bpp) {
    card_otk_t *k = card_state_find_key(card_get_state(c), sp->key);
    uint8_t hdr[TK_ICCID_LEN], meta_iccid[TK_ICCID_LEN], tid[16];
    buf_t meta = BUF_INIT, upp = BUF_INIT;
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_EQUAL_FATAL(tk_iccid_from_digits(sp->iccid, hdr), ST_OK);
    tk_iccid_swap(hdr, meta_iccid);
    CU_ASSERT_EQUAL_FATAL(tk_bpp_metadata(meta_iccid, "TestSP", "TestProfile", -1, &meta), ST_OK);
    if (sp->hdr_iccid)
        CU_ASSERT_EQUAL_FATAL(tk_iccid_from_digits(sp->hdr_iccid, hdr), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tk_upp_generate(hdr, "test", sp->upp_len ? sp->upp_len : 3000, &upp),
                          ST_OK);
    for (size_t i = 0; i < sizeof(tid); i++)
        tid[i] = (uint8_t)(0xA0 + i);
    tk_bpp_in_t in = {
        .dppb_key = fx.dppb_key,
        .euicc_otpk = k->otpk,
        .eid = card_get_state(c)->eid,
        .tid = tid,
        .tid_len = sizeof(tid),
        .host_id = (const uint8_t *)"IFPP-TEST",
        .host_id_len = 9,
        .metadata = meta.data,
        .metadata_len = meta.len,
        .upp = upp.data,
        .upp_len = upp.len,
        .ppk = sp->ppk,
    };
    buf_reset(bpp);
    CU_ASSERT_EQUAL_FATAL(tk_bpp_build(&in, bpp), ST_OK);
    buf_free(&meta);
    buf_free(&upp);
}

/* The station's own segmentation (SGP.22 §2.5.5). */
static size_t segments(const buf_t *bpp, bpp_segment_t **segs) {
    bpp_view_t v;
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(bpp_parse(bpp->data, bpp->len, &v), ST_OK);
    CU_ASSERT_EQUAL_FATAL(bpp_segments(&v, segs, &n), ST_OK);
    return n;
}

/* Sends segments until the first non-empty response (the BF37) or an error SW. */
static uint16_t load_segs(card_t *c, unsigned ch, const bpp_segment_t *segs, size_t n, buf_t *pir,
                          size_t *sent) {
    uint16_t sw = 0x9000;
    buf_reset(pir);
    *sent = 0;
    for (size_t i = 0; i < n; i++) {
        sw = es10_bs(c, ch, segs[i].p, segs[i].len, 255, pir);
        (*sent)++;
        if (sw != 0x9000 || pir->len)
            break;
    }
    return sw;
}

static uint16_t load(card_t *c, unsigned ch, const buf_t *bpp, buf_t *pir) {
    bpp_segment_t *segs = NULL;
    size_t n = segments(bpp, &segs), sent;
    uint16_t sw = load_segs(c, ch, segs, n, pir, &sent);
    free(segs);
    return sw;
}

/* Parses and verifies a BF37 with the card's CERT.EUICC. */
static void check_pir(card_t *c, const buf_t *pir, bool success, unsigned cmd, unsigned reason) {
    pir_view_t v;
    CU_ASSERT_EQUAL_FATAL(pir_parse(pir->data, pir->len, &v), ST_OK);
    CU_ASSERT_EQUAL(pir_verify(&v, X509_get0_pubkey(card_get_state(c)->cert_euicc)), ST_OK);
    CU_ASSERT_EQUAL(v.success, success);
    if (!success) {
        CU_ASSERT_EQUAL(v.error_cmd, cmd);
        CU_ASSERT_EQUAL(v.error_reason, reason);
        if (v.error_cmd != cmd || v.error_reason != reason)
            fprintf(stderr, "\n  PIR error (%u,%u), expected (%u,%u)\n", v.error_cmd,
                    v.error_reason, cmd, reason);
    }
}

/* FF40 + FF41(key) then the load; returns the PIR. */
static void authorise_prepare_load(card_t *c, unsigned ch, uint32_t key, const buf_t *bpp,
                                   buf_t *pir) {
    CU_ASSERT_EQUAL_FATAL(authorise(c, ch), ES10F_OK);
    CU_ASSERT_EQUAL_FATAL(prepare(c, ch, key, fx.dppb), ES10F_OK);
    CU_ASSERT_EQUAL(load(c, ch, bpp, pir), 0x9000);
}

/* Expects the load of bpp with key `key` armed to fail with (cmd, reason); key stays unused. */
static void expect_reject(card_t *c, unsigned ch, uint32_t key, const buf_t *bpp, unsigned cmd,
                          unsigned reason) {
    buf_t pir = BUF_INIT;
    size_t unused = card_state_count_keys(card_get_state(c), OTK_UNUSED);
    authorise_prepare_load(c, ch, key, bpp, &pir);
    CU_ASSERT_FATAL(pir.len > 0);
    check_pir(c, &pir, false, cmd, reason);
    CU_ASSERT_EQUAL(card_state_count_keys(card_get_state(c), OTK_UNUSED), unused);
    CU_ASSERT_EQUAL(card_get_state(c)->n_profiles, 0);
    buf_free(&pir);
}

/* Re-signs BF23 (after tampering) over otpk with SK.DPpb. */
static void resign(buf_t *bpp, const uint8_t *otpk) {
    bpp_view_t v;
    buf_t tbs = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(bpp_parse(bpp->data, bpp->len, &v), ST_OK);
    CU_ASSERT_EQUAL_FATAL(bpp_smdp_sign_tbs(&v, otpk, EC_POINT_LEN, &tbs), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_sign_raw(fx.dppb_key, tbs.data, tbs.len, (uint8_t *)v.smdp_sign.value),
                          ST_OK);
    buf_free(&tbs);
}

static const uint8_t *otpk_of(card_t *c, uint32_t key) {
    return card_state_find_key(card_get_state(c), key)->otpk;
}

/* ---- ISO 7816 layer ---- */

static void test_atr(void) {
    card_t *c = mk_card();
    uint8_t atr[CARD_MAX_ATR], x = 0;
    size_t n = card_atr(c, atr);
    CU_ASSERT(n >= 20);
    CU_ASSERT_EQUAL(atr[0], 0x3B);
    for (size_t i = 1; i < n; i++) /* TCK makes T0..TCK XOR to zero */
        x ^= atr[i];
    CU_ASSERT_EQUAL(x, 0);
    CU_ASSERT_EQUAL(atr[3] & 0x0F, 0); /* TD1: T=0 */
    CU_ASSERT_EQUAL(atr[4] & 0x0F, 1); /* TD2: T=1 */
    card_free(c);
}

static void test_channels(void) {
    card_t *c = mk_card();
    buf_t d = BUF_INIT;
    CU_ASSERT_EQUAL(txh(c, "80AA000005A903830107", NULL), 0x9000); /* TERMINAL CAPABILITY */
    for (unsigned i = 1; i < CARD_MAX_CHANNELS; i++) {
        CU_ASSERT_EQUAL(txh(c, "0070000001", &d), 0x9000);
        CU_ASSERT_EQUAL(d.len, 1);
        CU_ASSERT_EQUAL(d.data[0], i);
    }
    CU_ASSERT_EQUAL(txh(c, "0070000001", NULL), 0x6A81); /* none left */
    CU_ASSERT_EQUAL(txh(c, "0070800500", NULL), 0x9000);
    CU_ASSERT_EQUAL(txh(c, "0070800500", NULL), 0x6A86);               /* already closed */
    CU_ASSERT_EQUAL(txh(c, "41A4040010" ISDR_AID "00", NULL), 0x6881); /* CLA 41 = channel 5 */
    CU_ASSERT_EQUAL(txh(c, "0070000001", &d), 0x9000);
    CU_ASSERT_EQUAL(d.data[0], 5);
    CU_ASSERT_EQUAL(txh(c, "41A4040010" ISDR_AID "00", &d), 0x9000);
    CU_ASSERT_EQUAL(txh(c, "4F A4040010" ISDR_AID "00", &d), 0x9000); /* channel 19 */
    CU_ASSERT_EQUAL(txh(c, "C1E2910006BF3E035C015A", NULL), 0x6115);  /* ES10 on channel 5 */
    CU_ASSERT_EQUAL(txh(c, "0070800000", NULL), 0x6A86);              /* basic channel stays */
    card_reset(c); /* a reset closes every logical channel */
    CU_ASSERT_EQUAL(txh(c, "01A4040010" ISDR_AID "00", NULL), 0x6881);
    CU_ASSERT_EQUAL(txh(c, "0070000001", &d), 0x9000);
    CU_ASSERT_EQUAL(d.data[0], 1);
    CU_ASSERT_EQUAL(txh(c, "00700002 00", NULL), 0x9000); /* explicit open of channel 2 */
    CU_ASSERT_EQUAL(txh(c, "00700002 00", NULL), 0x6A86);
    CU_ASSERT_EQUAL(txh(c, "10A4040010" ISDR_AID, NULL), 0x6884); /* chaining */
    CU_ASSERT_EQUAL(txh(c, "00B0000000", NULL), 0x6D00);
    CU_ASSERT_EQUAL(txh(c, "FFA4040000", NULL), 0x6E00);
    buf_free(&d);
    card_free(c);
}

static void test_select(void) {
    card_t *c = mk_card();
    buf_t d = BUF_INIT, fci = BUF_INIT;
    tlv_t t, aid;
    CU_ASSERT_EQUAL(txh(c, "0070000001", NULL), 0x9000);
    CU_ASSERT_EQUAL(txh(c, "81E2910006BF3E035C015A", NULL), 0x6985); /* ISD-R not selected */
    CU_ASSERT_EQUAL(txh(c, "01A4040010A0000005591010FFFFFFFF8900000200", NULL), 0x6A82);
    /* case 3 (no Le): FCI via 61xx, GET RESPONSE with CLA 01 (ISO) */
    CU_ASSERT_EQUAL(txh(c, "01A4040010" ISDR_AID, &d), 0x6100 | 0x1A);
    CU_ASSERT_EQUAL(d.len, 0);
    CU_ASSERT_EQUAL(txh(c, "01C0000010", &d), 0x610A); /* partial read: 10 bytes left */
    buf_append(&fci, d.data, d.len);
    CU_ASSERT_EQUAL(txh(c, "01C000000A", &d), 0x9000);
    buf_append(&fci, d.data, d.len);
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(fci.data, fci.len, &t), ST_OK);
    CU_ASSERT_EQUAL(t.tag, 0x6F);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&t, 0x84, &aid), ST_OK);
    TU_ASSERT_HEX(aid.value, aid.len, ISDR_AID);
    CU_ASSERT_EQUAL(txh(c, "01C0000010", NULL), 0x6985); /* nothing pending */
    /* case 4 (Le 00): data + 9000 in T=1 mode; partial AID selects too */
    CU_ASSERT_EQUAL(txh(c, "01A4040010" ISDR_AID "00", &d), 0x9000);
    CU_ASSERT_EQUAL(d.len, fci.len);
    CU_ASSERT_EQUAL(txh(c, "01A404000CA0000005591010FFFFFFFF89", NULL), 0x611A);
    CU_ASSERT_EQUAL(txh(c, "81C000001A", &d), 0x9000); /* GET RESPONSE with CLA 81 */
    CU_ASSERT_EQUAL(d.len, 0x1A);
    CU_ASSERT_EQUAL(txh(c, "01A4040C10" ISDR_AID, NULL), 0x9000); /* P2 0C: no FCI */
    buf_free(&d);
    buf_free(&fci);
    card_free(c);
}

static void test_store_data(void) {
    card_opts_t o;
    card_t *c;
    buf_t d = BUF_INIT, cmd = BUF_INIT;
    unsigned ch;
    card_opts_default(&o);
    o.max_block = 64;
    c = mk_card_opts(&o);
    ch = open_isdr(c);
    /* GetEID in three blocks */
    CU_ASSERT_EQUAL(txh(c, "81E2110002BF3E", NULL), 0x9000);
    CU_ASSERT_EQUAL(txh(c, "81E2110102035C", NULL), 0x9000);
    CU_ASSERT_EQUAL(txh(c, "81E2910202015A", &d), 0x6115);
    CU_ASSERT_EQUAL(txh(c, "81C0000015", &d), 0x9000);
    TU_ASSERT_HEX(d.data, d.len, "BF3E125A10" GA_EID);
    /* Le 00 (case 4): answered at once in T=1 mode */
    CU_ASSERT_EQUAL(txh(c, "81E2910006BF3E035C015A00", &d), 0x9000);
    CU_ASSERT_EQUAL(d.len, 0x15);
    CU_ASSERT_EQUAL(txh(c, "81E2910006BF3E035C015A01", NULL), 0x6700); /* Le other than 00 */
    /* a block out of sequence aborts the command */
    CU_ASSERT_EQUAL(txh(c, "81E2110002BF3E", NULL), 0x9000);
    CU_ASSERT_EQUAL(txh(c, "81E2910202015A", NULL), 0x6A86);
    CU_ASSERT_EQUAL(txh(c, "81E2910102035C", NULL), 0x6A86);
    CU_ASSERT_EQUAL(txh(c, "81E2010006BF3E035C015A", NULL), 0x6A86); /* P1 */
    CU_ASSERT_EQUAL(txh(c, "01E2910006BF3E035C015A", NULL), 0x6E00); /* ISO CLA */
    /* max block knob: Lc 65 is refused, 64 accepted */
    for (int i = 0; i < 65; i++)
        buf_append_byte(&cmd, 0);
    cmd.data[0] = 0x81, cmd.data[1] = 0xE2, cmd.data[2] = 0x11, cmd.data[3] = 0, cmd.data[4] = 60;
    CU_ASSERT_EQUAL(tx(c, cmd.data, 65, NULL), 0x9000);
    buf_reset(&cmd);
    for (int i = 0; i < 70; i++)
        buf_append_byte(&cmd, 0);
    cmd.data[0] = 0x81, cmd.data[1] = 0xE2, cmd.data[2] = 0x11, cmd.data[3] = 1, cmd.data[4] = 65;
    CU_ASSERT_EQUAL(tx(c, cmd.data, 70, NULL), 0x6700);
    /* a reassembled object that is not one TLV */
    CU_ASSERT_EQUAL(txh(c, "81E2910003BF3E05", NULL), 0x6A80);
    CU_ASSERT_EQUAL(txh(c, "81E2910003BF9900", NULL), 0x6A80); /* unknown function */
    CU_ASSERT_EQUAL(es10_bs(c, ch, (const uint8_t *)"\xBF\x3E\x03\x5C\x01\x5A", 6, 1, &d), 0x9000);
    TU_ASSERT_HEX(d.data, d.len, "BF3E125A10" GA_EID);
    buf_free(&d);
    buf_free(&cmd);
    card_free(c);
}

static void test_t0_mode(void) {
    card_opts_t o;
    card_t *c;
    buf_t d = BUF_INIT;
    card_opts_default(&o);
    o.t0_only = true;
    c = mk_card_opts(&o);
    CU_ASSERT_EQUAL(txh(c, "0070000001", &d), 0x9000); /* 1 byte: within Le, kept simple */
    CU_ASSERT_EQUAL(txh(c, "01A4040010" ISDR_AID "00", &d), 0x611A); /* even with Le */
    CU_ASSERT_EQUAL(d.len, 0);
    CU_ASSERT_EQUAL(txh(c, "01C000001A", &d), 0x9000);
    CU_ASSERT_EQUAL(d.len, 0x1A);
    CU_ASSERT_EQUAL(txh(c, "81E2910006BF3E035C015A00", &d), 0x6115);
    CU_ASSERT_EQUAL(txh(c, "01C0000015", &d), 0x9000);
    TU_ASSERT_HEX(d.data, d.len, "BF3E125A10" GA_EID);
    buf_free(&d);
    card_free(c);
}

/* ---- ES10 ---- */

static void test_es10_info(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t d = BUF_INIT, ski = BUF_INIT;
    tlv_t t, a9, k;
    CU_ASSERT_EQUAL(es10h(c, ch, "BF3E035C015A", &d), 0x9000);
    TU_ASSERT_HEX(d.data, d.len, "BF3E125A10" GA_EID);
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2200", &d), 0x9000);
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(d.data, d.len, &t), ST_OK);
    CU_ASSERT_EQUAL(t.tag, 0xBF22);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&t, 0xA9, &a9), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&a9, 0x04, &k), ST_OK);
    CU_ASSERT_EQUAL(cert_get_ski(fx.ci, &ski), ST_OK);
    CU_ASSERT(k.len == ski.len && !memcmp(k.value, ski.data, ski.len));
    CU_ASSERT_EQUAL(tlv_find_child(&t, 0xAA, &a9), ST_OK);
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2000", &d), 0x9000);
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2D00", &d), 0x9000);
    TU_ASSERT_HEX(d.data, d.len, "BF2D02A000"); /* no profile yet */
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2B00", &d), 0x9000);
    TU_ASSERT_HEX(d.data, d.len, "BF2B02A000");
    CU_ASSERT_EQUAL(es10h(c, ch, "BF3003800101", &d), 0x9000);
    TU_ASSERT_HEX(d.data, d.len, "BF3003800101"); /* nothingToDelete */
    /* the challenge is fresh each time */
    {
        buf_t d2 = BUF_INIT;
        CU_ASSERT_EQUAL(es10h(c, ch, "BF2E00", &d), 0x9000);
        CU_ASSERT_EQUAL(es10h(c, ch, "BF2E00", &d2), 0x9000);
        CU_ASSERT_EQUAL(d.len, 21);
        CU_ASSERT(d.len == d2.len && memcmp(d.data, d2.data, d.len) != 0);
        buf_free(&d2);
    }
    buf_free(&d);
    buf_free(&ski);
    card_free(c);
}

static void test_authorise(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t d = BUF_INIT;
    /* no challenge */
    CU_ASSERT_EQUAL(es10h(c, ch,
                          "FF4046800101"
                          "5F3740"
                          "00000000000000000000000000000000"
                          "00000000000000000000000000000000"
                          "00000000000000000000000000000000"
                          "00000000000000000000000000000000",
                          &d),
                    0x9000);
    CU_ASSERT_EQUAL(result_of(&d, 0xFF40), ES10F_NO_CHALLENGE);
    /* a key that is not the DM's */
    CU_ASSERT_EQUAL(authorise_with(c, ch, fx.other_key), ES10F_INVALID_SIGNATURE);
    CU_ASSERT_EQUAL(prepare(c, ch, 2, fx.dppb), ES10F_NOT_AUTHORISED);
    CU_ASSERT_EQUAL(es10h(c, ch, "FF4203800101", &d), 0x9000);
    CU_ASSERT_EQUAL(result_of(&d, 0xFF42), ES10F_NOT_AUTHORISED);
    /* good signature */
    CU_ASSERT_EQUAL(authorise(c, ch), ES10F_OK);
    /* the challenge was single use: replaying the same request fails */
    CU_ASSERT_EQUAL(es10h(c, ch,
                          "FF4046800101"
                          "5F3740"
                          "00000000000000000000000000000000"
                          "00000000000000000000000000000000"
                          "00000000000000000000000000000000"
                          "00000000000000000000000000000000",
                          &d),
                    0x9000);
    CU_ASSERT_EQUAL(result_of(&d, 0xFF40), ES10F_NO_CHALLENGE);
    /* PrepareLoad: certificate role, unknown key */
    CU_ASSERT_EQUAL(prepare(c, ch, 2, fx.dpauth), ES10F_INVALID_CERTIFICATE);
    CU_ASSERT_EQUAL(prepare(c, ch, 2, fx.eum), ES10F_INVALID_CERTIFICATE);
    CU_ASSERT_EQUAL(prepare(c, ch, 99, fx.dppb), ES10F_UNKNOWN_KEY);
    CU_ASSERT_EQUAL(prepare(c, ch, 2, fx.dppb), ES10F_OK);
    /* a reset forgets the authorisation */
    card_reset(c);
    ch = open_isdr(c);
    CU_ASSERT_EQUAL(prepare(c, ch, 2, fx.dppb), ES10F_NOT_AUTHORISED);
    CU_ASSERT_EQUAL(es10h(c, ch, "FF4303800102", &d), 0x9000);
    CU_ASSERT_EQUAL(result_of(&d, 0xFF43), ES10F_UNSUPPORTED_VERSION);
    buf_free(&d);
    card_free(c);
}

static void test_gating(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t d = BUF_INIT, bpp = BUF_INIT, pir = BUF_INIT;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234"};
    uint8_t iccid[TK_ICCID_LEN], meta_iccid[TK_ICCID_LEN];
    char hex[64];

    /* while keys remain: LPA functions refused, FPA allowed */
    CU_ASSERT_EQUAL(es10h(c, ch, "BF3105A0035A0100", &d), 0x6985);
    CU_ASSERT_EQUAL(es10h(c, ch, "BF3205A0035A0100", &d), 0x6985);
    CU_ASSERT_EQUAL(es10h(c, ch, "BF33035A0100", &d), 0x6985);
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2100", &d), 0x6985);
    CU_ASSERT_EQUAL(key_status(c, ch, 0x81), KEYS);
    CU_ASSERT_EQUAL(key_status(c, ch, 0x82), KEYS);
    CU_ASSERT_EQUAL(key_status(c, ch, 0x84), 0);
    mk_bpp(c, &sp, &bpp);
    authorise_prepare_load(c, ch, 2, &bpp, &pir);
    check_pir(c, &pir, true, 0, 0);
    /* end of production */
    CU_ASSERT_EQUAL(authorise(c, ch), ES10F_OK);
    CU_ASSERT_EQUAL(es10h(c, ch, "FF4203800101", &d), 0x9000);
    CU_ASSERT_EQUAL(result_of(&d, 0xFF42), ES10F_OK);
    {
        tlv_t t, n;
        uint64_t v = 0;
        CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(d.data, d.len, &t), ST_OK);
        CU_ASSERT_EQUAL_FATAL(tlv_find_child(&t, 0x81, &n), ST_OK);
        tlv_get_uint(&n, &v);
        CU_ASSERT_EQUAL(v, KEYS - 1); /* key 2 was consumed */
    }
    CU_ASSERT_EQUAL(key_status(c, ch, 0x82), 0);
    CU_ASSERT_EQUAL(key_status(c, ch, 0x83), 1);
    CU_ASSERT_EQUAL(key_status(c, ch, 0x84), 1);
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2E00", &d), 0x9000);
    CU_ASSERT_EQUAL(es10h(c, ch,
                          "FF4046800101"
                          "5F3740"
                          "00000000000000000000000000000000"
                          "00000000000000000000000000000000"
                          "00000000000000000000000000000000"
                          "00000000000000000000000000000000",
                          &d),
                    0x6985);
    CU_ASSERT_EQUAL(es10h(c, ch, "FF4203800101", &d), 0x6985);
    CU_ASSERT_EQUAL(load(c, ch, &bpp, &pir), 0x6985);
    /* LPA functions now work on the profile store */
    CU_ASSERT_EQUAL(tk_iccid_from_digits(sp.iccid, iccid), ST_OK);
    tk_iccid_swap(iccid, meta_iccid);
    hex_encode(meta_iccid, sizeof(meta_iccid), hex);
    {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "BF3111A00C5A0A%s8101FF", hex);
        CU_ASSERT_EQUAL(es10h(c, ch, cmd, &d), 0x9000);
        TU_ASSERT_HEX(d.data, d.len, "BF3103800100");
        CU_ASSERT_TRUE(card_get_state(c)->profiles[0].enabled);
        CU_ASSERT_EQUAL(es10h(c, ch, cmd, &d), 0x9000);
        TU_ASSERT_HEX(d.data, d.len, "BF3103800102"); /* already enabled */
        snprintf(cmd, sizeof(cmd), "BF330C5A0A%s", hex);
        CU_ASSERT_EQUAL(es10h(c, ch, cmd, &d), 0x9000);
        TU_ASSERT_HEX(d.data, d.len, "BF3303800102"); /* enabled: not deleted */
        snprintf(cmd, sizeof(cmd), "BF3211A00C5A0A%s8101FF", hex);
        CU_ASSERT_EQUAL(es10h(c, ch, cmd, &d), 0x9000);
        TU_ASSERT_HEX(d.data, d.len, "BF3203800100");
        snprintf(cmd, sizeof(cmd), "BF330C5A0A%s", hex);
        CU_ASSERT_EQUAL(es10h(c, ch, cmd, &d), 0x9000);
        TU_ASSERT_HEX(d.data, d.len, "BF3303800100");
        CU_ASSERT_EQUAL(es10h(c, ch, cmd, &d), 0x9000);
        TU_ASSERT_HEX(d.data, d.len, "BF3303800101"); /* gone */
    }
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2100", &d), 0x9000); /* no SM-DP+ session on this card */
    buf_free(&d);
    buf_free(&bpp);
    buf_free(&pir);
    card_free(c);
}

/* ---- LoadBoundProfilePackage ---- */

static void check_installed(card_t *c, unsigned ch, const buf_t *pir) {
    buf_t d = BUF_INIT;
    tlv_t t, a0, e3, st;
    pir_view_t v;
    check_pir(c, pir, true, 0, 0);
    CU_ASSERT_EQUAL_FATAL(pir_parse(pir->data, pir->len, &v), ST_OK);
    TU_ASSERT_HEX(v.aid, v.aid_len, "A0000005591010FFFFFFFF8900001000");
    CU_ASSERT_TRUE(v.has_iccid);
    CU_ASSERT_EQUAL(v.seq_number, 1);
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2D00", &d), 0x9000);
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(d.data, d.len, &t), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&t, 0xA0, &a0), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&a0, 0xE3, &e3), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&e3, 0x9F70, &st), ST_OK);
    TU_ASSERT_HEX(st.value, st.len, "00"); /* installed disabled */
    CU_ASSERT_EQUAL(key_status(c, ch, 0x83), 1);
    /* the PIR is kept as a notification until NotificationSent */
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2B00", &d), 0x9000);
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(d.data, d.len, &t), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&t, 0xA0, &a0), ST_OK);
    CU_ASSERT(a0.len == pir->len && !memcmp(a0.value, pir->data, pir->len));
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2B05A003800101", &d), 0x9000); /* by seqNumber */
    CU_ASSERT(d.len > pir->len);
    CU_ASSERT_EQUAL(es10h(c, ch, "BF3003800101", &d), 0x9000);
    TU_ASSERT_HEX(d.data, d.len, "BF3003800100");
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2B00", &d), 0x9000);
    TU_ASSERT_HEX(d.data, d.len, "BF2B02A000");
    buf_free(&d);
}

static void test_install(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT, pir = BUF_INIT;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234", .upp_len = 12 * 1024};
    mk_bpp(c, &sp, &bpp);
    authorise_prepare_load(c, ch, 2, &bpp, &pir);
    check_installed(c, ch, &pir);
    CU_ASSERT_PTR_NULL(card_state_find_key(card_get_state(c), 2)->otsk); /* GENS08 */
    CU_ASSERT_EQUAL(card_state_find_key(card_get_state(c), 2)->state, OTK_CONSUMED);
    /* the armed PrepareLoad was spent */
    CU_ASSERT_EQUAL(load(c, ch, &bpp, &pir), 0x6985);
    buf_free(&bpp);
    buf_free(&pir);
    card_free(c);
}

static void test_install_ppk(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT, pir = BUF_INIT;
    bpp_spec_t sp = {.key = 3, .iccid = "8949440000000001234", .ppk = true, .upp_len = 5000};
    mk_bpp(c, &sp, &bpp);
    authorise_prepare_load(c, ch, 3, &bpp, &pir);
    check_installed(c, ch, &pir);
    buf_free(&bpp);
    buf_free(&pir);
    card_free(c);
}

/* Appendix A plaintexts collected through the test hook. */
typedef struct {
    buf_t part[6];
} plains_t;

static void on_plain(void *ud, unsigned cmd, const uint8_t *p, size_t n) {
    plains_t *pl = ud;
    if (cmd < 6)
        buf_append(&pl->part[cmd], p, n);
}

static void test_golden_vector(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    EVP_PKEY *otsk = scalar_key(GA_SMDPF_OTSK);
    buf_t eid = tu_hex(GA_EID), tid = tu_hex(GA_TID), meta = tu_hex(GA_META);
    buf_t bpp = BUF_INIT, pir = BUF_INIT;
    bpp_segment_t *segs = NULL;
    plains_t pl;
    uint8_t upp[40], want[40];
    size_t n, sent;
    memset(&pl, 0, sizeof(pl));
    for (size_t i = 0; i < sizeof(upp); i++)
        upp[i] = want[i] = (uint8_t)i;
    tk_bpp_in_t in = {
        .dppb_key = fx.dppb_key,
        .smdp_otsk = otsk,
        .euicc_otpk = otpk_of(c, 1),
        .eid = eid.data,
        .tid = tid.data,
        .tid_len = tid.len,
        .host_id = (const uint8_t *)"IFPP-TEST",
        .host_id_len = 9,
        .metadata = meta.data,
        .metadata_len = meta.len,
        .upp = upp,
        .upp_len = sizeof(upp),
    };
    CU_ASSERT_EQUAL_FATAL(tk_bpp_build(&in, &bpp), ST_OK);
    n = segments(&bpp, &segs);
    CU_ASSERT_EQUAL_FATAL(n, 6);                          /* BF36+BF23, A0+87, A1, 88, A3, 86 */
    TU_ASSERT_HEX(segs[1].p + 2, segs[1].len - 2, GA_87); /* A0 1A | '87' */
    TU_ASSERT_HEX(segs[3].p, segs[3].len, GA_88);
    TU_ASSERT_HEX(segs[5].p, segs[5].len, GA_86);
    card_set_plain_hook(c, on_plain, &pl);
    CU_ASSERT_EQUAL(authorise(c, ch), ES10F_OK);
    CU_ASSERT_EQUAL(prepare(c, ch, 1, fx.dppb), ES10F_OK);
    CU_ASSERT_EQUAL(load_segs(c, ch, segs, n, &pir, &sent), 0x9000);
    CU_ASSERT_EQUAL(sent, n);
    TU_ASSERT_HEX(pl.part[1].data, pl.part[1].len, "BF2400");
    TU_ASSERT_HEX(pl.part[2].data, pl.part[2].len, GA_META);
    CU_ASSERT(pl.part[5].len == sizeof(want) && !memcmp(pl.part[5].data, want, sizeof(want)));
    /* 00 01 .. 27 is no SAIP profile: the card refuses it after unbinding */
    check_pir(c, &pir, false, PIR_CMD_LOAD_PROFILE_ELEMENTS, PIR_ERR_PE_PROCESSING_ERROR);
    for (int i = 0; i < 6; i++)
        buf_free(&pl.part[i]);
    free(segs);
    EVP_PKEY_free(otsk);
    buf_free(&eid);
    buf_free(&tid);
    buf_free(&meta);
    buf_free(&bpp);
    buf_free(&pir);
    card_free(c);
}

/* ---- rejections, each with its SGP.22 (bppCommandId, errorReason) ---- */

static void test_reject_wrong_mac(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234"};
    mk_bpp(c, &sp, &bpp);
    bpp.data[bpp.len - 1] ^= 0x01; /* last byte of the last '86' MAC */
    expect_reject(c, ch, 2, &bpp, PIR_CMD_LOAD_PROFILE_ELEMENTS, PIR_ERR_SCP03T_SECURITY_ERROR);
    /* the key survived the failure: the genuine BPP installs afterwards */
    bpp.data[bpp.len - 1] ^= 0x01;
    {
        buf_t pir = BUF_INIT;
        authorise_prepare_load(c, ch, 2, &bpp, &pir);
        check_pir(c, &pir, true, 0, 0);
        buf_free(&pir);
    }
    buf_free(&bpp);
    card_free(c);
}

static void test_reject_reordered(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT, pir = BUF_INIT;
    bpp_segment_t *segs = NULL, tmp;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234", .upp_len = 3000};
    size_t n, sent;
    mk_bpp(c, &sp, &bpp);
    n = segments(&bpp, &segs);
    CU_ASSERT_FATAL(n >= 8); /* three '86' */
    tmp = segs[n - 1];
    segs[n - 1] = segs[n - 2];
    segs[n - 2] = tmp;
    CU_ASSERT_EQUAL(authorise(c, ch), ES10F_OK);
    CU_ASSERT_EQUAL(prepare(c, ch, 2, fx.dppb), ES10F_OK);
    CU_ASSERT_EQUAL(load_segs(c, ch, segs, n, &pir, &sent), 0x9000);
    CU_ASSERT_EQUAL(sent, n - 1); /* stops at the first '86' out of order */
    check_pir(c, &pir, false, PIR_CMD_LOAD_PROFILE_ELEMENTS, PIR_ERR_SCP03T_SECURITY_ERROR);
    free(segs);
    buf_free(&bpp);
    buf_free(&pir);
    card_free(c);
}

static void test_reject_wrong_key(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234"};
    mk_bpp(c, &sp, &bpp); /* bound to key 2, key 3 armed */
    expect_reject(c, ch, 3, &bpp, PIR_CMD_INITIALISE_SECURE_CHANNEL, PIR_ERR_INVALID_SIGNATURE);
    buf_free(&bpp);
    card_free(c);
}

static void test_reject_reused_key(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT, pir = BUF_INIT;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234"};
    mk_bpp(c, &sp, &bpp);
    authorise_prepare_load(c, ch, 2, &bpp, &pir);
    check_pir(c, &pir, true, 0, 0);
    /* the consumed key cannot be armed again ... */
    CU_ASSERT_EQUAL(authorise(c, ch), ES10F_OK);
    CU_ASSERT_EQUAL(prepare(c, ch, 2, fx.dppb), ES10F_KEY_CONSUMED);
    /* ... and the replayed BPP does not verify under any other key */
    CU_ASSERT_EQUAL(prepare(c, ch, 3, fx.dppb), ES10F_OK);
    CU_ASSERT_EQUAL(load(c, ch, &bpp, &pir), 0x9000);
    check_pir(c, &pir, false, PIR_CMD_INITIALISE_SECURE_CHANNEL, PIR_ERR_INVALID_SIGNATURE);
    CU_ASSERT_EQUAL(card_get_state(c)->n_profiles, 1);
    buf_free(&bpp);
    buf_free(&pir);
    card_free(c);
}

static void test_reject_sign_other_key(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234"};
    mk_bpp(c, &sp, &bpp);
    resign(&bpp, otpk_of(c, 3)); /* encrypted for key 2, smdpSign over key 3's otPK */
    expect_reject(c, ch, 2, &bpp, PIR_CMD_INITIALISE_SECURE_CHANNEL, PIR_ERR_INVALID_SIGNATURE);
    buf_free(&bpp);
    card_free(c);
}

static void test_reject_crt(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT;
    bpp_view_t v;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234"};
    mk_bpp(c, &sp, &bpp);
    CU_ASSERT_EQUAL_FATAL(bpp_parse(bpp.data, bpp.len, &v), ST_OK);
    CU_ASSERT_FATAL(!memcmp(v.crt.value, "\x80\x01\x88\x81\x01\x10", 6));
    ((uint8_t *)v.crt.value)[5] = 0x20; /* keyLen 32, signed by the SM-DPf */
    resign(&bpp, otpk_of(c, 2));
    expect_reject(c, ch, 2, &bpp, PIR_CMD_INITIALISE_SECURE_CHANNEL,
                  PIR_ERR_UNSUPPORTED_CRT_VALUES);
    buf_free(&bpp);
    card_free(c);
}

static void test_reject_remote_op(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT;
    bpp_view_t v;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234"};
    mk_bpp(c, &sp, &bpp);
    CU_ASSERT_EQUAL_FATAL(bpp_parse(bpp.data, bpp.len, &v), ST_OK);
    CU_ASSERT_FATAL(!memcmp(v.isc.value, "\x82\x01\x01", 3));
    ((uint8_t *)v.isc.value)[2] = 0x02;
    resign(&bpp, otpk_of(c, 2));
    expect_reject(c, ch, 2, &bpp, PIR_CMD_INITIALISE_SECURE_CHANNEL,
                  PIR_ERR_UNSUPPORTED_REMOTE_OPERATION_TYPE);
    buf_free(&bpp);
    card_free(c);
}

static void test_reject_segment_too_large(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT, big = BUF_INIT, pir = BUF_INIT, body = BUF_INIT;
    bpp_view_t v;
    bpp_segment_t segs[16];
    size_t n = 0, sent, off86;
    tlv_iter_t it;
    tlv_t t;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234"};
    mk_bpp(c, &sp, &bpp);
    CU_ASSERT_EQUAL_FATAL(bpp_parse(bpp.data, bpp.len, &v), ST_OK);
    /* BF36 { BF23, A0, A1, A3 { 86 82 0400 <1024 bytes> } }: one '86' of 1028 bytes */
    buf_append(&body, v.isc.raw, v.isc.raw_len);
    buf_append(&body, v.a0.raw, v.a0.raw_len);
    buf_append(&body, v.a1.raw, v.a1.raw_len);
    tlv_buf_header(&body, 0xA3, 4 + 1024);
    off86 = body.len;
    tlv_buf_header(&body, 0x86, 1024);
    for (int i = 0; i < 1024; i++)
        buf_append_byte(&body, (uint8_t)i);
    tlv_buf_header(&big, 0xBF36, body.len);
    {
        size_t h = big.len;
        buf_append(&big, body.data, body.len);
        /* segments by hand: bpp_segments() rightly refuses such a BPP */
        segs[n++] = (bpp_segment_t){big.data, h + v.isc.raw_len};
        segs[n++] = (bpp_segment_t){big.data + h + v.isc.raw_len, v.a0.raw_len};
        segs[n++] = (bpp_segment_t){big.data + h + v.isc.raw_len + v.a0.raw_len, v.a1.hdr_len};
        tlv_iter_children(&it, &v.a1);
        while (tlv_iter_next(&it, &t) == ST_OK)
            segs[n++] = (bpp_segment_t){big.data + h + (t.raw - v.isc.raw), t.raw_len};
        segs[n++] = (bpp_segment_t){big.data + h + off86 - 4, 4};
        segs[n++] = (bpp_segment_t){big.data + h + off86, 1028};
    }
    CU_ASSERT_EQUAL(authorise(c, ch), ES10F_OK);
    CU_ASSERT_EQUAL(prepare(c, ch, 2, fx.dppb), ES10F_OK);
    CU_ASSERT_EQUAL(load_segs(c, ch, segs, n, &pir, &sent), 0x9000);
    CU_ASSERT_EQUAL(sent, n);
    check_pir(c, &pir, false, PIR_CMD_LOAD_PROFILE_ELEMENTS, PIR_ERR_SCP03T_STRUCTURE_ERROR);
    buf_free(&bpp);
    buf_free(&big);
    buf_free(&body);
    buf_free(&pir);
    card_free(c);
}

static void test_reject_iccid_mismatch(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234", .hdr_iccid = "8949440000000005678"};
    mk_bpp(c, &sp, &bpp);
    expect_reject(c, ch, 2, &bpp, PIR_CMD_LOAD_PROFILE_ELEMENTS, PIR_ERR_DATA_MISMATCH);
    buf_free(&bpp);
    card_free(c);
}

static void test_reject_iccid_exists(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT, pir = BUF_INIT;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234"};
    pir_view_t v;
    mk_bpp(c, &sp, &bpp);
    authorise_prepare_load(c, ch, 2, &bpp, &pir);
    check_pir(c, &pir, true, 0, 0);
    sp.key = 3;
    mk_bpp(c, &sp, &bpp);
    authorise_prepare_load(c, ch, 3, &bpp, &pir);
    check_pir(c, &pir, false, PIR_CMD_STORE_METADATA, PIR_ERR_ICCID_ALREADY_EXISTS);
    CU_ASSERT_EQUAL_FATAL(pir_parse(pir.data, pir.len, &v), ST_OK);
    CU_ASSERT_TRUE(v.has_iccid);
    CU_ASSERT_EQUAL(v.seq_number, 2);
    CU_ASSERT_EQUAL(card_get_state(c)->n_profiles, 1);
    CU_ASSERT_EQUAL(card_state_find_key(card_get_state(c), 3)->state, OTK_UNUSED);
    buf_free(&bpp);
    buf_free(&pir);
    card_free(c);
}

static void test_interruption(void) {
    card_t *c = mk_card();
    unsigned ch = open_isdr(c);
    buf_t bpp = BUF_INIT, pir = BUF_INIT, d = BUF_INIT;
    bpp_segment_t *segs = NULL;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234"};
    size_t n, sent;
    tlv_t t, a0, bf37;
    pir_view_t v;
    mk_bpp(c, &sp, &bpp);
    n = segments(&bpp, &segs);
    CU_ASSERT_EQUAL(authorise(c, ch), ES10F_OK);
    CU_ASSERT_EQUAL(prepare(c, ch, 2, fx.dppb), ES10F_OK);
    CU_ASSERT_EQUAL(load_segs(c, ch, segs, 2, &pir, &sent), 0x9000); /* BF23 and A0 */
    CU_ASSERT_EQUAL(pir.len, 0);
    card_power_off(c); /* the card is pulled */
    card_power_on(c);
    ch = open_isdr(c);
    CU_ASSERT_EQUAL(es10h(c, ch, "BF2B00", &d), 0x9000);
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(d.data, d.len, &t), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&t, 0xA0, &a0), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&a0, 0xBF37, &bf37), ST_OK);
    CU_ASSERT_EQUAL_FATAL(pir_parse(bf37.raw, bf37.raw_len, &v), ST_OK);
    CU_ASSERT_FALSE(v.success);
    CU_ASSERT_EQUAL(v.error_cmd, PIR_CMD_STORE_METADATA);
    CU_ASSERT_EQUAL(v.error_reason, PIR_ERR_INTERRUPTION);
    CU_ASSERT_EQUAL(card_state_find_key(card_get_state(c), 2)->state, OTK_UNUSED);
    /* the rest of the BPP is refused: no session any more */
    CU_ASSERT_EQUAL(es10_bs(c, ch, segs[2].p, segs[2].len, 255, &d), 0x6985);
    free(segs);
    (void)n;
    buf_free(&bpp);
    buf_free(&pir);
    buf_free(&d);
    card_free(c);
}

/* ---- persistence and knobs ---- */

static void test_persistence(void) {
    char *dir = tu_tmpdir("sim");
    char sub[512];
    card_state_t *s = mk_state(3), *l = NULL;
    card_t *c = NULL;
    buf_t bpp = BUF_INIT, pir = BUF_INIT;
    bpp_spec_t sp = {.key = 2, .iccid = "8949440000000001234"};
    uint8_t pk3[EC_POINT_LEN];
    unsigned ch;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(sub, sizeof(sub), "%s/card", dir);
    CU_ASSERT_EQUAL_FATAL(card_state_save_all(s, sub), ST_OK);
    memcpy(pk3, card_state_find_key(s, 3)->otpk, sizeof(pk3));
    CU_ASSERT_EQUAL_FATAL(card_new(s, NULL, &c), ST_OK);
    ch = open_isdr(c);
    mk_bpp(c, &sp, &bpp);
    authorise_prepare_load(c, ch, 2, &bpp, &pir);
    check_pir(c, &pir, true, 0, 0);
    card_free(c);

    CU_ASSERT_EQUAL_FATAL(card_state_load(sub, &l), ST_OK);
    CU_ASSERT_EQUAL(l->n_keys, 3);
    CU_ASSERT_EQUAL(card_state_find_key(l, 2)->state, OTK_CONSUMED);
    CU_ASSERT_PTR_NULL(card_state_find_key(l, 2)->otsk);
    CU_ASSERT_PTR_NOT_NULL(card_state_find_key(l, 3)->otsk);
    CU_ASSERT(!memcmp(card_state_find_key(l, 3)->otpk, pk3, sizeof(pk3)));
    CU_ASSERT_EQUAL(l->n_profiles, 1);
    CU_ASSERT_EQUAL(l->n_notifs, 1);
    CU_ASSERT_EQUAL(l->seq, 1);
    CU_ASSERT(l->notifs[0].pir.len == pir.len && !memcmp(l->notifs[0].pir.data, pir.data, pir.len));
    CU_ASSERT_PTR_NOT_NULL(l->dm_pub);
    CU_ASSERT_EQUAL(sk_X509_num(l->ci), 1);
    /* the reloaded card still works: the same ICCID is refused now */
    CU_ASSERT_EQUAL_FATAL(card_new(l, NULL, &c), ST_OK);
    ch = open_isdr(c);
    sp.key = 3;
    mk_bpp(c, &sp, &bpp);
    authorise_prepare_load(c, ch, 3, &bpp, &pir);
    check_pir(c, &pir, false, PIR_CMD_STORE_METADATA, PIR_ERR_ICCID_ALREADY_EXISTS);
    card_free(c);
    tu_rmrf(dir);
    free(dir);
    buf_free(&bpp);
    buf_free(&pir);
}

static void test_faults(void) {
    card_knobs_t k;
    buf_t r = tu_hex("0102039000");
    memset(&k, 0, sizeof(k));
    CU_ASSERT_EQUAL(faults_parse("drop@3,corrupt@5,6f00@7,stall@9:250", &k), ST_OK);
    CU_ASSERT_EQUAL(k.n_faults, 4);
    CU_ASSERT_PTR_NOT_NULL(faults_find(&k, 3, FAULT_DROP));
    CU_ASSERT_PTR_NULL(faults_find(&k, 4, FAULT_DROP));
    CU_ASSERT_PTR_NOT_NULL(faults_find(&k, 7, FAULT_SW_6F00));
    CU_ASSERT_EQUAL(faults_find(&k, 9, FAULT_STALL)->stall_ms, 250);
    memset(&k, 0, sizeof(k));
    CU_ASSERT_EQUAL(faults_parse("bogus@1", &k), ST_E_PARSE);
    CU_ASSERT_EQUAL(faults_parse("drop@0", &k), ST_E_PARSE);
    CU_ASSERT_EQUAL(faults_parse("stall@2", &k), ST_E_PARSE);
    CU_ASSERT_EQUAL(faults_parse("drop@2:5", &k), ST_E_PARSE);
    k.latency_ms = 2;
    k.bps = 9600;
    CU_ASSERT_EQUAL(knobs_delay_us(&k, 96), 2000 + 100000);
    faults_corrupt(&r, 0);
    TU_ASSERT_HEX(r.data, r.len, "01FD039000");
    buf_free(&r);
}

void test_sim_register(void) {
    static const tu_test_t tests[] = {
        {"atr", test_atr},
        {"channels", test_channels},
        {"select_get_response", test_select},
        {"store_data", test_store_data},
        {"t0_mode", test_t0_mode},
        {"es10_info", test_es10_info},
        {"authorise_prepare", test_authorise},
        {"gating", test_gating},
        {"install", test_install},
        {"install_ppk", test_install_ppk},
        {"golden_vector", test_golden_vector},
        {"reject_wrong_mac", test_reject_wrong_mac},
        {"reject_reordered_segments", test_reject_reordered},
        {"reject_wrong_one_time_key", test_reject_wrong_key},
        {"reject_reused_one_time_key", test_reject_reused_key},
        {"reject_smdpsign_other_key", test_reject_sign_other_key},
        {"reject_crt", test_reject_crt},
        {"reject_remote_op", test_reject_remote_op},
        {"reject_segment_over_1020", test_reject_segment_too_large},
        {"reject_iccid_mismatch", test_reject_iccid_mismatch},
        {"reject_iccid_exists", test_reject_iccid_exists},
        {"interruption", test_interruption},
        {"persistence", test_persistence},
        {"faults", test_faults},
        {"zz_cleanup", test_zz_cleanup},
    };
    TU_ADD_SUITE("sim", tests);
}
