/*
 * ec.c - SGP.22 elliptic-curve primitives (ECKA-DH, raw r||s ECDSA, point and scalar codecs)
 * on OpenSSL 3 EVP / OSSL_PARAM APIs. EC_GROUP/EC_POINT are used only to compute the public
 * point of an imported scalar (OpenSSL 3.0's EC import does not derive it).
 */
#include "crypto/ec.h"

#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/log.h"

#define EC_KEYFILE_MAX (64 * 1024)

/* OpenSSL group names of the two SGP.22 curves. */
static const char *ec_group_name(ec_curve_t c) {
    switch (c) {
    case EC_CURVE_P256:
        return SN_X9_62_prime256v1;
    case EC_CURVE_BRAINPOOLP256R1:
        return SN_brainpoolP256r1;
    default:
        return NULL;
    }
}

static int ec_group_nid(ec_curve_t c) {
    switch (c) {
    case EC_CURVE_P256:
        return NID_X9_62_prime256v1;
    case EC_CURVE_BRAINPOOLP256R1:
        return NID_brainpoolP256r1;
    default:
        return NID_undef;
    }
}

const char *ec_curve_name(ec_curve_t c) {
    switch (c) {
    case EC_CURVE_P256:
        return "P-256";
    case EC_CURVE_BRAINPOOLP256R1:
        return "brainpoolP256r1";
    default:
        return NULL;
    }
}

st_t ec_curve_parse(const char *s, ec_curve_t *out) {
    if (s == NULL || out == NULL)
        return ST_E_INVAL;
    if (!strcasecmp(s, "P-256") || !strcasecmp(s, "P256") || !strcasecmp(s, "prime256v1")
        || !strcasecmp(s, "secp256r1") || !strcasecmp(s, "nist")) {
        *out = EC_CURVE_P256;
        return ST_OK;
    }
    if (!strcasecmp(s, "brainpoolP256r1") || !strcasecmp(s, "brp") || !strcasecmp(s, "brainpool")) {
        *out = EC_CURVE_BRAINPOOLP256R1;
        return ST_OK;
    }
    return ST_E_UNSUPPORTED;
}

st_t ec_key_curve(const EVP_PKEY *key, ec_curve_t *out) {
    char name[64];
    size_t nlen = 0;
    int nid;

    if (key == NULL || out == NULL)
        return ST_E_INVAL;
    if (!EVP_PKEY_is_a(key, "EC"))
        return ST_E_UNSUPPORTED;
    if (!EVP_PKEY_get_group_name(key, name, sizeof(name), &nlen)) {
        ERR_clear_error();
        return ST_E_UNSUPPORTED; /* explicit parameters: not a named SGP.22 curve */
    }
    nid = OBJ_sn2nid(name);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name);
    if (nid == NID_X9_62_prime256v1) {
        *out = EC_CURVE_P256;
        return ST_OK;
    }
    if (nid == NID_brainpoolP256r1) {
        *out = EC_CURVE_BRAINPOOLP256R1;
        return ST_OK;
    }
    return ST_E_UNSUPPORTED;
}

st_t ec_key_generate(ec_curve_t curve, EVP_PKEY **out) {
    const char *g = ec_group_name(curve);
    EVP_PKEY *k;

    if (out == NULL)
        return ST_E_INVAL;
    *out = NULL;
    if (g == NULL)
        return ST_E_UNSUPPORTED;
    k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", g);
    if (k == NULL)
        return st_from_openssl("ec keygen");
    *out = k;
    return ST_OK;
}

/* Builds an EC EVP_PKEY from OSSL_PARAMs (group + pub [+ priv]). */
static st_t ec_fromdata(ec_curve_t curve, const uint8_t *pt, size_t ptlen, const BIGNUM *priv,
                        EVP_PKEY **out) {
    st_t st = ST_E_CRYPTO;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *k = NULL;

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL
        || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, ec_group_name(curve),
                                            0)
        || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen)
        || (priv != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv))) {
        st = st_from_openssl("ec params");
        goto out;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0) {
        st = st_from_openssl("ec fromdata init");
        goto out;
    }
    if (EVP_PKEY_fromdata(ctx, &k, priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params)
        <= 0) {
        /* A point that is not on the curve fails here (EC_POINT_oct2point). */
        ERR_clear_error();
        st = ST_E_INVAL;
        goto out;
    }
    *out = k;
    k = NULL;
    st = ST_OK;
out:
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* OSSL_PARAM_BLD_to_param uses the secure heap for BNs */
    OSSL_PARAM_BLD_free(bld);
    return st;
}

