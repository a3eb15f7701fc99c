/*
 * ifpp_edata.c - .ifppe content: IfppEuiccBatch (docs/ifpp-files.asn), Esed2/ESED201.
 *
 *   30 { 02 version, 0C batchId, 18 createdAt, 30 eumCertificate,
 *        30 { 30 { 5A eid, [BF22 euiccInfo2], 30 euiccCertificate,
 *                  30 { 30 { 02 keyIndex, 5F49 otPK, 5F37 sig } ... } } ... } }
 */
#include <stdlib.h>
#include <string.h>

#include "ifpp_int.h"

static const char FILE_KIND[] = "eUICC data (.ifppe)";

void ifpp_edata_free(ifpp_edata_t *d) {
    if (!d)
        return;
    ifpp_blob_free(&d->cert_eum);
    for (size_t i = 0; d->euiccs && i < d->n_euiccs; i++) {
        ifpp_blob_free(&d->euiccs[i].euicc_info2);
        ifpp_blob_free(&d->euiccs[i].cert_euicc);
        free(d->euiccs[i].keys);
    }
    free(d->euiccs);
    free(d);
}

/* Keys in strictly ascending keyIndex order: one canonical encoding, no duplicates. */
static bool keys_ok(const ifpp_otk_t *keys, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (keys[i].key_index <= keys[i - 1].key_index)
            return false;
    return true;
}

static st_t encode_euicc(tlv_writer_t *w, const ifpp_euicc_t *e, size_t idx) {
    st_t st;
    if (e->euicc_info2.len
        && !ifpp_tlv_blob_ok(&e->euicc_info2, TAG_EUICC_INFO2, IFPP_MAX_EUICC_INFO2_LEN))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "euiccInfo2", idx);
    if (!ifpp_cert_ok(&e->cert_euicc))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "euiccCertificate", idx);
    if (e->n_keys < 1 || e->n_keys > IFPP_MAX_KEYS || !e->keys || !keys_ok(e->keys, e->n_keys))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "oneTimeKeys (1..1024, ascending keyIndex)",
                             idx);
    tlv_w_begin(w, TAG_SEQUENCE);
    tlv_w_put(w, TAG_EID, e->eid, IFPP_EID_LEN);
    if (e->euicc_info2.len)
        tlv_w_raw(w, e->euicc_info2.p, e->euicc_info2.len);
    tlv_w_raw(w, e->cert_euicc.p, e->cert_euicc.len);
    tlv_w_begin(w, TAG_SEQUENCE);
    for (size_t k = 0; k < e->n_keys; k++) {
        if ((st = ifpp_enc_otk(w, &e->keys[k])) != ST_OK)
            return ifpp_enc_fail(st, FILE_KIND, "oneTimeKeys.euiccOtpk", idx);
    }
    tlv_w_end(w);
    return tlv_w_end(w);
}

st_t ifpp_edata_encode(const ifpp_edata_t *d, buf_t *der) {
    tlv_writer_t *w = NULL;
    size_t start = der->len;
    st_t st = ST_OK;

    if (!d || (d->version != 0 && d->version != IFPP_FORMAT_VERSION))
        return ifpp_enc_fail(ST_E_VERSION, FILE_KIND, "version", IFPP_ERR_NONE);
    if (!ifpp_str_ok(d->batch_id, sizeof(d->batch_id), false))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "batchId", IFPP_ERR_NONE);
    if (!ifpp_cert_ok(&d->cert_eum))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "eumCertificate", IFPP_ERR_NONE);
    if (d->n_euiccs < 1 || d->n_euiccs > IFPP_MAX_EUICCS || !d->euiccs)
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "euiccs (count)", IFPP_ERR_NONE);
    w = tlv_writer_new();
    if (!w)
        return ST_E_NOMEM;
    tlv_w_begin(w, TAG_SEQUENCE);
    tlv_w_uint(w, TAG_INTEGER, IFPP_FORMAT_VERSION);
    ifpp_enc_str(w, TAG_UTF8, d->batch_id, sizeof(d->batch_id), false);
    if ((st = ifpp_enc_time(w, d->created_at)) != ST_OK) {
        ifpp_enc_fail(st, FILE_KIND, "createdAt", IFPP_ERR_NONE);
        goto out;
    }
    tlv_w_raw(w, d->cert_eum.p, d->cert_eum.len);
    tlv_w_begin(w, TAG_SEQUENCE);
    for (size_t i = 0; i < d->n_euiccs; i++)
        if ((st = encode_euicc(w, &d->euiccs[i], i)) != ST_OK)
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

