/*
 * Unit tests: the engine's pure decisions (slot transition table, settle rule, verdict,
 * units/hour) as tables, and whole jobs (job_run) against the scripted fake card with a real
 * store and real signatures: recovery from the notification list, recovery back to pending and
 * a reload, an error PIR, a profile without its PIR (ATTENTION), a card pulled mid-load, an
 * unknown card.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <sqlite3.h>
#include <openssl/x509.h>

#include "crypto/cert.h"
#include "crypto/certgen.h"
#include "crypto/ec.h"
#include "engine_internal.h"
#include "fake_card.h"
#include "fmt/bpp.h"
#include "fmt/pir.h"
#include "testutil.h"
#include "tlv/tlv.h"

/* ---- pure functions ---- */

static void test_slot_table(void) {
    static const struct {
        engine_slot_state_t s;
        engine_event_t ev;
        engine_slot_state_t want;
    } rows[] = {
        {ENGINE_SLOT_EMPTY, ENGINE_EV_INSERTED, ENGINE_SLOT_PRESENT},
        {ENGINE_SLOT_GONE, ENGINE_EV_INSERTED, ENGINE_SLOT_PRESENT},
        {ENGINE_SLOT_LOADING, ENGINE_EV_INSERTED, ENGINE_SLOT_LOADING},
        {ENGINE_SLOT_LOADING, ENGINE_EV_GONE, ENGINE_SLOT_GONE},
        {ENGINE_SLOT_PRESENT, ENGINE_EV_JOB, ENGINE_SLOT_AUTHORISING},
        {ENGINE_SLOT_PASS, ENGINE_EV_JOB, ENGINE_SLOT_AUTHORISING},
        {ENGINE_SLOT_FAIL, ENGINE_EV_JOB, ENGINE_SLOT_AUTHORISING},
        {ENGINE_SLOT_ATTENTION, ENGINE_EV_JOB, ENGINE_SLOT_AUTHORISING},
        {ENGINE_SLOT_EMPTY, ENGINE_EV_JOB, ENGINE_SLOT_EMPTY},
        {ENGINE_SLOT_LOADING, ENGINE_EV_JOB, ENGINE_SLOT_LOADING},
        {ENGINE_SLOT_AUTHORISING, ENGINE_EV_RECOVER, ENGINE_SLOT_RECOVERING},
        {ENGINE_SLOT_LOADING, ENGINE_EV_RECOVER, ENGINE_SLOT_LOADING},
        {ENGINE_SLOT_AUTHORISING, ENGINE_EV_LOAD, ENGINE_SLOT_LOADING},
        {ENGINE_SLOT_RECOVERING, ENGINE_EV_LOAD, ENGINE_SLOT_LOADING},
        {ENGINE_SLOT_VERIFYING, ENGINE_EV_LOAD, ENGINE_SLOT_VERIFYING},
        {ENGINE_SLOT_LOADING, ENGINE_EV_VERIFY, ENGINE_SLOT_VERIFYING},
        {ENGINE_SLOT_RECOVERING, ENGINE_EV_VERIFY, ENGINE_SLOT_VERIFYING},
        {ENGINE_SLOT_AUTHORISING, ENGINE_EV_DELETE, ENGINE_SLOT_DELETING},
        {ENGINE_SLOT_VERIFYING, ENGINE_EV_DELETE, ENGINE_SLOT_DELETING},
        {ENGINE_SLOT_LOADING, ENGINE_EV_DELETE, ENGINE_SLOT_LOADING},
        {ENGINE_SLOT_VERIFYING, ENGINE_EV_PASS, ENGINE_SLOT_PASS},
        {ENGINE_SLOT_DELETING, ENGINE_EV_PASS, ENGINE_SLOT_PASS},
        {ENGINE_SLOT_LOADING, ENGINE_EV_PASS, ENGINE_SLOT_LOADING},
        {ENGINE_SLOT_LOADING, ENGINE_EV_FAIL, ENGINE_SLOT_FAIL},
        {ENGINE_SLOT_AUTHORISING, ENGINE_EV_ATTENTION, ENGINE_SLOT_ATTENTION},
        {ENGINE_SLOT_PASS, ENGINE_EV_FAIL, ENGINE_SLOT_PASS},
        {ENGINE_SLOT_LOADING, ENGINE_EV_REMOVED, ENGINE_SLOT_EMPTY},
        {ENGINE_SLOT_PASS, ENGINE_EV_REMOVED, ENGINE_SLOT_EMPTY},
        {ENGINE_SLOT_PRESENT, ENGINE_EV_REMOVED, ENGINE_SLOT_EMPTY},
        {ENGINE_SLOT_GONE, ENGINE_EV_REMOVED, ENGINE_SLOT_GONE},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        engine_slot_state_t got = engine_slot_next(rows[i].s, rows[i].ev);
        if (got != rows[i].want)
            fprintf(stderr, "row %zu: %s + %d -> %s, want %s\n", i,
                    engine_slot_state_name(rows[i].s), (int)rows[i].ev, engine_slot_state_name(got),
                    engine_slot_state_name(rows[i].want));
        CU_ASSERT_EQUAL(got, rows[i].want);
    }
    CU_ASSERT_TRUE(engine_slot_busy(ENGINE_SLOT_LOADING));
    CU_ASSERT_FALSE(engine_slot_busy(ENGINE_SLOT_PASS));
    CU_ASSERT_STRING_EQUAL(engine_slot_state_name(ENGINE_SLOT_DELETING), "deleting-keys");
    CU_ASSERT_STRING_EQUAL(engine_slot_state_text(ENGINE_SLOT_PASS), "PASS");
    CU_ASSERT_STRING_EQUAL(engine_slot_state_name((engine_slot_state_t)99), "?");
    CU_ASSERT_STRING_EQUAL(engine_cmd_name(ENGINE_CMD_DELETE_KEYS), "delete-keys");
    CU_ASSERT_STRING_EQUAL(engine_fpa_error_text(ENGINE_FPA_NONE), "no error");
    CU_ASSERT_STRING_EQUAL(engine_fpa_error_text(12345), "unknown error");
}

