/*
 * Unit tests: the hostile-input corpus (tests/hostile, written by tests/hostile/gen.py; issue 8).
 *
 * MANIFEST lists every file with the parser it is for and the exact status it must get. Each
 * file is fed to that parser: files (TLV, BPP, PIR, the four IFPP formats, certificates, CMS,
 * configuration), answers of a hostile card to the station's ES10 client (through the scripted
 * fake transport), and C-APDU sequences for the simulated eUICC. Checked for every file: the
 * status is the expected one (a hostile file never gets ST_OK, a baseline always does), nothing
 * is handed back on failure, and the simulated card's persistent state is unchanged. The suite
 * runs under ASan+UBSan in CI (test.sh), so a crash or an overrun fails it too.
 *
 * Beside the corpus, cases that need the test's own PKI: a CMS with two signers that both
 * chain and verify, and a whole BPP load through the station's client at TRACE level whose log
 * must hold no key and no clear-text profile byte (GENS09/10, DESIGN §8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/x509.h>

#include "../testkit/bpp_build.h"
#include "base/buf.h"
#include "base/log.h"
#include "card.h"
#include "config.h"
#include "crypto/cert.h"
#include "crypto/certgen.h"
#include "crypto/cms.h"
#include "crypto/ec.h"
#include "es10.h"
#include "fake_card.h"
#include "fmt/bpp.h"
#include "fmt/es10f.h"
#include "fmt/ifpp.h"
#include "fmt/pir.h"
#include "state.h"
#include "testutil.h"
#include "tlv/tlv.h"

#define MIN_HOSTILE 50

/* ---- fixture: a GSMA-shaped PKI minted once, a card personalised from it ---- */

static struct {
    bool ready;
    EVP_PKEY *ci_key, *eum_key, *euicc_key, *dppb_key, *dmca_key, *dm_key, *other_key;
    X509 *ci, *eum, *euicc, *dppb, *dmca, *dm;
    uint8_t eid[16];
    cert_trust_t *trust; /* the CI */
} fx;

static void fx_init(void) {
    if (fx.ready)
        return;
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.ci_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.eum_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.euicc_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.dppb_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.dmca_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.dm_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &fx.other_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(eid_compose("89049032", 4711, fx.eid), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_ci(fx.ci_key, "RSP Test", "Hostile CI", &fx.ci), ST_OK);
    CU_ASSERT_EQUAL_FATAL(
        certgen_eum(fx.ci, fx.ci_key, fx.eum_key, "RSP Test EUM", "89049032", &fx.eum), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_euicc(fx.eum, fx.eum_key, fx.euicc_key, fx.eid, &fx.euicc),
                          ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_smdpf(fx.ci, fx.ci_key, fx.dppb_key, CERTGEN_DP_PB, "2.999.10",
                                        "ACME", "TEST SM-DPf", &fx.dppb),
                          ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_dm_ca(fx.dmca_key, "Test DM", "Test DM CA", &fx.dmca), ST_OK);
    CU_ASSERT_EQUAL_FATAL(certgen_dm(fx.dmca, fx.dmca_key, fx.dm_key, "Test DM", "DM-H", &fx.dm),
                          ST_OK);
    fx.trust = cert_trust_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx.trust);
    CU_ASSERT_EQUAL_FATAL(cert_trust_add(fx.trust, fx.ci), ST_OK);
    CU_ASSERT_EQUAL_FATAL(cert_trust_add(fx.trust, fx.dmca), ST_OK);
    fx.ready = true;
}

static void test_zz_cleanup(void) {
    EVP_PKEY_free(fx.ci_key);
    EVP_PKEY_free(fx.eum_key);
    EVP_PKEY_free(fx.euicc_key);
    EVP_PKEY_free(fx.dppb_key);
    EVP_PKEY_free(fx.dmca_key);
    EVP_PKEY_free(fx.dm_key);
    EVP_PKEY_free(fx.other_key);
    X509_free(fx.ci);
    X509_free(fx.eum);
    X509_free(fx.euicc);
    X509_free(fx.dppb);
    X509_free(fx.dmca);
    X509_free(fx.dm);
    cert_trust_free(fx.trust);
    memset(&fx, 0, sizeof(fx));
}

