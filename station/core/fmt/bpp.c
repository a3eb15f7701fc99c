/*
 * bpp.c - SGP.22 BoundProfilePackage (BF36): structure check, §2.5.5 segmentation, smdpSign
 * TBS. Zero-copy: the view and the segments point into the caller's buffer.
 */
#include "bpp.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* SGP.22 §2.5.5 / research §3.7: no '86'/'87'/'88' TLV (header included) above 1020 bytes. */
#define BPP_MAX_SEGMENT_TLV 1020
#define BPP_MAX_TID_LEN     16
#define BPP_MAX_HOST_ID_LEN 16
#define BPP_OTPK_LEN        65
#define BPP_SIGN_LEN        64

static st_t bpp_fail(st_t st, const char *what) {
    st_log(ST_LOG_DEBUG, "bpp: %s: %s", what, st_str(st));
    return st;
}

/* Next child with exactly `tag`; a missing child or another tag is ST_E_PARSE. */
static st_t next_child(tlv_iter_t *it, uint32_t tag, const char *what, tlv_t *out) {
    st_t st = tlv_iter_next(it, out);
    if (st == ST_E_NOENT)
        return bpp_fail(ST_E_PARSE, what); /* missing */
    if (st != ST_OK)
        return bpp_fail(st, what);
    if (out->tag != tag) {
        st_log(ST_LOG_DEBUG, "bpp: %s: tag %X where %X was expected", what, (unsigned)out->tag,
               (unsigned)tag);
        return ST_E_PARSE;
    }
    return ST_OK;
}

/* One octet value (Octet1). */
static st_t get_octet1(const tlv_t *t, const char *what, uint8_t *v) {
    if (t->len != 1)
        return bpp_fail(ST_E_PARSE, what);
    *v = t->value[0];
    return ST_OK;
}

/* A0/A1/A2/A3: one or more children, all with `tag`, each TLV at most 1020 bytes. */
static st_t check_seq_of(const tlv_t *part, uint32_t tag, const char *what, size_t *count) {
    tlv_iter_t it;
    tlv_t t;
    st_t st;
    size_t n = 0;

    tlv_iter_children(&it, part);
    while ((st = tlv_iter_next(&it, &t)) == ST_OK) {
        if (t.tag != tag) {
            st_log(ST_LOG_DEBUG, "bpp: %s: element %zu has tag %X, only %X allowed", what, n,
                   (unsigned)t.tag, (unsigned)tag);
            return ST_E_PARSE;
        }
        if (t.raw_len > BPP_MAX_SEGMENT_TLV) {
            st_log(ST_LOG_DEBUG, "bpp: %s: element %zu is %zu bytes (at most %d)", what, n,
                   t.raw_len, BPP_MAX_SEGMENT_TLV);
            return ST_E_TOO_LARGE;
        }
        n++;
    }
    if (st != ST_E_NOENT)
        return bpp_fail(st, what);
    if (n == 0)
        return bpp_fail(ST_E_PARSE, what); /* an empty part carries nothing to load */
    *count = n;
    return ST_OK;
}

