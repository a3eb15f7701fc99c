/*
 * gen_seeds.c - gen-fuzz-seeds OUTDIR: writes the seed corpora of fuzz-es10, fuzz-card,
 * fuzz-cms and fuzz-config into OUTDIR/fuzz-<name>/ (normally tests/fuzz/corpus).
 *
 * Built with the fuzz targets (-Dfuzz=true). The seeds come from the test kit itself:
 *   fuzz-es10    the R-APDUs the simulated eUICC really answers to the station's ES10 client
 *                (recorded through a transport over card_process_apdu), one seed per function,
 *                with a profile installed and its BF37 pending, also in T=0 mode (61xx);
 *   fuzz-card    operation sequences for the simulated eUICC: the ISO/ES10 basics, and a whole
 *                FF40 + FF41 + LoadBoundProfilePackage of a real BPP bound by the test SM-DPf's
 *                builder to one-time key 1 of the fuzzed card (keys are deterministic, see
 *                fuzz_common.h, so the BPP verifies in the fuzzing process), plain and PPK;
 *   fuzz-cms     SignedData made with cms_sign by the EUM, the DM and an SM-DPf (detached),
 *                each with its trust anchor, and bare certificates;
 *   fuzz-config  station configurations (every key, slots, comments).
 * Every seed is checked here before it is written (the flows succeed on a fresh card). The
 * output is deterministic in structure; signatures differ from run to run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../testkit/bpp_build.h"
#include "base/buf.h"
#include "base/log.h"
#include "card.h"
#include "crypto/cert.h"
#include "crypto/cms.h"
#include "crypto/ec.h"
#include "es10.h"
#include "fmt/bpp.h"
#include "fmt/es10f.h"
#include "fmt/pir.h"
#include "fuzz_common.h"
#include "state.h"
#include "tlv/tlv.h"

static const char *outdir;
static fz_pki_t pki;
static size_t n_written;

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "gen-fuzz-seeds: %s:%d: check failed: %s\n", __FILE__, __LINE__, #x);  \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void write_seed(const char *target, const char *name, const uint8_t *p, size_t n) {
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", outdir, target);
    CHECK(mkdir(path, 0755) == 0 || errno == EEXIST);
    snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
    CHECK(buf_write_file_atomic(path, p, n, 0644) == ST_OK);
    n_written++;
}

/* A fresh fuzzed card (same personalisation as fuzz-card's) in its own temp dir. */
static card_t *fresh_card(bool t0_only, char **dir) {
    card_state_t *s = NULL;
    card_opts_t o;
    card_t *c = NULL;

    CHECK((*dir = fz_tmpdir("gen-seeds")) != NULL);
    CHECK(fz_card_personalise(&pki, *dir) == ST_OK);
    CHECK(card_state_load(*dir, &s) == ST_OK);
    card_opts_default(&o);
    o.t0_only = t0_only;
    CHECK(card_new(s, &o, &c) == ST_OK);
    card_power_on(c);
    return c;
}

static void drop_card(card_t *c, char *dir) {
    card_free(c);
    fz_rmdir_flat(dir);
    free(dir);
}

/* A BPP bound to one-time key `key` of the fuzzed card by the test SM-DPf's builder. */
static void make_bpp(uint32_t key, bool ppk, buf_t *bpp) {
    EVP_PKEY *otsk = NULL;
    uint8_t otpk[EC_POINT_LEN], hdr[TK_ICCID_LEN], iccid[TK_ICCID_LEN], tid[16];
    buf_t meta = BUF_INIT, upp = BUF_INIT;

    CHECK(fz_otk_key(key, &otsk) == ST_OK);
    CHECK(ec_pubkey_to_point(otsk, otpk) == ST_OK);
    EVP_PKEY_free(otsk);
    CHECK(tk_iccid_from_digits(ppk ? "894900000000000022" : "894900000000000011", hdr) == ST_OK);
    tk_iccid_swap(hdr, iccid);
    CHECK(tk_bpp_metadata(iccid, "FuzzSP", "FuzzProfile", -1, &meta) == ST_OK);
    CHECK(tk_upp_generate(hdr, "fuzz", 1200, &upp) == ST_OK);
    for (size_t i = 0; i < sizeof(tid); i++)
        tid[i] = (uint8_t)(0x10 + i);
    tk_bpp_in_t in = {
        .dppb_key = pki.dppb_key,
        .euicc_otpk = otpk,
        .eid = pki.eid,
        .tid = tid,
        .tid_len = sizeof(tid),
        .host_id = (const uint8_t *)"FUZZ-HOST",
        .host_id_len = 9,
        .metadata = meta.data,
        .metadata_len = meta.len,
        .upp = upp.data,
        .upp_len = upp.len,
        .ppk = ppk,
    };
    CHECK(tk_bpp_build(&in, bpp) == ST_OK);
    buf_free(&meta);
    buf_free(&upp);
}

