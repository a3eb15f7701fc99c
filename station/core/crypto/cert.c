/*
 * cert.c - GSMA RSP certificate chains on OpenSSL 3 (SGP.22 §4.5.2, SGP.26 profiles).
 *
 * OpenSSL builds and verifies every chain (signatures, validity, CA flags, path length,
 * critical extensions) with one verify callback that forgives exactly two GSMA shapes:
 *   - X509_V_ERR_PERMITTED_VIOLATION when every nameConstraints above the violating
 *     certificate belongs to an EUM (the permitted DirName is an EID *prefix*, not an RFC 5280
 *     subtree), and
 *   - X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION when the only unknown critical extension is the
 *     EUM's PermittedEins (2.23.146.1.2.2.0).
 * After OpenSSL has accepted the chain, the SGP.22 rule replaces the forgiven check: every
 * certificate issued by an EUM must carry an EID starting with one of the EUM's permitted EIN
 * prefixes (and the EUM's O). Role policies, key usages and the CI anchor are checked here.
 */
#include "crypto/cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/log.h"
#include "crypto/ec.h"
#include "tlv/tlv.h"

#define CERT_FILE_MAX   (1024 * 1024)
#define CERT_BUNDLE_MAX (8 * 1024 * 1024)
#define CERT_NAME_MAX   256
#define EID_DIGITS      32

struct cert_trust {
    X509_STORE *store;
    int count; /* anchors added */
};

/* ---- loading and saving ---- */

static bool looks_pem(const buf_t *b) {
    static const char tag[] = "-----BEGIN";
    for (size_t i = 0; i + sizeof(tag) - 1 <= b->len; i++) {
        if (b->data[i] == ' ' || b->data[i] == '\t' || b->data[i] == '\r' || b->data[i] == '\n')
            continue;
        return memcmp(b->data + i, tag, sizeof(tag) - 1) == 0;
    }
    return false;
}

st_t cert_from_der(const uint8_t *der, size_t len, X509 **out) {
    const unsigned char *p = der;
    X509 *x;

    if (der == NULL || out == NULL || len == 0 || len > CERT_FILE_MAX)
        return ST_E_INVAL;
    *out = NULL;
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL) {
        st_from_openssl("d2i_X509");
        return ST_E_PARSE;
    }
    if (p != der + len) {
        X509_free(x);
        return ST_E_TRAILING;
    }
    *out = x;
    return ST_OK;
}

