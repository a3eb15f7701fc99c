/*
 * smdpf.c - `ifpp-testkit smdpf bind`: the test SM-DPf's binding step (ESBPP01, DESIGN §4/§5).
 *
 *   smdpf bind REQ.ifppr|DATA.ifppe [--pki DIR] [--smdpf NAME] [--profiles UPP...] [--ppk]
 *              [--host-id ID] [--sp-name NAME] [--rebind] -o OUT.ifppb
 *
 * For every target eUICC + one-time key: verify the input file's CMS signature (EUM for .ifppe,
 * DM station for .ifppr), the eUICC chain CI -> EUM -> eUICC and the one-time key signature
 * (DPFF10, GENS12) before anything is bound; then one BPP per target with a fresh SM-DPf
 * one-time key (PFS, GENS06) - tk_bpp_build(). Output: the bundle (ifpp_bundle_writer_*) and
 * OUT.ifppb.p7s, a detached CMS by the SM-DPf's bundle signer (DPauth).
 *
 * Profiles: the given UPP files (SAIP DER, e.g. TS.48) round-robin over the targets, ICCID
 * from their ProfileHeader; otherwise a generated ~12 KB profile with a fresh unique ICCID
 * (Luhn check digit) per BPP.
 *
 * Binding record (the SM-DPf's memory, research §8.2 step 6): DIR/NAME/bound.txt, one line per
 * BPP "EID keyIndex transactionId ICCID bundleId" (decimal, decimal, hex, digits, hex). A key
 * listed there is "used": .ifppe input takes the first unused key of each eUICC, and .ifppr
 * input naming a used key is refused unless --rebind. DIR/NAME/bound.lock serialises binds.
 * The eUICC and EUM certificates of every bound eUICC are kept in DIR/NAME/euicc/ so that
 * `smdpf verify-report` (smdpf_report.c) can check the PIRs (DPFF06).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/log.h"
#include "bpp_build.h"
#include "crypto/cert.h"
#include "crypto/cms.h"
#include "crypto/ec.h"
#include "fmt/ifpp.h"
#include "smdpf.h"
#include "testkit.h"

#define SMDPF_MAX_INPUT           (1024u << 20)
#define SMDPF_UPP_MAX             (IFPP_MAX_ENTRY_LEN - 64 * 1024) /* room for the BSP overhead */
#define SMDPF_GEN_UPP_LEN         (12 * 1024)
#define SMDPF_DEFAULT_HOST_ID     "ifpp-testkit"
#define SMDPF_DEFAULT_SP_NAME     "IFPP Test SP"
#define PROFILE_CLASS_OPERATIONAL 2

typedef struct {
    const char *pki;
    const char *smdpf;
    const char *input;
    const char *out;
    char **profiles;
    size_t n_profiles;
    bool ppk;
    bool rebind;
    const char *host_id;
    const char *sp_name;
} bind_opts_t;

typedef struct {
    uint8_t eid[IFPP_EID_LEN];
    X509 *euicc; /* owned */
    X509 *eum;   /* borrowed from the input's EUM list */
    ifpp_otk_t key;
    char profile_type[64];
} target_t;

typedef struct {
    buf_t der;
    uint8_t iccid_hdr[TK_ICCID_LEN];
    char name[65];
} profile_t;

typedef struct {
    uint8_t eid[IFPP_EID_LEN];
    uint32_t key_index;
} used_key_t;

typedef struct {
    used_key_t *v;
    size_t n, cap;
} used_set_t;

static void bind_usage(FILE *f) {
    fprintf(f, "usage: ifpp-testkit smdpf bind REQ.ifppr|DATA.ifppe [--pki DIR] [--smdpf NAME]\n"
               "           [--profiles UPP...] [--ppk] [--host-id ID] [--sp-name NAME] "
               "[--rebind] -o OUT.ifppb\n");
}

static void fail(const char *what, st_t st) {
    fprintf(stderr, "ifpp-testkit smdpf bind: %s: %s\n", what, st_str(st));
}

