/* Unit tests: BER-TLV reader (table-driven malformed inputs), iteration, writer round trips. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tlv/tlv.h"

typedef struct {
    const char *name;
    const char *hex;
    st_t want;    /* from tlv_parse_exact */
    uint32_t tag; /* when ST_OK */
    size_t len;
} tlv_case_t;

static const tlv_case_t cases[] = {
    {"one-byte tag, short length", "800101", ST_OK, 0x80, 1},
    {"zero length", "8000", ST_OK, 0x80, 0},
    {"two-byte tag", "5F490100", ST_OK, 0x5F49, 1},
    {"BF36 constructed", "BF3603800100", ST_OK, 0xBF36, 3},
    {"private tag FF40", "FF400100", ST_OK, 0xFF40, 1},
    {"three-byte tag", "9F8101020102", ST_OK, 0x9F8101, 2},
    {"81 length",
     "0481810102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F2021"
     "22232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F404142434445"
     "464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F6061626364656667686"
     "96A6B6C6D6E6F707172737475767778797A7B7C7D7E7F8081",
     ST_OK, 0x04, 0x81},
    {"82 length overrunning", "048203F80000", ST_E_TRUNCATED, 0, 0},
    {"84 huge length", "0484FFFFFFFF00", ST_E_TRUNCATED, 0, 0},
    {"85 length octets", "04850100000000", ST_E_PARSE, 0, 0},
    {"indefinite length", "3080000000", ST_E_PARSE, 0, 0},
    {"empty input", "", ST_E_TRUNCATED, 0, 0},
    {"tag only", "80", ST_E_TRUNCATED, 0, 0},
    {"multi-byte tag cut", "BF", ST_E_TRUNCATED, 0, 0},
    {"four-byte tag", "9F81818101", ST_E_PARSE, 0, 0},
    {"non-minimal tag", "9F8001", ST_E_PARSE, 0, 0},
    {"length octets cut", "0482", ST_E_TRUNCATED, 0, 0},
    {"length octets partially cut", "048201", ST_E_TRUNCATED, 0, 0},
    {"value cut", "0403AABB", ST_E_TRUNCATED, 0, 0},
    {"trailing byte", "0401AABB", ST_E_TRAILING, 0x04, 1},
    {"end-of-contents tag", "0000", ST_E_PARSE, 0, 0},
};

static void test_parse_table(void) {
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_t b = tu_hex(cases[i].hex);
        tlv_t t;
        st_t st = tlv_parse_exact(b.data, b.len, &t);
        if (st != cases[i].want)
            fprintf(stderr, "\ncase '%s': got %s want %s\n", cases[i].name, st_name(st),
                    st_name(cases[i].want));
        CU_ASSERT_EQUAL(st, cases[i].want);
        if (st == ST_OK) {
            CU_ASSERT_EQUAL(t.tag, cases[i].tag);
            CU_ASSERT_EQUAL(t.len, cases[i].len);
            CU_ASSERT_EQUAL(t.raw_len, b.len);
            CU_ASSERT_EQUAL(t.hdr_len + t.len, t.raw_len);
        }
        buf_free(&b);
    }
}

static void test_iterate_children(void) {
    /* BF23 from the golden vector's shape: 82 01 01, 80 02 AABB, A6 { 80 01 88, 81 01 10 } */
    buf_t b = tu_hex("BF230F820101"
                     "8002AABB"
                     "A606800188810110");
    tlv_t root, child, crt;
    tlv_iter_t it;
    uint32_t seen[4];
    size_t n = 0;
    st_t st;
    uint64_t v;

    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(b.data, b.len, &root), ST_OK);
    CU_ASSERT_TRUE(tlv_tag_constructed(root.tag));
    tlv_iter_children(&it, &root);
    while ((st = tlv_iter_next(&it, &child)) == ST_OK && n < 4)
        seen[n++] = child.tag;
    CU_ASSERT_EQUAL(st, ST_E_NOENT);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(seen[0], 0x82);
    CU_ASSERT_EQUAL(seen[1], 0x80);
    CU_ASSERT_EQUAL(seen[2], 0xA6);
    CU_ASSERT_EQUAL(tlv_find_child(&root, 0xA6, &crt), ST_OK);
    CU_ASSERT_EQUAL(crt.len, 6);
    CU_ASSERT_EQUAL(tlv_find_child(&root, 0x5F37, &child), ST_E_NOENT);
    CU_ASSERT_EQUAL(tlv_find_child(&root, 0x82, &child), ST_OK);
    CU_ASSERT_EQUAL(tlv_get_uint(&child, &v), ST_OK);
    CU_ASSERT_EQUAL(v, 1);
    buf_free(&b);
}