/* Personalises a card (3 one-time keys) into a fresh temp dir; returns the dir (free()). */
static char *card_dir_new(void) {
    card_state_t *s = card_state_new();
    char *dir = tu_tmpdir("hostile-card");
    char sub[4096];

    fx_init();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    memcpy(s->eid, fx.eid, sizeof(s->eid));
    CU_ASSERT_FATAL(EVP_PKEY_up_ref(fx.euicc_key) && X509_up_ref(fx.euicc) && X509_up_ref(fx.eum)
                    && X509_up_ref(fx.dm));
    s->sk_euicc = fx.euicc_key;
    s->cert_euicc = fx.euicc;
    s->cert_eum = fx.eum;
    s->dm_cert = fx.dm;
    s->dm_pub = X509_get_pubkey(fx.dm);
    CU_ASSERT_EQUAL_FATAL(card_state_add_ci(s, fx.ci), ST_OK);
    for (uint32_t i = 1; i <= 3; i++) {
        EVP_PKEY *k = NULL;
        CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &k), ST_OK);
        CU_ASSERT_EQUAL_FATAL(card_state_add_key(s, i, k), ST_OK);
    }
    snprintf(sub, sizeof(sub), "%s/card", dir);
    CU_ASSERT_EQUAL_FATAL(card_state_save_all(s, sub), ST_OK);
    card_state_free(s);
    return dir;
}

/* ---- the manifest ---- */

typedef struct {
    char path[256];
    char kind[32];
    char expect[160];
} entry_t;

static struct {
    bool loaded;
    entry_t *e;
    size_t n;
} mf;

static char *corpus_path(const char *rel) {
    char *p = NULL;
    if (asprintf(&p, "%s/tests/hostile/%s", tu_source_dir(), rel) < 0)
        return NULL;
    return p;
}

