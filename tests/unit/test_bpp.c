/*
 * Unit tests: BoundProfilePackage (BF36) structure check, SGP.22 §2.5.5 segmentation and the
 * smdpSign TBS. BPP-shaped byte strings are built with the TLV writer from a spec, so each test
 * states only what it changes.
 */
#include <stdlib.h>
#include <string.h>

#include "fmt/bpp.h"
#include "testutil.h"
#include "tlv/tlv.h"

#define MAXN 8

typedef struct {
    size_t tid_len;        /* 16 */
    size_t host_len;       /* 12 */
    size_t otpk_len;       /* 65 */
    uint8_t otpk_first;    /* 04 */
    size_t sign_len;       /* 64 */
    uint8_t key_type;      /* 88 */
    bool omit_sign;        /* no 5F37 */
    bool extra_in_isc;     /* an element after 5F37 */
    size_t v87a[MAXN];     /* value lengths of the 87s in A0 (0 ends) */
    size_t v88[MAXN];      /* ... 88s in A1 */
    bool a2;               /* PPK mode */
    size_t v87b[MAXN];     /* ... 87s in A2 */
    size_t v86[MAXN];      /* ... 86s in A3 */
    uint32_t tag_in_a0;    /* element tag inside A0 (87) */
    uint32_t tag_in_a3;    /* element tag inside A3 (86) */
    bool swap_a0_a1;       /* wrong order */
    bool omit_a1, omit_a3; /* missing parts */
    bool extra_after_a3;   /* an element after A3 inside BF36 */
} spec_t;

static uint8_t pattern[4096];

static spec_t spec_default(void) {
    spec_t s;
    memset(&s, 0, sizeof(s));
    s.tid_len = 16;
    s.host_len = 12;
    s.otpk_len = 65;
    s.otpk_first = 0x04;
    s.sign_len = 64;
    s.key_type = 0x88;
    s.v87a[0] = 24;
    s.v88[0] = 40;
    s.v86[0] = 1016;
    s.v86[1] = 1016;
    s.v86[2] = 300;
    s.tag_in_a0 = 0x87;
    s.tag_in_a3 = 0x86;
    return s;
}

static void put_list(tlv_writer_t *w, uint32_t part, uint32_t tag, const size_t *v) {
    tlv_w_begin(w, part);
    for (size_t i = 0; i < MAXN && v[i]; i++)
        tlv_w_put(w, tag, pattern + i, v[i]);
    tlv_w_end(w);
}

/* Builds the BPP described by s into a fresh buffer. */
static buf_t build(const spec_t *s) {
    buf_t b = BUF_INIT;
    uint8_t otpk[80];
    tlv_writer_t *w = tlv_writer_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 7 + 3);
    memset(otpk, 0x11, sizeof(otpk));
    otpk[0] = s->otpk_first;

    tlv_w_begin(w, 0xBF36);
    tlv_w_begin(w, 0xBF23);
    tlv_w_uint(w, 0x82, 1);
    tlv_w_put(w, 0x80, pattern + 100, s->tid_len);
    tlv_w_begin(w, 0xA6);
    tlv_w_put_copy(w, 0x80, &s->key_type, 1);
    tlv_w_put(w, 0x81, "\x10", 1);
    tlv_w_put(w, 0x84, "GSMA_HOST_ID_LONGER_THAN_16", s->host_len);
    tlv_w_end(w);
    tlv_w_put_copy(w, 0x5F49, otpk, s->otpk_len);
    if (!s->omit_sign)
        tlv_w_put(w, 0x5F37, pattern + 200, s->sign_len);
    if (s->extra_in_isc)
        tlv_w_put(w, 0x99, "x", 1);
    tlv_w_end(w);
    if (s->swap_a0_a1 && !s->omit_a1)
        put_list(w, 0xA1, 0x88, s->v88);
    put_list(w, 0xA0, s->tag_in_a0, s->v87a);
    if (!s->swap_a0_a1 && !s->omit_a1)
        put_list(w, 0xA1, 0x88, s->v88);
    if (s->a2)
        put_list(w, 0xA2, 0x87, s->v87b);
    if (!s->omit_a3)
        put_list(w, 0xA3, s->tag_in_a3, s->v86);
    if (s->extra_after_a3)
        tlv_w_put(w, 0x99, "x", 1);
    tlv_w_end(w);
    CU_ASSERT_EQUAL(tlv_w_finish(w, &b), ST_OK);
    tlv_writer_free(w);
    return b;
}

