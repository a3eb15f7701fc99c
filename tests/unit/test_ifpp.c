/*
 * Unit tests: the IFPP exchange files (docs/ifpp-files.asn): encode -> decode round trips of
 * .ifppe/.ifppr/.ifppl, the streamed .ifppb writer/reader (hundreds of entries, bounded memory,
 * tee), and strictness: truncation at every offset, trailing bytes, version 2, count mismatch,
 * huge lengths, empty files, and error contexts naming the entry and field.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "fmt/ifpp.h"
#include "fmt/ifpp_int.h" /* white-box: GeneralizedTime helpers */
#include "testutil.h"
#include "tlv/tlv.h"

static const uint8_t oid_2_999_10[] = {0x88, 0x37, 0x0A};

/* ---- fixtures ---- */

static void fill(uint8_t *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

/* A Certificate-shaped blob: 30 82 LLLL <pattern> (owned). */
static ifpp_blob_t fake_cert(unsigned seed, size_t len) {
    buf_t b = BUF_INIT;
    uint8_t *v;
    ifpp_blob_t out;
    CU_ASSERT_EQUAL(tlv_buf_header(&b, 0x30, len), ST_OK);
    v = buf_extend(&b, len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    fill(v, len, seed);
    out.p = b.data;
    out.len = b.len;
    return out;
}

static ifpp_blob_t fake_tlv(uint32_t tag, unsigned seed, size_t len) {
    buf_t b = BUF_INIT;
    uint8_t *v;
    ifpp_blob_t out;
    CU_ASSERT_EQUAL(tlv_buf_header(&b, tag, len), ST_OK);
    v = buf_extend(&b, len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    fill(v, len, seed);
    out.p = b.data;
    out.len = b.len;
    return out;
}

static void mk_otk(ifpp_otk_t *k, uint32_t idx, unsigned seed) {
    k->key_index = idx;
    fill(k->otpk, sizeof(k->otpk), seed);
    k->otpk[0] = 0x04;
    fill(k->sig, sizeof(k->sig), seed + 1000);
}

static void mk_eid(uint8_t eid[IFPP_EID_LEN], unsigned i) {
    static const uint8_t prefix[] = {0x89, 0x04, 0x90, 0x32, 0x00, 0x00, 0x00, 0x00};
    memcpy(eid, prefix, sizeof(prefix));
    for (size_t k = 8; k < IFPP_EID_LEN; k++)
        eid[k] = (uint8_t)((uint64_t)i >> (8 * (IFPP_EID_LEN - 1 - k)));
}

static ifpp_edata_t *make_edata(size_t n, size_t keys) {
    ifpp_edata_t *d = calloc(1, sizeof(*d));
    d->version = IFPP_FORMAT_VERSION;
    snprintf(d->batch_id, sizeof(d->batch_id), "batch-Ä-%zu", n);
    d->created_at = 1709210096;
    d->cert_eum = fake_cert(1, 700);
    d->n_euiccs = n;
    d->euiccs = calloc(n, sizeof(*d->euiccs));
    for (size_t i = 0; i < n; i++) {
        ifpp_euicc_t *e = &d->euiccs[i];
        mk_eid(e->eid, (unsigned)i);
        if (i % 2 == 0)
            e->euicc_info2 = fake_tlv(0xBF22, (unsigned)i, 90);
        e->cert_euicc = fake_cert(10 + (unsigned)i, 500 + i);
        e->n_keys = keys;
        e->keys = calloc(keys, sizeof(*e->keys));
        for (size_t k = 0; k < keys; k++)
            mk_otk(&e->keys[k], (uint32_t)(k * 3 + (k >= 2 ? 200 : 0)), (unsigned)(i * 100 + k));
    }
    return d;
}

static bool blob_eq(const ifpp_blob_t *a, const ifpp_blob_t *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static void check_edata_eq(const ifpp_edata_t *a, const ifpp_edata_t *b) {
    CU_ASSERT_EQUAL(b->version, 1);
    CU_ASSERT_STRING_EQUAL(a->batch_id, b->batch_id);
    CU_ASSERT_EQUAL(a->created_at, b->created_at);
    CU_ASSERT_TRUE(blob_eq(&a->cert_eum, &b->cert_eum));
    CU_ASSERT_EQUAL_FATAL(a->n_euiccs, b->n_euiccs);
    for (size_t i = 0; i < a->n_euiccs; i++) {
        const ifpp_euicc_t *x = &a->euiccs[i], *y = &b->euiccs[i];
        CU_ASSERT_EQUAL(memcmp(x->eid, y->eid, IFPP_EID_LEN), 0);
        CU_ASSERT_TRUE(blob_eq(&x->euicc_info2, &y->euicc_info2));
        CU_ASSERT_TRUE(blob_eq(&x->cert_euicc, &y->cert_euicc));
        CU_ASSERT_EQUAL_FATAL(x->n_keys, y->n_keys);
        CU_ASSERT_EQUAL(memcmp(x->keys, y->keys, x->n_keys * sizeof(*x->keys)), 0);
    }
}

/* Offset of the first occurrence of needle in hay (SIZE_MAX if none). */
static size_t find(const buf_t *hay, const void *needle, size_t n) {
    for (size_t i = 0; i + n <= hay->len; i++)
        if (memcmp(hay->data + i, needle, n) == 0)
            return i;
    return SIZE_MAX;
}

/* Offset of the version INTEGER's value octet (02 01 01 right after the top header). */
static size_t version_at(const buf_t *der) {
    tlv_t top;
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(der->data, der->len, &top), ST_OK);
    CU_ASSERT_EQUAL(der->data[top.hdr_len], 0x02);
    CU_ASSERT_EQUAL(der->data[top.hdr_len + 1], 0x01);
    CU_ASSERT_EQUAL(der->data[top.hdr_len + 2], 0x01);
    return top.hdr_len + 2;
}

typedef st_t (*decode_fn)(const uint8_t *der, size_t len, void **out, ifpp_err_t *err);
typedef void (*free_fn)(void *p);

static st_t dec_edata(const uint8_t *der, size_t len, void **out, ifpp_err_t *err) {
    return ifpp_edata_decode_ex(der, len, (ifpp_edata_t **)out, err);
}
static void free_edata(void *p) {
    ifpp_edata_free(p);
}
static st_t dec_request(const uint8_t *der, size_t len, void **out, ifpp_err_t *err) {
    return ifpp_request_decode_ex(der, len, (ifpp_request_t **)out, err);
}
static void free_request(void *p) {
    ifpp_request_free(p);
}
static st_t dec_report(const uint8_t *der, size_t len, void **out, ifpp_err_t *err) {
    return ifpp_report_decode_ex(der, len, (ifpp_report_t **)out, err);
}
static void free_report(void *p) {
    ifpp_report_free(p);
}

/* The strictness every decoder must show on a valid encoding `der`. */
static void check_strict(const buf_t *der, decode_fn dec, free_fn fr) {
    buf_t x = BUF_INIT;
    void *out = (void *)1;
    ifpp_err_t err;
    size_t step = der->len > 4000 ? 7 : 1;

    CU_ASSERT_EQUAL_FATAL(dec(der->data, der->len, &out, &err), ST_OK);
    CU_ASSERT_EQUAL(err.st, ST_OK);
    fr(out);
    /* every proper prefix: truncated, nothing returned */
    for (size_t n = 0; n < der->len; n += step) {
        out = (void *)1;
        st_t st = dec(der->data, n, &out, &err);
        if (st != ST_E_TRUNCATED)
            fprintf(stderr, "\nprefix %zu/%zu: %s\n", n, der->len, st_name(st));
        CU_ASSERT_EQUAL(st, ST_E_TRUNCATED);
        CU_ASSERT_EQUAL(err.st, st);
        CU_ASSERT_PTR_NULL(out);
    }
    CU_ASSERT_EQUAL(dec(NULL, 0, &out, &err), ST_E_TRUNCATED);
    /* trailing garbage */
    buf_append(&x, der->data, der->len);
    buf_append_byte(&x, 0x00);
    CU_ASSERT_EQUAL(dec(x.data, x.len, &out, &err), ST_E_TRAILING);
    CU_ASSERT_EQUAL(err.offset, der->len);
    CU_ASSERT_PTR_NULL(out);
    /* version 2 */
    x.len = der->len;
    {
        size_t vat = version_at(&x);
        x.data[vat] = 0x02;
        CU_ASSERT_EQUAL(dec(x.data, x.len, &out, &err), ST_E_VERSION);
        CU_ASSERT_STRING_EQUAL(err.field, "version");
        CU_ASSERT_EQUAL(err.offset, vat - 2);
        x.data[vat] = 0x00;
        CU_ASSERT_EQUAL(dec(x.data, x.len, &out, &err), ST_E_VERSION);
        x.data[vat] = 0x01;
    }
    CU_ASSERT_EQUAL(dec(x.data, x.len, &out, &err), ST_OK);
    fr(out);
    /* huge length on the top SEQUENCE */
    buf_reset(&x);
    buf_append(&x, "\x30\x84\xFF\xFF\xFF\xF0\x02\x01\x01", 9);
    CU_ASSERT_EQUAL(dec(x.data, x.len, &out, &err), ST_E_TRUNCATED);
    /* not a SEQUENCE */
    buf_reset(&x);
    buf_append(&x, "\x31\x03\x02\x01\x01", 5);
    CU_ASSERT_EQUAL(dec(x.data, x.len, &out, &err), ST_E_PARSE);
    /* an element appended inside the top SEQUENCE */
    {
        tlv_t top;
        buf_reset(&x);
        CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(der->data, der->len, &top), ST_OK);
        tlv_buf_header(&x, 0x30, top.len + 2);
        buf_append(&x, top.value, top.len);
        buf_append(&x, "\x05\x00", 2);
        CU_ASSERT_EQUAL(dec(x.data, x.len, &out, &err), ST_E_TRAILING);
        CU_ASSERT_EQUAL(err.entry, IFPP_ERR_NONE);
    }
    /* random single-byte corruptions never crash and never leak (ASan/valgrind runs) */
    for (size_t i = 0; i < der->len; i += 13) {
        buf_reset(&x);
        buf_append(&x, der->data, der->len);
        x.data[i] ^= 0x5A;
        out = NULL;
        if (dec(x.data, x.len, &out, &err) == ST_OK)
            fr(out);
        else
            CU_ASSERT_PTR_NULL(out);
    }
    buf_free(&x);
}

/* ---- .ifppe ---- */

static void test_otk_tbs(void) {
    uint8_t eid[16], otpk[65];
    buf_t tbs = BUF_INIT;
    mk_eid(eid, 0x0102);
    memset(otpk, 0xAB, sizeof(otpk));
    otpk[0] = 0x04;
    CU_ASSERT_EQUAL(ifpp_otk_tbs(eid, 5, otpk, &tbs), ST_OK);
    CU_ASSERT_EQUAL(tbs.len, 18 + 3 + 68);
    TU_ASSERT_HEX(tbs.data, 21,
                  "5A10"
                  "89049032000000000000000000000102"
                  "020105");
    TU_ASSERT_HEX(tbs.data + 21, 4, "5F494104");
    buf_reset(&tbs);
    CU_ASSERT_EQUAL(ifpp_otk_tbs(eid, 0x80, otpk, &tbs), ST_OK);
    TU_ASSERT_HEX(tbs.data + 18, 4, "02020080"); /* DER INTEGER: non-negative */
    buf_reset(&tbs);
    CU_ASSERT_EQUAL(ifpp_otk_tbs(eid, 0xFFFFFFFFu, otpk, &tbs), ST_OK);
    TU_ASSERT_HEX(tbs.data + 18, 7, "020500FFFFFFFF");
    buf_free(&tbs);
}

static void test_edata_roundtrip(void) {
    ifpp_edata_t *a = make_edata(5, 4), *b = NULL;
    buf_t der = BUF_INIT, der2 = BUF_INIT;
    ifpp_err_t err;
    char msg[256];

    CU_ASSERT_EQUAL_FATAL(ifpp_edata_encode(a, &der), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ifpp_edata_decode(der.data, der.len, &b), ST_OK);
    check_edata_eq(a, b);
    CU_ASSERT_EQUAL(ifpp_edata_encode(b, &der2), ST_OK);
    CU_ASSERT_EQUAL(der.len, der2.len);
    CU_ASSERT_EQUAL(memcmp(der.data, der2.data, der.len), 0);
    /* "20240229123456Z" */
    CU_ASSERT_NOT_EQUAL(find(&der,
                             "\x18\x0F"
                             "20240229123456Z",
                             17),
                        SIZE_MAX);
    check_strict(&der, dec_edata, free_edata);

    /* error context: eUICC 3, key 2: otPK not starting with 04 */
    {
        size_t at = find(&der, a->euiccs[3].keys[2].otpk, IFPP_OTPK_LEN);
        CU_ASSERT_FATAL(at != SIZE_MAX);
        der.data[at] = 0x02;
        ifpp_edata_free(b);
        b = (void *)1;
        CU_ASSERT_EQUAL(ifpp_edata_decode_ex(der.data, der.len, &b, &err), ST_E_PARSE);
        CU_ASSERT_PTR_NULL(b);
        CU_ASSERT_EQUAL(err.entry, 3);
        CU_ASSERT_EQUAL(err.sub, 2);
        CU_ASSERT_STRING_EQUAL(err.field, "oneTimeKey.euiccOtpk");
        CU_ASSERT_EQUAL(err.offset, at - 3); /* the 5F49 41 header */
        ifpp_err_format(&err, msg, sizeof(msg));
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, "entry 3, item 2, field oneTimeKey.euiccOtpk"));
        der.data[at] = 0x04;
    }
    /* keys out of order are refused both ways */
    {
        uint32_t save = a->euiccs[1].keys[1].key_index;
        a->euiccs[1].keys[1].key_index = a->euiccs[1].keys[0].key_index;
        buf_reset(&der2);
        CU_ASSERT_EQUAL(ifpp_edata_encode(a, &der2), ST_E_INVAL);
        CU_ASSERT_EQUAL(der2.len, 0);
        a->euiccs[1].keys[1].key_index = save;
    }
    /* encoder refusals */
    a->batch_id[0] = '\0';
    CU_ASSERT_EQUAL(ifpp_edata_encode(a, &der2), ST_E_INVAL);
    strcpy(a->batch_id, "\xC3\x28"); /* invalid UTF-8 */
    CU_ASSERT_EQUAL(ifpp_edata_encode(a, &der2), ST_E_INVAL);
    strcpy(a->batch_id, "b");
    a->version = 2;
    CU_ASSERT_EQUAL(ifpp_edata_encode(a, &der2), ST_E_VERSION);
    a->version = 1;
    a->created_at = -1;
    CU_ASSERT_EQUAL(ifpp_edata_encode(a, &der2), ST_E_INVAL);
    a->created_at = 0;
    CU_ASSERT_EQUAL(ifpp_edata_encode(a, &der2), ST_OK);

    ifpp_edata_free(a);
    ifpp_edata_free(b);
    ifpp_edata_free(NULL);
    buf_free(&der);
    buf_free(&der2);
}

