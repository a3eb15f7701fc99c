/* Unit tests: the test SM-DPf's binding (tests/testkit/bpp_build.c) - rebuilds the Appendix A
 * golden vector with the fixed otSK.DP, and unbinds generated BPPs as an eUICC would (both
 * curves, PPK mode, metadata and profile segmentation), plus the UPP/ICCID helpers. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "../testkit/bpp_build.h"
#include "crypto/bsp.h"
#include "crypto/cert.h"
#include "crypto/certgen.h"
#include "crypto/cms.h"
#include "crypto/ec.h"
#include "fmt/bpp.h"
#include "fmt/ifpp.h"
#include "testutil.h"
#include "tlv/tlv.h"

/* research Appendix A */
#define GA_EUICC_OTSK "3cde55ef5b8ca852ac1a821b252bca6cb2eba92cdf8620740fd16d7db24d2021"
#define GA_EUICC_OTPK                                                                              \
    "044c58c1c24d9eb020f71041fe2d44523a4d329b0bc947242754223dd50b72523a"                           \
    "7b404e20acfcf5d99ff3cb941e353ebe6884898ae28ae3250801ad89128a35e8"
#define GA_SMDPF_OTSK "78dd7659e2cc3beedd1d1de57af9c206aa8cf6335c2d20587480a6628ffde0e7"
#define GA_SMDPF_OTPK                                                                              \
    "04f942c98d894965969db87fea386068f607dbf91f4adfbbec5e5b1fc244efedd8"                           \
    "6fd6ad39def21921e4c798204a16e11a61fd599fb1d344764f12455739e59580"
#define GA_EID "89049032123451234512345678901235"
#define GA_TID "00112233445566778899aabbccddeeff"
#define GA_ISC_HEAD                                                                                \
    "820101801000112233445566778899aabbccddeeffa6118001888101108409494650502d54455354"
#define GA_TBS  GA_ISC_HEAD "5f4941" GA_SMDPF_OTPK "5f4941" GA_EUICC_OTPK
#define GA_87   "8718d5f9325e10f002aa5bdcd52c3a5bcd88d1fe26d53641c4ae"
#define GA_META "bf25215a0a980010325476981032149106546573745350920b5465737450726f66696c65"
#define GA_88   "882c" GA_META "ea5e54876443bacf"
#define GA_86                                                                                      \
    "863810598bcc748f68749990d10c33605edf9beb166cb7a692d0dd36e714646e946377b41fd649ea1624"         \
    "f4ce5ebc0763e8d7bb2c4e4d388c774c"

static EVP_PKEY *scalar_key(const char *hex) {
    uint8_t d[EC_SCALAR_LEN];
    EVP_PKEY *k = NULL;
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(hex, d, sizeof(d)), ST_OK);
    CU_ASSERT_EQUAL(ec_privkey_from_scalar(EC_CURVE_P256, d, &k), ST_OK);
    return k;
}

static void test_golden(void) {
    EVP_PKEY *dppb = NULL, *otsk = scalar_key(GA_SMDPF_OTSK);
    buf_t otpk = tu_hex(GA_EUICC_OTPK), eid = tu_hex(GA_EID), tid = tu_hex(GA_TID);
    buf_t meta = tu_hex(GA_META), tbs = tu_hex(GA_TBS), out = BUF_INIT;
    uint8_t upp[40];
    tlv_t bpp, isc, part, sig;
    tlv_iter_t it;
    size_t head_len = strlen(GA_ISC_HEAD) / 2 + 3 + EC_POINT_LEN;

    for (size_t i = 0; i < sizeof(upp); i++)
        upp[i] = (uint8_t)i;
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &dppb), ST_OK);
    tk_bpp_in_t in = {
        .dppb_key = dppb,
        .smdp_otsk = otsk,
        .euicc_otpk = otpk.data,
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
    CU_ASSERT_EQUAL_FATAL(tk_bpp_build(&in, &out), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(out.data, out.len, &bpp), ST_OK);
    CU_ASSERT_EQUAL(bpp.tag, 0xBF36);
    tlv_iter_children(&it, &bpp);
    /* BF23: byte-exact up to 5F37; smdpSign (randomised) verifies over the published TBS */
    CU_ASSERT_EQUAL_FATAL(tlv_iter_next(&it, &isc), ST_OK);
    CU_ASSERT_EQUAL(isc.tag, 0xBF23);
    CU_ASSERT_EQUAL_FATAL(isc.len, head_len + 3 + EC_SIG_RAW_LEN);
    CU_ASSERT_EQUAL(memcmp(isc.value, tbs.data, head_len), 0);
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(isc.value + head_len, isc.len - head_len, &sig), ST_OK);
    CU_ASSERT_EQUAL(sig.tag, 0x5F37);
    CU_ASSERT_EQUAL(ec_verify_raw(dppb, tbs.data, tbs.len, sig.value, sig.len), ST_OK);
    /* A0 { 87 }, A1 { 88 }, A3 { 86 }: the golden bytes, no A2 */
    CU_ASSERT_EQUAL_FATAL(tlv_iter_next(&it, &part), ST_OK);
    CU_ASSERT_EQUAL(part.tag, 0xA0);
    TU_ASSERT_HEX(part.value, part.len, GA_87);
    CU_ASSERT_EQUAL_FATAL(tlv_iter_next(&it, &part), ST_OK);
    CU_ASSERT_EQUAL(part.tag, 0xA1);
    TU_ASSERT_HEX(part.value, part.len, GA_88);
    CU_ASSERT_EQUAL_FATAL(tlv_iter_next(&it, &part), ST_OK);
    CU_ASSERT_EQUAL(part.tag, 0xA3);
    TU_ASSERT_HEX(part.value, part.len, GA_86);
    CU_ASSERT_EQUAL(tlv_iter_next(&it, &part), ST_E_NOENT);

    /* the station's view of the same BPP (fmt/bpp.h): structure, CRT, TBS, §2.5.5 segments */
    {
        bpp_view_t v;
        buf_t vtbs = BUF_INIT;
        bpp_segment_t *segs = NULL;
        size_t nseg = 0;
        CU_ASSERT_EQUAL_FATAL(bpp_parse(out.data, out.len, &v), ST_OK);
        CU_ASSERT_TRUE(bpp_check_crt(&v));
        CU_ASSERT_FALSE(v.has_a2);
        CU_ASSERT(v.n87_first == 1 && v.n88 == 1 && v.n86 == 1);
        CU_ASSERT_EQUAL(bpp_smdp_sign_tbs(&v, otpk.data, otpk.len, &vtbs), ST_OK);
        CU_ASSERT(vtbs.len == tbs.len && memcmp(vtbs.data, tbs.data, tbs.len) == 0);
        CU_ASSERT_EQUAL(bpp_segments(&v, &segs, &nseg), ST_OK);
        CU_ASSERT_EQUAL(nseg, 6); /* BF36+BF23, A0+87, A1, 88, A3, 86 */
        free(segs);
        buf_free(&vtbs);
    }

    EVP_PKEY_free(dppb);
    EVP_PKEY_free(otsk);
    buf_free(&otpk);
    buf_free(&eid);
    buf_free(&tid);
    buf_free(&meta);
    buf_free(&tbs);
    buf_free(&out);
}