static st_t parse_spec(const spec_t *s) {
    buf_t b = build(s);
    bpp_view_t v;
    st_t st = bpp_parse(b.data, b.len, &v);
    buf_free(&b);
    return st;
}

static void test_parse_basic(void) {
    spec_t s = spec_default();
    buf_t b = build(&s);
    bpp_view_t v;

    CU_ASSERT_EQUAL_FATAL(bpp_parse(b.data, b.len, &v), ST_OK);
    CU_ASSERT_EQUAL(v.bpp.raw_len, b.len);
    CU_ASSERT_EQUAL(v.isc.tag, 0xBF23);
    CU_ASSERT_EQUAL(v.remote_op, 1);
    CU_ASSERT_EQUAL(v.tid_len, 16);
    CU_ASSERT_EQUAL(memcmp(v.tid, pattern + 100, 16), 0);
    CU_ASSERT_EQUAL(v.key_type, 0x88);
    CU_ASSERT_EQUAL(v.key_len, 0x10);
    CU_ASSERT_EQUAL(v.host_id_len, 12);
    CU_ASSERT_EQUAL(memcmp(v.host_id, "GSMA_HOST_ID", 12), 0);
    CU_ASSERT_EQUAL(v.smdp_otpk.len, 65);
    CU_ASSERT_EQUAL(v.smdp_sign.len, 64);
    CU_ASSERT_FALSE(v.has_a2);
    CU_ASSERT_EQUAL(v.n87_first, 1);
    CU_ASSERT_EQUAL(v.n88, 1);
    CU_ASSERT_EQUAL(v.n87_second, 0);
    CU_ASSERT_EQUAL(v.n86, 3);
    CU_ASSERT_TRUE(bpp_check_crt(&v));
    buf_free(&b);

    s.key_type = 0x80;
    b = build(&s);
    CU_ASSERT_EQUAL_FATAL(bpp_parse(b.data, b.len, &v), ST_OK);
    CU_ASSERT_FALSE(bpp_check_crt(&v)); /* structure fine, value not SGP.22's */
    buf_free(&b);
}

/* Checks that the segments partition the BPP in order and have the §2.5.5 shapes. */
static void check_segments(const buf_t *b, const bpp_view_t *v, const char *const *first_tags,
                           size_t want_n) {
    bpp_segment_t *segs = NULL;
    size_t n = 0, off = 0;

    CU_ASSERT_EQUAL_FATAL(bpp_segments(v, &segs, &n), ST_OK);
    CU_ASSERT_EQUAL(n, want_n);
    for (size_t i = 0; i < n && i < want_n; i++) {
        buf_t tag = tu_hex(first_tags[i]);
        CU_ASSERT_PTR_EQUAL(segs[i].p, b->data + off); /* contiguous, in order */
        CU_ASSERT_TRUE(segs[i].len >= tag.len);
        CU_ASSERT_EQUAL(memcmp(segs[i].p, tag.data, tag.len), 0);
        off += segs[i].len;
        buf_free(&tag);
    }
    CU_ASSERT_EQUAL(off, b->len); /* together exactly the BPP */
    free(segs);
}