static void test_edata_limits(void) {
    buf_t der = BUF_INIT, x = BUF_INIT;
    ifpp_edata_t *a = make_edata(1, 1), *b = NULL;
    ifpp_err_t err;

    /* an eUICC without keys cannot be encoded, and is refused when decoded */
    a->euiccs[0].n_keys = 0;
    CU_ASSERT_EQUAL(ifpp_edata_encode(a, &der), ST_E_INVAL);
    a->euiccs[0].n_keys = 1;
    CU_ASSERT_EQUAL_FATAL(ifpp_edata_encode(a, &der), ST_OK);
    /* cert too large */
    free(a->euiccs[0].cert_euicc.p);
    a->euiccs[0].cert_euicc = fake_cert(3, IFPP_MAX_CERT_LEN);
    buf_reset(&der);
    CU_ASSERT_EQUAL(ifpp_edata_encode(a, &der), ST_E_INVAL);
    /* euiccInfo2 must be a BF22 */
    free(a->euiccs[0].cert_euicc.p);
    a->euiccs[0].cert_euicc = fake_cert(3, 300);
    ifpp_blob_free(&a->euiccs[0].euicc_info2);
    a->euiccs[0].euicc_info2 = fake_tlv(0xBF20, 1, 10);
    CU_ASSERT_EQUAL(ifpp_edata_encode(a, &der), ST_E_INVAL);
    ifpp_blob_free(&a->euiccs[0].euicc_info2);
    CU_ASSERT_EQUAL(ifpp_edata_encode(a, &der), ST_OK);

    /* hand-made: euiccs SEQUENCE empty -> PARSE at "euiccs" */
    {
        tlv_writer_t *w = tlv_writer_new();
        tlv_w_begin(w, 0x30);
        tlv_w_uint(w, 0x02, 1);
        tlv_w_put(w, 0x0C, "b", 1);
        tlv_w_put(w, 0x18, "20240229123456Z", 15);
        tlv_w_raw(w, a->cert_eum.p, a->cert_eum.len);
        tlv_w_begin(w, 0x30);
        tlv_w_end(w);
        tlv_w_end(w);
        CU_ASSERT_EQUAL(tlv_w_finish(w, &x), ST_OK);
        tlv_writer_free(w);
        CU_ASSERT_EQUAL(ifpp_edata_decode_ex(x.data, x.len, &b, &err), ST_E_PARSE);
        CU_ASSERT_STRING_EQUAL(err.field, "euiccs");
    }
    /* hand-made: bad times */
    {
        static const char *const bad[] = {"20230229000000Z", "2024022912345Z",  "20240229123456+",
                                          "19691231235959Z", "20241301000000Z", "20240101240000Z",
                                          "2024010112000aZ"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            time_t t;
            CU_ASSERT_EQUAL(ifpp_gentime_to_time((const uint8_t *)bad[i], strlen(bad[i]), &t),
                            ST_E_PARSE);
        }
    }
    {
        char s[16];
        time_t t;
        CU_ASSERT_EQUAL(ifpp_time_to_gentime(253402300799, s), ST_OK);
        CU_ASSERT_STRING_EQUAL(s, "99991231235959Z");
        CU_ASSERT_EQUAL(ifpp_gentime_to_time((const uint8_t *)s, 15, &t), ST_OK);
        CU_ASSERT_EQUAL(t, 253402300799);
        CU_ASSERT_EQUAL(ifpp_time_to_gentime(253402300800, s), ST_E_INVAL);
        CU_ASSERT_EQUAL(ifpp_time_to_gentime(0, s), ST_OK);
        CU_ASSERT_STRING_EQUAL(s, "19700101000000Z");
        CU_ASSERT_EQUAL(ifpp_gentime_to_time((const uint8_t *)"20000229000000Z", 15, &t), ST_OK);
        CU_ASSERT_EQUAL(t, 951782400);
    }
    ifpp_edata_free(a);
    buf_free(&der);
    buf_free(&x);
}

