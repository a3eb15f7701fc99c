/*
 * Unit tests: the SQLite store. Migrations and pragmas on a temp DB, the statement cache,
 * all-or-nothing and idempotent bundle import, the BPP state machine (every pair, CAS across
 * two connections), the engine's queries, results and reports, eUICC data, and the audit
 * chain against edits made behind the store's back through a raw connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store.h"
#include "store_internal.h"
#include "testutil.h"

static const uint8_t dummy_bpp[] = {0xBF, 0x36, 0x04, 0xBF, 0x23, 0x01, 0x00};
static const uint8_t dummy_pir[] = {0xBF, 0x37, 0x03, 0x80, 0x01, 0x00};

typedef struct {
    char *dir;
    char *path;
    store_t *s;
} db_t;

static void db_open(db_t *d, const char *tag) {
    memset(d, 0, sizeof(*d));
    d->dir = tu_tmpdir(tag);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d->dir);
    CU_ASSERT_FATAL(asprintf(&d->path, "%s/station.db", d->dir) > 0);
    CU_ASSERT_EQUAL_FATAL(store_open(d->path, 0, &d->s), ST_OK);
}

static void db_done(db_t *d) {
    store_close(d->s);
    tu_rmrf(d->dir);
    free(d->dir);
    free(d->path);
}

static void make_eid(uint8_t eid[STORE_EID_LEN], unsigned n) {
    memset(eid, 0, STORE_EID_LEN);
    eid[0] = 0x89;
    eid[1] = 0x04;
    eid[14] = (uint8_t)(n >> 8);
    eid[15] = (uint8_t)n;
}

/* A raw connection to the same file, as a status tool or an attacker would have. */
static sqlite3 *raw_open(const char *path) {
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *q = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    else
        fprintf(stderr, "\nraw query failed: %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return v;
}

static void raw_text(sqlite3 *db, const char *sql, char *out, size_t cap) {
    sqlite3_stmt *q = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
}

static void bundle_hdr(store_bundle_new_t *b, uint8_t tag, const char *oid) {
    memset(b, 0, sizeof(*b));
    memset(b->bundle_id, tag, STORE_ID_LEN);
    memset(b->file_sha256, tag, STORE_HASH_LEN);
    b->smdpf_oid = oid;
    b->created_at = 1700000000;
    b->smdpf_chain = (const uint8_t *)"\x30\x03\x02\x01\x01";
    b->smdpf_chain_len = 5;
    b->file_name = "test.ifppb";
}

static void bpp_entry(store_bpp_new_t *e, uint32_t seq, unsigned eid_n, uint32_t key_index,
                      uint8_t tid_tag) {
    memset(e, 0, sizeof(*e));
    e->seq = seq;
    make_eid(e->eid, eid_n);
    e->key_index = key_index;
    e->tid_len = 16;
    memset(e->tid, tid_tag, 16);
    e->tid[15] = (uint8_t)seq;
    memset(e->iccid, 0x98, STORE_ICCID_LEN);
    e->profile_type = "test";
    e->bpp = dummy_bpp;
    e->bpp_len = sizeof(dummy_bpp);
}

/* One bundle `tag` of SM-DPf `oid` with one BPP for EID n (key `key_index`); its BPP id. */
static int64_t add_one(store_t *s, uint8_t tag, const char *oid, unsigned eid_n,
                       uint32_t key_index) {
    store_bundle_new_t b;
    store_bpp_new_t e;
    int64_t rowid = 0, id = 0;

    bundle_hdr(&b, tag, oid);
    b.entry_count = 1;
    CU_ASSERT_EQUAL(store_tx_begin(s), ST_OK);
    CU_ASSERT_EQUAL(store_bundle_insert(s, &b, &rowid), ST_OK);
    bpp_entry(&e, 0, eid_n, key_index, tag);
    CU_ASSERT_EQUAL(store_bpp_add(s, rowid, &e, &id), ST_OK);
    CU_ASSERT_EQUAL(store_tx_commit(s), ST_OK);
    return id;
}

static store_bpp_state_t state_of(store_t *s, int64_t id) {
    store_bpp_t b;
    CU_ASSERT_EQUAL(store_bpp_get(s, id, &b), ST_OK);
    return b.state;
}

/* ---- open, migrations, pragmas ---- */

static void test_fresh_db(void) {
    db_t d;
    struct stat sb;
    int v = -1;
    sqlite3 *raw;

    db_open(&d, "store-fresh");
    CU_ASSERT_EQUAL(store_user_version(d.s, &v), ST_OK);
    CU_ASSERT_EQUAL(v, STORE_SCHEMA_VERSION);
    CU_ASSERT_EQUAL(stat(d.path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    raw = raw_open(d.path);
    CU_ASSERT_EQUAL(raw_int(raw, "PRAGMA application_id"), 0x49465050);
    CU_ASSERT_EQUAL(raw_int(raw, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                                 "name IN ('smdpf','eum_cert','euicc','one_time_key','bundle',"
                                 "'bpp','bpp_blob','attempt','result','report','report_entry',"
                                 "'audit')"),
                    12);
    CU_ASSERT_EQUAL(raw_int(raw, "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'"), 2);
    sqlite3_close(raw);
    /* Reopening an up-to-date database changes nothing. */
    store_close(d.s);
    CU_ASSERT_EQUAL_FATAL(store_open(d.path, 0, &d.s), ST_OK);
    CU_ASSERT_EQUAL(store_user_version(d.s, &v), ST_OK);
    CU_ASSERT_EQUAL(v, STORE_SCHEMA_VERSION);
    CU_ASSERT_EQUAL(store_check(d.s), ST_OK);
    db_done(&d);
}

static void test_pragmas(void) {
    db_t d;
    char mode[16];

    db_open(&d, "store-pragma");
    raw_text(store_db(d.s), "PRAGMA journal_mode", mode, sizeof(mode));
    CU_ASSERT_STRING_EQUAL(mode, "wal");
    CU_ASSERT_EQUAL(raw_int(store_db(d.s), "PRAGMA synchronous"), 2);
    CU_ASSERT_EQUAL(raw_int(store_db(d.s), "PRAGMA foreign_keys"), 1);
    db_done(&d);
}

static void test_newer_version_refused(void) {
    db_t d;
    sqlite3 *raw;
    store_t *s = NULL;

    db_open(&d, "store-newer");
    store_close(d.s);
    d.s = NULL;
    raw = raw_open(d.path);
    CU_ASSERT_EQUAL(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    CU_ASSERT_EQUAL(store_open(d.path, 0, &s), ST_E_DB_VERSION);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(store_open(d.path, STORE_OPEN_READONLY, &s), ST_E_DB_VERSION);
    CU_ASSERT_PTR_NULL(s);
    db_done(&d);
}

static void test_foreign_db_refused(void) {
    char *dir = tu_tmpdir("store-foreign"), *path = NULL;
    sqlite3 *raw = NULL;
    store_t *s = NULL;
    FILE *f;

    CU_ASSERT_FATAL(dir && asprintf(&path, "%s/other.db", dir) > 0);
    CU_ASSERT_EQUAL(sqlite3_open(path, &raw), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(raw, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    CU_ASSERT_EQUAL(store_open(path, 0, &s), ST_E_DB);
    CU_ASSERT_PTR_NULL(s);
    /* Not SQLite at all. */
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database file. ", f);
    fclose(f);
    CU_ASSERT_EQUAL(store_open(path, 0, &s), ST_E_DB_CORRUPT);
    CU_ASSERT_PTR_NULL(s);
    tu_rmrf(dir);
    free(dir);
    free(path);
}

static void test_readonly(void) {
    db_t d;
    store_t *ro = NULL;
    store_bundle_t got;
    uint8_t id[STORE_ID_LEN];
    char *missing = NULL;

    db_open(&d, "store-ro");
    add_one(d.s, 0x11, "2.999.10", 1, 1);
    /* Beside the read-write handle, as `status` runs beside the engine. */
    CU_ASSERT_EQUAL_FATAL(store_open(d.path, STORE_OPEN_READONLY, &ro), ST_OK);
    memset(id, 0x11, sizeof(id));
    CU_ASSERT_EQUAL(store_bundle_get(ro, id, &got), ST_OK);
    CU_ASSERT_STRING_EQUAL(got.smdpf_oid, "2.999.10");
    CU_ASSERT_EQUAL(store_smdpf_put(ro, "2.999.11", "x", true), ST_E_PERM);
    CU_ASSERT_EQUAL(store_audit_append(ro, "t", "x", NULL, NULL, NULL, NULL), ST_E_PERM);
    /* The writer goes on while the reader is open. */
    add_one(d.s, 0x12, "2.999.10", 2, 1);
    memset(id, 0x12, sizeof(id));
    CU_ASSERT_EQUAL(store_bundle_get(ro, id, &got), ST_OK);
    CU_ASSERT_EQUAL(store_audit_verify(ro, NULL, NULL), ST_OK);
    store_close(ro);
    ro = NULL;
    /* No writer running: the WAL and -shm files are gone, a reader still opens. */
    store_close(d.s);
    d.s = NULL;
    CU_ASSERT_EQUAL_FATAL(store_open(d.path, STORE_OPEN_READONLY, &ro), ST_OK);
    CU_ASSERT_EQUAL(store_bundle_get(ro, id, &got), ST_OK);
    store_close(ro);
    CU_ASSERT_FATAL(asprintf(&missing, "%s/none.db", d.dir) > 0);
    CU_ASSERT_EQUAL(store_open(missing, STORE_OPEN_READONLY, &ro), ST_E_NOENT);
    CU_ASSERT_PTR_NULL(ro);
    free(missing);
    db_done(&d);
}

static void test_close_checkpoints(void) {
    db_t d;
    char *wal = NULL;
    struct stat sb;

    db_open(&d, "store-close");
    add_one(d.s, 0x21, "2.999.10", 1, 1);
    CU_ASSERT_FATAL(asprintf(&wal, "%s-wal", d.path) > 0);
    CU_ASSERT_EQUAL(stat(wal, &sb), 0);
    CU_ASSERT(sb.st_size > 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600); /* the WAL inherits the database's mode */
    store_close(d.s);
    d.s = NULL;
    CU_ASSERT(stat(wal, &sb) != 0 || sb.st_size == 0);
    free(wal);
    db_done(&d);
}

static void test_stmt_cache(void) {
    db_t d;
    store_bundle_t got;
    uint8_t id[STORE_ID_LEN];
    sqlite3_stmt *first;
    unsigned n;

    db_open(&d, "store-cache");
    memset(id, 0x31, sizeof(id));
    CU_ASSERT_EQUAL(store_bundle_get(d.s, id, &got), ST_E_NOENT);
    first = d.s->stmt[STMT_BUNDLE_GET];
    CU_ASSERT_PTR_NOT_NULL(first);
    n = d.s->n_prepared;
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(store_bundle_get(d.s, id, &got), ST_E_NOENT);
    CU_ASSERT_EQUAL(d.s->n_prepared, n);
    CU_ASSERT_PTR_EQUAL(d.s->stmt[STMT_BUNDLE_GET], first);
    /* Reset after use: not busy, no bindings left behind. */
    CU_ASSERT_FALSE(sqlite3_stmt_busy(first));
    CU_ASSERT_EQUAL(sqlite3_column_count(first) > 0, 1);
    add_one(d.s, 0x31, "2.999.10", 1, 1);
    CU_ASSERT_EQUAL(store_bundle_get(d.s, id, &got), ST_OK);
    CU_ASSERT_PTR_EQUAL(d.s->stmt[STMT_BUNDLE_GET], first);
    db_done(&d);
}

/* ---- bundles ---- */

static void test_bundle_all_or_nothing(void) {
    db_t d;
    store_bundle_new_t b;
    store_bpp_new_t e;
    store_bundle_t got;
    int64_t rowid = 0;
    sqlite3 *raw;

    db_open(&d, "store-aon");
    bundle_hdr(&b, 0x41, "2.999.10");
    b.entry_count = 10;
    CU_ASSERT_EQUAL(store_tx_begin(d.s), ST_OK);
    CU_ASSERT_EQUAL(store_bundle_insert(d.s, &b, &rowid), ST_OK);
    for (uint32_t i = 0; i < 5; i++) {
        bpp_entry(&e, i, 100 + i, 1, 0x41);
        CU_ASSERT_EQUAL(store_bpp_add(d.s, rowid, &e, NULL), ST_OK);
    }
    /* Entry 5 repeats entry 2's transactionId: the bundle is refused as a whole. */
    bpp_entry(&e, 2, 200, 1, 0x41);
    e.seq = 5;
    CU_ASSERT_EQUAL(store_bpp_add(d.s, rowid, &e, NULL), ST_E_CONFLICT);
    store_tx_rollback(d.s);
    CU_ASSERT_EQUAL(store_bundle_get(d.s, b.bundle_id, &got), ST_E_NOENT);
    raw = raw_open(d.path);
    CU_ASSERT_EQUAL(raw_int(raw, "SELECT count(*) FROM bpp"), 0);
    CU_ASSERT_EQUAL(raw_int(raw, "SELECT count(*) FROM bpp_blob"), 0);
    CU_ASSERT_EQUAL(raw_int(raw, "SELECT count(*) FROM bundle"), 0);
    sqlite3_close(raw);

    /* A failing BPP outside an explicit transaction leaves no half row either. */
    CU_ASSERT_EQUAL(store_bundle_insert(d.s, &b, &rowid), ST_OK);
    bpp_entry(&e, 0, 300, 1, 0x42);
    e.tid_len = 0;
    CU_ASSERT_EQUAL(store_bpp_add(d.s, rowid, &e, NULL), ST_E_INVAL);
    bpp_entry(&e, 0, 300, 1, 0x42);
    CU_ASSERT_EQUAL(store_bpp_add(d.s, rowid + 1000, &e, NULL), ST_E_NOENT);
    CU_ASSERT_EQUAL(raw_int(store_db(d.s), "SELECT count(*) FROM bpp"), 0);
    CU_ASSERT_EQUAL(store_check(d.s), ST_OK);
    db_done(&d);
}

static void test_bundle_idempotent(void) {
    db_t d;
    store_bundle_new_t b;
    store_bundle_t got;
    store_stats_list_t stats = {NULL, 0};
    int64_t first = 0, again = 0;
    buf_t chain = BUF_INIT;

    db_open(&d, "store-idem");
    first = add_one(d.s, 0x51, "2.999.10", 1, 1);
    CU_ASSERT(first > 0);
    CU_ASSERT_EQUAL(store_bundle_get(d.s, (const uint8_t *)"ZZZZZZZZZZZZZZZZ", &got), ST_E_NOENT);
    bundle_hdr(&b, 0x51, "2.999.10");
    b.entry_count = 1;
    CU_ASSERT_EQUAL(store_bundle_get(d.s, b.bundle_id, &got), ST_OK);
    CU_ASSERT_EQUAL(got.entry_count, 1);
    CU_ASSERT_EQUAL(memcmp(got.file_sha256, b.file_sha256, STORE_HASH_LEN), 0);
    CU_ASSERT_STRING_EQUAL(got.file_name, "test.ifppb");
    CU_ASSERT_EQUAL(store_bundle_chain(d.s, got.rowid, &chain), ST_OK);
    CU_ASSERT_EQUAL(chain.len, 5);
    buf_free(&chain);
    /* Same id, same hash: nothing changes. */
    CU_ASSERT_EQUAL(store_bundle_insert(d.s, &b, &again), ST_E_EXISTS);
    CU_ASSERT_EQUAL(again, got.rowid);
    /* Same id, other content: refused. */
    b.file_sha256[0] ^= 1;
    CU_ASSERT_EQUAL(store_bundle_insert(d.s, &b, &again), ST_E_CONFLICT);
    CU_ASSERT_EQUAL(store_bundle_stats(d.s, &stats), ST_OK);
    CU_ASSERT_EQUAL(stats.n, 1);
    if (stats.n == 1)
        CU_ASSERT_EQUAL(stats.v[0].count[STORE_BPP_PENDING], 1);
    store_stats_list_free(&stats);
    db_done(&d);
}

/* ---- the state machine ---- */

/* A fresh BPP driven into `st` through legal transitions. */
static int64_t bpp_in_state(store_t *s, uint8_t *tag, store_bpp_state_t st) {
    store_change_t ch = STORE_CHANGE_INIT;
    uint8_t t = (*tag)++;
    int64_t id = add_one(s, t, "2.999.10", t, 1);

    ch.reader = "r0";
    ch.pir = dummy_pir;
    ch.pir_len = sizeof(dummy_pir);
    if (st == STORE_BPP_PENDING)
        return id;
    CU_ASSERT_EQUAL(store_bpp_transition(s, id, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch), ST_OK);
    if (st != STORE_BPP_LOADING)
        CU_ASSERT_EQUAL(store_bpp_transition(s, id, STORE_BPP_LOADING, st, &ch), ST_OK);
    CU_ASSERT_EQUAL(state_of(s, id), st);
    return id;
}

static void test_state_machine_table(void) {
    db_t d;
    uint8_t tag = 1;
    int legal = 0, illegal = 0;

    db_open(&d, "store-sm");
    for (int from = 0; from < STORE_BPP__COUNT; from++) {
        for (int to = 0; to < STORE_BPP__COUNT; to++) {
            store_change_t ch = STORE_CHANGE_INIT;
            int64_t id = bpp_in_state(d.s, &tag, (store_bpp_state_t)from);
            bool ok = store_bpp_transition_legal(from, to);
            st_t st;

            ch.reader = "r1";
            ch.pir = dummy_pir;
            ch.pir_len = sizeof(dummy_pir);
            ch.error = "test";
            st = store_bpp_transition(d.s, id, from, to, &ch);
            if ((st == ST_OK) != ok)
                fprintf(stderr, "\n%s -> %s: %s\n", store_bpp_state_name(from),
                        store_bpp_state_name(to), st_name(st));
            CU_ASSERT_EQUAL(st, ok ? ST_OK : ST_E_STATE);
            CU_ASSERT_EQUAL(state_of(d.s, id), ok ? to : from);
            legal += ok;
            illegal += !ok;
        }
    }
    CU_ASSERT_EQUAL(legal, 7);
    CU_ASSERT_EQUAL(illegal, 18);
    CU_ASSERT_EQUAL(store_check(d.s), ST_OK);
    db_done(&d);
}

static void test_state_machine_rules(void) {
    db_t d;
    store_change_t ch = STORE_CHANGE_INIT;
    store_bpp_t b;
    int64_t id;
    uint8_t tag = 1;

    db_open(&d, "store-rules");
    id = bpp_in_state(d.s, &tag, STORE_BPP_PENDING);
    /* A legal pair, but the row is not in `from`: the CAS misses. */
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id, STORE_BPP_LOADING, STORE_BPP_FAILED, NULL),
                    ST_E_STATE);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, 999999, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_E_INVAL); /* no reader */
    ch.reader = "r1";
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, 999999, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_E_NOENT);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id, STORE_BPP_PENDING, STORE_BPP_LOADING, NULL),
                    ST_E_INVAL);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    /* installed needs the PIR */
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id, STORE_BPP_LOADING, STORE_BPP_INSTALLED, NULL),
                    ST_E_INVAL);
    CU_ASSERT_EQUAL(state_of(d.s, id), STORE_BPP_LOADING);
    /* retries: failed -> loading counts */
    ch.error = "card said no";
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id, STORE_BPP_LOADING, STORE_BPP_FAILED, &ch), ST_OK);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id, STORE_BPP_FAILED, STORE_BPP_LOADING, &ch), ST_OK);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id, STORE_BPP_LOADING, STORE_BPP_FAILED, &ch), ST_OK);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id, STORE_BPP_FAILED, STORE_BPP_LOADING, &ch), ST_OK);
    CU_ASSERT_EQUAL(store_bpp_get(d.s, id, &b), ST_OK);
    CU_ASSERT_EQUAL(b.retries, 2);
    CU_ASSERT_STRING_EQUAL(b.last_error, "card said no");
    CU_ASSERT_EQUAL(raw_int(store_db(d.s), "SELECT count(*) FROM attempt"), 3);
    CU_ASSERT_EQUAL(raw_int(store_db(d.s), "SELECT count(*) FROM attempt WHERE ended_at IS NULL"),
                    1);
    CU_ASSERT_FALSE(store_bpp_transition_legal(STORE_BPP__COUNT, STORE_BPP_PENDING));
    CU_ASSERT_STRING_EQUAL(store_bpp_state_name(STORE_BPP_DEAD), "dead");
    db_done(&d);
}

