/*
 * Unit tests: ProfileInstallationResult (BF37): build -> parse -> verify round trips, the
 * structure example of research §5.3, tampering, and a table of malformed inputs built with the
 * TLV writer from a spec (so lengths stay right and each case states only what it breaks).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/ec.h"
#include "fmt/pir.h"
#include "testutil.h"
#include "tlv/tlv.h"

/* research §5.3 values */
#define EX_TID   "00112233445566778899aabbccddeeff"
#define EX_ICCID "98001032547698103214"
#define EX_AID   "A0000005591010FFFFFFFF8900001000"
#define EX_ADDR  "smdpf.example.com"
#define EX_BF27                                                                                    \
    "BF2761"                                                                                       \
    "8010" EX_TID "BF2F26"                                                                         \
    "800100"                                                                                       \
    "81020780"                                                                                     \
    "0C11736D6470662E6578616D706C652E636F6D"                                                       \
    "5A0A" EX_ICCID "060388370A"                                                                   \
    "A21F"                                                                                         \
    "A01D"                                                                                         \
    "4F10" EX_AID "0409"                                                                           \
    "3007A0053003800100"

static const uint8_t oid_2_999_10[] = {0x88, 0x37, 0x0A};

static EVP_PKEY *key_a, *key_b;

static int pir_suite_init(void) {
    if (ec_key_generate(EC_CURVE_P256, &key_a) != ST_OK)
        return 1;
    if (ec_key_generate(EC_CURVE_BRAINPOOLP256R1, &key_b) != ST_OK)
        return 1;
    return 0;
}

static int pir_suite_clean(void) {
    EVP_PKEY_free(key_a);
    EVP_PKEY_free(key_b);
    key_a = key_b = NULL;
    return 0;
}

static pir_fields_t example_fields(buf_t *tid, buf_t *iccid, buf_t *aid) {
    pir_fields_t f;
    *tid = tu_hex(EX_TID);
    *iccid = tu_hex(EX_ICCID);
    *aid = tu_hex(EX_AID);
    memset(&f, 0, sizeof(f));
    f.tid = tid->data;
    f.tid_len = tid->len;
    f.seq_number = 0;
    f.notif_address = EX_ADDR;
    f.iccid = iccid->data;
    f.smdp_oid = oid_2_999_10;
    f.smdp_oid_len = sizeof(oid_2_999_10);
    f.success = true;
    f.aid = aid->data;
    f.aid_len = aid->len;
    return f;
}

static void test_example_structure(void) {
    buf_t tid, iccid, aid, out = BUF_INIT, bf27 = tu_hex(EX_BF27);
    pir_fields_t f = example_fields(&tid, &iccid, &aid);
    pir_view_t v;

    CU_ASSERT_EQUAL(bf27.len, 100); /* "the 100 bytes BF27 61 ..." */
    CU_ASSERT_EQUAL_FATAL(pir_build(&f, key_a, &out), ST_OK);
    CU_ASSERT_EQUAL_FATAL(pir_parse(out.data, out.len, &v), ST_OK);
    /* the builder emits exactly the research example's BF27 */
    CU_ASSERT_EQUAL(v.data.raw_len, 100);
    TU_ASSERT_HEX(v.data.raw, v.data.raw_len, EX_BF27);
    /* BF37 81 A7 { BF27 (100) | 5F37 40 (67) } */
    TU_ASSERT_HEX(out.data, 4, "BF3781A7");
    CU_ASSERT_EQUAL(out.len, 4 + 100 + 67);
    CU_ASSERT_EQUAL(v.tid_len, 16);
    CU_ASSERT_EQUAL(memcmp(v.tid, tid.data, 16), 0);
    CU_ASSERT_EQUAL(v.seq_number, 0);
    CU_ASSERT_EQUAL(v.notif_address_len, strlen(EX_ADDR));
    CU_ASSERT_EQUAL(memcmp(v.notif_address, EX_ADDR, strlen(EX_ADDR)), 0);
    CU_ASSERT_TRUE(v.has_iccid);
    CU_ASSERT_EQUAL(memcmp(v.iccid, iccid.data, 10), 0);
    CU_ASSERT_EQUAL(v.smdp_oid_len, 3);
    CU_ASSERT_TRUE(v.success);
    CU_ASSERT_EQUAL(v.aid_len, 16);
    TU_ASSERT_HEX(v.sima_response, v.sima_response_len, "3007A0053003800100");
    TU_ASSERT_HEX(v.event, v.event_len, "0780");
    CU_ASSERT_EQUAL(v.signature_len, 64);
    CU_ASSERT_EQUAL(pir_verify(&v, key_a), ST_OK);

    /* the example with a dummy signature parses the same way (structure only) */
    {
        buf_t ex = tu_hex("BF3781A7" EX_BF27 "5F3740"
                          "0000000000000000000000000000000000000000000000000000000000000000"
                          "0000000000000000000000000000000000000000000000000000000000000000");
        CU_ASSERT_EQUAL(pir_parse(ex.data, ex.len, &v), ST_OK);
        CU_ASSERT_EQUAL(pir_verify(&v, key_a), ST_E_BAD_SIGNATURE);
        buf_free(&ex);
    }
    buf_free(&out);
    buf_free(&bf27);
    buf_free(&tid);
    buf_free(&iccid);
    buf_free(&aid);
}

