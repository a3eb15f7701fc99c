/*
 * ifpp_report.c - .ifppl content: IfppLoadingReport (docs/ifpp-files.asn), ESBPP03.
 *
 *   30 { 02 version, 04 reportId, 0C dmId, 0C stationId, 06 smdpfOid, 30 { 04 bundleId ... },
 *        18 periodStart, 18 periodEnd,
 *        30 { A0|A1|A2 { 5A eid, 80 tid, [5A iccid], 18 at, [81 fpaErrorCode], [82 text],
 *                        [BF37 pir] } ... } }
 *
 * installed [0]: pir present, no fpaErrorCode; failed [1]: fpaErrorCode present, pir if the
 * card gave one; deleted [2]: no fpaErrorCode. The PIR is only framed here (one BF37 TLV): it is
 * the card's bytes, reported as they are; pir_parse/pir_verify judge it (report verify).
 */
#include <stdlib.h>
#include <string.h>

#include "ifpp_int.h"

static const char FILE_KIND[] = "Profile Loading Report (.ifppl)";

#define TAG_KIND_BASE 0xA0u
#define TAG_TID       0x80u
#define TAG_FPA_ERROR 0x81u
#define TAG_TEXT      0x82u

void ifpp_report_free(ifpp_report_t *r) {
    if (!r)
        return;
    free(r->bundle_ids);
    for (size_t i = 0; r->entries && i < r->n_entries; i++)
        ifpp_blob_free(&r->entries[i].pir);
    free(r->entries);
    free(r);
}

static st_t encode_entry(tlv_writer_t *w, const ifpp_report_entry_t *e, size_t idx) {
    st_t st;

    if (e->kind != IFPP_RESULT_INSTALLED && e->kind != IFPP_RESULT_FAILED
        && e->kind != IFPP_RESULT_DELETED)
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "entry kind", idx);
    if (e->tid_len < 1 || e->tid_len > IFPP_MAX_TID_LEN)
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "transactionId", idx);
    if (e->pir.len && !ifpp_tlv_blob_ok(&e->pir, TAG_PIR, IFPP_MAX_PIR_LEN))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "pir (one BF37)", idx);
    if (e->kind == IFPP_RESULT_INSTALLED && !e->pir.len)
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "pir (mandatory when installed)", idx);
    if (e->kind != IFPP_RESULT_FAILED && e->fpa_error_code != 0)
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "fpaErrorCode (failed only)", idx);
    if (!ifpp_str_ok(e->text, sizeof(e->text), true))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "text", idx);
    tlv_w_begin(w, TAG_KIND_BASE + (uint32_t)e->kind);
    tlv_w_put(w, TAG_EID, e->eid, IFPP_EID_LEN);
    tlv_w_put(w, TAG_TID, e->tid, e->tid_len);
    if (e->has_iccid)
        tlv_w_put(w, TAG_ICCID, e->iccid, IFPP_ICCID_LEN);
    if ((st = ifpp_enc_time(w, e->at)) != ST_OK)
        return ifpp_enc_fail(st, FILE_KIND, "at", idx);
    if (e->kind == IFPP_RESULT_FAILED)
        tlv_w_uint(w, TAG_FPA_ERROR, e->fpa_error_code);
    ifpp_enc_str(w, TAG_TEXT, e->text, sizeof(e->text), true);
    if (e->pir.len)
        tlv_w_raw(w, e->pir.p, e->pir.len);
    return tlv_w_end(w);
}