static void test_cas_two_handles(void) {
    db_t d;
    store_t *b = NULL;
    store_change_t ch = STORE_CHANGE_INIT;
    int64_t id, id2;
    uint8_t tag = 1;

    db_open(&d, "store-cas");
    CU_ASSERT_EQUAL_FATAL(store_open(d.path, 0, &b), ST_OK);
    id = bpp_in_state(d.s, &tag, STORE_BPP_PENDING);
    id2 = bpp_in_state(d.s, &tag, STORE_BPP_PENDING);
    ch.reader = "worker-a";
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    ch.reader = "worker-b";
    CU_ASSERT_EQUAL(store_bpp_transition(b, id, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_E_STATE);
    CU_ASSERT_EQUAL(state_of(b, id), STORE_BPP_LOADING);
    CU_ASSERT_EQUAL(raw_int(store_db(b), "SELECT count(*) FROM attempt"), 1);

    /* While one connection holds the write lock, another one waits, then reports BUSY. */
    CU_ASSERT_EQUAL(store_set_busy_timeout(b, 50), ST_OK);
    CU_ASSERT_EQUAL(store_tx_begin(d.s), ST_OK);
    CU_ASSERT_EQUAL(store_bpp_transition(b, id2, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_E_DB_BUSY);
    store_tx_rollback(d.s);
    CU_ASSERT_EQUAL(store_bpp_transition(b, id2, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch), ST_OK);
    store_close(b);
    db_done(&d);
}

/* ---- queries ---- */

static void test_pending_query(void) {
    db_t d;
    store_bpp_list_t l = {NULL, 0};
    store_loading_list_t ld = {NULL, 0};
    store_change_t ch = STORE_CHANGE_INIT;
    uint8_t eid[STORE_EID_LEN];
    int64_t a, b, c, other;
    char plan[512] = "";
    sqlite3_stmt *q = NULL;

    db_open(&d, "store-pending");
    /* EID 7 gets BPPs from three SM-DPfs, one of which is not allowed any more. */
    a = add_one(d.s, 0x61, "2.999.10", 7, 1);
    other = add_one(d.s, 0x62, "2.999.10", 8, 1);
    b = add_one(d.s, 0x63, "2.999.11", 7, 2);
    c = add_one(d.s, 0x64, "2.999.12", 7, 3);
    CU_ASSERT_EQUAL(store_smdpf_put(d.s, "2.999.12", "revoked", false), ST_OK);
    make_eid(eid, 7);
    CU_ASSERT_EQUAL(store_bpp_pending(d.s, eid, false, &l), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 2);
    CU_ASSERT_EQUAL(l.v[0].id, a);
    CU_ASSERT_EQUAL(l.v[1].id, b);
    CU_ASSERT_STRING_EQUAL(l.v[1].smdpf_oid, "2.999.11");
    CU_ASSERT_EQUAL(l.v[1].key_index, 2);
    CU_ASSERT_EQUAL(l.v[1].tid_len, 16);
    CU_ASSERT_EQUAL(l.v[1].bpp_len, sizeof(dummy_bpp));
    CU_ASSERT_STRING_EQUAL(l.v[1].profile_type, "test");
    CU_ASSERT_EQUAL(memcmp(l.v[0].eid, eid, STORE_EID_LEN), 0);
    (void)c;
    (void)other;

    /* a fails: only with_failed offers it again */
    ch.reader = "r1";
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, a, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch), ST_OK);
    CU_ASSERT_EQUAL(store_bpp_loading(d.s, &ld), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ld.n, 1);
    CU_ASSERT_EQUAL(ld.v[0].bpp.id, a);
    CU_ASSERT_STRING_EQUAL(ld.v[0].reader, "r1");
    CU_ASSERT(ld.v[0].attempt_id > 0);
    store_loading_list_free(&ld);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, a, STORE_BPP_LOADING, STORE_BPP_FAILED, &ch), ST_OK);
    CU_ASSERT_EQUAL(store_bpp_pending(d.s, eid, false, &l), ST_OK);
    CU_ASSERT_EQUAL(l.n, 1);
    CU_ASSERT_EQUAL(store_bpp_pending(d.s, eid, true, &l), ST_OK);
    CU_ASSERT_EQUAL(l.n, 2);
    if (l.n == 2)
        CU_ASSERT_EQUAL(l.v[0].id, a);
    store_bpp_list_free(&l);
    CU_ASSERT_EQUAL(store_bpp_loading(d.s, &ld), ST_OK);
    CU_ASSERT_EQUAL(ld.n, 0);
    store_loading_list_free(&ld);

    /* The hot query is an index seek, never a scan of bpp. */
    CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(store_db(d.s),
                                             "EXPLAIN QUERY PLAN SELECT b.id FROM bpp b CROSS "
                                             "JOIN bundle bu ON bu.id = b.bundle_id CROSS JOIN "
                                             "smdpf s ON s.id = b.smdpf_id WHERE b.eid = ?1 AND "
                                             "b.state = 'pending' AND s.allowed = 1 ORDER BY b.id",
                                             -1, &q, NULL),
                          SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        size_t n = strlen(plan);
        snprintf(plan + n, sizeof(plan) - n, "%s; ", (const char *)sqlite3_column_text(q, 3));
    }
    sqlite3_finalize(q);
    if (!strstr(plan, "bpp_eid_state") || strstr(plan, "TEMP B-TREE"))
        fprintf(stderr, "\nplan: %s\n", plan);
    CU_ASSERT_PTR_NOT_NULL(strstr(plan, "USING INDEX bpp_eid_state (eid=? AND state=?)"));
    CU_ASSERT_PTR_NULL(strstr(plan, "TEMP B-TREE"));
    db_done(&d);
}

