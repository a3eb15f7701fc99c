/*
 * ifpp_request.c - .ifppr content: IfppBppRequest (docs/ifpp-files.asn), ESBPP02.
 *
 *   30 { 02 version, 04 requestId, 0C dmId, 18 createdAt, 30 { 30 eumCertificate ... },
 *        30 { 30 { 5A eid, [BF22 euiccInfo2], 30 euiccCertificate, 02 eumIndex,
 *                  30 { 02 keyIndex, 5F49 otPK, 5F37 sig }, [0C profileType] } ... } }
 */
#include <stdlib.h>
#include <string.h>

#include "ifpp_int.h"

static const char FILE_KIND[] = "BPP request (.ifppr)";

void ifpp_request_free(ifpp_request_t *r) {
    if (!r)
        return;
    for (size_t i = 0; r->certs_eum && i < r->n_certs_eum; i++)
        ifpp_blob_free(&r->certs_eum[i]);
    free(r->certs_eum);
    for (size_t i = 0; r->entries && i < r->n_entries; i++) {
        ifpp_blob_free(&r->entries[i].euicc_info2);
        ifpp_blob_free(&r->entries[i].cert_euicc);
    }
    free(r->entries);
    free(r);
}

static st_t encode_entry(tlv_writer_t *w, const ifpp_request_t *r, size_t idx) {
    const ifpp_req_entry_t *e = &r->entries[idx];
    st_t st;

    if (e->euicc_info2.len
        && !ifpp_tlv_blob_ok(&e->euicc_info2, TAG_EUICC_INFO2, IFPP_MAX_EUICC_INFO2_LEN))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "euiccInfo2", idx);
    if (!ifpp_cert_ok(&e->cert_euicc))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "euiccCertificate", idx);
    if (e->eum_index >= r->n_certs_eum)
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "eumIndex", idx);
    if (!ifpp_str_ok(e->profile_type, sizeof(e->profile_type), true))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "profileType", idx);
    tlv_w_begin(w, TAG_SEQUENCE);
    tlv_w_put(w, TAG_EID, e->eid, IFPP_EID_LEN);
    if (e->euicc_info2.len)
        tlv_w_raw(w, e->euicc_info2.p, e->euicc_info2.len);
    tlv_w_raw(w, e->cert_euicc.p, e->cert_euicc.len);
    tlv_w_uint(w, TAG_INTEGER, e->eum_index);
    if ((st = ifpp_enc_otk(w, &e->key)) != ST_OK)
        return ifpp_enc_fail(st, FILE_KIND, "oneTimeKey.euiccOtpk", idx);
    ifpp_enc_str(w, TAG_UTF8, e->profile_type, sizeof(e->profile_type), true);
    return tlv_w_end(w);
}

st_t ifpp_request_encode(const ifpp_request_t *r, buf_t *der) {
    tlv_writer_t *w = NULL;
    size_t start = der->len;
    st_t st = ST_OK;

    if (!r || (r->version != 0 && r->version != IFPP_FORMAT_VERSION))
        return ifpp_enc_fail(ST_E_VERSION, FILE_KIND, "version", IFPP_ERR_NONE);
    if (!ifpp_str_ok(r->dm_id, sizeof(r->dm_id), false))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "dmId", IFPP_ERR_NONE);
    if (r->n_certs_eum < 1 || r->n_certs_eum > IFPP_MAX_EUM_CERTS || !r->certs_eum)
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "eumCertificates (count)", IFPP_ERR_NONE);
    for (size_t i = 0; i < r->n_certs_eum; i++)
        if (!ifpp_cert_ok(&r->certs_eum[i]))
            return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "eumCertificates", IFPP_ERR_NONE);
    if (r->n_entries < 1 || r->n_entries > IFPP_MAX_EUICCS || !r->entries)
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "entries (count)", IFPP_ERR_NONE);
    w = tlv_writer_new();
    if (!w)
        return ST_E_NOMEM;
    tlv_w_begin(w, TAG_SEQUENCE);
    tlv_w_uint(w, TAG_INTEGER, IFPP_FORMAT_VERSION);
    tlv_w_put(w, TAG_OCTET_STRING, r->request_id, IFPP_ID_LEN);
    ifpp_enc_str(w, TAG_UTF8, r->dm_id, sizeof(r->dm_id), false);
    if ((st = ifpp_enc_time(w, r->created_at)) != ST_OK) {
        ifpp_enc_fail(st, FILE_KIND, "createdAt", IFPP_ERR_NONE);
        goto out;
    }
    tlv_w_begin(w, TAG_SEQUENCE);
    for (size_t i = 0; i < r->n_certs_eum; i++)
        tlv_w_raw(w, r->certs_eum[i].p, r->certs_eum[i].len);
    tlv_w_end(w);
    tlv_w_begin(w, TAG_SEQUENCE);
    for (size_t i = 0; i < r->n_entries; i++)
        if ((st = encode_entry(w, r, i)) != ST_OK)
            goto out;
    tlv_w_end(w);
    tlv_w_end(w);
    st = tlv_w_finish(w, der);
out:
    if (st != ST_OK)
        der->len = start;
    tlv_writer_free(w);
    return st;
}

