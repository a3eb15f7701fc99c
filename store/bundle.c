/*
 * bundle.c - SM-DPfs, bundles (ESBPP01 headers) and adding their BPPs; counts per bundle.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store_internal.h"

st_t check_oid(const char *oid) {
    st_t st = check_text("SM-DPf OID", oid, STORE_OID_MAX, true);
    char prev = '.';

    if (st != ST_OK)
        return st;
    for (const char *p = oid; *p; prev = *p++) {
        if (*p == '.' ? prev == '.' : (*p < '0' || *p > '9')) {
            st_log(ST_LOG_DEBUG, "store: malformed OID '%s'", oid);
            return ST_E_INVAL;
        }
    }
    if (prev == '.' || !strchr(oid, '.')) {
        st_log(ST_LOG_DEBUG, "store: malformed OID '%s'", oid);
        return ST_E_INVAL;
    }
    return ST_OK;
}

/* ---- SM-DPfs ---- */

static const char sql_smdpf_put[] =
    "INSERT INTO smdpf(oid, name, allowed, added_at) VALUES (?1, coalesce(?2, ''), ?3, ?4) "
    "ON CONFLICT(oid) DO UPDATE SET name = coalesce(?2, name), allowed = ?3";
static const char sql_smdpf_get[] = "SELECT id, oid, name, allowed FROM smdpf WHERE oid = ?1";
static const char sql_smdpf_ensure[] =
    "INSERT INTO smdpf(oid, name, allowed, added_at) VALUES (?1, coalesce(?2, ''), 1, ?3) "
    "ON CONFLICT(oid) DO NOTHING";

st_t store_smdpf_put(store_t *s, const char *oid, const char *name, bool allowed) {
    sqlite3_stmt *q = NULL;
    st_t st;

    if (!s)
        return ST_E_INVAL;
    st = check_oid(oid);
    if (st == ST_OK)
        st = check_text("SM-DPf name", name, STORE_NAME_MAX, false);
    if (st != ST_OK)
        return st;
    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;
    st = stmt_get(s, STMT_SMDPF_PUT, sql_smdpf_put, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_T(oid), SA_T(name), SA_I(allowed), SA_I(store_now()));
    if (st == ST_OK)
        st = stmt_exec(s, q);
    stmt_put(q);
    if (st != ST_OK) {
        store_tx_rollback(s);
        return st;
    }
    return store_tx_commit(s);
}

st_t store_smdpf_get(store_t *s, const char *oid, store_smdpf_t *out) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    st_t st;

    if (!s || !out)
        return ST_E_INVAL;
    memset(out, 0, sizeof(*out));
    st = check_oid(oid);
    if (st != ST_OK)
        return st;
    st = stmt_get(s, STMT_SMDPF_GET, sql_smdpf_get, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_T(oid));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && !row)
        st = ST_E_NOENT;
    if (st == ST_OK) {
        out->id = sqlite3_column_int64(q, 0);
        col_text(q, 1, out->oid, sizeof(out->oid));
        col_text(q, 2, out->name, sizeof(out->name));
        out->allowed = sqlite3_column_int(q, 3) != 0;
    }
    stmt_put(q);
    return st;
}

/* The row id of SM-DPf `oid`, created (allowed) when absent. Inside a transaction. */
static st_t smdpf_ensure(store_t *s, const char *oid, const char *name, int64_t *id) {
    sqlite3_stmt *q = NULL;
    store_smdpf_t row;
    st_t st;

    st = stmt_get(s, STMT_SMDPF_ENSURE, sql_smdpf_ensure, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_T(oid), SA_T(name), SA_I(store_now()));
    if (st == ST_OK)
        st = stmt_exec(s, q);
    stmt_put(q);
    if (st == ST_OK)
        st = store_smdpf_get(s, oid, &row);
    if (st == ST_OK)
        *id = row.id;
    return st;
}

/* ---- bundles ---- */

static const char sql_bundle_get[] =
    "SELECT b.id, b.bundle_id, s.oid, b.created_at, b.imported_at, b.file_sha256, "
    "b.entry_count, b.file_name FROM bundle b JOIN smdpf s ON s.id = b.smdpf_id "
    "WHERE b.bundle_id = ?1";
static const char sql_bundle_insert[] =
    "INSERT INTO bundle(bundle_id, smdpf_id, created_at, imported_at, file_sha256, "
    "entry_count, smdpf_chain, file_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, coalesce(?8, ''))";
static const char sql_bundle_chain[] = "SELECT smdpf_chain FROM bundle WHERE id = ?1";

