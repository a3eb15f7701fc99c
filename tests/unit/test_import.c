/*
 * Unit tests: the import engine (station/import.h). A GSMA-shaped PKI, eUICCs with one-time
 * keys, real BSP-bound BPPs (testkit bpp_build) and signed bundles are minted in-process, so
 * every bad input of issue 4 is its own test: each expects the exact refusal (status, entry,
 * reason), a report line naming the file, and nothing imported (no bundle, no BPP, store intact).
 * Good paths: eUICC data + bundle, re-import unchanged, a stick directory, policy hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "../testkit/bpp_build.h"
#include "base/buf.h"
#include "base/log.h"
#include "crypto/cert.h"
#include "crypto/certgen.h"
#include "crypto/cms.h"
#include "crypto/ec.h"
#include "fmt/ifpp.h"
#include "import.h"
#include "request.h"
#include "status.h"
#include "store.h"
#include "store_internal.h" /* store_db(): PRAGMA max_page_count simulates a full disk */
#include "testutil.h"
#include "tlv/tlv.h"

#define NCARDS  4
#define NKEYS   2 /* key indexes 1..NKEYS */
#define UPP_LEN 1500
#define OID1    "2.999.10" /* allowed */
#define OID2    "2.999.12" /* not allowed */

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
} kc_t;

typedef struct {
    uint8_t eid[16];
    kc_t ic; /* SK.EUICC, CERT.EUICC */
    uint8_t otpk[NKEYS + 1][65];
    uint8_t sig[NKEYS + 1][64];
} card_t;

static struct {
    bool ready;
    kc_t ci, eum, pb1, auth1, pb2, auth2, rci, rauth, dmca, dm;
    card_t cards[NCARDS];
    buf_t upp, meta, oid1, oid2;
    uint8_t iccid[10];
    unsigned tid_seq;
} F;

/* ---- fixture: PKI, cards, profile ---- */

static void kc_free(kc_t *k) {
    EVP_PKEY_free(k->key);
    X509_free(k->cert);
    k->key = NULL;
    k->cert = NULL;
}

static void fx_free(void) {
    kc_free(&F.ci);
    kc_free(&F.eum);
    kc_free(&F.pb1);
    kc_free(&F.auth1);
    kc_free(&F.pb2);
    kc_free(&F.auth2);
    kc_free(&F.rci);
    kc_free(&F.rauth);
    kc_free(&F.dmca);
    kc_free(&F.dm);
    for (int i = 0; i < NCARDS; i++)
        kc_free(&F.cards[i].ic);
    buf_free(&F.upp);
    buf_free(&F.meta);
    buf_free(&F.oid1);
    buf_free(&F.oid2);
    memset(&F, 0, sizeof(F));
}

static st_t smdpf(kc_t *ci, kc_t *out, certgen_role_t role, const char *oid) {
    st_t st = ec_key_generate(EC_CURVE_P256, &out->key);
    if (st == ST_OK)
        st = certgen_smdpf(ci->cert, ci->key, out->key, role, oid, "IFPP Test SM-DPf", "SM-DPf",
                           &out->cert);
    return st;
}

static st_t fx_make(void) {
    uint8_t hdr_iccid[10];
    st_t st;

    if ((st = ec_key_generate(EC_CURVE_P256, &F.ci.key)) != ST_OK
        || (st = certgen_ci(F.ci.key, "IFPP TEST", "Test CI", &F.ci.cert)) != ST_OK
        || (st = ec_key_generate(EC_CURVE_P256, &F.eum.key)) != ST_OK
        || (st = certgen_eum(F.ci.cert, F.ci.key, F.eum.key, "IFPP Test EUM", "89049032",
                             &F.eum.cert))
               != ST_OK
        || (st = smdpf(&F.ci, &F.pb1, CERTGEN_DP_PB, OID1)) != ST_OK
        || (st = smdpf(&F.ci, &F.auth1, CERTGEN_DP_AUTH, OID1)) != ST_OK
        || (st = smdpf(&F.ci, &F.pb2, CERTGEN_DP_PB, OID2)) != ST_OK
        || (st = smdpf(&F.ci, &F.auth2, CERTGEN_DP_AUTH, OID2)) != ST_OK
        || (st = ec_key_generate(EC_CURVE_P256, &F.rci.key)) != ST_OK
        || (st = certgen_ci(F.rci.key, "ROGUE", "Rogue CI", &F.rci.cert)) != ST_OK
        || (st = smdpf(&F.rci, &F.rauth, CERTGEN_DP_AUTH, OID1)) != ST_OK
        || (st = ec_key_generate(EC_CURVE_P256, &F.dmca.key)) != ST_OK
        || (st = certgen_dm_ca(F.dmca.key, "IFPP Test DM", "DM CA", &F.dmca.cert)) != ST_OK
        || (st = ec_key_generate(EC_CURVE_P256, &F.dm.key)) != ST_OK
        || (st = certgen_dm(F.dmca.cert, F.dmca.key, F.dm.key, "IFPP Test DM", "DM-TEST",
                            &F.dm.cert))
               != ST_OK)
        return st;
    for (int i = 0; i < NCARDS; i++) {
        card_t *c = &F.cards[i];
        if ((st = eid_compose("89049032", 4711 + (uint64_t)i, c->eid)) != ST_OK
            || (st = ec_key_generate(EC_CURVE_P256, &c->ic.key)) != ST_OK
            || (st = certgen_euicc(F.eum.cert, F.eum.key, c->ic.key, c->eid, &c->ic.cert)) != ST_OK)
            return st;
        for (uint32_t k = 1; k <= NKEYS; k++) {
            EVP_PKEY *otk = NULL;
            buf_t tbs = BUF_INIT;
            st = ec_key_generate(EC_CURVE_P256, &otk);
            if (st == ST_OK)
                st = ec_pubkey_to_point(otk, c->otpk[k]);
            if (st == ST_OK)
                st = ifpp_otk_tbs(c->eid, k, c->otpk[k], &tbs);
            if (st == ST_OK)
                st = ec_sign_raw(c->ic.key, tbs.data, tbs.len, c->sig[k]);
            EVP_PKEY_free(otk); /* the card's secret: not needed here */
            buf_free(&tbs);
            if (st != ST_OK)
                return st;
        }
    }
    if ((st = tk_iccid_from_digits("899990000000000001", hdr_iccid)) != ST_OK
        || (st = tk_upp_generate(hdr_iccid, "import test", UPP_LEN, &F.upp)) != ST_OK)
        return st;
    tk_iccid_swap(hdr_iccid, F.iccid);
    if ((st = tk_bpp_metadata(F.iccid, "IFPP Test SP", "import test", 2, &F.meta)) != ST_OK
        || (st = der_oid_from_str(OID1, &F.oid1)) != ST_OK
        || (st = der_oid_from_str(OID2, &F.oid2)) != ST_OK)
        return st;
    return ST_OK;
}

static void fx(void) {
    if (F.ready)
        return;
    if (fx_make() != ST_OK) {
        fx_free();
        CU_FAIL_FATAL("fixture: minting the PKI and cards failed");
    }
    F.ready = true;
}

/* ---- environment per test: temp dir, store, trust ---- */

static const char *const allowed[] = {OID1};

typedef struct {
    char *dir;
    char *db;
    store_t *s;
    cert_trust_t *trust;
    import_opts_t o;
    import_report_t rep;
} env_t;

static void env_open(env_t *e, const char *tag) {
    fx();
    memset(e, 0, sizeof(*e));
    e->dir = tu_tmpdir(tag);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->dir);
    CU_ASSERT_FATAL(asprintf(&e->db, "%s/station.db", e->dir) > 0);
    CU_ASSERT_EQUAL_FATAL(store_open(e->db, 0, &e->s), ST_OK);
    e->trust = cert_trust_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->trust);
    CU_ASSERT_EQUAL_FATAL(cert_trust_add(e->trust, F.ci.cert), ST_OK);
    e->o.store = e->s;
    e->o.trust = e->trust;
    e->o.allowed_smdpf = allowed;
    e->o.n_allowed = 1;
    e->o.unknown_eid = IMPORT_UNKNOWN_EID_REFUSE;
    e->o.actor = "unit-test";
}

static void env_close(env_t *e) {
    import_report_free(&e->rep);
    store_close(e->s);
    cert_trust_free(e->trust);
    tu_rmrf(e->dir);
    free(e->dir);
    free(e->db);
}

static char *path_in(const env_t *e, const char *name) {
    char *p = NULL;
    CU_ASSERT_FATAL(asprintf(&p, "%s/%s", e->dir, name) > 0);
    return p;
}

/* Imports `n` paths into a fresh report; returns the run's status. */
static st_t run(env_t *e, const char *const *paths, size_t n) {
    import_report_free(&e->rep);
    return import_paths(&e->o, paths, n, &e->rep);
}

static st_t run1(env_t *e, const char *path) {
    return run(e, &path, 1);
}

static void write_bytes(const char *path, const void *p, size_t n) {
    CU_ASSERT_EQUAL_FATAL(buf_write_file_atomic(path, p, n, 0644), ST_OK);
}

/* ---- builders ---- */

/* .ifppe with the first n cards (all keys), signed by `signer` (the EUM normally). When
 * bad_key_card >= 0, that card's key 2 carries key 1's signature. */