static bool manifest_load(void) {
    char *path;
    buf_t b = BUF_INIT;
    char *line, *save = NULL;

    if (mf.loaded)
        return mf.n > 0;
    mf.loaded = true;
    path = corpus_path("MANIFEST");
    if (!path || buf_read_file(&b, path, 1u << 20) != ST_OK || buf_append_byte(&b, 0) != ST_OK) {
        fprintf(stderr, "\nhostile: cannot read %s (IFPP_SOURCE_DIR=%s)\n", path ? path : "?",
                tu_source_dir());
        free(path);
        buf_free(&b);
        return false;
    }
    free(path);
    for (line = strtok_r((char *)b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        entry_t e;
        entry_t *ne;
        if (line[0] == '#' || line[0] == '\0')
            continue;
        memset(&e, 0, sizeof(e));
        if (sscanf(line, "%255s %31s %159s", e.path, e.kind, e.expect) != 3)
            continue;
        ne = realloc(mf.e, (mf.n + 1) * sizeof(*ne));
        if (!ne)
            break;
        mf.e = ne;
        mf.e[mf.n++] = e;
    }
    buf_free(&b);
    return mf.n > 0;
}

static st_t st_parse_name(const char *name) {
    for (int i = 0; i < ST__COUNT; i++)
        if (strcmp(st_name((st_t)i), name) == 0)
            return (st_t)i;
    return ST__COUNT;
}

/* Reads one corpus file (whole). */
static bool read_corpus(const char *rel, buf_t *b) {
    char *p = corpus_path(rel);
    st_t st = p ? buf_read_file(b, p, 16u << 20) : ST_E_NOMEM;
    free(p);
    return st == ST_OK;
}

/* ---- per-kind runners: return the status the parser gave ---- */

static st_t run_tlv(const buf_t *b) {
    tlv_t t;
    return tlv_parse_exact(b->data, b->len, &t);
}

static st_t run_bpp(const buf_t *b) {
    bpp_view_t v;
    return bpp_parse(b->data, b->len, &v);
}

static st_t run_pir(const buf_t *b) {
    pir_view_t v;
    st_t st = pir_parse(b->data, b->len, &v);
    if (st == ST_OK) /* a PIR only counts once its signature verifies with CERT.EUICC */
        st = pir_verify(&v, X509_get0_pubkey(fx.euicc));
    return st;
}

static st_t run_ifppe(const buf_t *b) {
    ifpp_edata_t *d = NULL;
    ifpp_err_t err;
    st_t st = ifpp_edata_decode_ex(b->data, b->len, &d, &err);
    if (st != ST_OK) {
        CU_ASSERT_PTR_NULL(d);
        CU_ASSERT_EQUAL(err.st, st);
    }
    ifpp_edata_free(st == ST_OK ? d : NULL);
    return st;
}

static st_t run_ifppr(const buf_t *b) {
    ifpp_request_t *r = NULL;
    ifpp_err_t err;
    st_t st = ifpp_request_decode_ex(b->data, b->len, &r, &err);
    if (st != ST_OK) {
        CU_ASSERT_PTR_NULL(r);
        CU_ASSERT_EQUAL(err.st, st);
    }
    ifpp_request_free(st == ST_OK ? r : NULL);
    return st;
}

static st_t run_ifppl(const buf_t *b) {
    ifpp_report_t *r = NULL;
    ifpp_err_t err;
    st_t st = ifpp_report_decode_ex(b->data, b->len, &r, &err);
    if (st != ST_OK) {
        CU_ASSERT_PTR_NULL(r);
        CU_ASSERT_EQUAL(err.st, st);
    }
    ifpp_report_free(st == ST_OK ? r : NULL);
    return st;
}

/* The streaming bundle reader over the file itself; ST_OK = read to a clean end. */
static st_t run_ifppb(const char *rel) {
    char *p = corpus_path(rel);
    FILE *f = p ? fopen(p, "rb") : NULL;
    ifpp_bundle_reader_t *r = NULL;
    ifpp_bundle_entry_t e;
    ifpp_err_t err;
    st_t st;

    free(p);
    if (!f)
        return ST_E_IO;
    st = ifpp_bundle_reader_open_ex(f, NULL, NULL, &r, &err);
    if (st != ST_OK) {
        CU_ASSERT_PTR_NULL(r);
        CU_ASSERT_EQUAL(err.st, st);
    } else {
        while ((st = ifpp_bundle_reader_next(r, &e)) == ST_OK)
            ;
        if (st == ST_E_NOENT)
            st = ST_OK;
        else
            CU_ASSERT_EQUAL(ifpp_bundle_reader_error(r)->st, st);
        /* errors are sticky */
        if (st != ST_OK)
            CU_ASSERT_EQUAL(ifpp_bundle_reader_next(r, &e), st);
        ifpp_bundle_reader_free(r);
    }
    fclose(f);
    return st;
}

static st_t run_cert(const buf_t *b) {
    X509 *x = NULL;
    st_t st = cert_from_der(b->data, b->len, &x);
    if (st != ST_OK) {
        CU_ASSERT_PTR_NULL(x);
        return st;
    }
    st = cert_verify_chain(fx.trust, x, NULL, NULL);
    X509_free(x);
    return st;
}

static st_t run_cms(const buf_t *b) {
    buf_t content = BUF_INIT;
    X509 *signer = NULL;
    st_t st = cms_verify_attached(fx.trust, b->data, b->len, &content, &signer);
    if (st != ST_OK) {
        CU_ASSERT_EQUAL(content.len, 0);
        CU_ASSERT_PTR_NULL(signer);
    }
    X509_free(signer);
    buf_free(&content);
    return st;
}

static st_t run_config(const char *rel) {
    char *p = corpus_path(rel);
    config_t *cfg = NULL;
    char err[512];
    st_t st;

    if (!p)
        return ST_E_NOMEM;
    st = config_load(p, &cfg, err, sizeof(err));
    if (st != ST_OK) {
        CU_ASSERT_PTR_NULL(cfg);
        /* one line for the operator naming the file */
        CU_ASSERT(strncmp(err, p, strlen(p)) == 0 && strchr(err, '\n') == NULL);
    }
    config_free(cfg);
    free(p);
    return st;
}

/* ---- APDU script files (.rapdu/.capdu): one hex APDU per line, "HEX xN" repeats ---- */

typedef struct {
    buf_t *items;
    size_t n;
} apdus_t;

static void apdus_free(apdus_t *a) {
    for (size_t i = 0; i < a->n; i++)
        buf_free(&a->items[i]);
    free(a->items);
    memset(a, 0, sizeof(*a));
}

static bool apdus_load(const char *rel, apdus_t *out) {
    buf_t b = BUF_INIT;
    char *line, *save = NULL;
    bool ok = true;

    memset(out, 0, sizeof(*out));
    if (!read_corpus(rel, &b) || buf_append_byte(&b, 0) != ST_OK) {
        buf_free(&b);
        return false;
    }
    for (line = strtok_r((char *)b.data, "\n", &save); line && ok;
         line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#'), *x;
        unsigned long rep = 1;
        buf_t one = BUF_INIT;
        if (hash)
            *hash = '\0';
        if ((x = strstr(line, " x")) != NULL) {
            rep = strtoul(x + 2, NULL, 10);
            *x = '\0';
        }
        if (strspn(line, " \t\r") == strlen(line))
            continue;
        if (hex_decode(line, &one) != ST_OK || rep == 0 || rep > 100000) {
            ok = false;
            break;
        }
        for (unsigned long i = 0; i < rep && ok; i++) {
            buf_t *ni = realloc(out->items, (out->n + 1) * sizeof(*ni));
            if (!ni) {
                ok = false;
                break;
            }
            out->items = ni;
            memset(&out->items[out->n], 0, sizeof(buf_t));
            ok = buf_append(&out->items[out->n], one.data, one.len) == ST_OK;
            out->n++;
        }
        buf_free(&one);
    }
    buf_free(&b);
    if (!ok)
        apdus_free(out);
    return ok;
}

/* ---- ES10: the station's client against the hostile card answers ---- */

static st_t run_es10(const char *rel, const char *kind) {
    apdus_t a;
    fake_card_t *fc = NULL;
    transport_t *t = NULL;
    es10_t *s = NULL;
    es10_opts_t opts = {0};
    es10_result_t res;
    buf_t out = BUF_INIT, bpp = BUF_INIT;
    st_t st;

    if (!apdus_load(rel, &a))
        return ST_E_IO;
    CU_ASSERT_EQUAL_FATAL(fake_card_new(TRANSPORT_PROTO_T1, &fc, &t), ST_OK);
    fake_card_expect(fc, "00A40400*", "9000"); /* SELECT ISD-R on the basic channel */
    /* the file's answers, in order, whatever the station sends */
    for (size_t i = 0; i < a.n; i++) {
        char *hex = malloc(2 * a.items[i].len + 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(hex);
        hex_encode(a.items[i].data, a.items[i].len, hex);
        fake_card_expect(fc, "*", hex);
        free(hex);
    }
    fake_card_expect_fail(fc, "*", ST_E_CARD_REMOVED); /* after the script: the card is gone */
    opts.basic_channel = true;
    opts.no_terminal_capability = true;
    CU_ASSERT_EQUAL_FATAL(es10_open(t, &opts, &s, &res), ST_OK);
    if (strcmp(kind, "es10-eid") == 0) {
        uint8_t eid[16];
        st = es10c_get_eid(s, eid, &res);
    } else if (strcmp(kind, "es10-info2") == 0) {
        st = es10b_get_euicc_info2(s, &out, &res);
        if (st != ST_OK)
            CU_ASSERT_EQUAL(out.len, 0);
    } else if (strcmp(kind, "es10-challenge") == 0) {
        uint8_t chal[16];
        st = es10b_get_euicc_challenge(s, chal, &res);
    } else if (strcmp(kind, "es10-profiles") == 0) {
        es10_profile_list_t l;
        st = es10c_list_profile_info(s, &l, &res);
        if (st != ST_OK)
            CU_ASSERT(l.n == 0 && l.items == NULL);
        es10_profile_list_free(&l);
    } else if (strcmp(kind, "es10-notifs") == 0) {
        es10_notification_list_t l;
        st = es10b_retrieve_notifications_list(s, &l, &res);
        if (st != ST_OK)
            CU_ASSERT(l.n == 0 && l.items == NULL);
        es10_notification_list_free(&l);
    } else if (strcmp(kind, "es10-remove") == 0) {
        st = es10b_remove_notification(s, 1, &res);
    } else if (strcmp(kind, "es10-lbpp") == 0) {
        CU_ASSERT_FATAL(read_corpus("bpp/00-valid.der", &bpp));
        st = es10b_load_bound_profile_package(s, bpp.data, bpp.len, &out, NULL, NULL, NULL, &res);
    } else if (strcmp(kind, "es10f-auth") == 0) {
        st = es10f_authorise_fpa_services(s, fx.dm_key, fx.eid, NULL, &res);
    } else if (strcmp(kind, "es10f-prepare") == 0) {
        uint8_t cert[300];
        memset(cert, 0x11, sizeof(cert));
        cert[0] = 0x30;
        cert[1] = 0x82;
        cert[2] = 0x01;
        cert[3] = 0x28; /* 296 */
        st = es10f_prepare_load(s, 1, cert, sizeof(cert), NULL, 0, &res);
    } else if (strcmp(kind, "es10f-delete") == 0) {
        uint64_t n = 99;
        st = es10f_delete_one_time_keys(s, &n, &res);
    } else if (strcmp(kind, "es10f-status") == 0) {
        es10f_key_status_t ks;
        st = es10f_get_one_time_key_status(s, &ks, &res);
    } else {
        fprintf(stderr, "\nhostile: %s: unknown kind %s\n", rel, kind);
        st = ST_E_INTERNAL;
    }
    es10_close(s);
    transport_free(t);
    apdus_free(&a);
    buf_free(&out);
    buf_free(&bpp);
    return st;
}

/* ---- the simulated eUICC ---- */

/* Sends the file's C-APDUs (61xx after the last one drained with GET RESPONSE); writes
 * "sw=XXXX" and "resp=HEX" of the last command into sw_out / resp_out. Checks that the card's
 * persistent state did not change. */
static bool run_card(const char *rel, char *sw_out, size_t sw_len, char *resp_out,
                     size_t resp_len) {
    char *dir = card_dir_new();
    char sub[4096], state_path[4200];
    buf_t before = BUF_INIT, after = BUF_INIT, last = BUF_INIT, r = BUF_INIT;
    card_state_t *s = NULL;
    card_t *c = NULL;
    apdus_t a;
    uint16_t sw = 0;
    bool ok = false;

    snprintf(sub, sizeof(sub), "%s/card", dir);
    snprintf(state_path, sizeof(state_path), "%s/card.state", sub);
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&before, state_path, 1u << 20), ST_OK);
    CU_ASSERT_EQUAL_FATAL(card_state_load(sub, &s), ST_OK);
    CU_ASSERT_EQUAL_FATAL(card_new(s, NULL, &c), ST_OK);
    card_power_on(c);
    if (!apdus_load(rel, &a))
        goto out;
    for (size_t i = 0; i < a.n; i++) {
        buf_reset(&r);
        CU_ASSERT_EQUAL(card_process_apdu(c, a.items[i].data, a.items[i].len, &r), ST_OK);
        CU_ASSERT_FATAL(r.len >= 2 && r.len <= 258);
        sw = (uint16_t)(r.data[r.len - 2] << 8 | r.data[r.len - 1]);
        buf_reset(&last);
        buf_append(&last, r.data, r.len - 2);
    }
    for (int rounds = 0; (sw >> 8) == 0x61 && rounds < 64 && a.n; rounds++) {
        uint8_t gr[5] = {(uint8_t)(a.items[a.n - 1].data[0] & 0x4F), 0xC0, 0, 0, (uint8_t)sw};
        if (!(gr[0] & 0x40))
            gr[0] &= 0x03;
        buf_reset(&r);
        CU_ASSERT_EQUAL(card_process_apdu(c, gr, sizeof(gr), &r), ST_OK);
        CU_ASSERT_FATAL(r.len >= 2);
        sw = (uint16_t)(r.data[r.len - 2] << 8 | r.data[r.len - 1]);
        buf_append(&last, r.data, r.len - 2);
    }
    snprintf(sw_out, sw_len, "sw=%04X", sw);
    {
        size_t n = snprintf(resp_out, resp_len, "resp=");
        for (size_t i = 0; i < last.len && n + 3 < resp_len; i++)
            n += snprintf(resp_out + n, resp_len - n, "%02X", last.data[i]);
        if (n + 5 < resp_len)
            snprintf(resp_out + n, resp_len - n, "%04X", sw);
    }
    /* no state change: the one-time keys, the profiles and the file are as they were */
    CU_ASSERT_EQUAL(card_state_count_keys(card_get_state(c), OTK_UNUSED), 3);
    CU_ASSERT_EQUAL(card_get_state(c)->n_profiles, 0);
    CU_ASSERT_EQUAL(card_get_state(c)->n_notifs, 0);
    CU_ASSERT_EQUAL(buf_read_file(&after, state_path, 1u << 20), ST_OK);
    CU_ASSERT(after.len == before.len && memcmp(after.data, before.data, after.len) == 0);
    apdus_free(&a);
    ok = true;
out:
    card_free(c);
    buf_free(&before);
    buf_free(&after);
    buf_free(&last);
    buf_free(&r);
    tu_rmrf(dir);
    free(dir);
    return ok;
}