static void test_segments_session_mode(void) {
    spec_t s = spec_default();
    buf_t b = build(&s);
    bpp_view_t v;
    bpp_segment_t *segs = NULL;
    size_t n;
    static const char *const tags[] = {"BF36", "A0", "A1", "88", "A3", "86", "86", "86"};

    CU_ASSERT_EQUAL_FATAL(bpp_parse(b.data, b.len, &v), ST_OK);
    check_segments(&b, &v, tags, 8);
    CU_ASSERT_EQUAL_FATAL(bpp_segments(&v, &segs, &n), ST_OK);
    /* [BF36 hdr + BF23]: ends where A0 starts */
    CU_ASSERT_EQUAL(segs[0].len, (size_t)(v.a0.raw - b.data));
    CU_ASSERT_EQUAL(segs[0].len, v.bpp.hdr_len + v.isc.raw_len);
    /* [A0 hdr + first 87] = A0 1A 87 18 <24> */
    CU_ASSERT_EQUAL(segs[1].len, 2 + 2 + 24);
    TU_ASSERT_HEX(segs[1].p, 4, "A01A8718");
    /* [A1 hdr] alone, then the 88 */
    TU_ASSERT_HEX(segs[2].p, segs[2].len, "A12A");
    CU_ASSERT_EQUAL(segs[3].len, 42);
    /* [A3 hdr] alone: 3 * (4 + 1016) - the last is 86 82 012C: 1020 + 1020 + 304 = 2344 */
    TU_ASSERT_HEX(segs[4].p, segs[4].len, "A3820928");
    CU_ASSERT_EQUAL(segs[5].len, 1020);
    TU_ASSERT_HEX(segs[5].p, 4, "868203F8");
    CU_ASSERT_EQUAL(segs[6].len, 1020);
    CU_ASSERT_EQUAL(segs[7].len, 304);
    TU_ASSERT_HEX(segs[7].p, 4, "8682012C");
    free(segs);
    buf_free(&b);
}

static void test_segments_ppk_multi(void) {
    spec_t s = spec_default();
    buf_t b;
    bpp_view_t v;
    static const char *const tags[] = {"BF36", "A0", "87", "A1", "88", "88", "88",
                                       "A2",   "A3", "86", "86", "86", "86"};

    s.a2 = true;
    s.v87a[1] = 10; /* a second 87 in A0: its own segment */
    s.v88[0] = 1016;
    s.v88[1] = 1016;
    s.v88[2] = 5;
    s.v87b[0] = 56;
    s.v86[3] = 1;
    b = build(&s);
    CU_ASSERT_EQUAL_FATAL(bpp_parse(b.data, b.len, &v), ST_OK);
    CU_ASSERT_TRUE(v.has_a2);
    CU_ASSERT_EQUAL(v.n87_first, 2);
    CU_ASSERT_EQUAL(v.n88, 3);
    CU_ASSERT_EQUAL(v.n87_second, 1);
    CU_ASSERT_EQUAL(v.n86, 4);
    check_segments(&b, &v, tags, 13);
    {
        bpp_segment_t *segs = NULL;
        size_t n;
        CU_ASSERT_EQUAL_FATAL(bpp_segments(&v, &segs, &n), ST_OK);
        /* [A2 hdr + 87]: A2 3A 87 38 <56> as one segment */
        CU_ASSERT_EQUAL(segs[7].len, 2 + 2 + 56);
        TU_ASSERT_HEX(segs[7].p, 4, "A23A8738");
        free(segs);
    }
    buf_free(&b);
}

static void test_segment_limits(void) {
    spec_t s = spec_default();

    s.v86[0] = 1016; /* 86 82 03F8: 1020 bytes */
    CU_ASSERT_EQUAL(parse_spec(&s), ST_OK);
    s.v86[0] = 1017; /* 1021 bytes */
    CU_ASSERT_EQUAL(parse_spec(&s), ST_E_TOO_LARGE);

    s = spec_default();
    s.v88[0] = 1016;
    CU_ASSERT_EQUAL(parse_spec(&s), ST_OK);
    s.v88[0] = 1017;
    CU_ASSERT_EQUAL(parse_spec(&s), ST_E_TOO_LARGE);

    s = spec_default();
    s.v87a[0] = 1017;
    CU_ASSERT_EQUAL(parse_spec(&s), ST_E_TOO_LARGE);

    s = spec_default();
    s.a2 = true;
    s.v87b[0] = 1016;
    CU_ASSERT_EQUAL(parse_spec(&s), ST_OK);
    s.v87b[0] = 1017;
    CU_ASSERT_EQUAL(parse_spec(&s), ST_E_TOO_LARGE);
}

typedef struct {
    const char *name;
    void (*mutate)(spec_t *s);
    st_t want;
} mut_case_t;