/* What an eUICC does with a BF36 (research §8.4), enough to check the builder. */
typedef struct {
    buf_t isdp, meta, rsk, upp;
    size_t n88, n86, max86;
    int has_a2;
} unbound_t;

static void unbound_free(unbound_t *u) {
    buf_free(&u->isdp);
    buf_free(&u->meta);
    buf_wipe_free(&u->rsk);
    buf_wipe_free(&u->upp);
}

static st_t unbind(const buf_t *bf36, EVP_PKEY *euicc_otsk, EVP_PKEY *dppb_pub,
                   const uint8_t eid[16], unbound_t *u) {
    tlv_t bpp, isc, crt, host, otpk, sig, part, seg;
    tlv_iter_t it, si;
    uint8_t z[EC_SHARED_LEN], my_pt[EC_POINT_LEN];
    bsp_keys_t k;
    bsp_t *b = NULL, *p = NULL;
    EVP_PKEY *dp = NULL;
    buf_t tbs = BUF_INIT;
    ec_curve_t c;
    st_t st;

    memset(u, 0, sizeof(*u));
    if ((st = tlv_parse_exact(bf36->data, bf36->len, &bpp)) != ST_OK || bpp.tag != 0xBF36)
        return ST_E_PARSE;
    tlv_iter_children(&it, &bpp);
    if ((st = tlv_iter_next(&it, &isc)) != ST_OK || isc.tag != 0xBF23)
        return ST_E_PARSE;
    if (tlv_find_child(&isc, 0xA6, &crt) != ST_OK || tlv_find_child(&crt, 0x84, &host) != ST_OK
        || tlv_find_child(&isc, 0x5F49, &otpk) != ST_OK
        || tlv_find_child(&isc, 0x5F37, &sig) != ST_OK)
        return ST_E_PARSE;
    /* smdpSign over BF23 value up to 5F37 || 5F49 41 own otPK */
    ec_key_curve(euicc_otsk, &c);
    ec_pubkey_to_point(euicc_otsk, my_pt);
    buf_append(&tbs, isc.value, (size_t)(sig.raw - isc.value));
    tlv_buf_put(&tbs, 0x5F49, my_pt, sizeof(my_pt));
    st = ec_verify_raw(dppb_pub, tbs.data, tbs.len, sig.value, sig.len);
    buf_free(&tbs);
    if (st != ST_OK)
        return st;
    if ((st = ec_pubkey_from_point(c, otpk.value, otpk.len, &dp)) != ST_OK)
        return st;
    st = ec_ecdh(euicc_otsk, dp, z);
    EVP_PKEY_free(dp);
    if (st != ST_OK)
        return st;
    st = bsp_kdf(z, sizeof(z), 0x88, 0x10, host.value, host.len, eid, &k);
    mem_wipe(z, sizeof(z));
    if (st != ST_OK)
        return st;
    b = bsp_new(&k);
    mem_wipe(&k, sizeof(k));
    while ((st = tlv_iter_next(&it, &part)) == ST_OK) {
        buf_t *dst = part.tag == 0xA0   ? &u->isdp
                     : part.tag == 0xA1 ? &u->meta
                     : part.tag == 0xA2 ? &u->rsk
                                        : &u->upp;
        bsp_t *ctx = (part.tag == 0xA3 && p != NULL) ? p : b;
        tlv_iter_children(&si, &part);
        while ((st = tlv_iter_next(&si, &seg)) == ST_OK) {
            if (seg.raw_len > BSP_MAX_TLV) {
                st = ST_E_TOO_LARGE;
                goto out;
            }
            if ((st = bsp_unwrap(ctx, seg.raw, seg.raw_len, dst)) != ST_OK)
                goto out;
            if (part.tag == 0xA1)
                u->n88++;
            if (part.tag == 0xA3) {
                u->n86++;
                if (seg.raw_len > u->max86)
                    u->max86 = seg.raw_len;
            }
        }
        if (st != ST_E_NOENT)
            goto out;
        if (part.tag == 0xA2) {
            tlv_t rsk, f;
            u->has_a2 = 1;
            if (tlv_parse_exact(u->rsk.data, u->rsk.len, &rsk) != ST_OK || rsk.tag != 0xBF26) {
                st = ST_E_PARSE;
                goto out;
            }
            tlv_find_child(&rsk, 0x80, &f);
            memcpy(k.mcv, f.value, 16);
            tlv_find_child(&rsk, 0x81, &f);
            memcpy(k.s_enc, f.value, 16);
            tlv_find_child(&rsk, 0x82, &f);
            memcpy(k.s_mac, f.value, 16);
            p = bsp_new(&k);
            mem_wipe(&k, sizeof(k));
        }
    }
    st = st == ST_E_NOENT ? ST_OK : st;
out:
    bsp_free(b);
    bsp_free(p);
    return st;
}