/* ---- .ifppr ---- */

static ifpp_request_t *make_request(size_t n) {
    ifpp_request_t *r = calloc(1, sizeof(*r));
    r->version = 1;
    fill(r->request_id, IFPP_ID_LEN, 77);
    strcpy(r->dm_id, "dm.example");
    r->created_at = 1700000000;
    r->n_certs_eum = 2;
    r->certs_eum = calloc(2, sizeof(*r->certs_eum));
    r->certs_eum[0] = fake_cert(5, 600);
    r->certs_eum[1] = fake_cert(6, 610);
    r->n_entries = n;
    r->entries = calloc(n, sizeof(*r->entries));
    for (size_t i = 0; i < n; i++) {
        ifpp_req_entry_t *e = &r->entries[i];
        mk_eid(e->eid, (unsigned)i + 100);
        if (i % 3 == 0)
            e->euicc_info2 = fake_tlv(0xBF22, (unsigned)i, 120);
        e->cert_euicc = fake_cert(20 + (unsigned)i, 480);
        e->eum_index = (uint32_t)(i % 2);
        mk_otk(&e->key, (uint32_t)i * 7, 500 + (unsigned)i);
        if (i % 2)
            strcpy(e->profile_type, "consumer-eu");
    }
    return r;
}

static void test_request_roundtrip(void) {
    ifpp_request_t *a = make_request(6), *b = NULL;
    buf_t der = BUF_INIT, der2 = BUF_INIT;
    ifpp_err_t err;

    CU_ASSERT_EQUAL_FATAL(ifpp_request_encode(a, &der), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ifpp_request_decode(der.data, der.len, &b), ST_OK);
    CU_ASSERT_EQUAL(b->version, 1);
    CU_ASSERT_EQUAL(memcmp(a->request_id, b->request_id, IFPP_ID_LEN), 0);
    CU_ASSERT_STRING_EQUAL(a->dm_id, b->dm_id);
    CU_ASSERT_EQUAL(a->created_at, b->created_at);
    CU_ASSERT_EQUAL_FATAL(b->n_certs_eum, 2);
    CU_ASSERT_TRUE(blob_eq(&a->certs_eum[1], &b->certs_eum[1]));
    CU_ASSERT_EQUAL_FATAL(b->n_entries, 6);
    for (size_t i = 0; i < 6; i++) {
        const ifpp_req_entry_t *x = &a->entries[i], *y = &b->entries[i];
        CU_ASSERT_EQUAL(memcmp(x->eid, y->eid, 16), 0);
        CU_ASSERT_TRUE(blob_eq(&x->euicc_info2, &y->euicc_info2));
        CU_ASSERT_TRUE(blob_eq(&x->cert_euicc, &y->cert_euicc));
        CU_ASSERT_EQUAL(x->eum_index, y->eum_index);
        CU_ASSERT_EQUAL(memcmp(&x->key, &y->key, sizeof(x->key)), 0);
        CU_ASSERT_STRING_EQUAL(x->profile_type, y->profile_type);
    }
    CU_ASSERT_EQUAL(ifpp_request_encode(b, &der2), ST_OK);
    CU_ASSERT_TRUE(der.len == der2.len && memcmp(der.data, der2.data, der.len) == 0);
    check_strict(&der, dec_request, free_request);

    /* eumIndex pointing nowhere */
    a->entries[4].eum_index = 2;
    buf_reset(&der2);
    CU_ASSERT_EQUAL(ifpp_request_encode(a, &der2), ST_E_INVAL);
    a->entries[4].eum_index = 0;
    {
        /* patch entry 5's eumIndex (02 01 01 right after its certificate) to 9 */
        size_t at = find(&der, a->entries[5].cert_euicc.p, a->entries[5].cert_euicc.len);
        CU_ASSERT_FATAL(at != SIZE_MAX);
        at += a->entries[5].cert_euicc.len;
        TU_ASSERT_HEX(der.data + at, 3, "020101");
        der.data[at + 2] = 9;
        ifpp_request_free(b);
        CU_ASSERT_EQUAL(ifpp_request_decode_ex(der.data, der.len, &b, &err), ST_E_PARSE);
        CU_ASSERT_EQUAL(err.entry, 5);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.field, "eumIndex"));
        der.data[at + 2] = 0x80; /* negative INTEGER */
        CU_ASSERT_EQUAL(ifpp_request_decode_ex(der.data, der.len, &b, &err), ST_E_PARSE);
        der.data[at + 2] = 1;
    }
    ifpp_request_free(a);
    ifpp_request_free(b);
    ifpp_request_free(NULL);
    buf_free(&der);
    buf_free(&der2);
}

