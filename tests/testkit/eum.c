/*
 * eum.c - `ifpp-testkit eum make DIR --count N --keys K [--eid-prefix P] [--pki PKIDIR]`: the
 * test EUM's personalisation of N simulated eUICCs (DESIGN §4, §5 Esed2).
 *
 * For each eUICC: an EID under the EUM's EIN prefix with SGP.29 check digits, SK.EUICC and
 * CERT.EUICC minted under the EUM (certgen), K one-time key pairs (GENS07: fresh from
 * OpenSSL's DRBG) whose otPKs SK.EUICC signs over ifpp_otk_tbs (GENS12), the CI it trusts and
 * the DM's authorisation certificate (PKIDIR/dm.cert.pem: its key signs AuthoriseFpaServices).
 * Writes
 *   DIR/cards/<EID>/       the card's private state (tests/testkit/euicc/state.h)
 *   DIR/euicc-data.ifppe   the public eUICC data (ifpp_edata_encode), CMS attached, signed by
 *                          the EUM key (cms_sign)
 * One-time keys are numbered 1..K.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/rand.h>

#include "base/buf.h"
#include "base/log.h"
#include "crypto/cert.h"
#include "crypto/certgen.h"
#include "crypto/cms.h"
#include "crypto/ec.h"
#include "euicc/card.h"
#include "euicc/state.h"
#include "fmt/ifpp.h"
#include "testkit.h"

#define EUM_DEFAULT_PREFIX "89049032"
#define EUM_MAX_COUNT      100000
#define EUM_MAX_KEYS       1024

typedef struct {
    const char *dir;
    const char *pki;
    const char *prefix;
    unsigned long count;
    unsigned long keys;
} eum_args_t;

typedef struct {
    EVP_PKEY *eum_key;
    X509 *eum_cert;
    X509 *ci_cert;
    X509 *dm_cert;
} eum_pki_t;

static void usage(FILE *f) {
    fprintf(f, "usage: ifpp-testkit eum make DIR --count N --keys K [--eid-prefix DIGITS] "
               "[--pki PKIDIR]\n");
}

static void pki_free(eum_pki_t *p) {
    EVP_PKEY_free(p->eum_key);
    X509_free(p->eum_cert);
    X509_free(p->ci_cert);
    X509_free(p->dm_cert);
}

static st_t load_file(const char *dir, const char *name, char *path, size_t len) {
    if ((size_t)snprintf(path, len, "%s/%s", dir, name) >= len)
        return ST_E_INVAL;
    return ST_OK;
}

static st_t pki_load(const char *dir, eum_pki_t *p) {
    char path[4096];
    st_t st;
    if ((st = load_file(dir, "eum.key.pem", path, sizeof(path))) != ST_OK
        || (st = ec_key_load_pem(path, &p->eum_key)) != ST_OK)
        goto fail;
    if ((st = load_file(dir, "eum.cert.pem", path, sizeof(path))) != ST_OK
        || (st = cert_load(path, &p->eum_cert)) != ST_OK)
        goto fail;
    if ((st = load_file(dir, "ci.cert.pem", path, sizeof(path))) != ST_OK
        || (st = cert_load(path, &p->ci_cert)) != ST_OK)
        goto fail;
    if ((st = load_file(dir, "dm.cert.pem", path, sizeof(path))) != ST_OK
        || (st = cert_load(path, &p->dm_cert)) != ST_OK)
        goto fail;
    return ST_OK;
fail:
    fprintf(stderr, "ifpp-testkit eum: %s: %s\n", path, st_str(st));
    return st;
}

/* 10^n for n <= 19 */
static uint64_t pow10u(unsigned n) {
    uint64_t v = 1;
    while (n--)
        v *= 10;
    return v;
}

/*
 * One eUICC: keys, certificate, card state on disk, and its .ifppe entry (filled into *e; the
 * caller frees e->cert_euicc.p, e->euicc_info2.p and e->keys).
 */
