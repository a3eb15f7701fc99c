/*
 * import_bundle.c - .ifppb + .ifppb.p7s (ESBPP01, DESIGN §5/§8) into the store, in ONE pass.
 *
 * How one pass does everything: cms_verify_detached() reads its content from a BIO of ours
 * (tee_bio). Each read of it that finds the queue empty advances the streaming bundle reader by
 * one entry; the reader's tee puts every byte it consumed into the queue, and the entry is
 * pre-flighted and added to the open transaction before its bytes are handed to CMS. So CMS
 * digests exactly the bytes that were parsed, once, in file order, and memory stays bounded by
 * one entry (<= IFPP_MAX_ENTRY_LEN) plus SQLite's page cache, whatever the file size. A refusal
 * inside the pass makes the BIO read fail (-1), which ends CMS_verify; the refusal recorded in
 * the report is the one shown. The transaction commits only after cms_verify_detached() said
 * the signature (signed attributes and content digest) verifies.
 *
 * Steps and the order of the checks (the first failing one is reported):
 *   1. .p7s: DER CMS SignedData, detached, one signer with its certificate, SHA-256 digest;
 *      signer chains to a configured CI; it is an SM-DPf certificate (dp-auth or dp-pb) whose
 *      registeredID is an allowed SM-DPf.  Its signed messageDigest is the file's SHA-256 once
 *      the pass has verified it: that is the store's idempotency key (store_bundle_insert).
 *   2. header (reader open): structure; smdpfOid == the signer's OID; CERT.DPpb (first header
 *      certificate, the others as intermediates) verifies with role dp-pb and carries that OID.
 *   3. bundleId known: same messageDigest -> a verify-only pass, then "unchanged"; another
 *      digest -> refused (conflict), nothing read further.
 *   4. the pass: per entry structure (reader), pre-flight (preflight()), store_bpp_add().
 *      The smdpSign ECDSA runs on a second thread (import_verify.c) behind the pass; its
 *      verdict is collected before the end of the file is handed to CMS (settle()), and the
 *      lowest failing entry is the one reported.
 *   5. after the pass: the signature verified, the signer is the one checked in 1; audit row;
 *      commit.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/log.h"
#include "crypto/cert.h"
#include "crypto/cms.h"
#include "crypto/ec.h"
#include "fmt/bpp.h"
#include "fmt/ifpp.h"
#include "import_int.h"
#include "tlv/tlv.h"

#define P7S_MAX                (1u << 20)   /* a detached signature with its chain */
#define STDIO_BUF              (256u << 10) /* read-ahead of the bundle file */
#define PROGRESS_EVERY_ENTRIES 64u

typedef struct {
    const import_opts_t *o;
    import_file_t *f;
    ifpp_bundle_reader_t *r;
    uint64_t size;  /* file size (progress) */
    uint64_t count; /* entries announced */
    buf_t q;        /* bytes the reader consumed that CMS has not read yet */
    size_t q_off;
    bool eof;             /* the reader reached the clean end */
    bool failed;          /* a refusal inside the pass (f says why) */
    bool dry;             /* verify-only pass (bundle already imported) */
    int64_t bundle_rowid; /* the bundle row in the open transaction */
    EVP_PKEY *dppb;       /* PK.DPpb, borrowed from the header's CERT.DPpb */
    buf_t tbs;            /* smdpSign TBS, reused */
    imp_verifier_t *ver;  /* smdpSign checks on a second thread; NULL: inline */
} pass_t;

/* What step 1 learnt from the .p7s. */
typedef struct {
    X509 *signer; /* up-ref'd */
    uint8_t md[STORE_HASH_LEN];
    char oid[STORE_OID_MAX];
} p7s_info_t;

/* ---- the content BIO that drives the pass ---- */

static BIO_METHOD *tee_method;
static pthread_once_t tee_method_once = PTHREAD_ONCE_INIT;

static st_t pass_step(pass_t *c);