st_t store_bundle_get(store_t *s, const uint8_t bundle_id[STORE_ID_LEN], store_bundle_t *out) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    st_t st;

    if (!s || !bundle_id || !out)
        return ST_E_INVAL;
    memset(out, 0, sizeof(*out));
    st = stmt_get(s, STMT_BUNDLE_GET, sql_bundle_get, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_B(bundle_id, STORE_ID_LEN));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && !row)
        st = ST_E_NOENT;
    if (st == ST_OK) {
        out->rowid = sqlite3_column_int64(q, 0);
        st = col_blob_exact(q, 1, out->bundle_id, STORE_ID_LEN);
    }
    if (st == ST_OK) {
        col_text(q, 2, out->smdpf_oid, sizeof(out->smdpf_oid));
        out->created_at = sqlite3_column_int64(q, 3);
        out->imported_at = sqlite3_column_int64(q, 4);
        st = col_blob_exact(q, 5, out->file_sha256, STORE_HASH_LEN);
    }
    if (st == ST_OK) {
        out->entry_count = (uint64_t)sqlite3_column_int64(q, 6);
        col_text(q, 7, out->file_name, sizeof(out->file_name));
    }
    stmt_put(q);
    return st;
}

st_t store_bundle_insert(store_t *s, const store_bundle_new_t *b, int64_t *rowid) {
    sqlite3_stmt *q = NULL;
    store_bundle_t old;
    int64_t smdpf_id = 0;
    st_t st;

    if (!s || !b || !rowid || (!b->smdpf_chain && b->smdpf_chain_len) || b->entry_count > INT64_MAX)
        return ST_E_INVAL;
    *rowid = 0;
    st = check_oid(b->smdpf_oid);
    if (st == ST_OK)
        st = check_text("SM-DPf name", b->smdpf_name, STORE_NAME_MAX, false);
    if (st == ST_OK)
        st = check_text("bundle file name", b->file_name, STORE_TEXT_MAX, false);
    if (st != ST_OK)
        return st;
    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;

    /* Idempotent import (DESIGN §8): the id decides, the file hash tells a repeat from a
     * conflicting bundle. */
    st = store_bundle_get(s, b->bundle_id, &old);
    if (st == ST_OK) {
        *rowid = old.rowid;
        if (memcmp(old.file_sha256, b->file_sha256, STORE_HASH_LEN) == 0) {
            st_log(ST_LOG_DEBUG, "store: bundle already imported (same hash)");
            st = ST_E_EXISTS;
        } else {
            st_log(ST_LOG_WARN, "store: a different bundle with this id is already imported");
            st = ST_E_CONFLICT;
        }
        goto out;
    }
    if (st != ST_E_NOENT)
        goto out;
    st = smdpf_ensure(s, b->smdpf_oid, b->smdpf_name, &smdpf_id);
    if (st != ST_OK)
        goto out;
    st = stmt_get(s, STMT_BUNDLE_INSERT, sql_bundle_insert, &q);
    if (st == ST_OK)
        st = STMT_BIND(
            s, q, SA_B(b->bundle_id, STORE_ID_LEN), SA_I(smdpf_id), SA_I(b->created_at),
            SA_I(store_now()), SA_B(b->file_sha256, STORE_HASH_LEN), SA_I(b->entry_count),
            SA_B(b->smdpf_chain ? b->smdpf_chain : (const uint8_t *)"", b->smdpf_chain_len),
            SA_T(b->file_name));
    if (st == ST_OK)
        st = stmt_exec(s, q);
    if (st == ST_OK)
        *rowid = sqlite3_last_insert_rowid(s->db);
out:
    stmt_put(q);
    if (st == ST_OK)
        return store_tx_commit(s);
    store_tx_rollback(s);
    return st;
}

st_t store_bundle_chain(store_t *s, int64_t bundle_rowid, buf_t *out) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    st_t st;

    if (!s || !out)
        return ST_E_INVAL;
    st = stmt_get(s, STMT_BUNDLE_CHAIN, sql_bundle_chain, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_I(bundle_rowid));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && !row)
        st = ST_E_NOENT;
    if (st == ST_OK)
        st = col_blob_buf(q, 0, out);
    stmt_put(q);
    return st;
}

/* ---- BPPs of a bundle ---- */

/* smdpf_id comes from the bundle row: no row is inserted for an unknown bundle. */
static const char sql_bpp_insert[] =
    "INSERT INTO bpp(bundle_id, seq, smdpf_id, eid, key_index, tid, iccid, profile_type, "
    "bpp_len, updated_at) SELECT ?1, ?2, smdpf_id, ?3, ?4, ?5, ?6, coalesce(?7, ''), ?8, ?9 "
    "FROM bundle WHERE id = ?1";
static const char sql_bpp_blob_insert[] = "INSERT INTO bpp_blob(bpp_id, bf36) VALUES (?1, ?2)";
/* unused (Path A, or a request made elsewhere) or requested (our request) -> bound */
static const char sql_bpp_bind_key[] =
    "UPDATE one_time_key SET state = 'bound', updated_at = ?3 "
    "WHERE eid = ?1 AND key_index = ?2 AND state IN ('unused', 'requested')";

