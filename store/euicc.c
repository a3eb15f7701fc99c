/*
 * euicc.c - eUICC data (Esed2: EID, CERT.EUICC, EUICCInfo2), EUM certificates deduplicated by
 * SHA-256, and the one-time keys with their state.
 *
 * One-time key states: unused -> bound (a BPP for it imported) -> consumed (that BPP
 * installed); unused/bound -> deleted (DeleteOneTimeKeys). A key imported after its BPP (Path
 * A: the eUICC data may come late) starts in the state the BPPs imply.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/log.h"
#include "store_internal.h"

static const char *const otk_state_names[] = {
    [STORE_OTK_UNUSED] = "unused",
    [STORE_OTK_BOUND] = "bound",
    [STORE_OTK_CONSUMED] = "consumed",
    [STORE_OTK_DELETED] = "deleted",
};
#define N_OTK_STATES (sizeof(otk_state_names) / sizeof(otk_state_names[0]))

const char *store_otk_state_name(store_otk_state_t st) {
    if ((unsigned)st >= N_OTK_STATES)
        return "?";
    return otk_state_names[st];
}

st_t otk_state_parse(const char *name, store_otk_state_t *out) {
    for (unsigned i = 0; name && i < N_OTK_STATES; i++) {
        if (strcmp(name, otk_state_names[i]) == 0) {
            *out = (store_otk_state_t)i;
            return ST_OK;
        }
    }
    st_log(ST_LOG_ERR, "store: unknown one-time key state '%s'", name ? name : "(null)");
    return ST_E_DB_CORRUPT;
}

static const char sql_eum_put[] =
    "INSERT INTO eum_cert(sha256, cert, imported_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT(sha256) DO NOTHING";
static const char sql_eum_id[] = "SELECT id FROM eum_cert WHERE sha256 = ?1";
static const char sql_euicc_find[] = "SELECT cert_euicc, eum_cert_id FROM euicc WHERE eid = ?1";
static const char sql_euicc_insert[] =
    "INSERT INTO euicc(eid, cert_euicc, eum_cert_id, euicc_info2, batch, imported_at) "
    "VALUES (?1, ?2, ?3, ?4, coalesce(?5, ''), ?6)";
static const char sql_euicc_get[] =
    "SELECT e.cert_euicc, c.cert, e.euicc_info2, e.batch, e.imported_at "
    "FROM euicc e JOIN eum_cert c ON c.id = e.eum_cert_id WHERE e.eid = ?1";
static const char sql_otk_find[] =
    "SELECT otpk, signature FROM one_time_key WHERE eid = ?1 AND key_index = ?2";
static const char sql_otk_insert[] =
    "INSERT INTO one_time_key(eid, key_index, otpk, signature, state, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, CASE "
    "WHEN EXISTS (SELECT 1 FROM bpp WHERE eid = ?1 AND key_index = ?2 AND state = 'installed') "
    "THEN 'consumed' "
    "WHEN EXISTS (SELECT 1 FROM bpp WHERE eid = ?1 AND key_index = ?2 AND state <> 'dead') "
    "THEN 'bound' ELSE 'unused' END, ?5)";
static const char sql_otk_get[] =
    "SELECT key_index, otpk, signature, state FROM one_time_key WHERE eid = ?1 AND key_index = ?2";
static const char sql_otk_list[] = "SELECT key_index, otpk, signature, state FROM one_time_key "
                                   "WHERE eid = ?1 ORDER BY key_index";
static const char sql_otk_set[] = "UPDATE one_time_key SET state = ?3, updated_at = ?4 "
                                  "WHERE eid = ?1 AND key_index = ?2";
static const char sql_otk_delete_all[] =
    "UPDATE one_time_key SET state = 'deleted', updated_at = ?2 "
    "WHERE eid = ?1 AND state IN ('unused', 'bound')";

static st_t sha256(const uint8_t *p, size_t n, uint8_t out[STORE_HASH_LEN]) {
    unsigned int len = 0;
    if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != STORE_HASH_LEN)
        return st_from_openssl("SHA-256");
    return ST_OK;
}

/* The eum_cert row of `der`, inserted when new. Inside a transaction. */
static st_t eum_cert_id(store_t *s, const uint8_t *der, size_t len, int64_t *id) {
    uint8_t h[STORE_HASH_LEN];
    sqlite3_stmt *q = NULL;
    bool row = false;
    st_t st = sha256(der, len, h);

    if (st == ST_OK)
        st = STMT_RUN(s, STMT_EUM_PUT, sql_eum_put, SA_B(h, sizeof(h)), SA_B(der, len),
                      SA_I(store_now()));
    if (st == ST_OK)
        st = stmt_get(s, STMT_EUM_ID, sql_eum_id, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_B(h, sizeof(h)));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && !row)
        st = ST_E_INTERNAL;
    if (st == ST_OK)
        *id = sqlite3_column_int64(q, 0);
    stmt_put(q);
    return st;
}