static void roundtrip(ec_curve_t curve, int ppk, size_t meta_len) {
    EVP_PKEY *dppb = NULL, *euicc = NULL;
    uint8_t eid[16], tid[16], otpk[EC_POINT_LEN], iccid_hdr[10], iccid[10];
    const uint8_t oid[] = {0x88, 0x37, 0x0A}; /* 2.999.10 */
    buf_t meta = BUF_INIT, upp = BUF_INIT, out = BUF_INIT;
    unbound_t u;
    tlv_t t;

    CU_ASSERT_EQUAL_FATAL(ec_key_generate(curve, &dppb), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(curve, &euicc), ST_OK);
    CU_ASSERT_EQUAL(ec_pubkey_to_point(euicc, otpk), ST_OK);
    RAND_bytes(eid, sizeof(eid));
    RAND_bytes(tid, sizeof(tid));
    CU_ASSERT_EQUAL_FATAL(tk_iccid_from_digits("894400000000012345", iccid_hdr), ST_OK);
    tk_iccid_swap(iccid_hdr, iccid);
    CU_ASSERT_EQUAL_FATAL(tk_upp_generate(iccid_hdr, "test", 12 * 1024, &upp), ST_OK);
    if (meta_len == 0) {
        CU_ASSERT_EQUAL_FATAL(tk_bpp_metadata(iccid, "Test SP", "Profile", 2, &meta), ST_OK);
    } else { /* a big (icon-sized) metadata blob: two '88' */
        uint8_t *blob = calloc(1, meta_len);
        tlv_buf_put(&meta, 0xBF25, blob, meta_len);
        free(blob);
    }
    tk_bpp_in_t in = {
        .dppb_key = dppb,
        .euicc_otpk = otpk,
        .eid = eid,
        .tid = tid,
        .tid_len = sizeof(tid),
        .host_id = (const uint8_t *)"ifpp-testkit",
        .host_id_len = 12,
        .smdp_oid = oid,
        .smdp_oid_len = sizeof(oid),
        .metadata = meta.data,
        .metadata_len = meta.len,
        .upp = upp.data,
        .upp_len = upp.len,
        .ppk = ppk != 0,
    };
    CU_ASSERT_EQUAL_FATAL(tk_bpp_build(&in, &out), ST_OK);
    CU_ASSERT_EQUAL_FATAL(unbind(&out, euicc, dppb, eid, &u), ST_OK);
    TU_ASSERT_HEX(u.isdp.data, u.isdp.len, "BF2407B805060388370A"); /* B8 { 06 2.999.10 } */
    CU_ASSERT(u.meta.len == meta.len && memcmp(u.meta.data, meta.data, meta.len) == 0);
    CU_ASSERT_EQUAL(u.n88, (meta.len + BSP_MAX_MAC_PLAIN - 1) / BSP_MAX_MAC_PLAIN);
    CU_ASSERT_EQUAL(u.has_a2, ppk != 0);
    CU_ASSERT(u.upp.len == upp.len && memcmp(u.upp.data, upp.data, upp.len) == 0);
    CU_ASSERT_EQUAL(u.n86, (upp.len + BSP_MAX_ENC_PLAIN - 1) / BSP_MAX_ENC_PLAIN);
    CU_ASSERT_EQUAL(u.max86, BSP_MAX_TLV); /* full segments are exactly 1020 bytes */
    if (ppk) {
        CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(u.rsk.data, u.rsk.len, &t), ST_OK);
        CU_ASSERT_EQUAL(t.tag, 0xBF26);
        CU_ASSERT_EQUAL(t.len, 0x36);
    }
    unbound_free(&u);

    /* another eUICC key cannot unbind it (smdpSign covers otPK.EUICC) */
    {
        EVP_PKEY *other = NULL;
        CU_ASSERT_EQUAL_FATAL(ec_key_generate(curve, &other), ST_OK);
        CU_ASSERT_EQUAL(unbind(&out, other, dppb, eid, &u), ST_E_BAD_SIGNATURE);
        unbound_free(&u);
        EVP_PKEY_free(other);
    }
    /* a different EID gives other keys: the first MAC fails */
    eid[0] ^= 1;
    CU_ASSERT_EQUAL(unbind(&out, euicc, dppb, eid, &u), ST_E_BAD_MAC);
    unbound_free(&u);

    EVP_PKEY_free(dppb);
    EVP_PKEY_free(euicc);
    buf_free(&meta);
    buf_free(&upp);
    buf_free(&out);
}

static void test_roundtrip_p256(void) {
    roundtrip(EC_CURVE_P256, 0, 0);
}

static void test_roundtrip_p256_ppk(void) {
    roundtrip(EC_CURVE_P256, 1, 0);
}

static void test_roundtrip_brainpool_ppk_bigmeta(void) {
    roundtrip(EC_CURVE_BRAINPOOLP256R1, 1, 1500);
}

