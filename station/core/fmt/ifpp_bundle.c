/*
 * ifpp_bundle.c - .ifppb pieces shared by the streaming writer and reader:
 * IfppBundleHeader and IfppBundleEntry (docs/ifpp-files.asn), ESBPP01.
 *
 *   IfppBundle  30 { header 30 { 02 version, 04 bundleId, 06 smdpfOid, 18 createdAt,
 *                                02 count, 30 { 30 cert ... } },
 *                    entries 30 { 30 { 80 eid, 81 keyIndex, 82 tid, 83 iccid,
 *                                      [84 profileType], BF36 bpp } ... } }
 *
 * The BPP is only framed here (one BF36 TLV, the entry's last element); the import pre-flight
 * checks its structure with bpp_parse() and its binding with bpp_smdp_sign_tbs().
 */
#include <stdlib.h>
#include <string.h>

#include "ifpp_bundle_int.h"

#define TAG_E_EID          0x80u
#define TAG_E_KEY_INDEX    0x81u
#define TAG_E_TID          0x82u
#define TAG_E_ICCID        0x83u
#define TAG_E_PROFILE_TYPE 0x84u

void ifpp_bundle_hdr_free(ifpp_bundle_hdr_t *h) {
    if (!h)
        return;
    for (size_t i = 0; h->smdpf_certs && i < h->n_smdpf_certs; i++)
        ifpp_blob_free(&h->smdpf_certs[i]);
    free(h->smdpf_certs);
    h->smdpf_certs = NULL;
    h->n_smdpf_certs = 0;
}

st_t ifpp_bundle_hdr_check(const ifpp_bundle_hdr_t *h) {
    if (!h || (h->version != 0 && h->version != IFPP_FORMAT_VERSION))
        return ifpp_enc_fail(ST_E_VERSION, IFPP_BUNDLE_FILE_KIND, "version", IFPP_ERR_NONE);
    if (!ifpp_oid_ok(h->smdpf_oid, h->smdpf_oid_len))
        return ifpp_enc_fail(ST_E_INVAL, IFPP_BUNDLE_FILE_KIND, "smdpfOid", IFPP_ERR_NONE);
    if (h->n_smdpf_certs < 1 || h->n_smdpf_certs > IFPP_MAX_SMDPF_CERTS || !h->smdpf_certs)
        return ifpp_enc_fail(ST_E_INVAL, IFPP_BUNDLE_FILE_KIND, "smdpfCertificates (count)",
                             IFPP_ERR_NONE);
    for (size_t i = 0; i < h->n_smdpf_certs; i++)
        if (!ifpp_cert_ok(&h->smdpf_certs[i]))
            return ifpp_enc_fail(ST_E_INVAL, IFPP_BUNDLE_FILE_KIND, "smdpfCertificates",
                                 IFPP_ERR_NONE);
    if (h->created_at < 0)
        return ifpp_enc_fail(ST_E_INVAL, IFPP_BUNDLE_FILE_KIND, "createdAt", IFPP_ERR_NONE);
    return ST_OK;
}

