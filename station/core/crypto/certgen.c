/*
 * certgen.c - GSMA-shaped certificates with OpenSSL 3 (profiles in certgen.h).
 *
 * Simple extensions go through X509V3_EXT_nconf_nid (OpenSSL's own value syntax, no config
 * file); the EUM's nameConstraints DirName and PermittedEins are built as structures, since
 * the string syntax needs a config section for a DirName.
 */
#include "crypto/certgen.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
#include "base/log.h"
#include "crypto/cert.h"
#include "tlv/tlv.h"

#define CERTGEN_DEFAULT_CRL  "http://ci.test.example.com/CRL-A.crl"
#define CERTGEN_SKEW_SECONDS 3600
#define DAYS_PER_YEAR        365

/* Role defaults: policy (NULL = none) and validity in years (0 = no expiry). */
static const char *role_policy(certgen_role_t r) {
    switch (r) {
    case CERTGEN_CI:
        return CERT_POLICY_CI;
    case CERTGEN_EUM:
        return CERT_POLICY_EUM;
    case CERTGEN_EUICC:
        return CERT_POLICY_EUICC;
    case CERTGEN_DP_PB:
        return CERT_POLICY_DP_PB;
    case CERTGEN_DP_AUTH:
        return CERT_POLICY_DP_AUTH;
    case CERTGEN_DM:
        return CERT_POLICY_IFPP_DM;
    default:
        return NULL;
    }
}

static int role_years(certgen_role_t r) {
    switch (r) {
    case CERTGEN_CI:
    case CERTGEN_DM_CA:
        return 35;
    case CERTGEN_EUM:
        return 34;
    case CERTGEN_EUICC:
        return 0;
    default:
        return 10;
    }
}

/* One extension in OpenSSL's value syntax ("critical,CA:TRUE", "RID:2.999.10", "hash"). */
static st_t add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value) {
    X509_EXTENSION *ex = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    st_t st = ST_OK;

    if (ex == NULL)
        return st_from_openssl(OBJ_nid2sn(nid));
    if (!X509_add_ext(x, ex, -1))
        st = st_from_openssl("X509_add_ext");
    X509_EXTENSION_free(ex);
    return st;
}

/* certificatePolicies (critical) with one policy OID (the string syntax needs a config DB). */
static st_t add_policy(X509 *x, const char *oid) {
    CERTIFICATEPOLICIES *cp = CERTIFICATEPOLICIES_new();
    POLICYINFO *pi = POLICYINFO_new();
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    st_t st = ST_OK;

    if (cp == NULL || pi == NULL || o == NULL) {
        st = o == NULL && cp != NULL && pi != NULL ? ST_E_INVAL : ST_E_NOMEM;
        goto out;
    }
    ASN1_OBJECT_free(pi->policyid);
    pi->policyid = o;
    o = NULL;
    if (!sk_POLICYINFO_push(cp, pi)) {
        st = ST_E_NOMEM;
        goto out;
    }
    pi = NULL;
    if (!X509_add1_ext_i2d(x, NID_certificate_policies, cp, 1, X509V3_ADD_APPEND))
        st = st_from_openssl("certificatePolicies");
out:
    ASN1_OBJECT_free(o);
    POLICYINFO_free(pi);
    CERTIFICATEPOLICIES_free(cp);
    return st;
}

static st_t name_add(X509_NAME *n, int nid, const char *v) {
    if (v == NULL)
        return ST_OK;
    if (!X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8, (const unsigned char *)v, -1, -1, 0))
        return st_from_openssl(OBJ_nid2sn(nid));
    return ST_OK;
}