static void test_error_variant(void) {
    buf_t tid, iccid, aid, out = BUF_INIT;
    pir_fields_t f = example_fields(&tid, &iccid, &aid);
    pir_view_t v;
    tlv_t a2;

    f.success = false;
    f.aid = NULL;
    f.aid_len = 0;
    f.iccid = NULL;
    f.seq_number = 300;
    f.error_cmd = PIR_CMD_LOAD_PROFILE_ELEMENTS;
    f.error_reason = PIR_ERR_SCP03T_SECURITY_ERROR;
    CU_ASSERT_EQUAL_FATAL(pir_build(&f, key_b, &out), ST_OK);
    CU_ASSERT_EQUAL_FATAL(pir_parse(out.data, out.len, &v), ST_OK);
    CU_ASSERT_FALSE(v.success);
    CU_ASSERT_FALSE(v.has_iccid);
    CU_ASSERT_EQUAL(v.seq_number, 300);
    CU_ASSERT_EQUAL(v.error_cmd, 5);
    CU_ASSERT_EQUAL(v.error_reason, 8);
    CU_ASSERT_PTR_NULL(v.sima_response);
    /* research §5.3: A2 08 A1 06 80 01 05 81 01 08 */
    CU_ASSERT_EQUAL(tlv_find_child(&v.data, 0xA2, &a2), ST_OK);
    TU_ASSERT_HEX(a2.raw, a2.raw_len, "A208A106800105810108");
    CU_ASSERT_EQUAL(pir_verify(&v, key_b), ST_OK);
    CU_ASSERT_EQUAL(pir_verify(&v, key_a), ST_E_BAD_SIGNATURE); /* other key, other curve */
    CU_ASSERT_STRING_EQUAL(pir_cmd_name(v.error_cmd), "loadProfileElements");
    CU_ASSERT_STRING_EQUAL(pir_reason_name(v.error_reason), "scp03tSecurityError");
    CU_ASSERT_STRING_EQUAL(pir_reason_name(99), "unknownErrorReason");
    buf_free(&out);

    /* with a simaResponse */
    f.sima_response = (const uint8_t *)"\x30\x00";
    f.sima_response_len = 2;
    CU_ASSERT_EQUAL_FATAL(pir_build(&f, key_b, &out), ST_OK);
    CU_ASSERT_EQUAL_FATAL(pir_parse(out.data, out.len, &v), ST_OK);
    TU_ASSERT_HEX(v.sima_response, v.sima_response_len, "3000");
    CU_ASSERT_EQUAL(pir_verify(&v, key_b), ST_OK);
    buf_free(&out);
    buf_free(&tid);
    buf_free(&iccid);
    buf_free(&aid);
}

static void test_tamper(void) {
    buf_t tid, iccid, aid, out = BUF_INIT;
    pir_fields_t f = example_fields(&tid, &iccid, &aid);
    pir_view_t v;
    size_t positions[] = {20, 40, 60, 90, 110, 160};

    CU_ASSERT_EQUAL_FATAL(pir_build(&f, key_a, &out), ST_OK);
    for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
        size_t at = positions[i];
        out.data[at] ^= 0x01;
        /* a flipped byte in a value still parses (tid, address, aid, signature) ... */
        if (pir_parse(out.data, out.len, &v) == ST_OK)
            CU_ASSERT_EQUAL(pir_verify(&v, key_a), ST_E_BAD_SIGNATURE);
        out.data[at] ^= 0x01;
    }
    CU_ASSERT_EQUAL_FATAL(pir_parse(out.data, out.len, &v), ST_OK);
    CU_ASSERT_EQUAL(pir_verify(&v, key_a), ST_OK);
    CU_ASSERT_EQUAL(pir_verify(&v, NULL), ST_E_INVAL);
    buf_free(&out);

    /* builder input checks */
    f.tid_len = 17;
    CU_ASSERT_EQUAL(pir_build(&f, key_a, &out), ST_E_INVAL);
    f.tid_len = 16;
    f.aid_len = 4;
    CU_ASSERT_EQUAL(pir_build(&f, key_a, &out), ST_E_INVAL);
    f.aid_len = 16;
    f.smdp_oid_len = 0;
    CU_ASSERT_EQUAL(pir_build(&f, key_a, &out), ST_E_INVAL);
    CU_ASSERT_EQUAL(out.len, 0);
    buf_free(&tid);
    buf_free(&iccid);
    buf_free(&aid);
}

