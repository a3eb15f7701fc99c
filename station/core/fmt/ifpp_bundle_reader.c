/*
 * ifpp_bundle_reader.c - streaming .ifppb reader with bounded memory.
 *
 * States:   open: outer SEQUENCE header -> header SEQUENCE (whole, <= 1 MiB, decoded) ->
 *                 entries SEQUENCE header (must end exactly where the outer one ends)
 *           next: [entries left] entry header -> entry (whole, <= IFPP_MAX_ENTRY_LEN) -> ST_OK
 *                 [entries done] count == header.count, end of file -> ST_E_NOENT (DONE)
 *           any failure -> FAILED (sticky: every later call returns the same status)
 * Headers are parsed with tlv_parse_header() one byte at a time (at most 8 bytes), so nothing
 * is read beyond the structure; every byte read goes to the tee.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "ifpp_bundle_int.h"

#define HDR_MAX 8 /* 3 tag octets + 1 + 4 length octets */

typedef enum { R_ENTRIES, R_DONE, R_FAILED } r_state_t;

struct ifpp_bundle_reader {
    FILE *f;
    ifpp_tee_fn tee;
    void *tee_ud;
    uint64_t pos;         /* bytes consumed from f */
    uint64_t entries_end; /* file offset where the entries SEQUENCE ends */
    uint64_t n_read;      /* entries returned */
    ifpp_bundle_hdr_t hdr;
    buf_t buf; /* header at open, then the current entry (reused) */
    ifpp_err_t err;
    r_state_t state;
};

/* Records a failure; `in_entry`: inside entry n_read (else the header / file framing). */
static st_t r_fail_at(ifpp_bundle_reader_t *r, st_t st, bool in_entry, const char *field,
                      uint64_t at) {
    char msg[192];
    r->state = R_FAILED;
    r->err.st = st;
    r->err.entry = in_entry ? (size_t)r->n_read : IFPP_ERR_NONE;
    r->err.sub = IFPP_ERR_NONE;
    r->err.field = field;
    r->err.offset = at;
    st_log(ST_LOG_DEBUG, "%s: %s", IFPP_BUNDLE_FILE_KIND,
           ifpp_err_format(&r->err, msg, sizeof(msg)));
    return st;
}

/* The failure is in the current entry once open() has finished (state R_ENTRIES and the
 * entries SEQUENCE header read), else in the framing or header. */
static st_t r_fail(ifpp_bundle_reader_t *r, st_t st, const char *field, uint64_t at) {
    return r_fail_at(r, st, r->entries_end != 0, field, at);
}

/* Reads exactly n bytes (ST_E_TRUNCATED at end of file) and feeds the tee. */
static st_t r_read(ifpp_bundle_reader_t *r, uint8_t *p, size_t n) {
    size_t got = n ? fread(p, 1, n, r->f) : 0;
    if (got != n)
        return ferror(r->f) ? ST_E_IO : ST_E_TRUNCATED;
    r->pos += n;
    if (r->tee && n)
        return r->tee(p, n, r->tee_ud);
    return ST_OK;
}

/* Reads one TLV header from f into hb (kept, for the caller to store in front of the value). */
static st_t r_header(ifpp_bundle_reader_t *r, uint8_t hb[HDR_MAX], uint32_t *tag, size_t *len,
                     size_t *hl) {
    size_t k = 0;
    st_t st;
    for (;;) {
        if ((st = r_read(r, hb + k, 1)) != ST_OK)
            return st;
        k++;
        st = tlv_parse_header(hb, k, tag, len, hl);
        if (st != ST_E_TRUNCATED)
            return st;
        if (k == HDR_MAX)
            return ST_E_PARSE;
    }
}

/* Reads a SEQUENCE header that must fit in `room` bytes; *len is its value length. */
static st_t r_seq_header(ifpp_bundle_reader_t *r, const char *field, uint64_t room,
                         uint8_t hb[HDR_MAX], size_t *len, size_t *hl) {
    uint64_t at = r->pos;
    uint32_t tag;
    st_t st = r_header(r, hb, &tag, len, hl);
    if (st != ST_OK)
        return r_fail(r, st, field, at);
    if (tag != TAG_SEQUENCE || !ifpp_der_len_ok(tag, *len, *hl))
        return r_fail(r, ST_E_PARSE, field, at);
    if (*hl > room || (uint64_t)*len > room - *hl)
        return r_fail(r, ST_E_TRUNCATED, field, at); /* overruns its parent */
    return ST_OK;
}