st_t ifpp_report_encode(const ifpp_report_t *r, buf_t *der) {
    tlv_writer_t *w = NULL;
    size_t start = der->len;
    st_t st = ST_OK;

    if (!r || (r->version != 0 && r->version != IFPP_FORMAT_VERSION))
        return ifpp_enc_fail(ST_E_VERSION, FILE_KIND, "version", IFPP_ERR_NONE);
    if (!ifpp_str_ok(r->dm_id, sizeof(r->dm_id), false))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "dmId", IFPP_ERR_NONE);
    if (!ifpp_str_ok(r->station_id, sizeof(r->station_id), false))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "stationId", IFPP_ERR_NONE);
    if (!ifpp_oid_ok(r->smdpf_oid, r->smdpf_oid_len))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "smdpfOid", IFPP_ERR_NONE);
    if (r->n_bundle_ids > IFPP_MAX_BUNDLE_IDS || (r->n_bundle_ids && !r->bundle_ids))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "bundleIds (count)", IFPP_ERR_NONE);
    if (r->n_entries > IFPP_MAX_REPORT_ENTRIES || (r->n_entries && !r->entries))
        return ifpp_enc_fail(ST_E_INVAL, FILE_KIND, "entries (count)", IFPP_ERR_NONE);
    w = tlv_writer_new();
    if (!w)
        return ST_E_NOMEM;
    tlv_w_begin(w, TAG_SEQUENCE);
    tlv_w_uint(w, TAG_INTEGER, IFPP_FORMAT_VERSION);
    tlv_w_put(w, TAG_OCTET_STRING, r->report_id, IFPP_ID_LEN);
    ifpp_enc_str(w, TAG_UTF8, r->dm_id, sizeof(r->dm_id), false);
    ifpp_enc_str(w, TAG_UTF8, r->station_id, sizeof(r->station_id), false);
    tlv_w_put(w, TAG_OID, r->smdpf_oid, r->smdpf_oid_len);
    tlv_w_begin(w, TAG_SEQUENCE);
    for (size_t i = 0; i < r->n_bundle_ids; i++)
        tlv_w_put(w, TAG_OCTET_STRING, r->bundle_ids[i], IFPP_ID_LEN);
    tlv_w_end(w);
    if ((st = ifpp_enc_time(w, r->period_start)) != ST_OK) {
        ifpp_enc_fail(st, FILE_KIND, "periodStart", IFPP_ERR_NONE);
        goto out;
    }
    if ((st = ifpp_enc_time(w, r->period_end)) != ST_OK) {
        ifpp_enc_fail(st, FILE_KIND, "periodEnd", IFPP_ERR_NONE);
        goto out;
    }
    tlv_w_begin(w, TAG_SEQUENCE);
    for (size_t i = 0; i < r->n_entries; i++)
        if ((st = encode_entry(w, &r->entries[i], i)) != ST_OK)
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

static st_t decode_entry(ifpp_dec_t *d, const tlv_t *rec, ifpp_report_entry_t *e) {
    tlv_iter_t it;
    tlv_t t;
    bool present;
    st_t st;

    e->kind = (ifpp_result_kind_t)(rec->tag - TAG_KIND_BASE);
    tlv_iter_children(&it, rec);
    if ((st = ifpp_dec_next(d, &it, TAG_EID, "eid", &t)) != ST_OK
        || (st = ifpp_dec_fixed(d, &t, "eid", e->eid, IFPP_EID_LEN)) != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_TID, "transactionId", &t)) != ST_OK)
        return st;
    if (t.len < 1 || t.len > IFPP_MAX_TID_LEN)
        return ifpp_dec_fail(d, ST_E_PARSE, "transactionId", t.raw);
    memcpy(e->tid, t.value, t.len);
    e->tid_len = t.len;
    if ((st = ifpp_dec_opt(d, &it, TAG_ICCID, "iccid", &t, &present)) != ST_OK)
        return st;
    if (present) {
        if ((st = ifpp_dec_fixed(d, &t, "iccid", e->iccid, IFPP_ICCID_LEN)) != ST_OK)
            return st;
        e->has_iccid = true;
    }
    if ((st = ifpp_dec_next(d, &it, TAG_GENTIME, "at", &t)) != ST_OK
        || (st = ifpp_dec_time(d, &t, "at", &e->at)) != ST_OK)
        return st;
    if ((st = ifpp_dec_opt(d, &it, TAG_FPA_ERROR, "fpaErrorCode", &t, &present)) != ST_OK)
        return st;
    if (present != (e->kind == IFPP_RESULT_FAILED))
        return ifpp_dec_fail(d, ST_E_PARSE, "fpaErrorCode (exactly for failed entries)",
                             present ? t.raw : rec->raw);
    if (present && (st = ifpp_dec_u32(d, &t, "fpaErrorCode", &e->fpa_error_code)) != ST_OK)
        return st;
    if ((st = ifpp_dec_opt(d, &it, TAG_TEXT, "text", &t, &present)) != ST_OK)
        return st;
    if (present && (st = ifpp_dec_str(d, &t, "text", e->text, sizeof(e->text))) != ST_OK)
        return st;
    if ((st = ifpp_dec_opt(d, &it, TAG_PIR, "pir", &t, &present)) != ST_OK)
        return st;
    if (present && (st = ifpp_dec_blob(d, &t, "pir", IFPP_MAX_PIR_LEN, &e->pir)) != ST_OK)
        return st;
    if (!present && e->kind == IFPP_RESULT_INSTALLED)
        return ifpp_dec_fail(d, ST_E_PARSE, "pir (mandatory when installed)", it.p);
    return ifpp_dec_end(d, &it, "entry (after pir)");
}