static int tee_bio_read(BIO *b, char *out, int outl) {
    pass_t *c = BIO_get_data(b);
    size_t n;

    BIO_clear_retry_flags(b);
    if (!c || outl <= 0)
        return 0;
    while (c->q_off == c->q.len) {
        if (c->failed)
            return -1;
        if (c->eof)
            return 0;
        if (pass_step(c) != ST_OK) {
            c->failed = true;
            return -1;
        }
    }
    n = c->q.len - c->q_off;
    if (n > (size_t)outl)
        n = (size_t)outl;
    memcpy(out, c->q.data + c->q_off, n);
    c->q_off += n;
    return (int)n;
}

static long tee_bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    pass_t *c = BIO_get_data(b);
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_EOF:
        return c && c->eof && c->q_off == c->q.len;
    case BIO_CTRL_PENDING:
        return c ? (long)(c->q.len - c->q_off) : 0;
    default:
        return 0;
    }
}

static int tee_bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static void tee_method_init(void) {
    int type = BIO_get_new_index();
    BIO_METHOD *m;

    if (type == -1)
        return;
    m = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK, "ifpp bundle pass");
    if (!m)
        return;
    if (!BIO_meth_set_read(m, tee_bio_read) || !BIO_meth_set_ctrl(m, tee_bio_ctrl)
        || !BIO_meth_set_create(m, tee_bio_create)) {
        BIO_meth_free(m);
        return;
    }
    tee_method = m; /* one per process, never freed */
}

/* The reader's tee: every byte it consumes, in file order, exactly once. */
static st_t tee_fn(const uint8_t *p, size_t n, void *ud) {
    pass_t *c = ud;

    if (c->q_off == c->q.len) { /* drained: start over at the front */
        buf_reset(&c->q);
        c->q_off = 0;
    }
    c->f->bytes += n;
    return buf_append(&c->q, p, n);
}

/* ---- messages ---- */

static void hex_short(const uint8_t *p, size_t n, char *out, size_t outlen) {
    char h[2 * IFPP_MAX_TID_LEN + 1];
    if (n > IFPP_MAX_TID_LEN)
        n = IFPP_MAX_TID_LEN;
    hex_encode(p, n, h);
    snprintf(out, outlen, "%s", h);
}

/* A reader error as "field F at byte N: reason" (the entry index goes to f->entry). */
static st_t refuse_reader(pass_t *c, const ifpp_err_t *err, st_t st) {
    const uint8_t *eid = NULL;
    const char *what;
    size_t entry = IMPORT_NO_ENTRY;

    if (err && err->st != ST_OK) {
        st = err->st;
        entry = err->entry != IFPP_ERR_NONE ? err->entry : IMPORT_NO_ENTRY;
    }
    /* The queue holds what the reader consumed of this entry (it was drained before the
     * step): name its EID when the entry got that far (30 L 80 10 EID ...). */
    if (entry != IMPORT_NO_ENTRY && c->q.len > c->q_off) {
        const uint8_t *p = c->q.data + c->q_off;
        size_t n = c->q.len - c->q_off, len, hl;
        uint32_t tag;
        if (tlv_parse_header(p, n, &tag, &len, &hl) == ST_OK && tag == 0x30
            && n >= hl + 2 + IFPP_EID_LEN && p[hl] == 0x80 && p[hl + 1] == IFPP_EID_LEN)
            eid = p + hl + 2;
    }
    switch (st) {
    case ST_E_TRUNCATED:
        what = "truncated: a length runs past its parent or the end of the file";
        break;
    case ST_E_TRAILING:
        what = "trailing bytes after the end of the structure";
        break;
    case ST_E_TOO_LARGE:
        what = "too large";
        break;
    case ST_E_IO:
        what = "read error";
        break;
    default:
        what = st_str(st);
        break;
    }
    if (err && err->field)
        return imp_refuse(c->f, st, entry, eid, "%s (field %s at byte %" PRIu64 ")", what,
                          err->field, err->offset);
    return imp_refuse(c->f, st, entry, eid, "%s (at byte %" PRIu64 ")", what,
                      err ? err->offset : 0);
}

/* ---- pre-flight and store, per entry ---- */

static st_t refuse_misbound(pass_t *c, st_t st, size_t i, const uint8_t *eid, uint32_t key) {
    return imp_refuse(c->f, st, i, eid,
                      "smdpSign does not verify with CERT.DPpb over one-time key %" PRIu32
                      " of this eUICC (mis-bound BPP)",
                      key);
}

