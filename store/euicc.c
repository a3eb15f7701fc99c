/*
 * euicc.c - eUICC data (Esed2: EID, CERT.EUICC, EUICCInfo2), EUM certificates deduplicated by
 * SHA-256, and the one-time keys with their state.
 *
 * One-time key states (table in store.h): unused -> requested (named in an exported BPP
 * request) -> bound (a BPP for it imported; from unused too: Path A) -> consumed (that BPP
 * installed); unused/requested/bound -> deleted (DeleteOneTimeKeys); requested -> unused when
 * the request file could not be written. A key imported after its BPP (Path A: the eUICC data
 * may come late) starts in the state the BPPs imply.
 *
 * The eUICC listing and the inventory classify an eUICC from its keys' states in one grouped
 * pass over euicc (by its EID index) and one_time_key (by its primary key), so a listing of a
 * range or of one EID touches only those rows.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/log.h"
#include "store_internal.h"

static const char *const otk_state_names[] = {
    [STORE_OTK_UNUSED] = "unused",       [STORE_OTK_BOUND] = "bound",
    [STORE_OTK_CONSUMED] = "consumed",   [STORE_OTK_DELETED] = "deleted",
    [STORE_OTK_REQUESTED] = "requested",
};
#define N_OTK_STATES (sizeof(otk_state_names) / sizeof(otk_state_names[0]))
_Static_assert(N_OTK_STATES == STORE_OTK__COUNT, "a name for every one-time key state");

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
#define OTK_COLS "key_index, otpk, signature, state, request_id, requested_at"
static const char sql_otk_get[] =
    "SELECT " OTK_COLS " FROM one_time_key WHERE eid = ?1 AND key_index = ?2";
static const char sql_otk_list[] =
    "SELECT " OTK_COLS " FROM one_time_key WHERE eid = ?1 ORDER BY key_index";
static const char sql_otk_set[] = "UPDATE one_time_key SET state = ?3, updated_at = ?4 "
                                  "WHERE eid = ?1 AND key_index = ?2";
static const char sql_otk_delete_all[] =
    "UPDATE one_time_key SET state = 'deleted', updated_at = ?2 "
    "WHERE eid = ?1 AND state IN ('unused', 'requested', 'bound')";
/* Compare-and-set moves of store_otk_request/release (WHERE state = from). */
static const char sql_otk_request[] =
    "UPDATE one_time_key SET state = 'requested', request_id = ?3, requested_at = ?4, "
    "updated_at = ?4 WHERE eid = ?1 AND key_index = ?2 AND state = 'unused'";
static const char sql_otk_resend[] = "UPDATE one_time_key SET request_id = ?3, updated_at = ?4 "
                                     "WHERE eid = ?1 AND key_index = ?2 AND state = 'requested'";
static const char sql_otk_release[] =
    "UPDATE one_time_key SET state = 'unused', request_id = NULL, requested_at = NULL, "
    "updated_at = ?4 WHERE eid = ?1 AND key_index = ?2 AND state = 'requested' "
    "AND request_id = ?3";
static const char sql_otk_exists[] = "SELECT 1 FROM one_time_key WHERE eid = ?1 AND key_index = ?2";

/*
 * Per eUICC: its keys counted by state (columns 4..8 in store_otk_state_t order), the lowest
 * unused and the requested key, its BPPs that are not dead. ?1..?2: EID range; ?3: profile
 * type or NULL; ?4: store_euicc_want_t (HAVING uses the column aliases, as SQLite allows).
 * GROUP BY e.eid walks euicc's EID index in order: no sort, and a one-EID range is a seek.
 */
static const char sql_euicc_each[] =
    "SELECT e.eid, e.batch, e.imported_at, count(k.key_index), "
    "coalesce(sum(k.state = 'unused'), 0) AS nu, coalesce(sum(k.state = 'bound'), 0) AS nb, "
    "coalesce(sum(k.state = 'consumed'), 0) AS nc, coalesce(sum(k.state = 'deleted'), 0), "
    "coalesce(sum(k.state = 'requested'), 0) AS nr, "
    "min(CASE WHEN k.state = 'unused' THEN k.key_index END), "
    "min(CASE WHEN k.state = 'requested' THEN k.key_index END), "
    "(SELECT count(*) FROM bpp b WHERE b.eid = e.eid AND b.state <> 'dead') AS nbpp "
    "FROM euicc e LEFT JOIN one_time_key k ON k.eid = e.eid "
    "WHERE e.eid BETWEEN ?1 AND ?2 "
    "AND (?3 IS NULL OR EXISTS (SELECT 1 FROM bpp b WHERE b.eid = e.eid AND b.profile_type = ?3)) "
    "GROUP BY e.eid "
    "HAVING ?4 = 0 OR (nb + nc + nbpp = 0 "
    "AND CASE ?4 WHEN 1 THEN nu > 0 AND nr = 0 ELSE nu + nr > 0 END) "
    "ORDER BY e.eid";