st_t ec_pubkey_from_point(ec_curve_t curve, const uint8_t *pt, size_t len, EVP_PKEY **out) {
    st_t st;
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = NULL;

    if (out == NULL || pt == NULL)
        return ST_E_INVAL;
    *out = NULL;
    if (ec_group_name(curve) == NULL)
        return ST_E_UNSUPPORTED;
    /* Only the uncompressed form travels in SGP.22 (5F49 41 04||X||Y). */
    if (len != EC_POINT_LEN || pt[0] != 0x04)
        return ST_E_INVAL;
    st = ec_fromdata(curve, pt, len, NULL, &k);
    if (st != ST_OK)
        return st;
    /* Belt and braces: full public-key validation (on curve, in the prime-order group). */
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    if (ctx == NULL) {
        st = st_from_openssl("ec check ctx");
        goto out;
    }
    if (EVP_PKEY_public_check(ctx) != 1) {
        ERR_clear_error();
        st = ST_E_INVAL;
        goto out;
    }
    *out = k;
    k = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(k);
    return st;
}

st_t ec_pubkey_to_point(const EVP_PKEY *key, uint8_t out[EC_POINT_LEN]) {
    st_t st = ST_OK;
    BIGNUM *x = NULL, *y = NULL;
    ec_curve_t c;

    if (key == NULL || out == NULL)
        return ST_E_INVAL;
    st = ec_key_curve(key, &c);
    if (st != ST_OK)
        return st;
    /* X and Y separately: independent of the key's point-conversion-form setting. */
    if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x)
        || !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y)) {
        st = st_from_openssl("ec get pub");
        goto out;
    }
    out[0] = 0x04;
    if (BN_bn2binpad(x, out + 1, EC_SCALAR_LEN) != EC_SCALAR_LEN
        || BN_bn2binpad(y, out + 1 + EC_SCALAR_LEN, EC_SCALAR_LEN) != EC_SCALAR_LEN) {
        st = ST_E_CRYPTO;
        goto out;
    }
out:
    BN_free(x);
    BN_free(y);
    return st;
}

st_t ec_privkey_from_scalar(ec_curve_t curve, const uint8_t d[EC_SCALAR_LEN], EVP_PKEY **out) {
    st_t st = ST_E_CRYPTO;
    EC_GROUP *grp = NULL;
    EC_POINT *pub = NULL;
    BIGNUM *priv = NULL;
    BN_CTX *bnctx = NULL;
    uint8_t pt[EC_POINT_LEN];

    if (out == NULL || d == NULL)
        return ST_E_INVAL;
    *out = NULL;
    if (ec_group_name(curve) == NULL)
        return ST_E_UNSUPPORTED;
    grp = EC_GROUP_new_by_curve_name(ec_group_nid(curve));
    bnctx = BN_CTX_secure_new();
    priv = BN_secure_new();
    pub = grp != NULL ? EC_POINT_new(grp) : NULL;
    if (grp == NULL || bnctx == NULL || priv == NULL || pub == NULL) {
        st = st_from_openssl("ec scalar import");
        goto out;
    }
    if (BN_bin2bn(d, EC_SCALAR_LEN, priv) == NULL) {
        st = st_from_openssl("ec scalar import");
        goto out;
    }
    /* 1 <= d < n */
    if (BN_is_zero(priv) || BN_cmp(priv, EC_GROUP_get0_order(grp)) >= 0) {
        st = ST_E_INVAL;
        goto out;
    }
    if (!EC_POINT_mul(grp, pub, priv, NULL, NULL, bnctx)
        || EC_POINT_point2oct(grp, pub, POINT_CONVERSION_UNCOMPRESSED, pt, sizeof(pt), bnctx)
               != sizeof(pt)) {
        st = st_from_openssl("ec scalar mul");
        goto out;
    }
    st = ec_fromdata(curve, pt, sizeof(pt), priv, out);
out:
    BN_clear_free(priv);
    BN_CTX_free(bnctx);
    EC_POINT_free(pub);
    EC_GROUP_free(grp);
    return st;
}

st_t ec_privkey_to_scalar(const EVP_PKEY *key, uint8_t out[EC_SCALAR_LEN]) {
    st_t st = ST_OK;
    BIGNUM *d = NULL;
    ec_curve_t c;

    if (key == NULL || out == NULL)
        return ST_E_INVAL;
    st = ec_key_curve(key, &c);
    if (st != ST_OK)
        return st;
    if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d)) {
        ERR_clear_error();
        return ST_E_INVAL; /* a public key */
    }
    if (BN_bn2binpad(d, out, EC_SCALAR_LEN) != EC_SCALAR_LEN)
        st = ST_E_CRYPTO;
    BN_clear_free(d);
    return st;
}

