/*
 * cms.c - CMS SignedData (RFC 5652) for the IFPP files with OpenSSL's CMS_* API.
 *
 * Signing: one signer, SHA-256, signed attributes (contentType, signingTime, messageDigest; no
 * SMIMECapabilities), the signer certificate and the given chain included, binary content.
 * The content is pushed through CMS_dataInit/CMS_dataFinal in chunks, so a detached signature
 * over a bundle of any size never holds the bundle in memory.
 *
 * Verification: exactly one SignerInfo whose certificate is in the SignedData. Its chain is
 * verified first with the trust set (cert_verify_chain: the GSMA EUM rule applies when the
 * signer is an eUICC or EUM certificate), then the signature over the (streamed) content with
 * CMS_verify(CMS_NO_SIGNER_CERT_VERIFY), whose S/MIME purpose check does not fit GSMA roles.
 * Role checks (which signer may sign which file) belong to the caller, with *signer_out.
 */
#include "crypto/cms.h"

#include "tlv/tlv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "base/log.h"

#define CMS_CHUNK   (64 * 1024)
#define CMS_SIG_MAX (64 * 1024 * 1024) /* an attached .ifppe/.ifppl is far smaller */

static st_t cms_to_der(CMS_ContentInfo *cms, buf_t *out) {
    int n = i2d_CMS_ContentInfo(cms, NULL);
    uint8_t *p;

    if (n <= 0)
        return st_from_openssl("i2d_CMS_ContentInfo");
    p = buf_extend(out, (size_t)n);
    if (p == NULL)
        return ST_E_NOMEM;
    if (i2d_CMS_ContentInfo(cms, &p) != n) {
        out->len -= (size_t)n;
        return st_from_openssl("i2d_CMS_ContentInfo");
    }
    return ST_OK;
}

/* Copies in -> out in chunks; read errors are errors (not a silent end of content). */
static st_t copy_bio(BIO *in, BIO *out) {
    uint8_t *chunk = malloc(CMS_CHUNK);
    st_t st = ST_OK;
    int n;

    if (chunk == NULL)
        return ST_E_NOMEM;
    for (;;) {
        n = BIO_read(in, chunk, CMS_CHUNK);
        if (n == 0 || (n < 0 && BIO_eof(in)))
            break;
        if (n < 0) {
            st = ST_E_IO;
            break;
        }
        if (BIO_write(out, chunk, n) != n) {
            st = st_from_openssl("CMS content write");
            break;
        }
    }
    free(chunk);
    return st;
}

st_t cms_sign_bio(EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain, BIO *content, bool detached,
                  buf_t *out) {
    unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP | (detached ? CMS_DETACHED : 0);
    CMS_ContentInfo *cms = NULL;
    BIO *cmsbio = NULL;
    st_t st;

    if (key == NULL || cert == NULL || content == NULL || out == NULL)
        return ST_E_INVAL;
    cms = CMS_sign(NULL, NULL, chain, NULL, flags);
    if (cms == NULL || CMS_add1_signer(cms, cert, key, EVP_sha256(), flags) == NULL) {
        st = st_from_openssl("CMS_sign");
        goto out;
    }
    cmsbio = CMS_dataInit(cms, NULL);
    if (cmsbio == NULL) {
        st = st_from_openssl("CMS_dataInit");
        goto out;
    }
    if ((st = copy_bio(content, cmsbio)) != ST_OK)
        goto out;
    if (BIO_flush(cmsbio) <= 0 || !CMS_dataFinal(cms, cmsbio)) {
        st = st_from_openssl("CMS_dataFinal");
        goto out;
    }
    st = cms_to_der(cms, out);
out:
    if (cmsbio != NULL)
        BIO_free_all(cmsbio);
    CMS_ContentInfo_free(cms);
    return st;
}

st_t cms_sign(EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain, const uint8_t *content, size_t len,
              bool detached, buf_t *out) {
    BIO *bio;
    st_t st;

    if (content == NULL && len != 0)
        return ST_E_INVAL;
    if (len > INT32_MAX)
        return ST_E_TOO_LARGE;
    bio = BIO_new_mem_buf(len ? content : (const void *)"", (int)len);
    if (bio == NULL)
        return st_from_openssl("BIO_new_mem_buf");
    st = cms_sign_bio(key, cert, chain, bio, detached, out);
    BIO_free(bio);
    return st;
}

