/*
 * audit.c - the append-only, hash-chained audit log (DESIGN §8).
 *
 * hash(n) = SHA-256(hash(n-1) || canonical(row n)), hash(0) = 32 zero bytes, where
 *
 *   canonical = "ifpp-audit-v1" 00 || seq (8, BE) || ts (8, BE, two's complement)
 *               || field(actor) || field(action) || field(object) || field(old_value)
 *               || field(new_value) || field(reason)
 *   field(NULL) = 00;  field(s) = 01 || len (4, BE) || UTF-8 bytes
 *
 * Sequence numbers start at 1 and have no gaps (AUTOINCREMENT never reuses one; a rolled-back
 * append rolls back sqlite_sequence too). Triggers refuse UPDATE and DELETE. Someone with the
 * file can still drop the triggers and rewrite the tail and every hash after an edit: the chain
 * makes edits evident to anyone who kept an older head hash (reports could carry it), not
 * impossible.
 */
#include <inttypes.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/log.h"
#include "store_internal.h"

#define AUDIT_DOMAIN "ifpp-audit-v1"

typedef struct {
    uint64_t seq;
    int64_t ts;
    const char *f[6]; /* actor, action, object, old_value, new_value, reason */
} audit_row_t;

static const char sql_audit_last[] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
static const char sql_audit_insert[] =
    "INSERT INTO audit(seq, ts, actor, action, object, old_value, new_value, reason, "
    "prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char sql_audit_all[] = "SELECT seq, ts, actor, action, object, old_value, "
                                    "new_value, reason, prev_hash, hash FROM audit ORDER BY seq";
static const char sql_audit_sequence[] = "SELECT seq FROM sqlite_sequence WHERE name = 'audit'";

static void be64(uint8_t out[8], uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

static st_t audit_hash(const uint8_t prev[STORE_HASH_LEN], const audit_row_t *r,
                       uint8_t out[STORE_HASH_LEN]) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t num[8];
    unsigned int len = 0;
    int ok;
    st_t st = ST_OK;

    if (!ctx)
        return ST_E_NOMEM;
    ok = EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, prev, STORE_HASH_LEN)
         && EVP_DigestUpdate(ctx, AUDIT_DOMAIN, sizeof(AUDIT_DOMAIN));
    be64(num, r->seq);
    ok = ok && EVP_DigestUpdate(ctx, num, sizeof(num));
    be64(num, (uint64_t)r->ts);
    ok = ok && EVP_DigestUpdate(ctx, num, sizeof(num));
    for (size_t i = 0; ok && i < sizeof(r->f) / sizeof(r->f[0]); i++) {
        uint8_t hdr[5] = {0};
        size_t n = r->f[i] ? strlen(r->f[i]) : 0;
        if (!r->f[i]) {
            ok = EVP_DigestUpdate(ctx, hdr, 1);
            continue;
        }
        if (n > UINT32_MAX) {
            st = ST_E_TOO_LARGE;
            break;
        }
        hdr[0] = 1;
        hdr[1] = (uint8_t)(n >> 24);
        hdr[2] = (uint8_t)(n >> 16);
        hdr[3] = (uint8_t)(n >> 8);
        hdr[4] = (uint8_t)n;
        ok = EVP_DigestUpdate(ctx, hdr, sizeof(hdr)) && EVP_DigestUpdate(ctx, r->f[i], n);
    }
    if (st == ST_OK) {
        ok = ok && EVP_DigestFinal_ex(ctx, out, &len) && len == STORE_HASH_LEN;
        if (!ok)
            st = st_from_openssl("audit hash");
    }
    EVP_MD_CTX_free(ctx);
    return st;
}

st_t audit_append_locked(store_t *s, const char *actor, const char *action, const char *object,
                         const char *old_value, const char *new_value, const char *reason) {
    sqlite3_stmt *q = NULL;
    uint8_t prev[STORE_HASH_LEN] = {0}, hash[STORE_HASH_LEN];
    audit_row_t r = {0, 0, {actor, action, object, old_value, new_value, reason}};
    bool row = false;
    st_t st;

    st = stmt_get(s, STMT_AUDIT_LAST, sql_audit_last, &q);
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && row) {
        r.seq = (uint64_t)sqlite3_column_int64(q, 0);
        st = col_blob_exact(q, 1, prev, sizeof(prev));
    }
    stmt_put(q);
    if (st != ST_OK)
        return st;
    r.seq++;
    r.ts = store_now();
    st = audit_hash(prev, &r, hash);
    if (st != ST_OK)
        return st;
    return STMT_RUN(s, STMT_AUDIT_INSERT, sql_audit_insert, SA_I(r.seq), SA_I(r.ts), SA_T(actor),
                    SA_T(action), SA_T(object), SA_T(old_value), SA_T(new_value), SA_T(reason),
                    SA_B(prev, sizeof(prev)), SA_B(hash, sizeof(hash)));
}