/*
 * DESIGN §8 pre-flight of entry i. ST_OK: store it. Otherwise f holds the refusal.
 * *held: the eUICC is unknown and the policy is hold.
 */
static st_t preflight(pass_t *c, const ifpp_bundle_entry_t *e, size_t i, bool *held) {
    bpp_view_t v;
    store_otk_t key;
    store_euicc_t *eu = NULL;
    char a[40], b[40];
    st_t st;

    *held = false;
    if ((st = bpp_parse(e->bpp, e->bpp_len, &v)) != ST_OK)
        return imp_refuse(c->f, st, i, e->eid, "BPP structure (SGP.22 BF36): %s", st_str(st));
    if (!bpp_check_crt(&v))
        return imp_refuse(c->f, ST_E_PARSE, i, e->eid,
                          "BPP: remoteOpId or CRT not as SGP.22 requires (1, 88/10)");
    if (v.tid_len != e->tid_len || memcmp(v.tid, e->tid, e->tid_len) != 0) {
        hex_short(e->tid, e->tid_len, a, sizeof(a));
        hex_short(v.tid, v.tid_len, b, sizeof(b));
        return imp_refuse(c->f, ST_E_CONFLICT, i, e->eid,
                          "transactionId %s of the entry differs from the BPP's (BF23) %s", a, b);
    }

    st = store_otk_get(c->o->store, e->eid, e->key_index, &key);
    if (st == ST_E_NOENT) {
        st = store_euicc_get(c->o->store, e->eid, &eu);
        store_euicc_free(eu);
        if (st == ST_OK)
            return imp_refuse(c->f, ST_E_NOENT, i, e->eid,
                              "one-time key %" PRIu32 " is not in this eUICC's data", e->key_index);
        if (st != ST_E_NOENT)
            return imp_refuse(c->f, st, i, e->eid, "store: %s", st_str(st));
        if (c->o->unknown_eid == IMPORT_UNKNOWN_EID_HOLD) {
            *held = true; /* no key to check smdpSign against: the card will */
            return ST_OK;
        }
        return imp_refuse(c->f, ST_E_NOENT, i, e->eid,
                          "no eUICC data for this EID (policy unknown_eid = refuse)");
    }
    if (st != ST_OK)
        return imp_refuse(c->f, st, i, e->eid, "store: %s", st_str(st));
    /* a requested key (our ESBPP02 named it) is the normal case; unused is Path A */
    if (key.state != STORE_OTK_UNUSED && key.state != STORE_OTK_REQUESTED)
        return imp_refuse(c->f, ST_E_CONFLICT, i, e->eid, "one-time key %" PRIu32 " is %s%s",
                          e->key_index, store_otk_state_name(key.state),
                          key.state == STORE_OTK_BOUND ? " to another BPP" : "");

    /* SGP.22 §5.5.1 smdpSign over BF23 up to 5F37 || 5F49 otPK.EUICC of *this* key */
    buf_reset(&c->tbs);
    st = bpp_smdp_sign_tbs(&v, key.otpk, sizeof(key.otpk), &c->tbs);
    if (st != ST_OK)
        return imp_refuse(c->f, st, i, e->eid, "smdpSign TBS: %s", st_str(st));
    if (c->ver) { /* checked on the second thread; its verdict comes before the end of file */
        st = imp_verifier_submit(c->ver, i, e->eid, e->key_index, &c->tbs, v.smdp_sign.value,
                                 v.smdp_sign.len);
        if (st != ST_OK)
            return imp_refuse(c->f, st, i, e->eid, "smdpSign check: %s", st_str(st));
        return ST_OK;
    }
    st = ec_verify_raw(c->dppb, c->tbs.data, c->tbs.len, v.smdp_sign.value, v.smdp_sign.len);
    if (st != ST_OK)
        return refuse_misbound(c, st, i, e->eid, e->key_index);
    return ST_OK;
}

/*
 * Collects the verifier's verdict. st is the pass's own refusal (f says which entry) or ST_OK
 * (end of the file, or an early stop). The verifier runs behind the pass, so it may have found
 * an earlier entry mis-bound: the first failing entry is the one reported.
 */