/* ------------------------------------------------------------------ fuzz-es10 */

/* Runs es10_open and the given calls against a fresh card, recording every R-APDU. Before
 * that, `preload` (if set) installs a BPP so that profiles and a BF37 exist. */
static void es10_seed(const char *name, uint8_t flags, const uint8_t *sel, size_t nsel,
                      bool preload) {
    char *dir = NULL;
    card_t *c = fresh_card((flags & FZ_ES10_T0) != 0, &dir);
    buf_t rec = BUF_INIT, seed = BUF_INIT;
    transport_t *t = NULL;
    es10_t *s = NULL;
    es10_opts_t opts;
    es10_result_t res;

    memset(&opts, 0, sizeof(opts));
    opts.basic_channel = (flags & FZ_ES10_BASIC_CHANNEL) != 0;
    opts.no_terminal_capability = (flags & FZ_ES10_NO_TERM_CAP) != 0;
    opts.store_data_le = (flags & FZ_ES10_STORE_DATA_LE) != 0;
    if (preload) {
        buf_t bpp = BUF_INIT, pir = BUF_INIT;
        buf_t der = BUF_INIT;
        pir_view_t v;
        CHECK(fz_card_transport_new(c, NULL, &t) == ST_OK);
        CHECK(es10_open(t, &opts, &s, &res) == ST_OK);
        CHECK(es10f_authorise_fpa_services(s, pki.dm_key, pki.eid, NULL, &res) == ST_OK);
        CHECK(res.code == ES10F_OK);
        CHECK(cert_to_der(pki.dppb, &der) == ST_OK);
        CHECK(es10f_prepare_load(s, 1, der.data, der.len, NULL, 0, &res) == ST_OK);
        CHECK(res.code == ES10F_OK);
        make_bpp(1, false, &bpp);
        CHECK(es10b_load_bound_profile_package(s, bpp.data, bpp.len, &pir, NULL, NULL, NULL, &res)
              == ST_OK);
        CHECK(pir_parse(pir.data, pir.len, &v) == ST_OK && v.success);
        es10_close(s);
        transport_free(t);
        buf_free(&bpp);
        buf_free(&pir);
        buf_free(&der);
        card_reset(c);
    }
    CHECK(fz_card_transport_new(c, &rec, &t) == ST_OK);
    CHECK(es10_open(t, &opts, &s, &res) == ST_OK);
    for (size_t i = 0; i < nsel; i++) {
        uint8_t chal[16], eid[16];
        es10_profile_list_t pl;
        es10_notification_list_t nl;
        es10f_key_status_t ks;
        buf_t out = BUF_INIT;
        uint64_t deleted;
        switch (sel[i] & 0x0F) {
        case FZ_ES10_GET_EID:
            CHECK(es10c_get_eid(s, eid, &res) == ST_OK);
            break;
        case FZ_ES10_EUICC_INFO2:
            CHECK(es10b_get_euicc_info2(s, &out, &res) == ST_OK);
            break;
        case FZ_ES10_CHALLENGE:
            CHECK(es10b_get_euicc_challenge(s, chal, &res) == ST_OK);
            break;
        case FZ_ES10_LIST_PROFILES:
            CHECK(es10c_list_profile_info(s, &pl, &res) == ST_OK);
            CHECK(!preload || pl.n == 1);
            es10_profile_list_free(&pl);
            break;
        case FZ_ES10_NOTIFICATIONS:
            CHECK(es10b_retrieve_notifications_list(s, &nl, &res) == ST_OK);
            CHECK(!preload || nl.n == 1);
            es10_notification_list_free(&nl);
            break;
        case FZ_ES10_REMOVE_NOTIF:
            CHECK(es10b_remove_notification(s, sel[i] >> 4, &res) == ST_OK);
            break;
        case FZ_ES10_AUTHORISE:
            /* the station signs with fuzz-es10's DM key, which is this PKI's */
            memcpy(eid, pki.eid, sizeof(eid));
            CHECK(es10f_authorise_fpa_services(s, pki.dm_key, eid, NULL, &res) == ST_OK);
            break;
        case FZ_ES10_DELETE_KEYS:
            CHECK(es10f_delete_one_time_keys(s, &deleted, &res) == ST_OK);
            break;
        case FZ_ES10_KEY_STATUS:
            CHECK(es10f_get_one_time_key_status(s, &ks, &res) == ST_OK);
            break;
        case FZ_ES10_REOPEN:
            CHECK(es10_reopen(s, &res) == ST_OK);
            break;
        default:
            CHECK(!"selector without a recorded flow");
        }
        buf_free(&out);
    }
    es10_close(s);
    transport_free(t);
    CHECK(buf_append_byte(&seed, flags) == ST_OK && buf_append_byte(&seed, 0) == ST_OK);
    CHECK(buf_append_byte(&seed, (uint8_t)nsel) == ST_OK && buf_append(&seed, sel, nsel) == ST_OK);
    CHECK(buf_append(&seed, rec.data, rec.len) == ST_OK);
    write_seed("fuzz-es10", name, seed.data, seed.len);
    buf_free(&rec);
    buf_free(&seed);
    drop_card(c, dir);
}

