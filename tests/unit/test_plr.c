/*
 * Unit tests: Profile Loading Reports (reports/plr.h). A store filled through the store API
 * (tests/bench/plr_fixture.c: minted CI -> EUM -> eUICCs and DM CA -> DM; BPPs installed with
 * PIRs the eUICC keys sign, dead ones with and without the card's error BF37), then:
 * build -> verify; one byte changed anywhere -> rejected; a PIR swapped between two entries
 * (re-signed by the DM) -> rejected; a wrong signer -> rejected; a second export writes
 * nothing; --again reproduces the same entries; every crash point of an export recovered by
 * the next one; a BF37 the SM-DPf could not check is withheld; an edited audit row detected;
 * the error code table agrees with the engine's.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../bench/plr_fixture.h"
#include "base/buf.h"
#include "base/log.h"
#include "crypto/cms.h"
#include "engine.h"
#include "fmt/ifpp.h"
#include "fmt/pir.h"
#include "plr.h"
#include "plr_internal.h"
#include "store.h"
#include "testutil.h"

#define OID1 "2.999.10"
#define OID2 "2.999.12"
#define N1   6 /* OID1: 4 installed, 1 dead with the card's BF37, 1 dead without */
#define N2   4 /* OID2: 3 installed, 1 left pending */

typedef struct {
    char *dir, *db, *out, *journal;
    store_t *s;
    plr_fixture_t *fx;
    plr_signer_t *sg;
    cert_trust_t *trust;
    int64_t ids1[N1], ids2[N2];
} env_t;

