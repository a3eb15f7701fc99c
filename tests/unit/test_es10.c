/* Unit tests: ES10 session, STORE DATA transport and ES10b/c/f functions against the fake card. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu.h"
#include "crypto/ec.h"
#include "es10.h"
#include "fake_card.h"
#include "fmt/es10f.h"
#include "testutil.h"
#include "tlv/tlv.h"

#define ISDR    "A0000005591010FFFFFFFF8900000100"
#define EID_HEX "89049032123451234512345678901235"

static transport_t *tp;
static fake_card_t *fc;
static es10_t *ses;

/* ---- script helpers ---- */

/* Expects the STORE DATA blocks of obj[0..len) and answers each with 9000, the last one with
 * last_rapdu (hex). */
static void expect_store_data(uint8_t cla, const uint8_t *obj, size_t len, size_t bs, bool with_le,
                              const char *last_rapdu) {
    uint8_t c[TRANSPORT_MAX_CAPDU];
    static const uint8_t ok[] = {0x90, 0x00};
    size_t blocks = (len + bs - 1) / bs;
    buf_t last = tu_hex(last_rapdu);

    for (size_t i = 0; i < blocks; i++) {
        size_t n = i + 1 == blocks ? len - i * bs : bs;
        size_t k = 0;
        c[k++] = cla;
        c[k++] = 0xE2;
        c[k++] = i + 1 == blocks ? 0x91 : 0x11;
        c[k++] = (uint8_t)i;
        c[k++] = (uint8_t)n;
        memcpy(c + k, obj + i * bs, n);
        k += n;
        if (with_le)
            c[k++] = 0x00;
        if (i + 1 == blocks)
            fake_card_expect_bytes(fc, c, k, last.data, last.len);
        else
            fake_card_expect_bytes(fc, c, k, ok, sizeof(ok));
    }
    buf_free(&last);
}

static void expect_store_data_hex(uint8_t cla, const char *obj_hex, const char *last_rapdu) {
    buf_t o = tu_hex(obj_hex);
    expect_store_data(cla, o.data, o.len, ES10_BLOCK_SIZE_DEFAULT, false, last_rapdu);
    buf_free(&o);
}

/* Opens a session on a fresh fake card whose MANAGE CHANNEL gives `ch`. */
static void open_session(unsigned ch, size_t bs) {
    char sel[80], chan[8];
    es10_opts_t o;
    es10_result_t res;

    CU_ASSERT_EQUAL_FATAL(fake_card_new(TRANSPORT_PROTO_T1, &fc, &tp), ST_OK);
    fake_card_expect(fc, "80AA000005A903830107", "9000");
    snprintf(chan, sizeof(chan), "%02X9000", ch);
    fake_card_expect(fc, "0070000001", chan);
    snprintf(sel, sizeof(sel), "%02XA4040010%s00", apdu_cla(false, ch), ISDR);
    fake_card_expect(fc, sel, "6F10840EA0000005591010FFFFFFFF89000001009000");
    memset(&o, 0, sizeof(o));
    o.block_size = bs;
    CU_ASSERT_EQUAL_FATAL(es10_open(tp, &o, &ses, &res), ST_OK);
    CU_ASSERT_EQUAL(res.sw, 0x9000);
    CU_ASSERT_EQUAL(es10_channel(ses), ch);
}

static void close_session(void) {
    char close_apdu[16];

    snprintf(close_apdu, sizeof(close_apdu), "007080%02X", es10_channel(ses));
    fake_card_expect(fc, close_apdu, "9000");
    es10_close(ses);
    ses = NULL;
    CU_ASSERT_TRUE(fake_card_done(fc));
    transport_free(tp);
    tp = NULL;
    fc = NULL;
}

/* ---- session ---- */

static void test_open_close(void) {
    open_session(1, 0);
    CU_ASSERT_PTR_EQUAL(es10_transport(ses), tp);
    close_session();
    open_session(7, 0);
    close_session();
}