static st_t settle(pass_t *c, st_t st) {
    size_t entry = IMPORT_NO_ENTRY;
    uint8_t eid[STORE_EID_LEN];
    uint32_t key = 0;
    st_t vst;

    if (!c->ver)
        return st;
    vst = imp_verifier_drain(c->ver, &entry, eid, &key);
    if (vst != ST_OK && (st == ST_OK || c->f->entry == IMPORT_NO_ENTRY || entry < c->f->entry))
        return refuse_misbound(c, vst, entry, eid, key);
    return st;
}

/* store_bpp_add said conflict: a transactionId used twice, or a key that has a live BPP. */
static st_t refuse_conflict(pass_t *c, const ifpp_bundle_entry_t *e, size_t i) {
    store_bpp_list_t l = {NULL, 0};
    bool key_taken = false;
    char t[40];

    if (store_bpp_pending(c->o->store, e->eid, true, &l) == ST_OK)
        for (size_t k = 0; k < l.n && !key_taken; k++)
            key_taken = l.v[k].key_index == e->key_index;
    store_bpp_list_free(&l);
    if (key_taken)
        return imp_refuse(c->f, ST_E_CONFLICT, i, e->eid,
                          "one-time key %" PRIu32 " already has a BPP", e->key_index);
    hex_short(e->tid, e->tid_len, t, sizeof(t));
    return imp_refuse(c->f, ST_E_CONFLICT, i, e->eid,
                      "duplicate transactionId %s (already used by this SM-DPf, in this "
                      "bundle or an imported one)",
                      t);
}

/* One entry of the pass: read (bytes go to the queue), check, add. */
static st_t pass_step(pass_t *c) {
    ifpp_bundle_entry_t e;
    store_bpp_new_t n;
    size_t i;
    bool held = false;
    st_t st;

    if (c->ver && imp_verifier_failed(c->ver)) /* stop early: the file is refused */
        return settle(c, ST_OK);
    st = ifpp_bundle_reader_next(c->r, &e);
    if (st == ST_E_NOENT) { /* every signature checked before CMS sees the end */
        if ((st = settle(c, ST_OK)) != ST_OK)
            return st;
        c->eof = true;
        return ST_OK;
    }
    if (st != ST_OK)
        return settle(c, refuse_reader(c, ifpp_bundle_reader_error(c->r), st));
    i = (size_t)(ifpp_bundle_reader_count(c->r) - 1);
    if (!c->dry) {
        if ((st = preflight(c, &e, i, &held)) != ST_OK)
            return settle(c, st);
        memset(&n, 0, sizeof(n));
        n.seq = (uint32_t)i;
        memcpy(n.eid, e.eid, STORE_EID_LEN);
        n.key_index = e.key_index;
        memcpy(n.tid, e.tid, e.tid_len);
        n.tid_len = e.tid_len;
        memcpy(n.iccid, e.iccid, STORE_ICCID_LEN);
        n.profile_type = e.profile_type[0] ? e.profile_type : NULL;
        n.bpp = e.bpp;
        n.bpp_len = e.bpp_len;
        st = store_bpp_add(c->o->store, c->bundle_rowid, &n, NULL);
        if (st == ST_E_CONFLICT)
            return settle(c, refuse_conflict(c, &e, i));
        if (st != ST_OK)
            return settle(c, imp_refuse(c->f, st, i, e.eid, "store: %s", st_str(st)));
        c->f->n_bpps++;
        if (held)
            c->f->n_held++;
    }
    if ((i + 1) % PROGRESS_EVERY_ENTRIES == 0)
        imp_progress(c->o, c->f, c->f->bytes, c->size, i + 1, c->count, false);
    return ST_OK;
}

/* ---- step 1: the .p7s ---- */