/* ---- the corpus tests ---- */

static size_t checked, failed;

static void check_kind(const char *prefix) {
    fx_init();
    CU_ASSERT_FATAL(manifest_load());
    for (size_t i = 0; i < mf.n; i++) {
        const entry_t *e = &mf.e[i];
        char got[600];
        bool pass;
        if (strncmp(e->kind, prefix, strlen(prefix)) != 0)
            continue;
        if (strcmp(e->kind, "card") == 0) {
            char sw[16], resp[560];
            CU_ASSERT_FATAL(run_card(e->path, sw, sizeof(sw), resp, sizeof(resp)));
            pass = strcmp(e->expect, strncmp(e->expect, "sw=", 3) == 0 ? sw : resp) == 0;
            snprintf(got, sizeof(got), "%s", strncmp(e->expect, "sw=", 3) == 0 ? sw : resp);
        } else {
            st_t want = st_parse_name(e->expect), st;
            buf_t b = BUF_INIT;
            CU_ASSERT_FATAL(want != ST__COUNT);
            if (strcmp(e->kind, "ifppb") == 0) {
                st = run_ifppb(e->path);
            } else if (strcmp(e->kind, "config") == 0) {
                st = run_config(e->path);
            } else if (strncmp(e->kind, "es10", 4) == 0) {
                st = run_es10(e->path, e->kind);
            } else {
                CU_ASSERT_FATAL(read_corpus(e->path, &b));
                if (strcmp(e->kind, "tlv") == 0)
                    st = run_tlv(&b);
                else if (strcmp(e->kind, "bpp") == 0)
                    st = run_bpp(&b);
                else if (strcmp(e->kind, "pir") == 0)
                    st = run_pir(&b);
                else if (strcmp(e->kind, "ifppe") == 0)
                    st = run_ifppe(&b);
                else if (strcmp(e->kind, "ifppr") == 0)
                    st = run_ifppr(&b);
                else if (strcmp(e->kind, "ifppl") == 0)
                    st = run_ifppl(&b);
                else if (strcmp(e->kind, "cert") == 0)
                    st = run_cert(&b);
                else if (strcmp(e->kind, "cms") == 0)
                    st = run_cms(&b);
                else
                    st = ST__COUNT;
            }
            buf_free(&b);
            pass = st == want;
            snprintf(got, sizeof(got), "%s", st < ST__COUNT ? st_name(st) : "(unknown kind)");
        }
        checked++;
        if (!pass) {
            failed++;
            fprintf(stderr, "\n  hostile: %s (%s): got %s, expected %s", e->path, e->kind, got,
                    e->expect);
        }
        CU_ASSERT(pass);
    }
}