static void write_edata(const char *path, int n, const kc_t *signer, int bad_key_card) {
    ifpp_edata_t d;
    ifpp_euicc_t eu[NCARDS];
    ifpp_otk_t keys[NCARDS][NKEYS];
    buf_t eum_der = BUF_INIT, der = BUF_INIT, sig = BUF_INIT;
    buf_t cert_der[NCARDS];

    memset(&d, 0, sizeof(d));
    memset(eu, 0, sizeof(eu));
    d.version = IFPP_FORMAT_VERSION;
    snprintf(d.batch_id, sizeof(d.batch_id), "BATCH-1");
    d.created_at = time(NULL);
    CU_ASSERT_EQUAL_FATAL(cert_to_der(F.eum.cert, &eum_der), ST_OK);
    d.cert_eum.p = eum_der.data;
    d.cert_eum.len = eum_der.len;
    for (int i = 0; i < n; i++) {
        card_t *c = &F.cards[i];
        cert_der[i] = (buf_t)BUF_INIT;
        CU_ASSERT_EQUAL_FATAL(cert_to_der(c->ic.cert, &cert_der[i]), ST_OK);
        memcpy(eu[i].eid, c->eid, 16);
        eu[i].cert_euicc.p = cert_der[i].data;
        eu[i].cert_euicc.len = cert_der[i].len;
        for (int k = 0; k < NKEYS; k++) {
            keys[i][k].key_index = (uint32_t)k + 1;
            memcpy(keys[i][k].otpk, c->otpk[k + 1], 65);
            memcpy(keys[i][k].sig, c->sig[k + 1], 64);
        }
        if (i == bad_key_card)
            memcpy(keys[i][1].sig, c->sig[1], 64);
        eu[i].keys = keys[i];
        eu[i].n_keys = NKEYS;
    }
    d.euiccs = eu;
    d.n_euiccs = (size_t)n;
    CU_ASSERT_EQUAL_FATAL(ifpp_edata_encode(&d, &der), ST_OK);
    CU_ASSERT_EQUAL_FATAL(cms_sign(signer->key, signer->cert, NULL, der.data, der.len, false, &sig),
                          ST_OK);
    write_bytes(path, sig.data, sig.len);
    for (int i = 0; i < n; i++)
        buf_free(&cert_der[i]);
    buf_free(&eum_der);
    buf_free(&der);
    buf_free(&sig);
}

/* One bundle entry as the test wants it. */
typedef struct {
    int card;           /* the entry's EID */
    uint32_t key;       /* the entry's keyIndex */
    int bind_card;      /* the BPP is bound to this card's key... (-1: card) */
    uint32_t bind_key;  /* ...with this index (0: key) */
    int tid_as;         /* >= 0: reuse the transactionId of entry tid_as of this bundle */
    bool tid_differs;   /* the entry's transactionId differs from the BPP's */
    const uint8_t *tid; /* explicit transactionId (16 bytes) or NULL */
} ent_t;

#define ENT(c, k)                                                                                  \
    { (c), (k), -1, 0, -1, false, NULL }

static void next_tid(uint8_t tid[16]) {
    memset(tid, 0, 16);
    tid[0] = 0x7E;
    tid[12] = (uint8_t)(F.tid_seq >> 24);
    tid[13] = (uint8_t)(F.tid_seq >> 16);
    tid[14] = (uint8_t)(F.tid_seq >> 8);
    tid[15] = (uint8_t)F.tid_seq;
    F.tid_seq++;
}

/*
 * Writes a bundle `path` with id `id` (16 bytes) of the given entries, header certificate
 * `pb`, OID of pb; signed (path.p7s) by `signer` unless signer is NULL. *tids_out (may be
 * NULL) receives the transactionIds used.
 */
static void write_bundle(const char *path, const uint8_t id[16], const kc_t *pb, const buf_t *oid,
                         const ent_t *ents, size_t n, const kc_t *signer, uint8_t (*tids_out)[16]) {
    ifpp_bundle_hdr_t h;
    ifpp_blob_t cert;
    ifpp_bundle_writer_t *w = NULL;
    buf_t pb_der = BUF_INIT, bpp = BUF_INIT;
    uint8_t tids[16][16];
    char *p7s = NULL;

    CU_ASSERT_FATAL(n <= 16);
    memset(&h, 0, sizeof(h));
    h.version = IFPP_FORMAT_VERSION;
    memcpy(h.bundle_id, id, 16);
    memcpy(h.smdpf_oid, oid->data, oid->len);
    h.smdpf_oid_len = oid->len;
    h.created_at = time(NULL);
    CU_ASSERT_EQUAL_FATAL(cert_to_der(pb->cert, &pb_der), ST_OK);
    cert.p = pb_der.data;
    cert.len = pb_der.len;
    h.smdpf_certs = &cert;
    h.n_smdpf_certs = 1;
    CU_ASSERT_EQUAL_FATAL(ifpp_bundle_writer_open(path, &h, &w), ST_OK);
    for (size_t i = 0; i < n; i++) {
        const ent_t *en = &ents[i];
        const card_t *c = &F.cards[en->card];
        const card_t *bc = &F.cards[en->bind_card >= 0 ? en->bind_card : en->card];
        uint32_t bk = en->bind_key ? en->bind_key : en->key;
        ifpp_bundle_entry_t e;
        uint8_t bpp_tid[16];

        if (en->tid)
            memcpy(tids[i], en->tid, 16);
        else if (en->tid_as >= 0)
            memcpy(tids[i], tids[en->tid_as], 16);
        else
            next_tid(tids[i]);
        memcpy(bpp_tid, tids[i], 16);
        if (en->tid_differs)
            bpp_tid[0] ^= 0x01;
        tk_bpp_in_t in = {
            .dppb_key = pb->key,
            .euicc_otpk = bc->otpk[bk <= NKEYS ? bk : 1],
            .eid = bc->eid,
            .tid = bpp_tid,
            .tid_len = 16,
            .host_id = (const uint8_t *)"import-test",
            .host_id_len = 11,
            .smdp_oid = oid->data,
            .smdp_oid_len = oid->len,
            .metadata = F.meta.data,
            .metadata_len = F.meta.len,
            .upp = F.upp.data,
            .upp_len = F.upp.len,
        };
        buf_reset(&bpp);
        CU_ASSERT_EQUAL_FATAL(tk_bpp_build(&in, &bpp), ST_OK);
        memset(&e, 0, sizeof(e));
        memcpy(e.eid, c->eid, 16);
        e.key_index = en->key;
        memcpy(e.tid, tids[i], 16);
        e.tid_len = 16;
        memcpy(e.iccid, F.iccid, 10);
        snprintf(e.profile_type, sizeof(e.profile_type), "test");
        e.bpp = bpp.data;
        e.bpp_len = bpp.len;
        CU_ASSERT_EQUAL_FATAL(ifpp_bundle_writer_add(w, &e), ST_OK);
    }
    CU_ASSERT_EQUAL_FATAL(ifpp_bundle_writer_close(w), ST_OK);
    if (tids_out)
        memcpy(tids_out, tids, n * 16);
    if (signer) {
        buf_t sig = BUF_INIT;
        BIO *bio = BIO_new_file(path, "rb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(bio);
        CU_ASSERT_EQUAL_FATAL(cms_sign_bio(signer->key, signer->cert, NULL, bio, true, &sig),
                              ST_OK);
        BIO_free(bio);
        CU_ASSERT_FATAL(asprintf(&p7s, "%s.p7s", path) > 0);
        write_bytes(p7s, sig.data, sig.len);
        buf_free(&sig);
        free(p7s);
    }
    buf_free(&pb_der);
    buf_free(&bpp);
}

/* (Re)signs `path` into path.p7s with `signer`. */
static void sign_file(const char *path, const kc_t *signer) {
    buf_t sig = BUF_INIT;
    char *p7s = NULL;
    BIO *bio = BIO_new_file(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bio);
    CU_ASSERT_EQUAL_FATAL(cms_sign_bio(signer->key, signer->cert, NULL, bio, true, &sig), ST_OK);
    BIO_free(bio);
    CU_ASSERT_FATAL(asprintf(&p7s, "%s.p7s", path) > 0);
    write_bytes(p7s, sig.data, sig.len);
    buf_free(&sig);
    free(p7s);
}

static void bid(uint8_t id[16], uint8_t seed) {
    memset(id, seed, 16);
    id[0] = 0xB1;
}

/* The standard good bundle: cards 0..2 key 1, signed by SM-DPf 1. */
static const ent_t std_ents[] = {ENT(0, 1), ENT(1, 1), ENT(2, 1)};
#define N_STD 3

static void write_std(const char *path, uint8_t seed) {
    uint8_t id[16];
    bid(id, seed);
    write_bundle(path, id, &F.pb1, &F.oid1, std_ents, N_STD, &F.auth1, NULL);
}

/* Imports the eUICC data of every card (expects success). */
static void load_edata(env_t *e) {
    char *p = path_in(e, "data.ifppe");
    write_edata(p, NCARDS, &F.eum, -1);
    CU_ASSERT_EQUAL_FATAL(run1(e, p), ST_OK);
    CU_ASSERT_EQUAL(e->rep.v[0].outcome, IMPORT_IMPORTED);
    free(p);
}

/* ---- bundle file surgery: header + entries, reassembled ---- */

typedef struct {
    buf_t hdr;
    buf_t ent[16];
    size_t n;
} split_t;

static void split_bundle(const char *path, split_t *sp) {
    buf_t file = BUF_INIT;
    tlv_t outer, hdr, ents, e;
    tlv_iter_t it;

    memset(sp, 0, sizeof(*sp));
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&file, path, 1u << 26), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(file.data, file.len, &outer), ST_OK);
    tlv_iter_children(&it, &outer);
    CU_ASSERT_EQUAL_FATAL(tlv_iter_next(&it, &hdr), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_iter_next(&it, &ents), ST_OK);
    CU_ASSERT_EQUAL_FATAL(buf_append(&sp->hdr, hdr.raw, hdr.raw_len), ST_OK);
    tlv_iter_children(&it, &ents);
    while (tlv_iter_next(&it, &e) == ST_OK) {
        CU_ASSERT_FATAL(sp->n < 16);
        CU_ASSERT_EQUAL_FATAL(buf_append(&sp->ent[sp->n], e.raw, e.raw_len), ST_OK);
        sp->n++;
    }
    buf_free(&file);
}