static void test_bad_inputs(void) {
    EVP_PKEY *dppb = NULL, *bp = NULL;
    uint8_t otpk[EC_POINT_LEN], eid[16] = {0}, tid[17] = {0};
    const uint8_t meta[] = {0xBF, 0x25, 0x00}, upp[] = {0xA0, 0x00};
    buf_t out = BUF_INIT;

    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &dppb), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_BRAINPOOLP256R1, &bp), ST_OK);
    CU_ASSERT_EQUAL(ec_pubkey_to_point(bp, otpk), ST_OK);
    tk_bpp_in_t in = {
        .dppb_key = dppb,
        .euicc_otpk = otpk,
        .eid = eid,
        .tid = tid,
        .tid_len = 16,
        .host_id = (const uint8_t *)"h",
        .host_id_len = 1,
        .metadata = meta,
        .metadata_len = sizeof(meta),
        .upp = upp,
        .upp_len = sizeof(upp),
    };
    /* otPK.EUICC on brainpool, DPpb on P-256 */
    CU_ASSERT_EQUAL(tk_bpp_build(&in, &out), ST_E_INVAL);
    CU_ASSERT_EQUAL(out.len, 0);
    CU_ASSERT_EQUAL(ec_pubkey_to_point(dppb, otpk), ST_OK);
    CU_ASSERT_EQUAL(tk_bpp_build(&in, &out), ST_OK);
    buf_reset(&out);
    in.tid_len = 17;
    CU_ASSERT_EQUAL(tk_bpp_build(&in, &out), ST_E_INVAL);
    in.tid_len = 0;
    CU_ASSERT_EQUAL(tk_bpp_build(&in, &out), ST_E_INVAL);
    in.tid_len = 8;
    in.host_id = (const uint8_t *)"0123456789abcdefX";
    in.host_id_len = 17;
    CU_ASSERT_EQUAL(tk_bpp_build(&in, &out), ST_E_INVAL);
    in.host_id_len = 16;
    in.upp_len = 0;
    CU_ASSERT_EQUAL(tk_bpp_build(&in, &out), ST_E_INVAL);
    /* fixed otSK on another curve than DPpb */
    in.upp_len = sizeof(upp);
    in.smdp_otsk = bp;
    CU_ASSERT_EQUAL(tk_bpp_build(&in, &out), ST_E_INVAL);
    CU_ASSERT_EQUAL(out.len, 0);
    EVP_PKEY_free(dppb);
    EVP_PKEY_free(bp);
    buf_free(&out);
}

static void test_iccid_upp(void) {
    uint8_t hdr[10], sw[10], back[10];
    char s[21], pt[64];
    buf_t upp = BUF_INIT, meta = BUF_INIT;
    tlv_iter_t it;
    tlv_t t, last;

    /* Luhn: 8900012345678901234 -> check digit 1 (mode51 ICCID 89000123456789012341) */
    CU_ASSERT_EQUAL(tk_luhn_digit("8900012345678901234"), 1);
    CU_ASSERT_EQUAL(tk_luhn_digit("7992739871"), 3); /* the textbook example */
    CU_ASSERT_EQUAL(tk_iccid_from_digits("8900012345678901234", hdr), ST_OK);
    TU_ASSERT_HEX(hdr, 10, "89000123456789012341");
    tk_iccid_swap(hdr, sw);
    TU_ASSERT_HEX(sw, 10, "98001032547698103214"); /* the mode51 StoreMetadata 5A */
    tk_iccid_swap(sw, back);
    CU_ASSERT_EQUAL(memcmp(back, hdr, 10), 0);
    CU_ASSERT_EQUAL(tk_iccid_from_digits("894944999999999002", hdr), ST_OK);
    TU_ASSERT_HEX(hdr, 10, "8949449999999990023F"); /* TS.48 V1 header ICCID, F-padded */
    tk_iccid_to_str(hdr, s);
    CU_ASSERT_STRING_EQUAL(s, "8949449999999990023");
    CU_ASSERT_EQUAL(tk_iccid_from_digits("89x", hdr), ST_E_INVAL);
    CU_ASSERT_EQUAL(tk_iccid_from_digits("89000123456789012345", hdr), ST_E_INVAL);

    /* generated profile: header with the ICCID, ~12 KB, every PE a TLV, PE-End last */
    CU_ASSERT_EQUAL(tk_iccid_from_digits("8900012345678901234", hdr), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tk_upp_generate(hdr, "IFPP generated", 12 * 1024, &upp), ST_OK);
    CU_ASSERT(upp.len > 11 * 1024 && upp.len <= 12 * 1024);
    CU_ASSERT_EQUAL(tk_upp_iccid(upp.data, upp.len, back), ST_OK);
    CU_ASSERT_EQUAL(memcmp(back, hdr, 10), 0);
    CU_ASSERT_EQUAL(tk_upp_profile_type(upp.data, upp.len, pt, sizeof(pt)), ST_OK);
    CU_ASSERT_STRING_EQUAL(pt, "IFPP generated");
    tlv_iter_init(&it, upp.data, upp.len);
    memset(&last, 0, sizeof(last));
    while (tlv_iter_next(&it, &t) == ST_OK)
        last = t;
    CU_ASSERT_EQUAL(last.tag, 0xAA);
    CU_ASSERT_EQUAL(last.raw + last.raw_len, upp.data + upp.len);
    CU_ASSERT_EQUAL(tk_upp_iccid((const uint8_t *)"\xAA\x00", 2, back), ST_E_PARSE);

    /* metadata encoding = the mode51 StoreMetadata */
    CU_ASSERT_EQUAL(tk_bpp_metadata(sw, "GSMA_TEST", "GSMA_TEST_PROFILE", 0, &meta), ST_OK);
    TU_ASSERT_HEX(meta.data, meta.len,
                  "bf252d5a0a98001032547698103214910947534d415f54455354921147534d415f5445535"
                  "45f50524f46494c45950100");
    buf_reset(&meta);
    CU_ASSERT_EQUAL(tk_bpp_metadata(sw, "0123456789012345678901234567890123", "x", 2, &meta),
                    ST_E_INVAL);
    buf_free(&upp);
    buf_free(&meta);
}