static void test_manifest(void) {
    size_t hostile = 0;
    CU_ASSERT_FATAL(manifest_load());
    for (size_t i = 0; i < mf.n; i++) {
        buf_t b = BUF_INIT;
        if (strcmp(mf.e[i].expect, "ST_OK") != 0)
            hostile++;
        CU_ASSERT(read_corpus(mf.e[i].path, &b)); /* every listed file is there */
        buf_free(&b);
    }
    CU_ASSERT(hostile >= MIN_HOSTILE);
}

static void test_tlv(void) {
    check_kind("tlv");
}
static void test_bpp(void) {
    check_kind("bpp");
}
static void test_pir(void) {
    check_kind("pir");
}
static void test_ifpp(void) {
    check_kind("ifpp");
}
static void test_cert(void) {
    check_kind("cert");
}
static void test_cms(void) {
    check_kind("cms");
}
static void test_config(void) {
    check_kind("config");
}
static void test_es10(void) {
    check_kind("es10");
}
static void test_card(void) {
    check_kind("card");
}

static void test_summary(void) {
    fprintf(stderr, "\n  hostile: %zu corpus files checked, %zu failed", checked, failed);
    CU_ASSERT(checked == mf.n);
    CU_ASSERT(failed == 0);
    free(mf.e);
    memset(&mf, 0, sizeof(mf));
}