/* BF23 InitialiseSecureChannelRequest (SGP.22 §5.5.1): fixed order, no extra elements. */
static st_t parse_isc(bpp_view_t *v) {
    tlv_iter_t it, cit;
    tlv_t t;
    st_t st;

    tlv_iter_children(&it, &v->isc);
    if ((st = next_child(&it, 0x82, "BF23 remoteOpId", &t)) != ST_OK)
        return st;
    if (tlv_get_uint(&t, &v->remote_op) != ST_OK)
        return bpp_fail(ST_E_PARSE, "BF23 remoteOpId");
    if ((st = next_child(&it, 0x80, "BF23 transactionId", &t)) != ST_OK)
        return st;
    if (t.len < 1 || t.len > BPP_MAX_TID_LEN)
        return bpp_fail(ST_E_PARSE, "BF23 transactionId length");
    v->tid = t.value;
    v->tid_len = t.len;

    if ((st = next_child(&it, 0xA6, "BF23 controlRefTemplate", &v->crt)) != ST_OK)
        return st;
    tlv_iter_children(&cit, &v->crt);
    if ((st = next_child(&cit, 0x80, "CRT keyType", &t)) != ST_OK)
        return st;
    if ((st = get_octet1(&t, "CRT keyType", &v->key_type)) != ST_OK)
        return st;
    if ((st = next_child(&cit, 0x81, "CRT keyLen", &t)) != ST_OK)
        return st;
    if ((st = get_octet1(&t, "CRT keyLen", &v->key_len)) != ST_OK)
        return st;
    if ((st = next_child(&cit, 0x84, "CRT hostId", &t)) != ST_OK)
        return st;
    if (t.len < 1 || t.len > BPP_MAX_HOST_ID_LEN)
        return bpp_fail(ST_E_PARSE, "CRT hostId length");
    v->host_id = t.value;
    v->host_id_len = t.len;
    st = tlv_iter_next(&cit, &t);
    if (st != ST_E_NOENT)
        return bpp_fail(st == ST_OK ? ST_E_TRAILING : st, "CRT after hostId");

    if ((st = next_child(&it, 0x5F49, "BF23 smdpOtpk", &v->smdp_otpk)) != ST_OK)
        return st;
    if (v->smdp_otpk.len != BPP_OTPK_LEN || v->smdp_otpk.value[0] != 0x04)
        return bpp_fail(ST_E_PARSE, "BF23 smdpOtpk (65-byte uncompressed point)");
    if ((st = next_child(&it, 0x5F37, "BF23 smdpSign", &v->smdp_sign)) != ST_OK)
        return st;
    if (v->smdp_sign.len != BPP_SIGN_LEN)
        return bpp_fail(ST_E_PARSE, "BF23 smdpSign (64 bytes)");
    st = tlv_iter_next(&it, &t);
    if (st != ST_E_NOENT)
        return bpp_fail(st == ST_OK ? ST_E_TRAILING : st, "BF23 after smdpSign");
    return ST_OK;
}

st_t bpp_parse(const uint8_t *p, size_t n, bpp_view_t *out) {
    bpp_view_t v;
    tlv_iter_t it;
    tlv_t t;
    st_t st;

    memset(&v, 0, sizeof(v));
    memset(out, 0, sizeof(*out));
    if (!p && n)
        return ST_E_INVAL;
    st = tlv_parse_exact(p, n, &v.bpp);
    if (st != ST_OK)
        return bpp_fail(st, "BF36");
    if (v.bpp.tag != 0xBF36)
        return bpp_fail(ST_E_PARSE, "not a BoundProfilePackage (BF36)");

    tlv_iter_children(&it, &v.bpp);
    if ((st = next_child(&it, 0xBF23, "initialiseSecureChannelRequest", &v.isc)) != ST_OK)
        return st;
    if ((st = parse_isc(&v)) != ST_OK)
        return st;
    if ((st = next_child(&it, 0xA0, "firstSequenceOf87 (A0)", &v.a0)) != ST_OK)
        return st;
    if ((st = check_seq_of(&v.a0, 0x87, "firstSequenceOf87 (A0)", &v.n87_first)) != ST_OK)
        return st;
    if ((st = next_child(&it, 0xA1, "sequenceOf88 (A1)", &v.a1)) != ST_OK)
        return st;
    if ((st = check_seq_of(&v.a1, 0x88, "sequenceOf88 (A1)", &v.n88)) != ST_OK)
        return st;

    st = tlv_iter_next(&it, &t);
    if (st == ST_OK && t.tag == 0xA2) {
        v.a2 = t;
        v.has_a2 = true;
        if ((st = check_seq_of(&v.a2, 0x87, "secondSequenceOf87 (A2)", &v.n87_second)) != ST_OK)
            return st;
        st = tlv_iter_next(&it, &t);
    }
    if (st == ST_E_NOENT)
        return bpp_fail(ST_E_PARSE, "sequenceOf86 (A3) missing");
    if (st != ST_OK)
        return bpp_fail(st, "sequenceOf86 (A3)");
    if (t.tag != 0xA3) {
        st_log(ST_LOG_DEBUG, "bpp: tag %X where A2 or A3 was expected", (unsigned)t.tag);
        return ST_E_PARSE;
    }
    v.a3 = t;
    if ((st = check_seq_of(&v.a3, 0x86, "sequenceOf86 (A3)", &v.n86)) != ST_OK)
        return st;
    st = tlv_iter_next(&it, &t);
    if (st != ST_E_NOENT)
        return bpp_fail(st == ST_OK ? ST_E_TRAILING : st, "BF36 after A3");
    *out = v;
    return ST_OK;
}