static st_t path_fmt(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static st_t path_fmt(char *out, size_t len, const char *fmt, ...) {
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    return (n < 0 || (size_t)n >= len) ? ST_E_TOO_LARGE : ST_OK;
}

/* ---- binding record ---- */

static bool used_has(const used_set_t *u, const uint8_t eid[16], uint32_t idx) {
    for (size_t i = 0; i < u->n; i++)
        if (u->v[i].key_index == idx && memcmp(u->v[i].eid, eid, 16) == 0)
            return true;
    return false;
}

static st_t used_add(used_set_t *u, const uint8_t eid[16], uint32_t idx) {
    if (u->n == u->cap) {
        size_t nc = u->cap ? u->cap * 2 : 64;
        used_key_t *nv = realloc(u->v, nc * sizeof(*nv));
        if (nv == NULL)
            return ST_E_NOMEM;
        u->v = nv;
        u->cap = nc;
    }
    memcpy(u->v[u->n].eid, eid, 16);
    u->v[u->n].key_index = idx;
    u->n++;
    return ST_OK;
}

/* Reads bound.txt (missing = empty). Keeps the raw text in `text` for the rewrite. */
static st_t used_load(const char *path, used_set_t *u, buf_t *text) {
    st_t st = buf_read_file(text, path, SMDPF_MAX_INPUT);
    char *line, *save = NULL, *copy;

    if (st == ST_E_NOENT) {
        buf_reset(text);
        return ST_OK;
    }
    if (st != ST_OK)
        return st;
    copy = malloc(text->len + 1);
    if (copy == NULL)
        return ST_E_NOMEM;
    memcpy(copy, text->data, text->len);
    copy[text->len] = '\0';
    for (line = strtok_r(copy, "\n", &save); line != NULL && st == ST_OK;
         line = strtok_r(NULL, "\n", &save)) {
        char eid_s[64];
        unsigned long idx;
        uint8_t eid[16];
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (sscanf(line, "%63s %lu", eid_s, &idx) != 2 || eid_from_str(eid_s, eid) != ST_OK) {
            fprintf(stderr, "ifpp-testkit smdpf bind: %s: bad line '%s'\n", path, line);
            st = ST_E_PARSE;
            break;
        }
        st = used_add(u, eid, (uint32_t)idx);
    }
    free(copy);
    return st;
}

/* ---- inputs ---- */

static bool has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static void targets_free(target_t *t, size_t n) {
    for (size_t i = 0; t != NULL && i < n; i++)
        X509_free(t[i].euicc);
    free(t);
}

/*
 * Verifies the input file and collects the targets. The EUM certificates are returned in
 * *eums (owned); targets borrow them.
 */
static st_t load_targets(const bind_opts_t *o, cert_trust_t *ci_trust, const used_set_t *used,
                         target_t **out, size_t *n_out, STACK_OF(X509) * *eums) {
    st_t st;
    char path[4096];
    buf_t file = BUF_INIT, content = BUF_INIT;
    cert_trust_t *cms_trust = NULL;
    X509 *signer = NULL;
    ifpp_request_t *req = NULL;
    ifpp_edata_t *ed = NULL;
    ifpp_err_t err;
    target_t *t = NULL;
    size_t n = 0;
    bool is_req = has_suffix(o->input, ".ifppr");
    bool is_edata = has_suffix(o->input, ".ifppe");
    char ebuf[256];

    *eums = sk_X509_new_null();
    if (*eums == NULL)
        return ST_E_NOMEM;
    if ((st = buf_read_file(&file, o->input, SMDPF_MAX_INPUT)) != ST_OK) {
        fail(o->input, st);
        goto out;
    }
    /* CMS signature first: CI for the EUM's .ifppe, the DM CA for the station's .ifppr */
    cms_trust = cert_trust_new();
    if (cms_trust == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    if ((st = path_fmt(path, sizeof(path), "%s/%s", o->pki, "ci.cert.pem")) != ST_OK
        || (st = cert_trust_add_file(cms_trust, path)) != ST_OK) {
        fail(path, st);
        goto out;
    }
    if (!is_edata) {
        if ((st = path_fmt(path, sizeof(path), "%s/%s", o->pki, "dm-ca.cert.pem")) != ST_OK
            || (st = cert_trust_add_file(cms_trust, path)) != ST_OK) {
            fail(path, st);
            goto out;
        }
    }
    if ((st = cms_verify_attached(cms_trust, file.data, file.len, &content, &signer)) != ST_OK) {
        fprintf(stderr, "ifpp-testkit smdpf bind: %s: signature: %s\n", o->input, st_str(st));
        goto out;
    }
    if (!is_req && !is_edata) { /* no telling suffix: try both */
        if (ifpp_request_decode(content.data, content.len, &req) == ST_OK)
            is_req = true;
        else
            is_edata = true;
    }
    ifpp_err_clear(&err);
    if (is_req) {
        if (!cert_has_policy(signer, CERT_POLICY_IFPP_DM)) {
            fprintf(stderr, "ifpp-testkit smdpf bind: %s: signer is not a DM station\n", o->input);
            st = ST_E_NOT_ALLOWED;
            goto out;
        }
        if (req == NULL
            && (st = ifpp_request_decode_ex(content.data, content.len, &req, &err)) != ST_OK) {
            fprintf(stderr, "ifpp-testkit smdpf bind: %s: %s\n", o->input,
                    ifpp_err_format(&err, ebuf, sizeof(ebuf)));
            goto out;
        }
        for (size_t i = 0; i < req->n_certs_eum; i++) {
            X509 *x = NULL;
            if ((st = cert_from_der(req->certs_eum[i].p, req->certs_eum[i].len, &x)) != ST_OK
                || !sk_X509_push(*eums, x)) {
                X509_free(x);
                fprintf(stderr, "ifpp-testkit smdpf bind: %s: EUM certificate %zu: %s\n", o->input,
                        i, st_str(st != ST_OK ? st : ST_E_NOMEM));
                st = st != ST_OK ? st : ST_E_NOMEM;
                goto out;
            }
        }
        t = calloc(req->n_entries ? req->n_entries : 1, sizeof(*t));
        if (t == NULL) {
            st = ST_E_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < req->n_entries; i++) {
            const ifpp_req_entry_t *e = &req->entries[i];
            char eid_s[33];
            eid_to_str(e->eid, eid_s);
            if (e->eum_index >= (uint32_t)sk_X509_num(*eums)) {
                fprintf(stderr, "ifpp-testkit smdpf bind: entry %zu (EID %s): no EUM #%u\n", i,
                        eid_s, e->eum_index);
                st = ST_E_PARSE;
                goto out;
            }
            if (!o->rebind && used_has(used, e->eid, e->key.key_index)) {
                fprintf(stderr,
                        "ifpp-testkit smdpf bind: entry %zu (EID %s): one-time key %u was "
                        "already bound (--rebind to bind it again)\n",
                        i, eid_s, e->key.key_index);
                st = ST_E_CONFLICT;
                goto out;
            }
            memcpy(t[n].eid, e->eid, IFPP_EID_LEN);
            if ((st = cert_from_der(e->cert_euicc.p, e->cert_euicc.len, &t[n].euicc)) != ST_OK) {
                fprintf(stderr, "ifpp-testkit smdpf bind: entry %zu (EID %s): CERT.EUICC: %s\n", i,
                        eid_s, st_str(st));
                goto out;
            }
            t[n].eum = sk_X509_value(*eums, (int)e->eum_index);
            t[n].key = e->key;
            snprintf(t[n].profile_type, sizeof(t[n].profile_type), "%s", e->profile_type);
            n++;
        }
    } else {
        X509 *eum = NULL;
        if (!cert_has_policy(signer, CERT_POLICY_EUM)
            && !cert_has_policy(signer, CERT_POLICY_EUM_V3)) {
            fprintf(stderr, "ifpp-testkit smdpf bind: %s: signer is not an EUM\n", o->input);
            st = ST_E_NOT_ALLOWED;
            goto out;
        }
        if ((st = ifpp_edata_decode_ex(content.data, content.len, &ed, &err)) != ST_OK) {
            fprintf(stderr, "ifpp-testkit smdpf bind: %s: %s\n", o->input,
                    ifpp_err_format(&err, ebuf, sizeof(ebuf)));
            goto out;
        }
        if ((st = cert_from_der(ed->cert_eum.p, ed->cert_eum.len, &eum)) != ST_OK
            || !sk_X509_push(*eums, eum)) {
            X509_free(eum);
            st = st != ST_OK ? st : ST_E_NOMEM;
            fail("EUM certificate", st);
            goto out;
        }
        t = calloc(ed->n_euiccs ? ed->n_euiccs : 1, sizeof(*t));
        if (t == NULL) {
            st = ST_E_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < ed->n_euiccs; i++) {
            const ifpp_euicc_t *e = &ed->euiccs[i];
            const ifpp_otk_t *k = NULL;
            char eid_s[33];
            eid_to_str(e->eid, eid_s);
            for (size_t j = 0; j < e->n_keys && k == NULL; j++)
                if (!used_has(used, e->eid, e->keys[j].key_index))
                    k = &e->keys[j];
            if (k == NULL) {
                fprintf(stderr,
                        "ifpp-testkit smdpf bind: eUICC %zu (EID %s): no unused "
                        "one-time key left\n",
                        i, eid_s);
                st = ST_E_NOENT;
                goto out;
            }
            memcpy(t[n].eid, e->eid, IFPP_EID_LEN);
            if ((st = cert_from_der(e->cert_euicc.p, e->cert_euicc.len, &t[n].euicc)) != ST_OK) {
                fprintf(stderr, "ifpp-testkit smdpf bind: eUICC %zu (EID %s): CERT.EUICC: %s\n", i,
                        eid_s, st_str(st));
                goto out;
            }
            t[n].eum = eum;
            t[n].key = *k;
            n++;
        }
    }
    if (n == 0) {
        fprintf(stderr, "ifpp-testkit smdpf bind: %s: no eUICC to bind for\n", o->input);
        st = ST_E_NOENT;
        goto out;
    }

    /* DPFF10: every eUICC chain and one-time key signature, before anything is bound */
    for (size_t i = 0; i < n; i++) {
        uint8_t cert_eid[IFPP_EID_LEN];
        char eid_s[33];
        buf_t tbs = BUF_INIT;
        eid_to_str(t[i].eid, eid_s);
        if ((st = cert_verify_euicc_chain(ci_trust, t[i].eum, t[i].euicc, cert_eid)) != ST_OK) {
            fprintf(stderr, "ifpp-testkit smdpf bind: EID %s: eUICC certificate chain: %s\n", eid_s,
                    st_str(st));
            goto out;
        }
        if (memcmp(cert_eid, t[i].eid, IFPP_EID_LEN) != 0) {
            fprintf(stderr, "ifpp-testkit smdpf bind: EID %s: not the EID of its certificate\n",
                    eid_s);
            st = ST_E_CERT;
            goto out;
        }
        st = ifpp_otk_tbs(t[i].eid, t[i].key.key_index, t[i].key.otpk, &tbs);
        if (st == ST_OK)
            st = ec_verify_raw(X509_get0_pubkey(t[i].euicc), tbs.data, tbs.len, t[i].key.sig,
                               sizeof(t[i].key.sig));
        buf_free(&tbs);
        if (st != ST_OK) {
            fprintf(stderr, "ifpp-testkit smdpf bind: EID %s: one-time key %u: %s\n", eid_s,
                    t[i].key.key_index, st_str(st));
            goto out;
        }
    }
    *out = t;
    *n_out = n;
    t = NULL;
    n = 0;
out:
    targets_free(t, n);
    ifpp_request_free(req);
    ifpp_edata_free(ed);
    X509_free(signer);
    cert_trust_free(cms_trust);
    buf_free(&file);
    buf_free(&content);
    return st;
}

static st_t load_profile(const char *path, profile_t *p) {
    st_t st;
    const char *base = strrchr(path, '/');
    if ((st = buf_read_file(&p->der, path, SMDPF_UPP_MAX)) != ST_OK) {
        fail(path, st);
        return st;
    }
    if ((st = tk_upp_iccid(p->der.data, p->der.len, p->iccid_hdr)) != ST_OK) {
        fprintf(stderr,
                "ifpp-testkit smdpf bind: %s: no ProfileHeader (A0) with an ICCID (83): %s\n", path,
                st_str(st));
        return st;
    }
    /* profile name: the header's profileType, else the file name */
    if (tk_upp_profile_type(p->der.data, p->der.len, p->name, sizeof(p->name)) != ST_OK
        || p->name[0] == '\0')
        snprintf(p->name, sizeof(p->name), "%s", base ? base + 1 : path);
    return ST_OK;
}

/* ---- bind ---- */

static int bind_main(int argc, char **argv) {
    bind_opts_t o = {.pki = "./pki",
                     .smdpf = "smdpf1",
                     .host_id = SMDPF_DEFAULT_HOST_ID,
                     .sp_name = SMDPF_DEFAULT_SP_NAME};
    char path[4096], bound_path[4096], oid_text[128];
    st_t st = ST_OK;
    int rc = 1, lock_fd = -1;
    EVP_PKEY *dppb_key = NULL, *auth_key = NULL;
    STACK_OF(X509) *dppb_certs = NULL, *auth_certs = NULL, *auth_chain = NULL, *eums = NULL;
    cert_trust_t *ci_trust = NULL;
    used_set_t used = {NULL, 0, 0};
    buf_t bound_text = BUF_INIT, oid = BUF_INIT, records = BUF_INIT, sig = BUF_INIT;
    buf_t bpp = BUF_INIT, meta = BUF_INIT, gen = BUF_INIT;
    target_t *targets = NULL;
    size_t n_targets = 0;
    profile_t *profiles = NULL;
    ifpp_bundle_hdr_t hdr;
    ifpp_blob_t *hdr_certs = NULL;
    ifpp_bundle_writer_t *w = NULL;
    BIO *bio = NULL;
    char p7s[4096] = "";
    uint32_t iccid_base = 0;
    bool written = false; /* OUT exists: removed again (with OUT.p7s) if a later step fails */

    memset(&hdr, 0, sizeof(hdr));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pki") && i + 1 < argc) {
            o.pki = argv[++i];
        } else if (!strcmp(argv[i], "--smdpf") && i + 1 < argc) {
            o.smdpf = argv[++i];
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            o.out = argv[++i];
        } else if (!strcmp(argv[i], "--ppk")) {
            o.ppk = true;
        } else if (!strcmp(argv[i], "--rebind")) {
            o.rebind = true;
        } else if (!strcmp(argv[i], "--host-id") && i + 1 < argc) {
            o.host_id = argv[++i];
        } else if (!strcmp(argv[i], "--sp-name") && i + 1 < argc) {
            o.sp_name = argv[++i];
        } else if (!strcmp(argv[i], "--profiles")) {
            o.profiles = &argv[i + 1];
            /* UPP files up to the next option (or the input file, by its suffix) */
            while (i + 1 < argc && argv[i + 1][0] != '-' && !has_suffix(argv[i + 1], ".ifppr")
                   && !has_suffix(argv[i + 1], ".ifppe")) {
                o.n_profiles++;
                i++;
            }
            if (o.n_profiles == 0) {
                bind_usage(stderr);
                return 2;
            }
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            bind_usage(stdout);
            return 0;
        } else if (argv[i][0] != '-' && o.input == NULL) {
            o.input = argv[i];
        } else {
            bind_usage(stderr);
            return 2;
        }
    }
    if (o.input == NULL || o.out == NULL) {
        bind_usage(stderr);
        return 2;
    }
    if (strlen(o.host_id) == 0 || strlen(o.host_id) > BSP_MAX_HOSTID_LEN || strlen(o.sp_name) > 32
        || strchr(o.smdpf, '/') != NULL) {
        fprintf(stderr, "ifpp-testkit smdpf bind: --host-id is 1..16 bytes, --sp-name at most "
                        "32, --smdpf a directory name\n");
        return 2;
    }

    /* one bind at a time per SM-DPf: the binding record is read-modify-write */
    if ((st = path_fmt(path, sizeof(path), "%s/%s/bound.lock", o.pki, o.smdpf)) != ST_OK)
        goto out;
    lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
        st = st_from_errno(errno);
        fail(path, st);
        goto out;
    }

    /* the SM-DPf: DPpb (binding), DPauth (bundle signer), its OID */
    if ((st = path_fmt(path, sizeof(path), "%s/%s/dppb.key.pem", o.pki, o.smdpf)) != ST_OK
        || (st = ec_key_load_pem(path, &dppb_key)) != ST_OK) {
        fail(path, st);
        goto out;
    }
    if ((st = path_fmt(path, sizeof(path), "%s/%s/dppb.cert.pem", o.pki, o.smdpf)) != ST_OK
        || (st = cert_load_all(path, &dppb_certs)) != ST_OK || sk_X509_num(dppb_certs) < 1) {
        fail(path, st != ST_OK ? st : ST_E_NOENT);
        goto out;
    }
    if (X509_check_private_key(sk_X509_value(dppb_certs, 0), dppb_key) != 1) {
        ERR_clear_error();
        fprintf(stderr, "ifpp-testkit smdpf bind: %s: key does not match dppb.key.pem\n", path);
        st = ST_E_CERT;
        goto out;
    }
    if ((st = path_fmt(path, sizeof(path), "%s/%s/dpauth.key.pem", o.pki, o.smdpf)) != ST_OK
        || (st = ec_key_load_pem(path, &auth_key)) != ST_OK) {
        fail(path, st);
        goto out;
    }
    if ((st = path_fmt(path, sizeof(path), "%s/%s/dpauth.cert.pem", o.pki, o.smdpf)) != ST_OK
        || (st = cert_load_all(path, &auth_certs)) != ST_OK || sk_X509_num(auth_certs) < 1) {
        fail(path, st != ST_OK ? st : ST_E_NOENT);
        goto out;
    }
    auth_chain = sk_X509_new_null();
    for (int i = 1; auth_chain != NULL && i < sk_X509_num(auth_certs); i++)
        if (!sk_X509_push(auth_chain, sk_X509_value(auth_certs, i)))
            break;
    if (auth_chain == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    if ((st = cert_get_rid(sk_X509_value(dppb_certs, 0), oid_text, sizeof(oid_text), &oid)) != ST_OK
        || oid.len > IFPP_MAX_OID_LEN) {
        fail("CERT.DPpb has no usable SM-DPf OID (SAN registeredID)", st ? st : ST_E_TOO_LARGE);
        st = st ? st : ST_E_TOO_LARGE;
        goto out;
    }
    ci_trust = cert_trust_new();
    if (ci_trust == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    if ((st = path_fmt(path, sizeof(path), "%s/%s", o.pki, "ci.cert.pem")) != ST_OK
        || (st = cert_trust_add_file(ci_trust, path)) != ST_OK) {
        fail(path, st);
        goto out;
    }
    /* the eUICC will check CERT.DPpb; fail here rather than on the line */
    {
        STACK_OF(X509) *rest = sk_X509_dup(dppb_certs);
        if (rest == NULL) {
            st = ST_E_NOMEM;
            goto out;
        }
        (void)sk_X509_shift(rest);
        st = cert_verify_chain(ci_trust, sk_X509_value(dppb_certs, 0), rest, CERT_POLICY_DP_PB);
        sk_X509_free(rest);
        if (st != ST_OK) {
            fail("CERT.DPpb does not verify against ci.cert.pem (role dp-pb)", st);
            goto out;
        }
    }

    /* binding record, then the targets (verified) */
    if ((st = path_fmt(bound_path, sizeof(bound_path), "%s/%s/bound.txt", o.pki, o.smdpf)) != ST_OK
        || (st = used_load(bound_path, &used, &bound_text)) != ST_OK) {
        fail(bound_path, st);
        goto out;
    }
    if ((st = load_targets(&o, ci_trust, &used, &targets, &n_targets, &eums)) != ST_OK)
        goto out;

    /* profiles */
    if (o.n_profiles > 0) {
        profiles = calloc(o.n_profiles, sizeof(*profiles));
        if (profiles == NULL) {
            st = ST_E_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < o.n_profiles; i++)
            if ((st = load_profile(o.profiles[i], &profiles[i])) != ST_OK)
                goto out;
    }
    if (RAND_bytes((unsigned char *)&iccid_base, sizeof(iccid_base)) != 1) {
        st = st_from_openssl("rand");
        goto out;
    }

    /* bundle header */
    hdr.version = IFPP_FORMAT_VERSION;
    if (RAND_bytes(hdr.bundle_id, sizeof(hdr.bundle_id)) != 1) {
        st = st_from_openssl("rand");
        goto out;
    }
    memcpy(hdr.smdpf_oid, oid.data, oid.len);
    hdr.smdpf_oid_len = oid.len;
    hdr.created_at = time(NULL);
    hdr.n_smdpf_certs = (size_t)sk_X509_num(dppb_certs);
    hdr_certs = calloc(hdr.n_smdpf_certs, sizeof(*hdr_certs));
    if (hdr_certs == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < hdr.n_smdpf_certs; i++) {
        buf_t d = BUF_INIT;
        if ((st = cert_to_der(sk_X509_value(dppb_certs, (int)i), &d)) != ST_OK) {
            buf_free(&d);
            goto out;
        }
        hdr_certs[i].p = d.data;
        hdr_certs[i].len = d.len;
    }
    hdr.smdpf_certs = hdr_certs;
    if ((st = ifpp_bundle_writer_open(o.out, &hdr, &w)) != ST_OK) {
        fail(o.out, st);
        goto out;
    }

    for (size_t i = 0; i < n_targets; i++) {
        const target_t *t = &targets[i];
        ifpp_bundle_entry_t e;
        uint8_t iccid_hdr[TK_ICCID_LEN], iccid[TK_ICCID_LEN];
        const uint8_t *upp;
        size_t upp_len;
        char name[65], eid_s[33], iccid_s[21], tid_hex[33], bid_hex[33];

        memset(&e, 0, sizeof(e));
        eid_to_str(t->eid, eid_s);
        if (profiles != NULL) {
            const profile_t *p = &profiles[i % o.n_profiles];
            memcpy(iccid_hdr, p->iccid_hdr, sizeof(iccid_hdr));
            snprintf(name, sizeof(name), "%s", p->name);
            upp = p->der.data;
            upp_len = p->der.len;
        } else {
            /* 89 (telecom) 999 (test), 7 digits of this run, 6 of the entry, Luhn */
            char digits[20];
            snprintf(digits, sizeof(digits), "89999%07u%06zu", iccid_base % 10000000u,
                     i % 1000000u);
            if ((st = tk_iccid_from_digits(digits, iccid_hdr)) != ST_OK)
                goto out;
            snprintf(name, sizeof(name), "IFPP test profile %06zu", i);
            buf_reset(&gen);
            if ((st = tk_upp_generate(iccid_hdr, "IFPP testkit generated", SMDPF_GEN_UPP_LEN, &gen))
                != ST_OK)
                goto out;
            upp = gen.data;
            upp_len = gen.len;
        }
        tk_iccid_swap(iccid_hdr, iccid); /* SGP.22 Iccid for metadata and the entry */
        buf_reset(&meta);
        if ((st = tk_bpp_metadata(iccid, o.sp_name, name, PROFILE_CLASS_OPERATIONAL, &meta))
            != ST_OK)
            goto out;
        memcpy(e.eid, t->eid, IFPP_EID_LEN);
        e.key_index = t->key.key_index;
        e.tid_len = 16;
        if (RAND_bytes(e.tid, (int)e.tid_len) != 1) {
            st = st_from_openssl("rand");
            goto out;
        }
        tk_bpp_in_t in = {
            .dppb_key = dppb_key,
            .euicc_otpk = t->key.otpk,
            .eid = t->eid,
            .tid = e.tid,
            .tid_len = e.tid_len,
            .host_id = (const uint8_t *)o.host_id,
            .host_id_len = strlen(o.host_id),
            .smdp_oid = oid.data,
            .smdp_oid_len = oid.len,
            .metadata = meta.data,
            .metadata_len = meta.len,
            .upp = upp,
            .upp_len = upp_len,
            .ppk = o.ppk,
        };
        buf_reset(&bpp);
        if ((st = tk_bpp_build(&in, &bpp)) != ST_OK) {
            fprintf(stderr, "ifpp-testkit smdpf bind: EID %s: binding failed: %s\n", eid_s,
                    st_str(st));
            goto out;
        }
        memcpy(e.iccid, iccid, sizeof(e.iccid));
        snprintf(e.profile_type, sizeof(e.profile_type), "%s", t->profile_type);
        e.bpp = bpp.data;
        e.bpp_len = bpp.len;
        if ((st = ifpp_bundle_writer_add(w, &e)) != ST_OK) {
            fprintf(stderr, "ifpp-testkit smdpf bind: %s: entry %zu: %s\n", o.out, i, st_str(st));
            goto out;
        }
        if ((st = smdpf_remember_euicc(o.pki, o.smdpf, t->eid, t->euicc, t->eum)) != ST_OK) {
            fprintf(stderr, "ifpp-testkit smdpf bind: EID %s: cannot keep its certificates: %s\n",
                    eid_s, st_str(st));
            goto out;
        }
        hex_encode(e.tid, e.tid_len, tid_hex);
        hex_encode(hdr.bundle_id, sizeof(hdr.bundle_id), bid_hex);
        tk_iccid_to_str(iccid_hdr, iccid_s);
        {
            char line[256];
            int ln = snprintf(line, sizeof(line), "%s %u %s %s %s\n", eid_s, e.key_index, tid_hex,
                              iccid_s, bid_hex);
            if ((st = buf_append(&records, line, (size_t)ln)) != ST_OK)
                goto out;
        }
    }
    st = ifpp_bundle_writer_close(w);
    w = NULL;
    if (st != ST_OK) {
        fail(o.out, st);
        goto out;
    }
    written = true;

    /* ESBPP01 signature: detached CMS by DPauth over the bundle file, streamed */
    if ((st = path_fmt(p7s, sizeof(p7s), "%s%s", o.out, ".p7s")) != ST_OK)
        goto out;
    bio = BIO_new_file(o.out, "rb");
    if (bio == NULL) {
        st = st_from_openssl(o.out);
        fail(o.out, st);
        goto out;
    }
    if ((st = cms_sign_bio(auth_key, sk_X509_value(auth_certs, 0), auth_chain, bio, true, &sig))
            != ST_OK
        || (st = buf_write_file_atomic(p7s, sig.data, sig.len, 0644)) != ST_OK) {
        fail(p7s, st);
        goto out;
    }

    /* remember the bindings (used keys, tid -> EID/key/ICCID for report checks) */
    if ((st = buf_append(&bound_text, records.data, records.len)) != ST_OK
        || (st = buf_write_file_atomic(bound_path, bound_text.data, bound_text.len, 0600))
               != ST_OK) {
        fail(bound_path, st);
        goto out;
    }
    printf("%s: %zu BPP%s for SM-DPf %s (%s)%s, signed %s\n", o.out, n_targets,
           n_targets == 1 ? "" : "s", o.smdpf, oid_text, o.ppk ? ", PPK mode" : "", p7s);
    rc = 0;
out:
    if (rc != 0 && st != ST_OK && w != NULL)
        fail(o.out, st);
    ifpp_bundle_writer_abort(w);
    if (rc != 0 && written) {
        (void)unlink(o.out);
        if (p7s[0] != '\0')
            (void)unlink(p7s);
    }
    BIO_free(bio);
    for (size_t i = 0; hdr_certs != NULL && i < hdr.n_smdpf_certs; i++)
        free(hdr_certs[i].p);
    free(hdr_certs);
    for (size_t i = 0; profiles != NULL && i < o.n_profiles; i++)
        buf_free(&profiles[i].der);
    free(profiles);
    targets_free(targets, n_targets);
    sk_X509_pop_free(eums, X509_free);
    cert_trust_free(ci_trust);
    free(used.v);
    sk_X509_free(auth_chain);
    sk_X509_pop_free(auth_certs, X509_free);
    sk_X509_pop_free(dppb_certs, X509_free);
    EVP_PKEY_free(dppb_key);
    EVP_PKEY_free(auth_key);
    buf_free(&bound_text);
    buf_free(&oid);
    buf_free(&records);
    buf_free(&sig);
    buf_free(&bpp);
    buf_free(&meta);
    buf_free(&gen);
    if (lock_fd >= 0)
        close(lock_fd); /* releases the flock */
    return rc;
}

int tk_smdpf_main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "bind"))
        return bind_main(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "verify-report"))
        return smdpf_verify_report_main(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        bind_usage(stdout);
        return 0;
    }
    bind_usage(stderr);
    return 2;
}