/* nameConstraints (critical): permitted DirName O=o, serialNumber=prefix (SGP.26 EUM). */
static st_t add_name_constraints(X509 *x, const char *o, const char *prefix) {
    NAME_CONSTRAINTS *nc = NAME_CONSTRAINTS_new();
    GENERAL_SUBTREE *sub = GENERAL_SUBTREE_new();
    X509_NAME *dn = X509_NAME_new();
    st_t st = ST_OK;

    if (nc == NULL || sub == NULL || dn == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    if ((st = name_add(dn, NID_organizationName, o)) != ST_OK
        || (st = name_add(dn, NID_serialNumber, prefix)) != ST_OK)
        goto out;
    if (sub->base == NULL && (sub->base = GENERAL_NAME_new()) == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    GENERAL_NAME_set0_value(sub->base, GEN_DIRNAME, dn);
    dn = NULL;
    nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
    if (nc->permittedSubtrees == NULL || !sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, sub)) {
        st = ST_E_NOMEM;
        goto out;
    }
    sub = NULL;
    if (!X509_add1_ext_i2d(x, NID_name_constraints, nc, 1, X509V3_ADD_APPEND))
        st = st_from_openssl("nameConstraints");
out:
    X509_NAME_free(dn);
    GENERAL_SUBTREE_free(sub);
    NAME_CONSTRAINTS_free(nc);
    return st;
}

/* PermittedEins ::= SEQUENCE OF PrintableString (2.23.146.1.2.2.0), non-critical. */
static st_t add_permitted_eins(X509 *x, const char *prefix) {
    tlv_writer_t *w = tlv_writer_new();
    buf_t der = BUF_INIT;
    ASN1_OBJECT *oid = OBJ_txt2obj(CERT_EXT_PERMITTED_EINS, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ex = NULL;
    st_t st;

    if (w == NULL || oid == NULL || os == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    tlv_w_begin(w, 0x30);
    tlv_w_put(w, 0x13, prefix, strlen(prefix));
    tlv_w_end(w);
    if ((st = tlv_w_finish(w, &der)) != ST_OK)
        goto out;
    if (!ASN1_OCTET_STRING_set(os, der.data, (int)der.len)
        || (ex = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os)) == NULL
        || !X509_add_ext(x, ex, -1)) {
        st = st_from_openssl("PermittedEins");
        goto out;
    }
    st = ST_OK;
out:
    X509_EXTENSION_free(ex);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(oid);
    buf_free(&der);
    tlv_writer_free(w);
    return st;
}

static st_t set_serial(X509 *x) {
    BIGNUM *bn = BN_new();
    st_t st = ST_OK;

    /* 64 bits, top bit clear (positive, 8 octets), never zero. */
    if (bn == NULL || !BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY)
        || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        st = st_from_openssl("serial");
    BN_free(bn);
    return st;
}

static st_t set_validity(X509 *x, const certgen_spec_t *spec) {
    time_t now = time(NULL);
    time_t nb = spec->not_before != 0 ? spec->not_before : now - CERTGEN_SKEW_SECONDS;
    time_t na = spec->not_after;
    int years = role_years(spec->role);

    if (X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) == NULL)
        return st_from_openssl("notBefore");
    if (spec->not_after == CERTGEN_NO_EXPIRY || (spec->not_after == 0 && years == 0)) {
        if (!ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "99991231235959Z"))
            return st_from_openssl("notAfter");
    } else if (spec->not_after != 0) {
        if (X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na) == NULL)
            return st_from_openssl("notAfter");
    } else {
        /* Leap days included roughly: a quarter day per year. */
        if (X509_time_adj_ex(X509_getm_notAfter(x), years * DAYS_PER_YEAR + years / 4, 0, &nb)
            == NULL)
            return st_from_openssl("notAfter");
    }
    return ST_OK;
}

static bool role_has_crldp(certgen_role_t r) {
    return r == CERTGEN_CI || r == CERTGEN_EUM || r == CERTGEN_DP_PB || r == CERTGEN_DP_AUTH;
}