static st_t decode_entry(ifpp_dec_t *d, const tlv_t *seq, size_t n_certs, ifpp_req_entry_t *e) {
    tlv_iter_t it;
    tlv_t t;
    bool present;
    st_t st;

    tlv_iter_children(&it, seq);
    if ((st = ifpp_dec_next(d, &it, TAG_EID, "eid", &t)) != ST_OK
        || (st = ifpp_dec_fixed(d, &t, "eid", e->eid, IFPP_EID_LEN)) != ST_OK)
        return st;
    if ((st = ifpp_dec_opt(d, &it, TAG_EUICC_INFO2, "euiccInfo2", &t, &present)) != ST_OK)
        return st;
    if (present
        && (st = ifpp_dec_blob(d, &t, "euiccInfo2", IFPP_MAX_EUICC_INFO2_LEN, &e->euicc_info2))
               != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_SEQUENCE, "euiccCertificate", &t)) != ST_OK
        || (st = ifpp_dec_cert(d, &t, "euiccCertificate", &e->cert_euicc)) != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_INTEGER, "eumIndex", &t)) != ST_OK
        || (st = ifpp_dec_u32(d, &t, "eumIndex", &e->eum_index)) != ST_OK)
        return st;
    if (e->eum_index >= n_certs)
        return ifpp_dec_fail(d, ST_E_PARSE, "eumIndex (no such certificate)", t.raw);
    if ((st = ifpp_dec_next(d, &it, TAG_SEQUENCE, "oneTimeKey", &t)) != ST_OK
        || (st = ifpp_dec_otk(d, &t, &e->key)) != ST_OK)
        return st;
    if ((st = ifpp_dec_opt(d, &it, TAG_UTF8, "profileType", &t, &present)) != ST_OK)
        return st;
    if (present
        && (st = ifpp_dec_str(d, &t, "profileType", e->profile_type, sizeof(e->profile_type)))
               != ST_OK)
        return st;
    return ifpp_dec_end(d, &it, "entry (after profileType)");
}

st_t ifpp_request_decode_ex(const uint8_t *der, size_t len, ifpp_request_t **out, ifpp_err_t *err) {
    ifpp_err_t local;
    ifpp_dec_t d;
    ifpp_request_t *r = NULL;
    tlv_iter_t it, lit;
    tlv_t top, t, certs, list;
    st_t st;

    ifpp_dec_init(&d, FILE_KIND, der, 0, err ? err : &local);
    if (!out)
        return ifpp_dec_fail(&d, ST_E_INVAL, NULL, NULL);
    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return ifpp_dec_fail(&d, ST_E_NOMEM, NULL, NULL);
    if ((st = ifpp_dec_top(&d, der, len, "IfppBppRequest", &top)) != ST_OK)
        goto out;
    tlv_iter_children(&it, &top);
    if ((st = ifpp_dec_version(&d, &it, &r->version)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_OCTET_STRING, "requestId", &t)) != ST_OK
        || (st = ifpp_dec_fixed(&d, &t, "requestId", r->request_id, IFPP_ID_LEN)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_UTF8, "dmId", &t)) != ST_OK
        || (st = ifpp_dec_str(&d, &t, "dmId", r->dm_id, sizeof(r->dm_id))) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_GENTIME, "createdAt", &t)) != ST_OK
        || (st = ifpp_dec_time(&d, &t, "createdAt", &r->created_at)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_SEQUENCE, "eumCertificates", &certs)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_SEQUENCE, "entries", &list)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_end(&d, &it, "IfppBppRequest (after entries)")) != ST_OK)
        goto out;

    if ((st = ifpp_dec_count(&d, &certs, TAG_SEQUENCE, "eumCertificates", 1, IFPP_MAX_EUM_CERTS,
                             &r->n_certs_eum))
        != ST_OK)
        goto out;
    r->certs_eum = calloc(r->n_certs_eum, sizeof(*r->certs_eum));
    if (!r->certs_eum) {
        r->n_certs_eum = 0;
        st = ifpp_dec_fail(&d, ST_E_NOMEM, "eumCertificates", certs.raw);
        goto out;
    }
    tlv_iter_children(&lit, &certs);
    for (size_t i = 0; i < r->n_certs_eum; i++) {
        d.sub = i;
        if ((st = ifpp_dec_next(&d, &lit, TAG_SEQUENCE, "eumCertificates", &t)) != ST_OK
            || (st = ifpp_dec_cert(&d, &t, "eumCertificates", &r->certs_eum[i])) != ST_OK)
            goto out;
    }
    d.sub = IFPP_ERR_NONE;

    if ((st = ifpp_dec_count(&d, &list, TAG_SEQUENCE, "entries", 1, IFPP_MAX_EUICCS, &r->n_entries))
        != ST_OK)
        goto out;
    r->entries = calloc(r->n_entries, sizeof(*r->entries));
    if (!r->entries) {
        r->n_entries = 0;
        st = ifpp_dec_fail(&d, ST_E_NOMEM, "entries", list.raw);
        goto out;
    }
    tlv_iter_children(&lit, &list);
    for (size_t i = 0; i < r->n_entries; i++) {
        d.entry = i;
        if ((st = ifpp_dec_next(&d, &lit, TAG_SEQUENCE, "entry", &t)) != ST_OK)
            goto out;
        if ((st = decode_entry(&d, &t, r->n_certs_eum, &r->entries[i])) != ST_OK)
            goto out;
    }
    *out = r;
    r = NULL;
out:
    ifpp_request_free(r);
    return st;
}

st_t ifpp_request_decode(const uint8_t *der, size_t len, ifpp_request_t **out) {
    return ifpp_request_decode_ex(der, len, out, NULL);
}