static char *path2(const char *a, const char *b) {
    char *p = NULL;
    CU_ASSERT_FATAL(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

static void env_setup(env_t *e, const char *tag) {
    STACK_OF(X509) *chain = NULL;

    memset(e, 0, sizeof(*e));
    e->dir = tu_tmpdir(tag);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->dir);
    e->db = path2(e->dir, "station.db");
    e->out = path2(e->dir, "out");
    e->journal = path2(e->dir, "state");
    CU_ASSERT_EQUAL_FATAL(mkdir(e->out, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(e->journal, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(store_open(e->db, 0, &e->s), ST_OK);
    CU_ASSERT_EQUAL_FATAL(plr_fixture_new(3, &e->fx), ST_OK);
    CU_ASSERT_EQUAL_FATAL(plr_fixture_put_euiccs(e->fx, e->s), ST_OK);
    CU_ASSERT_EQUAL_FATAL(plr_fixture_bundle(e->fx, e->s, OID1, N1, 1, e->ids1), ST_OK);
    CU_ASSERT_EQUAL_FATAL(plr_fixture_bundle(e->fx, e->s, OID2, N2, 100, e->ids2), ST_OK);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(plr_fixture_install(e->fx, e->s, e->ids1[i]), ST_OK);
    CU_ASSERT_EQUAL_FATAL(plr_fixture_dead(e->fx, e->s, e->ids1[4], 1, "the card refused", true),
                          ST_OK);
    CU_ASSERT_EQUAL_FATAL(plr_fixture_dead(e->fx, e->s, e->ids1[5], 7, NULL, false), ST_OK);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL_FATAL(plr_fixture_install(e->fx, e->s, e->ids2[i]), ST_OK);
    chain = sk_X509_new_null();
    CU_ASSERT_FATAL(chain && sk_X509_push(chain, e->fx->dm_ca));
    CU_ASSERT_EQUAL_FATAL(
        plr_signer_new(e->fx->dm_key, e->fx->dm, chain, "DM-TEST", "line3-st1", &e->sg), ST_OK);
    sk_X509_free(chain); /* the fixture keeps its reference */
    e->trust = cert_trust_new();
    CU_ASSERT_FATAL(e->trust && cert_trust_add(e->trust, e->fx->dm_ca) == ST_OK);
}

static void env_done(env_t *e) {
    cert_trust_free(e->trust);
    plr_signer_free(e->sg);
    plr_fixture_free(e->fx);
    store_close(e->s);
    tu_rmrf(e->dir);
    free(e->dir);
    free(e->db);
    free(e->out);
    free(e->journal);
}

/* Files in dir whose name starts with prefix (NULL: all but . and ..). */
static size_t count_files(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (!prefix || !strncmp(de->d_name, prefix, strlen(prefix)))
            n++;
    }
    closedir(d);
    return n;
}

/* Records the files an export wrote. */
typedef struct {
    plr_file_t f[8];
    size_t n;
} files_t;

static st_t on_file(void *ud, const plr_file_t *f) {
    files_t *fs = ud;
    if (fs->n < 8)
        fs->f[fs->n++] = *f;
    return ST_OK;
}

static st_t do_export(env_t *e, const char *oid, const uint8_t *again, files_t *fs,
                      plr_export_sum_t *sum, plr_stop_t stop) {
    plr_export_opts_t o;
    memset(&o, 0, sizeof(o));
    memset(fs, 0, sizeof(*fs));
    o.smdpf_oid = oid;
    o.again = again;
    o.journal_dir = e->journal;
    o.actor = "tester";
    o.on_file = on_file;
    o.ud = fs;
    return plr_export_ex(e->s, e->sg, e->out, &o, sum, stop);
}

static const plr_file_t *file_for(const files_t *fs, const char *oid) {
    for (size_t i = 0; i < fs->n; i++)
        if (!strcmp(fs->f[i].smdpf_oid, oid))
            return &fs->f[i];
    return NULL;
}

/* The DER content of a report file (no trust). */
static void content_of(env_t *e, const char *path, buf_t *content) {
    buf_t der = BUF_INIT;
    X509 *signer = NULL;
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&der, path, 1u << 26), ST_OK);
    CU_ASSERT_EQUAL_FATAL(cms_verify_attached(e->trust, der.data, der.len, content, &signer),
                          ST_OK);
    X509_free(signer);
    buf_free(&der);
}

static st_t verify_buf(env_t *e, const buf_t *b, plr_summary_t *m) {
    return plr_verify(e->s, e->trust, b->data, b->len, m);
}

/* Expected failures log errors: keep the run's output readable. */
static void quiet_sink(st_log_level_t level, const char *msg, void *ud) {
    (void)level;
    (void)msg;
    (void)ud;
}

/* ---- tests ---- */

static void test_codes(void) {
    char name[PLR_NAME_MAX];
    uint8_t id[STORE_ID_LEN];

    /* the report's table and what the engine records are one numbering */
#define X_SAME(n, v, text) CU_ASSERT_STRING_NOT_EQUAL(plr_fpa_name(v), "unknown");
    ENGINE_FPA_ERRORS(X_SAME)
#undef X_SAME
    CU_ASSERT_EQUAL(PLR_FPA_EUICC_ERROR, ENGINE_FPA_PIR_ERROR);
    CU_ASSERT_EQUAL(PLR_FPA_PIR_SIGNATURE_INVALID, ENGINE_FPA_PIR_SIGNATURE);
    CU_ASSERT_EQUAL(PLR_FPA_PREPARE_LOAD_REFUSED, ENGINE_FPA_PREPARE_REFUSED);
    CU_ASSERT_EQUAL(PLR_FPA_KEY_CONSUMED, ENGINE_FPA_KEY_CONSUMED);
    CU_ASSERT_EQUAL(PLR_FPA_CARD_REFUSED, ENGINE_FPA_CARD_SW);
    CU_ASSERT_EQUAL(PLR_FPA_TRANSPORT_ERROR, ENGINE_FPA_PROTOCOL);
    CU_ASSERT_EQUAL(PLR_FPA_CARD_UNREACHABLE, ENGINE_FPA_INTERRUPTED);
    CU_ASSERT_EQUAL(PLR_FPA_RETRIES_EXHAUSTED, ENGINE_FPA_RETRIES);
    CU_ASSERT_EQUAL(PLR_FPA_BPP_DAMAGED, ENGINE_FPA_BPP_INVALID);
    CU_ASSERT_EQUAL(PLR_FPA_KEYS_DELETED, ENGINE_FPA_KEYS_DELETED);
    CU_ASSERT_EQUAL(PLR_FPA_UNKNOWN_KEY, ENGINE_FPA_UNKNOWN_KEY);
    CU_ASSERT_STRING_EQUAL(plr_fpa_name(1), "euiccError");
    CU_ASSERT_STRING_EQUAL(plr_fpa_name(7), "cardUnreachable");
    CU_ASSERT_STRING_EQUAL(plr_fpa_name(4711), "unknown");
    CU_ASSERT_PTR_NOT_NULL(plr_fpa_text(4711));

    memset(id, 0xAB, sizeof(id));
    id[0] = 0x01;
    CU_ASSERT_EQUAL(plr_file_name(OID1, "line3-st1", 1700000000, id, name, sizeof(name)), ST_OK);
    CU_ASSERT_STRING_EQUAL(name, "PLR_2.999.10_line3-st1_20231114T221320Z_01ababab.ifppl");
    CU_ASSERT_EQUAL(plr_file_name("2.999/..", "x", 0, id, name, sizeof(name)), ST_E_INVAL);
    CU_ASSERT_EQUAL(plr_file_name(OID1, "../x", 0, id, name, sizeof(name)), ST_E_INVAL);
    CU_ASSERT_EQUAL(plr_file_name(OID1, "st", 0, id, name, 20), ST_E_TOO_LARGE);
}

static void test_text(void) {
    char out[8];
    plr_text_copy(out, sizeof(out), "abc\tdef");
    CU_ASSERT_STRING_EQUAL(out, "abc?def");
    plr_text_copy(out, sizeof(out), "abcde\xc3\xa9z"); /* é would straddle the end */
    CU_ASSERT_STRING_EQUAL(out, "abcde\xc3\xa9");
    plr_text_copy(out, sizeof(out), "abcdef\xc3\xa9");
    CU_ASSERT_STRING_EQUAL(out, "abcdef");
    plr_text_copy(out, sizeof(out), "a\xff\xc3");
    CU_ASSERT_STRING_EQUAL(out, "a??");
}

static void test_export_verify(void) {
    env_t e;
    files_t fs;
    plr_export_sum_t sum;
    plr_summary_t m;
    const plr_file_t *f1, *f2;
    struct stat sb;
    uint64_t bad = 0, rows = 0;

    env_setup(&e, "plr-export");
    CU_ASSERT_EQUAL(do_export(&e, NULL, NULL, &fs, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL(sum.files, 2);
    CU_ASSERT_EQUAL(sum.entries, N1 + 3);
    CU_ASSERT_EQUAL(count_files(e.out, NULL), 2);
    f1 = file_for(&fs, OID1);
    f2 = file_for(&fs, OID2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f2);
    CU_ASSERT_EQUAL(f1->kind, PLR_FILE_NEW);
    CU_ASSERT_EQUAL(f1->counts.entries, N1);
    CU_ASSERT_EQUAL(f1->counts.installed, 4);
    CU_ASSERT_EQUAL(f1->counts.failed, 2);
    CU_ASSERT_EQUAL(f1->counts.failed_with_pir, 1);
    CU_ASSERT_EQUAL(f2->counts.entries, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(f1->path, "/PLR_2.999.10_line3-st1_"));
    CU_ASSERT_EQUAL(stat(f1->path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);

    CU_ASSERT_EQUAL(plr_verify_file(e.s, e.trust, f1->path, &m), ST_OK);
    if (m.reason[0])
        fprintf(stderr, "\nverify: %s\n", m.reason);
    CU_ASSERT_STRING_EQUAL(m.smdpf_oid, OID1);
    CU_ASSERT_STRING_EQUAL(m.dm_id, "DM-TEST");
    CU_ASSERT_STRING_EQUAL(m.station_id, "line3-st1");
    CU_ASSERT_EQUAL(m.counts.installed, 4);
    CU_ASSERT_EQUAL(m.counts.failed, 2);
    CU_ASSERT_EQUAL(m.counts.failed_with_pir, 1);
    CU_ASSERT_EQUAL(m.pirs_verified, 5);
    CU_ASSERT_EQUAL(m.n_bundles, 1);
    CU_ASSERT_NOT_EQUAL(m.exported_at, 0);
    CU_ASSERT_EQUAL(memcmp(m.report_id, f1->report_id, STORE_ID_LEN), 0);
    CU_ASSERT_EQUAL(plr_verify_file(e.s, e.trust, f2->path, &m), ST_OK);
    CU_ASSERT_EQUAL(m.counts.installed, 3);

    /* the failed entries carry their codes and texts */
    {
        buf_t c = BUF_INIT;
        ifpp_report_t *r = NULL;
        content_of(&e, f1->path, &c);
        CU_ASSERT_EQUAL_FATAL(ifpp_report_decode(c.data, c.len, &r), ST_OK);
        CU_ASSERT_EQUAL(r->entries[4].kind, IFPP_RESULT_FAILED);
        CU_ASSERT_EQUAL(r->entries[4].fpa_error_code, 1);
        CU_ASSERT_STRING_EQUAL(r->entries[4].text, "the card refused");
        CU_ASSERT_NOT_EQUAL(r->entries[4].pir.len, 0);
        CU_ASSERT_EQUAL(r->entries[5].fpa_error_code, 7);
        CU_ASSERT_STRING_EQUAL(r->entries[5].text, plr_fpa_text(7));
        CU_ASSERT_EQUAL(r->entries[5].pir.len, 0);
        CU_ASSERT_TRUE(r->entries[0].has_iccid);
        ifpp_report_free(r);
        buf_free(&c);
    }

    /* a second export writes nothing new */
    CU_ASSERT_EQUAL(do_export(&e, NULL, NULL, &fs, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL(sum.files, 0);
    CU_ASSERT_EQUAL(count_files(e.out, NULL), 2);
    /* a new result: only it goes out, for its SM-DPf */
    CU_ASSERT_EQUAL(plr_fixture_install(e.fx, e.s, e.ids2[3]), ST_OK);
    CU_ASSERT_EQUAL(do_export(&e, OID1, NULL, &fs, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL(sum.files, 0);
    CU_ASSERT_EQUAL(do_export(&e, NULL, NULL, &fs, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL(sum.files, 1);
    CU_ASSERT_EQUAL(fs.f[0].counts.entries, 1);
    CU_ASSERT_STRING_EQUAL(fs.f[0].smdpf_oid, OID2);
    CU_ASSERT_EQUAL(count_files(e.out, NULL), 3);
    CU_ASSERT_EQUAL(count_files(e.journal, PLR_JOURNAL_PREFIX), 0);

    /* the audit log has the claims and exports and is intact */
    CU_ASSERT_EQUAL(store_audit_verify(e.s, &bad, &rows), ST_OK);
    CU_ASSERT_EQUAL(rows, 6); /* 3 x report.create + 3 x report.export */
    env_done(&e);
}

/* Every single-byte change of a report, anywhere in the file, is rejected. */
static void test_tamper_every_byte(void) {
    env_t e;
    files_t fs;
    plr_export_sum_t sum;
    plr_summary_t m;
    buf_t der = BUF_INIT;
    size_t accepted = 0;

    env_setup(&e, "plr-tamper");
    CU_ASSERT_EQUAL_FATAL(do_export(&e, OID2, NULL, &fs, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL_FATAL(buf_read_file(&der, fs.f[0].path, 1u << 20), ST_OK);
    CU_ASSERT_EQUAL(verify_buf(&e, &der, &m), ST_OK);
    st_log_set_sink(quiet_sink, NULL); /* thousands of expected rejections */
    for (size_t i = 0; i < der.len; i++) {
        der.data[i] ^= 0x01;
        if (verify_buf(&e, &der, &m) == ST_OK) {
            fprintf(stderr, "\nbyte %zu of %zu changed: accepted\n", i, der.len);
            accepted++;
        }
        der.data[i] ^= 0x01;
    }
    st_log_set_sink(NULL, NULL);
    CU_ASSERT_EQUAL(accepted, 0);
    buf_free(&der);
    env_done(&e);
}

/* Re-signs `content` with key/cert (chain: the DM CA is not carried, as the station does). */
static void resign(EVP_PKEY *key, X509 *cert, const buf_t *content, buf_t *out) {
    buf_reset(out);
    CU_ASSERT_EQUAL_FATAL(cms_sign(key, cert, NULL, content->data, content->len, false, out),
                          ST_OK);
}

static void test_pir_swap_and_signer(void) {
    env_t e;
    files_t fs;
    plr_export_sum_t sum;
    plr_summary_t m;
    buf_t c = BUF_INIT, re = BUF_INIT, signed_ = BUF_INIT;
    ifpp_report_t *r = NULL;
    ifpp_blob_t tmp;
    plr_fixture_t *other = NULL;

    env_setup(&e, "plr-swap");
    CU_ASSERT_EQUAL_FATAL(do_export(&e, OID1, NULL, &fs, &sum, PLR_STOP_NONE), ST_OK);
    content_of(&e, fs.f[0].path, &c);

    /* the content unchanged, re-signed by the same DM: still good (the control case) */
    resign(e.fx->dm_key, e.fx->dm, &c, &signed_);
    CU_ASSERT_EQUAL(verify_buf(&e, &signed_, &m), ST_OK);

    /* a PIR swapped between two entries, signed by the DM: rejected at the first entry */
    CU_ASSERT_EQUAL_FATAL(ifpp_report_decode(c.data, c.len, &r), ST_OK);
    tmp = r->entries[0].pir;
    r->entries[0].pir = r->entries[1].pir;
    r->entries[1].pir = tmp;
    CU_ASSERT_EQUAL_FATAL(ifpp_report_encode(r, &re), ST_OK);
    resign(e.fx->dm_key, e.fx->dm, &re, &signed_);
    CU_ASSERT_EQUAL(verify_buf(&e, &signed_, &m), ST_E_CONFLICT);
    CU_ASSERT_EQUAL(m.bad_entry, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(m.reason, "another transaction"));
    /* both entries' transactions swapped with their PIRs too: the store catches it */
    tmp = r->entries[0].pir;
    r->entries[0].pir = r->entries[1].pir;
    r->entries[1].pir = tmp;
    {
        ifpp_report_entry_t x = r->entries[0];
        r->entries[0] = r->entries[1];
        r->entries[1] = x;
    }
    buf_reset(&re);
    CU_ASSERT_EQUAL_FATAL(ifpp_report_encode(r, &re), ST_OK);
    resign(e.fx->dm_key, e.fx->dm, &re, &signed_);
    CU_ASSERT_EQUAL(verify_buf(&e, &signed_, &m), ST_E_CONFLICT);
    CU_ASSERT_PTR_NOT_NULL(strstr(m.reason, "store"));
    /* an entry dropped: the counts differ from the store's */
    r->n_entries--;
    buf_reset(&re);
    CU_ASSERT_EQUAL_FATAL(ifpp_report_encode(r, &re), ST_OK);
    resign(e.fx->dm_key, e.fx->dm, &re, &signed_);
    CU_ASSERT_EQUAL(verify_buf(&e, &signed_, &m), ST_E_CONFLICT);
    CU_ASSERT_PTR_NOT_NULL(strstr(m.reason, "entries"));
    r->n_entries++;

    /* the original content signed by another DM (another CA): untrusted */
    CU_ASSERT_EQUAL_FATAL(plr_fixture_new(1, &other), ST_OK);
    resign(other->dm_key, other->dm, &c, &signed_);
    CU_ASSERT_EQUAL(verify_buf(&e, &signed_, &m), ST_E_UNTRUSTED);
    CU_ASSERT_EQUAL(m.bad_entry, SIZE_MAX);
    /* ... and by an eUICC key under a trusted-looking chain it does not have: untrusted */
    resign(e.fx->euicc[0].key, e.fx->euicc[0].cert, &c, &signed_);
    CU_ASSERT_EQUAL(verify_buf(&e, &signed_, &m), ST_E_UNTRUSTED);
    /* a report this store never issued */
    memset(r->report_id, 0x55, sizeof(r->report_id));
    buf_reset(&re);
    CU_ASSERT_EQUAL_FATAL(ifpp_report_encode(r, &re), ST_OK);
    resign(e.fx->dm_key, e.fx->dm, &re, &signed_);
    CU_ASSERT_EQUAL(verify_buf(&e, &signed_, &m), ST_E_NOENT);

    plr_fixture_free(other);
    ifpp_report_free(r);
    buf_free(&c);
    buf_free(&re);
    buf_free(&signed_);
    env_done(&e);
}

static void test_again(void) {
    env_t e;
    files_t fs, fs2;
    plr_export_sum_t sum;
    plr_summary_t m;
    buf_t c1 = BUF_INIT, c2 = BUF_INIT;
    uint8_t unknown[STORE_ID_LEN];
    uint64_t rows = 0;

    env_setup(&e, "plr-again");
    CU_ASSERT_EQUAL_FATAL(do_export(&e, OID1, NULL, &fs, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL_FATAL(fs.n, 1);
    CU_ASSERT_EQUAL(do_export(&e, NULL, fs.f[0].report_id, &fs2, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL_FATAL(fs2.n, 1);
    CU_ASSERT_EQUAL(fs2.f[0].kind, PLR_FILE_AGAIN);
    CU_ASSERT_STRING_NOT_EQUAL(fs2.f[0].path, fs.f[0].path);
    CU_ASSERT_EQUAL(count_files(e.out, NULL), 2);
    /* same reportId, same entries: the signed content is the same DER */
    content_of(&e, fs.f[0].path, &c1);
    content_of(&e, fs2.f[0].path, &c2);
    CU_ASSERT_EQUAL(c1.len, c2.len);
    CU_ASSERT_TRUE(c1.len == c2.len && memcmp(c1.data, c2.data, c1.len) == 0);
    CU_ASSERT_EQUAL(plr_verify_file(e.s, e.trust, fs2.f[0].path, &m), ST_OK);
    /* again, within the same second: a -2 name, nothing overwritten */
    CU_ASSERT_EQUAL(do_export(&e, NULL, fs.f[0].report_id, &fs2, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL(count_files(e.out, NULL), 3);
    /* not for another SM-DPf; an unknown report */
    st_log_set_sink(quiet_sink, NULL); /* the expected refusal is logged */
    CU_ASSERT_EQUAL(do_export(&e, OID2, fs.f[0].report_id, &fs2, &sum, PLR_STOP_NONE),
                    ST_E_CONFLICT);
    st_log_set_sink(NULL, NULL);
    memset(unknown, 0x42, sizeof(unknown));
    CU_ASSERT_EQUAL(do_export(&e, NULL, unknown, &fs2, &sum, PLR_STOP_NONE), ST_E_NOENT);
    /* the new results of OID2 were not touched by --again */
    CU_ASSERT_EQUAL(store_results_unreported_count(e.s, OID2, &rows), ST_OK);
    CU_ASSERT_EQUAL(rows, 3);
    buf_free(&c1);
    buf_free(&c2);
    env_done(&e);
}

/* Export interrupted at `stop` (as by kill -9 there), then the next export. */
static void crash_and_recover(plr_stop_t stop, const char *tag) {
    env_t e;
    files_t fs;
    plr_export_sum_t sum;
    plr_summary_t m;
    store_report_t rep;
    uint64_t n = 0;
    char *final_path;

    env_setup(&e, tag);
    CU_ASSERT_EQUAL(do_export(&e, OID1, NULL, &fs, &sum, stop), ST_E_INTERRUPTED);
    CU_ASSERT_EQUAL(fs.n, 0);
    CU_ASSERT_EQUAL(count_files(e.journal, PLR_JOURNAL_PREFIX), 1);
    CU_ASSERT_EQUAL(count_files(e.out, "PLR_"), stop == PLR_STOP_AFTER_RENAME ? 1 : 0);
    CU_ASSERT_EQUAL(count_files(e.out, ".PLR_"), stop == PLR_STOP_AFTER_TEMP ? 1 : 0);
    CU_ASSERT_EQUAL(store_results_unreported_count(e.s, OID1, &n), ST_OK);
    CU_ASSERT_EQUAL(n, stop == PLR_STOP_AFTER_JOURNAL ? (uint64_t)N1 : 0);

    /* the next export: the interrupted report goes out (same reportId), nothing twice */
    CU_ASSERT_EQUAL(do_export(&e, NULL, NULL, &fs, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL(sum.recovered, stop == PLR_STOP_AFTER_JOURNAL ? 0u : 1u);
    CU_ASSERT_EQUAL(sum.files, 2);
    CU_ASSERT_EQUAL(count_files(e.out, NULL), 2); /* temp removed, no duplicate */
    CU_ASSERT_EQUAL(count_files(e.journal, PLR_JOURNAL_PREFIX), 0);
    for (size_t i = 0; i < fs.n; i++) {
        CU_ASSERT_EQUAL(plr_verify_file(e.s, e.trust, fs.f[i].path, &m), ST_OK);
        CU_ASSERT_EQUAL(store_report_get(e.s, fs.f[i].report_id, &rep), ST_OK);
        CU_ASSERT_NOT_EQUAL(rep.exported_at, 0);
        final_path = path2(e.out, rep.file_name); /* the name given at the claim */
        CU_ASSERT_STRING_EQUAL(final_path, fs.f[i].path);
        free(final_path);
        if (!strcmp(fs.f[i].smdpf_oid, OID1)) {
            CU_ASSERT_EQUAL(fs.f[i].counts.entries, N1);
            CU_ASSERT_EQUAL(fs.f[i].kind,
                            stop == PLR_STOP_AFTER_JOURNAL ? PLR_FILE_NEW : PLR_FILE_RECOVERED);
        }
    }
    CU_ASSERT_EQUAL(store_results_unreported_count(e.s, OID1, &n), ST_OK);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(store_audit_verify(e.s, NULL, NULL), ST_OK);
    env_done(&e);
}

static void test_crash_points(void) {
    crash_and_recover(PLR_STOP_AFTER_JOURNAL, "plr-crash-journal");
    crash_and_recover(PLR_STOP_AFTER_CLAIM, "plr-crash-claim");
    crash_and_recover(PLR_STOP_AFTER_TEMP, "plr-crash-temp");
    crash_and_recover(PLR_STOP_AFTER_RENAME, "plr-crash-rename");
}

/* A pending report of another SM-DPf stays pending under --smdpf; --again recovers it. */
static void test_recovery_filters(void) {
    env_t e;
    files_t fs, first;
    plr_export_sum_t sum;
    store_report_t rep;

    env_setup(&e, "plr-recover-filter");
    CU_ASSERT_EQUAL(do_export(&e, OID1, NULL, &first, &sum, PLR_STOP_AFTER_CLAIM),
                    ST_E_INTERRUPTED);
    CU_ASSERT_EQUAL(do_export(&e, OID2, NULL, &fs, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL(sum.files, 1);
    CU_ASSERT_EQUAL(sum.recovered, 0);
    CU_ASSERT_EQUAL(count_files(e.journal, PLR_JOURNAL_PREFIX), 1);
    /* find the pending report's id through the journal entry name */
    {
        DIR *d = opendir(e.journal);
        struct dirent *de;
        uint8_t id[STORE_ID_LEN] = {0};
        char hex[33];
        while (d && (de = readdir(d)) != NULL)
            if (!strncmp(de->d_name, PLR_JOURNAL_PREFIX, strlen(PLR_JOURNAL_PREFIX))) {
                memcpy(hex, de->d_name + strlen(PLR_JOURNAL_PREFIX), 32);
                hex[32] = '\0';
                CU_ASSERT_EQUAL(hex_decode_exact(hex, id, sizeof(id)), ST_OK);
            }
        if (d)
            closedir(d);
        CU_ASSERT_EQUAL(store_report_get(e.s, id, &rep), ST_OK);
        CU_ASSERT_EQUAL(rep.exported_at, 0);
        CU_ASSERT_EQUAL(do_export(&e, NULL, id, &fs, &sum, PLR_STOP_NONE), ST_OK);
        CU_ASSERT_EQUAL(fs.n, 1);
        CU_ASSERT_EQUAL(fs.f[0].kind, PLR_FILE_RECOVERED);
        CU_ASSERT_EQUAL(store_report_get(e.s, id, &rep), ST_OK);
        CU_ASSERT_NOT_EQUAL(rep.exported_at, 0);
    }
    CU_ASSERT_EQUAL(count_files(e.journal, PLR_JOURNAL_PREFIX), 0);
    CU_ASSERT_EQUAL(count_files(e.out, NULL), 2);
    env_done(&e);
}

/* A dead BPP whose recorded BF37 the SM-DPf could not check is reported without it. */
static void test_withheld_and_unverified(void) {
    env_t e;
    files_t fs;
    plr_export_sum_t sum;
    plr_summary_t m;
    store_change_t ch = STORE_CHANGE_INIT;
    buf_t pir = BUF_INIT, c = BUF_INIT;
    ifpp_report_t *r = NULL;
    plr_fixture_t *other = NULL;
    int64_t ids[2];
    uint64_t n = 0;

    env_setup(&e, "plr-withheld");
    CU_ASSERT_EQUAL_FATAL(plr_fixture_new(1, &other), ST_OK);
    CU_ASSERT_EQUAL_FATAL(plr_fixture_bundle(e.fx, e.s, "2.999.14", 2, 300, ids), ST_OK);
    /* a success PIR for BPP 0, signed by a key that is not this eUICC's: code 2, dead */
    {
        plr_fx_euicc_t saved = e.fx->euicc[0];
        e.fx->euicc[0].key = other->euicc[0].key;
        CU_ASSERT_EQUAL(plr_fixture_pir(e.fx, e.s, ids[0], true, &pir), ST_OK);
        e.fx->euicc[0] = saved;
    }
    ch.reader = "r";
    CU_ASSERT_EQUAL(store_bpp_transition(e.s, ids[0], STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    ch.pir = pir.data;
    ch.pir_len = pir.len;
    ch.fpa_error_code = 2;
    ch.error = "the result does not verify";
    CU_ASSERT_EQUAL(store_bpp_transition(e.s, ids[0], STORE_BPP_LOADING, STORE_BPP_DEAD, &ch),
                    ST_OK);
    CU_ASSERT_EQUAL(plr_fixture_install(e.fx, e.s, ids[1]), ST_OK);
    CU_ASSERT_EQUAL(do_export(&e, "2.999.14", NULL, &fs, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL_FATAL(fs.n, 1);
    CU_ASSERT_EQUAL(fs.f[0].counts.failed, 1);
    CU_ASSERT_EQUAL(fs.f[0].counts.failed_with_pir, 0);
    content_of(&e, fs.f[0].path, &c);
    CU_ASSERT_EQUAL_FATAL(ifpp_report_decode(c.data, c.len, &r), ST_OK);
    CU_ASSERT_EQUAL(r->entries[0].pir.len, 0);
    CU_ASSERT_EQUAL(r->entries[0].fpa_error_code, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->entries[0].text, "BF37 withheld"));
    CU_ASSERT_EQUAL(plr_verify_file(e.s, e.trust, fs.f[0].path, &m), ST_OK);
    ifpp_report_free(r);

    /* an installed result the engine did not mark verified, and that does not verify: the
     * export refuses it and gives the results back (no file, nothing claimed) */
    CU_ASSERT_EQUAL_FATAL(plr_fixture_bundle(e.fx, e.s, "2.999.16", 1, 400, ids), ST_OK);
    buf_reset(&pir);
    {
        plr_fx_euicc_t saved = e.fx->euicc[0];
        e.fx->euicc[0].key = other->euicc[0].key;
        CU_ASSERT_EQUAL(plr_fixture_pir(e.fx, e.s, ids[0], true, &pir), ST_OK);
        e.fx->euicc[0] = saved;
    }
    ch = (store_change_t)STORE_CHANGE_INIT;
    ch.reader = "r";
    CU_ASSERT_EQUAL(store_bpp_transition(e.s, ids[0], STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    ch.pir = pir.data;
    ch.pir_len = pir.len;
    ch.pir_verified = false;
    CU_ASSERT_EQUAL(store_bpp_transition(e.s, ids[0], STORE_BPP_LOADING, STORE_BPP_INSTALLED, &ch),
                    ST_OK);
    st_log_set_sink(quiet_sink, NULL); /* the expected error is logged */
    CU_ASSERT_EQUAL(do_export(&e, "2.999.16", NULL, &fs, &sum, PLR_STOP_NONE), ST_E_BAD_SIGNATURE);
    st_log_set_sink(NULL, NULL);
    CU_ASSERT_EQUAL(fs.n, 0);
    CU_ASSERT_EQUAL(count_files(e.out, "PLR_2.999.16"), 0);
    CU_ASSERT_EQUAL(count_files(e.journal, PLR_JOURNAL_PREFIX), 0);
    CU_ASSERT_EQUAL(store_results_unreported_count(e.s, "2.999.16", &n), ST_OK);
    CU_ASSERT_EQUAL(n, 1);

    plr_fixture_free(other);
    buf_free(&pir);
    buf_free(&c);
    env_done(&e);
}

/* export --since: only results recorded from then on; the older ones go into the next export
 * without it; every result in exactly one report; both files verify. */
static void test_since(void) {
    env_t e;
    files_t fs;
    plr_export_sum_t sum;
    plr_export_opts_t o;
    plr_summary_t m;
    const plr_file_t *f1;
    sqlite3 *raw = NULL;
    int64_t since = (int64_t)time(NULL) - 3600;
    char sql[256];
    uint8_t id[STORE_ID_LEN];

    env_setup(&e, "plr-since");
    /* OID1's first three results happened two days ago */
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(e.db, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    snprintf(sql, sizeof(sql),
             "UPDATE result SET at = at - 172800 WHERE bpp_id IN (%lld, %lld, %lld)",
             (long long)e.ids1[0], (long long)e.ids1[1], (long long)e.ids1[2]);
    CU_ASSERT_EQUAL(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);

    memset(&o, 0, sizeof(o));
    memset(&fs, 0, sizeof(fs));
    o.journal_dir = e.journal;
    o.actor = "tester";
    o.on_file = on_file;
    o.ud = &fs;
    o.since = since;
    CU_ASSERT_EQUAL(plr_export(e.s, e.sg, e.out, &o, &sum), ST_OK);
    CU_ASSERT_EQUAL(sum.files, 2);
    f1 = file_for(&fs, OID1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f1);
    CU_ASSERT_EQUAL(f1->counts.entries, N1 - 3);
    CU_ASSERT_EQUAL(f1->counts.installed, 1);
    CU_ASSERT_EQUAL(f1->counts.failed, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(file_for(&fs, OID2));
    CU_ASSERT_EQUAL(file_for(&fs, OID2)->counts.entries, 3);
    CU_ASSERT_EQUAL(plr_verify_file(e.s, e.trust, f1->path, &m), ST_OK);
    CU_ASSERT(m.period_start >= since);
    /* the same window again: nothing new */
    memset(&fs, 0, sizeof(fs));
    CU_ASSERT_EQUAL(plr_export(e.s, e.sg, e.out, &o, &sum), ST_OK);
    CU_ASSERT_EQUAL(sum.files, 0);
    CU_ASSERT_EQUAL(count_files(e.journal, PLR_JOURNAL_PREFIX), 0);
    /* --since with --again is refused */
    memset(id, 0x55, sizeof(id));
    o.again = id;
    CU_ASSERT_EQUAL(plr_export(e.s, e.sg, e.out, &o, &sum), ST_E_INVAL);
    o.again = NULL;
    /* without --since: the three older results, in one more report of OID1 */
    CU_ASSERT_EQUAL(do_export(&e, NULL, NULL, &fs, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL(sum.files, 1);
    f1 = file_for(&fs, OID1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f1);
    CU_ASSERT_EQUAL(f1->counts.entries, 3);
    CU_ASSERT_EQUAL(f1->counts.installed, 3);
    CU_ASSERT_EQUAL(plr_verify_file(e.s, e.trust, f1->path, &m), ST_OK);
    CU_ASSERT(m.period_end < since);
    CU_ASSERT_EQUAL(count_files(e.out, NULL), 3);
    /* every result in exactly one report */
    {
        sqlite3_stmt *q = NULL;
        CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(raw,
                                                 "SELECT (SELECT count(*) FROM result), "
                                                 "count(*), count(DISTINCT result_id) "
                                                 "FROM report_entry",
                                                 -1, &q, NULL),
                              SQLITE_OK);
        CU_ASSERT_EQUAL_FATAL(sqlite3_step(q), SQLITE_ROW);
        CU_ASSERT_EQUAL(sqlite3_column_int(q, 0), N1 + 3);
        CU_ASSERT_EQUAL(sqlite3_column_int(q, 1), N1 + 3);
        CU_ASSERT_EQUAL(sqlite3_column_int(q, 2), N1 + 3);
        sqlite3_finalize(q);
    }
    sqlite3_close(raw);
    CU_ASSERT_EQUAL(store_audit_verify(e.s, NULL, NULL), ST_OK);
    env_done(&e);
}

static void test_audit_edit(void) {
    env_t e;
    files_t fs;
    plr_export_sum_t sum;
    sqlite3 *raw = NULL;
    uint64_t bad = 0;

    env_setup(&e, "plr-audit");
    CU_ASSERT_EQUAL(do_export(&e, NULL, NULL, &fs, &sum, PLR_STOP_NONE), ST_OK);
    CU_ASSERT_EQUAL(store_audit_verify(e.s, &bad, NULL), ST_OK);
    /* someone rewrites what an export row says (behind the store's back) */
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(e.db, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    st_log_set_sink(quiet_sink, NULL); /* the store logs the broken chain */
    CU_ASSERT_EQUAL(sqlite3_exec(raw,
                                 "DROP TRIGGER audit_no_update; "
                                 "UPDATE audit SET new_value = 'nothing exported' WHERE seq = 2",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    sqlite3_close(raw);
    CU_ASSERT_EQUAL(store_audit_verify(e.s, &bad, NULL), ST_E_DB_CORRUPT);
    st_log_set_sink(NULL, NULL);
    CU_ASSERT_EQUAL(bad, 2);
    env_done(&e);
}

void test_plr_register(void) {
    static const tu_test_t tests[] = {
        {"error code table = engine's; file names", test_codes},
        {"entry text: UTF-8 cut, control characters", test_text},
        {"export -> one file per SM-DPf -> verify; second export writes nothing",
         test_export_verify},
        {"every single-byte change rejected", test_tamper_every_byte},
        {"PIR swapped, entries moved or dropped, wrong signer, unknown report",
         test_pir_swap_and_signer},
        {"--again: same reportId and entries, new file", test_again},
        {"kill at journal/claim/temp/rename: next export recovers", test_crash_points},
        {"recovery respects --smdpf; --again of a pending report", test_recovery_filters},
        {"unverifiable BF37 withheld; bad installed PIR refused", test_withheld_and_unverified},
        {"--since: a window now, the rest later, each result once", test_since},
        {"edited audit row detected", test_audit_edit},
    };
    TU_ADD_SUITE("plr", tests);
}