static void test_open_failures(void) {
    es10_t *s = NULL;
    es10_result_t res;
    es10_opts_t o;

    CU_ASSERT_EQUAL_FATAL(fake_card_new(TRANSPORT_PROTO_T1, &fc, &tp), ST_OK);
    /* optional TERMINAL CAPABILITY refused: going on; ISD-R not found: channel closed again */
    fake_card_expect(fc, "80AA000005A903830107", "6A86");
    fake_card_expect(fc, "0070000001", "019000");
    fake_card_expect(fc, "01A4040010" ISDR "00", "6A82");
    fake_card_expect(fc, "00708001", "9000");
    CU_ASSERT_EQUAL(es10_open(tp, NULL, &s, &res), ST_E_CARD_SW);
    CU_ASSERT_EQUAL(res.sw, 0x6A82);
    CU_ASSERT_PTR_NULL(s);
    /* no channel left */
    fake_card_expect(fc, "80AA000005A903830107", "6D00");
    fake_card_expect(fc, "0070000001", "6A81");
    CU_ASSERT_EQUAL(es10_open(tp, NULL, &s, &res), ST_E_CARD_SW);
    CU_ASSERT_EQUAL(res.sw, 0x6A81);
    /* configurable AID, basic channel, no terminal capability */
    memset(&o, 0, sizeof(o));
    o.isdr_aid = (const uint8_t *)"\xA0\x00\x00\x05\x59\x10\x10\x01";
    o.isdr_aid_len = 8;
    o.basic_channel = true;
    o.no_terminal_capability = true;
    fake_card_expect(fc, "00A4040008A000000559101001 00", "9000");
    CU_ASSERT_EQUAL(es10_open(tp, &o, &s, &res), ST_OK);
    CU_ASSERT_EQUAL(es10_channel(s), 0);
    expect_store_data_hex(0x80, "BF2E00", "BF2E1280100102030405060708090A0B0C0D0E0F109000");
    {
        uint8_t ch[16];
        CU_ASSERT_EQUAL(es10b_get_euicc_challenge(s, ch, &res), ST_OK);
        CU_ASSERT_EQUAL(ch[15], 0x10);
    }
    es10_close(s); /* basic channel: nothing to close */
    /* bad options */
    o.block_size = 256;
    CU_ASSERT_EQUAL(es10_open(tp, &o, &s, &res), ST_E_INVAL);
    CU_ASSERT_TRUE(fake_card_done(fc));
    transport_free(tp);
}

/* After a reset by someone else, es10_reopen redoes the opening steps. */
static void test_reopen_after_reset(void) {
    static const uint8_t req[] = {0xBF, 0x2E, 0x00};
    buf_t resp = BUF_INIT;
    es10_result_t res;
    uint16_t sw;

    open_session(2, 0);
    fake_card_expect_fail(fc, "82E2910003BF2E00", ST_E_CARD_RESET);
    CU_ASSERT_EQUAL(es10_transceive(ses, req, sizeof(req), &resp, &sw), ST_E_CARD_RESET);
    fake_card_expect(fc, "80AA000005A903830107", "9000");
    fake_card_expect(fc, "0070000001", "039000");
    fake_card_expect(fc, "03A4040010" ISDR "00", "9000");
    CU_ASSERT_EQUAL(es10_reopen(ses, &res), ST_OK);
    CU_ASSERT_EQUAL(es10_channel(ses), 3);
    buf_free(&resp);
    close_session();
}

/* ---- STORE DATA transport ---- */

static void test_store_data_blocks(void) {
    static const size_t block_sizes[] = {64, 120, 255};
    uint8_t obj[1000];
    buf_t resp = BUF_INIT;
    uint16_t sw;

    for (size_t i = 0; i < sizeof(obj); i++)
        obj[i] = (uint8_t)(i * 7 + 3);
    for (size_t b = 0; b < sizeof(block_sizes) / sizeof(block_sizes[0]); b++) {
        size_t bs = block_sizes[b];
        const size_t sizes[] = {1, bs - 1, bs, bs + 1, 2 * bs - 1, 2 * bs, 2 * bs + 1, 1000};
        open_session(1, bs);
        /* several commands in a row: P2 restarts at 00 for each */
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            expect_store_data(0x81, obj, sizes[k], bs, false, "9000");
            CU_ASSERT_EQUAL(es10_transceive(ses, obj, sizes[k], &resp, &sw), ST_OK);
            CU_ASSERT_EQUAL(sw, 0x9000);
            CU_ASSERT_EQUAL(resp.len, 0);
            if (fake_card_error(fc)) {
                fprintf(stderr, "block size %zu, object %zu\n", bs, sizes[k]);
                break;
            }
        }
        close_session();
    }
    buf_free(&resp);
}

/* 256 blocks is the most P2 can number; one byte more is refused before anything is sent. */
static void test_store_data_limit(void) {
    size_t len = 64 * 256;
    uint8_t *obj = calloc(1, len + 1);
    buf_t resp = BUF_INIT;
    uint16_t sw;
    size_t n;
    const uint8_t *last;

    open_session(1, 64);
    expect_store_data(0x81, obj, len, 64, false, "9000");
    CU_ASSERT_EQUAL(es10_transceive(ses, obj, len, &resp, &sw), ST_OK);
    last = fake_card_last(fc, &n);
    CU_ASSERT_EQUAL(last[2], 0x91);
    CU_ASSERT_EQUAL(last[3], 0xFF);
    n = fake_card_received(fc);
    CU_ASSERT_EQUAL(es10_transceive(ses, obj, len + 1, &resp, &sw), ST_E_TOO_LARGE);
    CU_ASSERT_EQUAL(fake_card_received(fc), n);
    CU_ASSERT_EQUAL(es10_transceive(ses, obj, 0, &resp, &sw), ST_E_INVAL);
    close_session();
    buf_free(&resp);
    free(obj);
}