/* Same bytes? (a stored NULL/empty blob equals an empty input) */
static bool col_equals(sqlite3_stmt *q, int col, const uint8_t *p, size_t n) {
    const void *v = sqlite3_column_blob(q, col);
    size_t len = (size_t)sqlite3_column_bytes(q, col);
    return len == n && (n == 0 || memcmp(v, p, n) == 0);
}

st_t store_euicc_put(store_t *s, const store_euicc_new_t *e) {
    sqlite3_stmt *q = NULL;
    int64_t eum_id = 0;
    bool row = false;
    st_t st;

    if (!s || !e || !e->cert_euicc || !e->cert_euicc_len || !e->cert_eum || !e->cert_eum_len
        || (e->euicc_info2_len && !e->euicc_info2))
        return ST_E_INVAL;
    st = check_text("batch", e->batch, STORE_NAME_MAX, false);
    if (st != ST_OK)
        return st;
    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;
    st = eum_cert_id(s, e->cert_eum, e->cert_eum_len, &eum_id);
    if (st == ST_OK)
        st = stmt_get(s, STMT_EUICC_FIND, sql_euicc_find, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_B(e->eid, STORE_EID_LEN));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && row) {
        bool same = col_equals(q, 0, e->cert_euicc, e->cert_euicc_len)
                    && sqlite3_column_int64(q, 1) == eum_id;
        st = same ? ST_E_EXISTS : ST_E_CONFLICT;
        if (!same)
            st_log(ST_LOG_WARN, "store: eUICC already known with other certificates");
    }
    stmt_put(q);
    if (st != ST_OK)
        goto out;
    st = STMT_RUN(s, STMT_EUICC_INSERT, sql_euicc_insert, SA_B(e->eid, STORE_EID_LEN),
                  SA_B(e->cert_euicc, e->cert_euicc_len), SA_I(eum_id),
                  SA_B(e->euicc_info2 ? e->euicc_info2 : (const uint8_t *)"", e->euicc_info2_len),
                  SA_T(e->batch), SA_I(store_now()));
out:
    if (st == ST_OK)
        return store_tx_commit(s);
    store_tx_rollback(s);
    return st;
}

st_t store_otk_put(store_t *s, const uint8_t eid[STORE_EID_LEN], const store_otk_t *k) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    st_t st;

    if (!s || !eid || !k)
        return ST_E_INVAL;
    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;
    st = stmt_get(s, STMT_EUICC_FIND, sql_euicc_find, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_B(eid, STORE_EID_LEN));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    stmt_put(q);
    q = NULL;
    if (st == ST_OK && !row)
        st = ST_E_NOENT; /* keys only for eUICCs with data */
    if (st != ST_OK)
        goto out;

    st = stmt_get(s, STMT_OTK_FIND, sql_otk_find, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_B(eid, STORE_EID_LEN), SA_I(k->key_index));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && row) {
        bool same =
            col_equals(q, 0, k->otpk, STORE_OTPK_LEN) && col_equals(q, 1, k->sig, STORE_SIG_LEN);
        st = same ? ST_E_EXISTS : ST_E_CONFLICT;
        if (!same)
            st_log(ST_LOG_WARN, "store: one-time key %u already known with another value",
                   k->key_index);
    }
    stmt_put(q);
    if (st != ST_OK)
        goto out;
    st = STMT_RUN(s, STMT_OTK_INSERT, sql_otk_insert, SA_B(eid, STORE_EID_LEN), SA_I(k->key_index),
                  SA_B(k->otpk, STORE_OTPK_LEN), SA_B(k->sig, STORE_SIG_LEN), SA_I(store_now()));
out:
    if (st == ST_OK)
        return store_tx_commit(s);
    store_tx_rollback(s);
    return st;
}