static void split_free(split_t *sp) {
    buf_free(&sp->hdr);
    for (size_t i = 0; i < 16; i++)
        buf_free(&sp->ent[i]);
}

/* 30 L { header, 30 L { entries } } written to path; entry `raw_at` (if < n) is replaced by
 * raw bytes taken as they are. */
static void join_bundle(const char *path, const split_t *sp) {
    buf_t body = BUF_INIT, ents = BUF_INIT, out = BUF_INIT;
    for (size_t i = 0; i < sp->n; i++)
        CU_ASSERT_EQUAL_FATAL(buf_append(&ents, sp->ent[i].data, sp->ent[i].len), ST_OK);
    CU_ASSERT_EQUAL_FATAL(buf_append(&body, sp->hdr.data, sp->hdr.len), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_buf_put(&body, 0x30, ents.data, ents.len), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_buf_put(&out, 0x30, body.data, body.len), ST_OK);
    write_bytes(path, out.data, out.len);
    buf_free(&body);
    buf_free(&ents);
    buf_free(&out);
}

/* ---- assertions ---- */

/* Nothing of any bundle in the store, and the database is sound. */
static void assert_no_bundle(env_t *e) {
    store_stats_list_t l = {NULL, 0};
    CU_ASSERT_EQUAL(store_bundle_stats(e->s, &l), ST_OK);
    CU_ASSERT_EQUAL(l.n, 0);
    store_stats_list_free(&l);
    CU_ASSERT_EQUAL(store_check(e->s), ST_OK);
}

static uint64_t bpp_total(env_t *e) {
    store_stats_list_t l = {NULL, 0};
    uint64_t n = 0;
    CU_ASSERT_EQUAL(store_bundle_stats(e->s, &l), ST_OK);
    for (size_t i = 0; i < l.n; i++)
        for (int k = 0; k < STORE_BPP__COUNT; k++)
            n += l.v[i].count[k];
    store_stats_list_free(&l);
    return n;
}

/*
 * The report entry for `file` (matched by suffix) was refused with `st`, in entry `entry`
 * (IMPORT_NO_ENTRY: none), with `needle` in its reason; its line names the file, the entry
 * and the reason.
 */
static void assert_refused_at(env_t *e, const char *file, st_t st, size_t entry, const char *needle,
                              int line) {
    const import_file_t *f = NULL;
    char msg[1024], want[64];
    for (size_t i = 0; i < e->rep.n && !f; i++) {
        size_t a = strlen(e->rep.v[i].file), b = strlen(file);
        if (a >= b && strcmp(e->rep.v[i].file + a - b, file) == 0)
            f = &e->rep.v[i];
    }
    if (!f) {
        fprintf(stderr, "\ntest_import.c:%d: no report entry for %s\n", line, file);
        CU_FAIL("no report entry for the file");
        return;
    }
    import_file_format(f, msg, sizeof(msg));
    if (f->outcome != IMPORT_REFUSED || f->st != st || f->entry != entry
        || !strstr(f->reason, needle))
        fprintf(stderr,
                "\ntest_import.c:%d: got [%s %s] %s\n   want [refused %s] entry %zu, '%s'\n", line,
                import_outcome_name(f->outcome), st_name(f->st), msg, st_name(st), entry, needle);
    CU_ASSERT_EQUAL(f->outcome, IMPORT_REFUSED);
    CU_ASSERT_EQUAL(f->st, st);
    CU_ASSERT_EQUAL(f->entry, entry);
    CU_ASSERT_PTR_NOT_NULL(strstr(f->reason, needle));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, file));
    if (entry != IMPORT_NO_ENTRY) {
        /* "entry N (EID ...): " when the entry's EID could be read, else "entry N: " */
        snprintf(want, sizeof(want), f->has_eid ? "entry %zu (EID " : "entry %zu: ", entry);
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, want));
    }
    CU_ASSERT(e->rep.n_refused >= 1);
}
#define ASSERT_REFUSED(e, file, st, entry, needle)                                                 \
    assert_refused_at(e, file, st, entry, needle, __LINE__)

/* Imports a single bundle expected to be refused, and checks that nothing was imported. */
static void expect_bundle_refused(env_t *e, const char *path, st_t st, size_t entry,
                                  const char *needle, int line) {
    st_t got = run1(e, path);
    CU_ASSERT_NOT_EQUAL(got, ST_OK);
    assert_refused_at(e, strrchr(path, '/') + 1, st, entry, needle, line);
    assert_no_bundle(e);
}
#define EXPECT_REFUSED(e, path, st, entry, needle)                                                 \
    expect_bundle_refused(e, path, st, entry, needle, __LINE__)

/* ---- good paths ---- */

static void test_import_good(void) {
    env_t e;
    char *data, *b;
    const char *both[2];
    store_otk_t k;
    store_bpp_list_t l = {NULL, 0};
    uint64_t bad_seq = 0, rows = 0;

    env_open(&e, "imp-good");
    data = path_in(&e, "data.ifppe");
    b = path_in(&e, "b1.ifppb");
    write_edata(data, NCARDS, &F.eum, -1);
    write_std(b, 1);
    both[0] = b; /* bundle first on the command line: eUICC data is still imported first */
    both[1] = data;
    CU_ASSERT_EQUAL(run(&e, both, 2), ST_OK);
    CU_ASSERT_EQUAL(e.rep.n, 2);
    CU_ASSERT_EQUAL(e.rep.n_imported, 2);
    CU_ASSERT_EQUAL(e.rep.v[0].kind, IMPORT_KIND_EDATA);
    CU_ASSERT_EQUAL(e.rep.v[0].n_euiccs_new, NCARDS);
    CU_ASSERT_EQUAL(e.rep.v[0].n_keys_new, NCARDS * NKEYS);
    CU_ASSERT_EQUAL(e.rep.v[1].outcome, IMPORT_IMPORTED);
    CU_ASSERT_EQUAL(e.rep.v[1].n_bpps, N_STD);
    CU_ASSERT_EQUAL(e.rep.v[1].n_held, 0);
    CU_ASSERT_STRING_EQUAL(e.rep.v[1].smdpf_oid, OID1);
    CU_ASSERT_EQUAL(bpp_total(&e), N_STD);
    /* the keys are bound, the BPPs pending for their card */
    CU_ASSERT_EQUAL(store_otk_get(e.s, F.cards[0].eid, 1, &k), ST_OK);
    CU_ASSERT_EQUAL(k.state, STORE_OTK_BOUND);
    CU_ASSERT_EQUAL(store_otk_get(e.s, F.cards[0].eid, 2, &k), ST_OK);
    CU_ASSERT_EQUAL(k.state, STORE_OTK_UNUSED);
    CU_ASSERT_EQUAL(store_bpp_pending(e.s, F.cards[1].eid, false, &l), ST_OK);
    CU_ASSERT_EQUAL(l.n, 1);
    CU_ASSERT_EQUAL(l.n ? l.v[0].seq : 99, 1);
    store_bpp_list_free(&l);

    /* re-import: no change, exit 0 */
    CU_ASSERT_EQUAL(run(&e, both, 2), ST_OK);
    CU_ASSERT_EQUAL(e.rep.n_unchanged, 2);
    CU_ASSERT_EQUAL(e.rep.v[1].outcome, IMPORT_UNCHANGED);
    CU_ASSERT_EQUAL(bpp_total(&e), N_STD);
    /* audit: 2 imports + 2 unchanged rows, chain intact */
    CU_ASSERT_EQUAL(store_audit_verify(e.s, &bad_seq, &rows), ST_OK);
    CU_ASSERT_EQUAL(rows, 4);
    CU_ASSERT_EQUAL(store_check(e.s), ST_OK);
    free(data);
    free(b);
    env_close(&e);
}

static void test_import_hold(void) {
    env_t e;
    char *b;
    store_bpp_list_t l = {NULL, 0};

    env_open(&e, "imp-hold");
    b = path_in(&e, "b.ifppb");
    write_std(b, 2);
    e.o.unknown_eid = IMPORT_UNKNOWN_EID_HOLD;
    CU_ASSERT_EQUAL(run1(&e, b), ST_OK);
    CU_ASSERT_EQUAL(e.rep.v[0].outcome, IMPORT_IMPORTED);
    CU_ASSERT_EQUAL(e.rep.v[0].n_bpps, N_STD);
    CU_ASSERT_EQUAL(e.rep.v[0].n_held, N_STD);
    CU_ASSERT_EQUAL(store_bpp_pending(e.s, F.cards[2].eid, false, &l), ST_OK);
    CU_ASSERT_EQUAL(l.n, 1);
    store_bpp_list_free(&l);
    free(b);
    env_close(&e);
}