/* The last block answers 61xx: GET RESPONSE with the interindustry CLA of the channel. */
static void test_store_data_response_chain(void) {
    static const uint8_t req[] = {0xBF, 0x2D, 0x00};
    buf_t resp = BUF_INIT;
    uint16_t sw;

    open_session(1, 0);
    fake_card_expect(fc, "81E2910003BF2D00", "6104");
    fake_card_expect(fc, "01C0000004", "BF2D03A06102");
    fake_card_expect(fc, "01C0000002", "00009000");
    CU_ASSERT_EQUAL(es10_transceive(ses, req, sizeof(req), &resp, &sw), ST_OK);
    TU_ASSERT_HEX(resp.data, resp.len, "BF2D03A0 0000");
    close_session();

    open_session(6, 0); /* channel 6: STORE DATA C2, GET RESPONSE 42 */
    fake_card_expect(fc, "C2E2910003BF2D00", "6103");
    fake_card_expect(fc, "42C0000003", "BF2D009000");
    CU_ASSERT_EQUAL(es10_transceive(ses, req, sizeof(req), &resp, &sw), ST_OK);
    TU_ASSERT_HEX(resp.data, resp.len, "BF2D00");
    close_session();
    buf_free(&resp);
}

static void test_store_data_91xx(void) {
    uint8_t obj[200];
    buf_t resp = BUF_INIT;
    uint16_t sw;

    memset(obj, 0x5A, sizeof(obj));
    open_session(1, 0);
    fake_card_expect(fc, "81E2110078*", "9110"); /* proactive command pending: success */
    fake_card_expect(fc, "81E2910150*", "AABB9120");
    CU_ASSERT_EQUAL(es10_transceive(ses, obj, sizeof(obj), &resp, &sw), ST_OK);
    CU_ASSERT_EQUAL(sw, 0x9120);
    TU_ASSERT_HEX(resp.data, resp.len, "AABB");
    close_session();
    buf_free(&resp);
}

static void test_store_data_errors(void) {
    uint8_t obj[300];
    buf_t resp = BUF_INIT;
    uint16_t sw;

    memset(obj, 0x11, sizeof(obj));
    open_session(1, 0);
    /* error SW on the second of three blocks: the sequence stops there */
    fake_card_expect(fc, "81E2110078*", "9000");
    fake_card_expect(fc, "81E2110178*", "6A80");
    CU_ASSERT_EQUAL(es10_transceive(ses, obj, sizeof(obj), &resp, &sw), ST_E_CARD_SW);
    CU_ASSERT_EQUAL(sw, 0x6A80);
    CU_ASSERT_EQUAL(fake_card_pending(fc), 0);
    /* data to an intermediate block is a protocol error */
    fake_card_expect(fc, "81E2110078*", "01029000");
    CU_ASSERT_EQUAL(es10_transceive(ses, obj, sizeof(obj), &resp, &sw), ST_E_PROTO);
    /* card removed in the middle of the chain */
    fake_card_expect(fc, "81E2110078*", "9000");
    fake_card_expect_fail(fc, "81E2110178*", ST_E_CARD_REMOVED);
    CU_ASSERT_EQUAL(es10_transceive(ses, obj, sizeof(obj), &resp, &sw), ST_E_CARD_REMOVED);
    CU_ASSERT_TRUE(fake_card_done(fc));
    es10_close(ses); /* MANAGE CHANNEL close fails quietly: the card is gone */
    ses = NULL;
    transport_free(tp);
    buf_free(&resp);
}

/* Le=00 on STORE DATA (case 4) when configured. */
static void test_store_data_le(void) {
    static const uint8_t req[] = {0xBF, 0x2E, 0x00};
    es10_opts_t o;
    es10_result_t res;
    buf_t resp = BUF_INIT;
    uint16_t sw;

    CU_ASSERT_EQUAL_FATAL(fake_card_new(TRANSPORT_PROTO_T1, &fc, &tp), ST_OK);
    memset(&o, 0, sizeof(o));
    o.store_data_le = true;
    o.no_terminal_capability = true;
    fake_card_expect(fc, "0070000001", "019000");
    fake_card_expect(fc, "01A4040010" ISDR "00", "9000");
    CU_ASSERT_EQUAL_FATAL(es10_open(tp, &o, &ses, &res), ST_OK);
    fake_card_expect(fc, "81E2910003BF2E0000", "BF2E009000");
    CU_ASSERT_EQUAL(es10_transceive(ses, req, sizeof(req), &resp, &sw), ST_OK);
    close_session();
    buf_free(&resp);
}

/* ---- ES10b / ES10c ---- */

