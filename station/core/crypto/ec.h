/*
 * ec.h - elliptic-curve primitives of SGP.22 with OpenSSL 3 EVP APIs.
 *
 * Curves: NIST P-256 and brainpoolP256r1 (SGP.22 §2.6.5, SGP.26). Public points travel as
 * X9.62 uncompressed points 04||X||Y (65 bytes, tag 5F49). RSP signatures are ECDSA with
 * SHA-256 in the raw r||s form of BSI TR-03111 (64 bytes, tag 5F37); X.509 signatures stay
 * DER (that is OpenSSL's business). Keys are EVP_PKEY; every function states ownership.
 */
#ifndef IFPP_EC_H
#define IFPP_EC_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/status.h"

#define EC_POINT_LEN   65 /* 04 || X || Y */
#define EC_SCALAR_LEN  32
#define EC_SIG_RAW_LEN 64 /* r || s */
#define EC_SHARED_LEN  32 /* x-coordinate of the ECDH product */

typedef enum {
    EC_CURVE_NONE = 0,
    EC_CURVE_P256 = 1,
    EC_CURVE_BRAINPOOLP256R1 = 2,
} ec_curve_t;

/* "P-256" / "brainpoolP256r1"; NULL for EC_CURVE_NONE. */
const char *ec_curve_name(ec_curve_t c);
/* Accepts "P-256", "prime256v1", "secp256r1", "nist", "brainpoolP256r1", "brp". */
st_t ec_curve_parse(const char *s, ec_curve_t *out);

/* The curve of a key; ST_E_UNSUPPORTED for anything but the two curves above. */
st_t ec_key_curve(const EVP_PKEY *key, ec_curve_t *out);

/* Fresh key pair (GENS07: from OpenSSL's DRBG). Caller owns *out (EVP_PKEY_free). */
st_t ec_key_generate(ec_curve_t curve, EVP_PKEY **out);

/* Public key from a 65-byte uncompressed point; rejects points not on the curve. Caller owns. */
st_t ec_pubkey_from_point(ec_curve_t curve, const uint8_t *pt, size_t len, EVP_PKEY **out);

/* Writes the 65-byte uncompressed public point of key (public or private). */
st_t ec_pubkey_to_point(const EVP_PKEY *key, uint8_t out[EC_POINT_LEN]);

/* Private key from a 32-byte big-endian scalar (public part computed). Caller owns. */
st_t ec_privkey_from_scalar(ec_curve_t curve, const uint8_t d[EC_SCALAR_LEN], EVP_PKEY **out);

/* Writes the 32-byte private scalar. The caller wipes `out` after use. */
st_t ec_privkey_to_scalar(const EVP_PKEY *key, uint8_t out[EC_SCALAR_LEN]);

/* ECKA-DH (SGP.22 §2.6.4.1, BSI TR-03111): z = x-coordinate of priv * peer. Caller wipes z. */
st_t ec_ecdh(EVP_PKEY *priv, EVP_PKEY *peer_pub, uint8_t z[EC_SHARED_LEN]);

/* ECDSA-SHA256 over msg, raw r||s (each left-padded to 32 bytes). */
st_t ec_sign_raw(EVP_PKEY *priv, const uint8_t *msg, size_t len, uint8_t sig[EC_SIG_RAW_LEN]);

/* Verifies a raw r||s signature: ST_OK, ST_E_BAD_SIGNATURE (also for a wrong siglen). */
st_t ec_verify_raw(EVP_PKEY *pub, const uint8_t *msg, size_t len, const uint8_t *sig,
                   size_t siglen);

/* PEM private key (any OpenSSL-loadable key file). A file group or others may access, or one
 * owned by another user than the caller or root, is refused: ST_E_PERM. Caller owns *out. */
st_t ec_key_load_pem(const char *path, EVP_PKEY **out);
/* The same without the file mode check, for keys published as test data (the GSMA SGP.26
 * test PKI, read-only 0444 in ../shared): the test kit and tests only, never the station. */
st_t ec_key_load_pem_published(const char *path, EVP_PKEY **out);
/* PEM or DER public key / private key file -> public key. Caller owns *out. */
st_t ec_pubkey_load(const char *path, EVP_PKEY **out);
/* Writes a private key as unencrypted PKCS#8 PEM, atomically, with mode (0600). */
st_t ec_key_save_pem(const char *path, EVP_PKEY *key, unsigned mode);

#endif