/* ---- malformed inputs ---- */

typedef struct {
    size_t tid_len;    /* 16 */
    size_t iccid_len;  /* 10; 0 = absent */
    size_t aid_len;    /* 16 */
    size_t sig_len;    /* 64; 0 = absent */
    const char *event; /* "0780" */
    bool omit_oid, omit_addr, omit_seq, bad_oid;
    int result;      /* 0 success, 1 error, 2 both, 3 empty A2, 4 A3 */
    bool bf2f_ext;   /* extension element in BF2F after iccid */
    bool extra_bf27; /* element after finalResult */
    bool extra_bf37; /* element after the signature */
    bool sr_ext;     /* element after simaResponse in successResult */
    bool sig_first;  /* 5F37 before BF27 */
    bool trailing;   /* a byte after BF37 */
} pspec_t;

static pspec_t pspec_default(void) {
    pspec_t s;
    memset(&s, 0, sizeof(s));
    s.tid_len = 16;
    s.iccid_len = 10;
    s.aid_len = 16;
    s.sig_len = 64;
    s.event = "0780";
    return s;
}

static buf_t pbuild(const pspec_t *s) {
    static const uint8_t z[128];
    buf_t out = BUF_INIT, ev = tu_hex(s->event);
    tlv_writer_t *w = tlv_writer_new();

    tlv_w_begin(w, 0xBF37);
    if (s->sig_first)
        tlv_w_put(w, 0x5F37, z, 64);
    tlv_w_begin(w, 0xBF27);
    tlv_w_put(w, 0x80, z, s->tid_len);
    tlv_w_begin(w, 0xBF2F);
    if (!s->omit_seq)
        tlv_w_uint(w, 0x80, 7);
    tlv_w_put(w, 0x81, ev.data, ev.len);
    if (!s->omit_addr)
        tlv_w_put(w, 0x0C, "a.b", 3);
    if (s->iccid_len)
        tlv_w_put(w, 0x5A, z, s->iccid_len);
    if (s->bf2f_ext)
        tlv_w_put(w, 0x83, "\x01", 1);
    tlv_w_end(w);
    if (!s->omit_oid)
        tlv_w_put(w, 0x06, s->bad_oid ? (const void *)"\x88" : (const void *)oid_2_999_10,
                  s->bad_oid ? 1 : 3);
    tlv_w_begin(w, 0xA2);
    if (s->result == 0 || s->result == 2) {
        tlv_w_begin(w, 0xA0);
        tlv_w_put(w, 0x4F, z, s->aid_len);
        tlv_w_put(w, 0x04, z, 9);
        if (s->sr_ext)
            tlv_w_put(w, 0x85, "\x01", 1);
        tlv_w_end(w);
    }
    if (s->result == 1 || s->result == 2) {
        tlv_w_begin(w, 0xA1);
        tlv_w_uint(w, 0x80, 5);
        tlv_w_uint(w, 0x81, 12);
        tlv_w_end(w);
    }
    if (s->result == 4) {
        tlv_w_begin(w, 0xA3);
        tlv_w_end(w);
    }
    tlv_w_end(w);
    if (s->extra_bf27)
        tlv_w_put(w, 0x85, "\x00", 1);
    tlv_w_end(w);
    if (s->sig_len && !s->sig_first)
        tlv_w_put(w, 0x5F37, z, s->sig_len);
    if (s->extra_bf37)
        tlv_w_put(w, 0x04, "\x00", 1);
    tlv_w_end(w);
    CU_ASSERT_EQUAL(tlv_w_finish(w, &out), ST_OK);
    if (s->trailing)
        buf_append_byte(&out, 0);
    tlv_writer_free(w);
    buf_free(&ev);
    return out;
}

typedef struct {
    const char *name;
    void (*mutate)(pspec_t *s);
    st_t want;
} pcase_t;

#define MUT(fn, body)                                                                              \
    static void fn(pspec_t *s) {                                                                   \
        body;                                                                                      \
    }
MUT(p_none, (void)s)
MUT(p_tid0, s->tid_len = 0)
MUT(p_tid17, s->tid_len = 17)
MUT(p_no_iccid, s->iccid_len = 0)
MUT(p_iccid9, s->iccid_len = 9)
MUT(p_aid4, s->aid_len = 4)
MUT(p_aid17, s->aid_len = 17)
MUT(p_no_sig, s->sig_len = 0)
MUT(p_sig63, s->sig_len = 63)
MUT(p_event_bad_unused, s->event = "0880")
MUT(p_event_empty, s->event = "07")
MUT(p_no_oid, s->omit_oid = true)
MUT(p_bad_oid, s->bad_oid = true)
MUT(p_no_addr, s->omit_addr = true)
MUT(p_no_seq, s->omit_seq = true)
MUT(p_error, s->result = 1)
MUT(p_both, s->result = 2)
MUT(p_empty_a2, s->result = 3)
MUT(p_a3, s->result = 4)
MUT(p_ext, s->bf2f_ext = true)
MUT(p_extra_bf27, s->extra_bf27 = true)
MUT(p_extra_bf37, s->extra_bf37 = true)
MUT(p_sig_first, s->sig_first = true)
MUT(p_trailing, s->trailing = true)
MUT(p_sr_ext, s->sr_ext = true)