st_t cert_load_all(const char *path, STACK_OF(X509) * *out) {
    st_t st;
    buf_t b = BUF_INIT;
    BIO *bio = NULL;
    STACK_OF(X509) *sk = NULL;
    X509 *x = NULL;

    if (path == NULL || out == NULL)
        return ST_E_INVAL;
    *out = NULL;
    st = buf_read_file(&b, path, CERT_BUNDLE_MAX);
    if (st != ST_OK) {
        st_log(ST_LOG_WARN, "cert: cannot read %s: %s", path, st_str(st));
        goto out;
    }
    sk = sk_X509_new_null();
    if (sk == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    if (!looks_pem(&b)) {
        st = cert_from_der(b.data, b.len, &x);
        if (st != ST_OK) {
            st_log(ST_LOG_WARN, "cert: %s is not a certificate (PEM or DER): %s", path, st_str(st));
            goto out;
        }
        if (!sk_X509_push(sk, x)) {
            st = ST_E_NOMEM;
            goto out;
        }
        x = NULL;
    } else {
        bio = BIO_new_mem_buf(b.data, (int)b.len);
        if (bio == NULL) {
            st = st_from_openssl("BIO_new_mem_buf");
            goto out;
        }
        for (;;) {
            x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
            if (x == NULL) {
                unsigned long e = ERR_peek_last_error();
                if (sk_X509_num(sk) > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM
                    && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                    ERR_clear_error();
                    break;
                }
                st_from_openssl("PEM_read_bio_X509");
                st_log(ST_LOG_WARN, "cert: %s: malformed PEM certificate", path);
                st = ST_E_PARSE;
                goto out;
            }
            if (!sk_X509_push(sk, x)) {
                st = ST_E_NOMEM;
                goto out;
            }
            x = NULL;
        }
    }
    *out = sk;
    sk = NULL;
    st = ST_OK;
out:
    X509_free(x);
    sk_X509_pop_free(sk, X509_free);
    BIO_free(bio);
    buf_free(&b);
    return st;
}

st_t cert_load(const char *path, X509 **out) {
    STACK_OF(X509) *sk = NULL;
    st_t st;

    if (out == NULL)
        return ST_E_INVAL;
    *out = NULL;
    st = cert_load_all(path, &sk);
    if (st != ST_OK)
        return st;
    if (sk_X509_num(sk) != 1) {
        st_log(ST_LOG_WARN, "cert: %s holds %d certificates, expected one", path, sk_X509_num(sk));
        sk_X509_pop_free(sk, X509_free);
        return ST_E_PARSE;
    }
    *out = sk_X509_shift(sk);
    sk_X509_free(sk);
    return ST_OK;
}

st_t cert_to_der(X509 *cert, buf_t *out) {
    int n;
    uint8_t *p;

    if (cert == NULL || out == NULL)
        return ST_E_INVAL;
    n = i2d_X509(cert, NULL);
    if (n <= 0)
        return st_from_openssl("i2d_X509");
    p = buf_extend(out, (size_t)n);
    if (p == NULL)
        return ST_E_NOMEM;
    if (i2d_X509(cert, &p) != n) {
        out->len -= (size_t)n;
        return st_from_openssl("i2d_X509");
    }
    return ST_OK;
}

st_t cert_save_pem(const char *path, X509 *cert) {
    st_t st;
    BIO *bio = NULL;
    char *p = NULL;
    long n;

    if (path == NULL || cert == NULL)
        return ST_E_INVAL;
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || !PEM_write_bio_X509(bio, cert)) {
        st = st_from_openssl("PEM_write_bio_X509");
        goto out;
    }
    n = BIO_get_mem_data(bio, &p);
    if (n <= 0) {
        st = ST_E_INTERNAL;
        goto out;
    }
    st = buf_write_file_atomic(path, p, (size_t)n, 0644);
    if (st != ST_OK)
        st_log(ST_LOG_WARN, "cert: cannot write %s: %s", path, st_str(st));
out:
    BIO_free(bio);
    return st;
}

/* ---- attributes and extensions ---- */

st_t cert_name_get(X509_NAME *name, int nid, char *out, size_t outlen) {
    int i, n;
    unsigned char *u = NULL;
    st_t st = ST_OK;

    if (name == NULL || out == NULL || outlen == 0)
        return ST_E_INVAL;
    out[0] = '\0';
    i = X509_NAME_get_index_by_NID(name, nid, -1);
    if (i < 0)
        return ST_E_NOENT;
    if (X509_NAME_get_index_by_NID(name, nid, i) >= 0)
        return ST_E_PARSE; /* ambiguous: two values of the attribute */
    n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n < 0) {
        st_from_openssl("ASN1_STRING_to_UTF8");
        return ST_E_PARSE;
    }
    if (memchr(u, 0, (size_t)n) != NULL)
        st = ST_E_PARSE;
    else if ((size_t)n >= outlen)
        st = ST_E_TOO_LARGE;
    else {
        memcpy(out, u, (size_t)n);
        out[n] = '\0';
    }
    OPENSSL_free(u);
    return st;
}

static bool all_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static void subject_text(X509 *x, char *out, size_t len) {
    if (x == NULL || X509_NAME_oneline(X509_get_subject_name(x), out, (int)len) == NULL)
        snprintf(out, len, "?");
}