static st_t make_card(const eum_args_t *a, const eum_pki_t *p, ec_curve_t curve,
                      const uint8_t eid[16], ifpp_euicc_t *e) {
    card_state_t *s = card_state_new();
    EVP_PKEY *key = NULL;
    char eid_s[33], path[4096];
    buf_t der = BUF_INIT, tbs = BUF_INIT;
    st_t st;

    memset(e, 0, sizeof(*e));
    if (!s)
        return ST_E_NOMEM;
    memcpy(s->eid, eid, 16);
    memcpy(e->eid, eid, 16);
    eid_to_str(eid, eid_s);
    if ((st = ec_key_generate(curve, &s->sk_euicc)) != ST_OK)
        goto out;
    if ((st = certgen_euicc(p->eum_cert, p->eum_key, s->sk_euicc, eid, &s->cert_euicc)) != ST_OK)
        goto out;
    if (!X509_up_ref(p->eum_cert) || !X509_up_ref(p->dm_cert)) {
        st = st_from_openssl("X509_up_ref");
        goto out;
    }
    s->cert_eum = p->eum_cert;
    s->dm_cert = p->dm_cert;
    if (!(s->dm_pub = X509_get_pubkey(s->dm_cert))) {
        st = st_from_openssl("DM public key");
        goto out;
    }
    if ((st = card_state_add_ci(s, p->ci_cert)) != ST_OK)
        goto out;
    if (!(e->keys = calloc(a->keys, sizeof(*e->keys)))) {
        st = ST_E_NOMEM;
        goto out;
    }
    for (unsigned long i = 0; i < a->keys; i++) {
        card_otk_t *k;
        ifpp_otk_t *o = &e->keys[i];
        if ((st = ec_key_generate(curve, &key)) != ST_OK)
            goto out;
        if ((st = card_state_add_key(s, (uint32_t)(i + 1), key)) != ST_OK)
            goto out;
        key = NULL; /* owned by the state */
        k = card_state_find_key(s, (uint32_t)(i + 1));
        o->key_index = k->index;
        memcpy(o->otpk, k->otpk, sizeof(o->otpk));
        buf_reset(&tbs);
        if ((st = ifpp_otk_tbs(eid, o->key_index, o->otpk, &tbs)) != ST_OK
            || (st = ec_sign_raw(s->sk_euicc, tbs.data, tbs.len, o->sig)) != ST_OK)
            goto out;
        e->n_keys++;
    }
    if ((st = cert_to_der(s->cert_euicc, &der)) != ST_OK)
        goto out;
    e->cert_euicc.p = der.data;
    e->cert_euicc.len = der.len;
    der = (buf_t)BUF_INIT;
    if ((st = card_build_euicc_info2(s, &der)) != ST_OK)
        goto out;
    e->euicc_info2.p = der.data;
    e->euicc_info2.len = der.len;
    der = (buf_t)BUF_INIT;
    if ((size_t)snprintf(path, sizeof(path), "%s/cards/%s", a->dir, eid_s) >= sizeof(path)) {
        st = ST_E_INVAL;
        goto out;
    }
    st = card_state_save_all(s, path);
out:
    if (st != ST_OK)
        fprintf(stderr, "ifpp-testkit eum: eUICC %s: %s\n", eid_s, st_str(st));
    EVP_PKEY_free(key);
    card_state_free(s);
    buf_free(&der);
    buf_free(&tbs);
    return st;
}