st_t ifpp_report_decode_ex(const uint8_t *der, size_t len, ifpp_report_t **out, ifpp_err_t *err) {
    ifpp_err_t local;
    ifpp_dec_t d;
    ifpp_report_t *r = NULL;
    tlv_iter_t it, lit;
    tlv_t top, t, ids, list;
    st_t st;

    ifpp_dec_init(&d, FILE_KIND, der, 0, err ? err : &local);
    if (!out)
        return ifpp_dec_fail(&d, ST_E_INVAL, NULL, NULL);
    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return ifpp_dec_fail(&d, ST_E_NOMEM, NULL, NULL);
    if ((st = ifpp_dec_top(&d, der, len, "IfppLoadingReport", &top)) != ST_OK)
        goto out;
    tlv_iter_children(&it, &top);
    if ((st = ifpp_dec_version(&d, &it, &r->version)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_OCTET_STRING, "reportId", &t)) != ST_OK
        || (st = ifpp_dec_fixed(&d, &t, "reportId", r->report_id, IFPP_ID_LEN)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_UTF8, "dmId", &t)) != ST_OK
        || (st = ifpp_dec_str(&d, &t, "dmId", r->dm_id, sizeof(r->dm_id))) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_UTF8, "stationId", &t)) != ST_OK
        || (st = ifpp_dec_str(&d, &t, "stationId", r->station_id, sizeof(r->station_id))) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_OID, "smdpfOid", &t)) != ST_OK
        || (st = ifpp_dec_oid(&d, &t, "smdpfOid", r->smdpf_oid, &r->smdpf_oid_len)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_SEQUENCE, "bundleIds", &ids)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_GENTIME, "periodStart", &t)) != ST_OK
        || (st = ifpp_dec_time(&d, &t, "periodStart", &r->period_start)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_GENTIME, "periodEnd", &t)) != ST_OK
        || (st = ifpp_dec_time(&d, &t, "periodEnd", &r->period_end)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_next(&d, &it, TAG_SEQUENCE, "entries", &list)) != ST_OK)
        goto out;
    if ((st = ifpp_dec_end(&d, &it, "IfppLoadingReport (after entries)")) != ST_OK)
        goto out;

    if ((st = ifpp_dec_count(&d, &ids, TAG_OCTET_STRING, "bundleIds", 0, IFPP_MAX_BUNDLE_IDS,
                             &r->n_bundle_ids))
        != ST_OK)
        goto out;
    if (r->n_bundle_ids) {
        r->bundle_ids = calloc(r->n_bundle_ids, sizeof(*r->bundle_ids));
        if (!r->bundle_ids) {
            r->n_bundle_ids = 0;
            st = ifpp_dec_fail(&d, ST_E_NOMEM, "bundleIds", ids.raw);
            goto out;
        }
    }
    tlv_iter_children(&lit, &ids);
    for (size_t i = 0; i < r->n_bundle_ids; i++) {
        d.sub = i;
        if ((st = ifpp_dec_next(&d, &lit, TAG_OCTET_STRING, "bundleIds", &t)) != ST_OK
            || (st = ifpp_dec_fixed(&d, &t, "bundleIds", r->bundle_ids[i], IFPP_ID_LEN)) != ST_OK)
            goto out;
    }
    d.sub = IFPP_ERR_NONE;

    /* entries: a CHOICE, so count first (any tag), then check each alternative */
    {
        tlv_iter_t cit;
        tlv_t c;
        size_t n = 0;
        const uint8_t *at;
        tlv_iter_children(&cit, &list);
        for (;;) {
            at = cit.p;
            st = tlv_iter_next(&cit, &c);
            if (st == ST_E_NOENT)
                break;
            d.entry = n;
            if (st != ST_OK) {
                st = ifpp_dec_fail(&d, st, "entries", at);
                goto out;
            }
            if (c.tag != 0xA0 && c.tag != 0xA1 && c.tag != 0xA2) {
                st = ifpp_dec_fail(&d, ST_E_PARSE, "entry (installed/failed/deleted)", at);
                goto out;
            }
            if (n == IFPP_MAX_REPORT_ENTRIES) {
                st = ifpp_dec_fail(&d, ST_E_TOO_LARGE, "entries", at);
                goto out;
            }
            n++;
        }
        d.entry = IFPP_ERR_NONE;
        r->n_entries = n;
    }
    if (r->n_entries) {
        r->entries = calloc(r->n_entries, sizeof(*r->entries));
        if (!r->entries) {
            r->n_entries = 0;
            st = ifpp_dec_fail(&d, ST_E_NOMEM, "entries", list.raw);
            goto out;
        }
    }
    tlv_iter_children(&lit, &list);
    for (size_t i = 0; i < r->n_entries; i++) {
        d.entry = i;
        if (tlv_iter_next(&lit, &t) != ST_OK) {
            st = ifpp_dec_fail(&d, ST_E_INTERNAL, "entries", lit.p);
            goto out;
        }
        if ((st = decode_entry(&d, &t, &r->entries[i])) != ST_OK)
            goto out;
    }
    st = ST_OK;
    *out = r;
    r = NULL;
out:
    ifpp_report_free(r);
    return st;
}

st_t ifpp_report_decode(const uint8_t *der, size_t len, ifpp_report_t **out) {
    return ifpp_report_decode_ex(der, len, out, NULL);
}
