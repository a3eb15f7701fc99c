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
#define CERT_POLICY_CI          "2.23.146.1.2.1.0"
#define CERT_POLICY_EUICC       "2.23.146.1.2.1.1"
#define CERT_POLICY_EUM         "2.23.146.1.2.1.2"
#define CERT_POLICY_DP_TLS      "2.23.146.1.2.1.3"
#define CERT_POLICY_DP_AUTH     "2.23.146.1.2.1.4"
#define CERT_POLICY_DP_PB       "2.23.146.1.2.1.5"
/* Project-local role for the Device Manufacturer's station signing key (reports, requests). */
#define CERT_POLICY_IFPP_DM     "2.999.1001.1"
/* Newer EUM certificate variants (Ov3/A/B/C): this policy, and the permitted EIN prefixes in
 * extension 2.23.146.1.2.2.0 (PermittedEins ::= SEQUENCE OF PrintableString). */
#define CERT_POLICY_EUM_V3      "2.23.146.1.2.1.0.0.0"
#define CERT_EXT_PERMITTED_EINS "2.23.146.1.2.2.0"

/* Loads one certificate, PEM or DER. Caller owns *out (X509_free). */
st_t cert_load(const char *path, X509 **out);
/* Loads every certificate of a PEM file (or one DER). Caller owns the stack. */
st_t cert_load_all(const char *path, STACK_OF(X509) * *out);
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
/*
 * The one attribute `nid` (NID_organizationName, NID_serialNumber...) of a name, as UTF-8.
 * ST_E_NOENT if absent, ST_E_PARSE if present twice, ST_E_TOO_LARGE if it does not fit.
 */
st_t cert_name_get(X509_NAME *name, int nid, char *out, size_t outlen);
/*
 * The n-th (0-based) permitted EIN prefix of an EUM certificate: from the permitted DirName
 * serialNumber of its nameConstraints, then from extension 2.23.146.1.2.2.0. `o_out` (may be
 * NULL) receives the DirName's O, or "" when the entry does not constrain O. ST_E_NOENT past
 * the last entry.
 */
st_t cert_eum_permitted_ein(X509 *eum, size_t n, char prefix[33], char *o_out, size_t o_len);
/*
 * The SGP.22 EUM rule alone (no signature check): the eUICC's EID (subject serialNumber) starts
 * with one of the EUM's permitted EIN prefixes and, where the prefix comes with an O, the
 * eUICC's O equals it. ST_E_CERT otherwise.
 */
st_t cert_check_eum_permits(X509 *eum, X509 *euicc);

/* EID check digits per SGP.29 §10 (EID mod 97 == 1). */
bool eid_valid(const uint8_t eid[16]);
/* EID <-> 32 decimal digits. */
void eid_to_str(const uint8_t eid[16], char out[33]);
st_t eid_from_str(const char *s, uint8_t eid[16]);
/* Sets the two check digits from the first 30 (SGP.29: 98 - (N * 100 mod 97)). */
st_t eid_set_check_digits(uint8_t eid[16]);
/*
 * Builds an EID: `prefix` (decimal digits, at most 30), then `serial` zero-padded to fill 30
 * digits, then the check digits. ST_E_TOO_LARGE if serial does not fit.
 */
st_t eid_compose(const char *prefix, uint64_t serial, uint8_t eid[16]);

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
 * GSMA roles (2.23.146.1.2.1.x) also require a CI-policy anchor, one curve along the chain and,
 * for SM-DP roles, a SAN registeredID; end-entity roles require digitalSignature and no CA flag.
 * role_policy NULL: the chain alone (still with the EUM rule wherever an EUM is in the chain).
 */
st_t cert_verify_chain(cert_trust_t *t, X509 *leaf, STACK_OF(X509) * untrusted,
                       const char *role_policy);

/* The OpenSSL store behind the trust set (borrowed), for CMS verification. */
X509_STORE *cert_trust_store(cert_trust_t *t);

#endif
