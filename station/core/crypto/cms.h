/*
 * cms.h - CMS (RFC 5652) SignedData for the IFPP files (DESIGN §5), so that
 * `openssl cms -verify` can check every file the station and the test kit write.
 *
 * Attached signatures (.ifppe, .ifppr, .ifppl) carry the DER content; the bundle signature
 * (.ifppb.p7s) is detached so the station can stream bundles of any size: the content is fed
 * through a BIO and only hashed.
 */
#ifndef IFPP_CMS_H
#define IFPP_CMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/status.h"
#include "crypto/cert.h"

/*
 * Signs `content` with key/cert (SHA-256, signed attributes), including cert and `chain`
 * (may be NULL) in the SignedData. detached=false embeds the content. Appends DER to out.
 */
st_t cms_sign(EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain, const uint8_t *content, size_t len,
              bool detached, buf_t *out);

/* Like cms_sign but reads the content from a BIO (for large detached signatures). */
st_t cms_sign_bio(EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain, BIO *content, bool detached,
                  buf_t *out);

/*
 * Verifies an attached SignedData against the trust set: signature, and the signer chain to a
 * trust anchor (the GSMA EUM rule is applied when the signer is an eUICC/EUM). Appends the
 * content to content_out. *signer_out (may be NULL) receives an up-ref'd signer certificate.
 * ST_E_BAD_SIGNATURE for a bad signature, ST_E_UNTRUSTED for a chain that does not verify,
 * ST_E_PARSE for something that is not SignedData.
 */
st_t cms_verify_attached(cert_trust_t *trust, const uint8_t *der, size_t len, buf_t *content_out,
                         X509 **signer_out);

/* Verifies a detached SignedData over the content read from `content` (streamed). */
st_t cms_verify_detached(cert_trust_t *trust, const uint8_t *sig, size_t siglen, BIO *content,
                         X509 **signer_out);

/*
 * True when an attached SignedData has exactly the profile cms_sign() writes (RFC 5652):
 * version 1, digestAlgorithms {sha256}, id-data content, certificates, no CRLs, exactly one
 * signerInfo {version 1, issuerAndSerialNumber, sha256, signedAttrs, ecdsa-with-SHA256,
 * signature, no unsignedAttrs}. CMS_verify() does not judge these fields, so a changed byte
 * there would still verify; verifiers of files this project signs (reports, requests) call
 * this after cms_verify_attached() so that any changed byte is refused.
 */
bool cms_station_profile_ok(const uint8_t *der, size_t len);

#endif