static void test_import_stick(void) {
    env_t e;
    char *stick, *p;
    const char *names[] = {"a.ifppb", "README.txt"};

    env_open(&e, "imp-stick");
    stick = path_in(&e, "stick");
    CU_ASSERT_EQUAL_FATAL(mkdir(stick, 0755), 0);
    CU_ASSERT_FATAL(asprintf(&p, "%s/z-data.ifppe", stick) > 0);
    write_edata(p, NCARDS, &F.eum, -1);
    free(p);
    CU_ASSERT_FATAL(asprintf(&p, "%s/%s", stick, names[0]) > 0);
    write_std(p, 3);
    free(p);
    CU_ASSERT_FATAL(asprintf(&p, "%s/%s", stick, names[1]) > 0);
    write_bytes(p, "hello\n", 6);
    free(p);
    CU_ASSERT_FATAL(asprintf(&p, "%s/sub", stick) > 0);
    CU_ASSERT_EQUAL(mkdir(p, 0755), 0);
    free(p);
    CU_ASSERT_EQUAL(run1(&e, stick), ST_OK);
    CU_ASSERT_EQUAL(e.rep.n_imported, 2); /* z-data.ifppe before a.ifppb */
    CU_ASSERT_EQUAL(e.rep.n_skipped, 2);  /* README.txt, sub/ */
    CU_ASSERT_EQUAL(e.rep.n_refused, 0);
    CU_ASSERT_EQUAL(bpp_total(&e), N_STD);
    free(stick);
    env_close(&e);
}

/* ---- bad bundles: each refused, nothing imported ---- */

static void test_truncated(void) {
    env_t e;
    char *b;
    buf_t file = BUF_INIT;

    env_open(&e, "imp-trunc");
    load_edata(&e);
    b = path_in(&e, "t.ifppb");
    write_std(b, 4);
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&file, b, 1u << 26), ST_OK);
    write_bytes(b, file.data, file.len - 100);
    sign_file(b, &F.auth1); /* the signature is not what catches it */
    EXPECT_REFUSED(&e, b, ST_E_TRUNCATED, N_STD - 1, "truncated");
    buf_free(&file);
    free(b);
    env_close(&e);
}

static void test_trailing(void) {
    env_t e;
    char *b;
    buf_t file = BUF_INIT;

    env_open(&e, "imp-trail");
    load_edata(&e);
    b = path_in(&e, "t.ifppb");
    write_std(b, 5);
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&file, b, 1u << 26), ST_OK);
    CU_ASSERT_EQUAL(buf_append(&file, "GARBAGE", 7), ST_OK);
    write_bytes(b, file.data, file.len);
    sign_file(b, &F.auth1);
    EXPECT_REFUSED(&e, b, ST_E_TRAILING, IMPORT_NO_ENTRY, "trailing bytes");
    buf_free(&file);
    free(b);
    env_close(&e);
}

static void test_p7s_absent(void) {
    env_t e;
    char *b, *p7s;

    env_open(&e, "imp-nop7s");
    load_edata(&e);
    b = path_in(&e, "n.ifppb");
    write_std(b, 6);
    p7s = path_in(&e, "n.ifppb.p7s");
    CU_ASSERT_EQUAL(unlink(p7s), 0);
    EXPECT_REFUSED(&e, b, ST_E_NOENT, IMPORT_NO_ENTRY, "no signature");
    free(p7s);
    free(b);
    env_close(&e);
}

static void test_p7s_wrong(void) {
    env_t e;
    char *a, *b, *pa, *pb;
    buf_t sig = BUF_INIT;

    env_open(&e, "imp-wrongp7s");
    load_edata(&e);
    a = path_in(&e, "a.ifppb");
    b = path_in(&e, "b.ifppb");
    write_std(a, 7);
    write_std(b, 8);
    pa = path_in(&e, "a.ifppb.p7s");
    pb = path_in(&e, "b.ifppb.p7s");
    /* b's valid signature beside a */
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&sig, pb, 1 << 20), ST_OK);
    write_bytes(pa, sig.data, sig.len);
    EXPECT_REFUSED(&e, a, ST_E_BAD_SIGNATURE, IMPORT_NO_ENTRY, "does not verify");
    /* not a CMS at all */
    write_bytes(pa, "not a signature", 15);
    EXPECT_REFUSED(&e, a, ST_E_PARSE, IMPORT_NO_ENTRY, "not a DER CMS SignedData");
    /* an empty one */
    write_bytes(pa, "", 0);
    EXPECT_REFUSED(&e, a, ST_E_PARSE, IMPORT_NO_ENTRY, "empty");
    buf_free(&sig);
    free(a);
    free(b);
    free(pa);
    free(pb);
    env_close(&e);
}

static void test_signer_untrusted(void) {
    env_t e;
    char *b;

    env_open(&e, "imp-untrusted");
    load_edata(&e);
    b = path_in(&e, "u.ifppb");
    write_std(b, 9);
    sign_file(b, &F.rauth); /* right OID, rogue CI */
    EXPECT_REFUSED(&e, b, ST_E_UNTRUSTED, IMPORT_NO_ENTRY, "not trusted");
    free(b);
    env_close(&e);
}

static void test_signer_not_allowed(void) {
    env_t e;
    char *b;
    uint8_t id[16];

    env_open(&e, "imp-notallowed");
    load_edata(&e);
    b = path_in(&e, "s2.ifppb");
    bid(id, 10);
    /* SM-DPf 2: trusted, consistent, but not in [smdpf] allowed */
    write_bundle(b, id, &F.pb2, &F.oid2, std_ents, N_STD, &F.auth2, NULL);
    EXPECT_REFUSED(&e, b, ST_E_NOT_ALLOWED, IMPORT_NO_ENTRY, "not an allowed SM-DPf");
    /* SM-DPf 1's signature over a header claiming SM-DPf 2 */
    sign_file(b, &F.auth1);
    EXPECT_REFUSED(&e, b, ST_E_NOT_ALLOWED, IMPORT_NO_ENTRY, "is not the signer's SM-DPf");
    /* a non-SM-DPf signer (the EUM) */
    write_std(b, 11);
    sign_file(b, &F.eum);
    EXPECT_REFUSED(&e, b, ST_E_NOT_ALLOWED, IMPORT_NO_ENTRY, "not an SM-DPf certificate");
    free(b);
    env_close(&e);
}

/* Offset of the last occurrence of `needle` (n bytes) in file, or SIZE_MAX. */
static size_t find_last(const buf_t *file, const uint8_t *needle, size_t n) {
    for (size_t i = file->len - n + 1; i-- > 0;)
        if (memcmp(file->data + i, needle, n) == 0)
            return i;
    return SIZE_MAX;
}

static void test_bpp_byte_flipped(void) {
    env_t e;
    char *b;
    buf_t file = BUF_INIT;
    size_t at;
    static const uint8_t tag_5f37[] = {0x5F, 0x37, 0x40};

    env_open(&e, "imp-flip");
    load_edata(&e);
    b = path_in(&e, "f.ifppb");
    /* a byte of the last BPP's encrypted profile data: only the signature can see it */
    write_std(b, 12);
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&file, b, 1u << 26), ST_OK);
    file.data[file.len - 20] ^= 0x01;
    write_bytes(b, file.data, file.len);
    EXPECT_REFUSED(&e, b, ST_E_BAD_SIGNATURE, IMPORT_NO_ENTRY, "does not verify over this bundle");
    /* a byte of the last BPP's smdpSign: the pre-flight names the entry (even re-signed) */
    write_std(b, 13);
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&file, b, 1u << 26), ST_OK);
    at = find_last(&file, tag_5f37, sizeof(tag_5f37));
    CU_ASSERT_FATAL(at != SIZE_MAX);
    file.data[at + 3 + 10] ^= 0x80;
    write_bytes(b, file.data, file.len);
    sign_file(b, &F.auth1);
    EXPECT_REFUSED(&e, b, ST_E_BAD_SIGNATURE, N_STD - 1, "smdpSign does not verify");
    buf_free(&file);
    free(b);
    env_close(&e);
}

static void test_dup_tid_in_file(void) {
    env_t e;
    char *b;
    uint8_t id[16];
    ent_t ents[] = {ENT(0, 1), ENT(1, 1), ENT(2, 1)};

    env_open(&e, "imp-duptid");
    load_edata(&e);
    b = path_in(&e, "d.ifppb");
    ents[2].tid_as = 0; /* entry 2 re-uses entry 0's transactionId (properly signed) */
    bid(id, 14);
    write_bundle(b, id, &F.pb1, &F.oid1, ents, 3, &F.auth1, NULL);
    EXPECT_REFUSED(&e, b, ST_E_CONFLICT, 2, "duplicate transactionId");
    free(b);
    env_close(&e);
}

static void test_dup_tid_vs_store(void) {
    env_t e;
    char *a, *b;
    uint8_t id[16], tids[16][16];
    ent_t first[] = {ENT(0, 1)};
    ent_t second[] = {ENT(1, 1), ENT(0, 2)};

    env_open(&e, "imp-duptid2");
    load_edata(&e);
    a = path_in(&e, "a.ifppb");
    b = path_in(&e, "b.ifppb");
    bid(id, 15);
    write_bundle(a, id, &F.pb1, &F.oid1, first, 1, &F.auth1, tids);
    CU_ASSERT_EQUAL(run1(&e, a), ST_OK);
    /* another bundle whose entry 1 (properly bound and signed) re-uses that transactionId */
    second[1].tid = tids[0];
    bid(id, 16);
    write_bundle(b, id, &F.pb1, &F.oid1, second, 2, &F.auth1, NULL);
    CU_ASSERT_NOT_EQUAL(run1(&e, b), ST_OK);
    ASSERT_REFUSED(&e, "b.ifppb", ST_E_CONFLICT, 1, "duplicate transactionId");
    CU_ASSERT_EQUAL(bpp_total(&e), 1);
    free(a);
    free(b);
    env_close(&e);
}