st_t cert_get_eid(X509 *cert, uint8_t eid[16]) {
    char sn[CERT_NAME_MAX];
    st_t st;

    if (cert == NULL || eid == NULL)
        return ST_E_INVAL;
    st = cert_name_get(X509_get_subject_name(cert), NID_serialNumber, sn, sizeof(sn));
    if (st != ST_OK)
        return st == ST_E_NOENT ? ST_E_NOENT : ST_E_PARSE;
    return eid_from_str(sn, eid);
}

st_t cert_get_rid(X509 *cert, char *oid_text, size_t text_len, buf_t *oid_der_value) {
    GENERAL_NAMES *gens = NULL;
    st_t st = ST_E_NOENT;
    int crit = -1;

    if (cert == NULL)
        return ST_E_INVAL;
    gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (gens == NULL)
        return crit == -1 ? ST_E_NOENT : ST_E_PARSE;
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
        const ASN1_OBJECT *o;
        if (gn->type != GEN_RID)
            continue;
        o = gn->d.registeredID;
        if (oid_text != NULL) {
            int n = OBJ_obj2txt(oid_text, (int)text_len, o, 1);
            if (n <= 0 || (size_t)n >= text_len) {
                st = n <= 0 ? ST_E_PARSE : ST_E_TOO_LARGE;
                break;
            }
        }
        st = ST_OK;
        if (oid_der_value != NULL)
            st = buf_append(oid_der_value, OBJ_get0_data(o), OBJ_length(o));
        break;
    }
    GENERAL_NAMES_free(gens);
    return st;
}

bool cert_has_policy(X509 *cert, const char *oid) {
    CERTIFICATEPOLICIES *cp = NULL;
    ASN1_OBJECT *want = NULL;
    bool found = false;

    if (cert == NULL || oid == NULL)
        return false;
    want = OBJ_txt2obj(oid, 1);
    cp = X509_get_ext_d2i(cert, NID_certificate_policies, NULL, NULL);
    if (want != NULL && cp != NULL) {
        for (int i = 0; i < sk_POLICYINFO_num(cp) && !found; i++)
            found = OBJ_cmp(sk_POLICYINFO_value(cp, i)->policyid, want) == 0;
    }
    ERR_clear_error(); /* a missing/odd extension is just "no" */
    CERTIFICATEPOLICIES_free(cp);
    ASN1_OBJECT_free(want);
    return found;
}

st_t cert_get_ski(X509 *cert, buf_t *out) {
    const ASN1_OCTET_STRING *ski;

    if (cert == NULL || out == NULL)
        return ST_E_INVAL;
    ski = X509_get0_subject_key_id(cert);
    if (ski == NULL)
        return ST_E_NOENT;
    return buf_append(out, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski));
}

/* ---- EID (SGP.29 §10) ---- */

static unsigned eid_digit(const uint8_t eid[16], size_t i) {
    return (i % 2 == 0) ? (unsigned)(eid[i / 2] >> 4) : (unsigned)(eid[i / 2] & 0x0F);
}

static void eid_set_digit(uint8_t eid[16], size_t i, unsigned d) {
    if (i % 2 == 0)
        eid[i / 2] = (uint8_t)((eid[i / 2] & 0x0F) | (d << 4));
    else
        eid[i / 2] = (uint8_t)((eid[i / 2] & 0xF0) | (d & 0x0F));
}

bool eid_valid(const uint8_t eid[16]) {
    unsigned r = 0;

    if (eid == NULL)
        return false;
    for (size_t i = 0; i < EID_DIGITS; i++) {
        unsigned d = eid_digit(eid, i);
        if (d > 9)
            return false;
        r = (r * 10 + d) % 97;
    }
    return r == 1;
}

void eid_to_str(const uint8_t eid[16], char out[33]) {
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < EID_DIGITS; i++)
        out[i] = hx[eid_digit(eid, i)];
    out[EID_DIGITS] = '\0';
}