/* The fixed BPP of fuzz-es10 acknowledged segment by segment, then a real BF37. */
static void es10_seed_load(void) {
    char *dir = NULL;
    card_t *c = fresh_card(false, &dir);
    buf_t rec = BUF_INIT, seed = BUF_INIT, bpp = BUF_INIT, real = BUF_INIT, pir = BUF_INIT;
    buf_t der = BUF_INIT;
    transport_t *t = NULL;
    es10_t *s = NULL;
    es10_result_t res;
    bpp_view_t v;
    bpp_segment_t *segs = NULL;
    size_t nsegs = 0;
    const uint8_t ok[2] = {0x90, 0x00};
    const uint8_t sel = (uint8_t)(2u << 4 | FZ_ES10_LOAD_BPP); /* 3 '86' segments */

    /* a real PIR from the card */
    CHECK(fz_card_transport_new(c, NULL, &t) == ST_OK);
    CHECK(es10_open(t, NULL, &s, &res) == ST_OK);
    CHECK(es10f_authorise_fpa_services(s, pki.dm_key, pki.eid, NULL, &res) == ST_OK);
    CHECK(cert_to_der(pki.dppb, &der) == ST_OK);
    CHECK(es10f_prepare_load(s, 2, der.data, der.len, NULL, 0, &res) == ST_OK);
    make_bpp(2, false, &real);
    CHECK(es10b_load_bound_profile_package(s, real.data, real.len, &pir, NULL, NULL, NULL, &res)
          == ST_OK);
    es10_close(s);
    transport_free(t);
    CHECK(pir.len + 2 <= TRANSPORT_MAX_RAPDU);
    CHECK(buf_append(&pir, ok, 2) == ST_OK);

    /* the opening of a session, recorded */
    card_reset(c);
    CHECK(fz_card_transport_new(c, &rec, &t) == ST_OK);
    CHECK(es10_open(t, NULL, &s, &res) == ST_OK);
    es10_close(s); /* records the close; dropped below */
    transport_free(t);
    /* TERMINAL CAPABILITY, MANAGE CHANNEL, SELECT: the first three chunks */
    {
        fz_in_t in = {rec.data, rec.len};
        const uint8_t *p;
        size_t n;
        for (int i = 0; i < 3; i++) {
            CHECK(fz_chunk(&in, 300, &p, &n));
        }
        rec.len = (size_t)(in.p - rec.data);
    }
    CHECK(fz_dummy_bpp(3, &bpp) == ST_OK);
    CHECK(bpp_parse(bpp.data, bpp.len, &v) == ST_OK);
    CHECK(bpp_segments(&v, &segs, &nsegs) == ST_OK);
    for (size_t i = 0; i < nsegs; i++) {
        size_t blocks = (segs[i].len + ES10_BLOCK_SIZE_DEFAULT - 1) / ES10_BLOCK_SIZE_DEFAULT;
        for (size_t b = 0; b < blocks; b++) {
            if (i + 1 == nsegs && b + 1 == blocks)
                CHECK(fz_put_chunk(&rec, pir.data, pir.len) == ST_OK);
            else
                CHECK(fz_put_chunk(&rec, ok, 2) == ST_OK);
        }
    }
    CHECK(fz_put_chunk(&rec, ok, 2) == ST_OK); /* MANAGE CHANNEL close */
    CHECK(buf_append_byte(&seed, 0) == ST_OK && buf_append_byte(&seed, 0) == ST_OK);
    CHECK(buf_append_byte(&seed, 1) == ST_OK && buf_append_byte(&seed, sel) == ST_OK);
    CHECK(buf_append(&seed, rec.data, rec.len) == ST_OK);
    write_seed("fuzz-es10", "load-bpp", seed.data, seed.len);
    free(segs);
    buf_free(&rec);
    buf_free(&seed);
    buf_free(&bpp);
    buf_free(&real);
    buf_free(&pir);
    buf_free(&der);
    drop_card(c, dir);
}