static void test_unknown_eid_refused(void) {
    env_t e;
    char *b;

    env_open(&e, "imp-unknown");
    b = path_in(&e, "u.ifppb");
    write_std(b, 17); /* no eUICC data imported at all */
    EXPECT_REFUSED(&e, b, ST_E_NOENT, 0, "no eUICC data for this EID");
    free(b);
    env_close(&e);
}

static void test_misbound(void) {
    env_t e;
    char *b;
    uint8_t id[16];
    ent_t other_key[] = {ENT(0, 1),
                         {1, 1, -1, 2, -1, false, NULL}}; /* says key 1, bound to key 2 */
    ent_t other_card[] = {{2, 1, 3, 1, -1, false, NULL}}; /* card 2's entry, card 3's key */

    env_open(&e, "imp-misbound");
    load_edata(&e);
    b = path_in(&e, "m.ifppb");
    bid(id, 18);
    write_bundle(b, id, &F.pb1, &F.oid1, other_key, 2, &F.auth1, NULL);
    EXPECT_REFUSED(&e, b, ST_E_BAD_SIGNATURE, 1, "mis-bound");
    bid(id, 19);
    write_bundle(b, id, &F.pb1, &F.oid1, other_card, 1, &F.auth1, NULL);
    EXPECT_REFUSED(&e, b, ST_E_BAD_SIGNATURE, 0, "mis-bound");
    /* the smdpSign checks run behind the pass: a later entry's other fault does not hide the
     * first mis-bound entry */
    {
        ent_t mixed[] = {
            ENT(0, 1), {1, 1, -1, 2, -1, false, NULL}, ENT(2, 1), {3, 1, -1, 0, -1, true, NULL}};
        bid(id, 42);
        write_bundle(b, id, &F.pb1, &F.oid1, mixed, 4, &F.auth1, NULL);
        EXPECT_REFUSED(&e, b, ST_E_BAD_SIGNATURE, 1, "mis-bound");
    }
    free(b);
    env_close(&e);
}

static void test_tid_mismatch(void) {
    env_t e;
    char *b;
    uint8_t id[16];
    ent_t ents[] = {ENT(0, 1), {1, 1, -1, 0, -1, true, NULL}};

    env_open(&e, "imp-tidmis");
    load_edata(&e);
    b = path_in(&e, "t.ifppb");
    bid(id, 20);
    write_bundle(b, id, &F.pb1, &F.oid1, ents, 2, &F.auth1, NULL);
    EXPECT_REFUSED(&e, b, ST_E_CONFLICT, 1, "differs from the BPP's");
    free(b);
    env_close(&e);
}

static void test_key_taken(void) {
    env_t e;
    char *a, *b;
    uint8_t id[16];
    ent_t one[] = {ENT(0, 1)};
    ent_t twice[] = {ENT(1, 1), ENT(1, 1)};

    env_open(&e, "imp-keytaken");
    load_edata(&e);
    a = path_in(&e, "a.ifppb");
    b = path_in(&e, "b.ifppb");
    bid(id, 21);
    write_bundle(a, id, &F.pb1, &F.oid1, one, 1, &F.auth1, NULL);
    CU_ASSERT_EQUAL(run1(&e, a), ST_OK);
    /* the same key again, in another bundle */
    bid(id, 22);
    write_bundle(b, id, &F.pb1, &F.oid1, one, 1, &F.auth1, NULL);
    CU_ASSERT_NOT_EQUAL(run1(&e, b), ST_OK);
    ASSERT_REFUSED(&e, "b.ifppb", ST_E_CONFLICT, 0, "bound to another BPP");
    CU_ASSERT_EQUAL(bpp_total(&e), 1);
    /* twice in one bundle */
    bid(id, 23);
    write_bundle(b, id, &F.pb1, &F.oid1, twice, 2, &F.auth1, NULL);
    CU_ASSERT_NOT_EQUAL(run1(&e, b), ST_OK);
    ASSERT_REFUSED(&e, "b.ifppb", ST_E_CONFLICT, 1, "bound to another BPP");
    CU_ASSERT_EQUAL(bpp_total(&e), 1);
    free(a);
    free(b);
    env_close(&e);
}

static void test_lengths_overrun(void) {
    env_t e;
    char *b;
    split_t sp;
    tlv_t ent, bf36;
    size_t off;

    env_open(&e, "imp-overrun");
    load_edata(&e);
    b = path_in(&e, "o.ifppb");
    write_std(b, 24);
    split_bundle(b, &sp);
    /* entry 1: BF36 claims 0x100 bytes more than the entry holds */
    CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(sp.ent[1].data, sp.ent[1].len, &ent), ST_OK);
    CU_ASSERT_EQUAL_FATAL(tlv_find_child(&ent, 0xBF36, &bf36), ST_OK);
    off = (size_t)(bf36.raw - sp.ent[1].data);
    CU_ASSERT_EQUAL_FATAL(sp.ent[1].data[off + 2], 0x82); /* BF36 82 LL LL */
    sp.ent[1].data[off + 3] += 1;
    join_bundle(b, &sp);
    sign_file(b, &F.auth1);
    EXPECT_REFUSED(&e, b, ST_E_TRUNCATED, 1, "truncated");
    split_free(&sp);
    free(b);
    env_close(&e);
}

static void test_zero_and_huge_tlv(void) {
    env_t e;
    char *b;
    split_t sp;
    buf_t ent = BUF_INIT, body = BUF_INIT;
    static const uint8_t huge_entry[] = {0x30, 0x84, 0xFF, 0xFF, 0xFF, 0x00, 0x80, 0x10};

    env_open(&e, "imp-zerohuge");
    load_edata(&e);
    b = path_in(&e, "z.ifppb");
    write_std(b, 25);
    split_bundle(b, &sp);
    /* entry 1 with a 0-byte BPP: eid, keyIndex, tid, iccid as they were, then BF36 00 */
    {
        tlv_t t, c;
        tlv_iter_t it;
        CU_ASSERT_EQUAL_FATAL(tlv_parse_exact(sp.ent[1].data, sp.ent[1].len, &t), ST_OK);
        tlv_iter_children(&it, &t);
        while (tlv_iter_next(&it, &c) == ST_OK)
            if (c.tag != 0xBF36)
                CU_ASSERT_EQUAL(buf_append(&body, c.raw, c.raw_len), ST_OK);
        CU_ASSERT_EQUAL(buf_append(&body, "\xBF\x36\x00", 3), ST_OK);
        CU_ASSERT_EQUAL(tlv_buf_put(&ent, 0x30, body.data, body.len), ST_OK);
    }
    buf_reset(&sp.ent[1]);
    CU_ASSERT_EQUAL(buf_append(&sp.ent[1], ent.data, ent.len), ST_OK);
    join_bundle(b, &sp);
    sign_file(b, &F.auth1);
    {
        st_t got = run1(&e, b);
        CU_ASSERT_NOT_EQUAL(got, ST_OK);
        CU_ASSERT_EQUAL(e.rep.n_refused, 1);
        CU_ASSERT_EQUAL(e.rep.v[0].entry, 1);
        assert_no_bundle(&e);
    }
    split_free(&sp);

    /* entry 2 announces 4 GiB - 256 bytes */
    write_std(b, 26);
    split_bundle(b, &sp);
    buf_reset(&sp.ent[2]);
    CU_ASSERT_EQUAL(buf_append(&sp.ent[2], huge_entry, sizeof(huge_entry)), ST_OK);
    join_bundle(b, &sp);
    sign_file(b, &F.auth1);
    EXPECT_REFUSED(&e, b, ST_E_TRUNCATED, 2, "truncated");
    split_free(&sp);
    buf_free(&ent);
    buf_free(&body);
    free(b);
    env_close(&e);
}