/* Extensions in SGP.26 order for each role. */
static st_t add_extensions(X509 *x, X509 *issuer, const certgen_spec_t *spec) {
    X509V3_CTX ctx;
    char v[256];
    const char *policy = spec->policy;
    const char *crl = spec->crl_uri != NULL ? spec->crl_uri : CERTGEN_DEFAULT_CRL;
    certgen_role_t r = spec->role;
    st_t st = ST_OK;

    if (policy == NULL)
        policy = (r == CERTGEN_EUM && spec->ein_extension) ? CERT_POLICY_EUM_V3 : role_policy(r);
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        if ((st = (expr)) != ST_OK)                                                                \
            return st;                                                                             \
    } while (0)

    if (issuer != NULL)
        TRY(add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"));
    TRY(add_ext(x, &ctx, NID_subject_key_identifier, "hash"));
    if (r == CERTGEN_CI || r == CERTGEN_DM_CA) {
        TRY(add_ext(x, &ctx, NID_basic_constraints,
                    r == CERTGEN_CI ? "critical,CA:TRUE" : "critical,CA:TRUE,pathlen:0"));
        if (policy != NULL) {
            TRY(add_policy(x, policy));
        }
        TRY(add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
        if (spec->rid != NULL) {
            snprintf(v, sizeof(v), "RID:%s", spec->rid);
            TRY(add_ext(x, &ctx, NID_subject_alt_name, v));
        }
    } else if (r == CERTGEN_EUM) {
        TRY(add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign"));
        TRY(add_policy(x, policy));
        if (spec->rid != NULL) {
            snprintf(v, sizeof(v), "RID:%s", spec->rid);
            TRY(add_ext(x, &ctx, NID_subject_alt_name, v));
        }
        TRY(add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    } else {
        /* End entities: eUICC, DPpb, DPauth, DM. */
        if (spec->rid != NULL) {
            snprintf(v, sizeof(v), "RID:%s", spec->rid);
            TRY(add_ext(x, &ctx, NID_subject_alt_name, v));
        }
        TRY(add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature"));
        if (policy != NULL) {
            TRY(add_policy(x, policy));
        }
    }
    if (role_has_crldp(r)) {
        snprintf(v, sizeof(v), "URI:%s", crl);
        TRY(add_ext(x, &ctx, NID_crl_distribution_points, v));
    }
    if (r == CERTGEN_EUM) {
        if (spec->ein_extension)
            TRY(add_permitted_eins(x, spec->ein_prefix));
        else
            TRY(add_name_constraints(x, spec->o, spec->ein_prefix));
    }
#undef TRY
    return ST_OK;
}

st_t certgen_issue(const certgen_spec_t *spec, EVP_PKEY *subject_key, X509 *issuer,
                   EVP_PKEY *issuer_key, X509 **out) {
    X509 *x = NULL;
    X509_NAME *subj = NULL;
    st_t st;

    if (out != NULL)
        *out = NULL;
    if (spec == NULL || subject_key == NULL || out == NULL || (issuer != NULL && !issuer_key))
        return ST_E_INVAL;
    if (spec->role < CERTGEN_CI || spec->role > CERTGEN_DM)
        return ST_E_INVAL;
    if (spec->role == CERTGEN_EUM && (spec->ein_prefix == NULL || spec->ein_prefix[0] == '\0'))
        return ST_E_INVAL;
    if (issuer == NULL)
        issuer_key = subject_key;

    x = X509_new();
    subj = X509_NAME_new();
    if (x == NULL || subj == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    if (!X509_set_version(x, X509_VERSION_3)) {
        st = st_from_openssl("X509_set_version");
        goto out;
    }
    if ((st = set_serial(x)) != ST_OK || (st = set_validity(x, spec)) != ST_OK)
        goto out;
    /* SGP.26 orders the CI's subject CN, OU, O, C and every other C, O, serialNumber, CN. */
    if (spec->role == CERTGEN_CI) {
        if ((st = name_add(subj, NID_commonName, spec->cn)) != ST_OK
            || (st = name_add(subj, NID_organizationalUnitName, spec->ou)) != ST_OK
            || (st = name_add(subj, NID_organizationName, spec->o)) != ST_OK
            || (st = name_add(subj, NID_countryName, spec->c)) != ST_OK)
            goto out;
    } else {
        if ((st = name_add(subj, NID_countryName, spec->c)) != ST_OK
            || (st = name_add(subj, NID_organizationName, spec->o)) != ST_OK
            || (st = name_add(subj, NID_organizationalUnitName, spec->ou)) != ST_OK
            || (st = name_add(subj, NID_serialNumber, spec->serial_number)) != ST_OK
            || (st = name_add(subj, NID_commonName, spec->cn)) != ST_OK)
            goto out;
    }
    if (X509_NAME_entry_count(subj) == 0) {
        st = ST_E_INVAL;
        goto out;
    }
    if (!X509_set_subject_name(x, subj)
        || !X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : subj)
        || !X509_set_pubkey(x, subject_key)) {
        st = st_from_openssl("X509 fields");
        goto out;
    }
    if ((st = add_extensions(x, issuer, spec)) != ST_OK)
        goto out;
    if (X509_sign(x, issuer_key, EVP_sha256()) <= 0) {
        st = st_from_openssl("X509_sign");
        goto out;
    }
    *out = x;
    x = NULL;
    st = ST_OK;
out:
    X509_NAME_free(subj);
    X509_free(x);
    return st;
}

st_t certgen_ci(EVP_PKEY *key, const char *o, const char *cn, X509 **out) {
    certgen_spec_t s = {.role = CERTGEN_CI, .o = o, .ou = "TESTCERT", .cn = cn, .rid = "2.999.1"};
    return certgen_issue(&s, key, NULL, NULL, out);
}

st_t certgen_eum(X509 *ci, EVP_PKEY *ci_key, EVP_PKEY *key, const char *o, const char *ein_prefix,
                 X509 **out) {
    char cn[64];
    certgen_spec_t s = {
        .role = CERTGEN_EUM, .o = o, .cn = cn, .rid = "2.999.5", .ein_prefix = ein_prefix};

    if (ein_prefix == NULL)
        return ST_E_INVAL;
    snprintf(cn, sizeof(cn), "EUM %s", ein_prefix);
    return certgen_issue(&s, key, ci, ci_key, out);
}

st_t certgen_euicc(X509 *eum, EVP_PKEY *eum_key, EVP_PKEY *key, const uint8_t eid[16], X509 **out) {
    char c[8], o[256], prefix[33], eidstr[33];
    certgen_spec_t s = {.role = CERTGEN_EUICC, .serial_number = eidstr, .cn = "Test eUICC"};
    X509_NAME *en;

    if (eum == NULL || eid == NULL)
        return ST_E_INVAL;
    en = X509_get_subject_name(eum);
    if (cert_name_get(en, NID_countryName, c, sizeof(c)) == ST_OK)
        s.c = c;
    /* The O the EUM's constraint demands, else the EUM's own O. */
    if (cert_eum_permitted_ein(eum, 0, prefix, o, sizeof(o)) != ST_OK || o[0] == '\0')
        if (cert_name_get(en, NID_organizationName, o, sizeof(o)) != ST_OK)
            o[0] = '\0';
    if (o[0] != '\0')
        s.o = o;
    eid_to_str(eid, eidstr);
    return certgen_issue(&s, key, eum, eum_key, out);
}

st_t certgen_smdpf(X509 *ci, EVP_PKEY *ci_key, EVP_PKEY *key, certgen_role_t role, const char *oid,
                   const char *o, const char *cn, X509 **out) {
    certgen_spec_t s = {.role = role, .o = o, .cn = cn, .rid = oid};

    if ((role != CERTGEN_DP_PB && role != CERTGEN_DP_AUTH) || oid == NULL)
        return ST_E_INVAL;
    return certgen_issue(&s, key, ci, ci_key, out);
}

st_t certgen_dm_ca(EVP_PKEY *key, const char *o, const char *cn, X509 **out) {
    certgen_spec_t s = {.role = CERTGEN_DM_CA, .o = o, .cn = cn};
    return certgen_issue(&s, key, NULL, NULL, out);
}

st_t certgen_dm(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const char *o, const char *dm_id,
                X509 **out) {
    certgen_spec_t s = {.role = CERTGEN_DM, .o = o, .cn = dm_id};
    return certgen_issue(&s, key, ca, ca_key, out);
}