/* ---- .ifppl ---- */

static ifpp_report_t *make_report(size_t n) {
    ifpp_report_t *r = calloc(1, sizeof(*r));
    r->version = 1;
    fill(r->report_id, IFPP_ID_LEN, 9);
    strcpy(r->dm_id, "dm.example");
    strcpy(r->station_id, "line-3/station-1");
    memcpy(r->smdpf_oid, oid_2_999_10, sizeof(oid_2_999_10));
    r->smdpf_oid_len = sizeof(oid_2_999_10);
    r->n_bundle_ids = 3;
    r->bundle_ids = calloc(3, IFPP_ID_LEN);
    for (size_t i = 0; i < 3; i++)
        fill(r->bundle_ids[i], IFPP_ID_LEN, 40 + (unsigned)i);
    r->period_start = 1700000000;
    r->period_end = 1700086399;
    r->n_entries = n;
    r->entries = calloc(n, sizeof(*r->entries));
    for (size_t i = 0; i < n; i++) {
        ifpp_report_entry_t *e = &r->entries[i];
        e->kind = (ifpp_result_kind_t)(i % 3);
        mk_eid(e->eid, (unsigned)i);
        e->tid_len = i % 2 ? 16 : 8;
        fill(e->tid, e->tid_len, (unsigned)i + 300);
        e->has_iccid = i % 4 != 1;
        if (e->has_iccid)
            fill(e->iccid, IFPP_ICCID_LEN, (unsigned)i);
        e->at = 1700000000 + (time_t)i * 60;
        if (e->kind == IFPP_RESULT_FAILED) {
            e->fpa_error_code = 1000 + (uint32_t)i;
            snprintf(e->text, sizeof(e->text), "card removed during segment %zu", i);
        }
        if (e->kind != IFPP_RESULT_FAILED || i % 2)
            e->pir = fake_tlv(0xBF37, (unsigned)i, 120 + i);
    }
    return r;
}