/* The SignedData's certificates, the signer among them, its digest and messageDigest. */
static st_t p7s_peek(const import_opts_t *o, const buf_t *sig, p7s_info_t *info, import_file_t *f) {
    const unsigned char *p = sig->data;
    CMS_ContentInfo *cms = NULL;
    STACK_OF(CMS_SignerInfo) * sis;
    CMS_SignerInfo *si;
    STACK_OF(X509) *certs = NULL;
    X509 *signer = NULL;
    X509_ALGOR *dig = NULL;
    const ASN1_OBJECT *dig_obj = NULL;
    ASN1_OCTET_STRING *md;
    const char *role;
    st_t st;

    cms = d2i_CMS_ContentInfo(NULL, &p, (long)sig->len);
    if (!cms || p != sig->data + sig->len || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
        st_from_openssl("d2i_CMS_ContentInfo");
        st = imp_refuse(f, ST_E_PARSE, IMPORT_NO_ENTRY, NULL,
                        "signature (.p7s) is not a DER CMS SignedData");
        goto out;
    }
    if (CMS_is_detached(cms) != 1) {
        st = imp_refuse(f, ST_E_PARSE, IMPORT_NO_ENTRY, NULL,
                        "signature (.p7s) carries content: a detached signature is expected");
        goto out;
    }
    sis = CMS_get0_SignerInfos(cms);
    if (!sis || sk_CMS_SignerInfo_num(sis) != 1) {
        st = imp_refuse(f, ST_E_PARSE, IMPORT_NO_ENTRY, NULL,
                        "signature (.p7s): exactly one signer expected");
        goto out;
    }
    si = sk_CMS_SignerInfo_value(sis, 0);
    certs = CMS_get1_certs(cms);
    for (int i = 0; certs && i < sk_X509_num(certs) && !signer; i++)
        if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0)
            signer = sk_X509_value(certs, i);
    if (!signer) {
        st = imp_refuse(f, ST_E_UNTRUSTED, IMPORT_NO_ENTRY, NULL,
                        "signature (.p7s): the signer's certificate is not in it");
        goto out;
    }
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
    if (dig)
        X509_ALGOR_get0(&dig_obj, NULL, NULL, dig);
    md = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3,
                                     V_ASN1_OCTET_STRING);
    if (!dig_obj || OBJ_obj2nid(dig_obj) != NID_sha256 || !md
        || ASN1_STRING_length(md) != STORE_HASH_LEN) {
        st = imp_refuse(f, ST_E_UNSUPPORTED, IMPORT_NO_ENTRY, NULL,
                        "signature (.p7s): SHA-256 with a signed messageDigest expected");
        goto out;
    }
    memcpy(info->md, ASN1_STRING_get0_data(md), STORE_HASH_LEN);

    /* who signed: trusted first, then which SM-DPf */
    if (cert_verify_chain(o->trust, signer, certs, NULL) != ST_OK) {
        st = imp_refuse(f, ST_E_UNTRUSTED, IMPORT_NO_ENTRY, NULL,
                        "bundle signer does not chain to a configured CI (not trusted)");
        goto out;
    }
    role = cert_has_policy(signer, CERT_POLICY_DP_AUTH) ? CERT_POLICY_DP_AUTH
           : cert_has_policy(signer, CERT_POLICY_DP_PB) ? CERT_POLICY_DP_PB
                                                        : NULL;
    if (!role || cert_verify_chain(o->trust, signer, certs, role) != ST_OK
        || cert_get_rid(signer, info->oid, sizeof(info->oid), NULL) != ST_OK) {
        st = imp_refuse(f, ST_E_NOT_ALLOWED, IMPORT_NO_ENTRY, NULL,
                        "bundle signer is not an SM-DPf certificate (role dp-auth or dp-pb "
                        "with an SM-DPf OID)");
        goto out;
    }
    snprintf(f->smdpf_oid, sizeof(f->smdpf_oid), "%s", info->oid);
    {
        bool allowed = false;
        for (size_t i = 0; i < o->n_allowed && !allowed; i++)
            allowed = o->allowed_smdpf[i] && strcmp(o->allowed_smdpf[i], info->oid) == 0;
        if (!allowed) {
            st = imp_refuse(f, ST_E_NOT_ALLOWED, IMPORT_NO_ENTRY, NULL,
                            "bundle signer's SM-DPf %s is not an allowed SM-DPf "
                            "([smdpf] allowed)",
                            info->oid);
            goto out;
        }
    }
    if (!X509_up_ref(signer)) {
        st = imp_refuse(f, st_from_openssl("X509_up_ref"), IMPORT_NO_ENTRY, NULL, "internal");
        goto out;
    }
    info->signer = signer;
    st = ST_OK;
