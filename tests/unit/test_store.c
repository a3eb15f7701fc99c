/*
 * Unit tests: the SQLite store. Migrations and pragmas on a temp DB, the statement cache,
 * all-or-nothing and idempotent bundle import, the BPP state machine (every pair, CAS across
 * two connections), the engine's queries, results and reports, eUICC data, and the audit
 * chain against edits made behind the store's back through a raw connection.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
    /* 2 append-only guards of the audit log, 3 keepers of the counts per bundle (schema 3) */
    CU_ASSERT_EQUAL(raw_int(raw, "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'"), 5);
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

/* store_set_write_mutex: a holder thread keeps a write transaction open for 100 ms; the other
 * connection has no busy timeout at all. Without the mutex it fails BUSY at once; with it, its
 * BEGIN waits on the mutex and succeeds when the holder commits. */
typedef struct {
    store_t *s;
    pthread_mutex_t *m;
    int64_t id;
    volatile int begun;
    st_t st;
} holder_t;

static void *hold_write(void *arg) {
    holder_t *h = arg;
    store_change_t ch = STORE_CHANGE_INIT;
    struct timespec ts = {0, 100 * 1000 * 1000};

    ch.reader = "holder";
    h->st = store_tx_begin(h->s);
    __atomic_store_n(&h->begun, 1, __ATOMIC_SEQ_CST);
    if (h->st == ST_OK) {
        h->st = store_bpp_transition(h->s, h->id, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch);
        nanosleep(&ts, NULL);
        if (h->st == ST_OK)
            h->st = store_tx_commit(h->s);
        else
            store_tx_rollback(h->s);
    }
    return NULL;
}

static void test_write_mutex(void) {
    db_t d;
    store_t *b = NULL;
    store_change_t ch = STORE_CHANGE_INIT;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    holder_t h;
    pthread_t t;
    uint8_t tag = 3;
    int64_t ids[4];

    db_open(&d, "store-wmutex");
    CU_ASSERT_EQUAL_FATAL(store_open(d.path, 0, &b), ST_OK);
    for (int i = 0; i < 4; i++)
        ids[i] = bpp_in_state(d.s, &tag, STORE_BPP_PENDING);
    CU_ASSERT_EQUAL(store_set_busy_timeout(d.s, 0), ST_OK);
    CU_ASSERT_EQUAL(store_set_busy_timeout(b, 0), ST_OK);
    ch.reader = "waiter";

    for (int with = 0; with < 2; with++) {
        store_set_write_mutex(d.s, with ? &m : NULL);
        store_set_write_mutex(b, with ? &m : NULL);
        memset(&h, 0, sizeof(h));
        h.s = d.s;
        h.id = ids[2 * with];
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, hold_write, &h), 0);
        while (!__atomic_load_n(&h.begun, __ATOMIC_SEQ_CST))
            sched_yield();
        CU_ASSERT_EQUAL(
            store_bpp_transition(b, ids[2 * with + 1], STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
            with ? ST_OK : ST_E_DB_BUSY);
        pthread_join(t, NULL);
        CU_ASSERT_EQUAL(h.st, ST_OK);
        CU_ASSERT_EQUAL(state_of(b, ids[2 * with]), STORE_BPP_LOADING);
        CU_ASSERT_EQUAL(state_of(b, ids[2 * with + 1]),
                        with ? STORE_BPP_LOADING : STORE_BPP_PENDING);
    }
    /* every path out of a transaction released the mutex: rollback, failed commit, close */
    CU_ASSERT_EQUAL(store_tx_begin(b), ST_OK);
    CU_ASSERT_EQUAL(pthread_mutex_trylock(&m), EBUSY);
    CU_ASSERT_EQUAL(store_tx_begin(b), ST_OK); /* nested: a savepoint, no second lock */
    store_tx_rollback(b);
    CU_ASSERT_EQUAL(pthread_mutex_trylock(&m), EBUSY);
    store_tx_rollback(b);
    CU_ASSERT_EQUAL_FATAL(pthread_mutex_trylock(&m), 0);
    pthread_mutex_unlock(&m);
    CU_ASSERT_EQUAL(store_tx_begin(b), ST_OK);
    store_close(b); /* closing with an open transaction releases it too */
    CU_ASSERT_EQUAL_FATAL(pthread_mutex_trylock(&m), 0);
    pthread_mutex_unlock(&m);
    store_set_write_mutex(d.s, NULL);
    pthread_mutex_destroy(&m);
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

/* ---- schema v2: upgrade, key states, listing, inventory, status queries ---- */

static void put_euicc(store_t *s, unsigned n, uint32_t n_keys) {
    store_euicc_new_t e;
    store_otk_t k;

    memset(&e, 0, sizeof(e));
    make_eid(e.eid, n);
    e.cert_euicc = (const uint8_t *)"euicc-cert";
    e.cert_euicc_len = 10;
    e.cert_eum = (const uint8_t *)"eum-cert";
    e.cert_eum_len = 8;
    e.batch = "lot-7";
    CU_ASSERT_EQUAL(store_euicc_put(s, &e), ST_OK);
    for (uint32_t i = 1; i <= n_keys; i++) {
        memset(&k, 0, sizeof(k));
        k.key_index = i;
        memset(k.otpk, (int)(n * 16 + i), sizeof(k.otpk));
        memset(k.sig, 0x5A, sizeof(k.sig));
        CU_ASSERT_EQUAL(store_otk_put(s, e.eid, &k), ST_OK);
    }
}

static store_otk_state_t key_state(store_t *s, unsigned n, uint32_t key_index) {
    uint8_t eid[STORE_EID_LEN];
    store_otk_t k;
    make_eid(eid, n);
    CU_ASSERT_EQUAL(store_otk_get(s, eid, key_index, &k), ST_OK);
    return k.state;
}

