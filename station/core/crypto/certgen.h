/*
 * certgen.h - minting GSMA-shaped certificates (SGP.22 §4.5.2 profiles as found in the SGP.26
 * test PKI) for the test kit and the tests: CI, EUM, eUICC, SM-DPf DPpb/DPauth, and the
 * project-local DM CA and DM station certificate.
 *
 * Every certificate is X.509 v3, ECDSA-with-SHA256, with a random positive 64-bit serial, SKI
 * (SHA-1 of the key) and, unless self-signed, AKI (keyid of the issuer). Extensions, their
 * criticality and their order follow SGP.26:
 *   CI     SKI, basicConstraints CA (crit), policy .0 (crit), keyUsage keyCertSign|cRLSign
 *          (crit), SAN registeredID, CRL DP                          valid 35 years
 *   EUM    AKI, SKI, keyUsage keyCertSign (crit), policy .2 (crit), SAN registeredID,
 *          basicConstraints CA pathlen 0 (crit), CRL DP, nameConstraints (crit) permitted
 *          DirName O=<O>, serialNumber=<EIN prefix>                  valid 34 years
 *          (variant: policy .0.0.0 and PermittedEins 2.23.146.1.2.2.0 instead of the
 *          nameConstraints)
 *   eUICC  AKI, SKI, keyUsage digitalSignature (crit), policy .1 (crit); subject C/O of the
 *          EUM, serialNumber=EID, CN                                 valid until 9999-12-31
 *   DPpb / DPauth  AKI, SKI, SAN registeredID = SM-DPf OID, keyUsage digitalSignature (crit),
 *          policy .5 / .4 (crit), CRL DP                             valid 10 years
 *   DM CA  SKI, basicConstraints CA pathlen 0 (crit), keyUsage keyCertSign|cRLSign (crit)
 *                                                                    valid 35 years
 *   DM     AKI, SKI, keyUsage digitalSignature (crit), policy CERT_POLICY_IFPP_DM (crit)
 *                                                                    valid 10 years
 * The DM chain carries no GSMA constraint, so stock `openssl cms -verify` accepts its
 * signatures. Keys come from crypto/ec.h (P-256 or brainpoolP256r1); this module never
 * generates or stores keys.
 */
#ifndef IFPP_CERTGEN_H
#define IFPP_CERTGEN_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/status.h"

typedef enum {
    CERTGEN_CI = 1,
    CERTGEN_EUM,
    CERTGEN_EUICC,
    CERTGEN_DP_PB,
    CERTGEN_DP_AUTH,
    CERTGEN_DM_CA,
    CERTGEN_DM,
} certgen_role_t;

/* 9999-12-31T23:59:59Z, "no well-defined expiration date" (RFC 5280 §4.1.2.5). */
#define CERTGEN_NO_EXPIRY ((time_t)-1)

/* The full description of one certificate; zero-initialise and set what you need. */
typedef struct {
    certgen_role_t role;
    /* Subject attributes, encoded in this order; NULL = absent. */
    const char *c;
    const char *o;
    const char *ou;
    const char *serial_number; /* eUICC: the EID, 32 digits */
    const char *cn;
    const char *rid;        /* SAN registeredID (CI 2.999.1, SM-DPf OID...); NULL: no SAN */
    const char *ein_prefix; /* EUM: permitted EIN prefix (required for CERTGEN_EUM) */
    bool ein_extension;     /* EUM: newer variant (PermittedEins, policy EUM_V3) */
    const char *policy;     /* NULL: the role's policy. Tests mint wrong roles with it */
    const char *crl_uri;    /* CI/EUM/DP: CRL DP URI; NULL: the SGP.26-like test URI */
    time_t not_before;      /* 0: now - 1 hour (clock skew between stations) */
    time_t not_after;       /* 0: the role's default; CERTGEN_NO_EXPIRY: 9999-12-31 */
} certgen_spec_t;

/*
 * Mints one certificate for subject_key (its public half is certified) signed by issuer_key
 * under `issuer`; issuer NULL = self-signed with subject_key (issuer_key ignored). Keys and
 * issuer are borrowed; caller owns *out (X509_free).
 */
st_t certgen_issue(const certgen_spec_t *spec, EVP_PKEY *subject_key, X509 *issuer,
                   EVP_PKEY *issuer_key, X509 **out);

/* Self-signed CI: CN=cn, OU=TESTCERT, O=o; SAN registeredID 2.999.1. */
st_t certgen_ci(EVP_PKEY *key, const char *o, const char *cn, X509 **out);

/* EUM under the CI: O=o, CN="EUM <prefix>", nameConstraints O=o, serialNumber=ein_prefix;
 * SAN registeredID 2.999.5. */
st_t certgen_eum(X509 *ci, EVP_PKEY *ci_key, EVP_PKEY *key, const char *o, const char *ein_prefix,
                 X509 **out);

/* eUICC under the EUM: C and O as the EUM's (O from its permitted DirName when present),
 * serialNumber = EID, CN="Test eUICC". */
st_t certgen_euicc(X509 *eum, EVP_PKEY *eum_key, EVP_PKEY *key, const uint8_t eid[16], X509 **out);

/* SM-DPf certificate under the CI: role CERTGEN_DP_PB or CERTGEN_DP_AUTH, O=o, CN=cn, SAN
 * registeredID = oid (the SM-DPf OID, e.g. "2.999.10"). */
st_t certgen_smdpf(X509 *ci, EVP_PKEY *ci_key, EVP_PKEY *key, certgen_role_t role, const char *oid,
                   const char *o, const char *cn, X509 **out);

/* Self-signed DM CA: O=o, CN=cn. */
st_t certgen_dm_ca(EVP_PKEY *key, const char *o, const char *cn, X509 **out);

/* DM station certificate under the DM CA: O=o, CN=dm_id, policy CERT_POLICY_IFPP_DM. */
st_t certgen_dm(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const char *o, const char *dm_id,
                X509 **out);

#endif