st_t eid_from_str(const char *s, uint8_t eid[16]) {
    if (s == NULL || eid == NULL)
        return ST_E_INVAL;
    if (strlen(s) != EID_DIGITS || !all_digits(s, EID_DIGITS))
        return ST_E_PARSE;
    for (size_t i = 0; i < EID_DIGITS; i++)
        eid_set_digit(eid, i, (unsigned)(s[i] - '0'));
    return ST_OK;
}

st_t eid_set_check_digits(uint8_t eid[16]) {
    unsigned r = 0, cd;

    if (eid == NULL)
        return ST_E_INVAL;
    for (size_t i = 0; i < EID_DIGITS - 2; i++) {
        unsigned d = eid_digit(eid, i);
        if (d > 9)
            return ST_E_PARSE;
        r = (r * 10 + d) % 97;
    }
    cd = 98 - (r * 100) % 97;
    eid_set_digit(eid, EID_DIGITS - 2, cd / 10);
    eid_set_digit(eid, EID_DIGITS - 1, cd % 10);
    return ST_OK;
}

st_t eid_compose(const char *prefix, uint64_t serial, uint8_t eid[16]) {
    size_t plen;

    if (prefix == NULL || eid == NULL)
        return ST_E_INVAL;
    plen = strlen(prefix);
    if (plen > EID_DIGITS - 2 || !all_digits(prefix, plen))
        return ST_E_PARSE;
    memset(eid, 0, 16);
    for (size_t i = 0; i < plen; i++)
        eid_set_digit(eid, i, (unsigned)(prefix[i] - '0'));
    for (size_t i = EID_DIGITS - 2; i > plen; i--) {
        eid_set_digit(eid, i - 1, (unsigned)(serial % 10));
        serial /= 10;
    }
    if (serial != 0)
        return ST_E_TOO_LARGE;
    return eid_set_check_digits(eid);
}

/* ---- the GSMA EUM rule ---- */

static bool is_eum_role(X509 *x) {
    return cert_has_policy(x, CERT_POLICY_EUM) || cert_has_policy(x, CERT_POLICY_EUM_V3);
}

static int ext_index_by_oid(X509 *x, const char *oid) {
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    int i = o != NULL ? X509_get_ext_by_OBJ(x, o, -1) : -1;
    ASN1_OBJECT_free(o);
    return i;
}

/* The n-th PrintableString of PermittedEins (SEQUENCE OF PrintableString). */
static st_t ein_ext_prefix(X509 *eum, size_t n, char prefix[33]) {
    int idx = ext_index_by_oid(eum, CERT_EXT_PERMITTED_EINS);
    const ASN1_OCTET_STRING *v;
    tlv_t seq, s;
    tlv_iter_t it;
    st_t st;
    size_t k = 0;

    if (idx < 0)
        return ST_E_NOENT;
    v = X509_EXTENSION_get_data(X509_get_ext(eum, idx));
    st = tlv_parse_exact(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), &seq);
    if (st != ST_OK || seq.tag != 0x30)
        return ST_E_PARSE;
    tlv_iter_children(&it, &seq);
    while ((st = tlv_iter_next(&it, &s)) == ST_OK) {
        if (s.tag != 0x13 && s.tag != 0x0C) /* PrintableString (UTF8String tolerated) */
            return ST_E_PARSE;
        if (k++ != n)
            continue;
        if (s.len == 0 || s.len > EID_DIGITS || !all_digits((const char *)s.value, s.len))
            return ST_E_PARSE;
        memcpy(prefix, s.value, s.len);
        prefix[s.len] = '\0';
        return ST_OK;
    }
    return st == ST_E_NOENT ? ST_E_NOENT : ST_E_PARSE;
}