/* The plan of a cached statement (after it ran once), steps joined by "; ". */
static void plan_of(store_t *s, stmt_id_t id, char *plan, size_t cap) {
    sqlite3_stmt *q = NULL;
    char *sql = NULL;

    plan[0] = '\0';
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->stmt[id]);
    CU_ASSERT_FATAL(asprintf(&sql, "EXPLAIN QUERY PLAN %s", sqlite3_sql(s->stmt[id])) > 0);
    CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(store_db(s), sql, -1, &q, NULL), SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        size_t n = strlen(plan);
        snprintf(plan + n, cap - n, "%s; ", (const char *)sqlite3_column_text(q, 3));
    }
    sqlite3_finalize(q);
    free(sql);
}

/* A database written by the schema-1 code path is upgraded in place: rows kept, key states
 * kept, 'requested' possible afterwards, the new indexes there, the audit chain intact. */
static void test_migration_v1_v2(void) {
    char *dir = tu_tmpdir("store-v1v2"), *path = NULL;
    store_t *s = NULL, *ro = NULL;
    store_change_t ch = STORE_CHANGE_INIT;
    store_euicc_t *eu = NULL;
    uint8_t eid[STORE_EID_LEN], rid[STORE_ID_LEN];
    int64_t failed;
    int v = 0;
    char sql[256];
    sqlite3 *raw;

    CU_ASSERT_FATAL(dir && asprintf(&path, "%s/station.db", dir) > 0);
    CU_ASSERT_EQUAL_FATAL(store_open_version(path, 1, &s), ST_OK);
    CU_ASSERT_EQUAL(store_user_version(s, &v), ST_OK);
    CU_ASSERT_EQUAL(v, 1);
    /* eUICC 1: key 1 unused, key 2 bound (a BPP), key 3 consumed; eUICC 2: all keys deleted */
    put_euicc(s, 1, 3);
    put_euicc(s, 2, 2);
    add_one(s, 0xB1, "2.999.10", 1, 2);
    failed = add_one(s, 0xB2, "2.999.10", 1, 3);
    ch.reader = "r1";
    ch.actor = "engine";
    CU_ASSERT_EQUAL(store_bpp_transition(s, failed, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    ch.error = "card pulled";
    CU_ASSERT_EQUAL(store_bpp_transition(s, failed, STORE_BPP_LOADING, STORE_BPP_FAILED, &ch),
                    ST_OK);
    make_eid(eid, 1);
    CU_ASSERT_EQUAL(store_otk_set_state(s, eid, 3, STORE_OTK_CONSUMED), ST_OK);
    make_eid(eid, 2);
    CU_ASSERT_EQUAL(store_otk_delete_all(s, eid, NULL), ST_OK);
    CU_ASSERT_EQUAL(store_audit_append(s, "alice", "import", "bundle:1", NULL, "ok", NULL), ST_OK);
    /* schema 1 knows no 'requested' */
    CU_ASSERT_NOT_EQUAL(sqlite3_exec(store_db(s),
                                     "UPDATE one_time_key SET state = 'requested' "
                                     "WHERE key_index = 1",
                                     NULL, NULL, NULL),
                        SQLITE_OK);
    store_close(s);
    s = NULL;

    /* a read-only handle of this station refuses the old schema (status says: migrate) */
    CU_ASSERT_EQUAL(store_open(path, STORE_OPEN_READONLY, &ro), ST_E_DB_VERSION);
    CU_ASSERT_PTR_NULL(ro);

    /* the upgrade (v1 -> v2 -> v3: the counts per bundle are filled from the rows) */
    CU_ASSERT_EQUAL_FATAL(store_open(path, 0, &s), ST_OK);
    CU_ASSERT_EQUAL(store_user_version(s, &v), ST_OK);
    CU_ASSERT_EQUAL(v, STORE_SCHEMA_VERSION);
    CU_ASSERT_EQUAL(raw_int(store_db(s), "SELECT count(*) FROM bundle_count"), 2);
    CU_ASSERT_EQUAL(raw_int(store_db(s), "SELECT n FROM bundle_count WHERE state = 'failed'"), 1);
    CU_ASSERT_EQUAL(raw_int(store_db(s), "SELECT n FROM bundle_count WHERE state = 'pending'"), 1);
    CU_ASSERT_EQUAL(store_check(s), ST_OK);
    CU_ASSERT_EQUAL(store_audit_verify(s, NULL, NULL), ST_OK);
    raw = raw_open(path);
    CU_ASSERT_EQUAL(raw_int(raw, "SELECT count(*) FROM one_time_key"), 5);
    CU_ASSERT_EQUAL(raw_int(raw, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                 "'one_time_key_v2'"),
                    0);
    CU_ASSERT_EQUAL(raw_int(raw, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                                 "('otk_one_requested', 'bpp_failures') AND type = 'index'"),
                    2);
    CU_ASSERT_EQUAL(raw_int(raw, "SELECT count(*) FROM pragma_table_info('one_time_key') "
                                 "WHERE name IN ('request_id', 'requested_at')"),
                    2);
    sqlite3_close(raw);
    CU_ASSERT_EQUAL(key_state(s, 1, 1), STORE_OTK_UNUSED);
    CU_ASSERT_EQUAL(key_state(s, 1, 2), STORE_OTK_BOUND);
    CU_ASSERT_EQUAL(key_state(s, 1, 3), STORE_OTK_CONSUMED);
    CU_ASSERT_EQUAL(key_state(s, 2, 1), STORE_OTK_DELETED);
    make_eid(eid, 1);
    CU_ASSERT_EQUAL(store_euicc_get(s, eid, &eu), ST_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(eu);
    CU_ASSERT_EQUAL(eu->n_keys, 3);
    CU_ASSERT_EQUAL(eu->keys[0].otpk[0], 17); /* n * 16 + i */
    CU_ASSERT_EQUAL(eu->keys[0].requested_at, 0);
    store_euicc_free(eu);
    /* the new state works on the upgraded data, the old rows still move */
    memset(rid, 0xC1, sizeof(rid));
    CU_ASSERT_EQUAL(store_otk_request(s, eid, 1, rid, false), ST_OK);
    CU_ASSERT_EQUAL(key_state(s, 1, 1), STORE_OTK_REQUESTED);
    ch = (store_change_t)STORE_CHANGE_INIT;
    ch.error = "given up";
    CU_ASSERT_EQUAL(store_bpp_transition(s, failed, STORE_BPP_FAILED, STORE_BPP_DEAD, &ch), ST_OK);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM bpp WHERE state = 'dead'");
    CU_ASSERT_EQUAL(raw_int(store_db(s), sql), 1);
    CU_ASSERT_EQUAL(store_check(s), ST_OK);
    store_close(s);
    s = NULL;
    /* reopening changes nothing; read-only opens now */
    CU_ASSERT_EQUAL_FATAL(store_open(path, STORE_OPEN_READONLY, &ro), ST_OK);
    CU_ASSERT_EQUAL(key_state(ro, 1, 1), STORE_OTK_REQUESTED);
    store_close(ro);
    CU_ASSERT_EQUAL(store_open_version(path, STORE_SCHEMA_VERSION + 1, &s), ST_E_INVAL);
    tu_rmrf(dir);
    free(dir);
    free(path);
}

/* Yield per production shift: windows of `len` seconds from `origin` (status's shift_start /
 * shift_hours); an attempt counts in the shift it started in, also before the origin (floor,
 * not truncation, of a negative offset); newest first, at most `max`. */
static void test_shift_stats(void) {
    db_t d;
    store_shift_list_t l = {NULL, 0};
    const int64_t day = 1700006400; /* 2023-11-15 00:00 UTC */
    const int64_t origin = 6 * 3600, len = 8 * 3600;
    static const struct {
        int64_t at; /* seconds after `day` */
        const char *outcome;
    } att[] = {
        {6 * 3600 - 1, "installed"},    /* 05:59:59 -> the shift of the day before, 22:00 */
        {-2 * 3600, "failed"},          /* 22:00 the day before, same shift */
        {6 * 3600, "installed"},        /* 06:00 -> shift 06:00 */
        {14 * 3600 - 1, "failed"},      /* 13:59:59 -> shift 06:00 */
        {10 * 3600, "interrupted"},     /* shift 06:00 */
        {12 * 3600, NULL},              /* still open: counted as an attempt only */
        {14 * 3600, "installed"},       /* 14:00 -> shift 14:00 */
        {-30 * 24 * 3600, "installed"}, /* a month ago */
    };
    sqlite3 *raw;
    char sql[256];
    int64_t bpp;

    db_open(&d, "store-shifts");
    bpp = add_one(d.s, 0x81, "2.999.10", 81, 1);
    raw = raw_open(d.path);
    for (size_t i = 0; i < sizeof(att) / sizeof(att[0]); i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO attempt(bpp_id, reader, started_at, ended_at, outcome) "
                 "VALUES (%lld, 'r1', %lld, %s, %s%s%s)",
                 (long long)bpp, (long long)(day + att[i].at), att[i].outcome ? "0" : "NULL",
                 att[i].outcome ? "'" : "", att[i].outcome ? att[i].outcome : "NULL",
                 att[i].outcome ? "'" : "");
        CU_ASSERT_EQUAL(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    }
    sqlite3_close(raw);

    CU_ASSERT_EQUAL_FATAL(store_shift_stats(d.s, origin, len, 10, &l), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 4);
    CU_ASSERT_EQUAL(l.v[0].start, day + 14 * 3600);
    CU_ASSERT_EQUAL(l.v[0].attempts, 1);
    CU_ASSERT_EQUAL(l.v[0].installed, 1);
    CU_ASSERT_EQUAL(l.v[1].start, day + 6 * 3600);
    CU_ASSERT_EQUAL(l.v[1].attempts, 4);
    CU_ASSERT_EQUAL(l.v[1].installed, 1);
    CU_ASSERT_EQUAL(l.v[1].failed, 1);
    CU_ASSERT_EQUAL(l.v[1].interrupted, 1);
    CU_ASSERT_EQUAL(l.v[2].start, day - 2 * 3600);
    CU_ASSERT_EQUAL(l.v[2].attempts, 2);
    CU_ASSERT_EQUAL(l.v[2].installed, 1);
    CU_ASSERT_EQUAL(l.v[2].failed, 1);
    CU_ASSERT_EQUAL(l.v[3].start, day - 30 * 24 * 3600 - 2 * 3600);
    CU_ASSERT_EQUAL(l.v[3].attempts, 1);
    /* an origin after some attempts (negative offsets: floor, not truncation): the same
     * windows, since day + 6 h is 6 h plus a whole number of 8 h shifts */
    CU_ASSERT_EQUAL(store_shift_stats(d.s, day + origin, len, 10, &l), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 4);
    CU_ASSERT_EQUAL(l.v[1].start, day + 6 * 3600);
    CU_ASSERT_EQUAL(l.v[2].start, day - 2 * 3600);
    CU_ASSERT_EQUAL(l.v[2].attempts, 2);
    CU_ASSERT_EQUAL(l.v[3].start, day - 30 * 24 * 3600 - 2 * 3600);
    /* at most `max`, the newest */
    CU_ASSERT_EQUAL(store_shift_stats(d.s, origin, len, 2, &l), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 2);
    CU_ASSERT_EQUAL(l.v[1].start, day + 6 * 3600);
    /* one 24 h shift from midnight: the 05:59:59 and 22:00 attempts fall on different days */
    CU_ASSERT_EQUAL(store_shift_stats(d.s, 0, 24 * 3600, 10, &l), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 3);
    CU_ASSERT_EQUAL(l.v[0].start, day);
    CU_ASSERT_EQUAL(l.v[0].attempts, 6);
    CU_ASSERT_EQUAL(l.v[1].start, day - 24 * 3600);
    CU_ASSERT_EQUAL(l.v[1].attempts, 1);
    /* bad arguments */
    CU_ASSERT_EQUAL(store_shift_stats(d.s, origin, 0, 10, &l), ST_E_INVAL);
    CU_ASSERT_EQUAL(store_shift_stats(d.s, origin, len, 0, &l), ST_E_INVAL);
    store_shift_list_free(&l);
    store_shift_list_free(NULL);
    db_done(&d);
}

/* Schema 3: the counts per bundle and state are kept by triggers through inserts, every
 * transition and a rollback; store_bundle_stats reads them; store_check finds a tampered count. */
static int64_t recount(sqlite3 *db, int64_t bundle, const char *state) {
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM bpp WHERE bundle_id = %lld AND state = '%s'",
             (long long)bundle, state);
    return raw_int(db, sql);
}

static void test_bundle_counts(void) {
    db_t d;
    store_stats_list_t l = {NULL, 0};
    store_change_t ch = STORE_CHANGE_INIT;
    store_bundle_new_t b;
    store_bpp_new_t e;
    int64_t rowid = 0, ids[6];
    static const char *const names[] = {"pending", "loading", "installed", "failed", "dead"};
    sqlite3 *raw;

    db_open(&d, "store-counts");
    bundle_hdr(&b, 0x71, "2.999.10");
    b.entry_count = 6;
    CU_ASSERT_EQUAL(store_tx_begin(d.s), ST_OK);
    CU_ASSERT_EQUAL(store_bundle_insert(d.s, &b, &rowid), ST_OK);
    for (uint32_t i = 0; i < 6; i++) {
        bpp_entry(&e, i, 40 + i, 1, 0x71);
        CU_ASSERT_EQUAL(store_bpp_add(d.s, rowid, &e, &ids[i]), ST_OK);
    }
    CU_ASSERT_EQUAL(store_tx_commit(d.s), ST_OK);
    (void)add_one(d.s, 0x72, "2.999.11", 50, 1); /* a second bundle, left pending */
    ch.reader = "r";
    ch.pir = dummy_pir;
    ch.pir_len = sizeof(dummy_pir);
    /* 0: installed, 1: dead, 2: failed, 3: loading, 4-5 pending; one transition rolled back */
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, ids[0], STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, ids[0], STORE_BPP_LOADING, STORE_BPP_INSTALLED, &ch),
                    ST_OK);
    for (int i = 1; i <= 3; i++)
        CU_ASSERT_EQUAL(
            store_bpp_transition(d.s, ids[i], STORE_BPP_PENDING, STORE_BPP_LOADING, &ch), ST_OK);
    ch.error = "pulled";
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, ids[1], STORE_BPP_LOADING, STORE_BPP_FAILED, &ch),
                    ST_OK);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, ids[1], STORE_BPP_FAILED, STORE_BPP_DEAD, &ch),
                    ST_OK);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, ids[2], STORE_BPP_LOADING, STORE_BPP_FAILED, &ch),
                    ST_OK);
    CU_ASSERT_EQUAL(store_tx_begin(d.s), ST_OK);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, ids[4], STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    store_tx_rollback(d.s);
    /* a CAS miss changes nothing either */
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, ids[5], STORE_BPP_LOADING, STORE_BPP_FAILED, &ch),
                    ST_E_STATE);

    CU_ASSERT_EQUAL_FATAL(store_bundle_stats(d.s, &l), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 2);
    CU_ASSERT_EQUAL(l.v[0].bundle_rowid, rowid);
    CU_ASSERT_EQUAL(l.v[0].entry_count, 6);
    CU_ASSERT_EQUAL(l.v[0].count[STORE_BPP_PENDING], 2);
    CU_ASSERT_EQUAL(l.v[0].count[STORE_BPP_LOADING], 1);
    CU_ASSERT_EQUAL(l.v[0].count[STORE_BPP_INSTALLED], 1);
    CU_ASSERT_EQUAL(l.v[0].count[STORE_BPP_FAILED], 1);
    CU_ASSERT_EQUAL(l.v[0].count[STORE_BPP_DEAD], 1);
    CU_ASSERT_EQUAL(l.v[1].count[STORE_BPP_PENDING], 1);
    CU_ASSERT_STRING_EQUAL(l.v[1].smdpf_oid, "2.999.11");
    for (int k = 0; k < 5; k++)
        CU_ASSERT_EQUAL((int64_t)l.v[0].count[k], recount(store_db(d.s), rowid, names[k]));
    store_stats_list_free(&l);
    CU_ASSERT_EQUAL(store_check(d.s), ST_OK);

    /* a count edited behind the station's back, or one missing, is found */
    raw = raw_open(d.path);
    CU_ASSERT_EQUAL(sqlite3_exec(raw, "UPDATE bundle_count SET n = n + 1 WHERE state = 'dead'",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    CU_ASSERT_EQUAL(store_check(d.s), ST_E_DB_CORRUPT);
    CU_ASSERT_EQUAL(sqlite3_exec(raw,
                                 "UPDATE bundle_count SET n = n - 1 WHERE state = 'dead'; "
                                 "DELETE FROM bundle_count WHERE state = 'installed'",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    CU_ASSERT_EQUAL(store_check(d.s), ST_E_DB_CORRUPT);
    sqlite3_close(raw);
    db_done(&d);
}

/* requested: unused -> requested -> bound by an imported BPP; one requested key per eUICC;
 * compare-and-set; release; delete_all takes requested keys too. */
static void test_key_requested(void) {
    db_t d;
    uint8_t eid[STORE_EID_LEN], r1[STORE_ID_LEN], r2[STORE_ID_LEN];
    store_otk_t k;
    int64_t at;
    uint32_t n = 0;

    db_open(&d, "store-requested");
    put_euicc(d.s, 1, 3);
    make_eid(eid, 1);
    memset(r1, 0x01, sizeof(r1));
    memset(r2, 0x02, sizeof(r2));
    CU_ASSERT_EQUAL(store_otk_request(d.s, eid, 1, r1, false), ST_OK);
    CU_ASSERT_EQUAL(store_otk_get(d.s, eid, 1, &k), ST_OK);
    CU_ASSERT_EQUAL(k.state, STORE_OTK_REQUESTED);
    CU_ASSERT_EQUAL(memcmp(k.request_id, r1, STORE_ID_LEN), 0);
    CU_ASSERT(k.requested_at > 0);
    at = k.requested_at;
    CU_ASSERT_STRING_EQUAL(store_otk_state_name(STORE_OTK_REQUESTED), "requested");
    /* never a second key of the eUICC; never the same key twice without resend */
    CU_ASSERT_EQUAL(store_otk_request(d.s, eid, 2, r2, false), ST_E_CONFLICT);
    CU_ASSERT_EQUAL(key_state(d.s, 1, 2), STORE_OTK_UNUSED);
    CU_ASSERT_EQUAL(store_otk_request(d.s, eid, 1, r2, false), ST_E_STATE);
    CU_ASSERT_EQUAL(store_otk_request(d.s, eid, 2, r2, true), ST_E_STATE); /* not requested */
    CU_ASSERT_EQUAL(store_otk_request(d.s, eid, 9, r2, false), ST_E_NOENT);
    /* a re-send names the new request, keeps the first time */
    CU_ASSERT_EQUAL(store_otk_request(d.s, eid, 1, r2, true), ST_OK);
    CU_ASSERT_EQUAL(store_otk_get(d.s, eid, 1, &k), ST_OK);
    CU_ASSERT_EQUAL(memcmp(k.request_id, r2, STORE_ID_LEN), 0);
    CU_ASSERT_EQUAL(k.requested_at, at);
    /* release only by the request that holds it */
    CU_ASSERT_EQUAL(store_otk_release(d.s, eid, 1, r1), ST_E_STATE);
    CU_ASSERT_EQUAL(store_otk_release(d.s, eid, 1, r2), ST_OK);
    CU_ASSERT_EQUAL(store_otk_get(d.s, eid, 1, &k), ST_OK);
    CU_ASSERT_EQUAL(k.state, STORE_OTK_UNUSED);
    CU_ASSERT_EQUAL(k.requested_at, 0);
    CU_ASSERT_EQUAL(store_otk_request(d.s, eid, 2, r1, false), ST_OK);
    /* the raw setter cannot make a key requested (it would have no request) */
    CU_ASSERT_EQUAL(store_otk_set_state(d.s, eid, 3, STORE_OTK_REQUESTED), ST_E_INVAL);
    /* the schema holds it too */
    CU_ASSERT_NOT_EQUAL(sqlite3_exec(store_db(d.s),
                                     "UPDATE one_time_key SET state = 'requested', "
                                     "request_id = NULL WHERE key_index = 3",
                                     NULL, NULL, NULL),
                        SQLITE_OK);
    /* a BPP for the requested key binds it */
    add_one(d.s, 0xC1, "2.999.10", 1, 2);
    CU_ASSERT_EQUAL(store_otk_get(d.s, eid, 2, &k), ST_OK);
    CU_ASSERT_EQUAL(k.state, STORE_OTK_BOUND);
    CU_ASSERT_EQUAL(memcmp(k.request_id, r1, STORE_ID_LEN), 0); /* history kept */
    /* another key requested, then DeleteOneTimeKeys */
    CU_ASSERT_EQUAL(store_otk_request(d.s, eid, 1, r2, false), ST_OK);
    CU_ASSERT_EQUAL(store_otk_delete_all(d.s, eid, &n), ST_OK);
    CU_ASSERT_EQUAL(n, 3); /* requested 1, bound 2, unused 3 */
    CU_ASSERT_EQUAL(key_state(d.s, 1, 1), STORE_OTK_DELETED);
    CU_ASSERT_EQUAL(store_check(d.s), ST_OK);
    db_done(&d);
}

typedef struct {
    store_euicc_info_t v[16];
    size_t n;
    size_t stop_after; /* 0: never */
} listed_t;

static st_t collect_euicc(void *ud, const store_euicc_info_t *e) {
    listed_t *l = ud;
    if (l->n < 16)
        l->v[l->n++] = *e;
    return l->stop_after && l->n >= l->stop_after ? ST_E_CANCELLED : ST_OK;
}

static unsigned eid_n(const store_euicc_info_t *e) {
    return (unsigned)e->eid[14] << 8 | e->eid[15];
}

/*
 * eUICCs 1..6:
 *   1  keys 1,2 unused                         -> unrequested
 *   2  key 1 requested, key 2 unused           -> requested
 *   3  key 1 bound (pending BPP, type "test")  -> with a BPP
 *   4  key 1 consumed (installed)              -> with a BPP
 *   5  keys deleted                            -> no usable key
 *   6  no keys, a BPP held for it (type "test")-> with a BPP (no key says so)
 */
static void listing_db(db_t *d) {
    store_change_t ch = STORE_CHANGE_INIT;
    uint8_t eid[STORE_EID_LEN], rid[STORE_ID_LEN];
    int64_t id;

    db_open(d, "store-listing");
    for (unsigned n = 1; n <= 6; n++)
        put_euicc(d->s, n, n == 6 ? 0 : 2);
    memset(rid, 0x77, sizeof(rid));
    make_eid(eid, 2);
    CU_ASSERT_EQUAL(store_otk_request(d->s, eid, 1, rid, false), ST_OK);
    add_one(d->s, 0xD3, "2.999.10", 3, 1);
    id = add_one(d->s, 0xD4, "2.999.10", 4, 1);
    ch.reader = "r1";
    CU_ASSERT_EQUAL(store_bpp_transition(d->s, id, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    ch.pir = dummy_pir;
    ch.pir_len = sizeof(dummy_pir);
    CU_ASSERT_EQUAL(store_bpp_transition(d->s, id, STORE_BPP_LOADING, STORE_BPP_INSTALLED, &ch),
                    ST_OK);
    make_eid(eid, 5);
    CU_ASSERT_EQUAL(store_otk_delete_all(d->s, eid, NULL), ST_OK);
    add_one(d->s, 0xD6, "2.999.10", 6, 1);
}

static void test_euicc_listing(void) {
    db_t d;
    store_euicc_filter_t f;
    store_inventory_t inv;
    listed_t l;
    uint8_t list[4][STORE_EID_LEN];
    char plan[512];

    listing_db(&d);
    /* every eUICC, ascending, classified */
    memset(&l, 0, sizeof(l));
    CU_ASSERT_EQUAL(store_euicc_each(d.s, NULL, collect_euicc, &l), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 6);
    for (unsigned i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(eid_n(&l.v[i]), i + 1);
    CU_ASSERT_EQUAL(l.v[0].first_unused, 1);
    CU_ASSERT_EQUAL(l.v[0].first_requested, -1);
    CU_ASSERT_EQUAL(l.v[0].keys[STORE_OTK_UNUSED], 2);
    CU_ASSERT_FALSE(l.v[0].has_bpp);
    CU_ASSERT_STRING_EQUAL(l.v[0].batch, "lot-7");
    CU_ASSERT_EQUAL(l.v[1].first_requested, 1);
    CU_ASSERT_EQUAL(l.v[1].first_unused, 2);
    CU_ASSERT_EQUAL(l.v[1].keys[STORE_OTK_REQUESTED], 1);
    CU_ASSERT(l.v[2].has_bpp);
    CU_ASSERT_EQUAL(l.v[2].keys[STORE_OTK_BOUND], 1);
    CU_ASSERT_EQUAL(l.v[2].n_bpps, 1);
    CU_ASSERT(l.v[3].has_bpp);
    CU_ASSERT_EQUAL(l.v[3].keys[STORE_OTK_CONSUMED], 1);
    CU_ASSERT_FALSE(l.v[4].has_bpp);
    CU_ASSERT_EQUAL(l.v[4].keys[STORE_OTK_DELETED], 2);
    CU_ASSERT_EQUAL(l.v[4].first_unused, -1);
    CU_ASSERT(l.v[5].has_bpp); /* a held BPP, no key */
    CU_ASSERT_EQUAL(l.v[5].n_keys, 0);

    /* "has an unused key and no BPP yet" (and no request), and with outstanding requests */
    memset(&f, 0, sizeof(f));
    f.want = STORE_EUICC_UNREQUESTED;
    memset(&l, 0, sizeof(l));
    CU_ASSERT_EQUAL(store_euicc_each(d.s, &f, collect_euicc, &l), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 1);
    CU_ASSERT_EQUAL(eid_n(&l.v[0]), 1);
    f.want = STORE_EUICC_REQUESTABLE;
    memset(&l, 0, sizeof(l));
    CU_ASSERT_EQUAL(store_euicc_each(d.s, &f, collect_euicc, &l), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 2);
    CU_ASSERT_EQUAL(eid_n(&l.v[1]), 2);

    /* a range; a limit */
    memset(&f, 0, sizeof(f));
    f.has_range = true;
    make_eid(f.from, 2);
    make_eid(f.to, 4);
    memset(&l, 0, sizeof(l));
    CU_ASSERT_EQUAL(store_euicc_each(d.s, &f, collect_euicc, &l), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 3);
    CU_ASSERT_EQUAL(eid_n(&l.v[0]), 2);
    CU_ASSERT_EQUAL(eid_n(&l.v[2]), 4);
    plan_of(d.s, STMT_EUICC_EACH, plan, sizeof(plan));
    if (!strstr(plan, "SEARCH e USING") || strstr(plan, "TEMP B-TREE"))
        fprintf(stderr, "\nplan: %s\n", plan);
    CU_ASSERT_PTR_NOT_NULL(strstr(plan, "SEARCH e USING")); /* the EID index, no scan */
    CU_ASSERT_PTR_NULL(strstr(plan, "TEMP B-TREE"));        /* no sort */
    f.limit = 2;
    memset(&l, 0, sizeof(l));
    CU_ASSERT_EQUAL(store_euicc_each(d.s, &f, collect_euicc, &l), ST_OK);
    CU_ASSERT_EQUAL(l.n, 2);
    f.has_range = true;
    make_eid(f.from, 5);
    make_eid(f.to, 1);
    CU_ASSERT_EQUAL(store_euicc_each(d.s, &f, collect_euicc, &l), ST_E_INVAL);

    /* a list: any order, duplicates once, unknown EIDs absent, intersected with the range */
    memset(&f, 0, sizeof(f));
    make_eid(list[0], 5);
    make_eid(list[1], 99);
    make_eid(list[2], 1);
    make_eid(list[3], 5);
    f.eids = (const uint8_t(*)[STORE_EID_LEN])list;
    f.n_eids = 4;
    memset(&l, 0, sizeof(l));
    CU_ASSERT_EQUAL(store_euicc_each(d.s, &f, collect_euicc, &l), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 2);
    CU_ASSERT_EQUAL(eid_n(&l.v[0]), 1);
    CU_ASSERT_EQUAL(eid_n(&l.v[1]), 5);
    f.has_range = true;
    make_eid(f.from, 2);
    make_eid(f.to, 9);
    memset(&l, 0, sizeof(l));
    CU_ASSERT_EQUAL(store_euicc_each(d.s, &f, collect_euicc, &l), ST_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 1);
    CU_ASSERT_EQUAL(eid_n(&l.v[0]), 5);

    /* profile type (known once a BPP names the eUICC) */
    memset(&f, 0, sizeof(f));
    f.profile_type = "test";
    memset(&l, 0, sizeof(l));
    CU_ASSERT_EQUAL(store_euicc_each(d.s, &f, collect_euicc, &l), ST_OK);
    CU_ASSERT_EQUAL(l.n, 3); /* 3, 4, 6 */
    f.profile_type = "other";
    memset(&l, 0, sizeof(l));
    CU_ASSERT_EQUAL(store_euicc_each(d.s, &f, collect_euicc, &l), ST_OK);
    CU_ASSERT_EQUAL(l.n, 0);

    /* a callback's status stops the walk and comes back */
    memset(&l, 0, sizeof(l));
    l.stop_after = 2;
    CU_ASSERT_EQUAL(store_euicc_each(d.s, NULL, collect_euicc, &l), ST_E_CANCELLED);
    CU_ASSERT_EQUAL(l.n, 2);

    /* inventory: every eUICC in exactly one group */
    CU_ASSERT_EQUAL(store_inventory(d.s, &inv), ST_OK);
    CU_ASSERT_EQUAL(inv.euiccs, 6);
    CU_ASSERT_EQUAL(inv.euiccs_with_bpp, 3);
    CU_ASSERT_EQUAL(inv.euiccs_requested, 1);
    CU_ASSERT_EQUAL(inv.euiccs_unrequested, 1);
    CU_ASSERT_EQUAL(inv.euiccs_no_key, 1);
    CU_ASSERT_EQUAL(inv.keys, 10);
    CU_ASSERT_EQUAL(inv.keys_by_state[STORE_OTK_UNUSED], 5); /* 1:2, 2:1, 3:1, 4:1 */
    CU_ASSERT_EQUAL(inv.keys_by_state[STORE_OTK_REQUESTED], 1);
    CU_ASSERT_EQUAL(inv.keys_by_state[STORE_OTK_BOUND], 1);
    CU_ASSERT_EQUAL(inv.keys_by_state[STORE_OTK_CONSUMED], 1);
    CU_ASSERT_EQUAL(inv.keys_by_state[STORE_OTK_DELETED], 2);
    db_done(&d);
}

/* The last failed/dead BPPs with their reason and reader; attempts per reader. */
static void test_failures_and_readers(void) {
    db_t d;
    store_change_t ch = STORE_CHANGE_INIT;
    store_failure_list_t fl = {NULL, 0};
    store_reader_list_t rl = {NULL, 0};
    int64_t id[5];
    char plan[512];

    db_open(&d, "store-failures");
    for (unsigned i = 0; i < 5; i++)
        id[i] = add_one(d.s, (uint8_t)(0xE0 + i), "2.999.10", 10 + i, 1);
    CU_ASSERT_EQUAL(store_bpp_failures(d.s, 10, &fl), ST_OK);
    CU_ASSERT_EQUAL(fl.n, 0);
    /* 0: installed on r1; 1: failed on r2 (code 7); 2: failed on r1 then dead;
     * 3: interrupted on r2, back to pending; 4: pending */
    ch.reader = "r1";
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id[0], STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    ch.pir = dummy_pir;
    ch.pir_len = sizeof(dummy_pir);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id[0], STORE_BPP_LOADING, STORE_BPP_INSTALLED, &ch),
                    ST_OK);
    ch = (store_change_t)STORE_CHANGE_INIT;
    ch.reader = "r2";
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id[1], STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    ch.error = "card mute";
    ch.fpa_error_code = 7;
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id[1], STORE_BPP_LOADING, STORE_BPP_FAILED, &ch),
                    ST_OK);
    ch = (store_change_t)STORE_CHANGE_INIT;
    ch.reader = "r1";
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id[2], STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    ch.error = "euicc error";
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id[2], STORE_BPP_LOADING, STORE_BPP_FAILED, &ch),
                    ST_OK);
    ch = (store_change_t)STORE_CHANGE_INIT;
    ch.error = "retries exhausted";
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id[2], STORE_BPP_FAILED, STORE_BPP_DEAD, &ch), ST_OK);
    ch = (store_change_t)STORE_CHANGE_INIT;
    ch.reader = "r2";
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id[3], STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                    ST_OK);
    CU_ASSERT_EQUAL(store_bpp_transition(d.s, id[3], STORE_BPP_LOADING, STORE_BPP_PENDING, &ch),
                    ST_OK);
    /* the dead one is the newer (same second: the higher id breaks the tie) */
    CU_ASSERT_EQUAL(sqlite3_exec(store_db(d.s),
                                 "UPDATE bpp SET updated_at = updated_at - 60 "
                                 "WHERE state = 'failed'",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    CU_ASSERT_EQUAL(store_bpp_failures(d.s, 10, &fl), ST_OK);
    CU_ASSERT_EQUAL_FATAL(fl.n, 2);
    CU_ASSERT_EQUAL(fl.v[0].bpp.id, id[2]);
    CU_ASSERT_EQUAL(fl.v[0].bpp.state, STORE_BPP_DEAD);
    CU_ASSERT_STRING_EQUAL(fl.v[0].bpp.last_error, "retries exhausted");
    CU_ASSERT_STRING_EQUAL(fl.v[0].reader, "r1");
    CU_ASSERT_EQUAL(fl.v[0].fpa_error_code, -1);
    CU_ASSERT_EQUAL(fl.v[1].bpp.id, id[1]);
    CU_ASSERT_EQUAL(fl.v[1].bpp.state, STORE_BPP_FAILED);
    CU_ASSERT_STRING_EQUAL(fl.v[1].bpp.last_error, "card mute");
    CU_ASSERT_STRING_EQUAL(fl.v[1].reader, "r2");
    CU_ASSERT_EQUAL(fl.v[1].fpa_error_code, 7);
    CU_ASSERT_EQUAL(store_bpp_failures(d.s, 1, &fl), ST_OK);
    CU_ASSERT_EQUAL(fl.n, 1);
    store_failure_list_free(&fl);
    plan_of(d.s, STMT_BPP_FAILURES, plan, sizeof(plan));
    if (!strstr(plan, "bpp_failures"))
        fprintf(stderr, "\nplan: %s\n", plan);
    CU_ASSERT_PTR_NOT_NULL(strstr(plan, "USING INDEX bpp_failures"));

    CU_ASSERT_EQUAL(store_reader_stats(d.s, &rl), ST_OK);
    CU_ASSERT_EQUAL_FATAL(rl.n, 2);
    CU_ASSERT_STRING_EQUAL(rl.v[0].reader, "r1");
    CU_ASSERT_EQUAL(rl.v[0].attempts, 2);
    CU_ASSERT_EQUAL(rl.v[0].installed, 1);
    CU_ASSERT_EQUAL(rl.v[0].failed, 1);
    CU_ASSERT_EQUAL(rl.v[0].interrupted, 0);
    CU_ASSERT_STRING_EQUAL(rl.v[1].reader, "r2");
    CU_ASSERT_EQUAL(rl.v[1].attempts, 2);
    CU_ASSERT_EQUAL(rl.v[1].installed, 0);
    CU_ASSERT_EQUAL(rl.v[1].failed, 1);
    CU_ASSERT_EQUAL(rl.v[1].interrupted, 1);
    store_reader_list_free(&rl);
    store_reader_list_free(NULL);
    store_failure_list_free(NULL);
    db_done(&d);
}

/* report --since: only results in [since, now] are claimed; the others stay for a later
 * report; every result ends up in exactly one report. */
static void test_report_since(void) {
    db_t d;
    store_change_t ch = STORE_CHANGE_INIT;
    store_report_t rep;
    results_t r;
    uint8_t rid[STORE_ID_LEN];
    int64_t id[4], now = store_now();
    uint64_t n = 0;
    char sql[160];

    db_open(&d, "store-since");
    for (unsigned i = 0; i < 4; i++) {
        id[i] = add_one(d.s, (uint8_t)(0xF0 + i), "2.999.10", 20 + i, 1);
        ch = (store_change_t)STORE_CHANGE_INIT;
        ch.reader = "r1";
        CU_ASSERT_EQUAL(store_bpp_transition(d.s, id[i], STORE_BPP_PENDING, STORE_BPP_LOADING, &ch),
                        ST_OK);
        ch.pir = dummy_pir;
        ch.pir_len = sizeof(dummy_pir);
        CU_ASSERT_EQUAL(
            store_bpp_transition(d.s, id[i], STORE_BPP_LOADING, STORE_BPP_INSTALLED, &ch), ST_OK);
    }
    /* result times: 0 two days ago, 1 one hour ago, 2 now, 3 in the future (clock skew) */
    snprintf(sql, sizeof(sql), "UPDATE result SET at = %lld WHERE bpp_id = %lld",
             (long long)(now - 172800), (long long)id[0]);
    CU_ASSERT_EQUAL(sqlite3_exec(store_db(d.s), sql, NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof(sql), "UPDATE result SET at = %lld WHERE bpp_id = %lld",
             (long long)(now - 3600), (long long)id[1]);
    CU_ASSERT_EQUAL(sqlite3_exec(store_db(d.s), sql, NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof(sql), "UPDATE result SET at = %lld WHERE bpp_id = %lld",
             (long long)(now + 86400), (long long)id[3]);
    CU_ASSERT_EQUAL(sqlite3_exec(store_db(d.s), sql, NULL, NULL, NULL), SQLITE_OK);

    /* nothing since tomorrow */
    memset(rid, 0x31, sizeof(rid));
    CU_ASSERT_EQUAL(store_report_create_since(d.s, rid, "2.999.10", "s0.ifppl", now + 3600, &rep),
                    ST_E_NOENT);
    CU_ASSERT_EQUAL(store_report_get(d.s, rid, &rep), ST_E_NOENT);
    /* since one day ago: results 1 and 2 (exactly at the bound counts) */
    memset(rid, 0x32, sizeof(rid));
    CU_ASSERT_EQUAL(store_report_create_since(d.s, rid, "2.999.10", "s1.ifppl", now - 3600, &rep),
                    ST_OK);
    CU_ASSERT_EQUAL(rep.n_entries, 2);
    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(store_report_results(d.s, rep.rowid, collect_result, &r), ST_OK);
    CU_ASSERT_EQUAL(r.n, 2);
    CU_ASSERT_EQUAL(r.last.bpp_id, id[2]);
    CU_ASSERT_EQUAL(store_results_unreported_count(d.s, "2.999.10", &n), ST_OK);
    CU_ASSERT_EQUAL(n, 2);
    /* the same window again: nothing left in it */
    memset(rid, 0x33, sizeof(rid));
    CU_ASSERT_EQUAL(store_report_create_since(d.s, rid, "2.999.10", "s2.ifppl", now - 3600, &rep),
                    ST_E_NOENT);
    /* without a window: the old one and the future one */
    memset(rid, 0x34, sizeof(rid));
    CU_ASSERT_EQUAL(store_report_create(d.s, rid, "2.999.10", "all.ifppl", &rep), ST_OK);
    CU_ASSERT_EQUAL(rep.n_entries, 2);
    CU_ASSERT_EQUAL(store_results_unreported_count(d.s, "2.999.10", &n), ST_OK);
    CU_ASSERT_EQUAL(n, 0);
    /* each result in exactly one report */
    CU_ASSERT_EQUAL(raw_int(store_db(d.s), "SELECT count(*) FROM report_entry"), 4);
    CU_ASSERT_EQUAL(raw_int(store_db(d.s), "SELECT count(DISTINCT result_id) FROM report_entry"),
                    4);
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
        {"write mutex: sibling connections queue instead of BUSY", test_write_mutex},
        {"pending BPPs for an EID; loading list; plan", test_pending_query},
        {"results and reports", test_results_and_reports},
        {"eUICC data and one-time keys", test_euicc_data},
        {"schema v1 -> v3 upgrade of a v1 database", test_migration_v1_v2},
        {"counts per bundle and state kept by triggers; checked", test_bundle_counts},
        {"yield per production shift", test_shift_stats},
        {"one-time key requested: CAS, one per eUICC, release, bind", test_key_requested},
        {"eUICC listing filters; inventory counts", test_euicc_listing},
        {"last failed/dead BPPs; attempts per reader", test_failures_and_readers},
        {"report claim since a time; each result once", test_report_since},
        {"audit chain append/verify, append-only", test_audit_chain},
        {"audit chain detects edit/delete/swap/forgery", test_audit_tamper},
    };
    TU_ADD_SUITE("store", tests);
}
