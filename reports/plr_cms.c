/*
 * plr_cms.c - the report's CMS SignedData (RFC 5652), content attached, built without copying
 * the content: the signature is made detached (crypto/cms.h streams the content through the
 * digest only), then the content is spliced into encapContentInfo as eContent:
 *
 *   detached: 30 { 06 signedData, A0 { 30 { 02 version, 31 digestAlgorithms,
 *                  30 { 06 id-data }, [A0 certificates], 31 signerInfos } } }
 *   attached: the same with 30 { 06 id-data, A0 { 04 content } } as encapContentInfo
 *
 * Both are the same SignedData: the signature covers the signed attributes, which carry the
 * content's messageDigest and type, not where the content is. The attached form is emitted as
 * head ‖ content ‖ tail (DER, minimal lengths), so that a report of any size is written from
 * the one buffer that holds its DER. Why: OpenSSL's attached signing and verification copy the
 * content through growing memory BIOs several times (a 24 MB report cost more in copies than in
 * hashing and signing together; tests/bench/report_bench.sh).
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "base/log.h"
#include "crypto/cms.h"
#include "plr_internal.h"
#include "tlv/tlv.h"

#define TAG_SEQ  0x30u
#define TAG_SET  0x31u
#define TAG_INT  0x02u
#define TAG_OID  0x06u
#define TAG_OCT  0x04u
#define TAG_CTX0 0xA0u

void plr_signed_free(plr_signed_t *p) {
    if (!p)
        return;
    buf_free(&p->head);
    buf_free(&p->tail);
    memset(p, 0, sizeof(*p));
}

/* Next sibling with `tag`, or false. */
static bool take(tlv_iter_t *it, uint32_t tag, tlv_t *t) {
    return tlv_iter_next(it, t) == ST_OK && t->tag == tag;
}

/* Splits the detached DER and builds head/tail around content of `len` bytes. */
static st_t splice(const buf_t *det, size_t len, plr_signed_t *out) {
    tlv_t ci, oid, a0, sd, ver, dig, eci, eoid, x;
    tlv_iter_t it;
    const uint8_t *rest;
    size_t rest_len, oct_len, exp_len, eci_len, sd_len, a0_len, ci_len;
    st_t st = ST_OK;

    if (tlv_parse_exact(det->data, det->len, &ci) != ST_OK || ci.tag != TAG_SEQ)
        return ST_E_INTERNAL;
    tlv_iter_children(&it, &ci);
    if (!take(&it, TAG_OID, &oid) || !take(&it, TAG_CTX0, &a0))
        return ST_E_INTERNAL;
    tlv_iter_children(&it, &a0);
    if (!take(&it, TAG_SEQ, &sd))
        return ST_E_INTERNAL;
    tlv_iter_children(&it, &sd);
    if (!take(&it, TAG_INT, &ver) || !take(&it, TAG_SET, &dig) || !take(&it, TAG_SEQ, &eci))
        return ST_E_INTERNAL;
    rest = eci.raw + eci.raw_len; /* certificates, signerInfos: to the end of SignedData */
    rest_len = (size_t)(sd.value + sd.len - rest);
    tlv_iter_children(&it, &eci);
    if (!take(&it, TAG_OID, &eoid) || tlv_iter_next(&it, &x) != ST_E_NOENT)
        return ST_E_INTERNAL; /* detached: eContentType only */

    /* lengths from the inside out */
    oct_len = tlv_header_len(TAG_OCT, len) + len;
    exp_len = tlv_header_len(TAG_CTX0, oct_len) + oct_len;
    eci_len = eoid.raw_len + exp_len;
    sd_len = ver.raw_len + dig.raw_len + tlv_header_len(TAG_SEQ, eci_len) + eci_len + rest_len;
    a0_len = tlv_header_len(TAG_SEQ, sd_len) + sd_len;
    ci_len = oid.raw_len + tlv_header_len(TAG_CTX0, a0_len) + a0_len;

    if ((st = tlv_buf_header(&out->head, TAG_SEQ, ci_len)) != ST_OK
        || (st = buf_append(&out->head, oid.raw, oid.raw_len)) != ST_OK
        || (st = tlv_buf_header(&out->head, TAG_CTX0, a0_len)) != ST_OK
        || (st = tlv_buf_header(&out->head, TAG_SEQ, sd_len)) != ST_OK
        || (st = buf_append(&out->head, ver.raw, ver.raw_len)) != ST_OK
        || (st = buf_append(&out->head, dig.raw, dig.raw_len)) != ST_OK
        || (st = tlv_buf_header(&out->head, TAG_SEQ, eci_len)) != ST_OK
        || (st = buf_append(&out->head, eoid.raw, eoid.raw_len)) != ST_OK
        || (st = tlv_buf_header(&out->head, TAG_CTX0, oct_len)) != ST_OK
        || (st = tlv_buf_header(&out->head, TAG_OCT, len)) != ST_OK
        || (st = buf_append(&out->tail, rest, rest_len)) != ST_OK)
        return st;
    return ST_OK;
}

st_t plr_cms_sign(const plr_signer_t *sg, const uint8_t *content, size_t len, plr_signed_t *out) {
    buf_t det = BUF_INIT;
    BIO *in = NULL;
    X509 *signer = NULL;
    st_t st;

    memset(out, 0, sizeof(*out));
    if (len > INT32_MAX)
        return ST_E_TOO_LARGE;
    if (!(in = BIO_new_mem_buf(len ? content : (const void *)"", (int)len)))
        return st_from_openssl("BIO_new_mem_buf");
    st = cms_sign_bio(sg->key, sg->cert, sg->chain, in, true, &det);
    BIO_free(in);
    in = NULL;
    if (st != ST_OK)
        goto out;
    /* Self-check before anything leaves: the signature, the chain to the configured DM CA and
     * the content digest, as a verifier will see them. */
    if (!(in = BIO_new_mem_buf(len ? content : (const void *)"", (int)len))) {
        st = st_from_openssl("BIO_new_mem_buf");
        goto out;
    }
    if ((st = cms_verify_detached(sg->trust, det.data, det.len, in, &signer)) != ST_OK) {
        st_log(ST_LOG_ERR, "report: the signature does not verify with the DM chain: %s",
               st_str(st));
        goto out;
    }
    st = splice(&det, len, out);
    out->body = content;
    out->body_len = len;
out:
    if (st != ST_OK)
        plr_signed_free(out);
    BIO_free(in);
    X509_free(signer);
    buf_free(&det);
    return st;
}