static void test_get_eid(void) {
    uint8_t eid[16];
    es10_result_t res;

    open_session(1, 0);
    expect_store_data_hex(0x81, "BF3E035C015A", "BF3E125A10" EID_HEX "9000");
    CU_ASSERT_EQUAL(es10c_get_eid(ses, eid, &res), ST_OK);
    TU_ASSERT_HEX(eid, 16, EID_HEX);
    CU_ASSERT_EQUAL(res.sw, 0x9000);
    CU_ASSERT_FALSE(res.has_code);
    /* EID of the wrong length */
    expect_store_data_hex(0x81, "BF3E035C015A", "BF3E115A0F8904903212345123451234567890129000");
    CU_ASSERT_EQUAL(es10c_get_eid(ses, eid, &res), ST_E_PROTO);
    /* another function's tag */
    expect_store_data_hex(0x81, "BF3E035C015A", "BF2E009000");
    CU_ASSERT_EQUAL(es10c_get_eid(ses, eid, &res), ST_E_PROTO);
    /* trailing garbage */
    expect_store_data_hex(0x81, "BF3E035C015A", "BF3E125A10" EID_HEX "009000");
    CU_ASSERT_EQUAL(es10c_get_eid(ses, eid, &res), ST_E_PROTO);
    /* SW error */
    expect_store_data_hex(0x81, "BF3E035C015A", "6985");
    CU_ASSERT_EQUAL(es10c_get_eid(ses, eid, &res), ST_E_CARD_SW);
    CU_ASSERT_EQUAL(res.sw, 0x6985);
    close_session();
}

static void test_euicc_info2_and_challenge(void) {
    buf_t info = BUF_INIT;
    uint8_t ch[16];
    es10_result_t res;

    open_session(1, 0);
    expect_store_data_hex(0x81, "BF2200", "BF220F810302030082030202000403000000 9000");
    CU_ASSERT_EQUAL(es10b_get_euicc_info2(ses, &info, &res), ST_OK);
    TU_ASSERT_HEX(info.data, info.len, "BF220F810302030082030202000403000000");
    expect_store_data_hex(0x81, "BF2E00", "BF2E128010000102030405060708090A0B0C0D0E0F9000");
    CU_ASSERT_EQUAL(es10b_get_euicc_challenge(ses, ch, &res), ST_OK);
    TU_ASSERT_HEX(ch, 16, "000102030405060708090A0B0C0D0E0F");
    close_session();
    buf_free(&info);
}

/* Two profiles: one enabled operational one with names, one disabled without a class. */
#define PROFILE_LIST                                                                               \
    "BF2D 58 A0 56"                                                                                \
    "E3 34"                                                                                        \
    "5A0A 98001032547698103214"                                                                    \
    "4F10 A0000005591010FFFFFFFF8900001000"                                                        \
    "9F7001 01"                                                                                    \
    "9106 41636574656C" /* "Acetel" */                                                             \
    "9205 50726F6631"                                                                              \
    "9501 02"                                                                                      \
    "E3 1E"                                                                                        \
    "5A0A 984433221100000000F0"                                                                    \
    "4F0C A00000055910100000001100"                                                                \
    "9F7001 00"