static st_t otk_from_row(sqlite3_stmt *q, store_otk_t *k) {
    st_t st;
    memset(k, 0, sizeof(*k));
    k->key_index = (uint32_t)sqlite3_column_int64(q, 0);
    st = col_blob_exact(q, 1, k->otpk, STORE_OTPK_LEN);
    if (st == ST_OK)
        st = col_blob_exact(q, 2, k->sig, STORE_SIG_LEN);
    if (st == ST_OK)
        st = otk_state_parse((const char *)sqlite3_column_text(q, 3), &k->state);
    return st;
}

st_t store_otk_get(store_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t key_index,
                   store_otk_t *out) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    st_t st;

    if (!s || !eid || !out)
        return ST_E_INVAL;
    memset(out, 0, sizeof(*out));
    st = stmt_get(s, STMT_OTK_GET, sql_otk_get, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_B(eid, STORE_EID_LEN), SA_I(key_index));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && !row)
        st = ST_E_NOENT;
    if (st == ST_OK)
        st = otk_from_row(q, out);
    stmt_put(q);
    return st;
}

st_t store_otk_set_state(store_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t key_index,
                         store_otk_state_t to) {
    st_t st;

    if (!s || !eid || (unsigned)to >= N_OTK_STATES)
        return ST_E_INVAL;
    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;
    st = STMT_RUN(s, STMT_OTK_SET, sql_otk_set, SA_B(eid, STORE_EID_LEN), SA_I(key_index),
                  SA_T(otk_state_names[to]), SA_I(store_now()));
    if (st == ST_OK && sqlite3_changes(s->db) != 1)
        st = ST_E_NOENT;
    if (st == ST_OK)
        return store_tx_commit(s);
    store_tx_rollback(s);
    return st;
}

st_t store_otk_delete_all(store_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t *n) {
    uint32_t changed = 0;
    st_t st;

    if (n)
        *n = 0;
    if (!s || !eid)
        return ST_E_INVAL;
    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;
    st = STMT_RUN(s, STMT_OTK_DELETE_ALL, sql_otk_delete_all, SA_B(eid, STORE_EID_LEN),
                  SA_I(store_now()));
    if (st == ST_OK)
        changed = (uint32_t)sqlite3_changes(s->db);
    if (st != ST_OK) {
        store_tx_rollback(s);
        return st;
    }
    st = store_tx_commit(s);
    if (st == ST_OK && n)
        *n = changed;
    return st;
}

void store_euicc_free(store_euicc_t *e) {
    if (!e)
        return;
    buf_free(&e->cert_euicc);
    buf_free(&e->cert_eum);
    buf_free(&e->euicc_info2);
    free(e->keys);
    free(e);
}

st_t store_euicc_get(store_t *s, const uint8_t eid[STORE_EID_LEN], store_euicc_t **out) {
    sqlite3_stmt *q = NULL;
    store_euicc_t *e = NULL;
    size_t cap = 0;
    bool row = false;
    st_t st;

    if (!s || !eid || !out)
        return ST_E_INVAL;
    *out = NULL;
    e = calloc(1, sizeof(*e));
    if (!e)
        return ST_E_NOMEM;
    memcpy(e->eid, eid, STORE_EID_LEN);
    st = stmt_get(s, STMT_EUICC_GET, sql_euicc_get, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_B(eid, STORE_EID_LEN));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && !row)
        st = ST_E_NOENT;
    if (st == ST_OK)
        st = col_blob_buf(q, 0, &e->cert_euicc);
    if (st == ST_OK)
        st = col_blob_buf(q, 1, &e->cert_eum);
    if (st == ST_OK)
        st = col_blob_buf(q, 2, &e->euicc_info2);
    if (st == ST_OK) {
        col_text(q, 3, e->batch, sizeof(e->batch));
        e->imported_at = sqlite3_column_int64(q, 4);
    }
    stmt_put(q);
    q = NULL;
    if (st != ST_OK)
        goto out;

    st = stmt_get(s, STMT_OTK_LIST, sql_otk_list, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_B(eid, STORE_EID_LEN));
    while (st == ST_OK && (st = stmt_step(s, q, &row)) == ST_OK && row) {
        if (e->n_keys == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            store_otk_t *nk = realloc(e->keys, ncap * sizeof(*nk));
            if (!nk) {
                st = ST_E_NOMEM;
                break;
            }
            e->keys = nk;
            cap = ncap;
        }
        st = otk_from_row(q, &e->keys[e->n_keys++]);
    }
    stmt_put(q);
out:
    if (st != ST_OK) {
        store_euicc_free(e);
        return st;
    }
    *out = e;
    return ST_OK;
}