static void test_child_overrun(void) {
    /* parent claims 4 bytes; the child inside claims 5 */
    buf_t b = tu_hex("A003800599");
    tlv_t root, child;
    tlv_iter_t it;
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(b.data, b.len, &root), ST_OK);
    tlv_iter_children(&it, &root);
    CU_ASSERT_EQUAL(tlv_iter_next(&it, &child), ST_E_TRUNCATED);
    CU_ASSERT_EQUAL(tlv_iter_next(&it, &child), ST_E_NOENT); /* iteration ended for good */
    buf_free(&b);
}

static void test_uint(void) {
    static const struct {
        const char *hex;
        st_t st;
        uint64_t v;
    } u[] = {
        {"020100", ST_OK, 0},
        {"02017F", ST_OK, 127},
        {"02020080", ST_OK, 128},
        {"020180", ST_E_PARSE, 0}, /* negative */
        {"0200", ST_E_PARSE, 0},
        {"020900FFFFFFFFFFFFFFFF", ST_OK, UINT64_MAX},
        {"0209010000000000000000", ST_E_TOO_LARGE, 0},
    };
    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
        buf_t b = tu_hex(u[i].hex);
        tlv_t t;
        uint64_t v = 12345;
        CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(b.data, b.len, &t), ST_OK);
        CU_ASSERT_EQUAL(tlv_get_uint(&t, &v), u[i].st);
        if (u[i].st == ST_OK)
            CU_ASSERT_EQUAL(v, u[i].v);
        buf_free(&b);
    }
}

static void test_oid(void) {
    char txt[64];
    buf_t v = BUF_INIT;
    CU_ASSERT_EQUAL(der_oid_from_str("2.999.10", &v), ST_OK);
    TU_ASSERT_HEX(v.data, v.len, "88370A"); /* SGP.26 smdpOid, 06 03 88 37 0A */
    CU_ASSERT_EQUAL(der_oid_to_str(v.data, v.len, txt, sizeof(txt)), ST_OK);
    CU_ASSERT_STRING_EQUAL(txt, "2.999.10");
    buf_reset(&v);
    CU_ASSERT_EQUAL(der_oid_from_str("2.23.146.1.2.1.5", &v), ST_OK);
    TU_ASSERT_HEX(v.data, v.len, "67811201020105");
    CU_ASSERT_EQUAL(der_oid_to_str(v.data, v.len, txt, sizeof(txt)), ST_OK);
    CU_ASSERT_STRING_EQUAL(txt, "2.23.146.1.2.1.5");
    buf_reset(&v);
    CU_ASSERT_EQUAL(der_oid_from_str("1.2.840.10045.3.1.7", &v), ST_OK);
    TU_ASSERT_HEX(v.data, v.len, "2A8648CE3D030107"); /* prime256v1 */
    CU_ASSERT_EQUAL(der_oid_from_str("3.1", &v), ST_E_PARSE);
    CU_ASSERT_EQUAL(der_oid_from_str("1.40", &v), ST_E_PARSE);
    CU_ASSERT_EQUAL(der_oid_from_str("1.2.", &v), ST_E_PARSE);
    CU_ASSERT_EQUAL(der_oid_from_str("1.x", &v), ST_E_PARSE);
    {
        const uint8_t cut[] = {0x88, 0x37, 0x8A};
        const uint8_t nonmin[] = {0x2A, 0x80, 0x01};
        CU_ASSERT_EQUAL(der_oid_to_str(cut, 3, txt, sizeof(txt)), ST_E_TRUNCATED);
        CU_ASSERT_EQUAL(der_oid_to_str(nonmin, 3, txt, sizeof(txt)), ST_E_PARSE);
        CU_ASSERT_EQUAL(der_oid_to_str(cut, 0, txt, sizeof(txt)), ST_E_PARSE);
    }
    buf_free(&v);
}