static void test_stick_symlink_dotdot(void) {
    env_t e;
    char *stick, *out, *p, *q;

    env_open(&e, "imp-sticklink");
    load_edata(&e);
    stick = path_in(&e, "stick");
    CU_ASSERT_EQUAL_FATAL(mkdir(stick, 0755), 0);
    /* a valid bundle outside the stick, linked from it (its .p7s copied in) */
    out = path_in(&e, "outside.ifppb");
    write_std(out, 27);
    CU_ASSERT_FATAL(asprintf(&p, "%s/x.ifppb", stick) > 0);
    CU_ASSERT_EQUAL(symlink(out, p), 0);
    free(p);
    {
        buf_t sig = BUF_INIT;
        CU_ASSERT_FATAL(asprintf(&q, "%s.p7s", out) > 0);
        CU_ASSERT_EQUAL(buf_read_file(&sig, q, 1 << 20), ST_OK);
        CU_ASSERT_FATAL(asprintf(&p, "%s/x.ifppb.p7s", stick) > 0);
        write_bytes(p, sig.data, sig.len);
        buf_free(&sig);
        free(p);
        free(q);
    }
    /* a valid bundle named with '..' */
    CU_ASSERT_FATAL(asprintf(&p, "%s/..y.ifppb", stick) > 0);
    write_std(p, 28);
    free(p);
    CU_ASSERT_NOT_EQUAL(run1(&e, stick), ST_OK);
    ASSERT_REFUSED(&e, "/x.ifppb", ST_E_PERM, IMPORT_NO_ENTRY, "symbolic link");
    ASSERT_REFUSED(&e, "/..y.ifppb", ST_E_PERM, IMPORT_NO_ENTRY, "'..'");
    ASSERT_REFUSED(&e, "/..y.ifppb.p7s", ST_E_PERM, IMPORT_NO_ENTRY, "'..'");
    CU_ASSERT_EQUAL(e.rep.n_imported, 0);
    assert_no_bundle(&e);
    /* a symlink named on the command line is not followed either */
    CU_ASSERT_FATAL(asprintf(&p, "%s/x.ifppb", stick) > 0);
    CU_ASSERT_NOT_EQUAL(run1(&e, p), ST_OK);
    ASSERT_REFUSED(&e, "/x.ifppb", ST_E_PERM, IMPORT_NO_ENTRY, "symbolic link");
    assert_no_bundle(&e);
    free(p);
    /* a linked signature beside a real bundle */
    CU_ASSERT_FATAL(asprintf(&p, "%s/w.ifppb", stick) > 0);
    write_std(p, 29);
    CU_ASSERT_FATAL(asprintf(&q, "%s.p7s", p) > 0);
    CU_ASSERT_EQUAL(unlink(q), 0);
    CU_ASSERT_EQUAL(symlink(out, q), 0);
    CU_ASSERT_NOT_EQUAL(run1(&e, p), ST_OK);
    ASSERT_REFUSED(&e, "/w.ifppb", ST_E_PERM, IMPORT_NO_ENTRY, "symbolic link");
    assert_no_bundle(&e);
    free(p);
    free(q);
    free(out);
    free(stick);
    env_close(&e);
}

static int64_t pragma_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *q = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static void test_disk_full(void) {
    env_t e;
    char *b, sql[96];
    int64_t pages;

    env_open(&e, "imp-full");
    load_edata(&e);
    b = path_in(&e, "full.ifppb");
    {
        uint8_t id[16];
        ent_t all[NCARDS * NKEYS];
        for (int i = 0; i < NCARDS * NKEYS; i++)
            all[i] = (ent_t)ENT(i / NKEYS, (uint32_t)(i % NKEYS) + 1);
        bid(id, 30);
        write_bundle(b, id, &F.pb1, &F.oid1, all, NCARDS * NKEYS, &F.auth1, NULL);
    }
    /* the database may grow by 1 page: the bundle row fits, its BPPs do not */
    pages = pragma_int(store_db(e.s), "PRAGMA page_count");
    CU_ASSERT_FATAL(pages > 0);
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRId64, pages + 1);
    CU_ASSERT_EQUAL_FATAL(pragma_int(store_db(e.s), sql), pages + 1);
    CU_ASSERT_NOT_EQUAL(run1(&e, b), ST_OK);
    CU_ASSERT_EQUAL(e.rep.v[0].outcome, IMPORT_REFUSED);
    CU_ASSERT_EQUAL(e.rep.v[0].st, ST_E_NOSPACE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.rep.v[0].reason, "no space left"));
    assert_no_bundle(&e);
    /* space again: the same file imports completely */
    CU_ASSERT(pragma_int(store_db(e.s), "PRAGMA max_page_count = 1073741823") > pages);
    CU_ASSERT_EQUAL(run1(&e, b), ST_OK);
    CU_ASSERT_EQUAL(bpp_total(&e), NCARDS * NKEYS);
    free(b);
    env_close(&e);
}

static void test_bundle_id_reused(void) {
    env_t e;
    char *a, *b;
    uint8_t id[16];
    ent_t other[] = {ENT(3, 1)};

    env_open(&e, "imp-reuse");
    load_edata(&e);
    a = path_in(&e, "a.ifppb");
    b = path_in(&e, "b.ifppb");
    write_std(a, 31);
    CU_ASSERT_EQUAL(run1(&e, a), ST_OK);
    bid(id, 31); /* same id, other content */
    write_bundle(b, id, &F.pb1, &F.oid1, other, 1, &F.auth1, NULL);
    CU_ASSERT_NOT_EQUAL(run1(&e, b), ST_OK);
    ASSERT_REFUSED(&e, "b.ifppb", ST_E_CONFLICT, IMPORT_NO_ENTRY, "already imported with other");
    CU_ASSERT_EQUAL(bpp_total(&e), N_STD);
    {
        store_otk_t k;
        CU_ASSERT_EQUAL(store_otk_get(e.s, F.cards[3].eid, 1, &k), ST_OK);
        CU_ASSERT_EQUAL(k.state, STORE_OTK_UNUSED);
    }
    free(a);
    free(b);
    env_close(&e);
}

/* ---- bad eUICC data ---- */

static void test_edata_bad(void) {
    env_t e;
    char *p;
    store_euicc_t *eu = NULL;

    env_open(&e, "imp-edata");
    p = path_in(&e, "bad.ifppe");
    /* card 2's key 2 carries another signature */
    write_edata(p, NCARDS, &F.eum, 2);
    CU_ASSERT_NOT_EQUAL(run1(&e, p), ST_OK);
    ASSERT_REFUSED(&e, "bad.ifppe", ST_E_BAD_SIGNATURE, 2, "one-time key 2");
    CU_ASSERT_EQUAL(store_euicc_get(e.s, F.cards[0].eid, &eu), ST_E_NOENT);
    /* signed by an SM-DPf, not by the EUM */
    write_edata(p, NCARDS, &F.auth1, -1);
    CU_ASSERT_NOT_EQUAL(run1(&e, p), ST_OK);
    ASSERT_REFUSED(&e, "bad.ifppe", ST_E_NOT_ALLOWED, IMPORT_NO_ENTRY, "not an EUM");
    /* a flipped byte */
    {
        buf_t file = BUF_INIT;
        write_edata(p, NCARDS, &F.eum, -1);
        CU_ASSERT_EQUAL_FATAL(buf_read_file(&file, p, 1 << 24), ST_OK);
        file.data[file.len / 2] ^= 0x04;
        write_bytes(p, file.data, file.len);
        CU_ASSERT_NOT_EQUAL(run1(&e, p), ST_OK);
        CU_ASSERT_EQUAL(e.rep.v[0].outcome, IMPORT_REFUSED);
        buf_free(&file);
    }
    CU_ASSERT_EQUAL(store_euicc_get(e.s, F.cards[0].eid, &eu), ST_E_NOENT);
    store_euicc_free(eu);
    free(p);
    env_close(&e);
}

/* ---- request export (ESBPP02) and status ---- */

/* Verifies and decodes a written request. */
static ifpp_request_t *read_request(const char *path) {
    buf_t file = BUF_INIT, content = BUF_INIT;
    cert_trust_t *t = cert_trust_new();
    ifpp_request_t *r = NULL;
    X509 *signer = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(cert_trust_add(t, F.dmca.cert), ST_OK);
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&file, path, 1 << 24), ST_OK);
    CU_ASSERT_EQUAL(cms_verify_attached(t, file.data, file.len, &content, &signer), ST_OK);
    CU_ASSERT(signer && cert_has_policy(signer, CERT_POLICY_IFPP_DM));
    CU_ASSERT_EQUAL(ifpp_request_decode(content.data, content.len, &r), ST_OK);
    X509_free(signer);
    cert_trust_free(t);
    buf_free(&file);
    buf_free(&content);
    return r;
}