static void test_settle_table(void) {
    enum { N = ENGINE_PIR_NONE, S = ENGINE_PIR_SUCCESS, E = ENGINE_PIR_ERROR };
    enum {
        KU = ENGINE_KEY_UNUSED,
        KC = ENGINE_KEY_CONSUMED,
        KD = ENGINE_KEY_DELETED,
        KX = ENGINE_KEY_NOT_ON_CARD,
        K0 = ENGINE_KEY_UNKNOWN
    };
    static const struct {
        int pir;
        bool verified, iccid, refused;
        int key;
        uint32_t retries;
        engine_settle_t want;
        int fpa;
        uint32_t attempts; /* retries exhausted: the cause's code, the attempts in the text */
    } rows[] = {
        /* the rows of engine_settle_decide()'s table, in order */
        {S, true, false, false, KC, 0, ENGINE_SETTLE_INSTALLED, ENGINE_FPA_NONE, 0},
        {S, true, true, false, K0, 9, ENGINE_SETTLE_INSTALLED, ENGINE_FPA_NONE, 0},
        {S, false, true, false, KC, 0, ENGINE_SETTLE_ATTENTION, ENGINE_FPA_PIR_SIGNATURE, 0},
        {E, true, false, false, KC, 0, ENGINE_SETTLE_DEAD, ENGINE_FPA_PIR_ERROR, 0},
        {E, true, false, false, KD, 0, ENGINE_SETTLE_DEAD, ENGINE_FPA_KEYS_DELETED, 0},
        {E, true, false, false, KX, 0, ENGINE_SETTLE_DEAD, ENGINE_FPA_UNKNOWN_KEY, 0},
        {E, true, false, false, KU, 0, ENGINE_SETTLE_FAILED, ENGINE_FPA_PIR_ERROR, 0},
        {E, false, false, false, K0, 2, ENGINE_SETTLE_FAILED, ENGINE_FPA_PIR_ERROR, 0},
        {E, true, false, false, KU, 3, ENGINE_SETTLE_DEAD, ENGINE_FPA_PIR_ERROR, 4},
        {E, true, false, false, K0, 5, ENGINE_SETTLE_DEAD, ENGINE_FPA_PIR_ERROR, 6},
        {N, false, true, false, KU, 0, ENGINE_SETTLE_ATTENTION, ENGINE_FPA_INTERRUPTED, 0},
        {N, false, false, false, KC, 0, ENGINE_SETTLE_DEAD, ENGINE_FPA_KEY_CONSUMED, 0},
        {N, false, false, true, KC, 0, ENGINE_SETTLE_DEAD, ENGINE_FPA_KEY_CONSUMED, 0},
        {N, false, false, false, KD, 0, ENGINE_SETTLE_DEAD, ENGINE_FPA_KEYS_DELETED, 0},
        {N, false, false, false, KX, 0, ENGINE_SETTLE_DEAD, ENGINE_FPA_UNKNOWN_KEY, 0},
        {N, false, false, true, KU, 0, ENGINE_SETTLE_FAILED, ENGINE_FPA_CARD_SW, 0},
        {N, false, false, true, K0, 1, ENGINE_SETTLE_FAILED, ENGINE_FPA_CARD_SW, 0},
        {N, false, false, true, KU, 3, ENGINE_SETTLE_DEAD, ENGINE_FPA_CARD_SW, 4},
        {N, false, false, true, K0, 4, ENGINE_SETTLE_DEAD, ENGINE_FPA_CARD_SW, 5},
        {N, false, false, false, KU, 0, ENGINE_SETTLE_PENDING, ENGINE_FPA_NONE, 0},
        {N, false, false, false, KU, 7, ENGINE_SETTLE_PENDING, ENGINE_FPA_NONE, 0},
        {N, false, false, false, K0, 0, ENGINE_SETTLE_ATTENTION, ENGINE_FPA_INTERRUPTED, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        engine_settle_facts_t f;
        engine_settle_decision_t d;
        char text[ENGINE_TEXT_MAX], want[64];

        memset(&f, 0, sizeof(f));
        f.pir = (engine_pir_kind_t)rows[i].pir;
        f.pir_verified = rows[i].verified;
        f.iccid_on_card = rows[i].iccid;
        f.refused = rows[i].refused;
        f.refused_fpa = ENGINE_FPA_CARD_SW;
        f.key = (engine_key_state_t)rows[i].key;
        f.retries = rows[i].retries;
        f.max_retries = 3;
        d = engine_settle_decide(&f);
        if (d.to != rows[i].want || d.fpa_error != rows[i].fpa || d.attempts != rows[i].attempts)
            fprintf(stderr, "row %zu: %s/%d/%u, want %s/%d/%u\n", i, engine_settle_name(d.to),
                    d.fpa_error, d.attempts, engine_settle_name(rows[i].want), rows[i].fpa,
                    rows[i].attempts);
        CU_ASSERT_EQUAL(d.to, rows[i].want);
        CU_ASSERT_EQUAL(d.fpa_error, rows[i].fpa);
        CU_ASSERT_EQUAL(d.attempts, rows[i].attempts);
        CU_ASSERT_NOT_EQUAL(d.fpa_error, ENGINE_FPA_RETRIES); /* never recorded any more */
        CU_ASSERT_PTR_NOT_NULL(d.why);
        engine_settle_text(&d, text, sizeof(text));
        CU_ASSERT_EQUAL(strncmp(text, d.why, strlen(d.why)), 0);
        snprintf(want, sizeof(want), "(retries exhausted after %u attempts)", rows[i].attempts);
        CU_ASSERT_EQUAL(strstr(text, want) != NULL, rows[i].attempts != 0);
    }
}

/* The text of a decision: the cause, then the attempts when the retries ran out. */
static void test_settle_text(void) {
    engine_settle_facts_t f;
    engine_settle_decision_t d;
    char text[ENGINE_TEXT_MAX], tiny[8];

    memset(&f, 0, sizeof(f));
    f.pir = ENGINE_PIR_NONE;
    f.refused = true;
    f.refused_fpa = ENGINE_FPA_PREPARE_REFUSED;
    f.key = ENGINE_KEY_UNUSED;
    f.max_retries = 0; /* the first failure is the last */
    d = engine_settle_decide(&f);
    CU_ASSERT_EQUAL(d.to, ENGINE_SETTLE_DEAD);
    CU_ASSERT_EQUAL(d.fpa_error, ENGINE_FPA_PREPARE_REFUSED);
    CU_ASSERT_EQUAL(d.attempts, 1);
    engine_settle_text(&d, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "the card refused the load (retries exhausted after 1 attempt)");
    f.max_retries = 2;
    f.retries = 1;
    d = engine_settle_decide(&f);
    CU_ASSERT_EQUAL(d.to, ENGINE_SETTLE_FAILED);
    CU_ASSERT_EQUAL(d.attempts, 0);
    engine_settle_text(&d, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "the card refused the load");
    f.retries = 2;
    d = engine_settle_decide(&f);
    engine_settle_text(&d, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "the card refused the load (retries exhausted after 3 attempts)");
    engine_settle_text(&d, tiny, sizeof(tiny)); /* truncated, terminated */
    CU_ASSERT_STRING_EQUAL(tiny, "the car");
    d.why = NULL; /* falls back on the code's text */
    engine_settle_text(&d, text, sizeof(text));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, engine_fpa_error_text(ENGINE_FPA_PREPARE_REFUSED)));
}