/* A 61xx loop that never ends: the APDU layer must cut it off. */
static void es10_seed_61_loop(void) {
    buf_t seed = BUF_INIT;
    const uint8_t ok[2] = {0x90, 0x00}, more[2] = {0x61, 0x00};
    const uint8_t sel = FZ_ES10_GET_EID;

    CHECK(buf_append_byte(&seed, FZ_ES10_BASIC_CHANNEL | FZ_ES10_NO_TERM_CAP) == ST_OK);
    CHECK(buf_append_byte(&seed, 0) == ST_OK && buf_append_byte(&seed, 1) == ST_OK);
    CHECK(buf_append_byte(&seed, sel) == ST_OK);
    CHECK(fz_put_chunk(&seed, ok, 2) == ST_OK); /* SELECT */
    for (int i = 0; i < 64; i++)
        CHECK(fz_put_chunk(&seed, more, 2) == ST_OK);
    write_seed("fuzz-es10", "get-response-loop", seed.data, seed.len);
    buf_free(&seed);
}

static void es10_seeds(void) {
    static const uint8_t basics[] = {FZ_ES10_GET_EID, FZ_ES10_EUICC_INFO2, FZ_ES10_CHALLENGE,
                                     FZ_ES10_KEY_STATUS};
    static const uint8_t lists[] = {FZ_ES10_LIST_PROFILES, FZ_ES10_NOTIFICATIONS,
                                    (uint8_t)(1u << 4 | FZ_ES10_REMOVE_NOTIF)};
    static const uint8_t fpa[] = {FZ_ES10_AUTHORISE, FZ_ES10_DELETE_KEYS, FZ_ES10_KEY_STATUS};
    static const uint8_t reopen[] = {FZ_ES10_REOPEN, FZ_ES10_GET_EID};
    uint8_t one;

    es10_seed("basics", 0, basics, sizeof(basics), false);
    es10_seed("basics-t0", FZ_ES10_T0, basics, sizeof(basics), false);
    es10_seed("basics-basic-channel", FZ_ES10_BASIC_CHANNEL | FZ_ES10_NO_TERM_CAP, basics,
              sizeof(basics), false);
    es10_seed("basics-le", FZ_ES10_STORE_DATA_LE, basics, sizeof(basics), false);
    es10_seed("lists-installed", 0, lists, sizeof(lists), true);
    es10_seed("lists-installed-t0", FZ_ES10_T0, lists, sizeof(lists), true);
    es10_seed("fpa-delete-keys", 0, fpa, sizeof(fpa), false);
    es10_seed("reopen", 0, reopen, sizeof(reopen), false);
    one = FZ_ES10_LIST_PROFILES;
    es10_seed("profiles-empty", 0, &one, 1, false);
    es10_seed_load();
    es10_seed_61_loop();
}

/* ------------------------------------------------------------------ fuzz-card */

typedef struct {
    buf_t seed;
} card_seq_t;

static void cs_op(card_seq_t *q, uint8_t op) {
    CHECK(buf_append_byte(&q->seed, op) == ST_OK);
}

static void cs_es10(card_seq_t *q, uint8_t ch, uint8_t bs, const uint8_t *p, size_t n) {
    cs_op(q, FZ_CARD_ES10);
    cs_op(q, ch);
    cs_op(q, bs);
    CHECK(fz_put_chunk(&q->seed, p, n) == ST_OK);
}