static void test_request_export(void) {
    env_t e;
    request_opts_t o;
    request_filter_t f;
    request_result_t res;
    ifpp_request_t *r;
    uint8_t eids[3][16];
    char *out, *b, range[80], a[33], z[33];
    uint8_t id[16];
    ent_t one[] = {ENT(0, 1)};

    env_open(&e, "imp-request");
    load_edata(&e);
    out = path_in(&e, "r.ifppr");
    memset(&o, 0, sizeof(o));
    o.store = e.s;
    o.state_dir = e.dir;
    o.dm_id = "DM-TEST";
    o.dm_key = F.dm.key;
    o.dm_cert = F.dm.cert;
    memset(&f, 0, sizeof(f));
    memcpy(eids[0], F.cards[1].eid, 16);
    memcpy(eids[1], F.cards[0].eid, 16);
    memcpy(eids[2], F.cards[1].eid, 16); /* twice: taken once */
    f.eids = (const uint8_t(*)[16])eids;
    f.n_eids = 3;
    f.profile_type = "Test";
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_OK);
    CU_ASSERT_EQUAL(res.n_entries, 2);
    r = read_request(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->n_entries, 2);
    CU_ASSERT_EQUAL(r->n_certs_eum, 1);
    CU_ASSERT_STRING_EQUAL(r->dm_id, "DM-TEST");
    CU_ASSERT_EQUAL(memcmp(r->request_id, res.request_id, 16), 0);
    for (size_t i = 0; i < r->n_entries; i++) {
        CU_ASSERT_EQUAL(r->entries[i].key.key_index, 1);
        CU_ASSERT_EQUAL(r->entries[i].eum_index, 0);
        CU_ASSERT_STRING_EQUAL(r->entries[i].profile_type, "Test");
    }
    ifpp_request_free(r);

    /* the same eUICCs again: an outstanding request, nothing written */
    CU_ASSERT_EQUAL(unlink(out), 0);
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_E_NOENT);
    CU_ASSERT_EQUAL(res.n_requested, 2);
    CU_ASSERT_EQUAL(access(out, F_OK), -1);
    /* a lost request is re-sent with the same keys */
    f.include_requested = true;
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_OK);
    r = read_request(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->n_entries, 2);
    CU_ASSERT_EQUAL(r->n_entries ? r->entries[0].key.key_index : 0, 1);
    ifpp_request_free(r);

    /* a BPP imported for card 0 (its requested key becomes bound): it is out, card 1 still
     * asked (again) */
    b = path_in(&e, "b.ifppb");
    bid(id, 40);
    write_bundle(b, id, &F.pb1, &F.oid1, one, 1, &F.auth1, NULL);
    CU_ASSERT_EQUAL(run1(&e, b), ST_OK);
    {
        store_otk_t k;
        CU_ASSERT_EQUAL(store_otk_get(e.s, F.cards[0].eid, 1, &k), ST_OK);
        CU_ASSERT_EQUAL(k.state, STORE_OTK_BOUND);
    }
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_OK);
    CU_ASSERT_EQUAL(res.n_entries, 1);
    CU_ASSERT_EQUAL(res.n_has_bpp, 1);
    CU_ASSERT_EQUAL(res.n_resent, 1);

    /* a range: cards 2 and 3 are new, 0 and 1 are not; --count 1 */
    memset(&f, 0, sizeof(f));
    eid_to_str(F.cards[0].eid, a);
    eid_to_str(F.cards[NCARDS - 1].eid, z);
    snprintf(range, sizeof(range), "%s-%s", a, z);
    CU_ASSERT_EQUAL(request_parse_range(range, &f), ST_OK);
    f.count = 1;
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_OK);
    CU_ASSERT_EQUAL(res.n_entries, 1);
    f.count = 0;
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_OK);
    CU_ASSERT_EQUAL(res.n_entries, 1);
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_E_NOENT);
    /* bad ranges */
    snprintf(range, sizeof(range), "%s-%s", z, a);
    CU_ASSERT_EQUAL(request_parse_range(range, &f), ST_E_INVAL);
    CU_ASSERT_EQUAL(request_parse_range("123-456", &f), ST_E_PARSE);
    snprintf(range, sizeof(range), "%s-99999999999999999999999999999999", a);
    CU_ASSERT_EQUAL(request_parse_range(range, &f), ST_E_INVAL);
    /* nothing named: every eUICC; all have a BPP or an outstanding request */
    memset(&f, 0, sizeof(f));
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_E_NOENT);
    CU_ASSERT_EQUAL(res.n_candidates, NCARDS);
    CU_ASSERT_EQUAL(res.n_has_bpp, 1);
    CU_ASSERT_EQUAL(res.n_requested, NCARDS - 1);
    /* no ledger file: the store holds the requested keys */
    free(b);
    b = path_in(&e, REQUEST_LEDGER_NAME);
    CU_ASSERT_EQUAL(access(b, F_OK), -1);
    free(b);
    free(out);
    env_close(&e);
}

/* The store's key states of card c: *req = the requested key index (0: none). */
static void card_keys(env_t *e, int c, uint32_t *n_requested, uint32_t *req, uint8_t rid[16]) {
    store_euicc_t *eu = NULL;

    *n_requested = 0;
    *req = 0;
    CU_ASSERT_EQUAL_FATAL(store_euicc_get(e->s, F.cards[c].eid, &eu), ST_OK);
    for (size_t k = 0; k < eu->n_keys; k++) {
        if (eu->keys[k].state != STORE_OTK_REQUESTED)
            continue;
        (*n_requested)++;
        *req = eu->keys[k].key_index;
        if (rid)
            memcpy(rid, eu->keys[k].request_id, 16);
        CU_ASSERT(eu->keys[k].requested_at > 0);
    }
    store_euicc_free(eu);
}

static int64_t audit_rows(env_t *e, const char *action) {
    sqlite3_stmt *q = NULL;
    int64_t n = -1;
    CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(store_db(e->s),
                                             "SELECT count(*) FROM audit WHERE action = ?1", -1, &q,
                                             NULL),
                          SQLITE_OK);
    sqlite3_bind_text(q, 1, action, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

/* Without --eid/--eid-range: every eligible eUICC; keys marked in the store; never a second
 * key of an eUICC; a request that could not be written gives its keys back. */
static void test_request_all(void) {
    env_t e;
    request_opts_t o;
    request_filter_t f;
    request_result_t res;
    ifpp_request_t *r;
    uint8_t rid0[16], rid[16], id[16];
    uint32_t nreq, req;
    char *out, *bad, *b;
    ent_t one[] = {ENT(2, 1)};

    env_open(&e, "imp-request-all");
    load_edata(&e);
    out = path_in(&e, "all.ifppr");
    bad = path_in(&e, "no-such-dir/all.ifppr");
    memset(&o, 0, sizeof(o));
    o.store = e.s;
    o.state_dir = e.dir;
    o.actor = "tester";
    o.dm_id = "DM-TEST";
    o.dm_key = F.dm.key;
    o.dm_cert = F.dm.cert;
    memset(&f, 0, sizeof(f));

    /* the file cannot be written: nothing stays requested */
    f.count = 1;
    CU_ASSERT_NOT_EQUAL(request_export(&o, &f, bad, &res), ST_OK);
    CU_ASSERT_EQUAL(res.n_entries, 0);
    for (int c = 0; c < NCARDS; c++) {
        card_keys(&e, c, &nreq, &req, NULL);
        CU_ASSERT_EQUAL(nreq, 0);
    }
    CU_ASSERT_EQUAL(audit_rows(&e, "request.export"), 1);
    CU_ASSERT_EQUAL(audit_rows(&e, "request.discard"), 1);

    /* --count 3 of every eUICC: the three lowest EIDs, key 1 each */
    f.count = 3;
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_OK);
    CU_ASSERT_EQUAL(res.n_entries, 3);
    r = read_request(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(r->n_entries, 3);
    for (size_t i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(memcmp(r->entries[i].eid, F.cards[i].eid, 16), 0);
        CU_ASSERT_EQUAL(r->entries[i].key.key_index, 1);
    }
    ifpp_request_free(r);
    for (int c = 0; c < NCARDS; c++) {
        card_keys(&e, c, &nreq, &req, rid);
        CU_ASSERT_EQUAL(nreq, c < 3 ? 1 : 0);
        if (c < 3) {
            CU_ASSERT_EQUAL(req, 1);
            CU_ASSERT_EQUAL(memcmp(rid, res.request_id, 16), 0);
        }
    }
    memcpy(rid0, res.request_id, 16);

    /* the rest: card 3 only; then nothing */
    f.count = 0;
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_OK);
    CU_ASSERT_EQUAL(res.n_entries, 1);
    CU_ASSERT_EQUAL(res.n_requested, 3);
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_E_NOENT);
    CU_ASSERT_EQUAL(res.n_requested, NCARDS);

    /* --include-requested re-sends the same keys (never key 2); a failed re-send keeps the
     * earlier request's id */
    f.include_requested = true;
    f.count = 1;
    CU_ASSERT_NOT_EQUAL(request_export(&o, &f, bad, &res), ST_OK);
    card_keys(&e, 0, &nreq, &req, rid);
    CU_ASSERT_EQUAL(nreq, 1);
    CU_ASSERT_EQUAL(req, 1);
    CU_ASSERT_EQUAL(memcmp(rid, rid0, 16), 0);
    f.count = 0;
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_OK);
    CU_ASSERT_EQUAL(res.n_entries, NCARDS);
    CU_ASSERT_EQUAL(res.n_resent, NCARDS);
    r = read_request(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (size_t i = 0; i < r->n_entries; i++)
        CU_ASSERT_EQUAL(r->entries[i].key.key_index, 1);
    ifpp_request_free(r);
    for (int c = 0; c < NCARDS; c++) {
        card_keys(&e, c, &nreq, &req, rid);
        CU_ASSERT_EQUAL(nreq, 1);
        CU_ASSERT_EQUAL(req, 1);
        CU_ASSERT_EQUAL(memcmp(rid, res.request_id, 16), 0);
    }

    /* a bundle for card 2's requested key: bound, card 2 is out */
    b = path_in(&e, "b.ifppb");
    bid(id, 60);
    write_bundle(b, id, &F.pb1, &F.oid1, one, 1, &F.auth1, NULL);
    CU_ASSERT_EQUAL(run1(&e, b), ST_OK);
    card_keys(&e, 2, &nreq, &req, NULL);
    CU_ASSERT_EQUAL(nreq, 0);
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_OK);
    CU_ASSERT_EQUAL(res.n_entries, NCARDS - 1);
    CU_ASSERT_EQUAL(res.n_has_bpp, 1);

    /* a key taken meanwhile (compare-and-set): the store refuses a second requested key of an
     * eUICC and a fresh request of a requested key */
    CU_ASSERT_EQUAL(store_otk_request(e.s, F.cards[0].eid, 2, id, false), ST_E_CONFLICT);
    CU_ASSERT_EQUAL(store_otk_request(e.s, F.cards[0].eid, 1, id, false), ST_E_STATE);
    CU_ASSERT_EQUAL(store_otk_release(e.s, F.cards[0].eid, 1, id), ST_E_STATE);
    CU_ASSERT_EQUAL(store_check(e.s), ST_OK);
    CU_ASSERT_EQUAL(store_audit_verify(e.s, NULL, NULL), ST_OK);
    free(b);
    free(bad);
    free(out);
    env_close(&e);
}