static void test_list_profile_info(void) {
    es10_profile_list_t l;
    es10_result_t res;

    open_session(1, 0);
    expect_store_data_hex(0x81, "BF2D00", PROFILE_LIST "9000");
    CU_ASSERT_EQUAL_FATAL(es10c_list_profile_info(ses, &l, &res), ST_OK);
    CU_ASSERT_FALSE(res.has_code);
    CU_ASSERT_EQUAL_FATAL(l.n, 2);
    CU_ASSERT_TRUE(l.items[0].has_iccid);
    CU_ASSERT_STRING_EQUAL(l.items[0].iccid_str, "89000123456789012341");
    CU_ASSERT_EQUAL(l.items[0].aid_len, 16);
    CU_ASSERT_EQUAL(l.items[0].aid[15], 0x00);
    CU_ASSERT_EQUAL(l.items[0].state, ES10_PROFILE_STATE_ENABLED);
    CU_ASSERT_EQUAL(l.items[0].profile_class, ES10_PROFILE_CLASS_OPERATIONAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l.items[0].name);
    CU_ASSERT_STRING_EQUAL(l.items[0].name, "Prof1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(l.items[0].provider);
    CU_ASSERT_STRING_EQUAL(l.items[0].provider, "Acetel");
    CU_ASSERT_PTR_NULL(l.items[0].nickname);
    CU_ASSERT_STRING_EQUAL(l.items[1].iccid_str, "8944332211000000000");
    CU_ASSERT_EQUAL(l.items[1].aid_len, 12);
    CU_ASSERT_EQUAL(l.items[1].state, ES10_PROFILE_STATE_DISABLED);
    CU_ASSERT_EQUAL(l.items[1].profile_class, -1);
    CU_ASSERT_PTR_NULL(l.items[1].name);
    es10_profile_list_free(&l);

    /* empty list, and the error variant */
    expect_store_data_hex(0x81, "BF2D00", "BF2D02A0009000");
    CU_ASSERT_EQUAL(es10c_list_profile_info(ses, &l, &res), ST_OK);
    CU_ASSERT_EQUAL(l.n, 0);
    expect_store_data_hex(0x81, "BF2D00", "BF2D0381017F9000");
    CU_ASSERT_EQUAL(es10c_list_profile_info(ses, &l, &res), ST_OK);
    CU_ASSERT_TRUE(res.has_code);
    CU_ASSERT_EQUAL(res.code, 127);
    CU_ASSERT_EQUAL(l.n, 0);
    /* malformed: a bad state value */
    expect_store_data_hex(0x81, "BF2D00", "BF2D08A006E3049F700107 9000");
    CU_ASSERT_EQUAL(es10c_list_profile_info(ses, &l, &res), ST_E_PROTO);
    CU_ASSERT_EQUAL(l.n, 0);
    CU_ASSERT_PTR_NULL(l.items);
    close_session();
}

/* A PIR notification (seq 5) and an other-signed notification (seq 7). */
#define PIR_NOTIF                                                                                  \
    "BF37 1E"                                                                                      \
    "BF27 16 8002AABB BF2F0A 800105 81020780 0C01 78 060388370A"                                   \
    "5F37 02 0102"
#define OTHER_NOTIF "30 13 BF2F0B 800107 81020640 0C0278 79 5F37020304"

static void test_notifications(void) {
    es10_notification_list_t l;
    es10_result_t res;
    char resp[512];

    open_session(1, 0);
    snprintf(resp, sizeof(resp), "BF2B38A036%s%s9000", PIR_NOTIF, OTHER_NOTIF);
    expect_store_data_hex(0x81, "BF2B00", resp);
    CU_ASSERT_EQUAL_FATAL(es10b_retrieve_notifications_list(ses, &l, &res), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 2);
    CU_ASSERT_EQUAL(l.items[0].tag, 0xBF37);
    CU_ASSERT_EQUAL(l.items[0].seq, 5);
    TU_ASSERT_HEX(l.items[0].raw.data, l.items[0].raw.len, PIR_NOTIF);
    CU_ASSERT_EQUAL(l.items[1].tag, 0x30);
    CU_ASSERT_EQUAL(l.items[1].seq, 7);
    TU_ASSERT_HEX(l.items[1].raw.data, l.items[1].raw.len, OTHER_NOTIF);
    es10_notification_list_free(&l);

    expect_store_data_hex(0x81, "BF2B00", "BF2B0381017F9000");
    CU_ASSERT_EQUAL(es10b_retrieve_notifications_list(ses, &l, &res), ST_OK);
    CU_ASSERT_TRUE(res.has_code);
    CU_ASSERT_EQUAL(res.code, 127);
    CU_ASSERT_EQUAL(l.n, 0);

    expect_store_data_hex(0x81, "BF3003800105", "BF30038001009000");
    CU_ASSERT_EQUAL(es10b_remove_notification(ses, 5, &res), ST_OK);
    CU_ASSERT_TRUE(res.has_code);
    CU_ASSERT_EQUAL(res.code, 0);
    expect_store_data_hex(0x81, "BF300480020100", "BF30038001019000");
    CU_ASSERT_EQUAL(es10b_remove_notification(ses, 256, &res), ST_OK);
    CU_ASSERT_EQUAL(res.code, 1); /* nothingToDelete */
    close_session();
}

/* ---- ES10f ---- */

static void test_es10f(void) {
    static const uint8_t eid[16] = {0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23,
                                    0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x35};
    static const uint8_t cert[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    static const uint8_t sub[] = {0x30, 0x03, 0x02, 0x01, 0x02};
    es10_blob_t chain[1] = {{sub, sizeof(sub)}};
    EVP_PKEY *dm = NULL;
    es10_result_t res;
    es10f_key_status_t ks;
    uint64_t deleted = 99;
    const uint8_t *last;
    size_t n;
    buf_t tbs = BUF_INIT;
    uint8_t challenge[16];

    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &dm), ST_OK);
    memset(challenge, 0xC5, sizeof(challenge));
    open_session(1, 0);

    /* AuthoriseFpaServices with a fresh challenge: BF2E first, then FF40 signed over
     * 5A 10 EID || 80 10 challenge */
    expect_store_data_hex(0x81, "BF2E00", "BF2E128010C5C5C5C5C5C5C5C5C5C5C5C5C5C5C5C59000");
    fake_card_expect(fc, "81E2910049 FF4046 800101 5F3740*", "FF4003800100 9000");
    CU_ASSERT_EQUAL(es10f_authorise_fpa_services(ses, dm, eid, NULL, &res), ST_OK);
    CU_ASSERT_TRUE(res.has_code);
    CU_ASSERT_EQUAL(res.code, ES10F_OK);
    last = fake_card_last(fc, &n);
    CU_ASSERT_EQUAL_FATAL(n, 5 + 0x49);
    CU_ASSERT_EQUAL(es10f_auth_tbs(eid, challenge, &tbs), ST_OK);
    CU_ASSERT_EQUAL(ec_verify_raw(dm, tbs.data, tbs.len, last + 5 + 3 + 3 + 3, 64), ST_OK);
    /* given challenge, refused signature: a result, not an error */
    fake_card_expect(fc, "81E2910049FF4046800101*", "FF4003800102 9000");
    CU_ASSERT_EQUAL(es10f_authorise_fpa_services(ses, dm, eid, challenge, &res), ST_OK);
    CU_ASSERT_EQUAL(res.code, ES10F_INVALID_SIGNATURE);

    /* PrepareLoad: exact request bytes */
    expect_store_data_hex(0x81, "FF4114 800101 810103 A005 3003020101 A105 3003020102",
                          "FF41038001009000");
    CU_ASSERT_EQUAL(es10f_prepare_load(ses, 3, cert, sizeof(cert), chain, 1, &res), ST_OK);
    CU_ASSERT_EQUAL(res.code, 0);
    expect_store_data_hex(0x81, "FF410E 800101 81020100 A005 3003020101", "FF41038001069000");
    CU_ASSERT_EQUAL(es10f_prepare_load(ses, 256, cert, sizeof(cert), NULL, 0, &res), ST_OK);
    CU_ASSERT_EQUAL(res.code, ES10F_KEY_CONSUMED);

    /* GetOneTimeKeyStatus */
    expect_store_data_hex(0x81, "FF4303800101", "FF430F 800100 810164 820161 830103 840100 9000");
    CU_ASSERT_EQUAL(es10f_get_one_time_key_status(ses, &ks, &res), ST_OK);
    CU_ASSERT_EQUAL(ks.total, 100);
    CU_ASSERT_EQUAL(ks.unused, 97);
    CU_ASSERT_EQUAL(ks.consumed, 3);
    CU_ASSERT_FALSE(ks.fpa_locked);

    /* DeleteOneTimeKeys */
    expect_store_data_hex(0x81, "FF4203800101", "FF4206800100810161 9000");
    CU_ASSERT_EQUAL(es10f_delete_one_time_keys(ses, &deleted, &res), ST_OK);
    CU_ASSERT_EQUAL(res.code, 0);
    CU_ASSERT_EQUAL(deleted, 97);
    /* afterwards FPA services are locked: SW 6985 is data */
    expect_store_data_hex(0x81, "FF4203800101", "6985");
    CU_ASSERT_EQUAL(es10f_delete_one_time_keys(ses, &deleted, &res), ST_E_CARD_SW);
    CU_ASSERT_EQUAL(res.sw, 0x6985);
    CU_ASSERT_EQUAL(deleted, 0);
    expect_store_data_hex(0x81, "FF4303800101", "FF430F 800100 810164 820100 830103 8401FF 9000");
    CU_ASSERT_EQUAL(es10f_get_one_time_key_status(ses, &ks, &res), ST_OK);
    CU_ASSERT_TRUE(ks.fpa_locked);
    close_session();
    buf_free(&tbs);
    EVP_PKEY_free(dm);
}