static void test_verdict(void) {
    engine_tally_t t;

    memset(&t, 0, sizeof(t));
    t.cmd = ENGINE_CMD_LOAD;
    CU_ASSERT_EQUAL(engine_verdict(&t), ENGINE_SLOT_PASS);
    t.installed = 2;
    t.failed = 1; /* failed, then installed on its retry in the same job */
    CU_ASSERT_EQUAL(engine_verdict(&t), ENGINE_SLOT_PASS);
    t.remaining = 1;
    CU_ASSERT_EQUAL(engine_verdict(&t), ENGINE_SLOT_FAIL);
    t.cmd = ENGINE_CMD_VERIFY;
    CU_ASSERT_EQUAL(engine_verdict(&t), ENGINE_SLOT_PASS);
    t.dead = 1;
    CU_ASSERT_EQUAL(engine_verdict(&t), ENGINE_SLOT_FAIL);
    t.dead = 0;
    t.fault = true;
    CU_ASSERT_EQUAL(engine_verdict(&t), ENGINE_SLOT_FAIL);
    t.attention = 1;
    CU_ASSERT_EQUAL(engine_verdict(&t), ENGINE_SLOT_ATTENTION);
    memset(&t, 0, sizeof(t));
    t.unknown_card = true;
    CU_ASSERT_EQUAL(engine_verdict(&t), ENGINE_SLOT_ATTENTION);
}

/* Verdicts per device: a re-seated card is one unit; its latest verdict counts. */
static void test_units_per_device(void) {
    engine_units_t u;
    char eid[33];

    memset(&u, 0, sizeof(u));
    CU_ASSERT_TRUE(engine_units_add(&u, "89049032000000000000000000000001", ENGINE_SLOT_FAIL));
    CU_ASSERT_FALSE(engine_units_add(&u, "89049032000000000000000000000001", ENGINE_SLOT_PASS));
    CU_ASSERT_EQUAL(u.passed, 1);
    CU_ASSERT_EQUAL(u.failed, 0);
    CU_ASSERT_FALSE(engine_units_add(&u, "89049032000000000000000000000001", ENGINE_SLOT_PASS));
    CU_ASSERT_EQUAL(u.passed, 1);
    CU_ASSERT_TRUE(engine_units_add(&u, "89049032000000000000000000000002", ENGINE_SLOT_ATTENTION));
    CU_ASSERT_FALSE(engine_units_add(&u, "89049032000000000000000000000002", ENGINE_SLOT_FAIL));
    CU_ASSERT_EQUAL(u.attention, 0);
    CU_ASSERT_EQUAL(u.failed, 1);
    /* no EID (the card never answered GetEID): counted each time */
    CU_ASSERT_TRUE(engine_units_add(&u, NULL, ENGINE_SLOT_FAIL));
    CU_ASSERT_TRUE(engine_units_add(&u, "", ENGINE_SLOT_FAIL));
    CU_ASSERT_EQUAL(u.failed, 3);
    /* not a verdict */
    CU_ASSERT_FALSE(engine_units_add(&u, "89049032000000000000000000000003", ENGINE_SLOT_LOADING));
    CU_ASSERT_EQUAL(u.verdicts, 7);
    /* many units: the table grows, every unit kept once */
    for (unsigned i = 0; i < 5000; i++) {
        snprintf(eid, sizeof(eid), "8904903200000000000000000%07u", i + 10);
        CU_ASSERT_TRUE(engine_units_add(&u, eid, ENGINE_SLOT_FAIL));
    }
    for (unsigned i = 0; i < 5000; i++) {
        snprintf(eid, sizeof(eid), "8904903200000000000000000%07u", i + 10);
        CU_ASSERT_FALSE(engine_units_add(&u, eid, ENGINE_SLOT_PASS));
    }
    CU_ASSERT_EQUAL(u.passed, 5001);
    CU_ASSERT_EQUAL(u.failed, 3);
    CU_ASSERT_EQUAL(u.used, 5002);
    CU_ASSERT_TRUE(u.cap >= 2 * u.used);
    engine_units_free(&u);
    CU_ASSERT_PTR_NULL(u.v);
    CU_ASSERT_EQUAL(u.passed, 0);
    engine_units_free(NULL);
}