/* The same classification for every eUICC, counted per group (store_inventory_t). */
static const char sql_inventory_euiccs[] =
    "SELECT count(*), coalesce(sum(hb), 0), coalesce(sum(NOT hb AND nr > 0), 0), "
    "coalesce(sum(NOT hb AND nr = 0 AND nu > 0), 0) FROM ("
    "SELECT coalesce(sum(k.state IN ('bound', 'consumed')), 0) "
    "+ (SELECT count(*) FROM bpp b WHERE b.eid = e.eid AND b.state <> 'dead') > 0 AS hb, "
    "coalesce(sum(k.state = 'requested'), 0) AS nr, coalesce(sum(k.state = 'unused'), 0) AS nu "
    "FROM euicc e LEFT JOIN one_time_key k ON k.eid = e.eid GROUP BY e.eid)";
static const char sql_inventory_keys[] = "SELECT state, count(*) FROM one_time_key GROUP BY state";

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
    if (st == ST_OK && sqlite3_column_type(q, 4) != SQLITE_NULL)
        st = col_blob_exact(q, 4, k->request_id, STORE_ID_LEN);
    if (st == ST_OK)
        k->requested_at = sqlite3_column_int64(q, 5); /* NULL reads as 0 */
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

    /* requested needs its request (store_otk_request) */
    if (!s || !eid || (unsigned)to >= N_OTK_STATES || to == STORE_OTK_REQUESTED)
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

/* Why a compare-and-set on a key matched no row: unknown key, or not in the state expected. */
static st_t otk_cas_miss(store_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t key_index) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    st_t st = stmt_get(s, STMT_OTK_EXISTS, sql_otk_exists, &q);

    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_B(eid, STORE_EID_LEN), SA_I(key_index));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    stmt_put(q);
    if (st != ST_OK)
        return st;
    return row ? ST_E_STATE : ST_E_NOENT;
}

/* One compare-and-set UPDATE (id, sql) of key (eid, key_index), in its own transaction or
 * the caller's. */
static st_t otk_cas(store_t *s, stmt_id_t id, const char *sql, const uint8_t eid[STORE_EID_LEN],
                    uint32_t key_index, const uint8_t request_id[STORE_ID_LEN]) {
    st_t st = store_tx_begin(s);

    if (st != ST_OK)
        return st;
    st = stmt_run(s, id, sql,
                  (const sqlarg_t[]){SA_B(eid, STORE_EID_LEN), SA_I(key_index),
                                     SA_B(request_id, STORE_ID_LEN), SA_I(store_now())},
                  4);
    if (st == ST_OK && sqlite3_changes(s->db) != 1)
        st = otk_cas_miss(s, eid, key_index);
    if (st == ST_OK)
        return store_tx_commit(s);
    store_tx_rollback(s);
    return st;
}

st_t store_otk_request(store_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t key_index,
                       const uint8_t request_id[STORE_ID_LEN], bool resend) {
    st_t st;

    if (!s || !eid || !request_id)
        return ST_E_INVAL;
    if (resend)
        return otk_cas(s, STMT_OTK_RESEND, sql_otk_resend, eid, key_index, request_id);
    st = otk_cas(s, STMT_OTK_REQUEST, sql_otk_request, eid, key_index, request_id);
    if (st == ST_E_CONFLICT) /* UNIQUE otk_one_requested */
        st_log(ST_LOG_DEBUG, "store: another one-time key of this eUICC is requested already");
    return st;
}

st_t store_otk_release(store_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t key_index,
                       const uint8_t request_id[STORE_ID_LEN]) {
    if (!s || !eid || !request_id)
        return ST_E_INVAL;
    return otk_cas(s, STMT_OTK_RELEASE, sql_otk_release, eid, key_index, request_id);
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

/* ---- listing and inventory ---- */

static int eid_cmp(const void *a, const void *b) {
    return memcmp(a, b, STORE_EID_LEN);
}

static st_t info_from_row(sqlite3_stmt *q, store_euicc_info_t *e) {
    st_t st;

    memset(e, 0, sizeof(*e));
    st = col_blob_exact(q, 0, e->eid, STORE_EID_LEN);
    if (st != ST_OK)
        return st;
    col_text(q, 1, e->batch, sizeof(e->batch));
    e->imported_at = sqlite3_column_int64(q, 2);
    e->n_keys = (uint32_t)sqlite3_column_int64(q, 3);
    e->keys[STORE_OTK_UNUSED] = (uint32_t)sqlite3_column_int64(q, 4);
    e->keys[STORE_OTK_BOUND] = (uint32_t)sqlite3_column_int64(q, 5);
    e->keys[STORE_OTK_CONSUMED] = (uint32_t)sqlite3_column_int64(q, 6);
    e->keys[STORE_OTK_DELETED] = (uint32_t)sqlite3_column_int64(q, 7);
    e->keys[STORE_OTK_REQUESTED] = (uint32_t)sqlite3_column_int64(q, 8);
    e->first_unused = sqlite3_column_type(q, 9) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 9);
    e->first_requested =
        sqlite3_column_type(q, 10) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 10);
    e->n_bpps = (uint64_t)sqlite3_column_int64(q, 11);
    e->has_bpp = e->keys[STORE_OTK_BOUND] + e->keys[STORE_OTK_CONSUMED] + e->n_bpps > 0;
    return ST_OK;
}