static int eum_make(const eum_args_t *a) {
    eum_pki_t p;
    ifpp_edata_t d;
    ec_curve_t curve;
    char path[4096], eid_s[33];
    buf_t content = BUF_INIT, signed_der = BUF_INIT, eum_der = BUF_INIT;
    uint64_t base, space;
    unsigned digits;
    unsigned char rnd[8];
    int rc = 1;
    st_t st;

    memset(&p, 0, sizeof(p));
    memset(&d, 0, sizeof(d));
    if (pki_load(a->pki, &p) != ST_OK)
        goto out;
    if ((st = ec_key_curve(p.eum_key, &curve)) != ST_OK) {
        fprintf(stderr, "ifpp-testkit eum: EUM key: %s\n", st_str(st));
        goto out;
    }
    if (mkdir(a->dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "ifpp-testkit eum: %s: %s\n", a->dir, strerror(errno));
        goto out;
    }
    snprintf(path, sizeof(path), "%s/cards", a->dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "ifpp-testkit eum: %s: %s\n", path, strerror(errno));
        goto out;
    }
    /* serials: a random run of `count` consecutive numbers in the digits the prefix leaves */
    digits = 30 - (unsigned)strlen(a->prefix);
    space = pow10u(digits > 18 ? 18 : digits);
    if (space <= a->count) {
        fprintf(stderr, "ifpp-testkit eum: prefix %s leaves no room for %lu EIDs\n", a->prefix,
                a->count);
        goto out;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        goto out;
    base = 0;
    for (size_t i = 0; i < sizeof(rnd); i++)
        base = base << 8 | rnd[i];
    base %= space - a->count;

    d.version = IFPP_FORMAT_VERSION;
    snprintf(d.batch_id, sizeof(d.batch_id), "EUM-%s-%016llX", a->prefix, (unsigned long long)base);
    d.created_at = time(NULL);
    if ((st = cert_to_der(p.eum_cert, &eum_der)) != ST_OK)
        goto out;
    d.cert_eum.p = eum_der.data;
    d.cert_eum.len = eum_der.len;
    if (!(d.euiccs = calloc(a->count, sizeof(*d.euiccs))))
        goto out;
    for (unsigned long i = 0; i < a->count; i++) {
        uint8_t eid[16];
        if ((st = eid_compose(a->prefix, base + i, eid)) != ST_OK) {
            fprintf(stderr, "ifpp-testkit eum: EID: %s\n", st_str(st));
            goto out;
        }
        if (make_card(a, &p, curve, eid, &d.euiccs[i]) != ST_OK)
            goto out;
        d.n_euiccs++;
        eid_to_str(eid, eid_s);
        printf("%s\n", eid_s);
    }
    if ((st = ifpp_edata_encode(&d, &content)) != ST_OK) {
        fprintf(stderr, "ifpp-testkit eum: eUICC data: %s\n", st_str(st));
        goto out;
    }
    if ((st = cms_sign(p.eum_key, p.eum_cert, NULL, content.data, content.len, false, &signed_der))
        != ST_OK) {
        fprintf(stderr, "ifpp-testkit eum: CMS: %s\n", st_str(st));
        goto out;
    }
    snprintf(path, sizeof(path), "%s/euicc-data.ifppe", a->dir);
    if ((st = buf_write_file_atomic(path, signed_der.data, signed_der.len, 0644)) != ST_OK) {
        fprintf(stderr, "ifpp-testkit eum: %s: %s\n", path, st_str(st));
        goto out;
    }
    fprintf(stderr,
            "ifpp-testkit eum: %lu eUICC(s) with %lu one-time key(s) each in %s/cards, "
            "eUICC data %s\n",
            a->count, a->keys, a->dir, path);
    rc = 0;
out:
    for (size_t i = 0; d.euiccs && i < a->count; i++) {
        free(d.euiccs[i].cert_euicc.p);
        free(d.euiccs[i].euicc_info2.p);
        free(d.euiccs[i].keys);
    }
    free(d.euiccs);
    buf_free(&eum_der);
    buf_free(&content);
    buf_free(&signed_der);
    pki_free(&p);
    return rc;
}

int tk_eum_main(int argc, char **argv) {
    eum_args_t a;
    memset(&a, 0, sizeof(a));
    a.pki = "./pki";
    a.prefix = EUM_DEFAULT_PREFIX;
    if (argc < 3 || strcmp(argv[1], "make")) {
        usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return 2;
    }
    a.dir = argv[2];
    for (int i = 3; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (!val) {
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(opt, "--count") || !strcmp(opt, "--keys")) {
            unsigned long v;
            errno = 0;
            v = strtoul(val, &end, 10);
            if (errno || *end || v < 1 || v > (opt[2] == 'c' ? EUM_MAX_COUNT : EUM_MAX_KEYS)) {
                fprintf(stderr, "ifpp-testkit eum: bad %s %s\n", opt, val);
                return 2;
            }
            if (opt[2] == 'c')
                a.count = v;
            else
                a.keys = v;
        } else if (!strcmp(opt, "--eid-prefix")) {
            size_t n = strlen(val);
            if (n < 2 || n > 26 || strspn(val, "0123456789") != n) {
                fprintf(stderr, "ifpp-testkit eum: --eid-prefix wants 2..26 digits\n");
                return 2;
            }
            a.prefix = val;
        } else if (!strcmp(opt, "--pki")) {
            a.pki = val;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!a.count || !a.keys) {
        usage(stderr);
        return 2;
    }
    return eum_make(&a);
}
