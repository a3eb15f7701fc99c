/*
 * fuzz_tlv: the BER-TLV reader on arbitrary bytes. Walks every constructed value recursively
 * (depth-limited like the real parsers), decodes INTEGERs and OIDs, and checks the reader's
 * invariants: every TLV lies inside its parent, and re-emitting a parsed primitive with the
 * writer gives a TLV that parses back to the same tag and value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlv/tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const uint8_t *p, size_t n, int depth) {
    tlv_iter_t it;
    tlv_t t;
    if (depth > 16)
        return;
    tlv_iter_init(&it, p, n);
    while (tlv_iter_next(&it, &t) == ST_OK) {
        if (t.raw < p || t.raw + t.raw_len > p + n || t.hdr_len + t.len != t.raw_len)
            abort();
        if (tlv_tag_constructed(t.tag)) {
            walk(t.value, t.len, depth + 1);
        } else {
            uint64_t v;
            char oid[128];
            buf_t out = BUF_INIT;
            tlv_t back;
            (void)tlv_get_uint(&t, &v);
            (void)der_oid_to_str(t.value, t.len, oid, sizeof(oid));
            if (tlv_buf_put(&out, t.tag, t.value, t.len) == ST_OK) {
                if (tlv_parse_exact(out.data, out.len, &back) != ST_OK || back.tag != t.tag
                    || back.len != t.len || memcmp(back.value, t.value, t.len) != 0)
                    abort();
            }
            buf_free(&out);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint32_t tag;
    size_t len, hl;
    (void)tlv_parse_header(data, size, &tag, &len, &hl);
    walk(data, size, 0);
    return 0;
}