st_t ifpp_bundle_hdr_encode(const ifpp_bundle_hdr_t *h, uint64_t count, buf_t *der) {
    tlv_writer_t *w = NULL;
    size_t start = der->len;
    st_t st;

    if ((st = ifpp_bundle_hdr_check(h)) != ST_OK)
        return st;
    if (count > UINT32_MAX)
        return ifpp_enc_fail(ST_E_TOO_LARGE, IFPP_BUNDLE_FILE_KIND, "count", IFPP_ERR_NONE);
    w = tlv_writer_new();
    if (!w)
        return ST_E_NOMEM;
    tlv_w_begin(w, TAG_SEQUENCE);
    tlv_w_uint(w, TAG_INTEGER, IFPP_FORMAT_VERSION);
    tlv_w_put(w, TAG_OCTET_STRING, h->bundle_id, IFPP_ID_LEN);
    tlv_w_put(w, TAG_OID, h->smdpf_oid, h->smdpf_oid_len);
    if ((st = ifpp_enc_time(w, h->created_at)) != ST_OK) {
        ifpp_enc_fail(st, IFPP_BUNDLE_FILE_KIND, "createdAt", IFPP_ERR_NONE);
        goto out;
    }
    tlv_w_uint(w, TAG_INTEGER, count);
    tlv_w_begin(w, TAG_SEQUENCE);
    for (size_t i = 0; i < h->n_smdpf_certs; i++)
        tlv_w_raw(w, h->smdpf_certs[i].p, h->smdpf_certs[i].len);
    tlv_w_end(w);
    tlv_w_end(w);
    st = tlv_w_finish(w, der);
    if (st == ST_OK && der->len - start > IFPP_MAX_BUNDLE_HDR_LEN)
        st = ifpp_enc_fail(ST_E_TOO_LARGE, IFPP_BUNDLE_FILE_KIND, "header", IFPP_ERR_NONE);
out:
    if (st != ST_OK)
        der->len = start;
    tlv_writer_free(w);
    return st;
}

st_t ifpp_bundle_hdr_decode(ifpp_dec_t *d, const uint8_t *p, size_t n, ifpp_bundle_hdr_t *h) {
    tlv_iter_t it, cit;
    tlv_t top, t, certs;
    st_t st;

    memset(h, 0, sizeof(*h));
    if ((st = ifpp_dec_top(d, p, n, "header", &top)) != ST_OK)
        return st;
    tlv_iter_children(&it, &top);
    if ((st = ifpp_dec_version(d, &it, &h->version)) != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_OCTET_STRING, "bundleId", &t)) != ST_OK
        || (st = ifpp_dec_fixed(d, &t, "bundleId", h->bundle_id, IFPP_ID_LEN)) != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_OID, "smdpfOid", &t)) != ST_OK
        || (st = ifpp_dec_oid(d, &t, "smdpfOid", h->smdpf_oid, &h->smdpf_oid_len)) != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_GENTIME, "createdAt", &t)) != ST_OK
        || (st = ifpp_dec_time(d, &t, "createdAt", &h->created_at)) != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_INTEGER, "count", &t)) != ST_OK
        || (st = ifpp_dec_uint(d, &t, "count", UINT32_MAX, &h->count)) != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_SEQUENCE, "smdpfCertificates", &certs)) != ST_OK)
        return st;
    if ((st = ifpp_dec_end(d, &it, "header (after smdpfCertificates)")) != ST_OK)
        return st;
    if ((st = ifpp_dec_count(d, &certs, TAG_SEQUENCE, "smdpfCertificates", 1, IFPP_MAX_SMDPF_CERTS,
                             &h->n_smdpf_certs))
        != ST_OK)
        return st;
    h->smdpf_certs = calloc(h->n_smdpf_certs, sizeof(*h->smdpf_certs));
    if (!h->smdpf_certs) {
        h->n_smdpf_certs = 0;
        return ifpp_dec_fail(d, ST_E_NOMEM, "smdpfCertificates", certs.raw);
    }
    tlv_iter_children(&cit, &certs);
    for (size_t i = 0; i < h->n_smdpf_certs; i++) {
        d->sub = i;
        if ((st = ifpp_dec_next(d, &cit, TAG_SEQUENCE, "smdpfCertificates", &t)) != ST_OK
            || (st = ifpp_dec_cert(d, &t, "smdpfCertificates", &h->smdpf_certs[i])) != ST_OK)
            return st;
    }
    d->sub = IFPP_ERR_NONE;
    return ST_OK;
}