static void cs_es10_hex(card_seq_t *q, uint8_t ch, const char *hex) {
    buf_t b = BUF_INIT;
    CHECK(hex_decode(hex, &b) == ST_OK);
    cs_es10(q, ch, 0, b.data, b.len);
    buf_free(&b);
}

static void cs_apdu_hex(card_seq_t *q, const char *hex) {
    buf_t b = BUF_INIT;
    CHECK(hex_decode(hex, &b) == ST_OK);
    cs_op(q, FZ_CARD_APDU);
    CHECK(fz_put_chunk(&q->seed, b.data, b.len) == ST_OK);
    buf_free(&b);
}

static void cs_start(card_seq_t *q, uint8_t flags) {
    memset(q, 0, sizeof(*q));
    CHECK(buf_append_byte(&q->seed, flags) == ST_OK && buf_append_byte(&q->seed, 0) == ST_OK);
}

static void cs_write(card_seq_t *q, const char *name) {
    write_seed("fuzz-card", name, q->seed.data, q->seed.len);
    buf_free(&q->seed);
}

/* Checks on a card that a BPP bound to key 1 installs (as the fuzz-card seed will do it). */
static void check_bpp_installs(const buf_t *bpp) {
    char *dir = NULL;
    card_t *c = fresh_card(false, &dir);
    transport_t *t = NULL;
    es10_t *s = NULL;
    es10_result_t res;
    buf_t der = BUF_INIT, pir = BUF_INIT;
    pir_view_t v;

    CHECK(fz_card_transport_new(c, NULL, &t) == ST_OK);
    CHECK(es10_open(t, NULL, &s, &res) == ST_OK);
    CHECK(es10f_authorise_fpa_services(s, pki.dm_key, pki.eid, NULL, &res) == ST_OK);
    CHECK(res.code == ES10F_OK);
    CHECK(cert_to_der(pki.dppb, &der) == ST_OK);
    CHECK(es10f_prepare_load(s, 1, der.data, der.len, NULL, 0, &res) == ST_OK);
    CHECK(res.code == ES10F_OK);
    CHECK(es10b_load_bound_profile_package(s, bpp->data, bpp->len, &pir, NULL, NULL, NULL, &res)
          == ST_OK);
    CHECK(pir_parse(pir.data, pir.len, &v) == ST_OK && v.success);
    es10_close(s);
    transport_free(t);
    buf_free(&der);
    buf_free(&pir);
    drop_card(c, dir);
}

static void card_seed_load(const char *name, bool ppk) {
    card_seq_t q;
    buf_t bpp = BUF_INIT;
    bpp_view_t v;
    bpp_segment_t *segs = NULL;
    size_t nsegs = 0;

    make_bpp(1, ppk, &bpp);
    check_bpp_installs(&bpp);
    CHECK(bpp_parse(bpp.data, bpp.len, &v) == ST_OK);
    CHECK(bpp_segments(&v, &segs, &nsegs) == ST_OK);
    cs_start(&q, 0);
    cs_op(&q, FZ_CARD_OPEN_ISDR); /* channel 1 */
    cs_op(&q, FZ_CARD_AUTHORISE);
    cs_op(&q, 1);
    cs_op(&q, FZ_CARD_PREPARE);
    cs_op(&q, 1); /* channel */
    cs_op(&q, 1); /* key */
    cs_op(&q, 0); /* CERT.DPpb */
    for (size_t i = 0; i < nsegs; i++)
        cs_es10(&q, 1, 255, segs[i].p, segs[i].len);
    cs_es10_hex(&q, 1, "BF2D00");
    cs_es10_hex(&q, 1, "BF2B00");
    cs_es10_hex(&q, 1, "BF3003800101"); /* RemoveNotificationFromList seq 1 */
    cs_op(&q, FZ_CARD_AUTHORISE);
    cs_op(&q, 1);
    cs_es10_hex(&q, 1, "FF4203800101"); /* DeleteOneTimeKeys */
    cs_es10_hex(&q, 1, "FF4303800101");
    cs_es10_hex(&q, 1, "BF2D00");
    cs_write(&q, name);
    free(segs);
    buf_free(&bpp);
}