out:
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(cms);
    return st;
}

/* ---- step 2: the header ---- */

static st_t check_header(pass_t *c, const ifpp_bundle_hdr_t *h, const p7s_info_t *info,
                         X509 **dppb_out, buf_t *chain) {
    char oid[STORE_OID_MAX], rid[STORE_OID_MAX];
    STACK_OF(X509) *rest = NULL;
    X509 *dppb = NULL;
    st_t st;

    *dppb_out = NULL;
    if (der_oid_to_str(h->smdpf_oid, h->smdpf_oid_len, oid, sizeof(oid)) != ST_OK)
        return imp_refuse(c->f, ST_E_PARSE, IMPORT_NO_ENTRY, NULL,
                          "header: smdpfOid is not a valid OID");
    if (strcmp(oid, info->oid) != 0)
        return imp_refuse(c->f, ST_E_NOT_ALLOWED, IMPORT_NO_ENTRY, NULL,
                          "header: smdpfOid %s is not the signer's SM-DPf %s", oid, info->oid);
    if (h->n_smdpf_certs == 0)
        return imp_refuse(c->f, ST_E_CERT, IMPORT_NO_ENTRY, NULL, "header: no CERT.DPpb");
    rest = sk_X509_new_null();
    if (!rest)
        return imp_refuse(c->f, ST_E_NOMEM, IMPORT_NO_ENTRY, NULL, "out of memory");
    for (size_t i = 0; i < h->n_smdpf_certs; i++) {
        X509 *x = NULL;
        if ((st = buf_append(chain, h->smdpf_certs[i].p, h->smdpf_certs[i].len)) != ST_OK
            || (st = cert_from_der(h->smdpf_certs[i].p, h->smdpf_certs[i].len, &x)) != ST_OK) {
            imp_refuse(c->f, st, IMPORT_NO_ENTRY, NULL,
                       "header: SM-DPf certificate %zu is not a certificate", i);
            goto out;
        }
        if (i == 0) {
            dppb = x;
        } else if (!sk_X509_push(rest, x)) {
            X509_free(x);
            st = imp_refuse(c->f, ST_E_NOMEM, IMPORT_NO_ENTRY, NULL, "out of memory");
            goto out;
        }
    }
    if ((st = cert_verify_chain(c->o->trust, dppb, rest, CERT_POLICY_DP_PB)) != ST_OK) {
        imp_refuse(c->f, st, IMPORT_NO_ENTRY, NULL,
                   "header: CERT.DPpb does not verify (CI chain, role dp-pb): %s", st_str(st));
        goto out;
    }
    if (cert_get_rid(dppb, rid, sizeof(rid), NULL) != ST_OK || strcmp(rid, oid) != 0) {
        st = imp_refuse(c->f, ST_E_CERT, IMPORT_NO_ENTRY, NULL,
                        "header: CERT.DPpb is not a certificate of SM-DPf %s", oid);
        goto out;
    }
    *dppb_out = dppb;
    dppb = NULL;
    st = ST_OK;
out:
    X509_free(dppb);
    sk_X509_pop_free(rest, X509_free);
    return st;
}

/* ---- the whole file ---- */