/* The TS.48 test profiles of ../shared (read only). */
static void test_ts48_iccid(void) {
    char *dir = tu_shared_path("data/upp/TS48V1-A-UNIQUE.der");
    buf_t b = BUF_INIT;
    uint8_t hdr[10];
    if (dir == NULL) {
        tu_skip("bpp_build", "TS.48 profiles not available (../shared/data/upp)");
        return;
    }
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&b, dir, 1 << 20), ST_OK);
    CU_ASSERT_EQUAL(tk_upp_iccid(b.data, b.len, hdr), ST_OK);
    TU_ASSERT_HEX(hdr, 10, "8949449999999990023F");
    buf_free(&b);
    free(dir);
}

/* ---- `ifpp-testkit smdpf bind`, run as a process against a fresh `pki init` ---- */

#define CLI_N_EUICC 2
#define CLI_N_KEYS  2

typedef struct {
    char *dir;
    char tk[1024], pki[1200], err[1200];
    EVP_PKEY *sk[CLI_N_EUICC];               /* SK.EUICC */
    EVP_PKEY *otsk[CLI_N_EUICC][CLI_N_KEYS]; /* one-time keys */
    buf_t cert[CLI_N_EUICC];                 /* CERT.EUICC DER */
    buf_t eum_der;
    uint8_t eid[CLI_N_EUICC][16];
    ifpp_otk_t otk[CLI_N_EUICC][CLI_N_KEYS];
} cli_t;