static void test_units_per_hour(void) {
    const int64_t h = 3600 * 1000;
    int64_t times[4] = {10 * 1000, 20 * 1000, 30 * 1000, 40 * 1000};

    /* 4 units in the first 2 minutes: extrapolated to 120/h */
    CU_ASSERT_DOUBLE_EQUAL(engine_units_per_hour(times, 4, 120 * 1000, 0), 120.0, 0.01);
    /* under a minute: counted over a minute */
    CU_ASSERT_DOUBLE_EQUAL(engine_units_per_hour(times, 4, 40 * 1000, 0), 240.0, 0.01);
    /* after two hours, only the last hour counts: none */
    CU_ASSERT_DOUBLE_EQUAL(engine_units_per_hour(times, 4, 2 * h, 0), 0.0, 0.01);
    times[3] = 2 * h - 1000;
    CU_ASSERT_DOUBLE_EQUAL(engine_units_per_hour(times, 4, 2 * h, 0), 1.0, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(engine_units_per_hour(NULL, 0, 0, 0), 0.0, 0.01);
}

/* ---- jobs against the fake card ---- */

#define EID_HEX   "89049032123451234512345678901235"
#define ISDR      "A0000005591010FFFFFFFF8900000100"
#define ICCID_HEX "98990000000000000010"
#define OID       "2.999.10"

typedef struct {
    char *dir;
    char *path;
    store_t *s;
    EVP_PKEY *euicc_key;
    EVP_PKEY *dm_key;
    buf_t cert;
    buf_t bpp;
    uint8_t eid[16];
    uint8_t tid[16];
    uint8_t iccid[10];
    int64_t bpp_id;
    config_t cfg;
    fake_card_t *fc;
    transport_t *t;
    pthread_mutex_t lock;
    engine_reader_snap_t snap;
    job_ctx_t j;
} fx_t;

/* A structurally valid BF36 (the fake card does not decrypt). */
static void build_bpp(fx_t *x) {
    uint8_t pt[65], sig[64], blob[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tlv_writer_t *w = tlv_writer_new();

    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    memset(pt, 0x11, sizeof(pt));
    pt[0] = 0x04;
    memset(sig, 0x22, sizeof(sig));
    tlv_w_begin(w, 0xBF36);
    tlv_w_begin(w, 0xBF23);
    tlv_w_uint(w, 0x82, 1);
    tlv_w_put(w, 0x80, x->tid, sizeof(x->tid));
    tlv_w_begin(w, 0xA6);
    tlv_w_put(w, 0x80, "\x88", 1);
    tlv_w_put(w, 0x81, "\x10", 1);
    tlv_w_put(w, 0x84, "host", 4);
    tlv_w_end(w);
    tlv_w_put(w, 0x5F49, pt, sizeof(pt));
    tlv_w_put(w, 0x5F37, sig, sizeof(sig));
    tlv_w_end(w);
    tlv_w_begin(w, 0xA0);
    tlv_w_put(w, 0x87, blob, sizeof(blob));
    tlv_w_end(w);
    tlv_w_begin(w, 0xA1);
    tlv_w_put(w, 0x88, blob, sizeof(blob));
    tlv_w_end(w);
    tlv_w_begin(w, 0xA3);
    tlv_w_put(w, 0x86, blob, sizeof(blob));
    tlv_w_end(w);
    tlv_w_end(w);
    CU_ASSERT_EQUAL_FATAL(tlv_w_finish(w, &x->bpp), ST_OK);
    tlv_writer_free(w);
}

/* Store with the eUICC, its one-time key 1 and one pending BPP bound to it. */
static void fx_setup(fx_t *x, bool known_euicc) {
    static const uint8_t chain[] = {0x30, 0x03, 0x02, 0x01, 0x01}; /* stands for CERT.DPpb */
    store_euicc_new_t eu;
    store_otk_t k;
    store_bundle_new_t bn;
    store_bpp_new_t bp;
    X509 *c = NULL;
    int64_t rowid = 0;

    memset(x, 0, sizeof(*x));
    pthread_mutex_init(&x->lock, NULL);
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(EID_HEX, x->eid, 16), ST_OK);
    CU_ASSERT_EQUAL_FATAL(hex_decode_exact(ICCID_HEX, x->iccid, 10), ST_OK);
    RAND_bytes(x->tid, sizeof(x->tid));
    x->dir = tu_tmpdir("engine");
    CU_ASSERT_FATAL(x->dir && asprintf(&x->path, "%s/station.db", x->dir) > 0);
    CU_ASSERT_EQUAL_FATAL(store_open(x->path, 0, &x->s), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &x->euicc_key), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &x->dm_key), ST_OK);
    /* only PK.EUICC matters to the engine: a self-signed certificate carries it */
    CU_ASSERT_EQUAL_FATAL(certgen_ci(x->euicc_key, "Test", "eUICC", &c), ST_OK);
    CU_ASSERT_EQUAL_FATAL(cert_to_der(c, &x->cert), ST_OK);
    X509_free(c);
    build_bpp(x);

    if (known_euicc) {
        memset(&eu, 0, sizeof(eu));
        memcpy(eu.eid, x->eid, 16);
        eu.cert_euicc = x->cert.data;
        eu.cert_euicc_len = x->cert.len;
        eu.cert_eum = x->cert.data;
        eu.cert_eum_len = x->cert.len;
        CU_ASSERT_EQUAL_FATAL(store_euicc_put(x->s, &eu), ST_OK);
        memset(&k, 0, sizeof(k));
        k.key_index = 1;
        k.otpk[0] = 0x04;
        memset(k.otpk + 1, 0x33, sizeof(k.otpk) - 1);
        CU_ASSERT_EQUAL_FATAL(store_otk_put(x->s, x->eid, &k), ST_OK);
    }
    memset(&bn, 0, sizeof(bn));
    RAND_bytes(bn.bundle_id, sizeof(bn.bundle_id));
    bn.smdpf_oid = OID;
    bn.created_at = 1700000000;
    RAND_bytes(bn.file_sha256, sizeof(bn.file_sha256));
    bn.entry_count = 1;
    bn.smdpf_chain = chain;
    bn.smdpf_chain_len = sizeof(chain);
    memset(&bp, 0, sizeof(bp));
    memcpy(bp.eid, x->eid, 16);
    bp.key_index = 1;
    memcpy(bp.tid, x->tid, 16);
    bp.tid_len = 16;
    memcpy(bp.iccid, x->iccid, 10);
    bp.bpp = x->bpp.data;
    bp.bpp_len = x->bpp.len;
    CU_ASSERT_EQUAL_FATAL(store_tx_begin(x->s), ST_OK);
    CU_ASSERT_EQUAL_FATAL(store_bundle_insert(x->s, &bn, &rowid), ST_OK);
    CU_ASSERT_EQUAL_FATAL(store_bpp_add(x->s, rowid, &bp, &x->bpp_id), ST_OK);
    CU_ASSERT_EQUAL_FATAL(store_tx_commit(x->s), ST_OK);

    x->cfg.card.block_size = 120;
    x->cfg.policy.max_retries = 3;
    x->cfg.policy.delete_keys = CONFIG_DELETE_KEYS_MANUAL;
    CU_ASSERT_EQUAL_FATAL(fake_card_new(TRANSPORT_PROTO_T1, &x->fc, &x->t), ST_OK);

    x->snap.state = ENGINE_SLOT_PRESENT;
    x->j.cfg = &x->cfg;
    x->j.store = x->s;
    x->j.dm_key = x->dm_key;
    x->j.t = x->t;
    x->j.reader = "fake 00 00";
    x->j.op = "tester";
    x->j.cmd = ENGINE_CMD_LOAD;
    x->j.lock = &x->lock;
    x->j.snap = &x->snap;
}

static void fx_free(fx_t *x) {
    job_cleanup(&x->j);
    transport_free(x->t);
    store_close(x->s);
    EVP_PKEY_free(x->euicc_key);
    EVP_PKEY_free(x->dm_key);
    buf_free(&x->cert);
    buf_free(&x->bpp);
    if (x->dir)
        tu_rmrf(x->dir);
    free(x->dir);
    free(x->path);
    pthread_mutex_destroy(&x->lock);
}

/* Puts the BPP in loading, as a crash would have left it. */
static void fx_left_loading(fx_t *x) {
    store_change_t ch = STORE_CHANGE_INIT;
    ch.reader = "fake 00 00";
    ch.op = "crashed";
    CU_ASSERT_EQUAL_FATAL(
        store_bpp_transition(x->s, x->bpp_id, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch), ST_OK);
}

static store_bpp_state_t fx_state(fx_t *x) {
    store_bpp_t b;
    CU_ASSERT_EQUAL_FATAL(store_bpp_get(x->s, x->bpp_id, &b), ST_OK);
    return b.state;
}