st_t ifpp_bundle_entry_encode(const ifpp_bundle_entry_t *e, size_t idx, buf_t *der) {
    tlv_writer_t *w = NULL;
    tlv_t bpp;
    size_t start = der->len;
    st_t st;

    if (e->tid_len < 1 || e->tid_len > IFPP_MAX_TID_LEN)
        return ifpp_enc_fail(ST_E_INVAL, IFPP_BUNDLE_FILE_KIND, "transactionId", idx);
    if (!ifpp_str_ok(e->profile_type, sizeof(e->profile_type), true))
        return ifpp_enc_fail(ST_E_INVAL, IFPP_BUNDLE_FILE_KIND, "profileType", idx);
    if (!e->bpp || tlv_parse_exact(e->bpp, e->bpp_len, &bpp) != ST_OK || bpp.tag != TAG_BPP)
        return ifpp_enc_fail(ST_E_INVAL, IFPP_BUNDLE_FILE_KIND, "bpp (one BF36)", idx);
    w = tlv_writer_new();
    if (!w)
        return ST_E_NOMEM;
    tlv_w_begin(w, TAG_SEQUENCE);
    tlv_w_put(w, TAG_E_EID, e->eid, IFPP_EID_LEN);
    tlv_w_uint(w, TAG_E_KEY_INDEX, e->key_index);
    tlv_w_put(w, TAG_E_TID, e->tid, e->tid_len);
    tlv_w_put(w, TAG_E_ICCID, e->iccid, IFPP_ICCID_LEN);
    ifpp_enc_str(w, TAG_E_PROFILE_TYPE, e->profile_type, sizeof(e->profile_type), true);
    tlv_w_raw(w, e->bpp, e->bpp_len);
    tlv_w_end(w);
    st = tlv_w_finish(w, der);
    if (st == ST_OK && der->len - start > IFPP_MAX_ENTRY_LEN)
        st = ifpp_enc_fail(ST_E_TOO_LARGE, IFPP_BUNDLE_FILE_KIND, "entry", idx);
    if (st != ST_OK)
        der->len = start;
    tlv_writer_free(w);
    return st;
}

st_t ifpp_bundle_entry_decode(ifpp_dec_t *d, const uint8_t *p, size_t n, ifpp_bundle_entry_t *e) {
    tlv_iter_t it;
    tlv_t top, t;
    bool present;
    st_t st;

    memset(e, 0, sizeof(*e));
    if ((st = ifpp_dec_top(d, p, n, "entry", &top)) != ST_OK)
        return st;
    tlv_iter_children(&it, &top);
    if ((st = ifpp_dec_next(d, &it, TAG_E_EID, "eid", &t)) != ST_OK
        || (st = ifpp_dec_fixed(d, &t, "eid", e->eid, IFPP_EID_LEN)) != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_E_KEY_INDEX, "keyIndex", &t)) != ST_OK
        || (st = ifpp_dec_u32(d, &t, "keyIndex", &e->key_index)) != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_E_TID, "transactionId", &t)) != ST_OK)
        return st;
    if (t.len < 1 || t.len > IFPP_MAX_TID_LEN)
        return ifpp_dec_fail(d, ST_E_PARSE, "transactionId", t.raw);
    memcpy(e->tid, t.value, t.len);
    e->tid_len = t.len;
    if ((st = ifpp_dec_next(d, &it, TAG_E_ICCID, "iccid", &t)) != ST_OK
        || (st = ifpp_dec_fixed(d, &t, "iccid", e->iccid, IFPP_ICCID_LEN)) != ST_OK)
        return st;
    if ((st = ifpp_dec_opt(d, &it, TAG_E_PROFILE_TYPE, "profileType", &t, &present)) != ST_OK)
        return st;
    if (present
        && (st = ifpp_dec_str(d, &t, "profileType", e->profile_type, sizeof(e->profile_type)))
               != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_BPP, "boundProfilePackage", &t)) != ST_OK)
        return st;
    e->bpp = t.raw;
    e->bpp_len = t.raw_len;
    if ((st = ifpp_dec_end(d, &it, "entry (after boundProfilePackage)")) != ST_OK)
        return st;
    e->raw = top.raw;
    e->raw_len = top.raw_len;
    return ST_OK;
}