/* Runs ifpp-testkit with argv (NULL-terminated); stdout to /dev/null, stderr to c->err. */
static int run_tk(cli_t *c, char *const argv[]) {
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, c->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (posix_spawn(&pid, c->tk, &fa, NULL, argv, NULL) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static bool err_contains(cli_t *c, const char *needle) {
    buf_t b = BUF_INIT;
    bool found = false;
    if (buf_read_file(&b, c->err, 1 << 20) == ST_OK && buf_append_byte(&b, 0) == ST_OK)
        found = strstr((const char *)b.data, needle) != NULL;
    if (!found)
        fprintf(stderr, "\nexpected '%s' in stderr of ifpp-testkit:\n%.*s\n", needle, (int)b.len,
                b.data ? (const char *)b.data : "");
    buf_free(&b);
    return found;
}

static st_t write_signed(const char *path, EVP_PKEY *key, X509 *cert, const buf_t *content) {
    buf_t der = BUF_INIT;
    st_t st = cms_sign(key, cert, NULL, content->data, content->len, false, &der);
    if (st == ST_OK)
        st = buf_write_file_atomic(path, der.data, der.len, 0644);
    buf_free(&der);
    return st;
}

/* pki init + two eUICCs with two one-time keys each; writes data.ifppe and req.ifppr. */
static bool cli_setup(cli_t *c, ec_curve_t curve) {
    char path[1400], prefix[33];
    EVP_PKEY *eum_key = NULL, *dm_key = NULL;
    X509 *eum = NULL, *dm = NULL;
    ifpp_euicc_t eu[CLI_N_EUICC];
    ifpp_edata_t ed;
    ifpp_req_entry_t re;
    ifpp_request_t rq;
    ifpp_blob_t eum_blob;
    buf_t content = BUF_INIT;
    struct stat sb;
    bool ok = false;

    memset(c, 0, sizeof(*c));
    snprintf(c->tk, sizeof(c->tk), "%s/tests/testkit/ifpp-testkit", tu_build_dir());
    if (stat(c->tk, &sb) != 0) {
        tu_skip("bpp_build", "ifpp-testkit not built (set IFPP_BUILD_DIR): smdpf bind CLI");
        return false;
    }
    c->dir = tu_tmpdir("smdpf");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c->dir);
    snprintf(c->pki, sizeof(c->pki), "%s/pki", c->dir);
    snprintf(c->err, sizeof(c->err), "%s/stderr.txt", c->dir);
    {
        char *argv[] = {c->tk, "pki", "init", c->pki, "--curve", (char *)ec_curve_name(curve),
                        NULL};
        CU_ASSERT_EQUAL_FATAL(run_tk(c, argv), 0);
    }
    snprintf(path, sizeof(path), "%s/eum.key.pem", c->pki);
    CU_ASSERT_EQUAL_FATAL(ec_key_load_pem(path, &eum_key), ST_OK);
    snprintf(path, sizeof(path), "%s/eum.cert.pem", c->pki);
    CU_ASSERT_EQUAL_FATAL(cert_load(path, &eum), ST_OK);
    CU_ASSERT_EQUAL_FATAL(cert_to_der(eum, &c->eum_der), ST_OK);
    CU_ASSERT_EQUAL_FATAL(cert_eum_permitted_ein(eum, 0, prefix, NULL, 0), ST_OK);
    memset(eu, 0, sizeof(eu));
    for (int i = 0; i < CLI_N_EUICC; i++) {
        X509 *x = NULL;
        CU_ASSERT_EQUAL_FATAL(eid_compose(prefix, 4711 + (uint64_t)i, c->eid[i]), ST_OK);
        CU_ASSERT_EQUAL_FATAL(ec_key_generate(curve, &c->sk[i]), ST_OK);
        CU_ASSERT_EQUAL_FATAL(certgen_euicc(eum, eum_key, c->sk[i], c->eid[i], &x), ST_OK);
        CU_ASSERT_EQUAL_FATAL(cert_to_der(x, &c->cert[i]), ST_OK);
        X509_free(x);
        for (int k = 0; k < CLI_N_KEYS; k++) {
            buf_t tbs = BUF_INIT;
            ifpp_otk_t *o = &c->otk[i][k];
            CU_ASSERT_EQUAL_FATAL(ec_key_generate(curve, &c->otsk[i][k]), ST_OK);
            o->key_index = (uint32_t)k;
            CU_ASSERT_EQUAL_FATAL(ec_pubkey_to_point(c->otsk[i][k], o->otpk), ST_OK);
            CU_ASSERT_EQUAL_FATAL(ifpp_otk_tbs(c->eid[i], o->key_index, o->otpk, &tbs), ST_OK);
            CU_ASSERT_EQUAL_FATAL(ec_sign_raw(c->sk[i], tbs.data, tbs.len, o->sig), ST_OK);
            buf_free(&tbs);
        }
        memcpy(eu[i].eid, c->eid[i], 16);
        eu[i].cert_euicc.p = c->cert[i].data;
        eu[i].cert_euicc.len = c->cert[i].len;
        eu[i].keys = c->otk[i];
        eu[i].n_keys = CLI_N_KEYS;
    }
    memset(&ed, 0, sizeof(ed));
    ed.version = IFPP_FORMAT_VERSION;
    snprintf(ed.batch_id, sizeof(ed.batch_id), "unit-batch");
    ed.created_at = time(NULL);
    ed.cert_eum.p = c->eum_der.data;
    ed.cert_eum.len = c->eum_der.len;
    ed.euiccs = eu;
    ed.n_euiccs = CLI_N_EUICC;
    CU_ASSERT_EQUAL_FATAL(ifpp_edata_encode(&ed, &content), ST_OK);
    snprintf(path, sizeof(path), "%s/data.ifppe", c->dir);
    CU_ASSERT_EQUAL_FATAL(write_signed(path, eum_key, eum, &content), ST_OK);
    /* a tampered copy: one one-time key signature broken (DPFF10) */
    c->otk[1][0].sig[10] ^= 0x01;
    buf_reset(&content);
    CU_ASSERT_EQUAL_FATAL(ifpp_edata_encode(&ed, &content), ST_OK);
    snprintf(path, sizeof(path), "%s/badotk.ifppe", c->dir);
    CU_ASSERT_EQUAL_FATAL(write_signed(path, eum_key, eum, &content), ST_OK);
    c->otk[1][0].sig[10] ^= 0x01;

    /* request for eUICC 0, key 1, signed by the DM station */
    memset(&re, 0, sizeof(re));
    memcpy(re.eid, c->eid[0], 16);
    re.cert_euicc.p = c->cert[0].data;
    re.cert_euicc.len = c->cert[0].len;
    re.eum_index = 0;
    re.key = c->otk[0][1];
    snprintf(re.profile_type, sizeof(re.profile_type), "ts48");
    eum_blob.p = c->eum_der.data;
    eum_blob.len = c->eum_der.len;
    memset(&rq, 0, sizeof(rq));
    rq.version = IFPP_FORMAT_VERSION;
    RAND_bytes(rq.request_id, sizeof(rq.request_id));
    snprintf(rq.dm_id, sizeof(rq.dm_id), "DM-TEST");
    rq.created_at = time(NULL);
    rq.certs_eum = &eum_blob;
    rq.n_certs_eum = 1;
    rq.entries = &re;
    rq.n_entries = 1;
    buf_reset(&content);
    CU_ASSERT_EQUAL_FATAL(ifpp_request_encode(&rq, &content), ST_OK);
    snprintf(path, sizeof(path), "%s/dm.key.pem", c->pki);
    CU_ASSERT_EQUAL_FATAL(ec_key_load_pem(path, &dm_key), ST_OK);
    snprintf(path, sizeof(path), "%s/dm.cert.pem", c->pki);
    CU_ASSERT_EQUAL_FATAL(cert_load(path, &dm), ST_OK);
    snprintf(path, sizeof(path), "%s/req.ifppr", c->dir);
    CU_ASSERT_EQUAL_FATAL(write_signed(path, dm_key, dm, &content), ST_OK);
    /* the same request signed by the EUM: wrong signer role */
    snprintf(path, sizeof(path), "%s/eumsigned.ifppr", c->dir);
    CU_ASSERT_EQUAL_FATAL(write_signed(path, eum_key, eum, &content), ST_OK);
    ok = true;
    EVP_PKEY_free(eum_key);
    EVP_PKEY_free(dm_key);
    X509_free(eum);
    X509_free(dm);
    buf_free(&content);
    return ok;
}

static void cli_free(cli_t *c) {
    for (int i = 0; i < CLI_N_EUICC; i++) {
        EVP_PKEY_free(c->sk[i]);
        for (int k = 0; k < CLI_N_KEYS; k++)
            EVP_PKEY_free(c->otsk[i][k]);
        buf_free(&c->cert[i]);
    }
    buf_free(&c->eum_der);
    if (c->dir != NULL) {
        tu_rmrf(c->dir);
        free(c->dir);
    }
}

/*
 * Checks a bundle like the station and the card would: the detached signature (DPauth to the
 * CI), the header, and every BPP unbinds with the named eUICC's one-time key to a profile
 * whose header ICCID matches the entry and the metadata. Returns the entries seen.
 */
static size_t check_bundle(cli_t *c, const char *out, int want_key, bool ppk,
                           const buf_t *want_upp) {
    char path[1400];
    buf_t p7s = BUF_INIT, dppb_der = BUF_INIT;
    cert_trust_t *trust = cert_trust_new();
    BIO *bio;
    FILE *f;
    ifpp_bundle_reader_t *r = NULL;
    ifpp_bundle_entry_t e;
    X509 *signer = NULL, *dppb = NULL;
    EVP_PKEY *dppb_pub = NULL;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/ci.cert.pem", c->pki);
    CU_ASSERT_EQUAL_FATAL(cert_trust_add_file(trust, path), ST_OK);
    snprintf(path, sizeof(path), "%s.p7s", out);
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&p7s, path, 1 << 20), ST_OK);
    bio = BIO_new_file(out, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bio);
    CU_ASSERT_EQUAL(cms_verify_detached(trust, p7s.data, p7s.len, bio, &signer), ST_OK);
    CU_ASSERT(signer != NULL && cert_has_policy(signer, CERT_POLICY_DP_AUTH));
    BIO_free(bio);

    f = fopen(out, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL_FATAL(ifpp_bundle_reader_open(f, &r), ST_OK);
    {
        const ifpp_bundle_hdr_t *h = ifpp_bundle_reader_header(r);
        TU_ASSERT_HEX(h->smdpf_oid, h->smdpf_oid_len, "88370A"); /* 2.999.10 */
        CU_ASSERT_EQUAL_FATAL(h->n_smdpf_certs, 1);
        CU_ASSERT_EQUAL_FATAL(cert_from_der(h->smdpf_certs[0].p, h->smdpf_certs[0].len, &dppb),
                              ST_OK);
        CU_ASSERT(cert_has_policy(dppb, CERT_POLICY_DP_PB));
        dppb_pub = X509_get_pubkey(dppb);
    }
    while (ifpp_bundle_reader_next(r, &e) == ST_OK) {
        int i = memcmp(e.eid, c->eid[0], 16) == 0 ? 0 : 1;
        unbound_t u;
        buf_t bpp = BUF_INIT;
        uint8_t hdr_iccid[10], sw[10];
        tlv_t meta, ic;
        n++;
        CU_ASSERT_EQUAL(memcmp(e.eid, c->eid[i], 16), 0);
        CU_ASSERT_EQUAL(e.key_index, (uint32_t)want_key);
        CU_ASSERT_EQUAL(e.tid_len, 16);
        buf_append(&bpp, e.bpp, e.bpp_len);
        {
            bpp_view_t v; /* the station's pre-flight view */
            CU_ASSERT_EQUAL_FATAL(bpp_parse(bpp.data, bpp.len, &v), ST_OK);
            CU_ASSERT_TRUE(bpp_check_crt(&v));
            CU_ASSERT_EQUAL(v.has_a2, ppk);
            CU_ASSERT(v.tid_len == e.tid_len && memcmp(v.tid, e.tid, e.tid_len) == 0);
        }
        CU_ASSERT_EQUAL_FATAL(unbind(&bpp, c->otsk[i][want_key], dppb_pub, c->eid[i], &u), ST_OK);
        TU_ASSERT_HEX(u.isdp.data, u.isdp.len,
                      "BF2407B80506038837"
                      "0A");
        CU_ASSERT_EQUAL(u.has_a2, ppk);
        /* ICCID: entry == metadata 5A == swap(ProfileHeader 83) */
        CU_ASSERT_EQUAL(tk_upp_iccid(u.upp.data, u.upp.len, hdr_iccid), ST_OK);
        tk_iccid_swap(hdr_iccid, sw);
        CU_ASSERT_EQUAL(memcmp(e.iccid, sw, 10), 0);
        CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(u.meta.data, u.meta.len, &meta), ST_OK);
        CU_ASSERT_EQUAL_FATAL(tlv_find_child(&meta, 0x5A, &ic), ST_OK);
        CU_ASSERT(ic.len == 10 && memcmp(ic.value, sw, 10) == 0);
        CU_ASSERT_EQUAL(tlv_find_child(&meta, 0x95, &ic), ST_OK); /* operational */
        if (want_upp != NULL) {
            CU_ASSERT(u.upp.len == want_upp->len
                      && memcmp(u.upp.data, want_upp->data, want_upp->len) == 0);
        } else {
            CU_ASSERT(u.upp.len > 11 * 1024 && u.upp.len <= 12 * 1024);
        }
        unbound_free(&u);
        buf_free(&bpp);
    }
    CU_ASSERT_EQUAL(ifpp_bundle_reader_count(r), n);
    ifpp_bundle_reader_free(r);
    fclose(f);
    EVP_PKEY_free(dppb_pub);
    X509_free(dppb);
    X509_free(signer);
    cert_trust_free(trust);
    buf_free(&p7s);
    buf_free(&dppb_der);
    return n;
}