static st_t cms_verify_common(cert_trust_t *trust, const uint8_t *der, size_t len, bool detached,
                              BIO *dcont, buf_t *content_out, X509 **signer_out) {
    const unsigned char *p = der;
    CMS_ContentInfo *cms = NULL;
    STACK_OF(CMS_SignerInfo) * sis;
    CMS_SignerInfo *si;
    STACK_OF(X509) *certs = NULL;
    X509 *signer = NULL, *used = NULL;
    BIO *outbio = NULL;
    char *data = NULL;
    long n;
    st_t st;

    if (signer_out != NULL)
        *signer_out = NULL;
    if (trust == NULL || der == NULL || len == 0)
        return ST_E_INVAL;
    if (len > CMS_SIG_MAX)
        return ST_E_TOO_LARGE;
    cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    if (cms == NULL || p != der + len) {
        st_from_openssl("d2i_CMS_ContentInfo");
        st_log(ST_LOG_WARN, "cms: not a DER CMS structure");
        st = ST_E_PARSE;
        goto out;
    }
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
        st_log(ST_LOG_WARN, "cms: not SignedData");
        st = ST_E_PARSE;
        goto out;
    }
    if ((CMS_is_detached(cms) == 1) != detached) {
        st_log(ST_LOG_WARN, "cms: %s signature where %s one is expected",
               detached ? "attached" : "detached", detached ? "a detached" : "an attached");
        st = ST_E_PARSE;
        goto out;
    }
    sis = CMS_get0_SignerInfos(cms);
    if (sis == NULL || sk_CMS_SignerInfo_num(sis) != 1) {
        st_log(ST_LOG_WARN, "cms: expected exactly one signer");
        st = ST_E_PARSE;
        goto out;
    }
    si = sk_CMS_SignerInfo_value(sis, 0);
    certs = CMS_get1_certs(cms);
    for (int i = 0; certs != NULL && i < sk_X509_num(certs) && signer == NULL; i++)
        if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0)
            signer = sk_X509_value(certs, i);
    if (signer == NULL) {
        st_log(ST_LOG_WARN, "cms: the signer's certificate is not in the SignedData");
        st = ST_E_UNTRUSTED;
        goto out;
    }
    /* Chain first: a detached content stream can be read only once. */
    if (cert_verify_chain(trust, signer, certs, NULL) != ST_OK) {
        st_log(ST_LOG_WARN, "cms: the signer's certificate chain is not trusted");
        st = ST_E_UNTRUSTED;
        goto out;
    }
    if (content_out != NULL && (outbio = BIO_new(BIO_s_mem())) == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    if (!CMS_verify(cms, NULL, NULL, dcont, outbio, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY)) {
        st_from_openssl("CMS_verify");
        st_log(ST_LOG_WARN, "cms: signature does not verify");
        st = ST_E_BAD_SIGNATURE;
        goto out;
    }
    CMS_SignerInfo_get0_algs(si, NULL, &used, NULL, NULL);
    if (used == NULL || X509_cmp(used, signer) != 0) {
        st_log(ST_LOG_WARN, "cms: signature verified with another certificate than the chain");
        st = ST_E_UNTRUSTED;
        goto out;
    }
    if (content_out != NULL) {
        n = BIO_get_mem_data(outbio, &data);
        if (n < 0 || (st = buf_append(content_out, data, (size_t)n)) != ST_OK) {
            st = n < 0 ? ST_E_INTERNAL : st;
            goto out;
        }
    }
    if (signer_out != NULL) {
        if (!X509_up_ref(signer)) {
            st = st_from_openssl("X509_up_ref");
            goto out;
        }
        *signer_out = signer;
    }
    st = ST_OK;
out:
    BIO_free(outbio);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(cms);
    return st;
}

st_t cms_verify_attached(cert_trust_t *trust, const uint8_t *der, size_t len, buf_t *content_out,
                         X509 **signer_out) {
    return cms_verify_common(trust, der, len, false, NULL, content_out, signer_out);
}

st_t cms_verify_detached(cert_trust_t *trust, const uint8_t *sig, size_t siglen, BIO *content,
                         X509 **signer_out) {
    if (content == NULL)
        return ST_E_INVAL;
    return cms_verify_common(trust, sig, siglen, true, content, NULL, signer_out);
}

/* ---- the SignedData profile the station and the test kit write ---- */

static const uint8_t OID_SIGNED_DATA[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02};
static const uint8_t OID_DATA[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01};
static const uint8_t OID_SHA256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
static const uint8_t OID_ECDSA_SHA256[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};

