/*
 * cert.h - X.509 handling for the GSMA RSP PKI (SGP.22 §4.5.2, SGP.26 profiles).
 *
 * Chains: CI -> EUM -> eUICC and CI -> SM-DPf (DPpb, DPauth) with the role policies of
 * SGP.22 (id-rspRole 2.23.146.1.2.1.x). The GSMA EUM certificate carries a critical
 * nameConstraints extension whose permitted subtree is a *prefix* of the eUICC's
 * serialNumber (the EID), which RFC 5280 name matching (and so OpenSSL) rejects with
 * X509_V_ERR_PERMITTED_VIOLATION. We let OpenSSL verify everything else, accept exactly that
 * one error, and apply the SGP.22 rule ourselves: the EID must start with the EUM's permitted
 * serialNumber (and its O must match). Newer EUM variants carry the permitted EIN prefixes in
 * extension 2.23.146.1.2.2.0 instead; both are honoured.
 */
#ifndef IFPP_CERT_H
#define IFPP_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "base/buf.h"
#include "base/status.h"

/* SGP.22 role policy OIDs (certificatePolicies). */
#define CERT_POLICY_CI "2.23.146.1.2.1.0"
#define CERT_POLICY_EUICC "2.23.146.1.2.1.1"
#define CERT_POLICY_EUM "2.23.146.1.2.1.2"
#define CERT_POLICY_DP_TLS "2.23.146.1.2.1.3"
#define CERT_POLICY_DP_AUTH "2.23.146.1.2.1.4"
#define CERT_POLICY_DP_PB "2.23.146.1.2.1.5"
/* Project-local role for the Device Manufacturer's station signing key (reports, requests). */
#define CERT_POLICY_IFPP_DM "2.999.1001.1"

/* Loads one certificate, PEM or DER. Caller owns *out (X509_free). */
st_t cert_load(const char *path, X509 **out);
/* Loads every certificate of a PEM file (or one DER). Caller owns the stack. */
st_t cert_load_all(const char *path, STACK_OF(X509) **out);
/* Parses DER; the whole buffer must be one certificate. Caller owns *out. */
st_t cert_from_der(const uint8_t *der, size_t len, X509 **out);
/* Appends the DER encoding. */
st_t cert_to_der(X509 *cert, buf_t *out);
/* Writes PEM (mode 0644), atomically. */
st_t cert_save_pem(const char *path, X509 *cert);

/* EID from the subject serialNumber (32 decimal digits -> 16 BCD bytes). */
st_t cert_get_eid(X509 *cert, uint8_t eid[16]);
/* registeredID of the subjectAltName (SM-DP+ OID, e.g. "2.999.10"), text and DER value. */
st_t cert_get_rid(X509 *cert, char *oid_text, size_t text_len, buf_t *oid_der_value);
/* True if the certificate carries policy `oid` (text form). */
bool cert_has_policy(X509 *cert, const char *oid);
/* Subject Key Identifier (20 bytes normally) appended to out. */
st_t cert_get_ski(X509 *cert, buf_t *out);

/* EID check digits per SGP.29 §10 (EID mod 97 == 1). */
bool eid_valid(const uint8_t eid[16]);
/* EID <-> 32 decimal digits. */
void eid_to_str(const uint8_t eid[16], char out[33]);
st_t eid_from_str(const char *s, uint8_t eid[16]);

/* A set of trust anchors (CI certificates). Opaque. */
typedef struct cert_trust cert_trust_t;
cert_trust_t *cert_trust_new(void);
void cert_trust_free(cert_trust_t *t); /* NULL-tolerant */
/* Adds a CI (borrowed reference is up-ref'd: the caller keeps its own). */
st_t cert_trust_add(cert_trust_t *t, X509 *ci);
/* Adds every certificate in a PEM/DER file. */
st_t cert_trust_add_file(cert_trust_t *t, const char *path);
/* Verification time: 0 = now (default); tests may pin it. */
void cert_trust_set_time(cert_trust_t *t, time_t when);

/*
 * Verifies CI -> EUM -> eUICC (SGP.22 §4.5.2.1.0.2): signatures, validity, CA flags, role
 * policies (EUM, eUICC), key usage, and the GSMA EID-prefix rule described above. On success
 * copies the eUICC's EID to eid_out (may be NULL). ST_E_CERT with a logged reason otherwise.
 */
st_t cert_verify_euicc_chain(cert_trust_t *t, X509 *eum, X509 *euicc, uint8_t eid_out[16]);

/*
 * Verifies CI -> [intermediates] -> leaf for an SM-DPf certificate with role policy
 * `role_policy` (CERT_POLICY_DP_PB, CERT_POLICY_DP_AUTH, ...). `untrusted` may be NULL.
 */
st_t cert_verify_chain(cert_trust_t *t, X509 *leaf, STACK_OF(X509) *untrusted,
                       const char *role_policy);

/* The OpenSSL store behind the trust set (borrowed), for CMS verification. */
X509_STORE *cert_trust_store(cert_trust_t *t);

#endif