st_t cert_eum_permitted_ein(X509 *eum, size_t n, char prefix[33], char *o_out, size_t o_len) {
    NAME_CONSTRAINTS *nc = NULL;
    int crit = -1;
    size_t k = 0;
    st_t st = ST_E_NOENT;
    char sn[CERT_NAME_MAX];

    if (eum == NULL || prefix == NULL)
        return ST_E_INVAL;
    if (o_out != NULL && o_len > 0)
        o_out[0] = '\0';
    nc = X509_get_ext_d2i(eum, NID_name_constraints, &crit, NULL);
    if (nc == NULL && crit != -1)
        return ST_E_PARSE;
    for (int i = 0; nc != NULL && i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); i++) {
        GENERAL_SUBTREE *t = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i);
        X509_NAME *dn;
        if (t->base->type != GEN_DIRNAME)
            continue;
        dn = t->base->d.directoryName;
        if (cert_name_get(dn, NID_serialNumber, sn, sizeof(sn)) != ST_OK)
            continue;
        if (k++ != n)
            continue;
        if (strlen(sn) == 0 || strlen(sn) > EID_DIGITS || !all_digits(sn, strlen(sn))) {
            st = ST_E_PARSE;
            goto out;
        }
        memcpy(prefix, sn, strlen(sn) + 1);
        if (o_out != NULL) {
            st = cert_name_get(dn, NID_organizationName, o_out, o_len);
            if (st == ST_E_NOENT)
                st = ST_OK;
            if (st != ST_OK)
                goto out;
        }
        st = ST_OK;
        goto out;
    }
    st = ein_ext_prefix(eum, n - k, prefix);
out:
    NAME_CONSTRAINTS_free(nc);
    return st;
}

st_t cert_check_eum_permits(X509 *eum, X509 *euicc) {
    char eid[CERT_NAME_MAX], o[CERT_NAME_MAX], prefix[33], po[CERT_NAME_MAX];
    char subj[CERT_NAME_MAX];
    bool have_o;
    size_t n;
    st_t st;

    if (eum == NULL || euicc == NULL)
        return ST_E_INVAL;
    subject_text(euicc, subj, sizeof(subj));
    st = cert_name_get(X509_get_subject_name(euicc), NID_serialNumber, eid, sizeof(eid));
    if (st != ST_OK || strlen(eid) != EID_DIGITS || !all_digits(eid, EID_DIGITS)) {
        st_log(ST_LOG_WARN, "cert: %s: no single 32-digit EID in the subject serialNumber", subj);
        return ST_E_CERT;
    }
    have_o =
        cert_name_get(X509_get_subject_name(euicc), NID_organizationName, o, sizeof(o)) == ST_OK;
    for (n = 0;; n++) {
        st = cert_eum_permitted_ein(eum, n, prefix, po, sizeof(po));
        if (st == ST_E_NOENT)
            break;
        if (st != ST_OK) {
            st_log(ST_LOG_WARN, "cert: EUM permitted EINs are malformed: %s", st_str(st));
            return ST_E_CERT;
        }
        if (strncmp(eid, prefix, strlen(prefix)) != 0)
            continue;
        if (po[0] != '\0' && (!have_o || strcmp(po, o) != 0))
            continue;
        return ST_OK;
    }
    if (n == 0) {
        st_log(ST_LOG_WARN, "cert: the EUM certificate permits no EIN prefix (no nameConstraints "
                            "DirName serialNumber, no PermittedEins)");
        return ST_E_CERT;
    }
    st_log(ST_LOG_WARN, "cert: EID %s (O=%s) is outside the EUM's permitted EIN prefixes", eid,
           have_o ? o : "-");
    return ST_E_CERT;
}

/* ---- trust set ---- */