static bool next_is(tlv_iter_t *it, uint32_t tag, tlv_t *t) {
    return tlv_iter_next(it, t) == ST_OK && t->tag == tag;
}

static bool is_oid(const tlv_t *t, const uint8_t *oid, size_t n) {
    return t->tag == 0x06 && t->len == n && memcmp(t->value, oid, n) == 0;
}

static bool is_int1(const tlv_t *t) {
    return t->tag == 0x02 && t->len == 1 && t->value[0] == 1;
}

/* AlgorithmIdentifier { oid } without parameters (what OpenSSL writes for both). */
static bool is_alg(const tlv_t *t, const uint8_t *oid, size_t n) {
    tlv_iter_t it;
    tlv_t o;
    if (t->tag != 0x30)
        return false;
    tlv_iter_children(&it, t);
    return next_is(&it, 0x06, &o) && is_oid(&o, oid, n) && tlv_iter_next(&it, &o) == ST_E_NOENT;
}

/*
 * Fields of the SignedData that OpenSSL's CMS_verify() does not judge (a changed byte there
 * would still verify): the station writes exactly this profile (RFC 5652), so any other value
 * means the file was changed. ContentInfo { signedData, [0] SignedData { version 1,
 * digestAlgorithms {sha256}, { id-data, [0] content }, [0] certificates, (no crls),
 * signerInfos { exactly one: version 1, issuerAndSerialNumber, sha256, [0] signedAttrs,
 * ecdsa-with-SHA256, signature, (no unsignedAttrs) } } }
 */
bool cms_station_profile_ok(const uint8_t *der, size_t len) {
    tlv_t ci, t, sd, si, x;
    tlv_iter_t it, sdi, set, sii;

    if (tlv_parse_exact(der, len, &ci) != ST_OK || ci.tag != 0x30)
        return false;
    tlv_iter_children(&it, &ci);
    if (!next_is(&it, 0x06, &t) || !is_oid(&t, OID_SIGNED_DATA, sizeof(OID_SIGNED_DATA))
        || !next_is(&it, 0xA0, &t) || tlv_iter_next(&it, &x) != ST_E_NOENT)
        return false;
    tlv_iter_children(&it, &t);
    if (!next_is(&it, 0x30, &sd) || tlv_iter_next(&it, &x) != ST_E_NOENT)
        return false;
    tlv_iter_children(&sdi, &sd);
    if (!next_is(&sdi, 0x02, &t) || !is_int1(&t) || !next_is(&sdi, 0x31, &t))
        return false;
    tlv_iter_children(&set, &t); /* digestAlgorithms: {sha256} */
    if (tlv_iter_next(&set, &x) != ST_OK || !is_alg(&x, OID_SHA256, sizeof(OID_SHA256))
        || tlv_iter_next(&set, &x) != ST_E_NOENT)
        return false;
    if (!next_is(&sdi, 0x30, &t)) /* encapContentInfo */
        return false;
    tlv_iter_children(&set, &t);
    if (!next_is(&set, 0x06, &x) || !is_oid(&x, OID_DATA, sizeof(OID_DATA))
        || !next_is(&set, 0xA0, &x) || tlv_iter_next(&set, &x) != ST_E_NOENT)
        return false;
    if (tlv_iter_next(&sdi, &t) != ST_OK)
        return false;
    if (t.tag == 0xA0 && tlv_iter_next(&sdi, &t) != ST_OK) /* certificates */
        return false;
    if (t.tag != 0x31 || tlv_iter_next(&sdi, &x) != ST_E_NOENT) /* signerInfos, last */
        return false;
    tlv_iter_children(&set, &t);
    if (!next_is(&set, 0x30, &si) || tlv_iter_next(&set, &x) != ST_E_NOENT)
        return false;
    tlv_iter_children(&sii, &si);
    return next_is(&sii, 0x02, &x) && is_int1(&x) && next_is(&sii, 0x30, &x) /* sid */
           && next_is(&sii, 0x30, &x) && is_alg(&x, OID_SHA256, sizeof(OID_SHA256))
           && next_is(&sii, 0xA0, &x) /* signedAttrs */
           && next_is(&sii, 0x30, &x) && is_alg(&x, OID_ECDSA_SHA256, sizeof(OID_ECDSA_SHA256))
           && next_is(&sii, 0x04, &x) && tlv_iter_next(&sii, &x) == ST_E_NOENT;
}