/* ---- LoadBoundProfilePackage ---- */

/* A structurally valid BF36: segments
 *   0 BF36 hdr + BF23        (2 blocks at 120)
 *   1 A0 hdr + 87 (66)
 *   2 A1 hdr
 *   3 88 (34)   4 88 (50)
 *   5 A3 hdr
 *   6 86 (304: 3 blocks)     7 86 (82) */
static void build_bpp(buf_t *out) {
    uint8_t fill[300], otpk[65], sig[64];
    tlv_writer_t *w = tlv_writer_new();

    memset(fill, 0xEE, sizeof(fill));
    memset(otpk, 0x44, sizeof(otpk));
    otpk[0] = 0x04;
    memset(sig, 0x55, sizeof(sig));
    tlv_w_begin(w, 0xBF36);
    tlv_w_begin(w, 0xBF23);
    tlv_w_uint(w, 0x82, 1);
    tlv_w_put(w, 0x80, fill, 16);
    tlv_w_begin(w, 0xA6);
    tlv_w_put(w, 0x80, "\x88", 1);
    tlv_w_put(w, 0x81, "\x10", 1);
    tlv_w_put(w, 0x84, fill, 16);
    tlv_w_end(w);
    tlv_w_put(w, 0x5F49, otpk, sizeof(otpk));
    tlv_w_put(w, 0x5F37, sig, sizeof(sig));
    tlv_w_end(w);
    tlv_w_begin(w, 0xA0);
    tlv_w_put(w, 0x87, fill, 64);
    tlv_w_end(w);
    tlv_w_begin(w, 0xA1);
    tlv_w_put(w, 0x88, fill, 32);
    tlv_w_put(w, 0x88, fill, 48);
    tlv_w_end(w);
    tlv_w_begin(w, 0xA3);
    tlv_w_put(w, 0x86, fill, 300);
    tlv_w_put(w, 0x86, fill, 80);
    tlv_w_end(w);
    tlv_w_end(w);
    CU_ASSERT_EQUAL(tlv_w_finish(w, out), ST_OK);
    tlv_writer_free(w);
}