cert_trust_t *cert_trust_new(void) {
    cert_trust_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->store = X509_STORE_new();
    if (t->store == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

void cert_trust_free(cert_trust_t *t) {
    if (t == NULL)
        return;
    X509_STORE_free(t->store);
    free(t);
}

st_t cert_trust_add(cert_trust_t *t, X509 *ci) {
    if (t == NULL || ci == NULL)
        return ST_E_INVAL;
    if (!X509_STORE_add_cert(t->store, ci))
        return st_from_openssl("X509_STORE_add_cert");
    t->count++;
    return ST_OK;
}

st_t cert_trust_add_file(cert_trust_t *t, const char *path) {
    STACK_OF(X509) *sk = NULL;
    st_t st;

    if (t == NULL || path == NULL)
        return ST_E_INVAL;
    st = cert_load_all(path, &sk);
    for (int i = 0; st == ST_OK && i < sk_X509_num(sk); i++)
        st = cert_trust_add(t, sk_X509_value(sk, i));
    sk_X509_pop_free(sk, X509_free);
    return st;
}

void cert_trust_set_time(cert_trust_t *t, time_t when) {
    X509_VERIFY_PARAM *p;

    if (t == NULL)
        return;
    p = X509_STORE_get0_param(t->store);
    if (when == 0)
        X509_VERIFY_PARAM_clear_flags(p, X509_V_FLAG_USE_CHECK_TIME);
    else
        X509_VERIFY_PARAM_set_time(p, when);
}

X509_STORE *cert_trust_store(cert_trust_t *t) {
    return t != NULL ? t->store : NULL;
}

/* ---- chain verification ---- */

/* True when every certificate above `depth` that carries nameConstraints is an EUM. */
static bool nc_only_from_eum(STACK_OF(X509) * chain, int depth) {
    int n = 0;
    for (int j = depth + 1; j < sk_X509_num(chain); j++) {
        X509 *ca = sk_X509_value(chain, j);
        if (X509_get_ext_by_NID(ca, NID_name_constraints, -1) < 0)
            continue;
        if (!is_eum_role(ca))
            return false;
        n++;
    }
    return n > 0;
}

/* True when the only critical extension OpenSSL does not handle is PermittedEins, on an EUM. */
static bool only_ein_unhandled(X509 *x) {
    ASN1_OBJECT *ein = OBJ_txt2obj(CERT_EXT_PERMITTED_EINS, 1);
    bool ok = ein != NULL && is_eum_role(x);

    for (int i = 0; ok && i < X509_get_ext_count(x); i++) {
        X509_EXTENSION *ex = X509_get_ext(x, i);
        if (!X509_EXTENSION_get_critical(ex) || X509_supported_extension(ex))
            continue;
        ok = OBJ_cmp(X509_EXTENSION_get_object(ex), ein) == 0;
    }
    ASN1_OBJECT_free(ein);
    return ok;
}

static int gsma_verify_cb(int ok, X509_STORE_CTX *ctx) {
    int err;

    if (ok)
        return 1;
    err = X509_STORE_CTX_get_error(ctx);
    if (err == X509_V_ERR_PERMITTED_VIOLATION
        && nc_only_from_eum(X509_STORE_CTX_get0_chain(ctx), X509_STORE_CTX_get_error_depth(ctx)))
        return 1; /* replaced by the EID prefix rule after verification */
    if (err == X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION
        && only_ein_unhandled(X509_STORE_CTX_get_current_cert(ctx)))
        return 1;
    return 0;
}

/*
 * OpenSSL chain building and verification plus the EUM rule for every certificate issued by an
 * EUM in the chain. *chain_out (may be NULL) receives leaf..anchor (caller frees with
 * sk_X509_pop_free).
 */
static st_t chain_verify(cert_trust_t *t, X509 *leaf, STACK_OF(X509) * untrusted,
                         STACK_OF(X509) * *chain_out) {
    X509_STORE_CTX *ctx = NULL;
    STACK_OF(X509) *chain = NULL;
    char subj[CERT_NAME_MAX];
    st_t st;

    if (chain_out != NULL)
        *chain_out = NULL;
    if (t == NULL || leaf == NULL)
        return ST_E_INVAL;
    if (t->count == 0) {
        st_log(ST_LOG_WARN, "cert: no trust anchor configured");
        return ST_E_CERT;
    }
    ctx = X509_STORE_CTX_new();
    if (ctx == NULL || !X509_STORE_CTX_init(ctx, t->store, leaf, untrusted)) {
        st = st_from_openssl("X509_STORE_CTX_init");
        goto out;
    }
    X509_STORE_CTX_set_verify_cb(ctx, gsma_verify_cb);
    if (X509_verify_cert(ctx) != 1) {
        int err = X509_STORE_CTX_get_error(ctx);
        subject_text(X509_STORE_CTX_get_current_cert(ctx), subj, sizeof(subj));
        st_from_openssl("X509_verify_cert");
        st_log(ST_LOG_WARN, "cert: chain does not verify: %s (depth %d, %s)",
               X509_verify_cert_error_string(err), X509_STORE_CTX_get_error_depth(ctx), subj);
        st = ST_E_CERT;
        goto out;
    }
    chain = X509_STORE_CTX_get1_chain(ctx);
    if (chain == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    for (int i = 1; i < sk_X509_num(chain); i++) {
        if (!is_eum_role(sk_X509_value(chain, i)))
            continue;
        st = cert_check_eum_permits(sk_X509_value(chain, i), sk_X509_value(chain, i - 1));
        if (st != ST_OK)
            goto out;
    }
    if (chain_out != NULL) {
        *chain_out = chain;
        chain = NULL;
    }
    st = ST_OK;
out:
    sk_X509_pop_free(chain, X509_free);
    X509_STORE_CTX_free(ctx);
    return st;
}

static bool has_ku(X509 *x, uint32_t bits) {
    return (X509_get_extension_flags(x) & EXFLAG_KUSAGE) && (X509_get_key_usage(x) & bits) == bits;
}

static st_t reject(X509 *x, const char *why) {
    char subj[CERT_NAME_MAX];
    subject_text(x, subj, sizeof(subj));
    st_log(ST_LOG_WARN, "cert: %s: %s", subj, why);
    return ST_E_CERT;
}

/* GSMA chains: anchor with the CI role, every key on the leaf's curve (SGP.22 §4.5.2). */
static st_t check_gsma_chain(STACK_OF(X509) * chain) {
    X509 *anchor = sk_X509_value(chain, sk_X509_num(chain) - 1);
    ec_curve_t c0 = EC_CURVE_NONE, c;

    if (!cert_has_policy(anchor, CERT_POLICY_CI))
        return reject(anchor, "trust anchor is not a GSMA CI (policy 2.23.146.1.2.1.0)");
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        if (ec_key_curve(X509_get0_pubkey(x), &c) != ST_OK)
            return reject(x, "key is not on P-256 or brainpoolP256r1");
        if (i == 0)
            c0 = c;
        else if (c != c0)
            return reject(x, "certificate chain mixes curves");
    }
    return ST_OK;
}

static bool is_gsma_role(const char *role) {
    return strncmp(role, "2.23.146.1.2.1.", 15) == 0;
}

static bool is_end_entity_role(const char *role) {
    return !strcmp(role, CERT_POLICY_EUICC) || !strcmp(role, CERT_POLICY_DP_TLS)
           || !strcmp(role, CERT_POLICY_DP_AUTH) || !strcmp(role, CERT_POLICY_DP_PB)
           || !strcmp(role, CERT_POLICY_IFPP_DM);
}

static bool is_dp_role(const char *role) {
    return !strcmp(role, CERT_POLICY_DP_TLS) || !strcmp(role, CERT_POLICY_DP_AUTH)
           || !strcmp(role, CERT_POLICY_DP_PB);
}

static st_t check_eum_cert(X509 *eum) {
    if (!is_eum_role(eum))
        return reject(eum, "EUM certificate without the EUM role policy");
    if (X509_check_ca(eum) != 1)
        return reject(eum, "EUM certificate is not a CA (basicConstraints)");
    if (!has_ku(eum, KU_KEY_CERT_SIGN))
        return reject(eum, "EUM certificate lacks keyUsage keyCertSign");
    return ST_OK;
}

static st_t check_end_entity(X509 *x) {
    if (!has_ku(x, KU_DIGITAL_SIGNATURE))
        return reject(x, "keyUsage digitalSignature missing");
    if (X509_check_ca(x) == 1)
        return reject(x, "end-entity certificate is a CA");
    return ST_OK;
}

static st_t check_eid(X509 *euicc, uint8_t eid_out[16]) {
    uint8_t eid[16];

    if (cert_get_eid(euicc, eid) != ST_OK)
        return reject(euicc, "no 32-digit EID in the subject serialNumber");
    if (!eid_valid(eid))
        return reject(euicc, "EID check digits are wrong (SGP.29)");
    if (eid_out != NULL)
        memcpy(eid_out, eid, 16);
    return ST_OK;
}

st_t cert_verify_euicc_chain(cert_trust_t *t, X509 *eum, X509 *euicc, uint8_t eid_out[16]) {
    STACK_OF(X509) *untrusted = NULL, *chain = NULL;
    st_t st;

    if (t == NULL || eum == NULL || euicc == NULL)
        return ST_E_INVAL;
    untrusted = sk_X509_new_null();
    if (untrusted == NULL || !sk_X509_push(untrusted, eum)) {
        st = ST_E_NOMEM;
        goto out;
    }
    st = chain_verify(t, euicc, untrusted, &chain);
    if (st != ST_OK)
        goto out;
    if (sk_X509_num(chain) != 3 || X509_cmp(sk_X509_value(chain, 1), eum) != 0) {
        st = reject(euicc, "chain is not eUICC -> given EUM -> CI");
        goto out;
    }
    if ((st = check_gsma_chain(chain)) != ST_OK || (st = check_eum_cert(eum)) != ST_OK)
        goto out;
    if (!cert_has_policy(euicc, CERT_POLICY_EUICC)) {
        st = reject(euicc, "eUICC certificate without the eUICC role policy");
        goto out;
    }
    if ((st = check_end_entity(euicc)) != ST_OK)
        goto out;
    /* The EUM rule itself ran in chain_verify (chain[1] is an EUM). */
    st = check_eid(euicc, eid_out);
out:
    sk_X509_pop_free(chain, X509_free);
    sk_X509_free(untrusted); /* borrowed entries */
    return st;
}

st_t cert_verify_chain(cert_trust_t *t, X509 *leaf, STACK_OF(X509) * untrusted,
                       const char *role_policy) {
    STACK_OF(X509) *chain = NULL;
    st_t st;

    if (t == NULL || leaf == NULL)
        return ST_E_INVAL;
    st = chain_verify(t, leaf, untrusted, &chain);
    if (st != ST_OK || role_policy == NULL)
        goto out;
    if (!cert_has_policy(leaf, role_policy)) {
        char why[96];
        snprintf(why, sizeof(why), "certificate lacks the role policy %s", role_policy);
        st = reject(leaf, why);
        goto out;
    }
    if (is_gsma_role(role_policy) && (st = check_gsma_chain(chain)) != ST_OK)
        goto out;
    if (is_end_entity_role(role_policy) && (st = check_end_entity(leaf)) != ST_OK)
        goto out;
    if (!strcmp(role_policy, CERT_POLICY_EUM) && (st = check_eum_cert(leaf)) != ST_OK)
        goto out;
    if (is_dp_role(role_policy) && cert_get_rid(leaf, NULL, 0, NULL) != ST_OK) {
        st = reject(leaf, "SM-DP certificate without a subjectAltName registeredID");
        goto out;
    }
    if (!strcmp(role_policy, CERT_POLICY_EUICC))
        st = check_eid(leaf, NULL);
out:
    sk_X509_pop_free(chain, X509_free);
    return st;
}