static const pcase_t pcases[] = {
    {"valid", p_none, ST_OK},
    {"tid empty", p_tid0, ST_E_PARSE},
    {"tid 17 bytes", p_tid17, ST_E_PARSE},
    {"no iccid (optional)", p_no_iccid, ST_OK},
    {"iccid 9 bytes", p_iccid9, ST_E_PARSE},
    {"aid 4 bytes", p_aid4, ST_E_PARSE},
    {"aid 17 bytes", p_aid17, ST_E_PARSE},
    {"signature missing", p_no_sig, ST_E_PARSE},
    {"signature 63 bytes", p_sig63, ST_E_PARSE},
    {"event: 8 unused bits", p_event_bad_unused, ST_E_PARSE},
    {"event: no data octet", p_event_empty, ST_E_PARSE},
    {"smdpOid missing", p_no_oid, ST_E_PARSE},
    {"smdpOid malformed", p_bad_oid, ST_E_PARSE},
    {"notificationAddress missing", p_no_addr, ST_E_PARSE},
    {"seqNumber missing", p_no_seq, ST_E_PARSE},
    {"errorResult", p_error, ST_OK},
    {"success and error", p_both, ST_E_TRAILING},
    {"empty finalResult", p_empty_a2, ST_E_PARSE},
    {"finalResult A3", p_a3, ST_E_PARSE},
    {"BF2F extension element (tolerated)", p_ext, ST_OK},
    {"element after finalResult (extension, tolerated)", p_extra_bf27, ST_OK},
    {"element after signature", p_extra_bf37, ST_E_TRAILING},
    {"signature before data", p_sig_first, ST_E_PARSE},
    {"byte after BF37", p_trailing, ST_E_TRAILING},
    {"successResult extension (tolerated)", p_sr_ext, ST_OK},
};

static void test_malformed(void) {
    for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
        pspec_t s = pspec_default();
        buf_t b;
        pir_view_t v;
        st_t st;
        pcases[i].mutate(&s);
        b = pbuild(&s);
        st = pir_parse(b.data, b.len, &v);
        if (st != pcases[i].want)
            fprintf(stderr, "\ncase '%s': got %s want %s\n", pcases[i].name, st_name(st),
                    st_name(pcases[i].want));
        CU_ASSERT_EQUAL(st, pcases[i].want);
        buf_free(&b);
    }
}

static void test_framing(void) {
    pspec_t s = pspec_default();
    buf_t b = pbuild(&s), x;
    pir_view_t v;

    CU_ASSERT_EQUAL_FATAL(pir_parse(b.data, b.len, &v), ST_OK);
    for (size_t n = 0; n < b.len; n++)
        CU_ASSERT_EQUAL(pir_parse(b.data, n, &v), ST_E_TRUNCATED);
    x = tu_hex("BF3784FFFFFFFF00");
    CU_ASSERT_EQUAL(pir_parse(x.data, x.len, &v), ST_E_TRUNCATED);
    buf_free(&x);
    x = tu_hex("BF3605BF27020000"); /* another tag */
    CU_ASSERT_NOT_EQUAL(pir_parse(x.data, x.len, &v), ST_OK);
    buf_free(&x);
    x = tu_hex("BF3707BF270980010100"); /* BF27 overruns BF37 */
    CU_ASSERT_EQUAL(pir_parse(x.data, x.len, &v), ST_E_TRUNCATED);
    buf_free(&x);
    buf_free(&b);
}

void test_pir_register(void) {
    static const tu_test_t tests[] = {
        {"build = research §5.3 example, parse, verify", test_example_structure},
        {"errorResult variant", test_error_variant},
        {"tampered bytes -> BAD_SIGNATURE", test_tamper},
        {"malformed inputs table", test_malformed},
        {"framing: truncated, overruns", test_framing},
    };
    CU_pSuite s = CU_add_suite("pir", pir_suite_init, pir_suite_clean);
    if (!s) {
        fprintf(stderr, "CU_add_suite(pir): %s\n", CU_get_error_msg());
        exit(1);
    }
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
        if (!CU_add_test(s, tests[i].name, tests[i].fn)) {
            fprintf(stderr, "CU_add_test(%s): %s\n", tests[i].name, CU_get_error_msg());
            exit(1);
        }
}