st_t ec_ecdh(EVP_PKEY *priv, EVP_PKEY *peer_pub, uint8_t z[EC_SHARED_LEN]) {
    st_t st = ST_OK;
    EVP_PKEY_CTX *ctx = NULL;
    ec_curve_t c1, c2;
    size_t zlen = EC_SHARED_LEN;

    if (priv == NULL || peer_pub == NULL || z == NULL)
        return ST_E_INVAL;
    if ((st = ec_key_curve(priv, &c1)) != ST_OK || (st = ec_key_curve(peer_pub, &c2)) != ST_OK)
        return st;
    if (c1 != c2)
        return ST_E_INVAL;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) <= 0
        || EVP_PKEY_derive_set_peer(ctx, peer_pub) <= 0 || EVP_PKEY_derive(ctx, z, &zlen) <= 0) {
        st = st_from_openssl("ecdh");
        goto out;
    }
    if (zlen != EC_SHARED_LEN) {
        mem_wipe(z, EC_SHARED_LEN);
        st = ST_E_CRYPTO;
    }
out:
    EVP_PKEY_CTX_free(ctx);
    return st;
}

st_t ec_sign_raw(EVP_PKEY *priv, const uint8_t *msg, size_t len, uint8_t sig[EC_SIG_RAW_LEN]) {
    st_t st = ST_OK;
    EVP_MD_CTX *md = NULL;
    ECDSA_SIG *es = NULL;
    uint8_t der[80]; /* DER ECDSA-Sig-Value for 256-bit curves: at most 72 bytes */
    size_t derlen = sizeof(der);
    const unsigned char *p = der;
    const BIGNUM *r, *s;
    ec_curve_t c;

    if (priv == NULL || (msg == NULL && len > 0) || sig == NULL)
        return ST_E_INVAL;
    if ((st = ec_key_curve(priv, &c)) != ST_OK)
        return st;
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, priv, NULL) != 1
        || EVP_DigestSign(md, der, &derlen, msg, len) != 1) {
        st = st_from_openssl("ecdsa sign");
        goto out;
    }
    es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    if (es == NULL) {
        st = st_from_openssl("ecdsa sig decode");
        goto out;
    }
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32) {
        st = ST_E_CRYPTO;
        goto out;
    }
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    return st;
}

st_t ec_verify_raw(EVP_PKEY *pub, const uint8_t *msg, size_t len, const uint8_t *sig,
                   size_t siglen) {
    st_t st = ST_E_BAD_SIGNATURE;
    EVP_MD_CTX *md = NULL;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *der = NULL;
    int derlen, rc;
    ec_curve_t c;

    if (pub == NULL || (msg == NULL && len > 0))
        return ST_E_INVAL;
    if ((st = ec_key_curve(pub, &c)) != ST_OK)
        return st;
    if (sig == NULL || siglen != EC_SIG_RAW_LEN)
        return ST_E_BAD_SIGNATURE;
    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, 32, NULL);
    s = BN_bin2bn(sig + 32, 32, NULL);
    if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
        st = st_from_openssl("ecdsa sig build");
        goto out;
    }
    r = s = NULL; /* owned by es */
    derlen = i2d_ECDSA_SIG(es, &der);
    if (derlen <= 0) {
        st = st_from_openssl("ecdsa sig encode");
        goto out;
    }
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pub, NULL) != 1) {
        st = st_from_openssl("ecdsa verify init");
        goto out;
    }
    rc = EVP_DigestVerify(md, der, (size_t)derlen, msg, len);
    if (rc == 1) {
        st = ST_OK;
    } else {
        /* 0 = mismatch; <0 = e.g. r or s out of range: also "does not verify". */
        ERR_clear_error();
        st = ST_E_BAD_SIGNATURE;
    }
out:
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    return st;
}