static void test_writer_roundtrip(void) {
    /* Build BF36-like nesting with lengths that need 1, 2 and 3 length octets. */
    static uint8_t big[70000];
    tlv_writer_t *w = tlv_writer_new();
    buf_t out = BUF_INIT;
    tlv_t root, a, b;
    tlv_iter_t it;
    size_t size;
    uint8_t tmp[3] = {1, 2, 3};

    memset(big, 0x5A, sizeof(big));
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    tlv_w_begin(w, 0xBF36);
    tlv_w_begin(w, 0xBF23);
    tlv_w_uint(w, 0x82, 1);
    tlv_w_put_copy(w, 0x80, tmp, sizeof(tmp));
    tlv_w_end(w);
    tlv_w_begin(w, 0xA3);
    tlv_w_put(w, 0x86, big, 200);
    tlv_w_put(w, 0x86, big, sizeof(big));
    tlv_w_end(w);
    tlv_w_raw(w, "\x04\x01\x07", 3);
    tlv_w_end(w);
    memset(tmp, 0, sizeof(tmp)); /* the copy must not care */
    CU_ASSERT_EQUAL(tlv_w_size(w, &size), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_w_finish(w, &out), ST_OK);
    CU_ASSERT_EQUAL(out.len, size);
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(out.data, out.len, &root), ST_OK);
    CU_ASSERT_EQUAL(root.tag, 0xBF36);
    tlv_iter_children(&it, &root);
    CU_ASSERT_EQUAL_FATAL(tlv_iter_next(&it, &a), ST_OK);
    CU_ASSERT_EQUAL(a.tag, 0xBF23);
    TU_ASSERT_HEX(a.raw, a.raw_len, "BF2308820101800301020 3");
    CU_ASSERT_EQUAL_FATAL(tlv_iter_next(&it, &a), ST_OK);
    CU_ASSERT_EQUAL(a.tag, 0xA3);
    CU_ASSERT_EQUAL(a.hdr_len, 5); /* A3 83 xx xx xx: 70208 content bytes */
    CU_ASSERT_EQUAL(tlv_find_child(&a, 0x86, &b), ST_OK);
    CU_ASSERT_EQUAL(b.len, 200);
    CU_ASSERT_EQUAL(b.hdr_len, 3);
    CU_ASSERT_EQUAL_FATAL(tlv_iter_next(&it, &a), ST_OK);
    TU_ASSERT_HEX(a.raw, a.raw_len, "040107");
    CU_ASSERT_EQUAL(tlv_iter_next(&it, &a), ST_E_NOENT);
    tlv_writer_free(w);
    buf_free(&out);
}

static void test_writer_errors(void) {
    tlv_writer_t *w = tlv_writer_new();
    buf_t out = BUF_INIT;
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    tlv_w_begin(w, 0x30);
    CU_ASSERT_EQUAL(tlv_w_finish(w, &out), ST_E_INVAL); /* unbalanced */
    tlv_w_end(w);
    CU_ASSERT_EQUAL(tlv_w_end(w), ST_E_INVAL); /* one end too many: sticky */
    CU_ASSERT_EQUAL(tlv_w_put(w, 0x80, "x", 1), ST_E_INVAL);
    CU_ASSERT_EQUAL(tlv_w_finish(w, &out), ST_E_INVAL);
    CU_ASSERT_EQUAL(out.len, 0);
    tlv_writer_free(w);
    tlv_writer_free(NULL);

    w = tlv_writer_new();
    CU_ASSERT_EQUAL(tlv_w_put(w, 0, "x", 1), ST_E_INVAL); /* tag 0 */
    tlv_writer_free(w);
    w = tlv_writer_new();
    CU_ASSERT_EQUAL(tlv_w_put(w, 0x80, NULL, 3), ST_E_INVAL);
    tlv_writer_free(w);
    buf_free(&out);
}

static void test_header_helpers(void) {
    uint8_t h[8];
    CU_ASSERT_EQUAL(tlv_header_len(0x86, 1016), 4);
    CU_ASSERT_EQUAL(tlv_put_header(h, 0x86, 1016), 4);
    TU_ASSERT_HEX(h, 4, "868203F8");
    CU_ASSERT_EQUAL(tlv_put_header(h, 0xBF36, 0x12345), 6);
    TU_ASSERT_HEX(h, 6, "BF3683012345");
    CU_ASSERT_EQUAL(tlv_header_len(0x5F49, 65), 3);
    CU_ASSERT_EQUAL(tlv_header_len(0x80, 0x1000000), 6);
}

void test_tlv_register(void) {
    static const tu_test_t tests[] = {
        {"parse table (valid and malformed)", test_parse_table},
        {"iterate children, find", test_iterate_children},
        {"child overrunning its parent", test_child_overrun},
        {"DER INTEGER", test_uint},
        {"OBJECT IDENTIFIER text <-> DER", test_oid},
        {"two-pass writer round trip", test_writer_roundtrip},
        {"writer sticky errors", test_writer_errors},
        {"header helpers", test_header_helpers},
    };
    TU_ADD_SUITE("tlv", tests);
}