/* Runs the listing once for EIDs from..to; *n counts what was handed over (the limit). */
static st_t each_range(store_t *s, const store_euicc_filter_t *f, const uint8_t *from,
                       const uint8_t *to, store_euicc_cb cb, void *ud, uint64_t *n) {
    sqlite3_stmt *q = NULL;
    store_euicc_info_t e;
    bool row = false;
    st_t st = stmt_get(s, STMT_EUICC_EACH, sql_euicc_each, &q);

    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_B(from, STORE_EID_LEN), SA_B(to, STORE_EID_LEN),
                       SA_T(f->profile_type), SA_I(f->want));
    while (st == ST_OK && !(f->limit && *n >= f->limit)) {
        st = stmt_step(s, q, &row);
        if (st != ST_OK || !row)
            break;
        st = info_from_row(q, &e);
        if (st == ST_OK) {
            (*n)++;
            st = cb(ud, &e);
        }
    }
    stmt_put(q);
    return st;
}

st_t store_euicc_each(store_t *s, const store_euicc_filter_t *f, store_euicc_cb cb, void *ud) {
    static const store_euicc_filter_t all = {NULL, 0, false, {0}, {0}, STORE_EUICC_ANY, NULL, 0};
    uint8_t lo[STORE_EID_LEN], hi[STORE_EID_LEN];
    uint8_t(*list)[STORE_EID_LEN] = NULL;
    uint64_t n = 0;
    st_t st = ST_OK;

    if (!s || !cb)
        return ST_E_INVAL;
    if (!f)
        f = &all;
    if ((unsigned)f->want > STORE_EUICC_REQUESTABLE || (f->n_eids && !f->eids))
        return ST_E_INVAL;
    st = check_text("profile type", f->profile_type, STORE_NAME_MAX, false);
    if (st != ST_OK)
        return st;
    memset(lo, 0x00, sizeof(lo));
    memset(hi, 0xFF, sizeof(hi));
    if (f->has_range) {
        if (memcmp(f->from, f->to, STORE_EID_LEN) > 0)
            return ST_E_INVAL;
        memcpy(lo, f->from, STORE_EID_LEN);
        memcpy(hi, f->to, STORE_EID_LEN);
    }
    if (!f->eids)
        return each_range(s, f, lo, hi, cb, ud, &n);

    /* a list: one indexed lookup per EID, ascending, each once, inside the range if any */
    list = malloc(f->n_eids * sizeof(*list) + 1);
    if (!list)
        return ST_E_NOMEM;
    if (f->n_eids)
        memcpy(list, f->eids, f->n_eids * sizeof(*list));
    qsort(list, f->n_eids, sizeof(*list), eid_cmp);
    for (size_t i = 0; i < f->n_eids && st == ST_OK && !(f->limit && n >= f->limit); i++) {
        if (i && memcmp(list[i - 1], list[i], STORE_EID_LEN) == 0)
            continue;
        if (memcmp(list[i], lo, STORE_EID_LEN) < 0 || memcmp(list[i], hi, STORE_EID_LEN) > 0)
            continue;
        st = each_range(s, f, list[i], list[i], cb, ud, &n);
    }
    free(list);
    return st;
}

st_t store_inventory(store_t *s, store_inventory_t *out) {
    sqlite3_stmt *q = NULL;
    store_otk_state_t ks;
    bool row = false;
    st_t st;

    if (!s || !out)
        return ST_E_INVAL;
    memset(out, 0, sizeof(*out));
    st = stmt_get(s, STMT_INVENTORY_EUICCS, sql_inventory_euiccs, &q);
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && row) {
        out->euiccs = (uint64_t)sqlite3_column_int64(q, 0);
        out->euiccs_with_bpp = (uint64_t)sqlite3_column_int64(q, 1);
        out->euiccs_requested = (uint64_t)sqlite3_column_int64(q, 2);
        out->euiccs_unrequested = (uint64_t)sqlite3_column_int64(q, 3);
        out->euiccs_no_key =
            out->euiccs - out->euiccs_with_bpp - out->euiccs_requested - out->euiccs_unrequested;
    }
    stmt_put(q);
    q = NULL;
    if (st == ST_OK)
        st = stmt_get(s, STMT_INVENTORY_KEYS, sql_inventory_keys, &q);
    while (st == ST_OK && (st = stmt_step(s, q, &row)) == ST_OK && row) {
        st = otk_state_parse((const char *)sqlite3_column_text(q, 0), &ks);
        if (st == ST_OK) {
            out->keys_by_state[ks] = (uint64_t)sqlite3_column_int64(q, 1);
            out->keys += out->keys_by_state[ks];
        }
    }
    stmt_put(q);
    if (st != ST_OK)
        memset(out, 0, sizeof(*out));
    return st;
}