st_t ifpp_bundle_reader_open_ex(FILE *f, ifpp_tee_fn tee, void *tee_ud, ifpp_bundle_reader_t **out,
                                ifpp_err_t *err) {
    ifpp_bundle_reader_t *r = NULL;
    uint8_t hb[HDR_MAX];
    size_t len, hl, outer_len, hdr_len;
    uint64_t hdr_at, outer_end;
    ifpp_dec_t d;
    st_t st;

    if (err)
        ifpp_err_clear(err);
    if (!out || !f) {
        if (err)
            err->st = ST_E_INVAL;
        return ST_E_INVAL;
    }
    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (!r) {
        if (err)
            err->st = ST_E_NOMEM;
        return ST_E_NOMEM;
    }
    r->f = f;
    r->tee = tee;
    r->tee_ud = tee_ud;
    r->state = R_ENTRIES;
    ifpp_err_clear(&r->err);

    /* outer SEQUENCE: no parent, the file must hold it (checked as we go) */
    if ((st = r_seq_header(r, "IfppBundle", IFPP_MAX_BUNDLE_LEN + HDR_MAX, hb, &outer_len, &hl))
        != ST_OK)
        goto out;
    outer_end = r->pos + outer_len;

    /* header SEQUENCE, read whole */
    hdr_at = r->pos;
    if ((st = r_seq_header(r, "header", outer_len, hb, &len, &hl)) != ST_OK)
        goto out;
    if (len > IFPP_MAX_BUNDLE_HDR_LEN) {
        st = r_fail(r, ST_E_TOO_LARGE, "header", hdr_at);
        goto out;
    }
    hdr_len = hl + len;
    if ((st = buf_reserve(&r->buf, hdr_len)) != ST_OK) {
        st = r_fail(r, st, "header", hdr_at);
        goto out;
    }
    memcpy(r->buf.data, hb, hl);
    if ((st = r_read(r, r->buf.data + hl, len)) != ST_OK) {
        st = r_fail(r, st, "header", r->pos);
        goto out;
    }
    r->buf.len = hdr_len;
    ifpp_dec_init(&d, IFPP_BUNDLE_FILE_KIND, r->buf.data, hdr_at, &r->err);
    if ((st = ifpp_bundle_hdr_decode(&d, r->buf.data, hdr_len, &r->hdr)) != ST_OK) {
        r->state = R_FAILED;
        goto out;
    }

    /* entries SEQUENCE: exactly the rest of the outer one */
    {
        uint64_t at = r->pos;
        if ((st = r_seq_header(r, "entries", outer_end - r->pos, hb, &len, &hl)) != ST_OK)
            goto out;
        if (r->pos + len != outer_end) {
            st = r_fail(r, ST_E_TRAILING, "IfppBundle (after entries)", at);
            goto out;
        }
        r->entries_end = outer_end; /* from here on, failures are in an entry */
    }
    buf_free(&r->buf); /* the header buffer is not needed any more */
    *out = r;
    r = NULL;
    st = ST_OK;
out:
    if (r && err)
        *err = r->err;
    ifpp_bundle_reader_free(r);
    return st;
}

st_t ifpp_bundle_reader_open(FILE *f, ifpp_bundle_reader_t **out) {
    return ifpp_bundle_reader_open_ex(f, NULL, NULL, out, NULL);
}

const ifpp_bundle_hdr_t *ifpp_bundle_reader_header(const ifpp_bundle_reader_t *r) {
    return r ? &r->hdr : NULL;
}

/* End of the entries: the count must match and nothing may follow in the file. */
static st_t r_finish(ifpp_bundle_reader_t *r) {
    int c;
    if (r->n_read != r->hdr.count)
        return r_fail_at(r, ST_E_PARSE, false, "count (fewer entries than announced)", r->pos);
    c = fgetc(r->f);
    if (c != EOF)
        return r_fail_at(r, ST_E_TRAILING, false, "IfppBundle (after the end)", r->pos);
    if (ferror(r->f))
        return r_fail_at(r, ST_E_IO, false, NULL, r->pos);
    r->state = R_DONE;
    return ST_E_NOENT;
}

st_t ifpp_bundle_reader_next(ifpp_bundle_reader_t *r, ifpp_bundle_entry_t *e) {
    uint8_t hb[HDR_MAX];
    size_t len, hl;
    uint64_t at;
    ifpp_dec_t d;
    st_t st;

    if (!r || !e)
        return ST_E_INVAL;
    memset(e, 0, sizeof(*e));
    if (r->state == R_FAILED)
        return r->err.st;
    if (r->state == R_DONE)
        return ST_E_NOENT;
    if (r->pos == r->entries_end)
        return r_finish(r);
    at = r->pos;
    if (r->n_read >= r->hdr.count)
        return r_fail(r, ST_E_PARSE, "entry (more entries than count)", at);
    if ((st = r_seq_header(r, "entry", r->entries_end - r->pos, hb, &len, &hl)) != ST_OK)
        return st;
    if (hl + len > IFPP_MAX_ENTRY_LEN)
        return r_fail(r, ST_E_TOO_LARGE, "entry", at);
    buf_reset(&r->buf);
    if ((st = buf_reserve(&r->buf, hl + len)) != ST_OK)
        return r_fail(r, st, "entry", at);
    memcpy(r->buf.data, hb, hl);
    if ((st = r_read(r, r->buf.data + hl, len)) != ST_OK)
        return r_fail(r, st, "entry", at);
    r->buf.len = hl + len;
    ifpp_dec_init(&d, IFPP_BUNDLE_FILE_KIND, r->buf.data, at, &r->err);
    d.entry = (size_t)r->n_read;
    if ((st = ifpp_bundle_entry_decode(&d, r->buf.data, r->buf.len, e)) != ST_OK) {
        r->state = R_FAILED;
        memset(e, 0, sizeof(*e));
        return st;
    }
    r->n_read++;
    return ST_OK;
}

uint64_t ifpp_bundle_reader_offset(const ifpp_bundle_reader_t *r) {
    return r ? r->err.offset : 0;
}

const ifpp_err_t *ifpp_bundle_reader_error(const ifpp_bundle_reader_t *r) {
    return r ? &r->err : NULL;
}

uint64_t ifpp_bundle_reader_count(const ifpp_bundle_reader_t *r) {
    return r ? r->n_read : 0;
}

size_t ifpp_bundle_reader_mem(const ifpp_bundle_reader_t *r) {
    size_t n;
    if (!r)
        return 0;
    n = sizeof(*r) + r->buf.cap;
    for (size_t i = 0; i < r->hdr.n_smdpf_certs; i++)
        n += r->hdr.smdpf_certs[i].len;
    return n + r->hdr.n_smdpf_certs * sizeof(*r->hdr.smdpf_certs);
}

void ifpp_bundle_reader_free(ifpp_bundle_reader_t *r) {
    if (!r)
        return;
    ifpp_bundle_hdr_free(&r->hdr);
    buf_free(&r->buf);
    free(r);
}