/* ---- cases that need this PKI ---- */

/* Two signers, both chaining to the trust anchors, both signatures valid: still refused. */
static void test_cms_two_valid_signers(void) {
    static const char content[] = "two signers";
    BIO *in = NULL;
    CMS_ContentInfo *cms = NULL;
    unsigned char *der = NULL;
    buf_t out = BUF_INIT, one = BUF_INIT;
    X509 *signer = NULL;
    int len;

    fx_init();
    in = BIO_new_mem_buf(content, (int)strlen(content));
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    cms = CMS_sign(fx.eum, fx.eum_key, NULL, in, CMS_BINARY | CMS_PARTIAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cms);
    CU_ASSERT_PTR_NOT_NULL_FATAL(CMS_add1_signer(cms, fx.dm, fx.dm_key, EVP_sha256(), 0));
    (void)BIO_reset(in);
    CU_ASSERT_FATAL(CMS_final(cms, in, NULL, CMS_BINARY) == 1);
    len = i2d_CMS_ContentInfo(cms, &der);
    CU_ASSERT_FATAL(len > 0);
    CU_ASSERT_EQUAL(cms_verify_attached(fx.trust, der, (size_t)len, &out, &signer), ST_E_PARSE);
    CU_ASSERT_EQUAL(out.len, 0);
    CU_ASSERT_PTR_NULL(signer);
    /* the same signers one at a time do verify: the refusal is about the count */
    CU_ASSERT_EQUAL(
        cms_sign(fx.dm_key, fx.dm, NULL, (const uint8_t *)content, strlen(content), false, &one),
        ST_OK);
    CU_ASSERT_EQUAL(cms_verify_attached(fx.trust, one.data, one.len, &out, &signer), ST_OK);
    X509_free(signer);
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    buf_free(&out);
    buf_free(&one);
}

/* A transport over the simulated card (no PC/SC), for the log test below. */
static st_t ct_open(void *priv, const char *reader) {
    (void)reader;
    card_power_on(priv);
    return ST_OK;
}
static void ct_close(void *priv) {
    (void)priv;
}
static st_t ct_transmit(void *priv, const uint8_t *c, size_t clen, uint8_t *r, size_t rcap,
                        size_t *rlen) {
    buf_t resp = BUF_INIT;
    st_t st = card_process_apdu(priv, c, clen, &resp);
    if (st == ST_OK && resp.len > rcap)
        st = ST_E_PROTO;
    if (st == ST_OK) {
        memcpy(r, resp.data, resp.len);
        *rlen = resp.len;
    }
    buf_free(&resp);
    return st;
}
static st_t ct_info(void *priv, transport_info_t *out) {
    memset(out, 0, sizeof(*out));
    out->proto = TRANSPORT_PROTO_T1;
    out->atr_len = card_atr(priv, out->atr);
    return ST_OK;
}
static void ct_destroy(void *priv) {
    (void)priv; /* the card belongs to the test */
}
static const transport_ops_t ct_ops = {
    .name = "hostile-card",
    .open = ct_open,
    .close = ct_close,
    .transmit = ct_transmit,
    .info = ct_info,
    .destroy = ct_destroy,
};