/* Never prompt on a terminal for a passphrase: keys here are unencrypted 0600 files. */
static int ec_no_pass(char *buf, int size, int rwflag, void *u) {
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static st_t key_load(const char *path, bool check_mode, EVP_PKEY **out) {
    st_t st;
    buf_t b = BUF_INIT;
    BIO *bio = NULL;
    EVP_PKEY *k = NULL;

    if (path == NULL || out == NULL)
        return ST_E_INVAL;
    *out = NULL;
    st = check_mode ? buf_read_secret_file(&b, path, EC_KEYFILE_MAX)
                    : buf_read_file(&b, path, EC_KEYFILE_MAX);
    if (st != ST_OK) {
        st_log(ST_LOG_DEBUG, "ec: cannot read key %s: %s", path, st_str(st));
        goto out;
    }
    bio = BIO_new_mem_buf(b.data, (int)b.len);
    if (bio == NULL) {
        st = st_from_openssl("ec key bio");
        goto out;
    }
    k = PEM_read_bio_PrivateKey_ex(bio, NULL, ec_no_pass, NULL, NULL, NULL);
    if (k == NULL) {
        /* DER PKCS#8 / SEC1 as a courtesy */
        const unsigned char *p = b.data;
        ERR_clear_error();
        k = d2i_AutoPrivateKey(NULL, &p, (long)b.len);
    }
    if (k == NULL) {
        ERR_clear_error();
        st_log(ST_LOG_DEBUG, "ec: %s is not a private key file", path);
        st = ST_E_PARSE;
        goto out;
    }
    *out = k;
    st = ST_OK;
out:
    BIO_free(bio);
    buf_wipe_free(&b);
    return st;
}

st_t ec_key_load_pem(const char *path, EVP_PKEY **out) {
    return key_load(path, true, out);
}

st_t ec_key_load_pem_published(const char *path, EVP_PKEY **out) {
    return key_load(path, false, out);
}

/* Copy of the public half of a key (drops any private part). */
static st_t ec_public_copy(EVP_PKEY *k, EVP_PKEY **out) {
    unsigned char *der = NULL;
    const unsigned char *p;
    int n = i2d_PUBKEY(k, &der);

    if (n <= 0)
        return st_from_openssl("pubkey encode");
    p = der;
    *out = d2i_PUBKEY(NULL, &p, n);
    OPENSSL_free(der);
    if (*out == NULL)
        return st_from_openssl("pubkey decode");
    return ST_OK;
}

st_t ec_pubkey_load(const char *path, EVP_PKEY **out) {
    st_t st;
    buf_t b = BUF_INIT;
    BIO *bio = NULL;
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    const unsigned char *p;

    if (path == NULL || out == NULL)
        return ST_E_INVAL;
    *out = NULL;
    st = buf_read_file(&b, path, EC_KEYFILE_MAX);
    if (st != ST_OK)
        goto out;
    bio = BIO_new_mem_buf(b.data, (int)b.len);
    if (bio == NULL) {
        st = st_from_openssl("pubkey bio");
        goto out;
    }
    if ((k = PEM_read_bio_PUBKEY_ex(bio, NULL, ec_no_pass, NULL, NULL, NULL)) != NULL) {
        *out = k;
        k = NULL;
        st = ST_OK;
        goto out;
    }
    ERR_clear_error();
    (void)BIO_reset(bio);
    if ((k = PEM_read_bio_PrivateKey_ex(bio, NULL, ec_no_pass, NULL, NULL, NULL)) != NULL)
        goto have_priv;
    ERR_clear_error();
    (void)BIO_reset(bio);
    if ((x = PEM_read_bio_X509(bio, NULL, ec_no_pass, NULL)) != NULL)
        goto have_cert;
    ERR_clear_error();
    p = b.data;
    if ((k = d2i_PUBKEY(NULL, &p, (long)b.len)) != NULL) {
        *out = k;
        k = NULL;
        st = ST_OK;
        goto out;
    }
    ERR_clear_error();
    p = b.data;
    if ((k = d2i_AutoPrivateKey(NULL, &p, (long)b.len)) != NULL)
        goto have_priv;
    ERR_clear_error();
    p = b.data;
    if ((x = d2i_X509(NULL, &p, (long)b.len)) != NULL)
        goto have_cert;
    ERR_clear_error();
    st_log(ST_LOG_DEBUG, "ec: %s holds no public key", path);
    st = ST_E_PARSE;
    goto out;
have_priv:
    st = ec_public_copy(k, out);
    goto out;
have_cert:
    k = X509_get_pubkey(x);
    if (k == NULL) {
        st = st_from_openssl("cert pubkey");
        goto out;
    }
    *out = k;
    k = NULL;
    st = ST_OK;
out:
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(bio);
    buf_wipe_free(&b);
    return st;
}

st_t ec_key_save_pem(const char *path, EVP_PKEY *key, unsigned mode) {
    st_t st;
    BIO *bio = NULL;
    char *data = NULL;
    long n;

    if (path == NULL || key == NULL)
        return ST_E_INVAL;
    /* secure-heap memory BIO: cleansed when freed */
    bio = BIO_new(BIO_s_secmem());
    if (bio == NULL || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
        st = st_from_openssl("key encode");
        goto out;
    }
    n = BIO_get_mem_data(bio, &data);
    if (n <= 0 || data == NULL) {
        st = ST_E_CRYPTO;
        goto out;
    }
    st = buf_write_file_atomic(path, data, (size_t)n, mode);
out:
    BIO_free(bio);
    return st;
}