static void test_report_roundtrip(void) {
    ifpp_report_t *a = make_report(9), *b = NULL;
    buf_t der = BUF_INIT, der2 = BUF_INIT;
    ifpp_err_t err;

    CU_ASSERT_EQUAL_FATAL(ifpp_report_encode(a, &der), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ifpp_report_decode(der.data, der.len, &b), ST_OK);
    CU_ASSERT_EQUAL(b->version, 1);
    CU_ASSERT_EQUAL(memcmp(a->report_id, b->report_id, IFPP_ID_LEN), 0);
    CU_ASSERT_STRING_EQUAL(a->dm_id, b->dm_id);
    CU_ASSERT_STRING_EQUAL(a->station_id, b->station_id);
    CU_ASSERT_EQUAL(b->smdpf_oid_len, 3);
    CU_ASSERT_EQUAL(memcmp(b->smdpf_oid, oid_2_999_10, 3), 0);
    CU_ASSERT_EQUAL_FATAL(b->n_bundle_ids, 3);
    CU_ASSERT_EQUAL(memcmp(a->bundle_ids, b->bundle_ids, 3 * IFPP_ID_LEN), 0);
    CU_ASSERT_EQUAL(a->period_start, b->period_start);
    CU_ASSERT_EQUAL(a->period_end, b->period_end);
    CU_ASSERT_EQUAL_FATAL(b->n_entries, 9);
    for (size_t i = 0; i < 9; i++) {
        const ifpp_report_entry_t *x = &a->entries[i], *y = &b->entries[i];
        CU_ASSERT_EQUAL(x->kind, y->kind);
        CU_ASSERT_EQUAL(memcmp(x->eid, y->eid, 16), 0);
        CU_ASSERT_EQUAL(x->tid_len, y->tid_len);
        CU_ASSERT_EQUAL(memcmp(x->tid, y->tid, x->tid_len), 0);
        CU_ASSERT_EQUAL(x->has_iccid, y->has_iccid);
        if (x->has_iccid)
            CU_ASSERT_EQUAL(memcmp(x->iccid, y->iccid, 10), 0);
        CU_ASSERT_EQUAL(x->at, y->at);
        CU_ASSERT_EQUAL(x->fpa_error_code, y->fpa_error_code);
        CU_ASSERT_STRING_EQUAL(x->text, y->text);
        CU_ASSERT_TRUE(blob_eq(&x->pir, &y->pir));
    }
    CU_ASSERT_EQUAL(ifpp_report_encode(b, &der2), ST_OK);
    CU_ASSERT_TRUE(der.len == der2.len && memcmp(der.data, der2.data, der.len) == 0);
    check_strict(&der, dec_report, free_report);

    /* entry 4 is "failed" (A1 with 81 fpaErrorCode): relabel it "installed" */
    {
        size_t at = find(&der, a->entries[4].eid, 16);
        CU_ASSERT_FATAL(at != SIZE_MAX);
        at -= 2; /* 5A 10 */
        /* the A1 header sits right before: A1 L (short form here) */
        CU_ASSERT_EQUAL_FATAL(der.data[at - 2], 0xA1);
        der.data[at - 2] = 0xA0;
        ifpp_report_free(b);
        CU_ASSERT_EQUAL(ifpp_report_decode_ex(der.data, der.len, &b, &err), ST_E_PARSE);
        CU_ASSERT_EQUAL(err.entry, 4);
        der.data[at - 2] = 0xA3; /* no such CHOICE alternative */
        CU_ASSERT_EQUAL(ifpp_report_decode_ex(der.data, der.len, &b, &err), ST_E_PARSE);
        CU_ASSERT_EQUAL(err.entry, 4);
        der.data[at - 2] = 0xA1;
        CU_ASSERT_EQUAL(ifpp_report_decode_ex(der.data, der.len, &b, &err), ST_OK);
    }
    /* encoder refusals */
    {
        size_t save = a->entries[0].pir.len;
        a->entries[0].pir.len = 0; /* installed without PIR */
        buf_reset(&der2);
        CU_ASSERT_EQUAL(ifpp_report_encode(a, &der2), ST_E_INVAL);
        a->entries[0].pir.len = save;
    }
    a->entries[0].fpa_error_code = 5; /* error code on an installed entry */
    CU_ASSERT_EQUAL(ifpp_report_encode(a, &der2), ST_E_INVAL);
    a->entries[0].fpa_error_code = 0;
    a->entries[0].tid_len = 17;
    CU_ASSERT_EQUAL(ifpp_report_encode(a, &der2), ST_E_INVAL);
    a->entries[0].tid_len = 8;
    a->smdpf_oid_len = 0;
    CU_ASSERT_EQUAL(ifpp_report_encode(a, &der2), ST_E_INVAL);
    a->smdpf_oid_len = 3;
    CU_ASSERT_EQUAL(ifpp_report_encode(a, &der2), ST_OK);

    /* an empty report is valid */
    a->n_entries = 0;
    a->n_bundle_ids = 0;
    buf_reset(&der2);
    CU_ASSERT_EQUAL(ifpp_report_encode(a, &der2), ST_OK);
    ifpp_report_free(b);
    CU_ASSERT_EQUAL(ifpp_report_decode(der2.data, der2.len, &b), ST_OK);
    CU_ASSERT_EQUAL(b->n_entries, 0);
    CU_ASSERT_PTR_NULL(b->entries);
    a->n_entries = 9;
    a->n_bundle_ids = 3;

    ifpp_report_free(a);
    ifpp_report_free(b);
    ifpp_report_free(NULL);
    buf_free(&der);
    buf_free(&der2);
}

/* ---- .ifppb ---- */

static ifpp_bundle_hdr_t make_bundle_hdr(void) {
    ifpp_bundle_hdr_t h;
    memset(&h, 0, sizeof(h));
    h.version = 1;
    fill(h.bundle_id, IFPP_ID_LEN, 1234);
    memcpy(h.smdpf_oid, oid_2_999_10, 3);
    h.smdpf_oid_len = 3;
    h.created_at = 1709210096;
    h.n_smdpf_certs = 2;
    h.smdpf_certs = calloc(2, sizeof(*h.smdpf_certs));
    h.smdpf_certs[0] = fake_cert(71, 650);
    h.smdpf_certs[1] = fake_cert(72, 620);
    return h;
}