/* Runs the pass: CMS reads the tee BIO to the end. Refusals are recorded in f. */
static st_t run_pass(pass_t *c, const buf_t *sig, const p7s_info_t *info) {
    BIO *bio = NULL;
    X509 *signer = NULL;
    st_t st;

    pthread_once(&tee_method_once, tee_method_init);
    if (!tee_method || !(bio = BIO_new(tee_method)))
        return imp_refuse(c->f, ST_E_NOMEM, IMPORT_NO_ENTRY, NULL, "out of memory (BIO)");
    BIO_set_data(bio, c);
    if (!c->dry && imp_verifier_start(c->dppb, &c->ver) != ST_OK)
        c->ver = NULL; /* no thread: verify inline */
    st = cms_verify_detached(c->o->trust, sig->data, sig->len, bio, &signer);
    imp_verifier_stop(c->ver);
    c->ver = NULL;
    BIO_free(bio);
    if (c->failed) { /* the pass refused an entry or the framing */
        X509_free(signer);
        return c->f->st;
    }
    if (st == ST_OK && (!c->eof || !signer || X509_cmp(signer, info->signer) != 0))
        st = ST_E_INTERNAL; /* CMS stopped early, or another signer than step 1 saw */
    X509_free(signer);
    switch (st) {
    case ST_OK:
        return ST_OK;
    case ST_E_BAD_SIGNATURE:
        return imp_refuse(c->f, st, IMPORT_NO_ENTRY, NULL,
                          "signature (.p7s) does not verify over this bundle (wrong .p7s, or "
                          "the bundle was altered)");
    case ST_E_UNTRUSTED:
        return imp_refuse(c->f, st, IMPORT_NO_ENTRY, NULL,
                          "bundle signer does not chain to a configured CI (not trusted)");
    default:
        return imp_refuse(c->f, st, IMPORT_NO_ENTRY, NULL, "signature (.p7s): %s", st_str(st));
    }
}

