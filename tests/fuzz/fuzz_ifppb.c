/*
 * fuzz_ifppb: the streaming bundle reader over fmemopen(). Checks that the tee sees every byte
 * the reader consumed, in order, and - on a clean end - exactly the whole input; that entries
 * point into the reader's buffer; and that the reader's memory stays bounded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/ifpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const uint8_t *data;
    size_t size, seen;
} tee_state_t;

static st_t tee(const uint8_t *p, size_t n, void *ud) {
    tee_state_t *t = ud;
    if (n > t->size - t->seen || memcmp(p, t->data + t->seen, n) != 0)
        abort();
    t->seen += n;
    return ST_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FILE *f;
    ifpp_bundle_reader_t *r = NULL;
    ifpp_bundle_entry_t e;
    ifpp_err_t err;
    tee_state_t t = {data, size, 0};
    st_t st;

    if (size == 0)
        return 0; /* fmemopen wants a buffer */
    f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    st = ifpp_bundle_reader_open_ex(f, tee, &t, &r, &err);
    if (st != ST_OK) {
        if (r || err.st != st)
            abort();
        fclose(f);
        return 0;
    }
    while ((st = ifpp_bundle_reader_next(r, &e)) == ST_OK) {
        if (!e.raw || e.bpp < e.raw || e.bpp + e.bpp_len != e.raw + e.raw_len
            || e.raw_len > IFPP_MAX_ENTRY_LEN || e.tid_len < 1 || e.tid_len > IFPP_MAX_TID_LEN)
            abort();
        if (ifpp_bundle_reader_mem(r) > 2 * IFPP_MAX_ENTRY_LEN + IFPP_MAX_BUNDLE_HDR_LEN)
            abort();
    }
    if (st == ST_E_NOENT
        && (t.seen != size || ifpp_bundle_reader_count(r) != ifpp_bundle_reader_header(r)->count))
        abort();
    if (st != ST_E_NOENT && ifpp_bundle_reader_error(r)->st != st)
        abort();
    ifpp_bundle_reader_free(r);
    fclose(f);
    return 0;
}