static void log_capture(st_log_level_t level, const char *msg, void *ud) {
    (void)level;
    buf_append(ud, msg, strlen(msg));
    buf_append_byte(ud, '\n');
}

/* True when the hex of p[0..n) appears in the log (upper or lower case). */
static bool log_has_hex(const buf_t *log, const uint8_t *p, size_t n) {
    char *hex = malloc(2 * n + 1);
    bool found;

    CU_ASSERT_PTR_NOT_NULL_FATAL(hex);
    if (!hex)
        return true;
    hex_encode(p, n, hex);
    found = memmem(log->data, log->len, hex, 2 * n) != NULL;
    for (size_t i = 0; i < 2 * n; i++)
        if (hex[i] >= 'a' && hex[i] <= 'f')
            hex[i] = (char)(hex[i] - 'a' + 'A');
        else if (hex[i] >= 'A' && hex[i] <= 'F')
            hex[i] = (char)(hex[i] - 'A' + 'a');
    found = found || memmem(log->data, log->len, hex, 2 * n) != NULL;
    free(hex);
    return found;
}

/*
 * A whole FF40 + FF41 + LoadBoundProfilePackage through the station's ES10 client at TRACE
 * level (every APDU in hex), card and station logging into one sink: the BPP's ciphertext is
 * there (the trace is on), but no private key (DM key, SK.EUICC, one-time keys, SM-DPf) and no
 * clear-text profile byte is (GENS09/10; HACKING: "never key material or decrypted profile").
 */
static void test_no_secrets_in_trace(void) {
    char *dir = card_dir_new();
    char sub[4096];
    card_state_t *s = NULL;
    card_t *c = NULL;
    transport_t *t = NULL;
    es10_t *es = NULL;
    es10_result_t res;
    buf_t log = BUF_INIT, der = BUF_INIT, meta = BUF_INIT, upp = BUF_INIT, bpp = BUF_INIT;
    buf_t pir = BUF_INIT;
    uint8_t hdr[TK_ICCID_LEN], iccid[TK_ICCID_LEN], tid[16], scalar[EC_SCALAR_LEN];
    st_log_level_t old = st_log_get_level();
    pir_view_t v;

    snprintf(sub, sizeof(sub), "%s/card", dir);
    CU_ASSERT_EQUAL_FATAL(card_state_load(sub, &s), ST_OK);
    CU_ASSERT_EQUAL_FATAL(card_new(s, NULL, &c), ST_OK);
    s = card_get_state(c);
    /* the BPP, bound to one-time key 1 */
    CU_ASSERT_EQUAL_FATAL(tk_iccid_from_digits("894900000000000077", hdr), ST_OK);
    tk_iccid_swap(hdr, iccid);
    CU_ASSERT_EQUAL_FATAL(tk_bpp_metadata(iccid, "LogSP", "LogProfile", -1, &meta), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tk_upp_generate(hdr, "log", 3000, &upp), ST_OK);
    memset(tid, 0x5A, sizeof(tid));
    tk_bpp_in_t in = {
        .dppb_key = fx.dppb_key,
        .euicc_otpk = card_state_find_key(s, 1)->otpk,
        .eid = fx.eid,
        .tid = tid,
        .tid_len = sizeof(tid),
        .host_id = (const uint8_t *)"LOG-HOST",
        .host_id_len = 8,
        .metadata = meta.data,
        .metadata_len = meta.len,
        .upp = upp.data,
        .upp_len = upp.len,
    };
    CU_ASSERT_EQUAL_FATAL(tk_bpp_build(&in, &bpp), ST_OK);
    CU_ASSERT_EQUAL_FATAL(cert_to_der(fx.dppb, &der), ST_OK);

    st_log_set_sink(log_capture, &log);
    st_log_set_level(ST_LOG_TRACE);
    CU_ASSERT_EQUAL_FATAL(transport_new(&ct_ops, c, &t), ST_OK);
    CU_ASSERT_EQUAL(transport_open(t, "hostile 00 00"), ST_OK);
    CU_ASSERT_EQUAL_FATAL(es10_open(t, NULL, &es, &res), ST_OK);
    CU_ASSERT_EQUAL(es10f_authorise_fpa_services(es, fx.dm_key, fx.eid, NULL, &res), ST_OK);
    CU_ASSERT_EQUAL(res.code, ES10F_OK);
    CU_ASSERT_EQUAL(es10f_prepare_load(es, 1, der.data, der.len, NULL, 0, &res), ST_OK);
    CU_ASSERT_EQUAL(res.code, ES10F_OK);
    CU_ASSERT_EQUAL(
        es10b_load_bound_profile_package(es, bpp.data, bpp.len, &pir, NULL, NULL, NULL, &res),
        ST_OK);
    es10_close(es);
    transport_free(t);
    st_log_set_level(old);
    st_log_set_sink(NULL, NULL);

    CU_ASSERT_EQUAL_FATAL(pir_parse(pir.data, pir.len, &v), ST_OK);
    CU_ASSERT(v.success);
    /* the trace was on: the last 86 segment (ciphertext) is in it */
    CU_ASSERT(log_has_hex(&log, bpp.data + bpp.len - 32, 32));
    /* no private key */
    CU_ASSERT_EQUAL(ec_privkey_to_scalar(fx.dm_key, scalar), ST_OK);
    CU_ASSERT(!log_has_hex(&log, scalar, 16));
    CU_ASSERT_EQUAL(ec_privkey_to_scalar(fx.euicc_key, scalar), ST_OK);
    CU_ASSERT(!log_has_hex(&log, scalar, 16));
    CU_ASSERT_EQUAL(ec_privkey_to_scalar(fx.dppb_key, scalar), ST_OK);
    CU_ASSERT(!log_has_hex(&log, scalar, 16));
    for (size_t i = 0; i < s->n_keys; i++) {
        if (!s->keys[i].otsk)
            continue; /* key 1 was erased on use (GENS08) */
        CU_ASSERT_EQUAL(ec_privkey_to_scalar(s->keys[i].otsk, scalar), ST_OK);
        CU_ASSERT(!log_has_hex(&log, scalar, 16));
    }
    /* no clear-text profile: no 24-byte window of the UPP (sampled) */
    for (size_t off = 0; off + 24 <= upp.len; off += 97)
        CU_ASSERT(!log_has_hex(&log, upp.data + off, 24));
    /* (StoreMetadata, the 88 segments, is MAC-only by SGP.22 design: ICCID, service provider
     * and profile name travel in clear and may be traced; they are not secrets.) */
    mem_wipe(scalar, sizeof(scalar));
    card_free(c);
    buf_free(&log);
    buf_free(&der);
    buf_free(&meta);
    buf_free(&upp);
    buf_free(&bpp);
    buf_free(&pir);
    tu_rmrf(dir);
    free(dir);
}