bool bpp_check_crt(const bpp_view_t *v) {
    return v->remote_op == 1 && v->key_type == 0x88 && v->key_len == 0x10;
}

/* SGP.22 §5.5.1 (ES8+.InitialiseSecureChannel): smdpSign covers the BF23 content before 5F37
 * followed by the eUICC's one-time key as it would appear as euiccOtpk ('5F49'). */
st_t bpp_smdp_sign_tbs(const bpp_view_t *v, const uint8_t *euicc_otpk, size_t otpk_len,
                       buf_t *tbs) {
    st_t st;
    size_t start = tbs->len;

    if (!v->isc.value || !v->smdp_sign.raw || !euicc_otpk || otpk_len != BPP_OTPK_LEN)
        return ST_E_INVAL;
    st = buf_append(tbs, v->isc.value, (size_t)(v->smdp_sign.raw - v->isc.value));
    if (st == ST_OK)
        st = tlv_buf_put(tbs, 0x5F49, euicc_otpk, otpk_len);
    if (st != ST_OK)
        tbs->len = start;
    return st;
}

/* Segment list being filled; writes stop at cap but k keeps counting (checked at the end). */
typedef struct {
    bpp_segment_t *s;
    size_t k, cap;
} seg_list_t;

static void seg_add(seg_list_t *l, const uint8_t *from, const uint8_t *to) {
    if (l->k < l->cap) {
        l->s[l->k].p = from;
        l->s[l->k].len = (size_t)(to - from);
    }
    l->k++;
}

/* Segments of one SEQUENCE OF 87 part: [header + first 87], then each further 87. */
static void seg_part87(seg_list_t *l, const tlv_t *part) {
    tlv_iter_t it;
    tlv_t t;
    bool first = true;

    tlv_iter_children(&it, part);
    while (tlv_iter_next(&it, &t) == ST_OK) {
        seg_add(l, first ? part->raw : t.raw, t.raw + t.raw_len);
        first = false;
    }
}

/* Header of a part alone, then each child TLV. */
static void seg_part_each(seg_list_t *l, const tlv_t *part) {
    tlv_iter_t it;
    tlv_t t;

    seg_add(l, part->raw, part->value);
    tlv_iter_children(&it, part);
    while (tlv_iter_next(&it, &t) == ST_OK)
        seg_add(l, t.raw, t.raw + t.raw_len);
}

/* SGP.22 §2.5.5 segmentation of the Bound Profile Package for ES10b.LoadBoundProfilePackage. */
st_t bpp_segments(const bpp_view_t *v, bpp_segment_t **segs, size_t *n) {
    seg_list_t l = {NULL, 0, 0};

    *segs = NULL;
    *n = 0;
    if (!v->bpp.raw || !v->isc.raw || v->n87_first == 0 || v->n86 == 0)
        return ST_E_INVAL; /* not a view filled by bpp_parse */
    l.cap = 1 + v->n87_first + 1 + v->n88 + (v->has_a2 ? v->n87_second : 0) + 1 + v->n86;
    l.s = calloc(l.cap, sizeof(*l.s));
    if (!l.s)
        return ST_E_NOMEM;
    seg_add(&l, v->bpp.raw, v->isc.raw + v->isc.raw_len);
    seg_part87(&l, &v->a0);
    seg_part_each(&l, &v->a1);
    if (v->has_a2)
        seg_part87(&l, &v->a2);
    seg_part_each(&l, &v->a3);
    if (l.k != l.cap) {
        /* the counts in the view do not match its parts: not from bpp_parse */
        free(l.s);
        return ST_E_INVAL;
    }
    *segs = l.s;
    *n = l.cap;
    return ST_OK;
}