st_t store_bpp_add(store_t *s, int64_t bundle_rowid, const store_bpp_new_t *e, int64_t *bpp_id) {
    sqlite3_stmt *q = NULL;
    int64_t id = 0, now = store_now();
    st_t st;

    if (bpp_id)
        *bpp_id = 0;
    if (!s || !e || !e->bpp || e->bpp_len == 0 || e->tid_len == 0 || e->tid_len > STORE_TID_MAX)
        return ST_E_INVAL;
    st = check_text("profile type", e->profile_type, STORE_NAME_MAX, false);
    if (st != ST_OK)
        return st;
    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;

    st = stmt_get(s, STMT_BPP_INSERT, sql_bpp_insert, &q);
    if (st == ST_OK)
        st =
            STMT_BIND(s, q, SA_I(bundle_rowid), SA_I(e->seq), SA_B(e->eid, STORE_EID_LEN),
                      SA_I(e->key_index), SA_B(e->tid, e->tid_len), SA_B(e->iccid, STORE_ICCID_LEN),
                      SA_T(e->profile_type), SA_I(e->bpp_len), SA_I(now));
    if (st == ST_OK)
        st = stmt_exec(s, q);
    if (st == ST_OK && sqlite3_changes(s->db) != 1)
        st = ST_E_NOENT; /* no such bundle */
    stmt_put(q);
    q = NULL;
    if (st != ST_OK) {
        if (st == ST_E_CONFLICT)
            st_log(ST_LOG_DEBUG, "store: BPP entry %u conflicts: %s", e->seq,
                   sqlite3_errmsg(s->db));
        goto out;
    }
    id = sqlite3_last_insert_rowid(s->db);

    st = stmt_get(s, STMT_BPP_BLOB_INSERT, sql_bpp_blob_insert, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_I(id), SA_B(e->bpp, e->bpp_len));
    if (st == ST_OK)
        st = stmt_exec(s, q);
    stmt_put(q);
    q = NULL;
    if (st != ST_OK)
        goto out;

    st = stmt_get(s, STMT_BPP_BIND_KEY, sql_bpp_bind_key, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_B(e->eid, STORE_EID_LEN), SA_I(e->key_index), SA_I(now));
    if (st == ST_OK)
        st = stmt_exec(s, q);
out:
    stmt_put(q);
    if (st != ST_OK) {
        store_tx_rollback(s);
        return st;
    }
    st = store_tx_commit(s);
    if (st == ST_OK && bpp_id)
        *bpp_id = id;
    return st;
}

/* ---- counts per bundle and state ---- */

/* Bundle by bundle (rowid order), from the trigger-kept counts (schema 3). */
static const char sql_bundle_stats[] =
    "SELECT bu.id, bu.bundle_id, s.oid, bu.entry_count, c.state, c.n "
    "FROM bundle bu JOIN smdpf s ON s.id = bu.smdpf_id "
    "LEFT JOIN bundle_count c ON c.bundle_id = bu.id AND c.n > 0 "
    "ORDER BY bu.id";

void store_stats_list_free(store_stats_list_t *l) {
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

st_t store_bundle_stats(store_t *s, store_stats_list_t *out) {
    sqlite3_stmt *q = NULL;
    store_stats_list_t l = {NULL, 0};
    size_t cap = 0;
    bool row = false;
    st_t st;

    if (!s || !out)
        return ST_E_INVAL;
    store_stats_list_free(out);
    st = stmt_get(s, STMT_BUNDLE_STATS, sql_bundle_stats, &q);
    while (st == ST_OK && (st = stmt_step(s, q, &row)) == ST_OK && row) {
        int64_t rowid = sqlite3_column_int64(q, 0);
        store_bundle_stats_t *cur;
        const char *state = (const char *)sqlite3_column_text(q, 4);
        store_bpp_state_t bs;

        if (l.n == 0 || l.v[l.n - 1].bundle_rowid != rowid) {
            if (l.n == cap) {
                size_t ncap = cap ? 2 * cap : 16;
                store_bundle_stats_t *nv = realloc(l.v, ncap * sizeof(*nv));
                if (!nv) {
                    st = ST_E_NOMEM;
                    break;
                }
                l.v = nv;
                cap = ncap;
            }
            cur = &l.v[l.n++];
            memset(cur, 0, sizeof(*cur));
            cur->bundle_rowid = rowid;
            st = col_blob_exact(q, 1, cur->bundle_id, STORE_ID_LEN);
            if (st != ST_OK)
                break;
            col_text(q, 2, cur->smdpf_oid, sizeof(cur->smdpf_oid));
            cur->entry_count = (uint64_t)sqlite3_column_int64(q, 3);
        }
        cur = &l.v[l.n - 1];
        if (!state) /* a bundle without BPPs (LEFT JOIN) */
            continue;
        st = bpp_state_parse(state, &bs);
        if (st != ST_OK)
            break;
        cur->count[bs] = (uint64_t)sqlite3_column_int64(q, 5);
    }
    stmt_put(q);
    if (st != ST_OK) {
        free(l.v);
        return st;
    }
    *out = l;
    return ST_OK;
}