typedef struct {
    store_result_t last; /* .pir cleared: it is borrowed for the callback only */
    int n;
    int pir_ok; /* results whose BF37 came back byte-exact */
} results_t;

static st_t collect_result(void *ud, const store_result_t *r) {
    results_t *out = ud;
    out->last = *r;
    out->last.pir = NULL;
    out->n++;
    if (r->pir && r->pir_len == sizeof(dummy_pir) && !memcmp(r->pir, dummy_pir, r->pir_len))
        out->pir_ok++;
    return ST_OK;
}

static void test_results_and_reports(void) {
    db_t d;
    store_change_t ch = STORE_CHANGE_INIT;
    results_t r;
    store_report_t rep, rep2;
    store_otk_t key;
    store_euicc_new_t eu;
    uint8_t rid[STORE_ID_LEN], eid[STORE_EID_LEN];
    uint64_t n = 0;
    int64_t inst, dead, attempt = 0;
    sqlite3 *raw;

    db_open(&d, "store-report");
    /* eUICC 1 is known, with one-time key 1 */
    memset(&eu, 0, sizeof(eu));
    make_eid(eu.eid, 1);
    eu.cert_euicc = (const uint8_t *)"certE";
    eu.cert_euicc_len = 5;
    eu.cert_eum = (const uint8_t *)"certM";
    eu.cert_eum_len = 5;
    CU_ASSERT_EQUAL(store_euicc_put(d.s, &eu), ST_OK);
    memset(&key, 0, sizeof(key));
    key.key_index = 1;
    memset(key.otpk, 0x04, sizeof(key.otpk));
    CU_ASSERT_EQUAL(store_otk_put(d.s, eu.eid, &key), ST_OK);

    inst = add_one(d.s, 0x71, "2.999.10", 1, 1);
    dead = add_one(d.s, 0x72, "2.999.10", 2, 1);
    make_eid(eid, 1);
    CU_ASSERT_EQUAL(store_otk_get(d.s, eid, 1, &key), ST_OK);
    CU_ASSERT_EQUAL(key.state, STORE_OTK_BOUND);

    ch.reader = "r1";
    ch.op = "alice";
    ch.actor = "alice";
    ch.attempt_id = &attempt;
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, inst, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    CU_ASSERT(attempt > 0);
    ch.attempt_id = NULL;
    ch.pir = dummy_pir;
    ch.pir_len = sizeof(dummy_pir);
    ch.pir_verified = true;
    ch.apdus = 42;
    ch.bytes = 12345;
    ch.duration_ms = 2500;
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, inst, STORE_BPP_LOADING, STORE_BPP_INSTALLED, &ch),
                    ST_OK);
    CU_ASSERT_EQUAL(store_otk_get(d.s, eid, 1, &key), ST_OK);
    CU_ASSERT_EQUAL(key.state, STORE_OTK_CONSUMED);
    CU_ASSERT_EQUAL(raw_int(store_db(d.s), "SELECT apdus FROM attempt WHERE outcome = "
                                           "'installed' AND duration_ms = 2500"),
                    42);

    /* dead: the result carries the card's last BF37 and FPA code from the attempt */
    {
        store_change_t f = STORE_CHANGE_INIT;
        f.reader = "r2";
        CU_ASSERT_EQUAL(store_bpp_transition(d.s, dead, STORE_BPP_PENDING, STORE_BPP_LOADING, &f),
                        ST_OK);
        f.pir = dummy_pir;
        f.pir_len = sizeof(dummy_pir);
        f.fpa_error_code = 7;
        f.bpp_command_id = 1;
        f.error_reason = 8;
        f.error = "install failed";
        CU_ASSERT_EQUAL(store_bpp_transition(d.s, dead, STORE_BPP_LOADING, STORE_BPP_FAILED, &f),
                        ST_OK);
        f = (store_change_t)STORE_CHANGE_INIT;
        f.error = "given up";
        CU_ASSERT_EQUAL(store_bpp_transition(d.s, dead, STORE_BPP_FAILED, STORE_BPP_DEAD, &f),
                        ST_OK);
    }
    CU_ASSERT_EQUAL(store_results_unreported_count(d.s, "2.999.10", &n), ST_OK);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(store_results_unreported_count(d.s, "2.999.99", &n), ST_OK);
    CU_ASSERT_EQUAL(n, 0);
    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(store_results_unreported(d.s, "2.999.10", collect_result, &r), ST_OK);
    CU_ASSERT_EQUAL(r.n, 2);
    CU_ASSERT_EQUAL(r.pir_ok, 2);
    /* the last one handed over is the dead BPP's failed result */
    CU_ASSERT_EQUAL(r.last.kind, STORE_RESULT_FAILED);
    CU_ASSERT_EQUAL(r.last.bpp_id, dead);
    CU_ASSERT_EQUAL(r.last.fpa_error_code, 7);
    CU_ASSERT_EQUAL(r.last.pir_len, sizeof(dummy_pir));
    CU_ASSERT_FALSE(r.last.verified);
    CU_ASSERT_STRING_EQUAL(r.last.text, "given up");

    /* A report claims both; a second report finds nothing. */
    memset(rid, 0xA1, sizeof(rid));
    CU_ASSERT_EQUAL(store_report_create(d.s, rid, "2.999.10", "r1.ifppl", &rep), ST_OK);
    CU_ASSERT_EQUAL(rep.n_entries, 2);
    CU_ASSERT_EQUAL(rep.exported_at, 0);
    memset(rid, 0xA2, sizeof(rid));
    CU_ASSERT_EQUAL(store_report_create(d.s, rid, "2.999.10", "r2.ifppl", &rep2), ST_E_NOENT);
    CU_ASSERT_EQUAL(store_report_get(d.s, rid, &rep2), ST_E_NOENT);
    CU_ASSERT_EQUAL(store_results_unreported_count(d.s, "2.999.10", &n), ST_OK);
    CU_ASSERT_EQUAL(n, 0);
    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(store_report_results(d.s, rep.rowid, collect_result, &r), ST_OK);
    CU_ASSERT_EQUAL(r.n, 2);
    CU_ASSERT_EQUAL(r.pir_ok, 2);
    CU_ASSERT_EQUAL(r.last.tid_len, 16);
    /* The schema itself refuses a result in a second report of the SM-DPf. */
    raw = raw_open(d.path);
    CU_ASSERT_EQUAL(sqlite3_exec(raw, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    CU_ASSERT_NOT_EQUAL(sqlite3_exec(raw,
                                     "INSERT INTO report(report_id, smdpf_id, created_at) "
                                     "VALUES (x'00000000000000000000000000000001', 1, 0); "
                                     "INSERT INTO report_entry SELECT last_insert_rowid(), "
                                     "result_id, smdpf_id FROM report_entry LIMIT 1",
                                     NULL, NULL, NULL),
                        SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_extended_errcode(raw), SQLITE_CONSTRAINT_UNIQUE);
    CU_ASSERT_EQUAL(sqlite3_exec(raw, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    /* Discarding an unexported report releases its results; an exported one stays. */
    CU_ASSERT_EQUAL(store_report_discard(d.s, rep.rowid), ST_OK);
    CU_ASSERT_EQUAL(store_results_unreported_count(d.s, "2.999.10", &n), ST_OK);
    CU_ASSERT_EQUAL(n, 2);
    memset(rid, 0xA3, sizeof(rid));
    CU_ASSERT_EQUAL(store_report_create(d.s, rid, "2.999.10", "r3.ifppl", &rep), ST_OK);
    CU_ASSERT_EQUAL(store_report_mark_exported(d.s, rep.rowid), ST_OK);
    CU_ASSERT_EQUAL(store_report_get(d.s, rid, &rep2), ST_OK);
    CU_ASSERT(rep2.exported_at > 0);
    CU_ASSERT_EQUAL(rep2.n_entries, 2);
    CU_ASSERT_EQUAL(store_report_discard(d.s, rep.rowid), ST_E_STATE);
    /* the transitions with an actor were audited */
    CU_ASSERT_EQUAL(raw_int(store_db(d.s), "SELECT count(*) FROM audit WHERE action = "
                                           "'bpp.state' AND actor = 'alice'"),
                    2);
    CU_ASSERT_EQUAL(store_audit_verify(d.s, NULL, NULL), ST_OK);
    CU_ASSERT_EQUAL(store_check(d.s), ST_OK);
    db_done(&d);
}

static void test_euicc_data(void) {
    db_t d;
    store_euicc_new_t e;
    store_euicc_t *got = NULL;
    store_otk_t k;
    uint8_t eid[STORE_EID_LEN];
    uint32_t n = 0;

    db_open(&d, "store-euicc");
    memset(&e, 0, sizeof(e));
    make_eid(e.eid, 5);
    e.cert_euicc = (const uint8_t *)"euicc-cert-5";
    e.cert_euicc_len = 12;
    e.cert_eum = (const uint8_t *)"eum-cert";
    e.cert_eum_len = 8;
    e.euicc_info2 = (const uint8_t *)"\xBF\x22\x00";
    e.euicc_info2_len = 3;
    e.batch = "batch-1";
    CU_ASSERT_EQUAL(store_euicc_put(d.s, &e), ST_OK);
    CU_ASSERT_EQUAL(store_euicc_put(d.s, &e), ST_E_EXISTS);
    e.cert_euicc = (const uint8_t *)"euicc-cert-X";
    CU_ASSERT_EQUAL(store_euicc_put(d.s, &e), ST_E_CONFLICT);
    /* a second eUICC of the same EUM: the EUM certificate is stored once */
    make_eid(e.eid, 6);
    e.euicc_info2 = NULL;
    e.euicc_info2_len = 0;
    CU_ASSERT_EQUAL(store_euicc_put(d.s, &e), ST_OK);
    CU_ASSERT_EQUAL(raw_int(store_db(d.s), "SELECT count(*) FROM eum_cert"), 1);

    make_eid(eid, 5);
    for (uint32_t i = 1; i <= 3; i++) {
        memset(&k, 0, sizeof(k));
        k.key_index = i;
        memset(k.otpk, (int)i, sizeof(k.otpk));
        memset(k.sig, 0x50 + (int)i, sizeof(k.sig));
        CU_ASSERT_EQUAL(store_otk_put(d.s, eid, &k), ST_OK);
    }
    CU_ASSERT_EQUAL(store_otk_put(d.s, eid, &k), ST_E_EXISTS);
    k.otpk[10] ^= 1;
    CU_ASSERT_EQUAL(store_otk_put(d.s, eid, &k), ST_E_CONFLICT);
    make_eid(e.eid, 99);
    CU_ASSERT_EQUAL(store_otk_put(d.s, e.eid, &k), ST_E_NOENT);
    /* A BPP imported for key 2 binds it; a key imported after its BPP starts bound. */
    add_one(d.s, 0x81, "2.999.10", 5, 2);
    add_one(d.s, 0x82, "2.999.10", 6, 9);
    memset(&k, 0, sizeof(k));
    k.key_index = 9;
    make_eid(e.eid, 6);
    CU_ASSERT_EQUAL(store_otk_put(d.s, e.eid, &k), ST_OK);
    CU_ASSERT_EQUAL(store_otk_get(d.s, e.eid, 9, &k), ST_OK);
    CU_ASSERT_EQUAL(k.state, STORE_OTK_BOUND);

    CU_ASSERT_EQUAL(store_euicc_get(d.s, eid, &got), ST_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL(got->cert_euicc.len, 12);
    CU_ASSERT_EQUAL(got->cert_eum.len, 8);
    CU_ASSERT_EQUAL(got->euicc_info2.len, 3);
    CU_ASSERT_STRING_EQUAL(got->batch, "batch-1");
    CU_ASSERT_EQUAL_FATAL(got->n_keys, 3);
    CU_ASSERT_EQUAL(got->keys[0].state, STORE_OTK_UNUSED);
    CU_ASSERT_EQUAL(got->keys[1].state, STORE_OTK_BOUND);
    CU_ASSERT_EQUAL(got->keys[2].otpk[0], 3);
    store_euicc_free(got);
    got = NULL;
    make_eid(e.eid, 77);
    CU_ASSERT_EQUAL(store_euicc_get(d.s, e.eid, &got), ST_E_NOENT);
    CU_ASSERT_PTR_NULL(got);

    /* DeleteOneTimeKeys: unused and bound keys go */
    CU_ASSERT_EQUAL(store_otk_set_state(d.s, eid, 3, STORE_OTK_CONSUMED), ST_OK);
    CU_ASSERT_EQUAL(store_otk_delete_all(d.s, eid, &n), ST_OK);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(store_otk_get(d.s, eid, 3, &k), ST_OK);
    CU_ASSERT_EQUAL(k.state, STORE_OTK_CONSUMED);
    CU_ASSERT_EQUAL(store_otk_get(d.s, eid, 1, &k), ST_OK);
    CU_ASSERT_EQUAL(k.state, STORE_OTK_DELETED);
    CU_ASSERT_EQUAL(store_otk_set_state(d.s, eid, 42, STORE_OTK_DELETED), ST_E_NOENT);
    CU_ASSERT_EQUAL(store_check(d.s), ST_OK);
    db_done(&d);
}

/* ---- audit ---- */

static void audit_db(db_t *d, const char *tag) {
    db_open(d, tag);
    CU_ASSERT_EQUAL(store_audit_append(d->s, "alice", "login", NULL, NULL, NULL, NULL), ST_OK);
    CU_ASSERT_EQUAL(store_audit_append(d->s, "alice", "import", "bundle:1", NULL, "ok", "usb"),
                    ST_OK);
    CU_ASSERT_EQUAL(
        store_audit_append(d->s, "engine", "bpp.state", "bpp:1", "pending", "loading", NULL),
        ST_OK);
    CU_ASSERT_EQUAL(
        store_audit_append(d->s, "engine", "bpp.state", "bpp:1", "loading", "installed", ""),
        ST_OK);
    CU_ASSERT_EQUAL(
        store_audit_append(d->s, "bob", "report.export", "smdpf:2.999.10", NULL, "r1.ifppl", NULL),
        ST_OK);
}

/* Runs SQL on a raw connection after dropping the append-only triggers. */
static void tamper(const char *path, const char *sql) {
    sqlite3 *raw = raw_open(path);
    char *err = NULL;
    int rc = sqlite3_exec(raw, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete", NULL,
                          NULL, &err);
    CU_ASSERT_EQUAL(rc, SQLITE_OK);
    sqlite3_free(err);
    err = NULL;
    rc = sqlite3_exec(raw, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "\ntamper: %s\n", err ? err : "?");
    CU_ASSERT_EQUAL(rc, SQLITE_OK);
    sqlite3_free(err);
    sqlite3_close(raw);
}

static void expect_broken_at(const char *tag, const char *sql, uint64_t want) {
    db_t d;
    uint64_t bad = 0;

    audit_db(&d, tag);
    tamper(d.path, sql);
    CU_ASSERT_EQUAL(store_audit_verify(d.s, &bad, NULL), ST_E_DB_CORRUPT);
    if (bad != want)
        fprintf(stderr, "\n%s: first bad seq %llu, want %llu\n", tag, (unsigned long long)bad,
                (unsigned long long)want);
    CU_ASSERT_EQUAL(bad, want);
    db_done(&d);
}

static void test_audit_chain(void) {
    db_t d;
    uint64_t bad = 99, n = 0;

    audit_db(&d, "audit-ok");
    CU_ASSERT_EQUAL(store_audit_verify(d.s, &bad, &n), ST_OK);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(n, 5);
    /* The triggers refuse edits through any connection. */
    CU_ASSERT_NOT_EQUAL(
        sqlite3_exec(store_db(d.s), "UPDATE audit SET reason = 'x'", NULL, NULL, NULL), SQLITE_OK);
    CU_ASSERT_NOT_EQUAL(sqlite3_exec(store_db(d.s), "DELETE FROM audit", NULL, NULL, NULL),
                        SQLITE_OK);
    CU_ASSERT_EQUAL(store_audit_verify(d.s, NULL, NULL), ST_OK);
    CU_ASSERT_EQUAL(store_audit_append(d.s, "", "x", NULL, NULL, NULL, NULL), ST_E_INVAL);
    CU_ASSERT_EQUAL(store_audit_append(d.s, "a", NULL, NULL, NULL, NULL, NULL), ST_E_INVAL);
    CU_ASSERT_EQUAL(store_check(d.s), ST_OK);
    db_done(&d);
}

static void test_audit_tamper(void) {
    /* an edited field; NULL vs "" is a difference too */
    expect_broken_at("audit-edit", "UPDATE audit SET new_value = 'failed' WHERE seq = 4", 4);
    expect_broken_at("audit-null", "UPDATE audit SET reason = NULL WHERE seq = 4", 4);
    expect_broken_at("audit-ts", "UPDATE audit SET ts = ts + 1 WHERE seq = 2", 2);
    /* a row removed from the middle, and from the end */
    expect_broken_at("audit-del", "DELETE FROM audit WHERE seq = 3", 3);
    expect_broken_at("audit-tail", "DELETE FROM audit WHERE seq = 5", 5);
    /* two rows swapped, hashes and all */
    expect_broken_at("audit-swap",
                     "UPDATE audit SET seq = -2 WHERE seq = 2; "
                     "UPDATE audit SET seq = 2 WHERE seq = 3; "
                     "UPDATE audit SET seq = 3 WHERE seq = -2",
                     2);
    /* a whole row forged with a correctly chained-looking prev_hash but no right hash */
    expect_broken_at("audit-insert",
                     "INSERT INTO audit(seq, ts, actor, action, prev_hash, hash) SELECT 6, 0, "
                     "'mallory', 'x', hash, hash FROM audit WHERE seq = 5",
                     6);
}

void test_store_register(void) {
    static const tu_test_t tests[] = {
        {"fresh database: schema, mode 0600, reopen", test_fresh_db},
        {"pragmas: wal, synchronous=FULL, foreign_keys", test_pragmas},
        {"newer user_version refused", test_newer_version_refused},
        {"foreign or non-SQLite file refused", test_foreign_db_refused},
        {"read-only handle beside a writer", test_readonly},
        {"close checkpoints and truncates the WAL", test_close_checkpoints},
        {"statement cache reuse", test_stmt_cache},
        {"bundle import all-or-nothing", test_bundle_all_or_nothing},
        {"bundle import idempotent / conflicting", test_bundle_idempotent},
        {"BPP state machine: every pair", test_state_machine_table},
        {"BPP state machine: CAS miss, requirements, retries", test_state_machine_rules},
        {"BPP CAS with two handles; BUSY", test_cas_two_handles},
        {"pending BPPs for an EID; loading list; plan", test_pending_query},
        {"results and reports", test_results_and_reports},
        {"eUICC data and one-time keys", test_euicc_data},
        {"audit chain append/verify, append-only", test_audit_chain},
        {"audit chain detects edit/delete/swap/forgery", test_audit_tamper},
    };
    TU_ADD_SUITE("store", tests);
}