static void card_seeds(void) {
    card_seq_t q;

    /* ES10 basics on a logical channel */
    cs_start(&q, 0);
    cs_op(&q, FZ_CARD_OPEN_ISDR);
    cs_es10_hex(&q, 1, "BF3E035C015A"); /* GetEID */
    cs_es10_hex(&q, 1, "BF2000");       /* EUICCInfo1 */
    cs_es10_hex(&q, 1, "BF2200");       /* EUICCInfo2 */
    cs_es10_hex(&q, 1, "BF2E00");       /* challenge */
    cs_es10_hex(&q, 1, "BF2D00");       /* profiles */
    cs_es10_hex(&q, 1, "BF2B00");       /* notifications */
    cs_es10_hex(&q, 1, "FF4303800101"); /* key status */
    cs_es10_hex(&q, 1, "BF3103800101"); /* an LPA function: refused (EUICCF04) */
    cs_write(&q, "es10-basics");

    /* the ISO layer by hand: T=0 card, GET RESPONSE, channel close, reset */
    cs_start(&q, FZ_CARD_T0_ONLY);
    cs_apdu_hex(&q, "80AA000005A903830107");
    cs_apdu_hex(&q, "0070000001");
    cs_apdu_hex(&q, "0070000001");
    cs_apdu_hex(&q, "01A4040010A0000005591010FFFFFFFF890000010000");
    cs_apdu_hex(&q, "01C0000000");
    cs_apdu_hex(&q, "81E2910006BF3E035C015A");
    cs_apdu_hex(&q, "01C0000000");
    cs_apdu_hex(&q, "81E2110002BF2E");
    cs_apdu_hex(&q, "81E291010100");
    cs_apdu_hex(&q, "81C0000000");
    cs_apdu_hex(&q, "0070800200");
    cs_op(&q, FZ_CARD_RESET);
    cs_apdu_hex(&q, "00A4040010A0000005591010FFFFFFFF890000010000");
    cs_apdu_hex(&q, "80E2910003BF2200");
    cs_op(&q, FZ_CARD_POWER_CYCLE);
    cs_apdu_hex(&q, "00A404000CA0000005591010FFFFFFFF00");
    cs_write(&q, "iso-t0");

    /* FPA gating: FF41/FF42 without FF40, BF36 without FF41, wrong certificates */
    cs_start(&q, 0);
    cs_op(&q, FZ_CARD_OPEN_ISDR);
    cs_es10_hex(&q, 1, "FF4203800101");
    cs_op(&q, FZ_CARD_PREPARE);
    cs_op(&q, 1);
    cs_op(&q, 1);
    cs_op(&q, 0);
    cs_op(&q, FZ_CARD_AUTHORISE);
    cs_op(&q, 1);
    cs_op(&q, FZ_CARD_PREPARE);
    cs_op(&q, 1);
    cs_op(&q, 9); /* unknown key */
    cs_op(&q, 0);
    cs_op(&q, FZ_CARD_PREPARE);
    cs_op(&q, 1);
    cs_op(&q, 2);
    cs_op(&q, 1); /* CERT.EUM: wrong role */
    cs_es10_hex(&q, 1, "BF3603BF2300");
    cs_write(&q, "fpa-gating");

    card_seed_load("load-bpp", false);
    card_seed_load("load-bpp-ppk", true);
}

/* ------------------------------------------------------------------ fuzz-cms */

static void cms_seed(const char *name, uint8_t flags, X509 *anchor, EVP_PKEY *key, X509 *cert,
                     STACK_OF(X509) * chain, const uint8_t *content, size_t len) {
    buf_t seed = BUF_INIT, der = BUF_INIT, sig = BUF_INIT;
    cert_trust_t *trust = cert_trust_new();

    CHECK(trust && cert_trust_add(trust, anchor) == ST_OK);
    CHECK(cert_to_der(anchor, &der) == ST_OK);
    CHECK(buf_append_byte(&seed, flags) == ST_OK);
    CHECK(fz_put_chunk(&seed, der.data, der.len) == ST_OK);
    if (key) {
        bool detached = (flags & FZ_CMS_DETACHED) != 0;
        X509 *signer = NULL;
        CHECK(cms_sign(key, cert, chain, content, len, detached, &sig) == ST_OK);
        if (detached) {
            BIO *bio = BIO_new_mem_buf(content, (int)len);
            CHECK(bio && cms_verify_detached(trust, sig.data, sig.len, bio, &signer) == ST_OK);
            BIO_free(bio);
        } else {
            buf_t out = BUF_INIT;
            CHECK(cms_verify_attached(trust, sig.data, sig.len, &out, &signer) == ST_OK);
            buf_free(&out);
        }
        X509_free(signer);
        CHECK(buf_append(&seed, sig.data, sig.len) == ST_OK);
    }
    write_seed("fuzz-cms", name, seed.data, seed.len);
    cert_trust_free(trust);
    buf_free(&seed);
    buf_free(&der);
    buf_free(&sig);
}