/* BPP-shaped blob for entry i: BF36 framing, size varying with i. */
static size_t bpp_size(size_t i) {
    return 1000 + (i * 7919) % 30000;
}

static ifpp_blob_t make_bpp(size_t i) {
    return fake_tlv(0xBF36, (unsigned)i, bpp_size(i));
}

static void mk_entry(ifpp_bundle_entry_t *e, size_t i, const ifpp_blob_t *bpp) {
    memset(e, 0, sizeof(*e));
    mk_eid(e->eid, (unsigned)i);
    e->key_index = (uint32_t)i % 5;
    e->tid_len = 16;
    fill(e->tid, 16, (unsigned)i);
    fill(e->iccid, 10, (unsigned)i + 1);
    if (i % 3)
        snprintf(e->profile_type, sizeof(e->profile_type), "type-%zu", i % 3);
    e->bpp = bpp->p;
    e->bpp_len = bpp->len;
}

static char *path_in(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static size_t dir_count(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    if (!d)
        return SIZE_MAX;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void write_bundle(const char *path, size_t n) {
    ifpp_bundle_hdr_t h = make_bundle_hdr();
    ifpp_bundle_writer_t *w = NULL;
    CU_ASSERT_EQUAL_FATAL(ifpp_bundle_writer_open(path, &h, &w), ST_OK);
    for (size_t i = 0; i < n; i++) {
        ifpp_blob_t bpp = make_bpp(i);
        ifpp_bundle_entry_t e;
        mk_entry(&e, i, &bpp);
        CU_ASSERT_EQUAL(ifpp_bundle_writer_add(w, &e), ST_OK);
        ifpp_blob_free(&bpp);
    }
    CU_ASSERT_EQUAL(ifpp_bundle_writer_close(w), ST_OK);
    ifpp_bundle_hdr_free(&h);
}

static st_t tee_digest(const uint8_t *p, size_t n, void *ud) {
    return EVP_DigestUpdate(ud, p, n) == 1 ? ST_OK : ST_E_CRYPTO;
}

static void test_bundle_stream(void) {
    enum { N = 300 };
    char *dir = tu_tmpdir("ifppb");
    char *path = path_in(dir, "big.ifppb");
    ifpp_bundle_reader_t *r = NULL;
    ifpp_bundle_entry_t e;
    ifpp_bundle_hdr_t want = make_bundle_hdr();
    const ifpp_bundle_hdr_t *h;
    FILE *f;
    struct stat sb;
    size_t max_mem = 0, max_entry = 0, i;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t d1[32], d2[32];
    buf_t whole = BUF_INIT;
    st_t st;

    write_bundle(path, N);
    CU_ASSERT_EQUAL(dir_count(dir), 1); /* no temp file left behind */
    CU_ASSERT_EQUAL_FATAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0644);

    f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL_FATAL(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
    CU_ASSERT_EQUAL_FATAL(ifpp_bundle_reader_open_ex(f, tee_digest, md, &r, NULL), ST_OK);
    h = ifpp_bundle_reader_header(r);
    CU_ASSERT_EQUAL(h->version, 1);
    CU_ASSERT_EQUAL(h->count, N);
    CU_ASSERT_EQUAL(memcmp(h->bundle_id, want.bundle_id, IFPP_ID_LEN), 0);
    CU_ASSERT_EQUAL(h->smdpf_oid_len, 3);
    CU_ASSERT_EQUAL(h->created_at, want.created_at);
    CU_ASSERT_EQUAL_FATAL(h->n_smdpf_certs, 2);
    CU_ASSERT_TRUE(blob_eq(&h->smdpf_certs[0], &want.smdpf_certs[0]));
    CU_ASSERT_TRUE(blob_eq(&h->smdpf_certs[1], &want.smdpf_certs[1]));

    for (i = 0; (st = ifpp_bundle_reader_next(r, &e)) == ST_OK; i++) {
        ifpp_blob_t bpp = make_bpp(i);
        ifpp_bundle_entry_t x;
        mk_entry(&x, i, &bpp);
        CU_ASSERT_EQUAL(memcmp(e.eid, x.eid, 16), 0);
        CU_ASSERT_EQUAL(e.key_index, x.key_index);
        CU_ASSERT_EQUAL(e.tid_len, 16);
        CU_ASSERT_EQUAL(memcmp(e.tid, x.tid, 16), 0);
        CU_ASSERT_EQUAL(memcmp(e.iccid, x.iccid, 10), 0);
        CU_ASSERT_STRING_EQUAL(e.profile_type, x.profile_type);
        CU_ASSERT_TRUE(e.bpp_len == bpp.len && memcmp(e.bpp, bpp.p, bpp.len) == 0);
        CU_ASSERT_TRUE(e.raw <= e.bpp && e.bpp + e.bpp_len == e.raw + e.raw_len);
        if (e.raw_len > max_entry)
            max_entry = e.raw_len;
        if (ifpp_bundle_reader_mem(r) > max_mem)
            max_mem = ifpp_bundle_reader_mem(r);
        ifpp_blob_free(&bpp);
    }
    CU_ASSERT_EQUAL(st, ST_E_NOENT);
    CU_ASSERT_EQUAL(i, N);
    CU_ASSERT_EQUAL(ifpp_bundle_reader_count(r), N);
    CU_ASSERT_EQUAL(ifpp_bundle_reader_next(r, &e), ST_E_NOENT); /* stays at the end */
    /* memory: one entry buffer (at most twice the largest entry) + header, not the file */
    CU_ASSERT(max_mem <= 2 * max_entry + 8192);
    CU_ASSERT(max_mem * 40 < (size_t)sb.st_size);
    ifpp_bundle_reader_free(r);
    fclose(f);

    /* the tee saw exactly the file */
    CU_ASSERT_EQUAL(EVP_DigestFinal_ex(md, d1, NULL), 1);
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&whole, path, 1u << 30), ST_OK);
    CU_ASSERT_EQUAL(whole.len, (size_t)sb.st_size);
    CU_ASSERT_EQUAL(EVP_Digest(whole.data, whole.len, d2, NULL, EVP_sha256(), NULL), 1);
    CU_ASSERT_EQUAL(memcmp(d1, d2, 32), 0);

    EVP_MD_CTX_free(md);
    buf_free(&whole);
    ifpp_bundle_hdr_free(&want);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* Reads a bundle held in memory to the end; returns the final status (ST_E_NOENT = clean). */
static st_t read_mem(const uint8_t *p, size_t n, ifpp_err_t *err, size_t *entries) {
    FILE *f;
    ifpp_bundle_reader_t *r = NULL;
    ifpp_bundle_entry_t e;
    st_t st;
    *entries = 0;
    if (n == 0)
        f = tmpfile();
    else
        f = fmemopen((void *)p, n, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    st = ifpp_bundle_reader_open_ex(f, NULL, NULL, &r, err);
    if (st == ST_OK) {
        while ((st = ifpp_bundle_reader_next(r, &e)) == ST_OK)
            (*entries)++;
        if (err)
            *err = *ifpp_bundle_reader_error(r);
        CU_ASSERT_EQUAL(ifpp_bundle_reader_next(r, &e), st); /* sticky */
    } else {
        CU_ASSERT_PTR_NULL(r);
    }
    ifpp_bundle_reader_free(r);
    fclose(f);
    return st;
}

static void test_bundle_strict(void) {
    char *dir = tu_tmpdir("ifppb");
    char *path = path_in(dir, "small.ifppb");
    buf_t b = BUF_INIT, x = BUF_INIT;
    ifpp_err_t err;
    size_t n, at;

    write_bundle(path, 4);
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&b, path, 1u << 24), ST_OK);
    CU_ASSERT_EQUAL(read_mem(b.data, b.len, &err, &n), ST_E_NOENT);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(err.st, ST_OK);

    /* truncated at many offsets (0-byte file included) */
    for (size_t k = 0; k < b.len; k += (k < 2000 ? 1 : 97)) {
        st_t st = read_mem(b.data, k, &err, &n);
        if (st != ST_E_TRUNCATED)
            fprintf(stderr, "\nprefix %zu/%zu: %s\n", k, b.len, st_name(st));
        CU_ASSERT_EQUAL(st, ST_E_TRUNCATED);
        CU_ASSERT(n < 4);
    }
    /* trailing garbage after the outer SEQUENCE: all entries read, then TRAILING */
    buf_append(&x, b.data, b.len);
    buf_append_byte(&x, 0);
    CU_ASSERT_EQUAL(read_mem(x.data, x.len, &err, &n), ST_E_TRAILING);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(err.offset, b.len);

    /* version 2 */
    buf_reset(&x);
    buf_append(&x, b.data, b.len);
    at = find(&x, "\x02\x01\x01\x04\x10", 5);
    CU_ASSERT_FATAL(at != SIZE_MAX);
    x.data[at + 2] = 2;
    CU_ASSERT_EQUAL(read_mem(x.data, x.len, &err, &n), ST_E_VERSION);
    CU_ASSERT_EQUAL(err.entry, IFPP_ERR_NONE);
    CU_ASSERT_EQUAL(err.offset, at);
    x.data[at + 2] = 1;

    /* count mismatch: 'Z' 02 01 04 is the end of createdAt and the count */
    at = find(&x, "Z\x02\x01\x04", 4);
    CU_ASSERT_FATAL(at != SIZE_MAX);
    x.data[at + 3] = 3;
    CU_ASSERT_EQUAL(read_mem(x.data, x.len, &err, &n), ST_E_PARSE);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(err.entry, 3);
    x.data[at + 3] = 5;
    CU_ASSERT_EQUAL(read_mem(x.data, x.len, &err, &n), ST_E_PARSE);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(err.entry, IFPP_ERR_NONE);
    x.data[at + 3] = 4;

    /* entry 2's eid tag broken: error names entry 2, field eid, and the byte */
    {
        uint8_t eid[16];
        mk_eid(eid, 2);
        at = find(&x, eid, 16);
        CU_ASSERT_FATAL(at != SIZE_MAX);
        x.data[at - 2] = 0x99;
        CU_ASSERT_EQUAL(read_mem(x.data, x.len, &err, &n), ST_E_PARSE);
        CU_ASSERT_EQUAL(n, 2);
        CU_ASSERT_EQUAL(err.entry, 2);
        CU_ASSERT_STRING_EQUAL(err.field, "eid");
        CU_ASSERT_EQUAL(err.offset, at - 2);
        x.data[at - 2] = 0x80;
    }
    CU_ASSERT_EQUAL(read_mem(x.data, x.len, &err, &n), ST_E_NOENT);

    /* hand-assembled files around the real header */
    {
        tlv_t outer, hdr;
        buf_t y = BUF_INIT;
        CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(b.data, b.len, &outer), ST_OK);
        CU_ASSERT_EQUAL_FATAL(tlv_parse(outer.value, outer.len, &hdr), ST_OK);

        /* an entry claiming 5 MiB: refused before reading it */
        tlv_buf_header(&y, 0x30, hdr.raw_len + 5 + 0x500005);
        buf_append(&y, hdr.raw, hdr.raw_len);
        buf_append(&y, "\x30\x83\x50\x00\x05\x30\x83\x50\x00\x00", 10);
        CU_ASSERT_EQUAL(read_mem(y.data, y.len, &err, &n), ST_E_TOO_LARGE);
        CU_ASSERT_EQUAL(err.entry, 0);

        /* non-minimal length octets (DER) */
        buf_reset(&y);
        tlv_buf_header(&y, 0x30, hdr.raw_len + 6 + 0x500005);
        buf_append(&y, hdr.raw, hdr.raw_len);
        buf_append(&y, "\x30\x84\x00\x50\x00\x05\x30\x83\x50\x00\x00", 11);
        CU_ASSERT_EQUAL(read_mem(y.data, y.len, &err, &n), ST_E_PARSE);

        /* huge outer length: truncated */
        buf_reset(&y);
        buf_append(&y, "\x30\x84\xFF\xFF\xFF\xFF", 6);
        buf_append(&y, hdr.raw, hdr.raw_len);
        CU_ASSERT_EQUAL(read_mem(y.data, y.len, &err, &n), ST_E_TRUNCATED);

        /* something after the entries SEQUENCE inside the outer one */
        buf_reset(&y);
        tlv_buf_header(&y, 0x30, hdr.raw_len + 4);
        buf_append(&y, hdr.raw, hdr.raw_len);
        buf_append(&y, "\x30\x00\x05\x00", 4);
        CU_ASSERT_EQUAL(read_mem(y.data, y.len, &err, &n), ST_E_TRAILING);

        /* entries SEQUENCE longer than the outer one */
        buf_reset(&y);
        tlv_buf_header(&y, 0x30, hdr.raw_len + 2);
        buf_append(&y, hdr.raw, hdr.raw_len);
        buf_append(&y, "\x30\x05", 2);
        CU_ASSERT_EQUAL(read_mem(y.data, y.len, &err, &n), ST_E_TRUNCATED);

        /* an entry that is not a SEQUENCE */
        buf_reset(&y);
        tlv_buf_header(&y, 0x30, hdr.raw_len + 4);
        buf_append(&y, hdr.raw, hdr.raw_len);
        buf_append(&y, "\x30\x02\x31\x00", 4);
        CU_ASSERT_EQUAL(read_mem(y.data, y.len, &err, &n), ST_E_PARSE);

        /* indefinite length */
        buf_reset(&y);
        buf_append(&y, "\x30\x80", 2);
        CU_ASSERT_EQUAL(read_mem(y.data, y.len, &err, &n), ST_E_PARSE);
        buf_free(&y);
    }
    CU_ASSERT_EQUAL(ifpp_bundle_reader_open(NULL, NULL), ST_E_INVAL);

    buf_free(&b);
    buf_free(&x);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