typedef struct {
    size_t calls;
    size_t last_bytes;
    size_t stop_after; /* 0: never */
} progress_t;

static bool on_progress(size_t done, size_t total, size_t bytes, size_t bytes_total, void *ud) {
    progress_t *p = ud;

    p->calls++;
    CU_ASSERT_TRUE(done <= total);
    CU_ASSERT_TRUE(bytes > p->last_bytes);
    CU_ASSERT_TRUE(bytes <= bytes_total);
    p->last_bytes = bytes;
    return p->stop_after == 0 || done < p->stop_after;
}

/* Segment boundaries of build_bpp's BF36 (offsets into the buffer). */
static size_t segment_ends(const buf_t *bpp, size_t *ends) {
    tlv_t top, part, child;
    tlv_iter_t it, cit;
    size_t n = 0;

    (void)tlv_parse_exact(bpp->data, bpp->len, &top);
    tlv_iter_children(&it, &top);
    while (tlv_iter_next(&it, &part) == ST_OK) {
        if (part.tag == 0xBF23) {
            ends[n++] = (size_t)(part.raw + part.raw_len - bpp->data);
            continue;
        }
        tlv_iter_children(&cit, &part);
        if (part.tag == 0xA0 && tlv_iter_next(&cit, &child) == ST_OK) {
            ends[n++] = (size_t)(child.raw + child.raw_len - bpp->data);
            continue;
        }
        ends[n++] = (size_t)(part.value - bpp->data);
        while (tlv_iter_next(&cit, &child) == ST_OK)
            ends[n++] = (size_t)(child.raw + child.raw_len - bpp->data);
    }
    return n;
}

#define PIR_OK                                                                                     \
    "BF3723 BF271B 8002AABB BF2F0A800109810207800C0178 060388370A A203A00100"                      \
    "5F37020102"