static void test_cli_bind_edata(void) {
    cli_t c;
    char in[1400], bad[1400], out[1400];
    if (!cli_setup(&c, EC_CURVE_P256)) {
        cli_free(&c);
        return;
    }
    snprintf(in, sizeof(in), "%s/data.ifppe", c.dir);
    snprintf(out, sizeof(out), "%s/b1.ifppb", c.dir);
    {
        char *argv[] = {c.tk, "smdpf", "bind", in, "--pki", c.pki, "-o", out, NULL};
        CU_ASSERT_EQUAL_FATAL(run_tk(&c, argv), 0);
        CU_ASSERT_EQUAL(check_bundle(&c, out, 0, false, NULL), CLI_N_EUICC);
        /* the next bind takes each eUICC's next unused key, then there is none left */
        snprintf(out, sizeof(out), "%s/b2.ifppb", c.dir);
        CU_ASSERT_EQUAL_FATAL(run_tk(&c, argv), 0);
        CU_ASSERT_EQUAL(check_bundle(&c, out, 1, false, NULL), CLI_N_EUICC);
        snprintf(out, sizeof(out), "%s/b3.ifppb", c.dir);
        CU_ASSERT_EQUAL(run_tk(&c, argv), 1);
        CU_ASSERT(err_contains(&c, "no unused one-time key"));
        CU_ASSERT_EQUAL(access(out, F_OK), -1); /* nothing half-written */
    }
    /* DPFF10: a broken one-time key signature stops the whole bind */
    snprintf(bad, sizeof(bad), "%s/badotk.ifppe", c.dir);
    {
        char *argv[] = {c.tk,      "smdpf",  "bind", bad, "--pki", c.pki,
                        "--smdpf", "smdpf2", "-o",   out, NULL};
        CU_ASSERT_EQUAL(run_tk(&c, argv), 1);
        CU_ASSERT(err_contains(&c, "one-time key 0"));
        CU_ASSERT_EQUAL(access(out, F_OK), -1);
    }
    /* a corrupted file: CMS signature */
    {
        buf_t b = BUF_INIT;
        CU_ASSERT_EQUAL_FATAL(buf_read_file(&b, in, 1 << 20), ST_OK);
        b.data[b.len / 2] ^= 0x55;
        CU_ASSERT_EQUAL_FATAL(buf_write_file_atomic(bad, b.data, b.len, 0644), ST_OK);
        buf_free(&b);
        char *argv[] = {c.tk, "smdpf", "bind", bad, "--pki", c.pki, "-o", out, NULL};
        CU_ASSERT_EQUAL(run_tk(&c, argv), 1);
        CU_ASSERT(err_contains(&c, "signature"));
    }
    /* usage */
    {
        char *argv[] = {c.tk, "smdpf", "bind", in, "--pki", c.pki, NULL};
        CU_ASSERT_EQUAL(run_tk(&c, argv), 2);
    }
    cli_free(&c);
}