static void m_swap(spec_t *s) {
    s->swap_a0_a1 = true;
}
static void m_no_a1(spec_t *s) {
    s->omit_a1 = true;
}
static void m_no_a3(spec_t *s) {
    s->omit_a3 = true;
}
static void m_88_in_a0(spec_t *s) {
    s->tag_in_a0 = 0x88;
}
static void m_87_in_a3(spec_t *s) {
    s->tag_in_a3 = 0x87;
}
static void m_empty_a3(spec_t *s) {
    memset(s->v86, 0, sizeof(s->v86));
}
static void m_empty_a2(spec_t *s) {
    s->a2 = true;
}
static void m_no_sign(spec_t *s) {
    s->omit_sign = true;
}
static void m_sign63(spec_t *s) {
    s->sign_len = 63;
}
static void m_otpk64(spec_t *s) {
    s->otpk_len = 64;
}
static void m_otpk_compressed(spec_t *s) {
    s->otpk_first = 0x02;
}
static void m_tid0(spec_t *s) {
    s->tid_len = 0;
}
static void m_tid1(spec_t *s) {
    s->tid_len = 1;
}
static void m_tid17(spec_t *s) {
    s->tid_len = 17;
}
static void m_host16(spec_t *s) {
    s->host_len = 16;
}
static void m_host17(spec_t *s) {
    s->host_len = 17;
}
static void m_extra_isc(spec_t *s) {
    s->extra_in_isc = true;
}
static void m_extra_a3(spec_t *s) {
    s->extra_after_a3 = true;
}

static const mut_case_t mut_cases[] = {
    {"A1 before A0", m_swap, ST_E_PARSE},
    {"A1 missing", m_no_a1, ST_E_PARSE},
    {"A3 missing", m_no_a3, ST_E_PARSE},
    {"88 in A0", m_88_in_a0, ST_E_PARSE},
    {"87 in A3", m_87_in_a3, ST_E_PARSE},
    {"empty A3", m_empty_a3, ST_E_PARSE},
    {"empty A2", m_empty_a2, ST_E_PARSE},
    {"smdpSign missing", m_no_sign, ST_E_PARSE},
    {"smdpSign 63 bytes", m_sign63, ST_E_PARSE},
    {"otPK 64 bytes", m_otpk64, ST_E_PARSE},
    {"otPK compressed", m_otpk_compressed, ST_E_PARSE},
    {"tid empty", m_tid0, ST_E_PARSE},
    {"tid 1 byte", m_tid1, ST_OK},
    {"tid 17 bytes", m_tid17, ST_E_PARSE},
    {"hostId 16 bytes", m_host16, ST_OK},
    {"hostId 17 bytes", m_host17, ST_E_PARSE},
    {"element after smdpSign", m_extra_isc, ST_E_TRAILING},
    {"element after A3", m_extra_a3, ST_E_TRAILING},
};

static void test_malformed_structure(void) {
    for (size_t i = 0; i < sizeof(mut_cases) / sizeof(mut_cases[0]); i++) {
        spec_t s = spec_default();
        st_t st;
        mut_cases[i].mutate(&s);
        st = parse_spec(&s);
        if (st != mut_cases[i].want)
            fprintf(stderr, "\ncase '%s': got %s want %s\n", mut_cases[i].name, st_name(st),
                    st_name(mut_cases[i].want));
        CU_ASSERT_EQUAL(st, mut_cases[i].want);
    }
}

static void test_framing(void) {
    spec_t s = spec_default();
    buf_t b = build(&s);
    bpp_view_t v;
    uint8_t save;

    /* trailing garbage after BF36 */
    CU_ASSERT_EQUAL_FATAL(buf_append_byte(&b, 0x00), ST_OK);
    CU_ASSERT_EQUAL(bpp_parse(b.data, b.len, &v), ST_E_TRAILING);
    b.len--;
    /* every proper prefix is truncated, never accepted */
    for (size_t n = 0; n < b.len; n++)
        CU_ASSERT_EQUAL(bpp_parse(b.data, n, &v), ST_E_TRUNCATED);
    /* not a BF36 */
    save = b.data[1];
    b.data[1] = 0x37;
    CU_ASSERT_EQUAL(bpp_parse(b.data, b.len, &v), ST_E_PARSE);
    b.data[1] = save;
    CU_ASSERT_EQUAL(bpp_parse(b.data, b.len, &v), ST_OK);
    buf_free(&b);

    /* an inner length overrunning its parent: A0 1A claims more than BF36 holds */
    {
        buf_t x = tu_hex("BF3607A0108703010203");
        CU_ASSERT_EQUAL(bpp_parse(x.data, x.len, &v), ST_E_TRUNCATED);
        buf_free(&x);
        x = tu_hex("BF3684FFFFFFF0A000");
        CU_ASSERT_EQUAL(bpp_parse(x.data, x.len, &v), ST_E_TRUNCATED);
        buf_free(&x);
        x = tu_hex("BF36");
        CU_ASSERT_EQUAL(bpp_parse(x.data, x.len, &v), ST_E_TRUNCATED);
        buf_free(&x);
        CU_ASSERT_EQUAL(bpp_parse(NULL, 0, &v), ST_E_TRUNCATED);
    }
}