static st_t decode_euicc(ifpp_dec_t *d, const tlv_t *seq, ifpp_euicc_t *e) {
    tlv_iter_t it, kit;
    tlv_t t, keys;
    bool present;
    st_t st;

    tlv_iter_children(&it, seq);
    if ((st = ifpp_dec_next(d, &it, TAG_EID, "eid", &t)) != ST_OK)
        return st;
    if ((st = ifpp_dec_fixed(d, &t, "eid", e->eid, IFPP_EID_LEN)) != ST_OK)
        return st;
    if ((st = ifpp_dec_opt(d, &it, TAG_EUICC_INFO2, "euiccInfo2", &t, &present)) != ST_OK)
        return st;
    if (present
        && (st = ifpp_dec_blob(d, &t, "euiccInfo2", IFPP_MAX_EUICC_INFO2_LEN, &e->euicc_info2))
               != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_SEQUENCE, "euiccCertificate", &t)) != ST_OK)
        return st;
    if ((st = ifpp_dec_cert(d, &t, "euiccCertificate", &e->cert_euicc)) != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_SEQUENCE, "oneTimeKeys", &keys)) != ST_OK)
        return st;
    if ((st = ifpp_dec_end(d, &it, "eUICC (after oneTimeKeys)")) != ST_OK)
        return st;
    if ((st = ifpp_dec_count(d, &keys, TAG_SEQUENCE, "oneTimeKeys", 1, IFPP_MAX_KEYS, &e->n_keys))
        != ST_OK)
        return st;
    e->keys = calloc(e->n_keys, sizeof(*e->keys));
    if (!e->keys) {
        e->n_keys = 0;
        return ifpp_dec_fail(d, ST_E_NOMEM, "oneTimeKeys", keys.raw);
    }
    tlv_iter_children(&kit, &keys);
    for (size_t k = 0; k < e->n_keys; k++) {
        d->sub = k;
        if ((st = ifpp_dec_next(d, &kit, TAG_SEQUENCE, "oneTimeKey", &t)) != ST_OK)
            return st;
        if ((st = ifpp_dec_otk(d, &t, &e->keys[k])) != ST_OK)
            return st;
        if (k > 0 && e->keys[k].key_index <= e->keys[k - 1].key_index)
            return ifpp_dec_fail(d, ST_E_PARSE, "oneTimeKey.keyIndex (not ascending)", t.raw);
    }
    d->sub = IFPP_ERR_NONE;
    return ST_OK;
}

st_t ifpp_edata_decode_ex(const uint8_t *der, size_t len, ifpp_edata_t **out, ifpp_err_t *err) {
    ifpp_err_t local;
    ifpp_dec_t d;
    ifpp_edata_t *e = NULL;
    tlv_iter_t it, eit;
    tlv_t top, t, list;
    st_t st;

    ifpp_dec_init(&d, FILE_KIND, der, 0, err ? err : &local);
    if (!out)
        return ifpp_dec_fail(&d, ST_E_INVAL, NULL, NULL);
    *out = NULL;
    e = calloc(1, sizeof(*e));
    if (!e)
        return ifpp_dec_fail(&d, ST_E_NOMEM, NULL, NULL);
    if ((st = ifpp_dec_top(&d, der, len, "IfppEuiccBatch", &top)) != ST_OK)
        goto out;
    tlv_iter_children(&it, &top);
    if ((st = ifpp_dec_version(&d, &it, &e->version)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_UTF8, "batchId", &t)) != ST_OK
        || (st = ifpp_dec_str(&d, &t, "batchId", e->batch_id, sizeof(e->batch_id))) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_GENTIME, "createdAt", &t)) != ST_OK
        || (st = ifpp_dec_time(&d, &t, "createdAt", &e->created_at)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_SEQUENCE, "eumCertificate", &t)) != ST_OK
        || (st = ifpp_dec_cert(&d, &t, "eumCertificate", &e->cert_eum)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_SEQUENCE, "euiccs", &list)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_end(&d, &it, "IfppEuiccBatch (after euiccs)")) != ST_OK)
        goto out;
    if ((st = ifpp_dec_count(&d, &list, TAG_SEQUENCE, "euiccs", 1, IFPP_MAX_EUICCS, &e->n_euiccs))
        != ST_OK)
        goto out;
    e->euiccs = calloc(e->n_euiccs, sizeof(*e->euiccs));
    if (!e->euiccs) {
        e->n_euiccs = 0;
        st = ifpp_dec_fail(&d, ST_E_NOMEM, "euiccs", list.raw);
        goto out;
    }
    tlv_iter_children(&eit, &list);
    for (size_t i = 0; i < e->n_euiccs; i++) {
        d.entry = i;
        if ((st = ifpp_dec_next(&d, &eit, TAG_SEQUENCE, "euicc", &t)) != ST_OK)
            goto out;
        if ((st = decode_euicc(&d, &t, &e->euiccs[i])) != ST_OK)
            goto out;
    }
    *out = e;
    e = NULL;
out:
    ifpp_edata_free(e);
    return st;
}

st_t ifpp_edata_decode(const uint8_t *der, size_t len, ifpp_edata_t **out) {
    return ifpp_edata_decode_ex(der, len, out, NULL);
}