st_t import_bundle_fd(const import_opts_t *o, int fd, int p7s_fd, import_file_t *f) {
    pass_t c;
    p7s_info_t info;
    buf_t sig = BUF_INIT, chain = BUF_INIT;
    FILE *fp = NULL;
    X509 *dppb = NULL;
    const ifpp_bundle_hdr_t *h;
    store_bundle_t old;
    store_bundle_new_t nb;
    ifpp_err_t err;
    struct stat sb;
    char name[STORE_TEXT_MAX], object[64], summary[160], idhex[2 * STORE_ID_LEN + 1];
    bool in_tx = false;
    int fd2 = -1;
    st_t st;

    memset(&c, 0, sizeof(c));
    memset(&info, 0, sizeof(info));
    c.o = o;
    c.f = f;
    f->kind = IMPORT_KIND_BUNDLE;

    /* 1. the signature file */
    st = buf_read_fd(&sig, p7s_fd, P7S_MAX);
    if (st != ST_OK) {
        imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "signature (.p7s): %s",
                   st == ST_E_TOO_LARGE ? "larger than 1 MiB" : st_str(st));
        goto out;
    }
    if (sig.len == 0) {
        st = imp_refuse(f, ST_E_PARSE, IMPORT_NO_ENTRY, NULL, "signature (.p7s) is empty");
        goto out;
    }
    if ((st = p7s_peek(o, &sig, &info, f)) != ST_OK)
        goto out;

    /* 2. the header, read through the tee */
    if (fstat(fd, &sb) == 0)
        c.size = (uint64_t)sb.st_size;
    fd2 = dup(fd);
    if (fd2 < 0 || !(fp = fdopen(fd2, "rb"))) {
        st = imp_refuse(f, st_from_errno(errno), IMPORT_NO_ENTRY, NULL, "cannot read: %s",
                        strerror(errno));
        if (fd2 >= 0)
            close(fd2);
        goto out;
    }
    (void)setvbuf(fp, NULL, _IOFBF, STDIO_BUF);
    ifpp_err_clear(&err);
    st = ifpp_bundle_reader_open_ex(fp, tee_fn, &c, &c.r, &err);
    if (st != ST_OK) {
        refuse_reader(&c, &err, st);
        if (f->entry == IMPORT_NO_ENTRY && f->reason[0]) {
            static const char pre[] = "header: ";
            size_t n = strnlen(f->reason, sizeof(f->reason) - sizeof(pre));
            memmove(f->reason + sizeof(pre) - 1, f->reason, n);
            memcpy(f->reason, pre, sizeof(pre) - 1);
            f->reason[n + sizeof(pre) - 1] = '\0';
        }
        st = f->st;
        goto out;
    }
    h = ifpp_bundle_reader_header(c.r);
    memcpy(f->bundle_id, h->bundle_id, STORE_ID_LEN);
    f->has_bundle_id = true;
    c.count = h->count;
    imp_progress(o, f, f->bytes, c.size, 0, c.count, false);
    if ((st = check_header(&c, h, &info, &dppb, &chain)) != ST_OK)
        goto out;
    c.dppb = X509_get0_pubkey(dppb);
    if (!c.dppb) {
        st = imp_refuse(f, ST_E_CERT, IMPORT_NO_ENTRY, NULL, "header: CERT.DPpb has no key");
        goto out;
    }

    /* 3. known bundle id: unchanged (verified) or conflicting */
    st = store_bundle_get(o->store, h->bundle_id, &old);
    if (st == ST_OK) {
        hex_encode(h->bundle_id, STORE_ID_LEN, idhex);
        if (memcmp(old.file_sha256, info.md, STORE_HASH_LEN) != 0) {
            st = imp_refuse(f, ST_E_CONFLICT, IMPORT_NO_ENTRY, NULL,
                            "bundleId %s was already imported with other content (refused)", idhex);
            goto out;
        }
        c.dry = true;
        if ((st = run_pass(&c, &sig, &info)) != ST_OK)
            goto out;
        f->outcome = IMPORT_UNCHANGED;
        snprintf(object, sizeof(object), "bundle:%s", idhex);
        if (store_audit_append(o->store, imp_actor(o), "import.bundle", object, NULL, "unchanged",
                               f->file)
            != ST_OK)
            st_log(ST_LOG_WARN, "import: %s: audit row not written", f->file);
        imp_progress(o, f, f->bytes, c.size, c.count, c.count, true);
        goto out;
    }
    if (st != ST_E_NOENT) {
        imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "store: %s", st_str(st));
        goto out;
    }

    /* 4. one transaction: the bundle row, then each entry as the pass reaches it */
    if ((st = store_tx_begin(o->store)) != ST_OK) {
        imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "store: %s", st_str(st));
        goto out;
    }
    in_tx = true;
    imp_store_name(f->file, name);
    memset(&nb, 0, sizeof(nb));
    memcpy(nb.bundle_id, h->bundle_id, STORE_ID_LEN);
    nb.smdpf_oid = info.oid;
    nb.created_at = (int64_t)h->created_at;
    memcpy(nb.file_sha256, info.md, STORE_HASH_LEN);
    nb.entry_count = h->count;
    nb.smdpf_chain = chain.data;
    nb.smdpf_chain_len = chain.len;
    nb.file_name = name;
    st = store_bundle_insert(o->store, &nb, &c.bundle_rowid);
    if (st != ST_OK) {
        imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "store: bundle: %s",
                   st == ST_E_CONFLICT || st == ST_E_EXISTS
                       ? "imported by another process meanwhile"
                       : st_str(st));
        goto out;
    }
    if ((st = run_pass(&c, &sig, &info)) != ST_OK)
        goto out;

    /* 5. verified: audit row and commit */
    hex_encode(h->bundle_id, STORE_ID_LEN, idhex);
    snprintf(object, sizeof(object), "bundle:%s", idhex);
    snprintf(summary, sizeof(summary), "%" PRIu64 " BPPs (%" PRIu64 " held), SM-DPf %s", f->n_bpps,
             f->n_held, info.oid);
    st =
        store_audit_append(o->store, imp_actor(o), "import.bundle", object, NULL, summary, f->file);
    if (st != ST_OK) {
        imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "store: audit: %s", st_str(st));
        goto out;
    }
    st = store_tx_commit(o->store);
    in_tx = false;
    if (st != ST_OK) {
        imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "store: commit: %s", st_str(st));
        goto out;
    }
    f->outcome = IMPORT_IMPORTED;
    imp_progress(o, f, f->bytes, c.size, c.count, c.count, true);
out:
    if (in_tx)
        store_tx_rollback(o->store);
    if (st != ST_OK) {
        f->n_bpps = f->n_held = 0;
        if (f->outcome != IMPORT_REFUSED)
            imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "%s", st_str(st));
    }
    ifpp_bundle_reader_free(c.r);
    if (fp)
        fclose(fp);
    X509_free(dppb);
    X509_free(info.signer);
    buf_free(&c.q);
    buf_free(&c.tbs);
    buf_free(&sig);
    buf_free(&chain);
    return st;
}