static void test_cli_bind_request(void) {
    cli_t c;
    char in[1400], out[1400], wrong[1400];
    char *ts48 = tu_shared_path("data/upp/TS48V2-SAIP2-1-BERTLV-UNIQUE.der");
    buf_t upp = BUF_INIT;
    if (!cli_setup(&c, EC_CURVE_P256)) {
        cli_free(&c);
        free(ts48);
        return;
    }
    snprintf(in, sizeof(in), "%s/req.ifppr", c.dir);
    snprintf(out, sizeof(out), "%s/r1.ifppb", c.dir);
    {
        char *argv[] = {c.tk, "smdpf", "bind", in, "--pki", c.pki, "--ppk", "-o", out, NULL};
        CU_ASSERT_EQUAL_FATAL(run_tk(&c, argv), 0);
        CU_ASSERT_EQUAL(check_bundle(&c, out, 1, true, NULL), 1);
        /* the request's key is used now */
        CU_ASSERT_EQUAL(run_tk(&c, argv), 1);
        CU_ASSERT(err_contains(&c, "already bound"));
    }
    if (ts48 != NULL) {
        CU_ASSERT_EQUAL_FATAL(buf_read_file(&upp, ts48, 1 << 20), ST_OK);
        char *argv[] = {c.tk,    "smdpf",      "bind", in,   "--pki", c.pki, "--rebind",
                        "--ppk", "--profiles", ts48,   "-o", out,     NULL};
        CU_ASSERT_EQUAL_FATAL(run_tk(&c, argv), 0);
        CU_ASSERT_EQUAL(check_bundle(&c, out, 1, true, &upp), 1);
    } else {
        tu_skip("bpp_build", "TS.48 profiles not available: bind --profiles");
    }
    /* a request signed by someone who is not a DM station */
    snprintf(wrong, sizeof(wrong), "%s/eumsigned.ifppr", c.dir);
    {
        char *argv[] = {c.tk, "smdpf", "bind", wrong, "--pki", c.pki, "--rebind", "-o", out, NULL};
        CU_ASSERT_EQUAL(run_tk(&c, argv), 1);
        CU_ASSERT(err_contains(&c, "not a DM station"));
    }
    buf_free(&upp);
    free(ts48);
    cli_free(&c);
}

static void test_cli_bind_brainpool(void) {
    cli_t c;
    char in[1400], out[1400];
    if (!cli_setup(&c, EC_CURVE_BRAINPOOLP256R1)) {
        cli_free(&c);
        return;
    }
    snprintf(in, sizeof(in), "%s/data.ifppe", c.dir);
    snprintf(out, sizeof(out), "%s/bp.ifppb", c.dir);
    char *argv[] = {c.tk, "smdpf", "bind", in, "--pki", c.pki, "--ppk", "-o", out, NULL};
    CU_ASSERT_EQUAL_FATAL(run_tk(&c, argv), 0);
    CU_ASSERT_EQUAL(check_bundle(&c, out, 0, true, NULL), CLI_N_EUICC);
    cli_free(&c);
}

void test_bpp_build_register(void) {
    static const tu_test_t tests[] = {
        {"golden vector BPP (Appendix A, fixed otSK.DP)", test_golden},
        {"bind/unbind P-256", test_roundtrip_p256},
        {"bind/unbind P-256, PPK mode", test_roundtrip_p256_ppk},
        {"bind/unbind brainpool, PPK, 2x'88'", test_roundtrip_brainpool_ppk_bigmeta},
        {"bad inputs", test_bad_inputs},
        {"ICCID, Luhn, generated UPP, metadata", test_iccid_upp},
        {"ICCID of a TS.48 profile", test_ts48_iccid},
        {"smdpf bind .ifppe (CLI): keys, DPFF10, signature", test_cli_bind_edata},
        {"smdpf bind .ifppr (CLI): PPK, --profiles, rebind", test_cli_bind_request},
        {"smdpf bind brainpoolP256r1 PKI (CLI), PPK", test_cli_bind_brainpool},
    };
    TU_ADD_SUITE("bpp_build", tests);
}