static void test_bundle_writer(void) {
    char *dir = tu_tmpdir("ifppb");
    char *path = path_in(dir, "w.ifppb");
    ifpp_bundle_hdr_t h = make_bundle_hdr();
    ifpp_bundle_writer_t *w = NULL;
    ifpp_bundle_entry_t e;
    ifpp_blob_t bpp = make_bpp(1), bad = fake_tlv(0xBF37, 1, 10);
    buf_t b = BUF_INIT;
    size_t n;
    ifpp_err_t err;
    struct stat sb;

    /* abort leaves nothing */
    CU_ASSERT_EQUAL_FATAL(ifpp_bundle_writer_open(path, &h, &w), ST_OK);
    mk_entry(&e, 0, &bpp);
    CU_ASSERT_EQUAL(ifpp_bundle_writer_add(w, &e), ST_OK);
    ifpp_bundle_writer_abort(w);
    ifpp_bundle_writer_abort(NULL);
    CU_ASSERT_EQUAL(dir_count(dir), 0);
    CU_ASSERT_NOT_EQUAL(stat(path, &sb), 0);

    /* refused entries leave the writer usable */
    CU_ASSERT_EQUAL_FATAL(ifpp_bundle_writer_open(path, &h, &w), ST_OK);
    mk_entry(&e, 0, &bad);
    CU_ASSERT_EQUAL(ifpp_bundle_writer_add(w, &e), ST_E_INVAL); /* not a BF36 */
    mk_entry(&e, 0, &bpp);
    e.tid_len = 0;
    CU_ASSERT_EQUAL(ifpp_bundle_writer_add(w, &e), ST_E_INVAL);
    mk_entry(&e, 0, &bpp);
    CU_ASSERT_EQUAL(ifpp_bundle_writer_add(w, &e), ST_OK);
    CU_ASSERT_EQUAL(ifpp_bundle_writer_close(w), ST_OK);
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&b, path, 1u << 24), ST_OK);
    CU_ASSERT_EQUAL(read_mem(b.data, b.len, &err, &n), ST_E_NOENT);
    CU_ASSERT_EQUAL(n, 1);

    /* overwrite with an empty bundle: replaced atomically, count 0 reads cleanly */
    CU_ASSERT_EQUAL_FATAL(ifpp_bundle_writer_open(path, &h, &w), ST_OK);
    CU_ASSERT_EQUAL(ifpp_bundle_writer_close(w), ST_OK);
    CU_ASSERT_EQUAL(dir_count(dir), 1);
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&b, path, 1u << 24), ST_OK);
    CU_ASSERT_EQUAL(read_mem(b.data, b.len, &err, &n), ST_E_NOENT);
    CU_ASSERT_EQUAL(n, 0);

    /* a BPP above the entry limit */
    {
        ifpp_blob_t huge = fake_tlv(0xBF36, 9, IFPP_MAX_ENTRY_LEN);
        CU_ASSERT_EQUAL_FATAL(ifpp_bundle_writer_open(path, &h, &w), ST_OK);
        mk_entry(&e, 0, &huge);
        CU_ASSERT_EQUAL(ifpp_bundle_writer_add(w, &e), ST_E_TOO_LARGE);
        ifpp_bundle_writer_abort(w);
        ifpp_blob_free(&huge);
    }

    /* header checks */
    h.n_smdpf_certs = 0;
    CU_ASSERT_EQUAL(ifpp_bundle_writer_open(path, &h, &w), ST_E_INVAL);
    CU_ASSERT_PTR_NULL(w);
    h.n_smdpf_certs = 2;
    h.smdpf_oid_len = 0;
    CU_ASSERT_EQUAL(ifpp_bundle_writer_open(path, &h, &w), ST_E_INVAL);
    h.smdpf_oid_len = 3;
    h.version = 2;
    CU_ASSERT_EQUAL(ifpp_bundle_writer_open(path, &h, &w), ST_E_VERSION);
    h.version = 1;
    {
        char *nodir = path_in(dir, "missing/x.ifppb");
        CU_ASSERT_EQUAL(ifpp_bundle_writer_open(nodir, &h, &w), ST_E_NOENT);
        free(nodir);
    }
    CU_ASSERT_EQUAL(ifpp_bundle_writer_close(NULL), ST_E_INVAL);
    CU_ASSERT_EQUAL(dir_count(dir), 1);

    ifpp_bundle_hdr_free(&h);
    ifpp_bundle_hdr_free(NULL);
    ifpp_blob_free(&bpp);
    ifpp_blob_free(&bad);
    buf_free(&b);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

void test_ifpp_register(void) {
    static const tu_test_t tests[] = {
        {"one-time key signature TBS", test_otk_tbs},
        {".ifppe round trip and strictness", test_edata_roundtrip},
        {".ifppe limits, GeneralizedTime", test_edata_limits},
        {".ifppr round trip and strictness", test_request_roundtrip},
        {".ifppl round trip and strictness", test_report_roundtrip},
        {".ifppb 300 entries streamed, bounded memory, tee", test_bundle_stream},
        {".ifppb reader strictness", test_bundle_strict},
        {".ifppb writer: atomic, abort, refusals", test_bundle_writer},
    };
    TU_ADD_SUITE("ifpp", tests);
}