static void test_load_bpp(void) {
    buf_t bpp = BUF_INIT, pir = BUF_INIT;
    size_t ends[16], nseg, start;
    es10_lbpp_stats_t stats;
    es10_result_t res;
    progress_t prog;
    transport_counters_t c;

    build_bpp(&bpp);
    nseg = segment_ends(&bpp, ends);
    CU_ASSERT_EQUAL_FATAL(nseg, 8);

    /* 1. every segment acknowledged; the last answers 61xx and the PIR comes by GET RESPONSE */
    open_session(1, 0);
    start = 0;
    for (size_t i = 0; i < nseg; i++) {
        bool last = i + 1 == nseg;
        expect_store_data(0x81, bpp.data + start, ends[i] - start, 120, false,
                          last ? "6126" : "9000");
        start = ends[i];
    }
    fake_card_expect(fc, "01C0000026", PIR_OK "9000");
    memset(&prog, 0, sizeof(prog));
    transport_counters(tp, &c);
    CU_ASSERT_EQUAL(es10b_load_bound_profile_package(ses, bpp.data, bpp.len, &pir, &stats,
                                                     on_progress, &prog, &res),
                    ST_OK);
    TU_ASSERT_HEX(pir.data, pir.len, PIR_OK);
    CU_ASSERT_EQUAL(stats.segments_total, 8);
    CU_ASSERT_EQUAL(stats.segments_sent, 8);
    CU_ASSERT_EQUAL(stats.bytes_sent, bpp.len);
    /* blocks: 2 + 1 + 1 + 1 + 1 + 1 + 3 + 1 = 11, plus one GET RESPONSE */
    CU_ASSERT_EQUAL(stats.apdus, 12);
    CU_ASSERT_EQUAL(stats.tx_bytes, bpp.len + 11 * 5 + 5);
    CU_ASSERT_EQUAL(stats.rx_bytes, 11 * 2 + 0x26 + 2);
    CU_ASSERT_EQUAL(prog.calls, 8);
    CU_ASSERT_EQUAL(prog.last_bytes, bpp.len);
    CU_ASSERT_EQUAL(res.sw, 0x9000);
    close_session();

    /* 2. the card answers an error PIR at segment 3: nothing more is sent */
    open_session(1, 0);
    start = 0;
    for (size_t i = 0; i < 3; i++) {
        expect_store_data(0x81, bpp.data + start, ends[i] - start, 120, false,
                          i == 2 ? PIR_OK "9000" : "9000");
        start = ends[i];
    }
    CU_ASSERT_EQUAL(
        es10b_load_bound_profile_package(ses, bpp.data, bpp.len, &pir, &stats, NULL, NULL, &res),
        ST_OK);
    TU_ASSERT_HEX(pir.data, pir.len, PIR_OK);
    CU_ASSERT_EQUAL(stats.segments_sent, 3);
    close_session();

    /* 3. a non-empty answer that is no BF37 */
    open_session(1, 0);
    expect_store_data(0x81, bpp.data, ends[0], 120, false, "BF2E009000");
    CU_ASSERT_EQUAL(
        es10b_load_bound_profile_package(ses, bpp.data, bpp.len, &pir, &stats, NULL, NULL, &res),
        ST_E_PROTO);
    TU_ASSERT_HEX(pir.data, pir.len, "BF2E00");
    close_session();

    /* 4. no answer at all after the last segment */
    open_session(1, 0);
    start = 0;
    for (size_t i = 0; i < nseg; i++) {
        expect_store_data(0x81, bpp.data + start, ends[i] - start, 120, false, "9000");
        start = ends[i];
    }
    CU_ASSERT_EQUAL(
        es10b_load_bound_profile_package(ses, bpp.data, bpp.len, &pir, &stats, NULL, NULL, &res),
        ST_E_PROTO);
    CU_ASSERT_EQUAL(pir.len, 0);
    close_session();

    /* 5. FPA services not authorised: SW 6985 at the first block */
    open_session(1, 0);
    fake_card_expect(fc, "81E21100 78 BF36*", "6985");
    CU_ASSERT_EQUAL(
        es10b_load_bound_profile_package(ses, bpp.data, bpp.len, &pir, &stats, NULL, NULL, &res),
        ST_E_CARD_SW);
    CU_ASSERT_EQUAL(res.sw, 0x6985);
    CU_ASSERT_EQUAL(stats.segments_sent, 0);
    close_session();

    /* 6. card removed in the middle of segment 6 (the 3-block 86) */
    open_session(1, 0);
    start = 0;
    for (size_t i = 0; i < 6; i++) {
        expect_store_data(0x81, bpp.data + start, ends[i] - start, 120, false, "9000");
        start = ends[i];
    }
    fake_card_expect(fc, "81E2110078*", "9000");
    fake_card_expect_fail(fc, "81E2110178*", ST_E_CARD_REMOVED);
    CU_ASSERT_EQUAL(
        es10b_load_bound_profile_package(ses, bpp.data, bpp.len, &pir, &stats, NULL, NULL, &res),
        ST_E_CARD_REMOVED);
    CU_ASSERT_EQUAL(stats.segments_sent, 6);
    CU_ASSERT_EQUAL(stats.apdus, 2 + 5 + 2);
    CU_ASSERT_TRUE(fake_card_done(fc));
    es10_close(ses);
    ses = NULL;
    transport_free(tp);

    /* 7. the operator stops after segment 4 */
    open_session(1, 0);
    start = 0;
    for (size_t i = 0; i < 4; i++) {
        expect_store_data(0x81, bpp.data + start, ends[i] - start, 120, false, "9000");
        start = ends[i];
    }
    memset(&prog, 0, sizeof(prog));
    prog.stop_after = 4;
    CU_ASSERT_EQUAL(es10b_load_bound_profile_package(ses, bpp.data, bpp.len, &pir, &stats,
                                                     on_progress, &prog, &res),
                    ST_E_CANCELLED);
    CU_ASSERT_EQUAL(stats.segments_sent, 4);
    close_session();

    /* 8. not a BPP: refused before anything is sent */
    open_session(1, 0);
    CU_ASSERT_NOT_EQUAL(es10b_load_bound_profile_package(ses, bpp.data, bpp.len - 1, &pir, &stats,
                                                         NULL, NULL, &res),
                        ST_OK);
    close_session();

    buf_free(&bpp);
    buf_free(&pir);
}

void test_es10_register(void) {
    static const tu_test_t tests[] = {
        {"open/close on channels 1 and 7", test_open_close},
        {"open failures and options", test_open_failures},
        {"reopen after a reset", test_reopen_after_reset},
        {"STORE DATA blocks 64/120/255 around boundaries", test_store_data_blocks},
        {"STORE DATA 256-block limit", test_store_data_limit},
        {"STORE DATA response by GET RESPONSE", test_store_data_response_chain},
        {"STORE DATA 91xx success", test_store_data_91xx},
        {"STORE DATA errors mid-chain", test_store_data_errors},
        {"STORE DATA with Le", test_store_data_le},
        {"GetEID", test_get_eid},
        {"GetEUICCInfo2, GetEUICCChallenge", test_euicc_info2_and_challenge},
        {"ListProfileInfo", test_list_profile_info},
        {"notifications list and removal", test_notifications},
        {"ES10f FF40-FF43", test_es10f},
        {"LoadBoundProfilePackage", test_load_bpp},
    };
    TU_ADD_SUITE("es10", tests);
}