static void test_smdp_sign_tbs(void) {
    spec_t s = spec_default();
    buf_t b = build(&s), tbs = BUF_INIT, want = BUF_INIT;
    bpp_view_t v;
    uint8_t euicc_otpk[65];
    tlv_writer_t *w = tlv_writer_new();

    memset(euicc_otpk, 0x5A, sizeof(euicc_otpk));
    euicc_otpk[0] = 0x04;
    CU_ASSERT_EQUAL_FATAL(bpp_parse(b.data, b.len, &v), ST_OK);
    CU_ASSERT_EQUAL(bpp_smdp_sign_tbs(&v, euicc_otpk, 65, &tbs), ST_OK);

    /* research §3.9: 82 01 01 | 80 tid | A6 {...} | 5F49 41 otPK.DP | 5F49 41 otPK.EUICC */
    tlv_w_uint(w, 0x82, 1);
    tlv_w_put(w, 0x80, pattern + 100, 16);
    tlv_w_begin(w, 0xA6);
    tlv_w_put(w, 0x80, "\x88", 1);
    tlv_w_put(w, 0x81, "\x10", 1);
    tlv_w_put(w, 0x84, "GSMA_HOST_ID", 12);
    tlv_w_end(w);
    tlv_w_put(w, 0x5F49, v.smdp_otpk.value, 65);
    tlv_w_put(w, 0x5F49, euicc_otpk, 65);
    CU_ASSERT_EQUAL(tlv_w_finish(w, &want), ST_OK);
    CU_ASSERT_EQUAL(tbs.len, want.len);
    CU_ASSERT_EQUAL(memcmp(tbs.data, want.data, want.len), 0);
    TU_ASSERT_HEX(tbs.data + tbs.len - 68, 4, "5F494104");

    /* a wrong-size key is refused and leaves the output alone */
    tbs.len = 0;
    CU_ASSERT_EQUAL(bpp_smdp_sign_tbs(&v, euicc_otpk, 64, &tbs), ST_E_INVAL);
    CU_ASSERT_EQUAL(tbs.len, 0);

    tlv_writer_free(w);
    buf_free(&want);
    buf_free(&tbs);
    buf_free(&b);
}

static void test_segments_bad_view(void) {
    bpp_view_t v;
    bpp_segment_t *segs = (bpp_segment_t *)1;
    size_t n = 7;
    memset(&v, 0, sizeof(v));
    CU_ASSERT_EQUAL(bpp_segments(&v, &segs, &n), ST_E_INVAL);
    CU_ASSERT_PTR_NULL(segs);
    CU_ASSERT_EQUAL(n, 0);
    {
        spec_t s = spec_default();
        buf_t b = build(&s);
        CU_ASSERT_EQUAL_FATAL(bpp_parse(b.data, b.len, &v), ST_OK);
        v.n86 = 2; /* counts not matching the parts: refused, no overflow */
        CU_ASSERT_EQUAL(bpp_segments(&v, &segs, &n), ST_E_INVAL);
        v.n86 = 9;
        CU_ASSERT_EQUAL(bpp_segments(&v, &segs, &n), ST_E_INVAL);
        buf_free(&b);
    }
}

void test_bpp_register(void) {
    static const tu_test_t tests[] = {
        {"parse: production-like BPP", test_parse_basic},
        {"segments: session-key mode, exact bytes", test_segments_session_mode},
        {"segments: PPK mode, several 87/88/86", test_segments_ppk_multi},
        {"segment limit 1020 bytes", test_segment_limits},
        {"malformed structure table", test_malformed_structure},
        {"framing: trailing, truncated, overruns", test_framing},
        {"smdpSign TBS", test_smdp_sign_tbs},
        {"segments: inconsistent view", test_segments_bad_view},
    };
    TU_ADD_SUITE("bpp", tests);
}