/* "<tag...>" || hex -> hex string (static buffer per call site is enough for one use). */
static char *hexdup(const uint8_t *p, size_t n) {
    char *s = malloc(2 * n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    hex_encode(p, n, s);
    return s;
}

/* A BF37 of this BPP signed by SK.EUICC; success or (cmd, reason) error. */
static void make_pir(fx_t *x, bool success, unsigned cmd, unsigned reason, buf_t *out) {
    static const uint8_t aid[16] = {0xA0, 0,    0,    0x05, 0x59, 0x10, 0x10, 0xFF,
                                    0xFF, 0xFF, 0xFF, 0x89, 0,    0,    0x10, 0};
    pir_fields_t f;
    buf_t oid = BUF_INIT;

    CU_ASSERT_EQUAL_FATAL(der_oid_from_str(OID, &oid), ST_OK);
    memset(&f, 0, sizeof(f));
    f.tid = x->tid;
    f.tid_len = 16;
    f.seq_number = 7;
    f.notif_address = "smdpf.example";
    f.iccid = x->iccid;
    f.smdp_oid = oid.data;
    f.smdp_oid_len = oid.len;
    f.success = success;
    f.aid = aid;
    f.aid_len = sizeof(aid);
    f.error_cmd = cmd;
    f.error_reason = reason;
    CU_ASSERT_EQUAL_FATAL(pir_build(&f, x->euicc_key, out), ST_OK);
    buf_free(&oid);
}

/* Expects the STORE DATA blocks of an ES10 object of `len` bytes on channel 1 (any content
 * starting with `tag_hex` in the first block), the last one answered with `rapdu`. */
static void expect_es10(fx_t *x, const char *tag_hex, size_t len, const char *rapdu) {
    size_t blocks = (len + 119) / 120;
    char pat[64];

    for (size_t i = 0; i < blocks; i++) {
        bool last = i + 1 == blocks;
        snprintf(pat, sizeof(pat), "81E2%s%02zX??%s*", last ? "91" : "11", i,
                 i == 0 ? tag_hex : "");
        fake_card_expect(x->fc, pat, last ? rapdu : "9000");
    }
}

static void expect_small(fx_t *x, const char *tag_hex, const char *rapdu) {
    expect_es10(x, tag_hex, 1, rapdu);
}

static void key_status_rapdu(char *out, size_t n, unsigned total, unsigned unused,
                             unsigned consumed, unsigned locked) {
    snprintf(out, n, "FF430F8001008101%02X8201%02X8301%02X8401%02X9000", total, unused, consumed,
             locked);
}

/* Open, GetEID, key status, challenge, FF40 ok. */
static void expect_open(fx_t *x, const char *eid_hex, unsigned unused, unsigned consumed) {
    char r[128];

    fake_card_expect(x->fc, "80AA000005A903830107", "9000");
    fake_card_expect(x->fc, "0070000001", "019000");
    fake_card_expect(x->fc, "01A4040010" ISDR "00", "6F10840EA0000005591010FFFFFFFF89000001009000");
    snprintf(r, sizeof(r), "BF3E125A10%s9000", eid_hex);
    expect_small(x, "BF3E", r);
    key_status_rapdu(r, sizeof(r), 1, unused, consumed, 0);
    expect_small(x, "FF43", r);
    expect_small(x, "BF2E", "BF2E12801000112233445566778899AABBCCDDEEFF9000");
    expect_small(x, "FF40", "FF40038001009000");
}

static void expect_key_status(fx_t *x, unsigned unused, unsigned consumed) {
    char r[128];
    key_status_rapdu(r, sizeof(r), 1, unused, consumed, 0);
    expect_small(x, "FF43", r);
}

/* BF2B with the given BF37s (hex, may be ""). */
static void expect_notifications(fx_t *x, const char *pir_hex) {
    size_t n = strlen(pir_hex) / 2;
    char *r = malloc(2 * n + 32);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    if (n < 0x80 - 3)
        sprintf(r, "BF2B%02zXA0%02zX%s9000", n + 2, n, pir_hex);
    else
        sprintf(r, "BF2B81%02zXA081%02zX%s9000", n + 3, n, pir_hex);
    expect_small(x, "BF2B", r);
    free(r);
}

static void expect_profiles(fx_t *x, bool with_iccid) {
    if (with_iccid)
        expect_small(x, "BF2D", "BF2D10A00EE30C5A0A" ICCID_HEX "9000");
    else
        expect_small(x, "BF2D", "BF2D02A0009000");
}

/* PrepareLoad, then the segments of the BPP; the last answered `last_rapdu`. */
static void expect_load(fx_t *x, const char *last_rapdu) {
    bpp_view_t v;
    bpp_segment_t *segs = NULL;
    size_t n = 0;

    expect_small(x, "FF41", "FF41038001009000");
    CU_ASSERT_EQUAL_FATAL(bpp_parse(x->bpp.data, x->bpp.len, &v), ST_OK);
    CU_ASSERT_EQUAL_FATAL(bpp_segments(&v, &segs, &n), ST_OK);
    for (size_t i = 0; i < n; i++)
        expect_es10(x, "", segs[i].len, i + 1 == n ? last_rapdu : "9000");
    free(segs);
}

static void expect_close(fx_t *x) {
    fake_card_expect(x->fc, "00708001", "9000");
}

static void run_job_ok(fx_t *x, engine_slot_state_t want) {
    CU_ASSERT_EQUAL(job_run(&x->j), ST_OK);
    job_cleanup(&x->j);
    if (x->snap.state != want)
        fprintf(stderr, "verdict %s (%s | %s), want %s\n", engine_slot_state_name(x->snap.state),
                x->snap.error, x->snap.detail, engine_slot_state_name(want));
    CU_ASSERT_EQUAL(x->snap.state, want);
    CU_ASSERT_TRUE(fake_card_done(x->fc));
}

/* A crash after the card installed: the PIR comes back from the notification list. */
static void test_job_recover_installed(void) {
    fx_t x;
    buf_t pir = BUF_INIT;
    char *hex;

    fx_setup(&x, true);
    fx_left_loading(&x);
    make_pir(&x, true, 0, 0, &pir);
    hex = hexdup(pir.data, pir.len);
    expect_open(&x, EID_HEX, 0, 1);
    expect_notifications(&x, hex);
    expect_profiles(&x, true);
    expect_profiles(&x, true); /* verify */
    expect_key_status(&x, 0, 1);
    expect_close(&x);
    run_job_ok(&x, ENGINE_SLOT_PASS);
    CU_ASSERT_EQUAL(fx_state(&x), STORE_BPP_INSTALLED);
    CU_ASSERT_EQUAL(x.j.tally.installed, 1);
    CU_ASSERT_EQUAL(x.snap.loaded, 1);
    CU_ASSERT_EQUAL(x.snap.due, 1);
    CU_ASSERT_STRING_EQUAL(x.snap.eid, EID_HEX);
    free(hex);
    buf_free(&pir);
    fx_free(&x);
}

/* Nothing happened on the card: back to pending, then loaded in the same job. */
static void test_job_recover_pending_then_load(void) {
    fx_t x;
    buf_t pir = BUF_INIT;
    char *r;

    fx_setup(&x, true);
    fx_left_loading(&x);
    make_pir(&x, true, 0, 0, &pir);
    r = malloc(2 * pir.len + 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    hex_encode(pir.data, pir.len, r);
    strcat(r, "9000");
    expect_open(&x, EID_HEX, 1, 0);
    expect_notifications(&x, "");
    expect_profiles(&x, false);
    expect_small(&x, "FF41", "FF41038001009000"); /* key probe: unused */
    expect_load(&x, r);
    expect_profiles(&x, true); /* verify */
    expect_key_status(&x, 0, 1);
    expect_close(&x);
    run_job_ok(&x, ENGINE_SLOT_PASS);
    CU_ASSERT_EQUAL(fx_state(&x), STORE_BPP_INSTALLED);
    CU_ASSERT_EQUAL(x.j.consumed_in_job, 1);
    free(r);
    buf_free(&pir);
    fx_free(&x);
}

/* An import holding the write lock (another connection, 400 ms) when the job marks its BPP
 * loading: the job waits (busy timeout 50 ms here, retried) instead of failing the card. */
typedef struct {
    const char *path;
    volatile int locked;
    int rc;
} locker_t;

static void *hold_lock(void *arg) {
    locker_t *l = arg;
    sqlite3 *db = NULL;
    struct timespec ts = {0, 400 * 1000 * 1000};

    l->rc = sqlite3_open_v2(l->path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (l->rc == SQLITE_OK)
        l->rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    __atomic_store_n(&l->locked, 1, __ATOMIC_SEQ_CST);
    nanosleep(&ts, NULL);
    if (l->rc == SQLITE_OK)
        l->rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    return NULL;
}

static void test_job_waits_for_import_lock(void) {
    fx_t x;
    buf_t pir = BUF_INIT;
    locker_t l = {NULL, 0, 0};
    pthread_t t;
    char *r;

    fx_setup(&x, true);
    make_pir(&x, true, 0, 0, &pir);
    r = malloc(2 * pir.len + 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    hex_encode(pir.data, pir.len, r);
    strcat(r, "9000");
    expect_open(&x, EID_HEX, 1, 0);
    expect_load(&x, r);
    expect_profiles(&x, true); /* verify */
    expect_key_status(&x, 0, 1);
    expect_close(&x);
    CU_ASSERT_EQUAL(store_set_busy_timeout(x.s, 50), ST_OK);
    l.path = x.path;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, hold_lock, &l), 0);
    while (!__atomic_load_n(&l.locked, __ATOMIC_SEQ_CST))
        sched_yield();
    run_job_ok(&x, ENGINE_SLOT_PASS);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(l.rc, SQLITE_OK);
    CU_ASSERT_EQUAL(fx_state(&x), STORE_BPP_INSTALLED);
    free(r);
    buf_free(&pir);
    fx_free(&x);
}

/* An error PIR with the key left unused: failed (retried later), FAIL with the SGP.22 code. */
static void test_job_error_pir(void) {
    fx_t x;
    buf_t pir = BUF_INIT;
    store_bpp_t b;
    char *r;

    fx_setup(&x, true);
    make_pir(&x, false, PIR_CMD_STORE_METADATA, PIR_ERR_ICCID_ALREADY_EXISTS, &pir);
    r = malloc(2 * pir.len + 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    hex_encode(pir.data, pir.len, r);
    strcat(r, "9000");
    expect_open(&x, EID_HEX, 1, 0);
    expect_load(&x, r);
    expect_key_status(&x, 1, 0); /* did the error use the key? no */
    expect_profiles(&x, false);  /* verify */
    expect_key_status(&x, 1, 0);
    expect_close(&x);
    run_job_ok(&x, ENGINE_SLOT_FAIL);
    CU_ASSERT_EQUAL_FATAL(store_bpp_get(x.s, x.bpp_id, &b), ST_OK);
    CU_ASSERT_EQUAL(b.state, STORE_BPP_FAILED);
    CU_ASSERT_EQUAL(x.snap.fpa_error, ENGINE_FPA_PIR_ERROR);
    CU_ASSERT_EQUAL(x.snap.bpp_command_id, PIR_CMD_STORE_METADATA);
    CU_ASSERT_EQUAL(x.snap.error_reason, PIR_ERR_ICCID_ALREADY_EXISTS);
    CU_ASSERT_PTR_NOT_NULL(strstr(x.snap.detail, "errorReason 9"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x.snap.detail, pir_reason_name(PIR_ERR_ICCID_ALREADY_EXISTS)));
    CU_ASSERT_EQUAL(x.j.tally.remaining, 1);
    free(r);
    buf_free(&pir);
    fx_free(&x);
}

/* The one result of the fixture's SM-DPf still to report (fx_result). */
typedef struct {
    int n;
    store_result_kind_t kind;
    int fpa;
    bool has_pir;
    char text[STORE_TEXT_MAX];
} fx_result_t;

static st_t fx_result_cb(void *ud, const store_result_t *r) {
    fx_result_t *out = ud;
    out->n++;
    out->kind = r->kind;
    out->fpa = r->fpa_error_code;
    out->has_pir = r->pir != NULL && r->pir_len > 0;
    snprintf(out->text, sizeof(out->text), "%s", r->text);
    return ST_OK;
}

static void fx_result(fx_t *x, fx_result_t *out) {
    memset(out, 0, sizeof(*out));
    CU_ASSERT_EQUAL_FATAL(store_results_unreported(x->s, OID, fx_result_cb, out), ST_OK);
    CU_ASSERT_EQUAL_FATAL(out->n, 1);
}

/* max_retries = 0 and PrepareLoad refused: the BPP dies at once with the code of its cause
 * (prepareLoadRefused, not "retries exhausted"); the text counts the one attempt. */
static void test_job_dead_keeps_cause(void) {
    fx_t x;
    store_bpp_t b;
    fx_result_t r;

    fx_setup(&x, true);
    x.cfg.policy.max_retries = 0;
    expect_open(&x, EID_HEX, 1, 0);
    expect_small(&x, "FF41", "FF41038001049000"); /* invalidCertificate */
    expect_profiles(&x, false);                   /* verify */
    expect_key_status(&x, 1, 0);
    expect_close(&x);
    run_job_ok(&x, ENGINE_SLOT_FAIL);
    CU_ASSERT_EQUAL_FATAL(store_bpp_get(x.s, x.bpp_id, &b), ST_OK);
    CU_ASSERT_EQUAL(b.state, STORE_BPP_DEAD);
    CU_ASSERT_EQUAL(b.retries, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.last_error, "(retries exhausted after 1 attempt)"));
    CU_ASSERT_EQUAL(x.snap.fpa_error, ENGINE_FPA_PREPARE_REFUSED);
    CU_ASSERT_PTR_NOT_NULL(strstr(x.snap.error, "retries exhausted after 1 attempt"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x.snap.detail, "PrepareLoad"));
    CU_ASSERT_EQUAL(x.j.tally.dead, 1);
    fx_result(&x, &r);
    CU_ASSERT_EQUAL(r.kind, STORE_RESULT_FAILED);
    CU_ASSERT_EQUAL(r.fpa, ENGINE_FPA_PREPARE_REFUSED);
    CU_ASSERT_FALSE(r.has_pir);
    CU_ASSERT_STRING_EQUAL(r.text, "the card refused the load (retries exhausted after 1 attempt)");
    fx_free(&x);
}

/* max_retries = 1, the BPP failed once before: its retry is the last attempt. The card
 * refuses it with an error BF37: dead with euiccError and the SGP.22 codes, the BF37 in the
 * result, "retries exhausted after 2 attempts" in the text (failed -> loading counted). */
static void test_job_last_retry_dead(void) {
    fx_t x;
    buf_t pir = BUF_INIT;
    store_change_t ch = STORE_CHANGE_INIT;
    store_bpp_t b;
    fx_result_t res;
    char *r;

    fx_setup(&x, true);
    x.cfg.policy.max_retries = 1;
    fx_left_loading(&x);
    ch.error = "an earlier failure";
    ch.fpa_error_code = ENGINE_FPA_CARD_SW;
    CU_ASSERT_EQUAL_FATAL(
        store_bpp_transition(x.s, x.bpp_id, STORE_BPP_LOADING, STORE_BPP_FAILED, &ch), ST_OK);
    make_pir(&x, false, PIR_CMD_LOAD_PROFILE_ELEMENTS, PIR_ERR_PE_PROCESSING_ERROR, &pir);
    r = malloc(2 * pir.len + 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    hex_encode(pir.data, pir.len, r);
    strcat(r, "9000");
    expect_open(&x, EID_HEX, 1, 0);
    expect_load(&x, r);
    expect_key_status(&x, 1, 0); /* did the error use the key? no */
    expect_profiles(&x, false);  /* verify */
    expect_key_status(&x, 1, 0);
    expect_close(&x);
    run_job_ok(&x, ENGINE_SLOT_FAIL);
    CU_ASSERT_EQUAL_FATAL(store_bpp_get(x.s, x.bpp_id, &b), ST_OK);
    CU_ASSERT_EQUAL(b.state, STORE_BPP_DEAD);
    CU_ASSERT_EQUAL(b.retries, 1);
    CU_ASSERT_EQUAL(x.snap.fpa_error, ENGINE_FPA_PIR_ERROR);
    CU_ASSERT_EQUAL(x.snap.bpp_command_id, PIR_CMD_LOAD_PROFILE_ELEMENTS);
    CU_ASSERT_EQUAL(x.snap.error_reason, PIR_ERR_PE_PROCESSING_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(x.snap.error, "retries exhausted after 2 attempts"));
    fx_result(&x, &res);
    CU_ASSERT_EQUAL(res.kind, STORE_RESULT_FAILED);
    CU_ASSERT_EQUAL(res.fpa, ENGINE_FPA_PIR_ERROR);
    CU_ASSERT_TRUE(res.has_pir);
    CU_ASSERT_STRING_EQUAL(res.text,
                           "the card refused the profile (retries exhausted after 2 attempts)");
    free(r);
    buf_free(&pir);
    fx_free(&x);
}

/* The profile is on the card but no PIR: ATTENTION, the BPP stays loading (never twice). */
static void test_job_recover_attention(void) {
    fx_t x;

    fx_setup(&x, true);
    fx_left_loading(&x);
    expect_open(&x, EID_HEX, 0, 1);
    expect_notifications(&x, "");
    expect_profiles(&x, true);
    expect_profiles(&x, true); /* verify */
    expect_key_status(&x, 0, 1);
    expect_close(&x);
    run_job_ok(&x, ENGINE_SLOT_ATTENTION);
    CU_ASSERT_EQUAL(fx_state(&x), STORE_BPP_LOADING);
    CU_ASSERT_EQUAL(x.j.tally.attention, 1);
    fx_free(&x);
}

/* The card is pulled during the segments: the job ends interrupted, the BPP stays loading. */
static void test_job_card_removed(void) {
    fx_t x;

    fx_setup(&x, true);
    expect_open(&x, EID_HEX, 1, 0);
    expect_small(&x, "FF41", "FF41038001009000");
    fake_card_expect_fail(x.fc, "81E2*", ST_E_CARD_REMOVED);
    CU_ASSERT_EQUAL(job_run(&x.j), ST_E_CARD_REMOVED);
    job_cleanup(&x.j);
    CU_ASSERT_EQUAL(x.snap.state, ENGINE_SLOT_EMPTY);
    CU_ASSERT_TRUE(x.snap.interrupted);
    CU_ASSERT_EQUAL(x.snap.fpa_error, ENGINE_FPA_INTERRUPTED);
    CU_ASSERT_EQUAL(fx_state(&x), STORE_BPP_LOADING);
    CU_ASSERT_EQUAL(fake_card_pending(x.fc), 0);
    fx_free(&x);
}

/* A reset in the middle of the segments: the session is reopened and authorised again, the
 * card's interruption PIR settles the BPP as failed, and the retry installs it. */
static void test_job_reset_mid_load(void) {
    fx_t x;
    buf_t ok = BUF_INIT, intr = BUF_INIT;
    store_bpp_t b;
    char *r, *ih;

    fx_setup(&x, true);
    make_pir(&x, true, 0, 0, &ok);
    make_pir(&x, false, PIR_CMD_LOAD_PROFILE_ELEMENTS, PIR_ERR_INTERRUPTION, &intr);
    r = malloc(2 * ok.len + 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    hex_encode(ok.data, ok.len, r);
    strcat(r, "9000");
    ih = hexdup(intr.data, intr.len);
    expect_open(&x, EID_HEX, 1, 0);
    expect_small(&x, "FF41", "FF41038001009000");
    fake_card_expect_fail(x.fc, "81E2*", ST_E_CARD_RESET);
    /* es10_reopen, key status, authorisation again */
    fake_card_expect(x.fc, "80AA000005A903830107", "9000");
    fake_card_expect(x.fc, "0070000001", "019000");
    fake_card_expect(x.fc, "01A4040010" ISDR "00", "6F10840EA0000005591010FFFFFFFF89000001009000");
    expect_key_status(&x, 1, 0);
    expect_small(&x, "BF2E", "BF2E12801000112233445566778899AABBCCDDEEFF9000");
    expect_small(&x, "FF40", "FF40038001009000");
    /* recovery: the interruption PIR, key still unused -> failed */
    expect_notifications(&x, ih);
    expect_profiles(&x, false);
    expect_small(&x, "FF41", "FF41038001009000");
    /* the retry */
    expect_load(&x, r);
    expect_profiles(&x, true);
    expect_key_status(&x, 0, 1);
    expect_close(&x);
    run_job_ok(&x, ENGINE_SLOT_PASS);
    CU_ASSERT_EQUAL_FATAL(store_bpp_get(x.s, x.bpp_id, &b), ST_OK);
    CU_ASSERT_EQUAL(b.state, STORE_BPP_INSTALLED);
    CU_ASSERT_EQUAL(b.retries, 1);
    CU_ASSERT_EQUAL(x.j.resets, 1);
    CU_ASSERT_EQUAL(x.j.tally.failed, 1);
    CU_ASSERT_EQUAL(x.j.tally.installed, 1);
    free(r);
    free(ih);
    buf_free(&ok);
    buf_free(&intr);
    fx_free(&x);
}

/* A card whose eUICC data was never imported: ATTENTION, nothing loaded. */
static void test_job_unknown_card(void) {
    fx_t x;

    fx_setup(&x, false);
    fake_card_expect(x.fc, "80AA000005A903830107", "9000");
    fake_card_expect(x.fc, "0070000001", "019000");
    fake_card_expect(x.fc, "01A4040010" ISDR "00", "6F10840EA0000005591010FFFFFFFF89000001009000");
    expect_small(&x, "BF3E", "BF3E125A10" EID_HEX "9000");
    expect_close(&x);
    run_job_ok(&x, ENGINE_SLOT_ATTENTION);
    CU_ASSERT_TRUE(x.j.tally.unknown_card);
    CU_ASSERT_EQUAL(fx_state(&x), STORE_BPP_PENDING);
    fx_free(&x);
}

/* engine_create: the lock excludes a second engine; no DM key is a configuration error;
 * commands on unknown readers; snapshot and idle of an engine that is not started. */
static void test_engine_create_lock(void) {
    char *dir = tu_tmpdir("engine-lock"), *key = NULL, *db = NULL, *lock = NULL;
    EVP_PKEY *k = NULL;
    config_t cfg;
    engine_opts_t o;
    engine_t *e1 = NULL, *e2 = NULL;
    engine_snapshot_t *snap = calloc(1, sizeof(*snap));

    CU_ASSERT_PTR_NOT_NULL_FATAL(snap);
    CU_ASSERT_FATAL(dir && asprintf(&key, "%s/dm.key.pem", dir) > 0
                    && asprintf(&db, "%s/station.db", dir) > 0
                    && asprintf(&lock, "%s/engine.lock", dir) > 0);
    CU_ASSERT_EQUAL_FATAL(ec_key_generate(EC_CURVE_P256, &k), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ec_key_save_pem(key, k, 0600), ST_OK);
    memset(&cfg, 0, sizeof(cfg));
    memset(&o, 0, sizeof(o));
    o.cfg = &cfg;
    o.store_path = db;
    o.lock_path = lock;
    CU_ASSERT_EQUAL(engine_create(&o, &e1), ST_E_CONFIG); /* no [dm] key */
    CU_ASSERT_PTR_NULL(e1);
    cfg.dm.key = key;
    CU_ASSERT_EQUAL_FATAL(engine_create(&o, &e1), ST_OK);
    CU_ASSERT_EQUAL(engine_create(&o, &e2), ST_E_LOCKED);
    CU_ASSERT_PTR_NULL(e2);
    CU_ASSERT_EQUAL(engine_command(e1, "nosuch", ENGINE_CMD_LOAD, "op"), ST_E_NO_READER);
    CU_ASSERT_EQUAL(engine_command(e1, NULL, ENGINE_CMD_VERIFY, NULL), ST_OK); /* no card: none */
    CU_ASSERT_EQUAL(engine_command(e1, NULL, (engine_cmd_t)9, NULL), ST_E_INVAL);
    engine_snapshot(e1, snap);
    CU_ASSERT_FALSE(snap->running);
    CU_ASSERT_EQUAL(snap->n_readers, 0);
    CU_ASSERT_EQUAL(snap->n_bundles, 0);
    CU_ASSERT_FALSE(engine_idle(e1, 0, 0)); /* not started */
    CU_ASSERT(engine_event_fd(e1) >= 0);
    engine_event_ack(e1);
    engine_stop(e1, false); /* not started: no-op */
    engine_free(e1);
    /* the lock is released with the engine */
    CU_ASSERT_EQUAL(engine_create(&o, &e2), ST_OK);
    engine_free(e2);
    engine_free(NULL);
    EVP_PKEY_free(k);
    tu_rmrf(dir);
    free(dir);
    free(key);
    free(db);
    free(lock);
    free(snap);
}

void test_engine_register(void) {
    static const tu_test_t tests[] = {
        {"slot transition table", test_slot_table},
        {"settle decision table", test_settle_table},
        {"settle text: cause, then retries exhausted", test_settle_text},
        {"verdict rules", test_verdict},
        {"units per hour", test_units_per_hour},
        {"verdicts per device (re-seated cards)", test_units_per_device},
        {"create, lock, commands, snapshot", test_engine_create_lock},
        {"job: recovery finds the PIR", test_job_recover_installed},
        {"job: recovery to pending, then load", test_job_recover_pending_then_load},
        {"job: error PIR -> failed", test_job_error_pir},
        {"job: waits for an import's write lock before loading", test_job_waits_for_import_lock},
        {"job: no retry left -> dead with its cause", test_job_dead_keeps_cause},
        {"job: last retry fails -> dead, attempts counted", test_job_last_retry_dead},
        {"job: profile without PIR -> attention", test_job_recover_attention},
        {"job: card removed mid-load", test_job_card_removed},
        {"job: card reset mid-load", test_job_reset_mid_load},
        {"job: unknown card", test_job_unknown_card},
    };
    TU_ADD_SUITE("engine", tests);
}