/* An older station's ledger file is taken into the store once, then renamed. */
static void test_request_ledger_import(void) {
    env_t e;
    request_opts_t o;
    request_filter_t f;
    request_result_t res;
    ifpp_request_t *r;
    char *out, *ledger, *done, e0[33], e1[33], text[512];
    uint32_t nreq, req;
    st_log_level_t lvl;
    FILE *fp;

    env_open(&e, "imp-request-ledger");
    load_edata(&e);
    out = path_in(&e, "l.ifppr");
    ledger = path_in(&e, REQUEST_LEDGER_NAME);
    done = path_in(&e, REQUEST_LEDGER_NAME ".imported");
    eid_to_str(F.cards[0].eid, e0);
    eid_to_str(F.cards[1].eid, e1);
    /* card 0 was asked with key 2 (as if key 1 had been used elsewhere); card 1 twice with
     * key 1 (a re-send); a malformed line; a torn last line */
    snprintf(text, sizeof(text),
             "%s 2 000102030405060708090a0b0c0d0e0f 1700000000\n"
             "%s 1 0f0e0d0c0b0a09080706050403020100 1700000001\n"
             "garbage\n"
             "%s 1 0f0e0d0c0b0a09080706050403020100 1700000002\n"
             "%s 1 00",
             e0, e1, e1, e0);
    fp = fopen(ledger, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs(text, fp);
    fclose(fp);

    memset(&o, 0, sizeof(o));
    o.store = e.s;
    o.state_dir = e.dir;
    o.dm_id = "DM-TEST";
    o.dm_key = F.dm.key;
    o.dm_cert = F.dm.cert;
    memset(&f, 0, sizeof(f));
    lvl = st_log_get_level();
    st_log_set_level(ST_LOG_ERR); /* the malformed line is warned about */
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_OK);
    st_log_set_level(lvl);
    CU_ASSERT_EQUAL(res.n_entries, NCARDS - 2);
    CU_ASSERT_EQUAL(res.n_requested, 2);
    CU_ASSERT_EQUAL(access(ledger, F_OK), -1);
    CU_ASSERT_EQUAL(access(done, F_OK), 0);
    card_keys(&e, 0, &nreq, &req, NULL);
    CU_ASSERT_EQUAL(nreq, 1);
    CU_ASSERT_EQUAL(req, 2);
    card_keys(&e, 1, &nreq, &req, NULL);
    CU_ASSERT_EQUAL(nreq, 1);
    CU_ASSERT_EQUAL(req, 1);
    CU_ASSERT_EQUAL(audit_rows(&e, "request.ledger"), 1);
    /* re-sending asks card 0 for the ledger's key 2, not its lowest unused key 1 */
    f.include_requested = true;
    f.n_eids = 1;
    f.eids = (const uint8_t(*)[16])F.cards[0].eid;
    CU_ASSERT_EQUAL(request_export(&o, &f, out, &res), ST_OK);
    r = read_request(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(r->n_entries, 1);
    CU_ASSERT_EQUAL(r->entries[0].key.key_index, 2);
    ifpp_request_free(r);
    /* imported once */
    CU_ASSERT_EQUAL(audit_rows(&e, "request.ledger"), 1);
    free(out);
    free(ledger);
    free(done);
    env_close(&e);
}

static void test_status(void) {
    env_t e;
    char *b;
    status_t s;
    buf_t out = BUF_INIT;

    env_open(&e, "imp-status");
    load_edata(&e);
    b = path_in(&e, "b.ifppb");
    write_std(b, 41);
    CU_ASSERT_EQUAL(run1(&e, b), ST_OK);
    CU_ASSERT_EQUAL(status_collect(e.s, &s), ST_OK);
    CU_ASSERT_EQUAL(s.n_bpps, N_STD);
    CU_ASSERT_EQUAL(s.total[STORE_BPP_PENDING], N_STD);
    CU_ASSERT_EQUAL(s.bundles.n, 1);
    CU_ASSERT_EQUAL(status_render(&s, true, &out), ST_OK);
    CU_ASSERT_EQUAL(buf_append_byte(&out, 0), ST_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "\"pending\":3"));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "\"smdpf\":\"2.999.10\""));
    /* eUICC and key counts: cards 0..2 have a BPP (key 1 bound), card 3 can be requested */
    CU_ASSERT_EQUAL(s.inventory.euiccs, NCARDS);
    CU_ASSERT_EQUAL(s.inventory.euiccs_with_bpp, N_STD);
    CU_ASSERT_EQUAL(s.inventory.euiccs_unrequested, NCARDS - N_STD);
    CU_ASSERT_EQUAL(s.inventory.keys, NCARDS * NKEYS);
    CU_ASSERT_EQUAL(s.inventory.keys_by_state[STORE_OTK_BOUND], N_STD);
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "\"yield\":null"));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data,
                                  "\"euiccs\":{\"total\":4,\"with_bpp\":3,\"requested\":0,"
                                  "\"unrequested\":1,\"no_key\":0}"));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "\"keys\":{\"total\":8,\"unused\":5,"
                                                    "\"requested\":0,\"bound\":3,"));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "\"last_errors\":[]"));
    status_free(&s);

    /* card 0's BPP installed on reader r1, card 1's given up on r1: yield 50 % */
    {
        store_bpp_list_t l = {NULL, 0};
        store_change_t ch = STORE_CHANGE_INIT;
        static const uint8_t pir[] = {0xBF, 0x37, 0x03, 0x80, 0x01, 0x00};
        int64_t ok_id, bad_id;

        CU_ASSERT_EQUAL(store_bpp_pending(e.s, F.cards[0].eid, false, &l), ST_OK);
        CU_ASSERT_EQUAL_FATAL(l.n, 1);
        ok_id = l.v[0].id;
        CU_ASSERT_EQUAL(store_bpp_pending(e.s, F.cards[1].eid, false, &l), ST_OK);
        CU_ASSERT_EQUAL_FATAL(l.n, 1);
        bad_id = l.v[0].id;
        store_bpp_list_free(&l);
        ch.reader = "r1";
        CU_ASSERT_EQUAL(store_bpp_transition(e.s, ok_id, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                        ST_OK);
        ch.pir = pir;
        ch.pir_len = sizeof(pir);
        CU_ASSERT_EQUAL(
            store_bpp_transition(e.s, ok_id, STORE_BPP_LOADING, STORE_BPP_INSTALLED, &ch), ST_OK);
        ch = (store_change_t)STORE_CHANGE_INIT;
        ch.reader = "r1";
        CU_ASSERT_EQUAL(
            store_bpp_transition(e.s, bad_id, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch), ST_OK);
        ch.error = "card \"mute\"";
        ch.fpa_error_code = 7;
        CU_ASSERT_EQUAL(store_bpp_transition(e.s, bad_id, STORE_BPP_LOADING, STORE_BPP_DEAD, &ch),
                        ST_OK);
    }
    CU_ASSERT_EQUAL(status_collect(e.s, &s), ST_OK);
    CU_ASSERT_EQUAL(s.errors.n, 1);
    CU_ASSERT_EQUAL(s.readers.n, 1);
    buf_reset(&out);
    CU_ASSERT_EQUAL(status_render(&s, true, &out), ST_OK);
    CU_ASSERT_EQUAL(buf_append_byte(&out, 0), ST_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "},\"yield\":0.5000,"));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data,
                                  "\"readers\":[{\"reader\":\"r1\",\"attempts\":2,"
                                  "\"installed\":1,\"failed\":1,\"interrupted\":0,"
                                  "\"yield\":0.5000}]"));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "\"state\":\"dead\""));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "\"fpa_error_code\":7"));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "\"error\":\"card \\\"mute\\\"\""));
    buf_reset(&out);
    CU_ASSERT_EQUAL(status_render(&s, false, &out), ST_OK);
    CU_ASSERT_EQUAL(buf_append_byte(&out, 0), ST_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "yield: 50.0% (1 installed, 1 dead)"));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "eUICCs: 4 (3 with a BPP"));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "last errors (newest first):"));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)out.data, "card \"mute\""));
    status_free(&s);
    buf_free(&out);
    free(b);
    env_close(&e);
}

static void test_fixture_free(void) {
    fx_free();
}

void test_import_register(void) {
    static const tu_test_t tests[] = {
        {"good path, re-import unchanged", test_import_good},
        {"unknown EID held", test_import_hold},
        {"stick directory", test_import_stick},
        {"truncated file", test_truncated},
        {"trailing garbage", test_trailing},
        {"absent .p7s", test_p7s_absent},
        {"wrong .p7s", test_p7s_wrong},
        {"signer not trusted", test_signer_untrusted},
        {"signer not an allowed SM-DPf", test_signer_not_allowed},
        {"BPP byte flipped", test_bpp_byte_flipped},
        {"duplicate transactionId in the file", test_dup_tid_in_file},
        {"duplicate transactionId vs the store", test_dup_tid_vs_store},
        {"unknown EID refused", test_unknown_eid_refused},
        {"mis-bound BPP", test_misbound},
        {"transactionId mismatch", test_tid_mismatch},
        {"one-time key already bound", test_key_taken},
        {"lengths overrunning", test_lengths_overrun},
        {"0-byte and huge-length TLVs", test_zero_and_huge_tlv},
        {"symlink and '..' on the stick", test_stick_symlink_dotdot},
        {"disk full during import", test_disk_full},
        {"bundleId re-used with other content", test_bundle_id_reused},
        {"bad eUICC data", test_edata_bad},
        {"request export: EIDs, range, outstanding requests", test_request_export},
        {"request export of every eUICC; key states in the store", test_request_all},
        {"request export takes an older station's ledger once", test_request_ledger_import},
        {"status", test_status},
        {"fixture freed", test_fixture_free},
    };
    TU_ADD_SUITE("import", tests);
}