/*
 * GENS09/10, DESIGN §8: the station never decrypts. Checked on the binary itself: no BSP code
 * (session-key derivation, segment unwrapping) is linked into ifpp-station at all. The BPP
 * module it does use (fmt/bpp.c: structure, segments, smdpSign TBS) holds no key.
 */
static void test_station_cannot_decrypt(void) {
    char cmd[4200], line[512];
    FILE *p;
    size_t symbols = 0, bsp = 0;

    snprintf(cmd, sizeof(cmd), "nm -P '%s/station/ifpp-station' 2>/dev/null", tu_build_dir());
    p = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    while (fgets(line, sizeof(line), p)) {
        symbols++;
        if (strncmp(line, "bsp_", 4) == 0 || strstr(line, "bsp_unwrap") || strstr(line, "bsp_kdf"))
            bsp++;
    }
    pclose(p);
    if (symbols == 0) {
        tu_skip("hostile", "nm or the ifpp-station binary not available: decrypt check skipped");
        return;
    }
    CU_ASSERT_EQUAL(bsp, 0);
}

void test_hostile_register(void) {
    static const tu_test_t tests[] = {
        {"manifest lists >= 50 hostile files, all present", test_manifest},
        {"TLV reader", test_tlv},
        {"BPP (BF36) structure", test_bpp},
        {"PIR (BF37) parse and signature", test_pir},
        {"IFPP files (.ifppe .ifppr .ifppb .ifppl)", test_ifpp},
        {"certificates", test_cert},
        {"CMS SignedData", test_cms},
        {"station configuration", test_config},
        {"card answers to the ES10 client (incl. 61xx loops)", test_es10},
        {"simulated eUICC: APDU sequences, no state change", test_card},
        {"summary", test_summary},
        {"CMS with two valid, trusted signers", test_cms_two_valid_signers},
        {"no key or clear-text profile in a TRACE log of a load", test_no_secrets_in_trace},
        {"ifpp-station links no BSP decryption code (GENS09/10)", test_station_cannot_decrypt},
        {"cleanup", test_zz_cleanup},
    };
    TU_ADD_SUITE("hostile", tests);
}