static void cms_seeds(void) {
    static const uint8_t content[] = {0x30, 0x08, 0x02, 0x01, 0x01, 0x0C, 0x03, 'a', 'b', 'c'};
    STACK_OF(X509) *chain = sk_X509_new_null();

    CHECK(chain && sk_X509_push(chain, pki.eum) > 0);
    cms_seed("eum-attached", 0, pki.ci, pki.eum_key, pki.eum, NULL, content, sizeof(content));
    cms_seed("dm-attached", 0, pki.dmca, pki.dm_key, pki.dm, NULL, content, sizeof(content));
    cms_seed("dppb-detached", FZ_CMS_DETACHED, pki.ci, pki.dppb_key, pki.dppb, NULL,
             (const uint8_t *)FZ_CMS_CONTENT, strlen(FZ_CMS_CONTENT));
    cms_seed("euicc-attached-chain", 0, pki.ci, pki.euicc_key, pki.euicc, chain, content,
             sizeof(content));
    cms_seed("cert-euicc", 0, pki.euicc, NULL, NULL, NULL, NULL, 0);
    cms_seed("cert-eum", 0, pki.eum, NULL, NULL, NULL, NULL, 0);
    sk_X509_free(chain);
}

/* ------------------------------------------------------------------ fuzz-config */

static void config_seeds(void) {
    static const char full[] = "# ifpp-station configuration (every key)\n"
                               "[station]\n"
                               "id = line3-st1\n"
                               "state_dir = state\n"
                               "operator_pin_file = pins\n"
                               "\n"
                               "[store]\n"
                               "busy_timeout_ms = 5000\n"
                               "\n"
                               "[trust]\n"
                               "ci = ci-nist.pem\n"
                               "ci = /etc/ifpp-station/ci-brainpool.pem\n"
                               "\n"
                               "[smdpf]\n"
                               "allowed = 2.999.10, 2.999.11\n"
                               "allowed = 2.999.12\n"
                               "\n"
                               "[dm]\n"
                               "id = acme-factory-7\n"
                               "key = dm.key\n"
                               "cert = dm.pem\n"
                               "chain = dm-chain.pem\n"
                               "\n"
                               "[card]\n"
                               "isdr_aid = A0:00:00:05:59:10:10:FF:FF:FF:FF:89:00:00:01:00\n"
                               "block_size = 255\n"
                               "apdu_timeout_ms = 30000\n"
                               "\n"
                               "[readers]\n"
                               "max = 4\n"
                               "slot.A1 = Gemalto PC Twin Reader (3F0A1B2C)\n"
                               "slot.A2 = (3F0A1B2D)\n"
                               "\n"
                               "[policy]\n"
                               "unknown_eid = hold\n"
                               "delete_keys = after-load\n"
                               "max_retries = 3\n";
    static const char minimal[] = "[station]\nid = st1 ; inline comment\n";
    static const char testkit[] = "# written by ifpp-testkit pki init\n"
                                  "[station]\nid = STATION-01\nstate_dir = state\n"
                                  "[trust]\nci = ci.cert.pem\n"
                                  "[smdpf]\nallowed = 2.999.10, 2.999.12\n"
                                  "[dm]\nid = DM-TEST\nkey = dm.key.pem\ncert = dm.cert.pem\n"
                                  "[card]\nisdr_aid = A0000005591010FFFFFFFF8900000100\n"
                                  "block_size = 120\n";

    write_seed("fuzz-config", "full", (const uint8_t *)full, strlen(full));
    write_seed("fuzz-config", "minimal", (const uint8_t *)minimal, strlen(minimal));
    write_seed("fuzz-config", "testkit", (const uint8_t *)testkit, strlen(testkit));
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR (e.g. tests/fuzz/corpus)\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    fz_log_init();
    CHECK(fz_pki_init(&pki) == ST_OK);
    es10_seeds();
    card_seeds();
    cms_seeds();
    config_seeds();
    fz_pki_free(&pki);
    printf("gen-fuzz-seeds: %zu seeds written under %s\n", n_written, outdir);
    return 0;
}