st_t store_audit_append(store_t *s, const char *actor, const char *action, const char *object,
                        const char *old_value, const char *new_value, const char *reason) {
    st_t st;

    if (!s)
        return ST_E_INVAL;
    st = check_text("audit actor", actor, STORE_NAME_MAX, true);
    if (st == ST_OK)
        st = check_text("audit action", action, STORE_NAME_MAX, true);
    if (st != ST_OK)
        return st;
    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;
    st = audit_append_locked(s, actor, action, object, old_value, new_value, reason);
    if (st == ST_OK)
        return store_tx_commit(s);
    store_tx_rollback(s);
    return st;
}

/* Reads the next row into r (text pointers valid until the next step) and its hashes. */
static st_t audit_read(sqlite3_stmt *q, audit_row_t *r, uint8_t prev[STORE_HASH_LEN],
                       uint8_t hash[STORE_HASH_LEN]) {
    st_t st;

    r->seq = (uint64_t)sqlite3_column_int64(q, 0);
    r->ts = sqlite3_column_int64(q, 1);
    for (int i = 0; i < 6; i++)
        r->f[i] = (const char *)sqlite3_column_text(q, 2 + i);
    st = col_blob_exact(q, 8, prev, STORE_HASH_LEN);
    if (st == ST_OK)
        st = col_blob_exact(q, 9, hash, STORE_HASH_LEN);
    return st;
}

st_t store_audit_verify(store_t *s, uint64_t *first_bad_seq, uint64_t *n_rows) {
    sqlite3_stmt *q = NULL;
    uint8_t chain[STORE_HASH_LEN] = {0}, prev[STORE_HASH_LEN], hash[STORE_HASH_LEN],
            want[STORE_HASH_LEN];
    uint64_t expect = 1, n = 0, bad = 0;
    audit_row_t r;
    bool row = false, own_tx;
    st_t st;

    if (first_bad_seq)
        *first_bad_seq = 0;
    if (n_rows)
        *n_rows = 0;
    if (!s)
        return ST_E_INVAL;
    /* One read transaction: the chain and sqlite_sequence come from the same snapshot. */
    own_tx = sqlite3_get_autocommit(s->db) != 0;
    if (own_tx) {
        st = store_exec(s, "BEGIN");
        if (st != ST_OK)
            return st;
    }
    st = stmt_get(s, STMT_AUDIT_ALL, sql_audit_all, &q);
    while (st == ST_OK && !bad && (st = stmt_step(s, q, &row)) == ST_OK && row) {
        n++;
        /* A row that cannot be read counts as altered. */
        if (audit_read(q, &r, prev, hash) != ST_OK || r.seq != expect
            || memcmp(prev, chain, STORE_HASH_LEN) != 0 || audit_hash(prev, &r, want) != ST_OK
            || memcmp(want, hash, STORE_HASH_LEN) != 0) {
            bad = expect;
            st_log(ST_LOG_ERR, "store: audit chain broken at seq %" PRIu64, bad);
            break;
        }
        memcpy(chain, hash, STORE_HASH_LEN);
        expect++;
    }
    stmt_put(q);
    q = NULL;
    if (st == ST_OK && !bad) {
        /* Rows cut off the end leave sqlite_sequence above the last seq. */
        st = stmt_get(s, STMT_AUDIT_SEQUENCE, sql_audit_sequence, &q);
        if (st == ST_OK)
            st = stmt_step(s, q, &row);
        if (st == ST_OK && (row ? (uint64_t)sqlite3_column_int64(q, 0) : 0) != expect - 1) {
            bad = expect;
            st_log(ST_LOG_ERR,
                   "store: audit log ends at seq %" PRIu64 " but seq %" PRIu64 " was written",
                   expect - 1, row ? (uint64_t)sqlite3_column_int64(q, 0) : 0);
        }
        stmt_put(q);
    }
    if (own_tx)
        (void)store_exec(s, "COMMIT");
    if (n_rows)
        *n_rows = n;
    if (st != ST_OK)
        return st;
    if (bad) {
        if (first_bad_seq)
            *first_bad_seq = bad;
        return ST_E_DB_CORRUPT;
    }
    return ST_OK;
}
